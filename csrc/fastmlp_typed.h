/* fastmlp_typed.h - the typed half of the contract, included twice by
 * fastmlp.h with FMLP_T = float/double and FMLP_FN adding _f32/_f64.
 * No include guard on purpose; include fastmlp.h, never this file.
 *
 * Shapes are written [rows, cols]; every array is row-major. "w" is an
 * optional per-sample weight vector: NULL means every weight is 1, and
 * "sum w" is then M.
 */

/* ==== GEMM ================================================================ */

/* C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C.
 * op(A) = A, stored [M,K] with row stride lda, or (trans_a) A^T with A stored
 * [K,M]. op(B) = B, stored [K,N] with row stride ldb, or (trans_b) B^T with B
 * stored [N,K]. C has row stride ldc.
 * beta == 0: C is OVERWRITTEN and never read (NaN garbage in C is ignored).
 * beta != 0: C ACCUMULATES.
 * K == 0 gives C = beta * C. The three MLP products are
 *   forward       Z  = X @ W^T    (trans_b)
 *   input grad    dX = dZ @ W     (no transpose)
 *   weight grad   dW = dZ^T @ X   (trans_a)
 * work/work_size: optional scratch for packing, at least
 * fmlp_gemm_work_size() bytes for the packed path; with less (or NULL) an
 * unpacked path computes the same product. */
void FMLP_FN(fmlp_gemm)(FMLP_T *C, int64_t ldc,
                        const FMLP_T *A, int64_t lda,
                        const FMLP_T *B, int64_t ldb,
                        int64_t M, int64_t N, int64_t K,
                        int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                        void *work, size_t work_size);

/* fmlp_gemm over up to n_threads threads of the worker pool, bit-identical
 * to fmlp_gemm for any n_threads: C is cut along its longer side, one block
 * (and one scratch slot of `slot` bytes, at least fmlp_gemm_work_size, or 0)
 * per thread; work holds n_threads slots. Products under ~1.5 MFLOP (unless
 * a few rows against large weights, which are bound by reading them) stay on
 * the calling thread. */
void FMLP_FN(fmlp_gemm_parallel)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                 const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                 int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta, void *work,
                                 size_t slot, int n_threads);

/* Bytes of scratch that let fmlp_gemm use its fastest path for this shape. */
size_t FMLP_FN(fmlp_gemm_work_size)(int64_t M, int64_t N, int64_t K,
                                    int trans_a, int trans_b);

/* The portable reference GEMM: same contract, plain loops, no scratch.
 * The oracle every fast path is tested against in C. */
void FMLP_FN(fmlp_gemm_ref)(FMLP_T *C, int64_t ldc,
                            const FMLP_T *A, int64_t lda,
                            const FMLP_T *B, int64_t ldb,
                            int64_t M, int64_t N, int64_t K,
                            int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta);

/* ==== activations ========================================================= */

/* Y[M,N] = act(Z[M,N] + bias[N]) (bias broadcast over rows; NULL = no bias).
 * OVERWRITES Y; Y may alias Z. slope is leaky_relu's negative slope
 * (ignored by the others). */
void FMLP_FN(fmlp_bias_act_forward)(FMLP_T *Y, const FMLP_T *Z, const FMLP_T *bias,
                                    int64_t M, int64_t N, int act, FMLP_T slope);

/* dZ[M,N] = dY[M,N] * act'(z), the derivative taken from the stored output
 * Y = act(z): identity 1, sigmoid Y(1-Y), tanh 1-Y^2, relu [Y>0],
 * leaky_relu [Y>0] + slope [Y<=0]. OVERWRITES dZ; dZ may alias dY. */
void FMLP_FN(fmlp_act_backward)(FMLP_T *dZ, const FMLP_T *dY, const FMLP_T *Y,
                                int64_t M, int64_t N, int act, FMLP_T slope);

/* Y[M,N] = softmax(Z) per row, max-subtracted. OVERWRITES Y; may alias Z. */
void FMLP_FN(fmlp_softmax_forward)(FMLP_T *Y, const FMLP_T *Z, int64_t M, int64_t N);

/* dZ[M,N] = Y * (dY - rowsum(dY * Y)), the softmax Jacobian-vector product
 * from the stored output Y. OVERWRITES dZ; dZ may alias dY. */
void FMLP_FN(fmlp_softmax_backward)(FMLP_T *dZ, const FMLP_T *dY, const FMLP_T *Y,
                                    int64_t M, int64_t N);

/* ==== losses (fused with the output activation) ===========================
 * Each returns FMLP_OK, FMLP_ERR_LABEL or FMLP_ERR_WEIGHT (sum w <= 0, which
 * includes M == 0 without weights, or a weight that is negative or not
 * finite). Labels and weights are checked before anything is written, so on
 * an error *loss and G are left untouched.
 * *loss is the weighted mean over samples of the per-sample loss, summed in
 * double: OVERWRITTEN (loss may be NULL to skip it). G is the gradient of
 * *loss with respect to the logits (or predictions): OVERWRITTEN (G may be
 * NULL to skip it; G may alias Z, but not Yt or w). */

/* Softmax + cross-entropy from integer labels in [0, N):
 * loss = sum_i w_i (logsumexp(Z_i) - Z_i[y_i]) / sum w
 * G    = (softmax(Z) - onehot(y)) * w_i / sum w   -- (A - Y)/M unweighted. */
int FMLP_FN(fmlp_softmax_xent_labels)(double *loss, FMLP_T *G, const FMLP_T *Z,
                                      const int64_t *labels, const FMLP_T *w,
                                      int64_t M, int64_t N);

/* Softmax + cross-entropy from targets Yt[M,N] (one-hot or probabilities):
 * loss = sum_i w_i sum_j Yt_ij (logsumexp(Z_i) - Z_ij) / sum w
 * G    = (rowsum(Yt_i) softmax(Z_i) - Yt_i) * w_i / sum w  -- (A - Y)/M when
 * the rows of Yt sum to 1. */
int FMLP_FN(fmlp_softmax_xent_probs)(double *loss, FMLP_T *G, const FMLP_T *Z,
                                     const FMLP_T *Yt, const FMLP_T *w,
                                     int64_t M, int64_t N);

/* Sigmoid + binary cross-entropy from logits, per element (binary and
 * multilabel), in the stable form max(z,0) - z t + log1p(exp(-|z|)):
 * loss = sum_i w_i sum_j bce(Z_ij, Yt_ij) / sum w
 * G    = (sigmoid(Z) - Yt) * w_i / sum w. */
int FMLP_FN(fmlp_sigmoid_bce)(double *loss, FMLP_T *G, const FMLP_T *Z,
                              const FMLP_T *Yt, const FMLP_T *w,
                              int64_t M, int64_t N);

/* Squared error on predictions P[M,N]:
 * loss = 0.5 * sum_i w_i sum_j (P_ij - Yt_ij)^2 / sum w
 * G    = (P - Yt) * w_i / sum w. */
int FMLP_FN(fmlp_squared_error)(double *loss, FMLP_T *G, const FMLP_T *P,
                                const FMLP_T *Yt, const FMLP_T *w,
                                int64_t M, int64_t N);

/* ==== reductions ========================================================== */

/* out[N] = sum over the M rows of A[M,N] (the bias gradient), accumulated in
 * double for both dtypes. OVERWRITES out; out must not alias A. */
void FMLP_FN(fmlp_colsum)(FMLP_T *out, const FMLP_T *A, int64_t M, int64_t N);

/* ==== optimizer updates (in place over flat parameter vectors) ============
 * g = G + l2 * W + l1 * sign(W) is the regularised gradient (sign(0) = 0).
 * W (and the optimizer state) are UPDATED in place; G is read only. W, G and
 * each state vector are distinct, non-overlapping arrays of n elements. */

/* W -= lr * g */
void FMLP_FN(fmlp_sgd_update)(FMLP_T *W, const FMLP_T *G, int64_t n,
                              FMLP_T lr, FMLP_T l2, FMLP_T l1);

/* V = momentum * V - lr * g;  W += V, or with nesterov W += momentum * V - lr * g
 * (scikit-learn's formulation). */
void FMLP_FN(fmlp_momentum_update)(FMLP_T *W, FMLP_T *V, const FMLP_T *G, int64_t n,
                                   FMLP_T lr, FMLP_T momentum, int nesterov,
                                   FMLP_T l2, FMLP_T l1);

/* Adam with bias correction folded into the step size (scikit-learn's form,
 * the step size computed in double); t >= 1 is the number of this step:
 * Mm = b1 Mm + (1-b1) g;  Vm = b2 Vm + (1-b2) g^2;
 * W -= lr * sqrt(1 - b2^t) / (1 - b1^t) * Mm / (sqrt(Vm) + eps). */
void FMLP_FN(fmlp_adam_update)(FMLP_T *W, FMLP_T *Mm, FMLP_T *Vm, const FMLP_T *G,
                               int64_t n, FMLP_T lr, FMLP_T beta1, FMLP_T beta2,
                               FMLP_T eps, int64_t t, FMLP_T l2, FMLP_T l1);

/* ==== sparse inputs ====================================================== */
/* X is CSR: row r holds values[indptr[r]:indptr[r+1]] at columns
 * indices[...] (any order, no duplicates needed). rows (may be NULL = 0..M-1)
 * selects the M rows used, in place, without a copy. */

/* C[M,N] = beta C + X_sel @ op(B): op(B) = B [K,N] (row stride ldb), or with
 * trans_b B^T for B [N,K]. beta == 0 OVERWRITES C (never read); otherwise
 * ACCUMULATES. Splits rows over up to n_threads threads. */
void FMLP_FN(fmlp_csr_matmul)(FMLP_T *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                              const int64_t *indices, const FMLP_T *values, int64_t M,
                              const FMLP_T *B, int64_t ldb, int64_t N, int trans_b, FMLP_T beta,
                              int n_threads);

/* C += scale * X_sel^T @ G, G [M,N]: C is [K,N] (row stride ldc), or with
 * c_transposed [N,K]. ACCUMULATES, and only into the rows (columns) of the
 * non-zero columns of X_sel. Splits G's columns over up to n_threads. */
void FMLP_FN(fmlp_csr_t_matmul_acc)(FMLP_T *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                                    const int64_t *indices, const FMLP_T *values, int64_t M,
                                    const FMLP_T *G, int64_t ldg, int64_t N, int c_transposed,
                                    FMLP_T scale, int n_threads);

/* ==== the engine ========================================================== */

/* Bytes of scratch fmlp_train_slice needs for minibatches of up to batch rows. */
size_t FMLP_FN(fmlp_train_work_size)(const fmlp_net *net, int64_t batch);

/* Run minibatch steps of the epoch ep from ep->pos until the epoch ends
 * (FMLP_OK) or max_seconds of work have passed (FMLP_INTERRUPTED: call again
 * to continue). Per step: gather rows, forward, loss, backward, update. A
 * batch whose weights sum to 0 steps with a zero gradient.
 * UPDATES net->params, opt (state, step counter), ep (pos, loss sums).
 * FMLP_ERR_NONFINITE: a batch loss, or the weights after a step, were not
 * finite. params and opt then hold the last finite state: the previous step's
 * when the loss diverged with finite weights, otherwise the state at the
 * start of this slice (at most max_seconds of training earlier).
 * ep->nonfinite_at says which batch diverged. */
int FMLP_FN(fmlp_train_slice)(const fmlp_net *net, fmlp_optim *opt, const fmlp_data *data,
                              fmlp_epoch *ep, void *work, size_t work_size,
                              double max_seconds);

/* Bytes of scratch fmlp_net_forward needs to work in chunks of rows rows. */
size_t FMLP_FN(fmlp_forward_work_size)(const fmlp_net *net, int64_t rows);

/* out[n, n_outputs] = the network's output activations (softmax or logistic
 * probabilities, or identity) for X [n, sizes[0]] (row stride ldx). Works in
 * chunks of as many rows as work holds. OVERWRITES out. FMLP_ERR_ARG when
 * work holds less than one row. */
int FMLP_FN(fmlp_net_forward)(const fmlp_net *net, FMLP_T *out, const FMLP_T *X, int64_t ldx,
                              int64_t n, void *work, size_t work_size);

/* fmlp_net_forward with options: FMLP_PREDICT_CHECK_FINITE returns
 * FMLP_ERR_NONFINITE (out then unspecified, possibly partly written) when X
 * holds NaN or infinity (judged on the rows, or on the first layer's products
 * when those are fewer, in each row block's thread) and when finite inputs
 * overflow to a non-finite first-layer product or output; the caller tells
 * the cases apart by checking X itself. FMLP_PREDICT_TWO_COLUMNS writes a
 * one-output network's probabilities as out [n, 2] = [1 - p, p]. Uses up to
 * the network's thread count when the pool is free; otherwise one thread. */
int FMLP_FN(fmlp_net_predict)(const fmlp_net *net, FMLP_T *out, const FMLP_T *X, int64_t ldx,
                              int64_t n, void *work, size_t work_size, int flags);

/* fmlp_net_predict for CSR rows 0..n-1 (see the sparse kernels above). */
int FMLP_FN(fmlp_net_predict_csr)(const fmlp_net *net, FMLP_T *out, const int64_t *indptr,
                                  const int64_t *indices, const FMLP_T *values, int64_t n,
                                  void *work, size_t work_size, int flags);

/* Loss over all n rows as one batch, and its gradient in params' layout:
 * loss = weighted mean data loss + (0.5 alpha sum W^2 + l1 sum |W|) / sum w.
 * grad may be NULL. OVERWRITES *loss and grad. Works in chunks of rows that
 * fit the work (sized by fmlp_train_work_size). No dropout. */
int FMLP_FN(fmlp_net_loss_grad)(const fmlp_net *net, double *loss, FMLP_T *grad,
                                const fmlp_data *data, double alpha, double l1,
                                void *work, size_t work_size, int64_t chunk);
