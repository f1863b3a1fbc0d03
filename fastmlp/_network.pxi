# _network.pxi - included by _core.pyx: NetCore, the bridge to the C engine.
# It holds the C structs that point into arrays Python allocated (kept alive
# here), runs epochs in GIL-free time slices and turns status codes into
# exceptions. User input is validated by the estimators; NetCore's methods are
# importable, so before each C call they re-check, in O(1), that every array
# fits the network (dtype, ndim, shape, strides), and scan, without the GIL,
# the values C follows or trusts: CSR indptr/indices (it indexes memory with
# them), class labels and sample weights. Feature values are never scanned.
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport INFINITY
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
# The most threads one call runs on (the pool's workers plus the caller):
# larger thread counts are clamped to it before they reach C's int.
MAX_THREADS = FMLP_MAX_THREADS


class EngineStatusError(RuntimeError):
    """A C status the Python layer should have prevented (a bug, not user error)."""


cdef inline void* _ptr(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


# ---- argument checks (O(1): they look at headers, never at the data) ----------

cdef inline str _fix(str name):
    return f"pass np.ascontiguousarray({name})"


cdef cnp.ndarray _typed(object a, str name, int typenum, str want):
    """a as an aligned ndarray of the wanted type; TypeError otherwise."""
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{name} must be a NumPy array of {want}, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(arr), typenum):
        raise TypeError(f"{name} has dtype {arr.dtype}, but this network needs {want}")
    if not cnp.PyArray_ISALIGNED(arr):
        raise ValueError(f"{name} is not aligned for {want}; {_fix(name)}")
    return arr


cdef cnp.ndarray _c_array(object a, str name, int typenum, str want, int ndim, bint writable):
    """An aligned, C-contiguous ndarray of the wanted type and ndim."""
    cdef cnp.ndarray arr = _typed(a, name, typenum, want)
    if cnp.PyArray_NDIM(arr) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {cnp.PyArray_NDIM(arr)}-D")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} must be C-contiguous; {_fix(name)}")
    if writable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} is read-only; pass a writable array")
    return arr


cdef int _thread_count(object value, str name) except -1:
    """value, an integer, as C's thread count: < 1 means 0 (the default), and
    anything above MAX_THREADS means MAX_THREADS (the pool runs no more)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer (0: the default), got {value!r}")
    if value < 1:
        return 0
    return FMLP_MAX_THREADS if value > FMLP_MAX_THREADS else <int>value


# ---- value checks (GIL-free scans of the arrays C indexes memory with) --------

_CSR_FIX = "build it with scipy.sparse.csr_matrix, which keeps indptr and indices consistent"


cdef int _check_csr(cnp.ndarray indptr, cnp.ndarray indices, int64_t n_rows, int64_t n_cols,
                    str prefix) except -1:
    """C follows indptr and indices without bounds checks: refuse, naming the
    first bad entry, an indptr that decreases or leaves [0, len(indices)] and
    a column index outside [0, n_cols). Both arrays are 1-D C-contiguous int64
    (the caller checked) and indptr holds n_rows + 1 entries."""
    cdef const int64_t *p = <const int64_t *>cnp.PyArray_DATA(indptr)
    cdef const int64_t *ix = <const int64_t *>cnp.PyArray_DATA(indices)
    cdef int64_t nnz = indices.shape[0], i, bad = -1, prev = 0
    with nogil:
        for i in range(n_rows + 1):
            if p[i] < prev or p[i] > nnz:  # prev starts at 0: a negative start is caught too
                bad = i
                break
            prev = p[i]
    if bad >= 0:
        rule = (f"{prefix}indptr must be non-decreasing and lie in [0, {nnz}] "
                f"(len({prefix}indices) == len({prefix}data))")
        if p[bad] < 0 or p[bad] > nnz:
            raise ValueError(f"{rule}, got {prefix}indptr[{bad}] = {p[bad]}; {_CSR_FIX}")
        raise ValueError(f"{rule}, got {prefix}indptr[{bad - 1}] = {p[bad - 1]} > "
                         f"{prefix}indptr[{bad}] = {p[bad]}; {_CSR_FIX}")
    with nogil:
        for i in range(nnz):
            if ix[i] < 0 or ix[i] >= n_cols:
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"{prefix}indices must lie in [0, {n_cols}) (the matrix has {n_cols} "
                         f"columns), got {prefix}indices[{bad}] = {ix[bad]}; {_CSR_FIX}")
    return 0


def check_csr(object indptr, object indices, int64_t n_cols, str prefix=""):
    """Refuse CSR index arrays C could read or write out of bounds through
    (see _check_csr): indptr and indices are 1-D C-contiguous int64 arrays,
    indptr non-decreasing in [0, len(indices)], every index in [0, n_cols).
    ``prefix`` goes before the names in messages ("X." gives "X.indptr")."""
    cdef cnp.ndarray p = _c_array(indptr, prefix + "indptr", cnp.NPY_INT64, "int64", 1, False)
    cdef cnp.ndarray ix = _c_array(indices, prefix + "indices", cnp.NPY_INT64, "int64", 1, False)
    if p.shape[0] == 0:
        raise ValueError(f"{prefix}indptr is empty; it needs n_rows + 1 entries")
    _check_csr(p, ix, p.shape[0] - 1, n_cols, prefix)


cdef int64_t _first_bad_label(const int64_t *labels, int64_t n, int64_t n_classes) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        if labels[i] < 0 or labels[i] >= n_classes:
            return i
    return -1


cdef int64_t _first_bad_weight(const void *w, bint f32, int64_t n) noexcept nogil:
    """The first weight that is negative, NaN or infinite, or -1."""
    cdef int64_t i
    cdef double v
    for i in range(n):
        v = (<const float *>w)[i] if f32 else (<const double *>w)[i]
        if not (v >= 0 and v < INFINITY):
            return i
    return -1


cdef cnp.ndarray _scratch(object a, str name):
    """A writable, C-contiguous buffer of any dtype: C measures (and refuses
    one that is too small) and aligns it itself, so only its extent matters."""
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} must be a writable, C-contiguous buffer; allocate it with "
                         f"np.empty(nbytes, dtype=np.uint8)")
    return arr


cdef class NetCore:
    """The C engine's view of one network: structs pointing into arrays
    owned by fastmlp._engine.Engine (which keeps them alive and never
    reallocates them)."""
    cdef fmlp_net net
    cdef fmlp_optim opt
    cdef fmlp_rng rng
    cdef readonly bint f32
    cdef int64_t n_params    # length of params (and of each optimizer moment)
    cdef int typenum         # NPY_FLOAT32 or NPY_FLOAT64, params' dtype
    cdef str want            # its name, for messages
    cdef object _keep        # arrays the structs point into

    def __cinit__(self, cnp.ndarray sizes, int hidden_act, double slope, int out_act, int loss,
                  cnp.ndarray params, object dropout, bint w0_transposed=False):
        if cnp.PyArray_TYPE(sizes) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(sizes):
            raise EngineStatusError("sizes must be contiguous int64")
        if not cnp.PyArray_IS_C_CONTIGUOUS(params):
            raise EngineStatusError("params must be contiguous")
        # Every later check trusts sizes and params, so they must agree.
        cdef int64_t L = sizes.shape[0] - 1 if cnp.PyArray_NDIM(sizes) == 1 else 0
        if L < 1 or L > FMLP_MAX_LAYERS:
            raise ValueError(f"sizes must hold 2 to {FMLP_MAX_LAYERS + 1} layer widths, got "
                             f"{sizes.size}")
        cdef const int64_t *sz = <const int64_t *>cnp.PyArray_DATA(sizes)
        cdef int64_t l, count = 0
        for l in range(L):
            if sz[l] < 1 or sz[l + 1] < 1:
                raise ValueError(f"sizes must all be >= 1, got {sizes.tolist()}")
            count += sz[l] * sz[l + 1] + sz[l + 1]
        if cnp.PyArray_TYPE(params) == cnp.NPY_FLOAT32:
            self.typenum, self.want = cnp.NPY_FLOAT32, "float32"
        elif cnp.PyArray_TYPE(params) == cnp.NPY_FLOAT64:
            self.typenum, self.want = cnp.NPY_FLOAT64, "float64"
        else:
            raise TypeError(f"params must be float32 or float64, got {params.dtype}")
        if (cnp.PyArray_NDIM(params) != 1 or params.shape[0] != count
                or not cnp.PyArray_ISWRITEABLE(params) or not cnp.PyArray_ISALIGNED(params)):
            raise ValueError(f"params must be a writable, aligned 1-D array of {count} values "
                             f"for layer sizes {sizes.tolist()}, got shape {(<object>params).shape}")
        if dropout is not None:
            _c_array(dropout, "dropout", cnp.NPY_FLOAT64, "float64", 1, False)
            if dropout.shape[0] != L - 1:
                raise ValueError(f"dropout must hold one rate per hidden layer ({L - 1}), got "
                                 f"{dropout.shape[0]}")
        self.n_params = count
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
        # C updates m when there is momentum (or Adam) and v for Adam, over all params.
        if solver == FMLP_SOLVER_ADAM or momentum > 0:
            self._params_like(m, "m (velocity or Adam's first moment)")
        if solver == FMLP_SOLVER_ADAM:
            self._params_like(v, "v (Adam's second moment)")
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
        """Threads for this network's work; 0 means the process default.
        Any integer is accepted: < 1 means 0, and counts above MAX_THREADS
        (the pool's size) mean MAX_THREADS."""
        def __get__(self):
            return self.net.n_threads
        def __set__(self, value):
            self.net.n_threads = _thread_count(value, "n_threads")

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

    cdef int _params_like(self, object a, str name) except -1:
        """a must be a writable, contiguous array shaped and typed like params."""
        cdef cnp.ndarray arr = _c_array(a, name, self.typenum, self.want, 1, True)
        if arr.shape[0] != self.n_params:
            raise ValueError(f"{name} has {arr.shape[0]} values, but this network has "
                             f"{self.n_params} parameters")
        return 0

    cdef int _data(self, fmlp_data *d, object X, object labels, object Y, object w,
                   bint targets) except -1:
        """Fill d from dense X (2-D, unit column stride) or a CSR with data,
        indices, indptr (int64) and shape, after checking that every array fits
        the network and each other (O(1)) and that C can follow a CSR's indptr
        and indices safely (a GIL-free scan). With targets, labels (int64,
        cross-entropy only, each in [0, n_outputs)) or Y (n, n_outputs) must be
        given; w is optional (finite, >= 0)."""
        cdef cnp.ndarray a, data, indices, indptr
        cdef int64_t n, n_in = self.net.sizes[0], n_out = self.net.sizes[self.net.n_layers]
        cdef int64_t nnz, bad
        cdef const int64_t *pl
        cdef const void *pv
        cdef Py_ssize_t item
        if isinstance(X, cnp.ndarray):
            a = _typed(X, "X", self.typenum, self.want)
            if cnp.PyArray_NDIM(a) != 2:
                raise ValueError(f"X must be 2-D (n_samples, {n_in}), got "
                                 f"{cnp.PyArray_NDIM(a)}-D")
            if a.shape[1] != n_in:
                raise ValueError(f"X has {a.shape[1]} features, but this network takes {n_in}")
            item = cnp.PyArray_ITEMSIZE(a)
            # C reads element (r, c) at X + r * ldx + c: columns must be adjacent
            # and the row stride a whole number of elements (NumPy gives 0-row
            # arrays zero strides: C reads nothing from them).
            if a.shape[0] > 0 and ((a.shape[1] > 1 and cnp.PyArray_STRIDE(a, 1) != item)
                    or (a.shape[0] > 1 and cnp.PyArray_STRIDE(a, 0) % item != 0)):
                raise ValueError(f"X must have unit column stride; {_fix('X')}")
            n = a.shape[0]
            d.X = cnp.PyArray_DATA(a)
            d.ldx = _ld(a)
            d.n = n
            d.indptr = NULL
            d.indices = NULL
        else:
            if (getattr(X, "format", "csr") != "csr" or not hasattr(X, "indptr")
                    or not hasattr(X, "indices") or not hasattr(X, "data")):
                raise TypeError(f"X must be a 2-D NumPy array or a fastmlp._engine.CSR, got "
                                f"{type(X).__name__}")
            shape = X.shape
            n = shape[0]
            if shape[1] != n_in:
                raise ValueError(f"X has {shape[1]} features, but this network takes {n_in}")
            data = _c_array(X.data, "X.data", self.typenum, self.want, 1, False)
            indices = _c_array(X.indices, "X.indices", cnp.NPY_INT64, "int64", 1, False)
            indptr = _c_array(X.indptr, "X.indptr", cnp.NPY_INT64, "int64", 1, False)
            nnz = data.shape[0]
            if indices.shape[0] != nnz:
                raise ValueError(f"X.indices has {indices.shape[0]} entries, but X.data has {nnz}")
            if n < 0 or indptr.shape[0] != n + 1:
                raise ValueError(f"X.indptr has {indptr.shape[0]} entries, but X has {n} rows "
                                 f"(it needs n_rows + 1)")
            # C indexes rows and weights through these: every entry must be in bounds.
            _check_csr(indptr, indices, n, n_in, "X.")
            d.X = cnp.PyArray_DATA(data)
            d.ldx = 0
            d.n = n
            d.indptr = <const int64_t *>cnp.PyArray_DATA(indptr)
            d.indices = <const int64_t *>cnp.PyArray_DATA(indices)
        d.labels = NULL
        d.Y = NULL
        d.w = NULL
        if not targets:
            return 0
        if labels is not None:
            if Y is not None:
                raise ValueError("pass labels or Y, not both")
            if self.net.loss != FMLP_LOSS_XENT:
                raise ValueError("class labels fit only loss='cross_entropy'; pass targets Y "
                                 f"({n}, {n_out}) instead")
            a = _c_array(labels, "y (labels)", cnp.NPY_INT64, "int64", 1, False)
            if a.shape[0] != n:
                raise ValueError(f"y (labels) has {a.shape[0]} entries, but X has {n} rows")
            pl = <const int64_t *>cnp.PyArray_DATA(a)
            # Checked up front, so a bad label never leaves an epoch half done.
            with nogil:
                bad = _first_bad_label(pl, n, n_out)
            if bad >= 0:
                raise ValueError(f"y (labels) must hold class indices in [0, {n_out}) (one per "
                                 f"network output), got y[{bad}] = {pl[bad]}; encode the classes "
                                 f"as 0..{n_out - 1}, e.g. with np.unique(y, return_inverse=True)")
            d.labels = pl
        elif Y is not None:
            a = _c_array(Y, "y (targets Y)", self.typenum, self.want, 2, False)
            if a.shape[0] != n or a.shape[1] != n_out:
                raise ValueError(f"y (targets Y) has shape ({a.shape[0]}, {a.shape[1]}), but X "
                                 f"has {n} rows and this network {n_out} outputs: it needs "
                                 f"({n}, {n_out})")
            d.Y = cnp.PyArray_DATA(a)
        else:
            raise ValueError("targets are missing: pass labels or Y")
        if w is not None:
            a = _c_array(w, "sample_weight", self.typenum, self.want, 1, False)
            if a.shape[0] != n:
                raise ValueError(f"sample_weight has {a.shape[0]} entries, but X has {n} rows")
            pv = cnp.PyArray_DATA(a)
            with nogil:
                bad = _first_bad_weight(pv, self.f32, n)
            if bad >= 0:
                raise ValueError(f"sample_weight must be finite and >= 0, got sample_weight[{bad}]"
                                 f" = {a[bad]}; give each sample a finite, non-negative weight")
            d.w = pv
        return 0

    def train_work_size(self, int64_t batch):
        if self.f32:
            return fmlp_train_work_size_f32(&self.net, batch)
        return fmlp_train_work_size_f64(&self.net, batch)

    def forward_work_size(self, int64_t rows):
        if self.f32:
            return fmlp_forward_work_size_f32(&self.net, rows)
        return fmlp_forward_work_size_f64(&self.net, rows)

    def train_epoch(self, object X, object labels, object Y, object w, int64_t batch_size,
                    int shuffle, double alpha, double l1, cnp.ndarray perm, cnp.ndarray work,
                    double slice_seconds):
        """One epoch. Returns (status, loss_sum, penalty_sum, nonfinite_at).
        shuffle: 0 X's order, 1 an order drawn from the engine's generator, 2 the
        order already in perm (the caller checked it is a permutation of range(n)).
        Between time slices the GIL is taken to check for Ctrl-C; a pending
        KeyboardInterrupt propagates with the weights of the last full step."""
        cdef fmlp_data d
        cdef fmlp_epoch ep
        cdef int st
        self._data(&d, X, labels, Y, w, True)
        if d.n == 0:
            raise ValueError("X has 0 rows; an epoch needs at least one sample")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        _scratch(work, "work")
        _c_array(perm, "perm", cnp.NPY_INT64, "int64", 1, True)
        if perm.shape[0] < d.n:
            raise ValueError(f"perm has {perm.shape[0]} entries, but X has {d.n} rows")
        if shuffle not in (0, 1, 2):
            raise ValueError(f"shuffle must be 0, 1 or 2, got {shuffle}")
        cdef int64_t i, v
        cdef const int64_t *pp = <const int64_t *>cnp.PyArray_DATA(perm)
        if shuffle == 2:  # C reads rows through it: every entry must be a row of X
            for i in range(d.n):
                v = pp[i]
                if v < 0 or v >= d.n:
                    raise ValueError(f"perm[{i}] = {v} is not a row of X (0..{d.n - 1})")
        cdef void *pw = cnp.PyArray_DATA(work)
        cdef size_t nw = <size_t>cnp.PyArray_NBYTES(work)
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

    def serve(self, object X, bint two_columns, object coefs=None, object intercepts=None,
              object views=None):
        """The serving path: output activations for a plain, C-contiguous 2-D
        array of the network's dtype and width, validated and computed in one
        GIL-free C call. Returns None for anything else (NaN/inf in X, outputs
        that overflowed, or when the lists ``coefs`` / ``intercepts`` no longer
        hold the very arrays of ``views`` = (coef views, bias views), i.e. the
        user assigned new weights), and the caller then takes its validating
        path, which explains or syncs. With two_columns a one-output network
        returns [1 - p, p]. Everything a one-row prediction needs happens in
        this one call: the Python around it costs more than the arithmetic."""
        return self._serve(X, two_columns, coefs, intercepts, views)

    cdef object _serve(self, object X, bint two_columns, object coefs, object intercepts,
                       object views):
        if type(X) is not np.ndarray:
            return None
        if views is not None and not (_same_list(coefs, (<tuple>views)[0])
                                      and _same_list(intercepts, (<tuple>views)[1])):
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
        cdef int64_t rows = n if n < 1024 else 1024  # two row blocks (network_impl.h)
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
        with nogil:  # FMLP_PREDICT_CHECK_FINITE: inputs and outputs, in each block's thread
            if self.f32:
                st = fmlp_net_predict_f32(&self.net, <float *>po, <const float *>px, x.shape[1], n,
                                          pw, nw, flags)
            else:
                st = fmlp_net_predict_f64(&self.net, <double *>po, <const double *>px, x.shape[1], n,
                                          pw, nw, flags)
        if st == FMLP_ERR_NONFINITE:
            # NaN/inf in X, or outputs that overflowed: the validating path
            # refuses either with a message saying why.
            return None
        if st != FMLP_OK:
            raise EngineStatusError(f"predict failed with status {st}")
        return out

    def forward(self, object X, cnp.ndarray out, cnp.ndarray work):
        """out = output activations for dense X or a CSR (see _data)."""
        cdef fmlp_data d
        self._data(&d, X, None, None, None, False)
        cdef int64_t n_out = self.net.sizes[self.net.n_layers]
        _c_array(out, "out", self.typenum, self.want, 2, True)
        if out.shape[0] != d.n or out.shape[1] != n_out:
            raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), but X has {d.n} "
                             f"rows and this network {n_out} outputs: it needs ({d.n}, {n_out})")
        _scratch(work, "work")
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
        self._data(&d, X, labels, Y, w, True)
        if d.n == 0:
            raise ValueError("X has 0 rows; the loss needs at least one sample")
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        if grad is not None:
            self._params_like(grad, "grad")
        _scratch(work, "work")
        cdef void *pg = _ptr(grad)
        cdef void *pw = cnp.PyArray_DATA(work)
        cdef size_t nw = <size_t>cnp.PyArray_NBYTES(work)
        with nogil:
            if self.f32:
                st = fmlp_net_loss_grad_f32(&self.net, &loss, <float *>pg, &d, alpha, l1, pw, nw, chunk)
            else:
                st = fmlp_net_loss_grad_f64(&self.net, &loss, <double *>pg, &d, alpha, l1, pw, nw, chunk)
        return st, loss


def set_default_threads(object n):
    """Process-wide thread count for kernels (0: every online CPU; counts
    above MAX_THREADS mean MAX_THREADS)."""
    fmlp_set_default_threads(_thread_count(n, "n"))


def get_default_threads():
    return fmlp_get_default_threads()


def cpu_count():
    return fmlp_cpu_count()


def mt19937_uniform(cnp.ndarray key, int64_t pos, cnp.ndarray out, double low, double range):
    """out[:] = NumPy's RandomState.uniform(low, low + range) draws from the
    MT19937 state (key, pos) of RandomState.get_state(). key (uint32[624],
    C-contiguous, writable) advances in place; returns the new position."""
    _c_array(key, "key", cnp.NPY_UINT32, "uint32", 1, True)
    _c_array(out, "out", cnp.NPY_FLOAT64, "float64", 1, True)
    if key.shape[0] != 624:
        raise ValueError(f"key must hold 624 words, got {key.shape[0]}")
    cdef int st
    cdef uint32_t *pk = <uint32_t *>cnp.PyArray_DATA(key)
    cdef double *po = <double *>cnp.PyArray_DATA(out)
    cdef int64_t n = out.shape[0]
    with nogil:
        st = fmlp_mt19937_uniform(pk, &pos, po, n, low, range)
    if st != 0:
        raise ValueError(f"pos must be in [0, 624], got {pos}")
    return pos


def serve_estimator(object est, object X, bint two_columns):
    """An estimator's predict/predict_proba serving path in one call from
    Python: its engine's NetCore (decided once per fit by
    est._serving_function(), kept on the engine as ``_serve``; False when the
    model cannot be served this way), its coefs_/intercepts_ checked against
    the engine's views, then NetCore.serve. None whenever the validating
    path must run instead. For one row the Python frames and dictionary
    lookups this saves are a measurable part of the call."""
    cdef dict d = <dict>est.__dict__
    eng = d.get("_engine")
    if eng is None:
        return None
    core = (<dict>eng.__dict__).get("_serve")
    if core is None:
        core = est._serving_function()
        eng._serve = core
    if core is False:
        return None
    views = d.get("_views")
    if views is None:
        return None
    return (<NetCore?>core)._serve(X, two_columns, d.get("coefs_"), d.get("intercepts_"), views)


cdef inline bint _same_list(object a, object b):
    """a and b are lists holding the very same objects (identity, in order)."""
    if type(a) is not list or type(b) is not list:
        return False
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
