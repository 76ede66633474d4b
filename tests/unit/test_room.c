/*
 * Room order on a scripted network: causal, total and safe delivery, and
 * agreement when a member crashes with messages only some survivors hold.
 */
#include "check.h"
#include "minnet.h"
#include "room.h"
#include "wire.h"

static int room(minnet *m, size_t from, enum chorus_order order, const char *t) {
  return chorus_peer_send_room(m->peer[from], m->now_us, order,
                               (const uint8_t *)t, strlen(t), NULL);
}

/* The room deliveries of `node`, as (origin, id) pairs packed in uint64. */
static size_t room_log(const minnet *m, size_t node, uint64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t k = 0; k < m->nlog && n < cap; k++)
    if (m->log[k].node == node && m->log[k].kind == CHORUS_MSG_ROOM)
      out[n++] = ((uint64_t)m->log[k].from << 32) | m->log[k].msg_id;
  return n;
}

static void check_same_order(const minnet *m, size_t a, size_t b, size_t want) {
  uint64_t la[256], lb[256];
  size_t na = room_log(m, a, la, 256), nb = room_log(m, b, lb, 256);
  CHECK_EQ(na, want);
  CHECK_EQ(nb, want);
  for (size_t k = 0; k < na && k < nb; k++) CHECK(la[k] == lb[k]);
}

static void test_total_order_concurrent(void) {
  minnet m;
  minnet_init(&m, 4);
  minnet_run(&m, 100000);
  for (int r = 0; r < 5; r++) /* every node sends at the same instant */
    for (size_t i = 0; i < 4; i++) CHECK_EQ(room(&m, i, CHORUS_ORDER_TOTAL, "t"), 0);
  minnet_run(&m, 2000000);
  for (size_t i = 1; i < 4; i++) check_same_order(&m, 0, i, 20);
  minnet_free(&m);
}

/* alice -> carol is slow: carol must still deliver alice's message before
 * bob's reply that depends on it. */
static enum minnet_fate slow_a_to_c(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)k;
  return s == 0 && d == 2 ? MINNET_LATE : MINNET_PASS;
}

static void test_causal_hold_back(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  m.fate = slow_a_to_c;
  room(&m, 0, CHORUS_ORDER_CAUSAL, "question");
  minnet_run(&m, 3000); /* bob has it, carol not yet */
  room(&m, 1, CHORUS_ORDER_CAUSAL, "answer");
  minnet_run(&m, 1000000);
  uint64_t lc[8];
  size_t n = room_log(&m, 2, lc, 8);
  CHECK_EQ(n, 2);
  CHECK(lc[0] == (((uint64_t)0 << 32) | 1)); /* question first */
  CHECK(lc[1] == (((uint64_t)1 << 32) | 1));
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[2], &ps);
  CHECK_EQ(ps.holdback, 0);
  minnet_free(&m);
}

/* Until dave can hear from the sequencer, no safe message may be delivered
 * anywhere: dave does not hold it. */
static enum minnet_fate cut_to_dave(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)s, (void)k;
  return d == 3 ? MINNET_DROP : MINNET_PASS;
}

static void test_safe_waits_for_all(void) {
  minnet m;
  minnet_init(&m, 4);
  minnet_run(&m, 100000);
  m.fate = cut_to_dave;
  room(&m, 1, CHORUS_ORDER_SAFE, "careful");
  minnet_run(&m, 500000);
  uint64_t l[8];
  for (size_t i = 0; i < 4; i++) CHECK_EQ(room_log(&m, i, l, 8), 0);
  m.fate = NULL;
  minnet_run(&m, 5000000);
  for (size_t i = 0; i < 4; i++) CHECK_EQ(room_log(&m, i, l, 8), 1);
  minnet_free(&m);
}

/* The sequencer (alice) forwards a numbered message to bob only, then
 * crashes: carol and dave must deliver it too, in the same order as bob. */
static enum minnet_fate seq_reaches_bob_only(minnet *m, size_t s, size_t d,
                                             uint64_t k) {
  (void)m, (void)k;
  return s == 0 && d != 1 ? MINNET_DROP : MINNET_PASS;
}

static void test_agreement_after_sequencer_crash(void) {
  minnet m;
  minnet_init(&m, 4);
  minnet_run(&m, 100000);
  m.fate = seq_reaches_bob_only;
  room(&m, 0, CHORUS_ORDER_TOTAL, "last words");
  room(&m, 2, CHORUS_ORDER_TOTAL, "from carol");
  minnet_run(&m, 50000);
  uint64_t l[8];
  CHECK_EQ(room_log(&m, 1, l, 8), 2); /* bob delivered both */
  CHECK_EQ(room_log(&m, 2, l, 8), 0);
  minnet_crash(&m, 0);
  m.fate = NULL;
  room(&m, 3, CHORUS_ORDER_TOTAL, "new view");
  minnet_run(&m, 3000000);
  check_same_order(&m, 1, 2, 3);
  check_same_order(&m, 1, 3, 3);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[2], &ps);
  CHECK_EQ(ps.view, 2);
  CHECK_EQ(ps.sequencer, 1); /* bob now numbers messages */
  minnet_free(&m);
}

/* carol's long total message reaches everyone but bob; the sequencer's number
 * for it reaches bob only; then the sequencer crashes. Bob holds the number
 * without the message, carol and dave the message without its number: the
 * flush must bring the number to them (bob relays it) for all to deliver. */
static enum minnet_fate number_and_data_apart(minnet *m, size_t s, size_t d,
                                              uint64_t k) {
  (void)m, (void)k;
  return (s == 2 && d == 1) || (s == 0 && d != 1) ? MINNET_DROP : MINNET_PASS;
}

static void test_number_without_data_relayed(void) {
  minnet m;
  minnet_init(&m, 4);
  minnet_run(&m, 100000);
  m.fate = number_and_data_apart;
  char text[CHORUS_ROOM_BB_MIN_BYTES + 1]; /* long: from its origin to all */
  memset(text, 'a', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  room(&m, 2, CHORUS_ORDER_TOTAL, text);
  minnet_run(&m, 50000);
  uint64_t l[8];
  for (size_t i = 1; i < 4; i++) CHECK_EQ(room_log(&m, i, l, 8), 0);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[1], &ps);
  CHECK_EQ(ps.room_numberings, 1); /* bob: the number alone */
  minnet_crash(&m, 0);
  m.fate = NULL;
  minnet_run(&m, 3000000);
  check_same_order(&m, 1, 2, 1);
  check_same_order(&m, 1, 3, 1);
  chorus_peer_stats_get(m.peer[2], &ps);
  CHECK_EQ(ps.room_numberings, 0);
  CHECK_EQ(ps.room_numberings_full, 0);
  minnet_free(&m);
}

/* dave's fifo message reaches bob only before dave crashes: bob delivered
 * it, so the flush must bring it to alice and carol. */
static enum minnet_fate dave_reaches_bob_only(minnet *m, size_t s, size_t d,
                                              uint64_t k) {
  (void)m, (void)k;
  return s == 3 && d != 1 ? MINNET_DROP : MINNET_PASS;
}

static void test_agreement_after_sender_crash(void) {
  minnet m;
  minnet_init(&m, 4);
  minnet_run(&m, 100000);
  m.fate = dave_reaches_bob_only;
  room(&m, 3, CHORUS_ORDER_FIFO, "half sent");
  minnet_run(&m, 50000);
  uint64_t l[8];
  CHECK_EQ(room_log(&m, 1, l, 8), 1);
  CHECK_EQ(room_log(&m, 0, l, 8), 0);
  minnet_crash(&m, 3);
  m.fate = NULL;
  minnet_run(&m, 3000000);
  for (size_t i = 0; i < 3; i++) CHECK_EQ(room_log(&m, i, l, 8), 1);
  chorus_peer_stats ps;
  chorus_peer_stats_get(m.peer[1], &ps);
  CHECK(ps.room_relayed > 0);
  minnet_free(&m);
}

static void test_stability_collects(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  for (int i = 0; i < 30; i++) room(&m, i % 3, CHORUS_ORDER_TOTAL, "gc");
  minnet_run(&m, 3000000);
  for (size_t i = 0; i < 3; i++) {
    chorus_peer_stats ps;
    chorus_peer_stats_get(m.peer[i], &ps);
    CHECK_EQ(ps.delivered_room, 30);
    CHECK_EQ(ps.stability_lag, 0); /* everything stable and collected */
    CHECK_EQ(ps.retained, 0);
  }
  minnet_free(&m);
}

/* carol -> alice is slow: carol's report reaches the sequencer after the
 * sequencer's ACKs to bob have left. */
static enum minnet_fate slow_c_to_a(minnet *m, size_t s, size_t d, uint64_t k) {
  (void)m, (void)k;
  return s == 2 && d == 0 ? MINNET_LATE : MINNET_PASS;
}

/* A sender stalled at its quota gets its window back within a few report
 * rounds, not state_lazy_us: the last report completes the stability at
 * the sequencer, which then holds nothing unstable itself, yet the
 * members still wait for its announcement, so that leaves early too (no
 * ACK is left to carry it). */
static void test_quota_stall_announced_early(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  m.fate = slow_c_to_a;
  int sent = 0;
  while (room(&m, 1, CHORUS_ORDER_CAUSAL, "q") == 0) sent++;
  CHECK(sent > 0);
  uint64_t t0 = m.now_us;
  while (room(&m, 1, CHORUS_ORDER_CAUSAL, "q") != 0 && m.now_us - t0 < 1000000)
    minnet_run(&m, 1000);
  /* the slow link's 20 ms and a few 1 ms hops; state_lazy_us is 200 ms */
  CHECK(m.now_us - t0 < 50000);
  minnet_free(&m);
}

/* Under slot pressure a stalled sender's round costs only the hops: data
 * to the members, their reports to the sequencer, its announcement back
 * (no report delay on top, which each round used to pay twice). */
static void test_quota_round_hops_only(void) {
  minnet m;
  minnet_init(&m, 3);
  minnet_run(&m, 100000);
  while (room(&m, 1, CHORUS_ORDER_CAUSAL, "q") == 0) {
  }
  uint64_t t0 = m.now_us;
  while (room(&m, 1, CHORUS_ORDER_CAUSAL, "q") != 0 && m.now_us - t0 < 1000000)
    minnet_run(&m, 100);
  CHECK(m.now_us - t0 <= 3 * MINNET_DELAY_US);
  minnet_free(&m);
}

/* A merge delivery is taken once, in its origin's order; a gap (beyond the
 * sender's history) is counted; an older incarnation's is refused. */
static void test_merge_take(void) {
  chorus_room r;
  CHECK_EQ(chorus_room_init(&r, 3, 0, 8, 64, 4), 0);
  r.epoch[1] = 7;
  chorus_room_delivery d = {1, 7, 1, 2, 1, CHORUS_ORDER_TOTAL, (const uint8_t *)"a", 1};
  CHECK_EQ(chorus_room_merge_take(&r, &d), 1);
  CHECK_EQ(chorus_room_merge_take(&r, &d), 0); /* has it already */
  d.count = 4;
  CHECK_EQ(chorus_room_merge_take(&r, &d), 1);
  CHECK_EQ(r.merge_gaps, 2); /* 2 and 3 were beyond the history */
  CHECK_EQ(r.delivered[1], 4);
  d.origin_epoch = 6;
  d.count = 5;
  CHECK_EQ(chorus_room_merge_take(&r, &d), 0); /* an older incarnation */
  d.origin = 0; /* our own, of another epoch than ours (0 here): refused */
  d.origin_epoch = 9;
  CHECK_EQ(chorus_room_merge_take(&r, &d), 0);
  chorus_room_free(&r);
}

/* Encodes the first outbox entry of r into m, and empties the outbox. */
static size_t take_first(chorus_room *r, uint8_t *m, size_t cap) {
  const chorus_room_send *e = chorus_room_outbox_peek(r, 0);
  CHECK(e != NULL);
  int n = e ? chorus_room_encode(r, e, m, cap) : -1;
  CHECK(n > 0);
  while (chorus_room_outbox_count(r) > 0) {
    chorus_room_sent(r, 0, UINT32_MAX);
    chorus_room_outbox_compact(r);
  }
  return n > 0 ? (size_t)n : 0;
}

/* A member that counts the sequencer's held report with its own sees its
 * safe message held by both before the sequencer does (it waits for this
 * member's report): it still waits for the sequencer's announcement, so
 * that it never delivers one of the sequencer's numbering the sequencer
 * has not (a merge absorbing them would renumber it there). */
static void test_safe_waits_for_announcement(void) {
  chorus_room a, c;
  CHECK_EQ(chorus_room_init(&a, 2, 0, 8, 64, 4), 0); /* the sequencer */
  CHECK_EQ(chorus_room_init(&c, 2, 1, 8, 64, 4), 0);
  chorus_room_set_epoch(&c, 5);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX + 64], num[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  uint32_t count;
  chorus_room_delivery d;
  CHECK_EQ(chorus_room_submit(&c, 0, CHORUS_ORDER_SAFE, (const uint8_t *)"xy", 2, 5,
                              &count), 0);
  size_t len = take_first(&c, m, sizeof m);
  CHECK_EQ(chorus_room_on_message(&a, 0, 1, m, len), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 0); /* numbered, not stable at a */
  size_t num_len = take_first(&a, num, sizeof num);
  CHECK_EQ(chorus_room_on_message(&c, 0, 0, num, num_len), 0);
  uint32_t held[2] = {0, 1}, none[2] = {0, 0}, announced[2] = {0, 1};
  chorus_room_on_state(&c, 0, a.view, held, none, 2);
  CHECK_EQ(c.stable[1], 1); /* held by both, as c counts it */
  CHECK_EQ(chorus_room_deliver(&c, 0, &d), 0); /* but not announced */
  chorus_room_on_state(&c, 0, a.view, held, announced, 2);
  CHECK_EQ(chorus_room_deliver(&c, 0, &d), 1);
  CHECK_EQ(d.count, 1);
  chorus_room_free(&a);
  chorus_room_free(&c);
}

/* Three rooms of n members: a (rank 0, the sequencer), b (rank 2) and c
 * (rank 1, epoch 5), and c's first two total messages ("xy"), taken from
 * its outbox unnumbered. */
typedef struct two_msgs {
  chorus_room a, b, c;
  uint8_t m[2][CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  size_t len[2];
} two_msgs;

static void two_msgs_init(two_msgs *t, size_t n) {
  CHECK_EQ(chorus_room_init(&t->a, n, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&t->b, n, 2, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&t->c, n, 1, 8, 64, 4), 0);
  chorus_room_set_epoch(&t->c, 5);
  uint32_t count;
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(chorus_room_submit(&t->c, 0, CHORUS_ORDER_TOTAL, (const uint8_t *)"xy", 2, 5,
                                &count), 0);
    t->len[k] = take_first(&t->c, t->m[k], sizeof t->m[k]);
  }
}

static void two_msgs_free(two_msgs *t) {
  chorus_room_free(&t->a);
  chorus_room_free(&t->b);
  chorus_room_free(&t->c);
}

/* After a merge, a member may have delivered a message (here as merge
 * history) before the sequencer's number for it arrives: the number is
 * stepped over, and the next numbered message is delivered. */
static void test_number_of_delivered_stepped_over(void) {
  two_msgs t;
  two_msgs_init(&t, 3);
  uint8_t seq1[CHORUS_ROOM_CTRL_BYTES_MAX + 64], seq2[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  chorus_room_delivery d;
  CHECK_EQ(chorus_room_on_message(&t.a, 0, 1, t.m[0], t.len[0]), 0);
  CHECK_EQ(chorus_room_deliver(&t.a, 0, &d), 1); /* numbered 1, delivered */
  size_t seq1_len = take_first(&t.a, seq1, sizeof seq1);
  chorus_room_delivery h = {1, 5, 1, t.a.view, 1, CHORUS_ORDER_TOTAL, (const uint8_t *)"xy", 2};
  CHECK_EQ(chorus_room_merge_take(&t.b, &h), 1); /* b has it before its number */
  CHECK_EQ(chorus_room_on_message(&t.b, 0, 0, seq1, seq1_len), 0);
  CHECK_EQ(chorus_room_on_message(&t.a, 0, 1, t.m[1], t.len[1]), 0);
  CHECK_EQ(chorus_room_deliver(&t.a, 0, &d), 1); /* numbered 2 */
  size_t seq2_len = take_first(&t.a, seq2, sizeof seq2);
  CHECK_EQ(chorus_room_on_message(&t.b, 0, 0, seq2, seq2_len), 0);
  CHECK_EQ(chorus_room_deliver(&t.b, 0, &d), 1);
  CHECK_EQ(d.count, 2);
  CHECK_EQ(d.seq, 2);
  two_msgs_free(&t);
}

/* A member may hold a copy of a message, unnumbered, that a merge's relay
 * still names (so the slot stays), when the other side's history delivers
 * it; the sequencer's forward of it with its number comes after: the copy
 * takes that number, which is stepped over, and the next numbered message
 * is delivered (a copy kept was once taken for one that knows its number,
 * and the forward dropped: the room's delivery stopped there). */
static void test_number_of_delivered_kept_copy(void) {
  two_msgs t;
  two_msgs_init(&t, 4);
  uint8_t num[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  size_t num_len;
  chorus_room_delivery d;
  /* Rank 3 stands on another side; a and b absorb it: b relays what it
   * holds, c's first among it. */
  chorus_room_set_members(&t.a, 7);
  chorus_room_set_members(&t.b, 7);
  CHECK_EQ(chorus_room_on_message(&t.b, 0, 1, t.m[0], t.len[0]), 0);
  CHECK_EQ(chorus_room_merge(&t.a, 8, 2, 0, 3), 0);
  CHECK_EQ(chorus_room_merge(&t.b, 8, 2, 0, 3), 0);
  CHECK(chorus_room_outbox_count(&t.b) > 0); /* the relay, not sent yet */
  chorus_room_delivery h = {1, 5, 1, 1, 0, CHORUS_ORDER_TOTAL, (const uint8_t *)"xy", 2};
  CHECK_EQ(chorus_room_merge_take(&t.b, &h), 1);
  while (chorus_room_outbox_count(&t.a) > 0) {
    chorus_room_sent(&t.a, 0, UINT32_MAX);
    chorus_room_outbox_compact(&t.a);
  }
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(chorus_room_on_message(&t.a, 0, 1, t.m[k], t.len[k]), 0);
    CHECK_EQ(chorus_room_deliver(&t.a, 0, &d), 1); /* numbered k + 1, forwarded */
    num_len = take_first(&t.a, num, sizeof num);
    CHECK_EQ(chorus_room_on_message(&t.b, 0, 0, num, num_len), 0);
  }
  CHECK_EQ(chorus_room_deliver(&t.b, 0, &d), 1);
  CHECK_EQ(d.count, 2);
  CHECK_EQ(d.seq, 2);
  two_msgs_free(&t);
}

/* Rank `from`'s FLUSH_DONE for r's current view. */
static void flush_done_from(chorus_room *r, size_t from) {
  uint8_t ctrl[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_FLUSH_DONE};
  chorus_wire_put_u32(ctrl + 1, r->view);
  CHECK_EQ(chorus_room_on_control(r, from, ctrl, sizeof ctrl), 0);
}

/* A member still flushing may get, from a sequencer that finished the
 * same flush sooner, the number (under the new view) of a message it
 * delivered already (as merge history): it keeps that number, steps over
 * it once its flush completes, and delivers the next one. */
static void test_number_of_delivered_during_flush(void) {
  two_msgs t;
  two_msgs_init(&t, 4);
  uint8_t num[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  size_t num_len;
  chorus_room_delivery d;
  chorus_room_delivery h = {1, 5, 1, t.b.view, 0, CHORUS_ORDER_TOTAL, (const uint8_t *)"xy", 2};
  CHECK_EQ(chorus_room_merge_take(&t.b, &h), 1); /* b has c's first already */
  /* Rank 3 is removed: a's flush completes first, b's is still on. */
  CHECK_EQ(chorus_room_remove(&t.a, 3), 0);
  flush_done_from(&t.a, 1);
  flush_done_from(&t.a, 2);
  CHECK_EQ(t.a.flushing, 0);
  while (chorus_room_outbox_count(&t.a) > 0) {
    chorus_room_sent(&t.a, 0, UINT32_MAX);
    chorus_room_outbox_compact(&t.a);
  }
  CHECK_EQ(chorus_room_remove(&t.b, 3), 0);
  CHECK_EQ(t.b.flushing, 1);
  CHECK_EQ(chorus_room_on_message(&t.a, 0, 1, t.m[0], t.len[0]), 0);
  CHECK_EQ(chorus_room_deliver(&t.a, 0, &d), 1); /* numbered 1 under the new view */
  num_len = take_first(&t.a, num, sizeof num);
  CHECK_EQ(chorus_room_on_message(&t.b, 0, 0, num, num_len), 0);
  flush_done_from(&t.b, 0);
  flush_done_from(&t.b, 1);
  CHECK_EQ(t.b.flushing, 0);
  CHECK_EQ(chorus_room_on_message(&t.a, 0, 1, t.m[1], t.len[1]), 0);
  CHECK_EQ(chorus_room_deliver(&t.a, 0, &d), 1); /* numbered 2 */
  num_len = take_first(&t.a, num, sizeof num);
  CHECK_EQ(chorus_room_on_message(&t.b, 0, 0, num, num_len), 0);
  CHECK_EQ(chorus_room_deliver(&t.b, 0, &d), 1);
  CHECK_EQ(d.count, 2);
  CHECK_EQ(d.seq, 2);
  two_msgs_free(&t);
}

/* A copy of a removed origin's message past what the flush that removed
 * it kept, coming after the flush (a relay that waited in a link frozen at
 * a removal, resumed at a merge), is dropped: the other survivors dropped
 * that message at the flush. During the flush such a relay is taken. */
static void test_copy_past_gone_end_dropped(void) {
  chorus_room a, b, c;
  CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 3, 2, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&c, 3, 1, 8, 64, 4), 0);
  chorus_room_set_epoch(&c, 5);
  uint8_t m[2][CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  size_t len[2];
  uint32_t count;
  chorus_room_delivery d;
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(chorus_room_submit(&c, 0, CHORUS_ORDER_FIFO, (const uint8_t *)"xy", 2, 5, &count), 0);
    len[k] = take_first(&c, m[k], sizeof m[k]);
  }
  CHECK_EQ(chorus_room_on_message(&a, 0, 1, m[0], len[0]), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 1);
  CHECK_EQ(chorus_room_remove(&a, 1), 0);
  flush_done_from(&a, 2);
  CHECK_EQ(a.flushing, 0);
  CHECK_EQ(chorus_room_on_message(&a, 0, 2, m[1], len[1]), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 0); /* past the cut: never delivered */
  CHECK_EQ(a.delivered[1], 1);
  CHECK_EQ(chorus_room_remove(&b, 1), 0); /* b, flushing, takes the relay */
  CHECK_EQ(chorus_room_on_message(&b, 0, 0, m[0], len[0]), 0);
  CHECK_EQ(chorus_room_on_message(&b, 0, 0, m[1], len[1]), 0);
  CHECK_EQ(chorus_room_deliver(&b, 0, &d), 1);
  CHECK_EQ(chorus_room_deliver(&b, 0, &d), 1);
  CHECK_EQ(d.count, 2);
  chorus_room_free(&a);
  chorus_room_free(&b);
  chorus_room_free(&c);
}

/* MERGE_STATE is decoded totally: length, type, ranks, members. */
static void test_merge_state_rejects(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 3, 2, 8, 64, 4), 0);
  a.alive = 0x3; /* {0, 1} absorbs {2} */
  b.alive = 0x4;
  CHECK_EQ(chorus_room_merge(&a, 0x4, 5, CHORUS_ROOM_MERGE_STATE, 2), 0);
  CHECK_EQ(chorus_room_merge(&a, 0x4, 6, CHORUS_ROOM_MERGE_STATE, 2), CHORUS_ERR_INVAL);
  const chorus_room_send *e = chorus_room_outbox_peek(&a, 0);
  CHECK(e != NULL);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = chorus_room_encode(&a, e, m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_MERGE_STATE_BYTES(3));
  uint32_t added;
  size_t y;
  CHECK_EQ(chorus_room_on_merge_state(&b, m, (size_t)n - 1, &added, &y), CHORUS_ERR_BAD_FRAME);
  m[23 + 8 * 3] = 3; /* y_coord out of range */
  CHECK_EQ(chorus_room_on_merge_state(&b, m, (size_t)n, &added, &y), CHORUS_ERR_BAD_FRAME);
  m[23 + 8 * 3] = 2;
  CHECK_EQ(chorus_room_on_merge_state(&b, m, (size_t)n, &added, &y), 0);
  CHECK_EQ(added, 0x3);
  CHECK_EQ(y, 2);
  CHECK_EQ(b.view, 5);
  CHECK_EQ(b.alive, 0x7);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* Rank 3 was removed on both sides. The absorbing side's flush kept its
 * messages up to 2 (its coordinator had delivered 1 of them when it
 * absorbed), the absorbed side's up to 1: the absorbed member takes 2 as
 * the end, so X's relay of message 2 is not dropped as past the end
 * (swarm seed 30922: it was, and nobody here could step over its number). */
static void test_merge_state_carries_gone_end(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 4, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 4, 2, 8, 64, 4), 0);
  a.alive = 0x3; /* {0, 1} absorbs {2} */
  b.alive = 0x4;
  a.gone_end[3] = 2;
  a.delivered[3] = 1;
  b.gone_end[3] = 1;
  CHECK_EQ(chorus_room_merge(&a, 0x4, 5, CHORUS_ROOM_MERGE_STATE, 2), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = chorus_room_encode(&a, chorus_room_outbox_peek(&a, 0), m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_MERGE_STATE_BYTES(4));
  uint32_t added;
  size_t y;
  CHECK_EQ(chorus_room_on_merge_state(&b, m, n > 0 ? (size_t)n : 0, &added, &y), 0);
  CHECK_EQ(b.gone_end[3], 2);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* A member of the absorbed side may get, before its MERGE_STATE, the
 * FLUSH_DONE of a side-mate that installed the merge sooner and then a
 * removal: installing the merge keeps it, as it is not sent again, and
 * the flush of that removal completes here without it. */
static void test_merge_state_keeps_later_flush_done(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 4, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 4, 1, 8, 64, 4), 0);
  a.alive = 0x1; /* {0} absorbs {1, 2, 3} */
  b.alive = 0xe;
  CHECK_EQ(chorus_room_merge(&a, 0xe, 5, CHORUS_ROOM_MERGE_STATE, 1), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = chorus_room_encode(&a, chorus_room_outbox_peek(&a, 0), m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_MERGE_STATE_BYTES(4));
  uint8_t done6[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_FLUSH_DONE};
  chorus_wire_put_u32(done6 + 1, 6);
  CHECK_EQ(chorus_room_on_control(&b, 3, done6, sizeof done6), 0); /* rank 3 removed 2 */
  uint32_t added;
  size_t y;
  CHECK_EQ(chorus_room_on_merge_state(&b, m, n > 0 ? (size_t)n : 0, &added, &y), 0);
  CHECK_EQ(chorus_room_remove(&b, 2), 0);
  CHECK_EQ(b.view, 6);
  CHECK_EQ(b.flushing, 1);
  flush_done_from(&b, 0);
  CHECK_EQ(b.flushing, 0);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* The JOIN_STATE in r's outbox, encoded into m[0..cap): its length, or -1. */
static int join_state_of(const chorus_room *r, uint8_t *m, size_t cap) {
  for (size_t i = 0; i < chorus_room_outbox_count(r); i++) {
    int k = chorus_room_encode(r, chorus_room_outbox_peek(r, i), m, cap);
    if (k > 0 && m[0] == CHORUS_ROOM_CTRL_JOIN_STATE) return k;
  }
  return -1;
}

/* A newcomer's cut carries the coordinator's causal past: a history
 * message (sent without its vector clock) may depend on more than the
 * coordinator delivered (a fifo one is delivered without waiting), and the
 * newcomer's own messages depend on it too. */
static void test_join_state_carries_past(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 3, 1, 8, 64, 4), 0);
  a.delivered[2] = 4;
  a.past[2] = 5; /* a fifo message delivered here followed 2's #5 */
  CHECK_EQ(chorus_room_join_resend(&a, 1), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = join_state_of(&a, m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_JOIN_STATE_BYTES(3));
  b.awaiting_cut = 1;
  CHECK_EQ(chorus_room_on_join_state(&b, m, (size_t)n), 0);
  CHECK_EQ(b.delivered[2], 4);
  CHECK_EQ(b.past[2], 5);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* A newcomer that removed members on its own while it waited (its boot
 * listed one the room had not admitted yet) takes the cut's ordering
 * epoch, not the higher one it counted: a view change after that one
 * would else wait forever for FLUSH_DONEs of an epoch nobody else
 * reaches. */
static void test_join_state_sets_view(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 4, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 4, 1, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_remove(&a, 3), 0); /* the room's removal */
  b.awaiting_cut = 1;
  CHECK_EQ(chorus_room_remove(&b, 3), 0);
  CHECK_EQ(chorus_room_remove(&b, 2), 0); /* not admitted yet, in b's boot */
  CHECK_EQ(b.view, a.view + 1);
  CHECK_EQ(chorus_room_join_resend(&a, 1), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = join_state_of(&a, m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_JOIN_STATE_BYTES(4));
  CHECK_EQ(chorus_room_on_join_state(&b, m, (size_t)n), 0);
  CHECK_EQ(b.view, a.view);
  CHECK_EQ(b.alive, a.alive);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* A cut whose coordinator gave a number it has not delivered owes the
 * newcomer that message (the relays behind the cut bring it): until it is
 * held, the newcomer neither numbers (as sequencer) nor resends the cut. */
static void test_cut_owes_numbered_message(void) {
  for (uint32_t assigned = 3; assigned <= 4; assigned++) {
    chorus_room a, b;
    CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
    CHECK_EQ(chorus_room_init(&b, 3, 1, 8, 64, 4), 0);
    a.next_seq = 4; /* 1..3 delivered */
    a.seq_assigned = assigned;
    CHECK_EQ(chorus_room_join_resend(&a, 1), 0);
    uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
    int n = join_state_of(&a, m, sizeof m);
    CHECK_EQ(n, (int)CHORUS_ROOM_JOIN_STATE_BYTES(3));
    b.awaiting_cut = 1;
    CHECK_EQ(chorus_room_on_join_state(&b, m, (size_t)n), 0);
    CHECK_EQ(chorus_room_numbers_held(&b), assigned == 3);
    chorus_room_free(&a);
    chorus_room_free(&b);
  }
}

/* Hands every outbox entry of `from` to the rooms of `to` (by rank; NULL:
 * lost) that its mask names: room messages, the cut, FLUSH_DONE, ORDER and
 * JOINED (history is not needed here: the cut counts it delivered). */
static void route(chorus_room *from, chorus_room **to) {
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX + 1024];
  for (size_t i = 0; i < chorus_room_outbox_count(from); i++) {
    const chorus_room_send *e = chorus_room_outbox_peek(from, i);
    int n = chorus_room_encode(from, e, m, sizeof m);
    CHECK(n > 0);
    for (size_t k = 0; n > 0 && k < from->n; k++) {
      if (!(e->mask & (1u << k)) || !to[k] || e->slot <= -2) continue;
      if (e->slot >= 0)
        CHECK_EQ(chorus_room_on_message(to[k], 0, from->self, m, (size_t)n), 0);
      else if (m[0] == CHORUS_ROOM_CTRL_JOIN_STATE)
        CHECK_EQ(chorus_room_on_join_state(to[k], m, (size_t)n), 0);
      else
        CHECK_EQ(chorus_room_on_control(to[k], from->self, m, (size_t)n), 0);
    }
  }
  while (chorus_room_outbox_count(from) > 0) {
    chorus_room_sent(from, 0, UINT32_MAX);
    chorus_room_outbox_compact(from);
  }
}

/* c's long total message reaches only a (sequencer and coordinator),
 * which delivers it; b gets its number alone. a admits d, whose cut counts
 * the message delivered (d has it as history). Then a and c crash: d is
 * the only survivor that has the message, and the only one that delivered
 * it, so it must have kept it (the relay a sent after the cut) and relay
 * it in the flush for b to deliver it too. */
static void test_newcomer_relays_unstable_history(void) {
  chorus_room r[4]; /* a, b, c, d */
  for (size_t k = 0; k < 4; k++) CHECK_EQ(chorus_room_init(&r[k], 4, k, 8, 1024, 4), 0);
  chorus_room_set_epoch(&r[2], 5);
  chorus_room_set_epoch(&r[3], 9);
  for (size_t k = 0; k < 3; k++) chorus_room_set_members(&r[k], 0x7);
  r[3].awaiting_cut = 1;
  chorus_room *to_a[4] = {&r[0], NULL, NULL, NULL}, *to_bc[4] = {NULL, &r[1], &r[2], NULL},
              *to_d[4] = {NULL, NULL, NULL, &r[3]}, *to_bd[4] = {NULL, &r[1], NULL, &r[3]};
  uint8_t text[CHORUS_ROOM_BB_MIN_BYTES];
  memset(text, 'x', sizeof text);
  uint32_t count;
  chorus_room_delivery dl;
  CHECK_EQ(chorus_room_submit(&r[2], 0, CHORUS_ORDER_TOTAL, text, sizeof text, 5, &count), 0);
  route(&r[2], to_a);
  CHECK_EQ(chorus_room_deliver(&r[0], 0, &dl), 1); /* numbered 1 and delivered */
  route(&r[0], to_bc); /* the ORDER frame */
  CHECK_EQ(r[1].numberings_count, 1);
  CHECK_EQ(chorus_room_join(&r[0], 3, 9, 1, 1, 0), 0);
  route(&r[0], to_d); /* the cut, then the relay of the unstable message */
  CHECK_EQ(r[3].delivered[2], 1);
  CHECK_EQ(chorus_room_join(&r[1], 3, 9, 1, 0, 0), 0);
  route(&r[1], to_d);
  for (size_t k = 1; k < 4; k += 2) { /* a and c crash */
    CHECK_EQ(chorus_room_remove(&r[k], 0), 0);
    CHECK_EQ(chorus_room_remove(&r[k], 2), 0);
  }
  route(&r[3], to_bd);
  route(&r[1], to_bd);
  CHECK_EQ(r[1].flushing, 0);
  CHECK_EQ(r[3].flushing, 0);
  CHECK_EQ(chorus_room_deliver(&r[1], 0, &dl), 1);
  CHECK_EQ(dl.origin, 2);
  CHECK_EQ(dl.count, 1);
  CHECK_EQ(chorus_room_deliver(&r[3], 0, &dl), 0); /* not twice */
  for (size_t k = 0; k < 4; k++) chorus_room_free(&r[k]);
}

/* A room message of n members built by hand (room.h's layout): `origin`'s
 * message `count` (incarnation 9), numbered `seq` of view 1 if not 0, that
 * depends on nothing but its origin's earlier ones. */
static size_t raw_msg(uint8_t *m, size_t n, size_t origin, uint8_t order, uint32_t count,
                      uint32_t seq) {
  m[0] = (uint8_t)origin;
  m[1] = order;
  chorus_wire_put_u32(m + 2, 9);
  chorus_wire_put_u32(m + 6, count);
  chorus_wire_put_u32(m + 10, seq ? 1 : 0);
  chorus_wire_put_u32(m + 14, seq);
  m[18] = (uint8_t)n;
  chorus_wire_put_u32(m + 19, 0); /* epochs digest: matches no room's */
  for (size_t k = 0; k < n; k++) chorus_wire_put_u32(m + 23 + 4 * k, k == origin ? count - 1 : 0);
  m[23 + 4 * n] = 'x';
  return CHORUS_ROOM_HDR_BYTES(n) + 1;
}

/* With slots short, a short message the sequencer forwards is taken while
 * its origin fills less than its quota here, though its origin's earlier
 * (long) one is missing: the sequencer's link carries the coordinator's
 * VIEW behind it, and only the flush that VIEW starts can bring the
 * missing one if its origin crashed. From another member's link it
 * waits, and so it does from the sequencer's once its origin fills its
 * quota. */
static void test_forwarded_taken_within_quota(void) {
  chorus_room x; /* rank 2 of 4; 8 slots: quota 2, reserve 2 */
  CHECK_EQ(chorus_room_init(&x, 4, 2, 8, 64, 4), 0);
  uint8_t m[CHORUS_ROOM_HDR_BYTES_MAX + 1];
  for (uint32_t c = 2; c <= 6; c++) /* rank 3's, all waiting for its first */
    CHECK_EQ(chorus_room_on_message(&x, 0, 3, m, raw_msg(m, 4, 3, CHORUS_ORDER_FIFO, c, 0)), 0);
  CHECK_EQ(chorus_room_on_message(&x, 0, 0, m, raw_msg(m, 4, 1, CHORUS_ORDER_TOTAL, 3, 2)), 0);
  size_t len = raw_msg(m, 4, 1, CHORUS_ORDER_TOTAL, 2, 1); /* rank 1's first is missing */
  CHECK_EQ(chorus_room_wants(&x, 3, m, len), 0);
  CHECK_EQ(chorus_room_wants(&x, 0, m, len), 1);
  uint8_t m4[CHORUS_ROOM_HDR_BYTES_MAX + 1];
  CHECK_EQ(chorus_room_on_message(&x, 0, 0, m4, raw_msg(m4, 4, 1, CHORUS_ORDER_TOTAL, 4, 3)), 0);
  CHECK_EQ(chorus_room_wants(&x, 0, m, len), 0); /* rank 1 fills its quota here */
  chorus_room_free(&x);
}

/* r's STABLE frame: stable counts st[0..n) (announced up to ann[0..n) in
 * ordering view `ord`), held by `covered`, with r's own idea of each
 * rank's incarnation unless `epoch_off` shifts one. */
static size_t stable_frame_ann(const chorus_room *r, uint8_t *m, uint32_t covered,
                               const uint32_t *st, size_t epoch_off, const uint32_t *ann,
                               uint32_t ord) {
  m[0] = CHORUS_ROOM_CTRL_STABLE;
  chorus_wire_put_u32(m + 1, covered);
  m[5] = (uint8_t)r->n;
  for (size_t k = 0; k < r->n; k++) {
    chorus_wire_put_u32(m + 6 + 4 * k, st[k]);
    chorus_wire_put_u32(m + 6 + 4 * (r->n + k), r->epoch[k] + (k == epoch_off));
    chorus_wire_put_u32(m + 10 + 4 * (2 * r->n + k), ann ? ann[k] : 0);
  }
  chorus_wire_put_u32(m + 6 + 8 * r->n, ord);
  return CHORUS_ROOM_STABLE_BYTES(r->n);
}

static size_t stable_frame(const chorus_room *r, uint8_t *m, uint32_t covered,
                           const uint32_t *st, size_t epoch_off) {
  return stable_frame_ann(r, m, covered, st, epoch_off, NULL, r->ord_view);
}

/* A survivor's STABLE raises this member's stable counts, so it frees the
 * delivered messages the origins count stable before the flush's relays
 * come: only from a view that holds every member of ours (same
 * incarnations), never beyond what this member holds. A removal sends it
 * ahead of the relays, with the view it leaves. */
static void test_stable_frame_frees_slots(void) {
  chorus_room y; /* rank 2 of 3 */
  CHECK_EQ(chorus_room_init(&y, 3, 2, 8, 64, 4), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  chorus_room_delivery d;
  for (uint32_t c = 1; c <= 2; c++) {
    CHECK_EQ(chorus_room_on_message(&y, 0, 1, m, raw_msg(m, 3, 1, CHORUS_ORDER_FIFO, c, 0)), 0);
    CHECK_EQ(chorus_room_deliver(&y, 0, &d), 1);
  }
  chorus_room_stats rs;
  chorus_room_stats_get(&y, &rs);
  CHECK_EQ(rs.retained, 2); /* delivered, not known stable */
  uint32_t st[3] = {0, 5, 0}; /* rank 1's: past what y holds */
  CHECK_EQ(chorus_room_on_control(&y, 0, m, stable_frame(&y, m, 3, st, 9)), 0);
  CHECK_EQ(y.stable[1], 0); /* rank 2 is not among those that hold them */
  CHECK_EQ(chorus_room_on_control(&y, 0, m, stable_frame(&y, m, 7, st, 1)), 0);
  CHECK_EQ(y.stable[1], 0); /* another incarnation of rank 1 holds them */
  CHECK_EQ(chorus_room_on_control(&y, 0, m, stable_frame(&y, m, 7, st, 9) - 1),
           CHORUS_ERR_BAD_FRAME);
  CHECK_EQ(chorus_room_on_control(&y, 0, m, stable_frame(&y, m, 7, st, 9)), 0);
  CHECK_EQ(y.stable[1], 2); /* not beyond what y holds */
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0);
  chorus_room_stats_get(&y, &rs);
  CHECK_EQ(rs.retained, 0);
  CHECK_EQ(chorus_room_remove(&y, 0), 0);
  const chorus_room_send *e = chorus_room_outbox_peek(&y, 0);
  CHECK(e != NULL && e->ctrl_len == CHORUS_ROOM_STABLE_BYTES(3));
  if (e && e->ctrl_len == CHORUS_ROOM_STABLE_BYTES(3)) {
    CHECK_EQ(e->ctrl[0], CHORUS_ROOM_CTRL_STABLE);
    CHECK_EQ(chorus_wire_get_u32(e->ctrl + 1), 7); /* the view it leaves */
    CHECK_EQ(chorus_wire_get_u32(e->ctrl + 6 + 4), 2);
    CHECK_EQ(e->mask, 1u << 1);
  }
  chorus_room_free(&y);
}

/* A member held crashed by a verdict is certain to be removed: a delivered
 * message every other member holds has its slot freed before the removal
 * (its stale reports kept flush relays in every slot, swarm seed 12660),
 * yet does not count stable (safe delivery and STABLE wait). */
static void test_dead_member_frees_slots(void) {
  chorus_room y; /* rank 2 of 3 */
  CHECK_EQ(chorus_room_init(&y, 3, 2, 8, 64, 4), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  chorus_room_delivery d;
  for (uint32_t c = 1; c <= 2; c++) {
    CHECK_EQ(chorus_room_on_message(&y, 0, 1, m, raw_msg(m, 3, 1, CHORUS_ORDER_FIFO, c, 0)), 0);
    CHECK_EQ(chorus_room_deliver(&y, 0, &d), 1);
  }
  uint32_t held[3] = {0, 2, 0}, none[3] = {0, 0, 0};
  chorus_room_on_state(&y, 0, y.view, held, none, 3);
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0);
  chorus_room_stats rs;
  chorus_room_stats_get(&y, &rs);
  CHECK_EQ(rs.retained, 2); /* rank 1 has not reported them */
  chorus_room_set_dead(&y, 1u << 0);
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0);
  chorus_room_stats_get(&y, &rs);
  CHECK_EQ(rs.retained, 2); /* rank 1, alive, still may lack them */
  chorus_room_set_dead(&y, 1u << 1);
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0);
  chorus_room_stats_get(&y, &rs);
  CHECK_EQ(rs.retained, 0);
  CHECK_EQ(y.stable[1], 0);
  chorus_room_free(&y);
}

/* A member that missed the sequencer's announcements holds safe messages
 * that every member holds (their origins freed their quotas on it) and
 * that it cannot deliver: no quota bounds them, and they can fill the
 * slots the flush's relays need, the next VIEW waiting behind a relay
 * (swarm seed 30208). A survivor's STABLE carries what the sequencer
 * announced to it: taken in the same ordering view only, it lets the
 * member deliver them. A removal's STABLE carries this member's own. */
static void test_stable_frame_carries_announcement(void) {
  chorus_room y; /* rank 2 of 3; rank 0 sequences */
  CHECK_EQ(chorus_room_init(&y, 3, 2, 8, 64, 4), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  chorus_room_delivery d;
  CHECK_EQ(chorus_room_on_message(&y, 0, 0, m, raw_msg(m, 3, 1, CHORUS_ORDER_SAFE, 1, 1)), 0);
  uint32_t held[3] = {0, 1, 0}, none[3] = {0, 0, 0};
  chorus_room_on_state(&y, 0, y.view, held, none, 3);
  chorus_room_on_state(&y, 1, y.view, held, none, 3);
  CHECK_EQ(y.stable[1], 1); /* held by all, as y counts it */
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0); /* but never announced */
  uint32_t ann[3] = {0, 1, 0};
  CHECK_EQ(chorus_room_on_control(&y, 1, m, stable_frame_ann(&y, m, 7, held, 9, ann,
                                                             y.ord_view + 1)), 0);
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 0); /* another ordering's */
  CHECK_EQ(chorus_room_on_control(&y, 1, m, stable_frame_ann(&y, m, 7, held, 9, ann,
                                                             y.ord_view)), 0);
  CHECK_EQ(chorus_room_deliver(&y, 0, &d), 1);
  CHECK_EQ(d.origin, 1);
  CHECK_EQ(d.count, 1);
  CHECK_EQ(chorus_room_remove(&y, 0), 0);
  const chorus_room_send *e = chorus_room_outbox_peek(&y, 0);
  CHECK(e != NULL && e->ctrl_len == CHORUS_ROOM_STABLE_BYTES(3));
  if (e && e->ctrl_len == CHORUS_ROOM_STABLE_BYTES(3)) {
    CHECK_EQ(e->ctrl[0], CHORUS_ROOM_CTRL_STABLE);
    CHECK_EQ(chorus_wire_get_u32(e->ctrl + 6 + 8 * 3), 1); /* ordering view 1 */
    CHECK_EQ(chorus_wire_get_u32(e->ctrl + 10 + 4 * (2 * 3 + 1)), 1);
  }
  chorus_room_free(&y);
}

/* A newcomer admitted afresh before it settled drops the first cut whole,
 * its own counts too: they are what the first coordinator had of its
 * earlier incarnation, and the second history brings those messages again
 * (a second cut that counts fewer of them must be taken as it is). */
static void test_rollback_forgets_own_counts(void) {
  chorus_room a, b;
  CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&b, 3, 1, 8, 64, 4), 0);
  chorus_room_set_epoch(&b, 9);
  a.delivered[1] = 3; /* three of b's earlier incarnation */
  CHECK_EQ(chorus_room_join_resend(&a, 1), 0);
  uint8_t m[CHORUS_ROOM_CTRL_BYTES_MAX];
  int n = join_state_of(&a, m, sizeof m);
  CHECK_EQ(n, (int)CHORUS_ROOM_JOIN_STATE_BYTES(3));
  b.awaiting_cut = 1;
  CHECK_EQ(chorus_room_on_join_state(&b, m, (size_t)n), 0);
  CHECK_EQ(b.delivered[1], 3);
  chorus_room_cut_rollback(&b);
  CHECK_EQ(b.delivered[1], 0);
  CHECK_EQ(b.held[1], 0);
  chorus_room_free(&a);
  CHECK_EQ(chorus_room_init(&a, 3, 2, 8, 64, 4), 0); /* the next coordinator */
  a.delivered[1] = 2;
  CHECK_EQ(chorus_room_join_resend(&a, 1), 0);
  n = join_state_of(&a, m, sizeof m);
  CHECK_EQ(chorus_room_on_join_state(&b, m, (size_t)n), 0);
  CHECK_EQ(b.delivered[1], 2);
  chorus_room_free(&a);
  chorus_room_free(&b);
}

/* Rank 2's causal message depends on rank 1's #2, which only crashed
 * members had; 1 restarts, numbering from 2. A survivor whose flush of
 * 2's removal ends first drops the message there (drop_unreachable); one
 * that learns 1's first count before its flush ends must drop it too, not
 * forget the dependency and deliver it. */
static void test_orphan_dep_of_removed_origin_dropped(void) {
  chorus_room a, x, c;
  CHECK_EQ(chorus_room_init(&a, 4, 0, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&x, 4, 1, 8, 64, 4), 0);
  CHECK_EQ(chorus_room_init(&c, 4, 2, 8, 64, 4), 0);
  chorus_room_set_epoch(&x, 5);
  chorus_room_set_epoch(&c, 6);
  uint8_t mx[2][CHORUS_ROOM_CTRL_BYTES_MAX + 64], mc[CHORUS_ROOM_CTRL_BYTES_MAX + 64];
  size_t lx[2];
  uint32_t count;
  chorus_room_delivery d;
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(chorus_room_submit(&x, 0, CHORUS_ORDER_FIFO, (const uint8_t *)"xy", 2, 5, &count), 0);
    lx[k] = take_first(&x, mx[k], sizeof mx[k]);
    CHECK_EQ(chorus_room_on_message(&c, 0, 1, mx[k], lx[k]), 0);
    CHECK_EQ(chorus_room_deliver(&c, 0, &d), 1);
  }
  CHECK_EQ(chorus_room_submit(&c, 0, CHORUS_ORDER_CAUSAL, (const uint8_t *)"zz", 2, 6, &count), 0);
  size_t lc = take_first(&c, mc, sizeof mc);
  CHECK_EQ(chorus_room_on_message(&a, 0, 1, mx[0], lx[0]), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 1);
  CHECK_EQ(chorus_room_on_message(&a, 0, 2, mc, lc), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 0); /* waits for 1's #2 */
  CHECK_EQ(chorus_room_remove(&a, 1), 0);
  CHECK_EQ(chorus_room_remove(&a, 2), 0);
  CHECK_EQ(a.flushing, 1); /* rank 3's FLUSH_DONE still to come */
  CHECK_EQ(chorus_room_join(&a, 1, 9, 2, 1, 0), 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 0);
  flush_done_from(&a, 3);
  CHECK_EQ(a.flushing, 0);
  CHECK_EQ(chorus_room_deliver(&a, 0, &d), 0);
  CHECK_EQ(a.delivered[2], 0);
  chorus_room_free(&a);
  chorus_room_free(&x);
  chorus_room_free(&c);
}

/* Counts of an origin past its newer incarnation's first - 1 name older
 * messages nobody delivers now: what this member held and what another
 * reported holding come back to that run, else the newer incarnation's
 * messages of the same counts would pass as held (safe delivery). */
static void test_renewed_counts_fall_back(void) {
  chorus_room a;
  CHECK_EQ(chorus_room_init(&a, 3, 0, 8, 64, 4), 0);
  a.epoch[1] = 5;
  a.delivered[1] = 1;
  a.held[1] = a.held_reported[1] = 2; /* held #2, which a flush dropped */
  uint32_t held[3] = {0, 2, 0}, stable[3] = {0, 0, 0};
  chorus_room_on_state(&a, 2, a.view, held, stable, 3);
  CHECK_EQ(a.known_held[2][1], 2);
  CHECK_EQ(chorus_room_remove(&a, 1), 0);
  CHECK_EQ(chorus_room_join(&a, 1, 9, 2, 1, 0), 0);
  CHECK_EQ(a.held[1], 1);
  CHECK_EQ(a.held_reported[1], 1);
  CHECK_EQ(a.known_held[2][1], 1);
  CHECK(a.stable[1] <= 1);
  chorus_room_free(&a);
}

/* Sends r's next own message (order `order`) to each room of `to`, which
 * delivers what it can. */
static void send_to(chorus_room *r, uint8_t order, chorus_room **to, size_t nto) {
  uint8_t m[CHORUS_ROOM_HDR_BYTES_MAX + 8];
  uint32_t count;
  chorus_room_delivery d;
  CHECK_EQ(chorus_room_submit(r, 0, order, (const uint8_t *)"xy", 2, r->epoch[r->self], &count), 0);
  size_t len = take_first(r, m, sizeof m);
  for (size_t k = 0; k < nto; k++) {
    CHECK_EQ(chorus_room_on_message(to[k], 0, r->self, m, len), 0);
    while (chorus_room_deliver(to[k], 0, &d) == 1) {
    }
  }
}

/* Rank 2 delivered rank 3's #2, which only they had, and sent a fifo
 * message carrying it in its past; ranks 0 and 1 delivered that. Both crash and
 * are removed; 3 restarts, numbering from 2. Rank 1's next causal message,
 * sent before it learns of 3's restart, counts 3's old #2 in its vector
 * clock: rank 0, which admitted the newer incarnation already, forgets
 * that dependency (the sender's epochs digest names the old incarnation),
 * else it would wait for the newer #2, which may itself wait for this
 * message (seed 968). */
static void test_vc_counted_in_sender_epochs(void) {
  chorus_room a, j, x, k;
  chorus_room *all[4] = {&a, &j, &x, &k};
  for (size_t i = 0; i < 4; i++) {
    CHECK_EQ(chorus_room_init(all[i], 4, i, 8, 64, 4), 0);
    chorus_room_set_epoch(all[i], (uint32_t)(4 + i));
  }
  chorus_room *to_all[3] = {&j, &x, &k};
  send_to(&a, CHORUS_ORDER_FIFO, to_all, 3);
  chorus_room *to_ax[2] = {&a, &x};
  send_to(&j, CHORUS_ORDER_FIFO, to_ax, 2);
  chorus_room *to_aj[2] = {&a, &j};
  send_to(&x, CHORUS_ORDER_FIFO, to_aj, 2); /* x's #1: nothing of 3's yet */
  chorus_room *to_ajx[3] = {&a, &j, &x};
  send_to(&k, CHORUS_ORDER_FIFO, to_ajx, 3); /* 3's #1, to all */
  send_to(&k, CHORUS_ORDER_FIFO, to_ajx + 2, 1); /* 3's #2, to x only */
  send_to(&x, CHORUS_ORDER_FIFO, to_aj, 2); /* x's #2 past: 3's #2 */
  CHECK_EQ(j.past[3], 2);
  for (size_t r = 2; r < 4; r++) {
    CHECK_EQ(chorus_room_remove(&a, r), 0);
    CHECK_EQ(chorus_room_remove(&j, r), 0);
  }
  flush_done_from(&a, 1);
  flush_done_from(&j, 0);
  CHECK_EQ(a.flushing + j.flushing, 0);
  CHECK_EQ(chorus_room_join_first(&a, 3), 2);
  while (chorus_room_outbox_count(&j) > 0) {
    chorus_room_sent(&j, 0, UINT32_MAX);
    chorus_room_outbox_compact(&j);
  }
  CHECK_EQ(chorus_room_join(&a, 3, 9, 2, 1, 0), 0);
  uint32_t before = a.delivered[1];
  chorus_room *to_a[1] = {&a};
  send_to(&j, CHORUS_ORDER_CAUSAL, to_a, 1);
  CHECK_EQ(a.delivered[1], before + 1);
  for (size_t i = 0; i < 4; i++) chorus_room_free(all[i]);
}

int main(void) {
  RUN(test_total_order_concurrent);
  RUN(test_causal_hold_back);
  RUN(test_safe_waits_for_all);
  RUN(test_agreement_after_sequencer_crash);
  RUN(test_agreement_after_sender_crash);
  RUN(test_number_without_data_relayed);
  RUN(test_stability_collects);
  RUN(test_quota_stall_announced_early);
  RUN(test_quota_round_hops_only);
  RUN(test_merge_take);
  RUN(test_number_of_delivered_stepped_over);
  RUN(test_number_of_delivered_during_flush);
  RUN(test_number_of_delivered_kept_copy);
  RUN(test_copy_past_gone_end_dropped);
  RUN(test_merge_state_carries_gone_end);
  RUN(test_merge_state_rejects);
  RUN(test_join_state_carries_past);
  RUN(test_join_state_sets_view);
  RUN(test_cut_owes_numbered_message);
  RUN(test_safe_waits_for_announcement);
  RUN(test_newcomer_relays_unstable_history);
  RUN(test_forwarded_taken_within_quota);
  RUN(test_stable_frame_frees_slots);
  RUN(test_dead_member_frees_slots);
  RUN(test_stable_frame_carries_announcement);
  RUN(test_merge_state_keeps_later_flush_done);
  RUN(test_vc_counted_in_sender_epochs);
  RUN(test_rollback_forgets_own_counts);
  RUN(test_orphan_dep_of_removed_origin_dropped);
  RUN(test_renewed_counts_fall_back);
  return CHECK_SUMMARY();
}
