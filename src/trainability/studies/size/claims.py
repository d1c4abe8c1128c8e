"""The claims about network size, one function each.

Every accuracy is a final (last-epoch) test accuracy per seed; every choice a check depends
on (a width, a pruning level, the values of k to test) is made on the validation split
(``select.py``). Success is params.yaml's ``learns.accuracy``. A model that diverged fails
every success criterion and scores as a constant guess of the test split's larger class
(the tables apply ``scoring``'s policy): it is a failure, never dropped.

A comparison "arm minus reference is at least a gain" cannot pass when the reference is
already within the gain of 1 (an accuracy or a success rate is at most 1): such a
comparison is a *no-harm* guard instead (the arm is at most the gain below the reference),
shown apart and never counted as support (``claims.Claim.guards``).

Pairing: at one pruning level, the arms of one seed share its shuffling order, and the
ticket shares with the dense network its initial weights, with random pruning its initial
weights, with re-initialization its mask; so those comparisons are paired by seed. Networks
of different widths share nothing but the shuffling order: their comparisons are of
independent samples.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    Check,
    Claim,
    Sanity,
    difference_check,
    mean_check,
    number,
    paired_check,
    rate_check,
    rate_difference_check,
)
from trainability.scoring import Learns
from trainability.studies.size.failures import born_dead, born_dead_sanity
from trainability.studies.size.select import (
    MATCH_TOL,
    capable_width,
    datasets,
    level_near,
    matching_level,
)
from trainability.studies.size.spec import PREFIX

GAIN = 0.10  # "succeeds where the other does not": a success rate at least this much higher
MOSTLY = 0.5  # "cannot be trained": at most this share of seeds succeed
MANY_DEAD = 0.10  # "many units are dead": at least this share of the hidden units
BEATS = 0.01  # "more accurate": a mean test accuracy at least this much higher
FASTER = 0.5  # "learns faster": more than this share of seeds stop earlier
MODERATE = (0.5, 0.2)  # the densities (shares of weights left) where speed is compared
ROOM = 0.5  # the ceiling errs on at most this share of the errors learns.accuracy allows
ACC = "difference in test accuracy"


def by_seed(runs: pd.DataFrame, **where) -> pd.Series:
    """Test accuracy per seed of the rows matching ``where`` (mean over re-initialization
    draws; a diverged model's is the constant guess's, as the tables score it)."""
    rows = runs
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows.test_acc.groupby(rows.seed).mean()


def at_ceiling(reference: float, gain: float) -> bool:
    """Whether "arm - reference >= gain" cannot pass: no accuracy or rate exceeds 1 (a
    reference of exactly 1 - gain leaves the gain, which 1 - 0.9 < 0.1 in floats hides)."""
    return 1.0 - reference < gain - 1e-9


def _file(claim: Claim, check: Check, reference: float, gain: float) -> None:
    """``check`` (claimed ``>= gain``) among the claim's checks, or, where the reference
    leaves no room for the gain, as a no-harm guard: the arm at most ``gain`` below it."""
    if not at_ceiling(reference, gain):
        claim.checks.append(check)
        return
    claim.guards.append(replace(check, threshold=-gain, measure=f"{check.measure} (no harm)"))


def _guard_rule(gain: float, what: str) -> str:
    return (f" Where the {what} is above {1 - gain:g} no arm can gain {gain} on it: that "
            f"comparison is a no-harm check instead (at most {gain} below it), shown apart "
            "and not counted as support.")


def _mean(values: pd.Series) -> str:
    return f"{values.mean():.3f} over {len(values)} seeds"


def _rate(successes, n) -> str:
    return f"{int(successes)} of {int(n)}"


# ---------------------------------------------------------------- width and dead units


def big_trains(width: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "", "big-trains",
        "At a fixed depth, a wide network trains where a narrow one that can represent the "
        "boundary does not.",
        "\"given a fixed number of layers, it is easier to train a big NN than a small one\".",
        "one check per dataset, the widest width against the narrowest *capable* one: the "
        "narrowest width at which at least one seed reached the success threshold on the "
        "validation split (that seed shows a good enough boundary exists at that width, so a "
        "failure there is one of training, not of capacity; narrower widths are left out). "
        f"The widest's test success rate minus the capable width's is at least {GAIN} "
        "(Newcombe interval)." + _guard_rule(GAIN, "capable width's test success rate"),
    )
    claim.note = "the width study did not run (size.width.enabled)"
    if width is None:
        return claim
    for name in datasets(width):
        d = width[width.dataset == name].sort_values("width")
        cap, wide = capable_width(d), d.iloc[-1]
        if cap is None or cap >= wide.width:
            continue
        small = d[d.width == cap].iloc[0]
        _file(claim, rate_difference_check(
            f"{name}: width {int(wide.width)} - width {cap}", int(wide.successes),
            int(wide.n), int(small.successes), int(small.n), GAIN, AT_LEAST,
            "difference of test success rates",
            detail=f"{_rate(wide.successes, wide.n)} vs {_rate(small.successes, small.n)}"),
            small.successes / small.n, GAIN)
    claim.note = ("the capable width succeeds too often for any width to gain on it (no-harm "
                  "checks only)" if claim.guards else
                  "no dataset has a capable width narrower than its widest")
    return claim


def many_dead(dead_runs: pd.DataFrame | None, tau: float) -> Claim:
    claim = Claim(
        "", "many-dead",
        "Many units of a wide trained network are dead.",
        "\"many units turn out to be dead: near zero weights\" (after training an overly "
        "large network).",
        "one check per dataset, on the widest network trained without regularization: its "
        f"share of dead hidden units, per seed, has a mean of at least {MANY_DEAD}. A unit is "
        "dead if activation-dead (never active on the fit points) or norm-dead (score below "
        f"tau = {tau:g} times the layer's largest).",
    )
    claim.note = "the dead-unit study did not run (size.dead.enabled)"
    if dead_runs is None:
        return claim
    main = dead_runs[np.isclose(dead_runs.tau, tau) & (dead_runs.regularizer == "none")]
    for name in datasets(main):
        d = main[main.dataset == name]
        top = d[d.width == d.width.max()]
        share = top.groupby("seed").dead.mean()
        claim.checks.append(mean_check(
            f"{name}, width {int(top.width.iloc[0])}", share.to_numpy(), MANY_DEAD, AT_LEAST,
            "mean share of dead units",
            detail=f"activation-dead {top.act_dead.mean():.2f}, norm-dead "
                   f"{top.norm_dead.mean():.2f}, either {share.mean():.2f}"))
    return claim


def cut_widths(rows: pd.DataFrame) -> pd.Series:
    """Per seed, from the ``dead_runs`` rows of one network (dataset, regularizer, width,
    tau): the width of its live part, the largest live count of the layers that lose units
    (at least ``MANY_DEAD`` of them dead); the largest of any layer if none does."""
    losing = rows[rows.dead >= MANY_DEAD]
    return losing.groupby("seed").live.max().reindex(sorted(rows.seed.unique())).fillna(
        rows.groupby("seed").live.max())


def cut_cannot_train(width, dead_runs, structured_runs, live, tau: float) -> Claim:
    claim = Claim(
        "", "cut-cannot-train",
        "A network as narrow as the live part of a wide one cannot be trained from scratch.",
        "\"reduce the number of units: can't train!\"",
        "\"cannot be trained\" means at most half of the seeds succeed. Two kinds of check "
        "per dataset, each a test success rate with its Wilson interval, claimed at most "
        f"{MOSTLY}. (a) Structured-pruning study: every wide group-lasso network is cut to "
        "its own live units (k = the largest number of live units of any hidden layer) and "
        "a width-k network is trained from scratch, pooled over seeds. (b) The widest "
        "network trained without regularization: its live part's width is the largest live "
        f"count of the layers that lose units (at least {MANY_DEAD:.0%} of them dead), as a "
        "layer that keeps its units is not cut (a first-layer unit is a half-plane of the "
        "2-dimensional input, dead only if it misses every point), or of any layer if none "
        "does; the check is the width study's widest width not above its median over "
        "seeds.",
    )
    if structured_runs is not None:
        own = structured_runs[(structured_runs.target == "live")
                              & (structured_runs.arm == "scratch")]
        for name in datasets(own):
            d, lv = own[own.dataset == name], live[live.dataset == name].k_eff
            claim.checks.append(rate_check(
                f"(a) {name}", int(d.success.sum()), len(d), MOSTLY, AT_MOST,
                "test success rate from scratch",
                detail=f"live width median {lv.median():g} (quartiles {lv.quantile(0.25):g}, "
                       f"{lv.quantile(0.75):g}); {_rate(d.success.sum(), len(d))}"))
    if dead_runs is not None and width is not None:
        main = dead_runs[np.isclose(dead_runs.tau, tau) & (dead_runs.regularizer == "none")]
        for name in datasets(main):
            d = main[main.dataset == name]
            top = d[d.width == d.width.max()]
            k = float(cut_widths(top).median())
            w = width[(width.dataset == name) & (width.width <= k)].sort_values("width")
            if w.empty:
                continue
            r = w.iloc[-1]
            layers = top.groupby("layer").live.median()
            claim.checks.append(rate_check(
                f"(b) {name}, width {int(top.width.iloc[0])}", int(r.successes), int(r.n),
                MOSTLY, AT_MOST, "test success rate from scratch",
                detail=f"live units per layer (median) {', '.join(f'{v:g}' for v in layers)}; "
                       f"live part {k:g} wide; width {int(r.width)}: "
                       f"{_rate(r.successes, r.n)}"))
    claim.note = "needs the structured-pruning study, or the width and dead-unit studies"
    return claim


# ---------------------------------------------------------------- lottery tickets


def ticket_level(lot: pd.DataFrame) -> int:
    """The ticket's matching level (chosen on validation), at least the first pruned one."""
    return max(matching_level(lot, "ticket"), 1)


def lottery_tickets(lot: pd.DataFrame | None, runs: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "", "lottery-tickets",
        "A big network hides a small subnetwork (a winning ticket: its largest weights, reset "
        "to their initial values) that trains to the dense accuracy where the same mask with "
        "new weights, or a random mask, does not.",
        "cites the Lottery Ticket Hypothesis (Frankle & Carbin, arXiv 1803.03635).",
        "per dataset, at the ticket's *matching level*: the sparsest pruning level down to "
        f"which the ticket's mean validation accuracy stays within {MATCH_TOL} of the dense "
        "network's (at least the first pruned level). Three checks of test accuracy, paired "
        f"by seed: (a) ticket minus dense is at least -{MATCH_TOL}; (b) ticket minus the "
        f"same mask re-initialized (mean over draws) is at least {BEATS}; (c) ticket minus "
        f"random pruning at the same per-layer density is at least {BEATS}."
        + _guard_rule(BEATS, "mean test accuracy of the control"),
    )
    claim.note = "the lottery study did not run (size.lottery.enabled)"
    if lot is None:
        return claim
    for name in datasets(lot):
        d, r = lot[lot.dataset == name], runs[runs.dataset == name]
        level = ticket_level(d)
        at = d[(d.arm == "ticket") & (d.level == level)].iloc[0]
        where = f"{name} at {100 * at.density:.3g}% of the weights"
        ticket = by_seed(r, arm="ticket", level=level)
        dense = by_seed(r, arm="ticket", level=0)
        claim.checks.append(paired_check(
            f"(a) {where}: ticket - dense", ticket, dense, -MATCH_TOL, AT_LEAST, ACC,
            detail=f"ticket {_mean(ticket)}; dense {_mean(dense)}"))
        for tag, arm, label in (("b", "reinit", "re-initialized"), ("c", "random", "random")):
            other = by_seed(r, arm=arm, level=level)
            if len(other):
                _file(claim, paired_check(
                    f"({tag}) {where}: ticket - {label}", ticket, other, BEATS, AT_LEAST, ACC,
                    detail=f"ticket {_mean(ticket)}; {label} {_mean(other)}"),
                    other.mean(), BEATS)
    return claim


def tickets_faster(runs: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "", "tickets-faster",
        "Winning tickets learn faster than the dense network they come from.",
        "not in the lecture; Frankle & Carbin report an earlier early-stopping iteration "
        "(minimum validation loss) at moderate sparsity.",
        "per dataset, at the ticket levels closest to "
        f"{' and '.join(f'{d:.0%}' for d in MODERATE)} of the weights: per seed, the ticket "
        "is faster if its early-stopping epoch (minimum validation loss) comes strictly "
        "before the dense network's. An epoch equal to the last one is censored (the loss "
        "was still falling): a pair where both are censored says nothing and is left out; a "
        "censored ticket against an uncensored dense network is not faster, the reverse is "
        "faster; a ticket stopping at epoch 0 (never improved) or diverging is not faster. "
        f"Passes if the share of faster tickets is at least {FASTER} (Wilson interval).",
    )
    claim.note = "the lottery study did not run (size.lottery.enabled)"
    if runs is None:
        return claim
    for name in datasets(runs):
        r = runs[runs.dataset == name]
        dense = r[(r.arm == "ticket") & (r.level == 0)].set_index("seed")
        for density in MODERATE:
            level = level_near(r.groupby(["arm", "level"]).density.mean().reset_index(),
                               density)
            if level is None:
                continue
            t = r[(r.arm == "ticket") & (r.level == level)].set_index("seed")
            d = dense.loc[t.index]
            informative = ~(t.censored & d.censored)
            faster = (t.early_stop < d.early_stop) & (t.early_stop > 0) & (t.status == "ok")
            claim.checks.append(rate_check(
                f"{name}: ticket at {100 * t.density.mean():.3g}% vs dense",
                int((faster & informative).sum()), int(informative.sum()), FASTER, AT_LEAST,
                "share of seeds whose ticket stops earlier",
                detail=f"median epoch ticket {t.early_stop.median():g}, dense "
                       f"{d.early_stop.median():g}; censored: ticket {int(t.censored.sum())}, "
                       f"dense {int(d.censored.sum())}, both {int((~informative).sum())} "
                       f"of {len(t)}"))
    if not claim.checks:
        claim.note = "no pruning level near the moderate densities"
    return claim


def ticket_vs_small_dense(lot: pd.DataFrame | None, runs: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "", "ticket-vs-small-dense",
        "At the same number of weights, a winning ticket is more accurate than a small dense "
        "network trained from scratch.",
        "implied by \"somewhere in this big mess must be something valuable\"; Liu et al. "
        "(arXiv 1810.05270) found small networks trained from scratch as good as pruned ones.",
        "per dataset, at the ticket's matching level (chosen on validation, see the previous "
        "claims) and at the sparsest level: the ticket's mean test accuracy minus that of a "
        "dense network whose width gives the closest number of weights is at least "
        f"{BEATS} (independent samples: the two networks share no weights)."
        + _guard_rule(BEATS, "small dense network's mean test accuracy"),
    )
    claim.note = "the lottery study did not run (size.lottery.enabled)"
    if lot is None:
        return claim
    for name in datasets(lot):
        d, r = lot[lot.dataset == name], runs[runs.dataset == name]
        match, last = ticket_level(d), int(d[d.arm == "ticket"].level.max())
        for what, level in (("matching level", match), ("sparsest level", last)):
            t = d[(d.arm == "ticket") & (d.level == level)]
            s = d[(d.arm == "dense") & (d.level == level)]
            if t.empty or s.empty or (what == "sparsest level" and level == match):
                continue
            t, s = t.iloc[0], s.iloc[0]
            ticket = by_seed(r, arm="ticket", level=level)
            small = by_seed(r, arm="dense", level=level)
            _file(claim, difference_check(
                f"{name}, {what} ({100 * t.density:.3g}%)", ticket.to_numpy(),
                small.to_numpy(), BEATS, AT_LEAST, "ticket minus small dense test accuracy",
                detail=f"ticket {ticket.mean():.3f} ({t.weights:.0f} weights); dense width "
                       f"{int(s.width)} {small.mean():.3f} ({s.weights:.0f} weights)"),
                small.mean(), BEATS)
    if claim.guards and not claim.checks:
        claim.note = ("the small dense networks are too accurate for a ticket to beat them "
                      "(no-harm checks only)")
    return claim


# ---------------------------------------------------------------- structured pruning


def cut_beats_scratch(st: pd.DataFrame | None, reliable: float) -> Claim:
    claim = Claim(
        "", "cut-beats-scratch",
        "A wide network cut down to k units and fine-tuned succeeds where a k-unit network "
        "trained from scratch does not.",
        "\"use bigger than necessary NNs with regularization to prune\".",
        "one check per dataset and k where the k-unit network from scratch succeeds on the "
        f"validation split for fewer than {reliable:.0%} of its seeds, and width k is capable "
        "(some network of width k, cut or from scratch, succeeded on validation: below that, "
        "no way of training can succeed and the k says nothing about pruning): the cut and "
        f"fine-tuned network's test success rate minus the from-scratch one's is at least "
        f"{GAIN} (Newcombe interval)." + _guard_rule(GAIN, "from-scratch test success rate"),
    )
    claim.note = "the structured-pruning study did not run (size.structured.enabled)"
    if st is None:
        return claim
    fixed = st[st.target == "fixed"]
    for name in datasets(fixed):
        d = fixed[fixed.dataset == name]
        for k in sorted(d.k.unique()):
            arms = d[d.k == k].set_index("arm")
            if not {"scratch", "finetune"} <= set(arms.index):
                continue
            sc, ft = arms.loc["scratch"], arms.loc["finetune"]
            if sc.val_success_rate >= reliable or arms.val_successes.sum() == 0:
                continue
            _file(claim, rate_difference_check(
                f"{name}, k = {int(k)}", int(ft.successes), int(ft.n), int(sc.successes),
                int(sc.n), GAIN, AT_LEAST, "fine-tuned minus scratch success rate",
                detail=f"fine-tuned {_rate(ft.successes, ft.n)}; scratch "
                       f"{_rate(sc.successes, sc.n)}"), sc.successes / sc.n, GAIN)
    claim.note = ("where training from scratch is unreliable on validation, it still succeeds "
                  "too often on test for pruning to gain on it (no-harm checks only)"
                  if claim.guards else
                  f"at every capable k, the k-unit network from scratch succeeded on "
                  f"validation for at least {reliable:.0%} of its seeds: nothing for pruning "
                  "to rescue")
    return claim


def room(spec) -> float:
    """The accuracy a split's ceiling must reach: ``ROOM`` of the errors learns allows."""
    return 1 - ROOM * (1 - Learns.of(spec).accuracy)


def sanity(spec, tables) -> list[Sanity]:
    """Per dataset: its validation and test splits leave room to learn, the best possible
    classifier (``ceiling.py``) making at most ``ROOM`` of the errors learns.accuracy
    allows; otherwise "no width succeeds" would be a property of the split. Then the
    born-dead networks' (``born_dead_sanity``)."""
    splits = tables.get("splits")
    need = room(spec)
    out = []
    for name in datasets(splits) if splits is not None else []:
        d = splits[splits.dataset == name].set_index("split").ceiling
        low = min(d["validation"], d["test"])
        out.append(Sanity(
            f"{name}: the best possible classifier has room above learns.accuracy", low,
            bool(low >= need), f"its accuracy (Bayes, from the generating distribution): "
            f"validation {d['validation']:.3f}, test {d['test']:.3f}; room needs at least "
            f"{need:.3f}"))
    return out + born_dead_sanity(tables.get("born_dead_runs"))


def evaluate(spec, tables) -> list[Claim]:
    t = tables.get
    reliable = float(spec.width["reliable"])
    return number([
        big_trains(t("width")),
        many_dead(t("dead_runs"), float(spec.dead["tau"])),
        cut_cannot_train(t("width"), t("dead_runs"), t("structured_runs"),
                         t("structured_live"), float(spec.dead["tau"])),
        lottery_tickets(t("lottery"), t("lottery_runs")),
        tickets_faster(t("lottery_runs")),
        ticket_vs_small_dense(t("lottery"), t("lottery_runs")),
        cut_beats_scratch(t("structured"), reliable),
        born_dead(t("born_dead_runs"), t("width")),
    ], PREFIX)
