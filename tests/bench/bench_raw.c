#include "bench_raw.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define RAW_IDLE_US 300000   /* receiver: the stream is over after this quiet */
#define RAW_START_US 5000000 /* receiver: give up if nothing came for this long */

typedef struct raw_rx {
  int fd;
  size_t got;
  uint64_t first_us, last_us;
} raw_rx;

/* Receive until the socket stays quiet for RAW_IDLE_US. */
static void *raw_rx_main(void *arg) {
  raw_rx *r = arg;
  uint8_t buf[2048];
  uint64_t quiet_since = chorus_clock_now_us();
  for (;;) {
    size_t len;
    int rc = chorus_udp_recv(r->fd, buf, sizeof buf, &len, NULL);
    uint64_t now = chorus_clock_now_us();
    if (rc == CHORUS_UDP_OK) {
      if (r->got++ == 0) r->first_us = now;
      r->last_us = now;
      quiet_since = now;
      continue;
    }
    uint64_t quiet = now - quiet_since;
    if (quiet > RAW_IDLE_US && (r->got > 0 || quiet > RAW_START_US)) break;
    bench_wait_fd(r->fd, POLLIN, 50);
  }
  return NULL;
}

double bench_raw_blast(size_t count, size_t size_bytes, size_t *got) {
  chorus_udp_addr a, b;
  int fa = bench_open(&a), fb = bench_open(&b);
  raw_rx rx = {fb, 0, 0, 0};
  pthread_t t;
  uint8_t payload[BENCH_RAW_SIZE_MAX];
  memset(payload, 'r', sizeof payload);
  pthread_create(&t, NULL, raw_rx_main, &rx);
  for (size_t i = 0; i < count;) {
    int rc = chorus_udp_send(fa, &b, payload, size_bytes);
    if (rc == CHORUS_UDP_OK) i++;
    else bench_wait_fd(fa, POLLOUT, 10); /* socket buffer full: wait, do not drop */
  }
  pthread_join(t, NULL);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
  *got = rx.got;
  if (rx.last_us <= rx.first_us) return 0;
  return (double)rx.got * 1e6 / (double)(rx.last_us - rx.first_us);
}

typedef struct raw_echo {
  int fd;
} raw_echo;

static void *raw_echo_main(void *arg) {
  raw_echo *e = arg;
  uint8_t buf[2048];
  for (;;) {
    size_t len;
    chorus_udp_addr from;
    int rc = chorus_udp_recv(e->fd, buf, sizeof buf, &len, &from);
    if (rc == CHORUS_UDP_OK) {
      if (len == 1 && buf[0] == 'q') return NULL;
      (void)chorus_udp_send(e->fd, &from, buf, len);
    } else {
      bench_wait_fd(e->fd, POLLIN, 100);
    }
  }
}

bench_quant bench_raw_pingpong(size_t count, size_t size_bytes, size_t *got) {
  chorus_udp_addr a, b;
  int fa = bench_open(&a), fb = bench_open(&b);
  raw_echo e = {fb};
  pthread_t t;
  uint8_t buf[2048], payload[BENCH_RAW_SIZE_MAX];
  uint32_t *lat = calloc(count, sizeof *lat);
  size_t n = 0;
  if (lat == NULL) exit(1);
  memset(payload, 'p', sizeof payload);
  pthread_create(&t, NULL, raw_echo_main, &e);
  for (size_t i = 0; i < count; i++) {
    uint64_t t0 = chorus_clock_now_us();
    (void)chorus_udp_send(fa, &b, payload, size_bytes);
    for (;;) { /* a lost datagram on loopback is not expected: 1 s cap */
      size_t len;
      if (chorus_udp_recv(fa, buf, sizeof buf, &len, NULL) == CHORUS_UDP_OK) {
        lat[n++] = (uint32_t)((chorus_clock_now_us() - t0) / 2);
        break;
      }
      if (chorus_clock_now_us() - t0 > 1000000) break;
      bench_wait_fd(fa, POLLIN, 100);
    }
  }
  (void)chorus_udp_send(fa, &b, (const uint8_t *)"q", 1);
  pthread_join(t, NULL);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
  bench_quant q = bench_quantiles(lat, n);
  free(lat);
  *got = n;
  return q;
}

/* ---- mesh node --------------------------------------------------------- */

typedef struct raw_node {
  const bench_node_ctx *c;
  bench_node_result r;
  uint32_t *samples;
  uint8_t buf[2048];
} raw_node;

/* Read everything pending; 1 if anything came. */
static int raw_node_drain(raw_node *n) {
  int any = 0;
  for (;;) {
    size_t len;
    uint64_t sent_us;
    uint32_t idx;
    if (chorus_udp_recv(n->c->fd, n->buf, sizeof n->buf, &len, NULL) != CHORUS_UDP_OK) return any;
    uint64_t now = chorus_clock_now_us();
    any = 1;
    if (bench_unstamp(n->buf, len, &sent_us, &idx) < 0 || n->r.delivered >= n->r.expected)
      continue;
    n->samples[n->r.samples++] = (uint32_t)(now - sent_us);
    n->r.delivered++;
    n->r.last_us = now;
  }
}

/* Message i to every other node, one datagram each. */
static void raw_node_send(raw_node *n, uint32_t i) {
  const bench_node_ctx *c = n->c;
  char text[BENCH_RAW_SIZE_MAX + BENCH_STAMP_BYTES_MAX];
  size_t len = bench_stamp(text, c->size_bytes, chorus_clock_now_us(), i);
  for (size_t k = 0; k < c->nodes; k++) {
    if (k == c->index) continue;
    int rc;
    while ((rc = chorus_udp_send(c->fd, &c->addrs[k], (const uint8_t *)text, len)) ==
           CHORUS_UDP_WOULD_BLOCK) {
      n->r.send_drops++;
      raw_node_drain(n); /* our buffer is full: make progress on the other side */
      bench_wait_fd(c->fd, POLLOUT, 1);
    }
    n->r.datagrams_sent++;
    n->r.bytes_sent += len;
  }
}

int bench_raw_mesh_node(const bench_node_ctx *c) {
  raw_node *n = calloc(1, sizeof *n);
  if (n == NULL) return 1;
  n->c = c;
  n->r.expected = (uint64_t)(c->nodes - 1) * c->msgs;
  n->samples = calloc(n->r.expected + 1, sizeof *n->samples);
  if (n->samples == NULL) {
    free(n);
    return 1;
  }
  n->r.idle = bench_mem_read();
  bench_group_ready(c);
  bench_group_wait_go(c);
  for (size_t i = 0; i < c->msgs; i++) {
    raw_node_send(n, (uint32_t)i);
    raw_node_drain(n);
  }
  uint64_t quiet_since = chorus_clock_now_us();
  while (n->r.delivered < n->r.expected) {
    uint64_t now = chorus_clock_now_us();
    if (raw_node_drain(n)) quiet_since = now;
    else if (now - quiet_since > RAW_IDLE_US) break; /* the rest was lost */
    else bench_wait_fd(c->fd, POLLIN, 10);
  }
  n->r.loaded = bench_mem_read();
  bench_group_report(c, &n->r, n->samples);
  bench_group_wait_stop(c);
  free(n->samples);
  free(n);
  return 0;
}
