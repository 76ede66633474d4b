#include "crypto.h"

#include <string.h>

#include "err.h"

/* FIPS 180-4 section 4.2.2: first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
    0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
    0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
    0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
    0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
    0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
    0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
    0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* FIPS 180-4 section 5.3.3: fractional parts of the square roots of the
 * first 8 primes. */
static const uint32_t H0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* Bytes are assembled one by one so the code is independent of host
 * endianness and alignment. */
static uint32_t load_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v) {
  store_be32(p, (uint32_t)(v >> 32));
  store_be32(p + 4, (uint32_t)v);
}

/* A volatile store cannot be dropped as a dead store the way a memset
 * before the end of an object's life can. */
static void wipe(void *p, size_t n_bytes) {
  volatile uint8_t *v = p;
  while (n_bytes--) *v++ = 0;
}

/* FIPS 180-4 section 4.1.2 functions. n is always 1..31. */
static uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}
static uint32_t ch(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (~x & z);
}
static uint32_t maj(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (x & z) ^ (y & z);
}
static uint32_t bsig0(uint32_t x) {
  return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}
static uint32_t bsig1(uint32_t x) {
  return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}
static uint32_t ssig0(uint32_t x) {
  return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}
static uint32_t ssig1(uint32_t x) {
  return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}

/* FIPS 180-4 section 6.2.2 steps 1-4: one 64-byte block into h. */
static void compress(uint32_t h[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = load_be32(block + 4 * t);
  for (int t = 16; t < 64; t++)
    w[t] = ssig1(w[t - 2]) + w[t - 7] + ssig0(w[t - 15]) + w[t - 16];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = hh + bsig1(e) + ch(e, f, g) + K[t] + w[t];
    uint32_t t2 = bsig0(a) + maj(a, b, c);
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

void chorus_sha256_init(chorus_sha256_ctx *ctx) {
  memcpy(ctx->h, H0, sizeof ctx->h);
  ctx->bits = 0;
  ctx->fill_bytes = 0;
  ctx->failed = 0;
}

/* Counts len_bytes into the 64-bit bit count, or returns 0 if that would
 * pass 2^64 - 1 bits (FIPS 180-4 section 1), leaving the count unchanged.
 * Comparing against the remaining room, not the sum, means nothing wraps. */
static int count_bits(chorus_sha256_ctx *ctx, size_t len_bytes) {
  if (len_bytes > (UINT64_MAX - ctx->bits) >> 3) return 0;
  ctx->bits += (uint64_t)len_bytes << 3;
  return 1;
}

/* Copies up to a block's remainder of data into the partial block,
 * compressing it once full. Returns the bytes taken. */
static size_t top_up(chorus_sha256_ctx *ctx, const uint8_t *data,
                     size_t len_bytes) {
  size_t room = CHORUS_SHA256_BLOCK_BYTES - ctx->fill_bytes;
  size_t take = len_bytes < room ? len_bytes : room;
  memcpy(ctx->buf + ctx->fill_bytes, data, take);
  ctx->fill_bytes += take;
  if (ctx->fill_bytes == CHORUS_SHA256_BLOCK_BYTES) {
    compress(ctx->h, ctx->buf);
    ctx->fill_bytes = 0;
  }
  return take;
}

void chorus_sha256_update(chorus_sha256_ctx *ctx, const uint8_t *data,
                          size_t len_bytes) {
  if (len_bytes == 0 || ctx->failed) return;
  if (data == NULL || !count_bits(ctx, len_bytes)) {
    ctx->failed = 1; /* reported by final; the bytes are never read */
    return;
  }
  if (ctx->fill_bytes > 0) {
    size_t took = top_up(ctx, data, len_bytes);
    data += took;
    len_bytes -= took;
  }
  while (len_bytes >= CHORUS_SHA256_BLOCK_BYTES) {
    compress(ctx->h, data); /* whole blocks straight from the input */
    data += CHORUS_SHA256_BLOCK_BYTES;
    len_bytes -= CHORUS_SHA256_BLOCK_BYTES;
  }
  if (len_bytes > 0) top_up(ctx, data, len_bytes); /* fill_bytes is 0 here */
}

/* FIPS 180-4 section 5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the
 * 64-bit big-endian bit length. When fewer than 9 bytes remain in the block,
 * the length spills into an extra block. */
static void pad(chorus_sha256_ctx *ctx) {
  uint8_t *b = ctx->buf;
  size_t n = ctx->fill_bytes;
  b[n++] = 0x80;
  if (n > 56) {
    memset(b + n, 0, CHORUS_SHA256_BLOCK_BYTES - n);
    compress(ctx->h, b);
    n = 0;
  }
  memset(b + n, 0, 56 - n);
  store_be64(b + 56, ctx->bits);
  compress(ctx->h, b);
}

int chorus_sha256_final(chorus_sha256_ctx *ctx,
                        uint8_t out[CHORUS_SHA256_DIGEST_BYTES]) {
  int rc = ctx->failed ? CHORUS_ERR_INVAL : CHORUS_OK;
  if (rc == CHORUS_OK) {
    pad(ctx);
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, ctx->h[i]);
  } else {
    memset(out, 0, CHORUS_SHA256_DIGEST_BYTES);
  }
  wipe(ctx, sizeof *ctx);
  return rc;
}

int chorus_sha256(const uint8_t *data, size_t len_bytes,
                  uint8_t out[CHORUS_SHA256_DIGEST_BYTES]) {
  chorus_sha256_ctx ctx;
  chorus_sha256_init(&ctx);
  chorus_sha256_update(&ctx, data, len_bytes);
  return chorus_sha256_final(&ctx, out);
}

/* Starts c on the message (K0 ^ pad_byte) || ..., RFC 2104 steps 2-3 (and
 * 5-6 for the outer hash). */
static void start_keyed(chorus_sha256_ctx *c, const uint8_t k0[64],
                        uint8_t pad_byte) {
  uint8_t block[CHORUS_SHA256_BLOCK_BYTES];
  for (int i = 0; i < CHORUS_SHA256_BLOCK_BYTES; i++)
    block[i] = (uint8_t)(k0[i] ^ pad_byte);
  chorus_sha256_init(c);
  chorus_sha256_update(c, block, sizeof block);
  wipe(block, sizeof block);
}

void chorus_hmac_sha256_init(chorus_hmac_sha256_ctx *ctx, const uint8_t *key,
                             size_t key_len_bytes) {
  /* K0 (FIPS 198-1 section 4 steps 1-3): the key, or its digest when longer
   * than a block, zero-padded to the block size. */
  uint8_t k0[CHORUS_SHA256_BLOCK_BYTES] = {0};
  int failed = 0;
  if (key_len_bytes > CHORUS_SHA256_BLOCK_BYTES)
    failed = chorus_sha256(key, key_len_bytes, k0) != CHORUS_OK;
  else if (key_len_bytes > 0 && key == NULL)
    failed = 1;
  else if (key_len_bytes > 0) /* memcpy from NULL is undefined even for 0 */
    memcpy(k0, key, key_len_bytes);
  start_keyed(&ctx->inner, k0, 0x36);
  start_keyed(&ctx->outer, k0, 0x5c);
  ctx->inner.failed = failed; /* final reports it */
  wipe(k0, sizeof k0);
}

void chorus_hmac_sha256_update(chorus_hmac_sha256_ctx *ctx,
                               const uint8_t *data, size_t len_bytes) {
  chorus_sha256_update(&ctx->inner, data, len_bytes);
}

int chorus_hmac_sha256_final(chorus_hmac_sha256_ctx *ctx,
                             uint8_t out[CHORUS_SHA256_DIGEST_BYTES]) {
  uint8_t inner[CHORUS_SHA256_DIGEST_BYTES];
  /* A failed inner hash fails the outer one, which zeroes out and wipes. */
  if (chorus_sha256_final(&ctx->inner, inner) != CHORUS_OK)
    ctx->outer.failed = 1;
  chorus_sha256_update(&ctx->outer, inner, sizeof inner);
  int rc = chorus_sha256_final(&ctx->outer, out);
  wipe(inner, sizeof inner);
  return rc;
}

int chorus_hmac_sha256(const uint8_t *key, size_t key_len_bytes,
                       const uint8_t *data, size_t len_bytes,
                       uint8_t out[CHORUS_SHA256_DIGEST_BYTES]) {
  chorus_hmac_sha256_ctx ctx;
  chorus_hmac_sha256_init(&ctx, key, key_len_bytes);
  chorus_hmac_sha256_update(&ctx, data, len_bytes);
  return chorus_hmac_sha256_final(&ctx, out);
}

/* PBKDF2 hot path: HMAC of a 32-byte message held in block[0..32), with
 * block[32..64) already holding the SHA-256 padding for a 96-byte message
 * (one key block + 32 bytes). Starting from the precomputed inner and outer
 * states, that is exactly two compressions; the MAC replaces block[0..32). */
static void hmac_32(const uint32_t inner[8], const uint32_t outer[8],
                    uint8_t block[64]) {
  uint32_t s[8];
  memcpy(s, inner, sizeof s);
  compress(s, block);
  for (int i = 0; i < 8; i++) store_be32(block + 4 * i, s[i]);
  memcpy(s, outer, sizeof s);
  compress(s, block);
  for (int i = 0; i < 8; i++) store_be32(block + 4 * i, s[i]);
  wipe(s, sizeof s);
}

/* RFC 8018 section 5.2 step 3, F(P, S, c, i) = U_1 ^ U_2 ^ ... ^ U_c, of
 * which the first n_bytes (1..32) go to out. key is HMAC keyed with P. */
static int pbkdf2_block(const chorus_hmac_sha256_ctx *key, const uint8_t *salt,
                        size_t salt_len_bytes, uint32_t iterations,
                        uint32_t index, uint8_t *out, size_t n_bytes) {
  chorus_hmac_sha256_ctx c = *key;
  uint8_t u[CHORUS_SHA256_BLOCK_BYTES] = {0}, t[CHORUS_SHA256_DIGEST_BYTES];
  uint8_t index_be[4];
  store_be32(index_be, index); /* INT(i), big-endian */
  chorus_hmac_sha256_update(&c, salt, salt_len_bytes);
  chorus_hmac_sha256_update(&c, index_be, sizeof index_be);
  int rc = chorus_hmac_sha256_final(&c, u); /* U_1 */
  memcpy(t, u, sizeof t);
  u[32] = 0x80;
  store_be64(u + 56, (uint64_t)(CHORUS_SHA256_BLOCK_BYTES + 32) * 8);
  for (uint32_t j = 1; j < iterations && rc == CHORUS_OK; j++) {
    hmac_32(key->inner.h, key->outer.h, u); /* U_{j+1} = PRF(P, U_j) */
    for (int k = 0; k < CHORUS_SHA256_DIGEST_BYTES; k++) t[k] ^= u[k];
  }
  memcpy(out, t, n_bytes);
  wipe(u, sizeof u);
  wipe(t, sizeof t);
  return rc;
}

/* RFC 8018 step 1 and this API's own preconditions. (out_len_bytes - 1) / 32
 * is the number of blocks minus one, so no product can overflow size_t. */
static int pbkdf2_args_ok(const uint8_t *pw, size_t pw_len_bytes,
                          const uint8_t *salt, size_t salt_len_bytes,
                          uint32_t iterations, const uint8_t *out,
                          size_t out_len_bytes) {
  if (iterations == 0 || out == NULL || out_len_bytes == 0) return 0;
  if ((out_len_bytes - 1) / CHORUS_SHA256_DIGEST_BYTES >= UINT32_MAX)
    return 0; /* more than 2^32 - 1 blocks */
  if (pw == NULL && pw_len_bytes > 0) return 0;
  return salt != NULL || salt_len_bytes == 0;
}

int chorus_pbkdf2_sha256(const uint8_t *pw, size_t pw_len_bytes,
                         const uint8_t *salt, size_t salt_len_bytes,
                         uint32_t iterations, uint8_t *out,
                         size_t out_len_bytes) {
  if (!pbkdf2_args_ok(pw, pw_len_bytes, salt, salt_len_bytes, iterations, out,
                      out_len_bytes))
    return CHORUS_ERR_INVAL;
  chorus_hmac_sha256_ctx key; /* keyed once: the classic 2x speed-up */
  chorus_hmac_sha256_init(&key, pw, pw_len_bytes);
  int rc = CHORUS_OK;
  size_t done = 0;
  for (uint32_t i = 1; done < out_len_bytes && rc == CHORUS_OK; i++) {
    size_t n = out_len_bytes - done;
    if (n > CHORUS_SHA256_DIGEST_BYTES) n = CHORUS_SHA256_DIGEST_BYTES;
    rc = pbkdf2_block(&key, salt, salt_len_bytes, iterations, i, out + done, n);
    done += n;
  }
  if (rc != CHORUS_OK) memset(out, 0, out_len_bytes);
  wipe(&key, sizeof key);
  return rc;
}

int chorus_ct_equal(const uint8_t *a, const uint8_t *b, size_t len_bytes) {
  uint32_t diff = 0;
  for (size_t i = 0; i < len_bytes; i++) diff |= (uint32_t)(a[i] ^ b[i]);
  /* diff is 0..255: diff - 1 borrows into bit 8 only when diff is 0. */
  return (int)(((diff - 1) >> 8) & 1);
}
