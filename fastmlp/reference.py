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


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # <= 1: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


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
        y = _sigmoid(v)
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
    g = (_sigmoid(z) - t) * (w / w.sum())[:, None]
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
