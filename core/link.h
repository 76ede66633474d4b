/*
 * chorus_link: a reliable, FIFO frame stream between this node and one
 * other member, over an unreliable datagram service.
 *
 * Sender: every frame gets the next 64-bit sequence number and waits in a
 * fixed ring of `window_frames` slots until acknowledged. Cumulative ACK plus
 * up to 8 SACK ranges (in the manner of RFC 2018 / RFC 9000 section 19.3)
 * acknowledge frames; a frame is retransmitted on RTO expiry (RFC 6298, see
 * rtt.h) or early, once a frame sent after it and at least 3 sequence
 * numbers above it is acknowledged (the packet threshold of RFC 9002 section
 * 6.1.1). A full ring is back-pressure: CHORUS_ERR_WINDOW_FULL.
 *
 * Receiver: frames are accepted inside [rcv_base, rcv_base + window),
 * duplicates are counted and re-acknowledged, and whole messages are handed
 * out strictly in sequence order, so delivery is FIFO and exactly once per
 * stream. ACKs are delayed by ack_delay_us, except after a gap, a duplicate or
 * every second data datagram (RFC 1122 4.2.3.2 / RFC 9000 13.2.1), and are
 * piggy-backed on every datagram sent to the peer.
 *
 * A stream lives as long as both incarnations (epochs) do: when the peer
 * restarts (chorus_link_on_epoch), both directions start again at wire
 * sequence 0 and the private messages the old incarnation never
 * acknowledged are sent anew, but for the tail of a message whose head it
 * took; that tail and every room and control frame are abandoned (counted):
 * they belonged to the old incarnation's place in the room.
 */
#ifndef CHORUS_LINK_H
#define CHORUS_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "rtt.h"
#include "wire.h"

typedef struct chorus_link_slot chorus_link_slot;

/* A link has two pools of fragment buffers, of CHORUS_LINK_FRAG_SMALL_BYTES
 * and of CHORUS_WIRE_FRAG_BYTES_MAX, each with one buffer per slot of its two
 * rings; a fragment goes to the smaller size that holds it. A link carrying
 * short messages so writes (and keeps resident) only small buffers, never
 * running short of space for a long one. */
#define CHORUS_LINK_FRAG_SMALL_BYTES 256

typedef struct chorus_link_config {
  size_t window_frames; /* ring size for each direction, >= 2 */
  uint32_t msg_bytes_max; /* longest message this node accepts */
  uint32_t rto_us_initial, rto_us_min, rto_us_max, ack_delay_us;
} chorus_link_config;

/* One message header and fragment, as handed to chorus_link_queue(). */
typedef struct chorus_link_frag {
  uint8_t kind, order, flags;
  uint32_t msg_id, msg_len;
  uint16_t frag_len;
  const uint8_t *frag;
} chorus_link_frag;

/* A complete message handed out by chorus_link_deliver(). */
typedef struct chorus_link_msg {
  uint8_t kind, order;
  uint32_t msg_id;
  size_t len;
} chorus_link_msg;

typedef struct chorus_link {
  chorus_link_config cfg;
  chorus_rtt rtt;
  uint32_t peer_epoch; /* 0 until the peer has been heard */
  /* send side */
  chorus_link_slot *snd;  /* window_frames slots */
  uint64_t snd_una, snd_nxt;
  uint64_t snd_base;         /* frame number sent as wire sequence 0 */
  uint64_t tx_counter;       /* orders transmissions for loss detection */
  uint64_t hello_due_us;     /* next HELLO while peer_epoch is 0 */
  int hello_needed, reply_needed;
  int named; /* the peer has named our epoch (HELLO until then) */
  int hello_resumed; /* a HELLO resumed this link since the peer last named
                        us: once is enough (each HELLO would drop the backoff
                        again, and a peer still refusing our frames would get
                        them at the base RTO) */
  /* receive side */
  chorus_link_slot *rcv;  /* window_frames slots */
  uint64_t rcv_base;      /* lowest frame not yet delivered */
  uint64_t rcv_next;      /* lowest frame not yet received */
  uint64_t peeked;        /* frames of the message chorus_link_peek showed */
  int ack_pending, ack_immediate;
  uint64_t ack_due_us;
  uint32_t data_dgrams_unacked, data_frames_unacked; /* since our last ACK */
  uint8_t *frag_mem;      /* 2 * window_frames small and as many large
                             fragment buffers (see below) */
  uint8_t **free_small, **free_large; /* stacks of free buffers of each size */
  size_t free_small_count, free_large_count;
  chorus_link_stats stats;
} chorus_link;

/*
 * chorus_link_init allocates the two rings (memory fixed from here on).
 * Returns 0, CHORUS_ERR_CONFIG (window < 2 or > CHORUS_WINDOW_FRAMES_MAX) or
 * CHORUS_ERR_NOMEM. The first HELLO is due at `now_us`.
 */
int chorus_link_init(chorus_link *l, const chorus_link_config *cfg,
                     uint64_t now_us);

/* chorus_link_reset forgets everything about the peer (a new occupant of
 * the member slot): as after chorus_link_init, keeping the rings. The first
 * HELLO is due at `now_us`. Cannot fail. */
void chorus_link_reset(chorus_link *l, uint64_t now_us);

/* chorus_link_free releases the rings; safe on a zeroed or freed link. */
void chorus_link_free(chorus_link *l);

/* Encoded bytes of the first data frame due to be sent, 0 if none. */
size_t chorus_link_next_frame_bytes(const chorus_link *l);

/* Free send slots (frames that can still be queued). */
size_t chorus_link_space(const chorus_link *l);

/*
 * chorus_link_queue appends one fragment to the send ring (copied).
 * Returns 0, CHORUS_ERR_WINDOW_FULL or CHORUS_ERR_INVAL (fragment too long).
 */
int chorus_link_queue(chorus_link *l, const chorus_link_frag *f);

/*
 * chorus_link_on_epoch records the peer's epoch from a datagram header.
 * Returns 0 if unchanged, 1 on first contact, 2 if the peer restarted (the
 * link was reset; stats.abandoned says how many frames were dropped), or
 * CHORUS_ERR_STALE_EPOCH if `epoch` is older than the known one.
 */
int chorus_link_on_epoch(chorus_link *l, uint32_t epoch, uint64_t now_us);

/*
 * chorus_link_resume: the peer takes our frames again after ignoring them
 * for a while (two views merging after a partition): the RTO backoff those
 * unanswered frames built is dropped and every frame in flight is sent
 * again at once.
 */
void chorus_link_resume(chorus_link *l);


/* Process a DATA frame that arrived at now_us. Returns 0 or
 * CHORUS_ERR_BAD_FRAME (message longer than msg_bytes_max). Duplicates and
 * frames beyond the window are counted and return 0. */
int chorus_link_on_data(chorus_link *l, const chorus_wire_data *d,
                        uint64_t now_us);

/* Note that a datagram carrying data arrived (drives the every-2nd ACK). */
void chorus_link_on_data_datagram(chorus_link *l, uint64_t now_us);

/* Process an ACK frame. Returns 0, or CHORUS_ERR_BAD_FRAME if it
 * acknowledges frames never sent (the ACK is then ignored). */
int chorus_link_on_ack(chorus_link *l, const chorus_wire_ack *a,
                       uint64_t now_us);

/* A datagram from the peer named our epoch: no more HELLO. */
void chorus_link_named(chorus_link *l);

/* The peer asked for an answer (HELLO, or it does not know our epoch). */
void chorus_link_request_reply(chorus_link *l);

/* A HELLO came: the peer has not taken a datagram of ours yet (nor named
 * our epoch), so our frames it left unacknowledged until they timed out
 * may have been refused, not lost (a seat it could not name yet, via a
 * server): they go again at once, without the backoff, besides the
 * answer. */
void chorus_link_on_hello(chorus_link *l);

/* Run timers due at now_us: RTO expiry, delayed ACK, HELLO. */
void chorus_link_tick(chorus_link *l, uint64_t now_us);

/* Earliest time a timer of this link is due, UINT64_MAX if none. */
uint64_t chorus_link_deadline(const chorus_link *l);

/*
 * chorus_link_write encodes the frames due now (ACK first, then HELLO, then
 * data in sequence order) into buf[0..cap_bytes). Sets *must_send when the
 * datagram must go out even if empty (a reply that announces our epoch).
 * Returns the bytes written (0: nothing due).
 */
size_t chorus_link_write(chorus_link *l, uint64_t now_us, uint8_t *buf,
                         size_t cap_bytes, int *must_send);

/*
 * chorus_link_deliver copies the next complete message, in stream order,
 * into buf[0..cap_bytes) and describes it in *m. Returns 1 if a message was
 * delivered, 0 if none is complete. A stream that breaks the framing rules
 * (a malicious or buggy peer) has the offending frames discarded and counted
 * in *bad_frames; it never stalls the link.
 * Errors: CHORUS_ERR_NOBUF if cap_bytes < msg_bytes_max.
 */
int chorus_link_deliver(chorus_link *l, uint8_t *buf, size_t cap_bytes,
                        chorus_link_msg *m, uint64_t *bad_frames);

/*
 * chorus_link_peek is chorus_link_deliver without taking the message: the
 * same message comes back until chorus_link_consume() takes it. Lets the
 * caller leave a message in the link (back-pressure) after looking at it.
 */
int chorus_link_peek(chorus_link *l, uint8_t *buf, size_t cap_bytes,
                     chorus_link_msg *m, uint64_t *bad_frames);

/* Take the message the last successful chorus_link_peek showed. */
void chorus_link_consume(chorus_link *l);

/* Snapshot of counters and estimates. */
void chorus_link_stats_get(const chorus_link *l, chorus_link_stats *out);

/* True when frames are unacknowledged or waiting to be sent. */
int chorus_link_busy(const chorus_link *l);

/* Frames waiting to be sent or in flight (in_flight + queued of
 * chorus_link_stats_get, without the rest of the snapshot). */
size_t chorus_link_unsettled(const chorus_link *l);

#endif
