/*
 * bench_util: helpers shared by the benchmark modules: loopback sockets on
 * free ports, latency quantiles, the memory figures of /proc/self/status,
 * waiting on a descriptor, and exact reads and writes on pipes.
 *
 * Benchmark code is tooling, not product: it may print and exit on setup
 * failures (a benchmark that cannot open a socket has nothing to measure).
 */
#ifndef CHORUS_BENCH_UTIL_H
#define CHORUS_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "udp.h"

#define BENCH_SOCKBUF_BYTES CHORUS_UDP_SOCKBUF_BYTES_DEFAULT /* both kinds of node */

/* Latency quantiles in microseconds; negative when nothing was measured. */
typedef struct bench_quant {
  double p50_us;
  double p99_us;
} bench_quant;

/* Memory of the calling process, kibibytes; 0 where /proc is absent. */
typedef struct bench_mem {
  uint64_t rss_kib; /* VmRSS: resident now */
  uint64_t hwm_kib; /* VmHWM: peak resident */
  uint64_t anon_kib; /* RssAnon: resident and private to the process (no
                        shared library text) */
} bench_mem;

/* bench_open binds a non-blocking UDP socket to 127.0.0.1 on a free port,
 * stores its address in *bound and returns the descriptor (exits on error). */
int bench_open(chorus_udp_addr *bound);

/* bench_quantiles sorts v[0..n) in place and returns its p50 and p99. */
bench_quant bench_quantiles(uint32_t *v, size_t n);

/* bench_mem_read reads VmRSS, VmHWM and RssAnon of this process (zeros if
 * absent). */
bench_mem bench_mem_read(void);

/* bench_wait_fd polls one descriptor for `events` up to timeout_ms. */
void bench_wait_fd(int fd, short events, int timeout_ms);

/* bench_write_all / bench_read_all move exactly len_bytes through a pipe;
 * they return 0, or -1 on an error or early end of file. */
int bench_write_all(int fd, const void *buf, size_t len_bytes);
int bench_read_all(int fd, void *buf, size_t len_bytes);

/* bench_stamp writes "<now_us> <index> " and pads with 'x' up to size_bytes
 * (at least the stamp) into text; returns the length. text must hold
 * BENCH_STAMP_BYTES_MAX or size_bytes bytes, whichever is more. */
#define BENCH_STAMP_BYTES_MAX 48
size_t bench_stamp(char *text, size_t size_bytes, uint64_t now_us, uint32_t index);

/* bench_unstamp reads the stamp back: 0 and the two values, or -1. */
int bench_unstamp(const uint8_t *text, size_t len_bytes, uint64_t *sent_us, uint32_t *index);

#endif
