"""DVC on top of Snakemake: experiments never report stale metrics, results are versioned,
and a remote round-trips them."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest

from pipeline_helpers import GRID_ONLY, git_init, make_project, run, snakemake

pytestmark = pytest.mark.pipeline


def metrics(project: Path) -> dict:
    return json.loads((project / "results/metrics.json").read_text())


def fresh_metrics(tmp: Path, **train) -> dict:
    """Metrics of a plain Snakemake run from scratch with the tiny params changed."""
    params = copy.deepcopy(GRID_ONLY)
    params["train"].update(train)
    project = make_project(tmp, params)
    snakemake(project)
    return metrics(project)


def commit(project: Path, message: str) -> str:
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", message], project)
    return run(["git", "rev-parse", "HEAD"], project).stdout.strip()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A git + DVC project whose committed dvc.lock holds the tiny baseline results."""
    project = make_project(tmp_path_factory.mktemp("dvc") / "project", GRID_ONLY)
    git_init(project)
    run(["dvc", "repro"], project)
    commit(project, "baseline results")
    return project


@pytest.fixture
def project(baseline, tmp_path):
    dest = tmp_path / "project"
    shutil.copytree(baseline, dest, symlinks=True)
    return dest


def exp_show(project: Path) -> list[dict]:
    out = run(["dvc", "exp", "show", "--csv", "--no-pager"], project).stdout
    return list(csv.DictReader(io.StringIO(out)))


def test_exp_run_with_a_changed_param_shows_new_metrics(project, tmp_path):
    base = metrics(project)
    run(["dvc", "exp", "run", "-S", "train.lr=0.05", "-n", "lr05"], project)
    changed = metrics(project)
    assert changed != base
    assert changed == fresh_metrics(tmp_path / "fresh", lr=0.05)
    rows = {r["Experiment"]: r for r in exp_show(project)}
    column = next(c for c in rows["lr05"] if c.endswith("grid.mean_test_acc"))
    assert float(rows["lr05"][column]) == pytest.approx(changed["grid"]["mean_test_acc"])


def test_temp_experiment_is_never_stale(project, tmp_path):
    base = metrics(project)
    run(["dvc", "exp", "run", "--temp", "-S", "train.lr=0.03", "-n", "temp03"], project)
    assert metrics(project) == base  # the workspace is untouched
    run(["dvc", "exp", "apply", "temp03"], project)
    applied = metrics(project)
    assert applied != base
    assert applied == fresh_metrics(tmp_path / "fresh", lr=0.03)


def test_queued_experiment_is_never_stale(project, tmp_path):
    base = metrics(project)
    run(["dvc", "exp", "run", "--queue", "-S", "train.epochs=2", "-n", "queued"], project)
    run(["dvc", "queue", "start", "-j", "1"], project)
    deadline = time.time() + 300
    while time.time() < deadline:
        status = run(["dvc", "queue", "status"], project).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert "Success" in status, status
    run(["dvc", "exp", "apply", "queued"], project)
    applied = metrics(project)
    assert applied != base
    assert applied == fresh_metrics(tmp_path / "fresh", epochs=2)


def test_temp_experiment_of_a_study_is_never_stale(tmp_path):
    """A study's tables have fixed names; a temp experiment starts without the manifest
    that says which run files they were built from, so they are rebuilt, not reused."""
    params = copy.deepcopy(GRID_ONLY)
    params["batchnorm"]["enabled"] = True
    project = make_project(tmp_path / "project", params)
    git_init(project)
    run(["dvc", "repro"], project)
    commit(project, "baseline results")
    base = metrics(project)["batchnorm"]
    run(["dvc", "exp", "run", "--temp", "-S", "batchnorm.activations=[tanh]", "-n", "bn"],
        project)
    run(["dvc", "exp", "apply", "bn"], project)
    applied = metrics(project)
    params["batchnorm"]["activations"] = ["tanh"]
    fresh = make_project(tmp_path / "fresh", params)
    snakemake(fresh)
    assert applied["batchnorm"] != base
    assert applied == metrics(fresh)


def test_checkout_of_an_older_revision_restores_its_report_and_tables(project):
    old_report = (project / "results/report.md").read_text()
    old_runs = (project / "results/tables/runs.csv").read_text()
    run(["dvc", "exp", "run", "-S", "train.lr=0.05"], project)
    commit(project, "lr 0.05")
    assert (project / "results/tables/runs.csv").read_text() != old_runs
    run(["git", "checkout", "-q", "HEAD~1"], project)
    run(["dvc", "checkout", "--force"], project)
    assert (project / "results/report.md").read_text() == old_report
    assert (project / "results/tables/runs.csv").read_text() == old_runs


def test_results_round_trip_through_a_local_remote(project, tmp_path):
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "local", str(remote)], project)
    run(["dvc", "push"], project)
    commit(project, "remote")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    run(["dvc", "pull"], clone)
    for name in ("results/report.md", "results/tables/runs.csv", "results/metrics.json"):
        assert (clone / name).read_bytes() == (project / name).read_bytes()


def test_plots_render_for_the_workspace_and_against_a_revision(project, tmp_path):
    out = tmp_path / "plots"
    run(["dvc", "plots", "show", "-o", str(out)], project)
    html = (out / "index.html").read_text()
    assert "test_acc_by_cell.csv" in html or "Final test accuracy per cell" in html
    run(["dvc", "exp", "run", "-S", "train.lr=0.05"], project)
    diff = run(["dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "diff")], project)
    assert diff.returncode == 0
    assert (tmp_path / "diff" / "index.html").exists()
