"""The grid's report section: the numbers and tables its template words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import AT_LEAST, Claim, Sanity, mean_check
from trainability.markdown import caption, figure, table
from trainability.order import activation_order, init_order
from trainability.studies.grid import claims as grid_claims
from trainability.studies.grid.tables import cells as cell_table

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
WIDTH_CLAIMS = ("relu-tanh-learn", "sigmoid-lags", "zeros-coin-flip", "normal-beats-zeros",
                "scaled-inits", "minor-choices")


def fmt_acc(cell) -> str:
    """``0.984 ± 0.002 (n = 5)``: mean ± sd over the seeds that did not diverge."""
    n_ok, n_div = int(cell.n_ok), int(cell.n_diverged)
    if n_ok == 0:
        return f"all {n_div} diverged" if n_div else "no models"
    text = f"{cell.test_acc:.3f}" + (f" ± {cell.test_acc_sd:.3f}" if n_ok > 1 else "")
    return text + f" (n = {n_ok}" + (f"; {n_div} diverged)" if n_div else ")")


def _num(value, digits: int = 3) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def accuracy_table(cells: pd.DataFrame, width: int) -> str:
    """Activation (rows) x init (columns): mean ± sd of the final test accuracy."""
    at = cells[cells.width == width].set_index(["activation", "init"])
    inits = init_order(at.index.get_level_values("init"))
    rows = [[act] + [fmt_acc(at.loc[(act, i)]) if (act, i) in at.index else "not run"
                     for i in inits]
            for act in activation_order(at.index.get_level_values("activation"))]
    return table(rows, ["activation \\ init", *inits])


def activation_table(cells: pd.DataFrame, init: str, width: int) -> str:
    at = cells[(cells.width == width) & (cells["init"] == init)].set_index("activation")
    rows = [[act, _num(c.train_loss), _num(c.train_acc), fmt_acc(c),
             f"{int(c.n_diverged)} of {int(c.n)}"]
            for act, c in ((a, at.loc[a]) for a in activation_order(at.index))]
    return table(rows, ["activation", "final train loss (nats)", "final train accuracy",
                        "final test accuracy (mean ± sd)", "diverged"])


def verdicts_by_width(spec, runs: pd.DataFrame, base: grid_claims.Baseline) -> str:
    """The width-specific claims judged again at every width."""
    init = spec.lecture_init
    by_width = {w: {c.key: c for c in grid_claims.at_width(runs, w, init, base)}
                for w in spec.widths}
    rows = [[key] + [f"{by_width[w][key].verdict} ({by_width[w][key].counts['passes']}/"
                     f"{len(by_width[w][key].checks)} pass)" if by_width[w][key].checks
                     else by_width[w][key].verdict for w in spec.widths]
            for key in WIDTH_CLAIMS]
    return table(rows, ["claim", *[f"width {w}" for w in spec.widths]])


def diverged(runs: pd.DataFrame) -> dict:
    """The diverged models, a row per cell and outcome in float64: a model that diverged
    in float32 was trained again alone in float64 (``float32_fault``: it stayed finite)."""
    div = runs[runs.status != "ok"].assign(fault=lambda d: d.float32_fault.astype(bool))
    rows = []
    for (act, init, w, fault), g in div.groupby(["activation", "init", "width", "fault"]):
        n = len(grid_claims.cell(runs, act, init, w))
        epochs = ", ".join(str(int(e)) for e in g.diverged_epoch.dropna().sort_values())
        rows.append([f"{act}/{init}", w, f"{len(g)} of {n}", ", ".join(map(str, sorted(g.seed))),
                     epochs or "n/a", "no: a float32 fault" if fault else "yes"])
    return {"n": len(div), "total": len(runs), "faults": int(div.fault.sum()),
            "table": table(rows, ["cell", "width", "diverged", "seeds", "epoch of divergence",
                                  "persists in float64"])}


def figures(spec, rel: str) -> dict[str, str]:
    """Every figure's markdown, keyed by file name, its caption from captions/<kind>.rst."""
    return {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    runs, base = tables["runs"], grid_claims.Baseline.of(spec)
    cells = cell_table(runs)
    init = spec.lecture_init
    by_key = {c.key: c for c in claims}
    return {
        "spec": spec,
        "claims": by_key,
        "sanity": sanity,
        "figures": figures(spec, rel),
        "init": init,
        "other_inits": [i for i in spec.inits if i not in (init, "zeros")],
        "chance": base.test.accuracy,
        "zero_at_zero": {a: grid_claims.zero_at_zero(a) for a in spec.activations},
        "n_models": len(runs),
        "n_cells": len(cells),
        "activation_table": activation_table(cells, init, spec.width),
        "accuracy_table": accuracy_table(cells, spec.width),
        "verdicts_by_width": verdicts_by_width(spec, runs, base),
        "diverged": diverged(runs),
        "pairs": grid_claims.choice_pairs(by_key["minor-choices"]),
        "lecture": {"relu": 0.99, "tanh": 0.99, "sigmoid": 0.7},
    }


def facts(spec, tables, claims: list[Claim]) -> dict:
    """What the report's answers read: the lecture's cells' mean test accuracy with its
    95% interval at every width, and the width-specific claims' verdicts at every width."""
    runs, base = tables["runs"], grid_claims.Baseline.of(spec)
    init = spec.lecture_init
    accuracy = {}
    for act in ("relu", "sigmoid", "tanh"):
        for i in dict.fromkeys((init, "zeros")):
            for w in spec.widths:
                rows = grid_claims.cell(runs, act, i, w)
                if len(rows):
                    check = mean_check(f"{act}/{i}/w{w}", grid_claims.scores(rows, base),
                                       base.learns.accuracy, AT_LEAST, "mean test accuracy")
                    accuracy[f"{act}/{i}/w{w}"] = check.to_dict()
    verdicts = {str(w): {c.key: c.verdict for c in grid_claims.at_width(runs, w, init, base)}
                for w in spec.widths}
    return {"init": init, "width": spec.width, "widths": list(spec.widths),
            "accuracy": accuracy, "verdicts_by_width": verdicts}


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: the lecture's cells at the running width, and
    over the whole grid (a diverged model scored as a constant guess, as the checks do)."""
    runs, base = tables["runs"], grid_claims.Baseline.of(spec)
    cells = cell_table(runs)
    at = cells[cells.width == spec.width].set_index(["activation", "init"])
    lecture = {}
    for act in ("relu", "sigmoid", "tanh"):
        for init in ("random_normal", "zeros"):
            if (act, init) in at.index:
                c = at.loc[(act, init)]
                lecture.setdefault(act, {})[init] = {"test_acc": _round(c.test_acc),
                                                     "test_acc_sd": _round(c.test_acc_sd)}
    scored = grid_claims.scores(runs, base)
    means = scored.groupby([runs.activation.to_numpy(), runs["init"].to_numpy(),
                            runs.width.to_numpy()]).mean()
    return {
        "running_example": lecture,
        "models": int(len(runs)),
        "diverged": int((runs.status != "ok").sum()),
        "mean_test_acc": _round(float(np.mean(scored.to_numpy()))),
        "cells_learned": int((means >= base.learns.accuracy).sum()),
        "cells": int(len(cells)),
    }


def _round(x):
    return None if pd.isna(x) else round(float(x), 6)
