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


class NonFiniteLossError(ValueError):
    """Training produced a non-finite loss; the model keeps finite weights."""


def make_engine(layer_sizes, **kwargs):
    """Return the engine estimators train with (the C engine when built)."""
    from .reference import ReferenceEngine

    return ReferenceEngine(layer_sizes, **kwargs)
