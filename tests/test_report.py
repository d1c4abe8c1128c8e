"""The report around the sections: the answers of its first screen follow the results they
read (each sentence flips with its result), a failing sanity check is shown before any
claim, each claim's robustness sentence lands in its own section, metrics.json keys claims
by name, and the method appendix states the policy, "learns" and our choices once."""

import copy
from pathlib import Path

import pytest
import yaml

from trainability import claims as C
from trainability.anchors import slug
from trainability.markdown import ROBUSTNESS_MARK, claim_summary
from trainability.report import merged_metrics, render_report
from trainability.scoring import POLICY

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
PROVENANCE = {"written": "now", "git": {}, "python": "3", "platform": "x", "packages": {}}
ROBUSTNESS_TITLE = "Robustness: where the running example's claims hold"


def mean(what, lo, hi, threshold=0.95, side=C.AT_LEAST, signed=False):
    return C.Check(what, (lo + hi) / 2, lo, hi, 5, threshold, side, "m", signed=signed)


PASS, FAIL = mean("x", 0.97, 0.99), mean("x", 0.5, 0.6)


def claim(id_, key, *checks):
    return C.Claim(id_, key, f"statement {key}", f"the lecture on {key}", "r", list(checks))


def study(name, title, claims=(), sanity=(), facts=None):
    """A study as report.load_study gives it: its main text holds each claim's summary."""
    claims = list(claims)
    text = "\n\n".join([f"## {title}", *(claim_summary(c) for c in claims)])
    return {"name": name, "title": title, "text": text, "anchor": slug(title),
            **C.results(title, claims, sanity, facts=facts)}


def grid(lags=PASS, zeros_sanity_ok=True, widths=None):
    accuracy = {f"{a}/{i}/w5": mean(f"{a}/{i}", *r).to_dict()
                for (a, i), r in {("relu", "random_normal"): (0.98, 0.99),
                                  ("sigmoid", "random_normal"): (0.55, 0.68),
                                  ("tanh", "random_normal"): (0.98, 0.99),
                                  ("sigmoid", "zeros"): (0.48, 0.48)}.items()}
    accuracy["sigmoid/random_normal/w16"] = mean("s16", 0.98, 0.99).to_dict()
    facts = {"init": "random_normal", "width": 5, "widths": [5, 16], "accuracy": accuracy,
             "verdicts_by_width": widths or {"5": {"sigmoid-lags": "supported"},
                                              "16": {"sigmoid-lags": "not supported"}}}
    sanity = [C.Sanity("relu/zeros predicts one class", 0.0, zeros_sanity_ok)]
    return study("grid", "The grid", [claim("2", "sigmoid-lags", lags),
                                      claim("3", "zeros-coin-flip", PASS),
                                      claim("7", "wider-easier", PASS, FAIL)], sanity, facts)


def robustness(breaks=7, variants=15, vanishing=("lr_x10",), saturated_share=(0.0, 0.0),
               lifts=(("epochs_x10", 0.35, 0.44), ("eps_outside_root", 0.01, 0.05),
                      ("lr_x0.3", -0.17, -0.08), ("width_16", 0.35, 0.44)),
               signal_ratio=(-1.9, -1.7), signal_growth=(0.4, 0.6)):
    where = {"sigmoid-lags": {"id": "2", "study": "grid", "verdict": "supported",
                              "same": [f"s{i}" for i in range(variants - breaks)],
                              "breaks": [{"variant": f"b{i}", "verdict": "not supported",
                                          "headline": "h"} for i in range(breaks)]}}
    facts = {"variants": variants, "changes": {}, "where": where,
             "ablation": [mean(v, lo, hi, 0.05, signed=True).to_dict() for v, lo, hi in lifts],
             "saturation": mean("sat", *saturated_share, 0.10, C.AT_MOST).to_dict(),
             "vanishing_yet_learns": list(vanishing), "floorless": [],
             "signal": {"weak": [mean("ratio", *signal_ratio, -1.0, C.AT_MOST).to_dict()],
                        "grows": [mean("width_16", *signal_growth, 0.301).to_dict()]}}
    return study("robustness", ROBUSTNESS_TITLE, facts=facts)


def gradients(verdict_check=PASS):
    return study("gradients", "Vanishing and exploding gradients",
                 [claim("G1", "sigmoid-vanishes", verdict_check)])


def first_screen(studies) -> str:
    main, _ = render_report(PARAMS, studies, PROVENANCE)
    return " ".join(main.split("## The claims at a glance")[0].split())


@pytest.mark.parametrize(("lags", "words"), [(PASS, "At the lecture's setting, yes"),
                                             (FAIL, "At the lecture's setting, no")])
def test_the_sigmoid_answer_follows_claim_2(lags, words):
    text = first_screen([grid(lags=lags)])
    assert words in text and "sigmoid reaches 0.615 [0.550, 0.680] test accuracy" in text


@pytest.mark.parametrize(("breaks", "words"), [
    (7, "the verdict belongs to the setting as much as to the sigmoid: it changes under 7 of 15"),
    (2, "The verdict changes under 2 of 15 one-factor variants"),
    (0, "It holds under all 15 one-factor variants")])
def test_the_sigmoid_answer_says_how_much_the_verdict_depends_on_the_setting(breaks, words):
    text = first_screen([grid(), robustness(breaks=breaks)])
    assert words in text
    others = {"belongs to the setting", "The verdict changes under", "It holds under all"}
    assert not any(w in text for w in others if w not in words)


@pytest.mark.parametrize("vanishing", [("lr_x10", "width_16"), ()])
def test_the_vanishing_gradient_sentence_follows_the_variants_that_learn_with_it(vanishing):
    text = first_screen([grid(), gradients(), robustness(vanishing=vanishing)])
    assert ("yet under lr_x10, width_16 it learns with that small gradient" in text) \
        is bool(vanishing)
    assert ("no variant shows it learning while that holds" in text) is not vanishing
    g1_fails = first_screen([grid(), gradients(FAIL), robustness(vanishing=vanishing)])
    assert "That its gradient vanishes is not supported here" in g1_fails
    assert "tenth or less of the classifier's gradient" not in g1_fails


@pytest.mark.parametrize(("share", "says_not_saturation"), [((0.0, 0.02), True),
                                                           ((0.3, 0.5), False)])
def test_saturation_is_ruled_out_only_when_its_check_passes(share, says_not_saturation):
    text = first_screen([grid(), robustness(saturated_share=share)])
    assert ("Nor saturation" in text) is says_not_saturation
    assert "of its units are saturated at initialization" in text


@pytest.mark.parametrize(("ratio", "growth", "words", "absent"), [
    ((-1.9, -1.7), (0.4, 0.6), "Its forward signal is weak: its last hidden layer varies "
     "between the data points a tenth or less as much as tanh's (log10 of the ratio -1.800 "
     "[-1.900, -1.700]), and it at least doubles under width_16, which also lifts its "
     "accuracy.", "not weak"),
    ((-1.9, -1.7), (0.0, 0.6), "a tenth or less as much as tanh's (log10 of the ratio -1.800 "
     "[-1.900, -1.700]).", "at least doubles"),
    ((-0.5, -0.2), (0.4, 0.6), "Its forward signal is not weak", "is weak")])
def test_the_forward_signal_sentence_follows_its_checks(ratio, growth, words, absent):
    text = first_screen([grid(), robustness(signal_ratio=ratio, signal_growth=growth)])
    assert words in text and absent not in text


@pytest.mark.parametrize("ok", [True, False])
def test_the_zero_init_why_is_said_only_when_its_identities_hold(ok):
    text = first_screen([grid(zeros_sanity_ok=ok)])
    assert "Does zero initialization fail?** Yes" in text
    assert ("checked as identities that hold in every run" in text) is ok


def test_the_width_answer_gives_claim_2_at_every_width():
    text = first_screen([grid()])
    assert ("claim 2 is supported at width 5 (sigmoid 0.615 [0.550, 0.680]), not supported "
            "at width 16 (sigmoid 0.985 [0.980, 0.990])") in text


def test_what_the_setting_hides_sorts_each_variant_by_its_check():
    text = first_screen([grid(), robustness()])
    assert "lifted by epochs_x10 +0.395 [+0.350, +0.440], width_16 +0.395 [+0.350, +0.440];" \
        in text
    assert "not by lr_x0.3 -0.125 [-0.170, -0.080];" in text
    assert "undecided for eps_outside_root +0.030 [+0.010, +0.050]." in text
    none_lift = first_screen([grid(), robustness(lifts=(("lr_x0.3", -0.17, -0.08),))])
    assert "lifted by" not in none_lift and "not by lr_x0.3" in none_lift


@pytest.mark.parametrize(("check", "words"), [(PASS, "Yes ([claim B1]"),
                                              (FAIL, "No ([claim B1]")])
def test_the_batch_norm_answer_follows_b1(check, words):
    bn = study("batchnorm", "Batch norm", [claim("B1", "bn-rescues-sigmoid", check)])
    assert words in first_screen([grid(), bn])


def test_the_answers_fit_the_first_screen():
    bn = study("batchnorm", "Batch norm", [claim("B1", "bn-rescues-sigmoid", PASS),
                                           claim("B3", "bn-gradient", PASS)])
    size = study("size", "Size", [claim("N1", "big-trains", PASS)])
    main, _ = render_report(PARAMS, [grid(), gradients(), bn, robustness(), size], PROVENANCE)
    head = main.split("## The claims at a glance")[0]
    assert len(head.splitlines()) <= 40
    for question in ("Does the sigmoid network fail?", "Does zero initialization fail?",
                     "Does width matter?", "Does batch norm rescue it",
                     "What does the lecture's setting hide?"):
        assert question in head


@pytest.mark.parametrize("ok", [True, False])
def test_a_failing_sanity_check_is_shown_before_the_claims(ok):
    g = grid() | {"sanity": [{"what": "every divergence persists in float64", "value": 1,
                              "ok": ok, "detail": "1 model diverged in float32 only"}]}
    head = render_report(PARAMS, [g], PROVENANCE)[0].split("## The claims at a glance")[0]
    assert ("Sanity checks fail" in head) is not ok
    assert ("every divergence persists in float64 (1 model diverged" in head) is not ok


def test_each_claim_gets_its_robustness_sentence_in_its_own_section():
    main, _ = render_report(PARAMS, [grid(), robustness(breaks=2)], PROVENANCE)
    section = main.split("## The grid")[1]
    assert ("Robustness: the same verdict under 13 of 15 one-factor variants of the lecture's "
            "setting; another under b0 (not supported), b1 (not supported).") in section
    assert ROBUSTNESS_MARK.format("sigmoid-lags") not in main
    alone, _ = render_report(PARAMS, [grid()], PROVENANCE)
    assert "Robustness:" not in alone and "<!-- robustness" not in alone


def test_the_claims_at_a_glance_give_numbers_and_where_each_claim_holds():
    main, _ = render_report(PARAMS, [grid(), robustness()], PROVENANCE)
    glance = main.split("## The claims at a glance")[1].split("\n\n")[1]
    row = next(line for line in glance.splitlines() if "statement sigmoid-lags" in line)
    assert "| the lecture on sigmoid-lags | **supported** | x: 0.980 [0.970, 0.990] |" in row
    assert row.endswith("| same under 8 of 15 |")
    alone, _ = render_report(PARAMS, [grid()], PROVENANCE)
    assert "where it holds" not in alone


def test_metrics_key_claims_by_name_and_stay_small():
    lecture = study("lecture", "The lecture side by side") | {"metrics": {"outside": 6}}
    studies = [lecture, grid(), gradients(), robustness()]
    metrics = merged_metrics(studies)
    assert metrics["headline"]["lecture_values_outside"] == 6
    assert set(metrics["claims"]["grid"]) == {"sigmoid-lags", "zeros-coin-flip", "wider-easier"}
    assert metrics["claims"]["grid"]["wider-easier"]["verdict"] == "partly"
    assert metrics["headline"]["sigmoid_test_acc"] == pytest.approx(0.615)

    def leaves(d):
        return sum(leaves(v) for v in d.values()) if isinstance(d, dict) else 1

    n_claims = sum(len(s["claims"]) for s in studies)
    assert leaves(metrics) == 3 * n_claims + len(metrics["headline"])
    assert len(metrics["headline"]) <= 9  # 120 columns hold 37 claims and these


def test_the_method_appendix_states_the_policy_and_the_definition_of_learns_once():
    params = copy.deepcopy(PARAMS) | {"learns": {"accuracy": 0.9, "chance_margin": 0.04}}
    main, method = render_report(params, [grid()], PROVENANCE)
    assert method.count(POLICY) == 1 and POLICY not in main
    assert "test accuracy is at least 0.9, and *learns nothing* when it is at most 0.04" \
        in method


@pytest.mark.parametrize(("convention", "words"), [("keras", "sqrt(s + eps), as Keras 3"),
                                                    ("pytorch", "sqrt(s) + eps, as PyTorch")])
def test_the_setup_states_the_eps_placement_as_our_choice(convention, words):
    params = {**PARAMS, "train": {**PARAMS["train"], "eps_convention": convention}}
    main, method = render_report(params, [grid()], PROVENANCE)
    method = " ".join(method.split())
    assert f"`train.eps_convention` = `{convention}`" in method and words in method
    assert "Which Keras made the lecture's figures is not known" in method
    assert ("inside the square root" if convention == "keras" else "outside the square root") \
        in main


def test_a_link_to_the_section_of_a_study_switched_off_becomes_plain_words():
    g = grid()
    g["text"] += "\n\nSee [the size study](#size) and [the grid](#the-grid)."
    main, _ = render_report(PARAMS, [g], PROVENANCE)
    assert "See the size study and [the grid](#the-grid)." in main


def test_claims_with_nothing_to_check_leave_their_answers_without_a_headline():
    """A configuration without the sigmoid network (batchnorm.activations: [tanh]): B1 and
    B3 are not tested; the answer says so and the report still renders."""
    bn = study("batchnorm", "Batch norm", [claim("B1", "bn-rescues-sigmoid"),
                                           claim("B3", "bn-gradient")])
    text = first_screen([grid(), bn])
    assert "Not clearly ([claim B1](#batch-norm): **not tested**)." in text
    assert "first layer" not in text
