"""The scaling study's tables.

At initialization (from ``scaling-init``'s file):

- ``layers``: per width, activation, initialization ("setting"), seed and hidden layer, the
  statistics of the layer's outputs (``runs.py`` defines them);
- ``histograms``: at the histograms' width (``scaling.init_width``), per activation,
  setting, layer (1..depth) and bin, the count and share of
  the layer's non-zero outputs (units, points and seeds pooled; shares of all outputs), and
  per panel how many were exactly 0 and how many fell outside the activation's x-range
  (counted in the end bins).

Input scaling (from the training runs and the three datasets):

- ``inputs``: per version of the inputs and feature, the training split's mean and std;
- ``runs``: per model, its final metrics, its loss at initialization, and how its first
  hidden layer starts out on its own inputs (forward pass with its initial weights);
- ``history``: per model and epoch, losses and accuracies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.data import load_dataset
from trainability.io import load_run
from trainability.model import Architecture
from trainability.studies.scaling.runs import STATS, forward_layers, layer_stats, load_init_outputs
from trainability.studies.scaling.spec import VARIANTS
from trainability.tables import run_frames

HISTORY = ("train_loss", "train_acc", "test_loss", "test_acc", "running_loss", "running_acc")


def build(spec) -> dict[str, pd.DataFrame]:
    meta, arrays = load_init_outputs(spec.init_file())
    runs, history = training_tables(spec)
    return {"layers": layers_table(meta, arrays), "histograms": histograms_table(meta, arrays),
            "inputs": inputs_table(spec), "runs": runs, "history": history}


def _setting_keys(meta) -> list[dict]:
    return [{"setting": label, "init": init, "init_scale": scale}
            for label, init, scale in meta["settings"]]


def layers_table(meta: dict, arrays: dict) -> pd.DataFrame:
    seeds = meta["seeds"]
    n_layers = arrays["stat_signal"].shape[-1]
    frames = []
    for w, width in enumerate(meta["widths"]):
        for i, activation in enumerate(meta["activations"]):
            for j, keys in enumerate(_setting_keys(meta)):
                frames.append(pd.DataFrame({
                    "activation": activation, **keys, "width": width,
                    "seed": np.repeat(seeds, n_layers),
                    "layer": np.tile(np.arange(1, n_layers + 1), len(seeds)),
                    **{name: arrays[f"stat_{name}"][w, i, j].ravel() for name in STATS},
                }))
    return pd.concat(frames, ignore_index=True)


def at_width(layers: pd.DataFrame, width: int) -> pd.DataFrame:
    """The rows of the ``layers`` table of networks of ``width`` units per layer."""
    return layers[layers.width == width]


def histograms_table(meta: dict, arrays: dict) -> pd.DataFrame:
    """Per panel and bin: count and share (of all the panel's outputs) of the non-zero
    outputs, and per panel how many were exactly 0, below and above the x-range."""
    counts, edges = arrays["counts"], arrays["edges"]
    depth, bins = counts.shape[2], counts.shape[3] - 3
    frames = []
    for i, activation in enumerate(meta["activations"]):
        for j, keys in enumerate(_setting_keys(meta)):
            for layer in range(depth):
                c = counts[i, j, layer]
                total = max(int(c[: bins + 1].sum()), 1)  # binned + exactly 0
                frames.append(pd.DataFrame({
                    "activation": activation, **keys, "layer": layer + 1,
                    "bin": np.arange(bins), "left": edges[i, j, layer, :-1],
                    "right": edges[i, j, layer, 1:],
                    "count": c[:bins], "share": c[:bins] / total, "zero": c[bins],
                    "below": c[bins + 1], "above": c[bins + 2], "units": meta["widths"][0],
                    "points": meta["points"], "seeds": len(meta["seeds"]),
                }))
    return pd.concat(frames, ignore_index=True)


def inputs_table(spec) -> pd.DataFrame:
    frames = []
    for variant, path in spec.input_files().items():
        X = load_dataset(path).X_train
        frames.append(pd.DataFrame({
            "variant": variant, "factor": 1.0 if variant == "raw" else spec.input_scale,
            "standardized": variant == "standardized",
            "feature": [f"x{j}" for j in range(X.shape[1])],
            "mean": X.mean(axis=0), "std": X.std(axis=0),
        }))
    return pd.concat(frames, ignore_index=True)


def first_layer(path, data) -> dict[str, np.ndarray]:
    """How the first hidden layer of every model of a run file starts out on ``data``'s
    training points: pre-activation std, shares of saturated and of zero outputs."""
    meta, _, arrays = load_run(path)
    arch = Architecture(int(meta["depth"]), int(meta["width"]), meta["activation"],
                        n_inputs=data.X_train.shape[1])
    z, a = forward_layers(arch, arrays["theta0"], data.X_train)[0]
    stats = layer_stats(z, a, meta["activation"])
    return {"preact_std_1": stats["preact_std"], "saturated_1": stats["saturated"],
            "zero_1": stats["zero"]}


def training_tables(spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, history)`` of every training run file, in variant order."""
    datasets = {v: load_dataset(p) for v, p in spec.input_files().items()}
    runs, history = [], []
    for variant in VARIANTS:
        for activation in spec.activations:
            path = spec.run_file(variant, activation)
            r, h, _ = run_frames(path, "scaling")
            start = h[h.epoch == 0].set_index(["init", "seed"])
            r = r.assign(
                **{f"{m}_init": start.loc[list(zip(r["init"], r.seed, strict=True)), m]
                   .to_numpy() for m in ("train_loss", "train_acc", "test_loss", "test_acc")},
                **first_layer(path, datasets[variant]))
            runs.append(r.drop(columns=["study"]).assign(variant=variant))
            history.append(h[["activation", "init", "seed", "epoch",
                              *[c for c in HISTORY if c in h]]].assign(variant=variant))
    front = ["variant", "activation", "init", "seed"]
    runs = pd.concat(runs, ignore_index=True)
    history = pd.concat(history, ignore_index=True)
    return (runs[front + [c for c in runs if c not in front]],
            history[front + [c for c in history if c not in front]])


def settings_of(layers: pd.DataFrame) -> list[str]:
    """The initializations in table order (random_normal stds first, as given)."""
    return list(dict.fromkeys(layers.setting))


def pooled(hists: pd.DataFrame) -> dict[str, int]:
    """How many outputs one histogram panel pools: units x points x seeds."""
    row = hists.iloc[0]
    units, points, seeds = int(row.units), int(row.points), int(row.seeds)
    return {"units": units, "points": points, "seeds": seeds,
            "outputs": units * points * seeds}


def stat_text(value: float) -> str:
    """The one rounding of a layer statistic (mean, std, signal, pre-activation std) in the
    section's tables and the figures' titles."""
    return f"{value:.2g}" if np.isfinite(value) else "n/a"


def share_text(value: float) -> str:
    """The one rounding of a share of outputs (saturated, exactly 0)."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.0%}" if value >= 0.01 or value == 0 else "<1%"
