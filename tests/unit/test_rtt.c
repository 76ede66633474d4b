/* RTO computation per RFC 6298 with chorus's LAN floor and ACK-delay term. */
#include "check.h"
#include "rtt.h"

static void test_initial_rto(void) {
  chorus_rtt r;
  chorus_rtt_init(&r, 200000, 10000, 2000000, 5000);
  CHECK_EQ(chorus_rtt_rto_us(&r), 200000);
}

static void test_first_and_second_sample(void) {
  chorus_rtt r;
  chorus_rtt_init(&r, 200000, 10000, 2000000, 5000);
  chorus_rtt_sample(&r, 40000); /* SRTT = 40 ms, RTTVAR = 20 ms */
  CHECK_EQ(r.srtt_us, 40000);
  CHECK_EQ(r.rttvar_us, 20000);
  CHECK_EQ(chorus_rtt_rto_us(&r), 40000 + 4 * 20000 + 5000);
  chorus_rtt_sample(&r, 80000); /* RTTVAR = 3/4*20 + 1/4*40 = 25; SRTT = 45 */
  CHECK_EQ(r.rttvar_us, 25000);
  CHECK_EQ(r.srtt_us, 45000);
  CHECK_EQ(chorus_rtt_rto_us(&r), 45000 + 100000 + 5000);
}

static void test_floor_and_granularity(void) {
  chorus_rtt r;
  chorus_rtt_init(&r, 200000, 10000, 2000000, 0);
  chorus_rtt_sample(&r, 50); /* loopback: 50 µs */
  CHECK_EQ(chorus_rtt_rto_us(&r), 10000); /* the LAN floor, never 1 s */
  chorus_rtt_init(&r, 200000, 100, 2000000, 0);
  chorus_rtt_sample(&r, 50);
  CHECK_EQ(chorus_rtt_rto_us(&r), 50 + CHORUS_RTT_GRANULARITY_US);
}

static void test_backoff_and_cap(void) {
  chorus_rtt r;
  chorus_rtt_init(&r, 200000, 10000, 2000000, 0);
  chorus_rtt_on_timeout(&r);
  CHECK_EQ(chorus_rtt_rto_us(&r), 400000);
  chorus_rtt_on_timeout(&r);
  CHECK_EQ(chorus_rtt_rto_us(&r), 800000);
  for (int i = 0; i < 40; i++) chorus_rtt_on_timeout(&r);
  CHECK_EQ(chorus_rtt_rto_us(&r), 2000000);
  chorus_rtt_on_progress(&r);
  CHECK_EQ(chorus_rtt_rto_us(&r), 200000);
}

int main(void) {
  RUN(test_initial_rto);
  RUN(test_first_and_second_sample);
  RUN(test_floor_and_granularity);
  RUN(test_backoff_and_cap);
  return CHECK_SUMMARY();
}
