/* losses_impl.h - dtype template of the fused output-layer losses (softmax +
 * cross-entropy from labels or target rows, sigmoid + binary cross-entropy,
 * squared error) and of the column sum, compiled once per ISA.
 * It never takes log(0) and never overflows exp; it does not check the
 * logits for NaN (a NaN logit gives a NaN loss, which the caller sees). */

/* The per-sample scale of the gradient is w_i / sum w. Weights must be
 * finite and non-negative with a positive sum; NULL means all ones. */
static int FMLP_FN(weight_sum)(double *sumw, const FMLP_T *w, int64_t M)
{
    if (!w) {
        *sumw = (double)M;
        return M > 0 ? FMLP_OK : FMLP_ERR_WEIGHT;
    }
    double s = 0;
    int bad = 0;
    for (int64_t i = 0; i < M; i++) {
        double wi = (double)w[i];
        bad |= !(wi >= 0) || !isfinite(wi);
        s += wi;
    }
    *sumw = s;
    return (bad || !(s > 0) || !isfinite(s)) ? FMLP_ERR_WEIGHT : FMLP_OK;
}

static int FMLP_FN(k_softmax_xent_labels)(double *loss, FMLP_T *G, const FMLP_T *Z,
                                          const int64_t *labels, const FMLP_T *w,
                                          int64_t M, int64_t N)
{
    /* Every label is checked before anything is written. */
    for (int64_t i = 0; i < M; i++)
        if (labels[i] < 0 || labels[i] >= N) return FMLP_ERR_LABEL;
    double sumw;
    int st = FMLP_FN(weight_sum)(&sumw, w, M);
    if (st != FMLP_OK) return st;

    double total = 0;
    if (!G) {
        for (int64_t i = 0; i < M; i++) {
            const FMLP_T *z = Z + i * N;
            FMLP_T m = FMLP_FN(row_max)(z, N);
            double s = FMLP_FN(row_exp_sum_only)(z, m, N);
            double wi = w ? (double)w[i] : 1.0;
            /* logsumexp - z_y = (m - z_y) + log(s): both terms are >= 0, so
             * a confident, correct row keeps its small loss accurate. */
            total += wi * (((double)m - (double)z[labels[i]]) + log(s));
        }
    } else {
        /* Blocks of rows as in softmax_forward; m and z_y are kept per row
         * because G, which may be Z, overwrites the logits. */
        int64_t R = FMLP_FN(softmax_block_rows)(N);
        FMLP_T mx[FMLP_SOFTMAX_ROWS], zy[FMLP_SOFTMAX_ROWS];
        for (int64_t i0 = 0; i0 < M; i0 += R) {
            int64_t r = M - i0 < R ? M - i0 : R;
            for (int64_t i = 0; i < r; i++) {
                const FMLP_T *z = Z + (i0 + i) * N;
                zy[i] = z[labels[i0 + i]];
                mx[i] = FMLP_FN(row_shift)(G + (i0 + i) * N, z, N);
            }
            FMLP_FN(exp_inplace)(G + i0 * N, r * N);
            for (int64_t i = 0; i < r; i++) {
                FMLP_T *g = G + (i0 + i) * N;
                double wi = w ? (double)w[i0 + i] : 1.0;
                double s = FMLP_FN(row_sum)(g, N);
                double scale = wi / sumw;
                FMLP_T c = (FMLP_T)(scale / s);
                for (int64_t j = 0; j < N; j++) g[j] *= c;
                g[labels[i0 + i]] -= (FMLP_T)scale;
                total += wi * (((double)mx[i] - (double)zy[i]) + log(s));
            }
        }
    }
    if (loss) *loss = total / sumw;
    return FMLP_OK;
}

static int FMLP_FN(k_softmax_xent_probs)(double *loss, FMLP_T *G, const FMLP_T *Z,
                                         const FMLP_T *Yt, const FMLP_T *w,
                                         int64_t M, int64_t N)
{
    double sumw;
    int st = FMLP_FN(weight_sum)(&sumw, w, M);
    if (st != FMLP_OK) return st;
    if (N <= 0) {
        if (loss) *loss = 0;
        return FMLP_OK;
    }

    double total = 0;
    int64_t R = G ? FMLP_FN(softmax_block_rows)(N) : 1;
    FMLP_T mx[FMLP_SOFTMAX_ROWS];
    double tsum[FMLP_SOFTMAX_ROWS], tz[FMLP_SOFTMAX_ROWS];
    for (int64_t i0 = 0; i0 < M; i0 += R) {
        int64_t r = M - i0 < R ? M - i0 : R;
        /* Read z and t first: G may be Z. Per row: the max, sum_j t_j and
         * sum_j t_j (m - z_j); then (with G) the shifted row into G. */
        for (int64_t i = 0; i < r; i++) {
            const FMLP_T *z = Z + (i0 + i) * N, *t = Yt + (i0 + i) * N;
            FMLP_T m = FMLP_FN(row_max)(z, N);
            double at[FMLP_LANES] = {0}, atz[FMLP_LANES] = {0};
            int64_t j = 0;
            for (; j + FMLP_LANES <= N; j += FMLP_LANES) {
                FMLP_LANE_LOOP
                for (int k = 0; k < FMLP_LANES; k++) {
                    at[k] += (double)t[j + k];
                    atz[k] += (double)(t[j + k] * (m - z[j + k]));
                }
            }
            for (int k = 0; j < N; j++, k++) {
                at[k] += (double)t[j];
                atz[k] += (double)(t[j] * (m - z[j]));
            }
            mx[i] = m;
            tsum[i] = fmlp_lanes_sum(at);
            tz[i] = fmlp_lanes_sum(atz);
            if (G) FMLP_FN(row_shift)(G + (i0 + i) * N, z, N);
        }
        if (G) FMLP_FN(exp_inplace)(G + i0 * N, r * N);
        for (int64_t i = 0; i < r; i++) {
            double wi = w ? (double)w[i0 + i] : 1.0;
            double s;
            if (G) {
                FMLP_T *g = G + (i0 + i) * N;
                const FMLP_T *t = Yt + (i0 + i) * N;
                s = FMLP_FN(row_sum)(g, N);
                double scale = wi / sumw;
                FMLP_T cp = (FMLP_T)(tsum[i] * scale / s), ct = (FMLP_T)scale;
                for (int64_t j = 0; j < N; j++) g[j] = g[j] * cp - t[j] * ct;
            } else {
                s = FMLP_FN(row_exp_sum_only)(Z + (i0 + i) * N, mx[i], N);
            }
            /* sum_j t_j (lse - z_j) = sum_j t_j (m - z_j) + (sum_j t_j) log(s) */
            total += wi * (tz[i] + tsum[i] * log(s));
        }
    }
    if (loss) *loss = total / sumw;
    return FMLP_OK;
}

/* One row of sigmoid + BCE; returns the row's loss (0 without want_loss).
 * The loss term max(z,0) - z t is written as z (1 - t) or -z t, which does
 * not cancel when t is 0 or 1; the gradient uses e = exp(-|z|) <= 1 for
 * sigmoid(z). Per-element losses go through a stack buffer so that the
 * exp loop stays flat (and vectorizes well). */
FMLP_FLAGGED double FMLP_FN(bce_row)(FMLP_T *g, const FMLP_T *z, const FMLP_T *t, int64_t N,
                                      FMLP_T scale, const int want_loss, const int want_grad)
{
    enum { CHUNK = 32 * FMLP_LANES };
    FMLP_T buf[CHUNK];
    double acc[FMLP_LANES] = {0};
    for (int64_t j0 = 0; j0 < N; j0 += CHUNK) {
        int64_t n = N - j0 < CHUNK ? N - j0 : CHUNK;
        const FMLP_T *zc = z + j0, *tc = t + j0;
        FMLP_T *gc = want_grad ? g + j0 : NULL;
        for (int64_t j = 0; j < n; j++) {
            FMLP_T zz = zc[j], tt = tc[j];
            FMLP_T e = FMLP_FN(vm_exp)(-FMLP_FN(vm_abs)(zz));
            if (want_grad) {
                FMLP_T p = FMLP_FN(vm_select)(zz >= 0, (FMLP_T)1, e) / ((FMLP_T)1 + e);
                gc[j] = (p - tt) * scale;
            }
            if (want_loss) {
                FMLP_T lin = FMLP_FN(vm_select)(zz > 0, zz * ((FMLP_T)1 - tt), -(zz * tt));
                buf[j] = lin + FMLP_FN(vm_log1p_unit)(e);
            }
        }
        if (want_loss) {
            int64_t j = 0;
            for (; j + FMLP_LANES <= n; j += FMLP_LANES) {
                FMLP_LANE_LOOP
                for (int k = 0; k < FMLP_LANES; k++) acc[k] += (double)buf[j + k];
            }
            for (int k = 0; j < n; j++, k++) acc[k] += (double)buf[j];
        }
    }
    return fmlp_lanes_sum(acc);
}

static int FMLP_FN(k_sigmoid_bce)(double *loss, FMLP_T *G, const FMLP_T *Z,
                                  const FMLP_T *Yt, const FMLP_T *w,
                                  int64_t M, int64_t N)
{
    double sumw;
    int st = FMLP_FN(weight_sum)(&sumw, w, M);
    if (st != FMLP_OK) return st;
    double total = 0;
    /* Unweighted, every row has the same scale: one flat run of M*N
     * elements, so narrow rows do not each end in a scalar tail. */
    int64_t rows = w ? M : 1, n = w ? N : M * N;
    for (int64_t i = 0; i < rows; i++) {
        const FMLP_T *z = Z + i * n, *t = Yt + i * n;
        FMLP_T *g = G ? G + i * n : NULL;
        double wi = w ? (double)w[i] : 1.0;
        FMLP_T scale = (FMLP_T)(wi / sumw);
        if (loss && G) total += wi * FMLP_FN(bce_row)(g, z, t, n, scale, 1, 1);
        else if (loss) total += wi * FMLP_FN(bce_row)(g, z, t, n, scale, 1, 0);
        else if (G) FMLP_FN(bce_row)(g, z, t, n, scale, 0, 1);
    }
    if (loss) *loss = total / sumw;
    return FMLP_OK;
}

static int FMLP_FN(k_squared_error)(double *loss, FMLP_T *G, const FMLP_T *P,
                                    const FMLP_T *Yt, const FMLP_T *w,
                                    int64_t M, int64_t N)
{
    double sumw;
    int st = FMLP_FN(weight_sum)(&sumw, w, M);
    if (st != FMLP_OK) return st;
    double total = 0;
    /* Unweighted: one flat run, as in sigmoid_bce. */
    int64_t rows = w ? M : 1, n = w ? N : M * N;
    for (int64_t i = 0; i < rows; i++) {
        const FMLP_T *p = P + i * n, *t = Yt + i * n;
        double wi = w ? (double)w[i] : 1.0;
        if (loss) {
            double acc[FMLP_LANES] = {0};
            int64_t j = 0;
            for (; j + FMLP_LANES <= n; j += FMLP_LANES) {
                FMLP_LANE_LOOP
                for (int k = 0; k < FMLP_LANES; k++) {
                    FMLP_T d = p[j + k] - t[j + k];
                    acc[k] += (double)(d * d);
                }
            }
            for (int k = 0; j < n; j++, k++) {
                FMLP_T d = p[j] - t[j];
                acc[k] += (double)(d * d);
            }
            total += wi * fmlp_lanes_sum(acc);
        }
        /* After the loss: G may alias P. */
        if (G) {
            FMLP_T *g = G + i * n;
            FMLP_T scale = (FMLP_T)(wi / sumw);
            for (int64_t j = 0; j < n; j++) g[j] = (p[j] - t[j]) * scale;
        }
    }
    if (loss) *loss = 0.5 * total / sumw;
    return FMLP_OK;
}

/* ---- column sum ---------------------------------------------------------- */

/* Sums in double, over column blocks that fit a stack buffer: the rows of A
 * stream through once, and float32 keeps double accuracy. */
static void FMLP_FN(k_colsum)(FMLP_T *out, const FMLP_T *A, int64_t M, int64_t N)
{
    enum { BLOCK = 1024 };
    double acc[BLOCK];
    for (int64_t j0 = 0; j0 < N; j0 += BLOCK) {
        int64_t nb = N - j0 < BLOCK ? N - j0 : BLOCK;
        for (int64_t j = 0; j < nb; j++) acc[j] = 0;
        /* Four rows per pass over acc: a quarter of its loads and stores. */
        int64_t i = 0;
        for (; i + 4 <= M; i += 4) {
            const FMLP_T *a0 = A + i * N + j0, *a1 = a0 + N, *a2 = a1 + N, *a3 = a2 + N;
            for (int64_t j = 0; j < nb; j++)
                acc[j] += ((double)a0[j] + (double)a1[j]) + ((double)a2[j] + (double)a3[j]);
        }
        for (; i < M; i++) {
            const FMLP_T *a = A + i * N + j0;
            for (int64_t j = 0; j < nb; j++) acc[j] += (double)a[j];
        }
        for (int64_t j = 0; j < nb; j++) out[j0 + j] = (FMLP_T)acc[j];
    }
}
