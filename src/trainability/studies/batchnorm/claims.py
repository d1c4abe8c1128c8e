"""The batch-norm study's claims, one function each.

A seed has the same initial weights and batch order in every placement, so every
comparison between placements is paired by seed. "Learns" is the report's one definition
(``scoring.Learns``: params.yaml's ``learns``), and a diverged seed is scored by its one
policy (``scoring.per_seed``: as a constant guess of the test set's larger class, never
dropped). Gradient ratios spread over decades, so they are compared on a log10 scale.
"""

from __future__ import annotations

import math

import pandas as pd

from trainability import scoring
from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    Check,
    Claim,
    mean_check,
    number,
    paired_check,
)
from trainability.data import load_dataset
from trainability.scoring import Guess, Learns
from trainability.studies.batchnorm.spec import (
    LECTURE_PLACEMENT,
    LECTURE_SIGMOID,
    NONE,
    PREFIX,
    placement_label,
)
from trainability.studies.batchnorm.tables import NO_GRADIENT

GAIN = 0.10  # "rescues": batch norm adds at least 0.10 test accuracy
SLACK = 0.02  # "does not hurt": at most 0.02 test accuracy lost
GRAD_FACTOR = 2.0  # "strengthens the gradient": the ratio grows at least 2x
ACC = "mean test accuracy"
GAIN_MEASURE = "gain in test accuracy (with - without BN)"


def guess(spec) -> Guess:
    """A constant guess of the test set's larger class: what a diverged seed scores."""
    return Guess.of(load_dataset(spec.dataset).y_test)


def rows(frame: pd.DataFrame, activation: str, placement: str) -> pd.DataFrame:
    """One setting's models (rows of ``frame`` with a status), in seed order."""
    sel = frame[(frame.activation == activation) & (frame.placement == placement)]
    return sel.sort_values("seed")


def per_seed(frame: pd.DataFrame, activation: str, placement: str, guess: Guess,
             column: str = "test_acc") -> pd.Series:
    """``column`` per seed of one setting, a diverged seed scored as ``guess``."""
    return scoring.per_seed(rows(frame, activation, placement), column, guess)


def _has(runs, activation, placement) -> bool:
    return bool(((runs.activation == activation) & (runs.placement == placement)).any())


def _summary(runs, activation, placement, guess) -> str:
    models = rows(runs, activation, placement)
    return scoring.summary(scoring.per_seed(models, "test_acc", guess),
                           int((models.status != "ok").sum()))


def baseline(runs, learns: Learns, guess: Guess) -> Check | None:
    """Does the sigmoid network fail to learn without batch norm (its mean test accuracy
    below ``learns.accuracy``)? The first check of the rescue, and the section's opening."""
    if not _has(runs, "sigmoid", NONE):
        return None
    acc = per_seed(runs, "sigmoid", NONE, guess)
    return mean_check("sigmoid, no batch norm: does not learn", acc.to_numpy(),
                      learns.accuracy, AT_MOST, ACC,
                      detail=_summary(runs, "sigmoid", NONE, guess))


def has_room(without: pd.Series) -> bool:
    """Whether a gain of ``GAIN`` can show: the network without batch norm averages at most
    1 - GAIN (an accuracy is at most 1)."""
    return float(without.mean()) <= 1.0 - GAIN


def rescues_sigmoid(runs, placements: list[str], learns: Learns, guess: Guess) -> Claim:
    claim = Claim(
        "", "bn-rescues-sigmoid",
        "Batch normalization rescues the sigmoid network: without it the network does not "
        f"learn, with it it does, gaining at least {GAIN:g} test accuracy.",
        "with one batch-normalization layer between hidden layers 3 and 4, the sigmoid "
        f"network rises from about {LECTURE_SIGMOID[NONE]} to about "
        f"{LECTURE_SIGMOID[LECTURE_PLACEMENT]} training accuracy (one run each).",
        f"learning is the report's one definition: a mean test accuracy of at least "
        f"{learns.accuracy:g}. Two checks per batch-norm placement: with it the sigmoid "
        f"network learns, and its gain over the same network without it, paired by seed, is "
        f"at least {GAIN:g}. Apart from them, the premise: without batch norm the network "
        f"does not learn (its interval below {learns.accuracy:g}); it is no support, but the "
        f"claim is supported only when it passes, and if it fails there is nothing to rescue "
        f"and it counts against the claim. Where the "
        f"network without batch norm averages above {1 - GAIN:.2f}, no gain of {GAIN:g} is "
        f"possible: the gain is then a no-harm check (batch norm costs at most {SLACK:g}).",
    )
    claim.note = "needs the sigmoid network with and without batch norm"
    base = baseline(runs, learns, guess)
    if base is None:
        return claim
    claim.premises.append(base)
    without = per_seed(runs, "sigmoid", NONE, guess)
    room = has_room(without)
    for p in placements:
        if not _has(runs, "sigmoid", p):
            continue
        with_bn = per_seed(runs, "sigmoid", p, guess)
        label = placement_label(p)
        claim.checks.append(mean_check(
            f"sigmoid, {label}: learns", with_bn.to_numpy(), learns.accuracy, AT_LEAST, ACC,
            detail=_summary(runs, "sigmoid", p, guess)))
        gain = paired_check(f"sigmoid, {label}: gain", with_bn, without,
                            GAIN if room else -SLACK, AT_LEAST, GAIN_MEASURE,
                            detail=f"without: {_summary(runs, 'sigmoid', NONE, guess)}")
        (claim.checks if room else claim.guards).append(gain)
    return claim


def harmless(runs, activations: list[str], placements: list[str], guess: Guess) -> Claim:
    claim = Claim(
        "", "bn-harmless",
        "Batch normalization does not hurt the other activations.",
        "not shown: the lecture adds batch normalization to the sigmoid network only.",
        f"one check per activation other than sigmoid and batch-norm placement: the test "
        f"accuracy with batch norm minus without, paired by seed, is at least -{SLACK}.",
    )
    claim.note = "needs an activation other than sigmoid with and without batch norm"
    for act in activations:
        if act == "sigmoid" or not _has(runs, act, NONE):
            continue
        without = per_seed(runs, act, NONE, guess)
        for p in placements:
            if _has(runs, act, p):
                claim.checks.append(paired_check(
                    f"{act}, {placement_label(p)}", per_seed(runs, act, p, guess), without,
                    -SLACK, AT_LEAST, GAIN_MEASURE,
                    detail=f"with: {_summary(runs, act, p, guess)}; without: "
                    f"{_summary(runs, act, NONE, guess)}"))
    return claim


def log_ratios(ratios: pd.DataFrame, activation: str, placement: str) -> pd.Series:
    rows = ratios[(ratios.activation == activation) & (ratios.placement == placement)]
    return rows.set_index("seed").sort_index().log10_ratio


def strengthens_gradient(ratios, placements: list[str]) -> Claim:
    threshold = math.log10(GRAD_FACTOR)
    claim = Claim(
        "", "bn-gradient",
        "Batch normalization strengthens the gradient that reaches the first layer of the "
        "sigmoid network.",
        "the lecture names vanishing gradients as the sigmoid network's problem and batch "
        "normalization as a remedy, without measuring either.",
        f"one check per batch-norm placement: at initialization (epoch 0: the same weights "
        f"with and without batch norm), the ratio r = ||dL/dW1|| / ||dL/dW_classifier|| of the "
        f"sigmoid network; log10 r with batch norm minus without, paired by seed, is at least "
        f"log10 {GRAD_FACTOR:g} = {threshold:.2f} (the ratio grows at least "
        f"{GRAD_FACTOR:g}x). A first layer whose gradient is exactly zero counts as a norm of "
        f"{NO_GRADIENT:.1e}, the smallest normal double: below any measured one.",
    )
    claim.note = "needs the sigmoid network with and without batch norm"
    if not ((ratios.activation == "sigmoid") & (ratios.placement == NONE)).any():
        return claim
    without = log_ratios(ratios, "sigmoid", NONE)
    for p in placements:
        with_bn = log_ratios(ratios, "sigmoid", p)
        if len(with_bn):
            gm = 10 ** with_bn.mean()
            claim.checks.append(paired_check(
                f"sigmoid, {placement_label(p)}", with_bn, without, threshold, AT_LEAST,
                "change of log10 r (with - without BN)", digits=2,
                detail=f"geometric mean r {gm:.3g} with, {10 ** without.mean():.3g} without"))
    return claim


def evaluate(spec, tables) -> list[Claim]:
    runs, ratios = tables["runs"], tables["ratios"]
    test = guess(spec)
    placements = [p for p in spec.placements if p != NONE]
    return number([rescues_sigmoid(runs, placements, Learns.of(spec), test),
                   harmless(runs, spec.activations, placements, test),
                   strengthens_gradient(ratios, placements)], PREFIX)
