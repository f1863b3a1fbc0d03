"""The engine's importable entry points (fastmlp._engine.Engine, fastmlp._core.NetCore) given
arrays whose shapes or dtypes do not fit the network.
It deliberately bypasses the estimators (which always pass fitting arrays): DESIGN.md has the
Cython layer re-check shape relations because its functions are importable, so a wrong
shape must raise, never read or write outside an array.

Each call runs in a child process on arrays that end exactly at an inaccessible page, so an
out-of-bounds read or write crashes the child (SIGSEGV) instead of passing unnoticed; the
test wants the child to report a clean exception. NetCore checks, in O(1), that every array
fits before each `with nogil:` block (fastmlp/_network.pxi).
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent("""
    import ctypes, mmap, sys
    import numpy as np
    from fastmlp._engine import Engine

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    keep = []

    def fenced(shape, dtype, fill=1.0):
        '''An array whose last byte is followed by a PROT_NONE page.'''
        dtype = np.dtype(dtype)
        n = int(np.prod(shape)) * dtype.itemsize
        page = mmap.PAGESIZE
        size = (n // page + 2) * page
        buf = mmap.mmap(-1, size)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        if libc.mprotect(addr + size - page, page, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect failed")
        keep.append(buf)
        a = np.frombuffer(buf, np.uint8, count=n, offset=size - page - n).view(dtype)
        a = a.reshape(shape)
        a[...] = fill
        return a

    f32 = np.float32
    e = Engine((4, 8, 3), hidden_activation="relu", output_activation="softmax",
               loss="cross_entropy", dtype=f32)
    e.set_optimizer("adam", learning_rate=0.01)
    X = fenced((10, 4), f32)
    y = fenced((10,), np.int64, 0)
    work = np.empty(e._core.forward_work_size(10), np.uint8)
    bce = Engine((4, 3), hidden_activation="relu", output_activation="logistic",
                 loss="binary_cross_entropy", dtype=f32)
    calls = {
        "forward-X-too-narrow": lambda: e.forward(fenced((10, 2), f32)),
        "forward-out-too-small": lambda: e._core.forward(X, fenced((2, 3), f32), work),
        "forward-X-other-dtype": lambda: e._core.forward(fenced((10, 2), np.float16), fenced(
            (10, 3), f32), work),
        "forward-work-too-small": lambda: e._core.forward(X, fenced((10, 3), f32),
                                                          fenced((8,), np.uint8, 0)),
        "train-X-too-narrow": lambda: e.train_epoch(fenced((10, 2), f32), y, batch_size=4,
                                                    shuffle=False),
        "train-labels-too-short": lambda: e.train_epoch(X, fenced((3,), np.int64, 0),
                                                        batch_size=4, shuffle=False),
        "train-labels-out-of-range": lambda: e.train_epoch(X, fenced((10,), np.int64, 7),
                                                           batch_size=4, shuffle=False),
        "train-weights-too-short": lambda: e.train_epoch(X, y, fenced((3,), f32),
                                                         batch_size=4, shuffle=False),
        "loss-X-too-narrow": lambda: e.loss(fenced((10, 2), f32), y),
        "loss-Y-too-narrow": lambda: bce.loss(X, fenced((10, 1), f32, 0)),
        "fits": lambda: e.train_epoch(X, y, batch_size=4, shuffle=False),
    }
    try:
        calls[sys.argv[1]]()
    except (ValueError, TypeError, RuntimeError) as exc:
        print("raised", type(exc).__name__, exc)
    else:
        print("no error")
""")

CASES = [
    "forward-X-too-narrow",
    "forward-out-too-small",
    "forward-X-other-dtype",
    "forward-work-too-small",
    "train-X-too-narrow",
    "train-labels-too-short",
    "train-labels-out-of-range",
    "train-weights-too-short",
    "loss-X-too-narrow",
    "loss-Y-too-narrow",
]


def run_case(case, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # Under tools/sanitize.sh a crash here is the expected outcome of an open bug: keep its
    # report out of the run's report folder.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + f":log_path={tmp_path}/asan"
    env["UBSAN_OPTIONS"] = env.get("UBSAN_OPTIONS", "") + f":log_path={tmp_path}/ubsan"
    return subprocess.run([sys.executable, "-c", CHILD, case], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.skipif(sys.platform != "linux", reason="fences arrays with mprotect (Linux)")
@pytest.mark.parametrize("case", CASES)
def test_a_misfitting_array_raises_instead_of_reaching_past_it(tmp_path, case):
    proc = run_case(case, tmp_path)
    assert proc.returncode == 0, f"the child crashed (status {proc.returncode}): " \
                                 f"{proc.stderr[-500:]}"
    assert proc.stdout.startswith("raised"), proc.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="fences arrays with mprotect (Linux)")
def test_fenced_arrays_work_and_catch_a_stray_read(tmp_path):
    """The control: fitting arrays train normally in the fence, and reading one element past
    a fenced array kills the child."""
    proc = run_case("fits", tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("no error"), proc.stderr[-500:]
    probe = CHILD.replace('calls[sys.argv[1]]()', 'a = fenced((4,), np.float64); '
                          'np.ctypeslib.as_array(ctypes.cast(a.ctypes.data, '
                          'ctypes.POINTER(ctypes.c_double)), (5,)).sum()')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + f":log_path={tmp_path}/a")
    proc = subprocess.run([sys.executable, "-c", probe, "fits"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode != 0
