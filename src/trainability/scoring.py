"""The one policy of ``learns`` applied to tables of models: a diverged seed scores as a
constant guess, never dropped; the sanity checks every study's section shows about
divergence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.claims import Sanity
from trainability.learns import POLICY, Guess, Learns

__all__ = ["POLICY", "Guess", "Learns", "divergence_sanity", "per_seed", "summary"]


def per_seed(rows: pd.DataFrame, column: str, guess: Guess, index: str = "seed") -> pd.Series:
    """``column`` of ``rows`` (one setting's models) indexed by ``index``, a diverged
    model's value replaced by the constant guess's (the policy of the module docstring)."""
    diverged = rows["status"].to_numpy() != "ok"
    values = rows[column].to_numpy(dtype=float).copy()
    values[diverged] = guess.score(column)
    return pd.Series(values, index=rows[index].to_numpy(), name=column)


def summary(values: pd.Series, diverged: int) -> str:
    """``0.985 over 5 seeds (1 diverged, scored as chance)``: what a check's detail shows."""
    v = values.dropna().to_numpy()
    text = f"{np.mean(v):.3f} over {len(v)} seeds" if len(v) else "no seed"
    return text + (f" ({diverged} diverged, scored as a constant guess)" if diverged else "")


def divergence_sanity(tables: dict[str, pd.DataFrame]) -> list[Sanity]:
    """Over every table of models (those with a ``float32_fault`` column): no model
    diverged in float32 only (a fault of single precision, not of the network), and no
    zero-initialized network diverged (its hidden units compute a constant)."""
    models = [t for t in tables.values() if isinstance(t, pd.DataFrame)
              and "float32_fault" in t.columns]
    if not models:
        return []
    faults = sum(int(t.float32_fault.astype(bool).sum()) for t in models)
    zeros = sum(int((_diverged(t) & (t["init"] == "zeros")).sum())
                for t in models if "init" in t.columns)
    diverged = sum(int(_diverged(t).sum()) for t in models)
    return [
        Sanity("every divergence persists in float64", faults, faults == 0,
               f"{diverged} models diverged, {faults} of them in float32 only (trained "
               "again alone in float64, they stayed finite)" if diverged else
               "no model diverged"),
        Sanity("no zero-initialized network diverges", zeros, zeros == 0,
               f"{zeros} zero-initialized models diverged"),
    ]


def _diverged(models: pd.DataFrame) -> pd.Series:
    if "status" in models.columns:
        return models.status != "ok"
    return models.diverged.astype(bool)
