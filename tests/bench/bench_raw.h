/*
 * bench_raw: the raw UDP loopback baselines, one message per datagram,
 * plain sendto/recvfrom (one system call per datagram, no batching): the
 * physical limit chorus is compared with.
 *
 *   blast      one socket pair, sendto as fast as the socket accepts,
 *              recvfrom in a second thread; datagrams per second received
 *   ping-pong  one datagram echoed back, one at a time; RTT / 2
 *   mesh       a bench_group node: sends each of its messages to every
 *              other node, receives theirs; deliveries and latency from the
 *              send time stamped into the datagram
 */
#ifndef CHORUS_BENCH_RAW_H
#define CHORUS_BENCH_RAW_H

#include <stddef.h>

#include "bench_group.h"

#define BENCH_RAW_SIZE_MAX 1200 /* datagram payload bytes */

/* bench_raw_blast: `count` datagrams of size_bytes; returns received per
 * second and stores how many arrived in *got. */
double bench_raw_blast(size_t count, size_t size_bytes, size_t *got);

/* bench_raw_pingpong: `count` round trips; RTT/2 quantiles, *got answered. */
bench_quant bench_raw_pingpong(size_t count, size_t size_bytes, size_t *got);

/* bench_raw_mesh_node: a bench_node_fn (arg unused). */
int bench_raw_mesh_node(const bench_node_ctx *c);

#endif
