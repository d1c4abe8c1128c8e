"""What one job used: its own count at the end of its log, and where its log and Snakemake's
benchmark file are. The standard library only: the CLI, the budget and the usage table read
it, and it reads none of them.

Under the workflow (``USAGE_VARIABLE`` set) every ``trainability`` command ends its log with
``usage_line()``: its CPU seconds and peak memory. Snakemake's ``benchmark:`` files have CPU
and memory too, but sampled: every 0.5 s for a job's first 15 s, then every 30 s, keeping
the last sample, so a long job's last stretch is missing (a size-study job of 80 CPU seconds
showed 28); ``read_benchmark`` prefers the log's count and corrects the sample where there is
none.
"""

from __future__ import annotations

import csv
import re
import resource
import sys
from pathlib import Path

USAGE_VARIABLE = "TRAINABILITY_USAGE"


def benchmark(job: str, wildcards: str = "") -> str:
    """Where Snakemake records a job's wall time (and samples its CPU time and memory)."""
    return f"results/benchmarks/{job}{'/' + wildcards if wildcards else ''}.tsv"


def log(job: str, wildcards: str = "") -> str:
    """A job's log, named as its benchmark file: its last line is the job's own count."""
    return f"results/logs/{job}{'/' + wildcards if wildcards else ''}.log"


def log_of(benchmark_file: str | Path) -> Path | None:
    """The log of the job whose benchmark file is ``benchmark_file``
    (``results/benchmarks/<rule>/...tsv`` -> ``results/logs/<rule>/...log``); None for a
    file outside a ``benchmarks`` folder."""
    parts = list(Path(benchmark_file).parts)
    if "benchmarks" not in parts:
        return None
    where = len(parts) - 1 - parts[::-1].index("benchmarks")
    return Path(*parts[:where], "logs", *parts[where + 1:]).with_suffix(".log")


def usage_line() -> str:
    """This process's CPU seconds and peak memory (MiB), as ``read_usage`` reads them."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    peak = used.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)  # bytes or KiB
    return f"usage: cpu_s={used.ru_utime + used.ru_stime:.3f} max_rss_mb={peak:.1f}"


def read_usage(log_file) -> tuple[float, float] | None:
    """``(CPU seconds, peak memory MiB)`` from a job log's last line, if it is a usage line
    (a failed job's, or one run outside the workflow, has none)."""
    try:
        with open(log_file, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = re.fullmatch(r"usage: cpu_s=(\S+) max_rss_mb=(\S+)", lines[-1]) if lines else None
    return (float(found[1]), float(found[2])) if found else None


def read_benchmark(path: str | Path) -> tuple[float, float] | None:
    """``(max_rss bytes, cpu seconds)`` of the job whose benchmark file is ``path``: the
    job's own count at the end of its log, else the benchmark file's last row with its CPU
    time scaled by wall time over the last sample's time (its peak memory is then a lower
    bound); None if there is neither, or the job was too short to be measured."""
    log_file = log_of(path)
    counted = read_usage(log_file) if log_file else None
    if counted:
        cpu, mib = counted
        return mib * 2**20, cpu
    try:
        with open(path, newline="") as f:
            row = list(csv.DictReader(f, delimiter="\t"))[-1]
        wall, rss, cpu = float(row["s"]), float(row["max_rss"]), float(row["cpu_time"])
    except (OSError, KeyError, IndexError, ValueError):
        return None
    sampled = wall // 0.5 * 0.5 if wall < 15 else 15 + (wall - 15) // 30 * 30
    if sampled < 1 or cpu <= 0:
        return None
    return rss * 2**20, cpu * wall / sampled
