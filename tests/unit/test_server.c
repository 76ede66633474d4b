/* Unit tests of core/server: accounts, lock-out, sessions, rooms, listing,
 * idempotency, persistence (snapshot round trip and corruption), bad input,
 * limits, determinism; and the cluster file parser. The server is driven
 * directly, in virtual time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "err.h"
#include "server.h"
#include "srvwire.h"

#define SEC 1000000ull
#define OUTS_MAX 64

typedef struct run {
  chorus_server *s;
  uint64_t now;
  uint32_t rid;
  uint8_t *buf;
  size_t cap;
  int kinds[OUTS_MAX]; /* kinds of the outputs of the last input */
  size_t nk;
  chorus_server_output ev[OUTS_MAX]; /* its events */
  size_t nev;
  chorus_srv_response resp; /* its last response, decoded */
  uint8_t resp_bytes[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  size_t resp_len;
  chorus_srv_addr resp_to;
  uint8_t *snap; /* the last snapshot seen */
  size_t snap_len;
  uint64_t snap_seq;
} run;

static chorus_srv_addr addr(uint8_t n) {
  chorus_srv_addr a;
  memset(&a, 0, sizeof a);
  a.len = 7;
  a.bytes[0] = 4;
  a.bytes[1] = 0x1e;
  a.bytes[2] = n;
  a.bytes[3] = 127;
  a.bytes[6] = n;
  return a;
}

static void test_config(chorus_server_config *c) {
  chorus_server_config_default(c);
  c->iterations = 10;
  c->seed = 42;
}

static void run_open(run *r, const chorus_server_config *cfg) {
  memset(r, 0, sizeof *r);
  CHECK_EQ(chorus_server_new(cfg, &r->s), 0);
  r->cap = chorus_server_poll_bytes_min(r->s);
  r->buf = malloc(r->cap);
  r->snap = malloc(r->cap);
  r->now = 1000 * SEC;
  r->rid = 1;
}

static void run_close(run *r) {
  chorus_server_free(r->s);
  free(r->buf);
  free(r->snap);
}

static void drain(run *r) {
  r->nk = r->nev = 0;
  r->resp_len = 0;
  memset(&r->resp, 0, sizeof r->resp);
  for (;;) {
    chorus_server_output o;
    CHECK_EQ(chorus_server_poll(r->s, &o, r->buf, r->cap), 0);
    if (o.kind == CHORUS_SERVER_OUT_NONE) break;
    if (r->nk < OUTS_MAX) r->kinds[r->nk++] = o.kind;
    if (o.kind == CHORUS_SERVER_OUT_EVENT && r->nev < OUTS_MAX) r->ev[r->nev++] = o;
    if (o.kind == CHORUS_SERVER_OUT_PERSIST) {
      memcpy(r->snap, o.data, o.len);
      r->snap_len = o.len;
      r->snap_seq = o.snapshot_seq;
    }
    if (o.kind == CHORUS_SERVER_OUT_RESPONSE) {
      memcpy(r->resp_bytes, o.data, o.len);
      r->resp_len = o.len;
      r->resp_to = o.to;
      CHECK_EQ(chorus_srv_response_decode(o.data, o.len, &r->resp), 0);
    }
  }
}

/* Send raw bytes; returns recv's result. */
static int send_raw(run *r, const chorus_srv_addr *from, const uint8_t *b, size_t n) {
  int rc = chorus_server_recv(r->s, r->now, from, b, n);
  drain(r);
  return rc;
}

/* Encode q with the next request id, send it, return the response status. */
static int call(run *r, uint8_t from, chorus_srv_request *q) {
  uint8_t b[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  chorus_srv_addr a = addr(from);
  q->rid = r->rid++;
  int n = chorus_srv_request_encode(b, sizeof b, q);
  CHECK(n > 0);
  CHECK_EQ(send_raw(r, &a, b, (size_t)n), 0);
  CHECK(r->resp_len > 0);
  CHECK_EQ(r->resp.rid, q->rid);
  return r->resp.status;
}

static chorus_srv_request req(uint8_t op) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = op;
  return q;
}

static void set_pw(chorus_srv_request *q, const char *pw) {
  q->password_len = (uint8_t)strlen(pw);
  memcpy(q->password, pw, q->password_len);
}

static int signup(run *r, uint8_t from, const char *name, const char *pw) {
  chorus_srv_request q = req(CHORUS_SRV_OP_SIGNUP);
  strcpy(q.user, name);
  set_pw(&q, pw);
  return call(r, from, &q);
}

/* Log in; on success copies the token to tok. */
static int login(run *r, uint8_t from, const char *name, const char *pw, uint8_t *tok) {
  chorus_srv_request q = req(CHORUS_SRV_OP_LOGIN);
  strcpy(q.user, name);
  set_pw(&q, pw);
  q.addr = addr((uint8_t)(from + 100));
  int st = call(r, from, &q);
  if (st == CHORUS_SRV_OK && tok) memcpy(tok, r->resp.token, CHORUS_SRV_TOKEN_BYTES);
  return st;
}

/* A session request with token tok. */
static int sess(run *r, uint8_t from, const uint8_t *tok, chorus_srv_request *q) {
  memcpy(q->token, tok, CHORUS_SRV_TOKEN_BYTES);
  return call(r, from, q);
}

static int join(run *r, uint8_t from, const uint8_t *tok, const char *room, uint8_t flags) {
  chorus_srv_request q = req(CHORUS_SRV_OP_ROOM_JOIN);
  strcpy(q.room, room);
  q.flags = flags;
  return sess(r, from, tok, &q);
}

static int has_event(const run *r, enum chorus_server_event ev, const char *user) {
  for (size_t i = 0; i < r->nev; i++)
    if (r->ev[i].event == ev && strcmp(r->ev[i].user, user) == 0) return 1;
  return 0;
}

/* The PERSIST (if any) comes before the RESPONSE. */
static int persist_before_response(const run *r) {
  size_t p = OUTS_MAX, q = OUTS_MAX;
  for (size_t i = 0; i < r->nk; i++) {
    if (r->kinds[i] == CHORUS_SERVER_OUT_PERSIST && p == OUTS_MAX) p = i;
    if (r->kinds[i] == CHORUS_SERVER_OUT_RESPONSE) q = i;
  }
  return p < q && q < OUTS_MAX;
}

static int persisted(const run *r) {
  for (size_t i = 0; i < r->nk; i++)
    if (r->kinds[i] == CHORUS_SERVER_OUT_PERSIST) return 1;
  return 0;
}

/* ---- accounts ----------------------------------------------------------- */

static void test_signup(void) {
  chorus_server_config cfg;
  run r;
  test_config(&cfg);
  cfg.accounts_max = 3;
  cfg.sessions_max = 3;
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "pw-alice"), CHORUS_SRV_OK);
  CHECK(persist_before_response(&r));
  CHECK(has_event(&r, CHORUS_SERVER_EV_SIGNUP, "alice"));
  CHECK_EQ(signup(&r, 2, "alice", "other"), CHORUS_SRV_NAME_TAKEN);
  CHECK(!persisted(&r));
  CHECK_EQ(signup(&r, 1, "bad name", "x"), CHORUS_SRV_BAD_NAME);
  CHECK_EQ(signup(&r, 1, "", "x"), CHORUS_SRV_BAD_NAME);
  CHECK_EQ(signup(&r, 1, "bob", ""), CHORUS_SRV_BAD_PASSWORD);
  CHECK_EQ(signup(&r, 1, "bob", "b"), CHORUS_SRV_OK);
  CHECK_EQ(signup(&r, 1, "carol", "c"), CHORUS_SRV_OK);
  CHECK_EQ(signup(&r, 1, "dave", "d"), CHORUS_SRV_TOO_MANY_ACCOUNTS);
  CHECK_EQ(r.resp.detail, 3);
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.accounts, 3);
  /* the snapshot never holds a password */
  CHECK(r.snap_len > 0);
  for (size_t i = 0; i + 8 <= r.snap_len; i++) CHECK(memcmp(r.snap + i, "pw-alice", 8) != 0);
  run_close(&r);
}

static void test_login_and_lockout(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "right"), 0);
  CHECK_EQ(login(&r, 1, "nobody", "x", NULL), CHORUS_SRV_UNKNOWN_USER);
  CHECK_EQ(login(&r, 1, "bad name!", "x", NULL), CHORUS_SRV_BAD_NAME);
  CHECK_EQ(login(&r, 1, "alice", "right", tok), CHORUS_SRV_OK);
  CHECK(has_event(&r, CHORUS_SERVER_EV_LOGIN, "alice"));
  CHECK_EQ(r.resp.lease_ms, 30000);
  /* success resets the count: 4 wrong, 1 right, 4 wrong: never locked */
  for (int i = 0; i < 4; i++) CHECK_EQ(login(&r, 1, "alice", "wrong", NULL), CHORUS_SRV_WRONG_PASSWORD);
  CHECK(has_event(&r, CHORUS_SERVER_EV_LOGIN_FAILED, "alice"));
  CHECK_EQ(login(&r, 1, "alice", "right", tok), CHORUS_SRV_OK);
  for (int i = 0; i < 4; i++) CHECK_EQ(login(&r, 1, "alice", "wrong", NULL), CHORUS_SRV_WRONG_PASSWORD);
  /* the fifth consecutive failure locks */
  CHECK_EQ(login(&r, 1, "alice", "wrong", NULL), CHORUS_SRV_LOCKED_OUT);
  CHECK_EQ(r.resp.detail, 30000);
  CHECK(has_event(&r, CHORUS_SERVER_EV_LOCKED_OUT, "alice"));
  r.now += 10 * SEC;
  CHECK_EQ(login(&r, 1, "alice", "right", NULL), CHORUS_SRV_LOCKED_OUT);
  CHECK_EQ(r.resp.detail, 20000);
  r.now += 20 * SEC;
  CHECK_EQ(login(&r, 1, "alice", "right", tok), CHORUS_SRV_OK);
  run_close(&r);
}

static void test_delete(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "pw"), 0);
  CHECK_EQ(login(&r, 1, "alice", "pw", tok), 0);
  CHECK_EQ(join(&r, 1, tok, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  chorus_srv_request q = req(CHORUS_SRV_OP_DELETE);
  set_pw(&q, "nope");
  CHECK_EQ(sess(&r, 1, tok, &q), CHORUS_SRV_WRONG_PASSWORD);
  set_pw(&q, "pw");
  CHECK_EQ(sess(&r, 1, tok, &q), CHORUS_SRV_OK);
  CHECK(persist_before_response(&r));
  CHECK(has_event(&r, CHORUS_SERVER_EV_DELETE, "alice"));
  CHECK(has_event(&r, CHORUS_SERVER_EV_LEAVE, "alice"));
  CHECK_EQ(sess(&r, 1, tok, &q), CHORUS_SRV_NOT_LOGGED_IN);
  CHECK_EQ(login(&r, 1, "alice", "pw", NULL), CHORUS_SRV_UNKNOWN_USER);
  /* the room is empty, the name is free again */
  CHECK_EQ(signup(&r, 2, "bob", "b"), 0);
  CHECK_EQ(login(&r, 2, "bob", "b", tok), 0);
  q = req(CHORUS_SRV_OP_ROOM_MEMBERS);
  strcpy(q.room, "lobby");
  CHECK_EQ(sess(&r, 2, tok, &q), 0);
  CHECK_EQ(r.resp.count, 0);
  CHECK_EQ(signup(&r, 3, "alice", "new"), CHORUS_SRV_OK);
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.accounts, 2);
  CHECK_EQ(st.sessions, 1);
  run_close(&r);
}

/* ---- sessions ----------------------------------------------------------- */

static void test_sessions(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[16], tok2[16], zero[16] = {0};
  test_config(&cfg);
  cfg.sessions_max = 2;
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "a"), 0);
  CHECK_EQ(signup(&r, 1, "bob", "b"), 0);
  CHECK_EQ(signup(&r, 1, "carol", "c"), 0);
  chorus_srv_request ka = req(CHORUS_SRV_OP_KEEPALIVE);
  CHECK_EQ(sess(&r, 1, zero, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  CHECK_EQ(chorus_server_deadline(r.s), UINT64_MAX);
  CHECK_EQ(login(&r, 1, "alice", "a", tok), 0);
  CHECK(memcmp(tok, zero, 16) != 0);
  CHECK_EQ(chorus_server_deadline(r.s), r.now + 30 * SEC);
  uint8_t forged[16];
  memcpy(forged, tok, 16);
  forged[15] ^= 1;
  CHECK_EQ(sess(&r, 1, forged, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  /* a request renews the lease */
  r.now += 20 * SEC;
  CHECK_EQ(sess(&r, 1, tok, &ka), CHORUS_SRV_OK);
  CHECK_EQ(r.resp.lease_ms, 30000);
  CHECK_EQ(chorus_server_deadline(r.s), r.now + 30 * SEC);
  /* a second login replaces the token */
  CHECK_EQ(login(&r, 2, "alice", "a", tok2), 0);
  CHECK(memcmp(tok, tok2, 16) != 0);
  CHECK_EQ(sess(&r, 1, tok, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  CHECK_EQ(sess(&r, 2, tok2, &ka), CHORUS_SRV_OK);
  /* the session limit */
  CHECK_EQ(login(&r, 3, "bob", "b", NULL), 0);
  CHECK_EQ(login(&r, 4, "carol", "c", NULL), CHORUS_SRV_TOO_MANY_SESSIONS);
  CHECK_EQ(r.resp.detail, 2);
  /* expiry: at the deadline the tick drops both sessions */
  r.now = chorus_server_deadline(r.s);
  chorus_server_tick(r.s, r.now);
  drain(&r);
  CHECK(has_event(&r, CHORUS_SERVER_EV_EXPIRED, "alice"));
  CHECK(has_event(&r, CHORUS_SERVER_EV_EXPIRED, "bob"));
  CHECK(!persisted(&r)); /* nobody was in a room */
  CHECK_EQ(sess(&r, 2, tok2, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  CHECK_EQ(login(&r, 4, "carol", "c", NULL), CHORUS_SRV_OK);
  /* logout */
  chorus_srv_request lo = req(CHORUS_SRV_OP_LOGOUT);
  CHECK_EQ(login(&r, 1, "alice", "a", tok), 0);
  CHECK_EQ(sess(&r, 1, tok, &lo), CHORUS_SRV_OK);
  CHECK(has_event(&r, CHORUS_SERVER_EV_LOGOUT, "alice"));
  CHECK_EQ(sess(&r, 1, tok, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  run_close(&r);
}

static void test_expiry_leaves_room(void) {
  chorus_server_config cfg;
  run r;
  uint8_t ta[16], tb[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "a"), 0);
  CHECK_EQ(signup(&r, 2, "bob", "b"), 0);
  CHECK_EQ(login(&r, 1, "alice", "a", ta), 0);
  CHECK_EQ(join(&r, 1, ta, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  r.now += 20 * SEC;
  CHECK_EQ(login(&r, 2, "bob", "b", tb), 0);
  CHECK_EQ(join(&r, 2, tb, "lobby", 0), 0);
  CHECK_EQ(r.resp.count, 2);
  r.now += 10 * SEC; /* alice's lease ends */
  chorus_server_tick(r.s, r.now);
  drain(&r);
  CHECK(has_event(&r, CHORUS_SERVER_EV_EXPIRED, "alice"));
  CHECK(has_event(&r, CHORUS_SERVER_EV_LEAVE, "alice"));
  CHECK(persisted(&r));
  chorus_srv_request q = req(CHORUS_SRV_OP_ROOM_MEMBERS);
  strcpy(q.room, "lobby");
  CHECK_EQ(sess(&r, 2, tb, &q), 0);
  CHECK_EQ(r.resp.count, 1);
  CHECK(strcmp(r.resp.members[0].name, "bob") == 0);
  run_close(&r);
}

/* ---- rooms -------------------------------------------------------------- */

static void test_rooms(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[12][16];
  char name[16];
  test_config(&cfg);
  cfg.rooms_max = 3;
  run_open(&r, &cfg);
  for (int i = 0; i < 12; i++) {
    snprintf(name, sizeof name, "user%02d", i);
    CHECK_EQ(signup(&r, (uint8_t)i, name, "pw"), 0);
    CHECK_EQ(login(&r, (uint8_t)i, name, "pw", tok[i]), 0);
  }
  chorus_srv_request q = req(CHORUS_SRV_OP_ROOM_CREATE);
  strcpy(q.room, "lobby");
  CHECK_EQ(sess(&r, 0, tok[0], &q), CHORUS_SRV_OK);
  CHECK(persist_before_response(&r));
  CHECK_EQ(sess(&r, 0, tok[0], &q), CHORUS_SRV_ROOM_EXISTS);
  strcpy(q.room, "no way");
  CHECK_EQ(sess(&r, 0, tok[0], &q), CHORUS_SRV_BAD_NAME);
  CHECK_EQ(join(&r, 0, tok[0], "nowhere", 0), CHORUS_SRV_NO_SUCH_ROOM);
  for (int i = 0; i < 10; i++) {
    CHECK_EQ(join(&r, (uint8_t)i, tok[i], "lobby", 0), CHORUS_SRV_OK);
    CHECK(persist_before_response(&r));
    CHECK_EQ(r.resp.count, i + 1);
  }
  /* the join answer: every member with its peer address, in join order */
  CHECK(strcmp(r.resp.room, "lobby") == 0);
  CHECK(strcmp(r.resp.members[0].name, "user00") == 0);
  CHECK(strcmp(r.resp.members[9].name, "user09") == 0);
  chorus_srv_addr a9 = addr(109);
  CHECK(chorus_srv_addr_equal(&r.resp.members[9].addr, &a9));
  CHECK_EQ(r.resp.members[9].flags, CHORUS_SRV_FLAG_ONLINE);
  /* the 11th */
  CHECK_EQ(join(&r, 10, tok[10], "lobby", 0), CHORUS_SRV_ROOM_FULL);
  CHECK_EQ(r.resp.detail, 10);
  CHECK(!persisted(&r));
  /* joining again is harmless */
  CHECK_EQ(join(&r, 3, tok[3], "lobby", 0), CHORUS_SRV_OK);
  CHECK(!persisted(&r));
  CHECK_EQ(r.resp.count, 10);
  /* joining another room leaves the first */
  CHECK_EQ(join(&r, 3, tok[3], "kitchen", CHORUS_SRV_JOIN_CREATE), CHORUS_SRV_OK);
  CHECK(has_event(&r, CHORUS_SERVER_EV_LEAVE, "user03"));
  CHECK(has_event(&r, CHORUS_SERVER_EV_ROOM_CREATE, "user03"));
  CHECK(has_event(&r, CHORUS_SERVER_EV_JOIN, "user03"));
  CHECK_EQ(r.resp.count, 1);
  CHECK_EQ(join(&r, 10, tok[10], "lobby", 0), CHORUS_SRV_OK);
  CHECK_EQ(r.resp.count, 10);
  /* leave */
  chorus_srv_request lv = req(CHORUS_SRV_OP_ROOM_LEAVE);
  CHECK_EQ(sess(&r, 11, tok[11], &lv), CHORUS_SRV_NOT_IN_ROOM);
  CHECK_EQ(sess(&r, 10, tok[10], &lv), CHORUS_SRV_OK);
  CHECK(persist_before_response(&r));
  /* list */
  chorus_srv_request ls = req(CHORUS_SRV_OP_ROOM_LIST);
  CHECK_EQ(sess(&r, 0, tok[0], &ls), CHORUS_SRV_OK);
  CHECK_EQ(r.resp.total, 2);
  CHECK_EQ(r.resp.count, 2);
  CHECK(strcmp(r.resp.entries[0].name, "kitchen") == 0);
  CHECK_EQ(r.resp.entries[0].value, 1);
  CHECK(strcmp(r.resp.entries[1].name, "lobby") == 0);
  CHECK_EQ(r.resp.entries[1].value, 9);
  ls.start = 1;
  CHECK_EQ(sess(&r, 0, tok[0], &ls), CHORUS_SRV_OK);
  CHECK_EQ(r.resp.count, 1);
  /* the room limit */
  strcpy(q.room, "attic");
  CHECK_EQ(sess(&r, 0, tok[0], &q), CHORUS_SRV_OK);
  strcpy(q.room, "cellar");
  CHECK_EQ(sess(&r, 0, tok[0], &q), CHORUS_SRV_TOO_MANY_ROOMS);
  CHECK_EQ(r.resp.detail, 3);
  CHECK_EQ(join(&r, 11, tok[11], "garden", CHORUS_SRV_JOIN_CREATE), CHORUS_SRV_TOO_MANY_ROOMS);
  /* every session op needs a session */
  uint8_t zero[16] = {0};
  CHECK_EQ(sess(&r, 0, zero, &ls), CHORUS_SRV_NOT_LOGGED_IN);
  run_close(&r);
}

static void test_set_addr(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "a"), 0);
  CHECK_EQ(login(&r, 1, "alice", "a", tok), 0);
  CHECK_EQ(join(&r, 1, tok, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  chorus_srv_request q = req(CHORUS_SRV_OP_SET_ADDR);
  q.addr = addr(200);
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK(persist_before_response(&r));
  CHECK_EQ(sess(&r, 1, tok, &q), 0); /* same address: nothing to persist */
  CHECK(!persisted(&r));
  CHECK_EQ(join(&r, 1, tok, "lobby", 0), 0);
  CHECK(chorus_srv_addr_equal(&r.resp.members[0].addr, &q.addr));
  run_close(&r);
}

/* ---- listing ------------------------------------------------------------ */

static void test_users(void) {
  chorus_server_config cfg;
  run r;
  uint8_t tok[16];
  char name[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  const char *names[] = {"carol", "alice", "bob", "alan"};
  for (int i = 0; i < 4; i++) CHECK_EQ(signup(&r, 1, names[i], "pw"), 0);
  CHECK_EQ(login(&r, 1, "bob", "pw", tok), 0);
  chorus_srv_request q = req(CHORUS_SRV_OP_USERS);
  strcpy(q.pattern, "*");
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.total, 4);
  CHECK(strcmp(r.resp.entries[0].name, "alan") == 0);
  CHECK(strcmp(r.resp.entries[1].name, "alice") == 0);
  CHECK(strcmp(r.resp.entries[2].name, "bob") == 0);
  CHECK_EQ(r.resp.entries[2].value, CHORUS_SRV_FLAG_ONLINE);
  CHECK_EQ(r.resp.entries[1].value, 0);
  CHECK(strcmp(r.resp.entries[3].name, "carol") == 0);
  strcpy(q.pattern, "a*");
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.total, 2);
  strcpy(q.pattern, "?ob");
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.total, 1);
  CHECK(strcmp(r.resp.entries[0].name, "bob") == 0);
  strcpy(q.pattern, "zz*");
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.total, 0);
  strcpy(q.pattern, "a b");
  CHECK_EQ(sess(&r, 1, tok, &q), CHORUS_SRV_BAD_PATTERN);
  /* paging over 40 matches */
  for (int i = 0; i < 36; i++) {
    snprintf(name, sizeof name, "u%02d", i);
    CHECK_EQ(signup(&r, 1, name, "pw"), 0);
  }
  strcpy(q.pattern, "*");
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.total, 40);
  CHECK_EQ(r.resp.count, CHORUS_SRV_PAGE_MAX);
  q.start = 32;
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.count, 8);
  CHECK(strcmp(r.resp.entries[7].name, "u35") == 0);
  q.start = 500;
  CHECK_EQ(sess(&r, 1, tok, &q), 0);
  CHECK_EQ(r.resp.count, 0);
  CHECK_EQ(r.resp.total, 40);
  run_close(&r);
}

/* ---- idempotency -------------------------------------------------------- */

static void test_duplicates(void) {
  chorus_server_config cfg;
  run r;
  test_config(&cfg);
  run_open(&r, &cfg);
  chorus_srv_request q = req(CHORUS_SRV_OP_SIGNUP);
  strcpy(q.user, "alice");
  set_pw(&q, "pw");
  q.rid = 99;
  uint8_t b[CHORUS_SRV_DATAGRAM_BYTES_MAX], first[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  int n = chorus_srv_request_encode(b, sizeof b, &q);
  chorus_srv_addr a1 = addr(1), a2 = addr(2);
  CHECK_EQ(send_raw(&r, &a1, b, (size_t)n), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_OK);
  memcpy(first, r.resp_bytes, r.resp_len);
  size_t first_len = r.resp_len;
  /* a retransmission: the same bytes back, not executed again */
  CHECK_EQ(send_raw(&r, &a1, b, (size_t)n), 0);
  CHECK_EQ(r.resp_len, first_len);
  CHECK(memcmp(first, r.resp_bytes, first_len) == 0);
  CHECK(!persisted(&r));
  CHECK(chorus_srv_addr_equal(&r.resp_to, &a1));
  /* from another address it is a new request */
  CHECK_EQ(send_raw(&r, &a2, b, (size_t)n), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_NAME_TAKEN);
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.requests, 2);
  CHECK_EQ(st.duplicates, 1);
  run_close(&r);
}

static void test_cache_limits(void) {
  chorus_server_config cfg;
  run r;
  test_config(&cfg);
  cfg.cache_entries = 10;
  run_open(&r, &cfg);
  uint8_t b[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  chorus_srv_request q = req(CHORUS_SRV_OP_KEEPALIVE);
  chorus_srv_addr a1 = addr(1);
  /* one address keeps at most CHORUS_SERVER_CACHE_PER_ADDR: never BUSY */
  for (uint32_t i = 0; i < 30; i++) {
    q.rid = i;
    int n = chorus_srv_request_encode(b, sizeof b, &q);
    CHECK_EQ(send_raw(&r, &a1, b, (size_t)n), 0);
    CHECK_EQ(r.resp.status, CHORUS_SRV_NOT_LOGGED_IN);
  }
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.cache_used, CHORUS_SERVER_CACHE_PER_ADDR);
  /* the oldest of the address was evicted: rid 29 still cached, rid 0 not */
  q.rid = 29;
  int n = chorus_srv_request_encode(b, sizeof b, &q);
  CHECK_EQ(send_raw(&r, &a1, b, (size_t)n), 0);
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.duplicates, 1);
  /* other addresses fill the cache; then BUSY until the TTL passes */
  for (uint8_t k = 2; k < 4; k++) {
    q.rid = 1000 + k;
    n = chorus_srv_request_encode(b, sizeof b, &q);
    chorus_srv_addr ak = addr(k);
    CHECK_EQ(send_raw(&r, &ak, b, (size_t)n), 0);
    CHECK_EQ(r.resp.status, CHORUS_SRV_NOT_LOGGED_IN);
  }
  chorus_srv_addr a9 = addr(9);
  CHECK_EQ(send_raw(&r, &a9, b, (size_t)n), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_BUSY);
  CHECK_EQ(r.resp.detail, 60000);
  r.now += 60 * SEC;
  CHECK_EQ(send_raw(&r, &a9, b, (size_t)n), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_NOT_LOGGED_IN);
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.busy, 1);
  run_close(&r);
}

/* ---- persistence -------------------------------------------------------- */

static void test_snapshot_round_trip(void) {
  chorus_server_config cfg;
  run r, r2;
  uint8_t ta[16], tb[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "pa"), 0);
  CHECK_EQ(signup(&r, 2, "bob", "pb"), 0);
  CHECK_EQ(signup(&r, 3, "carol", "pc"), 0);
  CHECK_EQ(login(&r, 1, "alice", "pa", ta), 0);
  CHECK_EQ(login(&r, 2, "bob", "pb", tb), 0);
  CHECK_EQ(join(&r, 2, tb, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  CHECK_EQ(join(&r, 1, ta, "lobby", 0), 0);
  chorus_srv_request q = req(CHORUS_SRV_OP_ROOM_CREATE);
  strcpy(q.room, "empty");
  CHECK_EQ(sess(&r, 1, ta, &q), 0);
  uint64_t seq = r.snap_seq;
  CHECK(seq >= 6);
  /* the last snapshot is the state: encode gives the same bytes */
  uint8_t *again = malloc(r.cap);
  CHECK_EQ(chorus_server_snapshot_encode(r.s, again, r.cap), (int)r.snap_len);
  CHECK(memcmp(again, r.snap, r.snap_len) == 0);

  run_open(&r2, &cfg);
  r2.now = 5 * SEC;
  const char *why = NULL;
  CHECK_EQ(chorus_server_load(r2.s, r2.now, r.snap, r.snap_len, &why), 0);
  CHECK_EQ(chorus_server_snapshot_encode(r2.s, again, r2.cap), (int)r.snap_len);
  CHECK(memcmp(again, r.snap, r.snap_len) == 0);
  CHECK_EQ(chorus_server_load(r2.s, r2.now, r.snap, r.snap_len, &why), CHORUS_ERR_INVAL);
  /* passwords, rooms and members survive; sessions do not */
  CHECK_EQ(login(&r2, 3, "carol", "pc", NULL), 0);
  CHECK_EQ(login(&r2, 3, "carol", "bad", NULL), CHORUS_SRV_WRONG_PASSWORD);
  chorus_srv_request ka = req(CHORUS_SRV_OP_KEEPALIVE);
  CHECK_EQ(sess(&r2, 1, ta, &ka), CHORUS_SRV_NOT_LOGGED_IN);
  CHECK_EQ(login(&r2, 1, "alice", "pa", ta), 0);
  CHECK(strcmp(r2.resp.room, "lobby") == 0); /* still in her room */
  chorus_srv_request mq = req(CHORUS_SRV_OP_ROOM_MEMBERS);
  strcpy(mq.room, "lobby");
  CHECK_EQ(sess(&r2, 1, ta, &mq), 0);
  CHECK_EQ(r2.resp.count, 2);
  CHECK(strcmp(r2.resp.members[0].name, "bob") == 0);
  CHECK_EQ(r2.resp.members[0].flags, 0); /* restored, not back yet */
  chorus_srv_addr a102 = addr(102);
  CHECK(chorus_srv_addr_equal(&r2.resp.members[0].addr, &a102));
  CHECK_EQ(r2.resp.members[1].flags, CHORUS_SRV_FLAG_ONLINE);
  /* bob does not come back within a lease: his place is given up */
  CHECK_EQ(chorus_server_deadline(r2.s), 5 * SEC + 30 * SEC);
  r2.now = 20 * SEC;
  CHECK_EQ(sess(&r2, 1, ta, &ka), 0);
  CHECK_EQ(chorus_server_deadline(r2.s), 35 * SEC);
  r2.now = 35 * SEC;
  chorus_server_tick(r2.s, r2.now);
  drain(&r2);
  CHECK(has_event(&r2, CHORUS_SERVER_EV_LEAVE, "bob"));
  CHECK(persisted(&r2));
  CHECK(r2.snap_seq > seq); /* numbering continues */
  CHECK_EQ(sess(&r2, 1, ta, &mq), 0);
  CHECK_EQ(r2.resp.count, 1);
  free(again);
  run_close(&r);
  run_close(&r2);
}

static void test_signup_replay_after_restart(void) {
  chorus_server_config cfg;
  run r, r2;
  test_config(&cfg);
  run_open(&r, &cfg);
  chorus_srv_request q = req(CHORUS_SRV_OP_SIGNUP);
  strcpy(q.user, "alice");
  set_pw(&q, "pw");
  q.rid = 4242;
  uint8_t b[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  int n = chorus_srv_request_encode(b, sizeof b, &q);
  chorus_srv_addr a1 = addr(1), a2 = addr(2);
  CHECK_EQ(send_raw(&r, &a1, b, (size_t)n), 0);
  CHECK_EQ(r.resp.status, 0);
  /* the response was lost, the server restarted: the retransmission is
   * still answered OK */
  run_open(&r2, &cfg);
  CHECK_EQ(chorus_server_load(r2.s, r2.now, r.snap, r.snap_len, NULL), 0);
  CHECK_EQ(send_raw(&r2, &a1, b, (size_t)n), 0);
  CHECK_EQ(r2.resp.status, CHORUS_SRV_OK);
  CHECK(!persisted(&r2));
  CHECK_EQ(send_raw(&r2, &a2, b, (size_t)n), 0);
  CHECK_EQ(r2.resp.status, CHORUS_SRV_NAME_TAKEN);
  set_pw(&q, "other");
  n = chorus_srv_request_encode(b, sizeof b, &q);
  CHECK_EQ(send_raw(&r2, &a1, b, (size_t)n), 0);
  CHECK_EQ(r2.resp.status, CHORUS_SRV_NAME_TAKEN);
  run_close(&r);
  run_close(&r2);
}

/* A small snapshot to corrupt. */
static size_t small_snapshot(uint8_t *out, size_t cap) {
  chorus_server_config cfg;
  run r;
  uint8_t t[16];
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "alice", "pa"), 0);
  CHECK_EQ(signup(&r, 2, "bob", "pb"), 0);
  CHECK_EQ(login(&r, 1, "alice", "pa", t), 0);
  CHECK_EQ(join(&r, 1, t, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  size_t n = r.snap_len <= cap ? r.snap_len : 0;
  memcpy(out, r.snap, n);
  run_close(&r);
  return n;
}

static int load_into_fresh(const uint8_t *d, size_t n, size_t accounts_max, const char **why) {
  chorus_server_config cfg;
  chorus_server *s;
  test_config(&cfg);
  cfg.accounts_max = accounts_max;
  cfg.sessions_max = accounts_max;
  CHECK_EQ(chorus_server_new(&cfg, &s), 0);
  int rc = chorus_server_load(s, 0, d, n, why);
  chorus_server_free(s);
  return rc;
}

static void test_snapshot_corruption(void) {
  uint8_t snap[2048], bad[2048];
  const char *why = NULL;
  size_t n = small_snapshot(snap, sizeof snap);
  CHECK(n > 60);
  CHECK_EQ(load_into_fresh(snap, n, 16, &why), 0);
  /* every single-bit flip is refused */
  int refused = 0;
  for (size_t i = 0; i < n; i++) {
    memcpy(bad, snap, n);
    bad[i] ^= 0x10;
    if (load_into_fresh(bad, n, 16, &why) < 0 && why != NULL) refused++;
  }
  CHECK_EQ(refused, (int)n);
  /* every truncation is refused as such */
  for (size_t k = 0; k < n; k++) {
    int rc = load_into_fresh(snap, k, 16, &why);
    CHECK(rc == CHORUS_ERR_TRUNCATED || (k == 0 && rc == CHORUS_ERR_TRUNCATED));
  }
  memcpy(bad, snap, n);
  bad[0] = 'X';
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_MAGIC);
  memcpy(bad, snap, n);
  bad[5] = CHORUS_SERVER_SNAPSHOT_VERSION + 1;
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_VERSION);
  memcpy(bad, snap, n);
  bad[40] ^= 1;
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "checksum") != NULL);
  memcpy(bad, snap, n);
  bad[n] = 0;
  CHECK_EQ(load_into_fresh(bad, n + 1, 16, &why), CHORUS_ERR_BAD_FRAME);
  /* valid, but above this server's limits */
  CHECK_EQ(load_into_fresh(snap, n, 1, &why), CHORUS_ERR_CONFIG);
  CHECK(strstr(why, "more accounts") != NULL);
}


/* A member keeps its seat while in the room; a leaver's seat goes to the
 * next joiner; seats survive a snapshot. */
static void test_room_seats(void) {
  chorus_server_config cfg;
  run r;
  uint8_t t[3][16];
  const char *names[3] = {"ann", "ben", "cat"};
  test_config(&cfg);
  run_open(&r, &cfg);
  for (uint8_t i = 0; i < 3; i++) {
    CHECK_EQ(signup(&r, (uint8_t)(1 + i), names[i], "pw"), 0);
    CHECK_EQ(login(&r, (uint8_t)(1 + i), names[i], "pw", t[i]), 0);
    CHECK_EQ(join(&r, (uint8_t)(1 + i), t[i], "lobby", CHORUS_SRV_JOIN_CREATE), 0);
    CHECK_EQ(r.resp.count, i + 1);
    CHECK_EQ(r.resp.members[i].seat, i);
  }
  chorus_srv_request q = req(CHORUS_SRV_OP_ROOM_LEAVE);
  CHECK_EQ(sess(&r, 1, t[0], &q), 0); /* ann leaves seat 0 */
  CHECK_EQ(signup(&r, 4, "dan", "pw"), 0);
  uint8_t td[16];
  CHECK_EQ(login(&r, 4, "dan", "pw", td), 0);
  CHECK_EQ(join(&r, 4, td, "lobby", 0), 0);
  CHECK_EQ(r.resp.count, 3);
  const uint8_t want[3] = {1, 2, 0}; /* ben, cat, dan (join order) */
  for (size_t i = 0; i < 3; i++) CHECK_EQ(r.resp.members[i].seat, want[i]);
  const char *why = NULL;
  CHECK_EQ(load_into_fresh(r.snap, r.snap_len, 16, &why), 0);
  chorus_server *s2;
  CHECK_EQ(chorus_server_new(&cfg, &s2), 0);
  CHECK_EQ(chorus_server_load(s2, 0, r.snap, r.snap_len, &why), 0);
  uint8_t snap2[1024];
  int n2 = chorus_server_snapshot_encode(s2, snap2, sizeof snap2);
  CHECK_EQ(n2, (int)r.snap_len); /* seats and all, byte for byte */
  CHECK(n2 > 0 && memcmp(snap2, r.snap, (size_t)n2) == 0);
  chorus_server_free(s2);
  run_close(&r);
}

/* Re-sign an edited snapshot, so only its content is wrong. */
static void resign(uint8_t *snap, size_t len) {
  CHECK_EQ(chorus_sha256(snap, len - 32, snap + len - 32), 0);
}

/* Well-formed, correctly signed snapshots whose content breaks a rule. */
static void test_snapshot_semantics(void) {
  chorus_server_config cfg;
  run r;
  uint8_t t[16], snap[1024], bad[1024];
  const char *why = NULL;
  test_config(&cfg);
  run_open(&r, &cfg);
  CHECK_EQ(signup(&r, 1, "aaa", "pw"), 0);
  CHECK_EQ(signup(&r, 1, "bbb", "pw"), 0);
  CHECK_EQ(login(&r, 1, "aaa", "pw", t), 0);
  CHECK_EQ(join(&r, 1, t, "lobby", CHORUS_SRV_JOIN_CREATE), 0);
  size_t n = r.snap_len;
  memcpy(snap, r.snap, n);
  run_close(&r);
  /* aaa: name 4, salt 16, hash 32, iterations 4, creator 8, rid 4, peer 8
   * = 76 bytes at 28; bbb (no peer address) 69 bytes at 104; the room at
   * 173: "lobby" 6, n 1, seat 1, "aaa" 4; then the checksum */
  CHECK_EQ(n, 173 + 12 + 32);
  CHECK_EQ(load_into_fresh(snap, n, 16, &why), 0);
  memcpy(bad, snap, n);
  memcpy(bad + 105, "A", 1); /* bbb -> Abb, below aaa: out of order */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "out of order") != NULL);
  memcpy(bad, snap, n);
  memcpy(bad + 105, "aaa", 3); /* a duplicate */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "duplicated") != NULL);
  memcpy(bad, snap, n);
  memcpy(bad + 105, "b b", 3); /* not a name */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "bad account name") != NULL);
  memcpy(bad, snap, n);
  memset(bad + 28 + 52, 0, 4); /* iterations 0 */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "iteration count") != NULL);
  memcpy(bad, snap, n);
  memcpy(bad + 182, "ccc", 3); /* a member without an account */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "not an account") != NULL);
  memcpy(bad, snap, n);
  bad[180] = 10; /* seat 10 of 0..9 */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "seat out of range") != NULL);
  memcpy(bad, snap, n);
  bad[179] = 11; /* 11 members */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "more than 10") != NULL);
  memcpy(bad, snap, n);
  bad[179] = 2; /* a second member that is not there */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "past the end") != NULL);
  memcpy(bad, snap, n);
  bad[7] = 1; /* unknown flags */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "flags") != NULL);
  memcpy(bad, snap, n);
  bad[27] = 0; /* no rooms: bytes are left over */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "after the last room") != NULL);
  /* a room bigger than this server's room_members_max */
  chorus_server *s;
  test_config(&cfg);
  cfg.room_members_max = 1;
  memcpy(bad, snap, n);
  bad[179] = 2;
  memcpy(bad + n - 32, "\000\003" "bbb", 5); /* bbb in aaa's seat 0 */
  n += 5;
  resign(bad, n);
  bad[16 + 3] = (uint8_t)n; /* length field */
  resign(bad, n);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), CHORUS_ERR_BAD_FRAME);
  CHECK(strstr(why, "two room members in one seat") != NULL);
  bad[n - 32 - 5] = 1; /* seat 1 */
  resign(bad, n);
  bad[16 + 3] = (uint8_t)n; /* length field */
  resign(bad, n);
  CHECK_EQ(chorus_server_new(&cfg, &s), 0);
  CHECK_EQ(chorus_server_load(s, 0, bad, n, &why), CHORUS_ERR_CONFIG);
  CHECK(strstr(why, "more members than this server allows") != NULL);
  chorus_server_free(s);
  CHECK_EQ(load_into_fresh(bad, n, 16, &why), 0);
}

/* ---- bad input and limits ----------------------------------------------- */

static void test_bad_datagrams(void) {
  chorus_server_config cfg;
  run r;
  test_config(&cfg);
  run_open(&r, &cfg);
  chorus_srv_addr a = addr(1);
  uint8_t b[1300];
  memset(b, 0, sizeof b);
  memcpy(b, "hello world, not chorus", 23);
  CHECK_EQ(send_raw(&r, &a, b, 23), CHORUS_ERR_BAD_MAGIC);
  CHECK_EQ(r.nk, 0);
  memset(b, 0, sizeof b);
  memcpy(b, "CS\x01", 3);
  CHECK_EQ(send_raw(&r, &a, b, 1201), CHORUS_ERR_TOO_BIG);
  CHECK_EQ(send_raw(&r, &a, b, 5), CHORUS_ERR_TRUNCATED);
  CHECK_EQ(r.nk, 0);
  /* another version: answered, in our version, with the version we speak */
  b[2] = 2;
  b[3] = CHORUS_SRV_OP_LOGIN;
  b[7] = 9;
  CHECK_EQ(send_raw(&r, &a, b, 40), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_BAD_VERSION);
  CHECK_EQ(r.resp.detail, CHORUS_SRV_VERSION);
  CHECK_EQ(r.resp.rid, 9);
  /* truncated request, unknown op, a response datagram */
  b[2] = 1;
  CHECK_EQ(send_raw(&r, &a, b, 12), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_BAD_REQUEST);
  b[3] = 0x55;
  CHECK_EQ(send_raw(&r, &a, b, 24), 0);
  CHECK_EQ(r.resp.status, CHORUS_SRV_UNKNOWN_OP);
  CHECK_EQ(r.resp.op, 0x55);
  b[3] = 0x82;
  CHECK_EQ(send_raw(&r, &a, b, 24), CHORUS_ERR_BAD_FRAME);
  CHECK_EQ(r.nk, 0);
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.rx_bad_magic, 1);
  CHECK_EQ(st.rx_too_big, 1);
  CHECK_EQ(st.rx_truncated, 2);
  CHECK_EQ(st.rx_bad_version, 1);
  CHECK_EQ(st.rx_bad_frame, 2);
  CHECK_EQ(st.requests, 0);
  /* NULL and oversized addresses */
  chorus_srv_addr big = a;
  big.len = 29;
  CHECK_EQ(chorus_server_recv(r.s, r.now, &big, b, 24), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_server_recv(r.s, r.now, NULL, b, 24), CHORUS_ERR_INVAL);
  run_close(&r);
}

static void test_queue_full(void) {
  chorus_server_config cfg;
  run r;
  test_config(&cfg);
  run_open(&r, &cfg);
  chorus_srv_request q = req(CHORUS_SRV_OP_KEEPALIVE);
  uint8_t b[64];
  chorus_srv_addr a = addr(1);
  int full = 0, accepted = 0;
  for (uint32_t i = 0; i < 40; i++) {
    q.rid = i;
    int n = chorus_srv_request_encode(b, sizeof b, &q);
    int rc = chorus_server_recv(r.s, r.now, &a, b, (size_t)n);
    if (rc == CHORUS_ERR_QUEUE_FULL) full++;
    else if (rc == 0) accepted++;
  }
  CHECK_EQ(accepted, CHORUS_SERVER_OUTQ_MAX - CHORUS_SERVER_OUT_PER_INPUT + 1);
  CHECK_EQ(full, 40 - accepted);
  chorus_server_stats st;
  chorus_server_stats_get(r.s, &st);
  CHECK_EQ(st.queue_full, (uint64_t)full);
  drain(&r);
  CHECK_EQ(r.nk, (size_t)accepted);
  run_close(&r);
}

static void test_config_limits(void) {
  chorus_server_config cfg;
  chorus_server *s = NULL;
  chorus_server_config_default(&cfg);
  CHECK_EQ(cfg.iterations, 600000);
  CHECK_EQ(chorus_server_new(NULL, &s), CHORUS_ERR_INVAL);
  cfg.accounts_max = 0;
  CHECK_EQ(chorus_server_new(&cfg, &s), CHORUS_ERR_CONFIG);
  chorus_server_config_default(&cfg);
  cfg.sessions_max = cfg.accounts_max + 1;
  CHECK_EQ(chorus_server_new(&cfg, &s), CHORUS_ERR_CONFIG);
  chorus_server_config_default(&cfg);
  cfg.room_members_max = CHORUS_MEMBERS_MAX + 1;
  CHECK_EQ(chorus_server_new(&cfg, &s), CHORUS_ERR_CONFIG);
  chorus_server_config_default(&cfg);
  cfg.iterations = 0;
  CHECK_EQ(chorus_server_new(&cfg, &s), CHORUS_ERR_CONFIG);
  chorus_server_config_default(&cfg);
  cfg.lease_us = 0;
  CHECK_EQ(chorus_server_new(&cfg, &s), CHORUS_ERR_CONFIG);
  chorus_server_config_default(&cfg);
  CHECK_EQ(chorus_server_new(&cfg, &s), 0);
  /* the poll buffer holds the largest snapshot */
  CHECK(chorus_server_poll_bytes_min(s) >= 1024 * 100);
  uint8_t small[100];
  chorus_server_output o;
  CHECK_EQ(chorus_server_poll(s, &o, small, sizeof small), 0);
  CHECK_EQ(o.kind, CHORUS_SERVER_OUT_NONE);
  chorus_server_free(s);
  chorus_server_free(NULL);
  CHECK(strcmp(chorus_server_event_name(CHORUS_SERVER_EV_JOIN), "join") == 0);
  CHECK(strcmp(chorus_server_event_name(99), "unknown") == 0);
}

static void test_determinism_and_entropy(void) {
  chorus_server_config cfg;
  run a, b, c;
  uint8_t ta[16], tb[16], tc[16];
  test_config(&cfg);
  run_open(&a, &cfg);
  run_open(&b, &cfg);
  run_open(&c, &cfg);
  CHECK_EQ(chorus_server_entropy(c.s, (const uint8_t *)"fresh", 5), 0);
  run *all[3] = {&a, &b, &c};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(signup(all[i], 1, "alice", "pw"), 0);
    CHECK_EQ(signup(all[i], 1, "bob", "pw"), 0);
  }
  CHECK_EQ(login(&a, 1, "alice", "pw", ta), 0);
  CHECK_EQ(login(&b, 1, "alice", "pw", tb), 0);
  CHECK_EQ(login(&c, 1, "alice", "pw", tc), 0);
  CHECK(memcmp(ta, tb, 16) == 0); /* same seed, same inputs */
  CHECK(memcmp(ta, tc, 16) != 0); /* entropy changes the stream */
  CHECK_EQ(a.snap_len, b.snap_len);
  CHECK(memcmp(a.snap, b.snap, a.snap_len) == 0);
  /* every account has its own salt: same password, different hashes */
  /* alice's record: name 1+5, salt 16, hash 32, iterations 4, creator
   * 1+7, rid 4, peer address 1+7 = 78 bytes; bob's salt follows his name */
  CHECK(memcmp(a.snap + 28 + 6, a.snap + 28 + 78 + 4, 16) != 0);
  CHECK(memcmp(a.snap + 28 + 6 + 16, a.snap + 28 + 78 + 4 + 16, 32) != 0);
  run_close(&a);
  run_close(&b);
  run_close(&c);
}

/* ---- cluster file ------------------------------------------------------- */

static int parse(const char *text, chorus_cluster *c, chorus_cluster_error *e) {
  return chorus_cluster_parse((const uint8_t *)text, strlen(text), c, e);
}

static void test_cluster_ok(void) {
  chorus_cluster c;
  chorus_cluster_error e;
  const char *text =
      "# id host client peer priority\n"
      "s1 127.0.0.1 7700 7800 30\r\n"
      "\n"
      "   s2\t::1  7701 7801 20   # trailing comment\n"
      "s3 [fe80::1%eth0] 7702 7802 10\n"
      "s4 host-4.example 7700 7800 0";
  CHECK_EQ(parse(text, &c, &e), 0);
  CHECK_EQ(c.count, 4);
  CHECK(strcmp(c.replicas[1].id, "s2") == 0);
  CHECK(strcmp(c.replicas[1].host, "::1") == 0);
  CHECK_EQ(c.replicas[1].client_port, 7701);
  CHECK_EQ(c.replicas[1].peer_port, 7801);
  CHECK_EQ(c.replicas[1].priority, 20);
  CHECK_EQ(c.replicas[1].line, 4);
  CHECK(strcmp(c.replicas[2].host, "[fe80::1%eth0]") == 0);
  CHECK_EQ(chorus_cluster_find(&c, "s3"), 2);
  CHECK_EQ(chorus_cluster_find(&c, "s9"), -1);
  CHECK_EQ(parse("a 1.2.3.4 1 65535 4294967295\n", &c, &e), 0);
  CHECK_EQ(c.replicas[0].priority, 4294967295u);
}

static void expect_err(const char *text, int rc, size_t line, const char *why_part) {
  chorus_cluster c;
  chorus_cluster_error e;
  CHECK_EQ(parse(text, &c, &e), rc);
  CHECK_EQ(e.line, line);
  CHECK(e.why != NULL && strstr(e.why, why_part) != NULL);
  CHECK_EQ(c.count, 0);
}

static void test_cluster_errors(void) {
  expect_err("", CHORUS_ERR_CONFIG, 0, "no replica");
  expect_err("# only a comment\n\n", CHORUS_ERR_CONFIG, 0, "no replica");
  expect_err("s1 h 1 2\n", CHORUS_ERR_BAD_FRAME, 1, "expected 5 fields");
  expect_err("\ns1 h 1 2 3 4\n", CHORUS_ERR_BAD_FRAME, 2, "expected 5 fields");
  expect_err("s!1 h 1 2 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad ID");
  expect_err("s1 h/x 1 2 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad HOST");
  expect_err("s1 [::1 1 2 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad HOST");
  expect_err("s1 h 0 2 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad CLIENT_PORT");
  expect_err("s1 h 65536 2 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad CLIENT_PORT");
  expect_err("s1 h 1 http 3\n", CHORUS_ERR_BAD_FRAME, 1, "bad PEER_PORT");
  expect_err("s1 h 1 2 -3\n", CHORUS_ERR_BAD_FRAME, 1, "bad PRIORITY");
  expect_err("s1 h 1 2 4294967296\n", CHORUS_ERR_BAD_FRAME, 1, "bad PRIORITY");
  expect_err("s1 h 5 5 3\n", CHORUS_ERR_BAD_FRAME, 1, "are the same");
  expect_err("s1 h 1 2 3\ns1 g 1 2 4\n", CHORUS_ERR_BAD_FRAME, 2, "duplicate ID");
  expect_err("s1 h 1 2 3\ns2 g 1 2 3\n", CHORUS_ERR_BAD_FRAME, 2, "duplicate PRIORITY");
  expect_err("s1 h 1 2 3\ns2 h 2 4 4\n", CHORUS_ERR_BAD_FRAME, 2, "duplicate address");
  chorus_cluster c;
  chorus_cluster_error e;
  const uint8_t nul[] = "s1 h 1 2\0 3\n";
  CHECK_EQ(chorus_cluster_parse(nul, sizeof nul - 1, &c, &e), CHORUS_ERR_BAD_FRAME);
  CHECK_EQ(e.line, 1);
  CHECK(strstr(e.why, "NUL") != NULL);
  const uint8_t esc[] = "s1 h 1 2 3\ns2 h\x1b 3 4 5\n";
  CHECK_EQ(chorus_cluster_parse(esc, sizeof esc - 1, &c, &e), CHORUS_ERR_BAD_FRAME);
  CHECK_EQ(e.line, 2);
  /* the offending field is reported, and the line of the first one */
  CHECK_EQ(parse("a h 1 2 3\nb g 3 4 5\nb f 5 6 7\n", &c, &e), CHORUS_ERR_BAD_FRAME);
  CHECK(strcmp(e.field, "b") == 0);
  CHECK_EQ(e.other_line, 2);
  char many[1024] = "";
  for (int i = 0; i < 10; i++) {
    char line[64];
    snprintf(line, sizeof line, "s%d h %d %d %d\n", i, 100 + 2 * i, 101 + 2 * i, i);
    strcat(many, line);
  }
  CHECK_EQ(parse(many, &c, &e), CHORUS_ERR_CONFIG);
  CHECK_EQ(e.line, 10);
  static char longline[2000];
  memset(longline, ' ', sizeof longline - 1);
  CHECK_EQ(parse(longline, &c, &e), CHORUS_ERR_TOO_BIG);
  CHECK_EQ(e.line, 1);
  CHECK_EQ(chorus_cluster_parse(NULL, 0, &c, &e), CHORUS_ERR_CONFIG);
  CHECK_EQ(chorus_cluster_parse(NULL, 5, &c, &e), CHORUS_ERR_INVAL);
}

int main(void) {
  RUN(test_signup);
  RUN(test_login_and_lockout);
  RUN(test_delete);
  RUN(test_sessions);
  RUN(test_expiry_leaves_room);
  RUN(test_rooms);
  RUN(test_set_addr);
  RUN(test_room_seats);
  RUN(test_users);
  RUN(test_duplicates);
  RUN(test_cache_limits);
  RUN(test_snapshot_round_trip);
  RUN(test_signup_replay_after_restart);
  RUN(test_snapshot_corruption);
  RUN(test_snapshot_semantics);
  RUN(test_bad_datagrams);
  RUN(test_queue_full);
  RUN(test_config_limits);
  RUN(test_determinism_and_entropy);
  RUN(test_cluster_ok);
  RUN(test_cluster_errors);
  return CHECK_SUMMARY();
}
