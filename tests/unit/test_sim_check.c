/*
 * The simulator's checker on hand-made events: a correct history passes, and
 * each property (integrity, exactly_once, fifo, causal, total_order, safe,
 * unique_id, liveness) fails on deliberately wrong input, naming the property
 * and the offending event.
 * Unit tests link only libchorus.a, so the module is compiled in here.
 */
#include "check.h"

#include "../../sim/check.c"

#define NODES 3

static chorus_check *new_checker(size_t messages_max) {
  chorus_check_config cfg = {NODES, messages_max};
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
                             m.msg_id, text, len};
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
  uint64_t p50, p99, max;
  chorus_check_latency(chk, &p50, &p99, &max);
  /* latencies 1000, 1000, 2000, 3000, 4000, 5000, 5000: rank(50%) = 4th */
  CHECK_EQ(p50, 3000);
  CHECK_EQ(p99, 5000);
  CHECK_EQ(max, 5000);
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
                                    CHORUS_ORDER_FIFO, 7, 1, t, 1};
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
  CHECK_EQ(deliver(chk, a, 2, 14), 1); /* n2 puts a first */
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
  chorus_check_config bad = {0, 4};
  chorus_check *none = NULL;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.nodes = CHORUS_MEMBERS_MAX + 1;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  bad.nodes = 2;
  bad.messages_max = 0;
  CHECK_EQ(chorus_check_new(&bad, &none), CHORUS_ERR_CONFIG);
  CHECK(none == NULL);
  chorus_check_free(NULL);
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
  RUN(test_unique_id_fails);
  RUN(test_first_violation_is_kept);
  RUN(test_limits_and_bad_input);
  RUN(test_text_is_printable_and_stable);
  return CHECK_SUMMARY();
}
