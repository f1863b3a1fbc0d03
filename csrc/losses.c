/* losses.c - public entry points of the fused losses and the column sum:
 * each forwards to the table of the selected ISA (vec.h).
 * The code lives in losses_impl.h; nothing here computes. */
#include "vec.h"

#define FMLP_LOSS_ENTRIES(T, S)                                                             \
    int fmlp_softmax_xent_labels_##S(double *loss, T *G, const T *Z, const int64_t *labels,  \
                                     const T *w, int64_t M, int64_t N)                       \
    {                                                                                        \
        return fmlp_vec->softmax_xent_labels_##S(loss, G, Z, labels, w, M, N);               \
    }                                                                                        \
    int fmlp_softmax_xent_probs_##S(double *loss, T *G, const T *Z, const T *Yt, const T *w, \
                                    int64_t M, int64_t N)                                    \
    {                                                                                        \
        return fmlp_vec->softmax_xent_probs_##S(loss, G, Z, Yt, w, M, N);                    \
    }                                                                                        \
    int fmlp_sigmoid_bce_##S(double *loss, T *G, const T *Z, const T *Yt, const T *w,        \
                             int64_t M, int64_t N)                                           \
    {                                                                                        \
        return fmlp_vec->sigmoid_bce_##S(loss, G, Z, Yt, w, M, N);                           \
    }                                                                                        \
    int fmlp_squared_error_##S(double *loss, T *G, const T *P, const T *Yt, const T *w,      \
                               int64_t M, int64_t N)                                         \
    {                                                                                        \
        return fmlp_vec->squared_error_##S(loss, G, P, Yt, w, M, N);                         \
    }                                                                                        \
    void fmlp_colsum_##S(T *out, const T *A, int64_t M, int64_t N)                           \
    {                                                                                        \
        fmlp_vec->colsum_##S(out, A, M, N);                                                  \
    }

FMLP_LOSS_ENTRIES(float, f32)
FMLP_LOSS_ENTRIES(double, f64)
