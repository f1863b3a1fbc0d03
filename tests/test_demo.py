"""The command line: python -m fastmlp demo, its output, its help and its one-line errors.
It deliberately keeps epochs few; the accuracy target is tested in test_estimators.py.
"""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from fastmlp import __main__ as cli

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def run(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "fastmlp", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_bundled_digits_are_scikit_learns_file():
    path = os.path.join(os.path.dirname(cli.__file__), "datasets", "data", "digits.csv.gz")
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == DIGITS_SHA256
    X, y = cli._read_digits()
    assert X.shape == (1797, 64) and X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y),
                                  [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_stratified_split_keeps_class_proportions():
    _, y = cli._read_digits()
    train, test = cli._stratified_split(y, 0.2, 0)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(y)
    assert np.all(np.abs(np.bincount(y[test]) - 0.2 * np.bincount(y)) <= 0.5)
    again, _ = cli._stratified_split(y, 0.2, 0)
    np.testing.assert_array_equal(train, again)


def test_demo_prints_progress_accuracy_and_both_timings(capsys):
    assert cli.main(["demo", "--epochs", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("fastmlp demo: 8x8 digits, 1797 images")
    assert sum(line.startswith("Epoch ") for line in lines) == 3
    accuracy = [line for line in lines if line.startswith("test accuracy: ")]
    assert len(accuracy) == 1 and float(accuracy[0].split()[2]) > 0.8
    assert any(line.startswith("training time: ") and "3 epochs" in line for line in lines)
    assert any(line.startswith("NumPy reference engine: ") for line in lines)


def test_demo_quiet_without_reference(capsys):
    assert cli.main(["demo", "--epochs", "2", "--quiet", "--no-reference", "--hidden", "16,8",
                     "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "Epoch" not in out and "reference engine" not in out
    assert "network 64-16-8-10" in out


def test_help_lists_the_demo():
    proc = run("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout
    proc = run("demo", "--help")
    assert proc.returncode == 0 and "--epochs" in proc.stdout


@pytest.mark.parametrize("args,message", [
    ((), "the following arguments are required: COMMAND"),
    (("train",), "the following arguments are required: DATA"),
    (("demo", "--epochs", "0"), "argument --epochs: expected a positive integer, got 0"),
    (("demo", "--hidden", "64,x"), "argument --hidden: expected sizes like"),
    (("demo", "--learning-rate", "nan"), "argument --learning-rate: expected a positive number"),
    (("demo", "--test-fraction", "1.5"), "argument --test-fraction"),
    (("demo", "--seed", "-1"), "argument --seed: expected an integer in [0, 2**32 - 1]"),
])
def test_user_mistakes_are_one_line_errors(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_estimator_refusals_become_one_line_errors(capsys, monkeypatch):
    args = cli.build_parser().parse_args(["demo", "--quiet", "--no-reference"])
    args.learning_rate = -1.0  # what argparse would never let through
    with pytest.raises(cli.UserError, match="learning_rate_init must be in"):
        cli.run_demo(args)

    def refuse(args):
        raise cli.UserError("batch_size must be an integer >= 1, got 0")
    monkeypatch.setattr(cli, "run_demo", refuse)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == "fastmlp demo: error: batch_size must be an integer >= 1, got 0\n"


def test_console_script_is_declared():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml")) as f:
        assert 'fastmlp = "fastmlp.__main__:main"' in f.read()
