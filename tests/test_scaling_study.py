"""The scaling study: layer statistics on cases with a known answer, the histograms' ranges,
the rescaled inputs, the spec's arguments and tags, every claim passing and failing on
synthetic tables (with the section's sentences following the verdicts), the stages on a
tiny real run through the CLI, and the tiny pipeline with only this study on."""

from __future__ import annotations

import copy
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import legibility
from pipeline_helpers import TINY
from trainability import cli, study
from trainability.markdown import render_section
from trainability.model import Architecture, Layout, init_params
from trainability.scoring import Guess, Learns
from trainability.studies.scaling import claims as sc
from trainability.studies.scaling import inputs as si
from trainability.studies.scaling import runs as sr
from trainability.studies.scaling import section
from trainability.studies.scaling.spec import VARIANTS, Spec
from trainability.tables import read_study_tables

RNG = np.random.default_rng(7)
X = RNG.normal(size=(300, 2))  # standardized-looking inputs


def _stats(activation, init, scale=1.0, depth=4, width=16, seeds=range(200), X=X):
    arch = Architecture(depth, width, activation)
    theta = init_params(Layout(arch), init, list(seeds), scale)
    return [sr.layer_stats(z, a, activation) for z, a in sr.forward_layers(arch, theta, X)]


# ---------------------------------------------------------------- the statistics


def test_linear_orthogonal_layers_keep_the_signal_exactly():
    """An orthogonal square matrix is a rotation: the trace of the outputs' covariance
    (so the signal) and their mean square are the same in every layer."""
    stats = _stats("linear", "orthogonal", depth=8, width=6, seeds=range(3))
    signal = np.array([s["signal"] for s in stats])  # (layers, models)
    rms = np.array([s["rms"] for s in stats])
    np.testing.assert_allclose(signal, np.broadcast_to(signal[0], signal.shape), rtol=1e-12)
    np.testing.assert_allclose(rms, np.broadcast_to(rms[0], rms.shape), rtol=1e-12)


def test_linear_layers_multiply_the_signal_variance_by_fan_in_times_weight_variance():
    std = 0.4
    signal = np.array([s["signal"] for s in _stats("linear", "random_normal", scale=std,
                                                    depth=3, width=16)])
    gain = np.mean(signal[1:] ** 2 / signal[:-1] ** 2, axis=1)  # mean over 200 models
    np.testing.assert_allclose(gain, 16 * std**2, rtol=0.05)
    lecun = np.array([s["signal"] for s in _stats("linear", "lecun_normal", depth=3)])
    np.testing.assert_allclose(np.mean(lecun[1:] ** 2 / lecun[:-1] ** 2, axis=1), 1.0, rtol=0.05)


def test_he_init_keeps_the_mean_square_of_relu_layers():
    """He et al.: with variance 2 / fan_in, E[a^2] is the same in every relu layer; half
    the outputs are exactly 0."""
    stats = _stats("relu", "he_normal", depth=5, width=32)
    ms = np.array([np.mean(s["rms"] ** 2) for s in stats])
    np.testing.assert_allclose(ms[1:] / ms[:-1], 1.0, rtol=0.06)
    np.testing.assert_allclose([np.mean(s["zero"]) for s in stats], 0.5, atol=0.02)
    assert all(np.isnan(s["saturated"]).all() for s in stats)


def test_tiny_weights_shrink_the_sigmoid_signal_by_a_quarter_of_the_weights_per_layer():
    """Around 0, sigmoid(z) ~ 1/2 + z / 4: each layer multiplies the signal by about
    sigmoid'(0) x std x sqrt(fan_in); the outputs sit at 1/2."""
    std, width = 0.01, 16
    stats = _stats("sigmoid", "random_normal", scale=std, depth=4, width=width)
    signal = np.array([s["signal"] for s in stats])
    gain = np.exp(np.mean(np.log(signal[1:] / signal[:-1]), axis=1))
    np.testing.assert_allclose(gain, 0.25 * std * np.sqrt(width), rtol=0.1)
    np.testing.assert_allclose([s["mean"].mean() for s in stats], 0.5, atol=1e-3)
    assert all(s["saturated"].max() == 0 for s in stats)


def test_huge_weights_saturate_tanh_and_tiny_ones_do_not():
    stats = _stats("tanh", "random_normal", scale=100.0, depth=3, width=8, seeds=range(10))
    assert all(s["saturated"].min() > 0.9 for s in stats[1:])
    tiny = _stats("tanh", "random_normal", scale=0.01, depth=3, width=8, seeds=range(10))
    assert all(s["saturated"].max() == 0 for s in tiny)


def test_a_deeper_network_starts_with_the_shallow_networks_layers():
    """Weights are drawn layer by layer, so a deep profile network's first layers are the
    shallow network's."""
    shallow, deep = Architecture(2, 5, "tanh"), Architecture(6, 5, "tanh")
    outs = [sr.forward_layers(a, init_params(Layout(a), "glorot_normal", [0, 1]), X)
            for a in (shallow, deep)]
    for (_, a_shallow), (_, a_deep) in zip(outs[0], outs[1][:2], strict=True):
        np.testing.assert_array_equal(a_shallow, a_deep)


# ---------------------------------------------------------------- histograms and inputs


def test_each_panel_takes_the_central_range_of_its_own_outputs_within_the_activations():
    v = np.r_[np.arange(1.0, 1001.0), np.zeros(500)]  # zeros do not count
    assert sr.output_range("relu", v) == (0.0, pytest.approx(np.percentile(v[v != 0], 99.75)))
    tiny = 0.5 + 1e-3 * np.linspace(-1, 1, 2001)  # sigmoid of tiny weights: 0.5 +- 0.001
    lo, hi = sr.output_range("sigmoid", tiny)
    assert 0.499 < lo < hi < 0.501  # its own spread, not the activation's [0, 1]
    assert sr.output_range("tanh", np.r_[-np.ones(10), np.ones(10), 0.5]) == (-1.0, 1.0)
    lo, hi = sr.output_range("elu", -np.arange(1.0, 101.0))
    assert hi == 0.0 and lo == pytest.approx(np.percentile(-np.arange(1.0, 101.0), 0.25))


def test_a_badly_scaled_layer_is_binned_on_its_own_range_not_in_one_end_bin():
    """relu with std-1 weights: each layer's outputs ~7x the previous layer's."""
    X = np.random.default_rng(0).normal(size=(200, 2))
    arch = Architecture(4, 100, "relu", n_inputs=2)
    layers = sr.forward_layers(arch, init_params(Layout(arch), "random_normal", [0, 1], 1.0), X)
    for _, a in layers:
        counts = sr.binned(a, *sr.output_range("relu", a), 40)[:40]
        assert counts.max() < 0.3 * counts.sum()  # no bar holds most of the outputs


def test_binned_clips_into_the_end_bins_and_counts_zeros_apart():
    c = sr.binned(np.array([[0.0, 0.0, 0.25, 0.75, 5.0, -1.0, np.nan]]), 0.0, 1.0, 2)
    counts, zeros, below, above = c[:2], c[2], c[3], c[4]
    assert counts.tolist() == [2, 2]  # -1 into the first bin, 5 into the last
    assert (zeros, below, above) == (2, 1, 1)


def test_init_settings_list_the_stds_then_the_scaled_initializers():
    assert sr.init_settings([1.0, 0.01], ["he_normal"]) == [
        ("std 1", "random_normal", 1.0), ("std 0.01", "random_normal", 0.01),
        ("he_normal", "he_normal", 1.0)]


def test_rescaled_inputs_keep_points_labels_and_split(tmp_path):
    raw = tmp_path / "raw.npz"
    assert cli.main(["dataset", "--n-samples", "80", "--out", str(raw)]) == 0
    scaled, standardized = tmp_path / "s.npz", tmp_path / "z.npz"
    si.make_inputs(raw, 100.0, scaled, standardized)
    from trainability.data import dataset_meta, load_dataset

    r, s, z = (load_dataset(p) for p in (raw, scaled, standardized))
    np.testing.assert_array_equal(s.X_test, 100.0 * r.X_test)
    np.testing.assert_array_equal(z.y_train, r.y_train)
    np.testing.assert_allclose(z.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert dataset_meta(standardized)["standardize"] and not dataset_meta(scaled)["standardize"]


# ---------------------------------------------------------------- the spec


def _spec(params=None, **codes) -> Spec:
    codes = {"train_code": "t", "runs_code": "r", "inputs_code": "i"} | codes
    return Spec.from_params(params or TINY, "results/data/raw.npz", **codes)


def test_training_batches_every_init_and_passes_the_shared_settings():
    params = copy.deepcopy(TINY)
    params["scaling"]["train_inits"] = ["random_normal", "glorot_normal"]
    params["train"].update(eps=1e-5, eps_convention="pytorch")
    args = _spec(params).train_args(SimpleNamespace(variant="scaled", activation="tanh"))
    text = " ".join(map(str, args))
    assert "--init random_normal glorot_normal " in text and "--no-diagnostics" in text
    assert "--eps 1e-05" in text and "--eps-convention pytorch" in text
    assert "--classifier-init glorot_uniform" in text and "--seeds 0 1" in text


def test_tags_follow_what_makes_each_file():
    base = _spec()
    more = copy.deepcopy(TINY)
    more["scaling"]["activations"] = ["relu", "tanh", "sigmoid"]
    assert _spec(more).tags == base.tags  # a new activation trains only its own files
    assert _spec(more).init_tag != base.init_tag
    inputs = _spec(inputs_code="other")
    assert inputs.tags["raw"] == base.tags["raw"]
    assert all(inputs.tags[v] != base.tags[v] for v in ("scaled", "standardized"))
    assert _spec(runs_code="other").tags == base.tags
    assert _spec(runs_code="other").init_tag != base.init_tag
    assert len(set(base.run_files())) == 1 + len(VARIANTS) * 2


# ---------------------------------------------------------------- claims, synthetic


SETTINGS = {"std 1": ("random_normal", 1.0), "std 0.01": ("random_normal", 0.01),
            "glorot_normal": ("glorot_normal", 1.0), "he_normal": ("he_normal", 1.0)}


WIDTH = 12  # the running example's width in the synthetic tables (and the histograms')


def synthetic_layers(signal, saturated, seeds=5, depth=4, width=WIDTH) -> pd.DataFrame:
    """Layers table: ``signal[(act, setting)]`` = factor per layer, ``saturated[...]`` =
    share; a little seed-to-seed noise so the intervals have a width."""
    rows = []
    for (act, setting), factor in signal.items():
        init, scale = SETTINGS[setting]
        for seed in range(seeds):
            jitter = 1 + 0.02 * (seed - 2)
            for layer in range(1, depth + 1):
                rows.append({"activation": act, "setting": setting, "init": init,
                             "init_scale": scale, "width": width, "seed": seed, "layer": layer,
                             "preact_std": scale, "mean": 0.0, "std": 1.0, "rms": 1.0,
                             "signal": 0.5 * (factor * jitter) ** (layer - 1),
                             "saturated": saturated.get((act, setting), 0.0) * jitter,
                             "zero": 0.0})
    return pd.DataFrame(rows)


GOOD_INIT = {("relu", "std 1"): 10.0, ("relu", "std 0.01"): 0.05, ("relu", "he_normal"): 1.0,
             ("sigmoid", "std 1"): 0.95, ("sigmoid", "std 0.01"): 0.05,
             ("sigmoid", "glorot_normal"): 1.0, ("tanh", "std 1"): 1.0,
             ("tanh", "std 0.01"): 0.05, ("tanh", "glorot_normal"): 1.0}
GOOD_SATURATED = {("sigmoid", "std 1"): 0.4, ("tanh", "std 1"): 0.6}
BAD_INIT = {k: 1.0 for k in GOOD_INIT} | {("relu", "he_normal"): 0.2,
                                          ("sigmoid", "glorot_normal"): 0.25,
                                          ("tanh", "glorot_normal"): 3.0}
BAD_SATURATED = {("sigmoid", "std 1"): 0.01, ("tanh", "std 1"): 0.02}
INIT_CLAIMS = (sc.large_std_saturates, sc.small_std_vanishes, sc.scaled_inits_keep)


def test_init_claims_pass_on_the_lectures_picture():
    layers = synthetic_layers(GOOD_INIT, GOOD_SATURATED)
    for claim in INIT_CLAIMS:
        assert claim(layers, 4, WIDTH).verdict == "supported"


def test_init_claims_fail_when_nothing_saturates_vanishes_or_keeps():
    layers = synthetic_layers(BAD_INIT, BAD_SATURATED)
    for claim in INIT_CLAIMS:
        assert claim(layers, 4, WIDTH).verdict == "not supported"


@pytest.mark.parametrize("claim", INIT_CLAIMS, ids=lambda f: f.__name__)
def test_every_init_check_passes_on_one_table_and_fails_on_another(claim):
    good = claim(synthetic_layers(GOOD_INIT, GOOD_SATURATED), 4, WIDTH).checks
    bad = claim(synthetic_layers(BAD_INIT, BAD_SATURATED), 4, WIDTH).checks
    assert [c.what for c in good] == [c.what for c in bad] and good
    assert all(c.passed for c in good) and all(c.failed for c in bad)


def test_init_claims_judge_the_running_examples_width_only():
    """The histograms' wider networks saturate where the running example's do not: only
    the running example's rows decide."""
    narrow = synthetic_layers(GOOD_INIT, BAD_SATURATED, width=5)
    wide = synthetic_layers(GOOD_INIT, GOOD_SATURATED, width=100)
    layers = pd.concat([narrow, wide], ignore_index=True)
    assert sc.large_std_saturates(layers, 4, 5).verdict == "not supported"
    assert sc.large_std_saturates(layers, 4, 100).verdict == "supported"


def test_a_layer_without_signal_has_lost_it_all_and_gets_no_made_up_number():
    layers = synthetic_layers({("tanh", "std 0.01"): 1.0, ("tanh", "glorot_normal"): 1.0}, {})
    layers.loc[layers.layer == 4, "signal"] = 0.0
    change = sc.signal_change(layers, "tanh", "std 0.01", 4)
    assert (change == -np.inf).all()
    lost = sc.small_std_vanishes(layers, 4, WIDTH).check("tanh/std 0.01")
    assert lost.effect == 1.0 and lost.passed and "5 with no signal left" in lost.detail
    kept = sc.scaled_inits_keep(layers, 4, WIDTH).check("tanh/glorot_normal")
    assert kept.effect == 0.0 and kept.failed
    assert "no signal left" in section.signal_table(layers, 4)


GUESS = {"train": Guess(0.5, np.log(2)), "test": Guess(0.5, np.log(2))}


def synthetic_runs(acc, seeds=5, train_acc=None) -> pd.DataFrame:
    """Runs table: ``acc[(act, init, variant)]`` = mean final test accuracy; the training
    accuracy the same unless ``train_acc[(act, init)]`` says otherwise."""
    rows = []
    for (act, init, variant), mean in acc.items():
        for seed in range(seeds):
            rows.append({"variant": variant, "activation": act, "init": init, "seed": seed,
                         "status": "ok", "test_acc": mean + 0.004 * (seed - 2),
                         "train_acc": (train_acc or {}).get((act, init), mean),
                         "train_loss": 0.1, "train_loss_init": 0.7,
                         "preact_std_1": 100.0 if variant == "scaled" else 1.0,
                         "saturated_1": np.nan if act == "relu" else 0.1, "zero_1": 0.5})
    return pd.DataFrame(rows)


def _accs(scaled, standardized, acts=("relu", "tanh")):
    return {(a, "random_normal", v): m for a in acts
            for v, m in (("raw", 0.97), ("scaled", scaled), ("standardized", standardized))}


def _input_claims(runs):
    return (sc.scaled_inputs_hurt(runs, 100.0, Learns(), GUESS),
            sc.standardizing_restores(runs, Learns(), GUESS))


def test_input_claims_pass_when_scaling_hurts_and_standardizing_restores():
    hurt, restores = _input_claims(synthetic_runs(_accs(0.6, 0.98)))
    assert hurt.verdict == restores.verdict == "supported"
    assert len(hurt.checks) == len(restores.checks) == 2 and not restores.guards
    assert all(c.passed for c in hurt.checks + restores.checks)


def test_input_claims_fail_when_scaling_is_harmless_or_standardizing_does_not_restore():
    hurt, _ = _input_claims(synthetic_runs(_accs(0.98, 0.98)))
    assert hurt.verdict == "not supported" and all(c.failed for c in hurt.checks)
    _, restores = _input_claims(synthetic_runs(_accs(0.6, 0.7)))
    assert restores.verdict == "not supported" and all(c.failed for c in restores.checks)
    assert [c.what for c in hurt.checks] == [c.what for c in restores.checks] == [
        "relu/random_normal", "tanh/random_normal"]  # the same checks as in the passing table


def test_standardizing_without_damage_to_remove_is_only_a_no_harm_check():
    """Where the scaled inputs did not hurt (on the training set), 'removes the damage'
    cannot show: the comparison is a guard, never support, and a failing one counts
    against."""
    runs = synthetic_runs(_accs(0.98, 0.98, ("relu",)) | _accs(0.6, 0.98, ("tanh",)))
    _, restores = _input_claims(runs)
    assert [c.what for c in restores.checks] == ["tanh/random_normal"]
    assert [c.what for c in restores.guards] == ["relu/random_normal"]
    assert restores.verdict == "supported"
    runs = synthetic_runs(_accs(0.98, 0.7, ("relu",)) | _accs(0.6, 0.98, ("tanh",)))
    _, restores = _input_claims(runs)
    assert restores.guards[0].failed and restores.verdict == "partly"
    _, none = _input_claims(synthetic_runs(_accs(0.98, 0.98)))
    assert none.verdict == "not tested" and len(none.guards) == 2
    assert "no damage to remove" in none.note


def test_a_diverged_seed_scores_a_constant_guess_and_idle_networks_are_not_compared():
    runs = synthetic_runs(_accs(0.98, 0.98))
    scaled = (runs.variant == "scaled") & (runs.activation == "tanh")
    runs.loc[scaled, "status"] = "diverged"
    runs.loc[scaled, ["test_acc", "train_acc"]] = np.nan
    hurt, restores = _input_claims(runs)
    check = hurt.check("tanh/random_normal")
    assert check.effect == pytest.approx(0.5 - 0.97) and check.n == 5
    assert "5 diverged, scored as a constant guess" in check.detail
    # diverged on the scaled inputs: damaged, so standardizing has something to remove
    assert [c.what for c in restores.checks] == ["tanh/random_normal"]
    idle = synthetic_runs(_accs(0.5, 0.5), train_acc={("relu", "random_normal"): 0.55})
    compared, skipped = sc.learners(idle, Learns(), GUESS["train"])
    assert compared == [("tanh", "random_normal")] and skipped == {"relu/random_normal": 0.55}
    assert [c.what for c in _input_claims(idle)[0].checks] == ["tanh/random_normal"]


def test_which_networks_are_compared_follows_params_learns():
    """The one meaning of "learns nothing" (params.yaml ``learns``) picks S4's and S5's
    networks: a wider margin leaves out a network 0.08 above a constant guess."""
    runs = synthetic_runs(_accs(0.6, 0.98), train_acc={("relu", "random_normal"): 0.58})
    for margin, compared in ((0.05, ["relu", "tanh"]), (0.1, ["tanh"])):
        params = copy.deepcopy(TINY) | {"learns": {"accuracy": 0.95, "chance_margin": margin}}
        learns = Learns.of(_spec(params))
        assert learns.chance_margin == margin
        assert [a for a, _ in sc.learners(runs, learns, GUESS["train"])[0]] == compared


# ---------------------------------------------------------------- the section follows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The study's jobs and stages on a tiny real run, through the CLI."""
    root = tmp_path_factory.mktemp("scaling")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        params = copy.deepcopy(TINY)
        params["scaling"]["activations"] = ["relu", "sigmoid", "tanh"]
        assert cli.main(["dataset", "--n-samples", "120", "--test-fraction", "0.25",
                         "--out", "results/data/raw.npz"]) == 0
        spec = _spec(params)
        assert cli.main(["scaling-inputs", *map(str, spec.inputs_args()), "--scaled-out",
                         spec.input_file("scaled"), "--standardized-out",
                         spec.input_file("standardized")]) == 0
        assert cli.main(["scaling-init", *map(str, spec.init_args()),
                         "--out", spec.init_file()]) == 0
        for v in VARIANTS:
            for a in spec.activations:
                args = spec.train_args(SimpleNamespace(variant=v, activation=a))
                assert cli.main(["train", "--data", spec.input_file(v), *map(str, args),
                                 "--out", spec.run_file(v, a)]) == 0
        for stage in ("tables", "figures", "section"):
            assert cli.main(["scaling", stage, "--spec", study.spec_json(spec)]) == 0
        tables = read_study_tables(spec, root / "results/tables/scaling")
    return SimpleNamespace(root=root, spec=spec, tables=tables,
                           dataset=str(root / "results/data/raw.npz"))


def _render(tiny, layers, runs):
    spec = dataclasses.replace(tiny.spec, dataset=tiny.dataset, depth=4, width=WIDTH,
                               init_width=WIDTH)  # as synthesized
    tables = dict(tiny.tables, layers=layers, runs=runs)
    claims = sc.evaluate(spec, tables)
    ctx = section.context(spec, tables, claims, sc.sanity(spec, tables), "figures/scaling")
    return {c.key: c.verdict for c in claims}, "\n".join(
        render_section("scaling", ctx))


SIGMOID_WHY = "Why the sigmoid checks of S3 can fail"
HURT = "The scaled inputs lowered the test accuracy by at least"
NOT_HURT = "For these the whole interval lies above"
RESTORED = "On the standardized inputs these networks came within"
NOT_RESTORED = "stayed more than"


def test_section_sentences_follow_passing_claims(tiny):
    verdicts, text = _render(tiny, synthetic_layers(GOOD_INIT, GOOD_SATURATED),
                             synthetic_runs(_accs(0.6, 0.98)))
    assert set(verdicts.values()) == {"supported"}
    assert HURT in text and RESTORED in text
    for sentence in (SIGMOID_WHY, NOT_HURT, NOT_RESTORED, "Not compared in S4"):
        assert sentence not in text
    assert text.count("Verdict: **supported**") == 2 * 5  # its summary, and its checks


def test_section_sentences_follow_failing_claims(tiny):
    signal = GOOD_INIT | {("sigmoid", "glorot_normal"): 0.25, ("relu", "he_normal"): 0.2,
                          ("tanh", "glorot_normal"): 3.0}
    # relu: the scaled inputs do no harm (S4 fails, S5 only a no-harm check); tanh: they
    # hurt and standardizing does not restore (S4 passes, S5 fails); sigmoid: learns nothing
    runs = synthetic_runs(_accs(0.98, 0.7, ("relu",)) | _accs(0.6, 0.7, ("tanh",))
                          | {("sigmoid", "random_normal", v): 0.5 for v in VARIANTS})
    verdicts, text = _render(tiny, synthetic_layers(signal, GOOD_SATURATED), runs)
    assert verdicts["scaled-inits-keep"] == "not supported"
    assert verdicts["scaled-inputs-hurt"] == "partly"
    assert verdicts["standardizing-restores"] == "not supported"
    assert SIGMOID_WHY in text and NOT_HURT in text and NOT_RESTORED in text and HURT in text
    assert RESTORED not in text
    assert "their comparisons are the no-harm checks: relu/random_normal" in " ".join(
        text.split())
    assert "Not compared in S4 and S5" in text and "sigmoid/random_normal (0.500)" in text


# ---------------------------------------------------------------- the stages, tiny real run


def test_tiny_tables_have_the_declared_shape_and_known_answers(tiny):
    spec, t = tiny.spec, tiny.tables
    n_layers = max(spec.depth, spec.profile_depth)
    settings = len(spec.init_stds) + len(spec.inits)
    widths = {spec.init_width, spec.width}  # the histograms' and the running example's
    assert set(t["layers"].width) == widths
    assert len(t["layers"]) == (len(widths) * len(spec.activations) * settings * spec.seeds
                                * n_layers)
    per_panel = t["histograms"].groupby(["activation", "setting", "layer"])
    total = per_panel["count"].sum() + per_panel.zero.first()
    assert (total == spec.init_width * 90 * spec.seeds).all()  # 90 training points
    assert len(t["runs"]) == len(VARIANTS) * len(spec.activations) * spec.seeds
    assert len(t["history"]) == len(t["runs"]) * (TINY["train"]["epochs"] + 1)
    pre = t["runs"].groupby("variant").preact_std_1.mean()
    assert pre["scaled"] == pytest.approx(spec.input_scale * pre["raw"])
    ranges = t["histograms"].groupby(["activation", "setting", "layer"]).agg(
        lo=("left", "min"), hi=("right", "max"))
    for (act, _, _), (lo, hi) in ranges.iterrows():  # each panel its own, within the bounds
        bounds = sr.RANGES.get(act, (-np.inf, np.inf))
        assert bounds[0] <= lo < hi <= bounds[1]
    assert ranges.loc["sigmoid"].hi.nunique() > 1  # not one range for all


def test_tiny_stages_write_every_declared_figure_and_link_it(tiny):
    results = tiny.root / "results"
    text = (results / "sections/scaling.md").read_text()
    appendix = (results / "appendix/scaling.md").read_text()
    for name, _ in tiny.spec.figures():  # in the main text or in the appendix
        assert (results / "figures/scaling" / name).stat().st_size > 0
        assert f"](figures/scaling/{name})" in text or f"](../figures/scaling/{name})" \
            in appendix
    written = json.loads((results / "sections/scaling.json").read_text())
    assert [c["id"] for c in written["claims"]] == ["S1", "S2", "S3", "S4", "S5"]
    assert all(s["ok"] for s in written["sanity"])
    assert "signal_log10_change" in written["metrics"]


def test_one_quantity_prints_one_way_in_the_bullets_and_the_table(tiny):
    """With one initializer trained, a bullet's mean over seeds and initializers is the
    table's mean over seeds: the same number, so the same string."""
    runs = tiny.tables["runs"]
    assert runs["init"].nunique() == 1
    table = section.standardization_table(runs, sc.guesses(dataclasses.replace(
        tiny.spec, dataset=tiny.dataset)))
    for f in section.first_layer(runs):
        for variant in VARIANTS:
            row = next(line for line in table.splitlines()
                       if line.startswith(f"| {f['activation']}/") and f"| {variant} |" in line)
            cells = [c.strip() for c in row.split("|")[1:-1]]
            assert cells[2] == f["preact"][variant]
            assert cells[5].split(" ± ")[0] == f["loss"][variant]


def test_init_command_errors_are_one_line(tmp_path, capsys):
    args = ["scaling-init", "--data", str(tmp_path / "missing.npz"), "--activations", "relu",
            "--depth", "2", "--profile-depth", "3", "--width", "4", "--seeds", "0",
            "--out", str(tmp_path / "o.npz")]
    assert cli.main(args) == 2
    assert "give at least one of --stds and --inits" in capsys.readouterr().err
    assert cli.main([*args, "--stds", "1"]) == 2
    assert "missing.npz: file not found" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


# ---------------------------------------------------------------- the tiny pipeline


@pytest.mark.pipeline
def test_tiny_pipeline_with_only_this_study(tmp_path):
    from pipeline_helpers import make_project, planned_jobs, snakemake, write_params

    params = copy.deepcopy(TINY)
    for name, part in params.items():
        if "enabled" in part:
            part["enabled"] = name == "scaling"
    project = make_project(tmp_path / "p", params)
    snakemake(project)
    report = (project / "results/report.md").read_text()
    assert "## Scaling and initialization" in report and "**Claim S5:" in report
    assert "scaling" in json.loads((project / "results/metrics.json").read_text())["claims"]
    assert planned_jobs(project) == {}
    lint = snakemake(project, "--lint")
    assert "Congratulations" in lint.stdout + lint.stderr
    params["scaling"]["enabled"] = False  # switched off: only the report changes
    write_params(project, params)
    assert planned_jobs(project) == {"params_file": 1, "report": 1, "report_html": 1}


@pytest.mark.legibility
def test_every_figure_is_legible(tiny, monkeypatch):
    monkeypatch.chdir(tiny.root)
    legibility.assert_legible(study.module("scaling", "figures").make(tiny.spec, tiny.tables))
