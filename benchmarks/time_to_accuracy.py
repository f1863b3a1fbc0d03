"""Time to accuracy on MNIST: training seconds until the test accuracy first reaches 98.0 %,
fastmlp against PyTorch in the same run; writes its table into BENCHMARKS.md (own section).

    python benchmarks/time_to_accuracy.py                 # both configurations, both libraries
    python benchmarks/time_to_accuracy.py --config results --repeat 3
    python benchmarks/time_to_accuracy.py --threads 2,1   # also single-threaded (shared machine)
    python benchmarks/time_to_accuracy.py --no-torch --no-write

Configurations:
  results  RESULTS.md's: 784-800-10 relu, SGD momentum 0.9, lr 0.05, batch 128, pixels / 255
           (PyTorch needed 10.2 s here). Target: fastmlp >= 1.4x as fast as PyTorch.
  best     fastmlp's fastest known configuration (CONFIGS['best']). Target: <= 4 s.

Both libraries get the same network, optimizer, batch size, dtype and initialisation
scheme (fastmlp weight_init='uniform' is PyTorch's nn.Linear default), shuffled
minibatches each epoch (PyTorch: torch.randperm and index-gathered batches), and the
same thread count (fastmlp n_threads, torch.set_num_threads; both libraries run every
count in --threads, and the goals are judged on 2). After every epoch the
test accuracy on the 10,000 test images is measured outside the clock; the time is
the sum of the training epochs up to the first one at or above the target. fastmlp's
epochs are partial_fit calls (input checks included). Not collected by pytest.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

import benchreport as report  # noqa: E402  (benchmarks/ is sys.path[0] for this script)

sys.path.insert(0, str(report.ROOT))  # the checkout's fastmlp, built in place
import fastmlp  # noqa: E402
from fastmlp.datasets import load_mnist  # noqa: E402

RESULTS_JSON = report.ROOT / "benchmarks" / "time_to_accuracy_results.json"
GOAL_THREADS = 2  # the targets are "on 2 cores"
SCRIPT = "python benchmarks/time_to_accuracy.py"

# phases: [(epochs, learning_rate), ...]; a new phase starts a fresh optimizer state in
# both libraries (fastmlp: set_params; PyTorch: a new optimizer).
CONFIGS = {
    "results": dict(
        title="RESULTS.md configuration",
        hidden=(800,), solver="sgd", momentum=0.9, nesterov=False, batch=128,
        phases=[(30, 0.05)], dropout=0.0, dtype="float32",
        describe="784-800-10 relu, softmax cross-entropy, SGD momentum 0.9 (classical), lr "
                 "0.05, batch 128, no L2, float32, PyTorch's default init"),
    # Chosen by exploring (hidden 256..800, adam and sgd, batch 64..256, step schedules;
    # see the report): the fewest epochs x the cheapest epoch. A drop of the learning rate
    # after 3 epochs lifts the test accuracy past 98 % in epoch 4 for seeds 0, 1 and 2.
    "best": dict(
        title="fastmlp's best configuration",
        hidden=(256, 128), solver="sgd", momentum=0.9, nesterov=False, batch=128,
        phases=[(3, 0.1), (7, 0.01)], dropout=0.0, dtype="float32",
        describe="784-256-128-10 relu, softmax cross-entropy, SGD momentum 0.9 (classical), "
                 "lr 0.1 for 3 epochs then 0.01 (a fresh optimizer state at the drop), batch "
                 "128, no L2, float32, PyTorch's default init"),
}


def fastmlp_runner(cfg, seed, threads):
    model = fastmlp.MLPClassifier(cfg["hidden"], activation="relu", solver=cfg["solver"],
                                  momentum=cfg["momentum"], nesterovs_momentum=cfg["nesterov"],
                                  batch_size=cfg["batch"], alpha=0.0, dropout=cfg["dropout"],
                                  dtype=cfg["dtype"], weight_init="uniform", random_state=seed,
                                  n_threads=threads)
    classes = np.arange(10)

    def set_lr(lr):
        model.set_params(learning_rate_init=lr)

    def epoch(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastmlp.ConvergenceWarning)
            model.partial_fit(X, y, classes=classes)

    def accuracy(X, y):
        return model.score(X, y)
    return set_lr, epoch, accuracy


def torch_runner(cfg, seed, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    sizes = (784,) + tuple(cfg["hidden"]) + (10,)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
            if cfg["dropout"]:
                layers.append(torch.nn.Dropout(cfg["dropout"]))
    net = torch.nn.Sequential(*layers)
    if cfg["dtype"] == "float64":
        net = net.double()
    loss_fn = torch.nn.CrossEntropyLoss()
    state = {}
    cache = {}

    def tensors(X, y):
        key = (id(X), id(y))
        if key not in cache:
            cache[key] = (torch.from_numpy(X), torch.from_numpy(y))
        return cache[key]

    def set_lr(lr):
        if cfg["solver"] == "sgd":
            state["opt"] = torch.optim.SGD(net.parameters(), lr=lr, momentum=cfg["momentum"],
                                           nesterov=cfg["nesterov"])
        else:
            state["opt"] = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999),
                                            eps=1e-8)

    def epoch(X, y):
        Xt, yt = tensors(X, y)
        opt, n, b = state["opt"], len(yt), cfg["batch"]
        net.train()
        perm = torch.randperm(n)
        for start in range(0, n, b):
            idx = perm[start:start + b]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()

    def accuracy(X, y):
        Xt, yt = tensors(X, y)
        net.eval()
        with torch.inference_mode():
            return float((net(Xt).argmax(dim=1) == yt).double().mean())
    return set_lr, epoch, accuracy


def time_to_target(runner, cfg, data, seed, threads, target, label):
    X, y, Xt, yt = data
    set_lr, epoch, accuracy = runner(cfg, seed, threads)
    seconds, n, curve = 0.0, 0, []
    for n_epochs, lr in cfg["phases"]:
        set_lr(lr)
        for _ in range(n_epochs):
            start = time.perf_counter()
            epoch(X, y)
            seconds += time.perf_counter() - start
            n += 1
            acc = accuracy(Xt, yt)
            curve.append((round(seconds, 3), round(acc, 4)))
            print(f"  {label} epoch {n:2d}: test accuracy {acc:.4f}, training {seconds:6.2f} s",
                  flush=True)
            if acc >= target:
                return dict(reached=True, epochs=n, seconds=seconds, accuracy=acc, curve=curve)
    return dict(reached=False, epochs=n, seconds=seconds, accuracy=curve[-1][1], curve=curve)


def summarize(runs):
    reached = [r for r in runs if r["reached"]]
    return dict(
        reached=len(reached) == len(runs),
        seconds=statistics.median(r["seconds"] for r in runs),
        epochs=statistics.median(r["epochs"] for r in runs),
        runs=[dict(seconds=round(r["seconds"], 2), epochs=r["epochs"], reached=r["reached"],
                   accuracy=r["accuracy"]) for r in runs])


def fmt(side):
    if side is None:
        return "not run"
    s = f"{side['seconds']:.1f} s ({side['epochs']:g} epochs)"
    if not side["reached"]:
        s = f"not reached in {side['epochs']:g} epochs ({side['seconds']:.1f} s)"
    if len(side["runs"]) > 1:
        s += " median of " + ", ".join(f"{r['seconds']:.1f}" for r in side["runs"])
    return s


def busy(load):
    """True when other jobs held the CPUs: then threaded timings are not the libraries'."""
    return any(v is not None and v > 0.5 * (os.cpu_count() or 1) for v in load or [])


def _plural(t):
    return f"{t} thread{'s' if str(t) != '1' else ''}"


def table(results, target):
    rows = ["| configuration | threads | fastmlp | PyTorch (same run) | fastmlp speed-up | goal "
            "| met | command |", "|---|---|---|---|---|---|---|---|"]
    notes = []
    for key, cfg in CONFIGS.items():
        r = results.get(key)
        if r is None:
            rows.append(f"| {cfg['title']} | | not run yet | | | | | "
                        f"`{SCRIPT} --config {key}` |")
            continue
        # Judged on the load before the run: the run's own threads (2 on 2 CPUs)
        # raise the load average measured after it, whatever else is running.
        noisy = busy((r.get("load") or [None])[:1])
        ours_all, theirs_all = r["fastmlp_by_threads"], r.get("torch_by_threads") or {}
        for t in sorted(ours_all, key=int, reverse=True):
            ours, theirs = ours_all[t], theirs_all.get(t)
            speedup = "-"
            if theirs and ours["reached"] and theirs["reached"]:
                speedup = f"{theirs['seconds'] / ours['seconds']:.2f}x"
            if t != str(GOAL_THREADS):
                goal, verdict = "(reference)", "-"
            elif key == "results":
                goal = "fastmlp >= 1.4x as fast as PyTorch"
                met = speedup != "-" and theirs["seconds"] / ours["seconds"] >= 1.4
                # against threads on a busy machine a ratio measures the machine
                verdict = "**not judged** (busy machine: re-run)" if noisy else \
                    ("**met**" if met else "**not met**")
            else:
                goal = f"fastmlp <= 4.0 s to {100 * target:.1f} %"
                met = ours["reached"] and ours["seconds"] <= 4.0
                verdict = "**met**" if met else \
                    ("**not met** (busy machine: re-run)" if noisy else "**not met**")
            rows.append(f"| {cfg['title']}: {r['describe']} | {t} | {fmt(ours)} | {fmt(theirs)} "
                        f"| {speedup} | {goal} | {verdict} | `{SCRIPT} --config {key}` |")
        load = r.get("load") or [None, None]
        curves = "; ".join(
            [f"fastmlp {_plural(t)} {c}" for t, c in sorted(r["fastmlp_curves"].items(),
                                                              reverse=True)] +
            [f"PyTorch {_plural(t)} {c}" for t, c in sorted((r.get("torch_curves") or {}).items(),
                                                              reverse=True)])
        notes.append(f"- {cfg['title']} ({r['date']}, seeds {r['seeds']}, machine load average "
                     f"{load[0]} before / {load[1]} after on {r.get('cpus', '?')} CPUs), "
                     f"(cumulative training s, test accuracy) per epoch: {curves}")
    machine = {r.get("machine") for r in results.values() if r.get("machine")}
    text = (f"Training seconds until the test accuracy first reaches {100 * target:.1f} % "
            f"(checked after every epoch, outside the clock), MNIST 60,000 / 10,000, pixels / "
            f"255. Both libraries in one run, interleaved (for each seed and thread count: "
            f"fastmlp, then PyTorch), with the same network, optimizer, batch, dtype and init "
            f"scheme; threads are fastmlp's n_threads and torch.set_num_threads. The goals are "
            f"judged on {GOAL_THREADS} threads (2 cores); other thread counts are for "
            f"reference. RESULTS.md reports PyTorch needing 10.2 s for the first configuration "
            f"on a quiet machine of this kind. 'busy machine' marks a run that started while other "
            f"jobs held the CPUs (load average above half the CPU count before it): threads then wait on "
            f"descheduled peers (PyTorch's 2-thread epochs slowed down 10x or more here), so "
            f"only single-thread numbers of such a run compare the libraries.\n\n"
            + "\n".join(rows) + "\n\nPer-epoch curves:\n\n" + "\n".join(notes) + "\n")
    if machine:
        text += "\nMachine: " + "; ".join(sorted(machine)) + "\n"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=list(CONFIGS) + ["all"], default="all")
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--threads", default=str(GOAL_THREADS),
                        help=f"comma list of thread counts, each run by both libraries "
                             f"(default {GOAL_THREADS}; e.g. 2,1 on a shared machine)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per library (seeds 0..N-1); medians are reported")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap the epochs of every configuration")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--data", help="datasets folder (default $FASTMLP_DATASETS or "
                                       "../shared/datasets)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads must be a comma list of integers, got {args.threads!r}")
    folder = report.require(report.datasets_dir(args.data), "mnist")
    data = load_mnist(folder, "train") + load_mnist(folder, "test")
    keys = list(CONFIGS) if args.config == "all" else [args.config]
    results = report.load_results(RESULTS_JSON)
    machine = report.machine()
    print(f"machine: {machine}")
    for key in keys:
        cfg = dict(CONFIGS[key])
        if args.max_epochs:
            cfg["phases"], left = [], args.max_epochs
            for n, lr in CONFIGS[key]["phases"]:
                if left > 0:
                    cfg["phases"].append((min(n, left), lr))
                    left -= n
        seeds = list(range(args.repeat))
        print(f"== {key}: {cfg['describe']}", flush=True)
        load_before = report.load_average()
        if busy([load_before]):
            print(f"warning: load average {load_before} on {os.cpu_count()} CPUs: other jobs "
                  f"are running, threaded timings will not be representative", flush=True)
        ours = {t: [] for t in threads}
        theirs = {} if args.no_torch else {t: [] for t in threads}
        for s in seeds:  # interleaved, so a change in machine load hits both alike
            for t in threads:
                ours[t].append(time_to_target(fastmlp_runner, cfg, data, s, t, args.target,
                                              f"fastmlp {_plural(t)} seed {s}"))
                if not args.no_torch:
                    theirs[t].append(time_to_target(torch_runner, cfg, data, s, t, args.target,
                                                    f"PyTorch {_plural(t)} seed {s}"))
        entry = dict(describe=cfg["describe"],
                     fastmlp_by_threads={str(t): summarize(v) for t, v in ours.items()},
                     torch_by_threads={str(t): summarize(v) for t, v in theirs.items()},
                     fastmlp_curves={str(t): v[0]["curve"] for t, v in ours.items()},
                     torch_curves={str(t): v[0]["curve"] for t, v in theirs.items()},
                     seeds=seeds, date=report.today(), machine=machine, cpus=os.cpu_count(),
                     load=[load_before, report.load_average()])
        for t in threads:
            print(f"-> {_plural(t)}: fastmlp {fmt(entry['fastmlp_by_threads'][str(t)])}; "
                  f"PyTorch {fmt(entry['torch_by_threads'].get(str(t)))}", flush=True)
        if not args.no_write:
            results[key] = entry
            report.save_results(RESULTS_JSON, results)
            report.replace_section("time-to-accuracy", "Time to 98 % on MNIST (fastmlp vs "
                                   "PyTorch)", table(results, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
