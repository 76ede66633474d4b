/*
 * Restart and catch-up on a scripted network: a member that crashes and
 * comes back with a new epoch is admitted again by the coordinator, gets the
 * room history it missed (marked as history), and then delivers live
 * messages in the same order as everyone else.
 */
#include "check.h"
#include "minnet.h"

static void say(minnet *m, size_t from, const char *t) {
  CHECK_EQ(chorus_peer_send_room(m->peer[from], m->now_us, CHORUS_ORDER_TOTAL,
                                 (const uint8_t *)t, strlen(t), NULL), 0);
}

static size_t count_deliveries(const minnet *m, size_t node, int history) {
  size_t n = 0;
  for (size_t k = 0; k < m->nlog; k++)
    if (m->log[k].node == node && m->log[k].kind == CHORUS_MSG_ROOM &&
        m->log[k].history == history)
      n++;
  return n;
}

/* The live room deliveries of `node` after log position `from`. */
static size_t live_after(const minnet *m, size_t node, size_t from, uint64_t *out) {
  size_t n = 0;
  for (size_t k = from; k < m->nlog && n < 64; k++)
    if (m->log[k].node == node && m->log[k].kind == CHORUS_MSG_ROOM && !m->log[k].history)
      out[n++] = ((uint64_t)m->log[k].from << 32) | m->log[k].msg_id;
  return n;
}

static void test_restart_after_removal_catches_up(void) {
  minnet m;
  minnet_init_fd(&m, 3, CHORUS_FD_MODE_FAST);
  minnet_run(&m, 500000);
  for (int i = 0; i < 6; i++) say(&m, (size_t)i % 3, "before the crash");
  minnet_run(&m, 500000);
  chorus_peer_free(m.peer[2]); /* carol crashes */
  m.peer[2] = NULL;
  minnet_run(&m, 4000000);
  CHECK_EQ(m.last_reason[0], CHORUS_VIEW_CRASH);
  CHECK_EQ(m.last_view[0], 2); /* the removal is view 2 at both survivors */
  CHECK_EQ(m.last_view[1], 2);
  for (int i = 0; i < 4; i++) say(&m, (size_t)i % 2, "while carol is away");
  minnet_run(&m, 500000);
  CHECK_EQ(minnet_add(&m, 2, 900), 0); /* carol restarts: new epoch */
  size_t mark = m.nlog;
  minnet_run(&m, 3000000);
  CHECK_EQ(count_deliveries(&m, 2, 1), 10); /* all 10 as history */
  CHECK_EQ(m.last_reason[2], CHORUS_VIEW_JOIN);
  CHECK_EQ(m.last_reason[0], CHORUS_VIEW_JOIN);
  CHECK_EQ(m.last_members[1], 0x7);
  /* The join is a view change of its own, view 3 everywhere: the newcomer's
   * first view is the join's (its cut brings the number). */
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ(m.last_view[i], 3);
    CHECK_EQ(m.view_order_broken[i], 0);
  }
  chorus_peer_stats st;
  chorus_peer_stats_get(m.peer[2], &st);
  CHECK_EQ(st.view, 3);
  say(&m, 2, "carol is back");
  say(&m, 0, "welcome back");
  say(&m, 1, "hi carol");
  minnet_run(&m, 2000000);
  uint64_t a[64], c[64];
  size_t na = live_after(&m, 0, mark, a), nc = live_after(&m, 2, mark, c);
  CHECK_EQ(na, 3);
  CHECK_EQ(nc, 3);
  for (size_t k = 0; k < na && k < nc; k++) CHECK(a[k] == c[k]);
  /* Carol's numbering goes on from her first incarnation's two messages:
   * vector clocks and stability never see two numberings of one member. */
  uint32_t carol_id = 0;
  for (size_t k = 0; k < na; k++)
    if ((a[k] >> 32) == 2) carol_id = (uint32_t)a[k];
  CHECK_EQ(carol_id, 3);
  minnet_free(&m);
}

static void test_quick_restart_without_detector(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  for (int i = 0; i < 5; i++) say(&m, 0, "history");
  minnet_run(&m, 500000);
  chorus_peer_free(m.peer[1]); /* bob restarts before anyone notices */
  CHECK_EQ(minnet_add(&m, 1, 700), 0);
  minnet_run(&m, 2000000);
  CHECK_EQ(count_deliveries(&m, 1, 1), 5);
  size_t mark = m.nlog;
  say(&m, 2, "after");
  say(&m, 1, "bob again");
  minnet_run(&m, 2000000);
  uint64_t b[64], c[64];
  CHECK_EQ(live_after(&m, 1, mark, b), 2);
  CHECK_EQ(live_after(&m, 2, mark, c), 2);
  CHECK(b[0] == c[0] && b[1] == c[1]);
  minnet_free(&m);
}

int main(void) {
  RUN(test_restart_after_removal_catches_up);
  RUN(test_quick_restart_without_detector);
  return CHECK_SUMMARY();
}
