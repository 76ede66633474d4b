/*
 * libFuzzer target: the datagram decoders. Any byte string must decode to a
 * header and frames or to an error, never read out of bounds; what decodes
 * must re-encode to the same bytes (the codec is a bijection on valid input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

static void reencode(const chorus_wire_frame *f, const uint8_t *in, size_t n) {
  uint8_t out[1200];
  int k = -1;
  if (f->type == CHORUS_FRAME_DATA) k = chorus_wire_data_encode(out, sizeof out, &f->u.data);
  else if (f->type == CHORUS_FRAME_ACK) k = chorus_wire_ack_encode(out, sizeof out, &f->u.ack);
  else if (f->type == CHORUS_FRAME_HELLO) k = chorus_wire_hello_encode(out, sizeof out);
  else if (f->type == CHORUS_FRAME_STATE) k = chorus_wire_state_encode(out, sizeof out, &f->u.state);
  else if (f->type == CHORUS_FRAME_BEACON) k = chorus_wire_beacon_encode(out, sizeof out, &f->u.beacon);
  else k = chorus_wire_member_encode(out, sizeof out, (uint8_t)f->type, &f->u.member);
  if (k != (int)n || memcmp(out, in, n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chorus_wire_header h;
  int n = chorus_wire_header_decode(data, size, &h);
  if (n < 0) return 0;
  size_t off = (size_t)n;
  while (off < size) {
    chorus_wire_frame f;
    int k = chorus_wire_frame_decode(data + off, size - off, &f);
    if (k < 0) return 0;
    if ((size_t)k > size - off) abort(); /* consumed more than it had */
    reencode(&f, data + off, (size_t)k);
    off += (size_t)k;
  }
  return 0;
}
