"""The best possible classifier of a dataset, and its accuracy: the *ceiling* of what any
network can score on a split.

It is the Bayes classifier of the generating distribution. Every generator of
``data.DATASETS`` draws noise-free points and adds Gaussian noise of standard deviation
``noise`` to each coordinate, so a class's density is its noise-free distribution blurred by
that Gaussian. A large noise-free sample of the generator (``NOISELESS`` points, a fixed
seed) estimates it; a point goes to the class of larger density (the class shares of the
sample are its prior). No classifier does better on average over draws of the data, so a
threshold of "learns" above a split's ceiling would fail every network there.
"""

from __future__ import annotations

import numpy as np

from trainability.data import DATASETS
from trainability.io import InputError

NOISELESS = 20_000  # noise-free points estimating the class densities
NOISELESS_SEED = 0
CHUNK = 128  # points classified per block: a (CHUNK, NOISELESS) block of distances

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
