/*
 * The log record codec: CRC-32C against RFC 3720 B.4, round trips, every
 * cut of a record (need more), every bit flip (corrupt), and the scan's
 * torn-versus-corrupt rule over whole images.
 */
#include "check.h"
#include "crc32c.h"
#include "err.h"
#include "walrec.h"

static void test_crc32c_vectors(void) {
  uint8_t b[48];
  memset(b, 0, 32);
  CHECK_EQ(chorus_crc32c(b, 32), 0x8a9136aau);
  memset(b, 0xff, 32);
  CHECK_EQ(chorus_crc32c(b, 32), 0x62a8ab43u);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
  CHECK_EQ(chorus_crc32c(b, 32), 0x46dd794eu);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
  CHECK_EQ(chorus_crc32c(b, 32), 0x113fdb5cu);
  /* RFC 3720 B.4: an iSCSI read command PDU */
  static const uint8_t pdu[48] = {0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
                                  0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(chorus_crc32c(pdu, 48), 0xd9963a56u);
  CHECK_EQ(chorus_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u);
  /* split feeding equals whole */
  CHECK_EQ(chorus_crc32c_extend(chorus_crc32c(pdu, 17), pdu + 17, 31), 0xd9963a56u);
  CHECK_EQ(chorus_crc32c(NULL, 0), 0);
}

/* Encodes record (type, index, "payload-<index>") at img+off; returns size. */
static size_t put(uint8_t *img, size_t cap, size_t off, uint8_t type, uint64_t index) {
  char text[32];
  int n = snprintf(text, sizeof text, "payload-%llu", (unsigned long long)index);
  size_t used = 0;
  CHECK_EQ(chorus_walrec_encode(img + off, cap - off, type, index, (const uint8_t *)text,
                                (size_t)n, &used),
           CHORUS_OK);
  return used;
}

static void test_round_trip(void) {
  uint8_t buf[64];
  size_t used = 0, used2 = 0;
  CHECK_EQ(chorus_walrec_encode(buf, sizeof buf, 7, 0x0102030405060708ull,
                                (const uint8_t *)"hello", 5, &used),
           CHORUS_OK);
  CHECK_EQ(used, CHORUS_WALREC_HEADER_BYTES + 5);
  /* big-endian fields at their documented offsets */
  CHECK_EQ(buf[4] | buf[5] | buf[6], 0);
  CHECK_EQ(buf[7], 5);
  CHECK_EQ(buf[8], 7);
  CHECK_EQ(buf[9], 1);
  CHECK_EQ(buf[16], 8);
  chorus_walrec rec;
  CHECK_EQ(chorus_walrec_decode(buf, used + 3, &rec, &used2), CHORUS_OK);
  CHECK_EQ(used2, used);
  CHECK_EQ(rec.type, 7);
  CHECK(rec.index == 0x0102030405060708ull);
  CHECK_EQ(rec.len, 5);
  CHECK(rec.payload == buf + CHORUS_WALREC_HEADER_BYTES);
  /* empty payload */
  CHECK_EQ(chorus_walrec_encode(buf, sizeof buf, 1, 9, NULL, 0, &used), CHORUS_OK);
  CHECK_EQ(used, CHORUS_WALREC_HEADER_BYTES);
  CHECK_EQ(chorus_walrec_decode(buf, used, &rec, &used2), CHORUS_OK);
  CHECK(rec.payload == NULL && rec.len == 0 && rec.index == 9);
  /* buffer too small: nothing claimed */
  CHECK_EQ(chorus_walrec_encode(buf, 25, 1, 1, (const uint8_t *)"hello", 5, &used),
           CHORUS_ERR_NOBUF);
  CHECK_EQ(used, 0);
  CHECK_EQ(chorus_walrec_encode(buf, 3, 1, 1, NULL, 0, &used), CHORUS_ERR_NOBUF);
}

static void test_every_cut_and_flip(void) {
  uint8_t rec_bytes[64], m[64];
  size_t n = put(rec_bytes, sizeof rec_bytes, 0, 3, 42);
  chorus_walrec rec;
  size_t used;
  int bad = 0;
  for (size_t cut = 0; cut < n; cut++)
    if (chorus_walrec_decode(rec_bytes, cut, &rec, &used) != CHORUS_ERR_TRUNCATED ||
        used != 0)
      bad++;
  CHECK_EQ(bad, 0);
  for (size_t bit = 0; bit < n * 8; bit++) {
    memcpy(m, rec_bytes, n);
    m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    if (chorus_walrec_decode(m, n, &rec, &used) != CHORUS_ERR_CORRUPT) bad++;
  }
  CHECK_EQ(bad, 0);
  /* an all-zero header is not a record */
  memset(m, 0, sizeof m);
  CHECK_EQ(chorus_walrec_decode(m, sizeof m, &rec, &used), CHORUS_ERR_CORRUPT);
}

/* Three records; ends[i] is the offset just after record i. */
static size_t three(uint8_t *img, size_t cap, size_t ends[3]) {
  size_t off = 0;
  for (int i = 0; i < 3; i++) {
    off += put(img, cap, off, 1, (uint64_t)i + 10);
    ends[i] = off;
  }
  return off;
}

static void test_scan_clean_and_cuts(void) {
  uint8_t img[256];
  size_t ends[3];
  size_t n = three(img, sizeof img, ends);
  chorus_walrec_scan_result r;
  chorus_walrec_scan(NULL, 0, &r);
  CHECK(r.end == CHORUS_WALREC_CLEAN && r.valid_bytes == 0 && r.records == 0);
  chorus_walrec_scan(img, n, &r);
  CHECK(r.end == CHORUS_WALREC_CLEAN && r.valid_bytes == n && r.records == 3);
  CHECK(r.first_index == 10 && r.last_index == 12);
  int bad = 0;
  for (size_t cut = 0; cut < n; cut++) {
    chorus_walrec_scan(img, cut, &r);
    size_t want = cut >= ends[1] ? ends[1] : cut >= ends[0] ? ends[0] : 0;
    int boundary = cut == want;
    if (r.valid_bytes != want || r.end != (boundary ? CHORUS_WALREC_CLEAN : CHORUS_WALREC_TORN))
      bad++;
  }
  CHECK_EQ(bad, 0);
}

static void test_scan_torn_versus_corrupt(void) {
  uint8_t img[256], m[256];
  size_t ends[3];
  size_t n = three(img, sizeof img, ends);
  chorus_walrec_scan_result r;
  int bad = 0;
  /* any flip in the last record: torn; in the first: corrupt, with record 2 as evidence */
  for (size_t bit = 0; bit < n * 8; bit++) {
    memcpy(m, img, n);
    m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    chorus_walrec_scan(m, n, &r);
    size_t at = bit / 8;
    if (at >= ends[1]) {
      if (r.end != CHORUS_WALREC_TORN || r.valid_bytes != ends[1]) bad++;
    } else if (at < ends[0]) {
      if (r.end != CHORUS_WALREC_CORRUPT || r.valid_bytes != 0 || r.evidence_at != ends[0])
        bad++;
    } else if (r.end != CHORUS_WALREC_CORRUPT || r.valid_bytes != ends[0] ||
               r.evidence_at != ends[1]) {
      bad++;
    }
  }
  CHECK_EQ(bad, 0);
  /* a file extended with zeros (size persisted, data not): torn */
  memcpy(m, img, n);
  memset(m + n, 0, 100);
  chorus_walrec_scan(m, n + 100, &r);
  CHECK(r.end == CHORUS_WALREC_TORN && r.valid_bytes == n && r.records == 3);
  /* garbage after the last record: torn */
  for (size_t i = 0; i < 50; i++) m[n + i] = (uint8_t)(i * 37 + 1);
  chorus_walrec_scan(m, n + 50, &r);
  CHECK(r.end == CHORUS_WALREC_TORN && r.valid_bytes == n);
  /* a damaged header whose cut-off successor still shows a valid header:
   * the log went on, so corrupt, even though the successor is incomplete */
  memcpy(m, img, n);
  m[ends[0] + 5] ^= 0x10;
  chorus_walrec_scan(m, n - 3, &r);
  CHECK(r.end == CHORUS_WALREC_CORRUPT && r.valid_bytes == ends[0] &&
        r.evidence_at == ends[1]);
  /* a valid header with a bad payload followed by zeros only: torn */
  memcpy(m, img, n);
  m[n - 1] ^= 1;
  memset(m + n, 0, 30);
  chorus_walrec_scan(m, n + 30, &r);
  CHECK(r.end == CHORUS_WALREC_TORN && r.valid_bytes == ends[1]);
}

int main(void) {
  RUN(test_crc32c_vectors);
  RUN(test_round_trip);
  RUN(test_every_cut_and_flip);
  RUN(test_scan_clean_and_cuts);
  RUN(test_scan_torn_versus_corrupt);
  return CHECK_SUMMARY();
}
