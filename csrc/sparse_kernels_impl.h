/* sparse_kernels_impl.h - dtype template of the CSR x dense range kernels,
 * compiled once per ISA from elementwise_impl.h (the vec table holds them;
 * sparse_impl.h splits the work and calls them). Each B row a non-zero needs
 * is prefetched a few non-zeros ahead: the rows are scattered, so the loads
 * wait on memory, not on arithmetic. */
#include "sparse_jobs.h"

#define FMLP_CSR_AHEAD 6
#if defined(__GNUC__) || defined(__clang__)
#  define FMLP_CSR_PREFETCH(p, w) __builtin_prefetch((p), (w))
#else
#  define FMLP_CSR_PREFETCH(p, w) ((void)(p))
#endif

/* Rows [lo, hi) of C = beta C + X_sel @ op(B). */
static void FMLP_FN(k_csr_fwd_rows)(void *vjob, int64_t lo, int64_t hi)
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
        const int64_t kend = j->indptr[r + 1];
        for (int64_t k = j->indptr[r]; k < kend; k++) {
            const FMLP_T v = j->values[k];
            const int64_t col = j->indices[k];
            if (!j->trans_b && k + FMLP_CSR_AHEAD < kend) {
                const char *p = (const char *)(j->B + j->indices[k + FMLP_CSR_AHEAD] * j->ldb);
                for (int64_t o = 0; o < N * (int64_t)sizeof(FMLP_T) && o < 512; o += 64)
                    FMLP_CSR_PREFETCH(p + o, 0);
            }
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

/* Columns [lo, hi) of G: C += scale X_sel^T @ G[:, lo:hi] (rows in order,
 * so the sums do not depend on the split). */
static void FMLP_FN(k_csr_t_cols)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(csr_t_job) *j = (const FMLP_FN(csr_t_job) *)vjob;
    if (j->zero_rows && !j->c_transposed) {
        for (int64_t r = 0; r < j->K; r++)
            if (j->zero_rows[r]) {
                FMLP_T *FMLP_RESTRICT c = j->C + r * j->ldc;
                for (int64_t n = lo; n < hi; n++) c[n] = 0;  /* a few cache lines: no call */
            }
    }
    for (int64_t i = 0; i < j->M; i++) {
        const FMLP_T *FMLP_RESTRICT g = j->G + i * j->ldg;
        const int64_t r = j->rows ? j->rows[i] : i;
        const int64_t kend = j->indptr[r + 1];
        for (int64_t k = j->indptr[r]; k < kend; k++) {
            const FMLP_T v = j->scale * j->values[k];
            const int64_t col = j->indices[k];
            if (!j->c_transposed && k + FMLP_CSR_AHEAD < kend) {
                const char *p = (const char *)(j->C + j->indices[k + FMLP_CSR_AHEAD] * j->ldc + lo);
                for (int64_t o = 0; o < (hi - lo) * (int64_t)sizeof(FMLP_T) && o < 512; o += 64)
                    FMLP_CSR_PREFETCH(p + o, 1);
            }
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

#undef FMLP_CSR_AHEAD
#undef FMLP_CSR_PREFETCH
