/*
 * chorus_peer: one chat node as a pure state machine (sans-I/O).
 *
 * The driver (platform/ for real sockets, sim/ for the simulator) owns the
 * clock and the network. It feeds the peer three kinds of input, each
 * carrying the current time `now_us` (microseconds, monotonic, any origin):
 *
 *   chorus_peer_recv()       a datagram that arrived from the network
 *   chorus_peer_tick()       the deadline from chorus_peer_deadline() passed
 *   chorus_peer_broadcast()  user commands: a room message or a private one
 *   chorus_peer_send_private()
 *
 * and then drains the output queue with chorus_peer_poll() until it returns
 * CHORUS_OUT_NONE: datagrams to send to a member, messages to deliver to the
 * user, and events. Finally it sleeps until chorus_peer_deadline() or the
 * next datagram, whichever comes first.
 *
 * Same inputs in the same order give the same outputs, byte for byte: the
 * peer reads no clock, does no I/O, and draws randomness only from a PRNG
 * seeded by chorus_peer_config.seed. All memory is allocated once by
 * chorus_peer_new(); nothing grows afterwards.
 *
 * Members are a static list for now (the server supplies it in a later
 * version). Member i of one node's list must name the same node as member i
 * of every other node's list only for the simulator's convenience; the wire
 * identifies senders by a hash of their name, never by index.
 */
#ifndef CHORUS_PEER_H
#define CHORUS_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Compile-time limits. Runtime limits in chorus_peer_config may be lower. */
#define CHORUS_MEMBERS_MAX 10         /* nodes in a group, self included */
#define CHORUS_NAME_BYTES_MAX 31      /* user name length, no NUL */
#define CHORUS_MSG_BYTES_DEFAULT 4096 /* default maximum message length */
#define CHORUS_MSG_BYTES_MAX 65536    /* absolute maximum message length */
#define CHORUS_DATAGRAM_BYTES_MAX 1200 /* IPv6-safe datagram size */
#define CHORUS_WINDOW_FRAMES_DEFAULT 64 /* frames in flight per link */
#define CHORUS_WINDOW_FRAMES_MAX 1024
#define CHORUS_EVENTS_MAX 64 /* pending non-message events */
#define CHORUS_RETAIN_MSGS_DEFAULT 256 /* room messages held or retained */
#define CHORUS_RETAIN_MSGS_MAX 65536

/* Kinds of message a peer delivers. */
enum chorus_msg_kind {
  CHORUS_MSG_ROOM = 0,    /* broadcast to every member of the room */
  CHORUS_MSG_PRIVATE = 1, /* one sender, one receiver */
};

/* Delivery order of room messages (SPEC section 4). */
enum chorus_order {
  CHORUS_ORDER_FIFO = 0,
  CHORUS_ORDER_CAUSAL = 1,
  CHORUS_ORDER_TOTAL = 2,
  CHORUS_ORDER_SAFE = 3,
};

/* Failure detection (core/fd.h). OFF leaves removals to
 * chorus_peer_remove_member. */
enum chorus_fd_mode {
  CHORUS_FD_MODE_OFF = 0,
  CHORUS_FD_MODE_DEFAULT = 1, /* crash detected in about 5 s */
  CHORUS_FD_MODE_FAST = 2,    /* crash detected in about 2 s */
};

/* Why the view changed. */
enum chorus_view_reason {
  CHORUS_VIEW_JOIN = 0,
  CHORUS_VIEW_LEAVE = 1,
  CHORUS_VIEW_CRASH = 2,
  CHORUS_VIEW_PARTITION = 3,
  CHORUS_VIEW_MERGE = 4,
};

/* Creation parameters. Use chorus_peer_config_default() then override. */
typedef struct chorus_peer_config {
  const char *self_name;                   /* this node's user name */
  const char *member_names[CHORUS_MEMBERS_MAX]; /* every member, self included */
  size_t member_count;                     /* 1..CHORUS_MEMBERS_MAX */
  int slots;            /* 1: member i has room rank i (slots handed out by
                           a server, the same at every member) and
                           member_names[i] may be NULL: a vacant slot, out
                           of the view until chorus_peer_set_member names
                           it; 0 (default): ranks follow byte-wise name
                           order and every name is given */
  uint32_t epoch;       /* this boot's incarnation, > the previous boot's, != 0 */
  uint64_t seed;        /* PRNG seed */
  size_t msg_bytes_max; /* 1..CHORUS_MSG_BYTES_MAX, default 4096 */
  size_t window_frames; /* send and receive window per link, default 64 */
  uint32_t rto_us_initial; /* RTO before the first RTT sample, default 200 ms */
  uint32_t rto_us_min;     /* RTO floor, default 10 ms (a LAN floor, not 1 s) */
  uint32_t rto_us_max;     /* RTO cap after backoff, default 2 s */
  uint32_t ack_delay_us;   /* delayed-ACK timer, default 5 ms */
  enum chorus_order order; /* room default for chorus_peer_broadcast, total */
  size_t retain_msgs;      /* room messages in hold-back or retained until
                              stable, default 256 */
  uint32_t state_lazy_us;  /* longest delay of a stability report when no
                              safe message waits and the slots are not
                              filling up, default 200 ms */
  uint32_t state_early_us; /* delay of a stability report while the slots
                              are filling up (chorus_room_pressed),
                              default 0: with the next datagrams (every
                              sender may be stalled at its quota then, and
                              each report-and-announce round paid this
                              delay twice, rounded up to the loop's 1 ms
                              timer) */
  int report_held;         /* emit CHORUS_OUT_HELD (for the simulator) */
  enum chorus_fd_mode fd_mode; /* default CHORUS_FD_MODE_OFF */
  size_t history_msgs;     /* delivered room messages kept for members that
                              join late or restart, default 100 */
  int joining;             /* 1: this boot enters a room whose other members
                              already run (a newcomer, or a restart, e.g. the
                              server's roster names other seats): it waits
                              for its admission (the coordinator's cut,
                              JOIN_STATE) and until then neither coordinates,
                              removes nor admits anyone, nor sends or
                              delivers room messages; 0 (default): it may
                              found the room, and learns that it joins only
                              when a member says so (UNADMITTED) */
} chorus_peer_config;

/* Output kinds returned by chorus_peer_poll(). */
enum chorus_out_kind {
  CHORUS_OUT_NONE = 0,     /* queue empty */
  CHORUS_OUT_DATAGRAM = 1, /* send out.data[0..len) to member out.member */
  CHORUS_OUT_DELIVER = 2,  /* a message for the user, see fields below */
  CHORUS_OUT_PEER_UP = 3,  /* first contact with member out.member (epoch) */
  CHORUS_OUT_PEER_RESTARTED = 4, /* member out.member came back with a new
                                    epoch; out.dropped frames sent to its
                                    previous incarnation were abandoned */
  CHORUS_OUT_HELD = 5, /* only with report_held: room message (out.member,
                          out.epoch, out.msg_id) is now held here, with its
                          order, and counts towards stability */
  CHORUS_OUT_VIEW = 6, /* the view changed: out.member left it (or joined
                          it, reason JOIN) for out.reason; out.view is the
                          new view number (one more at every view change,
                          joins included; the same at every member; the
                          events of one change share it) and out.members
                          its members (bit per member index). A JOIN about
                          self says
                          this node was admitted: the history before it
                          was caught up. */
};

/* One output. `data` points into the caller's buffer given to poll. */
typedef struct chorus_output {
  enum chorus_out_kind kind;
  size_t member;          /* destination (DATAGRAM) or source member index */
  const uint8_t *data;    /* datagram bytes or message text */
  size_t len;             /* bytes at data */
  enum chorus_msg_kind msg_kind; /* DELIVER: room or private */
  enum chorus_order order;       /* DELIVER: the order it was delivered in */
  uint32_t epoch;         /* DELIVER: sender's epoch; PEER_*: new epoch */
  uint32_t msg_id;        /* DELIVER: room: the origin's room message number
                             (1, 2, ... per epoch); private: the sender's
                             private message number (1, 2, ... per epoch) */
  uint32_t dropped;       /* PEER_RESTARTED: frames abandoned */
  uint32_t view;          /* DELIVER room: ordering epoch it was delivered
                             in (moves at removals and merges only);
                             VIEW: the new view number */
  uint32_t seq;           /* DELIVER total/safe: position in the view's order */
  int history;            /* DELIVER: 1 if it is room history caught up
                             after joining, not a live message */
  int merge;              /* DELIVER: 1 if it is a message the other side
                             of a partition delivered while the views were
                             apart, delivered now that they merged, in that
                             side's order (docs/ORDERING.md, "Partitions") */
  size_t merge_from;      /* DELIVER merge: the member whose history it came
                             from (its side's coordinator) */
  enum chorus_view_reason reason; /* VIEW */
  uint32_t members;       /* VIEW: bit per member index */
  uint64_t installed_us;  /* VIEW: when this member installed it; a newcomer
                             reports its JOIN, and the views after it, only
                             once it is settled (docs/ORDERING.md) */
} chorus_output;

/* Per-link counters and estimates, for /stats. */
typedef struct chorus_link_stats {
  uint32_t peer_epoch;       /* 0 until first contact */
  uint64_t datagrams_sent, datagrams_recv;
  uint64_t frames_sent, frames_recv;
  uint64_t retransmits;      /* frames sent more than once */
  uint64_t fast_retransmits; /* of which triggered by later ACKs */
  uint64_t timeouts;         /* RTO expiries */
  uint64_t dup_frames;       /* data frames already received */
  uint64_t out_of_window;    /* data frames beyond the receive window */
  uint64_t acks_sent;
  uint32_t srtt_us, rttvar_us, rto_us;
  uint32_t in_flight;        /* frames sent, not yet acknowledged */
  uint32_t queued;           /* frames waiting for first transmission */
  uint32_t rcv_buffered;     /* frames received, not yet delivered */
  uint32_t abandoned;        /* frames dropped because the peer restarted */
} chorus_link_stats;

/* Node-wide counters, for /stats. Every rejection is counted here. */
typedef struct chorus_peer_stats {
  uint64_t datagrams_recv, datagrams_sent;
  uint64_t rx_truncated, rx_bad_magic, rx_bad_version, rx_bad_frame;
  uint64_t rx_too_big, rx_unknown_sender, rx_stale_epoch, rx_wrong_dest;
  uint64_t tx_window_full;   /* sends refused by back-pressure */
  uint64_t events_dropped;   /* never non-zero: events queue full is an error */
  uint64_t delivered_room, delivered_private;
  uint64_t delivered_history; /* room history caught up after joining */
  uint64_t history_dropped;  /* history not kept: the ring was all still to
                                deliver (history_msgs below the sender's) */
  uint64_t sent_room, sent_private;
  uint32_t view;            /* current view number (as in VIEW events, or
                               raised since by a renumbering) */
  uint64_t views_renumbered; /* the current view took a member's higher number */
  uint64_t cut_settled;      /* went on alone: a member cut here stayed in the
                                view another coordinated (asymmetric view) */
  uint32_t sequencer;       /* member index of the view's sequencer */
  uint32_t holdback;        /* room messages received, not yet deliverable */
  uint32_t retained;        /* delivered, kept until stable */
  uint32_t stability_lag;   /* messages here not yet known stable */
  uint64_t stability_oldest_us; /* when the oldest of those was first held
                                   (now_us clock), UINT64_MAX if none */
  uint64_t room_discarded;  /* undeliverable messages of removed members */
  uint64_t room_relayed;    /* messages relayed in flushes */
  uint64_t rx_room_refused; /* room messages left in the link: no free slot */
  uint32_t room_outbox;     /* room sends waiting for link window space */
  uint64_t room_outbox_full; /* room sends dropped: outbox full (a newcomer's
                                catch-up; should stay 0) */
  uint32_t room_numberings; /* total order numbers here before their message */
  uint64_t room_numberings_full; /* such numbers lost: no room to keep them
                                    (should stay 0) */
  uint32_t flushing;        /* 1 while a view change settles */
  uint32_t next_seq;        /* next position of the total order to deliver */
  uint64_t fd_suspicions;   /* members this node suspected */
  uint64_t fd_refutations;  /* suspicions of this node it refuted */
  uint64_t fd_frames_dropped; /* detector frames dropped: per-link queue full */
  uint64_t heartbeats_sent; /* empty datagrams sent to keep a link alive */
  uint64_t beacons_sent;    /* BEACONs to removed members (merging views) */
  uint64_t merges;          /* MERGE view changes installed here */
  uint64_t merge_refused;   /* merges whose sends found no outbox room */
  uint64_t merge_stale;     /* MERGE_STATEs ignored: this side changed its
                               view since the absorber's BEACON news */
  uint64_t cuts_resent;     /* newcomers sent a cut again: the coordinator
                               that admitted them was gone */
  uint64_t admissions;      /* members this node let in as coordinator
                               (JOIN announced, history and cut sent) */
  uint64_t cuts_stale;      /* cuts ignored: taken before a view change
                               this newcomer installed while it waited, or
                               following a history another replaced */
  uint64_t views_held_dropped; /* VIEWs relayed to this newcomer while it
                                  waited for its cut, not kept: the
                                  CHORUS_VIEWS_HELD_MAX of them already were */
  uint64_t delivered_merge; /* the other side's messages delivered (merge) */
  uint64_t merge_gaps;      /* the other side's messages never delivered:
                               beyond the sender's history */
} chorus_peer_stats;

typedef struct chorus_peer chorus_peer;

/* Fill `cfg` with defaults; names and epoch still have to be set. */
void chorus_peer_config_default(chorus_peer_config *cfg);

/*
 * chorus_peer_new allocates and initialises a peer. All memory the peer will
 * ever use is allocated here. On success stores the peer in *out (owned by
 * the caller, release with chorus_peer_free) and returns 0.
 * Errors: CHORUS_ERR_INVAL (NULL argument, self not in member list, empty or
 * too long name, duplicate name or name hash), CHORUS_ERR_CONFIG (a limit out
 * of range, epoch 0, window too small to hold one maximal message),
 * CHORUS_ERR_NOMEM.
 */
int chorus_peer_new(const chorus_peer_config *cfg, chorus_peer **out);

/* chorus_peer_free releases everything; NULL is allowed. */
void chorus_peer_free(chorus_peer *peer);

/*
 * chorus_peer_recv processes one datagram `data[0..len)` received at `now_us`.
 * The bytes are copied as needed; the caller keeps ownership.
 * Returns 0, or the reason it was dropped (also counted in stats):
 * CHORUS_ERR_TOO_BIG, CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_MAGIC,
 * CHORUS_ERR_BAD_VERSION, CHORUS_ERR_BAD_FRAME, CHORUS_ERR_UNKNOWN_SENDER,
 * CHORUS_ERR_STALE_EPOCH. A dropped datagram never changes protocol state.
 */
int chorus_peer_recv(chorus_peer *peer, uint64_t now_us, const uint8_t *data,
                     size_t len);

/*
 * chorus_peer_tick runs the timers (retransmission, delayed ACK, hello) due
 * at `now_us`. Calling it early is harmless.
 */
void chorus_peer_tick(chorus_peer *peer, uint64_t now_us);

/*
 * chorus_peer_broadcast queues room message `text[0..len)` to every other
 * member, reliably and FIFO per sender. The text is copied. On success
 * stores the message number in *msg_id (may be NULL) and returns 0.
 * Errors: CHORUS_ERR_EMPTY, CHORUS_ERR_MSG_TOO_LONG, CHORUS_ERR_BAD_UTF8,
 * CHORUS_ERR_WINDOW_FULL (some member's send window cannot take the whole
 * message; nothing was queued anywhere; retry after polling).
 */
int chorus_peer_broadcast(chorus_peer *peer, uint64_t now_us, const uint8_t *text,
                          size_t len, uint32_t *msg_id);

/*
 * chorus_peer_send_room is chorus_peer_broadcast with an explicit order.
 * Room messages are also delivered to their sender (CHORUS_OUT_DELIVER with
 * member = self) at their place in the room's order.
 * Errors: those of broadcast, plus CHORUS_ERR_INVAL (order out of range).
 */
int chorus_peer_send_room(chorus_peer *peer, uint64_t now_us,
                          enum chorus_order order, const uint8_t *text,
                          size_t len, uint32_t *msg_id);

/*
 * chorus_peer_remove_member is an outside failure detector's verdict:
 * `member` crashed. It is carried out like the peers' own detector's: the
 * coordinator (the lowest member not held dead) announces the view without
 * it and every member installs that VIEW, so removals and joins come in one
 * order everywhere; the next view begins, unstable messages are relayed to
 * the survivors, and nothing more is sent to or accepted from it. Every
 * survivor should be given the verdict (any one may be the next
 * coordinator). Errors: CHORUS_ERR_INVAL (self, unknown, or already
 * removed: a newcomer not yet settled may have removed it in a view it
 * has not reported; chorus_peer_in_view tells).
 */
int chorus_peer_remove_member(chorus_peer *peer, uint64_t now_us, size_t member);

/*
 * chorus_peer_leave announces a graceful departure: every member removes
 * this node in a view change with reason LEAVE. The announcement waits
 * until every room message this node sent is held by every member (so none
 * is lost with it). Keep driving the peer until chorus_peer_leaving_done,
 * then stop. Later sends fail with CHORUS_ERR_INVAL. Errors:
 * CHORUS_ERR_QUEUE_FULL (retry after polling).
 */
int chorus_peer_leave(chorus_peer *peer, uint64_t now_us);

/* chorus_peer_leaving_done: 1 once a leaving peer's LEAVE went out and
 * nothing waits in its room outbox or on the links to members of its view
 * (it can stop), 0 otherwise (also when it is not leaving). */
int chorus_peer_leaving_done(const chorus_peer *peer);

/* 1 if `member` is in this node's current view (self included). */
int chorus_peer_in_view(const chorus_peer *peer, size_t member);

/* The incarnation (epoch) of `member` this node's view holds, self
 * included, its cut taken or not (before its cut: the newest boot it heard
 * from or saw admitted, else 0); 0 if `member` is not in its view. A
 * verdict given to it (chorus_peer_remove_member) is on this boot. A
 * newcomer reports its views only once settled: this is its view before. */
uint32_t chorus_peer_held_epoch(const chorus_peer *peer, size_t member);

/* 1 once this boot took a coordinator's cut (it was admitted as a newcomer:
 * its view is the room's from then on), else 0. */
int chorus_peer_cut_taken(const chorus_peer *peer);

/*
 * chorus_peer_send_private queues private message `text[0..len)` to member
 * `member`, reliably, FIFO and exactly once. Same errors as broadcast plus
 * CHORUS_ERR_UNKNOWN_USER (index out of range) and CHORUS_ERR_SELF.
 */
int chorus_peer_send_private(chorus_peer *peer, uint64_t now_us, size_t member,
                             const uint8_t *text, size_t len, uint32_t *msg_id);

/*
 * chorus_peer_poll takes the next output. `buf` (owned by the caller,
 * `cap_bytes` at least chorus_peer_poll_bytes_min()) receives the datagram or
 * the message text; out->data points into it and stays valid until buf is
 * reused. Returns 0 with out->kind CHORUS_OUT_NONE when nothing is pending.
 * Errors: CHORUS_ERR_NOBUF (cap too small), CHORUS_ERR_INVAL.
 */
int chorus_peer_poll(chorus_peer *peer, uint64_t now_us, chorus_output *out,
                     uint8_t *buf, size_t cap_bytes);

/* Smallest buffer chorus_peer_poll accepts: max(1200, msg_bytes_max). */
size_t chorus_peer_poll_bytes_min(const chorus_peer *peer);

/*
 * chorus_peer_deadline returns the time (µs, same clock as now_us) at which
 * chorus_peer_tick must next be called, or UINT64_MAX if no timer is armed.
 * Poll first: pending outputs are not reflected here.
 */
uint64_t chorus_peer_deadline(const chorus_peer *peer);

/*
 * chorus_peer_set_member names member slot `member` (slots mode only): a
 * user took a vacant slot, or a slot whose previous occupant is out of the
 * view. The link to the slot starts afresh; the newcomer is admitted by a
 * view change (reason JOIN) once it speaks. A slot that a JOIN view put in
 * the view before it was named here just gets its name (its link already
 * follows the newcomer; the detector watches it afresh: what it sent
 * before was refused); so does one that left the view with a LEAVE since,
 * while its farewell runs (its last frames still come on that link). Naming a slot with the name it already has does
 * nothing; naming it with the name of another slot that is out of the view
 * (the user's old seat lapsed while it was away) empties that other slot. Returns 0. Errors: CHORUS_ERR_INVAL (NULL argument, not in slots
 * mode, `member` out of range or self, the slot is in the view under
 * another name, the name is empty, longer than CHORUS_NAME_BYTES_MAX, not
 * UTF-8, or another slot's that is in the view or self).
 */
int chorus_peer_set_member(chorus_peer *peer, uint64_t now_us, size_t member,
                           const char *name);

/* Lookups. chorus_peer_member_index returns the index of `name` or
 * CHORUS_ERR_UNKNOWN_USER. */
int chorus_peer_member_index(const chorus_peer *peer, const char *name);
size_t chorus_peer_member_count(const chorus_peer *peer);
const char *chorus_peer_member_name(const chorus_peer *peer, size_t member); /* "" if vacant */
size_t chorus_peer_self(const chorus_peer *peer);

/* Frames queued or in flight on the links to members of the view, plus room
 * sends waiting for window space: what an orderly exit waits for. Cheaper
 * than the stats (the loop asks after every batch of commands). */
size_t chorus_peer_pending_frames(const chorus_peer *peer);

/* Copy counters. `member` must not be self (CHORUS_ERR_INVAL). */
void chorus_peer_stats_get(const chorus_peer *peer, chorus_peer_stats *out);
int chorus_peer_link_stats_get(const chorus_peer *peer, size_t member,
                               chorus_link_stats *out);

#endif
