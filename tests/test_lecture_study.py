"""The lecture study: every read-off value beside ours, judged within its tolerance; the
files it reads are the ones the studies that train them name; sentences that follow the
computed values; the running-example claims by the studies' own code."""

from __future__ import annotations

import copy
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline_helpers import ROOT, TINY
from trainability.claims import SUPPORTED
from trainability.markdown import render
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.studies.batchnorm.spec import Spec as BatchnormSpec
from trainability.studies.gradients.spec import Spec as GradientsSpec
from trainability.studies.grid.spec import Spec as GridSpec
from trainability.studies.lecture import report, section
from trainability.studies.lecture import tables as lt
from trainability.studies.lecture.spec import STDS, Spec, std_name
from trainability.studies.lecture.values import VALUES
from trainability.train import train

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def spec_of(params=PARAMS) -> Spec:
    return Spec.from_params(params, "results/data/x.npz", "0" * 10)


def with_changes(params=PARAMS, **sections) -> dict:
    p = copy.deepcopy(params)
    for name, values in sections.items():
        p[name].update(values)
    return p


# ---------------------------------------------------------------- the files it reads


def test_the_files_it_reads_are_the_ones_the_studies_that_train_them_name():
    spec = spec_of()
    named = {*GridSpec.from_params(PARAMS, "results/data/x.npz", "0" * 10).run_files(),
             *GradientsSpec.from_params(PARAMS, "results/data/x.npz", "0" * 10).run_files(),
             *BatchnormSpec.from_params(PARAMS, "results/data/x.npz", "0" * 10).run_files()}
    assert spec.run_files() and set(spec.run_files()) <= named
    assert sorted(spec.grid_files) == ["relu", "sigmoid", "tanh"]
    assert sorted(spec.gradient_depths) == sorted(str(d) for d in PARAMS["gradients"]["depths"])


def test_a_part_whose_study_is_off_is_left_out_and_its_values_say_not_trained():
    spec = spec_of(with_changes(gradients={"enabled": False}, batchnorm={"enabled": False}))
    names = [name for name, _ in spec.figures()]
    assert "gradients.png" not in names and "loss_acc_batch_norm.png" not in names
    assert not spec.trained("gradients", "sigmoid") and not spec.trained("batch_norm", "relu")
    assert spec.trained("random_normal", "relu") and spec.trained("std 0.01", "tanh")


def test_a_placement_the_batch_norm_study_does_not_train_is_an_error_naming_both_keys():
    with pytest.raises(ValueError, match=r"lecture\.after_layer: 2 .*batchnorm\.after_layers"):
        spec_of(with_changes(lecture={"after_layer": 2}))


def test_the_spec_survives_its_json():
    from trainability.study import load_spec, spec_json

    spec = spec_of()
    assert load_spec("lecture", spec_json(spec)) == spec


def test_the_histograms_networks_at_std_1_start_as_the_training_jobs_models(circles_small):
    """Seeds 0.. at std 1 are the hidden weights the grid's models of those seeds start
    from (the classifier draws last)."""
    arch = Architecture(4, 5, "tanh")
    result = train(arch, OptimizerConfig("rmsprop", lr=1e-3), circles_small, seeds=[0, 1],
                   epochs=1, batch_size=32, init="random_normal",
                   classifier_init="glorot_uniform")
    mine = Layout(arch).views(init_params(Layout(arch), "random_normal", [0, 1], 1.0))
    theirs = Layout(arch).views(result.theta0)
    for i in range(arch.depth):
        np.testing.assert_array_equal(mine[f"W{i}"], theirs[f"W{i}"])


# ---------------------------------------------------------------- the values and verdicts


@pytest.mark.parametrize(("ci", "seeds", "expected"), [
    ((0.95, 0.99), (0.90, 1.0), lt.INSIDE),  # the interval reaches the band
    ((0.60, 0.65), (0.55, 0.97), lt.WITHIN_SEEDS),  # only a seed does
    ((0.60, 0.65), (0.55, 0.70), lt.OUTSIDE),
    ((math.nan, math.nan), (0.98, 0.98), lt.INSIDE),  # no interval: the mean itself
])
def test_a_value_is_inside_when_our_interval_reaches_it_within_its_tolerance(ci, seeds,
                                                                              expected):
    mean = seeds[0] if math.isnan(ci[0]) else 0.5 * sum(ci)
    assert lt.verdict_of(0.97, 1.01, ci, seeds, mean) == expected


def test_the_tolerance_is_the_kinds_or_the_relative_share_whichever_is_larger():
    spec = spec_of()
    assert spec.tolerance_of("loss", 0.02) == pytest.approx(0.02)
    assert spec.tolerance_of("loss", 3.7) == pytest.approx(0.05 * 3.7)
    value = next(v for v in VALUES if v.key == "zeros-relu-acc-min")  # a range
    assert lt.band(spec, value) == pytest.approx((0.45 - 0.0225, 0.51 + 0.0255))


def synthetic(spec, shift: float = 0.0, seeds: int = 4, epochs: int = 100):
    """Curves, gradients and layer outputs whose every per-seed statistic is the lecture's
    value (the midpoint of a range), plus ``shift``, with a little spread over seeds."""
    rng = np.random.default_rng(0)
    curves, gradients, outputs = [], [], []
    for source in ("random_normal", "zeros", "batch_norm"):
        for act in ("relu", "sigmoid", "tanh"):
            for seed in range(seeds):
                loss = np.full(epochs, 0.5)
                acc = np.full(epochs, 0.5)
                for v in VALUES:
                    if v.source != source or v.activation != act:
                        continue
                    mid = 0.5 * (v.lo + v.hi) + shift + 1e-4 * rng.standard_normal()
                    if v.statistic == "reach":  # epochs: shifted 10x (past the last)
                        at = int(round(mid + 9 * shift)) - 1
                        acc[at:] = np.maximum(acc[at:], v.level)
                        continue
                    curve = loss if v.metric == "loss" else acc
                    if v.statistic == "first":
                        curve[0] = mid
                    elif v.statistic == "last":
                        curve[-1] = mid
                    else:  # min, max: a curve inside the range all along
                        curve[:] = mid
                curves.append(pd.DataFrame({"source": source, "activation": act, "seed": seed,
                                            "epoch": np.arange(1, epochs + 1), "loss": loss,
                                            "acc": acc}))
    for act in ("relu", "sigmoid", "tanh"):
        for seed in range(seeds):
            for layer in range(1, 6):
                mean = 0.15 + shift if layer == 5 else shift
                gradients.append(pd.DataFrame({
                    "activation": act, "seed": seed, "epoch": np.arange(epochs + 1),
                    "layer": layer, "grad_mean": mean, "grad_std": abs(shift)}))
    for std in STDS:
        for act in ("relu", "sigmoid", "tanh"):
            for layer in range(1, 5):
                row = {"init_std": std, "activation": act, "layer": layer, "zero": 0.0,
                       "mean": 0.0, "std": 0.0}
                for v in VALUES:
                    if (v.source, v.activation, v.layer) == (std_name(std), act, layer):
                        row[v.metric] = 0.5 * (v.lo + v.hi) + shift
                outputs.append(pd.DataFrame([row | {"seed": s} for s in range(seeds)]))
    return (pd.concat(curves, ignore_index=True), pd.concat(gradients, ignore_index=True),
            pd.concat(outputs, ignore_index=True))


def test_our_numbers_equal_to_the_lectures_are_inside_and_far_ones_outside():
    spec = spec_of()
    inside = lt.values_table(spec, *synthetic(spec))
    assert set(inside.verdict) == {lt.INSIDE}, inside[inside.verdict != lt.INSIDE].key.tolist()
    far = lt.values_table(spec, *synthetic(spec, shift=5.0))
    assert set(far.verdict) == {lt.OUTSIDE}, far[far.verdict != lt.OUTSIDE].key.tolist()


def test_every_value_read_off_the_lecture_appears_in_the_rendered_table():
    spec = spec_of()
    text = section.values_markdown(lt.values_table(spec, *synthetic(spec)))
    assert len(VALUES) == 50 and len({v.key for v in VALUES}) == len(VALUES)
    for v in VALUES:
        what = v.what.replace("|", "\\|")
        assert f"| {v.activation} | {what} | {v.shown} |" in text, v.key


def test_the_values_transcribe_the_reference():
    """Each value's number, as written, is in references/lecture-figures.md."""
    reference = ROOT.parent / "shared/references/lecture-figures.md"
    if not reference.is_file():
        pytest.skip("references/lecture-figures.md is not beside the project")
    text = reference.read_text()
    for v in VALUES:
        for number in re.findall(r"(?<![\d.])-?\d+(?:\.\d+)?", v.shown):
            assert number in text, (v.key, number)


@pytest.mark.legibility
def test_each_kind_of_figure_is_at_most_1100_pixels_wide_with_no_text_below_10_points():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from trainability.plotting import DPI, style
    from trainability.studies.lecture import figures

    spec = spec_of()
    curves, gradients, _ = synthetic(spec, seeds=2)
    X = np.random.default_rng(0).uniform(-1, 1, (60, 2))
    outputs, histograms = lt.init_outputs(spec, X)
    tables = {"curves": curves, "gradients": gradients, "outputs": outputs,
              "histograms": histograms,
              "values": lt.values_table(spec, curves, gradients, outputs)}
    made = figures.make(spec, tables)
    assert list(made) == [name for name, _ in spec.figures()]
    for name in ("loss_acc_random_normal.png", "gradients.png", "histograms_std1.png"):
        fig = made[name]()  # one of each kind
        with style():
            FigureCanvasAgg(fig).draw()
        assert fig.get_figwidth() * DPI <= 1100, name
        small = {t.get_text(): t.get_fontsize() for t in fig.findobj(Text)
                 if t.get_text().strip() and t.get_visible() and t.get_fontsize() < 10}
        assert not small, (name, small)


# ---------------------------------------------------------------- sentences chosen by results


def rendered(spec, values: pd.DataFrame) -> str:
    curves, gradients, outputs = synthetic(spec)
    tables = {"values": values, "curves": curves, "gradients": gradients, "outputs": outputs}
    return render(section.HERE / "section.md.j2",
                  section.context(spec, tables, [], [], "figures/lecture"))


@pytest.mark.parametrize("outside", [False, True])
def test_the_summary_sentence_names_the_values_outside_every_seed_only_when_there_are(
        outside):
    spec = spec_of()
    values = lt.values_table(spec, *synthetic(spec))
    if outside:
        values.loc[values.key == "rn-relu-loss-first", "verdict"] = lt.OUTSIDE
    text = rendered(spec, values)
    assert ("none lies beyond every seed of ours" in text) is not outside
    assert ("beyond every seed of ours: RandomNormal(1) relu loss, epoch 0." in text) is outside


def test_a_setting_other_than_the_lectures_is_named():
    spec = spec_of(with_changes(train={"lr": 0.01}))
    text = rendered(spec, lt.values_table(spec, *synthetic(spec)))
    assert "Our running example is not the lecture's in: lr 0.01 (the lecture's: 0.001)" in text
    assert "is not the lecture's in" not in rendered(spec_of(), lt.values_table(
        spec_of(), *synthetic(spec_of())))


@pytest.mark.parametrize("gradients", [True, False])
def test_the_values_of_networks_not_trained_here_are_counted_only_when_there_are(gradients):
    spec = spec_of(with_changes(gradients={"enabled": gradients}))
    values = lt.values_table(spec, *synthetic(spec))
    assert ((values.verdict == lt.NOT_TRAINED).sum() == 4) is not gradients
    text = rendered(spec, values)
    assert ("This configuration does not train the networks of 4 of them" in text) is not \
        gradients


def claims_rows(verdicts: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"claim": c, "key": f"k{c}", "study": "grid", "statement": f"s{c}",
                          "verdict": v, "tally": "t", "role": "check", "what": "w",
                          "measure": "m", "effect": 0.9, "lo": 0.8, "hi": 1.0,
                          "threshold": 0.5, "side": ">=", "digits": 3, "signed": False,
                          "result": "passes", "headline": True}
                         for c, v in verdicts.items()])


@pytest.mark.parametrize("verdict", [SUPPORTED, "not supported"])
def test_the_claims_sentence_follows_the_verdicts(verdict):
    spec = spec_of()
    curves, gradients, outputs = synthetic(spec)
    tables = {"values": lt.values_table(spec, curves, gradients, outputs), "curves": curves,
              "gradients": gradients, "outputs": outputs,
              "claims": claims_rows({"1": SUPPORTED, "2": verdict})}
    text = render(report.HERE / "lecture.md.j2", report.context(spec, tables, "figures/lecture"))
    assert ("Every one of these claims is supported" in text) is (verdict == SUPPORTED)
    assert ("Not supported as the lecture states them: claim 2" in text) is (
        verdict != SUPPORTED)
    assert "| 2 | s2 | **" + verdict + "** | w: 0.900 [0.800, 1.000] (>= 0.500) |" in text


@pytest.mark.parametrize("others", [True, False])
def test_claim_4_says_the_grid_judges_more_activations_only_when_it_trains_more(others):
    activations = PARAMS["grid"]["activations"] if others else ["relu", "sigmoid", "tanh"]
    spec = spec_of(with_changes(grid={"activations": activations}))
    curves, gradients, outputs = synthetic(spec)
    tables = {"values": lt.values_table(spec, curves, gradients, outputs), "curves": curves,
              "gradients": gradients, "outputs": outputs, "claims": claims_rows({"1": SUPPORTED})}
    text = " ".join(render(report.HERE / "lecture.md.j2",
                           report.context(spec, tables, "figures/lecture")).split())
    assert ("claim 4 is judged on relu, sigmoid and tanh, the grid's also on leaky_relu, elu"
            in text) is others
    assert "the batch-norm study's also at BN after every layer" in text


# ---------------------------------------------------------------- the tiny pipeline


@pytest.mark.pipeline
def test_the_lectures_claims_are_the_studies_checks_on_the_same_networks(finished_project):
    """Every check of the lecture's claims is the same check, with the same effect and
    interval, as in the study that owns the claim (which may have more: claim 4 on every
    activation of the grid, B1 and B3 on every placement). The tables keep 9 significant
    digits, the sections' JSON 10."""
    claims = pd.read_csv(finished_project / "results/tables/lecture/claims.csv")
    checked = claims[claims.role.notna() & (claims.role != "")]
    assert len(checked)
    for study in set(checked.study):
        owned = json.loads((finished_project / f"results/sections/{study}.json").read_text())
        theirs = {(c["key"], check["what"]): check for c in owned["claims"]
                  for group in ("checks", "premises", "guards") for check in c[group]}
        for _, r in checked[checked.study == study].iterrows():
            check = theirs[(r.key, r.what)]
            for k in ("effect", "lo", "hi"):
                if check[k] is None:
                    assert math.isnan(r[k]), (r.key, r.what, k)
                else:
                    assert r[k] == pytest.approx(check[k], rel=1e-7, abs=1e-9), (r.key, r.what)
            assert r.result == check["verdict"]
    assert (finished_project / "results/lecture.md").is_file()


@pytest.mark.pipeline
def test_the_lecture_target_makes_only_work_the_full_pipeline_then_reuses(tmp_path):
    """`snakemake lecture` on a clean project, then a dry run of the default target: no job
    it plans makes a file the lecture run made (the run files and dataset are the full
    pipeline's, by their hash-named paths)."""
    from pipeline_helpers import dry_run_jobs, make_project, snakemake

    project = make_project(tmp_path / "project", TINY)
    snakemake(project, "lecture")
    made = {p.relative_to(project).as_posix() for p in (project / "results").rglob("*.npz")}
    assert any(m.startswith("results/runs/grid/") for m in made)
    assert any(m.startswith("results/runs/batchnorm/") for m in made)
    assert (project / "results/lecture.md").is_file()
    planned = dry_run_jobs(snakemake(project, "-n").stdout)
    assert planned, "the full pipeline has work the lecture target does not do"
    again = {out for out, job in planned.items() if out in made or job["rule"].startswith(
        "lecture")}
    assert not again, again
