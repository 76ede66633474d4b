/*
 * libFuzzer target: every decoder of the server side. The first byte picks
 * the decoder (modulo 5), the rest is its input:
 *
 *   0  chorus_srv_request_decode   what decodes re-encodes to the same bytes
 *   1  chorus_srv_response_decode  likewise
 *   2  chorus_server_load          a loaded snapshot of the current version
 *                                  re-encodes to the same bytes (an older
 *                                  one loads); a refused one leaves the server
 *                                  empty, with a reason
 *   3  chorus_cluster_parse        a parsed cluster obeys its rules
 *   4  a server fed a sequence of datagrams (u16 length, client byte, then
 *      the bytes): every response decodes, every snapshot loads into a fresh
 *      server and re-encodes identically. A request whose token is 16 bytes
 *      of 0xEE gets the token of that client's last login, so the fuzzer
 *      reaches the session operations.
 *
 * Any violation aborts (libFuzzer reports it; replay.c crashes visibly).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "server.h"
#include "srvwire.h"

#define FZ_ACCOUNTS 64
#define FZ_ROOMS 8

static void fz_request(const uint8_t *d, size_t n) {
  chorus_srv_request q;
  uint8_t out[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  if (chorus_srv_request_decode(d, n, &q) != 0) return;
  int k = chorus_srv_request_encode(out, sizeof out, &q);
  if (k != (int)n || memcmp(out, d, n) != 0) abort();
}

static void fz_response(const uint8_t *d, size_t n) {
  chorus_srv_response p;
  uint8_t out[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  if (chorus_srv_response_decode(d, n, &p) != 0) return;
  int k = chorus_srv_response_encode(out, sizeof out, &p);
  if (k != (int)n || memcmp(out, d, n) != 0) abort();
}

static chorus_server *fz_server(void) {
  chorus_server_config cfg;
  chorus_server *s = NULL;
  chorus_server_config_default(&cfg);
  cfg.accounts_max = FZ_ACCOUNTS;
  cfg.sessions_max = FZ_ACCOUNTS;
  cfg.rooms_max = FZ_ROOMS;
  cfg.cache_entries = 16;
  cfg.iterations = 1;
  cfg.seed = 1;
  if (chorus_server_new(&cfg, &s) != 0) abort();
  return s;
}

/* Load d[0..n) into a fresh server; when it loads it must re-encode to the
 * same bytes. Returns the load result. */
static int fz_load(const uint8_t *d, size_t n) {
  chorus_server *s = fz_server();
  const char *why = NULL;
  int rc = chorus_server_load(s, 0, d, n, &why);
  if (why == NULL) abort();
  size_t cap = chorus_server_poll_bytes_min(s);
  uint8_t *out = malloc(cap);
  if (out == NULL) abort();
  int k = chorus_server_snapshot_encode(s, out, cap);
  /* A current-version snapshot re-encodes identically; an older one is
   * rewritten in the current version (version 1 has no mailbox). */
  int current = n >= 6 && d[4] == 0 && d[5] == CHORUS_SERVER_SNAPSHOT_VERSION;
  if (rc == 0 && current && (k != (int)n || memcmp(out, d, n) != 0)) abort();
  chorus_server_stats st;
  chorus_server_stats_get(s, &st);
  if (rc != 0 && (st.accounts != 0 || st.rooms != 0)) abort();
  free(out);
  chorus_server_free(s);
  return rc;
}

static void fz_cluster(const uint8_t *d, size_t n) {
  chorus_cluster c;
  chorus_cluster_error e;
  int rc = chorus_cluster_parse(d, n, &c, &e);
  if (rc != 0) {
    if (e.why == NULL || c.count != 0) abort();
    return;
  }
  if (c.count == 0 || c.count > CHORUS_CLUSTER_REPLICAS_MAX) abort();
  for (size_t i = 0; i < c.count; i++) {
    const chorus_cluster_replica *r = &c.replicas[i];
    if (!chorus_srv_name_valid(r->id, strlen(r->id)) || r->client_port == 0 ||
        r->peer_port == 0 || r->client_port == r->peer_port || r->host[0] == '\0')
      abort();
    for (size_t j = 0; j < i; j++)
      if (strcmp(c.replicas[j].id, r->id) == 0 || c.replicas[j].priority == r->priority) abort();
  }
}

#define FZ_CLIENTS 4

static void fz_drain(chorus_server *s, uint8_t *buf, size_t cap,
                     uint8_t tokens[FZ_CLIENTS][CHORUS_SRV_TOKEN_BYTES]) {
  for (;;) {
    chorus_server_output o;
    if (chorus_server_poll(s, &o, buf, cap) != 0) abort();
    if (o.kind == CHORUS_SERVER_OUT_NONE) return;
    if (o.kind == CHORUS_SERVER_OUT_RESPONSE) {
      chorus_srv_response p;
      if (chorus_srv_response_decode(o.data, o.len, &p) != 0) abort();
      if (p.op == CHORUS_SRV_OP_LOGIN && p.status == CHORUS_SRV_OK)
        memcpy(tokens[o.to.bytes[0] % FZ_CLIENTS], p.token, CHORUS_SRV_TOKEN_BYTES);
    }
    if (o.kind == CHORUS_SERVER_OUT_PERSIST && fz_load(o.data, o.len) != 0) abort();
  }
}

static void fz_session(const uint8_t *d, size_t n) {
  chorus_server *s = fz_server();
  size_t cap = chorus_server_poll_bytes_min(s);
  uint8_t *buf = malloc(cap);
  if (buf == NULL) abort();
  static const uint8_t ask[CHORUS_SRV_TOKEN_BYTES] = {
      0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE,
      0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
  uint8_t tokens[FZ_CLIENTS][CHORUS_SRV_TOKEN_BYTES];
  uint8_t dg[1300];
  memset(tokens, 0, sizeof tokens);
  uint64_t now = 1;
  size_t off = 0;
  while (n - off >= 3) {
    size_t len = (size_t)((d[off] << 8) | d[off + 1]) % sizeof dg;
    chorus_srv_addr from;
    memset(&from, 0, sizeof from);
    from.len = 1;
    from.bytes[0] = d[off + 2] % FZ_CLIENTS;
    off += 3;
    if (len > n - off) len = n - off;
    memcpy(dg, d + off, len);
    if (len >= 24 && memcmp(dg + 8, ask, sizeof ask) == 0)
      memcpy(dg + 8, tokens[from.bytes[0]], sizeof ask);
    chorus_server_recv(s, now, &from, dg, len);
    off += len;
    fz_drain(s, buf, cap, tokens);
    now += (uint64_t)(d[off - 1] & 15) * 1000000; /* 0-15 s: leases run out */
    chorus_server_tick(s, now);
    fz_drain(s, buf, cap, tokens);
  }
  free(buf);
  chorus_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const uint8_t *d = data + 1;
  size_t n = size - 1;
  switch (data[0] % 5) {
  case 0: fz_request(d, n); break;
  case 1: fz_response(d, n); break;
  case 2: (void)fz_load(d, n); break;
  case 3: fz_cluster(d, n); break;
  default: fz_session(d, n); break;
  }
  return 0;
}
