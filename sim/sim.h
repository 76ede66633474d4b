/*
 * chorus_sim: the deterministic discrete-event simulator (SPEC section 2).
 *
 * N nodes, each a chorus_peer from core/, talk through the network model of
 * net.h in virtual time (µs). A single-threaded next-event loop pops events
 * in (time, insertion order) from evq.h; the simulator never reads a clock.
 * One seed derives every random choice through separate PRNG streams: the
 * network, the workload, each node's core seed, epoch and clock offset, the
 * message texts, the crashes and (with chorus_sim_swarm) the configuration
 * itself. Same seed and configuration: the same trace text and the same
 * trace hash on every host.
 *
 * A run has two phases, in the style of TigerBeetle's VOPR:
 *
 *   safety   [0, duration_us): the workload sends messages at random times
 *            from random live nodes (room messages in the configured order,
 *            or each in an order drawn from the seed with order_mixed;
 *            private ones with probability private_ppm) while the network
 *            loses, duplicates and reorders datagrams, and `crashes` nodes
 *            crash (see CRASHES), some of them to restart (RESTARTS). The
 *            checker (check.h) verifies integrity, exactly-once, FIFO,
 *            causal, total order and safe delivery, each room message by
 *            its own order, on every delivery, and the membership
 *            properties (false removal, detection, view agreement,
 *            catch-up, rejoin) on every view change.
 *   heal     from duration_us on: faults stop (delays stay), no new
 *            messages. LIVENESS BOUND: every obligation (check.h: a message
 *            accepted by a live sender's core, for each live receiver; a
 *            crashed sender's message for every survivor once one survivor
 *            delivered it) must be delivered within liveness_bound_us
 *            (default 30 s of simulated time) after the heal. The run then
 *            continues for settle_us (default 1 s) after the last obligation
 *            is met, the last removal given and the views settled, to catch
 *            late duplicates, and stops. At the end, agreement: each crashed
 *            sender's room message was delivered by all survivors or by
 *            none; and the survivors installed the same views, removed
 *            every crash, and let every restarted node back in.
 *
 * CRASHES: the k-th crash happens at a seeded time in [10 %, 80 %] of the
 * safety phase; at least two nodes survive. Its victim is the sequencer (the
 * lowest live node, n0 at first) or a live node drawn uniformly, half and
 * half unless crash_victim says (a node that restarted is a candidate once
 * it has installed its own JOIN); its mode is drawn unless crash_mode says:
 *
 *   clean       the core is freed between two events;
 *   mid-send    the victim submits a room message, and of the datagrams its
 *               core then emits only the first j (j drawn in 0..nodes-1)
 *               leave before it is freed;
 *   mid-output  in the victim's next burst of output of more than j
 *               datagrams (j drawn in 0..nodes-2; for the sequencer, often
 *               the forwarding of a numbered message to every member), only
 *               the first j leave (if no such burst comes within 1 s, or by
 *               the heal, it crashes clean).
 *
 * The seed also says whether the victim's datagrams still in flight are
 * lost with it.
 *
 * DETECTION. With fd_mode OFF (the default) the cores' failure detectors
 * are off and the simulator is the oracle: each survivor is given
 * chorus_peer_remove_member after its own detection delay, drawn in
 * [detect_min_us, detect_max_us]: a verdict, which the cores' coordinator
 * carries out by a VIEW; every survivor is given the removals in the same
 * order, a later crash's removal never before an earlier one's, and a
 * removal is not given (removals_moot) once the survivor's view no longer
 * holds the crashed boot (the coordinator's VIEW removed it, or it
 * restarted and was let back in). With
 * fd_mode DEFAULT or FAST the cores detect crashes themselves (SWIM, core
 * fd.h) and nothing is given: the checker then requires every survivor to
 * remove each crash within detect_bound_us (default by profile, see
 * CHORUS_SIM_DETECT_BOUND_*) and never to remove a node that is up.
 *
 * RESTARTS. `restarts` of the crashes (chosen by the seed) are followed by
 * a restart after a downtime drawn in [down_min_us, down_max_us]: a new
 * core with the same name and index, a larger epoch, a fresh seed and the
 * same clock. The coordinator of the room admits it (removing its old boot
 * first if no detector did yet); it catches up the room's history (the
 * checker's CATCH-UP, check.h) and installs its own JOIN. Until then the
 * workload sends nothing from it and nothing private to it. The run is
 * quiet only once every restart happened and every view settled
 * (chorus_check_views_settled).
 *
 * A message the core refuses with CHORUS_ERR_WINDOW_FULL or
 * CHORUS_ERR_QUEUE_FULL (back-pressure) is counted as refused and creates no
 * obligation; a message whose sender is down or not yet back in the room,
 * or a private one to a member its sender has already removed (or whose
 * restarted boot its sender has not let in yet), is skipped (counted).
 *
 * The options added for the detector and restarts leave the trace of a run
 * that does not use them as it was: their trace header line and their
 * events appear only when fd_mode is on or restarts > 0.
 *
 * Every event is one text line of the trace ("<time_us> <what> ..."); the
 * trace hash is FNV-1a 64 over those bytes, written out only if asked.
 *
 * PARTITIONS. `partitions` episodes (part.c) split the nodes into two
 * sides of drawn sizes during the safety phase: a split drops every
 * datagram between the sides, a one-way partition only side A's datagrams
 * to side B. Each lasts a drawn time (short: 0.2..1.5 s, or long: 2..8 s,
 * half and half), never past the heal. With a detector on, long ones make
 * each side remove the other; the cores merge the views again once
 * datagrams flow (docs/PROTOCOL.md, "Merging views"), each side
 * delivering the other's messages (marked merge). The checker excuses the
 * removals across the sides (false_removal), checks merge_order, and takes
 * one heal-to-merged-view sample per split it saw (check.h, PARTITIONS).
 * The trace header gains a line only when partitions > 0.
 *
 * VIA SERVER (via_server, sim/srvnode.c). The peers join through a server
 * node running core/server, as `chorus peer --server` does: each one's seat
 * machine (core/seat.h, shared with the CLI) logs in over a core/client,
 * joins the room and gets a seat; only then does its core start, in slots
 * mode with the roster's names (joining when the roster names anyone else:
 * it waits for its cut), and the coordinator admits it once the
 * others' refresh (every second, or at once on a stranger's datagram)
 * names it. Node 0 founds the room at 0; node k+1 starts joining 0..1.5 s
 * after node k got its seat, so seat k is node k's (checked: "seat").
 * `leaves` nodes leave gracefully (chorus_peer_leave; the core stops once
 * chorus_peer_leaving_done, or after a 3 s grace; then the server's room)
 * in [50 %, 85 %], once every node has its seat; crashes and leaves
 * wait while fewer than three nodes are in the room. A restarted node joins
 * again through the server (same seat); the run is not quiet before its
 * core boots again. `server_crashes` crashes of the
 * server restart it from its last snapshot 0.3..3 s later; the peers chat
 * on and register again. The checker starts with nodes 1.. absent
 * (check.h) and, at the end, "roster": every restarted node got its seat
 * back, the server's room lists every node
 * up in the room and no node that left, and each node up stands in a view
 * of exactly those. The detector must be on. Not yet with partitions.
 *
 * Room left for later, not built yet: clock drift (each node already has
 * its own clock offset).
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
#define CHORUS_SIM_PRIVATE_PPM_DEFAULT 200000u /* share of private messages */
#define CHORUS_SIM_DETECT_MIN_US_DEFAULT 300000u  /* crash detection delay range */
#define CHORUS_SIM_DETECT_MAX_US_DEFAULT 1500000u
#define CHORUS_SIM_CRASH_DESC_BYTES 400 /* "n0@1.234s:mid-send:drop+2.5s,..." */
#define CHORUS_SIM_LONG_PPM 100000u   /* share of multi-fragment messages */
#define CHORUS_SIM_SHORT_BYTES_MAX 160 /* short messages are 1..160 bytes */
#define CHORUS_SIM_DOWN_MIN_US_DEFAULT 500000u  /* restart downtime range */
#define CHORUS_SIM_DOWN_MAX_US_DEFAULT 8000000u
#define CHORUS_SIM_HISTORY_MSGS_DEFAULT 100u    /* the cores' history_msgs */
#define CHORUS_SIM_PARTITIONS_MAX 8             /* partition episodes per run */
#define CHORUS_SIM_SERVER_CRASHES_MAX 4         /* via server */
#define CHORUS_SIM_LEAVES_MAX 8                 /* via server */
/* Detection bounds checked with the cores' detector on: the profiles of
 * core/fd.c detect in about 1.9 s (fast) and 5 s (default) of silence;
 * the bound is 2.5 s (fast) or 6 s (default) plus 8 times the largest
 * one-way delay, time for the coordinator's VIEW to reach every survivor
 * through lossy links, retransmitted (2.58 s and 6.08 s with the default
 * 1..10 ms delays). It runs from the crash, or from the latest crash after
 * it when crashes cascade (check.h, detection). */
#define CHORUS_SIM_DETECT_BOUND_FAST_US 2500000u
#define CHORUS_SIM_DETECT_BOUND_DEFAULT_US 6000000u
#define CHORUS_SIM_DETECT_DELAYS 8u
#define CHORUS_SIM_SAMPLES_MAX (CHORUS_CHECK_PROCS_MAX * CHORUS_CHECK_PROCS_MAX)

/* Deliberate bugs injected between the cores and the checker, to prove the
 * whole pipeline catches them (tests/sim/selftest.sh). Each one hits the
 * CHORUS_SIM_MUTATE_AT-th delivery of the run, or the first one after it
 * that it applies to. */
enum chorus_sim_mutate {
  CHORUS_SIM_MUTATE_NONE = 0,
  CHORUS_SIM_MUTATE_CORRUPT,   /* flip one byte of the text: integrity */
  CHORUS_SIM_MUTATE_DUPLICATE, /* report it twice: exactly_once */
  CHORUS_SIM_MUTATE_REORDER,   /* report it after the sender's next: fifo */
  CHORUS_SIM_MUTATE_LOSE,      /* never report it: fifo gap or liveness */
  CHORUS_SIM_MUTATE_CAUSAL,    /* report a room delivery after the receiver's
                                  next one from another sender: causal when
                                  that one depends on it */
  CHORUS_SIM_MUTATE_TOTAL,     /* the same for a total or safe delivery and
                                  the next total or safe one: total_order */
  CHORUS_SIM_MUTATE_SAFE,      /* hide every later HELD report of the last
                                  node: a safe delivery then comes before all
                                  members reported holding it: safe */
  CHORUS_SIM_MUTATE_AGREEMENT, /* from the first crash on, never report the
                                  first survivor's deliveries of crashed
                                  senders' messages: agreement */
  CHORUS_SIM_MUTATE_VIEW,      /* report the first view change of the
                                  highest node with one more member bit:
                                  view_agreement */
  CHORUS_SIM_MUTATE_FALSE_REMOVAL, /* at the delivery, report a view change
                                  at the receiver removing another live
                                  node: false_removal */
  CHORUS_SIM_MUTATE_CATCH_UP,  /* never report the last history delivery
                                  of the first restarted node before its
                                  JOIN: catch_up */
  CHORUS_SIM_MUTATE_MERGE,     /* report a total or safe merge delivery
                                  after the receiver's next total or safe
                                  merge delivery from another sender:
                                  merge_order */
};
#define CHORUS_SIM_MUTATE_LAST CHORUS_SIM_MUTATE_MERGE

/* How a crash happens; see CRASHES above. */
enum chorus_sim_crash_mode {
  CHORUS_SIM_CRASH_DRAWN = 0, /* each crash draws one of the three below */
  CHORUS_SIM_CRASH_CLEAN,
  CHORUS_SIM_CRASH_MID_SEND,
  CHORUS_SIM_CRASH_MID_OUTPUT,
};

/* Whom a crash hits; see CRASHES above. */
enum chorus_sim_victim {
  CHORUS_SIM_VICTIM_DRAWN = 0, /* the sequencer or a uniform draw, half and half */
  CHORUS_SIM_VICTIM_SEQUENCER, /* always the lowest live node */
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
  int order_mixed;             /* 1: each room message draws its order
                                  (fifo, causal, total, safe) from the seed */
  uint32_t private_ppm;        /* share of private messages, 0..1000000 */
  size_t crashes;              /* nodes that crash, 0..nodes-2 */
  enum chorus_sim_crash_mode crash_mode;
  enum chorus_sim_victim crash_victim;
  uint32_t detect_min_us, detect_max_us; /* oracle removal delay per survivor */
  enum chorus_fd_mode fd_mode; /* the cores' failure detector; OFF: oracle */
  uint64_t detect_bound_us;    /* checked detection bound; 0: by profile
                                  and delays (none with fd_mode OFF) */
  size_t restarts;             /* crashes followed by a restart, 0..crashes */
  uint32_t down_min_us, down_max_us; /* restart downtime range */
  size_t history_msgs;         /* the cores' history_msgs (default 100) */
  size_t partitions;           /* partition episodes, 0..CHORUS_SIM_PARTITIONS_MAX */
  int via_server;              /* 1: peers join through a server node (see
                                  VIA SERVER); needs fd_mode on */
  size_t leaves;               /* via server: graceful leaves, 0..nodes-2 */
  size_t server_crashes;       /* via server: crashes of the server, each
                                  followed by a restart, 0..SIM_SERVER_CRASHES_MAX */
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
  uint64_t sent_room;               /* of the sent ones, room messages */
  uint64_t skipped;                 /* sender down or receiver removed */
  uint64_t obligations, delivered;  /* (message, receiver) pairs; correct deliveries */
  uint64_t duplicates;              /* deliveries of a message already delivered */
  uint64_t datagrams;               /* datagrams the cores sent */
  uint64_t lost, duplicated, reordered; /* network faults injected */
  uint64_t down_dropped;            /* datagrams lost with a crashed node */
  uint64_t rx_rejected;             /* datagrams a core dropped (stale epoch, ...) */
  /* Send to delivery at non-senders, per class (check.h). */
  chorus_check_quantiles lat[CHORUS_CHECK_CLASSES];
  size_t crashed;                   /* crashes that happened */
  char crash_desc[CHORUS_SIM_CRASH_DESC_BYTES]; /* "n0@1.234s:mid-send:drop" per
                                                   crash, "+2.5s" if it restarted
                                                   2.5 s later */
  uint64_t removals;                /* chorus_peer_remove_member calls */
  uint64_t removals_moot;           /* removals not given: the survivor's view
                                       had dropped that boot already (by the
                                       coordinator's VIEW) */
  size_t restarted;                 /* restarts that happened */
  uint64_t joined;                  /* restarted nodes that installed their JOIN */
  uint64_t history;                 /* history deliveries (catch-up) */
  uint64_t views;                   /* view changes the cores reported */
  uint64_t false_removals;          /* removals of a node that was up */
  uint64_t fd_suspicions, fd_refutations; /* cores' counters, nodes up at the end */
  /* Crash to a survivor's removal of it, and restart to the node's own JOIN
   * (µs): quantiles and the samples themselves (the first ones if more). */
  chorus_check_quantiles detect, rejoin;
  uint64_t detect_us[CHORUS_SIM_SAMPLES_MAX], rejoin_us[CHORUS_CHECK_PROCS_MAX];
  size_t detect_count, rejoin_count;
  /* Heal of a partition to the moment every node up stands in one view
   * with all the others (µs), one sample per split (check.h, PARTITIONS). */
  chorus_check_quantiles merge;
  uint64_t merge_us[CHORUS_SIM_PARTITIONS_MAX];
  size_t merge_count;
  size_t partitioned;               /* partition episodes that happened */
  size_t seated, left, server_crashed; /* via server: first seats taken,
                                          leaves done, server crashes */
  uint64_t merged;                  /* merge deliveries (check.h) */
  /* Agreement: crashed senders' room messages delivered by every survivor,
   * by none, and room messages each survivor delivered. */
  uint64_t agreed_all, agreed_none, survivor_room;
  uint64_t events;                  /* events the loop processed */
  uint64_t heal_us;                 /* when faults stopped */
  uint64_t quiet_us;                /* when the last obligation was met, or 0 */
  uint64_t end_us;                  /* simulated time at the end */
  size_t evq_high_water, pool_high_water;
} chorus_sim_result;

/* Fill `cfg` with the defaults of `chorus sim` (5 nodes, 10 s at 50 msg/s,
 * 20 % private, 1..10 ms delays, no faults, no crashes, total order, seed 1). */
void chorus_sim_config_default(chorus_sim_config *cfg);

/*
 * chorus_sim_swarm draws the fault mix and workload of a swarm run from
 * cfg->seed alone (its own PRNG stream) and stores it in *cfg: nodes 3..10,
 * one-way delay min 0..20 ms and max min..min+150 ms, loss 0..0.3,
 * duplication 0..0.2, reordering 0..0.3 (each fault off with probability
 * 1/4), rate 10..200 messages per second, private share 0..0.3, room order
 * mixed (half the seeds) or one of the four, crashes 0..min(2, nodes-2),
 * partitions 0..2 (none in half the seeds).
 * The other fields are left as they are. Every drawn value is one that the
 * command line can express exactly, so the printed options replay it.
 */
void chorus_sim_swarm(chorus_sim_config *cfg);

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

/* Name of a detector mode ("off", "default", "fast"), and the inverse;
 * NULL / -1 if unknown. */
const char *chorus_sim_fd_name(enum chorus_fd_mode m);
int chorus_sim_fd_parse(const char *name);

/* Name of a crash mode ("drawn", "clean", "mid-send", "mid-output") and of
 * a victim choice ("drawn", "sequencer"), and the inverses; NULL / -1. */
const char *chorus_sim_crash_mode_name(enum chorus_sim_crash_mode m);
int chorus_sim_crash_mode_parse(const char *name);
const char *chorus_sim_victim_name(enum chorus_sim_victim v);
int chorus_sim_victim_parse(const char *name);

#endif
