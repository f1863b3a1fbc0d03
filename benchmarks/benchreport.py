"""Shared by the accuracy and time-to-accuracy scripts: where the data is, where results
are kept, and how a table replaces only its own section of BENCHMARKS.md.

Not collected by pytest (the CI command collects bench_*.py and test_*.py only).
"""
import datetime
import json
import os
import pathlib
import platform

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def datasets_dir(explicit=None):
    """--data, else $FASTMLP_DATASETS, else ../shared/datasets next to the repository."""
    if explicit:
        return pathlib.Path(explicit)
    env = os.environ.get("FASTMLP_DATASETS")
    if env:
        return pathlib.Path(env)
    return ROOT.parent / "shared" / "datasets"


def require(folder, name):
    path = folder / name
    if not path.exists():
        raise SystemExit(f"{path} not found: pass --data DIR (the folder holding mnist/, "
                         f"fashion-mnist/, diabetes/) or set FASTMLP_DATASETS")
    return path


def machine():
    import numpy as np

    import fastmlp

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, fastmlp {fastmlp.__version__} ({fastmlp.get_isa()} kernels)")


def load_average():
    """The 1-minute load average (None where the OS has none): the machine is shared, and
    a number measured while other jobs ran is only comparable within its own run."""
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def load_results(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_results(path, results):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def today():
    return datetime.date.today().isoformat()


def replace_section(name, title, body, path=BENCHMARKS_MD):
    """Put ``body`` between this section's markers in BENCHMARKS.md, creating the file or
    appending the section when absent; everything outside the markers is left alone."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    write_block(path, f"{begin}\n## {title}\n\n{body.rstrip()}\n{end}", begin, end)


def write_block(path, block, begin, end):
    """Replace the text from ``begin`` to ``end`` in ``path`` with ``block`` (which
    holds both markers), appending it when absent and creating the file when
    missing; the file is replaced atomically."""
    block = block.rstrip("\n")
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        text = ("# fastmlp benchmarks\n\nEach section is written by its own script, between "
                "its markers; rerun the script named in a section to refresh it.\n")
    if begin in text and end in text and text.index(begin) < text.index(end):
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = pathlib.Path(f"{path}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
