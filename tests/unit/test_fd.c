/*
 * Failure detection and view changes on a scripted network: a crashed
 * member is removed by every survivor within the fast profile's bound, a
 * live member behind a lossy link is never removed, a suspicion is refuted,
 * and a graceful leave is a view change with reason LEAVE.
 */
#include "check.h"
#include "fd.h"
#include "minnet.h"

static void test_crash_detected_fast(void) {
  minnet m;
  minnet_init_fd(&m, 4, CHORUS_FD_MODE_FAST);
  minnet_run(&m, 1000000);
  uint64_t crash_us = m.now_us;
  chorus_peer_free(m.peer[2]); /* carol stops, nobody is told */
  m.peer[2] = NULL;
  minnet_run(&m, 5000000);
  for (size_t i = 0; i < 4; i++) {
    if (i == 2) continue;
    CHECK_EQ(m.views[i], 1);
    CHECK_EQ(m.last_reason[i], CHORUS_VIEW_CRASH);
    CHECK_EQ(m.last_members[i], 0xB); /* alice, bob, dave */
    CHECK(m.view_at_us[i] - crash_us <= 2500000); /* the fast profile's bound */
  }
  minnet_free(&m);
}

static void test_sequencer_crash_detected(void) {
  minnet m;
  minnet_init_fd(&m, 3, CHORUS_FD_MODE_FAST);
  minnet_run(&m, 1000000);
  chorus_peer_free(m.peer[0]); /* alice: coordinator and sequencer */
  m.peer[0] = NULL;
  minnet_run(&m, 5000000);
  CHECK_EQ(m.views[1], 1);
  CHECK_EQ(m.views[2], 1);
  CHECK_EQ(chorus_peer_send_room(m.peer[2], m.now_us, CHORUS_ORDER_TOTAL,
                                 (const uint8_t *)"still here", 10, NULL), 0);
  minnet_run(&m, 2000000);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[1], &ps);
  CHECK_EQ(ps.delivered_room, 1); /* bob sequences now */
  minnet_free(&m);
}

/* 20 % of everything dropped, in a pattern with no period. */
static enum minnet_fate lossy(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)d;
  uint64_t h = (k + 7) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return (h % 100) < 20 ? MINNET_DROP : MINNET_PASS;
}

static void test_no_false_removal_at_20pct_loss(void) {
  minnet m;
  minnet_init_fd(&m, 4, CHORUS_FD_MODE_FAST);
  m.fate = lossy;
  minnet_run(&m, 120000000); /* two simulated minutes */
  for (size_t i = 0; i < 4; i++) CHECK_EQ(m.views[i], 0);
  minnet_free(&m);
}

static void test_refutation(void) {
  chorus_prng prng;
  chorus_prng_init(&prng, 1);
  chorus_fd fd;
  chorus_fd_config cfg;
  chorus_fd_profile_fast(&cfg);
  chorus_fd_init(&fd, &cfg, 3, 0, 0, &prng);
  chorus_fd_on_gossip(&fd, 0, 0, 0, 10); /* someone suspects us */
  CHECK_EQ(fd.self_incarnation, 1);
  chorus_fd_action a;
  int alive_sent = 0;
  for (chorus_fd_next(&fd, 10, &a); a.kind != CHORUS_FD_NONE; chorus_fd_next(&fd, 10, &a))
    if (a.kind == CHORUS_FD_SEND_ALIVE && a.member == 0 && a.incarnation == 1) alive_sent++;
  CHECK_EQ(alive_sent, 2); /* to both others */
  /* A suspicion of member 1 is cleared by its higher incarnation. */
  chorus_fd_on_gossip(&fd, 1, 0, 0, 20);
  CHECK_EQ(chorus_fd_state_of(&fd, 1), CHORUS_FD_SUSPECT);
  chorus_fd_on_gossip(&fd, 1, 1, 1, 30);
  CHECK_EQ(chorus_fd_state_of(&fd, 1), CHORUS_FD_ALIVE);
}

static void test_graceful_leave(void) {
  minnet m;
  minnet_init_fd(&m, 3, CHORUS_FD_MODE_DEFAULT);
  minnet_run(&m, 500000);
  CHECK_EQ(chorus_peer_leave(m.peer[1], m.now_us), 0);
  CHECK_EQ(chorus_peer_send_room(m.peer[1], m.now_us, CHORUS_ORDER_TOTAL,
                                 (const uint8_t *)"x", 1, NULL), CHORUS_ERR_INVAL);
  minnet_run(&m, 1000000); /* well before any detector would act */
  CHECK_EQ(m.views[0], 1);
  CHECK_EQ(m.views[2], 1);
  CHECK_EQ(m.last_reason[0], CHORUS_VIEW_LEAVE);
  CHECK_EQ(m.last_members[2], 0x5);
  /* The leaver's last frames were acknowledged: it can stop at once. */
  chorus_link_stats ls;
  for (size_t i = 0; i < 3; i += 2) {
    CHECK_EQ(chorus_peer_link_stats_get(m.peer[1], i, &ls), 0);
    CHECK_EQ(ls.in_flight, 0);
    CHECK_EQ(ls.timeouts, 0);
  }
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[0], &ps);
  CHECK_EQ(ps.rx_unknown_sender, 0);
  minnet_free(&m);
}

/* Everyone leaves at once: nobody is admitted back by a stale view. */
static void test_all_leave_at_once(void) {
  minnet m;
  minnet_init_fd(&m, 4, CHORUS_FD_MODE_DEFAULT);
  minnet_run(&m, 500000);
  for (size_t i = 0; i < 4; i++) CHECK_EQ(chorus_peer_leave(m.peer[i], m.now_us), 0);
  minnet_run(&m, 2000000);
  for (size_t i = 0; i < 4; i++) CHECK(m.last_reason[i] != CHORUS_VIEW_JOIN);
  minnet_free(&m);
}

int main(void) {
  RUN(test_crash_detected_fast);
  RUN(test_sequencer_crash_detected);
  RUN(test_no_false_removal_at_20pct_loss);
  RUN(test_refutation);
  RUN(test_graceful_leave);
  RUN(test_all_leave_at_once);
  return CHECK_SUMMARY();
}
