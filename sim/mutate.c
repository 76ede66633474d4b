/*
 * Self-test mutations (chorus sim --mutate): deliberate bugs injected
 * between the cores and the checker, so that the whole pipeline proves it
 * catches each kind of wrong delivery or view change. Without a mutation,
 * every delivery, HELD report and view change goes to the checker as the
 * core produced it.
 */
#include <string.h>

#include "err.h"
#include "sim_int.h"

static void check_one(sim *s, const chorus_check_delivery *d) {
  (void)chorus_check_deliver(s->chk, d); /* a violation is recorded inside */
}

/* Keeps a copy of *d to report later (reorder, causal, total). */
static void hold(sim *s, const chorus_check_delivery *d, int other_sender,
                 int total_only) {
  memcpy(s->held_text, d->text, d->len_bytes);
  s->held.d = *d;
  s->held.d.text = s->held_text;
  s->held.other_sender = other_sender;
  s->held.total_only = total_only;
  s->held.merge_only = 0;
  s->held.active = 1;
}

static int is_total(const chorus_check_delivery *d) {
  return d->kind == CHORUS_MSG_ROOM && d->order >= CHORUS_ORDER_TOTAL;
}

/* The false-removal mutation: node d->receiver reports removing another
 * node that is up (the delivery's sender if it can), which it did not. */
static void fake_removal(sim *s, const chorus_check_delivery *d) {
  size_t i = d->receiver, gone = d->sender;
  for (size_t k = 0; gone == i || s->node[gone].down; k++) gone = k % s->cfg->nodes;
  uint32_t all = (1u << s->cfg->nodes) - 1;
  chorus_check_view_event ev = {s->now_us, i, gone, CHORUS_VIEW_CRASH, 0, 0,
                                all & ~s->node[i].removed & ~(1u << gone), 0, s->now_us};
  chorus_trace_line(&s->trace, s->now_us, "mutate fake view n%zu -n%zu", i, gone);
  (void)chorus_check_view(s->chk, &ev);
}

/* Applies the configured mutation to delivery *d if it applies to it;
 * returns 1 if the delivery was consumed (not to be checked as is). */
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
    hold(s, d, 0, 0);
    return 1;
  case CHORUS_SIM_MUTATE_LOSE:
    return 1;
  case CHORUS_SIM_MUTATE_CAUSAL:
    if (d->kind != CHORUS_MSG_ROOM) return -1;
    hold(s, d, 1, 0);
    return 1;
  case CHORUS_SIM_MUTATE_TOTAL:
    if (!is_total(d)) return -1;
    hold(s, d, 1, 1);
    return 1;
  case CHORUS_SIM_MUTATE_MERGE:
    if (!is_total(d) || !d->merge) return -1;
    hold(s, d, 1, 1);
    s->held.merge_only = 1;
    return 1;
  case CHORUS_SIM_MUTATE_SAFE:
    s->hide_held = 1; /* from now on; this delivery itself is fine */
    return 0;
  case CHORUS_SIM_MUTATE_FALSE_REMOVAL:
    fake_removal(s, d);
    return 0;
  default:
    return -1; /* none, or agreement, view, catch-up (applied elsewhere) */
  }
}

/* The catch-up mutation: each history delivery of the first restarted node
 * is held until the next one comes; the last one, held when it installs
 * its own JOIN, is never reported. Returns 1 if *d was consumed. */
static int hold_history(sim *s, const chorus_check_delivery *d) {
  if (s->cfg->mutate != CHORUS_SIM_MUTATE_CATCH_UP || s->mutated || !d->history ||
      s->catchup_node < 0 || d->receiver != (size_t)s->catchup_node)
    return 0;
  if (s->hist.active) check_one(s, &s->hist.d);
  memcpy(s->hist_text, d->text, d->len_bytes);
  s->hist.d = *d;
  s->hist.d.text = s->hist_text;
  s->hist.active = 1;
  return 1;
}

/* 1 if *d releases the held delivery: the same receiver's next delivery
 * from the same sender (reorder) or from another one (causal, total). */
static int releases_held(const sim *s, const chorus_check_delivery *d) {
  const sim_held *h = &s->held;
  if (!h->active || h->d.receiver != d->receiver) return 0;
  if (!h->other_sender) return h->d.sender == d->sender;
  if (h->d.sender == d->sender || d->kind != CHORUS_MSG_ROOM) return 0;
  if (h->merge_only && !d->merge) return 0;
  return !h->total_only || is_total(d);
}

/* 1 if *d is the held delivery's sender's next one at its receiver before
 * any other sender's: no swap across senders is possible this time, so the
 * held one goes first (no harm done) and the mutation waits for another. */
static int pass_held(const sim *s, const chorus_check_delivery *d) {
  const sim_held *h = &s->held;
  return h->active && h->other_sender && h->d.receiver == d->receiver &&
         h->d.sender == d->sender;
}

void sim_report(sim *s, const chorus_check_delivery *d) {
  s->deliveries++;
  if (hold_history(s, d)) return;
  if (pass_held(s, d)) {
    check_one(s, &s->held.d);
    s->held.active = 0;
    s->mutated = 0;
  } else if (releases_held(s, d)) {
    check_one(s, d);
    check_one(s, &s->held.d);
    s->held.active = 0;
    return;
  }
  if (s->agree_victim >= 0 && d->receiver == (size_t)s->agree_victim &&
      d->kind == CHORUS_MSG_ROOM && s->node[d->sender].down)
    return; /* the agreement mutation: lost at this survivor */
  if (!s->mutated && s->deliveries >= CHORUS_SIM_MUTATE_AT &&
      s->cfg->mutate != CHORUS_SIM_MUTATE_CATCH_UP) {
    int rc = mutate(s, d);
    if (rc >= 0) s->mutated = 1;
    if (rc == 1) return;
  }
  check_one(s, d);
}

int sim_report_held(sim *s, size_t holder, const chorus_output *out) {
  if (s->hide_held && holder == s->cfg->nodes - 1) return 0;
  if (chorus_check_held(s->chk, s->now_us, holder, out->member, out->epoch,
                        out->msg_id) < 0)
    return sim_fail(s, CHORUS_ERR_INVAL, "n%zu reported holding a message of "
                    "member %zu", holder, out->member);
  return 0;
}

/* The agreement mutation picks its survivor at the first crash: the lowest
 * node still up. */
void sim_mutate_on_crash(sim *s) {
  if (s->cfg->mutate != CHORUS_SIM_MUTATE_AGREEMENT || s->agree_victim >= 0) return;
  for (size_t i = 0; i < s->cfg->nodes; i++)
    if (!s->node[i].down) {
      s->agree_victim = (int)i;
      s->mutated = 1;
      return;
    }
}

void sim_report_view(sim *s, size_t i, const chorus_output *out, int admitter) {
  /* The core's times are its own clock's: virtual time plus an offset. */
  uint64_t off = s->node[i].clock_offset_us;
  chorus_check_view_event ev = {s->now_us, i, out->member, out->reason, out->epoch,
                                out->view, out->members, admitter,
                                out->installed_us > off ? out->installed_us - off : 0};
  enum chorus_sim_mutate m = s->cfg->mutate;
  if (m == CHORUS_SIM_MUTATE_VIEW && !s->mutated && i == s->cfg->nodes - 1) {
    ev.members ^= 1u << out->member; /* as if that change had not happened */
    s->mutated = 1;
    chorus_trace_line(&s->trace, s->now_us, "mutate view n%zu members=%x", i,
                      (unsigned)ev.members);
  }
  if (m == CHORUS_SIM_MUTATE_CATCH_UP && s->hist.active && i == out->member &&
      out->reason == CHORUS_VIEW_JOIN && (int)i == s->catchup_node) {
    s->hist.active = 0; /* the last history delivery is lost */
    s->mutated = 1;
    chorus_trace_line(&s->trace, s->now_us, "mutate catch-up n%zu lost id=%u", i,
                      (unsigned)s->hist.d.msg_id);
  }
  (void)chorus_check_view(s->chk, &ev);
}
