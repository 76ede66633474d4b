#include "room.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

enum room_slot_state {
  RS_FREE = 0,
  RS_HELD,      /* received (or own, sent), waiting for its order */
  RS_DELIVERED, /* delivered, kept until stable */
  RS_PENDING,   /* own, submitted during a view change: not sent yet */
  RS_DEAD,      /* an orphan still named by the outbox: freed once it is not */
};

struct chorus_room_slot {
  uint8_t state, origin, order;
  uint32_t origin_epoch, count;
  uint32_t seq_view, seq; /* seq 0: not (or no longer) sequenced */
  uint32_t len, refs;     /* refs: outbox entries naming this slot */
  uint32_t vc[CHORUS_MEMBERS_MAX];
  uint64_t held_us;
  uint8_t *text;
};

/* A delivered message kept for members that join late. */
struct chorus_room_hist {
  uint8_t origin, order;
  uint32_t origin_epoch, count, view, seq, len, refs;
  uint8_t *text;
};

#define OUTBOX_PER_SLOT 4 /* submit or forward, plus relays in flushes */

static uint32_t bit(size_t rank) { return (uint32_t)1 << rank; }

static size_t outbox_cap(const chorus_room *r) {
  return OUTBOX_PER_SLOT * r->retain_max + r->hist_max + 8;
}

/* Buffers of `entries` texts per size class, up to msg_bytes_max. */
static int text_init(chorus_room_text *t, size_t entries, size_t msg_bytes_max) {
  size_t bytes = CHORUS_ROOM_TEXT_CLASS_MIN_BYTES;
  t->classes = 0;
  for (;;) {
    int last = bytes >= msg_bytes_max || t->classes + 1 == CHORUS_ROOM_TEXT_CLASSES_MAX;
    if (last) bytes = msg_bytes_max;
    t->class_bytes[t->classes] = bytes;
    t->mem[t->classes] = malloc(entries ? entries * bytes : 1);
    if (!t->mem[t->classes++]) return CHORUS_ERR_NOMEM;
    if (last) return CHORUS_OK;
    bytes *= CHORUS_ROOM_TEXT_CLASS_GROWTH;
  }
}

static void text_free(chorus_room_text *t) {
  for (size_t c = 0; c < t->classes; c++) {
    free(t->mem[c]);
    t->mem[c] = NULL;
  }
  t->classes = 0;
}

/* The buffer of entry i for a text of len bytes: the smallest class that
 * holds it (len <= msg_bytes_max, checked by the callers). */
static uint8_t *text_at(const chorus_room_text *t, size_t i, size_t len) {
  size_t c = 0;
  while (c + 1 < t->classes && t->class_bytes[c] < len) c++;
  return t->mem[c] + i * t->class_bytes[c];
}

int chorus_room_init(chorus_room *r, size_t n, size_t self, size_t retain_msgs,
                     size_t msg_bytes_max, size_t history_msgs) {
  memset(r, 0, sizeof(*r));
  if (n == 0 || n > CHORUS_MEMBERS_MAX || self >= n || retain_msgs < 2 ||
      msg_bytes_max == 0)
    return CHORUS_ERR_CONFIG;
  r->hist_max = history_msgs;
  r->hist_cap = 2 * history_msgs;
  r->n = n;
  r->self = self;
  r->retain_max = retain_msgs;
  r->msg_bytes_max = msg_bytes_max;
  r->view = r->ord_view = 1;
  r->view_id = 1;
  r->alive = (uint32_t)((1u << n) - 1);
  r->next_seq = 1;
  r->first[self] = UINT32_MAX;
  for (size_t k = 0; k < n; k++) r->gone_end[k] = UINT32_MAX;
  r->slots_free = retain_msgs;
  r->slots = calloc(retain_msgs, sizeof(*r->slots));
  r->slot_of = malloc(n * retain_msgs * sizeof(*r->slot_of));
  r->outbox = calloc(outbox_cap(r), sizeof(*r->outbox));
  r->ctrl_mem = malloc(outbox_cap(r) * CHORUS_ROOM_CTRL_BYTES_MAX);
  r->hist = calloc(r->hist_cap ? r->hist_cap : 1, sizeof(*r->hist));
  r->numberings_max = CHORUS_ROOM_NUMBERINGS_PER_SLOT * retain_msgs;
  r->numberings = calloc(r->numberings_max, sizeof(*r->numberings));
  r->run_seen = calloc(retain_msgs + r->numberings_max, 1);
  if (!r->run_seen || !r->slots || !r->slot_of || !r->outbox || !r->ctrl_mem || !r->hist || !r->numberings ||
      text_init(&r->text, retain_msgs, msg_bytes_max) < 0 ||
      text_init(&r->hist_text, r->hist_cap, msg_bytes_max) < 0) {
    chorus_room_free(r);
    return CHORUS_ERR_NOMEM;
  }
  for (size_t i = 0; i < outbox_cap(r); i++)
    r->outbox[i].ctrl = r->ctrl_mem + i * CHORUS_ROOM_CTRL_BYTES_MAX;
  for (size_t i = 0; i < n * retain_msgs; i++) r->slot_of[i] = -1;
  return CHORUS_OK;
}

void chorus_room_free(chorus_room *r) {
  free(r->slots);
  free(r->slot_of);
  free(r->outbox);
  free(r->ctrl_mem);
  free(r->hist);
  free(r->numberings);
  free(r->run_seen);
  text_free(&r->text);
  text_free(&r->hist_text);
  r->slots = NULL;
  r->slot_of = NULL;
  r->outbox = NULL;
  r->ctrl_mem = NULL;
  r->hist = NULL;
  r->numberings = NULL;
  r->run_seen = NULL;
}

size_t chorus_room_sequencer(const chorus_room *r) { return r->seq_rank; }

static void sequencer_update(chorus_room *r);

void chorus_room_set_members(chorus_room *r, uint32_t ranks) {
  r->alive = (ranks | bit(r->self)) & (uint32_t)((1u << r->n) - 1);
  sequencer_update(r);
}

/* After the sequencer leaves the view, the lowest remaining rank takes over:
 * every survivor computes the same. */
static void sequencer_update(chorus_room *r) {
  if (r->alive & bit(r->seq_rank)) return;
  for (size_t k = 0; k < r->n; k++)
    if (r->alive & bit(k)) {
      r->seq_rank = k;
      return;
    }
  r->seq_rank = r->self;
}

static int is_sequencer(const chorus_room *r) {
  return chorus_room_sequencer(r) == r->self;
}

static uint32_t others(const chorus_room *r) { return r->alive & ~bit(r->self); }

/* A slot that holds a message: not free, not a dead orphan. */
static int slot_live(const chorus_room_slot *s) {
  return s->state != RS_FREE && s->state != RS_DEAD;
}

/* Every change of a slot's state goes through here: free_slots() is then
 * a counter read, not a scan of every slot on each arriving message. */
static void slot_set(chorus_room *r, chorus_room_slot *s, uint8_t state) {
  r->slots_free += (state == RS_FREE) - (s->state == RS_FREE);
  s->state = state;
}

static int32_t *slot_of_entry(const chorus_room *r, size_t origin, uint32_t count) {
  return &r->slot_of[origin * r->retain_max + count % r->retain_max];
}

/* Slot i now holds a message (it was just stored): index it. Every live
 * slot is then found through its entry, unless a later message of the same
 * origin took the entry while it lived (counts that far apart), which turns
 * the index off. */
static void slot_index(chorus_room *r, int i) {
  const chorus_room_slot *s = &r->slots[i];
  int32_t *e = slot_of_entry(r, s->origin, s->count);
  const chorus_room_slot *o = *e >= 0 ? &r->slots[*e] : NULL; /* the last one here */
  if (o && *e != i && slot_live(o) && o->origin == s->origin &&
      o->count % r->retain_max == s->count % r->retain_max)
    r->slot_of_shared = 1;
  *e = i;
}

/* The live slot holding message `count` of `origin`, or -1: found through
 * the index (find_slot is on every hot path), by scanning if it is off. */
static int find_slot(const chorus_room *r, size_t origin, uint32_t count) {
  if (!r->slot_of_shared) {
    int32_t i = *slot_of_entry(r, origin, count);
    if (i < 0) return -1;
    const chorus_room_slot *s = &r->slots[i];
    return slot_live(s) && s->origin == origin && s->count == count ? (int)i : -1;
  }
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (slot_live(s) && s->origin == origin && s->count == count) return (int)i;
  }
  return -1;
}

/* A message of an older incarnation numbered at or past the first count of
 * the origin's newer one: the newer one's numbering starts after the last
 * message any survivor held, so nobody can ever deliver this one. */
static int is_orphan(const chorus_room *r, size_t origin, uint32_t epoch,
                     uint32_t count) {
  return epoch < r->epoch[origin] && count >= r->first[origin];
}

/* Drop the orphans of `origin`; one the outbox still names dies later. */
static void kill_orphans(chorus_room *r, size_t origin) {
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    if (!slot_live(s) || s->origin != origin ||
        !is_orphan(r, origin, s->origin_epoch, s->count))
      continue;
    slot_set(r, s, s->refs ? RS_DEAD : RS_FREE);
    r->gc_needed |= s->refs != 0;
    r->discarded++;
  }
}

/* Drop the removed origins' causal (or stronger) messages that depend on
 * a message past end[] of its origin, with the rest of their origin's run
 * (end[] lowered in turn: a drop may strand more), and the held messages
 * past end[] (those of `renewed`'s newer incarnation excepted). */
static void drop_past_end(chorus_room *r, uint32_t *end, size_t renewed) {
  for (int changed = 1; changed;) { /* a drop may strand more */
    changed = 0;
    for (size_t i = 0; i < r->retain_max; i++) {
      const chorus_room_slot *s = &r->slots[i];
      if (s->state != RS_HELD || (r->alive & bit(s->origin)) ||
          s->count > end[s->origin] || s->order < CHORUS_ORDER_CAUSAL)
        continue;
      for (size_t k = 0; k < r->n; k++)
        if (k != s->origin && s->vc[k] > end[k]) {
          end[s->origin] = s->count - 1;
          changed = 1;
          break;
        }
    }
  }
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    if (s->state != RS_HELD || s->count <= end[s->origin] ||
        (s->origin == renewed && s->origin_epoch == r->epoch[renewed]))
      continue;
    s->seq = s->seq_view = 0;
    slot_set(r, s, s->refs ? RS_DEAD : RS_FREE);
    r->gc_needed |= s->refs != 0;
    r->discarded++;
  }
}

/* A dependency on an older incarnation's orphan (numbered `first` or later)
 * can never be met: a fifo message is delivered without waiting for its
 * past, so one from a member that had delivered a message nobody else got
 * (a crashed sequencer's own numbering) carries it into its receivers'
 * past. Forgotten, in the causal past and in held messages' vector clocks:
 * else such a message waits for good, or the newer incarnation's message
 * of the same count meets it. Nobody can depend on the newer incarnation
 * yet: its first messages wait for a cut taken once every member admitted
 * it. */
static void forget_orphan_deps(chorus_room *r, size_t origin) {
  uint32_t last = r->first[origin] - 1;
  if (r->past[origin] > last) r->past[origin] = last;
  /* A removed origin's message is dropped instead, as drop_unreachable
   * does at a flush: a survivor whose flush ends before it learns `first`
   * drops it there, and another must not deliver it because it learned
   * `first` first. Only the learned bound counts here: mid-flush, what
   * this node holds of the others is not yet what every survivor holds. */
  uint32_t end[CHORUS_MEMBERS_MAX];
  for (size_t k = 0; k < r->n; k++) end[k] = UINT32_MAX;
  end[origin] = last;
  drop_past_end(r, end, origin);
  /* Delivered ones too: a relay of one carries this node's epochs_digest. */
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    if (s->state != RS_FREE && s->origin != origin && s->vc[origin] > last)
      s->vc[origin] = last;
  }
}

/* One member's incarnation, mixed (MurmurHash3's 32-bit finalizer) so that
 * sums of them tell apart which epochs were summed. */
static uint32_t epoch_mix(size_t rank, uint32_t epoch) {
  uint32_t x = epoch ^ (uint32_t)(rank * 0x9E3779B9u);
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  return x ^ (x >> 16);
}

/* The incarnations this node knows, as one number: a room message carries
 * its sender's, which tells in what numbering its vector clock counts. */
static uint32_t epochs_digest(const chorus_room *r) {
  uint32_t d = 0;
  for (size_t k = 0; k < r->n; k++) d += epoch_mix(k, r->epoch[k]);
  return d;
}


static void held_advance(chorus_room *r, size_t origin);

/* Counts of `origin` past its newer incarnation's first - 1 name older
 * messages nobody can deliver now (orphans, or ones a flush dropped):
 * what this node holds, what the others reported holding and what is
 * stable are brought back to that run (not below what was delivered), so
 * that the newer incarnation's messages of the same counts are counted
 * held and stable only when they are. */
static void renewed_counts(chorus_room *r, size_t origin) {
  uint32_t last = r->first[origin] - 1;
  if (last < r->delivered[origin]) last = r->delivered[origin];
  if (r->held[origin] > last) r->held[origin] = last;
  if (r->held_reported[origin] > last) r->held_reported[origin] = last;
  if (r->stable[origin] > last) r->stable[origin] = last;
  if (r->stable_seq[origin] > last) r->stable_seq[origin] = last;
  for (size_t m = 0; m < r->n; m++)
    if (r->known_held[m][origin] > last) r->known_held[m][origin] = last;
  held_advance(r, origin);
}

/* Learn that `origin` has incarnation `epoch` and that its numbering starts
 * at `count` or below (first boot: at 1, unknown here). */
static void epoch_learn(chorus_room *r, size_t origin, uint32_t epoch, uint32_t count) {
  if (epoch < r->epoch[origin]) return;
  if (epoch > r->epoch[origin]) {
    r->prev_epoch[origin] = r->epoch[origin];
    r->epoch[origin] = epoch;
    r->first[origin] = count;
  } else if (count < r->first[origin]) {
    r->first[origin] = count;
  } else {
    return;
  }
  if (r->prev_epoch[origin] != 0 && r->first[origin] != 0) forget_orphan_deps(r, origin);
  kill_orphans(r, origin);
  if (r->prev_epoch[origin] != 0 && r->first[origin] != 0) renewed_counts(r, origin);
}

static int alloc_slot(const chorus_room *r) {
  for (size_t i = 0; i < r->retain_max; i++)
    if (r->slots[i].state == RS_FREE) return (int)i;
  return -1;
}

static size_t free_slots(const chorus_room *r) { return r->slots_free; }

static size_t reserve_slots(const chorus_room *r) { return r->retain_max / 4; }

/* Each member may have at most retain_max / n of its own messages not yet
 * stable: then what every member relays in a view change fits in every
 * other member's slots, and the flush cannot deadlock on a full queue. */
static size_t own_quota(const chorus_room *r) {
  size_t q = r->retain_max / r->n;
  return q > 0 ? q : 1;
}

static size_t own_in_use(const chorus_room *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->retain_max; i++)
    n += r->slots[i].state != RS_FREE && r->slots[i].origin == r->self &&
         r->slots[i].origin_epoch == r->epoch[r->self];
  return n;
}

int chorus_room_can_accept(const chorus_room *r) {
  return alloc_slot(r) >= 0 && r->ob_count + 2 <= outbox_cap(r);
}

static chorus_room_send *outbox_push(chorus_room *r, int32_t slot, uint32_t mask) {
  if (mask == 0 || r->ob_count == outbox_cap(r)) return NULL;
  chorus_room_send *e = &r->outbox[(r->ob_head + r->ob_count++) % outbox_cap(r)];
  e->slot = slot;
  e->mask = mask;
  e->view = r->view;
  e->ctrl_len = 0;
  e->hist_type = CHORUS_ROOM_CTRL_HISTORY;
  if (slot >= 0) r->slots[slot].refs++;
  if (slot <= -2) r->hist[-2 - slot].refs++;
  return e;
}

static void flush_done_push(chorus_room *r) {
  chorus_room_send *e = outbox_push(r, -1, others(r));
  if (!e) return;
  e->ctrl[0] = CHORUS_ROOM_CTRL_FLUSH_DONE;
  chorus_wire_put_u32(e->ctrl + 1, r->view);
  e->ctrl_len = CHORUS_ROOM_CTRL_BYTES;
}

/* STABLE to the other survivors of a removal, ahead of the relays: this
 * node's stable counts, held by every member of `covered` (the view it
 * leaves). */
static void stable_push(chorus_room *r, uint32_t covered) {
  chorus_room_send *e = outbox_push(r, -1, others(r));
  if (!e) return;
  e->ctrl[0] = CHORUS_ROOM_CTRL_STABLE;
  chorus_wire_put_u32(e->ctrl + 1, covered);
  e->ctrl[5] = (uint8_t)r->n;
  for (size_t k = 0; k < r->n; k++) {
    /* What is stable here was lowered at a join to what this node
     * delivered: the newcomer holds what its coordinator's cut counted,
     * maybe less. Until its first report, its reports bound the counts. */
    uint32_t st = r->stable[k];
    for (size_t m = 0; m < r->n; m++)
      if ((r->unreported & r->alive & bit(m)) && r->known_held[m][k] < st)
        st = r->known_held[m][k];
    uint32_t ann = chorus_room_stable_safe(r, k);
    chorus_wire_put_u32(e->ctrl + 6 + 4 * k, st);
    chorus_wire_put_u32(e->ctrl + 6 + 4 * (r->n + k), r->epoch[k]);
    chorus_wire_put_u32(e->ctrl + 10 + 4 * (2 * r->n + k), ann < st ? ann : st);
  }
  chorus_wire_put_u32(e->ctrl + 6 + 8 * r->n, r->ord_view);
  e->ctrl_len = (uint8_t)CHORUS_ROOM_STABLE_BYTES(r->n);
}

int chorus_room_push_control(chorus_room *r, uint32_t to, const uint8_t *ctrl,
                             size_t len) {
  if (len == 0 || len > CHORUS_ROOM_CTRL_BYTES_MAX) return CHORUS_ERR_INVAL;
  if (to == 0) return CHORUS_OK;
  chorus_room_send *e = outbox_push(r, -1, to);
  if (!e) return CHORUS_ERR_QUEUE_FULL;
  memcpy(e->ctrl, ctrl, len);
  e->ctrl_len = (uint8_t)len;
  return CHORUS_OK;
}

/* Mark (or unmark) in run_seen the numbers of the current ordering that
 * the messages held here (each origin's run past its deliveries) carry. */
static void run_mark(const chorus_room *r, uint8_t mark) {
  size_t cap = r->retain_max + r->numberings_max;
  for (size_t k = 0; k < r->n; k++)
    for (uint32_t c = r->delivered[k] + 1; c <= r->held[k] && c != 0; c++) {
      int i = find_slot(r, k, c);
      if (i < 0) break;
      const chorus_room_slot *s = &r->slots[i];
      if (s->seq != 0 && s->seq_view == r->ord_view && s->seq >= r->next_seq &&
          s->seq - r->next_seq < cap)
        r->run_seen[s->seq - r->next_seq] = mark;
    }
}

/* The last number of the current ordering in the unbroken run, from
 * next_seq, of numbers held here with their message: a total message
 * numbered past a gap cannot be delivered before the gap fills, whatever
 * else is here. (A number to be stepped over, merged_skip's, also ends the
 * run until its turn: that only delays reports.) O(messages held). */
static uint32_t seq_run_end(const chorus_room *r) {
  size_t cap = r->retain_max + r->numberings_max, m = 0;
  run_mark(r, 1);
  while (m < cap && r->run_seen[m]) m++;
  run_mark(r, 0); /* run_seen is all clear between calls */
  return r->next_seq - 1 + (uint32_t)m;
}

/* Origin k's run of messages held here, within closed[k], up to the first
 * one this member cannot deliver once it has the rest of closed[]: a total
 * one numbered past the run of numbers (or by a view whose flush is not
 * over here), or one whose causal past is not all in closed[]. What is
 * known stable stays counted (every member holds it; a flush or a merge
 * may take its number away here). */
static uint32_t closed_walk(const chorus_room *r, size_t k, const uint32_t *closed,
                            uint32_t run_end) {
  uint32_t c = r->delivered[k], floor = r->stable[k] < closed[k] ? r->stable[k] : closed[k];
  if (c < floor) c = floor;
  while (c < closed[k]) {
    int i = find_slot(r, k, c + 1);
    if (i < 0) break;
    const chorus_room_slot *s = &r->slots[i];
    if (s->order >= CHORUS_ORDER_TOTAL && (s->seq_view != r->ord_view || s->seq > run_end))
      break;
    if (s->order >= CHORUS_ORDER_CAUSAL)
      for (size_t j = 0; j < r->n; j++)
        if (j != k && s->vc[j] > closed[j]) return c;
    c++;
  }
  return c;
}

/* The minimum of the other members' reports of origin k; UINT32_MAX if
 * there is no other member. */
static uint32_t held_by_others(const chorus_room *r, size_t k) {
  uint32_t lo = UINT32_MAX;
  for (size_t m = 0; m < r->n; m++)
    if ((r->alive & bit(m)) && m != r->self && r->known_held[m][k] < lo)
      lo = r->known_held[m][k];
  return lo;
}

void chorus_room_held_closed_all(const chorus_room *r, uint32_t *closed) {
  uint32_t run_end = seq_run_end(r);
  for (size_t k = 0; k < r->n; k++) closed[k] = r->held[k];
  for (int changed = 1; changed;) { /* closing one origin's run may close another's */
    changed = 0;
    for (size_t k = 0; k < r->n; k++) {
      uint32_t c = closed_walk(r, k, closed, run_end);
      if (c != closed[k]) {
        closed[k] = c;
        changed = 1;
      }
    }
  }
}

uint32_t chorus_room_held_closed(const chorus_room *r, size_t k) {
  uint32_t closed[CHORUS_MEMBERS_MAX];
  chorus_room_held_closed_all(r, closed);
  return closed[k];
}

/* How many of origin k's messages every member of the view holds, as far
 * as this member knows (the minimum of the reports, `mine` for this
 * member's own); UINT32_MAX if none. */
static uint32_t held_by_all(const chorus_room *r, size_t k, uint32_t mine) {
  uint32_t lo = UINT32_MAX;
  for (size_t m = 0; m < r->n; m++) {
    if (!(r->alive & bit(m))) continue;
    uint32_t h = m == r->self ? mine : r->known_held[m][k];
    if (h < lo) lo = h;
  }
  return lo;
}

uint32_t chorus_room_held_by_all_but(const chorus_room *r, size_t k, uint32_t except_ranks) {
  uint32_t lo = UINT32_MAX;
  for (size_t m = 0; m < r->n; m++) {
    if (!(r->alive & bit(m)) || (except_ranks & bit(m))) continue;
    uint32_t h = m == r->self ? chorus_room_held_closed(r, k) : r->known_held[m][k];
    if (h < lo) lo = h;
  }
  return lo;
}

/* Stable = held by every member of the view (minimum of the reports). The
 * walk over this member's own messages (held_closed) is skipped where the
 * others' reports alone keep stable where it is: it runs on every message
 * that arrives. */
static void stable_update(chorus_room *r) {
  uint32_t mine[CHORUS_MEMBERS_MAX];
  int have_mine = 0;
  for (size_t k = 0; k < r->n; k++) {
    uint32_t rest = held_by_others(r, k);
    if (rest != UINT32_MAX && rest <= r->stable[k]) continue;
    if (!have_mine) {
      chorus_room_held_closed_all(r, mine);
      have_mine = 1;
    }
    uint32_t lo = held_by_all(r, k, mine[k]);
    if (lo != UINT32_MAX && lo > r->stable[k]) {
      r->stable[k] = lo;
      r->gc_needed = 1;
      if (is_sequencer(r)) r->state_dirty |= others(r); /* announce it */
    }
  }
}

uint32_t chorus_room_report_mask(const chorus_room *r);

/* After a merge the stable vector covers only one side: lower it to what
 * this member knows every member of the merged view holds (what the other
 * side reported before the split), so that safe messages wait for the
 * other side and slots are kept until it holds them. */
static void stable_lower(chorus_room *r) {
  uint32_t mine[CHORUS_MEMBERS_MAX];
  chorus_room_held_closed_all(r, mine);
  for (size_t k = 0; k < r->n; k++) {
    uint32_t lo = held_by_all(r, k, mine[k]);
    if (lo < r->stable[k]) r->stable[k] = lo;
    r->last_announced[k] = r->stable[k];
    if (r->stable_seq[k] > r->stable[k]) r->stable_seq[k] = r->stable[k];
  }
}

/* A message counts as held once it is here with everything needed to
 * deliver it in its order: total and safe ones need their sequence number. */
static int slot_held(const chorus_room_slot *s) {
  return s->order < CHORUS_ORDER_TOTAL || s->seq != 0;
}

static void own_release_pending(chorus_room *r);

static void held_advance(chorus_room *r, size_t origin) {
  uint32_t before = r->held[origin];
  for (;;) {
    uint32_t c = r->held[origin] + 1;
    if (c > r->delivered[origin]) {
      int i = find_slot(r, origin, c);
      if (i < 0 || !slot_held(&r->slots[i])) break;
    }
    r->held[origin] = c;
  }
  if (r->held[origin] == before) return;
  /* Members report what they hold to the sequencer; it aggregates. */
  r->state_dirty |= chorus_room_report_mask(r);
  stable_update(r);
}

/* 1 if total or safe message s goes through the sequencer (PB), which
 * forwards it with its number: a short one, so that the sequencer batches
 * the short messages of every origin in its datagrams to each member (at
 * small sizes datagrams, not bytes, are the cost). A longer one goes from
 * its origin to everyone (BB), the sequencer sending only its number. */
static int via_sequencer(const chorus_room_slot *s) {
  return s->order >= CHORUS_ORDER_TOTAL && s->len < CHORUS_ROOM_BB_MIN_BYTES;
}

/* Send an own message: vector clock from the causal past now, then to
 * everyone, or to the sequencer only (via_sequencer; the sequencer's own
 * goes once it numbers it). */
static void own_release(chorus_room *r, int i) {
  chorus_room_slot *s = &r->slots[i];
  memcpy(s->vc, r->past, sizeof(s->vc)); /* the whole causal past */
  s->vc[r->self] = s->count - 1;
  slot_set(r, s, RS_HELD);
  if (!via_sequencer(s)) outbox_push(r, i, others(r));
  else if (!is_sequencer(r)) outbox_push(r, i, bit(chorus_room_sequencer(r)));
  held_advance(r, r->self);
}

int chorus_room_submit(chorus_room *r, uint64_t now_us, uint8_t order,
                       const uint8_t *text, size_t len, uint32_t epoch,
                       uint32_t *count) {
  /* Own messages never take the slots kept for what others send: those
   * are what unblocks delivery. */
  int i = alloc_slot(r);
  if (i < 0 || r->awaiting_cut || free_slots(r) <= reserve_slots(r) ||
      own_in_use(r) >= own_quota(r) ||
      r->ob_count + 2 > outbox_cap(r) || len > r->msg_bytes_max)
    return CHORUS_ERR_WINDOW_FULL;
  chorus_room_slot *s = &r->slots[i];
  s->origin = (uint8_t)r->self;
  s->order = order;
  s->origin_epoch = epoch;
  s->count = ++r->sent;
  s->seq = s->seq_view = 0;
  s->len = (uint32_t)len;
  s->held_us = now_us;
  s->text = text_at(&r->text, (size_t)i, len);
  memcpy(s->text, text, len);
  r->epoch[r->self] = epoch;
  slot_set(r, s, RS_PENDING);
  r->own_pending++;
  slot_index(r, i);
  own_release_pending(r);
  *count = s->count;
  return CHORUS_OK;
}

/* The sequencer forwards its own short total message only once it numbers
 * it; its later messages wait until then, so that on every link an
 * origin's messages keep their order (a receiver short of slots takes only
 * an origin's next message: a later one ahead of it in a link would block). */
static int own_blocked(const chorus_room *r) {
  /* Not settled: the causal past may still be rolled back (an afresh cut). */
  if (r->flushing || !chorus_room_settled(r)) return 1;
  if (!is_sequencer(r)) return 0;
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_HELD && s->origin == r->self && via_sequencer(s) && s->seq == 0 &&
        s->origin_epoch == r->epoch[r->self])
      return 1;
  }
  return 0;
}

/* Send own messages held back (during a view change, or behind an own
 * message the sequencer has not numbered yet), in order. */
static void own_release_pending(chorus_room *r) {
  while (r->own_pending > 0 && !own_blocked(r)) {
    int best = -1;
    for (size_t i = 0; i < r->retain_max; i++)
      if (r->slots[i].state == RS_PENDING &&
          (best < 0 || r->slots[i].count < r->slots[best].count))
        best = (int)i;
    if (best < 0) {
      r->own_pending = 0; /* the rest were dropped as orphans */
      return;
    }
    r->own_pending--;
    own_release(r, best);
  }
}

/* Decoded room header. */
struct room_hdr {
  uint8_t origin, order;
  uint32_t epoch, count, seq_view, seq;
  uint32_t epochs; /* the sender's epochs_digest */
  uint32_t vc[CHORUS_MEMBERS_MAX];
  const uint8_t *text;
  size_t len;
};
typedef struct room_hdr room_hdr;

/* A message sent before its sender learned an origin's newer incarnation
 * counts that origin's older numbering in its vector clock: past the newer
 * one's `first`, an orphan that a fifo message carried into the sender's
 * past (forget_orphan_deps, which the sender had yet to run). Met by the
 * newer incarnation's message of the same count instead, it would make this
 * one wait for a message that waits for it (seed 968). So the sender's
 * digest is matched against this node's with some of the renewed origins
 * (prev_epoch known) taken back to their previous epoch; those counts are
 * then forgotten as forget_orphan_deps forgets them. A digest that matches
 * no such set (the sender knows a newer incarnation than this node, which
 * forgets the orphans when it learns it) is left alone. */
static void vc_to_own_epochs(const chorus_room *r, room_hdr *h) {
  uint32_t own = epochs_digest(r), back[CHORUS_MEMBERS_MAX];
  size_t renewed[CHORUS_MEMBERS_MAX], m = 0;
  if (h->epochs == own) return;
  for (size_t k = 0; k < r->n; k++)
    if (r->prev_epoch[k] != 0 && r->first[k] != 0 && r->first[k] != UINT32_MAX) {
      renewed[m] = k;
      back[m++] = epoch_mix(k, r->prev_epoch[k]) - epoch_mix(k, r->epoch[k]);
    }
  for (uint32_t set = 1; set < ((uint32_t)1 << m); set++) {
    uint32_t d = own;
    for (size_t j = 0; j < m; j++) d += (set >> j & 1) ? back[j] : 0;
    if (d != h->epochs) continue;
    for (size_t j = 0; j < m; j++) {
      size_t k = renewed[j];
      if ((set >> j & 1) && k != h->origin && h->vc[k] >= r->first[k]) h->vc[k] = r->first[k] - 1;
    }
    return;
  }
}

static int hdr_decode(const chorus_room *r, const uint8_t *m, size_t len,
                      struct room_hdr *h) {
  if (len < CHORUS_ROOM_HDR_BYTES(r->n)) return CHORUS_ERR_BAD_FRAME;
  h->origin = m[0];
  h->order = m[1];
  h->epoch = chorus_wire_get_u32(m + 2);
  h->count = chorus_wire_get_u32(m + 6);
  h->seq_view = chorus_wire_get_u32(m + 10);
  h->seq = chorus_wire_get_u32(m + 14);
  if (h->origin >= r->n || h->order > CHORUS_ORDER_SAFE || h->count == 0 ||
      h->epoch == 0 || m[18] != r->n)
    return CHORUS_ERR_BAD_FRAME;
  h->epochs = chorus_wire_get_u32(m + 19);
  for (size_t k = 0; k < r->n; k++) h->vc[k] = chorus_wire_get_u32(m + 23 + 4 * k);
  h->text = m + CHORUS_ROOM_HDR_BYTES(r->n);
  h->len = len - CHORUS_ROOM_HDR_BYTES(r->n);
  if (h->len == 0 || h->len > r->msg_bytes_max || h->vc[h->origin] != h->count - 1)
    return CHORUS_ERR_BAD_FRAME;
  return CHORUS_OK;
}

/* 1 if h is of an origin removed here, past what the flush that removed it
 * kept: every survivor dropped the rest then, so no member delivers it. A
 * copy can still come long after: a relay of an earlier flush, queued on a
 * link frozen at a removal, resumes at a merge. Taken, it would be numbered
 * (with nobody to send a BB one's text to a member that lacks it) or, fifo
 * or causal, delivered by its holders only. In a flush every relay counts.
 * A newer incarnation of the origin sends only once admitted (alive). */
static int past_gone_end(const chorus_room *r, const room_hdr *h) {
  uint32_t gone = r->gone_epoch[h->origin]; /* 0: none of its messages came here */
  return !(r->alive & bit(h->origin)) && !r->flushing && (gone == 0 || h->epoch <= gone) &&
         h->count > r->gone_end[h->origin];
}

/* 1 if a message with header h is dropped on arrival whatever the slots:
 * an orphan, or an own message of this incarnation (never stored again)
 * or of a newer one (impossible), or of an older one at or past the
 * numbering of this one. */
static int unwanted(const chorus_room *r, const room_hdr *h) {
  if (h->origin != r->self)
    return is_orphan(r, h->origin, h->epoch, h->count) || past_gone_end(r, h);
  if (h->epoch == r->epoch[r->self]) return find_slot(r, r->self, h->count) < 0;
  return h->epoch > r->epoch[r->self] || h->count >= r->first[r->self];
}

/* Slots here holding messages of `origin`. */
static size_t origin_in_use(const chorus_room *r, size_t origin) {
  size_t n = 0;
  for (size_t i = 0; i < r->retain_max; i++)
    n += slot_live(&r->slots[i]) && r->slots[i].origin == origin;
  return n;
}

/* 1 if origin k's messages up to count `upto` are all here: delivered, or
 * in a slot (a total one's number may come later, as a copy that takes no
 * slot). */
static int present_upto(const chorus_room *r, size_t k, uint32_t upto) {
  for (uint32_t c = r->delivered[k] + 1; c <= upto && c != 0; c++)
    if (find_slot(r, k, c) < 0) return 0;
  return 1;
}

/* 1 if every message the one with header h depends on (FIFO, and causal
 * for causal order and above) is here. */
static int preds_present(const chorus_room *r, const room_hdr *h) {
  if (!present_upto(r, h->origin, h->count - 1)) return 0;
  if (h->order >= CHORUS_ORDER_CAUSAL)
    for (size_t k = 0; k < r->n; k++)
      if (k != h->origin && !present_upto(r, k, h->vc[k])) return 0;
  return 1;
}

/* Whether room message m[0..len), which arrived from rank `from`, can be
 * taken now. A duplicate or a malformed one always can (it takes no slot).
 * When slots run short only a message whose predecessors are all here is
 * taken: it waits for nothing absent, and the first message in causal
 * order missing here always is one, at the head of some link, so delivery
 * never deadlocks on a full hold-back queue. (Taking any origin's next
 * message, one past the run of its messages present here, did: one
 * origin's run, all waiting for another origin's message, could fill the
 * last slots.) So is one that comes from its origin itself, or from the
 * sequencer (a short one it forwards), while that origin fills less than
 * its quota here: the origin's link also carries its view changes, which
 * must not wait behind a message whose predecessors went through a
 * sequencer that crashed; the sequencer's link carries the coordinator's
 * VIEW, which must not wait behind a forwarded message whose predecessors
 * (long ones, sent by their origin itself) only the flush that VIEW starts
 * can bring, their origin having crashed or being cut off. The quotas
 * bound what this lets in to the slots every origin may fill. */
static int numbered_dup(const chorus_room *r, const room_hdr *h);
static int unstable_dup(const chorus_room *r, const room_hdr *h);

/* 1 if number `seq` under label `label` is still to be delivered (or
 * stepped over) here: one of the current ordering at or past next_seq, or,
 * during a flush, one of the view the flush leads to (its sequencer,
 * done flushing sooner, numbers already; flush_complete keeps that label,
 * so a message delivered here already must keep that number to step over
 * it, or the room's delivery stops there). */
static int number_to_come(const chorus_room *r, uint32_t seq, uint32_t label) {
  if (r->flushing && label > r->ord_view && label <= r->view) return 1;
  return label == r->ord_view && seq >= r->next_seq;
}

int chorus_room_wants(const chorus_room *r, size_t from, const uint8_t *m, size_t len) {
  struct room_hdr h;
  if (hdr_decode(r, m, len, &h) < 0) return 1;
  if (h.count <= r->delivered[h.origin]) /* kept for its number: needs a slot if none */
    return !(numbered_dup(r, &h) || unstable_dup(r, &h)) || free_slots(r) > 0 ||
           find_slot(r, h.origin, h.count) >= 0;
  if (find_slot(r, h.origin, h.count) >= 0 || unwanted(r, &h)) return 1;
  size_t free = free_slots(r);
  if (free == 0 || r->ob_count + 2 > outbox_cap(r)) return 0;
  /* In a view change the relays are what completes it: take them all. */
  if (r->flushing || free > reserve_slots(r)) return 1;
  if ((from == h.origin || from == r->seq_rank) && origin_in_use(r, h.origin) < own_quota(r))
    return 1;
  return preds_present(r, &h);
}

/* Coordinator: a message (or its number) that arrived here while a
 * newcomer's admission is not acknowledged by every member may have been
 * sent before its origin (or the sequencer) let the newcomer in, after this
 * node took the newcomer's cut: pass it on (a duplicate is dropped there). */
static void pass_on(chorus_room *r, int i) {
  uint32_t to = r->join_pending, o = bit(r->slots[i].origin);
  /* Absorbing coordinator: one from a member of this side that has not
   * installed the merge yet went to this side only (it may be stable there
   * before that member relays at its merge): the absorbed side gets it
   * from here. */
  if (r->merge_pass_from & o) to |= r->merge_pass_to;
  to &= r->alive & ~o;
  if (to && !outbox_push(r, i, to)) r->outbox_full++;
}

/* The view a number counts in: one the absorbing side gave just before a
 * merge, received after, counts as the merged view's. */
static uint32_t seq_label(const chorus_room *r, uint32_t label) {
  if (r->merge_from && label >= r->merge_from && label < r->ord_view) return r->ord_view;
  return label;
}

/* Take number `seq` of view `label` for slot s if it is of a newer (or the
 * current) numbering. */
static void seq_take(chorus_room *r, chorus_room_slot *s, uint32_t label, uint32_t seq) {
  label = seq_label(r, label);
  if (seq == 0 || label < r->ord_view) return;
  if (s->seq == 0 || label > s->seq_view) {
    s->seq = seq;
    s->seq_view = label;
    r->skip_check = 1;
  }
}

static void seq_merge(chorus_room *r, chorus_room_slot *s, const room_hdr *h) {
  seq_take(r, s, h->seq_view, h->seq);
}

/* ---- numbers that come before their message (ORDER) ------------------- */

static int numbering_find(const chorus_room *r, size_t origin, uint32_t epoch,
                          uint32_t count) {
  for (size_t k = 0; k < r->numberings_count; k++) {
    const chorus_room_numbering *e = &r->numberings[k];
    if (e->origin == origin && e->epoch == epoch && e->count == count) return (int)k;
  }
  return -1;
}

static void numbering_drop(chorus_room *r, size_t k) {
  r->numberings[k] = r->numberings[--r->numberings_count];
}

/* Keep number *nb (label already as seq_label counts it) until its message
 * comes. The table cannot fill in practice: a number without its message
 * here is of a message not yet stable, and each origin has at most its
 * quota of those; a number lost all the same is counted. */
static void numbering_keep(chorus_room *r, const chorus_room_numbering *nb) {
  int k = numbering_find(r, nb->origin, nb->epoch, nb->count);
  if (k >= 0) {
    if (nb->seq_view > r->numberings[k].seq_view) r->numberings[k] = *nb;
    return;
  }
  if (r->numberings_count == r->numberings_max) {
    r->numberings_full++;
    return;
  }
  r->numberings[r->numberings_count++] = *nb;
  r->skip_check = 1;
}

/* The message in slot i has just come: take the number that came first. */
static void numbering_claim(chorus_room *r, int i) {
  chorus_room_slot *s = &r->slots[i];
  int k = r->numberings_count ? numbering_find(r, s->origin, s->origin_epoch, s->count) : -1;
  if (k < 0) return;
  seq_take(r, s, r->numberings[k].seq_view, r->numberings[k].seq);
  numbering_drop(r, (size_t)k);
}

/* Drop the numbers a new numbering makes void: those not of view `keep`. */
static void numbering_prune(chorus_room *r, uint32_t keep) {
  for (size_t k = r->numberings_count; k-- > 0;)
    if (r->numberings[k].seq_view != keep) numbering_drop(r, k);
}

_Static_assert(CHORUS_ROOM_ORDER_BYTES(CHORUS_ROOM_ORDER_PER_FRAME_MAX) <=
                   CHORUS_ROOM_CTRL_BYTES_MAX &&
               CHORUS_ROOM_ORDER_BYTES(CHORUS_ROOM_ORDER_PER_FRAME_MAX) <= UINT8_MAX,
               "an ORDER frame fits an outbox entry's control bytes");

/* Queue number *nb for the ranks in `mask`: added to the last outbox entry
 * if it is an ORDER frame of the same view still unsent to all of them
 * (its mask unchanged) and not full, so numberings given together leave in
 * one frame; else in a new frame. Returns 0 or CHORUS_ERR_QUEUE_FULL. */
static int order_push(chorus_room *r, uint32_t mask, const chorus_room_numbering *nb) {
  if (mask == 0) return CHORUS_OK;
  chorus_room_send *e =
      r->ob_count ? &r->outbox[(r->ob_head + r->ob_count - 1) % outbox_cap(r)] : NULL;
  if (!e || e->slot != -1 || e->ctrl_len < CHORUS_ROOM_ORDER_HDR_BYTES ||
      e->ctrl[0] != CHORUS_ROOM_CTRL_ORDER || e->mask != mask ||
      chorus_wire_get_u32(e->ctrl + 1) != nb->seq_view ||
      e->ctrl[5] >= CHORUS_ROOM_ORDER_PER_FRAME_MAX) {
    e = outbox_push(r, -1, mask);
    if (!e) return CHORUS_ERR_QUEUE_FULL;
    e->ctrl[0] = CHORUS_ROOM_CTRL_ORDER;
    chorus_wire_put_u32(e->ctrl + 1, nb->seq_view);
    e->ctrl[5] = 0;
    e->ctrl_len = CHORUS_ROOM_ORDER_HDR_BYTES;
  }
  uint8_t *p = e->ctrl + e->ctrl_len;
  p[0] = nb->origin;
  chorus_wire_put_u32(p + 1, nb->epoch);
  chorus_wire_put_u32(p + 5, nb->count);
  chorus_wire_put_u32(p + 9, nb->seq);
  e->ctrl[5]++;
  e->ctrl_len = (uint8_t)(e->ctrl_len + CHORUS_ROOM_ORDER_ENTRY_BYTES);
  return CHORUS_OK;
}

/* A number from the sequencer (or relayed in a flush): given to its
 * message if it is here, else kept for it. One for a message delivered
 * here already is kept only if it is still to come (after a merge:
 * merged_skip steps over it), in this order or in one this member has yet
 * to take up (it installed the merge in a flush: the merged view's order
 * starts here when the flush completes). */
static void numbering_take(chorus_room *r, chorus_room_numbering *nb) {
  size_t o = nb->origin;
  if (is_orphan(r, o, nb->epoch, nb->count)) return;
  int i = find_slot(r, o, nb->count);
  if (i >= 0) {
    chorus_room_slot *s = &r->slots[i];
    if (s->origin_epoch != nb->epoch) return;
    int fresh = s->state == RS_HELD && s->seq == 0;
    seq_take(r, s, nb->seq_view, nb->seq);
    if (s->state != RS_HELD || s->seq == 0) return;
    if (fresh) pass_on(r, i);
    held_advance(r, o);
    return;
  }
  nb->seq_view = seq_label(r, nb->seq_view);
  if (nb->seq_view < r->ord_view) return;
  if (nb->count <= r->delivered[o] && nb->seq_view == r->ord_view && nb->seq < r->next_seq)
    return;
  numbering_keep(r, nb);
}

/* ORDER m[0..len): validated whole before any number is taken. */
static int order_on_frame(chorus_room *r, const uint8_t *m, size_t len) {
  if (len < CHORUS_ROOM_ORDER_HDR_BYTES || m[5] == 0 ||
      m[5] > CHORUS_ROOM_ORDER_PER_FRAME_MAX || len != CHORUS_ROOM_ORDER_BYTES(m[5]))
    return CHORUS_ERR_BAD_FRAME;
  const uint8_t *p = m + CHORUS_ROOM_ORDER_HDR_BYTES;
  for (size_t k = 0; k < m[5]; k++, p += CHORUS_ROOM_ORDER_ENTRY_BYTES)
    if (p[0] >= r->n || chorus_wire_get_u32(p + 1) == 0 ||
        chorus_wire_get_u32(p + 5) == 0 || chorus_wire_get_u32(p + 9) == 0)
      return CHORUS_ERR_BAD_FRAME;
  p = m + CHORUS_ROOM_ORDER_HDR_BYTES;
  for (size_t k = 0; k < m[5]; k++, p += CHORUS_ROOM_ORDER_ENTRY_BYTES) {
    chorus_room_numbering nb = {p[0], chorus_wire_get_u32(p + 1), chorus_wire_get_u32(p + 5),
                                chorus_wire_get_u32(m + 1), chorus_wire_get_u32(p + 9)};
    numbering_take(r, &nb);
  }
  return CHORUS_OK;
}

/* 1 if h, a message delivered here already, carries a number of the
 * current ordering still to come: after a merge, one the other side
 * delivered before this side's sequencer numbered it, or one that came as
 * merge history before its number. Its number is stepped over in turn
 * (merged_skip), or the delivery of the room stops there. A copy kept here
 * without that number (delivered from the history while still named by the
 * outbox) takes it, as from an ORDER (numbering_take). */
static int numbered_dup(const chorus_room *r, const room_hdr *h) {
  uint32_t label = h->seq_view;
  if (r->merge_from && label >= r->merge_from && label < r->ord_view) label = r->ord_view;
  if (h->seq == 0 || h->order < CHORUS_ORDER_TOTAL || !number_to_come(r, h->seq, label))
    return 0;
  int i = find_slot(r, h->origin, h->count);
  if (i < 0) return 1;
  const chorus_room_slot *s = &r->slots[i];
  return s->origin_epoch == h->epoch && (s->seq == 0 || label > s->seq_view);
}

/* 1 if h is a member's relay (join_relays) of a message this newcomer's
 * cut counted delivered (as history), not known stable, with no copy here.
 * It is kept, delivered, until stable: a member may still lack it (its
 * origin crashed before its data reached that member), and if the
 * coordinator crashes too, this member's flush relay is the only copy
 * left among those who delivered it. (Not after a merge: relays of
 * messages delivered long ago, unstable again as the merged view's
 * stable counts start low, would fill the slots.) */
static int unstable_dup(const chorus_room *r, const room_hdr *h) {
  if (h->origin == r->self && h->epoch == r->epoch[r->self]) return 0; /* never stored again */
  return h->count > r->stable[h->origin] && h->count <= r->cut_delivered[h->origin] &&
         find_slot(r, h->origin, h->count) < 0 && !is_orphan(r, h->origin, h->epoch, h->count);
}

int chorus_room_on_message(chorus_room *r, uint64_t now_us, size_t from,
                           const uint8_t *m, size_t len) {
  (void)from;
  room_hdr h;
  if (hdr_decode(r, m, len, &h) < 0) return CHORUS_ERR_BAD_FRAME;
  if (h.origin != r->self) epoch_learn(r, h.origin, h.epoch, h.count);
  vc_to_own_epochs(r, &h);
  int dup = h.count <= r->delivered[h.origin];
  if (dup && !numbered_dup(r, &h) && !unstable_dup(r, &h)) return CHORUS_OK; /* duplicate */
  if (!dup && unwanted(r, &h)) { /* orphan, past a flush's cut, or own already gone */
    r->discarded += (uint64_t)past_gone_end(r, &h);
    return CHORUS_OK;
  }
  int i = find_slot(r, h.origin, h.count), slot_was_new = i < 0;
  if (i < 0) {
    i = alloc_slot(r);
    if (i < 0) return CHORUS_ERR_QUEUE_FULL;
    chorus_room_slot *s = &r->slots[i];
    slot_set(r, s, RS_HELD);
    s->origin = h.origin;
    s->order = h.order;
    s->origin_epoch = h.epoch;
    s->count = h.count;
    s->seq = s->seq_view = 0;
    s->len = (uint32_t)h.len;
    s->held_us = now_us;
    memcpy(s->vc, h.vc, sizeof(s->vc));
    s->text = text_at(&r->text, (size_t)i, h.len);
    memcpy(s->text, h.text, h.len);
    slot_index(r, i);
    numbering_claim(r, i);
  }
  int fresh = slot_was_new || (h.seq != 0 && r->slots[i].seq == 0);
  seq_merge(r, &r->slots[i], &h);
  if (dup) { /* kept for its number or a flush only (collect_stable frees it after) */
    slot_set(r, &r->slots[i], RS_DELIVERED);
    r->skip_check = 1;
    r->gc_needed = 1;
    return CHORUS_OK;
  }
  if (fresh) pass_on(r, i);
  held_advance(r, h.origin);
  return CHORUS_OK;
}

static void flush_try_complete(chorus_room *r);

/* A survivor's STABLE (room.h): its counts are held by every member of its
 * covered view, so by every member of ours if ours is among them, with the
 * same incarnations; we raise ours to them, not beyond what we hold. A
 * newcomer without its cut has no counts to raise. */
static int stable_on_frame(chorus_room *r, const uint8_t *m, size_t len) {
  if (len != CHORUS_ROOM_STABLE_BYTES(r->n) || m[5] != r->n) return CHORUS_ERR_BAD_FRAME;
  uint32_t covered = chorus_wire_get_u32(m + 1);
  if (r->awaiting_cut || (r->alive & ~covered) != 0) return CHORUS_OK;
  for (size_t k = 0; k < r->n; k++)
    if ((r->alive & bit(k)) && chorus_wire_get_u32(m + 6 + 4 * (r->n + k)) != r->epoch[k])
      return CHORUS_OK;
  uint32_t mine[CHORUS_MEMBERS_MAX];
  chorus_room_held_closed_all(r, mine);
  int same_order = chorus_wire_get_u32(m + 6 + 8 * r->n) == r->ord_view;
  for (size_t k = 0; k < r->n; k++) {
    uint32_t st = chorus_wire_get_u32(m + 6 + 4 * k);
    uint32_t ann = chorus_wire_get_u32(m + 10 + 4 * (2 * r->n + k));
    if (st > r->stable[k] && mine[k] > r->stable[k]) {
      r->stable[k] = st < mine[k] ? st : mine[k];
      r->gc_needed = 1;
    }
    /* The sequencer announced these to the sender, so it delivered them;
     * taken only where they let this member deliver more (below, they
     * would change nothing but its STATE reports). */
    if (same_order && ann > r->stable_seq[k] && ann > r->delivered[k]) r->stable_seq[k] = ann;
  }
  return CHORUS_OK;
}

static void join_acked(chorus_room *r);
static void joined_push(chorus_room *r, size_t joiner, uint32_t to, uint8_t type);

int chorus_room_on_control(chorus_room *r, size_t from, const uint8_t *m,
                           size_t len) {
  if (from >= r->n) return CHORUS_ERR_BAD_FRAME;
  if (len == CHORUS_ROOM_JOINED_BYTES &&
      (m[0] == CHORUS_ROOM_CTRL_JOINED || m[0] == CHORUS_ROOM_CTRL_HOLDS)) {
    if (m[5] == r->self) {
      uint32_t view = chorus_wire_get_u32(m + 1);
      r->joined_from |= bit(from);
      if (view > r->joined_view_of[from]) r->joined_view_of[from] = view;
      if (view >= r->settle_floor) r->settle_wait &= ~bit(from);
      /* Live messages wait for the coordinator's cut. */
      if (m[0] == CHORUS_ROOM_CTRL_JOINED) chorus_room_expect_cut(r);
    } else if (m[5] < r->n && m[0] == CHORUS_ROOM_CTRL_JOINED) {
      /* an acknowledgement, if this node coordinates it */
      r->join_wait[m[5]] &= ~bit(from);
      join_acked(r);
    }
    return CHORUS_OK;
  }
  if (len > 0 && m[0] == CHORUS_ROOM_CTRL_ORDER) return order_on_frame(r, m, len);
  if (len > 0 && m[0] == CHORUS_ROOM_CTRL_STABLE) return stable_on_frame(r, m, len);
  if (len != CHORUS_ROOM_CTRL_BYTES ||
      (m[0] != CHORUS_ROOM_CTRL_FLUSH_DONE && m[0] != CHORUS_ROOM_CTRL_FLUSH_CUTLESS))
    return CHORUS_ERR_BAD_FRAME;
  uint32_t view = chorus_wire_get_u32(m + 1);
  uint32_t *of = m[0] == CHORUS_ROOM_CTRL_FLUSH_DONE ? r->flush_view_of : r->cutless_view_of;
  if (view > of[from]) of[from] = view;
  flush_try_complete(r);
  return CHORUS_OK;
}

void chorus_room_on_state(chorus_room *r, size_t from, uint32_t view,
                          const uint32_t *held, const uint32_t *stable, size_t n) {
  if (from >= r->n || n != r->n) return;
  r->unreported &= ~bit(from);
  for (size_t k = 0; k < n; k++)
    if (held[k] > r->known_held[from][k]) r->known_held[from][k] = held[k];
  if (r->dead & r->alive) r->gc_needed = 1; /* free_upto may have moved */
  if (view >= r->view) r->merge_pass_from &= ~bit(from); /* it has merged */
  /* A member ahead of us learns where we are: one that installed a merge
   * we never got cuts us on it (member.c, merge_mates_check). */
  if (view > r->view && (r->alive & bit(from))) r->state_dirty |= bit(from);
  /* The sequencer's stable vector covers our view only if views agree. */
  uint32_t mine[CHORUS_MEMBERS_MAX];
  chorus_room_held_closed_all(r, mine);
  if (view == r->view && from == chorus_room_sequencer(r))
    for (size_t k = 0; k < n; k++) {
      if (stable[k] > r->stable_seq[k]) r->stable_seq[k] = stable[k];
      if (stable[k] > r->stable[k] && mine[k] > r->stable[k]) {
        /* Everyone else holds up to stable[k]; we hold up to mine[k]. */
        r->stable[k] = stable[k] < mine[k] ? stable[k] : mine[k];
        r->gc_needed = 1;
      }
    }
  stable_update(r);
  /* Reports are unreliable. A member whose stable vector lags ours missed
   * our announcement and gets it again. */
  if (!(r->alive & bit(from))) return;
  if (is_sequencer(r)) {
    for (size_t k = 0; k < n; k++)
      if (stable[k] < r->stable[k]) r->state_dirty |= bit(from);
  } else if (from == chorus_room_sequencer(r)) {
    /* The sequencer's announcement stands still below what we hold: it may
     * lack our report (we may think all settled from others' reports). */
    int still = memcmp(stable, r->last_announced, n * sizeof(*stable)) == 0, behind = 0;
    for (size_t k = 0; k < n; k++) behind |= stable[k] < mine[k];
    if (still && behind) r->state_dirty |= bit(from);
    memcpy(r->last_announced, stable, n * sizeof(*stable));
  }
}

int chorus_room_unsettled(const chorus_room *r) {
  for (size_t k = 0; k < r->n; k++)
    if (r->held[k] > r->stable[k]) return 1;
  return 0;
}

/* Origin k's stable count as the members last heard it: at the sequencer
 * its last announcement, since they stall on that, not on what the
 * sequencer knows (its own unstable count drops to 0 with the last
 * report, while the others still wait for the announcement). */
static uint32_t heard_stable(const chorus_room *r, size_t k) {
  if (is_sequencer(r) && r->last_announced[k] < r->stable[k]) return r->last_announced[k];
  return r->stable[k];
}

int chorus_room_pressed(const chorus_room *r) {
  size_t total = 0, half_quota = own_quota(r) / 2;
  for (size_t k = 0; k < r->n; k++) {
    uint32_t heard = heard_stable(r, k);
    size_t unstable = r->held[k] > heard ? r->held[k] - heard : 0;
    if (unstable > 0 && unstable >= half_quota) return 1;
    total += unstable;
  }
  return total > 0 && total >= r->retain_max / CHORUS_ROOM_PRESSED_PER_SLOTS;
}

void chorus_room_announced(chorus_room *r, const uint32_t *stable) {
  if (is_sequencer(r)) memcpy(r->last_announced, stable, r->n * sizeof(*stable));
}

uint32_t chorus_room_report_mask(const chorus_room *r) {
  return is_sequencer(r) ? others(r) : bit(chorus_room_sequencer(r));
}

/* A member other than the sequencer delivers a safe message only once the
 * sequencer announced it stable, not as soon as it counts the sequencer's
 * report with its own: the sequencer, which waits for that member's
 * report, could otherwise take a merged ordering (its side absorbed)
 * without having delivered it and get it numbered anew, after the other
 * side's messages. So the sequencer delivers every message of its
 * numbering first, and its history carries them to the merge. */
uint32_t chorus_room_stable_safe(const chorus_room *r, size_t k) {
  if (is_sequencer(r) || r->stable_seq[k] >= r->stable[k]) return r->stable[k];
  return r->stable_seq[k];
}

/* FIFO, then causal, then total (next number of the ordering view), then
 * safe (stable). Each order includes the conditions of the ones before. */
static int deliverable(const chorus_room *r, const chorus_room_slot *s) {
  if (r->delivered[s->origin] != s->count - 1) return 0;
  if (s->order >= CHORUS_ORDER_CAUSAL)
    for (size_t k = 0; k < r->n; k++)
      if (k != s->origin && r->delivered[k] < s->vc[k]) return 0;
  if (s->order >= CHORUS_ORDER_TOTAL &&
      (s->seq == 0 || s->seq_view != r->ord_view || s->seq != r->next_seq))
    return 0;
  if (s->order == CHORUS_ORDER_SAFE && chorus_room_stable_safe(r, s->origin) < s->count)
    return 0;
  return 1;
}

/* Per origin, the messages delivered here or already numbered in the
 * current view (numbered ones will be delivered in number order). */
static void numbered_or_delivered(const chorus_room *r, uint32_t *eff) {
  for (size_t k = 0; k < r->n; k++) {
    eff[k] = r->delivered[k];
    for (;;) {
      int i = find_slot(r, k, eff[k] + 1);
      if (i < 0 || r->slots[i].seq == 0 || r->slots[i].seq_view != r->view) break;
      eff[k]++;
    }
  }
}

/* The causal condition, counting numbered messages as good as delivered:
 * whatever m depends on then precedes it in the total order or is
 * delivered first by the causal condition at every member. So a burst
 * from one origin is numbered at once, not one stability round each. */
static int ready_to_number(const chorus_room *r, const chorus_room_slot *s,
                           const uint32_t *eff) {
  if (eff[s->origin] != s->count - 1) return 0;
  for (size_t k = 0; k < r->n; k++)
    if (k != s->origin && eff[k] < s->vc[k]) return 0;
  return 1;
}

static int number_now(const chorus_room *r, const chorus_room_slot *s, const uint32_t *eff) {
  return s->state == RS_HELD && s->order >= CHORUS_ORDER_TOTAL && s->seq == 0 &&
         !(r->merge_hold & bit(s->origin)) && ready_to_number(r, s, eff);
}

/* The slot to number next, or -1: the ready one in the lowest slot. Only an
 * origin's next message past eff can be ready, so with the index on there
 * are at most n candidates, as in next_deliverable. */
static int next_to_number(const chorus_room *r, const uint32_t *eff) {
  if (r->slot_of_shared) {
    for (size_t i = 0; i < r->retain_max; i++)
      if (number_now(r, &r->slots[i], eff)) return (int)i;
    return -1;
  }
  int best = -1;
  for (size_t k = 0; k < r->n; k++) {
    int i = find_slot(r, k, eff[k] + 1);
    if (i >= 0 && (best < 0 || i < best) && number_now(r, &r->slots[i], eff)) best = i;
  }
  return best;
}

/* Sequencer: number the ready total/safe messages and forward the short
 * ones, announce the numbers of the others (ORDER: the members have them
 * from their origins). */
static int sequence_ready(chorus_room *r) {
  /* A sequencer just made by its cut first waits for the messages the
   * cut numbered: one held unnumbered here would get a second number. */
  if (!is_sequencer(r) || r->flushing || !chorus_room_numbers_held(r)) return 0;
  uint32_t eff[CHORUS_MEMBERS_MAX];
  numbered_or_delivered(r, eff);
  int numbered = 0;
  while (r->ob_count + 1 < outbox_cap(r)) {
    int i = next_to_number(r, eff);
    if (i < 0) break;
    chorus_room_slot *s = &r->slots[i];
    s->seq = ++r->seq_assigned;
    s->seq_view = r->view;
    eff[s->origin]++;
    chorus_room_numbering nb = {s->origin, s->origin_epoch, s->count, s->seq_view, s->seq};
    if (via_sequencer(s)) outbox_push(r, (int32_t)i, others(r)); /* with its number */
    else order_push(r, others(r), &nb); /* room for a frame: checked above */
    held_advance(r, s->origin);
    numbered = 1;
  }
  return numbered;
}

/* Free delivered messages every member holds, unless still to be sent. */
static void discard_orphans(chorus_room *r);

void chorus_room_set_dead(chorus_room *r, uint32_t ranks) {
  ranks &= r->alive & others(r);
  if (ranks & ~r->dead) r->gc_needed = 1;
  r->dead = ranks;
}

/* What of origin k may be freed: stable, or held by every member but those
 * held for dead. A member held for dead is certain to be removed, and then
 * what the others hold is stable; until then its stale reports would keep
 * the slots full (flush relays that came after a partition could fill them
 * all, and the VIEW that removes it wait behind one more). */
static uint32_t free_upto(const chorus_room *r, size_t k) {
  uint32_t lo = r->stable[k], live = r->alive & others(r) & ~r->dead;
  if (!(r->alive & r->dead)) return lo;
  uint32_t rest = UINT32_MAX;
  for (size_t m = 0; m < r->n; m++)
    if ((live & bit(m)) && r->known_held[m][k] < rest) rest = r->known_held[m][k];
  return rest != UINT32_MAX && rest > lo ? rest : lo;
}

static void collect_stable(chorus_room *r) {
  if (r->orphans_left && !r->flushing) discard_orphans(r);
  if (!r->gc_needed) return;
  r->gc_needed = 0;
  uint32_t upto[CHORUS_MEMBERS_MAX];
  for (size_t k = 0; k < r->n; k++) upto[k] = free_upto(r, k);
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    int done = s->state == RS_DEAD ||
               (s->state == RS_DELIVERED && s->count <= upto[s->origin]);
    if (!done) continue;
    if (s->state == RS_DELIVERED && s->seq != 0 && number_to_come(r, s->seq, s->seq_view)) {
      r->gc_needed = 1; /* merged_skip's: its number is still to be stepped over */
      continue;
    }
    if (s->refs == 0) slot_set(r, s, RS_FREE);
    else r->gc_needed = 1; /* still to be sent: try again later */
  }
}

/* What a message depends on is what its sender delivered and everything
 * those messages depended on, fifo ones included: so causality is
 * transitive even through messages delivered without waiting for it. */
static void past_merge(chorus_room *r, const chorus_room_slot *s) {
  for (size_t k = 0; k < r->n; k++)
    if (s->vc[k] > r->past[k]) r->past[k] = s->vc[k];
  if (s->count > r->past[s->origin]) r->past[s->origin] = s->count;
}

/* Keep a delivered message for newcomers; the oldest entry makes way unless
 * it is still being sent to someone (then this one is not recorded). The
 * ring holds twice the history a newcomer gets, so a newcomer's history
 * still in flight (behind a slow link) does not keep the next one's stale. */
/* Record *d at the ring's end; CHORUS_ERR_QUEUE_FULL if the oldest entry
 * is still named by the outbox or still to deliver (hist_unsent). */
static int hist_record(chorus_room *r, const chorus_room_delivery *d) {
  if (r->hist_max == 0 || d->len > r->msg_bytes_max || d->origin >= r->n)
    return CHORUS_ERR_INVAL;
  size_t i = (r->hist_head + r->hist_count) % r->hist_cap;
  if (r->hist_count == r->hist_cap) {
    if (r->hist[r->hist_head].refs || r->hist_unsent == r->hist_count) {
      r->hist_skipped++;
      return CHORUS_ERR_QUEUE_FULL;
    }
    r->hist_head = (r->hist_head + 1) % r->hist_cap;
    r->hist_count--;
  }
  chorus_room_hist *h = &r->hist[i];
  h->origin = (uint8_t)d->origin;
  h->order = d->order;
  h->origin_epoch = d->origin_epoch;
  h->count = d->count;
  h->view = d->view;
  h->seq = d->seq;
  h->len = (uint32_t)d->len;
  h->text = text_at(&r->hist_text, i, d->len);
  memcpy(h->text, d->text, d->len);
  r->hist_count++;
  return CHORUS_OK;
}

void chorus_room_history_add(chorus_room *r, const chorus_room_delivery *d) {
  (void)hist_record(r, d);
}

int chorus_room_history_hold(chorus_room *r, const chorus_room_delivery *d) {
  int rc = hist_record(r, d);
  if (rc == CHORUS_OK) r->hist_unsent++;
  return rc == CHORUS_ERR_QUEUE_FULL ? rc : CHORUS_OK;
}

int chorus_room_history_next(chorus_room *r, chorus_room_delivery *d) {
  if (r->hist_unsent == 0 || !r->cut_taken || !chorus_room_settled(r)) return 0;
  size_t at = r->hist_count - r->hist_unsent--;
  const chorus_room_hist *h = &r->hist[(r->hist_head + at) % r->hist_cap];
  d->origin = h->origin;
  d->order = h->order;
  d->origin_epoch = h->origin_epoch;
  d->count = h->count;
  d->view = h->view;
  d->seq = h->seq;
  d->text = h->text;
  d->len = h->len;
  return 1;
}

void chorus_room_history_forget(chorus_room *r) {
  /* Newest first; one an admission by this node still sends stays in the
   * ring (not delivered here). */
  for (; r->hist_unsent > 0; r->hist_unsent--) {
    if (r->hist[(r->hist_head + r->hist_count - 1) % r->hist_cap].refs) break;
    r->hist_count--;
  }
  r->hist_unsent = 0;
}

static int numbers_held(const chorus_room *r) {
  for (uint32_t k = r->next_seq; k <= r->seq_assigned && k != 0; k++) {
    size_t i = 0;
    while (i < r->retain_max &&
           !(r->slots[i].state == RS_HELD && r->slots[i].seq == k &&
             r->slots[i].seq_view >= r->ord_view && r->slots[i].seq_view <= r->view))
      i++;
    if (i == r->retain_max) return 0;
  }
  return 1;
}

int chorus_room_numbers_held(chorus_room *r) {
  if (r->numbers_owed && numbers_held(r)) r->numbers_owed = 0;
  return !r->numbers_owed;
}

int chorus_room_settled(const chorus_room *r) {
  return !r->cut_taken || !(r->settle_wait & r->alive);
}

void chorus_room_settle_begin(chorus_room *r, size_t admitter, int afresh) {
  /* Tell each member that this node has it in its view: one admitted
   * before it and still waiting to settle has no other word from here. */
  for (size_t k = 0; k < r->n; k++)
    if (k != r->self && (r->alive & bit(k))) joined_push(r, k, bit(k), CHORUS_ROOM_CTRL_HOLDS);
  if (afresh) r->settle_floor = r->view;
  r->settle_wait = r->alive & ~bit(r->self) & ~bit(admitter);
  for (size_t k = 0; k < r->n; k++)
    if ((r->joined_from & bit(k)) && r->joined_view_of[k] >= r->settle_floor)
      r->settle_wait &= ~bit(k);
}

void chorus_room_cut_rollback(chorus_room *r) {
  /* Our own counts too: the first cut set them to what its coordinator had
   * of our earlier incarnation (join_state_self), and the next history
   * brings those messages again. Not settled, this incarnation released
   * none of its own (own_blocked), so nothing of it is lost here. */
  for (size_t k = 0; k < r->n; k++) {
    r->delivered[k] = r->held[k] = r->held_reported[k] = 0;
    r->stable[k] = r->stable_seq[k] = r->cut_delivered[k] = r->past[k] = 0;
  }
  r->next_seq = 0;
  for (size_t i = 0; i < r->retain_max; i++) { /* counted delivered, never given */
    chorus_room_slot *s = &r->slots[i];
    int own = s->origin == r->self && s->origin_epoch == r->epoch[r->self];
    if (s->state == RS_DELIVERED && !own) slot_set(r, s, RS_HELD);
  }
  chorus_room_history_forget(r);
  r->settle_wait = UINT32_MAX; /* until the new cut says whom to wait for */
  r->skip_check = 1;
}

/* Deliver the first held message whose order allows it now. */
/* The slot of the held message to deliver next, or -1: the deliverable one
 * in the lowest slot, as a scan of the slots finds it. Only an origin's next
 * message can be deliverable, so with the index on (see slot_index) there
 * are at most n candidates to look at, not every slot. */
static int next_deliverable(const chorus_room *r) {
  int best = -1;
  if (r->slot_of_shared) {
    for (size_t i = 0; i < r->retain_max; i++)
      if (r->slots[i].state == RS_HELD && deliverable(r, &r->slots[i])) return (int)i;
    return -1;
  }
  for (size_t k = 0; k < r->n; k++) {
    int i = find_slot(r, k, r->delivered[k] + 1);
    if (i >= 0 && (best < 0 || i < best) && r->slots[i].state == RS_HELD &&
        deliverable(r, &r->slots[i]))
      best = i;
  }
  return best;
}

static int deliver_one(chorus_room *r, chorus_room_delivery *d) {
  if (r->awaiting_cut || r->hist_unsent || !chorus_room_settled(r)) return 0;
  int i = next_deliverable(r);
  if (i < 0) return 0;
  chorus_room_slot *s = &r->slots[i];
  slot_set(r, s, RS_DELIVERED);
  r->delivered[s->origin]++;
  if (s->count <= r->stable[s->origin]) r->gc_needed = 1; /* stable already */
  past_merge(r, s);
  if (s->seq) r->next_seq++;
  d->origin = s->origin;
  d->origin_epoch = s->origin_epoch;
  d->count = s->count;
  d->view = r->view;
  d->seq = s->order >= CHORUS_ORDER_TOTAL ? s->seq : 0;
  d->order = s->order;
  d->text = s->text;
  d->len = s->len;
  chorus_room_history_add(r, d);
  return 1;
}

/* 1 if a delivered slot holds a number this member may still have to step
 * over (a later label than the current ordering's, or one of it not yet
 * reached). Without one, merged_skip has nothing to find until a slot's
 * number, its state or the ordering changes: those set skip_check. */
static int skip_pending(const chorus_room *r) {
  if (r->numberings_count > 0) return 1; /* a number without a copy may come due */
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_DELIVERED && s->seq != 0 && s->order >= CHORUS_ORDER_TOTAL &&
        (s->seq_view > r->ord_view || (s->seq_view == r->ord_view && s->seq >= r->next_seq)))
      return 1;
  }
  return 0;
}

/* Step over the numbers of messages delivered here as merge deliveries
 * (chorus_room_merge_take) before their turn came. */
static int merged_skip(chorus_room *r) {
  if (!r->skip_check) return 0;
  int stepped = 0;
  for (int again = 1; again;) {
    again = 0;
    for (size_t i = 0; i < r->retain_max; i++) {
      const chorus_room_slot *s = &r->slots[i];
      if (s->state == RS_DELIVERED && s->seq == r->next_seq && s->seq_view == r->ord_view &&
          s->order >= CHORUS_ORDER_TOTAL) {
        r->next_seq++;
        again = stepped = 1;
      }
    }
    for (size_t k = 0; k < r->numberings_count; k++) { /* numbers without a copy */
      const chorus_room_numbering *e = &r->numberings[k];
      if (e->seq_view == r->ord_view && e->seq == r->next_seq &&
          e->count <= r->delivered[e->origin]) {
        numbering_drop(r, k);
        r->next_seq++;
        again = stepped = 1;
        break;
      }
    }
  }
  r->skip_check = skip_pending(r);
  return stepped;
}

int chorus_room_deliver(chorus_room *r, uint64_t now_us, chorus_room_delivery *d) {
  (void)now_us;
  collect_stable(r);
  for (;;) {
    own_release_pending(r);
    merged_skip(r);
    if (deliver_one(r, d)) return 1;
    if (!sequence_ready(r)) return 0;
  }
}

int chorus_room_held_next(chorus_room *r, size_t *origin, uint32_t *count,
                          uint32_t *epoch) {
  for (size_t k = 0; k < r->n; k++)
    if (r->held_reported[k] < r->held[k]) {
      uint32_t c = ++r->held_reported[k];
      int i = find_slot(r, k, c);
      *origin = k;
      *count = c;
      if (i >= 0) *epoch = r->slots[i].origin_epoch;
      else *epoch = c >= r->first[k] || !r->prev_epoch[k] ? r->epoch[k] : r->prev_epoch[k];
      return 1;
    }
  return 0;
}

size_t chorus_room_outbox_count(const chorus_room *r) { return r->ob_count; }

const chorus_room_send *chorus_room_outbox_peek(const chorus_room *r, size_t i) {
  if (i >= r->ob_count) return NULL;
  return &r->outbox[(r->ob_head + i) % outbox_cap(r)];
}

/* Entry e no longer goes to the ranks in `mask`. A history entry sent to
 * everyone lets go of its history slot at once, not when the entries
 * before it are done: while the oldest slot is held, new deliveries are not
 * recorded (chorus_room_history_add), and a link held back by its window
 * would keep the history stale for the next newcomer. */
static void entry_unmask(chorus_room *r, chorus_room_send *e, uint32_t mask) {
  e->mask &= ~mask;
  if (e->mask != 0 || e->slot > -2) return;
  r->hist[-2 - e->slot].refs--;
  e->slot = -1; /* released: the compaction has nothing left to release */
}

void chorus_room_sent(chorus_room *r, size_t i, uint32_t mask_done) {
  if (i >= r->ob_count) return;
  entry_unmask(r, &r->outbox[(r->ob_head + i) % outbox_cap(r)], mask_done);
}

void chorus_room_outbox_compact(chorus_room *r) {
  while (r->ob_count > 0 && r->outbox[r->ob_head].mask == 0) {
    chorus_room_send *e = &r->outbox[r->ob_head];
    if (e->slot >= 0) r->slots[e->slot].refs--;
    if (e->slot <= -2) r->hist[-2 - e->slot].refs--;
    r->ob_head = (r->ob_head + 1) % outbox_cap(r);
    r->ob_count--;
  }
}

int chorus_room_encode(const chorus_room *r, const chorus_room_send *e,
                       uint8_t *buf, size_t cap_bytes) {
  if (e->slot == -1) {
    if (cap_bytes < e->ctrl_len) return CHORUS_ERR_NOBUF;
    memcpy(buf, e->ctrl, e->ctrl_len);
    return e->ctrl_len;
  }
  if (e->slot <= -2) {
    const chorus_room_hist *h = &r->hist[-2 - e->slot];
    if (cap_bytes < CHORUS_ROOM_HISTORY_HDR_BYTES + h->len) return CHORUS_ERR_NOBUF;
    buf[0] = e->hist_type;
    buf[1] = h->origin;
    buf[2] = h->order;
    chorus_wire_put_u32(buf + 3, h->origin_epoch);
    chorus_wire_put_u32(buf + 7, h->count);
    chorus_wire_put_u32(buf + 11, h->view);
    chorus_wire_put_u32(buf + 15, h->seq);
    memcpy(buf + CHORUS_ROOM_HISTORY_HDR_BYTES, h->text, h->len);
    return (int)(CHORUS_ROOM_HISTORY_HDR_BYTES + h->len);
  }
  const chorus_room_slot *s = &r->slots[e->slot];
  size_t hdr = CHORUS_ROOM_HDR_BYTES(r->n);
  if (cap_bytes < hdr + s->len) return CHORUS_ERR_NOBUF;
  buf[0] = s->origin;
  buf[1] = s->order;
  chorus_wire_put_u32(buf + 2, s->origin_epoch);
  chorus_wire_put_u32(buf + 6, s->count);
  chorus_wire_put_u32(buf + 10, s->seq_view);
  chorus_wire_put_u32(buf + 14, s->seq);
  buf[18] = (uint8_t)r->n;
  chorus_wire_put_u32(buf + 19, epochs_digest(r)); /* what s->vc counts in */
  for (size_t k = 0; k < r->n; k++) chorus_wire_put_u32(buf + 23 + 4 * k, s->vc[k]);
  memcpy(buf + hdr, s->text, s->len);
  return (int)(hdr + s->len);
}

/* Drop messages of removed origins that can never be delivered: a gap in
 * their numbering that no survivor can fill (nobody delivered past it).
 * One still being relayed is dropped once it has left (orphans_left). */
static void discard_orphans(chorus_room *r) {
  r->orphans_left = 0;
  for (size_t o = 0; o < r->n; o++) {
    if (r->alive & bit(o)) continue;
    uint32_t c = r->delivered[o];
    while (find_slot(r, o, c + 1) >= 0) c++;
    for (size_t i = 0; i < r->retain_max; i++) {
      chorus_room_slot *s = &r->slots[i];
      if (s->state != RS_HELD || s->origin != o || s->count <= c) continue;
      if (s->refs) {
        r->orphans_left = 1;
        continue;
      }
      slot_set(r, s, RS_FREE);
      r->discarded++;
    }
  }
}

/* The last message of removed origin o that anyone can still deliver: the
 * end of the run delivered or held here (after a flush, at every survivor). */
static uint32_t run_end(const chorus_room *r, size_t o) {
  uint32_t c = r->delivered[o];
  while (find_slot(r, o, c + 1) >= 0) c++;
  return c;
}

/* A removed origin's causal (or stronger) message that depends on a
 * removed origin's message past that origin's run can never be delivered:
 * no survivor holds what it waits for (only crashed members did). All
 * survivors hold the same messages after a flush, so each drops the same
 * ones, with the rest of their origin's run, before the old numbers are
 * kept: a number the crashed sequencer gave one would stop the order for
 * good. A survivor cannot have delivered one (it would hold the message
 * it waited for). One the outbox still names dies later (RS_DEAD). */
static void drop_unreachable(chorus_room *r) {
  uint32_t end[CHORUS_MEMBERS_MAX];
  for (size_t o = 0; o < r->n; o++)
    end[o] = r->alive & bit(o) ? UINT32_MAX : run_end(r, o);
  drop_past_end(r, end, r->n);
}

/*
 * Every survivor has relayed its unstable messages and said FLUSH_DONE, so
 * all survivors hold the same messages. The numbers of the old ordering
 * view stand up to the first gap, K; beyond it nobody can have delivered, so
 * those messages lose their number and the new sequencer numbers them from
 * K + 1 in the new view.
 */
static void flush_complete(chorus_room *r) {
  /* Numberings of views ord_view..view continue one another (each new
   * sequencer starts at the previous K + 1), so the run may cross labels;
   * where a number carries two labels the later view's wins. */
  drop_unreachable(r);
  /* discard_orphans drops the rest. A newcomer without its cut holds no
   * run yet (on_join_state: the relays that follow the cut fill it). */
  for (size_t o = 0; o < r->n && !r->awaiting_cut; o++)
    if (!(r->alive & bit(o))) {
      r->gone_end[o] = run_end(r, o);
      r->gone_epoch[o] = r->epoch[o];
    }
  uint32_t k = r->next_seq - 1;
  for (;;) {
    int found = -1;
    for (size_t i = 0; i < r->retain_max; i++) {
      const chorus_room_slot *s = &r->slots[i];
      if (s->state != RS_HELD || s->seq != k + 1 || s->seq_view < r->ord_view ||
          s->seq_view > r->view)
        continue;
      if (found < 0 || s->seq_view > r->slots[found].seq_view) found = (int)i;
    }
    if (found < 0) break;
    for (size_t i = 0; i < r->retain_max; i++) { /* losers of a clash drop out */
      chorus_room_slot *s = &r->slots[i];
      if ((int)i != found && s->state == RS_HELD && s->seq == k + 1) s->seq = s->seq_view = 0;
    }
    r->slots[found].seq_view = r->view;
    k++;
  }
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_HELD && s->seq != 0 && s->seq_view != r->view) s->seq = s->seq_view = 0;
  }
  r->ord_view = r->view;
  r->skip_check = 1;
  r->seq_assigned = k;
  r->flushing = 0;
  /* Numbers of the old views without their message in any survivor's
   * hands are past K; only the new sequencer's (it may be done first) stay. */
  numbering_prune(r, r->view);
  discard_orphans(r);
  own_release_pending(r);
}

/* Complete once every survivor of the change has said FLUSH_DONE (or,
 * still without its cut, FLUSH_CUTLESS: it knows the change by its VIEW's
 * number, the first removal's); members admitted since take no part. */
static void flush_try_complete(chorus_room *r) {
  if (!r->flushing) return;
  for (size_t k = 0; k < r->n; k++)
    if ((r->flush_members & r->alive & bit(k)) && k != r->self &&
        r->flush_view_of[k] < r->flush_view && r->cutless_view_of[k] < r->flush_first)
      return;
  flush_complete(r);
}

int chorus_room_remove(chorus_room *r, size_t rank) {
  if (rank >= r->n || rank == r->self || !(r->alive & bit(rank)))
    return CHORUS_ERR_INVAL;
  if (r->ob_count + r->retain_max + r->numberings_count + 2 > outbox_cap(r))
    return CHORUS_ERR_QUEUE_FULL;
  uint32_t covered = r->alive;
  r->alive &= ~bit(rank);
  r->join_pending &= ~bit(rank); /* a newcomer gone before its cut */
  r->merge_hold = 0; /* a view change settles whatever a merge left */
  r->merge_pass_from = 0;
  sequencer_update(r);
  r->view++;
  r->flushing = 1;
  if (!r->flush_same_change) r->flush_first = r->view;
  r->flush_same_change = 0;
  r->flush_view = r->view;
  r->flush_members = r->alive;
  for (size_t i = 0; i < r->ob_count; i++) /* nothing more goes to it */
    entry_unmask(r, &r->outbox[(r->ob_head + i) % outbox_cap(r)], bit(rank));
  chorus_room_outbox_compact(r);
  if (!r->awaiting_cut) stable_push(r, covered);
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    /* Held ones always: "stable" may count a number a flush then cleared. */
    if (s->state == RS_FREE || s->state == RS_PENDING || s->state == RS_DEAD ||
        (s->state == RS_DELIVERED && s->count <= r->stable[s->origin]))
      continue;
    outbox_push(r, (int32_t)i, others(r));
    r->relayed++;
  }
  /* And the numbers known here without their message: another survivor
   * may have the message without its number, so that every survivor finds
   * the same K (the relayed messages carry the numbers known with them). */
  for (size_t k = 0; k < r->numberings_count; k++)
    if (r->numberings[k].seq_view >= r->ord_view &&
        order_push(r, others(r), &r->numberings[k]) == CHORUS_OK)
      r->relayed++;
  /* A newcomer without its cut numbers its views apart: its FLUSH_DONE
   * (the VIEW's number) comes from the membership (member.c). */
  if (!r->awaiting_cut) flush_done_push(r);
  r->state_dirty |= others(r);
  stable_update(r);
  flush_try_complete(r);
  return CHORUS_OK;
}

/* The fields a cut shares (JOIN_STATE and MERGE_STATE): this node's
 * numbering and, per member, what it delivered and what is stable. */
static void cut_write(const chorus_room *r, uint8_t *c, uint8_t type) {
  c[0] = type;
  chorus_wire_put_u32(c + 1, r->view);
  chorus_wire_put_u32(c + 5, r->ord_view);
  chorus_wire_put_u32(c + 9, r->next_seq);
  chorus_wire_put_u32(c + 13, r->seq_assigned);
  c[17] = (uint8_t)r->seq_rank;
  chorus_wire_put_u32(c + 18, r->alive);
  c[22] = (uint8_t)r->n;
  for (size_t k = 0; k < r->n; k++) {
    chorus_wire_put_u32(c + 23 + 4 * k, r->delivered[k]);
    chorus_wire_put_u32(c + 23 + 4 * (r->n + k), r->stable[k]);
  }
}

/* Queue the history (the last hist_max entries recorded) to `mask`, as
 * HISTORY or MERGE_HIST (`type`). */
static void hist_push(chorus_room *r, uint32_t mask, uint8_t type) {
  size_t n = r->hist_count < r->hist_max ? r->hist_count : r->hist_max;
  for (size_t h = r->hist_count - n; h < r->hist_count; h++) {
    int32_t slot = -2 - (int32_t)((r->hist_head + h) % r->hist_cap);
    chorus_room_send *e = outbox_push(r, slot, mask);
    if (e) e->hist_type = type;
  }
}

/* The coordinator's cut, for a newcomer. */
static void join_state_push(chorus_room *r, size_t rank) {
  uint8_t c[CHORUS_ROOM_CTRL_BYTES_MAX];
  cut_write(r, c, CHORUS_ROOM_CTRL_JOIN_STATE);
  for (size_t k = 0; k < r->n; k++) {
    chorus_wire_put_u32(c + 23 + 4 * (2 * r->n + k), r->epoch[k]);
    chorus_wire_put_u32(c + 23 + 4 * (3 * r->n + k), r->first[k]);
    chorus_wire_put_u32(c + 23 + 4 * (4 * r->n + k), r->past[k]);
  }
  chorus_wire_put_u32(c + 23 + 20 * r->n, r->view_id);
  chorus_room_push_control(r, bit(rank), c, CHORUS_ROOM_JOIN_STATE_BYTES(r->n));
}

uint32_t chorus_room_join_first(const chorus_room *r, size_t rank) {
  if (rank >= r->n) return 1;
  uint32_t c = r->delivered[rank];
  while (find_slot(r, rank, c + 1) >= 0) c++;
  return c + 1;
}

/* Queue for newcomer `rank` what it cannot get from the history or from new
 * traffic (what is held here, or delivered and not stable), then
 * FLUSH_DONE: these relays are all it would get from here in a flush of
 * this view (members may stand at different views when they let it in),
 * so it need not wait for them again. */
static void join_relays(chorus_room *r, size_t rank) {
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_HELD || (s->state == RS_DELIVERED && s->count > r->stable[s->origin]))
      outbox_push(r, (int32_t)i, bit(rank));
  }
  uint8_t fd[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_FLUSH_DONE};
  chorus_wire_put_u32(fd + 1, r->view);
  chorus_room_push_control(r, bit(rank), fd, sizeof fd);
}


/* JOINED (or HOLDS): "rank `joiner` is in my view now" to the ranks in `to`. */
static void joined_push(chorus_room *r, size_t joiner, uint32_t to, uint8_t type) {
  uint8_t c[CHORUS_ROOM_JOINED_BYTES] = {type};
  chorus_wire_put_u32(c + 1, r->view);
  c[5] = (uint8_t)joiner;
  chorus_room_push_control(r, to, c, sizeof c);
}

/* Coordinator: newcomers whose admission every other member has now
 * acknowledged (JOINED) no longer need messages passed on from here. */
static void join_acked(chorus_room *r) {
  for (size_t k = 0; k < r->n; k++)
    if ((r->join_pending & bit(k)) && !(r->join_wait[k] & r->alive))
      r->join_pending &= ~bit(k);
}

int chorus_room_join(chorus_room *r, size_t rank, uint32_t epoch, uint32_t first,
                     int coordinator, uint32_t ack_to) {
  if (rank >= r->n || rank == r->self || (r->alive & bit(rank)) || first == 0)
    return CHORUS_ERR_INVAL;
  if (r->ob_count + r->retain_max + r->hist_max + 2 > outbox_cap(r))
    return CHORUS_ERR_QUEUE_FULL;
  epoch_learn(r, rank, epoch, first); /* the coordinator's word */
  /* Its reports start again from what the new incarnation holds, and what
   * is stable now must be held by it too: it holds what was delivered here
   * (as history, or skipped under the cut), the rest once it reports. */
  r->unreported |= bit(rank);
  for (size_t k = 0; k < r->n; k++) {
    r->known_held[rank][k] = 0;
    if (r->stable[k] > r->delivered[k]) r->stable[k] = r->delivered[k];
    if (r->stable_seq[k] > r->stable[k]) r->stable_seq[k] = r->stable[k];
  }
  r->alive |= bit(rank);
  r->state_dirty |= bit(rank);
  if (coordinator) {
    hist_push(r, bit(rank), CHORUS_ROOM_CTRL_HISTORY);
    join_state_push(r, rank);
    /* Until every other member has let it in, a message may still reach
     * this node that its origin sent before: it is passed on (pass_on). */
    r->join_wait[rank] = others(r) & ~bit(rank);
    r->join_pending |= bit(rank);
    join_acked(r);
  } else {
    joined_push(r, rank, bit(rank) | (ack_to & r->alive & ~bit(r->self)), CHORUS_ROOM_CTRL_JOINED);
  }
  join_relays(r, rank);
  return CHORUS_OK;
}

int chorus_room_join_resend(chorus_room *r, size_t rank) {
  if (rank >= r->n || rank == r->self || !(r->alive & bit(rank)))
    return CHORUS_ERR_INVAL;
  if (r->ob_count + r->retain_max + r->hist_max + 2 > outbox_cap(r))
    return CHORUS_ERR_QUEUE_FULL;
  hist_push(r, bit(rank), CHORUS_ROOM_CTRL_HISTORY_AGAIN);
  join_state_push(r, rank);
  join_relays(r, rank);
  return CHORUS_OK;
}

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* The joiner's own numbering, from the coordinator's cut: its previous
 * incarnations' messages up to `delivered` are history, those up to
 * first - 1 still to come, its own start at `first`. */
static void join_state_self(chorus_room *r, uint32_t delivered, uint32_t epoch,
                            uint32_t first) {
  size_t k = r->self;
  r->delivered[k] = max_u32(r->delivered[k], delivered);
  r->held[k] = max_u32(r->held[k], r->delivered[k]);
  r->held_reported[k] = max_u32(r->held_reported[k], r->delivered[k]);
  r->past[k] = max_u32(r->past[k], r->delivered[k]);
  if (epoch == r->epoch[k] && first != 0 && first != UINT32_MAX) {
    r->first[k] = first;
    r->sent = max_u32(r->sent, first - 1);
  }
}

int chorus_room_cut_differs(const chorus_room *r, const uint8_t *m, size_t len) {
  if (len != CHORUS_ROOM_JOIN_STATE_BYTES(r->n) || m[22] != r->n) return 0;
  uint32_t alive = chorus_wire_get_u32(m + 18);
  const uint8_t *ep = m + 23 + 8 * r->n;
  for (size_t k = 0; k < r->n; k++)
    if (k != r->self && (alive & r->alive & bit(k)) &&
        chorus_wire_get_u32(ep + 4 * k) > r->epoch[k])
      return 1;
  return 0;
}

/* A second cut replaces a view only this node held: its own messages that
 * went to that view's sequencer (perhaps a crashed incarnation) may have
 * reached nobody, so every unstable one goes to every member again (a
 * member that has one drops the copy). */
static void own_resend(chorus_room *r) {
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->origin != r->self || s->origin_epoch != r->epoch[r->self] ||
        (s->state != RS_HELD && s->state != RS_DELIVERED) || s->count <= r->stable[r->self])
      continue;
    outbox_push(r, (int32_t)i, others(r));
  }
}

int chorus_room_on_join_state(chorus_room *r, const uint8_t *m, size_t len) {
  if (len != CHORUS_ROOM_JOIN_STATE_BYTES(r->n) || m[0] != CHORUS_ROOM_CTRL_JOIN_STATE ||
      m[17] >= r->n || m[22] != r->n || chorus_wire_get_u32(m + 23 + 20 * r->n) == 0)
    return CHORUS_ERR_BAD_FRAME;
  int again = r->cut_taken;
  uint32_t alive = chorus_wire_get_u32(m + 18);
  if (!(alive & bit(r->self)) || (alive >> r->n) != 0) return CHORUS_ERR_BAD_FRAME;
  r->view_id = chorus_wire_get_u32(m + 23 + 20 * r->n);
  /* The room's ordering epoch, not max'ed with ours: what this node
   * removed on its own while it waited (members its boot listed that the
   * room had not admitted yet) moved only its own count, and a view one
   * ahead would wait forever for FLUSH_DONEs of an epoch nobody reaches.
   * A cut older than a removal VIEW installed meanwhile is refused before
   * (cut_floor in member.c). */
  r->view = chorus_wire_get_u32(m + 1);
  r->ord_view = chorus_wire_get_u32(m + 5);
  r->next_seq = max_u32(r->next_seq, chorus_wire_get_u32(m + 9));
  r->skip_check = 1;
  r->seq_assigned = chorus_wire_get_u32(m + 13);
  r->seq_rank = m[17];
  r->alive = alive;
  r->flushing = 0;
  /* The cut counts what the room delivered, not where a flush ended the
   * removed members' runs: the relays that follow it are taken. */
  for (size_t k = 0; k < r->n; k++) r->gone_end[k] = UINT32_MAX;
  const uint8_t *dv = m + 23, *st = dv + 4 * r->n, *ep = st + 4 * r->n, *fi = ep + 4 * r->n,
                *pa = fi + 4 * r->n;
  for (size_t k = 0; k < r->n; k++) {
    uint32_t epoch = chorus_wire_get_u32(ep + 4 * k), first = chorus_wire_get_u32(fi + 4 * k);
    /* What the history this node delivered depended on: its own next
     * messages depend on it too. */
    r->past[k] = max_u32(r->past[k], chorus_wire_get_u32(pa + 4 * k));
    r->stable[k] = max_u32(r->stable[k], chorus_wire_get_u32(st + 4 * k));
    r->stable_seq[k] = max_u32(r->stable_seq[k], chorus_wire_get_u32(st + 4 * k));
    r->cut_delivered[k] = max_u32(r->cut_delivered[k], chorus_wire_get_u32(dv + 4 * k));
    if (k == r->self) {
      join_state_self(r, chorus_wire_get_u32(dv + 4 * k), epoch, first);
      continue;
    }
    r->delivered[k] = max_u32(r->delivered[k], chorus_wire_get_u32(dv + 4 * k));
    r->held[k] = max_u32(r->held[k], r->delivered[k]);
    r->held_reported[k] = max_u32(r->held_reported[k], r->delivered[k]);
    r->past[k] = max_u32(r->past[k], r->delivered[k]);
    if (first != 0) epoch_learn(r, k, epoch, first);
  }
  for (size_t i = 0; i < r->retain_max; i++) { /* now below the cut: done */
    chorus_room_slot *s = &r->slots[i];
    int own = s->origin == r->self && s->origin_epoch == r->epoch[r->self];
    if (s->state != RS_HELD || own || s->count > r->delivered[s->origin]) continue;
    if (s->count > r->stable[s->origin]) { /* as unstable_dup's */
      slot_set(r, s, RS_DELIVERED);
      r->skip_check = 1;
    } else {
      slot_set(r, s, s->refs ? RS_DEAD : RS_FREE);
    }
  }
  kill_orphans(r, r->self);
  for (size_t k = r->numberings_count; k-- > 0;) { /* numbers below the cut */
    const chorus_room_numbering *e = &r->numberings[k];
    if (e->seq_view < r->ord_view || e->count <= r->delivered[e->origin]) numbering_drop(r, k);
  }
  r->gc_needed = 1;
  r->awaiting_cut = 0;
  r->cut_taken = 1;
  r->numbers_owed = 1;
  for (size_t k = 0; k < r->n; k++) held_advance(r, k);
  if (again) own_resend(r);
  return CHORUS_OK;
}

int chorus_room_history_decode(const chorus_room *r, const uint8_t *m, size_t len,
                               chorus_room_delivery *d) {
  if (len <= CHORUS_ROOM_HISTORY_HDR_BYTES ||
      (m[0] != CHORUS_ROOM_CTRL_HISTORY && m[0] != CHORUS_ROOM_CTRL_HISTORY_AGAIN &&
       m[0] != CHORUS_ROOM_CTRL_MERGE_HIST) ||
      m[1] >= r->n || m[2] > CHORUS_ORDER_SAFE ||
      len - CHORUS_ROOM_HISTORY_HDR_BYTES > r->msg_bytes_max)
    return CHORUS_ERR_BAD_FRAME;
  d->origin = m[1];
  d->order = m[2];
  d->origin_epoch = chorus_wire_get_u32(m + 3);
  d->count = chorus_wire_get_u32(m + 7);
  d->view = chorus_wire_get_u32(m + 11);
  d->seq = chorus_wire_get_u32(m + 15);
  d->text = m + CHORUS_ROOM_HISTORY_HDR_BYTES;
  d->len = len - CHORUS_ROOM_HISTORY_HDR_BYTES;
  return CHORUS_OK;
}

void chorus_room_expect_cut(chorus_room *r) {
  if (!r->cut_taken) r->awaiting_cut = 1;
}

void chorus_room_set_epoch(chorus_room *r, uint32_t epoch) {
  r->epoch[r->self] = epoch;
}

void chorus_room_stats_get(const chorus_room *r, chorus_room_stats *out) {
  memset(out, 0, sizeof(*out));
  out->view = r->view;
  out->sequencer = (uint32_t)chorus_room_sequencer(r);
  out->alive_mask = r->alive;
  out->discarded = r->discarded;
  out->outbox_full = r->outbox_full;
  out->relayed = r->relayed;
  out->numberings_full = r->numberings_full;
  out->numberings = (uint32_t)r->numberings_count;
  out->flushing = r->flushing;
  out->oldest_unstable_us = UINT64_MAX;
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_HELD) out->holdback++;
    if (s->state == RS_DELIVERED) out->retained++;
    if (slot_live(s) && s->count > r->stable[s->origin]) {
      out->stability_lag++;
      if (s->held_us < out->oldest_unstable_us) out->oldest_unstable_us = s->held_us;
    }
  }
}

int chorus_room_safe_waiting(const chorus_room *r) {
  for (size_t i = 0; i < r->retain_max; i++)
    if (r->slots[i].state == RS_HELD && r->slots[i].order == CHORUS_ORDER_SAFE)
      return 1;
  return 0;
}

/* ---- merging two views (docs/PROTOCOL.md, "Merging views") ------------ */

/* The cut of chorus_room_merge's MERGE_STATE: JOIN_STATE's fields and the
 * absorbed side's coordinator. */
static void merge_state_push(chorus_room *r, uint32_t to, size_t y_coord) {
  uint8_t c[CHORUS_ROOM_CTRL_BYTES_MAX];
  cut_write(r, c, CHORUS_ROOM_CTRL_MERGE_STATE);
  c[23 + 8 * r->n] = (uint8_t)y_coord;
  chorus_wire_put_u32(c + 24 + 8 * r->n, r->view_id);
  for (size_t k = 0; k < r->n; k++) chorus_wire_put_u32(c + 28 + 8 * r->n + 4 * k, r->gone_end[k]);
  chorus_room_push_control(r, to, c, CHORUS_ROOM_MERGE_STATE_BYTES(r->n));
}

/* Messages the other side may lack: everything held, and what was
 * delivered here but is not yet stable (a message the absorbed side's
 * coordinator had not delivered when it sent its history). The absorbing
 * sequencer numbers none of the other side's before that history is in
 * (merge_hold), so those the history has are merged, the others ordered. */
static void merge_relay(chorus_room *r, uint32_t to) {
  for (size_t i = 0; i < r->retain_max; i++) {
    const chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_HELD || (s->state == RS_DELIVERED && s->count > r->stable[s->origin]))
      outbox_push(r, (int32_t)i, to);
  }
}

int chorus_room_merge(chorus_room *r, uint32_t add, uint32_t view, unsigned what,
                      size_t y_coord) {
  int send_only = (what & CHORUS_ROOM_MERGE_SEND_ONLY) != 0;
  if (add == 0 || (add & bit(r->self)) || (add >> r->n) != 0 ||
      (!send_only && (add & r->alive)))
    return CHORUS_ERR_INVAL;
  size_t need = r->retain_max + 2 + ((what & CHORUS_ROOM_MERGE_HIST) ? r->hist_max : 0);
  if (r->ob_count + need > outbox_cap(r)) return CHORUS_ERR_QUEUE_FULL;
  if (!send_only) {
    /* This side's numbering goes on under the merged view's label. */
    for (size_t i = 0; i < r->retain_max; i++) {
      chorus_room_slot *s = &r->slots[i];
      if (s->state != RS_FREE && s->seq != 0 && s->seq_view >= r->ord_view) s->seq_view = view;
    }
    for (size_t k = 0; k < r->numberings_count; k++)
      if (r->numberings[k].seq_view >= r->ord_view) r->numberings[k].seq_view = view;
    r->merge_from = r->ord_view;
    if (!r->flushing) r->ord_view = view;
    r->skip_check = 1;
    if (what & CHORUS_ROOM_MERGE_STATE) {
      /* Every origin outside this side: frozen links may bring old copies
       * of messages (relays of the other side's flushes) that its history
       * orders. */
      r->merge_hold = ((uint32_t)1 << r->n) - 1 - r->alive;
      r->merge_ycoord = y_coord;
      r->merge_pass_from = r->alive & ~bit(r->self);
      r->merge_pass_to = add;
    }
    r->alive |= add;
    r->view = view;
    memset(r->cut_delivered, 0, sizeof r->cut_delivered); /* see unstable_dup */
    stable_lower(r);
  }
  if (what & CHORUS_ROOM_MERGE_HIST) hist_push(r, add, CHORUS_ROOM_CTRL_MERGE_HIST);
  if (what & CHORUS_ROOM_MERGE_STATE) merge_state_push(r, add, y_coord);
  if (what & CHORUS_ROOM_MERGE_DONE) {
    uint8_t c[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_MERGE_DONE};
    chorus_wire_put_u32(c + 1, r->view);
    chorus_room_push_control(r, add, c, sizeof c);
  }
  if (!(what & CHORUS_ROOM_MERGE_NO_RELAY)) merge_relay(r, add);
  r->state_dirty |= add;
  return CHORUS_OK;
}

int chorus_room_on_merge_done(chorus_room *r, size_t from, const uint8_t *m, size_t len) {
  if (len != CHORUS_ROOM_CTRL_BYTES || m[0] != CHORUS_ROOM_CTRL_MERGE_DONE) return CHORUS_ERR_BAD_FRAME;
  if (r->merge_hold && from == r->merge_ycoord) r->merge_hold = 0;
  return CHORUS_OK;
}

int chorus_room_on_merge_state(chorus_room *r, const uint8_t *m, size_t len,
                               uint32_t *added, size_t *y_coord) {
  if (len != CHORUS_ROOM_MERGE_STATE_BYTES(r->n) || m[0] != CHORUS_ROOM_CTRL_MERGE_STATE ||
      m[17] >= r->n || m[22] != r->n || m[23 + 8 * r->n] >= r->n ||
      chorus_wire_get_u32(m + 24 + 8 * r->n) == 0)
    return CHORUS_ERR_BAD_FRAME;
  uint32_t alive = chorus_wire_get_u32(m + 18);
  if (!(alive & bit(r->self)) || (alive >> r->n) != 0 || !(alive & bit(m[17])))
    return CHORUS_ERR_BAD_FRAME;
  *added = alive & ~r->alive;
  *y_coord = m[23 + 8 * r->n];
  r->view_id = chorus_wire_get_u32(m + 24 + 8 * r->n);
  r->view = chorus_wire_get_u32(m + 1);
  r->ord_view = chorus_wire_get_u32(m + 5);
  r->next_seq = chorus_wire_get_u32(m + 9);
  r->skip_check = 1;
  r->seq_assigned = chorus_wire_get_u32(m + 13);
  r->seq_rank = m[17];
  for (size_t k = 0; k < r->n; k++) /* see past_gone_end */
    if (!(alive & bit(k)))
      r->gone_end[k] = (r->alive & bit(k))
                           ? UINT32_MAX /* left out without a flush here: no end known */
                           : max_u32(max_u32(r->gone_end[k], chorus_wire_get_u32(m + 23 + 4 * k)),
                                     chorus_wire_get_u32(m + 28 + 8 * r->n + 4 * k));
  r->alive = alive;
  r->flushing = 0;
  /* This side's views are done with. A FLUSH_DONE past the merged view
   * comes from a member that installed the merge sooner, then a removal:
   * it is for the change this node is about to install, and is not sent
   * again. */
  for (size_t k = 0; k < r->n; k++) {
    if (r->flush_view_of[k] <= r->view) r->flush_view_of[k] = 0;
    if (r->cutless_view_of[k] <= r->view) r->cutless_view_of[k] = 0;
  }
  for (size_t k = 0; k < r->n; k++) {
    uint32_t dl = chorus_wire_get_u32(m + 23 + 4 * k);
    if (k == r->self || dl <= r->delivered[k]) continue;
    r->merge_gaps += dl - r->delivered[k];
    r->delivered[k] = dl;
    r->held[k] = max_u32(r->held[k], dl);
    r->held_reported[k] = max_u32(r->held_reported[k], dl);
    r->past[k] = max_u32(r->past[k], dl);
  }
  r->merge_from = 0;
  r->numberings_count = 0; /* this side's numbering is over */
  memset(r->cut_delivered, 0, sizeof r->cut_delivered); /* see unstable_dup */
  for (size_t i = 0; i < r->retain_max; i++) {
    chorus_room_slot *s = &r->slots[i];
    if (s->state == RS_FREE) continue;
    s->seq = s->seq_view = 0; /* this side's numbering is over */
    if (s->state != RS_HELD) continue;
    if (s->origin != r->self && s->count <= r->delivered[s->origin] && s->refs == 0)
      slot_set(r, s, RS_FREE);
  }
  for (size_t k = 0; k < r->n; k++) held_advance(r, k);
  stable_lower(r);
  r->state_dirty |= *added;
  return CHORUS_OK;
}

int chorus_room_merge_take(chorus_room *r, const chorus_room_delivery *d) {
  size_t o = d->origin;
  if (o >= r->n || d->origin_epoch < r->epoch[o]) return 0;
  /* Our own, delivered by our side after we left its order (we merged
   * first): delivered now like the others. */
  if (o == r->self && d->origin_epoch != r->epoch[o]) return 0;
  if (o != r->self) epoch_learn(r, o, d->origin_epoch, d->count);
  if (d->count <= r->delivered[o]) return 0;
  r->merge_gaps += d->count - r->delivered[o] - 1;
  r->delivered[o] = d->count;
  r->held[o] = max_u32(r->held[o], d->count);
  r->held_reported[o] = max_u32(r->held_reported[o], d->count);
  r->past[o] = max_u32(r->past[o], d->count);
  for (size_t i = 0; i < r->retain_max; i++) { /* a copy held here is done */
    chorus_room_slot *s = &r->slots[i];
    if (s->state != RS_HELD || s->origin != o || s->count > d->count) continue;
    /* One numbered in the merged view keeps its number, to be stepped over
     * (merged_skip): the others deliver it there, this member did now. */
    int numbered = s->seq != 0 && number_to_come(r, s->seq, s->seq_view);
    slot_set(r, s, s->refs || numbered ? RS_DELIVERED : RS_FREE);
    r->skip_check |= numbered;
  }
  held_advance(r, o);
  chorus_room_history_add(r, d);
  return 1;
}
