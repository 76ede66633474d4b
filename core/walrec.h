/*
 * chorus_walrec: the record codec of the write-ahead log (platform/wal.h)
 * and of the simulated disk (sim/disk.h). Pure: no I/O.
 *
 * A record, big-endian, byte by byte:
 *
 *   0  hcrc     4  CRC-32C of bytes 4..20 (the rest of the header)
 *   4  len      4  payload bytes
 *   8  type     1  the caller's record type
 *   9  index    8  position in the log; consecutive records have
 *                  consecutive indices, so replicas can compare logs
 *   17 pcrc     4  CRC-32C of the payload
 *   21 payload  len bytes
 *
 * The header has its own checksum so that a record's length can be trusted
 * before its payload is read: a flipped length bit is caught instead of
 * pointing the reader at a wrong next record.
 *
 * Torn or corrupt. A crash while the last record is being written leaves a
 * prefix of it (or, on some file systems, a file extended with zeros or
 * garbage): damage that nothing valid follows. A flipped bit in the middle
 * of the log is damage with valid records after it. So, where the first
 * record that does not decode starts at offset p of an image of n bytes:
 *
 *   the damage is CORRUPT iff a valid record header starts somewhere after
 *   it: at any offset in [e, n) when the damaged record's own header is
 *   valid and it ends at e < n; at any offset in (p, n) when its header is
 *   damaged (its length is then unknown). Otherwise it is a TORN tail.
 *
 * In particular a header cut short by the end of the image, a valid header
 * whose payload runs past the end, and a bad checksum in the very last
 * record are TORN. A valid header anywhere after the damage proves the log
 * went on, so the damaged record was not the last write: it is corruption,
 * and the caller must stop rather than drop the records after it. The rule
 * errs that way on purpose: a false CORRUPT stops a server for an operator
 * to look at; a false TORN would silently drop acknowledged data.
 */
#ifndef CHORUS_WALREC_H
#define CHORUS_WALREC_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_WALREC_HEADER_BYTES 21
#define CHORUS_WALREC_PAYLOAD_BYTES_MAX 0xffffffffu /* len is a u32 */

/* A decoded record header. */
typedef struct chorus_walrec_header {
  uint32_t len;          /* payload bytes */
  uint8_t type;          /* caller's type */
  uint64_t index;        /* log position */
  uint32_t payload_crc;  /* CRC-32C of the payload */
} chorus_walrec_header;

/* A decoded record; payload points into the decoded bytes (borrowed). */
typedef struct chorus_walrec {
  uint8_t type;
  uint64_t index;
  const uint8_t *payload; /* NULL when len is 0 */
  size_t len;             /* payload bytes */
} chorus_walrec;

/* How an image ends after its valid prefix (see the rule above). */
enum chorus_walrec_end {
  CHORUS_WALREC_CLEAN = 0,   /* the image is whole records only */
  CHORUS_WALREC_TORN = 1,    /* a damaged last record: truncate it */
  CHORUS_WALREC_CORRUPT = 2, /* damage with valid data after it: stop */
};

typedef struct chorus_walrec_scan_result {
  size_t valid_bytes;    /* length of the prefix of whole, valid records */
  size_t records;        /* records in that prefix */
  int end;               /* enum chorus_walrec_end */
  size_t evidence_at;    /* CORRUPT: offset of the valid header after the
                            damage (the proof it was not the tail); else 0 */
  uint64_t first_index;  /* index of the first valid record (0 if none) */
  uint64_t last_index;   /* index of the last valid record (0 if none) */
} chorus_walrec_scan_result;

/*
 * chorus_walrec_header_encode writes the 21-byte header of a record with
 * the given type, index and payload[0..len_bytes) into out (which must hold
 * CHORUS_WALREC_HEADER_BYTES), so a caller can write the header and a large
 * payload separately. payload may be NULL only when len_bytes is 0.
 * Returns 0, or CHORUS_ERR_INVAL if len_bytes exceeds
 * CHORUS_WALREC_PAYLOAD_BYTES_MAX.
 */
int chorus_walrec_header_encode(uint8_t *out, uint8_t type, uint64_t index,
                                const uint8_t *payload, size_t len_bytes);

/*
 * chorus_walrec_encode writes a whole record (header, then payload) into
 * out[0..cap_bytes). Returns 0 and the record's size in *used_bytes, or
 * CHORUS_ERR_NOBUF (out too small; nothing written), CHORUS_ERR_INVAL
 * (payload too long).
 */
int chorus_walrec_encode(uint8_t *out, size_t cap_bytes, uint8_t type, uint64_t index,
                         const uint8_t *payload, size_t len_bytes, size_t *used_bytes);

/*
 * chorus_walrec_header_decode decodes the header at in[0..n_bytes). Total.
 * Returns 0 with *h filled, CHORUS_ERR_TRUNCATED (fewer than 21 bytes: need
 * more) or CHORUS_ERR_CORRUPT (header checksum mismatch).
 */
int chorus_walrec_header_decode(const uint8_t *in, size_t n_bytes, chorus_walrec_header *h);

/*
 * chorus_walrec_decode decodes the record at the start of in[0..n_bytes).
 * Total: any bytes give one of
 *   0 with *rec filled (payload borrowed from in) and its size in
 *     *used_bytes;
 *   CHORUS_ERR_TRUNCATED: a prefix of a record (short header, or a valid
 *     header whose payload runs past n_bytes): need more, or torn;
 *   CHORUS_ERR_CORRUPT: a header or payload checksum mismatch.
 * *rec and *used_bytes are zeroed on errors.
 */
int chorus_walrec_decode(const uint8_t *in, size_t n_bytes, chorus_walrec *rec,
                         size_t *used_bytes);

/*
 * chorus_walrec_scan walks a whole image img[0..n_bytes) (a log file),
 * record by record, and reports its valid prefix and how it ends, by the
 * rule at the top of this file. Total and never fails; img may be NULL
 * only when n_bytes is 0. Indices are not checked here (the log does that).
 */
void chorus_walrec_scan(const uint8_t *img, size_t n_bytes, chorus_walrec_scan_result *out);

#endif
