"""``fastmlp bench``: one MNIST-shaped training epoch timed in fastmlp, its NumPy reference
engine and (when installed) PyTorch. It imports PyTorch only here, only when asked to run.

Each contender trains the same network (784-H-10 relu, softmax cross-entropy,
SGD momentum 0.9, shuffled minibatches, no L2) on the same rows; one short
untimed warm-up epoch, then ``--repeat`` timed epochs, of which the median is
printed. Times are wall-clock seconds of the epoch alone (no data loading).
"""
import os
import statistics
import time
import warnings

import numpy as np

LR = 0.01


def _data(args, dtype, error):
    if args.data:
        from .datasets import load_mnist

        try:
            X, y = load_mnist(args.data, "train", dtype=dtype)
        except (OSError, ValueError, TypeError) as exc:
            raise error(f"--data: {exc}") from None
        if args.rows < len(y):
            X, y = X[:args.rows], y[:args.rows]
        return np.ascontiguousarray(X), y, f"MNIST training images from {args.data}"
    rng = np.random.RandomState(0)
    X = rng.random_sample((args.rows, 784)).astype(dtype)
    y = rng.randint(0, 10, args.rows).astype(np.int64)
    return X, y, "random pixels in [0, 1) and random labels (the time does not depend on them)"


def _time_fastmlp(args, X, y, dtype, engine=None):
    from ._compat import ConvergenceWarning
    from ._engine import _engine_choice
    from .estimators import MLPClassifier

    model = MLPClassifier(args.hidden, solver="sgd", learning_rate_init=LR, momentum=0.9,
                          nesterovs_momentum=False, batch_size=args.batch_size, alpha=0.0,
                          random_state=0, dtype=dtype, n_threads=args.threads)
    classes = np.arange(10)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ctx = _engine_choice(engine) if engine else _null()
        with ctx:
            model.partial_fit(X[:2048], y[:2048], classes=classes)
            for _ in range(args.repeat):
                start = time.perf_counter()
                model.partial_fit(X, y)
                times.append(time.perf_counter() - start)
    return times


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _time_torch(args, X, y, dtype):
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sizes = (X.shape[1],) + tuple(args.hidden) + (10,)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    if dtype == np.float64:
        net = net.double()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch(n):
        perm = torch.randperm(n)
        for start in range(0, n, args.batch_size):
            idx = perm[start:start + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()

    epoch(min(2048, len(y)))
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        epoch(len(y))
        times.append(time.perf_counter() - start)
    return times, torch.__version__, torch.get_num_threads()


def run(args, out, error):
    dtype = np.dtype(args.dtype)
    X, y, what = _data(args, dtype, error)
    sizes = (X.shape[1],) + tuple(args.hidden) + (10,)
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flop = 6.0 * weights * len(y)  # forward 2, backward 4 multiply-adds per weight and row
    arch = "-".join(map(str, sizes))
    print(f"fastmlp bench: one training epoch of {arch} relu, softmax cross-entropy, SGD "
          f"momentum 0.9, batch {args.batch_size}, {len(y):,} rows, {args.dtype}; "
          f"median of {args.repeat} epochs after a warm-up", file=out)
    print(f"data: {what}; {os.cpu_count()} CPUs, fastmlp threads: "
          f"{args.threads or 'engine default'}", file=out)
    out.flush()
    rows = []

    def report(name, times, note=""):
        med = statistics.median(times)
        rows.append((name, med))
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"  {name:<26} {med:8.3f} s  {flop / med / 1e9:7.1f} GFLOP/s  (epochs: {runs})"
              f"{note}", file=out)
        out.flush()

    from . import get_isa

    report(f"fastmlp (C engine, {get_isa()})", _time_fastmlp(args, X, y, dtype))
    if not args.no_reference:
        report("NumPy reference engine", _time_fastmlp(args, X, y, dtype, engine="reference"))
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("  PyTorch                    not installed (pip install torch to compare)",
                  file=out)
        else:
            times, version, threads = _time_torch(args, X, y, dtype)
            report(f"PyTorch {version}", times, f" [{threads} threads]")
    base = rows[0][1]
    for name, med in rows[1:]:
        print(f"fastmlp is {med / base:.2f}x as fast as {name}", file=out)
    return 0
