"""Process-wide configuration: which instruction-set path the kernels use.

The best path the CPU supports is chosen at import; the environment variable
FASTMLP_ISA (generic, avx2, avx512) forces one. It does not hold per-model
settings; those live on the estimators.
"""
import numbers
import os
import platform
import sys

from . import _core

ISA_NAMES = _core.ISA_NAMES


def available_isas():
    """Names of the instruction-set paths this build and this CPU can run."""
    return [name for i, name in enumerate(ISA_NAMES) if _core.isa_supported(i)]


def get_isa():
    """Name of the instruction-set path in use."""
    return ISA_NAMES[_core.get_isa()]


def set_isa(name):
    """Select the instruction-set path for every later kernel call.

    Meant for tests and benchmarks; call it while no fastmlp code runs in
    another thread. ``name`` is 'generic', 'avx2', 'avx512' or 'best'.
    """
    if not isinstance(name, str):
        raise TypeError(f"isa must be a string such as 'avx2', got {type(name).__name__}")
    key = name.strip().lower()
    if key in ("best", "auto", ""):
        _core.set_isa(_core.best_isa())
        return get_isa()
    if key not in ISA_NAMES:
        raise ValueError(f"isa must be one of {', '.join(ISA_NAMES)} or 'best', got {name!r}")
    index = ISA_NAMES.index(key)
    if not _core.isa_compiled(index):
        raise ValueError(f"isa {key!r} is not compiled into this build of fastmlp "
                         f"(this machine is {platform.machine()}); available: "
                         f"{', '.join(available_isas())}")
    if not _core.isa_supported(index):
        raise ValueError(f"isa {key!r} cannot run on this CPU; available: "
                         f"{', '.join(available_isas())}")
    _core.set_isa(index)
    return get_isa()


def set_num_threads(n):
    """Set the process-wide thread count for fastmlp's kernels and engine.

    ``None`` or 0 restores the default, every CPU this process may run on.
    Any larger integer is accepted; counts above 64 (the pool's size: no
    call runs on more threads) mean 64, and the engine never uses more
    threads than there are CPUs. Models with their own ``n_threads`` keep
    it. Threads are a persistent pool shared by all models; a call made
    while another thread's call uses the pool runs on its own thread
    instead of waiting.
    """
    if n is None:
        n = 0
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative integer or None (0/None: every CPU), got {n!r}")
    _core.set_default_threads(int(n))  # it clamps counts above MAX_THREADS


def get_num_threads():
    """The process-wide thread count in effect."""
    return _core.get_default_threads()


def _apply_environment():
    forced = os.environ.get("FASTMLP_ISA")
    if forced is None or forced.strip() == "":
        return
    try:
        set_isa(forced)
    except ValueError as exc:
        raise ImportError(f"FASTMLP_ISA={forced!r}: {exc}") from None


def config():
    """The build and run-time configuration as a dict."""
    import numpy as np
    from . import __version__

    return {
        "fastmlp": __version__,
        "isa": get_isa(),
        "best_isa": ISA_NAMES[_core.best_isa()],
        "available_isas": available_isas(),
        "compiled_isas": [n for i, n in enumerate(ISA_NAMES) if _core.isa_compiled(i)],
        "forced_by_env": os.environ.get("FASTMLP_ISA") or None,
        "threads": get_num_threads(),
        "cpus": _core.cpu_count(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }


def show_config(file=None):
    """Print which instruction-set path is active and what this build supports."""
    cfg = config()
    lines = [
        f"fastmlp {cfg['fastmlp']}",
        f"  active ISA:     {cfg['isa']}" + (f"  (forced by FASTMLP_ISA={cfg['forced_by_env']})"
                                              if cfg["forced_by_env"] else ""),
        f"  best for CPU:   {cfg['best_isa']}",
        f"  runnable here:  {', '.join(cfg['available_isas'])}",
        f"  compiled in:    {', '.join(cfg['compiled_isas'])}",
        f"  threads:        {cfg['threads']} of {cfg['cpus']} CPUs (fastmlp.set_num_threads)",
        f"  machine:        {cfg['machine']}, Python {cfg['python']}, NumPy {cfg['numpy']}",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
