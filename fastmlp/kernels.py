"""Every C kernel as a NumPy-in, NumPy-out function.

Each function validates dtype, shape and contiguity (clear errors, never a
conversion behind your back), allocates the output when ``out``/``c`` is not
given, and calls C with the GIL released. These are the building blocks the
engine uses, exposed for testing, benchmarking and teaching; the oracle for
each is the function of the same name in ``fastmlp.reference``.
"""
import threading

import numpy as np

from . import _core
from ._validation import kernel_array, no_overlap, real_scalar

__all__ = ["gemm"]

# GEMM packing scratch, grown on demand and kept per thread: allocating it on
# every call costs more than the whole product at small shapes. The C side
# caps the need (one MC x KC block of A plus one KC x NC block of B, about
# 4-9 MB), so the cache never outgrows that.
_gemm_tls = threading.local()


def _gemm_work(nbytes):
    buf = getattr(_gemm_tls, "work", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(nbytes, dtype=np.uint8)
        _gemm_tls.work = buf
    return buf


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """Return ``alpha * op(a) @ op(b) + beta * c``, computed into ``c``.

    ``op(x)`` is ``x.T`` when the matching ``trans_`` flag is set. ``a``, ``b``
    and ``c`` are 2-D float32 or float64 arrays of one dtype with unit column
    stride (C-contiguous, or column slices of C-contiguous arrays). With
    ``c=None`` a new array is returned and ``beta`` must be 0. ``c`` must not
    share memory with ``a`` or ``b``. The MLP products are
    ``gemm(X, W, trans_b=True)`` (forward), ``gemm(dZ, W)`` (input gradient)
    and ``gemm(dZ, X, trans_a=True)`` (weight gradient).
    """
    # Fast path: a few C-level checks accept the plainly valid call (they
    # say only yes/no); anything else goes through the full validation
    # below, which raises the explanatory errors. Saves ~5 us per call.
    size = _core.gemm_precheck(c, a, b, trans_a, trans_b, alpha, beta)
    if size >= 0:
        if c is None:
            c = np.empty((a.shape[1] if trans_a else a.shape[0],
                          b.shape[0] if trans_b else b.shape[1]), dtype=a.dtype)
        _core.gemm(c, a, b, trans_a, trans_b, alpha, beta, _gemm_work(size) if size else None)
        return c
    kernel_array("a", a, ndim=2, row_strided=True)
    kernel_array("b", b, ndim=2, dtype=a.dtype, dtype_of="a", row_strided=True)
    alpha = real_scalar("alpha", alpha)
    beta = real_scalar("beta", beta)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if kb != k:
        raise ValueError(f"inner dimensions differ: op(a) is {m}x{k} but op(b) is {kb}x{n}; "
                         f"check trans_a/trans_b")
    if c is None:
        if beta != 0.0:
            raise ValueError("beta must be 0 when c is not given (there is no c to scale)")
        c = np.empty((m, n), dtype=a.dtype)
    else:
        kernel_array("c", c, ndim=2, dtype=a.dtype, dtype_of="a", writeable=True, row_strided=True)
        if c.shape != (m, n):
            raise ValueError(f"c must have shape {(m, n)} for these a and b, got {c.shape}")
        no_overlap("c", c, ("a", a), ("b", b))
    f32 = a.dtype == np.float32
    size = _core.gemm_work_size(m, n, k, bool(trans_a), bool(trans_b), f32)
    work = _gemm_work(size) if size else None
    _core.gemm(c, a, b, bool(trans_a), bool(trans_b), alpha, beta, work)
    return c
