/* gemm_impl.h - dtype template of the GEMM driver and its portable
 * reference kernel (expanded by gemm.c through instantiate.h).
 * The reference is deliberately plain; speed lives in the per-ISA files. */

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

size_t FMLP_FN(fmlp_gemm_work_size)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
{
    (void)M; (void)N; (void)K; (void)trans_a; (void)trans_b;
    return 0;
}

void FMLP_FN(fmlp_gemm)(FMLP_T *C, int64_t ldc,
                        const FMLP_T *A, int64_t lda,
                        const FMLP_T *B, int64_t ldb,
                        int64_t M, int64_t N, int64_t K,
                        int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                        void *work, size_t work_size)
{
    (void)work; (void)work_size;
    FMLP_FN(fmlp_gemm_ref)(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, alpha, beta);
}
