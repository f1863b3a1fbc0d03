"""Tests for fastmlp.datasets: the real MNIST / Fashion-MNIST / digits /
diabetes files against the facts in datasets/README.md, corrupt and hostile
inputs built in tmp_path, and property-based fuzzing of the readers.

Real-data tests skip when the shared data sets are absent (see conftest.py);
everything else runs anywhere.
"""
import functools
import gzip
import hashlib
import io
import os
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastmlp.datasets import (
    Bunch,
    DatasetError,
    load_diabetes,
    load_digits,
    load_idx,
    load_mnist,
    load_table,
)
from fastmlp.datasets._bundled import DIGITS_FILE

# Facts from datasets/README.md.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
DIGITS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
T10K_IMAGES_MD5 = "2646ac647ad5339dbf082846283269ea"   # decompressed
T10K_LABELS_MD5 = "27ae3e4e09519cfbb04c329615203637"
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@functools.lru_cache(maxsize=None)
def _cached_mnist(folder, kind):
    # Each training set takes a fraction of a second; load it once per run.
    X, y = load_mnist(folder, kind)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def idx_bytes(arr, code=None):
    """An IDX file holding arr (type code from its dtype unless given)."""
    codes = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C,
             "float32": 0x0D, "float64": 0x0E}
    arr = np.asarray(arr)
    code = codes[arr.dtype.name] if code is None else code
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data):
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ real data

@pytest.mark.parametrize("kind, counts, mean", [
    ("train", MNIST_TRAIN_COUNTS, 33.32),
    ("test", MNIST_TEST_COUNTS, 33.79),
])
def test_mnist_shapes_label_counts_and_mean(datasets, kind, counts, mean):
    X, y = _cached_mnist(str(datasets / "mnist"), kind)
    n = sum(counts)
    assert X.shape == (n, 784) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == counts
    assert X.min() == 0.0 and X.max() == 1.0
    assert round(float(X.mean(dtype=np.float64)) * 255, 2) == mean


@pytest.mark.parametrize("kind, n, mean", [("train", 60000, 72.94), ("test", 10000, 73.15)])
def test_fashion_mnist_shapes_label_counts_and_mean(datasets, kind, n, mean):
    X, y = _cached_mnist(str(datasets / "fashion-mnist"), kind)
    assert X.shape == (n, 784) and y.shape == (n,)
    assert np.bincount(y, minlength=10).tolist() == [n // 10] * 10
    assert round(float(X.mean(dtype=np.float64)) * 255, 2) == mean
    if kind == "train":
        assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]


def test_mnist_raw_pixels_and_options(datasets):
    folder = datasets / "mnist"
    X, y = load_mnist(folder, "t10k", normalize=False, dtype=np.uint8, flatten=False)
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    Xn, yn = _cached_mnist(str(folder), "test")
    np.testing.assert_array_equal(y, yn)
    np.testing.assert_array_equal(Xn, (X.reshape(10000, 784) / np.float32(255)).astype(np.float32))
    X64, _ = load_mnist(folder, "test", dtype=np.float64, flatten=False)
    assert X64.shape == (10000, 28, 28) and X64.dtype == np.float64
    np.testing.assert_array_equal(X64, X / 255.0)


def test_load_idx_reads_real_files_raw_and_gzip_alike(datasets, tmp_path):
    src = datasets / "mnist"
    images_gz = load_idx(src / "t10k-images-idx3-ubyte.gz")
    labels_gz = load_idx(src / "t10k-labels-idx1-ubyte.gz")
    assert images_gz.shape == (10000, 28, 28) and images_gz.dtype == np.uint8
    assert labels_gz.shape == (10000,) and labels_gz.dtype == np.uint8
    assert images_gz.flags.writeable
    for stem, md5 in [("t10k-images-idx3-ubyte", T10K_IMAGES_MD5),
                      ("t10k-labels-idx1-ubyte", T10K_LABELS_MD5)]:
        raw = gzip.decompress((src / f"{stem}.gz").read_bytes())
        assert hashlib.md5(raw).hexdigest() == md5
        # The dotted spelling, uncompressed: load_mnist must find it.
        write(tmp_path / stem.replace("-idx", ".idx"), raw)
    np.testing.assert_array_equal(load_idx(tmp_path / "t10k-images.idx3-ubyte"), images_gz)
    np.testing.assert_array_equal(load_idx(tmp_path / "t10k-labels.idx1-ubyte"), labels_gz)
    X, y = load_mnist(tmp_path, "test")
    Xg, yg = _cached_mnist(str(src), "test")
    np.testing.assert_array_equal(X, Xg)
    np.testing.assert_array_equal(y, yg)
    # Compression is found from the bytes, not the name.
    os.rename(tmp_path / "t10k-labels.idx1-ubyte", tmp_path / "labels.gz")
    np.testing.assert_array_equal(load_idx(tmp_path / "labels.gz"), labels_gz)


def test_digits_bundled_file(datasets):
    with open(DIGITS_FILE, "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == DIGITS_SHA256
    assert data == (datasets / "digits" / "digits.csv.gz").read_bytes()


def test_load_digits():
    with open(DIGITS_FILE, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == DIGITS_SHA256
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == DIGITS_COUNTS
    assert X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    # First row of the file, as scikit-learn shows it.
    assert X[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0] and y[0] == 0
    X32, _ = load_digits(dtype=np.float32)
    assert X32.dtype == np.float32 and np.array_equal(X32, X)
    bunch = load_digits(return_X_y=False)
    assert isinstance(bunch, Bunch)
    assert bunch.images.shape == (1797, 8, 8) and np.array_equal(bunch.images[0, 0], X[0, :8])
    assert np.array_equal(bunch.target, y) and bunch["data"] is bunch.data
    assert bunch.target_names.tolist() == list(range(10)) and len(bunch.feature_names) == 64
    with pytest.raises(TypeError, match="dtype must be a floating type"):
        load_digits(dtype=np.int32)
    with pytest.raises(TypeError, match="return_X_y must be True or False"):
        load_digits(return_X_y="yes")


def test_load_diabetes(datasets, monkeypatch):
    X, y = load_diabetes(datasets / "diabetes")
    assert X.shape == (442, 10) and y.shape == (442,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X[0].tolist() == [59, 2, 32.1, 101.0, 157, 93.2, 38.0, 4.0, 4.8598, 87]
    assert round(float(y.mean()), 2) == 152.13 and y.min() == 25 and y.max() == 346
    X2, _ = load_diabetes(datasets)            # the data-set root also works
    np.testing.assert_array_equal(X, X2)
    monkeypatch.setenv("FASTMLP_DATASETS", str(datasets))
    X3, _ = load_diabetes()
    np.testing.assert_array_equal(X, X3)


def test_load_diabetes_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="diabetes_data_raw.csv.gz"):
        load_diabetes(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_diabetes(tmp_path / "nowhere")
    monkeypatch.delenv("FASTMLP_DATASETS", raising=False)
    with pytest.raises(ValueError, match="FASTMLP_DATASETS is not set"):
        load_diabetes()
    (tmp_path / "diabetes_data_raw.csv").write_text("1 2 3 4 5 6 7 8 9 10\n" * 3)
    (tmp_path / "diabetes_target.csv").write_text("1\n2\n")
    with pytest.raises(DatasetError, match="3 feature rows but 2 targets"):
        load_diabetes(tmp_path)


def test_docstring_examples_run():
    import doctest

    from fastmlp.datasets import _bundled, _idx, _table
    for module in (_bundled, _idx, _table):
        result = doctest.testmod(module, verbose=False)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(_bundled).attempted >= 2


# ------------------------------------------------------------- IDX, synthetic

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_load_idx_round_trips_every_type(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        arr = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    else:
        arr = rng.standard_normal((3, 4, 5)).astype(dtype)
    data = idx_bytes(arr)
    path = write(tmp_path / "a.idx", gzip.compress(data) if compress else data)
    got = load_idx(str(path))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    assert got.shape == arr.shape and got.flags.writeable and got.flags.c_contiguous
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("shape", [(7,), (2, 3), (0, 28, 28), (1, 2, 3, 4), (2,) * 8])
def test_load_idx_shapes(tmp_path, shape):
    arr = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "a", idx_bytes(arr))), arr)


def test_load_idx_reads_multi_member_gzip(tmp_path):
    data = idx_bytes(np.arange(100, dtype=np.uint8).reshape(10, 10))
    path = write(tmp_path / "a.gz", gzip.compress(data[:37]) + gzip.compress(data[37:]))
    np.testing.assert_array_equal(load_idx(path), np.arange(100).reshape(10, 10))


SMALL = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))   # 16-byte header


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"\x00\x00\x08", "truncated header: 3 bytes"),
    (b"\x01\x02" + SMALL[2:], "not an IDX file: it starts with bytes 01 02 08 03"),
    (b"\x00\x00\x0a\x03" + SMALL[4:], "unknown IDX type code 0x0A"),
    (b"\x00\x00\x08\x00" + SMALL[4:], "declares 0 dimensions"),
    (b"\x00\x00\x08\x09" + SMALL[4:], "declares 9 dimensions"),
    (SMALL[:10], "truncated header: it declares 3 dimensions, which take 12 bytes after the "
                 "magic number, but only 6 follow"),
    (SMALL[:16], r"truncated: the header declares shape \(2, 3, 4\) of uint8, 24 bytes of data, "
                 "but only 0 bytes follow"),
    (SMALL[:-1], "truncated: .* but only 23 bytes follow the header"),
    (SMALL + b"junk", "4 unexpected bytes after the data: .* but 28 bytes follow the header"),
], ids=["empty", "short-magic", "bad-magic", "type-code", "ndim-0", "ndim-9",
        "short-dims", "no-payload", "short-payload", "trailing"])
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_load_idx_rejects_malformed_files(tmp_path, data, message, compress):
    if compress:
        message = message.replace("empty file", r"empty file \(the gzip stream holds no data\)")
    path = write(tmp_path / "bad", gzip.compress(data) if compress else data)
    with pytest.raises(DatasetError, match=message) as info:
        load_idx(path)
    assert str(info.value).startswith(f"{path}: ")   # names the file


@pytest.mark.parametrize("data, hint", [
    (b"BZh91AY&SY" + SMALL, "a bzip2 file; decompress it first"),
    (b"\xfd7zXZ\x00" + SMALL, "an xz file; decompress it first"),
    (b"PK\x03\x04" + SMALL, "a zip archive; extract it first"),
])
def test_load_idx_names_other_formats(tmp_path, data, hint):
    with pytest.raises(DatasetError, match=f"not an IDX file: .*; this looks like {hint}"):
        load_idx(write(tmp_path / "other", data))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dims", [(0xFFFFFFFF,) * 3, (1 << 20, 1 << 10)])
def test_load_idx_refuses_huge_dims_without_allocating(tmp_path, dims, compress):
    data = bytes([0, 0, 0x0E, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + bytes(64)
    path = write(tmp_path / "huge", gzip.compress(data) if compress else data)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="the header declares shape") as info:
            load_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"allocated {peak} bytes for a {len(data)}-byte file"
    if compress:
        assert "more than a gzip file of" in str(info.value)


def test_load_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)), mtime=0)
    bad = bytearray(good)
    bad[40] ^= 0xFF                         # inside the deflate data
    with pytest.raises(DatasetError, match="corrupt gzip stream"):
        load_idx(write(tmp_path / "flip.gz", bytes(bad)))
    crc = bytearray(good)
    crc[-6] ^= 0x01                         # the CRC-32 trailer
    with pytest.raises(DatasetError, match="corrupt gzip stream: .*incorrect data check"):
        load_idx(write(tmp_path / "crc.gz", bytes(crc)))
    with pytest.raises(DatasetError, match="corrupt gzip stream: truncated"):
        load_idx(write(tmp_path / "cut.gz", good[:len(good) // 2]))
    with pytest.raises(DatasetError, match="corrupt gzip stream: truncated"):
        load_idx(write(tmp_path / "cut2.gz", good[:-3]))      # inside the trailer
    with pytest.raises(DatasetError, match="unexpected bytes 6a 75 6e 6b after the end"):
        load_idx(write(tmp_path / "tail.gz", good + b"junk"))
    with pytest.raises(DatasetError, match="corrupt gzip stream"):
        load_idx(write(tmp_path / "head.gz", b"\x1f\x8b\x09" + good[3:]))  # unknown method


def test_load_idx_io_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing.idx")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_idx(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_idx(3)


# ---------------------------------------------------------- load_mnist layout

def make_mnist_dir(folder, n_images=5, n_labels=5, *, gz=False, kind="train"):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(n_images, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_labels).astype(np.uint8)
    for stem, arr in [(f"{kind}-images-idx3-ubyte", images), (f"{kind}-labels-idx1-ubyte", labels)]:
        data = idx_bytes(arr)
        write(folder / (stem + (".gz" if gz else "")), gzip.compress(data) if gz else data)
    return images, labels


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_load_mnist_small_layout(tmp_path, gz):
    images, labels = make_mnist_dir(tmp_path, gz=gz)
    X, y = load_mnist(tmp_path)
    assert X.shape == (5, 12) and X.dtype == np.float32
    np.testing.assert_array_equal(X, images.reshape(5, 12).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64
    X, _ = load_mnist(tmp_path, normalize=False, dtype=np.float64, flatten=False)
    np.testing.assert_array_equal(X, images)


def test_load_mnist_errors(tmp_path):
    make_mnist_dir(tmp_path / "mismatch", n_images=5, n_labels=4)
    with pytest.raises(DatasetError, match="holds 5 images but train-labels-idx1-ubyte holds 4"):
        load_mnist(tmp_path / "mismatch")
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "mismatch", "test")
    for name in ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                 "t10k-images.idx3-ubyte", "t10k-images.idx3-ubyte.gz"]:
        assert name in str(info.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    write(tmp_path / "file", b"")
    with pytest.raises(NotADirectoryError, match="is a file"):
        load_mnist(tmp_path / "file")
    with pytest.raises(ValueError, match="kind must be 'train' or 'test'"):
        load_mnist(tmp_path / "mismatch", "validation")
    with pytest.raises(TypeError, match="floating type when normalize=True"):
        load_mnist(tmp_path / "mismatch", dtype=np.uint8)
    with pytest.raises(TypeError, match="dtype must be a NumPy dtype"):
        load_mnist(tmp_path / "mismatch", dtype="no-such-type")
    with pytest.raises(TypeError, match="normalize must be True or False"):
        load_mnist(tmp_path / "mismatch", normalize="yes")
    # Images stored as a 2-D int16 array are not MNIST images.
    bad = tmp_path / "bad"
    make_mnist_dir(bad)
    write(bad / "train-images-idx3-ubyte", idx_bytes(np.zeros((5, 12), np.int16)))
    with pytest.raises(DatasetError, match="expected 3-D uint8 images"):
        load_mnist(bad)
    # A corrupt member file is reported by name.
    write(bad / "train-images-idx3-ubyte", b"\x00\x00\x08\x03\x00")
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte: truncated header"):
        load_mnist(bad)


# ------------------------------------------------------------------- fuzzing

FUZZ_ARRAY = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
FUZZ_RAW = idx_bytes(FUZZ_ARRAY)
FUZZ_GZ = gzip.compress(FUZZ_RAW, mtime=0)
# FASTMLP_FUZZ_EXAMPLES=20000 runs a long fuzzing session; CI keeps it short.
FUZZ_SETTINGS = settings(max_examples=int(os.environ.get("FASTMLP_FUZZ_EXAMPLES", 150)),
                         deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _mutate(data, flips, cut, insert):
    """Flip bits; then insert bytes at `cut` (or append them), or cut there."""
    data = bytearray(data)
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    at = len(data) if cut is None else cut % (len(data) + 1)
    if insert:
        data[at:at] = insert
    else:
        del data[at:]
    return bytes(data)


def _load_idx_or_error(path):
    """load_idx's result, or None when it raised an allowed error."""
    start = time.perf_counter()
    try:
        return load_idx(path)
    except (ValueError, OSError):
        return None
    finally:
        assert time.perf_counter() - start < 1.0


@FUZZ_SETTINGS
@given(data=st.binary(max_size=300))
def test_fuzz_load_idx_random_bytes(fuzz_dir, data):
    for payload in (data, gzip.compress(data, mtime=0), b"\x00\x00" + data, b"\x1f\x8b" + data):
        _load_idx_or_error(write(fuzz_dir / "random", payload))


@FUZZ_SETTINGS
@given(base=st.sampled_from(["raw", "gz", "gz-of-mutated"]),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=4),
       cut=st.none() | st.integers(0, 10_000),
       insert=st.binary(max_size=8))
def test_fuzz_load_idx_mutations(fuzz_dir, base, flips, cut, insert):
    original = FUZZ_GZ if base == "gz" else FUZZ_RAW
    mutated = _mutate(original, flips, cut, insert)
    if base == "gz-of-mutated":
        # A sound gzip stream around a damaged IDX file.
        mutated, original = gzip.compress(mutated, mtime=0), FUZZ_GZ
    got = _load_idx_or_error(write(fuzz_dir / "mutated", mutated))
    if got is not None:
        assert isinstance(got, np.ndarray) and got.dtype.isnative
        if base == "gz":
            # The CRC-32 guards the content: whatever decodes is the original.
            np.testing.assert_array_equal(got, FUZZ_ARRAY)
    if mutated == original:
        np.testing.assert_array_equal(got, FUZZ_ARRAY)


# -------------------------------------------------------------- load_table

def test_table_csv_header_and_string_labels(tmp_path):
    path = write(tmp_path / "iris.csv",
                 b"sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n")
    X, y = load_table(path, target="species")
    assert X.dtype == np.float64 and X.tolist() == [[5.1, 3.5], [7.0, 3.2]]
    assert y.dtype.kind == "U" and y.tolist() == ["setosa", "versicolor"]
    X2, y2 = load_table(path, target=-1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    # With another target, the class names are a feature column: an error.
    with pytest.raises(DatasetError, match=r"line 2, column 2 \('species'\): 'setosa'"):
        load_table(path, target="sepal_width")


def test_table_numeric_target_types_and_auto_header(tmp_path):
    path = write(tmp_path / "t.csv", b"1,2,0\n3,4,1\n5,6,2\n")
    X, y = load_table(path, target=2)
    assert X.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2]
    X, y = load_table(path)
    assert X.shape == (3, 3) and y is None
    X, y = load_table(path, header=True)
    assert X.shape == (2, 3)
    named = write(tmp_path / "n.csv", b"a,b,label\n1,2,0\n3,4,1\n")
    X, y = load_table(named, target="label")
    assert X.shape == (2, 2) and y.tolist() == [0, 1]
    with pytest.raises(DatasetError, match=r"line 1, column 0: 'a', which is not a number"):
        load_table(named, header=False)


@pytest.mark.parametrize("text, delimiter", [
    (b"1\t2\t3\n4\t5\t6\n", None),
    (b"1;2;3\n4;5;6\n", None),
    (b"1  2 3\n 4 5\t6\n", None),
    (b"1 2 3\n4 5 6\n", " "),
    (b"1|2|3\n4|5|6\n", "|"),
    (b"\xef\xbb\xbf# made by hand\r\n1,2,3\r\n\r\n# more\r\n4,5,6", None),
    (b'"1","2",3\n4,"5",6\n', None),
], ids=["tab", "semicolon", "whitespace", "space", "pipe", "bom-crlf-comments", "quoted"])
def test_table_delimiters_and_text_details(tmp_path, text, delimiter):
    X, y = load_table(write(tmp_path / "t.txt", text), delimiter=delimiter)
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]] and y is None


def test_table_gzip_csv_and_real_digits(tmp_path):
    path = write(tmp_path / "t.csv.gz", gzip.compress(b"x,y\n1.5,a\n2.5,b\n"))
    X, y = load_table(path, target="y")
    assert X.tolist() == [[1.5], [2.5]] and y.tolist() == ["a", "b"]
    X, y = load_table(DIGITS_FILE, target=64)
    Xd, yd = load_digits()
    np.testing.assert_array_equal(X, Xd)
    np.testing.assert_array_equal(y, yd)


@pytest.mark.parametrize("text, kwargs, error, message", [
    (b"1,2,3\n4,5\n", {}, DatasetError, r"line 2 has 2 fields but line 1 has 3 \(delimiter ','\)"),
    (b"a,b,c\n1,2,3\n4,5\n", {"target": "c"}, DatasetError, "line 3 has 2 fields but line 1 has 3"),
    (b"a,b\n1,2\n3,x\n", {}, DatasetError,
     r"line 3, column 1 \('b'\): 'x', which is not a number; if column 1 \('b'\) holds class "
     r"labels, pass target=1 or target='b'"),
    (b"a,b\n1,2\n3,\n", {}, DatasetError, "line 3, column 1 .*empty cell"),
    (b"1,2,u\nv,3,w\n", {"target": 2}, DatasetError,
     r"line 2, column 0: 'v', which is not a number$"),
    (b"1,2,u\n3,4,\n", {"target": 2}, DatasetError, "line 2, column 2: the target cell is empty"),
    (b"a,b\n1,2\n", {"target": "c"}, ValueError, r"target='c' is not a column of .*'a', 'b'"),
    (b"1,2\n3,4\n", {"target": "c"}, ValueError, "names a column, but .* has no header row"),
    (b"1,2\n3,4\n", {"target": 2}, ValueError, "target=2 is out of range: .* from -2 to 1"),
    (b"1,2\n3,4\n", {"target": -3}, ValueError, "out of range"),
    (b"a,a\n1,2\n", {"target": "a"}, ValueError, "names 2 columns"),
    (b"1\n2\n", {"target": 0}, DatasetError, "no feature columns are left"),
    (b"a\nx\n", {"target": 0, "header": True}, DatasetError, "no feature columns are left"),
    (b"", {}, DatasetError, "empty file: no rows"),
    (b"\n# only a comment\n\n", {}, DatasetError, "no rows"),
    (b"a,b,c\n", {}, DatasetError, "has a header row but no data rows"),
    (b"a,b\n1,2\n", {"header": True, "target": 0, "delimiter": ";"}, DatasetError,
     "no feature columns"),
    (b"\xff\xfe\x00\x01garbage", {}, DatasetError, "not a text table"),
    (b"1,2\x00\n", {}, DatasetError, "NUL bytes"),
], ids=["ragged", "ragged-with-labels", "non-numeric", "empty-cell", "non-numeric-with-labels",
        "empty-label", "no-such-column", "name-without-header", "index-too-big", "index-too-small",
        "duplicate-name", "only-target", "only-target-labels", "empty", "only-comments",
        "only-header", "wrong-delimiter", "binary", "nul"])
def test_table_text_errors(tmp_path, text, kwargs, error, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(error, match=message) as info:
        load_table(path, **kwargs)
    assert str(path) in str(info.value)


def test_table_argument_errors(tmp_path):
    path = write(tmp_path / "t.csv", b"1,2\n")
    with pytest.raises(TypeError, match="target must be a column name"):
        load_table(path, target=True)
    with pytest.raises(TypeError, match="target must be a column name"):
        load_table(path, target=1.0)
    with pytest.raises(ValueError, match="header must be 'auto', True or False"):
        load_table(path, header=1)
    with pytest.raises(ValueError, match="delimiter must be one character"):
        load_table(path, delimiter=",,")
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError):
        load_table(tmp_path)


def _npy_bytes(arr, **kwargs):
    f = io.BytesIO()
    np.save(f, arr, **kwargs)
    return f.getvalue()


def test_table_npy(tmp_path):
    arr = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = write(tmp_path / "a.npy", _npy_bytes(arr))
    X, y = load_table(path)
    assert X.dtype == np.float32 and np.array_equal(X, arr) and y is None
    X, y = load_table(path, target=-1)
    assert X.tolist() == arr[:, :2].tolist() and y.dtype == np.int64 and y.tolist() == [2, 5, 8, 11]
    # gzip-compressed .npy, under a misleading name
    X, _ = load_table(write(tmp_path / "a.csv", gzip.compress(_npy_bytes(arr))))
    np.testing.assert_array_equal(X, arr)
    fortran = write(tmp_path / "f.npy", _npy_bytes(np.asfortranarray(arr)))
    np.testing.assert_array_equal(load_table(fortran)[0], arr)


def _npy_with_header(descr, shape, payload):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


@pytest.mark.parametrize("data, message", [
    (_npy_bytes(np.array([1, "a", None], dtype=object), allow_pickle=True), "holds Python objects"),
    (_npy_bytes(np.arange(3.0)), r"expected a 2-D array .* shape \(3,\)"),
    (_npy_bytes(np.array([["a", "b"]])), "expected numbers, got an array of dtype <U1"),
    (_npy_bytes(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])), "structured array"),
    (_npy_bytes(np.zeros((3, 3)))[:-5], r"truncated: the header declares shape \(3, 3\)"),
    (_npy_bytes(np.zeros((3, 3))) + b"xx", "2 unexpected bytes after the data"),
    (_npy_with_header("<f8", (1 << 40, 1 << 20), b"\0" * 16), "truncated: the header declares"),
    (_npy_with_header("<f8", (-1, 2), b""), r"shape \(-1, 2\) is not a tuple of non-negative"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n", "not a valid .npy array"),
    (b"\x93NUMPY\x07\x00", "not a valid .npy array"),
], ids=["object", "1-D", "strings", "structured", "truncated", "trailing", "huge", "negative",
        "bad-header", "bad-version"])
def test_table_npy_errors(tmp_path, data, message):
    path = write(tmp_path / "bad.npy", data)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=message):
            load_table(path, target=None)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20
    finally:
        tracemalloc.stop()
    with pytest.raises((DatasetError, ValueError)):
        load_table(write(tmp_path / "bad.gz", gzip.compress(data)))


def test_table_npy_rejects_column_name(tmp_path):
    path = write(tmp_path / "a.npy", _npy_bytes(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="has no column names; pass a column index"):
        load_table(path, target="label")


def _npz(path, compressed=False, **arrays):
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_table_npz(tmp_path, compressed):
    X0 = np.arange(6.0).reshape(3, 2)
    y0 = np.array(["cat", "dog", "cat"])
    path = _npz(tmp_path / "d.npz", compressed, X=X0, y=y0, w=np.ones(3))
    X, y = load_table(path)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    X, y = load_table(path, target="w")
    np.testing.assert_array_equal(y, np.ones(3))
    X, y = load_table(path, target=0)
    assert X.tolist() == [[1], [3], [5]] and y.tolist() == [0, 2, 4]
    X, y = load_table(_npz(tmp_path / "one.npz", compressed, data=X0))     # the only array is X
    np.testing.assert_array_equal(X, X0)
    assert y is None
    X, y = load_table(_npz(tmp_path / "two.npz", compressed, data=X0, label=y0), target="label")
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("arrays, kwargs, message", [
    ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, {}, "X has 3 rows but y has 2"),
    ({"X": np.zeros((3, 2))}, {"target": "label"}, r"target='label' is not an array in .*'X'"),
    ({"a": np.zeros((3, 2)), "b": np.zeros(3)}, {}, "no array named 'X'"),
    ({"X": np.zeros(3)}, {}, "expected a 2-D array"),
    ({"X": np.zeros((3, 2)), "y": np.zeros((3, 2, 2))}, {}, "expected a 1-D"),
], ids=["length", "no-target", "no-X", "X-1-D", "y-3-D"])
def test_table_npz_errors(tmp_path, arrays, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_table(_npz(tmp_path / "bad.npz", **arrays), **kwargs)


def test_table_npz_object_and_corrupt(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DatasetError, match=r"obj.npz\['y'\]: holds Python objects"):
        load_table(path)
    good = _npz(tmp_path / "good.npz", True, X=np.arange(100.0).reshape(10, 10)).read_bytes()
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_table(write(tmp_path / "cut.npz", good[:len(good) // 2]))
    # A zip entry that claims a huge uncompressed size is refused before reading.
    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as zf:
        zf.writestr("X.npy", _npy_with_header("<f8", (1 << 30, 4), b""))
    with pytest.raises(DatasetError, match="truncated: the header declares"):
        load_table(tmp_path / "liar.npz")


@FUZZ_SETTINGS
@given(text=st.text(alphabet="0123456789.,;\t\n #-e\"ax\r", max_size=80),
       target=st.none() | st.integers(-4, 4) | st.sampled_from(["a", "x"]),
       header=st.sampled_from(["auto", True, False]))
def test_fuzz_load_table_text(fuzz_dir, text, target, header):
    path = write(fuzz_dir / "table", text.encode())
    try:
        X, y = load_table(path, target=target, header=header)
    except (ValueError, OSError):
        return
    assert X.ndim == 2 and X.dtype == np.float64 and X.shape[1] >= 1
    assert y is None or len(y) == len(X)



@FUZZ_SETTINGS
@given(kind=st.sampled_from(["npy", "npz", "npz-compressed"]),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=3),
       cut=st.none() | st.integers(0, 10_000))
def test_fuzz_load_table_binary(fuzz_dir, kind, flips, cut):
    if kind == "npy":
        original = _npy_bytes(np.arange(6.0).reshape(3, 2))
    else:
        f = io.BytesIO()
        save = np.savez_compressed if kind == "npz-compressed" else np.savez
        save(f, X=np.arange(6.0).reshape(3, 2), y=np.arange(3))
        original = f.getvalue()
    path = write(fuzz_dir / "binary", _mutate(original, flips, cut, b""))
    start = time.perf_counter()
    try:
        load_table(path)
    except (ValueError, OSError):
        pass
    assert time.perf_counter() - start < 1.0
