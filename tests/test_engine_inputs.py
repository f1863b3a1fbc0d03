"""Values (not shapes) the C code follows or trusts, given through the importable entry points:
CSR indptr/indices, class labels, sample weights, empty inputs and thread counts.

C indexes memory with a CSR's indptr and indices and reads class labels as row offsets, so
NetCore (fastmlp/_network.pxi) scans them before every C call; each mistake must come back as
a ValueError/TypeError naming the argument, before any training step, never as a crash, an
out-of-bounds write or an 'engine status' error. Thread counts of any size are clamped to the
pool's size (64) before they reach C's int.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp
from fastmlp import _core, kernels
from fastmlp._engine import CSR, Engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def engine(dtype=np.float32, **kw):
    e = Engine((3, 4, 2), hidden_activation="relu", output_activation="softmax",
               loss="cross_entropy", dtype=dtype, **kw)
    e.seed(0)
    e.params[:] = np.random.default_rng(0).standard_normal(e.params.size).astype(dtype)
    e.set_optimizer("sgd", learning_rate=0.1)
    return e


def csr(indptr, indices, n_rows, dtype=np.float32, n_cols=3):
    indices = np.asarray(indices, dtype=np.int64)
    return CSR(np.ones(indices.size, dtype), indices, np.asarray(indptr, dtype=np.int64),
               (n_rows, n_cols))


# ---- CSR structure ---------------------------------------------------------------

def test_reported_segfault_is_a_clean_error_in_a_child_process():
    """The reproducer from the bug report, where a crash cannot take the test run down."""
    code = textwrap.dedent("""
        import numpy as np
        from fastmlp._engine import Engine, CSR
        e = Engine((3, 4, 2), hidden_activation='relu', output_activation='softmax',
                   loss='cross_entropy', dtype=np.float32)
        try:
            e.forward(CSR(np.ones(2, np.float32), np.array([0, 10**9]), np.array([0, 1, 2]), (2, 3)))
        except ValueError as exc:
            print("refused:", exc)
    """)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    assert "refused: X.indices must lie in [0, 3)" in proc.stdout
    assert "X.indices[1] = 1000000000" in proc.stdout


BAD_CSR = {
    # name: (indptr, indices, n_rows, message regex)
    "index past n_features": ([0, 1, 2], [0, 10**9], 2, r"X\.indices must lie in \[0, 3\).*"
                                                       r"X\.indices\[1\] = 1000000000"),
    "negative index": ([0, 1, 2], [-5, 1], 2, r"X\.indices must lie in \[0, 3\).*"
                                              r"X\.indices\[0\] = -5"),
    "middle indptr past nnz": ([0, 10**8, 2], [0, 1], 2, r"X\.indptr must be non-decreasing "
                                                         r"and lie in \[0, 2\].*"
                                                         r"X\.indptr\[1\] = 100000000"),
    "decreasing indptr": ([0, 2, 1, 2], [0, 1], 3, r"X\.indptr\[1\] = 2 > X\.indptr\[2\] = 1"),
    "negative indptr start": ([-1, 1, 2], [0, 1], 2, r"X\.indptr\[0\] = -1"),
    "last indptr past nnz": ([0, 1, 3], [0, 1], 2, r"X\.indptr\[2\] = 3"),
}


@pytest.mark.parametrize("case", list(BAD_CSR))
@pytest.mark.parametrize("entry", ["forward", "train_epoch", "loss", "loss_and_gradient"])
def test_engine_refuses_csr_that_c_would_follow_out_of_bounds(case, entry):
    indptr, indices, n, msg = BAD_CSR[case]
    e = engine()
    before = e.params.copy()
    X = csr(indptr, indices, n)
    y = np.zeros(n, np.int64)
    call = {"forward": lambda: e.forward(X),
            "train_epoch": lambda: e.train_epoch(X, y, batch_size=1, shuffle=False),
            "loss": lambda: e.loss(X, y),
            "loss_and_gradient": lambda: e.loss_and_gradient(X, y)}[entry]
    with pytest.raises(ValueError, match=msg):
        call()
    np.testing.assert_array_equal(e.params, before)


def test_valid_csr_still_matches_dense_including_a_row_range_of_larger_arrays(dtype):
    """The checks refuse nothing valid: indptr need not start at 0 or end at nnz, since
    C reads only [indptr[0], indptr[n]) (here: row 1 of a 2-row matrix, on its own)."""
    e = engine(dtype)
    dense = np.array([[0, 2, 0], [1, 0, 3]], dtype)
    full = CSR(np.array([2, 1, 3], dtype), np.array([1, 0, 2]), np.array([0, 1, 3]), (2, 3))
    np.testing.assert_allclose(e.forward(full), e.forward(dense), rtol=1e-6)
    row1 = CSR(full.data, full.indices, full.indptr[1:], (1, 3))
    np.testing.assert_allclose(e.forward(row1), e.forward(dense[1:]), rtol=1e-6)


def test_kernels_share_the_csr_rules_and_messages():
    b = np.ones((3, 2), np.float32)
    data = np.ones(2, np.float32)
    with pytest.raises(ValueError, match=r"^indices must lie in \[0, 3\).*indices\[1\] = 7"):
        kernels.sparse_matmul(np.array([0, 1, 2]), np.array([0, 7]), data, b)
    with pytest.raises(ValueError, match=r"^indptr must be non-decreasing.*indptr\[1\] = 2 > "
                                         r"indptr\[2\] = 1"):
        kernels.sparse_matmul(np.array([0, 2, 1, 2]), np.array([0, 1]), data, b)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 3\).*indices\[0\] = -1"):
        kernels.sparse_t_matmul(np.array([0, 1, 2]), np.array([-1, 0]), data,
                                np.ones((2, 2), np.float32), np.zeros((3, 2), np.float32))


# ---- labels, sample weights, empty inputs ------------------------------------------

X3 = np.ones((4, 3), np.float32)


@pytest.mark.parametrize("bad", [2, -1, 2**40])
def test_out_of_range_labels_are_refused_before_any_step(bad):
    e = engine()
    before = e.params.copy()
    y = np.array([0, 1, bad, 0])
    with pytest.raises(ValueError, match=rf"class indices in \[0, 2\).*y\[2\] = {bad}"):
        e.train_epoch(X3, y, batch_size=1, shuffle=False)
    np.testing.assert_array_equal(e.params, before)
    with pytest.raises(ValueError, match=rf"y\[2\] = {bad}"):
        e.loss_and_gradient(X3, y)


def test_float_labels_are_refused_not_truncated():
    e = engine()
    before = e.params.copy()
    with pytest.raises(TypeError, match=r"y \(labels\) must be class indices of an integer dtype"
                                        r".*float64.*astype\(np\.int64\)"):
        e.train_epoch(X3, np.array([0.0, 1.7, 1.0, 0.0]), batch_size=2, shuffle=False)
    with pytest.raises(TypeError, match="integer dtype"):
        e.loss(X3, np.array([0.0, 1.7, 1.0, 0.0]))
    np.testing.assert_array_equal(e.params, before)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_sample_weights_are_refused_before_any_step(bad, dtype):
    e = engine(dtype)
    before = e.params.copy()
    X, y = X3.astype(dtype), np.array([0, 1, 1, 0])
    w = np.array([1.0, 1.0, bad, 1.0])
    with pytest.raises(ValueError, match=rf"sample_weight must be finite and >= 0, got "
                                         rf"sample_weight\[2\] = {bad}"):
        e.train_epoch(X, y, w, batch_size=1, shuffle=False)
    np.testing.assert_array_equal(e.params, before)
    with pytest.raises(ValueError, match=r"sample_weight\[2\]"):
        e.loss(X, y, w)


def test_zero_weights_are_still_valid():
    e = engine()
    loss = e.train_epoch(X3, np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 0.0, 2.0], np.float32),
                         batch_size=2, shuffle=False)
    assert np.isfinite(loss)


def test_zero_rows_are_a_clear_error_not_an_engine_status():
    e = engine()
    empty, labels = X3[:0], np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="X has 0 rows; an epoch needs at least one sample"):
        e.train_epoch(empty, labels, batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match="X has 0 rows; the loss needs at least one sample"):
        e.loss(empty, labels)
    with pytest.raises(ValueError, match="0 rows"):
        e.loss_and_gradient(csr([0], [], 0), labels)
    assert e.forward(empty).shape == (0, 2)
    # NetCore itself (importable) takes a 0-row array, whose strides NumPy sets to 0.
    out = np.empty((0, 2), np.float32)
    assert e._core.forward(empty.copy(), out, np.empty(e._core.forward_work_size(1), np.uint8)) is out


def test_netcore_refuses_batch_size_and_chunk_below_one():
    e = engine()
    work = np.empty(e._core.train_work_size(4), np.uint8)
    perm = np.arange(4, dtype=np.int64)
    y = np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        e._core.train_epoch(X3, y, None, None, 0, 0, 0.0, 0.0, perm, work, 0.1)
    with pytest.raises(ValueError, match="chunk must be >= 1, got 0"):
        e._core.loss_grad(X3, y, None, None, 0.0, 0.0, None, work, 0)


# ---- thread counts -----------------------------------------------------------------

@pytest.fixture
def restore_threads():
    yield
    fastmlp.set_num_threads(None)


HUGE = [2**31, 2**40, np.int64(2**62)]


@pytest.mark.parametrize("n", HUGE)
def test_kernels_clamp_huge_thread_counts(n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 30)).astype(np.float32)
    np.testing.assert_array_equal(kernels.gemm(a, a, trans_b=True, n_threads=n),
                                  kernels.gemm(a, a, trans_b=True, n_threads=1))
    indptr, indices = np.array([0, 2, 3]), np.array([0, 29, 5])
    data, b = np.ones(3, np.float32), a[:, :30].T.copy()
    one = kernels.sparse_matmul(indptr, indices, data, b, n_threads=1)
    np.testing.assert_array_equal(kernels.sparse_matmul(indptr, indices, data, b, n_threads=n), one)
    g = rng.standard_normal((2, 4)).astype(np.float32)
    acc = kernels.sparse_t_matmul(indptr, indices, data, g, np.zeros((30, 4), np.float32), n_threads=n)
    np.testing.assert_array_equal(
        acc, kernels.sparse_t_matmul(indptr, indices, data, g, np.zeros((30, 4), np.float32)))


def test_sparse_kernels_take_threads_like_gemm():
    indptr, indices, data = np.array([0, 1]), np.array([1]), np.ones(1, np.float32)
    b, g = np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((1, 2), np.float32)
    np.testing.assert_array_equal(kernels.sparse_matmul(indptr, indices, data, b, n_threads=None),
                                  [[2, 3]])
    out = kernels.sparse_t_matmul(indptr, indices, data, g, np.zeros((3, 2), np.float32),
                                  n_threads=None)
    np.testing.assert_array_equal(out, [[0, 0], [1, 1], [0, 0]])
    for bad in (0, -5, 1.7, True, "2"):
        with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None"):
            kernels.sparse_matmul(indptr, indices, data, b, n_threads=bad)
        with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None"):
            kernels.sparse_t_matmul(indptr, indices, data, g, np.zeros((3, 2), np.float32),
                                    n_threads=bad)


def test_sparse_matmul_validates_n_cols():
    indptr, indices, data = np.array([0, 1]), np.array([1]), np.ones(1, np.float32)
    b = np.ones((3, 2), np.float32)
    for bad in ("a", 1.5, [3]):
        with pytest.raises(TypeError, match=r"n_cols must be an integer >= 0"):
            kernels.sparse_matmul(indptr, indices, data, b, n_cols=bad)
    with pytest.raises(ValueError, match=r"n_cols must be an integer >= 0, got -1"):
        kernels.sparse_matmul(indptr, indices, data, b, n_cols=-1)
    with pytest.raises(ValueError, match="op\\(b\\) has 3 rows but X has 4 columns"):
        kernels.sparse_matmul(indptr, indices, data, b, n_cols=np.int64(4))
    assert kernels.sparse_matmul(indptr, indices, data, b, n_cols=np.int32(3)).shape == (1, 2)


def test_set_num_threads_clamps_huge_counts(restore_threads):
    fastmlp.set_num_threads(2**40)
    assert fastmlp.get_num_threads() == _core.MAX_THREADS == 64
    fastmlp.set_num_threads(np.int64(3))
    assert fastmlp.get_num_threads() == 3
    _core.set_default_threads(2**63)
    assert fastmlp.get_num_threads() == 64
    with pytest.raises(ValueError, match="non-negative integer"):
        fastmlp.set_num_threads(-(2**40))


@pytest.mark.parametrize("n", HUGE)
def test_engine_and_netcore_clamp_huge_thread_counts(n):
    e = engine(n_threads=n)
    assert e._core.n_threads == 64
    assert np.isfinite(e.train_epoch(X3, np.array([0, 1, 1, 0]), batch_size=2, shuffle=False))
    e._core.n_threads = -(2**40)
    assert e._core.n_threads == 0
    e._core.n_threads = 5
    assert e._core.n_threads == 5
    with pytest.raises(TypeError, match="n_threads must be an integer"):
        e._core.n_threads = 2.5


@pytest.mark.parametrize("bad", [-1, 1.5, "4", True])
def test_engine_refuses_thread_counts_that_are_not_counts(bad):
    with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None"):
        engine(n_threads=bad)


@pytest.mark.filterwarnings("ignore")  # 3 epochs do not converge
def test_estimator_with_a_huge_thread_count_fits():
    from fastmlp import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(8,), n_threads=2**31, max_iter=3, random_state=0)
    model.fit(X, y)
    assert model.predict(X).shape == (60,)


def test_cli_huge_thread_count_trains(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, X[:, 0] > 0]), delimiter=",", fmt=["%.4f", "%.4f", "%d"],
               header="a,b,y", comments="")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "fastmlp", "train", str(path), "--target", "y",
                           "--threads", "99999999999", "--epochs", "1", "--hidden", "4",
                           "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "trained 2-4-1" in proc.stdout
