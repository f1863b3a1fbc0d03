"""Input checks shared by everything public.

Every check raises TypeError (wrong kind of thing) or ValueError (right kind,
wrong value) with a message that names the argument, says what was wrong and
what would be right. Nothing here computes or allocates model state.
"""
import math
import numbers
import os
import sys
import warnings

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"a {type(x).__name__}"


def kernel_array(name, a, *, ndim, dtype=None, dtype_of=None, writeable=False,
                 row_strided=False):
    """Check an array passed to a low-level kernel; return it unchanged.

    Kernels never convert: the caller passes float32 or float64 arrays of one
    dtype, C-contiguous (or, with ``row_strided``, any positive row stride and
    unit column stride, such as a column slice of a C-contiguous array).
    ``dtype``/``dtype_of`` name the dtype the array must share with another
    argument.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of float32 or float64, got {_describe(a)}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}; "
                        f"convert it with {name}.astype(np.float32)")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but {dtype_of} has dtype {np.dtype(dtype)}; "
                        f"pass arrays of one dtype")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {a.ndim}-D with shape {a.shape}")
    if row_strided and ndim == 2:
        item = a.itemsize
        ok = a.size == 0 or (
            (a.shape[1] <= 1 or a.strides[1] == item)
            and (a.shape[0] <= 1 or (a.strides[0] % item == 0 and a.strides[0] >= a.shape[1] * item))
        )
        if not ok:
            raise ValueError(f"{name} must have unit column stride and rows that do not overlap "
                             f"(strides {a.strides}); pass np.ascontiguousarray({name})")
    elif not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    if not a.flags.aligned:
        raise ValueError(f"{name} is not aligned to its {a.dtype} items (its data starts at an "
                         f"address that is not a multiple of {a.itemsize}); pass "
                         f"np.require({name}, requirements='CA')")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} is read-only but the kernel writes to it; pass a writeable array")
    return a


def c_array(a, dtype):
    """``a`` as a C-contiguous, aligned array of ``dtype``, copied only when it is not one.

    np.ascontiguousarray alone is not enough: it returns a contiguous array whose data
    pointer is not a multiple of the item size (an array over pickle protocol 5 buffers,
    or a view of a byte buffer at an odd offset) unchanged, and C may not load from it.
    """
    a = np.asarray(a)
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.require(a, dtype=dtype, requirements=["C", "A"])


def no_overlap(out_name, out, *inputs):
    """Refuse an output that shares memory with an input it must not alias."""
    for name, arr in inputs:
        if arr is not None and np.may_share_memory(out, arr):
            raise ValueError(f"{out_name} shares memory with {name}; pass a separate output array")


def real_scalar(name, value):
    """A finite real number (bool refused), returned as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


# ---- estimator inputs -------------------------------------------------------------
# The estimators convert what users pass (lists, pandas-like frames, any numeric
# dtype) once, here; the engine below them never converts.

def _is_sparse(x):
    # Detected without importing SciPy: scipy.sparse matrices and arrays carry
    # a 'format' string and a toarray() method.
    return isinstance(getattr(x, "format", None), str) and hasattr(x, "toarray") and \
        type(x).__module__.startswith("scipy.sparse")


def feature_names_of(X):
    """Column names of a pandas-like frame as an object array, else None.

    Only frames whose column names are all strings have feature names (as in
    scikit-learn); a mix of string and non-string names is refused.
    """
    if isinstance(X, np.ndarray) or not hasattr(X, "columns") or not hasattr(X, "__array__"):
        return None
    names = list(X.columns)
    kinds = {isinstance(n, str) for n in names}
    if kinds == {True}:
        return np.asarray(names, dtype=object)
    if kinds == {True, False}:
        raise TypeError("X has both string and non-string column names; feature names are "
                        "only supported when every column name is a string: convert them "
                        "with X.columns = X.columns.astype(str)")
    return None


def as_array(value, name, what):
    """np.asarray(value), or a ValueError naming the argument when it is ragged
    (a TypeError for a sparse matrix, which np.asarray would wrap as an object)."""
    if _is_sparse(value):
        raise TypeError(f"{name} is a sparse matrix, but it must be dense; pass "
                        f"{name}.toarray() (only X may be sparse)")
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise ValueError(f"{name} could not be made into an array ({exc}); pass {what}") from None


def _non_finite_message(name, a):
    if np.isnan(a).any():
        return f"Input {name} contains NaN."
    return f"Input {name} contains infinity or a value too large for dtype('{a.dtype}')."


def all_finite(a):
    # The sum is one fast pass; it is only non-finite if some element is (or
    # the sum overflowed, which the exact check below sorts out).
    if a.dtype.kind != "f" or a.size == 0:
        return True
    if a.size <= 64:  # a few rows being served: numpy's reduction overhead would dominate
        return all(map(math.isfinite, a.ravel().tolist()))
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def _refuse_bool_or_complex(dtype, name, who):
    """Features of dtype bool or complex, dense or sparse, are refused saying what to pass."""
    if dtype.kind == "b":
        raise TypeError(f"{name} has dtype bool; {who} needs numeric features. If 0/1 features "
                        f"are meant, pass {name}.astype(np.float32)")
    if dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {dtype}; pass the real "
                         f"part ({name}.real) or split real and imaginary parts into features")


def _sparse_features(X, *, dtype, who, name):
    """A SciPy sparse X as one CSR in ``dtype``, converted once and checked."""
    from ._engine import CSR

    shape = getattr(X, "shape", ())
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix (n_samples, n_features), got shape "
                         f"{shape}")
    if shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 "
                         f"is required by {who}; {name} is empty")
    if shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 "
                         f"is required by {who}")
    kind = X.dtype.kind
    _refuse_bool_or_complex(X.dtype, name, who)
    if kind not in "iuf":
        raise TypeError(f"{name} has dtype {X.dtype}; {who} needs numeric features "
                        f"(integers or floats)")
    with np.errstate(over="ignore"):  # overflow becomes inf, reported just below
        csr = CSR.from_scipy(X, dtype)
    csr.data = c_array(csr.data, dtype)
    csr.indices = c_array(csr.indices, np.int64)
    csr.indptr = c_array(csr.indptr, np.int64)
    _check_csr_structure(csr, name)
    if not all_finite(csr.data):
        raise ValueError(f"Input {name} contains NaN or infinity (in its stored values); "
                         f"{who} needs finite features: drop or impute them first")
    return csr


def _check_csr_structure(csr, name):
    """The C code follows indptr and indices blindly: a matrix whose arrays were edited
    after SciPy built it (or built with check=False) must not send it outside them."""
    n_rows, n_cols = csr.shape
    indptr, indices = csr.indptr, csr.indices
    nnz = indices.shape[0]
    ok = (indptr.ndim == 1 and indptr.shape[0] == n_rows + 1 and indptr[0] == 0
          and indptr[-1] == nnz and csr.data.shape == (nnz,)
          and not (np.diff(indptr) < 0).any())
    if not ok:
        raise ValueError(f"{name} is a sparse matrix whose indptr is inconsistent (it must "
                         f"start at 0, never decrease and end at the {nnz} stored values); "
                         f"rebuild it, e.g. scipy.sparse.csr_matrix({name}.toarray())")
    if nnz and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"{name} is a sparse matrix with column indices outside [0, {n_cols}); "
                         f"rebuild it, e.g. with {name}.check_format(full_check=True) to see "
                         f"where")


def as_features(X, *, dtype, who, name="X"):
    """X as a 2-D C-contiguous array of ``dtype`` (no copy when it already is one).

    Integers and floats are converted; object arrays holding numbers are
    converted; bool, complex, strings, other objects, NaN and infinity are
    refused with the reason and the fix. SciPy sparse matrices (any format)
    become one CSR (fastmlp._engine.CSR) the engine reads without densifying.
    """
    if X is None:
        raise ValueError(f"{who} needs {name}, an array of shape (n_samples, n_features); got None")
    if _is_sparse(X):
        return _sparse_features(X, dtype=dtype, who=who, name=name)
    a = as_array(X, name, "a 2-D array with the same number of features in every row")
    kind = a.dtype.kind
    _refuse_bool_or_complex(a.dtype, name, who)
    if kind in "USa":
        raise TypeError(f"{name} holds strings (dtype {a.dtype}); {who} needs numeric features: "
                        f"encode them as numbers first")
    if kind == "O":
        if any(isinstance(v, (str, bytes)) for v in a.ravel()):
            raise TypeError(f"{name} has dtype object and holds strings; {who} needs numeric "
                            f"features: encode them as numbers first")
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} has dtype object and holds values that are not numbers "
                            f"({exc}); pass a numeric array") from None
    elif kind not in "iuf":
        raise TypeError(f"{name} has dtype {a.dtype}; {who} needs numeric features "
                        f"(integers or floats)")
    if a.ndim != 2:
        if a.ndim == 0:
            raise ValueError(f"Expected a 2D array for {name}, got a scalar ({a!r}); pass an "
                             f"array of shape (n_samples, n_features)")
        if a.ndim == 1:
            raise ValueError(f"Expected a 2D array for {name}, got a 1D array of shape {a.shape}. "
                             f"Reshape your data either using {name}.reshape(-1, 1) if it has a "
                             f"single feature or {name}.reshape(1, -1) if it is a single sample.")
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a {a.ndim}-D array "
                         f"of shape {a.shape}; flatten each sample, e.g. "
                         f"{name}.reshape(len({name}), -1)")
    if a.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={a.shape}) while a minimum of 1 "
                         f"is required by {who}; {name} is empty")
    if a.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={a.shape}) while a minimum of 1 "
                         f"is required by {who}")
    if a.dtype != dtype or not a.flags.c_contiguous or not a.flags.aligned:
        with np.errstate(over="ignore"):  # overflow becomes inf, reported just below
            a = c_array(a, dtype)
    if not all_finite(a):
        raise ValueError(_non_finite_message(name, a) + f" {who} needs finite values: remove or "
                         f"impute them first" + (" (values beyond float32's range need "
                                                 "dtype='float64')" if dtype == np.float32 else ""))
    return a


def check_n_samples(who, n_x, n_other, other="y"):
    if n_x != n_other:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: X has "
                         f"{n_x} rows but {other} has {n_other}; pass one {other} entry per row")


def user_stacklevel():
    """The warnings stacklevel of the first caller outside fastmlp, seen from the caller."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def column_or_1d(y, name, warning_cls):
    """A (n, 1) column becomes (n,), with the same warning scikit-learn gives."""
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(f"A column-vector {name} was passed when a 1d array was expected. Please "
                      f"change the shape of {name} to (n_samples, ), for example using ravel().",
                      warning_cls, stacklevel=user_stacklevel())
        return y.ravel()
    return y


def as_regression_targets(y, *, n_samples, dtype, who, allow_2d=True):
    """Float targets of shape (n,) or (n, n_outputs) in ``dtype``."""
    if y is None:
        raise ValueError(f"{who} requires y to be passed, but the target y is None")
    a = as_array(y, "y", "one target (or one row of targets of the same length) per sample")
    kind = a.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {a.dtype}")
    if kind in "USa" or (kind == "O" and any(isinstance(v, (str, bytes)) for v in a.ravel())):
        raise ValueError(f"y holds strings, but {who} is fitting a regression here and needs "
                         f"numeric targets (use a classifier, or a classification loss, for "
                         f"labels)")
    if kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric for {who}, got dtype {a.dtype} ({exc})") from None
    if a.ndim == 0 or a.ndim > 2 or (a.ndim == 2 and not allow_2d):
        raise ValueError(f"y should be a 1d array of shape (n_samples,)"
                         f"{' or a 2-D array (n_samples, n_outputs)' if allow_2d else ''}, "
                         f"got shape {a.shape}")
    check_n_samples(who, n_samples, a.shape[0])
    if a.ndim == 2 and a.shape[1] == 0:
        raise ValueError("y has 0 columns; pass at least one target per sample")
    a = c_array(a, dtype)
    if not all_finite(a):
        raise ValueError(_non_finite_message("y", a) + f" {who} needs finite targets")
    return a


def as_sample_weight(sample_weight, n_samples, *, dtype=np.float64):
    """Non-negative finite weights, one per sample, not all zero (a new array)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, (bool, np.bool_)):
        sw = np.full(n_samples, float(sample_weight))
    else:
        sw = as_array(sample_weight, "sample_weight", "one number per sample")
        if sw.dtype.kind not in "biuf":
            try:
                sw = sw.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"sample_weight must hold numbers, got dtype {sw.dtype}") from None
        if sw.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D with one weight per sample "
                             f"(shape ({n_samples},)), got shape {sw.shape}")
        if sw.shape[0] != n_samples:
            raise ValueError(f"sample_weight has {sw.shape[0]} weights but X has {n_samples} "
                             f"rows; pass one weight per sample (shape ({n_samples},))")
        sw = np.array(sw, dtype=np.float64)
    if not np.isfinite(sw).all():
        raise ValueError("sample_weight contains NaN or infinity; weights must be finite")
    if (sw < 0).any():
        raise ValueError("sample_weight contains negative values; weights must be >= 0")
    if not (sw > 0).any():
        raise ValueError("Sample weights must contain at least one non-zero number: every "
                         "sample_weight is zero, so there is nothing to fit")
    return sw.astype(dtype, copy=False)


# ---- hyperparameters ---------------------------------------------------------------

def check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise (ValueError if isinstance(value, str) else TypeError)(
            f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(name, value, low, high=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {low}, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    return value


def check_real(name, value, low=None, high=None, *, low_open=False, high_open=False,
               allow_inf=False):
    """A finite real number in the interval (or +inf where ``allow_inf``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    lo = "(-inf" if low is None else ("(" if low_open else "[") + repr(low)
    hi = "inf)" if high is None else repr(high) + (")" if high_open else "]")
    ok = not np.isnan(value)
    ok = ok and (low is None or (value > low if low_open else value >= low))
    ok = ok and (high is None or (value < high if high_open else value <= high))
    ok = ok and (np.isfinite(value) or (allow_inf and value > 0))
    if not ok:
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return value
