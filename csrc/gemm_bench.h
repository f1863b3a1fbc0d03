/* gemm_bench.h - benchmark-only entry points of the GEMM area, declared for
 * Cython (_core.pxd) apart from the kernel contract in fastmlp.h.
 * Nothing here computes anything a model uses. */
#ifndef FMLP_GEMM_BENCH_H
#define FMLP_GEMM_BENCH_H

#include <stdint.h>

/* Runs `iters` steps of twelve independent FMA chains on the vectors of
 * `isa` (FMLP_ISA_AVX2: 256-bit, FMLP_ISA_AVX512: 512-bit), fp32, and
 * returns the FLOP executed; 0 when the ISA is generic or cannot run here.
 * The caller times it: FLOP / seconds is this core's FMA peak. */
int64_t fmlp_fma_peak_probe(int isa, int64_t iters);

#endif /* FMLP_GEMM_BENCH_H */
