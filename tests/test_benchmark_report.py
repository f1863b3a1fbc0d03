"""The accuracy scripts' table writer replaces only its own section of BENCHMARKS.md, and
the scripts start (their runs are long and belong to benchmarks/, not to CI)."""
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import benchreport  # noqa: E402


def test_replace_section_keeps_everything_else(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    benchreport.replace_section("accuracy", "Accuracy", "table one", path)
    text = path.read_text()
    assert text.startswith("# fastmlp benchmarks") and "table one" in text
    other = "\n<!-- gemm:begin -->\n## GEMM\n\nnumbers of others\n<!-- gemm:end -->\n"
    path.write_text("intro by someone\n" + text + other)
    benchreport.replace_section("accuracy", "Accuracy", "table two", path)
    new = path.read_text()
    assert "table one" not in new and "table two" in new
    assert new.startswith("intro by someone\n") and new.endswith(other)
    assert new.count("<!-- accuracy:begin -->") == 1
    # a second section of our own goes after everything, once
    benchreport.replace_section("time-to-accuracy", "TTA", "t", path)
    benchreport.replace_section("time-to-accuracy", "TTA", "t2", path)
    final = path.read_text()
    assert final.count("time-to-accuracy:begin") == 1 and final.rstrip().endswith(
        "<!-- time-to-accuracy:end -->") and "numbers of others" in final


def test_scripts_list_their_targets(capsys):
    import accuracy
    import time_to_accuracy

    assert accuracy.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for key in ("mnist800", "nielsen", "sklearn_filters", "fashion", "diabetes"):
        assert key in listed
    assert set(time_to_accuracy.CONFIGS) == {"results", "best"}
    with pytest.raises(SystemExit) as exit_info:
        time_to_accuracy.main(["--help"])
    assert exit_info.value.code == 0 and "--repeat" in capsys.readouterr().out
