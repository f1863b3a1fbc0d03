"""fastmlp: train and serve multilayer perceptrons on the CPU, fast."""
__version__ = "0.1.0"

import importlib as _importlib  # noqa: E402

from ._config import available_isas, get_isa, set_isa, show_config  # noqa: E402
from ._config import _apply_environment as _apply_env  # noqa: E402

_apply_env()
del _apply_env

from ._engine import NonFiniteLossError  # noqa: E402

# The estimators import scikit-learn when it is installed (for its base
# classes), which takes seconds; they load on first use so that `import fastmlp`,
# show_config() and `python -m fastmlp --help` stay fast.
_LAZY = {"MLP": "estimators", "MLPClassifier": "estimators", "MLPRegressor": "estimators",
         "save": "io", "load": "io", "ConvergenceWarning": "_compat",
         "NotFittedError": "_compat", "to_onnx": "_onnx"}

__all__ = ["available_isas", "get_isa", "set_isa", "show_config", "__version__",
           "MLP", "MLPClassifier", "MLPRegressor", "save", "load", "to_onnx",
           "ConvergenceWarning", "NotFittedError", "NonFiniteLossError"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastmlp' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
