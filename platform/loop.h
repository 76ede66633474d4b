/*
 * chorus_loop: the real driver of one chorus_peer.
 *
 * One pthread (the network loop) owns the peer, its UDP socket and the
 * outgoing datagram path. It waits in poll() on the socket and a wake-up
 * pipe until the earliest of the core's deadline (chorus_peer_deadline) and
 * the fault path's next held datagram, then feeds datagrams
 * (chorus_peer_recv), timers (chorus_peer_tick) and user commands, and
 * drains chorus_peer_poll: DATAGRAM goes to the member's address, everything
 * else becomes a chorus_loop_event for the caller's callback.
 *
 * Work is batched to save system calls and wake-ups: datagrams are read
 * CHORUS_LOOP_RX_SLOTS at a time (recvmmsg where available) and fed to the
 * core CHORUS_LOOP_RECV_BATCH at a time before its output is drained; every
 * queued command runs before the drain; outgoing datagrams collect in the
 * fault path's batch and leave in one call (sendmmsg where available)
 * before the loop sleeps. On Linux the socket also takes coalesced
 * receives (UDP_GRO: CHORUS_LOOP_RX_SLOTS_GRO buffers of
 * CHORUS_UDP_GRO_BYTES, each split back into its datagrams before the core
 * sees them), and the fault path sends runs of equal-size datagrams to one
 * member as one segmented send (UDP_SEGMENT): the kernel's per-datagram
 * path, not chorus, dominates the cost of a datagram, and this way it is
 * walked once per run.
 * A submission writes to the wake-up pipe only when the loop sleeps. The loop also
 * remembers why and in which view each member left the view, for /who and
 * for the error of a private message to a removed member.
 *
 * Other threads talk to the loop only through chorus_loop_submit (a bounded
 * command queue, queue_max entries fixed at creation, whose texts live in an
 * arena of queue_max * msg_bytes_max bytes allocated at creation) and
 * chorus_loop_flush / chorus_loop_stop. The callback runs on the loop
 * thread, never with the loop's lock held; it must not call
 * chorus_loop_stop or chorus_loop_free (it may call chorus_loop_submit with
 * block = 0).
 */
#ifndef CHORUS_PLATFORM_LOOP_H
#define CHORUS_PLATFORM_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "udp.h"
#include "udp_fault.h"

#define CHORUS_LOOP_QUEUE_DEFAULT 64  /* pending user commands */
#define CHORUS_LOOP_QUEUE_MAX 4096
#define CHORUS_LOOP_CMD_SMALL_BYTES 1024 /* per queued command, a buffer for a
                                            text this long (beside one for the
                                            longest): short texts, the common
                                            case, touch only these */
#define CHORUS_LOOP_RECV_BATCH 64     /* datagrams fed to the core between
                                         drains; at most CHORUS_EVENTS_MAX
                                         (see loop.c) */
#define CHORUS_LOOP_RX_SLOTS 64       /* receive buffers per call, without
                                         GRO; at most CHORUS_UDP_BATCH_MAX */
#define CHORUS_LOOP_RX_SLOTS_GRO 8    /* with GRO: each buffer is
                                         CHORUS_UDP_GRO_BYTES, but only the
                                         pages datagrams reach are resident
                                         (16 cost ~120 KiB more under the
                                         10-peer bench, no faster) */
#define CHORUS_LOOP_RECV_DATAGRAMS 256 /* datagrams per wake-up: no receive
                                         call starts past this, so commands
                                         and timers are not starved */
#define CHORUS_LOOP_RX_SLOT_BYTES (CHORUS_DATAGRAM_BYTES_MAX + 1)
                                      /* per received datagram without GRO:
                                         one byte more than any valid one, so
                                         an oversized datagram, cut here,
                                         still reaches the core too long and
                                         is counted (with GRO, buffers of
                                         CHORUS_UDP_GRO_BYTES cut nothing) */
#define CHORUS_LOOP_LINGER_US_DEFAULT 300000 /* after stop: quiet time */
#define CHORUS_LOOP_LINGER_MAX_US_DEFAULT 2000000 /* after stop: at most */
#define CHORUS_LOOP_STRANGER_US 200000 /* STRANGER events at most this often */

/* A system call failed (errno kept). Distinct from every chorus_err code. */
#define CHORUS_LOOP_ERR_SYS (-100)

enum chorus_loop_cmd_kind {
  CHORUS_LOOP_CMD_ROOM = 0,    /* chorus_peer_broadcast(text) */
  CHORUS_LOOP_CMD_PRIVATE = 1, /* chorus_peer_send_private(member, text) */
  CHORUS_LOOP_CMD_WHO = 2,     /* answer with CHORUS_LOOP_EV_WHO */
  CHORUS_LOOP_CMD_STATS = 3,   /* answer with CHORUS_LOOP_EV_STATS */
  CHORUS_LOOP_CMD_LEAVE = 4,   /* chorus_peer_leave (graceful departure),
                                  answered with CHORUS_LOOP_EV_LEAVING; runs
                                  after every command queued before it, and
                                  waits at the head of the queue while the
                                  core has no room for the announcement */
  CHORUS_LOOP_CMD_SET_MEMBER = 5, /* chorus_peer_set_member and the slot's
                                     address; see chorus_loop_set_member */
};

enum chorus_loop_event_kind {
  CHORUS_LOOP_EV_DELIVER = 0,        /* a message from member `member` */
  CHORUS_LOOP_EV_PEER_UP = 1,        /* first contact, `epoch` */
  CHORUS_LOOP_EV_PEER_RESTARTED = 2, /* new `epoch`, `dropped` frames lost */
  CHORUS_LOOP_EV_SENT = 3,           /* a ROOM/PRIVATE command accepted */
  CHORUS_LOOP_EV_ERROR = 4,          /* a ROOM/PRIVATE command refused */
  CHORUS_LOOP_EV_WHO = 5,            /* answer to CMD_WHO, see `snap` */
  CHORUS_LOOP_EV_STATS = 6,          /* answer to CMD_STATS, see `snap` */
  CHORUS_LOOP_EV_VIEW = 7,           /* `member` left the view for `reason`
                                        (or joined it: JOIN, MERGE);
                                        `view` is the new view number,
                                        `members` its members (bit per index),
                                        `names` every member's name */
  CHORUS_LOOP_EV_LEAVING = 8,        /* answer to CMD_LEAVE: announced (err
                                        0) or refused (err, a chorus_err) */
  CHORUS_LOOP_EV_STRANGER = 9,       /* datagrams came from a sender the
                                        core does not know (a newcomer the
                                        server has not told us of yet); at
                                        most one per
                                        CHORUS_LOOP_STRANGER_US */
};

/* Where a member stands, as this node sees it (chorus_loop_snapshot). */
typedef struct chorus_loop_member_state {
  int in_view;                     /* 1: in this node's current view */
  int removal_seen;                /* 0 with in_view 0: removed without an
                                      event seen here (should not happen) */
  enum chorus_view_reason reason;  /* removal_seen: why it left the view */
  uint32_t view;                   /* removal_seen: the view it left in */
} chorus_loop_member_state;

/* The loop's own counters (everything the core does not count). */
typedef struct chorus_loop_counters {
  uint64_t rx_datagrams;  /* read from the socket */
  uint64_t rx_batches;    /* receive calls that returned datagrams */
  uint64_t rx_coalesced;  /* buffers that held several datagrams (GRO) */
  uint64_t rx_rejected;   /* of which the core refused (reason in peer stats) */
  uint64_t rx_errors;     /* recvfrom failures */
  uint64_t poll_errors;   /* poll() failures other than EINTR */
  uint64_t wakeups;       /* loop iterations */
  uint64_t ticks;         /* chorus_peer_tick calls */
  uint64_t cmds_done;     /* commands executed */
  uint64_t cmds_refused;  /* ROOM/PRIVATE refused by the core */
  uint64_t cmds_held;     /* times a command waited for window space */
  uint64_t queue_full;    /* submissions refused: command queue full */
  uint64_t unknown_outputs; /* output kinds this driver does not know */
  uint64_t view_changes;  /* CHORUS_OUT_VIEW outputs (one per removed member) */
  uint64_t rx_strangers;  /* datagrams from senders the core does not know */
  uint64_t members_set;   /* SET_MEMBER commands that named a slot */
  uint64_t members_refused; /* SET_MEMBER commands the core refused (the
                               slot's previous occupant is still in the
                               view: retried by the caller later) */
} chorus_loop_counters;

/* A consistent picture of the node, taken on the loop thread. */
typedef struct chorus_loop_snapshot {
  size_t member_count, self;
  const char *names[CHORUS_MEMBERS_MAX];   /* owned by the loop */
  chorus_udp_addr addrs[CHORUS_MEMBERS_MAX];
  uint32_t self_epoch;
  uint64_t now_us;                         /* when it was taken (monotonic) */
  chorus_peer_stats peer;
  chorus_link_stats links[CHORUS_MEMBERS_MAX]; /* links[self] is zero */
  chorus_loop_member_state state[CHORUS_MEMBERS_MAX];
  int leaving;                             /* this node announced its leave */
  chorus_udp_fault_stats tx;
  chorus_loop_counters loop;
  uint32_t queued_cmds;                    /* commands waiting behind this query */
} chorus_loop_snapshot;

/* One event. Pointers are valid only during the callback. */
typedef struct chorus_loop_event {
  enum chorus_loop_event_kind kind;
  size_t member;       /* sender (DELIVER), subject (PEER_*, VIEW),
                          destination (private SENT/ERROR) */
  const char *name;    /* that member's name, or NULL for room commands */
  enum chorus_loop_cmd_kind cmd;  /* SENT/ERROR: which command */
  enum chorus_msg_kind msg_kind;  /* DELIVER */
  enum chorus_order order;        /* DELIVER */
  uint32_t epoch;      /* DELIVER: sender's epoch; PEER_*: the new epoch */
  uint32_t msg_id;     /* DELIVER, SENT */
  uint32_t dropped;    /* PEER_RESTARTED */
  uint32_t view;       /* DELIVER room: the view it was delivered in;
                          VIEW: the new view; ERROR with gone: the view the
                          destination left in */
  uint32_t seq;        /* DELIVER room, total/safe: position in the view */
  int history;         /* DELIVER room: 1 for history caught up from the
                          others after joining (sent before this node was
                          admitted) */
  int merge;           /* DELIVER room: 1 for a message the other side of a
                          healed partition sent while apart */
  const uint8_t *text; /* DELIVER, SENT, ERROR: the message text */
  size_t text_len;     /* bytes at text */
  int err;             /* ERROR, LEAVING: the chorus_err code */
  int gone;            /* ERROR of a private message: 1 when the destination
                          was removed from the view (err is then
                          CHORUS_ERR_UNKNOWN_USER) and `reason`, `view` say
                          why and when */
  enum chorus_view_reason reason; /* VIEW, ERROR with gone */
  uint32_t members;    /* VIEW: the new view's members, bit per index */
  size_t member_count; /* VIEW: entries in names */
  const char *const *names; /* VIEW: every member's name, by index */
  uint64_t tag;        /* SENT/ERROR/WHO/STATS/LEAVING: the submitter's tag */
  const chorus_loop_snapshot *snap; /* WHO, STATS */
} chorus_loop_event;

typedef void (*chorus_loop_event_fn)(void *ctx, const chorus_loop_event *ev);

typedef struct chorus_loop_config {
  chorus_peer_config peer; /* names are copied; see core/peer.h */
  int fd;                  /* bound UDP socket; the loop owns it once
                              chorus_loop_new succeeds */
  chorus_udp_addr addrs[CHORUS_MEMBERS_MAX]; /* where member i listens */
  chorus_udp_fault_config fault;  /* outgoing fault injection */
  size_t queue_max;        /* 1..CHORUS_LOOP_QUEUE_MAX commands */
  int hold_when_full;      /* 1: a ROOM/PRIVATE refused with
                              CHORUS_ERR_WINDOW_FULL waits at the head of the
                              queue and is retried as ACKs arrive (scripts,
                              benchmarks); 0: it is reported as an ERROR */
  uint32_t linger_us;      /* after stop, keep serving until no datagram
                              came for this long, so peers still waiting
                              for our ACK get it... */
  uint32_t linger_max_us;  /* ...but stop after this long in any case */
  chorus_loop_event_fn on_event; /* required */
  void *ctx;                     /* passed to on_event */
} chorus_loop_config;

typedef struct chorus_loop chorus_loop;

/* Defaults: fd -1, queue_max CHORUS_LOOP_QUEUE_DEFAULT, no faults, peer
 * config from chorus_peer_config_default. */
void chorus_loop_config_default(chorus_loop_config *cfg);

/*
 * chorus_loop_new creates the peer (chorus_peer_new) and the loop around it,
 * allocating everything up front. On success takes ownership of cfg->fd,
 * stores the loop in *out (free with chorus_loop_free) and returns CHORUS_OK.
 * Errors: those of chorus_peer_new, CHORUS_ERR_INVAL (no callback, bad fd),
 * CHORUS_ERR_CONFIG (queue_max, fault config), CHORUS_ERR_NOMEM,
 * CHORUS_LOOP_ERR_SYS (pipe or mutex creation failed, errno kept). On error
 * cfg->fd is left open for the caller.
 */
int chorus_loop_new(const chorus_loop_config *cfg, chorus_loop **out);

/* chorus_loop_start starts the network thread. Returns CHORUS_OK,
 * CHORUS_ERR_INVAL (already started) or CHORUS_LOOP_ERR_SYS. */
int chorus_loop_start(chorus_loop *l);

/*
 * chorus_loop_submit queues one command (thread-safe). text[0..len_bytes) is
 * copied (ROOM and PRIVATE only; ignored otherwise); `member` is used by
 * PRIVATE; `tag` comes back in the answering event. With block = 0 a full
 * queue is refused; with block = 1 the caller waits for a free slot.
 * Returns CHORUS_OK, CHORUS_ERR_QUEUE_FULL (block = 0 only),
 * CHORUS_ERR_MSG_TOO_LONG (len_bytes above msg_bytes_max), CHORUS_ERR_INVAL
 * (bad kind, or the loop is stopping). LEAVE is a command like the others
 * (it takes no text). Validation of the text itself
 * (UTF-8, empty) is the core's, reported through an ERROR event.
 */
int chorus_loop_submit(chorus_loop *l, enum chorus_loop_cmd_kind kind, size_t member,
                       const uint8_t *text, size_t len_bytes, uint64_t tag, int block);

/*
 * chorus_loop_set_member queues a SET_MEMBER command (thread-safe, never
 * blocks): slot `member` is user `name` listening at `addr` (a peer created
 * with chorus_peer_config.slots). On the loop thread the core names the
 * slot (chorus_peer_set_member) and datagrams to it go to addr; when the
 * slot already has that name only the address is updated. A refusal by the
 * core is counted (members_refused), not reported. Returns CHORUS_OK,
 * CHORUS_ERR_QUEUE_FULL, CHORUS_ERR_INVAL (NULL argument, a name longer than
 * CHORUS_NAME_BYTES_MAX, member out of range, or stopping).
 */
int chorus_loop_set_member(chorus_loop *l, size_t member, const char *name,
                           const chorus_udp_addr *addr);

/*
 * chorus_loop_flush waits (thread-safe, up to timeout_ms) until every queued
 * command ran, the room outbox is empty and no link to a member of the
 * current view has frames queued or unacknowledged (frames to a removed
 * member are never acknowledged, and nobody waits for them). Returns the
 * number of commands, room sends and frames still pending: 0 means all
 * delivered.
 */
size_t chorus_loop_flush(chorus_loop *l, uint32_t timeout_ms);

/* chorus_loop_stop asks the thread to finish and joins it: it keeps
 * receiving and acknowledging until the socket was quiet for linger_us (or
 * linger_max_us passed). Idempotent; safe before start. Pending commands are
 * discarded. */
void chorus_loop_stop(chorus_loop *l);

/* chorus_loop_free stops the loop if needed, then frees the peer, closes the
 * socket and the pipe, and releases all memory. NULL is allowed. */
void chorus_loop_free(chorus_loop *l);

#endif
