/*
 * The simulator's network model: delays within range, loss, duplication and
 * hold-back with the configured extremes, the pool limit reported as an
 * error without leaking slots, heal, and determinism from the seed.
 */
#include "check.h"

#include "../../sim/net.c"

static chorus_net *new_net(uint32_t loss, uint32_t dup, uint32_t reorder,
                           size_t slots, uint64_t seed) {
  chorus_net_config cfg = {3, slots, seed, {1000, 10000, loss, dup, reorder}};
  chorus_net *net = NULL;
  CHECK_EQ(chorus_net_new(&cfg, &net), 0);
  return net;
}

static const uint8_t DATA[5] = {1, 2, 3, 4, 5};

static void test_delay_in_range_and_bytes_kept(void) {
  chorus_net *net = new_net(0, 0, 0, 8, 1);
  size_t bad = 0;
  for (int i = 0; i < 1000; i++) {
    chorus_net_fate f;
    CHECK_EQ(chorus_net_send(net, 500, 0, 1, DATA, sizeof DATA, &f), 0);
    if (f.copies != 1 || f.copy[0].at_us < 1500 || f.copy[0].at_us > 10500 ||
        f.copy[0].reordered)
      bad++;
    size_t len;
    const uint8_t *p = chorus_net_slot(net, f.copy[0].slot, &len);
    if (len != sizeof DATA || memcmp(p, DATA, len) != 0) bad++;
    chorus_net_release(net, f.copy[0].slot);
  }
  CHECK_EQ(bad, 0);
  chorus_net_stats st;
  chorus_net_stats_get(net, &st);
  CHECK_EQ(st.sent, 1000);
  CHECK_EQ(st.in_flight, 0);
  chorus_net_free(net);
}

static void test_faults_at_the_extremes(void) {
  chorus_net *net = new_net(1000000, 0, 0, 8, 2);
  chorus_net_fate f;
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, DATA, sizeof DATA, &f), 0);
  CHECK_EQ(f.copies, 0);
  chorus_net_heal(net); /* loss off from now on */
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, DATA, sizeof DATA, &f), 0);
  CHECK_EQ(f.copies, 1);
  chorus_net_free(net);

  net = new_net(0, 1000000, 1000000, 8, 3);
  CHECK_EQ(chorus_net_send(net, 0, 2, 0, DATA, sizeof DATA, &f), 0);
  CHECK_EQ(f.copies, 2);
  CHECK(f.copy[0].slot != f.copy[1].slot);
  /* Held back by at least one maximal delay on top of the delay itself. */
  CHECK(f.copy[0].reordered && f.copy[0].at_us >= 1000 + 10000);
  chorus_net_stats st;
  chorus_net_stats_get(net, &st);
  CHECK_EQ(st.duplicated, 1);
  CHECK_EQ(st.reordered, 2);
  CHECK_EQ(st.in_flight, 2);
  chorus_net_free(net); /* slots in flight are freed with the pool */
}

static void test_pool_limit_is_an_error(void) {
  chorus_net *net = new_net(0, 1000000, 0, 3, 4);
  chorus_net_fate f;
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, DATA, sizeof DATA, &f), 0); /* 2 slots */
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, DATA, sizeof DATA, &f), CHORUS_ERR_QUEUE_FULL);
  chorus_net_stats st;
  chorus_net_stats_get(net, &st);
  CHECK_EQ(st.in_flight, 2); /* the failed send holds nothing */
  CHECK_EQ(st.high_water, 3);
  chorus_net_free(net);
}

static void test_bad_input(void) {
  chorus_net *net = new_net(0, 0, 0, 2, 5);
  chorus_net_fate f;
  uint8_t big[CHORUS_DATAGRAM_BYTES_MAX + 1] = {0};
  CHECK_EQ(chorus_net_send(net, 0, 0, 0, DATA, sizeof DATA, &f), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_net_send(net, 0, 0, 3, DATA, sizeof DATA, &f), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, DATA, 0, &f), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_net_send(net, 0, 0, 1, big, sizeof big, &f), CHORUS_ERR_TOO_BIG);
  chorus_net_link l = {5, 4, 0, 0, 0}; /* min > max */
  CHECK_EQ(chorus_net_link_set(net, 0, 1, &l), CHORUS_ERR_CONFIG);
  chorus_net_free(net);
  chorus_net_config cfg = {0, 2, 0, {0, 0, 0, 0, 0}};
  CHECK_EQ(chorus_net_new(&cfg, &net), CHORUS_ERR_CONFIG);
  cfg.nodes = 2;
  cfg.link.loss_ppm = 1000001;
  CHECK_EQ(chorus_net_new(&cfg, &net), CHORUS_ERR_CONFIG);
  chorus_net_free(NULL);
}

static void test_same_seed_same_fates(void) {
  chorus_net *a = new_net(300000, 200000, 300000, 64, 77);
  chorus_net *b = new_net(300000, 200000, 300000, 64, 77);
  size_t differ = 0;
  for (int i = 0; i < 2000; i++) {
    chorus_net_fate fa, fb;
    CHECK_EQ(chorus_net_send(a, (uint64_t)i, 1, 2, DATA, sizeof DATA, &fa), 0);
    CHECK_EQ(chorus_net_send(b, (uint64_t)i, 1, 2, DATA, sizeof DATA, &fb), 0);
    if (fa.copies != fb.copies) differ++;
    for (size_t k = 0; k < fa.copies && k < fb.copies; k++) {
      if (fa.copy[k].at_us != fb.copy[k].at_us || fa.copy[k].slot != fb.copy[k].slot)
        differ++;
      chorus_net_release(a, fa.copy[k].slot);
      chorus_net_release(b, fb.copy[k].slot);
    }
  }
  CHECK_EQ(differ, 0);
  chorus_net_stats st;
  chorus_net_stats_get(a, &st);
  /* 30 % loss over 2000 draws: well inside 25..35 %. */
  CHECK(st.lost > 500 && st.lost < 700);
  chorus_net_free(a);
  chorus_net_free(b);
}

int main(void) {
  RUN(test_delay_in_range_and_bytes_kept);
  RUN(test_faults_at_the_extremes);
  RUN(test_pool_limit_is_an_error);
  RUN(test_bad_input);
  RUN(test_same_seed_same_fates);
  return CHECK_SUMMARY();
}
