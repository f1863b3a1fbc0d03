"""The engine interface: one network's parameters, optimizer state and loop.

Estimators (fastmlp/estimators.py) talk only to this interface. Two classes
implement it and must agree to rounding: the C engine (fastmlp/_network.pyx,
the fast path) and ``fastmlp.reference.ReferenceEngine`` (plain NumPy, the
oracle). Estimators get one from :func:`make_engine`. Nothing here validates
user input: estimators pass checked, converted arrays.

Contract
--------
``Engine(layer_sizes, *, hidden_activation, output_activation, loss, dtype,
slope=0.01, dropout=None, n_threads=None)``

- ``layer_sizes``: (n_features, hidden..., n_outputs), all >= 1.
- ``hidden_activation``: 'identity' | 'logistic' | 'tanh' | 'relu' | 'leaky_relu'
  (``slope`` is leaky_relu's negative slope).
- ``output_activation``: 'softmax' | 'logistic' | 'identity'.
- ``loss``: 'cross_entropy' (softmax output), 'binary_cross_entropy' (logistic
  output), 'squared_error' (any output activation; the gradient goes through
  the output activation's derivative unless it is identity).
- ``dtype``: np.float32 or np.float64. ``dropout``: None or one rate in [0, 1)
  per hidden layer (inverted dropout, training only).
- ``n_threads``: None or 0 (the process default) or a positive integer; counts
  above 64 (the worker pool's size) mean 64, and C never runs more threads
  than there are CPUs.

Parameters: ``params`` is one flat array holding W_0 .. W_{L-1} (each stored
(fan_out, fan_in), row-major) then b_0 .. b_{L-1}. ``weights(l)`` and
``biases(l)`` return writable views into it; coefs_ in scikit-learn's
orientation is ``weights(l).T``. ``n_weights`` is the length of the weight part.

Optimizer: ``set_optimizer(solver, *, learning_rate, momentum=0.9,
nesterov=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8)`` with solver 'sgd'
(momentum 0 means plain SGD) or 'adam'; it zeroes the optimizer state.
``learning_rate`` is a read/write attribute (schedules change it between
epochs). State for checkpoints: ``get_state()`` returns a dict of arrays and
numbers (velocity or Adam moments, Adam step count, RNG state) that
``set_state()`` restores exactly.

Randomness: the engine owns a xoshiro256** generator (reference.Rng gives the
exact algorithm). ``seed(int)`` resets it to Rng(seed) and takes the dropout key
from its first output. Each shuffled epoch draws ``permutation(n)`` from it.
Dropout masks are counter-based (reference.dropout_uniforms) from the key, the
engine's global step counter (steps since the optimizer was set, part of the
state) and the hidden layer index, so they do not depend on thread count.

Training: ``train_epoch(X, y, sample_weight=None, *, batch_size, shuffle,
alpha=0.0, l1=0.0, order=None)`` runs one epoch of minibatch steps (in X's
order, in an order drawn from the engine's generator when ``shuffle``, or in
``order``, a permutation of range(n) the caller chose, which then wins) and returns the mean
training loss over the epoch as scikit-learn reports it (each batch's mean loss
plus 0.5 * alpha * sum(W**2) / sum(batch weights), weighted by batch size).
``X`` is (n, n_features) in the engine dtype with unit column stride; ``y`` is
int64 labels (n,) for 'cross_entropy' with labels, otherwise float targets
(n, n_outputs) in the engine dtype. The gradient step per batch is
scikit-learn's: dL/dW = (A_prev^T delta + alpha W) / sum(w), biases not
penalised; l1 adds l1 * sign(W) / sum(w). On Ctrl-C it raises KeyboardInterrupt
with ``params`` holding the weights after the last completed step. A
non-finite loss raises ``NonFiniteLossError`` and leaves finite weights.

Inference: ``forward(X, out=None)`` returns the output activations
(probabilities for softmax/logistic), working in bounded chunks of rows.
``loss(X, y, sample_weight=None, *, alpha=0.0)`` is the mean loss without
updating anything. ``loss_and_gradient(X, y, sample_weight=None, *, alpha=0.0,
l1=0.0)`` returns (loss, flat gradient shaped like ``params``) over the whole
of X as one batch (for L-BFGS and gradient checks).

Additions made with the estimators (the reference engine implements them; the
C engine must too):

- ``output_activation='exp'`` with ``loss='poisson'`` (half Poisson deviance,
  per row sum_k y log y - y z - y + exp(z); output delta exp(z) - y), for
  MLPRegressor(loss='poisson').
- ``loss()`` also takes ``l1=0.0``; ``loss`` and ``loss_and_gradient`` include
  the penalty (0.5 * alpha * sum(W**2) + l1 * sum(|W|)) / sum(w), so the pair
  is consistent, and they never apply dropout.
- After ``train_epoch``, ``last_penalty`` holds the penalty part of the value
  it returned (averaged the same way). The estimators need it to report
  squared error as scikit-learn does (data term divided by n_outputs).
- ``sample_weight`` (when given) is a C-contiguous (n,) array in the engine
  dtype, non-negative; the estimators fold class weights into it.
- Dense 'cross_entropy' targets are probability rows (each sums to 1); the
  output delta is A - Y.
- A minibatch whose weights sum to 0 contributes loss 0 and gradient 0 (the
  optimizer step still happens and counts).
- A step is committed only if its loss and every updated parameter are
  finite; otherwise ``NonFiniteLossError`` and the step leaves no trace.
- ``get_state()`` keys: 'solver' ('' before set_optimizer), 'learning_rate',
  'momentum', 'nesterov', 'beta_1', 'beta_2', 'epsilon', 'step',
  'rng_state' (uint64 array of 4 xoshiro words), 'dropout_key' (int), and
  the moments: 'velocity' (sgd) or 'adam_m', 'adam_v' (adam), each shaped
  like ``params``. ``set_state`` restores all of them (it implies
  set_optimizer). Scalars are computed in double and rounded to the engine
  dtype once; losses are accumulated in double.
- Dropout step index: the minibatch performing optimizer step s (0-based,
  counted since set_optimizer) uses dropout_uniforms(key, s, h, rows*width)
  for hidden layer h, row-major; the exact rules are in the comment block
  above ``ReferenceEngine`` in fastmlp/reference.py.

Which engine: :func:`make_engine` picks one. Tests, the demo and benchmarks
can force one with the private context manager ``_engine_choice(name)`` or
the environment variable ``FASTMLP_ENGINE`` ('c', the default, or
'reference'); the estimators never need to know which one they got.

Where the C engine differs, by design: after ``NonFiniteLossError`` its
weights and optimizer state are the last finite ones it verified, which is
the previous step when the loss diverged with finite weights and otherwise
the state at the start of the current 0.1 s time slice (the reference keeps
the previous step in both cases).
"""
import contextlib
import contextvars
import os

import numpy as np

from . import _core

ENGINE_NAMES = ("c", "reference")
_ENGINE_CHOICE = contextvars.ContextVar("fastmlp_engine_choice", default=None)


@contextlib.contextmanager
def _engine_choice(name):
    """Force the engine that make_engine returns inside the block (private)."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, got {name!r}")
    token = _ENGINE_CHOICE.set(name)
    try:
        yield
    finally:
        _ENGINE_CHOICE.reset(token)


def _chosen_engine():
    name = _ENGINE_CHOICE.get() or os.environ.get("FASTMLP_ENGINE") or None
    if name is not None and name not in ENGINE_NAMES:
        raise ValueError(f"FASTMLP_ENGINE must be one of {', '.join(ENGINE_NAMES)}, got {name!r}")
    return name


_SLICE_SECONDS = 0.1  # how long C works between Ctrl-C checks


class NonFiniteLossError(ValueError):
    """Training produced a non-finite loss; the model keeps finite weights."""


def make_engine(layer_sizes, *, engine=None, **kwargs):
    """Return the engine estimators train with: the C engine unless
    ``engine``, the private ``_engine_choice`` context or FASTMLP_ENGINE asks
    for the NumPy reference."""
    name = engine or _chosen_engine() or "c"
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, got {name!r}")
    if name == "reference":
        from .reference import ReferenceEngine

        return ReferenceEngine(layer_sizes, **kwargs)
    return Engine(layer_sizes, **kwargs)


def check_order(order, n):
    """``order`` as int64 after checking it is a permutation of range(n): the
    engine reads rows through it, so anything else is refused here."""
    a = np.asarray(order)
    if a.shape != (n,) or a.dtype.kind not in "iu":
        raise ValueError(f"order must be a 1-D integer array holding a permutation of "
                         f"range({n}), got {a.dtype} of shape {a.shape}")
    a = a.astype(np.int64, copy=False)
    if n and (a.min() < 0 or a.max() >= n or np.bincount(a, minlength=n).max() != 1):
        raise ValueError(f"order must hold each of 0..{n - 1} exactly once (a permutation of "
                         f"range({n}))")
    return a


class CSR:
    """Rows of a sparse matrix in CSR form that the engines read in place.

    ``data`` holds the values in the engine dtype, ``indices`` the column of
    each value and ``indptr`` where each row starts (both int64, C-contiguous);
    ``shape`` is (n_rows, n_cols). Built once per fit from a SciPy matrix by
    :meth:`from_scipy`; the engine never densifies it.
    """

    __slots__ = ("data", "indices", "indptr", "shape")

    def __init__(self, data, indices, indptr, shape):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (int(shape[0]), int(shape[1]))

    @classmethod
    def from_scipy(cls, X, dtype):
        X = X.tocsr()
        return cls(np.ascontiguousarray(X.data, dtype=dtype),
                   np.ascontiguousarray(X.indices, dtype=np.int64),
                   np.ascontiguousarray(X.indptr, dtype=np.int64), X.shape)

    @property
    def ndim(self):
        return 2

    def rows(self, idx):
        """A CSR of the given rows (a copy), for splits such as early stopping."""
        idx = np.asarray(idx, dtype=np.int64)
        starts, stops = self.indptr[idx], self.indptr[idx + 1]
        counts = stops - starts
        indptr = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        take = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1], dtype=np.int64)
        return CSR(self.data[take], self.indices[take], indptr, (idx.size, self.shape[1]))

    def toarray(self):
        out = np.zeros(self.shape, dtype=self.data.dtype)
        row_of = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        np.add.at(out, (row_of, self.indices), self.data)
        return out


_MOMENT_KEYS = {"sgd": ("velocity",), "adam": ("adam_m", "adam_v")}
_HYPER_KEYS = ("momentum", "nesterov", "beta_1", "beta_2", "epsilon")


def _n_rows(X):
    # NetCore checks every array before C sees it; this only turns "no shape" into its error.
    try:
        return int(X.shape[0])
    except (AttributeError, IndexError, TypeError):
        raise TypeError(f"X must be a 2-D NumPy array or a CSR, got {type(X).__name__}") from None


class Engine:
    """The C engine behind the interface above. It allocates every buffer
    (parameters, optimizer state, workspaces) and hands pointers to C."""

    def __init__(self, layer_sizes, *, hidden_activation, output_activation, loss, dtype,
                 slope=0.01, dropout=None, n_threads=None, layer0_layout="out_in"):
        codes = _core.ENGINE_CODES
        if layer0_layout not in ("out_in", "in_out"):
            raise ValueError(f"layer0_layout must be 'out_in' or 'in_out', got {layer0_layout!r}")
        # 'in_out' stores W_0 as (fan_in, fan_out): each non-zero of a sparse
        # input then reads and updates one contiguous weight row.
        self.layer0_layout = layer0_layout
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        n_layers = len(self.layer_sizes) - 1
        if n_layers < 1 or n_layers > _core.MAX_LAYERS or min(self.layer_sizes) < 1:
            raise ValueError(f"layer_sizes must hold 2 to {_core.MAX_LAYERS + 1} sizes, all >= 1, "
                             f"got {layer_sizes}")
        for kind, name in (("act", hidden_activation), ("out", output_activation), ("loss", loss)):
            if name not in codes[kind]:
                raise ValueError(f"unknown {kind} {name!r}; use one of {', '.join(codes[kind])}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        if not slope >= 0:
            raise ValueError(f"slope must be >= 0, got {slope}")
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.slope = float(slope)
        if n_threads is not None and (isinstance(n_threads, (bool, np.bool_))
                                      or not isinstance(n_threads, (int, np.integer))
                                      or n_threads < 0):
            raise ValueError(f"n_threads must be a positive integer or None (the process "
                             f"default), got {n_threads!r}")
        self.n_threads = n_threads
        self.n_layers = n_layers
        self._sizes = np.array(self.layer_sizes, dtype=np.int64)
        fan = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        self._w_off = [int(x) for x in np.cumsum([0] + [i * o for i, o in fan])]
        self.n_weights = self._w_off[-1]
        self._b_off = [self.n_weights + int(x) for x in np.cumsum([0] + [o for _, o in fan])]
        self.params = np.zeros(self._b_off[-1], dtype=self.dtype)
        rates = (0.0,) * (n_layers - 1) if dropout is None else tuple(float(r) for r in dropout)
        if len(rates) != n_layers - 1 or any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError(f"dropout must hold one rate in [0, 1) per hidden layer "
                             f"({n_layers - 1}), got {dropout}")
        self.dropout = rates
        self._rates = np.array(rates, dtype=np.float64) if any(r > 0 for r in rates) else None
        self._core = _core.NetCore(self._sizes, codes["act"][hidden_activation], self.slope,
                                   codes["out"][output_activation], codes["loss"][loss],
                                   self.params, self._rates, layer0_layout == "in_out")
        self._core.n_threads = n_threads or 0  # NetCore clamps counts above MAX_THREADS
        self._solver = None
        self._hyper = {}
        self._moments = {}
        self._learning_rate = 0.0
        self._train_work = (0, None)
        self._perm = None
        self.last_penalty = 0.0
        self.seed(0)

    # ---- parameters ----
    def weights(self, layer):
        """W_l as a (fan_out, fan_in) view, whatever the stored layout."""
        fin, fout = self.layer_sizes[layer], self.layer_sizes[layer + 1]
        flat = self.params[self._w_off[layer]:self._w_off[layer + 1]]
        if layer == 0 and self.layer0_layout == "in_out":
            return flat.reshape(fin, fout).T
        return flat.reshape(fout, fin)

    def biases(self, layer):
        return self.params[self._b_off[layer]:self._b_off[layer + 1]]

    # ---- optimizer and randomness ----
    def set_optimizer(self, solver, *, learning_rate, momentum=0.9, nesterov=True, beta_1=0.9,
                      beta_2=0.999, epsilon=1e-8):
        if solver not in _MOMENT_KEYS:
            raise ValueError(f"solver must be 'sgd' or 'adam', got {solver!r}")
        self._solver = solver
        self._hyper = dict(momentum=float(momentum), nesterov=bool(nesterov),
                           beta_1=float(beta_1), beta_2=float(beta_2), epsilon=float(epsilon))
        self._moments = {k: np.zeros_like(self.params) for k in _MOMENT_KEYS[solver]}
        first = self._moments[_MOMENT_KEYS[solver][0]]
        second = self._moments.get("adam_v", np.zeros(1, self.dtype))
        self._core.set_optimizer(_core.ENGINE_CODES["solver"][solver], float(learning_rate),
                                 float(momentum), bool(nesterov), float(beta_1), float(beta_2),
                                 float(epsilon), first, second)
        self.learning_rate = learning_rate
        _, key = self._core.counters
        self._core.counters = (0, key)

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)
        self._core.learning_rate = float(value)

    def seed(self, seed):
        self._core.seed(int(seed) & ((1 << 64) - 1))

    def get_state(self):
        step, key = self._core.counters
        state = {"solver": self._solver or "", "learning_rate": self.learning_rate,
                 "step": int(step), "dropout_key": int(key),
                 "rng_state": np.array(self._core.rng_state, dtype=np.uint64)}
        state.update(self._hyper)
        state.update({k: v.copy() for k, v in self._moments.items()})
        return state

    def set_state(self, state):
        solver = state["solver"] or None
        if solver is not None:
            self.set_optimizer(solver, learning_rate=state["learning_rate"],
                               **{k: state[k] for k in _HYPER_KEYS})
            for key, moment in self._moments.items():
                value = np.asarray(state[key])
                if value.shape != self.params.shape:
                    raise ValueError(f"state[{key!r}] has shape {value.shape}, expected "
                                     f"{self.params.shape}")
                moment[...] = value
        else:
            self._solver, self._hyper, self._moments = None, {}, {}
            self.learning_rate = state["learning_rate"]
        words = np.asarray(state["rng_state"], dtype=np.uint64)
        if words.shape != (4,):
            raise ValueError("state['rng_state'] must hold 4 uint64 words")
        self._core.rng_state = tuple(int(x) for x in words)
        self._core.counters = (int(state["step"]), int(state["dropout_key"]))

    def permutation(self, n):
        """The sample order the next shuffled epoch would use (advances the RNG)."""
        return self._core.permutation(int(n))

    # ---- helpers ----
    def _targets(self, y):
        if self.loss_name == "cross_entropy" and y.ndim == 1:
            # Converting floats would truncate 1.7 to class 1 without a word.
            if y.dtype.kind not in "iu":
                raise TypeError(f"y (labels) must be class indices of an integer dtype (int64), "
                                f"got dtype {y.dtype}; convert whole-number labels with "
                                f"y.astype(np.int64), or pass 2-D target rows Y")
            return np.ascontiguousarray(y, dtype=np.int64), None
        return None, np.ascontiguousarray(y, dtype=self.dtype)

    def _weights_arg(self, sample_weight):
        if sample_weight is None:
            return None
        return np.ascontiguousarray(sample_weight, dtype=self.dtype)

    def _work_for(self, batch):
        size, work = self._train_work
        need = self._core.train_work_size(batch)
        if work is None or size < need:
            work = np.empty(need, dtype=np.uint8)
            self._train_work = (need, work)
        return work

    def _raise_status(self, status, where):
        if status == 2:  # FMLP_ERR_NONFINITE
            raise NonFiniteLossError(
                f"the training loss or weights became NaN or infinite {where}; the model keeps "
                f"its last finite weights. Lower the learning rate (learning_rate_init, now "
                f"{self.learning_rate:g}), scale the inputs, or increase alpha.")
        if status == 1:  # FMLP_ERR_LABEL
            raise ValueError(f"a class label is outside [0, n_outputs) (n_outputs = "
                             f"{self.layer_sizes[-1]}) {where}; labels must be class indices "
                             f"0..{self.layer_sizes[-1] - 1}")
        if status == 5:  # FMLP_ERR_WEIGHT
            raise ValueError(f"sample weights must be >= 0 with a positive sum {where}")
        raise _core.EngineStatusError(f"engine status {status} {where}")

    # ---- training and inference ----
    def train_epoch(self, X, y, sample_weight=None, *, batch_size, shuffle, alpha=0.0, l1=0.0,
                    order=None):
        if self._solver is None:
            raise RuntimeError("train_epoch needs an optimizer: call set_optimizer() first")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = _n_rows(X)
        labels, Y = self._targets(y)
        w = self._weights_arg(sample_weight)
        batch = min(batch_size, n)
        work = self._work_for(batch)
        if self._perm is None or self._perm.shape[0] != n:
            self._perm = np.empty(n, dtype=np.int64)
        mode = 1 if shuffle else 0
        if order is not None:
            self._perm[...] = check_order(order, n)
            mode = 2
        status, loss_sum, penalty_sum, at = self._core.train_epoch(
            X, labels, Y, w, batch, mode, float(alpha), float(l1), self._perm, work,
            _SLICE_SECONDS)
        if status != 0:
            self._raise_status(status, f"in the batch starting at position {at} of the epoch's "
                                       f"sample order" if at >= 0 else "during the epoch")
        self.last_penalty = penalty_sum / n
        return loss_sum / n

    def forward(self, X, out=None):
        n = _n_rows(X)
        if out is None:
            out = np.empty((n, self.layer_sizes[-1]), dtype=self.dtype)
        if n == 0:
            return out
        work = np.empty(self._core.forward_work_size(min(n, 1024)), dtype=np.uint8)
        return self._core.forward(X, out, work)

    def _loss_grad(self, X, y, sample_weight, alpha, l1, grad):
        labels, Y = self._targets(y)
        w = self._weights_arg(sample_weight)
        chunk = max(1, min(_n_rows(X), 1024))
        work = self._work_for(chunk)
        status, loss = self._core.loss_grad(X, labels, Y, w, float(alpha), float(l1), grad, work,
                                            chunk)
        if status == 2:
            return float("nan")
        if status != 0:
            self._raise_status(status, "computing the loss")
        return loss

    def loss(self, X, y, sample_weight=None, *, alpha=0.0, l1=0.0):
        return self._loss_grad(X, y, sample_weight, alpha, l1, None)

    def loss_and_gradient(self, X, y, sample_weight=None, *, alpha=0.0, l1=0.0):
        grad = np.empty_like(self.params)
        loss = self._loss_grad(X, y, sample_weight, alpha, l1, grad)
        return loss, grad
