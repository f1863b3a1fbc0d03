/* fastmlp.h - the contract of fastmlp's C library: status codes, enums, ISA
 * selection, and (through fastmlp_typed.h) every kernel prototype.
 * It does not allocate, print, exit or know Python: scratch is passed in and
 * data-dependent failures come back as status codes.
 *
 * Conventions (csrc/README in DESIGN.md): arrays are row-major and contiguous
 * unless a leading dimension is given; sizes are int64_t; outputs come first,
 * then inputs, then sizes, then scalars. Each prototype says whether it
 * OVERWRITES or ACCUMULATES each output.
 */
#ifndef FASTMLP_H
#define FASTMLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */
#define FMLP_OK            0
#define FMLP_ERR_LABEL     1  /* a class label outside [0, n_classes) */
#define FMLP_ERR_NONFINITE 2  /* a non-finite loss, gradient or weight */
#define FMLP_ERR_ARG       3  /* an argument the caller should have refused */
#define FMLP_ERR_ISA       4  /* ISA not compiled in, or not run by this CPU */
#define FMLP_ERR_WEIGHT    5  /* sample weights sum to zero (or are negative) */
#define FMLP_INTERRUPTED   6  /* a time slice ended before the work did */

/* ---- activations ------------------------------------------------------- */
typedef enum {
    FMLP_ACT_IDENTITY = 0,
    FMLP_ACT_SIGMOID = 1,    /* logistic: 1 / (1 + exp(-z)) */
    FMLP_ACT_TANH = 2,
    FMLP_ACT_RELU = 3,
    FMLP_ACT_LEAKY_RELU = 4, /* z > 0 ? z : slope * z, 0 < slope < 1 */
    FMLP_ACT_COUNT
} fmlp_act;

/* ---- instruction sets ---------------------------------------------------
 * Every fast kernel has a portable ("generic") path. AVX2+FMA and AVX-512F
 * paths are compiled from per-ISA source files with target pragmas and
 * chosen at run time. fmlp_init() picks the best path this CPU supports. */
typedef enum {
    FMLP_ISA_GENERIC = 0,
    FMLP_ISA_AVX2 = 1,   /* AVX2 + FMA */
    FMLP_ISA_AVX512 = 2, /* AVX-512F */
    FMLP_ISA_COUNT
} fmlp_isa;

/* Detect the CPU and select the best ISA. Idempotent; call once at import. */
void fmlp_init(void);
/* 1 when the path was compiled into this build. */
int fmlp_isa_compiled(int isa);
/* 1 when the path was compiled in and this CPU (and OS) can run it. */
int fmlp_isa_supported(int isa);
/* Select a path for all later calls: FMLP_OK, or FMLP_ERR_ISA when
 * unsupported (the selection is then unchanged). Not thread-safe: call it
 * while no kernel runs (tests and start-up only). */
int fmlp_set_isa(int isa);
int fmlp_get_isa(void);
int fmlp_best_isa(void);
/* "generic", "avx2", "avx512"; "unknown" for anything else. */
const char *fmlp_isa_name(int isa);

/* ---- typed kernels ------------------------------------------------------
 * One template, expanded for float (suffix _f32) and double (suffix _f64). */
#define FMLP_T float
#define FMLP_FN(name) name##_f32
#include "fastmlp_typed.h"
#undef FMLP_T
#undef FMLP_FN

#define FMLP_T double
#define FMLP_FN(name) name##_f64
#include "fastmlp_typed.h"
#undef FMLP_T
#undef FMLP_FN

#ifdef __cplusplus
}
#endif
#endif /* FASTMLP_H */
