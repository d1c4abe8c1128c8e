"""Interruptions lose nothing, damaged intermediates are rebuilt, results do not depend on
--cores, and a bad table is a one-line error."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline_helpers import env, make_project, planned_jobs, snakemake
from trainability.cli import main

pytestmark = pytest.mark.pipeline


def products(project: Path) -> dict[str, bytes]:
    """Every table of every study and the metrics (not the figures, whose bytes depend on
    the fonts, nor the report, which states the run's wall time)."""
    files = [project / "results/metrics.json"]
    files += (project / "results").glob("tables/**/*.*")
    return {str(f.relative_to(project)): f.read_bytes() for f in files}


def assert_same_products(project: Path, reference: Path) -> None:
    mine, theirs = products(project), products(reference)
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        assert mine[name] == theirs[name], name


def run_files(project: Path) -> set[Path]:
    return set((project / "results/runs").rglob("*.npz"))


def interrupt_after_a_new_run_file(project: Path, sig: int) -> None:
    """Start a run, wait until it has written a run file it did not have, and send ``sig``
    to its whole process group while it is still running."""
    before = run_files(project)
    process = subprocess.Popen(
        ["snakemake", "--cores", "2"], cwd=project, env=env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not run_files(project) - before:
        assert process.poll() is None, "the run ended before it wrote a run file"
        assert time.time() < deadline, "no run file after 120 s"
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before the signal"
    os.killpg(process.pid, sig)
    # a graceful stop lets running jobs finish; the tiny pipeline now has the robustness
    # study's jobs too, and one ci-local run hit a 120 s bound here
    returncode = process.wait(timeout=300)
    assert returncode != 0  # ended by the signal, not finished
    if sig == signal.SIGKILL:
        assert returncode == -signal.SIGKILL
        snakemake(project, "--unlock")  # a kill leaves Snakemake's lock behind


@pytest.mark.parametrize("cores", ["1", "8"])
def test_results_do_not_depend_on_the_number_of_cores(finished_project, tmp_path, cores):
    project = make_project(tmp_path / "project")  # every study
    snakemake(project, "--cores", cores)  # the later --cores wins
    assert_same_products(project, finished_project)  # that one ran with --cores 2


# SIGTERM (a closed terminal, `kill`, a cancelled cluster job) and SIGKILL (a dead machine).
# Not SIGINT: Snakemake 9.27 drops a KeyboardInterrupt that lands while it writes a log line
# (snakemake/logging.py), and a run signalled as a job finished twice ran on to the end in CI.
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_an_interrupted_run_resumes_to_identical_results(finished_project, tmp_path, sig):
    project = make_project(tmp_path / "project")  # every study
    for _ in range(2):  # two interruptions, each while training, each leaving work to do
        interrupt_after_a_new_run_file(project, sig)
        assert planned_jobs(project), "nothing was left to do after the interruption"
    snakemake(project)
    assert_same_products(project, finished_project)
    assert not list((project / "results").rglob(".*.tmp"))  # rewritten outputs clean up


def flip_a_byte_in_the_middle(path: Path) -> bytes:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data)


def test_damaged_and_deleted_run_files_are_rebuilt_with_warnings_naming_them(project_copy):
    runs = sorted((project_copy / "results/runs").rglob("*.npz"))  # every study's
    flipped, truncated, deleted = runs[0], runs[1], runs[-1]
    originals = {p: p.read_bytes() for p in (flipped, truncated, deleted)}
    damaged_bytes = flip_a_byte_in_the_middle(flipped)
    truncated.write_bytes(originals[truncated][: len(originals[truncated]) // 2])
    deleted.unlink()
    result = snakemake(project_copy)
    output = result.stdout + result.stderr
    for path in (flipped, truncated):
        rel = path.relative_to(project_copy)
        assert f"{rel} is damaged" in output
        assert (project_copy / "results/damaged" / rel).read_bytes() != originals[path]
    assert f"{deleted.relative_to(project_copy)} is missing" in output
    for path, data in originals.items():
        assert path.read_bytes() == data, path  # rebuilt, bit for bit
    kept = project_copy / "results/damaged" / flipped.relative_to(project_copy)
    assert kept.read_bytes() == damaged_bytes  # the damaged file is kept for inspection
    assert planned_jobs(project_copy) == {}


def test_a_damaged_dataset_and_a_deleted_figure_are_rebuilt(project_copy):
    dataset = next((project_copy / "results/data").glob("*.npz"))
    figure = project_copy / "results/figures/grid/heatmap_w3.png"
    data, png = dataset.read_bytes(), figure.read_bytes()
    flip_a_byte_in_the_middle(dataset)
    figure.unlink()
    result = snakemake(project_copy)
    assert f"{dataset.relative_to(project_copy)} is damaged" in result.stdout + result.stderr
    assert dataset.read_bytes() == data
    assert figure.read_bytes() == png


def test_a_table_with_a_missing_column_gets_a_one_line_error(finished_project, tmp_path,
                                                             capsys, monkeypatch):
    from pipeline_helpers import TINY
    from trainability.studies.grid.spec import Spec
    from trainability.study import spec_json

    monkeypatch.chdir(tmp_path)
    tables = tmp_path / "results/tables/grid"
    tables.mkdir(parents=True)
    for name in ("history.csv.gz", "cells.csv", "layers.csv.gz"):
        (tables / name).write_bytes((finished_project / "results/tables/grid" / name)
                                    .read_bytes())
    pd.DataFrame({"activation": ["relu"], "init": ["zeros"], "width": [3]}).to_csv(
        tables / "runs.csv", index=False)
    dataset = str(next((finished_project / "results/data").glob("*.npz")))
    spec = spec_json(Spec.from_params(TINY, dataset=dataset, train_code="any"))
    assert main(["grid", "section", "--spec", spec]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "results/tables/grid/runs.csv: missing columns" in err[0] and "seed" in err[0]
    assert not (tmp_path / "results/sections/grid.md").exists()
