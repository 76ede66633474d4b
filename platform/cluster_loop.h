/*
 * chorus_cluster_loop: the real driver of one replica of a server cluster
 * (core/replica.h), the way platform/server_loop.h drives a lone server.
 *
 * One thread. It opens the write-ahead log in the data directory
 * (platform/wal.h) and replays it into the replica, reads the promised
 * epoch (DIR/epoch), binds the client port and the peer port of its line
 * of the cluster file, resolves the other replicas' peer ports, seeds the
 * server from /dev/urandom, then waits in poll() on both sockets and a stop
 * descriptor until the core's deadline, and carries out outputs in order:
 *
 *   EPOCH          DIR/epoch rewritten crash-safely (temp, fsync, rename,
 *                  fsync the directory) before anything else happens
 *   LOG_APPEND     chorus_wal_append (type 1, payload: epoch u64 + record)
 *   LOG_TRUNCATE   chorus_wal_truncate_after (durable on return)
 *   LOG_SNAPSHOT   chorus_wal_snapshot (payload: epoch u64 + snapshot);
 *                  when the snapshot is ahead of the log (received from
 *                  the leader), empty filler records (type 2) first bring
 *                  the log to its index, as the log requires
 *   PEER_SEND, CLIENT_SEND
 *                  chorus_wal_sync first if anything was appended since the
 *                  last sync (an fsync failure aborts: a crash), then sendto
 *   ROLE, EVENT    one log line
 *
 * DIR/epoch: 16 bytes, the epoch (u64 big-endian) and its bitwise
 * complement; anything else is a corrupt data directory.
 */
#ifndef CHORUS_PLATFORM_CLUSTER_LOOP_H
#define CHORUS_PLATFORM_CLUSTER_LOOP_H

#include <stddef.h>
#include <stdio.h>

#include "server.h"

#define CHORUS_CLUSTER_LOOP_EPOCH "epoch"
#define CHORUS_CLUSTER_LOOP_EPOCH_TEMP "epoch.tmp"
#define CHORUS_CLUSTER_LOOP_ERR_BYTES 1400
#define CHORUS_CLUSTER_LOOP_WAL_RECORD 1
#define CHORUS_CLUSTER_LOOP_WAL_FILLER 2

typedef struct chorus_cluster_loop_config {
  const chorus_cluster *cluster; /* parsed cluster file */
  size_t self;                   /* our line in it */
  const char *data_dir;          /* required: the log and the epoch */
  chorus_server_config core;     /* limits; the seed comes from /dev/urandom */
  int stop_fd;                   /* readable: stop (a signal's self-pipe) */
  FILE *log;                     /* event lines; NULL for none */
} chorus_cluster_loop_config;

/*
 * chorus_cluster_loop_run runs the replica until stop_fd becomes readable.
 * Returns 0 after a clean stop, 1 on a runtime failure (cannot bind, a
 * corrupt or locked data directory, a log write that failed), 2 for a bad
 * configuration (unresolvable host, limits), with a sentence in
 * err[0..err_bytes).
 */
int chorus_cluster_loop_run(const chorus_cluster_loop_config *cfg, char *err, size_t err_bytes);

#endif
