"""scikit-learn integration: its base classes and exception types when it is installed.
It deliberately does not require scikit-learn: without it, small own versions stand in.

With scikit-learn installed, fastmlp's estimators derive from its BaseEstimator
and mixins and raise its NotFittedError / ConvergenceWarning /
DataConversionWarning, so that clone, pipelines, grid search and users'
warning filters work unchanged. Without it, the own classes below give the
same names the same behaviour (get_params / set_params / repr; NotFittedError
is both a ValueError and an AttributeError, as scikit-learn's is).
"""
import inspect

try:
    from sklearn.base import BaseEstimator as _SkBaseEstimator
    from sklearn.base import ClassifierMixin as _SkClassifierMixin
    from sklearn.base import RegressorMixin as _SkRegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError

    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


if not HAVE_SKLEARN:

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before fit (or partial_fit) was called."""

    class ConvergenceWarning(UserWarning):
        """The optimizer stopped at max_iter before meeting its tolerance."""

    class DataConversionWarning(UserWarning):
        """The input was converted to another shape or type."""

    class _OwnBaseEstimator:
        """get_params / set_params / repr from the __init__ signature, like scikit-learn's."""

        @classmethod
        def _get_param_names(cls):
            init = cls.__init__
            if init is object.__init__:
                return []
            params = inspect.signature(init).parameters.values()
            return sorted(p.name for p in params if p.name != "self" and p.kind not in
                          (p.VAR_POSITIONAL, p.VAR_KEYWORD))

        def get_params(self, deep=True):
            out = {}
            for name in self._get_param_names():
                value = getattr(self, name)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
                out[name] = value
            return out

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                head, _, rest = name.partition("__")
                if head not in valid:
                    raise ValueError(f"Invalid parameter {head!r} for estimator "
                                     f"{type(self).__name__}; valid parameters are: {valid}")
                if rest:
                    getattr(self, head).set_params(**{rest: value})
                else:
                    setattr(self, head, value)
            return self

        def __repr__(self):
            defaults = {p.name: p.default for p in
                        inspect.signature(type(self).__init__).parameters.values()
                        if p.name != "self"}
            shown = []
            for name in self._get_param_names():
                value = getattr(self, name)
                default = defaults.get(name, inspect.Parameter.empty)
                if _differs(value, default):
                    shown.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(shown)})"

    class _OwnClassifierMixin:
        _estimator_type = "classifier"

    class _OwnRegressorMixin:
        _estimator_type = "regressor"

    BaseEstimator = _OwnBaseEstimator
    ClassifierMixin = _OwnClassifierMixin
    RegressorMixin = _OwnRegressorMixin
else:
    BaseEstimator = _SkBaseEstimator
    ClassifierMixin = _SkClassifierMixin
    RegressorMixin = _SkRegressorMixin


def _differs(value, default):
    if value is default:
        return False
    if type(value) is not type(default):
        return True
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # arrays and other values without a plain truth value
        return True
