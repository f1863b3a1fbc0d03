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


/* ---- threads -------------------------------------------------------------
 * Kernels split large work over a persistent pool (csrc/pool.c). The
 * process-wide default is every online CPU; 0 restores that. */
/* The most threads one call runs on: the pool's workers plus the caller. The
 * Python layer clamps larger requests (which would not fit an int) to it. */
#define FMLP_MAX_THREADS 64
void fmlp_set_default_threads(int n);
int fmlp_get_default_threads(void);
int fmlp_cpu_count(void);
/* Threads for kernel calls made by this thread from now on (0: the default);
 * returns the previous value. The engine sets it from a model's n_threads. */
int fmlp_set_thread_budget(int n);

/* ---- the engine: a network, its optimizer, one epoch ---------------------
 * All memory is the caller's; the structs only point at it. */
typedef enum { FMLP_OUT_IDENTITY = 0, FMLP_OUT_LOGISTIC = 1, FMLP_OUT_SOFTMAX = 2, FMLP_OUT_EXP = 3 } fmlp_out;
/* POISSON: half Poisson deviance with the exp output, per row
 * sum_k y log y - y z - y + exp(z); delta exp(z) - y. */
typedef enum { FMLP_LOSS_XENT = 0, FMLP_LOSS_BCE = 1, FMLP_LOSS_SQUARED = 2, FMLP_LOSS_POISSON = 3 } fmlp_loss;
typedef enum { FMLP_SOLVER_SGD = 0, FMLP_SOLVER_ADAM = 1 } fmlp_solver;

/* The most weight layers a network may have (hidden layers + 1). */
#define FMLP_MAX_LAYERS 256

/* xoshiro256** state (csrc/rng.h has the algorithms). */
typedef struct { uint64_t s[4]; } fmlp_rng;

/* L dense layers. params is one flat array: W_0 .. W_{L-1}, each stored
 * [sizes[l+1], sizes[l]] (fan_out, fan_in), then b_0 .. b_{L-1}. */
typedef struct {
    int64_t n_layers;         /* L >= 1 */
    const int64_t *sizes;     /* L + 1 widths, sizes[0] = n_features */
    int hidden_act;           /* fmlp_act for layers 0 .. L-2 */
    double slope;             /* leaky_relu slope */
    int out_act;              /* fmlp_out */
    int loss;                 /* fmlp_loss */
    void *params;             /* float or double, per the _f32/_f64 call */
    const double *dropout;    /* L-1 rates in [0, 1), or NULL */
    int n_threads;            /* threads for this network's work; 0: the process default */
    int w0_transposed;        /* W_0 stored [sizes[0], sizes[1]] (fan_in, fan_out): the
                                 layout sparse inputs want (one weight row per non-zero) */
} fmlp_net;

/* Optimizer settings and state; m and v have the length of params. */
typedef struct {
    int solver;               /* fmlp_solver */
    double lr, momentum;      /* sgd: momentum 0 is plain SGD */
    int nesterov;
    double beta1, beta2, eps; /* adam */
    void *m;                  /* sgd velocity / adam first moment */
    void *v;                  /* adam second moment */
    int64_t step;             /* steps taken since set; Adam's t is step + 1 */
    uint64_t dropout_key;
} fmlp_optim;

/* Training data, rows selected by index. X has unit column stride and row
 * stride ldx; or, when indptr is not NULL, X is CSR: X holds the values and
 * row r its entries indptr[r]..indptr[r+1] at columns indices[...]. Targets
 * are labels (cross-entropy from classes) or Y [n, n_outputs] contiguous;
 * w (per-sample weights) may be NULL. */
typedef struct {
    const void *X;
    int64_t ldx, n;
    const int64_t *indptr, *indices;
    const int64_t *labels;
    const void *Y;
    const void *w;
} fmlp_data;

/* One epoch in progress; C advances pos and loss_sum between slices. */
typedef struct {
    int64_t batch_size;
    int shuffle;              /* 0: X's order, 1: drawn from the engine's RNG,
                                 2: the caller filled perm */
    double alpha, l1;         /* L2 (scikit-learn's alpha) and L1 strengths */
    int64_t *perm;            /* n entries: the epoch's sample order */
    int64_t pos;              /* samples done */
    double loss_sum;          /* sum over done batches of batch loss * rows */
    double penalty_sum;       /* the penalty part of loss_sum */
    int64_t nonfinite_at;     /* first sample of the batch that diverged; -1: not known */
} fmlp_epoch;

/* Flags of fmlp_net_predict (see fmlp_net_predict_f32 in fastmlp_typed.h). */
#define FMLP_PREDICT_CHECK_FINITE 1
#define FMLP_PREDICT_TWO_COLUMNS 2

/* Start an epoch: pos = loss_sum = 0 and, when shuffling, perm = a fresh
 * permutation of 0..n-1 drawn from rng (else the identity). */
void fmlp_epoch_begin(fmlp_epoch *ep, fmlp_rng *rng, int64_t n);
void fmlp_rng_seed_state(fmlp_rng *rng, uint64_t seed);
uint64_t fmlp_rng_next_u64(fmlp_rng *rng);

/* NumPy's legacy RandomState.uniform(low, low + range, n), bit for bit, from
 * its MT19937 key[624] and position (RandomState.get_state()); advances both
 * as NumPy would (mt19937.c). FMLP_ERR_ARG if pos is not in [0, 624]. */
int fmlp_mt19937_uniform(uint32_t *key, int64_t *pos, double *out, int64_t n, double low,
                         double range);

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
