#include "sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "evq.h"
#include "prng.h"
#include "trace.h"

#define NO_TIMER UINT64_MAX
/* A core whose deadline stays at or before `now` after a tick makes a real
 * driver spin. After this many ticks at one instant the simulator records a
 * "timer_progress" violation and, so that the run (and every other check)
 * goes on, ticks that node at most once per STUCK_RETRY_US from then on. */
#define TICKS_AT_ONE_TIME_MAX 100
#define STUCK_RETRY_US 1000
/* Clock offsets: each node's clock reads virtual time plus up to ~12 days,
 * so the cores never rely on a common origin or on time 0. */
#define CLOCK_OFFSET_US_MAX ((uint64_t)1 << 40)
#define EVENTS_MARGIN 1024

/* PRNG streams derived from the one seed. Never renumber: it would change
 * every trace hash. */
enum sim_stream {
  STREAM_NET = 1,
  STREAM_WORK = 2,
  STREAM_NODE_SEED = 3,
  STREAM_EPOCH = 4,
  STREAM_CLOCK = 5,
  STREAM_TEXT = 6,
};

static const char *const NODE_NAMES[CHORUS_MEMBERS_MAX] = {
    "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"};

typedef struct sim_node {
  chorus_peer *peer;
  uint32_t epoch;           /* this boot's incarnation */
  uint64_t clock_offset_us; /* node clock = virtual time + offset */
  uint64_t timer_at_us;     /* the live TIMER event, or NO_TIMER */
  uint64_t last_tick_us;
  uint32_t ticks_same_time;
  int stuck;                /* its deadline once failed to advance */
  uint64_t sends;           /* workload messages attempted, for text keys */
} sim_node;

/* A delivery held back by the reorder mutation. */
typedef struct sim_held {
  int active;
  chorus_check_delivery d;
} sim_held;

typedef struct sim {
  const chorus_sim_config *cfg;
  chorus_sim_result *res;
  sim_node node[CHORUS_MEMBERS_MAX];
  chorus_evq *evq;
  chorus_net *net;
  chorus_check *chk;
  chorus_prng work;
  chorus_trace trace;
  uint8_t *poll_buf;  /* chorus_peer_poll output, poll_cap bytes */
  size_t poll_cap;
  uint8_t *text_buf;  /* workload text, msg_bytes_max bytes */
  uint8_t *held_text; /* mutated or held delivery text, poll_cap bytes */
  sim_held held;
  uint64_t now_us;
  uint64_t deliveries; /* deliveries seen, for the mutation */
  int healed, quiet;
} sim;

/* splitmix64's finaliser: a bijection that spreads every input bit. */
static uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The seed of stream `stream`, item `index`: independent of every other. */
static uint64_t derive(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix(mix(mix(seed) ^ stream) ^ index);
}

void chorus_sim_config_default(chorus_sim_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = 1;
  cfg->nodes = 5;
  cfg->duration_us = 10000000;
  cfg->send_interval_us = 20000; /* 50 messages per second */
  cfg->link.delay_min_us = 1000;
  cfg->link.delay_max_us = 10000;
  cfg->liveness_bound_us = CHORUS_SIM_LIVENESS_BOUND_US_DEFAULT;
  cfg->settle_us = CHORUS_SIM_SETTLE_US_DEFAULT;
  cfg->msg_bytes_max = CHORUS_MSG_BYTES_DEFAULT;
  cfg->order = CHORUS_ORDER_TOTAL;
  cfg->pool_slots = CHORUS_SIM_POOL_SLOTS_DEFAULT;
}

size_t chorus_sim_messages_max(const chorus_sim_config *cfg) {
  if (cfg->send_interval_us == 0) return 0;
  uint64_t expected = cfg->duration_us / cfg->send_interval_us;
  if (expected > CHORUS_CHECK_MESSAGES_MAX) return CHORUS_CHECK_MESSAGES_MAX + 1;
  /* The count's standard deviation is about sqrt(expected / 3): 1/8 of
   * the expectation plus 1024 is many deviations at every scale. */
  return (size_t)(expected + expected / 8 + 1024);
}

static const char *const MUTATE_NAMES[] = {"none", "corrupt", "duplicate",
                                           "reorder", "lose"};

const char *chorus_sim_mutate_name(enum chorus_sim_mutate m) {
  return (size_t)m < sizeof MUTATE_NAMES / sizeof *MUTATE_NAMES ? MUTATE_NAMES[m]
                                                                : NULL;
}

int chorus_sim_mutate_parse(const char *name) {
  for (size_t i = 0; i < sizeof MUTATE_NAMES / sizeof *MUTATE_NAMES; i++)
    if (strcmp(name, MUTATE_NAMES[i]) == 0) return (int)i;
  return -1;
}

/* Records the first simulator error; returns `rc` so callers can pass it on. */
static int sim_fail(sim *s, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int sim_fail(sim *s, int rc, const char *fmt, ...) {
  if (s->res->verdict != CHORUS_SIM_ERROR) {
    s->res->verdict = CHORUS_SIM_ERROR;
    int n = snprintf(s->res->error, sizeof s->res->error, "at %llu us: ",
                     (unsigned long long)s->now_us);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->error + n, sizeof s->res->error - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static uint64_t node_clock(const sim *s, size_t i) {
  return s->now_us + s->node[i].clock_offset_us;
}

static int push(sim *s, const chorus_evq_event *ev) {
  int rc = chorus_evq_push(s->evq, ev);
  if (rc)
    return sim_fail(s, rc, "event queue full (%zu events): raise --pool",
                    s->cfg->events_max ? s->cfg->events_max
                                       : 2 * s->cfg->pool_slots + EVENTS_MARGIN);
  return 0;
}

/* ---- timers --------------------------------------------------------- */

/* Keeps at most one live TIMER event per node: a later deadline waits for
 * the pending (earlier) one, whose tick is early and harmless and then
 * reschedules; an earlier deadline supersedes it and the old event goes
 * stale (ignored when popped). */
static int schedule_timer(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  uint64_t d = chorus_peer_deadline(n->peer);
  if (d == UINT64_MAX) return 0;
  uint64_t at = d > n->clock_offset_us ? d - n->clock_offset_us : 0;
  if (at < s->now_us) at = s->now_us;
  if (n->stuck && at == s->now_us && n->last_tick_us == s->now_us)
    at = s->now_us + STUCK_RETRY_US;
  if (n->timer_at_us != NO_TIMER && at >= n->timer_at_us) return 0;
  n->timer_at_us = at;
  chorus_evq_event ev = {.at_us = at, .kind = CHORUS_EVQ_TIMER, .node = (uint8_t)i};
  return push(s, &ev);
}

/* ---- outputs of a core ---------------------------------------------- */

static int transmit(sim *s, size_t from, const chorus_output *out) {
  chorus_net_fate fate;
  size_t to = out->member;
  unsigned h = (unsigned)(chorus_trace_fnv1a(CHORUS_TRACE_FNV_OFFSET, out->data,
                                             out->len) & 0xffffffffu);
  int rc = chorus_net_send(s->net, s->now_us, from, to, out->data, out->len, &fate);
  if (rc == CHORUS_ERR_QUEUE_FULL)
    return sim_fail(s, rc, "network pool exhausted: %zu datagrams in flight "
                    "(raise --pool)", s->cfg->pool_slots);
  if (rc)
    return sim_fail(s, rc, "n%zu emitted an invalid datagram for member %zu "
                    "(%zu bytes): %s", from, to, out->len, chorus_errname(rc));
  s->res->datagrams++;
  if (fate.copies == 0)
    chorus_trace_line(&s->trace, s->now_us, "drop n%zu>n%zu len=%zu h=%08x",
                      from, to, out->len, h);
  for (size_t k = 0; k < fate.copies; k++) {
    const chorus_net_copy *c = &fate.copy[k];
    chorus_trace_line(&s->trace, s->now_us, "%s n%zu>n%zu len=%zu h=%08x at=%llu%s",
                      k ? "dup" : "tx", from, to, out->len, h,
                      (unsigned long long)c->at_us, c->reordered ? " held" : "");
    chorus_evq_event ev = {.at_us = c->at_us, .slot = c->slot,
                           .kind = CHORUS_EVQ_DGRAM, .node = (uint8_t)to,
                           .from = (uint8_t)from};
    rc = push(s, &ev);
    if (rc) return rc;
  }
  return 0;
}

static void check_one(sim *s, const chorus_check_delivery *d) {
  (void)chorus_check_deliver(s->chk, d); /* a violation is recorded inside */
}

/* Applies the configured mutation to the CHORUS_SIM_MUTATE_AT-th delivery;
 * returns 1 if the delivery was consumed by it. */
static int mutate(sim *s, const chorus_check_delivery *d) {
  chorus_check_delivery m = *d;
  switch (s->cfg->mutate) {
  case CHORUS_SIM_MUTATE_CORRUPT:
    memcpy(s->held_text, d->text, d->len_bytes);
    s->held_text[d->len_bytes / 2] ^= 0x01; /* still ASCII, so still UTF-8 */
    m.text = s->held_text;
    check_one(s, &m);
    return 1;
  case CHORUS_SIM_MUTATE_DUPLICATE:
    check_one(s, d);
    check_one(s, d);
    return 1;
  case CHORUS_SIM_MUTATE_REORDER:
    memcpy(s->held_text, d->text, d->len_bytes);
    m.text = s->held_text;
    s->held.d = m;
    s->held.active = 1;
    return 1;
  case CHORUS_SIM_MUTATE_LOSE:
    return 1;
  default:
    return 0;
  }
}

/* Hands a delivery to the checker, through the mutation if one is set. */
static void report(sim *s, const chorus_check_delivery *d) {
  s->deliveries++;
  if (s->held.active && s->held.d.receiver == d->receiver &&
      s->held.d.sender == d->sender) {
    check_one(s, d);
    check_one(s, &s->held.d);
    s->held.active = 0;
    return;
  }
  if (s->deliveries == CHORUS_SIM_MUTATE_AT && mutate(s, d)) return;
  check_one(s, d);
}

static const char *kind_name(enum chorus_msg_kind k) {
  return k == CHORUS_MSG_ROOM ? "room" : "priv";
}

static const char *const ORDER_NAMES[] = {"fifo", "causal", "total", "safe"};

static const char *order_name(enum chorus_order o) {
  return (size_t)o < sizeof ORDER_NAMES / sizeof *ORDER_NAMES ? ORDER_NAMES[o] : "?";
}

int chorus_sim_order_parse(const char *name) {
  for (size_t i = 0; i < sizeof ORDER_NAMES / sizeof *ORDER_NAMES; i++)
    if (strcmp(name, ORDER_NAMES[i]) == 0) return (int)i;
  return -1;
}

const char *chorus_sim_order_name(enum chorus_order o) { return order_name(o); }

static int on_deliver(sim *s, size_t to, const chorus_output *out) {
  if (out->msg_kind == CHORUS_MSG_ROOM)
    chorus_trace_line(&s->trace, s->now_us,
                      "dlv n%zu<n%zu room/%s e=%u id=%u len=%zu view=%u seq=%u", to,
                      out->member, order_name(out->order), (unsigned)out->epoch,
                      (unsigned)out->msg_id, out->len, (unsigned)out->view,
                      (unsigned)out->seq);
  else
    chorus_trace_line(&s->trace, s->now_us, "dlv n%zu<n%zu priv e=%u id=%u len=%zu",
                      to, out->member, (unsigned)out->epoch, (unsigned)out->msg_id,
                      out->len);
  chorus_check_delivery d = {.at_us = s->now_us, .receiver = to,
                             .sender = out->member, .kind = out->msg_kind,
                             .order = out->order, .epoch = out->epoch,
                             .msg_id = out->msg_id, .text = out->data,
                             .len_bytes = out->len};
  report(s, &d);
  return 0;
}

static int handle_output(sim *s, size_t i, const chorus_output *out) {
  switch (out->kind) {
  case CHORUS_OUT_DATAGRAM:
    return transmit(s, i, out);
  case CHORUS_OUT_DELIVER:
    return on_deliver(s, i, out);
  case CHORUS_OUT_PEER_UP:
    chorus_trace_line(&s->trace, s->now_us, "up n%zu peer=n%zu e=%u", i,
                      out->member, (unsigned)out->epoch);
    return 0;
  case CHORUS_OUT_HELD:
    chorus_trace_line(&s->trace, s->now_us, "held n%zu<n%zu e=%u id=%u", i,
                      out->member, (unsigned)out->epoch, (unsigned)out->msg_id);
    if (chorus_check_held(s->chk, s->now_us, i, out->member, out->epoch,
                          out->msg_id) < 0)
      return sim_fail(s, CHORUS_ERR_INVAL, "n%zu reported holding a message of "
                      "member %zu", i, out->member);
    return 0;
  case CHORUS_OUT_PEER_RESTARTED:
    chorus_trace_line(&s->trace, s->now_us, "restarted n%zu peer=n%zu e=%u dropped=%u",
                      i, out->member, (unsigned)out->epoch, (unsigned)out->dropped);
    return 0;
  default:
    return sim_fail(s, CHORUS_ERR_INVAL, "n%zu output of unknown kind %d", i,
                    (int)out->kind);
  }
}

/* After every input: take every output, then arm the node's timer. */
static int drain(sim *s, size_t i) {
  for (;;) {
    chorus_output out;
    int rc = chorus_peer_poll(s->node[i].peer, node_clock(s, i), &out, s->poll_buf,
                              s->poll_cap);
    if (rc) return sim_fail(s, rc, "n%zu poll failed: %s", i, chorus_errname(rc));
    if (out.kind == CHORUS_OUT_NONE) break;
    rc = handle_output(s, i, &out);
    if (rc) return rc;
  }
  return schedule_timer(s, i);
}

/* ---- events ----------------------------------------------------------- */

/* Rejections that no correct peer causes on a network that only loses,
 * duplicates and reorders. CHORUS_ERR_QUEUE_FULL is back-pressure (the
 * peer's event ring is full) and allowed. STALE_EPOCH is flagged because no
 * node restarts yet; allow it once crashes are simulated. */
static int rejection_is_bug(int rc) { return rc != CHORUS_ERR_QUEUE_FULL; }

static int on_dgram(sim *s, const chorus_evq_event *ev) {
  size_t len, to = ev->node, from = ev->from;
  const uint8_t *data = chorus_net_slot(s->net, ev->slot, &len);
  int rc = chorus_peer_recv(s->node[to].peer, node_clock(s, to), data, len);
  chorus_net_release(s->net, ev->slot);
  chorus_trace_line(&s->trace, s->now_us, "rx n%zu>n%zu len=%zu%s%s", from, to, len,
                    rc ? " err=" : "", rc ? chorus_errname(rc) : "");
  if (rc) {
    s->res->rx_rejected++;
    if (rejection_is_bug(rc))
      chorus_check_fail(s->chk, "wellformed", s->now_us, to,
                        "n%zu rejected a %zu-byte datagram from n%zu: %s", to,
                        len, from, chorus_errname(rc));
  }
  return drain(s, to);
}

static int on_timer(sim *s, const chorus_evq_event *ev) {
  size_t i = ev->node;
  sim_node *n = &s->node[i];
  if (ev->at_us != n->timer_at_us) return 0; /* superseded */
  n->timer_at_us = NO_TIMER;
  n->ticks_same_time = n->last_tick_us == s->now_us ? n->ticks_same_time + 1 : 0;
  n->last_tick_us = s->now_us;
  if (n->ticks_same_time >= TICKS_AT_ONE_TIME_MAX && !n->stuck) {
    n->stuck = 1;
    chorus_check_fail(s->chk, "timer_progress", s->now_us, i,
                      "n%zu was ticked %d times at %llu us and its deadline "
                      "stays at or before now (a real driver would spin)", i,
                      TICKS_AT_ONE_TIME_MAX, (unsigned long long)s->now_us);
  }
  chorus_trace_line(&s->trace, s->now_us, "tick n%zu", i);
  chorus_peer_tick(n->peer, node_clock(s, i));
  return drain(s, i);
}

static size_t draw_len(sim *s) {
  size_t max = s->cfg->msg_bytes_max;
  size_t short_max = max < CHORUS_SIM_SHORT_BYTES_MAX ? max : CHORUS_SIM_SHORT_BYTES_MAX;
  /* Long messages need at least two fragments when the limit allows it. */
  if (chorus_prng_chance_ppm(&s->work, CHORUS_SIM_LONG_PPM) &&
      max > CHORUS_DATAGRAM_BYTES_MAX)
    return (size_t)chorus_prng_range(&s->work, CHORUS_DATAGRAM_BYTES_MAX + 1, max);
  return (size_t)chorus_prng_range(&s->work, 1, short_max);
}

static int schedule_work(sim *s) {
  uint64_t gap = chorus_prng_range(&s->work, 1, 2 * s->cfg->send_interval_us - 1);
  if (s->now_us + gap >= s->cfg->duration_us) return 0;
  chorus_evq_event ev = {.at_us = s->now_us + gap, .kind = CHORUS_EVQ_WORK};
  return push(s, &ev);
}

static int register_sent(sim *s, const chorus_check_msg *m) {
  int rc = chorus_check_sent(s->chk, m);
  if (rc == CHORUS_ERR_QUEUE_FULL)
    return sim_fail(s, rc, "checker table full (%zu messages)",
                    s->cfg->messages_max ? s->cfg->messages_max
                                         : chorus_sim_messages_max(s->cfg));
  if (rc < 0)
    return sim_fail(s, rc, "checker refused message from n%zu: %s", m->sender,
                    chorus_errname(rc));
  if (rc == 0) s->res->sent++;
  return 0;
}

/* Draws the next workload message: sender, kind, receiver, length, text.
 * The draws never depend on the cores' answers, so the workload is the same
 * whatever the cores do. */
static void draw_msg(sim *s, chorus_check_msg *m) {
  size_t nodes = s->cfg->nodes;
  memset(m, 0, sizeof *m);
  m->at_us = s->now_us;
  m->sender = (size_t)chorus_prng_below(&s->work, nodes);
  m->kind = chorus_prng_chance_ppm(&s->work, CHORUS_SIM_ROOM_PPM) ? CHORUS_MSG_ROOM
                                                                  : CHORUS_MSG_PRIVATE;
  m->to = (m->sender + 1 + (size_t)chorus_prng_below(&s->work, nodes - 1)) % nodes;
  m->order = s->cfg->order;
  m->len_bytes = draw_len(s);
  sim_node *n = &s->node[m->sender];
  m->epoch = n->epoch;
  m->text_key = derive(s->cfg->seed, STREAM_TEXT, (uint64_t)m->sender << 56 | n->sends++);
}

/* Hands message *m to its sender's core; on success registers it with the
 * checker under the msg_id the core chose. */
static int submit(sim *s, chorus_check_msg *m) {
  sim_node *n = &s->node[m->sender];
  uint64_t now = node_clock(s, m->sender);
  int room = m->kind == CHORUS_MSG_ROOM;
  chorus_check_text(m->text_key, s->text_buf, m->len_bytes);
  int rc = room ? chorus_peer_broadcast(n->peer, now, s->text_buf, m->len_bytes,
                                        &m->msg_id)
                : chorus_peer_send_private(n->peer, now, m->to, s->text_buf,
                                           m->len_bytes, &m->msg_id);
  if (rc == CHORUS_ERR_WINDOW_FULL || rc == CHORUS_ERR_QUEUE_FULL) {
    s->res->refused++;
    chorus_trace_line(&s->trace, s->now_us, "refuse n%zu len=%zu %s", m->sender,
                      m->len_bytes, chorus_errname(rc));
    return 0;
  }
  if (rc)
    return sim_fail(s, rc, "n%zu refused a valid %zu-byte message: %s", m->sender,
                    m->len_bytes, chorus_errname(rc));
  chorus_trace_line(&s->trace, s->now_us, "send n%zu %s>%s e=%u id=%u len=%zu",
                    m->sender, kind_name(m->kind), room ? "all" : NODE_NAMES[m->to],
                    (unsigned)m->epoch, (unsigned)m->msg_id, m->len_bytes);
  return register_sent(s, m);
}

static int on_work(sim *s) {
  chorus_check_msg m;
  draw_msg(s, &m);
  int rc = submit(s, &m);
  if (!rc) rc = schedule_work(s);
  return rc ? rc : drain(s, m.sender);
}

static int on_heal(sim *s) {
  chorus_trace_line(&s->trace, s->now_us, "heal");
  chorus_net_heal(s->net);
  s->healed = 1;
  s->res->heal_us = s->now_us;
  return 0;
}

static int dispatch(sim *s, const chorus_evq_event *ev) {
  switch (ev->kind) {
  case CHORUS_EVQ_DGRAM:
    return on_dgram(s, ev);
  case CHORUS_EVQ_TIMER:
    return on_timer(s, ev);
  case CHORUS_EVQ_WORK:
    return on_work(s);
  case CHORUS_EVQ_HEAL:
    return on_heal(s);
  default:
    return sim_fail(s, CHORUS_ERR_INVAL, "unknown event kind %d", ev->kind);
  }
}

/* ---- setup and the loop ----------------------------------------------- */

static int config_valid(const chorus_sim_config *c) {
  return c->nodes >= 2 && c->nodes <= CHORUS_MEMBERS_MAX && c->duration_us > 0 &&
         c->send_interval_us > 0 && c->liveness_bound_us > 0 &&
         c->msg_bytes_max >= 1 && c->msg_bytes_max <= CHORUS_MSG_BYTES_MAX &&
         chorus_sim_messages_max(c) <= CHORUS_CHECK_MESSAGES_MAX &&
         c->duration_us <= UINT64_MAX / 4 && c->liveness_bound_us <= UINT64_MAX / 4 &&
         c->settle_us <= UINT64_MAX / 4 && c->mutate <= CHORUS_SIM_MUTATE_LOSE &&
         c->order <= CHORUS_ORDER_SAFE;
}

static int node_init(sim *s, size_t i) {
  const chorus_sim_config *c = s->cfg;
  sim_node *n = &s->node[i];
  n->epoch = (uint32_t)(derive(c->seed, STREAM_EPOCH, i) % 0xfffffffeu) + 1;
  n->clock_offset_us = derive(c->seed, STREAM_CLOCK, i) % CLOCK_OFFSET_US_MAX;
  n->timer_at_us = NO_TIMER;
  n->last_tick_us = NO_TIMER;
  chorus_peer_config pc;
  chorus_peer_config_default(&pc);
  pc.self_name = NODE_NAMES[i];
  for (size_t j = 0; j < c->nodes; j++) pc.member_names[j] = NODE_NAMES[j];
  pc.member_count = c->nodes;
  pc.epoch = n->epoch;
  pc.seed = derive(c->seed, STREAM_NODE_SEED, i);
  pc.msg_bytes_max = c->msg_bytes_max;
  pc.order = c->order;
  pc.report_held = 1; /* the checker's safe property needs them */
  int rc = chorus_peer_new(&pc, &n->peer);
  if (rc) return sim_fail(s, rc, "n%zu: chorus_peer_new failed: %s", i, chorus_errname(rc));
  size_t need = chorus_peer_poll_bytes_min(n->peer);
  if (need > s->poll_cap) s->poll_cap = need;
  chorus_trace_line(&s->trace, 0, "boot n%zu e=%u clock=%llu", i, (unsigned)n->epoch,
                    (unsigned long long)n->clock_offset_us);
  return 0;
}

static int create_parts(sim *s) {
  const chorus_sim_config *c = s->cfg;
  size_t events_max = c->events_max ? c->events_max : 2 * c->pool_slots + EVENTS_MARGIN;
  int rc = chorus_evq_new(events_max, &s->evq);
  if (rc) return sim_fail(s, rc, "event queue: %s", chorus_errname(rc));
  chorus_net_config nc = {c->nodes, c->pool_slots, derive(c->seed, STREAM_NET, 0), c->link};
  rc = chorus_net_new(&nc, &s->net);
  if (rc) return sim_fail(s, rc, "network: %s", chorus_errname(rc));
  chorus_check_config cc = {c->nodes, c->messages_max ? c->messages_max
                                                      : chorus_sim_messages_max(c)};
  rc = chorus_check_new(&cc, &s->chk);
  if (rc) return sim_fail(s, rc, "checker: %s", chorus_errname(rc));
  chorus_prng_init(&s->work, derive(c->seed, STREAM_WORK, 0));
  for (size_t i = 0; i < c->nodes && !rc; i++) rc = node_init(s, i);
  if (rc) return rc;
  s->text_buf = malloc(c->msg_bytes_max);
  s->poll_buf = malloc(s->poll_cap);
  s->held_text = malloc(s->poll_cap);
  if (!s->text_buf || !s->poll_buf || !s->held_text)
    return sim_fail(s, CHORUS_ERR_NOMEM, "out of memory");
  return 0;
}

static void destroy_parts(sim *s) {
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) chorus_peer_free(s->node[i].peer);
  chorus_evq_free(s->evq);
  chorus_net_free(s->net);
  chorus_check_free(s->chk);
  free(s->text_buf);
  free(s->poll_buf);
  free(s->held_text);
}

static void trace_header(sim *s) {
  const chorus_sim_config *c = s->cfg;
  const chorus_net_link *l = &c->link;
  chorus_trace_line(&s->trace, 0,
                    "chorus-sim v1 seed=%llu nodes=%zu duration_us=%llu "
                    "interval_us=%llu delay_us=%u:%u loss_ppm=%u dup_ppm=%u "
                    "reorder_ppm=%u msg_max=%zu order=%s bound_us=%llu mutate=%s",
                    (unsigned long long)c->seed, c->nodes,
                    (unsigned long long)c->duration_us,
                    (unsigned long long)c->send_interval_us, (unsigned)l->delay_min_us,
                    (unsigned)l->delay_max_us, (unsigned)l->loss_ppm,
                    (unsigned)l->dup_ppm, (unsigned)l->reorder_ppm, c->msg_bytes_max,
                    order_name(c->order), (unsigned long long)c->liveness_bound_us,
                    chorus_sim_mutate_name(c->mutate));
}

/* First inputs: every node's initial outputs and timer, the workload's
 * first send and the heal. */
static int start(sim *s) {
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    int rc = drain(s, i);
    if (rc) return rc;
  }
  chorus_evq_event heal = {.at_us = s->cfg->duration_us, .kind = CHORUS_EVQ_HEAL};
  int rc = push(s, &heal);
  return rc ? rc : schedule_work(s);
}

/* Pops events until the run is over: the liveness bound passed, or every
 * obligation was met after the heal and the settle time passed. */
static int loop(sim *s) {
  const chorus_sim_config *c = s->cfg;
  uint64_t bound_at = c->duration_us + c->liveness_bound_us;
  chorus_evq_event ev;
  while (chorus_evq_pop(s->evq, &ev)) {
    if (ev.at_us > bound_at) {
      s->now_us = bound_at;
      break;
    }
    if (s->quiet && ev.at_us > s->res->quiet_us + c->settle_us) {
      s->now_us = s->res->quiet_us + c->settle_us;
      break;
    }
    s->now_us = ev.at_us;
    s->res->events++;
    int rc = dispatch(s, &ev);
    if (rc) return rc;
    if (s->healed && !s->quiet && chorus_check_outstanding(s->chk) == 0) {
      s->quiet = 1;
      s->res->quiet_us = s->now_us;
    }
  }
  /* No event left: every node is idle, no timer armed, nothing in flight.
   * With obligations outstanding that is a liveness failure now, not later. */
  if (chorus_evq_len(s->evq) == 0 && chorus_check_outstanding(s->chk) > 0)
    chorus_trace_line(&s->trace, s->now_us, "idle outstanding=%llu",
                      (unsigned long long)chorus_check_outstanding(s->chk));
  return 0;
}

static void collect(sim *s) {
  chorus_sim_result *r = s->res;
  chorus_check_stats cs;
  chorus_check_stats_get(s->chk, &cs);
  chorus_net_stats ns;
  chorus_net_stats_get(s->net, &ns);
  r->obligations = cs.obligations;
  r->delivered = cs.delivered;
  r->lost = ns.lost;
  r->duplicated = ns.duplicated;
  r->reordered = ns.reordered;
  r->pool_high_water = ns.high_water;
  r->evq_high_water = chorus_evq_high_water(s->evq);
  r->end_us = s->now_us;
  chorus_check_latency(s->chk, &r->lat_p50_us, &r->lat_p99_us, &r->lat_max_us);
}

/* Each core's own counters at the end: the first place to look when a
 * liveness violation says what was missing but not why. */
static void trace_node_stats(sim *s) {
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    chorus_peer_stats st;
    chorus_peer_stats_get(s->node[i].peer, &st);
    chorus_link_stats sum, ls;
    memset(&sum, 0, sizeof sum);
    for (size_t j = 0; j < s->cfg->nodes; j++)
      if (j != i && chorus_peer_link_stats_get(s->node[i].peer, j, &ls) == 0) {
        sum.retransmits += ls.retransmits;
        sum.timeouts += ls.timeouts;
        sum.acks_sent += ls.acks_sent;
        sum.frames_sent += ls.frames_sent;
      }
    chorus_trace_line(&s->trace, s->now_us,
                      "links n%zu frames=%llu retransmits=%llu timeouts=%llu acks=%llu",
                      i, (unsigned long long)sum.frames_sent,
                      (unsigned long long)sum.retransmits,
                      (unsigned long long)sum.timeouts,
                      (unsigned long long)sum.acks_sent);
    chorus_trace_line(&s->trace, s->now_us,
                      "stats n%zu sent=%llu/%llu delivered=%llu/%llu view=%u "
                      "holdback=%u retained=%u stability_lag=%u room_refused=%llu "
                      "window_full=%llu rx_bad_frame=%llu rx_bad_other=%llu",
                      i, (unsigned long long)st.sent_room,
                      (unsigned long long)st.sent_private,
                      (unsigned long long)st.delivered_room,
                      (unsigned long long)st.delivered_private, (unsigned)st.view,
                      (unsigned)st.holdback, (unsigned)st.retained,
                      (unsigned)st.stability_lag,
                      (unsigned long long)st.rx_room_refused,
                      (unsigned long long)st.tx_window_full,
                      (unsigned long long)st.rx_bad_frame,
                      (unsigned long long)(st.rx_truncated + st.rx_bad_magic +
                                           st.rx_bad_version + st.rx_too_big));
  }
}

static int finish(sim *s) {
  trace_node_stats(s);
  chorus_check_finish(s->chk, s->now_us);
  collect(s);
  chorus_sim_result *r = s->res;
  chorus_trace_line(&s->trace, s->now_us, "end sent=%llu refused=%llu delivered=%llu "
                    "outstanding=%llu", (unsigned long long)r->sent,
                    (unsigned long long)r->refused, (unsigned long long)r->delivered,
                    (unsigned long long)chorus_check_outstanding(s->chk));
  r->trace_hash = s->trace.hash;
  if (s->trace.overlong)
    return sim_fail(s, CHORUS_ERR_INVAL, "%llu trace lines were too long",
                    (unsigned long long)s->trace.overlong);
  if (s->trace.write_failed)
    return sim_fail(s, CHORUS_ERR_INVAL, "writing the trace failed");
  const chorus_check_violation *v = chorus_check_first(s->chk);
  if (v) {
    r->violation = *v;
    r->verdict = CHORUS_SIM_VIOLATION;
  }
  return 0;
}

int chorus_sim_run(const chorus_sim_config *cfg, chorus_sim_result *res) {
  if (!res) return CHORUS_ERR_INVAL;
  memset(res, 0, sizeof *res);
  sim s;
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.res = res;
  if (!cfg) return sim_fail(&s, CHORUS_ERR_INVAL, "no configuration");
  if (!config_valid(cfg))
    return sim_fail(&s, CHORUS_ERR_CONFIG, "configuration out of range");
  chorus_trace_init(&s.trace, cfg->trace);
  trace_header(&s);
  int rc = create_parts(&s);
  if (!rc) rc = start(&s);
  if (!rc) rc = loop(&s);
  if (!rc) rc = finish(&s);
  else if (s.chk && s.net && s.evq) collect(&s); /* the counters so far */
  res->trace_hash = s.trace.hash;
  destroy_parts(&s);
  return rc;
}
