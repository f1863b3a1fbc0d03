"""The NumPy oracle: a plain implementation of every kernel.

This is the ground truth for tests and benchmarks, so it is written to be
obviously right, not fast. It computes in the dtype it is given; tests that
want the exact answer pass float64 copies.
"""
import numpy as np


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c."""
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    out = alpha * (opa @ opb)
    if c is not None and beta != 0.0:
        out = out + beta * c
    return out.astype(a.dtype, copy=False)


# ---- randomness shared by the engines ------------------------------------------
# Both engines must draw the same numbers, so the algorithms are fixed here
# exactly; the C engine implements the same ones (csrc/rng.h).

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & _MASK64


def mix64(z):
    """splitmix64's output function on a uint64 (Python int or uint64 array)."""
    if isinstance(z, np.ndarray):
        z = z.astype(np.uint64, copy=True)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        return z
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Rng:
    """xoshiro256** seeded through splitmix64, with Lemire's bounded draw.

    - seed(s): x = s; four times: x += GOLDEN; state[i] = mix64(x).
    - next(): the xoshiro256** step.
    - bounded(n): uniform in [0, n): m = next() * n (128-bit); redraw while
      low64(m) < (2**64 - n) % n; return m >> 64.
    - permutation(n): Fisher-Yates from the identity, i = n-1 down to 1,
      j = bounded(i + 1), swap p[i], p[j].
    """

    def __init__(self, seed=0):
        self.seed(seed)

    def seed(self, seed):
        x = int(seed) & _MASK64
        state = []
        for _ in range(4):
            x = (x + _GOLDEN) & _MASK64
            state.append(mix64(x))
        self.state = state

    def next(self):
        s0, s1, s2, s3 = self.state
        result = (_rotl((s1 * 5) & _MASK64, 7) * 9) & _MASK64
        t = (s1 << 17) & _MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.state = [s0, s1, s2, s3]
        return result

    def bounded(self, n):
        m = self.next() * n
        low = m & _MASK64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & _MASK64
        return m >> 64

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.bounded(i + 1)
            p[i], p[j] = p[j], p[i]
        return np.array(p, dtype=np.int64)


def dropout_uniforms(key, step, layer, n):
    """The n uniforms in [0, 1) that decide dropout for one layer of one step.

    Counter-based, so any thread can draw any element: element e of layer l at
    global step s uses mix64(key + s * 2**40 + l * 2**32 + e + GOLDEN), top 53
    bits. A unit is kept when its uniform is >= the dropout rate.
    """
    base = (int(key) + (int(step) << 40) + (int(layer) << 32) + _GOLDEN) & _MASK64
    counters = np.uint64(base) + np.arange(n, dtype=np.uint64)
    return (mix64(counters) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
# ---- elementwise kernels: activations, softmax, losses, colsum, optimizers ----
# Same names and semantics as fastmlp.kernels, written as the formulas read.

def _act_name(activation):
    return "logistic" if activation == "sigmoid" else activation


def _into(out, value):
    if out is None:
        return value
    out[...] = value
    return out


def activation_forward(z, bias=None, *, activation="relu", slope=0.01, out=None):
    """act(z + bias), bias broadcast over rows."""
    v = z if bias is None else z + bias
    name = _act_name(activation)
    if name == "identity":
        y = v.copy()
    elif name == "logistic":
        y = sigmoid(v)
    elif name == "tanh":
        y = np.tanh(v)
    elif name == "relu":
        y = np.where(v > 0, v, 0)
    elif name == "leaky_relu":
        y = np.where(v > 0, v, slope * v)
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return _into(out, y.astype(z.dtype, copy=False))


def activation_backward(dy, y, *, activation, slope=0.01, out=None):
    """dy * act'(z), the derivative written in terms of the output y = act(z)."""
    name = _act_name(activation)
    if name == "identity":
        d = np.ones_like(y)
    elif name == "logistic":
        d = y * (1 - y)
    elif name == "tanh":
        d = 1 - y * y
    elif name == "relu":
        d = (y > 0).astype(y.dtype)
    elif name == "leaky_relu":
        d = np.where(y > 0, 1, slope).astype(y.dtype)
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return _into(out, (dy * d).astype(y.dtype, copy=False))


def softmax(z, *, out=None):
    """Row-wise softmax with the row max subtracted."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return _into(out, e / e.sum(axis=1, keepdims=True))


def softmax_backward(dy, y, *, out=None):
    """The softmax Jacobian-vector product: y * (dy - rowsum(dy * y))."""
    return _into(out, y * (dy - (dy * y).sum(axis=1, keepdims=True)))


def _weights(sample_weight, m, dtype):
    if sample_weight is None:
        return np.ones(m, dtype=dtype)
    return np.asarray(sample_weight, dtype=dtype)


def softmax_cross_entropy(logits, labels, sample_weight=None, *, grad=None):
    """(loss, grad) of softmax + cross-entropy; labels are class indices (1-D)
    or target rows (2-D). loss = sum_i w_i sum_j Y_ij (lse_i - z_ij) / sum w,
    grad = (rowsum(Y) softmax(z) - Y) w_i / sum w."""
    z = logits
    m, n = z.shape
    if np.ndim(labels) == 1:
        Y = np.zeros_like(z)
        Y[np.arange(m), labels] = 1
    else:
        Y = labels
    w = _weights(sample_weight, m, z.dtype)
    zmax = z.max(axis=1, keepdims=True)
    logs = np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
    # lse - z = (max - z) + log(sum exp(z - max)): both parts >= 0
    per_row = (Y * ((zmax - z) + logs)).sum(axis=1)
    loss = float((w * per_row).sum() / w.sum())
    if grad is False:
        return loss, None
    g = (Y.sum(axis=1, keepdims=True) * softmax(z) - Y) * (w / w.sum())[:, None]
    return loss, _into(grad, g.astype(z.dtype, copy=False))


def sigmoid_binary_cross_entropy(logits, targets, sample_weight=None, *, grad=None):
    """(loss, grad) of sigmoid + binary cross-entropy per element:
    max(z,0) - z t + log1p(exp(-|z|)), written z (1-t) for z > 0 and -z t
    otherwise (the same value without cancellation); grad = (sigmoid(z) - t) w_i / sum w."""
    z, t = logits, targets
    w = _weights(sample_weight, z.shape[0], z.dtype)
    per_elem = np.where(z > 0, z * (1 - t), -z * t) + np.log1p(np.exp(-np.abs(z)))
    loss = float((w * per_elem.sum(axis=1)).sum() / w.sum())
    if grad is False:
        return loss, None
    g = (sigmoid(z) - t) * (w / w.sum())[:, None]
    return loss, _into(grad, g.astype(z.dtype, copy=False))


def squared_error(pred, targets, sample_weight=None, *, grad=None):
    """(loss, grad): loss = 0.5 sum_i w_i sum_j (p - t)^2 / sum w,
    grad = (p - t) w_i / sum w."""
    d = pred - targets
    w = _weights(sample_weight, pred.shape[0], pred.dtype)
    loss = float(0.5 * (w * (d * d).sum(axis=1)).sum() / w.sum())
    if grad is False:
        return loss, None
    return loss, _into(grad, (d * (w / w.sum())[:, None]).astype(pred.dtype, copy=False))


def column_sum(a, *, out=None):
    """Sum over rows: the bias gradient."""
    return _into(out, a.sum(axis=0))


def _regularised(w, g, l2, l1):
    return g + l2 * w + l1 * np.sign(w)


def sgd_update(w, g, *, lr, l2=0.0, l1=0.0):
    """w -= lr * (g + l2 w + l1 sign(w)), in place; returns w."""
    w -= lr * _regularised(w, g, l2, l1)
    return w


def momentum_update(w, v, g, *, lr, momentum=0.9, nesterov=False, l2=0.0, l1=0.0):
    """scikit-learn's SGD with momentum, in place; returns w:
    v = momentum v - lr g;  w += v, or (Nesterov) w += momentum v - lr g."""
    gr = _regularised(w, g, l2, l1)
    v[...] = momentum * v - lr * gr
    w += (momentum * v - lr * gr) if nesterov else v
    return w


def adam_update(w, m, v, g, *, lr, t, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0, l1=0.0):
    """scikit-learn's Adam step t (>= 1), in place; returns w:
    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""
    gr = _regularised(w, g, l2, l1)
    m[...] = beta1 * m + (1 - beta1) * gr
    v[...] = beta2 * v + (1 - beta2) * gr * gr
    step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    w -= step * m / (np.sqrt(v) + eps)
    return w


# ---- sparse (CSR) x dense products ---------------------------------------------

def csr_to_dense(indptr, indices, data, n_cols):
    out = np.zeros((len(indptr) - 1, n_cols), dtype=np.float64)
    for r in range(len(indptr) - 1):
        for k in range(indptr[r], indptr[r + 1]):
            out[r, indices[k]] += data[k]
    return out


def sparse_matmul(indptr, indices, data, b, out=None, *, n_cols=None, rows=None, trans_b=False,
                  beta=0.0, n_threads=1):
    opb = b.T if trans_b else b
    X = csr_to_dense(indptr, indices, data, opb.shape[0])
    if rows is not None:
        X = X[rows]
    result = X @ opb
    if out is not None and beta != 0.0:
        result = result + beta * out
    return result


def sparse_t_matmul(indptr, indices, data, g, out, *, rows=None, out_transposed=False, scale=1.0,
                    n_threads=1):
    n_cols = out.shape[1] if out_transposed else out.shape[0]
    X = csr_to_dense(indptr, indices, data, n_cols)
    if rows is not None:
        X = X[rows]
    add = scale * (X.T @ g)
    return out + (add.T if out_transposed else add)


# ==== ReferenceEngine: the NumPy oracle for the whole training engine ==========
# Owned by the API work (estimators.py builds on it). Kernel oracles above this
# line belong to their kernels. The C engine (fastmlp/_network.pyx) must match
# this class step by step: float64 trajectories agree to ~1e-9.
#
# Definitions the C engine copies exactly (also stated in fastmlp/_engine.py):
# - Minibatches are consecutive slices of the epoch order, the last one smaller
#   (scikit-learn's gen_batches). The epoch order is Rng.permutation(n) drawn
#   once per epoch when shuffling, else 0..n-1.
# - The step counter ``step`` counts optimizer steps since set_optimizer; the
#   minibatch that performs step s (0-based) draws its dropout uniforms with
#   dropout_uniforms(key, s, h, rows * width) for hidden layer h (0-based),
#   row-major over the (rows, width) activations of that minibatch. A unit is
#   kept when u >= rate and then scaled by 1 / (1 - rate) (computed in double,
#   rounded once to the engine dtype); the activation derivative uses the
#   outputs before dropout. A rate of 0 draws nothing.
# - Per-batch loss: weighted mean over rows of the per-row loss, plus
#   (0.5 * alpha) * sum(W**2) / sum(w) + l1 * sum(|W|) / sum(w) (the penalty).
#   A batch whose weights sum to 0 has loss 0 and gradient 0 (the step counts).
# - Gradients: dW = (delta^T A_prev + alpha W + l1 sign(W)) / sum(w),
#   db = sum_rows(delta) / sum(w), delta at the output already multiplied by w.
# - The epoch loss is sum_b loss_b * rows_b / n, accumulated in float64;
#   ``last_penalty`` is the same average of the penalty part alone.
# - A step is committed only when the batch loss and every updated parameter
#   are finite; otherwise NonFiniteLossError and nothing of that step is kept.

import math  # noqa: E402  (kept in this section so the file's head stays untouched)

HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
# output activation -> the losses it can be trained with
OUTPUT_LOSSES = {
    "softmax": ("cross_entropy", "squared_error"),
    "logistic": ("binary_cross_entropy", "squared_error"),
    "identity": ("squared_error",),
    "exp": ("poisson",),
}
FORWARD_CHUNK_ROWS = 4096


def sigmoid(z):
    """Logistic function in the exp(-|z|) form (never overflows)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def hidden_forward(name, z, slope=0.01):
    if name == "identity":
        return z.copy()
    if name == "logistic":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, z * z.dtype.type(slope))
    raise ValueError(f"unknown hidden activation {name!r}")


def hidden_derivative(name, a, slope=0.01):
    """f'(z) written in terms of the output a = f(z), as the backward pass uses it."""
    if name == "identity":
        return np.ones_like(a)
    if name == "logistic":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "leaky_relu":
        # slope >= 0, so the sign of the output is the sign of z.
        return np.where(a > 0, a.dtype.type(1), a.dtype.type(slope))
    raise ValueError(f"unknown hidden activation {name!r}")


def output_forward(name, z):
    if name == "softmax":
        return softmax(z)
    if name == "logistic":
        return sigmoid(z)
    if name == "identity":
        return z.copy()
    if name == "exp":
        return np.exp(z)
    raise ValueError(f"unknown output activation {name!r}")


def row_losses(loss, z, a, y):
    """Per-row loss from the logits z (and outputs a = out(z)) against targets y.

    cross_entropy: log-sum-exp(z) - z[label] for int labels, or
    sum_k y_k (lse - z_k) for dense probability rows. binary_cross_entropy:
    sum_k max(z,0) - z y + log1p(exp(-|z|)). squared_error: 0.5 * sum_k (a - y)^2.
    poisson (half deviance, a = exp(z)): sum_k y log y - y z - y + a.
    """
    if loss == "cross_entropy":
        zs = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(zs).sum(axis=1))
        if y.ndim == 1:
            return lse - zs[np.arange(z.shape[0]), y]
        return (y * (lse[:, None] - zs)).sum(axis=1)
    if loss == "binary_cross_entropy":
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)
    if loss == "squared_error":
        d = a - y
        return 0.5 * (d * d).sum(axis=1)
    if loss == "poisson":
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0)
        return (ylogy - y * z - y + a).sum(axis=1)
    raise ValueError(f"unknown loss {loss!r}")


def output_delta(loss, output, a, y):
    """dLoss/dz per row (before sample weights) for each output/loss pair."""
    if loss == "cross_entropy" and y.ndim == 1:
        g = a.copy()
        g[np.arange(a.shape[0]), y] -= 1
        return g
    g = a - y
    if loss != "squared_error" or output == "identity":
        # canonical pairs: softmax+CE, sigmoid+BCE, exp+poisson, identity+MSE
        return g
    if output == "logistic":
        return g * (a * (1 - a))
    if output == "softmax":
        return a * (g - (g * a).sum(axis=1, keepdims=True))
    raise ValueError(f"squared_error through output {output!r} is not defined")


def _dense(X):
    """Sparse inputs (fastmlp._engine.CSR) reach the oracle as dense arrays."""
    return X.toarray() if hasattr(X, "indptr") else X


class ReferenceEngine:
    """The engine interface of fastmlp/_engine.py in plain NumPy.

    Obviously right rather than fast: every minibatch recomputes everything
    from the formulas in the comment block above. See _engine.py for the
    contract; this class is its executable definition.
    """

    def __init__(self, layer_sizes, *, hidden_activation, output_activation, loss, dtype,
                 slope=0.01, dropout=None, n_threads=None, layer0_layout="out_in"):
        # layer0_layout is a storage choice of the C engine; the oracle keeps
        # every layer (fan_out, fan_in) and reads sparse inputs densified.
        sizes = tuple(int(s) for s in layer_sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes must hold >= 2 sizes, all >= 1, got {layer_sizes}")
        if hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"hidden_activation must be one of {HIDDEN_ACTIVATIONS}, "
                             f"got {hidden_activation!r}")
        if output_activation not in OUTPUT_LOSSES:
            raise ValueError(f"output_activation must be one of {tuple(OUTPUT_LOSSES)}, "
                             f"got {output_activation!r}")
        if loss not in OUTPUT_LOSSES[output_activation]:
            raise ValueError(f"loss {loss!r} cannot be used with output activation "
                             f"{output_activation!r}; use one of "
                             f"{OUTPUT_LOSSES[output_activation]}")
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        n_hidden = len(sizes) - 2
        rates = (0.0,) * n_hidden if dropout is None else tuple(float(r) for r in dropout)
        if len(rates) != n_hidden or any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError(f"dropout must hold one rate in [0, 1) per hidden layer "
                             f"({n_hidden}), got {dropout}")
        if not slope >= 0:
            raise ValueError(f"slope must be >= 0, got {slope}")
        self.layer_sizes = sizes
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.dtype = dtype
        self.slope = float(slope)
        self.dropout = rates
        self.n_threads = n_threads
        self.n_layers = len(sizes) - 1
        self._w_slices, self._b_slices = [], []
        offset = 0
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self._w_slices.append((offset, offset + fan_out * fan_in, (fan_out, fan_in)))
            offset += fan_out * fan_in
        self.n_weights = offset
        for fan_out in sizes[1:]:
            self._b_slices.append((offset, offset + fan_out))
            offset += fan_out
        self.params = np.zeros(offset, dtype=dtype)
        self.learning_rate = 0.0
        self._solver = None
        self._hyper = {}
        self._moments = {}
        self._step = 0
        self.last_penalty = 0.0
        self.seed(0)

    # ---- parameters ------------------------------------------------------------
    def weights(self, layer):
        start, stop, shape = self._w_slices[layer]
        return self.params[start:stop].reshape(shape)

    def biases(self, layer):
        start, stop = self._b_slices[layer]
        return self.params[start:stop]

    def _layer_views(self, flat):
        ws = [flat[a:b].reshape(s) for a, b, s in self._w_slices]
        bs = [flat[a:b] for a, b in self._b_slices]
        return ws, bs

    # ---- randomness and optimizer state -----------------------------------------
    def seed(self, seed):
        self._rng = Rng(seed)
        self._dropout_key = self._rng.next()

    def set_optimizer(self, solver, *, learning_rate, momentum=0.9, nesterov=True,
                      beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        if solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam', got {solver!r}")
        self._solver = solver
        self.learning_rate = float(learning_rate)
        self._hyper = dict(momentum=float(momentum), nesterov=bool(nesterov),
                           beta_1=float(beta_1), beta_2=float(beta_2), epsilon=float(epsilon))
        zeros = np.zeros_like(self.params)
        self._moments = {"velocity": zeros} if solver == "sgd" else {"adam_m": zeros,
                                                                    "adam_v": zeros.copy()}
        self._step = 0

    def permutation(self, n):
        """The sample order the next shuffled epoch would use (advances the RNG)."""
        return self._rng.permutation(int(n))

    def get_state(self):
        state = {"solver": self._solver or "", "learning_rate": float(self.learning_rate),
                 "step": int(self._step), "rng_state": np.array(self._rng.state, dtype=np.uint64),
                 "dropout_key": int(self._dropout_key)}
        state.update(self._hyper)
        state.update({k: v.copy() for k, v in self._moments.items()})
        return state

    def set_state(self, state):
        solver = state["solver"] or None
        if solver is not None:
            self.set_optimizer(solver, learning_rate=state["learning_rate"],
                               **{k: state[k] for k in ("momentum", "nesterov", "beta_1",
                                                        "beta_2", "epsilon")})
            for key in self._moments:
                value = np.asarray(state[key])
                if value.shape != self.params.shape:
                    raise ValueError(f"state[{key!r}] has shape {value.shape}, expected "
                                     f"{self.params.shape}")
                self._moments[key] = value.astype(self.dtype, copy=True)
        else:
            self._solver, self._hyper, self._moments = None, {}, {}
            self.learning_rate = float(state["learning_rate"])
        self._step = int(state["step"])
        rng_state = [int(s) for s in np.asarray(state["rng_state"], dtype=np.uint64)]
        if len(rng_state) != 4:
            raise ValueError("state['rng_state'] must hold 4 uint64 words")
        self._rng = Rng(0)
        self._rng.state = rng_state
        self._dropout_key = int(state["dropout_key"])

    # ---- forward / backward on one batch ---------------------------------------
    def _forward(self, X, step=None):
        """Logits plus what backward needs; dropout applies when step is given."""
        ws, bs = self._layer_views(self.params)
        inputs, hidden, masks = [X], [], []
        a = X
        for layer in range(self.n_layers):
            z = a @ ws[layer].T + bs[layer]
            if layer == self.n_layers - 1:
                return z, inputs, hidden, masks
            h = hidden_forward(self.hidden_activation, z, self.slope)
            rate = self.dropout[layer]
            mask = None
            if step is not None and rate > 0.0:
                u = dropout_uniforms(self._dropout_key, step, layer, h.size).reshape(h.shape)
                scale = self.dtype.type(1.0 / (1.0 - rate))
                mask = np.where(u >= rate, scale, self.dtype.type(0)).astype(self.dtype)
                a = h * mask
            else:
                a = h
            hidden.append(h)
            masks.append(mask)
            inputs.append(a)

    def _penalty(self, alpha, l1, sw_sum):
        ws, _ = self._layer_views(self.params)
        pen = 0.0
        if alpha:
            values = sum(float(np.dot(w.ravel(), w.ravel())) for w in ws)
            pen += (0.5 * alpha) * values / sw_sum
        if l1:
            pen += l1 * sum(float(np.abs(w).sum()) for w in ws) / sw_sum
        return pen

    def _batch(self, X, y, w, alpha, l1, step=None, want_grad=True):
        """(data loss, penalty, flat gradient or None) for one batch."""
        z, inputs, hidden, masks = self._forward(X, step)
        a = output_forward(self.output_activation, z)
        losses = row_losses(self.loss_name, z, a, y)
        sw_sum = float(X.shape[0]) if w is None else float(w.sum(dtype=np.float64))
        grad = np.zeros_like(self.params) if want_grad else None
        if sw_sum == 0.0:
            return 0.0, 0.0, grad
        data = float(losses.sum(dtype=np.float64) if w is None
                     else (w * losses).sum(dtype=np.float64)) / sw_sum
        pen = self._penalty(alpha, l1, sw_sum)
        if not want_grad:
            return data, pen, None
        ws, _ = self._layer_views(self.params)
        gws, gbs = self._layer_views(grad)
        delta = output_delta(self.loss_name, self.output_activation, a, y)
        if w is not None:
            delta = delta * w[:, None]
        for layer in range(self.n_layers - 1, -1, -1):
            gw = delta.T @ inputs[layer]
            if alpha:
                gw += alpha * ws[layer]
            if l1:
                gw += l1 * np.sign(ws[layer])
            gws[layer][...] = gw / sw_sum
            gbs[layer][...] = delta.sum(axis=0) / sw_sum
            if layer > 0:
                delta = delta @ ws[layer]
                if masks[layer - 1] is not None:
                    delta *= masks[layer - 1]
                delta *= hidden_derivative(self.hidden_activation, hidden[layer - 1], self.slope)
        return data, pen, grad

    # ---- optimizer ---------------------------------------------------------------
    def _step_update(self, grad):
        """New (params, moments) after one step, or NonFiniteLossError."""
        from ._engine import NonFiniteLossError

        h, lr = self._hyper, self.learning_rate
        if self._solver == "sgd":
            mu = h["momentum"]
            velocity = mu * self._moments["velocity"] - lr * grad
            update = mu * velocity - lr * grad if h["nesterov"] else velocity
            moments = {"velocity": velocity}
        else:
            t = self._step + 1
            b1, b2 = h["beta_1"], h["beta_2"]
            m = b1 * self._moments["adam_m"] + (1 - b1) * grad
            v = b2 * self._moments["adam_v"] + (1 - b2) * (grad * grad)
            # math.sqrt keeps lr_t a Python float, so float32 arrays stay float32.
            lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            update = -lr_t * m / (np.sqrt(v) + h["epsilon"])
            moments = {"adam_m": m, "adam_v": v}
        params = self.params + update
        if not np.isfinite(params).all():
            raise NonFiniteLossError(
                f"optimizer step {self._step} would make the weights non-finite; the model "
                f"keeps the weights of the last finite step. Lower the learning rate "
                f"(learning_rate_init), scale the inputs, or increase alpha.")
        return params, moments

    # ---- public interface -----------------------------------------------------------
    def train_epoch(self, X, y, sample_weight=None, *, batch_size, shuffle, alpha=0.0, l1=0.0,
                    order=None):
        X = _dense(X)
        from ._engine import NonFiniteLossError, check_order

        if self._solver is None:
            raise RuntimeError("train_epoch needs an optimizer: call set_optimizer() first")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = X.shape[0]
        if order is not None:
            order = check_order(order, n)
        elif shuffle:
            order = self._rng.permutation(n)
        total = penalty_total = 0.0
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            rows = order[start:stop] if order is not None else slice(start, stop)
            w = None if sample_weight is None else sample_weight[rows]
            # Overflow is reported once, as NonFiniteLossError, not as NumPy warnings.
            with np.errstate(over="ignore", invalid="ignore"):
                data, pen, grad = self._batch(X[rows], y[rows], w, alpha, l1, step=self._step)
                batch_loss = data + pen
                if not np.isfinite(batch_loss):
                    raise NonFiniteLossError(
                        f"the training loss became {batch_loss} at optimizer step {self._step}; "
                        f"the model keeps the weights of the last finite step. Lower the "
                        f"learning rate (learning_rate_init), scale the inputs, or increase "
                        f"alpha.")
                params, moments = self._step_update(grad)
            # Commit the whole step together so an interrupt leaves a consistent state.
            self.params[...] = params
            self._moments = moments
            self._step += 1
            total += batch_loss * (stop - start)
            penalty_total += pen * (stop - start)
        self.last_penalty = penalty_total / n
        return total / n

    def forward(self, X, out=None):
        X = _dense(X)
        n_out = self.layer_sizes[-1]
        if out is None:
            out = np.empty((X.shape[0], n_out), dtype=self.dtype)
        for start in range(0, X.shape[0], FORWARD_CHUNK_ROWS):
            stop = min(start + FORWARD_CHUNK_ROWS, X.shape[0])
            z = self._forward(X[start:stop])[0]
            out[start:stop] = output_forward(self.output_activation, z)
        return out

    def loss(self, X, y, sample_weight=None, *, alpha=0.0, l1=0.0):
        X = _dense(X)
        total = 0.0
        for start in range(0, X.shape[0], FORWARD_CHUNK_ROWS):
            stop = min(start + FORWARD_CHUNK_ROWS, X.shape[0])
            z = self._forward(X[start:stop])[0]
            a = output_forward(self.output_activation, z)
            losses = row_losses(self.loss_name, z, a, y[start:stop])
            if sample_weight is not None:
                losses = losses * sample_weight[start:stop]
            total += float(losses.sum(dtype=np.float64))
        sw_sum = float(X.shape[0]) if sample_weight is None else float(
            sample_weight.sum(dtype=np.float64))
        if sw_sum == 0.0:
            return 0.0
        return total / sw_sum + self._penalty(alpha, l1, sw_sum)

    def loss_and_gradient(self, X, y, sample_weight=None, *, alpha=0.0, l1=0.0):
        X = _dense(X)
        data, pen, grad = self._batch(X, y, sample_weight, alpha, l1)
        return data + pen, grad
