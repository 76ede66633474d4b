/*
 * chorus_seat: a peer's standing with the chorus server, as a pure state
 * machine: log in (signing the name up first if the server does not know
 * it), join a room and hold a seat there, learn the room's members at every
 * refresh, log in and join again when the server has forgotten the session
 * (it restarted), and leave the room.
 *
 * It decides which request goes next; the driver carries it and hands the
 * answer back. `chorus peer --server` drives it with blocking calls
 * (platform/session.h, cli/peer_server.c); the simulator drives it through
 * core/client.h over its network (sim/srvnode.c). One request at a time:
 *
 *   chorus_seat_next()    the request to send now, if any
 *   chorus_seat_answer()  its answer's status (CHORUS_SRV_UNREACHABLE when
 *                         no server answered) and body
 *   chorus_seat_deadline() when chorus_seat_next may next give a request
 *
 * The seat the server gives each member of a room is the member's slot in
 * the peer's core (chorus_peer_config.slots); chorus_seat_roster holds the
 * room as last listed, and the driver names the occupants of the other
 * seats in its core (chorus_peer_set_member).
 *
 * The session token of the last LOGIN is kept and put into every request.
 * No clock, no I/O, no allocation: the caller owns the struct.
 */
#ifndef CHORUS_SEAT_H
#define CHORUS_SEAT_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "srvwire.h"

#define CHORUS_SEAT_REFRESH_US_DEFAULT 1000000ull /* room members asked for */
#define CHORUS_SEAT_RETRY_US 1000000ull /* after no answer or a refusal */
#define CHORUS_SEAT_POKE_US 200000ull   /* refreshes at a poke at most this often */

/* A room as the server lists it: the name and address of each seat. */
typedef struct chorus_seat_roster {
  char names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1]; /* "" if free */
  chorus_srv_addr addrs[CHORUS_MEMBERS_MAX];
  size_t self; /* our seat */
} chorus_seat_roster;

typedef struct chorus_seat_config {
  const char *user;          /* valid name (chorus_srv_name_valid) */
  const uint8_t *password;   /* 1..CHORUS_SRV_PASSWORD_BYTES_MAX bytes */
  size_t password_len;
  chorus_srv_addr addr;      /* where this peer listens (LOGIN) */
  uint64_t refresh_us;       /* room members asked for this often, > 0 */
} chorus_seat_config;

/* What an answer changed (chorus_seat_answer returns a set of these). */
enum chorus_seat_event {
  CHORUS_SEAT_EV_LOGGED_IN = 1 << 0,  /* a LOGIN succeeded */
  CHORUS_SEAT_EV_SIGNED_UP = 1 << 1,  /* the account was created */
  CHORUS_SEAT_EV_SEATED = 1 << 2,     /* joined the room (again): a seat */
  CHORUS_SEAT_EV_ROSTER = 1 << 3,     /* roster holds the room's members */
  CHORUS_SEAT_EV_MOVED = 1 << 4,      /* seated again, in another seat */
  CHORUS_SEAT_EV_LOST = 1 << 5,       /* the server forgot the session or
                                         the seat: registering again */
  CHORUS_SEAT_EV_LEFT = 1 << 6,       /* out of the room at the server */
  CHORUS_SEAT_EV_FAILED = 1 << 7,     /* refused (status): login or join
                                         given up, see chorus_seat_status */
  CHORUS_SEAT_EV_UNREACHABLE = 1 << 8, /* no server answered; retrying */
  CHORUS_SEAT_EV_BACK = 1 << 9,       /* a server answers again */
};

typedef struct chorus_seat {
  char user[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t password[CHORUS_SRV_PASSWORD_BYTES_MAX];
  size_t password_len;
  chorus_srv_addr addr;
  uint64_t refresh_us;
  char room[CHORUS_NAME_BYTES_MAX + 1]; /* the room wanted, "" for none */
  int want_login;    /* 0 once a login was refused for good */
  int logged_in, seated, signup, down;
  int leaving;       /* a ROOM_LEAVE is owed to the server */
  int had_seat;      /* seated before: a new seat is a move */
  size_t last_seat;
  uint8_t token[CHORUS_SRV_TOKEN_BYTES];
  uint8_t inflight;  /* the op of the request awaiting its answer, or 0 */
  uint64_t due_us;   /* no request before this time */
  uint64_t poked_us; /* the last poke that moved due_us */
  int status;        /* the last answer's status */
  chorus_seat_roster roster; /* valid once seated */
} chorus_seat;

/* chorus_seat_init: logged out, no room; the first request is a LOGIN.
 * Returns 0 or CHORUS_ERR_INVAL (NULL, a bad name, password length or a
 * zero refresh_us). */
int chorus_seat_init(chorus_seat *s, const chorus_seat_config *cfg);

/* chorus_seat_enter: join `room` (created if missing) as soon as logged in.
 * Returns 0 or CHORUS_ERR_INVAL (not a valid name). */
int chorus_seat_enter(chorus_seat *s, uint64_t now_us, const char *room);

/* chorus_seat_leave: leave the room at the server (next request). */
void chorus_seat_leave(chorus_seat *s, uint64_t now_us);

/* chorus_seat_relogin: the session is gone (a request of the driver's own
 * was answered NOT_LOGGED_IN): log in again, and join again if in a room. */
void chorus_seat_relogin(chorus_seat *s, uint64_t now_us);

/* chorus_seat_poke: someone unnamed speaks: refresh the members now (at
 * most once per CHORUS_SEAT_POKE_US). */
void chorus_seat_poke(chorus_seat *s, uint64_t now_us);

/* chorus_seat_next: 1 with *req filled (rid 0, token set) if a request is
 * due at now_us; it then awaits its answer. 0 if none is due. */
int chorus_seat_next(chorus_seat *s, uint64_t now_us, chorus_srv_request *req);

/* chorus_seat_answer: the answer to the request in flight: `status` (a
 * server status or CHORUS_SRV_UNREACHABLE) and, for OK, *resp (may be NULL
 * otherwise). Returns the set of enum chorus_seat_event it caused (0 also
 * when no request was in flight). */
unsigned chorus_seat_answer(chorus_seat *s, uint64_t now_us, int status,
                            const chorus_srv_response *resp);

/* When chorus_seat_next may next give a request (µs, the now_us clock);
 * UINT64_MAX while a request is in flight or nothing is wanted. */
uint64_t chorus_seat_deadline(const chorus_seat *s);

/* 1 if the server has us in the room (as far as the last answer says). */
int chorus_seat_seated(const chorus_seat *s);
/* 1 if the session is logged in. */
int chorus_seat_logged_in(const chorus_seat *s);
/* The status of the last answer (CHORUS_SRV_OK, ...). */
int chorus_seat_status(const chorus_seat *s);

/*
 * chorus_seat_roster_from fills *r from a member list (JOIN or MEMBERS
 * answer) for user `self`. Returns 0, or -1 if `self` is not in it (r->self
 * is then 0), or if two members share a seat or a seat is out of range.
 */
int chorus_seat_roster_from(const chorus_srv_response *resp, const char *self,
                            chorus_seat_roster *r);

#endif
