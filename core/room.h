/*
 * chorus_room: delivery order of room messages (SPEC section 4,
 * docs/ORDERING.md), above the per-pair reliable FIFO links.
 *
 * Members are identified here by rank: their position in byte-wise order of
 * names, the same at every node. Each room message carries its origin, the
 * origin's epoch, its per-origin number `count` (1, 2, ...), a vector clock
 * (Fidge/Mattern: vc[k] = messages from k the origin had delivered when it
 * sent, vc[origin] = count - 1) and, for total and safe messages, a global
 * sequence number assigned by the view's sequencer (lowest rank in the view).
 *
 *   fifo    deliver when every earlier message of the origin is delivered
 *   causal  and every message in the vector clock is delivered
 *           (causal broadcast, Birman, Schiper and Stephenson 1991)
 *   total   and its sequence number is the next one (fixed sequencer, the
 *           "BB" and "PB" methods of Kaashoek and Tanenbaum's Amoeba: the
 *           origin sends a long message to all and the sequencer, when it
 *           is causally deliverable there, numbers it and announces the
 *           number in a small ORDER frame (a member needs both); a short one
 *           goes to the sequencer, which forwards it with its number)
 *   safe    and every member of the view holds it (stability: every member
 *           reports the count of messages it holds per origin; the stable
 *           vector is the minimum over the view)
 *
 * Messages stay retained after delivery until stable, so that when a member
 * is removed every survivor can relay what others may lack (agreement,
 * virtual synchrony) before the next view orders anything new: the flush.
 *
 * Memory, fixed at init: retain_msgs message slots, 2 * history_msgs history
 * entries (history_msgs of them sent to a newcomer, the older ones kept
 * while still being sent), CHORUS_ROOM_NUMBERINGS_PER_SLOT * retain_msgs
 * numbers that came before their message, and an outbox (outbox_cap() in
 * room.c). Texts are
 * kept by size class (chorus_room_text): each slot and each history entry owns one text
 * buffer in every class, and a text goes to the smallest class that holds
 * it. So storing a text never waits for a buffer (the hold-back queue's
 * freedom from deadlock rests on counting slots alone), while only the
 * buffers of the classes in use are ever written: a room of short messages
 * keeps its texts in CHORUS_ROOM_TEXT_CLASS_MIN_BYTES per slot, not a page.
 */
#ifndef CHORUS_ROOM_H
#define CHORUS_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

/* Bytes of room header before the text: see chorus_room_encode(). */
#define CHORUS_ROOM_HDR_BYTES(n) (23 + 4 * (size_t)(n))
#define CHORUS_ROOM_HDR_BYTES_MAX CHORUS_ROOM_HDR_BYTES(CHORUS_MEMBERS_MAX)
/* Control messages (DATA kind 2): type 1 | view 4 | type-specific bytes.
 *   FLUSH_DONE  1 | view                 (5 bytes; handled by the room)
 *   VIEW        2 | view | mask 4 | reason 1  (10 bytes; membership, peer.c)
 *   LEAVE       3 | view                 (5 bytes; membership, peer.c)
 * VIEW's mask has a bit per rank of the members of the new view. */
#define CHORUS_ROOM_CTRL_BYTES 5
#define CHORUS_ROOM_CTRL_FLUSH_DONE 1
#define CHORUS_ROOM_CTRL_VIEW 2
#define CHORUS_ROOM_CTRL_LEAVE 3
/*   FLUSH_CUTLESS 10 | view   (5 bytes) a newcomer still without its cut
 *     installed the VIEW numbered `view`: it holds nothing a flush of that
 *     change settles (member.c, flush_answer_cutless) */
#define CHORUS_ROOM_CTRL_FLUSH_CUTLESS 10
/*   JOIN_STATE  4 | view 4 | ord_view 4 | next_seq 4 | seq_assigned 4 |
 *               seq_rank 1 | alive 4 | n 1 | n * delivered 4 | n * stable 4 |
 *               n * epoch 4 | n * first 4 | n * past 4 | view_id 4
 *     the coordinator's state at the moment it admitted the receiver; for
 *     each rank the incarnation it knows and that incarnation's first count,
 *     and the coordinator's causal past (what the history's messages
 *     depended on: HISTORY carries no vector clock); view_id: the
 *     membership number of the view the cut brings (the JOIN's, or the
 *     resending coordinator's current view)
 *   HISTORY     5 | origin 1 | order 1 | epoch 4 | count 4 | view 4 | seq 4 |
 *               text       one delivered message of the room's history
 *   JOINED      6 | view 4 | joiner 1   (6 bytes; handled by the room)
 *     the sender has let rank `joiner` into its view. To the joiner: what
 *     follows waits for the coordinator's JOIN_STATE. To the coordinator
 *     (from every other member): an acknowledgement; the coordinator takes
 *     its cut once all have come, so the cut holds every message a member
 *     sent before it let the joiner in
 *
 * A member's room numbering (count) continues across its incarnations: a
 * restarted member's first message is numbered after the last one of its
 * previous incarnation that the room kept (`first`, chosen by the
 * coordinator that admits it). So vector clocks and stability vectors never
 * mix two numberings, and an older incarnation's message numbered `first`
 * or later can be told for what it is: one nobody can deliver (an orphan). */
#define CHORUS_ROOM_CTRL_JOIN_STATE 4
#define CHORUS_ROOM_CTRL_HISTORY 5
#define CHORUS_ROOM_CTRL_JOINED 6
#define CHORUS_ROOM_JOINED_BYTES 6
#define CHORUS_ROOM_JOIN_STATE_BYTES(n) (27 + 20 * (size_t)(n))
/*   MERGE_STATE 7 | view 4 | ord_view 4 | next_seq 4 | seq_assigned 4 |
 *               seq_rank 1 | alive 4 | n 1 | n * delivered 4 | n * stable 4 |
 *               y_coord 1 | view_id 4 | n * gone_end 4
 *     the absorbing coordinator's state, to each member of the absorbed
 *     side, with the rank of that side's coordinator and the membership
 *     number of the merged view (docs/PROTOCOL.md, "Merging views")
 *   MERGE_HIST  8 | the HISTORY fields: one message of the sending side's
 *               history, delivered (marked merge) if the receiver lacks it
 *   MERGE_DONE  9 | view 4: the absorbed side's coordinator has sent all of
 *               its history (the absorbing sequencer numbers that side's
 *               messages again) */
#define CHORUS_ROOM_CTRL_MERGE_STATE 7
#define CHORUS_ROOM_CTRL_MERGE_HIST 8
#define CHORUS_ROOM_CTRL_MERGE_DONE 9
/*   HISTORY_AGAIN 11 | the HISTORY fields: a history resent by
 *               chorus_room_join_resend (a newcomer that took a cut ignores
 *               it; a plain HISTORY to such a node comes from a coordinator
 *               that never held it in its view) */
#define CHORUS_ROOM_CTRL_HISTORY_AGAIN 11
#define CHORUS_ROOM_MERGE_STATE_BYTES(n) (28 + 12 * (size_t)(n))
/*   ORDER      12 | view 4 | k 1 | k * (origin 1 | epoch 4 | count 4 | seq 4)
 *     the sequencer's numberings (handled by the room): message `count` of
 *     `origin` (incarnation `epoch`) is number `seq` of the ordering view
 *     `view`. Also relayed in a flush by members that know a number without
 *     its data. At most CHORUS_ROOM_ORDER_PER_FRAME_MAX numberings a frame. */
#define CHORUS_ROOM_CTRL_ORDER 12
/*   HOLDS      13 | view 4 | member 1: JOINED's layout; a newcomer that took
 *               its cut holds `member` in its view (to that member: one
 *               admitted before it counts it among the members that have
 *               its JOIN, chorus_room_settled; it expects no cut) */
#define CHORUS_ROOM_CTRL_HOLDS 13
/*   STABLE     14 | alive 4 | n 1 | n * stable 4 | n * epoch 4 |
 *               ord_view 4 | n * announced 4
 *     sent by each survivor of a removal, ahead of its flush relays: its
 *     stable counts, which every member of `alive` (bit per rank, the view
 *     it leaves; `epoch`, their incarnations) holds. A member whose own
 *     view is among them (same incarnations) raises its stable counts to
 *     these (not beyond what it holds), freeing slots before the relays
 *     come: the sequencer's announcements are unreliable and go to one
 *     view only, so without this a member could start the flush knowing
 *     less stable than the origins that freed their quotas on it, and the
 *     relays would not fit (chorus_room_on_control). `announced`: the
 *     counts the sender may deliver safe messages up to (the sequencer's
 *     announcement it heard, at most `stable`), taken likewise by a member
 *     delivering the same ordering view `ord_view`: one that missed the
 *     announcements holds stable safe messages it cannot deliver, which no
 *     quota bounds, and the relays would not fit either. */
#define CHORUS_ROOM_CTRL_STABLE 14
#define CHORUS_ROOM_STABLE_BYTES(n) (10 + 12 * (size_t)(n))
#define CHORUS_ROOM_ORDER_HDR_BYTES 6
#define CHORUS_ROOM_ORDER_ENTRY_BYTES 13
#define CHORUS_ROOM_ORDER_PER_FRAME_MAX 16
#define CHORUS_ROOM_ORDER_BYTES(k) \
  (CHORUS_ROOM_ORDER_HDR_BYTES + CHORUS_ROOM_ORDER_ENTRY_BYTES * (size_t)(k))
/* Total and safe messages of at least this many bytes go from their origin
 * to every member (BB), shorter ones to the sequencer, which forwards them
 * with their numbers (PB): see via_sequencer() in room.c. */
#define CHORUS_ROOM_BB_MIN_BYTES 512
/* Numberings known here without their data, at most this many per slot. */
#define CHORUS_ROOM_NUMBERINGS_PER_SLOT 2
#define CHORUS_ROOM_HISTORY_HDR_BYTES 19
#define CHORUS_ROOM_CTRL_BYTES_MAX CHORUS_ROOM_JOIN_STATE_BYTES(CHORUS_MEMBERS_MAX)
#define CHORUS_HISTORY_MSGS_DEFAULT 100 /* delivered messages kept for catch-up */

/* Text size classes: CHORUS_ROOM_TEXT_CLASS_MIN_BYTES, times
 * CHORUS_ROOM_TEXT_CLASS_GROWTH each, the last one msg_bytes_max; at most
 * CHORUS_ROOM_TEXT_CLASSES_MAX (256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB). */
#define CHORUS_ROOM_TEXT_CLASS_MIN_BYTES 256
#define CHORUS_ROOM_TEXT_CLASS_GROWTH 4
#define CHORUS_ROOM_TEXT_CLASSES_MAX 5

/* `entries` text buffers in each class; entry i of a class belongs to slot
 * (or history entry) i. */
typedef struct chorus_room_text {
  size_t classes;
  size_t class_bytes[CHORUS_ROOM_TEXT_CLASSES_MAX]; /* ascending */
  uint8_t *mem[CHORUS_ROOM_TEXT_CLASSES_MAX];       /* entries * class_bytes */
} chorus_room_text;

typedef struct chorus_room_slot chorus_room_slot;

/* A number that came (ORDER) before its message: kept until the message
 * comes, or a flush or cut makes it void. */
typedef struct chorus_room_numbering {
  uint8_t origin;
  uint32_t epoch, count, seq_view, seq;
} chorus_room_numbering;
typedef struct chorus_room_hist chorus_room_hist;

/* One pending transmission to the members in `mask` (bit per rank): a
 * retained message (slot >= 0), a control message held in `ctrl` (slot -1),
 * or history entry -2 - slot (slot <= -2). */
typedef struct chorus_room_send {
  int32_t slot;
  uint32_t mask;
  uint32_t view;
  uint8_t ctrl_len; /* slot < 0: the control message itself */
  uint8_t hist_type; /* slot <= -2: HISTORY or MERGE_HIST */
  uint8_t *ctrl;    /* CHORUS_ROOM_CTRL_BYTES_MAX bytes of the room's
                       ctrl_mem, this entry's own: apart from the entries,
                       so the ring of mostly message sends stays small in
                       memory (control messages are few) */
} chorus_room_send;

/* A message handed to the user by chorus_room_deliver(). */
typedef struct chorus_room_delivery {
  size_t origin; /* rank */
  uint32_t origin_epoch, count, view, seq;
  uint8_t order;
  const uint8_t *text; /* valid until the next call into the room */
  size_t len;
} chorus_room_delivery;

typedef struct chorus_room {
  size_t n, self;            /* members (ranks 0..n-1) and own rank */
  size_t retain_max, msg_bytes_max;
  uint32_t view;             /* ordering epoch: sequence numbers, FLUSH_DONE
                                and STATE are labelled with it; moves on
                                removals and merges only */
  uint32_t view_id;          /* membership view number (docs/PROTOCOL.md,
                                "View numbers"): kept by the peer (one more
                                at every installed view, joins too), carried
                                in cuts; 1 at init */
  uint32_t ord_view;         /* view whose sequence numbers are delivered */
  uint32_t alive;            /* ranks in the view, bit per rank */
  uint32_t epoch[CHORUS_MEMBERS_MAX];     /* newest known epoch per origin */
  uint32_t prev_epoch[CHORUS_MEMBERS_MAX]; /* the one before it (counts below
                                             `first`) */
  uint32_t first[CHORUS_MEMBERS_MAX];     /* lowest count known of that epoch
                                             (own rank: UINT32_MAX until a
                                             JOIN_STATE sets it) */
  uint32_t gone_end[CHORUS_MEMBERS_MAX];  /* removed origin: the last count
                                             the flush that removed it kept
                                             (UINT32_MAX: none known) ... */
  uint32_t gone_epoch[CHORUS_MEMBERS_MAX]; /* ... of this epoch or older */
  uint32_t delivered[CHORUS_MEMBERS_MAX]; /* messages delivered per origin */
  uint32_t held[CHORUS_MEMBERS_MAX];      /* contiguous messages held per origin */
  uint32_t known_held[CHORUS_MEMBERS_MAX][CHORUS_MEMBERS_MAX]; /* reports */
  uint32_t stable[CHORUS_MEMBERS_MAX];    /* held by every view member */
  uint32_t last_announced[CHORUS_MEMBERS_MAX]; /* sequencer's last stable
                                                  (its own, at the sequencer) */
  uint32_t stable_seq[CHORUS_MEMBERS_MAX]; /* highest stable a sequencer
                                             announced (lowered with stable) */
  uint32_t held_reported[CHORUS_MEMBERS_MAX]; /* for CHORUS_OUT_HELD */
  uint32_t sent;                          /* own messages created */
  uint32_t next_seq;                      /* next sequence number to deliver */
  uint32_t seq_assigned;                  /* sequencer: last number given */
  size_t seq_rank;                        /* the view's sequencer */
  chorus_room_hist *hist;                 /* ring of delivered messages */
  chorus_room_text hist_text;             /* history texts by size */
  size_t hist_max, hist_head, hist_count; /* a newcomer gets the last hist_max */
  size_t hist_cap;                        /* ring entries: 2 * hist_max */
  uint64_t hist_skipped;                  /* not recorded: oldest still in use */
  uint32_t flush_view_of[CHORUS_MEMBERS_MAX]; /* FLUSH_DONE views received */
  uint32_t cutless_view_of[CHORUS_MEMBERS_MAX]; /* FLUSH_CUTLESS views received */
  uint32_t flush_first;                   /* the view of the first removal of
                                             the change under way (a VIEW
                                             removing k members raises `view`
                                             k times) */
  int flush_same_change;                  /* set by the caller: the next removal
                                             belongs to the change under way */
  int flushing;
  uint32_t flush_view;                    /* the view whose FLUSH_DONEs it
                                             waits for (a merge may raise
                                             `view` meanwhile) */
  int awaiting_cut;                       /* admitted, JOIN_STATE not here yet:
                                             nothing is delivered live */
  int cut_taken;                          /* a JOIN_STATE was adopted */
  int numbers_owed;                       /* since the cut, a number of
                                             next_seq..seq_assigned may be on
                                             no message here yet (the relays
                                             bring them): see
                                             chorus_room_numbers_held */
  uint32_t cut_delivered[CHORUS_MEMBERS_MAX]; /* per origin, what the cuts
                                             taken counted delivered here
                                             (history): relays of those are
                                             kept until stable (0 after a
                                             merge) */
  uint32_t unreported;                    /* ranks admitted that have sent no
                                             STATE since: their holdings bound
                                             what STABLE tells others */
  uint32_t dead;                          /* ranks held for dead here (the
                                             peer's verdicts, certain to be
                                             removed): freeing slots counts
                                             them holding everything */
  uint32_t settle_wait;                   /* newcomer: ranks whose JOINED for
                                             this node has not come since its
                                             cut; nothing is delivered (history
                                             included) while one is in the view */
  uint32_t joined_from;                   /* ranks that sent JOINED for this node */
  uint32_t joined_view_of[CHORUS_MEMBERS_MAX]; /* ... and the latest's view */
  uint32_t settle_floor;                  /* a JOINED counts from this view
                                             (an afresh cut's: older ones
                                             acknowledged the cut it replaced) */
  size_t hist_unsent;                     /* newest history entries not yet
                                             delivered (settle_wait) */
  uint32_t join_pending;                  /* coordinator: newcomers (ranks)
                                             still waiting for their cut */
  uint32_t join_wait[CHORUS_MEMBERS_MAX]; /* ranks whose JOINED for that
                                             newcomer has not come yet */
  uint32_t flush_members;                 /* survivors the flush waits for */
  uint32_t past[CHORUS_MEMBERS_MAX];      /* causal past: vector clock of
                                             everything delivered here */
  int gc_needed;                          /* stable grew: collect slots */
  int orphans_left;                       /* orphans still being relayed */
  uint32_t state_dirty;                   /* ranks owed a STATE report */
  chorus_room_slot *slots;
  int32_t *slot_of;                       /* n * retain_max: the slot last
                                             stored with (origin, count), at
                                             origin * retain_max + count %
                                             retain_max; checked on use */
  uint32_t own_pending;                   /* own messages submitted and not
                                             yet released: at least the
                                             RS_PENDING slots, so the scan
                                             for them is skipped at 0 */
  int slot_of_shared;                     /* two live messages of an origin
                                             met in one entry: look up by
                                             scanning from then on */
  size_t slots_free;                      /* slots in RS_FREE (slot_set) */
  int skip_check;                         /* a delivered slot may hold a
                                             number still to come: only
                                             then merged_skip scans */
  chorus_room_text text;                  /* slot texts by size */
  chorus_room_send *outbox;               /* ring, see outbox_cap() */
  uint8_t *ctrl_mem;                      /* control bytes of the entries */
  size_t ob_head, ob_count;
  uint64_t discarded;                     /* undeliverable after a flush */
  uint64_t relayed;                       /* messages relayed in flushes */
  uint64_t outbox_full;                   /* sends lost: no outbox entry */
  uint64_t merge_gaps;                    /* merge deliveries that skipped
                                             messages (beyond the history) */
  uint32_t merge_hold;                    /* absorbing sequencer: ranks outside
                                             its side, whose messages it
                                             numbers only after MERGE_DONE
                                             (a copy that waited in a frozen
                                             link may be in that side's
                                             history, delivered there) */
  size_t merge_ycoord;                    /* who sends that MERGE_DONE */
  uint32_t merge_pass_from;               /* absorbing coordinator: ranks of
                                             its side not known to have
                                             installed the merge (no STATE
                                             of the merged view yet) ... */
  uint32_t merge_pass_to;                 /* ... whose new messages it passes
                                             on to these (the absorbed side) */
  chorus_room_numbering *numberings;      /* numbers without their data */
  size_t numberings_count, numberings_max; /* max: NUMBERINGS_PER_SLOT *
                                              retain_max */
  uint64_t numberings_full;               /* numbers lost: table full */
  uint8_t *run_seen;                      /* scratch: retain_max +
                                             numberings_max flags */
  uint32_t merge_from;                    /* numbers labelled merge_from..
                                             view-1 count as the view's: the
                                             absorbing side's ordering goes on
                                             under the merged view's label */
} chorus_room;

/*
 * chorus_room_init: `n` members, own rank `self`, `retain_msgs` slots for
 * texts of up to `msg_bytes_max` bytes, and a history of the last `history_msgs`
 * delivered messages (0: none) for members that join late or restart.
 * View 1 holds every member; its sequencer is rank 0.
 * Returns 0, CHORUS_ERR_CONFIG or CHORUS_ERR_NOMEM.
 */
int chorus_room_init(chorus_room *r, size_t n, size_t self, size_t retain_msgs,
                     size_t msg_bytes_max, size_t history_msgs);
void chorus_room_free(chorus_room *r);

/* How many of origin k's messages this member reports it holds: its run of
 * held messages (held[k]) up to the first one whose causal past is not all
 * so counted here, or a total one numbered past a gap in the numbers held
 * here (or by a view whose flush is not over here). A message counts
 * towards stability only once this member could deliver it: else messages
 * that wait here for one that never comes (its origin crashed, a relay is
 * on the way; with numbers and data travelling apart, a number or a
 * message still on its way) would become stable, free their senders'
 * quotas, and pile up here without bound, filling the slots that the view
 * change or the relays need. O(slots + messages held, undelivered). */
uint32_t chorus_room_held_closed(const chorus_room *r, size_t k);
/* The same for every origin at once, into held[0..n). */
void chorus_room_held_closed_all(const chorus_room *r, uint32_t *held);

/* How many of origin k's messages every member of the view holds, as far
 * as this member knows (the reports, chorus_room_held_closed for its own),
 * leaving out the members of rank mask `except_ranks`; UINT32_MAX if no
 * member is left. */
uint32_t chorus_room_held_by_all_but(const chorus_room *r, size_t k, uint32_t except_ranks);

/* The ranks this node holds for dead (bit per rank): until their removal,
 * delivered messages every other member holds are freed (not counted
 * stable: safe delivery and the stable counts told others still wait). */
void chorus_room_set_dead(chorus_room *r, uint32_t ranks);

/* How many of origin k's messages a safe delivery here may count as
 * stable: stable[k] at the sequencer, elsewhere no more than the sequencer
 * announced (what this member reports as its stable vector, so that a
 * sequencer whose announcement it missed sends it again). */
uint32_t chorus_room_stable_safe(const chorus_room *r, size_t k);

/* Rank of the view's sequencer. */
size_t chorus_room_sequencer(const chorus_room *r);

/* chorus_room_set_members sets the first view's members (bit per rank; self
 * is always in) before any traffic, when some ranks are vacant slots; the
 * sequencer becomes the lowest rank in it. */
void chorus_room_set_members(chorus_room *r, uint32_t ranks);

/*
 * chorus_room_submit creates an own message of `order` with text[0..len)
 * (already validated) and schedules its sends. Stores its count in *count.
 * Errors: CHORUS_ERR_WINDOW_FULL when no slot or outbox entry is free (retry
 * once messages become stable), or while an admitted newcomer waits for its
 * JOIN_STATE (its numbering is not known yet).
 */
int chorus_room_submit(chorus_room *r, uint64_t now_us, uint8_t order,
                       const uint8_t *text, size_t len, uint32_t epoch,
                       uint32_t *count);

/* 1 if a received message can be taken now (a slot is free). */
int chorus_room_can_accept(const chorus_room *r);

/* 1 if room message m[0..len), arrived from rank `from`, can be taken now
 * (see room.c: the last free slots are kept for each origin's next message,
 * and for each origin's own link up to its quota). */
int chorus_room_wants(const chorus_room *r, size_t from, const uint8_t *m, size_t len);

/*
 * chorus_room_on_message processes a room message m[0..len) that arrived
 * over the link from rank `from`. Returns 0, or CHORUS_ERR_BAD_FRAME
 * (malformed: dropped, counted by the caller) or CHORUS_ERR_QUEUE_FULL (no
 * slot; call chorus_room_can_accept first).
 */
int chorus_room_on_message(chorus_room *r, uint64_t now_us, size_t from,
                           const uint8_t *m, size_t len);

/* Process a FLUSH_DONE, JOINED or ORDER control message from rank `from`.
 * Returns 0 or CHORUS_ERR_BAD_FRAME. */
int chorus_room_on_control(chorus_room *r, size_t from, const uint8_t *m,
                           size_t len);

/* Process a STATE report from rank `from`: held[] and stable[] vectors of
 * `n` entries for view `view`. */
void chorus_room_on_state(chorus_room *r, size_t from, uint32_t view,
                          const uint32_t *held, const uint32_t *stable, size_t n);

/*
 * chorus_room_deliver finds the next deliverable message, marks it delivered
 * and describes it in *d. Returns 1, or 0 if none is deliverable now.
 */
int chorus_room_deliver(chorus_room *r, uint64_t now_us, chorus_room_delivery *d);

/*
 * chorus_room_held_next reports one message newly held (received with its
 * order, so counted in stability): sets *origin, *count and the origin's
 * incarnation that sent it, *epoch; returns 1, or 0.
 */
int chorus_room_held_next(chorus_room *r, size_t *origin, uint32_t *count,
                          uint32_t *epoch);

/* Pending sends, oldest first: peek entry i, encode it, and after queueing
 * it to some members clear them with chorus_room_sent(); finally drop the
 * finished entries at the head with chorus_room_outbox_compact(). Indices
 * stay valid until the compaction. */
const chorus_room_send *chorus_room_outbox_peek(const chorus_room *r, size_t i);
size_t chorus_room_outbox_count(const chorus_room *r);
void chorus_room_sent(chorus_room *r, size_t i, uint32_t mask_done);
void chorus_room_outbox_compact(chorus_room *r);

/*
 * chorus_room_push_control queues control message ctrl[0..len) for the
 * ranks in `to`, after everything queued before it (links are FIFO).
 * Errors: CHORUS_ERR_QUEUE_FULL, CHORUS_ERR_INVAL (len out of range).
 */
int chorus_room_push_control(chorus_room *r, uint32_t to, const uint8_t *ctrl,
                             size_t len);

/* Encode outbox entry `s` into buf[0..cap); returns bytes or CHORUS_ERR_NOBUF. */
int chorus_room_encode(const chorus_room *r, const chorus_room_send *s,
                       uint8_t *buf, size_t cap_bytes);

/*
 * chorus_room_remove takes rank `rank` out of the view: a new view begins,
 * every unstable retained message, and every number known here without its
 * message, is relayed to the survivors, followed by FLUSH_DONE; total order resumes once every survivor's FLUSH_DONE arrived.
 * Returns 0, or CHORUS_ERR_INVAL (not a member of the view, or self).
 */
int chorus_room_remove(chorus_room *r, size_t rank);

/*
 * chorus_room_join_first: the count a newcomer of rank `rank` numbers its
 * first message with: one past the contiguous run of that rank's messages
 * here (delivered, or held). Called by the coordinator once the flush that
 * removed the rank's previous incarnation has completed here, when every
 * survivor holds the same run.
 */
uint32_t chorus_room_join_first(const chorus_room *r, size_t rank);

/*
 * chorus_room_join admits rank `rank` (incarnation `epoch`, numbering from
 * `first`, see chorus_room_join_first) to the view. Messages of its older
 * incarnations numbered `first` or later are discarded (orphans). Every
 * member relays to it what it holds and is not yet stable; the coordinator
 * (`coordinator` = 1) sends it JOINED, then, once every other member has
 * acknowledged the admission with JOINED, the history and its own state
 * (JOIN_STATE); any other member sends JOINED to it and to the ranks in
 * `ack_to` (the coordinator) first. So the newcomer delivers the history,
 * then continues in the room's order from the coordinator's cut. The
 * sequencer stays.
 * Errors: CHORUS_ERR_INVAL (self or already in the view),
 * CHORUS_ERR_QUEUE_FULL (no outbox room; retry after polling).
 */
int chorus_room_join(chorus_room *r, size_t rank, uint32_t epoch, uint32_t first,
                     int coordinator, uint32_t ack_to);

/*
 * chorus_room_join_resend: the coordinator sends newcomer `rank`, already
 * in the view, the history, its cut and its relays again, as
 * chorus_room_join does: the coordinator that admitted it crashed, maybe
 * before its cut left (the newcomer takes the first cut that reaches it and
 * skips history it delivered).
 * Errors: CHORUS_ERR_INVAL (self or not in the view), CHORUS_ERR_QUEUE_FULL
 * (no outbox room; retry later).
 */
int chorus_room_join_resend(chorus_room *r, size_t rank);

/*
 * chorus_room_cut_differs: 1 if cut m[0..len) (JOIN_STATE) lists a newer
 * incarnation of a member of this node's view: its coordinator removed the
 * older one in a view change that never came here. (A cut that lists a
 * member removed here, or leaves out one admitted here, may only be older
 * than a change relayed here before it: not a difference.) 0 if not, or if
 * m is not a cut for this room.
 */
int chorus_room_cut_differs(const chorus_room *r, const uint8_t *m, size_t len);

/*
 * chorus_room_on_join_state merges the coordinator's state m[0..len) into a
 * newcomer's: it adopts the view, members and sequencer, skips ahead to the
 * coordinator's delivered counts, and numbers its own messages from the
 * first count the coordinator chose; view_id becomes the cut's (the peer
 * keeps it above its previous one). Live delivery starts here.
 * Returns 0 or CHORUS_ERR_BAD_FRAME.
 */
int chorus_room_on_join_state(chorus_room *r, const uint8_t *m, size_t len);

/*
 * chorus_room_history_decode reads a HISTORY control message m[0..len)
 * into *d (d->text points into m). Returns 0 or CHORUS_ERR_BAD_FRAME.
 */
int chorus_room_history_decode(const chorus_room *r, const uint8_t *m, size_t len,
                               chorus_room_delivery *d);

/* chorus_room_history_add records delivered message *d (text copied) in the
 * history kept for newcomers: every live delivery is recorded by the room
 * itself; the caller adds the history it delivered after joining, so that
 * it can pass the room's history on in turn. */
void chorus_room_history_add(chorus_room *r, const chorus_room_delivery *d);

/*
 * chorus_room_history_hold records history entry *d (text copied) like
 * chorus_room_history_add, to be delivered once the room is settled
 * (chorus_room_history_next). Returns 0, or CHORUS_ERR_QUEUE_FULL (counted
 * in hist_skipped) when every entry of the ring is still to deliver.
 */
int chorus_room_history_hold(chorus_room *r, const chorus_room_delivery *d);

/*
 * chorus_room_history_next: the oldest history entry held and not yet
 * delivered, into *d (d->text points into the room, valid until the next
 * call into it), once a cut is taken and chorus_room_settled. Returns 1,
 * or 0 if none.
 */
int chorus_room_history_next(chorus_room *r, chorus_room_delivery *d);

/*
 * chorus_room_history_forget drops the history entries held and not yet
 * delivered: they came from a coordinator whose cut will not come (another
 * one sends its own history and cut), or from a cut rolled back.
 */
void chorus_room_history_forget(chorus_room *r);

/*
 * chorus_room_settled: 1 unless this node is a newcomer some member of its
 * view has not acknowledged (JOINED) since its cut. Until then the JOIN
 * may be lost with its coordinator (it crashes before anyone else has it),
 * and the next coordinator admits this node afresh from a cut that lacks
 * what only that coordinator delivered: delivering it here would break
 * agreement, so nothing is delivered, history included (docs/ORDERING.md,
 * "Joining"). Once every member has the JOIN, any later flush counts this
 * node, and what it holds reaches every survivor.
 */
int chorus_room_settled(const chorus_room *r);

/*
 * chorus_room_numbers_held: 1 if every number of the current ordering given
 * and not delivered here (next_seq..seq_assigned) is on a message held
 * here. Just after a cut it is not: the messages those numbers name come
 * with the relays that follow the cut, and a cut sent on before them would
 * give a number its receiver never learns.
 */
int chorus_room_numbers_held(chorus_room *r);

/*
 * chorus_room_settle_begin: a cut from rank `admitter` was taken; the
 * room waits for JOINED from every other member of the cut's view.
 * `afresh`: the cut replaced one a crashed coordinator gave (see
 * chorus_room_cut_rollback): JOINEDs older than its view do not count.
 */
void chorus_room_settle_begin(chorus_room *r, size_t admitter, int afresh);

/*
 * chorus_room_cut_rollback: a coordinator that never held this node's
 * JOIN view admits it afresh while it is not settled. Nothing of the first
 * cut was delivered, so its counts are dropped (the next cut is taken
 * whole, not merged), the history still to deliver is forgotten, and the
 * messages the first cut counted delivered wait in their slots again.
 */
void chorus_room_cut_rollback(chorus_room *r);

/* This member joins a room already running (a member told it so): nothing
 * is delivered live, nor sent, until the coordinator's JOIN_STATE. */
void chorus_room_expect_cut(chorus_room *r);

/* Set this member's own incarnation (before any other call). */
void chorus_room_set_epoch(chorus_room *r, uint32_t epoch);

/* What chorus_room_merge sends to the ranks it adds, besides the relays. */
#define CHORUS_ROOM_MERGE_HIST 1  /* the whole history, as MERGE_HIST */
#define CHORUS_ROOM_MERGE_STATE 2 /* then MERGE_STATE naming y_coord */
#define CHORUS_ROOM_MERGE_DONE 8  /* after the history, MERGE_DONE */
#define CHORUS_ROOM_MERGE_NO_RELAY 16 /* no relays */
#define CHORUS_ROOM_MERGE_SEND_ONLY 4 /* `add` are members already (the
                                         absorbed side, after MERGE_STATE):
                                         only send; `view` is ignored */

/*
 * chorus_room_merge adds the ranks in `add` (the other side of a healed
 * partition, none of them in the view) and makes `view` the view number.
 * It queues for them, in this order: with CHORUS_ROOM_MERGE_HIST every
 * history entry as MERGE_HIST, with CHORUS_ROOM_MERGE_STATE this member's
 * cut as MERGE_STATE (naming `y_coord`), then a relay of every message held
 * here or not yet stable. Returns 0, or CHORUS_ERR_INVAL (add empty, holds
 * self or a member of the view), CHORUS_ERR_QUEUE_FULL (no outbox room for
 * all of it: nothing was changed, retry later).
 */
int chorus_room_merge(chorus_room *r, uint32_t add, uint32_t view, unsigned what,
                      size_t y_coord);

/* MERGE_DONE m[0..len) from rank `from`: the absorbing sequencer numbers
 * the absorbed side's messages again. Returns 0 or CHORUS_ERR_BAD_FRAME. */
int chorus_room_on_merge_done(chorus_room *r, size_t from, const uint8_t *m, size_t len);

/*
 * chorus_room_on_merge_state adopts the absorbing coordinator's cut
 * m[0..len) at a member of the absorbed side: its view, members and
 * sequencer, and its delivered counts where they are ahead (what the
 * MERGE_HIST entries before it did not fill was beyond the history: counted
 * in merge_gaps), and the merged view's view_id. Held messages lose the numbers of this side's old
 * ordering (the new sequencer numbers them). Stores the ranks it added in
 * *added and the absorbed side's coordinator in *y_coord. Returns 0 or
 * CHORUS_ERR_BAD_FRAME.
 */
int chorus_room_on_merge_state(chorus_room *r, const uint8_t *m, size_t len,
                               uint32_t *added, size_t *y_coord);

/*
 * chorus_room_merge_take decides whether the MERGE_HIST entry *d is
 * delivered here: 1 if it is the other side's message this member lacks (its
 * origin's counts advance to it, it enters the history, a copy held here is
 * dropped), 0 if this member has it already or knows a newer incarnation
 * of its origin (its own messages too: its side may have delivered one it
 * had not when it took the merged view's order).
 */
int chorus_room_merge_take(chorus_room *r, const chorus_room_delivery *d);

/* Counters for /stats. */
typedef struct chorus_room_stats {
  uint32_t view, sequencer, alive_mask;
  uint32_t holdback;      /* received, not yet deliverable */
  uint32_t retained;      /* delivered, not yet stable */
  uint32_t stability_lag; /* messages delivered here, not yet stable */
  uint64_t oldest_unstable_us; /* held_us of the oldest unstable message */
  uint64_t discarded, relayed, outbox_full;
  uint64_t numberings_full; /* numbers lost: no room to keep them */
  uint32_t numberings;      /* numbers known here without their data */
  int flushing;
} chorus_room_stats;

void chorus_room_stats_get(const chorus_room *r, chorus_room_stats *out);



/* 1 if some message held here is not yet known stable: stability reports
 * are then repeated, since they travel unreliably. */
int chorus_room_unsettled(const chorus_room *r);

/* 1 if the messages held here and not yet known stable fill
 * 1/CHORUS_ROOM_PRESSED_PER_SLOTS of the slots, or half an origin's own
 * quota (retain_msgs / n) for some origin; O(members). Slots are freed only
 * by stability, and a sender stalls at its quota (or when the slots run
 * short), so stability reports are then wanted promptly. At the sequencer
 * "known stable" is what it last announced (chorus_room_announced): its
 * announcement is what the stalled members wait for. */
#define CHORUS_ROOM_PRESSED_PER_SLOTS 8
int chorus_room_pressed(const chorus_room *r);

/* The caller put `stable` (n entries) in a STATE frame: at the sequencer,
 * what the members will have heard. */
void chorus_room_announced(chorus_room *r, const uint32_t *stable);

/* Ranks this member reports to: the sequencer, or everyone if it is it. */
uint32_t chorus_room_report_mask(const chorus_room *r);

/* 1 if a safe message waits here (STATE reports then go out promptly). */
int chorus_room_safe_waiting(const chorus_room *r);

#endif
