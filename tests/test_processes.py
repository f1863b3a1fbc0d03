"""Processes and signals: fork after threads, Ctrl-C during fit, pickles across processes.
It deliberately runs anything that could hang or kill the interpreter in a child process
with a generous timeout: a hang fails the test instead of stalling the suite.

Promptness of Ctrl-C is shown without timing it: a fit planned to take about 30 s stops
within its first epoch (the engine's step counter is far below one epoch's steps), and the
child exits long before the timeout the test allows it.
"""
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, _core

pytestmark = [pytest.mark.filterwarnings("ignore::fastmlp.ConvergenceWarning"),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX fork and signals")]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD_TIMEOUT = 120  # a hang guard only: every child here finishes in seconds


def data(n=400, f=10, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(n, f)
    return X, np.abs(X[:, :3]).argmax(axis=1)


def run_in_fork(target, *args):
    """Run target(*args) in a 'fork' child; return what it returned (via a pipe)."""
    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)

    def main():
        try:
            child_end.send(("ok", target(*args)))
        except BaseException as exc:  # reported to the parent, which fails the test
            child_end.send(("error", repr(exc)))
    proc = ctx.Process(target=main)
    proc.start()
    child_end.close()
    ready = parent_end.poll(CHILD_TIMEOUT)
    if not ready:
        proc.kill()
        proc.join()
        pytest.fail(f"the forked child hung (no answer in {CHILD_TIMEOUT} s)")
    status, value = parent_end.recv()
    proc.join(CHILD_TIMEOUT)
    assert proc.exitcode == 0, proc.exitcode
    assert status == "ok", value
    return value


# ---- the worker pool across fork ---------------------------------------------------------------

def pool_run(n_threads=2, n_tasks=64):
    """Run the pool's self-test job until a helper thread really took part (it may sleep
    through a short job); returns (values, distinct thread ids, attempts)."""
    spin = 50_000
    for attempt in range(1, 12):
        values, tids = _core._pool_selftest(n_threads, n_tasks, spin)
        if len(set(tids.tolist())) >= 2:
            return values, len(set(tids.tolist())), attempt
        spin *= 2
    return values, 1, attempt


def test_pool_self_test_matches_the_serial_answer():
    small, _ = _core._pool_selftest(2, 5, 3)
    x = np.arange(1, 6, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for _ in range(3):
            x = x * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    np.testing.assert_array_equal(small, (x >> np.uint64(1)).astype(np.int64))
    values, threads, attempts = pool_run()
    assert threads >= 2, "no helper thread ever took a task; the pool did not run"
    serial, tids = _core._pool_selftest(1, 64, 50_000 * 2 ** (attempts - 1))
    assert len(set(tids.tolist())) == 1  # n_threads=1 runs in the caller
    np.testing.assert_array_equal(values, serial)


def _child_pool():
    values, threads, attempts = pool_run()
    ref, _ = _core._pool_selftest(1, 64, 50_000 * 2 ** (attempts - 1))
    return bool(np.array_equal(values, ref)), threads


def test_pool_works_in_a_forked_child_after_the_parent_used_it():
    """The parent's workers do not exist in a child: without the pthread_atfork handler the
    child's first parallel job would wait forever for them (a hang, caught here)."""
    _, threads, _ = pool_run()
    assert threads >= 2, "the parent's pool never ran a helper; nothing to fork"
    correct, child_threads = run_in_fork(_child_pool)
    assert correct
    assert child_threads >= 2, "the child ran the job without helper threads"
    # and the parent's pool still works after the fork
    _, threads, _ = pool_run()
    assert threads >= 2


def test_fork_while_another_thread_runs_a_pool_job():
    """Fork in the middle of a parallel job (its lock held by another thread): the child
    must start with a fresh, unlocked pool."""
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            _core._pool_selftest(2, 64, 20_000)
    t = threading.Thread(target=busy)
    t.start()
    try:
        for _ in range(5):
            correct, _threads = run_in_fork(_child_pool)
            assert correct
    finally:
        stop.set()
        t.join()


# ---- estimators across fork --------------------------------------------------------------------

CONFIG = dict(hidden_layer_sizes=(128, 64), max_iter=5, random_state=3, n_threads=2)


def _fit_and_predict(X, y):
    model = MLPClassifier(**CONFIG).fit(X, y)
    return model._engine.params.tobytes(), model.predict_proba(X).tobytes()


def _predict_with(model, X):
    return model.predict_proba(X).tobytes()


def test_forked_child_fits_and_predicts_like_the_parent():
    X, y = data(n=2000, f=64)
    parent = MLPClassifier(**CONFIG).fit(X, y)
    # The engine splits large products over the pool (n_threads=2); make sure its workers
    # exist in the parent whatever the engine decided for this size.
    pool_run()
    params, proba = run_in_fork(_fit_and_predict, X, y)
    assert params == parent._engine.params.tobytes()
    assert proba == parent.predict_proba(X).tobytes()
    # a model fitted before the fork predicts the same in the child
    assert run_in_fork(_predict_with, parent, X) == parent.predict_proba(X).tobytes()


# ---- pickles into another process --------------------------------------------------------------

READ_PICKLES = textwrap.dedent("""
    import pickle, sys
    results = []
    for model, X, more in pickle.load(sys.stdin.buffer):
        out = {"proba": model.predict_proba(X) if hasattr(model, "predict_proba") else None,
               "pred": model.predict(X)}
        if more is not None:
            model.partial_fit(*more)
            out["after"] = model._engine.params
        results.append(out)
    pickle.dump(results, sys.stdout.buffer)
""")


def _run_python(code, stdin=b"", timeout=CHILD_TIMEOUT, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True,
                          timeout=timeout, env=env, **kwargs)


def test_pickled_models_predict_the_same_in_a_subprocess():
    """Pickle bytes through stdin into a fresh interpreter: same predictions bit for bit,
    and a model pickled mid-training continues there exactly as it would here."""
    X, y = data()
    classifier = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(
        X, np.array(["a", "b", "c"])[y])
    regressor = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                             dtype="float64").fit(X, X[:, 0])
    training = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, dropout=0.1)
    training.partial_fit(X, y, classes=[0, 1, 2])
    more = (X[::-1], y[::-1])
    jobs = [(classifier, X, None), (regressor, X, None), (training, X, more)]
    proc = _run_python(READ_PICKLES, pickle.dumps(jobs))
    assert proc.returncode == 0, proc.stderr.decode()
    results = pickle.loads(proc.stdout)
    assert len(results) == 3
    for (model, X_, _), out in zip(jobs, results):
        np.testing.assert_array_equal(out["pred"], model.predict(X_))
        if out["proba"] is not None:
            assert out["proba"].tobytes() == model.predict_proba(X_).tobytes()
    training.partial_fit(*more)
    assert results[2]["after"].tobytes() == training._engine.params.tobytes()


# ---- Ctrl-C ------------------------------------------------------------------------------------

INTERRUPTED_FIT = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    import fastmlp
    from fastmlp import MLPClassifier

    mode, target_seconds = sys.argv[1], float(sys.argv[2])
    rs = np.random.RandomState(0)
    width = (512, 512)

    def make(n):
        X = rs.randn(n, 32).astype(np.float32)
        return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)

    # calibrate on this machine: how many samples a target_seconds epoch holds
    X, y = make(2000)
    probe = MLPClassifier(hidden_layer_sizes=width, max_iter=1, batch_size=32, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe.fit(X, y)
    per_sample = (time.perf_counter() - start) / 2000
    if mode == "mid-epoch":   # one epoch planned to last target_seconds
        n, epochs = int(min(1_000_000, max(4000, target_seconds / per_sample))), 1
    else:                     # many short epochs adding up to target_seconds
        n = 2000
        epochs = int(max(20, target_seconds / (per_sample * n)))
    X, y = make(n)
    model = MLPClassifier(hidden_layer_sizes=width, max_iter=epochs, batch_size=32,
                          random_state=0, n_iter_no_change=10**9)
    steps_per_epoch = -(-n // 32)
    print(json.dumps({"started": True, "steps_planned": steps_per_epoch * epochs}), flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    returned_at = time.time()
    report = {"returned_at": returned_at,
              "warnings": [str(w.message) for w in caught], "n_iter": model.n_iter_,
              "loss_curve": len(model.loss_curve_), "t": model.t_,
              "steps_done": model._engine.get_state()["step"],
              "steps_per_epoch": steps_per_epoch, "epochs_planned": epochs, "n": n}
    # the model is consistent and usable: predict, save, load, continue training
    proba = model.predict_proba(X[:100])
    report["proba_finite"] = bool(np.isfinite(proba).all())
    report["rows_sum_to_one"] = bool(np.allclose(proba.sum(axis=1), 1, atol=1e-5))
    fastmlp.save(model, sys.argv[3])
    again = fastmlp.load(sys.argv[3])
    report["reloaded_same"] = bool(np.array_equal(again.predict_proba(X[:100]), proba))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again.set_params(warm_start=True, max_iter=1).fit(X[:500], y[:500])
    report["continued"] = again.n_iter_ == model.n_iter_ + 1
    print(json.dumps(report), flush=True)
""")


@pytest.mark.parametrize("mode", ["mid-epoch", "between-epochs"])
def test_ctrl_c_during_fit_returns_promptly_with_a_usable_model(tmp_path, mode):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_FIT, mode, "30",
                             str(tmp_path / "m.fmlp")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        assert json.loads(first)["started"], first
        planned = json.loads(first)["steps_planned"]
        # let it run into the fit (any moment will do: the point is that it is mid-fit)
        threading.Event().wait(1.0)
        sent_at = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the interrupted fit did not return within {CHILD_TIMEOUT} s")
    assert proc.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert "Training interrupted by user." in report["warnings"], report
    # fit returned within a second of Ctrl-C (the C loop checks every 0.1 s of work)
    assert report["returned_at"] - sent_at < 1.0, report["returned_at"] - sent_at
    assert report["proba_finite"] and report["rows_sum_to_one"] and report["reloaded_same"]
    assert report["continued"]
    # stopped part-way: a fraction of the ~30 s of planned work was done
    assert 0 < report["steps_done"] < planned / 3, (report, planned)
    assert report["n_iter"] == report["loss_curve"]  # whole epochs only are counted
    assert report["t"] == report["n_iter"] * report["n"]
    if mode == "mid-epoch":
        # interrupted inside the only epoch: the C loop itself checked for the signal
        assert report["n_iter"] == 0 and report["steps_done"] < report["steps_per_epoch"]
    else:
        assert report["n_iter"] < report["epochs_planned"]
