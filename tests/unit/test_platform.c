/*
 * Unit tests of platform/ (addresses, sockets, fault injection, clocks, the
 * network loop over real loopback sockets) and of the CLI's small helpers
 * (line reader, JSON strings, argument parsing).
 * Unit tests link only libchorus.a, so the modules are compiled in here.
 */
/* platform/udp.c is included below: let it see recvmmsg and sendmmsg as it
 * does when compiled alone. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include "check.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../platform/clock.c"
#include "../../platform/loop.c"
#include "../../platform/udp.c"
#include "../../platform/udp_fault.c"
#include "../../cli/json.c"
#include "../../cli/line.c"
#include "../../cli/args.c"
#include "../../cli/peer_args.c"
#include "../../cli/recent.c"

#define WAIT_MS 5000 /* generous: a deadline, never a pause for correctness */

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- addresses ---------------------------------------------------------- */

static int resolve(const char *text, int family, int passive, chorus_udp_addr *a) {
  char err[256];
  return chorus_udp_resolve(text, family, passive, a, err, sizeof err);
}

static void test_resolve_ok(void) {
  chorus_udp_addr a;
  char buf[CHORUS_UDP_TEXT_BYTES];
  CHECK_EQ(resolve("127.0.0.1:9000", AF_UNSPEC, 0, &a), CHORUS_UDP_OK);
  chorus_udp_format(&a, buf, sizeof buf);
  CHECK(strcmp(buf, "127.0.0.1:9000") == 0);
  CHECK_EQ(resolve("[::1]:65535", AF_UNSPEC, 0, &a), CHORUS_UDP_OK);
  CHECK_EQ(a.ss.ss_family, AF_INET6);
  chorus_udp_format(&a, buf, sizeof buf);
  CHECK(strcmp(buf, "[::1]:65535") == 0);
  CHECK_EQ(resolve(":1", AF_UNSPEC, 1, &a), CHORUS_UDP_OK);
  chorus_udp_format(&a, buf, sizeof buf);
  CHECK(strcmp(buf, "0.0.0.0:1") == 0);
  /* An IPv4 peer of an IPv6 socket becomes a mapped address. */
  CHECK_EQ(resolve("127.0.0.1:7", AF_INET6, 0, &a), CHORUS_UDP_OK);
  chorus_udp_format(&a, buf, sizeof buf);
  CHECK(strcmp(buf, "[::ffff:127.0.0.1]:7") == 0);
  CHECK_EQ(resolve("localhost:7", AF_INET, 0, &a), CHORUS_UDP_OK);
}

static void test_resolve_errors(void) {
  chorus_udp_addr a;
  char err[256];
  const char *syntax[] = {"127.0.0.1",      "127.0.0.1:",  "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:12a",  "127.0.0.1:-1", "::1:9000",   "[::1:9000",
                          "[::1]9000",      "[]:9000",      ":9000",      "127.0.0.1:000009000"};
  for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
    int rc = chorus_udp_resolve(syntax[i], AF_UNSPEC, 0, &a, err, sizeof err);
    CHECK_EQ(rc, CHORUS_UDP_ERR_SYNTAX);
    CHECK(strstr(err, syntax[i]) != NULL); /* the message names the input */
  }
  CHECK_EQ(chorus_udp_resolve("no-such-host.invalid:1", AF_UNSPEC, 0, &a, err, sizeof err),
           CHORUS_UDP_ERR_HOST);
  CHECK(strstr(err, "cannot resolve") != NULL);
  /* An IPv6 destination for an IPv4 socket cannot work. */
  CHECK_EQ(resolve("[::1]:9", AF_INET, 0, &a), CHORUS_UDP_ERR_HOST);
  char host[400];
  memset(host, 'h', sizeof host);
  memcpy(host + sizeof host - 4, ":80", 4);
  CHECK_EQ(resolve(host, AF_UNSPEC, 0, &a), CHORUS_UDP_ERR_SYNTAX);
}

/* ---- sockets and fault injection --------------------------------------- */

static int open_any(chorus_udp_addr *bound) {
  chorus_udp_addr a;
  int fd = -1;
  char err[256];
  CHECK_EQ(resolve("127.0.0.1:1", AF_UNSPEC, 1, &a), CHORUS_UDP_OK);
  ((struct sockaddr_in *)&a.ss)->sin_port = 0; /* any free port */
  CHECK_EQ(chorus_udp_open(&a, 0, &fd, err, sizeof err), CHORUS_UDP_OK);
  CHECK_EQ(chorus_udp_local(fd, bound), CHORUS_UDP_OK);
  return fd;
}

/* Receive everything that arrives within a short window; returns count. */
static int drain_count(int fd, size_t *last_len, int want, uint32_t wait_ms) {
  uint8_t buf[2048];
  int got = 0;
  uint64_t end = chorus_clock_now_us() + (uint64_t)wait_ms * 1000;
  while (chorus_clock_now_us() < end && got < want) {
    size_t len = 0;
    int rc = chorus_udp_recv(fd, buf, sizeof buf, &len, NULL);
    if (rc == CHORUS_UDP_OK) {
      got++;
      if (last_len) *last_len = len;
    } else {
      nap_ms(1);
    }
  }
  return got;
}

static void test_udp_roundtrip(void) {
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  uint8_t buf[64];
  size_t len = 0;
  CHECK_EQ(chorus_udp_recv(fb, buf, sizeof buf, &len, NULL), CHORUS_UDP_WOULD_BLOCK);
  CHECK_EQ(chorus_udp_send(fa, &b, (const uint8_t *)"ping", 4), CHORUS_UDP_OK);
  CHECK_EQ(drain_count(fb, &len, 1, WAIT_MS), 1);
  CHECK_EQ(len, 4);
  /* Binding a port that is taken fails with a clear message. */
  int fc = -1;
  char err[256];
  CHECK_EQ(chorus_udp_open(&b, 0, &fc, err, sizeof err), CHORUS_UDP_ERR_SYS);
  CHECK(strstr(err, "cannot bind") != NULL);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
}

static chorus_udp_fault *fault(uint32_t drop, uint32_t dup, uint32_t delay, uint32_t delay_us,
                               size_t held_max) {
  chorus_udp_fault_config c;
  chorus_udp_fault *f = NULL;
  chorus_udp_fault_config_default(&c);
  c.drop_ppm = drop;
  c.dup_ppm = dup;
  c.delay_ppm = delay;
  c.delay_max_us = delay_us;
  c.seed = 7;
  c.delayed_max = held_max;
  CHECK_EQ(chorus_udp_fault_new(&c, &f), CHORUS_OK);
  return f;
}

static void test_fault_config(void) {
  chorus_udp_fault_config c;
  chorus_udp_fault *f = NULL;
  chorus_udp_fault_config_default(&c);
  c.drop_ppm = CHORUS_UDP_FAULT_PPM_ONE + 1;
  CHECK_EQ(chorus_udp_fault_new(&c, &f), CHORUS_ERR_CONFIG);
  chorus_udp_fault_config_default(&c);
  c.delayed_max = 0;
  CHECK_EQ(chorus_udp_fault_new(&c, &f), CHORUS_ERR_CONFIG);
  CHECK(f == NULL);
}

static void test_fault_drop_dup(void) {
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  chorus_udp_fault_stats st;
  chorus_udp_fault *f = fault(CHORUS_UDP_FAULT_PPM_ONE, 0, 0, 0, 4);
  for (int i = 0; i < 10; i++) chorus_udp_fault_send(f, fa, &b, (const uint8_t *)"x", 1, 0);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.offered, 10);
  CHECK_EQ(st.dropped, 10);
  CHECK_EQ(st.sent, 0);
  chorus_udp_fault_free(f);
  f = fault(0, CHORUS_UDP_FAULT_PPM_ONE, 0, 0, 4);
  for (int i = 0; i < 5; i++) chorus_udp_fault_send(f, fa, &b, (const uint8_t *)"y", 1, 0);
  chorus_udp_fault_flush(f, fa, 0); /* the batch goes out */
  CHECK_EQ(drain_count(fb, NULL, 10, WAIT_MS), 10);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.duplicated, 5);
  CHECK_EQ(st.sent, 10);
  chorus_udp_fault_free(f);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
}

static void test_fault_delay(void) {
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  chorus_udp_fault_stats st;
  chorus_udp_fault *f = fault(0, 0, CHORUS_UDP_FAULT_PPM_ONE, 1000, 2);
  CHECK_EQ(chorus_udp_fault_deadline(f), UINT64_MAX);
  for (int i = 0; i < 3; i++) chorus_udp_fault_send(f, fa, &b, (const uint8_t *)"z", 1, 100);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.delayed, 2);        /* the queue holds two... */
  CHECK_EQ(st.delay_overflow, 1); /* ...the third went at once, counted */
  CHECK_EQ(st.held, 2);
  uint64_t due = chorus_udp_fault_deadline(f);
  CHECK(due >= 100 && due <= 1100);
  chorus_udp_fault_flush(f, fa, 99); /* nothing is due before its time */
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.held, 2);
  chorus_udp_fault_flush(f, fa, 1100);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.held, 0);
  CHECK_EQ(st.sent, 3);
  CHECK_EQ(chorus_udp_fault_deadline(f), UINT64_MAX);
  CHECK_EQ(drain_count(fb, NULL, 3, WAIT_MS), 3);
  chorus_udp_fault_free(f);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
}

/* Datagrams wait in the batch until it is full or flushed. */
static void test_fault_batch(void) {
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  chorus_udp_fault_stats st;
  chorus_udp_fault *f = fault(0, 0, 0, 0, 4);
  size_t n = CHORUS_UDP_BATCH_MAX + 6;
  for (size_t i = 0; i < n; i++) chorus_udp_fault_send(f, fa, &b, (const uint8_t *)"ab", 2, 0);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.sent, CHORUS_UDP_BATCH_MAX); /* the full batch went out */
  CHECK_EQ(st.batched, 6);
  chorus_udp_fault_flush(f, fa, 0);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.sent, n);
  CHECK_EQ(st.sent_bytes, 2 * n);
  CHECK_EQ(st.batched, 0);
  CHECK_EQ(drain_count(fb, NULL, (int)n, WAIT_MS), (int)n);
  chorus_udp_fault_free(f);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
}

/* Batch calls: in order, lengths kept, an oversized datagram cut to the
 * slot and still longer than anything valid. */
static void test_udp_batch(void) {
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  static uint8_t out[3][1300], in[4][101];
  chorus_udp_msg tx[3], rx[4];
  size_t sent = 0, got = 0;
  for (size_t i = 0; i < 3; i++) {
    memset(out[i], 'a' + (int)i, sizeof out[i]);
    tx[i].addr = b;
    tx[i].data = out[i];
    tx[i].len_bytes = i == 2 ? sizeof out[i] : 10 + i;
  }
  for (size_t i = 0; i < 4; i++) rx[i].data = in[i];
  CHECK_EQ(chorus_udp_recv_batch(fb, rx, 4, 101, &got), CHORUS_UDP_WOULD_BLOCK);
  CHECK_EQ(chorus_udp_send_batch(fa, tx, 3, &sent), CHORUS_UDP_OK);
  CHECK_EQ(sent, 3);
  nap_ms(20);
  CHECK_EQ(chorus_udp_recv_batch(fb, rx, 4, 101, &got), CHORUS_UDP_OK);
  CHECK_EQ(got, 3);
  CHECK_EQ(rx[0].len_bytes, 10);
  CHECK_EQ(rx[1].len_bytes, 11);
  CHECK_EQ(rx[2].len_bytes, 101); /* cut to the slot */
  CHECK(in[1][0] == 'b' && in[2][100] == 'c');
  chorus_udp_close(fa);
  chorus_udp_close(fb);
}

/* ---- segmentation offload (GSO / GRO) ------------------------------------ */

/* Datagram i of a test stream: `tag` then i in every byte, so a split at
 * the wrong place, a lost or a reordered datagram shows. */
static void gso_fill(uint8_t *buf, size_t len, uint8_t tag, size_t i) {
  for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)(k == 0 ? tag : i);
}

/* Receive (GRO buffers, split) until `want` datagrams or the deadline;
 * stores each datagram's length and first two bytes; returns how many and
 * the number of coalesced buffers in *coalesced. */
static size_t gso_recv(int fd, size_t want, size_t *lens, uint8_t (*heads)[2],
                       size_t *coalesced) {
  static uint8_t mem[4][CHORUS_UDP_GRO_BYTES];
  chorus_udp_msg rx[4];
  size_t n = 0;
  *coalesced = 0;
  for (size_t i = 0; i < 4; i++) rx[i].data = mem[i];
  uint64_t end = chorus_clock_now_us() + (uint64_t)WAIT_MS * 1000;
  while (n < want && chorus_clock_now_us() < end) {
    size_t got = 0;
    if (chorus_udp_recv_batch(fd, rx, 4, CHORUS_UDP_GRO_BYTES, &got) != CHORUS_UDP_OK) {
      nap_ms(1);
      continue;
    }
    for (size_t i = 0; i < got; i++) {
      size_t parts = chorus_udp_msg_parts(&rx[i]);
      *coalesced += parts > 1;
      for (size_t k = 0; k < parts && n < want; k++, n++) {
        const uint8_t *d = chorus_udp_msg_part(&rx[i], k, &lens[n]);
        heads[n][0] = d[0];
        heads[n][1] = lens[n] > 1 ? d[1] : 0;
      }
    }
  }
  return n;
}

/* The split of a received buffer: seg_bytes pieces, the last shorter. */
static void test_udp_msg_parts(void) {
  static uint8_t buf[2500];
  chorus_udp_msg m = {.data = buf, .len_bytes = 2500, .seg_bytes = 1000};
  size_t len = 0;
  CHECK_EQ(chorus_udp_msg_parts(&m), 3);
  CHECK(chorus_udp_msg_part(&m, 1, &len) == buf + 1000 && len == 1000);
  CHECK(chorus_udp_msg_part(&m, 2, &len) == buf + 2000 && len == 500);
  m.seg_bytes = 0; /* one datagram */
  CHECK_EQ(chorus_udp_msg_parts(&m), 1);
  CHECK(chorus_udp_msg_part(&m, 0, &len) == buf && len == 2500);
  m.seg_bytes = 2500; /* not coalesced either */
  CHECK_EQ(chorus_udp_msg_parts(&m), 1);
  m.len_bytes = 0;
  m.seg_bytes = 0;
  CHECK_EQ(chorus_udp_msg_parts(&m), 1);
}

/*
 * A segmented send of 5 equal datagrams and a shorter last one arrives as
 * exactly those 6, in order; with GRO on the receiver, where the system
 * has both options, as one coalesced buffer. With *gso 0 the same
 * datagrams go one by one and arrive the same.
 */
static void test_udp_gso_run(void) {
  for (int on = 1; on >= 0; on--) {
    chorus_udp_addr a, b;
    int fa = open_any(&a), fb = open_any(&b);
    int gro = chorus_udp_gro_enable(fb);
    static uint8_t out[6][1000];
    chorus_udp_msg tx[6];
    size_t sent = 0, lens[6], coalesced = 0;
    uint8_t heads[6][2];
    for (size_t i = 0; i < 6; i++) {
      tx[i].addr = b;
      tx[i].data = out[i];
      tx[i].len_bytes = i == 5 ? 300 : 1000;
      gso_fill(out[i], tx[i].len_bytes, 'g', i);
    }
#if defined(__linux__) && defined(UDP_SEGMENT) && defined(UDP_GRO) && defined(MSG_WAITFORONE)
    CHECK_EQ(chorus_udp_gso_available(), 1); /* not compiled out by mistake */
#endif
    int gso = on && chorus_udp_gso_available();
    CHECK_EQ(chorus_udp_send_batch_gso(fa, tx, 6, &gso, &sent), CHORUS_UDP_OK);
    CHECK_EQ(sent, 6);
    CHECK_EQ(gso, on && chorus_udp_gso_available()); /* loopback segments */
    CHECK_EQ(gso_recv(fb, 6, lens, heads, &coalesced), 6);
    for (size_t i = 0; i < 6; i++) {
      CHECK_EQ(lens[i], i == 5 ? 300 : 1000);
      CHECK(heads[i][0] == 'g' && heads[i][1] == i);
    }
    if (gso && gro) CHECK_EQ(coalesced, 1);
    if (!on) CHECK_EQ(coalesced, 0);
    chorus_udp_close(fa);
    chorus_udp_close(fb);
  }
}

/*
 * Mixed sizes and two destinations, interleaved: each destination gets
 * exactly its datagrams in the order given (grouping by destination and
 * cutting runs at every size change must not reorder within one).
 */
static void test_udp_gso_mixed(void) {
  static const size_t len_b[] = {500, 500, 900, 200, 800, 800, 800, 100, 1200, 7};
  static const size_t len_c[] = {900, 900, 900, 900};
  static uint8_t out[14][1200];
  chorus_udp_addr a, b, c;
  int fa = open_any(&a), fb = open_any(&b), fc = open_any(&c);
  (void)chorus_udp_gro_enable(fb);
  (void)chorus_udp_gro_enable(fc);
  chorus_udp_msg tx[14];
  size_t nb = 0, nc = 0, sent = 0, lens[10], coalesced = 0;
  uint8_t heads[10][2];
  for (size_t i = 0; i < 14; i++) { /* c's datagrams at 1, 4, 7, 10 */
    int to_c = i % 3 == 1 && nc < 4;
    tx[i].addr = to_c ? c : b;
    tx[i].data = out[i];
    tx[i].len_bytes = to_c ? len_c[nc] : len_b[nb];
    gso_fill(out[i], tx[i].len_bytes, to_c ? 'c' : 'b', to_c ? nc++ : nb++);
  }
  CHECK(nb == 10 && nc == 4);
  int gso = chorus_udp_gso_available();
  CHECK_EQ(chorus_udp_send_batch_gso(fa, tx, 14, &gso, &sent), CHORUS_UDP_OK);
  CHECK_EQ(sent, 14);
  CHECK_EQ(gso_recv(fb, 10, lens, heads, &coalesced), 10);
  for (size_t i = 0; i < 10; i++) {
    CHECK_EQ(lens[i], len_b[i]);
    CHECK(heads[i][0] == 'b' && (len_b[i] == 1 || heads[i][1] == i));
  }
  CHECK_EQ(gso_recv(fc, 4, lens, heads, &coalesced), 4);
  for (size_t i = 0; i < 4; i++) CHECK(lens[i] == 900 && heads[i][0] == 'c' && heads[i][1] == i);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
  chorus_udp_close(fc);
}

/*
 * The runtime fallback: a socket without UDP checksums (SO_NO_CHECK) is one
 * the kernel will not segment for (EINVAL). The fault path then turns
 * segmentation off, counts it once, and every datagram still goes, in order.
 */
static void test_udp_gso_fallback(void) {
#if defined(SO_NO_CHECK)
  if (!chorus_udp_gso_available()) return;
  chorus_udp_addr a, b;
  int fa = open_any(&a), fb = open_any(&b);
  int one = 1;
  CHECK_EQ(setsockopt(fa, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
  chorus_udp_fault_stats st;
  chorus_udp_fault *f = fault(0, 0, 0, 0, 4);
  uint8_t buf[600];
  size_t lens[20], coalesced = 0;
  uint8_t heads[20][2];
  for (size_t i = 0; i < 20; i++) {
    gso_fill(buf, sizeof buf, 'f', i);
    chorus_udp_fault_send(f, fa, &b, buf, sizeof buf, 0);
  }
  chorus_udp_fault_flush(f, fa, 0);
  chorus_udp_fault_stats_get(f, &st);
  CHECK_EQ(st.gso_fallbacks, 1);
  CHECK_EQ(st.sent, 20);
  CHECK_EQ(st.send_errors, 0);
  CHECK_EQ(gso_recv(fb, 20, lens, heads, &coalesced), 20);
  for (size_t i = 0; i < 20; i++) CHECK(lens[i] == 600 && heads[i][1] == i);
  chorus_udp_fault_free(f);
  chorus_udp_close(fa);
  chorus_udp_close(fb);
#endif
}

static void test_clock(void) {
  uint64_t t0 = chorus_clock_now_us();
  nap_ms(2);
  uint64_t t1 = chorus_clock_now_us();
  CHECK(t1 >= t0 + 1000);
  uint32_t e = chorus_clock_boot_epoch();
  CHECK(e > 100u * 24 * 3600 * 10); /* more than 100 days after 2024-01-01 */
}

/* ---- the network loop --------------------------------------------------- */

typedef struct sink {
  pthread_mutex_t mu;
  int delivered_room, delivered_private, sent, errors, peer_up, who, stats, views, leaving;
  int strangers;
  int last_err, last_gone, leave_err;
  uint64_t rx_datagrams, rx_coalesced, rx_rejected, tx_sent; /* the last STATS */
  int who_members;        /* member_count of the last WHO answer */
  int view_names_ok;      /* every VIEW event carried the names */
  enum chorus_view_reason last_reason;
  uint32_t last_view, last_members;
  size_t last_member;
  chorus_loop_member_state who_state[2]; /* from the last WHO answer */
  uint32_t last_id;
  char last_text[64];
} sink;

static void sink_event(void *ctx, const chorus_loop_event *ev) {
  sink *s = ctx;
  pthread_mutex_lock(&s->mu);
  switch (ev->kind) {
    case CHORUS_LOOP_EV_DELIVER:
      if (ev->msg_kind == CHORUS_MSG_ROOM) s->delivered_room++;
      else s->delivered_private++;
      snprintf(s->last_text, sizeof s->last_text, "%.*s", (int)ev->text_len,
               (const char *)ev->text);
      break;
    case CHORUS_LOOP_EV_SENT: s->sent++; s->last_id = ev->msg_id; break;
    case CHORUS_LOOP_EV_ERROR:
      s->errors++;
      s->last_err = ev->err;
      s->last_gone = ev->gone;
      break;
    case CHORUS_LOOP_EV_PEER_UP: s->peer_up++; break;
    case CHORUS_LOOP_EV_WHO:
      /* Checks run on the test's thread: record here, compare there. */
      s->who++;
      s->who_members = (int)ev->snap->member_count;
      memcpy(s->who_state, ev->snap->state, sizeof s->who_state);
      break;
    case CHORUS_LOOP_EV_VIEW:
      s->views++;
      s->last_reason = ev->reason;
      s->last_view = ev->view;
      s->last_members = ev->members;
      s->last_member = ev->member;
      s->view_names_ok = ev->names != NULL && ev->member_count == 2;
      break;
    case CHORUS_LOOP_EV_LEAVING:
      s->leaving++;
      s->leave_err = ev->err;
      break;
    case CHORUS_LOOP_EV_STATS:
      s->stats++;
      s->rx_datagrams = ev->snap->loop.rx_datagrams;
      s->rx_coalesced = ev->snap->loop.rx_coalesced;
      s->rx_rejected = ev->snap->loop.rx_rejected;
      s->tx_sent = ev->snap->tx.sent;
      break;
    case CHORUS_LOOP_EV_PEER_RESTARTED: break;
    case CHORUS_LOOP_EV_STRANGER: s->strangers++; break;
  }
  pthread_mutex_unlock(&s->mu);
}

static int sink_get(sink *s, const int *field) {
  pthread_mutex_lock(&s->mu);
  int v = *field;
  pthread_mutex_unlock(&s->mu);
  return v;
}

static uint64_t sink_get64(sink *s, const uint64_t *field) {
  pthread_mutex_lock(&s->mu);
  uint64_t v = *field;
  pthread_mutex_unlock(&s->mu);
  return v;
}

/* Wait (bounded) until *field reaches want. */
static int sink_wait(sink *s, const int *field, int want) {
  uint64_t end = chorus_clock_now_us() + (uint64_t)WAIT_MS * 1000;
  while (sink_get(s, field) < want && chorus_clock_now_us() < end) nap_ms(1);
  return sink_get(s, field);
}

static chorus_loop *make_loop_fd(const char *self, int fd, const chorus_udp_addr addrs[2],
                                 sink *s, size_t queue_max, enum chorus_fd_mode mode) {
  chorus_loop_config c;
  chorus_loop *l = NULL;
  chorus_loop_config_default(&c);
  c.peer.self_name = self;
  c.peer.member_names[0] = "alice";
  c.peer.member_names[1] = "bob";
  c.peer.member_count = 2;
  c.peer.epoch = 5;
  c.peer.seed = 1;
  c.peer.fd_mode = mode;
  c.fd = fd;
  c.addrs[0] = addrs[0];
  c.addrs[1] = addrs[1];
  c.queue_max = queue_max;
  c.on_event = sink_event;
  c.ctx = s;
  CHECK_EQ(chorus_loop_new(&c, &l), CHORUS_OK);
  return l;
}

static chorus_loop *make_loop(const char *self, int fd, const chorus_udp_addr addrs[2], sink *s,
                              size_t queue_max) {
  return make_loop_fd(self, fd, addrs, s, queue_max, CHORUS_FD_MODE_OFF);
}

static void sink_init(sink *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
}

static void test_loop_exchange(void) {
  chorus_udp_addr addrs[2];
  int fa = open_any(&addrs[0]), fb = open_any(&addrs[1]);
  sink sa, sb;
  memset(&sa, 0, sizeof sa);
  memset(&sb, 0, sizeof sb);
  pthread_mutex_init(&sa.mu, NULL);
  pthread_mutex_init(&sb.mu, NULL);
  chorus_loop *la = make_loop("alice", fa, addrs, &sa, 8);
  chorus_loop *lb = make_loop("bob", fb, addrs, &sb, 8);
  CHECK_EQ(chorus_loop_start(la), CHORUS_OK);
  CHECK_EQ(chorus_loop_start(la), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_loop_start(lb), CHORUS_OK);
  const uint8_t hi[] = "hello bob";
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_ROOM, 0, hi, 9, 1, 0), CHORUS_OK);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_PRIVATE, 1, (const uint8_t *)"psst", 4, 2, 0),
           CHORUS_OK);
  CHECK_EQ(sink_wait(&sb, &sb.delivered_private, 1), 1);
  CHECK_EQ(sink_wait(&sb, &sb.delivered_room, 1), 1);
  CHECK_EQ(sink_wait(&sa, &sa.delivered_room, 1), 1); /* own room message too */
  CHECK_EQ(sink_get(&sa, &sa.sent), 2);
  /* Refusals come back as events with the core's code. */
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_ROOM, 0, (const uint8_t *)"\xff", 1, 3, 0),
           CHORUS_OK);
  CHECK_EQ(sink_wait(&sa, &sa.errors, 1), 1);
  CHECK_EQ(sa.last_err, CHORUS_ERR_BAD_UTF8);
  uint8_t big[CHORUS_MSG_BYTES_DEFAULT + 1];
  memset(big, 'a', sizeof big);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_ROOM, 0, big, sizeof big, 4, 0),
           CHORUS_ERR_MSG_TOO_LONG);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_WHO, 0, NULL, 0, 5, 0), CHORUS_OK);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_STATS, 0, NULL, 0, 6, 0), CHORUS_OK);
  CHECK_EQ(sink_wait(&sa, &sa.who, 1), 1);
  CHECK_EQ(sink_get(&sa, &sa.who_members), 2);
  CHECK_EQ(sink_wait(&sa, &sa.stats, 1), 1);
  CHECK_EQ(chorus_loop_flush(la, WAIT_MS), 0); /* everything acknowledged */
  chorus_loop_free(la);
  chorus_loop_free(lb);
  CHECK_EQ(sb.peer_up, 1);
  pthread_mutex_destroy(&sa.mu);
  pthread_mutex_destroy(&sb.mu);
}

/* Two started loops with failure detection, for the membership tests. */
static void pair_start(chorus_loop **la, chorus_loop **lb, sink *sa, sink *sb) {
  chorus_udp_addr addrs[2];
  int fa = open_any(&addrs[0]), fb = open_any(&addrs[1]);
  sink_init(sa);
  sink_init(sb);
  *la = make_loop_fd("alice", fa, addrs, sa, 8, CHORUS_FD_MODE_FAST);
  *lb = make_loop_fd("bob", fb, addrs, sb, 8, CHORUS_FD_MODE_FAST);
  CHECK_EQ(chorus_loop_start(*la), CHORUS_OK);
  CHECK_EQ(chorus_loop_start(*lb), CHORUS_OK);
  CHECK_EQ(chorus_loop_submit(*lb, CHORUS_LOOP_CMD_ROOM, 0, (const uint8_t *)"hi", 2, 1, 0),
           CHORUS_OK);
  CHECK_EQ(sink_wait(sa, &sa->delivered_room, 1), 1); /* both up and talking */
}

/* After the view change, a private message to the removed member is
 * refused with the reason, and /who reports it out of the view. */
static void check_removed(chorus_loop *la, sink *sa, enum chorus_view_reason why) {
  CHECK_EQ(sink_get(sa, &sa->view_names_ok), 1);
  CHECK_EQ(sa->last_member, 1);
  CHECK_EQ(sa->last_reason, why);
  CHECK_EQ(sa->last_members, 1u); /* alice alone */
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_PRIVATE, 1, (const uint8_t *)"x", 1, 7, 0),
           CHORUS_OK);
  CHECK_EQ(sink_wait(sa, &sa->errors, 1), 1);
  CHECK_EQ(sa->last_err, CHORUS_ERR_UNKNOWN_USER);
  CHECK_EQ(sa->last_gone, 1);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_WHO, 0, NULL, 0, 8, 0), CHORUS_OK);
  CHECK_EQ(sink_wait(sa, &sa->who, 1), 1);
  CHECK_EQ(sa->who_state[0].in_view, 1);
  CHECK_EQ(sa->who_state[1].in_view, 0);
  CHECK_EQ(sa->who_state[1].removal_seen, 1);
  CHECK_EQ(sa->who_state[1].reason, why);
  CHECK_EQ(sa->who_state[1].view, sa->last_view);
  /* Nothing waits on the removed member's link. */
  CHECK_EQ(chorus_loop_flush(la, WAIT_MS), 0);
}

static void test_loop_leave(void) {
  chorus_loop *la, *lb;
  sink sa, sb;
  pair_start(&la, &lb, &sa, &sb);
  CHECK_EQ(chorus_loop_submit(lb, CHORUS_LOOP_CMD_LEAVE, 0, NULL, 0, 2, 0), CHORUS_OK);
  CHECK_EQ(sink_wait(&sb, &sb.leaving, 1), 1);
  CHECK_EQ(sink_get(&sb, &sb.leave_err), CHORUS_OK);
  CHECK_EQ(sink_wait(&sa, &sa.views, 1), 1);
  /* The leaver's wait ends: its links settle, or (if its last frames are
   * never acknowledged once alice removed it) its own detector removes
   * alice, whose link then no longer counts. */
  CHECK_EQ(chorus_loop_flush(lb, WAIT_MS), 0);
  chorus_loop_free(lb);
  check_removed(la, &sa, CHORUS_VIEW_LEAVE);
  chorus_loop_free(la);
  pthread_mutex_destroy(&sa.mu);
  pthread_mutex_destroy(&sb.mu);
}

/* Slots: alice starts alone with slot 1 vacant; bob (who knows her) speaks:
 * a STRANGER to her loop until she names the slot, then a JOIN view. */
static void test_loop_set_member(void) {
  chorus_udp_addr addrs[2];
  int fa = open_any(&addrs[0]), fb = open_any(&addrs[1]);
  sink sa, sb;
  sink_init(&sa);
  sink_init(&sb);
  chorus_loop_config c;
  chorus_loop *la = NULL, *lb = NULL;
  chorus_loop_config_default(&c);
  c.peer.self_name = "alice";
  c.peer.member_names[0] = "alice";
  c.peer.member_count = 2;
  c.peer.slots = 1;
  c.peer.epoch = 5;
  c.peer.fd_mode = CHORUS_FD_MODE_FAST;
  c.fd = fa;
  c.addrs[0] = addrs[0];
  c.on_event = sink_event;
  c.ctx = &sa;
  CHECK_EQ(chorus_loop_new(&c, &la), CHORUS_OK);
  lb = make_loop_fd("bob", fb, addrs, &sb, 8, CHORUS_FD_MODE_FAST);
  CHECK_EQ(chorus_loop_start(la), CHORUS_OK);
  CHECK_EQ(chorus_loop_start(lb), CHORUS_OK);
  CHECK_EQ(sink_wait(&sa, &sa.strangers, 1), 1);
  CHECK_EQ(chorus_loop_set_member(la, 2, "bob", &addrs[1]), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_loop_set_member(la, 1, "bob", &addrs[1]), CHORUS_OK);
  CHECK_EQ(sink_wait(&sa, &sa.views, 1), 1);
  CHECK_EQ(sa.last_reason, CHORUS_VIEW_JOIN);
  CHECK_EQ(sa.last_members, 3u);
  CHECK_EQ(chorus_loop_submit(la, CHORUS_LOOP_CMD_ROOM, 0, (const uint8_t *)"hi bob", 6, 1, 0),
           CHORUS_OK);
  CHECK_EQ(sink_wait(&sb, &sb.delivered_room, 1), 1);
  chorus_loop_free(lb);
  chorus_loop_free(la);
  pthread_mutex_destroy(&sa.mu);
  pthread_mutex_destroy(&sb.mu);
}

/* bob stops without a word: alice's detector (fast profile) removes him. */
static void test_loop_crash(void) {
  chorus_loop *la, *lb;
  sink sa, sb;
  pair_start(&la, &lb, &sa, &sb);
  uint64_t t0 = chorus_clock_now_us();
  chorus_loop_free(lb);
  CHECK_EQ(sink_wait(&sa, &sa.views, 1), 1);
  uint64_t took_us = chorus_clock_now_us() - t0;
  CHECK(took_us < (uint64_t)WAIT_MS * 1000u);
  check_removed(la, &sa, CHORUS_VIEW_CRASH);
  chorus_loop_free(la);
  pthread_mutex_destroy(&sa.mu);
  pthread_mutex_destroy(&sb.mu);
}

static void test_loop_queue_full(void) {
  chorus_udp_addr addrs[2];
  int fa = open_any(&addrs[0]);
  addrs[1] = addrs[0];
  sink s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.mu, NULL);
  chorus_loop *l = make_loop("alice", fa, addrs, &s, 2);
  /* Not started: nothing drains the queue, so the limit shows. */
  CHECK_EQ(chorus_loop_submit(l, CHORUS_LOOP_CMD_WHO, 0, NULL, 0, 1, 0), CHORUS_OK);
  CHECK_EQ(chorus_loop_submit(l, CHORUS_LOOP_CMD_WHO, 0, NULL, 0, 2, 0), CHORUS_OK);
  CHECK_EQ(chorus_loop_submit(l, CHORUS_LOOP_CMD_WHO, 0, NULL, 0, 3, 0), CHORUS_ERR_QUEUE_FULL);
  CHECK_EQ(chorus_loop_submit(l, (enum chorus_loop_cmd_kind)9, 0, NULL, 0, 4, 0),
           CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_loop_flush(l, 10), 2);
  chorus_loop_free(l); /* stop before start, with commands pending */
  pthread_mutex_destroy(&s.mu);
}

/*
 * A burst of 1000-byte private messages from alice's loop to bob's: alice's
 * sends go segmented and bob's loop takes them coalesced (where the system
 * has GSO and GRO), splits them, and delivers every message exactly once.
 */
static void test_loop_gro_burst(void) {
  enum { BURST = 200 };
  chorus_udp_addr addrs[2];
  int fds[2] = {open_any(&addrs[0]), open_any(&addrs[1])};
  static const char *self[2] = {"alice", "bob"};
  sink s[2];
  chorus_loop *l[2];
  for (int i = 0; i < 2; i++) {
    chorus_loop_config c;
    sink_init(&s[i]);
    chorus_loop_config_default(&c);
    c.peer.self_name = self[i];
    c.peer.member_names[0] = "alice";
    c.peer.member_names[1] = "bob";
    c.peer.member_count = 2;
    c.peer.epoch = 5;
    c.peer.seed = 1;
    c.fd = fds[i];
    c.addrs[0] = addrs[0];
    c.addrs[1] = addrs[1];
    c.queue_max = 64;
    c.hold_when_full = 1;
    c.on_event = sink_event;
    c.ctx = &s[i];
    CHECK_EQ(chorus_loop_new(&c, &l[i]), CHORUS_OK);
    CHECK_EQ(chorus_loop_start(l[i]), CHORUS_OK);
  }
  static uint8_t text[1000];
  for (int k = 0; k < BURST; k++) {
    memset(text, 'a' + k % 26, sizeof text);
    CHECK_EQ(chorus_loop_submit(l[0], CHORUS_LOOP_CMD_PRIVATE, 1, text, sizeof text, 0, 1),
             CHORUS_OK);
  }
  CHECK_EQ(sink_wait(&s[1], &s[1].delivered_private, BURST), BURST);
  CHECK_EQ(chorus_loop_flush(l[0], WAIT_MS), 0);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(chorus_loop_submit(l[i], CHORUS_LOOP_CMD_STATS, 0, NULL, 0, 0, 0), CHORUS_OK);
    CHECK_EQ(sink_wait(&s[i], &s[i].stats, 1), 1);
  }
  pthread_mutex_lock(&s[1].mu);
  CHECK_EQ(s[1].delivered_private, BURST); /* none twice */
  CHECK(s[1].last_text[0] == 'a' + (BURST - 1) % 26);
  CHECK_EQ(s[1].rx_rejected, 0); /* each datagram reached the core whole */
  /* Loopback loses nothing short of a full buffer, and every datagram bob
   * received came from alice: a split that lost parts would show here. */
  CHECK(s[1].rx_datagrams * 10 >= sink_get64(&s[0], &s[0].tx_sent) * 9);
  if (chorus_udp_gso_available() && l[1]->rx_slot_bytes == CHORUS_UDP_GRO_BYTES)
    CHECK(s[1].rx_coalesced > 0);
  pthread_mutex_unlock(&s[1].mu);
  for (int i = 0; i < 2; i++) {
    chorus_loop_free(l[i]);
    pthread_mutex_destroy(&s[i].mu);
  }
}

static void test_loop_new_errors(void) {
  chorus_loop_config c;
  chorus_loop *l = NULL;
  sink s;
  chorus_loop_config_default(&c);
  CHECK_EQ(chorus_loop_new(&c, &l), CHORUS_ERR_INVAL); /* no callback, no fd */
  c.on_event = sink_event;
  c.ctx = &s;
  c.fd = 0;
  c.queue_max = 0;
  CHECK_EQ(chorus_loop_new(&c, &l), CHORUS_ERR_CONFIG);
  c.queue_max = 4;
  CHECK_EQ(chorus_loop_new(&c, &l), CHORUS_ERR_CONFIG); /* no members */
  CHECK(l == NULL);
}

/* ---- CLI helpers -------------------------------------------------------- */

static void test_line_reader(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  const char input[] = "one\r\ntwo\n\n0123456789abcdef\nlast";
  CHECK_EQ(write(p[1], input, sizeof input - 1), (long long)(sizeof input - 1));
  close(p[1]);
  chorus_line r;
  CHECK_EQ(chorus_line_init(&r, p[0], 8), 0);
  CHECK_EQ(chorus_line_next(&r), 1);
  CHECK(r.len == 3 && memcmp(r.buf, "one", 3) == 0);
  CHECK_EQ(chorus_line_next(&r), 1);
  CHECK(r.len == 3 && memcmp(r.buf, "two", 3) == 0);
  CHECK_EQ(chorus_line_next(&r), 1);
  CHECK_EQ(r.total, 0);
  CHECK_EQ(chorus_line_next(&r), 1); /* cut at 8 bytes, true length kept */
  CHECK_EQ(r.len, 8);
  CHECK_EQ(r.total, 16);
  CHECK_EQ(chorus_line_next(&r), 1);
  CHECK(r.len == 4 && memcmp(r.buf, "last", 4) == 0);
  CHECK_EQ(chorus_line_next(&r), 0);
  CHECK_EQ(chorus_line_next(&r), 0);
  chorus_line_free(&r);
  close(p[0]);
}

static void test_json_escape(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  CHECK(f != NULL);
  if (f == NULL) return;
  const uint8_t in[] = "a\"b\\c\n\x01\x7f\xc3\xa9";
  chorus_json_str(f, in, sizeof in - 1);
  fclose(f);
  CHECK(strcmp(text, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\xc3\xa9\"") == 0);
  free(text);
}

/* The parsed args point into argv, so the words live in a static buffer. */
static int parse(const char *line, chorus_peer_args *a, char *err, size_t err_bytes) {
  static char buf[512];
  char *argv[32];
  int argc = 0;
  snprintf(buf, sizeof buf, "%s", line);
  for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " ")) argv[argc++] = t;
  return chorus_peer_args_parse(argc, argv, a, err, err_bytes);
}

static void test_peer_args(void) {
  chorus_peer_args a;
  char err[256];
  CHECK_EQ(parse("peer --name alice --listen=127.0.0.1:1 --peer bob@h:2 --json --drop 0.25 "
                 "--delay-ms 5 --order fifo --max-msg 100",
                 &a, err, sizeof err),
           0);
  CHECK(strcmp(a.name, "alice") == 0 && strcmp(a.listen, "127.0.0.1:1") == 0);
  CHECK_EQ(a.peer_count, 1);
  CHECK(strcmp(a.peer_names[0], "bob") == 0 && strcmp(a.peer_addrs[0], "h:2") == 0);
  CHECK_EQ(a.json, 1);
  CHECK_EQ(a.drop_ppm, 250000);
  CHECK_EQ(a.delay_ppm, 1000000); /* implied by --delay-ms */
  CHECK_EQ(a.order, CHORUS_ORDER_FIFO);
  CHECK_EQ(a.max_msg_bytes, 100);
  CHECK_EQ(a.fd_mode, CHORUS_FD_MODE_DEFAULT);
  CHECK_EQ(parse("peer --name a --listen x:1 --fd fast", &a, err, sizeof err), 0);
  CHECK_EQ(a.fd_mode, CHORUS_FD_MODE_FAST);
  CHECK_EQ(parse("peer --name a --listen x:1 --fd=off", &a, err, sizeof err), 0);
  CHECK_EQ(a.fd_mode, CHORUS_FD_MODE_OFF);
  CHECK_EQ(parse("peer --name a --listen x:1 --fd slow", &a, err, sizeof err), -1);
  CHECK(strcmp(err, "bad --fd 'slow': expected default, fast or off") == 0);
  CHECK_EQ(parse("peer --help", &a, err, sizeof err), 0);
  CHECK_EQ(a.help, 1);
  CHECK_EQ(parse("peer --name alice", &a, err, sizeof err), -1);
  CHECK(strcmp(err, "missing --listen") == 0);
  CHECK_EQ(parse("peer --name a --listen x:1 --peer b@x:2 --peer b@x:3", &a, err, sizeof err), -1);
  CHECK(strstr(err, "duplicate member name 'b'") != NULL);
  CHECK_EQ(parse("peer --name a --listen x:1 --peer a@x:2", &a, err, sizeof err), -1);
  CHECK_EQ(parse("peer --name a --listen x:1 --wat", &a, err, sizeof err), -1);
  CHECK(strstr(err, "unknown option '--wat'") != NULL);
  CHECK_EQ(parse("peer --name a --listen x:1 --drop", &a, err, sizeof err), -1);
  CHECK_EQ(parse("peer --name a --listen x:1 --max-msg 65537", &a, err, sizeof err), -1);
  CHECK_EQ(parse("peer --name a --listen x:1 --seed -1", &a, err, sizeof err), -1);
  CHECK_EQ(parse("peer --name 0123456789012345678901234567890123 --listen x:1", &a, err,
                 sizeof err),
           -1);
  CHECK_EQ(parse("peer --name a --listen x:1 --peer b@x:1 --peer c@x:1 --peer d@x:1 "
                 "--peer e@x:1 --peer f@x:1 --peer g@x:1 --peer h@x:1 --peer i@x:1 "
                 "--peer j@x:1",
                 &a, err, sizeof err),
           0); /* ten members: the limit */
  CHECK_EQ(parse("peer --name a --listen x:1 --peer b@x:1 --peer c@x:1 --peer d@x:1 "
                 "--peer e@x:1 --peer f@x:1 --peer g@x:1 --peer h@x:1 --peer i@x:1 "
                 "--peer j@x:1 --peer k@x:1",
                 &a, err, sizeof err),
           -1);
  CHECK(strstr(err, "too many members") != NULL);
}

/* /history's ring: order, eviction by count and by bytes, wrap-around,
 * the longest message cut to the ring. */
static void test_recent_ring(void) {
  chorus_recent *r = chorus_recent_new();
  chorus_recent_msg m;
  static uint8_t text[CHORUS_RECENT_BYTES + 100], got[CHORUS_RECENT_BYTES + 100];
  CHECK(r != NULL);
  CHECK_EQ(chorus_recent_get(r, 0, &m, got, sizeof got), -1);
  for (int i = 0; i < CHORUS_RECENT_MSGS + 5; i++) {
    char t[16];
    int n = snprintf(t, sizeof t, "m%d", i);
    chorus_recent_add(r, (uint64_t)i, i % 3, "bob", (const uint8_t *)t, (size_t)n);
  }
  CHECK_EQ(chorus_recent_count(r), CHORUS_RECENT_MSGS); /* the 5 oldest went */
  CHECK_EQ(chorus_recent_get(r, 0, &m, got, sizeof got), 0);
  CHECK_EQ(m.time_ms, 5);
  CHECK_EQ(m.kind, 5 % 3);
  CHECK(strcmp(m.name, "bob") == 0 && m.text_len == 2 && memcmp(got, "m5", 2) == 0);
  /* Big messages evict by bytes and wrap around the ring's end. */
  memset(text, 'x', sizeof text);
  for (int i = 0; i < 5; i++) {
    text[0] = (uint8_t)('a' + i);
    chorus_recent_add(r, 100 + (uint64_t)i, 0, "carol", text, 20000);
  }
  CHECK_EQ(chorus_recent_count(r), 3); /* 3 x (5 + 20000) bytes fit in 65536 */
  CHECK_EQ(chorus_recent_get(r, 2, &m, got, sizeof got), 0);
  CHECK(m.time_ms == 104 && m.text_len == 20000 && got[0] == 'e' && got[19999] == 'x');
  CHECK_EQ(chorus_recent_get(r, 2, &m, got, 10), 0); /* cut to the caller's buffer */
  CHECK_EQ(m.text_len, 10);
  chorus_recent_add(r, 200, 1, "dave", text, sizeof text); /* longer than the ring */
  CHECK_EQ(chorus_recent_count(r), 1);
  CHECK_EQ(chorus_recent_get(r, 0, &m, got, sizeof got), 0);
  CHECK_EQ(m.text_len, CHORUS_RECENT_BYTES - 4);
  chorus_recent_free(r);
}

int main(void) {
  RUN(test_resolve_ok);
  RUN(test_resolve_errors);
  RUN(test_udp_roundtrip);
  RUN(test_fault_config);
  RUN(test_fault_drop_dup);
  RUN(test_fault_delay);
  RUN(test_fault_batch);
  RUN(test_udp_batch);
  RUN(test_udp_msg_parts);
  RUN(test_udp_gso_run);
  RUN(test_udp_gso_mixed);
  RUN(test_udp_gso_fallback);
  RUN(test_clock);
  RUN(test_loop_exchange);
  RUN(test_loop_leave);
  RUN(test_loop_crash);
  RUN(test_loop_set_member);
  RUN(test_loop_queue_full);
  RUN(test_loop_gro_burst);
  RUN(test_loop_new_errors);
  RUN(test_line_reader);
  RUN(test_json_escape);
  RUN(test_peer_args);
  RUN(test_recent_ring);
  return CHECK_SUMMARY();
}
