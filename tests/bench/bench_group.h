/*
 * bench_group: N nodes on loopback, one process each, started together.
 *
 * The parent opens one socket per node (free ports, so nothing collides
 * with other programs), forks the nodes, and waits until each one reported
 * it is ready (its links warmed up, its idle memory read). It then takes the
 * start time and releases every node at once by closing the "go" pipe. Each
 * node does its load, writes a bench_node_result and its latency samples
 * to its own result pipe, and keeps serving its socket (late ACKs and
 * retransmissions for slower nodes) until the parent closes the "stop"
 * pipe, after every node reported.
 *
 * One process per node makes the memory figures (/proc/self/status) those
 * of exactly one peer. The parent has no other thread when it forks.
 */
#ifndef CHORUS_BENCH_GROUP_H
#define CHORUS_BENCH_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "bench_util.h"
#include "peer.h"

#define BENCH_GROUP_NODES_MAX CHORUS_MEMBERS_MAX

/* What one node measured. */
typedef struct bench_node_result {
  uint64_t delivered;      /* messages from the other nodes received */
  uint64_t expected;       /* messages the other nodes sent to this one */
  uint64_t last_us;        /* monotonic time of the last one */
  uint64_t datagrams_sent; /* by this node, load and warm-up */
  uint64_t bytes_sent;     /* datagram bytes, same span */
  uint64_t send_drops;     /* datagrams the socket refused (buffer full) */
  uint64_t retransmits;    /* chorus: frames sent again (all links) */
  uint64_t timeouts;       /* chorus: retransmission timer expiries */
  bench_mem idle;          /* after the warm-up, before the load */
  bench_mem loaded;        /* after the load */
  uint64_t samples;        /* latency samples (uint32 µs) that follow */
} bench_node_result;

/* What a node function gets. */
typedef struct bench_node_ctx {
  size_t index, nodes;
  int fd;                                   /* this node's socket */
  chorus_udp_addr addrs[BENCH_GROUP_NODES_MAX];
  size_t msgs;                              /* messages this node sends */
  size_t size_bytes;                        /* bytes per message */
  const void *arg;                          /* the caller's */
  int go_fd, stop_fd, result_fd;            /* the harness's pipes */
} bench_node_ctx;

/* A node: set up, bench_group_ready, bench_group_wait_go, load,
 * bench_group_report, bench_group_wait_stop, tear down. Runs in the child;
 * returns the process's exit status. */
typedef int (*bench_node_fn)(const bench_node_ctx *c);

/* Every node's figures together. */
typedef struct bench_group_result {
  size_t nodes;
  uint64_t start_us;   /* the parent released the nodes */
  uint64_t end_us;     /* last delivery over all nodes */
  uint64_t delivered, expected;
  uint64_t datagrams_sent, bytes_sent, send_drops, retransmits, timeouts;
  bench_mem idle_max, loaded_max; /* the largest node's */
  bench_quant latency;            /* over every sample of every node */
  int failed;                     /* a node exited badly or reported nothing */
} bench_group_result;

/* Run `nodes` nodes of `fn`, each sending `msgs` messages of size_bytes. */
bench_group_result bench_group_run(size_t nodes, size_t msgs, size_t size_bytes,
                                   bench_node_fn fn, const void *arg);

/* bench_group_rate: deliveries per second summed over all receivers. */
double bench_group_rate(const bench_group_result *g);

/* Node side of the protocol; each exits the process on a broken pipe. */
void bench_group_ready(const bench_node_ctx *c);
void bench_group_wait_go(const bench_node_ctx *c);
void bench_group_report(const bench_node_ctx *c, const bench_node_result *r,
                        const uint32_t *samples);
void bench_group_wait_stop(const bench_node_ctx *c);

#endif
