"""Training curves of a fitted model as a picture: ``plot_training(model, path)``.
It needs matplotlib (the ``plot`` extra) and deliberately never touches pyplot's global state.

The figure is drawn on an Agg canvas of its own (no display, no change to the
backend the caller chose), so it works on servers and inside notebooks alike.
"""
import os

__all__ = ["plot_training"]

_INSTALL_HINT = ("plot_training needs matplotlib, which is not installed: run "
                 "pip install 'fastmlp[plot]' (or pip install matplotlib)")


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Figure, FigureCanvasAgg


def _finite(values):
    return [v for v in values if v is not None and v == v and abs(v) != float("inf")]


def plot_training(model, path=None, *, title=None, dpi=100):
    """Draw the training curves of a fitted fastmlp model; save them to ``path``.

    Left panel: the training loss per epoch (``loss_curve_``) and, when the
    model had a validation set (``early_stopping=True`` or
    ``fit(..., validation_data=...)``), the validation loss
    (``validation_loss_curve_``). Right panel: the validation score per epoch
    (accuracy for classifiers, R^2 for regressors), with the best epoch
    marked; without a validation set it says how to get one. The loss axis is
    logarithmic when the curves span more than a factor of 20.

    ``path`` is a file name whose extension picks the format ('.png', '.svg',
    '.pdf', ...); None draws without saving. Returns the matplotlib Figure.

    Raises ImportError naming ``pip install 'fastmlp[plot]'`` when matplotlib
    is missing, and ValueError for a model that has not been fitted.
    """
    losses = getattr(model, "loss_curve_", None)
    if not losses:
        raise ValueError(f"plot_training needs a fitted model with a loss curve; this "
                         f"{type(model).__name__} has not been fitted (call fit first)")
    Figure, FigureCanvasAgg = _matplotlib()
    val_losses = getattr(model, "validation_loss_curve_", None) or []
    scores = getattr(model, "validation_scores_", None) or []
    spec = getattr(model, "_spec", None) or {}
    is_classifier = spec.get("task", "classification") == "classification"
    score_name = "accuracy" if is_classifier else "R\u00b2"
    lbfgs = getattr(model, "solver", None) == "lbfgs"
    unit = "iteration" if lbfgs else "epoch"

    fig = Figure(figsize=(10, 4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_score = fig.subplots(1, 2)
    epochs = range(1, len(losses) + 1)
    ax_loss.plot(epochs, losses, marker="o", markersize=3, label="training loss")
    if val_losses:
        ax_loss.plot(range(1, len(val_losses) + 1), val_losses, marker="s", markersize=3,
                     label="validation loss")
    shown = _finite(list(losses) + list(val_losses))
    if shown and min(shown) > 0 and max(shown) / min(shown) > 20:
        ax_loss.set_yscale("log")
    ax_loss.set_xlabel(unit)
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss per " + unit)
    ax_loss.grid(True, alpha=0.3)
    ax_loss.legend()

    if scores:
        ax_score.plot(range(1, len(scores) + 1), scores, marker="o", markersize=3,
                      color="tab:green", label=f"validation {score_name}")
        finite = _finite(scores)
        if finite:
            best = max(finite)
            at = list(scores).index(best) + 1
            ax_score.plot([at], [best], marker="*", markersize=12, color="tab:red",
                          linestyle="none", label=f"best {best:.4f} ({unit} {at})")
        ax_score.set_xlabel(unit)
        ax_score.set_ylabel(f"validation {score_name}")
        ax_score.set_title(f"validation {score_name} per {unit}")
        ax_score.grid(True, alpha=0.3)
        ax_score.legend(loc="lower right")
    else:
        ax_score.set_axis_off()
        ax_score.text(0.5, 0.5, "no validation set:\nfit with early_stopping=True or\n"
                      "validation_data=(X_val, y_val)\nto plot validation curves",
                      ha="center", va="center", transform=ax_score.transAxes)

    if title is None:
        sizes = getattr(model, "_engine_config", {}).get("layer_sizes")
        arch = "-".join(str(s) for s in sizes) if sizes else ""
        title = f"{type(model).__name__} {arch}, {len(losses)} {unit}s".replace("  ", " ")
    fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig
