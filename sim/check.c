#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "prng.h"

#define NO_INDEX UINT32_MAX
#define KINDS 2 /* CHORUS_MSG_ROOM, CHORUS_MSG_PRIVATE */

/* One registered message and the progress of its obligations. */
typedef struct check_rec {
  chorus_check_msg m;
  uint16_t addressed; /* bit r: r is a receiver (room: every node) */
  uint16_t intended;  /* bit r: r owes its delivery now (obligations) */
  uint16_t delivered; /* bit r: receiver r delivered it */
  uint16_t held;      /* bit r: node r reported holding it (room) */
  /* Its rank among the sender's messages of its kind to the receiver: for
   * a room message the same at every receiver. */
  uint32_t fifo_pos;
  /* Room: its causal past, as the number of room messages from each node
   * (past[sender] = fifo_pos: its sender's earlier ones). */
  uint32_t past[CHORUS_MEMBERS_MAX];
  /* Total and safe: its position in each node's sequence of total and safe
   * deliveries (valid where delivered). */
  uint32_t tpos[CHORUS_MEMBERS_MAX];
} check_rec;

struct chorus_check {
  size_t nodes, messages_max;
  uint16_t all_nodes;   /* bit per node */
  uint16_t live;        /* nodes not crashed */
  uint16_t view[CHORUS_MEMBERS_MAX]; /* per node: members of its view */
  check_rec *rec;       /* registered messages, in send order */
  size_t rec_count;
  uint32_t *index;      /* open-addressing table of rec numbers */
  size_t index_mask;    /* table size - 1, a power of two >= 2*messages_max */
  /* Per kind, (sender, receiver): messages meant for it, and delivered. */
  uint32_t pair_sent[KINDS][CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  uint32_t pair_next[KINDS][CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  /* past[n][j]: room messages from j in node n's causal past. */
  uint32_t past[CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  /* total_order, pairwise: total and safe deliveries per node, and for each
   * pair (a, b) one plus the largest position at b of a message both have
   * delivered (0: none yet), with that message's record number. */
  uint32_t total_count[CHORUS_MEMBERS_MAX];
  uint32_t common_max[CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  uint32_t common_arg[CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  uint64_t room_delivered[CHORUS_MEMBERS_MAX];
  /* One entry per correct delivery at a non-sender: class << 58 | µs. */
  uint64_t *latency_us;
  size_t latency_count, latency_max;
  uint64_t outstanding;
  chorus_check_stats stats;
  int failed;
  chorus_check_violation first;
  uint8_t *text_buf;    /* CHORUS_MSG_BYTES_MAX, to regenerate a text */
};

#define LAT_CLASS_SHIFT 58
#define LAT_VALUE_MAX (((uint64_t)1 << LAT_CLASS_SHIFT) - 1)

static uint16_t node_bit(size_t n) { return (uint16_t)(1u << n); }

static unsigned popcount16(uint16_t v) {
  unsigned c = 0;
  for (; v; v &= (uint16_t)(v - 1)) c++;
  return c;
}

static int alloc_tables(chorus_check *chk) {
  size_t slots = 1;
  while (slots < 2 * chk->messages_max) slots <<= 1;
  chk->index_mask = slots - 1;
  chk->rec = malloc(chk->messages_max * sizeof *chk->rec);
  chk->index = malloc(slots * sizeof *chk->index);
  chk->latency_max = chk->messages_max * chk->nodes;
  chk->latency_us = malloc(chk->latency_max * sizeof *chk->latency_us);
  chk->text_buf = malloc(CHORUS_MSG_BYTES_MAX);
  if (!chk->rec || !chk->index || !chk->latency_us || !chk->text_buf)
    return CHORUS_ERR_NOMEM;
  for (size_t i = 0; i < slots; i++) chk->index[i] = NO_INDEX;
  return 0;
}

int chorus_check_new(const chorus_check_config *cfg, chorus_check **out) {
  if (!cfg || !out) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (cfg->nodes < 1 || cfg->nodes > CHORUS_MEMBERS_MAX ||
      cfg->messages_max < 1 || cfg->messages_max > CHORUS_CHECK_MESSAGES_MAX)
    return CHORUS_ERR_CONFIG;
  chorus_check *chk = calloc(1, sizeof *chk);
  if (!chk) return CHORUS_ERR_NOMEM;
  chk->nodes = cfg->nodes;
  chk->all_nodes = (uint16_t)((1u << cfg->nodes) - 1);
  chk->live = chk->all_nodes;
  for (size_t i = 0; i < cfg->nodes; i++) chk->view[i] = chk->all_nodes;
  chk->messages_max = cfg->messages_max;
  int rc = alloc_tables(chk);
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
  free(chk->index);
  free(chk->latency_us);
  free(chk->text_buf);
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
    if (i == NO_INDEX) return pos;
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
  return i == NO_INDEX ? NULL : &chk->rec[i];
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

/*
 * Recomputes what record r is owed now: by every live receiver it is
 * addressed to, except that a crashed sender's message is owed only once a
 * live node delivered it (agreement: all survivors or none). Keeps the
 * outstanding count and the obligation count in step.
 */
static void obligation_update(chorus_check *chk, check_rec *r) {
  uint16_t want = (uint16_t)(r->addressed & chk->live);
  if (!(chk->live & node_bit(r->m.sender)) && !(r->delivered & chk->live)) want = 0;
  if (want == r->intended) return;
  chk->outstanding -= popcount16((uint16_t)(r->intended & ~r->delivered));
  chk->outstanding += popcount16((uint16_t)(want & ~r->delivered));
  chk->stats.obligations -= popcount16(r->intended);
  chk->stats.obligations += popcount16(want);
  r->intended = want;
}

/* Assigns the message its FIFO rank and, for a room message, its causal
 * past: everything in its sender's past, and the sender's earlier ones. */
static void add_obligations(chorus_check *chk, check_rec *r) {
  const chorus_check_msg *m = &r->m;
  size_t to = m->kind == CHORUS_MSG_ROOM ? m->sender : m->to;
  r->fifo_pos = chk->pair_sent[m->kind][m->sender][to];
  for (size_t n = 0; n < chk->nodes; n++) {
    if (m->kind == CHORUS_MSG_ROOM || n == m->to) {
      r->addressed |= node_bit(n);
      chk->pair_sent[m->kind][m->sender][n]++;
    }
  }
  if (m->kind == CHORUS_MSG_ROOM) {
    memcpy(r->past, chk->past[m->sender], sizeof r->past);
    r->past[m->sender] = r->fifo_pos;
    chk->past[m->sender][m->sender] = r->fifo_pos + 1;
  }
  obligation_update(chk, r);
}

int chorus_check_sent(chorus_check *chk, const chorus_check_msg *m) {
  if (!chk || !m || !msg_valid(chk, m)) return CHORUS_ERR_INVAL;
  size_t pos = find_pos(chk, m->sender, (int)m->kind, m->epoch, m->msg_id);
  if (chk->index[pos] != NO_INDEX) {
    chorus_check_fail(chk, "unique_id", m->at_us, m->sender,
                      "n%zu reused epoch=%u msg_id=%u for a second %s message",
                      m->sender, (unsigned)m->epoch, (unsigned)m->msg_id,
                      kind_name(m->kind));
    return 1;
  }
  if (chk->rec_count == chk->messages_max) return CHORUS_ERR_QUEUE_FULL;
  check_rec *r = &chk->rec[chk->rec_count];
  memset(r, 0, sizeof *r);
  r->m = *m;
  add_obligations(chk, r);
  chk->index[pos] = (uint32_t)chk->rec_count++;
  chk->stats.messages++;
  return 0;
}

int chorus_check_held(chorus_check *chk, uint64_t at_us, size_t holder,
                      size_t sender, uint32_t epoch, uint32_t msg_id) {
  if (!chk || holder >= chk->nodes || sender >= chk->nodes) return CHORUS_ERR_INVAL;
  check_rec *r = find(chk, sender, CHORUS_MSG_ROOM, epoch, msg_id);
  if (!r) {
    chorus_check_fail(chk, "integrity", at_us, holder,
                      "n%zu holds room message from n%zu epoch=%u msg_id=%u: "
                      "no such message was sent", holder, sender,
                      (unsigned)epoch, (unsigned)msg_id);
    return 1;
  }
  r->held |= (uint16_t)(1u << holder);
  return 0;
}

/* ---- deliveries --------------------------------------------------------- */

/* Describes a delivery for a violation report. */
#define DLV_FMT "n%zu delivered %s message from n%zu epoch=%u msg_id=%u len=%zu"
#define DLV_ARGS(d)                                                        \
  (d)->receiver, kind_name((d)->kind), (d)->sender, (unsigned)(d)->epoch, \
      (unsigned)(d)->msg_id, (d)->len_bytes

static int fail_delivery(chorus_check *chk, const char *property,
                         const chorus_check_delivery *d, const char *why) {
  chorus_check_fail(chk, property, d->at_us, d->receiver, DLV_FMT ": %s",
                    DLV_ARGS(d), why);
  return 1;
}

/* Why a found message does not match the delivery, or NULL if it does. */
static const char *mismatch(chorus_check *chk, const check_rec *r,
                            const chorus_check_delivery *d) {
  if (!(r->addressed & node_bit(d->receiver))) return "it was not meant for this receiver";
  if (d->kind == CHORUS_MSG_ROOM && d->order != r->m.order)
    return "it was sent with another order";
  if (r->m.len_bytes != d->len_bytes || !d->text)
    return "its length differs from the one sent";
  chorus_check_text(r->m.text_key, chk->text_buf, r->m.len_bytes);
  if (memcmp(chk->text_buf, d->text, d->len_bytes) != 0)
    return "its bytes differ from the ones sent";
  return NULL;
}

/* Integrity: returns the record, or NULL after recording the violation. */
static check_rec *check_integrity(chorus_check *chk, const chorus_check_delivery *d) {
  const char *why = NULL;
  check_rec *r = NULL;
  if (d->receiver >= chk->nodes || d->sender >= chk->nodes ||
      (d->kind != CHORUS_MSG_ROOM && d->kind != CHORUS_MSG_PRIVATE))
    why = "node index or kind out of range";
  else if (!(r = find(chk, d->sender, (int)d->kind, d->epoch, d->msg_id)))
    why = "no such message was sent";
  else
    why = mismatch(chk, r, d);
  if (why) {
    fail_delivery(chk, "integrity", d, why);
    return NULL;
  }
  return r;
}

static void record_latency(chorus_check *chk, const check_rec *r, uint64_t at_us) {
  uint64_t cls = r->m.kind == CHORUS_MSG_ROOM ? (uint64_t)r->m.order
                                              : CHORUS_CHECK_CLASS_PRIVATE;
  uint64_t us = at_us >= r->m.at_us ? at_us - r->m.at_us : 0;
  if (us > LAT_VALUE_MAX) us = LAT_VALUE_MAX;
  /* One slot per (message, node) exists, and each is delivered once at most. */
  if (chk->latency_count < chk->latency_max)
    chk->latency_us[chk->latency_count++] = cls << LAT_CLASS_SHIFT | us;
}

static int check_fifo(chorus_check *chk, const check_rec *r,
                      const chorus_check_delivery *d) {
  uint32_t *next = &chk->pair_next[d->kind][d->sender][d->receiver];
  uint32_t expected = *next, got = r->fifo_pos;
  /* Resynchronise after a violation so one fault is reported once. */
  *next = got + 1;
  if (got == expected) return 0;
  char why[112];
  snprintf(why, sizeof why, "it is the sender's %s message #%u to this receiver "
           "(counting from 1) but #%u was due", kind_name(d->kind),
           (unsigned)got + 1, (unsigned)expected + 1);
  return fail_delivery(chk, "fifo", d, why);
}

/* Causal: every room message in m's causal past is delivered here first.
 * Called before this delivery is counted. */
static int check_causal(chorus_check *chk, const check_rec *r,
                        const chorus_check_delivery *d) {
  for (size_t j = 0; j < chk->nodes; j++) {
    if (j == d->sender) continue; /* FIFO covers the sender's own */
    uint32_t have = chk->pair_next[CHORUS_MSG_ROOM][j][d->receiver];
    if (have >= r->past[j]) continue;
    char why[200];
    snprintf(why, sizeof why, "n%zu's room message #%u happened before it "
             "(directly or transitively), but this receiver has delivered only "
             "%u of n%zu's", j, (unsigned)r->past[j], (unsigned)have, j);
    return fail_delivery(chk, "causal", d, why);
  }
  return 0;
}

/* Adds the delivered room message's past to the receiver's causal past. */
static void causal_learn(chorus_check *chk, const check_rec *r, size_t receiver) {
  uint32_t *p = chk->past[receiver];
  for (size_t k = 0; k < chk->nodes; k++)
    if (r->past[k] > p[k]) p[k] = r->past[k];
  if (r->fifo_pos + 1 > p[r->m.sender]) p[r->m.sender] = r->fifo_pos + 1;
}

/*
 * Total order, pairwise: node a now delivers m as its pos-th total message.
 * For every node b that delivered m too, every message both delivered before
 * now must precede m at b: their largest position at b (common_max) must be
 * below m's. Then m joins what a and b have in common. Messages b delivers
 * later are checked from b's side when it does. Called before this delivery
 * is counted; the bookkeeping is done even when the check fails.
 */
static int total_step(chorus_check *chk, check_rec *r, const chorus_check_delivery *d) {
  size_t a = d->receiver;
  uint32_t idx = (uint32_t)(r - chk->rec), pos = chk->total_count[a]++;
  int bad = 0;
  r->tpos[a] = pos;
  for (size_t b = 0; b < chk->nodes; b++) {
    /* Total order binds the members that stay up (ORDERING.md): a crashed
     * sequencer may have delivered its own numbering that nobody else saw. */
    if (b == a || !(r->delivered & node_bit(b)) || !(chk->live & node_bit(b))) continue;
    uint32_t pb = r->tpos[b];
    if (!bad && chk->common_max[a][b] > pb + 1) {
      const chorus_check_msg *o = &chk->rec[chk->common_arg[a][b]].m;
      char why[200];
      snprintf(why, sizeof why, "n%zu delivered it (its total #%u) before n%zu's "
               "msg_id=%u (its total #%u), which this node delivered first",
               b, (unsigned)pb + 1, o->sender, (unsigned)o->msg_id,
               (unsigned)chk->common_max[a][b]);
      bad = fail_delivery(chk, "total_order", d, why);
    }
    if (pb + 1 > chk->common_max[a][b]) {
      chk->common_max[a][b] = pb + 1;
      chk->common_arg[a][b] = idx;
    }
    chk->common_max[b][a] = pos + 1;
    chk->common_arg[b][a] = idx;
  }
  return bad;
}

/* Safe: every member of the receiver's view reported holding m. The
 * receiver itself holds what it delivers (a core may report that after the
 * delivery, in the same round of outputs). */
static int check_safe(chorus_check *chk, check_rec *r, const chorus_check_delivery *d) {
  r->held |= node_bit(d->receiver);
  uint16_t missing = (uint16_t)(chk->view[d->receiver] & ~r->held);
  if (!missing) return 0;
  size_t j = 0;
  while (!(missing & node_bit(j))) j++;
  char why[112];
  snprintf(why, sizeof why, "n%zu, in this node's view, had not reported "
           "holding it", j);
  return fail_delivery(chk, "safe", d, why);
}

/* Order properties of a room delivery, each by the message's own order;
 * 1 if one failed (the first failure is the one recorded). */
static int check_room_order(chorus_check *chk, check_rec *r,
                            const chorus_check_delivery *d) {
  enum chorus_order o = r->m.order;
  int bad = 0;
  if (o >= CHORUS_ORDER_CAUSAL) bad |= check_causal(chk, r, d);
  if (o >= CHORUS_ORDER_TOTAL) bad |= total_step(chk, r, d);
  if (o == CHORUS_ORDER_SAFE) bad |= check_safe(chk, r, d);
  causal_learn(chk, r, d->receiver);
  chk->room_delivered[d->receiver]++;
  return bad;
}

int chorus_check_deliver(chorus_check *chk, const chorus_check_delivery *d) {
  if (!chk || !d) return CHORUS_ERR_INVAL;
  check_rec *r = check_integrity(chk, d);
  if (!r) return 1;
  uint16_t bit = node_bit(d->receiver);
  if (r->delivered & bit) {
    chk->stats.duplicates++;
    return fail_delivery(chk, "exactly_once", d, "delivered a second time");
  }
  if (!(chk->live & bit)) {
    /* The driver must not feed deliveries from a crashed node. */
    return fail_delivery(chk, "wellformed", d, "this node had crashed");
  }
  int bad = d->kind == CHORUS_MSG_ROOM && check_room_order(chk, r, d);
  if (r->intended & bit) chk->outstanding--;
  r->delivered |= bit;
  /* A survivor delivered a crashed sender's message: now all survivors owe it. */
  if (!(chk->live & node_bit(r->m.sender))) obligation_update(chk, r);
  chk->stats.delivered++;
  if (d->receiver != r->m.sender) record_latency(chk, r, d->at_us);
  return check_fifo(chk, r, d) || bad;
}

int chorus_check_crash(chorus_check *chk, uint64_t at_us, size_t node) {
  (void)at_us;
  if (!chk || node >= chk->nodes || !(chk->live & node_bit(node)))
    return CHORUS_ERR_INVAL;
  chk->live = (uint16_t)(chk->live & ~node_bit(node));
  chk->stats.crashed++;
  for (size_t i = 0; i < chk->rec_count; i++) obligation_update(chk, &chk->rec[i]);
  return 0;
}

int chorus_check_removed(chorus_check *chk, uint64_t at_us, size_t node,
                         size_t member) {
  (void)at_us;
  if (!chk || node >= chk->nodes || member >= chk->nodes || node == member ||
      !(chk->view[node] & node_bit(member)))
    return CHORUS_ERR_INVAL;
  chk->view[node] = (uint16_t)(chk->view[node] & ~node_bit(member));
  return 0;
}

/* Agreement counters: crashed senders' room messages delivered by every
 * survivor or by none, and the survivors' room delivery count. */
static void agreement_count(chorus_check *chk) {
  chk->stats.agreed_all = chk->stats.agreed_none = 0;
  for (size_t i = 0; i < chk->rec_count; i++) {
    const check_rec *r = &chk->rec[i];
    if (r->m.kind != CHORUS_MSG_ROOM || (chk->live & node_bit(r->m.sender))) continue;
    uint16_t got = (uint16_t)(r->delivered & chk->live);
    if (got == chk->live) chk->stats.agreed_all++;
    else if (got == 0) chk->stats.agreed_none++;
  }
  chk->stats.survivor_room = 0;
  for (size_t n = 0; n < chk->nodes; n++)
    if (chk->live & node_bit(n)) {
      chk->stats.survivor_room = chk->room_delivered[n];
      break;
    }
}

static void fail_missing(chorus_check *chk, const check_rec *r, uint64_t at_us) {
  uint16_t missing = (uint16_t)(r->intended & ~r->delivered);
  size_t to = 0, by = 0;
  while (!(missing & node_bit(to))) to++;
  if (chk->live & node_bit(r->m.sender)) {
    chorus_check_fail(chk, "liveness", at_us, to,
                      "n%zu never delivered %s message from n%zu epoch=%u "
                      "msg_id=%u len=%zu sent at %llu us (%llu deliveries missing)",
                      to, kind_name(r->m.kind), r->m.sender, (unsigned)r->m.epoch,
                      (unsigned)r->m.msg_id, r->m.len_bytes,
                      (unsigned long long)r->m.at_us,
                      (unsigned long long)chk->outstanding);
    return;
  }
  uint16_t had = (uint16_t)(r->delivered & chk->live);
  while (!(had & node_bit(by))) by++;
  chorus_check_fail(chk, "agreement", at_us, to,
                    "n%zu never delivered %s message from crashed n%zu epoch=%u "
                    "msg_id=%u sent at %llu us, which survivor n%zu delivered "
                    "(%llu deliveries missing)", to, kind_name(r->m.kind),
                    r->m.sender, (unsigned)r->m.epoch, (unsigned)r->m.msg_id,
                    (unsigned long long)r->m.at_us, by,
                    (unsigned long long)chk->outstanding);
}

int chorus_check_finish(chorus_check *chk, uint64_t at_us) {
  agreement_count(chk);
  if (chk->outstanding == 0) return 0;
  for (size_t i = 0; i < chk->rec_count; i++) {
    const check_rec *r = &chk->rec[i];
    if (r->intended & ~r->delivered) {
      fail_missing(chk, r, at_us);
      break;
    }
  }
  return 1;
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
static uint64_t rank(const uint64_t *v, size_t n, unsigned pct) {
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
      c->p50_us = rank(chk->latency_us + i, j - i, 50);
      c->p99_us = rank(chk->latency_us + i, j - i, 99);
      c->max_us = chk->latency_us[j - 1] & LAT_VALUE_MAX;
    }
    i = j;
  }
}
