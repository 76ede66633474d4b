/*
 * chorus_replica: one replica of a server cluster (SPEC section 6) as a
 * pure state machine: the server (core/server.h, replicated mode), the Fast
 * Bully election (core/bully.h) and log replication (core/repl.h) wired
 * together. No I/O, no clock, no globals; every buffer is allocated at
 * creation; outputs leave through one bounded queue, in order.
 *
 * The driver (platform/cluster_loop.c, sim/cluster.c):
 *
 *   1. chorus_replica_new with the promise (epoch) read from disk;
 *   2. chorus_replica_restore for the log's snapshot, then each record, as
 *      the write-ahead log replays them;
 *   3. chorus_replica_start;
 *   4. feeds chorus_replica_client_recv (a datagram from a client),
 *      chorus_replica_peer_recv (from another replica's peer port) and
 *      chorus_replica_tick (at chorus_replica_deadline), and after each
 *      call polls until CHORUS_REPLICA_OUT_NONE, carrying out outputs in
 *      order:
 *
 *   EPOCH      persist the promised epoch (write, fsync, rename) now
 *   LOG_APPEND append record (index, epoch, data) to the log (no fsync yet)
 *   LOG_TRUNCATE drop the log records after index
 *   LOG_SNAPSHOT the snapshot (index, epoch, data) replaces the log up to
 *              index
 *   PEER_SEND  send data to replica `peer`   } before either: fsync the log
 *   CLIENT_SEND send data to client `to`     } if anything was written
 *   ROLE, EVENT something to log
 *
 * The rule "fsync before any send" makes every reply that reports a record
 * (STATE, APPEND_ACK) and every client answer that depends on it leave only
 * once the record is on disk. A client answer is moreover held until the
 * log index it follows is committed (on a majority): the leader answers
 * nothing it could lose.
 *
 * Clients: only the serving leader executes requests. Another replica
 * answers CHORUS_SRV_NOT_LEADER (detail: leader's index + 1, or 0), a
 * leader without a majority (or still recovering) CHORUS_SRV_NO_QUORUM, and
 * a leader whose log or answer queue is full CHORUS_SRV_BUSY.
 */
#ifndef CHORUS_REPLICA_H
#define CHORUS_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "bully.h"
#include "err.h"
#include "repl.h"
#include "server.h"

#define CHORUS_REPLICA_HELD_DEFAULT 256 /* answers waiting for a commit */
#define CHORUS_REPLICA_HELD_LIMIT 65536
#define CHORUS_REPLICA_OUTQ_MAX 512

typedef struct chorus_replica_config {
  chorus_server_config server; /* limits; `replicated` is forced on; the
                                  seed should differ between replicas in
                                  its low 32 bits (random in production) */
  chorus_bully_config bully;   /* n, self, priorities, timers */
  size_t records_max;          /* repl: records in memory */
  uint64_t retry_us;           /* repl: resend interval */
  uint64_t quorum_lease_us;    /* repl: majority contact lease */
  size_t held_max;             /* answers held until commit, 1..65536 */
} chorus_replica_config;

enum chorus_replica_out_kind {
  CHORUS_REPLICA_OUT_NONE = 0,
  CHORUS_REPLICA_OUT_EPOCH = 1,
  CHORUS_REPLICA_OUT_LOG_APPEND = 2,
  CHORUS_REPLICA_OUT_LOG_TRUNCATE = 3,
  CHORUS_REPLICA_OUT_LOG_SNAPSHOT = 4,
  CHORUS_REPLICA_OUT_PEER_SEND = 5,
  CHORUS_REPLICA_OUT_CLIENT_SEND = 6,
  CHORUS_REPLICA_OUT_ROLE = 7,  /* leader (or -1), epoch, serving */
  CHORUS_REPLICA_OUT_EVENT = 8, /* server event, see chorus_server_output */
};

typedef struct chorus_replica_output {
  enum chorus_replica_out_kind kind;
  size_t peer;            /* PEER_SEND */
  chorus_srv_addr to;     /* CLIENT_SEND */
  uint64_t index, epoch;  /* LOG_*, EPOCH, ROLE */
  const uint8_t *data;    /* valid until the next call */
  size_t len;
  int leader, serving;    /* ROLE */
  chorus_server_output event; /* EVENT */
} chorus_replica_output;

typedef struct chorus_replica_stats {
  uint64_t not_leader, no_quorum, busy; /* client requests refused */
  uint64_t held_dropped;  /* answers dropped: leadership lost */
  uint64_t rebuilds;      /* state machine rebuilt from the snapshot */
  uint64_t applied;       /* records applied */
  uint64_t rx_bad;        /* peer datagrams that do not decode */
  uint64_t apply_failed;  /* records or snapshots that did not apply
                             (a broken or hostile leader; 0 otherwise) */
  uint64_t queue_full;    /* outputs dropped: queue full (never expected) */
  uint64_t commit, last;  /* log positions now */
  uint64_t applied_index; /* the state machine is the log up to here */
  uint64_t compactions, snaps_installed, snaps_sent; /* from core/repl */
} chorus_replica_stats;

typedef struct chorus_replica chorus_replica;

/* Defaults for every part; the cluster shape must still be set. */
void chorus_replica_config_default(chorus_replica_config *cfg);

/*
 * chorus_replica_new allocates a replica whose promised epoch on disk is
 * `epoch`. Returns 0 (*out owned by the caller) or CHORUS_ERR_INVAL,
 * CHORUS_ERR_CONFIG (any part's config, see its header), CHORUS_ERR_NOMEM.
 */
int chorus_replica_new(const chorus_replica_config *cfg, uint64_t epoch,
                       chorus_replica **out);
void chorus_replica_free(chorus_replica *r); /* NULL allowed */

/*
 * Recovery, before start: is_snapshot 1 for the snapshot (state after
 * records 1..index), then 0 for each record in index order. Returns 0, or
 * CHORUS_ERR_INVAL (order), CHORUS_ERR_TOO_BIG, CHORUS_ERR_WINDOW_FULL (see
 * chorus_repl_restore_record), CHORUS_ERR_CORRUPT (the snapshot does not
 * load: *why says why).
 */
int chorus_replica_restore(chorus_replica *r, int is_snapshot, uint64_t index, uint64_t epoch,
                           const uint8_t *data, size_t len, const char **why);

/* Start at now_us: the election begins (IAM_UP). */
void chorus_replica_start(chorus_replica *r, uint64_t now_us);

/* A client datagram from `from` (opaque, <= 28 bytes). Returns 0 or
 * CHORUS_ERR_INVAL; anything else is answered or counted. */
int chorus_replica_client_recv(chorus_replica *r, uint64_t now_us, const chorus_srv_addr *from,
                               const uint8_t *data, size_t len);

/* A datagram on the peer port. Returns 0, a decode error (counted), or
 * CHORUS_ERR_UNKNOWN_SENDER. */
int chorus_replica_peer_recv(chorus_replica *r, uint64_t now_us, const uint8_t *data,
                             size_t len);

void chorus_replica_tick(chorus_replica *r, uint64_t now_us);
uint64_t chorus_replica_deadline(const chorus_replica *r);

/* Mix entropy into the server's salt and token generator (the last 32
 * bytes are kept and mixed into the server of every later rebuild). */
int chorus_replica_entropy(chorus_replica *r, const uint8_t *bytes, size_t len);

/* Next output (kind NONE when empty). Returns 0 or CHORUS_ERR_INVAL. */
int chorus_replica_poll(chorus_replica *r, chorus_replica_output *out);

/* 1 if this replica is the leader and serves clients at now_us. */
int chorus_replica_serving(const chorus_replica *r, uint64_t now_us);
int chorus_replica_leader(const chorus_replica *r); /* known leader or -1 */
uint64_t chorus_replica_epoch(const chorus_replica *r);
void chorus_replica_stats_get(const chorus_replica *r, chorus_replica_stats *out);

/* The server state machine (read-only use: checks and tests). */
const chorus_server *chorus_replica_server(const chorus_replica *r);

#endif
