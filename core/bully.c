#include "bully.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct chorus_bully {
  chorus_bully_config cfg;
  uint64_t epoch;     /* promised (persisted) epoch */
  uint64_t seen;      /* highest epoch seen anywhere, >= epoch */
  int leader;         /* leader of `epoch` we follow, or NONE */
  enum chorus_bully_role role;
  int started;
  uint64_t deadline_us;
  uint64_t last_heard_us;   /* last sign of life of the leader */
  uint32_t answers;         /* ELECTING/NOMINATED: bit per answerer */
  uint32_t tried;           /* nominees that did not coordinate */
  uint64_t view_epoch;      /* BOOT: best VIEW so far */
  int view_leader;
  chorus_bully_output outq[CHORUS_BULLY_OUTQ_MAX];
  size_t out_head, out_len;
  chorus_bully_stats st;
};

void chorus_bully_config_default(chorus_bully_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->n = 1;
  cfg->heartbeat_us = CHORUS_BULLY_HEARTBEAT_US_DEFAULT;
  cfg->leader_timeout_us = CHORUS_BULLY_LEADER_TIMEOUT_US_DEFAULT;
  cfg->answer_wait_us = CHORUS_BULLY_ANSWER_WAIT_US_DEFAULT;
  cfg->coord_wait_us = CHORUS_BULLY_COORD_WAIT_US_DEFAULT;
}

static int bl_timer_ok(uint64_t us) { return us > 0 && us <= CHORUS_BULLY_DURATION_US_MAX; }

static int bl_config_ok(const chorus_bully_config *c) {
  if (c->n < 1 || c->n > CHORUS_BULLY_NODES_MAX || c->self >= c->n) return 0;
  for (size_t i = 0; i < c->n; i++)
    for (size_t j = i + 1; j < c->n; j++)
      if (c->priority[i] == c->priority[j]) return 0;
  return bl_timer_ok(c->heartbeat_us) && bl_timer_ok(c->leader_timeout_us) &&
         bl_timer_ok(c->answer_wait_us) && bl_timer_ok(c->coord_wait_us) &&
         c->leader_timeout_us > c->heartbeat_us;
}

int chorus_bully_new(const chorus_bully_config *cfg, uint64_t epoch, chorus_bully **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (!bl_config_ok(cfg)) return CHORUS_ERR_CONFIG;
  chorus_bully *b = calloc(1, sizeof *b);
  if (b == NULL) return CHORUS_ERR_NOMEM;
  b->cfg = *cfg;
  b->epoch = b->seen = epoch;
  b->leader = CHORUS_BULLY_NONE;
  b->view_leader = CHORUS_BULLY_NONE;
  b->deadline_us = UINT64_MAX;
  *out = b;
  return 0;
}

void chorus_bully_free(chorus_bully *b) { free(b); }

/* ---- outputs ------------------------------------------------------------ */

static chorus_bully_output *bl_push(chorus_bully *b, enum chorus_bully_out_kind kind) {
  if (b->out_len == CHORUS_BULLY_OUTQ_MAX) {
    b->st.queue_full++;
    return NULL;
  }
  chorus_bully_output *o = &b->outq[(b->out_head + b->out_len) % CHORUS_BULLY_OUTQ_MAX];
  b->out_len++;
  memset(o, 0, sizeof *o);
  o->kind = kind;
  return o;
}

static void bl_send(chorus_bully *b, size_t to, uint8_t type) {
  chorus_bully_output *o = bl_push(b, CHORUS_BULLY_OUT_SEND);
  if (o == NULL) return;
  o->to = to;
  o->msg.type = type;
  o->msg.from = (uint8_t)b->cfg.self;
  o->msg.epoch = b->epoch;
  o->msg.leader = b->leader == CHORUS_BULLY_NONE ? CHORUS_CLW_NO_LEADER : (uint8_t)b->leader;
}

static void bl_broadcast(chorus_bully *b, uint8_t type) {
  for (size_t i = 0; i < b->cfg.n; i++)
    if (i != b->cfg.self) bl_send(b, i, type);
}

static void bl_announce(chorus_bully *b) {
  chorus_bully_output *o = bl_push(b, CHORUS_BULLY_OUT_LEADER);
  if (o == NULL) return;
  o->epoch = b->epoch;
  o->leader = b->leader;
}

/* Raise the promise to e, durably before anything that reveals it. */
static void bl_promise(chorus_bully *b, uint64_t e) {
  assert(e > b->epoch);
  b->epoch = e;
  if (e > b->seen) b->seen = e;
  chorus_bully_output *o = bl_push(b, CHORUS_BULLY_OUT_PERSIST);
  if (o) o->epoch = e;
}

static int bl_higher(const chorus_bully *b, size_t i) {
  return b->cfg.priority[i] > b->cfg.priority[b->cfg.self];
}

/* ---- transitions -------------------------------------------------------- */

static void bl_become_leader(chorus_bully *b, uint64_t now_us) {
  uint64_t highest = b->seen > b->epoch ? b->seen : b->epoch;
  bl_promise(b, CHORUS_BULLY_EPOCH_NEXT(highest, b->cfg.self));
  b->leader = (int)b->cfg.self;
  b->role = CHORUS_BULLY_LEADER;
  b->st.leaderships++;
  bl_broadcast(b, CHORUS_CLW_COORDINATOR);
  bl_announce(b);
  b->deadline_us = now_us + b->cfg.heartbeat_us;
}

static void bl_follow(chorus_bully *b, uint64_t now_us, uint64_t e, int leader) {
  int changed = b->leader != leader || b->role == CHORUS_BULLY_LEADER || e > b->epoch;
  if (e > b->epoch) bl_promise(b, e);
  b->leader = leader;
  b->role = CHORUS_BULLY_FOLLOWER;
  b->last_heard_us = now_us;
  b->deadline_us = now_us + b->cfg.leader_timeout_us;
  if (changed) bl_announce(b);
}

static void bl_elect(chorus_bully *b, uint64_t now_us) {
  b->st.elections++;
  if (b->leader != CHORUS_BULLY_NONE) {
    b->leader = CHORUS_BULLY_NONE;
    bl_announce(b);
  }
  b->answers = b->tried = 0;
  int any = 0;
  for (size_t i = 0; i < b->cfg.n; i++)
    if (i != b->cfg.self && bl_higher(b, i)) {
      bl_send(b, i, CHORUS_CLW_ELECTION);
      any = 1;
    }
  if (!any) {
    bl_become_leader(b, now_us);
    return;
  }
  b->role = CHORUS_BULLY_ELECTING;
  b->deadline_us = now_us + b->cfg.answer_wait_us;
}

/* A legitimate epoch e above ours: follow its leader, or take over when we
 * outrank it (Bully: the highest live replica leads). */
static void bl_learn(chorus_bully *b, uint64_t now_us, uint64_t e) {
  if (e > b->seen) b->seen = e;
  size_t l = (size_t)CHORUS_BULLY_EPOCH_LEADER(e);
  if (l >= b->cfg.n) return; /* not an epoch of this cluster */
  if (l != b->cfg.self && bl_higher(b, l)) {
    bl_follow(b, now_us, e, (int)l);
    return;
  }
  b->st.takeovers++;
  bl_become_leader(b, now_us);
}

/* Best answerer not yet tried, or -1. */
static int bl_best_answer(const chorus_bully *b) {
  int best = -1;
  for (size_t i = 0; i < b->cfg.n; i++) {
    if (!(b->answers & (1u << i)) || (b->tried & (1u << i))) continue;
    if (best < 0 || b->cfg.priority[i] > b->cfg.priority[best]) best = (int)i;
  }
  return best;
}

static void bl_nominate(chorus_bully *b, uint64_t now_us) {
  int best = bl_best_answer(b);
  if (best < 0) {
    bl_become_leader(b, now_us);
    return;
  }
  b->tried |= 1u << best;
  bl_send(b, (size_t)best, CHORUS_CLW_NOMINATION);
  b->role = CHORUS_BULLY_NOMINATED;
  b->deadline_us = now_us + b->cfg.coord_wait_us;
}

/* ---- inputs ------------------------------------------------------------- */

void chorus_bully_start(chorus_bully *b, uint64_t now_us) {
  if (b == NULL || b->started) return;
  b->started = 1;
  if (b->cfg.n == 1) {
    bl_become_leader(b, now_us);
    return;
  }
  b->role = CHORUS_BULLY_BOOT;
  bl_broadcast(b, CHORUS_CLW_IAM_UP);
  b->deadline_us = now_us + b->cfg.answer_wait_us;
}

static int bl_leader_fresh(const chorus_bully *b, uint64_t now_us) {
  return b->role == CHORUS_BULLY_FOLLOWER && b->leader != CHORUS_BULLY_NONE &&
         now_us - b->last_heard_us < b->cfg.leader_timeout_us;
}

static void bl_on_election(chorus_bully *b, uint64_t now_us, size_t from) {
  bl_send(b, from, CHORUS_CLW_ANSWER);
  if (b->role == CHORUS_BULLY_LEADER) {
    bl_send(b, from, CHORUS_CLW_COORDINATOR);
    return;
  }
  if (bl_leader_fresh(b, now_us) || b->role == CHORUS_BULLY_ELECTING ||
      b->role == CHORUS_BULLY_NOMINATED || b->role == CHORUS_BULLY_BOOT)
    return;
  /* Fast Bully: wait for the nominee's COORDINATOR instead of electing. */
  b->role = CHORUS_BULLY_WAITING;
  b->deadline_us = now_us + b->cfg.answer_wait_us + 2 * b->cfg.coord_wait_us;
}

static void bl_on_view(chorus_bully *b, uint64_t now_us, const chorus_clw_msg *m) {
  int l = m->leader == CHORUS_CLW_NO_LEADER ? CHORUS_BULLY_NONE : m->leader;
  int valid = l != CHORUS_BULLY_NONE && l == CHORUS_BULLY_EPOCH_LEADER(m->epoch) &&
              (size_t)l < b->cfg.n;
  if (b->role == CHORUS_BULLY_BOOT) {
    if (m->epoch > b->seen) b->seen = m->epoch;
    if (valid && m->epoch > b->view_epoch) {
      b->view_epoch = m->epoch;
      b->view_leader = l;
    }
    return;
  }
  if (valid && m->epoch > b->epoch) bl_learn(b, now_us, m->epoch);
}

/* A message from the leader of epoch e, or claiming it. */
static void bl_on_leader_msg(chorus_bully *b, uint64_t now_us, const chorus_clw_msg *m) {
  if ((int)m->from != CHORUS_BULLY_EPOCH_LEADER(m->epoch)) return; /* forged */
  if (m->epoch > b->epoch) {
    bl_learn(b, now_us, m->epoch);
  } else if (m->epoch < b->epoch) {
    b->st.stale++;
    bl_send(b, m->from, CHORUS_CLW_VIEW); /* teach the stale leader */
  } else if (b->role != CHORUS_BULLY_LEADER) {
    bl_follow(b, now_us, m->epoch, (int)m->from);
  }
}

int chorus_bully_recv(chorus_bully *b, uint64_t now_us, const chorus_clw_msg *m) {
  if (b == NULL || m == NULL) return CHORUS_ERR_INVAL;
  if (m->from >= b->cfg.n || m->from == b->cfg.self || m->epoch >= CHORUS_BULLY_EPOCH_LIMIT) {
    b->st.bad_sender++;
    return CHORUS_ERR_UNKNOWN_SENDER;
  }
  if (!b->started) return 0;
  if (m->epoch > b->seen) b->seen = m->epoch;
  switch (m->type) {
  case CHORUS_CLW_ELECTION: bl_on_election(b, now_us, m->from); return 0;
  case CHORUS_CLW_ANSWER:
    if (b->role == CHORUS_BULLY_ELECTING || b->role == CHORUS_BULLY_NOMINATED)
      b->answers |= 1u << m->from;
    return 0;
  case CHORUS_CLW_NOMINATION:
    if (b->role == CHORUS_BULLY_LEADER) bl_send(b, m->from, CHORUS_CLW_COORDINATOR);
    else bl_become_leader(b, now_us);
    return 0;
  case CHORUS_CLW_COORDINATOR:
  case CHORUS_CLW_HEARTBEAT: bl_on_leader_msg(b, now_us, m); return 0;
  case CHORUS_CLW_IAM_UP: bl_send(b, m->from, CHORUS_CLW_VIEW); return 0;
  case CHORUS_CLW_VIEW: bl_on_view(b, now_us, m); return 0;
  default: return CHORUS_ERR_BAD_FRAME;
  }
}

int chorus_bully_observe(chorus_bully *b, uint64_t now_us, size_t from, uint64_t epoch) {
  if (b == NULL) return CHORUS_ERR_INVAL;
  if (from >= b->cfg.n || from == b->cfg.self || epoch >= CHORUS_BULLY_EPOCH_LIMIT) {
    b->st.bad_sender++;
    return CHORUS_ERR_UNKNOWN_SENDER;
  }
  if (!b->started) return 0;
  if (epoch > b->seen) b->seen = epoch;
  if (epoch > b->epoch && (int)from == CHORUS_BULLY_EPOCH_LEADER(epoch))
    bl_learn(b, now_us, epoch);
  return 0;
}

void chorus_bully_leader_alive(chorus_bully *b, uint64_t now_us) {
  if (b == NULL || b->role != CHORUS_BULLY_FOLLOWER || b->leader == CHORUS_BULLY_NONE) return;
  b->last_heard_us = now_us;
  b->deadline_us = now_us + b->cfg.leader_timeout_us;
}

void chorus_bully_restart(chorus_bully *b, uint64_t now_us) {
  if (b == NULL || !b->started) return;
  b->role = CHORUS_BULLY_FOLLOWER;
  bl_elect(b, now_us);
}

static void bl_boot_done(chorus_bully *b, uint64_t now_us) {
  int l = b->view_leader;
  if (l != CHORUS_BULLY_NONE && (size_t)l != b->cfg.self && bl_higher(b, (size_t)l)) {
    bl_follow(b, now_us, b->view_epoch > b->epoch ? b->view_epoch : b->epoch, l);
    return;
  }
  bl_become_leader(b, now_us);
}

void chorus_bully_tick(chorus_bully *b, uint64_t now_us) {
  if (b == NULL || !b->started || now_us < b->deadline_us) return;
  switch (b->role) {
  case CHORUS_BULLY_BOOT: bl_boot_done(b, now_us); break;
  case CHORUS_BULLY_FOLLOWER:
  case CHORUS_BULLY_WAITING: bl_elect(b, now_us); break;
  case CHORUS_BULLY_ELECTING:
  case CHORUS_BULLY_NOMINATED: bl_nominate(b, now_us); break;
  case CHORUS_BULLY_LEADER:
    bl_broadcast(b, CHORUS_CLW_HEARTBEAT);
    b->deadline_us = now_us + b->cfg.heartbeat_us;
    break;
  }
}

uint64_t chorus_bully_deadline(const chorus_bully *b) {
  return b == NULL ? UINT64_MAX : b->deadline_us;
}

int chorus_bully_poll(chorus_bully *b, chorus_bully_output *out) {
  if (b == NULL || out == NULL) return CHORUS_ERR_INVAL;
  if (b->out_len == 0) {
    memset(out, 0, sizeof *out);
    return 0;
  }
  *out = b->outq[b->out_head];
  b->out_head = (b->out_head + 1) % CHORUS_BULLY_OUTQ_MAX;
  b->out_len--;
  return 0;
}

uint64_t chorus_bully_epoch(const chorus_bully *b) { return b ? b->epoch : 0; }
int chorus_bully_leader(const chorus_bully *b) { return b ? b->leader : CHORUS_BULLY_NONE; }
enum chorus_bully_role chorus_bully_role_get(const chorus_bully *b) {
  return b ? b->role : CHORUS_BULLY_BOOT;
}

void chorus_bully_stats_get(const chorus_bully *b, chorus_bully_stats *out) {
  if (b && out) *out = b->st;
}

const char *chorus_bully_role_name(int role) {
  switch (role) {
  case CHORUS_BULLY_BOOT: return "boot";
  case CHORUS_BULLY_FOLLOWER: return "follower";
  case CHORUS_BULLY_ELECTING: return "electing";
  case CHORUS_BULLY_NOMINATED: return "nominated";
  case CHORUS_BULLY_WAITING: return "waiting";
  case CHORUS_BULLY_LEADER: return "leader";
  default: return "unknown";
  }
}
