"""The gradient study's report section: the numbers and tables its template words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import Claim, Sanity
from trainability.data import load_dataset
from trainability.markdown import caption, figure, table
from trainability.order import activation_order, init_order
from trainability.scoring import Guess, per_seed, summary
from trainability.studies.gradients import claims as g_claims
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


def ratio_table(cells: pd.DataFrame, moment: str) -> str:
    """Rows activation/init, columns depths: log10 ratio, mean ± sd over seeds."""
    s = cells.xs(moment, level="moment")
    depths = sorted(int(d) for d in s.index.get_level_values("depth").unique())
    rows = []
    for act in activation_order(s.index.get_level_values("activation")):
        for init in init_order(s.index.get_level_values("init")):
            if (act, init) in s.index.droplevel("depth"):
                rows.append([f"{act}/{init}"] + [
                    fmt(s.loc[(act, init, d)]) if (act, init, d) in s.index else "not run"
                    for d in depths])
    return table(rows, ["activation/init", *[f"depth {d}" for d in depths]])


def _running_cells(spec, ratios_summary: pd.DataFrame):
    """``(activation, at init, after training)`` rows of ``summarize`` for the running
    example of each activation trained."""
    for act in activation_order(spec.activations):
        keys = [(act, spec.running_init, spec.depth, m) for m in ("init", "final")]
        if all(k in ratios_summary.index for k in keys):
            yield act, ratios_summary.loc[keys[0]], ratios_summary.loc[keys[1]]


def running(spec, ratios_summary: pd.DataFrame, models: pd.DataFrame,
            guess: Guess) -> list[dict]:
    """The running example per activation: its log10 ratio at initialization and after
    training (mean over the seeds where it is finite), their regimes, its final test
    accuracy over every seed (a diverged one scored as ``guess``, the test split's
    constant guess)."""
    out = []
    for act, start, end in _running_cells(spec, ratios_summary):
        rows = models[(models.activation == act) & (models["init"] == spec.running_init)
                      & (models.depth == spec.depth)]
        acc = per_seed(rows, "test_acc", guess)
        out.append({
            "activation": act, "start": fmt(start), "end": fmt(end),
            "start_mean": start["mean"], "end_mean": end["mean"],
            "start_regime": stats.regime(start["mean"]), "end_regime": stats.regime(end["mean"]),
            "test_acc": summary(acc, int((rows.status != "ok").sum())),
        })
    return out


def running_table(rows: list[dict]) -> str:
    return table([[r["activation"], f"{r['start']} ({r['start_regime']})",
                   f"{r['end']} ({r['end_regime']})", r["test_acc"]] for r in rows],
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
                n = int(stats.no_gradient(row.to_numpy()).sum())
                if n:
                    out.append(f"{act}/{init}, depth {depth}: {n} of {len(row)} seeds")
    return out


def families(inits) -> list[list[str]]:
    """Groups of initializers that scale the same random draws of a seed."""
    return [f for f in ([i for i in inits if i in fam] for fam in (NORMAL_FAMILY, UNIFORM_FAMILY))
            if len(f) > 1]


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    ratios, epochs = tables["ratios"], tables["epochs"]
    cells = summarize(ratios)
    rows = running(spec, cells, tables["models"], Guess.of(load_dataset(spec.dataset).y_test))
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "sanity": sanity,
        "figures": {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()},
        "n_models": int((ratios.moment == "init").sum()),
        "running": rows,
        "running_table": running_table(rows),
        "ratio_init": ratio_table(cells, "init"),
        "ratio_final": ratio_table(cells, "final"),
        "change_table": change_table(ratios),
        "steps": step_sizes(spec, epochs),
        "no_gradient": no_gradient(spec, ratios),
        "families": families(spec.inits),
        "vanish": stats.VANISH,
        "explode": stats.EXPLODE,
        "most": g_claims.MOST,
    }


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: the running example's mean log10 ratio at
    initialization and after training (over the seeds where it is finite; the claims'
    shares are in the claims' metrics)."""
    return {"running_example": {
        act: {"log10_ratio_init": _round(start["mean"]), "log10_ratio_final": _round(end["mean"])}
        for act, start, end in _running_cells(spec, summarize(tables["ratios"]))}}


def _round(x):
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
