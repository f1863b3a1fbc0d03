"""The fastmlp command line: ``python -m fastmlp train|predict|evaluate|bench|demo``.
It deliberately holds no training logic of its own: it parses arguments and calls the public API.

User mistakes (bad arguments, invalid hyperparameters, missing or malformed
files, a file that is not a model) end with one line on stderr and a non-zero
exit status (2), never a traceback. Data files are CSV/TSV text (optionally
gzipped), .npy, .npz, or an IDX directory in the MNIST layout, read by
fastmlp.datasets; IDX pixels are scaled to [0, 1].
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


def _thread_count(text):
    """--threads: a positive integer; counts above the pool's size (64) mean
    64, as no call runs on more threads (and C's int could not hold 2**40)."""
    from ._core import MAX_THREADS

    return min(_positive_int(text), MAX_THREADS)


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


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _unit_interval(text):
    """A number in [0, 1): dropout rates, momentum, a validation fraction that may be 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def _column(text):
    """--target: an integer is a column index (negative counts from the end), else a name."""
    try:
        return int(text)
    except ValueError:
        return text


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
    _add_train(sub)
    _add_predict(sub)
    _add_evaluate(sub)
    _add_bench(sub)
    return parser


_DATA_HELP = ("a CSV/TSV text file (optionally .gz; header detected), an .npy (2-D, "
              "the target a column), an .npz (arrays X and y), or a directory in the MNIST "
              "IDX layout (train-images-idx3-ubyte[.gz], ...; pixels are scaled to [0, 1])")


def _add_data_options(p, kind_default, target_help):
    p.add_argument("--target", type=_column, metavar="COLUMN", help=target_help)
    p.add_argument("--kind", choices=("train", "test"), default=kind_default,
                   help=f"which files of an IDX directory to read (default {kind_default})")
    p.add_argument("--delimiter", metavar="CHAR",
                   help="column separator of a text file (default: detect ',', tab or ';', "
                        "else whitespace)")
    p.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                   help="whether the first line of a text file names the columns (default "
                        "auto: yes when it has a non-number above a number)")


def _add_train(sub):
    p = sub.add_parser(
        "train", help="train a model on a data file or an IDX directory and save it",
        description="Train an MLP on DATA and save it with --out. Classification or "
                    "regression is picked from the target (labels: integers or strings; "
                    "regression: real numbers) unless --task says otherwise. By default "
                    "10% of the rows are held out (stratified) and scored after every epoch; "
                    "the per-epoch lines show training loss, validation loss and validation "
                    "score.",
        epilog="example: fastmlp train ../shared/datasets/mnist --hidden 800 --epochs 10 "
               "--plot curve.png --out model.fmlp")
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _add_data_options(p, "train", "the target column of a table: its name or its index "
                                  "(0-based; -1 is the last column); for .npz the name of "
                                  "the target array (default 'y'); not used for IDX")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="auto (default): labels mean classification, real numbers regression")
    arch = p.add_argument_group("network")
    arch.add_argument("--hidden", type=_layer_sizes, action="append", metavar="SIZES",
                      help="hidden layer sizes: repeat the option or give a comma list "
                           "(--hidden 256,128); default 100")
    arch.add_argument("--activation", default="relu",
                      choices=("relu", "leaky_relu", "tanh", "logistic", "identity"),
                      help="hidden activation (default relu)")
    arch.add_argument("--dropout", type=_unit_interval, default=0.0,
                      help="dropout rate of every hidden layer (default 0)")
    arch.add_argument("--standardize", action="store_true",
                      help="scale each feature to mean 0 and variance 1 with statistics of the "
                           "training rows, stored in the model (predict takes raw inputs)")
    arch.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                      help="precision (default float32)")
    opt = p.add_argument_group("training")
    opt.add_argument("--solver", choices=("adam", "sgd", "lbfgs"), default="adam",
                     help="optimizer (default adam)")
    opt.add_argument("--lr", type=_positive_float, default=None,
                     help="learning rate (default 0.001 for adam, 0.01 for sgd)")
    opt.add_argument("--momentum", type=_unit_interval, default=0.9,
                     help="sgd momentum (default 0.9, Nesterov; 0 for plain SGD)")
    opt.add_argument("--batch-size", type=_positive_int, default=None,
                     help="minibatch rows (default min(200, rows))")
    opt.add_argument("--epochs", type=_positive_int, default=20,
                     help="at most this many epochs (default 20); training also stops "
                          "when the loss (or with --early-stopping the validation score) "
                          "has not improved for --patience epochs")
    opt.add_argument("--patience", type=_positive_int, default=10,
                     help="epochs without improvement before stopping (default 10)")
    opt.add_argument("--alpha", type=_nonnegative_float, default=0.0001,
                     help="L2 penalty (default 0.0001)")
    opt.add_argument("--validation-fraction", type=_unit_interval, default=0.1,
                     help="fraction of the rows held out and scored after every epoch "
                          "(stratified for classification; default 0.1; 0: train on all rows)")
    opt.add_argument("--early-stopping", action="store_true",
                     help="stop when the validation score has not improved for --patience "
                          "epochs, and keep the best epoch's weights")
    opt.add_argument("--seed", type=_seed, default=0,
                     help="random seed for weights, shuffling and the split (default 0)")
    opt.add_argument("--threads", type=_thread_count, default=None,
                     help="threads the engine may use (default: the engine decides; "
                          "above 64 means 64)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="save the trained model to FILE (e.g. "
                                                   "model.fmlp)")
    out.add_argument("--plot", metavar="FILE",
                     help="save the training curves (loss, validation loss and score per "
                          "epoch) to FILE, e.g. curve.png (needs matplotlib)")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(run=run_train)


def _add_predict(sub):
    p = sub.add_parser(
        "predict", help="predict labels, values or probabilities with a saved model",
        description="Predict with a saved model on DATA: one line per row (a CSV column "
                    "named 'prediction'), or class probabilities (one column per class) "
                    "with --proba. Writes CSV to stdout, or to --out (CSV, or .npy when the "
                    "name ends in .npy). An IDX directory is read with its test files "
                    "unless --kind train.",
        epilog="example: fastmlp predict model.fmlp new.csv --out predictions.csv")
    p.add_argument("model", metavar="MODEL", help="a model file written by fastmlp train or "
                                                  "fastmlp.save")
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _add_data_options(p, "test", "a column of the table to leave out (the target, if the "
                                 "file has one): its name or index")
    p.add_argument("--proba", action="store_true",
                   help="class probabilities instead of labels (classifiers)")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (.npy: NumPy "
                                                 "array, else CSV)")
    p.set_defaults(run=run_predict)


def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate", help="score a saved model on data with targets",
        description="Score a saved model on DATA: accuracy, log loss and a confusion summary "
                    "for a classifier; R^2, mean squared and absolute error for a regressor. "
                    "An IDX directory is read with its TEST files (t10k-*) by default; "
                    "--kind train scores the training files.",
        epilog="example: fastmlp evaluate model.fmlp ../shared/datasets/mnist")
    p.add_argument("model", metavar="MODEL", help="a model file written by fastmlp train or "
                                                  "fastmlp.save")
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _add_data_options(p, "test", "the target column of a table: its name or index (-1 is "
                                 "the last); for .npz the target array (default 'y')")
    p.set_defaults(run=run_evaluate)


def _add_bench(sub):
    p = sub.add_parser(
        "bench", help="time one MNIST-shaped training epoch: fastmlp vs NumPy (and PyTorch)",
        description="Time one training epoch of a 784-H-10 relu network (softmax "
                    "cross-entropy, SGD momentum 0.9, shuffled minibatches) on 60,000 "
                    "MNIST-shaped rows with fastmlp's C engine, its NumPy reference engine "
                    "and, when it is installed, PyTorch; print the median of --repeat "
                    "epochs each. The data is random unless --data names an MNIST IDX "
                    "directory.")
    p.add_argument("--hidden", type=_layer_sizes, default=(128,),
                   help="hidden layer sizes (default 128)")
    p.add_argument("--batch-size", type=_positive_int, default=128,
                   help="minibatch (default 128)")
    p.add_argument("--rows", type=_positive_int, default=60000,
                   help="training rows (default 60000)")
    p.add_argument("--repeat", type=_positive_int, default=3,
                   help="timed epochs per contender; the median is reported (default 3)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--threads", type=_thread_count, default=None,
                   help="threads for fastmlp and PyTorch (default: each decides; above 64 "
                        "means 64)")
    p.add_argument("--data", metavar="DIR", help="an MNIST IDX directory to use instead of "
                                                 "random data")
    p.add_argument("--no-reference", action="store_true", help="skip the NumPy reference engine")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.set_defaults(run=run_bench)


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


# ---- shared by train / predict / evaluate ----------------------------------------------

def _os_message(exc):
    """'path: reason' for an OSError, without the errno noise."""
    if getattr(exc, "filename", None) and getattr(exc, "strerror", None):
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _load_data(args, need_target):
    """(X, y, description) from args.data; y is None when the data has no target."""
    from .datasets import load_mnist, load_table

    path = args.data
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        if args.target is not None:
            raise UserError(f"--target names a column of a table, but {path} is an IDX "
                            f"directory (its labels are in their own files); leave --target out")
        try:
            X, y = load_mnist(path, args.kind)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(_os_message(exc) if isinstance(exc, OSError) else str(exc)) \
                from None
        what = "training" if args.kind == "train" else "test"
        return X, y, (f"{path} (IDX {what} files: {X.shape[0]} images of {X.shape[1]} pixels, "
                      f"scaled to [0, 1])")
    header = {"auto": "auto", "yes": True, "no": False}[args.header]
    try:
        X, y = load_table(path, target=args.target, delimiter=args.delimiter, header=header)
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(_os_message(exc) if isinstance(exc, OSError) else str(exc)) from None
    if need_target and y is None:
        raise UserError(f"{path} has no target: pass --target COLUMN, the name or index of the "
                        f"target column (e.g. --target -1 for the last one)")
    if X.dtype.kind not in "iuf":
        raise UserError(f"{path}: the features must be numbers, got dtype {X.dtype}")
    return X, y, f"{path} ({X.shape[0]} rows, {X.shape[1]} features)"


def _load_model(path):
    from .io import load

    try:
        model = load(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such model file") from None
    except OSError as exc:
        raise UserError(_os_message(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not model.__sklearn_is_fitted__():
        raise UserError(f"{path} holds an untrained {type(model).__name__}; train it first "
                        f"(fastmlp train ... --out {path})")
    return model


def _check_features(model, X, data):
    n = model.n_features_in_
    if X.shape[1] == n:
        return
    hint = ""
    if X.shape[1] == n + 1:
        hint = "; if the file also holds the target, name it with --target so it is left out"
    raise UserError(f"{data} has {X.shape[1]} feature columns, but the model was trained on "
                    f"{n}{hint}")


def _check_writable(option, path):
    """Fail before a long training run, not after it, when an output cannot be written."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise UserError(f"{option} {path} is a directory; give a file name")
    if not os.path.isdir(folder):
        raise UserError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{option} {path}: the folder {folder} is not writable")


def _is_classifier(model):
    return getattr(model, "_spec", {}).get("task") == "classification"


def _network(model):
    sizes = model._engine_config["layer_sizes"]
    spec = model._spec
    out = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity",
           "exp": "exp"}[spec["output"]]
    loss = {"cross_entropy": "cross-entropy", "binary_cross_entropy": "binary cross-entropy",
            "squared_error": "squared error", "poisson": "Poisson deviance"}[spec["loss"]]
    return f"{'-'.join(str(s) for s in sizes)}, {model._engine_config['hidden_activation']}, " \
           f"{out} + {loss}"


# ---- train --------------------------------------------------------------------------------

def _pick_task(requested, y, out):
    if requested != "auto":
        return requested
    kind = np.asarray(y).dtype.kind
    if kind == "f":
        return "regression"
    if kind in "iu":
        distinct = len(np.unique(y))
        if distinct > 50 and distinct > 0.05 * len(y):
            print(f"note: the target holds {distinct} distinct whole numbers, taken as class "
                  f"labels; pass --task regression if it is a quantity", file=out)
    return "classification"


def _split(y, fraction, seed, classification):
    """Indices (train, validation): stratified by class for classification."""
    if classification:
        return _stratified_split(y, fraction, seed)
    rows = np.random.RandomState(seed).permutation(len(y))
    k = int(round(fraction * len(y)))
    return np.sort(rows[k:]), np.sort(rows[:k])


def _fit_reporting_warnings(model, fit):
    """Run fit; a reached epoch limit is the plan, not news; other warnings become lines."""
    from ._compat import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            fit()
        except (ValueError, TypeError) as exc:  # bad data or a diverging run: the user's to fix
            raise UserError(str(exc)) from None
        seconds = time.perf_counter() - start
    for w in caught:
        if issubclass(w.category, ConvergenceWarning) and "Maximum iterations" in str(w.message):
            continue
        print(f"fastmlp train: warning: {w.message}", file=sys.stderr)
    return seconds


def _check_train_outputs(args):
    """Everything about --out, --plot and the split that can fail, before any data is read."""
    for option, path in (("--out", args.out), ("--plot", args.plot)):
        if path:
            _check_writable(option, path)
    if args.plot:
        try:
            from .plot import _matplotlib

            Figure, FigureCanvasAgg = _matplotlib()
        except ImportError as exc:
            raise UserError(f"--plot: {exc}") from None
        formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
        ext = os.path.splitext(args.plot)[1].lstrip(".").lower()
        if ext not in formats:
            raise UserError(f"--plot {args.plot}: the file name must end in an image type "
                            f"matplotlib writes: {', '.join('.' + f for f in sorted(formats))}")
    if args.early_stopping and args.validation_fraction == 0:
        raise UserError("--early-stopping needs a validation set: use a --validation-fraction "
                        "above 0")


def _train_params(args):
    """The estimator parameters the options stand for, checked (UserError if not)."""
    from .estimators import MLPClassifier

    hidden = tuple(s for group in args.hidden for s in group) if args.hidden else (100,)
    lr = args.lr if args.lr is not None else (0.01 if args.solver == "sgd" else 0.001)
    params = dict(hidden_layer_sizes=hidden, activation=args.activation, solver=args.solver,
                  learning_rate_init=lr, momentum=args.momentum,
                  nesterovs_momentum=args.momentum > 0,
                  batch_size=args.batch_size or "auto", max_iter=args.epochs,
                  n_iter_no_change=args.patience, alpha=args.alpha, dropout=args.dropout,
                  standardize=args.standardize, dtype=args.dtype, random_state=args.seed,
                  n_threads=args.threads,
                  early_stopping=args.early_stopping and args.solver != "lbfgs",
                  verbose=not args.quiet)
    try:
        MLPClassifier(**params)._config()  # the checks are the same for the regressor
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    return params


def _print_plan(args, params, n_features, yt, yv, classification, out):
    if classification:
        n_classes = len(np.unique(yt))
        what = f"classification, {n_classes} classes"
        n_out, head = (1, "sigmoid + binary cross-entropy") if n_classes == 2 else \
            (n_classes, "softmax + cross-entropy")
    else:
        what, n_out, head = "regression", 1, "identity + squared error"
    rows = f"{len(yt)} training rows"
    if yv is not None:
        rows += (f", {len(yv)} validation rows ({'stratified, ' if classification else ''}"
                 f"seed {args.seed})")
    print(f"task: {what}; {rows}", file=out)
    lbfgs = args.solver == "lbfgs"
    if lbfgs and args.validation_fraction > 0:
        print("note: lbfgs has no epochs, so no validation set is held out", file=out)
    if lbfgs:
        settings = f"lbfgs, up to {args.epochs} iterations"
    else:
        settings = f"{args.solver} lr {params['learning_rate_init']}"
        if args.solver == "sgd":
            settings += f", momentum {args.momentum}"
        batch = args.batch_size or f"auto ({min(200, len(yt))})"
        settings += f", batch {batch}, up to {args.epochs} epochs"
    settings += f", alpha {args.alpha}"
    if args.dropout:
        settings += f", dropout {args.dropout}"
    if args.standardize:
        settings += ", standardized inputs"
    sizes = "-".join(str(v) for v in (n_features,) + params["hidden_layer_sizes"] + (n_out,))
    print(f"network: {sizes}, {args.activation}, {head}; {settings}; {args.dtype}", file=out)
    out.flush()


def _print_outcome(args, model, seconds, n_rows, validated, classification, out):
    lbfgs = args.solver == "lbfgs"
    n_epochs = len(model.loss_curve_)
    rate = n_epochs * n_rows / seconds if seconds > 0 and not lbfgs else None
    print(f"trained {_network(model)} for {n_epochs} {'iterations' if lbfgs else 'epochs'} in "
          f"{seconds:.2f} s" + (f" ({rate:,.0f} samples/s, validation scoring included)"
                                 if rate else ""), file=out)
    if getattr(model, "stop_training_", False):
        print(f"stopped early: no improvement for {args.patience} epochs", file=out)
    summary = f"final training loss {model.loss_:.6g}"
    if validated and model.validation_scores_:
        name = "accuracy" if classification else "R^2"
        scores = model.validation_scores_
        best = int(np.nanargmax(scores)) if np.isfinite(scores).any() else len(scores) - 1
        summary += (f"; validation {name} {scores[-1]:.4f} (best {scores[best]:.4f} at epoch "
                    f"{best + 1}), validation loss {model.validation_loss_curve_[-1]:.6g}")
        if args.early_stopping:
            summary += "; the model keeps the best epoch's weights"
    print(summary, file=out)


def _write_train_outputs(args, model, out):
    if args.out:
        from .io import save

        try:
            save(model, args.out)
        except OSError as exc:
            raise UserError(f"--out: {_os_message(exc)}") from None
        size = os.path.getsize(args.out)
        size = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
        print(f"saved the model to {args.out} ({size}); score it with: fastmlp evaluate "
              f"{args.out} DATA", file=out)
    else:
        print("the model was not saved (pass --out FILE to keep it)", file=out)
    if args.plot:
        from .plot import plot_training

        try:
            plot_training(model, args.plot)
        except OSError as exc:
            raise UserError(f"--plot: {_os_message(exc)}") from None
        print(f"saved the training curves to {args.plot}", file=out)


def run_train(args, out=None):
    from .estimators import MLPClassifier, MLPRegressor

    out = sys.stdout if out is None else out
    _check_train_outputs(args)
    params = _train_params(args)  # bad hyperparameters fail before any data is read
    X, y, desc = _load_data(args, need_target=True)
    if y.ndim != 1:
        raise UserError(f"{args.data}: the target must be one column, got shape {y.shape}")
    print(f"fastmlp train: {desc}", file=out)
    classification = _pick_task(args.task, y, out) == "classification"
    if not classification:
        if y.dtype.kind not in "iuf":
            raise UserError(f"--task regression needs a numeric target, but {args.data} has "
                            f"labels such as {y[0]!r}")
        y = y.astype(np.float64)
    model = (MLPClassifier if classification else MLPRegressor)(**params)
    Xv = yv = None
    if args.validation_fraction > 0 and args.solver != "lbfgs":
        train, val = _split(y, args.validation_fraction, args.seed, classification)
        if len(val) == 0 or len(train) == 0:
            raise UserError(f"--validation-fraction {args.validation_fraction} of {len(y)} rows "
                            f"leaves {len(train)} to train on and {len(val)} to validate; "
                            f"change it, or 0 to train on all rows")
        X, y, Xv, yv = X[train], y[train], X[val], y[val]
    _print_plan(args, params, X.shape[1], y, yv, classification, out)

    def fit():
        if Xv is not None:
            model.fit(X, y, validation_data=(Xv, yv))
        else:
            model.fit(X, y)
    seconds = _fit_reporting_warnings(model, fit)
    _print_outcome(args, model, seconds, len(y), Xv is not None, classification, out)
    _write_train_outputs(args, model, out)
    return 0


# ---- predict --------------------------------------------------------------------------------

def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.9g}"
    return str(value)


def _write_table(columns, header, destination, out):
    """CSV with a header line; ``columns`` is a 2-D array."""
    lines = [",".join(header)]
    for row in columns:
        lines.append(",".join(_format_cell(v) for v in row))
    text = "\n".join(lines) + "\n"
    if destination is None:
        out.write(text)
        out.flush()
        return
    with open(destination, "w", newline="") as f:
        f.write(text)


def run_predict(args, out=None):
    out = sys.stdout if out is None else out
    if args.out:
        _check_writable("--out", args.out)
    model = _load_model(args.model)
    X, _, desc = _load_data(args, need_target=False)
    _check_features(model, X, args.data)
    try:
        if args.proba:
            if not _is_classifier(model) or not hasattr(model, "predict_proba"):
                raise UserError(f"--proba needs a classifier with probabilities, but "
                                f"{args.model} holds a regression model; leave --proba out")
            result = model.predict_proba(X)
            header = [str(c) for c in model.classes_]
        else:
            result = model.predict(X)
            if result.ndim == 1:
                result = result.reshape(-1, 1)
                header = ["prediction"]
            elif _is_classifier(model):  # multilabel indicator columns
                header = [str(c) for c in model.classes_]
            else:
                header = [f"prediction_{k}" for k in range(result.shape[1])]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.out and args.out.endswith(".npy"):
        array = result[:, 0] if result.shape[1] == 1 and not args.proba else result
        try:
            np.save(args.out, np.asarray(array), allow_pickle=False)
        except OSError as exc:
            raise UserError(f"--out: {_os_message(exc)}") from None
    else:
        try:
            _write_table(result, header, args.out, out)
        except OSError as exc:
            raise UserError(f"--out: {_os_message(exc)}") from None
    if args.out:
        what = "probabilities" if args.proba else "predictions"
        print(f"wrote {what} for {X.shape[0]} rows of {desc} to {args.out}", file=sys.stderr)
    return 0


# ---- evaluate -------------------------------------------------------------------------------

def _comparable(y, classes):
    """y and classes in one type, so that == compares labels (numbers read back as text...)."""
    y, classes = np.asarray(y), np.asarray(classes)
    if (y.dtype.kind in "USO") != (classes.dtype.kind in "USO"):
        return y.astype(str), classes.astype(str)
    return y, classes


def _confusion_summary(y, pred, classes, out):
    k = len(classes)
    index = {c: i for i, c in enumerate(classes.tolist())}
    t = np.array([index.get(v, -1) for v in y.tolist()])
    p = np.array([index[v] for v in pred.tolist()])
    known = t >= 0
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (t[known], p[known]), 1)
    support = matrix.sum(axis=1)
    recall = np.divide(np.diag(matrix), support, out=np.full(k, np.nan), where=support > 0)
    predicted = matrix.sum(axis=0)
    precision = np.divide(np.diag(matrix), predicted, out=np.full(k, np.nan),
                          where=predicted > 0)
    names = [str(c) for c in classes]
    if k <= 20:
        width = max(7, max(len(n) for n in names) + 1, len(str(matrix.max())) + 1)
        first = max(10, max(len(n) for n in names) + 1)

        def cells(values, fmt):
            return "".join(("-" if v != v else format(v, fmt)).rjust(width) for v in values)
        print("confusion matrix (rows: true class, columns: predicted class):", file=out)
        print(" " * first + "".join(n.rjust(width) for n in names), file=out)
        for i, n in enumerate(names):
            print(n.rjust(first) + cells(matrix[i], "d"), file=out)
        print("recall".rjust(first) + cells(recall, ".3f"), file=out)
        print("precision".rjust(first) + cells(precision, ".3f"), file=out)
    elif np.isfinite(recall).any():
        print(f"per-class recall: lowest {names[int(np.nanargmin(recall))]} "
              f"{np.nanmin(recall):.3f}, highest {names[int(np.nanargmax(recall))]} "
              f"{np.nanmax(recall):.3f}", file=out)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:5]
    pairs = [(divmod(int(i), k), int(off.flat[i])) for i in order if off.flat[i] > 0]
    if pairs:
        print("most confused (true -> predicted: rows): " + ", ".join(
            f"{names[a]} -> {names[b]}: {n}" for (a, b), n in pairs), file=out)


def run_evaluate(args, out=None):
    out = sys.stdout if out is None else out
    model = _load_model(args.model)
    X, y, desc = _load_data(args, need_target=True)
    _check_features(model, X, args.data)
    spec = model._spec
    unit = "iterations" if model.solver == "lbfgs" else "epochs"
    print(f"model: {args.model} ({type(model).__name__} {_network(model)}, trained "
          f"{model.n_iter_} {unit})", file=out)
    print(f"data: {desc}", file=out)
    try:
        if _is_classifier(model):
            if spec["kind"] == "multilabel":
                raise UserError("evaluate scores single-label classifiers and regressors; this "
                                "model is multilabel (score it with model.score in Python)")
            if y.ndim != 1:
                raise UserError(f"the target must be one column of labels, got shape {y.shape}")
            y_cmp, classes = _comparable(y, model.classes_)
            pred = model.predict(X)
            pred_cmp, _ = _comparable(pred, model.classes_)
            correct = int((pred_cmp == y_cmp).sum())
            print(f"accuracy: {correct / len(y):.4f} ({correct}/{len(y)})", file=out)
            known = np.isin(y_cmp, classes)
            if not known.all():
                unseen = np.unique(y_cmp[~known])
                print(f"note: {int((~known).sum())} rows have labels the model never saw "
                      f"({', '.join(map(str, unseen[:10]))}); they count as errors", file=out)
            if hasattr(model, "predict_proba") and known.any():
                proba = model.predict_proba(X[known])
                idx = np.searchsorted(classes, y_cmp[known])
                p = np.clip(proba[np.arange(len(idx)), idx], 1e-15, 1.0)
                print(f"log loss: {float(-np.mean(np.log(p))):.6f}", file=out)
            _confusion_summary(y_cmp, pred_cmp, classes, out)
        else:
            if y.dtype.kind not in "iuf":
                raise UserError(f"this is a regression model, but {args.data} has labels such "
                                f"as {y[0]!r} as its target")
            y = y.astype(np.float64)
            pred = np.asarray(model.predict(X), dtype=np.float64)
            if pred.ndim != y.ndim or (pred.ndim == 2 and pred.shape[1] != y.shape[1]):
                raise UserError(f"the model predicts {model.n_outputs_} outputs, but the target "
                                f"has shape {y.shape}")
            r2 = model.score(X, y)
            err = pred - y
            print(f"R^2: {r2:.4f}", file=out)
            print(f"mean squared error: {float(np.mean(err ** 2)):.6g}; mean absolute error: "
                  f"{float(np.mean(np.abs(err))):.6g} (rows: {len(y)})", file=out)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return 0


def run_bench(args, out=None):
    from ._bench import run

    return run(args, sys.stdout if out is None else out, UserError)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("FASTMLP_DEBUG"))  # a traceback for developers, not users
    try:
        return args.run(args)
    except UserError as exc:
        if debug:
            raise
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. the bundled data missing from a broken install
        if debug:
            raise
        print(f"fastmlp {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fastmlp predict ... | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
