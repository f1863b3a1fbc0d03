/* sparse_jobs.h - dtype template: the argument blocks of the CSR x dense
 * range kernels (sparse_kernels_impl.h, compiled per ISA and reached through
 * the vec table) as their callers fill them, and the split of the
 * transposed product over threads (used by sparse_impl.h and the engine). */

typedef struct {
    FMLP_T *C;
    int64_t ldc;
    const int64_t *rows, *indptr, *indices;
    const FMLP_T *values, *B;
    int64_t ldb, N;
    int trans_b;
    FMLP_T beta;
} FMLP_FN(csr_fwd_job);

typedef struct {
    FMLP_T *C;
    int64_t ldc;
    const int64_t *rows, *indptr, *indices;
    const FMLP_T *values, *G;
    int64_t ldg, M;
    int c_transposed;
    FMLP_T scale;
    /* Optional, C [K,N] only: rows r of C with zero_rows[r] != 0 (r < K) are
     * zeroed in each thread's columns before anything is added. */
    const uint8_t *zero_rows;
    int64_t K;
} FMLP_FN(csr_t_job);

/* C += scale X_sel^T @ G over threads, split by G's columns in whole cache
 * lines (threads never share one) when there is enough work to share. */
static inline void FMLP_FN(csr_t_run)(FMLP_FN(csr_t_job) *job, int64_t N, int n_threads)
{
    int64_t nnz = 0;
    for (int64_t i = 0; i < job->M && nnz < 8192; i++) {
        const int64_t r = job->rows ? job->rows[i] : i;
        nnz += job->indptr[r + 1] - job->indptr[r];
    }
    const int64_t align = 64 / (int64_t)sizeof(FMLP_T);
    const int64_t min_cols = nnz * N >= 65536 ? align : N;
    fmlp_par_range(n_threads, N, align, min_cols, fmlp_vec->FMLP_FN(csr_t_cols), job);
}

