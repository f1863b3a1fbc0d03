/* gemm_impl.h - dtype template of the GEMM front end (expanded by gemm.c
 * through instantiate.h): the reference kernel, the portable blocked kernel,
 * the edge cases every path shares, and the dispatch to the per-ISA kernels.
 * The reference is deliberately plain; speed lives in gemm_simd_impl.h.
 * This file holds no intrinsics and builds on any C11 compiler. */

#if FMLP_IS_F32
#  define GK_DT f32
#else
#  define GK_DT f64
#endif
#define GK_ISA_FN(name, tag) FMLP_CAT3(name, GK_DT, tag)

/* The per-ISA entry points (gemm_simd_impl.h): the same range contract as
 * fmlp_gemm_range, for shapes with K > 0 and alpha != 0. */
#if FMLP_BUILD_AVX2
void GK_ISA_FN(fmlp_gemm_isa, avx2)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                    const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                    int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                                    int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                                    void *work, size_t work_size);
size_t GK_ISA_FN(fmlp_gemm_isa_work, avx2)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);
#endif
#if FMLP_BUILD_AVX512
void GK_ISA_FN(fmlp_gemm_isa, avx512)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                      const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                      int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                                      int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                                      void *work, size_t work_size);
size_t GK_ISA_FN(fmlp_gemm_isa_work, avx512)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b);
#endif

static inline FMLP_T FMLP_FN(gemm_at)(const FMLP_T *X, int64_t ld, int trans, int64_t r, int64_t c)
{
    return trans ? X[c * ld + r] : X[r * ld + c];
}

void FMLP_FN(fmlp_gemm_ref)(FMLP_T *C, int64_t ldc,
                            const FMLP_T *A, int64_t lda,
                            const FMLP_T *B, int64_t ldb,
                            int64_t M, int64_t N, int64_t K,
                            int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta)
{
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            FMLP_T acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += FMLP_FN(gemm_at)(A, lda, trans_a, i, k) * FMLP_FN(gemm_at)(B, ldb, trans_b, k, j);
            /* beta == 0 must not read C: it may hold NaN garbage. */
            C[i * ldc + j] = beta == 0 ? alpha * acc : alpha * acc + beta * C[i * ldc + j];
        }
    }
}

/* ---- portable blocked kernel ----------------------------------------------
 * The only fast-ish path off x86: 4x4 register tiles of scalars (16
 * accumulators, 8 loads per 16 multiply-adds) over the whole K, reading op(A)
 * and op(B) through (row, column) strides so one loop serves every
 * orientation. No packing and no K blocking: clarity first. */
#define GK_GT 4

static inline void FMLP_FN(gk_generic_tile)(FMLP_T *C, int64_t ldc,
                                            const FMLP_T *A, int64_t sa_i, int64_t sa_k,
                                            const FMLP_T *B, int64_t sb_k, int64_t sb_j,
                                            int64_t mi, int64_t nj, int64_t K,
                                            FMLP_T alpha, FMLP_T beta)
{
    FMLP_T acc[GK_GT][GK_GT] = {{0}};
    for (int64_t k = 0; k < K; k++) {
        FMLP_T a[GK_GT], b[GK_GT];
        for (int64_t r = 0; r < mi; r++) a[r] = A[r * sa_i + k * sa_k];
        for (int64_t c = 0; c < nj; c++) b[c] = B[k * sb_k + c * sb_j];
        for (int64_t r = 0; r < mi; r++)
            for (int64_t c = 0; c < nj; c++) acc[r][c] += a[r] * b[c];
    }
    for (int64_t r = 0; r < mi; r++) {
        for (int64_t c = 0; c < nj; c++) {
            FMLP_T *cp = C + r * ldc + c;
            FMLP_T s = alpha * acc[r][c];
            *cp = beta == 0 ? s : beta * *cp + s;
        }
    }
}

static void FMLP_FN(gk_generic)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                const FMLP_T *B, int64_t ldb, int64_t K,
                                int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                                int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    const int64_t sa_i = trans_a ? 1 : lda, sa_k = trans_a ? lda : 1;
    const int64_t sb_k = trans_b ? 1 : ldb, sb_j = trans_b ? ldb : 1;
    for (int64_t i = m0; i < m1; i += GK_GT) {
        const int64_t mi = m1 - i < GK_GT ? m1 - i : GK_GT;
        for (int64_t j = n0; j < n1; j += GK_GT) {
            const int64_t nj = n1 - j < GK_GT ? n1 - j : GK_GT;
            const FMLP_T *a = A + i * sa_i, *b = B + j * sb_j;
            FMLP_T *c = C + i * ldc + j;
            /* Full tiles call with constant sizes so the compiler unrolls. */
            if (mi == GK_GT && nj == GK_GT)
                FMLP_FN(gk_generic_tile)(c, ldc, a, sa_i, sa_k, b, sb_k, sb_j, GK_GT, GK_GT, K, alpha, beta);
            else
                FMLP_FN(gk_generic_tile)(c, ldc, a, sa_i, sa_k, b, sb_k, sb_j, mi, nj, K, alpha, beta);
        }
    }
}

/* ---- entry points ----------------------------------------------------------- */

size_t FMLP_FN(fmlp_gemm_work_size)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
{
    if (M <= 0 || N <= 0 || K <= 0 || (trans_a && trans_b)) return 0;
    switch (g_gemm_isa) {
#if FMLP_BUILD_AVX512
    case FMLP_ISA_AVX512: return GK_ISA_FN(fmlp_gemm_isa_work, avx512)(M, N, K, trans_a, trans_b);
#endif
#if FMLP_BUILD_AVX2
    case FMLP_ISA_AVX2: return GK_ISA_FN(fmlp_gemm_isa_work, avx2)(M, N, K, trans_a, trans_b);
#endif
    default: return 0;
    }
}

void FMLP_FN(fmlp_gemm_range)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                              const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                              int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                              int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                              void *work, size_t work_size)
{
    (void)M; (void)N;
    if (m1 <= m0 || n1 <= n0) return;
    if (K <= 0 || alpha == 0) {
        /* No product to add: C = beta * C, and exactly 0 for beta == 0
         * without reading C. */
        for (int64_t i = m0; i < m1; i++)
            for (int64_t j = n0; j < n1; j++)
                C[i * ldc + j] = beta == 0 ? (FMLP_T)0 : beta * C[i * ldc + j];
        return;
    }
    /* TT is no MLP product: the portable kernel covers it on every ISA. */
    if (!(trans_a && trans_b)) {
        switch (g_gemm_isa) {
#if FMLP_BUILD_AVX512
        case FMLP_ISA_AVX512:
            GK_ISA_FN(fmlp_gemm_isa, avx512)(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b,
                                             alpha, beta, m0, m1, n0, n1, work, work_size);
            return;
#endif
#if FMLP_BUILD_AVX2
        case FMLP_ISA_AVX2:
            GK_ISA_FN(fmlp_gemm_isa, avx2)(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b,
                                           alpha, beta, m0, m1, n0, n1, work, work_size);
            return;
#endif
        default: break;
        }
    }
    FMLP_FN(gk_generic)(C, ldc, A, lda, B, ldb, K, trans_a, trans_b, alpha, beta, m0, m1, n0, n1);
}

void FMLP_FN(fmlp_gemm)(FMLP_T *C, int64_t ldc,
                        const FMLP_T *A, int64_t lda,
                        const FMLP_T *B, int64_t ldb,
                        int64_t M, int64_t N, int64_t K,
                        int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                        void *work, size_t work_size)
{
    FMLP_FN(fmlp_gemm_range)(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, alpha, beta,
                             0, M, 0, N, work, work_size);
}

/* ---- threads ---------------------------------------------------------------- */

typedef struct {
    FMLP_T *C;
    const FMLP_T *A, *B;
    int64_t ldc, lda, ldb, M, N, K, block;
    int ta, tb, split_n;
    FMLP_T alpha, beta;
    char *work;
    size_t slot;
} FMLP_FN(pgemm_job);

static void FMLP_FN(pgemm_task)(void *vjob, int64_t t)
{
    const FMLP_FN(pgemm_job) *j = (const FMLP_FN(pgemm_job) *)vjob;
    const int64_t dim = j->split_n ? j->N : j->M;
    const int64_t lo = t * j->block, hi = lo + j->block < dim ? lo + j->block : dim;
    if (lo >= hi) return;
    const int64_t m0 = j->split_n ? 0 : lo, m1 = j->split_n ? j->M : hi;
    const int64_t n0 = j->split_n ? lo : 0, n1 = j->split_n ? hi : j->N;
    FMLP_FN(fmlp_gemm_range)(j->C, j->ldc, j->A, j->lda, j->B, j->ldb, j->M, j->N, j->K, j->ta, j->tb,
                             j->alpha, j->beta, m0, m1, n0, n1, j->work + (size_t)t * j->slot, j->slot);
}

/* fmlp_gemm over up to nt threads: C is cut along its longer side into one
 * block per thread (each with its own scratch slot); small products stay on
 * one thread, where the fork/join would cost more than it saves. */
void FMLP_FN(fmlp_gemm_parallel)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                 const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                 int ta, int tb, FMLP_T alpha, FMLP_T beta, void *work_,
                                 size_t slot, int nt)
{
    const double flops = 2.0 * (double)M * (double)N * (double)K;
    /* A few rows against big weights is bound by reading B, not by FLOPs:
     * two cores each stream half of it from their own cache. */
    const double b_bytes = (double)N * (double)K * sizeof(FMLP_T);
    const int split_n = N >= M;
    const int64_t dim = split_n ? N : M;
    const int64_t align = split_n ? 16 : 6; /* SIMD tile widths: keep tiles whole */
    char *work = (char *)work_;
    int parts = nt;
    if ((flops < 1.5e6 && !(M <= 16 && split_n && b_bytes >= 131072.0)) || dim < 2 * align) parts = 1;
    if (parts <= 1) {
        FMLP_FN(fmlp_gemm)(C, ldc, A, lda, B, ldb, M, N, K, ta, tb, alpha, beta, work, slot);
        return;
    }
    int64_t block = (dim + parts - 1) / parts;
    block = (block + align - 1) / align * align;
    FMLP_FN(pgemm_job) job = {C, A, B, ldc, lda, ldb, M, N, K, block, ta, tb, split_n, alpha, beta,
                              work, slot};
    fmlp_parallel_for(parts, (dim + block - 1) / block, FMLP_FN(pgemm_task), &job);
}


#undef GK_GT
#undef GK_DT
#undef GK_ISA_FN
