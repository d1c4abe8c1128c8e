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

import legibility
from pipeline_helpers import TINY
from trainability import cli, study
from trainability.claims import mean_check
from trainability.data import load_dataset, split_validation
from trainability.markdown import render_section
from trainability.scoring import Learns
from trainability.studies.tweaks import claims as tc
from trainability.studies.tweaks import section, selection
from trainability.studies.tweaks import tables as tt
from trainability.studies.tweaks.spec import BASE, Spec
from trainability.tables import read_study_tables

PNG = b"\x89PNG\r\n\x1a\n"
ACTS = ["relu", "sigmoid", "tanh"]
LRS = [0.001, 0.01, 0.1, 1.0]
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
    assert args[i + 1 : i + 5] == ["0.001", "0.01", "0.1", "1.0"]
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
            params.setdefault(section_name, {})[name] = value
        return Spec.from_params(params, dataset, "code-hash").tag

    assert tag(train__lr=0.5, train__optimizer="sgd", train__seeds=9) == spec.tag
    assert tag(learns__accuracy=0.9) == spec.tag  # how models are judged trains nothing
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
    runs = tt.scored(pd.DataFrame(rows), tt.guesses(spec))
    summary = selection.summarize(runs, Learns.of(spec).accuracy)
    choices = tt.with_test_intervals(selection.choices(summary, spec), runs)
    starts = pd.DataFrame({"activation": ACTS, "seed": 0, "models": 15, "max_abs_diff": 0.0})
    return {"runs": runs, "summary": summary, "choices": choices, "starts": starts}


def _render(spec, tables):
    found = tc.evaluate(spec, tables)
    ctx = section.context(spec, tables, found, tc.sanity(spec, tables), "figures/tweaks")
    return {c.key: c for c in found}, "\n".join(render_section("tweaks", ctx))


def _flat(text: str) -> str:
    return " ".join(text.split())


LEARNS, FAILS = (0.97, 0.98), (0.55, 0.50)
INNER = 0.01  # a rate inside the sweep LRS (0.1 is the other)
# the sentence each verdict chooses, per claim
PROSE = {
    "every-optimizer": {
        "supported": "every optimizer of the sweep lets the sigmoid network learn",
        "partly": "some optimizers let the sigmoid network learn and others do not",
        "not supported": "No optimizer of the sweep lets the sigmoid network learn",
        "inconclusive": "do not decide whether every optimizer lets the sigmoid network",
    },
    "variant-at-chosen-lr": {
        "supported": "Each variant, at its own learning rate, trains the sigmoid network at "
                     "least as well as plain rmsprop at its own",
        "partly": "some variants train the sigmoid network at least as well as plain "
                  "rmsprop and some worse",
        "not supported": "Every variant, even at its own learning rate, trains the sigmoid "
                         "network worse",
        "inconclusive": "These seeds do not decide the comparison for",
    },
    "one-setting": {
        "supported": "trains every activation of the sweep on the test set",
        "partly": "does not train every activation on the test set",
        "not supported": "does not train every activation on the test set",
        "inconclusive": "is not decided by these seeds and rates",
    },
}


def _assert_prose(text, key, verdict):
    text = _flat(text)
    for which, sentence in PROSE[key].items():
        chosen = which == verdict or sentence == PROSE[key].get(verdict)
        assert (sentence in text) == chosen, (key, which, verdict)


def _one_fails(claim_key, subject):
    """``acc`` where every check of ``claim_key`` passes but the one about ``subject`` (an
    optimizer, a variant or an activation; None: none), which fails; every choice interior."""
    def acc(act, opt, variant, lr):
        if claim_key == "every-optimizer":  # each optimizer's best rate: INNER
            if act != "sigmoid" or lr != INNER or variant != BASE:
                return FAILS
            return (0.97, 0.60) if opt == subject else LEARNS
        if claim_key == "variant-at-chosen-lr":  # plain rmsprop best at INNER, variants at 0.1
            if act != "sigmoid" or opt != "rmsprop":
                return FAILS
            if variant == BASE:
                return LEARNS if lr == INNER else FAILS
            if lr != 0.1:
                return FAILS
            return (0.97, 0.90) if variant == subject else (0.97, 0.99)
        # one-setting: adam at INNER has the best worst case
        if (opt, variant, lr) != ("adam", BASE, INNER):
            return FAILS
        return (0.96, 0.60) if act == subject else (0.96, 0.98)
    return acc


SUBJECTS = {"every-optimizer": ["sgd", "adam"], "variant-at-chosen-lr": ["cosine", "l2"],
            "one-setting": ACTS}


@pytest.mark.parametrize("claim_key, subject", [(k, s) for k, v in SUBJECTS.items()
                                                for s in [None, *v]])
def test_each_check_of_each_claim_passes_and_fails_with_its_own_subject(spec, claim_key,
                                                                       subject):
    claims, text = _render(spec, _tables(spec, _one_fails(claim_key, subject)))
    claim = claims[claim_key]
    assert len(claim.checks) == len(SUBJECTS[claim_key])
    for check, who in zip(claim.checks, SUBJECTS[claim_key], strict=True):
        assert who in check.what
        assert check.verdict == ("fails" if who == subject else "passes"), check.what
    assert claim.verdict == ("supported" if subject is None else "partly")
    _assert_prose(text, claim_key, claim.verdict)


@pytest.mark.parametrize("learns", [True, False])
def test_every_optimizer_claim_follows_the_test_accuracy_at_the_chosen_rate(spec, learns):
    def acc(act, opt, variant, lr):  # 0.1 is best on validation; on test it learns or not
        return (0.9, 0.9) if lr != 0.1 else (0.97, 0.98 if learns else 0.6)

    claims, text = _render(spec, _tables(spec, acc))
    claim = claims["every-optimizer"]
    assert [c.what for c in claim.checks] == ["sgd, lr 0.1", "adam, lr 0.1"]
    assert claim.verdict == ("supported" if learns else "not supported")
    _assert_prose(text, "every-optimizer", claim.verdict)


def test_the_threshold_of_learning_is_params_learns(dataset):
    """One meaning of "learns": params.yaml's ``learns.accuracy``; it judges, it trains
    nothing (the run files keep their names)."""
    params = _params()
    params["learns"] = {"accuracy": 0.99, "chance_margin": 0.05}
    strict = Spec.from_params(params, dataset, "code-hash")
    assert strict.tag == Spec.from_params(_params(), dataset, "code-hash").tag
    claims, text = _render(strict, _tables(strict, _one_fails("every-optimizer", None)))
    check = claims["every-optimizer"].checks[0]
    assert check.threshold == 0.99 and check.verdict == "fails"  # 0.98 learned at 0.95
    assert "at least 0.99" in claims["every-optimizer"].rule


@pytest.mark.parametrize("learns", [True, False])
@pytest.mark.parametrize("edge", ["smallest", "largest"])
def test_a_failure_at_the_edge_of_the_sweep_is_inconclusive_a_pass_stays(spec, learns, edge):
    """sgd's best validation rate is the smallest or the largest of the sweep: failing
    there says nothing about rates beyond it; passing there shows a rate that works."""
    at = min(spec.lrs) if edge == "smallest" else max(spec.lrs)

    def acc(act, opt, variant, lr):
        if lr != at:
            return (0.9, 0.9)
        return (0.97, 0.98) if learns else (0.97, 0.60)

    claims, text = _render(spec, _tables(spec, acc))
    check = claims["every-optimizer"].checks[0]
    assert check.what == f"sgd, lr {at:g}"
    assert check.verdict == ("passes" if learns else "inconclusive")
    assert (f"the {edge} rate tried" in check.detail) == (not learns)
    assert f"sigmoid: sgd, lr {at:g} (the {edge} rate tried)" in _flat(text)
    assert f"lr {at:g} (edge):" in text
    assert "lies inside the sweep" not in text


def test_interior_choices_are_said_to_be_bracketed(spec):
    def acc(act, opt, variant, lr):  # every configuration is best at INNER; sgd fails there
        if lr != INNER:
            return (0.9, 0.9)
        return (0.97, 0.60) if opt == "sgd" else LEARNS

    claims, text = _render(spec, _tables(spec, acc))
    assert claims["every-optimizer"].checks[0].verdict == "fails"  # interior: no excuse
    assert "Every rate chosen on validation lies inside the sweep (0.001 to 1)" in _flat(text)
    assert "(edge)" not in text


def test_a_one_rate_sweep_brackets_nothing(dataset):
    spec = Spec.from_params(_params(lrs=[0.01]), dataset, "code-hash")
    claims, text = _render(spec, _tables(spec, lambda *key: (0.97, 0.6)))
    assert all(c.verdict == "inconclusive" for c in claims["one-setting"].checks)
    assert "the only rate tried" in claims["one-setting"].checks[0].detail
    _assert_prose(text, "one-setting", "inconclusive")


def test_the_rate_is_chosen_on_validation_and_reported_on_test(spec):
    """lr 0.01 looks best on validation, lr 0.1 would look best on test: the choice is 0.01
    and the check reports 0.01's test accuracy (not the best test accuracy of the sweep)."""
    def acc(act, opt, variant, lr):
        return {0.001: (0.6, 0.6), 0.01: (0.97, 0.90), 0.1: (0.96, 0.99),
                1.0: (0.6, 0.6)}[lr]

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
    assert best.lr == 0.01  # 0.001 diverged (scored as chance), the others tie
    gone = summary[(summary.activation == "sigmoid") & (summary.optimizer == "sgd")
                   & (summary.lr == 0.001)].iloc[0]
    guess = tt.guesses(spec)
    assert gone.n_diverged == SEEDS and gone.n_learned == 0
    assert gone.val_acc_mean == pytest.approx(guess["val"].accuracy)
    assert gone.test_acc_mean == pytest.approx(guess["test"].accuracy)


def test_the_constant_guess_is_the_larger_class_of_each_split(spec):
    data = load_dataset(spec.dataset)
    val = split_validation(data, spec.validation_fraction).y_test
    guess = tt.guesses(spec)
    for split, y in (("val", val), ("test", data.y_test)):
        assert guess[split].accuracy == pytest.approx(max(np.mean(y), 1 - np.mean(y)))


def test_a_diverged_seed_counts_as_a_failure_not_a_missing_value(spec):
    def acc(act, opt, variant, lr):
        return LEARNS if lr == 0.1 else (0.8, 0.8)

    tables = _tables(spec, acc, {("sigmoid", "sgd", BASE, 0.1, 0)})
    check = tc.every_optimizer(spec, tables["runs"], tables["choices"]).checks[0]
    assert check.what == "sgd, lr 0.1"
    assert check.n == SEEDS and "1 diverged" in check.detail
    # the four others score about 0.98: left out, the seed would make the check pass
    others = [0.98 - 0.005 * (seed - 2) for seed in range(1, SEEDS)]
    guess = tt.guesses(spec)["test"].accuracy
    assert check.effect == pytest.approx((sum(others) + guess) / SEEDS)
    assert check.verdict != "passes"
    assert mean_check("dropped", others, 0.95, ">=", "").verdict == "passes"


def test_a_diverged_seed_counts_as_the_constant_guess_in_a_paired_comparison(spec):
    acc = _one_fails("variant-at-chosen-lr", None)
    tables = _tables(spec, acc, {("sigmoid", "rmsprop", "cosine", 0.1, 0)})
    check = tc.variants_at_chosen_rates(spec, tables["runs"], tables["choices"]).checks[0]
    guess = tt.guesses(spec)["test"].accuracy
    differences = [(guess if seed == 0 else 0.99 - 0.005 * (seed - 2))
                   - (0.98 - 0.005 * (seed - 2)) for seed in range(SEEDS)]
    assert check.n == SEEDS and "diverged (scored as a constant guess): 1 vs 0" in check.detail
    assert check.effect == pytest.approx(np.mean(differences))
    assert check.verdict != "passes"


def test_variants_are_compared_with_plain_rmsprop_each_at_its_own_chosen_rate(spec):
    """Plain rmsprop is best at 0.01 on validation, the variants at 0.1: each variant's
    check pairs its 0.1 with plain's 0.01, seed by seed, on test (not the lecture's rate)."""
    tables = _tables(spec, _one_fails("variant-at-chosen-lr", "l2"))
    claim = tc.variants_at_chosen_rates(spec, tables["runs"], tables["choices"])
    assert [c.what for c in claim.checks] == ["rmsprop + cosine, lr 0.1 vs rmsprop, lr 0.01",
                                              "rmsprop + l2, lr 0.1 vs rmsprop, lr 0.01"]
    assert [c.effect for c in claim.checks] == pytest.approx([0.01, -0.08])
    assert claim.checks[0].detail.startswith("0.990 vs 0.980")


@pytest.mark.parametrize("where", ["variant", "plain"])
@pytest.mark.parametrize("better", [True, False])
def test_a_comparison_a_rate_beyond_the_sweep_could_reverse_is_inconclusive(spec, where,
                                                                           better):
    """The variant's rate at the edge: its failure is inconclusive, its pass stands; plain
    rmsprop's rate at the edge: a pass is inconclusive (plain may do better beyond), a
    failure stands."""
    top = max(spec.lrs)
    rates = {"variant": (INNER, top), "plain": (top, INNER)}[where]

    def acc(act, opt, variant, lr):
        if act != "sigmoid" or opt != "rmsprop":
            return FAILS
        plain, own = rates
        if variant == BASE:
            return LEARNS if lr == plain else FAILS
        if lr != own:
            return FAILS
        return (0.97, 0.99) if better else (0.97, 0.90)

    claims, text = _render(spec, _tables(spec, acc))
    check = claims["variant-at-chosen-lr"].checks[0]
    reversible = (where == "variant") != better  # fails at the variant's edge, passes at plain's
    assert check.verdict == ("inconclusive" if reversible else "passes" if better else "fails")
    assert ("inconclusive: " in check.detail) == reversible
    if reversible:
        assert ("the variant's" if where == "variant" else "plain rmsprop's") in check.detail
    _assert_prose(text, "variant-at-chosen-lr", claims["variant-at-chosen-lr"].verdict)


def test_a_check_and_the_table_show_one_value(spec):
    """A mean on a rounding boundary (0.9885) read twice could print 0.988 and 0.989: the
    checks take the chosen settings' means and intervals from the choices table, and the
    section's table prints the same Check."""
    def acc(act, opt, variant, lr):
        return (0.97, 0.9885) if lr == INNER else (0.9, 0.9)

    tables = _tables(spec, acc)
    claims, text = _render(spec, tables)
    for key in ("every-optimizer", "one-setting"):
        for check in claims[key].checks:
            assert f": {check.shown} |" in text, check.what
    row = selection.chosen(tables["choices"], "one_setting", "sigmoid")
    check = claims["one-setting"].checks[ACTS.index("sigmoid")]
    assert (check.effect, check.lo, check.hi) == (row.test_acc_mean, row.test_acc_lo,
                                                  row.test_acc_hi)


def test_the_section_says_how_its_runs_differ_from_the_grids(dataset):
    """The lecture's setting here and in the grid: fit points and seeds from the spec."""
    params = _params(seeds=3, validation_fraction=0.5)
    params["train"].update(seeds=7, optimizer="rmsprop", lr=0.001)  # the grid's setting
    spec = Spec.from_params(params, dataset, "code-hash")
    _, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    sizes = section.split_sizes(spec)
    flat = _flat(text)
    assert (f"with the lecture's setting on all {sizes['train']} training points over 7 seeds;"
            f" every model here fits on {sizes['fit']} of them over 3 seeds") in flat
    assert sizes["fit"] < sizes["train"]
    params["train"].update(optimizer="adam", lr=0.01)  # the grid's is no longer the lecture's
    spec = Spec.from_params(params, dataset, "code-hash")
    _, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    assert "with adam at learning rate 0.01 (the `train` section), not the lecture's" in \
        _flat(text)


@pytest.mark.parametrize("learns", [True, False])
def test_variant_claim_follows_the_variants_at_their_chosen_rates(spec, learns):
    def acc(act, opt, variant, lr):
        if act != "sigmoid" or opt != "rmsprop" or lr != INNER:
            return FAILS
        if variant == BASE:
            return LEARNS
        return (0.97, 0.99) if learns else (0.97, 0.90)

    claims, text = _render(spec, _tables(spec, acc))
    claim = claims["variant-at-chosen-lr"]
    assert [c.what for c in claim.checks] == ["rmsprop + cosine, lr 0.01 vs rmsprop, lr 0.01",
                                              "rmsprop + l2, lr 0.01 vs rmsprop, lr 0.01"]
    assert claim.verdict == ("supported" if learns else "not supported")
    _assert_prose(text, "variant-at-chosen-lr", claim.verdict)


def test_the_section_renders_without_the_lecture_rate(dataset):
    spec = Spec.from_params(_params(lrs=[0.01, 0.1]), dataset, "code-hash")
    claims, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    assert len(claims["variant-at-chosen-lr"].checks) == 2  # the lecture's rate not needed
    assert "the lecture's setting (rmsprop, lr 0.001) | not run" in text
    assert "the lecture's setting here and the grid's number" in _flat(text)


def test_without_variants_the_variant_claim_is_not_tested_and_the_section_renders(dataset):
    spec = Spec.from_params(_params(variants={}, activations=["sigmoid"]), dataset, "code")
    claims, text = _render(spec, _tables(spec, lambda *key: LEARNS))
    assert claims["variant-at-chosen-lr"].verdict == "not tested"
    assert claims["variant-at-chosen-lr"].note == "no variants configured"
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
    appendix = (results / "appendix/tweaks.md").read_text()
    for name, kind in spec.figures():  # in the main text or in the appendix
        assert (results / "figures/tweaks" / name).read_bytes().startswith(PNG)
        caption = " ".join((study.folder("tweaks") / "captions" / f"{kind}.rst")
                           .read_text().split())
        assert (f"(figures/tweaks/{name})" in text and caption in text) or (
            f"(../figures/tweaks/{name})" in appendix and caption in appendix)


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
    appendix = (results / "appendix/tweaks.md").read_text()
    assert "## Improving trainability" in report
    for png in ("lr_sweep.png", "chosen.png", "best_curves.png"):  # in either part
        assert (results / "figures/tweaks" / png).stat().st_size > 0
        assert f"(figures/tweaks/{png})" in report or f"(../figures/tweaks/{png})" in appendix
    assert "tweaks" in json.loads((results / "metrics.json").read_text())["claims"]


@pytest.mark.legibility
def test_every_figure_is_legible(staged, monkeypatch):
    spec, results = staged
    monkeypatch.chdir(results.parent)
    tables = read_study_tables(spec, results / "tables/tweaks")
    legibility.assert_legible(study.module("tweaks", "figures").make(spec, tables))
