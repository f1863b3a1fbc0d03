/* mt19937.c - NumPy's legacy RandomState.uniform, draw for draw, fast.
 *
 * scikit-learn draws its initial weights with RandomState.uniform(low, high,
 * shape); fastmlp draws the same numbers so a given random_state gives the
 * same network. NumPy produces them one function-pointer call per number;
 * this fills the array in blocks: the Mersenne Twister's 624-word twist,
 * tempering a block at a time, and each double from two 32-bit words as
 * NumPy's mt19937_next_double does ((a >> 5) * 2^26 + (b >> 6)) / 2^53, then
 * low + range * u as NumPy's random_uniform (two roundings, no FMA).
 * The caller passes the generator's key and position (RandomState.get_state())
 * and stores them back afterwards; nothing here keeps state. */
#include <stdint.h>
#include <string.h>

#include "fastmlp.h"

#define MT_N 624
#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

static void mt_twist(uint32_t *key)
{
    int i;
    for (i = 0; i < MT_N - MT_M; i++) {
        const uint32_t y = (key[i] & MT_UPPER) | (key[i + 1] & MT_LOWER);
        key[i] = key[i + MT_M] ^ (y >> 1) ^ ((0U - (y & 1U)) & MT_MATRIX_A);
    }
    for (; i < MT_N - 1; i++) {
        const uint32_t y = (key[i] & MT_UPPER) | (key[i + 1] & MT_LOWER);
        key[i] = key[i + (MT_M - MT_N)] ^ (y >> 1) ^ ((0U - (y & 1U)) & MT_MATRIX_A);
    }
    const uint32_t y = (key[MT_N - 1] & MT_UPPER) | (key[0] & MT_LOWER);
    key[MT_N - 1] = key[MT_M - 1] ^ (y >> 1) ^ ((0U - (y & 1U)) & MT_MATRIX_A);
}

static void mt_temper(const uint32_t *key, uint32_t *out, int from)
{
    for (int i = from; i < MT_N; i++) {
        uint32_t y = key[i];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= y >> 18;
        out[i] = y;
    }
}

int fmlp_mt19937_uniform(uint32_t *key, int64_t *pos_io, double *out, int64_t n, double low,
                         double range)
{
    int64_t pos = *pos_io;
    if (pos < 0 || pos > MT_N || n < 0) return FMLP_ERR_ARG;
    uint32_t t[MT_N];
    mt_temper(key, t, (int)pos);
    int64_t i = 0;
    while (i < n) {
        uint32_t w[2];
        for (int k = 0; k < 2; k++) {
            if (pos == MT_N) {
                mt_twist(key);
                mt_temper(key, t, 0);
                pos = 0;
            }
            w[k] = t[pos++];
        }
        const double u = ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6)) *
                         (1.0 / 9007199254740992.0);  /* exact: a power of two */
        out[i++] = low + range * u;
        /* Whole pairs inside the current block: a plain loop that vectorizes. */
        int64_t m = (MT_N - pos) / 2;
        if (m > n - i) m = n - i;
        const uint32_t *tp = t + pos;
        double *o = out + i;
        for (int64_t j = 0; j < m; j++) {
            const double v = ((double)(tp[2 * j] >> 5) * 67108864.0 + (double)(tp[2 * j + 1] >> 6)) *
                             (1.0 / 9007199254740992.0);
            o[j] = low + range * v;
        }
        pos += 2 * m;
        i += m;
    }
    *pos_io = pos;
    return FMLP_OK;
}
