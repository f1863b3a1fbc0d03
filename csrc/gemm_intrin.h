/* gemm_intrin.h - the one place the GEMM's per-ISA files get x86 intrinsics:
 * <immintrin.h> normally, SIMDe's portable emulation under FMLP_GEMM_SIMDE.
 * It does not pick an instruction set: the files' target pragmas do that.
 *
 * FMLP_GEMM_SIMDE is set only by tools/check_avx512_simde.sh, which compiles
 * gemm_avx512.c on a CPU without AVX-512 so its kernels can be checked
 * against the reference; the package build never defines it. */
#ifndef FMLP_GEMM_INTRIN_H
#define FMLP_GEMM_INTRIN_H

#ifdef FMLP_GEMM_SIMDE
#  define SIMDE_ENABLE_NATIVE_ALIASES
#  include <simde/x86/avx512.h>
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
