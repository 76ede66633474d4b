/* Wire codec: round trips, exact bytes, and rejection of malformed input. */
#include "check.h"
#include "err.h"
#include "peer.h"
#include "wire.h"

static void test_header_round_trip(void) {
  uint8_t buf[32];
  chorus_wire_header h = {0x01020304, 7, 9, 0}, g;
  CHECK_EQ(chorus_wire_header_encode(buf, sizeof buf, &h), 16);
  const uint8_t want[16] = {'C', 'H', 1, 0, 1, 2, 3, 4, 0, 0, 0, 7, 0, 0, 0, 9};
  CHECK(memcmp(buf, want, 16) == 0); /* big-endian on every host */
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), 16);
  CHECK_EQ(g.src_id, h.src_id);
  CHECK_EQ(g.src_epoch, 7);
  CHECK_EQ(g.dst_epoch, 9);
  CHECK_EQ(chorus_wire_header_encode(buf, 15, &h), CHORUS_ERR_NOBUF);
  h.flags = CHORUS_WIRE_HDR_UNADMITTED;
  CHECK_EQ(chorus_wire_header_encode(buf, sizeof buf, &h), 16);
  CHECK_EQ(buf[3], 1);
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), 16);
  CHECK_EQ(g.flags, CHORUS_WIRE_HDR_UNADMITTED);
  h.flags = CHORUS_WIRE_HDR_JOINING;
  CHECK_EQ(chorus_wire_header_encode(buf, sizeof buf, &h), 16);
  CHECK_EQ(buf[3], 2);
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), 16);
  CHECK_EQ(g.flags, CHORUS_WIRE_HDR_JOINING);
  buf[3] = 4; /* a reserved bit */
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), CHORUS_ERR_BAD_FRAME);
}

static void test_header_rejects(void) {
  uint8_t buf[1300] = {'C', 'H', 1, 0, 1, 2, 3, 4, 0, 0, 0, 7, 0, 0, 0, 9};
  chorus_wire_header g;
  for (size_t n = 0; n < 16; n++)
    CHECK(chorus_wire_header_decode(buf, n, &g) == CHORUS_ERR_TRUNCATED);
  CHECK_EQ(chorus_wire_header_decode(buf, 1201, &g), CHORUS_ERR_TOO_BIG);
  buf[2] = 2;
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), CHORUS_ERR_BAD_VERSION);
  buf[2] = 1;
  buf[0] = 'X';
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), CHORUS_ERR_BAD_MAGIC);
  buf[0] = 'C';
  buf[3] = 0x80; /* reserved flag bit */
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), CHORUS_ERR_BAD_FRAME);
  buf[3] = 0;
  buf[11] = 0; /* epoch 0 is never valid */
  CHECK_EQ(chorus_wire_header_decode(buf, 16, &g), CHORUS_ERR_BAD_FRAME);
}

static void test_data_round_trip(void) {
  uint8_t buf[1200];
  const uint8_t text[] = "hello";
  chorus_wire_data d = {0xFFFFFFF0u, CHORUS_MSG_PRIVATE, CHORUS_ORDER_FIFO,
                        CHORUS_DATA_FIRST | CHORUS_DATA_LAST, 42, 5, 5, text};
  int n = chorus_wire_data_encode(buf, sizeof buf, &d);
  CHECK_EQ(n, 18 + 5);
  chorus_wire_frame f;
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), n);
  CHECK_EQ(f.type, CHORUS_FRAME_DATA);
  CHECK_EQ(f.u.data.seq, 0xFFFFFFF0u);
  CHECK_EQ(f.u.data.msg_id, 42);
  CHECK_EQ(f.u.data.kind, CHORUS_MSG_PRIVATE);
  CHECK(memcmp(f.u.data.frag, "hello", 5) == 0);
  for (int k = 0; k < n; k++) /* every truncation is an error, never an over-read */
    CHECK(chorus_wire_frame_decode(buf, (size_t)k, &f) < 0);
  CHECK_EQ(chorus_wire_data_encode(buf, 22, &d), CHORUS_ERR_NOBUF);
}

static void test_data_rejects(void) {
  uint8_t buf[64];
  const uint8_t text[] = "abc";
  chorus_wire_data d = {1, 0, 0, CHORUS_DATA_FIRST, 1, 3, 3, text};
  int n = chorus_wire_data_encode(buf, sizeof buf, &d);
  chorus_wire_frame f;
  buf[5] = 3; /* kind */
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[5] = 0;
  buf[6] = 4; /* order */
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[6] = 0;
  buf[7] = 4; /* unknown flag */
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[7] = 1;
  buf[15] = 2; /* msg_len 2 < frag_len 3 */
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[15] = 3;
  buf[17] = 0; /* empty fragment */
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[0] = 0x7F;
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
}

static void test_ack_round_trip_and_rejects(void) {
  uint8_t buf[64];
  chorus_wire_ack a = {10, 2, {{12, 3}, {20, 1}}};
  int n = chorus_wire_ack_encode(buf, sizeof buf, &a);
  CHECK_EQ(n, 6 + 12);
  chorus_wire_frame f;
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), n);
  CHECK_EQ(f.u.ack.cum, 10);
  CHECK_EQ(f.u.ack.nranges, 2);
  CHECK_EQ(f.u.ack.ranges[1].start, 20);
  chorus_wire_ack bad = {10, 2, {{12, 3}, {15, 1}}}; /* touches the previous */
  n = chorus_wire_ack_encode(buf, sizeof buf, &bad);
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  chorus_wire_ack below = {10, 1, {{10, 1}}}; /* not above cum */
  n = chorus_wire_ack_encode(buf, sizeof buf, &below);
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  chorus_wire_ack empty = {10, 1, {{12, 0}}};
  n = chorus_wire_ack_encode(buf, sizeof buf, &empty);
  CHECK_EQ(chorus_wire_frame_decode(buf, (size_t)n, &f), CHORUS_ERR_BAD_FRAME);
  buf[5] = 9; /* more ranges than allowed */
  CHECK_EQ(chorus_wire_frame_decode(buf, 64, &f), CHORUS_ERR_BAD_FRAME);
}

static void test_beacon_round_trip_and_rejects(void) {
  uint8_t buf[16];
  chorus_wire_beacon b = {2, 0x01020304, 0x0C, 1, 0x05060708}, g;
  CHECK_EQ(chorus_wire_beacon_encode(buf, sizeof buf, &b), CHORUS_WIRE_BEACON_BYTES);
  const uint8_t want[CHORUS_WIRE_BEACON_BYTES] = {0x09, 2, 1, 2, 3, 4, 0, 0, 0, 0x0C, 1,
                                                  5, 6, 7, 8};
  CHECK(memcmp(buf, want, sizeof want) == 0);
  chorus_wire_frame f;
  CHECK_EQ(chorus_wire_frame_decode(buf, CHORUS_WIRE_BEACON_BYTES, &f),
           CHORUS_WIRE_BEACON_BYTES);
  CHECK_EQ(f.type, CHORUS_FRAME_BEACON);
  g = f.u.beacon;
  CHECK_EQ(g.coord, 2);
  CHECK_EQ(g.view, 0x01020304);
  CHECK_EQ(g.ranks, 0x0C);
  CHECK_EQ(g.low, 1);
  CHECK_EQ(g.view_id, 0x05060708);
  for (size_t n = 1; n < CHORUS_WIRE_BEACON_BYTES; n++)
    CHECK_EQ(chorus_wire_frame_decode(buf, n, &f), CHORUS_ERR_TRUNCATED);
  CHECK_EQ(chorus_wire_beacon_encode(buf, CHORUS_WIRE_BEACON_BYTES - 1, &b),
           CHORUS_ERR_NOBUF);
  const chorus_wire_beacon bad[] = {
      {10, 1, 0x400, 10, 1},   /* coordinator rank out of range */
      {2, 1, 0x800 | 4, 2, 1}, /* a member beyond rank 9 */
      {2, 1, 0x08, 2, 1},      /* coordinator not among the members */
      {2, 1, 0x0C, 3, 1},      /* low above the coordinator */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    chorus_wire_beacon_encode(buf, sizeof buf, &bad[i]);
    CHECK_EQ(chorus_wire_frame_decode(buf, CHORUS_WIRE_BEACON_BYTES, &f),
             CHORUS_ERR_BAD_FRAME);
  }
}

static void test_seq_expand(void) {
  CHECK(chorus_wire_seq_expand(0, 5) == 5);
  CHECK(chorus_wire_seq_expand(0xFFFFFFF0ull, 3) == 0x100000003ull);
  CHECK(chorus_wire_seq_expand(0x100000003ull, 0xFFFFFFF0u) == 0xFFFFFFF0ull);
  CHECK(chorus_wire_seq_expand(0x500000000ull, 7) == 0x500000007ull);
}

static void test_name_id(void) {
  /* FNV-1a 32 reference values: "" and "a". */
  CHECK(chorus_wire_name_id("") == 0x811c9dc5u);
  CHECK(chorus_wire_name_id("a") == 0xe40c292cu);
}

int main(void) {
  RUN(test_header_round_trip);
  RUN(test_header_rejects);
  RUN(test_data_round_trip);
  RUN(test_data_rejects);
  RUN(test_ack_round_trip_and_rejects);
  RUN(test_beacon_round_trip_and_rejects);
  RUN(test_seq_expand);
  RUN(test_name_id);
  return CHECK_SUMMARY();
}
