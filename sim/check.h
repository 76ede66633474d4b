/*
 * chorus_check: the simulator's oracle. It is told every message a node
 * sent, every message a node delivered, every room message a node reports
 * holding, every crash and every removal a node is given, and checks the
 * delivery properties of SPEC section 4 and docs/ORDERING.md as they happen:
 *
 *   integrity     every delivery names a message that was sent by that
 *                 sender, in that epoch, with that kind, msg_id and order,
 *                 to that receiver, and its bytes are identical to the ones
 *                 sent;
 *   exactly_once  no receiver delivers one message twice (deliveries are
 *                 counted, not collected into a set; duplicates are counted
 *                 in the stats);
 *   fifo          for each (sender, receiver) pair and each kind, the
 *                 messages meant for that receiver are delivered in exactly
 *                 the sender's send order, with no gaps;
 *   causal        (room messages sent causal, total or safe) a receiver
 *                 delivers m only after every room message in m's causal
 *                 past: Lamport's happened-before over room messages, kept
 *                 by the checker itself (m1 -> m2 if m2's sender sent m1
 *                 earlier or delivered m1 before sending m2, transitively,
 *                 whatever the order of the messages in the chain);
 *   total_order   (room messages sent total or safe) any two nodes that
 *                 stay up deliver the total and safe messages they both
 *                 deliver in the same relative order, across views too
 *                 (pairwise; a node that crashed is left out of the pairs
 *                 from then on: total order is not uniform, ORDERING.md);
 *   safe          (room, order safe) a node delivers m only once every member
 *                 of its current view has reported holding it
 *                 (chorus_check_held; the view is every node minus those
 *                 given to chorus_check_removed for that node);
 *   unique_id     a sender never reuses (epoch, kind, msg_id);
 *   liveness      at the end, every message sent by a node that stayed up
 *                 was delivered by every receiver that stayed up
 *                 (chorus_check_finish);
 *   agreement     at the end, each room message sent by a crashed node was
 *                 delivered by every node that stayed up or by none of them
 *                 (delivery by any survivor obliges all survivors).
 *
 * Obligations: a private message is meant for its receiver; a room message
 * for every node, its sender included (cores deliver room messages to their
 * sender at their place in the room's order). A crashed node is no
 * receiver of obligations; the messages of a crashed node become obligations
 * for every survivor as soon as one survivor delivers them.
 *
 * The first violation is recorded with its time, node and a description;
 * later ones are counted only. Message contents are not stored: each message
 * records a 64-bit text key, and chorus_check_text regenerates its bytes for
 * the comparison.
 *
 * Latency (send to delivery) is recorded per delivery at a node other than
 * the sender, per class: the four room orders and private messages.
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

#define CHORUS_CHECK_MESSAGES_MAX ((size_t)1 << 22) /* ~1.1 GB at 10 nodes */
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
  uint64_t obligations; /* (message, receiver) pairs owed now (see above) */
  uint64_t delivered;   /* deliveries that passed integrity, dups excluded */
  uint64_t duplicates;  /* deliveries of a message the receiver already had */
  uint64_t violations;  /* every violation seen, the first one included */
  uint64_t crashed;     /* nodes given to chorus_check_crash */
  /* Set by chorus_check_finish: room messages of crashed senders delivered
   * by every survivor, by none, and room deliveries per survivor (the same
   * at every survivor when agreement holds; the lowest survivor's count). */
  uint64_t agreed_all, agreed_none, survivor_room;
} chorus_check_stats;

/* Latency classes: the four room orders (enum chorus_order) and private. */
#define CHORUS_CHECK_CLASS_PRIVATE 4
#define CHORUS_CHECK_CLASSES 5

/* Latency quantiles of one class, µs (nearest rank); all 0 if count is 0. */
typedef struct chorus_check_quantiles {
  uint64_t count, p50_us, p99_us, max_us;
} chorus_check_quantiles;

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
 * chorus_check_crash records that `node` crashed at `at_us` and stays down:
 * its pending deliveries stop being owed, and messages it sent are owed
 * only if a survivor delivers them (agreement). Returns 0, or
 * CHORUS_ERR_INVAL (node out of range or already crashed).
 */
int chorus_check_crash(chorus_check *chk, uint64_t at_us, size_t node);

/*
 * chorus_check_removed records that `node` was told at `at_us` that `member`
 * left its view (chorus_peer_remove_member): from then on, safe deliveries
 * at `node` no longer wait for `member`'s HELD report. Returns 0, or
 * CHORUS_ERR_INVAL (index out of range, member == node, or already removed).
 */
int chorus_check_removed(chorus_check *chk, uint64_t at_us, size_t node,
                         size_t member);

/*
 * chorus_check_finish checks liveness and agreement at `at_us` and fills the
 * agreement counters of the stats. Returns 0 if every obligation was
 * delivered, else records the first missing one (lowest send order, then
 * lowest receiver) as "liveness" (its sender stayed up) or "agreement" (its
 * sender crashed and another survivor delivered it) and returns 1.
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
 * chorus_check_latency fills q[0..CHORUS_CHECK_CLASSES) with the count,
 * p50, p99 and maximum of the latencies of each class (delivery time minus
 * send time, µs, one per correct delivery at a node other than the sender;
 * index = enum chorus_order for room messages, CHORUS_CHECK_CLASS_PRIVATE
 * for private ones), nearest-rank method. It sorts the checker's latency
 * table in place; later deliveries are still recorded.
 */
void chorus_check_latency(chorus_check *chk,
                          chorus_check_quantiles q[CHORUS_CHECK_CLASSES]);

#endif
