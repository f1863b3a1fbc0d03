"""The memory check (memory_check.py) scaled down for CI: a 784-800-10 fit on
4,000 MNIST rows stays within X + 64 MiB, and predicting 20,000 rows never
holds the 20,000 x 800 hidden array. `python benchmarks/memory_check.py` runs
the full-size version (60,000-row fit, 1,000,000-row predict); speed_report.py
puts it in BENCHMARKS.md. Each check runs in a fresh child process."""
import pytest

import memory_check as M

pytestmark = pytest.mark.skipif(not M.can_measure(), reason="needs Linux /proc/self/status")


def test_fit_peak_rss_quick():
    r = M.check_fit(M.QUICK["fit_rows"], M.QUICK["fit_epochs"])
    assert r["ok"], M.describe_fit(r)


def test_predict_many_rows_bounded_quick():
    r = M.check_predict(M.QUICK["predict_rows"])
    assert r["outputs_match"], "predict on the memmap differs from predict on the same rows in RAM"
    assert r["ok"], M.describe_predict(r)
    # the instrument sees a full hidden array when one is made (NumPy's forward pass)
    assert r["control_growth"] >= 0.8 * r["control_hidden_bytes"], M.describe_predict(r)
