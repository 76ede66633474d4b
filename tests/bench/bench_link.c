/*
 * bench_link: chorus's reliable delivery between two peers on loopback,
 * beside the raw UDP rate of the same host measured in the same run.
 *
 *   raw blast      one socket pair, sendto as fast as possible, recvfrom in
 *                  a thread: the physical limit (datagrams per second)
 *   raw ping-pong  one datagram echoed back: one-way latency = RTT / 2
 *   chorus private two real network loops (platform/loop.h, one thread each,
 *                  real sockets), N private messages pipelined through the
 *                  reliable FIFO link; rate at the receiver, latency from
 *                  submission to delivery (includes queueing under load)
 *   chorus room    the same with room messages in the default total order
 *   chorus unloaded one private message at a time: latency without queueing
 *
 * Usage: bench_link [--messages N] [--size BYTES]   (defaults 20000, 100)
 * Prints a table with the ratio of each rate to the raw blast.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "loop.h"
#include "udp.h"

#define BENCH_RAW_DATAGRAMS 200000 /* blast length */
#define BENCH_PINGS 5000           /* raw ping-pong round trips */
#define BENCH_UNLOADED 2000        /* one-at-a-time chorus messages */
#define BENCH_DEADLINE_S 120       /* give up on a phase after this */
#define BENCH_SIZE_MAX 1000        /* message / datagram payload bytes */
#define BENCH_IDLE_US 300000       /* receiver: stream over after this quiet */

typedef struct bench_result {
  const char *name;
  double rate;     /* messages or datagrams per second, 0 if not measured */
  double p50_us;   /* latency quantiles, negative if not measured */
  double p99_us;
  size_t count;    /* items measured */
  size_t expected; /* items sent */
} bench_result;

/* ---- helpers ----------------------------------------------------------- */

static int bench_open(chorus_udp_addr *bound) {
  chorus_udp_addr a;
  char err[256];
  int fd = -1;
  if (chorus_udp_resolve("127.0.0.1:1", AF_INET, 1, &a, err, sizeof err) != CHORUS_UDP_OK) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  ((struct sockaddr_in *)&a.ss)->sin_port = 0; /* any free port */
  if (chorus_udp_open(&a, CHORUS_UDP_SOCKBUF_BYTES_DEFAULT, &fd, err, sizeof err) != 0) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  chorus_udp_local(fd, bound);
  return fd;
}

static int bench_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v[0..n) and stores its 50th and 99th percentiles. */
static void bench_quantiles(uint64_t *v, size_t n, bench_result *r) {
  r->p50_us = r->p99_us = -1;
  if (n == 0) return;
  qsort(v, n, sizeof *v, bench_cmp_u64);
  r->p50_us = (double)v[(n - 1) * 50 / 100];
  r->p99_us = (double)v[(n - 1) * 99 / 100];
}

static void bench_wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd p = {fd, events, 0};
  (void)poll(&p, 1, timeout_ms);
}

/* ---- raw UDP ------------------------------------------------------------ */

typedef struct raw_rx {
  int fd;
  size_t got;
  uint64_t first_us, last_us;
} raw_rx;

/* Receive until the socket stays quiet for BENCH_IDLE_US. */
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
    if (now - quiet_since > BENCH_IDLE_US && (r->got > 0 || now - quiet_since > 5000000)) break;
    bench_wait_fd(r->fd, POLLIN, 50);
  }
  return NULL;
}

static bench_result bench_raw_blast(size_t size) {
  chorus_udp_addr a, b;
  int fa = bench_open(&a), fb = bench_open(&b);
  raw_rx rx = {fb, 0, 0, 0};
  pthread_t t;
  uint8_t payload[BENCH_SIZE_MAX];
  memset(payload, 'r', sizeof payload);
  pthread_create(&t, NULL, raw_rx_main, &rx);
  for (size_t i = 0; i < BENCH_RAW_DATAGRAMS;) {
    int rc = chorus_udp_send(fa, &b, payload, size);
    if (rc == CHORUS_UDP_OK) i++;
    else bench_wait_fd(fa, POLLOUT, 10); /* socket buffer full: wait, do not drop */
  }
  pthread_join(t, NULL);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
  bench_result r = {"raw UDP blast (sendto/recvfrom)", 0, -1, -1, rx.got, BENCH_RAW_DATAGRAMS};
  if (rx.last_us > rx.first_us) r.rate = (double)rx.got * 1e6 / (double)(rx.last_us - rx.first_us);
  return r;
}

typedef struct raw_echo {
  int fd;
  int stop;
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

static bench_result bench_raw_pingpong(size_t size) {
  chorus_udp_addr a, b;
  int fa = bench_open(&a), fb = bench_open(&b);
  raw_echo e = {fb, 0};
  pthread_t t;
  uint8_t buf[2048], payload[BENCH_SIZE_MAX];
  static uint64_t lat[BENCH_PINGS];
  size_t n = 0;
  memset(payload, 'p', sizeof payload);
  pthread_create(&t, NULL, raw_echo_main, &e);
  for (size_t i = 0; i < BENCH_PINGS; i++) {
    uint64_t t0 = chorus_clock_now_us();
    (void)chorus_udp_send(fa, &b, payload, size);
    for (;;) { /* a lost datagram on loopback is not expected: 1 s cap */
      size_t len;
      if (chorus_udp_recv(fa, buf, sizeof buf, &len, NULL) == CHORUS_UDP_OK) {
        lat[n++] = (chorus_clock_now_us() - t0) / 2;
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
  bench_result r = {"raw UDP ping-pong (RTT/2)", 0, -1, -1, n, BENCH_PINGS};
  bench_quantiles(lat, n, &r);
  return r;
}

/* ---- chorus between two loops ------------------------------------------ */

typedef struct chorus_sink {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t got;            /* messages from alice delivered at bob */
  size_t expected;
  uint64_t first_us, last_us;
  uint64_t *deliver_us;  /* per message index */
} chorus_sink;

/* Message index: the text begins with it in decimal. */
static size_t bench_index(const uint8_t *t, size_t len) {
  size_t v = 0;
  for (size_t i = 0; i < len && t[i] >= '0' && t[i] <= '9'; i++) v = v * 10 + (size_t)(t[i] - '0');
  return v;
}

static void bench_on_event(void *ctx, const chorus_loop_event *ev) {
  chorus_sink *s = ctx;
  if (s == NULL || ev->kind != CHORUS_LOOP_EV_DELIVER || ev->member != 0) return;
  uint64_t now = chorus_clock_now_us();
  size_t idx = bench_index(ev->text, ev->text_len);
  pthread_mutex_lock(&s->mu);
  if (idx < s->expected && s->deliver_us[idx] == 0) {
    s->deliver_us[idx] = now;
    if (s->got++ == 0) s->first_us = now;
    s->last_us = now;
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void bench_sink_ignore(void *ctx, const chorus_loop_event *ev) {
  (void)ctx;
  (void)ev;
}

static chorus_loop *bench_loop(const char *self, int fd, const chorus_udp_addr addrs[2],
                               chorus_sink *sink) {
  chorus_loop_config c;
  chorus_loop *l = NULL;
  chorus_loop_config_default(&c);
  c.peer.self_name = self;
  c.peer.member_names[0] = "alice";
  c.peer.member_names[1] = "bob";
  c.peer.member_count = 2;
  c.peer.epoch = 1;
  c.peer.seed = 42;
  c.fd = fd;
  c.addrs[0] = addrs[0];
  c.addrs[1] = addrs[1];
  c.queue_max = 1024;
  c.hold_when_full = 1; /* back-pressure: wait for window space */
  c.linger_us = 0;
  c.on_event = sink ? bench_on_event : bench_sink_ignore;
  c.ctx = sink;
  int rc = chorus_loop_new(&c, &l);
  if (rc != CHORUS_OK) {
    fprintf(stderr, "bench: chorus_loop_new: %s\n", chorus_strerror(rc));
    exit(1);
  }
  chorus_loop_start(l);
  return l;
}

/* Wait until `want` messages arrived or the deadline passed. */
static size_t bench_sink_wait(chorus_sink *s, size_t want) {
  uint64_t end = chorus_clock_now_us() + (uint64_t)BENCH_DEADLINE_S * 1000000u;
  pthread_mutex_lock(&s->mu);
  while (s->got < want && chorus_clock_now_us() < end) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  size_t got = s->got;
  pthread_mutex_unlock(&s->mu);
  return got;
}

/* Leave message 0 out of the results (it paid for the first contact). */
static void bench_sink_forget_first(chorus_sink *s) {
  pthread_mutex_lock(&s->mu);
  if (s->expected > 0 && s->deliver_us[0] != 0) {
    s->deliver_us[0] = 0;
    s->got--;
  }
  pthread_mutex_unlock(&s->mu);
}

typedef struct bench_pair {
  chorus_loop *alice, *bob;
  chorus_sink sink;
  uint64_t *submit_us;
} bench_pair;

static void bench_pair_open(bench_pair *p, size_t n) {
  chorus_udp_addr addrs[2];
  int fa = bench_open(&addrs[0]), fb = bench_open(&addrs[1]);
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->sink.mu, NULL);
  pthread_cond_init(&p->sink.cv, NULL);
  p->sink.expected = n;
  p->sink.deliver_us = calloc(n, sizeof(uint64_t));
  p->submit_us = calloc(n, sizeof(uint64_t));
  if (!p->sink.deliver_us || !p->submit_us) {
    fprintf(stderr, "bench: out of memory\n");
    exit(1);
  }
  p->alice = bench_loop("alice", fa, addrs, NULL);
  p->bob = bench_loop("bob", fb, addrs, &p->sink);
}

static void bench_pair_close(bench_pair *p) {
  chorus_loop_free(p->alice);
  chorus_loop_free(p->bob);
  free(p->sink.deliver_us);
  free(p->submit_us);
  pthread_cond_destroy(&p->sink.cv);
  pthread_mutex_destroy(&p->sink.mu);
}

static void bench_submit(bench_pair *p, enum chorus_loop_cmd_kind kind, size_t i, size_t size) {
  char text[BENCH_SIZE_MAX + 1];
  int n = snprintf(text, sizeof text, "%zu ", i);
  memset(text + n, 'c', size > (size_t)n ? size - (size_t)n : 0);
  size_t len = size > (size_t)n ? size : (size_t)n;
  p->submit_us[i] = chorus_clock_now_us();
  int rc = chorus_loop_submit(p->alice, kind, 1, (const uint8_t *)text, len, i, 1);
  if (rc != CHORUS_OK) fprintf(stderr, "bench: submit %zu: %s\n", i, chorus_strerror(rc));
}

/* Latencies of the delivered messages; rate from start_us to the last one. */
static bench_result bench_chorus_result(const char *name, bench_pair *p, size_t n,
                                        uint64_t start_us) {
  bench_result r = {name, 0, -1, -1, p->sink.got, n > 0 ? n - 1 : 0};
  uint64_t *lat = calloc(n, sizeof *lat);
  size_t k = 0;
  for (size_t i = 0; lat && i < n; i++)
    if (p->sink.deliver_us[i]) lat[k++] = p->sink.deliver_us[i] - p->submit_us[i];
  bench_quantiles(lat, k, &r);
  free(lat);
  if (p->sink.got > 0 && p->sink.last_us > start_us)
    r.rate = (double)p->sink.got * 1e6 / (double)(p->sink.last_us - start_us);
  return r;
}

/* N messages submitted back to back (blocking on back-pressure). */
static bench_result bench_chorus_pipelined(const char *name, enum chorus_loop_cmd_kind kind,
                                           size_t n, size_t size) {
  bench_pair p;
  bench_pair_open(&p, n);
  /* Let the two nodes meet first, so the run measures data, not HELLOs. */
  bench_submit(&p, kind, 0, size);
  bench_sink_wait(&p.sink, 1);
  for (size_t i = 1; i < n; i++) bench_submit(&p, kind, i, size);
  bench_sink_wait(&p.sink, n);
  /* Measure from the second message: the first one waited for the HELLO. */
  bench_sink_forget_first(&p.sink);
  bench_result r = bench_chorus_result(name, &p, n, n > 1 ? p.submit_us[1] : 0);
  bench_pair_close(&p);
  return r;
}

/* One message at a time: submit, wait for its delivery, repeat. */
static bench_result bench_chorus_unloaded(size_t size) {
  bench_pair p;
  bench_pair_open(&p, BENCH_UNLOADED);
  for (size_t i = 0; i < BENCH_UNLOADED; i++) {
    bench_submit(&p, CHORUS_LOOP_CMD_PRIVATE, i, size);
    if (bench_sink_wait(&p.sink, i + 1) < i + 1) break;
  }
  bench_sink_forget_first(&p.sink); /* it includes the HELLO exchange */
  bench_result r = bench_chorus_result("chorus private, one at a time", &p, BENCH_UNLOADED, 0);
  r.rate = 0;
  bench_pair_close(&p);
  return r;
}

/* ---- output ------------------------------------------------------------- */

static void bench_print(const bench_result *r, double raw_rate) {
  char rate[32] = "-", p50[32] = "-", p99[32] = "-", ratio[32] = "-";
  if (r->rate > 0) snprintf(rate, sizeof rate, "%.0f", r->rate);
  if (r->rate > 0 && raw_rate > 0) snprintf(ratio, sizeof ratio, "%.3f", r->rate / raw_rate);
  if (r->p50_us >= 0) snprintf(p50, sizeof p50, "%.0f", r->p50_us);
  if (r->p99_us >= 0) snprintf(p99, sizeof p99, "%.0f", r->p99_us);
  printf("%-38s %12s %9s %9s %8s   %zu/%zu\n", r->name, rate, p50, p99, ratio, r->count,
         r->expected);
}

static size_t bench_arg(int argc, char **argv, const char *name, size_t def, size_t max) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) {
      char *end = NULL;
      unsigned long long v = strtoull(argv[i + 1], &end, 10);
      if (*end != '\0' || v == 0 || v > max) {
        fprintf(stderr, "bench: bad %s '%s' (1..%zu)\n", name, argv[i + 1], max);
        exit(2);
      }
      return (size_t)v;
    }
  return def;
}

int main(int argc, char **argv) {
  size_t n = bench_arg(argc, argv, "--messages", 20000, 10000000);
  size_t size = bench_arg(argc, argv, "--size", 100, BENCH_SIZE_MAX);
  bench_result rs[5];
  rs[0] = bench_raw_blast(size);
  rs[1] = bench_raw_pingpong(size);
  rs[2] = bench_chorus_pipelined("chorus private (FIFO link), pipelined", CHORUS_LOOP_CMD_PRIVATE,
                                 n, size);
  rs[3] = bench_chorus_pipelined("chorus room (total order), pipelined", CHORUS_LOOP_CMD_ROOM, n,
                                 size);
  rs[4] = bench_chorus_unloaded(size);
  printf("loopback, 2 peers, %zu-byte messages; rates in messages (datagrams) per second,\n"
         "latency from submission to delivery in microseconds\n\n", size);
  printf("%-38s %12s %9s %9s %8s   %s\n", "benchmark", "rate/s", "p50_us", "p99_us", "vs_raw",
         "measured");
  for (size_t i = 0; i < 5; i++) bench_print(&rs[i], rs[0].rate);
  int complete = rs[2].count == rs[2].expected && rs[3].count == rs[3].expected;
  if (!complete) printf("\nbench: WARNING: not every chorus message was delivered\n");
  return complete ? 0 : 1;
}
