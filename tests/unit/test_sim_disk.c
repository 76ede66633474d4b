/*
 * The simulator's disk: synced bytes survive every crash, each fate keeps
 * what it says (a torn tail is a strict prefix of the last write), every
 * fate shows up, truncation is durable, the capacity is an error, the same
 * seed gives the same crashes, and a log of walrec records scanned after
 * any crash keeps every synced record and is never called corrupt.
 */
#include "check.h"

#include "../../sim/disk.c"
#include "walrec.h"

static chorus_disk *new_disk(size_t nodes, size_t bytes) {
  chorus_disk_config cfg = {nodes, bytes};
  chorus_disk *d = NULL;
  CHECK_EQ(chorus_disk_new(&cfg, &d), CHORUS_OK);
  return d;
}

static void test_config_and_limits(void) {
  chorus_disk *d = NULL;
  chorus_disk_config bad = {0, 10};
  CHECK_EQ(chorus_disk_new(&bad, &d), CHORUS_ERR_CONFIG);
  bad.nodes = CHORUS_DISK_NODES_MAX + 1;
  CHECK_EQ(chorus_disk_new(&bad, &d), CHORUS_ERR_CONFIG);
  bad.nodes = 1;
  bad.bytes_max = 0;
  CHECK_EQ(chorus_disk_new(&bad, &d), CHORUS_ERR_CONFIG);
  CHECK(d == NULL);
  d = new_disk(2, 8);
  CHECK_EQ(chorus_disk_write(d, 0, (const uint8_t *)"12345", 5), CHORUS_OK);
  CHECK_EQ(chorus_disk_write(d, 0, (const uint8_t *)"6789", 4), CHORUS_ERR_FULL);
  CHECK_EQ(chorus_disk_write(d, 2, (const uint8_t *)"x", 1), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_disk_write(d, 0, NULL, 1), CHORUS_ERR_INVAL);
  size_t len;
  const uint8_t *img = chorus_disk_image(d, 0, &len);
  CHECK(len == 5 && memcmp(img, "12345", 5) == 0);
  CHECK(chorus_disk_image(d, 1, &len) != NULL && len == 0); /* nodes are separate */
  CHECK(chorus_disk_image(d, 7, &len) == NULL && len == 0);
  CHECK_EQ(chorus_disk_truncate(d, 0, 6), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_disk_truncate(d, 0, 2), CHORUS_OK);
  CHECK_EQ(chorus_disk_synced(d, 0), 2); /* durable at once */
  chorus_prng prng;
  chorus_prng_init(&prng, 1);
  chorus_disk_crash_info info;
  CHECK_EQ(chorus_disk_crash(d, 0, &prng, &info), CHORUS_OK);
  CHECK(info.fate == CHORUS_DISK_CLEAN && info.len_bytes == 2 && info.lost_bytes == 0);
  CHECK_EQ(chorus_disk_crash(d, 9, &prng, &info), CHORUS_ERR_INVAL);
  chorus_disk_free(d);
  chorus_disk_free(NULL);
}

/* Over many seeds: synced bytes kept, each fate's shape, every fate seen. */
static void test_crash_fates(void) {
  uint64_t seen[5] = {0};
  int bad = 0;
  for (uint64_t seed = 1; seed <= 400; seed++) {
    chorus_disk *d = new_disk(1, 64);
    chorus_disk_write(d, 0, (const uint8_t *)"durable-", 8);
    chorus_disk_sync(d, 0);
    chorus_disk_write(d, 0, (const uint8_t *)"first-", 6);
    chorus_disk_write(d, 0, (const uint8_t *)"LASTWRITE", 9);
    chorus_prng prng;
    chorus_prng_init(&prng, seed);
    chorus_disk_crash_info info;
    chorus_disk_crash(d, 0, &prng, &info);
    size_t len;
    const uint8_t *img = chorus_disk_image(d, 0, &len);
    seen[info.fate]++;
    int ok = len >= 8 && memcmp(img, "durable-", 8) == 0 && chorus_disk_synced(d, 0) == len;
    if (info.fate == CHORUS_DISK_NONE) ok = ok && len == 8 && info.lost_bytes == 15;
    if (info.fate == CHORUS_DISK_ALL) ok = ok && len == 23 && info.lost_bytes == 0;
    if (info.fate == CHORUS_DISK_TORN)
      ok = ok && len >= 14 && len < 23 && memcmp(img, "durable-first-LASTWRITE", len) == 0;
    if (info.fate == CHORUS_DISK_ZEROED) {
      size_t keep = 23 - info.lost_bytes;
      ok = ok && len == 23 && keep >= 14 && keep < 23 &&
           memcmp(img, "durable-first-LASTWRITE", keep) == 0;
      for (size_t i = keep; i < len; i++) ok = ok && img[i] == 0;
    }
    if (!ok) bad++;
    chorus_disk_free(d);
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(seen[CHORUS_DISK_CLEAN], 0);
  for (int f = CHORUS_DISK_NONE; f <= CHORUS_DISK_ZEROED; f++) CHECK(seen[f] > 50);
}

/* Appends walrec records with syncs now and then, crashes, scans: returns
 * the scan, and the count of records synced before the crash. */
static void log_run(uint64_t seed, chorus_walrec_scan_result *r, size_t *synced_records,
                    chorus_disk_crash_info *info) {
  chorus_disk *d = new_disk(3, 4096);
  chorus_prng prng;
  chorus_prng_init(&prng, seed);
  *synced_records = 0;
  size_t n = 5 + (size_t)chorus_prng_below(&prng, 20);
  for (size_t i = 1; i <= n; i++) {
    uint8_t rec[64], payload[32];
    size_t plen = (size_t)chorus_prng_below(&prng, sizeof payload), used;
    for (size_t k = 0; k < plen; k++) payload[k] = (uint8_t)chorus_prng_next(&prng);
    CHECK_EQ(chorus_walrec_encode(rec, sizeof rec, 1, i, payload, plen, &used), CHORUS_OK);
    CHECK_EQ(chorus_disk_write(d, 1, rec, used), CHORUS_OK);
    if (chorus_prng_below(&prng, 3) == 0) {
      chorus_disk_sync(d, 1);
      *synced_records = i;
    }
  }
  chorus_disk_crash(d, 1, &prng, info);
  size_t len;
  const uint8_t *img = chorus_disk_image(d, 1, &len);
  chorus_walrec_scan(img, len, r);
  if (r->end == CHORUS_WALREC_TORN) { /* what recovery does */
    CHECK_EQ(chorus_disk_truncate(d, 1, r->valid_bytes), CHORUS_OK);
    chorus_disk_crash(d, 1, &prng, NULL);
    img = chorus_disk_image(d, 1, &len);
    CHECK_EQ(len, r->valid_bytes);
  }
  chorus_disk_free(d);
}

static void test_log_recovery_after_crash(void) {
  int bad = 0, torn = 0;
  for (uint64_t seed = 1; seed <= 500; seed++) {
    chorus_walrec_scan_result r, again;
    size_t synced, synced2;
    chorus_disk_crash_info info, info2;
    log_run(seed, &r, &synced, &info);
    log_run(seed, &again, &synced2, &info2); /* same seed, same crash */
    if (r.end == CHORUS_WALREC_CORRUPT || r.records < synced ||
        (r.records > 0 && (r.first_index != 1 || r.last_index != r.records)) ||
        memcmp(&r, &again, sizeof r) != 0 || info.fate != info2.fate)
      bad++;
    torn += r.end == CHORUS_WALREC_TORN;
  }
  CHECK_EQ(bad, 0);
  CHECK(torn > 50);
}

int main(void) {
  RUN(test_config_and_limits);
  RUN(test_crash_fates);
  RUN(test_log_recovery_after_crash);
  return CHECK_SUMMARY();
}
