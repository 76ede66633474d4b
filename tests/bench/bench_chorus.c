#include "bench_chorus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "loop.h"

#define CH_DEADLINE_US 60000000u /* give up on a phase after 60 s */
#define CH_QUEUE CHORUS_LOOP_QUEUE_DEFAULT /* what `chorus peer` uses */
#define CH_LINGER_US 50000       /* after stop: a short quiet period */

static const char *const ch_names[CHORUS_MEMBERS_MAX] = {"n0", "n1", "n2", "n3", "n4",
                                                         "n5", "n6", "n7", "n8", "n9"};

/* Deliveries seen by one node, shared between its loop thread (writer,
 * in the callback) and its main thread (waiter). */
typedef struct ch_sink {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t self;
  uint64_t got, expected, warm, last_us;
  uint64_t want; /* the waiter's target for got (one at a time) */
  uint32_t *samples; /* expected entries */
  chorus_loop_snapshot snap;
  int have_snap;
} ch_sink;

static void ch_sink_init(ch_sink *s, size_t self, uint64_t expected) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->self = self;
  s->expected = expected;
  s->samples = calloc(expected + 1, sizeof *s->samples);
  if (s->samples == NULL) exit(1);
}

static void ch_sink_free(ch_sink *s) {
  free(s->samples);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
}

/* Loop thread: count a stamped delivery, or a warm-up message. The waiter
 * is woken only when its wait may be over (waking it for every delivery
 * would cost the measured peer a context switch per message). */
static void ch_on_event(void *ctx, const chorus_loop_event *ev) {
  ch_sink *s = ctx;
  uint64_t now = chorus_clock_now_us(), sent_us;
  uint32_t idx;
  int wake = 1;
  if (ev->kind == CHORUS_LOOP_EV_STATS) {
    pthread_mutex_lock(&s->mu);
    s->snap = *ev->snap;
    s->have_snap = 1;
  } else if (ev->kind == CHORUS_LOOP_EV_DELIVER && ev->member != s->self) {
    pthread_mutex_lock(&s->mu);
    if (bench_unstamp(ev->text, ev->text_len, &sent_us, &idx) < 0) {
      s->warm++;
    } else if (s->got < s->expected) {
      s->samples[s->got++] = (uint32_t)(now - sent_us);
      s->last_us = now;
      wake = s->got == s->expected || s->got == s->want;
    }
  } else {
    return;
  }
  if (wake) pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Main thread: wait until *field reaches want, or the deadline. */
static uint64_t ch_sink_wait(ch_sink *s, const uint64_t *field, uint64_t want) {
  uint64_t end = chorus_clock_now_us() + CH_DEADLINE_US;
  pthread_mutex_lock(&s->mu);
  s->want = want;
  while (*field < want && chorus_clock_now_us() < end) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  uint64_t v = *field;
  pthread_mutex_unlock(&s->mu);
  return v;
}

static chorus_loop *ch_loop(size_t self, size_t members, int fd, const chorus_udp_addr *addrs,
                            enum chorus_order order, ch_sink *sink) {
  chorus_loop_config c;
  chorus_loop *l = NULL;
  chorus_loop_config_default(&c);
  c.peer.self_name = ch_names[self];
  for (size_t i = 0; i < members; i++) {
    c.peer.member_names[i] = ch_names[i];
    c.addrs[i] = addrs[i];
  }
  c.peer.member_count = members;
  c.peer.epoch = 1;
  c.peer.seed = 42 + self;
  c.peer.order = order;
  c.fd = fd;
  c.queue_max = CH_QUEUE;
  c.hold_when_full = 1; /* back-pressure: wait for window space */
  c.linger_us = CH_LINGER_US;
  c.on_event = ch_on_event;
  c.ctx = sink;
  int rc = chorus_loop_new(&c, &l);
  if (rc != CHORUS_OK || chorus_loop_start(l) != CHORUS_OK) {
    fprintf(stderr, "bench: chorus loop: %s\n", chorus_strerror(rc));
    exit(1);
  }
  return l;
}

static void ch_submit(chorus_loop *l, enum chorus_loop_cmd_kind kind, size_t to,
                      size_t size_bytes, uint32_t index) {
  char text[BENCH_CHORUS_SIZE_MAX + BENCH_STAMP_BYTES_MAX];
  size_t len = bench_stamp(text, size_bytes, chorus_clock_now_us(), index);
  int rc = chorus_loop_submit(l, kind, to, (const uint8_t *)text, len, index, 1);
  if (rc != CHORUS_OK) fprintf(stderr, "bench: submit %u: %s\n", index, chorus_strerror(rc));
}

static void ch_warm(chorus_loop *l, enum chorus_loop_cmd_kind kind, size_t to) {
  if (chorus_loop_submit(l, kind, to, (const uint8_t *)"warm", 4, 0, 1) != CHORUS_OK)
    fprintf(stderr, "bench: warm-up refused\n");
}

/* ---- two peers --------------------------------------------------------- */

typedef struct ch_pair {
  chorus_loop *a, *b;
  ch_sink sink;   /* at b */
  ch_sink a_sink; /* a receives nothing stamped */
} ch_pair;

/* Two loops that met: the warm-up message went through. */
static void ch_pair_open(ch_pair *p, uint64_t count) {
  chorus_udp_addr addrs[2];
  int fa = bench_open(&addrs[0]), fb = bench_open(&addrs[1]);
  ch_sink_init(&p->sink, 1, count);
  ch_sink_init(&p->a_sink, 0, 0);
  p->a = ch_loop(0, 2, fa, addrs, CHORUS_ORDER_TOTAL, &p->a_sink);
  p->b = ch_loop(1, 2, fb, addrs, CHORUS_ORDER_TOTAL, &p->sink);
  ch_warm(p->a, CHORUS_LOOP_CMD_PRIVATE, 1);
  ch_sink_wait(&p->sink, &p->sink.warm, 1);
}

static bench_pair_result ch_pair_close(ch_pair *p, uint64_t start_us, int rate) {
  bench_pair_result r;
  memset(&r, 0, sizeof r);
  chorus_loop_free(p->a);
  chorus_loop_free(p->b);
  r.got = (size_t)p->sink.got;
  r.expected = (size_t)p->sink.expected;
  if (rate && r.got > 0 && p->sink.last_us > start_us)
    r.rate = (double)r.got * 1e6 / (double)(p->sink.last_us - start_us);
  r.latency = bench_quantiles(p->sink.samples, r.got);
  ch_sink_free(&p->sink);
  ch_sink_free(&p->a_sink);
  return r;
}

bench_pair_result bench_pair_pipelined(size_t count, size_t size_bytes) {
  ch_pair p;
  ch_pair_open(&p, count);
  uint64_t start = chorus_clock_now_us();
  for (size_t i = 0; i < count; i++)
    ch_submit(p.a, CHORUS_LOOP_CMD_PRIVATE, 1, size_bytes, (uint32_t)i);
  ch_sink_wait(&p.sink, &p.sink.got, count);
  return ch_pair_close(&p, start, 1);
}

bench_pair_result bench_pair_unloaded(size_t count, size_t size_bytes) {
  ch_pair p;
  ch_pair_open(&p, count);
  for (size_t i = 0; i < count; i++) {
    ch_submit(p.a, CHORUS_LOOP_CMD_PRIVATE, 1, size_bytes, (uint32_t)i);
    if (ch_sink_wait(&p.sink, &p.sink.got, i + 1) < i + 1) break;
  }
  return ch_pair_close(&p, 0, 0);
}

/* ---- room node --------------------------------------------------------- */

/* Counters for the report: a STATS command answered on the loop thread. */
static void ch_node_stats(chorus_loop *l, ch_sink *s, bench_node_result *r) {
  if (chorus_loop_submit(l, CHORUS_LOOP_CMD_STATS, 0, NULL, 0, 0, 1) != CHORUS_OK) return;
  pthread_mutex_lock(&s->mu);
  while (!s->have_snap) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  r->datagrams_sent = s->snap.tx.sent;
  r->bytes_sent = s->snap.tx.sent_bytes;
  r->send_drops = s->snap.tx.would_block;
  for (size_t i = 0; i < s->snap.member_count; i++) {
    r->retransmits += s->snap.links[i].retransmits;
    r->timeouts += s->snap.links[i].timeouts;
  }
}

int bench_room_node(const bench_node_ctx *c) {
  const bench_room_arg *arg = c->arg;
  ch_sink s;
  bench_node_result r;
  memset(&r, 0, sizeof r);
  r.expected = (uint64_t)(c->nodes - 1) * c->msgs;
  ch_sink_init(&s, c->index, r.expected);
  chorus_loop *l = ch_loop(c->index, c->nodes, c->fd, c->addrs, arg->order, &s);
  ch_warm(l, CHORUS_LOOP_CMD_ROOM, 0);
  ch_sink_wait(&s, &s.warm, c->nodes - 1);
  r.idle = bench_mem_read();
  bench_group_ready(c);
  bench_group_wait_go(c);
  for (size_t i = 0; i < c->msgs; i++) ch_submit(l, CHORUS_LOOP_CMD_ROOM, 0, c->size_bytes, (uint32_t)i);
  r.delivered = ch_sink_wait(&s, &s.got, r.expected);
  r.loaded = bench_mem_read();
  ch_node_stats(l, &s, &r);
  r.last_us = s.last_us;
  r.samples = r.delivered;
  bench_group_report(c, &r, s.samples);
  bench_group_wait_stop(c);
  chorus_loop_free(l);
  ch_sink_free(&s);
  return 0;
}
