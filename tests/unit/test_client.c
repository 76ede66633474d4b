/* Unit tests of core/client: transmission, RTO backoff, failover, the
 * deadline, matching of responses, limits; and a client and a server over a
 * lossy in-memory network (every request executed exactly once). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "client.h"
#include "err.h"
#include "prng.h"
#include "server.h"
#include "srvwire.h"

#define MS 1000ull

static chorus_srv_addr saddr(uint8_t n) {
  chorus_srv_addr a;
  memset(&a, 0, sizeof a);
  a.len = 3;
  a.bytes[0] = 's';
  a.bytes[1] = n;
  a.bytes[2] = 0xff;
  return a;
}

static chorus_client *make_deadline(size_t servers, uint64_t deadline_us) {
  chorus_client_config cfg;
  chorus_client *c = NULL;
  chorus_client_config_default(&cfg);
  cfg.deadline_us = deadline_us;
  for (size_t i = 0; i < servers; i++) cfg.servers[i] = saddr((uint8_t)i);
  cfg.server_count = servers;
  cfg.seed = 7;
  CHECK_EQ(chorus_client_new(&cfg, &c), 0);
  return c;
}

static chorus_client *make(size_t servers) {
  return make_deadline(servers, CHORUS_CLIENT_DEADLINE_US_DEFAULT);
}

static chorus_srv_request keepalive(void) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_KEEPALIVE;
  q.token[0] = 1;
  return q;
}

/* Poll one output; expects it to be of `kind`. */
static chorus_client_output next(chorus_client *c, enum chorus_client_out_kind kind) {
  chorus_client_output o;
  CHECK_EQ(chorus_client_poll(c, &o), 0);
  CHECK_EQ(o.kind, kind);
  return o;
}

/* The server's answer to the request in datagram o. */
static size_t answer(const chorus_client_output *o, uint8_t status, uint8_t *buf) {
  chorus_srv_request q;
  chorus_srv_response p;
  CHECK_EQ(chorus_srv_request_decode(o->data, o->len, &q), 0);
  memset(&p, 0, sizeof p);
  p.op = q.op;
  p.rid = q.rid;
  p.status = status;
  p.lease_ms = 30000;
  int n = chorus_srv_response_encode(buf, CHORUS_SRV_DATAGRAM_BYTES_MAX, &p);
  CHECK(n > 0);
  return (size_t)n;
}

static void test_request_response(void) {
  chorus_client *c = make(1);
  chorus_srv_request q = keepalive();
  uint32_t rid = 0;
  uint64_t now = 1000 * MS;
  CHECK_EQ(chorus_client_deadline(c), UINT64_MAX);
  CHECK_EQ(chorus_client_submit(c, now, &q, 77, &rid), 0);
  chorus_client_output o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  CHECK_EQ(o.server, 0);
  CHECK_EQ(o.rid, rid);
  chorus_srv_addr s0 = saddr(0);
  CHECK(chorus_srv_addr_equal(&o.to, &s0));
  next(c, CHORUS_CLIENT_OUT_NONE);
  CHECK_EQ(chorus_client_deadline(c), now + 250 * MS);
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  size_t n = answer(&o, CHORUS_SRV_OK, buf);
  CHECK_EQ(chorus_client_recv(c, now + 5 * MS, &s0, buf, n), 0);
  o = next(c, CHORUS_CLIENT_OUT_RESPONSE);
  CHECK_EQ(o.rid, rid);
  CHECK_EQ(o.tag, 77);
  CHECK_EQ(o.sends, 1);
  CHECK_EQ(o.resp.status, CHORUS_SRV_OK);
  CHECK_EQ(o.resp.lease_ms, 30000);
  CHECK_EQ(chorus_client_deadline(c), UINT64_MAX);
  /* the same response again is late, and ignored */
  CHECK_EQ(chorus_client_recv(c, now + 6 * MS, &s0, buf, n), 0);
  next(c, CHORUS_CLIENT_OUT_NONE);
  /* from a stranger, or malformed: refused and counted */
  chorus_srv_addr x = saddr(9);
  CHECK_EQ(chorus_client_recv(c, now, &x, buf, n), CHORUS_ERR_UNKNOWN_SENDER);
  CHECK_EQ(chorus_client_recv(c, now, &s0, buf, 5), CHORUS_ERR_TRUNCATED);
  chorus_client_stats st;
  chorus_client_stats_get(c, &st);
  CHECK_EQ(st.late, 1);
  CHECK_EQ(st.rx_unknown_sender, 1);
  CHECK_EQ(st.rx_bad, 1);
  CHECK_EQ(st.responses, 1);
  chorus_client_free(c);
}

static void test_backoff_failover_deadline(void) {
  chorus_client *c = make(2);
  chorus_srv_request q = keepalive();
  uint64_t t0 = 0, now = 0;
  CHECK_EQ(chorus_client_submit(c, t0, &q, 1, NULL), 0);
  chorus_client_output o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  CHECK_EQ(o.server, 0);
  uint32_t rid = o.rid;
  /* 3 copies to server 0 (at 0, 250, 750 ms), then server 1 with a fresh
   * RTO (at 1750, 2000, 2500), then server 0 again (at 3500, ...) */
  const uint64_t when[] = {250, 750, 1750, 2000, 2500, 3500};
  const size_t where[] = {0, 0, 1, 1, 1, 0};
  for (size_t i = 0; i < 6; i++) {
    CHECK_EQ(chorus_client_deadline(c), when[i] * MS);
    now = when[i] * MS;
    chorus_client_tick(c, now - 1); /* early: nothing */
    next(c, CHORUS_CLIENT_OUT_NONE);
    chorus_client_tick(c, now);
    o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
    CHECK_EQ(o.server, where[i]);
    CHECK_EQ(o.rid, rid); /* a retransmission keeps its id */
  }
  chorus_client_stats st;
  chorus_client_stats_get(c, &st);
  CHECK_EQ(st.failovers, 2);
  CHECK_EQ(st.current, 0);
  /* the deadline: 10 s after submission */
  while (chorus_client_deadline(c) < 10000 * MS) {
    now = chorus_client_deadline(c);
    chorus_client_tick(c, now);
    next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  }
  CHECK_EQ(chorus_client_deadline(c), 10000 * MS);
  chorus_client_tick(c, 10000 * MS);
  o = next(c, CHORUS_CLIENT_OUT_UNREACHABLE);
  CHECK_EQ(o.rid, rid);
  CHECK_EQ(o.resp.status, CHORUS_SRV_UNREACHABLE);
  CHECK(o.sends >= 9);
  CHECK_EQ(chorus_client_deadline(c), UINT64_MAX);
  chorus_client_free(c);
}

static void test_failover_sticks(void) {
  chorus_client *c = make(2);
  chorus_srv_request q = keepalive();
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), 0);
  next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  chorus_client_tick(c, 250 * MS);
  next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  chorus_client_tick(c, 750 * MS);
  next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  chorus_client_tick(c, 1750 * MS);
  chorus_client_output o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  CHECK_EQ(o.server, 1);
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  size_t n = answer(&o, CHORUS_SRV_OK, buf);
  chorus_srv_addr s1 = saddr(1);
  CHECK_EQ(chorus_client_recv(c, 1760 * MS, &s1, buf, n), 0);
  o = next(c, CHORUS_CLIENT_OUT_RESPONSE);
  CHECK_EQ(o.server, 1);
  CHECK_EQ(o.sends, 4);
  /* the next request starts at the server that answered */
  CHECK_EQ(chorus_client_submit(c, 2000 * MS, &q, 2, NULL), 0);
  o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  CHECK_EQ(o.server, 1);
  chorus_client_free(c);
}

static void test_other_version(void) {
  chorus_client *c = make(1);
  chorus_srv_request q = keepalive();
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), 0);
  chorus_client_output o = next(c, CHORUS_CLIENT_OUT_DATAGRAM);
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  size_t n = answer(&o, CHORUS_SRV_OK, buf);
  buf[2] = 2; /* a server of version 2 */
  chorus_srv_addr s0 = saddr(0);
  CHECK_EQ(chorus_client_recv(c, 10, &s0, buf, n), 0);
  o = next(c, CHORUS_CLIENT_OUT_RESPONSE);
  CHECK_EQ(o.resp.status, CHORUS_SRV_BAD_VERSION);
  CHECK_EQ(o.resp.detail, 2);
  CHECK_EQ(chorus_client_recv(c, 10, &s0, buf, n), CHORUS_ERR_BAD_VERSION);
  chorus_client_free(c);
}

static void test_limits(void) {
  chorus_client *c = make(1);
  chorus_srv_request q = keepalive();
  for (int i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++) CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), 0);
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), CHORUS_ERR_QUEUE_FULL);
  /* unpolled results count too */
  chorus_client_tick(c, 10000 * MS);
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), CHORUS_ERR_QUEUE_FULL);
  chorus_client_output o;
  int results = 0;
  while (chorus_client_poll(c, &o) == 0 && o.kind != CHORUS_CLIENT_OUT_NONE)
    results += o.kind == CHORUS_CLIENT_OUT_UNREACHABLE;
  CHECK_EQ(results, CHORUS_CLIENT_PENDING_MAX);
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), 0);
  q.op = 0x42;
  CHECK_EQ(chorus_client_submit(c, 0, &q, 1, NULL), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_client_submit(c, 0, NULL, 1, NULL), CHORUS_ERR_INVAL);
  chorus_client_free(c);
  chorus_client_free(NULL);

  chorus_client_config cfg;
  chorus_client_config_default(&cfg);
  CHECK_EQ(chorus_client_new(&cfg, &c), CHORUS_ERR_CONFIG); /* no server */
  cfg.server_count = CHORUS_CLIENT_SERVERS_MAX + 1;
  CHECK_EQ(chorus_client_new(&cfg, &c), CHORUS_ERR_CONFIG);
  cfg.server_count = 1;
  cfg.rto_max_us = cfg.rto_us - 1;
  CHECK_EQ(chorus_client_new(&cfg, &c), CHORUS_ERR_CONFIG);
  chorus_client_config_default(&cfg);
  cfg.server_count = 1;
  cfg.tries_per_server = 0;
  CHECK_EQ(chorus_client_new(&cfg, &c), CHORUS_ERR_CONFIG);
  chorus_client_config_default(&cfg);
  cfg.server_count = 1;
  cfg.servers[0].len = 29;
  CHECK_EQ(chorus_client_new(&cfg, &c), CHORUS_ERR_CONFIG);
  CHECK_EQ(chorus_client_new(NULL, &c), CHORUS_ERR_INVAL);
}

/* ---- client and server over a lossy network ----------------------------- */

typedef struct lossy {
  chorus_client *c;
  chorus_server *s;
  uint8_t *sbuf;
  size_t scap;
  uint64_t now;
  chorus_prng rng;
  uint32_t loss_ppm; /* each datagram, either way, is lost with this chance */
  chorus_client_output last;
  int done;
} lossy;

static int lossy_drop(lossy *l) { return chorus_prng_chance_ppm(&l->rng, l->loss_ppm); }

static void lossy_server_out(lossy *l) {
  chorus_server_output so;
  chorus_srv_addr caddr = saddr(100);
  while (chorus_server_poll(l->s, &so, l->sbuf, l->scap) == 0 &&
         so.kind != CHORUS_SERVER_OUT_NONE) {
    if (so.kind != CHORUS_SERVER_OUT_RESPONSE || lossy_drop(l)) continue;
    CHECK(chorus_srv_addr_equal(&so.to, &caddr));
    chorus_srv_addr from = saddr(0);
    chorus_client_recv(l->c, l->now, &from, so.data, so.len);
  }
}

/* Drain the client: datagrams go to the server (unless dropped). */
static void lossy_client_out(lossy *l) {
  chorus_client_output o;
  chorus_srv_addr caddr = saddr(100);
  while (chorus_client_poll(l->c, &o) == 0 && o.kind != CHORUS_CLIENT_OUT_NONE) {
    if (o.kind != CHORUS_CLIENT_OUT_DATAGRAM) {
      l->last = o;
      l->done = 1;
      continue;
    }
    if (lossy_drop(l)) continue;
    CHECK_EQ(chorus_server_recv(l->s, l->now, &caddr, o.data, o.len), 0);
    lossy_server_out(l);
  }
}

static int lossy_call(lossy *l, chorus_srv_request *q) {
  l->done = 0;
  CHECK_EQ(chorus_client_submit(l->c, l->now, q, 0, NULL), 0);
  for (int steps = 0; steps < 100 && !l->done; steps++) {
    lossy_client_out(l);
    if (l->done) break;
    l->now = chorus_client_deadline(l->c);
    chorus_client_tick(l->c, l->now);
  }
  lossy_client_out(l);
  CHECK(l->done);
  return l->last.resp.status;
}

static void test_lossy_exactly_once(void) {
  for (uint32_t loss = 200000; loss <= 500000; loss += 150000) {
    lossy l;
    memset(&l, 0, sizeof l);
    l.c = make_deadline(1, 120000 * MS); /* patient: 50 % loss each way */
    l.loss_ppm = loss;
    chorus_prng_init(&l.rng, loss);
    l.now = 1;
    chorus_server_config scfg;
    chorus_server_config_default(&scfg);
    scfg.iterations = 5;
    CHECK_EQ(chorus_server_new(&scfg, &l.s), 0);
    l.scap = chorus_server_poll_bytes_min(l.s);
    l.sbuf = malloc(l.scap);
    char name[16];
    for (int i = 0; i < 20; i++) {
      chorus_srv_request q;
      memset(&q, 0, sizeof q);
      q.op = CHORUS_SRV_OP_SIGNUP;
      snprintf(name, sizeof name, "user%d", i);
      strcpy(q.user, name);
      q.password_len = 2;
      memcpy(q.password, "pw", 2);
      CHECK_EQ(lossy_call(&l, &q), CHORUS_SRV_OK); /* never NAME_TAKEN */
    }
    chorus_server_stats st;
    chorus_server_stats_get(l.s, &st);
    CHECK_EQ(st.accounts, 20);
    CHECK_EQ(st.requests, 20);      /* each executed once */
    CHECK(st.duplicates > 0);       /* lost answers were re-sent from the cache */
    chorus_client_stats cst;
    chorus_client_stats_get(l.c, &cst);
    CHECK(cst.retransmits > 0);
    free(l.sbuf);
    chorus_server_free(l.s);
    chorus_client_free(l.c);
  }
}

int main(void) {
  RUN(test_request_response);
  RUN(test_backoff_failover_deadline);
  RUN(test_failover_sticks);
  RUN(test_other_version);
  RUN(test_limits);
  RUN(test_lossy_exactly_once);
  return CHECK_SUMMARY();
}
