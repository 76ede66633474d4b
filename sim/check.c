/*
 * The checker's message side (check.h): the message table, obligations,
 * and each delivery's integrity, exactly-once, FIFO, causal, total and safe
 * checks, liveness and agreement at the end. Processes, views, catch-up
 * and detection are in check_view.c.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "err.h"
#include "prng.h"

#define LAT_CLASS_SHIFT 58
#define LAT_VALUE_MAX (((uint64_t)1 << LAT_CLASS_SHIFT) - 1)

static unsigned popcount(check_mask v) {
  unsigned c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}

static int alloc_tables(chorus_check *chk) {
  size_t slots = 1;
  while (slots < 2 * chk->messages_max) slots <<= 1;
  chk->index_mask = slots - 1;
  chk->rec = malloc(chk->messages_max * sizeof *chk->rec);
  chk->rec_past = malloc(chk->messages_max * chk->procs_max * sizeof *chk->rec_past);
  chk->rec_tpos = malloc(CHECK_SPACES * chk->messages_max * chk->procs_max *
                         sizeof *chk->rec_tpos);
  chk->rec_tview = malloc(chk->messages_max * chk->procs_max * sizeof *chk->rec_tview);
  chk->rec_tsrc = malloc(chk->messages_max * chk->procs_max);
  chk->index = malloc(slots * sizeof *chk->index);
  chk->latency_max = chk->messages_max * chk->procs_max;
  chk->latency_us = malloc(chk->latency_max * sizeof *chk->latency_us);
  chk->text_buf = malloc(CHORUS_MSG_BYTES_MAX);
  if (!chk->rec || !chk->rec_past || !chk->rec_tpos || !chk->rec_tview || !chk->rec_tsrc ||
      !chk->index ||
      !chk->latency_us || !chk->text_buf)
    return CHORUS_ERR_NOMEM;
  for (size_t i = 0; i < slots; i++) chk->index[i] = CHECK_NO_INDEX;
  return 0;
}

static int check_config_valid(const chorus_check_config *cfg) {
  return cfg->nodes >= 1 && cfg->nodes <= CHORUS_MEMBERS_MAX &&
         cfg->messages_max >= 1 && cfg->messages_max <= CHORUS_CHECK_MESSAGES_MAX &&
         cfg->restarts_max <= CHORUS_CHECK_PROCS_MAX - cfg->nodes &&
         cfg->history_msgs <= CHORUS_CHECK_HISTORY_MAX;
}

int chorus_check_new(const chorus_check_config *cfg, chorus_check **out) {
  if (!cfg || !out) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (!check_config_valid(cfg)) return CHORUS_ERR_CONFIG;
  chorus_check *chk = calloc(1, sizeof *chk);
  if (!chk) return CHORUS_ERR_NOMEM;
  chk->nodes = cfg->nodes;
  chk->messages_max = cfg->messages_max;
  chk->procs_max = cfg->nodes + cfg->restarts_max;
  chk->hist_max = cfg->history_msgs;
  chk->detect_bound_us = cfg->detect_bound_us;
  int rc = alloc_tables(chk);
  if (!rc) rc = check_procs_new(chk, cfg);
  if (rc) {
    chorus_check_free(chk);
    return rc;
  }
  *out = chk;
  return 0;
}

void chorus_check_free(chorus_check *chk) {
  if (!chk) return;
  free(chk->rec);
  free(chk->rec_past);
  free(chk->rec_tpos);
  free(chk->rec_tview);
  free(chk->rec_tsrc);
  free(chk->index);
  free(chk->latency_us);
  free(chk->text_buf);
  check_procs_free(chk);
  free(chk);
}

/* Maps the low byte of r onto the 95 printable characters 0x20..0x7e by
 * scaling (cheaper than a modulo). */
static uint8_t printable(uint64_t r) {
  return (uint8_t)(0x20 + (((r & 0xff) * 95) >> 8));
}

void chorus_check_text(uint64_t key, uint8_t *buf, size_t len_bytes) {
  chorus_prng p;
  chorus_prng_init(&p, key);
  /* Eight characters per draw, taken from the low byte up, so the text does
   * not depend on the host's byte order. */
  size_t i = 0;
  for (; i + 8 <= len_bytes; i += 8) {
    uint64_t r = chorus_prng_next(&p);
    for (int k = 0; k < 8; k++) buf[i + (size_t)k] = printable(r >> (8 * k));
  }
  uint64_t r = chorus_prng_next(&p);
  for (; i < len_bytes; i++, r >>= 8) buf[i] = printable(r);
}

void chorus_check_fail(chorus_check *chk, const char *property, uint64_t at_us,
                       size_t node, const char *fmt, ...) {
  chk->stats.violations++;
  if (chk->failed) return;
  chk->failed = 1;
  chk->first.property = property;
  chk->first.at_us = at_us;
  chk->first.node = node;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(chk->first.detail, sizeof chk->first.detail, fmt, ap);
  va_end(ap);
}

/* ---- the message table ------------------------------------------------ */

static size_t key_hash(size_t sender, int kind, uint32_t epoch, uint32_t msg_id) {
  uint64_t h = ((uint64_t)epoch << 32 | msg_id) * 0x9E3779B97F4A7C15ull;
  h ^= ((uint64_t)sender << 1 | (uint64_t)kind) * 0xBF58476D1CE4E5B9ull;
  return (size_t)(h ^ (h >> 29));
}

/* Returns the table position holding (sender, kind, epoch, msg_id), or the
 * empty position where it would go. The table is never more than half full. */
static size_t find_pos(const chorus_check *chk, size_t sender, int kind,
                       uint32_t epoch, uint32_t msg_id) {
  size_t pos = key_hash(sender, kind, epoch, msg_id) & chk->index_mask;
  for (;;) {
    uint32_t i = chk->index[pos];
    if (i == CHECK_NO_INDEX) return pos;
    const chorus_check_msg *m = &chk->rec[i].m;
    if (m->sender == sender && (int)m->kind == kind && m->epoch == epoch &&
        m->msg_id == msg_id)
      return pos;
    pos = (pos + 1) & chk->index_mask;
  }
}

static check_rec *find(chorus_check *chk, size_t sender, int kind, uint32_t epoch,
                       uint32_t msg_id) {
  uint32_t i = chk->index[find_pos(chk, sender, kind, epoch, msg_id)];
  return i == CHECK_NO_INDEX ? NULL : &chk->rec[i];
}

static const char *kind_name(enum chorus_msg_kind k) {
  return k == CHORUS_MSG_ROOM ? "room" : "private";
}

static int msg_valid(const chorus_check *chk, const chorus_check_msg *m) {
  if (m->sender >= chk->nodes || m->len_bytes == 0 ||
      m->len_bytes > CHORUS_MSG_BYTES_MAX)
    return 0;
  if (m->kind == CHORUS_MSG_ROOM) return m->order <= CHORUS_ORDER_SAFE;
  return m->kind == CHORUS_MSG_PRIVATE && m->to < chk->nodes && m->to != m->sender;
}

/* The sending process of *m: the sender node's current one, up, of m's
 * epoch (a first boot of unknown epoch takes it); -1 if there is none. */
static int sender_proc(chorus_check *chk, const chorus_check_msg *m) {
  size_t p = chk->cur[m->sender];
  if (p == CHECK_NO_PROC) return -1;
  check_proc *s = &chk->proc[p];
  if (!(chk->live & check_bit(p))) return -1;
  if (s->epoch == 0) s->epoch = m->epoch;
  return s->epoch == m->epoch ? (int)p : -1;
}

/*
 * Recomputes what record r is owed now: by every live process it is
 * addressed to, except that a crashed process's message is owed only once a
 * live process delivered it (agreement: all survivors or none). Keeps the
 * outstanding count and the obligation count in step.
 */
void check_obligation_update(chorus_check *chk, check_rec *r) {
  check_mask want = r->addressed & chk->live;
  if (!((chk->live | chk->left) & check_bit(r->sp)) && !(r->delivered & chk->live)) want = 0;
  if (want == r->intended) return;
  chk->outstanding -= popcount(r->intended & ~r->delivered);
  chk->outstanding += popcount(want & ~r->delivered);
  chk->stats.obligations -= popcount(r->intended);
  chk->stats.obligations += popcount(want);
  r->intended = want;
}

/* Assigns the message its FIFO rank and its receivers and, for a room
 * message, its causal past: everything in its sender's past, and the
 * sender's earlier ones. */
static void add_obligations(chorus_check *chk, check_rec *r, size_t idx) {
  check_proc *s = &chk->proc[r->sp];
  if (r->m.kind == CHORUS_MSG_ROOM) {
    uint32_t *past = check_rec_past(chk, idx);
    r->fifo_pos = s->room_sent++;
    r->addressed = chk->admitted;
    memcpy(past, s->past, chk->procs_max * sizeof *past);
    past[r->sp] = r->fifo_pos;
    s->past[r->sp] = r->fifo_pos + 1;
  } else {
    r->fifo_pos = s->priv_sent[r->m.to]++;
    r->addressed = chk->cur[r->m.to] == CHECK_NO_PROC ? 0 : check_bit(chk->cur[r->m.to]);
  }
  check_obligation_update(chk, r);
}

int chorus_check_sent(chorus_check *chk, const chorus_check_msg *m) {
  if (!chk || !m || !msg_valid(chk, m)) return CHORUS_ERR_INVAL;
  int sp = sender_proc(chk, m);
  if (sp < 0) return CHORUS_ERR_INVAL;
  size_t pos = find_pos(chk, m->sender, (int)m->kind, m->epoch, m->msg_id);
  if (chk->index[pos] != CHECK_NO_INDEX) {
    chorus_check_fail(chk, "unique_id", m->at_us, m->sender,
                      "n%zu reused epoch=%u msg_id=%u for a second %s message",
                      m->sender, (unsigned)m->epoch, (unsigned)m->msg_id,
                      kind_name(m->kind));
    return 1;
  }
  if (chk->rec_count == chk->messages_max) return CHORUS_ERR_QUEUE_FULL;
  check_rec *r = &chk->rec[chk->rec_count];
  memset(r, 0, sizeof *r);
  for (size_t sp_i = 0; sp_i < CHECK_SPACES; sp_i++) /* delivered in no space yet */
    memset(check_rec_tpos(chk, chk->rec_count, sp_i), 0xff,
           chk->procs_max * sizeof(uint32_t));
  r->m = *m;
  r->sp = (uint8_t)sp;
  add_obligations(chk, r, chk->rec_count);
  chk->index[pos] = (uint32_t)chk->rec_count++;
  chk->stats.messages++;
  return 0;
}

int chorus_check_held(chorus_check *chk, uint64_t at_us, size_t holder,
                      size_t sender, uint32_t epoch, uint32_t msg_id) {
  if (!chk || holder >= chk->nodes || sender >= chk->nodes ||
      chk->cur[holder] == CHECK_NO_PROC)
    return CHORUS_ERR_INVAL;
  check_rec *r = find(chk, sender, CHORUS_MSG_ROOM, epoch, msg_id);
  if (!r) {
    chorus_check_fail(chk, "integrity", at_us, holder,
                      "n%zu holds room message from n%zu epoch=%u msg_id=%u: "
                      "no such message was sent", holder, sender,
                      (unsigned)epoch, (unsigned)msg_id);
    return 1;
  }
  r->held |= check_bit(chk->cur[holder]);
  return 0;
}

/* ---- deliveries --------------------------------------------------------- */

/* Describes a delivery for a violation report. */
#define DLV_FMT "n%zu delivered %s%s message from n%zu epoch=%u msg_id=%u len=%zu"
#define DLV_ARGS(d)                                                        \
  (d)->receiver, (d)->history ? "(as history) " : "", kind_name((d)->kind), \
      (d)->sender, (unsigned)(d)->epoch, (unsigned)(d)->msg_id, (d)->len_bytes

static int fail_delivery(chorus_check *chk, const char *property,
                         const chorus_check_delivery *d, const char *why) {
  chorus_check_fail(chk, property, d->at_us, d->receiver, DLV_FMT ": %s",
                    DLV_ARGS(d), why);
  return 1;
}

/* 1 if process p may deliver record r: it is meant for p, or it is a
 * private message sent to an earlier boot of p's node, which crashed (a
 * core may hand it to the next boot, or not; the earlier boot may have
 * delivered it too: another receiver). */
static int meant_for(const chorus_check *chk, const check_rec *r, size_t p) {
  if (r->addressed & check_bit(p)) return 1;
  if (r->m.kind != CHORUS_MSG_PRIVATE) return 0;
  check_mask earlier = chk->of_node[chk->proc[p].node] & (check_bit(p) - 1);
  return (r->addressed & earlier & ~chk->live) != 0;
}

/* Why a found message does not match the delivery at process p, or NULL if
 * it does. */
static const char *mismatch(chorus_check *chk, const check_rec *r,
                            const chorus_check_delivery *d, size_t p) {
  if (!meant_for(chk, r, p)) return "it was not meant for this receiver (this boot of it)";
  if (d->kind == CHORUS_MSG_ROOM && d->order != r->m.order)
    return "it was sent with another order";
  if (r->m.len_bytes != d->len_bytes || !d->text)
    return "its length differs from the one sent";
  chorus_check_text(r->m.text_key, chk->text_buf, r->m.len_bytes);
  if (memcmp(chk->text_buf, d->text, d->len_bytes) != 0)
    return "its bytes differ from the ones sent";
  return NULL;
}

/* A room message a restarted process delivers that was never meant for it:
 * it came before the history it was owed (CATCH-UP), or before anybody
 * admitted it. */
static const char *before_catch_up(chorus_check *chk, const check_rec *r,
                                   const chorus_check_delivery *d, size_t p) {
  if (r->m.kind != CHORUS_MSG_ROOM || !chk->proc[p].restarted) return NULL;
  if (d->history) check_history_cut(chk, r, p); /* it may take a resent cut */
  if (meant_for(chk, r, p)) return NULL;
  if (!(chk->admitted & check_bit(p))) return "no member had let this node in yet";
  return "it comes before the history this restarted node was owed (its "
         "coordinator had delivered it before its last history_msgs)";
}

/* Integrity: returns the record, or NULL after recording the violation. */
static check_rec *check_integrity(chorus_check *chk, const chorus_check_delivery *d) {
  const char *why = NULL, *property = "integrity";
  check_rec *r = NULL;
  if (d->receiver >= chk->nodes || d->sender >= chk->nodes ||
      (d->kind != CHORUS_MSG_ROOM && d->kind != CHORUS_MSG_PRIVATE))
    why = "node index or kind out of range";
  else if (!(r = find(chk, d->sender, (int)d->kind, d->epoch, d->msg_id)))
    why = "no such message was sent";
  else if ((why = before_catch_up(chk, r, d, chk->cur[d->receiver])) != NULL)
    property = "catch_up";
  else
    why = mismatch(chk, r, d, chk->cur[d->receiver]);
  if (why) {
    fail_delivery(chk, property, d, why);
    return NULL;
  }
  return r;
}

static void record_latency(chorus_check *chk, const check_rec *r, uint64_t at_us) {
  uint64_t cls = r->m.kind == CHORUS_MSG_ROOM ? (uint64_t)r->m.order
                                              : CHORUS_CHECK_CLASS_PRIVATE;
  uint64_t us = at_us >= r->m.at_us ? at_us - r->m.at_us : 0;
  if (us > LAT_VALUE_MAX) us = LAT_VALUE_MAX;
  /* One slot per (message, process) exists, each delivered once at most. */
  if (chk->latency_count < chk->latency_max)
    chk->latency_us[chk->latency_count++] = cls << LAT_CLASS_SHIFT | us;
}

static int check_fifo(chorus_check *chk, const check_rec *r,
                      const chorus_check_delivery *d, size_t p) {
  uint32_t *next = &chk->proc[p].pair_next[d->kind][r->sp];
  uint32_t expected = *next, got = r->fifo_pos;
  /* Resynchronise after a violation so one fault is reported once. */
  *next = got + 1;
  if (got == expected) return 0;
  /* Private messages sent to an earlier boot may be skipped. */
  if (d->kind == CHORUS_MSG_PRIVATE && got > expected &&
      got <= chk->proc[p].priv_start[r->sp])
    return 0;
  char why[112];
  snprintf(why, sizeof why, "it is the sender's %s message #%u to this receiver "
           "(counting from 1) but #%u was due", kind_name(d->kind),
           (unsigned)got + 1, (unsigned)expected + 1);
  return fail_delivery(chk, "fifo", d, why);
}

/*
 * Causal: every room message in m's causal past is delivered at process p
 * first, except messages of a crashed process that p then never delivers.
 * A fifo message is delivered without waiting for its past, so a message
 * only crashed processes ever delivered (a crashed sequencer's own
 * numbering, non-uniform) can enter the past of a survivor's message;
 * validity owes that message to every survivor, and none can deliver what
 * it depends on (ORDERING.md). Such a dependency is recorded (forgone): a
 * later delivery of it at p is the violation (check_forgone), and a
 * survivor that delivers it obliges p too (liveness). Called before this
 * delivery is counted.
 */
static int check_causal(chorus_check *chk, const check_rec *r,
                        const chorus_check_delivery *d, size_t p) {
  const uint32_t *past = check_rec_past(chk, (size_t)(r - chk->rec));
  for (size_t q = 0; q < chk->procs; q++) {
    if (q == r->sp) continue; /* FIFO covers the sender's own */
    uint32_t have = chk->proc[p].pair_next[CHORUS_MSG_ROOM][q];
    if (have >= past[q]) continue;
    if (!((chk->live | chk->left) & check_bit(q))) {
      if (past[q] > chk->proc[p].forgone[q]) chk->proc[p].forgone[q] = past[q];
      continue;
    }
    size_t j = chk->proc[q].node;
    char why[200];
    snprintf(why, sizeof why, "n%zu's room message #%u happened before it "
             "(directly or transitively), but this receiver has delivered only "
             "%u of n%zu's", j, (unsigned)past[q], (unsigned)have, j);
    return fail_delivery(chk, "causal", d, why);
  }
  return 0;
}

/* A room message of a crashed process that an earlier delivery at p
 * depended on (check_causal's forgone) comes after it: causal. */
static int check_forgone(chorus_check *chk, const check_rec *r,
                         const chorus_check_delivery *d, size_t p) {
  uint32_t forgone = chk->proc[p].forgone[r->sp];
  if (r->fifo_pos >= forgone) return 0;
  char why[160];
  snprintf(why, sizeof why, "it is the sender's room message #%u, and this "
           "receiver delivered first one that depended on its #%u",
           (unsigned)r->fifo_pos + 1, (unsigned)forgone);
  return fail_delivery(chk, "causal", d, why);
}

/* Adds the delivered room message's past to process p's causal past. */
static void causal_learn(chorus_check *chk, const check_rec *r, size_t p) {
  const uint32_t *past = check_rec_past(chk, (size_t)(r - chk->rec));
  uint32_t *mine = chk->proc[p].past;
  for (size_t q = 0; q < chk->procs; q++)
    if (past[q] > mine[q]) mine[q] = past[q];
  if (r->fifo_pos + 1 > mine[r->sp]) mine[r->sp] = r->fifo_pos + 1;
}

/*
 * Total order, pairwise: process a now delivers m as its pos-th total
 * message of order space `space` (live or merge deliveries, check.h
 * PARTITIONS). For every live process b that delivered m in the same space,
 * every message both delivered there before now must precede m at b: their
 * largest position at b (common_max) must be below m's. Then m joins what a
 * and b have in common. Messages b delivers later are checked from b's side
 * when it does. Called before this delivery is counted; the bookkeeping is
 * done even when the check fails.
 */
static int total_step(chorus_check *chk, check_rec *r, const chorus_check_delivery *d,
                      size_t a, size_t space) {
  uint32_t idx = (uint32_t)(r - chk->rec);
  uint32_t *tpos = check_rec_tpos(chk, idx, space);
  check_proc *pa = &chk->proc[a];
  check_mask *tview = chk->rec_tview + idx * chk->procs_max;
  uint8_t *tsrc = chk->rec_tsrc + idx * chk->procs_max;
  uint32_t pos = pa->total_count[space]++;
  int bad = 0;
  tpos[a] = pos;
  tview[a] = pa->view;
  tsrc[a] = (uint8_t)(d->merge ? d->merge_from : CHORUS_MEMBERS_MAX);
  for (size_t b = 0; b < chk->procs; b++) {
    /* Total order binds the processes that stay up (ORDERING.md): a crashed
     * sequencer may have delivered its own numbering that nobody else saw. */
    if (b == a || !(r->delivered & check_bit(b)) || !(chk->live & check_bit(b)) ||
        tpos[b] == CHECK_NO_INDEX)
      continue;
    /* With partitions, deliveries bind two processes only where each had
     * the other in its view as it delivered (total order is per view; two
     * sides both go on; a merge's order binds the side it merges into). */
    if (chk->episodes &&
        (!(pa->view & check_bit(b)) || !(tview[b] & check_bit(a)) || tsrc[b] != tsrc[a]))
      continue;
    uint32_t pb = tpos[b];
    if (!bad && pa->common_max[space][b] > pb + 1) {
      const chorus_check_msg *o = &chk->rec[pa->common_arg[space][b]].m;
      char why[200];
      snprintf(why, sizeof why, "n%zu delivered it (its %s #%u) before n%zu's "
               "msg_id=%u (its %s #%u), which this node delivered first",
               chk->proc[b].node, space ? "merge" : "total", (unsigned)pb + 1,
               o->sender, (unsigned)o->msg_id, space ? "merge" : "total",
               (unsigned)pa->common_max[space][b]);
      bad = fail_delivery(chk, space ? "merge_order" : "total_order", d, why);
    }
    if (pb + 1 > pa->common_max[space][b]) {
      pa->common_max[space][b] = pb + 1;
      pa->common_arg[space][b] = idx;
    }
    chk->proc[b].common_max[space][a] = pos + 1;
    chk->proc[b].common_arg[space][a] = idx;
  }
  return bad;
}

/* Safe: every member of process p's view reported holding m. The receiver
 * itself holds what it delivers (a core may report that after the
 * delivery, in the same round of outputs). */
static int check_safe(chorus_check *chk, check_rec *r, const chorus_check_delivery *d,
                      size_t p) {
  r->held |= check_bit(p);
  check_mask missing = chk->proc[p].view & ~r->held;
  if (!missing) return 0;
  size_t q = 0;
  while (!(missing & check_bit(q))) q++;
  char why[112];
  snprintf(why, sizeof why, "n%zu, in this node's view, had not reported "
           "holding it", chk->proc[q].node);
  return fail_delivery(chk, "safe", d, why);
}

/* Order properties of a room delivery at process p, each by the message's
 * own order; 1 if one failed (the first failure is the one recorded). */
static int check_room_order(chorus_check *chk, check_rec *r,
                            const chorus_check_delivery *d, size_t p) {
  enum chorus_order o = r->m.order;
  int bad = check_forgone(chk, r, d, p);
  if (o >= CHORUS_ORDER_CAUSAL) bad |= check_causal(chk, r, d, p);
  if (o >= CHORUS_ORDER_TOTAL) bad |= total_step(chk, r, d, p, d->merge ? 1 : 0);
  if (o == CHORUS_ORDER_SAFE && !d->history && !d->merge) bad |= check_safe(chk, r, d, p);
  causal_learn(chk, r, p);
  check_ring_push(chk, p, (uint32_t)(r - chk->rec));
  return bad;
}

int chorus_check_deliver(chorus_check *chk, const chorus_check_delivery *d) {
  if (!chk || !d) return CHORUS_ERR_INVAL;
  check_rec *r = check_integrity(chk, d);
  if (!r) return 1;
  if (chk->cur[d->receiver] == CHECK_NO_PROC) {
    chorus_check_fail(chk, "integrity", d->at_us, d->receiver,
                      "n%zu delivered a message before it ever joined", d->receiver);
    return 1;
  }
  size_t p = chk->cur[d->receiver];
  check_mask bit = check_bit(p);
  if (r->delivered & bit) {
    chk->stats.duplicates++;
    return fail_delivery(chk, "exactly_once", d, "delivered a second time");
  }
  if (!(chk->live & bit)) {
    /* The driver must not feed deliveries from a crashed node. */
    return fail_delivery(chk, "wellformed", d, "this node had crashed");
  }
  int bad = d->history && check_history(chk, r, p, d);
  if (d->kind == CHORUS_MSG_ROOM) bad |= check_room_order(chk, r, d, p);
  if (r->intended & bit) chk->outstanding--;
  r->delivered |= bit;
  if (d->kind == CHORUS_MSG_ROOM) r->held |= bit; /* what it delivered it holds
                                                      (a merge delivery makes
                                                      no HELD report) */
  /* A survivor delivered a crashed sender's message: now all survivors owe it. */
  if (!(chk->live & check_bit(r->sp))) check_obligation_update(chk, r);
  chk->stats.delivered++;
  if (d->history) chk->stats.history++;
  else if (d->merge) chk->stats.merged++;
  else if (p != r->sp) record_latency(chk, r, d->at_us);
  return check_fifo(chk, r, d, p) || bad;
}

int chorus_check_crash(chorus_check *chk, uint64_t at_us, size_t node) {
  if (!chk || node >= chk->nodes || chk->cur[node] == CHECK_NO_PROC) return CHORUS_ERR_INVAL;
  size_t p = chk->cur[node];
  if (!(chk->live & check_bit(p))) return CHORUS_ERR_INVAL;
  chk->live &= ~check_bit(p);
  chk->proc[p].down_us = at_us;
  chk->stats.crashed++;
  for (size_t i = 0; i < chk->rec_count; i++) check_obligation_update(chk, &chk->rec[i]);
  return 0;
}

int chorus_check_leave(chorus_check *chk, uint64_t at_us, size_t node) {
  if (!chk || node >= chk->nodes || chk->cur[node] == CHECK_NO_PROC) return CHORUS_ERR_INVAL;
  size_t p = chk->cur[node];
  if (!(chk->live & check_bit(p))) return CHORUS_ERR_INVAL;
  chk->live &= ~check_bit(p);
  chk->left |= check_bit(p);
  chk->proc[p].down_us = at_us;
  for (size_t i = 0; i < chk->rec_count; i++) check_obligation_update(chk, &chk->rec[i]);
  return 0;
}

/* ---- the end ------------------------------------------------------------ */

/* The lowest process that is up, or CHECK_NO_PROC. */
static size_t lowest_live(const chorus_check *chk) {
  for (size_t p = 0; p < chk->procs; p++)
    if (chk->live & check_bit(p)) return p;
  return CHECK_NO_PROC;
}

/* Agreement counters: crashed senders' room messages delivered by every
 * survivor that owes them or by none, and the survivors' room delivery
 * count. */
static void agreement_count(chorus_check *chk) {
  chk->stats.agreed_all = chk->stats.agreed_none = 0;
  for (size_t i = 0; i < chk->rec_count; i++) {
    const check_rec *r = &chk->rec[i];
    if (r->m.kind != CHORUS_MSG_ROOM || ((chk->live | chk->left) & check_bit(r->sp)))
      continue;
    check_mask want = r->addressed & chk->live, got = r->delivered & want;
    if (got == want) chk->stats.agreed_all++;
    else if (got == 0) chk->stats.agreed_none++;
  }
  size_t p = lowest_live(chk);
  chk->stats.survivor_room = p == CHECK_NO_PROC ? 0 : chk->proc[p].room_dlv;
}

static void fail_missing(chorus_check *chk, const check_rec *r, uint64_t at_us) {
  check_mask missing = r->intended & ~r->delivered;
  size_t to = 0, by = 0;
  while (!(missing & check_bit(to))) to++;
  const check_proc *pt = &chk->proc[to];
  size_t node = pt->node;
  unsigned long long owed = (unsigned long long)chk->outstanding;
  if (pt->restarted && r->m.at_us < pt->admit_us) {
    chorus_check_fail(chk, "catch_up", at_us, node,
                      "n%zu (restarted, epoch %u, admitted at %llu us) never "
                      "delivered %s message from n%zu epoch=%u msg_id=%u sent at "
                      "%llu us (%llu deliveries missing)", node, (unsigned)pt->epoch,
                      (unsigned long long)pt->admit_us, kind_name(r->m.kind),
                      r->m.sender, (unsigned)r->m.epoch, (unsigned)r->m.msg_id,
                      (unsigned long long)r->m.at_us, owed);
    return;
  }
  if ((chk->live | chk->left) & check_bit(r->sp)) {
    chorus_check_fail(chk, "liveness", at_us, node,
                      "n%zu never delivered %s message from n%zu epoch=%u "
                      "msg_id=%u len=%zu sent at %llu us (%llu deliveries missing)",
                      node, kind_name(r->m.kind), r->m.sender, (unsigned)r->m.epoch,
                      (unsigned)r->m.msg_id, r->m.len_bytes,
                      (unsigned long long)r->m.at_us, owed);
    return;
  }
  check_mask had = r->delivered & chk->live;
  while (!(had & check_bit(by))) by++;
  chorus_check_fail(chk, "agreement", at_us, node,
                    "n%zu never delivered %s message from crashed n%zu epoch=%u "
                    "msg_id=%u sent at %llu us, which survivor n%zu delivered "
                    "(%llu deliveries missing)", node, kind_name(r->m.kind),
                    r->m.sender, (unsigned)r->m.epoch, (unsigned)r->m.msg_id,
                    (unsigned long long)r->m.at_us, chk->proc[by].node, owed);
}

int chorus_check_finish(chorus_check *chk, uint64_t at_us) {
  agreement_count(chk);
  int bad = 0;
  for (size_t i = 0; chk->outstanding && i < chk->rec_count; i++) {
    const check_rec *r = &chk->rec[i];
    if (r->intended & ~r->delivered) {
      fail_missing(chk, r, at_us);
      bad = 1;
      break;
    }
  }
  return check_finish_views(chk, at_us) || bad;
}

const chorus_check_violation *chorus_check_first(const chorus_check *chk) {
  return chk->failed ? &chk->first : NULL;
}

uint64_t chorus_check_outstanding(const chorus_check *chk) { return chk->outstanding; }

void chorus_check_stats_get(const chorus_check *chk, chorus_check_stats *out) {
  *out = chk->stats;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least pct % of samples at or below. */
uint64_t check_rank(const uint64_t *v, size_t n, unsigned pct) {
  size_t k = (n * pct + 99) / 100;
  return v[k ? k - 1 : 0] & LAT_VALUE_MAX;
}

void chorus_check_latency(chorus_check *chk,
                          chorus_check_quantiles q[CHORUS_CHECK_CLASSES]) {
  memset(q, 0, CHORUS_CHECK_CLASSES * sizeof *q);
  /* Sorting on class << 58 | µs leaves each class a sorted run. */
  qsort(chk->latency_us, chk->latency_count, sizeof *chk->latency_us, cmp_u64);
  size_t i = 0;
  while (i < chk->latency_count) {
    uint64_t cls = chk->latency_us[i] >> LAT_CLASS_SHIFT;
    size_t j = i;
    while (j < chk->latency_count && chk->latency_us[j] >> LAT_CLASS_SHIFT == cls) j++;
    if (cls < CHORUS_CHECK_CLASSES) {
      chorus_check_quantiles *c = &q[cls];
      c->count = j - i;
      c->p50_us = check_rank(chk->latency_us + i, j - i, 50);
      c->p99_us = check_rank(chk->latency_us + i, j - i, 99);
      c->max_us = chk->latency_us[j - 1] & LAT_VALUE_MAX;
    }
    i = j;
  }
}

void chorus_check_sample_quantiles(const chorus_check *chk,
                                   enum chorus_check_sample kind,
                                   chorus_check_quantiles *q) {
  memset(q, 0, sizeof *q);
  size_t n = chk->sample_count[kind];
  if (n == 0) return;
  memcpy(chk->scratch, chk->samples[kind], n * sizeof *chk->scratch);
  qsort(chk->scratch, n, sizeof *chk->scratch, cmp_u64);
  q->count = n;
  q->p50_us = check_rank(chk->scratch, n, 50);
  q->p99_us = check_rank(chk->scratch, n, 99);
  q->max_us = chk->scratch[n - 1];
}
