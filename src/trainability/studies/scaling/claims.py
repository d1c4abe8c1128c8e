"""The scaling study's claims, one function each, and its sanity checks.

Every check is over seeds, with the engine's 95% interval. The claims at initialization
(S1-S3) are judged on the running example's networks (``model.width`` units per layer,
the network the lecture draws); the wider networks of ``scaling.init_width`` are for the
histograms only. Whether std 1 saturates a layer depends on its fan-in: at 100 units a
sigmoid layer's pre-activations spread ~5 wide whatever the data, so there the check
could not fail.

The signal ratios of S2 and S3 span decades and reach zero (a layer with no signal left:
all ReLUs dead, or variations below float64's resolution), so those checks are the share
of seeds past the threshold (Wilson interval, claimed above ``MOST``): a layer with no
signal left has lost it all, and gets no made-up number.

Pairing: the initializations of one activation draw the same standard normals per seed
(``model.init_params``), and the three versions of the inputs share each seed's initial
weights and batch order; so comparisons between settings are paired by seed. A diverged
seed scores a constant guess (``scoring.per_seed``). S4 and S5 compare only networks that
learn something on the raw inputs (more than ``scoring.Learns.nothing``), chosen by their *training*
accuracy so that the test accuracies compared do not choose what is compared; S5's
informative checks are the networks the scaled inputs damaged (on the training set), the
others being only asked not to get worse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.activations import get_activation
from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    Check,
    Claim,
    Sanity,
    mean_check,
    number,
    paired_check,
    rate_check,
)
from trainability.data import load_dataset
from trainability.order import activation_order, init_order
from trainability.scoring import Guess, Learns, per_seed, summary
from trainability.studies.scaling.spec import PREFIX
from trainability.studies.scaling.tables import at_width

SATURATES = 0.10  # "a large share saturates": at least 10% of the outputs
MORE_SATURATED = 0.05  # and at least 5 points more than under a matched scaled initializer
COLLAPSE = -2.0  # "the signal dies out": >= 2 orders of magnitude lost from layer 1
KEEPS = 0.5  # "keeps the scale": within half an order of magnitude (a factor 3.2)
MOST = 0.5  # a share of seeds passes when its whole interval lies above one half
HURTS = 0.05  # "trains worse": at least 0.05 lower accuracy
RESTORES = 0.02  # "at least as well": no more than 0.02 lower
EXACT = 1e-9  # relative tolerance of the sanity checks (float64 rounding)

# The variance-scaled initializers each activation is usually paired with: He et al. 2015
# for the relu family; Glorot & Bengio 2010 and LeCun et al. 1998 for tanh; Glorot, in
# common advice, for sigmoid.
MATCHED = {
    "relu": ("he_normal", "he_uniform"),
    "leaky_relu": ("he_normal", "he_uniform"),
    "elu": ("he_normal", "he_uniform"),
    "tanh": ("glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform"),
    "sigmoid": ("glorot_normal", "glorot_uniform"),
}


def std_settings(layers: pd.DataFrame) -> tuple[str | None, str | None]:
    """The labels of the largest and the smallest random_normal std (None if none)."""
    rn = layers[layers["init"] == "random_normal"].drop_duplicates("setting")
    if rn.empty:
        return None, None
    rn = rn.sort_values("init_scale")
    return rn.setting.iloc[-1], rn.setting.iloc[0]


def saturating(activation: str) -> bool:
    return get_activation(activation).family == "saturating"


def matched(layers: pd.DataFrame, activation: str) -> list[str]:
    present = set(layers.setting)
    return [i for i in MATCHED.get(activation, ()) if i in present]


def _cell(layers, activation, setting):
    return layers[(layers.activation == activation) & (layers.setting == setting)]


def saturation(layers, activation: str, setting: str, depth: int) -> pd.Series:
    """Per seed: the share of saturated outputs, mean over hidden layers 1..depth."""
    rows = _cell(layers, activation, setting)
    return rows[rows.layer <= depth].groupby("seed").saturated.mean()


def signal_change(layers, activation: str, setting: str, last: int) -> pd.Series:
    """Per seed: log10(signal of layer ``last`` / signal of layer 1); ``-inf`` where layer
    ``last`` has no signal left, NaN where layer 1 has none either."""
    rows = _cell(layers, activation, setting).pivot(index="seed", columns="layer",
                                                     values="signal")
    if not {1, last} <= set(rows.columns):
        return pd.Series(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(rows[last]) - np.log10(rows[1])


def no_signal(change: pd.Series) -> pd.Series:
    """Seeds whose layer has no signal left (``signal_change`` ``-inf`` or NaN)."""
    return change.isna() | (change == -np.inf)


def _share_check(what: str, ok: pd.Series, change: pd.Series, measure: str) -> Check:
    """The share of seeds with ``ok`` against ``MOST``; the detail gives the median log10
    ratio (no signal left lying below every value) and how many seeds have no signal."""
    lost = no_signal(change)
    median = float(np.median(np.where(lost, -np.inf, change))) if len(change) else np.nan
    detail = (f"{int(ok.sum())} of {len(ok)} seeds; log10 ratio median "
              + (f"{median:+.2f}" if np.isfinite(median) else "-inf"))
    if lost.any():
        detail += f", {int(lost.sum())} with no signal left"
    return rate_check(what, int(ok.sum()), len(ok), MOST, AT_LEAST, measure, detail=detail)


def _mean(values: pd.Series) -> str:
    return f"{values.mean():.3f} over {len(values)} seeds"


# ---------------------------------------------------------------- at initialization


def large_std_saturates(layers, depth: int, width: int) -> Claim:
    layers = at_width(layers, width)
    big, _ = std_settings(layers)
    claim = Claim(
        "", "large-std-saturates",
        f"With large initial weights (random_normal {big or 'std 1'}), sigmoid and tanh units "
        "saturate: a large share of their outputs sits where the derivative is nearly zero.",
        "lists weight initialization among the broad causes of failed training; its scaling "
        "notebook draws each layer's outputs at initialization for std 1 and std 0.01.",
        f"per saturating activation at {big or 'std 1'}, in the running example's networks "
        f"({width} units per layer), in hidden layers 1-{depth} at initialization: the share "
        f"of outputs whose derivative is below 10% of its peak (mean over the layers, per "
        f"seed) is at least {SATURATES:.0%}; and, for each matched variance-scaled "
        f"initializer present, it exceeds that initializer's share, paired by seed, by at "
        f"least {MORE_SATURATED}.",
        note="no sigmoid or tanh network with a random_normal std",
    )
    if big is None:
        return claim
    for act in activation_order(layers.activation):
        if not saturating(act) or _cell(layers, act, big).empty:
            continue
        share = saturation(layers, act, big, depth)
        claim.checks.append(mean_check(f"{act}/{big}", share.to_numpy(), SATURATES, AT_LEAST,
                                       "share of outputs saturated", detail=_mean(share)))
        for init in matched(layers, act):
            other = saturation(layers, act, init, depth)
            claim.checks.append(paired_check(
                f"{act}: {big} - {init}", share, other, MORE_SATURATED, AT_LEAST,
                "difference in share saturated",
                detail=f"{big} {_mean(share)}; {init} {_mean(other)}"))
    return claim


def small_std_vanishes(layers, depth: int, width: int) -> Claim:
    layers = at_width(layers, width)
    _, small = std_settings(layers)
    claim = Claim(
        "", "small-std-vanishes",
        f"With tiny initial weights (random_normal {small or 'std 0.01'}), the signal dies out "
        "layer by layer: each layer's outputs vary less from one data point to the next, so "
        "the last layer sees almost nothing of the input.",
        "asks that a workable scale hold for the inputs of every layer, not only for the "
        "network's own input.",
        f"per activation at {small or 'std 0.01'}, in the running example's networks "
        f"({width} units per layer): the share of seeds whose log10(signal of layer {depth} "
        f"/ signal of layer 1) is at most {COLLAPSE:g} ({-COLLAPSE:g} orders of magnitude "
        f"lost; a layer with no signal left has lost it all), claimed above {MOST:g} "
        "(Wilson interval).",
        note="no random_normal std in the settings",
    )
    if small is None:
        return claim
    for act in activation_order(layers.activation):
        if _cell(layers, act, small).empty:
            continue
        change = signal_change(layers, act, small, depth)
        with np.errstate(invalid="ignore"):
            lost = no_signal(change) | (change <= COLLAPSE)
        claim.checks.append(_share_check(f"{act}/{small}", lost, change,
                                         f"share of seeds with log10 ratio <= {COLLAPSE:g}"))
    return claim


def scaled_inits_keep(layers, depth: int, width: int) -> Claim:
    layers = at_width(layers, width)
    claim = Claim(
        "", "scaled-inits-keep",
        "An initializer scaled to the layer's fan-in (and fan-out) and matched to the "
        "activation keeps the signal roughly constant from layer to layer: He for ReLU, "
        "Glorot or LeCun for tanh, Glorot for sigmoid.",
        "points to initializing the weights so that every layer's inputs keep a workable "
        "scale.",
        f"per activation and matched initializer present, in the running example's networks "
        f"({width} units per layer): the share of seeds whose |log10(signal of layer {depth} "
        f"/ signal of layer 1)| is at most {KEEPS:g} (within a factor {10 ** KEEPS:.1f}; a "
        f"layer with no signal left is outside), claimed above {MOST:g} (Wilson interval).",
        note="no activation with a matched initializer",
    )
    for act in activation_order(layers.activation):
        for init in matched(layers, act):
            change = signal_change(layers, act, init, depth)
            with np.errstate(invalid="ignore"):
                kept = np.isfinite(change) & (change.abs() <= KEEPS)
            claim.checks.append(_share_check(f"{act}/{init}", kept, change,
                                             f"share of seeds with |log10 ratio| <= {KEEPS:g}"))
    return claim


# ---------------------------------------------------------------- input scaling


def guesses(spec) -> dict[str, Guess]:
    """A constant guess on the training and on the test split (the same labels and split
    in every version of the inputs)."""
    data = load_dataset(spec.dataset)
    return {"train": Guess.of(data.y_train), "test": Guess.of(data.y_test)}


def accuracy(runs, variant: str, activation: str, init: str, guess: Guess,
             column: str = "test_acc") -> pd.Series:
    """Per seed: the final ``column`` accuracy, a diverged model scoring ``guess``."""
    rows = runs[(runs.variant == variant) & (runs.activation == activation)
                & (runs["init"] == init)]
    return per_seed(rows, column, guess).sort_index()


def _detail(runs, variant, activation, init, values: pd.Series) -> str:
    rows = runs[(runs.variant == variant) & (runs.activation == activation)
                & (runs["init"] == init)]
    return f"{variant} {summary(values, int((rows.status != 'ok').sum()))}"


def pairs(runs) -> list[tuple[str, str]]:
    """The activation x initializer pairs trained, in report order."""
    return [(a, i) for a in activation_order(runs.activation) for i in init_order(runs["init"])
            if ((runs.activation == a) & (runs["init"] == i)).any()]


def learners(runs, learns: Learns, train: Guess) -> tuple[list, dict]:
    """``(compared, idle)``: the activation x initializer pairs whose mean final *training*
    accuracy on the raw inputs lies above ``learns.nothing`` of a constant guess of the
    training set, and the others (they learn nothing) with that accuracy. Chosen on the
    training set, so the test accuracies the claims compare do not choose what is
    compared."""
    compared, idle = [], {}
    for a, i in pairs(runs):
        acc = float(accuracy(runs, "raw", a, i, train, "train_acc").mean())
        if acc > learns.nothing(train.accuracy):
            compared.append((a, i))
        else:
            idle[f"{a}/{i}"] = acc
    return compared, idle


def damaged(runs, among, train: Guess) -> list[tuple[str, str]]:
    """The pairs of ``among`` whose mean final *training* accuracy on the scaled inputs is
    at least ``HURTS`` below that on the raw ones: where standardizing has damage to
    remove."""
    return [(a, i) for a, i in among
            if accuracy(runs, "scaled", a, i, train, "train_acc").mean()
            <= accuracy(runs, "raw", a, i, train, "train_acc").mean() - HURTS]


def _variant_check(runs, test: Guess, act, init, variant, threshold, side) -> Check | None:
    ours, raw = (accuracy(runs, v, act, init, test) for v in (variant, "raw"))
    if ours.empty or raw.empty:
        return None
    return paired_check(f"{act}/{init}", ours, raw, threshold, side,
                        f"{variant} minus raw test accuracy",
                        detail=f"{_detail(runs, variant, act, init, ours)}; "
                        f"{_detail(runs, 'raw', act, init, raw)}")


def _compared_rule(learns: Learns, train: Guess) -> str:
    return (f"per activation x initializer that learns something on the raw features (it "
            f"does not *learn nothing*: its mean final training accuracy lies above "
            f"{learns.nothing(train.accuracy):.3f}, a constant guess's {train.accuracy:.3f} "
            f"plus {learns.chance_margin:g}; a network that learns nothing there has nothing "
            f"to lose or regain)")


def scaled_inputs_hurt(runs, input_scale: float, learns: Learns,
                       guess: dict[str, Guess]) -> Claim:
    """``guess``: a constant guess on the ``train`` and on the ``test`` split."""
    claim = Claim(
        "", "scaled-inputs-hurt",
        f"The scale of the inputs matters: multiplying the raw features by {input_scale:g} "
        "makes the same network train worse.",
        "says networks are sensitive to the scale of their layer inputs and counts input "
        "scaling among the broad causes of failed training.",
        f"{_compared_rule(learns, guess['train'])}: the final test accuracy on the scaled "
        f"features minus that on the raw features, paired by seed, is at most -{HURTS} (a "
        f"diverged model scores a constant guess, {guess['test'].accuracy:.3f}).",
        note="no network that learns something on the raw features was also trained on the "
        "scaled ones",
    )
    for act, init in learners(runs, learns, guess["train"])[0]:
        check = _variant_check(runs, guess["test"], act, init, "scaled", -HURTS, AT_MOST)
        if check is not None:
            claim.checks.append(check)
    return claim


def standardizing_restores(runs, learns: Learns, guess: dict[str, Guess]) -> Claim:
    claim = Claim(
        "", "standardizing-restores",
        "Standardizing the scaled inputs (each feature to mean 0 and std 1) removes the "
        "damage: the network trains at least as well as on the raw features.",
        "treats well-scaled inputs as a precondition for training.",
        f"{_compared_rule(learns, guess['train'])} and that the scaled features damaged "
        f"(mean final training accuracy at least {HURTS} below that on the raw ones): the "
        f"final test accuracy on the standardized features minus that on the raw features, "
        f"paired by seed, is at least -{RESTORES} (a diverged model scores a constant guess, "
        f"{guess['test'].accuracy:.3f}). For the networks the scaled features did not "
        f"damage there is no damage to remove: the same comparison is a no-harm check.",
    )
    compared = learners(runs, learns, guess["train"])[0]
    hurt = damaged(runs, compared, guess["train"])
    for act, init in compared:
        check = _variant_check(runs, guess["test"], act, init, "standardized", -RESTORES,
                               AT_LEAST)
        if check is not None:
            (claim.checks if (act, init) in hurt else claim.guards).append(check)
    claim.note = ("the scaled features damaged no network that learns something on the raw "
                  "ones: no damage to remove (see the no-harm checks)" if claim.guards else
                  "no network that learns something on the raw features was also trained on "
                  "the standardized ones")
    return claim


def evaluate(spec, tables) -> list[Claim]:
    layers, runs = tables["layers"], tables["runs"]
    learns, guess = Learns.of(spec), guesses(spec)
    return number([
        large_std_saturates(layers, spec.depth, spec.width),
        small_std_vanishes(layers, spec.depth, spec.width),
        scaled_inits_keep(layers, spec.depth, spec.width),
        scaled_inputs_hurt(runs, spec.input_scale, learns, guess),
        standardizing_restores(runs, learns, guess),
    ], PREFIX)


# ---------------------------------------------------------------- sanity checks


def _relative(values, target: float) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.max(np.abs(v / target - 1.0))) if v.size else np.nan


def _sanity(what: str, gap: float, detail: str) -> Sanity:
    return Sanity(what, gap, bool(np.isfinite(gap) and gap <= EXACT), f"{detail}: {gap:.1e}")


def sanity(spec, tables) -> list[Sanity]:
    """Identities of the setup: the inputs are what they say, the pairing is exact, and
    each histogram panel pools every output it claims to."""
    inputs, runs, layers, hists = (tables[k] for k in ("inputs", "runs", "layers",
                                                       "histograms"))
    by = inputs.set_index(["variant", "feature"])
    std, mean = by["std"], by["mean"]
    out = [
        _sanity("standardized inputs have mean 0 and std 1",
                float(max(mean["standardized"].abs().max(), (std["standardized"] - 1).abs().max())),
                "largest |mean| or |std - 1| over the features"),
        _sanity(f"scaled inputs are the raw ones times {spec.input_scale:g}",
                _relative(std["scaled"] / std["raw"], spec.input_scale),
                "largest relative gap of a feature's std ratio"),
    ]
    r = runs.set_index(["variant", "activation", "init", "seed"]).preact_std_1
    out.append(_sanity(
        f"layer-1 pre-activations on scaled inputs are {spec.input_scale:g} times those on raw "
        "ones (same weights, zero biases)",
        _relative((r["scaled"] / r["raw"]).dropna(), spec.input_scale),
        "largest relative gap over the models"))
    big, small = std_settings(layers)
    if big is not None and big != small:
        first = layers[layers.layer == 1].set_index(["setting", "width", "activation", "seed"])
        ratio = (first.loc[small].preact_std / first.loc[big].preact_std).dropna()
        target = _std_of(layers, small) / _std_of(layers, big)
        out.append(_sanity(f"{small} weights are {big} weights times {target:g} (the same "
                           "standard normals per seed)", _relative(ratio, target),
                           "largest relative gap of the layer-1 pre-activation std ratio"))
    pooled = hists.groupby(["activation", "setting", "layer"])
    total = pooled["count"].sum() + pooled["zero"].first()
    expected = pooled[["units", "points", "seeds"]].first().prod(axis=1)
    gap = float((total - expected).abs().max() / expected.min()) if len(total) else np.nan
    out.append(_sanity("every histogram panel counts units x points x seeds outputs", gap,
                       "largest relative gap of a panel's count"))
    return out


def _std_of(layers, setting: str) -> float:
    return float(layers.loc[layers.setting == setting, "init_scale"].iloc[0])
