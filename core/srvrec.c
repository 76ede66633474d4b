#include "srvrec.h"

#include <string.h>

#include "clwire.h"
#include "err.h"
#include "wire.h"

typedef struct rec_io {
  uint8_t *w;       /* encode: output, NULL when decoding */
  const uint8_t *r; /* decode: input */
  size_t cap, off;
  int err;
} rec_io;

static int rec_room(rec_io *io, size_t n) {
  if (io->err) return 0;
  if (io->cap - io->off < n) {
    io->err = io->w ? CHORUS_ERR_NOBUF : CHORUS_ERR_TRUNCATED;
    return 0;
  }
  return 1;
}

/* Each field codec runs both ways: encode when io->w, else decode. */
static void rec_bytes(rec_io *io, uint8_t *p, size_t n) {
  if (!rec_room(io, n)) return;
  if (io->w) memcpy(io->w + io->off, p, n);
  else memcpy(p, io->r + io->off, n);
  io->off += n;
}

static void rec_u8(rec_io *io, uint8_t *v) { rec_bytes(io, v, 1); }

static void rec_u16(rec_io *io, uint16_t *v) {
  uint8_t b[2];
  if (io->w) chorus_wire_put_u16(b, *v);
  rec_bytes(io, b, 2);
  if (!io->w && !io->err) *v = chorus_wire_get_u16(b);
}

static void rec_u32(rec_io *io, uint32_t *v) {
  uint8_t b[4];
  if (io->w) chorus_wire_put_u32(b, *v);
  rec_bytes(io, b, 4);
  if (!io->w && !io->err) *v = chorus_wire_get_u32(b);
}

static void rec_u64(rec_io *io, uint64_t *v) {
  uint8_t b[8];
  if (io->w) chorus_clw_put_u64(b, *v);
  rec_bytes(io, b, 8);
  if (!io->w && !io->err) *v = chorus_clw_get_u64(b);
}

static void rec_bad(rec_io *io) {
  if (!io->err) io->err = io->w ? CHORUS_ERR_INVAL : CHORUS_ERR_BAD_FRAME;
}

/* A valid name, str8. */
static void rec_name(rec_io *io, char *s) {
  uint8_t n = 0;
  if (io->w) {
    size_t len = strnlen(s, CHORUS_NAME_BYTES_MAX + 1);
    if (!chorus_srv_name_valid(s, len)) { rec_bad(io); return; }
    n = (uint8_t)len;
  }
  rec_u8(io, &n);
  if (io->err) return;
  if (n > CHORUS_NAME_BYTES_MAX) { rec_bad(io); return; }
  rec_bytes(io, (uint8_t *)s, n);
  if (io->err) return;
  s[n] = '\0';
  if (!chorus_srv_name_valid(s, n)) rec_bad(io);
}

static void rec_addr(rec_io *io, chorus_srv_addr *a) {
  rec_u8(io, &a->len);
  if (io->err) return;
  if (a->len > CHORUS_SRV_ADDR_BYTES_MAX) { rec_bad(io); return; }
  rec_bytes(io, a->bytes, a->len);
}

static void rec_text(rec_io *io, chorus_srvrec *x) {
  rec_u16(io, &x->text_len);
  if (io->err) return;
  if (x->text_len > CHORUS_SRV_MSG_BYTES_MAX) { rec_bad(io); return; }
  rec_bytes(io, x->text, x->text_len);
}

static void rec_body(rec_io *io, chorus_srvrec *x) {
  switch (x->type) {
  case CHORUS_SRVREC_NOOP: break;
  case CHORUS_SRVREC_SIGNUP:
    rec_name(io, x->user);
    rec_bytes(io, x->salt, sizeof x->salt);
    rec_bytes(io, x->hash, sizeof x->hash);
    rec_u32(io, &x->iterations);
    rec_addr(io, &x->addr);
    rec_u32(io, &x->rid);
    break;
  case CHORUS_SRVREC_DELETE:
  case CHORUS_SRVREC_LEAVE: rec_name(io, x->user); break;
  case CHORUS_SRVREC_SET_ADDR:
    rec_name(io, x->user);
    rec_addr(io, &x->addr);
    break;
  case CHORUS_SRVREC_ROOM_CREATE:
    rec_name(io, x->room);
    rec_name(io, x->from);
    break;
  case CHORUS_SRVREC_JOIN:
    rec_name(io, x->user);
    rec_name(io, x->room);
    break;
  case CHORUS_SRVREC_MSG_STORE:
    rec_name(io, x->user);
    rec_name(io, x->from);
    rec_u64(io, &x->sender_epoch);
    rec_u64(io, &x->msg_id);
    rec_text(io, x);
    break;
  case CHORUS_SRVREC_MSG_ACK:
    rec_name(io, x->user);
    rec_u64(io, &x->upto);
    break;
  default: rec_bad(io); break;
  }
}

int chorus_srvrec_encode(uint8_t *buf, size_t cap_bytes, const chorus_srvrec *rec) {
  if (buf == NULL || rec == NULL) return CHORUS_ERR_INVAL;
  chorus_srvrec x = *rec; /* the codec's fields are read-write */
  rec_io io = {buf, NULL, cap_bytes, 0, 0};
  rec_u8(&io, &x.type);
  rec_body(&io, &x);
  return io.err ? io.err : (int)io.off;
}

int chorus_srvrec_decode(const uint8_t *buf, size_t len, chorus_srvrec *rec) {
  if (rec == NULL || (buf == NULL && len > 0)) return CHORUS_ERR_INVAL;
  memset(rec, 0, sizeof *rec);
  rec_io io = {NULL, buf, len, 0, 0};
  rec_u8(&io, &rec->type);
  rec_body(&io, rec);
  if (io.err) return io.err;
  return io.off == len ? 0 : CHORUS_ERR_BAD_FRAME;
}
