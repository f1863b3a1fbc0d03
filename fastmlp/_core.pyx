# _core.pyx - the bridge: thin wrappers that take already-validated NumPy
# arrays, re-check only cheap shape relations, and call C without the GIL.
# It allocates nothing and validates nothing a user could get wrong; that is
# fastmlp/kernels.py's job.
from libc.stdint cimport int64_t
cimport numpy as cnp

cnp.import_array()

# ---- instruction sets -------------------------------------------------------

ISA_NAMES = ("generic", "avx2", "avx512")


def isa_compiled(int isa):
    return bool(fmlp_isa_compiled(isa))


def isa_supported(int isa):
    return bool(fmlp_isa_supported(isa))


def set_isa(int isa):
    """Select an instruction-set path for every later call (not thread-safe)."""
    if fmlp_set_isa(isa) != FMLP_OK:
        raise RuntimeError(f"instruction set {ISA_NAMES[isa]!r} is not supported here")


def get_isa():
    return fmlp_get_isa()


def best_isa():
    return fmlp_best_isa()


fmlp_init()


# ---- helpers ----------------------------------------------------------------

cdef inline bint _is_f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


cdef inline int64_t _ld(cnp.ndarray a):
    """Row stride of a 2-D array with unit inner stride, in elements."""
    return cnp.PyArray_STRIDE(a, 0) // cnp.PyArray_ITEMSIZE(a)


cdef inline void _check(bint cond, str what) except *:
    if not cond:
        raise ValueError(what)


# ---- GEMM ---------------------------------------------------------------------

def gemm(cnp.ndarray c, cnp.ndarray a, cnp.ndarray b, bint trans_a, bint trans_b,
         double alpha, double beta, cnp.ndarray work=None, bint reference=False):
    """C = alpha * op(A) @ op(B) + beta * C, in place (see fastmlp.kernels.gemm)."""
    cdef int64_t M = c.shape[0], N = c.shape[1]
    cdef int64_t K = a.shape[0] if trans_a else a.shape[1]
    _check((a.shape[1] if trans_a else a.shape[0]) == M, "gemm: op(a) rows != c rows")
    _check((b.shape[1] if trans_b else b.shape[0]) == K, "gemm: op(b) rows != op(a) cols")
    _check((b.shape[0] if trans_b else b.shape[1]) == N, "gemm: op(b) cols != c cols")
    _check(cnp.PyArray_TYPE(a) == cnp.PyArray_TYPE(c) and cnp.PyArray_TYPE(b) == cnp.PyArray_TYPE(c),
           "gemm: dtypes differ")
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef int64_t lda = _ld(a), ldb = _ld(b), ldc = _ld(c)
    cdef void *pw = NULL
    cdef size_t nw = 0
    if work is not None:
        pw = cnp.PyArray_DATA(work)
        nw = <size_t>cnp.PyArray_NBYTES(work)
    cdef bint f32 = _is_f32(c)
    with nogil:
        if reference:
            if f32:
                fmlp_gemm_ref_f32(<float *>pc, ldc, <const float *>pa, lda, <const float *>pb, ldb,
                                  M, N, K, trans_a, trans_b, <float>alpha, <float>beta)
            else:
                fmlp_gemm_ref_f64(<double *>pc, ldc, <const double *>pa, lda, <const double *>pb, ldb,
                                  M, N, K, trans_a, trans_b, alpha, beta)
        elif f32:
            fmlp_gemm_f32(<float *>pc, ldc, <const float *>pa, lda, <const float *>pb, ldb,
                          M, N, K, trans_a, trans_b, <float>alpha, <float>beta, pw, nw)
        else:
            fmlp_gemm_f64(<double *>pc, ldc, <const double *>pa, lda, <const double *>pb, ldb,
                          M, N, K, trans_a, trans_b, alpha, beta, pw, nw)


def gemm_work_size(int64_t M, int64_t N, int64_t K, bint trans_a, bint trans_b, bint f32):
    if f32:
        return fmlp_gemm_work_size_f32(M, N, K, trans_a, trans_b)
    return fmlp_gemm_work_size_f64(M, N, K, trans_a, trans_b)


def gemm_range(cnp.ndarray c, cnp.ndarray a, cnp.ndarray b, bint trans_a, bint trans_b,
               double alpha, double beta, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
               cnp.ndarray work=None):
    """Test-only: the sub-block C[m0:m1, n0:n1] of gemm (the thread split)."""
    cdef int64_t M = c.shape[0], N = c.shape[1]
    cdef int64_t K = a.shape[0] if trans_a else a.shape[1]
    _check(0 <= m0 <= m1 <= M and 0 <= n0 <= n1 <= N, "gemm_range: block outside c")
    _check((a.shape[1] if trans_a else a.shape[0]) == M, "gemm: op(a) rows != c rows")
    _check((b.shape[1] if trans_b else b.shape[0]) == K, "gemm: op(b) rows != op(a) cols")
    _check((b.shape[0] if trans_b else b.shape[1]) == N, "gemm: op(b) cols != c cols")
    _check(cnp.PyArray_TYPE(a) == cnp.PyArray_TYPE(c) and cnp.PyArray_TYPE(b) == cnp.PyArray_TYPE(c),
           "gemm: dtypes differ")
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef int64_t lda = _ld(a), ldb = _ld(b), ldc = _ld(c)
    cdef void *pw = NULL
    cdef size_t nw = 0
    if work is not None:
        pw = cnp.PyArray_DATA(work)
        nw = <size_t>cnp.PyArray_NBYTES(work)
    cdef bint f32 = _is_f32(c)
    with nogil:
        if f32:
            fmlp_gemm_range_f32(<float *>pc, ldc, <const float *>pa, lda, <const float *>pb, ldb,
                                M, N, K, trans_a, trans_b, <float>alpha, <float>beta,
                                m0, m1, n0, n1, pw, nw)
        else:
            fmlp_gemm_range_f64(<double *>pc, ldc, <const double *>pa, lda, <const double *>pb, ldb,
                                M, N, K, trans_a, trans_b, alpha, beta, m0, m1, n0, n1, pw, nw)


def fma_peak_probe(int isa, int64_t iters):
    """Benchmark-only: run the FMA-only loop of `isa`; returns the FLOP done
    (0 when the ISA cannot run here). The caller times it."""
    cdef int64_t flops
    with nogil:
        flops = fmlp_fma_peak_probe(isa, iters)
    return flops
