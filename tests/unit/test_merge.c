/*
 * Merges after a partition, on a scripted network: the absorbing
 * coordinator cuts a member of the absorbed side that went on in a view of
 * its own (it will never take the merge) as soon as its BEACON shows it,
 * not only once the merge is 2 s old; and a member of the absorbed side
 * whose MERGE_STATE never came (the absorber crashed) is cut by its
 * side-mates that installed the merge; a view left asymmetric by a
 * coordinator's removal that reached one member only settles.
 */
#include "check.h"
#include "minnet.h"

/* Phases of the script: {alice, bob} and {carol, dave} cut off from each
 * other both ways, then one way only: alice's side hears the other 21 ms
 * late, the other does not hear alice's. */
static int phase;

static enum minnet_fate split(minnet *m, size_t src, size_t dst, uint64_t k) {
  (void)m;
  (void)k;
  int across = (src < 2) != (dst < 2);
  if (phase == 1 && across) return MINNET_DROP;
  if (phase == 2 && across) return src < 2 ? MINNET_DROP : MINNET_LATE;
  return MINNET_PASS;
}

/* Steps until `until_us`; 1 as soon as alice's view changes. */
static int run_to_view_change(minnet *m, uint64_t until_us) {
  int seen = m->views[0];
  while (minnet_step(m, until_us))
    if (m->views[0] != seen) return 1;
  m->now_us = until_us;
  return 0;
}

/* The split, then the one-way phase: returns when alice absorbs carol's
 * side (0 if she does not within 5 s), with dave leaving at `leave_at_us`
 * (0: never) on the way. Each side removed two: both at ordering view 3,
 * the merged view 4. */
static uint64_t split_then_absorb(minnet *m, uint64_t leave_at_us) {
  minnet_init_fd(m, 4, CHORUS_FD_MODE_FAST);
  m->fate = split;
  phase = 0;
  minnet_run(m, 1000000);
  phase = 1;
  minnet_run(m, 4000000);
  CHECK_EQ(m->last_members[0], 0x3);
  CHECK_EQ(m->last_members[2], 0xc);
  phase = 2;
  uint64_t end = m->now_us + 5000000;
  if (leave_at_us) {
    CHECK_EQ(run_to_view_change(m, leave_at_us), 0);
    CHECK_EQ(chorus_peer_leave(m->peer[3], m->now_us), 0);
  }
  while (run_to_view_change(m, end))
    if (m->last_reason[0] == CHORUS_VIEW_MERGE && m->last_members[0] == 0xf) return m->now_us;
  return 0;
}

/* Alice absorbs {carol, dave} on a BEACON sent just before dave leaves:
 * carol removes dave while it is in flight, so she is at the merged
 * ordering view already and will hold alice's MERGE_STATE stale. Carol's
 * next BEACON (view at or above the merged one, not listing alice) must
 * make alice cut her at once, not once the merge is 2 s old. */
static void test_cut_on_beacon_past_merged_view(void) {
  minnet m;
  uint64_t merge_us = split_then_absorb(&m, 0);
  CHECK(merge_us != 0);
  minnet_free(&m);
  /* Again, dave leaving as the BEACON alice absorbs on is in flight. */
  uint64_t again_us = split_then_absorb(&m, merge_us - 20 * MINNET_DELAY_US + 500);
  CHECK_EQ(again_us, merge_us);
  CHECK_EQ(m.last_members[2], 0x4); /* carol took dave out meanwhile */
  CHECK_EQ(m.last_reason[2], CHORUS_VIEW_LEAVE);
  while (run_to_view_change(&m, merge_us + 3000000) && (m.last_members[0] & 0x4)) {
  }
  CHECK(!(m.last_members[0] & 0x4));
  CHECK(m.now_us - merge_us < 1500000);
  minnet_free(&m);
}

/* {alice, dave} and {bob, carol} split; at the heal alice hears bob but
 * bob does not hear alice (so no MERGE_STATE reaches him), and alice
 * crashes once carol installed her merge. */
static int stranded_phase;

static enum minnet_fate stranded_split(minnet *m, size_t src, size_t dst, uint64_t k) {
  (void)m;
  (void)k;
  int across = (src == 0 || src == 3) != (dst == 0 || dst == 3);
  if (stranded_phase == 1 && across) return MINNET_DROP;
  if (stranded_phase == 2 && src == 0 && dst == 1) return MINNET_DROP;
  return MINNET_PASS;
}

/* Bob (rank 1) never installs the merge; with alice gone he is the lowest
 * member of the merged view carol and dave hold, so he would coordinate
 * their removal of alice and never propose it. Carol sees his STATE still
 * at the old view with the absorber gone: she cuts him, removes alice and
 * bob, and bob, alone, absorbs carol's side anew. */
static void test_mate_without_merge_state_cut(void) {
  minnet m;
  minnet_init_fd(&m, 4, CHORUS_FD_MODE_FAST);
  m.fate = stranded_split;
  stranded_phase = 0;
  minnet_run(&m, 1000000);
  stranded_phase = 1;
  minnet_run(&m, 4000000);
  CHECK_EQ(m.last_members[0], 0x9);
  CHECK_EQ(m.last_members[1], 0x6);
  stranded_phase = 2;
  uint64_t end = m.now_us + 6000000;
  while (minnet_step(&m, end) &&
         !(m.last_reason[2] == CHORUS_VIEW_MERGE && m.last_members[2] == 0xf)) {
  }
  CHECK_EQ(m.last_members[2], 0xf);
  CHECK_EQ(m.last_members[1], 0x6); /* bob never installed it */
  chorus_peer_free(m.peer[0]);       /* alice crashes, nobody is told */
  m.peer[0] = NULL;
  stranded_phase = 3;
  minnet_run(&m, 15000000);
  CHECK_EQ(m.last_members[1], 0xe);
  CHECK_EQ(m.last_members[2], 0xe);
  CHECK_EQ(m.last_members[3], 0xe);
  minnet_free(&m);
}

/* Alice and dave stop hearing each other. */
static enum minnet_fate alice_dave_cut(minnet *m, size_t src, size_t dst, uint64_t k) {
  (void)m;
  (void)k;
  return (src == 0 && dst == 3) || (src == 3 && dst == 0) ? MINNET_DROP : MINNET_PASS;
}

/* Alice removes dave; her VIEW reaches carol only, and she crashes. Bob
 * removes her before carol's relay of that VIEW reaches him, so he takes
 * it for a late VIEW of a coordinator he removed and keeps dave: carol
 * holds {bob, carol}, bob and dave {bob, carol, dave}. Carol beacons dave,
 * who cuts her but does not coordinate; bob hears nothing of it. Dave
 * goes on alone, bob cuts and removes him, and absorbs him back. */
static void test_asymmetric_view_settles(void) {
  minnet m;
  minnet_init_fd(&m, 4, CHORUS_FD_MODE_FAST);
  minnet_run(&m, 1000000);
  m.fate = alice_dave_cut;
  CHECK_EQ(chorus_peer_remove_member(m.peer[0], m.now_us, 3), 0);
  chorus_peer_tick(m.peer[0], m.now_us);
  minnet_drain(&m, 0);
  CHECK_EQ(m.last_members[0], 0x7); /* alice removed dave */
  for (size_t k = m.qlen; k-- > 0;) /* her VIEW never reaches bob */
    if (m.q[k].src == 0 && m.q[k].dst == 1) m.q[k] = m.q[--m.qlen];
  chorus_peer_free(m.peer[0]);
  m.peer[0] = NULL;
  uint64_t end = m.now_us + 1000000;
  while (minnet_step(&m, end) && m.last_members[2] != 0x7) {
  }
  CHECK_EQ(m.last_members[2], 0x7); /* carol installed it, relayed to bob */
  CHECK_EQ(chorus_peer_remove_member(m.peer[1], m.now_us, 0), 0);
  chorus_peer_tick(m.peer[1], m.now_us);
  minnet_drain(&m, 1);
  CHECK_EQ(m.last_members[1], 0xe); /* bob removed alice, keeps dave */
  minnet_run(&m, 2000000);
  CHECK_EQ(m.last_members[1], 0xe);
  CHECK_EQ(m.last_members[2], 0x6);
  CHECK_EQ(m.last_members[3], 0xe);
  minnet_run(&m, 15000000);
  CHECK_EQ(m.last_members[1], 0xe);
  CHECK_EQ(m.last_members[2], 0xe);
  CHECK_EQ(m.last_members[3], 0xe);
  minnet_free(&m);
}

int main(void) {
  RUN(test_cut_on_beacon_past_merged_view);
  RUN(test_mate_without_merge_state_cut);
  RUN(test_asymmetric_view_settles);
  return CHECK_SUMMARY();
}
