/* sparse_impl.h - dtype template of the CSR x dense products the engine's
 * first layer needs for sparse input: rows read in place (through an optional
 * index of rows), cost proportional to the non-zeros, threads split over
 * disjoint outputs. Expanded by sparse.c. It does not sort, copy or
 * validate the CSR arrays: the caller hands over checked ones. */

typedef struct {
    FMLP_T *C;
    int64_t ldc;
    const int64_t *rows, *indptr, *indices;
    const FMLP_T *values, *B;
    int64_t ldb, N;
    int trans_b;
    FMLP_T beta;
} FMLP_FN(csr_fwd_job);

/* Rows [lo, hi) of C = beta C + X_sel @ op(B). */
static void FMLP_FN(csr_fwd_rows)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(csr_fwd_job) *j = (const FMLP_FN(csr_fwd_job) *)vjob;
    const int64_t N = j->N;
    for (int64_t i = lo; i < hi; i++) {
        FMLP_T *FMLP_RESTRICT c = j->C + i * j->ldc;
        if (j->beta == 0) {
            for (int64_t n = 0; n < N; n++) c[n] = 0;
        } else if (j->beta != 1) {
            for (int64_t n = 0; n < N; n++) c[n] *= j->beta;
        }
        const int64_t r = j->rows ? j->rows[i] : i;
        for (int64_t k = j->indptr[r]; k < j->indptr[r + 1]; k++) {
            const FMLP_T v = j->values[k];
            const int64_t col = j->indices[k];
            if (!j->trans_b) {
                /* op(B) = B [K, N]: one contiguous row per non-zero. */
                const FMLP_T *FMLP_RESTRICT b = j->B + col * j->ldb;
                for (int64_t n = 0; n < N; n++) c[n] += v * b[n];
            } else {
                /* op(B) = B^T with B [N, K]: column col of B, strided. */
                const FMLP_T *b = j->B + col;
                for (int64_t n = 0; n < N; n++) c[n] += v * b[n * j->ldb];
            }
        }
    }
}

void FMLP_FN(fmlp_csr_matmul)(FMLP_T *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                              const int64_t *indices, const FMLP_T *values, int64_t M,
                              const FMLP_T *B, int64_t ldb, int64_t N, int trans_b, FMLP_T beta,
                              int n_threads)
{
    FMLP_FN(csr_fwd_job) job = {C, ldc, rows, indptr, indices, values, B, ldb, N, trans_b, beta};
    /* A few thousand multiply-adds per piece make a thread worth waking. */
    int64_t nnz = 0;
    for (int64_t i = 0; i < M && nnz < 8192; i++) {
        const int64_t r = rows ? rows[i] : i;
        nnz += indptr[r + 1] - indptr[r];
    }
    const int64_t min_rows = nnz * N >= 65536 ? 1 : M;
    fmlp_par_range(n_threads, M, 1, min_rows, FMLP_FN(csr_fwd_rows), &job);
}

typedef struct {
    FMLP_T *C;
    int64_t ldc;
    const int64_t *rows, *indptr, *indices;
    const FMLP_T *values, *G;
    int64_t ldg, M;
    int c_transposed;
    FMLP_T scale;
} FMLP_FN(csr_t_job);

/* Columns [lo, hi) of G: C += scale X_sel^T @ G[:, lo:hi] (rows in order,
 * so the sums do not depend on the split). */
static void FMLP_FN(csr_t_cols)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(csr_t_job) *j = (const FMLP_FN(csr_t_job) *)vjob;
    for (int64_t i = 0; i < j->M; i++) {
        const FMLP_T *FMLP_RESTRICT g = j->G + i * j->ldg;
        const int64_t r = j->rows ? j->rows[i] : i;
        for (int64_t k = j->indptr[r]; k < j->indptr[r + 1]; k++) {
            const FMLP_T v = j->scale * j->values[k];
            const int64_t col = j->indices[k];
            if (!j->c_transposed) {
                FMLP_T *FMLP_RESTRICT c = j->C + col * j->ldc;
                for (int64_t n = lo; n < hi; n++) c[n] += v * g[n];
            } else {
                FMLP_T *c = j->C + col;
                for (int64_t n = lo; n < hi; n++) c[n * j->ldc] += v * g[n];
            }
        }
    }
}

void FMLP_FN(fmlp_csr_t_matmul_acc)(FMLP_T *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                                    const int64_t *indices, const FMLP_T *values, int64_t M,
                                    const FMLP_T *G, int64_t ldg, int64_t N, int c_transposed,
                                    FMLP_T scale, int n_threads)
{
    FMLP_FN(csr_t_job) job = {C, ldc, rows, indptr, indices, values, G, ldg, M, c_transposed, scale};
    int64_t nnz = 0;
    for (int64_t i = 0; i < M && nnz < 8192; i++) {
        const int64_t r = rows ? rows[i] : i;
        nnz += indptr[r + 1] - indptr[r];
    }
    /* Split the columns in whole cache lines so threads never share one. */
    const int64_t align = 64 / (int64_t)sizeof(FMLP_T);
    const int64_t min_cols = nnz * N >= 65536 ? align : N;
    fmlp_par_range(n_threads, N, align, min_cols, FMLP_FN(csr_t_cols), &job);
}
