/* gemm_intrin.h - the one place the GEMM's per-ISA files get x86 intrinsics:
 * <immintrin.h> normally, SIMDe's portable emulation under FMLP_GEMM_SIMDE.
 * It does not pick an instruction set: the files' target pragmas do that.
 *
 * FMLP_GEMM_SIMDE is set only by tools/check_avx512_simde.sh, which compiles
 * gemm_avx512.c on a CPU without AVX-512 so its kernels can be checked
 * against the reference; the package build never defines it. */
#ifndef FMLP_GEMM_INTRIN_H
#define FMLP_GEMM_INTRIN_H

#include <string.h> /* memcpy of short fixed-size rows in packing */

#ifdef FMLP_GEMM_SIMDE
#  define SIMDE_ENABLE_NATIVE_ALIASES
#  include <simde/x86/avx512.h>
/* Debian's SIMDe 0.7.4 lacks the masked loads/stores and reductions the
 * kernels use; these stand-ins follow Intel's definitions lane by lane
 * (a masked load reads only its selected lanes, so an out-of-bounds read in
 * the kernels would still show up under -fsanitize=address). */
#  define GK_SIMDE_MASKED(T, V, M, L, SUF)                                               \
    static inline V gk_simde_maskz_loadu_##SUF(M k, const void *p)                      \
    {                                                                                   \
        T t[L] = {0};                                                                   \
        for (int i = 0; i < L; i++) if ((k >> i) & 1) t[i] = ((const T *)p)[i];        \
        return simde_mm512_loadu_##SUF(t);                                              \
    }                                                                                   \
    static inline void gk_simde_mask_storeu_##SUF(void *p, M k, V v)                    \
    {                                                                                   \
        T t[L];                                                                         \
        simde_mm512_storeu_##SUF(t, v);                                                 \
        for (int i = 0; i < L; i++) if ((k >> i) & 1) ((T *)p)[i] = t[i];              \
    }                                                                                   \
    static inline T gk_simde_reduce_add_##SUF(V v)                                      \
    {                                                                                   \
        T t[L], s = 0;                                                                  \
        simde_mm512_storeu_##SUF(t, v);                                                 \
        for (int i = 0; i < L; i++) s += t[i];                                          \
        return s;                                                                       \
    }
GK_SIMDE_MASKED(float, simde__m512, simde__mmask16, 16, ps)
GK_SIMDE_MASKED(double, simde__m512d, simde__mmask8, 8, pd)
#  undef GK_SIMDE_MASKED
#  define _mm512_maskz_loadu_ps(k, p) gk_simde_maskz_loadu_ps((k), (p))
#  define _mm512_maskz_loadu_pd(k, p) gk_simde_maskz_loadu_pd((k), (p))
#  define _mm512_mask_storeu_ps(p, k, v) gk_simde_mask_storeu_ps((p), (k), (v))
#  define _mm512_mask_storeu_pd(p, k, v) gk_simde_mask_storeu_pd((p), (k), (v))
#  define _mm512_reduce_add_ps(v) gk_simde_reduce_add_ps(v)
#  define _mm512_reduce_add_pd(v) gk_simde_reduce_add_pd(v)
#else
#  include <immintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define GK_ALWAYS_INLINE static inline __attribute__((always_inline))
#  define GK_NOINLINE static __attribute__((noinline))
#else
#  define GK_ALWAYS_INLINE static inline
#  define GK_NOINLINE static
#endif

#endif /* FMLP_GEMM_INTRIN_H */
