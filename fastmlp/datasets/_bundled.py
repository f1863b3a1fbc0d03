"""The small data sets: the 8x8 digits bundled in the package, and the raw
diabetes regression files read from a folder.

Nothing is downloaded and nothing is scaled: features come back as stored.
"""
import io
import os

import numpy as np

from ._base import Bunch, DatasetError, fspath_arg, read_file_bytes

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DIGITS_FILE = os.path.join(DATA_DIR, "digits.csv.gz")
DIGITS_SHAPE = (1797, 65)
DIABETES_FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def _float_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype such as np.float64, got {dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating type such as np.float32 or np.float64, got {dt}")
    return dt


def _loadtxt(name, data, delimiter):
    try:
        return np.loadtxt(io.StringIO(data.decode("ascii")), delimiter=delimiter, ndmin=2)
    except (ValueError, UnicodeDecodeError) as e:
        raise DatasetError(f"{name}: not a table of numbers: {e}") from None


def load_digits(*, return_X_y=True, dtype=np.float64):
    """The 8x8 handwritten digits bundled with fastmlp (scikit-learn's copy).

    Returns (X, y): X has shape (1797, 64), pixel intensities 0..16 as
    stored (unscaled; divide by 16 for [0, 1]), in the given float dtype;
    y holds the digits 0..9 as int64. With return_X_y=False it returns a
    Bunch (a dict with attribute access) with data, target, images
    (1797, 8, 8), target_names and feature_names.

    Example
    -------
    >>> X, y = load_digits()
    >>> X.shape, y.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 16, True)
    """
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise TypeError(f"return_X_y must be True or False, got {return_X_y!r}")
    dt = _float_dtype(dtype)
    name, data = read_file_bytes(DIGITS_FILE)
    table = _loadtxt(name, data, ",")
    if table.shape != DIGITS_SHAPE:
        raise DatasetError(f"{name}: the bundled digits file is damaged (shape {table.shape}, "
                           f"expected {DIGITS_SHAPE}); reinstall fastmlp")
    X = np.ascontiguousarray(table[:, :64], dtype=dt)
    y = table[:, 64].astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        images=X.reshape(-1, 8, 8),
        target_names=np.arange(10),
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
    )


def _diabetes_folder(directory):
    if directory is None:
        env = os.environ.get("FASTMLP_DATASETS")
        if not env:
            raise ValueError("directory is None and FASTMLP_DATASETS is not set; pass the folder "
                             "that holds diabetes_data_raw.csv.gz and diabetes_target.csv.gz")
        directory = os.path.join(env, "diabetes")
    folder = fspath_arg(directory, "directory")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"directory {folder} does not exist or is not a folder")
    # Accept the data-set root as well as its diabetes/ subfolder.
    nested = os.path.join(folder, "diabetes")
    if not _find(folder, "diabetes_data_raw") and os.path.isdir(nested):
        folder = nested
    return folder


def _find(folder, stem):
    for n in (f"{stem}.csv.gz", f"{stem}.csv"):
        p = os.path.join(folder, n)
        if os.path.isfile(p):
            return p
    return None


def load_diabetes(directory=None):
    """The raw scikit-learn diabetes regression data, read from a folder.

    directory holds diabetes_data_raw.csv.gz and diabetes_target.csv.gz (or
    the same names without .gz), or is the data-set root with a diabetes/
    subfolder. None means $FASTMLP_DATASETS/diabetes. Returns (X, y): X is
    (442, 10) float64 with the raw, unscaled features age, sex, bmi, bp,
    s1..s6 (standardize them before training); y is the float64 disease
    progression one year later (25..346).

    Example
    -------
    >>> X, y = load_diabetes("datasets/diabetes")   # doctest: +SKIP
    >>> X.shape, round(float(y.mean()), 2)          # doctest: +SKIP
    ((442, 10), 152.13)
    """
    folder = _diabetes_folder(directory)
    paths = {}
    for stem in ("diabetes_data_raw", "diabetes_target"):
        paths[stem] = _find(folder, stem)
        if paths[stem] is None:
            raise FileNotFoundError(f"no {stem}.csv.gz (or {stem}.csv) in {folder}")
    X = _loadtxt(*read_file_bytes(paths["diabetes_data_raw"]), None)
    y = _loadtxt(*read_file_bytes(paths["diabetes_target"]), None)
    if X.shape[1] != len(DIABETES_FEATURES):
        raise DatasetError(f"{paths['diabetes_data_raw']}: expected {len(DIABETES_FEATURES)} "
                           f"columns ({', '.join(DIABETES_FEATURES)}), got {X.shape[1]}")
    if y.shape[1] != 1:
        raise DatasetError(f"{paths['diabetes_target']}: expected one column, got {y.shape[1]}")
    if X.shape[0] != y.shape[0]:
        raise DatasetError(f"{folder}: {X.shape[0]} feature rows but {y.shape[0]} targets")
    return X, y[:, 0].copy()
