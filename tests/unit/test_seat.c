/*
 * core/seat: every state transition of a peer's standing with the server,
 * driven by hand-made answers: login (signing up first when the server
 * does not know the name), joining a room and its seat, refreshes and
 * pokes, the server forgetting the session or the seat (re-registration,
 * the same seat or a move), no server answering, refusals, transient
 * statuses, and leaving the room.
 */
#include "check.h"
#include "seat.h"

#define REFRESH_US 1000000ull
static const uint8_t PW[] = "pw";

static void seat_new(chorus_seat *s, const char *user) {
  chorus_srv_addr a = {1, {7}};
  chorus_seat_config c = {user, PW, sizeof PW - 1, a, REFRESH_US};
  CHECK_EQ(chorus_seat_init(s, &c), CHORUS_OK);
}

/* The request due at now_us: its op, or 0 if none is due. */
static int next_op(chorus_seat *s, uint64_t now_us, chorus_srv_request *q) {
  return chorus_seat_next(s, now_us, q) ? q->op : 0;
}

/* A member list: `names[k]` in seat `seats[k]`. */
static chorus_srv_response members(const char *const *names, const uint8_t *seats,
                                   size_t n) {
  chorus_srv_response r;
  memset(&r, 0, sizeof r);
  r.status = CHORUS_SRV_OK;
  r.count = (uint8_t)n;
  for (size_t k = 0; k < n; k++) {
    snprintf(r.members[k].name, sizeof r.members[k].name, "%s", names[k]);
    r.members[k].seat = seats[k];
  }
  return r;
}

static chorus_srv_response ok(void) {
  chorus_srv_response r;
  memset(&r, 0, sizeof r);
  r.status = CHORUS_SRV_OK;
  return r;
}

/* Logged in (with a token) and seated in seat `seat` of "room" with "bob"
 * in seat 0 (unless seat is 0). Returns the time reached. */
static uint64_t seated(chorus_seat *s, uint8_t seat) {
  chorus_srv_request q;
  chorus_srv_response r = ok();
  r.token[0] = 0xAB;
  CHECK_EQ(chorus_seat_enter(s, 0, "room"), CHORUS_OK);
  CHECK_EQ(next_op(s, 0, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(s, 1, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
  CHECK_EQ(next_op(s, 1, &q), CHORUS_SRV_OP_ROOM_JOIN);
  CHECK_EQ(q.token[0], 0xAB);
  const char *names[] = {"alice", "bob"};
  uint8_t seats[] = {seat, 0};
  chorus_srv_response m = members(names, seats, seat ? 2 : 1);
  CHECK_EQ(chorus_seat_answer(s, 2, CHORUS_SRV_OK, &m),
           CHORUS_SEAT_EV_SEATED | CHORUS_SEAT_EV_ROSTER);
  return 2;
}

static void test_init_refuses_bad_config(void) {
  chorus_seat s;
  chorus_srv_addr a = {0, {0}};
  chorus_seat_config c = {"alice", PW, sizeof PW - 1, a, REFRESH_US};
  CHECK_EQ(chorus_seat_init(&s, &c), CHORUS_OK);
  c.user = "bad name";
  CHECK_EQ(chorus_seat_init(&s, &c), CHORUS_ERR_INVAL);
  c.user = "alice";
  c.password_len = 0;
  CHECK_EQ(chorus_seat_init(&s, &c), CHORUS_ERR_INVAL);
  c.password_len = CHORUS_SRV_PASSWORD_BYTES_MAX + 1;
  CHECK_EQ(chorus_seat_init(&s, &c), CHORUS_ERR_INVAL);
  c.password_len = sizeof PW - 1;
  c.refresh_us = 0;
  CHECK_EQ(chorus_seat_init(&s, &c), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_seat_init(NULL, &c), CHORUS_ERR_INVAL);
  seat_new(&s, "alice");
  CHECK_EQ(chorus_seat_enter(&s, 0, "no room!"), CHORUS_ERR_INVAL);
}

/* LOGIN, answered UNKNOWN_USER: SIGNUP, then LOGIN again; no room wanted:
 * nothing more to ask. */
static void test_signup_then_login(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  CHECK_EQ(chorus_seat_deadline(&s), 0);
  CHECK_EQ(next_op(&s, 0, &q), CHORUS_SRV_OP_LOGIN);
  CHECK(strcmp(q.user, "alice") == 0);
  CHECK_EQ(q.password_len, sizeof PW - 1);
  CHECK_EQ(q.addr.len, 1);
  CHECK_EQ(next_op(&s, 0, &q), 0); /* one request at a time */
  CHECK_EQ(chorus_seat_deadline(&s), UINT64_MAX);
  CHECK_EQ(chorus_seat_answer(&s, 5, CHORUS_SRV_UNKNOWN_USER, NULL), 0);
  CHECK_EQ(next_op(&s, 5, &q), CHORUS_SRV_OP_SIGNUP);
  CHECK_EQ(q.addr.len, 0); /* SIGNUP carries no address */
  chorus_srv_response r = ok();
  CHECK_EQ(chorus_seat_answer(&s, 6, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_SIGNED_UP);
  CHECK_EQ(next_op(&s, 6, &q), CHORUS_SRV_OP_LOGIN);
  r.token[3] = 9;
  CHECK_EQ(chorus_seat_answer(&s, 7, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
  CHECK(chorus_seat_logged_in(&s));
  CHECK(!chorus_seat_seated(&s));
  CHECK_EQ(next_op(&s, 7, &q), 0);
  CHECK_EQ(chorus_seat_deadline(&s), UINT64_MAX);
  /* A SIGNUP whose name is taken (by us, before a lost answer): LOGIN. */
  chorus_seat_relogin(&s, 8);
  CHECK(!chorus_seat_logged_in(&s));
  CHECK_EQ(next_op(&s, 8, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(&s, 9, CHORUS_SRV_UNKNOWN_USER, NULL), 0);
  CHECK_EQ(next_op(&s, 9, &q), CHORUS_SRV_OP_SIGNUP);
  CHECK_EQ(chorus_seat_answer(&s, 10, CHORUS_SRV_NAME_TAKEN, NULL), 0);
  CHECK_EQ(next_op(&s, 10, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(q.token[3], 9); /* the last token is put into every request */
  CHECK_EQ(chorus_seat_answer(&s, 11, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
}

/* Seated: the roster, then a refresh every refresh_us; a poke brings it
 * forward, at most once per CHORUS_SEAT_POKE_US. */
static void test_join_refresh_poke(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  uint64_t t = seated(&s, 3);
  CHECK(chorus_seat_seated(&s));
  CHECK_EQ(s.roster.self, 3);
  CHECK(strcmp(s.roster.names[0], "bob") == 0);
  CHECK(strcmp(s.roster.names[3], "alice") == 0);
  CHECK_EQ(s.roster.names[1][0], '\0');
  CHECK_EQ(chorus_seat_deadline(&s), t + REFRESH_US);
  CHECK_EQ(next_op(&s, t + REFRESH_US - 1, &q), 0);
  CHECK_EQ(next_op(&s, t + REFRESH_US, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK(strcmp(q.room, "room") == 0);
  const char *names[] = {"alice", "bob", "carol"};
  uint8_t seats[] = {3, 0, 1};
  chorus_srv_response m = members(names, seats, 3);
  t += REFRESH_US + 10;
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &m), CHORUS_SEAT_EV_ROSTER);
  CHECK(strcmp(s.roster.names[1], "carol") == 0);
  chorus_seat_poke(&s, t + 5);
  CHECK_EQ(chorus_seat_deadline(&s), t + 5);
  CHECK_EQ(next_op(&s, t + 5, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t + 6, CHORUS_SRV_OK, &m), CHORUS_SEAT_EV_ROSTER);
  chorus_seat_poke(&s, t + 7); /* too soon after the last poke */
  CHECK_EQ(chorus_seat_deadline(&s), t + 6 + REFRESH_US);
  chorus_seat_poke(&s, t + 5 + CHORUS_SEAT_POKE_US);
  CHECK_EQ(chorus_seat_deadline(&s), t + 5 + CHORUS_SEAT_POKE_US);
  /* An answer with no request in flight changes nothing. */
  CHECK_EQ(chorus_seat_answer(&s, t + 8, CHORUS_SRV_OK, &m), 0);
}

/* The refresh at `refresh_at` finds the session forgotten: LOST, then a
 * new LOGIN and a JOIN (with CREATE: the server's snapshot may lack the
 * room), answered at t. */
static void session_lost(chorus_seat *s, uint64_t refresh_at, uint64_t t) {
  chorus_srv_request q;
  CHECK_EQ(next_op(s, refresh_at, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(s, t, CHORUS_SRV_NOT_LOGGED_IN, NULL), CHORUS_SEAT_EV_LOST);
  CHECK(!chorus_seat_logged_in(s));
  CHECK(!chorus_seat_seated(s));
  CHECK_EQ(next_op(s, t, &q), CHORUS_SRV_OP_LOGIN);
  chorus_srv_response r = ok();
  CHECK_EQ(chorus_seat_answer(s, t, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
  CHECK_EQ(next_op(s, t, &q), CHORUS_SRV_OP_ROOM_JOIN);
  CHECK_EQ(q.flags, CHORUS_SRV_JOIN_CREATE);
}

/* The server restarted and forgot the session: LOST, LOGIN, JOIN again;
 * the same seat back is no move, another one is. */
static void test_server_forgets_session(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  uint64_t t = seated(&s, 2) + REFRESH_US;
  session_lost(&s, t, t);
  const char *names[] = {"alice"};
  uint8_t same[] = {2}, other[] = {4};
  chorus_srv_response m = members(names, same, 1);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &m),
           CHORUS_SEAT_EV_SEATED | CHORUS_SEAT_EV_ROSTER);
  /* Lost again (a second restart), and seated elsewhere this time. */
  session_lost(&s, t + REFRESH_US, t);
  m = members(names, other, 1);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &m),
           CHORUS_SEAT_EV_SEATED | CHORUS_SEAT_EV_ROSTER | CHORUS_SEAT_EV_MOVED);
  CHECK_EQ(s.roster.self, 4);
  /* NOT_LOGGED_IN while logged out already (a late answer): no second LOST. */
  chorus_seat_relogin(&s, t);
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_NOT_LOGGED_IN, NULL), 0);
}

/* The server forgot the seat (lease, or the room is gone): LOST, JOIN
 * again without a new LOGIN; a member list without us does the same. */
static void test_server_forgets_seat(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  uint64_t t = seated(&s, 1) + REFRESH_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_NOT_IN_ROOM, NULL), CHORUS_SEAT_EV_LOST);
  CHECK(chorus_seat_logged_in(&s));
  CHECK(!chorus_seat_seated(&s));
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_JOIN);
  const char *names[] = {"alice", "bob"};
  uint8_t seats[] = {1, 0};
  chorus_srv_response m = members(names, seats, 2);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &m),
           CHORUS_SEAT_EV_SEATED | CHORUS_SEAT_EV_ROSTER);
  t += REFRESH_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_NO_SUCH_ROOM, NULL), CHORUS_SEAT_EV_LOST);
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_JOIN);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &m),
           CHORUS_SEAT_EV_SEATED | CHORUS_SEAT_EV_ROSTER);
  t += REFRESH_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  chorus_srv_response without = members(names + 1, seats + 1, 1);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &without), CHORUS_SEAT_EV_LOST);
  CHECK(!chorus_seat_seated(&s));
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_JOIN);
  /* A JOIN answer without us: retried later, not at once. */
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &without), CHORUS_SEAT_EV_LOST);
  CHECK_EQ(chorus_seat_deadline(&s), t + CHORUS_SEAT_RETRY_US);
}

/* No server answers: UNREACHABLE once, retried after CHORUS_SEAT_RETRY_US;
 * the first answer after that says BACK. */
static void test_unreachable_then_back(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  uint64_t t = seated(&s, 0) + REFRESH_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_UNREACHABLE, NULL), CHORUS_SEAT_EV_UNREACHABLE);
  CHECK(chorus_seat_seated(&s)); /* as far as we know */
  CHECK_EQ(chorus_seat_deadline(&s), t + CHORUS_SEAT_RETRY_US);
  t += CHORUS_SEAT_RETRY_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_UNREACHABLE, NULL), 0); /* said once */
  t += CHORUS_SEAT_RETRY_US;
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_MEMBERS);
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_NOT_LOGGED_IN, NULL),
           CHORUS_SEAT_EV_BACK | CHORUS_SEAT_EV_LOST);
  CHECK_EQ(chorus_seat_status(&s), CHORUS_SRV_NOT_LOGGED_IN);
}

/* Transient statuses ask again later; refusals give the goal up. */
static void test_transient_and_refused(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  CHECK_EQ(chorus_seat_enter(&s, 0, "room"), CHORUS_OK);
  CHECK_EQ(next_op(&s, 0, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(&s, 0, CHORUS_SRV_BUSY, NULL), 0);
  CHECK_EQ(next_op(&s, CHORUS_SEAT_RETRY_US - 1, &q), 0);
  CHECK_EQ(next_op(&s, CHORUS_SEAT_RETRY_US, &q), CHORUS_SRV_OP_LOGIN);
  chorus_srv_response r = ok();
  CHECK_EQ(chorus_seat_answer(&s, 0, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
  CHECK_EQ(next_op(&s, 0, &q), CHORUS_SRV_OP_ROOM_JOIN);
  CHECK_EQ(chorus_seat_answer(&s, 0, CHORUS_SRV_ROOM_FULL, NULL), CHORUS_SEAT_EV_FAILED);
  CHECK_EQ(chorus_seat_status(&s), CHORUS_SRV_ROOM_FULL);
  CHECK_EQ(next_op(&s, 10 * CHORUS_SEAT_RETRY_US, &q), 0); /* the room is given up */
  CHECK_EQ(chorus_seat_deadline(&s), UINT64_MAX);
  /* A wrong password gives the login up. */
  chorus_seat w;
  seat_new(&w, "bob");
  CHECK_EQ(next_op(&w, 0, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(&w, 0, CHORUS_SRV_WRONG_PASSWORD, NULL), CHORUS_SEAT_EV_FAILED);
  CHECK_EQ(next_op(&w, 10 * CHORUS_SEAT_RETRY_US, &q), 0);
  CHECK_EQ(chorus_seat_deadline(&w), UINT64_MAX);
  CHECK_EQ(chorus_seat_enter(&w, 0, "room"), CHORUS_OK); /* tries again */
  CHECK_EQ(next_op(&w, 0, &q), CHORUS_SRV_OP_LOGIN);
}

/* Leaving: ROOM_LEAVE, LEFT; NOT_IN_ROOM is LEFT too; then nothing. */
static void test_leave(void) {
  chorus_seat s;
  chorus_srv_request q;
  seat_new(&s, "alice");
  uint64_t t = seated(&s, 0) + 1;
  chorus_seat_leave(&s, t);
  CHECK_EQ(chorus_seat_deadline(&s), t);
  CHECK_EQ(next_op(&s, t, &q), CHORUS_SRV_OP_ROOM_LEAVE);
  chorus_srv_response r = ok();
  CHECK_EQ(chorus_seat_answer(&s, t, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LEFT);
  CHECK(!chorus_seat_seated(&s));
  CHECK_EQ(next_op(&s, t + 10 * REFRESH_US, &q), 0);
  CHECK_EQ(chorus_seat_deadline(&s), UINT64_MAX);
  /* The server forgot the session before the leave: LOGIN, then LEAVE
   * (said anyway), answered NOT_IN_ROOM. */
  chorus_seat u;
  seat_new(&u, "bob");
  t = seated(&u, 1) + 1;
  chorus_seat_leave(&u, t);
  CHECK_EQ(next_op(&u, t, &q), CHORUS_SRV_OP_ROOM_LEAVE);
  CHECK_EQ(chorus_seat_answer(&u, t, CHORUS_SRV_NOT_LOGGED_IN, NULL), CHORUS_SEAT_EV_LOST);
  CHECK_EQ(next_op(&u, t, &q), CHORUS_SRV_OP_LOGIN);
  CHECK_EQ(chorus_seat_answer(&u, t, CHORUS_SRV_OK, &r), CHORUS_SEAT_EV_LOGGED_IN);
  CHECK_EQ(next_op(&u, t, &q), CHORUS_SRV_OP_ROOM_LEAVE);
  CHECK_EQ(chorus_seat_answer(&u, t, CHORUS_SRV_NOT_IN_ROOM, NULL), CHORUS_SEAT_EV_LEFT);
  CHECK_EQ(next_op(&u, t, &q), 0);
  /* Entering a room again after leaving it. */
  CHECK_EQ(chorus_seat_enter(&u, t, "room"), CHORUS_OK);
  CHECK_EQ(next_op(&u, t, &q), CHORUS_SRV_OP_ROOM_JOIN);
}

/* A member list with two members in one seat, or a seat out of range, is
 * refused; one without us names no seat of ours. */
static void test_roster_from(void) {
  chorus_seat_roster ro;
  const char *names[] = {"alice", "bob"};
  uint8_t clash[] = {2, 2}, out[] = {1, CHORUS_MEMBERS_MAX}, fine[] = {1, 0};
  chorus_srv_response m = members(names, clash, 2);
  CHECK_EQ(chorus_seat_roster_from(&m, "alice", &ro), -1);
  m = members(names, out, 2);
  CHECK_EQ(chorus_seat_roster_from(&m, "alice", &ro), -1);
  m = members(names, fine, 2);
  CHECK_EQ(chorus_seat_roster_from(&m, "carol", &ro), -1);
  CHECK_EQ(ro.self, 0);
  CHECK_EQ(chorus_seat_roster_from(&m, "bob", &ro), 0);
  CHECK_EQ(ro.self, 0);
  CHECK(strcmp(ro.names[1], "alice") == 0);
}

int main(void) {
  RUN(test_init_refuses_bad_config);
  RUN(test_signup_then_login);
  RUN(test_join_refresh_poke);
  RUN(test_server_forgets_session);
  RUN(test_server_forgets_seat);
  RUN(test_unreachable_then_back);
  RUN(test_transient_and_refused);
  RUN(test_leave);
  RUN(test_roster_from);
  return CHECK_SUMMARY();
}
