/*
 * Server-assigned slots: members whose ranks are slots handed out by the
 * server, some slots vacant at first. A newcomer takes a vacant slot, is
 * named there with chorus_peer_set_member, and is admitted by a JOIN view
 * with the room's history; a slot left by one user is taken by another.
 */
#include "check.h"
#include "minnet.h"

/* Node i in slots mode; `vacant` has a bit per slot nobody holds for it. */
static int slot_add_as(minnet *m, size_t i, uint32_t epoch, uint32_t vacant, const char *name,
                       int joining) {
  chorus_peer_config cfg;
  chorus_peer_config_default(&cfg);
  cfg.self_name = name;
  cfg.slots = 1;
  for (size_t k = 0; k < m->n; k++)
    cfg.member_names[k] = (vacant & (1u << k)) ? NULL : (k == i ? name : minnet_names[k]);
  cfg.member_count = m->n;
  cfg.epoch = epoch;
  cfg.seed = i;
  cfg.fd_mode = CHORUS_FD_MODE_FAST;
  cfg.joining = joining;
  return chorus_peer_new(&cfg, &m->peer[i]);
}

static int slot_add(minnet *m, size_t i, uint32_t epoch, uint32_t vacant, const char *name) {
  return slot_add_as(m, i, epoch, vacant, name, 0);
}

/* An empty scripted network of n slots (nodes are added with slot_add). */
static void slots_net(minnet *m, size_t n) {
  memset(m, 0, sizeof(*m));
  m->n = n;
  m->q = calloc(MINNET_QUEUE, sizeof(*m->q));
}

static void say(minnet *m, size_t from, const char *t) {
  CHECK_EQ(chorus_peer_send_room(m->peer[from], m->now_us, CHORUS_ORDER_TOTAL,
                                 (const uint8_t *)t, strlen(t), NULL), 0);
}

static size_t deliveries(const minnet *m, size_t node, int history, size_t from_log) {
  size_t n = 0;
  for (size_t k = from_log; k < m->nlog; k++)
    if (m->log[k].node == node && m->log[k].kind == CHORUS_MSG_ROOM &&
        m->log[k].history == history)
      n++;
  return n;
}

/* Two members start with slot 2 vacant; carol takes it. */
static void start_two_then_carol(minnet *m) {
  slots_net(m, 3);
  CHECK_EQ(slot_add(m, 0, 100, 0x4, "alice"), 0);
  CHECK_EQ(slot_add(m, 1, 101, 0x4, "bob"), 0);
  CHECK_EQ(chorus_peer_in_view(m->peer[0], 2), 0);
  minnet_run(m, 300000);
  for (int i = 0; i < 4; i++) say(m, (size_t)i % 2, "before carol");
  minnet_run(m, 500000);
  CHECK_EQ(deliveries(m, 1, 0, 0), 4);
  CHECK_EQ(slot_add(m, 2, 200, 0, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m->peer[0], m->now_us, 2, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m->peer[1], m->now_us, 2, "carol"), 0);
  minnet_run(m, 2000000);
}

static void test_newcomer_takes_vacant_slot(void) {
  minnet m;
  start_two_then_carol(&m);
  CHECK_EQ(deliveries(&m, 2, 1, 0), 4); /* the history, marked as such */
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ(m.last_reason[i], CHORUS_VIEW_JOIN);
    CHECK_EQ(m.last_members[i], 0x7);
  }
  size_t mark = m.nlog;
  say(&m, 2, "carol here");
  say(&m, 0, "hello carol");
  minnet_run(&m, 1000000);
  for (size_t i = 0; i < 3; i++) CHECK_EQ(deliveries(&m, i, 0, mark), 2);
  minnet_free(&m);
}

static void test_slot_reused_by_another_user(void) {
  minnet m;
  start_two_then_carol(&m);
  CHECK_EQ(chorus_peer_leave(m.peer[2], m.now_us), 0);
  minnet_run(&m, 1000000);
  chorus_peer_free(m.peer[2]);
  m.peer[2] = NULL;
  CHECK_EQ(m.last_reason[0], CHORUS_VIEW_LEAVE);
  CHECK_EQ(m.last_members[0], 0x3);
  /* Refused while the slot is someone else's in the view: bob's slot. */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 1, "dave"), CHORUS_ERR_INVAL);
  /* Nor may a free seat take the name of a member in the view. */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 2, "bob"), CHORUS_ERR_INVAL);
  CHECK_EQ(slot_add(&m, 2, 300, 0, "dave"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 2, "dave"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "dave"), 0);
  minnet_run(&m, 2000000);
  CHECK_EQ(m.last_members[2], 0x7);
  CHECK_EQ(m.last_members[0], 0x7);
  CHECK_EQ(chorus_peer_member_index(m.peer[1], "dave"), 2);
  CHECK_EQ(chorus_peer_member_index(m.peer[1], "carol"), CHORUS_ERR_UNKNOWN_USER);
  size_t mark = m.nlog;
  say(&m, 2, "dave says hi");
  minnet_run(&m, 1000000);
  for (size_t i = 0; i < 3; i++) CHECK_EQ(deliveries(&m, i, 0, mark), 1);
  minnet_free(&m);
}

/* Alice (coordinator) and bob in seats 0 and 1; carol takes seat 2 and
 * alice admits her by name, while bob's server has not named her yet. */
static void carol_admitted_unnamed_at_bob(minnet *m) {
  slots_net(m, 3);
  CHECK_EQ(slot_add(m, 0, 100, 0x4, "alice"), 0);
  CHECK_EQ(slot_add(m, 1, 101, 0x4, "bob"), 0);
  minnet_run(m, 300000);
  CHECK_EQ(slot_add(m, 2, 200, 0, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m->peer[0], m->now_us, 2, "carol"), 0);
}

/* The coordinator names carol first; bob hears the JOIN view before the
 * server tells him her name, and names her later. */
static void test_join_view_before_name(void) {
  minnet m;
  carol_admitted_unnamed_at_bob(&m);
  minnet_run(&m, 1000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  CHECK_EQ(strcmp(chorus_peer_member_name(m.peer[1], 2), ""), 0);
  say(&m, 2, "carol speaks");
  say(&m, 1, "bob speaks");
  minnet_run(&m, 500000);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "dave"), CHORUS_ERR_INVAL);
  minnet_run(&m, 2000000);
  for (size_t i = 0; i < 3; i++) CHECK_EQ(deliveries(&m, i, 0, 0), 2);
  minnet_free(&m);
}

/* Three join in quick succession; bob and carol learn dave's name only
 * after the coordinator has admitted him (bob even after his own cut
 * already listed dave). Everyone ends with all four in the view. */
static void test_quick_joins_named_late(void) {
  minnet m;
  slots_net(&m, 4);
  const char *name[4] = {"alice", "bob", "carol", "dave"};
  for (size_t i = 0; i < 4; i++) {
    CHECK_EQ(slot_add(&m, i, 100 + (uint32_t)i, 0xFu & ~((2u << i) - 1), name[i]), 0);
    if (i < 3) minnet_run(&m, i == 0 ? 100000 : 30000); /* seats 0..i known to i */
  }
  for (size_t k = 1; k < 4; k++)
    CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, k, name[k]), 0);
  minnet_run(&m, 50000);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 500000);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 3, "dave"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[2], m.now_us, 3, "dave"), 0);
  minnet_run(&m, 2000000);
  for (size_t i = 0; i < 4; i++)
    for (size_t k = 0; k < 4; k++) CHECK_EQ(chorus_peer_in_view(m.peer[i], k), 1);
  size_t mark = m.nlog;
  say(&m, 3, "dave speaks");
  minnet_run(&m, 1000000);
  for (size_t i = 0; i < 4; i++) CHECK_EQ(deliveries(&m, i, 0, mark), 1);
  minnet_free(&m);
}

/* Everyone but the coordinator names each newcomer at once (the server
 * lists it to all); the coordinator learns carol's name last, so carol
 * hears dave's greetings, as a stranger's and then as a named member's,
 * long before her own cut. Then a member crashes, and the view change (its
 * flush) must complete with everyone. */
static void test_named_early_then_crash(void) {
  minnet m;
  slots_net(&m, 4);
  const char *name[4] = {"alice", "bob", "carol", "dave"};
  for (size_t i = 0; i < 4; i++) {
    CHECK_EQ(slot_add(&m, i, 100 + (uint32_t)i, 0xFu & ~((2u << i) - 1), name[i]), 0);
    for (size_t k = 0; k < i; k++)
      if (k != 0 || i != 2) CHECK_EQ(chorus_peer_set_member(m.peer[k], m.now_us, i, name[i]), 0);
    minnet_run(&m, 3000);
  }
  minnet_run(&m, 500000);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 2000000);
  for (size_t i = 0; i < 4; i++) CHECK_EQ(m.last_members[i], 0xF);
  chorus_peer_free(m.peer[1]); /* bob crashes */
  m.peer[1] = NULL;
  minnet_run(&m, 4000000);
  size_t mark = m.nlog;
  say(&m, 0, "after bob");
  say(&m, 2, "after bob");
  say(&m, 3, "after bob");
  minnet_run(&m, 2000000);
  for (size_t i = 0; i < 4; i++)
    if (i != 1) CHECK_EQ(deliveries(&m, i, 0, mark), 3);
  minnet_free(&m);
}

/* Carol (seat 2) waits for her cut while alice, who founded the room,
 * does not know her yet. Bob takes seat 1, vacant when carol booted:
 * carol names it (bob greeted her, she heard him before her admission),
 * and alice admits him. Alice leaves: bob coordinates and admits carol. He
 * is a member carol has not admitted herself: his history and cut must
 * still reach her. */
static void test_cut_from_seat_vacant_at_boot(void) {
  minnet m;
  slots_net(&m, 3);
  CHECK_EQ(slot_add(&m, 0, 100, 0x6, "alice"), 0);
  minnet_run(&m, 300000);
  say(&m, 0, "before carol");
  minnet_run(&m, 300000);
  CHECK_EQ(slot_add_as(&m, 2, 200, 0x2, "carol", 1), 0);
  minnet_run(&m, 300000);
  CHECK_EQ(slot_add_as(&m, 1, 300, 0, "bob", 1), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[2], m.now_us, 1, "bob"), 0);
  minnet_run(&m, 300000);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 1, "bob"), 0);
  minnet_run(&m, 1000000);
  CHECK_EQ(m.last_members[1], 0x3);
  CHECK_EQ(m.last_members[2], 0); /* still waiting */
  CHECK_EQ(chorus_peer_leave(m.peer[0], m.now_us), 0);
  minnet_run(&m, 3000000);
  CHECK_EQ(m.last_reason[2], CHORUS_VIEW_JOIN);
  CHECK_EQ(m.last_members[2], 0x6);
  CHECK_EQ(m.last_members[1], 0x6);
  CHECK_EQ(deliveries(&m, 2, 1, 0), 1); /* alice's message, as history */
  minnet_free(&m);
}

static size_t privates(const minnet *m, size_t node, size_t from) {
  size_t n = 0;
  for (size_t k = 0; k < m->nlog; k++)
    if (m->log[k].node == node && m->log[k].from == from &&
        m->log[k].kind == CHORUS_MSG_PRIVATE)
      n++;
  return n;
}

/* Bob never learns carol's name while she is in the view: he refuses all
 * she sends him (dave's JOIN view she relays, then a private message).
 * She leaves; the server names her seat to bob during her farewell. Her
 * link is still her boot's: bob takes her frames and delivers the private
 * message (not a restart to admit, its message held behind the relay). */
static void test_leaver_named_in_farewell(void) {
  minnet m;
  slots_net(&m, 4);
  CHECK_EQ(slot_add(&m, 0, 100, 0xC, "alice"), 0);
  CHECK_EQ(slot_add(&m, 1, 101, 0xC, "bob"), 0);
  minnet_run(&m, 300000);
  CHECK_EQ(slot_add(&m, 2, 200, 0x8, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 1000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  CHECK_EQ(slot_add(&m, 3, 300, 0, "dave"), 0);
  for (size_t k = 0; k < 3; k++)
    CHECK_EQ(chorus_peer_set_member(m.peer[k], m.now_us, 3, "dave"), 0);
  minnet_run(&m, 1000000);
  CHECK_EQ(m.last_members[1], 0xF);
  CHECK_EQ(chorus_peer_send_private(m.peer[2], m.now_us, 1, (const uint8_t *)"psst", 4,
                                    NULL), 0);
  CHECK_EQ(chorus_peer_leave(m.peer[2], m.now_us), 0);
  minnet_run(&m, 500000);
  CHECK_EQ(m.last_reason[1], CHORUS_VIEW_LEAVE);
  CHECK_EQ(m.last_members[1], 0xB);
  CHECK_EQ(privates(&m, 1, 2), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 2000000); /* her retransmission timer backed off meanwhile */
  CHECK_EQ(privates(&m, 1, 2), 1);
  CHECK_EQ(m.last_members[1], 0xB); /* not admitted back */
  minnet_free(&m);
}

/* Bob hears the JOIN view of carol but not her name (the server is down):
 * he refuses the private message she sends him, and her link to him backs
 * off. Once he names her, his next HELLO (he has taken nothing of hers
 * yet) makes her send it again at once, not a backed-off RTO later (650
 * ms here): she might stop meanwhile (via-server seed 14242: she left,
 * gave up waiting 3 s after her leave, and the message was never
 * delivered). */
static void test_unnamed_sender_resends_when_named(void) {
  minnet m;
  carol_admitted_unnamed_at_bob(&m);
  minnet_run(&m, 1000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  CHECK_EQ(chorus_peer_send_private(m.peer[2], m.now_us, 1, (const uint8_t *)"psst", 4,
                                    NULL), 0);
  minnet_run(&m, 3000000);
  CHECK_EQ(privates(&m, 1, 2), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 300000);
  CHECK_EQ(privates(&m, 1, 2), 1);
  minnet_free(&m);
}

/* Bob hears the JOIN view that admits carol but is not told her name for
 * longer than a detection takes: her datagrams are refused meanwhile, so
 * his detector must not hold her dead, or he removes her, up, once alice
 * crashes and he coordinates. */
static void test_unnamed_member_not_judged(void) {
  minnet m;
  carol_admitted_unnamed_at_bob(&m);
  minnet_run(&m, 1000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  minnet_run(&m, 3000000); /* more than the fast detector's 1.9 s */
  chorus_peer_free(m.peer[0]); /* alice crashes: bob coordinates */
  m.peer[0] = NULL;
  minnet_run(&m, 4000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 0), 0);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1);
  CHECK_EQ(chorus_peer_in_view(m.peer[2], 1), 1);
  minnet_free(&m);
}

/* Bob hears the JOIN view of carol and sends to her, but is not told her
 * name: her datagrams are refused, yet the ACKs in them (of her boot, to
 * his) are taken. Else his frames to her stay unacknowledged until she is
 * named, and his RTO backs off to its cap: a VIEW he lost then went again
 * only 2 s later (via-server seed 13808: a crash removed that late). */
static void test_unnamed_member_acks_taken(void) {
  minnet m;
  carol_admitted_unnamed_at_bob(&m);
  minnet_run(&m, 1000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  say(&m, 1, "bob speaks");
  minnet_run(&m, 1000000);
  CHECK_EQ(strcmp(chorus_peer_member_name(m.peer[1], 2), ""), 0);
  chorus_link_stats ls;
  CHECK_EQ(chorus_peer_link_stats_get(m.peer[1], 2, &ls), 0);
  CHECK(ls.frames_sent > 0);
  CHECK_EQ(ls.in_flight, 0);
  CHECK_EQ(ls.timeouts, 0);
  minnet_free(&m);
}

/* Bob hears the JOIN view of carol but learns her name only late (his
 * server refreshes were lost); her datagrams reach him meanwhile, refused
 * as a stranger's. Carol crashes, then alice, the coordinator; bob
 * coordinates and must remove carol within the detection bound of her
 * crash (the sweep's 2.58 s): judged from her refused datagrams while
 * unnamed, not afresh from the late naming, nor never while unnamed. */
static void test_unnamed_member_crash_found(void) {
  minnet m;
  carol_admitted_unnamed_at_bob(&m);
  minnet_run(&m, 3000000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 1); /* in, but nameless */
  chorus_peer_free(m.peer[2]); /* carol crashes */
  m.peer[2] = NULL;
  uint64_t crash_us = m.now_us;
  minnet_run(&m, 600000);
  chorus_peer_free(m.peer[0]); /* alice crashes: bob coordinates */
  m.peer[0] = NULL;
  minnet_run(&m, 900000);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 2580000 - 1500000);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 2), 0);
  CHECK_EQ(chorus_peer_in_view(m.peer[1], 0), 0);
  CHECK(m.view_at_us[1] <= crash_us + 2580000);
  minnet_free(&m);
}

/* Bob boots joining with alice listed, but alice never names him; carol,
 * seated after him, is admitted by alice (her cut leaves bob out), then
 * alice crashes and carol coordinates alone. Bob names carol while still
 * waiting for his cut: he must greet her, so that she admits him. */
static void test_newcomer_greets_named_later(void) {
  minnet m;
  slots_net(&m, 3);
  CHECK_EQ(slot_add(&m, 0, 100, 0x6, "alice"), 0);
  minnet_run(&m, 100000);
  chorus_peer_config cfg;
  chorus_peer_config_default(&cfg);
  cfg.self_name = "bob";
  cfg.slots = 1;
  cfg.member_names[0] = "alice";
  cfg.member_names[1] = "bob";
  cfg.member_count = 3;
  cfg.epoch = 101;
  cfg.seed = 1;
  cfg.fd_mode = CHORUS_FD_MODE_FAST;
  cfg.joining = 1;
  CHECK_EQ(chorus_peer_new(&cfg, &m.peer[1]), 0);
  minnet_run(&m, 300000);
  CHECK_EQ(slot_add(&m, 2, 102, 0, "carol"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 1000000);
  CHECK_EQ(m.last_members[2], 0x5);
  minnet_crash(&m, 0);
  minnet_run(&m, 4000000);
  CHECK_EQ(m.last_members[2], 0x4);
  CHECK_EQ(chorus_peer_set_member(m.peer[1], m.now_us, 2, "carol"), 0);
  minnet_run(&m, 2000000);
  CHECK_EQ(m.last_members[1], 0x6);
  CHECK_EQ(m.last_members[2], 0x6);
  size_t mark = m.nlog;
  say(&m, 1, "bob is in");
  minnet_run(&m, 1000000);
  CHECK_EQ(deliveries(&m, 1, 0, mark), 1);
  CHECK_EQ(deliveries(&m, 2, 0, mark), 1);
  minnet_free(&m);
}

static void test_set_member_errors(void) {
  minnet m;
  minnet_init(&m, 2); /* name-ordered ranks: no slots */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, "zed"), CHORUS_ERR_INVAL);
  minnet_free(&m);
  slots_net(&m, 3);
  CHECK_EQ(slot_add(&m, 0, 100, 0x6, "alice"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 0, "zed"), CHORUS_ERR_INVAL); /* self */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 3, "zed"), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, ""), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, "alice"), CHORUS_ERR_INVAL); /* taken */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, "\xff"), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, "zed"), 0);
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 1, "zed"), 0); /* same name again */
  /* zed moves from seat 1 (out of the view) to seat 2 */
  CHECK_EQ(chorus_peer_set_member(m.peer[0], 0, 2, "zed"), 0);
  CHECK_EQ(strcmp(chorus_peer_member_name(m.peer[0], 1), ""), 0);
  CHECK_EQ(chorus_peer_member_index(m.peer[0], "zed"), 2);
  minnet_free(&m);
}

int main(void) {
  RUN(test_newcomer_takes_vacant_slot);
  RUN(test_slot_reused_by_another_user);
  RUN(test_join_view_before_name);
  RUN(test_quick_joins_named_late);
  RUN(test_named_early_then_crash);
  RUN(test_cut_from_seat_vacant_at_boot);
  RUN(test_leaver_named_in_farewell);
  RUN(test_unnamed_member_not_judged);
  RUN(test_unnamed_member_crash_found);
  RUN(test_unnamed_member_acks_taken);
  RUN(test_unnamed_sender_resends_when_named);
  RUN(test_newcomer_greets_named_later);
  RUN(test_set_member_errors);
  return CHECK_SUMMARY();
}
