"""The gradient study's report section: the numbers and tables its template words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import Claim, Sanity
from trainability.markdown import caption, figure, num, table
from trainability.order import activation_order, init_order
from trainability.studies.gradients import stats
from trainability.studies.gradients.claims import at_init
from trainability.studies.gradients.tables import summarize

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
NORMAL_FAMILY = ("random_normal", "glorot_normal", "he_normal", "lecun_normal")
UNIFORM_FAMILY = ("random_uniform", "glorot_uniform", "he_uniform", "lecun_uniform")


def fmt(cell) -> str:
    """``-2.47 ± 0.31`` orders of magnitude over the finite seeds, and the other seeds."""
    n_finite, n = int(cell.n_finite), int(cell.n)
    parts = []
    if n_finite:
        parts.append(f"{cell['mean']:+.2f}" + (f" ± {cell.sd:.2f}" if n_finite > 1 else ""))
    for count, text in ((cell.n_zero, "no gradient at layer 1"),
                        (cell.n_none, "no gradient at all"), (cell.n_inf, "+∞"),
                        (cell.n_diverged, "diverged")):
        if int(count):
            parts.append(f"{int(count)}× {text}")
    text = "; ".join(parts) or "no models"
    return text + (f" (n = {n_finite} of {n})" if 0 < n_finite < n else "")


def ratio_table(summary: pd.DataFrame, moment: str) -> str:
    """Rows activation/init, columns depths: log10 ratio, mean ± sd over seeds."""
    s = summary.xs(moment, level="moment")
    depths = sorted(int(d) for d in s.index.get_level_values("depth").unique())
    rows = []
    for act in activation_order(s.index.get_level_values("activation")):
        for init in init_order(s.index.get_level_values("init")):
            if (act, init) in s.index.droplevel("depth"):
                rows.append([f"{act}/{init}"] + [
                    fmt(s.loc[(act, init, d)]) if (act, init, d) in s.index else "not run"
                    for d in depths])
    return table(rows, ["activation/init", *[f"depth {d}" for d in depths]])


def running(spec, summary: pd.DataFrame) -> list[dict]:
    """The running example per activation: its log10 ratio at initialization and after
    training (mean over the seeds where it is finite), their regimes, its test accuracy."""
    out = []
    for act in activation_order(spec.activations):
        keys = {m: (act, spec.running_init, spec.depth, m) for m in ("init", "final")}
        if not all(k in summary.index for k in keys.values()):
            continue
        start, end = (summary.loc[keys[m]] for m in ("init", "final"))
        out.append({
            "activation": act, "start": fmt(start), "end": fmt(end),
            "start_mean": start["mean"], "end_mean": end["mean"],
            "start_regime": stats.regime(start["mean"]), "end_regime": stats.regime(end["mean"]),
            "test_acc": end.test_acc,
        })
    return out


def running_table(rows: list[dict]) -> str:
    return table([[r["activation"], f"{r['start']} ({r['start_regime']})",
                   f"{r['end']} ({r['end_regime']})", num(r["test_acc"])] for r in rows],
                 ["activation", "log10 ratio at initialization", "log10 ratio after training",
                  "final test accuracy (mean)"])


def change_table(ratios: pd.DataFrame) -> str:
    """Rows activation, columns depths: log10 of final over initial gradient norm, of layer
    1 and of the classifier (mean over the non-zero initializers' seeds where both are
    finite)."""
    r = ratios[ratios["init"] != "zeros"]
    if r.empty:
        return "(no non-zero initializer)"
    wide = r.pivot_table(index=["activation", "init", "depth", "seed"], columns="moment",
                         values=["grad_norm_first", "grad_norm_classifier"], aggfunc="first")
    with np.errstate(all="ignore"):
        change = pd.DataFrame({
            col: np.log10(wide[col]["final"]) - np.log10(wide[col]["init"])
            for col in ("grad_norm_first", "grad_norm_classifier")})
    change = change[np.isfinite(change).all(axis=1)].groupby(["activation", "depth"]).mean()
    depths = sorted(int(d) for d in ratios.depth.unique())
    rows = [[act] + [f"layer 1 {change.loc[(act, d)].grad_norm_first:+.1f}, classifier "
                     f"{change.loc[(act, d)].grad_norm_classifier:+.1f}"
                     if (act, d) in change.index else "n/a" for d in depths]
            for act in activation_order(r.activation)]
    return table(rows, ["activation", *[f"depth {d}" for d in depths]])


def step_sizes(spec, epochs: pd.DataFrame) -> dict | None:
    """The running example's gradient entries at initialization (sd, geometric mean over
    seeds) of layer 1 and of the classifier, beside the size below which eps dominates."""
    line = spec.eps_threshold()
    if line is None or epochs.empty:
        return None
    at0 = epochs[(epochs.epoch == 0) & (epochs["init"] == spec.running_init)]
    rows = []
    for act in activation_order(at0.activation):
        cell = at0[at0.activation == act]
        sizes = []
        for layer in (1, spec.depth + 1):
            sd = cell[cell.layer == layer].grad_std.to_numpy(float)
            sd = sd[np.isfinite(sd) & (sd > 0)]
            sizes.append(f"{10 ** np.log10(sd).mean():.1e}" if len(sd) else "0")
        rows.append([act, *sizes])
    return {"threshold": line[0], "label": line[1],
            "table": table(rows, ["activation", "layer 1: gradient sd at initialization",
                                  "classifier: gradient sd at initialization"])}


def no_gradient(spec, ratios: pd.DataFrame) -> list[str]:
    """The relu and tanh cells (non-zero inits) where some seed gets no gradient at layer 1
    at initialization: ``relu/he_normal, depth 16: 1 of 5 seeds``."""
    out = []
    for act in ("relu", "tanh"):
        for init in [i for i in init_order(ratios["init"]) if i != "zeros"]:
            if act not in set(ratios.activation):
                continue
            wide = at_init(ratios, act, init)
            for depth, row in wide.iterrows():
                n = int((row.to_numpy() <= stats.FLOOR).sum())
                if n:
                    out.append(f"{act}/{init}, depth {depth}: {n} of {len(row)} seeds")
    return out


def families(inits) -> list[list[str]]:
    """Groups of initializers that scale the same random draws of a seed."""
    return [f for f in ([i for i in inits if i in fam] for fam in (NORMAL_FAMILY, UNIFORM_FAMILY))
            if len(f) > 1]


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    ratios, epochs = tables["ratios"], tables["epochs"]
    summary = summarize(ratios)
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "claim_list": claims,
        "sanity": sanity,
        "figures": {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()},
        "n_models": int((ratios.moment == "init").sum()),
        "running": running(spec, summary),
        "running_table": running_table(running(spec, summary)),
        "ratio_init": ratio_table(summary, "init"),
        "ratio_final": ratio_table(summary, "final"),
        "change_table": change_table(ratios),
        "steps": step_sizes(spec, epochs),
        "no_gradient": no_gradient(spec, ratios),
        "families": families(spec.inits),
        "floor": stats.FLOOR,
        "vanish": stats.VANISH,
        "explode": stats.EXPLODE,
    }


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: the running example's mean log10 ratio at
    initialization and after training, and the sigmoid's mean per-seed slope per init."""
    ratios = tables["ratios"]
    summary = summarize(ratios)
    out = {"running_example": {r["activation"]: {"log10_ratio_init": _round(r["start_mean"]),
                                                 "log10_ratio_final": _round(r["end_mean"])}
                               for r in running(spec, summary)}}
    if "sigmoid" in set(ratios.activation) and len(spec.depths) > 1:
        slopes = {}
        for init in [i for i in init_order(ratios["init"]) if i != "zeros"]:
            wide = at_init(ratios, "sigmoid", init)
            slopes[init] = _round(np.mean([stats.slope(wide.index, wide[s])
                                           for s in wide.columns]))
        out["sigmoid_orders_per_layer"] = slopes
    return out


def _round(x):
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
