"""The size study: its statistics and verdict rules, its commands' error handling, its
settings, and (marked ``pipeline``) its rules end to end on the shared tiny run."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import TINY, make_project, planned_jobs, read_params, snakemake, write_params
from trainability import prune
from trainability.cli import main
from trainability.model import Architecture, Layout
from trainability.studies import size as size_study
from trainability.studies.size_section import match_density, render_section
from trainability.studies.size_tables import needed_width, wilson

SIZE = TINY["size"]


# ---------------------------------------------------------------- statistics and rules


def test_wilson_interval_matches_the_textbook_values():
    lo, hi = wilson(8, 10)  # Wilson (1927); e.g. Agresti & Coull (1998): [0.490, 0.943]
    assert round(float(lo), 4) == 0.4902 and round(float(hi), 4) == 0.9433
    lo, hi = wilson(0, 20)
    assert float(lo) == 0.0 and float(hi) == pytest.approx(1.96**2 / (20 + 1.96**2), abs=1e-4)
    lo, hi = wilson(20, 20)
    assert float(hi) == 1.0 and float(lo) == pytest.approx(20 / (20 + 1.96**2), abs=1e-4)


def test_needed_width_is_where_success_becomes_reliable_and_stays():
    width = pd.DataFrame({"width": [2, 3, 4, 8, 16], "success_rate": [0.0, 0.96, 0.9, 1.0, 1.0]})
    assert needed_width(width, 0.95) == 8  # 3 passes but 4 does not: not yet reliable
    assert needed_width(width.assign(success_rate=0.5), 0.95) is None


def _lottery_table(ticket, reinit, random, dense):
    rows = [{"dataset": "moons", "arm": "ticket", "level": 0, "density": 1.0, "weights": 100,
             "width": 8, "acc_mean": 0.97, "early_stop_median": 40}]
    for arm, accs in (("ticket", ticket), ("reinit", reinit), ("random", random),
                      ("dense", dense)):
        for level, acc in enumerate(accs, 1):
            rows.append({"dataset": "moons", "arm": arm, "level": level,
                         "density": 0.5**level, "weights": 100 * 0.5**level, "width": 8,
                         "acc_mean": acc, "early_stop_median": 30})
    return pd.DataFrame(rows)


def test_match_density_is_the_sparsest_level_before_the_first_miss():
    lot = _lottery_table(ticket=[0.97, 0.965, 0.962, 0.95], reinit=[0.97, 0.95, 0.97, 0.97],
                         random=[0.90, 0.97, 0.97, 0.97], dense=[0.97] * 4)
    assert match_density(lot, "ticket") == (0.125, 3)  # within 0.01 of 0.97 down to level 3
    assert match_density(lot, "reinit") == (0.5, 1)
    assert match_density(lot, "random") == (1.0, 0)


def _settings():
    return size_study.settings(copy.deepcopy(SIZE))


def test_section_verdicts_follow_the_stated_rules():
    lot = _lottery_table(ticket=[0.97, 0.97, 0.97, 0.955], reinit=[0.97, 0.95, 0.9, 0.8],
                         random=[0.95, 0.9, 0.8, 0.7], dense=[0.97, 0.97, 0.975, 0.97])
    width = pd.DataFrame({
        "dataset": "moons", "width": [2, 8], "weights": [10, 88], "n": [20, 20],
        "successes": [1, 20], "success_rate": [0.05, 1.0], "threshold": 0.95,
        "ci_low": wilson([1, 20], [20, 20])[0], "ci_high": wilson([1, 20], [20, 20])[1],
        "acc_median": [0.85, 0.97], "acc_q25": [0.8, 0.965], "acc_q75": [0.88, 0.975],
        "epochs_to_95_median": [np.nan, 12.0],
    })
    text = render_section({"size_width": width, "size_lottery": lot}, [], _settings())
    assert text.startswith("## How big should the network be?\n")
    glance = text.split("### The answer")[0]  # the claims-at-a-glance table
    rows = {line.split("|")[1].strip(): line for line in glance.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()}
    assert "**supported**" in rows["1"]  # w2 5% vs w8 100%, intervals apart
    assert "**not tested**" in rows["2"]  # no dead-unit tables
    assert "**not tested**" in rows["3"]
    assert "**supported**" in rows["4"]  # ticket matches down to 12.5%, reinit to 50%,
    # random not at all
    assert "**supported**" in rows["5"]  # early stopping 30 <= 40
    assert "**not supported**" in rows["6"]  # the small dense net is as good: Liu et al.
    assert "**not tested**" in rows["7"]
    assert "Liu et al." in text.split("### Where our numbers differ")[1]
    assert "**moons**: use at least **8 units** per hidden layer (88 weights)" in text


# ---------------------------------------------------------------- settings and commands


def test_quick_setting_shrinks_widths_and_seeds():
    params = json.loads(json.dumps(SIZE)) | {"quick": True}
    params["width"] |= {"widths": [2, 8, 256, 512], "seeds_narrow": 100, "seeds": 50}
    params["dead"] |= {"widths": [8, 128], "seeds": 10}
    quick = size_study.settings(params)
    assert quick["width"]["widths"] == [2, 8]
    assert quick["width"]["seeds_narrow"] == 40 and quick["width"]["seeds"] == 20
    assert quick["dead"]["widths"] == [8] and quick["dead"]["seeds"] == 5
    assert quick["lottery"]["reinit_draws"] == 1
    assert size_study.settings(SIZE) == SIZE  # quick: false changes nothing


def test_width_seeds_are_more_for_narrow_and_fewer_for_wide_networks():
    w = {"seeds_narrow": 100, "narrow_up_to": 8, "seeds": 50, "seeds_wide": 20,
         "wide_from": 256}
    assert [len(size_study.width_seeds(w, x)) for x in (2, 8, 16, 128, 256, 512)] == [
        100, 100, 50, 50, 20, 20]


def test_settings_the_schema_cannot_check_are_reported_with_their_key():
    bad = copy.deepcopy(SIZE)
    bad["lottery"]["rewind_epoch"] = 3
    bad["datasets"] = bad["datasets"] * 2
    bad["train"]["batch_size"] = 500
    problems = "\n".join(size_study.check(bad))
    assert "size.lottery.rewind_epoch: 3 must be below size.train.epochs (3)" in problems
    assert "size.datasets: circles listed more than once" in problems
    assert "size.train.batch_size: 500" in problems
    assert size_study.check(SIZE) == []


def test_bad_command_input_is_one_line_naming_the_problem(tmp_path, capsys):
    args = ["--seeds", "0", "1", "--out", str(tmp_path / "x.npz")]
    assert main(["size-train", "--data", str(tmp_path / "missing.npz"), "--width", "4",
                 *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.npz: file not found" in err
    assert main(["size-summarize", "width", str(tmp_path / "r.npz"), "--thresholds",
                 "circles:0.9", "--tables-dir", str(tmp_path), "--figures-dir",
                 str(tmp_path)]) == 2
    assert "circles:0.9" in capsys.readouterr().err
    assert main(["size-train", "--data", "x.npz", "--width", "4", "--seeds", "1", "1",
                 "--out", "y.npz"]) == 2
    assert "--seeds must be distinct" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_structured_run_rows_cover_every_arm_and_width(circles_small):
    from trainability.studies.size_runs import Protocol, split_validation, structured_run

    protocol = Protocol(epochs=2, batch_size=16, group_lasso=0.3)
    out = structured_run(protocol, split_validation(circles_small, 0.25), 6, [0, 1], [2, 3],
                         tau=0.01, finetune_epochs=1)
    fixed = out["target"] == "fixed"
    for arm in ("pruned", "finetune", "rewind", "scratch"):
        for k in (2, 3):
            assert ((out["arm"] == arm) & (out["k"] == k) & fixed).sum() == 2
    live = out["target"] == "live"
    assert live.sum() == 4 * 2  # each seed once per arm at its own live width
    np.testing.assert_array_equal(np.sort(out["k"][live & (out["arm"] == "scratch")]),
                                  np.sort(np.maximum(out["source_live"].max(axis=1), 1)))


# ---------------------------------------------------------------- end to end (tiny run)


pipeline = pytest.mark.pipeline


@pipeline
def test_every_size_rule_wrote_its_outputs(finished_project):
    results = finished_project / "results"
    width = pd.read_csv(results / "tables/size_width_runs.csv")
    n_seeds = sum(len(size_study.width_seeds(SIZE["width"], w)) for w in SIZE["width"]["widths"])
    assert len(width) == n_seeds * len(SIZE["datasets"])
    dead = pd.read_csv(results / "tables/size_dead.csv")
    assert set(dead.regularizer) == {"none", "l2", "group_lasso"}
    lottery = pd.read_csv(results / "tables/size_lottery_runs.csv")
    assert set(lottery.arm) == {"ticket", "reinit", "random", "oneshot", "late", "dense"}
    structured = pd.read_csv(results / "tables/size_structured.csv")
    assert set(structured.arm) == {"source", "pruned", "finetune", "rewind", "scratch"}
    for names in size_study.FIGURES.values():
        for name in names:
            assert (results / "figures/size" / name).stat().st_size > 0
    section = (results / "sections/size.md").read_text()
    assert section.startswith("## How big should the network be?")
    for names in size_study.FIGURES.values():
        for name in names:
            assert f"](figures/size/{name})" in section
    metrics = json.loads((results / "sections/size.json").read_text())["size"]["circles"]
    assert metrics["success_narrowest"] == width[width.width == 2].success.mean()
    report = (results / "report.md").read_text()
    assert "## How big should the network be?" in report
    assert "figures/size/lottery_accuracy.png" in report


@pipeline
def test_lottery_run_files_hold_exact_per_layer_counts_and_masks(finished_project):
    from trainability.io import load_npz

    runs = finished_project / "results/runs/size/lottery/circles"
    (ticket_file,) = runs.glob("ticket-*.npz")
    ticket = load_npz(ticket_file)
    lo = SIZE["lottery"]
    layout = Layout(Architecture(SIZE["train"]["depth"], lo["width"], "relu"))
    rates = prune.layer_rates(layout, **lo["rates"])
    levels = prune.schedule(layout, rates, lo["target_density"])
    masks = ticket["masks"]
    assert masks.shape == (len(levels), lo["seeds"], layout.size)
    for level, counts in enumerate(levels):
        np.testing.assert_array_equal(prune.counts_of(masks[level], layout),
                                      np.tile(list(counts.values()), (lo["seeds"], 1)))
    for arm in ("reinit", "random", "oneshot", "late"):
        (path,) = runs.glob(f"{arm}-*.npz")
        other = load_npz(path)
        for level in range(1, len(levels)):
            at = other["level"] == level
            np.testing.assert_allclose(other["density"][at],
                                       ticket["density"][ticket["level"] == level][0])


@pipeline
def test_the_size_target_alone_is_up_to_date(finished_project):
    assert planned_jobs(finished_project) == {}
    out = snakemake(finished_project, "-n", "size").stdout
    assert "Nothing to be done" in out


@pipeline
def test_changing_an_analysis_setting_retrains_nothing(project_copy):
    params = read_params(project_copy)
    params["size"]["width"]["reliable"] = 0.9
    params["size"]["datasets"][0]["success"] = 0.8
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert not {"size_train", "size_lottery_arm", "size_structured_run"} & set(jobs)
    assert {"size_width_summary", "size_dead_summary", "size_structured_summary",
            "size_section", "report"} <= set(jobs)


@pipeline
def test_changing_the_protocol_retrains_only_the_size_study(project_copy):
    params = read_params(project_copy)
    params["size"]["train"]["lr"] = 0.02
    params["size"]["lottery"]["enabled"] = False
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    n_width = len(SIZE["width"]["widths"]) + 2 * len(SIZE["dead"]["widths"])
    assert jobs.get("size_train") == n_width * len(SIZE["datasets"])
    assert "size_lottery_arm" not in jobs and "size_lottery_summary" not in jobs
    assert "train" not in jobs and "size_dataset" not in jobs


@pipeline
def test_invalid_size_settings_fail_before_any_job_with_the_key_named(tmp_path):
    params = copy.deepcopy(TINY)
    params["size"]["lottery"]["rewind_epoch"] = 5
    project = make_project(tmp_path / "project", params)
    result = snakemake(project, "-n", check=False)
    assert result.returncode != 0
    assert "size.lottery.rewind_epoch: 5 must be below size.train.epochs (3)" in (
        result.stdout + result.stderr)
