#include "walrec.h"

#include <assert.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v) {
  put_u32(p, (uint32_t)(v >> 32));
  put_u32(p + 4, (uint32_t)v);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_u64(const uint8_t *p) {
  return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

int chorus_walrec_header_encode(uint8_t *out, uint8_t type, uint64_t index,
                                const uint8_t *payload, size_t len_bytes) {
  if (len_bytes > CHORUS_WALREC_PAYLOAD_BYTES_MAX) return CHORUS_ERR_INVAL;
  put_u32(out + 4, (uint32_t)len_bytes);
  out[8] = type;
  put_u64(out + 9, index);
  put_u32(out + 17, chorus_crc32c(payload, len_bytes));
  put_u32(out, chorus_crc32c(out + 4, CHORUS_WALREC_HEADER_BYTES - 4));
  return CHORUS_OK;
}

int chorus_walrec_encode(uint8_t *out, size_t cap_bytes, uint8_t type, uint64_t index,
                         const uint8_t *payload, size_t len_bytes, size_t *used_bytes) {
  *used_bytes = 0;
  if (len_bytes > CHORUS_WALREC_PAYLOAD_BYTES_MAX) return CHORUS_ERR_INVAL;
  if (cap_bytes < CHORUS_WALREC_HEADER_BYTES ||
      len_bytes > cap_bytes - CHORUS_WALREC_HEADER_BYTES)
    return CHORUS_ERR_NOBUF;
  int rc = chorus_walrec_header_encode(out, type, index, payload, len_bytes);
  assert(rc == CHORUS_OK);
  if (len_bytes > 0) memcpy(out + CHORUS_WALREC_HEADER_BYTES, payload, len_bytes);
  *used_bytes = CHORUS_WALREC_HEADER_BYTES + len_bytes;
  return rc;
}

int chorus_walrec_header_decode(const uint8_t *in, size_t n_bytes, chorus_walrec_header *h) {
  memset(h, 0, sizeof *h);
  if (n_bytes < CHORUS_WALREC_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  if (get_u32(in) != chorus_crc32c(in + 4, CHORUS_WALREC_HEADER_BYTES - 4))
    return CHORUS_ERR_CORRUPT;
  h->len = get_u32(in + 4);
  h->type = in[8];
  h->index = get_u64(in + 9);
  h->payload_crc = get_u32(in + 17);
  return CHORUS_OK;
}

int chorus_walrec_decode(const uint8_t *in, size_t n_bytes, chorus_walrec *rec,
                         size_t *used_bytes) {
  memset(rec, 0, sizeof *rec);
  *used_bytes = 0;
  chorus_walrec_header h;
  int rc = chorus_walrec_header_decode(in, n_bytes, &h);
  if (rc != CHORUS_OK) return rc;
  /* Compare without adding, so a huge len cannot overflow. */
  if (h.len > n_bytes - CHORUS_WALREC_HEADER_BYTES) return CHORUS_ERR_TRUNCATED;
  const uint8_t *payload = in + CHORUS_WALREC_HEADER_BYTES;
  if (chorus_crc32c(payload, h.len) != h.payload_crc) return CHORUS_ERR_CORRUPT;
  rec->type = h.type;
  rec->index = h.index;
  rec->payload = h.len > 0 ? payload : NULL;
  rec->len = h.len;
  *used_bytes = CHORUS_WALREC_HEADER_BYTES + (size_t)h.len;
  return CHORUS_OK;
}

/* Offset of the first valid header in img[from..n), or n if there is none. */
static size_t find_header(const uint8_t *img, size_t n, size_t from) {
  chorus_walrec_header h;
  for (size_t q = from; q + CHORUS_WALREC_HEADER_BYTES <= n; q++)
    if (chorus_walrec_header_decode(img + q, n - q, &h) == CHORUS_OK) return q;
  return n;
}

/* Classifies the damage at img[p..n) by the rule in walrec.h. */
static void classify(const uint8_t *img, size_t n, size_t p, chorus_walrec_scan_result *out) {
  chorus_walrec_header h;
  size_t from = p + 1; /* damaged header: its length is unknown */
  if (chorus_walrec_header_decode(img + p, n - p, &h) == CHORUS_OK) {
    size_t room = n - p - CHORUS_WALREC_HEADER_BYTES;
    if (h.len >= room) { /* runs to or past the end: the last record */
      out->end = CHORUS_WALREC_TORN;
      return;
    }
    from = p + CHORUS_WALREC_HEADER_BYTES + h.len;
  }
  size_t q = find_header(img, n, from);
  out->end = q < n ? CHORUS_WALREC_CORRUPT : CHORUS_WALREC_TORN;
  out->evidence_at = q < n ? q : 0;
}

void chorus_walrec_scan(const uint8_t *img, size_t n_bytes, chorus_walrec_scan_result *out) {
  memset(out, 0, sizeof *out);
  size_t p = 0;
  while (p < n_bytes) {
    chorus_walrec rec;
    size_t used;
    if (chorus_walrec_decode(img + p, n_bytes - p, &rec, &used) != CHORUS_OK) {
      out->valid_bytes = p;
      classify(img, n_bytes, p, out);
      return;
    }
    if (out->records == 0) out->first_index = rec.index;
    out->last_index = rec.index;
    out->records++;
    p += used;
  }
  out->valid_bytes = p;
  out->end = CHORUS_WALREC_CLEAN;
}
