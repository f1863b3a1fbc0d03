"""Behaviour of MLP, MLPClassifier and MLPRegressor: targets, checks, state, stopping, extras.
It deliberately leaves scikit-learn's numbers to test_sklearn_compat.py; any engine may run it.
"""
import os
import pickle
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest

from fastmlp import (MLP, ConvergenceWarning, MLPClassifier, MLPRegressor, NonFiniteLossError,
                     NotFittedError)
from fastmlp import _validation as V
from fastmlp.__main__ import _read_digits, _stratified_split

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning")

SMALL = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


def blobs(n=120, n_features=4, n_classes=3, seed=0):
    rs = np.random.RandomState(seed)
    centers = rs.randn(n_classes, n_features) * 3
    y = np.arange(n) % n_classes
    X = centers[y] + rs.randn(n, n_features)
    return X, y


def regression(n=100, n_outputs=1, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(n, 5)
    Y = X[:, :n_outputs] * 2 + 0.5 * X[:, 1:1 + n_outputs] ** 2
    return X, (Y.ravel() if n_outputs == 1 else Y)


def snapshot(model):
    """Everything a failed call must leave untouched."""
    return (model.get_params(), [c.copy() for c in model.coefs_],
            [b.copy() for b in model.intercepts_], model.n_iter_, list(model.loss_curve_),
            model._engine.get_state()["step"])


def assert_same_snapshot(a, b):
    assert a[0].keys() == b[0].keys()
    for x, y in zip(a[1] + a[2], b[1] + b[2]):
        np.testing.assert_array_equal(x, y)
    assert a[3:] == b[3:]


# ---- parameters ------------------------------------------------------------------------------

SKLEARN_DEFAULTS = dict(hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=0.0001,
                        batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                        power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                        verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                        early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-8, n_iter_no_change=10, max_fun=15000)
EXTRA_DEFAULTS = dict(leaky_slope=0.01, dropout=0.0, l1=0.0, weight_init="glorot",
                      dtype="float32", n_threads=None)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, MLP])
def test_defaults_are_scikit_learns_plus_the_extras(cls):
    params = cls().get_params()
    for name, value in {**SKLEARN_DEFAULTS, **EXTRA_DEFAULTS}.items():
        assert params[name] == value, name
    if cls is MLPRegressor:
        assert params["loss"] == "squared_error" and "class_weight" not in params
    else:
        assert params["class_weight"] is None
    if cls is MLP:
        assert params["loss"] == "auto" and params["output_activation"] == "auto"


BAD_PARAMS = [
    ("hidden_layer_sizes", 0, ValueError, "hidden_layer_sizes must be > 0"),
    ("hidden_layer_sizes", (10, -1), ValueError, "hidden_layer_sizes"),
    ("hidden_layer_sizes", "10", TypeError, r"hidden_layer_sizes\[0\]"),
    ("activation", "softplus", ValueError, "activation must be one of"),
    ("solver", "rmsprop", ValueError, "solver must be one of"),
    ("alpha", -1.0, ValueError, "alpha must be in"),
    ("batch_size", 0, ValueError, "batch_size must be an integer >= 1"),
    ("batch_size", "big", ValueError, "batch_size must be one of 'auto'"),
    ("learning_rate", "cosine", ValueError, "learning_rate must be one of"),
    ("learning_rate_init", 0.0, ValueError, "learning_rate_init must be in"),
    ("power_t", -0.5, ValueError, "power_t"),
    ("max_iter", 0, ValueError, "max_iter must be an integer >= 1"),
    ("max_iter", 2.5, TypeError, "max_iter must be an integer"),
    ("shuffle", "yes", TypeError, "shuffle must be True or False"),
    ("random_state", "seed", ValueError, "random_state must be None, an int"),
    ("random_state", -1, ValueError, "random_state must be an integer in"),
    ("tol", -1e-4, ValueError, "tol must be in"),
    ("momentum", 1.5, ValueError, "momentum must be in"),
    ("nesterovs_momentum", None, TypeError, "nesterovs_momentum must be True or False"),
    ("validation_fraction", 1.0, ValueError, "validation_fraction must be in"),
    ("beta_1", 1.0, ValueError, "beta_1 must be in"),
    ("beta_2", -0.1, ValueError, "beta_2 must be in"),
    ("epsilon", 0.0, ValueError, "epsilon must be in"),
    ("n_iter_no_change", 0, ValueError, "n_iter_no_change"),
    ("max_fun", 0, ValueError, "max_fun"),
    ("leaky_slope", 1.0, ValueError, "leaky_slope must be in"),
    ("dropout", 1.0, ValueError, "dropout must be in"),
    ("dropout", (0.1, 0.2), ValueError, "dropout has 2 rates but there are 1 hidden layers"),
    ("dropout", "0.5", TypeError, "dropout must be a rate"),
    ("l1", -0.1, ValueError, "l1 must be in"),
    ("weight_init", "xavier", ValueError, "weight_init must be one of"),
    ("dtype", "float16", ValueError, "dtype must be 'float32' or 'float64'"),
    ("n_threads", 0, ValueError, "n_threads must be an integer >= 1"),
    ("class_weight", "balance", ValueError, "class_weight must be None, 'balanced'"),
    ("class_weight", [1, 2], TypeError, "class_weight must be None"),
    ("class_weight", {0: -1.0}, ValueError, r"class_weight\[0\] must be in"),
    ("class_weight", {7: 2.0}, ValueError, "class_weight has the label 7"),
    ("alpha", float("nan"), ValueError, "alpha must be in"),
    ("alpha", float("inf"), ValueError, "alpha must be in"),
]


@pytest.mark.parametrize("name,value,exc,match", BAD_PARAMS,
                         ids=[f"{n}={v!r}" for n, v, _, _ in BAD_PARAMS])
def test_bad_hyperparameter_is_refused_and_model_kept(name, value, exc, match):
    X, y = blobs()
    model = MLPClassifier(**SMALL).fit(X, y)
    before = snapshot(model)
    predictions = model.predict_proba(X)
    model.set_params(**{name: value})  # set_params never validates (scikit-learn's rule)
    with pytest.raises(exc, match=match):
        model.fit(X, y)
    after = snapshot(model)
    for a, b in zip(before[1] + before[2], after[1] + after[2]):
        np.testing.assert_array_equal(a, b)
    assert before[3:] == after[3:]
    np.testing.assert_array_equal(model.predict_proba(X), predictions)


def test_mlp_and_regressor_specific_parameters():
    X, y = regression()
    with pytest.raises(ValueError, match="loss must be one of"):
        MLPRegressor(loss="absolute_error").fit(X, y)
    with pytest.raises(ValueError, match="output_activation must be one of"):
        MLP(output_activation="tanh").fit(X, y)
    with pytest.raises(ValueError, match="cannot be trained with loss='cross_entropy'"):
        MLP(loss="cross_entropy", output_activation="logistic").fit(X, y.round())
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        MLPRegressor(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="needs non-negative targets"):
        MLPRegressor(loss="poisson", **SMALL).fit(X, y)


# ---- input validation ------------------------------------------------------------------------

def _bad_inputs():
    X, y = blobs(60)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    Xi = X.copy()
    Xi[0, 0] = np.inf
    yield "nan in X", Xn, y, None, ValueError, "Input X contains NaN"
    yield "inf in X", Xi, y, None, ValueError, "Input X contains infinity"
    yield "1-D X", X[:, 0], y, None, ValueError, "Reshape your data"
    yield "3-D X", X.reshape(60, 2, 2), y, None, ValueError, "X must be 2-D"
    yield "empty X", X[:0], y[:0], None, ValueError, "0 sample"
    yield "no features", X[:, :0], y, None, ValueError, r"0 feature\(s\)"
    yield "length mismatch", X, y[:-1], None, ValueError, "inconsistent numbers of samples"
    yield "string X", X.astype(str), y, None, TypeError, "holds strings"
    yield "object X", np.array([[{"a": 1}, 2.0]] * 60, dtype=object), y, None, TypeError, \
        "not numbers"
    yield "complex X", X + 1j, y, None, ValueError, "Complex data not supported"
    yield "bool X", X > 0, y, None, TypeError, "dtype bool"
    yield "too large for float32", X * 1e300, y, None, ValueError, "too large for dtype"
    yield "one class", X, np.zeros(60, int), None, ValueError, "only one class"
    yield "y None", X, None, None, ValueError, "requires y to be passed"
    yield "nan labels", X, np.where(y == 0, np.nan, y), None, ValueError, "Input y contains NaN"
    yield "continuous labels", X, y + 0.5, None, ValueError, "Unknown label type: continuous"
    yield "mixed labels", X, np.array([1, "a"] * 30, dtype=object), None, ValueError, \
        "Mix of label input types"
    yield "multiclass-multioutput", X, np.c_[y, y], None, ValueError, "indicator"
    yield "nan weight", X, y, np.where(y == 0, np.nan, 1.0), ValueError, \
        "sample_weight contains NaN"
    yield "negative weight", X, y, np.where(y == 0, -1.0, 1.0), ValueError, "negative"
    yield "zero weights", X, y, np.zeros(60), ValueError, "at least one non-zero"
    yield "2-D weights", X, y, np.ones((60, 1)), ValueError, "sample_weight must be 1-D"
    yield "short weights", X, y, np.ones(59), ValueError, "59 weights but X has 60 rows"
    yield "one weighted class", X, y, (y == 1).astype(float), ValueError, "only one class"


BAD_INPUTS = list(_bad_inputs())


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_and_fitted_model_kept(case):
    _, X, y, sw, exc, match = case
    Xg, yg = blobs(60)
    model = MLPClassifier(**SMALL).fit(Xg, yg)
    before = snapshot(model)
    with pytest.raises(exc, match=match):
        model.fit(X, y, sample_weight=sw)
    assert_same_snapshot(before, snapshot(model))
    # an unfitted model stays unfitted
    fresh = MLPClassifier(**SMALL)
    with pytest.raises(exc, match=match):
        fresh.fit(X, y, sample_weight=sw)
    assert not fresh.__sklearn_is_fitted__()


def test_sparse_input_trains_like_dense_and_bad_sparse_is_refused():
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is optional; it makes sparse X")
    X, y = blobs(30)
    X[X < 0.5] = 0
    params = dict(SMALL, dtype="float64")
    dense = MLPClassifier(**params).fit(X, y)
    for fmt in ("csr", "csc", "coo"):
        model = MLPClassifier(**params).fit(getattr(sparse, f"{fmt}_matrix")(X), y)
        for a, b in zip(model.coefs_, dense.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(model.predict_proba(sparse.csr_matrix(X)),
                                   dense.predict_proba(X), rtol=1e-12, atol=1e-14)
    bad = sparse.csr_matrix(X)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        MLPClassifier(**params).fit(bad, y)
    with pytest.raises(TypeError, match="dtype bool"):
        MLPClassifier(**params).fit(sparse.csr_matrix(X > 0), y)


def test_regression_targets_are_checked():
    X, y = regression(40)
    for bad, match in ((np.array(["a"] * 40), "holds strings"),
                       (np.where(np.arange(40) == 3, np.inf, y), "Input y contains infinity"),
                       (y[:30], "inconsistent numbers of samples"),
                       (np.zeros((40, 2, 2)), "y should be a 1d array"),
                       (y + 1j, "Complex data not supported")):
        with pytest.raises(ValueError, match=match):
            MLPRegressor(**SMALL).fit(X, bad)


def test_predict_checks_features_and_fittedness():
    X, y = blobs()
    model = MLPClassifier(**SMALL)
    for method in (model.predict, model.predict_proba, model.predict_log_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.predict(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict(X[0])


def test_accepted_x_layouts_give_identical_results():
    X, y = blobs()
    model = MLPClassifier(**SMALL).fit(X, y)
    expected = model.predict_proba(X)
    readonly = X.copy()
    readonly.setflags(write=False)
    wide = np.zeros((X.shape[0], 8))
    wide[:, ::2] = X
    for variant in (np.asfortranarray(X), wide[:, ::2], readonly, X.tolist(),
                    X.astype(np.float32)):
        np.testing.assert_allclose(model.predict_proba(variant), expected, rtol=1e-5, atol=1e-6)
    Xi = np.round(X).astype(np.int32)
    np.testing.assert_array_equal(model.predict_proba(Xi), model.predict_proba(Xi.astype(float)))


def test_x_is_converted_only_when_needed():
    a = np.random.RandomState(0).randn(5, 3)
    assert V.as_features(a, dtype=np.float64, who="t") is a
    b = V.as_features(a, dtype=np.float32, who="t")
    assert b.dtype == np.float32 and b.flags.c_contiguous
    f = np.asfortranarray(a)
    c = V.as_features(f, dtype=np.float64, who="t")
    assert c.flags.c_contiguous and not np.shares_memory(c, f)
    r = a.copy()
    r.setflags(write=False)
    assert V.as_features(r, dtype=np.float64, who="t") is r


def test_feature_names_from_a_frame_like_object():
    class Frame:  # the two things fastmlp uses from a pandas DataFrame
        def __init__(self, data, columns):
            self._data, self.columns = np.asarray(data), list(columns)

        def __array__(self, dtype=None, copy=None):
            return self._data if dtype is None else self._data.astype(dtype)

    X, y = blobs()
    model = MLPClassifier(**SMALL).fit(Frame(X, list("abcd")), y)
    np.testing.assert_array_equal(model.feature_names_in_, np.array(list("abcd"), dtype=object))
    assert model.feature_names_in_.dtype == object
    model.predict(Frame(X, list("abcd")))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(Frame(X, list("abdc")))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X)
    plain = MLPClassifier(**SMALL).fit(X, y)
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but"):
        plain.predict(Frame(X, list("abcd")))
    with pytest.raises(TypeError, match="string and non-string column names"):
        MLPClassifier(**SMALL).fit(Frame(X, ["a", 1, "c", "d"]), y)
    assert not hasattr(MLPClassifier(**SMALL).fit(Frame(X, [0, 1, 2, 3]), y), "feature_names_in_")


# ---- targets ----------------------------------------------------------------------------------

def test_multiclass_binary_and_string_labels():
    X, y = blobs(150, n_classes=3)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.02,
                        random_state=0).fit(X, np.array(["cat", "dog", "eel"])[y])
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.score(X, np.array(["cat", "dog", "eel"])[y]) > 0.9
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6)

    Xb, yb = blobs(100, n_classes=2)
    labels = np.where(yb == 1, 7, -3)
    binary = MLPClassifier(hidden_layer_sizes=(8,), max_iter=40, learning_rate_init=0.02,
                           random_state=0).fit(Xb, labels)
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1
    p = binary.predict_proba(Xb)
    assert p.shape == (100, 2)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(binary.predict(Xb), np.where(p[:, 1] > 0.5, 7, -3))
    bools = MLPClassifier(**SMALL).fit(Xb, yb.astype(bool))
    assert bools.predict(Xb).dtype == bool
    floats = MLPClassifier(**SMALL).fit(Xb, yb.astype(float))
    np.testing.assert_array_equal(floats.classes_, [0.0, 1.0])


def test_multilabel_targets():
    rs = np.random.RandomState(0)
    X = rs.randn(80, 4)
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0].astype(np.int64)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=80, learning_rate_init=0.02,
                        random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(X)
    assert pred.shape == (80, 3) and pred.dtype == Y.dtype
    assert clf.predict_proba(X).shape == (80, 3)
    assert clf.score(X, Y) > 0.8
    with pytest.raises(ValueError, match="class_weight is not supported for multilabel"):
        MLPClassifier(class_weight="balanced", **SMALL).fit(X, Y)


def test_single_and_multi_output_regression():
    X, y = regression(120)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01,
                       random_state=0).fit(X, y)
    assert reg.predict(X).shape == (120,) and reg.out_activation_ == "identity"
    assert reg.score(X, y) > 0.8
    X2, Y2 = regression(120, n_outputs=2)
    reg2 = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01,
                        random_state=0).fit(X2, Y2)
    assert reg2.predict(X2).shape == (120, 2) and reg2.n_outputs_ == 2
    assert reg2.score(X2, Y2) > 0.7
    with pytest.warns(Warning, match="column-vector y"):
        reg.fit(X, y[:, None])
    assert reg.predict(X).shape == (120,)


def test_poisson_regression():
    rs = np.random.RandomState(0)
    X = rs.randn(200, 3)
    y = rs.poisson(np.exp(0.5 * X[:, 0] + 0.3)).astype(float)
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=100,
                       learning_rate_init=0.01, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    assert (reg.predict(X) > 0).all()
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_squared_error_is_reported_per_output_like_scikit_learn():
    """loss_ = 0.5 * mean over outputs and rows of squared errors, plus the unscaled penalty."""
    X, Y = regression(50, n_outputs=3)
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e-12,
                       momentum=0.0, batch_size=50, max_iter=1, alpha=0.5, shuffle=False,
                       random_state=0, dtype="float64").fit(X, Y)
    pred = reg.predict(X)  # the weights barely moved (lr 1e-12)
    penalty = 0.5 * 0.5 * sum((c ** 2).sum() for c in reg.coefs_) / 50
    expected = 0.5 * np.mean((pred - Y) ** 2) + penalty
    np.testing.assert_allclose(reg.loss_, expected, rtol=1e-9)


# ---- determinism, warm start, partial_fit ------------------------------------------------------

def test_identical_random_state_gives_identical_weights():
    X, y = blobs()
    kw = dict(hidden_layer_sizes=(10, 6), max_iter=4, dropout=0.2, batch_size=16)
    a = MLPClassifier(random_state=42, **kw).fit(X, y)
    b = MLPClassifier(random_state=42, **kw).fit(X, y)
    c = MLPClassifier(random_state=43, **kw).fit(X, y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    rs1, rs2 = np.random.RandomState(5), np.random.RandomState(5)
    d = MLPClassifier(random_state=rs1, **kw).fit(X, y)
    e = MLPClassifier(random_state=rs2, **kw).fit(X, y)
    np.testing.assert_array_equal(d.coefs_[0], e.coefs_[0])


WARM_CONFIGS = [
    dict(solver="adam", dropout=0.25),
    dict(solver="sgd", learning_rate_init=0.05, momentum=0.9, nesterovs_momentum=True),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, alpha=0.01),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.05, tol=10.0,
         n_iter_no_change=1),
]


@pytest.mark.parametrize("config", WARM_CONFIGS, ids=["adam-dropout", "nesterov", "invscaling",
                                                       "adaptive"])
def test_warm_start_and_partial_fit_continue_exactly(config):
    """In X's order, ten epochs = five + five more (warm_start) = ten partial_fit
    calls: the optimizer state, schedule and dropout stream all continue."""
    X, y = blobs(90)
    kw = dict(hidden_layer_sizes=(12,), batch_size=16, random_state=3, shuffle=False, **config)
    once = MLPClassifier(max_iter=10, **kw).fit(X, y)
    twice = MLPClassifier(max_iter=5, **kw).fit(X, y)
    twice.set_params(warm_start=True).fit(X, y)
    partial = MLPClassifier(**kw)
    for _ in range(10):
        partial.partial_fit(X, y, classes=[0, 1, 2])
    for other in (twice, partial):
        for p, q in zip(once.coefs_ + once.intercepts_, other.coefs_ + other.intercepts_):
            np.testing.assert_array_equal(p, q)
        assert other.loss_curve_ == once.loss_curve_
        assert other.n_iter_ == 10 and other.t_ == 10 * 90
    assert once._engine.learning_rate == partial._engine.learning_rate


@pytest.mark.parametrize("config", WARM_CONFIGS, ids=["adam-dropout", "nesterov", "invscaling",
                                                       "adaptive"])
def test_shuffled_partial_fit_continues_exactly_through_a_pickle(config):
    """partial_fit shuffles with the engine's generator, which a pickle carries:
    ten calls equal five, a pickle round trip, and five more."""
    X, y = blobs(90)
    kw = dict(hidden_layer_sizes=(12,), batch_size=16, random_state=3, **config)
    ten, half = MLPClassifier(**kw), MLPClassifier(**kw)
    for _ in range(10):
        ten.partial_fit(X, y, classes=[0, 1, 2])
    for _ in range(5):
        half.partial_fit(X, y, classes=[0, 1, 2])
    half = pickle.loads(pickle.dumps(half))
    for _ in range(5):
        half.partial_fit(X, y)
    for p, q in zip(ten.coefs_ + ten.intercepts_, half.coefs_ + half.intercepts_):
        np.testing.assert_array_equal(p, q)
    assert half.loss_curve_ == ten.loss_curve_


def test_fit_shuffles_with_the_random_state_stream():
    """fit's order comes from random_state (scikit-learn's stream): the same seed
    gives the same model, another seed another order, and shuffle=False X's order."""
    X, y = blobs(90)
    kw = dict(hidden_layer_sizes=(12,), batch_size=16, max_iter=3)
    a = MLPClassifier(random_state=3, **kw).fit(X, y)
    b = MLPClassifier(random_state=3, **kw).fit(X, y)
    c = MLPClassifier(random_state=3, shuffle=False, **kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    d = MLPClassifier(random_state=4, **kw).fit(X, y)
    assert not np.array_equal(a.coefs_[0], d.coefs_[0])


def test_partial_fit_classes_and_labels():
    X, y = blobs(60)
    clf = MLPClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (60, 3)
    before = snapshot(clf)
    with pytest.raises(ValueError, match=r"y has labels not in classes_ \[0, 1, 2\]: \[5\]"):
        clf.partial_fit(X, np.where(y == 2, 5, y))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        MLPClassifier(class_weight="balanced", **SMALL).partial_fit(X, y, classes=[0, 1, 2])
    assert_same_snapshot(before, snapshot(clf))
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    ml = MLPClassifier(**SMALL).partial_fit(X, np.c_[y == 0, y == 1].astype(int))
    assert ml.n_outputs_ == 2


def test_warm_start_refuses_a_different_network_or_classes():
    X, y = blobs(60)
    clf = MLPClassifier(warm_start=True, **SMALL).fit(X, y)
    before = snapshot(clf)
    clf.set_params(hidden_layer_sizes=(9,))
    with pytest.raises(ValueError, match=r"hidden_layer_sizes changed from \(8,\) to \(9,\)"):
        clf.fit(X, y)
    clf.set_params(hidden_layer_sizes=(8,), dtype="float64")
    with pytest.raises(ValueError, match="dtype changed"):
        clf.fit(X, y)
    clf.set_params(dtype="float32")
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        clf.fit(X[y < 2], y[y < 2])
    assert_same_snapshot(before, snapshot(clf))
    # changing dropout or the optimizer is allowed; a new solver starts fresh moments
    clf.set_params(dropout=0.1, solver="sgd").fit(X, y)
    assert clf.n_iter_ == 10 and clf._engine.get_state()["solver"] == "sgd"


def test_coefs_are_views_of_the_engine_and_assignments_are_used():
    X, y = blobs()
    clf = MLPClassifier(**SMALL).fit(X, y)
    assert clf.coefs_[0].shape == (4, 8) and clf.intercepts_[1].shape == (3,)
    assert np.shares_memory(clf.coefs_[0], clf._engine.params)
    clf.coefs_[1][...] = 0
    clf.intercepts_[1][...] = [5.0, 0.0, 0.0]
    assert (clf.predict(X) == 0).all()
    clf.coefs_ = [np.zeros((4, 8)), np.zeros((8, 3))]
    clf.intercepts_ = [np.zeros(8), np.array([0.0, 0.0, 1.0])]
    assert (clf.predict(X) == 2).all()
    assert np.shares_memory(clf.coefs_[0], clf._engine.params)
    clf.coefs_ = [np.zeros((4, 8))]
    with pytest.raises(ValueError, match="must hold 2 arrays each"):
        clf.predict(X)


# ---- stopping, validation, interrupts ----------------------------------------------------------

def test_training_loss_stopping_rule():
    X, y = blobs()
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, tol=10.0, n_iter_no_change=3,
                        random_state=0).fit(X, y)
    # epoch 1 sets best_loss_; epochs 2-5 fail to improve by tol: 4 > n_iter_no_change stops
    assert clf.n_iter_ == 5 and clf.stop_training_
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.validation_loss_curve_ is None
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=3).fit(X, y)


def test_early_stopping_restores_the_best_weights():
    X, y = blobs(300, seed=1)
    Xv, yv = blobs(90, seed=2)
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.3, max_iter=100,
                        early_stopping=True, n_iter_no_change=3, random_state=0,
                        dtype="float64").fit(X, y, validation_data=(Xv, yv))
    assert clf.n_iter_ < 100 and clf.stop_training_
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(Xv, yv) == clf.best_validation_score_
    assert clf.best_loss_ is None


def test_early_stopping_holds_out_a_stratified_fraction():
    X, y = blobs(200, n_classes=4)
    y = np.where(np.arange(200) < 20, 3, y % 3)  # an imbalanced class
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.25, **SMALL)
    clf._seed = 123
    c = clf._config()
    (Xt, yt, wt, wst), (Xv, yv, wv, wsv) = clf._split_validation(X, y, None, None, y, c)
    assert len(yv) == 50 and len(yt) == 150
    exact = np.bincount(y) * 0.25  # [22.5, 11.25, 11.25, 5]: the spare row goes to class 0
    np.testing.assert_array_equal(np.bincount(yv), [23, 11, 11, 5])
    assert np.all(np.abs(np.bincount(yv) - exact) < 1)
    assert not set(map(tuple, Xt)) & set(map(tuple, Xv))
    # a class never gives up its last training row; the spare row goes where there is room
    half = types.SimpleNamespace(validation_fraction=0.5)
    np.testing.assert_array_equal(
        MLPClassifier._held_out_counts(12, np.array([0, 1] + [2] * 10), half), [0, 0, 6])
    clf.fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == 5
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPClassifier(early_stopping=True, **SMALL).fit(X[:10], np.arange(10) % 2)


def test_partial_fit_early_stopping():
    X, y = blobs(300, seed=1)
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.3, early_stopping=True,
                        n_iter_no_change=2, validation_fraction=0.2, random_state=0,
                        dtype="float64")
    for call in range(100):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        if clf.stop_training_:
            break
    assert clf.stop_training_ and call < 99
    Xv, yv, _, _ = clf._validation
    assert len(Xv) == 60  # held out from the first call and kept
    assert clf.n_iter_ == len(clf.validation_scores_) == call + 1
    Xv_labels = clf.classes_[yv]
    assert clf.score(Xv, Xv_labels) == clf.best_validation_score_
    # explicit validation data replaces the held-out set
    Xe, ye = blobs(40, seed=3)
    clf.partial_fit(X, y, validation_data=(Xe, ye))
    assert len(clf._validation[0]) == 40


def test_impossible_split_is_refused_before_anything_changes():
    X, y = blobs(10)
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.1, **SMALL)
    with pytest.raises(ValueError, match="validation set is too small"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert not clf.__sklearn_is_fitted__()
    with pytest.raises(ValueError, match="class_weight applies to classification"):
        MLP(class_weight={0: 2.0}, **SMALL).fit(*regression())


def test_validation_data_without_early_stopping_is_monitored():
    X, y = regression(100)
    Xv, yv = regression(30, seed=1)
    reg = MLPRegressor(**SMALL).fit(X, y, validation_data=(Xv, yv))
    assert len(reg.validation_loss_curve_) == len(reg.validation_scores_) == 5
    assert reg.best_loss_ == min(reg.loss_curve_)
    with pytest.raises(ValueError, match="X_val has 2 features"):
        MLPRegressor(**SMALL).fit(X, y, validation_data=(Xv[:, :2], yv))
    with pytest.raises(TypeError, match="validation_data must be a tuple"):
        MLPRegressor(**SMALL).fit(X, y, validation_data=Xv)


class _InterruptingEngine:
    """Wraps an engine; raises KeyboardInterrupt from the third train_epoch on."""

    def __init__(self, engine):
        self._inner, self.calls = engine, 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def train_epoch(self, *args, **kwargs):
        self.calls += 1
        if self.calls >= 3:
            raise KeyboardInterrupt
        return self._inner.train_epoch(*args, **kwargs)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_keyboard_interrupt_warns_and_keeps_a_consistent_model(monkeypatch, early_stopping):
    import fastmlp.estimators as est
    real = est.make_engine
    monkeypatch.setattr(est, "make_engine", lambda *a, **k: _InterruptingEngine(real(*a, **k)))
    X, y = blobs(200)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0,
                        early_stopping=early_stopping)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.t_ > 0
    assert np.isfinite(clf._engine.params).all()
    assert clf.predict(X).shape == (200,)
    if early_stopping:
        np.testing.assert_array_equal(clf._engine.params, clf._best_params)


def test_non_finite_loss_raises_and_keeps_finite_weights():
    X, y = regression(100)
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e8,
                       max_iter=50, random_state=0)
    with pytest.raises(NonFiniteLossError, match="learning rate"):
        reg.fit(X * 100, y)
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)
    assert reg.predict(X).shape == (100,)
    assert isinstance(NonFiniteLossError("x"), ValueError)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = blobs(100)
    MLPClassifier(verbose=True, **SMALL).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    for i, line in enumerate(lines, 1):
        assert line.startswith(f"Epoch {i:4d}, loss ") and line.endswith("samples/s")
        assert " s, " in line
    MLPClassifier(verbose=True, early_stopping=True, **SMALL).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert all("val_loss" in line and "val_score" in line for line in lines)


def test_batch_size_larger_than_data_is_clipped_with_a_warning():
    X, y = blobs(30)
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        MLPClassifier(batch_size=64, **SMALL).fit(X, y)


# ---- beyond scikit-learn -----------------------------------------------------------------------

def test_class_weight_balanced_equals_the_matching_sample_weights():
    X, y = blobs(90)
    y = np.where(np.arange(90) < 60, 0, y)
    balanced = MLPClassifier(class_weight="balanced", **SMALL).fit(X, y)
    counts = np.bincount(y)
    sw = (len(y) / (len(counts) * counts))[y]
    manual = MLPClassifier(**SMALL).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(balanced.coefs_[0], manual.coefs_[0], rtol=1e-6)
    heavy = MLPClassifier(class_weight={1: 1000.0, 0: 1e-4, 2: 1e-4}, hidden_layer_sizes=(8,),
                          max_iter=100, learning_rate_init=0.05, random_state=0).fit(X, y)
    assert (heavy.predict(X) == 1).mean() > 0.9


def test_dropout_changes_training_not_prediction():
    X, y = blobs()
    plain = MLPClassifier(**SMALL).fit(X, y)
    dropped = MLPClassifier(dropout=0.5, **SMALL).fit(X, y)
    per_layer = MLPClassifier(hidden_layer_sizes=(8, 6), dropout=[0.5, 0.0], max_iter=5,
                              random_state=0).fit(X, y)
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    assert per_layer._engine_config["dropout"] == [0.5, 0.0]


def test_l1_shrinks_weights():
    X, y = blobs()
    kw = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01, random_state=0)
    free = MLPClassifier(alpha=0.0, **kw).fit(X, y)
    sparse = MLPClassifier(alpha=0.0, l1=5.0, **kw).fit(X, y)
    assert sum(np.abs(c).sum() for c in sparse.coefs_) < 0.5 * sum(np.abs(c).sum()
                                                                  for c in free.coefs_)
    assert sparse.score(X, y) > 0.9


@pytest.mark.parametrize("scheme", ["glorot", "glorot_normal", "he", "he_normal", "normal",
                                    "uniform", "zeros"])
def test_weight_init_schemes(scheme):
    X = np.random.RandomState(0).randn(400, 200)
    y = np.arange(400) % 2
    clf = MLPClassifier(hidden_layer_sizes=(300,), weight_init=scheme, solver="sgd",
                        learning_rate_init=1e-300, max_iter=1, random_state=0,
                        dtype="float64").fit(X, y)
    W, b = clf.coefs_[0], clf.intercepts_[0]
    spread = {"glorot": np.sqrt(6 / 500) / np.sqrt(3), "glorot_normal": np.sqrt(2 / 500),
              "he": np.sqrt(6 / 200) / np.sqrt(3), "he_normal": np.sqrt(2 / 200), "normal": 1.0,
              "uniform": 1 / np.sqrt(200) / np.sqrt(3), "zeros": 0.0}[scheme]
    np.testing.assert_allclose(W.std(), spread, rtol=0.02, atol=1e-12)
    if scheme in ("glorot", "he", "uniform"):
        bound = {"glorot": np.sqrt(6 / 500), "he": np.sqrt(6 / 200),
                 "uniform": 1 / np.sqrt(200)}[scheme]
        assert np.abs(W).max() <= bound
    biased = scheme in ("glorot", "normal", "uniform")
    assert (np.abs(b).max() > 1e-100) == biased  # the 1e-300 step leaves ~1e-300 traces


def test_leaky_relu_and_dtypes():
    X, y = blobs()
    clf = MLPClassifier(activation="leaky_relu", leaky_slope=0.1, dtype="float64",
                        hidden_layer_sizes=(16,), max_iter=50, learning_rate_init=0.02,
                        random_state=0).fit(X, y)
    assert clf.coefs_[0].dtype == np.float64 and clf.predict_proba(X).dtype == np.float64
    assert clf.score(X, y) > 0.9
    f32 = MLPClassifier(**SMALL).fit(X, y)
    assert f32.coefs_[0].dtype == np.float32 and f32.predict_proba(X).dtype == np.float32
    assert MLPClassifier(dtype=np.float64, **SMALL).fit(X, y).coefs_[0].dtype == np.float64


def test_mlp_picks_the_task_from_y():
    X, y = blobs()
    clf = MLP(**SMALL).fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.predict(X).dtype == y.dtype
    assert clf.predict_proba(X).shape == (120, 3)
    Xr, yr = regression()
    reg = MLP(**SMALL).fit(Xr, yr)
    assert reg.out_activation_ == "identity" and reg.predict(Xr).shape == (100,)
    assert not hasattr(reg, "predict_proba")
    assert isinstance(reg.score(Xr, yr), float)
    forced = MLP(loss="cross_entropy", **SMALL).fit(X, y % 2)
    assert forced.out_activation_ == "softmax" and forced.predict_proba(X).shape == (120, 2)
    ovr = MLP(loss="binary_cross_entropy", **SMALL).fit(X, y)
    assert ovr.n_outputs_ == 3 and ovr.out_activation_ == "logistic"
    np.testing.assert_allclose(ovr.predict_proba(X).sum(1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="needs numeric targets"):
        MLP(loss="poisson", **SMALL).fit(X, np.array(["a", "b"] * 60))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLP(loss="cross_entropy", **SMALL).fit(Xr, yr)


def test_nielsen_network_is_expressible_and_learns_digits():
    X, y = _read_digits()
    train, test = _stratified_split(y, 0.2, 0)
    net = MLP(hidden_layer_sizes=(30,), activation="logistic", loss="squared_error",
              output_activation="logistic", weight_init="normal", solver="sgd", momentum=0.0,
              learning_rate_init=3.0, batch_size=10, alpha=0.0, max_iter=10, random_state=0)
    net.fit(X[train], y[train])
    assert net.out_activation_ == "logistic" and net.n_outputs_ == 10
    # Quadratic cost on saturated N(0, 1) sigmoids learns slowly (Nielsen's point);
    # 10 epochs reach 0.86 with this seed and 0.97 with seed 1.
    assert net.score(X[test], y[test]) > 0.8


def test_digits_accuracy_on_a_held_out_split():
    X, y = _read_digits()
    train, test = _stratified_split(y, 0.2, 0)
    clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, batch_size=64,
                        max_iter=30, random_state=0).fit(X[train], y[train])
    assert clf.score(X[test], y[test]) >= 0.95


def test_lbfgs_solver():
    X, y = blobs()
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=200,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95 and 0 < clf.n_iter_ <= 200
    assert clf.loss_ == pytest.approx(clf.loss_curve_[-1], rel=1e-5)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=2).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_fun=3).fit(X, y)


# ---- without scikit-learn ---------------------------------------------------------------------

def _run_without(modules, code):
    poison = "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    script = "import sys\n" + poison + textwrap.dedent(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)


def test_everything_works_without_scikit_learn():
    proc = _run_without(["sklearn"], """
        import pickle, warnings
        import numpy as np
        import fastmlp
        from fastmlp import MLPClassifier, MLPRegressor, NotFittedError, ConvergenceWarning
        assert not fastmlp._compat.HAVE_SKLEARN
        assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
        assert ConvergenceWarning.__module__ == "fastmlp._compat"
        clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
        assert repr(clf) == "MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)"
        assert clf.get_params()["max_iter"] == 3
        assert clf.set_params(max_iter=4) is clf and clf.max_iter == 4
        try:
            clf.set_params(nope=1)
        except ValueError as e:
            assert "Invalid parameter 'nope'" in str(e)
        else:
            raise AssertionError("set_params accepted an unknown name")
        try:
            clf.predict([[0.0, 1.0]])
        except NotFittedError:
            pass
        X = np.random.RandomState(0).randn(40, 2)
        y = (X[:, 0] > 0).astype(int)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            clf.fit(X, y)
        assert any(issubclass(x.category, ConvergenceWarning) for x in w)
        twin = pickle.loads(pickle.dumps(clf))
        assert (twin.predict(X) == clf.predict(X)).all()
        clone = type(clf)(**clf.get_params())
        assert clone.get_params() == clf.get_params()
        assert MLPRegressor(max_iter=2).fit(X, X[:, 0]).score(X, X[:, 0]) <= 1.0
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_lbfgs_without_scipy_says_what_to_do():
    proc = _run_without(["scipy", "sklearn"], """
        import numpy as np
        from fastmlp import MLPClassifier
        X = np.random.RandomState(0).randn(20, 2)
        try:
            MLPClassifier(solver="lbfgs").fit(X, (X[:, 0] > 0).astype(int))
        except ImportError as e:
            print(e)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "solver='lbfgs' needs SciPy" in proc.stdout and "solver='adam'" in proc.stdout


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
@pytest.mark.parametrize("shape", [(5000,), (64, 100), (311, 33), (1000, 625), (2, 3)])
def test_fast_uniform_is_numpys_draw_for_draw(seed, shape):
    """The C copy of RandomState.uniform gives NumPy's numbers and leaves the
    RandomState where NumPy would (every start position in the 624-word block
    is reached through the warm-up draws)."""
    from fastmlp.estimators import _uniform
    for warm in (0, 1, 311, 623, 700):
        a, b = np.random.RandomState(seed), np.random.RandomState(seed)
        a.uniform(size=warm)
        b.uniform(size=warm)
        np.testing.assert_array_equal(_uniform(a, -0.25, 0.5, shape), b.uniform(-0.25, 0.5, shape))
        np.testing.assert_array_equal(a.uniform(size=3), b.uniform(size=3))
        assert a.randint(2 ** 31) == b.randint(2 ** 31)
        assert a.standard_normal() == b.standard_normal()


def test_mt19937_kernel_refuses_bad_state():
    from fastmlp import _core
    key = np.zeros(624, dtype=np.uint32)
    out = np.empty(10)
    with pytest.raises(ValueError, match="pos must be in"):
        _core.mt19937_uniform(key, 625, out, 0.0, 1.0)
    with pytest.raises(ValueError, match="624 words"):
        _core.mt19937_uniform(np.zeros(10, dtype=np.uint32), 0, out, 0.0, 1.0)
    with pytest.raises((TypeError, ValueError), match="key"):
        _core.mt19937_uniform(key.astype(np.int64), 0, out, 0.0, 1.0)


def test_large_layers_start_from_the_random_states_draws():
    """A first layer big enough for the C draw path: coefs_ are the RandomState's
    uniform draws (scikit-learn's glorot), and later draws continue alike."""
    X = np.random.default_rng(0).standard_normal((40, 300))
    y = np.arange(40) % 3
    model = MLPClassifier(hidden_layer_sizes=(50,), dtype="float64", max_iter=1, random_state=5,
                          solver="sgd", learning_rate_init=1e-300, batch_size=40).fit(X, y)
    rs = np.random.RandomState(5)
    bound = np.sqrt(6.0 / (300 + 50))
    np.testing.assert_array_equal(model.coefs_[0], rs.uniform(-bound, bound, (300, 50)))
    np.testing.assert_array_equal(model.intercepts_[0], rs.uniform(-bound, bound, 50))


def test_random_state_may_hold_any_bit_generator():
    """RandomState(PCG64(...)) is a legal random_state: the weights and the
    shuffles come from it (and its state advances), whatever the layer size."""
    X = np.random.default_rng(0).standard_normal((60, 300))
    y = np.arange(60) % 3
    kw = dict(hidden_layer_sizes=(50,), max_iter=2, batch_size=16, dtype="float64")
    a = MLPClassifier(random_state=np.random.RandomState(np.random.PCG64(3)), **kw).fit(X, y)
    b = MLPClassifier(random_state=np.random.RandomState(np.random.PCG64(3)), **kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    rs = np.random.RandomState(np.random.PCG64(3))
    bound = np.sqrt(6.0 / (300 + 50))
    first = MLPClassifier(random_state=rs, solver="sgd", learning_rate_init=1e-300,
                          **dict(kw, max_iter=1)).fit(X, y)
    np.testing.assert_array_equal(
        first.coefs_[0], np.random.RandomState(np.random.PCG64(3)).uniform(-bound, bound, (300, 50)))


def test_switching_to_a_constant_schedule_restores_learning_rate_init():
    """warm_start keeps the optimizer state, but a rate decayed by 'invscaling'
    must not outlive a switch to learning_rate='constant'."""
    rs = np.random.RandomState(0)
    X = rs.randn(200, 3)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, solver="sgd",
                          learning_rate="invscaling", learning_rate_init=0.01, warm_start=True,
                          random_state=0).fit(X, y)
        assert m._engine.learning_rate < 0.01
        m.set_params(learning_rate="constant", max_iter=1).fit(X, y)
    assert m._engine.learning_rate == 0.01
