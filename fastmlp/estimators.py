"""The estimators people use: MLPClassifier, MLPRegressor (as scikit-learn's) and MLP (one class).
They validate, convert, allocate and drive an engine epoch by epoch; they never compute a pass.

Everything numeric happens in the engine returned by ``make_engine`` (see
fastmlp/_engine.py); these classes own parameters' meaning (coefs_ are
transposed views of the engine's weights), targets, stopping rules,
schedules, validation, warnings and state for save/load and pickle.

Differences from scikit-learn worth knowing (all documented on the classes):

- ``dtype='float32'`` by default (scikit-learn computes in the input's float
  dtype); pass ``dtype='float64'`` for scikit-learn's numbers.
- ``warm_start`` and ``partial_fit`` keep the optimizer state (velocities,
  Adam moments, the current learning rate) and the engine's RNG stream, so
  five partial_fit epochs plus five more equal ten. ``fit`` shuffles with
  scikit-learn's stream (the RandomState that drew the weights, continued;
  each fit call starts it afresh, as scikit-learn does), so a fit with the
  same random_state in float64 is scikit-learn's run. ``n_iter_`` counts epochs since initialization
  (scikit-learn restarts it on every fit); ``max_iter`` still bounds each call.
- SciPy sparse X is accepted and never densified (the first layer reads its
  CSR); only ``standardize=True`` refuses it. y and sample_weight must be dense.
- The training loss of ``squared_error`` is reported as scikit-learn reports
  it (0.5 * mean over outputs, i.e. the engine's per-row sum divided by
  n_outputs, plus the unscaled penalty); see ``_reported``.
"""
import copy
import functools
import math
import numbers
import sys
import threading
import time
import types
import warnings

import numpy as np

from . import _core
from . import _validation as V
from ._compat import (HAVE_SKLEARN, BaseEstimator, ClassifierMixin, ConvergenceWarning,
                      DataConversionWarning, NotFittedError, RegressorMixin)
from ._engine import CSR, NonFiniteLossError, make_engine

__all__ = ["MLP", "MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
_SOLVERS = ("lbfgs", "sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")
_WEIGHT_INITS = ("glorot", "glorot_normal", "he", "he_normal", "normal", "uniform", "zeros")
_MLP_LOSSES = ("auto", "cross_entropy", "binary_cross_entropy", "squared_error", "poisson")
_OUTPUTS = ("auto", "softmax", "logistic", "identity", "exp")
# output activation -> losses it can be trained with (the engine's table)
_OUTPUT_LOSSES = {"softmax": ("cross_entropy", "squared_error"),
                  "logistic": ("binary_cross_entropy", "squared_error"),
                  "identity": ("squared_error",), "exp": ("poisson",)}
# engine configuration keys that define the network (cannot change on warm start)
_ARCHITECTURE = ("layer_sizes", "hidden_activation", "output_activation", "loss", "dtype", "slope")


class _AvailableIf:
    """A method that exists only when ``check(self)`` passes (hasattr-friendly)."""

    def __init__(self, fn, check):
        self.fn, self.check = fn, check
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        self.check(obj)  # raises AttributeError when the method does not apply
        return types.MethodType(self.fn, obj)


def _available_if(check):
    return lambda fn: _AvailableIf(fn, check)


def _uniform(rs, low, high, size):
    """rs.uniform(low, high, size), the same numbers and the same state after,
    drawn by fastmlp's C copy of NumPy's MT19937 path for big arrays (NumPy
    spends a function call per number; a first layer has millions)."""
    n = int(np.prod(size))
    # Not for NumPy's global RandomState (random_state=None): other threads may
    # draw from it between get_state and set_state. Only for MT19937, which a
    # RandomState need not hold (RandomState(PCG64()) is legal).
    if (n < 4096 or type(rs) is not np.random.RandomState or rs is np.random.mtrand._rand
            or not isinstance(getattr(rs, "_bit_generator", None), np.random.MT19937)):
        return rs.uniform(low, high, size)
    state = rs.get_state(legacy=True)
    key = np.array(state[1], dtype=np.uint32)
    out = np.empty(size)
    low, high = float(low), float(high)
    pos = _core.mt19937_uniform(key, int(state[2]), out.reshape(-1), low, high - low)
    rs.set_state((state[0], key, pos) + tuple(state[3:]))
    return out


def _check_random_state(seed):
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int in [0, 2**32 - 1] or a "
                     f"numpy.random.RandomState, got {seed!r}")


def _as_python(value):
    """NumPy scalars to Python numbers, so attributes stay JSON-friendly."""
    return value.item() if isinstance(value, np.generic) else value


# ---- input standardization ------------------------------------------------------------
# standardize=True learns a per-feature mean and scale at the first fit and applies
# (X - mean) / scale inside fit, partial_fit, predict, predict_proba and score.
#
# Why scale the inputs rather than fold the scaler into the first layer (W / scale,
# b - (mean / scale) @ W): folding subtracts two large numbers for a feature whose mean
# is large against its spread (a year, a price), which loses most of float32's digits,
# and the folded weights would need invalidating whenever coefs_ changes. Scaling is
# done in float64 from the caller's values (float32 input is read as is, anything else
# as float64, so a float64 column is not rounded to float32 before its mean is taken
# away), then rounded once to the engine dtype. fit makes one scaled copy of the
# training rows (the engine trains from it); predict scales a block of rows at a time
# into a reused buffer, so it never holds a scaled copy of all of X.

# Models being trained right now (by id): fit and partial_fit share the
# engine's scratch and state with the GIL released, so a second training call
# on the same model from another thread would corrupt both; it is refused.
_TRAINING = set()
_TRAINING_LOCK = threading.Lock()

_BLOCK_BYTES = 1 << 19  # float64 bytes of one block of rows scaled at a time (512 KiB)


def _raw_dtype(X):
    """The dtype the scaler reads X in: float32 stays float32, all else becomes float64."""
    return np.dtype(np.float32) if getattr(X, "dtype", None) == np.float32 else \
        np.dtype(np.float64)


def _block_rows(n_features, n_rows):
    return max(1, min(n_rows, max(64, _BLOCK_BYTES // (8 * n_features))))


def _fit_scaler(X, sample_weight=None):
    """(mean, scale) per column of X in float64: the (sample-weighted) mean and
    population standard deviation, and scale 1 for a constant column (exactly constant
    over the rows of non-zero weight: its min equals its max), so a feature that never
    varies in training is only centred instead of divided by zero.

    Two passes over blocks of rows, so the float64 work memory stays bounded.
    """
    n, d = X.shape
    if sample_weight is not None:
        keep = sample_weight > 0  # zero-weight rows do not exist for the statistics
        X, sample_weight = X[keep], sample_weight[keep]
        n = X.shape[0]
    rows = _block_rows(d, n)
    total = np.zeros(d)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    w_sum = float(n) if sample_weight is None else float(sample_weight.sum(dtype=np.float64))
    for start in range(0, n, rows):
        part = X[start:start + rows]
        if sample_weight is None:
            total += part.sum(axis=0, dtype=np.float64)
        else:
            total += sample_weight[start:start + rows].astype(np.float64) @ part
        np.minimum(lo, part.min(axis=0), out=lo)
        np.maximum(hi, part.max(axis=0), out=hi)
    mean = total / w_sum
    sq = np.zeros(d)
    for start in range(0, n, rows):
        dev = X[start:start + rows].astype(np.float64) - mean
        if sample_weight is None:
            sq += np.einsum("ij,ij->j", dev, dev)
        else:
            sq += np.einsum("i,ij,ij->j", sample_weight[start:start + rows], dev, dev)
    scale = np.sqrt(sq / w_sum)
    constant = lo == hi
    scale[constant] = 1.0
    if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError("standardize=True could not compute finite means and standard "
                         "deviations of X (its values overflow float64 when summed); rescale "
                         "the features yourself and pass standardize=False")
    return mean, scale


def _standardize_block(X, scaler, out, tmp):
    """out[...] = (X - mean) / scale, computed in the float64 ``tmp`` (same shape)."""
    mean, scale = scaler
    np.subtract(X, mean, out=tmp)
    np.divide(tmp, scale, out=tmp)
    out[...] = tmp


def _standardized(X, scaler, dtype):
    """A new C-contiguous array (X - mean) / scale in ``dtype``, built a block at a time."""
    n, d = X.shape
    out = np.empty((n, d), dtype=dtype)
    rows = _block_rows(d, n)
    tmp = np.empty((rows, d))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        _standardize_block(X[start:stop], scaler, out[start:stop], tmp[:stop - start])
    if not V.all_finite(out):
        raise ValueError("standardized X has values beyond the range of "
                         f"{np.dtype(dtype).name}; use dtype='float64'")
    return out


# ---- scores without scikit-learn ------------------------------------------------------

def _weighted_mean(values, sample_weight):
    if sample_weight is None:
        return float(np.mean(values))
    return float(np.average(values, weights=sample_weight))


def _score_args(y_true, y_pred, sample_weight):
    """(y_true, sample_weight) checked against the predictions: one entry per
    row of X, y_true shaped like them (a column vector for one output too),
    weights as in fit (finite, >= 0, not all zero; None stays None)."""
    y_true = V.as_array(y_true, "y", "one true label or target per row of X")
    n = len(y_pred)
    if y_true.ndim == 0:
        raise ValueError(f"y must hold one true label or target per row of X ({n} rows), got "
                         f"{y_true!r}")
    V.check_n_samples("score", n, y_true.shape[0])
    got = 1 if y_true.ndim == 1 else int(np.prod(y_true.shape[1:]))
    want = 1 if y_pred.ndim == 1 else y_pred.shape[1]
    if y_true.ndim > 2 or got != want:
        raise ValueError(f"y has shape {y_true.shape}, but the model predicts {want} "
                         f"output{'s' if want != 1 else ''} per row; pass y of shape "
                         f"{(n,) if want == 1 else (n, want)}")
    y_true = y_true.reshape(y_pred.shape)
    sw = V.as_sample_weight(sample_weight, n)
    return y_true, sw


def _engine_weights(w, dtype, name):
    """Checked weights (float64) in the engine's dtype. Weights so small or so
    large that they (or their sum) leave that dtype's range would silently
    train on zeros or stop on an infinite sum: refused with the fix."""
    if w is None:
        return None
    with np.errstate(over="ignore", under="ignore"):
        out = w.astype(dtype)
    positive = w > 0
    info = np.finfo(dtype)
    if (out[positive] == 0).any() or not np.isfinite(out).all() or w.sum() > info.max:
        raise ValueError(f"{name} ranges from {w[positive].min():.3g} to {w.max():.3g}, which "
                         f"{dtype.name} cannot hold (weights, and their sum, must lie within "
                         f"{info.tiny:.3g} .. {info.max:.3g}); only their ratios matter, so "
                         f"rescale them (e.g. divide by their mean), or use dtype='float64'")
    return out


def _accuracy(y_true, y_pred, sample_weight=None):
    """Fraction of rows predicted exactly (subset accuracy for multilabel)."""
    y_pred = np.asarray(y_pred)
    y_true, sw = _score_args(y_true, y_pred, sample_weight)
    kinds = {y_true.dtype.kind in "US", y_pred.dtype.kind in "US"}
    if len(kinds) == 2 and "O" not in (y_true.dtype.kind, y_pred.dtype.kind):
        # Strings against numbers never match: every row would silently count as wrong.
        raise ValueError(f"y holds {'strings' if y_true.dtype.kind in 'US' else 'numbers'} "
                         f"but the model's classes are "
                         f"{'strings' if y_pred.dtype.kind in 'US' else 'numbers'}; pass "
                         f"labels of the type fit saw")
    correct = y_true == y_pred
    if correct.ndim == 2:
        correct = correct.all(axis=1)
    return _weighted_mean(correct, sw)


def _r2(y_true, y_pred, sample_weight=None):
    """Coefficient of determination, averaged uniformly over outputs.

    As scikit-learn: a constant target scores 1.0 when predicted exactly and
    0.0 otherwise; fewer than two samples give NaN.
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true, sw = _score_args(y_true, y_pred, sample_weight)
    try:
        y_true = np.asarray(y_true, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"y must hold numbers (the regression targets), got dtype "
                        f"{y_true.dtype}") from None
    if not np.isfinite(y_true).all():
        raise ValueError("y contains NaN or infinity; the targets to score must be finite")
    if y_true.shape[0] < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.", UserWarning)
        return float("nan")
    y_true = y_true.reshape(y_true.shape[0], -1)
    y_pred = y_pred.reshape(y_pred.shape[0], -1)
    w = np.ones(y_true.shape[0]) if sw is None else sw
    w = w[:, None]
    num = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = (w * y_true).sum(axis=0) / w.sum()
    den = (w * (y_true - mean) ** 2).sum(axis=0)
    scores = np.where(den != 0, 1 - num / np.where(den != 0, den, 1), np.where(num == 0, 1.0, 0.0))
    return float(scores.mean())


# ---- labels --------------------------------------------------------------------------

def _parse_labels(y, n_samples, who):
    """('labels', 1-D array) or ('multilabel', 2-D 0/1 array) from what a user passed."""
    if y is None:
        raise ValueError(f"{who} requires y to be passed, but the target y is None")
    a = V.as_array(y, "y", "one label (or one 0/1 indicator row of the same length) per sample")
    if a.ndim == 2 and a.shape[1] == 1:
        a = V.column_or_1d(a, "y", DataConversionWarning)
    if a.ndim == 0 or a.ndim > 2:
        raise ValueError(f"y should be a 1d array of labels (or a 2-D 0/1 indicator matrix for "
                         f"multilabel), got shape {a.shape}")
    V.check_n_samples(who, n_samples, a.shape[0])
    kind = a.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {a.dtype}")
    if kind == "O":
        flat = a.ravel()
        is_str = [isinstance(v, str) for v in flat]
        if any(is_str) and not all(is_str):
            raise ValueError("Mix of label input types (string and number) in y: use labels "
                             "of one type, e.g. y.astype(str)")
        if not any(is_str):
            try:
                a = np.asarray(flat.tolist()).reshape(a.shape)
            except (TypeError, ValueError):
                raise ValueError(f"Unknown label type: y holds objects that are neither strings "
                                 f"nor numbers ({type(flat[0]).__name__})") from None
            kind = a.dtype.kind
            if kind == "O":
                raise ValueError("Unknown label type: y holds objects that are neither strings "
                                 "nor numbers")
    if kind not in "biufUSO":
        raise ValueError(f"Unknown label type: y has dtype {a.dtype}; {who} needs class labels "
                         f"(integers or strings)")
    if kind == "f":
        if not V.all_finite(a):
            raise ValueError(V._non_finite_message("y", a) + f" {who} needs finite labels")
        if np.any(a != np.round(a)):
            raise ValueError(f"Unknown label type: continuous. {who} needs class labels (integers "
                             f"or strings); for real-valued targets use a regressor")
    if a.ndim == 2:
        if kind not in "biuf" or not np.isin(a, (0, 1)).all():
            raise ValueError(f"Unknown label type: 2-D y of shape {a.shape} is not a 0/1 "
                             f"indicator matrix (multiclass-multioutput is not supported); pass "
                             f"1-D labels or a multilabel indicator matrix")
        return "multilabel", a
    return "labels", a


def _label_indices(labels, classes):
    """Index of each label in the sorted ``classes``, or ValueError naming unseen ones."""
    try:
        idx = np.searchsorted(classes, labels)
        idx_c = np.minimum(idx, len(classes) - 1)
        ok = np.asarray(classes[idx_c] == labels, dtype=bool)
    except TypeError:  # labels of another type than classes_ (e.g. str vs int)
        ok = np.zeros(len(labels), dtype=bool)
        idx_c = None
    if not ok.all():
        unseen = np.unique(np.asarray(labels)[~ok].astype(str)) if idx_c is None else \
            np.unique(np.asarray(labels)[~ok])
        raise ValueError(f"y has labels not in classes_ {classes.tolist()}: "
                         f"{unseen.tolist()[:10]}; pass every class in `classes` on the first "
                         f"partial_fit call, or refit with warm_start=False")
    return idx_c.astype(np.int64)


class _BaseMLP(BaseEstimator):
    """Shared machinery; concrete classes add their __init__ and target rules."""

    # ---- hyperparameters ------------------------------------------------------------
    def _config(self):
        """Every hyperparameter checked and normalised; raises before anything changes."""
        c = types.SimpleNamespace()
        hls = self.hidden_layer_sizes
        if isinstance(hls, numbers.Integral) and not isinstance(hls, (bool, np.bool_)):
            hls = (hls,)
        try:
            hidden = tuple(hls)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, got "
                            f"{self.hidden_layer_sizes!r}") from None
        if any(isinstance(h, numbers.Integral) and not isinstance(h, (bool, np.bool_)) and h <= 0
               for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {list(hidden)}; every hidden "
                             f"layer needs at least one unit")
        c.hidden = tuple(V.check_int(f"hidden_layer_sizes[{i}]", h, 1)
                         for i, h in enumerate(hidden))
        c.activation = V.check_option("activation", self.activation, _ACTIVATIONS)
        c.solver = V.check_option("solver", self.solver, _SOLVERS)
        c.alpha = V.check_real("alpha", self.alpha, 0)
        if isinstance(self.batch_size, str):
            c.batch_size = V.check_option("batch_size", self.batch_size, ("auto",))
        else:
            c.batch_size = V.check_int("batch_size", self.batch_size, 1)
        c.schedule = V.check_option("learning_rate", self.learning_rate, _SCHEDULES)
        c.lr_init = V.check_real("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        c.power_t = V.check_real("power_t", self.power_t, 0)
        c.max_iter = V.check_int("max_iter", self.max_iter, 1)
        c.shuffle = V.check_bool("shuffle", self.shuffle)
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.RandomState)):
            V.check_int("random_state", rs, 0, 2 ** 32 - 1) if isinstance(rs, numbers.Integral) \
                else _check_random_state(rs)
        c.tol = V.check_real("tol", self.tol, 0)
        if isinstance(self.verbose, (bool, np.bool_)):
            c.verbose = bool(self.verbose)
        else:
            c.verbose = V.check_int("verbose", self.verbose, 0) > 0
        c.warm_start = V.check_bool("warm_start", self.warm_start)
        c.momentum = V.check_real("momentum", self.momentum, 0, 1)
        c.nesterov = V.check_bool("nesterovs_momentum", self.nesterovs_momentum)
        c.early_stopping = V.check_bool("early_stopping", self.early_stopping)
        c.validation_fraction = V.check_real("validation_fraction", self.validation_fraction, 0, 1,
                                             high_open=True)
        c.beta_1 = V.check_real("beta_1", self.beta_1, 0, 1, high_open=True)
        c.beta_2 = V.check_real("beta_2", self.beta_2, 0, 1, high_open=True)
        c.epsilon = V.check_real("epsilon", self.epsilon, 0, low_open=True)
        if isinstance(self.n_iter_no_change, numbers.Real) and self.n_iter_no_change == np.inf:
            c.n_iter_no_change = np.inf
        else:
            c.n_iter_no_change = V.check_int("n_iter_no_change", self.n_iter_no_change, 1)
        c.max_fun = V.check_int("max_fun", self.max_fun, 1)
        c.leaky_slope = V.check_real("leaky_slope", self.leaky_slope, 0, 1, high_open=True)
        c.dropout = self._dropout_rates(len(c.hidden))
        if c.solver == "lbfgs" and any(c.dropout):
            raise ValueError("dropout needs a stochastic solver: L-BFGS minimises one fixed "
                             "objective; use solver='adam' or 'sgd', or set dropout=0")
        c.l1 = V.check_real("l1", self.l1, 0)
        c.weight_init = V.check_option("weight_init", self.weight_init, _WEIGHT_INITS)
        # Only names and types are dtypes here: np.dtype(None) would silently be float64,
        # and `None in (dtype, dtype)` is True because dtype(None) == float64.
        if not isinstance(self.dtype, (str, type, np.dtype)):
            raise TypeError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        try:
            c.dtype = np.dtype(self.dtype)
        except TypeError:
            c.dtype = None
        if c.dtype is None or c.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        # a plain int (a NumPy integer would not go into a saved file's JSON)
        c.n_threads = None if self.n_threads is None else \
            int(V.check_int("n_threads", self.n_threads, 1))
        c.class_weight = self._class_weight_param()
        c.standardize = V.check_bool("standardize", self.standardize)
        c.loss, c.output = self._loss_params()
        return c

    def _dropout_rates(self, n_hidden):
        d = self.dropout
        if isinstance(d, np.ndarray) and d.ndim == 0:
            d = d.item()  # a 0-d array is one rate
        if isinstance(d, numbers.Real) and not isinstance(d, (bool, np.bool_)):
            rate = V.check_real("dropout", d, 0, 1, high_open=True)
            if rate > 0 and n_hidden == 0:
                raise ValueError("dropout applies to hidden layers, and hidden_layer_sizes=() "
                                 "has none; set dropout=0")
            return (rate,) * n_hidden
        if isinstance(d, (str, bytes)) or not hasattr(d, "__len__"):
            raise TypeError(f"dropout must be a rate in [0, 1) or one rate per hidden layer, "
                            f"got {d!r}")
        if len(d) != n_hidden:
            raise ValueError(f"dropout has {len(d)} rates but there are {n_hidden} hidden "
                             f"layers; pass one rate per hidden layer or a single float")
        return tuple(V.check_real(f"dropout[{i}]", r, 0, 1, high_open=True)
                     for i, r in enumerate(d))

    def _class_weight_param(self):
        return None

    def _loss_params(self):
        """(loss, output) as chosen by the user; 'auto' is resolved from y at fit."""
        raise NotImplementedError

    # ---- fitted state ------------------------------------------------------------------
    def __sklearn_is_fitted__(self):
        return "_engine" in self.__dict__

    def _check_is_fitted(self):
        if "_engine" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 f"'fit' with appropriate arguments before using this estimator.")

    def _bind_views(self):
        eng = self._engine
        n = len(eng.layer_sizes) - 1
        self.coefs_ = [eng.weights(i).T for i in range(n)]
        self.intercepts_ = [eng.biases(i) for i in range(n)]
        self._views = (list(self.coefs_), list(self.intercepts_))
        eng.__dict__.pop("_serve", None)  # the serving decision is remade after every fit

    def _sync_params(self):
        """Copy user-assigned coefs_/intercepts_ into the engine (they are views otherwise)."""
        coef_views, bias_views = self._views
        for name in ("coefs_", "intercepts_"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{name} must be a list of arrays, one per layer, got "
                                f"{type(value).__name__}; assign a list (or refit)")
        if all(a is b for a, b in zip(self.coefs_, coef_views)) and \
                all(a is b for a, b in zip(self.intercepts_, bias_views)) and \
                len(self.coefs_) == len(coef_views) and len(self.intercepts_) == len(bias_views):
            return
        if len(self.coefs_) != len(coef_views) or len(self.intercepts_) != len(bias_views):
            raise ValueError(f"coefs_ and intercepts_ must hold {len(coef_views)} arrays each, "
                             f"one per layer; got {len(self.coefs_)} and {len(self.intercepts_)}")
        for name, new, views in (("coefs_", self.coefs_, coef_views),
                                 ("intercepts_", self.intercepts_, bias_views)):
            for i, (a, view) in enumerate(zip(new, views)):
                a = np.asarray(a)
                if a.shape != view.shape:
                    raise ValueError(f"{name}[{i}] must have shape {view.shape}, got {a.shape}")
                if a.dtype.kind not in "biuf":
                    raise TypeError(f"{name}[{i}] must hold real numbers, got dtype {a.dtype}")
                if not V.all_finite(np.asarray(a, dtype=np.float64)):
                    raise ValueError(f"{name}[{i}] contains NaN or infinity")
        for new, views in ((self.coefs_, coef_views), (self.intercepts_, bias_views)):
            for a, view in zip(new, views):
                if a is not view:
                    view[...] = a
        self._bind_views()

    # ---- inputs ------------------------------------------------------------------------
    def _check_features(self, X, reset, c_dtype=None, standardize=False):
        """X converted once; n_features_in_ and feature names checked against the fit.

        With ``standardize`` X is converted to the dtype the scaling reads
        (float32 input stays float32, anything else becomes float64), not to
        the engine dtype: see ``_standardized``.
        """
        who = type(self).__name__
        names = V.feature_names_of(X)
        if standardize:
            if V._is_sparse(X):
                raise TypeError(f"{who} with standardize=True needs dense X: subtracting the "
                                f"means would fill in every zero of a sparse matrix. Pass "
                                f"X.toarray() if it fits in memory, or scale the columns "
                                f"yourself (without centering) and use standardize=False")
            dtype = _raw_dtype(X)
        else:
            dtype = c_dtype if c_dtype is not None else np.dtype(self._engine_config["dtype"])
        Xc = V.as_features(X, dtype=dtype, who=who)
        if reset:
            return Xc, names
        fitted = self.__dict__.get("feature_names_in_")
        if fitted is None and names is not None:
            warnings.warn(f"X has feature names, but {who} was fitted without feature names",
                          UserWarning, stacklevel=V.user_stacklevel())
        elif fitted is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {who} was fitted with "
                          f"feature names", UserWarning, stacklevel=V.user_stacklevel())
        elif fitted is not None and (len(names) != len(fitted) or np.any(names != fitted)):
            raise ValueError(f"The feature names should match those that were passed during "
                             f"fit: fitted with {fitted.tolist()[:10]}, got {names.tolist()[:10]}")
        if Xc.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {Xc.shape[1]} features, but {who} is expecting "
                             f"{self.n_features_in_} features as input.")
        return Xc, names

    def _task_of(self, y, c):
        """'classification' or 'regression' for a first fit."""
        raise NotImplementedError

    def _first_targets(self, y, n, c, classes_param, incremental):
        """Targets for a fresh network: a spec (what to build) and the encoded y."""
        who = type(self).__name__
        task = self._task_of(y, c)
        if task == "regression":
            yr = self._regression_y(y, n, c.dtype, who)
            loss = "squared_error" if c.loss == "auto" else c.loss
            if loss not in ("squared_error", "poisson"):
                raise ValueError(f"loss={loss!r} needs class labels, but y holds real values "
                                 f"(dtype {np.asarray(y).dtype}); pass labels or use "
                                 f"loss='squared_error'")
            output = {"squared_error": "identity", "poisson": "exp"}[loss] \
                if c.output == "auto" else c.output
            self._check_pair(loss, output)
            if loss == "poisson" and (yr < 0).any():
                raise ValueError("loss='poisson' needs non-negative targets; y has negative values")
            spec = dict(task="regression", kind="regression", loss=loss, output=output,
                        n_outputs=1 if yr.ndim == 1 else yr.shape[1], y_ndim=yr.ndim,
                        y_dtype=None)
            return spec, None, yr.reshape(n, -1), None
        ltype, labels = _parse_labels(y, n, who)
        if ltype == "multilabel":
            if classes_param is not None and len(np.asarray(classes_param)) != labels.shape[1]:
                raise ValueError(f"classes has {len(np.asarray(classes_param))} entries but the "
                                 f"multilabel y has {labels.shape[1]} columns")
            classes = np.arange(labels.shape[1])
        elif classes_param is not None:
            classes = self._check_classes_param(classes_param)
        elif incremental:
            raise ValueError("classes must be passed on the first call to partial_fit: "
                             "partial_fit(X, y, classes=np.unique(y_all))")
        else:
            classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(f"y contains only one class ({classes.tolist()[0]!r}); {who} needs "
                             f"samples of at least 2 classes")
        loss, output = c.loss, c.output
        if loss == "poisson":
            raise ValueError("loss='poisson' needs real-valued targets, but y holds class labels")
        if loss == "auto":
            loss = "binary_cross_entropy" if ltype == "multilabel" or len(classes) == 2 \
                else "cross_entropy"
        if output == "auto":
            output = {"cross_entropy": "softmax", "binary_cross_entropy": "logistic",
                      "squared_error": "logistic"}[loss]
        self._check_pair(loss, output)
        if ltype == "multilabel":
            if output == "softmax":
                raise ValueError("multilabel targets need independent outputs: use "
                                 "loss='binary_cross_entropy' (or squared_error with a logistic "
                                 "or identity output), not a softmax")
            kind = "multilabel"
        elif output == "softmax":
            kind = "index" if loss == "cross_entropy" else "onehot"
        else:
            kind = "binary" if len(classes) == 2 else "onehot"
        n_outputs = 1 if kind == "binary" else len(classes)
        spec = dict(task="classification", kind=kind, loss=loss, output=output,
                    n_outputs=n_outputs, y_ndim=labels.ndim,
                    y_dtype=labels.dtype.str if ltype == "multilabel" else None)
        y_enc, idx = self._encode_labels(labels, classes, spec, c.dtype)
        return spec, classes, y_enc, idx

    @staticmethod
    def _check_pair(loss, output):
        if output not in _OUTPUT_LOSSES or loss not in _OUTPUT_LOSSES[output]:
            ok = [o for o, losses in _OUTPUT_LOSSES.items() if loss in losses]
            raise ValueError(f"output_activation={output!r} cannot be trained with loss={loss!r}; "
                             f"use output_activation in {ok} (or 'auto')")

    @staticmethod
    def _regression_y(y, n, dtype, who):
        a = y if y is None else V.as_array(y, "y", "one target (or one row of targets of the "
                                                  "same length) per sample")
        if a is not None and a.ndim == 2 and a.shape[1] == 1:
            a = V.column_or_1d(a, "y", DataConversionWarning)
        return V.as_regression_targets(a, n_samples=n, dtype=dtype, who=who)

    @staticmethod
    def _check_classes_param(classes):
        arr = np.asarray(classes)
        if arr.ndim != 1 or arr.shape[0] == 0:
            raise ValueError(f"classes must be a 1-D array of every class label, got shape "
                             f"{arr.shape}")
        kind, arr = _parse_labels(arr, arr.shape[0], "classes")
        return np.unique(arr)

    @staticmethod
    def _encode_labels(labels, classes, spec, dtype):
        """(engine targets, class index per row or None) for labels in ``classes``."""
        kind = spec["kind"]
        if kind == "multilabel":
            return V.c_array(labels, dtype), None
        idx = _label_indices(labels, classes)
        if kind == "index":
            return idx, idx
        if kind == "binary":
            return idx.astype(dtype).reshape(-1, 1), idx
        onehot = np.zeros((len(idx), len(classes)), dtype=dtype)
        onehot[np.arange(len(idx)), idx] = 1
        return onehot, idx

    def _known_targets(self, y, n, c, warm, spec, classes, who=None):
        """Encode y for a given network spec (warm start, partial_fit, validation data)."""
        who = who or type(self).__name__
        if spec["task"] == "regression":
            yr = self._regression_y(y, n, c.dtype, who)
            n_out = 1 if yr.ndim == 1 else yr.shape[1]
            if n_out != spec["n_outputs"]:
                raise ValueError(f"y has {n_out} outputs but this {type(self).__name__} was "
                                 f"fitted with {spec['n_outputs']}; refit with warm_start=False "
                                 f"to change it")
            if spec["loss"] == "poisson" and (yr < 0).any():
                raise ValueError("loss='poisson' needs non-negative targets; y has negative values")
            return yr.reshape(n, -1), None
        ltype, labels = _parse_labels(y, n, who)
        if (ltype == "multilabel") != (spec["kind"] == "multilabel"):
            raise ValueError(f"this {who} was fitted on "
                             f"{'multilabel' if spec['kind'] == 'multilabel' else '1-D label'} "
                             f"targets and cannot continue on "
                             f"{'multilabel' if ltype == 'multilabel' else '1-D label'} targets")
        if ltype == "multilabel":
            if labels.shape[1] != len(classes):
                raise ValueError(f"y has {labels.shape[1]} label columns but this {who} was "
                                 f"fitted with {len(classes)}")
        elif warm:
            present = np.unique(labels)
            try:
                same = len(np.unique(_label_indices(present, classes))) == len(classes)
            except ValueError:
                same = False
            if not same:
                raise ValueError(f"warm_start can only be used where `y` has the same classes as "
                                 f"in the previous call to fit. Previously got {classes.tolist()}, "
                                 f"`y` has {present.tolist()}")
        return self._encode_labels(labels, classes, spec, c.dtype)

    def _effective_weights(self, sw, idx, spec, c, incremental, classes):
        """Sample weights times class weights (None when both are absent)."""
        cw = c.class_weight
        if cw is None:
            return sw
        if spec["task"] != "classification":
            raise ValueError("class_weight applies to classification, but this model is fitting "
                             "a regression; pass sample_weight instead")
        if spec["kind"] == "multilabel":
            raise ValueError("class_weight is not supported for multilabel targets; pass "
                             "sample_weight instead")
        return self._apply_class_weight(sw, idx, cw, classes, incremental)

    # ---- fit ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Fit the network to X and y (from scratch unless warm_start=True).

        ``validation_data=(X_val, y_val[, sample_weight_val])`` is scored after
        every epoch (``validation_scores_``, ``validation_loss_curve_``); with
        ``early_stopping=True`` it replaces the held-out ``validation_fraction``.
        """
        return self._fit(X, y, sample_weight, incremental=False, classes=None,
                         validation_data=validation_data)

    def _partial_fit(self, X, y, sample_weight=None, classes=None, validation_data=None):
        return self._fit(X, y, sample_weight, incremental=True, classes=classes,
                         validation_data=validation_data)

    def _check_partial_fit(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers "
                                 f"(solver='sgd' or 'adam'); {self.solver!r} is not stochastic")
        return True

    def _fit(self, X, y, sample_weight, incremental, classes, validation_data):
        key = id(self)
        with _TRAINING_LOCK:
            if key in _TRAINING:
                name = "partial_fit" if incremental else "fit"
                raise RuntimeError(
                    f"{type(self).__name__}.{name}: this model is already being trained in "
                    f"another thread; one model trains in one thread at a time (give each "
                    f"thread its own model, e.g. copy.deepcopy(model), or hold a lock)")
            _TRAINING.add(key)
        try:
            return self._fit_exclusive(X, y, sample_weight, incremental, classes, validation_data)
        finally:
            with _TRAINING_LOCK:
                _TRAINING.discard(key)

    def _fit_exclusive(self, X, y, sample_weight, incremental, classes, validation_data):
        c = self._config()
        fitted = "_engine" in self.__dict__
        first = not fitted or (not c.warm_start and not incremental)
        # -- validate everything before touching the model --------------------------
        if not first:
            self._check_same_network(c)
        scaled = c.standardize if first else self._scaler() is not None
        Xc, names = self._check_features(X, reset=first, c_dtype=c.dtype, standardize=scaled)
        n = Xc.shape[0]
        if first:
            spec, the_classes, y_enc, idx = self._first_targets(y, n, c, classes, incremental)
        else:
            spec, the_classes = self._spec, self.__dict__.get("classes_")
            if incremental and classes is not None and spec["kind"] != "multilabel":
                given = self._check_classes_param(classes)
                if given.tolist() != the_classes.tolist():
                    raise ValueError(f"`classes={given.tolist()}` is not the same as on the "
                                     f"first call to partial_fit, which was "
                                     f"{the_classes.tolist()}")
            y_enc, idx = self._known_targets(y, n, c, not incremental, spec, the_classes)
        sw = V.as_sample_weight(sample_weight, n)
        w = self._effective_weights(sw, idx, spec, c, incremental, the_classes)
        if not incremental and idx is not None:
            self._check_two_weighted_classes(idx, w, the_classes)
        scaler = None
        if scaled:
            # A first fit learns the statistics from its rows (weighted by sample_weight,
            # so a weight of k equals k copies of the row); continuing keeps the stored
            # ones, since the network was trained on them.
            scaler = _fit_scaler(Xc, sw) if first else self._scaler()
            Xc = _standardized(Xc, scaler, c.dtype)
        val = None
        if validation_data is not None:
            val = self._check_validation_data(validation_data, c, spec, the_classes, Xc.shape[1],
                                              scaler)
        elif c.early_stopping and c.solver != "lbfgs" and \
                (not incremental or self.__dict__.get("_validation") is None):
            stratify = idx if spec["kind"] != "multilabel" else None
            self._held_out_counts(n, stratify, c)  # raises now if the split cannot work
        w = _engine_weights(w, c.dtype, "sample_weight")
        # -- from here on the model changes ---------------------------------------------
        if first:
            order_rs = self._initialize(Xc, names, spec, the_classes, c, scaler)
        else:
            self._refresh_engine(c)
            # A warm-start fit shuffles from random_state afresh, as scikit-learn's does.
            order_rs = _check_random_state(self.random_state)
        if c.solver == "lbfgs":
            self._fit_lbfgs(Xc, y_enc, w, c)
        else:
            self._fit_stochastic(Xc, y_enc, w, sw, idx, c, incremental, val,
                                 order_rs if not incremental else None)
        return self

    def _check_two_weighted_classes(self, idx, w, classes):
        present = np.unique(idx if w is None else idx[w > 0])
        if len(present) < 2:
            raise ValueError(f"only one class ({classes.tolist()[present[0]]!r}) has samples "
                             f"with non-zero weight; {type(self).__name__} needs samples of at "
                             f"least 2 classes")

    def _check_validation_data(self, data, c, spec, classes, n_features, scaler=None):
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise TypeError("validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                            "sample_weight_val)")
        Xv = V.as_features(data[0], dtype=c.dtype if scaler is None else _raw_dtype(data[0]),
                           who=type(self).__name__, name="X_val")
        if Xv.shape[1] != n_features:
            raise ValueError(f"X_val has {Xv.shape[1]} features, but X has {n_features}")
        if scaler is not None:  # the validation set is kept engine-ready: scaled once, here
            Xv = _standardized(Xv, scaler, c.dtype)
        if spec["kind"] == "regression" and Xv.shape[0] < 2:
            raise ValueError(f"validation_data has {Xv.shape[0]} row, but a regression model "
                             f"scores it with R^2, which needs at least 2 rows; pass more rows")
        yv, idx = self._known_targets(data[1], Xv.shape[0], c, False, spec, classes,
                                      who="validation_data")
        swv = V.as_sample_weight(data[2] if len(data) == 3 else None, Xv.shape[0])
        wv = self._effective_weights(swv, idx, spec, c, True, classes)
        return (Xv, yv, _engine_weights(wv, c.dtype, "validation_data's sample_weight"), swv)

    def _check_same_network(self, c):
        """Warm start / partial_fit continue the same network; refuse silent changes."""
        old = self._engine_config
        new_hidden = tuple(c.hidden)
        old_hidden = tuple(old["layer_sizes"][1:-1])
        changes = []
        if new_hidden != old_hidden:
            changes.append(f"hidden_layer_sizes changed from {old_hidden} to {new_hidden}")
        if c.activation != old["hidden_activation"]:
            changes.append(f"activation changed from {old['hidden_activation']!r} to "
                           f"{c.activation!r}")
        if c.dtype.name != old["dtype"]:
            changes.append(f"dtype changed from {old['dtype']!r} to {c.dtype.name!r}")
        if c.activation == "leaky_relu" and c.leaky_slope != old["slope"]:
            changes.append(f"leaky_slope changed from {old['slope']} to {c.leaky_slope}")
        for name, value in (("loss", c.loss), ("output_activation", c.output)):
            if value != "auto" and value != self._spec[name if name == "loss" else "output"]:
                changes.append(f"{name} changed to {value!r}")
        had_scaler = self._scaler() is not None
        if c.standardize != had_scaler:
            changes.append(f"standardize changed from {had_scaler} to {c.standardize} (the "
                           f"network was trained on {'standardized' if had_scaler else 'raw'} "
                           f"inputs)")
        if changes:
            raise ValueError("warm_start and partial_fit continue the fitted network, but "
                             + "; ".join(changes) + ". Set warm_start=False (or call fit) to "
                             "start a new network")

    def _engine_kwargs(self, config):
        kw = dict(config)
        sizes = kw.pop("layer_sizes")
        kw["dtype"] = np.dtype(kw["dtype"])
        kw["dropout"] = tuple(kw["dropout"]) if kw["dropout"] else None
        return sizes, kw

    def _build_engine(self, config):
        sizes, kw = self._engine_kwargs(config)
        return make_engine(tuple(sizes), **kw)

    def _initialize(self, X, names, spec, classes, c, scaler=None):
        rs = _check_random_state(self.random_state)
        sizes = (X.shape[1],) + c.hidden + (spec["n_outputs"],)
        config = dict(layer_sizes=list(sizes), hidden_activation=c.activation,
                      output_activation=spec["output"], loss=spec["loss"], dtype=c.dtype.name,
                      slope=c.leaky_slope, dropout=list(c.dropout), n_threads=c.n_threads)
        if isinstance(X, CSR):
            # Sparse inputs want W_0 stored (fan_in, fan_out); predictions on
            # dense inputs work the same either way.
            config["layer0_layout"] = "in_out"
        engine = self._build_engine(config)
        self._init_weights(engine, sizes, rs, c)
        # A fresh fit shuffles with scikit-learn's stream: the RandomState that drew
        # the weights, continued (advanced by the shuffles, as scikit-learn's is).
        # The engine's own seed comes from a copy of it at this point, so the
        # shuffles start where scikit-learn's do.
        seed = int(copy.deepcopy(rs).randint(np.iinfo(np.int64).max, dtype=np.int64))
        order_rs = rs
        engine.seed(seed)
        if c.solver != "lbfgs":
            engine.set_optimizer(c.solver, **self._optimizer_kwargs(c))
        for stale in ("feature_names_in_", "classes_", "_validation", "_best_params",
                      "scaler_mean_", "scaler_scale_"):
            self.__dict__.pop(stale, None)
        if scaler is not None:
            self.scaler_mean_, self.scaler_scale_ = scaler
        self._engine, self._engine_config, self._spec, self._seed = engine, config, spec, seed
        self._opt_config = self._optimizer_signature(c)
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        if classes is not None:
            self.classes_ = classes
        self.n_outputs_ = spec["n_outputs"]
        self.n_layers_ = len(sizes)
        self.out_activation_ = spec["output"]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_ = None
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.stop_training_ = False
        if c.early_stopping and c.solver != "lbfgs":
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._best_params = engine.params.copy()
        else:
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self._validation = None
        self._bind_views()
        return order_rs

    @staticmethod
    def _init_weights(engine, sizes, rs, c):
        """Weights and biases drawn layer by layer, weight (fan_in, fan_out) first.

        'glorot' is scikit-learn's scheme draw for draw, so a given
        random_state gives scikit-learn's initial coefs_ exactly (in float64).
        """
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            scheme = c.weight_init
            if scheme == "glorot":
                factor = 2.0 if c.activation == "logistic" else 6.0
                bound = np.sqrt(factor / (fan_in + fan_out))
                w = _uniform(rs, -bound, bound, (fan_in, fan_out))
                b = rs.uniform(-bound, bound, fan_out)
            elif scheme == "glorot_normal":
                w = rs.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out))
                b = np.zeros(fan_out)
            elif scheme == "he":
                bound = np.sqrt(6.0 / fan_in)
                w = _uniform(rs, -bound, bound, (fan_in, fan_out))
                b = np.zeros(fan_out)
            elif scheme == "he_normal":
                w = rs.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
                b = np.zeros(fan_out)
            elif scheme == "normal":  # N(0, 1) weights and biases, as in Nielsen's book
                w = rs.standard_normal((fan_in, fan_out))
                b = rs.standard_normal(fan_out)
            elif scheme == "uniform":  # PyTorch's nn.Linear default
                bound = 1.0 / np.sqrt(fan_in)
                w = _uniform(rs, -bound, bound, (fan_in, fan_out))
                b = rs.uniform(-bound, bound, fan_out)
            else:  # zeros
                w, b = np.zeros((fan_in, fan_out)), np.zeros(fan_out)
            engine.weights(layer)[...] = w.T
            engine.biases(layer)[...] = b

    @staticmethod
    def _optimizer_kwargs(c):
        return dict(learning_rate=c.lr_init, momentum=c.momentum, nesterov=c.nesterov,
                    beta_1=c.beta_1, beta_2=c.beta_2, epsilon=c.epsilon)

    @staticmethod
    def _optimizer_signature(c):
        if c.solver == "lbfgs":
            return None
        if c.solver == "sgd":
            return ["sgd", c.lr_init, c.momentum, c.nesterov]
        return ["adam", c.lr_init, c.beta_1, c.beta_2, c.epsilon]

    def _refresh_engine(self, c):
        """Keep the network; rebuild what hyperparameter changes require."""
        self._sync_params()
        config = dict(self._engine_config, dropout=list(c.dropout), n_threads=c.n_threads)
        if config != self._engine_config:
            old = self._engine
            engine = self._build_engine(config)
            engine.params[...] = old.params
            engine.set_state(old.get_state())
            self._engine, self._engine_config = engine, config
            self._bind_views()
        signature = self._optimizer_signature(c)
        if signature is not None and signature != self._opt_config:
            # A changed solver or optimizer setting starts a fresh optimizer state.
            self._engine.set_optimizer(c.solver, **self._optimizer_kwargs(c))
            self._opt_config = signature
        elif c.solver == "sgd" and c.schedule == "constant":
            # The kept rate may have decayed under 'invscaling' or 'adaptive'; a
            # constant schedule means learning_rate_init.
            self._engine.learning_rate = c.lr_init

    def _start_validation_curves(self, c):
        """Curves exist once a validation set does; early stopping also needs a best copy."""
        if self.validation_scores_ is None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
        if c.early_stopping and "_best_params" not in self.__dict__:
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._best_params = self._engine.params.copy()

    # ---- the stochastic loop -----------------------------------------------------------
    @staticmethod
    def _held_out_counts(n, idx, c):
        """Rows to hold out per class (one entry without idx); ValueError if too few.

        ceil(validation_fraction * n) rows in all, split in proportion to the class
        counts: the integer parts first, then one more row to the classes with the
        largest remainders, never taking a class's last training row.
        """
        n_val = int(math.ceil(c.validation_fraction * n))
        if idx is None:
            take = np.array([n_val])
        else:
            counts = np.bincount(idx)
            exact = n_val * counts / n
            take = np.minimum(np.floor(exact).astype(int), np.maximum(counts - 1, 0))
            room = take < counts - 1
            extra = min(n_val - int(take.sum()), int(room.sum()))
            # largest remainder first; classes without a spare row last
            order = np.argsort(-(exact - take) + 2.0 * ~room, kind="stable")
            take[order[:extra]] += 1
        if take.sum() < 2 or n - take.sum() < 1:
            raise ValueError(f"The validation set is too small: validation_fraction="
                             f"{c.validation_fraction} of {n} samples holds out {int(take.sum())} "
                             f"(at least 2 are needed, and 1 left to train on). Increase "
                             f"validation_fraction or the size of your dataset.")
        return take

    def _split_validation(self, X, y, w, w_score, idx, c):
        """Hold out validation_fraction of the rows, stratified by class when single-label.

        Which rows of each class are held out is drawn from RandomState(seed
        mod 2**32), seed being this model's engine seed, so a warm-started fit on
        the same data holds out the same rows.
        """
        n = X.shape[0]
        take = self._held_out_counts(n, idx, c)
        rs = np.random.RandomState(self._seed % (2 ** 32))
        if idx is None:
            val = rs.permutation(n)[:take[0]]
        else:
            val = np.concatenate([rs.permutation(np.flatnonzero(idx == k))[:t]
                                  for k, t in enumerate(take)])
        mask = np.zeros(n, dtype=bool)
        mask[val] = True

        def part(a, m):
            if a is None:
                return None
            if isinstance(a, CSR):
                return a.rows(np.flatnonzero(m))
            return np.ascontiguousarray(a[m])
        train = (part(X, ~mask), part(y, ~mask), part(w, ~mask), part(w_score, ~mask))
        held = (part(X, mask), part(y, mask), part(w, mask), part(w_score, mask))
        return train, held

    def _reported(self, value, penalty):
        """scikit-learn reports squared error as 0.5 * mean over outputs: rescale the data part."""
        if self._spec["loss"] == "squared_error" and self.n_outputs_ > 1:
            return (value - penalty) / self.n_outputs_ + penalty
        return value

    def _evaluate(self, val):
        """(score, loss) on a validation set: accuracy or R^2, and the data loss."""
        Xv, yv, wv, wv_score = val
        out = self._engine.forward(Xv)
        loss = self._reported(float(self._engine.loss(Xv, yv, wv)), 0.0)
        if not np.isfinite(out).all():
            return float("nan"), loss
        return self._score_outputs(out, yv, wv_score), loss

    def _score_outputs(self, out, y_enc, sample_weight):
        kind = self._spec["kind"]
        if kind == "regression":
            return _r2(y_enc, out, sample_weight)
        if kind == "index":
            return _weighted_mean(out.argmax(axis=1) == y_enc, sample_weight)
        if kind == "onehot":
            return _weighted_mean(out.argmax(axis=1) == y_enc.argmax(axis=1), sample_weight)
        return _weighted_mean(((out > 0.5) == (y_enc > 0.5)).all(axis=1), sample_weight)

    def _fit_stochastic(self, X, y, w, w_score, idx, c, incremental, explicit_val,
                        order_rs=None):
        """Epochs of minibatch steps. With order_rs (a fresh fit) the sample order
        is scikit-learn's: each epoch the previous order is permuted by
        order_rs.shuffle(arange(n)); otherwise the engine's generator draws it."""
        eng = self._engine
        val = None
        if explicit_val is not None:
            val = explicit_val
            if incremental:
                self._validation = val
        elif incremental and self._validation is not None:
            val = self._validation
        elif c.early_stopping:
            stratify = idx if self._spec["kind"] != "multilabel" else None
            (X, y, w, w_score), val = self._split_validation(X, y, w, w_score, stratify, c)
            if incremental:
                self._validation = val
        if val is not None:
            self._start_validation_curves(c)
        on_val = val is not None and c.early_stopping
        n = X.shape[0]
        if c.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if c.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", UserWarning, stacklevel=V.user_stacklevel())
            batch_size = min(c.batch_size, n)
        epochs = 1 if incremental else c.max_iter
        self.stop_training_ = False
        order = np.arange(n) if c.shuffle and order_rs is not None else None
        try:
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                if order is not None:
                    step = np.arange(n)
                    order_rs.shuffle(step)
                    order = order[step]
                value = eng.train_epoch(X, y, w, batch_size=batch_size, shuffle=c.shuffle,
                                        alpha=c.alpha, l1=c.l1, order=order)
                seconds = time.perf_counter() - start
                loss = self._reported(float(value), float(eng.last_penalty))
                self.n_iter_ += 1
                self.t_ += n
                self.loss_ = loss
                self.loss_curve_.append(loss)
                score = vloss = None
                if val is not None:
                    score, vloss = self._evaluate(val)
                    self.validation_scores_.append(score)
                    self.validation_loss_curve_.append(vloss)
                if c.verbose:
                    self._print_epoch(loss, vloss, score, seconds, n)
                if on_val:
                    if score < self.best_validation_score_ + c.tol:
                        self._no_improvement_count += 1
                    else:
                        self._no_improvement_count = 0
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                        self._best_params = eng.params.copy()
                else:
                    if self.best_loss_ is None:
                        self.best_loss_ = np.inf
                    if loss > self.best_loss_ - c.tol:
                        self._no_improvement_count += 1
                    else:
                        self._no_improvement_count = 0
                    if loss < self.best_loss_:
                        self.best_loss_ = loss
                if c.solver == "sgd" and c.schedule == "invscaling":
                    # float64 power: a huge power_t decays the rate to 0 (Python's
                    # float ** raises OverflowError there, mid-training).
                    with np.errstate(over="ignore"):
                        decay = np.power(np.float64(self.t_ + 1), c.power_t)
                    eng.learning_rate = float(c.lr_init / decay)
                if self._no_improvement_count > c.n_iter_no_change:
                    what = ("Validation score" if on_val else "Training loss")
                    msg = (f"{what} did not improve more than tol={c.tol:f} for "
                           f"{c.n_iter_no_change} consecutive epochs.")
                    if c.solver == "sgd" and c.schedule == "adaptive" and \
                            eng.learning_rate > 1e-6:
                        eng.learning_rate /= 5.0
                        self._no_improvement_count = 0
                        if c.verbose:
                            print(f"{msg} Setting learning rate to {eng.learning_rate:f}")
                    else:
                        if c.verbose:
                            print(msg + " Stopping.")
                        self.stop_training_ = True
                        if incremental:
                            self._no_improvement_count = 0
                        break
                if not incremental and epoch == c.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({c.max_iter}) "
                                  f"reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=V.user_stacklevel())
        except KeyboardInterrupt:
            # The engine stops at a step boundary; the model stays usable.
            warnings.warn("Training interrupted by user.", UserWarning,
                          stacklevel=V.user_stacklevel())
        if on_val and (not incremental or self.stop_training_):
            if np.isfinite(self.best_validation_score_):
                eng.params[...] = self._best_params
            else:
                # No epoch ever had a defined score (NaN: the network's outputs on
                # the validation set were not finite): there is no best epoch to
                # go back to, so the trained weights stay.
                warnings.warn("early_stopping: the validation score was never finite, so no "
                              "best epoch could be kept; the model holds its last weights",
                              UserWarning, stacklevel=V.user_stacklevel())

    def _print_epoch(self, loss, vloss, score, seconds, n):
        parts = [f"Epoch {self.n_iter_:4d}", f"loss {loss:.8f}"]
        if vloss is not None:
            parts += [f"val_loss {vloss:.6f}", f"val_score {score:.4f}"]
        rate = n / seconds if seconds > 0 else float("inf")
        parts += [f"{seconds:.3f} s", f"{rate:,.0f} samples/s"]
        print(", ".join(parts))
        sys.stdout.flush()

    # ---- L-BFGS ------------------------------------------------------------------------
    def _penalty_at(self, params, c, sw_sum):
        eng = self._engine
        w = params[:eng.n_weights].astype(np.float64)
        return ((0.5 * c.alpha) * float(np.dot(w, w)) + c.l1 * float(np.abs(w).sum())) / sw_sum

    def _fit_lbfgs(self, X, y, w, c):
        try:
            from scipy.optimize import minimize
        except ImportError:
            raise ImportError("solver='lbfgs' needs SciPy, which is not installed: run "
                              "pip install scipy, or use solver='adam' or solver='sgd'") from None
        eng = self._engine
        sw_sum = float(X.shape[0]) if w is None else float(w.sum(dtype=np.float64))
        best = {"loss": np.inf, "x": eng.params.copy()}

        def fun(x):
            eng.params[...] = x
            loss, grad = eng.loss_and_gradient(X, y, w, alpha=c.alpha, l1=c.l1)
            loss = float(loss)
            if np.isfinite(loss) and loss < best["loss"]:
                best["loss"], best["x"] = loss, eng.params.copy()
            return loss, np.asarray(grad, dtype=np.float64)

        curve = []

        def callback(intermediate_result):
            # SciPy >= 1.11 passes an OptimizeResult; older versions pass x.
            value = getattr(intermediate_result, "fun", None)
            x = getattr(intermediate_result, "x", intermediate_result)
            if value is None:
                value = best["loss"]
            reported = self._reported(float(value), self._penalty_at(np.asarray(x), c, sw_sum))
            curve.append(reported)
            if c.verbose:
                print(f"Iteration {self.n_iter_ + len(curve):4d}, loss {reported:.8f}")

        try:
            result = minimize(fun, eng.params.astype(np.float64), method="L-BFGS-B", jac=True,
                              callback=callback, options={"maxfun": c.max_fun,
                                                          "maxiter": c.max_iter, "gtol": c.tol})
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", UserWarning,
                          stacklevel=V.user_stacklevel())
            eng.params[...] = best["x"]
            final, nit = best["loss"], len(curve)
        else:
            eng.params[...] = result.x
            final, nit = float(result.fun), int(result.nit)
            if not np.isfinite(final) or not np.isfinite(eng.params).all():
                eng.params[...] = best["x"]
                raise NonFiniteLossError("L-BFGS produced a non-finite loss; the model keeps the "
                                         "best finite weights it saw. Scale the inputs or "
                                         "increase alpha.")
            if result.status != 0:
                warnings.warn(f"lbfgs failed to converge after {nit} iteration(s) (status="
                              f"{result.status}): {result.message}. Increase the number of "
                              f"iterations (max_iter) or calls (max_fun), or scale the data.",
                              ConvergenceWarning, stacklevel=V.user_stacklevel())
        self.n_iter_ += nit
        self.loss_ = self._reported(final, self._penalty_at(eng.params, c, sw_sum))
        self.loss_curve_.extend(curve)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_

    # ---- prediction --------------------------------------------------------------------
    def _scaler(self):
        """(scaler_mean_, scaler_scale_) of a model fitted with standardize=True, else None."""
        mean = self.__dict__.get("scaler_mean_")
        return None if mean is None else (mean, self.scaler_scale_)

    def _outputs(self, X):
        self._check_is_fitted()
        scaler = self._scaler()
        Xc, _ = self._check_features(X, reset=False, standardize=scaler is not None)
        self._sync_params()
        if scaler is None:
            out = self._engine.forward(Xc)
        else:
            out = self._scaled_outputs(Xc, scaler)
        if not V.all_finite(out):
            self._refuse_overflow(Xc, out)
        return out

    def _scaled_outputs(self, Xc, scaler):
        # Scale a block of rows at a time into one reused buffer, so predict never holds a
        # scaled copy of all of X (see _standardized for why the weights are not folded).
        eng = self._engine
        n, dtype = Xc.shape[0], eng.params.dtype
        out = np.empty((n, eng.layer_sizes[-1]), dtype=dtype)
        rows = _block_rows(Xc.shape[1], n)
        buf = np.empty((rows, Xc.shape[1]), dtype=dtype)
        tmp = np.empty((rows, Xc.shape[1]), dtype=np.float64)
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            part = buf[:stop - start]
            _standardize_block(Xc[start:stop], scaler, part, tmp[:stop - start])
            eng.forward(part, out=out[start:stop])
        return out

    def _refuse_overflow(self, Xc, out):
        """Outputs that overflowed (inf, or NaN from inf - inf) are no prediction: say why.

        Weights are always finite (assignments are checked, training rolls back
        non-finite steps), so only values too large for the dtype get here: huge X, or
        the huge weights of a model that diverged.
        """
        if not V.all_finite(self._engine.params):
            # Only an in-place edit of the coefs_/intercepts_ views gets here.
            where = [f"{name}[{i}]" for name, arrays in (("coefs_", self.coefs_),
                                                          ("intercepts_", self.intercepts_))
                     for i, a in enumerate(arrays) if not V.all_finite(np.asarray(a))]
            raise ValueError(f"{', '.join(where) or 'the weights'} contain NaN or infinity, so "
                             f"the model cannot predict; assign finite weights or refit")
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        dtype = np.dtype(self._engine_config["dtype"]).name
        fix = "scale X (e.g. standardize its features)" + \
            (" or use dtype='float64'" if dtype == "float32" else "")
        raise ValueError(f"the network's outputs overflowed to infinity or NaN for {len(rows)} "
                         f"of {len(out)} rows of X (the first is row {rows[0]}; |X| reaches "
                         f"{float(np.abs(Xc).max()):.3g}): the values exceed {dtype} on their way "
                         f"through the network. To get predictions, {fix}; if the model "
                         f"diverged during training, refit it with a lower learning rate")

    def _serving_function(self):
        """The NetCore that serves this model's predict/predict_proba in one C
        call (_core.serve_estimator, which keeps it on the engine until the
        next fit), or False for models whose outputs need more Python work.
        serve_estimator returns None, and the validating path runs and
        explains, for anything but a plain C-contiguous array of the model's
        dtype and width, when coefs_/intercepts_ no longer hold the engine's
        views (user-assigned weights: the validating path syncs them) and for
        outputs that overflowed (the validating path refuses them)."""
        spec = self.__dict__.get("_spec")
        if (spec is None or spec["task"] != "classification"
                or spec["kind"] not in ("index", "binary")
                or spec["output"] not in ("softmax", "logistic")
                or self.__dict__.get("feature_names_in_") is not None
                or self.__dict__.get("scaler_mean_") is not None  # inputs need scaling first
                or not isinstance(getattr(self._engine, "_core", None), _core.NetCore)):
            return False
        return self._engine._core

    def _predict_labels(self, out):
        kind = self._spec["kind"]
        if kind in ("index", "onehot"):
            return self.classes_[out.argmax(axis=1)]
        if kind == "binary":
            return self.classes_[(out[:, 0] > 0.5).astype(np.int64)]
        return (out > 0.5).astype(np.dtype(self._spec["y_dtype"]))

    def _proba_from_outputs(self, out):
        kind, output = self._spec["kind"], self._spec["output"]
        if kind == "binary":
            p = out[:, 0]
            return np.stack([1 - p, p], axis=1)
        if kind == "onehot" and output == "logistic":
            # independent sigmoids: normalise them one-vs-rest to a distribution
            total = out.sum(axis=1, keepdims=True)
            return np.where(total > 0, out / np.where(total > 0, total, 1), 1.0 / out.shape[1])
        return out

    def _has_proba(self):
        spec = self.__dict__.get("_spec")
        if spec is not None and (spec["task"] != "classification" or spec["output"] == "identity"):
            why = ("it does regression" if spec["task"] != "classification"
                   else "its identity output is not a probability")
            raise AttributeError(f"predict_proba is not available for this "
                                 f"{type(self).__name__}: {why}")
        return True

    # ---- ONNX export (fastmlp/_onnx.py builds the graph) ------------------------------
    def to_onnx(self, path=None, *, opset=None, name=None):
        """This fitted model as an ONNX graph (``onnx.ModelProto``), written to ``path`` if given.

        Outputs ``label`` and ``probabilities`` for classifiers, ``predictions``
        for regressors; see :func:`fastmlp.to_onnx`. Needs ``pip install fastmlp[onnx]``.
        """
        from ._onnx import to_onnx
        return to_onnx(self, path, opset=opset, name=name)

    # ---- pickle ------------------------------------------------------------------------
    _RUNTIME = ("_engine", "coefs_", "intercepts_", "_views")

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self._RUNTIME}
        eng = self.__dict__.get("_engine")
        if eng is not None:
            self._sync_params()
            state["_engine_blob"] = {"params": eng.params.copy(), "state": eng.get_state()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        blob = state.pop("_engine_blob", None)
        self.__dict__.update(state)
        if blob is not None:
            self._restore_engine(blob["params"], blob["state"])

    def _restore_engine(self, params, engine_state):
        engine = self._build_engine(self._engine_config)
        params = np.asarray(params)
        if params.shape != engine.params.shape:
            raise ValueError(f"saved parameters have shape {params.shape}, but the network needs "
                             f"{engine.params.shape}")
        engine.params[...] = params
        engine.set_state(engine_state)
        self._engine = engine
        self._bind_views()

    # ---- save / load (fastmlp/io.py owns the file format) ------------------------------
    _STATE_PUBLIC = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_",
                     "t_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                     "best_validation_score_", "validation_loss_curve_", "stop_training_")
    _STATE_PRIVATE = ("_no_improvement_count", "_seed", "_spec", "_engine_config", "_opt_config")
    _VALIDATION_KEYS = ("validation_X", "validation_y", "validation_w", "validation_w_score")

    def _export_state(self):
        """(JSON-friendly dict, dict of arrays): everything fit left behind."""
        self._check_is_fitted()
        self._sync_params()
        state = {}
        for name in self._STATE_PUBLIC + self._STATE_PRIVATE:
            value = self.__dict__[name]
            state[name] = [_as_python(v) for v in value] if isinstance(value, list) \
                else _as_python(value)
        arrays = {"params": self._engine.params.copy()}
        engine_scalars = {}
        for key, value in self._engine.get_state().items():
            if isinstance(value, np.ndarray):
                arrays["engine_" + key] = value
            else:
                engine_scalars[key] = _as_python(value)
        state["engine_state"] = engine_scalars
        if "classes_" in self.__dict__:
            arrays["classes"] = self.classes_
        if "feature_names_in_" in self.__dict__:
            arrays["feature_names_in"] = np.asarray(self.feature_names_in_, dtype=str)
        if "_best_params" in self.__dict__:
            arrays["best_params"] = self._best_params
        if self._scaler() is not None:
            arrays["scaler_mean"], arrays["scaler_scale"] = self._scaler()
        if self.__dict__.get("_validation") is not None:
            for key, value in zip(self._VALIDATION_KEYS, self._validation):
                if value is not None:
                    arrays[key] = value
        return state, arrays

    def _import_state(self, state, arrays):
        """Inverse of _export_state (the arrays may be read-only)."""
        self._check_import(state, arrays)
        for name in self._STATE_PUBLIC + self._STATE_PRIVATE:
            value = state[name]
            self.__dict__[name] = list(value) if isinstance(value, list) else value
        self._spec = dict(self._spec)
        engine_state = dict(state["engine_state"])
        for key, value in arrays.items():
            if key.startswith("engine_"):
                engine_state[key[len("engine_"):]] = value
        self._restore_engine(arrays["params"], engine_state)
        if "classes" in arrays:
            self.classes_ = np.array(arrays["classes"])
        if "feature_names_in" in arrays:
            self.feature_names_in_ = np.array(arrays["feature_names_in"], dtype=object)
        if "best_params" in arrays:
            self._best_params = np.array(arrays["best_params"], dtype=self._engine.params.dtype)
        self.__dict__.pop("scaler_mean_", None)
        self.__dict__.pop("scaler_scale_", None)
        if "scaler_mean" in arrays or "scaler_scale" in arrays:
            mean = np.array(arrays["scaler_mean"], dtype=np.float64)
            scale = np.array(arrays["scaler_scale"], dtype=np.float64)
            n = self.n_features_in_
            if mean.shape != (n,) or scale.shape != (n,) or not np.isfinite(mean).all() \
                    or not (np.isfinite(scale).all() and (scale > 0).all()):
                raise ValueError(f"the input scaler must hold {n} finite means and {n} finite "
                                 f"positive scales, got shapes {mean.shape} and {scale.shape}")
            self.scaler_mean_, self.scaler_scale_ = mean, scale
        if "validation_X" in arrays:
            self._validation = tuple(None if arrays.get(k) is None else np.array(arrays[k])
                                     for k in self._VALIDATION_KEYS)
        else:
            self._validation = None

    _KINDS = {"regression": "regression", "index": "classification",
              "onehot": "classification", "binary": "classification",
              "multilabel": "classification"}

    def _check_import(self, state, arrays):
        """Refuse saved state that disagrees with itself (ValueError naming the field).

        The engine trusts its callers: predict hands it X of n_features_in_ columns, so a
        file whose n_features_in_ differed from the network's input width would make the C
        forward pass read past X. Everything such a disagreement could reach is checked
        here, before a network is built (its size comes from layer_sizes, so a tampered
        size is compared with the stored parameters first, not allocated).
        """
        def bad(what):
            raise ValueError(f"{what}; the saved state is inconsistent")
        self._check_imported_scalars(state, bad)
        config, spec = state["_engine_config"], state["_spec"]
        sizes = config["layer_sizes"]
        if not isinstance(sizes, list) or len(sizes) < 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sizes):
            bad(f"_engine_config layer_sizes {sizes!r} is not a list of at least two sizes >= 1")
        params = arrays["params"]
        expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        if params.ndim != 1 or params.shape[0] != expected:
            bad(f"params has shape {params.shape}, but layer_sizes {sizes} need ({expected},)")
        if params.dtype != np.dtype(config["dtype"]):
            bad(f"params has dtype {params.dtype}, but _engine_config says {config['dtype']}")
        if not V.all_finite(params):
            bad("params holds NaN or infinity")
        for name, value in (("n_features_in_", sizes[0]), ("n_outputs_", sizes[-1]),
                            ("n_layers_", len(sizes))):
            if state[name] != value:
                bad(f"{name} is {state[name]!r}, but layer_sizes {sizes} say {value}")
        if not isinstance(spec, dict) or self._KINDS.get(spec["kind"]) != spec["task"] or \
                spec["n_outputs"] != sizes[-1] or spec["y_ndim"] not in (1, 2):
            bad(f"_spec {spec!r} does not describe a network with {sizes[-1]} outputs")
        y_dtype = spec["y_dtype"]
        if (spec["kind"] == "multilabel") != (y_dtype is not None) or (
                y_dtype is not None and (not isinstance(y_dtype, str) or
                                         np.dtype(y_dtype).kind not in "biuf")):
            bad(f"_spec y_dtype {y_dtype!r} does not fit a {spec['kind']} network")
        if spec["output"] != config["output_activation"] or spec["loss"] != config["loss"]:
            bad("_spec and _engine_config name different outputs or losses")
        if type(self) is MLPRegressor and spec["task"] != "regression" or \
                type(self) is MLPClassifier and spec["task"] != "classification":
            bad(f"a {type(self).__name__} cannot hold a {spec['task']} network")
        classes = arrays.get("classes")
        if spec["task"] == "classification":
            n_classes = 2 if spec["kind"] == "binary" else sizes[-1]
            if classes is None or classes.shape != (n_classes,):
                bad(f"classes must hold {n_classes} labels for this network, got "
                    f"{None if classes is None else classes.shape}")
        elif classes is not None:
            bad("a regression network has no classes")
        names = arrays.get("feature_names_in")
        if names is not None and names.shape != (sizes[0],):
            bad(f"feature_names_in has shape {names.shape}, but the network has {sizes[0]} "
                f"inputs")
        best = arrays.get("best_params")
        if best is not None and (best.shape != params.shape or not V.all_finite(best)):
            bad("best_params does not match params in shape, or is not finite")
        if "validation_X" in arrays:
            self._check_imported_validation(arrays, sizes, spec, params.dtype, bad)

    @staticmethod
    def _check_imported_scalars(state, bad):
        """Counters, losses, curves and the engine's scalars have the types fit leaves
        (a header edited to null would otherwise load and fail later, in partial_fit)."""
        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        for name in ("n_iter_", "t_", "_no_improvement_count", "_seed"):
            if not is_int(state[name]) or state[name] < 0:
                bad(f"{name} is {state[name]!r}, not an integer >= 0")
        for name in ("loss_", "best_loss_", "best_validation_score_"):
            if state[name] is not None and not is_num(state[name]):
                bad(f"{name} is {state[name]!r}, not a number")
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            v = state[name]
            if not (v is None and name != "loss_curve_") and not (
                    isinstance(v, list) and all(is_num(x) for x in v)):
                bad(f"{name} is not a list of numbers")
        if not isinstance(state["stop_training_"], bool):
            bad(f"stop_training_ is {state['stop_training_']!r}, not true or false")
        es = state["engine_state"]
        if not isinstance(es, dict) or es.get("solver") not in ("", "sgd", "adam"):
            bad("engine_state.solver is not one of '', 'sgd', 'adam'")
        for key in ("step", "dropout_key"):
            if not is_int(es.get(key)) or es[key] < 0:
                bad(f"engine_state.{key} is {es.get(key)!r}, not an integer >= 0")
        keys = ("learning_rate",) + (("momentum", "beta_1", "beta_2", "epsilon")
                                     if es["solver"] else ())
        for key in keys:
            if not is_num(es.get(key)) or not math.isfinite(es[key]) or es[key] < 0:
                bad(f"engine_state.{key} is {es.get(key)!r}, not a finite number >= 0")
        if es["solver"] and not isinstance(es.get("nesterov"), bool):
            bad(f"engine_state.nesterov is {es.get('nesterov')!r}, not true or false")

    def _check_imported_validation(self, arrays, sizes, spec, dtype, bad):
        """The kept validation set goes to the engine as it is: shapes and dtypes must fit."""
        vx, vy = arrays["validation_X"], arrays.get("validation_y")
        if vx.ndim != 2 or vx.shape[1] != sizes[0] or vx.shape[0] < 1 or vx.dtype != dtype:
            bad(f"validation_X has dtype {vx.dtype} and shape {vx.shape}, but the network needs "
                f"{dtype} rows of {sizes[0]} features")
        n = vx.shape[0]
        if spec["kind"] == "index":
            ok = vy is not None and vy.dtype == np.int64 and vy.shape == (n,) and \
                (vy.size == 0 or (vy.min() >= 0 and vy.max() < sizes[-1]))
        else:
            ok = vy is not None and vy.dtype == dtype and vy.shape == (n, sizes[-1]) and \
                V.all_finite(vy)
        if not ok:
            bad("validation_y does not hold one encoded target per row of validation_X")
        for key in ("validation_w", "validation_w_score"):
            w = arrays.get(key)
            if w is not None and (w.shape != (n,) or w.dtype.kind != "f" or
                                  not V.all_finite(w) or (w < 0).any() or
                                  (key == "validation_w" and w.dtype != dtype)):
                bad(f"{key} is not one finite, non-negative weight per validation row")

    # ---- tags --------------------------------------------------------------------------
    if HAVE_SKLEARN:
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            # CSR/CSC/COO, trained without densifying; not with standardize=True, since
            # centering would fill in every zero (the error says so)
            tags.input_tags.sparse = self.standardize is not True
            tags.input_tags.allow_nan = False
            return tags


class _ClassWeightMixin:
    def _class_weight_param(self):
        cw = self.class_weight
        if cw is None or (isinstance(cw, str) and cw == "balanced"):
            return cw
        if isinstance(cw, str):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                             f"got {cw!r}")
        if not isinstance(cw, dict):
            raise TypeError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                            f"got {type(cw).__name__}")
        for label, weight in cw.items():
            V.check_real(f"class_weight[{label!r}]", weight, 0)
        return cw

    def _apply_class_weight(self, sw, idx, cw, classes, incremental):
        n_classes = len(classes)
        if isinstance(cw, str):  # 'balanced'
            if incremental:
                raise ValueError("class_weight='balanced' is not supported by partial_fit: one "
                                 "call does not see the class frequencies of the whole data; "
                                 "pass a dict of class weights")
            counts = np.bincount(idx, minlength=n_classes).astype(np.float64)
            per_class = np.where(counts > 0, len(idx) / (n_classes * np.maximum(counts, 1)), 0.0)
        else:
            per_class = np.ones(n_classes)
            listed = classes.tolist()
            for label, weight in cw.items():
                if label not in listed:
                    raise ValueError(f"class_weight has the label {label!r}, which is not a "
                                     f"class of y (classes: {listed}); use labels from classes_")
                per_class[listed.index(label)] = float(weight)
        w = per_class[idx]
        w = w if sw is None else w * sw
        if not (w > 0).any():
            raise ValueError("Sample weights must contain at least one non-zero number: with "
                             "class_weight applied every sample has weight zero")
        return w


_PARAMS_DOC = """
    Parameters are scikit-learn's (same names, defaults and meaning; see
    ``sklearn.neural_network.MLPClassifier``) plus:

    leaky_slope : float in [0, 1), default=0.01
        Negative slope of ``activation='leaky_relu'``.
    dropout : float or sequence of floats, default=0.0
        Inverted dropout rate of every hidden layer (or one per hidden layer),
        during stochastic training only; never at predict.
    l1 : float, default=0.0
        L1 penalty ``l1 * sum(|W|)`` (biases are not penalised), added like alpha.
    weight_init : {'glorot', 'glorot_normal', 'he', 'he_normal', 'normal', 'uniform', 'zeros'}
        'glorot' (default) is scikit-learn's scheme draw for draw; 'normal' is
        N(0, 1) weights and biases (Nielsen); 'uniform' is PyTorch's
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the others use zero biases.
    dtype : {'float32', 'float64'}, default='float32'
        Precision of training and prediction.
    n_threads : int or None, default=None
        Threads the engine may use (None: the engine decides).
    standardize : bool, default=False
        Scale every input feature to zero mean and unit variance with
        statistics learned at the first fit (mean and population standard
        deviation of the fit's rows, weighted by sample_weight, early-stopping
        hold-out included; a constant feature gets scale 1), stored as
        ``scaler_mean_`` and ``scaler_scale_`` and applied by fit,
        partial_fit, predict, predict_proba and score, so the model always
        takes raw inputs (also after save/load). With partial_fit the first
        call's rows set the statistics. It cannot change on warm_start or
        partial_fit. Scaling is computed in float64 a block of rows at a time.

    Fitted attributes are scikit-learn's plus ``validation_loss_curve_`` (the
    data loss on the validation set per epoch, when there is one) and
    ``stop_training_`` (the stopping rule fired in the last call), and with
    ``standardize=True`` ``scaler_mean_`` and ``scaler_scale_`` (float64, one
    per feature).

    Seeding: ``random_state`` seeds a NumPy RandomState that draws the initial
    weights exactly as scikit-learn does, then one int64 seed
    (``randint(2**63 - 1)``) for the engine's own generator (partial_fit's
    shuffling, dropout) and the validation split. ``fit`` shuffles as
    scikit-learn does: each epoch the previous sample order is permuted by
    ``RandomState.shuffle(arange(n))`` from the RandomState that drew the
    weights, continued (a warm_start fit starts ``random_state`` afresh, as
    scikit-learn does). So in float64, without early stopping, a fit is
    scikit-learn's run to rounding. partial_fit continues the engine's
    generator and warm_start and partial_fit keep the optimizer state, so
    five partial_fit epochs plus five more equal ten.

    Early stopping with partial_fit: the validation set is
    ``validation_data=(X_val, y_val[, w_val])`` when given (kept for later
    calls), else ``validation_fraction`` of the first call's rows (held out
    from training, kept for later calls). Every call scores it; when the score
    has not improved by ``tol`` for more than ``n_iter_no_change`` calls, the
    best weights are restored and ``stop_training_`` becomes True (further
    calls continue from the restored weights).
"""


class MLPClassifier(ClassifierMixin, _ClassWeightMixin, _BaseMLP):
    __doc__ = """Multilayer perceptron classifier, a drop-in replacement for scikit-learn's.

    Softmax + cross-entropy for multiclass targets, sigmoid + binary
    cross-entropy for binary and multilabel (0/1 indicator matrix) targets;
    labels of any one type (ints, floats holding ints, bools, strings).
    Beyond scikit-learn it takes ``class_weight`` (None, 'balanced' or a dict
    {label: weight}, multiplied into sample_weight; 'balanced' is refused by
    partial_fit).
""" + _PARAMS_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 leaky_slope=0.01, dropout=0.0, l1=0.0, weight_init="glorot", dtype="float32",
                 n_threads=None, class_weight=None, standardize=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.leaky_slope = leaky_slope
        self.dropout = dropout
        self.l1 = l1
        self.weight_init = weight_init
        self.dtype = dtype
        self.n_threads = n_threads
        self.class_weight = class_weight
        self.standardize = standardize

    def _loss_params(self):
        return "auto", "auto"

    def _task_of(self, y, c):
        return "classification"

    @_available_if(_BaseMLP._check_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None, *, validation_data=None):
        """One epoch over X, y; ``classes`` is required on the first call (unless multilabel)."""
        return self._partial_fit(X, y, sample_weight, classes, validation_data)

    def predict(self, X):
        """Predicted labels (a 0/1 indicator matrix for multilabel models)."""
        out = _core.serve_estimator(self, X, False)
        return self._predict_labels(out if out is not None else self._outputs(X))

    def predict_proba(self, X):
        """Class probabilities in the order of classes_ (two columns for binary)."""
        out = _core.serve_estimator(self, X, True)
        if out is not None:
            return out
        return self._proba_from_outputs(self._outputs(X))

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (subset accuracy for multilabel)."""
        return _accuracy(y, self.predict(X), sample_weight)

    if HAVE_SKLEARN:
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.classifier_tags.multi_label = True
            return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multilayer perceptron regressor, a drop-in replacement for scikit-learn's.

    Identity output with squared error (reported, like scikit-learn, as
    0.5 * mean over outputs), or ``loss='poisson'`` with an exp output (half
    Poisson deviance; targets must be >= 0). Single- and multi-output.
""" + _PARAMS_DOC

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 leaky_slope=0.01, dropout=0.0, l1=0.0, weight_init="glorot", dtype="float32",
                 n_threads=None, standardize=False):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.leaky_slope = leaky_slope
        self.dropout = dropout
        self.l1 = l1
        self.weight_init = weight_init
        self.dtype = dtype
        self.n_threads = n_threads
        self.standardize = standardize

    def _loss_params(self):
        return V.check_option("loss", self.loss, ("squared_error", "poisson")), "auto"

    def _task_of(self, y, c):
        return "regression"

    @_available_if(_BaseMLP._check_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, *, validation_data=None):
        """One epoch over X, y, continuing the optimizer state."""
        return self._partial_fit(X, y, sample_weight, None, validation_data)

    def predict(self, X):
        """Predicted values, (n_samples,) for one output."""
        out = self._outputs(X)
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """R^2, averaged uniformly over outputs."""
        return _r2(y, self.predict(X), sample_weight)


class MLP(_ClassWeightMixin, _BaseMLP):
    __doc__ = """One multilayer perceptron for classification and regression.

    ``loss``: 'auto' (default) picks from y: float targets mean regression
    (squared error); integer, bool or string labels mean classification
    (softmax + cross-entropy for more than two classes, sigmoid + binary
    cross-entropy for two or for a multilabel indicator matrix).
    'cross_entropy' forces a softmax (two columns for binary),
    'binary_cross_entropy' independent sigmoids, 'squared_error' regression on
    float y or one-hot targets on labels, 'poisson' count regression.
    ``output_activation``: 'auto' or 'softmax', 'logistic', 'identity', 'exp'
    (any compatible with the loss). Nielsen's network is
    ``MLP(hidden_layer_sizes=(30,), activation='logistic', loss='squared_error',
    output_activation='logistic', weight_init='normal', solver='sgd',
    momentum=0, learning_rate_init=3.0, batch_size=10, alpha=0)`` on integer labels.
""" + _PARAMS_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="auto",
                 output_activation="auto", solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, leaky_slope=0.01, dropout=0.0, l1=0.0,
                 weight_init="glorot", dtype="float32", n_threads=None, class_weight=None,
                 standardize=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.output_activation = output_activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.leaky_slope = leaky_slope
        self.dropout = dropout
        self.l1 = l1
        self.weight_init = weight_init
        self.dtype = dtype
        self.n_threads = n_threads
        self.class_weight = class_weight
        self.standardize = standardize

    def _loss_params(self):
        loss = V.check_option("loss", self.loss, _MLP_LOSSES)
        output = V.check_option("output_activation", self.output_activation, _OUTPUTS)
        if loss != "auto" and output != "auto":
            self._check_pair(loss, output)
        return loss, output

    def _task_of(self, y, c):
        if c.loss in ("cross_entropy", "binary_cross_entropy"):
            return "classification"
        if c.loss == "poisson":
            return "regression"
        kind = V.as_array(y, "y", "one target or label per sample").dtype.kind \
            if y is not None else "f"
        return "regression" if kind in "fc" else "classification"

    @property
    def _is_classifier(self):
        spec = self.__dict__.get("_spec")
        return spec is not None and spec["task"] == "classification"

    @_available_if(_BaseMLP._check_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None, *, validation_data=None):
        """One epoch over X, y; ``classes`` is required on the first classification call."""
        return self._partial_fit(X, y, sample_weight, classes, validation_data)

    def predict(self, X):
        """Labels for a classification model, values for a regression model."""
        out = self._outputs(X)
        if self._is_classifier:
            return self._predict_labels(out)
        return out.ravel() if out.shape[1] == 1 and self._spec["y_ndim"] == 1 else out

    @_available_if(_BaseMLP._has_proba)
    def predict_proba(self, X):
        """Class probabilities (classification models with a softmax or logistic output)."""
        return self._proba_from_outputs(self._outputs(X))

    @_available_if(_BaseMLP._has_proba)
    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """Accuracy for a classification model, R^2 for a regression model."""
        pred = self.predict(X)
        if self._is_classifier:
            return _accuracy(y, pred, sample_weight)
        return _r2(y, pred, sample_weight)
