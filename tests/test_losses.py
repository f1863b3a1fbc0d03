"""The fused losses (softmax + cross-entropy from labels or targets, sigmoid +
binary cross-entropy, squared error) and the column sum against the NumPy
oracle, on every ISA path and dtype: values, gradients (also by finite
differences), sample weights, extreme logits, the NULL loss/gradient paths,
status codes and the validation errors of fastmlp.kernels."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from fastmlp import _core, kernels, reference
from elementwise_helpers import SHAPES, TAILS, assert_grad, assert_matches, oracle_inputs

LOSSES = ["xent_labels", "xent_probs", "bce", "squared"]


def make(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def make_targets(rng, kind, shape, dtype):
    m, n = shape
    if kind == "xent_labels":
        return rng.integers(0, n, size=m).astype(np.int64)
    if kind == "xent_probs":
        t = rng.uniform(0, 1, size=shape)
        return (t / t.sum(axis=1, keepdims=True)).astype(dtype)
    if kind == "bce":
        # half hard 0/1 targets (multilabel), half soft ones
        t = rng.uniform(0, 1, size=shape)
        hard = rng.uniform(size=shape) < 0.5
        t[hard] = np.round(t[hard])
        return t.astype(dtype)
    return make(rng, shape, dtype)


def fast(kind, z, t, w=None, grad=None):
    if kind in ("xent_labels", "xent_probs"):
        return kernels.softmax_cross_entropy(z, t, w, grad=grad)
    if kind == "bce":
        return kernels.sigmoid_binary_cross_entropy(z, t, w, grad=grad)
    return kernels.squared_error(z, t, w, grad=grad)


def oracle(kind, z, t, w=None):
    z64, w64 = oracle_inputs(z, w)
    t64 = t if kind == "xent_labels" else oracle_inputs(t)[0]
    if kind in ("xent_labels", "xent_probs"):
        return reference.softmax_cross_entropy(z64, t64, w64)
    if kind == "bce":
        return reference.sigmoid_binary_cross_entropy(z64, t64, w64)
    return reference.squared_error(z64, t64, w64)


def grad_scale(kind, z, t, w):
    """Size of the terms each gradient entry is a difference of, times w_i/sum w."""
    m = z.shape[0]
    wi = np.ones(m) if w is None else np.asarray(w, np.float64)
    sc = (wi / wi.sum())[:, None]
    if kind == "squared":
        return sc * (np.abs(np.asarray(z, np.float64)) + np.abs(np.asarray(t, np.float64)))
    return sc * np.ones(z.shape)


def check(kind, z, t, w, dtype, what=""):
    loss, g = fast(kind, z, t, w)
    eloss, eg = oracle(kind, z, t, w)
    assert np.isfinite(loss)
    assert_matches(loss, eloss, dtype, f"{kind} loss {what}")
    assert_matches(g, eg, dtype, f"{kind} grad {what}", scale=grad_scale(kind, z, t, w))
    return loss, g


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_loss_matches_oracle(isa, dtype, kind, shape, weighted):
    rng = np.random.default_rng([LOSSES.index(kind), *shape, weighted])
    z = make(rng, shape, dtype)
    t = make_targets(rng, kind, shape, dtype)
    w = rng.uniform(0, 3, size=shape[0]).astype(dtype) if weighted else None
    if weighted and shape[0] > 1:
        w[0] = 0  # a zero weight is allowed as long as the sum is positive
    check(kind, z, t, w, dtype)


@pytest.mark.parametrize("kind", LOSSES)
def test_loss_every_tail(isa, dtype, kind):
    rng = np.random.default_rng(101)
    for n in TAILS:
        z = make(rng, (3, n), dtype)
        check(kind, z, make_targets(rng, kind, (3, n), dtype), None, dtype, f"n={n}")


@pytest.mark.parametrize("kind", LOSSES)
def test_unweighted_gradient_is_difference_over_m(isa, kind):
    # The documented form: (A - Y) / M for softmax/sigmoid, (P - T) / M for squared.
    rng = np.random.default_rng(103)
    z = make(rng, (6, 4), np.float64)
    t = make_targets(rng, kind, (6, 4), np.float64)
    _, g = fast(kind, z, t)
    if kind == "xent_labels":
        y = np.eye(4)[t]
        a = reference.softmax(z)
    elif kind == "xent_probs":
        y, a = t, reference.softmax(z)
    elif kind == "bce":
        y, a = t, 1 / (1 + np.exp(-z))
    else:
        y, a = t, z
    np.testing.assert_allclose(g, (a - y) / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", LOSSES)
def test_weights_equal_repeated_rows(isa, kind):
    # Weight 2 on a row == that row twice; weight 0 == row absent.
    rng = np.random.default_rng(107)
    z = make(rng, (3, 5), np.float64)
    t = make_targets(rng, kind, (3, 5), np.float64)
    w = np.array([2.0, 0.0, 1.0])
    loss_w, g_w = fast(kind, z, t, w)
    idx = [0, 0, 2]
    loss_r, g_r = fast(kind, z[idx].copy(), t[idx].copy())
    np.testing.assert_allclose(loss_w, loss_r, rtol=1e-13)
    np.testing.assert_allclose(g_w[0], g_r[0] + g_r[1], rtol=1e-12, atol=1e-16)
    np.testing.assert_array_equal(g_w[1], 0)


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gradient_is_the_derivative(isa, kind, weighted):
    rng = np.random.default_rng(109)
    z = make(rng, (4, 5), np.float64, 2.0)
    t = make_targets(rng, kind, (4, 5), np.float64)
    w = rng.uniform(0.2, 2, size=4) if weighted else None
    _, g = fast(kind, z, t, w)
    assert_grad(g, lambda zz: fast(kind, zz, t, w, grad=False)[0], z, f"{kind} gradient",
                rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", ["xent_labels", "xent_probs", "bce"])
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_extreme_logits(isa, dtype, kind, big):
    z = np.array([[big, -big, 0.0, 1.0],
                  [-big, -big, -big, -big],
                  [big, big, -big, big],
                  [-big, 0.0, 1.0, -big]], dtype=dtype)
    t = make_targets(np.random.default_rng(113), kind, z.shape, dtype)
    loss, g = check(kind, z, t, None, dtype, f"|z|={big}")
    assert np.isfinite(loss) and loss >= 0
    assert np.all(np.isfinite(g))


def test_confident_rows_keep_small_losses_accurate(isa, dtype):
    # logsumexp - z_y for a confident correct row: the loss is tiny, not 0 or noise.
    z = np.array([[30.0, 0.0, -5.0], [20.0, 1.0, 2.0]], dtype=dtype)
    labels = np.array([0, 0])
    loss, _ = kernels.softmax_cross_entropy(z, labels)
    eloss, _ = reference.softmax_cross_entropy(z.astype(np.float64), labels)
    assert 0 < loss
    np.testing.assert_allclose(loss, eloss, rtol=1e-5 if dtype == np.float32 else 1e-12)
    zb = np.array([[40.0, -40.0]], dtype=dtype)
    tb = np.array([[1.0, 0.0]], dtype=dtype)
    lb, _ = kernels.sigmoid_binary_cross_entropy(zb, tb)
    np.testing.assert_allclose(lb, 2 * np.log1p(np.exp(-40.0)), rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("kind", LOSSES)
def test_loss_only_and_grad_only_paths(isa, dtype, kind):
    # C's NULL loss / NULL G: the other output is unchanged.
    rng = np.random.default_rng(127)
    z = make(rng, (5, 19), dtype)
    t = make_targets(rng, kind, (5, 19), dtype)
    w = rng.uniform(0.5, 2, size=5).astype(dtype)
    loss, g = fast(kind, z, t, w)
    loss_only, none = fast(kind, z, t, w, grad=False)
    assert none is None and loss_only == loss
    g2 = np.full_like(z, np.nan)
    fn = {"xent_labels": _core.softmax_xent_labels, "xent_probs": _core.softmax_xent_probs,
          "bce": _core.sigmoid_bce, "squared": _core.squared_error}[kind]
    assert fn(g2, z, t, w, False) is None
    np.testing.assert_array_equal(g2, g)


@pytest.mark.parametrize("kind", LOSSES)
def test_gradient_in_place_of_logits(isa, dtype, kind):
    rng = np.random.default_rng(131)
    z = make(rng, (4, 23), dtype)
    t = make_targets(rng, kind, (4, 23), dtype)
    loss, g = fast(kind, z, t)
    loss2, g2 = fast(kind, z, t, grad=z)
    assert g2 is z and loss2 == loss
    np.testing.assert_array_equal(z, g)


def test_label_out_of_range_status(isa, dtype):
    z = np.zeros((3, 4), dtype)
    for bad in (4, -1, 1 << 40):
        labels = np.array([0, bad, 1], dtype=np.int64)
        with pytest.raises(ValueError, match=f"labels must be in \\[0, 4\\).*got label {bad}"):
            kernels.softmax_cross_entropy(z, labels)
        # The C status path (bypassing kernels.py's check) says the same.
        g = np.full_like(z, 7.0)
        with pytest.raises(ValueError, match=f"labels must be in \\[0, 4\\).*got {bad} at index 1"):
            _core.softmax_xent_labels(g, z, labels, None)
        np.testing.assert_array_equal(g, 7.0)  # checked before anything is written


def test_zero_weight_sum_status(isa, dtype):
    z = np.zeros((2, 3), dtype)
    t = np.zeros((2, 3), dtype)
    w = np.zeros(2, dtype)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        kernels.squared_error(z, t, w)
    for fn, tt in [(_core.softmax_xent_labels, np.zeros(2, np.int64)), (_core.softmax_xent_probs, t),
                   (_core.sigmoid_bce, t), (_core.squared_error, t)]:
        with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
            fn(None, z, tt, w)
        with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
            fn(None, z, tt, np.array([2.0, -1.0], dtype))


# ---- column sum -------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES + [(3, 600), (1000, 7)])
def test_column_sum_matches_oracle(isa, dtype, shape):
    rng = np.random.default_rng(137)
    a = make(rng, shape, dtype)
    (a64,) = oracle_inputs(a)
    # Summed in double: one final rounding to the dtype.
    assert_matches(kernels.column_sum(a), reference.column_sum(a64), dtype, "column_sum",
                   scale=np.abs(a64).sum(axis=0))


def test_column_sum_tails_and_out(isa, dtype):
    rng = np.random.default_rng(139)
    for n in TAILS:
        a = make(rng, (5, n), dtype)
        out = np.full(n, np.nan, dtype)
        assert kernels.column_sum(a, out=out) is out
        (a64,) = oracle_inputs(a)
        assert_matches(out, reference.column_sum(a64), dtype, f"column_sum n={n}",
                       scale=np.abs(a64).sum(axis=0))


def test_column_sum_float32_is_summed_in_double(isa):
    # 1 + many tiny values: a float32 running sum would drop every tiny one.
    a = np.full((4097, 3), 1e-8, np.float32)
    a[0] = 1.0
    np.testing.assert_allclose(kernels.column_sum(a), 1.0 + 4096 * 1e-8, rtol=1e-7)


# ---- property-based ----------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(data=st.data(), kind=st.sampled_from(LOSSES), dt=st.sampled_from([np.float32, np.float64]),
       weighted=st.booleans())
def test_property_losses_match_oracle(data, kind, dt, weighted):
    dtype = np.dtype(dt)
    m, n = data.draw(st.tuples(st.integers(1, 8), st.integers(1, 40)), label="shape")
    z = data.draw(hnp.arrays(dtype, (m, n), elements=st.floats(-80, 80, width=32)), label="z")
    if kind == "xent_labels":
        t = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), np.int64)
    elif kind == "squared":
        t = data.draw(hnp.arrays(dtype, (m, n), elements=st.floats(-80, 80, width=32)), label="t")
    else:
        t = data.draw(hnp.arrays(dtype, (m, n), elements=st.floats(0, 1, width=32)), label="t")
    w = None
    if weighted:
        w = data.draw(hnp.arrays(dtype, m, elements=st.floats(0, 4, width=32)), label="w")
        if not w.sum(dtype=np.float64) > 0:
            w[0] = 1
    check(kind, z, t, w, dtype)


# ---- validation ----------------------------------------------------------------------

def test_loss_validation_errors():
    z = np.zeros((3, 4))
    t = np.zeros((3, 4))
    with pytest.raises(TypeError, match="labels must be class indices of an integer dtype"):
        kernels.softmax_cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="labels must be class indices"):
        kernels.softmax_cross_entropy(z, np.array([True, False, True]))
    with pytest.raises(TypeError, match="labels must be a NumPy array"):
        kernels.softmax_cross_entropy(z, [0, 1, 2])
    with pytest.raises(ValueError, match="labels has 2 entries, but logits has 3 rows"):
        kernels.softmax_cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ValueError, match="labels must be 1-D class indices or 2-D"):
        kernels.softmax_cross_entropy(z, np.zeros((3, 4, 1)))
    with pytest.raises(ValueError, match="labels must have the shape of logits"):
        kernels.softmax_cross_entropy(z, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="labels must be >= 0, got values in \\[-1.0"):
        kernels.softmax_cross_entropy(z, -t - 1)
    with pytest.raises(ValueError, match="logits must have at least one row"):
        kernels.softmax_cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="targets must be in \\[0, 1\\]"):
        kernels.sigmoid_binary_cross_entropy(z, t + 2)
    with pytest.raises(ValueError, match="targets must be finite"):
        kernels.squared_error(z, t + np.nan)
    with pytest.raises(TypeError, match="targets has dtype float32"):
        kernels.squared_error(z, t.astype(np.float32))
    with pytest.raises(ValueError, match="pred must be 2-D"):
        kernels.squared_error(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="sample_weight has 2 entries, but logits has 3 rows"):
        kernels.sigmoid_binary_cross_entropy(z, t, np.ones(2))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        kernels.sigmoid_binary_cross_entropy(z, t, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        kernels.sigmoid_binary_cross_entropy(z, t, np.array([1.0, np.inf, 1.0]))
    with pytest.raises(TypeError, match="sample_weight has dtype float32"):
        kernels.softmax_cross_entropy(z, np.array([0, 1, 2]), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="grad must have shape"):
        kernels.squared_error(z, t, grad=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="grad shares memory with targets"):
        kernels.squared_error(z, t, grad=t)
    ro = np.zeros((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="grad is read-only"):
        kernels.squared_error(z, t, grad=ro)


def test_other_integer_labels_are_converted():
    z = np.random.default_rng(0).standard_normal((3, 4))
    expected = kernels.softmax_cross_entropy(z, np.array([0, 3, 1], np.int64))[0]
    for dt in (np.int32, np.uint8, np.int16):
        assert kernels.softmax_cross_entropy(z, np.array([0, 3, 1], dt))[0] == expected


def test_column_sum_validation_errors():
    a = np.zeros((3, 4))
    with pytest.raises(ValueError, match="a must be 2-D"):
        kernels.column_sum(np.zeros(4))
    with pytest.raises(ValueError, match="out must have 4 entries"):
        kernels.column_sum(a, out=np.zeros(3))
    with pytest.raises(TypeError, match="out has dtype float32"):
        kernels.column_sum(a, out=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="out shares memory with a"):
        kernels.column_sum(a, out=a[0])


def test_all_isa_paths_agree_bitwise(dtype):
    # One template, no contraction: every ISA path gives the same bits.
    import fastmlp
    rng = np.random.default_rng(149)
    z = make(rng, (37, 11), dtype)
    inputs = {k: make_targets(rng, k, z.shape, dtype) for k in LOSSES}
    w = rng.uniform(0.1, 2, size=37).astype(dtype)
    before = fastmlp.get_isa()
    results = []
    try:
        for isa in fastmlp.available_isas():
            fastmlp.set_isa(isa)
            results.append([fast(k, z, inputs[k], w) for k in LOSSES] + [kernels.column_sum(z)])
    finally:
        fastmlp.set_isa(before)
    for other in results[1:]:
        for a, b in zip(results[0][:-1], other[:-1]):
            assert a[0] == b[0]
            np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(results[0][-1], other[-1])
