"""The NumPy oracle: a plain implementation of every kernel.

This is the ground truth for tests and benchmarks, so it is written to be
obviously right, not fast. It computes in the dtype it is given; tests that
want the exact answer pass float64 copies.
"""
import numpy as np


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c."""
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    out = alpha * (opa @ opb)
    if c is not None and beta != 0.0:
        out = out + beta * c
    return out.astype(a.dtype, copy=False)
