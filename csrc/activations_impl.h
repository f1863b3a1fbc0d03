/* activations_impl.h - dtype template of the activation and softmax kernels
 * (bias + activation forward, derivative from the stored output, softmax
 * forward/backward), compiled once per ISA by the elementwise_*.c files.
 * No intrinsics and no ISA-specific code: gcc vectorizes these plain loops
 * under each file's target pragma, so every path computes the same thing. */

/* act(v) for one activation, as an expression of v; used by the loop macro
 * below so that each activation gets its own branch-free inner loop. */
#define ACT_IDENTITY(v) (v)
#define ACT_SIGMOID(v) FMLP_FN(vm_sigmoid)(v)
#define ACT_TANH(v) FMLP_FN(vm_tanh)(v)
/* v < 0 rather than v > 0 keeps NaN visible instead of turning it into 0. */
#define ACT_RELU(v) FMLP_FN(vm_select)((v) < 0, (FMLP_T)0, (v))
#define ACT_LEAKY(v) FMLP_FN(vm_select)((v) < 0, slope * (v), (v))

/* Rows keep the bias index equal to the column; without a bias the whole
 * matrix is one long row, which vectorizes better when N is small. */
#define BIAS_ACT_LOOP(ACT)                                                  \
    do {                                                                    \
        if (bias) {                                                         \
            for (int64_t i = 0; i < M; i++) {                               \
                FMLP_T *y = Y + i * N;                                      \
                const FMLP_T *z = Z + i * N;                                \
                for (int64_t j = 0; j < N; j++) {                           \
                    FMLP_T v = z[j] + bias[j];                              \
                    y[j] = ACT(v);                                          \
                }                                                           \
            }                                                               \
        } else {                                                            \
            int64_t n = M * N;                                              \
            for (int64_t j = 0; j < n; j++) {                               \
                FMLP_T v = Z[j];                                            \
                Y[j] = ACT(v);                                              \
            }                                                               \
        }                                                                   \
    } while (0)

static void FMLP_FN(k_bias_act_forward)(FMLP_T *Y, const FMLP_T *Z, const FMLP_T *bias,
                                        int64_t M, int64_t N, int act, FMLP_T slope)
{
    switch (act) {
    case FMLP_ACT_SIGMOID: BIAS_ACT_LOOP(ACT_SIGMOID); break;
    case FMLP_ACT_TANH: BIAS_ACT_LOOP(ACT_TANH); break;
    case FMLP_ACT_RELU: BIAS_ACT_LOOP(ACT_RELU); break;
    case FMLP_ACT_LEAKY_RELU: BIAS_ACT_LOOP(ACT_LEAKY); break;
    default: BIAS_ACT_LOOP(ACT_IDENTITY); break;
    }
}

/* The derivative factors, from the stored output y. relu and leaky_relu
 * test y > 0, which equals z > 0 because slope > 0. */
#define DACT_SIGMOID(dy, y) ((dy) * ((y) * ((FMLP_T)1 - (y))))
#define DACT_TANH(dy, y) ((dy) * ((FMLP_T)1 - (y) * (y)))
#define DACT_RELU(dy, y) FMLP_FN(vm_select)((y) > 0, (dy), (FMLP_T)0)
#define DACT_LEAKY(dy, y) ((dy) * FMLP_FN(vm_select)((y) > 0, (FMLP_T)1, slope))

#define ACT_BACKWARD_LOOP(DACT)                                             \
    do {                                                                    \
        for (int64_t j = 0; j < n; j++) {                                   \
            FMLP_T d = dY[j], y = Y[j];                                     \
            dZ[j] = DACT(d, y);                                             \
        }                                                                   \
    } while (0)

static void FMLP_FN(k_act_backward)(FMLP_T *dZ, const FMLP_T *dY, const FMLP_T *Y,
                                    int64_t M, int64_t N, int act, FMLP_T slope)
{
    int64_t n = M * N;
    switch (act) {
    case FMLP_ACT_SIGMOID: ACT_BACKWARD_LOOP(DACT_SIGMOID); break;
    case FMLP_ACT_TANH: ACT_BACKWARD_LOOP(DACT_TANH); break;
    case FMLP_ACT_RELU: ACT_BACKWARD_LOOP(DACT_RELU); break;
    case FMLP_ACT_LEAKY_RELU: ACT_BACKWARD_LOOP(DACT_LEAKY); break;
    default:
        if (dZ != dY) memmove(dZ, dY, (size_t)n * sizeof *dZ);
        break;
    }
}

#undef ACT_IDENTITY
#undef ACT_SIGMOID
#undef ACT_TANH
#undef ACT_RELU
#undef ACT_LEAKY
#undef BIAS_ACT_LOOP
#undef DACT_SIGMOID
#undef DACT_TANH
#undef DACT_RELU
#undef DACT_LEAKY
#undef ACT_BACKWARD_LOOP

/* ---- softmax ------------------------------------------------------------ */

/* Y[N] = exp(Z - m) with Z's row max m; returns the sum in double. Y may be
 * Z. The sum runs over FMLP_LANES fixed partial sums so that gcc can
 * vectorize it without reassociating, and every ISA adds in the same order. */
static inline double FMLP_FN(row_exp_sum)(FMLP_T *Y, const FMLP_T *Z, FMLP_T m, int64_t N)
{
    double acc[FMLP_LANES] = {0};
    int64_t j = 0;
    for (; j + FMLP_LANES <= N; j += FMLP_LANES) {
        for (int k = 0; k < FMLP_LANES; k++) {
            FMLP_T e = FMLP_FN(vm_exp)(Z[j + k] - m);
            Y[j + k] = e;
            acc[k] += (double)e;
        }
    }
    for (int k = 0; j < N; j++, k++) {
        FMLP_T e = FMLP_FN(vm_exp)(Z[j] - m);
        Y[j] = e;
        acc[k] += (double)e;
    }
    return fmlp_lanes_sum(acc);
}

/* The same sum without storing the exponentials (loss without gradient). */
static inline double FMLP_FN(row_exp_sum_only)(const FMLP_T *Z, FMLP_T m, int64_t N)
{
    double acc[FMLP_LANES] = {0};
    int64_t j = 0;
    for (; j + FMLP_LANES <= N; j += FMLP_LANES)
        for (int k = 0; k < FMLP_LANES; k++)
            acc[k] += (double)FMLP_FN(vm_exp)(Z[j + k] - m);
    for (int k = 0; j < N; j++, k++)
        acc[k] += (double)FMLP_FN(vm_exp)(Z[j] - m);
    return fmlp_lanes_sum(acc);
}

/* max of a row with N >= 1 (NaN may or may not win; it poisons the sum). */
static inline FMLP_T FMLP_FN(row_max)(const FMLP_T *Z, int64_t N)
{
    FMLP_T acc[FMLP_LANES];
    for (int k = 0; k < FMLP_LANES; k++) acc[k] = Z[0];
    int64_t j = 0;
    for (; j + FMLP_LANES <= N; j += FMLP_LANES)
        for (int k = 0; k < FMLP_LANES; k++)
            acc[k] = FMLP_FN(vm_select)(Z[j + k] > acc[k], Z[j + k], acc[k]);
    for (int k = 0; j < N; j++, k++)
        acc[k] = FMLP_FN(vm_select)(Z[j] > acc[k], Z[j], acc[k]);
    FMLP_T m = acc[0];
    for (int k = 1; k < FMLP_LANES; k++) m = acc[k] > m ? acc[k] : m;
    return m;
}

static void FMLP_FN(k_softmax_forward)(FMLP_T *Y, const FMLP_T *Z, int64_t M, int64_t N)
{
    if (N <= 0) return;
    for (int64_t i = 0; i < M; i++) {
        const FMLP_T *z = Z + i * N;
        FMLP_T *y = Y + i * N;
        FMLP_T m = FMLP_FN(row_max)(z, N);
        /* s >= 1: the max contributes exp(0) = 1, so the division is safe. */
        FMLP_T inv = (FMLP_T)(1.0 / FMLP_FN(row_exp_sum)(y, z, m, N));
        for (int64_t j = 0; j < N; j++) y[j] *= inv;
    }
}

static void FMLP_FN(k_softmax_backward)(FMLP_T *dZ, const FMLP_T *dY, const FMLP_T *Y,
                                        int64_t M, int64_t N)
{
    for (int64_t i = 0; i < M; i++) {
        const FMLP_T *dy = dY + i * N, *y = Y + i * N;
        FMLP_T *dz = dZ + i * N;
        double acc[FMLP_LANES] = {0};
        int64_t j = 0;
        for (; j + FMLP_LANES <= N; j += FMLP_LANES)
            for (int k = 0; k < FMLP_LANES; k++)
                acc[k] += (double)dy[j + k] * (double)y[j + k];
        for (int k = 0; j < N; j++, k++)
            acc[k] += (double)dy[j] * (double)y[j];
        FMLP_T s = (FMLP_T)fmlp_lanes_sum(acc);
        for (j = 0; j < N; j++) dz[j] = y[j] * (dy[j] - s);
    }
}
