"""plot_training: the curves it draws are the model's curves, it writes a real PNG, and
without matplotlib it says how to install it (simulated by blocking the import in a subprocess)."""
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp.datasets import load_digits


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X / 16.0, y


def fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, **kw)


def test_png_with_the_models_curves(digits, tmp_path):
    pytest.importorskip("matplotlib")
    X, y = digits
    model = fit(fastmlp.MLPClassifier((16,), max_iter=6, random_state=0, early_stopping=True,
                                      n_iter_no_change=50), X, y)
    path = tmp_path / "curves.png"
    fig = fastmlp.plot_training(model, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loss_ax, score_ax = fig.axes
    (train, val), = [loss_ax.get_lines()]
    np.testing.assert_allclose(train.get_ydata(), model.loss_curve_)
    np.testing.assert_allclose(val.get_ydata(), model.validation_loss_curve_)
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 7))
    score, best = score_ax.get_lines()
    np.testing.assert_allclose(score.get_ydata(), model.validation_scores_)
    assert best.get_ydata()[0] == max(model.validation_scores_)
    assert "accuracy" in score_ax.get_ylabel()


def test_regressor_without_validation_says_how_to_get_one(digits, tmp_path):
    pytest.importorskip("matplotlib")
    X, y = digits
    model = fit(fastmlp.MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
                X, y.astype(float))
    fig = fastmlp.plot_training(model, tmp_path / "r.svg")
    assert (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")
    loss_ax, score_ax = fig.axes
    assert len(loss_ax.get_lines()) == 1 and not score_ax.axison
    assert "validation_data" in score_ax.texts[0].get_text()
    # R^2 is named for regressors when there is a validation set
    model = fit(fastmlp.MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
                X, y.astype(float), validation_data=(X[:100], y[:100].astype(float)))
    assert "R\u00b2" in fastmlp.plot_training(model).axes[1].get_ylabel()


def test_an_unfitted_model_is_refused():
    with pytest.raises(ValueError, match="has not been fitted"):
        fastmlp.plot_training(fastmlp.MLPClassifier(), "x.png")


BLOCK_MATPLOTLIB = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "matplotlib" or name.startswith("matplotlib."):
                raise ImportError("No module named 'matplotlib' (blocked by the test)")
            return None

    sys.meta_path.insert(0, Block())
""")


def run_blocked(code, *argv):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-c", BLOCK_MATPLOTLIB + textwrap.dedent(code),
                           *map(str, argv)], capture_output=True, text=True, env=env, timeout=300)


def test_without_matplotlib_the_error_names_the_extra(tmp_path):
    proc = run_blocked("""
        import warnings
        import fastmlp
        from fastmlp.datasets import load_digits
        X, y = load_digits()
        warnings.simplefilter("ignore")
        model = fastmlp.MLPClassifier((4,), max_iter=1).fit(X, y)
        try:
            fastmlp.plot_training(model, sys.argv[1])
        except ImportError as exc:
            print("ImportError:", exc)
    """, tmp_path / "x.png")
    assert proc.returncode == 0, proc.stderr
    assert "ImportError: plot_training needs matplotlib, which is not installed: run pip " \
           "install 'fastmlp[plot]'" in proc.stdout
    assert not (tmp_path / "x.png").exists()


def test_without_matplotlib_the_cli_refuses_plot_before_training(tmp_path):
    data = tmp_path / "d.csv"
    np.savetxt(data, np.column_stack([np.eye(4), np.arange(4) % 2]), delimiter=",")
    proc = run_blocked("""
        from fastmlp.__main__ import main
        sys.exit(main(sys.argv[1:]))
    """, "train", data, "--target", "-1", "--plot", tmp_path / "c.png")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("fastmlp train: error: --plot: plot_training needs matplotlib")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_cli_refuses_an_unknown_image_type_before_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from fastmlp import __main__ as cli

    data = tmp_path / "d.csv"
    np.savetxt(data, np.column_stack([np.eye(4), np.arange(4) % 2]), delimiter=",")
    code = cli.main(["train", str(data), "--target", "-1", "--plot", str(tmp_path / "c.pnx")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "must end in an image type matplotlib writes: " in captured.err
    assert ".png" in captured.err and captured.err.count("\n") == 1
