#include "utf8.h"

#include <string.h>

/* 1 if the 8 bytes at s are all ASCII: chat text mostly is, and checking a
 * word at a time makes validating a long message cheap (the high bits of
 * the bytes are tested together, so byte order does not matter). */
static int ascii8(const uint8_t *s) {
  uint64_t w;
  memcpy(&w, s, sizeof w);
  return (w & 0x8080808080808080u) == 0;
}

/* Length of the sequence led by byte b, or 0 if b cannot lead one. */
static size_t seq_len(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

/* Allowed range of the second byte, per RFC 3629 section 4 (Table 3-7 of Unicode). */
static int second_ok(uint8_t lead, uint8_t b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF; /* no overlongs */
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F; /* no surrogates */
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF; /* no overlongs */
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F; /* <= U+10FFFF */
  return b >= 0x80 && b <= 0xBF;
}

int chorus_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (len - i >= 8 && ascii8(s + i)) {
      i += 8;
      continue;
    }
    size_t n = seq_len(s[i]);
    if (n == 0 || n > len - i) return 0;
    if (n > 1 && !second_ok(s[i], s[i + 1])) return 0;
    for (size_t k = 2; k < n; k++)
      if ((s[i + k] & 0xC0) != 0x80) return 0;
    i += n;
  }
  return 1;
}
