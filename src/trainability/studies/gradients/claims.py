"""The gradient study's claims, one function each, and the trainer's sanity checks.

A seed's number is the log10 ratio of layer 1's gradient norm to the classifier's at
initialization. Each check is the share of seeds on the claimed side of a threshold, with
its Wilson interval, claimed above one half (``MOST``: the claims are about the networks
of a setting, so most of them). A seed where no gradient reaches layer 1 is past every
threshold towards vanishing (it has vanished completely); no value stands in for it and it
is not left out. A seed whose training diverged counts against the claim in every check:
the checks read the gradient before any update, but a divergence is never evidence for a
claim. The depths of one seed share its random stream, so a depth trend is a per-seed
slope (``stats.depth_slope``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.claims import AT_LEAST, Check, Claim, Sanity, number, rate_check
from trainability.order import init_order
from trainability.studies.gradients import stats
from trainability.studies.gradients.spec import PREFIX

MOST = 0.5  # a check passes when the share's whole interval lies above one half
SLOPE = -0.1  # "the gap widens with depth": at most -0.1 orders of magnitude per layer
HOLD = 1.0  # "within one order of magnitude": |log10 ratio| at most 1
RATIO = "log10(‖g1‖/‖gC‖)"
DIVERGED = ("A seed whose training diverged counts against the claim in every check (the "
            "checks read the gradient before any update, but a divergence is never "
            "evidence for a claim); no seed is left out.")


def at_init(ratios: pd.DataFrame, activation: str, init: str,
            column: str = "log10_ratio") -> pd.DataFrame:
    """Depth (rows) x seed (columns) of ``column`` at initialization: the log10 ratios, or
    ``status``."""
    rows = ratios[(ratios.activation == activation) & (ratios["init"] == init)
                  & (ratios.moment == "init")]
    return rows.pivot(index="depth", columns="seed", values=column)


def _rate(what: str, ok, diverged, measure: str, values: str) -> Check:
    """The share of seeds with ``ok`` and no divergence, against ``MOST``."""
    ok, diverged = np.asarray(ok, bool), np.asarray(diverged, bool)
    k, n = int((ok & ~diverged).sum()), len(ok)
    detail = f"{k} of {n} seeds; {values}"
    if diverged.any():
        detail += f"; {int(diverged.sum())} diverged in training, counted against"
    return rate_check(what, k, n, MOST, AT_LEAST, measure, detail=detail)


def _median(values, unit: str = "") -> str:
    """``median -2.95``: the median over seeds, where no gradient (``-inf``) lies below
    every value and so may be the median itself."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return "no value"
    m = float(np.median(v))
    return f"median {m:+.2f}{unit}" if np.isfinite(m) else f"median {m:+}"


def _values(log_ratio) -> str:
    """The per-seed log10 ratios behind a share, as the detail prints them."""
    v = np.asarray(log_ratio, dtype=float)
    none = stats.no_gradient(v)
    text = f"{RATIO} {_median(np.where(none, -np.inf, v))}"
    if none.any():
        text += f", {int(none.sum())} with no gradient at layer 1"
    if (v == np.inf).any():
        text += f", {int((v == np.inf).sum())} with no gradient at the classifier"
    return text


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
        f"two checks per non-zero initializer of the sigmoid network, at initialization, "
        f"each the share of seeds that show it (Wilson interval), claimed above "
        f"{MOST:g}: (a) at the running depth {d}, {RATIO} is at most {stats.VANISH:g} (a "
        f"seed where no gradient reaches layer 1 has vanished); (b) the seed's slope of "
        f"{RATIO} against depth (Theil-Sen: the median of the slopes between every two "
        f"depths; no gradient at a depth counts as below any ratio) is at most {SLOPE:g} "
        f"orders of magnitude per hidden layer. {DIVERGED}",
    )
    if "sigmoid" not in set(ratios.activation):
        claim.note = "no sigmoid network trained"
        return claim
    for init in _nonzero(ratios):
        wide = at_init(ratios, "sigmoid", init)
        diverged = at_init(ratios, "sigmoid", init, "status") != "ok"
        if d in wide.index:
            claim.checks.append(_rate(
                f"sigmoid/{init}, depth {d}", stats.vanished(wide.loc[d]), diverged.loc[d],
                f"share of seeds with {RATIO} <= {stats.VANISH:g}", _values(wide.loc[d])))
        if len(wide.index) >= 2:
            slopes = np.array([stats.depth_slope(wide.index, wide[s]) for s in wide.columns])
            with np.errstate(invalid="ignore"):
                widens = slopes <= SLOPE
            text = f"slope {_median(slopes, ' orders per layer')}"
            if np.isnan(slopes).any():
                text += f", {int(np.isnan(slopes).sum())} seeds without a slope"
            claim.checks.append(_rate(
                f"sigmoid/{init}, slope", widens, diverged.any(axis=0).to_numpy(),
                f"share of seeds with a slope <= {SLOPE:g}",
                f"depths {', '.join(map(str, wide.index))}; {text}"))
    claim.note = "no sigmoid network with a non-zero initializer"
    return claim


def relu_tanh_hold(spec, ratios: pd.DataFrame) -> Claim:
    claim = Claim(
        "", "relu-tanh-hold",
        "With ReLU or tanh hidden layers, the gradient reaching layer 1 at initialization "
        "stays within one order of magnitude of the classifier's, at every depth.",
        "ReLU and tanh are the activations that learn in its running example.",
        f"one check per activation (relu, tanh) x non-zero initializer x depth: the share "
        f"of seeds whose |{RATIO}| at initialization is at most {HOLD:g} (Wilson "
        f"interval), claimed above {MOST:g}. A seed where no gradient reaches layer 1 (a "
        f"layer of ReLUs dead on every training point blocks every path) is outside: it "
        f"has vanished completely. {DIVERGED}",
    )
    for act in ("relu", "tanh"):
        if act not in set(ratios.activation):
            continue
        for init in _nonzero(ratios):
            wide = at_init(ratios, act, init)
            diverged = at_init(ratios, act, init, "status") != "ok"
            for depth in wide.index:
                claim.checks.append(_rate(
                    f"{act}/{init}, depth {depth}", stats.held(wide.loc[depth], HOLD),
                    diverged.loc[depth], f"share of seeds with |{RATIO}| <= {HOLD:g}",
                    _values(wide.loc[depth])))
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
