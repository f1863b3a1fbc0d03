"""Shared benchmark helpers.

Every benchmark checks its result against fastmlp.reference before timing it,
so `pytest benchmarks --benchmark-disable` (CI) runs each check once and
`pytest benchmarks --benchmark-only` times them. The fastmlp kernel and its
NumPy version share a group, so pytest-benchmark prints them side by side.
"""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def assert_close(actual, expected, dtype, what, scale=None):
    """Equality with the oracle at the dtype's tolerance, before timing.

    ``scale`` (elementwise, broadcastable) is the magnitude the rounding error
    is proportional to, e.g. |A| @ |B| for a GEMM; by default |expected|.
    """
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-10
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if scale is None:
        scale = np.abs(expected)
    err = np.abs(actual - expected) - tol * (np.asarray(scale) + 1e-30)
    if np.any(err > 0):
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        raise AssertionError(f"{what}: fastmlp differs from the reference at {worst}: "
                             f"{actual[worst]} vs {expected[worst]}")
