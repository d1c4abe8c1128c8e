"""The size study: every claim's verdict, every check of every claim and the section's
readings from synthetic tables (one world where every claim holds, and for each check a
world where it fails), its settings, its stages on tiny real runs through the CLI, and
(marked ``pipeline``) its rules end to end on the shared tiny run."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

import legibility
from pipeline_helpers import TINY, make_project, planned_jobs, read_params, snakemake, write_params
from trainability import study
from trainability.cli import main
from trainability.config import ConfigError
from trainability.data import load_dataset
from trainability.io import InputError
from trainability.markdown import render_section
from trainability.model import Architecture
from trainability.prune import weights_of_width
from trainability.studies.size import ceiling, section, tables
from trainability.studies.size import claims as size_claims
from trainability.studies.size.spec import Spec, problems, quick
from trainability.studies.size.training import split
from trainability.tables import read_study_tables

SIZE = TINY["size"]
SEEDS = range(10)
EPOCHS = 50
DENSITY = [1.0, 0.5, 0.2, 0.05]  # the synthetic lottery's levels 0..3
GUESS = 0.52  # the synthetic test split's larger class


def _spec(**size):
    params = {"size": {**copy.deepcopy(SIZE), **size}}
    return Spec.from_params(params, data_code="d", train_code="t")


# ---------------------------------------------------------------- synthetic worlds


def _splits(name="circles", ceil=0.99):
    return pd.DataFrame([
        {"dataset": name, "split": part, "n": 200, "guess_acc": guess, "guess_loss": 0.69,
         "ceiling": ceil} for part, guess in (("fit", 0.51), ("validation", 0.505),
                                              ("test", GUESS))])


def _width(rates, name="circles"):
    """``rates``: width -> (seeds, test successes, validation successes)."""
    rows = []
    for w, (n, s, v) in rates.items():
        for seed in range(n):
            rows.append(dict(
                dataset=name, regularizer="none", width=w, seed=seed,
                test_acc=0.97 if seed < s else 0.8, val_acc=0.97 if seed < v else 0.8,
                train_acc=0.97, early_stop=10.0, censored=False,
                epochs_to_95=5.0 if seed < s else np.nan, status="ok", float32_fault=False,
                depth=2, epochs=EPOCHS, strength=0.0,
                weights=weights_of_width(Architecture(2, 1, "relu"), w), threshold=0.95,
                success=seed < s, val_success=seed < v))
    runs = pd.DataFrame(rows)
    return runs, tables.width_summary(runs)


def _born(width_runs, born=range(60, 90), died=range(90, 95), drawn=(400, 20),
          name="circles"):
    """``born_dead_runs`` and ``born_dead`` of the width study: at width 3 the seeds in
    ``born`` were born dead and those in ``died`` died in training, at width 2 seeds 0-9
    were born dead, nothing else is dead; ``drawn``: born-dead networks of 5000 drawn at
    widths 2 and 3."""
    runs = width_runs[width_runs.dataset == name]
    w2, w3 = runs.width == 2, runs.width == 3
    init = np.where((w3 & runs.seed.isin(born)) | (w2 & (runs.seed < 10)), 2, 0)
    end = np.where(init > 0, 2, np.where(w3 & runs.seed.isin(died), 1, 0))
    frame = runs[["dataset", "depth", "width", "seed", "status", "test_acc", "success"]]
    out = tables.with_fates(frame.assign(dead_init=init, dead_end=end))
    counts = pd.DataFrame({"dataset": name, "depth": 2, "width": [2, 3], "draws": 5000,
                           "drawn_dead": list(drawn)})
    return out, tables.born_dead_summary(out, counts)


def _dead(lives, widest=64, name="circles", tau=0.01):
    """Unregularized networks of widths 8 (every unit live) and ``widest`` with
    ``lives[i]`` live units in hidden layer i + 1."""
    rows = []
    for w, per_layer in ((8, (8, 8)), (widest, lives)):
        for seed in SEEDS:
            for layer, live in enumerate(per_layer, 1):
                dead = 1 - live / w
                rows.append(dict(dataset=name, regularizer="none", strength=0.0, width=w,
                                 seed=seed, layer=layer, tau=tau, act_dead=dead,
                                 norm_dead=0.0, dead=dead, live=live, apoz=0.5,
                                 test_acc=0.97))
    runs = pd.DataFrame(rows)
    return runs, tables.dead_summary(runs, tau)


def _lottery(acc, es=None, val=None, name="circles"):
    """``acc``: arm -> test accuracy per level (None: no such level); ``val``: arm ->
    validation accuracy per level where it differs; ``es``: arm -> early stopping epoch per
    level (default 30 everywhere)."""
    es, val = es or {}, val or {}
    rows = []
    for arm, levels in acc.items():
        for level, a in enumerate(levels):
            if a is None:
                continue
            stop = es.get(arm, [30] * 4)[level]
            v = val.get(arm, levels)[level]
            for draw in range(2 if arm == "reinit" else 1):
                for seed in SEEDS:
                    luck = 0.002 * (seed % 3)  # seed luck, shared by every arm
                    rows.append(dict(
                        dataset=name, big_width=64, arm=arm, level=level, draw=draw, seed=seed,
                        width=64, weights=4288 * DENSITY[level], density=DENSITY[level],
                        struct_dead=0.0, test_acc=a + luck, val_acc=v + luck,
                        early_stop=float(stop), censored=stop == EPOCHS, epochs_to_95=5.0,
                        status="ok", float32_fault=False, epochs=EPOCHS))
    runs = pd.DataFrame(rows)
    return runs, tables.lottery_summary(runs)


GOOD_LOTTERY = {
    "ticket": [0.97, 0.97, 0.97, 0.90], "late": [0.97, 0.97, 0.97, 0.9],
    "oneshot": [None, 0.97, 0.9, 0.8], "reinit": [None, 0.90, 0.85, 0.80],
    "random": [None, 0.88, 0.80, 0.70], "dense": [0.97, 0.85, 0.80, 0.75],
}


def _structured(finetune, scratch, live_scratch, name="circles", n=50, scratch_val=None):
    """Success counts of the fixed k = 2 (fine-tuned, from scratch; ``scratch_val`` on
    validation if it differs) and of each network cut to its own live width (from
    scratch)."""
    rows = []
    for target, arm, k, s, v in (
            ("fixed", "finetune", 2, finetune, finetune),
            ("fixed", "scratch", 2, scratch, scratch if scratch_val is None else scratch_val),
            ("fixed", "pruned", 2, 0, 0), ("fixed", "rewind", 2, scratch, scratch),
            ("live", "scratch", 3, live_scratch, live_scratch)):
        for seed in range(n):
            rows.append(dict(dataset=name, big_width=64, target=target, arm=arm, k=k,
                             seed=seed, test_acc=0.97 if seed < s else 0.8,
                             val_acc=0.97 if seed < v else 0.8, threshold=0.95,
                             success=seed < s, val_success=seed < v, status="ok",
                             float32_fault=False))
    runs = pd.DataFrame(rows)
    live = pd.DataFrame({"dataset": name, "big_width": 64, "seed": range(n), "live_1": 3,
                         "live_2": 2, "k_eff": 3})
    return runs, tables.structured_summary(runs), live


def world(**bad) -> dict:
    """Every table of the study, each claim holding unless named in ``bad`` (a claim's
    name breaks all its checks, a check's name only that one)."""
    capable = {"big": (100, 80, 75), "big_ceiling": (100, 92, 90),
               "big_harm": (100, 92, 90)}
    widest = (20, 10, 10) if "big_harm" in bad else (20, 14, 14) if "big" in bad else (20, 20, 20)
    width_runs, width = _width({2: (100, 0, 0), 64: widest,
                                3: next((capable[k] for k in capable if k in bad),
                                        (100, 60, 55))})
    lives = (64, 63) if "dead" in bad else (64, 64) if {"cut", "cut_b"} & set(bad) else (64, 2)
    dead_runs, dead = _dead(lives)
    acc, val, es = copy.deepcopy(GOOD_LOTTERY), {}, {"ticket": [30, 10, 10, 30]}
    if "tickets" in bad:  # random pruning holds the dense accuracy longest
        acc |= {"ticket": [0.97, 0.97, 0.90, 0.85], "random": [None, 0.97, 0.97, 0.97],
                "reinit": [None, 0.97, 0.9, 0.85]}
    if "ticket_a" in bad:  # matches on validation, falls short on test
        acc["ticket"], val["ticket"] = [0.97, 0.90, 0.90, 0.85], [0.97, 0.97, 0.97, 0.90]
    if "ticket_b" in bad:
        acc["reinit"] = [None, 0.97, 0.97, 0.90]
    if "ticket_c" in bad:
        acc["random"] = [None, 0.97, 0.97, 0.90]
    if "reinit_ceiling" in bad:  # the ticket cannot beat a control at 0.995 by 0.01
        acc |= {"ticket": [0.97, 0.995, 0.995, 0.90], "reinit": [None, 0.993, 0.993, 0.8]}
    if "reinit_harm" in bad:
        acc["reinit"] = [None, 0.995, 0.995, 0.8]
    if "small_dense" in bad:
        acc["dense"] = list(acc["ticket"])
    if "small_dense_match" in bad:
        acc["dense"] = [0.97, 0.85, 0.97, 0.75]
    if "small_dense_sparse" in bad:
        acc["dense"] = [0.97, 0.85, 0.80, 0.90]
    if "small_dense_ceiling" in bad:
        acc |= {"ticket": [0.97, 0.995, 0.995, 0.90], "dense": [0.97, 0.85, 0.993, 0.75]}
    if "small_dense_harm" in bad:
        acc["dense"] = [0.97, 0.85, 0.995, 0.75]
    if "faster" in bad:
        es = {"ticket": [30, 40, 40, 40]}
    if "faster_50" in bad:
        es = {"ticket": [30, 40, 10, 30]}
    if "faster_20" in bad:
        es = {"ticket": [30, 10, 40, 30]}
    if "censored" in bad:
        es = {arm: [EPOCHS] * 4 for arm in acc}
    lottery_runs, lottery = _lottery(acc, es, val)
    counts = (45, 10, 2)
    if "structured" in bad:
        counts = (0, 20, 2)
    if {"cut", "cut_a"} & set(bad):
        counts = (45, 10, 50)
    scratch_val = None
    if "structured_ceiling" in bad:  # unreliable on validation, 48 of 50 on test
        counts, scratch_val = (50, 48, 2), 10
    if "structured_harm" in bad:
        counts, scratch_val = (20, 48, 2), 10
    st_runs, st, live = _structured(*counts, scratch_val=scratch_val)
    born = {"born": range(60, 65), "born_unsure": range(60, 78)}
    born_runs, born_summary = _born(width_runs, next(
        (born[k] for k in born if k in bad), range(60, 90)),
        drawn=(400, 1500) if "born_above" in bad else (400, 20))
    return {"splits": _splits(), "width_runs": width_runs, "width": width,
            "born_dead_runs": born_runs, "born_dead": born_summary,
            "dead_runs": dead_runs, "dead": dead, "lottery_runs": lottery_runs,
            "lottery": lottery, "structured_runs": st_runs, "structured": st,
            "structured_live": live}


def _evaluate(tabs, spec=None):
    spec = spec or _spec()
    return {c.key: c for c in size_claims.evaluate(spec, tabs)}


def _render(tabs, spec=None, found=None) -> str:
    spec = spec or _spec()
    found = found or size_claims.evaluate(spec, tabs)
    context = section.context(spec, tabs, found, size_claims.sanity(spec, tabs),
                              "figures/size")
    text = "\n".join(render_section("size", context))
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
    "born-dead": ("born", "not supported",
                  ["most seeds that failed at width 3 and wider were born dead (30 of 40): "
                   "their failure was fixed at initialization"],
                  ["being born dead explains few of the failures at width 3 and wider: of 40 "
                   "failed seeds, 5 were born dead, 5 died in training (a hidden layer "
                   "inactive on every fit point at the end, none at the start) and 30 were "
                   "alive at both ends yet stopped short of learns.accuracy."]),
}

# every check of the good world -> the world (``world`` key) where it, and no other check of
# its claim, fails
CHECKS = {
    ("big-trains", "circles: width 64 - width 3"): "big",
    ("many-dead", "circles, width 64"): "dead",
    ("cut-cannot-train", "(a) circles"): "cut_a",
    ("cut-cannot-train", "(b) circles, width 64"): "cut_b",
    ("lottery-tickets", "(a) circles at 20% of the weights: ticket - dense"): "ticket_a",
    ("lottery-tickets", "(b) circles at 20% of the weights: ticket - re-initialized"):
        "ticket_b",
    ("lottery-tickets", "(c) circles at 20% of the weights: ticket - random"): "ticket_c",
    ("tickets-faster", "circles: ticket at 50% vs dense"): "faster_50",
    ("tickets-faster", "circles: ticket at 20% vs dense"): "faster_20",
    ("ticket-vs-small-dense", "circles, matching level (20%)"): "small_dense_match",
    ("ticket-vs-small-dense", "circles, sparsest level (5%)"): "small_dense_sparse",
    ("cut-beats-scratch", "circles, k = 2"): "structured",
    ("born-dead", "circles: widths 3 to 64"): "born",
}


def test_every_claim_holds_in_the_good_world(good):
    _, found, _ = good
    assert {k: c.verdict for k, c in found.items()} == dict.fromkeys(CASES, "supported")
    assert [c.id for c in found.values()] == [f"N{i}" for i in range(1, 9)]
    assert {(k, c.what) for k, claim in found.items() for c in claim.checks} == set(CHECKS)
    assert all(c.passed for claim in found.values() for c in claim.checks)
    assert not any(claim.guards for claim in found.values())


@pytest.mark.parametrize("key, what", CHECKS)
def test_each_check_fails_in_a_world_made_to_fail_it_and_only_it(key, what):
    verdicts = {c.what: c.verdict for c in _evaluate(world(**{CHECKS[key, what]: True}))[key]
                .checks}
    assert verdicts[what] == "fails"
    assert all(v == "passes" for w, v in verdicts.items() if w != what)  # of its claim


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


# claim key -> (world whose reference arm is at the ceiling, one where the arm also falls
# more than the gain below it, the check's name)
GUARDS = {
    "big-trains": ("big_ceiling", "big_harm", "circles: width 64 - width 3"),
    "lottery-tickets": ("reinit_ceiling", "reinit_harm",
                        "(b) circles at 20% of the weights: ticket - re-initialized"),
    "ticket-vs-small-dense": ("small_dense_ceiling", "small_dense_harm",
                              "circles, matching level (20%)"),
    "cut-beats-scratch": ("structured_ceiling", "structured_harm", "circles, k = 2"),
}


@pytest.mark.parametrize("key", GUARDS)
def test_a_comparison_whose_reference_is_at_the_ceiling_is_a_no_harm_guard(key):
    ceiling_world, harm_world, what = GUARDS[key]
    claim = _evaluate(world(**{ceiling_world: True}))[key]
    assert what not in {c.what for c in claim.checks}  # it could not pass: not evidence
    (guard,) = claim.guards
    assert guard.what == what and guard.threshold < 0 and guard.passed
    assert "no harm" in guard.measure
    harmed = _evaluate(world(**{harm_world: True}))[key]
    assert harmed.guards[0].failed
    if harmed.checks:  # a failing guard counts against the claim
        assert harmed.verdict == "partly" and claim.verdict == "supported"
    else:
        assert harmed.verdict == claim.verdict == "not tested"
        assert "no-harm checks only" in claim.note
    text = _render(world(**{ceiling_world: True}))
    assert "Checks apart (premises and no-harm checks: never counted as support" in text


def test_a_gain_is_out_of_reach_only_above_one_minus_the_gain():
    assert not size_claims.at_ceiling(45 / 50, 0.1) and size_claims.at_ceiling(46 / 50, 0.1)
    assert not size_claims.at_ceiling(0.99, 0.01) and size_claims.at_ceiling(0.995, 0.01)


def test_cut_from_scratch_at_48_of_50_is_a_guard_so_the_claim_is_not_tested():
    claim = _evaluate(world(structured_ceiling=True))["cut-beats-scratch"]
    assert claim.checks == [] and claim.verdict == "not tested"
    assert claim.guards[0].detail == "fine-tuned 50 of 50; scratch 48 of 50"
    assert claim.guards_failed == 0 and "no-harm checks only" in claim.tally


def test_the_live_part_is_as_wide_as_the_layers_that_lose_units():
    runs, _ = _dead((64, 2))
    top = runs[runs.width == 64]
    assert set(size_claims.cut_widths(top)) == {2}  # layer 1 keeps its 64 units: not cut
    runs, _ = _dead((60, 20))  # both lose at least 10%: the wider of the two
    assert set(size_claims.cut_widths(runs[runs.width == 64])) == {20}
    runs, _ = _dead((64, 62))  # neither loses 10%: nothing to cut, the whole network
    assert set(size_claims.cut_widths(runs[runs.width == 64])) == {64}
    check = _evaluate(world())["cut-cannot-train"].check("(b) circles, width 64")
    assert "live part 2 wide; width 2: 0 of 100" in check.detail
    # the old k_eff (the largest live count of any layer) would compare width 64: 20 of 20
    assert _evaluate(world(cut_b=True))["cut-cannot-train"].check(
        "(b) circles, width 64").detail.endswith("width 64: 20 of 20")


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


def _diverge(runs: pd.DataFrame, at) -> pd.DataFrame:
    """``runs`` as a run file gives them, the models ``at`` diverged, scored by the tables."""
    raw = runs.drop(columns="status").assign(diverged=at)
    raw.loc[at, ["test_acc", "val_acc"]] = np.nan
    return tables.scored(raw, _splits())


def test_a_diverged_model_scores_as_the_constant_guess_of_its_split():
    runs = world()["lottery_runs"]
    at = ((runs.arm == "ticket") & (runs.level == 2)).to_numpy()
    scored = _diverge(runs, at)
    assert set(scored.status[at]) == {"diverged"} and set(scored.status[~at]) == {"ok"}
    assert np.allclose(scored.test_acc[at], GUESS)  # the test split's larger class
    assert np.allclose(scored.val_acc[at], 0.505)  # the validation split's
    assert np.allclose(scored.test_acc[~at], runs.test_acc[~at])


def test_a_diverged_model_counts_as_a_failure_not_a_dropped_seed():
    tabs = world()
    runs = tabs["lottery_runs"]
    at = ((runs.arm == "ticket") & (runs.level == 3) & (runs.seed < 5)).to_numpy()
    tabs["lottery_runs"] = _diverge(runs, at)
    tabs["lottery"] = tables.lottery_summary(tabs["lottery_runs"])
    check = _evaluate(tabs)["ticket-vs-small-dense"].check("circles, sparsest level (5%)")
    ticket = runs[(runs.arm == "ticket") & (runs.level == 3)].test_acc.where(~at[
        ((runs.arm == "ticket") & (runs.level == 3)).to_numpy()], GUESS)
    small = runs[(runs.arm == "dense") & (runs.level == 3)].test_acc
    assert check.n == len(SEEDS)  # every seed, the diverged ones as a constant guess
    assert check.effect == pytest.approx(ticket.mean() - small.mean())  # 0.711 - 0.752


def test_a_ticket_that_diverged_is_not_faster():
    tabs = world()
    runs = tabs["lottery_runs"]
    at = ((runs.arm == "ticket") & (runs.level == 2)).to_numpy()
    runs.loc[at, "early_stop"] = np.nan
    tabs["lottery_runs"] = _diverge(runs, at)
    check = _evaluate(tabs)["tickets-faster"].check("circles: ticket at 20% vs dense")
    assert check.n == len(SEEDS) and check.effect == 0 and check.failed


def test_a_diverged_model_fails_every_success_criterion():
    runs = world()["width_runs"]
    at = (runs.width == 64).to_numpy()
    raw = runs.drop(columns=["status", "success", "val_success", "threshold"])
    raw = raw.assign(diverged=at)
    raw.loc[at, ["test_acc", "val_acc"]] = np.nan
    # the constant guess of a split whose larger class holds 96% would reach 0.95
    scored = tables.with_success(tables.scored(raw, _splits().assign(guess_acc=0.96)), 0.95)
    assert not scored.success[at].any() and not scored.val_success[at].any()
    assert (scored.success[~at] == runs.success[~at]).all()
    summary = tables.width_summary(scored).set_index("width")
    assert summary.loc[64, ["successes", "val_successes", "n", "diverged"]].tolist() == \
        [0, 0, 20, 20]


def test_a_width_k_too_small_for_any_network_to_succeed_is_not_a_pruning_check():
    tabs = world()
    st = tabs["structured"]
    st.loc[st.k == 2, ["successes", "val_successes", "val_success_rate"]] = 0
    claim = _evaluate(tabs)["cut-beats-scratch"]
    assert claim.verdict == "not tested" and "capable k" in claim.note


# ---------------------------------------------------------------- born dead


def test_the_born_dead_table_counts_each_failed_seed_by_its_fate(good):
    tabs, _, text = good
    summary = tabs["born_dead"].set_index("width")
    assert summary.loc[3, ["n", "born_dead", "failed", "failed_born_dead", "failed_died",
                           "failed_alive", "failed_diverged"]].tolist() == [100, 30, 40, 30, 5,
                                                                            5, 0]
    assert summary.loc[3, ["born_dead_low", "born_dead_high"]].tolist() == pytest.approx(
        [0.2189, 0.3958], abs=1e-3)  # Wilson's interval of 30 of 100
    assert summary.loc[2, "predicted"] == 0.08 and np.isnan(summary.loc[64, "predicted"])
    assert summary.loc[2, "one_point"] == pytest.approx(1 - 0.75**2)
    assert "| 3 | 0.23 | 40/100: 30 / 5 / 5 / 0 | 30/100 = 0.30 [0.22, 0.40] | 0.004 [" in text
    assert "| 64 | 1.1e-19 | 0/20: 0 / 0 / 0 / 0 | 0/20 = 0.00 [0.00, 0.16] | at most 1.1e-19 |" \
        in text


def test_the_prediction_sentences_follow_the_prediction_and_the_measurement(good):
    _, _, text = good
    rarer = "Dead on every fit point is rarer than dead at one input at every width drawn"
    assert rarer in text and "circles at width 2: 0.08 [0.073, 0.088] against 0.44" in text
    assert "holds the prediction at 1 of 2 widths drawn" in text  # width 3: 0.004 vs 30/100
    above = _render(world(born_above=True))  # width 3: 1500 of 5000, above 0.23
    assert rarer not in above
    assert "does not lie below the one-point probability at circles width 3." in above
    assert "holds the prediction at 2 of 2 widths drawn" in above


def test_an_unsettled_share_of_born_dead_failures_says_so():
    tabs = world(born_unsure=True)  # 18 of 40: [0.31, 0.60] straddles 0.5
    found = _evaluate(tabs)
    assert found["born-dead"].checks[0].verdict == "inconclusive"
    text = _render(tabs)
    assert "these seeds do not settle whether most failures at width 3 and wider were born " \
           "dead (18 of 40)" in text
    assert "their failure was fixed" not in text and "explains few" not in text


def test_a_diverged_seed_is_a_fate_of_its_own_and_a_failure():
    tabs = world(born=True)
    runs = tabs["width_runs"]
    at = ((runs.width == 3) & (runs.seed == 99)).to_numpy()  # failed, alive at both ends
    tabs["width_runs"] = _diverge(runs, at)
    tabs["born_dead_runs"], tabs["born_dead"] = _born(tabs["width_runs"], range(60, 65))
    row = tabs["born_dead_runs"].iloc[np.flatnonzero(at)[0]]
    assert row.fate == "diverged" and np.isnan(row.dead_end) and not row.success
    check = _evaluate(tabs)["born-dead"].checks[0]
    assert check.n == 40 and check.detail.endswith("29 alive at both ends, 1 diverged")
    assert "stopped short of learns.accuracy; 1 diverged." in _render(tabs)
    assert "diverged." not in _render(world(born=True))


def test_born_dead_networks_that_came_alive_break_a_sanity_check(good):
    tabs, _, text = good
    spec = _spec()
    *_, held = size_claims.sanity(spec, tabs)
    assert held.what == "circles: every network born dead is still dead after training"
    assert held.ok and held.detail == "40 born dead; 0 of them with no hidden layer inactive " \
                                      "on every fit point at the end"
    revived = copy.deepcopy(tabs)
    revived["born_dead_runs"].loc[revived["born_dead_runs"].born_dead.idxmax(), "dead_end"] = 0
    *_, broken = size_claims.sanity(spec, revived)
    assert not broken.ok and broken.value == 1 and "**broken**" in _render(revived)
    none = copy.deepcopy(tabs)
    none["born_dead_runs"] = tables.with_fates(none["born_dead_runs"].assign(dead_init=0))
    assert [s.what for s in size_claims.sanity(spec, none)] == [
        "circles: the best possible classifier has room above learns.accuracy"]


def test_the_share_of_failures_born_dead_is_a_metric(good):
    tabs, _, _ = good
    assert section.metrics(_spec(), tabs)["circles"]["born_dead_share_failed"] == 0.75


def test_the_fit_points_come_from_the_very_data_the_runs_were_trained_on(tmp_path,
                                                                          circles_small):
    from trainability.data import save_dataset

    save_dataset(tmp_path / "d.npz", circles_small, {"name": "circles"})
    meta = {"dataset": {"name": "circles"}, "validation_fraction": 0.25}
    X = tables.fit_points(tmp_path / "d.npz", meta)
    assert np.array_equal(X, split(circles_small, 0.25).fit.X_train)
    with pytest.raises(InputError, match="not the data the run files were trained on"):
        tables.fit_points(tmp_path / "d.npz", meta | {"dataset": {"name": "moons"}})


# ---------------------------------------------------------------- the data's ceiling


def test_the_data_must_leave_the_best_classifier_room_above_learns():
    spec = _spec()
    assert size_claims.room(spec) == pytest.approx(0.975)  # half the errors 0.95 allows
    held, _ = size_claims.sanity(spec, world())  # then the born-dead networks'
    assert held.ok and "validation 0.990, test 0.990" in held.detail
    low = world() | {"splits": _splits(ceil=0.96)}  # moons at noise 0.2: validation 0.960
    broken, _ = size_claims.sanity(spec, low)
    assert not broken.ok and broken.value == pytest.approx(0.96)
    text = _render(low)
    assert "| circles: the best possible classifier has room above learns.accuracy |" in text
    assert "**broken**" in text and "**broken**" not in _render(world())
    strict = Spec.from_params({"size": copy.deepcopy(SIZE), "learns": {"accuracy": 0.99,
                                                                        "chance_margin": 0.05}},
                              data_code="d", train_code="t")
    assert not size_claims.sanity(strict, world())[0].ok  # room now needs 0.995


def test_the_success_threshold_is_learns_accuracy(good):
    _, _, text = good
    assert "*succeeds* if its final accuracy is at least 0.95" in text
    spec = Spec.from_params({"size": copy.deepcopy(SIZE), "learns": {"accuracy": 0.9,
                                                                      "chance_margin": 0.05}},
                            data_code="d", train_code="t")
    assert spec.datasets == [{"name": "circles", "noise": 0.1}]
    assert "*succeeds* if its final accuracy is at least 0.9, the report's" in \
        _render(world(), spec)


def test_the_xor_ceiling_is_the_sign_rule_which_is_its_bayes_classifier():
    # x uniform on the square, class x0 x1 > 0, Gaussian noise: the class densities'
    # difference factorizes, so the Bayes classifier is the noise-free rule z0 z1 > 0
    settings = dict(name="xor", n_samples=2000, noise=0.15, factor=0.5, test_fraction=0.5,
                    scale=1.0, standardize=False, seed=3)
    for X, y in ceiling.split_points(settings, 0.25).values():
        rule = np.mean((X[:, 0] * X[:, 1] > 0) == y)
        assert ceiling.ceiling(X, y, settings) == pytest.approx(rule, abs=0.01)


def test_the_circles_ceiling_agrees_with_the_bessel_form_of_its_bayes_classifier():
    from scipy.special import i0e

    settings = dict(name="circles", n_samples=2000, noise=0.2, factor=0.5,
                    test_fraction=0.5, scale=1.0, standardize=False, seed=1)
    s2 = settings["noise"] ** 2

    def log_ring(r, radius):  # log density of a noisy ring at distance r, up to a constant
        return -(r - radius) ** 2 / (2 * s2) + np.log(i0e(r * radius / s2))

    for X, y in ceiling.split_points(settings, 0.25).values():
        r = np.hypot(X[:, 0], X[:, 1])
        exact = np.mean((log_ring(r, 0.5) > log_ring(r, 1.0)) == y)
        assert ceiling.ceiling(X, y, settings) == pytest.approx(exact, abs=0.01)
    assert 0.5 < exact < 0.99  # the noise makes the rings overlap: not a trivial ceiling


def test_without_noise_the_ceiling_is_one_and_a_split_of_one_class_is_guessed_exactly():
    settings = dict(name="moons", n_samples=100, noise=0.0, factor=0.5, test_fraction=0.2,
                    scale=1.0, standardize=False, seed=0)
    X, y = ceiling.split_points(settings, 0.25)["test"]
    assert ceiling.ceiling(X, y, settings) == 1.0
    table = ceiling.splits_table([{"dataset": settings, "validation_fraction": 0.25}] * 2)
    assert table.split.tolist() == ["fit", "validation", "test"]
    assert table.n.tolist() == [60, 20, 20]
    assert np.allclose(table.guess_acc, [max(np.mean(y_), 1 - np.mean(y_)) for _, y_ in
                                         ceiling.split_points(settings, 0.25).values()])
    other = {"dataset": settings | {"noise": 0.1}, "validation_fraction": 0.25}
    with pytest.raises(Exception, match="moons: the run files were made from different data"):
        ceiling.splits_table([{"dataset": settings, "validation_fraction": 0.25}, other])


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
    appendix = (results / "appendix/size.md").read_text()
    assert text.startswith("## How big should the network be?")
    for name, _ in spec.figures():  # the key figures in the main text, the rest in the appendix
        assert (results / "figures/size" / name).stat().st_size > 0
        assert f"](figures/size/{name})" in text or f"](../figures/size/{name})" in appendix
    assert "](figures/size/width_success.png)" in text
    assert len(spec.figures()) == 10


def test_the_splits_table_holds_the_very_points_the_networks_were_scored_on(staged):
    spec, results = staged
    root = results.parent
    data = split(load_dataset(root / spec.dataset_file("circles")),
                 spec.data["validation_fraction"])
    meta = json.loads(str(np.load(root / spec.width_files()[0])["meta"]))
    points = ceiling.split_points(meta["dataset"], meta["validation_fraction"])
    for part, (X, y) in (("fit", (data.fit.X_train, data.fit.y_train)),
                         ("validation", (data.fit.X_test, data.fit.y_test)),
                         ("test", (data.X_test, data.y_test))):
        assert np.array_equal(points[part][0], X) and np.array_equal(points[part][1], y)
    splits = pd.read_csv(results / "tables/size/splits.csv").set_index("split")
    assert splits.loc["test", "n"] == len(data.y_test)
    assert splits.loc["test", "guess_acc"] == pytest.approx(
        max(data.y_test.mean(), 1 - data.y_test.mean()))
    out = json.loads((results / "sections/size.json").read_text())
    assert [s["what"] for s in out["sanity"]] == [
        "every divergence persists in float64", "no zero-initialized network diverges",
        "circles: the best possible classifier has room above learns.accuracy"]
    assert "sanity check (of the trainer)" in (results / "appendix/size.md").read_text()


def test_section_results_hold_every_claim_and_the_metrics(staged):
    _, results = staged
    out = json.loads((results / "sections/size.json").read_text())
    assert [c["id"] for c in out["claims"]] == [f"N{i}" for i in range(1, 9)]
    width = pd.read_csv(results / "tables/size/width.csv")
    assert out["metrics"]["circles"]["success_widest"] == pytest.approx(
        width.sort_values("width").success_rate.iloc[-1])
    lottery = pd.read_csv(results / "tables/size/lottery_runs.csv")
    assert set(lottery.arm) == {"ticket", "late", "oneshot", "reinit", "random", "dense"}
    text = (results / "sections/size.md").read_text()
    assert all(f"**Claim N{i}: " in text for i in range(1, 9))  # every claim's summary


# ---------------------------------------------------------------- end to end (tiny run)

pipeline = pytest.mark.pipeline


@pipeline
def test_the_report_has_the_section_and_the_metrics(finished_project):
    results = finished_project / "results"
    assert "## How big should the network be?" in (results / "report.md").read_text()
    assert "big-trains" in json.loads((results / "metrics.json").read_text())["claims"]["size"]
    assert "Nothing to be done" in snakemake(finished_project, "-n", "size").stdout


@pipeline
def test_changing_an_analysis_setting_retrains_nothing(project_copy):
    params = read_params(project_copy)
    params["size"]["width"]["reliable"] = 0.9
    params["learns"] = {"accuracy": 0.8, "chance_margin": 0.05}
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


@pytest.mark.legibility
def test_every_figure_is_legible(staged, monkeypatch):
    spec, results = staged
    monkeypatch.chdir(results.parent)
    tables = read_study_tables(spec, results / "tables/size")
    legibility.assert_legible(study.module("size", "figures").make(spec, tables))
