"""Figures and report: the files the workflow names, valid PNGs, and claims that follow the data.

A tiny grid is trained through the CLI once per module (2 activations x 2 inits x 2 widths,
2 seeds, 3 epochs) plus one cell that diverges (linear units, SGD with a huge step). The
verdict rules are pinned down on synthetic runs tables whose answers are known.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from trainability.cli import main
from trainability.report import (
    LN2,
    NOT_SUPPORTED,
    NOT_TESTED,
    PARTLY,
    SUPPORTED,
    evaluate_claims,
    git_state,
    render_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH = 3
EXPECTED_FIGURES = {
    "data.png",
    "lecture_zeros.png",
    "lecture_random_normal.png",
    "heatmap_w3.png",
    "heatmap_w4.png",
    "accuracy_vs_width.png",
    "boundaries_w3.png",
    "boundaries_w4.png",
}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A trained tiny grid, its tables, figures and report under one folder."""
    root = tmp_path_factory.mktemp("grid")
    data = root / "data.npz"
    assert main(["dataset", "--n-samples", "120", "--out", str(data)]) == 0
    runs = []
    common = ["--data", str(data), "--epochs", "3", "--seeds", "0", "1", "--no-diagnostics"]
    for act in ("relu", "sigmoid"):
        for init in ("zeros", "random_normal"):
            for width in (3, 4):
                out = root / "runs" / act / init / f"w{width}.npz"
                args = ["train", *common, "--activation", act, "--init", init,
                        "--width", str(width), "--out", str(out)]
                assert main(args) == 0
                runs.append(str(out))
    for width in (3, 4):  # diverges: linear units and a huge SGD step
        out = root / "runs" / "linear" / "random_normal" / f"w{width}.npz"
        assert main(["train", *common, "--activation", "linear", "--init", "random_normal",
                     "--width", str(width), "--optimizer", "sgd", "--lr", "100",
                     "--out", str(out)]) == 0
        runs.append(str(out))
    results = root / "results"
    tables = results / "tables"
    assert main(["aggregate", *runs, "--tables", str(tables), "--metrics",
                 str(results / "metrics.json"), "--plots", str(results / "plots"),
                 "--width", str(WIDTH)]) == 0
    figures = results / "figures"
    assert main(["figures", "--data", str(data), "--tables", str(tables), "--width", str(WIDTH),
                 "--out-dir", str(figures), *runs]) == 0
    params = root / "params.json"
    params.write_text('{"data": {"name": "circles", "n_samples": 120, "test_fraction": 0.2}}')
    report = results / "report.md"
    assert main(["report", "--tables", str(tables), "--metrics", str(results / "metrics.json"),
                 "--figures-dir", str(figures), "--params", str(params), "--width", str(WIDTH),
                 "--out", str(report)]) == 0
    return {"root": root, "tables": tables, "figures": figures, "report": report,
            "params": params, "metrics": results / "metrics.json"}


# ---------------------------------------------------------------- figures


def test_figures_writes_exactly_the_workflow_names(grid):
    assert {p.name for p in grid["figures"].iterdir()} == EXPECTED_FIGURES  # no temp leftovers


def test_figures_are_valid_pngs(grid):
    for name in EXPECTED_FIGURES:
        data = (grid["figures"] / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert len(data) > 1000, name


def test_figures_have_no_version_or_time_metadata(grid):
    data = (grid["figures"] / "heatmap_w3.png").read_bytes()
    assert b"Matplotlib" not in data
    assert b"tIME" not in data


def test_same_inputs_give_the_same_png_bytes(grid):
    from trainability.figures import heatmap_figure, save_figure

    runs = pd.read_csv(grid["tables"] / "runs.csv")
    a, b = grid["root"] / "a.png", grid["root"] / "b.png"
    save_figure(heatmap_figure(runs, WIDTH), a)
    save_figure(heatmap_figure(runs, WIDTH), b)
    assert a.read_bytes() == b.read_bytes()


def test_figures_missing_tables_is_one_line_error(grid, tmp_path, capsys):
    code = main(["figures", "--data", str(grid["root"] / "data.npz"), "--tables",
                 str(tmp_path), "--width", "3", "--out-dir", str(tmp_path / "f"), "x.npz"])
    assert code == 2
    assert "runs.csv: file not found" in capsys.readouterr().err


# ---------------------------------------------------------------- report from the real grid


def test_report_links_every_figure_relative_to_itself(grid):
    text = grid["report"].read_text()
    for name in EXPECTED_FIGURES:
        assert f"](figures/{name})" in text, name


def test_report_links_are_relative_to_where_it_is_written(grid):
    out = grid["root"] / "docs" / "deep" / "report.md"
    assert main(["report", "--tables", str(grid["tables"]), "--metrics", str(grid["metrics"]),
                 "--figures-dir", str(grid["figures"]), "--params", str(grid["params"]),
                 "--width", str(WIDTH), "--out", str(out)]) == 0
    text = out.read_text()
    for name in EXPECTED_FIGURES:
        assert f"](../../results/figures/{name})" in text, name


def test_report_merges_each_studys_metrics_and_refuses_a_clash(grid, tmp_path, capsys):
    study = tmp_path / "study.json"
    study.write_text(json.dumps({"size": {"needed_width": 4}}))
    args = ["report", "--tables", str(grid["tables"]), "--metrics", str(grid["metrics"]),
            "--figures-dir", str(grid["figures"]), "--params", str(grid["params"]),
            "--width", str(WIDTH), "--out", str(tmp_path / "report.md"),
            "--metrics-out", str(tmp_path / "metrics.json")]
    assert main([*args, "--study-metrics", str(study)]) == 0
    merged = json.loads((tmp_path / "metrics.json").read_text())
    assert merged == {**json.loads(grid["metrics"].read_text()), "size": {"needed_width": 4}}
    study.write_text(json.dumps({"grid": {"models": 1}}))
    assert main([*args, "--study-metrics", str(study)]) == 2
    assert "its metrics grid are already given" in capsys.readouterr().err


def test_report_numbers_are_those_of_runs_csv(grid):
    runs = pd.read_csv(grid["tables"] / "runs.csv")
    text = grid["report"].read_text()
    for act in ("relu", "sigmoid"):
        cell = runs[(runs.activation == act) & (runs.init == "random_normal")
                    & (runs.width == WIDTH)]
        expected = f"{cell.test_acc.mean():.3f} ± {cell.test_acc.std(ddof=1):.3f} (n = 2)"
        assert expected in text, act
    relu = runs[(runs.activation == "relu") & (runs.init == "random_normal")
                & (runs.width == WIDTH)]
    line = next(line for line in text.splitlines() if line.startswith("| relu/random_normal |"))
    printed = float(re.search(r"\| ([0-9.]+) ± ", line).group(1))
    assert printed == round(relu.test_acc.mean(), 3)


def test_report_shows_the_diverged_models(grid):
    text = grid["report"].read_text()
    section = text.split("### Diverged models")[1].split("##")[0]
    assert "4 of" in section  # linear/random_normal: 2 seeds x 2 widths
    assert "| linear/random_normal | 3 | 2 of 2 |" in section
    assert "all 2 diverged" in text


def test_report_records_provenance(grid):
    text = grid["report"].read_text()
    prov = text.split("## Provenance")[1]
    for package in ("numpy", "pandas", "matplotlib", "seaborn", "scikit-learn", "snakemake",
                    "dvc"):
        assert f"| {package} |" in prov
    assert "Git revision:" in prov
    assert '"n_samples": 120' in prov
    assert "not tested" in text  # this grid has no tanh, no batch norm


def test_git_state_outside_a_repository_is_an_error_not_a_crash(tmp_path):
    state = git_state(tmp_path)
    assert "revision" not in state and state["error"]


# ---------------------------------------------------------------- verdict rules, synthetic


def synthetic_runs(cells: dict, width: int = 5, seeds: int = 3, loss=None) -> pd.DataFrame:
    """One row per seed; ``cells[(activation, init)] = test accuracy`` (or a list per seed;
    None for a diverged seed). Zero-init cells get a training loss of ln 2 by default."""
    rows = []
    for (act, init), accs in cells.items():
        accs = accs if isinstance(accs, list) else [accs] * seeds
        for seed, acc in enumerate(accs):
            ok = acc is not None
            train_loss = (loss if loss is not None else LN2 if init == "zeros" else 0.05)
            rows.append({
                "study": "grid", "dataset": "circles", "activation": act, "init": init,
                "init_scale": 1.0, "width": width, "depth": 4, "batch_norm": "none",
                "optimizer": "rmsprop", "lr": 0.001, "l2": 0.0, "schedule": "constant",
                "epochs": 100, "batch_size": 32, "seed": seed,
                "train_loss": train_loss if ok else np.nan,
                "train_acc": acc if ok else np.nan, "test_loss": 0.1 if ok else np.nan,
                "test_acc": acc if ok else np.nan, "status": "ok" if ok else "diverged",
                "diverged_epoch": np.nan if ok else 7.0,
            })
    return pd.DataFrame(rows)


LECTURE_LIKE = {
    ("relu", "zeros"): 0.5, ("relu", "random_normal"): 0.99,
    ("sigmoid", "zeros"): 0.5, ("sigmoid", "random_normal"): 0.7,
    ("tanh", "zeros"): 0.5, ("tanh", "random_normal"): 0.99,
}


def test_zero_init_at_a_coin_flip_is_supported():
    claims = evaluate_claims(synthetic_runs(LECTURE_LIKE), 5)
    assert claims["zeros-coin-flip"].verdict == SUPPORTED
    assert claims["normal-beats-zeros"].verdict == SUPPORTED
    assert claims["relu-tanh-learn"].verdict == SUPPORTED
    assert claims["sigmoid-lags"].verdict == SUPPORTED
    assert claims["minor-choices"].verdict == SUPPORTED


def test_zero_init_that_learns_is_not_supported():
    runs = synthetic_runs({("relu", "zeros"): 0.9, ("relu", "random_normal"): 0.99})
    assert evaluate_claims(runs, 5)["zeros-coin-flip"].verdict == NOT_SUPPORTED


def test_one_zero_init_cell_that_learns_makes_the_claim_partly_supported():
    runs = synthetic_runs({**LECTURE_LIKE, ("tanh", "zeros"): 0.9})
    claim = evaluate_claims(runs, 5)["zeros-coin-flip"]
    assert claim.verdict == PARTLY
    assert [c.what for c in claim.checks if not c.passed] == ["tanh/zeros"]


def test_zero_init_whose_loss_leaves_ln2_fails_its_check():
    runs = synthetic_runs({("relu", "zeros"): 0.5}, loss=0.5)
    assert evaluate_claims(runs, 5)["zeros-coin-flip"].verdict == NOT_SUPPORTED


def test_sigmoid_as_good_as_relu_is_not_supported():
    runs = synthetic_runs({**LECTURE_LIKE, ("sigmoid", "random_normal"): 0.98})
    assert evaluate_claims(runs, 5)["sigmoid-lags"].verdict == NOT_SUPPORTED


def test_missing_activation_is_not_tested_and_the_report_says_so():
    runs = synthetic_runs({k: v for k, v in LECTURE_LIKE.items() if k[0] != "sigmoid"})
    claims = evaluate_claims(runs, 5)
    assert claims["sigmoid-lags"].verdict == NOT_TESTED
    assert claims["relu-tanh-learn"].verdict == SUPPORTED
    text = render_report(runs, {}, {}, 5)
    line = next(line for line in text.splitlines() if "sigmoid network learns far less" in line)
    assert "**not tested**" in line
    assert "no sigmoid network" in line


def test_one_width_leaves_the_size_claim_untested():
    claims = evaluate_claims(synthetic_runs(LECTURE_LIKE), 5)
    assert claims["wider-easier"].verdict == NOT_TESTED
    assert claims["bn-sigmoid"].verdict == NOT_TESTED


def test_wider_networks_that_learn_support_the_size_claim():
    narrow = synthetic_runs({("sigmoid", "random_normal"): 0.6, ("relu", "he_normal"): 0.99})
    wide = synthetic_runs({("sigmoid", "random_normal"): 0.97, ("relu", "he_normal"): 0.985},
                          width=16)
    claim = evaluate_claims(pd.concat([narrow, wide]), 5)["wider-easier"]
    assert claim.verdict == SUPPORTED
    worse = synthetic_runs({("sigmoid", "random_normal"): 0.6, ("relu", "he_normal"): 0.9},
                           width=16)
    assert evaluate_claims(pd.concat([narrow, worse]), 5)["wider-easier"].verdict == NOT_SUPPORTED


def test_batch_norm_runs_are_compared_not_mixed_in():
    plain = synthetic_runs(LECTURE_LIKE)
    bn = synthetic_runs({("sigmoid", "random_normal"): 0.93}).assign(batch_norm="3")
    claims = evaluate_claims(pd.concat([plain, bn]), 5)
    assert claims["bn-sigmoid"].verdict == SUPPORTED
    assert claims["sigmoid-lags"].verdict == SUPPORTED  # the 0.93 did not leak into the grid


def test_diverged_seeds_are_counted_and_excluded_from_the_mean():
    runs = synthetic_runs({**LECTURE_LIKE, ("relu", "random_normal"): [0.99, None, 0.97]})
    text = render_report(runs, {}, {}, 5)
    assert "0.980 ± 0.014 (n = 2; 1 diverged)" in text
    section = text.split("### Diverged models")[1].split("##")[0]
    assert "| relu/random_normal | 5 | 1 of 3 | 1 | 7 |" in section


def test_claim_numbers_are_the_means_of_the_table():
    accs = [0.90, 0.95, 0.97]
    runs = synthetic_runs({**LECTURE_LIKE, ("tanh", "random_normal"): accs})
    claim = evaluate_claims(runs, 5)["relu-tanh-learn"]
    tanh = next(c for c in claim.checks if c.what == "tanh/random_normal")
    assert math.isclose(tanh.value, np.mean(accs))
    assert tanh.measured == f"{np.mean(accs):.3f} ± {np.std(accs, ddof=1):.3f} (n = 3)"
    assert not tanh.passed  # mean 0.94 < 0.95
    assert claim.verdict == PARTLY


def test_the_summary_counts_each_study_sections_verdicts_as_rendered():
    from trainability.legacy_claims import Check, Claim, render_claim
    from trainability.report import section_verdicts, studies_summary

    def claim(*passed):
        return Claim("k", "a claim", "lecture", "rule", "value",
                     [Check("c", "m", 1.0, p) for p in passed])

    claims = [claim(True), claim(True, False), claim(False), claim()]
    section = "## A study\n\nintro\n\n" + "\n\n".join(
        render_claim(f"A{i}", c) for i, c in enumerate(claims))
    assert section_verdicts(section) == ("A study", [c.verdict for c in claims])
    assert "| A study | 4 | 1 | 1 | 1 | 1 |" in studies_summary([section])
