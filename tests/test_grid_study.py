"""The grid study: claims and prose follow synthetic tables; the stages from tiny real runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import legibility
from trainability import claims as C
from trainability import study
from trainability.cli import main
from trainability.data import dataset_job
from trainability.markdown import render_section
from trainability.scoring import Guess, Learns, divergence_sanity
from trainability.studies.grid import claims as gc
from trainability.studies.grid import section
from trainability.studies.grid.spec import Spec
from trainability.study import paths, spec_json
from trainability.tables import read_study_tables

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


def runs_table(accs: dict, width: int = 5, seeds: int = 5, train_loss: dict | None = None,
               train: dict | None = None, faults=()):
    """One row per seed: ``accs[(activation, init)]`` = a test accuracy or a list per seed
    (None: diverged); ``train`` the same for the training accuracy (default: the test
    accuracy); ``faults``: (activation, init, seed) that diverged in float32 only."""

    def per_seed(value):
        return value if isinstance(value, list) else [value + 0.002 * (s % 3 - 1)
                                                      for s in range(seeds)]

    rows = []
    for (act, init), acc in accs.items():
        tr = per_seed((train or {}).get((act, init), acc))
        for seed, a in enumerate(per_seed(acc)):
            loss = (train_loss or {}).get((act, init), LN2 if init == "zeros" else 0.05)
            ok = a is not None
            rows.append({"activation": act, "init": init, "width": width, "seed": seed,
                         "test_acc": a, "train_acc": tr[seed] if ok else None,
                         "train_loss": loss if ok else None, "test_loss": loss if ok else None,
                         "status": "ok" if ok else "diverged",
                         "diverged_epoch": np.nan if ok else 7.0,
                         "float32_fault": (act, init, seed) in faults})
    frame = pd.DataFrame(rows)
    for column in ("test_acc", "train_acc", "train_loss", "test_loss"):
        frame[column] = frame[column].astype(float)
    return frame


LECTURE = {("relu", "random_normal"): 0.985, ("tanh", "random_normal"): 0.99,
           ("sigmoid", "random_normal"): 0.57, ("relu", "zeros"): 0.5,
           ("tanh", "zeros"): 0.5, ("sigmoid", "zeros"): 0.5}
CHANCE = 0.5
BASE = gc.Baseline(Learns(), Guess(CHANCE, LN2), Guess(CHANCE, LN2))  # learns nothing: <= 0.55
RN = "random_normal"


def verdicts(runs, width=5):
    return {c.key: c.verdict for c in gc.at_width(runs, width, RN, BASE)}


def test_the_lecture_picture_supports_the_lecture_claims():
    v = verdicts(runs_table(LECTURE))
    assert v["relu-tanh-learn"] == C.SUPPORTED
    assert v["sigmoid-lags"] == C.SUPPORTED
    assert v["zeros-coin-flip"] == C.SUPPORTED  # sigmoid: f(0) = 0.5, so it is a claim
    assert v["normal-beats-zeros"] == C.SUPPORTED
    # one non-zero initializer: only the activation pair (tanh learns, sigmoid), and
    # sigmoid's 0.57 is better than a constant guess (0.5 + 0.05)
    assert v["minor-choices"] == C.PARTLY
    at_chance = runs_table({**LECTURE, ("sigmoid", RN): 0.5})
    assert verdicts(at_chance)["minor-choices"] == C.SUPPORTED


# Every check of every claim can pass and can fail: for each claim, a table where each of
# its checks passes and one where the same checks (same names) all fail.

def _two_widths(narrow: dict, wide: dict, train: dict | None = None):
    return pd.concat([runs_table(narrow, train=train), runs_table(wide, width=64)])


NARROW = {("sigmoid", RN): 0.6, ("relu", RN): 0.99}
PAIRS = {("relu", RN): 0.99, ("sigmoid", RN): 0.5, ("relu", "he_normal"): 0.5}
FLIPS = {  # claim: (its function, a table where every check passes, one where all fail)
    "relu-tanh-learn": (
        lambda r: gc.relu_tanh_learn(r, 5, RN, BASE),
        runs_table(LECTURE),
        runs_table({**LECTURE, ("relu", RN): 0.7, ("tanh", RN): 0.6})),
    "sigmoid-lags": (
        lambda r: gc.sigmoid_lags(r, 5, RN, BASE),
        runs_table(LECTURE),
        runs_table({**LECTURE, ("sigmoid", RN): 0.98})),
    "zeros-coin-flip": (
        lambda r: gc.zeros_stay_at_chance(r, 5, BASE),
        runs_table(LECTURE),
        runs_table({**LECTURE, ("sigmoid", "zeros"): 0.8},
                   train_loss={("sigmoid", "zeros"): 0.4})),
    "normal-beats-zeros": (
        lambda r: gc.normal_beats_zeros(r, 5, RN, BASE),
        runs_table(LECTURE),
        runs_table({**LECTURE, ("relu", RN): 0.5, ("tanh", RN): 0.5, ("sigmoid", RN): 0.5})),
    "scaled-inits": (
        lambda r: gc.scaled_inits(r, 5, RN, BASE),
        runs_table({**LECTURE, ("relu", "he_normal"): 0.985, ("tanh", "glorot_normal"): 0.99}),
        runs_table({**LECTURE, ("relu", "he_normal"): 0.80, ("tanh", "glorot_normal"): 0.6})),
    # chosen on training accuracy (the same pairs in both), judged on test
    "minor-choices": (
        lambda r: gc.minor_choices(r, 5, BASE),
        runs_table(PAIRS),
        runs_table({("relu", RN): 0.7, ("sigmoid", RN): 0.8, ("relu", "he_normal"): 0.8},
                   train=PAIRS)),
    "wider-easier": (
        lambda r: gc.wider_easier(r, BASE),
        _two_widths(NARROW, {("sigmoid", RN): 0.97, ("relu", RN): 0.985}),
        _two_widths(NARROW, {("sigmoid", RN): 0.6, ("relu", RN): 0.9})),
}


@pytest.mark.parametrize("key", FLIPS)
def test_every_check_of_the_claim_can_pass_and_can_fail(key):
    claim_of, passing, failing = FLIPS[key]
    good, bad = claim_of(passing), claim_of(failing)
    assert good.key == key and good.checks
    assert [c.what for c in good.checks] == [c.what for c in bad.checks]
    assert [c.what for c in good.guards] == [c.what for c in bad.guards]
    assert all(c.passed for c in good.checks + good.guards), good.to_dict()
    assert all(c.failed for c in bad.checks + bad.guards), bad.to_dict()
    assert good.verdict == C.SUPPORTED and bad.verdict == C.NOT_SUPPORTED


def test_every_grid_claim_has_its_flip_test(dataset):
    spec = _spec(runs_table(LECTURE), dataset)
    claims = gc.evaluate(spec, {"runs": runs_table(LECTURE)})
    assert {c.key for c in claims} == set(FLIPS)


def test_normal_beats_zeros_by_the_gap_of_each_activation():
    claim = gc.normal_beats_zeros(runs_table(LECTURE), 5, RN, BASE)
    by = {c.what: c.verdict for c in claim.checks}
    assert by == {"relu": C.PASSES, "sigmoid": C.PASSES, "tanh": C.PASSES}


def test_relu_that_does_not_learn_fails_the_first_claim():
    runs = runs_table({**LECTURE, ("relu", RN): 0.7})
    assert verdicts(runs)["relu-tanh-learn"] == C.PARTLY


def test_a_diverged_seed_is_scored_as_a_constant_guess_never_dropped():
    runs = runs_table({**LECTURE, ("relu", RN): [0.99, None, 0.98, 0.99, 0.97]})
    check = gc.relu_tanh_learn(runs, 5, RN, BASE).check(f"relu/{RN}")
    assert check.n == 5 and check.effect == pytest.approx(np.mean([0.99, CHANCE, 0.98, 0.99,
                                                                   0.97]))
    assert "(1 diverged, scored as a constant guess)" in check.detail
    assert not check.passed  # the seeds that did not diverge alone would pass:
    assert C.mean_check("kept", [0.99, 0.98, 0.99, 0.97], 0.95, C.AT_LEAST, "").passed
    paired = gc.normal_beats_zeros(runs, 5, RN, BASE).check("relu")
    assert paired.n == 5  # the diverged seed keeps its pair


def test_a_diverged_seed_scores_the_guess_of_its_split():
    train = Guess(0.6, 0.67)
    base = gc.Baseline(Learns(), Guess(CHANCE, LN2), train)
    runs = runs_table({**LECTURE, ("sigmoid", "zeros"): [0.5, None, 0.5, 0.5, 0.5]})
    loss = gc.zeros_stay_at_chance(runs, 5, base).check("sigmoid/zeros loss")
    assert loss.n == 5 and loss.effect == pytest.approx((4 * LN2 + train.loss) / 5)
    rows = gc.cell(runs, "sigmoid", "zeros", 5)
    assert gc.scores(rows, base, "train_acc").iloc[1] == train.accuracy
    assert gc.scores(rows, base).iloc[1] == CHANCE


def test_learns_comes_from_the_spec_not_from_the_code():
    strict = gc.Baseline(Learns(accuracy=0.99), Guess(CHANCE, LN2), Guess(CHANCE, LN2))
    claim = gc.relu_tanh_learn(runs_table(LECTURE), 5, RN, strict)
    assert claim.check(f"relu/{RN}").threshold == 0.99 and "at least 0.99" in claim.rule
    loose = gc.Baseline(Learns(chance_margin=0.1), Guess(CHANCE, LN2), Guess(CHANCE, LN2))
    zeros = gc.zeros_stay_at_chance(runs_table(LECTURE), 5, loose)
    assert zeros.check("sigmoid/zeros accuracy").threshold == pytest.approx(0.6)


def test_a_missing_sigmoid_cell_leaves_the_lag_claim_untested():
    runs = runs_table({k: v for k, v in LECTURE.items() if k[0] != "sigmoid"})
    claim = gc.sigmoid_lags(runs, 5, RN, BASE)
    assert claim.verdict == C.NOT_TESTED and "no sigmoid network" in claim.note


def test_zero_init_claim_checks_only_activations_not_zero_at_zero():
    claim = gc.zeros_stay_at_chance(runs_table(LECTURE), 5, BASE)
    assert {c.what.split("/")[0] for c in claim.checks} == {"sigmoid"}
    only_relu = runs_table({("relu", "zeros"): 0.5, ("relu", RN): 0.99})
    assert gc.zeros_stay_at_chance(only_relu, 5, BASE).verdict == C.NOT_TESTED


def test_the_zero_loss_check_prints_its_mean_as_its_detail_does():
    check = gc.zeros_stay_at_chance(runs_table(LECTURE), 5, BASE).check("sigmoid/zeros loss")
    assert check.detail.startswith(check.fmt(check.effect) + " over")
    assert check.criterion == f">= {gc.LN2 - gc.LN2_TOL:.3f}"  # as the rule prints it


def test_minor_choices_takes_the_widest_pair_of_each_kind_on_training_accuracy():
    runs = runs_table({("relu", RN): 0.99, ("tanh", RN): 0.99, ("sigmoid", RN): 0.6,
                       ("relu", "he_normal"): 0.99, ("sigmoid", "he_normal"): 0.5,
                       ("sigmoid", "zeros"): 0.5, ("relu", "zeros"): 0.5},
                      train={("sigmoid", "he_normal"): 0.7, ("sigmoid", RN): 0.52})
    claim = gc.minor_choices(runs, 5, BASE)
    assert [c.what for c in claim.checks] == [
        f"activation alone: relu/{RN} learns", f"activation alone: sigmoid/{RN} learns nothing",
        "initializer alone: sigmoid/he_normal learns",
        f"initializer alone: sigmoid/{RN} learns nothing"]
    # sigmoid/he_normal is the better of its pair on training accuracy, so it is asked to
    # learn on test, where it scores 0.5: the selection did not see the test set
    assert claim.check("initializer alone: sigmoid/he_normal learns").failed
    assert all("zeros" not in c.what for c in claim.checks)
    pairs = gc.choice_pairs(claim)
    assert [p["kind"] for p in pairs] == ["activation", "initializer"]
    assert pairs[1]["cells"] == ["sigmoid/he_normal", f"sigmoid/{RN}"]


def test_minor_choices_asks_only_the_kinds_of_choice_the_grid_varies():
    one_init = gc.minor_choices(runs_table(LECTURE), 5, BASE)
    assert {p["kind"] for p in gc.choice_pairs(one_init)} == {"activation"}
    one_cell = runs_table({("relu", RN): 0.99, ("relu", "zeros"): 0.5})
    claim = gc.minor_choices(one_cell, 5, BASE)
    assert claim.verdict == C.NOT_TESTED and "differ in one choice" in claim.note


def test_minor_choices_scores_a_diverged_seed_as_a_guess_when_choosing():
    runs = runs_table({("relu", RN): 0.9, ("tanh", RN): [0.99, None, None, None, None]})
    claim = gc.minor_choices(runs, 5, BASE)  # tanh: 0.99 if its diverged seeds were dropped
    assert [c.what for c in claim.checks] == [f"activation alone: relu/{RN} learns",
                                              f"activation alone: tanh/{RN} learns nothing"]


def test_wider_easier_counts_only_the_narrow_networks_that_had_not_learned():
    runs = _two_widths(NARROW, {("sigmoid", RN): 0.97, ("relu", RN): 0.985})
    claim = gc.wider_easier(runs, BASE)
    assert [c.what for c in claim.checks] == [f"sigmoid/{RN}"]
    assert [g.what for g in claim.guards] == [f"relu/{RN}"]
    assert claim.counts == {C.PASSES: 1, C.FAILS: 0, C.INCONCLUSIVE: 0}  # guards apart
    assert "1 checks apart (premises, no harm)" in claim.tally


def test_wider_easier_decides_learned_on_training_accuracy():
    runs = _two_widths(NARROW, {("sigmoid", RN): 0.97, ("relu", RN): 0.985},
                       train={("relu", RN): 0.9})  # 0.99 on test, but not on training
    claim = gc.wider_easier(runs, BASE)
    assert [c.what for c in claim.checks] == [f"relu/{RN}", f"sigmoid/{RN}"]
    assert claim.guards == []


def test_passing_no_harm_checks_alone_are_no_support():
    learned = {("relu", RN): 0.99, ("tanh", RN): 0.99}
    claim = gc.wider_easier(_two_widths(learned, learned), BASE)
    assert claim.checks == [] and all(g.passed for g in claim.guards)
    assert claim.verdict == C.NOT_TESTED and "already learned" in claim.note


def test_a_failing_no_harm_check_counts_against_wider_easier():
    runs = _two_widths(NARROW, {("sigmoid", RN): 0.97, ("relu", RN): 0.9})
    claim = gc.wider_easier(runs, BASE)
    assert claim.checks[0].passed and claim.guards[0].failed
    assert claim.verdict == C.PARTLY
    assert gc.wider_easier(runs_table(NARROW), BASE).verdict == C.NOT_TESTED  # one width


# ---------------------------------------------------------------- prose follows the verdicts


LAG = "The sigmoid network lags as the lecture says"
NO_LAG = "does not lag as far as the lecture's single run suggests"
CENTRAL = "The lecture's central point holds here"
NOT_CENTRAL = "The lecture's central point does not hold in this configuration"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.npz"
    dataset_job(path, **{k: v for k, v in PARAMS["data"].items()})
    return str(path)  # 30 test points, 15 of each class: a constant guess scores 0.5


def _spec(runs, dataset) -> Spec:
    return Spec(activations=sorted(set(runs.activation)), inits=sorted(set(runs["init"])),
                widths=sorted(set(runs.width)), width=5, depth=4, init_scale=1.0,
                classifier_init="glorot_uniform", batch_norm=[], train=PARAMS["train"],
                seeds=5, data=PARAMS["data"], dataset=dataset, diagnostic_epochs=[0],
                float32_from=None, animate={"activations": [], "inits": [], "every": 5},
                learns={"accuracy": 0.95, "chance_margin": 0.05}, tag="0" * 10)


def rendered(runs, dataset) -> str:
    """The section as ``write_study_section`` renders it (the divergence sanity checks
    first), without the files."""
    spec = _spec(runs, dataset)
    tables = {"runs": runs}
    claims = gc.evaluate(spec, tables)
    sanity = [*divergence_sanity(tables), *gc.sanity(spec, tables)]
    context = section.context(spec, tables, claims, sanity, "figures/grid")
    return "\n".join(render_section("grid", context))


def test_the_lag_sentences_follow_the_sigmoid_verdict(dataset):
    text = rendered(runs_table(LECTURE), dataset)
    assert LAG in text and NO_LAG not in text
    text = rendered(runs_table({**LECTURE, ("sigmoid", RN): 0.98}), dataset)
    assert NO_LAG in text and LAG not in text


def test_the_central_sentences_follow_the_minor_choices_checks(dataset):
    text = rendered(runs_table({**LECTURE, **PAIRS}), dataset)
    assert CENTRAL in text and NOT_CENTRAL not in text
    assert "Changing only the activation takes this network" in text
    assert "Changing only the initializer takes this network" in text
    text = rendered(runs_table({k: 0.57 for k in LECTURE}), dataset)
    assert NOT_CENTRAL in text and CENTRAL not in text
    assert "even the better one (`relu/random_normal`) does not learn the data" in text
    assert "the worse one (`sigmoid/random_normal`) still learns more than nothing" in text
    text = rendered(runs_table({**LECTURE, **PAIRS, ("relu", "he_normal"): 0.9},
                               train=PAIRS), dataset)
    assert "Changing only the activation takes this network" in text
    assert "the worse one (`relu/he_normal`) still learns more than nothing" in text
    assert CENTRAL not in text and NOT_CENTRAL not in text  # partly


def test_a_section_with_diverged_models_lists_them_and_their_float64_outcome(dataset):
    runs = runs_table({**LECTURE, ("relu", RN): [0.99, None, 0.98, None, 0.97]},
                      faults={("relu", RN, 3)})
    text = rendered(runs, dataset)
    assert "| relu/random_normal | 5 | 1 of 5 | 1 | 7 | yes |" in text
    assert "| relu/random_normal | 5 | 1 of 5 | 3 | 7 | no: a float32 fault |" in text
    assert "**1 of them stayed finite there**" in text
    assert "| every divergence persists in float64 |" in text and "**broken**" in text
    finite = [0.99, 0.98, 0.97]
    assert f"{np.mean(finite):.3f} ± {np.std(finite, ddof=1):.3f} (n = 3; 2 diverged)" in text
    assert "every check scores a diverged seed as a constant guess" in text


def test_a_section_whose_divergences_all_persist_says_so(dataset):
    runs = runs_table({**LECTURE, ("relu", RN): [0.99, None, 0.98, 0.99, 0.97]})
    text = rendered(runs, dataset)
    assert "| every divergence persists in float64 | 1 models diverged, 0 of them in float32 " \
        "only (trained again alone in float64, they stayed finite) | holds |" in text
    assert "every divergence persists in float64: it is the network's" in text
    assert "stayed finite there" not in text


def test_a_mean_halfway_between_two_printed_values_prints_one_way(dataset):
    """pandas' grouped mean sums differently from a check's: these 10 seeds' mean is
    0.9695 to one and 0.96949... to the other, so the table and the check would print
    0.970 and 0.969."""
    accs = [0.99, 0.97, 0.96, 0.99, 0.96, 0.97, 0.98, 0.975, 0.95, 0.95]
    grouped = pd.Series(accs).groupby([0] * 10).mean().iloc[0]
    assert f"{grouped:.3f}" != f"{np.mean(accs):.3f}"  # the case is one
    runs = runs_table({**LECTURE, ("relu", RN): accs}, seeds=10)
    text = rendered(runs, dataset)
    check = gc.relu_tanh_learn(runs, 5, RN, BASE).check(f"relu/{RN}")
    shown = check.fmt(check.effect)
    assert f"| relu | 0.050 | {shown} | {shown} ± " in text  # train = test accuracy here
    assert f"| relu/random_normal | mean test accuracy | {shown} [" in text


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
    where = paths("grid", grid["results"])
    main, appendix = where["section"].read_text(), where["appendix"].read_text()
    report = (grid["results"] / "report.md").read_text()
    for name, _ in grid["spec"].figures():  # in the main text or in the appendix
        assert (f"](figures/grid/{name})" in main and f"](figures/grid/{name})" in report) \
            or f"](../figures/grid/{name})" in appendix
    assert "| linear/random_normal | 3 | 2 of 2 |" in appendix
    assert "| linear/random_normal | 4 | 2 of 2 |" in appendix
    assert "4 of 24 models diverged" in report


def test_results_json_and_metrics_carry_the_claims(grid):
    results = json.loads(paths("grid", grid["results"])["results"].read_text())
    assert [c["id"] for c in results["claims"]] == [str(i) for i in range(1, 8)]
    assert results["metrics"]["models"] == 24 and results["metrics"]["diverged"] == 4
    metrics = json.loads((grid["results"] / "metrics.json").read_text())
    for claim in results["claims"]:  # keyed by the claims' stable names
        assert metrics["claims"]["grid"][claim["key"]]["verdict"] == claim["verdict"]
    assert len(metrics["claims"]["grid"]) == 7


def test_report_counts_the_verdicts_of_the_json(grid):
    results = json.loads(paths("grid", grid["results"])["results"].read_text())
    n = {v: sum(c["verdict"] == v for c in results["claims"]) for v in C.VERDICTS}
    report = " ".join((grid["results"] / "report.md").read_text().split())
    assert (f"Of 7 claims, {n['supported']} are supported, {n['partly']} partly, "
            f"{n['not supported']} not supported, {n['inconclusive']} inconclusive and "
            f"{n['not tested']} not tested.") in report


def test_report_records_provenance_in_its_method_appendix(grid):
    prov = (grid["results"] / "appendix/method.md").read_text().split("## Provenance")[1]
    for package in ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn",
                    "snakemake", "dvc"):
        assert f"| {package} |" in prov
    assert "Git revision:" in prov and "[params.json](../params.json)" in prov
    report = (grid["results"] / "report.md").read_text()
    assert '"n_samples"' not in report and "from git revision" in report  # no params dump


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


def test_learns_reaches_the_claims_without_renaming_a_run_file(dataset):
    params = json.loads(json.dumps(PARAMS))
    params["learns"] = {"accuracy": 0.9, "chance_margin": 0.1}
    spec = Spec.from_params(params, dataset=dataset, train_code="x")
    default = Spec.from_params(PARAMS, dataset=dataset, train_code="x")
    assert spec.run_files() == default.run_files()  # it judges the models, not trains them
    base = gc.Baseline.of(spec)
    assert base.learns == Learns(0.9, 0.1) and base.nothing == pytest.approx(CHANCE + 0.1)
    assert gc.Baseline.of(default).learns == Learns()  # params without learns: defaults


def test_the_reports_setup_names_the_widths_trained_in_single_precision():
    from trainability.report import setup

    params = json.loads(json.dumps(PARAMS))
    assert setup(params)["float32_widths"] == []  # float32_from None
    params["grid"]["float32_from"] = 4
    assert setup(params)["float32_widths"] == [4]
    params["model"]["width"] = 6  # the running example's width is trained too
    assert setup(params)["float32_widths"] == [4, 6]


@pytest.mark.legibility
def test_every_figure_is_legible(grid, monkeypatch):
    monkeypatch.chdir(grid["root"])  # run files are named relative to the project
    spec = grid["spec"]
    tables = read_study_tables(spec, grid["results"] / "tables/grid")
    legibility.assert_legible(study.module("grid", "figures").make(spec, tables))
