#include "prng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void chorus_prng_init(chorus_prng *p, uint64_t seed) {
  for (int i = 0; i < 4; i++) p->s[i] = splitmix64(&seed);
}

uint64_t chorus_prng_next(chorus_prng *p) {
  uint64_t *s = p->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t chorus_prng_below(chorus_prng *p, uint64_t bound) {
  if (bound == 0) return 0;
  /* Reject the low values that would bias the modulo (threshold = 2^64 mod bound). */
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t r = chorus_prng_next(p);
    if (r >= threshold) return r % bound;
  }
}

uint64_t chorus_prng_range(chorus_prng *p, uint64_t lo, uint64_t hi) {
  if (hi - lo == UINT64_MAX) return chorus_prng_next(p);
  return lo + chorus_prng_below(p, hi - lo + 1);
}

int chorus_prng_chance_ppm(chorus_prng *p, uint32_t ppm) {
  return chorus_prng_below(p, 1000000) < ppm;
}
