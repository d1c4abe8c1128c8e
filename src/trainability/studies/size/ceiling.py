"""What each split of a size-study dataset allows a network to score: the accuracy of a
constant guess of its larger class (``scoring.Guess``: what a diverged seed scores) and the
*ceiling*, the accuracy of the best possible classifier (``trainability.bayes``).

The splits are made again from a run file's settings with the very functions the dataset
and training jobs use (``data.make_dataset``, ``training.split``), so they are the points
the networks were scored on.
"""

from __future__ import annotations

import pandas as pd

from trainability.bayes import ceiling
from trainability.data import make_dataset
from trainability.io import InputError
from trainability.scoring import Guess
from trainability.studies.size.training import split

SPLITS = ("fit", "validation", "test")


def split_points(settings: dict, validation_fraction: float) -> dict[str, tuple]:
    """``split -> (X, y)`` of the dataset ``settings`` (a run file's ``meta["dataset"]``)."""
    s = split(make_dataset(**settings), validation_fraction)
    return {"fit": (s.fit.X_train, s.fit.y_train), "validation": (s.fit.X_test, s.fit.y_test),
            "test": (s.X_test, s.y_test)}


def splits_table(metas: list[dict]) -> pd.DataFrame:
    """One row per dataset x split: its points, the constant guess's accuracy and loss and
    the ceiling. ``metas``: run files' settings (``dataset`` and ``validation_fraction``),
    any number per dataset; the runs of one dataset must share its data."""
    by_name: dict[str, dict] = {}
    for meta in metas:
        data = {"dataset": meta["dataset"], "validation_fraction": meta["validation_fraction"]}
        name = data["dataset"]["name"]
        if by_name.setdefault(name, data) != data:
            raise InputError(f"{name}: the run files were made from different data")
    rows = []
    for name, data in sorted(by_name.items()):
        for part, (X, y) in split_points(data["dataset"], data["validation_fraction"]).items():
            g = Guess.of(y)
            rows.append({"dataset": name, "split": part, "n": len(y), "guess_acc": g.accuracy,
                         "guess_loss": g.loss, "ceiling": ceiling(X, y, data["dataset"])})
    return pd.DataFrame(rows)


def guess(splits: pd.DataFrame, name: str, part: str = "test") -> Guess:
    """The constant guess on split ``part`` of dataset ``name``."""
    r = splits[(splits.dataset == name) & (splits.split == part)].iloc[0]
    return Guess(float(r.guess_acc), float(r.guess_loss))
