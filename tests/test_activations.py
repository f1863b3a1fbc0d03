"""Activation forward/backward and softmax kernels against the NumPy oracle
(fastmlp.reference), on every ISA path and dtype, including vector tails,
extreme inputs, in-place calls, finite-difference gradients and the
validation errors of the fastmlp.kernels entry points."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import fastmlp
from fastmlp import kernels, reference
from elementwise_helpers import SHAPES, TAILS, assert_grad, assert_matches, oracle_inputs

ACTS = ["identity", "logistic", "tanh", "relu", "leaky_relu"]


def make(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def check_forward(z, bias, act, dtype, slope=0.01):
    y = kernels.activation_forward(z, bias, activation=act, slope=slope)
    z64, b64 = oracle_inputs(z, bias)
    s = float(np.asarray(slope, dtype=dtype))  # the kernel gets slope in the dtype
    assert_matches(y, reference.activation_forward(z64, b64, activation=act, slope=s), dtype,
                   f"{act} forward {z.shape}")
    return y


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_forward_matches_oracle(isa, dtype, act, shape, with_bias):
    rng = np.random.default_rng([ACTS.index(act), *shape])
    z = make(rng, shape, dtype)
    bias = make(rng, shape[1], dtype) if with_bias else None
    check_forward(z, bias, act, dtype, slope=0.03)


@pytest.mark.parametrize("act", ACTS)
def test_forward_every_tail_length(isa, dtype, act):
    rng = np.random.default_rng(7)
    for n in TAILS:
        z = make(rng, (3, n), dtype)
        check_forward(z, make(rng, n, dtype), act, dtype)
        check_forward(z, None, act, dtype)


@pytest.mark.parametrize("act", ACTS)
def test_forward_small_and_tiny_inputs_keep_relative_accuracy(isa, dtype, act):
    # tanh and logistic near 0 must not lose digits to cancellation.
    rng = np.random.default_rng(3)
    mag = 10.0 ** rng.uniform(-30 if dtype == np.float32 else -300, 0, size=(4, 50))
    z = (mag * rng.choice([-1, 1], size=mag.shape)).astype(dtype)
    check_forward(z, None, act, dtype)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_forward_extreme_inputs_stay_finite(isa, dtype, act, big):
    z = np.array([[-big, -big / 2, -50.0, -1.0, 0.0, 1.0, 50.0, big / 2, big]], dtype=dtype)
    y = check_forward(z, None, act, dtype)
    assert np.all(np.isfinite(y))
    if act == "logistic":
        assert np.all((y >= 0) & (y <= 1))
        assert y[0, 0] == 0 and y[0, -1] == 1
    if act == "tanh":
        assert np.all(np.abs(y) <= 1)
        assert y[0, 0] == -1 and y[0, -1] == 1


def test_relu_and_leaky_exact_zeros(isa, dtype):
    z = np.array([[0.0, -0.0, 1e-30, -1e-30, 2.0, -2.0]], dtype=dtype)
    y = kernels.activation_forward(z, activation="relu")
    np.testing.assert_array_equal(y, np.array([[0, 0, 1e-30, 0, 2, 0]], dtype=dtype))
    yl = kernels.activation_forward(z, activation="leaky_relu", slope=0.5)
    np.testing.assert_array_equal(yl, np.array([[0, 0, 1e-30, -5e-31, 2, -1]], dtype=dtype))
    dy = np.full_like(z, 3.0)
    d = kernels.activation_backward(dy, y, activation="relu")
    np.testing.assert_array_equal(d, np.array([[0, 0, 3, 0, 3, 0]], dtype=dtype))
    dl = kernels.activation_backward(dy, yl, activation="leaky_relu", slope=0.5)
    np.testing.assert_array_equal(dl, np.array([[1.5, 1.5, 3, 1.5, 3, 1.5]], dtype=dtype))


def test_relu_keeps_nan_visible(isa, dtype):
    z = np.array([[np.nan, 1.0]], dtype=dtype)
    assert np.isnan(kernels.activation_forward(z, activation="relu")[0, 0])


@pytest.mark.parametrize("act", ACTS)
def test_forward_in_place(isa, dtype, act):
    rng = np.random.default_rng(11)
    z = make(rng, (9, 37), dtype)
    b = make(rng, 37, dtype)
    expected = kernels.activation_forward(z, b, activation=act)
    out = kernels.activation_forward(z, b, activation=act, out=z)
    assert out is z
    np.testing.assert_array_equal(z, expected)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_matches_oracle(isa, dtype, act, shape):
    rng = np.random.default_rng(5)
    y = kernels.activation_forward(make(rng, shape, dtype), activation=act, slope=0.2)
    dy = make(rng, shape, dtype, 1.0)
    dz = kernels.activation_backward(dy, y, activation=act, slope=0.2)
    dy64, y64 = oracle_inputs(dy, y)
    s = float(np.asarray(0.2, dtype=dtype))
    assert_matches(dz, reference.activation_backward(dy64, y64, activation=act, slope=s), dtype,
                   f"{act} backward", scale=np.abs(dy64))


@pytest.mark.parametrize("act", ACTS)
def test_backward_every_tail_and_in_place(isa, dtype, act):
    rng = np.random.default_rng(9)
    for n in TAILS:
        y = kernels.activation_forward(make(rng, (2, n), dtype), activation=act)
        dy = make(rng, (2, n), dtype)
        expected = kernels.activation_backward(dy, y, activation=act)
        dy64, y64 = oracle_inputs(dy, y)
        assert_matches(expected, reference.activation_backward(dy64, y64, activation=act), dtype,
                       f"{act} backward n={n}", scale=np.abs(dy64))
        out = kernels.activation_backward(dy, y, activation=act, out=dy)
        assert out is dy
        np.testing.assert_array_equal(dy, expected)


@pytest.mark.parametrize("act", ACTS)
def test_backward_is_the_derivative(isa, act):
    # d/dz sum(dy * act(z)) == activation_backward(dy, act(z)), z away from relu's kink.
    rng = np.random.default_rng(13)
    z = rng.uniform(0.1, 2.0, size=(3, 5)) * rng.choice([-1, 1], size=(3, 5))
    dy = rng.standard_normal((3, 5))

    def f(zz):
        return float((dy * kernels.activation_forward(zz, activation=act, slope=0.1)).sum())

    y = kernels.activation_forward(z, activation=act, slope=0.1)
    dz = kernels.activation_backward(dy, y, activation=act, slope=0.1)
    assert_grad(dz, f, z, f"{act} backward vs finite differences")


# ---- softmax ------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_matches_oracle(isa, dtype, shape):
    rng = np.random.default_rng(17)
    z = make(rng, shape, dtype)
    y = kernels.softmax(z)
    (z64,) = oracle_inputs(z)
    assert_matches(y, reference.softmax(z64), dtype, "softmax")


def test_softmax_every_tail(isa, dtype):
    rng = np.random.default_rng(19)
    for n in TAILS:
        z = make(rng, (3, n), dtype, 10.0)
        (z64,) = oracle_inputs(z)
        assert_matches(kernels.softmax(z), reference.softmax(z64), dtype, f"softmax n={n}")


@pytest.mark.parametrize("big", [1e4, 1e30])
def test_softmax_extreme_logits(isa, dtype, big):
    z = np.array([[big, -big, 0.0, 1.0],
                  [-big, -big, -big, -big],
                  [big, big, -big, big],
                  [-big, 0.0, 1.0, -big]], dtype=dtype)
    y = kernels.softmax(z)
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6 if dtype == np.float32 else 1e-15)
    (z64,) = oracle_inputs(z)
    assert_matches(y, reference.softmax(z64), dtype, "softmax extreme")


def test_softmax_in_place(isa, dtype):
    rng = np.random.default_rng(23)
    z = make(rng, (6, 21), dtype)
    expected = kernels.softmax(z)
    assert kernels.softmax(z, out=z) is z
    np.testing.assert_array_equal(z, expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_backward_matches_oracle(isa, dtype, shape):
    rng = np.random.default_rng(29)
    y = kernels.softmax(make(rng, shape, dtype))
    dy = make(rng, shape, dtype, 1.0)
    dz = kernels.softmax_backward(dy, y)
    dy64, y64 = oracle_inputs(dy, y)
    # y * (dy - s) cancels when dy ~ s: compare against the size of the terms.
    scale = y64 * (np.abs(dy64) + np.abs((dy64 * y64).sum(axis=1, keepdims=True)))
    assert_matches(dz, reference.softmax_backward(dy64, y64), dtype, "softmax backward", scale=scale)


def test_softmax_backward_in_place_and_tails(isa, dtype):
    rng = np.random.default_rng(31)
    for n in TAILS:
        y = kernels.softmax(make(rng, (2, n), dtype))
        dy = make(rng, (2, n), dtype)
        expected = kernels.softmax_backward(dy, y)
        assert kernels.softmax_backward(dy, y, out=dy) is dy
        np.testing.assert_array_equal(dy, expected)


def test_softmax_backward_is_the_derivative(isa):
    rng = np.random.default_rng(37)
    z = rng.standard_normal((3, 6))
    dy = rng.standard_normal((3, 6))
    dz = kernels.softmax_backward(dy, kernels.softmax(z))
    assert_grad(dz, lambda zz: float((dy * kernels.softmax(zz)).sum()), z, "softmax backward")


def test_all_isa_paths_agree_bitwise(dtype):
    # Same template, no contraction: every path rounds identically.
    rng = np.random.default_rng(41)
    z = make(rng, (5, 77), dtype, 5.0)
    b = make(rng, 77, dtype)
    before = fastmlp.get_isa()
    results = []
    try:
        for isa in fastmlp.available_isas():
            fastmlp.set_isa(isa)
            results.append([kernels.activation_forward(z, b, activation=a) for a in ACTS]
                           + [kernels.softmax(z)])
    finally:
        fastmlp.set_isa(before)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


# ---- property-based -------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(data=st.data(), act=st.sampled_from(ACTS + ["softmax"]),
       dt=st.sampled_from([np.float32, np.float64]))
def test_property_forward_backward_match_oracle(data, act, dt):
    dtype = np.dtype(dt)
    shape = data.draw(st.tuples(st.integers(1, 9), st.integers(1, 70)), label="shape")
    elems = st.floats(-60, 60, allow_nan=False, width=32)
    z = data.draw(hnp.arrays(dtype, shape, elements=elems), label="z")
    dy = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-5, 5, width=32)), label="dy")
    z64, dy64 = oracle_inputs(z, dy)
    if act == "softmax":
        y = kernels.softmax(z)
        assert_matches(y, reference.softmax(z64), dtype, "softmax")
        (y64,) = oracle_inputs(y)
        scale = y64 * (np.abs(dy64) + np.abs((dy64 * y64).sum(axis=1, keepdims=True)))
        assert_matches(kernels.softmax_backward(dy, y), reference.softmax_backward(dy64, y64),
                       dtype, "softmax backward", scale=scale)
        return
    y = kernels.activation_forward(z, activation=act)
    assert_matches(y, reference.activation_forward(z64, activation=act), dtype, act)
    (y64,) = oracle_inputs(y)
    assert_matches(kernels.activation_backward(dy, y, activation=act),
                   reference.activation_backward(dy64, y64, activation=act), dtype,
                   act + " backward", scale=np.abs(dy64))


# ---- validation -------------------------------------------------------------------

def test_forward_validation_errors():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="activation must be one of"):
        kernels.activation_forward(z, activation="softplus")
    with pytest.raises(TypeError, match="activation must be a string"):
        kernels.activation_forward(z, activation=3)
    with pytest.raises(ValueError, match="slope must be in"):
        kernels.activation_forward(z, activation="leaky_relu", slope=1.5)
    with pytest.raises(TypeError, match="slope must be a real number"):
        kernels.activation_forward(z, activation="leaky_relu", slope="0.1")
    with pytest.raises(TypeError, match="z must have dtype"):
        kernels.activation_forward(z.astype(np.int32))
    with pytest.raises(TypeError, match="z must be a NumPy array"):
        kernels.activation_forward([[1.0]])
    with pytest.raises(ValueError, match="z must be 2-D"):
        kernels.activation_forward(np.zeros(3))
    with pytest.raises(ValueError, match="z must be C-contiguous"):
        kernels.activation_forward(np.zeros((3, 4))[:, ::2])
    with pytest.raises(ValueError, match="bias has 2 entries"):
        kernels.activation_forward(z, np.zeros(2))
    with pytest.raises(TypeError, match="bias has dtype float32"):
        kernels.activation_forward(z, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.activation_forward(z, out=np.zeros((3, 2)))
    ro = np.zeros((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        kernels.activation_forward(z, out=ro)
    big = np.zeros((3, 3))
    with pytest.raises(ValueError, match="out shares memory with z"):
        kernels.activation_forward(big[:2], out=big[1:])


def test_backward_and_softmax_validation_errors():
    y = np.zeros((2, 3))
    with pytest.raises(ValueError, match="dy must have the shape of y"):
        kernels.activation_backward(np.zeros((3, 2)), y, activation="relu")
    with pytest.raises(TypeError, match="dy has dtype float32"):
        kernels.activation_backward(np.zeros((2, 3), np.float32), y, activation="tanh")
    with pytest.raises(ValueError, match="out shares memory with y"):
        kernels.activation_backward(np.zeros((2, 3)), y, activation="tanh", out=y)
    with pytest.raises(ValueError, match="z must be 2-D"):
        kernels.softmax(np.zeros(4))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.softmax(y, out=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="dy must have the shape of y"):
        kernels.softmax_backward(np.zeros((2, 2)), y)
    with pytest.raises(ValueError, match="out shares memory with y"):
        kernels.softmax_backward(np.zeros((2, 3)), y, out=y)


def test_core_rechecks_shapes_and_dtypes():
    # The Cython layer refuses what would make C read or write out of bounds.
    from fastmlp import _core
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="shapes differ"):
        _core.softmax_forward(np.zeros((3, 5)), z)
    with pytest.raises(ValueError, match="dtypes differ"):
        _core.bias_act_forward(np.zeros((3, 4), np.float32), z, None, 0, 0.0)
    with pytest.raises(ValueError, match="bias must have N entries"):
        _core.bias_act_forward(np.zeros((3, 4)), z, np.zeros(3), 0, 0.0)
    with pytest.raises(ValueError, match="not C-contiguous"):
        _core.act_backward(np.zeros((3, 4)), np.zeros((4, 3)).T, z, 3, 0.0)
    with pytest.raises(ValueError, match="one label per row"):
        _core.softmax_xent_labels(None, z, np.zeros(2, np.int64), None)
    with pytest.raises(ValueError, match="sizes differ"):
        _core.sgd_update(np.zeros(4), np.zeros(5), 0.1, 0.0, 0.0)
    with pytest.raises(ValueError, match="t must be >= 1"):
        _core.adam_update(*(np.zeros(4) for _ in range(4)), 0.1, 0.9, 0.999, 1e-8, 0, 0.0, 0.0)
