"""What each split of a size-study dataset allows a network to score: the accuracy of a
constant guess of its larger class (``scoring.Guess``: what a diverged seed scores) and the
*ceiling*, the accuracy of the best possible classifier.

The best possible classifier is the Bayes classifier of the generating distribution. Every
generator of ``data.DATASETS`` draws noise-free points and adds Gaussian noise of standard
deviation ``noise`` to each coordinate, so a class's density is its noise-free distribution
blurred by that Gaussian. A large noise-free sample of the generator (``NOISELESS`` points,
a fixed seed) estimates it; a point goes to the class of larger density (the class shares
of the sample are its prior). No classifier does better on average over draws of the data,
so a threshold of "learns" at a split's ceiling would fail every network there, whatever
its width: the size study's sanity checks ask for room below it (``claims.sanity``).

The splits are made again from a run file's settings with the very functions the dataset
and training jobs use (``data.make_dataset``, ``training.split``), so they are the points
the networks were scored on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.data import DATASETS, make_dataset
from trainability.io import InputError
from trainability.scoring import Guess
from trainability.studies.size.training import split

NOISELESS = 20_000  # noise-free points estimating the class densities
NOISELESS_SEED = 0
CHUNK = 128  # points classified per block: a (CHUNK, NOISELESS) block of distances
SPLITS = ("fit", "validation", "test")


def split_points(settings: dict, validation_fraction: float) -> dict[str, tuple]:
    """``split -> (X, y)`` of the dataset ``settings`` (a run file's ``meta["dataset"]``)."""
    s = split(make_dataset(**settings), validation_fraction)
    return {"fit": (s.fit.X_train, s.fit.y_train), "validation": (s.fit.X_test, s.fit.y_test),
            "test": (s.X_test, s.y_test)}


def bayes_predict(X: np.ndarray, name: str, noise: float, factor: float) -> np.ndarray:
    """The Bayes classifier's labels of the points ``X`` of dataset ``name``."""
    points, labels = DATASETS[name](NOISELESS, 0.0, factor,
                                    np.random.default_rng(NOISELESS_SEED))
    points, labels = np.asarray(points, dtype=float), np.asarray(labels)
    out = []
    for chunk in np.array_split(X, max(1, -(-len(X) // CHUNK))):
        d2 = ((chunk ** 2).sum(1)[:, None] - 2 * chunk @ points.T
              + (points ** 2).sum(1)[None, :])
        logp = -np.maximum(d2, 0.0) / (2 * noise ** 2)
        out.append(_logsumexp(logp[:, labels == 1]) > _logsumexp(logp[:, labels == 0]))
    return np.concatenate(out).astype(np.int8) if out else np.zeros(0, np.int8)


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def ceiling(X: np.ndarray, y: np.ndarray, settings: dict) -> float:
    """The Bayes classifier's accuracy on ``(X, y)``; 1 without noise (the classes of every
    generator then do not overlap)."""
    if settings["standardize"] or settings["scale"] != 1:
        raise InputError(f"{settings['name']}: the ceiling is computed for raw features "
                         "(scale 1, not standardized)")
    if settings["noise"] == 0:
        return 1.0
    pred = bayes_predict(X, settings["name"], settings["noise"], settings["factor"])
    return float(np.mean(pred == y))


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
