/*
 * Driving the cores: timers, the outputs of a core after each input
 * (datagrams into the network model, deliveries and HELD reports to the
 * checker), datagram arrivals, and the cut of a crashing node's output.
 */
#include <string.h>

#include "err.h"
#include "sim_int.h"

/* A core whose deadline stays at or before `now` after a tick makes a real
 * driver spin. After this many ticks at one instant the simulator records a
 * "timer_progress" violation and, so that the run (and every other check)
 * goes on, ticks that node at most once per STUCK_RETRY_US from then on. */
#define TICKS_AT_ONE_TIME_MAX 100
#define STUCK_RETRY_US 1000

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
  if (n->timer_at_us != SIM_NO_TIMER && at >= n->timer_at_us) return 0;
  n->timer_at_us = at;
  chorus_evq_event ev = {.at_us = at, .kind = CHORUS_EVQ_TIMER, .node = (uint8_t)i,
                         .boot = n->boot};
  return sim_push(s, &ev);
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
                           .from = (uint8_t)from, .boot = s->node[from].boot};
    rc = sim_push(s, &ev);
    if (rc) return rc;
  }
  return 0;
}

static int on_deliver(sim *s, size_t to, const chorus_output *out) {
  int gone = s->node[to].leaving; /* owes nothing since its leave */
  char merge[24] = "";
  if (out->merge) snprintf(merge, sizeof merge, " merge<n%zu", out->merge_from);
  if (out->msg_kind == CHORUS_MSG_ROOM)
    chorus_trace_line(&s->trace, s->now_us,
                      "dlv n%zu<n%zu room/%s e=%u id=%u len=%zu view=%u seq=%u%s%s", to,
                      out->member, chorus_sim_order_name(out->order),
                      (unsigned)out->epoch, (unsigned)out->msg_id, out->len,
                      (unsigned)out->view, (unsigned)out->seq,
                      out->history ? " hist" : "", merge);
  else
    chorus_trace_line(&s->trace, s->now_us, "dlv n%zu<n%zu priv e=%u id=%u len=%zu",
                      to, out->member, (unsigned)out->epoch, (unsigned)out->msg_id,
                      out->len);
  chorus_check_delivery d = {.at_us = s->now_us, .receiver = to,
                             .sender = out->member, .kind = out->msg_kind,
                             .order = out->order, .epoch = out->epoch,
                             .msg_id = out->msg_id, .text = out->data,
                             .len_bytes = out->len, .history = out->history,
                             .merge = out->merge, .merge_from = out->merge_from};
  if (!gone) sim_report(s, &d);
  return 0;
}

/* 1 if node i's JOIN of another member is its own admission as
 * coordinator (its admissions count grew; each makes one JOIN event, in
 * order), not a decision of another member that it installs. */
static int admission_seen(sim *s, size_t i, const chorus_output *out) {
  sim_node *n = &s->node[i];
  if (out->reason != CHORUS_VIEW_JOIN || out->member == i) return 0;
  chorus_peer_stats st;
  chorus_peer_stats_get(n->peer, &st);
  if (st.admissions == n->admissions) return 0;
  n->admissions++;
  return 1;
}

/* A view change at node i: the simulator's own record of who is in its
 * view (for the workload), then the checker. */
static int on_view(sim *s, size_t i, const chorus_output *out) {
  sim_node *n = &s->node[i];
  size_t m = out->member;
  int admitter = admission_seen(s, i, out);
  if (out->reason == CHORUS_VIEW_JOIN || out->reason == CHORUS_VIEW_MERGE) {
    chorus_trace_line(&s->trace, s->now_us,
                      "view n%zu +n%zu e=%u view=%u members=%x reason=%u", i, m,
                      (unsigned)out->epoch, (unsigned)out->view,
                      (unsigned)out->members, (unsigned)out->reason);
    if (m == i) n->joined = 1;
  } else {
    chorus_trace_line(&s->trace, s->now_us, "view n%zu -n%zu view=%u members=%x reason=%u",
                      i, m, (unsigned)out->view, (unsigned)out->members,
                      (unsigned)out->reason);
  }
  n->removed = (uint16_t)(((1u << s->cfg->nodes) - 1) & ~out->members & ~(1u << i));
  if (n->leaving) return 0; /* its process left: no view of the room's */
  sim_report_view(s, i, out, admitter);
  if (out->reason == CHORUS_VIEW_JOIN && m == i) return sim_oracle_joined(s, i);
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
    return sim_report_held(s, i, out);
  case CHORUS_OUT_VIEW:
    return on_view(s, i, out);
  case CHORUS_OUT_PEER_RESTARTED:
    chorus_trace_line(&s->trace, s->now_us, "restarted n%zu peer=n%zu e=%u dropped=%u",
                      i, out->member, (unsigned)out->epoch, (unsigned)out->dropped);
    return 0;
  default:
    return sim_fail(s, CHORUS_ERR_INVAL, "n%zu output of unknown kind %d", i,
                    (int)out->kind);
  }
}

/* The checker learns of a cut node i sent again (a newcomer's admitter
 * was gone) before any delivery that followed it, and after the view
 * events queued with it (admissions of the same pump are in the cut): a
 * newcomer that takes that cut owes i's delivered history of that moment.
 * Looked at while any newcomer waits (only then is a cut sent, so the
 * count reported stays in step; the stats are not cheap). */
static void cuts_resent_check(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  if (!s->cfg->restarts && !s->cfg->via_server) return;
  size_t waiting = 0; /* newcomers up that wait for their cut */
  for (size_t j = 0; j < s->cfg->nodes; j++)
    waiting += s->node[j].peer && !s->node[j].joined && !s->node[j].leaving;
  if (!waiting) return;
  chorus_peer_stats st;
  chorus_peer_stats_get(n->peer, &st);
  if (st.cuts_resent == n->cuts_resent) return;
  n->cuts_resent = st.cuts_resent;
  chorus_trace_line(&s->trace, s->now_us, "cut-resent n%zu", i);
  (void)chorus_check_cut_resent(s->chk, s->now_us, i);
}

int sim_drain(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  size_t emitted = 0; /* datagrams out in this drain */
  for (;;) {
    chorus_output out;
    int rc = chorus_peer_poll(n->peer, sim_clock(s, i), &out, s->poll_buf, s->poll_cap);
    if (rc) return sim_fail(s, rc, "n%zu poll failed: %s", i, chorus_errname(rc));
    int event = out.kind == CHORUS_OUT_VIEW || out.kind == CHORUS_OUT_PEER_UP ||
                out.kind == CHORUS_OUT_PEER_RESTARTED;
    if (!event) cuts_resent_check(s, i);
    if (out.kind == CHORUS_OUT_NONE) break;
    /* A crashing node dies between two datagrams of one burst: this one
     * and everything after it never leave. */
    if (out.kind == CHORUS_OUT_DATAGRAM && n->crash_armed && emitted == n->crash_budget)
      return sim_crash_now(s, n->crash_armed - 1);
    rc = handle_output(s, i, &out);
    if (rc) return rc;
    if (out.kind == CHORUS_OUT_DATAGRAM) emitted++;
  }
  if (n->crash_armed && n->crash_at_end) return sim_crash_now(s, n->crash_armed - 1);
  /* A newcomer's view is the room's from its cut on, long before it reports
   * its JOIN (settled): a crash it missed must reach it by then, or, as the
   * lowest rank, it would coordinate while nobody removes the crashed
   * member whose JOINED it waits for (seed 2281 of the quick restarts). */
  if (n->oracle_owed && chorus_peer_cut_taken(n->peer)) {
    int rc = sim_oracle_joined(s, i);
    if (rc) return rc;
  }
  if (n->leaving) {
    int rc = sim_srv_leave_check(s, i);
    if (rc || !n->peer) return rc;
  }
  return schedule_timer(s, i);
}

/* ---- events ----------------------------------------------------------- */

/* Rejections that no correct peer causes on a network that only loses,
 * duplicates and reorders, with crashed nodes removed. QUEUE_FULL is
 * back-pressure (the peer's event ring is full); UNKNOWN_SENDER is right
 * for a datagram from a member the receiver has removed (in flight, or
 * from its next boot, not admitted yet); STALE_EPOCH for one from an
 * earlier boot of a node that restarted. */
static int rejection_is_bug(const sim *s, const chorus_evq_event *ev, int rc) {
  size_t to = ev->node, from = ev->from;
  if (rc == CHORUS_ERR_QUEUE_FULL) return 0;
  if (rc == CHORUS_ERR_UNKNOWN_SENDER && (s->node[to].removed & (1u << from))) return 0;
  /* A newcomer not settled yet holds back the views it installed: removed
   * there, not yet in s->node[to].removed (seed 897 of the quick restarts). */
  if (rc == CHORUS_ERR_UNKNOWN_SENDER && !chorus_peer_in_view(s->node[to].peer, from)) return 0;
  if (rc == CHORUS_ERR_STALE_EPOCH && ev->boot < s->node[from].boot) return 0;
  /* Via server: a newcomer speaks before the watcher named it here, or a
   * node that left or was removed still sends. */
  if (rc == CHORUS_ERR_UNKNOWN_SENDER && s->cfg->via_server) return 0;
  return 1;
}

/* A datagram lost with its sender: from a boot that crashed (the current
 * one if it is down, or an earlier one) whose datagrams in flight died. */
static int lost_with_sender(const sim *s, const chorus_evq_event *ev) {
  const sim_node *f = &s->node[ev->from];
  int dead = f->down || ev->boot != f->boot;
  return dead && ((f->boot_dropped >> ev->boot) & 1);
}

int sim_on_dgram(sim *s, const chorus_evq_event *ev) {
  size_t len, to = ev->node, from = ev->from;
  if (s->cfg->via_server && (to == SIM_SERVER(s) || from == SIM_SERVER(s)))
    return sim_srv_on_dgram(s, ev);
  const uint8_t *data = chorus_net_slot(s->net, ev->slot, &len);
  if (s->node[to].down || lost_with_sender(s, ev)) {
    chorus_net_release(s->net, ev->slot);
    s->res->down_dropped++;
    chorus_trace_line(&s->trace, s->now_us, "gone n%zu>n%zu len=%zu", from, to, len);
    return 0;
  }
  int rc = chorus_peer_recv(s->node[to].peer, sim_clock(s, to), data, len);
  chorus_net_release(s->net, ev->slot);
  chorus_trace_line(&s->trace, s->now_us, "rx n%zu>n%zu len=%zu%s%s", from, to, len,
                    rc ? " err=" : "", rc ? chorus_errname(rc) : "");
  if (rc == CHORUS_ERR_UNKNOWN_SENDER && s->cfg->via_server) {
    int prc = sim_srv_poke(s, to);
    if (prc) return prc;
  }
  if (rc) {
    s->res->rx_rejected++;
    if (rejection_is_bug(s, ev, rc))
      chorus_check_fail(s->chk, "wellformed", s->now_us, to,
                        "n%zu rejected a %zu-byte datagram from n%zu: %s", to,
                        len, from, chorus_errname(rc));
  }
  return sim_drain(s, to);
}

int sim_on_timer(sim *s, const chorus_evq_event *ev) {
  size_t i = ev->node;
  sim_node *n = &s->node[i];
  if (n->down || ev->boot != n->boot || ev->at_us != n->timer_at_us)
    return 0; /* superseded, or armed by a boot that crashed */
  n->timer_at_us = SIM_NO_TIMER;
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
  chorus_peer_tick(n->peer, sim_clock(s, i));
  return sim_drain(s, i);
}
