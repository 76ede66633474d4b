#include "repl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define RP_NOOP_TYPE 0 /* first byte of the epoch-start record */

typedef struct rp_slot {
  uint64_t epoch;
  uint16_t len;
  uint8_t bytes[CHORUS_CLW_RECORD_BYTES_MAX];
} rp_slot;

typedef struct rp_out {
  enum chorus_repl_out_kind kind;
  size_t to;
  uint64_t index, epoch;
  uint16_t len;
  int snap; /* data is the snapshot buffer */
  uint8_t bytes[CHORUS_CLW_DATAGRAM_BYTES_MAX];
} rp_out;

typedef struct rp_peer {
  uint64_t next;  /* first index not known to be held (resend base) */
  uint64_t sent;  /* highest index sent since (pipelining) */
  uint64_t match; /* highest index known to be held */
  uint64_t last_ack_us;
  uint64_t last_send_us;
  int acked;       /* replied at least once in this epoch */
  int state_known; /* RECOVERING: STATE received */
  uint64_t last, last_epoch; /* from STATE */
} rp_peer;

struct chorus_repl {
  chorus_repl_config cfg;
  enum chorus_repl_role role;
  uint64_t epoch;
  size_t leader;
  rp_slot *slot; /* records_max; index i lives at i % records_max */
  uint64_t last, commit;
  uint64_t snap_index, snap_epoch;
  uint8_t *snap;
  size_t snap_len;
  uint8_t *rx;   /* snapshot being received */
  uint64_t rx_index, rx_epoch;
  uint32_t rx_total, rx_next;
  size_t rx_from;
  uint64_t noop_index;
  size_t best;          /* FETCHING: whose log we copy */
  uint64_t best_last;
  uint32_t fetch_tries; /* FETCHING: retries without progress */
  uint64_t next_us;     /* next retry */
  uint64_t divergence;
  rp_peer peer[CHORUS_REPL_NODES_MAX];
  rp_out *outq;
  size_t out_head, out_len;
  chorus_repl_stats st;
};

void chorus_repl_config_default(chorus_repl_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->n = 1;
  cfg->records_max = CHORUS_REPL_RECORDS_DEFAULT;
  cfg->snapshot_bytes_max = 1u << 20;
  cfg->retry_us = CHORUS_REPL_RETRY_US_DEFAULT;
  cfg->quorum_lease_us = CHORUS_REPL_QUORUM_LEASE_US_DEFAULT;
}

static int rp_config_ok(const chorus_repl_config *c) {
  return c->n >= 1 && c->n <= CHORUS_REPL_NODES_MAX && c->self < c->n &&
         c->records_max >= 8 && c->records_max <= CHORUS_REPL_RECORDS_LIMIT &&
         c->snapshot_bytes_max >= 1 && c->snapshot_bytes_max <= UINT32_MAX &&
         c->retry_us > 0 && c->retry_us <= CHORUS_REPL_DURATION_US_MAX &&
         c->quorum_lease_us > 0 && c->quorum_lease_us <= CHORUS_REPL_DURATION_US_MAX;
}

int chorus_repl_new(const chorus_repl_config *cfg, chorus_repl **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (!rp_config_ok(cfg)) return CHORUS_ERR_CONFIG;
  chorus_repl *r = calloc(1, sizeof *r);
  if (r == NULL) return CHORUS_ERR_NOMEM;
  r->cfg = *cfg;
  r->slot = calloc(cfg->records_max, sizeof *r->slot);
  r->snap = malloc(cfg->snapshot_bytes_max);
  r->rx = malloc(cfg->snapshot_bytes_max);
  r->outq = calloc(CHORUS_REPL_OUTQ_MAX, sizeof *r->outq);
  if (!r->slot || !r->snap || !r->rx || !r->outq) {
    chorus_repl_free(r);
    return CHORUS_ERR_NOMEM;
  }
  r->divergence = UINT64_MAX;
  r->next_us = UINT64_MAX;
  *out = r;
  return 0;
}

void chorus_repl_free(chorus_repl *r) {
  if (r == NULL) return;
  free(r->slot);
  free(r->snap);
  free(r->rx);
  free(r->outq);
  free(r);
}

/* ---- the log ------------------------------------------------------------ */

static rp_slot *rp_at(const chorus_repl *r, uint64_t index) {
  assert(index > r->snap_index && index <= r->last);
  return &r->slot[index % r->cfg.records_max];
}

/* Epoch of the record at index (the snapshot's for snap_index, 0 for 0). */
static uint64_t rp_epoch_at(const chorus_repl *r, uint64_t index) {
  if (index == r->snap_index) return r->snap_epoch;
  if (index < r->snap_index || index > r->last) return UINT64_MAX;
  return rp_at(r, index)->epoch;
}

static size_t rp_majority(const chorus_repl *r) { return r->cfg.n / 2 + 1; }

/* ---- outputs ------------------------------------------------------------ */

static size_t rp_out_free(const chorus_repl *r) { return CHORUS_REPL_OUTQ_MAX - r->out_len; }

static rp_out *rp_push(chorus_repl *r, enum chorus_repl_out_kind kind) {
  assert(r->out_len < CHORUS_REPL_OUTQ_MAX);
  rp_out *o = &r->outq[(r->out_head + r->out_len) % CHORUS_REPL_OUTQ_MAX];
  r->out_len++;
  memset(o, 0, offsetof(rp_out, bytes));
  o->kind = kind;
  return o;
}

/* Queue message m for replica `to`; skipped (and counted) when the queue
 * is short, since every message is retried on the next tick. Disk outputs
 * keep a reserve of 8 slots. */
static void rp_send(chorus_repl *r, size_t to, chorus_clw_msg *m) {
  if (rp_out_free(r) <= 8) {
    r->st.queue_full++;
    return;
  }
  m->from = (uint8_t)r->cfg.self;
  m->epoch = r->epoch;
  rp_out *o = rp_push(r, CHORUS_REPL_OUT_SEND);
  o->to = to;
  int n = chorus_clw_encode(o->bytes, sizeof o->bytes, m);
  assert(n > 0);
  o->len = (uint16_t)(n > 0 ? n : 0);
  r->st.sent++;
}

static void rp_send_type(chorus_repl *r, size_t to, uint8_t type) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  rp_send(r, to, &m);
}

static void rp_disk_append(chorus_repl *r, uint64_t index) {
  const rp_slot *s = rp_at(r, index);
  rp_out *o = rp_push(r, CHORUS_REPL_OUT_APPEND);
  o->index = index;
  o->epoch = s->epoch;
  o->len = s->len;
  memcpy(o->bytes, s->bytes, s->len);
}

/* Append one record at last+1 (memory and disk). 0 or WINDOW_FULL. */
static int rp_append(chorus_repl *r, uint64_t epoch, const uint8_t *data, size_t len) {
  if (r->last - r->snap_index >= r->cfg.records_max || rp_out_free(r) == 0) {
    r->st.log_full++;
    return CHORUS_ERR_WINDOW_FULL;
  }
  r->last++;
  rp_slot *s = rp_at(r, r->last);
  s->epoch = epoch;
  s->len = (uint16_t)len;
  if (len) memcpy(s->bytes, data, len);
  rp_disk_append(r, r->last);
  r->st.appended++;
  return 0;
}

/* Drop records after `index` (>= commit by the protocol). */
static void rp_truncate(chorus_repl *r, uint64_t index) {
  if (index >= r->last) return;
  assert(index >= r->snap_index);
  if (index + 1 < r->divergence) r->divergence = index + 1;
  r->st.truncated += r->last - index;
  r->last = index;
  if (r->commit > index) r->commit = index;
  rp_out *o = rp_push(r, CHORUS_REPL_OUT_TRUNCATE);
  o->index = index;
}

/* ---- restore ------------------------------------------------------------ */

int chorus_repl_restore_snapshot(chorus_repl *r, uint64_t index, uint64_t epoch,
                                 const uint8_t *snap, size_t len) {
  if (r == NULL || (snap == NULL && len > 0) || r->last != 0) return CHORUS_ERR_INVAL;
  if (len > r->cfg.snapshot_bytes_max) return CHORUS_ERR_TOO_BIG;
  if (len) memcpy(r->snap, snap, len);
  r->snap_len = len;
  r->snap_index = r->last = r->commit = index;
  r->snap_epoch = epoch;
  return 0;
}

int chorus_repl_restore_record(chorus_repl *r, uint64_t index, uint64_t epoch,
                               const uint8_t *data, size_t len) {
  if (r == NULL || (data == NULL && len > 0) || index != r->last + 1) return CHORUS_ERR_INVAL;
  if (len > CHORUS_CLW_RECORD_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  if (r->last - r->snap_index >= r->cfg.records_max) return CHORUS_ERR_WINDOW_FULL;
  r->last++;
  rp_slot *s = rp_at(r, r->last);
  s->epoch = epoch;
  s->len = (uint16_t)len;
  if (len) memcpy(s->bytes, data, len);
  return 0;
}

/* ---- roles -------------------------------------------------------------- */

static void rp_send_state(chorus_repl *r) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_STATE;
  m.index = r->last;
  m.index_epoch = rp_epoch_at(r, r->last);
  m.commit = r->commit;
  rp_send(r, r->leader, &m);
}

static void rp_reset_peers(chorus_repl *r) {
  memset(r->peer, 0, sizeof r->peer);
  r->rx_index = 0;
}

static void rp_recovery_check(chorus_repl *r, uint64_t now_us);

void chorus_repl_lead(chorus_repl *r, uint64_t now_us, uint64_t epoch) {
  if (r == NULL) return;
  r->epoch = epoch;
  r->leader = r->cfg.self;
  r->role = CHORUS_REPL_RECOVERING;
  rp_reset_peers(r);
  rp_peer *me = &r->peer[r->cfg.self];
  me->state_known = 1;
  me->last = r->last;
  me->last_epoch = rp_epoch_at(r, r->last);
  for (size_t i = 0; i < r->cfg.n; i++)
    if (i != r->cfg.self) rp_send_type(r, i, CHORUS_CLW_STATE_REQ);
  r->next_us = now_us + r->cfg.retry_us;
  rp_recovery_check(r, now_us);
}

void chorus_repl_follow(chorus_repl *r, uint64_t now_us, uint64_t epoch, size_t leader) {
  if (r == NULL || leader >= r->cfg.n) return;
  r->epoch = epoch;
  r->leader = leader;
  r->role = CHORUS_REPL_FOLLOWER;
  rp_reset_peers(r);
  rp_send_state(r);
  r->next_us = now_us + r->cfg.retry_us;
}

void chorus_repl_idle(chorus_repl *r) {
  if (r == NULL) return;
  r->role = CHORUS_REPL_IDLE;
  rp_reset_peers(r);
  r->next_us = UINT64_MAX;
}

/* ---- leader: recovery --------------------------------------------------- */

static void rp_advance_commit(chorus_repl *r);

/* RECOVERING and FETCHING are done: append the NOOP of our epoch. */
static void rp_activate(chorus_repl *r, uint64_t now_us) {
  static const uint8_t noop[1] = {RP_NOOP_TYPE};
  r->role = CHORUS_REPL_ACTIVE;
  if (rp_append(r, r->epoch, noop, sizeof noop) != 0) {
    /* The log is full of uncommitted records; compaction cannot help.
     * Stay without serving: the next election retries. */
    r->role = CHORUS_REPL_IDLE;
    return;
  }
  r->noop_index = r->last;
  for (size_t i = 0; i < r->cfg.n; i++) {
    r->peer[i].next = r->noop_index;
    r->peer[i].sent = r->noop_index - 1;
    r->peer[i].match = i == r->cfg.self ? r->last : 0;
  }
  r->next_us = now_us; /* send at once */
  rp_advance_commit(r); /* alone, the NOOP is committed at once */
}

static void rp_fetch(chorus_repl *r) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_FETCH;
  m.index = r->last + 1;
  rp_send(r, r->best, &m);
}

static void rp_recovery_check(chorus_repl *r, uint64_t now_us) {
  if (r->role != CHORUS_REPL_RECOVERING) return;
  size_t known = 0, best = r->cfg.self;
  for (size_t i = 0; i < r->cfg.n; i++) {
    const rp_peer *p = &r->peer[i];
    if (!p->state_known) continue;
    known++;
    const rp_peer *b = &r->peer[best];
    if (p->last_epoch > b->last_epoch || (p->last_epoch == b->last_epoch && p->last > b->last))
      best = i;
  }
  if (known < rp_majority(r)) return;
  if (best == r->cfg.self) {
    rp_activate(r, now_us);
    return;
  }
  /* Adopt best's log: everything after our commit may differ from it. */
  rp_truncate(r, r->commit);
  r->best = best;
  r->best_last = r->peer[best].last;
  r->role = CHORUS_REPL_FETCHING;
  r->fetch_tries = 0;
  rp_fetch(r);
}

static void rp_on_state(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m) {
  rp_peer *p = &r->peer[m->from];
  p->last_ack_us = now_us;
  p->acked = 1;
  if (r->role != CHORUS_REPL_RECOVERING || p->state_known) return;
  p->state_known = 1;
  p->last = m->index;
  p->last_epoch = m->index_epoch;
  rp_recovery_check(r, now_us);
}

/* Append records of an APPEND/FETCHED after prev; conflicting suffixes go.
 * Returns the last index now matching the sender's log. */
static uint64_t rp_take_records(chorus_repl *r, const chorus_clw_msg *m) {
  uint64_t idx = m->index;
  for (size_t k = 0; k < m->n; k++) {
    const chorus_clw_record *rec = &m->rec[k];
    uint64_t i = idx + 1;
    if (i <= r->snap_index) { idx = i; continue; }
    if (i <= r->last) {
      if (rp_at(r, i)->epoch == rec->epoch) { idx = i; continue; }
      rp_truncate(r, i - 1);
    }
    if (rec->len > CHORUS_CLW_RECORD_BYTES_MAX || rp_append(r, rec->epoch, rec->data, rec->len))
      break;
    idx = i;
  }
  return idx;
}

static void rp_on_fetched(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m) {
  if (r->role != CHORUS_REPL_FETCHING || m->from != r->best) return;
  if (m->index != r->last || rp_epoch_at(r, m->index) != m->index_epoch) return;
  rp_take_records(r, m);
  r->fetch_tries = 0;
  if (r->last >= r->best_last) rp_activate(r, now_us);
  else rp_fetch(r);
}

/* ---- leader: replication ------------------------------------------------ */

static void rp_send_snap_chunk(chorus_repl *r, size_t to, uint32_t offset) {
  if (r->snap_len == 0 || offset > r->snap_len) return;
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_SNAP;
  m.index = r->snap_index;
  m.index_epoch = r->snap_epoch;
  m.total = (uint32_t)r->snap_len;
  m.offset = offset;
  size_t left = r->snap_len - offset;
  m.chunk_len = (uint16_t)(left < CHORUS_CLW_SNAP_CHUNK_BYTES_MAX ? left
                                                                   : CHORUS_CLW_SNAP_CHUNK_BYTES_MAX);
  m.chunk = r->snap + offset;
  rp_send(r, to, &m);
  r->st.snaps_sent++;
}

/* APPEND (or FETCHED) of the records from `from` on, as many as fit. */
static void rp_send_records(chorus_repl *r, size_t to, uint8_t type, uint64_t from,
                            uint64_t commit) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.index = from - 1;
  m.index_epoch = rp_epoch_at(r, from - 1);
  m.commit = commit;
  size_t bytes = 0;
  for (uint64_t i = from; i <= r->last && m.n < CHORUS_REPL_SEND_BATCH; i++) {
    const rp_slot *s = rp_at(r, i);
    if (chorus_clw_append_bytes(m.n + 1u, bytes + s->len) > CHORUS_CLW_DATAGRAM_BYTES_MAX) break;
    m.rec[m.n].epoch = s->epoch;
    m.rec[m.n].len = s->len;
    m.rec[m.n].data = s->bytes;
    m.n++;
    bytes += s->len;
  }
  rp_send(r, to, &m);
}

/* Send replica `to` the records from `from` on (an empty APPEND when
 * from = last + 1), or the snapshot when they are compacted away. */
static void rp_replicate_to(chorus_repl *r, uint64_t now_us, size_t to, uint64_t from) {
  rp_peer *p = &r->peer[to];
  if (from <= r->snap_index) {
    rp_send_snap_chunk(r, to, 0);
  } else {
    rp_send_records(r, to, CHORUS_CLW_APPEND, from, r->commit);
    uint64_t upto = from + CHORUS_REPL_SEND_BATCH - 1;
    upto = upto < r->last ? upto : r->last;
    if (upto > p->sent) p->sent = upto;
  }
  p->last_send_us = now_us;
}

/* Highest index a majority holds, if it is of our epoch: commit it. */
static void rp_advance_commit(chorus_repl *r) {
  for (uint64_t i = r->last; i > r->commit; i--) {
    if (rp_at(r, i)->epoch != r->epoch) return;
    size_t have = 0;
    for (size_t k = 0; k < r->cfg.n; k++)
      if (k == r->cfg.self || r->peer[k].match >= i) have++;
    if (have >= rp_majority(r)) {
      r->st.committed += i - r->commit;
      r->commit = i;
      return;
    }
  }
}

static void rp_on_append_ack(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m) {
  rp_peer *p = &r->peer[m->from];
  p->last_ack_us = now_us;
  p->acked = 1;
  if (r->role != CHORUS_REPL_ACTIVE) return;
  if (m->ok) {
    if (m->index > r->last) return; /* cannot be: a forged ack */
    if (m->index > p->match) p->match = m->index;
    if (p->next <= p->match) p->next = p->match + 1;
    if (p->sent < p->match) p->sent = p->match;
    rp_advance_commit(r);
    if (p->sent < r->last) rp_replicate_to(r, now_us, m->from, p->sent + 1);
    return;
  }
  /* Mismatch: go back to the hint (its commit), but not below match. */
  uint64_t back = m->index + 1;
  if (back <= p->match) back = p->match + 1;
  if (back > r->last + 1) back = r->last + 1;
  p->next = back;
  p->sent = back - 1;
  rp_replicate_to(r, now_us, m->from, back);
}

static void rp_on_snap_ack(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m) {
  rp_peer *p = &r->peer[m->from];
  p->last_ack_us = now_us;
  if (m->index != r->snap_index) {
    if (r->role == CHORUS_REPL_ACTIVE && p->next <= r->snap_index)
      rp_send_snap_chunk(r, m->from, 0);
    return;
  }
  if (m->offset < r->snap_len) {
    rp_send_snap_chunk(r, m->from, m->offset);
    return;
  }
  if (r->role == CHORUS_REPL_ACTIVE && p->match < m->index) {
    p->match = p->sent = m->index;
    p->next = m->index + 1;
    rp_replicate_to(r, now_us, m->from, p->next);
  }
}

/* ---- follower ----------------------------------------------------------- */

static void rp_ack(chorus_repl *r, int ok, uint64_t index) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_APPEND_ACK;
  m.ok = (uint8_t)ok;
  m.index = index;
  rp_send(r, r->leader, &m);
}

static void rp_on_append(chorus_repl *r, const chorus_clw_msg *m) {
  if (m->index > r->last) {
    rp_ack(r, 0, r->commit);
    return;
  }
  if (m->index >= r->snap_index && rp_epoch_at(r, m->index) != m->index_epoch) {
    rp_ack(r, 0, r->commit);
    return;
  }
  uint64_t matched = rp_take_records(r, m);
  uint64_t c = m->commit < matched ? m->commit : matched;
  if (c > r->commit) r->commit = c;
  rp_ack(r, 1, matched);
}

/* Serve a FETCH from the new leader: our records from m->index on. */
static void rp_on_fetch(chorus_repl *r, const chorus_clw_msg *m) {
  if (m->index == 0 || m->index - 1 < r->snap_index) {
    rp_send_snap_chunk(r, m->from, 0);
    return;
  }
  if (m->index > r->last + 1) return;
  rp_send_records(r, m->from, CHORUS_CLW_FETCHED, m->index, r->last);
}

static void rp_snap_ack(chorus_repl *r, size_t to, uint64_t index, uint32_t next) {
  chorus_clw_msg m;
  memset(&m, 0, sizeof m);
  m.type = CHORUS_CLW_SNAP_ACK;
  m.index = index;
  m.offset = next;
  rp_send(r, to, &m);
}

/* The received snapshot is complete: it replaces our state up to index. */
static void rp_install(chorus_repl *r) {
  uint64_t index = r->rx_index;
  int keep = index <= r->last && index > r->snap_index && rp_at(r, index)->epoch == r->rx_epoch;
  /* Records after a conflicting index are not the leader's: drop them
   * first (on disk too), so the log restarts right after the snapshot. */
  if (!keep && r->last > index) rp_truncate(r, index);
  memcpy(r->snap, r->rx, r->rx_total);
  r->snap_len = r->rx_total;
  r->snap_index = index;
  r->snap_epoch = r->rx_epoch;
  if (!keep) r->last = index; /* our records after it are not the leader's */
  r->divergence = 1;           /* the state machine reloads the snapshot */
  if (r->commit < index) r->commit = index;
  rp_out *o = rp_push(r, CHORUS_REPL_OUT_SNAPSHOT);
  o->index = index;
  o->epoch = r->rx_epoch;
  o->snap = 1;
  r->st.snaps_installed++;
  r->rx_index = 0;
}

static void rp_on_snap(chorus_repl *r, const chorus_clw_msg *m) {
  if (m->index <= r->snap_index || m->index < r->commit || m->total > r->cfg.snapshot_bytes_max ||
      rp_out_free(r) <= 9)
    return;
  if (m->index != r->rx_index || m->total != r->rx_total || m->from != r->rx_from) {
    r->rx_index = m->index;
    r->rx_epoch = m->index_epoch;
    r->rx_total = m->total;
    r->rx_next = 0;
    r->rx_from = m->from;
  }
  if (m->offset == r->rx_next && m->chunk_len) {
    memcpy(r->rx + r->rx_next, m->chunk, m->chunk_len);
    r->rx_next += m->chunk_len;
  }
  uint64_t index = r->rx_index;
  uint32_t next = r->rx_next;
  if (r->rx_next == r->rx_total) rp_install(r);
  rp_snap_ack(r, m->from, index, next);
}

/* ---- dispatch ----------------------------------------------------------- */

/* From our leader in our epoch, to a follower (or to the fetching leader
 * from the replica it copies). */
static int rp_from_leader(const chorus_repl *r, const chorus_clw_msg *m) {
  return r->role == CHORUS_REPL_FOLLOWER && m->epoch == r->epoch && m->from == r->leader;
}

static int rp_to_leader(const chorus_repl *r, const chorus_clw_msg *m) {
  return (r->role == CHORUS_REPL_RECOVERING || r->role == CHORUS_REPL_FETCHING ||
          r->role == CHORUS_REPL_ACTIVE) &&
         m->epoch == r->epoch;
}

int chorus_repl_recv(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m) {
  if (r == NULL || m == NULL) return CHORUS_ERR_INVAL;
  if (m->from >= r->cfg.n || m->from == r->cfg.self) return CHORUS_ERR_UNKNOWN_SENDER;
  if (m->type < CHORUS_CLW_STATE || m->type > CHORUS_CLW_SNAP_ACK) return CHORUS_ERR_BAD_FRAME;
  if (rp_out_free(r) < CHORUS_REPL_SEND_BATCH + 12) { /* the sender retries */
    r->st.queue_full++;
    return 0;
  }
  int leader = rp_from_leader(r, m), to_leader = rp_to_leader(r, m);
  switch (m->type) {
  case CHORUS_CLW_STATE_REQ: if (leader) rp_send_state(r); break;
  case CHORUS_CLW_APPEND: if (leader) rp_on_append(r, m); break;
  case CHORUS_CLW_FETCH: if (leader) rp_on_fetch(r, m); break;
  case CHORUS_CLW_SNAP:
    if (leader || (r->role == CHORUS_REPL_FETCHING && m->from == r->best)) rp_on_snap(r, m);
    break;
  case CHORUS_CLW_STATE: if (to_leader) rp_on_state(r, now_us, m); break;
  case CHORUS_CLW_APPEND_ACK: if (to_leader) rp_on_append_ack(r, now_us, m); break;
  case CHORUS_CLW_FETCHED: if (to_leader) rp_on_fetched(r, now_us, m); break;
  case CHORUS_CLW_SNAP_ACK:
    if (to_leader || leader) rp_on_snap_ack(r, now_us, m);
    break;
  default: break;
  }
  if (!leader && !to_leader) r->st.rejected++;
  /* A fetching leader that installed best's snapshot goes on fetching. */
  if (r->role == CHORUS_REPL_FETCHING && r->last >= r->best_last) rp_activate(r, now_us);
  return leader;
}

/* ---- timers ------------------------------------------------------------- */

static void rp_tick_leader(chorus_repl *r, uint64_t now_us) {
  for (size_t i = 0; i < r->cfg.n; i++) {
    if (i == r->cfg.self) continue;
    rp_peer *p = &r->peer[i];
    /* Resend from the resend base; when nothing is missing, an empty
     * APPEND carries the commit index and asks for an ack (quorum
     * contact). */
    if (p->sent >= p->next) r->st.resent++;
    p->sent = p->next - 1;
    rp_replicate_to(r, now_us, i, p->next);
  }
}

/* A fetch that makes no progress (best crashed): collect STATEs again. */
static void rp_tick_fetch(chorus_repl *r) {
  if (++r->fetch_tries > 10) {
    r->role = CHORUS_REPL_RECOVERING;
    for (size_t i = 0; i < r->cfg.n; i++) r->peer[i].state_known = i == r->cfg.self;
    r->peer[r->cfg.self].last = r->last;
    r->peer[r->cfg.self].last_epoch = rp_epoch_at(r, r->last);
    r->rx_index = 0;
    return;
  }
  if (r->rx_index) rp_snap_ack(r, r->best, r->rx_index, r->rx_next);
  else rp_fetch(r);
}

void chorus_repl_tick(chorus_repl *r, uint64_t now_us) {
  if (r == NULL || now_us < r->next_us) return;
  r->next_us = now_us + r->cfg.retry_us;
  switch (r->role) {
  case CHORUS_REPL_RECOVERING:
    for (size_t i = 0; i < r->cfg.n; i++)
      if (i != r->cfg.self && !r->peer[i].state_known) rp_send_type(r, i, CHORUS_CLW_STATE_REQ);
    break;
  case CHORUS_REPL_FETCHING: rp_tick_fetch(r); break;
  case CHORUS_REPL_ACTIVE: rp_tick_leader(r, now_us); break;
  case CHORUS_REPL_FOLLOWER:
    if (r->rx_index) rp_snap_ack(r, r->rx_from, r->rx_index, r->rx_next);
    break;
  default: break;
  }
}

uint64_t chorus_repl_deadline(const chorus_repl *r) { return r ? r->next_us : UINT64_MAX; }

/* ---- proposals and compaction ------------------------------------------- */

int chorus_repl_propose(chorus_repl *r, uint64_t now_us, const uint8_t *data, size_t len,
                        uint64_t *index) {
  if (r == NULL || (data == NULL && len > 0) || r->role != CHORUS_REPL_ACTIVE)
    return CHORUS_ERR_INVAL;
  if (len > CHORUS_CLW_RECORD_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  int rc = rp_append(r, r->epoch, data, len);
  if (rc != 0) return rc;
  if (index) *index = r->last;
  if (r->cfg.n == 1) rp_advance_commit(r);
  for (size_t i = 0; i < r->cfg.n; i++)
    if (i != r->cfg.self && r->peer[i].sent + 1 == r->last) rp_replicate_to(r, now_us, i, r->last);
  return 0;
}

size_t chorus_repl_room(const chorus_repl *r) {
  if (r == NULL || r->role != CHORUS_REPL_ACTIVE) return 0;
  size_t used = (size_t)(r->last - r->snap_index);
  size_t out = rp_out_free(r) > 12 ? rp_out_free(r) - 12 : 0;
  size_t mem = r->cfg.records_max - used;
  return mem < out ? mem : out;
}

int chorus_repl_wants_compact(const chorus_repl *r) {
  return r != NULL && r->last - r->snap_index >= r->cfg.records_max * 3 / 4 &&
         r->commit > r->snap_index;
}

int chorus_repl_compact(chorus_repl *r, uint64_t index, const uint8_t *snap, size_t len) {
  if (r == NULL || snap == NULL || index <= r->snap_index || index > r->commit ||
      rp_out_free(r) == 0)
    return CHORUS_ERR_INVAL;
  if (len > r->cfg.snapshot_bytes_max) return CHORUS_ERR_TOO_BIG;
  uint64_t e = rp_at(r, index)->epoch;
  memcpy(r->snap, snap, len);
  r->snap_len = len;
  r->snap_index = index;
  r->snap_epoch = e;
  rp_out *o = rp_push(r, CHORUS_REPL_OUT_SNAPSHOT);
  o->index = index;
  o->epoch = e;
  o->snap = 1;
  r->st.compactions++;
  return 0;
}

/* ---- accessors ---------------------------------------------------------- */

int chorus_repl_poll(chorus_repl *r, chorus_repl_output *out) {
  if (r == NULL || out == NULL) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  if (r->out_len == 0) return 0;
  const rp_out *o = &r->outq[r->out_head];
  r->out_head = (r->out_head + 1) % CHORUS_REPL_OUTQ_MAX;
  r->out_len--;
  out->kind = o->kind;
  out->to = o->to;
  out->index = o->index;
  out->epoch = o->epoch;
  out->data = o->snap ? r->snap : o->bytes;
  out->len = o->snap ? r->snap_len : o->len;
  return 0;
}

int chorus_repl_record(const chorus_repl *r, uint64_t index, uint64_t *epoch,
                       const uint8_t **data, size_t *len) {
  if (r == NULL || index <= r->snap_index || index > r->last) return CHORUS_ERR_INVAL;
  const rp_slot *s = rp_at(r, index);
  if (epoch) *epoch = s->epoch;
  if (data) *data = s->bytes;
  if (len) *len = s->len;
  return 0;
}

void chorus_repl_snapshot(const chorus_repl *r, uint64_t *index, const uint8_t **data,
                          size_t *len) {
  if (index) *index = r->snap_index;
  if (data) *data = r->snap;
  if (len) *len = r->snap_len;
}

uint64_t chorus_repl_take_divergence(chorus_repl *r) {
  uint64_t d = r->divergence;
  r->divergence = UINT64_MAX;
  return d;
}

uint64_t chorus_repl_last(const chorus_repl *r) { return r->last; }
uint64_t chorus_repl_commit(const chorus_repl *r) { return r->commit; }
uint64_t chorus_repl_epoch(const chorus_repl *r) { return r->epoch; }
enum chorus_repl_role chorus_repl_role_get(const chorus_repl *r) { return r->role; }

int chorus_repl_has_quorum(const chorus_repl *r, uint64_t now_us) {
  if (r == NULL || r->role != CHORUS_REPL_ACTIVE) return 0;
  size_t live = 1;
  for (size_t i = 0; i < r->cfg.n; i++)
    if (i != r->cfg.self && r->peer[i].acked &&
        now_us - r->peer[i].last_ack_us < r->cfg.quorum_lease_us)
      live++;
  return live >= rp_majority(r);
}

int chorus_repl_serving(const chorus_repl *r, uint64_t now_us) {
  return chorus_repl_has_quorum(r, now_us) && r->commit >= r->noop_index;
}

void chorus_repl_stats_get(const chorus_repl *r, chorus_repl_stats *out) {
  if (r && out) *out = r->st;
}
