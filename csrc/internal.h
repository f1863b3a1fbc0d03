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
