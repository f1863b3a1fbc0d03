"""fastmlp.save / load and pickle: round trips, exact continuation, refused files, atomic writes.
It deliberately leaves the estimators' maths to test_estimators.py; only storage is tested here.
"""
import io
import json
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning")


def blobs(n=120, seed=0):
    rs = np.random.RandomState(seed)
    y = np.arange(n) % 3
    return rs.randn(3, 5)[y] * 3 + rs.randn(n, 5), y


def params_equal(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)


def fitted_models():
    X, y = blobs()
    labels = np.array(["ant", "bee", "cat"])[y]
    yield "classifier-strings", MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=4, dropout=0.1,
                                              random_state=0).fit(X, labels), X, labels
    yield "classifier-object-labels", MLPClassifier(hidden_layer_sizes=(6,), max_iter=3,
                                                    random_state=0).fit(
        X, labels.astype(object)), X, labels
    yield "classifier-early-stopping", MLPClassifier(hidden_layer_sizes=(6,), max_iter=6,
                                                     early_stopping=True, random_state=0,
                                                     class_weight={0: 2.0}).fit(X, y), X, y
    yield "multilabel", MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0).fit(
        X, np.c_[y == 0, y == 2].astype(np.int64)), X, None
    yield "regressor-2-outputs-sgd", MLPRegressor(hidden_layer_sizes=(6,), max_iter=3,
                                                  solver="sgd", learning_rate_init=0.01,
                                                  random_state=0, dtype="float64").fit(
        X, np.c_[X[:, 0], X[:, 1] ** 2]), X, None
    yield "regressor-lbfgs", MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, solver="lbfgs",
                                          random_state=0).fit(X, X[:, 0]), X, None
    yield "mlp-regression", MLP(hidden_layer_sizes=(6,), max_iter=3, random_state=0).fit(
        X, X[:, 0] * 2.0), X, None
    partial = MLPClassifier(hidden_layer_sizes=(6,), early_stopping=True, random_state=0)
    yield "partial-fit-with-validation", partial.partial_fit(X, y, classes=[0, 1, 2]), X, y


with warnings.catch_warnings():  # built at collection time, outside pytest's filters
    warnings.simplefilter("ignore", fastmlp.ConvergenceWarning)
    FITTED = list(fitted_models())


@pytest.mark.parametrize("name,model,X,y", FITTED, ids=[f[0] for f in FITTED])
def test_round_trip_keeps_everything(tmp_path, name, model, X, y):
    path = tmp_path / "model.fmlp"
    fastmlp.save(model, path)
    loaded = fastmlp.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    params_equal(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if hasattr(model, "predict_proba") and model._spec["task"] == "classification":
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
    for attr in ("n_iter_", "t_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_", "validation_loss_curve_", "n_features_in_",
                 "n_outputs_", "n_layers_", "out_activation_", "stop_training_"):
        assert getattr(loaded, attr) == getattr(model, attr), attr
    state_a, state_b = model._engine.get_state(), loaded._engine.get_state()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key])
    if y is not None:
        assert loaded.score(X, y) == model.score(X, y)
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
        for member in zf.namelist():
            if member.endswith(".npy"):
                a = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
                assert a.dtype.kind != "O"
    assert header["format"] == "fastmlp-model" and header["format_version"] == 1
    assert header["class"] == type(model).__name__


def test_unfitted_model_round_trip(tmp_path):
    model = MLPClassifier(hidden_layer_sizes=(3, 2), class_weight={"a": 2.0, 1: 0.5},
                          dtype=np.float64, n_iter_no_change=np.inf)
    fastmlp.save(model, tmp_path / "m.fmlp")
    loaded = fastmlp.load(tmp_path / "m.fmlp")
    assert loaded.hidden_layer_sizes == (3, 2) and loaded.class_weight == {"a": 2.0, 1: 0.5}
    assert loaded.dtype == "float64" and loaded.n_iter_no_change == np.inf
    assert not loaded.__sklearn_is_fitted__()


def test_feature_names_survive(tmp_path):
    class Frame:
        def __init__(self, data, columns):
            self._data, self.columns = np.asarray(data), list(columns)

        def __array__(self, dtype=None, copy=None):
            return self._data

    X, y = blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        Frame(X, list("abcde")), y)
    fastmlp.save(model, tmp_path / "m.fmlp")
    loaded = fastmlp.load(tmp_path / "m.fmlp")
    assert loaded.feature_names_in_.dtype == object
    np.testing.assert_array_equal(loaded.feature_names_in_, list("abcde"))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_five_epochs_save_load_five_more_equals_ten(tmp_path, how):
    X, y = blobs(150)
    kw = dict(hidden_layer_sizes=(10, 6), dropout=0.2, batch_size=20, random_state=7,
              learning_rate_init=0.01)
    if how == "warm_start":
        # fit shuffles from random_state afresh on every call (scikit-learn's
        # stream), so the continuation is exact in X's order.
        kw["shuffle"] = False
        ten = MLPClassifier(max_iter=10, **kw).fit(X, y)
        five = MLPClassifier(max_iter=5, **kw).fit(X, y)
        fastmlp.save(five, tmp_path / "five.fmlp")
        resumed = fastmlp.load(tmp_path / "five.fmlp").set_params(warm_start=True).fit(X, y)
    else:
        ten, five = MLPClassifier(**kw), MLPClassifier(**kw)
        for _ in range(10):
            ten.partial_fit(X, y, classes=[0, 1, 2])
        for _ in range(5):
            five.partial_fit(X, y, classes=[0, 1, 2])
        fastmlp.save(five, tmp_path / "five.fmlp")
        resumed = fastmlp.load(tmp_path / "five.fmlp")
        for _ in range(5):
            resumed.partial_fit(X, y)
    params_equal(ten, resumed)
    assert resumed.loss_curve_ == ten.loss_curve_ and resumed.n_iter_ == 10


def test_pickle_round_trip_is_small_and_continues(tmp_path):
    X, y = blobs(150)
    kw = dict(hidden_layer_sizes=(10,), batch_size=20, random_state=1, solver="sgd",
              learning_rate_init=0.05)
    model = MLPClassifier(max_iter=3, **kw).fit(X, y)
    blob = pickle.dumps(model)
    twin = pickle.loads(blob)
    np.testing.assert_array_equal(twin.predict_proba(X), model.predict_proba(X))
    params_bytes = model._engine.params.nbytes
    # weights + velocity + a few hundred bytes of attributes; no workspace, no copies of X
    assert len(blob) < 2 * params_bytes + 4000, len(blob)
    model.set_params(warm_start=True).fit(X, y)
    twin.set_params(warm_start=True).fit(X, y)
    params_equal(model, twin)
    assert np.shares_memory(twin.coefs_[0], twin._engine.params)


# ---- refused files ---------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    X, y = blobs()
    path = tmp_path / "good.fmlp"
    fastmlp.save(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y),
                 path)
    return path


def rewrite(src, dst, header_change=None, drop=None, replace=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == drop:
                continue
            if name == "header.json" and header_change:
                header = json.loads(data)
                header_change(header)
                data = json.dumps(header).encode()
            if replace and name in replace:
                data = replace[name]
            zout.writestr(name, data)


def _npy(a, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_truncated_file_is_refused(saved, tmp_path):
    data = saved.read_bytes()
    bad = tmp_path / "truncated.fmlp"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"cannot load {bad}.*truncated or corrupted"):
        fastmlp.load(bad)


def test_corrupted_array_bytes_are_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("arrays/params.npy")
    # flip a byte in the middle of the stored params member (its CRC no longer matches)
    offset = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[offset] ^= 0xFF
    bad = tmp_path / "flipped.fmlp"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"cannot load {bad}.*corrupted"):
        fastmlp.load(bad)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a fastmlp model file"):
        fastmlp.load(text)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.arange(3))
    with pytest.raises(ValueError, match="no header.json"):
        fastmlp.load(npz)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("header.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="format 'something-else' instead of 'fastmlp-model'"):
        fastmlp.load(other)
    with pytest.raises(FileNotFoundError):
        fastmlp.load(tmp_path / "missing.fmlp")


def test_newer_format_version_is_refused(saved, tmp_path):
    bad = tmp_path / "future.fmlp"
    rewrite(saved, bad, header_change=lambda h: h.update(format_version=2))
    with pytest.raises(ValueError, match="format version 2.*reads up to version 1; upgrade"):
        fastmlp.load(bad)


@pytest.mark.parametrize("case", ["missing-array", "shape-mismatch", "unknown-class",
                                  "pickled-array", "bad-json", "bad-param", "bad-state"])
def test_inconsistent_or_hostile_content_is_refused(saved, tmp_path, case):
    bad = tmp_path / f"{case}.fmlp"
    if case == "missing-array":
        rewrite(saved, bad, drop="arrays/params.npy")
        match = "'params' listed in header.json is missing"
    elif case == "shape-mismatch":
        rewrite(saved, bad, replace={"arrays/params.npy": _npy(np.zeros(3, np.float32))})
        match = "'params' has dtype <f4 and shape \\[3\\]"
    elif case == "unknown-class":
        rewrite(saved, bad, header_change=lambda h: h.update({"class": "os.system"}))
        match = "unknown model class 'os.system'"
    elif case == "pickled-array":
        evil = np.array([{"x": 1}], dtype=object)

        def point_at_pickle(h):
            h["arrays"]["classes"] = {"dtype": "|O", "shape": [1]}
        rewrite(saved, bad, header_change=point_at_pickle,
                replace={"arrays/classes.npy": _npy(evil, allow_pickle=True)})
        match = "'classes' holds Python objects"
    elif case == "bad-json":
        rewrite(saved, bad, replace={"header.json": b"{not json"})
        match = "header.json is not valid JSON"
    elif case == "bad-param":
        rewrite(saved, bad, header_change=lambda h: h["params"].update(bogus=1))
        match = "corrupted or inconsistent"
    else:
        rewrite(saved, bad, header_change=lambda h: h["state"].pop("_spec"))
        match = "corrupted or inconsistent"
    with pytest.raises(ValueError, match=match):
        fastmlp.load(bad)


@pytest.mark.parametrize("path, value, match", [
    (("loss_curve_",), None, "loss_curve_ is not a list of numbers"),
    (("n_iter_",), None, "n_iter_ is None, not an integer"),
    (("_seed",), None, "_seed is None, not an integer"),
    (("t_",), -1, "t_ is -1, not an integer >= 0"),
    (("stop_training_",), 0, "stop_training_ is 0, not true or false"),
    (("engine_state", "solver"), None, "engine_state.solver is not one of"),
    (("engine_state", "learning_rate"), "fast", "engine_state.learning_rate is 'fast'"),
    (("engine_state", "step"), 1.5, "engine_state.step is 1.5"),
])
def test_a_header_edited_to_wrong_scalar_types_is_refused_at_load(saved, tmp_path, path, value,
                                                                  match):
    """Such files used to load and fail later (partial_fit, warm fit) with raw errors."""
    bad = tmp_path / "edited.fmlp"

    def edit(h):
        node = h["state"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    rewrite(saved, bad, header_change=edit)
    with pytest.raises(ValueError, match=match + ".*the saved state is inconsistent"):
        fastmlp.load(bad)


def test_save_is_atomic(tmp_path, monkeypatch):
    X, y = blobs()
    path = tmp_path / "model.fmlp"
    first = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    fastmlp.save(first, path)
    before = path.read_bytes()
    second = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=1).fit(X, y)

    def failing_save(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(fastmlp.io.np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        fastmlp.save(second, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.fmlp"]  # no temporary file left behind


def test_save_refuses_other_objects(tmp_path):
    with pytest.raises(TypeError, match="save\\(\\) stores fastmlp estimators"):
        fastmlp.save(object(), tmp_path / "x.fmlp")
    with pytest.raises(TypeError, match="cannot save parameter random_state"):
        fastmlp.save(MLPClassifier(random_state=object()), tmp_path / "x.fmlp")


# ---- crashes during save ---------------------------------------------------------------------

def _big_model():
    """About 4 MB of parameters: a save takes long enough to be caught half-way."""
    X, y = blobs()
    return MLPClassifier(hidden_layer_sizes=(1000, 1000), max_iter=1, random_state=0).fit(X, y)


@pytest.mark.parametrize("failure", ["OSError", "KeyboardInterrupt", "replace-fails"])
def test_a_save_that_fails_half_way_leaves_the_old_file_and_no_litter(tmp_path, monkeypatch,
                                                                      failure):
    X, y = blobs()
    path = tmp_path / "model.fmlp"
    fastmlp.save(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y),
                 path)
    before = path.read_bytes()
    model = _big_model()
    exc = KeyboardInterrupt if failure == "KeyboardInterrupt" else OSError
    if failure == "replace-fails":
        def broken_replace(src, dst):
            raise OSError("rename failed")
        monkeypatch.setattr(fastmlp.io.os, "replace", broken_replace)
    else:
        real_save, calls = np.save, []

        def save_then_fail(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:  # header and two arrays are in the temporary file by now
                raise exc("interrupted half-way")
            return real_save(*args, **kwargs)
        monkeypatch.setattr(fastmlp.io.np, "save", save_then_fail)
    with pytest.raises(exc):
        fastmlp.save(model, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.fmlp"]
    fastmlp.load(path)


KILLED_SAVER = """
import os, sys, warnings
import numpy as np
import fastmlp
from fastmlp import MLPClassifier
path = sys.argv[1]
rs = np.random.RandomState(0)
X = rs.randn(60, 5)
y = np.arange(60) % 3
warnings.simplefilter("ignore")
model = MLPClassifier(hidden_layer_sizes=(600, 600), max_iter=1, random_state=0).fit(X, y)
print("ready", flush=True)
i = 0
while True:  # save over and over until killed
    model.set_params(alpha=float(i))
    fastmlp.save(model, path)
    i += 1
"""


def test_killing_the_process_during_save_never_leaves_a_partial_model(tmp_path):
    """SIGKILL at arbitrary moments of repeated saves: the path always holds a complete
    model (the old or a new one). A killed process cannot clean up, so its hidden
    .fastmlp-*.tmp file may remain, but never under the model's name."""
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    path = tmp_path / "model.fmlp"
    X, y = blobs()
    fastmlp.save(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y),
                 path)
    mid_save = kills = 0
    while kills < 2 or (mid_save == 0 and kills < 8):
        kills += 1
        proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(path)],
                                stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.11 * kills)  # where the kill lands; any moment is a valid test
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        model = fastmlp.load(path)  # complete: loads, and predicts
        assert model.predict(X[:, :model.n_features_in_]).shape == (len(X),)
        others = set(os.listdir(tmp_path)) - {"model.fmlp"}
        assert all(n.startswith(".fastmlp-") and n.endswith(".tmp") for n in others), others
        mid_save += len(others)
        for name in others:
            os.unlink(tmp_path / name)
    # a left temporary file shows a kill landed inside a save: the case that matters
    assert mid_save >= 1


def test_numpy_integer_hyperparameters_save(tmp_path):
    """n_threads=np.int64(2) used to reach the engine config as a NumPy int
    and fail to save ("int64 is not JSON serializable")."""
    X, y = blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                          n_threads=np.int64(2)).fit(X, y)
    path = tmp_path / "np_int.fmlp"
    fastmlp.save(model, path)
    np.testing.assert_array_equal(fastmlp.load(path).predict_proba(X), model.predict_proba(X))
