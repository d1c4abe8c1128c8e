"""Time our NumPy trainer against scikit-learn's MLPClassifier (and PyTorch if installed).

Workload, identical for every tool: ``make_circles(1000, factor=0.5, noise=0.1)``, 5 models
(seeds 0..4) x 100 epochs, mini-batches of 32 drawn from all 1000 points, 2 hidden layers of
width w with relu, Adam with learning rate 1e-3. sklearn and PyTorch train the 5 models one
after another (that is how one uses them); ours trains the 5 at once. Ours also evaluates
loss and accuracy on the whole training set and on a held-out test set (``--n-test`` more
points of the same distribution) after every epoch, which the others do not; ``ours +
diagnostics`` adds the per-layer statistics of the study, ``ours float32`` trains in float32.

BLAS is pinned to one thread, as Snakemake jobs get it (``threads: 1``). Each time is the
best of N repeats after a warm-up run. This is a script to run by hand, not a test:

    python benchmarks/bench_trainer.py                 # README table, 2-3 minutes
    python benchmarks/bench_trainer.py --widths 16 64 --repeats 5
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


TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}


def best_time(fn, repeats: int, timer=time.perf_counter) -> float:
    """Best time of ``repeats`` calls (the warm-up call is made by the caller)."""
    times = []
    for _ in range(repeats):
        start = timer()
        fn()
        times.append(timer() - start)
    return min(times)


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

    train(
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[5, 16, 64, 256])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats per timing, best taken (default: 3 below width 256, 1 from 256 up)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: widths 5 16, 10 epochs")
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

    from trainability.data import Dataset

    X, y, X_test, y_test = make_data(args.n_test)
    data = Dataset(X, y, X_test, y_test)
    seeds = list(range(args.seeds))
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(1)
    else:
        print("PyTorch is not installed: its column is skipped.\n")

    tools = {
        "sklearn": lambda w, e: run_sklearn(X, y, w, seeds, e),
        "ours": lambda w, e: run_ours(data, w, seeds, e),
        "ours_diag": lambda w, e: run_ours(data, w, seeds, e, diagnostics=True),
        "ours_f32": lambda w, e: run_ours(data, w, seeds, e, dtype=np.float32),
    }
    if have_torch:
        tools["torch"] = lambda w, e: run_torch(X, y, w, seeds, e)

    timer = TIMERS[args.timer]
    load_before = os.getloadavg()[0]
    rows = []
    for w in args.widths:
        repeats = args.repeats or (3 if w < 256 else 1)
        t = {}
        for name, run in tools.items():
            run(w, 1)  # warm-up: imports, first-call allocations
            t[name] = best_time(lambda run=run, w=w: run(w, args.epochs), repeats, timer)
            print(f"width {w:4d}  {name:10s} {t[name]:8.3f} s  (best of {repeats})", flush=True)
        rows.append((w, t))

    head = ["width", "sklearn (s)", "ours (s)", "sklearn / ours"]
    head += ["ours + diagnostics (s)", "sklearn / ours+diag"]
    head += ["ours float32 (s)", "sklearn / ours f32"]
    if have_torch:
        head += ["PyTorch (s)", "PyTorch / ours"]
    print(
        f"\n{args.seeds} models x {args.epochs} epochs, batch {BATCH}, {N_SAMPLES} training "
        f"points (make_circles), {DEPTH} hidden layers, relu, Adam lr {LR}; ours also "
        f"evaluates train and {args.n_test} test points every epoch. Best of N runs "
        f"({args.timer} time), 1 BLAS thread.\n"
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for w, t in rows:
        sk = t["sklearn"]
        cells = [str(w), f"{sk:.2f}", f"{t['ours']:.3f}", f"{sk / t['ours']:.1f}x"]
        cells += [f"{t['ours_diag']:.3f}", f"{sk / t['ours_diag']:.1f}x"]
        cells += [f"{t['ours_f32']:.3f}", f"{sk / t['ours_f32']:.1f}x"]
        if have_torch:
            cells += [f"{t['torch']:.2f}", f"{t['torch'] / t['ours']:.1f}x"]
        print("| " + " | ".join(cells) + " |")
    print("\nMachine:")
    print("\n".join(machine_info()))
    load = max(load_before, os.getloadavg()[0])
    print(f"- load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f}")
    if load > 0.5 * nproc() and args.timer == "wall":
        print("  the machine was busy: wall times are inflated; --timer cpu is steadier")


if __name__ == "__main__":
    main()
