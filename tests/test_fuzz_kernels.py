"""Fuzzing the C entry points through fastmlp.kernels: random shapes (0 and 1 included),
memory layouts, dtypes and values.
It deliberately checks the contract at the boundary, not kernel accuracy in depth
(test_gemm.py, test_activations.py, test_losses.py, test_optim.py do that per ISA).

Every call either returns the oracle's answer (fastmlp.reference, in float64) or raises a
clean ValueError/TypeError; in both cases inputs keep their bytes, and outputs live inside
guard zones whose sentinel values must survive, so a write outside an output is caught
even without AddressSanitizer (tools/sanitize.sh runs these under ASan too).

FASTMLP_FUZZ_EXAMPLES sets the examples per test (see test_fuzz_load.py).
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastmlp import kernels, reference
from elementwise_helpers import assert_matches

EXAMPLES = int(os.environ.get("FASTMLP_FUZZ_EXAMPLES", 150))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 500,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CLEAN = (ValueError, TypeError)
SENTINEL = {np.dtype(np.float32): np.float32(-7.25e7), np.dtype(np.float64): -7.25e250}

DTYPES = st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])
DIM = st.integers(0, 23)
# How an array is laid out in memory. 'contiguous' and (for gemm) 'column-slice' and
# 'row-step' are valid; the others are refused unless the shape makes them contiguous.
LAYOUTS = ["contiguous", "column-slice", "row-step", "transposed", "reversed-rows",
           "column-step"]


class Guarded:
    """A 2-D array of a given layout inside a buffer of sentinels."""

    def __init__(self, values, layout, dtype, offset=0):
        r, c = values.shape
        self.dtype = np.dtype(dtype)
        pad = 16
        if layout == "transposed":
            inner = np.empty((c, r), dtype).T
        elif layout == "column-slice":
            inner = np.empty((r, c + 3), dtype)[:, offset % 4:offset % 4 + c]
        elif layout == "row-step":
            inner = np.empty((2 * r, c), dtype)[::2]
        elif layout == "reversed-rows":
            inner = np.empty((r, c), dtype)[::-1]
        elif layout == "column-step":
            inner = np.empty((r, 2 * c), dtype)[:, ::2]
        else:
            inner = np.empty((r, c), dtype)
        # Re-create the same strides inside a sentinel buffer with guard zones around it.
        base = inner.base if inner.base is not None else inner
        self.buf = np.full(base.size + 2 * pad, SENTINEL[self.dtype], dtype)
        start = pad + (inner.__array_interface__["data"][0] -
                       base.__array_interface__["data"][0]) // self.dtype.itemsize
        self.array = np.lib.stride_tricks.as_strided(self.buf[start:], shape=inner.shape,
                                                     strides=inner.strides)
        if inner.size:
            self.array[...] = values
        self.mask = np.ones(self.buf.shape, bool)  # True: must keep the sentinel
        view_idx = np.lib.stride_tricks.as_strided(np.arange(self.buf.size)[start:],
                                                   shape=inner.shape,
                                                   strides=tuple(s // self.dtype.itemsize * 8
                                                                 for s in inner.strides))
        self.mask[view_idx.ravel()] = False
        self.before = self.buf.copy()

    def untouched_outside(self):
        return np.array_equal(self.buf[self.mask], self.before[self.mask])

    def unchanged(self):
        return self.buf.tobytes() == self.before.tobytes()


def values(draw, shape, dtype):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    rs = np.random.RandomState(seed)
    v = rs.randn(*shape) * scale
    if v.size and draw(st.booleans()):  # exact zeros and repeated values
        v.flat[rs.randint(0, v.size, size=max(1, v.size // 4))] = 0.0
    return v.astype(dtype)


def _valid_2d(array, *, row_strided):
    """Whether the kernels' layout rule (fastmlp._validation.kernel_array) accepts it."""
    r, c = array.shape
    item = array.itemsize
    if array.size == 0:
        return True
    if row_strided:
        return (c <= 1 or array.strides[1] == item) and \
            (r <= 1 or (array.strides[0] % item == 0 and array.strides[0] >= c * item))
    return array.flags.c_contiguous


# ---- gemm ------------------------------------------------------------------------------------

@FUZZ
@given(data=st.data(), m=DIM, n=DIM, k=DIM, ta=st.booleans(), tb=st.booleans(),
       dtype=DTYPES, la=st.sampled_from(LAYOUTS), lb=st.sampled_from(LAYOUTS),
       lc=st.sampled_from(LAYOUTS + ["none"]), alpha=st.sampled_from([1.0, -0.5, 0.0, 2.0]),
       beta=st.sampled_from([0.0, 1.0, -1.5]))
def test_gemm(data, m, n, k, ta, tb, dtype, la, lb, lc, alpha, beta):
    draw = data.draw
    a_vals = values(draw, (k, m) if ta else (m, k), dtype)
    b_vals = values(draw, (n, k) if tb else (k, n), dtype)
    c_vals = values(draw, (m, n), dtype)
    a = Guarded(a_vals, la, dtype, offset=1)
    b = Guarded(b_vals, lb, dtype, offset=2)
    c = None if lc == "none" else Guarded(c_vals, lc, dtype, offset=3)
    if c is None:
        beta = 0.0
    try:
        out = kernels.gemm(a.array, b.array, None if c is None else c.array, trans_a=ta,
                           trans_b=tb, alpha=alpha, beta=beta)
    except CLEAN:
        accepted = False
    else:
        accepted = True
    should = all(_valid_2d(g.array, row_strided=True) for g in (a, b) + ((c,) if c else ()))
    assert accepted == should, (la, lb, lc, a.array.strides, b.array.strides)
    assert a.unchanged() and b.unchanged(), "gemm wrote to an input"
    if c is not None:
        assert c.untouched_outside(), "gemm wrote outside c"
    if accepted:
        opa = a_vals.astype(np.float64).T if ta else a_vals.astype(np.float64)
        opb = b_vals.astype(np.float64).T if tb else b_vals.astype(np.float64)
        exact = alpha * (opa @ opb) + (beta * c_vals.astype(np.float64) if beta else 0.0)
        bound = abs(alpha) * (np.abs(opa) @ np.abs(opb)) + abs(beta) * np.abs(c_vals)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        got = np.asarray(out, dtype=np.float64)
        assert got.shape == (m, n)
        assert np.all(np.abs(got - exact) <= rtol * bound + 1e-300), "gemm is wrong"
        if c is not None:
            assert out is c.array
    elif c is not None:
        assert c.unchanged(), "a refused gemm wrote to c"


# ---- elementwise kernels ---------------------------------------------------------------------

ACTS = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
OUTS = st.sampled_from(["none", "separate", "in-place", "bad-layout"])


def _out(draw, kind, like, inplace_of):
    """An output argument: None, a guarded separate array, the input itself, or a layout
    the kernels refuse (unless its shape makes it contiguous anyway)."""
    if kind == "none":
        return None, None
    if kind == "in-place":
        return inplace_of.array, inplace_of
    layout = "contiguous" if kind == "separate" else draw(st.sampled_from(LAYOUTS[1:]))
    g = Guarded(np.zeros(like.shape, like.dtype), layout, like.dtype, offset=5)
    return g.array, g


def _call(fn, *args, **kwargs):
    try:
        return True, fn(*args, **kwargs)
    except CLEAN:
        return False, None


@FUZZ
@given(data=st.data(), m=DIM, n=DIM, dtype=DTYPES, act=st.sampled_from(ACTS),
       layout=st.sampled_from(LAYOUTS), out_kind=OUTS, with_bias=st.booleans())
def test_activation_forward(data, m, n, dtype, act, layout, out_kind, with_bias):
    z_vals = values(data.draw, (m, n), dtype)
    z = Guarded(z_vals, layout, dtype)
    bias = values(data.draw, (n,), dtype) if with_bias else None
    out, og = _out(data.draw, out_kind, z_vals, z)
    ok, got = _call(kernels.activation_forward, z.array, bias, activation=act, slope=0.1,
                    out=out)
    should = z.array.flags.c_contiguous and (og is None or og.array.flags.c_contiguous)
    assert ok == should
    if og is not None:
        assert og.untouched_outside()
    if out_kind != "in-place":
        assert z.unchanged()
    if ok:
        want = reference.activation_forward(z_vals.astype(np.float64),
                                            None if bias is None else bias.astype(np.float64),
                                            activation=act, slope=0.1)
        assert_matches(got, want, dtype, f"{act} forward")


@FUZZ
@given(data=st.data(), m=DIM, n=DIM, dtype=DTYPES, act=st.sampled_from(ACTS),
       layout=st.sampled_from(LAYOUTS), out_kind=OUTS)
def test_activation_backward(data, m, n, dtype, act, layout, out_kind):
    y_vals = reference.activation_forward(values(data.draw, (m, n), dtype), activation=act,
                                          slope=0.1).astype(dtype)
    dy_vals = values(data.draw, (m, n), dtype)
    y = Guarded(y_vals, "contiguous", dtype)
    dy = Guarded(dy_vals, layout, dtype)
    out, og = _out(data.draw, out_kind, dy_vals, dy)
    ok, got = _call(kernels.activation_backward, dy.array, y.array, activation=act, slope=0.1,
                    out=out)
    assert ok == (dy.array.flags.c_contiguous and (og is None or og.array.flags.c_contiguous))
    assert y.unchanged()
    if og is not None:
        assert og.untouched_outside()
    if ok:
        want = reference.activation_backward(dy_vals.astype(np.float64),
                                             y_vals.astype(np.float64), activation=act,
                                             slope=0.1)
        assert_matches(got, want, dtype, f"{act} backward")


@FUZZ
@given(data=st.data(), m=DIM, n=DIM, dtype=DTYPES, layout=st.sampled_from(LAYOUTS),
       out_kind=OUTS)
def test_softmax_and_its_backward(data, m, n, dtype, layout, out_kind):
    z_vals = values(data.draw, (m, n), dtype)
    z = Guarded(z_vals, layout, dtype)
    out, og = _out(data.draw, out_kind, z_vals, z)
    ok, p = _call(kernels.softmax, z.array, out=out)
    assert ok == (z.array.flags.c_contiguous and (og is None or og.array.flags.c_contiguous))
    if og is not None:
        assert og.untouched_outside()
    if not ok:
        return
    assert p.shape == (m, n)
    if p.size == 0:  # empty in, empty out (the oracle's max() has no identity)
        return
    want = reference.softmax(z_vals.astype(np.float64))
    assert_matches(p, want, dtype, "softmax")
    dy_vals = values(data.draw, (m, n), dtype)
    ok, g = _call(kernels.softmax_backward, dy_vals.copy(), np.array(p))
    assert ok
    want = reference.softmax_backward(dy_vals.astype(np.float64), np.asarray(p, np.float64))
    scale = np.abs(dy_vals).max() if dy_vals.size else 1.0
    assert_matches(g, want, dtype, "softmax backward", scale=scale)


LOSSES = ["xent-labels", "xent-probs", "bce", "squared"]


@FUZZ
@given(data=st.data(), m=DIM, n=DIM, dtype=DTYPES, loss=st.sampled_from(LOSSES),
       layout=st.sampled_from(LAYOUTS), weights=st.sampled_from(["none", "ok", "zero-row"]),
       grad_kind=st.sampled_from(["none", "skip", "separate", "in-place"]))
def test_losses(data, m, n, dtype, loss, layout, weights, grad_kind):
    rs = np.random.RandomState(data.draw(st.integers(0, 2 ** 32 - 1)))
    z_vals = values(data.draw, (m, n), dtype)
    z = Guarded(z_vals, layout, dtype)
    if loss == "xent-labels":
        target = rs.randint(0, max(n, 1), size=m).astype(np.int64)
    elif loss == "xent-probs":
        t = rs.rand(m, n)
        target = (t / np.maximum(t.sum(axis=1, keepdims=True), 1e-300)).astype(dtype)
    elif loss == "bce":
        target = rs.rand(m, n).astype(dtype)
    else:
        target = values(data.draw, (m, n), dtype)
    w = None
    if weights != "none":
        w = rs.rand(m).astype(dtype) + (0.5 if weights == "ok" else 0.0)
        if weights == "zero-row" and m:
            w[0] = 0.0
    target_before = target.tobytes()
    grad = {"none": None, "skip": False}.get(grad_kind)
    gg = None
    if grad_kind == "separate":
        gg = Guarded(np.zeros((m, n), dtype), "contiguous", dtype)
        grad = gg.array
    elif grad_kind == "in-place":
        grad = z.array
    fn = {"xent-labels": kernels.softmax_cross_entropy, "xent-probs":
          kernels.softmax_cross_entropy, "bce": kernels.sigmoid_binary_cross_entropy,
          "squared": kernels.squared_error}[loss]
    ok, result = _call(fn, z.array, target, w, grad=grad)
    valid_weights = w is None or (m > 0 and w.sum() > 0)
    assert ok == (z.array.flags.c_contiguous and m > 0 and n > 0 and valid_weights), \
        (layout, m, n, weights)
    assert target.tobytes() == target_before
    if gg is not None:
        assert gg.untouched_outside()
    if grad_kind != "in-place":
        assert z.unchanged()
    if not ok:
        return
    ref_fn = {"xent-labels": reference.softmax_cross_entropy,
              "xent-probs": reference.softmax_cross_entropy,
              "bce": reference.sigmoid_binary_cross_entropy,
              "squared": reference.squared_error}[loss]
    t64 = target if target.dtype.kind == "i" else target.astype(np.float64)
    want_loss, want_grad = ref_fn(z_vals.astype(np.float64), t64,
                                  None if w is None else w.astype(np.float64))
    loss_value, g = result
    # the loss's rounding scales with its own size and with the logits' (log-sum-exp)
    scale = max(1.0, abs(want_loss), float(np.abs(z_vals).max()) * n)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert abs(loss_value - want_loss) <= rtol * scale, (loss_value, want_loss)
    if grad_kind != "skip":
        assert_matches(g, want_grad, dtype, loss, scale=np.abs(want_grad).max() + 1e-30)
    else:
        assert g is None


@FUZZ
@given(data=st.data(), m=DIM, n=DIM, dtype=DTYPES, layout=st.sampled_from(LAYOUTS))
def test_column_sum(data, m, n, dtype, layout):
    a_vals = values(data.draw, (m, n), dtype)
    a = Guarded(a_vals, layout, dtype)
    out = Guarded(np.zeros((1, n), dtype), "contiguous", dtype)
    ok, got = _call(kernels.column_sum, a.array, out=out.array[0])
    assert ok == a.array.flags.c_contiguous
    assert a.unchanged() and out.untouched_outside()
    if ok:
        assert_matches(got, a_vals.astype(np.float64).sum(axis=0), dtype, "column_sum",
                       scale=np.abs(a_vals).sum(axis=0) + 1e-30)


@FUZZ
@given(data=st.data(), shape=st.lists(st.integers(0, 9), min_size=1, max_size=3),
       dtype=DTYPES, rule=st.sampled_from(["sgd", "momentum", "nesterov", "adam"]),
       contiguous=st.booleans(), t=st.integers(1, 50))
def test_optimizer_updates(data, shape, dtype, rule, contiguous, t):
    shape = tuple(shape)
    w0 = values(data.draw, shape, dtype)
    g = values(data.draw, shape, dtype)
    m0 = values(data.draw, shape, dtype) * 0.1
    v0 = np.abs(values(data.draw, shape, dtype))
    w = w0.copy() if contiguous else np.repeat(w0, 2, axis=-1)[..., ::2]
    m, v = m0.copy(), v0.copy()
    kw = dict(lr=0.01, l2=1e-3, l1=1e-4)
    if rule == "sgd":
        ok, _ = _call(kernels.sgd_update, w, g, **kw)
        want = reference.sgd_update(w0.astype(np.float64), g.astype(np.float64), **kw)
    elif rule in ("momentum", "nesterov"):
        ok, _ = _call(kernels.momentum_update, w, m, g, momentum=0.9,
                      nesterov=rule == "nesterov", **kw)
        want = reference.momentum_update(w0.astype(np.float64), m0.astype(np.float64),
                                         g.astype(np.float64), momentum=0.9,
                                         nesterov=rule == "nesterov", **kw)
    else:
        ok, _ = _call(kernels.adam_update, w, m, v, g, t=t, **kw)
        want = reference.adam_update(w0.astype(np.float64), m0.astype(np.float64),
                                     v0.astype(np.float64), g.astype(np.float64), t=t, **kw)
    assert ok == (w.flags.c_contiguous)
    if ok:
        assert_matches(w, want, dtype, rule, scale=np.abs(w0) + 0.1)
    else:
        assert np.array_equal(w, w0) and np.array_equal(m, m0) and np.array_equal(v, v0)


def test_guard_zones_see_a_stray_write():
    """The control: a write one element past a view is noticed by the guard check."""
    g = Guarded(np.ones((3, 4)), "column-slice", np.float64, offset=1)
    assert g.untouched_outside()
    base = g.array.__array_interface__["data"][0]
    start = (base - g.buf.__array_interface__["data"][0]) // 8
    g.buf[start + 4] = 0.0  # just past row 0 of the view
    assert not g.untouched_outside()
    with pytest.raises(AssertionError):
        assert g.untouched_outside()


# ---- sparse (CSR) products ---------------------------------------------------------------------

def _csr(draw, n_rows, n_cols, dtype):
    """A random CSR matrix (indptr, indices, data), sometimes damaged on purpose."""
    rs = np.random.RandomState(draw(st.integers(0, 2 ** 32 - 1)))
    dense = rs.randn(n_rows, n_cols) * (rs.rand(n_rows, n_cols) < 0.3)
    indptr = np.zeros(n_rows + 1, np.int64)
    indptr[1:] = np.cumsum((dense != 0).sum(axis=1))
    indices = np.nonzero(dense)[1].astype(draw(st.sampled_from([np.int64, np.int32])))
    data = dense[dense != 0].astype(dtype)
    damage = draw(st.sampled_from(["none"] * 4 + ["index-high", "index-negative", "indptr-end",
                                                   "indptr-decreasing", "indptr-empty",
                                                   "data-short", "indptr-start"]))
    if damage == "index-high" and indices.size:
        indices[rs.randint(indices.size)] = n_cols + rs.randint(0, 3)
    elif damage == "index-negative" and indices.size:
        indices[rs.randint(indices.size)] = -1
    elif damage == "indptr-end":
        indptr[-1] += 1 + rs.randint(3)
    elif damage == "indptr-decreasing" and n_rows >= 2 and indptr[-1] > 0:
        indptr[1] = indptr[-1]
        indptr[2:] = np.minimum(indptr[2:], indptr[-1])
        indptr[1], indptr[-1] = indptr[-1], indptr[-1]
        indptr[2 if n_rows > 2 else 1] = 0 if n_rows > 2 else indptr[1]
    elif damage == "indptr-empty":
        indptr = indptr[:0]
    elif damage == "data-short" and data.size:
        data = data[:-1]
    elif damage == "indptr-start" and indptr.size:
        indptr = indptr + 1
    return indptr, indices, data, dense, damage


def _csr_valid(indptr, indices, data, n_cols):
    if indptr.ndim != 1 or indptr.size < 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        return False
    if indptr[-1] != indices.size or data.size != indices.size:
        return False
    return not indices.size or (indices.min() >= 0 and indices.max() < n_cols)


@FUZZ
@given(data=st.data(), m=DIM, k=DIM, n=DIM, dtype=DTYPES, trans_b=st.booleans(),
       lb=st.sampled_from(LAYOUTS), lo=st.sampled_from(LAYOUTS + ["none"]),
       beta=st.sampled_from([0.0, 1.0]), use_rows=st.booleans())
def test_sparse_matmul(data, m, k, n, dtype, trans_b, lb, lo, beta, use_rows):
    indptr, indices, values_, dense, damage = _csr(data.draw, m, k, dtype)
    rs = np.random.RandomState(0)
    rows = rs.randint(0, max(m, 1), size=rs.randint(0, 6)).astype(np.int64) \
        if use_rows and m else None
    n_sel = m if rows is None else len(rows)
    b_vals = values(data.draw, (n, k) if trans_b else (k, n), dtype)
    b = Guarded(b_vals, lb, dtype, offset=1)
    out0 = values(data.draw, (n_sel, n), dtype)
    out = None if lo == "none" else Guarded(out0, lo, dtype, offset=2)
    if out is None:
        beta = 0.0
    snapshot = [a.copy() for a in (indptr, indices, values_)]
    ok, got = _call(kernels.sparse_matmul, indptr, indices, values_, b.array,
                    None if out is None else out.array, n_cols=k, rows=rows, trans_b=trans_b,
                    beta=beta, n_threads=data.draw(st.sampled_from([1, 2])))
    should = _csr_valid(indptr, indices, values_, k) and \
        all(_valid_2d(g.array, row_strided=True) for g in (b,) + ((out,) if out else ()))
    assert ok == should, (damage, lb, lo)
    assert b.unchanged()
    assert all(np.array_equal(a, s) for a, s in zip((indptr, indices, values_), snapshot))
    if out is not None:
        assert out.untouched_outside()
        if not ok:
            assert out.unchanged()
    if ok:
        X = dense if rows is None else dense[rows]
        opb = b_vals.T if trans_b else b_vals
        exact = X @ opb.astype(np.float64) + (beta * out0 if beta else 0.0)
        bound = np.abs(X) @ np.abs(opb.astype(np.float64)) + abs(beta) * np.abs(out0)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        assert np.all(np.abs(np.asarray(got, np.float64) - exact) <= rtol * bound + 1e-300)


@FUZZ
@given(data=st.data(), m=DIM, k=DIM, n=DIM, dtype=DTYPES, transposed=st.booleans(),
       lg=st.sampled_from(LAYOUTS), lo=st.sampled_from(LAYOUTS), use_rows=st.booleans())
def test_sparse_t_matmul(data, m, k, n, dtype, transposed, lg, lo, use_rows):
    indptr, indices, values_, dense, damage = _csr(data.draw, m, k, dtype)
    rs = np.random.RandomState(1)
    rows = rs.randint(0, max(m, 1), size=rs.randint(0, 6)).astype(np.int64) \
        if use_rows and m else None
    n_sel = m if rows is None else len(rows)
    g_vals = values(data.draw, (n_sel, n), dtype)
    g = Guarded(g_vals, lg, dtype, offset=1)
    out0 = values(data.draw, (n, k) if transposed else (k, n), dtype)
    out = Guarded(out0, lo, dtype, offset=2)
    ok, got = _call(kernels.sparse_t_matmul, indptr, indices, values_, g.array, out.array,
                    rows=rows, out_transposed=transposed, scale=0.5,
                    n_threads=data.draw(st.sampled_from([1, 2])))
    should = _csr_valid(indptr, indices, values_, k) and \
        _valid_2d(g.array, row_strided=True) and _valid_2d(out.array, row_strided=True)
    assert ok == should, (damage, lg, lo)
    assert g.unchanged() and out.untouched_outside()
    if not ok:
        assert out.unchanged()
        return
    X = dense if rows is None else dense[rows]
    add = 0.5 * (X.T @ g_vals.astype(np.float64))
    exact = out0 + (add.T if transposed else add)
    bound = np.abs(out0) + 0.5 * ((np.abs(X).T @ np.abs(g_vals)).T if transposed
                                  else np.abs(X).T @ np.abs(g_vals))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert np.all(np.abs(np.asarray(got, np.float64) - exact) <= rtol * bound + 1e-300)
