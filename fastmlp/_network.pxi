# _network.pxi - included by _core.pyx: NetCore, the bridge to the C engine.
# It holds the C structs that point into arrays Python allocated (kept alive
# here), runs epochs in GIL-free time slices and turns status codes into
# exceptions. It validates nothing a user could get wrong (fastmlp/_engine.py
# and the estimators do).
from cpython.exc cimport PyErr_CheckSignals
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.ref cimport PyObject

# Inference scratch up to this size lives on the C stack: serving one row
# allocates nothing but its output.
DEF SERVE_STACK_BYTES = 65536

ENGINE_CODES = {
    "act": {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "leaky_relu": 4},
    "out": {"identity": FMLP_OUT_IDENTITY, "logistic": FMLP_OUT_LOGISTIC, "softmax": FMLP_OUT_SOFTMAX,
            "exp": FMLP_OUT_EXP},
    "loss": {"cross_entropy": FMLP_LOSS_XENT, "binary_cross_entropy": FMLP_LOSS_BCE,
             "squared_error": FMLP_LOSS_SQUARED, "poisson": FMLP_LOSS_POISSON},
    "solver": {"sgd": FMLP_SOLVER_SGD, "adam": FMLP_SOLVER_ADAM},
}
MAX_LAYERS = FMLP_MAX_LAYERS


class EngineStatusError(RuntimeError):
    """A C status the Python layer should have prevented (a bug, not user error)."""


cdef inline void* _ptr(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef class NetCore:
    """The C engine's view of one network: structs pointing into arrays
    owned by fastmlp._engine.Engine (which keeps them alive and never
    reallocates them)."""
    cdef fmlp_net net
    cdef fmlp_optim opt
    cdef fmlp_rng rng
    cdef readonly bint f32
    cdef object _keep        # arrays the structs point into

    def __cinit__(self, cnp.ndarray sizes, int hidden_act, double slope, int out_act, int loss,
                  cnp.ndarray params, object dropout, bint w0_transposed=False):
        if cnp.PyArray_TYPE(sizes) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(sizes):
            raise EngineStatusError("sizes must be contiguous int64")
        if not cnp.PyArray_IS_C_CONTIGUOUS(params):
            raise EngineStatusError("params must be contiguous")
        self.f32 = _is_f32(params)
        self.net.n_layers = sizes.shape[0] - 1
        self.net.sizes = <const int64_t *>cnp.PyArray_DATA(sizes)
        self.net.hidden_act = hidden_act
        self.net.slope = slope
        self.net.out_act = out_act
        self.net.loss = loss
        self.net.params = cnp.PyArray_DATA(params)
        self.net.dropout = <const double *>_ptr(dropout)
        self.net.n_threads = 0
        self.net.w0_transposed = w0_transposed
        self._keep = {"sizes": sizes, "params": params, "dropout": dropout}
        self.opt.solver = FMLP_SOLVER_SGD
        self.opt.m = NULL
        self.opt.v = NULL
        self.opt.step = 0
        self.opt.dropout_key = 0
        fmlp_rng_seed_state(&self.rng, 0)

    def set_optimizer(self, int solver, double lr, double momentum, bint nesterov, double beta1,
                      double beta2, double eps, cnp.ndarray m, cnp.ndarray v):
        self.opt.solver = solver
        self.opt.lr = lr
        self.opt.momentum = momentum
        self.opt.nesterov = nesterov
        self.opt.beta1 = beta1
        self.opt.beta2 = beta2
        self.opt.eps = eps
        self.opt.m = cnp.PyArray_DATA(m)
        self.opt.v = cnp.PyArray_DATA(v)
        self._keep["m"] = m
        self._keep["v"] = v

    property n_threads:
        """Threads for this network's work; 0 means the process default."""
        def __get__(self):
            return self.net.n_threads
        def __set__(self, int value):
            self.net.n_threads = value if value > 0 else 0

    property learning_rate:
        def __get__(self):
            return self.opt.lr
        def __set__(self, double value):
            self.opt.lr = value

    property counters:
        """(step, dropout_key)"""
        def __get__(self):
            return (self.opt.step, self.opt.dropout_key)
        def __set__(self, value):
            self.opt.step, self.opt.dropout_key = value

    property rng_state:
        def __get__(self):
            return tuple(self.rng.s[i] for i in range(4))
        def __set__(self, value):
            for i in range(4):
                self.rng.s[i] = <uint64_t>value[i]

    def seed(self, uint64_t seed):
        fmlp_rng_seed_state(&self.rng, seed)
        self.opt.dropout_key = fmlp_rng_next_u64(&self.rng)

    def next_u64(self):
        return fmlp_rng_next_u64(&self.rng)

    def permutation(self, int64_t n):
        """The permutation an epoch with shuffling would draw next (advances the RNG)."""
        cdef cnp.ndarray perm = np.empty(n, dtype=np.int64)
        cdef fmlp_epoch ep
        ep.shuffle = 1
        ep.perm = <int64_t *>cnp.PyArray_DATA(perm)
        fmlp_epoch_begin(&ep, &self.rng, n)
        return perm

    cdef void _data(self, fmlp_data *d, object X, object labels, object Y, object w):
        """Dense X (2-D array, unit column stride) or a CSR with data,
        indices, indptr (int64) and shape, already checked by the caller."""
        cdef cnp.ndarray a
        if isinstance(X, cnp.ndarray):
            a = <cnp.ndarray>X
            d.X = cnp.PyArray_DATA(a)
            d.ldx = _ld(a)
            d.n = a.shape[0]
            d.indptr = NULL
            d.indices = NULL
        else:
            d.X = _ptr(X.data)
            d.ldx = 0
            d.n = X.shape[0]
            d.indptr = <const int64_t *>_ptr(X.indptr)
            d.indices = <const int64_t *>_ptr(X.indices)
        d.labels = <const int64_t *>_ptr(labels)
        d.Y = _ptr(Y)
        d.w = _ptr(w)

    def train_work_size(self, int64_t batch):
        if self.f32:
            return fmlp_train_work_size_f32(&self.net, batch)
        return fmlp_train_work_size_f64(&self.net, batch)

    def forward_work_size(self, int64_t rows):
        if self.f32:
            return fmlp_forward_work_size_f32(&self.net, rows)
        return fmlp_forward_work_size_f64(&self.net, rows)

    def train_epoch(self, object X, object labels, object Y, object w, int64_t batch_size,
                    bint shuffle, double alpha, double l1, cnp.ndarray perm, cnp.ndarray work,
                    double slice_seconds):
        """One epoch. Returns (status, loss_sum, penalty_sum, nonfinite_at).
        Between time slices the GIL is taken to check for Ctrl-C; a pending
        KeyboardInterrupt propagates with the weights of the last full step."""
        cdef fmlp_data d
        cdef fmlp_epoch ep
        cdef int st
        cdef void *pw = cnp.PyArray_DATA(work)
        cdef size_t nw = <size_t>cnp.PyArray_NBYTES(work)
        self._data(&d, X, labels, Y, w)
        ep.batch_size = batch_size
        ep.shuffle = shuffle
        ep.alpha = alpha
        ep.l1 = l1
        ep.perm = <int64_t *>cnp.PyArray_DATA(perm)
        fmlp_epoch_begin(&ep, &self.rng, d.n)
        while True:
            with nogil:
                if self.f32:
                    st = fmlp_train_slice_f32(&self.net, &self.opt, &d, &ep, pw, nw, slice_seconds)
                else:
                    st = fmlp_train_slice_f64(&self.net, &self.opt, &d, &ep, pw, nw, slice_seconds)
            if st != FMLP_INTERRUPTED:
                break
            PyErr_CheckSignals()
        return st, ep.loss_sum, ep.penalty_sum, ep.nonfinite_at

    def serve(self, object X, bint two_columns):
        """The serving path: output activations for a plain, C-contiguous 2-D
        array of the network's dtype and width, validated and computed in one
        GIL-free C call. Returns None for anything else (or for NaN/inf in X),
        and the caller then takes its validating path, which explains. With
        two_columns a one-output network returns [1 - p, p]."""
        if type(X) is not np.ndarray:
            return None
        cdef cnp.ndarray x = <cnp.ndarray>X
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        if (cnp.PyArray_NDIM(x) != 2 or cnp.PyArray_TYPE(x) != typenum
                or not cnp.PyArray_ISCARRAY_RO(x) or x.shape[1] != self.net.sizes[0]
                or x.shape[0] == 0):
            return None
        cdef int64_t n = x.shape[0]
        cdef int64_t n_out = self.net.sizes[self.net.n_layers]
        cdef int flags = FMLP_PREDICT_CHECK_FINITE
        if two_columns and n_out == 1:
            flags |= FMLP_PREDICT_TWO_COLUMNS
            n_out = 2
        cdef cnp.npy_intp dims[2]
        dims[0] = n
        dims[1] = n_out
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, typenum, 0)
        cdef int64_t rows = n if n < 256 else 256
        cdef size_t need = (fmlp_forward_work_size_f32(&self.net, rows) if self.f32
                            else fmlp_forward_work_size_f64(&self.net, rows))
        cdef char stack[SERVE_STACK_BYTES]
        cdef void *pw = <void *>stack
        cdef size_t nw = SERVE_STACK_BYTES
        cdef cnp.ndarray heap
        if need > nw:
            heap = np.empty(need, dtype=np.uint8)
            pw = cnp.PyArray_DATA(heap)
            nw = need
        cdef const void *px = cnp.PyArray_DATA(x)
        cdef void *po = cnp.PyArray_DATA(out)
        cdef int st
        with nogil:
            if self.f32:
                st = fmlp_net_predict_f32(&self.net, <float *>po, <const float *>px, x.shape[1], n,
                                          pw, nw, flags)
            else:
                st = fmlp_net_predict_f64(&self.net, <double *>po, <const double *>px, x.shape[1], n,
                                          pw, nw, flags)
        if st == FMLP_ERR_NONFINITE:
            return None
        if st != FMLP_OK:
            raise EngineStatusError(f"predict failed with status {st}")
        return out

    def forward(self, object X, cnp.ndarray out, cnp.ndarray work):
        """out = output activations for dense X or a CSR (see _data)."""
        cdef fmlp_data d
        self._data(&d, X, None, None, None)
        cdef void *po = cnp.PyArray_DATA(out)
        cdef void *pw = cnp.PyArray_DATA(work)
        cdef size_t nw = <size_t>cnp.PyArray_NBYTES(work)
        cdef int st
        with nogil:
            if d.indptr != NULL:
                if self.f32:
                    st = fmlp_net_predict_csr_f32(&self.net, <float *>po, d.indptr, d.indices,
                                                  <const float *>d.X, d.n, pw, nw, 0)
                else:
                    st = fmlp_net_predict_csr_f64(&self.net, <double *>po, d.indptr, d.indices,
                                                  <const double *>d.X, d.n, pw, nw, 0)
            elif self.f32:
                st = fmlp_net_forward_f32(&self.net, <float *>po, <const float *>d.X, d.ldx, d.n, pw, nw)
            else:
                st = fmlp_net_forward_f64(&self.net, <double *>po, <const double *>d.X, d.ldx, d.n, pw, nw)
        if st != FMLP_OK:
            raise EngineStatusError(f"forward failed with status {st}")
        return out

    def loss_grad(self, object X, object labels, object Y, object w, double alpha, double l1,
                  object grad, cnp.ndarray work, int64_t chunk):
        """Returns (status, loss)."""
        cdef fmlp_data d
        cdef double loss = 0
        cdef int st
        cdef void *pg = _ptr(grad)
        cdef void *pw = cnp.PyArray_DATA(work)
        cdef size_t nw = <size_t>cnp.PyArray_NBYTES(work)
        self._data(&d, X, labels, Y, w)
        with nogil:
            if self.f32:
                st = fmlp_net_loss_grad_f32(&self.net, &loss, <float *>pg, &d, alpha, l1, pw, nw, chunk)
            else:
                st = fmlp_net_loss_grad_f64(&self.net, &loss, <double *>pg, &d, alpha, l1, pw, nw, chunk)
        return st, loss


def set_default_threads(int n):
    """Process-wide thread count for kernels (0: every online CPU)."""
    fmlp_set_default_threads(n)


def get_default_threads():
    return fmlp_get_default_threads()


def cpu_count():
    return fmlp_cpu_count()


def same_items(list a, list b):
    """True when two lists hold the very same objects (identity, in order)."""
    cdef Py_ssize_t n = PyList_GET_SIZE(a), i
    if PyList_GET_SIZE(b) != n:
        return False
    for i in range(n):
        if PyList_GET_ITEM(a, i) != PyList_GET_ITEM(b, i):
            return False
    return True


def csr_matmul(cnp.ndarray C, object rows, cnp.ndarray indptr, cnp.ndarray indices,
               cnp.ndarray values, cnp.ndarray B, bint trans_b, double beta, int n_threads):
    """C = beta C + X_sel @ op(B) for CSR X (see fastmlp.kernels.sparse_matmul)."""
    cdef int64_t M = C.shape[0], N = C.shape[1]
    _check(cnp.PyArray_TYPE(values) == cnp.PyArray_TYPE(C) and cnp.PyArray_TYPE(B) == cnp.PyArray_TYPE(C),
           "csr_matmul: dtypes differ")
    _check((B.shape[0] if trans_b else B.shape[1]) == N, "csr_matmul: op(B) columns != C columns")
    cdef const int64_t *pr = <const int64_t *>_ptr(rows)
    cdef const int64_t *pp = <const int64_t *>cnp.PyArray_DATA(indptr)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(indices)
    cdef void *pv = cnp.PyArray_DATA(values)
    cdef void *pb = cnp.PyArray_DATA(B)
    cdef void *pc = cnp.PyArray_DATA(C)
    cdef int64_t ldb = _ld(B), ldc = _ld(C)
    cdef bint f32 = _is_f32(C)
    with nogil:
        if f32:
            fmlp_csr_matmul_f32(<float *>pc, ldc, pr, pp, pi, <const float *>pv, M, <const float *>pb,
                                ldb, N, trans_b, <float>beta, n_threads)
        else:
            fmlp_csr_matmul_f64(<double *>pc, ldc, pr, pp, pi, <const double *>pv, M, <const double *>pb,
                                ldb, N, trans_b, beta, n_threads)


def csr_t_matmul_acc(cnp.ndarray C, object rows, cnp.ndarray indptr, cnp.ndarray indices,
                     cnp.ndarray values, cnp.ndarray G, bint c_transposed, double scale, int n_threads):
    """C += scale X_sel^T @ G for CSR X (see fastmlp.kernels.sparse_t_matmul)."""
    cdef int64_t M = G.shape[0], N = G.shape[1]
    _check(cnp.PyArray_TYPE(values) == cnp.PyArray_TYPE(C) and cnp.PyArray_TYPE(G) == cnp.PyArray_TYPE(C),
           "csr_t_matmul_acc: dtypes differ")
    _check((C.shape[0] if c_transposed else C.shape[1]) == N, "csr_t_matmul_acc: C and G disagree")
    cdef const int64_t *pr = <const int64_t *>_ptr(rows)
    cdef const int64_t *pp = <const int64_t *>cnp.PyArray_DATA(indptr)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(indices)
    cdef void *pv = cnp.PyArray_DATA(values)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *pc = cnp.PyArray_DATA(C)
    cdef int64_t ldg = _ld(G), ldc = _ld(C)
    cdef bint f32 = _is_f32(C)
    with nogil:
        if f32:
            fmlp_csr_t_matmul_acc_f32(<float *>pc, ldc, pr, pp, pi, <const float *>pv, M,
                                      <const float *>pg, ldg, N, c_transposed, <float>scale, n_threads)
        else:
            fmlp_csr_t_matmul_acc_f64(<double *>pc, ldc, pr, pp, pi, <const double *>pv, M,
                                      <const double *>pg, ldg, N, c_transposed, scale, n_threads)
