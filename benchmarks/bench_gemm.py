"""GEMM benchmarks: fastmlp vs NumPy (1 BLAS thread) on MLP layer shapes.

Each case first checks fastmlp against the float64 oracle, then times it;
fastmlp and NumPy share a pytest-benchmark group. Not a test of speed: it
asserts correctness only (see gemm_table.py for the GFLOP/s table).
"""
import contextlib

import numpy as np
import pytest

from fastmlp import kernels

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # NumPy may then use several threads; the table says so
    threadpool_limits = None

# (batch, in_features, out_features): batch 1 (serving), 32 (small-batch
# SGD), 128 and 512, over the widths of an MNIST-sized MLP.
LAYERS = [(1, 784, 128), (32, 784, 128), (32, 128, 10), (128, 784, 128), (128, 256, 256),
          (512, 1024, 1024)]

# forward Z = X @ W.T, input gradient dX = dZ @ W, weight gradient dW = dZ.T @ X
ORIENTATIONS = {"fwd": (False, True), "dX": (False, False), "dW": (True, False)}


def operands(layer, name, dtype, rng):
    b, i, o = layer
    X = rng.standard_normal((b, i)).astype(dtype)
    W = (rng.standard_normal((o, i)) * 0.05).astype(dtype)
    dZ = rng.standard_normal((b, o)).astype(dtype)
    return {"fwd": (X, W), "dX": (dZ, W), "dW": (dZ, X)}[name]


def check(a, b, ta, tb, got, dtype):
    """fastmlp vs the float64 oracle, error bound proportional to |A| @ |B|."""
    opa = a.T.astype(np.float64) if ta else a.astype(np.float64)
    opb = b.T.astype(np.float64) if tb else b.astype(np.float64)
    exact = opa @ opb
    scale = np.abs(opa) @ np.abs(opb)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    err = np.abs(got.astype(np.float64) - exact)
    assert np.all(err <= tol * scale + 1e-300), \
        f"fastmlp gemm differs from the oracle by up to {np.max(err / (scale + 1e-300)):.3g} x |A||B|"


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    ctx = threadpool_limits(1) if threadpool_limits is not None else contextlib.nullcontext()
    with ctx:
        yield


@pytest.mark.parametrize("impl", ["fastmlp", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("ori", list(ORIENTATIONS))
@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: "x".join(map(str, l)))
def test_gemm(benchmark, layer, ori, dtype, impl):
    rng = np.random.default_rng(0)
    a, b = operands(layer, ori, dtype, rng)
    ta, tb = ORIENTATIONS[ori]
    out = np.empty((a.shape[1] if ta else a.shape[0], b.shape[0] if tb else b.shape[1]), dtype)
    benchmark.group = f"gemm {np.dtype(dtype).name} {'x'.join(map(str, layer))} {ori}"
    benchmark.extra_info["gflop"] = 2e-9 * layer[0] * layer[1] * layer[2]
    if impl == "fastmlp":
        def run():
            return kernels.gemm(a, b, out, trans_a=ta, trans_b=tb, n_threads=1)
    else:
        opa, opb = (a.T if ta else a), (b.T if tb else b)

        def run():
            return np.matmul(opa, opb, out=out)
    check(a, b, ta, tb, run(), dtype)
    benchmark(run)
