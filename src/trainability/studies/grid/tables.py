"""The grid's tables: one row per model, per model and epoch, per model, epoch and layer
(at the diagnostic epochs), and one row per cell.

A cell's numbers are over the seeds that did not diverge; the diverged ones are counted.
The section and the figures compute them from the runs table they read, as the checks do,
so a number they share is the same number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.tables import load_tables, read_table

CELL = ["activation", "init", "width"]
METRICS = ("test_acc", "train_acc", "train_loss", "test_loss")


def build(spec) -> dict[str, pd.DataFrame]:
    runs, history, layers = load_tables(spec.run_files(), "grid")
    return {"runs": runs, "history": history, "layers": layers, "cells": cells(runs)}


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Per activation x init x width: mean final metrics over the seeds that did not
    diverge, the sample sd (ddof 1) of the test accuracy, and the model counts."""
    ok = runs.status == "ok"
    frame = runs.assign(**{m: runs[m].where(ok) for m in METRICS},
                        n_ok=ok.astype(int), n_diverged=(~ok).astype(int))
    g = frame.groupby(CELL, sort=False)
    out = g[list(METRICS)].agg(_mean)
    out["test_acc_sd"] = g.test_acc.std(ddof=1)
    out["n_ok"] = g.n_ok.sum()
    out["n_diverged"] = g.n_diverged.sum()
    out["n"] = g.size()
    out = out.reset_index()
    out.insert(0, "cell", out.activation + "/" + out["init"] + "/w" + out.width.astype(str))
    return out


def _mean(values: pd.Series) -> float:
    """The mean of the finite values in seed order, by the arithmetic of a check's effect
    (``claims.bootstrap_mean``): pandas' grouped mean sums differently, and a mean halfway
    between two printed values (10 seeds: 0.9695 to one, 0.96949... to the other) would
    print one way here and the other in a check."""
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else np.nan


REQUIRED = {  # the columns the figures and the section read
    "runs": ("activation", "init", "width", "seed", "train_loss", "train_acc", "test_loss",
             "test_acc", "status", "diverged_epoch", "float32_fault"),
    "history": ("activation", "init", "width", "seed", "epoch", "train_loss", "train_acc",
                "test_loss", "test_acc"),
}


def read(spec, tables_dir) -> dict[str, pd.DataFrame]:
    """The tables the figures and the section read (the cells and layers tables are for
    readers: the section and the figures compute a cell's numbers from the runs)."""
    files = spec.tables()
    return {name: read_table(f"{tables_dir}/{files[name]}", columns)
            for name, columns in REQUIRED.items()}
