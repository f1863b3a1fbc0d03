/* rng.h - the engine's random numbers: xoshiro256** seeded through
 * splitmix64, Lemire's unbiased bounded draw, Fisher-Yates shuffles, and
 * counter-based dropout uniforms. fastmlp/reference.py (Rng, mix64,
 * dropout_uniforms) specifies the same algorithms bit for bit; change both
 * or neither. It keeps no global state: the caller owns fmlp_rng. */
#ifndef FMLP_RNG_H
#define FMLP_RNG_H

#include <stdint.h>
#include "fastmlp.h"

#define FMLP_GOLDEN UINT64_C(0x9E3779B97F4A7C15)

static inline uint64_t fmlp_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t fmlp_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline void fmlp_rng_seed(fmlp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += FMLP_GOLDEN;
        r->s[i] = fmlp_mix64(x);
    }
}

static inline uint64_t fmlp_rng_next(fmlp_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = fmlp_rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = fmlp_rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n), n >= 1, without modulo bias (Lemire 2019). */
static inline uint64_t fmlp_rng_bounded(fmlp_rng *r, uint64_t n)
{
    __uint128_t m = (__uint128_t)fmlp_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        const uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (__uint128_t)fmlp_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* perm[0..n) = a uniform random permutation of 0..n-1. OVERWRITES perm. */
static inline void fmlp_rng_permutation(fmlp_rng *r, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)fmlp_rng_bounded(r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* The uniform in [0, 1) deciding dropout of element e of hidden layer l at
 * global step s (see reference.dropout_uniforms). */
static inline double fmlp_dropout_uniform(uint64_t key, int64_t step, int64_t layer, int64_t e)
{
    uint64_t c = key + ((uint64_t)step << 40) + ((uint64_t)layer << 32) + FMLP_GOLDEN + (uint64_t)e;
    return (double)(fmlp_mix64(c) >> 11) * (1.0 / 9007199254740992.0);
}

#endif /* FMLP_RNG_H */
