"""Helpers shared by the elementwise kernel tests (activations, losses,
optimizers): comparison with the float64 oracle and finite differences.
Not a test module itself."""
import numpy as np

# Every shape family the kernels must get right: single element, primes,
# widths that are not a multiple of any vector width, tall and wide.
SHAPES = [(1, 1), (1, 7), (3, 5), (7, 13), (4, 17), (2, 33), (11, 64), (5, 129),
          (257, 3), (2, 1031)]
TAILS = list(range(1, 34))

ATOL = {np.dtype(np.float32): 1e-7, np.dtype(np.float64): 1e-15}
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def oracle_inputs(*arrays):
    """float64 copies of the kernel's own inputs: the oracle then computes the
    exact answer for exactly what the kernel was given."""
    return [None if a is None else np.asarray(a, dtype=np.float64).copy() for a in arrays]


def assert_matches(actual, expected, dtype, what, scale=None, rtol=None):
    """|actual - expected| <= rtol * (|expected| or scale) + atol * (scale or 1).

    ``scale`` is the size of the terms the value was computed from, for
    results that come out of a cancellation (softmax backward, p - y)."""
    dtype = np.dtype(dtype)
    rtol = RTOL[dtype] if rtol is None else rtol
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual) == np.isfinite(expected)), f"{what}: finiteness differs"
    ref = np.abs(expected) if scale is None else np.maximum(np.abs(expected), scale)
    tol = rtol * ref + ATOL[dtype] * (1.0 if scale is None else np.maximum(scale, 1.0))
    err = np.abs(actual - expected)
    bad = ~(err <= tol) & np.isfinite(expected)
    if np.any(bad):
        idx = np.unravel_index(np.argmax(np.where(bad, err - tol, -np.inf)), err.shape) if err.ndim else ()
        raise AssertionError(f"{what} ({dtype}): {int(bad.sum())} of {bad.size} values off; worst at "
                             f"{idx}: got {actual[idx]!r}, expected {expected[idx]!r} "
                             f"(tolerance {tol[idx] if np.ndim(tol) else tol:.3g})")


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar function f at x (float64)."""
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


def assert_grad(analytic, f, x, what, rtol=1e-6, atol=1e-8):
    num = numeric_grad(f, x.copy())
    np.testing.assert_allclose(analytic, num, rtol=rtol, atol=atol, err_msg=what)
