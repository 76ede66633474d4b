/*
 * chorus_check: the simulator's oracle. It is told every message a node
 * sent, every message a node delivered and (for safe order) every room
 * message a node reports holding, and checks the delivery properties of
 * SPEC section 4 as they happen:
 *
 *   integrity     every delivery names a message that was sent by that
 *                 sender, in that epoch, with that kind, msg_id and order,
 *                 to that receiver, and its bytes are identical to the ones
 *                 sent;
 *   exactly_once  no receiver delivers one message twice (deliveries are
 *                 counted, not collected into a set);
 *   fifo          for each (sender, receiver) pair and each kind, the
 *                 messages meant for that receiver are delivered in exactly
 *                 the sender's send order, with no gaps;
 *   causal        (room, order causal and above) a receiver delivers m only
 *                 after every room message that its sender had delivered
 *                 before sending m;
 *   total_order   (room, order total and above) every node delivers the room
 *                 messages in one and the same sequence;
 *   safe          (room, order safe) a node delivers m only once every
 *                 member has reported holding it (chorus_check_held);
 *   unique_id     a sender never reuses (epoch, kind, msg_id);
 *   liveness      at the end, every obligation was delivered
 *                 (chorus_check_finish).
 *
 * Obligations: a private message is meant for its receiver; a room message
 * for every node, its sender included (cores deliver room messages to their
 * sender at their place in the room's order). One room and one view: view
 * changes and restarts are for a later version.
 *
 * The first violation is recorded with its time, node and a description;
 * later ones are counted only. Message contents are not stored: each message
 * records a 64-bit text key, and chorus_check_text regenerates its bytes for
 * the comparison.
 *
 * Memory is allocated once by chorus_check_new for `messages_max` messages;
 * registering one more is an error (CHORUS_ERR_QUEUE_FULL), never growth.
 * No clock, no I/O; the module does not depend on the rest of the simulator,
 * so its unit test can feed it hand-made events.
 */
#ifndef CHORUS_SIM_CHECK_H
#define CHORUS_SIM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define CHORUS_CHECK_MESSAGES_MAX ((size_t)1 << 22) /* ~0.8 GB at 10 nodes */
#define CHORUS_CHECK_DETAIL_BYTES 320

typedef struct chorus_check_config {
  size_t nodes;        /* 1..CHORUS_MEMBERS_MAX, numbered 0..nodes-1 */
  size_t messages_max; /* messages that can be registered, 1..2^22 */
} chorus_check_config;

/* A message a node's core accepted for sending. */
typedef struct chorus_check_msg {
  uint64_t at_us;             /* send time, µs */
  size_t sender;              /* node index */
  enum chorus_msg_kind kind;  /* room: meant for every node, sender included */
  size_t to;                  /* PRIVATE only: the receiver */
  enum chorus_order order;    /* ROOM only: its delivery order */
  uint32_t epoch, msg_id;     /* as returned by the sender's core */
  size_t len_bytes;           /* text length */
  uint64_t text_key;          /* text is chorus_check_text(text_key, len) */
} chorus_check_msg;

/* A message a node's core delivered. */
typedef struct chorus_check_delivery {
  uint64_t at_us;            /* delivery time, µs */
  size_t receiver;           /* node that delivered it */
  size_t sender;             /* member index the core reported */
  enum chorus_msg_kind kind;
  enum chorus_order order;   /* ROOM only: the order it was delivered in */
  uint32_t epoch, msg_id;
  const uint8_t *text;       /* borrowed for the call only */
  size_t len_bytes;
} chorus_check_delivery;

typedef struct chorus_check_violation {
  const char *property; /* static name, e.g. "fifo" */
  uint64_t at_us;       /* when it was observed, µs */
  size_t node;          /* where it was observed */
  char detail[CHORUS_CHECK_DETAIL_BYTES]; /* the offending event */
} chorus_check_violation;

typedef struct chorus_check_stats {
  uint64_t messages;    /* registered with chorus_check_sent */
  uint64_t obligations; /* (message, intended receiver) pairs */
  uint64_t delivered;   /* deliveries that passed integrity, dups excluded */
  uint64_t violations;  /* every violation seen, the first one included */
} chorus_check_stats;

typedef struct chorus_check chorus_check;

/*
 * chorus_check_new allocates a checker. On success stores it in *out (caller
 * owns it, release with chorus_check_free) and returns 0.
 * Errors: CHORUS_ERR_INVAL (NULL argument), CHORUS_ERR_CONFIG (nodes or
 * messages_max out of range), CHORUS_ERR_NOMEM.
 */
int chorus_check_new(const chorus_check_config *cfg, chorus_check **out);

/* chorus_check_free releases the checker; NULL is allowed. */
void chorus_check_free(chorus_check *chk);

/*
 * chorus_check_text fills buf[0..len_bytes) with the text identified by
 * `key`: printable ASCII (so valid UTF-8), the same on every host.
 */
void chorus_check_text(uint64_t key, uint8_t *buf, size_t len_bytes);

/*
 * chorus_check_sent registers message *m and its obligations.
 * Returns 0; 1 if it violates unique_id (recorded, not registered);
 * CHORUS_ERR_INVAL (node out of range, private to self or to nobody, length
 * 0 or over CHORUS_MSG_BYTES_MAX); CHORUS_ERR_QUEUE_FULL (messages_max
 * already registered).
 */
int chorus_check_sent(chorus_check *chk, const chorus_check_msg *m);

/*
 * chorus_check_deliver checks one delivery (every property but liveness).
 * Returns 0 if it is correct, 1 if it violates a property (the first
 * violation is recorded), CHORUS_ERR_INVAL for a NULL argument.
 */
int chorus_check_deliver(chorus_check *chk, const chorus_check_delivery *d);

/*
 * chorus_check_held records that node `holder` now holds room message
 * (sender, epoch, msg_id), for the safe property. Returns 0; 1 if no such
 * room message was sent (an integrity violation, recorded);
 * CHORUS_ERR_INVAL for a node out of range.
 */
int chorus_check_held(chorus_check *chk, uint64_t at_us, size_t holder,
                      size_t sender, uint32_t epoch, uint32_t msg_id);

/*
 * chorus_check_finish checks liveness at `at_us`: returns 0 if every
 * obligation was delivered, else records the first missing one (lowest send
 * order, then lowest receiver) and returns 1.
 */
int chorus_check_finish(chorus_check *chk, uint64_t at_us);

/*
 * chorus_check_fail records a violation of a property the driver checks
 * itself (e.g. "wellformed"); `property` must be a static string. The
 * detail is formatted like printf and truncated to fit.
 */
void chorus_check_fail(chorus_check *chk, const char *property, uint64_t at_us,
                       size_t node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The first violation, or NULL if there was none. Owned by the checker. */
const chorus_check_violation *chorus_check_first(const chorus_check *chk);

/* Obligations not yet delivered. */
uint64_t chorus_check_outstanding(const chorus_check *chk);

void chorus_check_stats_get(const chorus_check *chk, chorus_check_stats *out);

/*
 * chorus_check_latency stores the p50, p99 and maximum of the latencies
 * (delivery time minus send time, µs, one per correct delivery) using the
 * nearest-rank method; all zero when nothing was delivered. It sorts the
 * checker's latency table in place (later deliveries are still recorded).
 */
void chorus_check_latency(chorus_check *chk, uint64_t *p50_us, uint64_t *p99_us,
                          uint64_t *max_us);

#endif
