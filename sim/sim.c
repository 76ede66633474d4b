/*
 * The simulator's setup, next-event loop and result (sim.h). The parts it
 * drives live in drive.c (core outputs, timers), work.c (workload),
 * crash.c (crashes, removals, restarts), mutate.c (self-test mutations)
 * and swarm.c.
 */
#include "sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sim_int.h"

/* Clock offsets: each node's clock reads virtual time plus up to ~12 days,
 * so the cores never rely on a common origin or on time 0. */
#define CLOCK_OFFSET_US_MAX ((uint64_t)1 << 40)
#define EVENTS_MARGIN 1024
#define EPOCH_STEP_MAX 1000u      /* a restart raises the epoch by 1..1000 */
#define SIM_HISTORY_MSGS_MAX 10000u /* the cores keep history_msgs texts */

static const char *const NODE_NAMES[CHORUS_MEMBERS_MAX] = {
    "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"};

/* splitmix64's finaliser: a bijection that spreads every input bit. */
static uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t sim_derive(uint64_t seed, uint64_t stream, uint64_t index) {
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
  cfg->private_ppm = CHORUS_SIM_PRIVATE_PPM_DEFAULT;
  cfg->detect_min_us = CHORUS_SIM_DETECT_MIN_US_DEFAULT;
  cfg->detect_max_us = CHORUS_SIM_DETECT_MAX_US_DEFAULT;
  cfg->pool_slots = CHORUS_SIM_POOL_SLOTS_DEFAULT;
  cfg->down_min_us = CHORUS_SIM_DOWN_MIN_US_DEFAULT;
  cfg->down_max_us = CHORUS_SIM_DOWN_MAX_US_DEFAULT;
  cfg->history_msgs = CHORUS_SIM_HISTORY_MSGS_DEFAULT;
}

size_t chorus_sim_messages_max(const chorus_sim_config *cfg) {
  if (cfg->send_interval_us == 0) return 0;
  uint64_t expected = cfg->duration_us / cfg->send_interval_us;
  if (expected > CHORUS_CHECK_MESSAGES_MAX) return CHORUS_CHECK_MESSAGES_MAX + 1;
  /* The count's standard deviation is about sqrt(expected / 3): 1/8 of
   * the expectation plus 1024 is many deviations at every scale. */
  return (size_t)(expected + expected / 8 + 1024);
}

static const char *const MUTATE_NAMES[] = {
    "none",  "corrupt", "duplicate", "reorder", "lose",          "causal",
    "total", "safe",    "agreement", "view",    "false-removal", "catch-up",
    "merge"};
static const char *const FD_NAMES[] = {"off", "default", "fast"};

const char *chorus_sim_fd_name(enum chorus_fd_mode m) {
  return (size_t)m < sizeof FD_NAMES / sizeof *FD_NAMES ? FD_NAMES[m] : NULL;
}

int chorus_sim_fd_parse(const char *name) {
  for (size_t i = 0; i < sizeof FD_NAMES / sizeof *FD_NAMES; i++)
    if (strcmp(name, FD_NAMES[i]) == 0) return (int)i;
  return -1;
}

const char *chorus_sim_mutate_name(enum chorus_sim_mutate m) {
  return (size_t)m < sizeof MUTATE_NAMES / sizeof *MUTATE_NAMES ? MUTATE_NAMES[m]
                                                                : NULL;
}

int chorus_sim_mutate_parse(const char *name) {
  for (size_t i = 0; i < sizeof MUTATE_NAMES / sizeof *MUTATE_NAMES; i++)
    if (strcmp(name, MUTATE_NAMES[i]) == 0) return (int)i;
  return -1;
}

int sim_fail(sim *s, int rc, const char *fmt, ...) {
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

uint64_t sim_clock(const sim *s, size_t i) {
  return s->now_us + s->node[i].clock_offset_us;
}

int sim_push(sim *s, const chorus_evq_event *ev) {
  int rc = chorus_evq_push(s->evq, ev);
  if (rc)
    return sim_fail(s, rc, "event queue full (%zu events): raise --pool",
                    s->cfg->events_max ? s->cfg->events_max
                                       : 2 * s->cfg->pool_slots + EVENTS_MARGIN);
  return 0;
}

static const char *const ORDER_NAMES[] = {"fifo", "causal", "total", "safe"};

const char *chorus_sim_order_name(enum chorus_order o) {
  return (size_t)o < sizeof ORDER_NAMES / sizeof *ORDER_NAMES ? ORDER_NAMES[o] : "?";
}

int chorus_sim_order_parse(const char *name) {
  for (size_t i = 0; i < sizeof ORDER_NAMES / sizeof *ORDER_NAMES; i++)
    if (strcmp(name, ORDER_NAMES[i]) == 0) return (int)i;
  return -1;
}

static int on_heal(sim *s) {
  chorus_trace_line(&s->trace, s->now_us, "heal");
  chorus_net_heal(s->net);
  s->healed = 1;
  s->res->heal_us = s->now_us;
  int rc = sim_partitions_at_heal(s);
  return rc ? rc : sim_crash_at_heal(s);
}

static int dispatch(sim *s, const chorus_evq_event *ev) {
  switch (ev->kind) {
  case CHORUS_EVQ_DGRAM:
    return sim_on_dgram(s, ev);
  case CHORUS_EVQ_TIMER:
    return sim_on_timer(s, ev);
  case CHORUS_EVQ_WORK:
    return sim_on_work(s);
  case CHORUS_EVQ_HEAL:
    return on_heal(s);
  case CHORUS_EVQ_CRASH:
    return sim_on_crash(s, ev);
  case CHORUS_EVQ_REMOVE:
    return sim_on_remove(s, ev);
  case CHORUS_EVQ_RESTART:
    return sim_on_restart(s, ev);
  case CHORUS_EVQ_PARTITION:
    return sim_on_partition(s, ev);
  case CHORUS_EVQ_SEAT:
    return sim_srv_on_seat(s, ev);
  case CHORUS_EVQ_JOIN:
    return sim_srv_on_join(s, ev);
  case CHORUS_EVQ_LEAVE:
    return sim_srv_on_leave(s, ev);
  case CHORUS_EVQ_SERVER:
    return sim_srv_on_event(s, ev);
  default:
    return sim_fail(s, CHORUS_ERR_INVAL, "unknown event kind %d", ev->kind);
  }
}

/* ---- setup and the loop ----------------------------------------------- */

static int crash_config_valid(const chorus_sim_config *c) {
  return c->crashes + 2 <= c->nodes && c->crash_mode <= CHORUS_SIM_CRASH_MID_OUTPUT &&
         c->crash_victim <= CHORUS_SIM_VICTIM_SEQUENCER &&
         c->detect_min_us <= c->detect_max_us &&
         c->detect_max_us <= CHORUS_NET_DELAY_US_MAX &&
         c->fd_mode <= CHORUS_FD_MODE_FAST && c->detect_bound_us <= UINT64_MAX / 4 &&
         c->restarts <= c->crashes && c->down_min_us <= c->down_max_us &&
         c->down_max_us <= CHORUS_NET_DELAY_US_MAX &&
         c->history_msgs <= SIM_HISTORY_MSGS_MAX &&
         c->partitions <= CHORUS_SIM_PARTITIONS_MAX &&
         (c->via_server ? c->fd_mode != CHORUS_FD_MODE_OFF &&
                              c->crashes + c->leaves + 2 <= c->nodes &&
                              c->leaves <= CHORUS_SIM_LEAVES_MAX &&
                              c->server_crashes <= CHORUS_SIM_SERVER_CRASHES_MAX
                        : c->leaves == 0 && c->server_crashes == 0);
}

static int config_valid(const chorus_sim_config *c) {
  return c->nodes >= 2 && c->nodes <= CHORUS_MEMBERS_MAX && c->duration_us > 0 &&
         c->send_interval_us > 0 && c->liveness_bound_us > 0 &&
         c->msg_bytes_max >= 1 && c->msg_bytes_max <= CHORUS_MSG_BYTES_MAX &&
         chorus_sim_messages_max(c) <= CHORUS_CHECK_MESSAGES_MAX &&
         c->duration_us <= UINT64_MAX / 4 && c->liveness_bound_us <= UINT64_MAX / 4 &&
         c->settle_us <= UINT64_MAX / 4 && c->mutate <= CHORUS_SIM_MUTATE_LAST &&
         c->order <= CHORUS_ORDER_SAFE && c->private_ppm <= SIM_PPM_ONE &&
         crash_config_valid(c);
}

/* The epoch of node i's first boot. */
static uint32_t first_epoch(const chorus_sim_config *c, size_t i) {
  return (uint32_t)(sim_derive(c->seed, STREAM_EPOCH, i) % 0xfffffffeu) + 1;
}

/* The epoch of node i's next boot: larger by 1..EPOCH_STEP_MAX (or 0 when
 * the epoch space is used up, an error). */
static uint32_t next_epoch(const sim *s, size_t i) {
  const sim_node *n = &s->node[i];
  if (n->epoch == UINT32_MAX) return 0;
  uint64_t room = (uint64_t)UINT32_MAX - n->epoch;
  uint64_t step = 1 + sim_derive(s->cfg->seed, STREAM_RESTART,
                                 (uint64_t)i << 8 | n->boot) % EPOCH_STEP_MAX;
  return n->epoch + (uint32_t)(step < room ? step : room);
}

/* The detection bound the checker applies: as configured, else the
 * detector profile's plus CHORUS_SIM_DETECT_DELAYS of the largest one-way
 * delay (the coordinator's VIEW on its way, retransmitted); none for the
 * oracle. */
static uint64_t detect_bound(const chorus_sim_config *c) {
  if (c->detect_bound_us || c->fd_mode == CHORUS_FD_MODE_OFF) return c->detect_bound_us;
  uint64_t base = c->fd_mode == CHORUS_FD_MODE_FAST ? CHORUS_SIM_DETECT_BOUND_FAST_US
                                                    : CHORUS_SIM_DETECT_BOUND_DEFAULT_US;
  return base + (uint64_t)CHORUS_SIM_DETECT_DELAYS * c->link.delay_max_us;
}

static void peer_config(const sim *s, size_t i, chorus_peer_config *pc) {
  const chorus_sim_config *c = s->cfg;
  const sim_node *n = &s->node[i];
  chorus_peer_config_default(pc);
  pc->self_name = NODE_NAMES[i];
  for (size_t j = 0; j < c->nodes; j++) pc->member_names[j] = NODE_NAMES[j];
  pc->member_count = c->nodes;
  pc->epoch = n->epoch;
  pc->seed = n->boot == 0 ? sim_derive(c->seed, STREAM_NODE_SEED, i)
                          : sim_derive(c->seed, STREAM_RESTART,
                                       (uint64_t)1 << 32 | (uint64_t)i << 8 | n->boot);
  pc->msg_bytes_max = c->msg_bytes_max;
  pc->order = c->order;
  pc->report_held = 1; /* the checker's safe property needs them */
  pc->fd_mode = c->fd_mode;
  pc->history_msgs = c->history_msgs;
  if (!c->via_server) return;
  /* Through the server: member i is whoever sits in seat i, as the CLI's
   * peer sets it up (seat = node by construction, checked in srvnode.c). */
  pc->slots = 1;
  for (size_t j = 0; j < c->nodes; j++) {
    pc->member_names[j] = n->seat.roster.names[j][0] ? n->seat.roster.names[j] : NULL;
    if (j != i && pc->member_names[j]) pc->joining = 1; /* others hold the room */
  }
}

/* A new core for node i (its epoch and boot already set). */
static int node_boot(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  n->timer_at_us = SIM_NO_TIMER;
  n->last_tick_us = SIM_NO_TIMER;
  n->ticks_same_time = 0;
  n->stuck = 0;
  n->cuts_resent = 0;
  n->admissions = 0;
  chorus_peer_config pc;
  peer_config(s, i, &pc);
  int rc = chorus_peer_new(&pc, &n->peer);
  if (rc) return sim_fail(s, rc, "n%zu: chorus_peer_new failed: %s", i, chorus_errname(rc));
  size_t need = chorus_peer_poll_bytes_min(n->peer);
  if (need > s->poll_cap && s->poll_buf)
    return sim_fail(s, CHORUS_ERR_INVAL, "n%zu needs a larger output buffer", i);
  if (need > s->poll_cap) s->poll_cap = need;
  n->removed = 0; /* slots mode: the vacant seats are out of its view */
  for (size_t j = 0; j < s->cfg->nodes; j++)
    if (!chorus_peer_in_view(n->peer, j)) n->removed = (uint16_t)(n->removed | 1u << j);
  return 0;
}

static int node_init(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  n->epoch = first_epoch(s->cfg, i);
  n->clock_offset_us = sim_derive(s->cfg->seed, STREAM_CLOCK, i) % CLOCK_OFFSET_US_MAX;
  n->joined = 1;
  n->seat_timer_at_us = SIM_NO_TIMER;
  int rc = 0;
  if (s->cfg->via_server) { /* outside the room until its seat: no core */
    n->joined = 0;
    n->down = 1;
    size_t need = s->cfg->msg_bytes_max > CHORUS_DATAGRAM_BYTES_MAX ? s->cfg->msg_bytes_max
                                                                    : CHORUS_DATAGRAM_BYTES_MAX;
    if (need > s->poll_cap) s->poll_cap = need;
  } else {
    rc = node_boot(s, i);
  }
  if (rc) return rc;
  chorus_trace_line(&s->trace, 0, "boot n%zu e=%u clock=%llu", i, (unsigned)n->epoch,
                    (unsigned long long)n->clock_offset_us);
  return 0;
}

int sim_node_first_boot(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  n->booted = 1;
  n->down = 0;
  int rc = node_boot(s, i);
  if (rc) return rc;
  /* Node 0 founds the room (alone in it); the others are admitted. */
  n->joined = i == 0;
  n->oracle_owed = i != 0;
  if (i != 0 && (rc = chorus_check_restart(s->chk, s->now_us, i, n->epoch)) != 0)
    return sim_fail(s, rc, "checker refused the first boot of n%zu: %s", i,
                    chorus_errname(rc));
  chorus_trace_line(&s->trace, s->now_us, "seated n%zu e=%u", i, (unsigned)n->epoch);
  return sim_drain(s, i);
}

int sim_node_restart(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  uint32_t epoch = next_epoch(s, i);
  if (epoch == 0 || n->boot == 63)
    return sim_fail(s, CHORUS_ERR_CONFIG, "n%zu cannot boot again: epochs used up", i);
  n->epoch = epoch;
  n->boot++;
  n->down = 0;
  n->joined = 0;
  n->oracle_owed = 1;
  n->removed = 0;
  n->crash_armed = 0;
  int rc = node_boot(s, i);
  if (rc) return rc;
  rc = chorus_check_restart(s->chk, s->now_us, i, epoch);
  if (rc) return sim_fail(s, rc, "checker refused the restart of n%zu: %s", i,
                          chorus_errname(rc));
  chorus_trace_line(&s->trace, s->now_us, "restart n%zu e=%u boot=%u", i,
                    (unsigned)epoch, (unsigned)n->boot);
  return sim_drain(s, i);
}

static int create_parts(sim *s) {
  const chorus_sim_config *c = s->cfg;
  size_t events_max = c->events_max ? c->events_max : 2 * c->pool_slots + EVENTS_MARGIN;
  int rc = chorus_evq_new(events_max, &s->evq);
  if (rc) return sim_fail(s, rc, "event queue: %s", chorus_errname(rc));
  chorus_net_config nc = {c->nodes + (c->via_server ? 1 : 0), c->pool_slots,
                          sim_derive(c->seed, STREAM_NET, 0), c->link};
  rc = chorus_net_new(&nc, &s->net);
  if (rc) return sim_fail(s, rc, "network: %s", chorus_errname(rc));
  chorus_check_config cc = {c->nodes,
                            c->messages_max ? c->messages_max : chorus_sim_messages_max(c),
                            c->restarts + (c->via_server ? c->nodes - 1 : 0),
                            c->history_msgs, detect_bound(c), {0},
                            c->via_server ? (uint32_t)((1u << c->nodes) - 2) : 0};
  for (size_t i = 0; i < c->nodes; i++) cc.epoch[i] = first_epoch(c, i);
  rc = chorus_check_new(&cc, &s->chk);
  if (rc) return sim_fail(s, rc, "checker: %s", chorus_errname(rc));
  sim_work_init(s);
  s->agree_victim = -1;
  s->catchup_node = -1;
  for (size_t i = 0; i < c->nodes && !rc; i++) rc = node_init(s, i);
  if (rc) return rc;
  s->text_buf = malloc(c->msg_bytes_max);
  s->poll_buf = malloc(s->poll_cap);
  s->held_text = malloc(s->poll_cap);
  s->hist_text = malloc(s->poll_cap);
  if (!s->text_buf || !s->poll_buf || !s->held_text || !s->hist_text)
    return sim_fail(s, CHORUS_ERR_NOMEM, "out of memory");
  return 0;
}

static void destroy_parts(sim *s) {
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) chorus_peer_free(s->node[i].peer);
  sim_srv_free(s);
  chorus_evq_free(s->evq);
  chorus_net_free(s->net);
  chorus_check_free(s->chk);
  free(s->text_buf);
  free(s->poll_buf);
  free(s->held_text);
  free(s->hist_text);
}

/* The configuration, in full, as the first trace lines. */
static void trace_header(sim *s) {
  const chorus_sim_config *c = s->cfg;
  const chorus_net_link *l = &c->link;
  chorus_trace_line(&s->trace, 0,
                    "chorus-sim v2 seed=%llu nodes=%zu duration_us=%llu "
                    "interval_us=%llu delay_us=%u:%u loss_ppm=%u dup_ppm=%u "
                    "reorder_ppm=%u msg_max=%zu bound_us=%llu mutate=%s",
                    (unsigned long long)c->seed, c->nodes,
                    (unsigned long long)c->duration_us,
                    (unsigned long long)c->send_interval_us, (unsigned)l->delay_min_us,
                    (unsigned)l->delay_max_us, (unsigned)l->loss_ppm,
                    (unsigned)l->dup_ppm, (unsigned)l->reorder_ppm, c->msg_bytes_max,
                    (unsigned long long)c->liveness_bound_us,
                    chorus_sim_mutate_name(c->mutate));
  chorus_trace_line(&s->trace, 0,
                    "chorus-sim order=%s private_ppm=%u crashes=%zu crash_mode=%s "
                    "crash_victim=%s detect_us=%u:%u",
                    c->order_mixed ? "mixed" : chorus_sim_order_name(c->order),
                    (unsigned)c->private_ppm, c->crashes,
                    chorus_sim_crash_mode_name(c->crash_mode),
                    chorus_sim_victim_name(c->crash_victim), (unsigned)c->detect_min_us,
                    (unsigned)c->detect_max_us);
  /* Only for the options that came later, so that runs without them keep
   * their trace and hash. */
  if (c->fd_mode != CHORUS_FD_MODE_OFF || c->restarts)
    chorus_trace_line(&s->trace, 0,
                      "chorus-sim fd=%s detect_bound_us=%llu restarts=%zu "
                      "down_us=%u:%u history=%zu", chorus_sim_fd_name(c->fd_mode),
                      (unsigned long long)detect_bound(c), c->restarts,
                      (unsigned)c->down_min_us, (unsigned)c->down_max_us,
                      c->history_msgs);
  if (c->partitions)
    chorus_trace_line(&s->trace, 0, "chorus-sim partitions=%zu", c->partitions);
  if (c->via_server)
    chorus_trace_line(&s->trace, 0, "chorus-sim via-server leaves=%zu server_crashes=%zu",
                      c->leaves, c->server_crashes);
}

/* First inputs: every node's initial outputs and timer, the workload's
 * first send, the crashes and the heal. */
static int start(sim *s) {
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    if (!s->node[i].peer) continue; /* via server: no core before its seat */
    int rc = sim_drain(s, i);
    if (rc) return rc;
  }
  chorus_evq_event heal = {.at_us = s->cfg->duration_us, .kind = CHORUS_EVQ_HEAL};
  int rc = sim_push(s, &heal);
  if (!rc && s->cfg->via_server) rc = sim_srv_init(s);
  if (!rc) rc = sim_plan_crashes(s);
  if (!rc) rc = sim_plan_partitions(s);
  return rc ? rc : sim_schedule_work(s);
}

/* Quiet: healed, every crash and restart happened, every removal given,
 * nothing owed, every view settled. */
static int all_done(const sim *s) {
  return s->healed && s->crashes_pending == 0 && s->removals_pending == 0 &&
         s->restarts_pending == 0 && chorus_check_outstanding(s->chk) == 0 &&
         chorus_check_views_settled(s->chk) && (!s->cfg->via_server || sim_srv_done(s));
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
    if (!s->quiet && all_done(s)) {
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

/* Membership samples and their quantiles. */
static void collect_samples(sim *s) {
  chorus_sim_result *r = s->res;
  const uint64_t *v;
  size_t n = chorus_check_samples(s->chk, CHORUS_CHECK_DETECT, &v);
  r->detect_count = n < CHORUS_SIM_SAMPLES_MAX ? n : CHORUS_SIM_SAMPLES_MAX;
  memcpy(r->detect_us, v, r->detect_count * sizeof *v);
  n = chorus_check_samples(s->chk, CHORUS_CHECK_REJOIN, &v);
  r->rejoin_count = n < CHORUS_CHECK_PROCS_MAX ? n : CHORUS_CHECK_PROCS_MAX;
  memcpy(r->rejoin_us, v, r->rejoin_count * sizeof *v);
  chorus_check_sample_quantiles(s->chk, CHORUS_CHECK_DETECT, &r->detect);
  chorus_check_sample_quantiles(s->chk, CHORUS_CHECK_REJOIN, &r->rejoin);
  n = chorus_check_samples(s->chk, CHORUS_CHECK_MERGE, &v);
  r->merge_count = n < CHORUS_SIM_PARTITIONS_MAX ? n : CHORUS_SIM_PARTITIONS_MAX;
  memcpy(r->merge_us, v, r->merge_count * sizeof *v);
  chorus_check_sample_quantiles(s->chk, CHORUS_CHECK_MERGE, &r->merge);
}

static void collect(sim *s) {
  chorus_sim_result *r = s->res;
  chorus_check_stats cs;
  chorus_check_stats_get(s->chk, &cs);
  chorus_net_stats ns;
  chorus_net_stats_get(s->net, &ns);
  r->obligations = cs.obligations;
  r->delivered = cs.delivered;
  r->duplicates = cs.duplicates;
  r->agreed_all = cs.agreed_all;
  r->agreed_none = cs.agreed_none;
  r->survivor_room = cs.survivor_room;
  r->lost = ns.lost;
  r->duplicated = ns.duplicated;
  r->reordered = ns.reordered;
  r->pool_high_water = ns.high_water;
  r->evq_high_water = chorus_evq_high_water(s->evq);
  r->end_us = s->now_us;
  r->joined = cs.joined;
  r->history = cs.history;
  r->views = cs.views;
  r->false_removals = cs.false_removals;
  r->merged = cs.merged;
  chorus_check_latency(s->chk, r->lat);
  collect_samples(s);
}

/* Each core's own counters at the end: the first place to look when a
 * liveness violation says what was missing but not why. */
static void trace_node_stats(sim *s) {
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    if (s->node[i].down) continue;
    chorus_peer_stats st;
    chorus_peer_stats_get(s->node[i].peer, &st);
    if (!s->node[i].leaving) chorus_check_view_now(s->chk, i, st.view, s->now_us);
    s->res->fd_suspicions += st.fd_suspicions;
    s->res->fd_refutations += st.fd_refutations;
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
                      "links n%zu frames=%llu retransmits=%llu timeouts=%llu acks=%llu "
                      "relayed=%llu discarded=%llu",
                      i, (unsigned long long)sum.frames_sent,
                      (unsigned long long)sum.retransmits,
                      (unsigned long long)sum.timeouts,
                      (unsigned long long)sum.acks_sent,
                      (unsigned long long)st.room_relayed,
                      (unsigned long long)st.room_discarded);
    chorus_trace_line(&s->trace, s->now_us,
                      "stats n%zu sent=%llu/%llu delivered=%llu/%llu view=%u "
                      "flushing=%u next_seq=%u outbox=%u holdback=%u retained=%u stability_lag=%u room_refused=%llu "
                      "window_full=%llu rx_bad_frame=%llu rx_bad_other=%llu",
                      i, (unsigned long long)st.sent_room,
                      (unsigned long long)st.sent_private,
                      (unsigned long long)st.delivered_room,
                      (unsigned long long)st.delivered_private, (unsigned)st.view,
                      (unsigned)st.flushing, (unsigned)st.next_seq, (unsigned)st.room_outbox,
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
  if (s->cfg->via_server) sim_srv_finish(s);
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
