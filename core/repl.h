/*
 * chorus_repl: log replication among the replicas of a server cluster, led
 * by the leader that core/bully.h elects. A pure state machine: no I/O, no
 * clock, no globals; every buffer is allocated at creation; outputs leave
 * through a bounded queue (chorus_repl_poll).
 *
 * The log is a sequence of opaque records (the server's state changes,
 * core/server.h) with indexes 1, 2, ... and the epoch of the leader that
 * created each. Below the log lies a snapshot (the state after records
 * 1..snap_index). Records are replicated as in Raft (Ongaro and Ousterhout,
 * "In Search of an Understandable Consensus Algorithm", USENIX ATC 2014,
 * section 5.3: prev index/epoch check, conflicting suffix truncated), but
 * the leader is chosen by Bully, not by votes; so, as in Viewstamped
 * Replication (Liskov and Cowling, "Viewstamped Replication Revisited",
 * MIT-CSAIL-TR-2012-021, section 4.2), a new leader first collects the log
 * state of a majority (STATE, sent by replicas that promised its epoch) and
 * adopts the most recent log among them: the highest (last epoch, last
 * index). If that log is another replica's, it truncates its own log after
 * its commit index and FETCHes the rest (or the replica's snapshot). It
 * then appends a NOOP record of its epoch and is "serving" once that record
 * is committed, which commits everything before it (a leader commits only
 * records of its own epoch by counting, Raft section 5.4.2).
 *
 * Safety: a replica accepts APPEND, FETCH and SNAP only from the leader of
 * the epoch it promised (persisted by core/bully before it is revealed);
 * a record is committed once a majority (the leader included) has it on
 * disk in the leader's epoch. Replies (STATE, APPEND_ACK) leave only after
 * the records they report are durable: the driver syncs the log before it
 * sends any datagram (see chorus_repl_poll). Any committed record is on a
 * majority, which intersects the majority a later leader hears from, and
 * the most recent log of that majority holds it: no committed record is
 * lost, and at most one leader per epoch commits.
 *
 * Lagging replicas: the leader resends from a replica's last acknowledged
 * index every retry_us; a replica whose next record is below the leader's
 * snapshot pulls the snapshot in chunks (SNAP / SNAP_ACK).
 *
 * Compaction: the caller (which owns the state machine) calls
 * chorus_repl_compact with a snapshot at an index <= commit when
 * chorus_repl_wants_compact says so; records up to it leave memory.
 */
#ifndef CHORUS_REPL_H
#define CHORUS_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "clwire.h"
#include "err.h"

#define CHORUS_REPL_NODES_MAX 9
#define CHORUS_REPL_RECORDS_DEFAULT 1024
#define CHORUS_REPL_RECORDS_LIMIT 65536
#define CHORUS_REPL_OUTQ_MAX 128
#define CHORUS_REPL_RETRY_US_DEFAULT 100000ull
#define CHORUS_REPL_QUORUM_LEASE_US_DEFAULT 500000ull
#define CHORUS_REPL_DURATION_US_MAX 60000000ull
#define CHORUS_REPL_SEND_BATCH 16 /* records per APPEND at most */

typedef struct chorus_repl_config {
  size_t n;                  /* replicas, 1..CHORUS_REPL_NODES_MAX */
  size_t self;               /* our index */
  size_t records_max;        /* records held in memory, 8..65536 */
  size_t snapshot_bytes_max; /* largest snapshot, >= 1 */
  uint64_t retry_us;         /* resend and empty-APPEND interval */
  uint64_t quorum_lease_us;  /* leader counts a replica as reachable for
                                this long after its last reply */
} chorus_repl_config;

enum chorus_repl_role {
  CHORUS_REPL_IDLE = 0,       /* no leader known */
  CHORUS_REPL_FOLLOWER = 1,
  CHORUS_REPL_RECOVERING = 2, /* leader: collecting STATE from a majority */
  CHORUS_REPL_FETCHING = 3,   /* leader: copying the most recent log */
  CHORUS_REPL_ACTIVE = 4,     /* leader: replicating (serving once the
                                 NOOP of its epoch is committed) */
};

enum chorus_repl_out_kind {
  CHORUS_REPL_OUT_NONE = 0,
  CHORUS_REPL_OUT_SEND = 1,     /* data[0..len) to replica `to` */
  CHORUS_REPL_OUT_APPEND = 2,   /* log record index/epoch data[0..len) */
  CHORUS_REPL_OUT_TRUNCATE = 3, /* drop log records after `index` */
  CHORUS_REPL_OUT_SNAPSHOT = 4, /* snapshot at index/epoch, data[0..len):
                                   replaces the records up to index */
};

typedef struct chorus_repl_output {
  enum chorus_repl_out_kind kind;
  size_t to;
  uint64_t index, epoch;
  const uint8_t *data; /* valid until the next call on this repl */
  size_t len;
} chorus_repl_output;

typedef struct chorus_repl_stats {
  uint64_t appended, truncated, committed, sent, resent;
  uint64_t snaps_sent, snaps_installed, compactions;
  uint64_t rejected;     /* messages of another epoch or sender */
  uint64_t queue_full;   /* sends skipped: output queue full (retried) */
  uint64_t log_full;     /* records refused: memory log full */
} chorus_repl_stats;

typedef struct chorus_repl chorus_repl;

void chorus_repl_config_default(chorus_repl_config *cfg);

/* Allocate. Returns 0 (*out owned by the caller) or CHORUS_ERR_INVAL,
 * CHORUS_ERR_CONFIG (a limit out of range), CHORUS_ERR_NOMEM. */
int chorus_repl_new(const chorus_repl_config *cfg, chorus_repl **out);
void chorus_repl_free(chorus_repl *r); /* NULL allowed */

/*
 * Recovery from disk, before any other call: the snapshot (index, epoch,
 * bytes copied) then each record in index order. Returns 0, or
 * CHORUS_ERR_INVAL (out of order, index not last+1), CHORUS_ERR_TOO_BIG
 * (snapshot above snapshot_bytes_max, record above
 * CHORUS_CLW_RECORD_BYTES_MAX), CHORUS_ERR_WINDOW_FULL (more records than
 * records_max: the log should have been compacted).
 */
int chorus_repl_restore_snapshot(chorus_repl *r, uint64_t index, uint64_t epoch,
                                 const uint8_t *snap, size_t len);
int chorus_repl_restore_record(chorus_repl *r, uint64_t index, uint64_t epoch,
                               const uint8_t *data, size_t len);

/* Role changes from core/bully (the epoch is already persisted): lead,
 * follow `leader`, or no leader. */
void chorus_repl_lead(chorus_repl *r, uint64_t now_us, uint64_t epoch);
void chorus_repl_follow(chorus_repl *r, uint64_t now_us, uint64_t epoch, size_t leader);
void chorus_repl_idle(chorus_repl *r);

/*
 * chorus_repl_recv handles a decoded replication message (types 16..23).
 * Returns 1 if it came from our leader in our epoch (a sign of life), 0 if
 * handled otherwise, CHORUS_ERR_UNKNOWN_SENDER, CHORUS_ERR_BAD_FRAME (not a
 * replication type), CHORUS_ERR_INVAL.
 */
int chorus_repl_recv(chorus_repl *r, uint64_t now_us, const chorus_clw_msg *m);

/* Resends and empty APPENDs as due by now_us. */
void chorus_repl_tick(chorus_repl *r, uint64_t now_us);
uint64_t chorus_repl_deadline(const chorus_repl *r);

/*
 * chorus_repl_propose appends record data[0..len) as the leader (role
 * ACTIVE) and starts replicating it. Stores its index in *index. Returns 0,
 * or CHORUS_ERR_INVAL (not the active leader, NULL), CHORUS_ERR_TOO_BIG
 * (len above CHORUS_CLW_RECORD_BYTES_MAX), CHORUS_ERR_WINDOW_FULL (the
 * memory log is full: compact first; counted).
 */
int chorus_repl_propose(chorus_repl *r, uint64_t now_us, const uint8_t *data, size_t len,
                        uint64_t *index);

/* Free record slots for proposals (0 unless ACTIVE). */
size_t chorus_repl_room(const chorus_repl *r);

/* 1 when the memory log is three quarters full and commit is above the
 * snapshot: the caller should compact. */
int chorus_repl_wants_compact(const chorus_repl *r);

/*
 * chorus_repl_compact installs snap[0..len) (copied), the state after
 * records 1..index, with index in (snap_index, commit]: the records up to
 * index leave memory and a SNAPSHOT output is queued. Returns 0 or
 * CHORUS_ERR_INVAL, CHORUS_ERR_TOO_BIG.
 */
int chorus_repl_compact(chorus_repl *r, uint64_t index, const uint8_t *snap, size_t len);

/*
 * chorus_repl_poll takes the next output. Driver rule: before a SEND, make
 * every APPEND, TRUNCATE and SNAPSHOT output before it durable (fsync).
 * Returns 0 (kind NONE when empty) or CHORUS_ERR_INVAL.
 */
int chorus_repl_poll(chorus_repl *r, chorus_repl_output *out);

/* Record at index (snap_index < index <= last): 0 with its epoch, data and length,
 * or CHORUS_ERR_INVAL. The pointer is valid until the next call. */
int chorus_repl_record(const chorus_repl *r, uint64_t index, uint64_t *epoch,
                       const uint8_t **data, size_t *len);

/* The snapshot (len 0 when none). */
void chorus_repl_snapshot(const chorus_repl *r, uint64_t *index, const uint8_t **data,
                          size_t *len);

/* The lowest index removed by a truncation or a snapshot install since the
 * last call (the caller's state machine must roll back below it), or
 * UINT64_MAX; resets it. */
uint64_t chorus_repl_take_divergence(chorus_repl *r);

uint64_t chorus_repl_last(const chorus_repl *r);
uint64_t chorus_repl_commit(const chorus_repl *r);
uint64_t chorus_repl_epoch(const chorus_repl *r);
enum chorus_repl_role chorus_repl_role_get(const chorus_repl *r);

/* 1 if we lead, our NOOP is committed and a majority replied within
 * quorum_lease_us before now_us. */
int chorus_repl_serving(const chorus_repl *r, uint64_t now_us);

/* 1 if we lead (ACTIVE) and a majority replied within the lease. */
int chorus_repl_has_quorum(const chorus_repl *r, uint64_t now_us);

void chorus_repl_stats_get(const chorus_repl *r, chorus_repl_stats *out);

#endif
