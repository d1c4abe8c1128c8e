"""What the jobs used, from the files Snakemake's ``benchmark:`` directive writes.

Every rule that runs a job records its CPU seconds, wall seconds and peak memory in
``results/benchmarks/<rule>[/<wildcards>].tsv``; ``summarize`` adds them up by rule and by
study (the rule's prefix: ``grid_train`` -> grid; the dataset, params and report jobs are
"shared"). A job rerun overwrites its file; files of jobs from other parameters stay, so
sum a folder right after a clean run for the cost of one whole pipeline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainability.io import InputError
from trainability.markdown import frame_table
from trainability.study import STUDIES

COLUMNS = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb"}


def read(benchmarks_dir) -> pd.DataFrame:
    """One row per job: its rule, study, wall and CPU seconds and peak memory (MB)."""
    rows = []
    root = Path(benchmarks_dir)
    for path in sorted(root.rglob("*.tsv")):
        rel = path.relative_to(root)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        try:
            record = pd.read_csv(path, sep="\t").iloc[-1]
        except (pd.errors.ParserError, pd.errors.EmptyDataError, IndexError) as e:
            raise InputError(f"{path}: not a Snakemake benchmark file ({e})") from None
        rows.append({"rule": rule, "study": study_of(rule),
                     **{new: float(record[old]) for old, new in COLUMNS.items()}})
    if not rows:
        raise InputError(f"{root}: no benchmark files (run the pipeline first)")
    return pd.DataFrame(rows)


def study_of(rule: str) -> str:
    prefix = rule.split("_")[0]
    return prefix if prefix in STUDIES else "shared"


def summarize(jobs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Jobs, CPU and wall seconds (sums), the largest peak memory, and the share of CPU."""
    g = jobs.groupby(by, sort=False)
    out = pd.DataFrame({"jobs": g.size(), "cpu_s": g.cpu_s.sum(), "wall_s": g.wall_s.sum(),
                        "max_rss_mb": g.max_rss_mb.max()})
    out["cpu_share"] = out.cpu_s / out.cpu_s.sum()
    return out.sort_values("cpu_s", ascending=False).reset_index()


def markdown(jobs: pd.DataFrame) -> str:
    def fmt(frame, key):
        shown = frame.assign(
            cpu_s=frame.cpu_s.map("{:.1f}".format), wall_s=frame.wall_s.map("{:.1f}".format),
            max_rss_mb=frame.max_rss_mb.map("{:.0f}".format),
            cpu_share=frame.cpu_share.map("{:.0%}".format))
        return frame_table(shown, {key: key, "jobs": "jobs", "cpu_s": "CPU s",
                                   "wall_s": "wall s", "max_rss_mb": "peak memory (MB)",
                                   "cpu_share": "share of CPU"})

    total = jobs.cpu_s.sum()
    return "\n\n".join([
        f"{len(jobs)} jobs, {total:.0f} CPU seconds in all.",
        fmt(summarize(jobs, "study"), "study"),
        fmt(summarize(jobs, "rule"), "rule"),
    ])
