#include "clwire.h"

#include <string.h>

#include "err.h"
#include "wire.h"

void chorus_clw_put_u64(uint8_t *p, uint64_t v) {
  chorus_wire_put_u32(p, (uint32_t)(v >> 32));
  chorus_wire_put_u32(p + 4, (uint32_t)v);
}

uint64_t chorus_clw_get_u64(const uint8_t *p) {
  return ((uint64_t)chorus_wire_get_u32(p) << 32) | chorus_wire_get_u32(p + 4);
}

const char *chorus_clw_typename(int type) {
  switch (type) {
  case CHORUS_CLW_ELECTION: return "election";
  case CHORUS_CLW_ANSWER: return "answer";
  case CHORUS_CLW_NOMINATION: return "nomination";
  case CHORUS_CLW_COORDINATOR: return "coordinator";
  case CHORUS_CLW_IAM_UP: return "iam_up";
  case CHORUS_CLW_VIEW: return "view";
  case CHORUS_CLW_HEARTBEAT: return "heartbeat";
  case CHORUS_CLW_STATE: return "state";
  case CHORUS_CLW_STATE_REQ: return "state_req";
  case CHORUS_CLW_APPEND: return "append";
  case CHORUS_CLW_APPEND_ACK: return "append_ack";
  case CHORUS_CLW_FETCH: return "fetch";
  case CHORUS_CLW_FETCHED: return "fetched";
  case CHORUS_CLW_SNAP: return "snap";
  case CHORUS_CLW_SNAP_ACK: return "snap_ack";
  default: return "unknown";
  }
}

size_t chorus_clw_append_bytes(size_t n, size_t payload_bytes) {
  return CHORUS_CLW_APPEND_FIXED_BYTES + n * CHORUS_CLW_RECORD_OVERHEAD_BYTES + payload_bytes;
}

/* Bytes of the body of m (the encoder checked n). */
static size_t clw_body_bytes(const chorus_clw_msg *m) {
  switch (m->type) {
  case CHORUS_CLW_VIEW: return 1;
  case CHORUS_CLW_STATE: return 24;
  case CHORUS_CLW_APPEND:
  case CHORUS_CLW_FETCHED: {
    size_t n = 25;
    for (size_t i = 0; i < m->n; i++) n += CHORUS_CLW_RECORD_OVERHEAD_BYTES + m->rec[i].len;
    return n;
  }
  case CHORUS_CLW_APPEND_ACK: return 9;
  case CHORUS_CLW_FETCH: return 8;
  case CHORUS_CLW_SNAP: return 26u + m->chunk_len;
  case CHORUS_CLW_SNAP_ACK: return 12;
  default: return 0;
  }
}

static int clw_type_known(int t) {
  return (t >= CHORUS_CLW_ELECTION && t <= CHORUS_CLW_HEARTBEAT) ||
         (t >= CHORUS_CLW_STATE && t <= CHORUS_CLW_SNAP_ACK);
}

static uint8_t *clw_put_records(uint8_t *p, const chorus_clw_msg *m) {
  chorus_clw_put_u64(p, m->index);
  chorus_clw_put_u64(p + 8, m->index_epoch);
  chorus_clw_put_u64(p + 16, m->commit);
  p[24] = m->n;
  p += 25;
  for (size_t i = 0; i < m->n; i++) {
    chorus_clw_put_u64(p, m->rec[i].epoch);
    chorus_wire_put_u16(p + 8, m->rec[i].len);
    if (m->rec[i].len) memcpy(p + 10, m->rec[i].data, m->rec[i].len);
    p += CHORUS_CLW_RECORD_OVERHEAD_BYTES + m->rec[i].len;
  }
  return p;
}

static void clw_put_body(uint8_t *p, const chorus_clw_msg *m) {
  switch (m->type) {
  case CHORUS_CLW_VIEW: p[0] = m->leader; break;
  case CHORUS_CLW_STATE:
    chorus_clw_put_u64(p, m->index);
    chorus_clw_put_u64(p + 8, m->index_epoch);
    chorus_clw_put_u64(p + 16, m->commit);
    break;
  case CHORUS_CLW_APPEND:
  case CHORUS_CLW_FETCHED: clw_put_records(p, m); break;
  case CHORUS_CLW_APPEND_ACK:
    p[0] = m->ok;
    chorus_clw_put_u64(p + 1, m->index);
    break;
  case CHORUS_CLW_FETCH: chorus_clw_put_u64(p, m->index); break;
  case CHORUS_CLW_SNAP:
    chorus_clw_put_u64(p, m->index);
    chorus_clw_put_u64(p + 8, m->index_epoch);
    chorus_wire_put_u32(p + 16, m->total);
    chorus_wire_put_u32(p + 20, m->offset);
    chorus_wire_put_u16(p + 24, m->chunk_len);
    if (m->chunk_len) memcpy(p + 26, m->chunk, m->chunk_len);
    break;
  case CHORUS_CLW_SNAP_ACK:
    chorus_clw_put_u64(p, m->index);
    chorus_wire_put_u32(p + 8, m->offset);
    break;
  default: break;
  }
}

static int clw_encode_ok(const chorus_clw_msg *m) {
  if (!clw_type_known(m->type) || m->n > CHORUS_CLW_RECORDS_MAX) return 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->rec[i].len && m->rec[i].data == NULL) return 0;
  return !(m->type == CHORUS_CLW_SNAP && m->chunk_len && m->chunk == NULL);
}

int chorus_clw_encode(uint8_t *buf, size_t cap_bytes, const chorus_clw_msg *m) {
  if (buf == NULL || m == NULL || !clw_encode_ok(m)) return CHORUS_ERR_INVAL;
  size_t n = CHORUS_CLW_HEADER_BYTES + clw_body_bytes(m);
  if (n > cap_bytes || n > CHORUS_CLW_DATAGRAM_BYTES_MAX) return CHORUS_ERR_NOBUF;
  buf[0] = 'C';
  buf[1] = 'R';
  buf[2] = CHORUS_CLW_VERSION;
  buf[3] = m->type;
  buf[4] = m->from;
  chorus_clw_put_u64(buf + 5, m->epoch);
  clw_put_body(buf + CHORUS_CLW_HEADER_BYTES, m);
  return (int)n;
}

/* Records of an APPEND or FETCHED body p[0..len). */
static int clw_get_records(const uint8_t *p, size_t len, chorus_clw_msg *m) {
  if (len < 25) return CHORUS_ERR_TRUNCATED;
  m->index = chorus_clw_get_u64(p);
  m->index_epoch = chorus_clw_get_u64(p + 8);
  m->commit = chorus_clw_get_u64(p + 16);
  m->n = p[24];
  if (m->n > CHORUS_CLW_RECORDS_MAX) return CHORUS_ERR_BAD_FRAME;
  size_t off = 25;
  for (size_t i = 0; i < m->n; i++) {
    if (len - off < CHORUS_CLW_RECORD_OVERHEAD_BYTES) return CHORUS_ERR_TRUNCATED;
    m->rec[i].epoch = chorus_clw_get_u64(p + off);
    m->rec[i].len = chorus_wire_get_u16(p + off + 8);
    off += CHORUS_CLW_RECORD_OVERHEAD_BYTES;
    if (len - off < m->rec[i].len) return CHORUS_ERR_TRUNCATED;
    m->rec[i].data = p + off;
    off += m->rec[i].len;
  }
  return off == len ? 0 : CHORUS_ERR_BAD_FRAME;
}

static int clw_get_snap(const uint8_t *p, size_t len, chorus_clw_msg *m) {
  if (len < 26) return CHORUS_ERR_TRUNCATED;
  m->index = chorus_clw_get_u64(p);
  m->index_epoch = chorus_clw_get_u64(p + 8);
  m->total = chorus_wire_get_u32(p + 16);
  m->offset = chorus_wire_get_u32(p + 20);
  m->chunk_len = chorus_wire_get_u16(p + 24);
  if (len - 26 < m->chunk_len) return CHORUS_ERR_TRUNCATED;
  if (len - 26 > m->chunk_len) return CHORUS_ERR_BAD_FRAME;
  if (m->offset > m->total || m->total - m->offset < m->chunk_len) return CHORUS_ERR_BAD_FRAME;
  m->chunk = p + 26;
  return 0;
}

/* Fixed-size bodies: exact length or an error. */
static int clw_fixed(size_t len, size_t want) {
  if (len < want) return CHORUS_ERR_TRUNCATED;
  return len > want ? CHORUS_ERR_BAD_FRAME : 0;
}

static int clw_get_body(const uint8_t *p, size_t len, chorus_clw_msg *m) {
  int rc;
  switch (m->type) {
  case CHORUS_CLW_VIEW:
    if ((rc = clw_fixed(len, 1)) == 0) m->leader = p[0];
    return rc;
  case CHORUS_CLW_STATE:
    if ((rc = clw_fixed(len, 24)) != 0) return rc;
    m->index = chorus_clw_get_u64(p);
    m->index_epoch = chorus_clw_get_u64(p + 8);
    m->commit = chorus_clw_get_u64(p + 16);
    return 0;
  case CHORUS_CLW_APPEND:
  case CHORUS_CLW_FETCHED: return clw_get_records(p, len, m);
  case CHORUS_CLW_APPEND_ACK:
    if ((rc = clw_fixed(len, 9)) != 0) return rc;
    if (p[0] > 1) return CHORUS_ERR_BAD_FRAME;
    m->ok = p[0];
    m->index = chorus_clw_get_u64(p + 1);
    return 0;
  case CHORUS_CLW_FETCH:
    if ((rc = clw_fixed(len, 8)) == 0) m->index = chorus_clw_get_u64(p);
    return rc;
  case CHORUS_CLW_SNAP: return clw_get_snap(p, len, m);
  case CHORUS_CLW_SNAP_ACK:
    if ((rc = clw_fixed(len, 12)) != 0) return rc;
    m->index = chorus_clw_get_u64(p);
    m->offset = chorus_wire_get_u32(p + 8);
    return 0;
  default: return clw_fixed(len, 0);
  }
}

int chorus_clw_decode(const uint8_t *buf, size_t len, chorus_clw_msg *m) {
  if (m == NULL || (buf == NULL && len > 0)) return CHORUS_ERR_INVAL;
  memset(m, 0, sizeof *m);
  if (len > CHORUS_CLW_DATAGRAM_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  if (len < 2) return CHORUS_ERR_TRUNCATED;
  if (buf[0] != 'C' || buf[1] != 'R') return CHORUS_ERR_BAD_MAGIC;
  if (len < 3) return CHORUS_ERR_TRUNCATED;
  if (buf[2] != CHORUS_CLW_VERSION) return CHORUS_ERR_BAD_VERSION;
  if (len < CHORUS_CLW_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  m->type = buf[3];
  m->from = buf[4];
  m->epoch = chorus_clw_get_u64(buf + 5);
  if (!clw_type_known(m->type)) return CHORUS_ERR_BAD_FRAME;
  return clw_get_body(buf + CHORUS_CLW_HEADER_BYTES, len - CHORUS_CLW_HEADER_BYTES, m);
}
