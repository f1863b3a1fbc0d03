/* gemm_vec_avx512.h - the GEMM's vector vocabulary (GV_*, gv_*) for
 * AVX-512F, for the dtype of the current template expansion (FMLP_IS_F32).
 * It holds no algorithm (see gemm_simd_impl.h) and uses only AVX-512F, so
 * SIMDe can emulate it (tools/check_avx512_simde.sh). No include guard on
 * purpose: included once per dtype inside the AVX-512 target region. */
#if FMLP_IS_F32
#  define GV_T __m512
#  define GV_L 16
#  define GV_MASK_T __mmask16
#  define gv_zero() _mm512_setzero_ps()
#  define gv_set1(x) _mm512_set1_ps(x)
#  define gv_load(p) _mm512_loadu_ps(p)
#  define gv_store(p, v) _mm512_storeu_ps((p), (v))
#  define gv_bcast(p) _mm512_set1_ps(*(p))
#  define gv_fma(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#  define gv_mul(a, b) _mm512_mul_ps((a), (b))
#  define gv_mask(n) ((__mmask16)((1u << (n)) - 1u))
#  define gv_mload(p, m) _mm512_maskz_loadu_ps((m), (p))
#  define gv_mstore(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#  define gv_prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#  define gv_hsum(v) _mm512_reduce_add_ps(v)
/* Four separate reductions: the same lane order as gv_hsum by construction. */
#  define gv_hsum4(a, b, c, d, out) ((out)[0] = gv_hsum(a), (out)[1] = gv_hsum(b), \
                                     (out)[2] = gv_hsum(c), (out)[3] = gv_hsum(d))
#else
#  define GV_T __m512d
#  define GV_L 8
#  define GV_MASK_T __mmask8
#  define gv_zero() _mm512_setzero_pd()
#  define gv_set1(x) _mm512_set1_pd(x)
#  define gv_load(p) _mm512_loadu_pd(p)
#  define gv_store(p, v) _mm512_storeu_pd((p), (v))
#  define gv_bcast(p) _mm512_set1_pd(*(p))
#  define gv_fma(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#  define gv_mul(a, b) _mm512_mul_pd((a), (b))
#  define gv_mask(n) ((__mmask8)((1u << (n)) - 1u))
#  define gv_mload(p, m) _mm512_maskz_loadu_pd((m), (p))
#  define gv_mstore(p, m, v) _mm512_mask_storeu_pd((p), (m), (v))
#  define gv_prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#  define gv_hsum(v) _mm512_reduce_add_pd(v)
/* Four separate reductions: the same lane order as gv_hsum by construction. */
#  define gv_hsum4(a, b, c, d, out) ((out)[0] = gv_hsum(a), (out)[1] = gv_hsum(b), \
                                     (out)[2] = gv_hsum(c), (out)[3] = gv_hsum(d))
#endif
