"""The command line: train / predict / evaluate / bench round trips on small data, and every
user mistake as one line on stderr with a non-zero exit. Epochs are few: accuracy is not tested here.
"""
import gzip
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import fastmlp
from fastmlp import __main__ as cli
from fastmlp.datasets import load_digits


def run(*args):
    """The real entry point in a fresh process (for exit codes and tracebacks end to end)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "fastmlp", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def main(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    X, y = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits.csv"
    names = [f"p{i}" for i in range(64)] + ["label"]
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%d",
               header=",".join(names), comments="")
    return path, X, y


@pytest.fixture(scope="module")
def trained(digits_csv, tmp_path_factory):
    """A classifier trained through the CLI once, shared by the predict/evaluate tests."""
    path, X, y = digits_csv
    model = tmp_path_factory.mktemp("model") / "digits.fmlp"
    code = cli.main(["train", str(path), "--target", "label", "--hidden", "32", "--epochs", "12",
                     "--lr", "0.01", "--standardize", "--quiet", "--out", str(model)])
    assert code == 0
    return model


def test_train_prints_progress_and_saves_a_model(digits_csv, tmp_path, capsys):
    path, X, y = digits_csv
    out_file = tmp_path / "m.fmlp"
    code, out, err = main(capsys, "train", path, "--target", "label", "--hidden", "16",
                          "--hidden", "8", "--epochs", "4", "--seed", "3", "--out", out_file)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"fastmlp train: {path} (1797 rows, 64 features)"
    counts = re.search(r"classification, 10 classes; (\d+) training rows, (\d+) validation "
                       r"rows \(stratified, seed 3\)", lines[1])
    assert counts and int(counts[1]) + int(counts[2]) == 1797 and 170 <= int(counts[2]) <= 190
    assert "network: 64-16-8-10, relu, softmax + cross-entropy" in lines[2]
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert len(epochs) == 4 and all("val_loss" in e and "val_score" in e for e in epochs)
    assert any(line.startswith("trained 64-16-8-10") and "4 epochs" in line for line in lines)
    assert "saved the model to" in out
    model = fastmlp.load(out_file)
    assert model.hidden_layer_sizes == (16, 8) and model.n_iter_ == 4
    assert model.random_state == 3 and len(model.validation_scores_) == 4
    # the summary line quotes the model's own last validation score
    assert f"validation accuracy {model.validation_scores_[-1]:.4f}" in out
    assert err == ""  # the reached epoch limit is the plan, not a warning


def test_train_options_reach_the_estimator(digits_csv, tmp_path, capsys):
    path, X, y = digits_csv
    out_file = tmp_path / "m.fmlp"
    code, out, err = main(capsys, "train", path, "--target", "-1", "--hidden", "12,6",
                          "--activation", "tanh", "--solver", "sgd", "--lr", "0.05",
                          "--momentum", "0.5", "--batch-size", "50", "--epochs", "3",
                          "--alpha", "0.001", "--dropout", "0.1", "--dtype", "float64",
                          "--validation-fraction", "0.2", "--early-stopping", "--patience", "7",
                          "--threads", "1", "--quiet", "--out", out_file)
    assert code == 0, err
    m = fastmlp.load(out_file)
    assert (m.hidden_layer_sizes, m.activation, m.solver, m.learning_rate_init, m.momentum,
            m.batch_size, m.max_iter, m.alpha, m.dropout, m.dtype, m.early_stopping,
            m.n_iter_no_change, m.n_threads) == \
        ((12, 6), "tanh", "sgd", 0.05, 0.5, 50, 3, 0.001, 0.1, "float64", True, 7, 1)
    assert "Epoch" not in out and "validation rows" in out


def test_predict_writes_the_models_predictions(trained, digits_csv, tmp_path, capsys):
    path, X, y = digits_csv
    model = fastmlp.load(trained)
    assert model.standardize and hasattr(model, "scaler_mean_")
    code, out, err = main(capsys, "predict", trained, path, "--target", "label")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 1 + len(y)
    np.testing.assert_array_equal(np.array(lines[1:], dtype=int), model.predict(X))
    # probabilities to a CSV file, one column per class
    csv = tmp_path / "p.csv"
    code, out, err = main(capsys, "predict", trained, path, "--target", "label", "--proba",
                          "--out", csv)
    assert code == 0 and out == "" and "wrote probabilities for 1797 rows" in err
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert open(csv).readline().strip() == ",".join(map(str, range(10)))
    np.testing.assert_allclose(table, model.predict_proba(X), rtol=1e-6, atol=1e-8)
    # and to .npy
    npy = tmp_path / "p.npy"
    assert main(capsys, "predict", trained, path, "--target", "label", "--out", npy)[0] == 0
    np.testing.assert_array_equal(np.load(npy), model.predict(X))


def test_evaluate_reports_accuracy_loss_and_confusions(trained, digits_csv, capsys):
    path, X, y = digits_csv
    model = fastmlp.load(trained)
    code, out, err = main(capsys, "evaluate", trained, path, "--target", "label")
    assert code == 0, err
    accuracy = model.score(X, y)
    correct = int(round(accuracy * len(y)))
    assert f"accuracy: {accuracy:.4f} ({correct}/1797)" in out
    proba = model.predict_proba(X)
    log_loss = -np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1)))
    assert f"log loss: {log_loss:.6f}" in out
    lines = out.splitlines()
    top = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    matrix = np.array([line.split()[1:] for line in lines[top + 2:top + 12]], dtype=int)
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (y, model.predict(X)), 1)
    np.testing.assert_array_equal(matrix, expected)
    assert lines[top + 12].split()[0] == "recall" and lines[top + 13].split()[0] == "precision"


def test_regression_round_trip_with_npz(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)) * [1, 10, 100, 0.1, 5] + 50
    y = X @ [0.5, 0.05, 0.005, 5, 0.1] + rng.normal(scale=0.1, size=300)
    data = tmp_path / "reg.npz"
    np.savez(data, X=X, y=y)
    model_file = tmp_path / "reg.fmlp"
    code, out, err = main(capsys, "train", data, "--hidden", "16", "--epochs", "30", "--lr",
                          "0.01", "--standardize", "--quiet", "--out", model_file)
    assert code == 0, err
    assert "task: regression" in out and "validation R^2" in out
    model = fastmlp.load(model_file)
    code, out, err = main(capsys, "evaluate", model_file, data)
    assert code == 0, err
    assert f"R^2: {model.score(X, y):.4f}" in out
    assert "mean squared error" in out
    code, out, _ = main(capsys, "predict", model_file, data)
    np.testing.assert_allclose(np.array(out.splitlines()[1:], dtype=float), model.predict(X),
                               rtol=1e-6)


def test_npy_table_with_a_target_column_index(tmp_path, capsys):
    X, y = load_digits()
    data = tmp_path / "d.npy"
    np.save(data, np.column_stack([y, X]))  # the target first
    code, out, err = main(capsys, "train", data, "--target", "0", "--hidden", "8", "--epochs",
                          "2", "--quiet", "--validation-fraction", "0", "--out",
                          tmp_path / "m.fmlp")
    assert code == 0, err
    assert "1797 training rows" in out and "validation" not in out.split("\n")[1]
    assert fastmlp.load(tmp_path / "m.fmlp").n_features_in_ == 64


def test_integer_targets_with_many_values_get_a_note(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = rng.randint(0, 300, 400)
    data = tmp_path / "t.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",")
    code, out, err = main(capsys, "train", data, "--target", "-1", "--epochs", "1", "--quiet",
                          "--hidden", "4", "--validation-fraction", "0")
    assert code == 0, err
    assert "pass --task regression if it is a quantity" in out


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def tiny_mnist(datasets, tmp_path):
    """The first 600 training and 200 test images of the real MNIST, in the IDX layout."""
    from fastmlp.datasets import load_idx

    src = datasets / "mnist"
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, n in (("train-images-idx3-ubyte", 600), ("train-labels-idx1-ubyte", 600),
                    ("t10k-images-idx3-ubyte", 200), ("t10k-labels-idx1-ubyte", 200)):
        write_idx(folder / (name + ".gz"), load_idx(src / (name + ".gz"))[:n])
    return folder


def test_idx_directory_train_then_evaluate_uses_the_test_files(tiny_mnist, tmp_path, capsys):
    from fastmlp.datasets import load_mnist

    model_file = tmp_path / "model.fmlp"
    code, out, err = main(capsys, "train", tiny_mnist, "--hidden", "32", "--epochs", "5",
                          "--out", model_file)
    assert code == 0, err
    assert "IDX training files: 600 images of 784 pixels, scaled to [0, 1]" in out
    assert "network: 784-32-10" in out
    code, out, err = main(capsys, "evaluate", model_file, tiny_mnist)
    assert code == 0, err
    assert "IDX test files: 200 images" in out
    model = fastmlp.load(model_file)
    Xt, yt = load_mnist(tiny_mnist, "test")
    assert f"accuracy: {model.score(Xt, yt):.4f}" in out
    # --kind train scores the training files instead
    code, out, _ = main(capsys, "evaluate", model_file, tiny_mnist, "--kind", "train")
    assert "IDX training files: 600 images" in out
    code, out, _ = main(capsys, "predict", model_file, tiny_mnist)
    np.testing.assert_array_equal(np.array(out.splitlines()[1:], dtype=int), model.predict(Xt))


def test_plot_option_writes_a_png(digits_csv, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path, X, y = digits_csv
    png = tmp_path / "curve.png"
    code, out, err = main(capsys, "train", path, "--target", "label", "--hidden", "8",
                          "--epochs", "3", "--quiet", "--plot", png)
    assert code == 0, err
    assert f"saved the training curves to {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_times_both_engines(capsys):
    code, out, err = main(capsys, "bench", "--rows", "600", "--repeat", "1", "--hidden", "16",
                          "--no-torch")
    assert code == 0, err
    assert "one training epoch of 784-16-10" in out
    assert "fastmlp (C engine" in out and "NumPy reference engine" in out
    assert "fastmlp is" in out and "as fast as NumPy reference engine" in out


def test_every_subcommand_has_help():
    for command, expected in (("train", "--hidden"), ("predict", "--proba"),
                              ("evaluate", "TEST files"), ("bench", "--repeat"),
                              ("demo", "--epochs")):
        with pytest.raises(SystemExit) as exit_info:
            cli.build_parser().parse_args([command, "--help"])
        assert exit_info.value.code == 0
    proc = run("evaluate", "--help")
    assert proc.returncode == 0 and "TEST files (t10k-*) by default" in proc.stdout.replace(
        "\n", " ").replace("  ", " ")
    proc = run("--help")
    for command in ("train", "predict", "evaluate", "bench", "demo"):
        assert command in proc.stdout


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reg")
    X = np.random.RandomState(0).normal(size=(50, 64))
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, X[:, 0])
    fastmlp.save(model, folder / "reg.fmlp")
    return folder / "reg.fmlp"


MISTAKES = [
    # (arguments, part of the one-line message); {csv} {model} {reg} {tmp} are filled in
    (("train", "{tmp}/missing.csv", "--target", "label"), "missing.csv: no such file"),
    (("train", "{csv}", "--target", "nope"), "target='nope' is not a column"),
    (("train", "{csv}"), "has no target: pass --target COLUMN"),
    (("train", "{csv}", "--target", "label", "--lr", "-1"), "argument --lr: expected a positive"),
    (("train", "{csv}", "--target", "label", "--dropout", "1.5"), "argument --dropout"),
    (("train", "{csv}", "--target", "label", "--hidden", "0"), "argument --hidden"),
    (("train", "{csv}", "--target", "label", "--solver", "newton"), "invalid choice: 'newton'"),
    (("train", "{csv}", "--target", "label", "--solver", "lbfgs", "--dropout", "0.2"),
     "dropout needs a stochastic solver"),
    (("train", "{csv}", "--target", "label", "--early-stopping", "--validation-fraction", "0"),
     "--early-stopping needs a validation set"),
    (("train", "{csv}", "--target", "label", "--out", "{tmp}/no/such/dir/m.fmlp"),
     "does not exist"),
    (("train", "{csv}", "--target", "label", "--epochs", "many"), "argument --epochs"),
    (("evaluate", "{csv}", "{csv}", "--target", "label"), "not a fastmlp model file"),
    (("evaluate", "{tmp}/none.fmlp", "{csv}", "--target", "label"), "no such model file"),
    (("evaluate", "{model}", "{csv}"), "has no target"),
    (("predict", "{model}", "{csv}"), "65 feature columns, but the model was trained on 64; if"),
    (("predict", "{reg}", "{csv}", "--target", "label", "--proba"),
     "--proba needs a classifier"),
    (("predict", "{model}", "{tmp}", "--target", "label"), "--target names a column of a table"),
    (("predict", "{model}", "{csv}", "--target", "label", "--out", "{tmp}"), "is a directory"),
    (("bench", "--rows", "0"), "argument --rows"),
    (("fit",), "invalid choice: 'fit'"),
]


@pytest.mark.parametrize("args,message", MISTAKES, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _)
                                                         in enumerate(MISTAKES)])
def test_user_mistakes_are_one_line_errors(args, message, digits_csv, trained, regressor,
                                           tmp_path, capsys):
    fill = dict(csv=digits_csv[0], model=trained, reg=regressor, tmp=tmp_path)
    argv = [a.format(**fill) for a in args]
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("fastmlp") and message.format(**fill) in lines[0], lines[0]
    assert "Traceback" not in captured.err


def test_errors_end_to_end_in_a_fresh_process(tmp_path):
    bogus = tmp_path / "model.fmlp"
    bogus.write_bytes(b"PK\x03\x04 not really a zip")
    proc = run("evaluate", bogus, tmp_path / "x.csv")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("fastmlp evaluate: error: cannot load")


def test_package_exports_datasets_and_plot_training():
    import fastmlp.datasets as datasets_module

    assert fastmlp.datasets is datasets_module
    assert callable(fastmlp.plot_training)
    assert {"datasets", "plot_training"} <= set(fastmlp.__all__) and "datasets" in dir(fastmlp)
