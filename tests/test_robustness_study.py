"""The robustness study: variants as params overrides, training shared where results are
the same by construction, the studies' own claims judged per variant, and sentences that
follow the verdicts."""

from __future__ import annotations

import copy
import json
import types

import numpy as np
import pandas as pd
import pytest

import legibility
from pipeline_helpers import TINY
from trainability import cli, study
from trainability.data import make_dataset
from trainability.markdown import render_section
from trainability.model import Architecture
from trainability.optim import OptimizerConfig
from trainability.studies.robustness import claims as rc
from trainability.studies.robustness import section as rs
from trainability.studies.robustness.spec import BASELINE, Spec, resolve
from trainability.train import train

SEEDS = 6


def params(**variants) -> dict:
    p = copy.deepcopy(TINY)
    p["robustness"] = {"enabled": True, "seeds": SEEDS, "after_layer": 1,
                       "variants": variants or {"lr_x3": {"train.lr": {"times": 3}}}}
    return p


def spec_of(p, dataset="d.npz") -> Spec:
    return Spec.from_params(p, dataset, "data-code", "train-code")


# ---------------------------------------------------------------- variants and the plan


def test_a_variant_multiplies_or_sets_one_value():
    p = params()
    assert resolve(p, "v", {"train.lr": {"times": 3}})["train"]["lr"] == pytest.approx(0.03)
    assert resolve(p, "v", {"train.lr": {"times": 0.3}})["train"]["lr"] == 0.003
    assert resolve(p, "v", {"train.epochs": {"times": 3}})["train"]["epochs"] == 12
    assert resolve(p, "v", {"model.classifier_init": None})["model"]["classifier_init"] is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"train.seeds": 3}, "robustness.variants.v: 'train.seeds' cannot be varied"),
    ({"train.optimizer": {"times": 2}}, "robustness.variants.v.train.optimizer: {times: x}"),
    ({"model.width": {"times": 0}}, "epochs, width and batch size must be at least 1"),
])
def test_a_bad_variant_is_an_error_naming_it_and_its_key(overrides, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("{", r"\{")
                       .replace("}", r"\}")):
        spec_of(params(v=overrides))


def test_a_variant_named_like_the_lectures_setting_is_refused():
    with pytest.raises(ValueError, match="'lecture' is the lecture's setting itself"):
        spec_of(params(lecture={"train.lr": 0.1}))


def test_the_plan_is_the_same_after_the_specs_json_round_trip():
    """A stage rebuilds the spec from its JSON, which sorts the variants' names: the job
    keys (the run files' names) must not depend on that order."""
    from trainability.study import load_spec, spec_json

    spec = spec_of(params(z={"train.lr": 0.1}, a={"train.optimizer": "adam"}))
    again = load_spec("robustness", spec_json(spec))
    assert again.run_files() == spec.run_files() and again.names == [BASELINE, "z", "a"]


def test_optimizer_variants_share_a_job_and_shorter_runs_are_read_off_longer_ones():
    spec = spec_of(params(lr_x3={"train.lr": {"times": 3}}, adam={"train.optimizer": "adam"},
                          epochs_x3={"train.epochs": {"times": 3}},
                          width_8={"model.width": 8}))
    plan = spec.plan()
    assert plan["lr_x3"]["job"] == plan["adam"]["job"] != plan[BASELINE]["job"]
    assert plan[BASELINE]["job"] == plan["epochs_x3"]["job"]  # read off the longer run
    assert (plan[BASELINE]["epoch"], plan[BASELINE]["epochs"]) == (4, 12)
    assert plan["width_8"]["job"] not in (plan[BASELINE]["job"], plan["adam"]["job"])
    assert len(spec.jobs()) == 3 and len(spec.run_files()) == 3 * 4
    job = spec.jobs()[plan[BASELINE]["job"]]
    assert job["read"] == [4, 12]


def test_a_schedule_that_depends_on_the_epochs_is_never_read_off():
    p = params(epochs_x3={"train.epochs": {"times": 3}})
    p["train"]["schedule"] = "cosine"
    plan = spec_of(p).plan()
    assert plan[BASELINE]["job"] != plan["epochs_x3"]["job"]


def test_the_data_file_is_the_running_examples_unless_the_data_change():
    spec = spec_of(params(noisy={"data.noise": 0.2}), dataset="results/data/run.npz")
    assert spec.data_file(BASELINE) == "results/data/run.npz"
    assert spec.data_file("noisy").startswith("results/data/robustness/circles-")
    args = spec.dataset_args(types.SimpleNamespace(tag=spec.data_file("noisy")[-14:-4]))
    assert args[args.index("--noise") + 1] == 0.2


def test_reading_a_run_off_at_an_earlier_epoch_is_the_shorter_run_bit_for_bit():
    data = make_dataset("circles", n_samples=200, noise=0.1, factor=0.5, seed=0)
    arch = Architecture(4, 5, "sigmoid", (3,))
    opt = OptimizerConfig("rmsprop", lr=0.001)
    kw = dict(batch_size=32, diagnostics=[0])
    short = train(arch, opt, data, [0, 1, 2], epochs=6, train_metrics=[0, 6], **kw)
    long = train(arch, opt, data, [0, 1, 2], epochs=12, train_metrics=[0, 6, 12], **kw)
    for name in ("test_acc", "train_loss", "train_acc", "grad_norm", "saturated_frac"):
        assert np.array_equal(short.history[name], long.history[name][:, :7],
                              equal_nan=True), name


def test_a_setting_with_its_own_learning_rate_trains_as_alone(dataset, tmp_path):
    out = tmp_path / "run.npz"
    settings = [{"name": "rmsprop", "lr": 0.003}, {"name": "momentum", "lr": 0.01}]
    assert cli.main(["train", "--data", dataset, "--activation", "tanh", "--init",
                     "random_normal", "--width", "3", "--depth", "2", "--seeds", "0", "1",
                     "--epochs", "3", "--settings", *map(json.dumps, settings),
                     "--out", str(out)]) == 0
    from trainability.io import load_run

    _, hist, arrays = load_run(out)
    for i, s in enumerate(settings):
        alone = tmp_path / f"alone{i}.npz"
        assert cli.main(["train", "--data", dataset, "--activation", "tanh", "--init",
                         "random_normal", "--width", "3", "--depth", "2", "--seeds", "0", "1",
                         "--epochs", "3", "--optimizer", s["name"], "--lr", str(s["lr"]),
                         "--out", str(alone)]) == 0
        _, one, _ = load_run(alone)
        mine = np.asarray(arrays["settings"]) == i
        np.testing.assert_array_equal(hist["train_loss"][mine], one["train_loss"])


# ---------------------------------------------------------------- claims per variant


def models_table(spec, acc, signal=lambda v, activation: 0.5) -> pd.DataFrame:
    """Synthetic models of every variant: ``acc(variant, activation, init, placement)``
    gives the test accuracy of every seed (a little spread so intervals are real),
    ``signal(variant, activation)`` the forward signal at initialization."""
    rows = []
    for v in spec.names:
        for activation, placement in spec.networks():
            inits = ["random_normal"] if placement != "none" else ["random_normal", "zeros"]
            for init in inits:
                for seed in range(SEEDS):
                    a = acc(v, activation, init, placement) + 0.002 * (seed - SEEDS / 2)
                    rows.append({
                        "variant": v, "activation": activation, "init": init,
                        "placement": placement, "seed": seed, "width": 3, "depth": 2,
                        "epoch": 4, "test_acc": a, "train_acc": a,
                        "train_loss": 0.6932 if init == "zeros" else 0.1, "test_loss": 0.1,
                        "status": "ok", "float32_fault": False,
                        "grad_first": 1e-3 if activation == "sigmoid" else 1.0,
                        "grad_classifier": 1.0,
                        "saturated_l1": 0.0, "saturated_l2": 0.0,
                        "signal_last": signal(v, activation) * (1 + 0.01 * seed)})
    return pd.DataFrame(rows)


def lecture_like(v, activation, init, placement):
    if init == "zeros":
        return 0.5
    if activation == "sigmoid" and placement == "none":
        return 0.99 if v == "lr_x3" else 0.6
    return 0.99


def test_the_forward_signal_is_the_spread_of_the_last_hidden_layer_between_points():
    from trainability.model import Architecture, Layout
    from trainability.studies.robustness.tables import forward_signal

    arch = Architecture(depth=1, width=2, activation="relu")
    theta = np.zeros((1, Layout(arch).size))
    Layout(arch).views(theta)["W0"][...] = np.eye(2)  # the hidden layer is relu(x)
    X = np.array([[1.0, -1.0], [3.0, 2.0], [-2.0, 4.0]])
    meta = {"depth": 1, "width": 2, "activation": "relu"}
    expected = np.maximum(X, 0).std(axis=0).mean()
    assert forward_signal(meta, theta, X) == pytest.approx([expected])


@pytest.mark.parametrize(("sigmoid_signal", "weak"), [(0.01, True), (0.3, False)])
def test_the_forward_signal_checks_follow_the_signals(dataset, sigmoid_signal, weak):
    spec = spec_of(params(width_9={"model.width": 9}), dataset)

    def signal(v, activation):  # the sigmoid's signal grows 5-fold with width
        return 0.5 if activation != "sigmoid" else sigmoid_signal * (5 if v != BASELINE else 1)

    models = models_table(spec, lecture_like, signal)
    checks = rs.forward_signal(spec, models)
    assert checks["weak"][0].passed is weak and checks["weak"][0].failed is not weak
    assert [c.what for c in checks["grows"]] == ["width_9"] and checks["grows"][0].passed
    text = " ".join("\n".join(render_section("robustness", rs.context(
        spec, {"models": models, "verdicts": rc.judge(spec, models)}, [], [],
        "figures/robustness"))).split())
    assert ("a tenth or less: its last hidden layer barely tells the data points apart"
            in text) is weak
    assert ("more than a tenth: not a weak signal by this rule" in text) is not weak
    assert "Under width_9 its log10 grows by" in text and "(at least doubles)." in text
    flat = rs.forward_signal(spec, models_table(spec, lecture_like, lambda v, a: 0.5))
    assert flat["grows"][0].failed


def test_each_variant_is_judged_by_the_studies_own_claims(dataset):
    spec = spec_of(params(), dataset)
    verdicts = rc.judge(spec, models_table(spec, lecture_like))
    assert set(verdicts.key) == {k for _, k, _ in rc.CLAIMS}
    at = verdicts.set_index(["variant", "key"]).verdict
    assert at[(BASELINE, "sigmoid-lags")] == "supported"
    assert at[("lr_x3", "sigmoid-lags")] == "not supported"
    assert at[(BASELINE, "bn-rescues-sigmoid")] == "supported"
    assert at[("lr_x3", "bn-rescues-sigmoid")] != "supported"  # nothing left to rescue
    assert at[(BASELINE, "sigmoid-vanishes")] == "supported"  # 1e-3: three orders


def test_the_sentence_of_a_claim_names_the_variants_that_change_its_verdict(dataset):
    spec = spec_of(params(), dataset)
    w = rs.where(rc.judge(spec, models_table(spec, lecture_like)))
    assert [b["variant"] for b in w["sigmoid-lags"]["breaks"]] == ["lr_x3"]
    assert w["relu-tanh-learn"]["breaks"] == [] and w["relu-tanh-learn"]["same"] == ["lr_x3"]


@pytest.mark.parametrize("lifts", [True, False])
def test_the_mechanism_sentence_follows_the_ablation_checks(dataset, lifts):
    spec = spec_of(params(lr_x3={"train.lr": {"times": 3}},
                          epochs_x3={"train.epochs": {"times": 3}}), dataset)

    def acc(v, activation, init, placement):
        if activation == "sigmoid" and placement == "none" and init != "zeros":
            return 0.95 if (v == "epochs_x3" and lifts) else 0.6
        return lecture_like(BASELINE, activation, init, placement)

    models = models_table(spec, acc)
    checks = {c.what: c for c in rs.ablation(spec, models)}
    assert checks["epochs_x3"].passed is lifts and checks["lr_x3"].failed
    text = "\n".join(render_section("robustness", rs.context(
        spec, {"models": models, "verdicts": rc.judge(spec, models)}, [], [],
        "figures/robustness")))
    assert ("too few epochs: slow, not stuck**: lifts the network" in text) is lifts
    assert ("None of the declared candidates lifts" in text) is not lifts


def test_a_gradient_that_vanishes_while_the_sigmoid_network_keeps_up_is_named(dataset):
    spec = spec_of(params(), dataset)
    verdicts = rc.judge(spec, models_table(spec, lecture_like))
    assert rs.vanishing_yet_learns(verdicts) == ["lr_x3"]  # G1 holds, claim 2 does not
    assert rs.same_networks(spec, "lr_x3")
    assert not rs.same_networks(spec_of(params(w={"model.width": 8}), dataset), "w")


def test_a_variant_whose_data_leave_no_room_below_learns_is_named():
    from trainability.learns import Learns

    learns = Learns(accuracy=0.95)
    assert rs.out_of_reach({"a": 0.99, "b": 0.915, "c": float("nan")}, learns) == ["b"]
    assert rs.out_of_reach({"a": 0.975}, learns) == []  # half the allowed errors: room


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_the_saturation_sentence_follows_its_check(dataset, share):
    spec = spec_of(params(), dataset)
    models = models_table(spec, lecture_like)
    models[["saturated_l1", "saturated_l2"]] = share
    check = rs.saturation_check(spec, models)
    assert check.passed is (share == 0.0) and check.failed is (share == 0.5)


@pytest.mark.parametrize("keeps_up", [True, False])
def test_the_backward_signal_sentence_is_written_only_when_the_verdicts_show_it(dataset,
                                                                               keeps_up):
    spec = spec_of(params(), dataset)

    def acc(v, activation, init, placement):
        if not keeps_up and activation == "sigmoid" and placement == "none" \
                and init != "zeros":
            return 0.6
        return lecture_like(v, activation, init, placement)

    models = models_table(spec, acc)
    text = " ".join("\n".join(render_section("robustness", rs.context(
        spec, {"models": models, "verdicts": rc.judge(spec, models)}, [], [],
        "figures/robustness"))).split())
    sentence = "a vanishing gradient at initialization does not by itself stop it learning"
    assert (sentence in text) is keeps_up
    assert ("under lr_x3 layer 1 still gets at most a tenth" in text) is keeps_up


@pytest.mark.legibility
def test_every_figure_is_legible(dataset):
    spec = spec_of(params(), dataset)
    models = models_table(spec, lecture_like)
    tables = {"models": models, "verdicts": rc.judge(spec, models)}
    legibility.assert_legible(study.module("robustness", "figures").make(spec, tables))
