/*
 * chorus_simcl: the deterministic simulation of a replicated server cluster
 * (`chorus sim --servers N`, SPEC sections 2 and 6).
 *
 * N replicas (core/replica.h), each with a modelled disk, and C clients
 * (core/client.h, every replica in their server list) exchange datagrams in
 * virtual time through a network with seeded delays and loss; one seed
 * derives everything (delays, loss, workload, crashes, partitions, the
 * replicas' seeds). Same seed and configuration: the same trace and hash.
 *
 * Disk model: per replica, the epoch file (durable when written) and the
 * log (records appended, truncated, snapshots installed). Appended records
 * are durable only after the sync the driver makes before any send, as
 * platform/cluster_loop.c does; a crash keeps a seeded prefix of the
 * unsynced records (the write-ahead log cuts a torn last record, so any
 * prefix can be what a crash leaves).
 *
 * Workload, during [0, duration): each client signs up its own account,
 * then alternates at seeded intervals between signing up new accounts and
 * storing offline messages for the user "rc" (who stays offline), logging
 * in again when its session was lost in a failover. A store is retried
 * with the same (sender epoch, message id) until the cluster acknowledges
 * it, as a peer does. Faults: `crashes` leader crashes (the current leader
 * is killed; it restarts after a seeded 1-3 s from what its disk kept) and
 * `partitions` splits of the replicas into two sides for a seeded 1-3 s.
 *
 * After the heal (faults stop, clients finish their pending store), a
 * checker client logs in as "rc", fetches and acknowledges until the
 * mailbox is empty, then logs in as every account whose sign-up was
 * acknowledged. Properties:
 *
 *   one_leader_per_epoch  every write acknowledged to a client comes from
 *                         the leader of the epoch it was sent in, and that
 *                         replica had promised (persisted) the epoch
 *   lost_write            an acknowledged sign-up cannot log in, or an
 *                         acknowledged offline message is never fetched
 *   exactly_once          an offline message fetched twice (after its ack)
 *   fifo                  a sender's messages fetched out of order
 *   liveness              the check did not finish within 60 s after heal
 *
 * Failover: for each leader crash, the time from the crash to the first
 * moment another replica serves (leads, its epoch's NOOP committed, a
 * majority in contact).
 */
#ifndef CHORUS_SIM_CLUSTER_H
#define CHORUS_SIM_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHORUS_SIMCL_SERVERS_MAX 9
#define CHORUS_SIMCL_CLIENTS 3
#define CHORUS_SIMCL_CRASHES_MAX 16
#define CHORUS_SIMCL_FAILOVERS_MAX CHORUS_SIMCL_CRASHES_MAX

typedef struct chorus_simcl_config {
  uint64_t seed;
  size_t servers;        /* 1..9, default 3 */
  uint64_t duration_us;  /* workload and faults, default 20 s */
  size_t crashes;        /* leader crashes, 0..16, default 2 */
  size_t partitions;     /* 0..16, default 1 */
  uint32_t loss_ppm;     /* each datagram, default 1 % */
  uint32_t delay_min_us, delay_max_us; /* default 1..10 ms */
  FILE *trace;           /* trace lines, or NULL (hash only) */
} chorus_simcl_config;

enum chorus_simcl_verdict {
  CHORUS_SIMCL_OK = 0,
  CHORUS_SIMCL_ONE_LEADER = 1,
  CHORUS_SIMCL_LOST_WRITE = 2,
  CHORUS_SIMCL_EXACTLY_ONCE = 3,
  CHORUS_SIMCL_FIFO = 4,
  CHORUS_SIMCL_LIVENESS = 5,
  CHORUS_SIMCL_INTERNAL = 6, /* a simulator limit was hit */
};

typedef struct chorus_simcl_result {
  enum chorus_simcl_verdict verdict;
  char first_bad[160];       /* the first offending event */
  uint64_t hash;             /* trace hash */
  uint64_t end_us, events;
  uint64_t signups_acked, signups_sent;
  uint64_t stores_acked, fetched;
  uint64_t crashes, partitions, elections_won;
  size_t failovers;          /* measured */
  uint64_t failover_us[CHORUS_SIMCL_FAILOVERS_MAX];
} chorus_simcl_result;

void chorus_simcl_config_default(chorus_simcl_config *cfg);

/* Run one seed. Returns 0, or CHORUS_ERR_CONFIG / CHORUS_ERR_NOMEM (the
 * result is then not meaningful). */
int chorus_simcl_run(const chorus_simcl_config *cfg, chorus_simcl_result *out);

const char *chorus_simcl_verdict_name(int v);

#endif
