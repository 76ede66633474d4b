/*
 * The simulator's checker on hand-made events: a correct history passes, and
 * each property (integrity, exactly_once, fifo, causal, total_order, safe,
 * unique_id, liveness, agreement, and the membership ones: false_removal,
 * detection, view_agreement, catch_up, rejoin) fails on deliberately wrong
 * input, naming the property and the offending event; crashes, restarts and
 * removals change what is owed and what safe waits for.
 * Unit tests link only libchorus.a, so the module is compiled in here.
 */
#include "check.h"

#include "../../sim/check.c"
#include "../../sim/check_view.c"

#define NODES 3

static chorus_check *new_checker(size_t messages_max) {
  chorus_check_config cfg = {NODES, messages_max, 0, 0, 0, {0}, 0};
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  return chk;
}

/* A message with text key = msg_id and length 10 + msg_id, fifo order. */
static chorus_check_msg msg(size_t sender, enum chorus_msg_kind kind, size_t to,
                            uint32_t msg_id, uint64_t at_us) {
  chorus_check_msg m = {at_us, sender, kind, to, CHORUS_ORDER_FIFO, 7, msg_id,
                        10 + msg_id, msg_id};
  return m;
}

static chorus_check_msg room(size_t sender, enum chorus_order order, uint32_t msg_id) {
  chorus_check_msg m = msg(sender, CHORUS_MSG_ROOM, 0, msg_id, 0);
  m.order = order;
  return m;
}

static int sent(chorus_check *chk, chorus_check_msg m) {
  return chorus_check_sent(chk, &m);
}

/* Delivers `m` at `receiver` with the right bytes, `len_delta` bytes more
 * and byte 0 xor `flip`. */
static int deliver_bad(chorus_check *chk, chorus_check_msg m, size_t receiver,
                       uint64_t at_us, int len_delta, uint8_t flip) {
  uint8_t text[64];
  size_t len = m.len_bytes + (size_t)len_delta;
  chorus_check_text(m.text_key, text, len);
  text[0] ^= flip;
  chorus_check_delivery d = {at_us, receiver, m.sender, m.kind, m.order, m.epoch,
                             m.msg_id, text, len, 0, 0, 0};
  return chorus_check_deliver(chk, &d);
}

static int deliver(chorus_check *chk, chorus_check_msg m, size_t receiver,
                   uint64_t at_us) {
  return deliver_bad(chk, m, receiver, at_us, 0, 0);
}

static int failed_with(const chorus_check *chk, const char *property) {
  const chorus_check_violation *v = chorus_check_first(chk);
  return v && strcmp(v->property, property) == 0;
}

static void test_correct_history_passes(void) {
  chorus_check *chk = new_checker(8);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 100);
  chorus_check_msg b = msg(0, CHORUS_MSG_PRIVATE, 2, 2, 200);
  chorus_check_msg c = msg(1, CHORUS_MSG_ROOM, 0, 1, 300); /* same id, other sender */
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(sent(chk, c), 0);
  /* Room messages are meant for every node, their sender included. */
  CHECK_EQ(chorus_check_outstanding(chk), 3 + 1 + 3);
  CHECK_EQ(deliver(chk, a, 1, 1100), 0);
  CHECK_EQ(deliver(chk, c, 0, 1300), 0);
  CHECK_EQ(deliver(chk, a, 2, 2100), 0);
  CHECK_EQ(deliver(chk, b, 2, 3200), 0); /* private and room: separate streams */
  CHECK_EQ(deliver(chk, c, 2, 4300), 0);
  CHECK_EQ(chorus_check_finish(chk, 5000), 1); /* self-deliveries missing */
  CHECK(failed_with(chk, "liveness"));
  CHECK_EQ(deliver(chk, a, 0, 5100), 0);
  CHECK_EQ(deliver(chk, c, 1, 5300), 0);
  CHECK_EQ(chorus_check_outstanding(chk), 0);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.messages, 3);
  CHECK_EQ(st.obligations, 7);
  CHECK_EQ(st.delivered, 7);
  CHECK_EQ(st.violations, 1); /* the early liveness check only */
  chorus_check_quantiles q[CHORUS_CHECK_CLASSES];
  chorus_check_latency(chk, q);
  /* Room (fifo) latencies at non-senders: a at n1 1000 and n2 2000, c at n0
   * 1000 and n2 4000 (self-deliveries are not latencies): rank(50%) = 2nd. */
  CHECK_EQ(q[CHORUS_ORDER_FIFO].count, 4);
  CHECK_EQ(q[CHORUS_ORDER_FIFO].p50_us, 1000);
  CHECK_EQ(q[CHORUS_ORDER_FIFO].p99_us, 4000);
  CHECK_EQ(q[CHORUS_ORDER_FIFO].max_us, 4000);
  CHECK_EQ(q[CHORUS_CHECK_CLASS_PRIVATE].count, 1);
  CHECK_EQ(q[CHORUS_CHECK_CLASS_PRIVATE].p50_us, 3000);
  CHECK_EQ(q[CHORUS_ORDER_TOTAL].count, 0);
  CHECK_EQ(q[CHORUS_ORDER_TOTAL].max_us, 0);
  chorus_check_free(chk);
}

static void expect_integrity(chorus_check_msg m, size_t receiver, int len_delta,
                             uint8_t flip, chorus_check_delivery *override) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  chorus_check_msg b = msg(0, CHORUS_MSG_PRIVATE, 2, 2, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  if (override)
    CHECK_EQ(chorus_check_deliver(chk, override), 1);
  else
    CHECK_EQ(deliver_bad(chk, m, receiver, 50, len_delta, flip), 1);
  CHECK(failed_with(chk, "integrity"));
  CHECK_EQ(chorus_check_first(chk)->at_us, 50);
  chorus_check_free(chk);
}

static void test_integrity_fails(void) {
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  chorus_check_msg b = msg(0, CHORUS_MSG_PRIVATE, 2, 2, 0);
  chorus_check_msg never = msg(0, CHORUS_MSG_ROOM, 0, 9, 0);
  chorus_check_msg other_epoch = a;
  other_epoch.epoch = 8;
  chorus_check_msg wrong_kind = a;
  wrong_kind.kind = CHORUS_MSG_PRIVATE;
  chorus_check_msg wrong_order = a;
  wrong_order.order = CHORUS_ORDER_TOTAL;
  chorus_check_msg self_private = b;
  self_private.sender = 2; /* "sent" by its receiver: never registered */
  expect_integrity(never, 1, 0, 0, NULL);       /* never sent */
  expect_integrity(other_epoch, 1, 0, 0, NULL); /* wrong epoch */
  expect_integrity(wrong_kind, 1, 0, 0, NULL);  /* wrong kind */
  expect_integrity(b, 1, 0, 0, NULL);           /* private, wrong receiver */
  expect_integrity(wrong_order, 1, 0, 0, NULL); /* delivered in another order */
  expect_integrity(self_private, 2, 0, 0, NULL);/* private to self */
  expect_integrity(a, 1, 0, 0x01, NULL);        /* one bit flipped */
  expect_integrity(a, 1, -1, 0, NULL);          /* truncated */
  expect_integrity(a, 1, 1, 0, NULL);           /* one byte too many */
  uint8_t t[1] = {0};
  chorus_check_delivery bad_node = {50, NODES, 0, CHORUS_MSG_ROOM,
                                    CHORUS_ORDER_FIFO, 7, 1, t, 1, 0, 0, 0};
  expect_integrity(a, 1, 0, 0, &bad_node);      /* receiver out of range */
}

static void test_exactly_once_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0);
  CHECK_EQ(deliver(chk, a, 2, 11), 0);
  CHECK_EQ(deliver(chk, a, 1, 12), 1);
  CHECK(failed_with(chk, "exactly_once"));
  CHECK_EQ(chorus_check_first(chk)->node, 1);
  CHECK_EQ(chorus_check_first(chk)->at_us, 12);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.duplicates, 1);
  CHECK_EQ(st.delivered, 2);
  chorus_check_free(chk);
}

static void test_fifo_reorder_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  chorus_check_msg b = msg(0, CHORUS_MSG_PRIVATE, 2, 2, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  chorus_check_msg c = msg(0, CHORUS_MSG_PRIVATE, 2, 3, 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(deliver(chk, b, 2, 10), 0); /* room and private: separate streams */
  CHECK_EQ(deliver(chk, a, 1, 15), 0);
  CHECK_EQ(deliver(chk, a, 2, 16), 0);
  CHECK_EQ(chorus_check_first(chk) == NULL, 1);
  chorus_check_free(chk);

  chk = new_checker(4);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(deliver(chk, c, 2, 20), 1); /* the second private message first */
  CHECK(failed_with(chk, "fifo"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);
}

static void test_fifo_gap_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg m1 = msg(1, CHORUS_MSG_ROOM, 0, 1, 0);
  chorus_check_msg m2 = msg(1, CHORUS_MSG_ROOM, 0, 2, 0);
  chorus_check_msg m3 = msg(1, CHORUS_MSG_ROOM, 0, 3, 0);
  CHECK_EQ(sent(chk, m1), 0);
  CHECK_EQ(sent(chk, m2), 0);
  CHECK_EQ(sent(chk, m3), 0);
  CHECK_EQ(deliver(chk, m1, 0, 10), 0);
  CHECK_EQ(deliver(chk, m3, 0, 20), 1); /* m2 skipped */
  CHECK(failed_with(chk, "fifo"));
  CHECK(strstr(chorus_check_first(chk)->detail, "msg_id=3") != NULL);
  chorus_check_free(chk);
}

static void test_liveness_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 0, 10), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0);
  CHECK_EQ(chorus_check_outstanding(chk), 1);
  CHECK_EQ(chorus_check_finish(chk, 30000000), 1);
  CHECK(failed_with(chk, "liveness"));
  CHECK_EQ(chorus_check_first(chk)->node, 2); /* the receiver that missed it */
  CHECK_EQ(chorus_check_first(chk)->at_us, 30000000);
  chorus_check_free(chk);
}

static void test_causal_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = room(0, CHORUS_ORDER_CAUSAL, 1);
  chorus_check_msg b = room(1, CHORUS_ORDER_CAUSAL, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0); /* n1 delivers a, then sends b */
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(deliver(chk, a, 0, 12), 0);
  CHECK_EQ(deliver(chk, b, 0, 20), 0); /* fine: n0 has a */
  CHECK_EQ(deliver(chk, b, 1, 21), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, b, 2, 30), 1); /* n2 lacks a, which b depends on */
  CHECK(failed_with(chk, "causal"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);

  /* The same history in fifo order is correct: no causal promise. */
  chk = new_checker(4);
  a.order = b.order = CHORUS_ORDER_FIFO;
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(deliver(chk, b, 2, 30), 0);
  CHECK(chorus_check_first(chk) == NULL);
  chorus_check_free(chk);
}

static void test_total_order_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = room(0, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg b = room(1, CHORUS_ORDER_TOTAL, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0); /* concurrent: either order, but the same */
  CHECK_EQ(deliver(chk, b, 0, 10), 0);
  CHECK_EQ(deliver(chk, a, 0, 11), 0);
  CHECK_EQ(deliver(chk, b, 1, 12), 0);
  CHECK_EQ(deliver(chk, a, 1, 13), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, a, 2, 14), 0); /* n2 puts a first: no common pair yet */
  CHECK_EQ(deliver(chk, b, 2, 15), 1); /* now it contradicts n0 and n1 */
  CHECK(failed_with(chk, "total_order"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);
}

static void test_safe_fails(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = room(0, CHORUS_ORDER_SAFE, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(chorus_check_held(chk, 1, 0, 0, 7, 1), 0);
  CHECK_EQ(chorus_check_held(chk, 2, 1, 0, 7, 1), 0);
  CHECK_EQ(deliver(chk, a, 0, 3), 1); /* n2 does not hold it yet */
  CHECK(failed_with(chk, "safe"));
  CHECK(strstr(chorus_check_first(chk)->detail, "n2") != NULL);
  CHECK_EQ(chorus_check_held(chk, 4, 2, 0, 7, 9), 1); /* never sent */
  CHECK_EQ(chorus_check_held(chk, 4, NODES, 0, 7, 1), CHORUS_ERR_INVAL);
  chorus_check_free(chk);

  chk = new_checker(4);
  CHECK_EQ(sent(chk, a), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(chorus_check_held(chk, 1, n, 0, 7, 1), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, a, n, 2), 0);
  CHECK_EQ(chorus_check_finish(chk, 3), 0);
  chorus_check_free(chk);
}


/* m1 -> m2 -> m3 through a fifo message: m3 (causal) still needs m1. */
static void test_causal_is_transitive(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg m1 = room(0, CHORUS_ORDER_CAUSAL, 1);
  chorus_check_msg m2 = room(1, CHORUS_ORDER_FIFO, 1);
  chorus_check_msg m3 = room(2, CHORUS_ORDER_CAUSAL, 1);
  CHECK_EQ(sent(chk, m1), 0);
  CHECK_EQ(deliver(chk, m1, 0, 5), 0);
  CHECK_EQ(deliver(chk, m1, 1, 10), 0); /* n1 has m1, then sends m2 */
  CHECK_EQ(sent(chk, m2), 0);
  CHECK_EQ(deliver(chk, m2, 2, 20), 0); /* fifo: n2 may take it before m1 */
  CHECK_EQ(sent(chk, m3), 0);           /* m1 -> m2 -> m3 */
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, m2, 0, 30), 0);
  CHECK_EQ(deliver(chk, m3, 0, 31), 0); /* n0 has m1: fine */
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, m3, 2, 40), 1); /* n2 lacks m1 */
  CHECK(failed_with(chk, "causal"));
  CHECK(strstr(chorus_check_first(chk)->detail, "n0's room message #1") != NULL);
  chorus_check_free(chk);
}

/* Nodes that deliver different subsets agree on the common ones. */
static void test_total_order_pairwise(void) {
  chorus_check *chk = new_checker(8);
  chorus_check_msg a = room(0, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg b = room(1, CHORUS_ORDER_SAFE, 1);
  chorus_check_msg c = room(2, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg f = room(0, CHORUS_ORDER_FIFO, 2); /* not totally ordered */
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(sent(chk, f), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(chorus_check_held(chk, 1, n, 1, 7, 1), 0);
  CHECK_EQ(deliver(chk, a, 0, 10), 0); /* n0: a b (then crashes) */
  CHECK_EQ(deliver(chk, b, 0, 11), 0);
  CHECK_EQ(deliver(chk, c, 1, 12), 0); /* n1: c a b f */
  CHECK_EQ(deliver(chk, a, 1, 13), 0);
  CHECK_EQ(deliver(chk, b, 1, 14), 0);
  CHECK_EQ(deliver(chk, f, 1, 15), 0);
  CHECK_EQ(deliver(chk, c, 2, 16), 0); /* n2: c a f b: fifo f is free */
  CHECK_EQ(deliver(chk, a, 2, 17), 0);
  CHECK_EQ(deliver(chk, f, 2, 18), 0);
  CHECK_EQ(deliver(chk, b, 2, 19), 0);
  CHECK(chorus_check_first(chk) == NULL);
  chorus_check_free(chk);

  /* n0: a c; n1: c; n2: c a: n2 contradicts n0, not n1. */
  chk = new_checker(8);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(deliver(chk, a, 0, 10), 0);
  CHECK_EQ(deliver(chk, c, 0, 11), 0);
  CHECK_EQ(deliver(chk, c, 1, 12), 0);
  CHECK_EQ(deliver(chk, c, 2, 13), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, a, 2, 14), 1);
  CHECK(failed_with(chk, "total_order"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  CHECK(strstr(chorus_check_first(chk)->detail, "n0 delivered it") != NULL);
  chorus_check_free(chk);

  /* The same contradiction found from the other side: n1 delivers b a
   * after n0 delivered a b, each a prefix of what the other will do. */
  chk = new_checker(8);
  chorus_check_msg b2 = room(1, CHORUS_ORDER_TOTAL, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b2), 0);
  CHECK_EQ(deliver(chk, a, 0, 10), 0);
  CHECK_EQ(deliver(chk, b2, 1, 11), 0);
  CHECK_EQ(deliver(chk, b2, 0, 12), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, a, 1, 13), 1);
  CHECK(failed_with(chk, "total_order"));
  chorus_check_free(chk);
}

/* Safe waits for the receiver's view: a removed member need not hold it. */
static void test_safe_follows_the_view(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = room(0, CHORUS_ORDER_SAFE, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(chorus_check_held(chk, 1, 0, 0, 7, 1), 0);
  CHECK_EQ(chorus_check_held(chk, 1, 1, 0, 7, 1), 0);
  CHECK_EQ(chorus_check_crash(chk, 2, 2), 0);
  CHECK_EQ(chorus_check_removed(chk, 3, 0, 2), 0);
  CHECK_EQ(deliver(chk, a, 0, 4), 0); /* n0's view: n0 n1, both hold it */
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, a, 1, 5), 1); /* n1 still counts n2 in its view */
  CHECK(failed_with(chk, "safe"));
  CHECK_EQ(chorus_check_first(chk)->node, 1);
  CHECK(strstr(chorus_check_first(chk)->detail, "n2") != NULL);
  CHECK_EQ(chorus_check_removed(chk, 6, 0, 2), CHORUS_ERR_INVAL); /* twice */
  CHECK_EQ(chorus_check_removed(chk, 6, 1, 1), CHORUS_ERR_INVAL); /* self */
  CHECK_EQ(chorus_check_removed(chk, 6, NODES, 1), CHORUS_ERR_INVAL);
  chorus_check_free(chk);
}

/* Crashes: nothing is owed to a crashed node; a crashed sender's message is
 * owed by every survivor once one delivered it, else by none. */
static void test_agreement(void) {
  chorus_check *chk = new_checker(8);
  chorus_check_msg a = room(0, CHORUS_ORDER_TOTAL, 1); /* n0 crashes */
  chorus_check_msg b = room(0, CHORUS_ORDER_TOTAL, 2);
  chorus_check_msg c = room(1, CHORUS_ORDER_FIFO, 1);
  chorus_check_msg p = msg(1, CHORUS_MSG_PRIVATE, 0, 2, 0); /* to the crashed */
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(sent(chk, p), 0);
  CHECK_EQ(chorus_check_outstanding(chk), 3 + 3 + 3 + 1);
  CHECK_EQ(deliver(chk, a, 0, 5), 0);
  CHECK_EQ(chorus_check_crash(chk, 10, 0), 0);
  CHECK_EQ(chorus_check_crash(chk, 10, 0), CHORUS_ERR_INVAL);
  /* Left: c at n1 and n2; a and b owed by nobody yet. */
  CHECK_EQ(chorus_check_outstanding(chk), 2);
  CHECK_EQ(deliver(chk, a, 1, 20), 0); /* now n2 owes a */
  CHECK_EQ(chorus_check_outstanding(chk), 3);
  CHECK_EQ(deliver(chk, c, 1, 21), 0);
  CHECK_EQ(deliver(chk, c, 2, 22), 0);
  CHECK_EQ(chorus_check_finish(chk, 30), 1);
  CHECK(failed_with(chk, "agreement"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  CHECK(strstr(chorus_check_first(chk)->detail, "survivor n1") != NULL);
  chorus_check_free(chk);

  /* The same with n2 delivering a too: all or none holds for a and b. */
  chk = new_checker(8);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(chorus_check_crash(chk, 10, 0), 0);
  CHECK_EQ(deliver(chk, a, 1, 20), 0);
  CHECK_EQ(deliver(chk, a, 2, 21), 0);
  CHECK_EQ(deliver(chk, c, 1, 22), 0);
  CHECK_EQ(deliver(chk, c, 2, 23), 0);
  CHECK_EQ(deliver(chk, c, 0, 24), 1); /* a crashed node delivers nothing */
  CHECK(failed_with(chk, "wellformed"));
  CHECK_EQ(chorus_check_removed(chk, 25, 1, 0), 0); /* else: detection */
  CHECK_EQ(chorus_check_removed(chk, 25, 2, 0), 0);
  CHECK_EQ(chorus_check_finish(chk, 30), 0);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.agreed_all, 1);
  CHECK_EQ(st.agreed_none, 1);
  CHECK_EQ(st.survivor_room, 2);
  CHECK_EQ(st.crashed, 1);
  chorus_check_free(chk);

  /* A live sender's message is still owed to every survivor: liveness. */
  chk = new_checker(8);
  CHECK_EQ(sent(chk, c), 0);
  CHECK_EQ(chorus_check_crash(chk, 10, 2), 0);
  CHECK_EQ(deliver(chk, c, 1, 20), 0);
  CHECK_EQ(chorus_check_finish(chk, 30), 1);
  CHECK(failed_with(chk, "liveness"));
  CHECK_EQ(chorus_check_first(chk)->node, 0);
  chorus_check_free(chk);
}

static void test_unique_id_fails(void) {
  chorus_check *chk = new_checker(4);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_ROOM, 0, 1, 0)), 0);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_PRIVATE, 1, 1, 5)), 0); /* own numbering */
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_PRIVATE, 2, 1, 6)), 1);
  CHECK(failed_with(chk, "unique_id"));
  chorus_check_free(chk);
}

static void test_first_violation_is_kept(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg a = msg(0, CHORUS_MSG_ROOM, 0, 1, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0);
  CHECK_EQ(deliver(chk, a, 1, 11), 1);
  chorus_check_fail(chk, "wellformed", 12, 2, "later %d", 1);
  CHECK(failed_with(chk, "exactly_once"));
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.violations, 2);
  chorus_check_free(chk);
}

static void test_limits_and_bad_input(void) {
  chorus_check *chk = new_checker(2);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_ROOM, 0, 1, 0)), 0);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_ROOM, 0, 2, 0)), 0);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_ROOM, 0, 3, 0)), CHORUS_ERR_QUEUE_FULL);
  CHECK_EQ(sent(chk, msg(0, CHORUS_MSG_PRIVATE, 0, 4, 0)), CHORUS_ERR_INVAL); /* to self */
  CHECK_EQ(sent(chk, msg(NODES, CHORUS_MSG_ROOM, 0, 5, 0)), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_check_deliver(chk, NULL), CHORUS_ERR_INVAL);
  chorus_check_free(chk);
  chorus_check_config bad = {0, 4, 0, 0, 0, {0}, 0};
  chorus_check *none = NULL;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.nodes = CHORUS_MEMBERS_MAX + 1;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.nodes = 2;
  bad.messages_max = 0;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.messages_max = 4;
  bad.restarts_max = CHORUS_CHECK_PROCS_MAX - 1; /* too many processes */
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.restarts_max = 0;
  bad.history_msgs = CHORUS_CHECK_HISTORY_MAX + 1;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  CHECK(none == NULL);
  chorus_check_free(NULL);
}

/* ---- membership ---------------------------------------------------------- */

#define EPOCH2 9 /* n2's second boot */

/* The last view number each node installed (view() below): every node at
 * view 1 in a new checker. */
static uint32_t vnum_last[CHORUS_MEMBERS_MAX];

static void views_reset(void) {
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) vnum_last[i] = 1;
}

/* A checker for the membership tests: epochs 7 (first boots), history of
 * `hist` messages, one restart, detection bound `bound_us`. */
static chorus_check *member_checker(size_t hist, uint64_t bound_us) {
  chorus_check_config cfg = {NODES, 16, 1, hist, bound_us, {7, 7, 7}, 0};
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  views_reset();
  return chk;
}

/* Node `node` installs a view change about `member`, numbered as the peers
 * number views: one more than the node's last, and a newcomer's own JOIN
 * the number of the last change any other node installed (its
 * coordinator's JOIN, in these tests). */
static uint32_t view_number_of(size_t node, size_t member, enum chorus_view_reason reason) {
  uint32_t n = vnum_last[node] + 1;
  if (reason == CHORUS_VIEW_JOIN && member == node) {
    n = 0;
    for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++)
      if (i != node && vnum_last[i] > n) n = vnum_last[i];
  }
  return vnum_last[node] = n;
}

static int view_numbered(chorus_check *chk, uint64_t at_us, size_t node, size_t member,
                         enum chorus_view_reason reason, uint32_t epoch, uint32_t view,
                         uint32_t members) {
  chorus_check_view_event ev = {at_us, node, member, reason, epoch, view, members, 0, at_us};
  return chorus_check_view(chk, &ev);
}

static int view(chorus_check *chk, uint64_t at_us, size_t node, size_t member,
                enum chorus_view_reason reason, uint32_t epoch, uint32_t members) {
  return view_numbered(chk, at_us, node, member, reason, epoch,
                       view_number_of(node, member, reason), members);
}

/* Node `node` installs the JOIN of `member` it decided as coordinator. */
static int view_admit(chorus_check *chk, uint64_t at_us, size_t node, size_t member,
                      uint32_t epoch, uint32_t members) {
  chorus_check_view_event ev = {at_us, node, member, CHORUS_VIEW_JOIN, epoch,
                                view_number_of(node, member, CHORUS_VIEW_JOIN), members, 1, at_us};
  return chorus_check_view(chk, &ev);
}

static int deliver_hist(chorus_check *chk, chorus_check_msg m, size_t receiver,
                        uint64_t at_us) {
  uint8_t text[64];
  chorus_check_text(m.text_key, text, m.len_bytes);
  chorus_check_delivery d = {at_us, receiver, m.sender, m.kind, m.order, m.epoch,
                             m.msg_id, text, m.len_bytes, 1, 0, 0};
  return chorus_check_deliver(chk, &d);
}

/* n2 crashes at 100 and boots again (epoch 9) at 300; both survivors
 * remove it (n0 at 150, n1 at 160); n0 admits it at 400, n1 follows. */
static void crash_restart_admit(chorus_check *chk) {
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(chorus_check_in_view(chk, 0, 2), 0);
  CHECK_EQ(chorus_check_views_settled(chk), 0); /* n2 is not back yet */
  CHECK_EQ(view(chk, 400, 0, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(view(chk, 410, 1, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_in_view(chk, 0, 2), 1);
  CHECK_EQ(chorus_check_view_epoch(chk, 1, 2), EPOCH2);
}

/* A restarted node is another receiver: it catches up as history what its
 * first boot had delivered, then goes on live, and all of it passes. */
static void test_restart_catches_up(void) {
  chorus_check *chk = member_checker(100, 0);
  chorus_check_msg a = room(0, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg b = room(1, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg p = msg(0, CHORUS_MSG_PRIVATE, 2, 2, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, p), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, a, n, 10 + n), 0);
  crash_restart_admit(chk);
  CHECK_EQ(chorus_check_restart(chk, 420, 2, 10), CHORUS_ERR_INVAL); /* it is up */
  CHECK_EQ(deliver_hist(chk, a, 2, 450), 0); /* not a duplicate: another boot */
  CHECK_EQ(deliver(chk, p, 2, 460), 0);      /* sent to its first boot: allowed */
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_views_settled(chk), 1);
  CHECK_EQ(sent(chk, b), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, b, n, 600 + n), 0);
  chorus_check_msg c = room(2, CHORUS_ORDER_TOTAL, 1); /* from the new boot */
  c.epoch = EPOCH2;
  CHECK_EQ(sent(chk, c), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, c, n, 700 + n), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  CHECK(chorus_check_first(chk) == NULL);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.restarts, 1);
  CHECK_EQ(st.joined, 1);
  CHECK_EQ(st.history, 1);
  CHECK_EQ(st.false_removals, 0);
  chorus_check_quantiles q;
  chorus_check_sample_quantiles(chk, CHORUS_CHECK_DETECT, &q);
  CHECK_EQ(q.count, 2);
  CHECK_EQ(q.p50_us, 50);
  CHECK_EQ(q.max_us, 60);
  chorus_check_sample_quantiles(chk, CHORUS_CHECK_REJOIN, &q);
  CHECK_EQ(q.count, 1);
  CHECK_EQ(q.max_us, 200); /* boot at 300, own JOIN at 500 */
  chorus_check_free(chk);
}

/* Its own JOIN without the history its coordinator owed it: catch_up. */
static void test_missing_catch_up_fails(void) {
  chorus_check *chk = member_checker(100, 0);
  chorus_check_msg a = room(0, CHORUS_ORDER_FIFO, 1);
  chorus_check_msg b = room(1, CHORUS_ORDER_FIFO, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(sent(chk, b), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, a, n, 10 + n), 0);
  CHECK_EQ(deliver(chk, b, 0, 20), 0); /* n2 crashes before it has b */
  crash_restart_admit(chk);
  CHECK_EQ(deliver_hist(chk, a, 2, 450), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 1);
  CHECK(failed_with(chk, "catch_up"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  CHECK(strstr(chorus_check_first(chk)->detail, "n1 epoch=7 msg_id=1") != NULL);
  chorus_check_free(chk);

  /* History outside a catch-up (a first boot) is wrong too. */
  chk = member_checker(100, 0);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver_hist(chk, a, 1, 10), 1);
  CHECK(failed_with(chk, "catch_up"));
  chorus_check_free(chk);

  /* Never delivered at all: caught at the end, also as catch_up. */
  chk = member_checker(100, 0);
  CHECK_EQ(sent(chk, a), 0);
  for (size_t n = 0; n < 2; n++) CHECK_EQ(deliver(chk, a, n, 10 + n), 0);
  crash_restart_admit(chk);
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "catch_up"));
  chorus_check_free(chk);
}

/* The history is the last history_msgs messages the coordinator
 * delivered: older ones are excused, and the restarted node's stream from
 * each sender starts after them. */
static void test_catch_up_is_bounded(void) {
  chorus_check *chk = member_checker(2, 0);
  chorus_check_msg m[4];
  for (uint32_t i = 0; i < 4; i++) {
    m[i] = room(1, CHORUS_ORDER_FIFO, i + 1);
    CHECK_EQ(sent(chk, m[i]), 0);
    CHECK_EQ(deliver(chk, m[i], 0, 10 + i), 0);
    CHECK_EQ(deliver(chk, m[i], 1, 10 + i), 0);
  }
  crash_restart_admit(chk);
  CHECK_EQ(deliver_hist(chk, m[2], 2, 450), 0); /* #3: #1 and #2 excused */
  CHECK_EQ(deliver_hist(chk, m[3], 2, 451), 0);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  chorus_check_free(chk);

  chk = member_checker(2, 0);
  for (uint32_t i = 0; i < 4; i++) {
    CHECK_EQ(sent(chk, m[i]), 0);
    CHECK_EQ(deliver(chk, m[i], 0, 10 + i), 0);
  }
  crash_restart_admit(chk);
  CHECK_EQ(deliver_hist(chk, m[1], 2, 450), 1); /* older than the last two */
  CHECK(failed_with(chk, "catch_up"));
  CHECK(strstr(chorus_check_first(chk)->detail, "before the history") != NULL);
  chorus_check_free(chk);
}

/* The admitter crashes before the cut leaves; another member delivers more
 * and sends the cut again: the restarted node owes that cut's history
 * (later than the first one's), and only from a cut that was sent. */
static void resent_cut_setup(chorus_check *chk, chorus_check_msg *m, int resend) {
  for (uint32_t i = 0; i < 4; i++) {
    m[i] = room(1, CHORUS_ORDER_FIFO, i + 1);
    CHECK_EQ(sent(chk, m[i]), 0);
  }
  for (uint32_t i = 0; i < 2; i++) {
    CHECK_EQ(deliver(chk, m[i], 0, 10 + i), 0);
    CHECK_EQ(deliver(chk, m[i], 1, 10 + i), 0);
  }
  crash_restart_admit(chk); /* n0 admits n2: it owes m1, m2 */
  CHECK_EQ(chorus_check_cuts_wanted(chk), 0);
  CHECK_EQ(chorus_check_crash(chk, 420, 0), 0);
  CHECK_EQ(chorus_check_cuts_wanted(chk), 1);
  CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
  CHECK_EQ(deliver(chk, m[2], 1, 440), 0);
  CHECK_EQ(deliver(chk, m[3], 1, 441), 0);
  if (resend) CHECK_EQ(chorus_check_cut_resent(chk, 450, 1), 0);
}

static void test_resent_cut_catch_up(void) {
  chorus_check_msg m[4];
  chorus_check *chk = member_checker(2, 0);
  resent_cut_setup(chk, m, 1);
  CHECK_EQ(deliver_hist(chk, m[2], 2, 460), 0); /* n1's last two: m3, m4 */
  CHECK_EQ(deliver_hist(chk, m[3], 2, 461), 0);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x6), 0);
  CHECK_EQ(chorus_check_cuts_wanted(chk), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0); /* m1, m2 excused now */
  chorus_check_free(chk);

  /* No cut was sent again: the same deliveries are not the owed history. */
  chk = member_checker(2, 0);
  resent_cut_setup(chk, m, 0);
  CHECK_EQ(deliver_hist(chk, m[2], 2, 460), 1);
  CHECK(failed_with(chk, "catch_up"));
  chorus_check_free(chk);

  /* A cut was sent again, but the history skips the first of it. */
  chk = member_checker(2, 0);
  resent_cut_setup(chk, m, 1);
  CHECK_EQ(deliver_hist(chk, m[3], 2, 460), 1);
  CHECK(failed_with(chk, "catch_up"));
  chorus_check_free(chk);
}

/* n0 admits restarted n2 and crashes before n2's cut leaves; n1 removes
 * n0, admits n0's next boot and sends n2 its cut again: n2's first view
 * holds n0's new boot (the cut's, from n1's view), not the crashed one,
 * whose removal n2 does not owe. */
static void test_resent_cut_holds_new_boots(void) {
  chorus_check_config cfg = {NODES, 16, 2, 0, 0, {7, 7, 7}, 0};
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  views_reset();
  crash_restart_admit(chk); /* n0 admits n2 */
  CHECK_EQ(chorus_check_crash(chk, 420, 0), 0);
  CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
  CHECK_EQ(chorus_check_restart(chk, 500, 0, 11), 0);
  CHECK_EQ(view_admit(chk, 510, 1, 0, 11, 0x7), 0);
  CHECK_EQ(view(chk, 515, 0, 0, CHORUS_VIEW_JOIN, 11, 0x7), 0);
  CHECK_EQ(chorus_check_cut_resent(chk, 520, 1), 0);
  CHECK_EQ(view(chk, 530, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_view_epoch(chk, 2, 0), 11);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  if (chorus_check_first(chk))
    fprintf(stderr, "  %s: %s\n", chorus_check_first(chk)->property,
            chorus_check_first(chk)->detail);
  chorus_check_free(chk);
}

/* The admitter n0 alone delivered m3 (in the simulator a safe message n0
 * saw stable as it crashed) before it admitted n2, and crashed before its cut left; n1's cut, sent
 * again under view 4, lacks m3, which n1 and n2 then deliver live in that
 * view. n2's JOIN under view 4 says it took n1's cut: m3 is not owed as
 * history. Under the admission's view 3 (n0's cut), m3 stays owed. */
static void test_join_view_names_resent_cut(void) {
  for (int own = 0; own < 2; own++) {
    chorus_check *chk = member_checker(3, 0);
    chorus_check_msg m[3];
    for (uint32_t i = 0; i < 3; i++) {
      m[i] = room(1, CHORUS_ORDER_FIFO, i + 1);
      CHECK_EQ(sent(chk, m[i]), 0);
      CHECK_EQ(deliver(chk, m[i], 0, 10 + i), 0);
      if (i < 2) CHECK_EQ(deliver(chk, m[i], 1, 10 + i), 0);
    }
    crash_restart_admit(chk); /* n0's JOIN of n2: view 3 */
    CHECK_EQ(chorus_check_crash(chk, 420, 0), 0);
    CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0); /* view 4 */
    CHECK_EQ(chorus_check_cut_resent(chk, 450, 1), 0);
    CHECK_EQ(deliver_hist(chk, m[0], 2, 460), 0);
    CHECK_EQ(deliver_hist(chk, m[1], 2, 461), 0);
    if (own) { /* it says it took n0's cut: m3 is missing */
      CHECK_EQ(view_numbered(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 3, 0x6), 1);
      CHECK(failed_with(chk, "catch_up"));
      chorus_check_free(chk);
      continue;
    }
    CHECK_EQ(view_numbered(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 4, 0x6), 0);
    CHECK_EQ(deliver(chk, m[2], 1, 510), 0);
    CHECK_EQ(deliver(chk, m[2], 2, 520), 0);
    CHECK_EQ(chorus_check_finish(chk, 1000), 0);
    chorus_check_free(chk);
  }
}

/* A view change node `node` installed at `installed_us` and reports at
 * `at_us` (a newcomer holds its views back until it is settled). */
static int view_late(chorus_check *chk, uint64_t at_us, uint64_t installed_us, size_t node,
                     size_t member, enum chorus_view_reason reason, uint32_t epoch,
                     uint32_t members) {
  chorus_check_view_event ev = {at_us,   node,    member, reason, epoch,
                                view_number_of(node, member, reason), members, 0,
                                installed_us};
  return chorus_check_view(chk, &ev);
}

/* n2 takes its cut at 420 but reports its JOIN, n0's removal and n0's new
 * boot's JOIN only at 600, once settled: n0 crashed at 450 and came back
 * at 500. The removal is of n0's first boot (judged at 480: detected in
 * 30 us), and n2's JOIN view held that boot, not the one up at 600. */
static void test_views_reported_late_judged_when_installed(void) {
  chorus_check_config cfg = {NODES, 16, 2, 100, 0, {7, 7, 7}, 0}; /* two restarts */
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  views_reset();
  crash_restart_admit(chk);
  CHECK_EQ(chorus_check_crash(chk, 450, 0), 0);
  CHECK_EQ(view(chk, 470, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
  CHECK_EQ(chorus_check_restart(chk, 500, 0, 11), 0);
  CHECK_EQ(view_admit(chk, 520, 1, 0, 11, 0x7), 0);
  CHECK_EQ(view_late(chk, 600, 420, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(view_late(chk, 600, 480, 2, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
  CHECK_EQ(view_late(chk, 600, 525, 2, 0, CHORUS_VIEW_JOIN, 11, 0x7), 0);
  CHECK(chorus_check_first(chk) == NULL);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.false_removals, 0);
  chorus_check_quantiles q;
  chorus_check_sample_quantiles(chk, CHORUS_CHECK_DETECT, &q);
  CHECK_EQ(q.count, 4);
  CHECK_EQ(q.max_us, 60); /* n2 first crashed at 100, n1 removed it at 160 */
  chorus_check_free(chk);
}

/* The admitter crashes as it admits, before anybody else installs its JOIN:
 * the next coordinator admits the restarted node anew, and its history is
 * owed (a JOIN of it that a member installs without deciding it is no cut
 * of that member's). */
static void test_admitted_anew_catch_up(void) {
  for (int skip = 0; skip < 3; skip++) { /* 1: skips an entry, 2: not n1's */
    chorus_check *chk = member_checker(2, 0);
    chorus_check_msg m[4];
    for (uint32_t i = 0; i < 4; i++) {
      m[i] = room(1, CHORUS_ORDER_FIFO, i + 1);
      CHECK_EQ(sent(chk, m[i]), 0);
      CHECK_EQ(deliver(chk, m[i], 1, 10 + i), 0);
      if (i < 2) CHECK_EQ(deliver(chk, m[i], 0, 10 + i), 0);
    }
    CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
    CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
    CHECK_EQ(view(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
    CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
    CHECK_EQ(view(chk, 400, 0, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
    CHECK_EQ(chorus_check_crash(chk, 400, 0), 0);
    CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x2), 0);
    if (skip == 2) { /* n1 installs a JOIN it did not decide: no cut of its */
      CHECK_EQ(view(chk, 450, 1, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x6), 0);
      CHECK_EQ(deliver_hist(chk, m[2], 2, 460), 1);
      CHECK(failed_with(chk, "catch_up"));
      chorus_check_free(chk);
      continue;
    }
    CHECK_EQ(view_admit(chk, 450, 1, 2, EPOCH2, 0x6), 0); /* n1's own JOIN */
    if (skip) { /* the first entry of n1's history is missing */
      CHECK_EQ(deliver_hist(chk, m[3], 2, 460), 1);
      CHECK(failed_with(chk, "catch_up"));
      chorus_check_free(chk);
      continue;
    }
    CHECK_EQ(deliver_hist(chk, m[2], 2, 460), 0);
    CHECK_EQ(deliver_hist(chk, m[3], 2, 461), 0);
    CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x6), 0);
    CHECK_EQ(chorus_check_finish(chk, 1000), 0);
    chorus_check_free(chk);
  }
}

/* n0 admits restarted n2 and crashes before anybody else installs that
 * JOIN; n1, which delivered safe message s, admits n2 afresh, its cut
 * counting s delivered; n3 then delivers s before n2 took that cut. n2
 * holds s under the cut, as it would under a first admission's (the core's
 * coordinator counts it stable at once): no safe violation (quick restarts
 * seed 3420). */
static void test_readmission_cut_holds(void) {
  chorus_check_config cfg = {4, 16, 1, 2, 0, {7, 7, 7, 7}, 0};
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  views_reset();
  chorus_check_msg s = room(3, CHORUS_ORDER_SAFE, 1);
  CHECK_EQ(sent(chk, s), 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0xb), 0);
  CHECK_EQ(view(chk, 151, 1, 2, CHORUS_VIEW_CRASH, 0, 0xb), 0);
  CHECK_EQ(view(chk, 153, 3, 2, CHORUS_VIEW_CRASH, 0, 0xb), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(view_admit(chk, 400, 0, 2, EPOCH2, 0xf), 0);
  CHECK_EQ(chorus_check_crash(chk, 400, 0), 0);
  CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0xa), 0);
  CHECK_EQ(view(chk, 431, 3, 0, CHORUS_VIEW_CRASH, 0, 0xa), 0);
  CHECK_EQ(chorus_check_held(chk, 432, 1, 3, 7, 1), 0);
  CHECK_EQ(chorus_check_held(chk, 432, 3, 3, 7, 1), 0);
  CHECK_EQ(deliver(chk, s, 1, 440), 0);
  CHECK_EQ(view_admit(chk, 450, 1, 2, EPOCH2, 0xe), 0); /* its cut holds s */
  CHECK_EQ(view(chk, 455, 3, 2, CHORUS_VIEW_JOIN, EPOCH2, 0xe), 0);
  CHECK_EQ(deliver(chk, s, 3, 460), 0);
  CHECK_EQ(deliver_hist(chk, s, 2, 470), 0);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0xe), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  if (chorus_check_first(chk))
    fprintf(stderr, "  %s: %s\n", chorus_check_first(chk)->property,
            chorus_check_first(chk)->detail);
  chorus_check_free(chk);
}

/* The admitter crashes after part of its history left: the newcomer
 * delivered n0's c, e, then n1's b (n1#2). n1's history starts earlier (it
 * delivered c and e first): it holds a (n1#1), which the newcomer is past
 * in n1's stream and skips for good; taking n1's resent cut (its d), it
 * owes a no longer. Without b from the first history, a stays owed. */
static void test_resent_cut_excuses_passed(void) {
  for (int passed = 1; passed >= 0; passed--) {
    chorus_check *chk = member_checker(3, 0);
    chorus_check_msg a = room(1, CHORUS_ORDER_FIFO, 1), b = room(1, CHORUS_ORDER_FIFO, 2);
    chorus_check_msg d = room(1, CHORUS_ORDER_FIFO, 3);
    chorus_check_msg c = room(0, CHORUS_ORDER_FIFO, 1), e = room(0, CHORUS_ORDER_FIFO, 2);
    chorus_check_msg all[5] = {a, b, d, c, e};
    for (size_t i = 0; i < 5; i++) CHECK_EQ(sent(chk, all[i]), 0);
    chorus_check_msg at0[4] = {a, c, e, b}, at1[4] = {c, e, a, b};
    for (size_t i = 0; i < 4; i++) {
      CHECK_EQ(deliver(chk, at0[i], 0, 10 + i), 0);
      CHECK_EQ(deliver(chk, at1[i], 1, 10 + i), 0);
    }
    crash_restart_admit(chk); /* n0's history: c, e, b */
    CHECK_EQ(deliver_hist(chk, c, 2, 412), 0);
    CHECK_EQ(deliver_hist(chk, e, 2, 413), 0);
    if (passed) CHECK_EQ(deliver_hist(chk, b, 2, 414), 0);
    CHECK_EQ(chorus_check_crash(chk, 420, 0), 0);
    CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
    CHECK_EQ(deliver(chk, d, 1, 440), 0);
    CHECK_EQ(chorus_check_cut_resent(chk, 450, 1), 0); /* n1's: a, b, d */
    if (!passed) { /* a comes first in n1's history: d skips it */
      CHECK_EQ(deliver_hist(chk, d, 2, 460), 1);
      CHECK(failed_with(chk, "catch_up"));
      chorus_check_free(chk);
      continue;
    }
    CHECK_EQ(deliver_hist(chk, d, 2, 460), 0);
    CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x6), 0);
    CHECK_EQ(chorus_check_finish(chk, 1000), 0);
    chorus_check_free(chk);
  }
}

/* Node `node` installs view number `num` removing `member` as a partition
 * leaves it (members: the view it makes). */
static int view_removal(chorus_check *chk, uint64_t at_us, size_t node, size_t member,
                        uint32_t num, uint32_t members) {
  chorus_check_view_event ev = {at_us, node, member, CHORUS_VIEW_CRASH, 0, num, members, 0, at_us};
  return chorus_check_view(chk, &ev);
}

/* A partition (n0 | n1 n2) heals at 200; the grace is the bound (1000).
 * n1 decides at 900 to remove n0, which is up; n2 installs that change at
 * 1500, after the flushes before it: the decision counts, not the install.
 * A change n2 decides itself at 1500 is a false removal. */
static void test_removal_decided_in_partition(void) {
  for (int own = 0; own < 2; own++) {
    chorus_check *chk = member_checker(100, 1000);
    CHECK_EQ(chorus_check_partition(chk, 100, 0x1, 1), 0);
    CHECK_EQ(chorus_check_partition(chk, 200, 0x1, 0), 0);
    CHECK_EQ(view_removal(chk, 900, 1, 0, 2, 0x6), 0);
    if (own) {
      CHECK_EQ(view_removal(chk, 1500, 2, 0, 3, 0x6), 1);
      CHECK(failed_with(chk, "false_removal"));
      CHECK_EQ(chorus_check_first(chk)->node, 2);
    } else {
      CHECK_EQ(view_removal(chk, 1500, 2, 0, 2, 0x6), 0);
      CHECK(chorus_check_first(chk) == NULL);
    }
    chorus_check_free(chk);
  }
}

/* A partition (n0 n1 | n2) heals at 200; long after, n0 absorbs n2 and
 * crashes before its cut reaches n2; n1 installs the merge (relayed), then
 * removes n0 and n2, which never installed a view holding n1: no false
 * removal (the sides merge anew). Had n2 installed the merge, it is one. */
static void test_removal_of_merge_never_installed(void) {
  for (int installed = 0; installed < 2; installed++) {
    chorus_check *chk = member_checker(100, 1000);
    CHECK_EQ(chorus_check_partition(chk, 100, 0x3, 1), 0);
    CHECK_EQ(view_removal(chk, 150, 0, 2, 2, 0x3), 0);
    CHECK_EQ(view_removal(chk, 151, 1, 2, 2, 0x3), 0);
    CHECK_EQ(view_removal(chk, 152, 2, 0, 2, 0x6), 0);
    CHECK_EQ(view_removal(chk, 152, 2, 1, 2, 0x4), 0);
    CHECK_EQ(chorus_check_partition(chk, 200, 0x3, 0), 0);
    CHECK_EQ(view_numbered(chk, 5000, 0, 2, CHORUS_VIEW_MERGE, 0, 3, 0x7), 0);
    CHECK_EQ(chorus_check_crash(chk, 5000, 0), 0);
    CHECK_EQ(view_numbered(chk, 5010, 1, 2, CHORUS_VIEW_MERGE, 0, 3, 0x7), 0);
    if (installed) {
      CHECK_EQ(view_numbered(chk, 5020, 2, 0, CHORUS_VIEW_MERGE, 0, 3, 0x5), 0);
      CHECK_EQ(view_numbered(chk, 5020, 2, 1, CHORUS_VIEW_MERGE, 0, 3, 0x7), 0);
    }
    CHECK_EQ(view_removal(chk, 5900, 1, 0, 4, 0x6), 0);
    CHECK_EQ(view_removal(chk, 5910, 1, 2, 5, 0x2), installed);
    if (installed) CHECK(failed_with(chk, "false_removal"));
    else CHECK(chorus_check_first(chk) == NULL);
    chorus_check_free(chk);
  }
}

/* A view change that removes a node that is up: false_removal. */
static void test_false_removal_fails(void) {
  chorus_check *chk = member_checker(100, 0);
  CHECK_EQ(view(chk, 50, 0, 1, CHORUS_VIEW_CRASH, 0, 0x5), 1);
  CHECK(failed_with(chk, "false_removal"));
  CHECK_EQ(chorus_check_first(chk)->node, 0);
  CHECK(strstr(chorus_check_first(chk)->detail, "removed n1") != NULL);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.false_removals, 1);
  CHECK_EQ(chorus_check_in_view(chk, 0, 1), 0);
  chorus_check_free(chk);
}

/* Removal later than the bound after the crash: detection; a crash that
 * cascades (the next coordinator crashed too) restarts the clock; a crash
 * never removed fails at the end. */
static void test_detection_fails(void) {
  chorus_check *chk = member_checker(100, 1000);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 1100, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0); /* at the bound */
  CHECK_EQ(view(chk, 1101, 1, 2, CHORUS_VIEW_CRASH, 0, 0x3), 1);
  CHECK(failed_with(chk, "detection"));
  CHECK_EQ(chorus_check_first(chk)->node, 1);
  chorus_check_free(chk);

  chk = member_checker(100, 1000);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(chorus_check_crash(chk, 800, 1), 0);
  CHECK_EQ(view(chk, 1700, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 1700, 0, 1, CHORUS_VIEW_CRASH, 0, 0x1), 0);
  CHECK_EQ(chorus_check_finish(chk, 2000), 0);
  chorus_check_free(chk);

  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 5000, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0); /* no bound */
  CHECK_EQ(chorus_check_finish(chk, 9000), 1); /* n1 never removed it */
  CHECK(failed_with(chk, "detection"));
  CHECK_EQ(chorus_check_first(chk)->node, 1);
  chorus_check_free(chk);
}

/* Survivors that install different member sets, or stop at different
 * views: view_agreement. */
static void test_view_disagreement_fails(void) {
  chorus_check *chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 0x7), 0); /* says n2 stays */
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK(strstr(chorus_check_first(chk)->detail, "members=7") != NULL);
  chorus_check_free(chk);

  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(chorus_check_removed(chk, 160, 1, 2), 0); /* no VIEW event at n1 */
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK(strstr(chorus_check_first(chk)->detail, "stands at") != NULL);
  chorus_check_free(chk);

  /* Removing a member twice: the second time its view did not hold it. */
  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 170, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK(strstr(chorus_check_first(chk)->detail, "did not hold") != NULL);
  chorus_check_free(chk);

  /* A restarted node's views align with its coordinator's from its JOIN. */
  chk = member_checker(100, 0);
  crash_restart_admit(chk);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x5), 0); /* not 0x7 */
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);
}

/* View numbers: the same change has the same number at every survivor
 * (view_agreement), and each node's numbers grow (view_number), the events
 * of one change (one instant) sharing theirs. */
static void test_view_numbers(void) {
  /* Two members removed at once: two events under one number, passes. */
  chorus_check *chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 1), 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view_numbered(chk, 150, 0, 1, CHORUS_VIEW_PARTITION, 0, 2, 0x5), 0);
  CHECK_EQ(view_numbered(chk, 150, 0, 2, CHORUS_VIEW_PARTITION, 0, 2, 0x1), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  chorus_check_free(chk);

  /* The same number again later: another change, fails at once. */
  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 1), 0);
  CHECK_EQ(chorus_check_crash(chk, 120, 2), 0);
  CHECK_EQ(view_numbered(chk, 150, 0, 1, CHORUS_VIEW_CRASH, 0, 2, 0x5), 0);
  CHECK_EQ(view_numbered(chk, 170, 0, 2, CHORUS_VIEW_CRASH, 0, 2, 0x1), 1);
  CHECK(failed_with(chk, "view_number"));
  CHECK(strstr(chorus_check_first(chk)->detail, "view 2 (crash n2") != NULL);
  chorus_check_free(chk);

  /* A first change numbered 1, the boot's view: fails. */
  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view_numbered(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 1, 0x3), 1);
  CHECK(failed_with(chk, "view_number"));
  chorus_check_free(chk);

  /* Survivors that number the same removal differently: view_agreement. */
  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view_numbered(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 2, 0x3), 0);
  CHECK_EQ(view_numbered(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 3, 0x3), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK(strstr(chorus_check_first(chk)->detail, "view 3 with members=3") != NULL);
  chorus_check_free(chk);

  /* A newcomer whose first view is not numbered as its JOIN at the others
   * (view 3 there): view_agreement. */
  chk = member_checker(100, 0);
  crash_restart_admit(chk);
  CHECK_EQ(view_numbered(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 4, 0x7), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "view_agreement"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);

  /* The same, numbered as the JOIN: passes. */
  chk = member_checker(100, 0);
  crash_restart_admit(chk);
  CHECK_EQ(view_numbered(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 3, 0x7), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  chorus_check_free(chk);
}

/* After partitions the numbers the members stand at must agree; a member
 * may raise its number after its event (renumbered by another member's copy
 * of the VIEW, chorus_check_view_now), never lower it. */
static void view_numbers_apart(chorus_check *chk) {
  CHECK_EQ(chorus_check_partition(chk, 50, 0x2, 1), 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 0), 0);
  CHECK_EQ(chorus_check_partition(chk, 120, 0x2, 0), 0);
  CHECK_EQ(view_numbered(chk, 150, 1, 0, CHORUS_VIEW_CRASH, 0, 2, 0x6), 0);
  CHECK_EQ(view_numbered(chk, 160, 2, 0, CHORUS_VIEW_CRASH, 0, 3, 0x6), 0);
}

static void test_view_numbers_renumbered(void) {
  chorus_check *chk = member_checker(100, 0);
  view_numbers_apart(chk);
  CHECK_EQ(chorus_check_finish(chk, 1000), 1); /* n1 at 2, n2 at 3 */
  CHECK(failed_with(chk, "view_agreement"));
  chorus_check_free(chk);

  chk = member_checker(100, 0);
  view_numbers_apart(chk);
  CHECK_EQ(chorus_check_view_now(chk, 1, 3, 900), 0); /* n1 took n2's number */
  CHECK_EQ(chorus_check_view_now(chk, 2, 3, 900), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  chorus_check_free(chk);

  chk = member_checker(100, 0);
  view_numbers_apart(chk);
  CHECK_EQ(chorus_check_view_now(chk, 2, 2, 900), 1); /* a number went down */
  CHECK(failed_with(chk, "view_number"));
  CHECK_EQ(chorus_check_view_now(chk, 0, 2, 900), CHORUS_ERR_INVAL); /* crashed */
  chorus_check_free(chk);
}

/* A restarted node never let back in, or one that installs its own JOIN
 * before anybody admitted it: rejoin. */
static void test_rejoin_fails(void) {
  chorus_check *chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(chorus_check_restart(chk, 310, 1, 11), CHORUS_ERR_INVAL); /* n1 is up */
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "rejoin"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  CHECK_EQ(view(chk, 1100, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 1);
  CHECK_EQ(view(chk, 1200, 0, 1, CHORUS_VIEW_JOIN, 12, 0x7), 1); /* never booted */
  chorus_check_free(chk);

  /* Its core still holds the view it booted with: it must not change it. */
  chk = member_checker(100, 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(view(chk, 400, 2, 0, CHORUS_VIEW_PARTITION, 0, 0x6), 1);
  CHECK(failed_with(chk, "rejoin"));
  CHECK(strstr(chorus_check_first(chk)->detail, "before any member") != NULL);
  chorus_check_free(chk);
}

/* n2 is absent at the start: the others' first views hold n0 and n1 only,
 * and what they send before n2 is admitted is not owed to it (beyond the
 * history); it boots at 300, n0 admits it at 400 (n1 follows), it catches
 * up and installs its own JOIN. Absent nodes never stand in a view early,
 * and act on nothing before their admission. */
static chorus_check *absent_checker(void) {
  chorus_check_config cfg = {NODES, 16, 1, 100, 0, {7, 7, 0}, 1u << 2};
  chorus_check *chk = NULL;
  CHECK_EQ(chorus_check_new(&cfg, &chk), 0);
  return chk;
}

static void test_absent_node_joins(void) {
  chorus_check *chk = absent_checker();
  chorus_check_msg a = room(0, CHORUS_ORDER_TOTAL, 1);
  CHECK_EQ(chorus_check_in_view(chk, 0, 2), 0);
  CHECK_EQ(chorus_check_views_settled(chk), 1); /* nothing owed by nobody */
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(chorus_check_outstanding(chk), 2); /* n0 and n1 only */
  for (size_t n = 0; n < 2; n++) CHECK_EQ(deliver(chk, a, n, 10 + n), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(chorus_check_views_settled(chk), 0);
  CHECK_EQ(view(chk, 400, 0, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(view(chk, 410, 1, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(deliver_hist(chk, a, 2, 450), 0);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_views_settled(chk), 1);
  chorus_check_msg b = room(2, CHORUS_ORDER_TOTAL, 1);
  b.epoch = EPOCH2;
  CHECK_EQ(sent(chk, b), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, b, n, 600 + n), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  CHECK(chorus_check_first(chk) == NULL);
  chorus_check_free(chk);

  /* History before anybody admitted it. */
  chk = absent_checker();
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 0, 10), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(deliver_hist(chk, a, 2, 350), 1);
  CHECK(failed_with(chk, "catch_up"));
  CHECK(strstr(chorus_check_first(chk)->detail, "no member had let") != NULL);
  chorus_check_free(chk);

  /* A view change of its own before its admission (it acted on the view it
   * booted with): rejoin; and one never admitted fails at the end. */
  chk = absent_checker();
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(view(chk, 400, 2, 0, CHORUS_VIEW_CRASH, 0, 0x6), 1);
  CHECK(failed_with(chk, "rejoin"));
  chorus_check_free(chk);
  chk = absent_checker();
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 1);
  CHECK(failed_with(chk, "rejoin"));
  chorus_check_free(chk);

  /* An absent node in a first view: the others' first views hold n0, n1. */
  chk = absent_checker();
  CHECK_EQ(view(chk, 50, 0, 1, CHORUS_VIEW_LEAVE, 0, 0x5), 1);
  CHECK(chorus_check_first(chk) != NULL);
  chorus_check_free(chk);
}

/* n1 leaves gracefully at 200: what it sent stays owed to the nodes up
 * (liveness, even by nobody delivered yet), it owes nothing sent later,
 * and its removal is no false removal; a view that still holds it at the
 * end fails (leave). */
static void test_leave(void) {
  chorus_check *chk = member_checker(100, 1000);
  chorus_check_msg a = room(1, CHORUS_ORDER_FIFO, 1);
  chorus_check_msg b = room(0, CHORUS_ORDER_FIFO, 1);
  CHECK_EQ(sent(chk, a), 0);
  CHECK_EQ(deliver(chk, a, 1, 10), 0);
  CHECK_EQ(chorus_check_leave(chk, 200, 1), 0);
  CHECK_EQ(chorus_check_leave(chk, 210, 1), CHORUS_ERR_INVAL); /* left already */
  CHECK_EQ(sent(chk, b), 0);
  CHECK_EQ(chorus_check_outstanding(chk), 2 + 2); /* a at n0, n2; b at n0, n2 */
  CHECK_EQ(view(chk, 300, 0, 1, CHORUS_VIEW_LEAVE, 0, 0x5), 0);
  CHECK_EQ(view(chk, 5000, 2, 1, CHORUS_VIEW_LEAVE, 0, 0x5), 0); /* no bound */
  for (size_t n = 0; n < NODES; n += 2) CHECK_EQ(deliver(chk, b, n, 400 + n), 0);
  CHECK_EQ(chorus_check_finish(chk, 6000), 1); /* a was never delivered */
  CHECK(failed_with(chk, "liveness"));
  chorus_check_free(chk);

  chk = member_checker(100, 1000);
  CHECK_EQ(sent(chk, a), 0);
  for (size_t n = 0; n < NODES; n++) CHECK_EQ(deliver(chk, a, n, 10 + n), 0);
  CHECK_EQ(chorus_check_leave(chk, 200, 1), 0);
  CHECK_EQ(view(chk, 300, 0, 1, CHORUS_VIEW_CRASH, 0, 0x5), 0); /* any reason */
  CHECK_EQ(view(chk, 310, 2, 1, CHORUS_VIEW_LEAVE, 0, 0x5), 0);
  CHECK_EQ(chorus_check_finish(chk, 6000), 0);
  chorus_check_stats st;
  chorus_check_stats_get(chk, &st);
  CHECK_EQ(st.false_removals, 0);
  chorus_check_free(chk);

  chk = member_checker(100, 1000);
  CHECK_EQ(chorus_check_leave(chk, 200, 1), 0);
  CHECK_EQ(view(chk, 300, 0, 1, CHORUS_VIEW_LEAVE, 0, 0x5), 0);
  CHECK_EQ(chorus_check_finish(chk, 6000), 1); /* n2 still holds it */
  CHECK(failed_with(chk, "leave"));
  CHECK_EQ(chorus_check_first(chk)->node, 2);
  chorus_check_free(chk);
}

/* n0 admits restarted n2 and crashes before its cut is out; n1 delivers
 * more and sends n2 a cut of its own: n2 owes n1's history of that moment
 * (chorus_check_cut_resent), and the older messages are excused. Without
 * the resend, the newer history is no history n2 was owed. */
static void cut_resend_setup(chorus_check *chk, chorus_check_msg *m) {
  for (uint32_t i = 0; i < 3; i++) m[i] = room(1, CHORUS_ORDER_FIFO, i + 1);
  CHECK_EQ(sent(chk, m[0]), 0);
  for (size_t n = 0; n < 2; n++) CHECK_EQ(deliver(chk, m[0], n, 10 + n), 0);
  CHECK_EQ(chorus_check_crash(chk, 100, 2), 0);
  CHECK_EQ(view(chk, 150, 0, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(view(chk, 160, 1, 2, CHORUS_VIEW_CRASH, 0, 0x3), 0);
  CHECK_EQ(chorus_check_restart(chk, 300, 2, EPOCH2), 0);
  CHECK_EQ(view(chk, 400, 0, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(view(chk, 410, 1, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x7), 0);
  CHECK_EQ(chorus_check_crash(chk, 420, 0), 0);
  CHECK_EQ(view(chk, 430, 1, 0, CHORUS_VIEW_CRASH, 0, 0x6), 0);
  for (uint32_t i = 1; i < 3; i++) {
    CHECK_EQ(sent(chk, m[i]), 0);
    CHECK_EQ(deliver(chk, m[i], 1, 440 + i), 0);
  }
}

static void test_cut_resent(void) {
  chorus_check *chk = member_checker(2, 0);
  chorus_check_msg m[3];
  cut_resend_setup(chk, m);
  CHECK_EQ(chorus_check_cut_resent(chk, 450, 1), 0);
  CHECK_EQ(deliver_hist(chk, m[1], 2, 460), 0); /* #1 excused: n1's history is #2, #3 */
  CHECK_EQ(deliver_hist(chk, m[2], 2, 461), 0);
  CHECK_EQ(view(chk, 500, 2, 2, CHORUS_VIEW_JOIN, EPOCH2, 0x6), 0);
  CHECK_EQ(chorus_check_finish(chk, 1000), 0);
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(chorus_check_cut_resent(chk, 1100, 0), CHORUS_ERR_INVAL); /* n0 is down */
  chorus_check_free(chk);

  chk = member_checker(2, 0);
  cut_resend_setup(chk, m);
  CHECK_EQ(deliver_hist(chk, m[1], 2, 460), 1); /* n0 had not delivered it */
  CHECK(failed_with(chk, "catch_up"));
  chorus_check_free(chk);
}

static void test_text_is_printable_and_stable(void) {
  uint8_t a[100], b[100];
  chorus_check_text(42, a, sizeof a);
  chorus_check_text(42, b, sizeof b);
  CHECK(memcmp(a, b, sizeof a) == 0);
  int printable = 1;
  for (size_t i = 0; i < sizeof a; i++) printable &= a[i] >= 0x20 && a[i] <= 0x7e;
  CHECK(printable);
  chorus_check_text(43, b, sizeof b);
  CHECK(memcmp(a, b, sizeof a) != 0);
  /* Golden bytes: the same on every host (catches byte-order dependence). */
  uint8_t g[16];
  chorus_check_text(1, g, sizeof g);
  CHECK(memcmp(g, "i%i%H`ybv<4:W?5Q", sizeof g) == 0);
}

/* m1 -> m2 -> m3 through a fifo message from a member that crashed, when
 * only crashed members delivered m1: a survivor may deliver m3 without m1
 * (nobody can give it m1), but not m1 after m3. */
static void test_causal_forgone_past(void) {
  chorus_check *chk = new_checker(4);
  chorus_check_msg m1 = room(0, CHORUS_ORDER_TOTAL, 1);
  chorus_check_msg m2 = room(1, CHORUS_ORDER_FIFO, 1);
  chorus_check_msg m3 = room(2, CHORUS_ORDER_CAUSAL, 1);
  CHECK_EQ(sent(chk, m1), 0);
  CHECK_EQ(deliver(chk, m1, 0, 5), 0);
  CHECK_EQ(deliver(chk, m1, 1, 10), 0);
  CHECK_EQ(sent(chk, m2), 0);
  CHECK_EQ(deliver(chk, m2, 2, 20), 0);
  CHECK_EQ(sent(chk, m3), 0);
  CHECK_EQ(deliver(chk, m3, 2, 26), 1); /* n0 is up: it owes m1 first */
  CHECK(failed_with(chk, "causal"));
  chorus_check_free(chk);

  chk = new_checker(4);
  CHECK_EQ(sent(chk, m1), 0);
  CHECK_EQ(deliver(chk, m1, 0, 5), 0);
  CHECK_EQ(deliver(chk, m1, 1, 10), 0);
  CHECK_EQ(sent(chk, m2), 0);
  CHECK_EQ(deliver(chk, m2, 2, 20), 0);
  CHECK_EQ(sent(chk, m3), 0);
  CHECK_EQ(chorus_check_crash(chk, 21, 0), 0);
  CHECK_EQ(chorus_check_crash(chk, 22, 1), 0);
  CHECK_EQ(deliver(chk, m3, 2, 26), 0); /* no survivor can deliver m1 */
  CHECK(chorus_check_first(chk) == NULL);
  CHECK_EQ(deliver(chk, m1, 2, 30), 1); /* but m1 may not come after m3 */
  CHECK(failed_with(chk, "causal"));
  CHECK(strstr(chorus_check_first(chk)->detail, "depended on its #1") != NULL);
  chorus_check_free(chk);
}

int main(void) {
  RUN(test_correct_history_passes);
  RUN(test_integrity_fails);
  RUN(test_exactly_once_fails);
  RUN(test_fifo_reorder_fails);
  RUN(test_fifo_gap_fails);
  RUN(test_liveness_fails);
  RUN(test_causal_fails);
  RUN(test_total_order_fails);
  RUN(test_safe_fails);
  RUN(test_causal_is_transitive);
  RUN(test_causal_forgone_past);
  RUN(test_total_order_pairwise);
  RUN(test_safe_follows_the_view);
  RUN(test_agreement);
  RUN(test_unique_id_fails);
  RUN(test_first_violation_is_kept);
  RUN(test_limits_and_bad_input);
  RUN(test_restart_catches_up);
  RUN(test_missing_catch_up_fails);
  RUN(test_catch_up_is_bounded);
  RUN(test_resent_cut_catch_up);
  RUN(test_resent_cut_holds_new_boots);
  RUN(test_admitted_anew_catch_up);
  RUN(test_views_reported_late_judged_when_installed);
  RUN(test_resent_cut_excuses_passed);
  RUN(test_removal_decided_in_partition);
  RUN(test_false_removal_fails);
  RUN(test_detection_fails);
  RUN(test_view_disagreement_fails);
  RUN(test_view_numbers);
  RUN(test_view_numbers_renumbered);
  RUN(test_rejoin_fails);
  RUN(test_absent_node_joins);
  RUN(test_leave);
  RUN(test_cut_resent);
  RUN(test_readmission_cut_holds);
  RUN(test_removal_of_merge_never_installed);
  RUN(test_join_view_names_resent_cut);
  RUN(test_text_is_printable_and_stable);
  return CHECK_SUMMARY();
}
