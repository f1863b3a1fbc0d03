/* gemm_avx512.c - the GEMM kernels for AVX-512F: tile shapes and cache
 * blocking for 32 zmm registers, plus the FMA peak probe. It does not hold
 * the algorithm (gemm_simd_impl.h) nor choose the ISA at run time (gemm.c).
 *
 * Tiles: bcast 8x48 fp32 / 8x24 fp64 (GK_MR 8 rows x 3 vectors): 24
 * accumulators + 3 B vectors + 1 broadcast = 28 of 32 registers, no spills;
 * 24 FMA chains cover 2 pipes x 4 cycles with room, and a k step issues 11
 * loads for 24 FMAs (12x32 would need 14). 8 rows divide the power-of-two
 * batch sizes MLPs use, and edge strips use 1-3 vectors, so N = 128 or 256
 * wastes nothing. dot 4x6: 24 accumulators + 4 A vectors + 1 B vector.
 * Blocking: KC 256; MC 96 (A block 96 KiB fp32 / 192 KiB fp64 in a 1-2 MiB
 * L2); NC a multiple of NR near 4000 (B block in L3). It cannot be timed on
 * the development VM (no AVX-512), so these follow the published AVX-512
 * choices scaled to this tile, not measurements.
 *
 * The intrinsics come through gemm_intrin.h so tools/check_avx512_simde.sh
 * can compile this file against SIMDe and check it on any x86-64. */
#include "internal.h"

#if FMLP_BUILD_AVX512 || defined(FMLP_GEMM_SIMDE)
#include "gemm_intrin.h"
#include "gemm_rep.h"

#ifdef FMLP_GEMM_SIMDE
/* Emulated: no target pragma, or gcc would emit real AVX-512 code. */
#  define GK_BEGIN_512
#  define GK_END_512
#else
#  define GK_BEGIN_512 FMLP_TARGET_BEGIN_AVX512
#  define GK_END_512 FMLP_TARGET_END
#endif

GK_BEGIN_512

#define GEMM_VEC_HEADER "gemm_vec_avx512.h"
#define GK_MR 8
#define GK_NV 3
#define GK_FOR_MR(X) GK_I8(X)
#define GK_FOR_NV(Y, p) GK_J3(Y, p)
#define GK_DR 4
#define GK_DC 6
#define GK_FOR_DR(X) GK_I4(X)
#define GK_FOR_DC_J(Y, p) GK_J6(Y, p)
#define GK_FOR_DC(X) GK_I6(X)
#define GK_FOR_DR_K(Y, p) GK_K4(Y, p)
#define GK_KC_F32 256
#define GK_KC_F64 256
#define GK_MC_F32 96
#define GK_MC_F64 96
#define GK_NC_F32 4032
#define GK_NC_F64 2016
/* Path thresholds (gk_plan): pack both operands from 64 rows of C; below,
 * pack B alone for NN/TN once K*N passes 64 Ki elements (256 KiB fp32). */
#define GK_PACK_MIN_M 64
#define GK_PACKB_MIN_KN (64 * 1024)
#define GK_PACK_X86 1
#define GK_NO_PACK_A 1

#define FMLP_ISA_TAG avx512
#define FMLP_TEMPLATE "gemm_simd_impl.h"
#include "instantiate.h"

/* Twelve independent 512-bit FMA chains (see fmlp_fma_probe_avx2). */
int64_t fmlp_fma_probe_avx512(int64_t iters)
{
    __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-3f);
    /* Distinct starting values: with equal ones gcc proves the twelve chains
     * identical and keeps one, and the loop then measures FMA latency
     * (and reports 12 times too much). */
    __m512 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    a0 = _mm512_set1_ps(1.0f);
    a1 = _mm512_set1_ps(2.0f);
    a2 = _mm512_set1_ps(3.0f);
    a3 = _mm512_set1_ps(4.0f);
    a4 = _mm512_set1_ps(5.0f);
    a5 = _mm512_set1_ps(6.0f);
    a6 = _mm512_set1_ps(7.0f);
    a7 = _mm512_set1_ps(8.0f);
    a8 = _mm512_set1_ps(9.0f);
    a9 = _mm512_set1_ps(10.0f);
    a10 = _mm512_set1_ps(11.0f);
    a11 = _mm512_set1_ps(12.0f);
    for (int64_t i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, x, y); a1 = _mm512_fmadd_ps(a1, x, y);
        a2 = _mm512_fmadd_ps(a2, x, y); a3 = _mm512_fmadd_ps(a3, x, y);
        a4 = _mm512_fmadd_ps(a4, x, y); a5 = _mm512_fmadd_ps(a5, x, y);
        a6 = _mm512_fmadd_ps(a6, x, y); a7 = _mm512_fmadd_ps(a7, x, y);
        a8 = _mm512_fmadd_ps(a8, x, y); a9 = _mm512_fmadd_ps(a9, x, y);
        a10 = _mm512_fmadd_ps(a10, x, y); a11 = _mm512_fmadd_ps(a11, x, y);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return iters * 12 * 16 * 2;
}

GK_END_512
#endif /* FMLP_BUILD_AVX512 || FMLP_GEMM_SIMDE */
