"""Threads: the process-wide setting, and results that do not depend on the
thread count (GEMM splits and whole training runs are bitwise identical)."""
import numpy as np
import pytest

import fastmlp
from fastmlp import kernels
from fastmlp._engine import make_engine


@pytest.fixture
def restore_threads():
    before = fastmlp.get_num_threads()
    yield
    fastmlp.set_num_threads(None)
    assert fastmlp.get_num_threads() >= 1
    del before


def test_set_num_threads_and_validation(restore_threads):
    fastmlp.set_num_threads(1)
    assert fastmlp.get_num_threads() == 1
    fastmlp.set_num_threads(None)
    assert fastmlp.get_num_threads() >= 1
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="non-negative integer"):
            fastmlp.set_num_threads(bad)


@pytest.mark.parametrize("shape", [(300, 784, 500), (128, 1024, 96), (1, 784, 800), (777, 33, 260)])
@pytest.mark.parametrize("trans", [(False, True), (False, False), (True, False)],
                         ids=["fwd", "dX", "dW"])
def test_gemm_is_bitwise_equal_for_any_thread_count(shape, trans, dtype):
    m, k, n = shape
    ta, tb = trans
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    one = kernels.gemm(a, b, trans_a=ta, trans_b=tb, n_threads=1)
    for nt in (2, 3, 8):
        np.testing.assert_array_equal(kernels.gemm(a, b, trans_a=ta, trans_b=tb, n_threads=nt), one)
    ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
    np.testing.assert_allclose(one, ref, rtol=1e-3 if dtype == np.float32 else 1e-10, atol=1e-3)


def test_gemm_refuses_bad_thread_counts():
    a = np.ones((2, 2), np.float32)
    for bad in (0, -2, 1.0, True):
        with pytest.raises(ValueError, match="n_threads"):
            kernels.gemm(a, a, n_threads=bad)


@pytest.mark.parametrize("solver,momentum", [("sgd", 0.9), ("sgd", 0.0), ("adam", 0.9)],
                         ids=["momentum", "plain-sgd", "adam"])
def test_training_is_bitwise_equal_for_any_thread_count(solver, momentum):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((700, 300)).astype(np.float32)
    y = rng.integers(0, 5, size=700).astype(np.int64)
    results = []
    for nt in (1, 2, 3):
        e = make_engine((300, 256, 64, 5), hidden_activation="relu", output_activation="softmax",
                        loss="cross_entropy", dtype=np.float32, n_threads=nt, dropout=(0.2, 0.0))
        e.params[...] = np.random.default_rng(2).uniform(-0.05, 0.05, e.params.shape)
        e.set_optimizer(solver, learning_rate=0.01, momentum=momentum)
        e.seed(3)
        losses = [e.train_epoch(X, y, batch_size=128, shuffle=True, alpha=1e-4) for _ in range(2)]
        results.append((losses, e.params.copy(), e.forward(X[:50])))
    for losses, params, out in results[1:]:
        assert losses == results[0][0]
        np.testing.assert_array_equal(params, results[0][1])
        np.testing.assert_array_equal(out, results[0][2])


@pytest.mark.parametrize("n", [1, 7, 255, 256, 257, 513, 600, 1000, 1300, 2049])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prediction_is_bitwise_equal_for_any_thread_count_and_matches_reference(n, dtype):
    """Prediction cuts big inputs into row blocks that run the whole network
    on one thread each, and small ones into GEMM splits: the same bits on any
    thread count, through both the engine and the estimator's one-call
    serving path, and the reference's values."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, 60)).astype(dtype)
    sizes = (60, 300, 40, 3)
    kw = dict(hidden_activation="tanh", output_activation="softmax", loss="cross_entropy", dtype=dtype)
    init = np.random.default_rng(5).uniform(-0.2, 0.2, make_engine(sizes, **kw).params.shape)
    outs = []
    for nt in (1, 2, 3):
        e = make_engine(sizes, n_threads=nt, **kw)
        e.params[...] = init
        outs.append(e.forward(X))
        served = e._core.serve(X, False)
        np.testing.assert_array_equal(served, outs[-1])
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    r = make_engine(sizes, engine="reference", **kw)
    r.params[...] = init
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(outs[0], r.forward(X), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predictions_of_a_row_do_not_depend_on_its_batch(dtype):
    """Chunks split into equal blocks (1,000 rows: two of 500); every block has
    enough rows for the packed products, so a row gets the same bits in a batch
    of 1,000, of 600 (two blocks of 300) or of 400 (one block)."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((1000, 60)).astype(dtype)
    sizes = (60, 300, 40, 3)
    kw = dict(hidden_activation="relu", output_activation="softmax", loss="cross_entropy",
              dtype=dtype, n_threads=2)
    e = make_engine(sizes, **kw)
    e.params[...] = np.random.default_rng(5).uniform(-0.2, 0.2, e.params.shape)
    whole = e.forward(X)
    np.testing.assert_array_equal(np.vstack([e.forward(X[:600]), e.forward(X[600:])]), whole)


@pytest.mark.parametrize("n_rows", [1, 300, 1000])
@pytest.mark.parametrize("hidden", [20, 100])  # fewer / more units than the 60 features
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_serving_refuses_non_finite_inputs_wherever_they_are(n_rows, hidden, bad):
    """The serving call checks its inputs (on the rows, or on the first layer's
    products when those are fewer): any NaN or infinity, in any row of any
    block, also in a feature whose weights are all zero, sends the caller to
    the validating path (serve returns None); finite rows are served."""
    rng = np.random.default_rng(9)
    sizes = (60, hidden, 3)
    e = make_engine(sizes, hidden_activation="relu", output_activation="softmax",
                    loss="cross_entropy", dtype=np.float32, n_threads=2)
    e.params[...] = rng.uniform(-0.2, 0.2, e.params.shape)
    e.weights(0)[:, 7] = 0  # feature 7 feeds nothing
    X = rng.standard_normal((n_rows, 60)).astype(np.float32)
    assert e._core.serve(X, False) is not None
    for row, col in {(0, 0), (n_rows - 1, 59), (n_rows // 2, 7), (n_rows - 1, 7)}:
        Xb = X.copy()
        Xb[row, col] = bad
        assert e._core.serve(Xb, False) is None, (row, col)
