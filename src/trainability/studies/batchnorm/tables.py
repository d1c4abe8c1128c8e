"""The batch-norm study's tables.

- ``runs``: one row per model (activation, placement, seed; final metrics and status);
- ``history``: per model and epoch;
- ``layers``: per model, diagnostic epoch and layer (the classifier is layer depth + 1);
- ``ratios``: per model, at initialization (epoch 0): the gradient norm of the first
  hidden layer's weights over the classifier's, and its log10.

Rows are in report order: the activations and placements as the spec lists them, then by
seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.io import InputError
from trainability.tables import run_frames

KEYS = ["activation", "placement", "seed"]
# a first-layer gradient norm of exactly 0 counts as the smallest normal double: the most
# vanished of all, never less vanished than a measured one
NO_GRADIENT = float(np.finfo(float).tiny)


def build(spec) -> dict[str, pd.DataFrame]:
    parts = {"runs": [], "history": [], "layers": []}
    for act in spec.activations:
        for placement in spec.placements:
            frames = run_frames(spec.run_file(act, placement), spec.study)
            for name, frame in zip(parts, frames, strict=True):
                parts[name].append(frame.assign(placement=placement))
    runs, history, layers = (_front(pd.concat(parts[n], ignore_index=True), spec, extra)
                             for n, extra in (("runs", []), ("history", ["epoch"]),
                                              ("layers", ["epoch", "layer"])))
    return {"runs": runs, "history": history, "layers": layers,
            "ratios": ratios(layers, spec)}


def _front(frame: pd.DataFrame, spec, extra: list[str]) -> pd.DataFrame:
    """The keys first, rows in report order (deterministic tables)."""
    rank = {"activation": {a: i for i, a in enumerate(spec.activations)},
            "placement": {p: i for i, p in enumerate(spec.placements)}}
    order = np.lexsort([frame[c].to_numpy() for c in reversed(["seed", *extra])]
                       + [frame[c].map(rank[c]).to_numpy() for c in ("placement", "activation")])
    rest = [c for c in frame.columns if c not in KEYS + extra + ["study", "batch_norm"]]
    return frame.iloc[order][KEYS + extra + rest].reset_index(drop=True)


def ratios(layers: pd.DataFrame, spec) -> pd.DataFrame:
    """Per model at epoch 0: ``||dL/dW1|| / ||dL/dW_classifier||`` and its log10 (a
    first-layer norm of 0 counts as ``NO_GRADIENT``)."""
    at = layers[layers.epoch == 0]
    if at.empty:
        raise InputError("the layers table has no epoch 0: train with diagnostics at epoch 0")
    first = at[at.layer == 1].set_index(KEYS).grad_norm.rename("grad_first")
    last = at[at.layer == spec.depth + 1].set_index(KEYS).grad_norm.rename("grad_classifier")
    frame = pd.concat([first, last], axis=1).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["ratio"] = np.maximum(frame.grad_first, NO_GRADIENT) / frame.grad_classifier
        frame["log10_ratio"] = np.log10(frame.ratio)
    return frame

