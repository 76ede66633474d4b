#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"
#include "evq.h"
#include "prng.h"
#include "replica.h"
#include "trace.h"

#define SC_POOL 8192           /* datagrams in flight */
#define SC_EVQ (SC_POOL + 256) /* events pending */
#define SC_LOG_MAX 2048        /* records a modelled disk holds */
#define SC_REC_BYTES 1200
#define SC_WORKERS CHORUS_SIMCL_CLIENTS
#define SC_CLIENTS (SC_WORKERS + 1) /* + the checker */
#define SC_NODES (CHORUS_SIMCL_SERVERS_MAX + SC_CLIENTS)
#define SC_ACKED_MAX 4096
#define SC_LIVENESS_US 60000000ull
#define SC_CHECK_DELAY_US 3000000ull

enum { EV_DGRAM = 1, EV_TIMER, EV_WORK, EV_HEAL, EV_CRASH, EV_RESTART, EV_PART, EV_UNPART, EV_CHECK };

enum { OP_NONE, OP_SIGNUP_SELF, OP_SIGNUP, OP_LOGIN, OP_STORE, OP_FETCH, OP_ACK, OP_VERIFY };

typedef struct sc_disk {
  uint64_t epoch;
  uint64_t snap_index, snap_epoch;
  uint8_t *snap;
  size_t snap_len;
  uint64_t first;   /* index of rec 0 */
  size_t n, synced; /* records held; the first `synced` are durable */
  uint64_t rec_epoch[SC_LOG_MAX];
  uint16_t rec_len[SC_LOG_MAX];
  uint8_t *rec;
} sc_disk;

typedef struct sc_client {
  chorus_client *c;
  char name[32];
  int op, own_done, logged_in, store_pending, signup_pending;
  uint8_t token[16];
  uint64_t store_id, signup_seq;
  char signup_name[32];
  uint64_t timer_at;
} sc_client;

typedef struct sc_acked_msg {
  uint8_t client;
  uint64_t id;
  int fetched;
} sc_acked_msg;

typedef struct sc_world {
  const chorus_simcl_config *cfg;
  chorus_simcl_result *res;
  chorus_prng net, work, fault;
  chorus_evq *q;
  chorus_trace tr;
  uint64_t now;
  size_t n;
  chorus_replica *r[CHORUS_SIMCL_SERVERS_MAX];
  int up[CHORUS_SIMCL_SERVERS_MAX];
  uint8_t boot[CHORUS_SIMCL_SERVERS_MAX];
  uint64_t timer_at[CHORUS_SIMCL_SERVERS_MAX];
  int serving[CHORUS_SIMCL_SERVERS_MAX];
  int side[CHORUS_SIMCL_SERVERS_MAX]; /* partition side, all 0 when whole */
  sc_disk d[CHORUS_SIMCL_SERVERS_MAX];
  size_t snap_cap;
  sc_client cl[SC_CLIENTS];
  uint8_t (*pool)[SC_REC_BYTES];
  uint16_t pool_len[SC_POOL];
  uint8_t pool_client[SC_POOL]; /* 1: for a replica's client port */
  uint32_t free_slots[SC_POOL];
  size_t free_n;
  int healed, done;
  uint64_t heal_at;
  uint64_t crash_at_pending; /* a leader crash waiting for a successor */
  int crash_measure;         /* no partition disturbs it */
  int partitioned;
  char users[SC_ACKED_MAX][32];
  size_t users_n, verify_next;
  sc_acked_msg msgs[SC_ACKED_MAX];
  size_t msgs_n;
  uint64_t fetched_last[SC_WORKERS]; /* per sender, the last id fetched */
  uint64_t fetch_upto;
} sc_world;

void chorus_simcl_config_default(chorus_simcl_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = 1;
  cfg->servers = 3;
  cfg->duration_us = 20000000ull;
  cfg->crashes = 2;
  cfg->partitions = 1;
  cfg->loss_ppm = 10000;
  cfg->delay_min_us = 1000;
  cfg->delay_max_us = 10000;
}

const char *chorus_simcl_verdict_name(int v) {
  static const char *const names[] = {"ok",           "one_leader_per_epoch", "lost_write",
                                      "exactly_once", "fifo",                 "liveness",
                                      "internal"};
  return v >= 0 && v <= CHORUS_SIMCL_INTERNAL ? names[v] : "unknown";
}

static void sc_violate(sc_world *w, enum chorus_simcl_verdict v, const char *what) {
  if (w->res->verdict != CHORUS_SIMCL_OK) return;
  w->res->verdict = v;
  snprintf(w->res->first_bad, sizeof w->res->first_bad, "at %llu us: %s",
           (unsigned long long)w->now, what);
  chorus_trace_line(&w->tr, w->now, "violation %s", chorus_simcl_verdict_name((int)v));
  for (size_t i = 0; i < w->n; i++) { /* where each replica stood */
    chorus_replica_stats st;
    if (!w->up[i]) continue;
    chorus_replica_stats_get(w->r[i], &st);
    chorus_trace_line(&w->tr, w->now, "  s%zu applied %llu commit %llu last %llu busy %llu snaps %llu/%llu comp %llu rebuilds %llu", i,
                      (unsigned long long)st.applied_index, (unsigned long long)st.commit,
                      (unsigned long long)st.last, (unsigned long long)st.busy, (unsigned long long)st.snaps_sent,
                      (unsigned long long)st.snaps_installed, (unsigned long long)st.compactions,
                      (unsigned long long)st.rebuilds);
  }
}

static void sc_push(sc_world *w, uint64_t at, uint8_t kind, uint8_t node, uint8_t from,
                    uint32_t slot, uint8_t boot) {
  chorus_evq_event e;
  memset(&e, 0, sizeof e);
  e.at_us = at;
  e.kind = kind;
  e.node = node;
  e.from = from;
  e.slot = slot;
  e.boot = boot;
  if (chorus_evq_push(w->q, &e) != 0) sc_violate(w, CHORUS_SIMCL_INTERNAL, "event queue full");
}

/* ---- network ------------------------------------------------------------ */

static int sc_cut(const sc_world *w, size_t a, size_t b) {
  return a < w->n && b < w->n && w->side[a] != w->side[b];
}

/* Datagram from node `from` to node `to` (replicas first, then clients);
 * to_client_port: for a replica's client port. */
static void sc_send(sc_world *w, size_t from, size_t to, int to_client_port, const uint8_t *b,
                    size_t len) {
  if (len > SC_REC_BYTES || sc_cut(w, from, to)) return;
  if (chorus_prng_chance_ppm(&w->net, w->cfg->loss_ppm)) return;
  if (w->free_n == 0) {
    sc_violate(w, CHORUS_SIMCL_INTERNAL, "datagram pool full");
    return;
  }
  uint32_t slot = w->free_slots[--w->free_n];
  memcpy(w->pool[slot], b, len);
  w->pool_len[slot] = (uint16_t)len;
  w->pool_client[slot] = (uint8_t)to_client_port;
  uint64_t delay = chorus_prng_range(&w->net, w->cfg->delay_min_us, w->cfg->delay_max_us);
  sc_push(w, w->now + delay, EV_DGRAM, (uint8_t)to, (uint8_t)from, slot, 0);
}

static chorus_srv_addr sc_addr(char kind, size_t i) {
  chorus_srv_addr a;
  memset(&a, 0, sizeof a);
  a.len = 2;
  a.bytes[0] = (uint8_t)kind;
  a.bytes[1] = (uint8_t)i;
  return a;
}

/* ---- disks -------------------------------------------------------------- */

static void dk_append(sc_disk *d, uint64_t index, uint64_t epoch, const uint8_t *b, size_t len) {
  if (d->n == 0) d->first = index;
  if (d->n == SC_LOG_MAX || index != d->first + d->n) return; /* caught by the checks */
  d->rec_epoch[d->n] = epoch;
  d->rec_len[d->n] = (uint16_t)len;
  memcpy(d->rec + d->n * SC_REC_BYTES, b, len);
  d->n++;
}

static void dk_truncate(sc_disk *d, uint64_t after) {
  if (d->n == 0 || after + 1 < d->first) return;
  uint64_t keep = after + 1 - d->first;
  if (keep < d->n) d->n = (size_t)keep;
  if (d->synced > d->n) d->synced = d->n;
}

/* A snapshot makes everything durable (the log syncs first). */
static void dk_snapshot(sc_disk *d, uint64_t index, uint64_t epoch, const uint8_t *b,
                        size_t len) {
  memcpy(d->snap, b, len);
  d->snap_len = len;
  d->snap_index = index;
  d->snap_epoch = epoch;
  uint64_t drop = d->n && index >= d->first ? index + 1 - d->first : 0;
  if (drop >= d->n) {
    d->n = 0;
  } else if (drop > 0) {
    memmove(d->rec_epoch, d->rec_epoch + drop, (d->n - drop) * sizeof d->rec_epoch[0]);
    memmove(d->rec_len, d->rec_len + drop, (d->n - drop) * sizeof d->rec_len[0]);
    memmove(d->rec, d->rec + drop * SC_REC_BYTES, (d->n - drop) * SC_REC_BYTES);
    d->n -= (size_t)drop;
    d->first = index + 1;
  }
  d->synced = d->n;
}

/* ---- replicas ----------------------------------------------------------- */

static void sc_check_ack(sc_world *w, size_t i, const uint8_t *b, size_t len) {
  chorus_srv_response p;
  if (chorus_srv_response_decode(b, len, &p) != 0 || p.status != CHORUS_SRV_OK) return;
  if (p.op != CHORUS_SRV_OP_SIGNUP && p.op != CHORUS_SRV_OP_MSG_STORE &&
      p.op != CHORUS_SRV_OP_MSG_ACK)
    return;
  uint64_t e = chorus_replica_epoch(w->r[i]);
  if ((size_t)CHORUS_BULLY_EPOCH_LEADER(e) != i || w->d[i].epoch != e)
    sc_violate(w, CHORUS_SIMCL_ONE_LEADER, "a write acknowledged outside its leader's epoch");
}

static void sc_role(sc_world *w, size_t i, const chorus_replica_output *o) {
  chorus_trace_line(&w->tr, w->now, "s%zu leader %d epoch %llu serving %d", i, o->leader,
                    (unsigned long long)o->epoch, o->serving);
  w->serving[i] = o->serving;
  if (!o->serving) return;
  w->res->elections_won++;
  if (w->crash_at_pending && w->crash_measure &&
      w->res->failovers < CHORUS_SIMCL_FAILOVERS_MAX)
    w->res->failover_us[w->res->failovers++] = w->now - w->crash_at_pending;
  w->crash_at_pending = 0;
}

static void sc_drain(sc_world *w, size_t i) {
  chorus_replica_output o;
  sc_disk *d = &w->d[i];
  while (chorus_replica_poll(w->r[i], &o) == 0 && o.kind != CHORUS_REPLICA_OUT_NONE) {
    switch (o.kind) {
    case CHORUS_REPLICA_OUT_EPOCH: d->epoch = o.epoch; break;
    case CHORUS_REPLICA_OUT_LOG_APPEND:
      dk_append(d, o.index, o.epoch, o.data, o.len);
      break;
    case CHORUS_REPLICA_OUT_LOG_TRUNCATE: dk_truncate(d, o.index); break;
    case CHORUS_REPLICA_OUT_LOG_SNAPSHOT: dk_snapshot(d, o.index, o.epoch, o.data, o.len); break;
    case CHORUS_REPLICA_OUT_PEER_SEND:
      d->synced = d->n;
      sc_send(w, i, o.peer, 0, o.data, o.len);
      break;
    case CHORUS_REPLICA_OUT_CLIENT_SEND:
      d->synced = d->n;
      sc_check_ack(w, i, o.data, o.len);
      sc_send(w, i, w->n + o.to.bytes[1], 0, o.data, o.len);
      break;
    case CHORUS_REPLICA_OUT_ROLE: sc_role(w, i, &o); break;
    default: break;
    }
  }
  uint64_t t = chorus_replica_deadline(w->r[i]);
  if (t != UINT64_MAX && t != w->timer_at[i]) {
    w->timer_at[i] = t;
    sc_push(w, t > w->now ? t : w->now, EV_TIMER, (uint8_t)i, 0, 0, w->boot[i]);
  }
}

static chorus_replica_config sc_replica_config(const sc_world *w, size_t i) {
  chorus_replica_config c;
  chorus_replica_config_default(&c);
  c.server.iterations = 1;
  c.server.accounts_max = 512;
  c.server.sessions_max = 512; /* the check logs in every account */
  c.server.rooms_max = 4;
  c.server.cache_entries = 256;
  c.server.mailbox_messages = 512;
  c.server.mailbox_marks = 16;
  /* Distinct per replica and per boot, as /dev/urandom gives a real one:
   * a restarted replica must not issue its earlier life's tokens again. */
  c.server.seed = w->cfg->seed << 16 | (uint64_t)w->boot[i] << 8 | i;
  c.bully.n = w->n;
  c.bully.self = i;
  for (size_t k = 0; k < w->n; k++) c.bully.priority[k] = (uint32_t)(100 + 7 * k);
  c.records_max = 64; /* compaction and snapshot transfer in every run */
  return c;
}

static int sc_boot(sc_world *w, size_t i) {
  chorus_replica_config c = sc_replica_config(w, i);
  sc_disk *d = &w->d[i];
  if (chorus_replica_new(&c, d->epoch, &w->r[i]) != 0) return CHORUS_ERR_NOMEM;
  int rc = 0;
  if (d->snap_len)
    rc = chorus_replica_restore(w->r[i], 1, d->snap_index, d->snap_epoch, d->snap, d->snap_len,
                                NULL);
  for (size_t k = 0; rc == 0 && k < d->n; k++)
    if (d->first + k > d->snap_index)
      rc = chorus_replica_restore(w->r[i], 0, d->first + k, d->rec_epoch[k],
                                  d->rec + k * SC_REC_BYTES, d->rec_len[k], NULL);
  if (rc != 0) sc_violate(w, CHORUS_SIMCL_INTERNAL, "a disk does not restore");
  w->up[i] = 1;
  w->boot[i]++;
  w->timer_at[i] = 0;
  w->serving[i] = 0;
  chorus_replica_start(w->r[i], w->now);
  sc_drain(w, i);
  return 0;
}

/* kill -9: what was not synced survives as a seeded prefix. */
static void sc_crash(sc_world *w, size_t i) {
  sc_disk *d = &w->d[i];
  size_t unsynced = d->n - d->synced;
  d->n = d->synced + (size_t)chorus_prng_below(&w->fault, unsynced + 1);
  d->synced = d->n;
  chorus_replica_free(w->r[i]);
  w->r[i] = NULL;
  w->up[i] = 0;
  w->serving[i] = 0;
}

/* ---- clients ------------------------------------------------------------ */

static void sc_client_drain(sc_world *w, size_t k);

static void sc_submit(sc_world *w, size_t k, int op, chorus_srv_request *q) {
  sc_client *c = &w->cl[k];
  c->op = op;
  memcpy(q->token, c->token, sizeof q->token);
  if (chorus_client_submit(c->c, w->now, q, 0, NULL) != 0)
    sc_violate(w, CHORUS_SIMCL_INTERNAL, "client queue full");
  sc_client_drain(w, k);
}

static void sc_password(chorus_srv_request *q) {
  q->password[0] = 'p';
  q->password_len = 1;
}

static void sc_req_signup(sc_world *w, size_t k, const char *name, int op) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_SIGNUP;
  snprintf(q.user, sizeof q.user, "%s", name);
  sc_password(&q);
  if (op == OP_SIGNUP) w->res->signups_sent++;
  sc_submit(w, k, op, &q);
}

static void sc_req_login(sc_world *w, size_t k) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_LOGIN;
  snprintf(q.user, sizeof q.user, "%s", w->cl[k].name);
  sc_password(&q);
  sc_submit(w, k, OP_LOGIN, &q);
}

static void sc_req_store(sc_world *w, size_t k) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_MSG_STORE;
  strcpy(q.to, "rc");
  q.sender_epoch = 1;
  q.msg_id = w->cl[k].store_id;
  q.text_len = (uint16_t)snprintf((char *)q.text, sizeof q.text, "m%llu from %s",
                                  (unsigned long long)q.msg_id, w->cl[k].name);
  sc_submit(w, k, OP_STORE, &q);
}

static void sc_req_simple(sc_world *w, size_t k, uint8_t op, int kind, uint64_t upto) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = op;
  q.upto = upto;
  sc_submit(w, k, kind, &q);
}

/* A worker's next step (none in flight). */
static void sc_work(sc_world *w, size_t k) {
  sc_client *c = &w->cl[k];
  if (c->op != OP_NONE) return;
  if (!c->own_done) { sc_req_signup(w, k, c->name, OP_SIGNUP_SELF); return; }
  if (c->signup_pending) { sc_req_signup(w, k, c->signup_name, OP_SIGNUP); return; }
  if (c->store_pending) {
    if (!c->logged_in) sc_req_login(w, k);
    else sc_req_store(w, k);
    return;
  }
  if (w->healed) return;
  if (chorus_prng_below(&w->work, 2) == 0) {
    char name[32];
    int len = snprintf(name, sizeof name, "%sa%llu", c->name,
                       (unsigned long long)++c->signup_seq);
    if (len < 0 || (size_t)len >= sizeof name) return; /* names are short */
    memcpy(c->signup_name, name, sizeof name);
    c->signup_pending = 1;
    sc_req_signup(w, k, c->signup_name, OP_SIGNUP);
  } else {
    c->store_id++;
    c->store_pending = 1;
    if (!c->logged_in) sc_req_login(w, k);
    else sc_req_store(w, k);
  }
}

static void sc_schedule_work(sc_world *w, size_t k, uint64_t after_us) {
  sc_push(w, w->now + after_us, EV_WORK, (uint8_t)(w->n + k), 0, 0, 0);
}

static void sc_acked_user(sc_world *w, const char *name) {
  if (w->users_n == SC_ACKED_MAX) return;
  size_t len = strlen(name);
  memcpy(w->users[w->users_n++], name, len < 31 ? len + 1 : 32);
  w->res->signups_acked++;
}

static void sc_worker_result(sc_world *w, size_t k, const chorus_srv_response *p) {
  sc_client *c = &w->cl[k];
  int op = c->op, st = p->status;
  c->op = OP_NONE;
  uint64_t pause = 20000; /* a retry or the next step of an operation */
  if (op == OP_SIGNUP_SELF && (st == 0 || st == CHORUS_SRV_NAME_TAKEN)) {
    c->own_done = 1;
  } else if (op == OP_SIGNUP && (st == 0 || st == CHORUS_SRV_NAME_TAKEN)) {
    if (st == 0) sc_acked_user(w, c->signup_name);
    c->signup_pending = 0;
    pause = chorus_prng_range(&w->work, 50000, 400000);
  } else if (op == OP_LOGIN && st == 0) {
    c->logged_in = 1;
    memcpy(c->token, p->token, sizeof c->token);
  } else if (op == OP_STORE && st == 0) {
    c->store_pending = 0;
    if (w->msgs_n < SC_ACKED_MAX) {
      w->msgs[w->msgs_n].client = (uint8_t)k;
      w->msgs[w->msgs_n++].id = c->store_id;
    }
    w->res->stores_acked++;
    pause = chorus_prng_range(&w->work, 50000, 400000);
  } else if (st == CHORUS_SRV_NOT_LOGGED_IN) {
    c->logged_in = 0;
  }
  sc_schedule_work(w, k, pause);
}

/* ---- the checker -------------------------------------------------------- */

static void sc_check_step(sc_world *w);

static void sc_check_fetched(sc_world *w, const chorus_srv_response *p) {
  for (size_t i = 0; i < p->msg_count; i++) {
    const chorus_srv_message *m = &p->msgs[i];
    size_t k = (size_t)(m->from[1] - '0');
    if (m->from[0] != 'c' || k >= SC_WORKERS) continue;
    w->res->fetched++;
    chorus_trace_line(&w->tr, w->now, "fetched c%zu %llu seq %llu", k,
                      (unsigned long long)m->msg_id, (unsigned long long)m->seq);
    if (m->msg_id <= w->fetched_last[k])
      sc_violate(w, m->msg_id == w->fetched_last[k] ? CHORUS_SIMCL_EXACTLY_ONCE : CHORUS_SIMCL_FIFO,
                 "an offline message fetched again or out of its sender's order");
    w->fetched_last[k] = m->msg_id;
    for (size_t a = 0; a < w->msgs_n; a++)
      if (w->msgs[a].client == k && w->msgs[a].id == m->msg_id) w->msgs[a].fetched++;
    if (m->seq > w->fetch_upto) w->fetch_upto = m->seq;
  }
}

/* After the fetches: every acknowledged store came exactly once. */
static void sc_check_stores(sc_world *w) {
  for (size_t a = 0; a < w->msgs_n; a++)
    if (w->msgs[a].fetched != 1) {
      chorus_trace_line(&w->tr, w->now, "missing c%u %llu", w->msgs[a].client,
                        (unsigned long long)w->msgs[a].id);
      sc_violate(w, w->msgs[a].fetched ? CHORUS_SIMCL_EXACTLY_ONCE : CHORUS_SIMCL_LOST_WRITE,
                 "an acknowledged offline message was not fetched exactly once");
      return;
    }
}

static int sc_retryable(int st) {
  return st == CHORUS_SRV_UNREACHABLE || st == CHORUS_SRV_NOT_LEADER ||
         st == CHORUS_SRV_NO_QUORUM || st == CHORUS_SRV_BUSY || st == CHORUS_SRV_NOT_LOGGED_IN;
}

static void sc_checker_result(sc_world *w, const chorus_srv_response *p) {
  sc_client *c = &w->cl[SC_WORKERS];
  int op = c->op, st = p->status;
  c->op = OP_NONE;
  if (op == OP_SIGNUP_SELF) {
    if (st == 0 || st == CHORUS_SRV_NAME_TAKEN) c->own_done = 1;
  } else if (op == OP_LOGIN && st == 0) {
    c->logged_in = 1;
    memcpy(c->token, p->token, sizeof c->token);
  } else if (op == OP_FETCH && st == 0) {
    sc_check_fetched(w, p);
    c->store_pending = p->msg_count > 0; /* an ack is due */
    if (p->msg_count == 0 && p->waiting == 0) {
      sc_check_stores(w);
      c->signup_pending = 1; /* mailbox done: verify the accounts */
    }
  } else if (op == OP_ACK && st == 0) {
    c->store_pending = 0;
  } else if (op == OP_VERIFY) {
    if (st == 0) w->verify_next++;
    else if (!sc_retryable(st))
      sc_violate(w, CHORUS_SIMCL_LOST_WRITE, "an acknowledged sign-up cannot log in");
  }
  if (st == CHORUS_SRV_NOT_LOGGED_IN) c->logged_in = 0;
  if (w->healed) sc_check_step(w);
  else if (!c->own_done) sc_push(w, w->now + 50000, EV_CHECK, 0, 0, 0, 0);
}

static void sc_check_step(sc_world *w) {
  sc_client *c = &w->cl[SC_WORKERS];
  if (c->op != OP_NONE || w->done) return;
  if (!c->own_done) { sc_req_signup(w, SC_WORKERS, "rc", OP_SIGNUP_SELF); return; }
  if (!w->healed || w->now < w->heal_at + SC_CHECK_DELAY_US) return;
  for (size_t k = 0; k < SC_WORKERS; k++) /* the workers' last stores first */
    if (w->cl[k].op != OP_NONE || w->cl[k].store_pending || w->cl[k].signup_pending) {
      sc_push(w, w->now + 100000, EV_CHECK, 0, 0, 0, 0);
      return;
    }
  if (c->signup_pending) { /* verify acknowledged accounts by logging in */
    if (w->verify_next == w->users_n) {
      w->done = 1;
      chorus_trace_line(&w->tr, w->now, "check done");
      return;
    }
    chorus_srv_request q;
    memset(&q, 0, sizeof q);
    q.op = CHORUS_SRV_OP_LOGIN;
    snprintf(q.user, sizeof q.user, "%s", w->users[w->verify_next]);
    sc_password(&q);
    sc_submit(w, SC_WORKERS, OP_VERIFY, &q);
    return;
  }
  if (!c->logged_in) sc_req_login(w, SC_WORKERS);
  else if (c->store_pending) sc_req_simple(w, SC_WORKERS, CHORUS_SRV_OP_MSG_ACK, OP_ACK, w->fetch_upto);
  else sc_req_simple(w, SC_WORKERS, CHORUS_SRV_OP_MSG_FETCH, OP_FETCH, 0);
}

static void sc_client_drain(sc_world *w, size_t k) {
  sc_client *c = &w->cl[k];
  chorus_client_output o;
  while (chorus_client_poll(c->c, &o) == 0 && o.kind != CHORUS_CLIENT_OUT_NONE) {
    if (o.kind == CHORUS_CLIENT_OUT_DATAGRAM) {
      sc_send(w, w->n + k, o.to.bytes[1], 1, o.data, o.len); /* the replica's index */
      continue;
    }
    chorus_trace_line(&w->tr, w->now, "c%zu %s %s", k, chorus_srv_opname(o.op),
                      chorus_srv_statusname(o.resp.status));
    if (k < SC_WORKERS) sc_worker_result(w, k, &o.resp);
    else sc_checker_result(w, &o.resp);
  }
  uint64_t t = chorus_client_deadline(c->c);
  if (t != UINT64_MAX && t != c->timer_at) {
    c->timer_at = t;
    sc_push(w, t > w->now ? t : w->now, EV_TIMER, (uint8_t)(w->n + k), 0, 0, 0);
  }
}

/* ---- faults ------------------------------------------------------------- */

static int sc_leader(const sc_world *w) {
  for (size_t i = 0; i < w->n; i++)
    if (w->up[i] && w->serving[i]) return (int)i;
  return -1;
}

static void sc_do_crash(sc_world *w) {
  int v = sc_leader(w);
  int measure = v >= 0 && !w->partitioned;
  if (v < 0) { /* no leader now: the highest live replica */
    for (size_t i = 0; i < w->n; i++)
      if (w->up[i]) v = (int)i;
  }
  if (v < 0) return;
  chorus_trace_line(&w->tr, w->now, "crash s%d%s", v, measure ? " (leader)" : "");
  sc_crash(w, (size_t)v);
  w->res->crashes++;
  w->crash_at_pending = measure ? w->now : 0;
  w->crash_measure = measure;
  uint64_t down = chorus_prng_range(&w->fault, 1000000, 3000000);
  sc_push(w, w->now + down, EV_RESTART, (uint8_t)v, 0, 0, 0);
}

static void sc_do_partition(sc_world *w) {
  if (w->n < 2) return;
  /* A random proper, non-empty side. */
  uint32_t mask = (uint32_t)chorus_prng_range(&w->fault, 1, (1u << w->n) - 2);
  for (size_t i = 0; i < w->n; i++) w->side[i] = (mask >> i) & 1;
  w->partitioned = 1;
  w->crash_measure = 0; /* a failover under way is disturbed */
  w->res->partitions++;
  chorus_trace_line(&w->tr, w->now, "partition mask %u", mask);
  uint64_t len = chorus_prng_range(&w->fault, 1000000, 3000000);
  sc_push(w, w->now + len, EV_UNPART, 0, 0, 0, 0);
}

static void sc_plan(sc_world *w) {
  const chorus_simcl_config *c = w->cfg;
  for (size_t k = 0; k < c->crashes; k++) {
    uint64_t slot = c->duration_us * 7 / 10 / c->crashes;
    uint64_t at = c->duration_us * 15 / 100 + k * slot + chorus_prng_below(&w->fault, slot / 3 + 1);
    sc_push(w, at, EV_CRASH, 0, 0, (uint32_t)k, 0);
  }
  for (size_t k = 0; k < c->partitions; k++) {
    uint64_t at = chorus_prng_range(&w->fault, c->duration_us / 10, c->duration_us * 8 / 10);
    sc_push(w, at, EV_PART, 0, 0, (uint32_t)k, 0);
  }
  sc_push(w, c->duration_us, EV_HEAL, 0, 0, 0, 0);
}

/* ---- the loop ----------------------------------------------------------- */

static void sc_event(sc_world *w, const chorus_evq_event *e) {
  size_t node = e->node;
  switch (e->kind) {
  case EV_DGRAM: {
    uint32_t s = e->slot;
    if (node < w->n && w->up[node]) {
      if (w->pool_client[s]) {
        chorus_srv_addr from = sc_addr('c', e->from - w->n);
        chorus_replica_client_recv(w->r[node], w->now, &from, w->pool[s], w->pool_len[s]);
      } else {
        chorus_replica_peer_recv(w->r[node], w->now, w->pool[s], w->pool_len[s]);
      }
      sc_drain(w, node);
    } else if (node >= w->n) {
      chorus_srv_addr from = sc_addr('s', e->from);
      chorus_client_recv(w->cl[node - w->n].c, w->now, &from, w->pool[s], w->pool_len[s]);
      sc_client_drain(w, node - w->n);
    }
    w->free_slots[w->free_n++] = s;
    break;
  }
  case EV_TIMER:
    if (node < w->n) {
      if (!w->up[node] || e->boot != w->boot[node] || e->at_us != w->timer_at[node]) break;
      w->timer_at[node] = 0;
      chorus_replica_tick(w->r[node], w->now);
      sc_drain(w, node);
    } else {
      sc_client *c = &w->cl[node - w->n];
      if (e->at_us != c->timer_at) break;
      c->timer_at = 0;
      chorus_client_tick(c->c, w->now);
      sc_client_drain(w, node - w->n);
    }
    break;
  case EV_WORK: sc_work(w, node - w->n); break;
  case EV_CRASH: sc_do_crash(w); break;
  case EV_RESTART:
    chorus_trace_line(&w->tr, w->now, "restart s%zu", node);
    sc_boot(w, node);
    break;
  case EV_PART: sc_do_partition(w); break;
  case EV_UNPART:
    memset(w->side, 0, sizeof w->side);
    w->partitioned = 0;
    chorus_trace_line(&w->tr, w->now, "partition healed");
    break;
  case EV_HEAL:
    w->healed = 1;
    w->heal_at = w->now;
    chorus_trace_line(&w->tr, w->now, "heal");
    sc_push(w, w->now + SC_CHECK_DELAY_US, EV_CHECK, 0, 0, 0, 0);
    for (size_t k = 0; k < SC_WORKERS; k++) sc_schedule_work(w, k, 0);
    break;
  case EV_CHECK: sc_check_step(w); break;
  default: break;
  }
}

static int sc_setup(sc_world *w) {
  const chorus_simcl_config *c = w->cfg;
  chorus_prng_init(&w->net, c->seed * 4 + 1);
  chorus_prng_init(&w->work, c->seed * 4 + 2);
  chorus_prng_init(&w->fault, c->seed * 4 + 3);
  chorus_trace_init(&w->tr, c->trace);
  w->n = c->servers;
  if (chorus_evq_new(SC_EVQ, &w->q) != 0) return CHORUS_ERR_NOMEM;
  w->pool = malloc((size_t)SC_POOL * SC_REC_BYTES);
  if (w->pool == NULL) return CHORUS_ERR_NOMEM;
  for (uint32_t s = 0; s < SC_POOL; s++) w->free_slots[w->free_n++] = SC_POOL - 1 - s;
  chorus_replica_config rc = sc_replica_config(w, 0);
  chorus_server *probe;
  if (chorus_server_new(&rc.server, &probe) != 0) return CHORUS_ERR_CONFIG;
  w->snap_cap = chorus_server_poll_bytes_min(probe);
  chorus_server_free(probe);
  for (size_t i = 0; i < w->n; i++) {
    w->d[i].snap = malloc(w->snap_cap);
    w->d[i].rec = malloc((size_t)SC_LOG_MAX * SC_REC_BYTES);
    if (!w->d[i].snap || !w->d[i].rec) return CHORUS_ERR_NOMEM;
  }
  for (size_t k = 0; k < SC_CLIENTS; k++) {
    chorus_client_config cc;
    chorus_client_config_default(&cc);
    size_t ns = w->n < CHORUS_CLIENT_SERVERS_MAX ? w->n : CHORUS_CLIENT_SERVERS_MAX;
    for (size_t i = 0; i < ns; i++) cc.servers[i] = sc_addr('s', (i + k) % w->n);
    cc.server_count = ns;
    cc.seed = c->seed * 10 + k;
    if (chorus_client_new(&cc, &w->cl[k].c) != 0) return CHORUS_ERR_CONFIG;
    snprintf(w->cl[k].name, sizeof w->cl[k].name, k < SC_WORKERS ? "c%zu" : "rc", k);
  }
  for (size_t i = 0; i < w->n; i++)
    if (sc_boot(w, i) != 0) return CHORUS_ERR_NOMEM;
  for (size_t k = 0; k < SC_WORKERS; k++) sc_schedule_work(w, k, 300000 + 10000 * k);
  sc_push(w, 200000, EV_CHECK, 0, 0, 0, 0); /* "rc" signs up */
  sc_plan(w);
  return 0;
}

static void sc_teardown(sc_world *w) {
  for (size_t i = 0; i < CHORUS_SIMCL_SERVERS_MAX; i++) {
    chorus_replica_free(w->r[i]);
    free(w->d[i].snap);
    free(w->d[i].rec);
  }
  for (size_t k = 0; k < SC_CLIENTS; k++) chorus_client_free(w->cl[k].c);
  chorus_evq_free(w->q);
  free(w->pool);
}

int chorus_simcl_run(const chorus_simcl_config *cfg, chorus_simcl_result *out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  if (cfg->servers < 1 || cfg->servers > CHORUS_SIMCL_SERVERS_MAX ||
      cfg->crashes > CHORUS_SIMCL_CRASHES_MAX || cfg->partitions > CHORUS_SIMCL_CRASHES_MAX ||
      cfg->duration_us == 0 || cfg->delay_min_us > cfg->delay_max_us)
    return CHORUS_ERR_CONFIG;
  sc_world *w = calloc(1, sizeof *w);
  if (w == NULL) return CHORUS_ERR_NOMEM;
  w->cfg = cfg;
  w->res = out;
  int rc = sc_setup(w);
  chorus_evq_event e;
  while (rc == 0 && !w->done && out->verdict == CHORUS_SIMCL_OK && chorus_evq_pop(w->q, &e)) {
    w->now = e.at_us;
    out->events++;
    if (w->healed && w->now > w->heal_at + SC_LIVENESS_US) {
      sc_violate(w, CHORUS_SIMCL_LIVENESS, "the check did not finish 60 s after the heal");
      break;
    }
    sc_event(w, &e);
  }
  if (rc == 0 && !w->done && out->verdict == CHORUS_SIMCL_OK)
    sc_violate(w, CHORUS_SIMCL_LIVENESS, "the run stopped before the check finished");
  for (size_t i = 0; i < w->n; i++) {
    chorus_replica_stats st;
    if (!w->up[i]) continue;
    chorus_replica_stats_get(w->r[i], &st);
    if (st.apply_failed) sc_violate(w, CHORUS_SIMCL_INTERNAL, "a record did not apply");
  }
  out->end_us = w->now;
  out->hash = w->tr.hash;
  sc_teardown(w);
  free(w);
  return rc;
}
