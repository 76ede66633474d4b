/*
 * chorus_sim: the deterministic discrete-event simulator (SPEC section 2).
 *
 * N nodes, each a chorus_peer from core/, talk through the network model of
 * net.h in virtual time (µs). A single-threaded next-event loop pops events
 * in (time, insertion order) from evq.h; the simulator never reads a clock.
 * One seed derives every random choice through separate PRNG streams: the
 * network, the workload, each node's core seed, epoch and clock offset, and
 * the message texts. Same seed and configuration: the same trace text and
 * the same trace hash on every host.
 *
 * A run has two phases, in the style of TigerBeetle's VOPR:
 *
 *   safety   [0, duration_us): the workload sends messages at random times
 *            from random nodes while the network loses, duplicates and
 *            reorders datagrams. The checker (check.h) verifies integrity,
 *            exactly-once and FIFO on every delivery.
 *   heal     from duration_us on: faults stop (delays stay), no new
 *            messages. LIVENESS BOUND: every obligation (a message accepted
 *            by its sender's core, and each receiver it is meant for) must be
 *            delivered within liveness_bound_us (default 30 s of simulated
 *            time) after the heal. The run then continues for settle_us
 *            (default 1 s) to catch late duplicate deliveries, and stops.
 *
 * A message the core refuses with CHORUS_ERR_WINDOW_FULL or
 * CHORUS_ERR_QUEUE_FULL (back-pressure) is counted as refused and creates no
 * obligation. Room messages all use one order (config.order); the checker
 * verifies that order's guarantees (fifo, causal, total, safe).
 *
 * Every event is one text line of the trace ("<time_us> <what> ..."); the
 * trace hash is FNV-1a 64 over those bytes, written out only if asked.
 *
 * Room left for later, not built yet: mixed orders in one run, view
 * changes (chorus_peer_remove_member), crashes and restarts with a new epoch
 * (chorus_sim_node keeps the epoch per boot), partitions (chorus_net_link_set
 * per link), clock drift (each node already has its own clock offset) and
 * server nodes.
 */
#ifndef CHORUS_SIM_SIM_H
#define CHORUS_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "net.h"

#define CHORUS_SIM_LIVENESS_BOUND_US_DEFAULT 30000000u /* 30 s after heal */
#define CHORUS_SIM_SETTLE_US_DEFAULT 1000000u          /* 1 s after the last obligation */
#define CHORUS_SIM_POOL_SLOTS_DEFAULT ((size_t)1 << 16) /* datagrams in flight */
#define CHORUS_SIM_ROOM_PPM 800000u   /* share of room messages in the workload */
#define CHORUS_SIM_LONG_PPM 100000u   /* share of multi-fragment messages */
#define CHORUS_SIM_SHORT_BYTES_MAX 160 /* short messages are 1..160 bytes */

/* Deliberate bugs injected between the cores and the checker, to prove the
 * whole pipeline catches them (tests/sim/selftest.sh). Each one hits the
 * CHORUS_SIM_MUTATE_AT-th delivery of the run. */
enum chorus_sim_mutate {
  CHORUS_SIM_MUTATE_NONE = 0,
  CHORUS_SIM_MUTATE_CORRUPT,   /* flip one byte of the text: integrity */
  CHORUS_SIM_MUTATE_DUPLICATE, /* report it twice: exactly_once */
  CHORUS_SIM_MUTATE_REORDER,   /* report it after the sender's next: fifo */
  CHORUS_SIM_MUTATE_LOSE,      /* never report it: fifo gap or liveness */
};
#define CHORUS_SIM_MUTATE_AT 10

typedef struct chorus_sim_config {
  uint64_t seed;               /* derives every random choice */
  size_t nodes;                /* 2..CHORUS_MEMBERS_MAX, named n0..n9 */
  uint64_t duration_us;        /* safety phase (workload) length, > 0 */
  uint64_t send_interval_us;   /* mean gap between workload sends, > 0 */
  chorus_net_link link;        /* every link during the safety phase */
  uint64_t liveness_bound_us;  /* see LIVENESS BOUND above */
  uint64_t settle_us;          /* run on after the last obligation is met */
  size_t msg_bytes_max;        /* cores' message limit, 1..CHORUS_MSG_BYTES_MAX */
  enum chorus_order order;     /* order of every room message, default total */
  size_t pool_slots;           /* network pool: datagram copies in flight */
  size_t events_max;           /* event queue capacity; 0: 2*pool_slots + 1024 */
  size_t messages_max;         /* checker capacity; 0: derived from the workload */
  enum chorus_sim_mutate mutate;
  FILE *trace;                 /* trace text goes here if not NULL (not owned) */
} chorus_sim_config;

/* Outcome of one run. */
enum chorus_sim_verdict {
  CHORUS_SIM_OK = 0,        /* every property held */
  CHORUS_SIM_VIOLATION = 1, /* a property failed: see violation */
  CHORUS_SIM_ERROR = 2,     /* the simulator could not go on: see error */
};

typedef struct chorus_sim_result {
  enum chorus_sim_verdict verdict;
  chorus_check_violation violation; /* the first one, if VIOLATION */
  char error[256];                  /* the reason, if ERROR */
  uint64_t trace_hash;              /* FNV-1a 64 of the trace text */
  uint64_t sent, refused;           /* messages accepted / refused by cores */
  uint64_t obligations, delivered;  /* (message, receiver) pairs; correct deliveries */
  uint64_t datagrams;               /* datagrams the cores sent */
  uint64_t lost, duplicated, reordered; /* network faults injected */
  uint64_t rx_rejected;             /* datagrams a core dropped (stale epoch, ...) */
  uint64_t lat_p50_us, lat_p99_us, lat_max_us; /* send to delivery, per delivery */
  uint64_t events;                  /* events the loop processed */
  uint64_t heal_us;                 /* when faults stopped */
  uint64_t quiet_us;                /* when the last obligation was met, or 0 */
  uint64_t end_us;                  /* simulated time at the end */
  size_t evq_high_water, pool_high_water;
} chorus_sim_result;

/* Fill `cfg` with the defaults of `chorus sim` (5 nodes, 10 s at 50 msg/s,
 * 1..10 ms delays, no faults, total order, seed 1). */
void chorus_sim_config_default(chorus_sim_config *cfg);

/*
 * chorus_sim_messages_max returns the checker capacity a configuration
 * needs: the expected workload (duration / interval) plus 1/8 plus 1024.
 * The workload's gaps are uniform in [1, 2*interval), so their count stays
 * within a few sqrt(expected) of the expectation; going past the capacity
 * anyway is a reported error. Returns more than CHORUS_CHECK_MESSAGES_MAX
 * when the configuration is too large to simulate.
 */
size_t chorus_sim_messages_max(const chorus_sim_config *cfg);

/*
 * chorus_sim_run runs one simulation and fills *res. Returns 0 when the run
 * completed (res->verdict is OK or VIOLATION), or a negative chorus error
 * code with res->verdict ERROR and res->error explaining it:
 * CHORUS_ERR_INVAL / CHORUS_ERR_CONFIG (configuration out of range),
 * CHORUS_ERR_NOMEM, CHORUS_ERR_QUEUE_FULL (event queue, network pool or
 * checker table exhausted), or the code of an unexpected core failure.
 */
int chorus_sim_run(const chorus_sim_config *cfg, chorus_sim_result *res);

/* Name of an order ("total", ...) and the inverse; "?" / -1 if unknown. */
const char *chorus_sim_order_name(enum chorus_order o);
int chorus_sim_order_parse(const char *name);

/* Name of a mutation ("corrupt", ...), and the inverse; NULL / -1 if unknown. */
const char *chorus_sim_mutate_name(enum chorus_sim_mutate m);
int chorus_sim_mutate_parse(const char *name);

#endif
