"""What the Snakemake rules ask while the workflow is parsed: code dependencies, stamps, and
the one mechanism that rebuilds lost or damaged intermediates.

Stamps: every job that turns intermediates into products (a study's tables, figures and
section, the report) also writes a stamp under ``results/logs/stamps/``, which DVC does not
version. A workspace without it (a DVC ``--temp`` or queued experiment, a fresh clone) has
no Snakemake bookkeeping either, so it cannot tell whether restored products match the
current parameters; the missing stamp makes Snakemake redo those (cheap) jobs from exactly
the intermediates the current parameters name.

Intermediates (datasets, run files) are named by a hash of what made them, so a restored
or leftover one is never stale, but one can be lost or damaged. Snakemake remakes a
missing file only when something out of date asks for it, so ``Repairs.run`` checks, once
per run, the intermediates each product job reads: a damaged one (truncated, or any byte
changed: the archive's CRCs) is moved to ``results/damaged/`` for inspection, and the
product job's stamp is removed, so the job reruns and asks for its inputs again. No
product is deleted; the warning names every file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from trainability.deps import closure, relative
from trainability.io import npz_intact

DAMAGED = Path("results/damaged")
STAGE_MODULES = {  # what each stage of a study runs: its writer, and the study's modules
    "tables": ("trainability.tables", ("spec", "tables")),
    "figures": ("trainability.plotting", ("spec", "tables", "figures")),
    "section": ("trainability.markdown", ("spec", "tables", "claims", "section")),
}


def code(*modules: str, start: str | Path = ".") -> list[str]:
    """The files the ``modules`` run, relative to ``start`` (the workflow's folder)."""
    return relative(closure(*modules), Path(start).resolve())


def stage_code(study: str, stage: str, start: str | Path = ".") -> list[str]:
    writer, parts = STAGE_MODULES[stage]
    return code("trainability.study", writer,
                *(f"trainability.studies.{study}.{p}" for p in parts), start=start)


def stamp(job: str) -> str:
    return f"results/logs/stamps/{job}.done"


def benchmark(job: str, wildcards: str = "") -> str:
    """Where Snakemake records a job's CPU time and peak memory."""
    return f"results/benchmarks/{job}{'/' + wildcards if wildcards else ''}.tsv"


class Repairs:
    """The intermediates each product job reads, checked once before the DAG is built."""

    def __init__(self):
        self.watched: list[tuple[list[str], str]] = []

    def watch(self, intermediates: Iterable[str], job_stamp: str) -> None:
        self.watched.append((list(intermediates), job_stamp))

    def run(self, warn: Callable[[str], None]) -> list[str]:
        """Move damaged intermediates aside and remove the stamps of the jobs that read a
        lost one; warn about each; return the files warned about."""
        damaged = set()
        for path in sorted({p for paths, _ in self.watched for p in paths}):
            if os.path.exists(path) and path.endswith(".npz") and not npz_intact(path):
                target = DAMAGED / Path(path).as_posix().lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                damaged.add(path)
                warn(f"{path} is damaged: moved to {target}; it will be rebuilt")
        lost = set()
        for paths, job_stamp in self.watched:
            missing = [p for p in paths if not os.path.exists(p)]
            if missing and os.path.exists(job_stamp):
                os.remove(job_stamp)
                for path in missing:
                    if path not in damaged and path not in lost:
                        warn(f"{path} is missing: it will be rebuilt")
                lost.update(missing)
        return sorted(damaged | lost)
