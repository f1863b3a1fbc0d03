"""Benchmarks of the elementwise kernels (activations, softmax, fused losses,
column sum, optimizer updates) at MLP training shapes. Each group holds the
fastmlp kernel (through fastmlp._core, outputs preallocated, as the engine
calls it) and a hand-written NumPy version; both are checked against
fastmlp.reference before they are timed."""
import numpy as np
import pytest
from scipy.special import expit

from fastmlp import _core, reference
from conftest import assert_close

ACT = _core.ACT_CODES
DTYPES = [np.float32, np.float64]
IMPLS = ["fastmlp", "numpy"]


def group(benchmark, name, shape, dtype):
    benchmark.group = f"{name} {'x'.join(map(str, shape))} {np.dtype(dtype).name}"


def run(benchmark, impl, fn, check):
    """Check once against the oracle, then time (skipped by --benchmark-disable)."""
    check(fn())
    benchmark(fn)


def data(rng, shape, dtype, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ---- activations -------------------------------------------------------------------

FWD = {
    "relu": lambda z, b, y: np.maximum(np.add(z, b, out=y), 0, out=y),
    "logistic": lambda z, b, y: expit(np.add(z, b, out=y), out=y),
    "tanh": lambda z, b, y: np.tanh(np.add(z, b, out=y), out=y),
}
BWD = {
    "relu": lambda dy, y, dz: np.multiply(dy, y > 0, out=dz),
    "logistic": lambda dy, y, dz: np.multiply(np.multiply(dy, y, out=dz), 1 - y, out=dz),
    "tanh": lambda dy, y, dz: np.multiply(dy, 1 - y * y, out=dz),
}
ACT_SHAPES = [(1, 128), (32, 128), (128, 256), (128, 784), (512, 1024)]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", ACT_SHAPES)
@pytest.mark.parametrize("act", list(FWD))
def test_bias_act_forward(benchmark, rng, act, shape, dtype, impl):
    group(benchmark, f"{act} forward", shape, dtype)
    z, b = data(rng, shape, dtype), data(rng, shape[1], dtype)
    y = np.empty_like(z)
    expected = reference.activation_forward(z.astype(np.float64), b.astype(np.float64), activation=act)
    if impl == "fastmlp":
        fn = lambda: (_core.bias_act_forward(y, z, b, ACT[act], 0.0), y)[1]
    else:
        fn = lambda: FWD[act](z, b, y)
    run(benchmark, impl, fn, lambda out: assert_close(out, expected, dtype, f"{act} forward"))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(32, 128), (128, 784), (512, 1024)])
@pytest.mark.parametrize("act", list(BWD))
def test_act_backward(benchmark, rng, act, shape, impl):
    dtype = np.float32
    group(benchmark, f"{act} backward", shape, dtype)
    y = reference.activation_forward(data(rng, shape, dtype), activation=act).astype(dtype)
    dy = data(rng, shape, dtype)
    dz = np.empty_like(y)
    expected = reference.activation_backward(dy.astype(np.float64), y.astype(np.float64), activation=act)
    if impl == "fastmlp":
        fn = lambda: (_core.act_backward(dz, dy, y, ACT[act], 0.0), dz)[1]
    else:
        fn = lambda: BWD[act](dy, y, dz)
    run(benchmark, impl, fn, lambda out: assert_close(out, expected, dtype, f"{act} backward",
                                                        scale=np.abs(dy)))


# ---- softmax and losses -------------------------------------------------------------

LOSS_SHAPES = [(1, 10), (32, 10), (128, 10), (512, 10), (128, 128), (512, 1024)]


def np_softmax(z, y):
    np.subtract(z, z.max(axis=1, keepdims=True), out=y)
    np.exp(y, out=y)
    y /= y.sum(axis=1, keepdims=True)
    return y


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_softmax_forward(benchmark, rng, shape, dtype, impl):
    group(benchmark, "softmax", shape, dtype)
    z = data(rng, shape, dtype, 4.0)
    y = np.empty_like(z)
    expected = reference.softmax(z.astype(np.float64))
    fn = (lambda: (_core.softmax_forward(y, z), y)[1]) if impl == "fastmlp" else (lambda: np_softmax(z, y))
    run(benchmark, impl, fn, lambda out: assert_close(out, expected, dtype, "softmax"))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(128, 10), (512, 1024)])
def test_softmax_backward(benchmark, rng, shape, impl):
    dtype = np.float32
    group(benchmark, "softmax backward", shape, dtype)
    y = reference.softmax(data(rng, shape, dtype)).astype(dtype)
    dy = data(rng, shape, dtype)
    dz = np.empty_like(y)
    expected = reference.softmax_backward(dy.astype(np.float64), y.astype(np.float64))

    def numpy_version():
        np.subtract(dy, (dy * y).sum(axis=1, keepdims=True), out=dz)
        np.multiply(dz, y, out=dz)
        return dz

    fn = (lambda: (_core.softmax_backward(dz, dy, y), dz)[1]) if impl == "fastmlp" else numpy_version
    run(benchmark, impl, fn, lambda out: assert_close(out, expected, dtype, "softmax backward",
                                                        scale=y * (np.abs(dy) + 1)))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_softmax_cross_entropy(benchmark, rng, shape, dtype, impl):
    group(benchmark, "softmax+xent labels", shape, dtype)
    m, n = shape
    z = data(rng, shape, dtype, 4.0)
    labels = rng.integers(0, n, size=m).astype(np.int64)
    g = np.empty_like(z)
    eloss, eg = reference.softmax_cross_entropy(z.astype(np.float64), labels)
    rows = np.arange(m)

    def numpy_version():
        np_softmax(z, g)
        loss = -np.log(np.maximum(g[rows, labels], np.finfo(dtype).tiny)).mean(dtype=np.float64)
        g[rows, labels] -= 1
        np.divide(g, m, out=g)
        return loss, g

    fn = (lambda: (_core.softmax_xent_labels(g, z, labels, None), g)) if impl == "fastmlp" else numpy_version

    def check(out):
        assert_close(out[0], eloss, dtype, "xent loss")
        assert_close(out[1], eg, dtype, "xent grad", scale=1.0 / m)

    run(benchmark, impl, fn, check)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(128, 10), (512, 128)])
def test_sigmoid_bce(benchmark, rng, shape, impl):
    dtype = np.float32
    group(benchmark, "sigmoid+bce", shape, dtype)
    m = shape[0]
    z = data(rng, shape, dtype, 4.0)
    t = (rng.uniform(size=shape) < 0.3).astype(dtype)
    g = np.empty_like(z)
    eloss, eg = reference.sigmoid_binary_cross_entropy(z.astype(np.float64), t.astype(np.float64))

    def numpy_version():
        loss = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum(dtype=np.float64) / m
        np.subtract(expit(z, out=g), t, out=g)
        np.divide(g, m, out=g)
        return loss, g

    fn = (lambda: (_core.sigmoid_bce(g, z, t, None), g)) if impl == "fastmlp" else numpy_version

    def check(out):
        assert_close(out[0], eloss, dtype, "bce loss")
        assert_close(out[1], eg, dtype, "bce grad", scale=1.0 / m)

    run(benchmark, impl, fn, check)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(128, 10), (512, 128)])
def test_squared_error(benchmark, rng, shape, impl):
    dtype = np.float32
    group(benchmark, "squared error", shape, dtype)
    m = shape[0]
    p, t = data(rng, shape, dtype), data(rng, shape, dtype)
    g = np.empty_like(p)
    eloss, eg = reference.squared_error(p.astype(np.float64), t.astype(np.float64))

    def numpy_version():
        np.subtract(p, t, out=g)
        loss = 0.5 * np.vdot(g, g) / m
        np.divide(g, m, out=g)
        return loss, g

    fn = (lambda: (_core.squared_error(g, p, t, None), g)) if impl == "fastmlp" else numpy_version

    def check(out):
        assert_close(out[0], eloss, dtype, "squared loss")
        assert_close(out[1], eg, dtype, "squared grad", scale=(np.abs(p) + np.abs(t)) / m)

    run(benchmark, impl, fn, check)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(32, 128), (128, 256), (512, 1024), (128, 10)])
def test_column_sum(benchmark, rng, shape, dtype, impl):
    group(benchmark, "column sum", shape, dtype)
    a = data(rng, shape, dtype)
    out = np.empty(shape[1], dtype)
    expected = reference.column_sum(a.astype(np.float64))
    fn = (lambda: (_core.colsum(out, a), out)[1]) if impl == "fastmlp" else (lambda: a.sum(axis=0, out=out))
    run(benchmark, impl, fn, lambda r: assert_close(r, expected, dtype, "column sum",
                                                      scale=np.abs(a).sum(axis=0)))


# ---- optimizer updates --------------------------------------------------------------

# Parameter counts of 784-128-10 (101,770), a 128-wide layer, 1024x1024.
UPDATE_SIZES = [1290, 101770, 1049600]


def state(rng, n, dtype, k):
    return [data(rng, n, dtype, 0.1) for _ in range(k)]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("n", UPDATE_SIZES)
def test_sgd_update(benchmark, rng, n, dtype, impl):
    group(benchmark, "sgd update", (n,), dtype)
    w, g = state(rng, n, dtype, 2)
    tmp = np.empty_like(w)
    expected = reference.sgd_update(w.astype(np.float64), g.astype(np.float64), lr=0.01)
    w0 = w.copy()

    def numpy_version():
        np.multiply(g, dtype(0.01), out=tmp)
        w.__isub__(tmp)
        return w

    fn = (lambda: (_core.sgd_update(w, g, 0.01, 0.0, 0.0), w)[1]) if impl == "fastmlp" else numpy_version
    check = lambda r: assert_close(r, expected, dtype, "sgd", scale=np.abs(expected) + 1e-3)
    check(fn())
    w[...] = w0
    benchmark(fn)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n", UPDATE_SIZES)
def test_nesterov_update(benchmark, rng, n, impl):
    dtype = np.float32
    group(benchmark, "nesterov update", (n,), dtype)
    w, v, g = state(rng, n, dtype, 3)
    tmp = np.empty_like(w)
    lr, mu = 0.01, 0.9
    w64, v64 = w.astype(np.float64), v.astype(np.float64)
    reference.momentum_update(w64, v64, g.astype(np.float64), lr=float(dtype(lr)),
                              momentum=float(dtype(mu)), nesterov=True)

    def numpy_version():
        v.__imul__(dtype(mu))
        np.multiply(g, dtype(lr), out=tmp)
        v.__isub__(tmp)
        w.__iadd__(v * dtype(mu) - tmp)
        return w

    fn = ((lambda: (_core.momentum_update(w, v, g, lr, mu, True, 0.0, 0.0), w)[1])
          if impl == "fastmlp" else numpy_version)
    assert_close(fn(), w64, dtype, "nesterov", scale=np.abs(w64) + 1e-2)
    benchmark(fn)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("n", UPDATE_SIZES)
def test_adam_update(benchmark, rng, n, dtype, impl):
    group(benchmark, "adam update", (n,), dtype)
    w, g = state(rng, n, dtype, 2)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    h = {k: float(dtype(x)) for k, x in dict(lr=lr, beta1=b1, beta2=b2, eps=eps).items()}
    w64 = w.astype(np.float64)
    reference.adam_update(w64, np.zeros(n), np.zeros(n), g.astype(np.float64), t=1, **h)
    tmp = np.empty_like(w)

    def numpy_version():
        m.__imul__(dtype(b1))
        m.__iadd__(dtype(1 - b1) * g)
        v.__imul__(dtype(b2))
        np.multiply(g, g, out=tmp)
        tmp.__imul__(dtype(1 - b2))
        v.__iadd__(tmp)
        step = lr * np.sqrt(1 - b2) / (1 - b1)
        np.sqrt(v, out=tmp)
        tmp.__iadd__(dtype(eps))
        np.divide(m, tmp, out=tmp)
        tmp.__imul__(dtype(step))
        w.__isub__(tmp)
        return w

    fn = ((lambda: (_core.adam_update(w, m, v, g, lr, b1, b2, eps, 1, 0.0, 0.0), w)[1])
          if impl == "fastmlp" else numpy_version)
    assert_close(fn(), w64, dtype, "adam", scale=np.abs(w64) + 1e-3)
    benchmark(fn)
