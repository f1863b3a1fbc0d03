"""The C engine against the NumPy reference engine: forward, loss and
gradient, and whole training trajectories step for step (float64 to ~1e-10),
plus its randomness, divergence handling and Ctrl-C behaviour."""
import os
import signal
import threading

import numpy as np
import pytest

from fastmlp import reference
from fastmlp._engine import Engine, NonFiniteLossError, make_engine

HIDDEN = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
# (output activation, loss, target kind)
HEADS = [
    ("softmax", "cross_entropy", "labels"),
    ("softmax", "cross_entropy", "probs"),
    ("logistic", "binary_cross_entropy", "binary"),
    ("identity", "squared_error", "real"),
    ("logistic", "squared_error", "binary"),
    ("softmax", "squared_error", "onehot"),
]


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)


def make_pair(sizes, hidden, out, loss, dtype, seed=0, dropout=None, slope=0.05):
    kw = dict(hidden_activation=hidden, output_activation=out, loss=loss, dtype=dtype,
              slope=slope, dropout=dropout)
    c = make_engine(sizes, **kw)
    r = make_engine(sizes, engine="reference", **kw)
    assert isinstance(c, Engine) and isinstance(r, reference.ReferenceEngine)
    rng = np.random.default_rng(seed)
    init = rng.uniform(-0.7, 0.7, size=c.params.shape).astype(dtype)
    c.params[...] = init
    r.params[...] = init
    return c, r


def make_data(n, sizes, kind, dtype, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    k = sizes[-1]
    if kind == "labels":
        y = rng.integers(0, k, size=n).astype(np.int64)
    elif kind == "probs":
        y = rng.dirichlet(np.ones(k), size=n).astype(dtype)
    elif kind == "onehot":
        y = np.eye(k, dtype=dtype)[rng.integers(0, k, size=n)]
    elif kind == "binary":
        y = (rng.random((n, k)) < 0.4).astype(dtype)
    else:
        y = rng.standard_normal((n, k)).astype(dtype)
    return X, y


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("head", HEADS, ids=lambda h: f"{h[0]}-{h[1]}-{h[2]}")
def test_forward_and_gradient_match_reference(hidden, head, dtype):
    out, loss, kind = head
    sizes = (7, 9, 5, 3 if kind != "binary" else 4)
    c, r = make_pair(sizes, hidden, out, loss, dtype)
    X, y = make_data(37, sizes, kind, dtype)
    w = np.random.default_rng(3).uniform(0.1, 2.0, size=37).astype(dtype)
    np.testing.assert_allclose(c.forward(X), r.forward(X), **tol(dtype))
    lc, gc = c.loss_and_gradient(X, y, w, alpha=0.01, l1=0.003)
    lr_, gr = r.loss_and_gradient(X, y, w, alpha=0.01, l1=0.003)
    np.testing.assert_allclose(lc, lr_, **tol(dtype))
    np.testing.assert_allclose(gc, gr, **tol(dtype))
    np.testing.assert_allclose(c.loss(X, y, w, alpha=0.01), r.loss(X, y, w, alpha=0.01), **tol(dtype))


@pytest.mark.parametrize("head", HEADS, ids=lambda h: f"{h[0]}-{h[1]}-{h[2]}")
def test_gradient_equals_finite_differences(head):
    out, loss, kind = head
    sizes = (4, 6, 5, 3)
    c, _ = make_pair(sizes, "tanh", out, loss, np.float64, seed=5)
    X, y = make_data(11, sizes, kind, np.float64, seed=6)
    w = np.linspace(0.5, 1.5, 11)
    f0, g = c.loss_and_gradient(X, y, w, alpha=0.02)
    p0 = c.params.copy()
    h = 1e-6
    num = np.empty_like(g)
    for i in range(p0.size):
        c.params[i] = p0[i] + h
        fp = c.loss(X, y, w, alpha=0.02)
        c.params[i] = p0[i] - h
        fm = c.loss(X, y, w, alpha=0.02)
        c.params[i] = p0[i]
        num[i] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_chunked_full_batch_gradient_equals_one_chunk():
    sizes = (5, 8, 3)
    c, _ = make_pair(sizes, "relu", "softmax", "cross_entropy", np.float64)
    X, y = make_data(3000, sizes, "labels", np.float64)  # > one 1024-row chunk
    w = np.random.default_rng(0).uniform(0, 1, 3000)
    loss, grad = c.loss_and_gradient(X, y, w, alpha=0.1)
    r = make_engine(sizes, engine="reference", hidden_activation="relu",
                    output_activation="softmax", loss="cross_entropy", dtype=np.float64)
    r.params[...] = c.params
    loss_r, grad_r = r.loss_and_gradient(X, y, w, alpha=0.1)
    np.testing.assert_allclose(loss, loss_r, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_r, rtol=1e-10, atol=1e-14)


SOLVERS = [
    ("sgd", dict(momentum=0.0)),
    ("sgd", dict(momentum=0.9, nesterov=False)),
    ("sgd", dict(momentum=0.9, nesterov=True)),
    ("adam", dict()),
]


@pytest.mark.parametrize("solver,opts", SOLVERS, ids=["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_training_trajectory_matches_reference(solver, opts, shuffle, dtype):
    sizes = (6, 10, 7, 4)
    c, r = make_pair(sizes, "relu", "softmax", "cross_entropy", dtype, seed=2)
    X, y = make_data(103, sizes, "labels", dtype, seed=4)  # 103 = 6 batches of 16 + 7
    w = np.random.default_rng(9).uniform(0.2, 1.8, size=103).astype(dtype)
    for e in (c, r):
        e.set_optimizer(solver, learning_rate=0.05, **opts)
        e.seed(1234)
    for epoch in range(4):
        lc = c.train_epoch(X, y, w, batch_size=16, shuffle=shuffle, alpha=1e-3, l1=1e-4)
        lr_ = r.train_epoch(X, y, w, batch_size=16, shuffle=shuffle, alpha=1e-3, l1=1e-4)
        np.testing.assert_allclose(lc, lr_, **tol(dtype), err_msg=f"loss, epoch {epoch}")
        np.testing.assert_allclose(c.params, r.params, **tol(dtype), err_msg=f"params, epoch {epoch}")
    sc, sr = c.get_state(), r.get_state()
    assert sc["step"] == sr["step"]
    np.testing.assert_array_equal(sc["rng_state"], sr["rng_state"])


@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@pytest.mark.parametrize("dropout", [None, [0.4]], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_fused_sgd_update_matches_reference(momentum, alpha, dropout, n_threads, dtype):
    """SGD without L1, plain or with classical momentum, takes the fused path:
    each layer's weight gradient goes straight into its weights (or velocity)
    inside the GEMM. Layers big enough for the products to be split over two
    threads; the result must be the reference's, and must not depend on the
    thread count."""
    sizes = (120, 200, 10)
    c, r = make_pair(sizes, "relu", "softmax", "cross_entropy", dtype, seed=3, dropout=dropout)
    c.params[...] *= 0.1
    r.params[...] = c.params
    X, y = make_data(300, sizes, "labels", dtype, seed=5)
    w = np.random.default_rng(6).uniform(0.5, 1.5, size=300).astype(dtype)
    c._core.n_threads = n_threads  # the engine takes it at construction; set it on the core
    for e in (c, r):
        e.set_optimizer("sgd", learning_rate=0.05, momentum=momentum, nesterov=False)
        e.seed(21)
    # float64 is the strict check. In float32 a rounding difference can flip a
    # relu unit whose input is within rounding of 0, and that row's gradient
    # then differs outright (seen on the portable path: 82 of 26,210 weights off
    # by 1.6e-4 at epoch 3, after 4e-8 at epoch 2), so float32 gets a bound of
    # that size; a wrong step (sign, scale, order) misses it by far more.
    t = tol(dtype) if dtype == np.float64 else dict(rtol=1e-3, atol=1e-3)
    for epoch in range(3):
        lc = c.train_epoch(X, y, w, batch_size=64, shuffle=True, alpha=alpha)
        lr_ = r.train_epoch(X, y, w, batch_size=64, shuffle=True, alpha=alpha)
        np.testing.assert_allclose(lc, lr_, **t, err_msg=f"loss, epoch {epoch}")
        np.testing.assert_allclose(c.params, r.params, **t, err_msg=f"params, epoch {epoch}")
    assert c.get_state()["step"] == r.get_state()["step"] == 15


@pytest.mark.parametrize("head", HEADS[1:], ids=lambda h: f"{h[0]}-{h[1]}-{h[2]}")
def test_training_other_heads_and_dropout_match_reference(head):
    out, loss, kind = head
    sizes = (5, 12, 9, 3)
    c, r = make_pair(sizes, "logistic", out, loss, np.float64, seed=8, dropout=[0.3, 0.5])
    X, y = make_data(64, sizes, kind, np.float64, seed=10)
    for e in (c, r):
        e.set_optimizer("adam", learning_rate=0.01)
        e.seed(77)
    for _ in range(3):
        lc = c.train_epoch(X, y, batch_size=10, shuffle=True, alpha=1e-4)
        lr_ = r.train_epoch(X, y, batch_size=10, shuffle=True, alpha=1e-4)
        np.testing.assert_allclose(lc, lr_, rtol=1e-10)
        np.testing.assert_allclose(c.params, r.params, rtol=1e-10, atol=1e-12)


def test_permutation_matches_reference_rng():
    c, _ = make_pair((2, 2), "relu", "softmax", "cross_entropy", np.float64)
    c.seed(2024)
    rr = reference.Rng(2024)
    assert c.get_state()["dropout_key"] == rr.next()
    for n in (1, 2, 10, 1000):
        np.testing.assert_array_equal(c.permutation(n), rr.permutation(n))


@pytest.mark.parametrize("kind", ["c", "reference"])
def test_epoch_in_a_given_order(kind, dtype):
    """order= runs the epoch in the caller's permutation: the same as the order a
    shuffled epoch draws, and it leaves the engine's generator untouched."""
    sizes = (6, 10, 4)
    c, r = make_pair(sizes, "relu", "softmax", "cross_entropy", dtype, seed=2)
    drawn, given = (c, make_pair(sizes, "relu", "softmax", "cross_entropy", dtype, seed=2)[0]) \
        if kind == "c" else (r, make_pair(sizes, "relu", "softmax", "cross_entropy", dtype,
                                          seed=2)[1])
    X, y = make_data(53, sizes, "labels", dtype, seed=4)
    for e in (drawn, given):
        e.set_optimizer("sgd", learning_rate=0.05, momentum=0.9)
        e.seed(77)
    for _ in range(2):
        order = given.permutation(53)  # the order drawn's next epoch will draw
        la = drawn.train_epoch(X, y, batch_size=8, shuffle=True)
        state = given.get_state()["rng_state"]
        lb = given.train_epoch(X, y, batch_size=8, shuffle=True, order=order.astype(np.int32))
        np.testing.assert_array_equal(given.get_state()["rng_state"], state)
        assert la == lb
        np.testing.assert_array_equal(drawn.params, given.params)
    # A given order that is not the identity changes the result (the order is used).
    before = given.params.copy()
    drawn.params[...] = before
    drawn.train_epoch(X, y, batch_size=8, shuffle=False)
    given.params[...] = before
    given.train_epoch(X, y, batch_size=8, shuffle=False, order=np.arange(53)[::-1])
    assert not np.array_equal(drawn.params, given.params)


@pytest.mark.parametrize("kind", ["c", "reference"])
@pytest.mark.parametrize("bad,match", [
    (np.arange(52), "permutation of range"),
    (np.arange(53).astype(float), "integer array"),
    (np.r_[np.arange(52), 51], "exactly once"),
    (np.r_[np.arange(52), 53], "exactly once"),
    (np.r_[np.arange(1, 53), -1], "exactly once"),
    (np.arange(53).reshape(53, 1), "permutation of range"),
])
def test_bad_orders_are_refused(kind, bad, match):
    sizes = (6, 10, 4)
    c, r = make_pair(sizes, "relu", "softmax", "cross_entropy", np.float64)
    e = c if kind == "c" else r
    e.set_optimizer("sgd", learning_rate=0.05)
    X, y = make_data(53, sizes, "labels", np.float64, seed=4)
    before = e.params.copy()
    with pytest.raises(ValueError, match=match):
        e.train_epoch(X, y, batch_size=8, shuffle=True, order=bad)
    np.testing.assert_array_equal(e.params, before)


def test_state_round_trip_continues_identically(dtype):
    sizes = (6, 8, 3)
    X, y = make_data(50, sizes, "labels", dtype)
    a, _ = make_pair(sizes, "tanh", "softmax", "cross_entropy", dtype)
    a.set_optimizer("adam", learning_rate=0.01)
    a.seed(5)
    a.train_epoch(X, y, batch_size=8, shuffle=True)
    b, _ = make_pair(sizes, "tanh", "softmax", "cross_entropy", dtype)
    b.params[...] = a.params
    b.set_state(a.get_state())
    for _ in range(2):
        a.train_epoch(X, y, batch_size=8, shuffle=True)
        b.train_epoch(X, y, batch_size=8, shuffle=True)
    np.testing.assert_array_equal(a.params, b.params)


def test_zero_weight_batches_are_skipped():
    sizes = (3, 4, 2)
    c, _ = make_pair(sizes, "relu", "softmax", "cross_entropy", np.float64)
    X, y = make_data(20, sizes, "labels", np.float64)
    w = np.ones(20)
    w[:10] = 0  # the whole first batch carries no weight
    c.set_optimizer("sgd", learning_rate=0.1, momentum=0.0)
    before = c.params.copy()
    c.train_epoch(X[:10], y[:10], w[:10], batch_size=10, shuffle=False)
    np.testing.assert_array_equal(c.params, before)


def test_divergence_raises_and_keeps_finite_weights(dtype):
    sizes = (20, 30, 3)
    c, _ = make_pair(sizes, "relu", "softmax", "cross_entropy", dtype)
    X, y = make_data(400, sizes, "labels", dtype)
    X *= 1e3
    c.set_optimizer("sgd", learning_rate=1e6, momentum=0.9)
    with pytest.raises(NonFiniteLossError, match="Lower the learning rate"):
        for _ in range(50):
            c.train_epoch(X, y, batch_size=10, shuffle=True)
    assert np.all(np.isfinite(c.params))


def test_ctrl_c_interrupts_an_epoch_between_steps():
    sizes = (100, 1024, 1024, 10)
    c, _ = make_pair(sizes, "relu", "softmax", "cross_entropy", np.float32)
    X, y = make_data(20_000, sizes, "labels", np.float32)
    c.set_optimizer("sgd", learning_rate=1e-4, momentum=0.0)
    steps_before = c.get_state()["step"]
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            c.train_epoch(X, y, batch_size=4, shuffle=True)
    finally:
        timer.cancel()
    done = c.get_state()["step"] - steps_before
    # Stopped part-way through the epoch's 5000 steps, between two of them.
    assert 0 < done < 20_000 // 4
    assert np.all(np.isfinite(c.params))


def test_out_of_range_label_is_a_clear_error_naming_the_row():
    """Labels are checked before the first step: a bad one leaves no half-done epoch."""
    c, _ = make_pair((3, 4, 2), "relu", "softmax", "cross_entropy", np.float32)
    c.set_optimizer("sgd", learning_rate=0.1)
    before = c.params.copy()
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\).* y\[2\] = 5"):
        c.train_epoch(np.ones((5, 3), np.float32), np.array([0, 1, 5, 0, 1]), batch_size=2,
                      shuffle=False)
    np.testing.assert_array_equal(c.params, before)


def test_core_refuses_an_order_pointing_outside_x():
    """The Cython layer checks a caller's order before C reads rows through it."""
    sizes = (6, 10, 4)
    c, _ = make_pair(sizes, "relu", "softmax", "cross_entropy", np.float64)
    c.set_optimizer("sgd", learning_rate=0.05)
    X, y = make_data(20, sizes, "labels", np.float64, seed=4)
    perm = np.arange(20, dtype=np.int64)
    perm[3] = 10 ** 6
    work = np.empty(c._core.train_work_size(8), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"perm\[3\] = 1000000 is not a row of X"):
        c._core.train_epoch(X, y, None, None, 8, 2, 0.0, 0.0, perm, work, 1.0)
    perm[3] = -1
    with pytest.raises(ValueError, match=r"perm\[3\] = -1"):
        c._core.train_epoch(X, y, None, None, 8, 2, 0.0, 0.0, perm, work, 1.0)
