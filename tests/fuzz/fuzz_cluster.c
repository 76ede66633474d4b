/*
 * libFuzzer target: the decoders of the server cluster and a replica fed
 * hostile peer traffic. The first byte picks (modulo 4), the rest is input:
 *
 *   0  chorus_clw_decode       what decodes re-encodes to the same bytes
 *   1  chorus_srvrec_decode    likewise
 *   2  chorus_mailbox_decode   the bytes it read re-encode identically
 *   3  a replica (index 1 of 3) fed a sequence of peer datagrams (u16
 *      length, a time step byte, the bytes), with ticks in between: it
 *      must never crash, and whatever it answers decodes. Datagrams whose
 *      first byte is 0xEE are rewritten into a well-formed header from
 *      replica 2 in its current epoch, so the fuzzer reaches the
 *      replication paths behind the epoch checks.
 *
 * Any violation aborts (libFuzzer reports it; replay.c crashes visibly).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clwire.h"
#include "err.h"
#include "mailbox.h"
#include "replica.h"
#include "srvrec.h"

static void fz_clw(const uint8_t *d, size_t n) {
  chorus_clw_msg m;
  uint8_t out[CHORUS_CLW_DATAGRAM_BYTES_MAX];
  if (chorus_clw_decode(d, n, &m) != 0) return;
  int k = chorus_clw_encode(out, sizeof out, &m);
  if (k != (int)n || memcmp(out, d, n) != 0) abort();
}

static void fz_rec(const uint8_t *d, size_t n) {
  chorus_srvrec r;
  uint8_t out[CHORUS_SRVREC_BYTES_MAX + 64];
  if (chorus_srvrec_decode(d, n, &r) != 0) return;
  int k = chorus_srvrec_encode(out, sizeof out, &r);
  if (k != (int)n || memcmp(out, d, n) != 0) abort();
}

static void fz_mailbox(const uint8_t *d, size_t n) {
  chorus_mailbox *mb;
  size_t used = 0;
  if (chorus_mailbox_new(8, 8, &mb) != 0) abort();
  if (chorus_mailbox_decode(mb, d, n, &used) == 0) {
    uint8_t *out = malloc(chorus_mailbox_bytes_max(mb));
    int k = out ? chorus_mailbox_encode(mb, out, chorus_mailbox_bytes_max(mb)) : -1;
    if (k != (int)used || memcmp(out, d, used) != 0) abort();
    free(out);
  }
  chorus_mailbox_free(mb);
}

static void fz_drain(chorus_replica *r) {
  chorus_replica_output o;
  while (chorus_replica_poll(r, &o) == 0 && o.kind != CHORUS_REPLICA_OUT_NONE) {
    chorus_clw_msg m;
    if (o.kind == CHORUS_REPLICA_OUT_PEER_SEND && chorus_clw_decode(o.data, o.len, &m) != 0)
      abort();
  }
}

static void fz_replica(const uint8_t *d, size_t n) {
  chorus_replica_config c;
  chorus_replica *r;
  chorus_replica_config_default(&c);
  c.server.iterations = 1;
  c.server.accounts_max = 8;
  c.server.sessions_max = 8;
  c.server.rooms_max = 2;
  c.server.cache_entries = 8;
  c.server.mailbox_messages = 4;
  c.server.mailbox_marks = 4;
  c.records_max = 8;
  c.held_max = 4;
  c.bully.n = 3;
  c.bully.self = 1;
  c.bully.priority[0] = 1;
  c.bully.priority[1] = 2;
  c.bully.priority[2] = 3;
  if (chorus_replica_new(&c, 0, &r) != 0) abort();
  uint64_t now = 1000;
  chorus_replica_start(r, now);
  fz_drain(r);
  size_t off = 0;
  while (n - off >= 3) {
    size_t len = (size_t)(d[off] << 8 | d[off + 1]) % 1300;
    now += (uint64_t)d[off + 2] * 5000;
    off += 3;
    if (len > n - off) len = n - off;
    uint8_t b[1300];
    memcpy(b, d + off, len);
    off += len;
    if (len >= CHORUS_CLW_HEADER_BYTES && b[0] == 0xEE) {
      b[0] = 'C';
      b[1] = 'R';
      b[2] = CHORUS_CLW_VERSION;
      b[4] = 2;
      chorus_clw_put_u64(b + 5, chorus_replica_epoch(r));
    }
    chorus_replica_peer_recv(r, now, b, len);
    fz_drain(r);
    chorus_replica_tick(r, now);
    fz_drain(r);
  }
  chorus_replica_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  switch (data[0] % 4) {
  case 0: fz_clw(data + 1, size - 1); break;
  case 1: fz_rec(data + 1, size - 1); break;
  case 2: fz_mailbox(data + 1, size - 1); break;
  default: fz_replica(data + 1, size - 1); break;
  }
  return 0;
}
