"""Every C kernel as a NumPy-in, NumPy-out function.

Each function validates dtype, shape and contiguity (clear errors, never a
conversion behind your back), allocates the output when ``out``/``c`` is not
given, and calls C with the GIL released. These are the building blocks the
engine uses, exposed for testing, benchmarking and teaching; the oracle for
each is the function of the same name in ``fastmlp.reference``.
"""
import numbers
import threading

import numpy as np

from . import _core
from ._validation import c_array, check_int, kernel_array, no_overlap, real_scalar

__all__ = [
    "gemm",
    "activation_forward", "activation_backward", "softmax", "softmax_backward",
    "softmax_cross_entropy", "sigmoid_binary_cross_entropy", "squared_error",
    "column_sum", "sgd_update", "momentum_update", "adam_update",
    "sparse_matmul", "sparse_t_matmul",
]

# GEMM packing scratch, grown on demand and kept per thread: allocating it on
# every call costs more than the whole product at small shapes. The C side
# caps the need per thread (one MC x KC block of A plus one KC x NC block of
# B: at most ~3.5 MB on AVX2, more with AVX-512's wider NC), so the cache
# never outgrows that times the thread count.
_gemm_tls = threading.local()


def _gemm_work(nbytes):
    buf = getattr(_gemm_tls, "work", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(nbytes, dtype=np.uint8)
        _gemm_tls.work = buf
    return buf


def _threads(n_threads):
    """A kernel's thread count: None means the process default; any positive
    integer is accepted, and counts above ``_core.MAX_THREADS`` (64, the
    worker pool's size) mean that many, as the pool never runs more."""
    if n_threads is None:
        return _core.get_default_threads()
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or None (the process default), "
                         f"got {n_threads!r}")
    return min(int(n_threads), _core.MAX_THREADS)


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, n_threads=None):
    """Return ``alpha * op(a) @ op(b) + beta * c``, computed into ``c``.

    ``op(x)`` is ``x.T`` when the matching ``trans_`` flag is set. ``a``, ``b``
    and ``c`` are 2-D float32 or float64 arrays of one dtype with unit column
    stride (C-contiguous, or column slices of C-contiguous arrays). With
    ``c=None`` a new array is returned and ``beta`` must be 0. ``c`` must not
    share memory with ``a`` or ``b``. The MLP products are
    ``gemm(X, W, trans_b=True)`` (forward), ``gemm(dZ, W)`` (input gradient)
    and ``gemm(dZ, X, trans_a=True)`` (weight gradient). ``n_threads``
    (default: the process default, ``fastmlp.set_num_threads``) splits large
    products over the worker pool; counts above 64 (the pool's size) mean 64.
    The result is bitwise the same for any thread count.
    """
    nt = _threads(n_threads)
    # Fast path: a few C-level checks accept the plainly valid call (they
    # say only yes/no); anything else goes through the full validation
    # below, which raises the explanatory errors. Saves ~5 us per call.
    size = _core.gemm_precheck(c, a, b, trans_a, trans_b, alpha, beta)
    if size >= 0:
        if c is None:
            c = np.empty((a.shape[1] if trans_a else a.shape[0],
                          b.shape[0] if trans_b else b.shape[1]), dtype=a.dtype)
        _core.gemm(c, a, b, trans_a, trans_b, alpha, beta, _gemm_work(size * nt) if size else None,
                   False, nt)
        return c
    kernel_array("a", a, ndim=2, row_strided=True)
    kernel_array("b", b, ndim=2, dtype=a.dtype, dtype_of="a", row_strided=True)
    alpha = real_scalar("alpha", alpha)
    beta = real_scalar("beta", beta)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if kb != k:
        raise ValueError(f"inner dimensions differ: op(a) is {m}x{k} but op(b) is {kb}x{n}; "
                         f"check trans_a/trans_b")
    if c is None:
        if beta != 0.0:
            raise ValueError("beta must be 0 when c is not given (there is no c to scale)")
        c = np.empty((m, n), dtype=a.dtype)
    else:
        kernel_array("c", c, ndim=2, dtype=a.dtype, dtype_of="a", writeable=True, row_strided=True)
        if c.shape != (m, n):
            raise ValueError(f"c must have shape {(m, n)} for these a and b, got {c.shape}")
        no_overlap("c", c, ("a", a), ("b", b))
    f32 = a.dtype == np.float32
    size = _core.gemm_work_size(m, n, k, bool(trans_a), bool(trans_b), f32)
    work = _gemm_work(size * nt) if size else None
    _core.gemm(c, a, b, bool(trans_a), bool(trans_b), alpha, beta, work, False, nt)
    return c


# ---- elementwise kernels: activations, softmax, losses, colsum, optimizers ----

ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu")


def _activation(activation, slope):
    """(C code, slope as float) for an activation name; slope checked for leaky_relu."""
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string such as 'relu', got {type(activation).__name__}")
    if activation not in _core.ACT_CODES:
        raise ValueError(f"activation must be one of {', '.join(repr(a) for a in ACTIVATIONS)}, "
                         f"got {activation!r}")
    slope = real_scalar("slope", slope)
    if activation == "leaky_relu" and not 0.0 < slope < 1.0:
        raise ValueError(f"slope must be in (0, 1) for leaky_relu, got {slope}")
    return _core.ACT_CODES[activation], slope


def _same_memory(a, b):
    """a and b are the very same elements (an allowed in-place call)."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides)


def _output(name, out, like, like_name, *, may_be=(), must_not=()):
    """Validate (or allocate) an output shaped like ``like``. It may be exactly
    one of ``may_be`` (in place) but must not otherwise share memory with
    ``may_be`` or ``must_not`` arrays."""
    if out is None:
        return np.empty_like(like)
    kernel_array(name, out, ndim=like.ndim, dtype=like.dtype, dtype_of=like_name, writeable=True)
    if out.shape != like.shape:
        raise ValueError(f"{name} must have shape {like.shape} (the shape of {like_name}), "
                         f"got {out.shape}")
    for in_name, arr in may_be:
        if not _same_memory(out, arr):
            no_overlap(name, out, (in_name, arr))
    no_overlap(name, out, *must_not)
    return out


def _nonempty(name, a):
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column, got shape {a.shape}")


def _sample_weight(sample_weight, logits, logits_name):
    if sample_weight is None:
        return None
    kernel_array("sample_weight", sample_weight, ndim=1, dtype=logits.dtype, dtype_of=logits_name)
    m = logits.shape[0]
    if sample_weight.shape[0] != m:
        raise ValueError(f"sample_weight has {sample_weight.shape[0]} entries, but {logits_name} "
                         f"has {m} rows; pass one weight per sample")
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight must be finite; it contains NaN or inf")
    if np.any(sample_weight < 0):
        raise ValueError(f"sample_weight must be non-negative, got {sample_weight.min()}")
    if not sample_weight.sum(dtype=np.float64) > 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight")
    return sample_weight


def _targets(name, targets, logits, logits_name, *, lo=None, hi=None):
    kernel_array(name, targets, ndim=2, dtype=logits.dtype, dtype_of=logits_name)
    if targets.shape != logits.shape:
        raise ValueError(f"{name} must have the shape of {logits_name}, {logits.shape}, "
                         f"got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    if lo is not None and targets.size and (targets.min() < lo or (hi is not None and targets.max() > hi)):
        rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {rng}, got values in "
                         f"[{targets.min()}, {targets.max()}]")
    return targets


def _grad(grad, logits, logits_name, inputs):
    """None: allocate; False: skip (returns None); an array: validated, and it
    may be the logits themselves (the gradient then overwrites them)."""
    if grad is False:
        return None
    return _output("grad", grad, logits, logits_name, may_be=((logits_name, logits),),
                   must_not=inputs)


def activation_forward(z, bias=None, *, activation="relu", slope=0.01, out=None):
    """Return ``act(z + bias)`` (bias broadcast over rows), computed into ``out``.

    ``z`` is a 2-D float32/float64 C-contiguous array, ``bias`` None or 1-D
    with one entry per column. ``activation`` is 'identity', 'logistic' (alias
    'sigmoid'), 'tanh', 'relu' or 'leaky_relu' (negative ``slope`` in (0, 1)).
    ``out`` may be ``z`` itself (in place).
    """
    code, slope = _activation(activation, slope)
    kernel_array("z", z, ndim=2)
    if bias is not None:
        kernel_array("bias", bias, ndim=1, dtype=z.dtype, dtype_of="z")
        if bias.shape[0] != z.shape[1]:
            raise ValueError(f"bias has {bias.shape[0]} entries, but z has {z.shape[1]} columns")
    out = _output("out", out, z, "z", may_be=(("z", z),), must_not=(("bias", bias),))
    _core.bias_act_forward(out, z, bias, code, slope)
    return out


def activation_backward(dy, y, *, activation, slope=0.01, out=None):
    """Return ``dy * act'(z)``, the derivative taken from the stored output
    ``y = act(z)``: identity 1, logistic y(1-y), tanh 1-y^2, relu [y>0],
    leaky_relu [y>0] + slope [y<=0]. ``out`` may be ``dy`` itself.
    """
    code, slope = _activation(activation, slope)
    kernel_array("y", y, ndim=2)
    kernel_array("dy", dy, ndim=2, dtype=y.dtype, dtype_of="y")
    if dy.shape != y.shape:
        raise ValueError(f"dy must have the shape of y, {y.shape}, got {dy.shape}")
    out = _output("out", out, y, "y", may_be=(("dy", dy),), must_not=(("y", y),))
    _core.act_backward(out, dy, y, code, slope)
    return out


def softmax(z, *, out=None):
    """Return the row-wise softmax of 2-D ``z`` (row max subtracted);
    ``out`` may be ``z`` itself."""
    kernel_array("z", z, ndim=2)
    out = _output("out", out, z, "z", may_be=(("z", z),))
    _core.softmax_forward(out, z)
    return out


def softmax_backward(dy, y, *, out=None):
    """Return ``y * (dy - rowsum(dy * y))``, the softmax Jacobian-vector
    product from the stored output ``y``; ``out`` may be ``dy`` itself."""
    kernel_array("y", y, ndim=2)
    kernel_array("dy", dy, ndim=2, dtype=y.dtype, dtype_of="y")
    if dy.shape != y.shape:
        raise ValueError(f"dy must have the shape of y, {y.shape}, got {dy.shape}")
    out = _output("out", out, y, "y", may_be=(("dy", dy),), must_not=(("y", y),))
    _core.softmax_backward(out, dy, y)
    return out


def _int_labels(labels, m, n):
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be class indices of an integer dtype (int64), got dtype "
                        f"{labels.dtype}; convert whole-number labels with labels.astype(np.int64), "
                        f"or pass a 2-D array of target probabilities")
    if labels.shape[0] != m:
        raise ValueError(f"labels has {labels.shape[0]} entries, but logits has {m} rows; "
                         f"pass one label per sample")
    if labels.size:
        lo, hi = labels.min(), labels.max()
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise ValueError(f"labels must be in [0, {n}) (one class per column of logits), "
                             f"got label {bad}")
    return c_array(labels, np.int64)


def softmax_cross_entropy(logits, labels, sample_weight=None, *, grad=None):
    """Return ``(loss, grad)`` of softmax + cross-entropy, fused.

    ``labels`` is either a 1-D integer array of class indices in
    ``[0, n_classes)`` or a 2-D array of target rows (one-hot or
    probabilities, non-negative, the dtype and shape of ``logits``).
    ``loss`` is the (``sample_weight``-weighted) mean over rows of
    ``logsumexp(z) - z[label]``; ``grad = (softmax(z) - Y) * w_i / sum(w)``
    (``(A - Y) / n_samples`` unweighted) is written into ``grad`` (allocated
    when None, skipped when False, may be ``logits`` itself).
    """
    kernel_array("logits", logits, ndim=2)
    _nonempty("logits", logits)
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"labels must be a NumPy array (1-D class indices or 2-D targets), "
                        f"got {type(labels).__name__}")
    if labels.ndim == 1:
        lab = _int_labels(labels, *logits.shape)
        w = _sample_weight(sample_weight, logits, "logits")
        g = _grad(grad, logits, "logits", (("labels", lab), ("sample_weight", w)))
        loss = _core.softmax_xent_labels(g, logits, lab, w)
        return loss, g
    if labels.ndim != 2:
        raise ValueError(f"labels must be 1-D class indices or 2-D targets, got {labels.ndim}-D")
    t = _targets("labels", labels, logits, "logits", lo=0)
    w = _sample_weight(sample_weight, logits, "logits")
    g = _grad(grad, logits, "logits", (("labels", t), ("sample_weight", w)))
    loss = _core.softmax_xent_probs(g, logits, t, w)
    return loss, g


def sigmoid_binary_cross_entropy(logits, targets, sample_weight=None, *, grad=None):
    """Return ``(loss, grad)`` of sigmoid + binary cross-entropy from logits,
    per element (binary and multilabel outputs).

    ``targets`` in [0, 1] has the shape and dtype of ``logits``. ``loss`` is
    the weighted mean over rows of the per-row sum of
    ``max(z,0) - z t + log1p(exp(-|z|))``; ``grad = (sigmoid(z) - t) * w_i / sum(w)``
    (allocated when None, skipped when False, may be ``logits`` itself).
    """
    kernel_array("logits", logits, ndim=2)
    _nonempty("logits", logits)
    t = _targets("targets", targets, logits, "logits", lo=0, hi=1)
    w = _sample_weight(sample_weight, logits, "logits")
    g = _grad(grad, logits, "logits", (("targets", t), ("sample_weight", w)))
    loss = _core.sigmoid_bce(g, logits, t, w)
    return loss, g


def squared_error(pred, targets, sample_weight=None, *, grad=None):
    """Return ``(loss, grad)`` of the squared error: ``loss`` is 0.5 times the
    weighted mean over rows of the per-row sum of ``(pred - targets)**2``;
    ``grad = (pred - targets) * w_i / sum(w)`` (allocated when None, skipped
    when False, may be ``pred`` itself)."""
    kernel_array("pred", pred, ndim=2)
    _nonempty("pred", pred)
    t = _targets("targets", targets, pred, "pred")
    w = _sample_weight(sample_weight, pred, "pred")
    g = _grad(grad, pred, "pred", (("targets", t), ("sample_weight", w)))
    loss = _core.squared_error(g, pred, t, w)
    return loss, g


def column_sum(a, *, out=None):
    """Return the sum over the rows of 2-D ``a`` (the bias gradient), summed
    in double precision."""
    kernel_array("a", a, ndim=2)
    if out is None:
        out = np.empty(a.shape[1], dtype=a.dtype)
    else:
        kernel_array("out", out, ndim=1, dtype=a.dtype, dtype_of="a", writeable=True)
        if out.shape[0] != a.shape[1]:
            raise ValueError(f"out must have {a.shape[1]} entries (one per column of a), "
                             f"got {out.shape[0]}")
        no_overlap("out", out, ("a", a))
    _core.colsum(out, a)
    return out


def _param(name, a, like=None, like_name="w"):
    """A parameter-shaped array: any shape, C-contiguous, float; like ``like``."""
    if like is None:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a NumPy array of float32 or float64, "
                            f"got {type(a).__name__}")
        return kernel_array(name, a, ndim=a.ndim, writeable=True)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array like {like_name}, got {type(a).__name__}")
    kernel_array(name, a, ndim=a.ndim, dtype=like.dtype, dtype_of=like_name)
    if a.shape != like.shape:
        raise ValueError(f"{name} must have the shape of {like_name}, {like.shape}, got {a.shape}")
    return a


def _hyper(name, value, *, lo=None, lo_open=False, hi=None, hi_open=True):
    value = real_scalar(name, value)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return value


def _regularisers(l2, l1):
    return _hyper("l2", l2, lo=0.0), _hyper("l1", l1, lo=0.0)


def sgd_update(w, g, *, lr, l2=0.0, l1=0.0):
    """Update ``w`` in place: ``w -= lr * (g + l2 w + l1 sign(w))``; returns ``w``."""
    _param("w", w)
    _param("g", g, w)
    no_overlap("w", w, ("g", g))
    lr = _hyper("lr", lr, lo=0.0, lo_open=True)
    l2, l1 = _regularisers(l2, l1)
    _core.sgd_update(w, g, lr, l2, l1)
    return w


def momentum_update(w, v, g, *, lr, momentum=0.9, nesterov=False, l2=0.0, l1=0.0):
    """scikit-learn's SGD step with momentum, ``w`` and velocity ``v`` in
    place: ``v = momentum v - lr g``, then ``w += v`` or, with ``nesterov``,
    ``w += momentum v - lr g`` (g regularised as in sgd_update); returns ``w``."""
    _param("w", w)
    _param("v", v, w)
    kernel_array("v", v, ndim=v.ndim, writeable=True)
    _param("g", g, w)
    no_overlap("w", w, ("v", v), ("g", g))
    no_overlap("v", v, ("g", g))
    lr = _hyper("lr", lr, lo=0.0, lo_open=True)
    momentum = _hyper("momentum", momentum, lo=0.0, hi=1.0)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be True or False, got {type(nesterov).__name__}")
    l2, l1 = _regularisers(l2, l1)
    _core.momentum_update(w, v, g, lr, momentum, bool(nesterov), l2, l1)
    return w


def adam_update(w, m, v, g, *, lr, t, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0, l1=0.0):
    """scikit-learn's Adam step number ``t`` (>= 1), ``w`` and the moments
    ``m``, ``v`` in place: ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
    ``w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``; returns ``w``."""
    _param("w", w)
    _param("m", m, w)
    kernel_array("m", m, ndim=m.ndim, writeable=True)
    _param("v", v, w)
    kernel_array("v", v, ndim=v.ndim, writeable=True)
    _param("g", g, w)
    no_overlap("w", w, ("m", m), ("v", v), ("g", g))
    no_overlap("m", m, ("v", v), ("g", g))
    no_overlap("v", v, ("g", g))
    lr = _hyper("lr", lr, lo=0.0, lo_open=True)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
        raise TypeError(f"t must be an integer step count (>= 1), got {type(t).__name__}")
    if t < 1:
        raise ValueError(f"t must be >= 1 (the number of this step), got {t}")
    beta1 = _hyper("beta1", beta1, lo=0.0, hi=1.0)
    beta2 = _hyper("beta2", beta2, lo=0.0, hi=1.0)
    eps = _hyper("eps", eps, lo=0.0, lo_open=True)
    l2, l1 = _regularisers(l2, l1)
    _core.adam_update(w, m, v, g, lr, beta1, beta2, eps, int(t), l2, l1)
    return w


# ---- sparse (CSR) x dense products -----------------------------------------------

def _csr_parts(indptr, indices, data, n_rows, n_cols, rows):
    """Check CSR arrays (and an optional row selection) so C never reads out of bounds."""
    indptr = kernel_index("indptr", indptr)
    indices = kernel_index("indices", indices)
    kernel_array("data", data, ndim=1)
    if indptr.shape[0] == 0 or indptr.shape[0] != n_rows + 1 or indptr[0] != 0:
        raise ValueError(f"indptr must have n_rows + 1 = {n_rows + 1} entries starting at 0, "
                         f"got {indptr.shape[0]} starting at {indptr[:1].tolist()}")
    if indptr[-1] != indices.shape[0] or data.shape[0] != indices.shape[0]:
        raise ValueError(f"indptr must be non-decreasing and end at len(indices) == len(data), "
                         f"got indptr[-1] = {indptr[-1]}, {indices.shape[0]} indices and "
                         f"{data.shape[0]} values")
    # Every entry, in one GIL-free pass: the same rules the engine applies to a CSR X.
    _core.check_csr(indptr, indices, n_cols)
    if rows is not None:
        rows = kernel_index("rows", rows)
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
            raise ValueError(f"rows must lie in [0, {n_rows})")
    return indptr, indices, rows


def kernel_index(name, a):
    """A 1-D C-contiguous int64 array (other integer dtypes are converted)."""
    if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-D NumPy integer array")
    return c_array(a, np.int64)


def sparse_matmul(indptr, indices, data, b, out=None, *, n_cols=None, rows=None, trans_b=False,
                  beta=0.0, n_threads=1):
    """``out = beta * out + X[rows] @ op(b)`` for a CSR matrix X (indptr, indices, data).

    ``op(b)`` is ``b`` ([n_cols, N]) or, with ``trans_b``, ``b.T`` for b [N, n_cols];
    ``rows`` selects rows of X in place (default: all). The first layer of a
    network on sparse input: cost proportional to the non-zeros. ``n_threads``
    is a positive integer (counts above 64, the pool's size, mean 64) or None
    for the process default, as in :func:`gemm`.
    """
    nt = _threads(n_threads)
    kernel_array("b", b, ndim=2, row_strided=True)
    kernel_array("data", data, ndim=1, dtype=b.dtype, dtype_of="b")
    k = b.shape[1] if trans_b else b.shape[0]
    n_cols = k if n_cols is None else check_int("n_cols", n_cols, 0)
    if n_cols != k:
        raise ValueError(f"op(b) has {k} rows but X has {n_cols} columns")
    n_rows = len(indptr) - 1 if isinstance(indptr, np.ndarray) else 0
    indptr, indices, rows = _csr_parts(indptr, indices, data, n_rows, n_cols, rows)
    m = n_rows if rows is None else rows.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    beta = real_scalar("beta", beta)
    if out is None:
        if beta != 0.0:
            raise ValueError("beta must be 0 when out is not given")
        out = np.empty((m, n), dtype=b.dtype)
    else:
        kernel_array("out", out, ndim=2, dtype=b.dtype, dtype_of="b", writeable=True, row_strided=True)
        if out.shape != (m, n):
            raise ValueError(f"out must have shape {(m, n)}, got {out.shape}")
        no_overlap("out", out, ("b", b), ("data", data))
    _core.csr_matmul(out, rows, indptr, indices, data, b, bool(trans_b), beta, nt)
    return out


def sparse_t_matmul(indptr, indices, data, g, out, *, rows=None, out_transposed=False, scale=1.0,
                    n_threads=1):
    """``out += scale * X[rows].T @ g`` for CSR X, touching only X's non-zero columns.

    ``out`` is [n_cols, N] or, with ``out_transposed``, [N, n_cols]; g is [len(rows), N].
    The weight gradient of a first layer on sparse input. Returns ``out``.
    ``n_threads`` is as in :func:`sparse_matmul`.
    """
    nt = _threads(n_threads)
    kernel_array("g", g, ndim=2, row_strided=True)
    kernel_array("out", out, ndim=2, dtype=g.dtype, dtype_of="g", writeable=True, row_strided=True)
    kernel_array("data", data, ndim=1, dtype=g.dtype, dtype_of="g")
    n_cols = out.shape[1] if out_transposed else out.shape[0]
    if (out.shape[0] if out_transposed else out.shape[1]) != g.shape[1]:
        raise ValueError(f"out {out.shape} does not match g {g.shape} (out_transposed={out_transposed})")
    n_rows = len(indptr) - 1 if isinstance(indptr, np.ndarray) else 0
    indptr, indices, rows = _csr_parts(indptr, indices, data, n_rows, n_cols, rows)
    m = n_rows if rows is None else rows.shape[0]
    if g.shape[0] != m:
        raise ValueError(f"g must have one row per selected row of X ({m}), got {g.shape[0]}")
    no_overlap("out", out, ("g", g), ("data", data))
    _core.csr_t_matmul_acc(out, rows, indptr, indices, data, g, bool(out_transposed),
                           real_scalar("scale", scale), nt)
    return out
