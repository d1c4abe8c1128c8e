"""The gradient study: its statistics on cases with a known answer, every claim passing and
failing on synthetic tables (verdict and prose), the trainer's sanity checks, and its
stages from tiny real runs through the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import legibility
from trainability import cli
from trainability import study as studies
from trainability.markdown import render_section
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.studies.gradients import claims as g_claims
from trainability.studies.gradients import section, stats
from trainability.studies.gradients.spec import Spec
from trainability.studies.gradients.tables import summarize
from trainability.tables import read_study_tables
from trainability.train import train

TRAIN = {"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.9, "eps": 1e-7,
         "eps_convention": "keras", "l2": 0.0, "schedule": "constant", "warmup_epochs": 0,
         "batch_size": 16, "epochs": 3, "seeds": 2}


def params(**gradients) -> dict:
    return {
        "model": {"depth": 2, "width": 3, "init_scale": 1.0, "classifier_init": "glorot_uniform",
                  "batch_norm": []},
        "train": dict(TRAIN),
        "gradients": {"enabled": True, "activations": ["relu", "sigmoid", "tanh"],
                      "inits": ["zeros", "random_normal"], "depths": [1], "seeds": 2,
                      **gradients},
    }


def make_spec(**gradients) -> Spec:
    return Spec.from_params(params(**gradients), "results/data/d.npz", "code-hash")


# ---------------------------------------------------------------- the statistics


def test_log10_ratio_counts_orders_of_magnitude_and_marks_missing_gradients():
    out = stats.log10_ratio([1e-3, 2.0, 0.0, 0.0, 5.0], [1e-1, 2.0, 4.0, 0.0, 0.0])
    np.testing.assert_allclose(out[:2], [-2.0, 0.0])
    assert out[2] == -np.inf and np.isnan(out[3]) and out[4] == np.inf


def test_no_gradient_at_layer_one_is_vanished_past_every_threshold_and_never_held():
    v = [-2.0, -np.inf, np.nan, -73.9, np.inf, 0.5, -0.99]
    np.testing.assert_array_equal(stats.no_gradient(v), [0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(stats.vanished(v), [1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(stats.held(v, 1.0), [0, 0, 0, 0, 0, 1, 1])


@pytest.mark.parametrize(("value", "expected"), [
    (-3.0, "vanishing"), (-1.0, "vanishing"), (-0.99, "stable"), (0.99, "stable"),
    (1.0, "exploding"), (-np.inf, "no gradient"), (np.nan, "no gradient")])
def test_regime_thresholds_are_one_order_of_magnitude(value, expected):
    assert stats.regime(value) == expected


def test_depth_slope_is_the_orders_lost_per_layer_and_no_gradient_lies_below_every_ratio():
    depths = [1, 2, 4, 8, 16]
    assert stats.depth_slope(depths, [0.5 - 0.4 * d for d in depths]) == pytest.approx(-0.4)
    # one outlier does not move a median of pairwise slopes
    assert stats.depth_slope(depths, [-0.4, -0.8, 5.0, -3.2, -6.4]) == pytest.approx(-0.4)
    # losing the gradient deeper down widens the gap; at every depth, it says nothing
    assert stats.depth_slope(depths, [-1.0, -2.0, -np.inf, -np.inf, np.nan]) == -np.inf
    assert stats.depth_slope(depths, [-np.inf, np.nan, 0.0, 0.0, 0.0]) > 0
    assert np.isnan(stats.depth_slope(depths, [-np.inf] * 5))
    assert np.isnan(stats.depth_slope([4], [1.0]))


def test_unit_spread_is_zero_exactly_when_all_units_agree():
    same = np.tile(np.array([[0.3], [-1.2]]), (1, 4))[None]  # (1, 2 inputs, 4 units)
    assert stats.unit_spread(same)[0] == 0.0
    assert stats.unit_spread(np.zeros((1, 3, 5)))[0] == 0.0
    different = same.copy()
    different[0, 1, 2] = -0.6  # one unit differs by 0.6; the largest |g| is 1.2
    assert stats.unit_spread(different)[0] == pytest.approx(0.5)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_zero_init_gives_layer_one_no_gradient_below_a_zero_layer(activation, circles_small):
    arch = Architecture(3, 4, activation)
    theta = init_params(Layout(arch), "zeros", [0, 1], classifier_init="glorot_uniform")
    grads = stats.layer_gradients(arch, theta, circles_small.X_train, circles_small.y_train)
    assert not grads[0].any() and not grads[1].any()


def test_zero_init_units_stay_identical_below_the_last_hidden_layer(circles_small):
    """Sigmoid, zero hidden weights, a glorot classifier: the classifier's weights differ,
    so the last hidden layer's units get different gradients; every layer below stays in
    lockstep (the identity the sanity check tests)."""
    arch = Architecture(3, 4, "sigmoid")
    theta0 = init_params(Layout(arch), "zeros", [0, 1], classifier_init="glorot_uniform")
    result = train(arch, OptimizerConfig("rmsprop", 0.01), circles_small, [0, 1], epochs=5,
                   batch_size=32, theta0=theta0)
    grads = stats.layer_gradients(arch, result.theta, circles_small.X_train,
                                  circles_small.y_train)
    spec = SimpleNamespace(classifier_init="glorot_uniform")
    assert g_claims.symmetric_layers(spec, 3) == [1, 2]
    for layer in (1, 2):
        assert np.abs(grads[layer - 1]).max() > 0
        assert (stats.unit_spread(grads[layer - 1]) <= stats.SYMMETRY_TOL).all()
    assert (stats.unit_spread(grads[2]) > 1e-3).all()


def test_layer_gradients_match_the_trainers_recorded_norms(circles_small):
    arch = Architecture(2, 5, "tanh")
    result = train(arch, OptimizerConfig(), circles_small, [3, 4], epochs=1, batch_size=32,
                   init="glorot_normal")
    grads = stats.layer_gradients(arch, result.theta0, circles_small.X_train,
                                  circles_small.y_train)
    np.testing.assert_allclose(stats.norms(grads), result.history["grad_norm"][:, 0],
                               rtol=1e-10)


def test_sigmoid_chain_loses_the_same_factor_per_layer(circles_small):
    """Each sigmoid layer multiplies the gradient by its weights and by sigmoid' <= 1/4;
    with tiny weights (sigmoid' ~ 1/4 everywhere) log10 ratio falls linearly in depth."""
    logs = []
    for depth in (2, 4, 6, 8):
        arch = Architecture(depth, 8, "sigmoid")
        theta = init_params(Layout(arch), "random_normal", list(range(20)), 0.05)
        norm = stats.norms(stats.layer_gradients(arch, theta, circles_small.X_train,
                                                 circles_small.y_train))
        logs.append(np.mean(stats.log10_ratio(norm[:, 0], norm[:, -1])))
    # per layer: x 1/4 (sigmoid') x 0.05 sqrt(8) (weights) = 0.035, i.e. -1.45 orders
    assert stats.depth_slope([2, 4, 6, 8], logs) == pytest.approx(np.log10(0.25 * 0.05 * 8**0.5),
                                                             abs=0.15)


# ---------------------------------------------------------------- the spec


def test_every_run_gets_the_running_examples_shared_settings():
    spec = make_spec()
    args = [str(a) for a in spec.train_args(SimpleNamespace(activation="tanh", depth="2"))]
    for flag, value in (("--classifier-init", "glorot_uniform"), ("--eps", "1e-07"),
                        ("--eps-convention", "keras"), ("--width", "3"), ("--depth", "2")):
        assert args[args.index(flag) + 1] == value
    assert args[args.index("--init") + 1: args.index("--init") + 3] == ["zeros", "random_normal"]
    assert "--no-diagnostics" not in args  # the running depth records every epoch
    other = [str(a) for a in spec.train_args(SimpleNamespace(activation="tanh", depth="1"))]
    assert "--no-diagnostics" in other


def test_run_files_cover_every_activation_and_depth_with_the_running_depth():
    spec = make_spec(depths=[8, 1])
    assert spec.depths == [1, 2, 8]
    assert spec.run_files()[:3] == [f"results/runs/gradients/relu/d{d}-{spec.tag}.npz"
                                    for d in (1, 2, 8)]


def test_adding_a_depth_keeps_the_other_run_files_and_a_setting_renames_them():
    before = set(make_spec().run_files())
    assert before < set(make_spec(depths=[1, 16]).run_files())
    changed = Spec.from_params({**params(), "train": {**TRAIN, "eps": 1e-3}}, "results/data/d.npz",
                               "code-hash")
    assert not before & set(changed.run_files())


# ---------------------------------------------------------------- claims, synthetic


def ratios_table(cells: dict, diverged: dict | None = None) -> pd.DataFrame:
    """``{(activation, init, depth): per-seed log10 ratios}`` as the ratios table (the same
    values at both moments); -inf: no gradient at layer 1, NaN: none at all. ``diverged``:
    ``{(activation, init, depth): seeds whose training diverged}``."""
    rows = []
    for (act, init, depth), values in cells.items():
        for seed, v in enumerate(values):
            first = 0.0 if v == -np.inf or np.isnan(v) else 10.0 ** v
            classifier = 0.0 if np.isnan(v) else 1.0
            bad = seed in (diverged or {}).get((act, init, depth), ())
            for moment in ("init", "final"):
                rows.append(dict(activation=act, init=init, depth=depth, seed=seed,
                                 moment=moment, grad_norm_first=first,
                                 grad_norm_classifier=classifier, log10_ratio=v,
                                 regime="diverged" if bad and moment == "final"
                                 else stats.regime(v),
                                 status="diverged" if bad else "ok"))
    return pd.DataFrame(rows)


NOISE = np.array([-0.1, 0.05, 0.1, -0.05, 0.0])
DEPTHS = (1, 2, 4)


def cells(sigmoid, relu, tanh) -> dict:
    """Per-seed values from functions of depth (5 seeds each, a little noise)."""
    out = {}
    for act, f in (("sigmoid", sigmoid), ("relu", relu), ("tanh", tanh)):
        for d in DEPTHS:
            out[act, "random_normal", d] = f(d) + NOISE
    return out


def synthetic_spec(dataset: str = "unused.npz") -> Spec:
    return Spec.from_params(params(depths=list(DEPTHS), seeds=5), dataset, "code")


def synthetic_tables(ratios: pd.DataFrame) -> dict:
    models = ratios[ratios.moment == "final"][["activation", "init", "depth", "seed",
                                               "status"]].assign(
        diverged_epoch=np.nan, float32_fault=False, train_loss=0.3,
        test_acc=lambda f: np.where(f.status == "ok", 0.9, np.nan))
    layers = pd.DataFrame(columns=["activation", "init", "depth", "seed", "moment", "layer",
                                   "classifier", "grad_norm", "unit_spread"])
    epochs = pd.DataFrame(columns=["activation", "init", "depth", "seed", "epoch", "layer",
                                   "grad_mean", "grad_std", "grad_norm"])
    return {"models": models, "ratios": ratios, "layers": layers, "epochs": epochs}


VANISHING = dict(sigmoid=lambda d: -0.5 - 0.6 * d, relu=lambda d: 0.0 * d - 0.2,
                 tanh=lambda d: 0.0 * d + 0.1)
FLAT_SIGMOID = {**VANISHING, "sigmoid": lambda d: 0.0 * d - 0.3}
TANH_VANISHES = {**VANISHING, "tanh": lambda d: 0.0 * d - 3.0}
EXPLODING = {**VANISHING, "relu": lambda d: 0.0 * d + 2.0, "tanh": lambda d: 0.0 * d + 2.0}


def judged(kind: dict, diverged: dict | None = None) -> dict:
    tables = synthetic_tables(ratios_table(cells(**kind), diverged))
    return {c.key: c for c in g_claims.evaluate(synthetic_spec(), tables)}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    """A dataset file for the section (its test split's constant guess)."""
    path = tmp_path_factory.mktemp("gradients-data") / "d.npz"
    assert cli.main(["dataset", "--n-samples", "120", "--out", str(path)]) == 0
    return str(path)


def rendered(kind: dict, dataset: str) -> str:
    spec = synthetic_spec(dataset)
    tables = synthetic_tables(ratios_table(cells(**kind)))
    claims = g_claims.evaluate(spec, tables)
    context = section.context(spec, tables, claims, [], "figures/gradients")
    text = "\n".join(render_section("gradients", context))
    return " ".join(text.split())  # sentences wrap anywhere in the template


SIGMOID_PASS = "show the mechanism the lecture names"
SIGMOID_FAIL = "Not every sigmoid network measured here"
HOLD_PASS = "keep layer 1's gradient within an order of magnitude of the classifier's at"
HOLD_FAIL = "Not every ReLU or tanh network keeps"


def test_sigmoid_claim_passes_when_the_gradient_vanishes_with_depth(dataset):
    claim = judged(VANISHING)["sigmoid-vanishes"]
    assert claim.id == "G1" and claim.verdict == "supported"
    assert [c.verdict for c in claim.checks] == ["passes", "passes"]
    text = rendered(VANISHING, dataset)
    assert SIGMOID_PASS in text and SIGMOID_FAIL not in text


def test_sigmoid_claim_fails_when_the_gradient_neither_vanishes_nor_shrinks_with_depth(dataset):
    claim = judged(FLAT_SIGMOID)["sigmoid-vanishes"]
    assert claim.verdict == "not supported"
    assert [c.verdict for c in claim.checks] == ["fails", "fails"]
    text = rendered(FLAT_SIGMOID, dataset)
    assert SIGMOID_FAIL in text and SIGMOID_PASS not in text


def test_relu_tanh_claim_passes_when_layer_one_keeps_its_gradient(dataset):
    claim = judged(VANISHING)["relu-tanh-hold"]
    assert claim.id == "G2" and claim.verdict == "supported"
    assert len(claim.checks) == 2 * len(DEPTHS)
    text = rendered(VANISHING, dataset)
    assert HOLD_PASS in text and HOLD_FAIL not in text


def test_relu_tanh_claim_fails_when_a_gradient_vanishes(dataset):
    claim = judged(TANH_VANISHES)["relu-tanh-hold"]
    assert claim.verdict == "partly"
    assert {c.what for c in claim.checks if c.failed} == {
        f"tanh/random_normal, depth {d}" for d in DEPTHS}
    text = rendered(TANH_VANISHES, dataset)
    assert HOLD_FAIL in text and HOLD_PASS not in text


@pytest.mark.parametrize("key", ["sigmoid-vanishes", "relu-tanh-hold"])
def test_every_check_passes_on_one_table_and_fails_on_another(key):
    """No check is decided by construction: each one's verdict follows the data."""
    verdicts = {}
    for kind in (VANISHING, FLAT_SIGMOID, TANH_VANISHES, EXPLODING):
        for check in judged(kind)[key].checks:
            verdicts.setdefault(check.what, set()).add(check.verdict)
    assert verdicts and all({"passes", "fails"} <= v for v in verdicts.values()), verdicts


def test_a_seed_without_a_gradient_at_layer_one_counts_as_vanished_not_as_a_made_up_number():
    """A seed with no gradient at layer 1 is as vanished as a measured -73.9 (the old -16
    stand-in made it less): G1 counts both as vanished, G2 both as outside."""
    dead = np.array([-73.9, -np.inf, np.nan, -2.0, -3.0])
    table = ratios_table({**cells(**VANISHING), ("sigmoid", "random_normal", 2): dead,
                          ("relu", "random_normal", 4): dead})
    claims = {c.key: c for c in g_claims.evaluate(synthetic_spec(), synthetic_tables(table))}
    # the running depth of synthetic_spec is 2
    vanish = claims["sigmoid-vanishes"].check("sigmoid/random_normal, depth 2")
    assert (vanish.effect, vanish.n) == (1.0, 5) and vanish.passed
    assert "2 with no gradient at layer 1" in vanish.detail
    hold = claims["relu-tanh-hold"].check("relu/random_normal, depth 4")
    assert (hold.effect, hold.n) == (0.0, 5) and hold.failed


def test_one_dead_seed_of_five_leaves_the_share_undecided_whatever_the_others_say():
    """4 of 5 seeds within an order of magnitude: a share of 0.8 whose interval reaches
    below one half; a mean of clipped logs would have sat near 3.2 orders."""
    cell = np.array([0.1, -0.1, -np.inf, 0.2, 0.0])
    table = ratios_table({**cells(**VANISHING), ("relu", "random_normal", 4): cell})
    claims = {c.key: c for c in g_claims.evaluate(synthetic_spec(), synthetic_tables(table))}
    check = claims["relu-tanh-hold"].check("relu/random_normal, depth 4")
    assert check.effect == pytest.approx(0.8) and check.verdict == "inconclusive"
    assert "1 with no gradient at layer 1" in check.detail
    assert section.no_gradient(synthetic_spec(), table) == [
        "relu/random_normal, depth 4: 1 of 5 seeds"]


def test_a_diverged_seed_counts_against_the_claim_in_every_check():
    diverged = {("sigmoid", "random_normal", 2): [0], ("relu", "random_normal", 1): [3]}
    claims = judged(VANISHING, diverged)
    for key, what in (("sigmoid-vanishes", "sigmoid/random_normal, depth 2"),
                      ("sigmoid-vanishes", "sigmoid/random_normal, slope"),
                      ("relu-tanh-hold", "relu/random_normal, depth 1")):
        check = claims[key].check(what)
        assert check.effect == pytest.approx(0.8) and not check.passed, what
        assert "1 diverged in training, counted against" in check.detail
    assert "counts against the claim in every check" in claims["relu-tanh-hold"].rule


def test_the_running_table_scores_a_diverged_seed_as_the_constant_guess(dataset):
    from trainability.data import load_dataset
    from trainability.scoring import Guess

    ratios = ratios_table(cells(**VANISHING), {("tanh", "random_normal", 2): [1]})
    tables = synthetic_tables(ratios)
    guess = Guess.of(load_dataset(dataset).y_test)
    rows = {r["activation"]: r for r in section.running(
        synthetic_spec(dataset), summarize(ratios), tables["models"], guess)}
    assert rows["relu"]["test_acc"] == "0.900 over 5 seeds"
    assert rows["tanh"]["test_acc"] == (f"{(4 * 0.9 + guess.accuracy) / 5:.3f} over 5 seeds "
                                        "(1 diverged, scored as a constant guess)")


def test_claims_are_not_tested_without_their_networks():
    table = ratios_table({("relu", "zeros", 2): [np.nan, np.nan]})
    claims = g_claims.evaluate(synthetic_spec(), synthetic_tables(table))
    assert [c.verdict for c in claims] == ["not tested", "not tested"]


# ---------------------------------------------------------------- sanity, synthetic


def test_symmetry_sanity_breaks_on_different_units_below_the_last_layer():
    spec = make_spec()  # glorot classifier: layer 2 of depth 2 may differ, layer 1 may not
    ratios = ratios_table({("sigmoid", "zeros", 2): [-np.inf, -np.inf]})
    layers = pd.DataFrame({"activation": "sigmoid", "init": "zeros", "depth": 2,
                           "seed": 0, "moment": "init", "layer": [1, 2, 3],
                           "classifier": [False, False, True],
                           "grad_norm": 1.0, "unit_spread": [0.0, 0.3, np.nan]})
    tables = {**synthetic_tables(ratios), "layers": layers}
    ok = {s.what: s.ok for s in g_claims.sanity(spec, tables)}
    assert ok["sigmoid/zeros: the units of a layer stay identical"]
    layers.loc[0, "unit_spread"] = 1e-3
    ok = {s.what: s.ok for s in g_claims.sanity(spec, tables)}
    assert not ok["sigmoid/zeros: the units of a layer stay identical"]
    assert ok["sigmoid/zeros: no gradient at layer 1 at initialization (depth >= 2)"]


# ---------------------------------------------------------------- stages, tiny real runs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The three stages through the command line, from real tiny runs trained with the
    spec's own arguments: ``(folder, spec)``."""
    root = tmp_path_factory.mktemp("gradients")
    here = os.getcwd()
    os.chdir(root)
    try:
        data = "results/data/d.npz"
        assert cli.main(["dataset", "--n-samples", "120", "--test-fraction", "0.25",
                         "--out", data]) == 0
        spec = Spec.from_params(params(), data, "code-hash")
        for act in spec.activations:
            for depth in spec.depths:
                args = spec.train_args(SimpleNamespace(activation=act, depth=str(depth)))
                assert cli.main(["train", "--data", data, *map(str, args),
                                 "--out", spec.run_file(act, depth)]) == 0
        text = studies.spec_json(spec)
        for stage in ("tables", "figures", "section"):
            assert cli.main(["gradients", stage, "--spec", text]) == 0
    finally:
        os.chdir(here)
    return root, spec


def test_tables_hold_every_model_at_both_moments_and_the_running_example_per_epoch(tiny):
    root, spec = tiny
    folder = root / "results/tables/gradients"
    ratios = pd.read_csv(folder / "ratios.csv")
    n_models = len(spec.activations) * len(spec.inits) * len(spec.depths) * spec.seeds
    assert len(ratios) == 2 * n_models and set(ratios.moment) == {"init", "final"}
    epochs = pd.read_csv(folder / "epochs.csv.gz")
    assert set(epochs["init"]) == {"random_normal"} and set(epochs.depth) == {spec.depth}
    assert len(epochs) == (len(spec.activations) * spec.seeds * (TRAIN["epochs"] + 1)
                           * (spec.depth + 1))
    # zero init with relu: no gradient anywhere; sigmoid at depth 2: none at layer 1
    zr = ratios[(ratios["init"] == "zeros") & (ratios.activation == "relu")]
    assert (zr.regime == "no gradient").all()
    zs = ratios[(ratios["init"] == "zeros") & (ratios.activation == "sigmoid")
                & (ratios.moment == "init") & (ratios.depth == 2)]
    assert (zs.grad_norm_first == 0).all() and (zs.grad_norm_classifier > 0).all()


def test_section_links_every_declared_figure_and_writes_its_claims(tiny):
    root, spec = tiny
    results = root / "results"
    text = (results / "sections/gradients.md").read_text()
    appendix = (results / "appendix/gradients.md").read_text()
    assert text.startswith("## Vanishing and exploding gradients\n")
    for name, _ in spec.figures():  # in the main text or in the appendix
        assert (results / "figures/gradients" / name).stat().st_size > 0
        assert f"](figures/gradients/{name})" in text or f"](../figures/gradients/{name})" \
            in appendix
    out = json.loads((results / "sections/gradients.json").read_text())
    assert [c["id"] for c in out["claims"]] == ["G1", "G2"]
    assert all(s["ok"] for s in out["sanity"]) and len(out["sanity"]) >= 4
    assert set(out["metrics"]["running_example"]) == set(spec.activations)


@pytest.mark.pipeline
def test_study_plans_alone_and_switches_off(tmp_path):
    from pipeline_helpers import TINY, make_project, planned_jobs, snakemake, write_params

    only = {k: ({**v, "enabled": k == "gradients"} if isinstance(v, dict) and "enabled" in v
                else v) for k, v in TINY.items()}
    project = make_project(tmp_path / "p", only)
    out = snakemake(project, "-n", "gradients").stdout
    for rule in ("gradients_train", "gradients_tables", "gradients_figures",
                 "gradients_section"):
        assert rule in out
    assert "grid_train" not in out
    write_params(project, {**only, "gradients": {**only["gradients"], "enabled": False}})
    assert not any(r.startswith("gradients") for r in planned_jobs(Path(project)))


@pytest.mark.legibility
def test_every_figure_is_legible(tiny, monkeypatch):
    root, spec = tiny
    monkeypatch.chdir(root)
    tables = read_study_tables(spec, root / "results/tables/gradients")
    legibility.assert_legible(studies.module("gradients", "figures").make(spec, tables))
