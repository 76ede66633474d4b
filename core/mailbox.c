#include "mailbox.h"

#include <stdlib.h>
#include <string.h>

#include "clwire.h"
#include "wire.h"

typedef struct mb_mark {
  uint8_t used;
  char to[CHORUS_NAME_BYTES_MAX + 1];
  char from[CHORUS_NAME_BYTES_MAX + 1];
  uint64_t epoch, id;
} mb_mark;

struct chorus_mailbox {
  size_t msg_max, mark_max;
  chorus_mailbox_msg *msg; /* seq 0 = free */
  mb_mark *mark;
  size_t msg_count, mark_count;
  uint64_t next_seq;
};

int chorus_mailbox_new(size_t messages, size_t marks, chorus_mailbox **out) {
  if (out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (messages < 1 || messages > CHORUS_MAILBOX_LIMIT || marks < 1 ||
      marks > CHORUS_MAILBOX_LIMIT)
    return CHORUS_ERR_CONFIG;
  chorus_mailbox *mb = calloc(1, sizeof *mb);
  if (mb == NULL) return CHORUS_ERR_NOMEM;
  mb->msg_max = messages;
  mb->mark_max = marks;
  mb->msg = calloc(messages, sizeof *mb->msg);
  mb->mark = calloc(marks, sizeof *mb->mark);
  if (!mb->msg || !mb->mark) {
    chorus_mailbox_free(mb);
    return CHORUS_ERR_NOMEM;
  }
  mb->next_seq = 1;
  *out = mb;
  return 0;
}

void chorus_mailbox_free(chorus_mailbox *mb) {
  if (mb == NULL) return;
  free(mb->msg);
  free(mb->mark);
  free(mb);
}

void chorus_mailbox_clear(chorus_mailbox *mb) {
  memset(mb->msg, 0, mb->msg_max * sizeof *mb->msg);
  memset(mb->mark, 0, mb->mark_max * sizeof *mb->mark);
  mb->msg_count = mb->mark_count = 0;
  mb->next_seq = 1;
}

static mb_mark *mb_find_mark(const chorus_mailbox *mb, const char *to, const char *from) {
  for (size_t i = 0; i < mb->mark_max; i++) {
    mb_mark *k = &mb->mark[i];
    if (k->used && strcmp(k->to, to) == 0 && strcmp(k->from, from) == 0) return k;
  }
  return NULL;
}

/* (e1, i1) <= (e2, i2) lexicographically. */
static int mb_not_above(uint64_t e1, uint64_t i1, uint64_t e2, uint64_t i2) {
  return e1 < e2 || (e1 == e2 && i1 <= i2);
}

int chorus_mailbox_check(const chorus_mailbox *mb, const char *to, const char *from,
                         uint64_t sender_epoch, uint64_t msg_id) {
  const mb_mark *k = mb_find_mark(mb, to, from);
  if (k && mb_not_above(sender_epoch, msg_id, k->epoch, k->id)) return 1;
  if (mb->msg_count == mb->msg_max) return CHORUS_ERR_QUEUE_FULL;
  if (k == NULL && mb->mark_count == mb->mark_max) return CHORUS_ERR_QUEUE_FULL;
  return 0;
}

static int mb_name_ok(const char *s) { return strlen(s) <= CHORUS_NAME_BYTES_MAX; }

int chorus_mailbox_store(chorus_mailbox *mb, const char *to, const char *from,
                         uint64_t sender_epoch, uint64_t msg_id, const uint8_t *text,
                         uint16_t len) {
  if (len > CHORUS_SRV_MSG_BYTES_MAX || !mb_name_ok(to) || !mb_name_ok(from) ||
      (text == NULL && len > 0))
    return CHORUS_ERR_INVAL;
  int rc = chorus_mailbox_check(mb, to, from, sender_epoch, msg_id);
  if (rc != 0) return rc;
  mb_mark *k = mb_find_mark(mb, to, from);
  if (k == NULL) {
    size_t i = 0;
    while (mb->mark[i].used) i++;
    k = &mb->mark[i];
    k->used = 1;
    strcpy(k->to, to);
    strcpy(k->from, from);
    mb->mark_count++;
  }
  k->epoch = sender_epoch;
  k->id = msg_id;
  size_t i = 0;
  while (mb->msg[i].seq != 0) i++;
  chorus_mailbox_msg *m = &mb->msg[i];
  m->seq = mb->next_seq++;
  strcpy(m->to, to);
  strcpy(m->from, from);
  m->sender_epoch = sender_epoch;
  m->msg_id = msg_id;
  m->len = len;
  if (len) memcpy(m->text, text, len);
  mb->msg_count++;
  return 0;
}

/* The message of `to` with the smallest seq above `after`, or NULL. */
static const chorus_mailbox_msg *mb_next(const chorus_mailbox *mb, const char *to,
                                         uint64_t after) {
  const chorus_mailbox_msg *best = NULL;
  for (size_t i = 0; i < mb->msg_max; i++) {
    const chorus_mailbox_msg *m = &mb->msg[i];
    if (m->seq <= after || (to && strcmp(m->to, to) != 0)) continue;
    if (best == NULL || m->seq < best->seq) best = m;
  }
  return best;
}

int chorus_mailbox_get(const chorus_mailbox *mb, const char *to, size_t k,
                       chorus_mailbox_msg *out) {
  uint64_t after = 0;
  for (size_t i = 0;; i++) {
    const chorus_mailbox_msg *m = mb_next(mb, to, after);
    if (m == NULL) return CHORUS_ERR_EMPTY;
    if (i == k) {
      *out = *m;
      return 0;
    }
    after = m->seq;
  }
}

size_t chorus_mailbox_waiting(const chorus_mailbox *mb, const char *to) {
  size_t n = 0;
  for (size_t i = 0; i < mb->msg_max; i++)
    if (mb->msg[i].seq && strcmp(mb->msg[i].to, to) == 0) n++;
  return n;
}

size_t chorus_mailbox_ack(chorus_mailbox *mb, const char *to, uint64_t upto) {
  size_t n = 0;
  for (size_t i = 0; i < mb->msg_max; i++) {
    chorus_mailbox_msg *m = &mb->msg[i];
    if (m->seq == 0 || m->seq > upto || strcmp(m->to, to) != 0) continue;
    memset(m, 0, sizeof *m);
    mb->msg_count--;
    n++;
  }
  return n;
}

void chorus_mailbox_drop_user(chorus_mailbox *mb, const char *name) {
  chorus_mailbox_ack(mb, name, UINT64_MAX);
  for (size_t i = 0; i < mb->mark_max; i++) {
    mb_mark *k = &mb->mark[i];
    if (k->used && (strcmp(k->to, name) == 0 || strcmp(k->from, name) == 0)) {
      memset(k, 0, sizeof *k);
      mb->mark_count--;
    }
  }
}

/* ---- snapshot part ------------------------------------------------------ */

size_t chorus_mailbox_bytes_max(const chorus_mailbox *mb) {
  return 16 + mb->msg_max * CHORUS_MAILBOX_MSG_BYTES_MAX +
         mb->mark_max * CHORUS_MAILBOX_MARK_BYTES_MAX;
}

size_t chorus_mailbox_bytes(const chorus_mailbox *mb) {
  size_t n = 16;
  for (size_t i = 0; i < mb->msg_max; i++) {
    const chorus_mailbox_msg *m = &mb->msg[i];
    if (m->seq) n += 2 + strlen(m->to) + strlen(m->from) + 24 + 2 + m->len;
  }
  for (size_t i = 0; i < mb->mark_max; i++) {
    const mb_mark *k = &mb->mark[i];
    if (k->used) n += 2 + strlen(k->to) + strlen(k->from) + 16;
  }
  return n;
}

static uint8_t *mb_put_name(uint8_t *p, const char *s) {
  size_t n = strlen(s);
  *p++ = (uint8_t)n;
  memcpy(p, s, n);
  return p + n;
}

static uint8_t *mb_put_u64(uint8_t *p, uint64_t v) {
  chorus_clw_put_u64(p, v);
  return p + 8;
}

/* Byte order of marks: (to, from). */
static int mb_mark_less(const mb_mark *a, const mb_mark *b) {
  int c = strcmp(a->to, b->to);
  return c < 0 || (c == 0 && strcmp(a->from, b->from) < 0);
}

/* The used mark that follows `prev` in (to, from) order (NULL: first). */
static const mb_mark *mb_mark_after(const chorus_mailbox *mb, const mb_mark *prev) {
  const mb_mark *best = NULL;
  for (size_t i = 0; i < mb->mark_max; i++) {
    const mb_mark *k = &mb->mark[i];
    if (!k->used || (prev && !mb_mark_less(prev, k))) continue;
    if (best == NULL || mb_mark_less(k, best)) best = k;
  }
  return best;
}

int chorus_mailbox_encode(const chorus_mailbox *mb, uint8_t *buf, size_t cap_bytes) {
  size_t n = chorus_mailbox_bytes(mb);
  if (buf == NULL || n > cap_bytes || n > INT32_MAX) return CHORUS_ERR_NOBUF;
  uint8_t *p = mb_put_u64(buf, mb->next_seq);
  chorus_wire_put_u32(p, (uint32_t)mb->msg_count);
  chorus_wire_put_u32(p + 4, (uint32_t)mb->mark_count);
  p += 8;
  for (const chorus_mailbox_msg *m = mb_next(mb, NULL, 0); m; m = mb_next(mb, NULL, m->seq)) {
    p = mb_put_name(p, m->to);
    p = mb_put_name(p, m->from);
    p = mb_put_u64(p, m->seq);
    p = mb_put_u64(p, m->sender_epoch);
    p = mb_put_u64(p, m->msg_id);
    chorus_wire_put_u16(p, m->len);
    memcpy(p + 2, m->text, m->len);
    p += 2 + m->len;
  }
  for (const mb_mark *k = mb_mark_after(mb, NULL); k; k = mb_mark_after(mb, k)) {
    p = mb_put_name(p, k->to);
    p = mb_put_name(p, k->from);
    p = mb_put_u64(p, k->epoch);
    p = mb_put_u64(p, k->id);
  }
  return (int)(p - buf);
}

typedef struct mb_r {
  const uint8_t *p;
  size_t len, off;
  int err;
} mb_r;

static int mb_need(mb_r *r, size_t n) {
  if (r->err) return 0;
  if (r->len - r->off < n) {
    r->err = CHORUS_ERR_TRUNCATED;
    return 0;
  }
  return 1;
}

static uint64_t mb_u64(mb_r *r) {
  if (!mb_need(r, 8)) return 0;
  uint64_t v = chorus_clw_get_u64(r->p + r->off);
  r->off += 8;
  return v;
}

static void mb_name(mb_r *r, char *out) {
  if (!mb_need(r, 1)) return;
  size_t n = r->p[r->off++];
  if (n > CHORUS_NAME_BYTES_MAX) { r->err = CHORUS_ERR_BAD_FRAME; return; }
  if (!mb_need(r, n)) return;
  memcpy(out, r->p + r->off, n);
  out[n] = '\0';
  r->off += n;
  if (!chorus_srv_name_valid(out, n)) r->err = CHORUS_ERR_BAD_FRAME;
}

static void mb_get_msg(chorus_mailbox *mb, mb_r *r, size_t i, uint64_t *prev_seq) {
  chorus_mailbox_msg *m = &mb->msg[i];
  mb_name(r, m->to);
  mb_name(r, m->from);
  m->seq = mb_u64(r);
  m->sender_epoch = mb_u64(r);
  m->msg_id = mb_u64(r);
  if (!mb_need(r, 2)) return;
  m->len = chorus_wire_get_u16(r->p + r->off);
  r->off += 2;
  if (m->len > CHORUS_SRV_MSG_BYTES_MAX || m->seq <= *prev_seq || m->seq >= mb->next_seq) {
    r->err = CHORUS_ERR_BAD_FRAME;
    return;
  }
  if (!mb_need(r, m->len)) return;
  memcpy(m->text, r->p + r->off, m->len);
  r->off += m->len;
  *prev_seq = m->seq;
}

static void mb_get_mark(chorus_mailbox *mb, mb_r *r, size_t i) {
  mb_mark *k = &mb->mark[i];
  mb_name(r, k->to);
  mb_name(r, k->from);
  k->epoch = mb_u64(r);
  k->id = mb_u64(r);
  k->used = 1;
  if (!r->err && i > 0 && !mb_mark_less(&mb->mark[i - 1], k)) r->err = CHORUS_ERR_BAD_FRAME;
}

int chorus_mailbox_decode(chorus_mailbox *mb, const uint8_t *buf, size_t len, size_t *used) {
  if (mb == NULL || (buf == NULL && len > 0)) return CHORUS_ERR_INVAL;
  chorus_mailbox_clear(mb);
  mb_r r = {buf, len, 0, 0};
  mb->next_seq = mb_u64(&r);
  uint32_t n_msg = 0, n_mark = 0;
  if (mb_need(&r, 8)) {
    n_msg = chorus_wire_get_u32(buf + r.off);
    n_mark = chorus_wire_get_u32(buf + r.off + 4);
    r.off += 8;
  }
  if (!r.err && (n_msg > mb->msg_max || n_mark > mb->mark_max)) r.err = CHORUS_ERR_CONFIG;
  if (!r.err && mb->next_seq == 0) r.err = CHORUS_ERR_BAD_FRAME;
  uint64_t prev = 0;
  for (size_t i = 0; i < n_msg && !r.err; i++) mb_get_msg(mb, &r, i, &prev);
  for (size_t i = 0; i < n_mark && !r.err; i++) mb_get_mark(mb, &r, i);
  if (r.err) {
    chorus_mailbox_clear(mb);
    return r.err;
  }
  mb->msg_count = n_msg;
  mb->mark_count = n_mark;
  if (used) *used = r.off;
  return 0;
}
