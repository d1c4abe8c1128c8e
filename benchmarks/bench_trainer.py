"""Time our NumPy trainer against a plain NumPy loop, scikit-learn's MLPClassifier and PyTorch.

Workload: ``make_circles(1000, factor=0.5, noise=0.1)`` to train on, ``--n-test`` more
points of the same distribution to test on, 5 models (seeds 0..4) x 100 epochs,
mini-batches of 32, 2 hidden layers of width w.

1. Overhead, ``ours / plain``: ``train()`` against the hand-written batched loop of
   ``plain_loop.py`` on the same math (tanh, SGD lr 0.05, glorot_uniform, diagnostics off,
   loss and accuracy on train and test after every epoch). Both start from the same
   weights and shuffle alike; the script checks that they end with the same parameters
   before timing them. The goal is at most 1.2x.
2. Against the tools people use (relu, Adam lr 1e-3): sklearn and PyTorch train the 5
   models one after another (that is how one uses them); ours trains the 5 at once and
   also evaluates train and test loss and accuracy after every epoch, which the others do
   not; ``ours + diagnostics`` adds the per-layer statistics of the study, ``ours float32``
   trains in float32.

BLAS is pinned to one thread, as Snakemake jobs get it (``threads: 1``). Each time is the
best of N repeats after a warm-up run; the tools take turns within each repeat, so a
ratio compares times measured under the same load. This is a script to run by hand, not a
test:

    python benchmarks/bench_trainer.py                 # README tables, 3-4 minutes
    python benchmarks/bench_trainer.py --widths 16 64 --repeats 5 --only plain
    python benchmarks/bench_trainer.py --timer cpu     # on a busy machine
    python benchmarks/bench_trainer.py --quick         # smoke run: 2 widths, 10 epochs
"""

from __future__ import annotations

import os

# Before NumPy (or anything importing it) is loaded: these are read once, at BLAS start-up.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

N_SAMPLES, FACTOR, NOISE = 1000, 0.5, 0.1
DEPTH, BATCH, LR = 2, 32, 1e-3
PLAIN_LR = 0.05  # SGD on tanh networks: the overhead comparison

TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}


def best_times(runs: dict, repeats: int, timer=time.perf_counter) -> dict[str, float]:
    """Best time of each of ``runs`` over ``repeats`` rounds in which every run takes a turn
    (the warm-up call is made by the caller)."""
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = timer()
            fn()
            times[name].append(timer() - start)
    return {name: min(t) for name, t in times.items()}


def make_data(n_test: int):
    from sklearn.datasets import make_circles

    X, y = make_circles(N_SAMPLES, factor=FACTOR, noise=NOISE, random_state=0)
    X_test, y_test = make_circles(n_test, factor=FACTOR, noise=NOISE, random_state=1)
    return X, y, X_test, y_test


def run_sklearn(X, y, width, seeds, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in seeds:
            MLPClassifier(
                (width,) * DEPTH,
                activation="relu",
                solver="adam",
                learning_rate_init=LR,
                batch_size=BATCH,
                max_iter=epochs,
                tol=0,
                n_iter_no_change=10**9,
                random_state=seed,
            ).fit(X, y)


def run_ours(data, width, seeds, epochs, diagnostics=False, dtype=np.float64):
    from trainability.model import Architecture
    from trainability.optim import OptimizerConfig
    from trainability.train import train

    return train(
        Architecture(depth=DEPTH, width=width, activation="relu"),
        OptimizerConfig("adam", LR),
        data,
        seeds=seeds,
        epochs=epochs,
        batch_size=BATCH,
        init="glorot_uniform",
        diagnostics=diagnostics,
        dtype=dtype,
    )


def run_ours_sgd(data, width, seeds, epochs):
    """Ours on the plain loop's workload."""
    from trainability.model import Architecture
    from trainability.optim import OptimizerConfig
    from trainability.train import train

    return train(
        Architecture(depth=DEPTH, width=width, activation="tanh"),
        OptimizerConfig("sgd", PLAIN_LR),
        data,
        seeds=seeds,
        epochs=epochs,
        batch_size=BATCH,
        init="glorot_uniform",
        diagnostics=False,
    )


def run_plain(data, width, seeds, epochs, evaluate=True):
    """The plain loop from our initial weights; returns the final ``(K, P)`` parameters."""
    from plain_loop import plain_train

    from trainability.model import Architecture, Network, init_params, model_rng
    from trainability.train import SHUFFLE_STREAM

    net = Network(Architecture(depth=DEPTH, width=width, activation="tanh"))
    theta = init_params(net.layout, "glorot_uniform", seeds)
    p = net.bind(theta)
    shufflers = [model_rng(s, SHUFFLE_STREAM) for s in seeds]
    plain_train(p.W, p.b, data.X_train, data.y_train, data.X_test, data.y_test, shufflers,
                epochs, BATCH, PLAIN_LR, evaluate)
    return theta


def check_same_math(data, width, seeds, epochs=3):
    """Ours and the plain loop end with the same parameters (up to summation order)."""
    ours = run_ours_sgd(data, width, seeds, epochs).theta
    plain = run_plain(data, width, seeds, epochs)
    err = np.abs(ours - plain).max()
    if not err < 1e-10:
        raise AssertionError(f"width {width}: ours and the plain loop differ by {err:.2e}")


def run_torch(X, y, width, seeds, epochs):
    """Idiomatic PyTorch: one model at a time, shuffled index slices, BCE from logits."""
    import torch

    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
    n = len(Xt)
    for seed in seeds:
        torch.manual_seed(seed)
        layers, fan_in = [], X.shape[1]
        for _ in range(DEPTH):
            layers += [torch.nn.Linear(fan_in, width), torch.nn.ReLU()]
            fan_in = width
        model = torch.nn.Sequential(*layers, torch.nn.Linear(fan_in, 1)).double()
        opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for _ in range(epochs):
            order = torch.randperm(n)
            for start in range(0, n, BATCH):
                idx = order[start : start + BATCH]
                opt.zero_grad()
                loss_fn(model(Xt[idx]), yt[idx]).backward()
                opt.step()


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_info() -> list[str]:
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    lines = [
        f"- CPU: {cpu}; nproc: {nproc()} (os.cpu_count {os.cpu_count()})",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}",
    ]
    try:
        from threadpoolctl import threadpool_info

        pools = sorted({f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()})
        lines.append(f"- thread pools (threadpoolctl): {', '.join(pools)}")
    except ImportError:
        env = ", ".join(f"{v}={os.environ[v]}" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
        lines.append(f"- BLAS threads (environment): {env}")
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[5, 16, 64, 256])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats per timing, best taken (default: 5 below width 256, 1 from 256 up)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: widths 5 16, 10 epochs")
    parser.add_argument("--only", choices=["plain", "tools"], default=None,
                        help="time only the overhead comparison or only the tools")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5, help="models per cell")
    parser.add_argument("--n-test", type=int, default=200, help="held-out points ours evaluates")
    parser.add_argument(
        "--timer",
        choices=sorted(TIMERS),
        default="wall",
        help="wall clock, or this process's CPU time (steadier on a busy machine; with one "
        "BLAS thread the two agree on an idle one)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.widths, args.epochs = [5, 16], 10
        args.repeats = args.repeats or 1
    return args


def make_tools(args, data, seeds):
    """``{name: run(width, epochs)}`` of every tool to time."""
    X, y = data.X_train, data.y_train
    tools = {}
    if args.only != "tools":
        tools["plain"] = lambda w, e: run_plain(data, w, seeds, e)
        tools["plain_noeval"] = lambda w, e: run_plain(data, w, seeds, e, evaluate=False)
        tools["ours_sgd"] = lambda w, e: run_ours_sgd(data, w, seeds, e)
    if args.only != "plain":
        tools["sklearn"] = lambda w, e: run_sklearn(X, y, w, seeds, e)
        tools["ours"] = lambda w, e: run_ours(data, w, seeds, e)
        tools["ours_diag"] = lambda w, e: run_ours(data, w, seeds, e, diagnostics=True)
        tools["ours_f32"] = lambda w, e: run_ours(data, w, seeds, e, dtype=np.float32)
        if importlib.util.find_spec("torch") is not None:
            import torch

            torch.set_num_threads(1)
            tools["torch"] = lambda w, e: run_torch(X, y, w, seeds, e)
        else:
            print("PyTorch is not installed: its column is skipped.\n")
    return tools


def print_table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


def print_tables(args, rows):
    setting = (f"{args.seeds} models x {args.epochs} epochs, batch {BATCH}, {N_SAMPLES} training "
               f"points (make_circles), {DEPTH} hidden layers; best of N runs ({args.timer} "
               "time), 1 BLAS thread.")
    if "plain" in rows[0][1]:
        print(f"\nOverhead: tanh, SGD lr {PLAIN_LR}, no diagnostics; {setting} The plain loop "
              "evaluates as ours does; 'training only' skips the evaluation (less work).\n")
        head = ["width", "plain loop (s)", "ours (s)", "ours / plain"]
        head += ["plain, training only (s)", "ours / training only"]
        print_table(head, [
            [str(w), f"{t['plain']:.3f}", f"{t['ours_sgd']:.3f}",
             f"{t['ours_sgd'] / t['plain']:.2f}x", f"{t['plain_noeval']:.3f}",
             f"{t['ours_sgd'] / t['plain_noeval']:.2f}x"] for w, t in rows])
    if "sklearn" not in rows[0][1]:
        return
    print(f"\nTools: relu, Adam lr {LR}; ours also evaluates train and {args.n_test} test "
          f"points every epoch; {setting}\n")
    head = ["width", "sklearn (s)", "ours (s)", "sklearn / ours"]
    head += ["ours + diagnostics (s)", "sklearn / ours+diag"]
    head += ["ours float32 (s)", "sklearn / ours f32"]
    have_torch = "torch" in rows[0][1]
    if have_torch:
        head += ["PyTorch (s)", "PyTorch / ours"]
    table = []
    for w, t in rows:
        sk = t["sklearn"]
        cells = [str(w), f"{sk:.2f}", f"{t['ours']:.3f}", f"{sk / t['ours']:.1f}x"]
        cells += [f"{t['ours_diag']:.3f}", f"{sk / t['ours_diag']:.1f}x"]
        cells += [f"{t['ours_f32']:.3f}", f"{sk / t['ours_f32']:.1f}x"]
        if have_torch:
            cells += [f"{t['torch']:.2f}", f"{t['torch'] / t['ours']:.1f}x"]
        table.append(cells)
    print_table(head, table)


def main(argv=None):
    args = parse_args(argv)
    from trainability.data import Dataset

    data = Dataset(*make_data(args.n_test))
    seeds = list(range(args.seeds))
    tools = make_tools(args, data, seeds)
    timer = TIMERS[args.timer]
    load_before = os.getloadavg()[0]
    rows = []
    for w in args.widths:
        if "plain" in tools:
            check_same_math(data, w, seeds)
        repeats = args.repeats or (5 if w < 256 else 1)
        for run in tools.values():
            run(w, 1)  # warm-up: imports, first-call allocations
        runs = {name: (lambda run=run, w=w: run(w, args.epochs)) for name, run in tools.items()}
        t = best_times(runs, repeats, timer)
        for name, seconds in t.items():
            print(f"width {w:4d}  {name:10s} {seconds:8.3f} s  (best of {repeats})", flush=True)
        rows.append((w, t))
    print_tables(args, rows)
    print("\nMachine:")
    print("\n".join(machine_info()))
    load = max(load_before, os.getloadavg()[0])
    print(f"- load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f}")
    if load > 0.5 * nproc() and args.timer == "wall":
        print("  the machine was busy: wall times are inflated; --timer cpu is steadier")


if __name__ == "__main__":
    main()
