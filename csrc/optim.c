/* optim.c - public entry points of the optimizer updates: each forwards to
 * the table of the selected ISA (vec.h).
 * The code lives in optim_impl.h; nothing here computes or keeps state. */
#include "vec.h"

#define FMLP_OPTIM_ENTRIES(T, S)                                                            \
    void fmlp_sgd_update_##S(T *W, const T *G, int64_t n, T lr, T l2, T l1)                  \
    {                                                                                        \
        fmlp_vec->sgd_update_##S(W, G, n, lr, l2, l1);                                       \
    }                                                                                        \
    void fmlp_momentum_update_##S(T *W, T *V, const T *G, int64_t n, T lr, T momentum,      \
                                  int nesterov, T l2, T l1)                                  \
    {                                                                                        \
        fmlp_vec->momentum_update_##S(W, V, G, n, lr, momentum, nesterov, l2, l1);           \
    }                                                                                        \
    void fmlp_adam_update_##S(T *W, T *Mm, T *Vm, const T *G, int64_t n, T lr, T beta1,      \
                              T beta2, T eps, int64_t t, T l2, T l1)                         \
    {                                                                                        \
        fmlp_vec->adam_update_##S(W, Mm, Vm, G, n, lr, beta1, beta2, eps, t, l2, l1);        \
    }

FMLP_OPTIM_ENTRIES(float, f32)
FMLP_OPTIM_ENTRIES(double, f64)
