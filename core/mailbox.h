/*
 * chorus_mailbox: the server's store of offline private messages (SPEC
 * section 6), a plain data structure with every slot allocated at creation.
 *
 * Each message has a server-wide sequence number (1, 2, ... in store
 * order), the recipient and sender names, the sender's (epoch, message id)
 * and its text. Fetching returns a recipient's messages in sequence order,
 * so each sender's messages come in the order they were stored; a message
 * leaves only when its recipient acknowledges it (chorus_mailbox_ack).
 *
 * Idempotency: per (sender, recipient) pair a mark keeps the highest
 * (sender epoch, message id) stored; a store at or below it is a duplicate
 * (a retransmission after the reply was lost, possibly on another replica)
 * and stores nothing. Marks outlive their messages, so even a retransmission
 * that arrives after the recipient fetched and acknowledged the message is
 * not stored again. Senders store to one recipient one message at a time.
 *
 * Deterministic: the same calls in the same order give the same state and
 * the same snapshot bytes on every replica.
 */
#ifndef CHORUS_MAILBOX_H
#define CHORUS_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "peer.h"
#include "srvwire.h"

#define CHORUS_MAILBOX_MESSAGES_DEFAULT 256
#define CHORUS_MAILBOX_MARKS_DEFAULT 1024
#define CHORUS_MAILBOX_LIMIT 65535 /* MSG_FETCH counts are u16 */

/* Largest encoding of one message and one mark (chorus_mailbox_encode). */
#define CHORUS_MAILBOX_MSG_BYTES_MAX \
  (2 * (1 + CHORUS_NAME_BYTES_MAX) + 24 + 2 + CHORUS_SRV_MSG_BYTES_MAX)
#define CHORUS_MAILBOX_MARK_BYTES_MAX (2 * (1 + CHORUS_NAME_BYTES_MAX) + 16)

typedef struct chorus_mailbox chorus_mailbox;

/* One stored message (a copy). */
typedef struct chorus_mailbox_msg {
  uint64_t seq;
  char to[CHORUS_NAME_BYTES_MAX + 1];
  char from[CHORUS_NAME_BYTES_MAX + 1];
  uint64_t sender_epoch, msg_id;
  uint16_t len;
  uint8_t text[CHORUS_SRV_MSG_BYTES_MAX];
} chorus_mailbox_msg;

/* Allocate room for `messages` messages and `marks` marks (1..65535 each).
 * Returns 0 (*out owned by the caller), CHORUS_ERR_INVAL, CHORUS_ERR_CONFIG
 * or CHORUS_ERR_NOMEM. */
int chorus_mailbox_new(size_t messages, size_t marks, chorus_mailbox **out);
void chorus_mailbox_free(chorus_mailbox *mb); /* NULL allowed */

/* Empty it (sequence numbering restarts). */
void chorus_mailbox_clear(chorus_mailbox *mb);

/*
 * chorus_mailbox_check says what storing would do, without changing
 * anything: 1 = a duplicate (nothing to store), 0 = would store, or
 * CHORUS_ERR_QUEUE_FULL (no free message slot, or a new pair and no free
 * mark).
 */
int chorus_mailbox_check(const chorus_mailbox *mb, const char *to, const char *from,
                         uint64_t sender_epoch, uint64_t msg_id);

/* Store a message (after a check returned 0): it gets the next sequence
 * number. Returns 0, 1 (duplicate, nothing stored), CHORUS_ERR_QUEUE_FULL
 * or CHORUS_ERR_INVAL (len above CHORUS_SRV_MSG_BYTES_MAX, a name too
 * long). */
int chorus_mailbox_store(chorus_mailbox *mb, const char *to, const char *from,
                         uint64_t sender_epoch, uint64_t msg_id, const uint8_t *text,
                         uint16_t len);

/* The recipient's messages in sequence order: the k-th (0-based) into *out.
 * Returns 0, or CHORUS_ERR_EMPTY when there is no k-th. */
int chorus_mailbox_get(const chorus_mailbox *mb, const char *to, size_t k,
                       chorus_mailbox_msg *out);

/* Messages waiting for `to`. */
size_t chorus_mailbox_waiting(const chorus_mailbox *mb, const char *to);

/* Delete to's messages with seq <= upto; returns how many. */
size_t chorus_mailbox_ack(chorus_mailbox *mb, const char *to, uint64_t upto);

/* An account is gone: its messages and every mark naming it go. */
void chorus_mailbox_drop_user(chorus_mailbox *mb, const char *name);

/* Bytes chorus_mailbox_encode needs at most, and for the current state. */
size_t chorus_mailbox_bytes_max(const chorus_mailbox *mb);
size_t chorus_mailbox_bytes(const chorus_mailbox *mb);

/*
 * chorus_mailbox_encode writes, big-endian: next_seq u64 | messages u32 |
 * marks u32 | messages in sequence order (to str8, from str8, seq u64,
 * sender_epoch u64, msg_id u64, text str16) | marks in (to, from) byte
 * order (to str8, from str8, epoch u64, id u64). Returns the length, or
 * CHORUS_ERR_NOBUF.
 */
int chorus_mailbox_encode(const chorus_mailbox *mb, uint8_t *buf, size_t cap_bytes);

/*
 * chorus_mailbox_decode replaces the content with buf[0..len) and stores
 * the bytes read in *used (the encoding may be followed by other data).
 * Total: returns 0, or CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_FRAME (a bad
 * name, text length, order, or a sequence number not below next_seq),
 * CHORUS_ERR_CONFIG (more than this mailbox holds); the mailbox is then
 * empty.
 */
int chorus_mailbox_decode(chorus_mailbox *mb, const uint8_t *buf, size_t len, size_t *used);

#endif
