"""Every public entry point refuses bad input clearly: one table per surface.
It deliberately checks the refusal contract only (type, message, no side effect); what valid
input computes is tested elsewhere (test_estimators.py, test_activations.py, ...).

The contract, per row: the exception type is ValueError/TypeError (NotFittedError for predict
before fit, OSError subclasses for paths); the message names the argument; and nothing
changed: a previously fitted model keeps the same parameter bytes, optimizer state, counters
and predictions (estimators), in-place kernel arguments keep their bytes (kernels), and the
command line prints one line and exits with status 2.

Rows run for MLPClassifier, MLPRegressor and MLP alike unless marked for classification
(labels) or regression (real targets) only.
"""
import os
import re
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, MLPClassifier, MLPRegressor, NotFittedError, kernels
from fastmlp import __main__ as cli
from fastmlp.datasets import load_digits, load_idx, load_mnist, load_table

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning")

CLASSES = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor, "MLP": MLP}
CLASSIFIERS = ("MLPClassifier", "MLP")   # MLP does classification when y holds labels
REGRESSORS = ("MLPRegressor", "MLP")     # and regression when y holds floats
N, F = 60, 4
SMALL = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)


def base_data(name, task=None):
    """X (N, F) and targets: labels 0..2 for classification, floats for regression."""
    rs = np.random.RandomState(0)
    X = rs.randn(N, F)
    task = task or ("regression" if name == "MLPRegressor" else "classification")
    y = np.arange(N) % 3 if task == "classification" else X[:, 0] * 2 + 0.5
    return X, y


def fitted(name, task=None, **params):
    X, y = base_data(name, task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CLASSES[name](**{**SMALL, **params}).fit(X, y)


def fingerprint(model):
    """Every fitted quantity a refused call must leave as it was."""
    eng = model._engine
    state = eng.get_state()
    X, _ = base_data("MLP")
    out = model._engine.forward(np.ascontiguousarray(X, dtype=eng.params.dtype)).tobytes()
    return (eng.params.tobytes(), eng, repr({k: v.tobytes() if isinstance(v, np.ndarray) else v
                                             for k, v in state.items()}),
            model.n_iter_, model.t_, list(model.loss_curve_), model.n_features_in_,
            np.asarray(model.predict(X)).tobytes(), out,
            None if "classes_" not in model.__dict__ else model.classes_.tobytes())


# ---- estimators: data rows -------------------------------------------------------------------
# (id, applies to, call(model, X, y) -> None, exception, regex the message must contain)

def _with(a, i, j, value):
    a = np.array(a, dtype=float)
    a[i, j] = value
    return a


def _y_with(y, value):
    y = np.array(y, dtype=float)
    y[3] = value
    return y


ALL = tuple(CLASSES)
DATA_ROWS = [
    # NaN / inf in X, y, sample_weight
    ("nan-X", ALL, lambda m, X, y: m.fit(_with(X, 3, 1, np.nan), y), ValueError,
     r"Input X contains NaN"),
    ("inf-X", ALL, lambda m, X, y: m.fit(_with(X, 0, 0, np.inf), y), ValueError,
     r"Input X contains infinity"),
    ("-inf-X", ALL, lambda m, X, y: m.fit(_with(X, 0, 0, -np.inf), y), ValueError,
     r"Input X contains infinity"),
    ("nan-y", ALL, lambda m, X, y: m.fit(X, _y_with(y, np.nan)), ValueError,
     r"Input y contains NaN"),
    ("inf-y", ALL, lambda m, X, y: m.fit(X, _y_with(y, np.inf)), ValueError,
     r"Input y contains infinity"),
    ("nan-sample_weight", ALL, lambda m, X, y: m.fit(X, y, sample_weight=_y_with(np.ones(N),
                                                                            np.nan)),
     ValueError, r"sample_weight contains NaN"),
    ("inf-sample_weight", ALL, lambda m, X, y: m.fit(X, y, sample_weight=_y_with(np.ones(N),
                                                                            np.inf)),
     ValueError, r"sample_weight contains NaN or infinity"),
    ("nan-X-predict", ALL, lambda m, X, y: m.predict(_with(X, 1, 1, np.nan)), ValueError,
     r"Input X contains NaN"),
    ("nan-X-partial_fit", ALL, lambda m, X, y: m.partial_fit(_with(X, 1, 1, np.nan), y),
     ValueError, r"Input X contains NaN"),
    ("nan-X_val", ALL, lambda m, X, y: m.fit(X, y, validation_data=(_with(X, 1, 1, np.nan), y)),
     ValueError, r"Input X_val contains NaN"),
    # wrong ndim
    ("1-D-X", ALL, lambda m, X, y: m.fit(X[:, 0], y), ValueError, r"2D array for X.*Reshape"),
    ("3-D-X", ALL, lambda m, X, y: m.fit(X.reshape(N, 2, 2), y), ValueError, r"X must be 2-D"),
    ("0-D-X", ALL, lambda m, X, y: m.fit(np.float64(1.0), y), ValueError, r"2D array for X"),
    ("1-D-X-predict", ALL, lambda m, X, y: m.predict(X[0]), ValueError, r"X.*Reshape"),
    ("3-D-y", ALL, lambda m, X, y: m.fit(X, np.zeros((N, 2, 2))), ValueError, r"\by\b"),
    ("0-D-y", ALL, lambda m, X, y: m.fit(X, 1.0), ValueError, r"\by\b"),
    ("2-D-sample_weight", ALL, lambda m, X, y: m.fit(X, y, sample_weight=np.ones((N, 1))),
     ValueError, r"sample_weight must be 1-D"),
    # lengths and sizes
    ("X-y-length", ALL, lambda m, X, y: m.fit(X, y[:-1]), ValueError,
     r"X has 60 rows but y has 59"),
    ("y-longer", ALL, lambda m, X, y: m.fit(X[:-5], y), ValueError, r"X has 55 rows but y has 60"),
    ("empty-X", ALL, lambda m, X, y: m.fit(X[:0], y[:0]), ValueError, r"0 sample.*X is empty"),
    ("empty-X-predict", ALL, lambda m, X, y: m.predict(X[:0]), ValueError, r"X is empty"),
    ("no-features", ALL, lambda m, X, y: m.fit(X[:, :0], y), ValueError, r"0 feature"),
    ("ragged-X", ALL, lambda m, X, y: m.fit([[1.0, 2.0], [3.0]], [0, 1]), ValueError,
     r"X could not be made into an array"),
    ("ragged-y", ALL, lambda m, X, y: m.fit(X[:2], [[0.0], [1.0, 2.0]]), ValueError,
     r"y could not be made into an array"),
    ("features-at-predict", ALL, lambda m, X, y: m.predict(X[:, :3]), ValueError,
     r"X has 3 features, but \w+ is expecting 4"),
    ("features-at-predict-wider", ALL, lambda m, X, y: m.predict(np.c_[X, X]), ValueError,
     r"X has 8 features"),
    ("features-at-partial_fit", ALL, lambda m, X, y: m.partial_fit(X[:, :3], y), ValueError,
     r"X has 3 features"),
    ("features-X_val", ALL, lambda m, X, y: m.fit(X, y, validation_data=(X[:, :3], y)),
     ValueError, r"X_val has 3 features"),
    ("score-y-length", ALL, lambda m, X, y: m.score(X, y[:10]), ValueError,
     r"X has 60 rows but y has 10"),
    ("score-sample_weight-length", ALL, lambda m, X, y: m.score(X, y, sample_weight=np.ones(3)),
     ValueError, r"sample_weight has 3 weights but X has 60 rows"),
    ("sample_weight-underflow", ALL,
     lambda m, X, y: m.fit(X, y, sample_weight=np.full(len(X), 1e-50)), ValueError,
     r"sample_weight ranges from 1e-50 .* float32 cannot hold .* rescale"),
    ("sample_weight-overflow", ALL,
     lambda m, X, y: m.partial_fit(X, y, sample_weight=np.full(len(X), 1e39)), ValueError,
     r"float32 cannot hold"),
    ("validation_data-one-row", ("MLPRegressor",),
     lambda m, X, y: m.fit(X, y, validation_data=(X[:1], y[:1])), ValueError,
     r"validation_data has 1 row, but a regression model scores it with R\^2"),
    ("score-sample_weight-zero", ALL,
     lambda m, X, y: m.score(X, y, sample_weight=np.zeros(len(X))), ValueError,
     r"at least one non-zero"),
    ("score-sample_weight-strings", ALL,
     lambda m, X, y: m.score(X, y, sample_weight=np.array(["a"] * len(X))), TypeError,
     r"sample_weight must hold numbers"),
    ("score-y-outputs", ALL, lambda m, X, y: m.score(X, np.c_[y, y, y]), ValueError,
     r"y has shape \(60, 3\), but the model predicts"),
    ("score-y-sparse", ALL, lambda m, X, y: m.score(X, _sparse_column(y)), TypeError,
     r"y is a sparse matrix"),
    # kinds of X
    ("object-X", ALL, lambda m, X, y: m.fit(np.array([[{"a": 1}] * F] * N, dtype=object), y),
     TypeError, r"X has dtype object"),
    ("string-X", ALL, lambda m, X, y: m.fit(X.astype(str), y), TypeError, r"X holds strings"),
    ("object-string-X", ALL, lambda m, X, y: m.fit(X.astype(str).astype(object), y), TypeError,
     r"X has dtype object and holds strings"),
    ("complex-X", ALL, lambda m, X, y: m.fit(X + 1j, y), ValueError,
     r"Complex data not supported: X"),
    ("bool-X", ALL, lambda m, X, y: m.fit(X > 0, y), TypeError, r"X has dtype bool"),
    ("datetime-X", ALL, lambda m, X, y: m.fit(np.zeros((N, F), "datetime64[s]"), y), TypeError,
     r"X has dtype datetime64"),
    ("bool-X-predict", ALL, lambda m, X, y: m.predict(X > 0), TypeError, r"X has dtype bool"),
    ("too-large-for-float32", ALL, lambda m, X, y: m.fit(X * 1e300, y), ValueError,
     r"Input X contains infinity.*dtype='float64'"),
    ("corrupt-sparse-X-indices", ALL, lambda m, X, y: m.fit(_corrupt_csr(X, "indices"), y),
     ValueError, r"X is a sparse matrix with column indices outside \[0, 4\)"),
    ("corrupt-sparse-X-negative-index", ALL,
     lambda m, X, y: m.predict(_corrupt_csr(X, "negative")), ValueError,
     r"X is a sparse matrix with column indices outside"),
    ("corrupt-sparse-X-indptr", ALL, lambda m, X, y: m.predict(_corrupt_csr(X, "indptr")),
     ValueError, r"X is a sparse matrix whose indptr is inconsistent"),
    ("nan-sparse-X", ALL, lambda m, X, y: m.fit(_sparse(_with(X, 2, 2, np.nan)), y), ValueError,
     r"Input X contains NaN"),
    ("features-sparse-X-at-predict", ALL, lambda m, X, y: m.predict(_sparse(X[:, :3])),
     ValueError, r"X has 3 features"),
    # labels
    ("one-class", CLASSIFIERS, lambda m, X, y: m.fit(X, np.zeros(N, int)), ValueError,
     r"y contains only one class"),
    ("one-sample-one-class", ("MLPClassifier",), lambda m, X, y: m.fit(X[:1], y[:1]),
     ValueError, r"y contains only one class"),
    ("mixed-labels", CLASSIFIERS, lambda m, X, y: m.fit(X, np.array([1, "a"] * 30,
                                                                    dtype=object)),
     ValueError, r"Mix of label input types .* in y"),
    ("mixed-bytes-str-labels", ("MLPClassifier",),
     lambda m, X, y: m.fit(X, np.array([b"a", "b"] * 30, dtype=object)), ValueError,
     r"Mix of label input types .* in y"),
    ("continuous-labels", ("MLPClassifier",), lambda m, X, y: m.fit(X, y + 0.5), ValueError,
     r"Unknown label type: continuous"),
    ("unseen-labels-partial_fit", CLASSIFIERS, lambda m, X, y: m.partial_fit(X, y + 1),
     ValueError, r"y has labels not in classes_ \[0, 1, 2\]: \[3\]"),
    ("other-type-labels-partial_fit", CLASSIFIERS,
     lambda m, X, y: m.partial_fit(X, np.array(["a", "b", "c"])[y]), ValueError,
     r"y has labels not in classes_"),
    ("changed-classes-partial_fit", CLASSIFIERS,
     lambda m, X, y: m.partial_fit(X, y, classes=[0, 1, 2, 3]), ValueError,
     r"`classes=\[0, 1, 2, 3\]` is not the same"),
    ("unseen-labels-warm-start", CLASSIFIERS,
     lambda m, X, y: m.set_params(warm_start=True).fit(X, y + 1), ValueError,
     r"warm_start can only be used where `y` has the same classes"),
    ("unseen-labels-validation", CLASSIFIERS,
     lambda m, X, y: m.fit(X, y, validation_data=(X, y + 5)), ValueError,
     r"y has labels not in classes_"),
    ("string-targets-regression", ("MLPRegressor",), lambda m, X, y: m.fit(X, y.astype(str)),
     ValueError, r"y holds strings"),
    ("negative-poisson-targets", ("MLPRegressor",),
     lambda m, X, y: m.set_params(loss="poisson").fit(X, y), ValueError,
     r"loss='poisson' needs non-negative targets; y"),
    # sample_weight
    ("sample_weight-length", ALL, lambda m, X, y: m.fit(X, y, sample_weight=np.ones(N + 1)),
     ValueError, r"sample_weight has 61 weights but X has 60 rows"),
    ("sample_weight-negative", ALL,
     lambda m, X, y: m.fit(X, y, sample_weight=np.where(np.arange(N) == 4, -1.0, 1.0)),
     ValueError, r"sample_weight contains negative values"),
    ("sample_weight-negative-scalar", ALL, lambda m, X, y: m.fit(X, y, sample_weight=-2.0),
     ValueError, r"sample_weight contains negative values"),
    ("sample_weight-all-zero", ALL, lambda m, X, y: m.fit(X, y, sample_weight=np.zeros(N)),
     ValueError, r"[Ss]ample weights must contain at least one non-zero"),
    ("sample_weight-strings", ALL,
     lambda m, X, y: m.fit(X, y, sample_weight=np.array(["heavy"] * N)), TypeError,
     r"sample_weight must hold numbers"),
    ("sample_weight-ragged", ALL, lambda m, X, y: m.fit(X, y, sample_weight=[[1.0], [1.0, 2.0]]),
     ValueError, r"sample_weight could not be made into an array"),
    ("validation_data-shape", ALL, lambda m, X, y: m.fit(X, y, validation_data=X), TypeError,
     r"validation_data must be a tuple"),
]


def _unaligned(a):
    """A C-contiguous copy of a whose data starts one byte past an aligned address (as
    arrays over pickle protocol 5 buffers can): C may not load its items directly."""
    a = np.asarray(a)
    buf = np.zeros(a.nbytes + 1, np.uint8)
    u = buf[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned and u.flags.c_contiguous
    return u


def _corrupt_csr(X, what):
    S = _sparse(X)
    if what == "indices":
        S.indices[3] = 10 ** 7
    elif what == "negative":
        S.indices[3] = -5
    else:
        S.indptr[-1] = 10 ** 6
    return S


def _sparse(X):
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is optional; it makes sparse X")
    return sparse.csr_matrix(X)


def _sparse_column(y):
    return _sparse(np.asarray(y, dtype=np.float64).reshape(-1, 1))


# ---- estimators: hyperparameter rows -----------------------------------------------------------
# (parameter, value, exception, applies to); the message must name the parameter

def _hp(name, value, exc=ValueError, applies=ALL):
    return (f"{name}={value!r}", applies, name, value, exc)


PARAM_ROWS = [
    _hp("batch_size", -1), _hp("batch_size", 0), _hp("batch_size", 2.5, TypeError),
    _hp("batch_size", "big"), _hp("batch_size", True, TypeError),
    _hp("batch_size", np.float64(8.0), TypeError),
    _hp("hidden_layer_sizes", -1), _hp("hidden_layer_sizes", 0), _hp("hidden_layer_sizes", (4, 0)),
    _hp("hidden_layer_sizes", (4, -3)), _hp("hidden_layer_sizes", 2.5, TypeError),
    _hp("hidden_layer_sizes", (4, 2.5), TypeError), _hp("hidden_layer_sizes", "4", TypeError),
    _hp("hidden_layer_sizes", None, TypeError), _hp("hidden_layer_sizes", True, TypeError),
    _hp("max_iter", -1), _hp("max_iter", 0), _hp("max_iter", 2.5, TypeError),
    _hp("max_iter", "10", TypeError), _hp("max_iter", float("inf"), TypeError),
    _hp("learning_rate_init", 0.0), _hp("learning_rate_init", -0.1),
    _hp("learning_rate_init", float("nan")), _hp("learning_rate_init", float("inf")),
    _hp("learning_rate_init", "fast", TypeError),
    _hp("dropout", -0.1), _hp("dropout", 1.0), _hp("dropout", 1.5), _hp("dropout", float("nan")),
    _hp("dropout", (0.1, 0.2)), _hp("dropout", "0.5", TypeError),
    _hp("activation", "softplus"), _hp("activation", None, TypeError),
    _hp("solver", "rmsprop"), _hp("solver", 3, TypeError),
    _hp("learning_rate", "cosine"), _hp("weight_init", "xavier"),
    _hp("dtype", "float16"), _hp("dtype", "int32"), _hp("dtype", "bogus"),
    _hp("dtype", None, TypeError), _hp("dtype", object(), TypeError), _hp("dtype", 32, TypeError),
    _hp("loss", "hinge", applies=("MLPRegressor", "MLP")),
    _hp("output_activation", "tanh", applies=("MLP",)),
    _hp("alpha", -1.0), _hp("momentum", 1.5), _hp("beta_1", 1.0), _hp("beta_2", -0.1),
    _hp("epsilon", 0.0), _hp("tol", float("nan")), _hp("validation_fraction", 1.0),
    _hp("n_iter_no_change", 0), _hp("power_t", -1.0), _hp("leaky_slope", 1.0), _hp("l1", -1.0),
    _hp("n_threads", 0), _hp("n_threads", 1.5, TypeError), _hp("shuffle", "yes", TypeError),
    _hp("random_state", -1), _hp("class_weight", "balance", applies=CLASSIFIERS),
    _hp("class_weight", {0: -1.0}, applies=CLASSIFIERS),
]


def _cases(rows, pick):
    for row in rows:
        for name in row[1]:
            yield pytest.param(name, *pick(row), id=f"{name}-{row[0]}")


def assert_refused(model, call, exc, pattern):
    before = fingerprint(model)
    with pytest.raises(exc) as info:
        call()
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} lacks {pattern!r}"
    after = fingerprint(model)
    assert after[0] == before[0], "parameters changed"
    assert after[1] is before[1], "the engine was replaced"
    assert after[2:] == before[2:], "fitted state or predictions changed"
    return info.value


@pytest.mark.parametrize("name,call,exc,pattern",
                         list(_cases(DATA_ROWS, lambda r: (r[2], r[3], r[4]))))
def test_bad_data_is_refused_and_the_model_kept(name, call, exc, pattern):
    model = fitted(name)
    X, y = base_data(name)
    assert_refused(model, lambda: call(model, X, y), exc, pattern)


@pytest.mark.parametrize("name,param,value,exc",
                         list(_cases(PARAM_ROWS, lambda r: (r[2], r[3], r[4]))))
def test_bad_hyperparameter_is_refused_and_the_model_kept(name, param, value, exc):
    model = fitted(name)
    X, y = base_data(name)
    model.set_params(**{param: value})  # set_params never validates (scikit-learn's rule)
    refused = assert_refused(model, lambda: model.fit(X, y), exc, re.escape(param))
    # the same refusal comes from partial_fit (which only exists for the stochastic solvers,
    # as in scikit-learn) and before a first fit
    with pytest.raises(AttributeError if param == "solver" else exc, match=re.escape(param)):
        model.partial_fit(X, y)
    fresh = CLASSES[name](**{**SMALL, param: value})
    with pytest.raises(exc, match=re.escape(param)):
        fresh.fit(X, y)
    assert not fresh.__sklearn_is_fitted__()
    assert type(refused) is exc


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_predict_before_fit_raises_not_fitted(name, method):
    X, y = base_data(name)
    model = CLASSES[name](**SMALL)
    if method.startswith("predict_") and name == "MLPRegressor":
        assert not hasattr(model, method)  # a regressor has no probabilities at all
        return
    with pytest.raises(NotFittedError, match=rf"This {name} instance is not fitted yet"):
        getattr(model, method)(*((X, y) if method == "score" else (X,)))
    assert issubclass(NotFittedError, ValueError)


# ---- estimators: what must work ----------------------------------------------------------------

def _memmap(tmp_path, X):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


LAYOUTS = {
    "fortran": lambda X, tmp: np.asfortranarray(X),
    "column-slice": lambda X, tmp: np.repeat(X, 2, axis=1)[:, ::2],
    "row-slice": lambda X, tmp: np.repeat(X, 2, axis=0)[::2],
    "reversed-rows-copy": lambda X, tmp: X[::-1][::-1],
    "read-only": lambda X, tmp: _readonly(X),
    "memory-mapped": lambda X, tmp: _memmap(tmp, X),
    "list": lambda X, tmp: X.tolist(),
    "float32": lambda X, tmp: X.astype(np.float32).astype(np.float64),  # exact in both dtypes
    "unaligned": lambda X, tmp: _unaligned(X),
    "unaligned-float32": lambda X, tmp: _unaligned(X.astype(np.float32)),
}


def _readonly(X):
    X = X.copy()
    X.setflags(write=False)
    return X


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_any_memory_layout_of_X_gives_the_same_model(tmp_path, name, layout):
    X, y = base_data(name)
    X = X.astype(np.float32).astype(np.float64)
    variant = LAYOUTS[layout](X, tmp_path)
    if layout not in ("list",):
        assert np.array_equal(np.asarray(variant), X)
    expected = CLASSES[name](**SMALL).fit(X, y)
    got = CLASSES[name](**SMALL).fit(variant, y)
    assert got._engine.params.tobytes() == expected._engine.params.tobytes()
    assert np.asarray(got.predict(variant)).tobytes() == np.asarray(expected.predict(X)).tobytes()
    if layout in ("read-only", "memory-mapped"):  # the caller's array is never written
        assert np.array_equal(np.asarray(variant), X)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("int_dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_integer_X_is_converted_like_scikit_learn(name, int_dtype):
    X, y = base_data(name)
    Xi = np.round(X * 3).astype(int_dtype) if np.dtype(int_dtype).kind == "i" else \
        np.round(np.abs(X) * 3).astype(int_dtype)
    as_float = Xi.astype(np.float64)
    a = CLASSES[name](**SMALL).fit(Xi, y)
    b = CLASSES[name](**SMALL).fit(as_float, y)
    assert a._engine.params.tobytes() == b._engine.params.tobytes()
    assert np.asarray(a.predict(Xi)).tobytes() == np.asarray(b.predict(as_float)).tobytes()


def test_conversions_hand_c_aligned_arrays():
    """What reaches C is aligned even when the caller's array is not (the engine loads
    items directly; UndefinedBehaviorSanitizer reports misaligned loads)."""
    from fastmlp import _validation as V
    X, y = base_data("MLPRegressor")
    for dtype in (np.float32, np.float64):
        got = V.as_features(_unaligned(X.astype(dtype)), dtype=np.dtype(dtype), who="t")
        assert got.flags.aligned and got.flags.c_contiguous
        np.testing.assert_array_equal(got, X.astype(dtype))
        yt = V.as_regression_targets(_unaligned(y.astype(dtype)), n_samples=N,
                                     dtype=np.dtype(dtype), who="t")
        assert yt.flags.aligned
    S = _sparse(X.astype(np.float32))
    S.data = _unaligned(S.data)
    S.indices = _unaligned(S.indices.astype(np.int64))
    csr = V.as_features(S, dtype=np.dtype(np.float32), who="t")
    assert csr.data.flags.aligned and csr.indices.flags.aligned and csr.indptr.flags.aligned
    labels = kernels.softmax_cross_entropy(_f32(4, 3), _unaligned(np.array([0, 1, 2, 0])))[0]
    assert np.isfinite(labels)


# ---- one sample --------------------------------------------------------------------------------
# Decision (as scikit-learn): one sample is enough to fit a regression and to continue a
# classification whose classes are known (partial_fit with classes=); a fresh classifier
# needs two classes, so two samples. Early stopping needs a validation set of at least two
# rows (R^2 and accuracy of one row say nothing) plus one row to train on.

@pytest.mark.parametrize("name", REGRESSORS)
def test_one_sample_fits_a_regression(name):
    X, y = base_data(name, "regression")
    model = CLASSES[name](**SMALL).fit(X[:1], y[:1])
    assert model.n_iter_ == 3 and model.t_ == 3
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_one_sample_continues_a_classification(name):
    X, y = base_data(name)
    model = CLASSES[name](**SMALL).partial_fit(X[:1], y[:1], classes=[0, 1, 2])
    model.partial_fit(X[1:2], y[1:2])
    assert model.t_ == 2 and list(model.classes_) == [0, 1, 2]
    assert set(model.predict(X)) <= {0, 1, 2}
    two = CLASSES[name](**SMALL).fit(X[:2], y[:2])
    assert list(two.classes_) == [0, 1]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_early_stopping_needs_three_samples(name, n):
    X, y = base_data(name)
    y = y[:n] if name == "MLPRegressor" else np.array([0, 1, 0])[:n]
    model = CLASSES[name](early_stopping=True, validation_fraction=0.5, **SMALL)
    if n == 3 and name == "MLPRegressor":
        model.fit(X[:n], y)  # two rows to validate on, one to train on
        assert len(model.validation_scores_) == 3
        return
    if n == 1 and name != "MLPRegressor":
        match = r"y contains only one class"
    else:  # labels: a stratified split cannot hold out 2 rows and keep one of each class
        match = r"validation set is too small.*validation_fraction"
    with pytest.raises(ValueError, match=match):
        model.fit(X[:n], y)
    assert not model.__sklearn_is_fitted__()


# ---- kernels -----------------------------------------------------------------------------------

def _f32(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def _ro(a):
    a = a.copy()
    a.setflags(write=False)
    return a


A, B, C = _f32(3, 4), _f32(4, 5, seed=1), np.zeros((3, 5), np.float32)
Z, W, G = _f32(6, 3), _f32(10), _f32(10, seed=2)
LAB = np.array([0, 1, 2, 0, 1, 2])

IP, IX, DV = np.array([0, 2, 3]), np.array([0, 3, 1]), np.array([1.0, 2.0, 3.0], np.float32)
SB = _f32(4, 5)   # op(b) for a 2 x 4 CSR matrix

KERNEL_ROWS = [
    ("sparse-indptr-empty", kernels.sparse_matmul, (IP[:0], IX[:0], DV[:0], SB), {}, ValueError,
     r"indptr must have n_rows \+ 1"),
    ("sparse-indptr-start", kernels.sparse_matmul, (IP + 1, IX, DV, SB), {}, ValueError,
     r"indptr must have .* starting at 0"),
    ("sparse-indptr-end", kernels.sparse_matmul, (np.array([0, 2, 4]), IX, DV, SB), {},
     ValueError, r"indptr must be non-decreasing and end at len\(indices\)"),
    ("sparse-indices-range", kernels.sparse_matmul, (IP, np.array([0, 4, 1]), DV, SB), {},
     ValueError, r"indices must lie in \[0, 4\)"),
    ("sparse-indices-float", kernels.sparse_matmul, (IP, IX.astype(float), DV, SB), {}, TypeError,
     r"indices must be a 1-D NumPy integer array"),
    ("sparse-data-dtype", kernels.sparse_matmul, (IP, IX, DV.astype(np.float64), SB), {},
     TypeError, r"data has dtype float64 but b has dtype float32"),
    ("sparse-b-rows", kernels.sparse_matmul, (IP, IX, DV, SB[:3]), {"n_cols": 4}, ValueError,
     r"op\(b\) has 3 rows but X has 4 columns"),
    ("sparse-rows-range", kernels.sparse_matmul, (IP, IX, DV, SB), {"rows": np.array([0, 2])},
     ValueError, r"rows must lie in \[0, 2\)"),
    ("sparse-out-readonly", kernels.sparse_matmul, (IP, IX, DV, SB), {"out": _ro(_f32(2, 5))},
     ValueError, r"\bout is read-only"),
    ("sparse-t-g-rows", kernels.sparse_t_matmul, (IP, IX, DV, _f32(3, 5), _f32(4, 5)), {},
     ValueError, r"\bg must have one row per selected row"),
    ("sparse-t-out-shape", kernels.sparse_t_matmul, (IP, IX, DV, _f32(2, 5), _f32(4, 6)), {},
     ValueError, r"\bout \(4, 6\) does not match g"),
    # (id, function, args, kwargs, exception, regex naming the argument)
    ("gemm-a-list", kernels.gemm, (A.tolist(), B), {}, TypeError, r"\ba must be a NumPy array"),
    ("gemm-a-int", kernels.gemm, (A.astype(int), B), {}, TypeError, r"\ba must have dtype"),
    ("gemm-a-bool", kernels.gemm, (A > 0, B), {}, TypeError, r"\ba must have dtype"),
    ("gemm-a-complex", kernels.gemm, (A + 1j, B), {}, TypeError, r"\ba must have dtype"),
    ("gemm-a-object", kernels.gemm, (A.astype(object), B), {}, TypeError, r"\ba must have dtype"),
    ("gemm-b-dtype", kernels.gemm, (A, B.astype(np.float64)), {}, TypeError,
     r"\bb has dtype float64 but a has dtype float32"),
    ("gemm-a-3d", kernels.gemm, (A.reshape(3, 2, 2), B), {}, ValueError, r"\ba must be 2-D"),
    ("gemm-a-1d", kernels.gemm, (A.ravel(), B), {}, ValueError, r"\ba must be 2-D"),
    ("gemm-a-column-strided", kernels.gemm, (np.repeat(A, 2, 1)[:, ::2], B), {}, ValueError,
     r"\ba must have unit column stride"),
    ("gemm-a-transposed-view", kernels.gemm, (_f32(4, 3).T, B), {}, ValueError,
     r"\ba must have unit column stride"),
    ("gemm-a-unaligned", kernels.gemm, (_unaligned(A), B), {}, ValueError,
     r"\ba is not aligned"),
    ("gemm-c-unaligned", kernels.gemm, (A, B, _unaligned(C)), {}, ValueError,
     r"\bc is not aligned"),
    ("activation-z-unaligned", kernels.activation_forward, (_unaligned(Z),), {}, ValueError,
     r"\bz is not aligned"),
    ("softmax-out-unaligned", kernels.softmax, (Z,), {"out": _unaligned(Z)}, ValueError,
     r"\bout is not aligned"),
    ("sgd-w-unaligned", kernels.sgd_update, (_unaligned(W), G), {"lr": 0.1}, ValueError,
     r"\bw is not aligned"),
    ("sparse-data-unaligned", kernels.sparse_matmul, (IP, IX, _unaligned(DV), SB), {},
     ValueError, r"\bdata is not aligned"),
    ("gemm-inner", kernels.gemm, (A, _f32(5, 5)), {}, ValueError, r"op\(a\) is 3x4 but op\(b\)"),
    ("gemm-c-shape", kernels.gemm, (A, B, np.zeros((3, 4), np.float32)), {}, ValueError,
     r"\bc must have shape \(3, 5\)"),
    ("gemm-c-readonly", kernels.gemm, (A, B, _ro(C)), {}, ValueError, r"\bc is read-only"),
    ("gemm-c-dtype", kernels.gemm, (A, B, C.astype(np.float64)), {}, TypeError,
     r"\bc has dtype float64"),
    ("gemm-alpha-nan", kernels.gemm, (A, B), {"alpha": float("nan")}, ValueError,
     r"alpha must be finite"),
    ("gemm-alpha-str", kernels.gemm, (A, B), {"alpha": "2"}, TypeError,
     r"alpha must be a real number"),
    ("gemm-beta-without-c", kernels.gemm, (A, B), {"beta": 1.0}, ValueError, r"beta must be 0"),
    ("activation-name", kernels.activation_forward, (Z,), {"activation": "softplus"}, ValueError,
     r"activation must be one of"),
    ("activation-type", kernels.activation_forward, (Z,), {"activation": 3}, TypeError,
     r"activation must be a string"),
    ("activation-slope", kernels.activation_forward, (Z,), {"activation": "leaky_relu",
                                                             "slope": 1.5}, ValueError,
     r"slope must be in \(0, 1\)"),
    ("activation-bias-len", kernels.activation_forward, (Z, _f32(4)), {}, ValueError,
     r"bias has 4 entries"),
    ("activation-z-bool", kernels.activation_forward, (Z > 0,), {}, TypeError, r"\bz must have"),
    ("activation-out-shape", kernels.activation_forward, (Z,), {"out": _f32(3, 6)}, ValueError,
     r"\bout must have shape"),
    ("activation-out-readonly", kernels.activation_forward, (Z,), {"out": _ro(Z)}, ValueError,
     r"\bout is read-only"),
    ("activation-backward-shape", kernels.activation_backward, (Z, _f32(6, 2)),
     {"activation": "relu"}, ValueError, r"\bdy must have the shape of y"),
    ("softmax-1d", kernels.softmax, (Z.ravel(),), {}, ValueError, r"\bz must be 2-D"),
    ("softmax-noncontiguous", kernels.softmax, (np.asfortranarray(Z),), {}, ValueError,
     r"\bz must be C-contiguous"),
    ("xent-labels-float", kernels.softmax_cross_entropy, (Z, LAB.astype(float)), {}, TypeError,
     r"labels must be class indices"),
    ("xent-labels-range", kernels.softmax_cross_entropy, (Z, LAB + 1), {}, ValueError,
     r"labels must be in \[0, 3\)"),
    ("xent-labels-negative", kernels.softmax_cross_entropy, (Z, LAB - 1), {}, ValueError,
     r"labels must be in \[0, 3\)"),
    ("xent-labels-length", kernels.softmax_cross_entropy, (Z, LAB[:4]), {}, ValueError,
     r"labels has 4 entries"),
    ("xent-labels-list", kernels.softmax_cross_entropy, (Z, LAB.tolist()), {}, TypeError,
     r"labels must be a NumPy array"),
    ("xent-weight-negative", kernels.softmax_cross_entropy, (Z, LAB),
     {"sample_weight": np.array([1, 1, -1, 1, 1, 1], np.float32)}, ValueError,
     r"sample_weight must be non-negative"),
    ("xent-weight-nan", kernels.softmax_cross_entropy, (Z, LAB),
     {"sample_weight": np.array([1, 1, np.nan, 1, 1, 1], np.float32)}, ValueError,
     r"sample_weight must be finite"),
    ("xent-weight-length", kernels.softmax_cross_entropy, (Z, LAB),
     {"sample_weight": np.ones(5, np.float32)}, ValueError, r"sample_weight has 5 entries"),
    ("xent-weight-zero", kernels.softmax_cross_entropy, (Z, LAB),
     {"sample_weight": np.zeros(6, np.float32)}, ValueError, r"sample_weight sums to zero"),
    ("xent-empty", kernels.softmax_cross_entropy, (Z[:0], LAB[:0]), {}, ValueError,
     r"logits must have at least one row"),
    ("xent-grad-shape", kernels.softmax_cross_entropy, (Z, LAB), {"grad": _f32(6, 2)}, ValueError,
     r"grad must have shape"),
    ("bce-targets-range", kernels.sigmoid_binary_cross_entropy, (Z, Z), {}, ValueError,
     r"targets must be in \[0, 1\]"),
    ("bce-targets-nan", kernels.sigmoid_binary_cross_entropy,
     (Z, np.full_like(Z, np.nan)), {}, ValueError, r"targets must be finite"),
    ("squared-targets-shape", kernels.squared_error, (Z, Z[:, :2].copy()), {}, ValueError,
     r"targets must have the shape of pred"),
    ("colsum-out-length", kernels.column_sum, (Z,), {"out": _f32(4)}, ValueError,
     r"out must have 3 entries"),
    ("sgd-lr-zero", kernels.sgd_update, (W.copy(), G), {"lr": 0.0}, ValueError, r"\blr must be >"),
    ("sgd-lr-negative", kernels.sgd_update, (W.copy(), G), {"lr": -0.1}, ValueError,
     r"\blr must be >"),
    ("sgd-lr-nan", kernels.sgd_update, (W.copy(), G), {"lr": float("nan")}, ValueError,
     r"\blr must be finite"),
    ("sgd-l2-negative", kernels.sgd_update, (W.copy(), G), {"lr": 0.1, "l2": -1.0}, ValueError,
     r"\bl2 must be >="),
    ("sgd-w-readonly", kernels.sgd_update, (_ro(W), G), {"lr": 0.1}, ValueError,
     r"\bw is read-only"),
    ("sgd-g-shape", kernels.sgd_update, (W.copy(), G[:5]), {"lr": 0.1}, ValueError,
     r"\bg must have the shape of w"),
    ("sgd-g-aliases-w", kernels.sgd_update, (W, W), {"lr": 0.1}, ValueError,
     r"\bw shares memory with g"),
    ("momentum-range", kernels.momentum_update, (W.copy(), np.zeros_like(W), G),
     {"lr": 0.1, "momentum": 1.5}, ValueError, r"momentum must be <"),
    ("momentum-nesterov-type", kernels.momentum_update, (W.copy(), np.zeros_like(W), G),
     {"lr": 0.1, "nesterov": "yes"}, TypeError, r"nesterov must be True or False"),
    ("adam-t-zero", kernels.adam_update, (W.copy(), np.zeros_like(W), np.zeros_like(W), G),
     {"lr": 0.1, "t": 0}, ValueError, r"\bt must be >= 1"),
    ("adam-t-float", kernels.adam_update, (W.copy(), np.zeros_like(W), np.zeros_like(W), G),
     {"lr": 0.1, "t": 1.5}, TypeError, r"\bt must be an integer"),
    ("adam-beta1", kernels.adam_update, (W.copy(), np.zeros_like(W), np.zeros_like(W), G),
     {"lr": 0.1, "t": 1, "beta1": 1.0}, ValueError, r"beta1 must be <"),
    ("adam-eps", kernels.adam_update, (W.copy(), np.zeros_like(W), np.zeros_like(W), G),
     {"lr": 0.1, "t": 1, "eps": 0.0}, ValueError, r"eps must be >"),
    ("adam-lr", kernels.adam_update, (W.copy(), np.zeros_like(W), np.zeros_like(W), G),
     {"lr": -1.0, "t": 1}, ValueError, r"\blr must be >"),
]


@pytest.mark.parametrize("func,args,kwargs,exc,pattern",
                         [pytest.param(*r[1:], id=r[0]) for r in KERNEL_ROWS])
def test_kernels_refuse_bad_arguments_and_write_nothing(func, args, kwargs, exc, pattern):
    arrays = [a for a in list(args) + list(kwargs.values()) if isinstance(a, np.ndarray)]
    before = [a.tobytes() for a in arrays]
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} lacks {pattern!r}"
    assert [a.tobytes() for a in arrays] == before, "a refused call wrote to an argument"


# ---- loaders, save and load --------------------------------------------------------------------

def _file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _loader_rows(tmp_path):
    model = fitted("MLPClassifier")
    text = _file(tmp_path, "notes.txt", b"hello")
    table = _file(tmp_path, "t.csv", b"a,b\n1,2\n3,4\n")
    yield "load_idx-type", lambda: load_idx(3), TypeError, r"path must be a str or os.PathLike"
    yield "load_idx-missing", lambda: load_idx(tmp_path / "none"), FileNotFoundError, "none"
    yield "load_idx-directory", lambda: load_idx(tmp_path), IsADirectoryError, "directory"
    yield "load_idx-foreign", lambda: load_idx(text), ValueError, r"notes.txt: not an IDX file"
    yield "load_mnist-kind", lambda: load_mnist(tmp_path, "validation"), ValueError, \
        r"kind must be 'train' or 'test'"
    yield "load_mnist-normalize", lambda: load_mnist(tmp_path, normalize="yes"), TypeError, \
        r"normalize must be True or False"
    yield "load_mnist-flatten", lambda: load_mnist(tmp_path, flatten=1), TypeError, \
        r"flatten must be True or False"
    yield "load_mnist-dtype", lambda: load_mnist(tmp_path, dtype=np.int8), TypeError, \
        r"dtype must be a floating type"
    yield "load_mnist-directory-type", lambda: load_mnist(None), TypeError, r"directory must be"
    yield "load_table-target", lambda: load_table(table, target=1.5), TypeError, \
        r"target must be a column name"
    yield "load_table-header", lambda: load_table(table, header="maybe"), ValueError, \
        r"header must be 'auto', True or False"
    yield "load_table-delimiter", lambda: load_table(table, delimiter=";;"), ValueError, \
        r"delimiter must be one character"
    yield "load_table-unknown-column", lambda: load_table(table, target="z"), ValueError, \
        r"target='z' is not a column"
    yield "load_digits-dtype", lambda: load_digits(dtype=np.int32), TypeError, \
        r"dtype must be a floating type"
    yield "load_digits-return_X_y", lambda: load_digits(return_X_y="yes"), TypeError, \
        r"return_X_y must be True or False"
    yield "save-not-a-model", lambda: fastmlp.save(object(), tmp_path / "m.fmlp"), TypeError, \
        r"save\(\) stores fastmlp estimators"
    yield "save-path-type", lambda: fastmlp.save(model, 5), TypeError, \
        r"path must be a str or os.PathLike"
    yield "save-missing-directory", lambda: fastmlp.save(model, tmp_path / "no" / "m.fmlp"), \
        FileNotFoundError, r"directory .*no does not exist"
    yield "save-over-directory", lambda: fastmlp.save(model, tmp_path), IsADirectoryError, \
        r"cannot save a model over a directory"
    yield "save-unsavable-param", lambda: fastmlp.save(
        MLPClassifier(random_state=object()), tmp_path / "m.fmlp"), TypeError, \
        r"cannot save parameter random_state"
    yield "load-path-type", lambda: fastmlp.load(None), TypeError, \
        r"path must be a str or os.PathLike"
    yield "load-missing", lambda: fastmlp.load(tmp_path / "none.fmlp"), FileNotFoundError, \
        r"no such model file.*none.fmlp"
    yield "load-directory", lambda: fastmlp.load(tmp_path), IsADirectoryError, \
        r"a model file is expected, not a directory"
    yield "load-foreign", lambda: fastmlp.load(text), ValueError, \
        r"cannot load .*notes.txt: not a fastmlp model file"
    empty = _file(tmp_path, "e.fmlp", b"")
    yield "load-empty", lambda: fastmlp.load(empty), ValueError, \
        r"cannot load .*e.fmlp"


LOADER_IDS = ["load_idx-type", "load_idx-missing", "load_idx-directory", "load_idx-foreign",
              "load_mnist-kind", "load_mnist-normalize", "load_mnist-flatten", "load_mnist-dtype",
              "load_mnist-directory-type", "load_table-target", "load_table-header",
              "load_table-delimiter", "load_table-unknown-column", "load_digits-dtype",
              "load_digits-return_X_y", "save-not-a-model", "save-path-type",
              "save-missing-directory", "save-over-directory", "save-unsavable-param",
              "load-path-type", "load-missing", "load-directory", "load-foreign", "load-empty"]


@pytest.mark.parametrize("row_id", LOADER_IDS)
def test_loaders_save_and_load_refuse_clearly(tmp_path, row_id):
    rows = {r[0]: r[1:] for r in _loader_rows(tmp_path)}
    assert set(rows) == set(LOADER_IDS)
    call, exc, pattern = rows[row_id]
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(exc) as info:
        call()
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} lacks {pattern!r}"
    assert sorted(os.listdir(tmp_path)) == listing, "a refused call left files behind"


def test_refused_save_keeps_the_file_that_was_there(tmp_path):
    path = tmp_path / "m.fmlp"
    fastmlp.save(fitted("MLPRegressor"), path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot save parameter random_state"):
        fastmlp.save(MLPRegressor(random_state=object()), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.fmlp"]


# ---- the command line --------------------------------------------------------------------------

CLI_ROWS = [
    (["demo", "--epochs", "0"], "--epochs"), (["demo", "--epochs", "-3"], "--epochs"),
    (["demo", "--epochs", "2.5"], "--epochs"), (["demo", "--epochs", "x"], "--epochs"),
    (["demo", "--hidden", "0"], "--hidden"), (["demo", "--hidden", "64,-1"], "--hidden"),
    (["demo", "--hidden", "64,x"], "--hidden"), (["demo", "--hidden", ""], "--hidden"),
    (["demo", "--batch-size", "0"], "--batch-size"),
    (["demo", "--learning-rate", "0"], "--learning-rate"),
    (["demo", "--learning-rate", "-1"], "--learning-rate"),
    (["demo", "--learning-rate", "inf"], "--learning-rate"),
    (["demo", "--learning-rate", "nan"], "--learning-rate"),
    (["demo", "--test-fraction", "0"], "--test-fraction"),
    (["demo", "--test-fraction", "1"], "--test-fraction"),
    (["demo", "--seed", "-1"], "--seed"), (["demo", "--seed", str(2 ** 32)], "--seed"),
    (["demo", "--dtype", "float16"], "--dtype"), (["demo", "--bogus"], "--bogus"),
    (["demo", "--epochs"], "--epochs"), (["train-everything"], "invalid choice"), ([], "COMMAND"),
]


@pytest.mark.parametrize("argv,names", CLI_ROWS, ids=[" ".join(r[0]) or "(none)"
                                                      for r in CLI_ROWS])
def test_command_line_mistakes_are_one_line_errors(capsys, argv, names):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in err, err


def test_command_line_refusal_from_the_estimator_is_one_line(capsys, monkeypatch):
    """A value argparse lets through but the estimator refuses: still one line, status 2."""
    monkeypatch.setattr(cli, "_positive_int", int)  # let --batch-size -5 reach the estimator
    parser = cli.build_parser()
    args = parser.parse_args(["demo", "--quiet", "--no-reference"])
    args.batch_size = -5
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(parser, args))
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "batch_size must be an integer >= 1, got -5" in err


class _Fixed:
    def __init__(self, parser, args):
        self.parser, self.args = parser, args

    def parse_args(self, argv):
        return self.args


def test_tables_cover_the_issue_list():
    """Every row of issue 6's list has at least one row here (a table that silently lost a
    row would still pass)."""
    ids = " ".join([r[0] for r in DATA_ROWS] + [r[0] for r in PARAM_ROWS])
    for needle in ("nan-X", "inf-X", "nan-y", "nan-sample_weight", "1-D-X", "3-D-X",
                   "X-y-length", "empty-X", "one-class", "features-at-predict", "object-X",
                   "string-X", "complex-X", "bool-X", "unseen-labels-partial_fit",
                   "mixed-labels", "batch_size=-1", "batch_size=0", "batch_size=2.5",
                   "hidden_layer_sizes=-1", "hidden_layer_sizes=0", "hidden_layer_sizes=2.5",
                   "max_iter=-1", "max_iter=0", "max_iter=2.5", "learning_rate_init=0.0",
                   "learning_rate_init=-0.1", "dropout=-0.1", "dropout=1.0", "activation=",
                   "solver=", "loss=", "learning_rate=", "dtype=", "sample_weight-length",
                   "sample_weight-negative"):
        assert needle in ids, needle
    assert {"fortran", "column-slice", "read-only", "memory-mapped"} <= set(LAYOUTS)


def test_weights_edited_in_place_to_nan_are_named_not_called_overflow():
    model = fitted("MLPClassifier")
    X, _ = base_data("MLPClassifier")
    model.coefs_[1][0, 0] = np.nan
    for call in (model.predict, model.predict_proba, lambda X: model.predict_proba(
            np.ascontiguousarray(X[:1], dtype=np.float32))):
        with pytest.raises(ValueError, match=r"coefs_\[1\] contain NaN or infinity"):
            call(X)


@pytest.mark.parametrize("value, exc, pattern", [
    (None, TypeError, r"coefs_ must be a list of arrays"),
    ("complex", TypeError, r"coefs_\[0\] must hold real numbers, got dtype complex"),
    ("str", TypeError, r"coefs_\[0\] must hold real numbers"),
])
def test_assigned_coefs_of_the_wrong_kind_are_refused(value, exc, pattern):
    model = fitted("MLPRegressor")
    X, _ = base_data("MLPRegressor")
    model.coefs_ = None if value is None else [a.astype(value) for a in model.coefs_]
    with pytest.raises(exc, match=pattern):
        model.predict(X)


def test_an_overflowing_invscaling_decay_reaches_a_zero_rate():
    """(t + 1) ** power_t beyond float64 is a rate of 0, not an OverflowError mid-fit."""
    X, y = base_data("MLPClassifier")
    model = MLPClassifier(**{**SMALL, "solver": "sgd", "learning_rate": "invscaling",
                             "power_t": 1e300})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", fastmlp.ConvergenceWarning)
        model.fit(X, y)
    assert model._engine.learning_rate == 0.0


def test_a_zero_dimensional_dropout_array_is_one_rate():
    X, y = base_data("MLPClassifier")
    a = MLPClassifier(**SMALL, dropout=np.array(0.25)).fit(X, y)
    b = MLPClassifier(**SMALL, dropout=0.25).fit(X, y)
    assert a._engine.params.tobytes() == b._engine.params.tobytes()
