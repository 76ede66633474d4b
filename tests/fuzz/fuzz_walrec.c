/*
 * libFuzzer target: the write-ahead log's record decoder and image scan.
 * Any byte string must decode to a record or an error without reading out
 * of bounds; a decoded record must re-encode to the same bytes; the scan's
 * verdict must agree with the decoder record by record and with the rule
 * in core/walrec.h (CORRUPT only with a valid header after the damage).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "walrec.h"

static uint8_t out[1 << 16];

static void check_decode(const uint8_t *data, size_t size) {
  chorus_walrec rec;
  size_t used;
  if (chorus_walrec_decode(data, size, &rec, &used) != CHORUS_OK) return;
  if (used > size || used != CHORUS_WALREC_HEADER_BYTES + rec.len) abort();
  size_t k;
  if (used <= sizeof out &&
      (chorus_walrec_encode(out, sizeof out, rec.type, rec.index, rec.payload, rec.len, &k) !=
           CHORUS_OK ||
       k != used || memcmp(out, data, used) != 0))
    abort();
}

/* The valid prefix really is whole records, and their count and indices. */
static void check_prefix(const uint8_t *data, const chorus_walrec_scan_result *r) {
  size_t p = 0, n = 0;
  uint64_t first = 0, last = 0;
  while (p < r->valid_bytes) {
    chorus_walrec rec;
    size_t used;
    if (chorus_walrec_decode(data + p, r->valid_bytes - p, &rec, &used) != CHORUS_OK) abort();
    if (n++ == 0) first = rec.index;
    last = rec.index;
    p += used;
  }
  if (p != r->valid_bytes || n != r->records || first != r->first_index || last != r->last_index)
    abort();
}

static void check_scan(const uint8_t *data, size_t size) {
  chorus_walrec_scan_result r;
  chorus_walrec_scan(data, size, &r);
  if (r.valid_bytes > size) abort();
  check_prefix(data, &r);
  chorus_walrec_header h;
  if (r.end == CHORUS_WALREC_CLEAN && r.valid_bytes != size) abort();
  if (r.end != CHORUS_WALREC_CLEAN && r.valid_bytes == size) abort();
  if (r.end == CHORUS_WALREC_CORRUPT &&
      (r.evidence_at <= r.valid_bytes || r.evidence_at >= size ||
       chorus_walrec_header_decode(data + r.evidence_at, size - r.evidence_at, &h) != CHORUS_OK))
    abort();
  /* the valid prefix alone scans clean, to the same records */
  chorus_walrec_scan_result again;
  chorus_walrec_scan(data, r.valid_bytes, &again);
  if (again.end != CHORUS_WALREC_CLEAN || again.records != r.records) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_decode(data, size);
  check_scan(data, size);
  return 0;
}
