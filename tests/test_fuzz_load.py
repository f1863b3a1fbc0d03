"""Fuzzing fastmlp.load: random, truncated, bit-flipped and rebuilt model files.
It deliberately fuzzes only the model-file reader; the IDX and table readers are fuzzed in
test_datasets.py and the C kernels in test_fuzz_kernels.py.

Every input must end in a loaded, usable model or a clean ValueError/OSError: never another
exception, a crash or a hang. A model that does load must predict on data of its own width
without reading outside its arrays (run under tools/sanitize.sh to have AddressSanitizer watch).

FASTMLP_FUZZ_EXAMPLES sets the examples per test (CI: the default below; a long run:
FASTMLP_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_load.py).
"""
import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmlp
from fastmlp import MLP, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning",
                                        "ignore::UserWarning")

EXAMPLES = int(os.environ.get("FASTMLP_FUZZ_EXAMPLES", 150))
# The deadline only catches hangs: a load takes milliseconds.
FUZZ = settings(max_examples=EXAMPLES, deadline=10_000, derandomize=EXAMPLES <= 500,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

ALLOWED = (ValueError, OSError)


def _models():
    rs = np.random.RandomState(0)
    X = rs.randn(40, 5)
    y = np.arange(40) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, early_stopping=True,
                            random_state=0).fit(X, np.array(["a", "b", "c"])[y])
        yield MLPRegressor(hidden_layer_sizes=(3, 2), solver="sgd", max_iter=2, random_state=0,
                           dtype="float64").fit(X, X[:, :2])
        yield MLP(hidden_layer_sizes=(3,), max_iter=1, dropout=0.1, random_state=0).partial_fit(
            X, np.c_[y == 0, y == 1].astype(int))
        yield MLPClassifier(hidden_layer_sizes=(2,))  # unfitted


def _saved_bytes():
    out = []
    for i, model in enumerate(_models()):
        buf = io.BytesIO()
        # save() wants a path: write through a temporary file once, at import.
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, f"m{i}.fmlp")
            fastmlp.save(model, path)
            with open(path, "rb") as f:
                buf.write(f.read())
        out.append(buf.getvalue())
    return out


GOOD = _saved_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info, zf.read(info.filename)) for info in zf.infolist()]


def _zip(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _check_outcome(path):
    """Load path; a clean refusal returns None, a loaded model must work on its own width."""
    try:
        model = fastmlp.load(path)
    except ALLOWED:
        return None
    assert isinstance(model, (MLP, MLPClassifier, MLPRegressor))
    if model.__sklearn_is_fitted__():
        n = model.n_features_in_
        X = np.linspace(-1, 1, 3 * n).reshape(3, n)
        try:
            out = model.predict(X)
        except ValueError:  # e.g. outputs that overflow: refused with a message, not returned
            return model
        assert len(out) == 3
    return model


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_load") / "model.fmlp"


def test_unmodified_files_load(fuzz_file):
    """The baseline the mutations start from really loads (else the fuzz proves nothing)."""
    for data in GOOD:
        fuzz_file.write_bytes(data)
        assert _check_outcome(fuzz_file) is not None


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(fuzz_file, data):
    for payload in (data, b"PK\x03\x04" + data):
        fuzz_file.write_bytes(payload)
        assert _check_outcome(fuzz_file) is None


@FUZZ
@given(which=st.integers(0, len(GOOD) - 1), cut=st.integers(0, 1 << 20))
def test_truncated(fuzz_file, which, cut):
    data = GOOD[which]
    cut %= len(data)
    fuzz_file.write_bytes(data[:cut])
    assert _check_outcome(fuzz_file) is None


@FUZZ
@given(which=st.integers(0, len(GOOD) - 1),
       flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 7)), min_size=1,
                      max_size=8))
def test_bit_flips(fuzz_file, which, flips):
    data = bytearray(GOOD[which])
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    fuzz_file.write_bytes(bytes(data))
    _check_outcome(fuzz_file)


@FUZZ
@given(which=st.integers(0, len(GOOD) - 1), data=st.data(),
       compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                    zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
def test_random_members(fuzz_file, which, data, compression):
    """Members replaced by random bytes, dropped, duplicated or added, in any compression."""
    members = [(info.filename, raw) for info, raw in _members(GOOD[which])]
    names = [n for n, _ in members] + ["arrays/extra.npy", "../evil", "header.json"]
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["replace", "drop", "add", "npy"]))
        if action == "drop" and members:
            members.pop(data.draw(st.integers(0, len(members) - 1)))
        elif action == "add":
            members.append((data.draw(st.sampled_from(names)), data.draw(st.binary(max_size=300))))
        elif members:
            i = data.draw(st.integers(0, len(members) - 1))
            if action == "replace":
                payload = data.draw(st.binary(max_size=300))
            else:  # a well-formed .npy of another dtype or shape
                dtype = data.draw(st.sampled_from(["<f4", "<f8", "<i8", "|u1", "<U3", "|b1",
                                                   "<c8", ">f8"]))
                shape = tuple(data.draw(st.lists(st.integers(0, 4), max_size=3)))
                buf = io.BytesIO()
                np.save(buf, np.zeros(shape, dtype=dtype), allow_pickle=False)
                payload = buf.getvalue()
            members[i] = (members[i][0], payload)
    fuzz_file.write_bytes(_zip(members, compression))
    _check_outcome(fuzz_file)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)


def _paths(node, prefix=()):
    """Every path (tuple of keys/indices) into a JSON tree, the root included."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(tree, path, value):
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


@FUZZ
@given(which=st.integers(0, len(GOOD) - 1), data=st.data())
def test_header_mutations(fuzz_file, which, data):
    """header.json edited at random places (values swapped for random JSON, keys dropped,
    numbers nudged); the rest of the archive intact."""
    members = [(info.filename, raw) for info, raw in _members(GOOD[which])]
    header = json.loads(dict(members)["header.json"])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(header))
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["value", "drop", "nudge"]))
        if action == "drop" and path:
            parent = header
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
            continue
        old = header
        for key in path:
            old = old[key]
        if action == "nudge" and isinstance(old, (int, float)) and not isinstance(old, bool):
            new = old + data.draw(st.sampled_from([-1, 1, 10**9, -10**9, 0.5]))
        else:
            new = data.draw(JSON_VALUES)
        header = _set(header, path, new)
    text = json.dumps(header)
    members = [(n, text.encode() if n == "header.json" else raw) for n, raw in members]
    fuzz_file.write_bytes(_zip(members))
    _check_outcome(fuzz_file)


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,                        # nesting deeper than the recursion limit
    '{"format": "fastmlp-model", "format_version": 1, "class": "MLP", "params": '
    + '{"__tuple__": ' * 50_000 + "[]" + "}" * 50_000 + ', "fitted": false, "arrays": {}}',
    "\ud800",                                           # a lone surrogate
], ids=["deep-list", "deep-tuple-param", "lone-surrogate"])
def test_pathological_headers(fuzz_file, text):
    fuzz_file.write_bytes(_zip([("header.json", text.encode("utf-8", "surrogatepass"))]))
    with pytest.raises(ValueError, match="cannot load"):
        fastmlp.load(fuzz_file)


def _with_header(data, change, replace=None):
    members = [(info.filename, raw) for info, raw in _members(data)]
    header = json.loads(dict(members)["header.json"])
    change(header)
    out = []
    for name, raw in members:
        if name == "header.json":
            raw = json.dumps(header).encode()
        if replace and name in replace:
            raw = replace[name]
        out.append((name, raw))
    return _zip(out)


def _npy_header_only(dtype, shape):
    """A .npy whose header declares `shape` but which holds no data at all."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def test_huge_declared_array_is_refused_without_allocating(fuzz_file):
    """A .npy header (and the index) may claim any shape: the reader must check the claim
    against the bytes the member really holds before allocating (else MemoryError)."""
    shape = (1 << 40,)

    def claim(h):
        h["arrays"]["params"]["shape"] = list(shape)
    fuzz_file.write_bytes(_with_header(GOOD[0], claim, {
        "arrays/params.npy": _npy_header_only("<f4", shape)}))
    with pytest.raises(ValueError, match="cannot load"):
        fastmlp.load(fuzz_file)


def test_huge_layer_sizes_are_refused_without_allocating(fuzz_file):
    """Layer sizes that do not match the stored parameters are refused before the network
    is built (a network of 2**21 x 2**21 weights, 16 TiB, would not fit in memory)."""
    def grow(h):
        h["state"]["_engine_config"]["layer_sizes"] = [1 << 21, 1 << 21, 3]
    fuzz_file.write_bytes(_with_header(GOOD[0], grow))
    with pytest.raises(ValueError, match="cannot load"):
        fastmlp.load(fuzz_file)


@pytest.mark.parametrize("field,value", [("n_features_in_", 2), ("n_features_in_", 50),
                                         ("n_outputs_", 7), ("n_layers_", 9)])
def test_state_inconsistent_with_the_network_is_refused(fuzz_file, field, value):
    """n_features_in_ decides which X predict accepts; if it disagreed with the network's
    input width, the C forward pass would read past the end of X."""
    def edit(h):
        h["state"][field] = value
    fuzz_file.write_bytes(_with_header(GOOD[1], edit))
    with pytest.raises(ValueError, match=f"cannot load.*{field}"):
        fastmlp.load(fuzz_file)


def test_classes_inconsistent_with_the_outputs_are_refused(fuzz_file):
    buf = io.BytesIO()
    np.save(buf, np.array(["a", "b"]), allow_pickle=False)

    def edit(h):
        h["arrays"]["classes"]["shape"] = [2]
    fuzz_file.write_bytes(_with_header(GOOD[0], edit, {"arrays/classes.npy": buf.getvalue()}))
    with pytest.raises(ValueError, match="cannot load.*classes"):
        fastmlp.load(fuzz_file)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                         zipfile.ZIP_LZMA])
def test_corrupt_compressed_member_is_a_value_error(fuzz_file, compression):
    """Damaged compressed data raises zlib.error / OSError / LZMAError inside zipfile; a
    model file must report all of them as a corrupted file."""
    members = [(info.filename, raw) for info, raw in _members(GOOD[0])]
    data = bytearray(_zip(members, compression))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("header.json")
    start = info.header_offset + 30 + len(info.filename)
    for i in range(start, start + min(info.compress_size, 40)):
        data[i] ^= 0x5A
    fuzz_file.write_bytes(bytes(data))
    with pytest.raises(ALLOWED):
        fastmlp.load(fuzz_file)


def test_unknown_compression_method_is_a_value_error(fuzz_file):
    data = bytearray(_zip([(info.filename, raw) for info, raw in _members(GOOD[3])]))
    # the compression method field of the first local header and of its central entry
    data[8] = 99
    central = data.rfind(b"PK\x01\x02")
    data[central + 10] = 99
    fuzz_file.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cannot load"):
        fastmlp.load(fuzz_file)


def test_encrypted_member_and_newer_zip_version_are_value_errors(fuzz_file):
    """Two corner cases bit flips reach: the 'encrypted' flag (zipfile then raises
    RuntimeError, password required) and a 'version needed' zipfile does not implement
    (NotImplementedError)."""
    good = _zip([(info.filename, raw) for info, raw in _members(GOOD[3])])
    central = good.rfind(b"PK\x01\x02")
    encrypted = bytearray(good)
    encrypted[6] |= 1               # general purpose flag, local header
    encrypted[central + 8] |= 1     # and central directory entry
    newer = bytearray(good)
    newer[central + 6] = 84         # "version needed to extract": 8.4
    for data in (encrypted, newer):
        fuzz_file.write_bytes(bytes(data))
        with pytest.raises(ValueError, match="cannot load"):
            fastmlp.load(fuzz_file)


def test_member_shorter_than_its_directory_entry_is_a_value_error(fuzz_file):
    """A bit flip in a local header's name length (found by the long fuzz run) makes
    zipfile read past the member's data and raise EOFError."""
    data = bytearray(GOOD[0])
    data[29] ^= 1 << 4
    fuzz_file.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cannot load"):
        fastmlp.load(fuzz_file)
