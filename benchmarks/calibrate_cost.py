"""Fit the CPU constants of ``trainability.cost`` and check its memory model.

Runs ``trainability train`` jobs of different shapes under ``/usr/bin/time`` with one BLAS
thread (as Snakemake runs them), fits ``cost.CPU`` by non-negative least squares on
relative error, derives each activation's elementwise cost, and compares the estimates
with the measurements, the default grid's jobs held out::

    python benchmarks/calibrate_cost.py            # fit, then check (a few CPU-minutes)
    python benchmarks/calibrate_cost.py --check    # the current constants on the held-out jobs

Paste the printed constants into ``src/trainability/cost.py``; CPU time is user + system.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from trainability import cost
from trainability.cli import train_kwargs

INITS = ("zeros random_normal random_uniform glorot_normal glorot_uniform he_normal "
         "he_uniform lecun_normal lecun_uniform orthogonal").split()
GRID = ["--init", *INITS, "--depth", "4", "--seeds", "0", "1", "2", "3", "4",
        "--classifier-init", "glorot_uniform", "--diagnostic-epochs",
        *"0 1 2 5 10 20 50 100".split()]


def seeds(k):
    return ["--seeds", *map(str, range(k))]


FIT = {  # name: arguments; each isolates a term of the CPU model
    "start": ["--width", "1", "--depth", "1", *seeds(1), "--epochs", "1", "--no-diagnostics"],
    "steps": ["--width", "4", *seeds(1), "--epochs", "30", "--batch-size", "8",
              "--no-diagnostics"],
    "steps, deep": ["--width", "4", "--depth", "12", *seeds(1), "--epochs", "15",
                    "--batch-size", "8", "--no-diagnostics"],
    "models": ["--width", "2", "--depth", "3", *seeds(120), "--epochs", "10",
               "--batch-size", "4", "--no-diagnostics"],
    # a step's arrays stay in cache (train() chunks models for that): evaluating the whole
    # training set for 19 models at once does not
    "elementwise": ["--width", "32", "--depth", "2", *seeds(60), "--epochs", "60",
                    "--no-diagnostics"],
    "elementwise, cached": ["--width", "16", "--depth", "2", *seeds(20), "--epochs", "30",
                            "--no-diagnostics"],
    "matmul": ["--width", "512", "--depth", "3", *seeds(2), "--epochs", "3",
               "--batch-size", "800", "--no-diagnostics"],
    "matmul, batches": ["--width", "64", "--depth", "4", *seeds(20), "--epochs", "30",
                        "--no-diagnostics"],
    "optimizer": ["--width", "32", "--depth", "2", *seeds(200), "--epochs", "2",
                  "--batch-size", "4", "--no-diagnostics", "--optimizer", "adam"],
    "optimizer, rmsprop": ["--width", "64", *seeds(50), "--epochs", "1", "--batch-size", "8",
                           "--no-diagnostics"],
    "diagnostics": ["--width", "16", *seeds(10), "--epochs", "20"],
}
ACTIVATIONS = ("leaky_relu", "elu", "gelu", "swish", "sigmoid", "tanh")
HELD_OUT = {  # the default params' grid jobs (grid/spec.py's arguments)
    "grid relu w5": ["--activation", "relu", "--width", "5", *GRID, "--checkpoint-every", "5"],
    "grid relu w16": ["--activation", "relu", "--width", "16", *GRID],
    "grid relu w64": ["--activation", "relu", "--width", "64", *GRID],
    "grid sigmoid w16": ["--activation", "sigmoid", "--width", "16", *GRID],
    "grid gelu w64": ["--activation", "gelu", "--width", "64", *GRID],
}


def measure(args, data, folder) -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS (bytes) of one job."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    times = Path(folder) / "time.txt"
    subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", str(times), "trainability",
                    "train", "--data", str(data), *args, "--out", str(Path(folder) / "o.npz")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    user, system, rss_kb = times.read_text().split()[-3:]
    return float(user) + float(system), float(rss_kb) * 1024


def estimate_terms(args, sizes):
    kwargs = train_kwargs(args) | dict(zip(("n_train", "n_test"), sizes, strict=True))
    return kwargs, cost.cpu_terms(**kwargs)


def report(name, kwargs, cpu, rss):
    c = cost.train_cost(**kwargs)
    print(f"{name:18s} cpu {cpu:7.2f} s  est {c.cpu:7.2f} s ({c.cpu / cpu:4.2f})   "
          f"rss {rss / 1e6:7.1f} MB  est {c.memory / 1e6:7.1f} MB ({c.memory / rss:4.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only the held-out jobs")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.npz"
        subprocess.run(["trainability", "dataset", "--out", str(data)], check=True,
                       stdout=subprocess.DEVNULL)
        sizes = cost.split_sizes(1000, 0.2)
        if not opts.check:
            fit(data, folder, sizes)
        for name, args in HELD_OUT.items():
            kwargs, _ = estimate_terms(args, sizes)
            report(name, kwargs, *measure(args, data, folder))


def fit(data, folder, sizes):
    rows, measured = [], []
    for name, args in FIT.items():
        kwargs, terms = estimate_terms(args, sizes)
        cpu, rss = measure(args, data, folder)
        rows.append([terms[t] for t in cost.CPU])
        measured.append((name, kwargs, cpu, rss))
    a = np.array(rows) / np.array([m[2] for m in measured])[:, None]  # relative error
    coef, _ = nnls(a, np.ones(len(rows)))
    cost.CPU.update(zip(cost.CPU, coef.tolist(), strict=True))
    print("CPU =", {t: float(f"{c:.3g}") for t, c in cost.CPU.items()})
    print("shape", a.shape, "rank", np.linalg.matrix_rank(a))
    for name, kwargs, cpu, rss in measured:
        report(name, kwargs, cpu, rss)
    _, relu_kwargs, relu_cpu, _ = next(m for m in measured if m[0] == "elementwise")
    terms = cost.cpu_terms(**relu_kwargs)
    unit = sum(terms[t] * cost.CPU[t] for t in ("unit_points", "cached_unit_points"))
    for act in ACTIVATIONS:
        args = FIT["elementwise"] + ["--activation", act]
        cpu, _ = measure(args, data, folder)
        cost.ACTIVATION_COST[act] = round(1 + (cpu - relu_cpu) / unit, 2)
    print("ACTIVATION_COST =", cost.ACTIVATION_COST)


if __name__ == "__main__":
    main()
