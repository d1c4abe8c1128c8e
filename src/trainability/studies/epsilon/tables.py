"""The epsilon study's tables.

- runs: one row per model (network, setting, seed) with its final metrics;
- gradients: one row per model and layer: the data-loss gradient of the layer's weight
  matrix at initialization (epoch 0, one full pass over the training set), as its mean,
  standard deviation and root mean square entry (``sqrt(mean^2 + std^2)``); the classifier
  is layer ``depth + 1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.io import InputError
from trainability.tables import run_frames

SETTING = ["optimizer", "eps_convention", "eps"]
NETWORK = ["activation", "init", "width"]


def network_label(activation: str, init: str, width: int) -> str:
    return f"{activation}/{init}/w{int(width)}"


def _with_network(frame: pd.DataFrame) -> pd.DataFrame:
    labels = [network_label(a, i, w) for a, i, w in
              zip(frame.activation, frame["init"], frame.width, strict=True)]
    return frame.assign(network=labels)


def build(spec) -> dict[str, pd.DataFrame]:
    runs, grads = [], []
    for path in spec.run_files():
        file_runs, _, layers = run_frames(path, "epsilon")
        runs.append(file_runs)
        grads.append(gradients(layers))
    runs = _with_network(pd.concat(runs, ignore_index=True))
    return {"runs": runs, "gradients": pd.concat(grads, ignore_index=True)}


def gradients(layers: pd.DataFrame) -> pd.DataFrame:
    """The per-layer gradients at initialization of one run file's models."""
    at_init = layers[layers.epoch == 0]
    if at_init.empty:
        raise InputError("epsilon: a run file has no gradients at epoch 0 (train it with "
                         "--diagnostic-epochs 0)")
    out = at_init[[*NETWORK, "seed", "layer", "grad_mean", "grad_std", *SETTING]].copy()
    out["grad_rms"] = np.sqrt(out.grad_mean**2 + out.grad_std**2)
    return _with_network(out.reset_index(drop=True))
