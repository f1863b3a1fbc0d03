"""The fastmlp command line: ``python -m fastmlp demo`` (train, predict, evaluate, bench later).
It deliberately holds no training logic of its own: it parses arguments and calls the public API.

User mistakes (bad arguments, invalid hyperparameters, missing files) end
with one line on stderr and a non-zero exit status, never a traceback.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

EXIT_USAGE = 2


class UserError(Exception):
    """A mistake in the command line: reported as one line, exit status 2."""


def _read_digits():
    """The bundled 8x8 digits: X (1797, 64) in [0, 1] as float64, y (1797,) ints 0..9.

    Private stand-in until fastmlp.datasets.load_digits() lands; the file is
    byte-identical to scikit-learn's digits.csv.gz (64 pixel columns 0..16,
    then the label).
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datasets", "data",
                        "digits.csv.gz")
    data = np.loadtxt(path, delimiter=",")
    if data.shape != (1797, 65):
        raise OSError(f"{path} has shape {data.shape}, expected (1797, 65); the package data "
                      f"is damaged, reinstall fastmlp")
    return data[:, :64] / 16.0, data[:, 64].astype(np.int64)


def _stratified_split(y, test_fraction, seed):
    """Indices (train, test): test_fraction of every class, drawn with RandomState(seed)."""
    rs = np.random.RandomState(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rs.permutation(np.flatnonzero(y == label))
        k = int(round(test_fraction * len(rows)))
        test.append(rows[:k])
        train.append(rows[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _layer_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64 or 128,64, got {text!r}") \
            from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every layer size must be >= 1, got {text!r}")
    return sizes


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32 - 1], got {text!r}") \
            from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32 - 1], got {value}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to find help, no usage dump."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(
        prog="fastmlp", description="Train and serve multilayer perceptrons on the CPU, fast.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    demo = sub.add_parser(
        "demo", help="train a classifier on the bundled 8x8 digits and time it",
        description="Train an MLPClassifier on the 8x8 digits shipped with fastmlp (1797 "
                    "images, stratified train/test split), print per-epoch progress, the test "
                    "accuracy and the training time, then time the same fit with the NumPy "
                    "reference engine.")
    demo.add_argument("--epochs", type=_positive_int, default=30, help="epochs (default 30)")
    demo.add_argument("--hidden", type=_layer_sizes, default=(64,),
                      help="hidden layer sizes, comma separated (default 64)")
    demo.add_argument("--batch-size", type=_positive_int, default=64, help="minibatch (default 64)")
    demo.add_argument("--learning-rate", type=_positive_float, default=0.01,
                      help="Adam learning rate (default 0.01)")
    demo.add_argument("--test-fraction", type=_fraction, default=0.2,
                      help="held-out fraction per class (default 0.2)")
    demo.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    demo.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    demo.add_argument("--no-reference", action="store_true",
                      help="skip timing the NumPy reference engine")
    demo.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    demo.set_defaults(run=run_demo)
    return parser


def _fit_timed(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A fixed epoch budget is the point of the demo, not a convergence problem.
        from ._compat import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def run_demo(args, out=None):
    from ._engine import _engine_choice
    from .estimators import MLPClassifier

    out = sys.stdout if out is None else out  # looked up now, so redirection is honoured
    X, y = _read_digits()
    train, test = _stratified_split(y, args.test_fraction, args.seed)
    params = dict(hidden_layer_sizes=args.hidden, solver="adam",
                  learning_rate_init=args.learning_rate, batch_size=args.batch_size,
                  max_iter=args.epochs, random_state=args.seed, dtype=args.dtype,
                  n_iter_no_change=args.epochs + 1)
    model = MLPClassifier(verbose=not args.quiet, **params)
    try:
        model._config()  # bad hyperparameters are the user's mistake: say so before training
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    sizes = "-".join(str(s) for s in (X.shape[1],) + tuple(args.hidden) + (10,))
    print(f"fastmlp demo: 8x8 digits, {len(y)} images of {X.shape[1]} pixels, 10 classes; "
          f"{len(train)} train / {len(test)} test (stratified, seed {args.seed})", file=out)
    print(f"network {sizes}, relu, softmax + cross-entropy; adam lr {args.learning_rate}, "
          f"batch {args.batch_size}, {args.epochs} epochs, {args.dtype}", file=out)
    out.flush()
    seconds = _fit_timed(model, X[train], y[train])
    engine = "the C engine" if type(model._engine).__name__ == "Engine" else type(model._engine).__name__
    accuracy = model.score(X[test], y[test])
    correct = int(round(accuracy * len(test)))
    print(f"test accuracy: {accuracy:.4f} ({correct}/{len(test)})", file=out)
    rate = model.n_iter_ * len(train) / seconds if seconds > 0 else float("inf")
    print(f"training time: {seconds:.3f} s for {model.n_iter_} epochs ({rate:,.0f} samples/s, "
          f"engine {engine})", file=out)
    if not args.no_reference:
        reference = MLPClassifier(verbose=False, **params)
        with _engine_choice("reference"):
            ref_seconds = _fit_timed(reference, X[train], y[train])
        ref_accuracy = reference.score(X[test], y[test])
        ratio = ref_seconds / seconds if seconds > 0 else float("inf")
        print(f"NumPy reference engine: {ref_seconds:.3f} s for the same fit (test accuracy "
              f"{ref_accuracy:.4f}); {engine} is {ratio:.1f}x as fast", file=out)
        if type(reference._engine) is type(model._engine):
            print("(the default engine is the reference engine in this build)", file=out)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UserError as exc:
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. the bundled data missing from a broken install
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
