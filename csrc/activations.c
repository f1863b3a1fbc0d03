/* activations.c - public entry points of the activation and softmax kernels:
 * each forwards to the table of the selected ISA (vec.h).
 * The code lives in activations_impl.h; nothing here computes. */
#include "vec.h"

#define FMLP_ACT_ENTRIES(T, S)                                                              \
    void fmlp_bias_act_forward_##S(T *Y, const T *Z, const T *bias, int64_t M, int64_t N,    \
                                   int act, T slope)                                         \
    {                                                                                        \
        fmlp_vec->bias_act_forward_##S(Y, Z, bias, M, N, act, slope);                        \
    }                                                                                        \
    void fmlp_act_backward_##S(T *dZ, const T *dY, const T *Y, int64_t M, int64_t N,        \
                               int act, T slope)                                             \
    {                                                                                        \
        fmlp_vec->act_backward_##S(dZ, dY, Y, M, N, act, slope);                             \
    }                                                                                        \
    void fmlp_softmax_forward_##S(T *Y, const T *Z, int64_t M, int64_t N)                    \
    {                                                                                        \
        fmlp_vec->softmax_forward_##S(Y, Z, M, N);                                           \
    }                                                                                        \
    void fmlp_softmax_backward_##S(T *dZ, const T *dY, const T *Y, int64_t M, int64_t N)     \
    {                                                                                        \
        fmlp_vec->softmax_backward_##S(dZ, dY, Y, M, N);                                     \
    }

FMLP_ACT_ENTRIES(float, f32)
FMLP_ACT_ENTRIES(double, f64)
