#include "srvwire.h"

#include <string.h>

#include "err.h"

/* ---- status and op names ------------------------------------------------ */

const char *chorus_srv_strerror(int status) {
  switch (status) {
#define SRV_STATUS_TEXT(name, value, text) \
  case value:                              \
    return text;
    CHORUS_SRV_STATUSES(SRV_STATUS_TEXT)
#undef SRV_STATUS_TEXT
  default:
    return "unknown status";
  }
}

const char *chorus_srv_statusname(int status) {
  switch (status) {
#define SRV_STATUS_NAME(name, value, text) \
  case value:                              \
    return #name;
    CHORUS_SRV_STATUSES(SRV_STATUS_NAME)
#undef SRV_STATUS_NAME
  default:
    return "CHORUS_SRV_UNKNOWN";
  }
}

const char *chorus_srv_opname(int op) {
  switch (op) {
  case CHORUS_SRV_OP_SIGNUP: return "signup";
  case CHORUS_SRV_OP_LOGIN: return "login";
  case CHORUS_SRV_OP_LOGOUT: return "logout";
  case CHORUS_SRV_OP_KEEPALIVE: return "keepalive";
  case CHORUS_SRV_OP_USERS: return "users";
  case CHORUS_SRV_OP_DELETE: return "delete";
  case CHORUS_SRV_OP_SET_ADDR: return "set_addr";
  case CHORUS_SRV_OP_ROOM_CREATE: return "room_create";
  case CHORUS_SRV_OP_ROOM_JOIN: return "room_join";
  case CHORUS_SRV_OP_ROOM_LEAVE: return "room_leave";
  case CHORUS_SRV_OP_ROOM_LIST: return "room_list";
  case CHORUS_SRV_OP_ROOM_MEMBERS: return "room_members";
  default: return "unknown";
  }
}

int chorus_srv_op_known(int op) {
  return (op >= CHORUS_SRV_OP_SIGNUP && op <= CHORUS_SRV_OP_SET_ADDR) ||
         (op >= CHORUS_SRV_OP_ROOM_CREATE && op <= CHORUS_SRV_OP_ROOM_MEMBERS);
}

/* ---- names and patterns ------------------------------------------------- */

static int srv_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

int chorus_srv_name_valid(const char *name, size_t len) {
  if (name == NULL || len == 0 || len > CHORUS_NAME_BYTES_MAX) return 0;
  for (size_t i = 0; i < len; i++)
    if (!srv_name_char(name[i])) return 0;
  return 1;
}

int chorus_srv_pattern_valid(const char *pattern, size_t len) {
  if (pattern == NULL || len == 0 || len > CHORUS_SRV_PATTERN_BYTES_MAX) return 0;
  for (size_t i = 0; i < len; i++)
    if (!srv_name_char(pattern[i]) && pattern[i] != '*' && pattern[i] != '?') return 0;
  return 1;
}

/* Greedy match with one backtrack point: on a mismatch, the last '*' takes
 * one more byte. Every '*' before it can be left alone, because any match
 * of the rest found by moving an earlier '*' is also found by the last. */
int chorus_srv_match(const char *pattern, size_t pat_len, const char *name,
                     size_t name_len) {
  size_t p = 0, n = 0;
  size_t star_p = SIZE_MAX, star_n = 0;
  while (n < name_len) {
    if (p < pat_len && (pattern[p] == '?' || pattern[p] == name[n])) {
      p++;
      n++;
    } else if (p < pat_len && pattern[p] == '*') {
      star_p = p++;
      star_n = n;
    } else if (star_p != SIZE_MAX) {
      p = star_p + 1;
      n = ++star_n;
    } else {
      return 0;
    }
  }
  while (p < pat_len && pattern[p] == '*') p++;
  return p == pat_len;
}

int chorus_srv_addr_equal(const chorus_srv_addr *a, const chorus_srv_addr *b) {
  return a->len == b->len && a->len <= CHORUS_SRV_ADDR_BYTES_MAX &&
         memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* ---- byte writer and reader --------------------------------------------- */

typedef struct srv_w {
  uint8_t *buf;
  size_t cap, off;
  int err; /* 0 or CHORUS_ERR_NOBUF / CHORUS_ERR_INVAL */
} srv_w;

static void w_u8(srv_w *w, uint8_t v) {
  if (w->err) return;
  if (w->cap - w->off < 1) { w->err = CHORUS_ERR_NOBUF; return; }
  w->buf[w->off++] = v;
}

static void w_u16(srv_w *w, uint16_t v) {
  w_u8(w, (uint8_t)(v >> 8));
  w_u8(w, (uint8_t)v);
}

static void w_u32(srv_w *w, uint32_t v) {
  w_u16(w, (uint16_t)(v >> 16));
  w_u16(w, (uint16_t)v);
}

static void w_bytes(srv_w *w, const uint8_t *p, size_t n) {
  if (w->err) return;
  if (w->cap - w->off < n) { w->err = CHORUS_ERR_NOBUF; return; }
  for (size_t i = 0; i < n; i++) w->buf[w->off + i] = p[i];
  w->off += n;
}

/* Length of a NUL-terminated text in an array of `cap` bytes; cap if no NUL. */
static size_t srv_textlen(const char *s, size_t cap) {
  size_t n = 0;
  while (n < cap && s[n] != '\0') n++;
  return n;
}

/* str8 from a NUL-terminated field of capacity `cap`, at most `max` bytes. */
static void w_text(srv_w *w, const char *s, size_t cap, size_t max) {
  size_t n = srv_textlen(s, cap);
  if (n > max) { if (!w->err) w->err = CHORUS_ERR_INVAL; return; }
  w_u8(w, (uint8_t)n);
  w_bytes(w, (const uint8_t *)s, n);
}

static void w_addr(srv_w *w, const chorus_srv_addr *a) {
  if (a->len > CHORUS_SRV_ADDR_BYTES_MAX) { if (!w->err) w->err = CHORUS_ERR_INVAL; return; }
  w_u8(w, a->len);
  w_bytes(w, a->bytes, a->len);
}

static int w_done(const srv_w *w) { return w->err ? w->err : (int)w->off; }

typedef struct srv_r {
  const uint8_t *buf;
  size_t len, off;
  int err; /* 0 or CHORUS_ERR_TRUNCATED / CHORUS_ERR_BAD_FRAME */
} srv_r;

static uint8_t r_u8(srv_r *r) {
  if (r->err) return 0;
  if (r->len - r->off < 1) { r->err = CHORUS_ERR_TRUNCATED; return 0; }
  return r->buf[r->off++];
}

static uint16_t r_u16(srv_r *r) {
  uint16_t hi = r_u8(r);
  return (uint16_t)((hi << 8) | r_u8(r));
}

static uint32_t r_u32(srv_r *r) {
  uint32_t hi = r_u16(r);
  return (hi << 16) | r_u16(r);
}

static void r_bytes(srv_r *r, uint8_t *out, size_t n) {
  if (r->err) return;
  if (r->len - r->off < n) { r->err = CHORUS_ERR_TRUNCATED; return; }
  for (size_t i = 0; i < n; i++) out[i] = r->buf[r->off + i];
  r->off += n;
}

static void r_fail(srv_r *r) {
  if (!r->err) r->err = CHORUS_ERR_BAD_FRAME;
}

/* str8 into out[0..max] with a NUL; no NUL byte allowed inside. */
static void r_text(srv_r *r, char *out, size_t max) {
  size_t n = r_u8(r);
  if (r->err) return;
  if (n > max) { r_fail(r); return; }
  r_bytes(r, (uint8_t *)out, n);
  if (r->err) return;
  out[n] = '\0';
  if (srv_textlen(out, n) != n) r_fail(r);
}

/* A name in a response: 1..31 bytes of the name alphabet (or empty when
 * `may_be_empty`), so a client never prints what a server made up. */
static void r_name(srv_r *r, char *out, int may_be_empty) {
  r_text(r, out, CHORUS_NAME_BYTES_MAX);
  if (r->err) return;
  size_t n = strlen(out);
  if (n == 0 ? !may_be_empty : !chorus_srv_name_valid(out, n)) r_fail(r);
}

static void r_addr(srv_r *r, chorus_srv_addr *a) {
  a->len = r_u8(r);
  if (r->err) return;
  if (a->len > CHORUS_SRV_ADDR_BYTES_MAX) { r_fail(r); return; }
  r_bytes(r, a->bytes, a->len);
}

/* Whole input consumed, or BAD_FRAME for trailing bytes. */
static int r_done(srv_r *r) {
  if (r->err) return r->err;
  if (r->off != r->len) return CHORUS_ERR_BAD_FRAME;
  return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void req_body_encode(srv_w *w, const chorus_srv_request *q) {
  switch (q->op) {
  case CHORUS_SRV_OP_SIGNUP:
  case CHORUS_SRV_OP_LOGIN:
    w_text(w, q->user, sizeof q->user, CHORUS_NAME_BYTES_MAX);
    if (q->password_len > CHORUS_SRV_PASSWORD_BYTES_MAX) w->err = CHORUS_ERR_INVAL;
    w_u8(w, q->password_len);
    w_bytes(w, q->password, q->password_len);
    if (q->op == CHORUS_SRV_OP_LOGIN) w_addr(w, &q->addr);
    break;
  case CHORUS_SRV_OP_USERS:
    w_text(w, q->pattern, sizeof q->pattern, CHORUS_SRV_PATTERN_BYTES_MAX);
    w_u16(w, q->start);
    break;
  case CHORUS_SRV_OP_DELETE:
    if (q->password_len > CHORUS_SRV_PASSWORD_BYTES_MAX) w->err = CHORUS_ERR_INVAL;
    w_u8(w, q->password_len);
    w_bytes(w, q->password, q->password_len);
    break;
  case CHORUS_SRV_OP_SET_ADDR:
    w_addr(w, &q->addr);
    break;
  case CHORUS_SRV_OP_ROOM_JOIN:
    if (q->flags & ~CHORUS_SRV_JOIN_CREATE) w->err = CHORUS_ERR_INVAL;
    w_text(w, q->room, sizeof q->room, CHORUS_NAME_BYTES_MAX);
    w_u8(w, q->flags);
    break;
  case CHORUS_SRV_OP_ROOM_CREATE:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    w_text(w, q->room, sizeof q->room, CHORUS_NAME_BYTES_MAX);
    break;
  case CHORUS_SRV_OP_ROOM_LIST:
    w_u16(w, q->start);
    break;
  default: /* LOGOUT, KEEPALIVE, ROOM_LEAVE: no body */
    break;
  }
}

int chorus_srv_request_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_srv_request *r) {
  if (buf == NULL || r == NULL || !chorus_srv_op_known(r->op)) return CHORUS_ERR_INVAL;
  srv_w w = {buf, cap_bytes, 0, 0};
  w_u8(&w, 'C');
  w_u8(&w, 'S');
  w_u8(&w, CHORUS_SRV_VERSION);
  w_u8(&w, r->op);
  w_u32(&w, r->rid);
  w_bytes(&w, r->token, CHORUS_SRV_TOKEN_BYTES);
  req_body_encode(&w, r);
  if (!w.err && w.off > CHORUS_SRV_DATAGRAM_BYTES_MAX) return CHORUS_ERR_INVAL;
  return w_done(&w);
}

static void r_password(srv_r *r, chorus_srv_request *q) {
  q->password_len = r_u8(r);
  if (r->err) return;
  if (q->password_len > CHORUS_SRV_PASSWORD_BYTES_MAX) { r_fail(r); return; }
  r_bytes(r, q->password, q->password_len);
}

static void req_body_decode(srv_r *r, chorus_srv_request *q) {
  switch (q->op) {
  case CHORUS_SRV_OP_SIGNUP:
  case CHORUS_SRV_OP_LOGIN:
    r_text(r, q->user, CHORUS_NAME_BYTES_MAX);
    r_password(r, q);
    if (q->op == CHORUS_SRV_OP_LOGIN) r_addr(r, &q->addr);
    break;
  case CHORUS_SRV_OP_USERS:
    r_text(r, q->pattern, CHORUS_SRV_PATTERN_BYTES_MAX);
    q->start = r_u16(r);
    break;
  case CHORUS_SRV_OP_DELETE:
    r_password(r, q);
    break;
  case CHORUS_SRV_OP_SET_ADDR:
    r_addr(r, &q->addr);
    break;
  case CHORUS_SRV_OP_ROOM_JOIN:
    r_text(r, q->room, CHORUS_NAME_BYTES_MAX);
    q->flags = r_u8(r);
    if (q->flags & ~CHORUS_SRV_JOIN_CREATE) r_fail(r);
    break;
  case CHORUS_SRV_OP_ROOM_CREATE:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    r_text(r, q->room, CHORUS_NAME_BYTES_MAX);
    break;
  case CHORUS_SRV_OP_ROOM_LIST:
    q->start = r_u16(r);
    break;
  default:
    break;
  }
}

/* Magic, then version: foreign traffic is told apart from another chorus. */
static int srv_magic_version(const uint8_t *buf, size_t len) {
  if (len > CHORUS_SRV_DATAGRAM_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  if (len < 2) return CHORUS_ERR_TRUNCATED;
  if (buf[0] != 'C' || buf[1] != 'S') return CHORUS_ERR_BAD_MAGIC;
  if (len < 3) return CHORUS_ERR_TRUNCATED;
  if (buf[2] != CHORUS_SRV_VERSION) return CHORUS_ERR_BAD_VERSION;
  return 0;
}

int chorus_srv_request_decode(const uint8_t *buf, size_t len,
                              chorus_srv_request *q) {
  if (q == NULL) return CHORUS_ERR_INVAL;
  memset(q, 0, sizeof *q);
  if (buf == NULL) return CHORUS_ERR_TRUNCATED;
  int rc = srv_magic_version(buf, len);
  if (len >= 8 && (rc == 0 || rc == CHORUS_ERR_BAD_VERSION)) {
    q->op = buf[3];
    q->rid = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) |
             ((uint32_t)buf[6] << 8) | buf[7];
  }
  if (rc != 0) return rc;
  if (len < CHORUS_SRV_REQ_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  if (!chorus_srv_op_known(q->op)) return CHORUS_ERR_BAD_FRAME;
  srv_r r = {buf, len, 8, 0};
  r_bytes(&r, q->token, CHORUS_SRV_TOKEN_BYTES);
  req_body_decode(&r, q);
  return r_done(&r);
}

/* ---- responses ---------------------------------------------------------- */

static void resp_members_encode(srv_w *w, const chorus_srv_response *p) {
  w_text(w, p->room, sizeof p->room, CHORUS_NAME_BYTES_MAX);
  if (p->count > CHORUS_MEMBERS_MAX) { w->err = CHORUS_ERR_INVAL; return; }
  w_u8(w, p->count);
  for (size_t i = 0; i < p->count; i++) {
    const chorus_srv_member *m = &p->members[i];
    w_text(w, m->name, sizeof m->name, CHORUS_NAME_BYTES_MAX);
    w_u8(w, m->flags);
    if (m->seat >= CHORUS_MEMBERS_MAX) w->err = CHORUS_ERR_INVAL;
    w_u8(w, m->seat);
    w_addr(w, &m->addr);
  }
}

static void resp_entries_encode(srv_w *w, const chorus_srv_response *p) {
  if (p->count > CHORUS_SRV_PAGE_MAX) { w->err = CHORUS_ERR_INVAL; return; }
  w_u16(w, p->total);
  w_u8(w, p->count);
  for (size_t i = 0; i < p->count; i++) {
    w_text(w, p->entries[i].name, sizeof p->entries[i].name, CHORUS_NAME_BYTES_MAX);
    w_u8(w, p->entries[i].value);
  }
}

static void resp_body_encode(srv_w *w, const chorus_srv_response *p) {
  switch (p->op) {
  case CHORUS_SRV_OP_LOGIN:
    w_bytes(w, p->token, CHORUS_SRV_TOKEN_BYTES);
    w_u32(w, p->lease_ms);
    w_text(w, p->room, sizeof p->room, CHORUS_NAME_BYTES_MAX);
    break;
  case CHORUS_SRV_OP_KEEPALIVE:
    w_u32(w, p->lease_ms);
    break;
  case CHORUS_SRV_OP_USERS:
  case CHORUS_SRV_OP_ROOM_LIST:
    resp_entries_encode(w, p);
    break;
  case CHORUS_SRV_OP_ROOM_JOIN:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    resp_members_encode(w, p);
    break;
  default:
    break;
  }
}

int chorus_srv_response_encode(uint8_t *buf, size_t cap_bytes,
                               const chorus_srv_response *p) {
  if (buf == NULL || p == NULL || p->op >= CHORUS_SRV_OP_RESPONSE ||
      p->status > CHORUS_SRV_STATUS_WIRE_MAX)
    return CHORUS_ERR_INVAL;
  if (p->status == CHORUS_SRV_OK && !chorus_srv_op_known(p->op)) return CHORUS_ERR_INVAL;
  srv_w w = {buf, cap_bytes, 0, 0};
  w_u8(&w, 'C');
  w_u8(&w, 'S');
  w_u8(&w, CHORUS_SRV_VERSION);
  w_u8(&w, (uint8_t)(p->op | CHORUS_SRV_OP_RESPONSE));
  w_u32(&w, p->rid);
  w_u8(&w, p->status);
  if (p->status == CHORUS_SRV_OK) resp_body_encode(&w, p);
  else w_u32(&w, p->detail);
  if (!w.err && w.off > CHORUS_SRV_DATAGRAM_BYTES_MAX) return CHORUS_ERR_INVAL;
  return w_done(&w);
}

static void resp_members_decode(srv_r *r, chorus_srv_response *p) {
  r_name(r, p->room, 0);
  p->count = r_u8(r);
  if (r->err) return;
  if (p->count > CHORUS_MEMBERS_MAX) { r_fail(r); return; }
  for (size_t i = 0; i < p->count && !r->err; i++) {
    chorus_srv_member *m = &p->members[i];
    r_name(r, m->name, 0);
    m->flags = r_u8(r);
    m->seat = r_u8(r);
    if (m->seat >= CHORUS_MEMBERS_MAX) r_fail(r);
    r_addr(r, &m->addr);
  }
}

static void resp_entries_decode(srv_r *r, chorus_srv_response *p) {
  p->total = r_u16(r);
  p->count = r_u8(r);
  if (r->err) return;
  if (p->count > CHORUS_SRV_PAGE_MAX || p->count > p->total) { r_fail(r); return; }
  for (size_t i = 0; i < p->count && !r->err; i++) {
    r_name(r, p->entries[i].name, 0);
    p->entries[i].value = r_u8(r);
  }
}

static void resp_body_decode(srv_r *r, chorus_srv_response *p) {
  switch (p->op) {
  case CHORUS_SRV_OP_LOGIN:
    r_bytes(r, p->token, CHORUS_SRV_TOKEN_BYTES);
    p->lease_ms = r_u32(r);
    r_name(r, p->room, 1);
    break;
  case CHORUS_SRV_OP_KEEPALIVE:
    p->lease_ms = r_u32(r);
    break;
  case CHORUS_SRV_OP_USERS:
  case CHORUS_SRV_OP_ROOM_LIST:
    resp_entries_decode(r, p);
    break;
  case CHORUS_SRV_OP_ROOM_JOIN:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    resp_members_decode(r, p);
    break;
  default:
    break;
  }
}

int chorus_srv_response_decode(const uint8_t *buf, size_t len,
                               chorus_srv_response *p) {
  if (p == NULL) return CHORUS_ERR_INVAL;
  memset(p, 0, sizeof *p);
  if (buf == NULL) return CHORUS_ERR_TRUNCATED;
  if (len >= 3 && len <= CHORUS_SRV_DATAGRAM_BYTES_MAX) p->version = buf[2];
  int rc = srv_magic_version(buf, len);
  if (rc != 0) return rc;
  if (len < CHORUS_SRV_RESP_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  if (!(buf[3] & CHORUS_SRV_OP_RESPONSE)) return CHORUS_ERR_BAD_FRAME;
  srv_r r = {buf, len, 3, 0};
  p->op = (uint8_t)(r_u8(&r) & ~CHORUS_SRV_OP_RESPONSE);
  p->rid = r_u32(&r);
  p->status = r_u8(&r);
  if (p->status > CHORUS_SRV_STATUS_WIRE_MAX) return CHORUS_ERR_BAD_FRAME;
  if (p->status != CHORUS_SRV_OK) {
    p->detail = r_u32(&r);
    return r_done(&r);
  }
  if (!chorus_srv_op_known(p->op)) return CHORUS_ERR_BAD_FRAME;
  resp_body_decode(&r, p);
  return r_done(&r);
}
