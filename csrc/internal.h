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
/* The thread count a kernel called now should use (budget, default, cores). */
int fmlp_threads_for_call(void);

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
