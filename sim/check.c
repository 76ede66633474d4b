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
  uint16_t intended;  /* bit r: receiver r must deliver it */
  uint16_t delivered; /* bit r: receiver r delivered it */
  uint16_t held;      /* bit r: node r reported holding it (room) */
  /* fifo_pos[r]: its rank among the sender's messages of its kind for r. */
  uint32_t fifo_pos[CHORUS_MEMBERS_MAX];
  /* deps[j]: room messages from j its sender had delivered when sending
   * (room only; deps[sender] unused, FIFO covers it). */
  uint32_t deps[CHORUS_MEMBERS_MAX];
} check_rec;

struct chorus_check {
  size_t nodes, messages_max;
  uint16_t all_nodes;   /* bit per node */
  check_rec *rec;       /* registered messages, in send order */
  size_t rec_count;
  uint32_t *index;      /* open-addressing table of rec numbers */
  size_t index_mask;    /* table size - 1, a power of two >= 2*messages_max */
  /* Per kind, (sender, receiver): messages meant for it, and delivered. */
  uint32_t pair_sent[KINDS][CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  uint32_t pair_next[KINDS][CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX];
  /* total_order: the common sequence of totally ordered room messages, as
   * first delivered anywhere, and how far each node has come along it. */
  uint32_t *total_seq;
  size_t total_len;
  size_t total_pos[CHORUS_MEMBERS_MAX];
  uint64_t *latency_us; /* one per correct delivery */
  size_t latency_count, latency_max;
  uint64_t outstanding;
  chorus_check_stats stats;
  int failed;
  chorus_check_violation first;
  uint8_t *text_buf;    /* CHORUS_MSG_BYTES_MAX, to regenerate a text */
};

static int alloc_tables(chorus_check *chk) {
  size_t slots = 1;
  while (slots < 2 * chk->messages_max) slots <<= 1;
  chk->index_mask = slots - 1;
  chk->rec = malloc(chk->messages_max * sizeof *chk->rec);
  chk->index = malloc(slots * sizeof *chk->index);
  chk->total_seq = malloc(chk->messages_max * sizeof *chk->total_seq);
  chk->latency_max = chk->messages_max * chk->nodes;
  chk->latency_us = malloc(chk->latency_max * sizeof *chk->latency_us);
  chk->text_buf = malloc(CHORUS_MSG_BYTES_MAX);
  if (!chk->rec || !chk->index || !chk->total_seq || !chk->latency_us ||
      !chk->text_buf)
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
  free(chk->total_seq);
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

/* Assigns the message its rank in each intended receiver's FIFO stream and,
 * for a room message, its causal past: what its sender has delivered. */
static void add_obligations(chorus_check *chk, check_rec *r) {
  const chorus_check_msg *m = &r->m;
  for (size_t to = 0; to < chk->nodes; to++) {
    if (m->kind == CHORUS_MSG_ROOM)
      r->deps[to] = chk->pair_next[CHORUS_MSG_ROOM][to][m->sender];
    int meant = m->kind == CHORUS_MSG_ROOM || to == m->to;
    if (!meant) continue;
    r->intended |= (uint16_t)(1u << to);
    r->fifo_pos[to] = chk->pair_sent[m->kind][m->sender][to]++;
    chk->outstanding++;
    chk->stats.obligations++;
  }
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
  if (!(r->intended & (1u << d->receiver))) return "it was not meant for this receiver";
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
  /* One slot per obligation exists, and each is delivered once at most. */
  if (chk->latency_count < chk->latency_max)
    chk->latency_us[chk->latency_count++] = at_us >= r->m.at_us ? at_us - r->m.at_us : 0;
}

static int check_fifo(chorus_check *chk, const check_rec *r,
                      const chorus_check_delivery *d) {
  uint32_t *next = &chk->pair_next[d->kind][d->sender][d->receiver];
  uint32_t expected = *next, got = r->fifo_pos[d->receiver];
  /* Resynchronise after a violation so one fault is reported once. */
  *next = got + 1;
  if (got == expected) return 0;
  char why[112];
  snprintf(why, sizeof why, "it is the sender's %s message #%u to this receiver "
           "(counting from 1) but #%u was due", kind_name(d->kind),
           (unsigned)got + 1, (unsigned)expected + 1);
  return fail_delivery(chk, "fifo", d, why);
}

/* Causal: everything the sender had delivered when it sent is delivered
 * here first. Called before this delivery is counted. */
static int check_causal(chorus_check *chk, const check_rec *r,
                        const chorus_check_delivery *d) {
  for (size_t j = 0; j < chk->nodes; j++) {
    if (j == d->sender) continue;
    uint32_t have = chk->pair_next[CHORUS_MSG_ROOM][j][d->receiver];
    if (have >= r->deps[j]) continue;
    char why[128];
    snprintf(why, sizeof why, "its sender had delivered %u room messages from "
             "n%zu before sending it, this receiver only %u", (unsigned)r->deps[j],
             j, (unsigned)have);
    return fail_delivery(chk, "causal", d, why);
  }
  return 0;
}

/* Total order: the k-th totally ordered delivery is the same message at
 * every node; the first node to get that far defines it. */
static int check_total(chorus_check *chk, const check_rec *r,
                       const chorus_check_delivery *d) {
  uint32_t idx = (uint32_t)(r - chk->rec);
  size_t k = chk->total_pos[d->receiver]++;
  if (k == chk->total_len) {
    chk->total_seq[chk->total_len++] = idx;
    return 0;
  }
  if (chk->total_seq[k] == idx) return 0;
  const chorus_check_msg *o = &chk->rec[chk->total_seq[k]].m;
  char why[128];
  snprintf(why, sizeof why, "it is this node's room delivery #%zu, which other "
           "nodes delivered as n%zu's msg_id=%u", k + 1, o->sender,
           (unsigned)o->msg_id);
  return fail_delivery(chk, "total_order", d, why);
}

static int check_safe(chorus_check *chk, const check_rec *r,
                      const chorus_check_delivery *d) {
  uint16_t missing = (uint16_t)(chk->all_nodes & ~r->held);
  if (!missing) return 0;
  size_t j = 0;
  while (!(missing & (1u << j))) j++;
  char why[96];
  snprintf(why, sizeof why, "n%zu had not reported holding it", j);
  return fail_delivery(chk, "safe", d, why);
}

/* Order properties of a room delivery; 1 on the first that fails. */
static int check_room_order(chorus_check *chk, const check_rec *r,
                            const chorus_check_delivery *d) {
  enum chorus_order o = r->m.order;
  if (o >= CHORUS_ORDER_CAUSAL && check_causal(chk, r, d)) return 1;
  if (o >= CHORUS_ORDER_TOTAL && check_total(chk, r, d)) return 1;
  if (o == CHORUS_ORDER_SAFE && check_safe(chk, r, d)) return 1;
  return 0;
}

int chorus_check_deliver(chorus_check *chk, const chorus_check_delivery *d) {
  if (!chk || !d) return CHORUS_ERR_INVAL;
  check_rec *r = check_integrity(chk, d);
  if (!r) return 1;
  uint16_t bit = (uint16_t)(1u << d->receiver);
  if (r->delivered & bit)
    return fail_delivery(chk, "exactly_once", d, "delivered a second time");
  int bad = d->kind == CHORUS_MSG_ROOM && check_room_order(chk, r, d);
  r->delivered |= bit;
  chk->outstanding--;
  chk->stats.delivered++;
  record_latency(chk, r, d->at_us);
  return check_fifo(chk, r, d) || bad;
}

int chorus_check_finish(chorus_check *chk, uint64_t at_us) {
  if (chk->outstanding == 0) return 0;
  for (size_t i = 0; i < chk->rec_count; i++) {
    const check_rec *r = &chk->rec[i];
    uint16_t missing = (uint16_t)(r->intended & ~r->delivered);
    if (!missing) continue;
    size_t to = 0;
    while (!(missing & (1u << to))) to++;
    chorus_check_fail(chk, "liveness", at_us, to,
                      "n%zu never delivered %s message from n%zu epoch=%u "
                      "msg_id=%u len=%zu sent at %llu us (%llu deliveries missing)",
                      to, kind_name(r->m.kind), r->m.sender, (unsigned)r->m.epoch,
                      (unsigned)r->m.msg_id, r->m.len_bytes,
                      (unsigned long long)r->m.at_us,
                      (unsigned long long)chk->outstanding);
    break;
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
  return v[k ? k - 1 : 0];
}

void chorus_check_latency(chorus_check *chk, uint64_t *p50_us, uint64_t *p99_us,
                          uint64_t *max_us) {
  size_t n = chk->latency_count;
  *p50_us = *p99_us = *max_us = 0;
  if (n == 0) return;
  qsort(chk->latency_us, n, sizeof *chk->latency_us, cmp_u64);
  *p50_us = rank(chk->latency_us, n, 50);
  *p99_us = rank(chk->latency_us, n, 99);
  *max_us = chk->latency_us[n - 1];
}
