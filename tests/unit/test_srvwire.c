/* Unit tests of core/srvwire: round trips of every request and response,
 * rejection of malformed input, the wildcard matcher and the status table. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "srvwire.h"

static const uint8_t all_ops[] = {
    CHORUS_SRV_OP_SIGNUP,      CHORUS_SRV_OP_LOGIN,       CHORUS_SRV_OP_LOGOUT,
    CHORUS_SRV_OP_KEEPALIVE,   CHORUS_SRV_OP_USERS,       CHORUS_SRV_OP_DELETE,
    CHORUS_SRV_OP_SET_ADDR,    CHORUS_SRV_OP_ROOM_CREATE, CHORUS_SRV_OP_ROOM_JOIN,
    CHORUS_SRV_OP_ROOM_LEAVE,  CHORUS_SRV_OP_ROOM_LIST,   CHORUS_SRV_OP_ROOM_MEMBERS};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

static void fill_request(chorus_srv_request *q, uint8_t op) {
  memset(q, 0, sizeof *q);
  q->op = op;
  q->rid = 0xA1B2C3D4u;
  for (size_t i = 0; i < CHORUS_SRV_TOKEN_BYTES; i++) q->token[i] = (uint8_t)(i * 7 + 1);
  if (op == CHORUS_SRV_OP_SIGNUP || op == CHORUS_SRV_OP_LOGIN) strcpy(q->user, "alice");
  if (op == CHORUS_SRV_OP_SIGNUP || op == CHORUS_SRV_OP_LOGIN || op == CHORUS_SRV_OP_DELETE) {
    memcpy(q->password, "s3cret\0x", 8); /* a NUL inside is fine */
    q->password_len = 8;
  }
  if (op == CHORUS_SRV_OP_LOGIN || op == CHORUS_SRV_OP_SET_ADDR) {
    q->addr.len = 7;
    memcpy(q->addr.bytes, "\x04\x1e\x14\x7f\x00\x00\x01", 7);
  }
  if (op == CHORUS_SRV_OP_USERS) strcpy(q->pattern, "a*?");
  if (op == CHORUS_SRV_OP_USERS || op == CHORUS_SRV_OP_ROOM_LIST) q->start = 300;
  if (op == CHORUS_SRV_OP_ROOM_CREATE || op == CHORUS_SRV_OP_ROOM_JOIN ||
      op == CHORUS_SRV_OP_ROOM_MEMBERS)
    strcpy(q->room, "lobby");
  if (op == CHORUS_SRV_OP_ROOM_JOIN) q->flags = CHORUS_SRV_JOIN_CREATE;
}

static void test_request_round_trip(void) {
  for (size_t k = 0; k < N_OPS; k++) {
    chorus_srv_request q, d;
    uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX], again[CHORUS_SRV_DATAGRAM_BYTES_MAX];
    fill_request(&q, all_ops[k]);
    int n = chorus_srv_request_encode(buf, sizeof buf, &q);
    CHECK(n >= CHORUS_SRV_REQ_HEADER_BYTES);
    CHECK_EQ(chorus_srv_request_decode(buf, (size_t)n, &d), 0);
    CHECK(memcmp(&q, &d, sizeof q) == 0);
    CHECK_EQ(chorus_srv_request_encode(again, sizeof again, &d), n);
    CHECK(memcmp(buf, again, (size_t)n) == 0);
    /* every proper prefix is refused, never over-read */
    for (int cut = 0; cut < n; cut++) CHECK(chorus_srv_request_decode(buf, (size_t)cut, &d) < 0);
    /* a trailing byte is refused */
    buf[n] = 0;
    CHECK_EQ(chorus_srv_request_decode(buf, (size_t)n + 1, &d), CHORUS_ERR_BAD_FRAME);
  }
}

static void test_request_header_layout(void) {
  chorus_srv_request q;
  uint8_t buf[64];
  fill_request(&q, CHORUS_SRV_OP_KEEPALIVE);
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), 24);
  CHECK(buf[0] == 'C' && buf[1] == 'S' && buf[2] == 1 && buf[3] == 0x04);
  CHECK(buf[4] == 0xA1 && buf[5] == 0xB2 && buf[6] == 0xC3 && buf[7] == 0xD4);
  CHECK(buf[8] == 1 && buf[23] == (uint8_t)(15 * 7 + 1));
}

static void test_request_rejects(void) {
  chorus_srv_request q, d;
  uint8_t buf[1300];
  fill_request(&q, CHORUS_SRV_OP_ROOM_JOIN);
  int n = chorus_srv_request_encode(buf, sizeof buf, &q);
  CHECK(n > 0);
  uint8_t bad[1300];
  memcpy(bad, buf, (size_t)n);
  bad[0] = 'X';
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_MAGIC);
  memcpy(bad, buf, (size_t)n);
  bad[2] = 2;
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_VERSION);
  CHECK_EQ(d.rid, 0xA1B2C3D4u); /* so the server can answer */
  CHECK_EQ(d.op, CHORUS_SRV_OP_ROOM_JOIN);
  memcpy(bad, buf, (size_t)n);
  bad[3] = 0x7e;
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  CHECK_EQ(d.op, 0x7e);
  memcpy(bad, buf, (size_t)n);
  bad[3] |= CHORUS_SRV_OP_RESPONSE;
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[n - 1] = 0x02; /* JOIN flag bit 1 is not defined */
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[24] = 40; /* room length above 31 */
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[26] = 0; /* NUL inside a name */
  CHECK_EQ(chorus_srv_request_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memset(bad, 0, sizeof bad);
  memcpy(bad, buf, 8);
  CHECK_EQ(chorus_srv_request_decode(bad, 1201, &d), CHORUS_ERR_TOO_BIG);
  CHECK_EQ(chorus_srv_request_decode(NULL, 0, &d), CHORUS_ERR_TRUNCATED);
  CHECK_EQ(chorus_srv_request_decode(buf, 1, &d), CHORUS_ERR_TRUNCATED);
  /* an address of 29 bytes, a password of 129 */
  fill_request(&q, CHORUS_SRV_OP_SET_ADDR);
  n = chorus_srv_request_encode(buf, sizeof buf, &q);
  buf[24] = 29;
  CHECK_EQ(chorus_srv_request_decode(buf, (size_t)n + 22, &d), CHORUS_ERR_BAD_FRAME);
  fill_request(&q, CHORUS_SRV_OP_DELETE);
  n = chorus_srv_request_encode(buf, sizeof buf, &q);
  buf[24] = 129;
  CHECK_EQ(chorus_srv_request_decode(buf, 24 + 1 + 129, &d), CHORUS_ERR_BAD_FRAME);
}

static void test_request_encode_errors(void) {
  chorus_srv_request q;
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  fill_request(&q, CHORUS_SRV_OP_SIGNUP);
  q.op = 0x33;
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), CHORUS_ERR_INVAL);
  fill_request(&q, CHORUS_SRV_OP_SIGNUP);
  memset(q.user, 'a', sizeof q.user); /* no NUL: 32 bytes */
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), CHORUS_ERR_INVAL);
  fill_request(&q, CHORUS_SRV_OP_SIGNUP);
  q.password_len = CHORUS_SRV_PASSWORD_BYTES_MAX + 1;
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), CHORUS_ERR_INVAL);
  fill_request(&q, CHORUS_SRV_OP_SET_ADDR);
  q.addr.len = 29;
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), CHORUS_ERR_INVAL);
  fill_request(&q, CHORUS_SRV_OP_SIGNUP);
  CHECK_EQ(chorus_srv_request_encode(buf, 30, &q), CHORUS_ERR_NOBUF);
  /* empty fields are encoded: the server answers them specifically */
  fill_request(&q, CHORUS_SRV_OP_SIGNUP);
  q.user[0] = '\0';
  q.password_len = 0;
  CHECK_EQ(chorus_srv_request_encode(buf, sizeof buf, &q), 26);
}

static void fill_members(chorus_srv_response *p, size_t n) {
  strcpy(p->room, "abcdefghijklmnopqrstuvwxyz01234"); /* 31 bytes */
  p->count = (uint8_t)n;
  for (size_t i = 0; i < n; i++) {
    memset(p->members[i].name, 'a' + (int)i, CHORUS_NAME_BYTES_MAX);
    p->members[i].name[CHORUS_NAME_BYTES_MAX] = '\0';
    p->members[i].flags = (uint8_t)(i & 1);
    p->members[i].seat = (uint8_t)(CHORUS_MEMBERS_MAX - 1 - i);
    p->members[i].addr.len = CHORUS_SRV_ADDR_BYTES_MAX;
    memset(p->members[i].addr.bytes, (int)i, CHORUS_SRV_ADDR_BYTES_MAX);
  }
}

static void fill_response(chorus_srv_response *p, uint8_t op) {
  memset(p, 0, sizeof *p);
  p->op = op;
  p->rid = 77;
  p->status = CHORUS_SRV_OK;
  p->version = CHORUS_SRV_VERSION;
  if (op == CHORUS_SRV_OP_LOGIN) {
    memset(p->token, 0x5a, sizeof p->token);
    strcpy(p->room, "lobby");
  }
  if (op == CHORUS_SRV_OP_LOGIN || op == CHORUS_SRV_OP_KEEPALIVE) p->lease_ms = 30000;
  if (op == CHORUS_SRV_OP_USERS || op == CHORUS_SRV_OP_ROOM_LIST) {
    p->total = 1000;
    p->count = CHORUS_SRV_PAGE_MAX;
    for (size_t i = 0; i < CHORUS_SRV_PAGE_MAX; i++) {
      memset(p->entries[i].name, 'A' + (int)(i % 26), CHORUS_NAME_BYTES_MAX);
      p->entries[i].value = (uint8_t)i;
    }
  }
  if (op == CHORUS_SRV_OP_ROOM_JOIN || op == CHORUS_SRV_OP_ROOM_MEMBERS)
    fill_members(p, CHORUS_MEMBERS_MAX);
}

static void test_response_round_trip(void) {
  for (size_t k = 0; k < N_OPS; k++) {
    chorus_srv_response p, d;
    uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX], again[CHORUS_SRV_DATAGRAM_BYTES_MAX];
    fill_response(&p, all_ops[k]);
    int n = chorus_srv_response_encode(buf, sizeof buf, &p);
    CHECK(n >= CHORUS_SRV_RESP_HEADER_BYTES && n <= CHORUS_SRV_DATAGRAM_BYTES_MAX);
    CHECK_EQ(chorus_srv_response_decode(buf, (size_t)n, &d), 0);
    CHECK(memcmp(&p, &d, sizeof p) == 0);
    CHECK_EQ(chorus_srv_response_encode(again, sizeof again, &d), n);
    CHECK(memcmp(buf, again, (size_t)n) == 0);
    for (int cut = 0; cut < n; cut++) CHECK(chorus_srv_response_decode(buf, (size_t)cut, &d) < 0);
  }
  /* the largest bodies fit a datagram: 10 members, a full page */
  chorus_srv_response p;
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  fill_response(&p, CHORUS_SRV_OP_ROOM_JOIN);
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p),
           9 + 32 + 1 + 10 * (32 + 1 + 1 + 29));
  fill_response(&p, CHORUS_SRV_OP_USERS);
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), 9 + 3 + 32 * 33);
}

static void test_response_errors(void) {
  chorus_srv_response p, d;
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  /* a seat out of 0..9, both ways */
  fill_response(&p, CHORUS_SRV_OP_ROOM_MEMBERS);
  p.members[3].seat = CHORUS_MEMBERS_MAX;
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), CHORUS_ERR_INVAL);
  p.members[3].seat = 0;
  int len = chorus_srv_response_encode(buf, sizeof buf, &p);
  CHECK(len > 0);
  /* member 3's seat byte: header 9, room 32, n 1, three members of 63 */
  size_t at = 9 + 32 + 1 + 3 * 63 + 33;
  CHECK_EQ(buf[at], 0);
  buf[at] = CHORUS_MEMBERS_MAX;
  CHECK(chorus_srv_response_decode(buf, (size_t)len, &d) < 0);
  memset(&p, 0, sizeof p);
  p.op = CHORUS_SRV_OP_LOGIN;
  p.rid = 5;
  p.status = CHORUS_SRV_LOCKED_OUT;
  p.detail = 29500;
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), 13);
  CHECK_EQ(chorus_srv_response_decode(buf, 13, &d), 0);
  CHECK_EQ(d.status, CHORUS_SRV_LOCKED_OUT);
  CHECK_EQ(d.detail, 29500);
  CHECK_EQ(buf[3], 0x82);
  /* an error may answer an op this version does not know */
  p.op = 0x7e;
  p.status = CHORUS_SRV_UNKNOWN_OP;
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), 13);
  CHECK_EQ(chorus_srv_response_decode(buf, 13, &d), 0);
  CHECK_EQ(d.op, 0x7e);
  p.status = CHORUS_SRV_OK;
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), CHORUS_ERR_INVAL);
  p.op = CHORUS_SRV_OP_SIGNUP;
  p.status = CHORUS_SRV_UNREACHABLE; /* client-side only */
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), CHORUS_ERR_INVAL);
  fill_response(&p, CHORUS_SRV_OP_ROOM_MEMBERS);
  p.count = CHORUS_MEMBERS_MAX + 1;
  CHECK_EQ(chorus_srv_response_encode(buf, sizeof buf, &p), CHORUS_ERR_INVAL);
  p.count = 2;
  CHECK_EQ(chorus_srv_response_encode(buf, 20, &p), CHORUS_ERR_NOBUF);
}

static void test_response_rejects(void) {
  chorus_srv_response p, d;
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  fill_response(&p, CHORUS_SRV_OP_ROOM_MEMBERS);
  fill_members(&p, 2);
  int n = chorus_srv_response_encode(buf, sizeof buf, &p);
  CHECK(n > 0);
  uint8_t bad[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  memcpy(bad, buf, (size_t)n);
  bad[2] = 9;
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_VERSION);
  CHECK_EQ(d.version, 9);
  memcpy(bad, buf, (size_t)n);
  bad[3] &= 0x7f; /* a request */
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[8] = 64; /* status beyond the wire range */
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[9 + 32] = 11; /* 11 members */
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[9 + 33 + 1] = 0x1b; /* escape byte in a member name */
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
  memcpy(bad, buf, (size_t)n);
  bad[n] = 1;
  CHECK_EQ(chorus_srv_response_decode(bad, (size_t)n + 1, &d), CHORUS_ERR_BAD_FRAME);
  /* a page claiming more entries than matches */
  fill_response(&p, CHORUS_SRV_OP_USERS);
  p.total = 1;
  p.count = 1;
  n = chorus_srv_response_encode(buf, sizeof buf, &p);
  buf[10] = 0; /* total 0 */
  CHECK_EQ(chorus_srv_response_decode(buf, (size_t)n, &d), CHORUS_ERR_BAD_FRAME);
}

static void test_names_and_patterns(void) {
  CHECK(chorus_srv_name_valid("alice", 5));
  CHECK(chorus_srv_name_valid("A_b.c-9", 7));
  CHECK(!chorus_srv_name_valid("", 0));
  CHECK(!chorus_srv_name_valid("al ice", 6));
  CHECK(!chorus_srv_name_valid("al*", 3));
  CHECK(chorus_srv_name_valid("0123456789012345678901234567890", 31));
  CHECK(!chorus_srv_name_valid("01234567890123456789012345678901", 32));
  CHECK(chorus_srv_pattern_valid("a*?", 3));
  CHECK(!chorus_srv_pattern_valid("a b", 3));
  CHECK(!chorus_srv_pattern_valid("", 0));
}

static int m(const char *p, const char *n) {
  return chorus_srv_match(p, strlen(p), n, strlen(n));
}

static void test_match(void) {
  CHECK(m("*", "anything"));
  CHECK(m("*", ""));
  CHECK(m("a*", "alice"));
  CHECK(!m("a*", "bob"));
  CHECK(m("?ob", "bob"));
  CHECK(!m("?ob", "bobb"));
  CHECK(m("*ce", "alice"));
  CHECK(m("a*c*e", "alice"));
  CHECK(!m("a*c*e", "alicx"));
  CHECK(m("a**e", "ae"));
  CHECK(m("*a*a*a*b", "aaaaaaaaaaaaaaaab"));
  CHECK(!m("*a*a*a*b", "aaaaaaaaaaaaaaaaa"));
  CHECK(!m("Alice", "alice")); /* case-sensitive */
  CHECK(m("alice", "alice"));
  CHECK(!m("alice", "alic"));
  CHECK(m("???", "abc"));
  CHECK(!m("???", "ab"));
}

static void test_status_table(void) {
  CHECK(strcmp(chorus_srv_strerror(CHORUS_SRV_ROOM_FULL), "room full") == 0);
  CHECK(strcmp(chorus_srv_statusname(CHORUS_SRV_NAME_TAKEN), "CHORUS_SRV_NAME_TAKEN") == 0);
  CHECK(strcmp(chorus_srv_strerror(63), "unknown status") == 0);
  CHECK(strcmp(chorus_srv_statusname(-5), "CHORUS_SRV_UNKNOWN") == 0);
  CHECK(strcmp(chorus_srv_opname(CHORUS_SRV_OP_ROOM_JOIN), "room_join") == 0);
  CHECK(strcmp(chorus_srv_opname(0), "unknown") == 0);
  /* every status has distinct text */
  for (int a = 0; a <= 64; a++)
    for (int b = a + 1; b <= 64; b++)
      if (strcmp(chorus_srv_statusname(a), "CHORUS_SRV_UNKNOWN") != 0)
        CHECK(strcmp(chorus_srv_strerror(a), chorus_srv_strerror(b)) != 0);
}

int main(void) {
  RUN(test_request_round_trip);
  RUN(test_request_header_layout);
  RUN(test_request_rejects);
  RUN(test_request_encode_errors);
  RUN(test_response_round_trip);
  RUN(test_response_errors);
  RUN(test_response_rejects);
  RUN(test_names_and_patterns);
  RUN(test_match);
  RUN(test_status_table);
  return CHECK_SUMMARY();
}
