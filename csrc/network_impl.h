/* network_impl.h - dtype template of the engine: the layer stack's forward,
 * loss, backward and update, a whole epoch in time slices, chunked inference,
 * and full-batch loss + gradient. Expanded by network.c via instantiate.h.
 * It never allocates: every buffer is carved from the caller's workspace,
 * sized once per fit for the largest batch, so the step loop allocates nothing. */

#include "sparse_jobs.h"

/* ---- workspace layout ------------------------------------------------------ */

typedef struct {
    FMLP_T *xb;            /* [B, n_in] gathered input rows (unused when rows are contiguous) */
    FMLP_T *yb;            /* [B, n_out] gathered dense targets */
    int64_t *lb;           /* [B] gathered labels */
    FMLP_T *wb;            /* [B] gathered sample weights */
    FMLP_T *act[FMLP_MAX_LAYERS + 1];  /* act[l], l = 1..L: [B, sizes[l]] layer outputs */
    FMLP_T *drop[FMLP_MAX_LAYERS + 1]; /* after dropout (hidden layers with a rate > 0) */
    FMLP_T *mask[FMLP_MAX_LAYERS + 1]; /* 0 or 1/(1-rate) */
    FMLP_T *g0, *g1;       /* [B, max width] deltas, ping-pong */
    FMLP_T *grad;          /* [n_params] */
    FMLP_T *snap;          /* [n_params] finite weights to fall back to */
    FMLP_T *snap_m, *snap_v; /* [n_params] the optimizer moments that go with them */
    uint8_t *rows_hit;     /* [n_in] sparse input, W_0 stored (fan_in, fan_out): rows of the
                              layer-0 gradient this batch wrote; the rest are zero, unstored */
    int rows_ok;           /* the caller takes a layer-0 gradient of rows_hit rows only */
    int g0_rows;           /* 1 when grad's layer-0 part holds only the rows_hit rows */
    char *gemm_work;       /* nt slots of gemm_slot bytes, one per thread */
    size_t gemm_slot;
    int nt;                /* threads this step may use */
} FMLP_FN(train_ws);

/* ---- parallel pieces of a step ------------------------------------------------ */

static void FMLP_FN(pgemm)(FMLP_FN(train_ws) *ws, FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                           const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K, int ta, int tb,
                           FMLP_T alpha, FMLP_T beta)
{
    FMLP_FN(fmlp_gemm_parallel)(C, ldc, A, lda, B, ldb, M, N, K, ta, tb,
                      alpha, beta, ws->gemm_work, ws->gemm_slot, ws->nt);
}

/* Row-wise passes over [B, N] blocks, split by rows. */
typedef struct {
    FMLP_T *out;
    const FMLP_T *in, *aux;
    int64_t N;
    int act;
    FMLP_T slope;
} FMLP_FN(rows_job);

static void FMLP_FN(bias_act_rows)(void *v, int64_t lo, int64_t hi)
{
    const FMLP_FN(rows_job) *j = (const FMLP_FN(rows_job) *)v;
    FMLP_FN(fmlp_bias_act_forward)(j->out + lo * j->N, j->in + lo * j->N, j->aux, hi - lo, j->N,
                                   j->act, j->slope);
}

static void FMLP_FN(act_backward_rows)(void *v, int64_t lo, int64_t hi)
{
    const FMLP_FN(rows_job) *j = (const FMLP_FN(rows_job) *)v;
    FMLP_FN(fmlp_act_backward)(j->out + lo * j->N, j->out + lo * j->N, j->aux + lo * j->N, hi - lo,
                               j->N, j->act, j->slope);
}

static int64_t FMLP_FN(min_rows)(int64_t N)
{
    /* About 16K elements per piece: less is not worth waking a thread. */
    const int64_t r = 16384 / (N > 0 ? N : 1);
    return r > 0 ? r : 1;
}

/* Scratch the three GEMMs of a step need at batch B (forward, dX, dW). */
static size_t FMLP_FN(step_gemm_work)(const fmlp_net *net, int64_t B)
{
    size_t need = 0;
    for (int64_t l = 0; l < net->n_layers; l++) {
        const int64_t in = net->sizes[l], out = net->sizes[l + 1];
        size_t s;
        s = FMLP_FN(fmlp_gemm_work_size)(B, out, in, 0, 1);
        if (s > need) need = s;
        s = FMLP_FN(fmlp_gemm_work_size)(B, in, out, 0, 0);
        if (s > need) need = s;
        s = FMLP_FN(fmlp_gemm_work_size)(out, in, B, 1, 0);
        if (s > need) need = s;
        if (l == 0 && net->w0_transposed) {
            /* W_0 stored (fan_in, fan_out): dense batches run X @ W_0 (NN) and
             * its gradient X^T @ G (TN), products the loop above does not size. */
            s = FMLP_FN(fmlp_gemm_work_size)(B, out, in, 0, 0);
            if (s > need) need = s;
            s = FMLP_FN(fmlp_gemm_work_size)(in, out, B, 1, 0);
            if (s > need) need = s;
        }
    }
    return need;
}

/* Carve the workspace; with base == NULL only measure it. Returns bytes. */
static size_t FMLP_FN(carve_train)(const fmlp_net *net, int64_t B, void *base, FMLP_FN(train_ws) *ws)
{
    const int64_t L = net->n_layers;
    if (L < 1 || L > FMLP_MAX_LAYERS) return 0;
    const int64_t n_in = net->sizes[0], n_out = net->sizes[L];
    int64_t maxw = 1;
    for (int64_t l = 1; l <= L; l++)
        if (net->sizes[l] > maxw) maxw = net->sizes[l];
    const int64_t np = fmlp_n_params(net);
    fmlp_carver c = {(char *)base, 0};
    FMLP_FN(train_ws) dummy;
    if (!ws) ws = &dummy;
    ws->xb = (FMLP_T *)fmlp_carve(&c, (size_t)(B * n_in) * sizeof(FMLP_T));
    ws->yb = (FMLP_T *)fmlp_carve(&c, (size_t)(B * n_out) * sizeof(FMLP_T));
    ws->lb = (int64_t *)fmlp_carve(&c, (size_t)B * sizeof(int64_t));
    ws->wb = (FMLP_T *)fmlp_carve(&c, (size_t)B * sizeof(FMLP_T));
    ws->act[0] = ws->drop[0] = ws->mask[0] = NULL;
    for (int64_t l = 1; l <= L; l++) {
        const size_t bytes = (size_t)(B * net->sizes[l]) * sizeof(FMLP_T);
        ws->act[l] = (FMLP_T *)fmlp_carve(&c, bytes);
        const int dropped = l < L && net->dropout && net->dropout[l - 1] > 0;
        ws->drop[l] = dropped ? (FMLP_T *)fmlp_carve(&c, bytes) : NULL;
        ws->mask[l] = dropped ? (FMLP_T *)fmlp_carve(&c, bytes) : NULL;
    }
    ws->g0 = (FMLP_T *)fmlp_carve(&c, (size_t)(B * maxw) * sizeof(FMLP_T));
    ws->g1 = (FMLP_T *)fmlp_carve(&c, (size_t)(B * maxw) * sizeof(FMLP_T));
    ws->grad = (FMLP_T *)fmlp_carve(&c, (size_t)np * sizeof(FMLP_T));
    ws->snap = (FMLP_T *)fmlp_carve(&c, (size_t)np * sizeof(FMLP_T));
    ws->snap_m = (FMLP_T *)fmlp_carve(&c, (size_t)np * sizeof(FMLP_T));
    ws->snap_v = (FMLP_T *)fmlp_carve(&c, (size_t)np * sizeof(FMLP_T));
    ws->rows_hit = (uint8_t *)fmlp_carve(&c, (size_t)n_in);
    ws->rows_ok = ws->g0_rows = 0;
    ws->nt = fmlp_net_threads(net);
    ws->gemm_slot = (FMLP_FN(step_gemm_work)(net, B) + 63) / 64 * 64;
    ws->gemm_work = (char *)fmlp_carve(&c, ws->gemm_slot * (size_t)ws->nt);
    return c.used;
}

size_t FMLP_FN(fmlp_train_work_size)(const fmlp_net *net, int64_t batch)
{
    return FMLP_FN(carve_train)(net, batch < 1 ? 1 : batch, NULL, NULL);
}

/* ---- pieces of a step -------------------------------------------------------- */

static inline FMLP_T *FMLP_FN(weights)(const fmlp_net *net, int64_t l)
{
    return (FMLP_T *)net->params + fmlp_weight_offset(net, l);
}

static inline FMLP_T *FMLP_FN(biases)(const fmlp_net *net, int64_t l)
{
    return (FMLP_T *)net->params + fmlp_bias_offset(net, l);
}


static int FMLP_FN(all_finite)(const FMLP_T *x, int64_t n)
{
    /* Exponent bits all ones <=> inf or NaN. Integer ORs vectorize; a float
     * reduction would not (its order is part of the result). */
#if FMLP_IS_F32
    typedef uint32_t bits_t;
    const bits_t E = UINT32_C(0x7f800000);
#else
    typedef uint64_t bits_t;
    const bits_t E = UINT64_C(0x7ff0000000000000);
#endif
    bits_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bits_t u;
        memcpy(&u, x + i, sizeof u);
        bad |= (bits_t)((u & E) == E);
    }
    return bad == 0;
}

/* A batch's input rows: dense (x, row stride ldx) or, when indptr is not
 * NULL, CSR rows read in place (rows[i] is the i-th row used; NULL means
 * 0..B-1 of indptr). */
typedef struct {
    const FMLP_T *x;
    int64_t ldx;
    const int64_t *rows, *indptr, *indices;
    const FMLP_T *values;
} FMLP_FN(input);

/* z [B, sizes[1]] = input @ W_0^T, in W_0's stored layout. OVERWRITES z. */
static void FMLP_FN(layer0_forward)(const fmlp_net *net, int nt, char *gwork, size_t slot, FMLP_T *z,
                                    const FMLP_FN(input) *in, int64_t B)
{
    const int64_t fin = net->sizes[0], fout = net->sizes[1];
    const FMLP_T *W = FMLP_FN(weights)(net, 0);
    const int t = net->w0_transposed;
    if (in->indptr)
        FMLP_FN(fmlp_csr_matmul)(z, fout, in->rows, in->indptr, in->indices, in->values, B, W,
                                 t ? fout : fin, fout, !t, (FMLP_T)0, nt);
    else
        FMLP_FN(fmlp_gemm_parallel)(z, fout, in->x, in->ldx, W, t ? fout : fin, B, fout, fin, 0, !t,
                          (FMLP_T)1, (FMLP_T)0, gwork, slot, nt);
}

/* grad of W_0 (stored layout) = scale * G^T @ input, OVERWRITTEN (beta 0) or
 * ACCUMULATED (beta 1). Sparse input touches only its non-zero columns; when
 * W_0 is stored (fan_in, fan_out) and beta is 0, only the rows of the
 * batch's features are written (zeroed first) and ws->rows_hit marks them:
 * the other rows are zero and stay unwritten (ws->g0_rows = 1), so
 * FMLP_FN(update) must be given ws->rows_hit. Only where the caller said it
 * can take that (ws->rows_ok: the training step, not full-batch gradients). */
static void FMLP_FN(layer0_grad)(const fmlp_net *net, FMLP_FN(train_ws) *ws, FMLP_T *g0, const FMLP_T *G,
                                 const FMLP_FN(input) *in, int64_t B, FMLP_T scale, FMLP_T beta)
{
    const int64_t fin = net->sizes[0], fout = net->sizes[1];
    const int t = net->w0_transposed;
    ws->g0_rows = 0;
    if (in->indptr) {
        const uint8_t *zero_rows = NULL;
        if (beta == 0 && t && ws->rows_ok) {  /* t: W_0 stored (fan_in, fan_out) */
            uint8_t *hit = ws->rows_hit;
            memset(hit, 0, (size_t)fin);
            for (int64_t i = 0; i < B; i++) {
                const int64_t r = in->rows ? in->rows[i] : i;
                for (int64_t k = in->indptr[r]; k < in->indptr[r + 1]; k++) hit[in->indices[k]] = 1;
            }
            ws->g0_rows = 1;
            zero_rows = hit;  /* the product zeroes them, each thread its own columns */
        } else if (beta == 0) {
            memset(g0, 0, (size_t)(fin * fout) * sizeof(FMLP_T));
        }
        FMLP_FN(csr_t_job) job = {g0, t ? fout : fin, in->rows, in->indptr, in->indices, in->values,
                                  G, fout, B, !t, scale, zero_rows, fin};
        FMLP_FN(csr_t_run)(&job, fout, ws->nt);
    } else if (t) {
        FMLP_FN(pgemm)(ws, g0, fout, in->x, in->ldx, G, fout, fin, fout, B, 1, 0, scale, beta);
    } else {
        FMLP_FN(pgemm)(ws, g0, fin, G, fout, in->x, in->ldx, fout, fin, B, 1, 0, scale, beta);
    }
}

/* Forward through every layer for the B rows of `in`. Training applies
 * dropout; inference does not. The last layer's pre-activation (logits) is
 * left in act[L]. */
static void FMLP_FN(forward_layers)(const fmlp_net *net, FMLP_FN(train_ws) *ws, const FMLP_FN(input) *in,
                                    int64_t B, int training, const fmlp_optim *opt)
{
    const int64_t L = net->n_layers;
    const FMLP_T *x = NULL;
    int64_t ldx = 0;
    for (int64_t l = 0; l < L; l++) {
        const int64_t fin = net->sizes[l], fout = net->sizes[l + 1];
        FMLP_T *z = ws->act[l + 1];
        if (l == 0)
            FMLP_FN(layer0_forward)(net, ws->nt, ws->gemm_work, ws->gemm_slot, z, in, B);
        else
            FMLP_FN(pgemm)(ws, z, fout, x, ldx, FMLP_FN(weights)(net, l), fin, B, fout, fin, 0, 1,
                           (FMLP_T)1, (FMLP_T)0);
        if (l < L - 1) {
            FMLP_FN(rows_job) job = {z, z, FMLP_FN(biases)(net, l), fout, net->hidden_act,
                                     (FMLP_T)net->slope};
            fmlp_par_range(ws->nt, B, 1, FMLP_FN(min_rows)(fout), FMLP_FN(bias_act_rows), &job);
            if (training && ws->drop[l + 1]) {
                const double rate = net->dropout[l];
                const FMLP_T keep_scale = (FMLP_T)(1.0 / (1.0 - rate));
                FMLP_T *d = ws->drop[l + 1], *m = ws->mask[l + 1];
                for (int64_t e = 0; e < B * fout; e++) {
                    const double u = fmlp_dropout_uniform(opt->dropout_key, opt->step, l, e);
                    m[e] = u >= rate ? keep_scale : (FMLP_T)0;
                    d[e] = z[e] * m[e];
                }
                x = d;
            } else {
                x = z;
            }
        } else {
            /* Output layer: bias only; the loss applies the output activation. */
            FMLP_FN(fmlp_bias_act_forward)(z, z, FMLP_FN(biases)(net, l), B, fout, FMLP_ACT_IDENTITY,
                                           (FMLP_T)0);
        }
        ldx = fout;
    }
}

/* Apply the output activation in place on the logits. */
static void FMLP_FN(output_activation)(const fmlp_net *net, FMLP_T *z, int64_t B)
{
    const int64_t n_out = net->sizes[net->n_layers];
    if (net->out_act == FMLP_OUT_SOFTMAX)
        FMLP_FN(fmlp_softmax_forward)(z, z, B, n_out);
    else if (net->out_act == FMLP_OUT_LOGISTIC)
        FMLP_FN(fmlp_bias_act_forward)(z, z, NULL, B, n_out, FMLP_ACT_SIGMOID, (FMLP_T)0);
    else if (net->out_act == FMLP_OUT_EXP)
        for (int64_t e = 0; e < B * n_out; e++) z[e] = (FMLP_T)exp((double)z[e]);
}

/* Half Poisson deviance with the exp output (scikit-learn's 'poisson'):
 * loss = sum_i w_i sum_k (y log y - y z - y + exp z) / sum w, G = (exp z - y) w_i / sum w.
 * Rare enough that it needs no vector kernel. */
static int FMLP_FN(poisson_loss)(double *loss, FMLP_T *G, const FMLP_T *Z, const FMLP_T *Y,
                                 const FMLP_T *w, int64_t B, int64_t n_out)
{
    double sw = 0, total = 0;
    for (int64_t i = 0; i < B; i++) sw += w ? (double)w[i] : 1.0;
    if (!(sw > 0)) return FMLP_ERR_WEIGHT;
    for (int64_t i = 0; i < B; i++) {
        const double wi = w ? (double)w[i] : 1.0;
        double row = 0;
        for (int64_t k = 0; k < n_out; k++) {
            const double y = (double)Y[i * n_out + k], z = (double)Z[i * n_out + k];
            const double ez = exp(z);
            row += (y > 0 ? y * log(y) : 0.0) - y * z - y + ez;
            if (G) G[i * n_out + k] = (FMLP_T)((ez - y) * wi / sw);
        }
        total += wi * row;
    }
    if (loss) *loss = total / sw;
    return FMLP_OK;
}

/* Data loss of the batch (weighted mean) and, when G is not NULL, its
 * gradient with respect to the logits in G [B, n_out]. The logits in
 * act[L] are turned into output activations when the loss needs them. */
static int FMLP_FN(loss_and_delta)(const fmlp_net *net, FMLP_FN(train_ws) *ws, const int64_t *labels,
                                   const FMLP_T *Y, const FMLP_T *w, int64_t B, double *loss, FMLP_T *G)
{
    const int64_t n_out = net->sizes[net->n_layers];
    FMLP_T *z = ws->act[net->n_layers];
    switch (net->loss) {
    case FMLP_LOSS_XENT:
        if (labels)
            return FMLP_FN(fmlp_softmax_xent_labels)(loss, G, z, labels, w, B, n_out);
        return FMLP_FN(fmlp_softmax_xent_probs)(loss, G, z, Y, w, B, n_out);
    case FMLP_LOSS_BCE:
        return FMLP_FN(fmlp_sigmoid_bce)(loss, G, z, Y, w, B, n_out);
    case FMLP_LOSS_POISSON:
        return FMLP_FN(poisson_loss)(loss, G, z, Y, w, B, n_out);
    case FMLP_LOSS_SQUARED: {
        FMLP_FN(output_activation)(net, z, B);
        int st = FMLP_FN(fmlp_squared_error)(loss, G, z, Y, w, B, n_out);
        if (st != FMLP_OK || !G) return st;
        if (net->out_act == FMLP_OUT_SOFTMAX)
            FMLP_FN(fmlp_softmax_backward)(G, G, z, B, n_out);
        else if (net->out_act == FMLP_OUT_LOGISTIC)
            FMLP_FN(fmlp_act_backward)(G, G, z, B, n_out, FMLP_ACT_SIGMOID, (FMLP_T)0);
        return FMLP_OK;
    }
    default:
        return FMLP_ERR_ARG;
    }
}

/* D [B, sizes[l]] = dL/d(output of hidden layer l) becomes the delta at its
 * pre-activation: through the dropout mask (training) and the activation. */
static void FMLP_FN(delta_through)(const fmlp_net *net, FMLP_FN(train_ws) *ws, int64_t l, int64_t B,
                                   FMLP_T *D, int training)
{
    const int64_t fin = net->sizes[l];
    if (training && ws->mask[l]) {
        const FMLP_T *m = ws->mask[l];
        for (int64_t e = 0; e < B * fin; e++) D[e] *= m[e];
    }
    FMLP_FN(rows_job) job = {D, NULL, ws->act[l], fin, net->hidden_act, (FMLP_T)net->slope};
    fmlp_par_range(ws->nt, B, 1, FMLP_FN(min_rows)(fin), FMLP_FN(act_backward_rows), &job);
}

/* Backward from G (the delta at the logits) through every layer. Parameter
 * gradients are written to grad (OVERWRITTEN for this batch, beta_grad == 0)
 * or added to it (beta_grad == 1, used by chunked full-batch gradients);
 * scale multiplies this batch's contribution. */
static void FMLP_FN(backward_layers)(const fmlp_net *net, FMLP_FN(train_ws) *ws, const FMLP_FN(input) *in,
                                     int64_t B, int training, FMLP_T *grad, FMLP_T scale,
                                     FMLP_T beta_grad)
{
    const int64_t L = net->n_layers;
    FMLP_T *G = ws->g0, *Gnext = ws->g1;
    for (int64_t l = L - 1; l >= 0; l--) {
        const int64_t fin = net->sizes[l], fout = net->sizes[l + 1];
        if (l == 0) {
            FMLP_FN(layer0_grad)(net, ws, grad + fmlp_weight_offset(net, 0), G, in, B, scale, beta_grad);
        } else {
            /* dW_l [fout, fin] = G^T @ x */
            const FMLP_T *x = (training && ws->drop[l]) ? ws->drop[l] : ws->act[l];
            FMLP_FN(pgemm)(ws, grad + fmlp_weight_offset(net, l), fin, G, fout, x, fin, fout, fin, B, 1,
                           0, scale, beta_grad);
        }
        FMLP_T *db = grad + fmlp_bias_offset(net, l);
        if (beta_grad == 0 && scale == 1) {
            FMLP_FN(fmlp_colsum)(db, G, B, fout);
        } else {
            /* Chunked accumulation: colsum into the spare delta buffer first. */
            FMLP_T *tmp = Gnext;
            FMLP_FN(fmlp_colsum)(tmp, G, B, fout);
            for (int64_t j = 0; j < fout; j++) db[j] = beta_grad * db[j] + scale * tmp[j];
        }
        if (l > 0) {
            /* dX [B, fin] = G @ W_l, then through dropout and the activation. */
            FMLP_FN(pgemm)(ws, Gnext, fin, G, fout, FMLP_FN(weights)(net, l), fin, B, fin, fout, 0, 0,
                           (FMLP_T)1, (FMLP_T)0);
            FMLP_FN(delta_through)(net, ws, l, B, Gnext, training);
            FMLP_T *t = G;
            G = Gnext;
            Gnext = t;
        }
    }
}

/* W += V over [lo, hi) of one layer, after V -= lr l2 W when there is a
 * penalty (classical momentum, finished after the GEMM wrote
 * V = mu V - lr G^T x). Elementwise, so any split is exact. */
typedef struct {
    FMLP_T *W, *V;
    FMLP_T lr_l2;
} FMLP_FN(momentum_job);

static void FMLP_FN(momentum_range)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(momentum_job) *j = (const FMLP_FN(momentum_job) *)vjob;
    FMLP_T *FMLP_RESTRICT W = j->W, *FMLP_RESTRICT V = j->V;
    const FMLP_T c = j->lr_l2;
    if (c != 0) {
        for (int64_t i = lo; i < hi; i++) {
            const FMLP_T v = V[i] - c * W[i];
            V[i] = v;
            W[i] += v;
        }
    } else {
        for (int64_t i = lo; i < hi; i++) W[i] += V[i];
    }
}

/* SGD without L1, plain or with classical momentum, fused into the backward
 * pass: each layer's weight gradient goes straight into the GEMM's output
 * after the delta for the layer below has been taken with the old weights,
 * so the gradient is never written out and read back (for big layers most
 * of the update's memory traffic).
 *   plain:     W = (1 - lr l2) W - lr G^T x        (alpha -lr, beta 1 - lr l2)
 *   momentum:  V = mu V - lr G^T x                 (alpha -lr, beta mu),
 *              then V -= lr l2 W; W += V           (momentum_range)
 * which is scikit-learn's V = mu V - lr (g + l2 W); W += V. Returns 0
 * (nothing done) when the step needs the separate gradient: sparse input
 * with an L2 penalty or with momentum. */
static int FMLP_FN(backward_sgd)(const fmlp_net *net, FMLP_FN(train_ws) *ws, const FMLP_FN(input) *in,
                                 int64_t B, FMLP_T lr, FMLP_T l2, FMLP_T mu, FMLP_T *Vall)
{
    const int mom = mu > 0;
    if (in->indptr && (l2 != 0 || mom)) return 0;
    const int64_t L = net->n_layers;
    const FMLP_T alpha = -lr, beta = mom ? mu : (FMLP_T)1 - lr * l2;
    FMLP_T *G = ws->g0, *Gnext = ws->g1;
    for (int64_t l = L - 1; l >= 0; l--) {
        const int64_t fin = net->sizes[l], fout = net->sizes[l + 1];
        FMLP_T *W = FMLP_FN(weights)(net, l);
        /* The GEMM's target: the weights themselves, or their velocity. */
        FMLP_T *T = mom ? Vall + fmlp_weight_offset(net, l) : W;
        if (l > 0) {
            /* dX [B, fin] = G @ W_l with the weights before this step. */
            FMLP_FN(pgemm)(ws, Gnext, fin, G, fout, W, fin, B, fin, fout, 0, 0, (FMLP_T)1, (FMLP_T)0);
            const FMLP_T *x = ws->drop[l] ? ws->drop[l] : ws->act[l];
            FMLP_FN(pgemm)(ws, T, fin, G, fout, x, fin, fout, fin, B, 1, 0, alpha, beta);
        } else if (in->indptr) {
            const int t = net->w0_transposed;
            FMLP_FN(fmlp_csr_t_matmul_acc)(W, t ? fout : fin, in->rows, in->indptr, in->indices, in->values,
                                           B, G, fout, fout, !t, -lr, ws->nt);
        } else if (net->w0_transposed) {
            FMLP_FN(pgemm)(ws, T, fout, in->x, in->ldx, G, fout, fin, fout, B, 1, 0, alpha, beta);
        } else {
            FMLP_FN(pgemm)(ws, T, fin, G, fout, in->x, in->ldx, fout, fin, B, 1, 0, alpha, beta);
        }
        if (mom) {
            FMLP_FN(momentum_job) job = {W, T, lr * l2};
            fmlp_par_range(ws->nt, fin * fout, 64, 32768, FMLP_FN(momentum_range), &job);
        }
        /* Biases: no penalty; the column sums of G in the spare buffer first,
         * exactly as the separate update sees them. */
        FMLP_T *b = FMLP_FN(biases)(net, l), *db = (FMLP_T *)ws->grad;
        FMLP_FN(fmlp_colsum)(db, G, B, fout);
        if (mom) {
            FMLP_T *vb = Vall + fmlp_bias_offset(net, l);
            for (int64_t j = 0; j < fout; j++) {
                const FMLP_T v = mu * vb[j] - lr * db[j];
                vb[j] = v;
                b[j] += v;
            }
        } else {
            for (int64_t j = 0; j < fout; j++) b[j] -= lr * db[j];
        }
        if (l > 0) {
            FMLP_FN(delta_through)(net, ws, l, B, Gnext, 1);
            FMLP_T *t = G;
            G = Gnext;
            Gnext = t;
        }
    }
    return 1;
}

/* Regularisation added to a batch's loss: (0.5 alpha sum W^2 + l1 sum|W|) / sw. */
/* The penalty sums run over at most FMLP_PEN_BLOCKS fixed blocks of the
 * weights, in parallel, then add the block sums in order: the blocks depend
 * on the number of weights only, so the result does not depend on threads. */
#define FMLP_PEN_BLOCKS 64
typedef struct {
    const FMLP_T *w;
    int64_t nw, block;
    int squares, abs;
    double sq[FMLP_PEN_BLOCKS], ab[FMLP_PEN_BLOCKS];
} FMLP_FN(penalty_job);

static void FMLP_FN(penalty_blocks)(void *vjob, int64_t lo, int64_t hi)
{
    FMLP_FN(penalty_job) *j = (FMLP_FN(penalty_job) *)vjob;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t a = b * j->block, e = a + j->block < j->nw ? a + j->block : j->nw;
        if (j->squares) j->sq[b] = fmlp_vec->FMLP_FN(sum_squares)(j->w + a, e - a);
        if (j->abs) j->ab[b] = fmlp_vec->FMLP_FN(sum_abs)(j->w + a, e - a);
    }
}

static double FMLP_FN(penalty)(const fmlp_net *net, double alpha, double l1, double sw, int nt)
{
    if (alpha == 0 && l1 == 0) return 0;
    FMLP_FN(penalty_job) j;
    j.w = (const FMLP_T *)net->params;
    j.nw = fmlp_n_weights(net);
    j.block = (j.nw + FMLP_PEN_BLOCKS - 1) / FMLP_PEN_BLOCKS;
    if (j.block < 16384) j.block = 16384;
    j.squares = alpha != 0;
    j.abs = l1 != 0;
    const int64_t nb = (j.nw + j.block - 1) / j.block;
    /* A block is at least 16384 weights: worth a thread from 4 blocks on. */
    fmlp_par_range(nt, nb, 1, 2, FMLP_FN(penalty_blocks), &j);
    double sq = 0, ab = 0;
    for (int64_t b = 0; b < nb; b++) {
        if (j.squares) sq += j.sq[b];
        if (j.abs) ab += j.ab[b];
    }
    double p = 0;
    if (alpha != 0) p += 0.5 * alpha * sq;
    if (l1 != 0) p += l1 * ab;
    return p / sw;
}
#undef FMLP_PEN_BLOCKS

typedef struct {
    const fmlp_optim *opt;
    FMLP_T *p, *m, *v;
    const FMLP_T *g;
    FMLP_T l2, l1;
    int64_t t;
    FMLP_T adam_step;  /* Adam's bias-corrected step size for step t */
} FMLP_FN(update_job);

/* The optimizer step on params[lo:hi) with gradient g[0 .. hi - lo);
 * elementwise, so any split is exact. */
static void FMLP_FN(update_span)(const FMLP_FN(update_job) *j, int64_t lo, int64_t hi, const FMLP_T *g)
{
    const fmlp_optim *opt = j->opt;
    const FMLP_T lr = (FMLP_T)opt->lr;
    const int64_t n = hi - lo;
    if (opt->solver == FMLP_SOLVER_ADAM)  /* the kernel fmlp_adam_update runs, step precomputed */
        fmlp_vec->FMLP_FN(adam_apply)(j->p + lo, j->m + lo, j->v + lo, g, n, j->adam_step,
                                      (FMLP_T)opt->beta1, (FMLP_T)opt->beta2, (FMLP_T)opt->eps,
                                      j->l2, j->l1);
    else if (opt->momentum > 0)
        FMLP_FN(fmlp_momentum_update)(j->p + lo, j->m + lo, g, n, lr, (FMLP_T)opt->momentum,
                                      opt->nesterov, j->l2, j->l1);
    else
        FMLP_FN(fmlp_sgd_update)(j->p + lo, g, n, lr, j->l2, j->l1);
}

static void FMLP_FN(update_range)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(update_job) *j = (const FMLP_FN(update_job) *)vjob;
    FMLP_FN(update_span)(j, lo, hi, j->g + lo);
}

/* A zero gradient to read for the rows a sparse batch did not touch: small
 * enough to stay in L1, so those rows cost no gradient traffic. */
#define FMLP_ZERO_SPAN 1024
static const FMLP_T FMLP_FN(zero_grad)[FMLP_ZERO_SPAN];

typedef struct {
    FMLP_FN(update_job) u;
    const uint8_t *hit;
    int64_t width;
} FMLP_FN(rows_update_job);

/* The step on layer-0 weight rows [r0, r1) (W_0 stored (fan_in, fan_out)):
 * runs of rows the batch touched read their gradient, the other runs a
 * zero one: the same arithmetic as a dense zero gradient, element by element. */
static void FMLP_FN(update_rows)(void *vjob, int64_t r0, int64_t r1)
{
    const FMLP_FN(rows_update_job) *j = (const FMLP_FN(rows_update_job) *)vjob;
    const int64_t w = j->width;
    for (int64_t r = r0; r < r1;) {
        const uint8_t h = j->hit[r];
        const int64_t s = r;
        while (r < r1 && j->hit[r] == h) r++;
        const int64_t lo = s * w, hi = r * w;
        if (h) {
            FMLP_FN(update_span)(&j->u, lo, hi, j->u.g + lo);
        } else {
            for (int64_t a = lo; a < hi; a += FMLP_ZERO_SPAN) {
                const int64_t b = hi - a < FMLP_ZERO_SPAN ? hi : a + FMLP_ZERO_SPAN;
                FMLP_FN(update_span)(&j->u, a, b, FMLP_FN(zero_grad));
            }
        }
    }
}

/* rows_hit: NULL when grad is whole, else the layer-0 rows grad holds (the
 * others are zero and unwritten; see FMLP_FN(layer0_grad)). */
static void FMLP_FN(update)(const fmlp_net *net, fmlp_optim *opt, const FMLP_T *grad, double alpha,
                            double l1, double sw, int nt, const uint8_t *rows_hit)
{
    const int64_t nw = fmlp_n_weights(net), np = fmlp_n_params(net);
    /* Weights carry the penalties; biases (the tail of params) do not. A
     * batch without weight (sw == 0) has a zero gradient, penalties included. */
    FMLP_FN(update_job) job = {opt, (FMLP_T *)net->params, (FMLP_T *)opt->m, (FMLP_T *)opt->v, grad,
                               sw > 0 ? (FMLP_T)(alpha / sw) : (FMLP_T)0,
                               sw > 0 ? (FMLP_T)(l1 / sw) : (FMLP_T)0, opt->step + 1, 0};
    if (opt->solver == FMLP_SOLVER_ADAM)
        job.adam_step = FMLP_FN(fmlp_adam_step)((FMLP_T)opt->lr, (FMLP_T)opt->beta1,
                                                (FMLP_T)opt->beta2, job.t);
    if (rows_hit) {
        /* Layer 0's weights come first in params (fmlp_weight_offset(net, 0) == 0). */
        const int64_t fin = net->sizes[0], fout = net->sizes[1];
        FMLP_FN(rows_update_job) rj = {job, rows_hit, fout};
        fmlp_par_range(nt, fin, 1, 32768 / fout + 1, FMLP_FN(update_rows), &rj);
        FMLP_FN(update_job) rest = job;
        const int64_t n0 = fin * fout;
        rest.p += n0;
        rest.g += n0;
        if (rest.m) rest.m += n0;
        if (rest.v) rest.v += n0;
        fmlp_par_range(nt, nw - n0, 64, 32768, FMLP_FN(update_range), &rest);
    } else {
        fmlp_par_range(nt, nw, 64, 32768, FMLP_FN(update_range), &job);
    }
    FMLP_FN(update_job) bias_job = job;
    bias_job.p += nw;
    bias_job.g += nw;
    const int has_m = opt->solver == FMLP_SOLVER_ADAM || opt->momentum > 0;
    if (has_m) bias_job.m += nw;
    if (opt->solver == FMLP_SOLVER_ADAM) bias_job.v += nw;
    bias_job.l2 = bias_job.l1 = 0;
    FMLP_FN(update_range)(&bias_job, 0, np - nw);
    opt->step++;
}

typedef struct {
    FMLP_T *dst;
    const FMLP_T *X;
    const int64_t *idx;
    int64_t ldx, n_in;
} FMLP_FN(gather_job);

static void FMLP_FN(gather_rows)(void *vjob, int64_t lo, int64_t hi)
{
    const FMLP_FN(gather_job) *j = (const FMLP_FN(gather_job) *)vjob;
    for (int64_t i = lo; i < hi; i++)
        memcpy(j->dst + i * j->n_in, j->X + j->idx[i] * j->ldx, (size_t)j->n_in * sizeof(FMLP_T));
}

/* Gather batch rows [b0, b0 + B) of the epoch order: dense rows are copied
 * into the workspace, except when they are contiguous in X (no shuffle) and
 * are read in place; CSR rows are always read in place through the order.
 * Targets and weights are gathered alike. */
static void FMLP_FN(gather)(const fmlp_net *net, const fmlp_data *d, const fmlp_epoch *ep,
                            FMLP_FN(train_ws) *ws, int64_t b0, int64_t B, FMLP_FN(input) *in,
                            const int64_t **labels, const FMLP_T **Y, const FMLP_T **w)
{
    const int64_t n_in = net->sizes[0], n_out = net->sizes[net->n_layers];
    const FMLP_T *X = (const FMLP_T *)d->X;
    const int64_t *idx = ep->perm + b0;
    const int contiguous = !ep->shuffle;
    memset(in, 0, sizeof *in);
    if (d->indptr) {
        in->rows = idx;
        in->indptr = d->indptr;
        in->indices = d->indices;
        in->values = X;
    } else if (contiguous) {
        in->x = X + idx[0] * d->ldx;
        in->ldx = d->ldx;
    } else {
        FMLP_FN(gather_job) job = {ws->xb, X, idx, d->ldx, n_in};
        fmlp_par_range(ws->nt, B, 1, FMLP_FN(min_rows)(n_in), FMLP_FN(gather_rows), &job);
        in->x = ws->xb;
        in->ldx = n_in;
    }
    *labels = NULL;
    *Y = NULL;
    *w = NULL;
    if (d->labels) {
        if (contiguous) {
            *labels = d->labels + idx[0];
        } else {
            for (int64_t i = 0; i < B; i++) ws->lb[i] = d->labels[idx[i]];
            *labels = ws->lb;
        }
    } else {
        const FMLP_T *Yall = (const FMLP_T *)d->Y;
        if (contiguous) {
            *Y = Yall + idx[0] * n_out;
        } else {
            for (int64_t i = 0; i < B; i++)
                memcpy(ws->yb + i * n_out, Yall + idx[i] * n_out, (size_t)n_out * sizeof(FMLP_T));
            *Y = ws->yb;
        }
    }
    if (d->w) {
        const FMLP_T *wall = (const FMLP_T *)d->w;
        if (contiguous) {
            *w = wall + idx[0];
        } else {
            for (int64_t i = 0; i < B; i++) ws->wb[i] = wall[idx[i]];
            *w = ws->wb;
        }
    }
}

/* The input struct for rows [r0, r0 + R) of all of d, in order. */
static FMLP_FN(input) FMLP_FN(input_rows)(const fmlp_data *d, int64_t r0)
{
    FMLP_FN(input) in;
    memset(&in, 0, sizeof in);
    if (d->indptr) {
        in.indptr = d->indptr + r0;
        in.indices = d->indices;
        in.values = (const FMLP_T *)d->X;
    } else {
        in.x = (const FMLP_T *)d->X + r0 * d->ldx;
        in.ldx = d->ldx;
    }
    return in;
}

static double FMLP_FN(weight_sum)(const FMLP_T *w, int64_t B)
{
    if (!w) return (double)B;
    double s = 0;
    for (int64_t i = 0; i < B; i++) s += (double)w[i];
    return s;
}

/* ---- one epoch, in time slices ------------------------------------------------ */

int FMLP_FN(fmlp_train_slice)(const fmlp_net *net, fmlp_optim *opt, const fmlp_data *d,
                              fmlp_epoch *ep, void *work, size_t work_size, double max_seconds)
{
    const int64_t n = d->n;
    const int64_t Bmax = ep->batch_size < n ? ep->batch_size : n;
    if (Bmax < 1 || net->n_layers < 1 || net->n_layers > FMLP_MAX_LAYERS) return FMLP_ERR_ARG;
    if (work_size < FMLP_FN(fmlp_train_work_size)(net, Bmax)) return FMLP_ERR_ARG;
    FMLP_FN(train_ws) ws;
    FMLP_FN(carve_train)(net, Bmax, work, &ws);
    ws.rows_ok = 1;  /* FMLP_FN(update) below takes ws.rows_hit */
    const int64_t np = fmlp_n_params(net);
    FMLP_T *params = (FMLP_T *)net->params;

    /* The state to fall back to if this slice ends with non-finite weights. */
    FMLP_T *m = (FMLP_T *)opt->m, *v = (FMLP_T *)opt->v;
    const int has_m = opt->solver == FMLP_SOLVER_ADAM || opt->momentum > 0;
    const int has_v = opt->solver == FMLP_SOLVER_ADAM;
    const int64_t step0 = opt->step;
    fmlp_par_copy(ws.snap, params, (size_t)np * sizeof(FMLP_T), ws.nt);
    if (has_m) fmlp_par_copy(ws.snap_m, m, (size_t)np * sizeof(FMLP_T), ws.nt);
    if (has_v) fmlp_par_copy(ws.snap_v, v, (size_t)np * sizeof(FMLP_T), ws.nt);
    const double t0 = fmlp_seconds();
    int status = FMLP_OK;

    while (ep->pos < n) {
        const int64_t b0 = ep->pos;
        const int64_t B = (n - b0) < Bmax ? (n - b0) : Bmax;
        FMLP_FN(input) in;
        const int64_t *labels;
        const FMLP_T *Y, *w;
        FMLP_FN(gather)(net, d, ep, &ws, b0, B, &in, &labels, &Y, &w);
        const double sw = FMLP_FN(weight_sum)(w, B);
        double loss = 0, pen = 0;
        if (sw > 0) {
            FMLP_FN(forward_layers)(net, &ws, &in, B, 1, opt);
            int st = FMLP_FN(loss_and_delta)(net, &ws, labels, Y, w, B, &loss, ws.g0);
            if (st != FMLP_OK) {
                ep->nonfinite_at = b0; /* where: the batch that held the bad label or weight */
                return st;
            }
            pen = FMLP_FN(penalty)(net, ep->alpha, ep->l1, sw, ws.nt);
            loss += pen;
            if (!isfinite(loss)) {
                ep->nonfinite_at = b0;
                status = FMLP_ERR_NONFINITE;
                break;
            }
            if (opt->solver == FMLP_SOLVER_SGD && !(opt->momentum > 0 && opt->nesterov) && ep->l1 == 0 &&
                FMLP_FN(backward_sgd)(net, &ws, &in, B, (FMLP_T)opt->lr, (FMLP_T)(ep->alpha / sw),
                                      opt->momentum > 0 ? (FMLP_T)opt->momentum : (FMLP_T)0, m)) {
                opt->step++;  /* updated in place, as FMLP_FN(update) would have */
            } else {
                FMLP_FN(backward_layers)(net, &ws, &in, B, 1, ws.grad, (FMLP_T)1, (FMLP_T)0);
                FMLP_FN(update)(net, opt, ws.grad, ep->alpha, ep->l1, sw, ws.nt,
                                ws.g0_rows ? ws.rows_hit : NULL);
            }
        } else {
            /* No weight, no information: the step happens with a zero gradient. */
            memset(ws.grad, 0, (size_t)np * sizeof(FMLP_T));
            FMLP_FN(update)(net, opt, ws.grad, ep->alpha, ep->l1, sw, ws.nt, NULL);
        }
        ep->loss_sum += loss * (double)B;
        ep->penalty_sum += pen * (double)B;
        ep->pos += B;
        if (ep->pos < n && fmlp_seconds() - t0 >= max_seconds) {
            status = FMLP_INTERRUPTED;
            break;
        }
    }
    /* One check per slice catches a step that overflowed the weights without
     * (yet) making a loss non-finite; the slice then leaves no trace. */
    if (!FMLP_FN(all_finite)(params, np)) {
        memcpy(params, ws.snap, (size_t)np * sizeof(FMLP_T));
        if (has_m) memcpy(m, ws.snap_m, (size_t)np * sizeof(FMLP_T));
        if (has_v) memcpy(v, ws.snap_v, (size_t)np * sizeof(FMLP_T));
        opt->step = step0;
        /* Which step of the slice overflowed is not known: say none (-1). */
        if (status != FMLP_ERR_NONFINITE) ep->nonfinite_at = -1;
        return FMLP_ERR_NONFINITE;
    }
    return status;
}

/* ---- inference ------------------------------------------------------------------- */

/* GEMM scratch slots for inference: one per thread, or one per row block
 * of a chunk when there are more blocks (predict_block gives each its own). */
#define FMLP_PREDICT_BLOCK 512
static int64_t FMLP_FN(forward_slots)(int64_t rows, int nt)
{
    const int64_t blocks = (rows + FMLP_PREDICT_BLOCK - 1) / FMLP_PREDICT_BLOCK;
    return blocks > nt ? blocks : nt;
}

/* Scratch for inference in chunks of `rows`: two ping-pong activation
 * buffers and the GEMM scratch slots (forward_slots). */
static size_t FMLP_FN(forward_layout)(const fmlp_net *net, int64_t rows, int nt, size_t *slot,
                                      int64_t *maxw_out)
{
    int64_t maxw = 1;
    for (int64_t l = 1; l < net->n_layers; l++)
        if (net->sizes[l] > maxw) maxw = net->sizes[l];
    size_t gw = 0;
    for (int64_t l = 0; l < net->n_layers; l++) {
        /* layer 0 stored (fan_in, fan_out) runs X @ W_0 (NN) on dense rows */
        const int tb = !(l == 0 && net->w0_transposed);
        size_t s = FMLP_FN(fmlp_gemm_work_size)(rows, net->sizes[l + 1], net->sizes[l], 0, tb);
        if (s > gw) gw = s;
    }
    gw = (gw + 63) / 64 * 64;
    if (slot) *slot = gw;
    if (maxw_out) *maxw_out = maxw;
    fmlp_carver c = {NULL, 0};
    fmlp_carve(&c, (size_t)(rows * maxw) * sizeof(FMLP_T));
    fmlp_carve(&c, (size_t)(rows * maxw) * sizeof(FMLP_T));
    fmlp_carve(&c, gw * (size_t)FMLP_FN(forward_slots)(rows, nt));
    return c.used;
}

size_t FMLP_FN(fmlp_forward_work_size)(const fmlp_net *net, int64_t rows)
{
    if (net->n_layers < 1 || net->n_layers > FMLP_MAX_LAYERS) return 0;
    return FMLP_FN(forward_layout)(net, rows < 1 ? 1 : rows, fmlp_net_threads(net), NULL, NULL);
}

/* Whether the R input rows of `in` hold only finite values, judged where it
 * is cheaper: on the rows themselves, or on the first layer's products z
 * (R x fout, before bias and activation) when a row has more features than z
 * has columns. A NaN or infinity among a row's inputs makes every product of
 * that row NaN or infinite (x * w is NaN or infinite for w = 0 too), so z
 * tells as surely; z may also overflow from finite inputs, which the caller
 * then reports as what it is. */
static int FMLP_FN(inputs_finite)(const fmlp_net *net, const FMLP_FN(input) *in, int64_t R,
                                  const FMLP_T *z)
{
    const int64_t n_in = net->sizes[0], fout = net->sizes[1];
    if (fout < n_in) return FMLP_FN(all_finite)(z, R * fout);
    if (in->indptr) {
        for (int64_t i = 0; i < R; i++) {
            const int64_t r = in->rows ? in->rows[i] : i;
            if (!FMLP_FN(all_finite)(in->values + in->indptr[r], in->indptr[r + 1] - in->indptr[r]))
                return 0;
        }
        return 1;
    }
    for (int64_t i = 0; i < R; i++)
        if (!FMLP_FN(all_finite)(in->x + i * in->ldx, n_in)) return 0;
    return 1;
}

/* Rows [0, R) of `in` through every layer into o (row stride ldo): hidden
 * activations ping-pong between h0 and h1 (row stride fout), each GEMM on up
 * to nt threads with the scratch slots at gwork. With check, FMLP_ERR_NONFINITE
 * when an input is NaN or infinite (inputs_finite: then the later layers are
 * not run) or an output is (overflow); o is then unspecified. */
static int FMLP_FN(forward_chunk)(const fmlp_net *net, FMLP_T *o, int64_t ldo, int two_col,
                                  const FMLP_FN(input) *in, int64_t R, FMLP_T *h0, FMLP_T *h1,
                                  char *gwork, size_t slot, int nt, int check)
{
    const int64_t L = net->n_layers;
    FMLP_T *h[2] = {h0, h1};
    const FMLP_T *x = NULL;
    int64_t ld = 0;
    for (int64_t l = 0; l < L; l++) {
        const int64_t fin = net->sizes[l], fout = net->sizes[l + 1];
        FMLP_T *z = (l == L - 1) ? o : h[l & 1];
        const int64_t ldz = (l == L - 1) ? ldo : fout;
        if (l == 0 && ldz == fout) {
            FMLP_FN(layer0_forward)(net, nt, gwork, slot, z, in, R);
            if (check && !FMLP_FN(inputs_finite)(net, in, R, z)) return FMLP_ERR_NONFINITE;
        } else if (l == 0) {
            /* One-layer binary net writing into the two-column output. */
            FMLP_FN(layer0_forward)(net, nt, gwork, slot, h[0], in, R);
            if (check && !FMLP_FN(inputs_finite)(net, in, R, h[0])) return FMLP_ERR_NONFINITE;
            for (int64_t i = 0; i < R; i++) z[i * ldz] = h[0][i];
        } else {
            FMLP_FN(fmlp_gemm_parallel)(z, ldz, x, ld, FMLP_FN(weights)(net, l), fin, R, fout,
                                        fin, 0, 1, (FMLP_T)1, (FMLP_T)0, gwork, slot, nt);
        }
        if (l < L - 1) {
            FMLP_FN(fmlp_bias_act_forward)(z, z, FMLP_FN(biases)(net, l), R, fout, net->hidden_act,
                                           (FMLP_T)net->slope);
        } else if (two_col) {
            /* Binary probabilities [1 - p, p]: p lands in column 0 first. */
            const FMLP_T b = FMLP_FN(biases)(net, l)[0];
            for (int64_t i = 0; i < R; i++) z[i * 2 + 1] = z[i * 2] + b;
        } else {
            FMLP_FN(fmlp_bias_act_forward)(z, z, FMLP_FN(biases)(net, l), R, fout, FMLP_ACT_IDENTITY,
                                           (FMLP_T)0);
        }
        x = z;
        ld = ldz;
    }
    if (two_col) {
        for (int64_t i = 0; i < R; i++) {
            FMLP_T p;
            FMLP_FN(fmlp_bias_act_forward)(&p, o + i * 2 + 1, NULL, 1, 1,
                                           net->out_act == FMLP_OUT_LOGISTIC ? FMLP_ACT_SIGMOID
                                                                             : FMLP_ACT_IDENTITY,
                                           (FMLP_T)0);
            o[i * 2] = (FMLP_T)1 - p;
            o[i * 2 + 1] = p;
        }
    } else {
        FMLP_FN(output_activation)(net, o, R);
    }
    /* Finite inputs can still overflow on the way (huge weights or inputs). */
    if (check && !FMLP_FN(all_finite)(o, R * ldo)) return FMLP_ERR_NONFINITE;
    return FMLP_OK;
}

/* Rows of a chunk are cut into ceil(R / FMLP_PREDICT_BLOCK) blocks of equal
 * size (to a row: 1,000 rows are two blocks of 500, which keeps two threads
 * equally busy), which run the whole network in parallel, one thread each
 * (no join per layer, and the elementwise work is split too); a chunk of one
 * block parallelises inside its GEMMs instead. The blocks depend on the row
 * count only, never on the thread count, and every block of a split chunk has
 * at least FMLP_PREDICT_BLOCK / 2 rows, so its products take the same
 * (packed) path as a whole chunk's and each row gets the same bits: the
 * predictions are the same on any number of threads. */

typedef struct {
    const fmlp_net *net;
    const fmlp_data *d;
    FMLP_T *out, *h0, *h1;
    char *gwork;
    size_t slot;
    int64_t r0, R, ldo, maxw, bsize;
    int two_col, check;
    int status[2];  /* per block: a chunk has at most two (predict_data's chunk size) */
} FMLP_FN(predict_job);

static void FMLP_FN(predict_block)(void *vjob, int64_t t)
{
    FMLP_FN(predict_job) *j = (FMLP_FN(predict_job) *)vjob;
    const int64_t lo = t * j->bsize;
    const int64_t R = j->R - lo < j->bsize ? j->R - lo : j->bsize;
    const FMLP_FN(input) in = FMLP_FN(input_rows)(j->d, j->r0 + lo);
    /* Each block owns rows [lo, lo + R) of both buffers at row stride maxw,
     * so blocks never share memory whatever their layers' widths. */
    j->status[t] = FMLP_FN(forward_chunk)(j->net, j->out + (j->r0 + lo) * j->ldo, j->ldo,
                                          j->two_col, &in, R, j->h0 + lo * j->maxw,
                                          j->h1 + lo * j->maxw, j->gwork + (size_t)t * j->slot,
                                          j->slot, 1, j->check);
}

static int FMLP_FN(predict_data)(const fmlp_net *net, FMLP_T *out, const fmlp_data *d, void *work,
                                 size_t work_size, int flags)
{
    const int64_t n = d->n;
    const int64_t L = net->n_layers;
    if (L < 1 || L > FMLP_MAX_LAYERS) return FMLP_ERR_ARG;
    const int64_t n_out = net->sizes[L];
    const int two_col = (flags & FMLP_PREDICT_TWO_COLUMNS) && n_out == 1;
    const int64_t ldo = two_col ? 2 : n_out;
    int nt = fmlp_net_threads(net);
    /* The largest chunk (up to 2 blocks, keeping buffers in cache) that fits;
     * with less scratch, fewer threads, then fewer rows. */
    int64_t rows = n < 2 * FMLP_PREDICT_BLOCK ? (n < 1 ? 1 : n) : 2 * FMLP_PREDICT_BLOCK;
    while (nt > 1 && FMLP_FN(forward_layout)(net, rows, nt, NULL, NULL) > work_size) nt--;
    while (rows > 1 && FMLP_FN(forward_layout)(net, rows, nt, NULL, NULL) > work_size) rows /= 2;
    size_t slot;
    int64_t maxw;
    if (FMLP_FN(forward_layout)(net, rows, nt, &slot, &maxw) > work_size) return FMLP_ERR_ARG;
    fmlp_carver c = {(char *)work, 0};
    FMLP_T *h[2];
    h[0] = (FMLP_T *)fmlp_carve(&c, (size_t)(rows * maxw) * sizeof(FMLP_T));
    h[1] = (FMLP_T *)fmlp_carve(&c, (size_t)(rows * maxw) * sizeof(FMLP_T));
    char *gwork = (char *)fmlp_carve(&c, slot * (size_t)FMLP_FN(forward_slots)(rows, nt));

    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        const int64_t R = (n - r0) < rows ? (n - r0) : rows;
        const FMLP_FN(input) in = FMLP_FN(input_rows)(d, r0);
        const int check = (flags & FMLP_PREDICT_CHECK_FINITE) != 0;
        const int64_t blocks = (R + FMLP_PREDICT_BLOCK - 1) / FMLP_PREDICT_BLOCK;
        if (blocks > 2) return FMLP_ERR_ARG;  /* rows <= 2 blocks above; job.status holds 2 */
        if (blocks > 1) {
            const int64_t bsize = (R + blocks - 1) / blocks;
            FMLP_FN(predict_job) job = {net, d, out, h[0], h[1], gwork, slot, r0, R, ldo, maxw,
                                        bsize, two_col, check, {FMLP_OK, FMLP_OK}};
            fmlp_parallel_for(nt, blocks, FMLP_FN(predict_block), &job);
            for (int64_t b = 0; b < blocks; b++)
                if (job.status[b] != FMLP_OK) return job.status[b];
        } else {
            int st = FMLP_FN(forward_chunk)(net, out + r0 * ldo, ldo, two_col, &in, R, h[0], h[1],
                                            gwork, slot, nt, check);
            if (st != FMLP_OK) return st;
        }
    }
    return FMLP_OK;
}

int FMLP_FN(fmlp_net_predict)(const fmlp_net *net, FMLP_T *out, const FMLP_T *X, int64_t ldx,
                              int64_t n, void *work, size_t work_size, int flags)
{
    fmlp_data d;
    memset(&d, 0, sizeof d);
    d.X = X;
    d.ldx = ldx;
    d.n = n;
    return FMLP_FN(predict_data)(net, out, &d, work, work_size, flags);
}

int FMLP_FN(fmlp_net_predict_csr)(const fmlp_net *net, FMLP_T *out, const int64_t *indptr,
                                  const int64_t *indices, const FMLP_T *values, int64_t n,
                                  void *work, size_t work_size, int flags)
{
    fmlp_data d;
    memset(&d, 0, sizeof d);
    d.X = values;
    d.indptr = indptr;
    d.indices = indices;
    d.n = n;
    return FMLP_FN(predict_data)(net, out, &d, work, work_size, flags);
}

int FMLP_FN(fmlp_net_forward)(const fmlp_net *net, FMLP_T *out, const FMLP_T *X, int64_t ldx,
                              int64_t n, void *work, size_t work_size)
{
    return FMLP_FN(fmlp_net_predict)(net, out, X, ldx, n, work, work_size, 0);
}

/* ---- full-batch loss and gradient --------------------------------------------------- */

int FMLP_FN(fmlp_net_loss_grad)(const fmlp_net *net, double *loss_out, FMLP_T *grad,
                                const fmlp_data *d, double alpha, double l1,
                                void *work, size_t work_size, int64_t chunk)
{
    const int64_t n = d->n;
    if (chunk > n) chunk = n;
    if (chunk < 1 || net->n_layers < 1 || net->n_layers > FMLP_MAX_LAYERS) return FMLP_ERR_ARG;
    if (work_size < FMLP_FN(fmlp_train_work_size)(net, chunk)) return FMLP_ERR_ARG;
    FMLP_FN(train_ws) ws;
    FMLP_FN(carve_train)(net, chunk, work, &ws);
    const int64_t n_out = net->sizes[net->n_layers];
    const FMLP_T *Yall = (const FMLP_T *)d->Y, *wall = (const FMLP_T *)d->w;

    const double sw_total = FMLP_FN(weight_sum)(wall, n);
    if (!(sw_total > 0)) {
        /* No weight anywhere: loss 0 and gradient 0, as for a training batch. */
        *loss_out = 0;
        if (grad) memset(grad, 0, (size_t)fmlp_n_params(net) * sizeof(FMLP_T));
        return FMLP_OK;
    }
    double loss = 0;
    int first = 1;
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t B = (n - r0) < chunk ? (n - r0) : chunk;
        const FMLP_T *w = wall ? wall + r0 : NULL;
        const double sw = FMLP_FN(weight_sum)(w, B);
        if (sw <= 0) continue;
        const FMLP_FN(input) in = FMLP_FN(input_rows)(d, r0);
        FMLP_FN(forward_layers)(net, &ws, &in, B, 0, NULL);
        double chunk_loss = 0;
        int st = FMLP_FN(loss_and_delta)(net, &ws, d->labels ? d->labels + r0 : NULL,
                                         Yall ? Yall + r0 * n_out : NULL, w, B, &chunk_loss,
                                         grad ? ws.g0 : NULL);
        if (st != FMLP_OK) return st;
        /* Kernels normalise by the chunk's weight sum; rescale to the total's. */
        const double share = sw / sw_total;
        loss += chunk_loss * share;
        if (grad) {
            FMLP_FN(backward_layers)(net, &ws, &in, B, 0, grad, (FMLP_T)share,
                                     first ? (FMLP_T)0 : (FMLP_T)1);
            first = 0;
        }
    }
    if (grad && first) {
        for (int64_t i = 0; i < fmlp_n_params(net); i++) grad[i] = 0;
    }
    loss += FMLP_FN(penalty)(net, alpha, l1, sw_total, ws.nt);
    if (grad) {
        const FMLP_T *W = (const FMLP_T *)net->params;
        const int64_t nw = fmlp_n_weights(net);
        const double a = alpha / sw_total, b = l1 / sw_total;
        for (int64_t i = 0; i < nw; i++) {
            const double s = W[i] > 0 ? 1.0 : (W[i] < 0 ? -1.0 : 0.0);
            grad[i] += (FMLP_T)(a * (double)W[i] + b * s);
        }
    }
    *loss_out = loss;
    return isfinite(loss) ? FMLP_OK : FMLP_ERR_NONFINITE;
}
