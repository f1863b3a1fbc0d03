# _core.pyx - the bridge: thin wrappers that take already-validated NumPy
# arrays, re-check only cheap shape relations, and call C without the GIL.
# It allocates nothing and validates nothing a user could get wrong; that is
# fastmlp/kernels.py's job.
from libc.stdint cimport int64_t
from libc.math cimport isfinite
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


cdef inline bint _plain_2d(object x, int typenum):
    """x is a 2-D array of dtype typenum with unit column stride and
    non-overlapping positive row stride (kernel_array's row_strided rule)."""
    if not isinstance(x, cnp.ndarray):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    if cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_TYPE(a) != typenum:
        return False
    cdef cnp.npy_intp r = cnp.PyArray_DIM(a, 0), c = cnp.PyArray_DIM(a, 1)
    cdef cnp.npy_intp item = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp s0 = cnp.PyArray_STRIDE(a, 0), s1 = cnp.PyArray_STRIDE(a, 1)
    if r == 0 or c == 0:
        return True
    if c > 1 and s1 != item:
        return False
    if r > 1 and (s0 % item != 0 or s0 < c * item):
        return False
    return True


cdef inline void _extent(cnp.ndarray a, char **lo, char **hi):
    cdef char *p = <char *>cnp.PyArray_DATA(a)
    lo[0] = p
    if cnp.PyArray_SIZE(a) == 0:
        hi[0] = p
    else:
        hi[0] = p + (cnp.PyArray_DIM(a, 0) - 1) * cnp.PyArray_STRIDE(a, 0) + \
            cnp.PyArray_DIM(a, 1) * cnp.PyArray_ITEMSIZE(a)


def gemm_precheck(object c, object a, object b, bint trans_a, bint trans_b,
                  object alpha, object beta):
    """kernels.gemm's fast path: -1 unless the call is plainly valid (arrays
    of one float dtype, unit column stride, matching shapes, writeable c not
    overlapping a or b, finite float alpha/beta, beta == 0 without c);
    otherwise the bytes of packing scratch it wants. Python validation
    decides every -1 case, so its error messages stay the only ones."""
    if not isinstance(a, cnp.ndarray):
        return -1
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        return -1
    if not _plain_2d(a, t) or not _plain_2d(b, t):
        return -1
    if type(alpha) is not float or type(beta) is not float:
        return -1
    cdef double fa = alpha, fb = beta
    if not (isfinite(fa) and isfinite(fb)):
        return -1
    cdef cnp.ndarray aa = <cnp.ndarray>a, bb = <cnp.ndarray>b, cc
    cdef int64_t M = aa.shape[1] if trans_a else aa.shape[0]
    cdef int64_t K = aa.shape[0] if trans_a else aa.shape[1]
    cdef int64_t Kb = bb.shape[1] if trans_b else bb.shape[0]
    cdef int64_t N = bb.shape[0] if trans_b else bb.shape[1]
    cdef char *clo
    cdef char *chi
    cdef char *xlo
    cdef char *xhi
    if K != Kb:
        return -1
    if c is None:
        if fb != 0.0:
            return -1
    else:
        if not _plain_2d(c, t):
            return -1
        cc = <cnp.ndarray>c
        if cc.shape[0] != M or cc.shape[1] != N or not cnp.PyArray_ISWRITEABLE(cc):
            return -1
        _extent(cc, &clo, &chi)
        if clo < chi:
            _extent(aa, &xlo, &xhi)
            if xlo < xhi and clo < xhi and xlo < chi:
                return -1
            _extent(bb, &xlo, &xhi)
            if xlo < xhi and clo < xhi and xlo < chi:
                return -1
    if t == cnp.NPY_FLOAT32:
        return <Py_ssize_t>fmlp_gemm_work_size_f32(M, N, K, trans_a, trans_b)
    return <Py_ssize_t>fmlp_gemm_work_size_f64(M, N, K, trans_a, trans_b)


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
