"""Interruptions lose nothing, damaged outputs are rebuilt, results do not depend on --cores,
and diverging models are recorded, not dropped."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline_helpers import env, make_project, snakemake
from trainability.cli import main

pytestmark = pytest.mark.pipeline

def products(project: Path) -> dict[str, bytes]:
    """Every table of every study, the plot data and the metrics (not the figures, whose
    bytes depend on the fonts, nor the report, which states the run's wall time)."""
    files = [project / "results/metrics.json"]
    files += (project / "results").glob("tables/**/*.*")
    files += (project / "results").glob("plots/**/*.*")
    return {str(f.relative_to(project)): f.read_bytes() for f in files}


def assert_same_products(project: Path, reference: Path) -> None:
    mine, theirs = products(project), products(reference)
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        assert mine[name] == theirs[name], name


def start(project: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["snakemake", "--cores", "2"], cwd=project, env=env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def interrupt(project: Path, sig: int, after: float) -> None:
    """Start a run and send ``sig`` to its whole process group ``after`` seconds later."""
    process = start(project)
    time.sleep(after)
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=120)


@pytest.mark.parametrize("cores", ["1", "8"])
def test_results_do_not_depend_on_the_number_of_cores(finished_project, tmp_path, cores):
    project = make_project(tmp_path / "project")  # every study
    snakemake(project, "--cores", cores)  # the later --cores wins
    assert_same_products(project, finished_project)  # that one ran with --cores 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_run_resumes_to_identical_results(finished_project, tmp_path, sig):
    project = make_project(tmp_path / "project")  # every study
    rng = random.Random(sig)
    for _ in range(2):  # two interruptions at random points of the run
        interrupt(project, sig, after=rng.uniform(2.0, 8.0))
        if sig == signal.SIGKILL:
            rerun = snakemake(project, check=False)
            if rerun.returncode != 0:  # a kill leaves Snakemake's lock behind
                assert "--unlock" in rerun.stdout + rerun.stderr
                snakemake(project, "--unlock")
    snakemake(project)
    assert_same_products(project, finished_project)
    assert not list((project / "results").rglob(".*.tmp"))  # rewritten outputs clean up


def test_a_deleted_or_truncated_run_file_is_rebuilt(project_copy):
    runs = sorted((project_copy / "results/runs").rglob("*.npz"))
    truncated, deleted = runs[0], runs[1]
    original = truncated.read_bytes()
    truncated.write_bytes(original[: len(original) // 2])
    deleted.unlink()
    result = snakemake(project_copy)
    assert "rebuilding missing or corrupt" in result.stdout + result.stderr
    assert truncated.read_bytes() == original
    assert deleted.exists()


def test_a_deleted_dataset_and_figure_are_rebuilt(project_copy):
    dataset = next((project_copy / "results/data").glob("*.npz"))
    figure = project_copy / "results/figures/heatmap_w3.png"
    data, png = dataset.read_bytes(), figure.read_bytes()
    dataset.unlink()
    figure.unlink()
    snakemake(project_copy)
    assert dataset.read_bytes() == data
    assert figure.read_bytes() == png


def test_diverging_models_are_recorded_and_shown(tmp_path, capsys):
    """sgd with lr 1e4 on a linear net overflows to inf/nan: a result, not a crash."""
    data, runs = tmp_path / "data.npz", []
    assert main(["dataset", "--n-samples", "120", "--out", str(data)]) == 0
    for activation, lr in (("linear", "1e4"), ("relu", "0.01")):
        run = tmp_path / f"{activation}.npz"
        args = ["train", "--data", str(data), "--out", str(run), "--activation", activation,
                "--init", "he_normal", "--width", "3", "--depth", "2", "--epochs", "5",
                "--seeds", "0", "1", "--optimizer", "sgd", "--lr", lr]
        assert main(args) == 0
        runs.append(str(run))
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    assert main(["aggregate", *runs, "--tables", str(tables), "--metrics",
                 str(tmp_path / "metrics.json"), "--plots", str(tmp_path / "plots"),
                 "--width", "3"]) == 0
    table = pd.read_csv(tables / "runs.csv")
    diverged = table[table.activation == "linear"]
    assert (diverged.status == "diverged").all()
    assert diverged.diverged_epoch.notna().all()
    assert (table[table.activation == "relu"].status == "ok").all()
    assert main(["figures", "--data", str(data), "--tables", str(tables), "--width", "3",
                 "--out-dir", str(figures), *runs]) == 0
    assert main(["report", "--tables", str(tables), "--metrics", str(tmp_path / "metrics.json"),
                 "--figures-dir", str(figures), "--params-json", "{}", "--width", "3",
                 "--out", str(tmp_path / "report.md")]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "diverged" in report
    assert "linear" in report


def test_a_table_with_a_missing_column_gets_a_one_line_error(tmp_path, capsys):
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame({"activation": ["relu"], "init": ["zeros"], "width": [3]}).to_csv(
        tables / "runs.csv", index=False
    )
    (tmp_path / "m.json").write_text("{}")
    code = main(["report", "--tables", str(tables), "--metrics", str(tmp_path / "m.json"),
                 "--figures-dir", str(tmp_path), "--params-json", "{}", "--width", "3",
                 "--out", str(tmp_path / "report.md")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "runs.csv: missing columns seed, train_loss" in err[0]
    assert not (tmp_path / "report.md").exists()
