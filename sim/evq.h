/*
 * chorus_evq: the simulator's pending-event queue, a binary min-heap with a
 * capacity fixed at creation.
 *
 * Events are ordered by (at_us, seq): seq is a counter the queue assigns at
 * push time, so two events due at the same virtual microsecond always come
 * out in the order they were scheduled. That explicit tie-break is what makes
 * a run reproducible: the heap's own layout never decides an order.
 *
 * A full queue is an error returned to the caller (CHORUS_ERR_QUEUE_FULL),
 * never silent growth.
 */
#ifndef CHORUS_SIM_EVQ_H
#define CHORUS_SIM_EVQ_H

#include <stddef.h>
#include <stdint.h>

/* What an event means; the simulator interprets the other fields by kind. */
enum chorus_evq_kind {
  CHORUS_EVQ_DGRAM = 1, /* datagram `slot` from node `from` arrives at `node` */
  CHORUS_EVQ_TIMER = 2, /* `node`'s timer scheduled for at_us fires */
  CHORUS_EVQ_WORK = 3,  /* the workload sends its next message */
  CHORUS_EVQ_HEAL = 4,  /* end of the workload: faults stop */
  CHORUS_EVQ_CRASH = 5, /* crash number `slot` of the plan is due (or its
                           mid-output fallback, then `from` is 1) */
  CHORUS_EVQ_REMOVE = 6, /* `node` is told that `from` (its boot `slot`,
                            an epoch) is gone */
  CHORUS_EVQ_RESTART = 7, /* crashed `node` boots again (crash `slot`) */
  CHORUS_EVQ_PARTITION = 8, /* partition episode `slot` starts (`from` 1)
                               or ends (`from` 0) */
  CHORUS_EVQ_SEAT = 9,   /* via server: `node`'s client and seat timer
                            (armed by its boot `boot`) */
  CHORUS_EVQ_JOIN = 10,  /* via server: `node` starts joining the room */
  CHORUS_EVQ_LEAVE = 11, /* via server: leave `slot` is due (`from` 0), or
                            `node`'s leave grace ended (`from` 1) */
  CHORUS_EVQ_SERVER = 12, /* via server: the server's timer (`from` 0, its
                             boot in `slot`), crash (1) or restart (2) */
};

typedef struct chorus_evq_event {
  uint64_t at_us; /* virtual time the event is due, µs */
  uint64_t seq;   /* push order, assigned by chorus_evq_push */
  uint32_t slot;  /* DGRAM: network pool slot holding the bytes; CRASH,
                     RESTART: the crash's index; REMOVE: the epoch */
  uint8_t kind;   /* enum chorus_evq_kind */
  uint8_t node;   /* node the event happens at */
  uint8_t from;   /* DGRAM: sending node; REMOVE: the removed node */
  uint8_t boot;   /* DGRAM: the sender's boot (0, 1, ...) when it sent it;
                     TIMER: the boot of `node` that armed it */
} chorus_evq_event;

typedef struct chorus_evq chorus_evq;

/*
 * chorus_evq_new allocates a queue holding at most `capacity` events
 * (1..2^28). On success stores it in *out (caller owns it, release with
 * chorus_evq_free) and returns 0.
 * Errors: CHORUS_ERR_INVAL (out NULL), CHORUS_ERR_CONFIG (capacity out of
 * range), CHORUS_ERR_NOMEM.
 */
int chorus_evq_new(size_t capacity, chorus_evq **out);

/* chorus_evq_free releases the queue; NULL is allowed. */
void chorus_evq_free(chorus_evq *q);

/*
 * chorus_evq_push copies `ev` into the queue, overwriting ev->seq with the
 * next sequence number. Returns 0, or CHORUS_ERR_QUEUE_FULL when the queue
 * already holds `capacity` events (nothing is changed then).
 */
int chorus_evq_push(chorus_evq *q, const chorus_evq_event *ev);

/*
 * chorus_evq_pop removes the earliest event (smallest at_us, then smallest
 * seq) into *out and returns 1, or returns 0 if the queue is empty.
 */
int chorus_evq_pop(chorus_evq *q, chorus_evq_event *out);

/* Number of events queued now, and the largest number ever queued at once. */
size_t chorus_evq_len(const chorus_evq *q);
size_t chorus_evq_high_water(const chorus_evq *q);

#endif
