"""Resident memory stays flat over many fit / predict / save / load cycles.
It deliberately looks for leaks only (memory errors are AddressSanitizer's job:
tools/sanitize.sh); the bound is generous, the cycle count is not.

A leak of anything a cycle allocates (a copy of X, an engine, its optimizer moments or
workspace, a model file's arrays) is at least ~25 KB per cycle here, so 1000 cycles would
grow the process by 25 MB or more; allocator noise after a warm-up is far below the bound.
"""
import gc
import os
import pickle
import sys
import tempfile
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor



def _under_asan():
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                       reason="reads resident memory from /proc/self/statm (Linux)"),
    pytest.mark.skipif(_under_asan(), reason="under AddressSanitizer freed memory sits in its "
                       "quarantine (up to 256 MB), so resident memory says nothing about leaks"),
]

CYCLES = 1000
WARM_UP = 100
BOUND_MB = 16


def resident_bytes():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _scratch_dir(tmp_path):
    # A RAM disk when there is one: os.replace and fsync on a real disk cost ~10 ms per
    # save, which would make 1000 cycles slow without telling more about memory.
    shm = "/dev/shm"
    if sys.platform.startswith("linux") and os.path.isdir(shm) and os.access(shm, os.W_OK):
        return tempfile.TemporaryDirectory(dir=shm)
    return tempfile.TemporaryDirectory(dir=tmp_path)


def test_fit_predict_save_load_cycles_do_not_grow_resident_memory(tmp_path):
    rs = np.random.RandomState(0)
    X = rs.randn(200, 32)
    y = np.arange(200) % 3
    with _scratch_dir(tmp_path) as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = os.path.join(d, "m.fmlp")

        def cycle(i):
            cls = MLPClassifier if i % 2 == 0 else MLPRegressor
            target = y if cls is MLPClassifier else X[:, 0]
            model = cls(hidden_layer_sizes=(64,), max_iter=1, random_state=i,
                        early_stopping=(i % 4 == 0)).fit(X, target)
            out = model.predict(X)
            fastmlp.save(model, path)
            loaded = fastmlp.load(path)
            assert np.array_equal(loaded.predict(X), out)
            if i % 10 == 0:
                pickle.loads(pickle.dumps(loaded)).partial_fit(X, target)

        for i in range(WARM_UP):
            cycle(i)
        before = resident_bytes()
        for i in range(WARM_UP, WARM_UP + CYCLES):
            cycle(i)
        grown = resident_bytes() - before
    assert grown < BOUND_MB * 2 ** 20, f"resident memory grew by {grown / 2**20:.1f} MB"
