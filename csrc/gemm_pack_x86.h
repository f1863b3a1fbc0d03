/* gemm_pack_x86.h - dtype template of the GEMM's transposing pack with AVX2
 * in-register transposes (8x8 fp32, 4x4 fp64), for both x86 ISA files.
 * It does not hold kernels or decide anything: gemm_simd_impl.h calls it
 * when the ISA file defines GK_PACK_X86, and falls back to scalar loops
 * otherwise. AVX2 suffices inside the AVX-512 region too (and under SIMDe,
 * which then runs it natively).
 *
 * Packing a row-major operand into k-major panels is a transpose: the NT
 * product's B (weights [N,K]) and the A of NN/NT both need it, and scalar
 * copies of it cost ~10% of a large GEMM. */

#if FMLP_IS_F32
#  define GK_TB 8
#  define GK_TV __m256
#  define gk_tv_load(p) _mm256_loadu_ps(p)
#  define gk_tv_store(p, v) _mm256_storeu_ps((p), (v))
#  define gk_tv_zero() _mm256_setzero_ps()
#else
#  define GK_TB 4
#  define GK_TV __m256d
#  define gk_tv_load(p) _mm256_loadu_pd(p)
#  define gk_tv_store(p, v) _mm256_storeu_pd((p), (v))
#  define gk_tv_zero() _mm256_setzero_pd()
#endif

/* r[i] holds row i of a GK_TB x GK_TB block; afterwards r[k] holds column k. */
GK_ALWAYS_INLINE void FMLP_IFN(gk_transpose)(GK_TV r[GK_TB])
{
#if FMLP_IS_F32
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
#else
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20); r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31); r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
#endif
}

/* dst[k*P + c] = src[c*ld + k] for c < nvalid, 0 for nvalid <= c < P, k < kc:
 * rows of a row-major operand become one k-major panel of width P.
 * When P is not a multiple of GK_TB (P = 6), each store of the last column
 * group also writes GK_TB - P % GK_TB junk elements into the next k's slots;
 * groups run last-to-first so the next k's first group overwrites them, and
 * up to GK_TB elements past the panel may be written: callers leave slack. */
static void FMLP_IFN(gk_pack_rows)(FMLP_T *dst, const FMLP_T *src, int64_t ld,
                                   int64_t nvalid, int64_t kc, int64_t P)
{
    const int64_t groups = (P + GK_TB - 1) / GK_TB;
    int64_t k = 0;
    for (; k + GK_TB <= kc; k += GK_TB) {
        for (int64_t g = groups - 1; g >= 0; g--) {
            GK_TV r[GK_TB];
            for (int i = 0; i < GK_TB; i++) {
                const int64_t c = g * GK_TB + i;
                r[i] = c < nvalid ? gk_tv_load(src + c * ld + k) : gk_tv_zero();
            }
            FMLP_IFN(gk_transpose)(r);
            for (int i = 0; i < GK_TB; i++) gk_tv_store(dst + (k + i) * P + g * GK_TB, r[i]);
        }
    }
    for (; k < kc; k++)
        for (int64_t c = 0; c < P; c++) dst[k * P + c] = c < nvalid ? src[c * ld + k] : (FMLP_T)0;
}

/* Columns [0, n) of rows k < kc of src, already contiguous (B of NN/TN, A of
 * TN), into ceil(n/P) panels of width P (panel q at dst + q*kc, element
 * [k*P + c], zero past n). Row by row, so B is read front to back: reading
 * it panel by panel touches one line per row, and at 4 KiB row strides
 * each line is a new page that no prefetcher follows (a 40% loss at
 * 32x1024x1024). */
GK_ALWAYS_INLINE void FMLP_IFN(gk_pack_cols)(FMLP_T *dst, const FMLP_T *src, int64_t ld,
                                             int64_t n, int64_t kc, int64_t P)
{
    /* Eight rows at a time: reads stay sequential along rows, and each panel
     * gets 8 rows of contiguous writes (one row at a time would scatter
     * writes across panels kc*P apart, all in the same cache sets). */
    const int64_t full = P % GK_TB == 0 ? n / P * P : 0;
    for (int64_t k0 = 0; k0 < kc; k0 += 8) {
        const int64_t k1 = kc - k0 < 8 ? kc : k0 + 8;
        for (int64_t q = 0; q < full; q += P)
            for (int64_t k = k0; k < k1; k++)
                for (int64_t c = 0; c < P; c += GK_TB)
                    gk_tv_store(dst + q * kc + k * P + c, gk_tv_load(src + k * ld + q + c));
        for (int64_t q = full; q < n; q += P) {
            if (q + P <= n) {
                /* P constant (always inlined): gcc copies P = 6 with two moves */
                for (int64_t k = k0; k < k1; k++)
                    memcpy(dst + q * kc + k * P, src + k * ld + q, sizeof(FMLP_T) * (size_t)P);
                continue;
            }
            for (int64_t k = k0; k < k1; k++)
                for (int64_t c = 0; c < P; c++)
                    dst[q * kc + k * P + c] = q + c < n ? src[k * ld + q + c] : (FMLP_T)0;
        }
    }
}

#undef GK_TB
#undef GK_TV
#undef gk_tv_load
#undef gk_tv_store
#undef gk_tv_zero
