"""Scale-out on Dask: Incremental trains through partial_fit on worker processes, ParallelPostFit
predicts there; and the pickles Dask ships between processes are small and complete. No timing."""
import importlib.util
import logging
import pickle
import warnings

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor

MISSING = [m for m in ("dask", "distributed", "dask_ml") if importlib.util.find_spec(m) is None]
needs_dask = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed "
                                "(pip install fastmlp[dask])")

N_CLASSES, N_FEATURES, CHUNK = 3, 12, 400


def make_data(n, seed):
    """A 3-class problem a small MLP learns well but not instantly (non-linear boundary)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, N_FEATURES).astype(np.float32)
    W = np.random.RandomState(100).randn(N_FEATURES, N_CLASSES)
    y = np.argmax(np.tanh(X @ W) + 0.3 * (X[:, :N_CLASSES] ** 2), axis=1)
    return X, y


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a deliberately short fit
        return model.fit(*args, **kwargs)


# ---- pickles: what Dask sends to workers ---------------------------------------------------

N_MOMENTS = {"lbfgs": 0, "sgd": 1, "adam": 2}  # optimizer arrays shaped like the parameters


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_pickle_holds_weights_and_state_only(solver, dtype):
    """Parameters, the optimizer moments partial_fit continues from, and ~1-2 KB of attributes:
    no engine workspace, no copy of the training data, whatever the number of rows seen."""
    if solver == "lbfgs":
        pytest.importorskip("scipy", reason="solver='lbfgs' needs SciPy")
    sizes = []
    for n in (300, 3000):
        X, y = make_data(n, seed=0)
        model = quiet_fit(MLPClassifier((64, 32), solver=solver, dtype=dtype, max_iter=3,
                                        random_state=0), X, y)
        model.predict_proba(np.tile(X, (3, 1)))  # prediction must not leave anything behind
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        sizes.append(len(blob))
    params_bytes = model._engine.params.nbytes
    state_bytes = (1 + N_MOMENTS[solver]) * params_bytes
    assert state_bytes <= len(blob) <= state_bytes + 4096, (len(blob), params_bytes)
    assert sizes[0] == sizes[1]  # 10x the rows, same pickle

    twin = pickle.loads(blob)
    X, y = make_data(200, seed=1)
    np.testing.assert_array_equal(twin.predict_proba(X), model.predict_proba(X))
    for a, b in zip(twin.coefs_ + twin.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert np.shares_memory(twin.coefs_[0], twin._engine.params)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_pickle_round_trip_continues_partial_fit_exactly(solver):
    """Dask moves the model between processes after every block: the copy must continue
    bit for bit (Adam moments and step, learning rate, RNG stream)."""
    X, y = make_data(600, seed=0)
    blocks = np.array_split(np.arange(600), 4)
    kw = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0, batch_size=64)
    here, moved = MLPClassifier(**kw), MLPClassifier(**kw)
    for b in blocks:
        here.partial_fit(X[b], y[b], classes=np.arange(N_CLASSES))
        moved = pickle.loads(pickle.dumps(moved.partial_fit(X[b], y[b],
                                                            classes=np.arange(N_CLASSES))))
    for a, b in zip(here.coefs_ + here.intercepts_, moved.coefs_ + moved.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert here.loss_curve_ == moved.loss_curve_ and moved.n_iter_ == 4


# ---- a real cluster ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed (pip install fastmlp[dask])")
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.comm.timeouts.connect": "30s",
                          "distributed.scheduler.work-stealing": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        try:
            with Client(cluster, timeout="60s") as c:
                c.wait_for_workers(2, timeout=60)
                # import fastmlp (and scikit-learn) in both workers once, up front
                c.run(importlib.import_module, "fastmlp.estimators")
                yield c
        finally:
            cluster.close(timeout=30)


@needs_dask
def test_incremental_trains_on_workers_like_a_local_loop(client):
    """Incremental(MLPClassifier) over the blocks of a Dask array on 2 worker processes gives
    exactly the weights of the same partial_fit calls made locally, block by block."""
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y = make_data(2000, seed=0)
    Xd, yd = da.from_array(X, chunks=(CHUNK, N_FEATURES)), da.from_array(y, chunks=CHUNK)
    classes = np.arange(N_CLASSES)
    # n_threads=1: the same arithmetic here and in the workers, whatever cores each one sees
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0, n_threads=1)
    inc = Incremental(MLPClassifier(**kw), shuffle_blocks=False)
    local = MLPClassifier(**kw)
    for _ in range(3):  # three passes over the data
        inc.partial_fit(Xd, yd, classes=classes)
        for start in range(0, len(X), CHUNK):
            local.partial_fit(X[start:start + CHUNK], y[start:start + CHUNK], classes=classes)
    trained = inc.estimator_
    assert trained.n_iter_ == local.n_iter_ == 3 * (len(X) // CHUNK)
    for a, b in zip(trained.coefs_ + trained.intercepts_, local.coefs_ + local.intercepts_):
        np.testing.assert_array_equal(a, b)
    # the blocks were fitted in the worker processes, which imported fastmlp to do it
    assert all(client.run(lambda: __import__("sys").modules.get("fastmlp") is not None).values())


@needs_dask
def test_incremental_accuracy_matches_a_local_fit_and_parallel_predict(client):
    """Training through Incremental (shuffled blocks) and predicting through ParallelPostFit
    score like a local fit with the same number of epochs."""
    import dask.array as da
    from dask_ml.wrappers import Incremental, ParallelPostFit

    X, y = make_data(4000, seed=0)
    X_test, y_test = make_data(2000, seed=1)
    Xd, yd = da.from_array(X, chunks=(CHUNK, N_FEATURES)), da.from_array(y, chunks=CHUNK)
    Xd_test = da.from_array(X_test, chunks=(CHUNK, N_FEATURES))
    epochs = 8
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
    inc = Incremental(MLPClassifier(**kw), random_state=0)
    for _ in range(epochs):
        inc.partial_fit(Xd, yd, classes=np.arange(N_CLASSES))
    model = inc.estimator_

    served = ParallelPostFit(estimator=model)
    pred = served.predict(Xd_test)
    proba = served.predict_proba(Xd_test)
    assert isinstance(pred, da.Array) and pred.numblocks == (len(X_test) // CHUNK,)
    pred, proba = client.compute([pred, proba], sync=True)
    np.testing.assert_array_equal(pred, model.predict(X_test))
    np.testing.assert_allclose(proba, model.predict_proba(X_test), rtol=0, atol=0)

    dask_accuracy = float(np.mean(pred == y_test))
    local = quiet_fit(MLPClassifier(max_iter=epochs, **kw), X, y)
    local_accuracy = local.score(X_test, y_test)
    chance = np.bincount(y_test).max() / len(y_test)
    assert dask_accuracy > chance + 0.3, (dask_accuracy, chance)
    print(f"accuracy: Dask {dask_accuracy:.3f}, local fit {local_accuracy:.3f}, chance {chance:.3f}")
    assert abs(dask_accuracy - local_accuracy) < 0.05, (dask_accuracy, local_accuracy)
    # ParallelPostFit.fit trains locally, then predicts in parallel; so does a regressor
    fitted = ParallelPostFit(MLPRegressor(hidden_layer_sizes=(16,), max_iter=5,
                                          random_state=0))
    quiet_fit(fitted, X, X[:, 0] - X[:, 1])
    values = client.compute(fitted.predict(Xd_test), sync=True)
    np.testing.assert_array_equal(values, fitted.estimator.predict(X_test))
