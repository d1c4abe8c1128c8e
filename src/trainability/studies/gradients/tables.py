"""The gradient study's tables, from its run files and the dataset they were trained on.

- ``models``: per model, its status (``ok`` or ``diverged``), the epoch it diverged,
  ``float32_fault`` (diverged in float32 only: these networks train in float64, so the
  divergence sanity check should find none) and its final training loss and test
  accuracy (NaN when diverged: the claims and the section score it);
- ``ratios``: per model and moment (``init``: the initial parameters, ``final``: after the
  last epoch), the gradient norms of layer 1 and of the classifier, their log10 ratio and
  its regime, and the model's status;
- ``layers``: per model, moment and weight matrix (the classifier is layer depth + 1), the
  gradient norm and, for hidden layers, how different its units' gradients are;
- ``epochs``: the running example (running depth and initializer), per model, epoch and
  weight matrix, the mean, sd and norm of the gradient's entries, as the trainer recorded
  them during training.

Gradients are of the data loss on the whole training set, recomputed here from the stored
parameters (``stats.layer_gradients``), so only the running depth trains with diagnostics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.data import load_dataset
from trainability.io import InputError, load_run
from trainability.model import Architecture
from trainability.studies.gradients import stats
from trainability.tables import run_frames

KEYS = ["activation", "init", "depth", "seed"]
MOMENTS = {"init": "theta0", "final": "theta"}  # moment -> the parameters it reads


def build(spec) -> dict[str, pd.DataFrame]:
    data = load_dataset(spec.dataset)
    parts = [run_tables(path, data) for path in spec.run_files()]
    models, ratios, layers = (pd.concat([p[i] for p in parts], ignore_index=True)
                              for i in range(3))
    return {
        "models": models.sort_values(KEYS, kind="stable", ignore_index=True),
        "ratios": ratios.sort_values(KEYS + ["moment"], kind="stable", ignore_index=True),
        "layers": layers.sort_values(KEYS + ["moment", "layer"], kind="stable",
                                     ignore_index=True),
        "epochs": epochs_table(spec),
    }


def run_tables(path, data) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(models, ratios, layers)`` rows of one run file."""
    meta, hist, arrays = load_run(path)
    if meta.get("batch_norm"):
        raise InputError(f"{path}: trained with batch norm; the gradient study needs plain "
                         "networks")
    depth = int(meta["depth"])
    arch = Architecture(depth, int(meta["width"]), meta["activation"],
                        n_inputs=data.X_train.shape[1])
    models = {
        "activation": meta["activation"],
        "init": np.asarray(arrays["inits"]).astype(str),
        "depth": depth,
        "seed": arrays["seeds"],
    }
    last = hist["train_loss"].shape[1] - 1
    n_layers = depth + 1
    diverged_epoch = np.asarray(arrays["diverged_epoch"])
    summary = pd.DataFrame({
        **models, "status": arrays["status"],
        "diverged_epoch": np.where(diverged_epoch >= 0, diverged_epoch, np.nan),
        "float32_fault": (diverged_epoch >= 0) & ~np.asarray(arrays["float64_diverged"]),
        "train_loss": hist["train_loss"][:, last], "test_acc": hist["test_acc"][:, last],
    })
    ratios, layers = [], []
    for moment, epoch in (("init", 0), ("final", last)):
        grads = stats.layer_gradients(arch, arrays[MOMENTS[moment]], data.X_train,
                                      data.y_train)
        norm = stats.norms(grads)
        spread = np.stack([stats.unit_spread(g) for g in grads], axis=1)
        spread[:, -1] = np.nan  # one classifier unit: nothing to compare
        log_ratio = stats.log10_ratio(norm[:, 0], norm[:, -1])
        diverged = (arrays["status"] == "diverged") & (moment == "final")
        ratios.append(pd.DataFrame({
            **models, "width": int(meta["width"]), "moment": moment, "epoch": epoch,
            "grad_norm_first": norm[:, 0], "grad_norm_classifier": norm[:, -1],
            "log10_ratio": log_ratio,
            "regime": np.where(diverged, "diverged", [stats.regime(v) for v in log_ratio]),
            "status": arrays["status"],
        }))
        layers.append(pd.DataFrame({
            **{k: np.repeat(v, n_layers) if np.ndim(v) else v for k, v in models.items()},
            "moment": moment,
            "layer": np.tile(np.arange(1, n_layers + 1), len(norm)),
            "classifier": np.tile(np.arange(1, n_layers + 1) == n_layers, len(norm)),
            "grad_norm": norm.ravel(), "unit_spread": spread.ravel(),
        }))
    return (summary, pd.concat(ratios, ignore_index=True),
            pd.concat(layers, ignore_index=True))


def epochs_table(spec) -> pd.DataFrame:
    """The running example's recorded per-layer gradients, every epoch."""
    frames = []
    for activation in spec.activations:
        path = spec.run_file(activation, spec.depth)
        _, _, layers = run_frames(path, spec.study)
        rows = layers[layers["init"] == spec.running_init]
        if rows.grad_norm.isna().all():
            raise InputError(f"{path}: no per-layer gradients recorded (trained with "
                             "--no-diagnostics)")
        frames.append(rows[["activation", "init", "depth", "seed", "epoch", "layer",
                            "grad_mean", "grad_std", "grad_norm"]])
    return pd.concat(frames, ignore_index=True)


def summarize(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per activation x init x depth x moment: mean and sample sd (ddof 1) of the log10
    ratio over the seeds where it is finite, and the counts of the others: ``n_zero``
    (layer 1 gets no gradient, the classifier does), ``n_none`` (no layer gets any),
    ``n_inf`` (the classifier gets none), ``n_diverged``."""
    lr = ratios.log10_ratio.astype(float)
    diverged = ratios.regime == "diverged"
    frame = ratios.assign(
        finite=lr.where(np.isfinite(lr)),
        is_zero=(lr == -np.inf).astype(int),
        is_none=(lr.isna() & ~diverged).astype(int),
        is_inf=(lr == np.inf).astype(int),
        is_diverged=diverged.astype(int),
    )
    g = frame.groupby(["activation", "init", "depth", "moment"])
    return pd.DataFrame({
        "mean": g.finite.mean(), "sd": g.finite.std(ddof=1), "n_finite": g.finite.count(),
        "n_zero": g.is_zero.sum(), "n_none": g.is_none.sum(), "n_inf": g.is_inf.sum(),
        "n_diverged": g.is_diverged.sum(), "n": g.size(),
    })
