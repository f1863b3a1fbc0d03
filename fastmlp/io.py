"""Save and load fastmlp models in a documented, versioned file format (no pickle).
It deliberately never executes code from a file: JSON and .npy only, classes from a fixed list.

Format "fastmlp-model", version 1
---------------------------------
A ZIP archive (stored, not compressed; the ZIP CRC-32 of every member is
checked on load) with these members:

``header.json`` (UTF-8 JSON; Python's Infinity/NaN spellings allowed)::

    {
      "format": "fastmlp-model",
      "format_version": 1,
      "fastmlp_version": "0.1.0",
      "class": "MLPClassifier" | "MLPRegressor" | "MLP",
      "params": {...},            # get_params(), values encoded as below
      "fitted": true | false,
      "state": {...},             # fitted scalars and lists (absent when unfitted):
                                  #   n_features_in_, n_outputs_, n_layers_, out_activation_,
                                  #   n_iter_, t_, loss_, best_loss_, loss_curve_,
                                  #   validation_scores_, best_validation_score_,
                                  #   validation_loss_curve_, stop_training_,
                                  #   _no_improvement_count, _seed (engine seed),
                                  #   _spec (target kind, loss, output, n_outputs),
                                  #   _engine_config (layer sizes, activations, dtype,
                                  #   dropout, ...), _opt_config, engine_state (the
                                  #   engine's scalar state: solver, learning_rate,
                                  #   momentum/betas/epsilon, step, dropout_key)
      "arrays": {"params": {"dtype": "<f4", "shape": [N]}, ...}   # index of the .npy members
    }

``arrays/<name>.npy`` (NumPy .npy, read with allow_pickle=False; never object
dtype): ``params`` (the flat parameter vector: W_0..W_{L-1} each stored
(fan_out, fan_in) row-major, then b_0..b_{L-1}), ``engine_rng_state``
(4 uint64 words of the xoshiro256** generator), the optimizer moments
``engine_velocity`` or ``engine_adam_m`` / ``engine_adam_v``, ``classes``
(numbers or a unicode 'U' array), ``feature_names_in`` ('U'), and when present
``best_params`` (early stopping), ``validation_X`` / ``validation_y`` /
``validation_w`` / ``validation_w_score`` (the validation set partial_fit keeps,
already standardized when the model standardizes) and ``scaler_mean`` /
``scaler_scale`` (float64, one per input feature: the statistics of
``standardize=True``; predictions apply ``(X - scaler_mean) / scaler_scale``
first, so a file without them is a model of raw inputs).

The scaler arrays were added to version 1 without a version bump: files
without them read exactly as before, and a reader that predates them also
predates the ``standardize`` parameter, so it refuses such a file (as
inconsistent) rather than predicting on unscaled inputs.

Parameter values in JSON: numbers, strings, booleans, null and lists as
themselves; tuples as {"__tuple__": [...]}, dicts (class_weight) as
{"__dict__": [[key, value], ...]}, dtypes as their name. A numpy RandomState
passed as random_state cannot be stored; it is saved as null (the loaded model
continues training from the saved engine RNG state either way).

Loading checks the format name, refuses newer format versions, checks every
array against the index, and raises ValueError naming the file and the
problem for truncated, corrupted or foreign files. Writes go to a temporary
file in the same directory, then os.replace, so a crash never leaves a
half-written model under the target name. Classes and label arrays that were
object arrays of strings come back as unicode arrays.
"""
import errno
import io
import json
import math
import os
import tempfile
import zipfile
import zlib

import numpy as np

FORMAT = "fastmlp-model"
FORMAT_VERSION = 1
# What malformed content can raise while it is decoded (never OSError: a disk
# problem is not a corrupted model and keeps its own type).
# RecursionError: JSON nested deeper than the interpreter recurses; zlib.error: damaged
# deflate data; OverflowError: a number too large for the engine's int64 counters.
_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, zipfile.BadZipFile,
           EOFError, UnicodeDecodeError, RecursionError, zlib.error, OverflowError)
# save() stores members uncompressed; deflate is read too (a re-zipped model), nothing else.
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]


def _classes():
    from .estimators import MLP, MLPClassifier, MLPRegressor

    return {"MLP": MLP, "MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def _encode(value, name):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), name)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, name), _encode(v, name)] for k, v in value.items()]}
    if isinstance(value, np.random.RandomState):
        return None
    if isinstance(value, (np.dtype, type)):
        return np.dtype(value).name
    raise TypeError(f"cannot save parameter {name}={value!r} (type {type(value).__name__}); "
                    f"use numbers, strings, tuples, lists or dicts")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"}:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        raise ValueError(f"unknown encoded value {value!r}")
    return value


def _portable(name, a):
    """An array np.load can read without pickle: object arrays become 'U' or numbers."""
    a = np.asarray(a)
    if a.dtype.kind == "O":
        items = a.tolist()
        a = np.asarray(items, dtype=str) if all(isinstance(v, str) for v in items) \
            else np.asarray(items)
        if a.dtype.kind == "O":
            raise TypeError(f"cannot save {name}: it holds objects that are neither numbers "
                            f"nor strings")
    return np.ascontiguousarray(a)


def save(model, path):
    """Write ``model`` (fitted or not) to ``path`` in the fastmlp-model format.

    The write is atomic: a temporary file in the same directory is renamed
    over ``path`` only once it is complete.
    """
    classes = _classes()
    name = type(model).__name__
    if name not in classes or type(model) is not classes[name]:
        raise TypeError(f"save() stores fastmlp estimators (MLP, MLPClassifier, MLPRegressor), "
                        f"got {type(model).__name__}")
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "fastmlp_version": _version(), "class": name,
              "params": {k: _encode(v, k) for k, v in model.get_params(deep=False).items()},
              "fitted": model.__sklearn_is_fitted__()}
    arrays = {}
    if header["fitted"]:
        state, arrays = model._export_state()
        header["state"] = state
    arrays = {k: _portable(k, v) for k, v in arrays.items()}
    header["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape)}
                        for k, v in arrays.items()}
    path = _path_arg(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cannot save a model over a directory; pass a "
                                "file name such as model.fmlp", path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"cannot save the model: the directory "
                                f"{directory} does not exist", path)
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
                zf.writestr("header.json", json.dumps(header, indent=1))
                for key, a in arrays.items():
                    buf = io.BytesIO()
                    np.save(buf, a, allow_pickle=False)
                    zf.writestr(f"arrays/{key}.npy", buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would surprise whoever shares the model
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read a model written by :func:`save`. Never executes code from the file."""
    path = _path_arg(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such model file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "a model file is expected, not a directory", path)
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(zf, path)
    except (zipfile.BadZipFile, NotImplementedError) as exc:  # e.g. "zip file version 8.4"
        raise ValueError(f"cannot load {path}: not a fastmlp model file, or the file is "
                         f"truncated or corrupted ({exc})") from exc


def _path_arg(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike naming the model file, got "
                        f"{type(path).__name__}") from None


def _read(zf, path):
    def bad(problem):
        return ValueError(f"cannot load {path}: {problem}")

    names = set(zf.namelist())
    if "header.json" not in names:
        raise bad("not a fastmlp model file (it has no header.json)")
    for info in zf.infolist():
        if info.compress_type not in _COMPRESSIONS:
            raise bad(f"the member {info.filename!r} uses ZIP compression method "
                      f"{info.compress_type}; fastmlp model files store members uncompressed "
                      f"(or deflated)")
        if info.flag_bits & 0x1:
            raise bad(f"the member {info.filename!r} is encrypted; fastmlp model files are not")
    try:
        header = json.loads(zf.read("header.json").decode("utf-8"))
    except _ERRORS as exc:  # bad JSON, or a damaged member (EOFError, zlib.error, ...)
        raise bad(f"header.json is not valid JSON ({type(exc).__name__}: {exc}); the file is "
                  f"corrupted") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise bad(f"not a fastmlp model file (format {header.get('format')!r} instead of "
                  f"{FORMAT!r})" if isinstance(header, dict) else "not a fastmlp model file")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise bad(f"format_version {version!r} is not valid; the file is corrupted")
    if version > FORMAT_VERSION:
        raise bad(f"it was written in format version {version} by fastmlp "
                  f"{header.get('fastmlp_version')}, and this fastmlp ({_version()}) reads up to "
                  f"version {FORMAT_VERSION}; upgrade fastmlp to load it")
    try:
        cls = _classes()[header["class"]]
    except (KeyError, TypeError):
        raise bad(f"unknown model class {header.get('class')!r}; expected one of "
                  f"{sorted(_classes())}") from None
    try:
        arrays = {}
        for key, meta in header["arrays"].items():
            member = f"arrays/{key}.npy"
            if member not in names:
                raise bad(f"the array {key!r} listed in header.json is missing; the file is "
                          f"truncated or corrupted")
            arrays[key] = _read_npy(zf, member, key, meta, bad)
        model = cls()
        model.set_params(**{k: _decode(v) for k, v in header["params"].items()})
        if header["fitted"]:
            model._import_state(header["state"], arrays)
    except _ERRORS as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(f"cannot load {path}"):
            raise
        raise bad(f"the file is corrupted or inconsistent ({type(exc).__name__}: {exc})") from exc
    return model


def _read_npy(zf, member, key, meta, bad):
    """One .npy member, checked against its index entry in header.json.

    The shape in a .npy header is only a claim: it is compared with the bytes the
    member really holds before anything is allocated, so a damaged or hostile header
    cannot make the reader ask for terabytes (np.load would allocate first).
    """
    info = zf.getinfo(member)
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise bad(f"the array {key!r} is in .npy format version {version}, which fastmlp "
                      f"does not write")
        if dtype.hasobject:
            raise bad(f"the array {key!r} holds Python objects; model files hold only numbers "
                      f"and strings")
        if dtype.str != meta["dtype"] or list(shape) != list(meta["shape"]):
            raise bad(f"the array {key!r} has dtype {dtype.str} and shape {list(shape)}, but "
                      f"header.json says {meta['dtype']} and {meta['shape']}")
        nbytes = math.prod(shape) * dtype.itemsize
        have = info.file_size - f.tell()
        if have != nbytes:
            raise bad(f"the array {key!r} declares shape {list(shape)} of {dtype.str} "
                      f"({nbytes} bytes) but holds {have} bytes; the file is truncated or "
                      f"corrupted")
        data = bytearray(nbytes)
        if f.readinto(data) != nbytes:
            raise bad(f"the array {key!r} is truncated")
    a = np.frombuffer(data, dtype=dtype)
    return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)


def _version():
    from . import __version__

    return __version__
