"""The lecture's claims about activation, initialization and width, one function each.

Every number is a final (last-epoch) test accuracy per seed; a seed that diverged has none.
Two settings of one width share their seeds' batch order, and initializers of one family
share their seeds' standard normals (``model.init_params``), so comparisons between them
are paired by seed. ``chance`` is the accuracy of a constant guess of the test set's
larger class, the score of a network that has learned nothing.
"""

from __future__ import annotations

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

LEARNED = 0.95  # "learns the data": test accuracy at least 0.95
CHANCE_TOL = 0.05  # "no better than chance": at most 0.05 above a constant guess
LN2 = float(np.log(2))  # the loss of predicting p = 0.5 for every point
LN2_TOL = 0.01  # "the loss stays at ln 2": it does not fall more than 0.01 below
SIGMOID_GAP = 0.10  # "sigmoid lags far behind": at least 0.10 below
BEATS = 0.05  # "notably better": at least 0.05 higher
SCALED_SLACK = 0.02  # "at least as good": no more than 0.02 lower
WIDER_GAIN = 0.05  # a network that had not learned at the narrowest width gains >= 0.05
WIDER_SLACK = 0.02  # one that had learned loses no more than 0.02
SCALED_INITS = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
                "lecun_uniform")
MEASURE = "mean test accuracy"


def chance_level(spec) -> float:
    share = float(np.mean(load_dataset(spec.dataset).y_test))
    return max(share, 1.0 - share)


def zero_at_zero(activation: str) -> bool:
    """f(0) = 0: a zero-initialized network of it computes a constant by construction."""
    return float(get_activation(activation).fn(np.zeros(1))[0]) == 0.0


def per_seed(runs: pd.DataFrame, activation: str, init: str, width: int,
             column: str = "test_acc") -> pd.Series:
    """``column`` per seed of one cell; NaN for seeds that diverged."""
    cell = runs[(runs.activation == activation) & (runs["init"] == init) & (runs.width == width)]
    return cell.set_index("seed")[column].where(cell.set_index("seed").status == "ok")


def _has(runs, activation, init, width) -> bool:
    return bool(((runs.activation == activation) & (runs["init"] == init)
                 & (runs.width == width)).any())


def _summary(values: pd.Series) -> str:
    v = values.dropna()
    text = f"{v.mean():.3f} over {len(v)} seeds" if len(v) else "no finite value"
    return text + (f" ({values.isna().sum()} diverged)" if values.isna().any() else "")


# ---------------------------------------------------------------- the claims


def relu_tanh_learn(runs, width: int, init: str) -> Claim:
    claim = Claim(
        "", "relu-tanh-learn",
        f"With {init} weights, the ReLU and the tanh network learn the data almost perfectly.",
        "both reach about 0.99 training accuracy within 100 epochs (one run each).",
        f"one check per activation (relu, tanh) at width {width} with {init} weights: its "
        f"mean test accuracy is at least {LEARNED}.",
    )
    for act in ("relu", "tanh"):
        if _has(runs, act, init, width):
            acc = per_seed(runs, act, init, width)
            claim.checks.append(mean_check(f"{act}/{init}", acc.to_numpy(), LEARNED, AT_LEAST,
                                           MEASURE, detail=_summary(acc)))
    claim.note = f"no relu or tanh network with {init} weights at width {width}"
    return claim


def sigmoid_lags(runs, width: int, init: str) -> Claim:
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
    sig = per_seed(runs, "sigmoid", init, width)
    for other in ("relu", "tanh"):
        if _has(runs, other, init, width):
            acc = per_seed(runs, other, init, width)
            claim.checks.append(paired_check(
                f"{other} - sigmoid", acc, sig, SIGMOID_GAP, AT_LEAST, "difference in test "
                "accuracy", detail=f"{other} {_summary(acc)}; sigmoid {_summary(sig)}"))
    return claim


def zeros_stay_at_chance(runs, width: int, chance: float) -> Claim:
    acts = activation_order(runs.activation)
    tested = [a for a in acts if not zero_at_zero(a) and _has(runs, a, "zeros", width)]
    claim = Claim(
        "", "zeros-coin-flip",
        "With all hidden weights zero, no network learns: the loss stays at ln 2 and the "
        "accuracy at a coin flip.",
        "flat loss at ln 2 = 0.693 and accuracy around 0.5 for relu, sigmoid and tanh.",
        f"for activations with f(0) != 0 (for the others a zero-initialized network computes "
        f"a constant by construction: see the sanity checks), two checks at width {width}: "
        f"the mean test accuracy is at most {chance + CHANCE_TOL:.3f} (a constant guess of "
        f"the larger class scores {chance:.3f}, plus {CHANCE_TOL}), and the mean final "
        f"training loss is at least ln 2 - {LN2_TOL} = {LN2 - LN2_TOL:.3f}.",
    )
    for act in tested:
        acc = per_seed(runs, act, "zeros", width)
        loss = per_seed(runs, act, "zeros", width, "train_loss")
        claim.checks += [
            mean_check(f"{act}/zeros accuracy", acc.to_numpy(), chance + CHANCE_TOL, AT_MOST,
                       MEASURE, detail=_summary(acc)),
            mean_check(f"{act}/zeros loss", loss.to_numpy(), LN2 - LN2_TOL, AT_LEAST,
                       "mean final training loss (nats)", detail=_summary(loss), digits=4),
        ]
    claim.note = (f"every activation of the grid with zeros cells at width {width} has "
                  "f(0) = 0, so a zero-initialized network of it is constant by construction: "
                  "nothing to measure")
    return claim


def normal_beats_zeros(runs, width: int, init: str) -> Claim:
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
            rn, z = per_seed(runs, act, init, width), per_seed(runs, act, "zeros", width)
            claim.checks.append(paired_check(
                act, rn, z, BEATS, AT_LEAST, "difference in test accuracy",
                detail=f"{init} {_summary(rn)}; zeros {_summary(z)}"))
    claim.note = f"no activation has both {init} and zeros cells at width {width}"
    return claim


def scaled_inits(runs, width: int, init: str) -> Claim:
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
        base = per_seed(runs, act, init, width)
        for scaled in inits:
            if _has(runs, act, scaled, width):
                acc = per_seed(runs, act, scaled, width)
                claim.checks.append(paired_check(
                    f"{act}/{scaled}", acc, base, -SCALED_SLACK, AT_LEAST,
                    "difference in test accuracy",
                    detail=f"{scaled} {_summary(acc)}; {init} {_summary(base)}"))
    claim.note = f"no scaled initializer beside {init} at width {width}"
    return claim


def minor_choices(runs, width: int, chance: float) -> Claim:
    claim = Claim(
        "", "minor-choices",
        "Choices that look minor (activation, initialization) decide whether the same network "
        "on the same data learns at all.",
        "the same architecture goes from about 0.99 accuracy to a coin flip by changing only "
        "the activation or the initialization.",
        f"over the cells at width {width} with non-zero initial weights (zeros is an identity, "
        f"see the sanity checks), the best and the worst cell are chosen by their mean "
        f"*training* accuracy, then judged on the test set: the best's mean test accuracy is "
        f"at least {LEARNED}, the worst's at most {chance + CHANCE_TOL:.3f} (chance "
        f"{chance:.3f} plus {CHANCE_TOL}).",
    )
    at = runs[(runs.width == width) & (runs["init"] != "zeros") & (runs.status == "ok")]
    ranked = at.groupby(["activation", "init"]).train_acc.mean().sort_values(kind="stable")
    if len(ranked) < 2:
        claim.note = f"fewer than two cells with non-zero weights at width {width}"
        return claim
    for label, (act, init), threshold, side in (
        ("best", ranked.index[-1], LEARNED, AT_LEAST),
        ("worst", ranked.index[0], chance + CHANCE_TOL, AT_MOST),
    ):
        acc = per_seed(runs, act, init, width)
        claim.checks.append(mean_check(f"{label}: {act}/{init}", acc.to_numpy(), threshold,
                                       side, MEASURE, detail=_summary(acc)))
    return claim


def wider_easier(runs) -> Claim:
    widths = sorted(int(w) for w in runs.width.unique())
    claim = Claim(
        "", "wider-easier",
        "At a fixed depth, a wider network is easier to train than a narrow one.",
        "its section on network size: a big network trains where a small one cannot.",
        f"one check per activation and non-zero initializer, comparing its narrowest and "
        f"widest width ({widths[0]} and {widths[-1]}): if the narrow network's mean test "
        f"accuracy is below {LEARNED}, the wide one's minus the narrow one's is at least "
        f"{WIDER_GAIN}; otherwise it is at least -{WIDER_SLACK}. Widths do not share weights, "
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
            narrow, wide = per_seed(runs, act, init, lo), per_seed(runs, act, init, hi)
            learned = narrow.mean() >= LEARNED
            claim.checks.append(difference_check(
                f"{act}/{init}", wide.to_numpy(), narrow.to_numpy(),
                -WIDER_SLACK if learned else WIDER_GAIN, AT_LEAST, "wide minus narrow",
                detail=f"w{lo} {_summary(narrow)}; w{hi} {_summary(wide)}"))
    return claim


def at_width(runs, width: int, init: str, chance: float) -> list[Claim]:
    """The claims judged at one width, in report order."""
    return [relu_tanh_learn(runs, width, init), sigmoid_lags(runs, width, init),
            zeros_stay_at_chance(runs, width, chance), normal_beats_zeros(runs, width, init),
            scaled_inits(runs, width, init), minor_choices(runs, width, chance)]


def lecture_init(spec) -> str:
    """The lecture's initializer, or the first non-zero one the grid has."""
    if "random_normal" in spec.inits:
        return "random_normal"
    return next((i for i in spec.inits if i != "zeros"), spec.inits[0])


def evaluate(spec, tables) -> list[Claim]:
    runs = tables["runs"]
    claims = at_width(runs, spec.width, lecture_init(spec), chance_level(spec))
    return number([*claims, wider_easier(runs)], "")


def sanity(spec, tables) -> list[Sanity]:
    """Zero-initialized networks of activations with f(0) = 0 predict one class for every
    point, so every seed scores exactly the share of one class of the test set."""
    runs = tables["runs"]
    y = load_dataset(spec.dataset).y_test
    shares = (float(np.mean(y)), 1.0 - float(np.mean(y)))
    out = []
    for act in activation_order(runs.activation):
        if not zero_at_zero(act) or not _has(runs, act, "zeros", spec.width):
            continue
        acc = per_seed(runs, act, "zeros", spec.width).dropna().to_numpy()
        gap = float(np.max(np.min(np.abs(acc[:, None] - np.array(shares)), axis=1))) \
            if acc.size else np.nan
        out.append(Sanity(
            f"{act}/zeros predicts one class", gap, bool(acc.size) and gap <= 1e-12,
            f"largest distance of a seed's test accuracy from a class share "
            f"({shares[0]:.3f} or {shares[1]:.3f}): {gap:.1e}"))
    return out
