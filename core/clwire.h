/*
 * chorus_clw: the replica-to-replica wire format of a server cluster
 * ('C' 'R', version 1), carrying the Fast Bully election (core/bully.h) and
 * log replication (core/repl.h). Encoded and decoded byte by byte,
 * big-endian; no struct is cast over a buffer. The decoder is total: any
 * byte string gives a message or a negative chorus_err code, trailing bytes
 * are refused, so a decoded message re-encodes to the same bytes.
 *
 * Every datagram is at most CHORUS_CLW_DATAGRAM_BYTES_MAX (1200) bytes.
 *
 *   header (13 bytes)
 *     0  magic   2  'C' 'R'
 *     2  version 1  1
 *     3  type    1  enum chorus_clw_type
 *     4  from    1  the sender's replica index (cluster file order)
 *     5  epoch   8  the sender's current epoch (see core/bully.h)
 *
 *   type              body
 *   1  ELECTION       (empty)
 *   2  ANSWER         (empty)
 *   3  NOMINATION     (empty)
 *   4  COORDINATOR    (empty; the header's epoch is the new leadership)
 *   5  IAM_UP         (empty)
 *   6  VIEW           leader u8 (0xff: none known)
 *   7  HEARTBEAT      (empty)
 *   16 STATE          last u64, last_epoch u64, commit u64
 *   17 STATE_REQ      (empty)
 *   18 APPEND         prev u64, prev_epoch u64, commit u64, n u8,
 *                     n * (epoch u64, len u16, len bytes)
 *   19 APPEND_ACK     ok u8 (0/1), index u64 (ok: last index matched;
 *                     else: where the leader should retry from, minus 1)
 *   20 FETCH          from u64 (first index wanted)
 *   21 FETCHED        same body as APPEND (commit = the sender's last)
 *   22 SNAP           index u64, snap_epoch u64, total u32, offset u32,
 *                     len u16, len bytes
 *   23 SNAP_ACK       index u64, next u32 (the offset wanted next; total
 *                     when complete)
 *
 * Records in APPEND and FETCHED have the indexes prev+1, prev+2, ...
 */
#ifndef CHORUS_CLWIRE_H
#define CHORUS_CLWIRE_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_CLW_VERSION 1
#define CHORUS_CLW_DATAGRAM_BYTES_MAX 1200
#define CHORUS_CLW_HEADER_BYTES 13
#define CHORUS_CLW_APPEND_FIXED_BYTES (CHORUS_CLW_HEADER_BYTES + 25)
#define CHORUS_CLW_RECORD_OVERHEAD_BYTES 10 /* epoch u64 + len u16 */
/* The largest record payload that fits one APPEND alone. */
#define CHORUS_CLW_RECORD_BYTES_MAX \
  (CHORUS_CLW_DATAGRAM_BYTES_MAX - CHORUS_CLW_APPEND_FIXED_BYTES - \
   CHORUS_CLW_RECORD_OVERHEAD_BYTES)
#define CHORUS_CLW_RECORDS_MAX 64 /* per APPEND (the n byte is capped) */
#define CHORUS_CLW_SNAP_FIXED_BYTES (CHORUS_CLW_HEADER_BYTES + 26)
#define CHORUS_CLW_SNAP_CHUNK_BYTES_MAX \
  (CHORUS_CLW_DATAGRAM_BYTES_MAX - CHORUS_CLW_SNAP_FIXED_BYTES)
#define CHORUS_CLW_NO_LEADER 0xff

enum chorus_clw_type {
  CHORUS_CLW_ELECTION = 1,
  CHORUS_CLW_ANSWER = 2,
  CHORUS_CLW_NOMINATION = 3,
  CHORUS_CLW_COORDINATOR = 4,
  CHORUS_CLW_IAM_UP = 5,
  CHORUS_CLW_VIEW = 6,
  CHORUS_CLW_HEARTBEAT = 7,
  CHORUS_CLW_STATE = 16,
  CHORUS_CLW_STATE_REQ = 17,
  CHORUS_CLW_APPEND = 18,
  CHORUS_CLW_APPEND_ACK = 19,
  CHORUS_CLW_FETCH = 20,
  CHORUS_CLW_FETCHED = 21,
  CHORUS_CLW_SNAP = 22,
  CHORUS_CLW_SNAP_ACK = 23,
};

/* One record inside an APPEND or FETCHED; data points into the datagram
 * (decode) or the caller's memory (encode). */
typedef struct chorus_clw_record {
  uint64_t epoch;
  uint16_t len;
  const uint8_t *data;
} chorus_clw_record;

/* A decoded message; the fields its type does not use are zero. */
typedef struct chorus_clw_msg {
  uint8_t type;   /* enum chorus_clw_type */
  uint8_t from;   /* sender's replica index */
  uint64_t epoch; /* sender's epoch */
  uint8_t leader; /* VIEW */
  uint64_t index; /* STATE: last; APPEND/FETCHED: prev; APPEND_ACK: index;
                     FETCH: from; SNAP/SNAP_ACK: snapshot index */
  uint64_t index_epoch; /* STATE: last_epoch; APPEND/FETCHED: prev_epoch;
                           SNAP: snap_epoch */
  uint64_t commit; /* STATE, APPEND, FETCHED */
  uint8_t ok;      /* APPEND_ACK */
  uint32_t total, offset; /* SNAP (offset); SNAP_ACK: offset = next */
  uint16_t chunk_len;     /* SNAP */
  const uint8_t *chunk;   /* SNAP: points into the datagram */
  uint8_t n;              /* APPEND, FETCHED: records */
  chorus_clw_record rec[CHORUS_CLW_RECORDS_MAX];
} chorus_clw_msg;

/*
 * chorus_clw_encode writes m into buf[0..cap_bytes). Returns the bytes
 * written, or CHORUS_ERR_INVAL (unknown type, n above
 * CHORUS_CLW_RECORDS_MAX, a NULL data with a length), CHORUS_ERR_NOBUF (it
 * does not fit cap_bytes, or CHORUS_CLW_DATAGRAM_BYTES_MAX).
 */
int chorus_clw_encode(uint8_t *buf, size_t cap_bytes, const chorus_clw_msg *m);

/*
 * chorus_clw_decode parses buf[0..len) into *m (zeroed first; record and
 * chunk pointers point into buf). Returns 0, or CHORUS_ERR_TOO_BIG (above
 * 1200 bytes), CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_MAGIC,
 * CHORUS_ERR_BAD_VERSION, CHORUS_ERR_BAD_FRAME (unknown type, n above the
 * limit, an ok byte other than 0/1, a chunk past total, trailing bytes).
 * The sender index is not checked against a cluster: the caller does.
 */
int chorus_clw_decode(const uint8_t *buf, size_t len, chorus_clw_msg *m);

/* Size of the APPEND that would carry records of these payload bytes in
 * total over n records; for packing a datagram. */
size_t chorus_clw_append_bytes(size_t n, size_t payload_bytes);

/* "election", "append", ...; "unknown" otherwise. Never NULL. */
const char *chorus_clw_typename(int type);

/* Big-endian u64 helpers (shared by the cluster modules). */
void chorus_clw_put_u64(uint8_t *p, uint64_t v);
uint64_t chorus_clw_get_u64(const uint8_t *p);

#endif
