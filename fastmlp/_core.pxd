# _core.pxd - Cython's view of csrc/fastmlp.h: the C contract, declared for
# both dtypes. It declares only; wrappers live in _core.pyx.
from libc.stdint cimport int64_t

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
    size_t fmlp_gemm_work_size_f32(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
    size_t fmlp_gemm_work_size_f64(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
    void fmlp_gemm_ref_f32(float *C, int64_t ldc, const float *A, int64_t lda,
                           const float *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                           int trans_a, int trans_b, float alpha, float beta)
    void fmlp_gemm_ref_f64(double *C, int64_t ldc, const double *A, int64_t lda,
                           const double *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                           int trans_a, int trans_b, double alpha, double beta)


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
