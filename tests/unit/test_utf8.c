/* UTF-8 validation against RFC 3629's rules. */
#include <string.h>

#include "check.h"
#include "utf8.h"

#define VALID(s) chorus_utf8_valid((const uint8_t *)(s), sizeof(s) - 1)

static void test_valid(void) {
  CHECK(VALID(""));
  CHECK(VALID("plain ascii"));
  CHECK(VALID("caf\xc3\xa9"));          /* é */
  CHECK(VALID("\xe2\x82\xac"));         /* € */
  CHECK(VALID("\xf0\x9f\x98\x80"));     /* U+1F600 */
  CHECK(VALID("\xf4\x8f\xbf\xbf"));     /* U+10FFFF */
}

static void test_invalid(void) {
  CHECK(!VALID("\x80"));                /* lone continuation */
  CHECK(!VALID("\xc0\xaf"));            /* overlong '/' */
  CHECK(!VALID("\xe0\x80\xaf"));        /* overlong, 3 bytes */
  CHECK(!VALID("\xed\xa0\x80"));        /* surrogate U+D800 */
  CHECK(!VALID("\xf4\x90\x80\x80"));    /* above U+10FFFF */
  CHECK(!VALID("\xf5\x80\x80\x80"));
  CHECK(!VALID("\xc3"));                /* truncated */
  CHECK(!VALID("\xe2\x82"));
  CHECK(!VALID("\xe2\x28\xa1"));        /* bad continuation */
  CHECK(!VALID("\xff"));
}

/* Long ASCII runs are checked a word at a time: a bad byte (or a sequence
 * cut off, or a valid one) at every position of a 40-byte text, inside a
 * word or in the tail shorter than a word, is still seen. */
static void test_every_position(void) {
  uint8_t t[40];
  for (size_t len = 1; len <= sizeof t; len++)
    for (size_t at = 0; at < len; at++) {
      memset(t, 'a', sizeof t);
      t[at] = 0x80;
      CHECK(!chorus_utf8_valid(t, len));
      t[at] = 0xc3; /* the lead of a 2-byte sequence */
      CHECK(chorus_utf8_valid(t, len) == 0); /* followed by 'a' or cut off */
      if (at + 1 < len) {
        t[at + 1] = 0xa9;
        CHECK(chorus_utf8_valid(t, len));
      }
      memset(t, 'a', sizeof t);
      CHECK(chorus_utf8_valid(t, len));
    }
}

int main(void) {
  RUN(test_valid);
  RUN(test_invalid);
  RUN(test_every_position);
  return CHECK_SUMMARY();
}
