"""Two-dimensional binary classification datasets, seeded, split into train and test.

- circles: scikit-learn's ``make_circles`` (the lecture's data); class 1 is the inner ring;
- moons: scikit-learn's ``make_moons``;
- xor: points uniform in [-1, 1]^2, class 1 where x0 * x1 > 0, plus Gaussian noise;
- spirals: two interleaved spiral arms, one per class, plus Gaussian noise.

``factor`` is the inner/outer radius ratio of circles and is ignored by the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from trainability.io import load_npz, save_npz
from trainability.registry import lookup


@dataclass(frozen=True)
class Dataset:
    """Features ``(N, n_inputs)`` and 0/1 labels ``(N,)`` of a train/test split."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _circles(n, noise, factor, rng):
    from sklearn.datasets import make_circles

    return make_circles(n, factor=factor, noise=noise, random_state=_sk_seed(rng))


def _moons(n, noise, factor, rng):
    from sklearn.datasets import make_moons

    return make_moons(n, noise=noise, random_state=_sk_seed(rng))


def _xor(n, noise, factor, rng):
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X + rng.normal(0.0, noise, size=X.shape), y


def _spirals(n, noise, factor, rng):
    y = np.arange(n) % 2
    t = np.sqrt(rng.uniform(0.0, 1.0, size=n)) * 3 * np.pi  # sqrt: even density along the arm
    r = t / (3 * np.pi)
    angle = t + np.pi * y
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return X + rng.normal(0.0, noise, size=X.shape), y


def _sk_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


DATASETS = {"circles": _circles, "moons": _moons, "xor": _xor, "spirals": _spirals}


def make_dataset(
    name: str = "circles",
    n_samples: int = 1000,
    noise: float = 0.1,
    factor: float = 0.5,
    test_fraction: float = 0.2,
    scale: float = 1.0,
    standardize: bool = False,
    seed: int = 0,
) -> Dataset:
    """Generate, shuffle and split a dataset.

    ``scale`` multiplies the raw features (to show what badly scaled inputs do);
    ``standardize`` then rescales each feature to mean 0 and standard deviation 1 using
    the training split's statistics only.
    """
    generate = lookup(DATASETS, name, "dataset")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    X, y = generate(n_samples, noise, factor, rng)
    X = np.asarray(X, dtype=float) * scale
    order = rng.permutation(n_samples)
    n_test = int(round(n_samples * test_fraction))
    test, train = order[:n_test], order[n_test:]
    if standardize:
        mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        X = (X - mean) / np.where(std > 0, std, 1.0)
    y = np.asarray(y, dtype=np.int8)
    return Dataset(X[train], y[train], X[test], y[test])


def split_validation(data: Dataset, fraction: float) -> Dataset:
    """The training points split in two: the returned dataset's "train" arrays are what a
    model is fitted on, its "test" arrays the last ``fraction`` of the (already shuffled)
    training points, held out for choosing a setting. The test set is not in it."""
    n = len(data.y_train)
    n_val = int(round(n * fraction))
    if not 1 <= n_val < n:
        raise ValueError(f"validation fraction {fraction} of {n} training points leaves "
                         f"{n - n_val} to fit and {n_val} to validate; both need >= 1")
    return Dataset(data.X_train[: n - n_val], data.y_train[: n - n_val],
                   data.X_train[n - n_val :], data.y_train[n - n_val :])


DATASET_KEYS = ("X_train", "y_train", "X_test", "y_test")


def save_dataset(path, data: Dataset, meta: dict | None = None) -> None:
    """The split arrays, and ``meta`` (how the data were made) as JSON."""
    arrays = {k: getattr(data, k) for k in DATASET_KEYS}
    save_npz(path, meta=np.asarray(json.dumps(meta or {}, sort_keys=True)), **arrays)


def load_dataset(path) -> Dataset:
    arrays = load_npz(path, DATASET_KEYS)
    return Dataset(**{k: arrays[k] for k in DATASET_KEYS})


def dataset_meta(path) -> dict:
    arrays = load_npz(path, ("meta",))
    return json.loads(str(arrays["meta"]))


def dataset_job(out, *, name: str, n_samples: int, noise: float, factor: float,
                test_fraction: float, scale: float, standardize: bool, seed: int) -> str:
    settings = dict(name=name, n_samples=n_samples, noise=noise, factor=factor,
                    test_fraction=test_fraction, scale=scale, standardize=standardize,
                    seed=seed)
    data = make_dataset(**settings)
    save_dataset(out, data, settings)
    return f"wrote {out}: {len(data.y_train)} train, {len(data.y_test)} test points"
