/*
 * chorus_crypto: SHA-256, HMAC-SHA256, PBKDF2-HMAC-SHA256 and a
 * constant-time comparison, for the server's password store (SPEC section 6).
 * They live in core/ because crypt(3) is not in every libc.
 *
 * Pure code: no I/O, no clock, no randomness, no mutable globals (the only
 * static data is the constant SHA-256 round table). Every context is owned by
 * the caller, typically on the stack; nothing is allocated, nothing needs
 * freeing. Contexts are wiped when finalised, so key material does not linger.
 *
 * Error handling: feeding a context can fail in two ways, both reported at
 * finalisation through a sticky flag so the update functions stay void:
 *   - data == NULL with a non-zero length (caller bug);
 *   - a message longer than FIPS 180-4 section 1 allows (2^64 - 1 bits; this
 *     byte-oriented implementation stops at 2^61 - 1 bytes). The bit count is
 *     64 bits wide and checked before every addition, so it never wraps.
 * In both cases the offending bytes are never read, the *_final function
 * returns CHORUS_ERR_INVAL and writes a digest of all zero bytes.
 *
 * Pointers named `out` must have room for the stated number of bytes; they
 * are never NULL-checked (except by chorus_pbkdf2_sha256). Inputs may overlap
 * outputs only where stated.
 */
#ifndef CHORUS_CRYPTO_H
#define CHORUS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_SHA256_DIGEST_BYTES 32
#define CHORUS_SHA256_BLOCK_BYTES 64

/* Streaming SHA-256 state. Treat the fields as private. */
typedef struct chorus_sha256_ctx {
  uint32_t h[8];                            /* chaining value H(i) */
  uint64_t bits;                            /* message length so far, in bits */
  uint8_t buf[CHORUS_SHA256_BLOCK_BYTES];   /* partial block */
  size_t fill_bytes;                        /* bytes used in buf, 0..63 */
  int failed;                               /* sticky: final must fail */
} chorus_sha256_ctx;

/* Streaming HMAC-SHA256 state: two SHA-256 contexts that have already
 * absorbed K0 ^ ipad and K0 ^ opad. Treat the fields as private. */
typedef struct chorus_hmac_sha256_ctx {
  chorus_sha256_ctx inner;
  chorus_sha256_ctx outer;
} chorus_hmac_sha256_ctx;

/*
 * SHA-256, FIPS 180-4 sections 5.1.1 (padding), 5.3.3 (initial hash value)
 * and 6.2 (computation).
 *
 * chorus_sha256_init prepares `ctx` for a new message. Cannot fail.
 *
 * chorus_sha256_update appends data[0..len_bytes) to the message. Any split
 * of a message into updates gives the same digest. data may be NULL only
 * when len_bytes is 0; otherwise see "Error handling" above.
 *
 * chorus_sha256_final writes the 32-byte digest to out and wipes ctx (init it
 * again to reuse it). Returns 0, or CHORUS_ERR_INVAL if an update failed
 * (out is then all zeros).
 *
 * chorus_sha256 is the one-shot form: init, update(data, len_bytes), final.
 * Same returns as chorus_sha256_final. data and out may overlap.
 */
void chorus_sha256_init(chorus_sha256_ctx *ctx);
void chorus_sha256_update(chorus_sha256_ctx *ctx, const uint8_t *data,
                          size_t len_bytes);
int chorus_sha256_final(chorus_sha256_ctx *ctx,
                        uint8_t out[CHORUS_SHA256_DIGEST_BYTES]);
int chorus_sha256(const uint8_t *data, size_t len_bytes,
                  uint8_t out[CHORUS_SHA256_DIGEST_BYTES]);

/*
 * HMAC-SHA256, RFC 2104 and FIPS 198-1 section 4, checked against RFC 4231.
 *
 * chorus_hmac_sha256_init keys `ctx` with key[0..key_len_bytes). Any key
 * length is accepted, including 0; a key longer than the 64-byte block is
 * first replaced by its SHA-256 digest (RFC 2104 section 2). key may be NULL
 * only when key_len_bytes is 0; otherwise the error surfaces at final. The
 * caller keeps ownership of key; ctx holds only values derived from it.
 *
 * chorus_hmac_sha256_update appends data[0..len_bytes) to the message, like
 * chorus_sha256_update.
 *
 * chorus_hmac_sha256_final writes the 32-byte MAC to out and wipes ctx.
 * Returns 0, or CHORUS_ERR_INVAL if the init or an update failed (out is then
 * all zeros). Truncated MACs (RFC 4231 test case 5) are the caller's prefix
 * of out.
 *
 * chorus_hmac_sha256 is the one-shot form. Same returns as final.
 */
void chorus_hmac_sha256_init(chorus_hmac_sha256_ctx *ctx, const uint8_t *key,
                             size_t key_len_bytes);
void chorus_hmac_sha256_update(chorus_hmac_sha256_ctx *ctx,
                               const uint8_t *data, size_t len_bytes);
int chorus_hmac_sha256_final(chorus_hmac_sha256_ctx *ctx,
                             uint8_t out[CHORUS_SHA256_DIGEST_BYTES]);
int chorus_hmac_sha256(const uint8_t *key, size_t key_len_bytes,
                       const uint8_t *data, size_t len_bytes,
                       uint8_t out[CHORUS_SHA256_DIGEST_BYTES]);

/*
 * PBKDF2 with HMAC-SHA256 as the PRF, RFC 8018 section 5.2 (checked against
 * RFC 7914 section 11): derives out[0..out_len_bytes) from the password
 * pw[0..pw_len_bytes) and salt[0..salt_len_bytes) with `iterations` rounds.
 * The HMAC key schedule is computed once per call, so each round costs two
 * SHA-256 compressions per 32 bytes of output.
 *
 * Returns 0, or CHORUS_ERR_INVAL, writing nothing to out, when: iterations is
 * 0; out_len_bytes is 0 or more than (2^32 - 1) * 32 ("derived key too long",
 * RFC 8018 step 1); out is NULL; pw or salt is NULL with a non-zero length.
 * Empty passwords and salts are allowed (the caller decides policy). Also
 * CHORUS_ERR_INVAL, with out zeroed, if pw or salt is beyond the SHA-256
 * length limit. Temporaries are wiped. out must not overlap pw or salt.
 */
int chorus_pbkdf2_sha256(const uint8_t *pw, size_t pw_len_bytes,
                         const uint8_t *salt, size_t salt_len_bytes,
                         uint32_t iterations, uint8_t *out,
                         size_t out_len_bytes);

/*
 * chorus_ct_equal compares a[0..len_bytes) and b[0..len_bytes) in time that
 * depends only on len_bytes (no early exit, no data-dependent branch), so
 * comparing a stored password hash leaks nothing through timing. Returns 1 if
 * equal (always for len_bytes 0), 0 otherwise. a and b may be NULL only when
 * len_bytes is 0.
 */
int chorus_ct_equal(const uint8_t *a, const uint8_t *b, size_t len_bytes);

#endif
