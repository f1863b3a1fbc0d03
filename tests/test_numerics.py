"""Numerical faults: divergence stops cleanly, extreme inputs never give NaN probabilities.
It deliberately tests failure behaviour only; accuracy against the oracle is test_engine.py's.

The rule these tests pin down: a fitted model's weights are always finite, and predict /
predict_proba never return NaN or infinity. Finite inputs whose values stay finite through
the network (|x| = 1e30 in float32 and float64 alike) give finite probabilities that sum to
one; inputs that overflow the dtype on their way through the network are refused with a
ValueError that says so, instead of returning garbage.
"""
import numpy as np
import pytest

from fastmlp import MLP, MLPClassifier, MLPRegressor, NonFiniteLossError, kernels

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning")

DTYPES = ["float32", "float64"]


def data(n=200, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(n, 6)
    return X, np.arange(n) % 3


# ---- divergence ------------------------------------------------------------------------------

# Learning rates that make each solver diverge within a few epochs in each dtype (Adam's step
# is bounded by its rate, so it needs rates near the top of the dtype's range).
DIVERGING_LR = {("sgd", "float32"): 1e6, ("sgd", "float64"): 1e30,
                ("adam", "float32"): 1e30, ("adam", "float64"): 1e300}


def _targets(kind, X, y):
    return y if kind == "classifier" else X[:, 0] * 10


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_stops_with_an_error_and_finite_weights(solver, dtype, kind):
    X, y = data()
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    lr = DIVERGING_LR[solver, dtype]
    model = cls(hidden_layer_sizes=(16,), solver=solver, learning_rate_init=lr, max_iter=50,
                dtype=dtype, random_state=0)
    with pytest.raises(NonFiniteLossError, match="learning_rate_init") as info:
        model.fit(X, _targets(kind, X, y))
    assert isinstance(info.value, ValueError)
    eng = model._engine
    assert eng.params.dtype == np.dtype(dtype)
    assert np.isfinite(eng.params).all()
    for layer in model.coefs_ + model.intercepts_:
        assert np.isfinite(layer).all()
    for key, value in eng.get_state().items():  # optimizer moments too
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), key
    # the bookkeeping stops at the last whole epoch
    assert model.n_iter_ == len(model.loss_curve_) < 50
    assert np.isfinite(model.loss_curve_).all()
    # the model is still a model: prediction gives finite values or refuses clearly
    try:
        out = model.predict(X)
    except ValueError as exc:
        assert "overflowed" in str(exc) and "lower learning rate" in str(exc)
    else:
        assert np.isfinite(np.asarray(out, dtype=float)).all()
    # and a sane learning rate trains it again from scratch
    model.set_params(learning_rate_init=1e-3, max_iter=3).fit(X, _targets(kind, X, y))
    assert np.isfinite(model._engine.params).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_partial_fit_divergence_keeps_finite_weights(dtype):
    X, y = data()
    model = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", dtype=dtype, random_state=0,
                          learning_rate_init=DIVERGING_LR["sgd", dtype])
    with pytest.raises(NonFiniteLossError):
        for _ in range(50):
            model.partial_fit(X, y, classes=[0, 1, 2])
    assert np.isfinite(model._engine.params).all()


# ---- extreme inputs --------------------------------------------------------------------------

def _classifiers(dtype):
    X, y = data()
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, dtype=dtype, random_state=0)
    for act in ("relu", "tanh", "logistic", "identity"):
        yield f"multiclass-{act}", MLPClassifier(activation=act, **kw).fit(X, y)
    yield "binary", MLPClassifier(**kw).fit(X, y % 2)
    yield "multilabel", MLPClassifier(**kw).fit(X, np.c_[y == 0, y == 1].astype(int))
    yield "logistic-onehot", MLP(loss="squared_error", output_activation="logistic", **kw).fit(
        X, y)


def _extreme(scale):
    """Rows of +-scale in several sign patterns, and ordinary rows among them."""
    rs = np.random.RandomState(1)
    signs = np.sign(rs.randn(12, 6))
    signs[0], signs[1] = 1, -1
    X = signs * scale
    X[5] = rs.randn(6)
    X[7, :3] = 0.5
    return X


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_of_1e30_give_finite_probabilities_summing_to_one(dtype):
    X = _extreme(1e30)
    for name, model in _classifiers(dtype):
        P = model.predict_proba(X)
        assert P.dtype == np.dtype(dtype)
        assert np.isfinite(P).all(), name
        assert ((P >= 0) & (P <= 1)).all(), name
        if name != "multilabel":
            np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6, err_msg=name)
        assert len(model.predict(X)) == len(X)
        with np.errstate(divide="ignore"):
            assert not np.isnan(model.predict_log_proba(X)).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_of_1e30_inputs_is_finite(dtype):
    X, y = data()
    model = MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, dtype=dtype,
                         random_state=0).fit(X, X[:, 0])
    assert np.isfinite(model.predict(_extreme(1e30))).all()


def _overflowing(model):
    """Make the hidden layer huge on purpose: weights +1 into the hidden layer and +-1 out of
    it, so X near the top of the dtype's range overflows to inf, and inf - inf to NaN."""
    model.coefs_[0][...] = 1.0
    model.coefs_[1][...] = np.where(np.arange(model.coefs_[1].size) % 2, 1.0, -1.0).reshape(
        model.coefs_[1].shape)
    return model


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_outputs_that_overflow_are_refused_not_returned(dtype, method):
    X, y = data()
    model = _overflowing(MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, dtype=dtype,
                                       random_state=0).fit(X, y))
    big = np.full((4, 6), float(np.finfo(dtype).max) / 2)
    big[1] = 0.0  # a row that is fine on its own
    call = getattr(model, method)
    args = (big, y[:4]) if method == "score" else (big,)
    with pytest.raises(ValueError, match=r"overflowed to infinity or NaN for 3 of 4 rows of X"):
        call(*args)
    assert np.isfinite(model.predict_proba(big[1:2])).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_outputs_that_overflow_are_refused(dtype):
    X, y = data()
    for model in (MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype=dtype, random_state=0),
                  MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=2,
                               dtype=dtype, random_state=0)):
        model.fit(X, np.abs(X[:, 0]))
        _overflowing(model)
        big = np.full((2, 6), float(np.finfo(dtype).max) / 2)
        msg = "dtype='float64'" if dtype == "float32" else "scale X"
        with pytest.raises(ValueError, match=msg):
            model.predict(big)


# ---- kernels at the edges of the range -------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_stay_finite_for_huge_finite_logits(dtype):
    top = float(np.finfo(dtype).max)
    z = np.array([[top, -top, 0.0], [-top, -top, -top], [1e30, -1e30, 1.0], [top, top, -top],
                  [0.0, 0.0, 0.0]], dtype=dtype)
    p = kernels.softmax(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(p[0], [1, 0, 0])
    np.testing.assert_allclose(p[3], [0.5, 0.5, 0])
    s = kernels.activation_forward(z, activation="logistic")
    assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all()
    # Losses are summed in double: a quarter of the range keeps the true loss representable
    # in float64 too (the gap between two logits of +-max is itself beyond it).
    zq = z / 4
    loss, grad = kernels.softmax_cross_entropy(zq, np.array([1, 0, 2, 2, 1]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    loss, grad = kernels.sigmoid_binary_cross_entropy(zq, (zq > 0).astype(dtype))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    one = zq[:1]  # confidently wrong: a huge loss, still a number
    loss, grad = kernels.sigmoid_binary_cross_entropy(one, (one <= 0).astype(dtype))
    assert np.isfinite(loss) and np.isfinite(grad).all() and loss > 1e30
