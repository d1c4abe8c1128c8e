"""Where the training jobs' CPU time goes: BLAS, NumPy's C loops, the Python interpreter.

Reruns every training job the workflow would run in a project (``snakemake -n -p``) under
py-spy, sampling native frames with one BLAS thread (as Snakemake runs them), and sorts
the samples by the library of the innermost frame::

    pip install py-spy                     # not a project dependency
    snakemake --cores 2 --until dataset size_dataset scaling_inputs   # the data, in a fresh clone
    python benchmarks/profile_training.py  # a few CPU-minutes more than the training itself

Run files go to a temporary folder; the project's results are left alone. py-spy pauses
the process to unwind native stacks, so the sampled seconds exceed the jobs' own count;
the shares are what to read.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TRAIN_RULES = ("grid_train", "epsilon_train", "tweaks_train", "gradients_train",
               "batchnorm_train", "scaling_train", "scaling_init", "size_train",
               "size_lottery", "size_structured")
RATE = 250  # samples per second
CATEGORIES = (  # (name, pattern on the innermost frame's library), first match wins
    ("BLAS", r"openblas|libblas|mkl"),
    ("NumPy C loops", r"numpy/.*\.so|_multiarray_umath"),
    ("Python interpreter", r"\.py:\d+|libpython"),
    ("libc, libm", r"libc\.so|libm\.so"),
    ("SciPy special (gelu's erf)", r"scipy/special"),
)


def training_jobs(project: Path) -> list[tuple[str, list[str]]]:
    """``(rule, argv)`` of every training job a dry run lists."""
    dry = subprocess.run(["snakemake", "-n", "-p"], cwd=project, capture_output=True,
                         text=True, check=True).stdout
    jobs, rule = [], None
    for line in dry.splitlines():
        line = line.strip()
        if m := re.match(r"rule (\w+):", line):
            rule = m.group(1)
        elif rule in TRAIN_RULES and line.startswith("Shell command: trainability "):
            command = line.removeprefix("Shell command: ").split(" > ")[0]  # not the log
            jobs.append((rule, shlex.split(command)))
            rule = None
    return jobs


def category(frame: str) -> str:
    where = m.group(1) if (m := re.search(r"\(([^()]*)\)$", frame)) else frame
    return next((name for name, pattern in CATEGORIES if re.search(pattern, where)), "other")


def profile(project: Path, argv: list[str], folder: Path) -> collections.Counter:
    """Samples of one job by category; its run file goes to ``folder``."""
    argv = [str(folder / "run.npz") if i and argv[i - 1] == "--out" else a
            for i, a in enumerate(argv)]
    raw = folder / "samples.txt"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(["py-spy", "record", "--native", "-r", str(RATE), "-f", "raw", "-o",
                    str(raw), "--", shutil.which(argv[0]) or argv[0], *argv[1:]],
                   cwd=project, env=env, check=True, capture_output=True)
    counts = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        counts[category(stack.split(";")[-1])] += int(n)
    return counts


def shares(counts: collections.Counter) -> str:
    total = sum(counts.values())
    return "  ".join(f"{name} {n / total:.0%}" for name, n in counts.most_common())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=".", type=Path)
    project = parser.parse_args().project.resolve()
    if shutil.which("py-spy") is None:
        sys.exit("py-spy not found: pip install py-spy")
    jobs = training_jobs(project)
    by_rule = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as folder:
        for rule, argv in jobs:
            by_rule[rule] += profile(project, argv, Path(folder))
    print(f"{len(jobs)} training jobs, sampled at {RATE} Hz (native frames, one BLAS thread)")
    for rule, counts in sorted(by_rule.items(), key=lambda rc: -sum(rc[1].values())):
        print(f"{rule:16s} {sum(counts.values()) / RATE:7.1f} s sampled  {shares(counts)}")
    everything = sum(by_rule.values(), collections.Counter())
    print(f"{'all':16s} {sum(everything.values()) / RATE:7.1f} s sampled  {shares(everything)}")


if __name__ == "__main__":
    main()
