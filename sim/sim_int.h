/*
 * Internal to the simulator: the state of one run, shared by the files that
 * drive it (sim.c setup and loop, drive.c core outputs and timers, work.c
 * workload, crash.c crashes, removals and restarts, mutate.c self-test
 * mutations).
 * Not a public interface: use sim.h.
 */
#ifndef CHORUS_SIM_INT_H
#define CHORUS_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "evq.h"
#include "net.h"
#include "client.h"
#include "prng.h"
#include "seat.h"
#include "server.h"
#include "sim.h"
#include "trace.h"

#define SIM_NO_TIMER UINT64_MAX
#define SIM_CRASHES_MAX (CHORUS_MEMBERS_MAX - 2) /* two nodes always survive */
#define SIM_PPM_ONE 1000000u

/* PRNG streams derived from the one seed. Never renumber: it would change
 * every trace hash. */
enum sim_stream {
  STREAM_NET = 1,
  STREAM_WORK = 2,
  STREAM_NODE_SEED = 3,
  STREAM_EPOCH = 4,
  STREAM_CLOCK = 5,
  STREAM_TEXT = 6,
  STREAM_CRASH = 7, /* crash plan, victims, detection delays */
  STREAM_SWARM = 8, /* chorus_sim_swarm's configuration draws */
  STREAM_ORDER = 9, /* per-message room order with order_mixed */
  STREAM_RESTART = 10, /* which crashes restart, downtimes, later epochs */
  STREAM_PART = 11,    /* partition episodes */
  STREAM_SERVER = 12,  /* via server: joins, leaves, server crashes, seeds */
};

typedef struct sim_node {
  chorus_peer *peer;        /* NULL while crashed */
  uint32_t epoch;           /* this boot's incarnation */
  uint8_t boot;             /* boots so far minus one (0: the first) */
  uint64_t boot_dropped;    /* bit b: boot b's datagrams in flight were lost
                               with it */
  int joined;               /* installed its own JOIN (first boots: from the
                               start); sends nothing until then */
  int oracle_owed;          /* a newcomer: the oracle's verdicts on crashes
                               it missed are due once it takes its cut */
  uint64_t clock_offset_us; /* node clock = virtual time + offset */
  uint64_t timer_at_us;     /* the live TIMER event, or SIM_NO_TIMER */
  uint64_t last_tick_us;
  uint32_t ticks_same_time;
  int stuck;                /* its deadline once failed to advance */
  uint64_t sends;           /* messages drawn for it, for text keys */
  int down;                 /* crashed (until it restarts, if ever) */
  uint16_t removed;         /* bit per node out of its view */
  uint64_t removal_at_us;   /* its latest scheduled removal */
  size_t crash_armed;       /* 1 + index of its pending crash, 0: none */
  size_t crash_budget;      /* datagrams the crashing burst lets out */
  int crash_at_end;         /* crash when the current drain ends anyway */
  uint64_t cuts_resent;     /* its core's cuts_resent count, as reported */
  uint64_t admissions;      /* its core's admissions count, as reported */
  /* Via server (srvnode.c): the node's client and seat, while it runs. */
  chorus_client *client;    /* NULL before it starts joining and while down */
  chorus_seat seat;
  uint64_t seat_timer_at_us; /* the live SEAT event, or SIM_NO_TIMER */
  int booted;               /* its core ran once (later boots restart) */
  int leaving;              /* announced its leave; core stops once idle */
  int left;                 /* left the room for good */
} sim_node;

/* One planned crash (drawn at start; victim chosen when it is due). */
typedef struct sim_crash {
  uint64_t at_us;
  uint8_t mode;          /* enum chorus_sim_crash_mode, never DRAWN */
  uint8_t sequencer;     /* 1: the victim is the lowest live node */
  uint8_t drop_inflight; /* 1: its datagrams in flight are lost */
  uint8_t done;          /* it happened */
  uint8_t restart;       /* 1: the victim boots again down_us later */
  uint64_t down_us;
  uint32_t budget;       /* datagrams that leave in the cut burst */
  uint64_t pick;         /* uniform draw for a non-sequencer victim */
  size_t victim;         /* node, once chosen */
} sim_crash;

/* One planned partition episode (part.c). */
typedef struct sim_part {
  uint64_t start_us, end_us;
  uint32_t side_a;       /* bit per node; side B is the rest */
  uint8_t oneway;        /* 1: only A's datagrams to B are dropped */
  uint8_t started, ended;
} sim_part;

/* A delivery held back by the reorder, causal or total mutation. */
typedef struct sim_held {
  int active;
  int other_sender; /* release after another sender's delivery (else same) */
  int total_only;   /* that delivery must be total or safe */
  int merge_only;   /* and a merge delivery (merge mutation) */
  chorus_check_delivery d;
} sim_held;

typedef struct sim {
  const chorus_sim_config *cfg;
  chorus_sim_result *res;
  sim_node node[CHORUS_MEMBERS_MAX];
  chorus_evq *evq;
  chorus_net *net;
  chorus_check *chk;
  chorus_prng work;   /* workload: times, senders, kinds, lengths */
  chorus_prng order;  /* room order per message (order_mixed) */
  chorus_prng crash_rng;
  chorus_trace trace;
  uint8_t *poll_buf;  /* chorus_peer_poll output, poll_cap bytes */
  size_t poll_cap;
  uint8_t *text_buf;  /* workload text, msg_bytes_max bytes */
  uint8_t *held_text; /* mutated or held delivery text, poll_cap bytes */
  sim_held held;
  sim_crash crash[SIM_CRASHES_MAX];
  sim_part part[CHORUS_SIM_PARTITIONS_MAX];
  size_t crash_count;      /* planned */
  size_t crashes_pending;  /* planned, not yet happened */
  size_t removals_pending; /* scheduled, not yet given */
  size_t restarts_pending; /* planned, not yet happened */
  size_t desc_len;         /* bytes used in res->crash_desc */
  uint64_t now_us;
  uint64_t deliveries; /* deliveries seen, for the mutation */
  int mutated;         /* the mutation has been applied */
  int hide_held;       /* safe mutation: HELD reports of the last node hidden */
  int agree_victim;    /* agreement mutation: the survivor, or -1 */
  int catchup_node;    /* catch-up mutation: the first restarted node, or -1 */
  sim_held hist;       /* catch-up mutation: its latest history delivery */
  uint8_t *hist_text;  /* its text, poll_cap bytes */
  int healed, quiet;
  /* Via server (srvnode.c). */
  chorus_server *srv;      /* NULL while down */
  uint32_t srv_boot;
  uint64_t srv_timer_at_us, srv_clock_offset_us;
  uint8_t *srv_buf, *snap; /* poll buffer; the last snapshot (its disk) */
  size_t srv_cap, snap_len;
  chorus_prng srv_rng;     /* join gaps, leaves, server crashes */
  size_t joins_pending, leaves_pending, srv_restarts_pending;
} sim;

/* The seed of stream `stream`, item `index`: independent of every other. */
uint64_t sim_derive(uint64_t seed, uint64_t stream, uint64_t index);

/* Records the first simulator error (verdict ERROR); returns `rc`. */
int sim_fail(sim *s, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Node i's clock now: virtual time plus its offset, µs. */
uint64_t sim_clock(const sim *s, size_t i);

/* Pushes an event; a full queue is a simulator error (returned). */
int sim_push(sim *s, const chorus_evq_event *ev);

/* drive.c: after every input to node i, take every output (datagrams to
 * the network, deliveries to the checker) and arm its timer. A pending
 * mid-send or mid-output crash of i happens in here; then i is down on
 * return. Returns 0 or a simulator error. */
int sim_drain(sim *s, size_t i);
int sim_on_dgram(sim *s, const chorus_evq_event *ev);
int sim_on_timer(sim *s, const chorus_evq_event *ev);

/* mutate.c: hands a delivery, or a HELD report, to the checker through the
 * configured mutation. Returns 0 or a simulator error. */
void sim_report(sim *s, const chorus_check_delivery *d);
int sim_report_held(sim *s, size_t holder, const chorus_output *out);
void sim_mutate_on_crash(sim *s);
/* A view change at node i to the checker, through the view mutations. */
void sim_report_view(sim *s, size_t i, const chorus_output *out, int admitter);

/* work.c: the workload. */
void sim_work_init(sim *s);
int sim_schedule_work(sim *s);
int sim_on_work(sim *s);
/* Submits a room message from `sender` drawn from `rng` (the crash stream
 * for a mid-send crash). Returns 0 (also when refused) or an error. */
int sim_submit_room(sim *s, size_t sender, chorus_prng *rng);

/* sim.c: crashed node i boots again: a new core with a larger epoch (the
 * checker is told), then its first outputs. Returns 0 or a simulator error. */
int sim_node_restart(sim *s, size_t i);

/* part.c: partitions: the plan (events pushed), an episode starting or
 * ending, and every episode still on ending at the heal. Return 0 or a
 * simulator error. */
int sim_plan_partitions(sim *s);
int sim_on_partition(sim *s, const chorus_evq_event *ev);
int sim_partitions_at_heal(sim *s);

/* srvnode.c: the server node and the peers' seats (VIA SERVER). */
#define SIM_SERVER(s) ((s)->cfg->nodes) /* the server's network node */
int sim_srv_init(sim *s);
void sim_srv_free(sim *s);
int sim_srv_on_dgram(sim *s, const chorus_evq_event *ev);
int sim_srv_on_event(sim *s, const chorus_evq_event *ev);
int sim_srv_on_seat(sim *s, const chorus_evq_event *ev);
int sim_srv_on_join(sim *s, const chorus_evq_event *ev);
int sim_srv_on_leave(sim *s, const chorus_evq_event *ev);
/* Node i starts (or, restarted, starts again) joining through the server. */
int sim_srv_start(sim *s, size_t i);
/* Node i's core got a datagram from a member it has not named: the
 * watcher asks the server soon (a poke). */
int sim_srv_poke(sim *s, size_t i);
/* Node i's process crashed: its client and seat go with it. */
void sim_srv_crashed(sim *s, size_t i);
/* After a drain of leaving node i: stop it once its links are idle. */
int sim_srv_leave_check(sim *s, size_t i);
/* Quiet as far as the server side goes; the end checks (roster). */
int sim_srv_done(const sim *s);
void sim_srv_finish(sim *s);
/* sim.c: node i's first core, once seated (the roster names the others). */
int sim_node_first_boot(sim *s, size_t i);

/* crash.c: crashes, removals and restarts. */
#define SIM_WAIT_US 500000u /* via server: a crash or leave waits this long */
/* Nodes that a crash or leave may pick now (up, in the room, not leaving,
 * not already picked). */
size_t sim_pickable_count(const sim *s);
int sim_plan_crashes(sim *s);
int sim_on_crash(sim *s, const chorus_evq_event *ev);
int sim_on_remove(sim *s, const chorus_evq_event *ev);
/* Detector off: node u took its cut (or reported its own JOIN), with a
 * view that may hold crashed boots whose crash it was never told of (it
 * was down then): it learns of them now, after a detection delay. Once per
 * boot (oracle_owed). */
int sim_oracle_joined(sim *s, size_t u);
int sim_on_restart(sim *s, const chorus_evq_event *ev);
/* Crash number k happens now (its victim already chosen). Returns 0. */
int sim_crash_now(sim *s, size_t k);
/* At the heal: armed crashes that have not happened yet happen now. */
int sim_crash_at_heal(sim *s);

#endif
