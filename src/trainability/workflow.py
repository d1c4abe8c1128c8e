"""What the Snakemake rules ask while the workflow is parsed: code dependencies, stamps, and
the one mechanism that rebuilds lost or damaged intermediates.

Stamps: every job that turns intermediates into products (a study's tables, figures and
section, the report) writes, when it succeeds, a stamp under ``results/logs/stamps/``
listing the files it read. DVC does not version that folder. A workspace without the stamp
(a DVC ``--temp`` or queued experiment, a fresh clone) has no Snakemake bookkeeping either,
so it cannot tell whether restored products match the current parameters; the missing
stamp makes Snakemake redo those (cheap) jobs from exactly the intermediates the current
parameters name.

Intermediates (datasets, run files) are named by a hash of what made them, so a restored
or leftover one is never stale, but one can be lost or damaged, and Snakemake remakes a
missing file only when something out of date asks for it. ``repair`` checks, once per run,
the archives every stamp lists: a damaged one (truncated, or any byte changed: the
archive's CRCs) is moved to ``results/damaged/`` for inspection, and the stamps of the jobs
that read a lost or damaged file are removed, so those jobs rerun and ask for their inputs
again, which are then rebuilt. No product is deleted; a warning names every file. A dry
run only says what a real run will repair.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
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


# A product job's shell command ends with `&& printf '%s\n' {input:q} > {output.stamp:q}`:
# its stamp, listing the files it read.
STAMPS = Path("results/logs/stamps")


def stamp(job: str) -> str:
    return str(STAMPS / f"{job}.done")


def repair(warn: Callable[[str], None], dry_run: bool = False) -> list[str]:
    """Check the archives the stamps list; move damaged ones aside and remove the stamps
    of the jobs that read a lost or damaged one (see the module docstring). Returns the
    files warned about."""
    listed = {path: Path(path).read_text().split() for path in map(str, STAMPS.glob("*.done"))}
    archives = sorted({f for files in listed.values() for f in files if f.endswith(".npz")})
    lost = [f for f in archives if not os.path.exists(f)]
    damaged = [f for f in archives if f not in lost and not npz_intact(f)]
    for path in damaged:
        target = DAMAGED / Path(path).as_posix().lstrip("/")
        if dry_run:
            warn(f"{path} is damaged: a real run moves it to {target} and rebuilds it")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        warn(f"{path} is damaged: moved to {target}; it will be rebuilt")
    for path in lost:
        warn(f"{path} is missing: {'a real run rebuilds it' if dry_run else 'it will be rebuilt'}")
    broken = set(lost) | set(damaged)
    for job_stamp, files in listed.items():
        if not dry_run and broken & set(files):
            os.remove(job_stamp)
    return lost + damaged
