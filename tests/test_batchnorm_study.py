"""The batch-norm study: its claims on synthetic tables where each of their checks passes
and fails, the rendered section following the verdicts (and the measured direction of the
gradient ratio), its stages through the CLI on tiny real runs, and its rules on the tiny
pipeline."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

import legibility
from pipeline_helpers import TINY, make_project, planned_jobs, snakemake
from trainability import cli, study
from trainability.claims import Sanity
from trainability.data import Dataset, load_dataset, save_dataset
from trainability.io import load_run
from trainability.markdown import render_section
from trainability.model import Architecture, Layout
from trainability.scoring import Guess
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
    "learns": {"accuracy": 0.95, "chance_margin": 0.05},
    "grid": {"activations": ["relu", "sigmoid", "tanh"], "inits": ["random_normal", "zeros"],
             "widths": [5, 16], "diagnostic_epochs": [0, 100], "float32_from": 16,
             "animate": {"activations": [], "inits": [], "every": 5}},
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


@pytest.mark.parametrize(("change", "same"), [
    ({}, True),
    ({"grid": {"inits": ["zeros"]}}, False),  # the grid trains no random_normal network
    ({"grid": {"activations": ["relu"]}}, False),
    ({"model": {"batch_norm": [1]}}, False),  # the grid's networks have batch norm
    ({"grid": {"float32_from": 5}}, False),  # the grid trains width 5 in float32
])
def test_the_grid_shares_its_seeds_only_where_it_trains_the_same_network(change, same):
    params = copy.deepcopy(PARAMS)
    for part, values in change.items():
        params[part] |= values
    spec = Spec.from_params(params, "d.npz", "abc")
    assert spec.grid_seeds == (PARAMS["train"]["seeds"] if same else None)
    assert spec.learns == PARAMS["learns"]
    assert spec.tag == Spec.from_params(PARAMS, "d.npz", "abc").tag  # it names no run file


# ---------------------------------------------------------------- synthetic tables


@pytest.fixture
def spec(tmp_path):
    """The default-like spec over a dataset whose test set is balanced: a constant guess
    scores 0.5."""
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
            "ratios": tables.ratios(layers, spec)}


def verdicts(spec, frames) -> dict[str, str]:
    return {c.key: c.verdict for c in bn_claims.evaluate(spec, frames)}


def judged(spec, frames) -> dict:
    return {c.key: c for c in bn_claims.evaluate(spec, frames)}


def rendered(spec, frames, sanity=()) -> str:
    found = bn_claims.evaluate(spec, frames)
    context = section.context(spec, frames, found, list(sanity), "figures/batchnorm")
    return "\n".join(render_section("batchnorm", context))


def one_line(text: str) -> str:
    return " ".join(text.split())


LECTURE_LIKE = {("sigmoid", "none"): 0.6}  # sigmoid lags without BN; everything else learns
SIGMOID_LEARNS = {("sigmoid", "none"): 0.97}  # e.g. after `-S train.lr=0.01`
# sentences of each interpretation, as rendered (whitespace collapsed)
B1_PASS = "Batch normalization rescues the sigmoid network here"
B1_FAIL = "By this rule batch normalization does not rescue the sigmoid network here"
B1_PARTLY = "The checks disagree: some pass and some fail"
NOTHING_TO_RESCUE = "learns without batch normalization here, so there is nothing to rescue"
B2_PASS = "Batch normalization costs the other activations at most the allowed"
B2_FAIL = "Batch normalization costs the other activations more test accuracy than allowed"
B3_PASS = "batch normalization raises the first layer's gradient relative to the classifier's"
B3_FAIL = "Batch normalization does not raise the first layer's gradient relative to the"
BOTH = "Both measurements point the same way"
OPEN_LAGS = "below the 0.95 this report counts as learning"
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


# ---------------------------------------------------------------- every check both ways

# per claim: the tables in which the check named ``what`` fails (LECTURE_LIKE: all pass)
def _failing(spec, key: str, what: str) -> dict:
    if key == "bn-rescues-sigmoid":
        placement = next(p for p in spec.placements if placement_label(p) in what)
        if what.endswith(": learns"):  # still a gain of 0.33, but below 0.95
            return synthetic(spec, LECTURE_LIKE | {("sigmoid", placement): 0.93})
        return synthetic(spec, {("sigmoid", "none"): 0.89})  # a gain of 0.09 at most
    if key == "bn-harmless":
        act, label = what.split(", ")
        placement = next(p for p in spec.placements if placement_label(p) == label)
        return synthetic(spec, LECTURE_LIKE | {(act, placement): 0.85})
    placement = next(p for p in spec.placements if placement_label(p) in what)
    return synthetic(spec, LECTURE_LIKE, {("sigmoid", placement): -2.0})  # as without


@pytest.mark.parametrize("key", ["bn-rescues-sigmoid", "bn-harmless", "bn-gradient"])
def test_every_check_of_every_claim_can_pass_and_can_fail(spec, key):
    claim = judged(spec, synthetic(spec, LECTURE_LIKE))[key]
    assert claim.checks and all(c.passed for c in [*claim.checks, *claim.guards])
    for check in claim.checks:
        flipped = judged(spec, _failing(spec, key, check.what))[key]
        assert flipped.check(check.what).failed, check.what
        assert flipped.verdict != "supported"


def test_the_premise_of_the_rescue_is_apart_and_fails_when_sigmoid_learns_alone(spec):
    frames = synthetic(spec, SIGMOID_LEARNS)
    claim = judged(spec, frames)["bn-rescues-sigmoid"]
    premise = claim.premises[0]
    assert premise.what == "sigmoid, no batch norm: does not learn" and premise.failed
    assert premise not in claim.checks  # never support
    lagging = judged(spec, synthetic(spec, LECTURE_LIKE))["bn-rescues-sigmoid"].premises[0]
    assert lagging.passed and lagging.threshold == 0.95  # params.yaml's learns


def test_a_sigmoid_network_that_learns_without_bn_leaves_nothing_to_rescue(spec):
    frames = synthetic(spec, SIGMOID_LEARNS)  # 0.97 without BN: no room for a gain of 0.10
    claim = judged(spec, frames)["bn-rescues-sigmoid"]
    assert claim.verdict == "partly"  # learns with BN (passes), the premise fails
    assert [c.what for c in claim.checks] == ["sigmoid, BN after layer 3: learns",
                                              "sigmoid, BN after every layer: learns"]
    gains = [g for g in claim.guards if g.what.endswith(": gain")]
    assert len(gains) == 2 and all(g.threshold == -bn_claims.SLACK and g.passed for g in gains)
    text = one_line(rendered(spec, frames))
    assert OPEN_LEARNS in text and "learns without help" in text
    assert OPEN_LAGS not in text and B1_PASS not in text and BOTH not in text
    assert B1_PARTLY in text and NOTHING_TO_RESCUE in text
    assert "rescue" not in text.split("**Claim B1")[0].lower()  # title and opening


def test_a_gain_with_no_room_to_show_is_a_no_harm_check_that_can_fail(spec):
    # 0.92 without BN does not learn, so the premise holds, but no gain of 0.10 can show
    harmless = judged(spec, synthetic(spec, {("sigmoid", "none"): 0.92}))["bn-rescues-sigmoid"]
    assert harmless.verdict == "supported" and len(harmless.apart) == 3
    costly = {("sigmoid", "none"): 0.92, ("sigmoid", "after3"): 0.89}  # BN costs 0.03
    claim = judged(spec, synthetic(spec, costly))["bn-rescues-sigmoid"]
    assert claim.guards[0].what == "sigmoid, BN after layer 3: gain" and claim.guards[0].failed
    assert claim.verdict == "partly"
    text = one_line(rendered(spec, synthetic(spec, {("sigmoid", "none"): 0.92})))
    assert "so no gain of 0.1 is possible" in text


def test_batch_norm_that_does_not_help_the_sigmoid_network_is_not_supported(spec):
    frames = synthetic(spec, LECTURE_LIKE | {("sigmoid", "after3"): 0.62,
                                             ("sigmoid", "every"): 0.6})
    assert verdicts(spec, frames)["bn-rescues-sigmoid"] == "not supported"
    text = one_line(rendered(spec, frames))
    assert B1_FAIL in text and B1_PASS not in text and BOTH not in text


def test_a_diverged_seed_counts_as_learning_nothing_not_dropped(spec):
    acc = [0.99] * (SEEDS - 3) + [None] * 3
    frames = synthetic(spec, LECTURE_LIKE | {("sigmoid", "after3"): acc})
    claim = judged(spec, frames)["bn-rescues-sigmoid"]
    check = claim.check("sigmoid, BN after layer 3: learns")
    scored = (0.99 * (SEEDS - 3) + 0.5 * 3) / SEEDS
    assert check.effect == pytest.approx(scored)
    assert check.n == SEEDS and not check.passed
    assert "3 diverged, scored as a constant guess" in check.detail
    assert claim.verdict != "supported"
    # the settings table shows the same scored mean, printed once
    text = one_line(rendered(spec, frames))
    assert f"| sigmoid | BN after layer 3 | {scored:.3f} ± " in text
    assert f"(n = {SEEDS}; 3 diverged)" in text


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


def test_a_first_layer_without_gradient_is_the_most_vanished_not_clipped(spec):
    frames = synthetic(spec, LECTURE_LIKE, {("sigmoid", "none"): -20.0})  # measured 1e-20
    ratios = frames["ratios"]
    assert ratios[ratios.placement == "none"].query("activation == 'sigmoid'").log10_ratio \
        .eq(-20.0).all()
    layers = frames["layers"].copy()
    layers.loc[(layers.activation == "sigmoid") & (layers.placement == "none")
               & (layers.layer == 1), "grad_norm"] = 0.0
    zero = tables.ratios(layers, spec)
    assert (zero[(zero.activation == "sigmoid") & (zero.placement == "none")].log10_ratio
            < -300).all()


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
    assert "the first layer's gradient norm is 10x larger than the classifier's" in text
    assert not re.search(r"the first layer's gradient norm is [0-9.]+x smaller", text)
    smaller = one_line(rendered(spec, synthetic(spec, LECTURE_LIKE)))
    assert "the first layer's gradient norm is 100x smaller than the classifier's" in smaller
    assert not re.search(r"the first layer's gradient norm is [0-9.]+x larger", smaller)


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


@pytest.mark.parametrize(("grid_seeds", "words"), [
    (5, "over seeds 0 to 4 this section's mean test accuracy is 0.600 (the grid's runs), over "
        "the 1 seed only this section trains it is 0.900: this section's mean over all 6 "
        "seeds averages 1 run the grid does not have"),
    (6, "over the same 6 seeds (`train.seeds`): the same runs, so the same numbers"),
    (8, "this section's seeds are the grid's first 6, so the grid's mean is over more seeds"),
    (None, "The grid's runs of this network are not these in this configuration"),
])
def test_the_lecture_setting_states_its_seeds_and_how_they_meet_the_grids(spec, grid_seeds,
                                                                          words):
    changed = Spec(**{**spec.__dict__, "grid_seeds": grid_seeds})
    frames = synthetic(changed, {("sigmoid", "none"): [0.6] * 5 + [0.9]})
    text = one_line(rendered(changed, frames))
    assert "(the sigmoid network without batch norm): 6 seeds (`batchnorm.seeds`), each fit " \
        "on the 20 training points" in text
    assert words in text


@pytest.mark.parametrize(("convention", "words"), [
    ("keras", "inside the square root, sqrt(s + eps), as Keras 3 does"),
    ("pytorch", "outside the square root, sqrt(s) + eps, as PyTorch and tf.keras up to 2.10 do"),
])
def test_the_eps_placement_is_stated_as_our_choice(spec, convention, words):
    changed = Spec(**{**spec.__dict__, "train": spec.train | {"eps_convention": convention}})
    text = one_line(rendered(changed, synthetic(changed, LECTURE_LIKE)))
    assert (f"**Where eps sits** is our choice, not the lecture's: `train.eps_convention` = "
            f"`{convention}`, {words}") in text
    assert "Which Keras made the lecture's figures is not known" in text
    assert "the lecture's: keras" not in text and "(Keras 3's)" not in text


def test_the_section_shows_its_sanity_checks(spec):
    frames = synthetic(spec, LECTURE_LIKE)
    broken = Sanity("every divergence persists in float64", 2, False, "2 models diverged")
    text = one_line(rendered(spec, frames, [broken]))
    assert "| every divergence persists in float64 | 2 models diverged | **broken** |" in text


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


def test_without_batch_norm_a_seed_the_grid_trains_too_is_the_grids_run(tmp_path):
    """What the section's "the same run in both" rests on: the sigmoid network without
    batch norm, seed by seed, is the grid's model bit for bit."""
    from trainability.studies.grid.spec import Spec as GridSpec

    data = tmp_path / "data.npz"
    assert cli.main(["dataset", "--n-samples", "120", "--out", str(data)]) == 0
    params = copy.deepcopy(PARAMS)
    params["model"] |= {"depth": 2, "width": 3}
    params["train"] |= {"epochs": 3, "batch_size": 16, "seeds": 2}
    params["data"] = {"name": "circles"}  # the grid's spec keeps it for its Setup
    params["batchnorm"] |= {"activations": ["sigmoid"], "after_layers": [1], "seeds": 3,
                            "diagnostic_epochs": [0]}
    bn = Spec.from_params(params, str(data), "test")
    grid = GridSpec.from_params(params, str(data), "test")
    assert bn.grid_seeds == 2
    theta = {}
    for name, spec, w in (
            ("grid", grid, type("W", (), {"activation": "sigmoid", "width": "3"})),
            ("batchnorm", bn, type("W", (), {"activation": "sigmoid", "placement": "none"}))):
        out = tmp_path / f"{name}.npz"
        args = [str(a) for a in spec.train_args(w)]
        assert cli.main(["train", "--data", str(data), *args, "--out", str(out)]) == 0
        arrays = load_run(out)[2]
        rows = [i for i, init in enumerate(arrays["inits"]) if init == bn.init] \
            if "inits" in arrays else list(range(len(arrays["theta"])))
        theta[name] = arrays["theta"][rows]
    assert len(theta["grid"]) == 2 and len(theta["batchnorm"]) == 3
    assert np.array_equal(theta["grid"], theta["batchnorm"][:2])


def test_tables_have_one_row_per_model_and_the_diagnostic_epochs_only(trained):
    spec, results = trained
    frames = read_study_tables(spec, results / "tables/batchnorm")
    n = len(spec.activations) * len(spec.placements) * spec.seeds
    assert len(frames["runs"]) == len(frames["ratios"]) == n
    assert sorted(frames["layers"].epoch.unique()) == spec.diagnostic_epochs
    assert len(frames["history"]) == n * (spec.train["epochs"] + 1)
    guess = Guess.of(load_dataset(spec.dataset).y_test)
    scored = section.settings(spec, frames["runs"], frames["history"], guess, guess)
    assert list(scored.placement) == spec.placements * len(spec.activations)


def test_every_declared_figure_is_written_and_linked(trained):
    spec, results = trained
    text = (results / "sections/batchnorm.md").read_text()
    appendix = (results / "appendix/batchnorm.md").read_text()
    for name, _ in spec.figures():
        assert (results / "figures/batchnorm" / name).read_bytes()[:4] == b"\x89PNG"
        assert f"](figures/batchnorm/{name})" in text or f"](../figures/batchnorm/{name})" \
            in appendix
    out = json.loads((results / "sections/batchnorm.json").read_text())
    assert [c["id"] for c in out["claims"]] == ["B1", "B2", "B3"]
    assert "every divergence persists in float64" in appendix  # every study's sanity
    assert [s["what"] for s in out["sanity"]][:1] == ["every divergence persists in float64"]


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
    assert set(json.loads((project / "results/metrics.json").read_text())["claims"]
               ["batchnorm"]) == {"bn-rescues-sigmoid", "bn-harmless", "bn-gradient"}
    assert planned_jobs(project) == {}
    (project / "results/figures/batchnorm/final.png").unlink()
    assert set(planned_jobs(project)) == {"batchnorm_figures", "batchnorm_section", "report",
                                          "report_html"}
    assert "good condition" in snakemake(project, "--lint").stderr


@pytest.mark.legibility
def test_every_figure_is_legible(trained, monkeypatch):
    spec, results = trained
    monkeypatch.chdir(results.parent)
    tables = read_study_tables(spec, results / "tables/batchnorm")
    legibility.assert_legible(study.module("batchnorm", "figures").make(spec, tables))
