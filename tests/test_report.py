"""The report around the sections: a failing sanity check is shown before any claim, the
method paragraph states the one definition of "learns" and the diverged-seed policy, and the
setup states our choices as choices."""

from pathlib import Path

import pytest
import yaml

from trainability.report import render_report
from trainability.scoring import POLICY

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
PROVENANCE = {"written": "now", "git": {}, "python": "3", "platform": "x", "packages": {}}


def study(sanity_ok: bool) -> dict:
    return {"name": "grid", "title": "The grid", "text": "## The grid", "metrics": {},
            "claims": [],
            "sanity": [{"what": "every divergence persists in float64", "value": 1,
                        "ok": sanity_ok, "detail": "1 model diverged in float32 only"}]}


@pytest.mark.parametrize("ok", [True, False])
def test_a_failing_sanity_check_is_shown_before_the_claims(ok):
    text = render_report(PARAMS, [study(ok)], PROVENANCE)
    head = text.split("## The claims at a glance")[0]
    assert ("Sanity checks fail" in head) is not ok
    assert ("every divergence persists in float64 (1 model diverged" in head) is not ok


def test_the_method_states_the_policy_and_the_definition_of_learns_once():
    params = {**PARAMS, "learns": {"accuracy": 0.9, "chance_margin": 0.04}}
    text = render_report(params, [study(True)], PROVENANCE)
    assert text.count(POLICY) == 1
    assert "test accuracy is at least 0.9, and *learns nothing* when it is at most 0.04" in text


@pytest.mark.parametrize(("convention", "words"), [("keras", "sqrt(s + eps), as Keras 3"),
                                                    ("pytorch", "sqrt(s) + eps, as PyTorch")])
def test_the_setup_states_the_eps_placement_as_our_choice(convention, words):
    params = {**PARAMS, "train": {**PARAMS["train"], "eps_convention": convention}}
    text = " ".join(render_report(params, [study(True)], PROVENANCE).split())
    assert f"`train.eps_convention` = `{convention}`" in text and words in text
    assert "Which Keras made the lecture's figures is not known" in text


def test_the_claims_at_a_glance_say_where_each_claim_holds_when_robustness_ran():
    grid = study(True) | {"claims": [{"id": "2", "key": "sigmoid-lags", "statement": "s",
                                      "verdict": "supported"},
                                     {"id": "5", "key": "scaled-inits", "statement": "t",
                                      "verdict": "partly"}]}
    robust = {"name": "robustness", "title": "Robustness", "text": "## Robustness",
              "claims": [], "sanity": [],
              "metrics": {"sigmoid-lags": {"study": "grid", "same_verdict": 8,
                                           "variants": 15}}}
    glance = render_report(PARAMS, [grid, robust], PROVENANCE).split(
        "## The claims at a glance")[1].split("\n\n")[1]
    assert "where it holds (robustness)" in glance
    assert "| **supported** | same under 8 of 15 variants |" in glance
    assert "| **partly** |  |" in glance
    alone = render_report(PARAMS, [grid], PROVENANCE)
    assert "where it holds" not in alone
