"""fastmlp: train and serve multilayer perceptrons on the CPU, fast."""
__version__ = "0.1.0"

from ._config import available_isas, get_isa, set_isa, show_config  # noqa: E402
from ._config import _apply_environment as _apply_env  # noqa: E402

_apply_env()
del _apply_env

from ._compat import ConvergenceWarning, NotFittedError  # noqa: E402
from ._engine import NonFiniteLossError  # noqa: E402
from .estimators import MLP, MLPClassifier, MLPRegressor  # noqa: E402
from .io import load, save  # noqa: E402

__all__ = ["available_isas", "get_isa", "set_isa", "show_config", "__version__",
           "MLP", "MLPClassifier", "MLPRegressor", "save", "load",
           "ConvergenceWarning", "NotFittedError", "NonFiniteLossError"]
