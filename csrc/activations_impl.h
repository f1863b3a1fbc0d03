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

/* sum of X[N] in double over FMLP_LANES fixed partial sums: gcc vectorizes
 * it without reassociating, and every ISA adds in the same order. */
static inline double FMLP_FN(row_sum)(const FMLP_T *X, int64_t N)
{
    double acc[FMLP_LANES] = {0};
    int64_t j = 0;
    for (; j + FMLP_LANES <= N; j += FMLP_LANES) {
        FMLP_LANE_LOOP
        for (int k = 0; k < FMLP_LANES; k++) acc[k] += (double)X[j + k];
    }
    for (int k = 0; j < N; j++, k++) acc[k] += (double)X[j];
    return fmlp_lanes_sum(acc);
}

/* sum_j exp(Z[j] - m) without an output row (loss without gradient),
 * through a stack buffer; the chunks are multiples of FMLP_LANES so the
 * additions happen in the same order as row_sum's over a stored row. */
static inline double FMLP_FN(row_exp_sum_only)(const FMLP_T *Z, FMLP_T m, int64_t N)
{
    enum { CHUNK = 32 * FMLP_LANES };
    FMLP_T buf[CHUNK];
    double acc[FMLP_LANES] = {0};
    for (int64_t j0 = 0; j0 < N; j0 += CHUNK) {
        int64_t n = N - j0 < CHUNK ? N - j0 : CHUNK;
        for (int64_t j = 0; j < n; j++) buf[j] = FMLP_FN(vm_exp)(Z[j0 + j] - m);
        int64_t j = 0;
        for (; j + FMLP_LANES <= n; j += FMLP_LANES) {
            FMLP_LANE_LOOP
            for (int k = 0; k < FMLP_LANES; k++) acc[k] += (double)buf[j + k];
        }
        for (int k = 0; j < n; j++, k++) acc[k] += (double)buf[j];
    }
    return fmlp_lanes_sum(acc);
}

/* max of a row with N >= 1 (NaN may or may not win; it poisons the sum). */
static inline FMLP_T FMLP_FN(row_max)(const FMLP_T *Z, int64_t N)
{
    FMLP_T acc[FMLP_LANES];
    for (int k = 0; k < FMLP_LANES; k++) acc[k] = Z[0];
    int64_t j = 0;
    for (; j + FMLP_LANES <= N; j += FMLP_LANES) {
        FMLP_LANE_LOOP
        for (int k = 0; k < FMLP_LANES; k++)
            acc[k] = FMLP_FN(vm_select)(Z[j + k] > acc[k], Z[j + k], acc[k]);
    }
    for (int k = 0; j < N; j++, k++)
        acc[k] = FMLP_FN(vm_select)(Z[j] > acc[k], Z[j], acc[k]);
    FMLP_T m = acc[0];
    for (int k = 1; k < FMLP_LANES; k++) m = acc[k] > m ? acc[k] : m;
    return m;
}

/* Rows per block of the softmax kernels: the block (at most 2048 elements,
 * in L1) is exponentiated as one flat run, so narrow rows (N = 10 output
 * layers) do not pay a scalar loop tail per row inside the expensive exp. */
#define FMLP_SOFTMAX_ROWS 64
static inline int64_t FMLP_FN(softmax_block_rows)(int64_t N)
{
    int64_t r = 2048 / (N > 0 ? N : 1);
    return r < 1 ? 1 : (r > FMLP_SOFTMAX_ROWS ? FMLP_SOFTMAX_ROWS : r);
}

/* Y = Z - m_i for a row, m_i its max (returned); Y may be Z. */
static inline FMLP_T FMLP_FN(row_shift)(FMLP_T *Y, const FMLP_T *Z, int64_t N)
{
    FMLP_T m = FMLP_FN(row_max)(Z, N);
    for (int64_t j = 0; j < N; j++) Y[j] = Z[j] - m;
    return m;
}

/* Y[n] = exp(Y[n]) in place: the flat run over a block of shifted rows. */
static inline void FMLP_FN(exp_inplace)(FMLP_T *Y, int64_t n)
{
    for (int64_t j = 0; j < n; j++) Y[j] = FMLP_FN(vm_exp)(Y[j]);
}

static void FMLP_FN(k_softmax_forward)(FMLP_T *Y, const FMLP_T *Z, int64_t M, int64_t N)
{
    if (N <= 0) return;
    int64_t R = FMLP_FN(softmax_block_rows)(N);
    for (int64_t i0 = 0; i0 < M; i0 += R) {
        int64_t r = M - i0 < R ? M - i0 : R;
        for (int64_t i = i0; i < i0 + r; i++) FMLP_FN(row_shift)(Y + i * N, Z + i * N, N);
        FMLP_FN(exp_inplace)(Y + i0 * N, r * N);
        for (int64_t i = i0; i < i0 + r; i++) {
            FMLP_T *y = Y + i * N;
            /* s >= 1: the max contributes exp(0) = 1, so the division is safe. */
            FMLP_T inv = (FMLP_T)(1.0 / FMLP_FN(row_sum)(y, N));
            for (int64_t j = 0; j < N; j++) y[j] *= inv;
        }
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
        for (; j + FMLP_LANES <= N; j += FMLP_LANES) {
            FMLP_LANE_LOOP
            for (int k = 0; k < FMLP_LANES; k++)
                acc[k] += (double)dy[j + k] * (double)y[j + k];
        }
        for (int k = 0; j < N; j++, k++)
            acc[k] += (double)dy[j] * (double)y[j];
        FMLP_T s = (FMLP_T)fmlp_lanes_sum(acc);
        for (j = 0; j < N; j++) dz[j] = y[j] * (dy[j] - s);
    }
}
