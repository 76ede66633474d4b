/*
 * chorus_srvrec: the records of the server's replicated log, one per state
 * change (core/server.h, chorus_server_apply), encoded byte by byte,
 * big-endian, with a total decoder that rejects trailing bytes.
 *
 *   type u8, then:
 *   0 NOOP        (empty: the start of a leader's epoch, core/repl.h)
 *   1 SIGNUP      user str8, salt 16, hash 32, iterations u32,
 *                 creator addr, creator rid u32
 *   2 DELETE      user str8
 *   3 SET_ADDR    user str8, addr
 *   4 ROOM_CREATE room str8, user str8 (the creator, for the log)
 *   5 JOIN        user str8, room str8 (leaves the user's room first)
 *   6 LEAVE       user str8
 *   7 MSG_STORE   to str8, from str8, sender_epoch u64, msg_id u64,
 *                 text str16
 *   8 MSG_ACK     user str8, upto u64
 *
 * Names are 1..31 bytes of the name alphabet; addr = len u8 (0..28) and
 * bytes. Every record fits CHORUS_CLW_RECORD_BYTES_MAX.
 */
#ifndef CHORUS_SRVREC_H
#define CHORUS_SRVREC_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "srvwire.h"

#define CHORUS_SRVREC_SALT_BYTES 16
#define CHORUS_SRVREC_HASH_BYTES 32
#define CHORUS_SRVREC_BYTES_MAX \
  (1 + 2 * (1 + CHORUS_NAME_BYTES_MAX) + 16 + 2 + CHORUS_SRV_MSG_BYTES_MAX)

enum chorus_srvrec_type {
  CHORUS_SRVREC_NOOP = 0,
  CHORUS_SRVREC_SIGNUP = 1,
  CHORUS_SRVREC_DELETE = 2,
  CHORUS_SRVREC_SET_ADDR = 3,
  CHORUS_SRVREC_ROOM_CREATE = 4,
  CHORUS_SRVREC_JOIN = 5,
  CHORUS_SRVREC_LEAVE = 6,
  CHORUS_SRVREC_MSG_STORE = 7,
  CHORUS_SRVREC_MSG_ACK = 8,
};

typedef struct chorus_srvrec {
  uint8_t type;
  char user[CHORUS_NAME_BYTES_MAX + 1]; /* SIGNUP..LEAVE, MSG_ACK; MSG_STORE: to */
  char room[CHORUS_NAME_BYTES_MAX + 1]; /* ROOM_CREATE, JOIN */
  char from[CHORUS_NAME_BYTES_MAX + 1]; /* MSG_STORE; ROOM_CREATE: creator */
  uint8_t salt[CHORUS_SRVREC_SALT_BYTES];
  uint8_t hash[CHORUS_SRVREC_HASH_BYTES];
  uint32_t iterations, rid;
  chorus_srv_addr addr; /* SIGNUP: creator; SET_ADDR: the peer's */
  uint64_t sender_epoch, msg_id, upto;
  uint16_t text_len;
  uint8_t text[CHORUS_SRV_MSG_BYTES_MAX];
} chorus_srvrec;

/* Encode rec into buf[0..cap_bytes). Returns the length, or
 * CHORUS_ERR_INVAL (unknown type, invalid name, a length above its limit)
 * or CHORUS_ERR_NOBUF. */
int chorus_srvrec_encode(uint8_t *buf, size_t cap_bytes, const chorus_srvrec *rec);

/* Decode buf[0..len) into *rec (zeroed first). Returns 0, or
 * CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_FRAME (unknown type, invalid name,
 * a length above its limit, trailing bytes), CHORUS_ERR_INVAL. */
int chorus_srvrec_decode(const uint8_t *buf, size_t len, chorus_srvrec *rec);

#endif
