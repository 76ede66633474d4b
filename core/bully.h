/*
 * chorus_bully: leader election among the replicas of a server cluster with
 * the Fast Bully algorithm (S. H. Lee, H. Choi, "The Fast Bully Algorithm:
 * For Electing a Coordinator Process in Distributed Systems", ICOIN 2002),
 * plus heartbeats and persisted epochs. A pure state machine: no I/O, no
 * clock (time is an argument), no globals; outputs leave through a bounded
 * queue (chorus_bully_poll).
 *
 * Priorities come from the cluster file (unique; higher wins). Messages
 * (core/clwire.h): ELECTION, ANSWER, NOMINATION, COORDINATOR, IAM_UP, VIEW,
 * HEARTBEAT.
 *
 *   - A follower that hears no HEARTBEAT of its leader for leader_timeout_us
 *     sends ELECTION to every replica of higher priority and waits
 *     answer_wait_us for ANSWERs. No answer: it becomes the leader.
 *     Answers: it sends NOMINATION to the highest answerer and waits
 *     coord_wait_us for its COORDINATOR; if none comes it nominates the
 *     next answerer, and becomes the leader itself when none is left
 *     (Fast Bully, section 3).
 *   - A replica that gets ELECTION from a lower one ANSWERs; a leader also
 *     re-announces itself (COORDINATOR) to it. A replica that answered
 *     waits answer_wait_us + 2 * coord_wait_us for a COORDINATOR and then
 *     starts its own election.
 *   - NOMINATION makes the receiver the leader at once.
 *   - A replica that starts (chorus_bully_start) sends IAM_UP to all and
 *     collects VIEWs (each replica's epoch and leader) for answer_wait_us:
 *     it follows the known leader of the highest epoch if that leader has a
 *     higher priority, and otherwise becomes the leader (the recovery of
 *     Fast Bully: the highest live replica always ends up leading).
 *   - The leader sends HEARTBEAT every heartbeat_us to every other replica.
 *
 * Epochs: every leadership has an epoch, a u64 round << 8 | the leader's
 * index, so two replicas never pick the same epoch and the leader of an
 * epoch is epoch & 0xff (like a Paxos ballot). A new leader takes
 * round(highest epoch it knows) + 1. Each replica persists the highest epoch
 * it has accepted (its promise) before it acts on it: the PERSIST output is
 * queued before any message that reveals the epoch, and the driver carries
 * outputs out in order. A replica never accepts a lower epoch again
 * (core/repl.h accepts records only from the promised epoch's leader), so
 * at most one leader per epoch can gather a majority.
 *
 * Any message with an epoch above ours teaches that epoch: we accept it and
 * follow its leader, unless we have a higher priority than that leader, in
 * which case we take over (a new, higher epoch). Two leaders after a
 * partition heals therefore converge on the higher-priority one.
 *
 * Failover bound (leader crash to a new leader, datagrams within
 * max_delay_us): leader_timeout_us + heartbeat_us (detection) +
 * answer_wait_us + k * coord_wait_us (k higher replicas that answered but
 * crash before coordinating) + persist time. With the defaults (100 ms
 * heartbeats, 500 ms timeout, 150 ms waits) and no further crash: at most
 * 100 + 500 + 150 + 150 = 900 ms plus one fsync; the replication layer adds
 * one round trip (STATE) and one commit round trip before writes are served.
 */
#ifndef CHORUS_BULLY_H
#define CHORUS_BULLY_H

#include <stddef.h>
#include <stdint.h>

#include "clwire.h"
#include "err.h"

#define CHORUS_BULLY_NODES_MAX 9
#define CHORUS_BULLY_OUTQ_MAX 64 /* > 4 * CHORUS_BULLY_NODES_MAX: one input's
                                    outputs always fit */
#define CHORUS_BULLY_HEARTBEAT_US_DEFAULT 100000ull
#define CHORUS_BULLY_LEADER_TIMEOUT_US_DEFAULT 500000ull
#define CHORUS_BULLY_ANSWER_WAIT_US_DEFAULT 150000ull
#define CHORUS_BULLY_COORD_WAIT_US_DEFAULT 150000ull
#define CHORUS_BULLY_DURATION_US_MAX 60000000ull /* any timer: 1 minute */
#define CHORUS_BULLY_NONE (-1)

/* Epochs at or above this are refused (counted as bad_sender): the next
 * round must still fit 64 bits. No cluster gets near 2^56 elections. */
#define CHORUS_BULLY_EPOCH_LIMIT (((uint64_t)1 << 56) - 1) << 8

/* Leader of an epoch, and the epoch a replica starts after `highest`. */
#define CHORUS_BULLY_EPOCH_LEADER(e) ((int)((e) & 0xffu))
#define CHORUS_BULLY_EPOCH_NEXT(highest, self) \
  (((((uint64_t)(highest)) >> 8) + 1u) << 8 | (uint64_t)(self))

typedef struct chorus_bully_config {
  size_t n;                   /* replicas, 1..CHORUS_BULLY_NODES_MAX */
  size_t self;                /* our index, < n */
  uint32_t priority[CHORUS_BULLY_NODES_MAX]; /* unique */
  uint64_t heartbeat_us;      /* default 100 ms */
  uint64_t leader_timeout_us; /* > heartbeat_us, default 500 ms */
  uint64_t answer_wait_us;    /* default 150 ms: > one round trip */
  uint64_t coord_wait_us;     /* default 150 ms */
} chorus_bully_config;

enum chorus_bully_role {
  CHORUS_BULLY_BOOT = 0,      /* sent IAM_UP, collecting VIEWs */
  CHORUS_BULLY_FOLLOWER = 1,  /* a leader is known (or being waited for) */
  CHORUS_BULLY_ELECTING = 2,  /* sent ELECTION, collecting ANSWERs */
  CHORUS_BULLY_NOMINATED = 3, /* sent NOMINATION, waiting for COORDINATOR */
  CHORUS_BULLY_WAITING = 4,   /* answered an ELECTION, waiting */
  CHORUS_BULLY_LEADER = 5,
};

enum chorus_bully_out_kind {
  CHORUS_BULLY_OUT_NONE = 0,
  CHORUS_BULLY_OUT_SEND = 1,    /* msg to replica `to` */
  CHORUS_BULLY_OUT_PERSIST = 2, /* make `epoch` durable before going on */
  CHORUS_BULLY_OUT_LEADER = 3,  /* `leader` leads `epoch` now (may be us);
                                   CHORUS_BULLY_NONE: leader lost */
};

typedef struct chorus_bully_output {
  enum chorus_bully_out_kind kind;
  size_t to;
  chorus_clw_msg msg; /* SEND: header-only bully message (VIEW: leader) */
  uint64_t epoch;     /* PERSIST, LEADER */
  int leader;         /* LEADER */
} chorus_bully_output;

typedef struct chorus_bully_stats {
  uint64_t elections;     /* elections we started */
  uint64_t leaderships;   /* times we became leader */
  uint64_t takeovers;     /* higher epoch from a lower replica: took over */
  uint64_t stale;         /* messages of a lower epoch answered with VIEW */
  uint64_t queue_full;    /* outputs dropped: queue full (never expected) */
  uint64_t bad_sender;    /* a sender index outside the cluster or us, or
                             an epoch at or above CHORUS_BULLY_EPOCH_LIMIT */
} chorus_bully_stats;

typedef struct chorus_bully chorus_bully;

/* Defaults above for n replicas; priorities must still be set. */
void chorus_bully_config_default(chorus_bully_config *cfg);

/*
 * chorus_bully_new allocates the state machine with `epoch`, the promise
 * loaded from disk (0 on first boot). Stores it in *out (owned by the
 * caller; chorus_bully_free) and returns 0. Errors: CHORUS_ERR_INVAL (NULL),
 * CHORUS_ERR_CONFIG (n out of range, self >= n, duplicate priorities, a zero
 * timer or one above a minute, leader_timeout_us <= heartbeat_us),
 * CHORUS_ERR_NOMEM.
 */
int chorus_bully_new(const chorus_bully_config *cfg, uint64_t epoch, chorus_bully **out);

void chorus_bully_free(chorus_bully *b); /* NULL allowed */

/* Start at now_us: IAM_UP to all (a lone replica leads at once). Call once. */
void chorus_bully_start(chorus_bully *b, uint64_t now_us);

/*
 * chorus_bully_recv handles a decoded bully message (types 1..7) at now_us.
 * Returns 0, or CHORUS_ERR_UNKNOWN_SENDER (m->from is us or not a replica,
 * or an epoch at or above the limit; counted), CHORUS_ERR_BAD_FRAME (not a
 * bully type), CHORUS_ERR_INVAL.
 */
int chorus_bully_recv(chorus_bully *b, uint64_t now_us, const chorus_clw_msg *m);

/*
 * chorus_bully_observe tells the machine that replica `from` speaks with
 * `epoch` (from a replication message): a higher epoch is learned as if
 * announced by its leader. Returns 0, or CHORUS_ERR_UNKNOWN_SENDER.
 */
int chorus_bully_observe(chorus_bully *b, uint64_t now_us, size_t from, uint64_t epoch);

/* Heartbeat of the current leader seen through another message (an APPEND
 * of the promised epoch): resets the failure timer. */
void chorus_bully_leader_alive(chorus_bully *b, uint64_t now_us);

/* Step down and start an election at now_us (the replication layer lost
 * its majority, or a conflicting leader of our epoch was seen). */
void chorus_bully_restart(chorus_bully *b, uint64_t now_us);

/* Timers due by now_us; calling early is harmless. */
void chorus_bully_tick(chorus_bully *b, uint64_t now_us);

/* Next time tick must run (µs); UINT64_MAX before start. */
uint64_t chorus_bully_deadline(const chorus_bully *b);

/* Next output into *out (kind NONE when empty). Returns 0 or
 * CHORUS_ERR_INVAL. */
int chorus_bully_poll(chorus_bully *b, chorus_bully_output *out);

uint64_t chorus_bully_epoch(const chorus_bully *b);  /* promised epoch */
int chorus_bully_leader(const chorus_bully *b);      /* or CHORUS_BULLY_NONE */
enum chorus_bully_role chorus_bully_role_get(const chorus_bully *b);
void chorus_bully_stats_get(const chorus_bully *b, chorus_bully_stats *out);

/* "boot", "follower", ...; never NULL. */
const char *chorus_bully_role_name(int role);

#endif
