#include "wire.h"

#include <string.h>

#include "err.h"
#include "peer.h"

void chorus_wire_put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

void chorus_wire_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

uint16_t chorus_wire_get_u16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t chorus_wire_get_u32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint32_t chorus_wire_name_id(const char *name) {
  uint32_t h = 2166136261u; /* FNV-1a offset basis */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 16777619u; /* FNV prime */
  }
  return h;
}

int chorus_wire_header_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_wire_header *h) {
  if (cap_bytes < CHORUS_WIRE_HEADER_BYTES) return CHORUS_ERR_NOBUF;
  buf[0] = 'C';
  buf[1] = 'H';
  buf[2] = CHORUS_WIRE_VERSION;
  buf[3] = h->flags & CHORUS_WIRE_HDR_FLAGS;
  chorus_wire_put_u32(buf + 4, h->src_id);
  chorus_wire_put_u32(buf + 8, h->src_epoch);
  chorus_wire_put_u32(buf + 12, h->dst_epoch);
  return CHORUS_WIRE_HEADER_BYTES;
}

int chorus_wire_data_encode(uint8_t *buf, size_t cap_bytes,
                            const chorus_wire_data *d) {
  if (d->frag_len > CHORUS_WIRE_FRAG_BYTES_MAX) return CHORUS_ERR_INVAL;
  size_t n = CHORUS_WIRE_DATA_OVERHEAD_BYTES + (size_t)d->frag_len;
  if (cap_bytes < n) return CHORUS_ERR_NOBUF;
  buf[0] = CHORUS_FRAME_DATA;
  chorus_wire_put_u32(buf + 1, d->seq);
  buf[5] = d->kind;
  buf[6] = d->order;
  buf[7] = d->flags;
  chorus_wire_put_u32(buf + 8, d->msg_id);
  chorus_wire_put_u32(buf + 12, d->msg_len);
  chorus_wire_put_u16(buf + 16, d->frag_len);
  memcpy(buf + 18, d->frag, d->frag_len); /* opaque bytes: no byte order */
  return (int)n;
}

int chorus_wire_ack_encode(uint8_t *buf, size_t cap_bytes,
                           const chorus_wire_ack *a) {
  if (a->nranges > CHORUS_WIRE_SACK_RANGES_MAX) return CHORUS_ERR_INVAL;
  size_t n = 6 + 6 * (size_t)a->nranges;
  if (cap_bytes < n) return CHORUS_ERR_NOBUF;
  buf[0] = CHORUS_FRAME_ACK;
  chorus_wire_put_u32(buf + 1, a->cum);
  buf[5] = a->nranges;
  for (size_t i = 0; i < a->nranges; i++) {
    chorus_wire_put_u32(buf + 6 + 6 * i, a->ranges[i].start);
    chorus_wire_put_u16(buf + 10 + 6 * i, a->ranges[i].count);
  }
  return (int)n;
}

int chorus_wire_hello_encode(uint8_t *buf, size_t cap_bytes) {
  if (cap_bytes < 1) return CHORUS_ERR_NOBUF;
  buf[0] = CHORUS_FRAME_HELLO;
  return 1;
}

int chorus_wire_state_encode(uint8_t *buf, size_t cap_bytes,
                             const chorus_wire_state *st) {
  if (st->n == 0 || st->n > CHORUS_WIRE_STATE_MEMBERS_MAX) return CHORUS_ERR_INVAL;
  size_t n = 6 + 8 * (size_t)st->n;
  if (cap_bytes < n) return CHORUS_ERR_NOBUF;
  buf[0] = CHORUS_FRAME_STATE;
  chorus_wire_put_u32(buf + 1, st->view);
  buf[5] = st->n;
  for (size_t k = 0; k < st->n; k++) {
    chorus_wire_put_u32(buf + 6 + 4 * k, st->held[k]);
    chorus_wire_put_u32(buf + 6 + 4 * (st->n + k), st->stable[k]);
  }
  return (int)n;
}

int chorus_wire_member_encode(uint8_t *buf, size_t cap_bytes, uint8_t type,
                              const chorus_wire_member *m) {
  if (type < CHORUS_FRAME_PROBE || type > CHORUS_FRAME_ALIVE) return CHORUS_ERR_INVAL;
  if (cap_bytes < CHORUS_WIRE_MEMBER_BYTES) return CHORUS_ERR_NOBUF;
  buf[0] = type;
  chorus_wire_put_u32(buf + 1, m->id);
  chorus_wire_put_u32(buf + 5, m->incarnation);
  return CHORUS_WIRE_MEMBER_BYTES;
}

int chorus_wire_beacon_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_wire_beacon *b) {
  if (cap_bytes < CHORUS_WIRE_BEACON_BYTES) return CHORUS_ERR_NOBUF;
  buf[0] = CHORUS_FRAME_BEACON;
  buf[1] = b->coord;
  chorus_wire_put_u32(buf + 2, b->view);
  chorus_wire_put_u32(buf + 6, b->ranks);
  buf[10] = b->low;
  chorus_wire_put_u32(buf + 11, b->view_id);
  return CHORUS_WIRE_BEACON_BYTES;
}

static int beacon_decode(const uint8_t *buf, size_t len, chorus_wire_beacon *b) {
  if (len < CHORUS_WIRE_BEACON_BYTES) return CHORUS_ERR_TRUNCATED;
  b->coord = buf[1];
  b->view = chorus_wire_get_u32(buf + 2);
  b->ranks = chorus_wire_get_u32(buf + 6);
  b->low = buf[10];
  b->view_id = chorus_wire_get_u32(buf + 11);
  if (b->coord >= CHORUS_WIRE_STATE_MEMBERS_MAX || b->low > b->coord ||
      (b->ranks >> CHORUS_WIRE_STATE_MEMBERS_MAX) != 0 || !(b->ranks & (1u << b->coord)))
    return CHORUS_ERR_BAD_FRAME;
  return CHORUS_WIRE_BEACON_BYTES;
}

int chorus_wire_header_decode(const uint8_t *buf, size_t len,
                              chorus_wire_header *h) {
  if (len > CHORUS_DATAGRAM_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  if (len < 2) return CHORUS_ERR_TRUNCATED;
  if (buf[0] != 'C' || buf[1] != 'H') return CHORUS_ERR_BAD_MAGIC;
  if (len < 3) return CHORUS_ERR_TRUNCATED;
  if (buf[2] != CHORUS_WIRE_VERSION) return CHORUS_ERR_BAD_VERSION;
  if (len < CHORUS_WIRE_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  if (buf[3] & ~CHORUS_WIRE_HDR_FLAGS) return CHORUS_ERR_BAD_FRAME;
  h->flags = buf[3];
  h->src_id = chorus_wire_get_u32(buf + 4);
  h->src_epoch = chorus_wire_get_u32(buf + 8);
  h->dst_epoch = chorus_wire_get_u32(buf + 12);
  if (h->src_epoch == 0) return CHORUS_ERR_BAD_FRAME;
  return CHORUS_WIRE_HEADER_BYTES;
}

static int data_decode(const uint8_t *buf, size_t len, chorus_wire_data *d) {
  if (len < CHORUS_WIRE_DATA_OVERHEAD_BYTES) return CHORUS_ERR_TRUNCATED;
  d->seq = chorus_wire_get_u32(buf + 1);
  d->kind = buf[5];
  d->order = buf[6];
  d->flags = buf[7];
  d->msg_id = chorus_wire_get_u32(buf + 8);
  d->msg_len = chorus_wire_get_u32(buf + 12);
  d->frag_len = chorus_wire_get_u16(buf + 16);
  d->frag = buf + CHORUS_WIRE_DATA_OVERHEAD_BYTES;
  if (d->kind > CHORUS_WIRE_KIND_CONTROL || d->order > CHORUS_ORDER_SAFE)
    return CHORUS_ERR_BAD_FRAME;
  if (d->flags & ~(CHORUS_DATA_FIRST | CHORUS_DATA_LAST))
    return CHORUS_ERR_BAD_FRAME;
  if (d->frag_len == 0 || d->frag_len > CHORUS_WIRE_FRAG_BYTES_MAX ||
      d->frag_len > d->msg_len || d->msg_len > CHORUS_MSG_BYTES_MAX)
    return CHORUS_ERR_BAD_FRAME;
  if (len - CHORUS_WIRE_DATA_OVERHEAD_BYTES < d->frag_len)
    return CHORUS_ERR_TRUNCATED;
  return CHORUS_WIRE_DATA_OVERHEAD_BYTES + d->frag_len;
}

static int ack_decode(const uint8_t *buf, size_t len, chorus_wire_ack *a) {
  if (len < 6) return CHORUS_ERR_TRUNCATED;
  a->cum = chorus_wire_get_u32(buf + 1);
  a->nranges = buf[5];
  if (a->nranges > CHORUS_WIRE_SACK_RANGES_MAX) return CHORUS_ERR_BAD_FRAME;
  size_t n = 6 + 6 * (size_t)a->nranges;
  if (len < n) return CHORUS_ERR_TRUNCATED;
  /* Offsets from cum, so the checks hold across 32-bit wrap-around. */
  uint64_t floor = 1; /* next range must start at least one past a gap */
  for (size_t i = 0; i < a->nranges; i++) {
    chorus_wire_range *r = &a->ranges[i];
    r->start = chorus_wire_get_u32(buf + 6 + 6 * i);
    r->count = chorus_wire_get_u16(buf + 10 + 6 * i);
    uint64_t off = (uint32_t)(r->start - a->cum);
    if (r->count == 0 || off < floor || off + r->count > UINT32_MAX / 2)
      return CHORUS_ERR_BAD_FRAME;
    floor = off + r->count + 1;
  }
  return (int)n;
}

static int state_decode(const uint8_t *buf, size_t len, chorus_wire_state *st) {
  if (len < 6) return CHORUS_ERR_TRUNCATED;
  st->view = chorus_wire_get_u32(buf + 1);
  st->n = buf[5];
  if (st->n == 0 || st->n > CHORUS_WIRE_STATE_MEMBERS_MAX) return CHORUS_ERR_BAD_FRAME;
  size_t n = 6 + 8 * (size_t)st->n;
  if (len < n) return CHORUS_ERR_TRUNCATED;
  for (size_t k = 0; k < st->n; k++) {
    st->held[k] = chorus_wire_get_u32(buf + 6 + 4 * k);
    st->stable[k] = chorus_wire_get_u32(buf + 6 + 4 * (st->n + k));
    if (st->stable[k] > st->held[k]) return CHORUS_ERR_BAD_FRAME;
  }
  return (int)n;
}

int chorus_wire_frame_decode(const uint8_t *buf, size_t len,
                             chorus_wire_frame *f) {
  if (len == 0) return CHORUS_ERR_TRUNCATED;
  switch (buf[0]) {
  case CHORUS_FRAME_DATA:
    f->type = CHORUS_FRAME_DATA;
    return data_decode(buf, len, &f->u.data);
  case CHORUS_FRAME_ACK:
    f->type = CHORUS_FRAME_ACK;
    return ack_decode(buf, len, &f->u.ack);
  case CHORUS_FRAME_HELLO:
    f->type = CHORUS_FRAME_HELLO;
    return 1;
  case CHORUS_FRAME_STATE:
    f->type = CHORUS_FRAME_STATE;
    return state_decode(buf, len, &f->u.state);
  case CHORUS_FRAME_PROBE:
  case CHORUS_FRAME_VOUCH:
  case CHORUS_FRAME_SUSPECT:
  case CHORUS_FRAME_ALIVE:
    if (len < CHORUS_WIRE_MEMBER_BYTES) return CHORUS_ERR_TRUNCATED;
    f->type = (enum chorus_frame_type)buf[0];
    f->u.member.id = chorus_wire_get_u32(buf + 1);
    f->u.member.incarnation = chorus_wire_get_u32(buf + 5);
    return CHORUS_WIRE_MEMBER_BYTES;
  case CHORUS_FRAME_BEACON:
    f->type = CHORUS_FRAME_BEACON;
    return beacon_decode(buf, len, &f->u.beacon);
  default:
    return CHORUS_ERR_BAD_FRAME;
  }
}

uint64_t chorus_wire_seq_expand(uint64_t expected, uint32_t wire) {
  const uint64_t win = (uint64_t)1 << 32;
  const uint64_t hwin = win / 2;
  uint64_t candidate = (expected & ~(win - 1)) | wire;
  if (candidate + hwin <= expected && candidate + win > candidate)
    return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}
