/* gemm_vec_avx2.h - the GEMM's vector vocabulary (GV_*, gv_*) for AVX2+FMA,
 * for the dtype of the current template expansion (FMLP_IS_F32).
 * It holds no algorithm: gemm_simd_impl.h is written once against these
 * names and expanded per ISA and dtype. Included inside the AVX2 target
 * region, once per dtype (the dtype part has no include guard on purpose). */
#ifndef FMLP_GEMM_VEC_AVX2_COMMON
#define FMLP_GEMM_VEC_AVX2_COMMON
/* Lane masks for tails: loading 8 (or 4) entries ending at index 8 + n - 8
 * of these gives the first n lanes set. */
static const int32_t gk_avx2_mask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t gk_avx2_mask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

/* Horizontal sums pair lanes as ((0+1)+(2+3)) + ((4+5)+(6+7)), the order
 * hsum4 (four vectors at once, 3 hadds) produces too: a dot-product element
 * must round the same whichever tile column it falls in. */
static inline float gk_avx2_hsum_ps(__m256 v)
{
    __m256 h = _mm256_hadd_ps(v, v);
    h = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

static inline void gk_avx2_hsum4_ps(__m256 a, __m256 b, __m256 c, __m256 d, float *out)
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

/* (0+1)+(2+3), as hsum4_pd. */
static inline double gk_avx2_hsum_pd(__m256d v)
{
    __m256d h = _mm256_hadd_pd(v, v);
    return _mm_cvtsd_f64(_mm_add_sd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1)));
}

static inline void gk_avx2_hsum4_pd(__m256d a, __m256d b, __m256d c, __m256d d, double *out)
{
    __m256d h01 = _mm256_hadd_pd(a, b), h23 = _mm256_hadd_pd(c, d);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20),
                                        _mm256_permute2f128_pd(h01, h23, 0x31)));
}
#endif

#if FMLP_IS_F32
#  define GV_T __m256
#  define GV_L 8
#  define GV_MASK_T __m256i
#  define gv_zero() _mm256_setzero_ps()
#  define gv_set1(x) _mm256_set1_ps(x)
#  define gv_load(p) _mm256_loadu_ps(p)
#  define gv_store(p, v) _mm256_storeu_ps((p), (v))
#  define gv_bcast(p) _mm256_broadcast_ss(p)
#  define gv_fma(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#  define gv_mul(a, b) _mm256_mul_ps((a), (b))
#  define gv_mask(n) _mm256_loadu_si256((const __m256i *)(gk_avx2_mask32 + 8 - (n)))
#  define gv_mload(p, m) _mm256_maskload_ps((p), (m))
#  define gv_mstore(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#  define gv_prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#  define gv_hsum(v) gk_avx2_hsum_ps(v)
#  define gv_hsum4(a, b, c, d, out) gk_avx2_hsum4_ps((a), (b), (c), (d), (out))
#else
#  define GV_T __m256d
#  define GV_L 4
#  define GV_MASK_T __m256i
#  define gv_zero() _mm256_setzero_pd()
#  define gv_set1(x) _mm256_set1_pd(x)
#  define gv_load(p) _mm256_loadu_pd(p)
#  define gv_store(p, v) _mm256_storeu_pd((p), (v))
#  define gv_bcast(p) _mm256_broadcast_sd(p)
#  define gv_fma(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#  define gv_mul(a, b) _mm256_mul_pd((a), (b))
#  define gv_mask(n) _mm256_loadu_si256((const __m256i *)(gk_avx2_mask64 + 4 - (n)))
#  define gv_mload(p, m) _mm256_maskload_pd((p), (m))
#  define gv_mstore(p, m, v) _mm256_maskstore_pd((p), (m), (v))
#  define gv_prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#  define gv_hsum(v) gk_avx2_hsum_pd(v)
#  define gv_hsum4(a, b, c, d, out) gk_avx2_hsum4_pd((a), (b), (c), (d), (out))
#endif
