#include "replica.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct rc_out {
  enum chorus_replica_out_kind kind;
  size_t peer;
  chorus_srv_addr to;
  uint64_t index, epoch;
  int leader, serving;
  int snap; /* data is the repl snapshot */
  chorus_server_output event;
  uint16_t len;
  uint8_t bytes[CHORUS_CLW_DATAGRAM_BYTES_MAX];
} rc_out;

typedef struct rc_held {
  uint64_t index; /* released once commit >= index */
  chorus_srv_addr to;
  uint16_t len;
  uint8_t bytes[CHORUS_SRV_DATAGRAM_BYTES_MAX];
} rc_held;

struct chorus_replica {
  chorus_replica_config cfg;
  chorus_server *srv;
  chorus_bully *bully;
  chorus_repl *repl;
  uint64_t applied;     /* records applied to srv */
  int leading;          /* srv is in leading mode */
  uint64_t seed_ctr;    /* rebuilds: each new server gets a fresh seed */
  uint8_t entropy[32];  /* mixed into every new server's generator */
  size_t entropy_len;
  rc_held *held;        /* ring of held_max */
  size_t held_head, held_len;
  uint8_t *buf;         /* server poll buffer (a snapshot fits) */
  size_t buf_cap;
  rc_out *outq;
  size_t out_head, out_len;
  int last_leader, last_serving;
  uint64_t last_epoch;
  const char *why;
  chorus_replica_stats st;
};

void chorus_replica_config_default(chorus_replica_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  chorus_server_config_default(&cfg->server);
  chorus_bully_config_default(&cfg->bully);
  cfg->records_max = CHORUS_REPL_RECORDS_DEFAULT;
  cfg->retry_us = CHORUS_REPL_RETRY_US_DEFAULT;
  cfg->quorum_lease_us = CHORUS_REPL_QUORUM_LEASE_US_DEFAULT;
  cfg->held_max = CHORUS_REPLICA_HELD_DEFAULT;
}

static int rc_new_server(chorus_replica *r) {
  chorus_server_config sc = r->cfg.server;
  sc.replicated = 1;
  /* A rebuilt server must not repeat the tokens and salts of an earlier
   * one (here or on another replica, whose seeds differ in the low bits):
   * the rebuild count goes into the high half. */
  sc.seed = r->cfg.server.seed + (r->seed_ctr++ << 32);
  int rc = chorus_server_new(&sc, &r->srv);
  if (rc == 0 && r->entropy_len) rc = chorus_server_entropy(r->srv, r->entropy, r->entropy_len);
  return rc;
}

int chorus_replica_new(const chorus_replica_config *cfg, uint64_t epoch,
                       chorus_replica **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (cfg->held_max < 1 || cfg->held_max > CHORUS_REPLICA_HELD_LIMIT) return CHORUS_ERR_CONFIG;
  chorus_replica *r = calloc(1, sizeof *r);
  if (r == NULL) return CHORUS_ERR_NOMEM;
  r->cfg = *cfg;
  r->last_leader = -2;
  int rc = rc_new_server(r);
  if (rc == 0) rc = chorus_bully_new(&cfg->bully, epoch, &r->bully);
  if (rc == 0) {
    chorus_repl_config pc;
    chorus_repl_config_default(&pc);
    pc.n = cfg->bully.n;
    pc.self = cfg->bully.self;
    pc.records_max = cfg->records_max;
    pc.retry_us = cfg->retry_us;
    pc.quorum_lease_us = cfg->quorum_lease_us;
    pc.snapshot_bytes_max = chorus_server_poll_bytes_min(r->srv);
    rc = chorus_repl_new(&pc, &r->repl);
    r->buf_cap = pc.snapshot_bytes_max;
  }
  if (rc == 0) {
    r->buf = malloc(r->buf_cap);
    r->held = calloc(cfg->held_max, sizeof *r->held);
    r->outq = calloc(CHORUS_REPLICA_OUTQ_MAX, sizeof *r->outq);
    if (!r->buf || !r->held || !r->outq) rc = CHORUS_ERR_NOMEM;
  }
  if (rc != 0) {
    chorus_replica_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void chorus_replica_free(chorus_replica *r) {
  if (r == NULL) return;
  chorus_server_free(r->srv);
  chorus_bully_free(r->bully);
  chorus_repl_free(r->repl);
  free(r->buf);
  free(r->held);
  free(r->outq);
  free(r);
}

/* ---- output queue ------------------------------------------------------- */

static rc_out *rc_push(chorus_replica *r, enum chorus_replica_out_kind kind) {
  if (r->out_len == CHORUS_REPLICA_OUTQ_MAX) {
    r->st.queue_full++;
    return NULL;
  }
  rc_out *o = &r->outq[(r->out_head + r->out_len) % CHORUS_REPLICA_OUTQ_MAX];
  r->out_len++;
  memset(o, 0, offsetof(rc_out, bytes));
  o->kind = kind;
  return o;
}

static rc_out *rc_push_bytes(chorus_replica *r, enum chorus_replica_out_kind kind,
                             const uint8_t *data, size_t len) {
  rc_out *o = rc_push(r, kind);
  if (o == NULL) return NULL;
  assert(len <= sizeof o->bytes);
  memcpy(o->bytes, data, len);
  o->len = (uint16_t)len;
  return o;
}

static void rc_client_send(chorus_replica *r, const chorus_srv_addr *to, const uint8_t *data,
                           size_t len) {
  rc_out *o = rc_push(r, CHORUS_REPLICA_OUT_CLIENT_SEND);
  if (o == NULL) return;
  o->to = *to;
  memcpy(o->bytes, data, len);
  o->len = (uint16_t)len;
}

/* ---- draining the parts ------------------------------------------------- */

static void rc_drain_repl(chorus_replica *r) {
  chorus_repl_output o;
  while (chorus_repl_poll(r->repl, &o) == 0 && o.kind != CHORUS_REPL_OUT_NONE) {
    rc_out *q;
    switch (o.kind) {
    case CHORUS_REPL_OUT_SEND:
      if ((q = rc_push_bytes(r, CHORUS_REPLICA_OUT_PEER_SEND, o.data, o.len)) != NULL)
        q->peer = o.to;
      break;
    case CHORUS_REPL_OUT_APPEND:
      if ((q = rc_push_bytes(r, CHORUS_REPLICA_OUT_LOG_APPEND, o.data, o.len)) != NULL) {
        q->index = o.index;
        q->epoch = o.epoch;
      }
      break;
    case CHORUS_REPL_OUT_TRUNCATE:
      if ((q = rc_push(r, CHORUS_REPLICA_OUT_LOG_TRUNCATE)) != NULL) q->index = o.index;
      break;
    case CHORUS_REPL_OUT_SNAPSHOT:
      if ((q = rc_push(r, CHORUS_REPLICA_OUT_LOG_SNAPSHOT)) != NULL) {
        q->index = o.index;
        q->epoch = o.epoch;
        q->snap = 1;
      }
      break;
    default: break;
    }
  }
}

static void rc_drop_held(chorus_replica *r) {
  r->st.held_dropped += r->held_len;
  r->held_len = 0;
}

static void rc_bully_leader(chorus_replica *r, uint64_t now_us, int leader, uint64_t epoch) {
  rc_drop_held(r);
  if (leader == (int)r->cfg.bully.self) chorus_repl_lead(r->repl, now_us, epoch);
  else if (leader >= 0) chorus_repl_follow(r->repl, now_us, epoch, (size_t)leader);
  else chorus_repl_idle(r->repl);
  rc_drain_repl(r);
}

static void rc_drain_bully(chorus_replica *r, uint64_t now_us) {
  chorus_bully_output o;
  while (chorus_bully_poll(r->bully, &o) == 0 && o.kind != CHORUS_BULLY_OUT_NONE) {
    rc_out *q;
    uint8_t b[CHORUS_CLW_DATAGRAM_BYTES_MAX];
    int n;
    switch (o.kind) {
    case CHORUS_BULLY_OUT_SEND:
      n = chorus_clw_encode(b, sizeof b, &o.msg);
      if (n > 0 && (q = rc_push(r, CHORUS_REPLICA_OUT_PEER_SEND)) != NULL) {
        q->peer = o.to;
        memcpy(q->bytes, b, (size_t)n);
        q->len = (uint16_t)n;
      }
      break;
    case CHORUS_BULLY_OUT_PERSIST:
      if ((q = rc_push(r, CHORUS_REPLICA_OUT_EPOCH)) != NULL) q->epoch = o.epoch;
      break;
    case CHORUS_BULLY_OUT_LEADER: rc_bully_leader(r, now_us, o.leader, o.epoch); break;
    default: break;
    }
  }
}

/* Server outputs: records into the log, answers held until committed. */
static void rc_drain_server(chorus_replica *r, uint64_t now_us) {
  chorus_server_output o;
  while (chorus_server_poll(r->srv, &o, r->buf, r->buf_cap) == 0 &&
         o.kind != CHORUS_SERVER_OUT_NONE) {
    if (o.kind == CHORUS_SERVER_OUT_RECORD) {
      uint64_t index = 0;
      int rc = chorus_repl_propose(r->repl, now_us, o.data, o.len, &index);
      assert(rc == 0); /* room was checked before the input */
      (void)rc;
      r->applied = index;
      rc_drain_repl(r);
    } else if (o.kind == CHORUS_SERVER_OUT_RESPONSE) {
      if (r->held_len == r->cfg.held_max) continue; /* checked before */
      rc_held *h = &r->held[(r->held_head + r->held_len++) % r->cfg.held_max];
      h->index = chorus_repl_last(r->repl);
      h->to = o.to;
      h->len = (uint16_t)o.len;
      memcpy(h->bytes, o.data, o.len);
    } else if (o.kind == CHORUS_SERVER_OUT_EVENT) {
      rc_out *q = rc_push(r, CHORUS_REPLICA_OUT_EVENT);
      if (q) q->event = o;
    }
  }
}

/* ---- the state machine follows the log ---------------------------------- */

static int rc_leading(const chorus_replica *r) {
  return chorus_repl_role_get(r->repl) == CHORUS_REPL_ACTIVE;
}

/* A fresh server from the snapshot; records are applied again after. */
static void rc_rebuild(chorus_replica *r, uint64_t now_us) {
  uint64_t index;
  const uint8_t *snap;
  size_t len;
  chorus_server_free(r->srv);
  r->srv = NULL;
  int rc = rc_new_server(r);
  assert(rc == 0); /* the same config succeeded at creation */
  (void)rc;
  chorus_repl_snapshot(r->repl, &index, &snap, &len);
  /* A snapshot loaded from disk was checked at restore; one received
   * can only fail to load if the sender is broken or hostile: counted,
   * and this replica goes on from an empty state rather than crash. */
  if (len > 0 && chorus_server_load(r->srv, now_us, snap, len, &r->why) != 0)
    r->st.apply_failed++;
  r->applied = index;
  r->leading = 0;
  r->st.rebuilds++;
}

static void rc_apply_upto(chorus_replica *r, uint64_t now_us, uint64_t target) {
  while (r->applied < target && chorus_server_out_free(r->srv) >= CHORUS_SERVER_OUT_PER_INPUT) {
    const uint8_t *data;
    size_t len;
    uint64_t e;
    if (chorus_repl_record(r->repl, r->applied + 1, &e, &data, &len) != 0) break;
    /* Replicas apply the same records in order, so this cannot fail
     * unless a leader is broken or hostile: counted, never a crash. */
    if (chorus_server_apply(r->srv, now_us, data, len) != 0) r->st.apply_failed++;
    r->applied++;
    r->st.applied++;
    rc_drain_server(r, now_us);
  }
}

static void rc_release_held(chorus_replica *r) {
  uint64_t commit = chorus_repl_commit(r->repl);
  while (r->held_len > 0 && r->held[r->held_head].index <= commit) {
    rc_held *h = &r->held[r->held_head];
    rc_client_send(r, &h->to, h->bytes, h->len);
    r->held_head = (r->held_head + 1) % r->cfg.held_max;
    r->held_len--;
  }
}

static void rc_compact(chorus_replica *r) {
  if (!chorus_repl_wants_compact(r->repl) || r->applied != chorus_repl_commit(r->repl)) return;
  int n = chorus_server_snapshot_encode(r->srv, r->buf, r->buf_cap);
  if (n > 0 && chorus_repl_compact(r->repl, r->applied, r->buf, (size_t)n) == 0) rc_drain_repl(r);
}

static void rc_role_event(chorus_replica *r, uint64_t now_us) {
  int leader = chorus_bully_leader(r->bully), serving = chorus_replica_serving(r, now_us);
  uint64_t epoch = chorus_bully_epoch(r->bully);
  if (leader == r->last_leader && serving == r->last_serving && epoch == r->last_epoch) return;
  r->last_leader = leader;
  r->last_serving = serving;
  r->last_epoch = epoch;
  rc_out *q = rc_push(r, CHORUS_REPLICA_OUT_ROLE);
  if (q == NULL) return;
  q->leader = leader;
  q->serving = serving;
  q->epoch = epoch;
}

/* After every input: roll back what the log lost, apply what it gained,
 * release answers, compact. */
static void rc_progress(chorus_replica *r, uint64_t now_us) {
  int leading = rc_leading(r);
  uint64_t commit = chorus_repl_commit(r->repl);
  uint64_t div = chorus_repl_take_divergence(r->repl), snap_index;
  chorus_repl_snapshot(r->repl, &snap_index, NULL, NULL);
  /* Records we applied were dropped, a snapshot (received) is ahead of
   * the state, or a speculative leader state is beyond the commit. */
  if (div <= r->applied || snap_index > r->applied || (!leading && r->applied > commit))
    rc_rebuild(r, now_us);
  if (leading != r->leading) {
    chorus_server_set_leading(r->srv, now_us, leading);
    r->leading = leading;
  }
  rc_apply_upto(r, now_us, leading ? chorus_repl_last(r->repl) : commit);
  rc_release_held(r);
  rc_compact(r);
  rc_role_event(r, now_us);
}

/* ---- inputs ------------------------------------------------------------- */

int chorus_replica_restore(chorus_replica *r, int is_snapshot, uint64_t index, uint64_t epoch,
                           const uint8_t *data, size_t len, const char **why) {
  const char *scratch;
  if (why == NULL) why = &scratch;
  *why = "ok";
  if (r == NULL) return CHORUS_ERR_INVAL;
  if (!is_snapshot) return chorus_repl_restore_record(r->repl, index, epoch, data, len);
  chorus_server *probe = NULL;
  chorus_server_config sc = r->cfg.server;
  sc.replicated = 1;
  if (chorus_server_new(&sc, &probe) != 0) return CHORUS_ERR_NOMEM;
  int rc = len ? chorus_server_load(probe, 0, data, len, why) : 0;
  chorus_server_free(probe);
  if (rc != 0) return CHORUS_ERR_CORRUPT;
  return chorus_repl_restore_snapshot(r->repl, index, epoch, data, len);
}

void chorus_replica_start(chorus_replica *r, uint64_t now_us) {
  if (r == NULL) return;
  rc_rebuild(r, now_us);
  r->st.rebuilds = 0;
  chorus_bully_start(r->bully, now_us);
  rc_drain_bully(r, now_us);
  rc_progress(r, now_us);
}

/* Answer a request with status (NOT_LEADER, NO_QUORUM, BUSY) right away. */
static void rc_refuse(chorus_replica *r, const chorus_srv_addr *to, const uint8_t *data,
                      size_t len, int status, uint32_t detail) {
  chorus_srv_request q;
  int rc = chorus_srv_request_decode(data, len, &q);
  int answerable = rc == 0 || ((rc == CHORUS_ERR_BAD_FRAME || rc == CHORUS_ERR_TRUNCATED ||
                                rc == CHORUS_ERR_BAD_VERSION) && len >= 8 &&
                               !(data[3] & CHORUS_SRV_OP_RESPONSE));
  memset(q.password, 0, sizeof q.password);
  if (!answerable) return;
  chorus_srv_response p;
  uint8_t b[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  memset(&p, 0, sizeof p);
  p.op = (uint8_t)(data[3] & ~CHORUS_SRV_OP_RESPONSE);
  p.rid = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) | ((uint32_t)data[6] << 8) |
          data[7];
  p.status = (uint8_t)status;
  p.detail = detail;
  int n = chorus_srv_response_encode(b, sizeof b, &p);
  if (n > 0) rc_client_send(r, to, b, (size_t)n);
}

int chorus_replica_client_recv(chorus_replica *r, uint64_t now_us, const chorus_srv_addr *from,
                               const uint8_t *data, size_t len) {
  if (r == NULL || from == NULL || (data == NULL && len > 0)) return CHORUS_ERR_INVAL;
  int leader = chorus_bully_leader(r->bully);
  if (leader != (int)r->cfg.bully.self) {
    r->st.not_leader++;
    rc_refuse(r, from, data, len, CHORUS_SRV_NOT_LEADER, leader < 0 ? 0u : (uint32_t)leader + 1);
  } else if (!chorus_replica_serving(r, now_us)) {
    r->st.no_quorum++;
    rc_refuse(r, from, data, len, CHORUS_SRV_NO_QUORUM, 0);
  } else if (r->applied != chorus_repl_last(r->repl) ||
             chorus_repl_room(r->repl) < CHORUS_SERVER_RECORDS_PER_INPUT ||
             r->held_len == r->cfg.held_max ||
             chorus_server_out_free(r->srv) < CHORUS_SERVER_OUT_PER_INPUT) {
    r->st.busy++;
    rc_refuse(r, from, data, len, CHORUS_SRV_BUSY, (uint32_t)(r->cfg.retry_us / 1000));
  } else {
    (void)chorus_server_recv(r->srv, now_us, from, data, len);
    rc_drain_server(r, now_us);
  }
  rc_progress(r, now_us);
  return 0;
}

int chorus_replica_peer_recv(chorus_replica *r, uint64_t now_us, const uint8_t *data,
                             size_t len) {
  if (r == NULL || (data == NULL && len > 0)) return CHORUS_ERR_INVAL;
  chorus_clw_msg m;
  int rc = chorus_clw_decode(data, len, &m);
  if (rc != 0) {
    r->st.rx_bad++;
    return rc;
  }
  if (m.from >= r->cfg.bully.n || m.from == r->cfg.bully.self ||
      m.epoch >= CHORUS_BULLY_EPOCH_LIMIT) {
    r->st.rx_bad++;
    return CHORUS_ERR_UNKNOWN_SENDER;
  }
  if (m.type <= CHORUS_CLW_HEARTBEAT) {
    chorus_bully_recv(r->bully, now_us, &m);
  } else {
    chorus_bully_observe(r->bully, now_us, m.from, m.epoch);
    rc_drain_bully(r, now_us);
    if (chorus_repl_recv(r->repl, now_us, &m) == 1) chorus_bully_leader_alive(r->bully, now_us);
    rc_drain_repl(r);
  }
  rc_drain_bully(r, now_us);
  rc_progress(r, now_us);
  return 0;
}

void chorus_replica_tick(chorus_replica *r, uint64_t now_us) {
  if (r == NULL) return;
  chorus_bully_tick(r->bully, now_us);
  rc_drain_bully(r, now_us);
  chorus_repl_tick(r->repl, now_us);
  rc_drain_repl(r);
  if (r->leading && chorus_replica_serving(r, now_us) && r->applied == chorus_repl_last(r->repl) &&
      chorus_repl_room(r->repl) >= CHORUS_SERVER_RECORDS_PER_INPUT &&
      chorus_server_out_free(r->srv) >= CHORUS_SERVER_OUT_PER_INPUT &&
      r->held_len < r->cfg.held_max) {
    chorus_server_tick(r->srv, now_us);
    rc_drain_server(r, now_us);
  }
  rc_progress(r, now_us);
}

uint64_t chorus_replica_deadline(const chorus_replica *r) {
  if (r == NULL) return UINT64_MAX;
  uint64_t d = chorus_bully_deadline(r->bully), p = chorus_repl_deadline(r->repl);
  if (p < d) d = p;
  if (r->leading) {
    uint64_t s = chorus_server_deadline(r->srv);
    if (s < d) d = s;
  }
  return d;
}

int chorus_replica_entropy(chorus_replica *r, const uint8_t *bytes, size_t len) {
  if (r == NULL || (bytes == NULL && len > 0)) return CHORUS_ERR_INVAL;
  /* Kept (the last 32 bytes given) for the servers of later rebuilds. */
  r->entropy_len = len < sizeof r->entropy ? len : sizeof r->entropy;
  if (r->entropy_len) memcpy(r->entropy, bytes + len - r->entropy_len, r->entropy_len);
  return chorus_server_entropy(r->srv, bytes, len);
}

int chorus_replica_poll(chorus_replica *r, chorus_replica_output *out) {
  if (r == NULL || out == NULL) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  if (r->out_len == 0) return 0;
  const rc_out *o = &r->outq[r->out_head];
  r->out_head = (r->out_head + 1) % CHORUS_REPLICA_OUTQ_MAX;
  r->out_len--;
  out->kind = o->kind;
  out->peer = o->peer;
  out->to = o->to;
  out->index = o->index;
  out->epoch = o->epoch;
  out->leader = o->leader;
  out->serving = o->serving;
  out->event = o->event;
  if (o->snap) {
    uint64_t index;
    chorus_repl_snapshot(r->repl, &index, &out->data, &out->len);
  } else {
    out->data = o->bytes;
    out->len = o->len;
  }
  return 0;
}

int chorus_replica_serving(const chorus_replica *r, uint64_t now_us) {
  return r != NULL && chorus_repl_serving(r->repl, now_us);
}

int chorus_replica_leader(const chorus_replica *r) {
  return r ? chorus_bully_leader(r->bully) : CHORUS_BULLY_NONE;
}

uint64_t chorus_replica_epoch(const chorus_replica *r) {
  return r ? chorus_bully_epoch(r->bully) : 0;
}

void chorus_replica_stats_get(const chorus_replica *r, chorus_replica_stats *out) {
  if (r == NULL || out == NULL) return;
  *out = r->st;
  out->commit = chorus_repl_commit(r->repl);
  out->last = chorus_repl_last(r->repl);
  out->applied_index = r->applied;
  chorus_repl_stats ps;
  chorus_repl_stats_get(r->repl, &ps);
  out->compactions = ps.compactions;
  out->snaps_installed = ps.snaps_installed;
  out->snaps_sent = ps.snaps_sent;
}

const chorus_server *chorus_replica_server(const chorus_replica *r) { return r ? r->srv : NULL; }
