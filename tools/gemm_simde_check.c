/* gemm_simde_check.c - checks the AVX-512 GEMM kernels on a CPU without
 * AVX-512: gemm_avx512.c is compiled against SIMDe's emulation and compared
 * with fmlp_gemm_ref over many shapes, then the AVX2 kernels natively when
 * the CPU has them. It is a developer/CI tool (run it via
 * check_avx512_simde.sh), not part of the package, and times nothing.
 *
 * Checked: every N tail 1..2*NR+1, every M tail 1..2*MR+1, K tails, primes,
 * 1x1, the three MLP orientations, alpha/beta (beta = 0 over NaN-filled C),
 * leading dimensions wider than the matrices (padding must stay untouched),
 * the packed path (work given) and the unpacked one (no work), blocks
 * deeper than KC and wider than NC, and that sub-block ranges (the thread
 * split) give bit-identical results. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastmlp.h"
#include "internal.h"

void fmlp_gemm_isa_f32_avx512(float *C, int64_t ldc, const float *A, int64_t lda,
                              const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                              int trans_a, int trans_b, float alpha, float beta,
                              int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                              void *work, size_t work_size);
void fmlp_gemm_isa_f64_avx512(double *C, int64_t ldc, const double *A, int64_t lda,
                              const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                              int trans_a, int trans_b, double alpha, double beta,
                              int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                              void *work, size_t work_size);
size_t fmlp_gemm_isa_work_f32_avx512(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);
size_t fmlp_gemm_isa_work_f64_avx512(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);
/* The AVX2 expansion of the same template, run natively when the CPU can:
 * the same checks, and under SANITIZE=-fsanitize=address its reads too. */
void fmlp_gemm_isa_f32_avx2(float *C, int64_t ldc, const float *A, int64_t lda,
                            const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                            int trans_a, int trans_b, float alpha, float beta,
                            int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                            void *work, size_t work_size);
void fmlp_gemm_isa_f64_avx2(double *C, int64_t ldc, const double *A, int64_t lda,
                            const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                            int trans_a, int trans_b, double alpha, double beta,
                            int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                            void *work, size_t work_size);
size_t fmlp_gemm_isa_work_f32_avx2(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);
size_t fmlp_gemm_isa_work_f64_avx2(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);

static void (*g_fn_f32)(float *, int64_t, const float *, int64_t, const float *, int64_t,
                        int64_t, int64_t, int64_t, int, int, float, float,
                        int64_t, int64_t, int64_t, int64_t, void *, size_t);
static void (*g_fn_f64)(double *, int64_t, const double *, int64_t, const double *, int64_t,
                        int64_t, int64_t, int64_t, int, int, double, double,
                        int64_t, int64_t, int64_t, int64_t, void *, size_t);
static size_t (*g_ws_f32)(int64_t, int64_t, int64_t, int, int);
static size_t (*g_ws_f64)(int64_t, int64_t, int64_t, int, int);
static const char *g_isa = "avx512";

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static long g_cases = 0, g_fail = 0;
static int64_t g_pad = 3;

/* One dtype's check, written once for float and double like the library. */
#define CHECK_DTYPE(T, SUF, TOL)                                                            \
static int check_##SUF(int64_t M, int64_t N, int64_t K, int ta, int tb, T alpha, T beta,    \
                       int use_work)                                                        \
{                                                                                           \
    const int64_t pad = g_pad; /* leading dimensions wider than the matrices */                 \
    const int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;       \
    const int64_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;                            \
    T *A = malloc(sizeof(T) * (size_t)(ar * lda + 1));                                      \
    T *B = malloc(sizeof(T) * (size_t)(br * ldb + 1));                                      \
    T *C0 = malloc(sizeof(T) * (size_t)(M * ldc + 1));                                      \
    T *C = malloc(sizeof(T) * (size_t)(M * ldc + 1));                                       \
    T *R = malloc(sizeof(T) * (size_t)(M * ldc + 1));                                       \
    T *S = malloc(sizeof(T) * (size_t)(M * ldc + 1));                                       \
    for (int64_t i = 0; i < ar * lda; i++) A[i] = (T)urand();                               \
    for (int64_t i = 0; i < br * ldb; i++) B[i] = (T)urand();                               \
    for (int64_t i = 0; i < M * ldc; i++) C0[i] = (beta == 0) ? (T)NAN : (T)urand();        \
    for (int64_t i = 0; i < M; i++)                                                         \
        for (int64_t j = N; j < ldc; j++) C0[i * ldc + j] = (T)12345; /* padding guard */   \
    memcpy(C, C0, sizeof(T) * (size_t)(M * ldc));                                           \
    memcpy(R, C0, sizeof(T) * (size_t)(M * ldc));                                           \
    memcpy(S, C0, sizeof(T) * (size_t)(M * ldc));                                           \
    size_t ws = use_work ? g_ws_##SUF(M, N, K, ta, tb) : 0;          \
    void *work = ws ? malloc(ws) : NULL;                                                    \
    g_fn_##SUF(C, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta,      \
                                 0, M, 0, N, work, ws);                                     \
    fmlp_gemm_ref_##SUF(R, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta);              \
    /* The same product in four uneven sub-blocks must give the same bits. */               \
    int64_t ms = M / 3, ns = (N * 2) / 5;                                                   \
    g_fn_##SUF(S, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta,      \
                                 0, ms, 0, ns, work, ws);                                   \
    g_fn_##SUF(S, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta,      \
                                 ms, M, 0, ns, work, ws);                                   \
    g_fn_##SUF(S, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta,      \
                                 0, ms, ns, N, work, ws);                                   \
    g_fn_##SUF(S, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta,      \
                                 ms, M, ns, N, work, ws);                                   \
    int bad = 0;                                                                            \
    for (int64_t i = 0; i < M && !bad; i++) {                                               \
        for (int64_t j = 0; j < ldc && !bad; j++) {                                         \
            T c = C[i * ldc + j], r = R[i * ldc + j];                                       \
            if (j >= N) {                                                                   \
                if (c != (T)12345 || S[i * ldc + j] != (T)12345) {                          \
                    printf("  padding written at (%ld,%ld)\n", (long)i, (long)j); bad = 1;  \
                }                                                                           \
                continue;                                                                   \
            }                                                                               \
            double scale = 0;                                                               \
            for (int64_t k = 0; k < K; k++) {                                               \
                double a = ta ? A[k * lda + i] : A[i * lda + k];                            \
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];                            \
                scale += fabs(a * b);                                                       \
            }                                                                               \
            scale = fabs((double)alpha) * scale +                                           \
                    (beta == 0 ? 0.0 : fabs((double)beta * C0[i * ldc + j]));               \
            if (!(fabs((double)c - (double)r) <= TOL * scale + 1e-300) || isnan(c)) {       \
                printf("  (%ld,%ld): %.9g vs ref %.9g\n", (long)i, (long)j, (double)c,      \
                       (double)r); bad = 1;                                                 \
            }                                                                               \
            if (memcmp(&c, &S[i * ldc + j], sizeof(T)) != 0) {                              \
                printf("  (%ld,%ld): split result %.17g != whole %.17g\n", (long)i,         \
                       (long)j, (double)S[i * ldc + j], (double)c); bad = 1;                \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
    g_cases++;                                                                              \
    if (bad) {                                                                              \
        g_fail++;                                                                           \
        printf("FAIL %s %s M=%ld N=%ld K=%ld trans_a=%d trans_b=%d alpha=%g beta=%g work=%zu\n", \
               g_isa, #SUF, (long)M, (long)N, (long)K, ta, tb, (double)alpha, (double)beta, ws);   \
    }                                                                                       \
    free(A); free(B); free(C0); free(C); free(R); free(S); free(work);                      \
    return !bad;                                                                            \
}

CHECK_DTYPE(float, f32, 1e-5)
CHECK_DTYPE(double, f64, 1e-13)

/* The three MLP orientations: NT forward, NN input grad, TN weight grad. */
static const int ORI[3][2] = {{0, 1}, {0, 0}, {1, 0}};

static void check_all(int64_t M, int64_t N, int64_t K, int use_work)
{
    for (int o = 0; o < 3; o++) {
        int ta = ORI[o][0], tb = ORI[o][1];
        check_f32(M, N, K, ta, tb, 1.0f, 0.0f, use_work);
        check_f64(M, N, K, ta, tb, 1.0, 0.0, use_work);
        check_f32(M, N, K, ta, tb, -0.75f, 1.5f, use_work);
        check_f64(M, N, K, ta, tb, -0.75, 1.5, use_work);
    }
}

static void check_suite(void)
{
    /* Every N tail up to 2*NR+1 (NR = 48 fp32, 24 fp64) and K tails around
     * the vector widths 16 / 8. */
    for (int64_t n = 1; n <= 97; n++) check_all(3, n, (n % 19) + 1, 0);
    /* Every M tail up to 2*MR+1 (MR = 8) and the dot tile's 4 x 6. */
    for (int64_t m = 1; m <= 17; m++) {
        check_all(m, 50, 33, 0);
        check_all(m, 7, 16, 0);
    }
    static const int64_t primes[] = {1, 2, 13, 31, 61};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            check_all(primes[a], primes[b], primes[(a + b) % 5] + 4, 0);
    /* Packed path (M >= 96 and K >= 64 ask for it) with edges in M, N and K
     * deeper than KC = 256; then the same shapes without work (unpacked). */
    static const int64_t pm[] = {96, 97, 130};
    static const int64_t pn[] = {1, 47, 49, 97};
    static const int64_t pk[] = {64, 300};
    for (int use_work = 1; use_work >= 0; use_work--)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 2; c++) check_all(pm[a], pn[b], pk[c], use_work);
    /* Rows of A 4 KiB apart (K = 1024, no padding): NN/NT pack A too. */
    g_pad = 0;
    check_all(70, 60, 1024, 1);
    check_all(130, 97, 1024, 1);
    check_all(20, 70, 1024, 1); /* small M: B-only packing turns into full */
    g_pad = 3;
    check_all(20, 70, 1024, 1); /* small M: B-only packing, A in place */
    /* Wider than NC (4032 fp32 / 2016 fp64 columns per B block). */
    check_all(96, 4100, 64, 1);
}

int main(void)
{
    g_fn_f32 = fmlp_gemm_isa_f32_avx512; g_fn_f64 = fmlp_gemm_isa_f64_avx512;
    g_ws_f32 = fmlp_gemm_isa_work_f32_avx512; g_ws_f64 = fmlp_gemm_isa_work_f64_avx512;
    g_isa = "avx512 (SIMDe)";
    check_suite();
    printf("avx512 (SIMDe): %ld cases, %ld failed\n", g_cases, g_fail);
    long cases = g_cases, fails = g_fail;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_fn_f32 = fmlp_gemm_isa_f32_avx2; g_fn_f64 = fmlp_gemm_isa_f64_avx2;
        g_ws_f32 = fmlp_gemm_isa_work_f32_avx2; g_ws_f64 = fmlp_gemm_isa_work_f64_avx2;
        g_isa = "avx2";
        g_cases = g_fail = 0;
        check_suite();
        printf("avx2 (native): %ld cases, %ld failed\n", g_cases, g_fail);
        cases += g_cases; fails += g_fail;
    } else {
        printf("avx2: not run (this CPU lacks AVX2+FMA)\n");
    }
    printf("%ld cases, %ld failed\n", cases, fails);
    return fails != 0;
}
