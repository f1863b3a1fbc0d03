"""Memory check: peak RSS of fitting 784-800-10 on MNIST, and of predicting
1,000,000 rows, each measured in a fresh child process.

Run: python benchmarks/memory_check.py [--quick] [--json]
(exit status 1 when a bound is exceeded; bench_memory.py runs --quick in CI).

- fit: the child imports everything and fits a tiny model once (lazy imports,
  worker threads), notes its RSS, loads X (float32, C-contiguous, from .npy:
  no transient copies), resets the kernel's peak-RSS counter and fits
  MLPClassifier 784-800-10 (SGD, momentum 0.9, batch 128, 2 threads) for a few
  epochs. Bound (the issue's): peak RSS - RSS after imports <= X.nbytes + 64 MiB,
  i.e. no copy of X and at most 64 MiB for everything else.
- predict: the child fits 784-800-10 on a little synthetic data, then calls
  predict_proba on a 1,000,000 x 784 float32 np.memmap (a sparse file: no RAM
  for X). A thread samples the process's anonymous RSS every millisecond;
  bound: peak anonymous RSS growth minus the output array <= 16 MiB, where
  holding a 1,000,000 x 800 hidden array would take 3 GiB. As a control, the
  same forward pass in plain NumPy (on up to 50,000 of the rows) is measured
  the same way and shows its hidden array (else the sampler could not have
  seen fastmlp's).

Peaks come from /proc/self/status (VmHWM, RssAnon): ru_maxrss is not used
because a child started with fork/vfork + exec starts with its parent's
maximum RSS (Linux keeps the pre-exec value), so it reports the parent's
size. Linux only; elsewhere the check says it cannot measure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

MiB = 1 << 20
FIT_SLACK = 64 * MiB
PREDICT_SLACK = 16 * MiB

FULL = dict(fit_rows=60_000, fit_epochs=3, predict_rows=1_000_000)
QUICK = dict(fit_rows=4_000, fit_epochs=1, predict_rows=20_000)
HIDDEN = 800
CONTROL_ROWS = 50_000
N_FEATURES = 784


# ---- inside the child -----------------------------------------------------------------

def _status():
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim():
    """Give freed heap back to the OS, so memory reused from it cannot hide
    growth (glibc only; harmless elsewhere)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _classifier(hidden, epochs, **extra):
    import fastmlp

    return fastmlp.MLPClassifier(hidden_layer_sizes=(hidden,), solver="sgd",
                                 learning_rate_init=0.05, momentum=0.9, batch_size=128,
                                 max_iter=epochs, random_state=0, n_threads=2,
                                 dtype="float32", **extra)


def child_fit(data_dir, hidden, epochs):
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    Xw = rng.uniform(0, 1, (512, N_FEATURES)).astype(np.float32)
    _classifier(hidden, 1).fit(Xw, np.arange(512) % 10)     # imports, threads, one-time setup
    del Xw
    _trim()
    rss_imports = _status()["VmRSS"]
    X = np.load(os.path.join(data_dir, "X.npy"))
    y = np.load(os.path.join(data_dir, "y.npy"))
    assert X.dtype == np.float32 and X.flags.c_contiguous
    rss_x = _status()["VmRSS"]
    reset = _reset_peak()
    t0 = time.perf_counter()
    clf = _classifier(hidden, epochs)
    clf.fit(X, y)
    seconds = time.perf_counter() - t0
    peak = _status()["VmHWM"]
    return dict(rows=int(X.shape[0]), x_bytes=int(X.nbytes), epochs=int(clf.n_iter_),
                rss_imports=rss_imports, rss_x=rss_x, peak=peak, peak_reset=reset,
                fit_seconds=seconds)


def child_predict(tmp_dir, rows, hidden):
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    Xs = rng.uniform(0, 1, (2_000, N_FEATURES)).astype(np.float32)
    clf = _classifier(hidden, 1)
    clf.fit(Xs, np.arange(2_000) % 10)
    clf.predict_proba(Xs)                                   # warm the predict path once
    path = os.path.join(tmp_dir, "X.f32")
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, N_FEATURES))  # sparse file
    X[:2_000] = Xs
    X.flush()
    del X
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, N_FEATURES))
    reset = _reset_peak()
    rss_before = _status()["VmRSS"]
    out, anon_before, anon_peak, seconds = _anon_peak_during(lambda: clf.predict_proba(X))
    after = _status()
    ok = bool(np.allclose(out[:2_000], clf.predict_proba(Xs), atol=1e-6))
    out_bytes = int(out.nbytes)
    del out

    # Control: the same forward pass in plain NumPy, which does hold the whole
    # hidden array; the sampler must see it, or it could not see fastmlp's either.
    # (On at most 50,000 rows: NumPy would need several GiB for all of them.)
    W1, W2 = [np.ascontiguousarray(c) for c in clf.coefs_]
    b1, b2 = clf.intercepts_
    Xc = X[:min(rows, CONTROL_ROWS)]

    def numpy_forward():
        h = np.maximum(Xc @ W1 + b1, 0)
        z = h @ W2 + b2
        return z

    _, control_before, control_peak, _ = _anon_peak_during(numpy_forward)
    return dict(rows=rows, hidden=hidden, out_bytes=out_bytes,
                hidden_array_bytes=rows * hidden * 4, anon_before=anon_before,
                anon_peak=anon_peak, hwm_growth=after["VmHWM"] - rss_before,
                peak_reset=reset, file_rss_after=after["RssFile"], predict_seconds=seconds,
                outputs_match=ok, control_growth=control_peak - control_before,
                control_rows=int(Xc.shape[0]), control_hidden_bytes=int(Xc.shape[0]) * hidden * 4)


def _anon_peak_during(fn):
    """(fn(), anonymous RSS before, its peak while fn ran, seconds): a thread
    samples RssAnon every millisecond (fastmlp and NumPy release the GIL)."""
    _trim()
    base = _status()["RssAnon"]
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _status()["RssAnon"])
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _status()["RssAnon"])
    return result, base, peak[0], seconds


# ---- in the parent ----------------------------------------------------------------------

def _run_child(args):
    import fastmlp

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastmlp.__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"] + args,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory_check child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def can_measure():
    return sys.platform.startswith("linux") and os.path.exists("/proc/self/status")


def check_fit(rows, epochs, hidden=HIDDEN):
    """Fit peak in a child; MNIST's first ``rows`` rows when present, else
    uniform synthetic pixels of the same shape (the result says which)."""
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _peers

    data = _peers.load_mnist_train()
    with tempfile.TemporaryDirectory() as tmp:
        if data is not None:
            X, y = data[0][:rows], data[1][:rows]
            source = f"MNIST train, first {rows} rows"
        else:
            rng = np.random.default_rng(0)
            X = rng.uniform(0, 1, (rows, N_FEATURES)).astype(np.float32)
            y = rng.integers(0, 10, rows)
            source = f"synthetic uniform pixels, {rows} rows (MNIST not found)"
        np.save(os.path.join(tmp, "X.npy"), np.ascontiguousarray(X, dtype=np.float32))
        np.save(os.path.join(tmp, "y.npy"), np.asarray(y, dtype=np.int64))
        del X, y
        r = _run_child(["fit", tmp, str(hidden), str(epochs)])
    r["data"] = source
    r["hidden"] = hidden
    r["growth"] = r["peak"] - r["rss_imports"]
    r["limit"] = r["x_bytes"] + FIT_SLACK
    r["fit_extra"] = r["peak"] - r["rss_x"]
    r["ok"] = r["growth"] <= r["limit"]
    return r


def check_predict(rows, hidden=HIDDEN):
    with tempfile.TemporaryDirectory() as tmp:
        r = _run_child(["predict", tmp, str(rows), str(hidden)])
    r["extra"] = r["anon_peak"] - r["anon_before"] - r["out_bytes"]
    r["limit"] = PREDICT_SLACK
    r["ok"] = r["extra"] <= r["limit"] and r["outputs_match"]
    return r


def describe_fit(r):
    return (f"fit {N_FEATURES}-{r['hidden']}-10, {r['epochs']} epoch(s) on {r['data']}: "
            f"X {r['x_bytes'] / MiB:.1f} MiB; peak RSS - RSS after imports = "
            f"{r['growth'] / MiB:.1f} MiB (bound X + 64 MiB = {r['limit'] / MiB:.1f} MiB); "
            f"beyond X: {r['fit_extra'] / MiB:.1f} MiB -> {'OK' if r['ok'] else 'EXCEEDED'}")


def describe_predict(r):
    return (f"predict_proba on {r['rows']:,} x {N_FEATURES} float32 (memmap), "
            f"{N_FEATURES}-{r['hidden']}-10: peak anonymous RSS growth "
            f"{(r['anon_peak'] - r['anon_before']) / MiB:.1f} MiB, of which the output is "
            f"{r['out_bytes'] / MiB:.1f} MiB; beyond it {max(r['extra'], 0) / MiB:.2f} MiB (bound "
            f"{r['limit'] / MiB:.0f} MiB; a {r['rows']:,} x {r['hidden']} hidden array would be "
            f"{r['hidden_array_bytes'] / MiB:.0f} MiB; control: NumPy's forward pass on "
            f"{r['control_rows']:,} rows grew it {r['control_growth'] / MiB:.0f} MiB, its hidden "
            f"array being {r['control_hidden_bytes'] / MiB:.0f} MiB) -> {'OK' if r['ok'] else 'EXCEEDED'}")


def run(quick=False):
    sizes = QUICK if quick else FULL
    return {"fit": check_fit(sizes["fit_rows"], sizes["fit_epochs"]),
            "predict": check_predict(sizes["predict_rows"])}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        kind, rest = argv[1], argv[2:]
        if kind == "fit":
            result = child_fit(rest[0], int(rest[1]), int(rest[2]))
        else:
            result = child_predict(rest[0], int(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled down (the CI version)")
    p.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    args = p.parse_args(argv)
    if not can_measure():
        print("memory_check: needs Linux /proc/self/status; nothing measured")
        return 0
    results = run(args.quick)
    if args.json:
        print(json.dumps(results, indent=2))
    print(describe_fit(results["fit"]))
    print(describe_predict(results["predict"]))
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        import fastmlp  # noqa: F401
    except ImportError:  # run from a source checkout without installing
        sys.path.insert(0, os.path.dirname(here))
    sys.exit(main())
