/* gemm_avx2.c - the GEMM kernels for AVX2+FMA: tile shapes and cache
 * blocking for 16 ymm registers, plus the FMA peak probe. It does not hold
 * the algorithm (gemm_simd_impl.h) nor choose the ISA at run time (gemm.c).
 *
 * Tiles: bcast 6x16 fp32 / 6x8 fp64 (GK_MR 6 rows x 2 vectors) keeps 12
 * accumulators, 2 B vectors and 1 broadcast in 15 of the 16 registers; 12
 * independent FMA chains cover 2 FMA pipes x 4-5 cycles latency, and a k step
 * issues 8 loads for 12 FMAs. dot 3x4 (3 rows of A x 4 rows of B) keeps 12
 * accumulators + 3 A vectors + 1 B vector = 16 registers.
 * Blocking: KC 512 makes a B micro-panel 512 x 64 B = 32 KiB, so it streams
 * from L2 rather than sitting in L1 (2 vector loads per 12 FMAs is well
 * within L2 bandwidth), and halves the passes over C against BLIS's 256:
 * C rows 4 KiB apart (N = 1024) cost ~5% per pass through cache-set
 * conflicts. Measured interleaved against KC 256 / MC 144: +3-7% at
 * 512x1024x1024 NT fp32, equal elsewhere. fp64 showed no difference and
 * keeps KC 256 (its B micro-panel, 256 x 64 B, stays in L1). MC 72 keeps
 * the A block at 144 KiB in L2; NC 512 keeps a KC x NC block of B at 1 MiB
 * (fp32): this machine's L2 is 512 KiB per core, and NC 4080 cost a 2-thread
 * 128x784x800 X @ W.T 147 against 170 GFLOP/s.
 */
#include "internal.h"

#if FMLP_BUILD_AVX2
#include "gemm_intrin.h"
#include "gemm_rep.h"

FMLP_TARGET_BEGIN_AVX2

#define GEMM_VEC_HEADER "gemm_vec_avx2.h"
#define GK_MR 6
#define GK_NV 2
#define GK_FOR_MR(X) GK_I6(X)
#define GK_FOR_NV(Y, p) GK_J2(Y, p)
#define GK_DR 3
#define GK_DC 4
#define GK_FOR_DR(X) GK_I3(X)
#define GK_FOR_DC_J(Y, p) GK_J4(Y, p)
#define GK_FOR_DC(X) GK_I4(X)
#define GK_FOR_DR_K(Y, p) GK_K3(Y, p)
#define GK_KC_F32 512
#define GK_KC_F64 256
#define GK_MC_F32 72
#define GK_MC_F64 72
#define GK_NC_F32 512
#define GK_NC_F64 512
/* With both operands packed, A is packed again for every NC block: NC 1024
 * packs it once up to N = 1024 and measured +1-2 % on one thread at
 * 128-512 x 1024 x 1024 (fp32 and fp64) and 256x512x784 TN, equal at 2
 * threads (each gets half of N). Kept at 512 when A is read in place, where
 * it only makes the B block bigger (128x128x1024 NT: -1.5 % at 1024). */
#define GK_NCA_F32 1024
#define GK_NCA_F64 1024
/* K up to 1.6 KC is one depth block: K = 784 (MNIST's input layer) was 512 +
 * 272, two passes over C and a short second micro-panel; as one block it
 * measured +1-6 % (1 and 2 threads, every orientation, M 128..60000; the
 * 1,000-row 784-128-10 predict 1.14 -> 1.12 ms), fp64 at K 300-400 +1-3 %. */
#define GK_KC1_F32 819
#define GK_KC1_F64 409
/* Path thresholds (gk_plan): pack both operands from 64 rows of C; below,
 * pack B alone for NN/TN once K*N passes 64 Ki elements (256 KiB fp32). */
#define GK_PACK_MIN_M 64
#define GK_PACKB_MIN_KN (64 * 1024)
#define GK_PACK_X86 1
#define GK_NO_PACK_A 1

#define FMLP_ISA_TAG avx2
#define FMLP_TEMPLATE "gemm_simd_impl.h"
#include "instantiate.h"

/* Twelve independent 256-bit FMA chains: the most this core's FMA pipes can
 * retire, the yardstick for "% of peak". Returns the FLOP it executed. */
int64_t fmlp_fma_probe_avx2(int64_t iters)
{
    __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-3f);
    /* Distinct starting values: with equal ones gcc proves the twelve chains
     * identical and keeps one, and the loop then measures FMA latency
     * (and reports 12 times too much). */
    __m256 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    a0 = _mm256_set1_ps(1.0f);
    a1 = _mm256_set1_ps(2.0f);
    a2 = _mm256_set1_ps(3.0f);
    a3 = _mm256_set1_ps(4.0f);
    a4 = _mm256_set1_ps(5.0f);
    a5 = _mm256_set1_ps(6.0f);
    a6 = _mm256_set1_ps(7.0f);
    a7 = _mm256_set1_ps(8.0f);
    a8 = _mm256_set1_ps(9.0f);
    a9 = _mm256_set1_ps(10.0f);
    a10 = _mm256_set1_ps(11.0f);
    a11 = _mm256_set1_ps(12.0f);
    for (int64_t i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y);
        a2 = _mm256_fmadd_ps(a2, x, y); a3 = _mm256_fmadd_ps(a3, x, y);
        a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
        a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y);
        a8 = _mm256_fmadd_ps(a8, x, y); a9 = _mm256_fmadd_ps(a9, x, y);
        a10 = _mm256_fmadd_ps(a10, x, y); a11 = _mm256_fmadd_ps(a11, x, y);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    volatile float sink = _mm256_cvtss_f32(s);
    (void)sink;
    return iters * 12 * 8 * 2;
}

FMLP_TARGET_END
#endif /* FMLP_BUILD_AVX2 */
