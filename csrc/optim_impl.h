/* optim_impl.h - dtype template of the in-place optimizer updates (SGD,
 * momentum/Nesterov, Adam) over flat parameter vectors, compiled once per ISA.
 * It keeps no state of its own (the caller owns W, V, Mm, Vm and t) and does
 * not check for non-finite values. */

/* g + l2 w + l1 sign(w), sign(0) = 0. Callers skip it when l1 = l2 = 0,
 * which gives the same result for finite w and saves the work. */
static inline FMLP_T FMLP_FN(reg_grad)(FMLP_T g, FMLP_T w, FMLP_T l2, FMLP_T l1)
{
    FMLP_T sgn = FMLP_FN(vm_select)(w > 0, (FMLP_T)1, FMLP_FN(vm_select)(w < 0, (FMLP_T)-1, (FMLP_T)0));
    return g + l2 * w + l1 * sgn;
}

static void FMLP_FN(k_sgd_update)(FMLP_T *FMLP_RESTRICT W, const FMLP_T *FMLP_RESTRICT G,
                                  int64_t n, FMLP_T lr, FMLP_T l2, FMLP_T l1)
{
    if (l2 == 0 && l1 == 0) {
        for (int64_t i = 0; i < n; i++) W[i] -= lr * G[i];
    } else {
        for (int64_t i = 0; i < n; i++) W[i] -= lr * FMLP_FN(reg_grad)(G[i], W[i], l2, l1);
    }
}

/* scikit-learn: V = mu V - lr g, then W += V, or for Nesterov
 * W += mu V - lr g with the new V. */
#define MOMENTUM_LOOP(GRAD)                                                 \
    do {                                                                    \
        if (nesterov) {                                                     \
            for (int64_t i = 0; i < n; i++) {                               \
                FMLP_T g = GRAD, step = lr * g;                             \
                FMLP_T v = momentum * V[i] - step;                          \
                V[i] = v;                                                   \
                W[i] += momentum * v - step;                                \
            }                                                               \
        } else {                                                            \
            for (int64_t i = 0; i < n; i++) {                               \
                FMLP_T g = GRAD;                                            \
                FMLP_T v = momentum * V[i] - lr * g;                        \
                V[i] = v;                                                   \
                W[i] += v;                                                  \
            }                                                               \
        }                                                                   \
    } while (0)

static void FMLP_FN(k_momentum_update)(FMLP_T *FMLP_RESTRICT W, FMLP_T *FMLP_RESTRICT V,
                                       const FMLP_T *FMLP_RESTRICT G, int64_t n,
                                       FMLP_T lr, FMLP_T momentum, int nesterov,
                                       FMLP_T l2, FMLP_T l1)
{
    if (l2 == 0 && l1 == 0) MOMENTUM_LOOP(G[i]);
    else MOMENTUM_LOOP(FMLP_FN(reg_grad)(G[i], W[i], l2, l1));
}
#undef MOMENTUM_LOOP

/* Sums over the weights (the L2 and L1 penalties) in double, in
 * FMLP_SUM_LANES fixed lanes: the lanes vectorize (no reassociation needed),
 * enough of them that the additions' latency does not bound the loop, and
 * the result does not depend on the ISA. */
#define FMLP_SUM_LANES 32
static double FMLP_FN(k_sum_squares)(const FMLP_T *x, int64_t n)
{
    double lane[FMLP_SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + FMLP_SUM_LANES <= n; i += FMLP_SUM_LANES)
        for (int l = 0; l < FMLP_SUM_LANES; l++) lane[l] += (double)x[i + l] * (double)x[i + l];
    double s = 0;
    for (; i < n; i++) s += (double)x[i] * (double)x[i];
    for (int l = 0; l < FMLP_SUM_LANES; l++) s += lane[l];
    return s;
}

static double FMLP_FN(k_sum_abs)(const FMLP_T *x, int64_t n)
{
    double lane[FMLP_SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + FMLP_SUM_LANES <= n; i += FMLP_SUM_LANES)
        for (int l = 0; l < FMLP_SUM_LANES; l++) lane[l] += fabs((double)x[i + l]);
    double s = 0;
    for (; i < n; i++) s += fabs((double)x[i]);
    for (int l = 0; l < FMLP_SUM_LANES; l++) s += lane[l];
    return s;
}
#undef FMLP_SUM_LANES

#define ADAM_LOOP(GRAD)                                                     \
    do {                                                                    \
        for (int64_t i = 0; i < n; i++) {                                   \
            FMLP_T g = GRAD;                                                \
            FMLP_T m = beta1 * Mm[i] + c1 * g;                              \
            FMLP_T v = beta2 * Vm[i] + c2 * (g * g);                        \
            Mm[i] = m;                                                      \
            Vm[i] = v;                                                      \
            W[i] -= step * m / (FMLP_FN(vm_sqrt)(v) + eps);                        \
        }                                                                   \
    } while (0)

/* Adam with the bias-corrected step size already computed (adam_step):
 * for callers that update one vector in many small pieces. */
static void FMLP_FN(k_adam_apply)(FMLP_T *FMLP_RESTRICT W, FMLP_T *FMLP_RESTRICT Mm,
                                  FMLP_T *FMLP_RESTRICT Vm, const FMLP_T *FMLP_RESTRICT G,
                                  int64_t n, FMLP_T step, FMLP_T beta1, FMLP_T beta2,
                                  FMLP_T eps, FMLP_T l2, FMLP_T l1)
{
    FMLP_T c1 = (FMLP_T)1 - beta1, c2 = (FMLP_T)1 - beta2;
    if (l2 == 0 && l1 == 0) ADAM_LOOP(G[i]);
    else ADAM_LOOP(FMLP_FN(reg_grad)(G[i], W[i], l2, l1));
}

static void FMLP_FN(k_adam_update)(FMLP_T *FMLP_RESTRICT W, FMLP_T *FMLP_RESTRICT Mm,
                                   FMLP_T *FMLP_RESTRICT Vm, const FMLP_T *FMLP_RESTRICT G,
                                   int64_t n, FMLP_T lr, FMLP_T beta1, FMLP_T beta2,
                                   FMLP_T eps, int64_t t, FMLP_T l2, FMLP_T l1)
{
    FMLP_FN(k_adam_apply)(W, Mm, Vm, G, n, FMLP_FN(fmlp_adam_step)(lr, beta1, beta2, t), beta1, beta2,
                          eps, l2, l1);
}
#undef ADAM_LOOP
