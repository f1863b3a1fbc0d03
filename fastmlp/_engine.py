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
alpha=0.0, l1=0.0)`` runs one epoch of minibatch steps and returns the mean
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
"""


import numpy as np

from . import _core

_SLICE_SECONDS = 0.1  # how long C works between Ctrl-C checks


class NonFiniteLossError(ValueError):
    """Training produced a non-finite loss; the model keeps finite weights."""


def make_engine(layer_sizes, **kwargs):
    """Return the engine estimators train with: the C engine, unless
    ``engine='reference'`` asks for the NumPy oracle."""
    kind = kwargs.pop("engine", "c")
    if kind == "reference":
        from .reference import ReferenceEngine

        return ReferenceEngine(layer_sizes, **kwargs)
    return Engine(layer_sizes, **kwargs)


class Engine:
    """The C engine behind the interface above. It allocates every buffer
    (parameters, optimizer state, workspaces) and hands pointers to C."""

    def __init__(self, layer_sizes, *, hidden_activation, output_activation, loss, dtype,
                 slope=0.01, dropout=None, n_threads=None):
        codes = _core.ENGINE_CODES
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        n_layers = len(self.layer_sizes) - 1
        if n_layers < 1 or n_layers > _core.MAX_LAYERS or min(self.layer_sizes) < 1:
            raise ValueError(f"layer_sizes {self.layer_sizes}: need 2 to {_core.MAX_LAYERS + 1} "
                             f"positive widths")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.slope = float(slope)
        self.n_threads = n_threads
        self._sizes = np.array(self.layer_sizes, dtype=np.int64)
        fan = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        self._w_off = np.cumsum([0] + [i * o for i, o in fan])
        self.n_weights = int(self._w_off[-1])
        self._b_off = self.n_weights + np.cumsum([0] + [o for _, o in fan])
        self.params = np.zeros(int(self._b_off[-1]), dtype=self.dtype)
        rates = None
        if dropout is not None:
            rates = np.asarray(dropout, dtype=np.float64).reshape(-1)
            if rates.shape[0] != n_layers - 1:
                raise ValueError(f"dropout needs one rate per hidden layer ({n_layers - 1}), "
                                 f"got {rates.shape[0]}")
            if np.any(rates < 0) or np.any(rates >= 1):
                raise ValueError(f"dropout rates must be in [0, 1), got {rates.tolist()}")
            if not np.any(rates > 0):
                rates = None
        self._dropout = rates
        self._core = _core.NetCore(self._sizes, codes["act"][hidden_activation], self.slope,
                                   codes["out"][output_activation], codes["loss"][loss],
                                   self.params, rates)
        self.solver = None
        self._opt = {}
        self._m = self._v = None
        self._train_work = (0, None)
        self._perm = None

    # ---- parameters ----
    @property
    def n_layers(self):
        return len(self.layer_sizes) - 1

    def weights(self, l):
        fin, fout = self.layer_sizes[l], self.layer_sizes[l + 1]
        return self.params[self._w_off[l]:self._w_off[l + 1]].reshape(fout, fin)

    def biases(self, l):
        return self.params[self._b_off[l]:self._b_off[l + 1]]

    # ---- optimizer and randomness ----
    def set_optimizer(self, solver, *, learning_rate, momentum=0.9, nesterov=True, beta_1=0.9,
                      beta_2=0.999, epsilon=1e-8):
        if solver not in _core.ENGINE_CODES["solver"]:
            raise ValueError(f"solver must be 'sgd' or 'adam', got {solver!r}")
        self.solver = solver
        self._opt = dict(learning_rate=float(learning_rate), momentum=float(momentum),
                         nesterov=bool(nesterov), beta_1=float(beta_1), beta_2=float(beta_2),
                         epsilon=float(epsilon))
        self._m = np.zeros_like(self.params)
        self._v = np.zeros_like(self.params) if solver == "adam" else np.zeros(1, self.dtype)
        self._core.set_optimizer(_core.ENGINE_CODES["solver"][solver], float(learning_rate),
                                 float(momentum), bool(nesterov), float(beta_1), float(beta_2),
                                 float(epsilon), self._m, self._v)
        adam_t, step, key = self._core.counters
        self._core.counters = (0, 0, key)

    @property
    def learning_rate(self):
        return self._core.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._core.learning_rate = float(value)
        self._opt["learning_rate"] = float(value)

    def seed(self, seed):
        self._core.seed(int(seed) & ((1 << 64) - 1))

    def get_state(self):
        adam_t, step, key = self._core.counters
        state = {
            "rng_state": np.array(self._core.rng_state, dtype=np.uint64),
            "dropout_key": int(key),
            "step": int(step),
            "adam_t": int(adam_t),
            "solver": self.solver,
        }
        if self.solver is not None:
            state.update(self._opt)
            state["learning_rate"] = self.learning_rate
            state["m"] = self._m.copy()
            state["v"] = self._v.copy() if self.solver == "adam" else None
        return state

    def set_state(self, state):
        if state.get("solver") is not None:
            opt = {k: state[k] for k in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon")}
            self.set_optimizer(state["solver"], learning_rate=state["learning_rate"], **opt)
            self._m[...] = state["m"]
            if state["solver"] == "adam":
                self._v[...] = state["v"]
        self._core.rng_state = tuple(int(x) for x in np.asarray(state["rng_state"], np.uint64))
        self._core.counters = (int(state["adam_t"]), int(state["step"]), int(state["dropout_key"]))

    def permutation(self, n):
        """The sample order the next shuffled epoch would use (advances the RNG)."""
        return self._core.permutation(int(n))

    # ---- helpers ----
    def _targets(self, y):
        if self.loss_name == "cross_entropy" and y.ndim == 1:
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
                f"training diverged: the loss became NaN or infinite {where}; the model keeps its "
                f"last finite weights. Lower the learning rate (now {self.learning_rate:g}), "
                f"scale the inputs, or add L2 regularisation (alpha).")
        raise _core.EngineStatusError(f"engine status {status} {where}")

    # ---- training and inference ----
    def train_epoch(self, X, y, sample_weight=None, *, batch_size, shuffle, alpha=0.0, l1=0.0):
        if self.solver is None:
            raise RuntimeError("set_optimizer() before train_epoch()")
        n = X.shape[0]
        labels, Y = self._targets(y)
        w = self._weights_arg(sample_weight)
        batch = max(1, min(int(batch_size), n))
        work = self._work_for(batch)
        if self._perm is None or self._perm.shape[0] != n:
            self._perm = np.empty(n, dtype=np.int64)
        status, loss_sum, done, at = self._core.train_epoch(
            X, labels, Y, w, batch, bool(shuffle), float(alpha), float(l1), self._perm, work,
            _SLICE_SECONDS)
        if status != 0:
            self._raise_status(status, f"in the batch starting at sample {at} of the epoch")
        return loss_sum / n

    def forward(self, X, out=None):
        n = X.shape[0]
        if out is None:
            out = np.empty((n, self.layer_sizes[-1]), dtype=self.dtype)
        if n == 0:
            return out
        work = np.empty(self._core.forward_work_size(min(n, 256)), dtype=np.uint8)
        return self._core.forward(X, out, work)

    def _loss_grad(self, X, y, sample_weight, alpha, l1, grad):
        labels, Y = self._targets(y)
        w = self._weights_arg(sample_weight)
        chunk = max(1, min(X.shape[0], 1024))
        work = self._work_for(chunk)
        status, loss = self._core.loss_grad(X, labels, Y, w, float(alpha), float(l1), grad, work,
                                            chunk)
        if status == 2:
            return float("nan")
        if status != 0:
            self._raise_status(status, "computing the loss")
        return loss

    def loss(self, X, y, sample_weight=None, *, alpha=0.0):
        return self._loss_grad(X, y, sample_weight, alpha, 0.0, None)

    def loss_and_gradient(self, X, y, sample_weight=None, *, alpha=0.0, l1=0.0):
        grad = np.empty_like(self.params)
        loss = self._loss_grad(X, y, sample_weight, alpha, l1, grad)
        return loss, grad
