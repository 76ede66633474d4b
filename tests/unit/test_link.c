/*
 * The reliable link, driven through two or three peers on a scripted
 * network: loss, reordering, duplication, fragmentation, back-pressure,
 * restart with a new epoch, and malformed datagrams.
 */
#include "check.h"
#include "link.h"
#include "minnet.h"
#include "peer_int.h"

/* Once every frame is acknowledged and delivered, each link's fragment
 * buffers are all back in their pools: no path keeps one. */
static void check_pools_full(const minnet *m) {
  for (size_t i = 0; i < m->n; i++) {
    for (size_t k = 0; k < m->n; k++) {
      const chorus_link *l = &m->peer[i]->links[k];
      if (k == i) continue;
      CHECK_EQ(l->snd_una, l->snd_nxt);
      CHECK_EQ(l->free_small_count, 2 * l->cfg.window_frames);
      CHECK_EQ(l->free_large_count, 2 * l->cfg.window_frames);
    }
  }
}

static int send_text(minnet *m, size_t from, int to, const char *text) {
  size_t len = strlen(text);
  if (to < 0)
    return chorus_peer_broadcast(m->peer[from], m->now_us, (const uint8_t *)text,
                                 len, NULL);
  return chorus_peer_send_private(m->peer[from], m->now_us, (size_t)to,
                                  (const uint8_t *)text, len, NULL);
}

/* Check that node `node` got exactly ids 1..count of `kind` from `from`,
 * in order (room and private messages are numbered separately). */
static void check_kind(const minnet *m, size_t node, size_t from, int kind,
                       uint32_t count) {
  uint32_t next = 1;
  for (size_t k = 0; k < m->nlog; k++) {
    const minnet_delivery *d = &m->log[k];
    if (d->node != node || d->from != from || d->kind != kind) continue;
    CHECK_EQ(d->msg_id, next);
    next++;
  }
  CHECK_EQ(next - 1, count);
}

#define check_room(m, node, from, count) check_kind(m, node, from, CHORUS_MSG_ROOM, count)
#define check_private(m, node, from, count) \
  check_kind(m, node, from, CHORUS_MSG_PRIVATE, count)

static void test_handshake_and_fifo(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  CHECK_EQ(m.events_up, 6); /* every node saw both others */
  for (int i = 0; i < 5; i++) CHECK_EQ(send_text(&m, 0, -1, "room"), 0);
  CHECK_EQ(send_text(&m, 0, 2, "private"), 0);
  minnet_run(&m, 1000000);
  check_room(&m, 0, 0, 5); /* the sender delivers its own, in order */
  check_room(&m, 1, 0, 5);
  check_room(&m, 2, 0, 5);
  check_private(&m, 2, 0, 1);
  check_private(&m, 1, 0, 0);
  check_pools_full(&m);
  minnet_free(&m);
}

/* Drop about half, in a pattern that does not lock step with the protocol. */
static enum minnet_fate drop_half(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d;
  uint64_t h = (k + 1) * 0x9E3779B97F4A7C15ull;
  return (h >> 63) ? MINNET_DROP : MINNET_PASS;
}

static void test_loss(void) {
  minnet m;
  minnet_init(&m, 2);
  m.fate = drop_half;
  for (int i = 0; i < 20; i++) send_text(&m, 0, -1, "lossy");
  minnet_run(&m, 20000000);
  check_room(&m, 1, 0, 20);
  chorus_link_stats st;
  chorus_peer_link_stats_get(m.peer[0], 1, &st);
  CHECK(st.retransmits > 0);
  CHECK_EQ(st.in_flight, 0);
  check_pools_full(&m);
  minnet_free(&m);
}

/* Two nodes that met (the first 100 ms pass), then every datagram from
 * now on, counted from 1, goes through `fate`. */
static void pair_then_fate(minnet *m,
                           enum minnet_fate (*fate)(minnet *, size_t, size_t, uint64_t)) {
  minnet_init(m, 2);
  minnet_run(m, 100000);
  m->fate = fate;
  m->sent = 0;
}

/* Hold back the 3rd datagram; the ones after it overtake it. */
static enum minnet_fate reorder(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d;
  return k == 3 ? MINNET_LATE : MINNET_PASS;
}

static void test_reorder(void) {
  minnet m;
  pair_then_fate(&m, reorder);
  for (int i = 0; i < 10; i++) {
    send_text(&m, 0, 1, "r");
    minnet_run(&m, 100); /* one datagram each */
  }
  minnet_run(&m, 1000000);
  check_private(&m, 1, 0, 10);
  check_pools_full(&m);
  minnet_free(&m);
}

static enum minnet_fate dup_all(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d, (void)k;
  return MINNET_DUP;
}

static void test_duplication(void) {
  minnet m;
  minnet_init(&m, 2);
  m.fate = dup_all;
  for (int i = 0; i < 10; i++) send_text(&m, 1, -1, "twice");
  minnet_run(&m, 1000000);
  check_room(&m, 0, 1, 10); /* exactly once despite every datagram doubled */
  chorus_link_stats st;
  chorus_peer_link_stats_get(m.peer[0], 1, &st);
  CHECK(st.dup_frames > 0);
  check_pools_full(&m);
  minnet_free(&m);
}

static void test_fragmentation(void) {
  minnet m;
  minnet_init(&m, 2);
  static uint8_t big[4096];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)('a' + i % 26);
  m.fate = drop_half;
  CHECK_EQ(chorus_peer_broadcast(m.peer[0], 0, big, sizeof big, NULL), 0);
  CHECK_EQ(chorus_peer_broadcast(m.peer[0], 0, big, sizeof big + 1, NULL),
           CHORUS_ERR_MSG_TOO_LONG);
  minnet_run(&m, 20000000);
  check_room(&m, 1, 0, 1);
  CHECK_EQ(m.last_len, sizeof big);
  CHECK(memcmp(m.last_msg, big, sizeof big) == 0);
  check_pools_full(&m);
  minnet_free(&m);
}

static enum minnet_fate drop_all(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d, (void)k;
  return MINNET_DROP;
}

static void test_back_pressure(void) {
  minnet m;
  minnet_init(&m, 2);
  m.fate = drop_all;
  int rc = 0, sent = 0;
  while ((rc = send_text(&m, 0, 1, "x")) == 0) sent++;
  CHECK_EQ(rc, CHORUS_ERR_WINDOW_FULL);
  CHECK_EQ(sent, CHORUS_WINDOW_FRAMES_DEFAULT);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[0], &ps);
  CHECK_EQ(ps.tx_window_full, 1);
  m.fate = NULL; /* the path heals: everything queued gets through */
  minnet_run(&m, 30000000);
  check_private(&m, 1, 0, (uint32_t)sent);
  CHECK_EQ(send_text(&m, 0, 1, "x"), 0);
  minnet_free(&m);
}

static void test_restart_new_epoch(void) {
  minnet m;
  minnet_init(&m, 2);
  send_text(&m, 0, 1, "before");
  minnet_run(&m, 1000000);
  check_private(&m, 1, 0, 1);
  chorus_peer_free(m.peer[1]); /* crash bob, restart with a larger epoch */
  CHECK_EQ(minnet_add(&m, 1, 500), 0);
  m.nlog = 0;
  send_text(&m, 0, 1, "after");
  minnet_run(&m, 5000000);
  CHECK_EQ(m.events_restarted, 1);
  CHECK_EQ(m.nlog, 1); /* the new incarnation gets the new message once */
  CHECK_EQ(m.log[0].node, 1);
  check_pools_full(&m);
  minnet_free(&m);
}

/* Frames queued for an incarnation that crashed: the link abandons the
 * room frame but keeps the private one behind it, so the new incarnation
 * gets the private message once and the room message once, as history. */
static void test_restart_abandons_room_frames(void) {
  minnet m;
  minnet_init(&m, 2);
  minnet_run(&m, 500000);
  chorus_peer_free(m.peer[1]);
  m.peer[1] = NULL;
  CHECK_EQ(send_text(&m, 0, -1, "room while away"), 0);
  CHECK_EQ(send_text(&m, 0, 1, "private while away"), 0);
  minnet_run(&m, 300000);
  m.nlog = 0;
  CHECK_EQ(minnet_add(&m, 1, 500), 0);
  minnet_run(&m, 5000000);
  size_t priv = 0, live = 0, hist = 0;
  for (size_t k = 0; k < m.nlog; k++) {
    if (m.log[k].node != 1) continue;
    if (m.log[k].kind == CHORUS_MSG_PRIVATE) priv++;
    else if (m.log[k].history) hist++;
    else live++;
  }
  CHECK_EQ(priv, 1);
  CHECK_EQ(hist, 1);
  CHECK_EQ(live, 0);
  check_pools_full(&m);
  minnet_free(&m);
}

static void test_malformed_counted(void) {
  minnet m;
  minnet_init(&m, 2);
  uint8_t junk[8] = {'X', 'Y', 1, 2, 3, 4, 5, 6};
  CHECK_EQ(chorus_peer_recv(m.peer[0], 0, junk, 8), CHORUS_ERR_BAD_MAGIC);
  uint8_t v2[16] = {'C', 'H', 2};
  CHECK_EQ(chorus_peer_recv(m.peer[0], 0, v2, 16), CHORUS_ERR_BAD_VERSION);
  uint8_t stranger[16] = {'C', 'H', 1, 0, 9, 9, 9, 9, 0, 0, 0, 1, 0, 0, 0, 0};
  CHECK_EQ(chorus_peer_recv(m.peer[0], 0, stranger, 16), CHORUS_ERR_UNKNOWN_SENDER);
  uint8_t big[1300] = {'C', 'H', 1};
  CHECK_EQ(chorus_peer_recv(m.peer[0], 0, big, sizeof big), CHORUS_ERR_TOO_BIG);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[0], &ps);
  CHECK_EQ(ps.rx_bad_magic, 1);
  CHECK_EQ(ps.rx_bad_version, 1);
  CHECK_EQ(ps.rx_unknown_sender, 1);
  CHECK_EQ(ps.rx_too_big, 1);
  send_text(&m, 1, 0, "still fine");
  minnet_run(&m, 1000000);
  check_private(&m, 0, 1, 1);
  minnet_free(&m);
}

/* Drop only the first data-carrying datagram after the handshake. */
static enum minnet_fate drop_one(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d;
  return k == 0 ? MINNET_DROP : MINNET_PASS;
}

static void test_fast_retransmit(void) {
  minnet m;
  pair_then_fate(&m, drop_one);
  for (int i = 0; i < 8; i++) {
    send_text(&m, 0, 1, "burst"); /* private: one link, one datagram each */
    minnet_drain(&m, 0); /* one datagram per message */
  }
  minnet_run(&m, 1000000);
  check_private(&m, 1, 0, 8);
  chorus_link_stats st;
  chorus_peer_link_stats_get(m.peer[0], 1, &st);
  CHECK_EQ(st.fast_retransmits, 1);
  CHECK_EQ(st.timeouts, 0); /* recovered before the RTO fired */
  check_pools_full(&m);
  minnet_free(&m);
}

static enum minnet_fate drop_to_bob(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)k;
  return s == 0 && d == 1 ? MINNET_DROP : MINNET_PASS;
}

/* Bob acknowledges alice's private frames 2..8 selectively (frame 1 was
 * lost, and so are its retransmissions) and restarts: alice's link starts a
 * fresh stream and sends all eight again, the acknowledged ones included
 * (their buffers must still be there), and bob's new boot gets them all. */
static void test_restart_after_selective_ack(void) {
  minnet m;
  pair_then_fate(&m, drop_one);
  for (int i = 0; i < 8; i++) {
    send_text(&m, 0, 1, "burst");
    minnet_drain(&m, 0);
  }
  m.fate = drop_to_bob;
  chorus_link_stats st = {0};
  for (int k = 0; k < 1000 && st.fast_retransmits == 0; k++) {
    minnet_run(&m, 100);
    chorus_peer_link_stats_get(m.peer[0], 1, &st);
  }
  CHECK_EQ(st.fast_retransmits, 1);
  check_private(&m, 1, 0, 0); /* frame 1 missing: nothing delivered yet */
  chorus_peer_free(m.peer[1]);
  CHECK_EQ(minnet_add(&m, 1, 500), 0);
  m.fate = NULL;
  minnet_run(&m, 5000000);
  CHECK_EQ(m.events_restarted, 1);
  check_private(&m, 1, 0, 8);
  check_pools_full(&m);
  minnet_free(&m);
}

int main(void) {
  RUN(test_handshake_and_fifo);
  RUN(test_loss);
  RUN(test_reorder);
  RUN(test_duplication);
  RUN(test_fragmentation);
  RUN(test_back_pressure);
  RUN(test_restart_new_epoch);
  RUN(test_restart_abandons_room_frames);
  RUN(test_malformed_counted);
  RUN(test_fast_retransmit);
  RUN(test_restart_after_selective_ack);
  return CHECK_SUMMARY();
}
