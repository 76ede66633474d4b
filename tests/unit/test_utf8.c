/* UTF-8 validation against RFC 3629's rules. */
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

int main(void) {
  RUN(test_valid);
  RUN(test_invalid);
  return CHECK_SUMMARY();
}
