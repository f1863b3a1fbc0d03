"""Input checks shared by everything public.

Every check raises TypeError (wrong kind of thing) or ValueError (right kind,
wrong value) with a message that names the argument, says what was wrong and
what would be right. Nothing here computes or allocates model state.
"""
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"a {type(x).__name__}"


def kernel_array(name, a, *, ndim, dtype=None, dtype_of=None, writeable=False,
                 row_strided=False):
    """Check an array passed to a low-level kernel; return it unchanged.

    Kernels never convert: the caller passes float32 or float64 arrays of one
    dtype, C-contiguous (or, with ``row_strided``, any positive row stride and
    unit column stride, such as a column slice of a C-contiguous array).
    ``dtype``/``dtype_of`` name the dtype the array must share with another
    argument.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of float32 or float64, got {_describe(a)}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}; "
                        f"convert it with {name}.astype(np.float32)")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but {dtype_of} has dtype {np.dtype(dtype)}; "
                        f"pass arrays of one dtype")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {a.ndim}-D with shape {a.shape}")
    if row_strided and ndim == 2:
        item = a.itemsize
        ok = a.size == 0 or (
            (a.shape[1] <= 1 or a.strides[1] == item)
            and (a.shape[0] <= 1 or (a.strides[0] % item == 0 and a.strides[0] >= a.shape[1] * item))
        )
        if not ok:
            raise ValueError(f"{name} must have unit column stride and rows that do not overlap "
                             f"(strides {a.strides}); pass np.ascontiguousarray({name})")
    elif not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} is read-only but the kernel writes to it; pass a writeable array")
    return a


def no_overlap(out_name, out, *inputs):
    """Refuse an output that shares memory with an input it must not alias."""
    for name, arr in inputs:
        if arr is not None and np.may_share_memory(out, arr):
            raise ValueError(f"{out_name} shares memory with {name}; pass a separate output array")


def real_scalar(name, value):
    """A finite real number (bool refused), returned as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value
