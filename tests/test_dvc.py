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

from pipeline_helpers import GRID_ONLY, ROOT, git_init, make_project, run, snakemake

pytestmark = pytest.mark.pipeline


def metrics(project: Path) -> dict:
    return json.loads((project / "results/metrics.json").read_text())


def products(project: Path) -> dict[str, bytes]:
    """Every table, the metrics, and the report without the line that records when and from
    which commit it was written: what "never stale" must compare."""
    files = [project / "results/metrics.json", *(project / "results/tables").rglob("*.*")]
    out = {str(f.relative_to(project)): f.read_bytes() for f in files}
    report = (project / "results/report.md").read_text()
    kept = [line for line in report.splitlines() if not line.startswith("Written ")]
    out["results/report.md"] = "\n".join(kept).encode()
    return out


def assert_same_products(project: Path, reference: Path) -> None:
    mine, theirs = products(project), products(reference)
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        assert mine[name] == theirs[name], name


def fresh(tmp: Path, params: dict = GRID_ONLY, **train) -> Path:
    """A plain Snakemake run from scratch with the tiny params changed."""
    params = copy.deepcopy(params)
    params["train"].update(train)
    project = make_project(tmp, params)
    snakemake(project)
    return project


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


STUDY = copy.deepcopy(GRID_ONLY)
STUDY["batchnorm"]["enabled"] = True


@pytest.fixture(scope="module")
def study_baseline(tmp_path_factory):
    """The same with the batch-norm study on (its tables have fixed names too)."""
    project = make_project(tmp_path_factory.mktemp("dvc-study") / "project", STUDY)
    git_init(project)
    run(["dvc", "repro"], project)
    commit(project, "baseline results")
    return project


@pytest.fixture
def study_project(study_baseline, tmp_path):
    dest = tmp_path / "project"
    shutil.copytree(study_baseline, dest, symlinks=True)
    return dest


def exp_show(project: Path) -> list[dict]:
    out = run(["dvc", "exp", "show", "--csv", "--no-pager"], project).stdout
    return list(csv.DictReader(io.StringIO(out)))


def test_exp_run_with_a_changed_param_shows_new_metrics(project, tmp_path):
    base = metrics(project)
    run(["dvc", "exp", "run", "-S", "train.lr=0.05", "-n", "lr05"], project)
    changed = metrics(project)
    assert changed != base
    assert_same_products(project, fresh(tmp_path / "fresh", lr=0.05))
    rows = {r["Experiment"]: r for r in exp_show(project)}
    column = next(c for c in rows["lr05"] if c.endswith("headline.grid_mean_test_acc"))
    assert float(rows["lr05"][column]) == pytest.approx(changed["headline"]["grid_mean_test_acc"])
    baseline = next(r for r in rows.values() if r["rev"] == "main")
    assert float(baseline[column]) == pytest.approx(base["headline"]["grid_mean_test_acc"])


def test_temp_experiment_is_never_stale(project, tmp_path):
    base = metrics(project)
    run(["dvc", "exp", "run", "--temp", "-S", "train.lr=0.03", "-n", "temp03"], project)
    assert metrics(project) == base  # the workspace is untouched
    run(["dvc", "exp", "apply", "temp03"], project)
    assert metrics(project) != base
    assert_same_products(project, fresh(tmp_path / "fresh", lr=0.03))


def test_queued_experiments_of_the_grid_and_a_study_are_never_stale(study_project, tmp_path):
    project = study_project
    base = metrics(project)
    run(["dvc", "exp", "run", "--queue", "-S", "train.epochs=2",
         "-S", "batchnorm.after_layers=[2]", "-n", "queued"], project)
    run(["dvc", "queue", "start", "-j", "1"], project)
    deadline = time.time() + 300
    while time.time() < deadline:
        status = run(["dvc", "queue", "status"], project).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert "Success" in status, status
    run(["dvc", "exp", "apply", "queued"], project)
    assert metrics(project) != base
    params = copy.deepcopy(STUDY)
    params["batchnorm"]["after_layers"] = [2]
    assert_same_products(project, fresh(tmp_path / "fresh", params, epochs=2))


def test_temp_experiment_of_a_study_is_never_stale(study_project, tmp_path):
    """A study's tables have fixed names; a temp experiment starts without the stamps that
    say they are current, so they are rebuilt from the current run files, not reused."""
    project = study_project
    base = metrics(project)["claims"]["batchnorm"]
    run(["dvc", "exp", "run", "--temp", "-S", "batchnorm.activations=[tanh]", "-n", "bn"],
        project)
    run(["dvc", "exp", "apply", "bn"], project)
    assert metrics(project)["claims"]["batchnorm"] != base
    params = copy.deepcopy(STUDY)
    params["batchnorm"]["activations"] = ["tanh"]
    assert_same_products(project, fresh(tmp_path / "fresh", params))


def test_checkout_of_an_older_revision_restores_its_report_and_tables(project):
    old_report = (project / "results/report.md").read_text()
    old_runs = (project / "results/tables/grid/runs.csv").read_text()
    run(["dvc", "exp", "run", "-S", "train.lr=0.05"], project)
    commit(project, "lr 0.05")
    assert (project / "results/tables/grid/runs.csv").read_text() != old_runs
    run(["git", "checkout", "-q", "HEAD~1"], project)
    run(["dvc", "checkout", "--force"], project)
    assert (project / "results/report.md").read_text() == old_report
    assert (project / "results/tables/grid/runs.csv").read_text() == old_runs


def test_results_round_trip_through_a_local_remote(project, tmp_path):
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "local", str(remote)], project)
    run(["dvc", "push"], project)
    commit(project, "remote")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    run(["dvc", "pull"], clone)
    for name in ("results/report.md", "results/report.html", "results/tables/grid/runs.csv",
                 "results/metrics.json"):
        assert (clone / name).read_bytes() == (project / name).read_bytes()


def test_plots_render_for_the_workspace_and_against_a_revision(project, tmp_path):
    out = tmp_path / "plots"
    run(["dvc", "plots", "show", "-o", str(out)], project)
    html = (out / "index.html").read_text()
    assert "Final test accuracy per cell" in html and "heatmap_w3.png" in html
    run(["dvc", "exp", "run", "-S", "train.lr=0.05"], project)
    run(["dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "diff")], project)
    html = (tmp_path / "diff" / "index.html").read_text()
    # both revisions, side by side: the workspace and the committed baseline
    assert "workspace" in html and "HEAD" in html
    assert html.count("heatmap_w3.png") >= 2


def readme_first_command() -> list[str]:
    """The README's first command, after the install: its steps that run in the project."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    command = next(line for line in block.splitlines() if line and not line.startswith("#"))
    steps = [s.strip() for s in command.split("&&")]
    setup = ("python3 -m venv", ". .venv/bin/activate", "pip install", "python -m pip")
    return [s for s in steps if not s.startswith(setup)]


def test_after_the_readme_first_command_experiments_compare_with_a_baseline(tmp_path):
    project = make_project(tmp_path / "project", GRID_ONLY)
    git_init(project)
    for step in readme_first_command():
        run(["bash", "-c", step], project)
    assert run(["git", "status", "--porcelain", "--untracked-files=no"], project).stdout == ""
    base = metrics(project)
    run(["dvc", "exp", "run", "-S", "train.lr=0.05", "-n", "lr05"], project)
    out = run(["dvc", "exp", "show", "--only-changed", "--csv", "--no-pager"], project).stdout
    rows = {r["rev"]: r for r in csv.DictReader(io.StringIO(out))}
    column = next(c for c in rows["main"] if c.endswith("headline.grid_mean_test_acc"))
    assert float(rows["main"][column]) == pytest.approx(base["headline"]["grid_mean_test_acc"])
    experiment = next(r for r in rows.values() if r["Experiment"] == "lr05")
    now = metrics(project)["headline"]["grid_mean_test_acc"]
    assert float(experiment[column]) == pytest.approx(now)
    assert experiment[column] != rows["main"][column]
