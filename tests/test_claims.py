"""The claims engine: check verdicts from intervals, claim verdicts from checks, intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainability import claims as C


def check(lo, hi, threshold=0.0, side=C.AT_LEAST):
    return C.Check("c", (lo + hi) / 2, lo, hi, 5, threshold, side, "effect")


@pytest.mark.parametrize(
    ("lo", "hi", "side", "verdict"),
    [
        (0.1, 0.3, C.AT_LEAST, C.PASSES),
        (0.0, 0.3, C.AT_LEAST, C.PASSES),  # the threshold itself is on the claimed side
        (-0.3, -0.1, C.AT_LEAST, C.FAILS),
        (-0.1, 0.1, C.AT_LEAST, C.INCONCLUSIVE),
        (-0.3, -0.1, C.AT_MOST, C.PASSES),
        (0.1, 0.3, C.AT_MOST, C.FAILS),
        (-0.1, 0.1, C.AT_MOST, C.INCONCLUSIVE),
        (math.nan, math.nan, C.AT_LEAST, C.INCONCLUSIVE),
    ],
)
def test_a_check_passes_fails_or_is_inconclusive_by_where_its_interval_lies(lo, hi, side,
                                                                            verdict):
    assert check(lo, hi, side=side).verdict == verdict


P, F, I = check(1, 2), check(-2, -1), check(-1, 1)  # noqa: E741


@pytest.mark.parametrize(
    ("checks", "verdict"),
    [
        ([], C.NOT_TESTED),
        ([P], C.SUPPORTED),
        ([F], C.NOT_SUPPORTED),
        ([I], C.UNDECIDED),
        ([P, P, P], C.SUPPORTED),
        ([P, P, I], C.UNDECIDED),  # 3 checks: all must pass
        ([P, P, P, I], C.SUPPORTED),  # 4 checks: 3 of 4 is the share
        ([P, P, I, I], C.UNDECIDED),
        ([P, P, P, F], C.PARTLY),  # a failing check rules "supported" out
        ([F, F, F, I], C.NOT_SUPPORTED),
        ([F, I], C.UNDECIDED),
        ([P, F], C.PARTLY),
    ],
)
def test_a_claim_verdict_follows_the_stated_rule(checks, verdict):
    claim = C.Claim("1", "k", "s", "src", "rule", checks=checks)
    assert claim.verdict == verdict


def test_the_share_is_per_claim():
    assert C.Claim("1", "k", "s", "src", "r", [P, I], share=0.5).verdict == C.SUPPORTED
    assert C.Claim("1", "k", "s", "src", "r", [P, I]).verdict == C.UNDECIDED


def test_bootstrap_interval_contains_the_mean_and_is_reproducible():
    values = np.array([0.91, 0.95, 0.97, 0.93, 0.99])
    mean, lo, hi, n = C.bootstrap_mean(values)
    assert n == 5 and mean == pytest.approx(values.mean())
    assert values.min() <= lo < mean < hi <= values.max()
    assert C.bootstrap_mean(values[::-1]) == (mean, lo, hi, n)  # order does not matter


def test_bootstrap_leaves_out_non_finite_values_and_needs_two_for_an_interval():
    mean, lo, hi, n = C.bootstrap_mean([0.8, np.nan, np.inf])
    assert (mean, n) == (0.8, 1) and math.isnan(lo) and math.isnan(hi)
    assert C.bootstrap_mean([0.5, 0.5, 0.5])[1:3] == (0.5, 0.5)
    assert math.isnan(C.bootstrap_mean([])[0])


def test_paired_differences_use_the_seeds_both_settings_have():
    a = {0: 0.9, 1: 0.8, 2: np.nan, 3: 0.7}
    b = {0: 0.5, 1: 0.6, 2: 0.4, 4: 0.1}
    np.testing.assert_allclose(C.paired(a, b), [0.4, 0.2])


def test_a_paired_check_is_narrower_than_an_unpaired_one_when_seeds_correlate():
    rng = np.random.default_rng(0)
    seed_luck = rng.normal(0, 0.1, 10)
    a = dict(enumerate(0.8 + seed_luck + rng.normal(0, 0.01, 10)))
    b = dict(enumerate(0.7 + seed_luck + rng.normal(0, 0.01, 10)))
    p = C.paired_check("a - b", a, b, 0.05, C.AT_LEAST, "gain")
    u = C.difference_check("a - b", list(a.values()), list(b.values()), 0.05, C.AT_LEAST, "gain")
    assert p.effect == pytest.approx(u.effect)
    assert p.hi - p.lo < (u.hi - u.lo) / 3
    assert p.passed and not u.passed


def test_wilson_interval_matches_the_textbook_value():
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662 (Wilson score)
    lo, hi = C.wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), example (a): 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339
    lo, hi = C.newcombe(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_a_rate_check_with_every_trial_a_success_still_has_an_interval():
    c = C.rate_check("w4", 20, 20, 0.95, C.AT_LEAST)
    assert c.effect == 1.0 and c.hi == pytest.approx(1.0) and c.lo < 0.95
    assert c.verdict == C.INCONCLUSIVE  # 20 of 20 cannot rule out a true rate below 0.95
    assert C.rate_check("w4", 100, 100, 0.95, C.AT_LEAST).verdict == C.PASSES


def test_results_and_metrics_carry_verdicts_effects_and_intervals():
    claim = C.Claim("B1", "bn", "s", "src", "r",
                    [C.mean_check("sigmoid gain", [0.3, 0.35, 0.4], 0.1, C.AT_LEAST, "gain")])
    data = C.results("Batch norm", [claim], [C.Sanity("symmetry", 0.0, True)], {"x": 1})
    assert data["claims"][0]["verdict"] == C.SUPPORTED
    assert data["sanity"][0]["ok"] is True
    metrics = C.claim_metrics(data["claims"])
    entry = metrics["bn"]  # keyed by the claim's name, not its display id
    assert entry == {"verdict": C.SUPPORTED, "effect": 0.35, "interval": "[0.3, 0.4]"}


def test_metrics_of_a_claim_give_its_weakest_check():
    checks = [check(1, 2), check(0.5, 1.5), check(-0.2, 0.8), check(2, 3)]
    claim = C.Claim("3", "k", "s", "src", "r", checks)
    assert claim.weakest is checks[2]
    assert C.claim_metrics([claim.to_dict()])["k"]["interval"] == "[-0.2, 0.8]"


def test_metric_names_are_stable_when_a_claim_is_inserted_before_them():
    a, b, inserted = (C.Claim("", k, "s", "src", "r", [check(0.5, 1.5)]) for k in "abx")
    before = C.claim_metrics([c.to_dict() for c in C.number([a, b], "B")])
    after = C.claim_metrics([c.to_dict() for c in C.number([inserted, a, b], "B")])
    assert (a.id, b.id) == ("B2", "B3")  # the display ids moved ...
    assert {k: after[k] for k in before} == before  # ... the metrics did not


def test_no_harm_checks_never_count_as_support():
    only_guards = C.Claim("1", "k", "s", "src", "rule", guards=[P, P, P])
    assert only_guards.verdict == C.NOT_TESTED
    one_of_four = C.Claim("1", "k", "s", "src", "rule", checks=[P, I, I, I], guards=[P] * 20)
    assert one_of_four.verdict == C.UNDECIDED and one_of_four.counts[C.PASSES] == 1


def test_a_failing_no_harm_check_counts_against_the_claim():
    claim = C.Claim("1", "k", "s", "src", "rule", checks=[P, P, P, P], guards=[P, F])
    assert claim.verdict == C.PARTLY
    assert "2 checks apart (premises, no harm), 1 of them fail" in claim.tally
    assert claim.to_dict()["guards"][1]["verdict"] == C.FAILS


def test_scoring_a_diverged_seed_as_a_constant_guess_never_drops_it():
    import pandas as pd

    from trainability.scoring import Guess, per_seed

    guess = Guess.of([0, 1, 1, 1])
    assert guess.accuracy == 0.75 and guess.loss == pytest.approx(0.5623, abs=1e-4)
    rows = pd.DataFrame({"seed": [0, 1, 2], "status": ["ok", "diverged", "ok"],
                         "test_acc": [0.9, float("nan"), 0.8],
                         "train_loss": [0.1, float("nan"), 0.2]})
    assert per_seed(rows, "test_acc", guess).to_dict() == {0: 0.9, 1: 0.75, 2: 0.8}
    assert per_seed(rows, "train_loss", guess)[1] == guess.loss
    with pytest.raises(ValueError, match="grad_norm"):
        per_seed(rows.assign(grad_norm=1.0), "grad_norm", guess)


@pytest.mark.parametrize(("premise", "verdict"), [(P, C.SUPPORTED), (I, C.UNDECIDED),
                                                  (F, C.PARTLY)])
def test_a_claim_is_supported_only_when_its_premises_pass(premise, verdict):
    claim = C.Claim("1", "k", "s", "src", "rule", checks=[P, P], premises=[premise])
    assert claim.verdict == verdict and claim.counts[C.PASSES] == 2
    assert claim.to_dict()["premises"][0]["verdict"] == premise.verdict
