/* Fast Bully election on a scripted network: every datagram goes through
 * an encode/decode round trip and is delivered in FIFO order with a fixed
 * delay, unless the destination is down or the link is cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bully.h"
#include "check.h"

#define N_MAX 5
#define NET_MAX 4096
#define DELAY_US 1000

typedef struct pkt {
  uint64_t at_us;
  size_t to;
  uint8_t bytes[CHORUS_CLW_DATAGRAM_BYTES_MAX];
  size_t len;
} pkt;

typedef struct net {
  size_t n;
  chorus_bully *b[N_MAX];
  int up[N_MAX];
  int cut[N_MAX][N_MAX];
  uint64_t persisted[N_MAX]; /* what each would find on disk */
  uint64_t lead_epochs[64];  /* (epoch) of every leadership taken */
  int lead_by[64];
  size_t leads;
  pkt q[NET_MAX];
  size_t qn;
  uint64_t now_us;
} net;

static void net_drain(net *w, size_t i) {
  chorus_bully_output o;
  while (chorus_bully_poll(w->b[i], &o) == 0 && o.kind != CHORUS_BULLY_OUT_NONE) {
    if (o.kind == CHORUS_BULLY_OUT_PERSIST) {
      CHECK(o.epoch > w->persisted[i]); /* promises only grow */
      w->persisted[i] = o.epoch;
    } else if (o.kind == CHORUS_BULLY_OUT_LEADER && o.leader == (int)i) {
      /* Acting as leader only after the epoch is durable. */
      CHECK_EQ(w->persisted[i], o.epoch);
      for (size_t k = 0; k < w->leads; k++) CHECK(w->lead_epochs[k] != o.epoch);
      if (w->leads < 64) {
        w->lead_epochs[w->leads] = o.epoch;
        w->lead_by[w->leads++] = (int)i;
      }
    } else if (o.kind == CHORUS_BULLY_OUT_SEND) {
      CHECK_EQ(o.msg.epoch, w->persisted[i] ? w->persisted[i] : o.msg.epoch);
      if (w->cut[i][o.to] || w->qn == NET_MAX) continue;
      pkt *p = &w->q[w->qn++];
      p->at_us = w->now_us + DELAY_US;
      p->to = o.to;
      int n = chorus_clw_encode(p->bytes, sizeof p->bytes, &o.msg);
      CHECK(n > 0);
      p->len = n > 0 ? (size_t)n : 0;
    }
  }
}

static void net_init(net *w, size_t n, const uint32_t *prio) {
  memset(w, 0, sizeof *w);
  w->n = n;
  for (size_t i = 0; i < n; i++) {
    chorus_bully_config c;
    chorus_bully_config_default(&c);
    c.n = n;
    c.self = i;
    for (size_t k = 0; k < n; k++) c.priority[k] = prio[k];
    CHECK_EQ(chorus_bully_new(&c, 0, &w->b[i]), 0);
    w->up[i] = 1;
  }
}

static void net_start(net *w, size_t i) {
  chorus_bully_start(w->b[i], w->now_us);
  net_drain(w, i);
}

static void net_crash(net *w, size_t i) {
  w->up[i] = 0;
  chorus_bully_free(w->b[i]);
  w->b[i] = NULL;
}

/* Restart i from its persisted epoch. */
static void net_restart(net *w, size_t i, const uint32_t *prio) {
  chorus_bully_config c;
  chorus_bully_config_default(&c);
  c.n = w->n;
  c.self = i;
  for (size_t k = 0; k < w->n; k++) c.priority[k] = prio[k];
  CHECK_EQ(chorus_bully_new(&c, w->persisted[i], &w->b[i]), 0);
  w->up[i] = 1;
  net_start(w, i);
}

/* Run until `until_us`, in 1 ms steps: deliver due packets, tick. */
static void net_run(net *w, uint64_t until_us) {
  while (w->now_us < until_us) {
    w->now_us += 1000;
    size_t keep = 0;
    for (size_t k = 0; k < w->qn; k++) {
      pkt *p = &w->q[k];
      if (p->at_us > w->now_us) {
        w->q[keep++] = *p;
        continue;
      }
      if (!w->up[p->to]) continue;
      chorus_clw_msg m;
      CHECK_EQ(chorus_clw_decode(p->bytes, p->len, &m), 0);
      chorus_bully_recv(w->b[p->to], w->now_us, &m);
      net_drain(w, p->to);
    }
    w->qn = keep;
    for (size_t i = 0; i < w->n; i++)
      if (w->up[i]) {
        chorus_bully_tick(w->b[i], w->now_us);
        net_drain(w, i);
      }
  }
}

/* The leader every live replica agrees on, or -2 if they disagree. */
static int net_agreed(const net *w) {
  int l = -3;
  for (size_t i = 0; i < w->n; i++) {
    if (!w->up[i]) continue;
    int li = chorus_bully_leader(w->b[i]);
    if (l == -3) l = li;
    else if (l != li) return -2;
  }
  return l;
}

static void net_free(net *w) {
  for (size_t i = 0; i < w->n; i++) chorus_bully_free(w->b[i]);
}

static const uint32_t prio5[N_MAX] = {10, 50, 30, 40, 20}; /* 1 > 3 > 2 > 4 > 0 */

static void test_boot_elects_highest(void) {
  static net w;
  net_init(&w, 5, prio5);
  for (size_t i = 0; i < 5; i++) net_start(&w, i);
  net_run(&w, 1000000);
  CHECK_EQ(net_agreed(&w), 1);
  CHECK_EQ(chorus_bully_role_get(w.b[1]), CHORUS_BULLY_LEADER);
  CHECK_EQ(CHORUS_BULLY_EPOCH_LEADER(chorus_bully_epoch(w.b[0])), 1);
  net_free(&w);
}

/* Leader crash: the next highest (3) leads within the documented bound. */
static void test_failover_bound(void) {
  static net w;
  net_init(&w, 5, prio5);
  for (size_t i = 0; i < 5; i++) net_start(&w, i);
  net_run(&w, 1000000);
  uint64_t e1 = chorus_bully_epoch(w.b[1]);
  net_crash(&w, 1);
  uint64_t crash = w.now_us, t = 0;
  while (w.now_us < crash + 3000000) {
    net_run(&w, w.now_us + 1000);
    if (t == 0 && net_agreed(&w) == 3) t = w.now_us - crash;
  }
  CHECK(t > 0);
  CHECK(t <= 100000 + 500000 + 150000 + 150000 + 10 * DELAY_US);
  CHECK(chorus_bully_epoch(w.b[3]) > e1);
  CHECK_EQ(net_agreed(&w), 3);
  net_free(&w);
}

/* The highest replica returns: it takes over with a higher epoch. */
static void test_restart_takes_over(void) {
  static net w;
  net_init(&w, 5, prio5);
  for (size_t i = 0; i < 5; i++) net_start(&w, i);
  net_run(&w, 1000000);
  net_crash(&w, 1);
  net_run(&w, 3000000);
  CHECK_EQ(net_agreed(&w), 3);
  uint64_t e3 = chorus_bully_epoch(w.b[3]);
  net_restart(&w, 1, prio5);
  net_run(&w, 4000000);
  CHECK_EQ(net_agreed(&w), 1);
  CHECK(chorus_bully_epoch(w.b[1]) > e3);
  net_free(&w);
}

/* The two highest crash together: the nominee fails, the next one leads. */
static void test_nominee_dies(void) {
  static net w;
  net_init(&w, 5, prio5);
  for (size_t i = 0; i < 5; i++) net_start(&w, i);
  net_run(&w, 1000000);
  net_crash(&w, 1);
  net_run(&w, 1000000 + 550000); /* detection under way */
  net_crash(&w, 3);
  net_run(&w, 5000000);
  CHECK_EQ(net_agreed(&w), 2);
  net_free(&w);
}

/* A partition {0,4} | {1,2,3}: each side may elect a leader, with distinct
 * epochs; once healed, everyone follows the highest replica. */
static void test_partition_heals(void) {
  static net w;
  net_init(&w, 5, prio5);
  for (size_t i = 0; i < 5; i++) net_start(&w, i);
  net_run(&w, 1000000);
  int side[N_MAX] = {0, 1, 1, 1, 0};
  for (size_t i = 0; i < 5; i++)
    for (size_t k = 0; k < 5; k++) w.cut[i][k] = side[i] != side[k];
  net_run(&w, 4000000);
  CHECK_EQ(chorus_bully_leader(w.b[0]), 4); /* the minority elected its own */
  CHECK_EQ(chorus_bully_leader(w.b[2]), 1);
  memset(w.cut, 0, sizeof w.cut);
  net_run(&w, 7000000);
  CHECK_EQ(net_agreed(&w), 1);
  net_free(&w);
}

static void test_stale_leader_learns(void) {
  static net w;
  static const uint32_t p3[3] = {1, 2, 3};
  net_init(&w, 3, p3);
  for (size_t i = 0; i < 3; i++) net_start(&w, i);
  net_run(&w, 1000000);
  CHECK_EQ(net_agreed(&w), 2);
  /* Isolate 2: 0 and 1 elect 1; then 2 comes back and takes over. */
  for (size_t k = 0; k < 3; k++) w.cut[2][k] = w.cut[k][2] = 1;
  net_run(&w, 3000000);
  CHECK_EQ(chorus_bully_leader(w.b[0]), 1);
  memset(w.cut, 0, sizeof w.cut);
  net_run(&w, 5000000);
  CHECK_EQ(net_agreed(&w), 2);
  CHECK(chorus_bully_epoch(w.b[0]) > chorus_bully_epoch(w.b[1]) - 1);
  net_free(&w);
}

static void test_config_and_bad_input(void) {
  chorus_bully_config c;
  chorus_bully *b;
  chorus_bully_config_default(&c);
  c.n = 2;
  c.priority[0] = c.priority[1] = 5;
  CHECK_EQ(chorus_bully_new(&c, 0, &b), CHORUS_ERR_CONFIG);
  c.priority[1] = 6;
  c.leader_timeout_us = c.heartbeat_us;
  CHECK_EQ(chorus_bully_new(&c, 0, &b), CHORUS_ERR_CONFIG);
  c.leader_timeout_us = CHORUS_BULLY_LEADER_TIMEOUT_US_DEFAULT;
  CHECK_EQ(chorus_bully_new(&c, 0, &b), 0);
  chorus_bully_start(b, 0);
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_HEARTBEAT;
  m.from = 0; /* ourselves */
  CHECK_EQ(chorus_bully_recv(b, 1, &m), CHORUS_ERR_UNKNOWN_SENDER);
  m.from = 7;
  CHECK_EQ(chorus_bully_recv(b, 1, &m), CHORUS_ERR_UNKNOWN_SENDER);
  m.from = 1;
  m.type = CHORUS_CLW_APPEND;
  CHECK_EQ(chorus_bully_recv(b, 1, &m), CHORUS_ERR_BAD_FRAME);
  /* A forged COORDINATOR: epoch names another leader than its sender. */
  m.type = CHORUS_CLW_COORDINATOR;
  m.epoch = (5u << 8) | 0u;
  CHECK_EQ(chorus_bully_recv(b, 1, &m), 0);
  CHECK_EQ(chorus_bully_epoch(b), 0);
  chorus_bully_free(b);
  /* One replica leads at once. */
  c.n = 1;
  CHECK_EQ(chorus_bully_new(&c, 0x300, &b), 0);
  chorus_bully_start(b, 0);
  CHECK_EQ(chorus_bully_role_get(b), CHORUS_BULLY_LEADER);
  CHECK_EQ(chorus_bully_epoch(b), 0x400);
  chorus_bully_free(b);
}

int main(void) {
  RUN(test_boot_elects_highest);
  RUN(test_failover_bound);
  RUN(test_restart_takes_over);
  RUN(test_nominee_dies);
  RUN(test_partition_heals);
  RUN(test_stale_leader_learns);
  RUN(test_config_and_bad_input);
  return CHECK_SUMMARY();
}
