/*
 * bench_chorus: chorus peers driven by the real network loop
 * (platform/loop.h) over loopback sockets.
 *
 *   pair       two loops in this process (one thread each): private
 *              messages through the reliable FIFO link, pipelined (every
 *              message submitted at once, back-pressure blocks the
 *              submitter) or one at a time (submit, wait for delivery)
 *   room node  a bench_group node: a member of an N-member room that
 *              broadcasts its messages in the order given by its arg and
 *              counts the other members' deliveries
 *
 * Latency runs from submission to delivery, so under a pipelined load it
 * includes the time a message waits for window space.
 */
#ifndef CHORUS_BENCH_CHORUS_H
#define CHORUS_BENCH_CHORUS_H

#include <stddef.h>

#include "bench_group.h"
#include "peer.h"

#define BENCH_CHORUS_SIZE_MAX 1200 /* message bytes */

typedef struct bench_pair_result {
  double rate;      /* messages per second at the receiver, 0 unmeasured */
  bench_quant latency;
  size_t got, expected;
} bench_pair_result;

/* bench_pair_pipelined: `count` private messages submitted back to back. */
bench_pair_result bench_pair_pipelined(size_t count, size_t size_bytes);

/* bench_pair_unloaded: `count` private messages, one at a time. */
bench_pair_result bench_pair_unloaded(size_t count, size_t size_bytes);

/* Room node settings (the bench_group arg). */
typedef struct bench_room_arg {
  enum chorus_order order;
} bench_room_arg;

/* bench_room_node: a bench_node_fn; arg is a bench_room_arg. */
int bench_room_node(const bench_node_ctx *c);

#endif
