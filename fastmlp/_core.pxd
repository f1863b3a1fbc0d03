# _core.pxd - Cython's view of csrc/fastmlp.h: the C contract, declared for
# both dtypes. It declares only; wrappers live in _core.pyx.
from libc.stdint cimport int64_t, uint32_t, uint64_t

cdef extern from "fastmlp.h" nogil:
    int FMLP_OK
    int FMLP_ERR_LABEL
    int FMLP_ERR_NONFINITE
    int FMLP_ERR_ARG
    int FMLP_ERR_ISA
    int FMLP_ERR_WEIGHT
    int FMLP_INTERRUPTED

    int FMLP_ISA_GENERIC
    int FMLP_ISA_AVX2
    int FMLP_ISA_AVX512
    int FMLP_ISA_COUNT

    void fmlp_init()
    int fmlp_isa_compiled(int isa)
    int fmlp_isa_supported(int isa)
    int fmlp_set_isa(int isa)
    int fmlp_get_isa()
    int fmlp_best_isa()
    const char *fmlp_isa_name(int isa)

    # GEMM
    void fmlp_gemm_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                       const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                       int trans_a, int trans_b, float alpha, float beta,
                       void *work, size_t work_size)
    void fmlp_gemm_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                       const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                       int trans_a, int trans_b, double alpha, double beta,
                       void *work, size_t work_size)
    void fmlp_gemm_parallel_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                                const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                int trans_a, int trans_b, float alpha, float beta, void *work,
                                size_t slot, int n_threads)
    void fmlp_gemm_parallel_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                                const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                int trans_a, int trans_b, double alpha, double beta, void *work,
                                size_t slot, int n_threads)
    size_t fmlp_gemm_work_size_f32(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
    size_t fmlp_gemm_work_size_f64(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
    void fmlp_gemm_ref_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                           const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                           int trans_a, int trans_b, float alpha, float beta)
    void fmlp_gemm_ref_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                           const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                           int trans_a, int trans_b, double alpha, double beta)

    # ---- the engine ----
    int FMLP_MAX_LAYERS
    int FMLP_MAX_THREADS
    int FMLP_OUT_IDENTITY
    int FMLP_OUT_LOGISTIC
    int FMLP_OUT_SOFTMAX
    int FMLP_OUT_EXP
    int FMLP_LOSS_XENT
    int FMLP_LOSS_BCE
    int FMLP_LOSS_SQUARED
    int FMLP_LOSS_POISSON
    int FMLP_SOLVER_SGD
    int FMLP_SOLVER_ADAM

    ctypedef struct fmlp_rng:
        uint64_t s[4]

    ctypedef struct fmlp_net:
        int64_t n_layers
        const int64_t *sizes
        int hidden_act
        double slope
        int out_act
        int loss
        void *params
        const double *dropout
        int n_threads
        int w0_transposed

    ctypedef struct fmlp_optim:
        int solver
        double lr
        double momentum
        int nesterov
        double beta1
        double beta2
        double eps
        void *m
        void *v
        int64_t step
        uint64_t dropout_key

    ctypedef struct fmlp_data:
        const void *X
        int64_t ldx
        int64_t n
        const int64_t *indptr
        const int64_t *indices
        const int64_t *labels
        const void *Y
        const void *w

    ctypedef struct fmlp_epoch:
        int64_t batch_size
        int shuffle
        double alpha
        double l1
        int64_t *perm
        int64_t pos
        double loss_sum
        double penalty_sum
        int64_t nonfinite_at

    void fmlp_set_default_threads(int n)
    int fmlp_get_default_threads()
    int fmlp_cpu_count()
    void fmlp_epoch_begin(fmlp_epoch *ep, fmlp_rng *rng, int64_t n)
    void fmlp_rng_seed_state(fmlp_rng *rng, uint64_t seed)
    uint64_t fmlp_rng_next_u64(fmlp_rng *rng)
    int fmlp_mt19937_uniform(uint32_t *key, int64_t *pos, double *out, int64_t n, double low,
                             double range)

    size_t fmlp_train_work_size_f32(const fmlp_net *net, int64_t batch)
    size_t fmlp_train_work_size_f64(const fmlp_net *net, int64_t batch)
    int fmlp_train_slice_f32(const fmlp_net *net, fmlp_optim *opt, const fmlp_data *data,
                             fmlp_epoch *ep, void *work, size_t work_size, double max_seconds)
    int fmlp_train_slice_f64(const fmlp_net *net, fmlp_optim *opt, const fmlp_data *data,
                             fmlp_epoch *ep, void *work, size_t work_size, double max_seconds)
    size_t fmlp_forward_work_size_f32(const fmlp_net *net, int64_t rows)
    size_t fmlp_forward_work_size_f64(const fmlp_net *net, int64_t rows)
    int fmlp_net_forward_f32(const fmlp_net *net, float *out, const float *X, int64_t ldx,
                             int64_t n, void *work, size_t work_size)
    int fmlp_net_forward_f64(const fmlp_net *net, double *out, const double *X, int64_t ldx,
                             int64_t n, void *work, size_t work_size)
    int FMLP_PREDICT_CHECK_FINITE
    int FMLP_PREDICT_TWO_COLUMNS
    int fmlp_net_predict_f32(const fmlp_net *net, float *out, const float *X, int64_t ldx,
                             int64_t n, void *work, size_t work_size, int flags)
    int fmlp_net_predict_f64(const fmlp_net *net, double *out, const double *X, int64_t ldx,
                             int64_t n, void *work, size_t work_size, int flags)
    int fmlp_net_predict_csr_f32(const fmlp_net *net, float *out, const int64_t *indptr,
                                 const int64_t *indices, const float *values, int64_t n,
                                 void *work, size_t work_size, int flags)
    int fmlp_net_predict_csr_f64(const fmlp_net *net, double *out, const int64_t *indptr,
                                 const int64_t *indices, const double *values, int64_t n,
                                 void *work, size_t work_size, int flags)
    void fmlp_csr_matmul_f32(float *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                             const int64_t *indices, const float *values, int64_t M,
                             const float *B, int64_t ldb, int64_t N, int trans_b, float beta,
                             int n_threads)
    void fmlp_csr_matmul_f64(double *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                             const int64_t *indices, const double *values, int64_t M,
                             const double *B, int64_t ldb, int64_t N, int trans_b, double beta,
                             int n_threads)
    void fmlp_csr_t_matmul_acc_f32(float *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                                   const int64_t *indices, const float *values, int64_t M,
                                   const float *G, int64_t ldg, int64_t N, int c_transposed,
                                   float scale, int n_threads)
    void fmlp_csr_t_matmul_acc_f64(double *C, int64_t ldc, const int64_t *rows, const int64_t *indptr,
                                   const int64_t *indices, const double *values, int64_t M,
                                   const double *G, int64_t ldg, int64_t N, int c_transposed,
                                   double scale, int n_threads)
    int fmlp_net_loss_grad_f32(const fmlp_net *net, double *loss, float *grad, const fmlp_data *data,
                               double alpha, double l1, void *work, size_t work_size, int64_t chunk)
    int fmlp_net_loss_grad_f64(const fmlp_net *net, double *loss, double *grad, const fmlp_data *data,
                               double alpha, double l1, void *work, size_t work_size, int64_t chunk)
    # ---- elementwise kernels: activations, softmax, losses, colsum, optimizers
    int FMLP_ACT_IDENTITY
    int FMLP_ACT_SIGMOID
    int FMLP_ACT_TANH
    int FMLP_ACT_RELU
    int FMLP_ACT_LEAKY_RELU

    void fmlp_bias_act_forward_f32(float *Y, const float *Z, const float *bias,
                                   int64_t M, int64_t N, int act, float slope)
    void fmlp_bias_act_forward_f64(double *Y, const double *Z, const double *bias,
                                   int64_t M, int64_t N, int act, double slope)
    void fmlp_act_backward_f32(float *dZ, const float *dY, const float *Y,
                               int64_t M, int64_t N, int act, float slope)
    void fmlp_act_backward_f64(double *dZ, const double *dY, const double *Y,
                               int64_t M, int64_t N, int act, double slope)
    void fmlp_softmax_forward_f32(float *Y, const float *Z, int64_t M, int64_t N)
    void fmlp_softmax_forward_f64(double *Y, const double *Z, int64_t M, int64_t N)
    void fmlp_softmax_backward_f32(float *dZ, const float *dY, const float *Y, int64_t M, int64_t N)
    void fmlp_softmax_backward_f64(double *dZ, const double *dY, const double *Y, int64_t M, int64_t N)

    int fmlp_softmax_xent_labels_f32(double *loss, float *G, const float *Z, const int64_t *labels,
                                     const float *w, int64_t M, int64_t N)
    int fmlp_softmax_xent_labels_f64(double *loss, double *G, const double *Z, const int64_t *labels,
                                     const double *w, int64_t M, int64_t N)
    int fmlp_softmax_xent_probs_f32(double *loss, float *G, const float *Z, const float *Yt,
                                    const float *w, int64_t M, int64_t N)
    int fmlp_softmax_xent_probs_f64(double *loss, double *G, const double *Z, const double *Yt,
                                    const double *w, int64_t M, int64_t N)
    int fmlp_sigmoid_bce_f32(double *loss, float *G, const float *Z, const float *Yt,
                             const float *w, int64_t M, int64_t N)
    int fmlp_sigmoid_bce_f64(double *loss, double *G, const double *Z, const double *Yt,
                             const double *w, int64_t M, int64_t N)
    int fmlp_squared_error_f32(double *loss, float *G, const float *P, const float *Yt,
                               const float *w, int64_t M, int64_t N)
    int fmlp_squared_error_f64(double *loss, double *G, const double *P, const double *Yt,
                               const double *w, int64_t M, int64_t N)

    void fmlp_colsum_f32(float *out, const float *A, int64_t M, int64_t N)
    void fmlp_colsum_f64(double *out, const double *A, int64_t M, int64_t N)

    void fmlp_sgd_update_f32(float *W, const float *G, int64_t n, float lr, float l2, float l1)
    void fmlp_sgd_update_f64(double *W, const double *G, int64_t n, double lr, double l2, double l1)
    void fmlp_momentum_update_f32(float *W, float *V, const float *G, int64_t n, float lr,
                                  float momentum, int nesterov, float l2, float l1)
    void fmlp_momentum_update_f64(double *W, double *V, const double *G, int64_t n, double lr,
                                  double momentum, int nesterov, double l2, double l1)
    void fmlp_adam_update_f32(float *W, float *Mm, float *Vm, const float *G, int64_t n,
                              float lr, float beta1, float beta2, float eps, int64_t t,
                              float l2, float l1)
    void fmlp_adam_update_f64(double *W, double *Mm, double *Vm, const double *G, int64_t n,
                              double lr, double beta1, double beta2, double eps, int64_t t,
                              double l2, double l1)

# Benchmark-only: the FMA peak probe (csrc/gemm_bench.h).
cdef extern from "gemm_bench.h" nogil:
    int64_t fmlp_fma_peak_probe(int isa, int64_t iters)

# Test-only: the GEMM sub-block entry a thread pool will split work with
# (csrc/internal.h); tests check that any split gives identical bits.
cdef extern from "internal.h" nogil:
    void fmlp_gemm_range_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                             const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                             int trans_a, int trans_b, float alpha, float beta,
                             int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                             void *work, size_t work_size)
    void fmlp_gemm_range_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                             const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                             int trans_a, int trans_b, double alpha, double beta,
                             int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                             void *work, size_t work_size)
