"""IDX files (the MNIST format) and the four-file MNIST / Fashion-MNIST layout.

It reads local files only and never downloads. No number in a header is
trusted until the file's size confirms it, so a corrupt header cannot make it
allocate or inflate more than the file can hold.
"""
import math
import os
import struct

import numpy as np

from ._base import (
    MAX_DEFLATE_RATIO,
    DatasetError,
    file_size,
    fspath_arg,
    guess_format,
    open_binary,
    reader_for,
)

# IDX type code (third magic byte) -> the big-endian dtype it stores.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_LIST = "0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64"
MAX_IDX_NDIM = 8


def load_idx(path):
    """Read an IDX file, gzip-compressed or not, into a NumPy array.

    Compression is detected from the file's first bytes (1f 8b), not its
    name. The result has the type and shape the header declares, in native
    byte order, and is writeable.

    Raises FileNotFoundError for a missing file, IsADirectoryError for a
    directory, and DatasetError (a ValueError) naming the file for anything
    malformed: wrong magic, unknown type code, a truncated header or payload,
    trailing bytes, or a corrupt gzip stream.

    Example
    -------
    >>> images = load_idx("mnist/train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                              # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    name, f = open_binary(path)
    with f:
        size = file_size(f)
        head = f.read(8)
        f.seek(0)
        return _read_idx(reader_for(f, name), size, head)


def _describe(dims, dtype, nbytes):
    shape = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
    return f"shape {shape} of {dtype.newbyteorder('=').name}, {nbytes} bytes of data"


def _read_idx(reader, size, head):
    name = reader.name
    magic = reader.read(4)
    if not magic:
        where = "the gzip stream holds no data" if reader.compressed else "no bytes at all"
        raise DatasetError(f"{name}: empty file ({where}); an IDX file starts with a "
                           "4-byte magic number")
    if len(magic) < 4:
        raise DatasetError(f"{name}: truncated header: {len(magic)} bytes, "
                           "but the IDX magic number alone takes 4")
    if magic[:2] != b"\0\0":
        hint = "" if reader.compressed else guess_format(head)
        raise DatasetError(
            f"{name}: not an IDX file: it starts with bytes {magic.hex(' ')}, but an IDX "
            "file starts with 00 00, a type code and the number of dimensions"
            + (f"; this looks like {hint}" if hint else ""))
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise DatasetError(f"{name}: unknown IDX type code 0x{code:02X} in the magic number; "
                           f"the known codes are {_TYPE_LIST}")
    if not 1 <= ndim <= MAX_IDX_NDIM:
        raise DatasetError(f"{name}: the magic number declares {ndim} dimensions; "
                           f"IDX files have 1 to {MAX_IDX_NDIM}")
    raw_dims = reader.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(f"{name}: truncated header: it declares {ndim} dimensions, which "
                           f"take {4 * ndim} bytes after the magic number, but only "
                           f"{len(raw_dims)} follow")
    dims = struct.unpack(f">{ndim}I", raw_dims)
    dtype = IDX_TYPES[code]
    header_len = 4 + 4 * ndim
    # Python ints: the product cannot overflow, however absurd the dims.
    nbytes = math.prod(dims) * dtype.itemsize
    declared = _describe(dims, dtype, nbytes)

    if not reader.compressed:
        have = size - header_len
        if have < nbytes:
            raise DatasetError(f"{name}: truncated: the header declares {declared}, "
                               f"but only {have} bytes follow the header")
        if have > nbytes:
            raise DatasetError(f"{name}: {have - nbytes} unexpected bytes after the data: the "
                               f"header declares {declared}, but {have} bytes follow the header")
    elif header_len + nbytes > MAX_DEFLATE_RATIO * size:
        raise DatasetError(f"{name}: the header declares {declared}, more than a gzip file of "
                           f"{size} bytes can hold (at most {MAX_DEFLATE_RATIO * size} bytes); the "
                           "file is truncated or its header is corrupt")

    buffer = np.empty(nbytes, dtype=np.uint8)
    got = reader.readinto(buffer)
    if got < nbytes:
        raise DatasetError(f"{name}: truncated: the header declares {declared}, "
                           f"but only {got} bytes follow the header")
    extra = _count_rest(reader)
    if extra:
        raise DatasetError(f"{name}: {extra} unexpected bytes after the data: the header declares "
                           f"{declared}, but {nbytes + extra} bytes follow the header")

    if not dtype.isnative:
        buffer.view(dtype).byteswap(inplace=True)
    return buffer.view(dtype.newbyteorder("=")).reshape(dims)


def _count_rest(reader):
    """Bytes left in the reader (reading to the end also checks a gzip CRC)."""
    scratch = bytearray(1 << 16)
    total = 0
    while True:
        n = reader.readinto(scratch)
        if not n:
            return total
        total += n


_MNIST_KINDS = {"train": "train", "test": "t10k", "t10k": "t10k"}


def mnist_file_names(kind, part):
    """The accepted names of one MNIST file, in the order they are tried.

    kind is 'train' or 't10k'; part is 'images' or 'labels'. The uncompressed
    name comes first because it reads fastest.
    """
    idx = "idx3" if part == "images" else "idx1"
    stems = (f"{kind}-{part}-{idx}-ubyte", f"{kind}-{part}.{idx}-ubyte")
    return [stem + ext for stem in stems for ext in ("", ".gz")]


def _find_mnist_file(directory, kind, part):
    names = mnist_file_names(kind, part)
    for n in names:
        candidate = os.path.join(directory, n)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"no {'training' if kind == 'train' else 'test'} {part} file in "
                            f"{directory}: expected one of {', '.join(names)}")


def load_mnist(directory, kind="train", *, normalize=True, dtype=np.float32, flatten=True):
    """Load MNIST, Fashion-MNIST or any data set in the same four-file layout.

    directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
    t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally
    gzip-compressed (.gz) and optionally named with a dot before idx
    (train-images.idx3-ubyte). kind is 'train' or 'test' ('t10k' also works).

    Returns (X, y): X has shape (n, rows * cols), or (n, rows, cols) when
    flatten is False, and the given dtype; with normalize, pixels are divided
    by 255 into [0, 1], otherwise they keep their 0..255 values. y is int64.

    Example
    -------
    >>> X, y = load_mnist("data/mnist", "train")     # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]                      # doctest: +SKIP
    ((60000, 784), dtype('float32'), array([5, 0, 4, 1, 9]))
    """
    folder = fspath_arg(directory, "directory")
    if not isinstance(kind, str) or kind not in _MNIST_KINDS:
        raise ValueError(f"kind must be 'train' or 'test' (or 't10k'), got {kind!r}")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    if not isinstance(flatten, (bool, np.bool_)):
        raise TypeError(f"flatten must be True or False, got {flatten!r}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype such as np.float32, got {dtype!r}") from None
    if normalize and dt.kind != "f":
        raise TypeError(f"dtype must be a floating type when normalize=True, got {dt}; pass "
                        "dtype=np.float32, or normalize=False to keep the 0..255 pixel values")
    if dt.kind not in "uif":
        raise TypeError(f"dtype must be a numeric NumPy dtype, got {dt}")
    if not os.path.exists(folder):
        raise FileNotFoundError(f"directory {folder} does not exist")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"directory {folder} is a file; pass the folder that holds "
                                 "the four MNIST files")

    prefix = _MNIST_KINDS[kind]
    images_path = _find_mnist_file(folder, prefix, "images")
    labels_path = _find_mnist_file(folder, prefix, "labels")
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{images_path}: expected 3-D uint8 images (count, rows, cols), "
                           f"got {images.ndim}-D {images.dtype} with shape {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(f"{labels_path}: expected 1-D uint8 labels, got {labels.ndim}-D "
                           f"{labels.dtype} with shape {labels.shape}")
    n, rows, cols = images.shape
    if labels.shape[0] != n:
        raise DatasetError(f"{folder}: {os.path.basename(images_path)} holds {n} images but "
                           f"{os.path.basename(labels_path)} holds {labels.shape[0]} labels")

    X = images.reshape(n, rows * cols) if flatten else images
    X = X.astype(dt, copy=False)
    if normalize:
        np.divide(X, 255, out=X)
    return X, labels.astype(np.int64)
