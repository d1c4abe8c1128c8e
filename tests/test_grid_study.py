"""The grid study: claims and prose follow synthetic tables; the stages from tiny real runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainability import claims as C
from trainability.cli import main
from trainability.data import dataset_job
from trainability.markdown import render
from trainability.studies.grid import claims as gc
from trainability.studies.grid import section
from trainability.studies.grid.spec import Spec
from trainability.studies.grid.tables import cells
from trainability.study import folder, paths, spec_json

LN2 = float(np.log(2))
PARAMS = {
    "data": {"name": "circles", "n_samples": 120, "noise": 0.1, "factor": 0.5,
             "test_fraction": 0.25, "scale": 1.0, "standardize": False, "seed": 0},
    "model": {"depth": 2, "width": 3, "init_scale": 1.0, "classifier_init": "glorot_uniform",
              "batch_norm": []},
    "train": {"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.9, "eps": 1e-7,
              "eps_convention": "keras", "l2": 0.0, "schedule": "constant",
              "warmup_epochs": 0, "batch_size": 16, "epochs": 3, "seeds": 2},
    "grid": {"activations": ["relu", "sigmoid", "linear"], "inits": ["zeros", "random_normal"],
             "widths": [3, 4], "diagnostic_epochs": [0, 3], "float32_from": None,
             "animate": {"activations": ["relu", "sigmoid"], "inits": ["zeros", "random_normal"],
                         "every": 1}},
}


# ---------------------------------------------------------------- synthetic tables


def runs_table(accs: dict, width: int = 5, seeds: int = 5, train_loss: dict | None = None):
    """One row per seed: ``accs[(activation, init)]`` = a test accuracy or a list per seed
    (None: diverged). Training accuracy = test accuracy."""
    rows = []
    for (act, init), acc in accs.items():
        values = acc if isinstance(acc, list) else [acc + 0.002 * (s % 3 - 1)
                                                    for s in range(seeds)]
        for seed, a in enumerate(values):
            loss = (train_loss or {}).get((act, init), LN2 if init == "zeros" else 0.05)
            rows.append({"activation": act, "init": init, "width": width, "seed": seed,
                         "test_acc": a, "train_acc": a, "train_loss": loss,
                         "test_loss": loss, "status": "ok" if a is not None else "diverged",
                         "diverged_epoch": np.nan if a is not None else 7.0})
    frame = pd.DataFrame(rows)
    frame["test_acc"] = frame.test_acc.astype(float)
    return frame


LECTURE = {("relu", "random_normal"): 0.985, ("tanh", "random_normal"): 0.99,
           ("sigmoid", "random_normal"): 0.57, ("relu", "zeros"): 0.5,
           ("tanh", "zeros"): 0.5, ("sigmoid", "zeros"): 0.5}
CHANCE = 0.5


def verdicts(runs, width=5):
    return {c.key: c.verdict for c in gc.at_width(runs, width, "random_normal", CHANCE)}


def test_the_lecture_picture_supports_the_lecture_claims():
    v = verdicts(runs_table(LECTURE))
    assert v["relu-tanh-learn"] == C.SUPPORTED
    assert v["sigmoid-lags"] == C.SUPPORTED
    assert v["zeros-coin-flip"] == C.SUPPORTED  # sigmoid: f(0) = 0.5, so it is a claim
    assert v["normal-beats-zeros"] == C.SUPPORTED
    # zero init is left out, and sigmoid's 0.57 is better than a constant guess (0.5 + 0.05)
    assert v["minor-choices"] == C.PARTLY
    at_chance = runs_table({**LECTURE, ("sigmoid", "random_normal"): 0.5})
    assert verdicts(at_chance)["minor-choices"] == C.SUPPORTED


def test_normal_beats_zeros_by_the_gap_of_each_activation():
    claim = gc.normal_beats_zeros(runs_table(LECTURE), 5, "random_normal")
    by = {c.what: c.verdict for c in claim.checks}
    assert by == {"relu": C.PASSES, "sigmoid": C.PASSES, "tanh": C.PASSES}


def test_relu_that_does_not_learn_fails_the_first_claim():
    runs = runs_table({**LECTURE, ("relu", "random_normal"): 0.7})
    assert verdicts(runs)["relu-tanh-learn"] == C.PARTLY
    runs = runs_table({**LECTURE, ("relu", "random_normal"): 0.7, ("tanh", "random_normal"): 0.6})
    assert verdicts(runs)["relu-tanh-learn"] == C.NOT_SUPPORTED


def test_a_diverged_seed_is_left_out_and_counted():
    runs = runs_table({**LECTURE, ("relu", "random_normal"): [0.99, None, 0.98, 0.99, 0.97]})
    check = gc.relu_tanh_learn(runs, 5, "random_normal").check("relu/random_normal")
    assert check.n == 4 and check.effect == pytest.approx(0.9825)
    assert "(1 diverged)" in check.detail


def test_sigmoid_as_good_as_relu_makes_the_lag_claim_fail():
    runs = runs_table({**LECTURE, ("sigmoid", "random_normal"): 0.98})
    assert verdicts(runs)["sigmoid-lags"] == C.NOT_SUPPORTED


def test_a_missing_sigmoid_cell_leaves_the_lag_claim_untested():
    runs = runs_table({k: v for k, v in LECTURE.items() if k[0] != "sigmoid"})
    claim = gc.sigmoid_lags(runs, 5, "random_normal")
    assert claim.verdict == C.NOT_TESTED and "no sigmoid network" in claim.note


def test_zero_init_claim_checks_only_activations_not_zero_at_zero():
    claim = gc.zeros_stay_at_chance(runs_table(LECTURE), 5, CHANCE)
    assert {c.what.split("/")[0] for c in claim.checks} == {"sigmoid"}
    only_relu = runs_table({("relu", "zeros"): 0.5, ("relu", "random_normal"): 0.99})
    assert gc.zeros_stay_at_chance(only_relu, 5, CHANCE).verdict == C.NOT_TESTED


def test_a_zero_initialized_sigmoid_net_that_learns_fails_the_zero_claim():
    runs = runs_table({**LECTURE, ("sigmoid", "zeros"): 0.8},
                      train_loss={("sigmoid", "zeros"): 0.4})
    assert verdicts(runs)["zeros-coin-flip"] == C.NOT_SUPPORTED


def test_a_scaled_initializer_far_below_random_normal_fails_its_check():
    good = runs_table({**LECTURE, ("relu", "he_normal"): 0.985})
    assert verdicts(good)["scaled-inits"] == C.SUPPORTED
    bad = runs_table({**LECTURE, ("relu", "he_normal"): 0.80})
    assert verdicts(bad)["scaled-inits"] == C.NOT_SUPPORTED


def test_minor_choices_picks_cells_by_training_accuracy_and_judges_them_on_test():
    runs = runs_table(LECTURE)
    runs.loc[runs.activation == "tanh", "train_acc"] = 0.4  # worst by training accuracy
    claim = gc.minor_choices(runs, 5, CHANCE)
    assert [c.what for c in claim.checks] == ["best: relu/random_normal",
                                              "worst: tanh/random_normal"]
    assert claim.checks[1].failed  # tanh's test accuracy is 0.99, far above chance


def test_minor_choices_leaves_zero_initialized_cells_out():
    claim = gc.minor_choices(runs_table(LECTURE), 5, CHANCE)
    assert all("zeros" not in c.what for c in claim.checks)
    all_learn = runs_table({k: 0.98 for k in LECTURE})
    assert gc.minor_choices(all_learn, 5, CHANCE).verdict == C.PARTLY


def test_wider_networks_that_learn_support_the_size_claim():
    narrow = runs_table({("sigmoid", "random_normal"): 0.6, ("relu", "random_normal"): 0.99})
    wide = runs_table({("sigmoid", "random_normal"): 0.97, ("relu", "random_normal"): 0.985},
                      width=16)
    assert gc.wider_easier(pd.concat([narrow, wide])).verdict == C.SUPPORTED
    worse = runs_table({("sigmoid", "random_normal"): 0.6, ("relu", "random_normal"): 0.9},
                       width=16)
    assert gc.wider_easier(pd.concat([narrow, worse])).verdict == C.NOT_SUPPORTED
    assert gc.wider_easier(narrow).verdict == C.NOT_TESTED


# ---------------------------------------------------------------- prose follows the verdicts


LAG = "The sigmoid network lags as the lecture says"
NO_LAG = "does not lag as far as the lecture's single run suggests"
CENTRAL = "The lecture's central point holds here"
NOT_CENTRAL = "The lecture's central point does not hold in this configuration"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.npz"
    dataset_job(path, **{k: v for k, v in PARAMS["data"].items()})
    return str(path)


def rendered(runs, dataset) -> str:
    acts = sorted(set(runs.activation))
    inits = sorted(set(runs["init"]))
    spec = Spec(activations=acts, inits=inits, widths=[5], width=5, depth=4, init_scale=1.0,
                classifier_init="glorot_uniform", batch_norm=[], train=PARAMS["train"],
                seeds=5, data=PARAMS["data"], dataset=dataset, diagnostic_epochs=[0],
                float32_from=None,
                animate={"activations": [], "inits": [], "every": 5}, tag="0" * 10)
    tables = {"runs": runs, "cells": cells(runs)}
    claims = gc.evaluate(spec, tables)
    context = section.context(spec, tables, claims, gc.sanity(spec, tables), "figures/grid")
    return render(folder("grid") / "section.md.j2", context)


def test_the_lag_sentences_follow_the_sigmoid_verdict(dataset):
    text = rendered(runs_table(LECTURE), dataset)
    assert LAG in text and NO_LAG not in text
    text = rendered(runs_table({**LECTURE, ("sigmoid", "random_normal"): 0.98}), dataset)
    assert NO_LAG in text and LAG not in text


def test_the_central_sentence_follows_the_minor_choices_verdict(dataset):
    text = rendered(runs_table({**LECTURE, ("sigmoid", "random_normal"): 0.5}), dataset)
    assert CENTRAL in text and NOT_CENTRAL not in text
    text = rendered(runs_table({k: 0.57 for k in LECTURE}), dataset)
    assert NOT_CENTRAL in text and CENTRAL not in text


def test_a_section_with_diverged_models_lists_them(dataset):
    runs = runs_table({**LECTURE, ("relu", "random_normal"): [0.99, None, 0.98, 0.99, 0.97]})
    text = rendered(runs, dataset)
    assert "| relu/random_normal | 5 | 1 of 5 | 1 | 7 |" in text
    finite = [0.99, 0.98, 0.99, 0.97]
    assert f"{np.mean(finite):.3f} ± {np.std(finite, ddof=1):.3f} (n = 4; 1 diverged)" in text


# ---------------------------------------------------------------- the stages, from real runs


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A tiny grid trained and turned into tables, figures, section and report; linear
    networks with random weights and a huge SGD step diverge."""
    root = tmp_path_factory.mktemp("grid")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        data = "results/data/circles.npz"
        assert main(["dataset", "--n-samples", "120", "--test-fraction", "0.25",
                     "--out", data]) == 0
        spec = Spec.from_params(PARAMS, dataset=data, train_code="test")
        for act in spec.activations:
            for width in spec.widths:
                args = [str(a) for a in spec.train_args(_Wildcards(act, width))]
                if act == "linear":
                    args[args.index("--optimizer") + 1] = "sgd"
                    args[args.index("--lr") + 1] = "100"
                assert main(["train", "--data", data, *args,
                             "--out", spec.run_file(act, width)]) == 0
        text = spec_json(spec)
        for stage in ("tables", "figures", "section"):
            assert main(["grid", stage, "--spec", text]) == 0
        params = root / "params.json"
        params.write_text(json.dumps(PARAMS))
        assert main(["report", "--params", str(params), "--study", "grid",
                     "--out", "results/report.md", "--metrics-out", "results/metrics.json"]) == 0
    return {"root": root, "spec": spec, "results": root / "results"}


class _Wildcards:
    def __init__(self, activation, width):
        self.activation, self.width = activation, str(width)


def test_every_declared_figure_is_written_and_nothing_else(grid):
    written = {p.name for p in (grid["results"] / "figures/grid").iterdir()}
    assert written == {name for name, _ in grid["spec"].figures()}
    for name in written:
        data = (grid["results"] / "figures/grid" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[:6] == b"GIF89a", name
        assert b"Matplotlib" not in data and b"tIME" not in data


def test_the_animation_has_a_frame_per_kept_epoch(grid):
    from PIL import Image

    gif = Image.open(grid["results"] / "figures/grid/boundary_animation.gif")
    assert gif.n_frames == PARAMS["train"]["epochs"] + 1  # every 1 epoch, 0..3


def test_the_same_tables_give_the_same_figure_bytes(grid, tmp_path):
    from trainability.plotting import save_figure
    from trainability.studies.grid.figures import heatmap_figure

    runs = pd.read_csv(grid["results"] / "tables/grid/runs.csv")
    save_figure(heatmap_figure(runs, 3), tmp_path / "a.png")
    save_figure(heatmap_figure(runs, 3), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == \
        (grid["results"] / "figures/grid/heatmap_w3.png").read_bytes()


def test_tables_hold_every_model_init_by_init(grid):
    runs = pd.read_csv(grid["results"] / "tables/grid/runs.csv")
    assert len(runs) == 3 * 2 * 2 * 2  # activations x inits x widths x seeds
    assert set(runs["init"]) == {"zeros", "random_normal"}
    linear = runs[(runs.activation == "linear") & (runs["init"] == "random_normal")]
    assert (linear.status == "diverged").all() and linear.test_acc.isna().all()
    layers = pd.read_csv(grid["results"] / "tables/grid/layers.csv.gz")
    assert set(layers.epoch) == {0, 3}  # the diagnostic epochs only
    history = pd.read_csv(grid["results"] / "tables/grid/history.csv.gz")
    assert history.running_acc[history.epoch == 0].isna().all()
    trained = history[(history.epoch > 0) & (history.activation != "linear")]
    assert trained.running_acc.notna().all()


def test_section_and_report_link_every_figure_and_show_the_diverged(grid):
    section_text = paths("grid", grid["results"])["section"].read_text()
    report = (grid["results"] / "report.md").read_text()
    for name, _ in grid["spec"].figures():
        assert f"](figures/grid/{name})" in section_text and f"figures/grid/{name}" in report
    assert "| linear/random_normal | 3 | 2 of 2 |" in report
    assert "| linear/random_normal | 4 | 2 of 2 |" in report


def test_results_json_and_metrics_carry_the_claims(grid):
    results = json.loads(paths("grid", grid["results"])["results"].read_text())
    assert [c["id"] for c in results["claims"]] == [str(i) for i in range(1, 8)]
    metrics = json.loads((grid["results"] / "metrics.json").read_text())
    assert metrics["grid"]["models"] == 24 and metrics["grid"]["diverged"] == 4
    assert set(metrics["grid"]["claims"]) == {str(i) for i in range(1, 8)}
    for claim in results["claims"]:
        assert metrics["grid"]["claims"][claim["id"]]["verdict"] == claim["verdict"]


def test_report_counts_the_verdicts_of_the_json(grid):
    results = json.loads(paths("grid", grid["results"])["results"].read_text())
    counts = {v: sum(c["verdict"] == v for c in results["claims"]) for v in C.VERDICTS}
    report = (grid["results"] / "report.md").read_text()
    summary = report.split("## Summary")[1].split("## Provenance")[0]
    row = f"| {results['title']} | 7 | " + " | ".join(str(n) for n in counts.values()) + " |"
    assert row in summary


def test_report_records_provenance(grid):
    prov = (grid["results"] / "report.md").read_text().split("## Provenance")[1]
    for package in ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn",
                    "snakemake", "dvc"):
        assert f"| {package} |" in prov
    assert "Git revision:" in prov and '"n_samples": 120' in prov


def test_a_stage_with_a_bad_spec_is_a_one_line_error(grid, capsys):
    assert main(["grid", "tables", "--spec", '{"nope": 1}']) == 2
    err = capsys.readouterr().err
    assert err.startswith("trainability grid tables: error: --spec: not a grid spec")
    assert len(err.strip().splitlines()) == 1


def test_the_heatmap_counts_the_diverged_models_in_their_cells(grid):
    from trainability.studies.grid.figures import heatmap_figure

    runs = pd.read_csv(grid["results"] / "tables/grid/runs.csv")
    ax = heatmap_figure(runs, 3).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "all 2\ndiverged" in texts  # linear/random_normal: both seeds
    assert sum("diverged" in t for t in texts) == 1  # and no other cell


def test_wide_cells_train_in_single_precision_from_the_set_width(dataset):
    params = json.loads(json.dumps(PARAMS))
    params["grid"]["float32_from"] = 4
    spec = Spec.from_params(params, dataset=dataset, train_code="x")
    assert "--float32" not in spec.train_args(_Wildcards("relu", 3))
    assert "--float32" in spec.train_args(_Wildcards("relu", 4))
    double = Spec.from_params(PARAMS, dataset=dataset, train_code="x")
    assert spec.run_file("relu", 3) == double.run_file("relu", 3)  # kept: not retrained
    assert spec.run_file("relu", 4) != double.run_file("relu", 4)


def test_the_reports_setup_names_the_widths_trained_in_single_precision():
    from trainability.report import setup

    params = json.loads(json.dumps(PARAMS))
    assert setup(params)["float32_widths"] == []  # float32_from None
    params["grid"]["float32_from"] = 4
    assert setup(params)["float32_widths"] == [4]
    params["model"]["width"] = 6  # the running example's width is trained too
    assert setup(params)["float32_widths"] == [4, 6]
