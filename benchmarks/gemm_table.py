"""Prints a markdown table of GEMM GFLOP/s: fastmlp vs NumPy/OpenBLAS, 1 thread.

Run: python benchmarks/gemm_table.py [--dtype float32|float64|both] [--repeat N]
It times MLP layer shapes in the three orientations (medians of repeated,
interleaved timings) and the core's measured FMA peak; it checks results
against the oracle once but asserts no speed (benchmarks/bench_gemm.py is the
pytest-benchmark version).
"""
import argparse
import contextlib
import platform
import statistics
import sys
import time

import numpy as np

import fastmlp
from fastmlp import _core, kernels

# (batch, in_features, out_features) of one dense layer.
LAYERS = [
    (1, 784, 128),
    (32, 784, 128), (32, 256, 256), (32, 128, 10), (32, 1024, 1024),
    (128, 784, 128), (128, 256, 256), (128, 128, 128), (128, 1024, 1024),
    (256, 784, 256),
    (512, 784, 256), (512, 1024, 1024),
]

# orientation -> (name, numpy expression, operands from a layer)
#   forward      Z[b,o]  = X[b,i] @ W[o,i]^T   gemm(X, W, trans_b)
#   input grad   dX[b,i] = dZ[b,o] @ W[o,i]     gemm(dZ, W)
#   weight grad  dW[o,i] = dZ[b,o]^T @ X[b,i]   gemm(dZ, X, trans_a)
ORIENTATIONS = ["fwd X@W.T", "dX dZ@W", "dW dZ.T@X"]


def operands(layer, ori, dtype, rng):
    b, i, o = layer
    X = rng.standard_normal((b, i)).astype(dtype)
    W = (rng.standard_normal((o, i)) * 0.05).astype(dtype)
    dZ = rng.standard_normal((b, o)).astype(dtype)
    if ori == 0:
        return X, W, False, True, np.empty((b, o), dtype)
    if ori == 1:
        return dZ, W, False, False, np.empty((b, i), dtype)
    return dZ, X, True, False, np.empty((o, i), dtype)


def numpy_call(a, b, ta, tb, out):
    return np.matmul(a.T if ta else a, b.T if tb else b, out=out)


THREADS = 1  # --threads: fastmlp and OpenBLAS use the same count


def fastmlp_call(a, b, ta, tb, out):
    return kernels.gemm(a, b, out, trans_a=ta, trans_b=tb, n_threads=THREADS)


CLOCK = time.perf_counter


def time_per_call(fn, target=0.02):
    """Seconds per call, from a loop long enough to be timed (~target s)."""
    fn()
    n, t = 1, 0.0
    while True:
        t0 = CLOCK()
        for _ in range(n):
            fn()
        t = CLOCK() - t0
        if t >= target:
            return t / n
        n = max(2 * n, int(n * target / max(t, 1e-9)) + 1)


def settle():
    """With more than one thread, wait until the other library's workers stop
    spinning: OpenBLAS's threads busy-wait for a while after each call, and
    measured here they took the second core from fastmlp's worker (its
    2-thread rate fell from ~175 to ~120 GFLOP/s right after NumPy ran)."""
    if THREADS > 1:
        time.sleep(0.2)


def measure(layer, ori, dtype, repeat, rng, probe, stat=statistics.median):
    """Median GFLOP/s of fastmlp, NumPy and the FMA probe (fp32 FLOP/s, or
    half of it for float64), timed interleaved so machine load drifting
    during the run hits all three alike."""
    a, b, ta, tb, out = operands(layer, ori, dtype, rng)
    ref = (a.T.astype(np.float64) if ta else a.astype(np.float64)) @ (
        b.T.astype(np.float64) if tb else b.astype(np.float64))
    got = fastmlp_call(a, b, ta, tb, out.copy())
    err = np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30)
    if err > (1e-4 if dtype == np.float32 else 1e-10):
        raise AssertionError(f"fastmlp differs from the reference on {layer} {ORIENTATIONS[ori]}")
    fm, npy, pk = [], [], []
    for _ in range(repeat):
        settle()
        fm.append(time_per_call(lambda: fastmlp_call(a, b, ta, tb, out)))
        settle()
        npy.append(time_per_call(lambda: numpy_call(a, b, ta, tb, out)))
        if probe is not None:
            pk.append(probe())
    flop = 2.0 * layer[0] * layer[1] * layer[2]
    # times -> rates: the fastest time is the best rate, so `stat` (median or
    # min) applies to times, and peak rates to their own (median or max).
    pstat = max if stat is min else stat
    peak = pstat(pk) / (1 if dtype == np.float32 else 2) if pk else None
    return flop / stat(fm) / 1e9, flop / stat(npy) / 1e9, peak


def fma_probe():
    """A callable returning one timing of the FMA-only loop in GFLOP/s, or
    None when only the portable path runs here."""
    isa = _core.best_isa()
    if isa == 0:
        return None, "generic"
    iters = 100_000

    def once():
        t = time_per_call(lambda: _core.fma_peak_probe(isa, iters), target=0.01)
        return _core.fma_peak_probe(isa, iters) / t / 1e9
    return once, _core.ISA_NAMES[isa]


def blas_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("(threadpoolctl missing: NumPy's BLAS may use another thread count)", file=sys.stderr)
        return contextlib.nullcontext()
    return threadpool_limits(n)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--layers", default=None, help="e.g. 32x784x128,512x1024x1024 (batch x in x out)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time (default), or this thread's CPU time, which other jobs "
                        "on a shared machine do not inflate (everything here runs in the "
                        "calling thread: fastmlp, 1-thread OpenBLAS and the probe)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for both fastmlp and OpenBLAS (default 1); '%% peak' then uses "
                        "the 1-core probe times this count, and the clock must be wall")
    p.add_argument("--stat", choices=["median", "best"], default="median",
                   help="median of the repeats (default), or the best one when other jobs "
                        "share the machine")
    args = p.parse_args(argv)
    layers = LAYERS if not args.layers else [tuple(int(v) for v in s.split("x"))
                                              for s in args.layers.split(",")]
    dtypes = [np.float32, np.float64] if args.dtype == "both" else [np.dtype(args.dtype).type]
    rng = np.random.default_rng(0)
    stat = statistics.median if args.stat == "median" else min
    global CLOCK, THREADS
    THREADS = max(1, args.threads)
    if THREADS > 1 and args.clock == "cpu":
        p.error("--clock cpu measures one thread; use the wall clock with --threads > 1")
    CLOCK = time.perf_counter if args.clock == "wall" else time.thread_time
    with blas_threads(THREADS):
        probe, isa = fma_probe()
        print(f"fastmlp ISA: {fastmlp.get_isa()}; NumPy {np.__version__}; "
              f"{platform.processor() or platform.machine()}; {args.repeat} repeats, "
              f"{'medians' if args.stat == 'median' else 'best of them'}, {args.clock} clock, "
              f"{THREADS} thread(s) each")
        if probe:
            print(f"FMA peak probe ({isa}, 12 independent FMA chains, fp32, 1 core): "
                  f"{(max if args.stat == 'best' else statistics.median)(probe() for _ in range(args.repeat)):.1f} GFLOP/s; "
                  f"fp64 is half. Each row's '% peak' uses the probe timed alongside it.")
        print()
        print("| dtype | batch x in x out | orientation | fastmlp GFLOP/s | NumPy GFLOP/s "
              "| ratio | fastmlp % peak |")
        print("|---|---|---|---:|---:|---:|---:|")
        for dtype in dtypes:
            for layer in layers:
                for ori in range(3):
                    f, n, pk = measure(layer, ori, dtype, args.repeat, rng, probe, stat)
                    pct = f"{100 * f / (pk * THREADS):.0f}%" if pk else "-"
                    print(f"| {np.dtype(dtype).name} | {'x'.join(map(str, layer))} | "
                          f"{ORIENTATIONS[ori]} | {f:.1f} | {n:.1f} | {f / n:.2f} | {pct} |",
                          flush=True)


if __name__ == "__main__":
    main()
