"""The robustness study's tables.

- ``models``: one row per variant and model (activation, initializer, placement, seed): the
  test and training accuracy, the training loss and the status at the variant's last epoch
  (read off a longer run where the spec shares one), whether it diverged in float32 only,
  and at initialization the gradient norms of layer 1 and of the classifier and the share
  of saturated units per hidden layer (``saturated_l1``, ...), all from the trainer's
  full-batch diagnostics at epoch 0; ``signal_last``, the forward signal at
  initialization: how much the last hidden layer's outputs vary between the training
  points (per unit the standard deviation over the points, the mean over the units; NaN
  with batch norm); ``test_acc_e<E>``: the test accuracy at every epoch some variant of
  the same run reads (the longer curves of the epochs variants).
- ``verdicts``: one row per claim and variant (``claims.judge``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.data import load_dataset
from trainability.io import load_run
from trainability.model import Architecture, Network
from trainability.studies.robustness.claims import judge
from trainability.studies.robustness.spec import NONE

KEYS = ["variant", "activation", "init", "placement", "seed"]


def forward_signal(meta: dict, theta0: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Per model, the mean over the last hidden layer's units of each one's standard
    deviation over the points ``X``, at the initial parameters ``theta0`` (K, P)."""
    net = Network(Architecture(depth=int(meta["depth"]), width=int(meta["width"]),
                               activation=meta["activation"]))
    _, cache = net.forward(net.bind(theta0.copy()), X.astype(theta0.dtype))
    last = cache[int(meta["depth"]) - 1][2]  # (K, points, width): the activations
    return last.std(axis=1).mean(axis=1)


def model_rows(path, variant: str, placement: str, setting: int, epoch: int,
               read: list[int], X_train: np.ndarray) -> pd.DataFrame:
    """The models of one run file that a variant uses (its setting), at ``epoch``."""
    meta, hist, arrays = load_run(path)
    k = len(arrays["seeds"])
    settings = np.asarray(arrays["settings"]) if "settings" in arrays else np.zeros(k, int)
    mine = settings == setting
    diverged_at = np.asarray(arrays["diverged_epoch"])
    diverged = (diverged_at >= 0) & (diverged_at <= epoch)
    grad = hist["grad_norm"][:, 0, :]
    frame = {
        "variant": variant, "activation": meta["activation"],
        "init": np.asarray(arrays["inits"]).astype(str), "placement": placement,
        "seed": arrays["seeds"], "width": int(meta["width"]), "depth": int(meta["depth"]),
        "epoch": epoch,
        **{c: hist[c][:, epoch] for c in ("test_acc", "train_acc", "train_loss", "test_loss")},
        "status": np.where(diverged, "diverged", "ok"),
        "float32_fault": diverged & ~np.asarray(arrays["float64_diverged"]),
        "grad_first": grad[:, 0], "grad_classifier": grad[:, -1],
        **{f"saturated_l{j + 1}": hist["saturated_frac"][:, 0, j]
           for j in range(int(meta["depth"]))},
        "signal_last": (forward_signal(meta, np.asarray(arrays["theta0"]), X_train)
                        if placement == NONE else np.full(k, np.nan)),
        **{f"test_acc_e{e}": hist["test_acc"][:, e] for e in read if e > epoch},
    }
    return pd.DataFrame(frame)[mine].reset_index(drop=True)


def models(spec) -> pd.DataFrame:
    parts = []
    jobs = spec.jobs()
    data = {v: load_dataset(spec.data_file(v)) for v in spec.names}
    for variant, p in spec.plan().items():
        for activation, placement in spec.networks():
            parts.append(model_rows(spec.run_file(activation, placement, p["job"]), variant,
                                    placement, p["setting"], p["epoch"],
                                    jobs[p["job"]]["read"], data[variant].X_train))
    frame = pd.concat(parts, ignore_index=True)
    order = {v: i for i, v in enumerate(spec.names)}
    frame["rank"] = frame.variant.map(order)
    frame["is_bn"] = frame.placement != NONE
    return frame.sort_values(["rank", "activation", "is_bn", "init", "seed"], kind="stable",
                             ignore_index=True).drop(columns=["rank", "is_bn"])


def build(spec) -> dict[str, pd.DataFrame]:
    frame = models(spec)
    return {"models": frame, "verdicts": judge(spec, frame)}
