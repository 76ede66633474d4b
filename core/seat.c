/*
 * chorus_seat: login, room seat, refresh and re-registration as a state
 * machine (seat.h).
 */
#include "seat.h"

#include <string.h>

static int name_copy(char *dst, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (!chorus_srv_name_valid(src ? src : "", n)) return CHORUS_ERR_INVAL;
  memcpy(dst, src, n + 1);
  return CHORUS_OK;
}

int chorus_seat_init(chorus_seat *s, const chorus_seat_config *cfg) {
  if (!s || !cfg || !cfg->password || cfg->password_len == 0 ||
      cfg->password_len > CHORUS_SRV_PASSWORD_BYTES_MAX || cfg->refresh_us == 0)
    return CHORUS_ERR_INVAL;
  memset(s, 0, sizeof *s);
  if (name_copy(s->user, cfg->user) != CHORUS_OK) return CHORUS_ERR_INVAL;
  memcpy(s->password, cfg->password, cfg->password_len);
  s->password_len = cfg->password_len;
  s->addr = cfg->addr;
  s->refresh_us = cfg->refresh_us;
  s->want_login = 1;
  return CHORUS_OK;
}

int chorus_seat_enter(chorus_seat *s, uint64_t now_us, const char *room) {
  if (name_copy(s->room, room) != CHORUS_OK) return CHORUS_ERR_INVAL;
  s->seated = 0;
  s->leaving = 0; /* joining a room leaves the one before */
  s->want_login = 1;
  s->due_us = now_us;
  return CHORUS_OK;
}

void chorus_seat_leave(chorus_seat *s, uint64_t now_us) {
  s->room[0] = '\0';
  s->leaving = 1; /* said to the server even if it forgot us meanwhile */
  s->due_us = now_us;
}

void chorus_seat_relogin(chorus_seat *s, uint64_t now_us) {
  s->logged_in = 0;
  s->seated = 0;
  s->want_login = 1;
  s->due_us = now_us;
}

void chorus_seat_poke(chorus_seat *s, uint64_t now_us) {
  if (s->poked_us && now_us - s->poked_us < CHORUS_SEAT_POKE_US) return;
  s->poked_us = now_us;
  if (s->due_us > now_us) s->due_us = now_us;
}

static chorus_srv_request *req_for(chorus_seat *s, chorus_srv_request *q, uint8_t op) {
  memset(q, 0, sizeof *q);
  q->op = op;
  memcpy(q->token, s->token, sizeof q->token);
  s->inflight = op;
  return q;
}

/* LOGIN and SIGNUP carry the name and the password (LOGIN the address). */
static void req_login(chorus_seat *s, chorus_srv_request *q, uint8_t op) {
  req_for(s, q, op);
  memcpy(q->user, s->user, sizeof q->user);
  memcpy(q->password, s->password, s->password_len);
  q->password_len = (uint8_t)s->password_len;
  if (op == CHORUS_SRV_OP_LOGIN) q->addr = s->addr;
}

int chorus_seat_next(chorus_seat *s, uint64_t now_us, chorus_srv_request *q) {
  if (s->inflight || now_us < s->due_us) return 0;
  if (!s->logged_in) {
    if (!s->want_login) return 0;
    req_login(s, q, s->signup ? CHORUS_SRV_OP_SIGNUP : CHORUS_SRV_OP_LOGIN);
  } else if (s->room[0] && !s->seated) {
    req_for(s, q, CHORUS_SRV_OP_ROOM_JOIN);
    memcpy(q->room, s->room, sizeof q->room);
    q->flags = CHORUS_SRV_JOIN_CREATE;
  } else if (!s->room[0] && (s->seated || s->leaving)) {
    req_for(s, q, CHORUS_SRV_OP_ROOM_LEAVE);
  } else if (s->room[0]) {
    req_for(s, q, CHORUS_SRV_OP_ROOM_MEMBERS);
    memcpy(q->room, s->room, sizeof q->room);
  } else {
    return 0;
  }
  return 1;
}

uint64_t chorus_seat_deadline(const chorus_seat *s) {
  if (s->inflight) return UINT64_MAX;
  int want = s->logged_in ? (s->room[0] || s->seated || s->leaving) : s->want_login;
  return want ? s->due_us : UINT64_MAX;
}

int chorus_seat_seated(const chorus_seat *s) { return s->seated; }
int chorus_seat_logged_in(const chorus_seat *s) { return s->logged_in; }
int chorus_seat_status(const chorus_seat *s) { return s->status; }

int chorus_seat_roster_from(const chorus_srv_response *p, const char *self,
                            chorus_seat_roster *r) {
  memset(r, 0, sizeof *r);
  int me = -1, bad = 0;
  for (size_t i = 0; i < p->count && i < CHORUS_MEMBERS_MAX; i++) {
    const chorus_srv_member *m = &p->members[i];
    if (m->seat >= CHORUS_MEMBERS_MAX || r->names[m->seat][0]) {
      bad = 1;
      continue;
    }
    memcpy(r->names[m->seat], m->name, sizeof m->name);
    r->addrs[m->seat] = m->addr;
    if (strcmp(m->name, self) == 0) me = m->seat;
  }
  r->self = me < 0 ? 0 : (size_t)me;
  return me < 0 || bad ? -1 : 0;
}

/* A member list (JOIN or MEMBERS answer): the roster, or registering again
 * when it no longer lists us. */
static unsigned on_members(chorus_seat *s, uint64_t now_us, const chorus_srv_response *p,
                           int joined) {
  chorus_seat_roster r;
  if (chorus_seat_roster_from(p, s->user, &r) != 0) {
    s->seated = 0;
    s->due_us = joined ? now_us + CHORUS_SEAT_RETRY_US : now_us;
    return CHORUS_SEAT_EV_LOST;
  }
  unsigned ev = CHORUS_SEAT_EV_ROSTER;
  if (joined) {
    ev |= CHORUS_SEAT_EV_SEATED;
    if (s->had_seat && r.self != s->last_seat) ev |= CHORUS_SEAT_EV_MOVED;
    s->had_seat = 1;
    s->last_seat = r.self;
  }
  s->seated = 1;
  s->roster = r;
  s->due_us = now_us + s->refresh_us;
  return ev;
}

/* The server forgot us (it restarted, or the lease ran out). */
static unsigned lost(chorus_seat *s, uint64_t now_us) {
  int was = s->logged_in;
  s->logged_in = 0;
  s->seated = 0;
  s->due_us = now_us;
  return was ? CHORUS_SEAT_EV_LOST : 0;
}

/* A refusal that retrying soon will not cure: give the goal up. */
static unsigned refused(chorus_seat *s, uint8_t op, uint64_t now_us) {
  s->due_us = now_us + CHORUS_SEAT_RETRY_US;
  if (op == CHORUS_SRV_OP_LOGIN || op == CHORUS_SRV_OP_SIGNUP) s->want_login = 0;
  if (op == CHORUS_SRV_OP_ROOM_JOIN) s->room[0] = '\0';
  if (op == CHORUS_SRV_OP_ROOM_LEAVE) s->leaving = 0;
  return CHORUS_SEAT_EV_FAILED;
}

/* Statuses that ask for the same request again later. */
static int transient(int st) {
  return st == CHORUS_SRV_BUSY || st == CHORUS_SRV_LOCKED_OUT ||
         st == CHORUS_SRV_NO_QUORUM || st == CHORUS_SRV_NOT_LEADER ||
         st == CHORUS_SRV_TOO_MANY_SESSIONS;
}

static unsigned answer_ok(chorus_seat *s, uint8_t op, uint64_t now_us,
                          const chorus_srv_response *p) {
  s->due_us = now_us;
  switch (op) {
  case CHORUS_SRV_OP_SIGNUP:
    s->signup = 0;
    return CHORUS_SEAT_EV_SIGNED_UP;
  case CHORUS_SRV_OP_LOGIN:
    s->logged_in = 1;
    memcpy(s->token, p->token, sizeof s->token);
    return CHORUS_SEAT_EV_LOGGED_IN;
  case CHORUS_SRV_OP_ROOM_JOIN:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    return on_members(s, now_us, p, op == CHORUS_SRV_OP_ROOM_JOIN);
  case CHORUS_SRV_OP_ROOM_LEAVE:
    s->seated = s->leaving = 0;
    return CHORUS_SEAT_EV_LEFT;
  default:
    return 0;
  }
}

unsigned chorus_seat_answer(chorus_seat *s, uint64_t now_us, int st,
                            const chorus_srv_response *p) {
  uint8_t op = s->inflight;
  if (!op) return 0;
  s->inflight = 0;
  s->status = st;
  unsigned ev = 0;
  if (st == CHORUS_SRV_UNREACHABLE) {
    ev = s->down ? 0 : CHORUS_SEAT_EV_UNREACHABLE;
    s->down = 1;
    s->due_us = now_us + CHORUS_SEAT_RETRY_US;
    return ev;
  }
  if (s->down) ev |= CHORUS_SEAT_EV_BACK;
  s->down = 0;
  if (st == CHORUS_SRV_OK && p) return ev | answer_ok(s, op, now_us, p);
  if (st == CHORUS_SRV_NOT_LOGGED_IN) return ev | lost(s, now_us);
  if (op == CHORUS_SRV_OP_LOGIN && st == CHORUS_SRV_UNKNOWN_USER) {
    s->signup = 1;
    s->due_us = now_us;
    return ev;
  }
  if (op == CHORUS_SRV_OP_SIGNUP && st == CHORUS_SRV_NAME_TAKEN) {
    s->signup = 0; /* taken by us, before a lost answer, or by another */
    s->due_us = now_us;
    return ev;
  }
  if (op == CHORUS_SRV_OP_ROOM_MEMBERS &&
      (st == CHORUS_SRV_NOT_IN_ROOM || st == CHORUS_SRV_NO_SUCH_ROOM)) {
    s->seated = 0; /* the seat lapsed: join again */
    s->due_us = now_us;
    return ev | CHORUS_SEAT_EV_LOST;
  }
  if (op == CHORUS_SRV_OP_ROOM_LEAVE && st == CHORUS_SRV_NOT_IN_ROOM) {
    s->seated = s->leaving = 0;
    return ev | CHORUS_SEAT_EV_LEFT;
  }
  if (transient(st)) {
    s->due_us = now_us + CHORUS_SEAT_RETRY_US;
    return ev;
  }
  return ev | refused(s, op, now_us);
}
