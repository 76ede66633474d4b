/*
 * Crashes, removals and restarts (sim.h, CRASHES, DETECTION, RESTARTS). The
 * plan (times, modes, cut points, whether in-flight datagrams die too) is
 * drawn at the start from the crash stream, and which crashes restart and
 * after how long from the restart stream; victims are chosen when a crash
 * is due, among the nodes then up, so that "the sequencer" means the one of
 * that moment. With the detector off, after a crash every survivor gets
 * chorus_peer_remove_member (a verdict: the coordinator removes) after a
 * detection delay of its own, in the same order of removals at every
 * survivor.
 */
#include <string.h>

#include "err.h"
#include "sim_int.h"

#define MID_OUTPUT_WAIT_US 1000000u /* a mid-output crash waits this long for a burst */
#define REMOVE_RETRY_US 1000u       /* a removal refused for lack of room is retried */

static const char *const MODE_NAMES[] = {"drawn", "clean", "mid-send", "mid-output"};
static const char *const VICTIM_NAMES[] = {"drawn", "sequencer"};

const char *chorus_sim_crash_mode_name(enum chorus_sim_crash_mode m) {
  return (size_t)m < sizeof MODE_NAMES / sizeof *MODE_NAMES ? MODE_NAMES[m] : NULL;
}

int chorus_sim_crash_mode_parse(const char *name) {
  for (size_t i = 0; i < sizeof MODE_NAMES / sizeof *MODE_NAMES; i++)
    if (strcmp(name, MODE_NAMES[i]) == 0) return (int)i;
  return -1;
}

const char *chorus_sim_victim_name(enum chorus_sim_victim v) {
  return (size_t)v < sizeof VICTIM_NAMES / sizeof *VICTIM_NAMES ? VICTIM_NAMES[v] : NULL;
}

int chorus_sim_victim_parse(const char *name) {
  for (size_t i = 0; i < sizeof VICTIM_NAMES / sizeof *VICTIM_NAMES; i++)
    if (strcmp(name, VICTIM_NAMES[i]) == 0) return (int)i;
  return -1;
}

/* Draws crash k: every field is drawn whatever the configuration pins, so
 * that pinning one does not shift the others. */
static void draw_crash(sim *s, sim_crash *c) {
  const chorus_sim_config *cfg = s->cfg;
  chorus_prng *p = &s->crash_rng;
  c->at_us = chorus_prng_range(p, cfg->duration_us / 10, cfg->duration_us * 8 / 10);
  c->sequencer = (uint8_t)chorus_prng_chance_ppm(p, SIM_PPM_ONE / 2);
  c->mode = (uint8_t)chorus_prng_range(p, CHORUS_SIM_CRASH_CLEAN,
                                       CHORUS_SIM_CRASH_MID_OUTPUT);
  c->drop_inflight = (uint8_t)chorus_prng_chance_ppm(p, SIM_PPM_ONE / 2);
  c->pick = chorus_prng_next(p);
  uint64_t cut = chorus_prng_next(p);
  if (cfg->crash_victim == CHORUS_SIM_VICTIM_SEQUENCER) c->sequencer = 1;
  if (cfg->crash_mode != CHORUS_SIM_CRASH_DRAWN) c->mode = (uint8_t)cfg->crash_mode;
  /* mid-send: 0..n-1 datagrams leave; mid-output: 0..n-2, so a burst to
   * all n-1 others is always cut. */
  c->budget = (uint32_t)(cut % (c->mode == CHORUS_SIM_CRASH_MID_SEND ? cfg->nodes
                                                                     : cfg->nodes - 1));
}

/* Which crashes restart (cfg->restarts of them, drawn) and their downtimes,
 * from a stream of their own: the crash plan is the same with or without. */
static void plan_restarts(sim *s) {
  const chorus_sim_config *cfg = s->cfg;
  chorus_prng p;
  chorus_prng_init(&p, sim_derive(cfg->seed, STREAM_RESTART, 0));
  size_t order[SIM_CRASHES_MAX];
  for (size_t k = 0; k < s->crash_count; k++) order[k] = k;
  for (size_t k = 0; k < cfg->restarts; k++) { /* partial Fisher-Yates */
    size_t j = k + (size_t)chorus_prng_below(&p, s->crash_count - k);
    size_t t = order[k];
    order[k] = order[j];
    order[j] = t;
    sim_crash *c = &s->crash[order[k]];
    c->restart = 1;
    c->down_us = chorus_prng_range(&p, cfg->down_min_us, cfg->down_max_us);
  }
  s->restarts_pending = cfg->restarts;
}

int sim_plan_crashes(sim *s) {
  chorus_prng_init(&s->crash_rng, sim_derive(s->cfg->seed, STREAM_CRASH, 0));
  s->crash_count = s->crashes_pending = s->cfg->crashes;
  for (size_t k = 0; k < s->crash_count; k++) draw_crash(s, &s->crash[k]);
  /* In time order (insertion sort: stable, so ties keep plan order). */
  for (size_t k = 1; k < s->crash_count; k++)
    for (size_t j = k; j > 0 && s->crash[j].at_us < s->crash[j - 1].at_us; j--) {
      sim_crash t = s->crash[j];
      s->crash[j] = s->crash[j - 1];
      s->crash[j - 1] = t;
    }
  plan_restarts(s);
  for (size_t k = 0; k < s->crash_count; k++) {
    chorus_evq_event ev = {.at_us = s->crash[k].at_us, .slot = (uint32_t)k,
                           .kind = CHORUS_EVQ_CRASH};
    int rc = sim_push(s, &ev);
    if (rc) return rc;
  }
  return 0;
}

/* A node that is up, back in the room if it restarted, and not already
 * picked by another pending crash. */
static int pickable(const sim *s, size_t i) {
  return !s->node[i].down && s->node[i].joined && s->node[i].crash_armed == 0 &&
         !s->node[i].leaving;
}

size_t sim_pickable_count(const sim *s) {
  size_t count = 0;
  for (size_t i = 0; i < s->cfg->nodes; i++) count += (size_t)pickable(s, i);
  return count;
}

/* Via server, nodes join and leave: a crash due while fewer than three
 * nodes are in the room waits (two always survive), and is dropped at the
 * heal. Returns 1 if it waits or was dropped. */
static int crash_waits(sim *s, size_t k) {
  sim_crash *c = &s->crash[k];
  if (!s->cfg->via_server || sim_pickable_count(s) >= 3) return 0;
  if (!s->healed) {
    chorus_evq_event again = {.at_us = s->now_us + SIM_WAIT_US, .slot = (uint32_t)k,
                              .kind = CHORUS_EVQ_CRASH};
    return sim_push(s, &again) ? -1 : 1;
  }
  c->done = 1;
  s->crashes_pending--;
  if (c->restart) s->restarts_pending--;
  chorus_trace_line(&s->trace, s->now_us, "crash-dropped k=%zu (too few in the room)", k);
  return 1;
}

/* The victim: the lowest pickable node (the sequencer of the moment, when
 * views agree), or a uniform draw among the pickable ones. */
static size_t choose_victim(const sim *s, const sim_crash *c) {
  size_t count = 0;
  for (size_t i = 0; i < s->cfg->nodes; i++) count += (size_t)pickable(s, i);
  size_t want = c->sequencer ? 0 : (size_t)(c->pick % count);
  for (size_t i = 0; i < s->cfg->nodes; i++)
    if (pickable(s, i) && want-- == 0) return i;
  return 0; /* unreachable: two nodes always survive */
}

static void describe(sim *s, const sim_crash *c) {
  chorus_sim_result *r = s->res;
  size_t cap = sizeof r->crash_desc;
  if (s->desc_len >= cap) return;
  int n = snprintf(r->crash_desc + s->desc_len, cap - s->desc_len,
                   "%sn%zu@%llu.%03llus:%s:%s", s->desc_len ? "," : "", c->victim,
                   (unsigned long long)(s->now_us / 1000000),
                   (unsigned long long)(s->now_us / 1000 % 1000),
                   chorus_sim_crash_mode_name((enum chorus_sim_crash_mode)c->mode),
                   c->drop_inflight ? "drop" : "keep");
  s->desc_len = n < 0 ? cap : s->desc_len + (size_t)n;
  if (!c->restart || s->desc_len >= cap) return;
  n = snprintf(r->crash_desc + s->desc_len, cap - s->desc_len, "+%llu.%03llus",
               (unsigned long long)(c->down_us / 1000000),
               (unsigned long long)(c->down_us / 1000 % 1000));
  s->desc_len = n < 0 ? cap : s->desc_len + (size_t)n;
}

/* Node u learns of the crash of `victim`'s boot `epoch` after a detection
 * delay, never before a removal it was given earlier (views change in the
 * same order everywhere). */
static int schedule_removal(sim *s, size_t u, size_t victim, uint32_t epoch) {
  const chorus_sim_config *cfg = s->cfg;
  sim_node *n = &s->node[u];
  uint64_t at = s->now_us + chorus_prng_range(&s->crash_rng, cfg->detect_min_us,
                                              cfg->detect_max_us);
  if (at <= n->removal_at_us) at = n->removal_at_us + 1;
  n->removal_at_us = at;
  chorus_evq_event ev = {.at_us = at, .slot = epoch, .kind = CHORUS_EVQ_REMOVE,
                         .node = (uint8_t)u, .from = (uint8_t)victim};
  int rc = sim_push(s, &ev);
  if (rc) return rc;
  s->removals_pending++;
  return 0;
}

/* Every survivor learns of the crash. */
static int schedule_removals(sim *s, size_t victim) {
  for (size_t u = 0; u < s->cfg->nodes; u++) {
    if (s->node[u].down) continue;
    int rc = schedule_removal(s, u, victim, s->node[victim].epoch);
    if (rc) return rc;
  }
  return 0;
}

int sim_oracle_joined(sim *s, size_t u) {
  if (s->cfg->fd_mode != CHORUS_FD_MODE_OFF || !s->node[u].oracle_owed) return 0;
  s->node[u].oracle_owed = 0;
  for (size_t j = 0; j < s->cfg->nodes; j++) {
    uint32_t epoch = chorus_peer_held_epoch(s->node[u].peer, j);
    if (j == u || epoch == 0 || (!s->node[j].down && epoch == s->node[j].epoch)) continue;
    int rc = schedule_removal(s, u, j, epoch);
    if (rc) return rc;
  }
  return 0;
}

int sim_crash_now(sim *s, size_t k) {
  sim_crash *c = &s->crash[k];
  sim_node *n = &s->node[c->victim];
  c->done = 1;
  s->crashes_pending--;
  chorus_trace_line(&s->trace, s->now_us, "crash n%zu mode=%s inflight=%s", c->victim,
                    chorus_sim_crash_mode_name((enum chorus_sim_crash_mode)c->mode),
                    c->drop_inflight ? "drop" : "keep");
  describe(s, c);
  s->res->crashed++;
  chorus_check_crash(s->chk, s->now_us, c->victim);
  chorus_peer_free(n->peer);
  n->peer = NULL;
  n->down = 1;
  n->boot_dropped |= (uint64_t)c->drop_inflight << n->boot;
  n->timer_at_us = SIM_NO_TIMER;
  n->crash_armed = 0;
  if (s->cfg->via_server) sim_srv_crashed(s, c->victim);
  sim_mutate_on_crash(s);
  if (c->restart) {
    chorus_evq_event ev = {.at_us = s->now_us + c->down_us, .slot = (uint32_t)k,
                           .kind = CHORUS_EVQ_RESTART, .node = (uint8_t)c->victim};
    int rc = sim_push(s, &ev);
    if (rc) return rc;
  }
  if (s->cfg->fd_mode != CHORUS_FD_MODE_OFF) return 0; /* the cores detect it */
  return schedule_removals(s, c->victim);
}

/* Arms crash k at its victim: the victim's drain lets `budget` datagrams
 * out and then crashes it (at the end of that drain too, if at_end). */
static void arm(sim *s, size_t k, int at_end) {
  sim_crash *c = &s->crash[k];
  sim_node *n = &s->node[c->victim];
  n->crash_armed = k + 1;
  n->crash_budget = c->budget;
  n->crash_at_end = at_end;
  chorus_trace_line(&s->trace, s->now_us, "crash-armed n%zu mode=%s cut=%u", c->victim,
                    chorus_sim_crash_mode_name((enum chorus_sim_crash_mode)c->mode),
                    (unsigned)c->budget);
}

int sim_on_crash(sim *s, const chorus_evq_event *ev) {
  size_t k = ev->slot;
  sim_crash *c = &s->crash[k];
  if (c->done) return 0;
  if (ev->from == 1) return sim_crash_now(s, k); /* mid-output fallback */
  int wait = crash_waits(s, k);
  if (wait) return wait < 0 ? CHORUS_ERR_QUEUE_FULL : 0;
  c->victim = choose_victim(s, c);
  if (c->mode == CHORUS_SIM_CRASH_CLEAN) return sim_crash_now(s, k);
  if (c->mode == CHORUS_SIM_CRASH_MID_SEND) {
    arm(s, k, 1);
    int rc = sim_submit_room(s, c->victim, &s->crash_rng);
    return rc ? rc : sim_drain(s, c->victim);
  }
  arm(s, k, 0);
  chorus_evq_event fb = {.at_us = s->now_us + MID_OUTPUT_WAIT_US, .slot = (uint32_t)k,
                         .kind = CHORUS_EVQ_CRASH, .from = 1};
  return sim_push(s, &fb);
}

int sim_crash_at_heal(sim *s) {
  for (size_t k = 0; k < s->crash_count; k++) {
    const sim_crash *c = &s->crash[k];
    if (c->done || !s->node[c->victim].crash_armed) continue;
    int rc = sim_crash_now(s, k);
    if (rc) return rc;
  }
  return 0;
}

int sim_on_remove(sim *s, const chorus_evq_event *ev) {
  size_t u = ev->node, gone = ev->from;
  sim_node *n = &s->node[u];
  /* Down itself, or its view no longer holds the boot that crashed (a VIEW
   * output left it out, or let its next boot in), or the core removed it
   * already in a view it has not reported yet (a newcomer reports views
   * only once settled, docs/ORDERING.md): the verdict is moot. */
  uint32_t held = n->down ? 0 : chorus_check_view_epoch(s->chk, u, gone);
  if (held == 0 && !n->down && chorus_peer_cut_taken(n->peer))
    held = chorus_peer_held_epoch(n->peer, gone);
  /* A newcomer not settled yet may hold a later boot than the checker's
   * record of its view (it reports views only once settled): the core takes
   * a verdict to be on the boot it holds (seed 3611 of the quick restarts:
   * the verdict on a crashed admitter reached its joiner after its next
   * boot was admitted there, and the joiner, coordinating, removed that). */
  if (!n->down && chorus_peer_held_epoch(n->peer, gone) > ev->slot) held = 0;
  if (n->down || held != ev->slot || !chorus_peer_in_view(n->peer, gone)) {
    s->removals_pending--;
    if (!n->down) s->res->removals_moot++;
    return 0;
  }
  int rc = chorus_peer_remove_member(n->peer, sim_clock(s, u), gone);
  if (rc == CHORUS_ERR_QUEUE_FULL) {
    chorus_trace_line(&s->trace, s->now_us, "remove-retry n%zu -n%zu", u, gone);
    chorus_evq_event again = *ev;
    again.at_us = s->now_us + REMOVE_RETRY_US;
    return sim_push(s, &again);
  }
  if (rc)
    return sim_fail(s, rc, "n%zu refused to remove n%zu: %s", u, gone,
                    chorus_errname(rc));
  s->removals_pending--;
  s->res->removals++;
  n->removed = (uint16_t)(n->removed | 1u << gone);
  chorus_trace_line(&s->trace, s->now_us, "remove n%zu -n%zu", u, gone);
  return sim_drain(s, u); /* the checker hears of it from the VIEW output */
}

int sim_on_restart(sim *s, const chorus_evq_event *ev) {
  s->res->restarted++;
  if (s->catchup_node < 0) s->catchup_node = ev->node;
  /* Via server the core boots once the seat is back (the server may be
   * down for seconds): the restart is pending until then (srvnode.c). */
  if (s->cfg->via_server) return sim_srv_start(s, ev->node);
  s->restarts_pending--;
  return sim_node_restart(s, ev->node);
}
