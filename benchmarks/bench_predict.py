"""predict_proba latency of a 784-128-10 relu classifier (float32): fastmlp
against onnxruntime (an identical scikit-learn MLPClassifier exported with
skl2onnx), PyTorch (inference_mode) and scikit-learn, on the same weights.

- 1 row: every peer limited to 1 thread (onnxruntime 1 intra-op thread,
  torch.set_num_threads(1), OpenBLAS 1 thread); fastmlp's model has its
  default n_threads (one row never splits over threads).
- 1,000 rows: 2 threads for every peer, and onnxruntime with 1 intra-op
  thread too (speed_report.py takes onnxruntime's faster one and says which).
- p50 and p99: pytest-benchmark's statistics are per round, so
  test_latency_percentiles times single calls with perf_counter_ns (20,000
  calls for 1 row after warm-up, frameworks interleaved) and prints them.
- Many threads, one model: 8 Python threads calling predict_proba on one
  model (n_threads=1, so any scaling comes from the GIL being released),
  each thread's result equal to the serial result, throughput vs 1 thread.

Every output is checked against fastmlp's (1e-5) before it is timed. Not a
test of speed; speed_report.py compares the medians with the issue's targets.
"""
import numpy as np
import pytest

import _peers as P

# (rows, framework, threads the peer may use; fastmlp's model keeps its default n_threads)
CASES = [(1, "fastmlp", 1), (1, "onnxruntime", 1), (1, "torch", 1), (1, "sklearn", 1),
         (1000, "fastmlp", 2), (1000, "onnxruntime", 1), (1000, "onnxruntime", 2),
         (1000, "torch", 2), (1000, "sklearn", 2)]


@pytest.fixture(scope="module")
def predictors():
    return P.Predictors(P.fitted_fastmlp())


def rows_of(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, P.PREDICT_SIZES[0])).astype(np.float32)


def oracle(clf, X):
    """float64 forward pass from the fitted coefs_ (relu, softmax)."""
    a = X.astype(np.float64)
    for i, (c, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        a = a @ c.astype(np.float64) + b
        if i < len(clf.coefs_) - 1:
            a = np.maximum(a, 0)
    a = np.exp(a - a.max(axis=1, keepdims=True))
    return a / a.sum(axis=1, keepdims=True)


def checked(predictors, name, threads, X):
    """The predict callable of ``name``, after checking its output on X against
    fastmlp's and fastmlp's against the float64 oracle; skips a missing peer."""
    fn, how = predictors.get(name, threads)
    if fn is None:
        pytest.skip(how)
    expected = predictors.clf.predict_proba(X)
    np.testing.assert_allclose(expected, oracle(predictors.clf, X), rtol=0, atol=1e-5)
    with P.peer_threads(threads):
        got = np.asarray(fn(X))
    assert got.shape == expected.shape, (name, got.shape)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=name)
    return fn, how


@pytest.mark.parametrize("rows,name,threads", CASES,
                         ids=[f"{r}row-{n}" + ("" if n == "fastmlp" else f"-{t}t") for r, n, t in CASES])
def test_predict_proba(benchmark, predictors, rows, name, threads):
    X = rows_of(rows)
    fn, how = checked(predictors, name, threads, X)
    benchmark.group = f"predict_proba 784-128-10 float32, {rows} row(s)"
    benchmark.extra_info.update(framework=name, threads=threads, how=how)
    with P.peer_threads(threads):
        benchmark(fn, X)


@pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")
@pytest.mark.parametrize("rows", [1, 1000])
def test_latency_percentiles(benchmark, predictors, rows):
    """p50 / p99 per call, frameworks interleaved; prints a table (pytest -s)."""
    X = rows_of(rows, seed=1)
    threads = 1 if rows == 1 else 2
    fns = {}
    for name in P.PREDICTORS:
        fn, how = predictors.get(name, threads)
        if fn is not None:
            checked(predictors, name, threads, X)
            fns[name] = fn
    if benchmark.enabled:
        calls = 20_000 if rows == 1 else 1_000
    else:
        calls = 200 if rows == 1 else 20
    with P.peer_threads(threads):
        result = P.latency_percentiles(fns, X, calls, warmup=min(200, calls), blocks=10)
    print(f"\npredict_proba, {rows} row(s), {calls} calls each (p50 / p99 us):")
    for name, (p50, p99, n) in result.items():
        print(f"  {name:12s} {p50:10.1f} {p99:10.1f}")
    benchmark.extra_info.update({name: {"p50_us": v[0], "p99_us": v[1], "calls": v[2]}
                                 for name, v in result.items()})
    assert all(v[0] > 0 and v[1] >= v[0] for v in result.values())


CONCURRENT = [(1, 1), (1, 8), (1000, 1), (1000, 8)]


@pytest.fixture(scope="module")
def one_thread_model():
    return P.fitted_fastmlp(n_threads=1)


@pytest.mark.parametrize("rows,n_threads", CONCURRENT,
                         ids=[f"{r}row-{t}threads" for r, t in CONCURRENT])
def test_concurrent_predict(benchmark, one_thread_model, rows, n_threads):
    """The same total number of calls made by 1 or by 8 Python threads at once
    on one model: every thread's result equals the serial result."""
    clf = one_thread_model
    inputs = [rows_of(rows, seed=10 + i) for i in range(n_threads)]
    serial = [clf.predict_proba(X) for X in inputs]
    total = (8_000 if rows == 1 else 400) if benchmark.enabled else 64
    per_thread = total // n_threads
    _, results = P.concurrent_throughput(clf.predict_proba, inputs, per_thread)
    for got, want in zip(results, serial):
        assert np.array_equal(got, want)
    benchmark.group = f"predict_proba from Python threads on one model, {rows} row(s), {total} calls"
    benchmark.extra_info.update(threads=n_threads, calls=total)
    benchmark.pedantic(P.concurrent_throughput, args=(clf.predict_proba, inputs, per_thread),
                       rounds=5 if benchmark.enabled else 1)
