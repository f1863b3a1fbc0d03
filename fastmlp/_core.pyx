# _core.pyx - the bridge: thin wrappers that take already-validated NumPy
# arrays, re-check only cheap shape relations, and call C without the GIL.
# It allocates nothing and validates nothing a user could get wrong; that is
# fastmlp/kernels.py's job.
from libc.stdint cimport int64_t
from libc.math cimport isfinite
cimport numpy as cnp
import numpy as np

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
         double alpha, double beta, cnp.ndarray work=None, bint reference=False, int n_threads=1):
    """C = alpha * op(A) @ op(B) + beta * C, in place (see fastmlp.kernels.gemm).
    With n_threads > 1, work holds n_threads equal scratch slots."""
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
        elif n_threads > 1:
            if f32:
                fmlp_gemm_parallel_f32(<float *>pc, ldc, <const float *>pa, lda, <const float *>pb,
                                       ldb, M, N, K, trans_a, trans_b, <float>alpha, <float>beta,
                                       pw, nw // n_threads, n_threads)
            else:
                fmlp_gemm_parallel_f64(<double *>pc, ldc, <const double *>pa, lda, <const double *>pb,
                                       ldb, M, N, K, trans_a, trans_b, alpha, beta,
                                       pw, nw // n_threads, n_threads)
        elif f32:
            fmlp_gemm_f32(<float *>pc, ldc, <const float *>pa, lda, <const float *>pb, ldb,
                          M, N, K, trans_a, trans_b, <float>alpha, <float>beta, pw, nw)
        else:
            fmlp_gemm_f64(<double *>pc, ldc, <const double *>pa, lda, <const double *>pb, ldb,
                          M, N, K, trans_a, trans_b, alpha, beta, pw, nw)


cdef inline bint _plain_2d(object x, int typenum):
    """x is an aligned 2-D array of dtype typenum with unit column stride and
    non-overlapping positive row stride (kernel_array's row_strided rule)."""
    if not isinstance(x, cnp.ndarray):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    if cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_TYPE(a) != typenum or not cnp.PyArray_ISALIGNED(a):
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
# ---- elementwise kernels: activations, softmax, losses, colsum, optimizers ----
# Each wrapper re-checks what would make C read or write out of bounds (dtype,
# C-contiguity, shape relations) and trusts kernels.py for the rest.

ACT_CODES = {
    "identity": FMLP_ACT_IDENTITY,
    "logistic": FMLP_ACT_SIGMOID,
    "sigmoid": FMLP_ACT_SIGMOID,
    "tanh": FMLP_ACT_TANH,
    "relu": FMLP_ACT_RELU,
    "leaky_relu": FMLP_ACT_LEAKY_RELU,
}


cdef inline void _like(cnp.ndarray a, cnp.ndarray ref, str what) except *:
    """a has ref's dtype and shape and is C-contiguous."""
    _check(cnp.PyArray_TYPE(a) == cnp.PyArray_TYPE(ref), what + ": dtypes differ")
    _check(cnp.PyArray_ISCARRAY_RO(a), what + ": not C-contiguous and aligned")
    _check(a.ndim == ref.ndim, what + ": ndim differs")
    for d in range(a.ndim):
        _check(a.shape[d] == ref.shape[d], what + ": shapes differ")


cdef inline void _matrix(cnp.ndarray a, str what) except *:
    _check(a.ndim == 2, what + ": must be 2-D")
    _check(cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 or cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64,
           what + ": must be float32 or float64")
    _check(cnp.PyArray_ISCARRAY_RO(a), what + ": not C-contiguous and aligned")


cdef inline void _weights(cnp.ndarray w, cnp.ndarray z, str what) except *:
    _check(w.ndim == 1 and w.shape[0] == z.shape[0], what + ": need one weight per row")
    _check(cnp.PyArray_TYPE(w) == cnp.PyArray_TYPE(z), what + ": dtypes differ")
    _check(cnp.PyArray_ISCARRAY_RO(w), what + ": not C-contiguous and aligned")


cdef inline void _writeable(cnp.ndarray a, str what) except *:
    _check(cnp.PyArray_ISWRITEABLE(a), what + ": read-only output")


def _raise_loss_status(int status, labels=None, int64_t n_classes=0):
    """Turn a loss kernel's status code into the exception kernels.py documents."""
    if status == FMLP_OK:
        return
    if status == FMLP_ERR_LABEL:
        import numpy as np
        lab = np.asarray(labels)
        bad = np.flatnonzero((lab < 0) | (lab >= n_classes))
        i = int(bad[0]) if bad.size else -1
        raise ValueError(f"labels must be in [0, {n_classes}) (one per column of logits), "
                         f"got {int(lab[i]) if i >= 0 else '?'} at index {i}")
    if status == FMLP_ERR_WEIGHT:
        raise ValueError("sample_weight must be finite and non-negative with a positive sum "
                         "(and there must be at least one sample)")
    raise RuntimeError(f"fastmlp loss kernel failed with status {status}")


def bias_act_forward(cnp.ndarray y, cnp.ndarray z, cnp.ndarray bias, int act, double slope):
    """y = act(z + bias) in place of y (y may be z); bias may be None."""
    _matrix(z, "bias_act_forward z")
    _like(y, z, "bias_act_forward y")
    _writeable(y, "bias_act_forward y")
    cdef int64_t M = z.shape[0], N = z.shape[1]
    cdef void *pb = NULL
    if bias is not None:
        _check(bias.ndim == 1 and bias.shape[0] == N, "bias_act_forward: bias must have N entries")
        _check(cnp.PyArray_TYPE(bias) == cnp.PyArray_TYPE(z) and cnp.PyArray_ISCARRAY_RO(bias),
               "bias_act_forward bias: dtype or layout")
        pb = cnp.PyArray_DATA(bias)
    _check(0 <= act < 5, "bias_act_forward: unknown activation code")
    cdef void *py = cnp.PyArray_DATA(y)
    cdef void *pz = cnp.PyArray_DATA(z)
    cdef bint f32 = _is_f32(z)
    with nogil:
        if f32:
            fmlp_bias_act_forward_f32(<float *>py, <const float *>pz, <const float *>pb, M, N,
                                      act, <float>slope)
        else:
            fmlp_bias_act_forward_f64(<double *>py, <const double *>pz, <const double *>pb, M, N,
                                      act, slope)


def act_backward(cnp.ndarray dz, cnp.ndarray dy, cnp.ndarray y, int act, double slope):
    """dz = dy * act'(from y) in place of dz (dz may be dy)."""
    _matrix(y, "act_backward y")
    _like(dy, y, "act_backward dy")
    _like(dz, y, "act_backward dz")
    _writeable(dz, "act_backward dz")
    _check(0 <= act < 5, "act_backward: unknown activation code")
    cdef int64_t M = y.shape[0], N = y.shape[1]
    cdef void *pdz = cnp.PyArray_DATA(dz)
    cdef void *pdy = cnp.PyArray_DATA(dy)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint f32 = _is_f32(y)
    with nogil:
        if f32:
            fmlp_act_backward_f32(<float *>pdz, <const float *>pdy, <const float *>py, M, N,
                                  act, <float>slope)
        else:
            fmlp_act_backward_f64(<double *>pdz, <const double *>pdy, <const double *>py, M, N,
                                  act, slope)


def softmax_forward(cnp.ndarray y, cnp.ndarray z):
    """y = softmax(z) per row in place of y (y may be z)."""
    _matrix(z, "softmax z")
    _like(y, z, "softmax y")
    _writeable(y, "softmax y")
    cdef int64_t M = z.shape[0], N = z.shape[1]
    cdef void *py = cnp.PyArray_DATA(y)
    cdef void *pz = cnp.PyArray_DATA(z)
    cdef bint f32 = _is_f32(z)
    with nogil:
        if f32:
            fmlp_softmax_forward_f32(<float *>py, <const float *>pz, M, N)
        else:
            fmlp_softmax_forward_f64(<double *>py, <const double *>pz, M, N)


def softmax_backward(cnp.ndarray dz, cnp.ndarray dy, cnp.ndarray y):
    """dz = y * (dy - rowsum(dy * y)) in place of dz (dz may be dy)."""
    _matrix(y, "softmax_backward y")
    _like(dy, y, "softmax_backward dy")
    _like(dz, y, "softmax_backward dz")
    _writeable(dz, "softmax_backward dz")
    cdef int64_t M = y.shape[0], N = y.shape[1]
    cdef void *pdz = cnp.PyArray_DATA(dz)
    cdef void *pdy = cnp.PyArray_DATA(dy)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint f32 = _is_f32(y)
    with nogil:
        if f32:
            fmlp_softmax_backward_f32(<float *>pdz, <const float *>pdy, <const float *>py, M, N)
        else:
            fmlp_softmax_backward_f64(<double *>pdz, <const double *>pdy, <const double *>py, M, N)


def softmax_xent_labels(cnp.ndarray g, cnp.ndarray z, cnp.ndarray labels, cnp.ndarray w,
                        bint want_loss=True):
    """Softmax + cross-entropy from int64 labels: returns the loss (None when
    not wanted) and writes the gradient into g (None: skipped; g may be z)."""
    _matrix(z, "softmax_cross_entropy logits")
    cdef int64_t M = z.shape[0], N = z.shape[1]
    _check(labels.ndim == 1 and labels.shape[0] == M, "softmax_cross_entropy: one label per row")
    _check(cnp.PyArray_TYPE(labels) == cnp.NPY_INT64 and cnp.PyArray_ISCARRAY_RO(labels),
           "softmax_cross_entropy: labels must be C-contiguous int64")
    cdef void *pg = NULL
    cdef void *pw = NULL
    if g is not None:
        _like(g, z, "softmax_cross_entropy grad")
        _writeable(g, "softmax_cross_entropy grad")
        pg = cnp.PyArray_DATA(g)
    if w is not None:
        _weights(w, z, "softmax_cross_entropy sample_weight")
        pw = cnp.PyArray_DATA(w)
    cdef void *pz = cnp.PyArray_DATA(z)
    cdef const int64_t *pl = <const int64_t *>cnp.PyArray_DATA(labels)
    cdef double loss = 0
    cdef double *pls = &loss if want_loss else NULL
    cdef bint f32 = _is_f32(z)
    cdef int st
    with nogil:
        if f32:
            st = fmlp_softmax_xent_labels_f32(pls, <float *>pg, <const float *>pz, pl,
                                              <const float *>pw, M, N)
        else:
            st = fmlp_softmax_xent_labels_f64(pls, <double *>pg, <const double *>pz, pl,
                                              <const double *>pw, M, N)
    _raise_loss_status(st, labels, N)
    return loss if want_loss else None


cdef _target_loss(int which, cnp.ndarray g, cnp.ndarray z, cnp.ndarray t, cnp.ndarray w,
                  bint want_loss, str what):
    """The three losses with a float target matrix; which: 0 softmax+CE,
    1 sigmoid+BCE, 2 squared error."""
    _matrix(z, what)
    _like(t, z, what + " targets")
    cdef int64_t M = z.shape[0], N = z.shape[1]
    cdef void *pg = NULL
    cdef void *pw = NULL
    if g is not None:
        _like(g, z, what + " grad")
        _writeable(g, what + " grad")
        pg = cnp.PyArray_DATA(g)
    if w is not None:
        _weights(w, z, what + " sample_weight")
        pw = cnp.PyArray_DATA(w)
    cdef void *pz = cnp.PyArray_DATA(z)
    cdef void *pt = cnp.PyArray_DATA(t)
    cdef double loss = 0
    cdef double *pls = &loss if want_loss else NULL
    cdef bint f32 = _is_f32(z)
    cdef int st = FMLP_OK
    with nogil:
        if f32:
            if which == 0:
                st = fmlp_softmax_xent_probs_f32(pls, <float *>pg, <const float *>pz,
                                                 <const float *>pt, <const float *>pw, M, N)
            elif which == 1:
                st = fmlp_sigmoid_bce_f32(pls, <float *>pg, <const float *>pz,
                                          <const float *>pt, <const float *>pw, M, N)
            else:
                st = fmlp_squared_error_f32(pls, <float *>pg, <const float *>pz,
                                            <const float *>pt, <const float *>pw, M, N)
        else:
            if which == 0:
                st = fmlp_softmax_xent_probs_f64(pls, <double *>pg, <const double *>pz,
                                                 <const double *>pt, <const double *>pw, M, N)
            elif which == 1:
                st = fmlp_sigmoid_bce_f64(pls, <double *>pg, <const double *>pz,
                                          <const double *>pt, <const double *>pw, M, N)
            else:
                st = fmlp_squared_error_f64(pls, <double *>pg, <const double *>pz,
                                            <const double *>pt, <const double *>pw, M, N)
    _raise_loss_status(st)
    return loss if want_loss else None


def softmax_xent_probs(cnp.ndarray g, cnp.ndarray z, cnp.ndarray t, cnp.ndarray w,
                       bint want_loss=True):
    """Softmax + cross-entropy from target rows (one-hot or probabilities)."""
    return _target_loss(0, g, z, t, w, want_loss, "softmax_cross_entropy logits")


def sigmoid_bce(cnp.ndarray g, cnp.ndarray z, cnp.ndarray t, cnp.ndarray w, bint want_loss=True):
    """Sigmoid + binary cross-entropy from logits, per element."""
    return _target_loss(1, g, z, t, w, want_loss, "sigmoid_binary_cross_entropy logits")


def squared_error(cnp.ndarray g, cnp.ndarray p, cnp.ndarray t, cnp.ndarray w, bint want_loss=True):
    """0.5 * weighted mean over rows of the squared error."""
    return _target_loss(2, g, p, t, w, want_loss, "squared_error pred")


def colsum(cnp.ndarray out, cnp.ndarray a):
    """out[j] = sum_i a[i, j], in place of out."""
    _matrix(a, "column_sum a")
    cdef int64_t M = a.shape[0], N = a.shape[1]
    _check(out.ndim == 1 and out.shape[0] == N, "column_sum out: need one entry per column")
    _check(cnp.PyArray_TYPE(out) == cnp.PyArray_TYPE(a) and cnp.PyArray_ISCARRAY_RO(out),
           "column_sum out: dtype or layout")
    _writeable(out, "column_sum out")
    cdef void *po = cnp.PyArray_DATA(out)
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef bint f32 = _is_f32(a)
    with nogil:
        if f32:
            fmlp_colsum_f32(<float *>po, <const float *>pa, M, N)
        else:
            fmlp_colsum_f64(<double *>po, <const double *>pa, M, N)


cdef inline void _flat(cnp.ndarray a, cnp.ndarray ref, str what, bint write) except *:
    """a is a C-contiguous array of ref's dtype and size (any shape)."""
    _check(cnp.PyArray_TYPE(a) == cnp.PyArray_TYPE(ref), what + ": dtypes differ")
    _check(cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 or cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64,
           what + ": must be float32 or float64")
    _check(cnp.PyArray_ISCARRAY_RO(a), what + ": not C-contiguous and aligned")
    _check(cnp.PyArray_SIZE(a) == cnp.PyArray_SIZE(ref), what + ": sizes differ")
    if write:
        _writeable(a, what)


def sgd_update(cnp.ndarray w, cnp.ndarray g, double lr, double l2, double l1):
    """w -= lr * (g + l2 w + l1 sign(w)), in place."""
    _flat(w, w, "sgd_update w", True)
    _flat(g, w, "sgd_update g", False)
    cdef int64_t n = cnp.PyArray_SIZE(w)
    cdef void *pw = cnp.PyArray_DATA(w)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef bint f32 = _is_f32(w)
    with nogil:
        if f32:
            fmlp_sgd_update_f32(<float *>pw, <const float *>pg, n, <float>lr, <float>l2, <float>l1)
        else:
            fmlp_sgd_update_f64(<double *>pw, <const double *>pg, n, lr, l2, l1)


def momentum_update(cnp.ndarray w, cnp.ndarray v, cnp.ndarray g, double lr, double momentum,
                    bint nesterov, double l2, double l1):
    """scikit-learn's momentum / Nesterov step, w and v in place."""
    _flat(w, w, "momentum_update w", True)
    _flat(v, w, "momentum_update velocity", True)
    _flat(g, w, "momentum_update g", False)
    cdef int64_t n = cnp.PyArray_SIZE(w)
    cdef void *pw = cnp.PyArray_DATA(w)
    cdef void *pv = cnp.PyArray_DATA(v)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef bint f32 = _is_f32(w)
    with nogil:
        if f32:
            fmlp_momentum_update_f32(<float *>pw, <float *>pv, <const float *>pg, n, <float>lr,
                                     <float>momentum, nesterov, <float>l2, <float>l1)
        else:
            fmlp_momentum_update_f64(<double *>pw, <double *>pv, <const double *>pg, n, lr,
                                     momentum, nesterov, l2, l1)


def adam_update(cnp.ndarray w, cnp.ndarray m, cnp.ndarray v, cnp.ndarray g, double lr,
                double beta1, double beta2, double eps, int64_t t, double l2, double l1):
    """scikit-learn's Adam step (bias correction in the step size), in place."""
    _flat(w, w, "adam_update w", True)
    _flat(m, w, "adam_update m", True)
    _flat(v, w, "adam_update v", True)
    _flat(g, w, "adam_update g", False)
    _check(t >= 1, "adam_update: t must be >= 1")
    cdef int64_t n = cnp.PyArray_SIZE(w)
    cdef void *pw = cnp.PyArray_DATA(w)
    cdef void *pm = cnp.PyArray_DATA(m)
    cdef void *pv = cnp.PyArray_DATA(v)
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef bint f32 = _is_f32(w)
    with nogil:
        if f32:
            fmlp_adam_update_f32(<float *>pw, <float *>pm, <float *>pv, <const float *>pg, n,
                                 <float>lr, <float>beta1, <float>beta2, <float>eps, t,
                                 <float>l2, <float>l1)
        else:
            fmlp_adam_update_f64(<double *>pw, <double *>pm, <double *>pv, <const double *>pg, n,
                                 lr, beta1, beta2, eps, t, l2, l1)
# ---- the engine -------------------------------------------------------------------

include "_network.pxi"

# ---- test hooks ---------------------------------------------------------------

include "_testing.pxi"
