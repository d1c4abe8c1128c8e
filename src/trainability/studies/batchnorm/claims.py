"""The batch-norm study's claims, one function each.

A seed has the same initial weights and batch order in every placement, so every
comparison between placements is paired by seed. A seed that diverged has learned
nothing: it scores ``chance``, the accuracy of a constant guess of the test set's larger
class (a diverged network's output is not a number, so it predicts one class at best).
Gradient ratios spread over decades, so they are compared on a log10 scale.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trainability.claims import AT_LEAST, Check, Claim, mean_check, number, paired_check
from trainability.data import load_dataset
from trainability.studies.batchnorm.spec import (
    LECTURE_PLACEMENT,
    LECTURE_SIGMOID,
    NONE,
    PREFIX,
    placement_label,
)

LEARNS = 0.90  # "learns": the lecture's ~0.93 with batch norm, less 0.03
GAIN = 0.10  # "rescues": batch norm adds at least 0.10 test accuracy
SLACK = 0.02  # "does not hurt": at most 0.02 test accuracy lost
GRAD_FACTOR = 2.0  # "strengthens the gradient": the ratio grows at least 2x
ACC = "mean test accuracy"
GAIN_MEASURE = "gain in test accuracy (with - without BN)"


def chance_level(spec) -> float:
    share = float(np.mean(load_dataset(spec.dataset).y_test))
    return max(share, 1.0 - share)


def per_seed(runs: pd.DataFrame, activation: str, placement: str, chance: float,
             column: str = "test_acc") -> pd.Series:
    """``column`` per seed of one setting; a diverged seed scores ``chance``."""
    rows = runs[(runs.activation == activation) & (runs.placement == placement)]
    rows = rows.set_index("seed").sort_index()
    return rows[column].where(rows.status == "ok", chance)


def _has(runs, activation, placement) -> bool:
    return bool(((runs.activation == activation) & (runs.placement == placement)).any())


def _summary(runs, activation, placement) -> str:
    rows = runs[(runs.activation == activation) & (runs.placement == placement)]
    ok = rows[rows.status == "ok"].test_acc
    text = f"{ok.mean():.3f} over {len(ok)} seeds" if len(ok) else "no seed finished"
    n_div = int((rows.status == "diverged").sum())
    return text + (f" ({n_div} diverged: scored as chance)" if n_div else "")


def baseline(runs, chance: float) -> Check | None:
    """Does the sigmoid network learn without batch norm (mean test accuracy >= LEARNS)?
    Not a claim: it decides how the section opens."""
    if not _has(runs, "sigmoid", NONE):
        return None
    acc = per_seed(runs, "sigmoid", NONE, chance)
    return mean_check("sigmoid, no batch norm", acc.to_numpy(), LEARNS, AT_LEAST, ACC,
                      detail=_summary(runs, "sigmoid", NONE))


def rescues_sigmoid(runs, placements: list[str], chance: float) -> Claim:
    claim = Claim(
        "", "bn-rescues-sigmoid",
        "Batch normalization lets the sigmoid network learn.",
        "with one batch-normalization layer between hidden layers 3 and 4, the sigmoid "
        f"network rises from about {LECTURE_SIGMOID[NONE]} to about "
        f"{LECTURE_SIGMOID[LECTURE_PLACEMENT]} training accuracy (one run each).",
        f"two checks per batch-norm placement: the sigmoid network's mean test accuracy with "
        f"it is at least {LEARNS} (the lecture's {LECTURE_SIGMOID[LECTURE_PLACEMENT]} less "
        f"{LECTURE_SIGMOID[LECTURE_PLACEMENT] - LEARNS:.2f}), and its gain over the same "
        f"network without batch norm, paired by seed, is at least {GAIN}. A diverged seed "
        f"scores chance ({chance:.3f}).",
    )
    claim.note = "needs the sigmoid network with and without batch norm"
    if not _has(runs, "sigmoid", NONE):
        return claim
    without = per_seed(runs, "sigmoid", NONE, chance)
    for p in placements:
        if not _has(runs, "sigmoid", p):
            continue
        with_bn = per_seed(runs, "sigmoid", p, chance)
        label = placement_label(p)
        claim.checks += [
            mean_check(f"sigmoid, {label}: accuracy", with_bn.to_numpy(), LEARNS, AT_LEAST,
                       ACC, detail=_summary(runs, "sigmoid", p)),
            paired_check(f"sigmoid, {label}: gain", with_bn, without, GAIN, AT_LEAST,
                         GAIN_MEASURE, detail=f"without: {_summary(runs, 'sigmoid', NONE)}"),
        ]
    return claim


def harmless(runs, activations: list[str], placements: list[str], chance: float) -> Claim:
    claim = Claim(
        "", "bn-harmless",
        "Batch normalization does not hurt the other activations.",
        "not shown: the lecture adds batch normalization to the sigmoid network only.",
        f"one check per activation other than sigmoid and batch-norm placement: the test "
        f"accuracy with batch norm minus without, paired by seed, is at least -{SLACK}. A "
        f"diverged seed scores chance ({chance:.3f}).",
    )
    claim.note = "needs an activation other than sigmoid with and without batch norm"
    for act in activations:
        if act == "sigmoid" or not _has(runs, act, NONE):
            continue
        without = per_seed(runs, act, NONE, chance)
        for p in placements:
            if _has(runs, act, p):
                claim.checks.append(paired_check(
                    f"{act}, {placement_label(p)}", per_seed(runs, act, p, chance), without,
                    -SLACK, AT_LEAST, GAIN_MEASURE,
                    detail=f"with: {_summary(runs, act, p)}; without: "
                    f"{_summary(runs, act, NONE)}"))
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
        f"{GRAD_FACTOR:g}x). A first layer without gradient counts as a norm of 1e-12.",
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
    chance = chance_level(spec)
    placements = [p for p in spec.placements if p != NONE]
    return number([rescues_sigmoid(runs, placements, chance),
                   harmless(runs, spec.activations, placements, chance),
                   strengthens_gradient(ratios, placements)], PREFIX)
