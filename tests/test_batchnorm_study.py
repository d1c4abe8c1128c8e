"""Study 3, batch normalization: the statistics its figures and claims show, on cases with
known answers; its commands' errors; and its rules end to end on the tiny configuration."""

from __future__ import annotations

import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import (
    TINY,
    make_project,
    planned_jobs,
    read_params,
    snakemake,
    write_params,
)
from trainability import cli
from trainability import legacy_claims as claims
from trainability.studies import batchnorm as bn

# ---------------------------------------------------------------- settings


def test_placement_names_follow_the_params():
    assert bn.placement_names([3], True, 4) == ["none", "after3", "every"]
    assert bn.placement_names([3], False, 4) == ["none", "after3"]
    assert bn.placement_names([2, 1], False, 4) == ["none", "after1-2"]
    assert bn.placement_names([1, 2, 3, 4], False, 4) == ["none", "every"]  # no duplicate


def test_placement_layers_inverts_the_names():
    for name in ("none", "after3", "after1-2", "every"):
        layers = bn.placement_layers(name, 4)
        assert bn.placement_name(" ".join(map(str, layers)) or "none", 4) == name
    assert bn.placement_layers("every", 3) == [1, 2, 3]
    with pytest.raises(ValueError, match="placement 'bogus'"):
        bn.placement_layers("bogus", 4)


def test_placement_labels_and_order():
    assert bn.placement_label("none", 4) == "no batch norm"
    assert bn.placement_label(3, 4) == "BN after layer 3"
    assert bn.placement_label("1 2 3 4", 4) == "BN after every layer"
    assert bn.placement_label("1 2", 4) == "BN after layers 1, 2"
    assert bn.placement_order(["1 2 3 4", "3", "none", "1 2"]) == ["none", "3", "1 2", "1 2 3 4"]


# ---------------------------------------------------------------- statistics


def test_mean_sd_is_the_sample_sd_over_finite_values():
    assert claims.mean_sd([1.0, 2.0, 3.0, np.nan]) == (2.0, 1.0, 3)
    mean, sd, n = claims.mean_sd([5.0])
    assert (mean, n) == (5.0, 1) and math.isnan(sd)
    mean, sd, n = claims.mean_sd([])
    assert n == 0 and math.isnan(mean) and math.isnan(sd)


def test_geometric_mean_of_ratios_spanning_decades():
    assert bn.geometric_mean([1.0, 100.0]) == pytest.approx(10.0)
    assert bn.geometric_mean([1e-3, 1e-1, np.nan, 0.0]) == pytest.approx(1e-2)  # finite > 0
    assert math.isnan(bn.geometric_mean([np.nan]))


def _runs(rows):
    """A runs table from ``(activation, batch_norm, seed, test_acc, status)`` tuples."""
    frame = pd.DataFrame(rows, columns=["activation", "batch_norm", "seed", "test_acc", "status"])
    return frame.assign(train_acc=frame.test_acc, train_loss=1 - frame.test_acc, depth=4)


def _layers(ratios):
    """A layers table with ``grad_norm`` 1 at the classifier (layer 5) and ``ratio`` at
    layer 1, at epoch 0 (and a decoy at epoch 1)."""
    rows = []
    for (act, b, seed), ratio in ratios.items():
        for epoch, r in ((0, ratio), (1, 123.0)):
            rows.append((act, b, seed, epoch, 1, r))
            rows.append((act, b, seed, epoch, 5, 1.0))
    frame = pd.DataFrame(rows, columns=["activation", "batch_norm", "seed", "epoch", "layer",
                                        "grad_norm"])
    return frame.assign(depth=4, act_mean=0.5, act_std=0.2)


RUNS = _runs([
    ("sigmoid", "none", 0, 0.50, "ok"), ("sigmoid", "none", 1, 0.60, "ok"),
    ("sigmoid", "none", 2, 0.70, "ok"),
    ("sigmoid", "3", 0, 0.90, "ok"), ("sigmoid", "3", 1, 1.00, "ok"),
    ("sigmoid", "3", 2, np.nan, "diverged"),
    ("relu", "none", 0, 0.99, "ok"), ("relu", "none", 1, 0.97, "ok"),
    ("relu", "3", 0, 0.90, "ok"), ("relu", "3", 1, 0.98, "ok"),
])
LAYERS = _layers({
    ("sigmoid", "none", 0): 1e-3, ("sigmoid", "none", 1): 1e-1, ("sigmoid", "none", 2): 1e-2,
    ("sigmoid", "3", 0): 1.0, ("sigmoid", "3", 1): 1.0, ("sigmoid", "3", 2): 1.0,
    ("relu", "none", 0): 0.5, ("relu", "none", 1): 0.5,
    ("relu", "3", 0): 0.5, ("relu", "3", 1): 0.5,
})


def test_paired_differences_use_seeds_ok_in_both_settings():
    diffs = bn.paired_differences(RUNS, "sigmoid", "3")
    np.testing.assert_allclose(diffs, [0.40, 0.40])  # seed 2 diverged with batch norm
    np.testing.assert_allclose(bn.paired_differences(RUNS, "relu", "3"), [-0.09, 0.01])


def test_gradient_ratios_divide_layer_one_by_the_classifier_at_initialization():
    ratios = bn.gradient_ratios(LAYERS)
    sig = ratios[(ratios.activation == "sigmoid") & (ratios.batch_norm == "none")]
    np.testing.assert_allclose(sorted(sig.ratio), [1e-3, 1e-2, 1e-1])


def test_summary_has_known_means_gains_and_ratios():
    summary = bn.summarize(RUNS, LAYERS)
    assert list(zip(summary.activation, summary.batch_norm, strict=True)) == [
        ("relu", "none"), ("relu", "3"), ("sigmoid", "none"), ("sigmoid", "3")]
    sig = summary[(summary.activation == "sigmoid")].set_index("batch_norm")
    assert sig.loc["none", "test_acc_mean"] == pytest.approx(0.6)
    assert sig.loc["none", "test_acc_sd"] == pytest.approx(0.1)
    assert sig.loc["3", "test_acc_mean"] == pytest.approx(0.95)
    assert (sig.loc["3", "n_ok"], sig.loc["3", "n_diverged"]) == (2, 1)
    assert sig.loc["3", "gain_mean"] == pytest.approx(0.4)
    assert sig.loc["3", "gain_sd"] == pytest.approx(0.0, abs=1e-12)
    assert (sig.loc["3", "n_pairs"], sig.loc["3", "n_better"]) == (2, 2)
    assert sig.loc["none", "grad_ratio_init"] == pytest.approx(1e-2)  # geometric mean
    assert sig.loc["3", "grad_ratio_init"] == pytest.approx(1.0)
    relu = summary[(summary.activation == "relu")].set_index("batch_norm")
    assert relu.loc["3", "gain_mean"] == pytest.approx(-0.04)
    assert relu.loc["3", "n_better"] == 1
    assert math.isnan(relu.loc["none", "gain_mean"])


def test_claims_apply_their_rules():
    rescue, harmless, gradient = bn.claims(bn.summarize(RUNS, LAYERS), depth=4)
    # sigmoid: 0.95 >= 0.90 and gain 0.40 >= 0.10
    assert rescue.verdict == "supported" and len(rescue.checks) == 1
    # relu loses 0.04 > 0.02
    assert harmless.verdict == "not supported"
    assert harmless.checks[0].value == pytest.approx(-0.04)
    # ratio 1.0 vs 0.01: 100x >= 2x
    assert gradient.verdict == "supported"
    assert gradient.checks[0].value == pytest.approx(100.0)


def test_claims_are_not_tested_without_a_reference():
    only_bn = RUNS[RUNS.batch_norm != "none"]
    rescue, harmless, gradient = bn.claims(bn.summarize(only_bn, LAYERS), depth=4)
    assert {rescue.verdict, harmless.verdict, gradient.verdict} == {"not tested"}


def test_metrics_name_settings_like_the_run_files():
    m = bn.metrics(bn.summarize(RUNS, LAYERS), depth=4)["batchnorm"]
    assert m["sigmoid"]["after3"] == {"test_acc": 0.95, "gain": 0.4}
    assert m["sigmoid"]["none"] == {"test_acc": 0.6}


def test_section_states_the_claims_and_links_every_figure():
    runs = RUNS.assign(init="random_normal", init_scale=1.0, width=5, optimizer="rmsprop",
                       lr=0.001, batch_size=32, epochs=100)
    text = bn.render_section(runs, LAYERS)
    assert text.startswith("## Batch normalization")
    for name in bn.figure_names(["relu", "sigmoid"]):
        assert f"(figures/batchnorm/{name})" in text
    assert "**Claim B1:" in text and "Verdict: **supported**" in text



# ---------------------------------------------------------------- commands


def test_tables_command_names_a_missing_run_file(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    code = cli.main(["batchnorm-tables", str(missing), *[
        arg for k in ("runs", "history", "layers", "summary")
        for arg in (f"--{k}-out", str(tmp_path / f"{k}.csv"))]])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err
    assert not list(tmp_path.glob("*.csv"))


def test_figures_command_rejects_a_table_of_another_study(tmp_path, capsys):
    table = tmp_path / "runs.csv"
    table.write_text("activation,seed\nrelu,0\n")
    code = cli.main(["batchnorm-figures", "--runs", str(table), "--history", str(table),
                     "--layers", str(table), "--out-dir", str(tmp_path / "figs")])
    assert code == 2
    assert "no batch_norm column" in capsys.readouterr().err
    assert not (tmp_path / "figs").exists()


# ---------------------------------------------------------------- the workflow, tiny


@pytest.mark.pipeline
def test_tiny_run_writes_the_study_tables_figures_and_section(finished_project):
    cfg = TINY["batchnorm"]
    results = finished_project / "results"
    runs = pd.read_csv(results / "tables/batchnorm_runs.csv", dtype={"batch_norm": str})
    settings = ["none", "1"]  # without, and after hidden layer 1
    assert sorted(runs.batch_norm.unique()) == sorted(settings)
    assert len(runs) == len(cfg["activations"]) * len(settings) * cfg["seeds"]
    history = pd.read_csv(results / "tables/batchnorm_history.csv.gz")
    assert len(history) == len(runs) * (TINY["train"]["epochs"] + 1)
    layers = pd.read_csv(results / "tables/batchnorm_layers.csv.gz")
    assert len(layers) == len(history) * (TINY["model"]["depth"] + 1)
    summary = pd.read_csv(results / "tables/batchnorm_summary.csv")
    assert len(summary) == len(cfg["activations"]) * len(settings)
    manifest = (results / "logs/batchnorm/tables-inputs.txt").read_text().split()
    assert len(manifest) == len(cfg["activations"]) * len(settings)
    section = (results / "sections/batchnorm.md").read_text()
    report = (results / "report.md").read_text()
    assert section.splitlines()[0] in report
    for png in bn.figure_names(cfg["activations"]):
        assert (results / "figures/batchnorm" / png).stat().st_size > 0
        assert f"(figures/batchnorm/{png})" in report


def _dry_run_rules(project, *targets) -> set[str]:
    """The rules of the "Job stats" table of a dry run."""
    out = snakemake(project, "-n", *targets).stdout
    table = out.split("Job stats:")[1].split("Reasons:")[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+$", table, re.M)} - {"total"}


@pytest.mark.pipeline
def test_the_study_runs_alone_and_switches_off(tmp_path):
    project = make_project(tmp_path / "project")
    assert _dry_run_rules(project, "batchnorm") == {
        "dataset", "batchnorm_train", "batchnorm_tables", "batchnorm_figures",
        "batchnorm_section", "batchnorm"}
    params = read_params(project)
    params["batchnorm"]["enabled"] = False
    write_params(project, params)
    rules = _dry_run_rules(project)
    assert not {r for r in rules if r.startswith("batchnorm")}
    assert {"train", "report", "tweaks_train"} <= rules


@pytest.mark.pipeline
def test_a_deleted_figure_is_rebuilt_by_the_default_target(project_copy):
    (project_copy / "results/figures/batchnorm/final.png").unlink()
    jobs = planned_jobs(project_copy)
    assert {"batchnorm_figures", "batchnorm_section", "report"} <= set(jobs)
    assert "batchnorm_train" not in jobs and "batchnorm_tables" not in jobs


@pytest.mark.pipeline
def test_tables_are_rebuilt_in_a_workspace_without_snakemake_metadata(project_copy):
    """A DVC temp or queued experiment restores the versioned tables but not .snakemake/ or
    results/logs/: dropping an activation whose run files exist must still rebuild them."""
    params = read_params(project_copy)
    params["batchnorm"]["activations"] = ["sigmoid"]
    write_params(project_copy, params)
    shutil.rmtree(project_copy / ".snakemake")
    shutil.rmtree(project_copy / "results/logs")
    rules = _dry_run_rules(project_copy)  # the default target
    assert {"batchnorm_tables", "batchnorm_figures", "batchnorm_section", "report"} <= rules
    assert "batchnorm_train" not in rules
    snakemake(project_copy, "results/logs/batchnorm/tables-inputs.txt")  # the manifest
    runs = pd.read_csv(project_copy / "results/tables/batchnorm_runs.csv")
    assert set(runs.activation) == {"sigmoid"}
