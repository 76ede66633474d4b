/* SHA-256, HMAC-SHA256, PBKDF2-HMAC-SHA256 against the published vectors
 * (FIPS 180-4 examples, RFC 4231, RFC 7914 section 11), streaming against
 * one-shot, and every documented error. */
#include <stdint.h>

#include "check.h"
#include "crypto.h"
#include "err.h"

/* Decodes lowercase hex (even length, no spaces) into out. */
static size_t unhex(const char *hex, uint8_t *out) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    for (int k = 0; k < 2; k++) {
      char c = hex[2 * i + (size_t)k];
      v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    out[i] = (uint8_t)v;
  }
  return n;
}

/* 1 if got starts with the bytes spelled by hex; prints got otherwise. */
static int same_hex(const uint8_t *got, const char *hex) {
  uint8_t want[128];
  size_t n = unhex(hex, want);
  if (memcmp(got, want, n) == 0) return 1;
  fprintf(stderr, "  got  ");
  for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", got[i]);
  fprintf(stderr, "\n  want %s\n", hex);
  return 0;
}

static const uint8_t *u8(const char *s) { return (const uint8_t *)s; }

static const char ABC_448[] =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

/* FIPS 180-2 appendix B.1-B.3 (the NIST SHA-256 examples), and the empty
 * message. */
static void test_sha256_fips(void) {
  uint8_t d[32];
  CHECK_EQ(chorus_sha256(u8(""), 0, d), CHORUS_OK);
  CHECK(same_hex(d, "e3b0c44298fc1c149afbf4c8996fb924"
                    "27ae41e4649b934ca495991b7852b855"));
  CHECK_EQ(chorus_sha256(u8("abc"), 3, d), CHORUS_OK);
  CHECK(same_hex(d, "ba7816bf8f01cfea414140de5dae2223"
                    "b00361a396177a9cb410ff61f20015ad"));
  CHECK_EQ(chorus_sha256(u8(ABC_448), strlen(ABC_448), d), CHORUS_OK);
  CHECK(same_hex(d, "248d6a61d20638b8e5c026930c3e6039"
                    "a33ce45964ff2167f6ecedd419db06c1"));
}

/* One million 'a' (B.3) fed in chunks of uneven sizes, so the partial-block
 * path is exercised at every offset within a block. */
static void test_sha256_million_a(void) {
  static const size_t chunk[] = {1, 63, 64, 65, 7, 128, 1000, 55, 3333};
  uint8_t a[3333], d[32];
  memset(a, 'a', sizeof a);
  chorus_sha256_ctx ctx;
  chorus_sha256_init(&ctx);
  size_t left = 1000000;
  for (size_t i = 0; left > 0; i++) {
    size_t n = chunk[i % (sizeof chunk / sizeof chunk[0])];
    if (n > left) n = left;
    chorus_sha256_update(&ctx, a, n);
    left -= n;
  }
  CHECK_EQ(chorus_sha256_final(&ctx, d), CHORUS_OK);
  CHECK(same_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67"
                    "f1809a48a497200e046d39ccc7112cd0"));
}

/* Messages of n 'a' around the padding boundaries (55 bytes: length fits in
 * the block; 56..63: it spills into an extra block). Expected values from
 * GNU coreutils sha256sum, an independent implementation. */
static void test_sha256_padding_boundaries(void) {
  static const struct {
    size_t n;
    const char *hex;
  } v[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  uint8_t a[120], d[32];
  memset(a, 'a', sizeof a);
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    CHECK_EQ(chorus_sha256(a, v[i].n, d), CHORUS_OK);
    CHECK(same_hex(d, v[i].hex));
  }
}

/* Every two-way and a sample of three-way splits give the one-shot digest. */
static void test_sha256_streaming_splits(void) {
  uint8_t msg[150], want[32], d[32];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 37 + 11);
  chorus_sha256(msg, sizeof msg, want);
  int bad = 0;
  for (size_t cut = 0; cut <= sizeof msg; cut++) {
    for (size_t cut2 = cut; cut2 <= sizeof msg; cut2 += 13) {
      chorus_sha256_ctx ctx;
      chorus_sha256_init(&ctx);
      chorus_sha256_update(&ctx, msg, cut);
      chorus_sha256_update(&ctx, msg + cut, cut2 - cut);
      chorus_sha256_update(&ctx, msg + cut2, sizeof msg - cut2);
      chorus_sha256_final(&ctx, d);
      bad += memcmp(d, want, 32) != 0;
    }
  }
  CHECK_EQ(bad, 0);
}

/* The 64-bit bit count stops at 2^64 - 8 bits (2^61 - 1 bytes), the largest
 * whole-byte length FIPS 180-4 allows, and refuses to wrap past it. The
 * count is set by hand: nobody can feed 2^61 bytes in a unit test. */
static void test_sha256_length_limit(void) {
  uint8_t d[32], x = 'x';
  chorus_sha256_ctx ctx;
  chorus_sha256_init(&ctx);
  ctx.bits = UINT64_MAX - 15; /* 2^64 - 16: room for exactly one byte */
  chorus_sha256_update(&ctx, &x, 1);
  CHECK(ctx.bits == UINT64_MAX - 7);
  CHECK_EQ(chorus_sha256_final(&ctx, d), CHORUS_OK);

  chorus_sha256_init(&ctx);
  ctx.bits = UINT64_MAX - 7;
  chorus_sha256_update(&ctx, &x, 1);
  CHECK(ctx.bits == UINT64_MAX - 7); /* unchanged, not wrapped */
  chorus_sha256_update(&ctx, NULL, 0); /* no-op, still failed */
  memset(d, 0xAA, sizeof d);
  CHECK_EQ(chorus_sha256_final(&ctx, d), CHORUS_ERR_INVAL);
  CHECK(same_hex(d, "00000000000000000000000000000000"
                    "00000000000000000000000000000000"));
#if SIZE_MAX > 0xFFFFFFFFu
  /* The length is checked before any byte is read. */
  CHECK_EQ(chorus_sha256(&x, SIZE_MAX, d), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_sha256(&x, ((size_t)1 << 61), d), CHORUS_ERR_INVAL);
#endif
}

static void test_sha256_null_data(void) {
  uint8_t d[32];
  CHECK_EQ(chorus_sha256(NULL, 0, d), CHORUS_OK); /* the empty message */
  CHECK(same_hex(d, "e3b0c44298fc1c149afbf4c8996fb924"
                    "27ae41e4649b934ca495991b7852b855"));
  memset(d, 0xAA, sizeof d);
  CHECK_EQ(chorus_sha256(NULL, 1, d), CHORUS_ERR_INVAL);
  CHECK(d[0] == 0 && d[31] == 0);
  chorus_sha256_ctx ctx; /* the failure is sticky across later updates */
  chorus_sha256_init(&ctx);
  chorus_sha256_update(&ctx, NULL, 5);
  chorus_sha256_update(&ctx, u8("abc"), 3);
  CHECK_EQ(chorus_sha256_final(&ctx, d), CHORUS_ERR_INVAL);
}

/* RFC 4231 section 4: test cases 1-7 for HMAC-SHA-256. */
static void test_hmac_rfc4231(void) {
  uint8_t key[131], data[50], mac[32];
  memset(key, 0x0b, 20); /* 1 */
  CHECK_EQ(chorus_hmac_sha256(key, 20, u8("Hi There"), 8, mac), CHORUS_OK);
  CHECK(same_hex(mac, "b0344c61d8db38535ca8afceaf0bf12b"
                      "881dc200c9833da726e9376c2e32cff7"));
  CHECK_EQ(chorus_hmac_sha256(u8("Jefe"), 4, /* 2: key shorter than hash */
                              u8("what do ya want for nothing?"), 28, mac),
           CHORUS_OK);
  CHECK(same_hex(mac, "5bdcc146bf60754e6a042426089575c7"
                      "5a003f089d2739839dec58b964ec3843"));
  memset(key, 0xaa, 20); /* 3: combined length above the block size */
  memset(data, 0xdd, 50);
  CHECK_EQ(chorus_hmac_sha256(key, 20, data, 50, mac), CHORUS_OK);
  CHECK(same_hex(mac, "773ea91e36800e46854db8ebd09181a7"
                      "2959098b3ef8c122d9635514ced565fe"));
  for (int i = 0; i < 25; i++) key[i] = (uint8_t)(i + 1); /* 4 */
  memset(data, 0xcd, 50);
  CHECK_EQ(chorus_hmac_sha256(key, 25, data, 50, mac), CHORUS_OK);
  CHECK(same_hex(mac, "82558a389a443c0ea4cc819899f2083a"
                      "85f0faa3e578f8077a2e3ff46729665b"));
  memset(key, 0x0c, 20); /* 5: truncated to 128 bits */
  CHECK_EQ(chorus_hmac_sha256(key, 20, u8("Test With Truncation"), 20, mac),
           CHORUS_OK);
  CHECK(same_hex(mac, "a3b6167473100ee06e0c796c2955552b"));
}

static const char TC6_DATA[] =
    "Test Using Larger Than Block-Size Key - Hash Key First";
static const char TC7_DATA[] =
    "This is a test using a larger than block-size key and a larger than "
    "block-size data. The key needs to be hashed before being used by the "
    "HMAC algorithm.";

/* RFC 4231 cases 6 and 7: a 131-byte key, hashed first. */
static void test_hmac_rfc4231_long_key(void) {
  uint8_t key[131], mac[32];
  memset(key, 0xaa, sizeof key);
  CHECK_EQ(chorus_hmac_sha256(key, 131, u8(TC6_DATA), strlen(TC6_DATA), mac),
           CHORUS_OK);
  CHECK(same_hex(mac, "60e431591ee0b67f0d8a26aacbf5b77f"
                      "8e0bc6213728c5140546040f0ee37f54"));
  CHECK_EQ(strlen(TC7_DATA), 152);
  CHECK_EQ(chorus_hmac_sha256(key, 131, u8(TC7_DATA), strlen(TC7_DATA), mac),
           CHORUS_OK);
  CHECK(same_hex(mac, "9b09ffa71b942fcb27635fbcd5b0e944"
                      "bfdc63644f0713938a7f51535c3a35e2"));
}

/* Case 7 streamed one byte at a time, and RFC 2104's rule that a long key
 * is the same key as its digest. */
static void test_hmac_streaming_and_key_hashing(void) {
  uint8_t key[131], hk[32], mac[32], mac2[32];
  memset(key, 0xaa, sizeof key);
  chorus_hmac_sha256_ctx ctx;
  chorus_hmac_sha256_init(&ctx, key, sizeof key);
  for (size_t i = 0; i < strlen(TC7_DATA); i++)
    chorus_hmac_sha256_update(&ctx, u8(TC7_DATA) + i, 1);
  CHECK_EQ(chorus_hmac_sha256_final(&ctx, mac), CHORUS_OK);
  CHECK(same_hex(mac, "9b09ffa71b942fcb27635fbcd5b0e944"
                      "bfdc63644f0713938a7f51535c3a35e2"));
  chorus_sha256(key, sizeof key, hk);
  chorus_hmac_sha256(hk, 32, u8(TC6_DATA), strlen(TC6_DATA), mac2);
  CHECK(same_hex(mac2, "60e431591ee0b67f0d8a26aacbf5b77f"
                       "8e0bc6213728c5140546040f0ee37f54"));
  /* A key of exactly one block is used as is, not hashed. */
  chorus_hmac_sha256(key, 64, u8("m"), 1, mac);
  chorus_sha256(key, 64, hk);
  chorus_hmac_sha256(hk, 32, u8("m"), 1, mac2);
  CHECK(memcmp(mac, mac2, 32) != 0);
}

static void test_hmac_errors(void) {
  uint8_t mac[32], mac2[32];
  CHECK_EQ(chorus_hmac_sha256(NULL, 0, NULL, 0, mac), CHORUS_OK);
  CHECK_EQ(chorus_hmac_sha256(u8(""), 0, u8(""), 0, mac2), CHORUS_OK);
  CHECK(memcmp(mac, mac2, 32) == 0);
  memset(mac, 0xAA, sizeof mac);
  CHECK_EQ(chorus_hmac_sha256(NULL, 4, u8("m"), 1, mac), CHORUS_ERR_INVAL);
  CHECK(mac[0] == 0 && mac[31] == 0);
  memset(mac, 0xAA, sizeof mac);
  CHECK_EQ(chorus_hmac_sha256(NULL, 65, u8("m"), 1, mac), CHORUS_ERR_INVAL);
  CHECK(mac[0] == 0 && mac[31] == 0);
  CHECK_EQ(chorus_hmac_sha256(u8("k"), 1, NULL, 1, mac), CHORUS_ERR_INVAL);
}

static const char RFC7914_1[] =
    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
static const char RFC7914_2[] =
    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d";

/* RFC 7914 section 11. */
static void test_pbkdf2_rfc7914(void) {
  uint8_t dk[64];
  CHECK_EQ(chorus_pbkdf2_sha256(u8("passwd"), 6, u8("salt"), 4, 1, dk, 64),
           CHORUS_OK);
  CHECK(same_hex(dk, RFC7914_1));
  CHECK_EQ(chorus_pbkdf2_sha256(u8("Password"), 8, u8("NaCl"), 4, 80000, dk,
                                64),
           CHORUS_OK);
  CHECK(same_hex(dk, RFC7914_2));
}

/* Shorter outputs are prefixes of longer ones (RFC 8018 step 4), including a
 * length that ends inside a block. */
static void test_pbkdf2_lengths(void) {
  uint8_t dk[64];
  const size_t lens[] = {1, 31, 32, 33, 40, 63};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    memset(dk, 0xAA, sizeof dk);
    CHECK_EQ(chorus_pbkdf2_sha256(u8("passwd"), 6, u8("salt"), 4, 1, dk,
                                  lens[i]),
             CHORUS_OK);
    uint8_t want[64];
    unhex(RFC7914_1, want);
    CHECK(memcmp(dk, want, lens[i]) == 0);
    CHECK(dk[lens[i]] == 0xAA); /* nothing written past out_len_bytes */
  }
}

/* Argument errors return CHORUS_ERR_INVAL and leave out untouched. */
static void test_pbkdf2_errors(void) {
  uint8_t dk[32];
  const uint8_t *pw = u8("pw"), *s = u8("salt");
  memset(dk, 0xAA, sizeof dk);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, 4, 0, dk, 32), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, 4, 1, dk, 0), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, 4, 1, NULL, 32), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_pbkdf2_sha256(NULL, 2, s, 4, 1, dk, 32), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, NULL, 4, 1, dk, 32), CHORUS_ERR_INVAL);
#if SIZE_MAX > 0xFFFFFFFFu
  size_t too_long = (size_t)UINT32_MAX * 32 + 1; /* RFC 8018 step 1 */
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, 4, 1, dk, too_long),
           CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, 4, 1, dk, SIZE_MAX),
           CHORUS_ERR_INVAL);
#endif
  CHECK(dk[0] == 0xAA && dk[31] == 0xAA);
  /* Empty password and salt are valid inputs, NULL or not. */
  uint8_t dk2[32];
  CHECK_EQ(chorus_pbkdf2_sha256(NULL, 0, NULL, 0, 2, dk, 32), CHORUS_OK);
  CHECK_EQ(chorus_pbkdf2_sha256(u8(""), 0, u8(""), 0, 2, dk2, 32), CHORUS_OK);
  CHECK(memcmp(dk, dk2, 32) == 0);
#if SIZE_MAX > 0xFFFFFFFFu
  /* A salt beyond the SHA-256 limit: refused before being read, and the
   * whole output (two blocks here) is zeroed, not only the first block. */
  uint8_t dk64[64];
  memset(dk64, 0xAA, sizeof dk64);
  CHECK_EQ(chorus_pbkdf2_sha256(pw, 2, s, SIZE_MAX, 1, dk64, 64),
           CHORUS_ERR_INVAL);
  CHECK(dk64[0] == 0 && dk64[63] == 0);
  memset(dk64, 0xAA, sizeof dk64); /* likewise a password, hashed as a key */
  CHECK_EQ(chorus_pbkdf2_sha256(pw, SIZE_MAX, s, 4, 1, dk64, 64),
           CHORUS_ERR_INVAL);
  CHECK(dk64[0] == 0 && dk64[63] == 0);
#endif
}

static void test_ct_equal(void) {
  uint8_t a[32], b[32];
  for (int i = 0; i < 32; i++) a[i] = b[i] = (uint8_t)(i * 7);
  CHECK_EQ(chorus_ct_equal(a, b, 32), 1);
  b[0] ^= 0x01;
  CHECK_EQ(chorus_ct_equal(a, b, 32), 0);
  b[0] ^= 0x01;
  b[31] ^= 0x80;
  CHECK_EQ(chorus_ct_equal(a, b, 32), 0);
  CHECK_EQ(chorus_ct_equal(a, b, 31), 1); /* only the first len bytes count */
  b[31] ^= 0x80;
  int wrong = 0; /* every single-bit difference is seen */
  for (int i = 0; i < 32 * 8; i++) {
    b[i / 8] ^= (uint8_t)(1u << (i % 8));
    wrong += chorus_ct_equal(a, b, 32) != 0;
    b[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  CHECK_EQ(wrong, 0);
  CHECK_EQ(chorus_ct_equal(NULL, NULL, 0), 1);
}

int main(void) {
  RUN(test_sha256_fips);
  RUN(test_sha256_million_a);
  RUN(test_sha256_padding_boundaries);
  RUN(test_sha256_streaming_splits);
  RUN(test_sha256_length_limit);
  RUN(test_sha256_null_data);
  RUN(test_hmac_rfc4231);
  RUN(test_hmac_rfc4231_long_key);
  RUN(test_hmac_streaming_and_key_hashing);
  RUN(test_hmac_errors);
  RUN(test_pbkdf2_rfc7914);
  RUN(test_pbkdf2_lengths);
  RUN(test_pbkdf2_errors);
  RUN(test_ct_equal);
  return CHECK_SUMMARY();
}
