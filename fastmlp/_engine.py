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
the environment variable ``FASTMLP_ENGINE`` ('reference', or 'c' once the C
engine exists); the estimators never need to know which one they got.
"""
import contextlib
import contextvars
import os

ENGINE_NAMES = ("reference",)
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


class NonFiniteLossError(ValueError):
    """Training produced a non-finite loss; the model keeps finite weights."""


def make_engine(layer_sizes, **kwargs):
    """Return the engine estimators train with (the C engine when built)."""
    _chosen_engine()  # validates a forced choice; only the reference exists today
    from .reference import ReferenceEngine

    return ReferenceEngine(layer_sizes, **kwargs)
