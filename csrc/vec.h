/* vec.h - internal to the elementwise kernels (activations, softmax, losses,
 * colsum, optimizer updates): the per-ISA dispatch table and the helpers the
 * templates share. Not part of the contract; Cython never sees it. */
#ifndef FMLP_VEC_H
#define FMLP_VEC_H

#include <math.h>
#include <string.h>

#include "internal.h"

/* Partial sums per reduction: fixed, not the vector width, so that every
 * ISA build adds in the same order and gives bit-identical results. */
#define FMLP_LANES 8

/* Put before the inner loop over the FMLP_LANES partial sums: kept as a
 * loop, gcc vectorizes it across the lanes; fully unrolled first, its
 * accumulators become scalars and the reduction stays scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#  define FMLP_LANE_LOOP _Pragma("GCC unroll 1")
#elif defined(__clang__)
#  define FMLP_LANE_LOOP _Pragma("clang loop unroll(disable)")
#else
#  define FMLP_LANE_LOOP
#endif

/* For helpers whose int flags must be compile-time constants at each call
 * (each combination then gets its own branch-free, vectorized loop). */
#if defined(__GNUC__) || defined(__clang__)
#  define FMLP_FLAGGED static inline __attribute__((always_inline))
#else
#  define FMLP_FLAGGED static inline
#endif

static inline double fmlp_lanes_sum(const double acc[FMLP_LANES])
{
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* Adam's bias correction folded into the step size, in double: for t in the
 * thousands, 1 - beta^t would lose digits in float. */
#define FMLP_ADAM_STEP(T, S)                                                                    \
    static inline T fmlp_adam_step_##S(T lr, T beta1, T beta2, int64_t t)                     \
    {                                                                                           \
        double td = (double)t;                                                                  \
        return (T)((double)lr * sqrt(1.0 - pow((double)beta2, td)) /                            \
                   (1.0 - pow((double)beta1, td)));                                             \
    }
FMLP_ADAM_STEP(float, f32)
FMLP_ADAM_STEP(double, f64)
#undef FMLP_ADAM_STEP

/* One entry per kernel of fastmlp_typed.h's elementwise half, both dtypes.
 * S is the dtype suffix; the signatures are the contract's. */
#define FMLP_VEC_FIELDS(T, S)                                                                   \
    void (*bias_act_forward_##S)(T *, const T *, const T *, int64_t, int64_t, int, T);         \
    void (*act_backward_##S)(T *, const T *, const T *, int64_t, int64_t, int, T);             \
    void (*softmax_forward_##S)(T *, const T *, int64_t, int64_t);                            \
    void (*softmax_backward_##S)(T *, const T *, const T *, int64_t, int64_t);                \
    int (*softmax_xent_labels_##S)(double *, T *, const T *, const int64_t *, const T *,       \
                                   int64_t, int64_t);                                          \
    int (*softmax_xent_probs_##S)(double *, T *, const T *, const T *, const T *, int64_t,     \
                                  int64_t);                                                    \
    int (*sigmoid_bce_##S)(double *, T *, const T *, const T *, const T *, int64_t, int64_t);  \
    int (*squared_error_##S)(double *, T *, const T *, const T *, const T *, int64_t, int64_t);\
    void (*colsum_##S)(T *, const T *, int64_t, int64_t);                                      \
    void (*sgd_update_##S)(T *, const T *, int64_t, T, T, T);                                  \
    void (*momentum_update_##S)(T *, T *, const T *, int64_t, T, T, int, T, T);               \
    void (*adam_update_##S)(T *, T *, T *, const T *, int64_t, T, T, T, T, int64_t, T, T);     \
    void (*adam_apply_##S)(T *, T *, T *, const T *, int64_t, T, T, T, T, T, T);             \
    void (*csr_fwd_rows_##S)(void *, int64_t, int64_t);                                        \
    void (*csr_t_cols_##S)(void *, int64_t, int64_t);                                          \
    double (*sum_squares_##S)(const T *, int64_t);                                             \
    double (*sum_abs_##S)(const T *, int64_t);

typedef struct fmlp_vec_table {
    FMLP_VEC_FIELDS(float, f32)
    FMLP_VEC_FIELDS(double, f64)
} fmlp_vec_table;

/* The table of each compiled ISA (elementwise_<isa>.c), and the selected one. */
extern const fmlp_vec_table fmlp_vec_generic;
#if FMLP_BUILD_AVX2
extern const fmlp_vec_table fmlp_vec_avx2;
#endif
#if FMLP_BUILD_AVX512
extern const fmlp_vec_table fmlp_vec_avx512;
#endif
extern const fmlp_vec_table *fmlp_vec;

#endif /* FMLP_VEC_H */
