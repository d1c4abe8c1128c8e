"""The scaling study's claims, one function each, and its sanity checks.

Every check is over seeds, with the engine's 95% interval. Pairing: the initializations of
one activation draw the same standard normals per seed (``model.init_params``: random_normal
at std 0.01 is exactly 0.01 times the std-1 weights, glorot_normal the same normals scaled
by its own std), and the three versions of the inputs share each seed's initial weights and
batch order; so comparisons between settings are paired by seed. A training run that
diverged scores as a constant guess of the larger test class (it predicts nothing). The
input-scaling claims compare only networks that learn on the raw inputs, chosen by their
training accuracy.
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
    mean_check,
    number,
    paired_check,
)
from trainability.data import load_dataset
from trainability.order import activation_order, init_order
from trainability.studies.scaling.spec import PREFIX

SATURATES = 0.10  # "a large share saturates": at least 10% of the outputs
MORE_SATURATED = 0.05  # and at least 5 points more than under a matched scaled initializer
COLLAPSE = -2.0  # "the signal dies out": >= 2 orders of magnitude lost from layer 1
KEEPS = 0.5  # "keeps the scale": within half an order of magnitude (a factor 3.2)
FLOOR = -16.0  # a layer with no signal left counts as 16 orders lost (float64's digits)
LEARNS = 0.05  # a network that learns on the raw inputs: training accuracy >= 0.05 above
# a constant guess; one that does not has nothing for the scaled inputs to take away
HURTS = 0.05  # "trains worse": at least 0.05 lower test accuracy
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
    """Per seed: log10(signal of layer ``last`` / signal of layer 1), no lower than FLOOR
    (a layer with no signal at all is -inf: counted as FLOOR, not dropped)."""
    rows = _cell(layers, activation, setting).pivot(index="seed", columns="layer",
                                                     values="signal")
    if not {1, last} <= set(rows.columns):
        return pd.Series(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.log10(rows[last]) - np.log10(rows[1])
    return change.clip(lower=FLOOR)


def chance_level(spec, split: str = "test") -> float:
    """The accuracy of a constant guess of the larger class of a split (``train``, ``test``)."""
    share = float(np.mean(getattr(load_dataset(spec.dataset), f"y_{split}")))
    return max(share, 1.0 - share)


def final_acc(runs, variant: str, activation: str, init: str, chance: float,
              column: str = "test_acc") -> pd.Series:
    """Per seed: final test (or ``column``) accuracy; a diverged model scores ``chance``."""
    rows = runs[(runs.variant == variant) & (runs.activation == activation)
                & (runs["init"] == init)].set_index("seed")
    return rows[column].where(rows.status == "ok", chance)


def _summary(values: pd.Series, digits: int = 3) -> str:
    v = values.dropna()
    return f"{v.mean():.{digits}f} over {len(v)} seeds" if len(v) else "no value"


# ---------------------------------------------------------------- at initialization


def large_std_saturates(layers, depth: int) -> Claim:
    big, _ = std_settings(layers)
    claim = Claim(
        "", "large-std-saturates",
        f"With large initial weights (random_normal {big or 'std 1'}), sigmoid and tanh units "
        "saturate: a large share of their outputs sits where the derivative is nearly zero.",
        "lists weight initialization among the broad causes of failed training; its scaling "
        "notebook draws each layer's outputs at initialization for std 1 and std 0.01.",
        f"per saturating activation at {big or 'std 1'}, in hidden layers 1-{depth} at "
        f"initialization: the share of outputs whose derivative is below 10% of its peak "
        f"(mean over the layers, per seed) is at least {SATURATES:.0%}; and, for each matched "
        f"variance-scaled initializer present, it exceeds that initializer's share, paired by "
        f"seed, by at least {MORE_SATURATED}.",
        note="no sigmoid or tanh network with a random_normal std",
    )
    if big is None:
        return claim
    for act in activation_order(layers.activation):
        if not saturating(act) or _cell(layers, act, big).empty:
            continue
        share = saturation(layers, act, big, depth)
        claim.checks.append(mean_check(f"{act}/{big}", share.to_numpy(), SATURATES, AT_LEAST,
                                       "share of outputs saturated", detail=_summary(share)))
        for init in matched(layers, act):
            other = saturation(layers, act, init, depth)
            claim.checks.append(paired_check(
                f"{act}: {big} - {init}", share, other, MORE_SATURATED, AT_LEAST,
                "difference in share saturated",
                detail=f"{big} {_summary(share)}; {init} {_summary(other)}"))
    return claim


def small_std_vanishes(layers, depth: int) -> Claim:
    _, small = std_settings(layers)
    claim = Claim(
        "", "small-std-vanishes",
        f"With tiny initial weights (random_normal {small or 'std 0.01'}), the signal dies out "
        "layer by layer: each layer's outputs vary less from one data point to the next, so "
        "the last layer sees almost nothing of the input.",
        "asks that a workable scale hold for the inputs of every layer, not only for the "
        "network's own input.",
        f"per activation at {small or 'std 0.01'}: log10(signal of layer {depth} / signal of "
        f"layer 1), per seed, is at most {COLLAPSE:g} ({-COLLAPSE:g} orders of magnitude "
        f"lost; a layer with no signal left counts as {-FLOOR:g} orders).",
        note="no random_normal std in the settings",
    )
    if small is None:
        return claim
    for act in activation_order(layers.activation):
        if _cell(layers, act, small).empty:
            continue
        change = signal_change(layers, act, small, depth)
        claim.checks.append(mean_check(f"{act}/{small}", change.to_numpy(), COLLAPSE, AT_MOST,
                                       "log10 signal ratio", detail=_summary(change, 2),
                                       digits=2, signed=True))
    return claim


def scaled_inits_keep(layers, depth: int) -> Claim:
    claim = Claim(
        "", "scaled-inits-keep",
        "An initializer scaled to the layer's fan-in (and fan-out) and matched to the "
        "activation keeps the signal roughly constant from layer to layer: He for ReLU, "
        "Glorot or LeCun for tanh, Glorot for sigmoid.",
        "points to initializing the weights so that every layer's inputs keep a workable "
        "scale.",
        f"per activation and matched initializer present: |log10(signal of layer {depth} / "
        f"signal of layer 1)|, per seed, is at most {KEEPS:g} on average (within a factor "
        f"{10 ** KEEPS:.1f}).",
        note="no activation with a matched initializer",
    )
    for act in activation_order(layers.activation):
        for init in matched(layers, act):
            change = signal_change(layers, act, init, depth)
            claim.checks.append(mean_check(
                f"{act}/{init}", change.abs().to_numpy(), KEEPS, AT_MOST,
                "mean |log10 signal ratio|", detail=f"log10 ratio {_summary(change, 2)}",
                digits=2))
    return claim


# ---------------------------------------------------------------- input scaling


def learners(runs, train_chance: float) -> tuple[list, dict]:
    """``(learn, idle)``: the activation x initializer pairs whose mean final *training*
    accuracy on the raw inputs is at least LEARNS above a constant guess of the training
    set, and the others with that accuracy. Chosen on the training set, so the test
    accuracies the claims compare are not used to choose which to compare."""
    learn, idle = [], {}
    for a in activation_order(runs.activation):
        for i in init_order(runs["init"]):
            if not ((runs.activation == a) & (runs["init"] == i)).any():
                continue
            acc = final_acc(runs, "raw", a, i, train_chance, "train_acc").mean()
            if acc >= train_chance + LEARNS:
                learn.append((a, i))
            else:
                idle[f"{a}/{i}"] = float(acc)
    return learn, idle


def _variant_check(runs, chance, act, init, variant, threshold, side):
    ours, raw = (final_acc(runs, v, act, init, chance) for v in (variant, "raw"))
    if ours.empty or raw.empty:
        return None
    return paired_check(f"{act}/{init}", ours, raw, threshold, side,
                        f"{variant} minus raw test accuracy",
                        detail=f"{variant} {_summary(ours)}; raw {_summary(raw)}")


def _learners_rule(chances) -> str:
    train, test = chances
    return (f"per activation x initializer that learns on the raw features (mean final "
            f"training accuracy at least {LEARNS} above a constant guess, {train:.3f}; a "
            f"network that learns nothing there has nothing to lose or regain)")


def _variant_claim(claim: Claim, runs, chances, variant, threshold, side) -> Claim:
    learn, _ = learners(runs, chances[0])
    for act, init in learn:
        check = _variant_check(runs, chances[1], act, init, variant, threshold, side)
        if check is not None:
            claim.checks.append(check)
    return claim


def scaled_inputs_hurt(runs, input_scale: float, chances: tuple[float, float]) -> Claim:
    """``chances``: a constant guess's accuracy on the training and the test set."""
    claim = Claim(
        "", "scaled-inputs-hurt",
        f"The scale of the inputs matters: multiplying the raw features by {input_scale:g} "
        "makes the same network train worse.",
        "says networks are sensitive to the scale of their layer inputs and counts input "
        "scaling among the broad causes of failed training.",
        f"{_learners_rule(chances)}: the final test accuracy on the scaled features minus "
        f"that on the raw features, paired by seed, is at most -{HURTS} (a diverged model "
        f"scores {chances[1]:.3f}, a constant guess).",
        note="no network that learns on the raw features was also trained on the scaled ones",
    )
    return _variant_claim(claim, runs, chances, "scaled", -HURTS, AT_MOST)


def standardizing_restores(runs, chances: tuple[float, float]) -> Claim:
    claim = Claim(
        "", "standardizing-restores",
        "Standardizing the scaled inputs (each feature to mean 0 and std 1) removes the "
        "damage: the network trains at least as well as on the raw features.",
        "treats well-scaled inputs as a precondition for training.",
        f"{_learners_rule(chances)}: the final test accuracy on the standardized features "
        f"minus that on the raw features, paired by seed, is at least -{RESTORES} (a "
        f"diverged model scores {chances[1]:.3f}, a constant guess).",
        note="no network that learns on the raw features was also trained on the "
        "standardized ones",
    )
    return _variant_claim(claim, runs, chances, "standardized", -RESTORES, AT_LEAST)


def evaluate(spec, tables) -> list[Claim]:
    layers, runs = tables["layers"], tables["runs"]
    chances = (chance_level(spec, "train"), chance_level(spec, "test"))
    return number([
        large_std_saturates(layers, spec.depth), small_std_vanishes(layers, spec.depth),
        scaled_inits_keep(layers, spec.depth),
        scaled_inputs_hurt(runs, spec.input_scale, chances),
        standardizing_restores(runs, chances),
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
        first = layers[layers.layer == 1].set_index(["setting", "activation", "seed"])
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
