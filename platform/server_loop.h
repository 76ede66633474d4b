/*
 * chorus_server_loop: the real driver of one chorus_server (core/server.h).
 *
 * One thread. It loads the snapshot from the data directory
 * (platform/store.h), binds the UDP socket, seeds the server from
 * /dev/urandom, then waits in poll() on the socket and a stop descriptor
 * until the core's deadline, feeds datagrams (chorus_server_recv) and timers
 * (chorus_server_tick), and carries out every output in order:
 *
 *   PERSIST   chorus_store_save (write, fsync, rename, fsync the directory);
 *             a failure ends the loop with an error: nothing more is
 *             acknowledged;
 *   RESPONSE  sendto the client;
 *   EVENT     one log line ("server: signup alice"), never a password.
 *
 * So a response leaves only after the snapshot that contains its change is
 * on disk.
 *
 * Addresses are packed into the core's opaque chorus_srv_addr blobs byte by
 * byte (chorus_server_loop_addr_pack):
 *
 *   IPv4: 4 | port (2, big-endian) | address (4)                = 7 bytes
 *   IPv6: 6 | port (2) | address (16) | scope id (4, big-endian) = 23 bytes
 *
 * Peers use the same packing for the address they register at LOGIN.
 */
#ifndef CHORUS_PLATFORM_SERVER_LOOP_H
#define CHORUS_PLATFORM_SERVER_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server.h"
#include "srvwire.h"
#include "udp.h"

#define CHORUS_SERVER_LOOP_LISTEN_DEFAULT "127.0.0.1:7700"
#define CHORUS_SERVER_LOOP_RECV_BATCH 64   /* datagrams per wake-up */
#define CHORUS_SERVER_LOOP_RX_BYTES 2048   /* above 1200: oversized ones are
                                              seen and counted, not cut */
#define CHORUS_SERVER_LOOP_WAIT_MS_MAX 60000 /* longest poll() without a timer */
#define CHORUS_SERVER_LOOP_ENTROPY_BYTES 32
#define CHORUS_SERVER_LOOP_ERR_BYTES 1400

typedef struct chorus_server_loop_config {
  const char *listen;   /* HOST:PORT or [V6]:PORT to bind */
  const char *data_dir; /* data directory, or NULL: nothing is persisted */
  chorus_server_config core; /* limits; the seed is drawn from /dev/urandom */
  int stop_fd;          /* readable when the loop must stop (a signal's
                           self-pipe), or -1 */
  FILE *log;            /* event lines; NULL for none */
} chorus_server_loop_config;

/*
 * chorus_server_loop_run runs the server until stop_fd becomes readable.
 * Returns 0 after a clean stop. On a failure returns 1 (runtime: cannot
 * bind, cannot read /dev/urandom, the data directory is locked, unreadable
 * or corrupt, a snapshot could not be made durable) or 2 (bad --listen
 * address), with a complete sentence in err[0..err_bytes).
 */
int chorus_server_loop_run(const chorus_server_loop_config *cfg, char *err, size_t err_bytes);

/* Pack a socket address (IPv4 or IPv6) into a blob. Returns 0, or -1 for
 * another family (out->len is then 0). */
int chorus_server_loop_addr_pack(const chorus_udp_addr *in, chorus_srv_addr *out);

/* Unpack a blob made by chorus_server_loop_addr_pack. Returns 0, or -1 if
 * the bytes are not such a blob. */
int chorus_server_loop_addr_unpack(const chorus_srv_addr *in, chorus_udp_addr *out);

#endif
