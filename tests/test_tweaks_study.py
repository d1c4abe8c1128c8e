"""The tweaks study: what its spec trains, the choices it makes on validation data, every
claim passing and failing on synthetic tables (with the section's prose following the
verdicts), and its stages on tiny real runs through the command line."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import TINY
from trainability import cli, study
from trainability.claims import mean_check
from trainability.markdown import render
from trainability.studies.tweaks import claims as tc
from trainability.studies.tweaks import section, selection
from trainability.studies.tweaks import tables as tt
from trainability.studies.tweaks.spec import BASE, Spec

PNG = b"\x89PNG\r\n\x1a\n"
ACTS = ["relu", "sigmoid", "tanh"]
LRS = [0.001, 0.01, 0.1]
SEEDS = 5


def _params(**tweaks) -> dict:
    params = copy.deepcopy(TINY)
    params["tweaks"].update(
        activations=ACTS, optimizers=["sgd", "adam"], lrs=LRS, variant_optimizer="rmsprop",
        variants={"cosine": {"schedule": "cosine", "warmup_epochs": 0, "l2": 0.0},
                  "l2": {"schedule": "constant", "warmup_epochs": 0, "l2": 1e-4}},
        seeds=SEEDS, validation_fraction=0.25)
    params["tweaks"].update(tweaks)
    return params


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.npz"
    assert cli.main(["dataset", "--n-samples", "120", "--test-fraction", "0.25",
                     "--out", str(path)]) == 0
    return str(path)


@pytest.fixture(scope="module")
def spec(dataset):
    return Spec.from_params(_params(), dataset, "code-hash")


# ---------------------------------------------------------------- the spec


def test_train_args_pass_the_shared_settings_every_configuration_rate_and_seed(spec):
    args = [str(a) for a in spec.train_args(SimpleNamespace(activation="sigmoid"))]
    t = TINY["train"]
    for flag, value in (("--classifier-init", "glorot_uniform"), ("--eps", str(t["eps"])),
                        ("--eps-convention", "keras"), ("--validation-fraction", "0.25"),
                        ("--optimizer", "sgd"), ("--init", "random_normal")):
        assert args[args.index(flag) + 1] == value, flag
    i = args.index("--lr")
    assert args[i + 1 : i + 4] == ["0.001", "0.01", "0.1"]
    j = args.index("--seeds")
    assert args[j + 1 : j + 1 + SEEDS] == [str(s) for s in range(SEEDS)]
    assert "--no-diagnostics" in args
    settings = [json.loads(a) for a in args[args.index("--settings") + 1:]]
    assert [s["name"] for s in settings] == [o for o, _ in spec.configurations()]
    assert settings[-1] == {"name": "rmsprop", "schedule": "constant", "warmup_epochs": 0,
                            "l2": 1e-4}  # the l2 variant


def test_run_files_cover_every_activation_once_and_every_configuration(spec):
    configs = [("sgd", BASE), ("adam", BASE), ("rmsprop", BASE), ("rmsprop", "cosine"),
               ("rmsprop", "l2")]
    assert spec.configurations() == configs
    assert len(spec.settings()) == len(configs)
    assert len(set(spec.run_files())) == len(ACTS)


def test_the_settings_keep_their_order_through_the_specs_json(dataset):
    """Snakemake passes the settings from params.yaml's order, the stages read the spec's
    JSON (sorted keys): a model's setting index must name the same variant in both."""
    variants = {"warmup": {"schedule": "constant", "warmup_epochs": 5, "l2": 0.0},
                "cosine": {"schedule": "cosine", "warmup_epochs": 0, "l2": 0.0}}
    spec = Spec.from_params(_params(variants=variants), dataset, "code-hash")
    assert study.load_spec("tweaks", study.spec_json(spec)).settings() == spec.settings()


def test_run_file_names_change_only_with_what_made_them(dataset, spec):
    def tag(**changes):
        params = _params()
        for key, value in changes.items():
            section_name, name = key.split("__")
            params[section_name][name] = value
        return Spec.from_params(params, dataset, "code-hash").tag

    assert tag(train__lr=0.5, train__optimizer="sgd", train__seeds=9) == spec.tag
    assert tag(tweaks__activations=["relu"]) == spec.tag
    for key, value in (("tweaks__lrs", [0.1]), ("tweaks__seeds", 3), ("train__l2", 1e-3),
                       ("tweaks__optimizers", ["sgd"]), ("train__eps", 1e-8),
                       ("tweaks__variants", {"l2": {"schedule": "constant",
                                                    "warmup_epochs": 0, "l2": 1e-3}}),
                       ("model__classifier_init", None), ("tweaks__validation_fraction", 0.5)):
        assert tag(**{key: value}) != spec.tag, key
    assert Spec.from_params(_params(), dataset, "other-code").tag != spec.tag


# ---------------------------------------------------------------- synthetic tables


def _tables(spec, acc, diverged=()):
    """The study's tables from ``acc(act, opt, variant, lr) -> (val, test)`` mean
    accuracies (seeds spread ±0.01 around them); ``diverged``: (act, opt, variant, lr, seed)
    of models that diverged."""
    rows = []
    for act in spec.activations:
        for (opt, variant), lr in itertools.product(spec.configurations(), spec.lrs):
            val, test = acc(act, opt, variant, lr)
            for seed in range(spec.seeds):
                gone = (act, opt, variant, lr, seed) in diverged
                jitter = 0.005 * (seed - 2)
                rows.append(dict(activation=act, optimizer=opt, variant=variant, lr=lr,
                                 seed=seed, status="diverged" if gone else "ok",
                                 val_acc=np.nan if gone else val + jitter,
                                 test_acc=np.nan if gone else test - jitter,
                                 train_loss=np.nan if gone else 0.3, schedule="constant",
                                 warmup_epochs=0, l2=0.0))
    runs = tt.scored(pd.DataFrame(rows), tt.chance_levels(spec))
    summary = selection.summarize(runs)
    choices = tt.with_test_intervals(selection.choices(summary, spec), runs)
    starts = pd.DataFrame({"activation": ACTS, "seed": 0, "models": 15, "max_abs_diff": 0.0})
    return {"runs": runs, "summary": summary, "choices": choices, "starts": starts}


def _render(spec, tables):
    found = tc.evaluate(spec, tables)
    ctx = section.context(spec, tables, found, tc.sanity(spec, tables), "figures/tweaks")
    return {c.key: c for c in found}, render(study.folder("tweaks") / "section.md.j2", ctx)


def _flat(text: str) -> str:
    return " ".join(text.split())


LEARNS, FAILS = (0.97, 0.98), (0.55, 0.50)
# the sentence each verdict chooses, per claim
PROSE = {
    "every-optimizer": ("every optimizer of the sweep lets the sigmoid network learn",
                        "No optimizer of the sweep lets the sigmoid network learn"),
    "variant-at-lecture-lr": ("Each variant lets the sigmoid network learn",
                              "No variant lets the sigmoid network learn"),
    "one-setting": ("trains every activation of the sweep on the test set",
                    "does not train every activation on the test set"),
}


def _assert_prose(text, key, verdict):
    passing, failing = PROSE[key]
    text = _flat(text)
    assert (passing in text) == (verdict == "supported"), key
    assert (failing in text) == (verdict in ("not supported", "partly")
                                 if key == "one-setting" else verdict == "not supported"), key


@pytest.mark.parametrize("learns", [True, False])
def test_every_optimizer_claim_follows_the_test_accuracy_at_the_chosen_rate(spec, learns):
    def acc(act, opt, variant, lr):  # 0.1 is best on validation; on test it learns or not
        return (0.9, 0.9) if lr != 0.1 else (0.97, 0.98 if learns else 0.6)

    claims, text = _render(spec, _tables(spec, acc))
    claim = claims["every-optimizer"]
    assert [c.what for c in claim.checks] == ["sgd, lr 0.1", "adam, lr 0.1"]
    assert claim.verdict == ("supported" if learns else "not supported")
    _assert_prose(text, "every-optimizer", claim.verdict)


def test_the_rate_is_chosen_on_validation_and_reported_on_test(spec):
    """lr 0.01 looks best on validation, lr 0.1 would look best on test: the choice is 0.01
    and the check reports 0.01's test accuracy (not the best test accuracy of the sweep)."""
    def acc(act, opt, variant, lr):
        return {0.001: (0.6, 0.6), 0.01: (0.97, 0.90), 0.1: (0.96, 0.99)}[lr]

    tables = _tables(spec, acc)
    claim = tc.every_optimizer(spec, tables["runs"], tables["choices"])
    assert [c.what for c in claim.checks] == ["sgd, lr 0.01", "adam, lr 0.01"]
    assert claim.checks[0].effect == pytest.approx(0.90)
    assert claim.verdict == "not supported"


def test_best_lr_breaks_ties_by_the_smaller_rate_and_scores_diverged_seeds_as_chance(spec):
    def acc(act, opt, variant, lr):
        return (0.9, 0.9)

    diverged = {("sigmoid", "sgd", BASE, 0.001, s) for s in range(SEEDS)}
    tables = _tables(spec, acc, diverged)
    summary = tables["summary"]
    best = selection.best_lr(summary, "sigmoid", "sgd", BASE)
    assert best.lr == 0.01  # 0.001 diverged (scored as chance), 0.01 and 0.1 tie
    gone = summary[(summary.activation == "sigmoid") & (summary.optimizer == "sgd")
                   & (summary.lr == 0.001)].iloc[0]
    chance = tt.chance_levels(spec)
    assert gone.n_diverged == SEEDS
    assert gone.val_acc_mean == pytest.approx(chance["val"])
    assert gone.test_acc_mean == pytest.approx(chance["test"])


def test_a_diverged_seed_counts_as_a_failure_not_a_missing_value(spec):
    def acc(act, opt, variant, lr):
        return LEARNS if lr == 0.1 else (0.8, 0.8)

    tables = _tables(spec, acc, {("sigmoid", "sgd", BASE, 0.1, 0)})
    check = tc.every_optimizer(spec, tables["runs"], tables["choices"]).checks[0]
    assert check.what == "sgd, lr 0.1"
    assert check.n == SEEDS and "1 diverged" in check.detail
    # the four others score about 0.98: left out, the seed would make the check pass
    others = [0.98 - 0.005 * (seed - 2) for seed in range(1, SEEDS)]
    chance = tt.chance_levels(spec)["test"]
    assert check.effect == pytest.approx((sum(others) + chance) / SEEDS)
    assert check.verdict != "passes"
    assert mean_check("dropped", others, 0.95, ">=", "").verdict == "passes"


@pytest.mark.parametrize("learns", [True, False])
def test_variant_claim_follows_the_variants_at_the_lecture_rate(spec, learns):
    def acc(act, opt, variant, lr):
        if variant != BASE and lr == 0.001:
            return LEARNS if learns else FAILS
        return FAILS

    claims, text = _render(spec, _tables(spec, acc))
    claim = claims["variant-at-lecture-lr"]
    assert [c.what for c in claim.checks] == ["rmsprop + cosine, lr 0.001",
                                              "rmsprop + l2, lr 0.001"]
    assert claim.verdict == ("supported" if learns else "not supported")
    _assert_prose(text, "variant-at-lecture-lr", claim.verdict)


def test_variant_claim_is_not_tested_without_the_lecture_rate(dataset):
    spec = Spec.from_params(_params(lrs=[0.01, 0.1]), dataset, "code-hash")
    claims, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    claim = claims["variant-at-lecture-lr"]
    assert claim.verdict == "not tested" and "do not include the lecture's 0.001" in claim.note
    _assert_prose(text, "variant-at-lecture-lr", claim.verdict)
    assert "the lecture's setting (rmsprop, lr 0.001) | not run" in text


def test_without_variants_the_variant_claim_is_not_tested_and_the_section_renders(dataset):
    spec = Spec.from_params(_params(variants={}, activations=["sigmoid"]), dataset, "code")
    claims, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    assert claims["variant-at-lecture-lr"].verdict == "not tested"
    assert claims["variant-at-lecture-lr"].note == "no variants configured"
    assert claims["one-setting"].verdict == "supported"
    assert "the variant chosen" not in text


@pytest.mark.parametrize("learns", [True, False])
def test_one_setting_claim_is_chosen_by_the_worst_activation_on_validation(spec, learns):
    def acc(act, opt, variant, lr):
        if (opt, variant, lr) == ("adam", BASE, 0.01):
            return (0.96, 0.98) if learns else (0.96, 0.60)
        if act == "sigmoid":
            return FAILS
        return (0.99, 0.99)  # relu and tanh learn everywhere; their best is not the choice

    claims, text = _render(spec, _tables(spec, acc))
    claim = claims["one-setting"]
    assert [c.what for c in claim.checks] == [f"{a}: adam, lr 0.01" for a in ACTS]
    assert claim.verdict == ("supported" if learns else "not supported")
    _assert_prose(text, "one-setting", claim.verdict)
    assert "adam, lr 0.01" in _flat(text)


def test_one_setting_that_fails_one_activation_is_partly_supported(spec):
    def acc(act, opt, variant, lr):
        if (opt, variant, lr) == ("adam", BASE, 0.01):
            return (0.96, 0.60) if act == "tanh" else (0.96, 0.98)
        return FAILS

    claims, text = _render(spec, _tables(spec, acc))
    assert claims["one-setting"].verdict == "partly"
    _assert_prose(text, "one-setting", "partly")


def test_the_mechanism_paragraph_follows_the_eps_convention(dataset):
    for convention, present, absent in (("keras", "sqrt(s + eps)", "sqrt(s) + eps), eps"),
                                        ("pytorch", "(sqrt(s) + eps), eps", "sqrt(s + eps)")):
        params = _params()
        params["train"]["eps_convention"] = convention
        spec = Spec.from_params(params, dataset, "code-hash")
        _, text = _render(spec, _tables(spec, lambda *key: FAILS))
        assert present in text and absent not in text
        assert "moves a small gradient by about the learning rate" not in text


def test_captions_describe_the_plot_not_its_outcome():
    """The old captions told the reader what to find ("Look for how long each sigmoid
    network sits on the ln 2 plateau")."""
    for path in (study.folder("tweaks") / "captions").glob("*.rst"):
        text = path.read_text()
        for phrase in ("rescue", "sits on", "stays", "plateau", "Look for", "sigmoid"):
            assert phrase not in text, (path.name, phrase)


# ---------------------------------------------------------------- the stages, tiny real runs


@pytest.fixture(scope="module")
def staged(tmp_path_factory, dataset):
    """Tiny real runs through `trainability train`, then the three stages through the CLI."""
    root = tmp_path_factory.mktemp("tweaks")
    params = _params(activations=["relu", "sigmoid"], lrs=[0.001, 0.1], seeds=2,
                     variants={"warmup": {"schedule": "constant", "warmup_epochs": 1,
                                          "l2": 0.0}})
    params["train"]["epochs"] = 3
    spec = Spec.from_params(params, dataset, "code-hash")
    text = study.spec_json(spec)
    with contextlib.chdir(root):
        for act, path in zip(spec.activations, spec.run_files(), strict=True):
            args = [str(a) for a in spec.train_args(SimpleNamespace(activation=act))]
            assert cli.main(["train", "--data", dataset, *args, "--out", path]) == 0
        for stage in ("tables", "figures", "section"):
            assert cli.main(["tweaks", stage, "--spec", text]) == 0
    return spec, root / "results"


def test_tables_refuse_a_run_file_trained_under_other_settings(staged, tmp_path, capsys):
    spec, _ = staged
    other = Spec.from_params(_params(activations=["relu", "sigmoid"], lrs=[0.001, 0.1],
                                     seeds=2, optimizers=["adam", "sgd"]),
                             spec.dataset, "code-hash")
    with contextlib.chdir(staged[1].parent):
        files = {Path(o).name: Path(p) for o, p in zip(other.run_files(), spec.run_files(),
                                                         strict=True)}
        for name, path in files.items():  # the staged files under the other spec's names
            (path.parent / name).write_bytes(path.read_bytes())
        code = cli.main(["tweaks", "tables", "--spec", study.spec_json(other)])
    assert code == 2
    assert "not trained under this spec's optimizer settings" in capsys.readouterr().err


def test_tables_hold_every_model_and_the_validation_history(staged):
    spec, results = staged
    runs = pd.read_csv(results / "tables/tweaks/runs.csv")
    n_configurations = len(spec.activations) * len(spec.configurations())
    assert len(runs) == n_configurations * len(spec.lrs) * spec.seeds
    assert set(runs.lr) == set(spec.lrs) and runs.val_acc.notna().all()
    history = pd.read_csv(results / "tables/tweaks/history.csv.gz")
    assert len(history) == len(runs) * (spec.train["epochs"] + 1)
    assert "test_acc" not in history  # the test set is evaluated after training only
    starts = pd.read_csv(results / "tables/tweaks/starts.csv")
    assert (starts.max_abs_diff == 0).all() and (starts.models == 4 * 2).all()
    choices = pd.read_csv(results / "tables/tweaks/choices.csv")
    assert set(choices.choice) == {"lecture", "best_lr", "best_variant", "one_setting"}
    assert (choices.test_acc_lo <= choices.test_acc_mean).all()


def test_every_declared_figure_is_written_and_linked(staged):
    spec, results = staged
    text = (results / "sections/tweaks.md").read_text()
    for name, kind in spec.figures():
        assert (results / "figures/tweaks" / name).read_bytes().startswith(PNG)
        assert f"(figures/tweaks/{name})" in text
        caption = " ".join((study.folder("tweaks") / "captions" / f"{kind}.rst")
                           .read_text().split())
        assert caption in text


def test_section_results_hold_the_three_claims_and_the_sanity_check(staged):
    _, results = staged
    out = json.loads((results / "sections/tweaks.json").read_text())
    assert [c["id"] for c in out["claims"]] == ["T1", "T2", "T3"]
    assert all(s["ok"] for s in out["sanity"])
    assert "one_setting" in out["metrics"]


def test_tables_stage_names_a_missing_run_file(staged, tmp_path, capsys):
    spec, _ = staged
    with contextlib.chdir(tmp_path):
        assert cli.main(["tweaks", "tables", "--spec", study.spec_json(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and spec.run_files()[0] in err


# ---------------------------------------------------------------- the workflow, tiny


@pytest.mark.pipeline
def test_tiny_run_writes_the_study_tables_figures_and_section(finished_project):
    cfg = TINY["tweaks"]
    results = finished_project / "results"
    runs = pd.read_csv(results / "tables/tweaks/runs.csv")
    configs = {(o, BASE) for o in cfg["optimizers"]} | {
        (cfg["variant_optimizer"], v) for v in (BASE, *cfg["variants"])}
    assert set(zip(runs.optimizer, runs.variant, strict=True)) == configs
    assert len(runs) == len(cfg["activations"]) * len(configs) * len(cfg["lrs"]) * cfg["seeds"]
    report = (results / "report.md").read_text()
    assert "## Improving trainability" in report
    for png in ("lr_sweep.png", "chosen.png", "best_curves.png"):
        assert (results / "figures/tweaks" / png).stat().st_size > 0
        assert f"(figures/tweaks/{png})" in report
    assert "tweaks" in json.loads((results / "metrics.json").read_text())
