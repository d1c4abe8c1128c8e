"""The choices the size study makes from data, each on the validation split (the test split
only scores what was chosen):

- ``capable_width``: the narrowest width for which at least one seed reached the success
  threshold on validation: that seed shows a good enough boundary exists at that width, so
  a failure there is one of training, not of capacity;
- ``needed_width``: the narrowest width from which every wider width succeeds on validation
  for at least ``reliable`` of its seeds; ``plateau_width``: from which every wider width's
  median validation accuracy is within ``tol`` of the best; ``recommended_width``: both;
- ``matching_level``: the sparsest pruning level down to which an arm's mean validation
  accuracy stays within ``tol`` of the dense network's;
- ``level_near``: the pruned level of an arm whose density is closest to a given one
  (a pre-declared density, not a data-driven choice).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MATCH_TOL = 0.01  # "matches the dense network": mean accuracy at most this much lower


def capable_width(summary: pd.DataFrame) -> int | None:
    """``summary``: one dataset's rows of the width table."""
    ok = summary[summary.val_successes > 0]
    return int(ok.width.min()) if len(ok) else None


def needed_width(summary: pd.DataFrame, reliable: float) -> int | None:
    d = summary.sort_values("width")
    ok = (d.val_success_rate >= reliable).to_numpy()
    if not ok.size or not ok[-1]:
        return None
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return int(d.width.iloc[i])


def plateau_width(summary: pd.DataFrame, tol: float = MATCH_TOL) -> int:
    d = summary.sort_values("width")
    ok = (d.val_acc_median >= d.val_acc_median.max() - tol).to_numpy()
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return int(d.width.iloc[i])


def recommended_width(summary: pd.DataFrame, reliable: float) -> int | None:
    need = needed_width(summary, reliable)
    return None if need is None else max(need, plateau_width(summary))


def dense_row(lot: pd.DataFrame) -> pd.Series:
    """The dense network (level 0 of the ticket arm) of one dataset's lottery table."""
    return lot[(lot.arm == "ticket") & (lot.level == 0)].iloc[0]


def matching_level(lot: pd.DataFrame, arm: str, tol: float = MATCH_TOL) -> int:
    """0 if the arm's first pruned level already falls short (or the arm did not run)."""
    ref = dense_row(lot).val_acc_mean
    level = 0
    for _, r in lot[(lot.arm == arm) & (lot.level > 0)].sort_values("level").iterrows():
        if not r.val_acc_mean >= ref - tol:
            break
        level = int(r.level)
    return level


def density_at(lot: pd.DataFrame, arm: str, level: int) -> float:
    rows = lot[(lot.arm == arm) & (lot.level == level)]
    return float(rows.density.iloc[0]) if len(rows) else 1.0


def level_near(lot: pd.DataFrame, density: float, arm: str = "ticket",
               within: float = 1.5) -> int | None:
    """The pruned level whose density is closest to ``density`` on a log scale, if within
    a factor ``within`` of it."""
    a = lot[(lot.arm == arm) & (lot.level > 0)]
    if a.empty:
        return None
    gap = (np.log(a.density) - np.log(density)).abs()
    return int(a.level.iloc[int(gap.argmin())]) if gap.min() <= np.log(within) else None


def datasets(frame: pd.DataFrame) -> list[str]:
    """The datasets of a table, sorted."""
    return sorted(frame.dataset.unique())
