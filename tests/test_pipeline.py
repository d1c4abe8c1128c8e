"""The Snakemake workflow end to end on a tiny configuration: outputs, incremental rebuilds,
validation before any job runs, and lint."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline_helpers import (
    TINY,
    Page,
    make_project,
    planned_jobs,
    read_params,
    snakemake,
    write_params,
)

pytestmark = pytest.mark.pipeline


def test_full_run_writes_tables_figures_report_and_metrics(finished_project):
    runs = pd.read_csv(finished_project / "results/tables/grid/runs.csv")
    grid = TINY["grid"]
    cells = len(grid["activations"]) * len(grid["inits"]) * len(grid["widths"])
    assert len(runs) == cells * TINY["train"]["seeds"]
    required = {
        "study", "dataset", "activation", "init", "width", "depth", "seed", "optimizer",
        "lr", "epochs", "batch_size", "train_loss", "train_acc", "test_loss", "test_acc",
        "status",
    }
    assert required <= set(runs.columns)
    history = pd.read_csv(finished_project / "results/tables/grid/history.csv.gz")
    assert len(history) == len(runs) * (TINY["train"]["epochs"] + 1)
    grid_json = json.loads((finished_project / "results/sections/grid.json").read_text())
    assert grid_json["metrics"]["models"] == len(runs)
    metrics = json.loads((finished_project / "results/metrics.json").read_text())
    studies = {name for name, section in TINY.items() if section.get("enabled")}
    assert set(metrics) == {"claims", "headline"}  # for `dvc exp show`
    assert set(metrics["claims"]) == {"grid", *studies}  # claims by study and stable name
    assert metrics["claims"]["grid"].keys() == {c["key"] for c in grid_json["claims"]}
    report = (finished_project / "results/report.md").read_text()
    appendices = "".join(p.read_text() for p in
                         (finished_project / "results/appendix").glob("*.md"))
    for section in (finished_project / "results/sections").glob("*.md"):
        title = section.read_text().splitlines()[0]
        assert title in report and f"](appendix/{section.stem}.md)" in report
    for figure in (finished_project / "results/figures").rglob("*.*"):
        name = f"figures/{figure.relative_to(finished_project / 'results/figures')}"
        assert f"]({name})" in report or f"](../{name})" in appendices  # main or appendix
    assert (finished_project / "results/figures/grid/heatmap_w3.png").stat().st_size > 0
    page = Page((finished_project / "results/report.html").read_text())
    figures = list((finished_project / "results/figures").rglob("*.*"))
    assert len(page.images) >= len(figures)  # each shown at least once, embedded
    assert all(src.startswith("data:image/") for src in page.images)
    assert set(page.links) <= set(page.ids)
    benchmarks = list((finished_project / "results/benchmarks").rglob("*.tsv"))
    assert {b.parts[-2] if b.parent.name != "benchmarks" else b.stem for b in benchmarks} >= {
        "grid_train", "grid_tables", "grid_figures", "grid_section", "report", "report_html",
        "dataset"}


def test_second_run_has_nothing_to_do(finished_project):
    assert planned_jobs(finished_project) == {}


def test_adding_a_width_trains_only_the_new_cells(project_copy):
    params = read_params(project_copy)
    params["grid"]["widths"] = [3, 4]
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert jobs.get("grid_train") == len(TINY["grid"]["activations"])  # one per activation
    assert "dataset" not in jobs


def test_changing_lr_retrains_cells_but_keeps_the_dataset(project_copy):
    params = read_params(project_copy)
    params["train"]["lr"] = 0.02
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert jobs.get("grid_train") == len(TINY["grid"]["activations"])
    assert "dataset" not in jobs
    assert {"grid_tables", "grid_figures", "grid_section", "report"} <= set(jobs)


def test_editing_report_code_rebuilds_only_the_report_and_its_page(project_copy):
    with open(project_copy / "src/trainability/report.py", "a") as f:
        f.write("\n# an edit\n")
    assert planned_jobs(project_copy) == {"report": 1, "report_html": 1}


def test_invalid_params_fail_before_any_job_with_the_key_named(tmp_path):
    params = json.loads(json.dumps(TINY))
    params["grid"]["activaton"] = params["grid"].pop("activations")
    project = make_project(tmp_path / "project", params)
    result = snakemake(project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "grid.activaton: unknown key" in output
    allowed = "activations, animate, diagnostic_epochs, float32_from, inits, widths"
    assert f"allowed keys: {allowed}" in output
    assert not (project / "results" / "data").exists()
    assert not (project / "results" / "runs").exists()


def test_workflow_passes_lint(finished_project):
    result = snakemake(finished_project, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_snakemake_html_report_has_the_figures_and_captions(project_copy):
    # the figure gallery: under its own name, since results/report.html is the report's page
    snakemake(project_copy, "--report", "results/gallery.html")
    html = (project_copy / "results/gallery.html").read_text(errors="replace")
    assert "heatmap_w3.png" in html
    caption = (project_copy / "src/trainability/studies/grid/captions/heatmap.rst").read_text()
    assert " ".join(caption.split()[:8]) in html  # the caption the markdown report shows too


# Each job's code is the import closure of what it runs: editing a module a job imports
# makes that job out of date; editing one it does not import leaves it alone.
# (the report's HTML page reads the report and the figures: it follows every job)
GRID_JOBS = ("grid_train", "grid_tables", "grid_figures", "grid_section", "report",
             "report_html")
PAGE = {"report", "report_html"}
EDITS = {
    "train.py": {"grid_train", "grid_tables", "grid_figures", "grid_section", *PAGE},
    "optim.py": {"grid_train", "grid_tables", "grid_figures", "grid_section", *PAGE},
    "studies/grid/figures.py": {"grid_figures", "grid_section", *PAGE},
    "studies/grid/claims.py": {"grid_section", *PAGE},
    "studies/grid/section.md.j2": {"grid_section", *PAGE},
    "plotting.py": {"grid_figures", "grid_section", *PAGE},
    "markdown.py": {"grid_section", *PAGE},
    "report.py": PAGE,
    "html.py": {"report_html"},
    "cli.py": set(),  # argument parsing: no job's code
    "usage.py": set(),  # imported by no job of the grid
}


@pytest.mark.parametrize("module", EDITS)
def test_editing_a_module_reruns_exactly_the_jobs_that_import_it(project_copy, module):
    params = read_params(project_copy)
    for section in params.values():  # the grid alone: the other studies have their own tests
        if "enabled" in section:
            section["enabled"] = False
    write_params(project_copy, params)
    snakemake(project_copy)  # the report without the studies
    with open(project_copy / "src/trainability" / module, "a") as f:
        f.write("\n{# an edit #}\n" if module.endswith(".j2") else "\n# an edit\n")
    jobs = planned_jobs(project_copy)
    assert {j for j in GRID_JOBS if j in jobs} == EDITS[module]


def test_every_study_rebuilds_its_deleted_tables_and_figures(project_copy):
    """What a DVC experiment on an unrecorded baseline does: the versioned outputs go,
    the sections and stamps stay. Every study's products must come back, not stay lost
    under an up-to-date report."""
    import shutil

    before = {p.relative_to(project_copy): p.read_bytes()
              for p in (project_copy / "results/tables").rglob("*.*")}
    figures = {p.relative_to(project_copy)
               for p in (project_copy / "results/figures").rglob("*.*")}
    shutil.rmtree(project_copy / "results/tables")
    shutil.rmtree(project_copy / "results/figures")
    snakemake(project_copy)
    after = {p.relative_to(project_copy): p.read_bytes()
             for p in (project_copy / "results/tables").rglob("*.*")}
    assert after == before
    assert {p.relative_to(project_copy)
            for p in (project_copy / "results/figures").rglob("*.*")} == figures
