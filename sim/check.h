/*
 * chorus_check: the simulator's oracle. It is told every message a node
 * sent, every message a node delivered, every room message a node reports
 * holding, every crash and restart, and every view change a node installed,
 * and checks the delivery properties of SPEC section 4 and docs/ORDERING.md
 * and the membership properties of SPEC section 5 as they happen.
 *
 * Receivers and senders are PROCESSES: one boot of a node (node, epoch).
 * Node i starts as process i; chorus_check_restart gives a crashed node a
 * new process, which is a different receiver: what the old one delivered
 * does not count for it, and the history it catches up is no duplicate.
 *
 *   integrity     every delivery names a message that was sent by that
 *                 sender, in that epoch, with that kind, msg_id and order,
 *                 to that receiving process, and its bytes are identical
 *                 to the ones sent;
 *   exactly_once  no process delivers one message twice (deliveries are
 *                 counted, not collected into a set; duplicates are counted
 *                 in the stats);
 *   fifo          for each (sending process, receiving process) pair and
 *                 each kind, the messages meant for the receiver are
 *                 delivered in exactly the sender's send order, with no
 *                 gaps (a restarted process starts each sender's stream
 *                 where its catch-up may start, see CATCH-UP);
 *   causal        (room messages sent causal, total or safe) a receiver
 *                 delivers m only after every room message in m's causal
 *                 past: Lamport's happened-before over room messages, kept
 *                 by the checker itself (m1 -> m2 if m2's sender sent m1
 *                 earlier or delivered m1 before sending m2, transitively,
 *                 whatever the order of the messages in the chain);
 *   total_order   (room messages sent total or safe) any two processes that
 *                 stay up deliver the total and safe messages they both
 *                 deliver in the same relative order, across views too
 *                 (pairwise; a process that crashed is left out of the
 *                 pairs from then on: total order is not uniform,
 *                 ORDERING.md); history deliveries take part;
 *   safe          (room, order safe, live deliveries) a process delivers m
 *                 only once every member of its current view has reported
 *                 holding it (chorus_check_held; a restarted process holds
 *                 what its coordinator had delivered when it admitted it,
 *                 or sent it a cut again);
 *   unique_id     a sender never reuses (epoch, kind, msg_id);
 *   liveness      at the end, every message sent by a process that stayed
 *                 up was delivered by every receiver that stayed up
 *                 (chorus_check_finish);
 *   agreement     at the end, each room message sent by a crashed process
 *                 was delivered by every process that stayed up (and owes
 *                 it) or by none of them.
 *
 * MEMBERSHIP (chorus_check_view, one call per CHORUS_OUT_VIEW event):
 *
 *   false_removal a view change removes a member whose process, the one in
 *                 the remover's view, is up, unless a partition separated
 *                 the two nodes (see PARTITIONS);
 *   detection     each crash is removed by every process that had the
 *                 crashed process in its view, within detect_bound_us of
 *                 the crash, or of the latest crash after it when crashes
 *                 cascade (a coordinator that crashes before announcing a
 *                 removal leaves the next one to detect it anew); with a
 *                 bound of 0 only "eventually" (at the end) is checked.
 *                 Each (crash, survivor) gives one detection-time sample,
 *                 crash to removal;
 *   view_agreement the processes that stay up install the same sequence of
 *                 member sets (the masks of their VIEW events; timing
 *                 ignored) under the same view numbers: the same change
 *                 (same place in the sequence) has the same number at
 *                 every process. A restarted process's sequence starts at
 *                 its own JOIN, aligned with the JOIN event of the
 *                 coordinator that admitted it; at the end all stand at the
 *                 same view. A removal of a member the remover's view does
 *                 not hold fails at once;
 *   view_number   at each process the view numbers strictly increase from
 *                 its boot's view 1: each event's number is above the
 *                 previous one's, except for the events of one change
 *                 (several members removed or merged at once), which come
 *                 at one instant under one number;
 *   catch_up      see CATCH-UP;
 *   rejoin        at the end, every restarted process that is up has
 *                 installed its own JOIN (it was admitted back).
 *
 * PARTITIONS (chorus_check_partition tells the checker when an episode
 * starts and ends, and its side A; side B is the rest):
 *
 *   false_removal a removal of a process that is up is excused when an
 *                 episode was on at some time within detect_bound_us (10 s
 *                 if 0) before it: the remover may be on the same side as
 *                 the removed node and install what a coordinator cut off
 *                 from it decided (one-way partitions do that). The time
 *                 that counts is the change's decision: the first process
 *                 to install the same change (view number, member set,
 *                 process removed), its coordinator; members install it
 *                 after the flushes of the views before it. So is, at any
 *                 time, the removal of a process that a MERGE event brought
 *                 into the remover's view and that never installed a view
 *                 holding the remover (its absorber crashed before its
 *                 cut left: it never stood in the merged view), or
 *                 of a side-mate when one of the two installed a MERGE
 *                 the other never did (holds none of the processes that
 *                 merge brought in): by the one that did, or by the other
 *                 once the one that did no longer holds it;
 *   merge_order   deliveries marked merge (the other side's messages,
 *                 delivered when the views merge) are left out of
 *                 total_order, whose pairs would otherwise compare one
 *                 side's live order with the other side's (no order can
 *                 be shared by two sides that both kept chatting); instead
 *                 the merge deliveries of total and safe messages are
 *                 checked pairwise like total_order among themselves: the
 *                 processes that had each other in their views as they
 *                 merged deliver the messages they merged from the same
 *                 node's history in the same relative order (two sources
 *                 of one merge, each side's coordinator, interleave as
 *                 their streams arrive); FIFO,
 *                 causal, integrity, exactly-once and liveness apply to
 *                 them as to live ones (so each side's messages must reach
 *                 the other side);
 *   detection     the bound is not applied to a removal in an episode's
 *                 window (the detector's verdict or the VIEW waited for the
 *                 network); "eventually" still is;
 *   total_order   with episodes, a live delivery of m at process a is
 *                 compared with b's only if each had the other in its view
 *                 as it delivered m: the order is the view's (ORDERING.md,
 *                 "Partitions"); the sides' orders of the split are
 *                 compared through merge_order instead;
 *   view_agreement with episodes, the sequences of member sets differ by
 *                 side: each view event's member set must be the view the
 *                 checker derived from that process's events so far, and
 *                 at the end every process up stands in one view holding
 *                 every process up, under one view number;
 *   heal-to-merged-view: the first removal across an episode's sides opens
 *                 a split; the first moment after which every process up
 *                 holds every process up (and no other) closes it with one
 *                 CHORUS_CHECK_MERGE sample: that moment minus the end of
 *                 the latest episode (0 if it came first).
 *
 * CATCH-UP. The first VIEW JOIN event about a restarted process comes from
 * the coordinator that admitted it (the core emits it as it admits; the
 * others install it later), at time A. At A the checker takes the last
 * history_msgs room messages the coordinator delivered (history deliveries
 * included) as the history owed, and everything the coordinator delivered
 * before those as excused: for each sending process the excused messages
 * are a prefix of its stream, and the restarted process's FIFO stream from
 * that sender starts after it. From A on, every room message that is not
 * excused is owed by the restarted process like by any other (history or
 * live). Its deliveries marked history must be owed history and must come
 * between A and its own JOIN; when it installs its own JOIN, every message
 * of the owed history must have been delivered (catch_up). A message it
 * never delivers that was sent before A is reported as catch_up too.
 * It holds (for safe) everything its coordinator had delivered at A, and
 * everything the coordinator of each cut sent it again (below) had
 * delivered when it sent that cut, whether it takes that cut or not: the
 * core's coordinator counts that stable at once (ORDERING.md, a join).
 * If that coordinator is down (crashed or left) when the restarted process
 * delivers its first history, the cut it takes may be one another
 * coordinator sent it later: a cut sent again (chorus_check_cut_resent),
 * or that coordinator's own JOIN of it (view event `admitter`). When that
 * first history delivery is the first of such a cut's history (after what
 * it delivered of the first one's, or skipped as already delivered), A, the
 * coordinator and the owed history become that cut's: what was sent before
 * the first admission and comes before that history is excused, what was
 * sent since stays owed. So is an entry of that history its sender's
 * stream had already passed in the first history's part it delivered:
 * histories start apart (each member's last deliveries, FIFO and causal
 * ones in its own order), and the core skips an entry at or below what it
 * delivered of that origin. Its own JOIN from such a later cut holds the
 * boots of the view it lines up with (a process standing in that member
 * set), not those of the first admission's: one restarted since is the
 * new boot there, and the crashed one is no removal it owes.
 * Its own JOIN names the cut it took too: that cut's view number. A JOIN
 * under another number than its admission's, its admitter down, means the
 * admitter's cut never reached it: the first cut sent again since under
 * that number whose history it holds becomes its admission as above (its
 * history may hold nothing but entries of the first one's, all of which the
 * later cut holds too). What the admitter alone had delivered before it
 * crashed is then no history: the survivors deliver it after that cut, in
 * the view the process stands in, and so does it, live.
 *
 * Obligations: a private message is meant for the receiving node's process
 * of the moment; a room message for every admitted process, its sender
 * included (cores deliver room messages to their sender at their place in
 * the room's order), and for every process admitted later unless excused.
 * A crashed process is no receiver of obligations; the messages of a
 * crashed process become obligations for every survivor as soon as one
 * survivor delivers them. A private message sent to a boot that crashed is
 * owed by nobody, but the node's next boot may deliver it (once, in FIFO
 * order, or skip it): cores hand frames still unacknowledged to the next
 * boot or drop them.
 *
 * The first violation is recorded with its time, node and a description;
 * later ones are counted only. Message contents are not stored: each message
 * records a 64-bit text key, and chorus_check_text regenerates its bytes for
 * the comparison.
 *
 * Latency (send to delivery) is recorded per live delivery at a process
 * other than the sender, per class: the four room orders and private
 * messages.
 *
 * Memory is allocated once by chorus_check_new for `messages_max` messages
 * and nodes + restarts_max processes; registering one more is an error
 * (CHORUS_ERR_QUEUE_FULL), never growth. No clock, no I/O; the module does
 * not depend on the rest of the simulator, so its unit test can feed it
 * hand-made events.
 */
#ifndef CHORUS_SIM_CHECK_H
#define CHORUS_SIM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define CHORUS_CHECK_MESSAGES_MAX ((size_t)1 << 22) /* ~1.1 GB at 10 processes */
#define CHORUS_CHECK_DETAIL_BYTES 320
#define CHORUS_CHECK_PROCS_MAX 32  /* processes (boots) in one run */
#define CHORUS_CHECK_VIEWS_MAX 256 /* view changes one process may install */
#define CHORUS_CHECK_HISTORY_MAX 65536 /* history_msgs at most */

typedef struct chorus_check_config {
  size_t nodes;        /* 1..CHORUS_MEMBERS_MAX, numbered 0..nodes-1 */
  size_t messages_max; /* messages that can be registered, 1..2^22 */
  size_t restarts_max; /* restarts in the run; nodes + restarts_max <=
                          CHORUS_CHECK_PROCS_MAX */
  size_t history_msgs; /* the cores' history_msgs (CATCH-UP), 0..2^16 */
  uint64_t detect_bound_us; /* detection bound; 0: not checked */
  uint32_t epoch[CHORUS_MEMBERS_MAX]; /* first boot's epoch per node; 0:
                                         learnt from its first message */
  uint32_t absent;     /* bit per node with no process at the start: it
                          joins later (chorus_check_restart boots its first
                          process, admitted like a restarted one); the
                          others' first views hold only the present nodes */
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
  size_t receiver;           /* node that delivered it (its current process) */
  size_t sender;             /* member index the core reported */
  enum chorus_msg_kind kind;
  enum chorus_order order;   /* ROOM only: the order it was delivered in */
  uint32_t epoch, msg_id;
  const uint8_t *text;       /* borrowed for the call only */
  size_t len_bytes;
  int history;               /* ROOM only: delivered as caught-up history */
  int merge;                 /* ROOM only: the other side's message, delivered
                                when the views merged (PARTITIONS) */
  size_t merge_from;         /* merge: the node whose history it came from */
} chorus_check_delivery;

/* A view change a node's core reported (CHORUS_OUT_VIEW). */
typedef struct chorus_check_view_event {
  uint64_t at_us;
  size_t node;                     /* the node that installed it */
  size_t member;                   /* the node that left or joined */
  enum chorus_view_reason reason;
  uint32_t epoch;                  /* JOIN: the joiner's epoch */
  uint32_t view;                   /* the new view number */
  uint32_t members;                /* bit per node */
  int admitter;                    /* JOIN of another node: 1 if this node
                                      let it in as coordinator (sent its
                                      history and cut), 0 if it installs
                                      another member's decision */
  uint64_t installed_us;           /* when its core installed it: before
                                      at_us for the views a newcomer holds
                                      back until it is settled */
} chorus_check_view_event;

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
  uint64_t history;     /* of which history deliveries */
  uint64_t duplicates;  /* deliveries of a message the receiver already had */
  uint64_t violations;  /* every violation seen, the first one included */
  uint64_t crashed;     /* processes given to chorus_check_crash */
  uint64_t restarts;    /* processes booted by chorus_check_restart */
  uint64_t joined;      /* restarted processes that installed their JOIN */
  uint64_t views;       /* view events (chorus_check_view) */
  uint64_t false_removals; /* removals of a process that was up */
  uint64_t merged;      /* merge deliveries (PARTITIONS) */
  /* Set by chorus_check_finish: room messages of crashed senders delivered
   * by every survivor, by none, and room deliveries per survivor (the same
   * at every survivor when agreement holds; the lowest survivor's count). */
  uint64_t agreed_all, agreed_none, survivor_room;
} chorus_check_stats;

/* Latency classes: the four room orders (enum chorus_order) and private. */
#define CHORUS_CHECK_CLASS_PRIVATE 4
#define CHORUS_CHECK_CLASSES 5

/* Quantiles of one set of samples, µs (nearest rank); all 0 if count is 0. */
typedef struct chorus_check_quantiles {
  uint64_t count, p50_us, p99_us, max_us;
} chorus_check_quantiles;

/* Membership samples (chorus_check_samples). */
enum chorus_check_sample {
  CHORUS_CHECK_DETECT = 0, /* crash to a survivor's VIEW removing it */
  CHORUS_CHECK_REJOIN = 1, /* restart to the process's own VIEW JOIN */
  CHORUS_CHECK_MERGE = 2,  /* end of a partition that split the views to
                              every process up standing in one view */
};
#define CHORUS_CHECK_SAMPLE_KINDS 3

typedef struct chorus_check chorus_check;

/*
 * chorus_check_new allocates a checker. On success stores it in *out (caller
 * owns it, release with chorus_check_free) and returns 0.
 * Errors: CHORUS_ERR_INVAL (NULL argument), CHORUS_ERR_CONFIG (nodes,
 * messages_max, restarts_max or history_msgs out of range),
 * CHORUS_ERR_NOMEM.
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
 * chorus_check_sent registers message *m, sent by the sender node's current
 * process, and its obligations.
 * Returns 0; 1 if it violates unique_id (recorded, not registered);
 * CHORUS_ERR_INVAL (node out of range, sender crashed or of another epoch,
 * private to self or to nobody, length 0 or over CHORUS_MSG_BYTES_MAX);
 * CHORUS_ERR_QUEUE_FULL (messages_max already registered).
 */
int chorus_check_sent(chorus_check *chk, const chorus_check_msg *m);

/*
 * chorus_check_deliver checks one delivery (every property but liveness).
 * Returns 0 if it is correct, 1 if it violates a property (the first
 * violation is recorded), CHORUS_ERR_INVAL for a NULL argument.
 */
int chorus_check_deliver(chorus_check *chk, const chorus_check_delivery *d);

/*
 * chorus_check_held records that node `holder` (its current process) now
 * holds room message (sender, epoch, msg_id), for the safe property.
 * Returns 0; 1 if no such room message was sent (an integrity violation,
 * recorded); CHORUS_ERR_INVAL for a node out of range.
 */
int chorus_check_held(chorus_check *chk, uint64_t at_us, size_t holder,
                      size_t sender, uint32_t epoch, uint32_t msg_id);

/*
 * chorus_check_crash records that `node`'s current process crashed at
 * `at_us`: its pending deliveries stop being owed, and messages it sent are
 * owed only if a survivor delivers them (agreement). Returns 0, or
 * CHORUS_ERR_INVAL (node out of range or already crashed).
 */
int chorus_check_crash(chorus_check *chk, uint64_t at_us, size_t node);

/*
 * chorus_check_restart records that crashed `node` booted again at `at_us`
 * as a new process with `epoch`. It owes nothing until a coordinator admits
 * it (CATCH-UP). Returns 0, or CHORUS_ERR_INVAL (node out of range or up),
 * CHORUS_ERR_QUEUE_FULL (restarts_max already used).
 */
int chorus_check_restart(chorus_check *chk, uint64_t at_us, size_t node,
                         uint32_t epoch);

/*
 * chorus_check_leave records that `node`'s current process announced a
 * graceful leave at `at_us`: from then on it owes nothing and is no
 * receiver, but the messages it sent stay owed to every process that is
 * up (liveness, not agreement); its removal by the others (any reason) is
 * no false removal, and at the end no view may still hold it. Returns 0,
 * or CHORUS_ERR_INVAL (node out of range, crashed or already left).
 */
int chorus_check_leave(chorus_check *chk, uint64_t at_us, size_t node);

/*
 * chorus_check_view records a view change that node ev->node installed
 * (every CHORUS_OUT_VIEW event, in order) and checks false_removal,
 * detection and, for the JOIN of a restarted process, catch_up. Returns 0,
 * 1 if it violates a property (recorded), CHORUS_ERR_INVAL (node out of
 * range, or its process crashed).
 */
int chorus_check_view(chorus_check *chk, const chorus_check_view_event *ev);

/*
 * chorus_check_partition records that a partition episode between side_a
 * (bit per node) and the other nodes started (on = 1) or ended (on = 0) at
 * at_us. Returns 0, or CHORUS_ERR_QUEUE_FULL when more than 16 episodes
 * started (later ones excuse no removal).
 */
int chorus_check_partition(chorus_check *chk, uint64_t at_us, uint32_t side_a, int on);

/*
 * chorus_check_cuts_wanted: 1 while some restarted process that is up
 * waits for its own JOIN and the process that admitted it is down (crashed
 * or left): its cut may come from another coordinator, which the driver
 * then reports with chorus_check_cut_resent; 0 otherwise.
 *
 * chorus_check_cut_resent records that `node` sent its cut again at `at_us`
 * (its core's cuts_resent count grew) to the waiting newcomers in its view
 * whose admitter is down: the history it sends is its last history_msgs
 * deliveries now. Such a newcomer whose first history delivery is the first
 * of those is held to that cut instead (CATCH-UP). Returns 0 (also when no
 * such newcomer is in its view), CHORUS_ERR_INVAL (node out of range or
 * down), or CHORUS_ERR_QUEUE_FULL past CHECK_CUTS_MAX cuts in one run (then
 * a violation "wellformed" is recorded).
 */
int chorus_check_cuts_wanted(const chorus_check *chk);
int chorus_check_cut_resent(chorus_check *chk, uint64_t at_us, size_t node);

/*
 * chorus_check_removed records that `node` was told at `at_us` that
 * `member` left its view, outside any VIEW event: from then on, safe
 * deliveries at `node` no longer wait for `member`'s HELD report. Returns 0,
 * or CHORUS_ERR_INVAL (index out of range, member == node, or already
 * removed).
 */
int chorus_check_removed(chorus_check *chk, uint64_t at_us, size_t node,
                         size_t member);

/*
 * chorus_check_in_view returns 1 if `node`'s current process has the
 * current process of `member` in its view, else 0 (also for bad indices).
 */
int chorus_check_in_view(const chorus_check *chk, size_t node, size_t member);

/*
 * chorus_check_view_epoch returns the epoch of the process of `member` in
 * `node`'s view (0 if none or unknown).
 */
uint32_t chorus_check_view_epoch(const chorus_check *chk, size_t node,
                                 size_t member);

/*
 * chorus_check_views_settled returns 1 when membership has nothing left to
 * do: every process that is up has been admitted and installed its own
 * JOIN, and each one's view holds exactly the admitted processes that are
 * up.
 */
int chorus_check_views_settled(const chorus_check *chk);

/*
 * chorus_check_finish checks liveness, agreement and the membership
 * properties that are about the end of a run (view_agreement, detection of
 * every crash, rejoin) at `at_us`, and fills the agreement counters of the
 * stats. Returns 0 if all hold, else records the first failure (for
 * missing deliveries: lowest send order, then lowest receiver; "liveness"
 * if its sender stayed up, "agreement" if it crashed and another survivor
 * delivered it, "catch_up" if the receiver is a restarted process and the
 * message was sent before its admission) and returns 1.
 */
int chorus_check_finish(chorus_check *chk, uint64_t at_us);

/* Before chorus_check_finish: the view number `node` stands at now (its
 * /stats view). A member may raise the number of the view it stands in
 * after its VIEW event (another member installed the same VIEW under a
 * higher one: docs/PROTOCOL.md, "View numbers"); never lower it.
 * CHORUS_ERR_INVAL for a node not up; 1 if the number went down
 * (view_number, recorded). */
int chorus_check_view_now(chorus_check *chk, size_t node, uint32_t view_id, uint64_t at_us);

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
 * send time, µs, one per correct live delivery at a process other than the
 * sender; index = enum chorus_order for room messages,
 * CHORUS_CHECK_CLASS_PRIVATE for private ones), nearest-rank method. It
 * sorts the checker's latency table in place; later deliveries are still
 * recorded.
 */
void chorus_check_latency(chorus_check *chk,
                          chorus_check_quantiles q[CHORUS_CHECK_CLASSES]);

/*
 * chorus_check_samples returns the membership samples of `kind` (µs, in
 * the order they were taken) in *v and their count; the pointer stays valid
 * until the next call that adds one. chorus_check_sample_quantiles gives
 * their count, p50, p99 and maximum (nearest rank, not in place).
 */
size_t chorus_check_samples(const chorus_check *chk, enum chorus_check_sample kind,
                            const uint64_t **v);
void chorus_check_sample_quantiles(const chorus_check *chk,
                                   enum chorus_check_sample kind,
                                   chorus_check_quantiles *q);

#endif
