/*
 * chorus_srv: the client-server wire format, version 1, and the server's
 * status codes. Encoded and decoded byte by byte, big-endian; no struct is
 * ever cast over a buffer; every decoder is total (any byte string gives a
 * value or a negative chorus_err code) and rejects trailing bytes, so a
 * decoded value re-encodes to the very same bytes.
 *
 * Every datagram is at most CHORUS_SRV_DATAGRAM_BYTES_MAX (1200) bytes.
 *
 *   request header (24 bytes)
 *     0  magic    2  'C' 'S'
 *     2  version  1  1
 *     3  op       1  opcode (enum chorus_srv_op, high bit clear)
 *     4  rid      4  request id, chosen by the client
 *     8  token   16  session token; all zero when the op needs none
 *   response header (9 bytes)
 *     0  magic    2  'C' 'S'
 *     2  version  1  1
 *     3  op       1  the request's opcode | 0x80
 *     4  rid      4  the request's id
 *     8  status   1  enum chorus_srv_status
 *   then, if status is OK, the op's body (below; an OK response needs a
 *   known op); otherwise (any op 0x00..0x7f)
 *     9  detail   4  retry-after in ms (LOCKED_OUT, BUSY), the server's
 *                    version (BAD_VERSION), the limit (ROOM_FULL, TOO_MANY_*),
 *                    else 0
 *
 * Bytes 0..7 (magic, version, op, rid) are the version-independent prefix:
 * every future version keeps them, so a server answers a request of another
 * version with BAD_VERSION (in its own version, detail = its version) and a
 * client matches that answer to its request.
 *
 * Field types: u8/u16/u32 big-endian; str8 = len u8, then len bytes (no
 * NUL); addr = len u8 (0..28), then len opaque bytes (the platform's
 * encoding of a UDP address, see platform/server_loop.h).
 *
 *   op                request body                    OK response body
 *   0x01 SIGNUP       user str8, password str8        (empty)
 *   0x02 LOGIN        user str8, password str8, addr  token 16, lease_ms u32,
 *                                                     room str8 (or empty)
 *   0x03 LOGOUT       (empty)                         (empty)
 *   0x04 KEEPALIVE    (empty)                         lease_ms u32
 *   0x05 USERS        pattern str8, start u16         total u16, n u8,
 *                                                     n * (name str8, flags u8)
 *   0x06 DELETE       password str8                   (empty)
 *   0x07 SET_ADDR     addr                            (empty)
 *   0x10 ROOM_CREATE  room str8                       (empty)
 *   0x11 ROOM_JOIN    room str8, flags u8             members
 *   0x12 ROOM_LEAVE   (empty)                         (empty)
 *   0x13 ROOM_LIST    start u16                       total u16, n u8,
 *                                                     n * (name str8, count u8)
 *   0x14 ROOM_MEMBERS room str8                       members
 *
 *   members = room str8, n u8 (0..10), n * (name str8, flags u8, seat u8,
 *             addr)
 *   USERS flags: bit 0 logged in. Member flags: bit 0 has a live session
 *   (0: restored from disk, not yet back). Seat: 0..9, the member's place in
 *   the room, kept while it stays in the room (a leaver's seat is free for
 *   the next joiner); peers use it as the member's rank. JOIN flags: bit 0 create the room
 *   if it does not exist. Lists are in byte-wise name order, members in join
 *   order; a page holds at most CHORUS_SRV_PAGE_MAX entries from index
 *   `start` of the `total` matches.
 */
#ifndef CHORUS_SRVWIRE_H
#define CHORUS_SRVWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define CHORUS_SRV_VERSION 1
#define CHORUS_SRV_DATAGRAM_BYTES_MAX 1200
#define CHORUS_SRV_REQ_HEADER_BYTES 24
#define CHORUS_SRV_RESP_HEADER_BYTES 9
#define CHORUS_SRV_TOKEN_BYTES 16
#define CHORUS_SRV_ADDR_BYTES_MAX 28     /* opaque peer/client address */
#define CHORUS_SRV_PASSWORD_BYTES_MAX 128
#define CHORUS_SRV_PATTERN_BYTES_MAX 63  /* USERS pattern, with * and ? */
#define CHORUS_SRV_PAGE_MAX 32           /* names per USERS/ROOM_LIST page */
#define CHORUS_SRV_OP_RESPONSE 0x80      /* set in a response's op byte */
#define CHORUS_SRV_FLAG_ONLINE 0x01      /* USERS and member flags */
#define CHORUS_SRV_JOIN_CREATE 0x01      /* ROOM_JOIN flags */

/* Status codes. Values 0..63 travel on the wire; 64 and up are produced
 * only on the client side (never sent). */
#define CHORUS_SRV_STATUSES(X)                                                   \
  X(CHORUS_SRV_OK, 0, "ok")                                                      \
  X(CHORUS_SRV_BAD_REQUEST, 1, "malformed request")                              \
  X(CHORUS_SRV_BAD_VERSION, 2, "unsupported protocol version")                   \
  X(CHORUS_SRV_UNKNOWN_OP, 3, "unknown request")                                 \
  X(CHORUS_SRV_BAD_NAME, 4, "bad name: use 1-31 of A-Z a-z 0-9 _ . -")           \
  X(CHORUS_SRV_BAD_PASSWORD, 5, "bad password: use 1-128 bytes")                 \
  X(CHORUS_SRV_NAME_TAKEN, 6, "name taken")                                      \
  X(CHORUS_SRV_UNKNOWN_USER, 7, "unknown user")                                  \
  X(CHORUS_SRV_WRONG_PASSWORD, 8, "wrong password")                              \
  X(CHORUS_SRV_LOCKED_OUT, 9, "too many failed logins: account locked, retry later") \
  X(CHORUS_SRV_NOT_LOGGED_IN, 10, "not logged in (no session, or it expired)")   \
  X(CHORUS_SRV_ROOM_FULL, 11, "room full")                                       \
  X(CHORUS_SRV_NO_SUCH_ROOM, 12, "no such room")                                 \
  X(CHORUS_SRV_ROOM_EXISTS, 13, "room already exists")                           \
  X(CHORUS_SRV_NOT_IN_ROOM, 14, "not in a room")                                 \
  X(CHORUS_SRV_TOO_MANY_ACCOUNTS, 15, "account limit of the server reached")     \
  X(CHORUS_SRV_TOO_MANY_ROOMS, 16, "room limit of the server reached")           \
  X(CHORUS_SRV_TOO_MANY_SESSIONS, 17, "session limit of the server reached")     \
  X(CHORUS_SRV_BUSY, 18, "server busy (reply cache full), retry later")          \
  X(CHORUS_SRV_BAD_PATTERN, 19, "bad pattern: use 1-63 of A-Z a-z 0-9 _ . - * ?") \
  X(CHORUS_SRV_UNREACHABLE, 64, "server unreachable (no answer before the deadline)")

enum chorus_srv_status {
#define CHORUS_SRV_STATUS_ENUM(name, value, text) name = value,
  CHORUS_SRV_STATUSES(CHORUS_SRV_STATUS_ENUM)
#undef CHORUS_SRV_STATUS_ENUM
};

/* Highest status a server sends; a response with a larger one is malformed. */
#define CHORUS_SRV_STATUS_WIRE_MAX 63

enum chorus_srv_op {
  CHORUS_SRV_OP_SIGNUP = 0x01,
  CHORUS_SRV_OP_LOGIN = 0x02,
  CHORUS_SRV_OP_LOGOUT = 0x03,
  CHORUS_SRV_OP_KEEPALIVE = 0x04,
  CHORUS_SRV_OP_USERS = 0x05,
  CHORUS_SRV_OP_DELETE = 0x06,
  CHORUS_SRV_OP_SET_ADDR = 0x07,
  CHORUS_SRV_OP_ROOM_CREATE = 0x10,
  CHORUS_SRV_OP_ROOM_JOIN = 0x11,
  CHORUS_SRV_OP_ROOM_LEAVE = 0x12,
  CHORUS_SRV_OP_ROOM_LIST = 0x13,
  CHORUS_SRV_OP_ROOM_MEMBERS = 0x14,
};

/* An opaque address blob (the platform defines the bytes). Value type. */
typedef struct chorus_srv_addr {
  uint8_t len; /* 0..CHORUS_SRV_ADDR_BYTES_MAX; 0 = none */
  uint8_t bytes[CHORUS_SRV_ADDR_BYTES_MAX];
} chorus_srv_addr;

/* A decoded request. Text fields are NUL-terminated copies; which fields an
 * op uses is in the table above (the others are zero). */
typedef struct chorus_srv_request {
  uint8_t op;     /* enum chorus_srv_op */
  uint32_t rid;
  uint8_t token[CHORUS_SRV_TOKEN_BYTES];
  char user[CHORUS_NAME_BYTES_MAX + 1];   /* SIGNUP, LOGIN */
  char room[CHORUS_NAME_BYTES_MAX + 1];   /* ROOM_CREATE, ROOM_JOIN, ROOM_MEMBERS */
  char pattern[CHORUS_SRV_PATTERN_BYTES_MAX + 1]; /* USERS */
  uint8_t password[CHORUS_SRV_PASSWORD_BYTES_MAX]; /* SIGNUP, LOGIN, DELETE */
  uint8_t password_len;
  chorus_srv_addr addr; /* LOGIN, SET_ADDR: where the user's peer listens */
  uint16_t start;       /* USERS, ROOM_LIST: first index of the page */
  uint8_t flags;        /* ROOM_JOIN */
} chorus_srv_request;

/* One USERS or ROOM_LIST entry. */
typedef struct chorus_srv_entry {
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t value; /* USERS: flags; ROOM_LIST: member count */
} chorus_srv_entry;

/* One room member. */
typedef struct chorus_srv_member {
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t flags; /* CHORUS_SRV_FLAG_ONLINE */
  uint8_t seat;  /* 0..CHORUS_MEMBERS_MAX-1, stable while in the room */
  chorus_srv_addr addr;
} chorus_srv_member;

/* A decoded response. Which fields are set depends on op and status. */
typedef struct chorus_srv_response {
  uint8_t op;      /* the request's opcode (without CHORUS_SRV_OP_RESPONSE) */
  uint32_t rid;
  uint8_t status;  /* enum chorus_srv_status */
  uint8_t version; /* the sender's version byte (set even on BAD_VERSION) */
  uint32_t detail; /* error responses only */
  uint8_t token[CHORUS_SRV_TOKEN_BYTES]; /* LOGIN */
  uint32_t lease_ms;                     /* LOGIN, KEEPALIVE */
  char room[CHORUS_NAME_BYTES_MAX + 1];  /* LOGIN (current room), JOIN, MEMBERS */
  uint16_t total;  /* USERS, ROOM_LIST: matches in all */
  uint8_t count;   /* entries (USERS, ROOM_LIST) or members (JOIN, MEMBERS) */
  chorus_srv_entry entries[CHORUS_SRV_PAGE_MAX];
  chorus_srv_member members[CHORUS_MEMBERS_MAX];
} chorus_srv_response;

/* chorus_srv_strerror: static text of a status; "unknown status" otherwise.
 * Never NULL. */
const char *chorus_srv_strerror(int status);

/* chorus_srv_statusname: "CHORUS_SRV_ROOM_FULL" etc.; "CHORUS_SRV_UNKNOWN"
 * for unknown values. Never NULL. */
const char *chorus_srv_statusname(int status);

/* chorus_srv_opname: "signup", "room_join", ...; "unknown" otherwise. */
const char *chorus_srv_opname(int op);

/* 1 if `op` is a defined request opcode. */
int chorus_srv_op_known(int op);

/* 1 if name[0..len) is a valid user or room name: 1..31 bytes of
 * A-Z a-z 0-9 _ . - */
int chorus_srv_name_valid(const char *name, size_t len);

/* 1 if pattern[0..len) is a valid pattern: 1..63 bytes of the name
 * alphabet and the wildcards '*' (any run, also empty) and '?' (one byte). */
int chorus_srv_pattern_valid(const char *pattern, size_t len);

/* 1 if name[0..name_len) matches pattern[0..pat_len) as a whole (byte-wise,
 * case-sensitive; '*' any run of bytes, '?' exactly one). Linear time in
 * name_len * pat_len at worst, no recursion. */
int chorus_srv_match(const char *pattern, size_t pat_len, const char *name,
                     size_t name_len);

/* 1 if a and b hold the same address bytes. */
int chorus_srv_addr_equal(const chorus_srv_addr *a, const chorus_srv_addr *b);

/*
 * chorus_srv_request_encode writes request `r` (fields of its op only) into
 * buf[0..cap_bytes). Returns the bytes written, or CHORUS_ERR_INVAL (unknown
 * op; a text field too long for its field; addr.len above 28) or
 * CHORUS_ERR_NOBUF (cap_bytes too small; 1200 always suffices). Empty text
 * fields are encoded (the server answers them with a specific status).
 */
int chorus_srv_request_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_srv_request *r);

/*
 * chorus_srv_request_decode parses one request datagram buf[0..len) into *r
 * (zeroed first). Returns 0, or CHORUS_ERR_TOO_BIG (len > 1200),
 * CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_MAGIC (not 'C' 'S'),
 * CHORUS_ERR_BAD_VERSION (r->rid and r->op are set when len >= 8, so the
 * server can answer), CHORUS_ERR_BAD_FRAME (a response, an unknown op
 * (r->op and r->rid set), a length above its field's limit, trailing
 * bytes). Text fields are checked for length only: empty ones and their
 * alphabet are the server's to judge (BAD_NAME, BAD_PASSWORD, BAD_PATTERN),
 * so a client gets a specific answer.
 */
int chorus_srv_request_decode(const uint8_t *buf, size_t len,
                              chorus_srv_request *r);

/*
 * chorus_srv_response_encode writes response `r` for op r->op into
 * buf[0..cap_bytes): the header, then the body of that op if status is OK,
 * else the detail word. Returns the bytes written, or CHORUS_ERR_INVAL
 * (op above 0x7f, or unknown with status OK; status above 63; count above
 * the page or member limit; a text field too long) or CHORUS_ERR_NOBUF.
 */
int chorus_srv_response_encode(uint8_t *buf, size_t cap_bytes,
                               const chorus_srv_response *r);

/*
 * chorus_srv_response_decode parses one response datagram buf[0..len) into
 * *r (zeroed first). Returns 0, or CHORUS_ERR_TOO_BIG, CHORUS_ERR_TRUNCATED,
 * CHORUS_ERR_BAD_MAGIC, CHORUS_ERR_BAD_VERSION (r->version holds the
 * sender's version), CHORUS_ERR_BAD_FRAME (a request, an unknown op with
 * status OK, status above 63, a count or length above its limit, trailing
 * bytes).
 */
int chorus_srv_response_decode(const uint8_t *buf, size_t len,
                               chorus_srv_response *r);

#endif
