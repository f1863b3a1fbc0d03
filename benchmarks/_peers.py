"""The frameworks fastmlp is timed against, set up identically, plus shared helpers.

Used by bench_epoch.py, bench_predict.py and speed_report.py. Every trainer
here runs the same maths with the same settings: a dense relu network with a
softmax + cross-entropy output, plain SGD (no momentum, no L2), a fixed
learning rate, shuffled minibatches gathered by index from one in-memory X.
Each starts from the weights it is given, so all of them can start from the
same initialization. Nothing here asserts speed.

What each peer runs:

- ``fastmlp``: ``fastmlp._engine.Engine.train_epoch`` (the whole epoch in C).
- ``fastmlp-estimator``: ``fastmlp.MLPClassifier.partial_fit`` (one epoch
  through the public API: input checks, label encoding, the loss curve).
- ``numpy``: :class:`NumpyMLP`, a lean hand-written NumPy epoch (not
  fastmlp's ReferenceEngine, which is written for clarity).
- ``torch``: ``nn.Sequential(Linear, ReLU, Linear)`` + ``CrossEntropyLoss`` +
  ``optim.SGD``, minibatches gathered from a tensor with a ``randperm``
  (no DataLoader).
- ``sklearn``: ``sklearn.neural_network.MLPClassifier.partial_fit``, which is
  exactly one epoch of its SGD loop (initialized by one partial_fit on the
  first batch, whose weights are then overwritten with the shared init).
"""
import contextlib
import gc
import os
import pathlib
import threading
import time

import numpy as np

import fastmlp
from fastmlp import _core
from fastmlp._engine import make_engine

N_CLASSES = 10
LEARNING_RATE = 0.05
THREADS = 2

# The training configurations: (label, layer sizes, batch size).
EPOCH_CONFIGS = [
    ("784-128-10 b128", (784, 128, 10), 128),
    ("784-128-10 b32", (784, 128, 10), 32),
    ("784-800-10 b128", (784, 800, 10), 128),
]
TRAINERS = ["fastmlp", "fastmlp-estimator", "numpy", "torch", "sklearn"]


# ---- data ---------------------------------------------------------------------------

def datasets_dir():
    """$FASTMLP_DATASETS, else the first shared/datasets folder found walking up
    from this file (the repository's ../shared/datasets, also from a worktree)."""
    env = os.environ.get("FASTMLP_DATASETS")
    if env:
        return pathlib.Path(env)
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "datasets"
        if (candidate / "mnist").is_dir():
            return candidate
    return here.parents[2] / "shared" / "datasets"


_MNIST = {}


def load_mnist_train():
    """(X float32 (60000, 784) C-contiguous, pixels / 255; y int64), or None when
    the files are not there. Cached: several benchmarks share it."""
    if "train" not in _MNIST:
        folder = datasets_dir() / "mnist"
        if not folder.is_dir():
            return None
        from fastmlp.datasets import load_mnist

        X, y = load_mnist(folder, "train", dtype=np.float32)
        _MNIST["train"] = (np.ascontiguousarray(X), np.ascontiguousarray(y, dtype=np.int64))
    return _MNIST["train"]


def mnist_missing_reason():
    return (f"MNIST not found at {datasets_dir() / 'mnist'} (set FASTMLP_DATASETS to the folder "
            f"that holds mnist/)")


# ---- the shared initialization and loss ------------------------------------------------

def init_params(sizes, seed=0, dtype=np.float32):
    """[(W (fan_out, fan_in), b (fan_out,)), ...], Glorot-uniform like
    scikit-learn (the same bound for W and b), drawn in float64 then cast."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, (fan_out, fan_in))
        b = rng.uniform(-bound, bound, fan_out)
        params.append((W.astype(dtype), b.astype(dtype)))
    return params


def mean_xent(params, X, y):
    """Mean softmax cross-entropy of a relu network, in float64: the one loss
    every peer's weights are judged by."""
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        a = a @ np.asarray(W, np.float64).T + np.asarray(b, np.float64)
        if i < len(params) - 1:
            a = np.maximum(a, 0.0)
    a = a - a.max(axis=1, keepdims=True)
    logz = np.log(np.exp(a).sum(axis=1))
    return float(np.mean(logz - a[np.arange(len(y)), y]))


def max_rel_diff(params_a, params_b):
    """max |a - b| over all weights and biases, relative to max |b|."""
    num = max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
              for pa, pb in zip(params_a, params_b) for a, b in zip(pa, pb))
    den = max(float(np.max(np.abs(b))) for pb in params_b for b in pb)
    return num / den


def epoch_flops(sizes, n):
    """FLOPs one SGD epoch must do in its matrix products: per layer the
    forward product and the weight gradient (2 * n * fan_in * fan_out each),
    plus the input gradient for every layer but the first (nothing needs the
    gradient of X). Elementwise work (bias, relu, softmax, update) is not
    counted, so this is a lower bound on the work."""
    total = 0
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        products = 2 if layer == 0 else 3
        total += products * 2 * n * fan_in * fan_out
    return total


# ---- threads --------------------------------------------------------------------------

def threadpool_limits(n):
    """Limit NumPy's (OpenBLAS) and any OpenMP pool to n threads; a no-op
    context when threadpoolctl is missing (then the report says so)."""
    try:
        from threadpoolctl import threadpool_limits as limits
    except ImportError:
        return contextlib.nullcontext()
    return limits(limits=n)


def have_threadpoolctl():
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def missing(name):
    """None when the peer can run here, else why not (for skips and tables)."""
    modules = {"torch": "torch", "sklearn": "sklearn", "onnxruntime": "onnxruntime",
               "skl2onnx": "skl2onnx"}
    if name == "onnxruntime":
        for mod in ("onnxruntime", "skl2onnx", "sklearn", "onnx"):
            if not _importable(mod):
                return f"{mod} not installed (pip install 'fastmlp[bench]')"
        return None
    mod = modules.get(name)
    if mod is not None and not _importable(mod):
        return f"{mod} not installed (pip install 'fastmlp[bench]')"
    return None


def _importable(mod):
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


def settle(seconds=0.3):
    """Let other libraries' worker threads (OpenBLAS, OpenMP) stop spinning
    before the next framework is timed, so one peer does not slow another."""
    gc.collect()
    time.sleep(seconds)


# ---- trainers: one epoch each ------------------------------------------------------------

class FastmlpTrainer:
    """fastmlp's C engine: Engine.train_epoch, n_threads threads."""
    name = "fastmlp"

    def __init__(self, params, *, batch, lr=LEARNING_RATE, threads=THREADS, dtype=np.float32,
                 engine="c", seed=0):
        sizes = (params[0][0].shape[1],) + tuple(W.shape[0] for W, _ in params)
        self.engine = make_engine(sizes, engine=engine, hidden_activation="relu",
                                  output_activation="softmax", loss="cross_entropy", dtype=dtype,
                                  n_threads=threads)
        self.batch, self.lr, self.seed = batch, lr, seed
        self.reset(params)

    def reset(self, params):
        for layer, (W, b) in enumerate(params):
            self.engine.weights(layer)[...] = W
            self.engine.biases(layer)[...] = b
        self.engine.set_optimizer("sgd", learning_rate=self.lr, momentum=0.0, nesterov=False)
        self.engine.seed(self.seed)

    def epoch(self, X, y, shuffle=True):
        return self.engine.train_epoch(X, y, batch_size=self.batch, shuffle=shuffle)

    def params(self):
        return [(self.engine.weights(l).copy(), self.engine.biases(l).copy())
                for l in range(self.engine.n_layers)]


class _PartialFitTrainer:
    """One epoch = one ``partial_fit`` of an MLPClassifier with plain SGD
    (momentum 0, alpha 0, constant learning rate), started from ``params``;
    the subclasses give the class and their own constructor arguments."""

    def _start(self, cls, params, *, lr, batch, shuffle, seed, x_dtype, **extra):
        import warnings

        self.clf = cls(
            hidden_layer_sizes=tuple(W.shape[0] for W, _ in params[:-1]), activation="relu",
            solver="sgd", learning_rate="constant", learning_rate_init=lr, momentum=0.0,
            nesterovs_momentum=False, alpha=0.0, batch_size=batch, shuffle=shuffle,
            random_state=seed, **extra)
        n_in = params[0][0].shape[1]
        X0 = np.zeros((N_CLASSES, n_in), dtype=x_dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(X0, np.arange(N_CLASSES), classes=np.arange(N_CLASSES))
        self.reset(params)

    def reset(self, params):
        # Assigned in place (fastmlp's coefs_ are views into its engine's parameters).
        for layer, (W, b) in enumerate(params):
            self.clf.coefs_[layer][...] = W.T
            self.clf.intercepts_[layer][...] = b

    def epoch(self, X, y):
        self.clf.partial_fit(X, y)
        return self.clf.loss_

    def params(self):
        return [(c.T.copy(), b.copy()) for c, b in zip(self.clf.coefs_, self.clf.intercepts_)]


class FastmlpEstimatorTrainer(_PartialFitTrainer):
    """fastmlp.MLPClassifier.partial_fit: one epoch through the public API."""
    name = "fastmlp-estimator"

    def __init__(self, params, *, batch, lr=LEARNING_RATE, threads=THREADS, dtype=np.float32,
                 seed=0):
        self._start(fastmlp.MLPClassifier, params, lr=lr, batch=batch, shuffle=True, seed=seed,
                    x_dtype=dtype, n_threads=threads, dtype=np.dtype(dtype).name)


class NumpyMLP:
    """A lean hand-written NumPy epoch: gather the batch by index, X @ W.T + b,
    relu, softmax, (A - Y) / N, backpropagate (input gradients with the old
    weights), SGD. Buffers are preallocated per batch size; NumPy's BLAS does
    the products."""
    name = "numpy"

    def __init__(self, params, *, batch, lr=LEARNING_RATE, dtype=np.float32, seed=0):
        self.dtype = np.dtype(dtype)
        self.batch, self.lr, self.seed = batch, self.dtype.type(lr), seed
        self.reset(params)

    def reset(self, params):
        self.W = [np.array(W, dtype=self.dtype) for W, _ in params]
        self.b = [np.array(b, dtype=self.dtype) for _, b in params]
        self.rng = np.random.default_rng(self.seed)
        self._bufs = {}

    def _buffers(self, n):
        bufs = self._bufs.get(n)
        if bufs is None:
            sizes = [self.W[0].shape[1]] + [W.shape[0] for W in self.W]
            bufs = {"x": np.empty((n, sizes[0]), self.dtype),
                    "a": [np.empty((n, s), self.dtype) for s in sizes[1:]],
                    "d": [np.empty((n, s), self.dtype) for s in sizes[1:]],
                    "gW": [np.empty_like(W) for W in self.W],
                    "rows": np.arange(n)}
            self._bufs[n] = bufs
        return bufs

    def step(self, Xb, yb):
        """One SGD step on a gathered batch; returns its mean loss."""
        n = Xb.shape[0]
        bufs = self._buffers(n)
        acts, deltas, L = bufs["a"], bufs["d"], len(self.W)
        a = Xb
        for l in range(L):
            z = acts[l]
            np.matmul(a, self.W[l].T, out=z)
            z += self.b[l]
            if l < L - 1:
                np.maximum(z, 0, out=z)
            a = z
        p = acts[-1]                                   # logits -> probabilities in place
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        rows = bufs["rows"]
        picked = p[rows, yb]
        loss = float(-np.log(np.maximum(picked, np.finfo(self.dtype).tiny)).mean(dtype=np.float64))
        d = deltas[-1]
        np.copyto(d, p)
        d[rows, yb] -= 1
        d *= self.dtype.type(1.0 / n)                  # (A - Y) / N
        for l in range(L - 1, -1, -1):
            inp = Xb if l == 0 else acts[l - 1]
            gW = bufs["gW"][l]
            np.matmul(d.T, inp, out=gW)
            gb = d.sum(axis=0)
            if l > 0:
                dprev = deltas[l - 1]
                np.matmul(d, self.W[l], out=dprev)     # old weights
                dprev *= acts[l - 1] > 0
            gW *= self.lr
            self.W[l] -= gW
            gb *= self.lr
            self.b[l] -= gb
            if l > 0:
                d = deltas[l - 1]
        return loss

    def epoch(self, X, y, order=None):
        """One epoch over a shuffled order (``order`` overrides the shuffle)."""
        n = X.shape[0]
        if order is None:
            order = self.rng.permutation(n)
        total = 0.0
        for start in range(0, n, self.batch):
            idx = order[start:start + self.batch]
            m = idx.shape[0]
            xb = self._buffers(m)["x"]
            np.take(X, idx, axis=0, out=xb)
            total += self.step(xb, y[idx]) * m
        return total / n

    def params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.W, self.b)]


class TorchTrainer:
    """PyTorch: nn.Sequential + CrossEntropyLoss + optim.SGD (momentum 0),
    index-gathered minibatches from a tensor, torch.set_num_threads(threads)."""
    name = "torch"

    def __init__(self, params, *, batch, lr=LEARNING_RATE, threads=THREADS, dtype=np.float32,
                 seed=0):
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        self.threads = threads
        self.tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        layers = []
        for i, (W, _) in enumerate(params):
            layers.append(torch.nn.Linear(W.shape[1], W.shape[0], dtype=self.tdtype))
            if i < len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        self.criterion = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.0)
        self.batch, self.seed = batch, seed
        self._tensors = None
        self.reset(params)

    def reset(self, params):
        with self.torch.no_grad():
            for lin, (W, b) in zip(self.linears, params):
                lin.weight.copy_(self.torch.from_numpy(np.asarray(W)))
                lin.bias.copy_(self.torch.from_numpy(np.asarray(b)))
        self.gen = self.torch.Generator().manual_seed(self.seed)

    def _as_tensors(self, X, y):
        key = (id(X), id(y))
        if self._tensors is None or self._tensors[0] != key:
            # from_numpy shares X's memory: no copy of the data set.
            self._tensors = (key, self.torch.from_numpy(X), self.torch.from_numpy(y))
        return self._tensors[1], self._tensors[2]

    def epoch(self, X, y, shuffle=True):
        torch = self.torch
        torch.set_num_threads(self.threads)
        Xt, yt = self._as_tensors(X, y)
        n = Xt.shape[0]
        perm = torch.randperm(n, generator=self.gen) if shuffle else torch.arange(n)
        total = 0.0
        self.model.train()
        for start in range(0, n, self.batch):
            idx = perm[start:start + self.batch]
            xb, yb = Xt[idx], yt[idx]
            self.opt.zero_grad(set_to_none=True)
            loss = self.criterion(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            total += loss.item() * idx.shape[0]
        return total / n

    def params(self):
        return [(lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy())
                for lin in self.linears]


class SklearnTrainer(_PartialFitTrainer):
    """scikit-learn MLPClassifier.partial_fit: one epoch of its SGD loop
    (solver='sgd', momentum=0, alpha=0, constant learning rate, shuffle)."""
    name = "sklearn"

    def __init__(self, params, *, batch, lr=LEARNING_RATE, dtype=np.float32, seed=0,
                 shuffle=True):
        from sklearn.neural_network import MLPClassifier

        self._start(MLPClassifier, params, lr=lr, batch=batch, shuffle=shuffle, seed=seed,
                    x_dtype=dtype)


def make_trainer(name, params, *, batch, dtype=np.float32, seed=0, threads=THREADS):
    """A trainer for ``name`` in TRAINERS, started from ``params``."""
    if name == "fastmlp":
        return FastmlpTrainer(params, batch=batch, dtype=dtype, seed=seed, threads=threads)
    if name == "fastmlp-estimator":
        return FastmlpEstimatorTrainer(params, batch=batch, dtype=dtype, seed=seed,
                                       threads=threads)
    if name == "numpy":
        return NumpyMLP(params, batch=batch, dtype=dtype, seed=seed)
    if name == "torch":
        return TorchTrainer(params, batch=batch, dtype=dtype, seed=seed, threads=threads)
    if name == "sklearn":
        return SklearnTrainer(params, batch=batch, dtype=dtype, seed=seed)
    raise ValueError(f"unknown trainer {name!r}")


def trainer_missing(name):
    return missing(name) if name in ("torch", "sklearn") else None


def run_epoch(trainer, X, y):
    """One epoch with the BLAS pool limited to THREADS (NumPy and sklearn use it)."""
    with threadpool_limits(THREADS):
        return trainer.epoch(X, y)


# ---- serving: identical 784-128-10 models in every framework ------------------------------

PREDICT_SIZES = (784, 128, 10)


def fitted_fastmlp(sizes=PREDICT_SIZES, n_threads=None, seed=0):
    """A fastmlp MLPClassifier (float32) with trained-looking weights: a short
    fit on synthetic data (prediction speed does not depend on the values)."""
    import warnings

    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (2000, sizes[0])).astype(np.float32)
    y = (X[:, :N_CLASSES].argmax(axis=1) + rng.integers(0, 2, 2000)) % N_CLASSES
    clf = fastmlp.MLPClassifier(hidden_layer_sizes=sizes[1:-1], max_iter=3, random_state=seed,
                                n_threads=n_threads, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return clf


def sklearn_copy(clf):
    """A scikit-learn MLPClassifier holding exactly clf's weights (float32)."""
    import warnings

    from sklearn.neural_network import MLPClassifier

    hidden = tuple(c.shape[1] for c in clf.coefs_[:-1])
    sk = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", max_iter=1, random_state=0)
    n_in = clf.coefs_[0].shape[0]
    X0 = np.zeros((len(clf.classes_), n_in), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.partial_fit(X0, clf.classes_, classes=clf.classes_)
    sk.coefs_ = [np.array(c, dtype=np.float32) for c in clf.coefs_]
    sk.intercepts_ = [np.array(b, dtype=np.float32) for b in clf.intercepts_]
    return sk


def onnx_session(sk, threads):
    """onnxruntime InferenceSession of skl2onnx's export of ``sk`` (no ZipMap,
    probabilities as a float tensor), intra-op threads fixed."""
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    proto = convert_sklearn(sk, initial_types=[("X", FloatTensorType([None, sk.coefs_[0].shape[0]]))],
                            options={id(sk): {"zipmap": False}}, target_opset=17)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    prob = "probabilities" if "probabilities" in names else names[-1]
    return sess, prob


def torch_copy(clf):
    """nn.Sequential(Linear, ReLU, ..., Linear, Softmax) with clf's weights, eval mode."""
    import torch

    layers = []
    for i, (c, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        lin = torch.nn.Linear(c.shape[0], c.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(c.T, dtype=np.float32)))
            lin.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
        layers.append(lin)
        layers.append(torch.nn.ReLU() if i < len(clf.coefs_) - 1 else torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*layers).eval()


class Predictors:
    """predict_proba callables over the same weights, per framework:
    ``get(name, rows)`` -> (callable taking X, description) or (None, why not)."""

    def __init__(self, clf):
        self.clf = clf
        self._sk = self._ort = self._torch = None

    def sklearn(self):
        if self._sk is None:
            self._sk = sklearn_copy(self.clf)
        return self._sk

    def ort(self, threads):
        if self._ort is None:
            self._ort = {}
        if threads not in self._ort:
            self._ort[threads] = onnx_session(self.sklearn(), threads)
        return self._ort[threads]

    def get(self, name, threads):
        """(predict callable, description) or (None, why not). ``threads`` is
        onnxruntime's intra-op thread count (fixed per session); torch and
        NumPy/OpenBLAS take theirs from :func:`peer_threads`, which the caller
        enters once around the timing (not per call: threadpoolctl costs
        milliseconds). fastmlp's model carries its own n_threads."""
        if name == "fastmlp":
            return self.clf.predict_proba, f"MLPClassifier.predict_proba, n_threads={self.clf.n_threads}"
        why = missing(name)
        if why:
            return None, why
        if name == "sklearn":
            return self.sklearn().predict_proba, f"MLPClassifier.predict_proba, {threads} BLAS thread(s)"
        if name == "onnxruntime":
            sess, prob = self.ort(threads)
            return (lambda X: sess.run([prob], {"X": X})[0],
                    f"skl2onnx export, InferenceSession.run, {threads} intra-op thread(s)")
        if name == "torch":
            import torch

            if self._torch is None:
                self._torch = torch_copy(self.clf)
            model = self._torch

            def run(X):
                with torch.inference_mode():
                    return model(torch.from_numpy(X)).numpy()
            return run, f"nn.Sequential under inference_mode, {threads} torch thread(s)"
        raise ValueError(f"unknown predictor {name!r}")


@contextlib.contextmanager
def peer_threads(n):
    """torch.set_num_threads(n) and OpenBLAS/OpenMP limited to n inside the block."""
    old = None
    if _importable("torch"):
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        if old is not None:
            import torch

            torch.set_num_threads(old)


PREDICTORS = ["fastmlp", "onnxruntime", "torch", "sklearn"]


def per_call_ns(fn, X, calls):
    """Per-call times (ns, int64) of ``fn(X)`` over ``calls`` calls."""
    out = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        fn(X)
        out[i] = clock() - t0
    return out


def set_threads(n):
    """Set torch's and OpenBLAS's (OpenMP's) thread counts to n until changed
    again (for use inside :func:`peer_threads`, which restores them)."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits as limits
    except ImportError:
        return
    limits(limits=n)


def latency_percentiles(fns, X, calls, warmup=200, blocks=20, before=None, pause=0.2):
    """{name: (p50 us, p99 us, calls)} for each callable in ``fns`` (name ->
    fn), timed call by call with perf_counter_ns after ``warmup`` calls, the
    frameworks interleaved in ``blocks`` blocks so machine load drifting over
    the run hits them alike. ``before`` (name -> callable) runs untimed before
    each of that framework's blocks, e.g. to set its thread count. Each block
    starts ``pause`` seconds after the previous one (settle), so the worker
    threads a peer leaves spinning (onnxruntime, OpenMP, OpenBLAS) do not take
    the next framework's second core."""
    before = before or {}
    for name, fn in fns.items():
        if name in before:
            before[name]()
        per_call_ns(fn, X, warmup)
    samples = {name: [] for name in fns}
    per_block = max(1, calls // blocks)
    names = list(fns)
    for block in range(blocks):
        # rotate the order so no framework always runs right after another
        for name in names[block % len(names):] + names[:block % len(names)]:
            if name in before:
                before[name]()
            if pause:
                settle(pause)
            samples[name].append(per_call_ns(fns[name], X, per_block))
    result = {}
    for name, parts in samples.items():
        t = np.concatenate(parts) / 1000.0
        result[name] = (float(np.percentile(t, 50)), float(np.percentile(t, 99)), int(t.size))
    return result


def _run_together(worker, n, barrier):
    """Run worker(0) .. worker(n - 1) on n threads that each wait on ``barrier``
    (n + 1 parties) before their timed work; returns the seconds from the
    release to the last thread's end."""
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - t0


def concurrent_throughput(fn, inputs, calls_per_thread):
    """(calls per second, results): one Python thread per entry of ``inputs``,
    all calling fn on the same model at once, thread i ``calls_per_thread``
    times on inputs[i]; results[i] is thread i's last output."""
    n_threads = len(inputs)
    results = [None] * n_threads
    barrier = threading.Barrier(n_threads + 1)
    errors = []

    def worker(i):
        try:
            X = inputs[i]
            barrier.wait()
            last = None
            for _ in range(calls_per_thread):
                last = fn(X)
            results[i] = last
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    elapsed = _run_together(worker, n_threads, barrier)
    if errors:
        raise errors[0]
    return n_threads * calls_per_thread / elapsed, results


# ---- the FMA peak ----------------------------------------------------------------------

def fma_peak(threads, seconds=0.2):
    """fp32 GFLOP/s of fastmlp's FMA-only probe loop (the best ISA here) run by
    ``threads`` threads at once (the probe releases the GIL), or None on the
    portable path. Each thread runs the probe for about ``seconds``."""
    isa = _core.best_isa()
    if isa == 0:
        return None
    iters = 200_000
    # calibrate: how many calls fill `seconds` on one thread
    t0 = time.perf_counter()
    _core.fma_peak_probe(isa, iters)
    one = max(time.perf_counter() - t0, 1e-6)
    calls = max(1, int(seconds / one))
    done = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def worker(i):
        barrier.wait()
        total = 0
        for _ in range(calls):
            total += _core.fma_peak_probe(isa, iters)
        done[i] = total

    elapsed = _run_together(worker, threads, barrier)  # fills done
    return sum(done) / elapsed / 1e9


def best_fma_peak(threads, repeat=5):
    """The highest of ``repeat`` probe runs (load only ever lowers a peak)."""
    values = [fma_peak(threads) for _ in range(repeat)]
    if values[0] is None:
        return None
    return max(values)
