"""Speed report: measures every target of issue 4 on this machine and writes
the "Speed" section of BENCHMARKS.md (only that section, between its markers).

Run from the repository root, with the extension built and the peers
installed (pip install -e '.[bench]'):

    python benchmarks/speed_report.py

It takes several minutes on 2 cores. Options: --repeat N (rounds per
measurement, medians; default 5), --quick (fewer rounds and smaller checks, to
try the script; do not publish its table), --only epoch,predict,gemm,memory,
check (print those only; BENCHMARKS.md is written only by a full run),
--output PATH, --json PATH (raw numbers), --no-write.

How it measures: correctness first (the fastmlp epoch against the reference
engine in float64, every predictor's output against fastmlp's), then the
timings, with the frameworks interleaved round by round (so load drifting
during the run hits them alike) and medians reported. Peers run at 2 threads
as the issue says, and at 1 thread too; a ratio is taken against the peer's
faster setting, so a peer is never shown at a thread count that hurts it.
The GEMM rows come from benchmarks/gemm_table.py (1 thread, NumPy/OpenBLAS
limited to 1 thread), the memory rows from benchmarks/memory_check.py.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
try:
    import fastmlp  # noqa: F401
except ImportError:  # a source checkout that was built in place but not installed
    sys.path.insert(1, ROOT)

import numpy as np  # noqa: E402

import fastmlp  # noqa: E402
import _peers as P  # noqa: E402

# The marker convention the other BENCHMARKS.md writers use too (accuracy, GEMM):
# each owns the text between its own pair.
BEGIN = "<!-- speed:begin -->"
END = "<!-- speed:end -->"
COMMAND = "python benchmarks/speed_report.py"

# From ../shared/PERFORMANCE.md: the project's reference machine (2 cores of an
# AMD EPYC Zen 4 with AVX-512, NumPy 2.4 / OpenBLAS 0.3.31, PyTorch 2.13 CPU).
REFERENCE_MACHINE = {
    "fma_peak": "about 106 (512-bit) / 114 (256-bit) GFLOP/s fp32 per core; 210-230 on 2 cores",
    "epoch": [  # network, batch, sklearn, torch, numpy, FLOP bound at 200 GFLOP/s
        ("784-128-10", 128, "0.49 s", "0.47 s", "0.26 s", "0.18 s"),
        ("784-128-10", 32, "3.12 s", "0.96 s", "0.50 s", "0.18 s"),
        ("784-512-10", 128, "2.21 s", "1.63 s", "1.49 s", "0.73 s"),
    ],
    "predict": [  # rows, sklearn, torch, numpy, onnxruntime
        (1, "178 us", "33 us", "13 us", "14 us (1 thread)"),
        (1000, "2.0 ms", "1.7 ms", "-", "1.0 ms (2 threads)"),
    ],
}

GEMM_SET = {128, 256, 784, 1024}


# ---- the machine ------------------------------------------------------------------------

def _version(mod):
    try:
        module = __import__(mod)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "?")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _blas():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')} kernels)"
    return "unknown"


def _git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def machine():
    flags = _cpu_flags()
    isa_flags = [f for f in ("avx512f", "avx2", "fma") if f in flags]
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "cpu_isa_flags": ", ".join(isa_flags) or "none of avx512f/avx2/fma",
        "fastmlp_isa": fastmlp.get_isa(),
        "fastmlp_isas": ", ".join(fastmlp.available_isas()),
        "fastmlp": f"{fastmlp.__version__}, commit {_git_commit()}",
        "python": platform.python_version(),
        "numpy": f"{np.__version__}, BLAS {_blas()}",
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "sklearn": _version("sklearn"),
        "skl2onnx": _version("skl2onnx"),
        "threadpoolctl": _version("threadpoolctl"),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def loadavg():
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- FMA peak and GEMM -------------------------------------------------------------------

def measure_peaks(repeat):
    """Best of ``repeat`` runs of the FMA probe on 1 and on 2 threads: other
    load can only lower a peak, so the maximum is the estimate (and a higher
    peak makes the FLOP bound stricter, never laxer)."""
    return {"1": P.best_fma_peak(1, repeat), "2": P.best_fma_peak(2, repeat)}


def measure_gemm(repeat, threads=(1, 2)):
    """The GEMM table at each thread count, fastmlp and OpenBLAS given the same
    count (the issue compares at the same thread count)."""
    import gemm_table as G

    rows = []
    rng = np.random.default_rng(0)
    saved = G.THREADS
    try:
        for t in threads:
            G.THREADS = t
            with G.blas_threads(t):
                probe, isa = G.fma_probe()
                for dtype in (np.float32, np.float64):
                    for layer in G.LAYERS:
                        for ori in range(3):
                            f, n, pk = G.measure(layer, ori, dtype, repeat, rng,
                                                 probe if t == 1 else None)
                            rows.append({"dtype": np.dtype(dtype).name, "layer": list(layer),
                                         "orientation": G.ORIENTATIONS[ori], "fastmlp": f,
                                         "numpy": n, "peak": pk, "threads": t})
    finally:
        G.THREADS = saved
    return {"rows": rows, "probe_isa": isa}


def gemm_targets(gemm):
    """The issue's GEMM targets from the measured rows: (name, rows, kind, goal),
    the ratio targets once per thread count measured."""
    out = []
    counts = sorted({r.get("threads", 1) for r in gemm["rows"]})
    for dtype in ("float32", "float64"):
        for t in counts:
            rows = [r for r in gemm["rows"] if r["dtype"] == dtype and r.get("threads", 1) == t]
            big = [r for r in rows if r["layer"][0] >= 128 and r["layer"][1] in GEMM_SET
                   and r["layer"][2] in GEMM_SET]
            b32 = [r for r in rows if r["layer"][0] == 32 and r["layer"][1] in GEMM_SET
                   and r["layer"][2] in GEMM_SET]
            each = f"{t} thread{'s' if t > 1 else ''} each"
            out.append((f"GEMM {dtype}, batch >= 128, K and N in {{128, 256, 784, 1024}}, 3 orientations: "
                        f">= 1.0x NumPy/OpenBLAS ({each})", big, "ratio", 1.0))
            out.append((f"GEMM {dtype}, batch 32, same K and N: >= 1.5x NumPy/OpenBLAS ({each})", b32,
                        "ratio", 1.5))
            if t == 1:
                peak = [r for r in rows if r["layer"] == [512, 1024, 1024]]
                out.append((f"GEMM {dtype}, 512 x 1024 x 1024, 1 core: >= 85 % of the FMA peak"
                            f"{' (fp64: half the fp32 peak)' if dtype == 'float64' else ''}", peak,
                            "peak", 0.85))
    return out


# ---- the training epoch --------------------------------------------------------------------

def check_trajectory(rows):
    """fastmlp's epoch vs the reference engine's, float64, 784-128-10 batch 128,
    same seed: (relative loss difference, relative weight difference, rows)."""
    data = P.load_mnist_train()
    X = np.ascontiguousarray(data[0][:rows], dtype=np.float64)
    y = data[1][:rows]
    init = P.init_params((784, 128, 10), seed=1, dtype=np.float64)
    ref = P.FastmlpTrainer(init, batch=128, dtype=np.float64, engine="reference", seed=7)
    fast = P.FastmlpTrainer(init, batch=128, dtype=np.float64, seed=7)
    lr_, lf = ref.epoch(X, y), fast.epoch(X, y)
    return {"loss_rel": abs(lf - lr_) / abs(lr_), "weights_rel": P.max_rel_diff(fast.params(), ref.params()),
            "rows": int(rows), "loss": lf}


def measure_epochs(repeat, peer_thread_counts, n_rows):
    """{config label: {runner label: [seconds per round]}} plus the runners'
    descriptions. Runners are timed interleaved: every round times each of
    them once (the order rotates), from the same initial weights."""
    data = P.load_mnist_train()
    X, y = data[0][:n_rows], data[1][:n_rows]
    results, skipped = {}, {}
    for label, sizes, batch in P.EPOCH_CONFIGS:
        init = P.init_params(sizes, seed=0)
        runners = {}
        for name in P.TRAINERS:
            why = P.trainer_missing(name)
            if why:
                skipped[name] = why
                continue
            # fastmlp's engine also at 1 thread, for information (the targets use 2)
            counts = {"fastmlp": [P.THREADS, 1], "fastmlp-estimator": [P.THREADS]}.get(
                name, peer_thread_counts)
            for threads in counts:
                trainer = P.make_trainer(name, init, batch=batch, threads=threads)
                # sanity before timing: one epoch on a subset lowers the loss
                Xs, ys = X[:2048], y[:2048]
                before = P.mean_xent(init, Xs, ys)
                with P.threadpool_limits(threads):
                    trainer.epoch(Xs, ys)
                after = P.mean_xent(trainer.params(), Xs, ys)
                if not (np.isfinite(after) and after < before):
                    raise AssertionError(f"{name} did not lower the loss ({before} -> {after})")
                runners[f"{name}@{threads}"] = (trainer, threads)
        times = {key: [] for key in runners}
        keys = list(runners)
        log(f"epoch {label}: {len(keys)} runners x {repeat} rounds on {n_rows} rows")
        for r in range(repeat):
            for key in keys[r % len(keys):] + keys[:r % len(keys)]:
                trainer, threads = runners[key]
                trainer.reset(init)
                P.settle(0.3)
                with P.threadpool_limits(threads):
                    t0 = time.perf_counter()
                    trainer.epoch(X, y)
                    times[key].append(time.perf_counter() - t0)
        results[label] = times
        del runners
    return {"times": results, "skipped": skipped, "rows": int(n_rows)}


def _median(values):
    return statistics.median(values) if values else None


def best_of(times, name):
    """(median seconds, threads) of the peer's faster thread setting."""
    options = [(_median(v), int(k.split("@")[1])) for k, v in times.items()
               if k.split("@")[0] == name and v]
    return min(options) if options else (None, None)


# ---- serving ------------------------------------------------------------------------------

def measure_predict(repeat, quick):
    """p50/p99 per call for 1 row (every peer on 1 thread) and 1,000 rows (every
    peer at 1 and at 2 threads, set untimed before each block; fastmlp's
    default model, and one with n_threads=1 for information)."""
    clf = P.fitted_fastmlp()
    pred = P.Predictors(clf)
    rng = np.random.default_rng(1)
    out = {"skipped": {}, "how": {}}
    for rows, calls in ((1, 2_000 if quick else 20_000), (1000, 200 if quick else 2_000)):
        X = rng.uniform(0, 1, (rows, 784)).astype(np.float32)
        expected = clf.predict_proba(X)
        counts = [1] if rows == 1 else [1, 2]
        fns, before = {"fastmlp": clf.predict_proba}, {}
        out["how"][f"{rows}:fastmlp"] = f"MLPClassifier.predict_proba, n_threads={clf.n_threads}"
        if rows > 1:
            clf1 = P.fitted_fastmlp(n_threads=1)
            fns["fastmlp@1"] = clf1.predict_proba
            out["how"][f"{rows}:fastmlp@1"] = "MLPClassifier.predict_proba, n_threads=1"
        for name in ("onnxruntime", "torch", "sklearn"):
            for t in counts:
                fn, how = pred.get(name, t)
                if fn is None:
                    out["skipped"][name] = how
                    break
                key = f"{name}@{t}"
                fns[key] = fn
                if name != "onnxruntime":
                    before[key] = (lambda t=t: P.set_threads(t))
                out["how"][f"{rows}:{key}"] = how
        with P.peer_threads(counts[-1]):
            for key, fn in fns.items():
                if key in before:
                    before[key]()
                got = np.asarray(fn(X))
                if not np.allclose(got, expected, rtol=0, atol=1e-5):
                    raise AssertionError(f"{key} predicts differently from fastmlp "
                                         f"(max diff {np.max(np.abs(got - expected)):.3g})")
            log(f"predict_proba {rows} row(s): {calls} calls per framework")
            out[str(rows)] = P.latency_percentiles(fns, X, calls, warmup=min(500, calls), blocks=20,
                                                   before=before)
    out["alloc"] = one_row_allocation(clf)
    out["concurrent"] = measure_concurrent(repeat, quick)
    return out


def one_row_allocation(clf):
    """Bytes tracemalloc sees allocated during one 1-row predict_proba call
    (NumPy reports its data buffers to tracemalloc; the output's data is 40
    bytes), beyond what was allocated before the call."""
    import tracemalloc

    X = np.random.default_rng(2).uniform(0, 1, (1, 784)).astype(np.float32)
    clf.predict_proba(X)
    tracemalloc.start()
    try:
        clf.predict_proba(X)
        sizes = []
        for _ in range(5):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            out = clf.predict_proba(X)
            peak = tracemalloc.get_traced_memory()[1]
            sizes.append(peak - base)
            del out
    finally:
        tracemalloc.stop()
    return {"traced_bytes": min(sizes), "output_data_bytes": 40}


def measure_concurrent(repeat, quick):
    """Throughput of predict_proba from 1 and from 8 Python threads on one
    model (n_threads=1: any scaling comes from the GIL being released), each
    thread's results equal to the serial ones."""
    clf = P.fitted_fastmlp(n_threads=1)
    rng = np.random.default_rng(3)
    result = {}
    for rows, total in ((1, 2_000 if quick else 16_000), (1000, 80 if quick else 800)):
        inputs = [rng.uniform(0, 1, (rows, 784)).astype(np.float32) for _ in range(8)]
        serial = [clf.predict_proba(X) for X in inputs]
        rates = {1: [], 8: []}
        for _ in range(repeat):
            for n in (1, 8):
                rate, outs = P.concurrent_throughput(clf.predict_proba, inputs[:n], total // n)
                for got, want in zip(outs, serial):
                    if not np.array_equal(got, want):
                        raise AssertionError("concurrent predict differs from serial")
                rates[n].append(rate)
        result[str(rows)] = {"1": _median(rates[1]), "8": _median(rates[8]), "equal": True}
    return result


# ---- the report ---------------------------------------------------------------------------

def _s(seconds):
    if seconds is None:
        return "-"
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _us(us):
    if us is None:
        return "-"
    return f"{us:.1f} us" if us < 1000 else f"{us / 1000:.2f} ms"


def _met(ok):
    return "met" if ok else "**not met**"


def target_rows(res):
    """[(target, measured, ratio, met)] for every target of the issue."""
    rows = []
    peaks = res.get("peaks") or {}

    gemm = res.get("gemm")
    if gemm:
        for name, cells, kind, goal in gemm_targets(gemm):
            if not cells:
                rows.append((name, "no rows measured", "-", "-"))
                continue
            if kind == "ratio":
                values = [(c["fastmlp"] / c["numpy"], c) for c in cells]
                worst, c = min(values, key=lambda v: v[0])
                med = statistics.median(v for v, _ in values)
                rows.append((name, f"worst {'x'.join(map(str, c['layer']))} {c['orientation']}: "
                             f"{c['fastmlp']:.1f} vs {c['numpy']:.1f} GFLOP/s; {len(values)} cases, "
                             f"median ratio {med:.2f}x", f"{worst:.2f}x (worst)", _met(worst >= goal)))
            else:
                values = [(c["fastmlp"] / c["peak"], c) for c in cells if c["peak"]]
                if not values:
                    rows.append((name, "no FMA probe on this ISA path", "-", "-"))
                    continue
                worst, c = min(values, key=lambda v: v[0])
                detail = "; ".join(f"{x['orientation']} {x['fastmlp']:.1f}" for _, x in values)
                rows.append((name, f"{detail} GFLOP/s; peak {c['peak']:.1f} GFLOP/s",
                             f"{100 * worst:.0f} % (worst)", _met(worst >= goal)))
    else:
        rows.append(("GEMM targets", "not measured in this run", "-", "-"))

    ep = res.get("epoch")
    if ep:
        t = ep["times"]

        def fm(label):
            return _median(t.get(label, {}).get(f"fastmlp@{P.THREADS}", [])), \
                _median(t.get(label, {}).get(f"fastmlp-estimator@{P.THREADS}", []))

        for label, peer, goal in (("784-128-10 b128", "torch", 2.0),
                                  ("784-128-10 b128", "numpy", 1.5),
                                  ("784-128-10 b32", "torch", 4.0)):
            f, est = fm(label)
            pt, pthreads = best_of(t.get(label, {}), peer)
            what = {"torch": "PyTorch (nn.Sequential + optim.SGD)", "numpy": "the NumPy reference (hand-written)"}[peer]
            name = f"Epoch {label.replace(' b', ', batch ')}: >= {goal:g}x faster than {what}"
            if f is None:
                rows.append((name, "not measured in this run", "-", "-"))
                continue
            if pt is None:
                rows.append((name, ep["skipped"].get(peer, f"{peer} not measured"), "-", "-"))
                continue
            ratio, est_ratio = pt / f, pt / est if est else None
            mark = _met(ratio >= goal)
            if est_ratio is not None and (ratio >= goal) != (est_ratio >= goal):
                mark += f" (estimator: {_met(est_ratio >= goal)})"
            rows.append((name, f"fastmlp {_s(f)} (MLPClassifier.partial_fit {_s(est)}); {peer} "
                         f"{_s(pt)} at its faster {pthreads} thread(s)",
                         f"{ratio:.2f}x (estimator {est_ratio:.2f}x)" if est_ratio else f"{ratio:.2f}x",
                         mark))
        label = "784-800-10 b128"
        f, est = fm(label)
        name = "Epoch 784-800-10, batch 128: within 1.25x of the FLOP bound at the measured 2-core peak"
        if f is None:
            rows.append((name, "not measured in this run", "-", "-"))
        elif peaks.get("2"):
            flops = P.epoch_flops((784, 800, 10), ep["rows"])
            bound = flops / (peaks["2"] * 1e9)
            lax = 6 * ep["rows"] * (784 * 800 + 800 * 10) / (peaks["2"] * 1e9)
            rows.append((name, f"fastmlp {_s(f)} (estimator {_s(est)}); bound {_s(bound)} = "
                         f"{flops / 1e9:.1f} GFLOP / {peaks['2']:.0f} GFLOP/s (with the unneeded input "
                         f"gradient of layer 1 counted, as PERFORMANCE.md does: {_s(lax)}, "
                         f"{f / lax:.2f}x)", f"{f / bound:.2f}x the bound",
                         _met(f / bound <= 1.25)))
        else:
            rows.append((name, "no FMA peak on this ISA path", "-", "-"))
    else:
        rows.append(("Epoch targets", res.get("no_mnist", "not measured in this run"), "-", "-"))

    tr = res.get("trajectory")
    name = ("Same loss trajectory as the NumPy reference on the same seed "
            "(float64, 1e-9 relative after one epoch)")
    if tr:
        worst = max(tr["loss_rel"], tr["weights_rel"])
        rows.append((name, f"784-128-10 batch 128, {tr['rows']:,} MNIST rows: loss differs by "
                     f"{tr['loss_rel']:.1e}, weights by {tr['weights_rel']:.1e} (max |diff| / max |w|)",
                     f"{worst:.1e}", _met(worst <= 1e-9)))
    else:
        rows.append((name, res.get("no_mnist", "not measured in this run"), "-", "-"))

    pr = res.get("predict")
    if pr:
        one = pr["1"]
        f50 = one["fastmlp"][0]
        rows.append(("predict_proba, 1 row, 784-128-10: <= 3 us median including the Python call",
                     f"p50 {_us(f50)}, p99 {_us(one['fastmlp'][1])}", f"{f50 / 3:.2f}x the budget",
                     _met(f50 <= 3.0)))
        if "onnxruntime@1" in one:
            o50 = one["onnxruntime@1"][0]
            rows.append(("predict_proba, 1 row: >= 4x faster than onnxruntime (same weights, skl2onnx)",
                         f"fastmlp p50 {_us(f50)}; onnxruntime (1 intra-op thread) p50 {_us(o50)}",
                         f"{o50 / f50:.2f}x", _met(o50 / f50 >= 4.0)))
        else:
            rows.append(("predict_proba, 1 row: >= 4x faster than onnxruntime", "onnxruntime not installed", "-", "-"))
        k = pr["1000"]
        orts = {key: v for key, v in k.items() if key.startswith("onnxruntime")}
        if orts:
            best = min(orts, key=lambda key: orts[key][0])
            f50, o50 = k["fastmlp"][0], orts[best][0]
            rows.append(("predict_proba, 1,000 rows: no slower than onnxruntime",
                         f"fastmlp p50 {_us(f50)}; onnxruntime p50 {_us(o50)} at its faster "
                         f"{best.split('@')[1]} intra-op thread(s)", f"{o50 / f50:.2f}x",
                         _met(o50 / f50 >= 1.0)))
        else:
            rows.append(("predict_proba, 1,000 rows: no slower than onnxruntime", "onnxruntime not installed", "-", "-"))
        a = pr["alloc"]
        rows.append(("One row allocates nothing but its output",
                     f"tracemalloc: {a['traced_bytes']} bytes traced during one call (the output's "
                     f"data is {a['output_data_bytes']} bytes, plus the array object)", "-",
                     _met(a["traced_bytes"] <= 512)))
        c = pr["concurrent"]
        rows.append(("Many threads may call predict on one model at once (GIL released)",
                     f"8 threads vs 1, model n_threads=1, results equal to serial: 1 row "
                     f"{c['1']['8']:,.0f} vs {c['1']['1']:,.0f} calls/s; 1,000 rows {c['1000']['8']:,.0f} "
                     f"vs {c['1000']['1']:,.0f} calls/s",
                     f"{c['1']['8'] / c['1']['1']:.2f}x / {c['1000']['8'] / c['1000']['1']:.2f}x",
                     _met(c["1"]["equal"] and c["1000"]["equal"]) + " (correctness; no speed target)"))
    else:
        rows.append(("Serving targets", "not measured in this run", "-", "-"))

    mem = res.get("memory")
    if mem:
        import memory_check as M

        fit = mem["fit"]
        rows.append(("Peak RSS of a 784-800-10 MNIST fit <= size of X + 64 MiB",
                     f"{fit['epochs']} epochs on {fit['data']}: peak - RSS after imports "
                     f"{fit['growth'] / M.MiB:.1f} MiB; X {fit['x_bytes'] / M.MiB:.1f} MiB; beyond X "
                     f"{fit['fit_extra'] / M.MiB:.1f} MiB",
                     f"{fit['growth'] / fit['limit']:.2f}x the bound", _met(fit["ok"])))
        pm = mem["predict"]
        rows.append(("Predicting 1,000,000 rows never holds a 1,000,000 x hidden array",
                     f"{pm['rows']:,} rows, 784-{pm['hidden']}-10: anonymous RSS grew "
                     f"{max(pm['extra'], 0) / M.MiB:.2f} MiB beyond the {pm['out_bytes'] / M.MiB:.1f} MiB "
                     f"output; the hidden array would be {pm['hidden_array_bytes'] / M.MiB:.0f} MiB",
                     f"bound {pm['limit'] / M.MiB:.0f} MiB", _met(pm["ok"])))
    else:
        rows.append(("Memory targets", "not measured in this run", "-", "-"))
    return rows


def render(res):
    m = res["machine"]
    lines = [BEGIN, "## Speed (issue 4 targets)", ""]
    lines.append(f"Regenerate with `{COMMAND}` from the repository root (extension built, "
                 f"`pip install -e '.[bench]'` for the peers); it rewrites only this section.")
    lines.append("")
    load0, load1 = res["load"]
    # Judged on the load at the start: the report's own 2-thread runs raise the
    # 1-minute load average to ~1-2 by the end whatever else runs.
    busy = load0 > 0.25 * (m["cores"] or 1)
    lines.append(f"Measured {m['date']} on: {m['cpu']}, {m['cores']} logical CPUs "
                 f"({m['usable_cores']} usable); CPU flags {m['cpu_isa_flags']}; fastmlp ISA path "
                 f"**{m['fastmlp_isa']}** (runnable: {m['fastmlp_isas']}); fastmlp {m['fastmlp']}; "
                 f"Python {m['python']}; NumPy {m['numpy']}; PyTorch {m['torch']}; onnxruntime "
                 f"{m['onnxruntime']}; scikit-learn {m['sklearn']}; skl2onnx {m['skl2onnx']}; "
                 f"threadpoolctl {m['threadpoolctl']}; {m['os']}. 1-minute load average "
                 f"{load0:.1f} at the start, {load1:.1f} at the end.")
    lines.append("")
    if busy:
        lines.append(f"**The machine was busy when this run started** (load average "
                     f"{load0:.1f} on {m['cores']} CPUs): absolute times are "
                     f"unreliable. Ratios are measured interleaved in one run, but other processes "
                     f"still hurt multi-threaded code more than single-threaded code. Regenerate "
                     f"on a quiet machine before relying on these numbers.")
        lines.append("")
    if res.get("quick"):
        lines.append("**Quick run** (`--quick`: fewer rounds, smaller checks): for trying the "
                     "script, not for publishing.")
        lines.append("")
    pk = res.get("peaks") or {}
    if pk.get("1"):
        lines.append(f"Measured FMA peak (fastmlp's FMA-only probe, {m['fastmlp_isa']}, fp32, "
                     f"best of {res.get('peak_runs', '?')} runs): {pk['1']:.1f} GFLOP/s on 1 core, "
                     f"{pk['2']:.1f} GFLOP/s on 2 cores (2 threads at once); fp64 is half.")
        lines.append("")
    lines += ["| target | measured here | ratio | |", "|---|---|---|---|"]
    for name, measured, ratio, met in target_rows(res):
        lines.append(f"| {name} | {measured} | {ratio} | {met} |")
    lines.append("")
    lines.append("Ratios are peer time / fastmlp time (or GFLOP/s over GFLOP/s): above 1 means "
                 "fastmlp is faster. Epoch targets are judged on fastmlp's engine epoch "
                 "(`Engine.train_epoch`, what the peers' loops do); the estimator's "
                 "`MLPClassifier.partial_fit` ratio is shown beside it.")
    lines.append("")
    lines += render_details(res)
    lines += render_reference()
    lines.append(END)
    return "\n".join(lines) + "\n"


def render_details(res):
    lines = []
    ep = res.get("epoch")
    if ep:
        lines += ["### Training epoch", "",
                  f"One epoch over {ep['rows']:,} MNIST rows (float32, pixels / 255), 10 classes, "
                  f"relu, softmax cross-entropy, SGD lr {P.LEARNING_RATE} without momentum or L2, "
                  f"shuffled minibatches gathered by index, all from the same initial weights. "
                  f"Median of {res['repeat']} interleaved rounds (min - max in brackets). Each "
                  f"peer was first checked to lower the loss, and the fastmlp engine, the NumPy "
                  f"peer, PyTorch and scikit-learn each take one SGD step equal to the reference "
                  f"engine's (float64, `pytest benchmarks/bench_epoch.py`).", "",
                  "| runner | what runs | " + " | ".join(l for l, _, _ in P.EPOCH_CONFIGS) + " |",
                  "|---|---|" + "---:|" * len(P.EPOCH_CONFIGS)]
        what = {"fastmlp": "`Engine.train_epoch`: the whole epoch in C",
                "fastmlp-estimator": "`fastmlp.MLPClassifier.partial_fit`",
                "numpy": "hand-written NumPy (benchmarks/_peers.py `NumpyMLP`)",
                "torch": "`nn.Sequential` + `CrossEntropyLoss` + `optim.SGD`, gathered from a tensor",
                "sklearn": "`sklearn MLPClassifier.partial_fit` (= one epoch)"}
        keys = []
        for label in ep["times"]:
            for key in ep["times"][label]:
                if key not in keys:
                    keys.append(key)
        for key in keys:
            name, threads = key.split("@")
            cells = []
            for label in ep["times"]:
                v = ep["times"][label].get(key)
                cells.append(f"{_s(_median(v))} ({_s(min(v))} - {_s(max(v))})" if v else "-")
            lines.append(f"| {name}, {threads} thread(s) | {what[name]} | " + " | ".join(cells) + " |")
        for name, why in ep["skipped"].items():
            lines.append(f"| {name} | {why} | " + " | ".join("not installed" for _ in P.EPOCH_CONFIGS) + " |")
        pk = (res.get("peaks") or {}).get("2")
        if pk:
            cells = [_s(P.epoch_flops(s, ep["rows"]) / (pk * 1e9)) for _, s, _ in P.EPOCH_CONFIGS]
            lines.append(f"| FLOP bound | matrix-product FLOPs / {pk:.0f} GFLOP/s (2-core peak) | "
                         + " | ".join(cells) + " |")
        lines.append("")

    pr = res.get("predict")
    if pr:
        lines += ["### predict_proba latency, 784-128-10 float32", "",
                  "Per-call times with `time.perf_counter_ns` after warm-up, frameworks "
                  "interleaved in 20 blocks; p50 and p99 over all calls. Outputs checked "
                  "against fastmlp's (1e-5) first. 1 row: every peer on 1 thread; 1,000 rows: "
                  "every peer at 1 and at 2 threads (set before each block, untimed). fastmlp's "
                  "model has its default n_threads (all cores); the n_threads=1 row is for "
                  "information.", "",
                  "| framework | what runs | 1 row p50 | 1 row p99 | 1,000 rows p50 | 1,000 rows p99 |",
                  "|---|---|---:|---:|---:|---:|"]
        keys = ["fastmlp", "fastmlp@1"] + [f"{n}@{t}" for n in ("onnxruntime", "torch", "sklearn")
                                           for t in (1, 2)]
        for key in keys:
            one, kilo = pr["1"].get(key), pr["1000"].get(key)
            if not one and not kilo:
                continue
            name, _, t = key.partition("@")
            label = (f"{name}, n_threads=1" if name == "fastmlp" and t else
                     name if name == "fastmlp" else f"{name}, {t} thread(s)")
            how = pr["how"].get(f"1000:{key}") or pr["how"].get(f"1:{key}", "")
            lines.append(f"| {label} | {how} | {_us(one[0]) if one else '-'} | "
                         f"{_us(one[1]) if one else '-'} | {_us(kilo[0]) if kilo else '-'} | "
                         f"{_us(kilo[1]) if kilo else '-'} |")
        for name, why in pr["skipped"].items():
            lines.append(f"| {name} | {why} | - | - | - | - |")
        n1 = next(iter(pr["1"].values()))[2]
        nk = next(iter(pr["1000"].values()))[2]
        lines += ["", f"({n1:,} calls per framework for 1 row, {nk:,} for 1,000 rows.)", ""]

    gemm = res.get("gemm")
    if gemm:
        lines += ["### GEMM rows behind the targets", "",
                  "From `benchmarks/gemm_table.py` (its `measure`; fastmlp and NumPy given "
                  "the same thread count, NumPy's OpenBLAS limited with threadpoolctl; median "
                  "of interleaved timings; % peak, 1 thread only, against the FMA probe timed "
                  "alongside each row).", "",
                  "| dtype | threads | batch x in x out | orientation | fastmlp GFLOP/s | NumPy GFLOP/s | ratio | fastmlp % peak |",
                  "|---|---:|---|---|---:|---:|---:|---:|"]
        for r in gemm["rows"]:
            pct = f"{100 * r['fastmlp'] / r['peak']:.0f}%" if r["peak"] else "-"
            lines.append(f"| {r['dtype']} | {r.get('threads', 1)} | {'x'.join(map(str, r['layer']))} | {r['orientation']} | "
                         f"{r['fastmlp']:.1f} | {r['numpy']:.1f} | {r['fastmlp'] / r['numpy']:.2f} | {pct} |")
        lines.append("")

    mem = res.get("memory")
    if mem:
        import memory_check as M

        lines += ["### Memory", "", "From `benchmarks/memory_check.py` (each in a fresh child "
                  "process; peaks from /proc/self/status, see its docstring):", "",
                  "- " + M.describe_fit(mem["fit"]),
                  "- " + M.describe_predict(mem["predict"]), ""]
    return lines


def render_reference():
    r = REFERENCE_MACHINE
    lines = ["### For context: the project's reference machine (not measured here)", "",
             "Copied from `../shared/PERFORMANCE.md` (2 cores of an AMD EPYC Zen 4 with "
             "AVX-512, NumPy 2.4 / OpenBLAS 0.3.31, PyTorch 2.13 CPU; medians of a few runs). "
             f"FMA peak: {r['fma_peak']}.", "",
             "| network, batch | scikit-learn | PyTorch | NumPy hand-written | FLOP bound at 200 GFLOP/s |",
             "|---|---:|---:|---:|---:|"]
    for net, batch, sk, pt, npy, bound in r["epoch"]:
        lines.append(f"| {net}, {batch} | {sk} | {pt} | {npy} | {bound} |")
    lines += ["", "| predict_proba rows | scikit-learn | PyTorch | NumPy | onnxruntime 1.31 |",
              "|---|---:|---:|---:|---:|"]
    for rows, sk, pt, npy, ort in r["predict"]:
        lines.append(f"| {rows} | {sk} | {pt} | {npy} | {ort} |")
    lines.append("")
    return lines


def write_section(path, section, begin=BEGIN, end=END):
    """Replace the text between ``begin`` and ``end`` (this report's markers by
    default) in ``path`` (append the section when it is not there, create the
    file when it is missing); everything outside the markers is left as it was."""
    import benchreport

    benchreport.write_block(path, section, begin, end)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=None, help="rounds per measurement (default 5; 2 with --quick)")
    p.add_argument("--quick", action="store_true", help="fewer rounds and smaller checks (not for publishing)")
    p.add_argument("--only", default=None, help="comma list of epoch,predict,gemm,memory,check; implies --no-write")
    p.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    p.add_argument("--render", default=None, metavar="JSON",
                   help="write the section from a run saved with --json, measuring nothing")
    p.add_argument("--json", default=None, help="also write the raw measurements here")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = p.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 5)
    sections = {"epoch", "predict", "gemm", "memory", "check"}
    only = set(args.only.split(",")) if args.only else sections
    if only - sections:
        p.error(f"unknown sections {sorted(only - sections)}; use {sorted(sections)}")
    write = not args.no_write and not args.only

    res = {"machine": machine(), "repeat": repeat, "quick": args.quick}
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        write_section(args.output, render(saved))
        log(f"wrote the Speed section of {args.output} from {args.render}")
        return 0
    load0 = loadavg()
    mnist = P.load_mnist_train()
    if mnist is None and ({"epoch", "check"} & only):
        res["no_mnist"] = P.mnist_missing_reason()
        log(res["no_mnist"] + ": the epoch rows are left out")
    if not P.have_threadpoolctl():
        log("threadpoolctl is not installed: NumPy/scikit-learn may use every core")

    log("FMA peak, 1 and 2 cores")
    res["peak_runs"] = max(2 * repeat + 1, 5)
    res["peaks"] = measure_peaks(res["peak_runs"])
    if "check" in only and mnist is not None:
        rows = 5_000 if args.quick else 60_000
        log(f"float64 epoch vs the reference engine on {rows} rows")
        res["trajectory"] = check_trajectory(rows)
    if "epoch" in only and mnist is not None:
        res["epoch"] = measure_epochs(repeat, [1, 2], 20_000 if args.quick else 60_000)
    if "predict" in only:
        res["predict"] = measure_predict(repeat, args.quick)
    if "gemm" in only:
        log("GEMM table (gemm_table.measure)")
        res["gemm"] = measure_gemm(3 if args.quick else repeat)
    if "memory" in only:
        import memory_check as M

        if M.can_measure():
            log("memory check (child processes)")
            res["memory"] = M.run(quick=args.quick)
    res["load"] = (load0, loadavg())

    section = render(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    if write:
        write_section(args.output, section)
        log(f"wrote the Speed section of {args.output}")
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
