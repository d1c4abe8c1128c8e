"""The scaling study's report section: the numbers and tables its template words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import Claim, Sanity
from trainability.markdown import caption, figure, num, table
from trainability.order import activation_order, init_order
from trainability.scoring import Guess, Learns, per_seed
from trainability.studies.scaling import claims as scaling_claims
from trainability.studies.scaling.spec import VARIANTS
from trainability.studies.scaling.tables import (
    at_width,
    pooled,
    settings_of,
    share_text,
    stat_text,
)

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent


def mean_sd(values, digits: int = 3) -> str:
    """``0.984 ± 0.002``: mean ± sample sd of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "n/a"
    return f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else "")


def _change_text(change: pd.Series) -> str:
    """Mean ± sd over the seeds with signal left, and how many have none."""
    lost = int(scaling_claims.no_signal(change).sum())
    text = mean_sd(change, 2) if lost < len(change) else "no signal left"
    return text + (f" ({lost} of {len(change)} seeds: no signal left)" if 0 < lost < len(change)
                   else "")


def signal_table(layers: pd.DataFrame, depth: int) -> str:
    """Activation x initialization: log10(signal of layer ``depth`` / layer 1), and of the
    deepest layer, mean ± sd over seeds (``layers``: one width's rows)."""
    n_layers = int(layers.layer.max())
    settings = settings_of(layers)
    rows = []
    for act in activation_order(layers.activation):
        row = [act]
        for setting in settings:
            text = _change_text(scaling_claims.signal_change(layers, act, setting, depth))
            if n_layers > depth:
                deep = scaling_claims.signal_change(layers, act, setting, n_layers)
                text += f"; layer {n_layers}: {_change_text(deep)}"
            row.append(text)
        rows.append(row)
    return table(rows, ["activation", *settings])


def histogram_stats_table(layers: pd.DataFrame, depth: int) -> str:
    """The numbers printed over the histograms: layer mean / std, means over seeds
    (``layers``: the histograms' width's rows)."""
    stats = layers[layers.layer <= depth].groupby(["activation", "setting", "layer"])[
        ["mean", "std", "saturated"]].mean()
    rows = []
    for act in activation_order(layers.activation):
        for setting in settings_of(layers):
            if (act, setting, 1) not in stats.index:
                continue
            cells = [stats.loc[(act, setting, j)] for j in range(1, depth + 1)]
            row = [act, setting] + [f"{stat_text(c['mean'])} / {stat_text(c['std'])}"
                                    for c in cells]
            row.append(share_text(np.mean([c.saturated for c in cells]))
                       if scaling_claims.saturating(act) else "n/a")
            rows.append(row)
    return table(rows, ["activation", "initialization",
                        *[f"layer {j}: mean / std" for j in range(1, depth + 1)],
                        f"saturated, layers 1-{depth}"])


def _scored(rows: pd.DataFrame, column: str, guess: Guess) -> str:
    """Mean ± sd over every seed of ``rows``, a diverged one scored as ``guess``."""
    text = mean_sd(per_seed(rows, column, guess))
    n = int((rows.status != "ok").sum())
    return text + (f" ({n} diverged, scored as a constant guess)" if n else "")


def standardization_table(runs: pd.DataFrame, guess: dict[str, Guess]) -> str:
    """Per network and version of the inputs: how its first layer starts, its losses and
    its final test accuracy (mean ± sd over seeds; a diverged one scored as a constant
    guess of the training or test split)."""
    rows = []
    for act in activation_order(runs.activation):
        for init in init_order(runs["init"]):
            for variant in VARIANTS:
                r = runs[(runs.activation == act) & (runs["init"] == init)
                         & (runs.variant == variant)]
                if r.empty:
                    continue
                rows.append([f"{act}/{init}", variant, stat_text(r.preact_std_1.mean()),
                             share_text(r.saturated_1.mean()), share_text(r.zero_1.mean()),
                             mean_sd(r.train_loss_init),
                             _scored(r, "train_loss", guess["train"]),
                             _scored(r, "test_acc", guess["test"])])
    return table(rows, ["network", "inputs", "layer-1 pre-activation std at init",
                        "layer-1 outputs saturated at init", "layer-1 outputs exactly 0 at init",
                        "training loss at init (nats)", "final training loss (nats)",
                        "final test accuracy"])


def first_layer(runs: pd.DataFrame) -> list[dict]:
    """Per activation: how its first layer and its loss start on each version of the inputs
    (means over seeds and initializers), as printed."""
    out = []
    for act in activation_order(runs.activation):
        g = runs[runs.activation == act].groupby("variant")
        if not set(VARIANTS) <= set(g.groups):
            continue
        out.append({"activation": act, "saturating": scaling_claims.saturating(act),
                    "relu": act == "relu",
                    "preact": {v: stat_text(x) for v, x in g.preact_std_1.mean().items()},
                    "saturated": {v: share_text(x) for v, x in g.saturated_1.mean().items()},
                    "zero": {v: share_text(x) for v, x in g.zero_1.mean().items()},
                    "loss": {v: num(x) for v, x in g.train_loss_init.mean().items()}})
    return out


def feature_std(inputs: pd.DataFrame) -> dict[str, str]:
    """Per version of the inputs, its features' std (a range if they differ)."""
    out = {}
    for variant, g in inputs.groupby("variant"):
        lo, hi = f"{g['std'].min():.3g}", f"{g['std'].max():.3g}"
        out[variant] = lo if lo == hi else f"{lo} to {hi}"
    return out


def checks_by_verdict(claim: Claim, verdict: str) -> list[str]:
    return [c.what for c in claim.checks if c.verdict == verdict]


def figures(spec, rel: str, hists: pd.DataFrame) -> dict[str, str]:
    """Every figure's markdown, its caption from captions/<kind>.rst; the histograms' own
    counts added to theirs."""
    n = pooled(hists)
    counts = (f" Here each panel pools {n['units']} units x {n['points']} training points x "
              f"{n['seeds']} seeds = {n['outputs']:,} outputs.")
    return {name: figure(rel, name, caption(HERE, kind) + (counts if kind == "histograms"
                                                            else ""))
            for name, kind in spec.figures()}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    layers, hists, runs = tables["layers"], tables["histograms"], tables["runs"]
    judged = at_width(layers, spec.width)
    by_key = {c.key: c for c in claims}
    big, small = scaling_claims.std_settings(layers)
    keep = by_key["scaled-inits-keep"]
    learns, guess = Learns.of(spec), scaling_claims.guesses(spec)
    return {
        "spec": spec,
        "claims": by_key,
        "sanity": sanity,
        "figures": figures(spec, rel, hists),
        "settings": settings_of(layers),
        "big": big,
        "small": small,
        "n_layers": int(layers.layer.max()),
        "n_models": len(runs),
        "pooled": pooled(hists),
        "histogram_stats_table": histogram_stats_table(at_width(layers, spec.init_width),
                                                       spec.depth),
        "signal_table": signal_table(judged, spec.depth),
        "sigmoid_keep_fails": any(c.failed for c in keep.checks if c.what.startswith("sigmoid/")),
        "standardization_table": standardization_table(runs, guess),
        "first_layer": first_layer(runs),
        "feature_std": feature_std(tables["inputs"]),
        "epochs": spec.train["epochs"],
        "hurt": checks_by_verdict(by_key["scaled-inputs-hurt"], "passes"),
        "not_hurt": checks_by_verdict(by_key["scaled-inputs-hurt"], "fails"),
        "restored": checks_by_verdict(by_key["standardizing-restores"], "passes"),
        "not_restored": checks_by_verdict(by_key["standardizing-restores"], "fails"),
        "undamaged": [c.what for c in by_key["standardizing-restores"].guards],
        "thresholds": {"hurts": scaling_claims.HURTS, "restores": scaling_claims.RESTORES},
        "idle": scaling_claims.learners(runs, learns, guess["train"])[1],
        "train_chance": guess["train"].accuracy,
        "nothing": learns.nothing(guess["train"].accuracy),
    }


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: the signal kept from layer 1 to the running
    example's depth in its networks (mean over the seeds with signal left), and the mean
    final test accuracy per network and version of inputs (a diverged seed scored as a
    constant guess)."""
    layers, runs = at_width(tables["layers"], spec.width), tables["runs"]
    signal = {}
    for a in activation_order(layers.activation):
        for s in settings_of(layers):
            change = scaling_claims.signal_change(layers, a, s, spec.depth)
            signal[f"{a}/{s}"] = _round(change[np.isfinite(change)].mean())
    test = scaling_claims.guesses(spec)["test"]
    acc = {v: {f"{a}/{i}": _round(scaling_claims.accuracy(runs, v, a, i, test).mean())
               for a, i in scaling_claims.pairs(runs[runs.variant == v])}
           for v in VARIANTS if (runs.variant == v).any()}
    return {"signal_log10_change": signal, "test_acc": acc,
            "diverged": int((runs.status != "ok").sum())}


def _round(x):
    return None if pd.isna(x) else round(float(x), 6)
