"""Sparse (CSR) inputs: the CSR x dense kernels against their oracle, and the
engine trained on CSR rows against the same engine trained on the dense
matrix (same weights after training, same predictions), in both layouts of
the first layer."""
import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp._engine import CSR, make_engine


def random_csr(n, k, density, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, k)) < density, rng.standard_normal((n, k)), 0.0).astype(dtype)
    dense[min(3, n - 1)] = 0  # an empty row
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum((dense != 0).sum(axis=1))
    rows, cols = np.nonzero(dense)
    order = np.random.default_rng(seed + 1).permutation(len(cols))
    # Unsorted columns within each row are allowed.
    for r in range(n):
        a, b = indptr[r], indptr[r + 1]
        sel = np.arange(a, b)
        np.random.default_rng(r).shuffle(sel)
        cols[a:b] = cols[sel]
    data = dense[rows, cols]
    del order
    return CSR(np.ascontiguousarray(data), cols.astype(np.int64), indptr, (n, k)), dense


def tol(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("with_rows", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sparse_matmul_matches_oracle(trans_b, with_rows, n_threads, dtype, isa):
    X, dense = random_csr(37, 53, 0.1, dtype)
    rng = np.random.default_rng(5)
    b = rng.standard_normal((29, 53) if trans_b else (53, 29)).astype(dtype)
    rows = rng.integers(0, 37, size=20) if with_rows else None
    out = kernels.sparse_matmul(X.indptr, X.indices, X.data, b, rows=rows, trans_b=trans_b,
                                n_threads=n_threads)
    expect = reference.sparse_matmul(X.indptr, X.indices, X.data.astype(np.float64),
                                     b.astype(np.float64), rows=rows, trans_b=trans_b)
    np.testing.assert_allclose(out, expect, **tol(dtype))
    np.testing.assert_allclose(out, (dense[rows] if with_rows else dense) @ (b.T if trans_b else b),
                               **tol(dtype))


@pytest.mark.parametrize("out_transposed", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sparse_t_matmul_accumulates_only_touched_columns(out_transposed, n_threads, dtype, isa):
    X, dense = random_csr(41, 300, 0.02, dtype, seed=3)
    rng = np.random.default_rng(6)
    g = rng.standard_normal((41, 70)).astype(dtype)
    start = rng.standard_normal((70, 300) if out_transposed else (300, 70)).astype(dtype)
    out = kernels.sparse_t_matmul(X.indptr, X.indices, X.data, g, start.copy(),
                                  out_transposed=out_transposed, scale=0.5, n_threads=n_threads)
    expect = reference.sparse_t_matmul(X.indptr, X.indices, X.data.astype(np.float64),
                                       g.astype(np.float64), start.astype(np.float64),
                                       out_transposed=out_transposed, scale=0.5)
    np.testing.assert_allclose(out, expect, **tol(dtype))
    untouched = np.setdiff1d(np.arange(300), X.indices)
    assert untouched.size > 0
    kept = out[:, untouched] if out_transposed else out[untouched]
    was = start[:, untouched] if out_transposed else start[untouched]
    np.testing.assert_array_equal(kept, was)


def test_sparse_kernels_refuse_bad_csr():
    X, _ = random_csr(5, 6, 0.5, np.float64)
    b = np.ones((6, 2))
    with pytest.raises(ValueError, match="indices must lie"):
        bad = X.indices.copy()
        bad[0] = 6
        kernels.sparse_matmul(X.indptr, bad, X.data, b)
    with pytest.raises(ValueError, match="indptr"):
        kernels.sparse_matmul(X.indptr[:-1], X.indices, X.data, b)
    with pytest.raises(ValueError, match="rows must lie"):
        kernels.sparse_matmul(X.indptr, X.indices, X.data, b, rows=np.array([5]))
    with pytest.raises(TypeError, match="dtype"):
        kernels.sparse_matmul(X.indptr, X.indices, X.data.astype(np.float32), b)


def engine_pair(layout, dtype, sizes=(60, 16, 4), hidden="relu", seed=0):
    kw = dict(hidden_activation=hidden, output_activation="softmax", loss="cross_entropy",
              dtype=dtype)
    a = make_engine(sizes, layer0_layout=layout, **kw)
    r = make_engine(sizes, engine="reference", **kw)
    rng = np.random.default_rng(seed)
    for layer in range(len(sizes) - 1):
        w = rng.uniform(-0.3, 0.3, size=r.weights(layer).shape).astype(dtype)
        a.weights(layer)[...] = w
        r.weights(layer)[...] = w
        b = rng.uniform(-0.1, 0.1, size=r.biases(layer).shape).astype(dtype)
        a.biases(layer)[...] = b
        r.biases(layer)[...] = b
    return a, r


def assert_same_weights(a, r, dtype):
    for layer in range(len(a.layer_sizes) - 1):
        np.testing.assert_allclose(a.weights(layer), r.weights(layer), **tol(dtype))
        np.testing.assert_allclose(a.biases(layer), r.biases(layer), **tol(dtype))


@pytest.mark.parametrize("layout", ["out_in", "in_out"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver,momentum,alpha", [("sgd", 0.9, 1e-3), ("sgd", 0.0, 1e-3),
                                                     ("sgd", 0.0, 0.0), ("adam", 0.9, 1e-3)],
                         ids=["momentum", "plain-l2", "plain", "adam"])
def test_engine_on_csr_trains_like_the_dense_reference(layout, sparse, solver, momentum, alpha, dtype):
    # plain SGD updates the weights inside the backward pass (backward_sgd),
    # except for sparse input with an L2 penalty: both ways are covered here.
    X, dense = random_csr(150, 60, 0.08, dtype, seed=7)
    y = np.random.default_rng(8).integers(0, 4, size=150).astype(np.int64)
    w = np.random.default_rng(9).uniform(0.5, 1.5, size=150).astype(dtype)
    a, r = engine_pair(layout, dtype)
    for e in (a, r):
        e.set_optimizer(solver, learning_rate=0.05, momentum=momentum)
        e.seed(11)
    data = X if sparse else dense
    for _ in range(3):
        la = a.train_epoch(data, y, w, batch_size=32, shuffle=True, alpha=alpha)
        lr = r.train_epoch(dense, y, w, batch_size=32, shuffle=True, alpha=alpha)
        np.testing.assert_allclose(la, lr, **tol(dtype))
    assert_same_weights(a, r, dtype)
    np.testing.assert_allclose(a.forward(data), r.forward(dense), **tol(dtype))
    la, ga = a.loss_and_gradient(data, y, w, alpha=1e-3)
    lr, gr = r.loss_and_gradient(dense, y, w, alpha=1e-3)
    np.testing.assert_allclose(la, lr, **tol(dtype))
    # Gradients compared layer by layer through the (fan_out, fan_in) views.
    ga_eng, _ = engine_pair(layout, dtype)
    ga_eng.params[...] = ga
    gr_eng, _ = engine_pair("out_in", dtype)
    gr_eng.params[...] = gr
    assert_same_weights(ga_eng, gr_eng, dtype)


def test_sparse_training_is_independent_of_thread_count():
    X, _ = random_csr(400, 500, 0.05, np.float32, seed=12)
    y = np.random.default_rng(13).integers(0, 4, size=400).astype(np.int64)
    engines = []
    for nt in (1, 2):
        kw = dict(hidden_activation="tanh", output_activation="softmax", loss="cross_entropy",
                  dtype=np.float32, n_threads=nt, layer0_layout="in_out")
        e = make_engine((500, 256, 4), **kw)
        e.params[...] = np.random.default_rng(0).uniform(-0.1, 0.1, e.params.shape)
        e.set_optimizer("adam", learning_rate=0.01)
        e.seed(1)
        # alpha and l1: the penalty sums (fixed blocks, split over threads) count too.
        losses = [e.train_epoch(X, y, batch_size=64, shuffle=True, alpha=1e-3, l1=1e-4)
                  for _ in range(2)]
        engines.append((e, losses))
    np.testing.assert_array_equal(engines[0][0].params, engines[1][0].params)
    assert engines[0][1] == engines[1][1]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_sparse_training_is_the_same_on_every_isa(solver):
    """The per-ISA CSR products, the step over touched and untouched rows and
    the penalty sums together: every ISA path trains the same model (to float32
    rounding: the dense layers' GEMMs use FMA where the ISA has it)."""
    import fastmlp
    X, _ = random_csr(300, 700, 0.03, np.float32, seed=21)
    y = np.random.default_rng(22).integers(0, 3, size=300).astype(np.int64)
    before = fastmlp.get_isa()
    results = {}
    try:
        for isa in fastmlp.available_isas():
            fastmlp.set_isa(isa)
            e = make_engine((700, 48, 3), hidden_activation="relu", output_activation="softmax",
                            loss="cross_entropy", dtype=np.float32, layer0_layout="in_out")
            e.params[...] = np.random.default_rng(0).uniform(-0.1, 0.1, e.params.shape)
            e.set_optimizer(solver, learning_rate=0.01, momentum=0.9)
            e.seed(3)
            loss = e.train_epoch(X, y, batch_size=32, shuffle=True, alpha=1e-3, l1=1e-5)
            results[isa] = (e.params.copy(), loss)
    finally:
        fastmlp.set_isa(before)
    first = next(iter(results.values()))
    for isa, (params, loss) in results.items():
        np.testing.assert_allclose(params, first[0], rtol=1e-4, atol=1e-6, err_msg=isa)
        assert loss == pytest.approx(first[1], rel=1e-5), isa


def test_csr_rows_and_toarray():
    X, dense = random_csr(20, 9, 0.3, np.float64, seed=2)
    np.testing.assert_array_equal(X.toarray(), dense)
    idx = np.array([4, 0, 19, 4])
    np.testing.assert_array_equal(X.rows(idx).toarray(), dense[idx])
