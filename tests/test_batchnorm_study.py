"""The batch-norm study: its claims on synthetic tables that make each one pass and fail,
the rendered section following the verdicts (and the measured direction of the gradient
ratio), its stages through the CLI on tiny real runs, and its rules on the tiny pipeline."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import TINY, make_project, planned_jobs, snakemake
from trainability import cli, study
from trainability.data import Dataset, save_dataset
from trainability.io import load_run
from trainability.markdown import render
from trainability.model import Architecture, Layout
from trainability.studies.batchnorm import claims as bn_claims
from trainability.studies.batchnorm import section, tables
from trainability.studies.batchnorm.spec import (
    Spec,
    placement_label,
    placement_layers,
    placement_names,
)
from trainability.tables import read_study_tables

SEEDS = 6
PARAMS = {
    "model": {"depth": 4, "width": 5, "init_scale": 1.0, "classifier_init": "glorot_uniform",
              "batch_norm": []},
    "train": {"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.9, "eps": 1e-7,
              "eps_convention": "keras", "l2": 0.0, "schedule": "constant",
              "warmup_epochs": 0, "batch_size": 32, "epochs": 100, "seeds": 5},
    "batchnorm": {"enabled": True, "activations": ["relu", "sigmoid", "tanh"],
                  "init": "random_normal", "after_layers": [3], "every_layer": True,
                  "seeds": SEEDS, "diagnostic_epochs": [0, 10, 500]},
}


# ---------------------------------------------------------------- the spec


def test_placements_follow_the_params_and_name_their_layers():
    assert placement_names([3], True, 4) == ["none", "after3", "every"]
    assert placement_names([2, 1], False, 4) == ["none", "after1-2"]
    assert placement_names([1, 2, 3, 4], False, 4) == ["none", "every"]  # no duplicate
    assert placement_layers("after1-2", 4) == [1, 2] and placement_layers("every", 3) == [1, 2, 3]
    assert placement_label("after3") == "BN after layer 3"
    with pytest.raises(ValueError, match="placement 'bogus'"):
        placement_layers("bogus", 4)


def test_spec_passes_the_shared_training_settings_and_records_diagnostics_where_read():
    spec = Spec.from_params(PARAMS, dataset="d.npz", train_code="abc")
    assert spec.diagnostic_epochs == [0, 10, 100]  # 500 > epochs dropped; 100 always
    w = type("W", (), {"activation": "sigmoid", "placement": "after3"})
    args = [str(a) for a in spec.train_args(w)]
    for flag, value in (("--classifier-init", "glorot_uniform"), ("--eps", "1e-07"),
                        ("--eps-convention", "keras"), ("--batch-norm", "3"),
                        ("--activation", "sigmoid")):
        assert args[args.index(flag) + 1] == value
    assert args[args.index("--seeds") + 1:args.index("--seeds") + 1 + SEEDS] == \
        [str(s) for s in range(SEEDS)]
    w.placement = "none"
    assert "--batch-norm" not in [str(a) for a in spec.train_args(w)]


def test_run_file_names_do_not_depend_on_the_lists_of_activations_and_placements():
    spec = Spec.from_params(PARAMS, dataset="d.npz", train_code="abc")
    fewer = copy.deepcopy(PARAMS)
    fewer["batchnorm"] |= {"activations": ["sigmoid"], "every_layer": False}
    other = Spec.from_params(fewer, dataset="d.npz", train_code="abc")
    assert set(other.run_files()) < set(spec.run_files())
    changed = copy.deepcopy(PARAMS)
    changed["train"]["eps_convention"] = "pytorch"
    assert Spec.from_params(changed, "d.npz", "abc").tag != spec.tag


def test_a_layer_beyond_the_depth_is_refused_by_name():
    bad = copy.deepcopy(PARAMS)
    bad["batchnorm"]["after_layers"] = [5]
    with pytest.raises(ValueError, match=r"batchnorm.after_layers: layers \[5\]"):
        Spec.from_params(bad, "d.npz", "abc")


# ---------------------------------------------------------------- synthetic tables


@pytest.fixture
def spec(tmp_path):
    """The default-like spec over a dataset whose test set is balanced: chance 0.5."""
    data = tmp_path / "data.npz"
    y = np.array([0, 1] * 10, dtype=np.int8)
    save_dataset(data, Dataset(np.zeros((20, 2)), y, np.zeros((20, 2)), y))
    return Spec.from_params(PARAMS, dataset=str(data), train_code="abc")


def synthetic(spec, acc: dict, log_ratio: dict | None = None) -> dict[str, pd.DataFrame]:
    """The study's tables from ``acc[(activation, placement)]``: a test accuracy or one
    per seed (None: diverged); ``log_ratio[(activation, placement)]``: log10 r per seed
    (default: -2 without batch norm, -0.5 with it). Every other setting learns (0.98)."""
    log_ratio = log_ratio or {}
    runs, history, layers = [], [], []
    for act in spec.activations:
        for p in spec.placements:
            values = acc.get((act, p), 0.98)
            values = values if isinstance(values, list) else [values] * SEEDS
            ratios = log_ratio.get((act, p), -2.0 if p == "none" else -0.5)
            ratios = ratios if isinstance(ratios, list) else [ratios] * SEEDS
            for seed, (a, r) in enumerate(zip(values, ratios, strict=True)):
                ok = a is not None
                key = {"activation": act, "placement": p, "seed": seed}
                runs.append(key | {"test_acc": a if ok else np.nan,
                                   "train_acc": a if ok else np.nan,
                                   "train_loss": 1 - a if ok else np.nan,
                                   "status": "ok" if ok else "diverged"})
                history.append(key | {"epoch": 100, "running_acc": a if ok else np.nan,
                                      "train_loss": 1 - a if ok else np.nan})
                for epoch in (0, 100):
                    for layer in range(1, spec.depth + 2):
                        hidden = layer <= spec.depth
                        layers.append(key | {
                            "epoch": epoch, "layer": layer,
                            "grad_norm": 10.0 ** r if layer == 1 else 1.0,
                            "act_mean": 0.5 if hidden else np.nan,
                            "act_std": 0.2 if hidden else np.nan})
    runs, history, layers = (pd.DataFrame(f) for f in (runs, history, layers))
    return {"runs": runs, "history": history, "layers": layers,
            "settings": tables.settings(runs, history, spec),
            "ratios": tables.ratios(layers, spec)}


def verdicts(spec, frames) -> dict[str, str]:
    return {c.key: c.verdict for c in bn_claims.evaluate(spec, frames)}


def rendered(spec, frames) -> str:
    found = bn_claims.evaluate(spec, frames)
    context = section.context(spec, frames, found, [], "figures/batchnorm")
    return render(section.HERE / "section.md.j2", context)


def one_line(text: str) -> str:
    return " ".join(text.split())


LECTURE_LIKE = {("sigmoid", "none"): 0.6}  # sigmoid lags without BN; everything else learns
SIGMOID_LEARNS = {("sigmoid", "none"): 0.97}  # e.g. after `-S train.lr=0.01`
# sentences of each interpretation, as rendered (whitespace collapsed)
B1_PASS = "Batch normalization lets the sigmoid network learn here"
B1_FAIL = "By this rule batch normalization does not let the sigmoid network learn here"
B1_PARTLY = "The checks disagree: some pass and some fail"
B2_PASS = "Batch normalization costs the other activations at most the allowed"
B2_FAIL = "Batch normalization costs the other activations more test accuracy than allowed"
B3_PASS = "batch normalization raises the first layer's gradient relative to the classifier's"
B3_FAIL = "Batch normalization does not raise the first layer's gradient relative to the"
BOTH = "Both measurements point the same way"
OPEN_LAGS = "below the 0.90 this section counts as learning"
OPEN_LEARNS = "already reaches a mean test accuracy"


def test_the_lecture_like_tables_support_every_claim_and_the_prose_says_so(spec):
    frames = synthetic(spec, LECTURE_LIKE)
    assert verdicts(spec, frames) == {"bn-rescues-sigmoid": "supported",
                                      "bn-harmless": "supported", "bn-gradient": "supported"}
    text = one_line(rendered(spec, frames))
    assert text.startswith("## Batch normalization and the sigmoid network")
    for sentence in (B1_PASS, B2_PASS, B3_PASS, BOTH, OPEN_LAGS):
        assert sentence in text
    for sentence in (B1_FAIL, B1_PARTLY, B2_FAIL, B3_FAIL, OPEN_LEARNS):
        assert sentence not in text


def test_a_sigmoid_network_that_learns_without_bn_flips_the_claim_and_the_opening(spec):
    frames = synthetic(spec, SIGMOID_LEARNS)  # accuracy checks pass, gains (0.01) fail
    assert verdicts(spec, frames)["bn-rescues-sigmoid"] == "partly"
    text = one_line(rendered(spec, frames))
    assert OPEN_LEARNS in text and "learns without help" in text
    assert OPEN_LAGS not in text and B1_PASS not in text and BOTH not in text
    assert B1_PARTLY in text and "leaves little room for a gain" in text
    assert "rescue" not in text.split("**Claim B1")[0].lower()  # title and opening


def test_batch_norm_that_does_not_help_the_sigmoid_network_is_not_supported(spec):
    frames = synthetic(spec, LECTURE_LIKE | {("sigmoid", "after3"): 0.62,
                                             ("sigmoid", "every"): 0.6})
    assert verdicts(spec, frames)["bn-rescues-sigmoid"] == "not supported"
    text = one_line(rendered(spec, frames))
    assert B1_FAIL in text and B1_PASS not in text and BOTH not in text


def test_a_diverged_seed_counts_as_learning_nothing_not_dropped(spec):
    acc = [0.99] * (SEEDS - 3) + [None] * 3
    frames = synthetic(spec, LECTURE_LIKE | {("sigmoid", "after3"): acc})
    claim = next(c for c in bn_claims.evaluate(spec, frames) if c.key == "bn-rescues-sigmoid")
    check = claim.check("sigmoid, BN after layer 3: accuracy")
    assert check.effect == pytest.approx((0.99 * (SEEDS - 3) + 0.5 * 3) / SEEDS)
    assert check.n == SEEDS and not check.passed
    assert claim.verdict != "supported"


def test_batch_norm_that_costs_relu_accuracy_fails_the_harmless_claim(spec):
    frames = synthetic(spec, LECTURE_LIKE | {(a, p): 0.85 for a in ("relu", "tanh")
                                             for p in ("after3", "every")})
    assert verdicts(spec, frames)["bn-harmless"] == "not supported"
    text = one_line(rendered(spec, frames))
    assert B2_FAIL in text and B2_PASS not in text


def test_a_gradient_ratio_batch_norm_does_not_raise_fails_the_gradient_claim(spec):
    same = {("sigmoid", p): -2.0 for p in ("none", "after3", "every")}
    frames = synthetic(spec, LECTURE_LIKE, same)
    assert verdicts(spec, frames)["bn-gradient"] == "not supported"
    text = one_line(rendered(spec, frames))
    assert B3_FAIL in text and B3_PASS not in text and BOTH not in text
    assert "a stronger gradient at the start does not explain the rescue" in text


def test_the_gradient_ratio_is_paired_by_seed(spec):
    seeds = list(np.linspace(-3.0, -1.0, SEEDS))
    shifted = [v + 0.4 for v in seeds]  # every seed +0.4 >= log10 2: passes only if paired
    frames = synthetic(spec, LECTURE_LIKE, {("sigmoid", "none"): seeds,
                                            ("sigmoid", "after3"): shifted,
                                            ("sigmoid", "every"): shifted})
    claim = next(c for c in bn_claims.evaluate(spec, frames) if c.key == "bn-gradient")
    assert [c.effect for c in claim.checks] == pytest.approx([0.4, 0.4])
    assert claim.verdict == "supported"


def test_the_ratio_sentence_says_smaller_or_larger_as_measured(spec):
    larger = synthetic(spec, LECTURE_LIKE, {("sigmoid", "none"): 1.0,
                                            ("sigmoid", "after3"): 1.5,
                                            ("sigmoid", "every"): 1.5})
    text = one_line(rendered(spec, larger))
    assert "Its first layer's gradient norm is 10x larger than the classifier's" in text
    assert not re.search(r"Its first layer's gradient norm is [0-9.]+x smaller", text)
    smaller = one_line(rendered(spec, synthetic(spec, LECTURE_LIKE)))
    assert "Its first layer's gradient norm is 100x smaller than the classifier's" in smaller
    assert not re.search(r"Its first layer's gradient norm is [0-9.]+x larger", smaller)


def test_without_a_sigmoid_network_its_claims_are_not_tested_and_the_opening_says_so(spec):
    frames = synthetic(spec, {})
    frames = {k: v[v.activation != "sigmoid"] if "activation" in v else v
              for k, v in frames.items()}
    assert verdicts(spec, frames) == {"bn-rescues-sigmoid": "not tested",
                                      "bn-harmless": "supported", "bn-gradient": "not tested"}
    text = one_line(rendered(spec, frames))
    assert "trains no sigmoid network without batch normalization" in text
    assert OPEN_LAGS not in text and OPEN_LEARNS not in text and B1_PASS not in text


def test_the_lecture_comparison_uses_the_lecture_constants_not_the_params(spec):
    changed = Spec(**{**spec.__dict__, "train": spec.train | {"lr": 0.01}})
    text = one_line(rendered(changed, synthetic(changed, LECTURE_LIKE)))
    assert "lr 0.01 (the lecture's: 0.001)" in text
    assert "against the lecture's ~0.7 (one run): outside our range" in text
    assert "against the lecture's ~0.93 (one run): outside our range" in text


# ---------------------------------------------------------------- stages on tiny real runs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny real runs through the CLI, then the three stages: (spec, results folder)."""
    root = tmp_path_factory.mktemp("batchnorm")
    data = root / "data.npz"
    assert cli.main(["dataset", "--n-samples", "120", "--out", str(data)]) == 0
    params = copy.deepcopy(PARAMS)
    params["model"] |= {"depth": 2, "width": 3}
    params["train"] |= {"epochs": 3, "batch_size": 16}
    params["batchnorm"] |= {"activations": ["sigmoid", "tanh"], "after_layers": [1],
                            "seeds": 2, "diagnostic_epochs": [0, 2]}
    spec = Spec.from_params(params, dataset=str(data), train_code="test")
    results = root / "results"
    for act in spec.activations:
        for p in spec.placements:
            w = type("W", (), {"activation": act, "placement": p})
            out = results.parent / spec.run_file(act, p)
            args = [str(a) for a in spec.train_args(w)]
            assert cli.main(["train", "--data", str(data), *args, "--out", str(out)]) == 0
    with pytest.MonkeyPatch.context() as m:
        m.chdir(root)  # run files are named relative to the project's root
        for stage in ("tables", "figures", "section"):
            assert cli.main(["batchnorm", stage, "--spec", study.spec_json(spec),
                             "--results", str(results)]) == 0
    return spec, results


def test_with_and_without_batch_norm_share_initial_weights(trained):
    spec, results = trained
    runs = {p: load_run(results.parent / spec.run_file("sigmoid", p))[2]["theta0"]
            for p in spec.placements}
    plain = Layout(Architecture(spec.depth, spec.width, "sigmoid")).views(runs["none"])
    normed = Layout(Architecture(spec.depth, spec.width, "sigmoid", (1,))).views(runs["after1"])
    for name in plain:
        np.testing.assert_array_equal(plain[name], normed[name], err_msg=name)


def test_tables_have_one_row_per_model_and_the_diagnostic_epochs_only(trained):
    spec, results = trained
    frames = read_study_tables(spec, results / "tables/batchnorm")
    n = len(spec.activations) * len(spec.placements) * spec.seeds
    assert len(frames["runs"]) == len(frames["ratios"]) == n
    assert sorted(frames["layers"].epoch.unique()) == spec.diagnostic_epochs
    assert len(frames["history"]) == n * (spec.train["epochs"] + 1)
    assert list(frames["settings"].placement) == spec.placements * len(spec.activations)


def test_every_declared_figure_is_written_and_linked(trained):
    spec, results = trained
    text = (results / "sections/batchnorm.md").read_text()
    for name, _ in spec.figures():
        assert (results / "figures/batchnorm" / name).read_bytes()[:4] == b"\x89PNG"
        assert f"](figures/batchnorm/{name})" in text
    claims = json.loads((results / "sections/batchnorm.json").read_text())["claims"]
    assert [c["id"] for c in claims] == ["B1", "B2", "B3"]


# ---------------------------------------------------------------- the workflow, tiny


def only_batchnorm() -> dict:
    params = copy.deepcopy(TINY)
    for name, part in params.items():
        if isinstance(part, dict) and "enabled" in part:
            part["enabled"] = name == "batchnorm"
    return params


@pytest.mark.pipeline
def test_tiny_pipeline_with_only_this_study(tmp_path):
    project = make_project(tmp_path / "project", only_batchnorm())
    snakemake(project)
    report = (project / "results/report.md").read_text()
    assert "## Batch normalization and the sigmoid network" in report
    assert set(json.loads((project / "results/metrics.json").read_text())["batchnorm"]
               ["claims"]) == {"B1", "B2", "B3"}
    assert planned_jobs(project) == {}
    (project / "results/figures/batchnorm/final.png").unlink()
    assert set(planned_jobs(project)) == {"batchnorm_figures", "batchnorm_section", "report"}
    assert "good condition" in snakemake(project, "--lint").stderr
