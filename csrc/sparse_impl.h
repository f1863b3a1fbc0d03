/* sparse_impl.h - dtype template of the CSR x dense products the engine's
 * first layer needs for sparse input: rows read in place (through an optional
 * index of rows), cost proportional to the non-zeros, threads split over
 * disjoint outputs. Expanded by sparse.c; the range kernels themselves are
 * per ISA (sparse_kernels_impl.h, through the vec table). It does not sort,
 * copy or validate the CSR arrays: the caller hands over checked ones. */

#include "sparse_jobs.h"

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
    fmlp_par_range(n_threads, M, 1, min_rows, fmlp_vec->FMLP_FN(csr_fwd_rows), &job);
}

void FMLP_FN(fmlp_csr_t_matmul_acc)(FMLP_T *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                                    const int64_t *indices, const FMLP_T *values, int64_t M,
                                    const FMLP_T *G, int64_t ldg, int64_t N, int c_transposed,
                                    FMLP_T scale, int n_threads)
{
    FMLP_FN(csr_t_job) job = {C, ldc, rows, indptr, indices, values, G, ldg, M, c_transposed, scale,
                              NULL, 0};
    FMLP_FN(csr_t_run)(&job, N, n_threads);
}
