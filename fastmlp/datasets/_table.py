"""Reading a table of examples for the command line: CSV/TSV text (optionally
gzip-compressed), .npy and .npz, returned as (X, y).

It never unpickles (object arrays are refused) and it does not impute,
encode or scale anything: missing or non-numeric feature cells are errors.
"""
import ast
import csv
import io
import math
import numbers
import re
import struct
import zipfile
import zlib

import numpy as np

from ._base import (
    GZIP_MAGIC,
    MAX_DEFLATE_RATIO,
    DatasetError,
    file_size,
    open_binary,
    reader_for,
)

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
_AUTO_DELIMITERS = (",", "\t", ";")
_MAX_NAMES_SHOWN = 20


def load_table(path, *, target=None, delimiter=None, header="auto"):
    """Read examples from a CSV/TSV text file, an .npy or an .npz file.

    The format is recognised from the file's first bytes, not its name, and
    a gzip-compressed file is inflated first. Returns (X, y); y is None when
    there is no target.

    Text: one example per line; blank lines and lines starting with '#' are
    skipped. delimiter None detects ',', tab or ';' from the first line and
    otherwise splits on runs of whitespace (as does delimiter=' '). header
    'auto' takes the first line as column names when it has a non-number
    where the second line has a number; True or False forces it. target is a
    column name (needs a header) or an index (negative counts from the end).
    X is float64. A numeric target column comes back as int64 when every value
    is a whole number and as float64 otherwise; a non-numeric one (class
    names) as an array of str.

    .npy: a 2-D numeric array; target is a column index, taken out of X.
    .npz: X is the array named 'X' (or the only array besides the target) and
    y the array named 'y' or, when target is a str, the array of that name;
    an int target takes a column of X. Arrays keep their stored dtypes.
    delimiter and header are ignored for .npy and .npz.

    Errors name the file and, for text, the line and column: DatasetError (a
    ValueError) for malformed content, ValueError for a target that is not in
    the file, FileNotFoundError for a missing file.

    Example
    -------
    >>> X, y = load_table("iris.csv", target="species")   # doctest: +SKIP
    >>> X.shape, y[:2]                                    # doctest: +SKIP
    ((150, 4), array(['setosa', 'setosa'], dtype='<U10'))
    """
    if target is not None and (isinstance(target, (bool, np.bool_))
                               or not isinstance(target, (str, numbers.Integral))):
        raise TypeError(f"target must be a column name (str), a column index (int) or None, "
                        f"got {type(target).__name__}")
    if isinstance(target, numbers.Integral):
        target = int(target)
    if not (isinstance(header, (bool, np.bool_)) or (isinstance(header, str) and header == "auto")):
        raise ValueError(f"header must be 'auto', True or False, got {header!r}")
    header = header if isinstance(header, str) else bool(header)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                  or delimiter in "\"\r\n"):
        raise ValueError(f"delimiter must be one character such as ',' or '\\t' (not a quote or "
                         f"newline), or None to detect it, got {delimiter!r}")

    name, f = open_binary(path)
    with f:
        size = file_size(f)
        head = f.read(len(NPY_MAGIC))
        f.seek(0)
        if head.startswith(NPY_MAGIC):
            return _from_npy(name, f, size, target)
        if head.startswith(ZIP_MAGIC):
            return _from_npz(name, f, size, target)
        content = reader_for(f, name).read_all()
    if head.startswith(GZIP_MAGIC):
        if content.startswith(NPY_MAGIC):
            return _from_npy(name, io.BytesIO(content), len(content), target)
        if content.startswith(ZIP_MAGIC):
            return _from_npz(name, io.BytesIO(content), len(content), target)
    return _from_text(name, content, target, delimiter, header)


# ----------------------------------------------------------------- .npy / .npz

# np.save writes headers of about 128 bytes; NumPy refuses more than 10000.
_MAX_NPY_HEADER = 10000
_PLAIN_DESCR = re.compile(r"[<>|=]?[A-Za-z][A-Za-z0-9]*(\[[A-Za-z0-9]+\])?\Z")
_NPY_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}


def _read_exactly(fp, size):
    data = b""
    while len(data) < size:
        more = fp.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _npy_header(fp, label):
    """(shape, fortran_order, dtype) from an .npy header, fp left at the data.

    Parsed here rather than by numpy.lib.format so that every malformed
    header is one DatasetError, and only plain (non-structured, non-object)
    arrays get through.
    """
    def bad(problem):
        return DatasetError(f"{label}: not a valid .npy array: {problem}")

    magic = _read_exactly(fp, len(NPY_MAGIC) + 2)
    if len(magic) < len(NPY_MAGIC) + 2 or not magic.startswith(NPY_MAGIC):
        raise bad("the file is too short for the .npy magic string")
    version = (magic[-2], magic[-1])
    if version not in _NPY_VERSIONS:
        raise bad(f"unknown format version {version[0]}.{version[1]} (known: 1.0, 2.0, 3.0)")
    length_format, encoding = _NPY_VERSIONS[version]
    raw_length = _read_exactly(fp, struct.calcsize(length_format))
    if len(raw_length) < struct.calcsize(length_format):
        raise bad("truncated header")
    (length,) = struct.unpack(length_format, raw_length)
    if length > _MAX_NPY_HEADER:
        raise bad(f"its header claims {length} bytes, more than the {_MAX_NPY_HEADER} NumPy allows")
    raw = _read_exactly(fp, length)
    if len(raw) < length:
        raise bad(f"truncated header ({len(raw)} of {length} bytes)")
    try:
        header = ast.literal_eval(raw.decode(encoding).strip())
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        # literal_eval reports a malformed literal with any of these; on a
        # header of at most 10 kB, MemoryError and RecursionError only mean
        # "nested too deeply to parse".
        raise bad(f"cannot parse the header {raw[:80]!r}") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise bad(f"the header is not a dict of descr, fortran_order and shape: {raw[:80]!r}")
    shape, fortran, descr = header["shape"], header["fortran_order"], header["descr"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and not isinstance(d, bool)
                                               and d >= 0 for d in shape):
        raise bad(f"the shape {shape!r} is not a tuple of non-negative ints")
    if not isinstance(fortran, bool):
        raise bad(f"fortran_order is {fortran!r}, not True or False")
    if not isinstance(descr, str):
        raise DatasetError(f"{label}: holds a structured array (dtype {descr!r}); "
                           "save X and y as plain arrays in an .npz instead")
    # One plain type such as '<f8' or '<U7'; a comma or parenthesis would ask
    # np.dtype for a record or sub-array type (and to run its own parser).
    if not _PLAIN_DESCR.match(descr):
        raise DatasetError(f"{label}: dtype {descr!r} is not a plain numeric or string type")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise bad(f"unknown dtype {descr!r}") from None
    if dtype.hasobject:
        raise DatasetError(f"{label}: holds Python objects (dtype {dtype}), which fastmlp "
                           "never unpickles; save numbers (or strings for labels) instead")
    if dtype.names is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise DatasetError(f"{label}: dtype {dtype} is not a plain numeric or string type")
    return shape, fortran, dtype


def _read_npy(fp, available, label):
    """Read one .npy array from fp, which holds exactly `available` bytes.

    The header is checked against `available` before anything is allocated,
    so a corrupt shape cannot request more memory than the data can fill.
    The result is in native byte order.
    """
    start = fp.tell()
    shape, fortran, dtype = _npy_header(fp, label)
    nbytes = math.prod(shape) * dtype.itemsize
    have = available - (fp.tell() - start)
    if have != nbytes:
        what = "truncated" if have < nbytes else f"{have - nbytes} unexpected bytes after the data"
        raise DatasetError(f"{label}: {what}: the header declares shape {shape} of {dtype}, "
                           f"{nbytes} bytes of data, but {have} bytes follow the header")
    buffer = np.empty(nbytes, dtype=np.uint8)
    view = memoryview(buffer)
    got = 0
    while got < nbytes:
        n = fp.readinto(view[got:])
        if not n:
            raise DatasetError(f"{label}: truncated: only {got} of {nbytes} bytes of data")
        got += n
    if fp.read(1):   # also makes a zip member check its CRC
        raise DatasetError(f"{label}: unexpected bytes after the data")
    arr = buffer.view(dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return np.ascontiguousarray(arr)


def _from_npy(name, fp, size, target):
    arr = _read_npy(fp, size, name)
    if isinstance(target, str):
        raise ValueError(f"target={target!r} names a column, but {name} is an .npy file, which "
                         "has no column names; pass a column index")
    return _split_matrix(name, arr, target)


def _split_matrix(name, arr, target):
    """X and y from one 2-D numeric array, y being column `target` if given."""
    if arr.ndim != 2:
        raise DatasetError(f"{name}: expected a 2-D array (rows are examples), got shape "
                           f"{arr.shape}; reshape it, e.g. a.reshape(-1, 1) for one feature")
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
    if target is None:
        return arr, None
    t = _column_index(target, arr.shape[1], name)
    X = np.delete(arr, t, axis=1)
    if X.shape[1] == 0:
        raise DatasetError(f"{name}: no feature columns are left after taking column {t} "
                           "as the target")
    return X, _numeric_target(arr[:, t].copy())


def _npz_member(zf, info, archive_size, name, key):
    label = f"{name}[{key!r}]"
    if info.compress_type == zipfile.ZIP_STORED:
        limit = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        limit = MAX_DEFLATE_RATIO * info.compress_size + 64
    else:
        raise DatasetError(f"{label}: zip compression method {info.compress_type} is not "
                           "supported; write the file with numpy.savez or numpy.savez_compressed")
    if info.compress_size > archive_size or info.file_size > limit:
        raise DatasetError(f"{label}: corrupt zip entry: it declares {info.file_size} bytes "
                           f"stored in {info.compress_size} bytes of a {archive_size}-byte archive")
    with zf.open(info) as member:
        return _read_npy(member, info.file_size, label)


def _from_npz(name, fp, size, target):
    try:
        with zipfile.ZipFile(fp) as zf:
            infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            keys = sorted(infos)
            if isinstance(target, str):
                y_key = target
            else:
                y_key = "y" if target is None and "y" in infos else None
            if isinstance(target, str) and target not in infos:
                raise ValueError(f"target={target!r} is not an array in {name}; its arrays are "
                                 f"{_names_list(keys)}")
            if "X" in infos:
                x_key = "X"
            else:
                others = [k for k in keys if k != y_key]
                if len(others) != 1:
                    raise DatasetError(f"{name}: no array named 'X' (its arrays are "
                                       f"{_names_list(keys)}); save the features as X, e.g. "
                                       "numpy.savez(path, X=X, y=y)")
                x_key = others[0]
            X = _npz_member(zf, infos[x_key], size, name, x_key)
            y = None if y_key is None else _npz_member(zf, infos[y_key], size, name, y_key)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        # zipfile says NotImplementedError for an unknown compression method
        # and RuntimeError for an encrypted entry.
        raise DatasetError(f"{name}: not a readable .npz (zip) file: {e}") from None

    if isinstance(target, int):
        return _split_matrix(name, X, target)
    X, _ = _split_matrix(f"{name}[{x_key!r}]", X, None)
    if y is not None:
        label = f"{name}[{y_key!r}]"
        if y.ndim not in (1, 2) or y.dtype.kind not in "biufUS":
            raise DatasetError(f"{label}: expected a 1-D (or 2-D) array of numbers or strings, got "
                               f"dtype {y.dtype} with shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise DatasetError(f"{name}: X has {X.shape[0]} rows but {y_key} has {y.shape[0]}")
    return X, y


# ------------------------------------------------------------------------- text

def _names_list(names):
    shown = ", ".join(repr(n) for n in names[:_MAX_NAMES_SHOWN])
    more = len(names) - _MAX_NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _is_number(cell):
    # np.loadtxt, which parses the table, rejects the underscores float() allows.
    cell = cell.strip()
    if not cell or "_" in cell:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numeric_target(y):
    """int64 when every value is a whole number (class labels), else as is."""
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) \
            and np.all(np.abs(y) <= 2.0 ** 53) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return y


def _splitter(delimiter, name):
    if delimiter is None:
        return str.split

    def split(line):
        try:
            return next(csv.reader((line,), delimiter=delimiter, strict=True))
        except csv.Error as e:
            raise DatasetError(f"{name}: cannot split line {line[:60]!r}: {e}") from None
    return split


def _sniff(line):
    counts = [(line.count(d), d) for d in _AUTO_DELIMITERS]
    best = max(counts)
    return best[1] if best[0] > 0 else None


def _data_lines(name, content):
    if not content:
        raise DatasetError(f"{name}: empty file: no rows")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{name}: not a text table (byte {e.start} is not UTF-8), an .npy "
                           "or an .npz file") from None
    if "\0" in text:
        raise DatasetError(f"{name}: contains NUL bytes: not a text table, an .npy or an .npz file")
    lines = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((number, line))
    if not lines:
        raise DatasetError(f"{name}: no rows (only blank or '#' comment lines)")
    return lines


def _has_header(first, second):
    if second is None:
        return not any(_is_number(c) for c in first)
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))


def _column_index(target, ncols, name):
    if not -ncols <= target < ncols:
        raise ValueError(f"target={target} is out of range: {name} has {ncols} columns, so pass "
                         f"an index from {-ncols} to {ncols - 1}")
    return target % ncols


def _resolve_target(target, names, ncols, name):
    if target is None:
        return None
    if isinstance(target, int):
        return _column_index(target, ncols, name)
    if names is None:
        raise ValueError(f"target={target!r} names a column, but {name} has no header row; pass a "
                         "column index, or header=True if the first row holds the column names")
    hits = [j for j, n in enumerate(names) if n == target]
    if not hits:
        raise ValueError(f"target={target!r} is not a column of {name}; its columns are "
                         f"{_names_list(names)}")
    if len(hits) > 1:
        raise ValueError(f"target={target!r} names {len(hits)} columns of {name} (indexes "
                         f"{', '.join(map(str, hits))}); pass the index of the one you mean")
    return hits[0]


def _from_text(name, content, target, delimiter, header):
    lines = _data_lines(name, content)
    delim = _sniff(lines[0][1]) if delimiter is None else delimiter
    if delim == " ":
        delim = None
    split = _splitter(delim, name)
    first = split(lines[0][1])
    ncols = len(first)
    if header == "auto":
        header = _has_header(first, split(lines[1][1]) if len(lines) > 1 else None)
    names = [c.strip() for c in first] if header else None
    rows = lines[1:] if header else lines
    if not rows:
        raise DatasetError(f"{name}: has a header row but no data rows")
    t = _resolve_target(target, names, ncols, name)
    text_rows = [line for _, line in rows]
    kwargs = dict(delimiter=delim, comments=None, dtype=np.float64, ndmin=2,
                  quotechar='"' if delim is not None else None)

    def where(j):
        return f"column {j}" + (f" ({names[j]!r})" if names else "")

    # Fast path: every cell is a number, parsed by NumPy's C reader.
    try:
        table = np.loadtxt(text_rows, **kwargs)
    except ValueError:
        table = None
    if table is not None:
        if table.shape[1] != ncols:
            raise DatasetError(f"{name}: the header row has {ncols} fields but the data rows have "
                               f"{table.shape[1]}")
        if t is None:
            return table, None
        X = np.delete(table, t, axis=1)
        if X.shape[1] == 0:
            raise DatasetError(f"{name}: no feature columns are left after taking {where(t)} "
                               "as the target")
        return X, _numeric_target(table[:, t].copy())

    # Some cell is not a number. If all of them are in the target column,
    # those are class names; anything else is an error at a line and column.
    labels = []
    bad = None
    for number, line in rows:
        fields = split(line)
        if len(fields) != ncols:
            raise DatasetError(f"{name}: line {number} has {len(fields)} fields but line "
                               f"{lines[0][0]} has {ncols} (delimiter {_show_delim(delim)})")
        if t is not None:
            label = fields[t].strip()
            if not label:
                raise DatasetError(f"{name}: line {number}, {where(t)}: the target cell is empty")
            labels.append(label)
        if bad is None:
            for j, cell in enumerate(fields):
                if j != t and not _is_number(cell):
                    bad = (number, j, cell)
                    break
    if bad is not None:
        number, j, cell = bad
        what = ("an empty cell (missing values are not supported)" if not cell.strip()
                else f"{cell.strip()!r}, which is not a number")
        hint = ""
        if t is None:
            hint = (f"; if {where(j)} holds class labels, pass target={j}"
                    + (f" or target={names[j]!r}" if names else ""))
        raise DatasetError(f"{name}: line {number}, {where(j)}: {what}{hint}")
    if t is None:
        raise DatasetError(f"{name}: cannot read the table as numbers, although every cell looks "
                           f"like one (NumPy says: {_numpy_reason(text_rows, kwargs)})")
    if ncols == 1:
        raise DatasetError(f"{name}: no feature columns are left after taking {where(t)} "
                           "as the target")
    try:
        X = np.loadtxt(text_rows, usecols=[j for j in range(ncols) if j != t], **kwargs)
    except ValueError as e:
        raise DatasetError(f"{name}: cannot read the feature columns as numbers, although every "
                           f"cell looks like one (NumPy says: {e})") from None
    return X, np.array(labels, dtype=str)


def _numpy_reason(text_rows, kwargs):
    try:
        np.loadtxt(text_rows, **kwargs)
    except ValueError as e:
        return str(e)
    return "nothing"


def _show_delim(delim):
    return "whitespace" if delim is None else repr(delim)
