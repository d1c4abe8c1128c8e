"""The tweaks study's claims, one function each.

Every number a check judges is a final test accuracy per seed of a setting chosen on the
validation points (``choices.csv``, whose means and intervals the checks take as they are:
the section's tables show the same values), a diverged seed scored as a constant guess of
the test set's larger class (``scoring.per_seed``).

A rate chosen at an edge of the sweep may not be the best one: a rate beyond the sweep
might reverse a verdict. Such a verdict is inconclusive (``SweepCheck``), with the reason
in the check's detail: a failure whose rate sits at an edge, or, for a comparison, a pass
whose reference's rate does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from trainability.claims import (
    AT_LEAST,
    FAILS,
    INCONCLUSIVE,
    PASSES,
    Check,
    Claim,
    Sanity,
    number,
    paired_check,
)
from trainability.scoring import Learns
from trainability.studies.tweaks.selection import chosen, edge, label
from trainability.studies.tweaks.spec import BASE, LECTURE, PREFIX
from trainability.studies.tweaks.tables import seed_scores

MEASURE = "mean test accuracy"
DIFFERENCE = "paired difference of test accuracy"


@dataclass(frozen=True)
class SweepCheck(Check):
    """A check of rates chosen from a sweep: a verdict a rate beyond the sweep could reverse
    is inconclusive."""

    edge_fails: str = ""  # why a failure may be the sweep's ("": it is not)
    edge_passes: str = ""  # why a pass may be the sweep's ("": it is not)

    @property
    def verdict(self) -> str:
        found = super().verdict
        if (found == FAILS and self.edge_fails) or (found == PASSES and self.edge_passes):
            return INCONCLUSIVE
        return found


def _edged(check: Check, fails: str = "", passes: str = "") -> SweepCheck:
    """``check`` with the reasons its failure or its pass may be the sweep's; the reason
    that makes it inconclusive goes into its detail."""
    swept = SweepCheck(**vars(check), edge_fails=fails, edge_passes=passes)
    reason = fails if check.failed else passes if check.passed else ""
    if reason:
        swept = replace(swept, detail=f"{swept.detail}; inconclusive: {reason}")
    return swept


def _at_edge(spec, row, who: str) -> str:
    where = edge(spec.lrs, row.lr)
    return (f"{who}'s lr {row.lr:g} is {where}, a rate beyond the sweep may do better"
            if where else "")


def _diverged(runs, row) -> int:
    status = seed_scores(runs, row.activation, row.optimizer, row.variant, row.lr, "status")
    return int((status != "ok").sum())


def _seeds(runs, row) -> str:
    n = _diverged(runs, row)
    return f"{int(row.n)} seeds" + (f", {n} diverged (scored as a constant guess)" if n else "")


def _pair(runs, row, plain) -> str:
    """The two means of a comparison as the chosen-settings table shows them."""
    text = f"{row.test_acc_mean:.3f} vs {plain.test_acc_mean:.3f}"
    gone = _diverged(runs, row), _diverged(runs, plain)
    return text + (f"; diverged (scored as a constant guess): {gone[0]} vs {gone[1]}"
                   if any(gone) else "")


def estimate(row, what: str = "", threshold: float = math.nan, detail: str = "") -> Check:
    """A chosen setting's mean test accuracy and its interval as ``choices.csv`` holds them
    (``row``: one of its rows): what a check judges and the section's tables show."""
    return Check(what, row.test_acc_mean, row.test_acc_lo, row.test_acc_hi, int(row.n),
                 threshold, AT_LEAST, MEASURE, detail)


def _check(spec, runs, row, what: str) -> SweepCheck:
    """The chosen setting ``row``'s mean test accuracy against the accuracy that counts as
    learned."""
    check = estimate(row, what, Learns.of(spec).accuracy,
                     f"validation {row.val_acc_mean:.3f}; {_seeds(runs, row)}")
    return _edged(check, fails=_at_edge(spec, row, "the chosen setting"))


def every_optimizer(spec, runs, choices) -> Claim:
    target, lrs = spec.target, ", ".join(f"{r:g}" for r in spec.lrs)
    learned = Learns.of(spec).accuracy
    claim = Claim(
        "", "every-optimizer",
        f"Every optimizer lets the {target} network learn, at a suitable learning rate.",
        "it leaves the remedies to a follow-up on improving trainability and shows no numbers "
        f"for them; its own runs all use {LECTURE['optimizer']} at learning rate "
        f"{LECTURE['lr']:g}.",
        f"one check per optimizer: the learning rate (of {lrs}) with the highest mean "
        f"validation accuracy of the {target} network is chosen, and its mean test "
        f"accuracy over seeds is at least {learned:g}; a failure at a rate on the edge of the "
        "sweep is inconclusive (a rate beyond it may work). The claim is about every "
        "optimizer.",
        share=1.0,
    )
    for optimizer in spec.optimizers:
        row = chosen(choices, "best_lr", target, optimizer, BASE)
        if row is not None:
            claim.checks.append(_check(spec, runs, row, label(optimizer, BASE, row.lr)))
    claim.note = f"no {target} network in the sweep"
    return claim


def variants_at_chosen_rates(spec, runs, choices) -> Claim:
    target, vo = spec.target, spec.variant_optimizer
    claim = Claim(
        "", "variant-at-chosen-lr",
        f"Each schedule, warm-up or L2 variant of {vo} trains the {target} network at least "
        f"as well as plain {vo}, each at its own learning rate.",
        "not measured: the lecture's runs use a constant learning rate and no penalty.",
        f"one check per variant: the learning rate of the variant and of plain {vo} are each "
        f"chosen on validation; the mean over seeds of the per-seed difference of their "
        f"test accuracies (variant minus plain {vo}, the same seed in both) is at least 0. "
        "A failure is inconclusive when the variant's rate is on the edge of the sweep, a "
        f"pass when plain {vo}'s is (a rate beyond it may reverse the comparison). The claim "
        "is about each variant.",
        share=1.0,
    )
    plain = chosen(choices, "best_lr", target, vo, BASE)
    for variant in spec.variants:
        row = chosen(choices, "best_lr", target, vo, variant)
        if row is None or plain is None:
            continue
        check = paired_check(
            f"{label(vo, variant, row.lr)} vs {label(vo, BASE, plain.lr)}",
            seed_scores(runs, target, vo, variant, row.lr),
            seed_scores(runs, target, vo, BASE, plain.lr), 0.0, AT_LEAST, DIFFERENCE,
            detail=_pair(runs, row, plain))
        claim.checks.append(_edged(check, fails=_at_edge(spec, row, "the variant"),
                                   passes=_at_edge(spec, plain, f"plain {vo}")))
    claim.note = f"no {target} network in the sweep" if spec.variants else "no variants configured"
    return claim


def one_setting(spec, runs, choices) -> Claim:
    acts = ", ".join(spec.activations)
    learned = Learns.of(spec).accuracy
    claim = Claim(
        "", "one-setting",
        f"One setting of optimizer, schedule and learning rate trains every activation "
        f"({acts}).",
        f"not shown: the lecture trains every activation with {LECTURE['optimizer']} at "
        f"learning rate {LECTURE['lr']:g}, where its sigmoid network reaches about 0.7 "
        "training accuracy.",
        "the setting (optimizer, variant, learning rate) whose lowest mean validation "
        "accuracy over the activations is highest is chosen; one check per activation: its "
        f"mean test accuracy with that setting is at least {learned:g}; a failure at a rate "
        "on the edge of the sweep is inconclusive. The claim is about every activation.",
        share=1.0,
    )
    for act in spec.activations:
        row = chosen(choices, "one_setting", act)
        if row is not None:
            what = f"{act}: {label(row.optimizer, row.variant, row.lr)}"
            claim.checks.append(_check(spec, runs, row, what))
    claim.note = "no setting was run for every activation"
    return claim


def evaluate(spec, tables) -> list[Claim]:
    runs, choices = tables["runs"], tables["choices"]
    claims = [every_optimizer(spec, runs, choices),
              variants_at_chosen_rates(spec, runs, choices), one_setting(spec, runs, choices)]
    return number(claims, PREFIX)


def sanity(spec, tables) -> list[Sanity]:
    """Every configuration of an activation starts a seed from the same weights (what makes
    the comparisons paired by seed)."""
    starts = tables["starts"]
    out = []
    for act, g in starts.groupby("activation", sort=False):
        worst = float(g.max_abs_diff.max())
        out.append(Sanity(
            f"{act}: same initial weights per seed in every configuration", worst, worst == 0.0,
            f"{int(g.models.iloc[0])} models per seed; largest difference {worst:.1e}"))
    return out
