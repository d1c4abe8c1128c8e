"""Study 4, improving trainability: the statistics its figures and claims show, on cases with
known answers; its commands' errors; and its rules end to end on the tiny configuration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import TINY
from trainability import cli
from trainability.studies import tweaks as tw

# ---------------------------------------------------------------- names


@pytest.mark.parametrize("lr, text", [(0.0001, "0.0001"), (1, "1.0"), (1e-5, "1e-05"),
                                      (0.1, "0.1")])
def test_learning_rates_in_file_names_round_trip(lr, text):
    assert tw.lr_text(lr) == text
    assert float(tw.lr_text(lr)) == lr


def test_configurations_are_labelled_and_ordered():
    assert tw.config_label("adam", "base", 0.1) == "adam, lr 0.1"
    assert tw.config_label("rmsprop", "warmup", 1.0) == "rmsprop + warmup, lr 1"
    assert tw.optimizer_order(["adam", "sgd", "zzz", "rmsprop"]) == ["sgd", "rmsprop", "adam",
                                                                     "zzz"]
    assert tw.variant_order(["l2", "base", "cosine"]) == ["base", "cosine", "l2"]


# ---------------------------------------------------------------- statistics


def _runs(rows):
    """A runs table from ``(activation, optimizer, variant, lr, seed, test_acc)``; NaN
    accuracy = diverged."""
    frame = pd.DataFrame(rows, columns=["activation", "optimizer", "variant", "lr", "seed",
                                        "test_acc"])
    return frame.assign(
        status=np.where(frame.test_acc.isna(), "diverged", "ok"),
        train_loss=1 - frame.test_acc, schedule="constant", warmup_epochs=0, l2=0.0)


def _cells(cells, seeds=(0, 1)):
    """Runs whose seeds all have the cell's accuracy: ``{(act, opt, variant, lr): acc}``."""
    return _runs([(*key, s, acc) for key, acc in cells.items() for s in seeds])


def test_summary_means_exclude_diverged_seeds_and_count_them():
    runs = _runs([
        ("sigmoid", "adam", "base", 0.1, 0, 0.90), ("sigmoid", "adam", "base", 0.1, 1, 1.00),
        ("sigmoid", "adam", "base", 0.1, 2, np.nan),
        ("sigmoid", "sgd", "base", 0.1, 0, 0.50), ("sigmoid", "sgd", "base", 0.1, 1, 0.70),
    ])
    s = tw.summarize(runs).set_index("optimizer")
    assert s.loc["adam", "test_acc_mean"] == pytest.approx(0.95)
    assert s.loc["adam", "test_acc_sd"] == pytest.approx(math.sqrt(0.005))
    assert (s.loc["adam", "n"], s.loc["adam", "n_ok"], s.loc["adam", "n_diverged"]) == (3, 2, 1)
    assert s.loc["adam", "learned_share"] == pytest.approx(1 / 3)  # 1.00 of 3 seeds
    assert s.loc["sgd", "test_acc_mean"] == pytest.approx(0.6)
    assert s.loc["sgd", "learned_share"] == 0.0


def test_best_lr_takes_the_highest_mean_and_the_smaller_rate_on_ties():
    s = tw.summarize(_cells({
        ("sigmoid", "adam", "base", 0.001): 0.6, ("sigmoid", "adam", "base", 0.01): 0.9,
        ("sigmoid", "adam", "base", 0.1): 0.9, ("sigmoid", "adam", "base", 1.0): np.nan,
    }))
    best = tw.best_lr(s, "sigmoid", "adam")
    assert (best.lr, best.test_acc_mean) == (0.01, 0.9)
    assert tw.best_lr(s, "sigmoid", "sgd") is None


def test_worst_activation_ranks_configurations_by_their_weakest_activation():
    s = tw.summarize(_cells({
        ("relu", "adam", "base", 0.01): 0.99, ("sigmoid", "adam", "base", 0.01): 0.80,
        ("relu", "adam", "base", 0.1): 0.90, ("sigmoid", "adam", "base", 0.1): 0.97,
        ("relu", "sgd", "base", 1.0): np.nan, ("sigmoid", "sgd", "base", 1.0): 0.99,
        ("sigmoid", "sgd", "base", 0.1): 1.00,  # relu not run: left out
    }))
    worst = tw.worst_activation(s)
    assert list(zip(worst.optimizer, worst.lr, worst.worst, strict=True)) == [
        ("adam", 0.1, 0.90), ("adam", 0.01, 0.80), ("sgd", 1.0, 0.0)]  # diverged counts as 0


CASE = {
    ("sigmoid", "rmsprop", "base", 0.001): 0.60, ("sigmoid", "rmsprop", "base", 0.1): 0.98,
    ("sigmoid", "sgd", "base", 0.001): 0.50, ("sigmoid", "sgd", "base", 0.1): 0.80,
    ("sigmoid", "rmsprop", "warmup", 0.001): 0.62, ("sigmoid", "rmsprop", "warmup", 0.1): 0.99,
    ("relu", "rmsprop", "base", 0.001): 0.99, ("relu", "rmsprop", "base", 0.1): 0.85,
    ("relu", "sgd", "base", 0.001): 0.70, ("relu", "sgd", "base", 0.1): 0.97,
    ("relu", "rmsprop", "warmup", 0.001): 0.98, ("relu", "rmsprop", "warmup", 0.1): 0.96,
}


def test_claims_apply_their_rules():
    optimizer, variant, every = tw.claims(tw.summarize(_cells(CASE)), "rmsprop", 0.001,
                                          "rmsprop")
    # sgd's best (0.80 at 0.1) < 0.95; rmsprop's best (0.98 at 0.1) >= 0.95
    assert [(c.what, c.passed) for c in optimizer.checks] == [("sgd", False), ("rmsprop", True)]
    assert optimizer.verdict == "partly"
    # warm-up at the lecture's rate 0.001: 0.62 < 0.95
    assert [(c.what, c.value) for c in variant.checks] == [("warmup", 0.62)]
    assert variant.verdict == "not supported"
    # rmsprop + warmup at 0.1: min(0.99, 0.96) = 0.96 is the best worst case
    assert every.checks[0].what == "rmsprop + warmup, lr 0.1"
    assert every.checks[0].value == pytest.approx(0.96) and every.verdict == "supported"


def test_variant_claim_is_not_tested_without_the_lecture_rate():
    _, variant, _ = tw.claims(tw.summarize(_cells(CASE)), "rmsprop", 0.005, "rmsprop")
    assert variant.verdict == "not tested"


def test_section_has_the_claims_tables_and_figures():
    runs = _cells(CASE).assign(depth=4, width=5, init="random_normal", init_scale=1.0,
                               batch_size=32, epochs=100, momentum=0.9)
    text = tw.render_section(runs, "rmsprop", 0.001, "rmsprop")
    assert text.startswith("## Improving trainability")
    for name in tw.FIGURE_NAMES:
        assert f"(figures/tweaks/{name})" in text
    assert "**Claim T1:" in text and "**0.980 ± 0.000**" in text  # bold: learned


# ---------------------------------------------------------------- commands


def test_tables_command_names_a_missing_run_file(tmp_path, capsys):
    missing = tmp_path / "adam" / "base" / "lr0.1.npz"
    code = cli.main(["tweaks-tables", str(missing), "--runs-out", str(tmp_path / "r.csv"),
                     "--history-out", str(tmp_path / "h.csv"),
                     "--summary-out", str(tmp_path / "s.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err


def test_section_command_rejects_a_table_of_another_study(tmp_path, capsys):
    table = tmp_path / "runs.csv"
    table.write_text("activation,seed\nrelu,0\n")
    code = cli.main(["tweaks-section", "--runs", str(table), "--lecture-optimizer", "rmsprop",
                     "--lecture-lr", "0.001", "--variant-optimizer", "rmsprop",
                     "--out", str(tmp_path / "s.md")])
    assert code == 2
    assert f"{table}: missing columns" in capsys.readouterr().err
    assert not (tmp_path / "s.md").exists()


# ---------------------------------------------------------------- the workflow, tiny


@pytest.mark.pipeline
def test_tiny_run_writes_the_study_tables_figures_and_section(finished_project):
    cfg = TINY["tweaks"]
    results = finished_project / "results"
    runs = pd.read_csv(results / "tables/tweaks_runs.csv")
    configs = {(o, "base") for o in cfg["optimizers"]} | {
        (cfg["variant_optimizer"], v) for v in ("base", *cfg["variants"])}
    assert set(zip(runs.optimizer, runs.variant, strict=True)) == configs
    assert sorted(runs.lr.unique()) == sorted(cfg["lrs"])
    n_files = len(cfg["activations"]) * len(configs) * len(cfg["lrs"])
    assert len(runs) == n_files * cfg["seeds"]
    warm = runs[runs.variant == "warmup"]
    assert (warm.warmup_epochs == cfg["variants"]["warmup"]["warmup_epochs"]).all()
    history = pd.read_csv(results / "tables/tweaks_history.csv.gz")
    assert len(history) == len(runs) * (TINY["train"]["epochs"] + 1)
    summary = pd.read_csv(results / "tables/tweaks_summary.csv")
    assert len(summary) == n_files
    report = (results / "report.md").read_text()
    assert "## Improving trainability" in report
    for png in tw.FIGURE_NAMES:
        assert (results / "figures/tweaks" / png).stat().st_size > 0
        assert f"(figures/tweaks/{png})" in report
