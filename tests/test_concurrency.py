"""Threads: shared models predict concurrently, separate models fit concurrently, exactly as
they would serially; the GIL is released while C works.
It deliberately does not test concurrent fit/partial_fit/set_params on one model: that is not
supported (README, "Reliability").

Results are compared bit for bit: the engine's arithmetic does not depend on which thread
runs it or on what else runs, so any difference is a race.
"""
import threading
import time
import warnings

import numpy as np
import pytest

from fastmlp import MLPClassifier, MLPRegressor, kernels

pytestmark = pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning")

N_THREADS = 8


def data(n=3000, f=32, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(n, f)
    return X, (np.abs(X[:, :4]).argmax(axis=1))


def run_threads(target, n, *args):
    """Run target(i, *args) in n threads started together; re-raise the first failure."""
    barrier = threading.Barrier(n)
    errors = []

    def body(i):
        try:
            barrier.wait()
            target(i, *args)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eight_threads_predicting_on_one_model_match_serial(dtype):
    X, y = data()
    clf = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=3, dtype=dtype,
                        random_state=0).fit(X, y)
    reg = MLPRegressor(hidden_layer_sizes=(48,), max_iter=3, dtype=dtype,
                       random_state=0).fit(X, X[:, 0])
    # each thread predicts different row blocks (and the whole X), in a different order
    blocks = [slice(i * 250, (i + 1) * 250 + 37 * i) for i in range(8)] + [slice(None)]
    serial = {(name, b.start, b.stop): getattr(model, method)(X[b]).tobytes()
              for b in blocks
              for name, model, method in (("proba", clf, "predict_proba"),
                                          ("labels", clf, "predict"), ("reg", reg, "predict"))}
    calls = []

    def worker(i):
        order = blocks[i % len(blocks):] + blocks[:i % len(blocks)]
        for repeat in range(6):
            for b in order:
                for name, model, method in (("proba", clf, "predict_proba"),
                                            ("labels", clf, "predict"),
                                            ("reg", reg, "predict")):
                    got = getattr(model, method)(X[b]).tobytes()
                    assert got == serial[name, b.start, b.stop], (name, b, repeat, i)
                    calls.append(1)
    run_threads(worker, N_THREADS)
    assert len(calls) == N_THREADS * 6 * len(blocks) * 3


CONFIGS = [
    dict(hidden_layer_sizes=(64,), solver="adam", dtype="float32", random_state=1, max_iter=8),
    dict(hidden_layer_sizes=(32, 16), solver="sgd", dtype="float64", random_state=2, max_iter=8,
         dropout=0.2, learning_rate_init=0.05, batch_size=64),
]


def _fit(config, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(**config).fit(X, y)


def test_two_models_fitting_at_once_equal_their_serial_fits():
    X, y = data()
    serial = [_fit(c, X, y) for c in CONFIGS]
    for attempt in range(3):
        models = [None, None]

        def worker(i):
            models[i] = _fit(CONFIGS[i], X, y)
        run_threads(worker, 2)
        for got, want in zip(models, serial):
            assert got._engine.params.tobytes() == want._engine.params.tobytes(), attempt
            assert got.loss_curve_ == want.loss_curve_
            assert got.n_iter_ == want.n_iter_ == 8


def test_predicting_while_another_model_fits():
    X, y = data()
    shared = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2, random_state=0).fit(X, y)
    expected = shared.predict_proba(X).tobytes()
    serial_fit = _fit(CONFIGS[0], X, y)
    done = threading.Event()
    fitted = []
    predictions = []

    def worker(i):
        if i == 0:
            try:
                fitted.append(_fit(CONFIGS[0], X, y))
            finally:
                done.set()
        else:
            while not done.is_set() or len(predictions) < 4:
                assert shared.predict_proba(X).tobytes() == expected
                predictions.append(i)
    run_threads(worker, 4)
    assert fitted[0]._engine.params.tobytes() == serial_fit._engine.params.tobytes()
    assert len(predictions) >= 4


def test_a_second_training_call_on_a_training_model_is_refused():
    """fit/partial_fit share the model's engine scratch with the GIL released:
    a second one from another thread must be refused, not corrupt memory
    (it used to crash in the loss kernel). The model stays usable."""
    from fastmlp import estimators

    X, y = data()
    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, tol=0, random_state=0)
    errors = []

    def long_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)

    t = threading.Thread(target=long_fit)
    t.start()
    deadline = time.monotonic() + 30
    while id(model) not in estimators._TRAINING and time.monotonic() < deadline:
        time.sleep(0.001)
    assert id(model) in estimators._TRAINING, "the fit never started"
    for call in (lambda: model.partial_fit(X, y), lambda: model.fit(X, y)):
        with pytest.raises(RuntimeError, match="already being trained in another thread"):
            call()
            errors.append("not refused")
    t.join()
    assert not errors
    assert id(model) not in estimators._TRAINING
    # Afterwards training works again, and so does the model.
    model.set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y)
    assert model.predict(X).shape == (len(X),)


def test_concurrent_partial_fits_on_one_model_never_crash():
    """The hammer that crashed before: two threads partial_fit one model with
    a tiny switch interval. Each call either trains or is refused."""
    import sys

    X, y = data()
    model = MLPClassifier(hidden_layer_sizes=(16,), batch_size=32, random_state=0)
    model.partial_fit(X, y, classes=np.unique(y))
    outcomes = {"trained": 0, "refused": 0}
    lock = threading.Lock()

    def worker(i):
        for k in range(200):
            try:
                model.partial_fit(X[: 50 + k], y[: 50 + k])
                key = "trained"
            except RuntimeError:
                key = "refused"
            with lock:
                outcomes[key] += 1
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        run_threads(worker, 2)
    finally:
        sys.setswitchinterval(old)
    assert outcomes["trained"] + outcomes["refused"] == 400
    assert outcomes["trained"] >= 1
    assert np.all(np.isfinite(model._engine.params))


def test_kernels_from_many_threads_match_serial():
    """kernels.gemm keeps its packing scratch per thread; other kernels allocate outputs."""
    rs = np.random.RandomState(0)
    a, b = rs.randn(200, 120), rs.randn(120, 90)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    want = [kernels.gemm(a, b).tobytes(), kernels.gemm(a32, b32, trans_b=False).tobytes(),
            kernels.gemm(b32, a32, trans_a=True, trans_b=True).tobytes(),
            kernels.softmax(a).tobytes()]

    def worker(i):
        for _ in range(5):
            got = [kernels.gemm(a, b).tobytes(), kernels.gemm(a32, b32).tobytes(),
                   kernels.gemm(b32, a32, trans_a=True, trans_b=True).tobytes(),
                   kernels.softmax(a).tobytes()]
            assert got == want
    run_threads(worker, N_THREADS)


# ---- the GIL is released ----------------------------------------------------------------------

def _python_cpu_during(call):
    """(CPU seconds a pure-Python thread got while `call` ran, CPU seconds of the call).

    CPU time, not wall time: if the call held the GIL, the Python thread would sit blocked
    on the lock and accumulate (almost) no CPU time, however long the call took and however
    busy the machine is; with the GIL released both run, each getting its share of a core.
    """
    start, stop = threading.Event(), threading.Event()
    spent = []

    def spin():
        start.wait()
        t0 = time.thread_time()
        x = 0
        while not stop.is_set():
            x += 1
        spent.append(time.thread_time() - t0)
    t = threading.Thread(target=spin)
    t.start()
    start.set()
    c0 = time.thread_time()
    call()
    cpu = time.thread_time() - c0
    stop.set()
    t.join()
    return spent[0], cpu


@pytest.mark.parametrize("what", ["fit", "predict"])
def test_the_gil_is_released_while_c_works(what):
    X, y = data(n=20000, f=64)
    model = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[:500], y[:500])
        model.set_params(warm_start=True)
        X32 = X.astype(np.float32)  # no conversion in Python around the C call
        once = (lambda: model.fit(X32, y)) if what == "fit" else \
            (lambda: model.predict_proba(X32))
        # enough calls for about half a CPU second on this machine, whatever its speed
        c0 = time.thread_time()
        once()
        reps = int(np.ceil(0.5 / max(time.thread_time() - c0, 1e-3)))
        python_cpu, call_cpu = _python_cpu_during(lambda: [once() for _ in range(reps)])
    # Holding the GIL would leave the Python thread a few switch intervals at most (a build
    # without `with nogil` measured 0.1-0.25 here, the real one about 1).
    assert call_cpu > 0.2, "the calls were too short to tell"
    assert python_cpu > 0.5 * call_cpu, (python_cpu, call_cpu, reps)


def test_the_measure_tells_a_held_gil_apart():
    """The control: list.sort is C code that keeps the GIL, and the same measure sees the
    Python thread starve (so the test above can fail)."""
    values = list(np.random.RandomState(0).rand(300_000))
    c0 = time.thread_time()
    sorted(values)
    reps = int(np.ceil(0.5 / max(time.thread_time() - c0, 1e-3)))
    python_cpu, call_cpu = _python_cpu_during(lambda: [sorted(values) for _ in range(reps)])
    assert call_cpu > 0.2
    assert python_cpu < 0.5 * call_cpu, (python_cpu, call_cpu)
