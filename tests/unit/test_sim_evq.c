/*
 * The simulator's event queue: (time, insertion order) ordering with
 * explicit tie-breaks, a fixed capacity that is reported when hit, and
 * agreement with a sorted reference on a long random sequence.
 */
#include "check.h"

#include "../../sim/evq.c"
#include "prng.h"

static chorus_evq_event at(uint64_t at_us, uint8_t node) {
  chorus_evq_event ev = {.at_us = at_us, .kind = CHORUS_EVQ_TIMER, .node = node};
  return ev;
}

static void test_ties_keep_insertion_order(void) {
  chorus_evq *q = NULL;
  CHECK_EQ(chorus_evq_new(16, &q), 0);
  chorus_evq_event e;
  for (uint8_t i = 0; i < 8; i++) {
    e = at(i % 2 ? 5 : 9, i);
    CHECK_EQ(chorus_evq_push(q, &e), 0);
  }
  /* time 5: nodes 1,3,5,7 in push order; then time 9: 0,2,4,6 */
  const uint8_t want[8] = {1, 3, 5, 7, 0, 2, 4, 6};
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(chorus_evq_pop(q, &e), 1);
    CHECK_EQ(e.node, want[i]);
  }
  CHECK_EQ(chorus_evq_pop(q, &e), 0);
  chorus_evq_free(q);
}

static void test_capacity_is_an_error(void) {
  chorus_evq *q = NULL;
  CHECK_EQ(chorus_evq_new(0, &q), CHORUS_ERR_CONFIG);
  CHECK_EQ(chorus_evq_new(3, NULL), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_evq_new(3, &q), 0);
  chorus_evq_event e = at(1, 0);
  for (int i = 0; i < 3; i++) CHECK_EQ(chorus_evq_push(q, &e), 0);
  CHECK_EQ(chorus_evq_push(q, &e), CHORUS_ERR_QUEUE_FULL);
  CHECK_EQ(chorus_evq_len(q), 3);
  CHECK_EQ(chorus_evq_high_water(q), 3);
  CHECK_EQ(chorus_evq_pop(q, &e), 1);
  CHECK_EQ(chorus_evq_push(q, &e), 0);
  chorus_evq_free(q);
  chorus_evq_free(NULL);
}

#define RANDOM_EVENTS 5000

/* Pushes random times (many ties), interleaved with pops; every pop must be
 * the smallest (at_us, seq) still queued. */
static void test_matches_reference(void) {
  chorus_evq *q = NULL;
  CHECK_EQ(chorus_evq_new(RANDOM_EVENTS, &q), 0);
  static uint8_t popped[RANDOM_EVENTS];
  static uint64_t time_of[RANDOM_EVENTS];
  memset(popped, 0, sizeof popped);
  chorus_prng p;
  chorus_prng_init(&p, 99);
  size_t pushed = 0, bad = 0;
  uint64_t last_at = 0, last_seq = 0;
  int have_last = 0;
  while (pushed < RANDOM_EVENTS || chorus_evq_len(q) > 0) {
    if (pushed < RANDOM_EVENTS && chorus_prng_below(&p, 3) != 0) {
      /* Never earlier than the last pop: a simulator never schedules in the past. */
      chorus_evq_event e = at(last_at + chorus_prng_below(&p, 50), 0);
      time_of[pushed++] = e.at_us;
      CHECK_EQ(chorus_evq_push(q, &e), 0);
      continue;
    }
    chorus_evq_event e;
    if (!chorus_evq_pop(q, &e)) continue;
    if (popped[e.seq] || time_of[e.seq] != e.at_us) bad++;
    popped[e.seq] = 1;
    if (have_last && (e.at_us < last_at || (e.at_us == last_at && e.seq < last_seq))) bad++;
    /* Nothing still queued may be earlier than what just came out. */
    for (size_t i = 0; i < pushed; i++)
      if (!popped[i] && (time_of[i] < e.at_us || (time_of[i] == e.at_us && i < e.seq))) bad++;
    last_at = e.at_us;
    last_seq = e.seq;
    have_last = 1;
  }
  CHECK_EQ(bad, 0);
  chorus_evq_free(q);
}

int main(void) {
  RUN(test_ties_keep_insertion_order);
  RUN(test_capacity_is_an_error);
  RUN(test_matches_reference);
  return CHECK_SUMMARY();
}
