"""The gradient study's claims, one function each, and the trainer's sanity checks.

Every check is over seeds: a seed's number is the log10 ratio of layer 1's gradient norm to
the classifier's at initialization, as ``stats.counted`` counts it (a seed where no
gradient reaches layer 1 is -16 orders of magnitude, not left out). The depths of one seed
share its random stream, so a depth trend is measured per seed (the slope of its ratios
against depth) and then averaged over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.claims import AT_MOST, Claim, Sanity, mean_check, number
from trainability.order import init_order
from trainability.studies.gradients import stats
from trainability.studies.gradients.spec import PREFIX

SLOPE = -0.1  # "the gap widens with depth": at most -0.1 orders of magnitude per layer
HOLD = 1.0  # "within one order of magnitude": |log10 ratio| at most 1
RATIO = "log10(‖g1‖/‖gC‖)"


def at_init(ratios: pd.DataFrame, activation: str, init: str) -> pd.DataFrame:
    """Depth (rows) x seed (columns) of the counted log10 ratios at initialization."""
    rows = ratios[(ratios.activation == activation) & (ratios["init"] == init)
                  & (ratios.moment == "init")]
    wide = rows.pivot(index="depth", columns="seed", values="log10_ratio")
    return pd.DataFrame(stats.counted(wide.to_numpy()), index=wide.index, columns=wide.columns)


def _detail(raw: pd.DataFrame) -> str:
    """What stands behind counted values: seeds, and how many networks (seed x depth) got
    no gradient at layer 1."""
    values = raw.log10_ratio.to_numpy(float)
    none = int((np.isnan(values) | (values == -np.inf)).sum())
    text = f"{raw.seed.nunique()} seeds"
    what = "network" if raw.depth.nunique() > 1 else "seed"
    return text + (f", {none} {what}{'s' if none > 1 else ''} with no gradient at layer 1 "
                   f"(log10 ratio counted as {stats.FLOOR:g})" if none else "")


def _nonzero(ratios: pd.DataFrame) -> list[str]:
    return [i for i in init_order(ratios["init"]) if i != "zeros"]


def sigmoid_vanishes(spec, ratios: pd.DataFrame) -> Claim:
    d = spec.depth
    claim = Claim(
        "", "sigmoid-vanishes",
        "Backpropagation through sigmoid layers shrinks the gradient layer by layer: at "
        "initialization the first layer of a sigmoid network gets at most a tenth of the "
        "classifier's gradient, and the gap widens with depth.",
        "it names gradients that become zero as the first of the problems that make "
        "training difficult; its sigmoid network is the one that barely learns.",
        f"two checks per non-zero initializer of the sigmoid network, at initialization: "
        f"(a) at the running depth {d}, the mean over seeds of {RATIO} is at most "
        f"{stats.VANISH:g}; (b) the mean over seeds of each seed's least-squares slope of "
        f"{RATIO} against depth is at most {SLOPE:g} orders of magnitude per hidden layer.",
    )
    if "sigmoid" not in set(ratios.activation):
        claim.note = "no sigmoid network trained"
        return claim
    for init in _nonzero(ratios):
        wide = at_init(ratios, "sigmoid", init)
        raw = ratios[(ratios.activation == "sigmoid") & (ratios["init"] == init)
                     & (ratios.moment == "init")]
        if d in wide.index:
            claim.checks.append(mean_check(
                f"sigmoid/{init}, depth {d}", wide.loc[d].to_numpy(), stats.VANISH, AT_MOST,
                f"mean {RATIO}", detail=_detail(raw[raw.depth == d]),
                digits=2, signed=True))
        if len(wide.index) >= 2:
            slopes = [stats.slope(wide.index, wide[s]) for s in wide.columns]
            claim.checks.append(mean_check(
                f"sigmoid/{init}, slope", slopes, SLOPE, AT_MOST,
                "mean slope (orders of magnitude per hidden layer)",
                detail=f"depths {', '.join(map(str, wide.index))}; "
                + _detail(raw), digits=3, signed=True))
    claim.note = "no sigmoid network with a non-zero initializer"
    return claim


def relu_tanh_hold(spec, ratios: pd.DataFrame) -> Claim:
    claim = Claim(
        "", "relu-tanh-hold",
        "With ReLU or tanh hidden layers, the gradient reaching layer 1 at initialization "
        "stays within one order of magnitude of the classifier's, at every depth.",
        "ReLU and tanh are the activations that learn in its running example.",
        f"one check per activation (relu, tanh) x non-zero initializer x depth: the mean "
        f"over seeds of |{RATIO}| at initialization is at most {HOLD:g}. A seed where no "
        f"gradient reaches layer 1 (a layer of ReLUs dead on every training point blocks "
        f"every path) counts as {abs(stats.FLOOR):g} orders of magnitude: a failure, not "
        "left out.",
    )
    for act in ("relu", "tanh"):
        if act not in set(ratios.activation):
            continue
        for init in _nonzero(ratios):
            wide = at_init(ratios, act, init)
            raw = ratios[(ratios.activation == act) & (ratios["init"] == init)
                         & (ratios.moment == "init")]
            for depth in wide.index:
                claim.checks.append(mean_check(
                    f"{act}/{init}, depth {depth}", np.abs(wide.loc[depth].to_numpy()), HOLD,
                    AT_MOST, f"mean |{RATIO}|",
                    detail=_detail(raw[raw.depth == depth]), digits=2))
    claim.note = "no relu or tanh network with a non-zero initializer"
    return claim


def evaluate(spec, tables) -> list[Claim]:
    ratios = tables["ratios"]
    return number([sigmoid_vanishes(spec, ratios), relu_tanh_hold(spec, ratios)], PREFIX)


# ---------------------------------------------------------------- sanity checks


def symmetric_layers(spec, depth: int) -> list[int]:
    """The hidden layers whose units stay identical under zero initialization: every unit
    of a layer sends the same weights up (all zero at first), so they get the same
    gradient, except in the last hidden layer when the classifier's weights start
    different (``classifier_init`` other than zeros)."""
    last = depth if spec.classifier_init in (None, "zeros") else depth - 1
    return list(range(1, last + 1))


def sanity(spec, tables) -> list[Sanity]:
    ratios, layers = tables["ratios"], tables["layers"]
    out = []
    for act in spec.activations:
        out += _zeros_sanity(spec, act, ratios, layers)
    out += [_recorded_sanity(spec, tables)]
    return [s for s in out if s is not None]


def _zeros_sanity(spec, act, ratios, layers) -> list[Sanity]:
    """Zero initialization: layer 1 gets no gradient at initialization when a zero weight
    matrix lies above it (depth >= 2), and the units of a layer stay identical."""
    if "zeros" not in spec.inits:
        return []
    out = []
    first = ratios[(ratios.activation == act) & (ratios["init"] == "zeros")
                   & (ratios.moment == "init") & (ratios.depth >= 2)].grad_norm_first
    if len(first):
        largest = float(first.max())
        out.append(Sanity(
            f"{act}/zeros: no gradient at layer 1 at initialization (depth >= 2)", largest,
            largest == 0.0, f"largest layer-1 gradient norm over {len(first)} models: "
            f"{largest:.1e}"))
    rows = layers[(layers.activation == act) & (layers["init"] == "zeros")]
    keep = np.array([layer in symmetric_layers(spec, depth)
                     for layer, depth in zip(rows.layer, rows.depth, strict=True)], dtype=bool)
    spread = rows[keep].unit_spread
    if len(spread):
        worst = float(spread.max())
        out.append(Sanity(
            f"{act}/zeros: the units of a layer stay identical", worst,
            bool(np.isfinite(worst) and worst <= stats.SYMMETRY_TOL),
            f"largest spread between two units' gradients, relative to the layer's largest "
            f"entry, at initialization and after training: {worst:.1e} (at most "
            f"{stats.SYMMETRY_TOL:g})"))
    return out


def _recorded_sanity(spec, tables) -> Sanity | None:
    """The gradients recomputed from the stored parameters equal those the trainer
    recorded for the running example, at initialization and after the last epoch."""
    epochs, layers = tables["epochs"], tables["layers"]
    if epochs.empty:
        return None
    last = int(spec.train["epochs"])
    recorded = epochs[epochs.epoch.isin([0, last])].assign(
        moment=lambda f: np.where(f.epoch == 0, "init", "final"))
    keys = ["activation", "init", "depth", "seed", "moment", "layer"]
    both = recorded.merge(layers, on=keys, suffixes=("_recorded", ""))
    finite = both[np.isfinite(both.grad_norm_recorded) & np.isfinite(both.grad_norm)]
    with np.errstate(all="ignore"):
        rel = (np.abs(finite.grad_norm - finite.grad_norm_recorded)
               / np.maximum(np.abs(finite.grad_norm_recorded), 1e-300))
    worst = float(rel.max()) if len(rel) else float("nan")
    return Sanity(
        "recomputed gradients equal the trainer's records", worst,
        bool(len(rel)) and worst <= 1e-9,
        f"largest relative difference of a gradient norm over {len(finite)} weight "
        f"matrices of the running example: {worst:.1e} (at most 1e-9)")
