/*
 * chorus_wire: wire format v1, encoded and decoded byte by byte in network
 * byte order (big-endian). No struct is ever cast over a buffer, and every
 * decoder is total: any byte string yields a value or a negative error.
 *
 * Datagram = header, then zero or more frames, at most 1200 bytes.
 *
 *   header (16 bytes)
 *     0  magic     2  'C' 'H'
 *     2  version   1  1
 *     3  flags     1  bit0 UNADMITTED: the sender has seen this incarnation
 *                      of the receiver but not let it into its view (it
 *                      restarted, or was removed): the receiver waits for
 *                      the coordinator's JOIN_STATE before it delivers or
 *                      changes views; bit1 JOINING: the sender was told so
 *                      and still waits for that JOIN_STATE (a coordinator
 *                      that admitted it may have crashed before sending
 *                      it); other bits reserved, non-zero rejected
 *     4  src_id    4  FNV-1a 32 of the sender's name
 *     8  src_epoch 4  sender's incarnation (never 0)
 *    12  dst_epoch 4  receiver's incarnation as the sender knows it, 0 if unknown
 *
 *   DATA  (type 0x01, 18 bytes + fragment)
 *     type 1 | seq 4 | kind 1 | order 1 | flags 1 | msg_id 4 | msg_len 4 |
 *     frag_len 2 | fragment bytes
 *     flags: bit0 FIRST fragment of the message, bit1 LAST fragment.
 *     seq is the low 32 bits of the link's 64-bit frame number.
 *   ACK   (type 0x02, 6 + 6 per range bytes)
 *     type 1 | cum 4 | nranges 1 | nranges * (start 4 | count 2)
 *     cum: every frame below it was received (low 32 bits, like seq).
 *     ranges (SACK): frames start..start+count-1 received, above cum, in
 *     ascending order, not touching each other.
 *   HELLO (type 0x03, 1 byte): asks the receiver to answer, so the sender
 *     learns its epoch before sending data.
 *   STATE (type 0x04, 6 + 8 n bytes): stability report, sent unreliably
 *     (every report supersedes the previous one)
 *     type 1 | view 4 | n 1 | n * held 4 | n * stable 4
 *     held[k]: messages of member rank k held contiguously by the sender;
 *     stable[k]: of those, how many every member of its view holds.
 *
 *   PROBE (0x05), VOUCH (0x06), SUSPECT (0x07), ALIVE (0x08), 9 bytes each:
 *     type 1 | member id 4 | incarnation 4   (failure detector, fd.h;
 *     unreliable; incarnation is 0 in PROBE, and in VOUCH it is the age in
 *     ms of the voucher's last datagram from the member)
 *
 * DATA kind: 0 room message, 1 private message, 2 room control message.
 * Message payloads (room header, control) are defined in room.h.
 */
#ifndef CHORUS_WIRE_H
#define CHORUS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_WIRE_VERSION 1
#define CHORUS_WIRE_HEADER_BYTES 16
#define CHORUS_WIRE_DATA_OVERHEAD_BYTES 18
#define CHORUS_WIRE_SACK_RANGES_MAX 8
#define CHORUS_WIRE_ACK_BYTES_MAX (6 + 6 * CHORUS_WIRE_SACK_RANGES_MAX)
#define CHORUS_WIRE_STATE_MEMBERS_MAX 10
#define CHORUS_WIRE_STATE_BYTES(n) (6 + 8 * (size_t)(n)) /* n members */
#define CHORUS_WIRE_STATE_BYTES_MAX CHORUS_WIRE_STATE_BYTES(CHORUS_WIRE_STATE_MEMBERS_MAX)
#define CHORUS_WIRE_FD_FRAMES_MAX 4 /* failure-detector frames per datagram */
#define CHORUS_WIRE_FD_BYTES_MAX (CHORUS_WIRE_FD_FRAMES_MAX * 9)
/* Largest fragment that fits beside a full ACK frame in one datagram
 * (1112 bytes): a 1 KiB room message with its header is one fragment, one
 * datagram. A STATE frame and the failure detector's frames ride where
 * room is left; when they must go, the fragment waits for the next
 * datagram (peer.c, poll_datagram). */
#define CHORUS_WIRE_FRAG_BYTES_MAX                                     \
  (1200 - CHORUS_WIRE_HEADER_BYTES - CHORUS_WIRE_ACK_BYTES_MAX -       \
   CHORUS_WIRE_DATA_OVERHEAD_BYTES)

enum chorus_wire_kind {
  CHORUS_WIRE_KIND_ROOM = 0,
  CHORUS_WIRE_KIND_PRIVATE = 1,
  CHORUS_WIRE_KIND_CONTROL = 2,
};

enum chorus_frame_type {
  CHORUS_FRAME_DATA = 0x01,
  CHORUS_FRAME_ACK = 0x02,
  CHORUS_FRAME_HELLO = 0x03,
  CHORUS_FRAME_STATE = 0x04,
  CHORUS_FRAME_PROBE = 0x05,
  CHORUS_FRAME_VOUCH = 0x06,
  CHORUS_FRAME_SUSPECT = 0x07,
  CHORUS_FRAME_ALIVE = 0x08,
  CHORUS_FRAME_BEACON = 0x09,
};

/* BEACON: type | coord 1 | view 4 | ranks 4 | low 1 | view_id 4
 * (docs/PROTOCOL.md, "Merging views"): sent to members this node removed,
 * so a healed partition is noticed, naming the sender's view (ordering
 * epoch), its members by rank, the rank of its coordinator, the lowest
 * coordinator rank it knows of (its own, or another side's that beaconed it
 * lately) and its membership view number (a merged view is numbered above
 * both sides'). */
#define CHORUS_WIRE_BEACON_BYTES 15

#define CHORUS_WIRE_MEMBER_BYTES 9

#define CHORUS_DATA_FIRST 0x01
#define CHORUS_DATA_LAST 0x02

#define CHORUS_WIRE_HDR_UNADMITTED 0x01
#define CHORUS_WIRE_HDR_JOINING 0x02
#define CHORUS_WIRE_HDR_FLAGS (CHORUS_WIRE_HDR_UNADMITTED | CHORUS_WIRE_HDR_JOINING)

typedef struct chorus_wire_header {
  uint32_t src_id;
  uint32_t src_epoch;
  uint32_t dst_epoch;
  uint8_t flags; /* CHORUS_WIRE_HDR_UNADMITTED, _JOINING, or 0 */
} chorus_wire_header;

typedef struct chorus_wire_data {
  uint32_t seq;
  uint8_t kind;  /* enum chorus_msg_kind */
  uint8_t order; /* enum chorus_order */
  uint8_t flags; /* CHORUS_DATA_FIRST | CHORUS_DATA_LAST */
  uint32_t msg_id;
  uint32_t msg_len;
  uint16_t frag_len;
  const uint8_t *frag; /* decode: points into the input buffer */
} chorus_wire_data;

typedef struct chorus_wire_range {
  uint32_t start;
  uint16_t count;
} chorus_wire_range;

typedef struct chorus_wire_ack {
  uint32_t cum;
  uint8_t nranges;
  chorus_wire_range ranges[CHORUS_WIRE_SACK_RANGES_MAX];
} chorus_wire_ack;

typedef struct chorus_wire_state {
  uint32_t view;
  uint8_t n;
  uint32_t held[CHORUS_WIRE_STATE_MEMBERS_MAX];
  uint32_t stable[CHORUS_WIRE_STATE_MEMBERS_MAX];
} chorus_wire_state;

/* PROBE, VOUCH, SUSPECT, ALIVE: about one member. */
typedef struct chorus_wire_member {
  uint32_t id, incarnation;
} chorus_wire_member;

/* BEACON: the sender's side of a partition. */
typedef struct chorus_wire_beacon {
  uint8_t coord;  /* rank of the sender's coordinator */
  uint32_t view;  /* the sender's ordering epoch (chorus_room.view) */
  uint32_t ranks; /* its members, bit per rank */
  uint8_t low;    /* lowest coordinator rank it knows of, <= coord */
  uint32_t view_id; /* the sender's membership view number */
} chorus_wire_beacon;

typedef struct chorus_wire_frame {
  enum chorus_frame_type type;
  union {
    chorus_wire_data data;
    chorus_wire_ack ack;
    chorus_wire_state state;
    chorus_wire_member member;
    chorus_wire_beacon beacon;
  } u;
} chorus_wire_frame;

/* Big-endian helpers. The caller guarantees the bytes are there. */
void chorus_wire_put_u16(uint8_t *p, uint16_t v);
void chorus_wire_put_u32(uint8_t *p, uint32_t v);
uint16_t chorus_wire_get_u16(const uint8_t *p);
uint32_t chorus_wire_get_u32(const uint8_t *p);

/* FNV-1a 32-bit hash of `name`: the sender id on the wire. */
uint32_t chorus_wire_name_id(const char *name);

/*
 * Encoders write into buf[0..cap_bytes) and return the bytes written, or
 * CHORUS_ERR_NOBUF if they do not fit (nothing useful is written then).
 * chorus_wire_data_encode also returns CHORUS_ERR_INVAL if frag_len exceeds
 * CHORUS_WIRE_FRAG_BYTES_MAX; chorus_wire_ack_encode if nranges exceeds
 * CHORUS_WIRE_SACK_RANGES_MAX.
 */
int chorus_wire_header_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_wire_header *h);
int chorus_wire_data_encode(uint8_t *buf, size_t cap_bytes,
                            const chorus_wire_data *d);
int chorus_wire_ack_encode(uint8_t *buf, size_t cap_bytes,
                           const chorus_wire_ack *a);
int chorus_wire_hello_encode(uint8_t *buf, size_t cap_bytes);
/* `type` must be PROBE, VOUCH, SUSPECT or ALIVE (else CHORUS_ERR_INVAL). */
int chorus_wire_member_encode(uint8_t *buf, size_t cap_bytes, uint8_t type,
                              const chorus_wire_member *m);
int chorus_wire_beacon_encode(uint8_t *buf, size_t cap_bytes,
                              const chorus_wire_beacon *b);
/* Also CHORUS_ERR_INVAL if n exceeds CHORUS_WIRE_STATE_MEMBERS_MAX. */
int chorus_wire_state_encode(uint8_t *buf, size_t cap_bytes,
                             const chorus_wire_state *st);

/*
 * chorus_wire_header_decode parses the header at buf[0..len).
 * Returns CHORUS_WIRE_HEADER_BYTES, or CHORUS_ERR_TOO_BIG (len > 1200),
 * CHORUS_ERR_TRUNCATED, CHORUS_ERR_BAD_MAGIC, CHORUS_ERR_BAD_VERSION,
 * CHORUS_ERR_BAD_FRAME (reserved flag bits set or src_epoch 0).
 * Magic is checked before version so foreign traffic is told apart from a
 * chorus of another version.
 */
int chorus_wire_header_decode(const uint8_t *buf, size_t len,
                              chorus_wire_header *h);

/*
 * chorus_wire_frame_decode parses one frame at buf[0..len) (len > 0).
 * Returns the bytes consumed (> 0), or CHORUS_ERR_TRUNCATED or
 * CHORUS_ERR_BAD_FRAME (unknown type, bad flags, kind or order out of range,
 * fragment longer than the message or than CHORUS_WIRE_FRAG_BYTES_MAX,
 * message longer than 65536, empty fragment, SACK ranges out of order,
 * empty or not above cum, STATE with n = 0 or n > 10, stable above held,
 * BEACON with coord >= 10, ranks beyond 10 bits or without coord, or low
 * above coord).
 * DATA fragments point into buf.
 */
int chorus_wire_frame_decode(const uint8_t *buf, size_t len,
                             chorus_wire_frame *f);

/*
 * chorus_wire_seq_expand recovers a 64-bit frame number from its low 32 bits
 * `wire`, choosing the value closest to `expected` (RFC 9000 appendix A.3
 * applied to a 32-bit field).
 */
uint64_t chorus_wire_seq_expand(uint64_t expected, uint32_t wire);

#endif
