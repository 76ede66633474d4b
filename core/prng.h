/*
 * Deterministic PRNG: xoshiro256** (Blackman and Vigna, 2018), seeded with
 * splitmix64. State lives in the caller's struct, so core keeps no globals and
 * every stream is reproducible from its seed on any host.
 */
#ifndef CHORUS_PRNG_H
#define CHORUS_PRNG_H

#include <stdint.h>

typedef struct chorus_prng {
  uint64_t s[4];
} chorus_prng;

/* Seed the generator; any seed, including 0, is valid. */
void chorus_prng_init(chorus_prng *p, uint64_t seed);

/* Next 64 random bits. */
uint64_t chorus_prng_next(chorus_prng *p);

/* Uniform integer in [0, bound); bound 0 returns 0. Unbiased (Lemire's rejection). */
uint64_t chorus_prng_below(chorus_prng *p, uint64_t bound);

/* Uniform integer in [lo, hi]; requires lo <= hi. */
uint64_t chorus_prng_range(chorus_prng *p, uint64_t lo, uint64_t hi);

/* 1 with probability num/1000000 (parts per million), else 0. */
int chorus_prng_chance_ppm(chorus_prng *p, uint32_t ppm);

#endif
