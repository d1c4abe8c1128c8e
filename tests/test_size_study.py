"""The size study: every claim's verdict and the section's readings from synthetic tables
(one world where every claim holds, and for each claim a world where it does not), its
settings, its stages on tiny real runs through the CLI, and (marked ``pipeline``) its rules
end to end on the shared tiny run."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import TINY, make_project, planned_jobs, read_params, snakemake, write_params
from trainability import study
from trainability.cli import main
from trainability.config import ConfigError
from trainability.markdown import render
from trainability.model import Architecture
from trainability.prune import weights_of_width
from trainability.studies.size import claims as size_claims
from trainability.studies.size import section, tables
from trainability.studies.size.spec import Spec, problems, quick

SIZE = TINY["size"]
SEEDS = range(10)
EPOCHS = 50
DENSITY = [1.0, 0.5, 0.2, 0.05]  # the synthetic lottery's levels 0..3


def _spec(**size):
    params = {"size": {**copy.deepcopy(SIZE), **size}}
    return Spec.from_params(params, data_code="d", train_code="t")


# ---------------------------------------------------------------- synthetic worlds


def _width(rates, name="circles"):
    """``rates``: width -> (seeds, test successes, validation successes)."""
    rows = []
    for w, (n, s, v) in rates.items():
        for seed in range(n):
            rows.append(dict(
                dataset=name, regularizer="none", width=w, seed=seed,
                test_acc=0.97 if seed < s else 0.8, val_acc=0.97 if seed < v else 0.8,
                train_acc=0.97, early_stop=10.0, censored=False,
                epochs_to_95=5.0 if seed < s else np.nan, diverged=False, depth=2,
                epochs=EPOCHS, strength=0.0,
                weights=weights_of_width(Architecture(2, 1, "relu"), w), threshold=0.95,
                success=seed < s, val_success=seed < v))
    runs = pd.DataFrame(rows)
    return runs, tables.width_summary(runs)


def _dead(live_widest, widest=64, name="circles", tau=0.01):
    """Unregularized networks of widths 8 and ``widest`` with ``live_widest`` live units
    per layer at the widest."""
    rows = []
    for w, live in ((8, 8), (widest, live_widest)):
        for seed in SEEDS:
            for layer in (1, 2):
                dead = 1 - live / w
                rows.append(dict(dataset=name, regularizer="none", strength=0.0, width=w,
                                 seed=seed, layer=layer, tau=tau, act_dead=dead,
                                 norm_dead=0.0, dead=dead, live=live, apoz=0.5,
                                 test_acc=0.97))
    runs = pd.DataFrame(rows)
    return runs, tables.dead_summary(runs, tau)


def _lottery(acc, es=None, name="circles"):
    """``acc``: arm -> accuracy per level (None: no such level); ``es``: arm -> early
    stopping epoch per level (default 30 everywhere)."""
    es = es or {}
    rows = []
    for arm, levels in acc.items():
        for level, a in enumerate(levels):
            if a is None:
                continue
            stop = es.get(arm, [30] * 4)[level]
            for draw in range(2 if arm == "reinit" else 1):
                for seed in SEEDS:
                    value = a + 0.002 * (seed % 3)  # seed luck, shared by every arm
                    rows.append(dict(
                        dataset=name, big_width=64, arm=arm, level=level, draw=draw, seed=seed,
                        width=64, weights=4288 * DENSITY[level], density=DENSITY[level],
                        struct_dead=0.0, test_acc=value, val_acc=value,
                        early_stop=float(stop), censored=stop == EPOCHS, epochs_to_95=5.0,
                        diverged=False, epochs=EPOCHS))
    runs = pd.DataFrame(rows)
    return runs, tables.lottery_summary(runs)


GOOD_LOTTERY = {
    "ticket": [0.97, 0.97, 0.97, 0.90], "late": [0.97, 0.97, 0.97, 0.9],
    "oneshot": [None, 0.97, 0.9, 0.8], "reinit": [None, 0.90, 0.85, 0.80],
    "random": [None, 0.88, 0.80, 0.70], "dense": [0.97, 0.85, 0.80, 0.75],
}


def _structured(finetune, scratch, live_scratch, name="circles", n=50):
    """Success counts of the fixed k = 2 (fine-tuned, from scratch) and of each network
    cut to its own live width (from scratch)."""
    rows = []
    for target, arm, k, s in (("fixed", "finetune", 2, finetune), ("fixed", "scratch", 2, scratch),
                              ("fixed", "pruned", 2, 0), ("fixed", "rewind", 2, scratch),
                              ("live", "scratch", 3, live_scratch)):
        for seed in range(n):
            ok = seed < s
            rows.append(dict(dataset=name, big_width=64, target=target, arm=arm, k=k,
                             seed=seed, test_acc=0.97 if ok else 0.8,
                             val_acc=0.97 if ok else 0.8, threshold=0.95, success=ok,
                             val_success=ok, diverged=False))
    runs = pd.DataFrame(rows)
    live = pd.DataFrame({"dataset": name, "big_width": 64, "seed": range(n), "live_1": 3,
                         "live_2": 2, "k_eff": 3})
    return runs, tables.structured_summary(runs), live


def world(**bad) -> dict:
    """Every table of the study, each claim holding unless named in ``bad``."""
    width_runs, width = _width(
        {2: (100, 0, 0), 3: (100, 100, 100) if "big" in bad else (100, 60, 55),
         64: (20, 20, 20)})
    dead_runs, dead = _dead(64 if "cut" in bad else 2)
    if "dead" in bad:
        dead_runs, dead = _dead(63)
    acc = copy.deepcopy(GOOD_LOTTERY)
    if "tickets" in bad:  # random pruning holds the dense accuracy longest
        acc |= {"ticket": [0.97, 0.97, 0.90, 0.85], "random": [None, 0.97, 0.97, 0.97],
                "reinit": [None, 0.97, 0.9, 0.85]}
    if "small_dense" in bad:
        acc["dense"] = list(acc["ticket"])
    es = {"ticket": [30, 10, 10, 30]}
    if "faster" in bad:
        es = {"ticket": [30, 40, 40, 40]}
    if "censored" in bad:
        es = {arm: [EPOCHS] * 4 for arm in acc}
    lottery_runs, lottery = _lottery(acc, es)
    st_runs, st, live = _structured(*((0, 20, 2) if "structured" in bad else (45, 10, 2)))
    if "cut" in bad:
        st_runs, st, live = _structured(45, 10, 50)
    return {"width_runs": width_runs, "width": width, "dead_runs": dead_runs, "dead": dead,
            "lottery_runs": lottery_runs, "lottery": lottery, "structured_runs": st_runs,
            "structured": st, "structured_live": live}


def _evaluate(tabs, spec=None):
    spec = spec or _spec()
    return {c.key: c for c in size_claims.evaluate(spec, tabs)}


def _render(tabs, spec=None, found=None) -> str:
    spec = spec or _spec()
    found = found or size_claims.evaluate(spec, tabs)
    context = section.context(spec, tabs, found, [], "figures/size")
    text = render(study.folder("size") / "section.md.j2", context)
    return " ".join(text.split())  # sentences wrap: compare with single spaces


@pytest.fixture(scope="module")
def good():
    tabs = world()
    found = size_claims.evaluate(_spec(), tabs)
    return tabs, {c.key: c for c in found}, _render(tabs, found=found)


# ---------------------------------------------------------------- claims: pass and fail

# claim key -> (what breaks it, its verdict then, sentences of the holding reading, of the
# failing reading)
CASES = {
    "big-trains": ("big", "not supported",
                   ["width helps training here, not only capacity"],
                   ["the narrowest capable width succeeds about as often as the widest"]),
    "many-dead": ("dead", "not supported", [], []),
    "cut-cannot-train": ("cut", "not supported",
                         ["As the lecture says, networks as narrow as the live part"],
                         ["networks as narrow as the live part of a wide one train from "
                          "scratch for most seeds"]),
    "lottery-tickets": ("tickets", "partly",
                        ["both the mask and the initial values matter here"],
                        ["random pruning at the same per-layer density comes within"]),
    "tickets-faster": ("faster", "not supported", [], []),
    "ticket-vs-small-dense": ("small_dense", "not supported",
                              ["the ticket is more accurate than a dense network trained "
                               "from scratch"],
                              ["This agrees with Liu et al."]),
    "cut-beats-scratch": ("structured", "not supported",
                          ["Cutting a wide network and fine-tuning it succeeds more often"],
                          ["At no k tested is cutting and fine-tuning shown to succeed"]),
}


def test_every_claim_holds_in_the_good_world(good):
    _, found, _ = good
    assert {k: c.verdict for k, c in found.items()} == dict.fromkeys(CASES, "supported")
    assert [c.id for c in found.values()] == [f"N{i}" for i in range(1, 8)]


@pytest.mark.parametrize("key", CASES)
def test_each_claim_and_its_reading_flip_when_the_data_do(key, good):
    _, _, good_text = good
    breaks, verdict, holding, failing = CASES[key]
    tabs = world(**{breaks: True})
    found = size_claims.evaluate(_spec(), tabs)
    assert {c.key: c for c in found}[key].verdict == verdict
    text = _render(tabs, found=found)
    for sentence in holding:
        assert sentence in good_text and sentence not in text
    for sentence in failing:
        assert sentence in text and sentence not in good_text


def test_a_lottery_where_random_pruning_holds_longest_flips_the_mask_reading():
    tabs = world(tickets=True)
    found = size_claims.evaluate(_spec(), tabs)
    text = _render(tabs, found=found)
    assert "magnitude pruning found no better mask than chance" in text
    assert "mask carries" not in text and "matter here" not in text
    assert [c.verdict for c in found[3].checks] == ["passes", "fails", "fails"]


def test_the_capable_width_is_the_narrowest_with_a_success_on_validation(good):
    tabs, found, text = good
    check = found["big-trains"].checks[0]
    assert check.what == "circles: width 64 - width 3"  # width 2: no seed succeeded
    assert "circles 3" in text and "cannot enclose the inner ring" in text
    only_test = copy.deepcopy(tabs)  # successes on test but none on validation do not count
    only_test["width"].loc[only_test["width"].width == 3, "val_successes"] = 0
    assert _evaluate(only_test)["big-trains"].checks == []  # capable: only the widest


def test_censored_early_stopping_epochs_are_not_a_tie_that_passes(good):
    tabs = world(censored=True)
    found = size_claims.evaluate(_spec(), tabs)
    claim = found[4]
    assert claim.key == "tickets-faster"
    assert claim.verdict == "inconclusive"  # every pair censored on both sides: no data
    assert all(c.n == 0 for c in claim.checks)
    text = _render(tabs, found=found)
    assert "are censored: the validation loss was still falling at the last epoch" in text
    assert "still falling at the last epoch, so" not in good[2]


def test_a_censored_ticket_against_a_dense_network_that_stopped_is_not_faster():
    tabs = world()
    runs = tabs["lottery_runs"]
    ticket = (runs.arm == "ticket") & runs.level.isin([1, 2])
    runs.loc[ticket, ["early_stop", "censored"]] = [EPOCHS, True]
    claim = _evaluate(tabs)["tickets-faster"]
    assert claim.verdict == "not supported"
    assert all(c.n == len(SEEDS) and c.effect == 0 for c in claim.checks)


def test_a_diverged_model_counts_as_a_failure_not_a_dropped_seed():
    tabs = world()
    runs = tabs["lottery_runs"]
    at = (runs.arm == "ticket") & (runs.level == 2)
    runs.loc[at, "diverged"] = True
    runs.loc[at, "test_acc"] = np.nan
    tabs["lottery"] = tables.lottery_summary(runs)
    check = _evaluate(tabs)["lottery-tickets"].checks[0]
    assert check.n == len(SEEDS) and check.effect < -0.4  # a coin flip, not a gap


def test_a_width_k_too_small_for_any_network_to_succeed_is_not_a_pruning_check():
    tabs = world()
    st = tabs["structured"]
    st.loc[st.k == 2, ["successes", "val_successes", "val_success_rate"]] = 0
    claim = _evaluate(tabs)["cut-beats-scratch"]
    assert claim.verdict == "not tested" and "capable k" in claim.note


def test_sub_studies_switched_off_leave_their_claims_untested():
    spec = _spec(lottery={**SIZE["lottery"], "enabled": False})
    tabs = {k: v for k, v in world().items() if not k.startswith("lottery")}
    found = size_claims.evaluate(spec, tabs)
    for claim in found[3:6]:
        assert claim.verdict == "not tested"
    text = _render(tabs, spec, found)
    assert "lottery_accuracy.png" not in text and "Frankle & Carbin:" not in text


def test_deviations_from_frankle_and_carbin_follow_the_spec(good):
    _, _, text = good
    assert "pruned at its own rate, 10% per round instead of the hidden layers' 20%" in text
    assert "starts the optimizer (adam) afresh" in text
    assert "every accuracy is at the last epoch (3)" in text
    same = _spec(lottery={**SIZE["lottery"], "rates": {"first": 0.2, "hidden": 0.2,
                                                       "output": 0.1}},
                 train={**SIZE["train"], "optimizer": "sgd"})
    text = _render(world(), same)
    assert "pruned at its own rate" not in text and "starts the optimizer" not in text


# ---------------------------------------------------------------- settings


def test_quick_setting_shrinks_widths_and_seeds():
    params = copy.deepcopy(SIZE) | {"quick": True}
    params["width"] |= {"widths": [2, 8, 256, 512], "seeds_narrow": 100, "seeds": 50}
    params["dead"] |= {"widths": [8, 128], "seeds": 10}
    q = quick(params)
    assert q["width"]["widths"] == [2, 8] and q["width"]["seeds_narrow"] == 40
    assert q["dead"]["widths"] == [8] and q["dead"]["seeds"] == 5
    assert q["lottery"]["reinit_draws"] == 1
    assert quick(SIZE) == SIZE
    spec = Spec.from_params({"size": params}, data_code="d", train_code="t")
    assert spec.quick and "--widths" in spec.train_args(None)


def test_settings_the_schema_cannot_check_name_their_key():
    bad = copy.deepcopy(SIZE)
    bad["lottery"]["rewind_epoch"] = 3
    bad["datasets"] = bad["datasets"] * 2
    bad["train"]["batch_size"] = 500
    found = "\n".join(problems(bad))
    assert "size.lottery.rewind_epoch: 3 must be below size.train.epochs (3)" in found
    assert "size.datasets: circles listed more than once" in found
    assert "size.train.batch_size: 500" in found
    with pytest.raises(ConfigError, match="rewind_epoch"):
        Spec.from_params({"size": bad}, data_code="d", train_code="t")
    assert problems(SIZE) == []


def test_run_files_are_named_by_everything_that_makes_them():
    spec = _spec()
    assert len(spec.run_files()) == 3 and len(set(spec.run_files())) == 3
    other = _spec(train={**SIZE["train"], "lr": 0.02})
    assert not set(spec.run_files()) & set(other.run_files())
    analysis = _spec(width={**SIZE["width"], "reliable": 0.9})  # an analysis setting
    assert analysis.run_files() == spec.run_files()
    draws = _spec(lottery={**SIZE["lottery"], "reinit_draws": 1})
    assert draws.width_files() == spec.width_files()
    assert draws.lottery_files() != spec.lottery_files()


def test_bad_command_input_is_one_line_naming_the_problem(tmp_path, capsys):
    assert main(["size-train", "--data", str(tmp_path / "missing.npz"), "--widths", "4",
                 "--seeds", "2", "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.npz: file not found" in err
    assert main(["size-train", "--data", "x.npz", "--widths", "4", "8", "--seeds", "1", "2",
                 "3", "--out", "y.npz"]) == 2
    assert "--seeds: give one count or one per width" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


# ---------------------------------------------------------------- stages on tiny real runs


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """The study's jobs run by hand through the CLI, with the arguments its spec gives the
    workflow, then its three stages."""
    root = tmp_path_factory.mktemp("size")
    spec = _spec()
    wildcards = type("W", (), {"dataset": "circles"})()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        data = spec.dataset_file("circles")
        assert main(["dataset", *map(str, spec.dataset_args(wildcards)), "--out", data]) == 0
        for command, args, files in (
            ("size-train", spec.train_args(wildcards), spec.width_files()),
            ("size-lottery", spec.lottery_args(wildcards), spec.lottery_files()),
            ("size-structured", spec.structured_args(wildcards), spec.structured_files()),
        ):
            assert main([command, "--data", data, *map(str, args), "--out", files[0]]) == 0
        for stage in study.STAGES:
            study.run("size", stage, study.spec_json(spec), root / "results")
    return spec, root / "results"


def test_stages_write_every_declared_table_figure_and_link_each(staged):
    spec, results = staged
    for file in spec.tables().values():
        assert (results / "tables/size" / file).stat().st_size > 0
    text = (results / "sections/size.md").read_text()
    assert text.startswith("## How big should the network be?")
    for name, _ in spec.figures():
        assert (results / "figures/size" / name).stat().st_size > 0
        assert f"](figures/size/{name})" in text
    assert len(spec.figures()) == 10


def test_section_results_hold_every_claim_and_the_metrics(staged):
    _, results = staged
    out = json.loads((results / "sections/size.json").read_text())
    assert [c["id"] for c in out["claims"]] == [f"N{i}" for i in range(1, 8)]
    width = pd.read_csv(results / "tables/size/width.csv")
    assert out["metrics"]["circles"]["success_widest"] == pytest.approx(
        width.sort_values("width").success_rate.iloc[-1])
    lottery = pd.read_csv(results / "tables/size/lottery_runs.csv")
    assert set(lottery.arm) == {"ticket", "late", "oneshot", "reinit", "random", "dense"}
    assert re.search(r"\| N1 \|", (results / "sections/size.md").read_text())


# ---------------------------------------------------------------- end to end (tiny run)

pipeline = pytest.mark.pipeline


@pipeline
def test_the_report_has_the_section_and_the_metrics(finished_project):
    results = finished_project / "results"
    assert "## How big should the network be?" in (results / "report.md").read_text()
    assert "N1" in json.loads((results / "metrics.json").read_text())["size"]["claims"]
    assert "Nothing to be done" in snakemake(finished_project, "-n", "size").stdout


@pipeline
def test_changing_an_analysis_setting_retrains_nothing(project_copy):
    params = read_params(project_copy)
    params["size"]["width"]["reliable"] = 0.9
    params["size"]["datasets"][0]["success"] = 0.8
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert not {"size_train", "size_lottery", "size_structured", "size_dataset"} & set(jobs)
    assert {"size_tables", "size_figures", "size_section", "report"} <= set(jobs)


@pipeline
def test_changing_the_protocol_retrains_only_the_size_study(project_copy):
    params = read_params(project_copy)
    params["size"]["train"]["lr"] = 0.02
    params["size"]["lottery"]["enabled"] = False
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert jobs.get("size_train") == jobs.get("size_structured") == len(SIZE["datasets"])
    assert "size_lottery" not in jobs and "size_dataset" not in jobs
    assert not {j for j in jobs if j.endswith("_train") and not j.startswith("size")}


@pipeline
def test_invalid_size_settings_fail_before_any_job_with_the_key_named(tmp_path):
    params = copy.deepcopy(TINY)
    params["size"]["lottery"]["rewind_epoch"] = 5
    project = make_project(tmp_path / "project", params)
    result = snakemake(project, "-n", check=False)
    assert result.returncode != 0
    assert "size.lottery.rewind_epoch: 5 must be below size.train.epochs (3)" in (
        result.stdout + result.stderr)
