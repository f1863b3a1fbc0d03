/* internal.h - what the library's own files share and the public contract
 * does not show: the per-area dispatch hooks and small helpers.
 * Nothing here is callable from Cython. */
#ifndef FMLP_INTERNAL_H
#define FMLP_INTERNAL_H

#include "fastmlp.h"
#include "isa.h"

/* Each area keeps its own table of per-ISA function pointers and re-points
 * it when cpu.c selects an ISA. Only ISAs that fmlp_isa_supported() accepts
 * are ever passed. */
void fmlp_gemm_select(int isa);
/* elementwise kernels (activations, softmax, losses, colsum, optimizers) */
void fmlp_vec_select(int isa);

/* Run fn(ctx, t) for every t in [0, n_tasks) on up to n_threads threads, the
 * caller included; returns when all are done. Tasks must write disjoint
 * outputs. Serial when n_threads <= 1 or the pool is busy (no nesting). */
typedef void (*fmlp_task_fn)(void *ctx, int64_t task);
void fmlp_parallel_for(int n_threads, int64_t n_tasks, fmlp_task_fn fn, void *ctx);
/* Run fn(ctx, lo, hi) over [0, n) in up to `threads` contiguous pieces whose
 * boundaries are multiples of `align`, none smaller than min_piece. */
typedef void (*fmlp_range_fn)(void *ctx, int64_t lo, int64_t hi);
void fmlp_par_range(int threads, int64_t n, int64_t align, int64_t min_piece, fmlp_range_fn fn,
                    void *ctx);

/* The thread count a kernel called now should use (budget, default, cores). */
int fmlp_threads_for_call(void);

/* GEMM on a sub-block, the unit a thread pool splits: C[m0:m1, n0:n1] of
 * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C (fmlp_gemm's contract
 * and arguments; 0 <= m0 <= m1 <= M, 0 <= n0 <= n1 <= N). OVERWRITES
 * (beta == 0, C never read) or ACCUMULATES only that block. The path and K
 * blocking depend on the full M, N, K, never on the block, so any split
 * gives bit-identical results; K is never split. Blocks whose m0/n0 are
 * multiples of 48 keep every SIMD tile full. Each concurrent caller needs
 * its own work (fmlp_gemm_work_size bytes). */
void fmlp_gemm_range_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                         const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                         int trans_a, int trans_b, float alpha, float beta,
                         int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                         void *work, size_t work_size);
void fmlp_gemm_range_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                         const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                         int trans_a, int trans_b, double alpha, double beta,
                         int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                         void *work, size_t work_size);

#if defined(__GNUC__) || defined(__clang__)
#  define FMLP_LIKELY(x) __builtin_expect(!!(x), 1)
#  define FMLP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define FMLP_RESTRICT __restrict__
#else
#  define FMLP_LIKELY(x) (x)
#  define FMLP_UNLIKELY(x) (x)
#  define FMLP_RESTRICT
#endif

#endif /* FMLP_INTERNAL_H */
