/*
 * The checker's membership side (check.h, MEMBERSHIP and CATCH-UP):
 * processes (one per boot of a node), the view each one holds, admissions
 * and the history a restarted process owes, false removals, detection
 * times, and view agreement at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "err.h"

static const char *const REASON_NAMES[] = {"join", "leave", "crash", "partition",
                                           "merge"};

static const char *reason_name(enum chorus_view_reason r) {
  return (size_t)r < sizeof REASON_NAMES / sizeof *REASON_NAMES ? REASON_NAMES[r] : "?";
}

/* Points process p's tables into the pools. */
static void proc_tables(chorus_check *chk, size_t p) {
  check_proc *pr = &chk->proc[p];
  size_t h = chk->hist_max ? chk->hist_max : 1;
  pr->ring = chk->ring_pool + p * h;
  pr->expect = chk->expect_pool + p * h;
  pr->views = chk->views_pool + p * CHORUS_CHECK_VIEWS_MAX;
  pr->vnums = chk->vnums_pool + p * CHORUS_CHECK_VIEWS_MAX;
}

/* A fresh process of `node`: up, in nobody's view, seeing nobody. */
static void proc_boot(chorus_check *chk, size_t p, size_t node, uint32_t epoch,
                      uint64_t at_us) {
  check_proc *pr = &chk->proc[p];
  memset(pr, 0, sizeof *pr);
  proc_tables(chk, p);
  pr->node = node;
  pr->epoch = epoch;
  pr->boot_us = at_us;
  pr->coord = CHECK_NO_PROC;
  pr->view_id = 1;
  memset(pr->vproc, CHECK_NO_PROC, sizeof pr->vproc);
  chk->live |= check_bit(p);
  chk->cur[node] = (uint8_t)p;
  chk->of_node[node] |= check_bit(p);
  for (size_t q = 0; q < chk->procs; q++) pr->priv_start[q] = chk->proc[q].priv_sent[node];
}

int check_procs_new(chorus_check *chk, const chorus_check_config *cfg) {
  size_t h = chk->hist_max ? chk->hist_max : 1, n = chk->procs_max;
  chk->ring_pool = malloc(n * h * sizeof *chk->ring_pool);
  chk->expect_pool = malloc(n * h * sizeof *chk->expect_pool);
  chk->views_pool = malloc(n * CHORUS_CHECK_VIEWS_MAX * sizeof *chk->views_pool);
  chk->vnums_pool = malloc(n * CHORUS_CHECK_VIEWS_MAX * sizeof *chk->vnums_pool);
  chk->sample_max = n * n;
  for (size_t k = 0; k < CHORUS_CHECK_SAMPLE_KINDS; k++)
    chk->samples[k] = malloc(chk->sample_max * sizeof *chk->samples[k]);
  chk->scratch = malloc(chk->sample_max * sizeof *chk->scratch);
  chk->gview_max = n * CHORUS_CHECK_VIEWS_MAX;
  chk->gview = malloc(chk->gview_max * sizeof *chk->gview);
  chk->gowner = malloc(chk->gview_max);
  chk->gnum = malloc(chk->gview_max * sizeof *chk->gnum);
  chk->cut_ring_pool = malloc(CHECK_CUTS_MAX * h * sizeof *chk->cut_ring_pool);
  if (!chk->ring_pool || !chk->expect_pool || !chk->views_pool || !chk->samples[0] ||
      !chk->samples[1] || !chk->samples[2] || !chk->scratch || !chk->gview ||
      !chk->gowner || !chk->cut_ring_pool || !chk->vnums_pool || !chk->gnum)
    return CHORUS_ERR_NOMEM;
  /* Present nodes' first boots are processes 0.. in node order; an absent
   * node has none until it joins. */
  check_mask first = 0;
  uint8_t procs[CHORUS_MEMBERS_MAX];
  memset(chk->cur, CHECK_NO_PROC, sizeof chk->cur);
  for (size_t i = 0; i < cfg->nodes; i++) {
    procs[i] = CHECK_NO_PROC;
    if (cfg->absent & (1u << i)) continue;
    procs[i] = (uint8_t)chk->procs;
    first |= check_bit(chk->procs);
    proc_boot(chk, chk->procs++, i, cfg->epoch[i], 0);
  }
  for (size_t i = 0; i < cfg->nodes; i++) {
    if (procs[i] == CHECK_NO_PROC) continue;
    check_proc *pr = &chk->proc[procs[i]];
    pr->joined = 1;
    pr->view = first;
    memcpy(pr->vproc, procs, cfg->nodes);
  }
  chk->admitted = first;
  return 0;
}

void check_procs_free(chorus_check *chk) {
  free(chk->ring_pool);
  free(chk->expect_pool);
  free(chk->views_pool);
  free(chk->vnums_pool);
  free(chk->gnum);
  for (size_t k = 0; k < CHORUS_CHECK_SAMPLE_KINDS; k++) free(chk->samples[k]);
  free(chk->scratch);
  free(chk->gview);
  free(chk->gowner);
  free(chk->cut_ring_pool);
}

void check_ring_push(chorus_check *chk, size_t p, uint32_t idx) {
  check_proc *pr = &chk->proc[p];
  if (chk->hist_max) pr->ring[pr->room_dlv % chk->hist_max] = idx;
  pr->room_dlv++;
}

static void sample_add(chorus_check *chk, enum chorus_check_sample kind, uint64_t us) {
  if (chk->sample_count[kind] < chk->sample_max)
    chk->samples[kind][chk->sample_count[kind]++] = us;
}

size_t chorus_check_samples(const chorus_check *chk, enum chorus_check_sample kind,
                            const uint64_t **v) {
  *v = chk->samples[kind];
  return chk->sample_count[kind];
}

int chorus_check_restart(chorus_check *chk, uint64_t at_us, size_t node,
                         uint32_t epoch) {
  if (!chk || node >= chk->nodes ||
      (chk->cur[node] != CHECK_NO_PROC && (chk->live & check_bit(chk->cur[node]))))
    return CHORUS_ERR_INVAL;
  if (chk->procs == chk->procs_max) return CHORUS_ERR_QUEUE_FULL;
  size_t p = chk->procs++;
  proc_boot(chk, p, node, epoch, at_us);
  chk->proc[p].restarted = 1;
  chk->stats.restarts++;
  return 0;
}

/* ---- history ------------------------------------------------------------ */

static int cut_stranded(const chorus_check *chk, size_t p);
static int take_resent_cut(chorus_check *chk, size_t p, uint32_t idx);

/* 1 if record idx is in the history list[(start + k) % mod], k < n, and
 * each entry before it there is one process p delivered or skipped (a core
 * delivers an entry of a second history only past what it delivered of
 * that origin: the first cut's history may have partly come, PROTOCOL.md). */
static int history_continues(const chorus_check *chk, size_t p, uint32_t idx,
                             const uint32_t *list, size_t start, size_t n, size_t mod) {
  const check_proc *pr = &chk->proc[p];
  for (size_t k = 0; k < n; k++) {
    uint32_t w = list[(start + k) % mod];
    if (w == idx) return 1;
    const check_rec *r = &chk->rec[w];
    if (!(r->delivered & check_bit(p)) &&
        r->fifo_pos >= pr->pair_next[CHORUS_MSG_ROOM][r->sp])
      return 0;
  }
  return 0;
}

void check_history_cut(chorus_check *chk, const check_rec *r, size_t p) {
  const check_proc *pr = &chk->proc[p];
  uint32_t idx = (uint32_t)(r - chk->rec);
  if (r->m.kind != CHORUS_MSG_ROOM || !cut_stranded(chk, p) ||
      history_continues(chk, p, idx, pr->expect, 0, pr->expect_count, chk->hist_max))
    return;
  take_resent_cut(chk, p, idx);
}

int check_history(chorus_check *chk, const check_rec *r, size_t p,
                  const chorus_check_delivery *d) {
  const check_proc *pr = &chk->proc[p];
  const char *why = NULL;
  uint32_t idx = (uint32_t)(r - chk->rec);
  if (d->kind != CHORUS_MSG_ROOM) why = "only room messages have a history";
  else if (!pr->restarted || !(chk->admitted & check_bit(p)) || pr->joined)
    why = "this node was not catching up (not between its admission and its JOIN)";
  /* A newcomer whose admitter crashed may take another coordinator's cut:
   * the history it delivers tells which. */
  if (!why && cut_stranded(chk, p) &&
      (history_continues(chk, p, idx, pr->expect, 0, pr->expect_count, chk->hist_max) ||
       take_resent_cut(chk, p, idx)))
    return 0;
  for (size_t k = 0; !why && k < pr->expect_count; k++)
    if (pr->expect[k] == idx) return 0;
  if (!why) why = "it is not among the room messages its coordinator had "
                  "delivered last when it admitted this node";
  chorus_check_fail(chk, "catch_up", d->at_us, d->receiver,
                    "n%zu delivered (as history) %s message from n%zu epoch=%u "
                    "msg_id=%u: %s", d->receiver,
                    d->kind == CHORUS_MSG_ROOM ? "room" : "private", d->sender,
                    (unsigned)d->epoch, (unsigned)d->msg_id, why);
  return 1;
}

/* ---- view changes ------------------------------------------------------- */

/* The process of `node` with `epoch` (a first boot of unknown epoch
 * matches), the latest first; -1 if none. */
static int find_proc(const chorus_check *chk, size_t node, uint32_t epoch) {
  for (size_t p = chk->procs; p-- > 0;) {
    const check_proc *pr = &chk->proc[p];
    if (pr->node == node && (pr->epoch == epoch || pr->epoch == 0)) return (int)p;
  }
  return -1;
}

/* When the view change of *ev was installed (0: as reported). */
static uint64_t installed_at(const chorus_check_view_event *ev) {
  return ev->installed_us && ev->installed_us < ev->at_us ? ev->installed_us : ev->at_us;
}

/* The latest process of `node` admitted by `at_us`, or CHECK_NO_PROC. */
static uint8_t admitted_proc(const chorus_check *chk, size_t node, uint64_t at_us) {
  for (size_t p = chk->procs; p-- > 0;)
    if (chk->proc[p].node == node && (chk->admitted & check_bit(p)) &&
        chk->proc[p].admit_us <= at_us)
      return (uint8_t)p;
  return CHECK_NO_PROC;
}

/* Appends the event's member set to process p's sequence. */
static int view_record(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  if (pr->views_len < CHORUS_CHECK_VIEWS_MAX) {
    pr->vnums[pr->views_len] = ev->view;
    pr->views[pr->views_len++] = (uint16_t)ev->members;
    return 0;
  }
  chorus_check_fail(chk, "view_agreement", ev->at_us, ev->node,
                    "n%zu installed more than %d view changes", ev->node,
                    CHORUS_CHECK_VIEWS_MAX);
  return 1;
}

/* The latest crash at or after `from_us` and at or before `to_us`: when
 * crashes cascade (a coordinator crashes before announcing a removal), the
 * next one detects every crash anew, so the bound runs from the last. */
static uint64_t last_crash(const chorus_check *chk, uint64_t from_us, uint64_t to_us) {
  uint64_t last = from_us;
  for (size_t q = 0; q < chk->procs; q++) {
    const check_proc *pq = &chk->proc[q];
    if (!(chk->live & check_bit(q)) && pq->down_us > last && pq->down_us <= to_us)
      last = pq->down_us;
  }
  return last;
}

/* 1 if the removal of process d, up, is one a partition explains: decided
 * during it or within the grace after it. It was decided when the first
 * process installed the same change (its coordinator, as it proposed it);
 * a member installs it after the flushes of the views before it, which
 * may take long (a side's history) -- following it late is no new
 * verdict. -1 at the checker's limit (recorded). */
static int removal_excused(chorus_check *chk, size_t d, const chorus_check_view_event *ev) {
  for (size_t k = 0; k < chk->decideds; k++) {
    const check_decided *x = &chk->decided[k];
    if (x->gone == d && x->view == ev->view && x->members == ev->members) return 1;
  }
  if (!check_across_partition(chk, ev->node, ev->member, installed_at(ev))) return 0;
  if (chk->decideds == CHECK_DECIDED_MAX) {
    chorus_check_fail(chk, "wellformed", ev->at_us, ev->node,
                      "more than %d removals across partitions in one run "
                      "(checker limit)", CHECK_DECIDED_MAX);
    return -1;
  }
  check_decided *x = &chk->decided[chk->decideds++];
  x->view = ev->view;
  x->members = (uint16_t)ev->members;
  x->gone = (uint8_t)d;
  return 1;
}

/* 1 if process d, up, which a MERGE brought into process p's view, never
 * installed a view holding p: its absorber crashed before its cut reached
 * it (PROTOCOL.md, merging views), and p's side takes out again a member
 * that never joined that merged view; the sides merge anew. Likewise
 * between side-mates when one installed a MERGE the other never did (it
 * neither holds nor merged any process that merge brought in): the one
 * that did takes the other out, which then takes it out in turn (once it
 * no longer holds the remover). */
static int merge_undone(const chorus_check *chk, size_t p, size_t d) {
  const check_proc *pr = &chk->proc[p], *pd = &chk->proc[d];
  if (!(chk->live & check_bit(d))) return 0;
  if (pr->merged & check_bit(d)) return pd->vproc[pr->node] != p;
  if (pr->merged && !((pd->view | pd->merged) & pr->merged)) return 1;
  return pd->merged && !((pr->view | pr->merged) & pd->merged) &&
         pd->vproc[pr->node] != p;
}

/* 1 if process p's view is asymmetric against it: d, up, took p's node
 * out of its view already (p takes it out in turn), or another process up
 * in p's view did (a removal across a partition reached it and not p's
 * coordinator, which took over without it: p goes on alone, PROTOCOL.md,
 * merging views, step 2). Either way the view p stands in is no view its
 * members share, and leaving it is how they settle. */
static int view_left_out(const chorus_check *chk, size_t p, size_t d) {
  const check_proc *pr = &chk->proc[p];
  if (chk->proc[d].vproc[pr->node] == CHECK_NO_PROC) return 1;
  for (size_t q = 0; q < chk->procs; q++)
    if (q != p && (pr->view & check_bit(q)) && (chk->live & check_bit(q)) &&
        chk->proc[q].vproc[pr->node] == CHECK_NO_PROC)
      return 1;
  return 0;
}

/* Process p takes process d (of node `member`) out of its view: a false
 * removal if d is up, else a detection-time sample, within the bound. */
static int remove_proc(chorus_check *chk, size_t p, size_t member, size_t d,
                       const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  const check_proc *pd = &chk->proc[d];
  pr->vproc[member] = CHECK_NO_PROC;
  pr->view &= ~check_bit(d);
  if (chk->left & check_bit(d)) return 0; /* it said goodbye */
  if (merge_undone(chk, p, d)) return 0;
  if ((chk->live & check_bit(d)) && view_left_out(chk, p, d)) return 0;
  if (chk->live & check_bit(d)) {
    int excused = removal_excused(chk, d, ev);
    if (excused < 0) return 1;
    if (excused) {
      chk->split_open = 1;
      return 0;
    }
  }
  if (chk->live & check_bit(d)) {
    chk->stats.false_removals++;
    chorus_check_fail(chk, "false_removal", ev->at_us, ev->node,
                      "n%zu removed n%zu (epoch %u) from its view (reason %s, "
                      "view %u, members=%x) while it was up", ev->node, member,
                      (unsigned)pd->epoch, reason_name(ev->reason),
                      (unsigned)ev->view, (unsigned)ev->members);
    return 1;
  }
  if (pr->boot_us > pd->down_us) return 0; /* it learnt the view after the crash */
  /* Judged when installed: a newcomer reports it once settled. */
  uint64_t at_us = installed_at(ev);
  sample_add(chk, CHORUS_CHECK_DETECT, at_us - pd->down_us);
  uint64_t from = last_crash(chk, pd->down_us, at_us);
  if (!chk->detect_bound_us || at_us - from <= chk->detect_bound_us) return 0;
  /* The bound assumes a good network; a partition in the window delays
   * the detector's verdict or the VIEW (eventual detection still holds). */
  if (check_across_partition(chk, pr->node, member, at_us)) return 0;
  chorus_check_fail(chk, "detection", ev->at_us, ev->node,
                    "n%zu removed crashed n%zu (epoch %u) %llu us after the crash "
                    "(%llu us after the last crash), over the bound of %llu us",
                    ev->node, member, (unsigned)pd->epoch,
                    (unsigned long long)(at_us - pd->down_us),
                    (unsigned long long)(at_us - from),
                    (unsigned long long)chk->detect_bound_us);
  return 1;
}

/* Coordinator c's JOIN of restarted process j (CATCH-UP), c then being in
 * state *pc: the history it owes, the prefixes it is excused, what it
 * holds, where its views align. */
static void admit_from(chorus_check *chk, size_t j, size_t c, const check_proc *pc,
                       uint64_t at_us, uint32_t view_id) {
  check_proc *pj = &chk->proc[j];
  uint32_t in_ring[CHORUS_CHECK_PROCS_MAX] = {0};
  size_t n = pc->room_dlv < chk->hist_max ? (size_t)pc->room_dlv : chk->hist_max;
  for (size_t k = 0; k < n; k++) {
    uint32_t idx = pc->ring[(pc->room_dlv - n + k) % chk->hist_max];
    pj->expect[k] = idx;
    in_ring[chk->rec[idx].sp]++;
  }
  pj->expect_count = n;
  for (size_t q = 0; q < chk->procs; q++) {
    uint32_t had = pc->pair_next[CHORUS_MSG_ROOM][q];
    pj->pair_next[CHORUS_MSG_ROOM][q] = had > in_ring[q] ? had - in_ring[q] : 0;
  }
  pj->admit_us = at_us;
  pj->admit_view_id = view_id;
  pj->coord = (uint8_t)c;
  memcpy(pj->vproc, pc->vproc, sizeof pj->vproc);
  pj->vproc[pj->node] = (uint8_t)j;
  pj->view = pc->view | check_bit(j);
  pj->base = pc->base + (pc->views_len ? pc->views_len - 1 : 0);
  chk->admitted |= check_bit(j);
  for (size_t i = 0; i < chk->rec_count; i++) {
    check_rec *r = &chk->rec[i];
    if (r->m.kind != CHORUS_MSG_ROOM) continue;
    if (r->fifo_pos >= pj->pair_next[CHORUS_MSG_ROOM][r->sp]) r->addressed |= check_bit(j);
    if (r->fifo_pos < pc->pair_next[CHORUS_MSG_ROOM][r->sp]) r->held |= check_bit(j);
    check_obligation_update(chk, r);
  }
}

static void admit(chorus_check *chk, size_t j, size_t c, uint64_t at_us,
                  uint32_t view_id) {
  admit_from(chk, j, c, &chk->proc[c], at_us, view_id);
}

/* 1 if process p waits for its own JOIN and its admitter is down. */
static int cut_stranded(const chorus_check *chk, size_t p) {
  const check_proc *pr = &chk->proc[p];
  return (chk->live & chk->admitted & check_bit(p)) && pr->restarted && !pr->joined &&
         pr->coord != CHECK_NO_PROC && !(chk->live & check_bit(pr->coord));
}

int chorus_check_cuts_wanted(const chorus_check *chk) {
  if (!chk) return 0;
  for (size_t p = 0; p < chk->procs; p++)
    if (cut_stranded(chk, p)) return 1;
  return 0;
}

/* A restarted process that coordinates before it delivered its own
 * history (not settled) sends the history it holds, its admitter's: the
 * cut it gives is the state it will have once it delivered that. */
static void cut_of_unsettled(const chorus_check *chk, check_proc *st) {
  for (size_t k = 0; k < st->expect_count; k++) {
    const check_rec *r = &chk->rec[st->expect[k]];
    st->ring[k] = st->expect[k];
    if (r->fifo_pos >= st->pair_next[CHORUS_MSG_ROOM][r->sp])
      st->pair_next[CHORUS_MSG_ROOM][r->sp] = r->fifo_pos + 1;
  }
  st->room_dlv = st->expect_count;
}

/* Notes process q's state at at_us: a cut it sent the stranded newcomers
 * `to`. */
static int cut_record(chorus_check *chk, size_t q, uint64_t at_us, check_mask to) {
  if (chk->cuts == CHECK_CUTS_MAX) {
    chorus_check_fail(chk, "wellformed", at_us, chk->proc[q].node,
                      "more than %d cuts for stranded newcomers in one run "
                      "(checker limit)", CHECK_CUTS_MAX);
    return CHORUS_ERR_QUEUE_FULL;
  }
  size_t h = chk->hist_max ? chk->hist_max : 1;
  check_cut *k = &chk->cut[chk->cuts];
  k->from = (uint8_t)q;
  k->to = to;
  k->at_us = at_us;
  /* Its view events may come before its number is updated (same change). */
  const check_proc *pq = &chk->proc[q];
  uint32_t last = pq->views_len ? pq->vnums[pq->views_len - 1] : 0;
  k->view_id = last > pq->view_id ? last : pq->view_id;
  k->state = chk->proc[q];
  k->state.ring = chk->cut_ring_pool + chk->cuts * h;
  memcpy(k->state.ring, chk->proc[q].ring, h * sizeof *k->state.ring);
  if (pq->restarted && !pq->joined && pq->room_dlv == 0) cut_of_unsettled(chk, &k->state);
  /* As at a first admission (admit_from): the newcomers hold what the cut
   * counts delivered, as history or under it. The core's coordinator counts
   * that stable at once (docs/ORDERING.md, a join lowers stable counts to
   * what was delivered), so a safe message may be delivered before they take
   * the cut (quick restarts seed 3420: admitted afresh by the next
   * coordinator after their first admitter crashed). */
  for (size_t i = 0; i < chk->rec_count; i++) {
    check_rec *r = &chk->rec[i];
    if (r->m.kind == CHORUS_MSG_ROOM &&
        r->fifo_pos < k->state.pair_next[CHORUS_MSG_ROOM][r->sp])
      r->held |= to;
  }
  chk->cuts++;
  return 0;
}

int chorus_check_cut_resent(chorus_check *chk, uint64_t at_us, size_t node) {
  if (!chk || node >= chk->nodes || chk->cur[node] == CHECK_NO_PROC ||
      !(chk->live & check_bit(chk->cur[node])))
    return CHORUS_ERR_INVAL;
  size_t c = chk->cur[node];
  check_mask to = 0; /* the core sends it to newcomers in its view only */
  for (size_t p = 0; p < chk->procs; p++)
    if (p != c && cut_stranded(chk, p) && (chk->proc[c].view & check_bit(p)))
      to |= check_bit(p);
  return to ? cut_record(chk, c, at_us, to) : 0;
}

/* 1 if record idx continues process p's history in that of cut `cut`. */
static int cut_continues(const chorus_check *chk, const check_cut *cut, size_t p,
                         uint32_t idx) {
  const check_proc *pc = &cut->state;
  size_t n = pc->room_dlv < chk->hist_max ? (size_t)pc->room_dlv : chk->hist_max;
  if (n == 0) return 0;
  return history_continues(chk, p, idx, pc->ring, (size_t)((pc->room_dlv - n) % chk->hist_max),
                           n, chk->hist_max);
}

/* 1 if process p delivered every message of cut `cut`'s history that
 * taking it would leave owed (the part before what p delivered of the
 * same stream is excused, admit_again). */
static int cut_fits(const chorus_check *chk, const check_cut *cut, size_t p) {
  const check_proc *pc = &cut->state, *pr = &chk->proc[p];
  size_t n = pc->room_dlv < chk->hist_max ? (size_t)pc->room_dlv : chk->hist_max;
  for (size_t k = 0; k < n; k++) {
    const check_rec *r = &chk->rec[pc->ring[(pc->room_dlv - n + k) % chk->hist_max]];
    if (!(r->delivered & check_bit(p)) &&
        r->fifo_pos >= pr->pair_next[CHORUS_MSG_ROOM][r->sp])
      return 0;
  }
  return 1;
}

/* Process p takes cut `cut` instead of its first admission's: it owes that
 * cut's history; what was sent before its first admission and comes before
 * that history is excused (what was sent since stays owed); its FIFO
 * streams go on from where its deliveries so far left them. So is what
 * comes before the part of the first history it delivered, even where the
 * cut's history holds it: members' histories end alike but start apart
 * (each its own last deliveries, FIFO and causal ones in its own order),
 * and p, past that message in its sender's stream, skips it for good
 * (PROTOCOL.md) -- its first admission had excused it. */
static void admit_again(chorus_check *chk, size_t p, const check_cut *cut) {
  check_proc *pr = &chk->proc[p];
  uint64_t first_us = pr->admit_us;
  uint32_t had[CHORUS_CHECK_PROCS_MAX];
  memcpy(had, pr->pair_next[CHORUS_MSG_ROOM], sizeof had);
  admit_from(chk, p, cut->from, &cut->state, cut->at_us, cut->view_id);
  /* A stream it delivered some of goes on where it left it; one it
   * delivered none of starts where the new cut's history does (which may
   * be earlier than the first admission's start). */
  check_mask any = 0;
  for (size_t i = 0; i < chk->rec_count; i++)
    if (chk->rec[i].m.kind == CHORUS_MSG_ROOM && (chk->rec[i].delivered & check_bit(p)))
      any |= check_bit(chk->rec[i].sp);
  for (size_t q = 0; q < chk->procs; q++)
    if ((any & check_bit(q)) && had[q] > pr->pair_next[CHORUS_MSG_ROOM][q])
      pr->pair_next[CHORUS_MSG_ROOM][q] = had[q];
  for (size_t i = 0; i < chk->rec_count; i++) {
    check_rec *r = &chk->rec[i];
    if (r->m.kind != CHORUS_MSG_ROOM || (r->delivered & check_bit(p)) ||
        r->m.at_us >= first_us || r->fifo_pos >= pr->pair_next[CHORUS_MSG_ROOM][r->sp])
      continue;
    r->addressed &= ~check_bit(p);
    check_obligation_update(chk, r);
  }
  size_t kept = 0; /* the owed history without what was excused */
  for (size_t k = 0; k < pr->expect_count; k++)
    if (chk->rec[pr->expect[k]].addressed & check_bit(p)) pr->expect[kept++] = pr->expect[k];
  pr->expect_count = kept;
}

/* Process p, whose admitter is down, delivers record idx as history, not
 * owed by its admission: if idx continues the history of a cut sent again
 * since, p took that cut (CATCH-UP); 1 if so. */
static int take_resent_cut(chorus_check *chk, size_t p, uint32_t idx) {
  const check_proc *pr = &chk->proc[p];
  if (!cut_stranded(chk, p)) return 0;
  for (size_t k = chk->cuts; k-- > 0;) {
    const check_cut *cut = &chk->cut[k];
    if (!(cut->to & check_bit(p)) || cut->at_us < pr->admit_us ||
        !cut_continues(chk, cut, p, idx))
      continue;
    admit_again(chk, p, cut);
    return 1;
  }
  return 0;
}

/* Process p installs the JOIN of another node's process. */
static int other_join(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  int j = find_proc(chk, ev->member, ev->epoch);
  if (j < 0) {
    chorus_check_fail(chk, "wellformed", ev->at_us, ev->node,
                      "n%zu let n%zu in with epoch %u, which never booted", ev->node,
                      ev->member, (unsigned)ev->epoch);
    return 1;
  }
  int bad = 0;
  uint8_t old = pr->vproc[ev->member];
  if (old != CHECK_NO_PROC && old != j) bad = remove_proc(chk, p, ev->member, old, ev);
  check_proc *pj = &chk->proc[j];
  if (!(chk->admitted & check_bit((size_t)j))) admit(chk, (size_t)j, p, ev->at_us, ev->view);
  /* It joined, but its admitter crashed (or left) before any other member
   * installed that JOIN: p, which never held it, admits it afresh, and j
   * takes that cut and its history (PROTOCOL.md): it catches up again, its
   * views start anew from p's. */
  else if (ev->admitter && pj->joined && pj->restarted && old == CHECK_NO_PROC &&
           pj->coord != CHECK_NO_PROC &&
           !(chk->live & check_bit(pj->coord)) && (size_t)j != p) {
    uint32_t had[CHORUS_CHECK_PROCS_MAX];
    for (size_t q = 0; q < chk->procs; q++) had[q] = pj->pair_next[CHORUS_MSG_ROOM][q];
    pj->joined = 0;
    pj->views_len = 0;
    admit(chk, (size_t)j, p, ev->at_us, ev->view);
    for (size_t q = 0; q < chk->procs; q++) /* what it delivered stays delivered */
      if (had[q] > pj->pair_next[CHORUS_MSG_ROOM][q]) pj->pair_next[CHORUS_MSG_ROOM][q] = had[q];
  }
  /* Its admitter crashed (or left) before any survivor installed that
   * JOIN: the next coordinator admits it anew, a cut it may take. */
  else if (ev->admitter && cut_stranded(chk, (size_t)j) && pr->joined &&
           cut_record(chk, p, ev->at_us, check_bit((size_t)j)))
    bad = 1;
  pr->vproc[ev->member] = (uint8_t)j;
  pr->view |= check_bit((size_t)j);
  pr->merged &= ~check_bit((size_t)j);
  return bad;
}

/* Process p's view becomes the event's member set (its own JOIN): members
 * it knows keep their process, others are their latest admitted one. */
/* Process p's view is `members`, as installed at `at_us` (a newcomer
 * reports it once settled: a member restarted since is not in it). */
static void view_from_mask(chorus_check *chk, size_t p, uint32_t members, uint64_t at_us) {
  check_proc *pr = &chk->proc[p];
  pr->view = check_bit(p);
  for (size_t n = 0; n < chk->nodes; n++) {
    if (!(members & (1u << n))) pr->vproc[n] = CHECK_NO_PROC;
    else if (n == pr->node) pr->vproc[n] = (uint8_t)p;
    else if (pr->vproc[n] == CHECK_NO_PROC) pr->vproc[n] = admitted_proc(chk, n, at_us);
    if (pr->vproc[n] != CHECK_NO_PROC) pr->view |= check_bit(pr->vproc[n]);
  }
}

/* The first message of the owed history that process p has not delivered,
 * or CHECK_NO_INDEX. */
static uint32_t history_missing(const chorus_check *chk, size_t p) {
  const check_proc *pr = &chk->proc[p];
  for (size_t k = 0; k < pr->expect_count; k++)
    if (!(chk->rec[pr->expect[k]].delivered & check_bit(p))) return pr->expect[k];
  return CHECK_NO_INDEX;
}

/* 1 if process q, up and joined, installed the view `members` numbered
 * `num` (as its latest one if `latest`); *at: its global index. */
static int view_installed(const chorus_check *chk, size_t q, uint32_t members,
                          uint32_t num, int latest, size_t *at) {
  const check_proc *pq = &chk->proc[q];
  if (!(chk->live & check_bit(q)) || !pq->joined) return 0;
  for (size_t i = pq->views_len; i-- > 0;) {
    if (pq->views[i] == (uint16_t)members && (latest || pq->vnums[i] == num)) {
      *at = pq->base + i;
      return 1;
    }
    if (latest) return 0;
  }
  return 0;
}

/* The coordinator that admitted p crashed (or left), maybe before its cut
 * left: the next coordinator sent p its cut (PROTOCOL.md), from a later
 * view. p's first view is then that one, not the admission's: its view
 * changes line up from the latest view of a process that stands in that
 * member set; or, if all have moved on since (a change the coordinator
 * queued right after the cut), from the view of that set and number one
 * of them installed. The boots p holds are that process's too where it
 * still stands in that view: those of the admission's view (view_from_mask)
 * may have restarted since, and the later coordinator's cut lists the new
 * boot (the coordinator's own, say) -- the old one is no removal p owes. */
static void rebase_on_resent_cut(chorus_check *chk, size_t p,
                                 const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  if (pr->coord == CHECK_NO_PROC || (chk->live & check_bit(pr->coord)) ||
      pr->views_len != 1)
    return;
  /* Its admitter crashed after p took its cut (p settled late): that cut
   * was its own, not a resent one. */
  if (chk->proc[pr->coord].down_us > installed_at(ev)) return;
  for (int latest = 1; latest >= 0; latest--)
    for (size_t q = 0; q < chk->procs; q++) {
      size_t at;
      if (q == p || !view_installed(chk, q, ev->members, ev->view, latest, &at)) continue;
      pr->base = at;
      if (!latest) return;
      pr->view = check_bit(p);
      for (size_t n = 0; n < chk->nodes; n++) {
        if (n != pr->node) pr->vproc[n] = chk->proc[q].vproc[n];
        if (pr->vproc[n] != CHECK_NO_PROC) pr->view |= check_bit(pr->vproc[n]);
      }
      return;
    }
}

/* Process p, whose admitter is down, installs its own JOIN under a view
 * number other than its admission's: the admitter's cut never reached it,
 * and the one it took is a cut sent again since, which carries its
 * sender's view number then (PROTOCOL.md, view numbers). p owes that
 * cut's history, not the admitter's: a message the admitter alone had
 * delivered before it crashed, the survivors deliver after that cut, in
 * the view p stands in, so p does too, live. The first such cut whose
 * history p holds (a newcomer takes the first cut that reaches it). */
static void take_join_cut(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  if (pr->joined || !cut_stranded(chk, p) || ev->view == pr->admit_view_id) return;
  for (size_t k = 0; k < chk->cuts; k++) {
    const check_cut *cut = &chk->cut[k];
    if (!(cut->to & check_bit(p)) || cut->at_us < pr->admit_us ||
        cut->view_id != ev->view || !cut_fits(chk, cut, p))
      continue;
    admit_again(chk, p, cut);
    return;
  }
}

/* Process p installs its own JOIN: admitted back, its history complete. */
static int self_join(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  take_join_cut(chk, p, ev);
  view_from_mask(chk, p, ev->members, installed_at(ev));
  if (pr->joined) return 0; /* let back in after a (false) removal */
  if (!(chk->admitted & check_bit(p))) {
    chorus_check_fail(chk, "rejoin", ev->at_us, ev->node,
                      "n%zu installed its own JOIN (view %u) before any member "
                      "admitted it", ev->node, (unsigned)ev->view);
    return 1;
  }
  pr->joined = 1;
  pr->join_us = ev->at_us;
  rebase_on_resent_cut(chk, p, ev);
  chk->stats.joined++;
  sample_add(chk, CHORUS_CHECK_REJOIN, ev->at_us - pr->boot_us);
  uint32_t idx = history_missing(chk, p);
  if (idx == CHECK_NO_INDEX) return 0;
  const chorus_check_msg *m = &chk->rec[idx].m;
  chorus_check_fail(chk, "catch_up", ev->at_us, ev->node,
                    "n%zu installed its own JOIN (view %u) without room message from "
                    "n%zu epoch=%u msg_id=%u, one of the last %zu its coordinator "
                    "n%zu had delivered when it admitted it", ev->node,
                    (unsigned)ev->view, m->sender, (unsigned)m->epoch,
                    (unsigned)m->msg_id, chk->hist_max, chk->proc[pr->coord].node);
  return 1;
}

/* A restarted process that nobody admitted yet has no view to change: its
 * core still holds the one it booted with. */
static int before_admission(chorus_check *chk, size_t p,
                            const chorus_check_view_event *ev) {
  if (chk->admitted & check_bit(p)) return 0;
  chorus_check_fail(chk, "rejoin", ev->at_us, ev->node,
                    "n%zu (restarted, epoch %u) installed a view change (%s n%zu, "
                    "members=%x) before any member let it in", ev->node,
                    (unsigned)chk->proc[p].epoch, reason_name(ev->reason), ev->member,
                    (unsigned)ev->members);
  return 1;
}

/* ---- partitions --------------------------------------------------------- */

#define PARTITION_GRACE_US 10000000u /* with no detection bound */

/* Any removal in an episode's window: the nodes on one side install what
 * their coordinator, maybe cut off from `gone` while they are not, decided
 * (a one-way partition A -> B has B remove A, and B's VIEW reach A). */
int check_across_partition(const chorus_check *chk, size_t by, size_t gone,
                           uint64_t at_us) {
  (void)by;
  (void)gone;
  uint64_t grace = chk->detect_bound_us ? chk->detect_bound_us : PARTITION_GRACE_US;
  for (size_t k = 0; k < chk->episodes; k++) {
    const check_episode *e = &chk->episode[k];
    if (e->start_us > at_us) continue;
    if (e->end_us == UINT64_MAX || at_us <= e->end_us + grace) return 1;
  }
  return 0;
}

/* A split closes once every process up holds exactly the processes up. */
static void split_try_close(chorus_check *chk, uint64_t at_us) {
  if (!chk->split_open || !chorus_check_views_settled(chk)) return;
  for (size_t k = 0; k < chk->episodes; k++)
    if (chk->episode[k].end_us == UINT64_MAX) return; /* not healed yet */
  chk->split_open = 0;
  sample_add(chk, CHORUS_CHECK_MERGE,
             at_us > chk->split_heal_us ? at_us - chk->split_heal_us : 0);
}

int chorus_check_partition(chorus_check *chk, uint64_t at_us, uint32_t side_a, int on) {
  if (!chk) return CHORUS_ERR_INVAL;
  if (on) {
    if (chk->episodes == CHECK_EPISODES_MAX) return CHORUS_ERR_QUEUE_FULL;
    check_episode *e = &chk->episode[chk->episodes++];
    e->start_us = at_us;
    e->end_us = UINT64_MAX;
    e->side_a = side_a;
    return 0;
  }
  for (size_t k = chk->episodes; k-- > 0;)
    if (chk->episode[k].side_a == side_a && chk->episode[k].end_us == UINT64_MAX) {
      chk->episode[k].end_us = at_us;
      break;
    }
  chk->split_heal_us = at_us;
  split_try_close(chk, at_us);
  return 0;
}

/* Process p installs a MERGE that brings node ev->member's current process
 * into its view. */
static int merge_in(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  size_t j = chk->cur[ev->member];
  /* One that crashed lately may be merged: its removal is then owed
   * (detection), as for any view that still holds a crashed member. */
  if (j == CHECK_NO_PROC || !(chk->admitted & check_bit(j)) || ev->member == ev->node) {
    chorus_check_fail(chk, "view_agreement", ev->at_us, ev->node,
                      "n%zu merged n%zu into its view (view %u, members=%x), which "
                      "is not admitted, or itself", ev->node, ev->member,
                      (unsigned)ev->view, (unsigned)ev->members);
    return 1;
  }
  int bad = 0;
  uint8_t old = pr->vproc[ev->member];
  if (old != CHECK_NO_PROC && old != j) bad = remove_proc(chk, p, ev->member, old, ev);
  pr->vproc[ev->member] = (uint8_t)j;
  pr->view |= check_bit(j);
  pr->merged |= check_bit(j);
  return bad;
}

static int view_event(chorus_check *chk, size_t p, const chorus_check_view_event *ev);

/* With partitions the sequences of member sets differ by side: each event's
 * member set must then be the view the checker derived from the events so
 * far (the end compares the last ones). */
static int members_match(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  const check_proc *pr = &chk->proc[p];
  uint32_t have = 0;
  for (size_t n = 0; n < chk->nodes; n++)
    if (pr->vproc[n] != CHECK_NO_PROC) have |= 1u << n;
  if (have == ev->members) return 0;
  chorus_check_fail(chk, "view_agreement", ev->at_us, ev->node,
                    "n%zu reported members=%x (view %u, %s n%zu) but its changes so "
                    "far make members=%x", ev->node, (unsigned)ev->members,
                    (unsigned)ev->view, reason_name(ev->reason), ev->member,
                    (unsigned)have);
  return 1;
}

/* view_number: process p's numbers only grow; the events of one change
 * (one instant, one number) share theirs. */
static int view_number(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  check_proc *pr = &chk->proc[p];
  int same_change = ev->view == pr->view_id && pr->view_id_us != 0 &&
                    ev->at_us == pr->view_id_us;
  if (ev->view > pr->view_id || same_change) {
    pr->view_id = ev->view;
    pr->view_id_us = ev->at_us;
    return 0;
  }
  chorus_check_fail(chk, "view_number", ev->at_us, ev->node,
                    "n%zu installed view %u (%s n%zu, members=%x) after view %u",
                    ev->node, (unsigned)ev->view, reason_name(ev->reason), ev->member,
                    (unsigned)ev->members, (unsigned)pr->view_id);
  return 1;
}

int chorus_check_view_now(chorus_check *chk, size_t node, uint32_t view_id, uint64_t at_us) {
  if (!chk || node >= chk->nodes || chk->cur[node] == CHECK_NO_PROC ||
      !(chk->live & check_bit(chk->cur[node])))
    return CHORUS_ERR_INVAL;
  check_proc *pr = &chk->proc[chk->cur[node]];
  if (view_id >= pr->view_id) {
    pr->view_id = view_id; /* a renumbering since its last event */
    return 0;
  }
  chorus_check_fail(chk, "view_number", at_us, node,
                    "n%zu stands at view %u after reporting view %u", node,
                    (unsigned)view_id, (unsigned)pr->view_id);
  return 1;
}

int chorus_check_view(chorus_check *chk, const chorus_check_view_event *ev) {
  if (!chk || !ev || ev->node >= chk->nodes || ev->member >= chk->nodes ||
      chk->cur[ev->node] == CHECK_NO_PROC)
    return CHORUS_ERR_INVAL;
  size_t p = chk->cur[ev->node];
  if (!(chk->live & check_bit(p))) return CHORUS_ERR_INVAL;
  int bad = view_event(chk, p, ev);
  if (!bad && chk->episodes) bad = members_match(chk, p, ev);
  if (!bad) bad = view_number(chk, p, ev);
  split_try_close(chk, ev->at_us);
  return bad;
}

static int view_event(chorus_check *chk, size_t p, const chorus_check_view_event *ev) {
  chk->stats.views++;
  int self = ev->reason == CHORUS_VIEW_JOIN && ev->member == ev->node;
  if (!self && before_admission(chk, p, ev)) return 1;
  int bad = view_record(chk, p, ev);
  if (ev->reason == CHORUS_VIEW_JOIN)
    return (self ? self_join(chk, p, ev) : other_join(chk, p, ev)) || bad;
  if (ev->reason == CHORUS_VIEW_MERGE) return merge_in(chk, p, ev) || bad;
  uint8_t d = chk->proc[p].vproc[ev->member];
  if (d != CHECK_NO_PROC && ev->member != ev->node)
    return remove_proc(chk, p, ev->member, d, ev) || bad;
  chorus_check_fail(chk, "view_agreement", ev->at_us, ev->node,
                    "n%zu removed n%zu (reason %s, members=%x), which its view did "
                    "not hold", ev->node, ev->member, reason_name(ev->reason),
                    (unsigned)ev->members);
  return 1;
}

int chorus_check_removed(chorus_check *chk, uint64_t at_us, size_t node,
                         size_t member) {
  (void)at_us;
  if (!chk || node >= chk->nodes || member >= chk->nodes || node == member ||
      chk->cur[node] == CHECK_NO_PROC)
    return CHORUS_ERR_INVAL;
  check_proc *pr = &chk->proc[chk->cur[node]];
  uint8_t d = pr->vproc[member];
  if (d == CHECK_NO_PROC) return CHORUS_ERR_INVAL;
  pr->vproc[member] = CHECK_NO_PROC;
  pr->view &= ~check_bit(d);
  return 0;
}

int chorus_check_in_view(const chorus_check *chk, size_t node, size_t member) {
  if (!chk || node >= chk->nodes || member >= chk->nodes ||
      chk->cur[node] == CHECK_NO_PROC || chk->cur[member] == CHECK_NO_PROC)
    return 0;
  return chk->proc[chk->cur[node]].vproc[member] == chk->cur[member];
}

uint32_t chorus_check_view_epoch(const chorus_check *chk, size_t node,
                                 size_t member) {
  if (!chk || node >= chk->nodes || member >= chk->nodes ||
      chk->cur[node] == CHECK_NO_PROC)
    return 0;
  uint8_t d = chk->proc[chk->cur[node]].vproc[member];
  return d == CHECK_NO_PROC ? 0 : chk->proc[d].epoch;
}

int chorus_check_views_settled(const chorus_check *chk) {
  check_mask in = chk->live & chk->admitted;
  for (size_t p = 0; p < chk->procs; p++) {
    if (!(chk->live & check_bit(p))) continue;
    if (!chk->proc[p].joined) return 0;
    for (size_t n = 0; n < chk->nodes; n++) {
      uint8_t want = chk->cur[n];
      if (want == CHECK_NO_PROC || !(in & check_bit(want))) want = CHECK_NO_PROC;
      if (chk->proc[p].vproc[n] != want) return 0;
    }
  }
  return 1;
}

/* ---- the end ------------------------------------------------------------ */

/* Every process up has joined and removed every crashed one it held. */
static int finish_members(chorus_check *chk, uint64_t at_us) {
  for (size_t p = 0; p < chk->procs; p++) {
    const check_proc *pr = &chk->proc[p];
    if (!(chk->live & check_bit(p))) continue;
    if (!pr->joined) {
      chorus_check_fail(chk, "rejoin", at_us, pr->node,
                        "n%zu restarted at %llu us (epoch %u) and was never let "
                        "back in (no JOIN of its own)", pr->node,
                        (unsigned long long)pr->boot_us, (unsigned)pr->epoch);
      return 1;
    }
    for (size_t n = 0; n < chk->nodes; n++) {
      uint8_t d = pr->vproc[n];
      if (d == CHECK_NO_PROC || (chk->live & check_bit(d))) continue;
      int left = (chk->left & check_bit(d)) != 0;
      chorus_check_fail(chk, left ? "leave" : "detection", at_us, pr->node,
                        "n%zu never removed %s n%zu (epoch %u, %s at %llu us)", pr->node,
                        left ? "departed" : "crashed", n, (unsigned)chk->proc[d].epoch,
                        left ? "left" : "crashed", (unsigned long long)chk->proc[d].down_us);
      return 1;
    }
  }
  return 0;
}

/* Process p's member sets against those already laid out by global
 * index; 1 on a difference (recorded). */
static int agree_one(chorus_check *chk, size_t p, uint64_t at_us) {
  const check_proc *pr = &chk->proc[p];
  for (size_t i = 0; i < pr->views_len; i++) {
    size_t g = pr->base + i;
    if (g >= chk->gview_max) return 0;
    if (chk->gowner[g] == CHECK_NO_PROC) {
      chk->gowner[g] = (uint8_t)p;
      chk->gview[g] = pr->views[i];
      chk->gnum[g] = pr->vnums[i];
    } else if (chk->gview[g] != pr->views[i] || chk->gnum[g] != pr->vnums[i]) {
      size_t o = chk->gowner[g];
      chorus_check_fail(chk, "view_agreement", at_us, pr->node,
                        "n%zu's view change #%zu is view %u with members=%x but "
                        "n%zu's is view %u with members=%x", pr->node, g + 1,
                        (unsigned)pr->vnums[i], (unsigned)pr->views[i],
                        chk->proc[o].node, (unsigned)chk->gnum[g],
                        (unsigned)chk->gview[g]);
      return 1;
    }
  }
  return 0;
}

/* After partitions: the processes up that were let in stand at one view
 * number (the merges numbered the merged views above both sides'). */
static int finish_numbers(chorus_check *chk, uint64_t at_us) {
  size_t first = CHECK_NO_PROC;
  for (size_t p = 0; p < chk->procs; p++) {
    const check_proc *pr = &chk->proc[p];
    if (!(chk->live & check_bit(p)) || !pr->joined) continue;
    if (first == CHECK_NO_PROC) first = p;
    if (pr->view_id == chk->proc[first].view_id) continue;
    chorus_check_fail(chk, "view_agreement", at_us, pr->node,
                      "after the partitions healed, n%zu stands at view %u but n%zu "
                      "at view %u", pr->node, (unsigned)pr->view_id,
                      chk->proc[first].node, (unsigned)chk->proc[first].view_id);
    return 1;
  }
  return 0;
}

/* After partitions: every process up stands in one view holding every
 * process up (the sequences before differ by side). */
static int finish_merged(chorus_check *chk, uint64_t at_us) {
  if (chorus_check_views_settled(chk)) return finish_numbers(chk, at_us);
  for (size_t p = 0; p < chk->procs; p++) {
    const check_proc *pr = &chk->proc[p];
    if (!(chk->live & check_bit(p))) continue;
    for (size_t n = 0; n < chk->nodes; n++) {
      uint8_t want = chk->cur[n];
      if (want == CHECK_NO_PROC || !(chk->live & chk->admitted & check_bit(want)))
        want = CHECK_NO_PROC;
      if (pr->vproc[n] == want) continue;
      chorus_check_fail(chk, "view_agreement", at_us, pr->node,
                        "after the partitions healed, n%zu's view %s n%zu, which "
                        "is %s", pr->node, want == CHECK_NO_PROC ? "holds" : "lacks",
                        n, want == CHECK_NO_PROC ? "down" : "up");
      return 1;
    }
  }
  return 0;
}

/* The survivors installed the same member sets and stand at the same one. */
static int finish_agreement(chorus_check *chk, uint64_t at_us) {
  if (chk->episodes) return finish_merged(chk, at_us);
  memset(chk->gowner, CHECK_NO_PROC, chk->gview_max);
  size_t first = CHECK_NO_PROC;
  for (size_t p = 0; p < chk->procs; p++) {
    const check_proc *pr = &chk->proc[p];
    if (!(chk->live & check_bit(p)) || !pr->joined) continue;
    if (agree_one(chk, p, at_us)) return 1;
    if (first == CHECK_NO_PROC) {
      first = p;
      continue;
    }
    const check_proc *pf = &chk->proc[first];
    if (pr->base + pr->views_len == pf->base + pf->views_len) continue;
    chorus_check_fail(chk, "view_agreement", at_us, pr->node,
                      "n%zu stands at view change #%zu but n%zu at #%zu", pr->node,
                      pr->base + pr->views_len, pf->node, pf->base + pf->views_len);
    return 1;
  }
  return 0;
}

int check_finish_views(chorus_check *chk, uint64_t at_us) {
  return finish_members(chk, at_us) || finish_agreement(chk, at_us);
}
