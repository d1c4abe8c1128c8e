"""What the workflow checks before any job starts: what the out-of-date work costs, and
that every job of it fits.

``rulekit.py`` registers each rule's jobs here with their costs (``cost.py``) and whether
they are out of date; once every rule file is read, the main Snakemake process calls
``Budget.check``, which

- says how many models and model-epochs are to be trained and the CPU time of all that is
  out of date (``snakemake -n`` too: it runs while the workflow is parsed). A training job
  is out of date exactly when its run file is missing, because run files are named by a
  hash of their parameters and code;
- refuses, in one line naming the parameter, its value, the estimate and the limit, a job
  whose memory request exceeds this machine's memory (or ``--resources mem_mb``), and work
  above ``CPU_BUDGET``.

``--config limits=off`` skips the refusals; the cost is still printed. Estimates are
rescaled per rule by what the rule's jobs of the current parameters measured (the median
ratio measured / estimated), when there are some: each job's own count at the end of its
log, or its ``benchmark:`` file.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from trainability.cost import Cost
from trainability.jobusage import read_benchmark

CPU_BUDGET = 48 * 3600  # CPU seconds of out-of-date work that run without asking
SWITCH = "--config limits=off"
ANYWAY = f"run anyway with {SWITCH}"
# the params.yaml keys (last part) that set each dimension of a job's cost
DIMENSION_KEYS = {
    "width": ("widths", "width"), "depth": ("depths", "depth", "profile_depth"),
    "seeds": ("seeds", "seeds_narrow", "seeds_wide"), "inits": ("inits",), "lrs": ("lrs",),
    "points": ("n_samples",), "epochs": ("epochs", "finetune_epochs"),
}
COUNTED = ("inits", "lrs")  # dimensions that are the length of a list in params.yaml


class BudgetError(ValueError):
    """A job that cannot fit, or work above the budget: the message says which and why."""


@dataclass(frozen=True)
class Job:
    rule: str
    cost: Cost
    todo: bool  # out of date: it will run
    benchmark: str = ""  # its Snakemake benchmark file, for calibration
    study: str = ""  # the params.yaml section to look in first for a culprit's key


class Budget:
    """Every registered job, calibrated from benchmarks, checked against the limits."""

    def __init__(self, config: Mapping):
        self.config = config
        self._sources: dict[str, Callable[[], Iterable[Job]]] = {}
        self._jobs: dict[str, list[Job]] = {}
        self.ratios: dict[str, tuple[float, float]] = {}

    def add(self, rule: str, jobs: Callable[[], Iterable[Job]]) -> None:
        """``jobs()`` lists the rule's jobs; called once, after every rule is defined."""
        self._sources[rule] = jobs

    def rules(self) -> list[str]:
        return list(self._sources)

    def jobs(self, rule: str | None = None) -> list[Job]:
        rules = [rule] if rule else list(self._sources)
        for r in rules:
            if r not in self._jobs:
                self._jobs[r] = list(self._sources[r]())
        return [j for r in rules for j in self._jobs[r]]

    def adjusted(self, rule: str, cost: Cost) -> Cost:
        """``cost`` rescaled by the rule's benchmarks: CPU both ways, memory only up (a
        benchmark samples memory, so it can miss the peak but not exceed it)."""
        mem, cpu = self.ratios.get(rule, (1.0, 1.0))
        return cost.scaled(memory=max(1.0, mem), cpu=cpu)

    def calibrate(self) -> dict[str, tuple[float, float]]:
        """Per rule, the median measured / estimated (memory, CPU) over the benchmark files
        of its up-to-date jobs: jobs of the current parameters (a training job's benchmark
        is named by its run file's tag), as in a run cut short or a second pass."""
        ratios: dict[str, list[tuple[float, float]]] = {}
        for job in self.jobs():
            measured = read_benchmark(job.benchmark) if job.benchmark and not job.todo else None
            if measured:
                rss, cpu = measured
                ratios.setdefault(job.rule, []).append(
                    (rss / job.cost.memory, cpu / max(job.cost.cpu, 1e-9)))
        self.ratios = {rule: (statistics.median(m for m, _ in r),
                              statistics.median(c for _, c in r)) for rule, r in ratios.items()}
        return self.ratios

    def check(self, limit: tuple[float, str], say: Callable[[str], None],
              enforce: bool = True) -> None:
        """Say what the out-of-date work costs; unless ``enforce`` is false, raise
        BudgetError if a job of it needs more memory than ``limit`` (bytes, and where
        that limit comes from) or all of it more CPU time than ``CPU_BUDGET``."""
        self.calibrate()
        jobs = [(j, self.adjusted(j.rule, j.cost)) for j in self.jobs()]
        todo = [(j, c) for j, c in jobs if j.todo]
        say(summary(todo, sum(1 for j, c in jobs if c.models and not j.todo)))
        if not enforce or not todo:
            return
        job, cost = max(todo, key=lambda jc: jc[1].mem_mb)
        if cost.mem_mb * 1e6 > limit[0]:
            raise BudgetError(self._too_big(job, cost, limit))
        total = sum(c.cpu for _, c in todo)
        if total > CPU_BUDGET:
            job, cost = max(todo, key=lambda jc: jc[1].cpu)
            raise BudgetError(self._too_long(job, cost, total))

    def _too_big(self, job: Job, cost: Cost, limit: tuple[float, str]) -> str:
        need = f"about {human_bytes(cost.mem_mb * 1e6)}"
        where = f"(limit: {human_bytes(limit[0])}, {limit[1]})"
        key = self._key(job, cost)
        if key:
            return f"{key} needs {need} per {job.rule} job {where}; lower it, or {ANYWAY}"
        return f"a {job.rule} job needs {need} {where}; allow more, or {ANYWAY}"

    def _too_long(self, job: Job, cost: Cost, total: float) -> str:
        budget = human_cpu(CPU_BUDGET).removeprefix("about ")
        spend = f"{human_cpu(total)} (budget: {budget}, trainability/budget.py)"
        key = self._key(job, cost)
        if key:
            return f"{key} makes the out-of-date jobs need {spend}; lower it, or {ANYWAY}"
        return f"the out-of-date jobs need {spend}; lower seeds, epochs or widths, or {ANYWAY}"

    def _key(self, job: Job, cost: Cost) -> str | None:
        """``key: value`` of the parameter that makes ``job`` large; None if none is."""
        if not cost.culprit:
            return None
        dimension, value = cost.culprit
        key = config_key(self.config, dimension, value, prefer=job.study)
        return f"{key}: {value}" if key else f"{job.rule}'s {dimension} {value}"


def summary(todo: list[tuple[Job, Cost]], done: int) -> str:
    """One line: the models, model-epochs and CPU time of the out-of-date jobs (``todo``);
    ``done``: how many training jobs are up to date."""
    models = sum(c.models for _, c in todo)
    cpu = human_cpu(sum(c.cpu for _, c in todo))
    if models:
        rest = " (the rest is up to date)" if done else ""
        epochs = sum(c.model_epochs for _, c in todo)
        return f"to train: {models:,} models, {epochs:,} model-epochs, {cpu}{rest}"
    line = f"nothing to train: {done:,} training job{'s are' if done != 1 else ' is'} up to date"
    return line + (f"; tables, figures and report: {cpu}" if todo else "")


def config_key(config: Mapping, dimension: str, value: int, prefer: str = "") -> str | None:
    """The dotted params.yaml key that sets ``dimension`` to ``value`` (a list holding it,
    or of that length for counted ones), in section ``prefer`` if it has one."""
    names, found = DIMENSION_KEYS.get(dimension, ()), []

    def walk(node, path):
        for key, v in node.items():
            if isinstance(v, Mapping):
                walk(v, path + (key,))
            elif key in names and _sets(v, value, dimension in COUNTED):
                found.append(".".join(path + (key,)))

    walk(config, ())
    preferred = [k for k in found if k.startswith(prefer + ".")] if prefer else []
    return (preferred or found or [None])[0]


def _sets(v, value: int, counted: bool) -> bool:
    if counted:
        return isinstance(v, list) and len(v) == value
    if isinstance(v, list):
        return value in v
    return not isinstance(v, bool) and v == value


def machine_memory() -> float:
    """Bytes of memory here: the physical memory, or a container's cgroup limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        cgroup = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        return min(total, float(cgroup)) if cgroup.isdigit() else total
    except OSError:
        return total


def human_bytes(n: float, binary: bool = False) -> str:
    """``1.2 TB``, ``24 GB``, ``350 MB``: two significant digits, in the decimal units of
    ``mem_mb`` (or ``binary``: ``1.1 TiB``, NumPy's)."""
    base, units = (1024, ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]) if binary else \
        (1000, ["bytes", "kB", "MB", "GB", "TB", "PB"])
    while n >= 1000 and len(units) > 1:  # 1000, not 1024: "1,000 KiB" reads as more
        n, units = n / base, units[1:]
    return f"{_two_digits(n)} {units[0]}"


def human_cpu(seconds: float) -> str:
    """``about 2 CPU-minutes``, up to ``about 1,400 CPU-days``."""
    for unit, size, upto in (("second", 1, 90), ("minute", 60, 90 * 60),
                             ("hour", 3600, 72 * 3600), ("day", 86400, math.inf)):
        if seconds < upto:
            value = _two_digits(seconds / size)
            return f"about {value} CPU-{unit}{'' if value == '1' else 's'}"
    raise AssertionError("unreachable")


def _two_digits(x: float) -> str:
    if x >= 10:
        return f"{round(x, 1 - int(math.log10(x))):,.0f}"
    return f"{x:.2g}"
