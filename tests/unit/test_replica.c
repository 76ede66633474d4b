/* Three replicas (core/replica.h) on a scripted network with a modelled
 * disk: election, majority-acknowledged writes, a leader crash that loses
 * nothing acknowledged, a minority leader that refuses writes, a replica
 * that catches up after a restart, offline messages exactly once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "replica.h"

#define N 3
#define QMAX 8192
#define LOG_MAX 4096
#define SNAP_MAX (1u << 20)

typedef struct pkt {
  uint64_t at_us;
  int to;           /* replica, or -1 for the client */
  int client;       /* 1: to the replica's client port */
  chorus_srv_addr from;
  uint8_t bytes[1200];
  size_t len;
} pkt;

typedef struct disk {
  uint64_t epoch;
  uint64_t snap_index, snap_epoch;
  uint8_t *snap;
  size_t snap_len;
  uint64_t first;             /* index of rec[0] */
  size_t n;                   /* records held */
  uint64_t rec_epoch[LOG_MAX];
  uint16_t rec_len[LOG_MAX];
  uint8_t *rec;               /* LOG_MAX * 1200 */
} disk;

typedef struct world {
  chorus_replica *r[N];
  int up[N];
  int cut[N][N];
  disk d[N];
  pkt q[QMAX];
  size_t qn;
  uint64_t now_us;
  chorus_srv_response last; /* the last answer to the client */
  int answered;
} world;

static chorus_replica_config cfg_for(size_t self) {
  chorus_replica_config c;
  chorus_replica_config_default(&c);
  c.server.iterations = 2;
  c.server.accounts_max = 64;
  c.server.rooms_max = 8;
  c.server.sessions_max = 64;
  c.server.cache_entries = 64;
  c.server.mailbox_messages = 32;
  c.server.mailbox_marks = 32;
  c.bully.n = N;
  c.bully.self = self;
  for (size_t i = 0; i < N; i++) c.bully.priority[i] = (uint32_t)(10 + i);
  c.records_max = 16; /* small: compaction and snapshot transfer happen */
  return c;
}

static void queue(world *w, int to, int client, const uint8_t *b, size_t len) {
  if (w->qn == QMAX) return;
  pkt *p = &w->q[w->qn++];
  p->at_us = w->now_us + 1000;
  p->to = to;
  p->client = client;
  memcpy(p->bytes, b, len);
  p->len = len;
}

static void disk_append(disk *d, uint64_t index, uint64_t epoch, const uint8_t *b, size_t len) {
  if (d->n == 0) d->first = index;
  CHECK_EQ(index, d->first + d->n);
  if (d->n == LOG_MAX) return;
  d->rec_epoch[d->n] = epoch;
  d->rec_len[d->n] = (uint16_t)len;
  memcpy(d->rec + d->n * 1200, b, len);
  d->n++;
}

static void disk_truncate(disk *d, uint64_t after) {
  if (d->n && after + 1 >= d->first) {
    uint64_t keep = after + 1 - d->first;
    if (keep < d->n) d->n = (size_t)keep;
  }
}

static void disk_snapshot(disk *d, uint64_t index, uint64_t epoch, const uint8_t *b, size_t len) {
  memcpy(d->snap, b, len);
  d->snap_len = len;
  d->snap_index = index;
  d->snap_epoch = epoch;
  /* keep only records after index */
  if (d->n && index >= d->first) {
    uint64_t drop = index + 1 - d->first;
    if (drop >= d->n) {
      d->n = 0;
    } else {
      memmove(d->rec_epoch, d->rec_epoch + drop, (d->n - drop) * sizeof d->rec_epoch[0]);
      memmove(d->rec_len, d->rec_len + drop, (d->n - drop) * sizeof d->rec_len[0]);
      memmove(d->rec, d->rec + drop * 1200, (d->n - drop) * 1200);
      d->n -= drop;
      d->first = index + 1;
    }
  }
}

static void drain(world *w, int i) {
  chorus_replica_output o;
  while (chorus_replica_poll(w->r[i], &o) == 0 && o.kind != CHORUS_REPLICA_OUT_NONE) {
    disk *d = &w->d[i];
    switch (o.kind) {
    case CHORUS_REPLICA_OUT_EPOCH: d->epoch = o.epoch; break;
    case CHORUS_REPLICA_OUT_LOG_APPEND: disk_append(d, o.index, o.epoch, o.data, o.len); break;
    case CHORUS_REPLICA_OUT_LOG_TRUNCATE: disk_truncate(d, o.index); break;
    case CHORUS_REPLICA_OUT_LOG_SNAPSHOT: disk_snapshot(d, o.index, o.epoch, o.data, o.len); break;
    case CHORUS_REPLICA_OUT_PEER_SEND:
      if (!w->cut[i][o.peer]) queue(w, (int)o.peer, 0, o.data, o.len);
      break;
    case CHORUS_REPLICA_OUT_CLIENT_SEND: queue(w, -1, 0, o.data, o.len); break;
    default: break;
    }
  }
}

static void boot(world *w, int i) {
  chorus_replica_config c = cfg_for((size_t)i);
  CHECK_EQ(chorus_replica_new(&c, w->d[i].epoch, &w->r[i]), 0);
  disk *d = &w->d[i];
  if (d->snap_len)
    CHECK_EQ(chorus_replica_restore(w->r[i], 1, d->snap_index, d->snap_epoch, d->snap,
                                    d->snap_len, NULL), 0);
  for (size_t k = 0; k < d->n; k++) {
    if (d->first + k <= d->snap_index) continue;
    CHECK_EQ(chorus_replica_restore(w->r[i], 0, d->first + k, d->rec_epoch[k],
                                    d->rec + k * 1200, d->rec_len[k], NULL), 0);
  }
  w->up[i] = 1;
  chorus_replica_start(w->r[i], w->now_us);
  drain(w, i);
}

static void crash(world *w, int i) {
  chorus_replica_free(w->r[i]);
  w->r[i] = NULL;
  w->up[i] = 0;
}

static void step(world *w) {
  w->now_us += 1000;
  size_t keep = 0, n = w->qn;
  for (size_t k = 0; k < n; k++) {
    pkt p = w->q[k];
    if (p.at_us > w->now_us) {
      w->q[keep++] = p;
      continue;
    }
    if (p.to < 0) {
      if (chorus_srv_response_decode(p.bytes, p.len, &w->last) == 0) w->answered = 1;
      continue;
    }
    if (!w->up[p.to]) continue;
    if (p.client)
      chorus_replica_client_recv(w->r[p.to], w->now_us, &p.from, p.bytes, p.len);
    else
      chorus_replica_peer_recv(w->r[p.to], w->now_us, p.bytes, p.len);
    drain(w, p.to);
  }
  /* packets queued during delivery were appended after n */
  for (size_t k = n; k < w->qn; k++) w->q[keep++] = w->q[k];
  w->qn = keep;
  for (int i = 0; i < N; i++)
    if (w->up[i] && chorus_replica_deadline(w->r[i]) <= w->now_us) {
      chorus_replica_tick(w->r[i], w->now_us);
      drain(w, i);
    }
}

static void run_ms(world *w, uint64_t ms) {
  for (uint64_t k = 0; k < ms; k++) step(w);
}

static int leader_of(world *w) {
  for (int i = 0; i < N; i++)
    if (w->up[i] && chorus_replica_serving(w->r[i], w->now_us)) return i;
  return -1;
}

/* Send a request to replica i and wait up to 1 s for its answer. */
static int ask(world *w, int i, chorus_srv_request *q) {
  static uint32_t rid = 100;
  uint8_t b[1200];
  q->rid = rid++;
  int n = chorus_srv_request_encode(b, sizeof b, q);
  CHECK(n > 0);
  w->answered = 0;
  pkt *p = &w->q[w->qn++];
  p->at_us = w->now_us + 1000;
  p->to = i;
  p->client = 1;
  p->from.len = 3;
  p->from.bytes[0] = 'c';
  p->from.bytes[1] = 'l';
  p->from.bytes[2] = 'i';
  memcpy(p->bytes, b, (size_t)n);
  p->len = (size_t)n;
  for (int k = 0; k < 1000 && !(w->answered && w->last.rid == q->rid); k++) step(w);
  return w->answered && w->last.rid == q->rid ? w->last.status : -1;
}

static int signup(world *w, int i, const char *user) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_SIGNUP;
  strcpy(q.user, user);
  q.password[0] = 'p';
  q.password_len = 1;
  return ask(w, i, &q);
}

static int login(world *w, int i, const char *user, uint8_t *token) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_LOGIN;
  strcpy(q.user, user);
  q.password[0] = 'p';
  q.password_len = 1;
  int st = ask(w, i, &q);
  if (st == 0) memcpy(token, w->last.token, 16);
  return st;
}

static void world_init(world *w) {
  memset(w, 0, sizeof *w);
  for (int i = 0; i < N; i++) {
    w->d[i].snap = malloc(SNAP_MAX);
    w->d[i].rec = malloc((size_t)LOG_MAX * 1200);
  }
  for (int i = 0; i < N; i++) boot(w, i);
}

static void world_free(world *w) {
  for (int i = 0; i < N; i++) {
    chorus_replica_free(w->r[i]);
    free(w->d[i].snap);
    free(w->d[i].rec);
  }
}

static void test_elect_write_failover(void) {
  static world w;
  world_init(&w);
  run_ms(&w, 1500);
  int l = leader_of(&w);
  CHECK_EQ(l, 2);
  CHECK_EQ(signup(&w, 0, "alice"), CHORUS_SRV_NOT_LEADER);
  CHECK_EQ(w.last.detail, 3);
  CHECK_EQ(signup(&w, 2, "alice"), CHORUS_SRV_OK);
  for (int k = 0; k < 40; k++) {
    char name[16];
    snprintf(name, sizeof name, "u%d", k);
    CHECK_EQ(signup(&w, 2, name), CHORUS_SRV_OK);
  }
  /* The leader dies: 1 leads, with every acknowledged account. */
  crash(&w, 2);
  uint64_t t0 = w.now_us;
  while (leader_of(&w) != 1 && w.now_us < t0 + 3000000) step(&w);
  CHECK_EQ(leader_of(&w), 1);
  CHECK(w.now_us - t0 < 1500000);
  uint8_t tok[16];
  CHECK_EQ(login(&w, 1, "alice", tok), CHORUS_SRV_OK);
  CHECK_EQ(login(&w, 1, "u39", tok), CHORUS_SRV_OK);
  CHECK_EQ(signup(&w, 1, "bob"), CHORUS_SRV_OK);
  for (int k = 0; k < 20; k++) { /* more than 2's log can catch up on */
    char name[16];
    snprintf(name, sizeof name, "v%d", k);
    CHECK_EQ(signup(&w, 1, name), CHORUS_SRV_OK);
  }
  /* 0 alone (1 cut off from it, 2 down): no majority for anyone. */
  w.cut[0][1] = w.cut[1][0] = 1;
  run_ms(&w, 1500);
  CHECK_EQ(leader_of(&w), -1);
  int st = signup(&w, 1, "carol");
  CHECK(st == CHORUS_SRV_NO_QUORUM || st == CHORUS_SRV_NOT_LEADER);
  /* Heal, bring 2 back: it takes over and has everything (catch-up). */
  w.cut[0][1] = w.cut[1][0] = 0;
  boot(&w, 2);
  t0 = w.now_us;
  while (leader_of(&w) != 2 && w.now_us < t0 + 5000000) step(&w);
  CHECK_EQ(leader_of(&w), 2);
  run_ms(&w, 500);
  CHECK_EQ(login(&w, 2, "bob", tok), CHORUS_SRV_OK);
  CHECK_EQ(login(&w, 2, "u0", tok), CHORUS_SRV_OK);
  CHECK_EQ(login(&w, 2, "v19", tok), CHORUS_SRV_OK);
  chorus_replica_stats s0, s2;
  chorus_replica_stats_get(w.r[0], &s0);
  chorus_replica_stats_get(w.r[2], &s2);
  CHECK_EQ(s0.commit, s2.commit);
  CHECK(s0.compactions > 0);
  CHECK(s2.snaps_installed > 0); /* 2 missed records the others compacted */
  world_free(&w);
}

static void test_offline_messages(void) {
  static world w;
  world_init(&w);
  run_ms(&w, 1500);
  CHECK_EQ(signup(&w, 2, "ann"), 0);
  CHECK_EQ(signup(&w, 2, "ben"), 0);
  uint8_t ta[16], tb[16];
  CHECK_EQ(login(&w, 2, "ann", ta), 0);
  chorus_srv_request q;
  for (int k = 1; k <= 3; k++) {
    memset(&q, 0, sizeof q);
    q.op = CHORUS_SRV_OP_MSG_STORE;
    memcpy(q.token, ta, 16);
    strcpy(q.to, "ben");
    q.sender_epoch = 7;
    q.msg_id = (uint64_t)k;
    q.text_len = 2;
    q.text[0] = 'm';
    q.text[1] = (uint8_t)('0' + k);
    CHECK_EQ(ask(&w, 2, &q), 0);
    CHECK_EQ(ask(&w, 2, &q), 0); /* a retransmission with a new rid */
  }
  crash(&w, 2); /* failover: the messages survive, once each */
  run_ms(&w, 2000);
  CHECK_EQ(leader_of(&w), 1);
  CHECK_EQ(login(&w, 1, "ben", tb), 0);
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_MSG_FETCH;
  memcpy(q.token, tb, 16);
  CHECK_EQ(ask(&w, 1, &q), 0);
  CHECK_EQ(w.last.waiting, 3);
  CHECK_EQ(w.last.msg_count, 3);
  for (int k = 0; k < 3 && k < w.last.msg_count; k++) {
    CHECK_EQ(w.last.msgs[k].msg_id, k + 1);
    CHECK_EQ(w.last.text[w.last.msgs[k].text_off + 1], '1' + k);
  }
  uint64_t upto = w.last.msgs[2].seq;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_MSG_ACK;
  memcpy(q.token, tb, 16);
  q.upto = upto;
  CHECK_EQ(ask(&w, 1, &q), 0);
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_MSG_FETCH;
  memcpy(q.token, tb, 16);
  CHECK_EQ(ask(&w, 1, &q), 0);
  CHECK_EQ(w.last.waiting, 0);
  world_free(&w);
}

int main(void) {
  RUN(test_elect_write_failover);
  RUN(test_offline_messages);
  return CHECK_SUMMARY();
}
