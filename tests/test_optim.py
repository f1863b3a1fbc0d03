"""The in-place optimizer updates (SGD with L2/L1, momentum, Nesterov, Adam)
against the NumPy oracle on every ISA path and dtype, over several
consecutive steps, with the validation errors of fastmlp.kernels."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastmlp import kernels, reference
from elementwise_helpers import TAILS, assert_matches, oracle_inputs

SIZES = [1, 2, 7, 8, 9, 31, 33, 64, 1000, 4099]


def as_dtype(x, dtype):
    """A hyperparameter as the kernel sees it (rounded to the array dtype)."""
    return float(np.asarray(x, dtype=dtype))


def vectors(rng, n, dtype, k):
    return [rng.standard_normal(n).astype(dtype) for _ in range(k)]


def hyper(dtype, **kw):
    return {k: (as_dtype(v, dtype) if isinstance(v, float) else v) for k, v in kw.items()}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("reg", [(0.0, 0.0), (1e-2, 0.0), (0.0, 1e-3), (1e-2, 1e-3)],
                         ids=["noreg", "l2", "l1", "l2l1"])
def test_sgd_matches_oracle(isa, dtype, n, reg):
    rng = np.random.default_rng(n)
    w, g = vectors(rng, n, dtype, 2)
    w[: n // 3] = 0  # sign(0) = 0 for the L1 term
    w64, g64 = oracle_inputs(w, g)
    hp = hyper(dtype, lr=0.05, l2=reg[0], l1=reg[1])
    assert kernels.sgd_update(w, g, **hp) is w
    reference.sgd_update(w64, g64, **hp)
    assert_matches(w, w64, dtype, "sgd")


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
@pytest.mark.parametrize("reg", [(0.0, 0.0), (1e-2, 1e-3)], ids=["noreg", "reg"])
def test_momentum_several_steps_match_oracle(isa, dtype, n, nesterov, reg):
    rng = np.random.default_rng(n + 1)
    w, v = vectors(rng, n, dtype, 2)
    w64, v64 = oracle_inputs(w, v)
    hp = hyper(dtype, lr=0.1, momentum=0.9, l2=reg[0], l1=reg[1])
    for step in range(5):
        (g,) = vectors(rng, n, dtype, 1)
        (g64,) = oracle_inputs(g)
        kernels.momentum_update(w, v, g, nesterov=nesterov, **hp)
        reference.momentum_update(w64, v64, g64, nesterov=nesterov, **hp)
        # Oracle from the kernel's own state each step: errors do not compound.
        assert_matches(v, v64, dtype, f"velocity step {step}", scale=np.abs(g64) * 0.1 + np.abs(v64))
        assert_matches(w, w64, dtype, f"weights step {step}", scale=np.abs(w64) + np.abs(v64))
        w64, v64 = oracle_inputs(w, v)


def test_nesterov_differs_from_plain_momentum(isa):
    rng = np.random.default_rng(3)
    w, v, g = vectors(rng, 10, np.float64, 3)
    w1, v1, w2, v2 = w.copy(), v.copy(), w.copy(), v.copy()
    kernels.momentum_update(w1, v1, g, lr=0.1, momentum=0.9, nesterov=False)
    kernels.momentum_update(w2, v2, g, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_allclose(w2 - w, 0.9 * v2 - 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(w1 - w, v1, rtol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("reg", [(0.0, 0.0), (1e-2, 1e-3)], ids=["noreg", "reg"])
def test_adam_several_steps_match_oracle(isa, dtype, n, reg):
    rng = np.random.default_rng(n + 2)
    # Weights of the size of a few steps, so float32 still resolves each step.
    w = (vectors(rng, n, dtype, 1)[0] * 1e-3).astype(dtype)
    m = np.zeros(n, dtype)
    v = np.zeros(n, dtype)
    hp = hyper(dtype, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, l2=reg[0], l1=reg[1])
    for t in range(1, 8):
        (g,) = vectors(rng, n, dtype, 1)
        w64, m64, v64, g64 = oracle_inputs(w, m, v, g)
        w_before = w64.copy()
        kernels.adam_update(w, m, v, g, t=t, **hp)
        reference.adam_update(w64, m64, v64, g64, t=t, **hp)
        assert_matches(m, m64, dtype, f"m step {t}", scale=np.abs(m64) + 0.1 * np.abs(g64))
        assert_matches(v, v64, dtype, f"v step {t}")
        # The step is what carries the formula; compare it, up to w's rounding.
        assert_matches(w - w_before, w64 - w_before, dtype, f"w step {t}", scale=np.abs(w64))


def test_adam_late_step_bias_correction(isa, dtype):
    # At t = 10000 the bias correction is ~1; in float it must not become 0/0.
    rng = np.random.default_rng(5)
    w, m, g = vectors(rng, 50, dtype, 3)
    v = np.abs(vectors(rng, 50, dtype, 1)[0])
    w64, m64, v64, g64 = oracle_inputs(w, m, v, g)
    hp = hyper(dtype, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    w0 = w64.copy()
    kernels.adam_update(w, m, v, g, t=10000, **hp)
    reference.adam_update(w64, m64, v64, g64, t=10000, **hp)
    assert_matches(w - w0, w64 - w0, dtype, "adam step t=10000", scale=np.abs(w64))


def test_every_tail_length(isa, dtype):
    rng = np.random.default_rng(7)
    for n in TAILS:
        w, v, g = vectors(rng, n, dtype, 3)
        w64, v64, g64 = oracle_inputs(w, v, g)
        hp = hyper(dtype, lr=0.1, momentum=0.5, l2=0.01, l1=0.01)
        kernels.momentum_update(w, v, g, nesterov=True, **hp)
        reference.momentum_update(w64, v64, g64, nesterov=True, **hp)
        assert_matches(w, w64, dtype, f"nesterov n={n}", scale=np.abs(w64) + np.abs(v64))


def test_updates_accept_any_shape(isa):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((3, 4, 5))
    g = rng.standard_normal((3, 4, 5))
    w64 = w.copy()
    kernels.sgd_update(w, g, lr=0.5)
    np.testing.assert_allclose(w, w64 - 0.5 * g, rtol=1e-15)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1),
       dt=st.sampled_from([np.float32, np.float64]), nesterov=st.booleans(),
       lr=st.floats(1e-4, 1.0), mom=st.floats(0, 0.99), l2=st.floats(0, 0.1), l1=st.floats(0, 0.1))
def test_property_momentum_and_adam(n, seed, dt, nesterov, lr, mom, l2, l1):
    dtype = np.dtype(dt)
    rng = np.random.default_rng(seed)
    w, v, g = vectors(rng, n, dtype, 3)
    hp = hyper(dtype, lr=lr, momentum=mom, l2=l2, l1=l1)
    w64, v64, g64 = oracle_inputs(w, v, g)
    kernels.momentum_update(w, v, g, nesterov=nesterov, **hp)
    reference.momentum_update(w64, v64, g64, nesterov=nesterov, **hp)
    scale = np.abs(w64) + np.abs(v64) + lr * np.abs(g64)
    assert_matches(w, w64, dtype, "momentum w", scale=scale)
    m = np.zeros(n, dtype)
    vv = np.zeros(n, dtype)
    w64, m64, vv64 = oracle_inputs(w, m, vv)
    w0 = w64.copy()
    ha = hyper(dtype, lr=lr, beta1=0.9, beta2=0.999, eps=1e-8, l2=l2, l1=l1)
    kernels.adam_update(w, m, vv, g, t=1, **ha)
    reference.adam_update(w64, m64, vv64, g64, t=1, **ha)
    assert_matches(w - w0, w64 - w0, dtype, "adam w step", scale=np.abs(w64))


# ---- validation ----------------------------------------------------------------------

def test_sgd_validation_errors():
    w, g = np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="lr must be > 0"):
        kernels.sgd_update(w, g, lr=0.0)
    with pytest.raises(ValueError, match="lr must be finite"):
        kernels.sgd_update(w, g, lr=np.inf)
    with pytest.raises(TypeError, match="lr must be a real number"):
        kernels.sgd_update(w, g, lr=None)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        kernels.sgd_update(w, g, lr=0.1, l2=-1.0)
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        kernels.sgd_update(w, g, lr=0.1, l1=-1.0)
    with pytest.raises(ValueError, match="g must have the shape of w"):
        kernels.sgd_update(w, np.zeros(5), lr=0.1)
    with pytest.raises(TypeError, match="g has dtype float32"):
        kernels.sgd_update(w, np.zeros(4, np.float32), lr=0.1)
    with pytest.raises(TypeError, match="w must be a NumPy array"):
        kernels.sgd_update([0.0], g, lr=0.1)
    with pytest.raises(ValueError, match="w must be C-contiguous"):
        kernels.sgd_update(np.zeros(8)[::2], g, lr=0.1)
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="w is read-only"):
        kernels.sgd_update(ro, g, lr=0.1)
    with pytest.raises(ValueError, match="w shares memory with g"):
        kernels.sgd_update(w, w, lr=0.1)


def test_momentum_and_adam_validation_errors():
    w, v, g = np.zeros(4), np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="momentum must be < 1"):
        kernels.momentum_update(w, v, g, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        kernels.momentum_update(w, v, g, lr=0.1, momentum=-0.1)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        kernels.momentum_update(w, v, g, lr=0.1, nesterov=1)
    with pytest.raises(ValueError, match="v must have the shape of w"):
        kernels.momentum_update(w, np.zeros(3), g, lr=0.1)
    with pytest.raises(ValueError, match="w shares memory with v"):
        kernels.momentum_update(w, w, g, lr=0.1)
    m = np.zeros(4)
    with pytest.raises(TypeError, match="t must be an integer"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=1.0)
    with pytest.raises(TypeError, match="t must be an integer"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=True)
    with pytest.raises(ValueError, match="t must be >= 1"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=0)
    with pytest.raises(ValueError, match="beta1 must be < 1"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=1, beta1=1.0)
    with pytest.raises(ValueError, match="beta2 must be >= 0"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=1, beta2=-0.5)
    with pytest.raises(ValueError, match="eps must be > 0"):
        kernels.adam_update(w, m, v, g, lr=0.1, t=1, eps=0.0)
    with pytest.raises(ValueError, match="m shares memory with v"):
        kernels.adam_update(w, m, m, g, lr=0.1, t=1)
    with pytest.raises(TypeError, match="m has dtype float32"):
        kernels.adam_update(w, np.zeros(4, np.float32), v, g, lr=0.1, t=1)
