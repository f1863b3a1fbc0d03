"""standardize=True: the learned input scaler, applied everywhere and saved with the model.
It does not re-test the training maths: a standardized fit must equal a plain fit on scaled data."""
import pickle

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, MLPClassifier, MLPRegressor
from fastmlp.datasets import load_digits

pytestmark = pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # fixed epoch budgets


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    # an offset and spread per feature that plain training would not like
    rng = np.random.RandomState(0)
    X = X * rng.uniform(0.5, 50, X.shape[1]) + rng.uniform(-1000, 1000, X.shape[1])
    return X, y


def manual(X, mean, scale):
    return (np.asarray(X, dtype=np.float64) - mean) / scale


def assert_same_weights(a, b):
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)


def test_statistics_are_the_population_mean_and_std(digits):
    X, y = digits
    model = MLPClassifier((8,), max_iter=2, random_state=0, standardize=True).fit(X, y)
    np.testing.assert_allclose(model.scaler_mean_, X.mean(axis=0), rtol=1e-12, atol=1e-9)
    std = X.std(axis=0)  # ddof=0
    expected = np.where(X.min(axis=0) == X.max(axis=0), 1.0, std)
    np.testing.assert_allclose(model.scaler_scale_, expected, rtol=1e-12)
    assert model.scaler_mean_.dtype == model.scaler_scale_.dtype == np.float64
    # the digits have constant (always blank) pixels: they are centred, not divided by ~0
    assert (X.min(axis=0) == X.max(axis=0)).any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, MLP])
def test_equals_a_plain_fit_on_standardized_data(digits, cls, dtype):
    X, y = digits
    target = y.astype(np.float64) if cls is MLPRegressor else y
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=3, dtype=dtype)
    ours = cls(standardize=True, **params).fit(X, target)
    Xs = manual(X, ours.scaler_mean_, ours.scaler_scale_)
    plain = cls(**params).fit(Xs, target)
    assert_same_weights(ours, plain)
    assert ours.loss_curve_ == plain.loss_curve_
    np.testing.assert_array_equal(ours.predict(X), plain.predict(Xs))
    assert ours.score(X, target) == plain.score(Xs, target)
    if cls is not MLPRegressor:
        rtol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(ours.predict_proba(X), plain.predict_proba(Xs), rtol=rtol,
                                   atol=1e-7)
    assert not hasattr(plain, "scaler_mean_")


def test_predict_in_blocks_equals_one_scaled_copy():
    # more rows than one scaling block (512 KiB of float64 -> 218 rows of 300 features)
    rng = np.random.RandomState(1)
    X = rng.normal(5, 3, (1500, 300)) * rng.uniform(0.1, 10, 300)
    y = (X[:, 0] + X[:, 1] > X[:, 0].mean() + X[:, 1].mean()).astype(int)
    model = MLPClassifier((7,), max_iter=3, random_state=0, standardize=True,
                          dtype="float64").fit(X, y)
    Xs = manual(X, model.scaler_mean_, model.scaler_scale_)
    expected = model._engine.forward(np.ascontiguousarray(Xs))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expected[:, 0], rtol=1e-12)
    # one row at a time gives the same
    np.testing.assert_allclose(model.predict_proba(X[:1]), model.predict_proba(X)[:1], rtol=1e-12)


def test_float64_features_keep_their_precision_under_float32(digits):
    # a float64 feature 1e7 + small variation: rounding it to float32 before taking the mean
    # away would leave only a few distinct values
    rng = np.random.RandomState(0)
    x = 1e7 + rng.normal(0, 0.05, 400)
    X = np.column_stack([x, rng.normal(size=400)])
    y = (x > 1e7).astype(int)
    model = MLPClassifier((16,), max_iter=200, learning_rate_init=0.01, random_state=0,
                          standardize=True, dtype="float32").fit(X, y)
    np.testing.assert_allclose(model.scaler_mean_[0], x.mean(), rtol=1e-15)
    assert model.score(X, y) > 0.95
    # without scaling, float32 sees x as a few values around 1e7 and learns nothing useful
    assert len(np.unique(x.astype(np.float32))) < 10


def test_save_load_and_pickle_predict_on_raw_inputs(digits, tmp_path):
    X, y = digits
    model = MLPClassifier((16,), max_iter=5, random_state=0, standardize=True).fit(X, y)
    path = tmp_path / "m.fmlp"
    fastmlp.save(model, path)
    loaded = fastmlp.load(path)
    assert loaded.standardize is True
    np.testing.assert_array_equal(loaded.scaler_mean_, model.scaler_mean_)
    np.testing.assert_array_equal(loaded.scaler_scale_, model.scaler_scale_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    # and a model without a scaler still saves and loads without one
    plain = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    fastmlp.save(plain, tmp_path / "p.fmlp")
    assert not hasattr(fastmlp.load(tmp_path / "p.fmlp"), "scaler_mean_")


def test_a_damaged_scaler_in_a_file_is_refused(digits, tmp_path):
    import io
    import json
    import zipfile

    X, y = digits
    model = MLPClassifier((4,), max_iter=2, random_state=0, standardize=True).fit(X, y)
    path = tmp_path / "m.fmlp"
    fastmlp.save(model, path)
    bad = tmp_path / "bad.fmlp"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "arrays/scaler_scale.npy":
                buf = io.BytesIO()
                np.save(buf, np.zeros(X.shape[1]))
                data = buf.getvalue()
            dst.writestr(name, data)
        json.loads(src.read("header.json"))
    with pytest.raises(ValueError, match="positive scales"):
        fastmlp.load(bad)


def test_continuing_keeps_the_statistics(digits):
    X, y = digits
    model = MLPClassifier((8,), max_iter=2, random_state=0, standardize=True).fit(X, y)
    mean, scale = model.scaler_mean_.copy(), model.scaler_scale_.copy()
    model.set_params(warm_start=True).fit(X[:300] * 2, y[:300])
    np.testing.assert_array_equal(model.scaler_mean_, mean)
    np.testing.assert_array_equal(model.scaler_scale_, scale)
    # partial_fit: the first call's rows set them
    inc = MLPClassifier((8,), random_state=0, standardize=True)
    inc.partial_fit(X[:500], y[:500], classes=np.arange(10))
    first = inc.scaler_mean_.copy()
    inc.partial_fit(X[500:], y[500:])
    np.testing.assert_array_equal(inc.scaler_mean_, first)
    np.testing.assert_allclose(first, X[:500].mean(axis=0), rtol=1e-12, atol=1e-9)
    # a fresh fit learns new statistics and forgets old ones
    model.set_params(warm_start=False, standardize=False).fit(X, y)
    assert not hasattr(model, "scaler_mean_")


def test_standardize_cannot_change_on_warm_start(digits):
    X, y = digits
    model = MLPClassifier((8,), max_iter=2, random_state=0, standardize=True).fit(X, y)
    before = model.predict_proba(X)
    with pytest.raises(ValueError, match="standardize changed from True to False"):
        model.set_params(warm_start=True, standardize=False).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), before)
    with pytest.raises(ValueError, match="standardize changed from True to False"):
        model.partial_fit(X, y)


def test_validation_sets_are_scaled_too(digits):
    X, y = digits
    Xt, yt, Xv, yv = X[:1400], y[:1400], X[1400:], y[1400:]
    model = MLPClassifier((16,), max_iter=4, random_state=0, standardize=True)
    model.fit(Xt, yt, validation_data=(Xv, yv))
    assert model.validation_scores_[-1] == pytest.approx(model.score(Xv, yv), abs=1e-12)
    # the early-stopping hold-out is scaled with the rest: the same curve as on scaled data
    params = dict(hidden_layer_sizes=(16,), max_iter=6, random_state=0, early_stopping=True,
                  learning_rate_init=0.01)
    early = MLPClassifier(standardize=True, **params).fit(X, y)
    plain = MLPClassifier(**params).fit(manual(X, early.scaler_mean_, early.scaler_scale_), y)
    assert early.validation_scores_ == plain.validation_scores_
    assert early.best_validation_score_ > 0.9


def test_sample_weight_equals_repeated_rows(digits):
    X, y = digits
    X, y = X[:300], y[:300]
    w = np.random.RandomState(0).randint(0, 4, len(y))
    weighted = MLPClassifier((4,), max_iter=1, random_state=0, standardize=True,
                             dtype="float64").fit(X, y, sample_weight=w)
    repeated = MLPClassifier((4,), max_iter=1, random_state=0, standardize=True,
                             dtype="float64").fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.scaler_mean_, repeated.scaler_mean_, rtol=1e-12,
                               atol=1e-9)
    np.testing.assert_allclose(weighted.scaler_scale_, repeated.scaler_scale_, rtol=1e-10)


def test_sparse_input_is_refused_with_the_reason(digits):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = digits
    with pytest.raises(TypeError, match="standardize=True needs dense X"):
        MLPClassifier(standardize=True, max_iter=1).fit(sparse.csr_matrix(X), y)
    model = MLPClassifier((4,), max_iter=1, random_state=0, standardize=True).fit(X, y)
    with pytest.raises(TypeError, match="X.toarray()"):
        model.predict(sparse.csr_matrix(X))


def test_the_serving_path_scales_too(digits):
    # a plain float32 C-contiguous array takes the one-call serving path when there is no
    # scaler; with one, predict must not skip the scaling
    X, y = digits
    model = MLPClassifier((16,), max_iter=5, random_state=0, standardize=True).fit(X, y)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    Xs = manual(X32, model.scaler_mean_, model.scaler_scale_)
    expected = model._engine.forward(np.ascontiguousarray(Xs, dtype=np.float32))
    np.testing.assert_allclose(model.predict_proba(X32), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.predict(X32), model.classes_[expected.argmax(1)])


def test_bad_values_are_refused(digits):
    X, y = digits
    with pytest.raises((TypeError, ValueError), match="standardize"):
        MLPClassifier(standardize="yes").fit(X, y)
    model = MLPClassifier((4,), max_iter=1, random_state=0, standardize=True).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :10])
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.predict(np.full_like(X[:2], np.nan))


sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([MLPClassifier(standardize=True, dtype="float64"),
                          MLPRegressor(standardize=True, dtype="float64")])
def test_check_estimator_with_standardize(estimator, check):
    check(estimator)
