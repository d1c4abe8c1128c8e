"""The lecture's claims about activation, initialization and width, one function each.

Every number is a final (last-epoch) accuracy or loss per seed, scored by
``trainability.scoring``: a seed that diverged scores what a constant guess of the larger
class scores, and "learns" means what params.yaml's ``learns`` says. Two settings of one
width share their seeds' batch order, and initializers of one family share their seeds'
standard normals (``model.init_params``), so comparisons between them are paired by seed.
Where a check needs a choice (a pair of cells, whether a cell is at the ceiling), the
training set makes it and the test set judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainability.activations import get_activation
from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    Claim,
    Sanity,
    difference_check,
    mean_check,
    number,
    paired_check,
)
from trainability.data import load_dataset
from trainability.order import activation_order, init_order
from trainability.scoring import Guess, Learns, per_seed, summary

LN2 = float(np.log(2))  # the loss of predicting p = 0.5 for every point
LN2_TOL = 0.01  # "the loss stays at ln 2": it does not fall more than 0.01 below
SIGMOID_GAP = 0.10  # "sigmoid lags far behind": at least 0.10 below
BEATS = 0.05  # "notably better": at least 0.05 higher
SCALED_SLACK = 0.02  # "at least as good": no more than 0.02 lower
WIDER_GAIN = 0.05  # a network that had not learned at the narrowest width gains >= 0.05
WIDER_SLACK = 0.02  # one that had learned loses no more than 0.02 (a no-harm check)
SCALED_INITS = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
                "lecun_uniform")
MEASURE = "mean test accuracy"
CHOICE_WORDS = {"activation": "activation", "init": "initializer"}  # a cell's choices
PAIR_CHECK = "{kind} alone: {cell} {label}"  # the name of a check of claim 6


@dataclass(frozen=True)
class Baseline:
    """What the checks measure against: the one meaning of "learns", and what a constant
    guess of the larger class scores on each split (a diverged seed's score)."""

    learns: Learns
    test: Guess
    train: Guess

    @classmethod
    def of(cls, spec) -> Baseline:
        data = load_dataset(spec.dataset)
        return cls(Learns.of(spec), Guess.of(data.y_test), Guess.of(data.y_train))

    @property
    def nothing(self) -> float:
        """The test accuracy at or below which a network has learned nothing."""
        return self.learns.nothing(self.test.accuracy)

    def guess(self, column: str) -> Guess:
        return self.train if column.startswith("train") else self.test


def zero_at_zero(activation: str) -> bool:
    """f(0) = 0: a zero-initialized network of it computes a constant by construction."""
    return float(get_activation(activation).fn(np.zeros(1))[0]) == 0.0


def cell(runs: pd.DataFrame, activation: str, init: str, width: int) -> pd.DataFrame:
    """The models (one row per seed) of one cell."""
    return runs[(runs.activation == activation) & (runs["init"] == init)
                & (runs.width == width)]


def scores(rows: pd.DataFrame, base: Baseline, column: str = "test_acc") -> pd.Series:
    """``column`` per seed of one cell's ``rows``, a diverged seed scored as a constant
    guess on the column's split (``scoring.per_seed``)."""
    return per_seed(rows, column, base.guess(column))


def detail(rows: pd.DataFrame, values: pd.Series) -> str:
    """``0.985 over 5 seeds (1 diverged, ...)``: the numbers behind a check."""
    return summary(values, int((rows.status != "ok").sum()))


def _has(runs, activation, init, width) -> bool:
    return not cell(runs, activation, init, width).empty


# ---------------------------------------------------------------- the claims


def relu_tanh_learn(runs, width: int, init: str, base: Baseline) -> Claim:
    claim = Claim(
        "", "relu-tanh-learn",
        f"With {init} weights, the ReLU and the tanh network learn the data almost perfectly.",
        "both reach about 0.99 training accuracy within 100 epochs (one run each).",
        f"one check per activation (relu, tanh) at width {width} with {init} weights: its "
        f"mean test accuracy is at least {base.learns.accuracy:g} (it learns the data).",
    )
    for act in ("relu", "tanh"):
        if _has(runs, act, init, width):
            rows = cell(runs, act, init, width)
            acc = scores(rows, base)
            claim.checks.append(mean_check(f"{act}/{init}", acc.to_numpy(),
                                           base.learns.accuracy, AT_LEAST, MEASURE,
                                           detail=detail(rows, acc)))
    claim.note = f"no relu or tanh network with {init} weights at width {width}"
    return claim


def sigmoid_lags(runs, width: int, init: str, base: Baseline) -> Claim:
    claim = Claim(
        "", "sigmoid-lags",
        "With the same weights, the sigmoid network learns far less than ReLU and tanh.",
        "sigmoid creeps to about 0.7 training accuracy with the loss still near 0.64.",
        f"one check per comparison network (relu, tanh; {init} weights, width {width}): "
        f"its test accuracy minus sigmoid's, paired by seed, is at least {SIGMOID_GAP}.",
    )
    claim.note = f"no sigmoid network with {init} weights at width {width}"
    if not _has(runs, "sigmoid", init, width):
        return claim
    sig_rows = cell(runs, "sigmoid", init, width)
    sig = scores(sig_rows, base)
    for other in ("relu", "tanh"):
        if _has(runs, other, init, width):
            rows = cell(runs, other, init, width)
            acc = scores(rows, base)
            claim.checks.append(paired_check(
                f"{other} - sigmoid", acc, sig, SIGMOID_GAP, AT_LEAST, "difference in test "
                "accuracy",
                detail=f"{other} {detail(rows, acc)}; sigmoid {detail(sig_rows, sig)}"))
    return claim


def zeros_stay_at_chance(runs, width: int, base: Baseline) -> Claim:
    acts = activation_order(runs.activation)
    tested = [a for a in acts if not zero_at_zero(a) and _has(runs, a, "zeros", width)]
    claim = Claim(
        "", "zeros-coin-flip",
        "With all hidden weights zero, no network learns: the loss stays at ln 2 and the "
        "accuracy at a coin flip.",
        "flat loss at ln 2 = 0.693 and accuracy around 0.5 for relu, sigmoid and tanh.",
        f"for activations with f(0) != 0 (for the others a zero-initialized network computes "
        f"a constant by construction: see the sanity checks), two checks at width {width}: "
        f"the mean test accuracy is at most {base.nothing:.3f} (it learns nothing: a "
        f"constant guess of the larger class scores {base.test.accuracy:.3f}, plus "
        f"{base.learns.chance_margin:g}), and the mean final training loss is at least "
        f"ln 2 - {LN2_TOL} = {LN2 - LN2_TOL:.3f}.",
    )
    for act in tested:
        rows = cell(runs, act, "zeros", width)
        acc, loss = scores(rows, base), scores(rows, base, "train_loss")
        claim.checks += [
            mean_check(f"{act}/zeros accuracy", acc.to_numpy(), base.nothing, AT_MOST,
                       MEASURE, detail=detail(rows, acc)),
            # three digits, as its detail and the rule print it
            mean_check(f"{act}/zeros loss", loss.to_numpy(), LN2 - LN2_TOL, AT_LEAST,
                       "mean final training loss (nats)", detail=detail(rows, loss)),
        ]
    claim.note = (f"every activation of the grid with zeros cells at width {width} has "
                  "f(0) = 0, so a zero-initialized network of it is constant by construction: "
                  "nothing to measure")
    return claim


def normal_beats_zeros(runs, width: int, init: str, base: Baseline) -> Claim:
    claim = Claim(
        "", "normal-beats-zeros",
        f"Initialization with {init} does notably better than all-zero initialization, for "
        "every activation.",
        "every zero-initialized network is clearly worse than its random-normal twin.",
        f"one check per activation with {init} and zeros cells at width {width}: {init}'s "
        f"test accuracy minus zeros', paired by seed, is at least {BEATS}.",
    )
    for act in activation_order(runs.activation):
        if _has(runs, act, init, width) and _has(runs, act, "zeros", width):
            rn_rows, z_rows = cell(runs, act, init, width), cell(runs, act, "zeros", width)
            rn, z = scores(rn_rows, base), scores(z_rows, base)
            claim.checks.append(paired_check(
                act, rn, z, BEATS, AT_LEAST, "difference in test accuracy",
                detail=f"{init} {detail(rn_rows, rn)}; zeros {detail(z_rows, z)}"))
    claim.note = f"no activation has both {init} and zeros cells at width {width}"
    return claim


def scaled_inits(runs, width: int, init: str, base: Baseline) -> Claim:
    claim = Claim(
        "", "scaled-inits",
        f"Variance-scaled initializers (Glorot, He, LeCun) train at least as well as {init} "
        "weights.",
        "not measured in the lecture; it defers initializer scaling to its follow-up.",
        f"one check per activation and scaled initializer at width {width}: its test "
        f"accuracy minus {init}'s, paired by seed, is at least -{SCALED_SLACK}.",
    )
    inits = [i for i in init_order(runs["init"]) if i in SCALED_INITS and i != init]
    for act in activation_order(runs.activation):
        if not _has(runs, act, init, width):
            continue
        base_rows = cell(runs, act, init, width)
        ref = scores(base_rows, base)
        for scaled in inits:
            if _has(runs, act, scaled, width):
                rows = cell(runs, act, scaled, width)
                acc = scores(rows, base)
                claim.checks.append(paired_check(
                    f"{act}/{scaled}", acc, ref, -SCALED_SLACK, AT_LEAST,
                    "difference in test accuracy",
                    detail=f"{scaled} {detail(rows, acc)}; {init} {detail(base_rows, ref)}"))
    claim.note = f"no scaled initializer beside {init} at width {width}"
    return claim


def widest_pair(train: dict[tuple[str, str], float], changed: str):
    """Of the pairs of cells that differ in the ``changed`` choice only (``train``:
    (activation, init) -> mean training accuracy, in report order), the one whose training
    accuracies differ most, as ``(better, worse)``; None if no two cells differ so. Ties go
    to the first in report order."""
    kept = 1 if changed == "activation" else 0  # the position of the choice held fixed
    best = None
    for value in dict.fromkeys(k[kept] for k in train):
        group = [k for k in train if k[kept] == value]
        if len(group) < 2:
            continue
        hi = max(group, key=lambda k: train[k])  # the first of equal ones: report order
        lo = min((k for k in group if k != hi), key=lambda k: train[k])
        gap = train[hi] - train[lo]
        if best is None or gap > best[0]:
            best = (gap, hi, lo)
    return None if best is None else best[1:]


def choice_pairs(claim: Claim) -> list[dict]:
    """Claim 6's checks by kind of choice: its two cells and its two checks."""
    out = []
    for word in CHOICE_WORDS.values():
        checks = [c for c in claim.checks if c.what.startswith(f"{word} alone: ")]
        if checks:
            cells = [c.what.removeprefix(f"{word} alone: ").split()[0] for c in checks]
            out.append({"kind": word, "cells": cells, "learns": checks[0],
                        "nothing": checks[1]})
    return out


def minor_choices(runs, width: int, base: Baseline) -> Claim:
    nothing = base.nothing
    claim = Claim(
        "", "minor-choices",
        "Choices that look minor (activation, initialization) decide whether the same network "
        "on the same data learns at all.",
        "the same architecture goes from about 0.99 accuracy to a coin flip by changing only "
        "the activation or the initialization.",
        f"one pair of cells at width {width} per kind of choice: two cells that differ in "
        "the activation only, and two that differ in the initializer only (non-zero "
        "initializers: that zero weights learn nothing is claims 3 and 4, and for f(0) = 0 "
        "an identity). Of each kind, the pair whose mean *training* accuracies differ most "
        "is chosen; then, on the test set, the better cell's mean accuracy is at least "
        f"{base.learns.accuracy:g} (it learns) and the other's at most {nothing:.3f} (it "
        f"learns nothing: a constant guess scores {base.test.accuracy:.3f}, plus "
        f"{base.learns.chance_margin:g}). Two checks per kind, so each kind of choice can "
        "pass or fail on its own.",
    )
    at = runs[(runs.width == width) & (runs["init"] != "zeros")]
    keys = [(a, i) for a in activation_order(at.activation) for i in init_order(at["init"])
            if _has(at, a, i, width)]
    train = {k: float(np.mean(scores(cell(at, *k, width), base, "train_acc").to_numpy()))
             for k in keys}
    for changed, word in CHOICE_WORDS.items():
        pair = widest_pair(train, changed)
        if pair is None:
            continue
        chosen = (f"chosen on training accuracy: {pair[0][0]}/{pair[0][1]} "
                  f"{train[pair[0]]:.3f}, {pair[1][0]}/{pair[1][1]} {train[pair[1]]:.3f}")
        for (act, init), label, threshold, side in (
            (pair[0], "learns", base.learns.accuracy, AT_LEAST),
            (pair[1], "learns nothing", nothing, AT_MOST),
        ):
            rows = cell(at, act, init, width)
            acc = scores(rows, base)
            claim.checks.append(mean_check(
                PAIR_CHECK.format(kind=word, cell=f"{act}/{init}", label=label), acc.to_numpy(),
                threshold, side, MEASURE, detail=f"test {detail(rows, acc)}; {chosen}"))
    claim.note = (f"no two cells at width {width} with non-zero weights differ in one "
                  "choice only")
    return claim


def wider_easier(runs, base: Baseline) -> Claim:
    widths = sorted(int(w) for w in runs.width.unique())
    claim = Claim(
        "", "wider-easier",
        "At a fixed depth, a wider network is easier to train than a narrow one.",
        "its section on network size: a big network trains where a small one cannot.",
        f"one check per activation and non-zero initializer whose narrowest network (width "
        f"{widths[0]}) has not learned, by its mean *training* accuracy (below "
        f"{base.learns.accuracy:g}): at the widest width ({widths[-1]}) its mean test "
        f"accuracy minus the narrow one's is at least {WIDER_GAIN}. Where the narrow network "
        "has already learned, width cannot make it easier: a no-harm check asks only that "
        f"the wide one's is no more than {WIDER_SLACK} lower. Widths do not share weights, "
        "so the difference is of two independent samples.",
    )
    if len(widths) < 2:
        claim.note = f"only one width ({widths[0]}) trained"
        return claim
    lo, hi = widths[0], widths[-1]
    for act in activation_order(runs.activation):
        for init in init_order(runs["init"]):
            if init == "zeros" or not (_has(runs, act, init, lo) and _has(runs, act, init, hi)):
                continue
            n_rows, w_rows = cell(runs, act, init, lo), cell(runs, act, init, hi)
            narrow, wide = scores(n_rows, base), scores(w_rows, base)
            learned = np.mean(scores(n_rows, base, "train_acc").to_numpy()) \
                >= base.learns.accuracy
            check = difference_check(
                f"{act}/{init}", wide.to_numpy(), narrow.to_numpy(),
                -WIDER_SLACK if learned else WIDER_GAIN, AT_LEAST, "wide minus narrow",
                detail=f"w{lo} {detail(n_rows, narrow)}; w{hi} {detail(w_rows, wide)}")
            (claim.guards if learned else claim.checks).append(check)
    claim.note = (f"every network at width {lo} has already learned (mean training accuracy "
                  f"at least {base.learns.accuracy:g}), so width has nothing to make easier: "
                  "only the no-harm checks apply" if claim.guards else
                  f"no activation and non-zero initializer trained at widths {lo} and {hi}")
    return claim


def at_width(runs, width: int, init: str, base: Baseline) -> list[Claim]:
    """The claims judged at one width, in report order."""
    return [relu_tanh_learn(runs, width, init, base), sigmoid_lags(runs, width, init, base),
            zeros_stay_at_chance(runs, width, base),
            normal_beats_zeros(runs, width, init, base), scaled_inits(runs, width, init, base),
            minor_choices(runs, width, base)]


def evaluate(spec, tables) -> list[Claim]:
    runs, base = tables["runs"], Baseline.of(spec)
    claims = at_width(runs, spec.width, spec.lecture_init, base)
    return number([*claims, wider_easier(runs, base)], "")


def sanity(spec, tables) -> list[Sanity]:
    """Zero-initialized networks of activations with f(0) = 0 predict one class for every
    point, so every seed scores exactly the share of one class of the test set (a diverged
    one has no prediction: the divergence sanity checks count it)."""
    runs = tables["runs"]
    y = load_dataset(spec.dataset).y_test
    shares = (float(np.mean(y)), 1.0 - float(np.mean(y)))
    out = []
    for act in activation_order(runs.activation):
        if not zero_at_zero(act) or not _has(runs, act, "zeros", spec.width):
            continue
        rows = cell(runs, act, "zeros", spec.width)
        acc = rows.test_acc[rows.status == "ok"].to_numpy(dtype=float)
        gap = float(np.max(np.min(np.abs(acc[:, None] - np.array(shares)), axis=1))) \
            if acc.size else np.nan
        out.append(Sanity(
            f"{act}/zeros predicts one class", gap, bool(acc.size) and gap <= 1e-12,
            f"largest distance of a seed's test accuracy from a class share "
            f"({shares[0]:.3f} or {shares[1]:.3f}): {gap:.1e}"))
    return out
