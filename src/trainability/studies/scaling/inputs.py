"""The scaling study's rescaled inputs: the grid's dataset with its features multiplied by
``input_scale``, and that standardized with the training split's mean and std (the same
points, labels and split). A module of its own, so that editing the forward-pass job
(``runs.py``) does not remake the inputs and retrain on them.
"""

from __future__ import annotations

import numpy as np

from trainability.data import Dataset, dataset_meta, load_dataset, save_dataset


def make_inputs(data_path, scale: float, scaled_out, standardized_out) -> str:
    """The dataset's features multiplied by ``scale`` (``scaled_out``), and those
    standardized to mean 0 and std 1 with the training split's statistics
    (``standardized_out``): the same points, labels and split."""
    data = load_dataset(data_path)
    source = dataset_meta(data_path)
    scaled = Dataset(data.X_train * scale, data.y_train, data.X_test * scale, data.y_test)
    mean, std = scaled.X_train.mean(axis=0), scaled.X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    standardized = Dataset((scaled.X_train - mean) / std, data.y_train,
                           (scaled.X_test - mean) / std, data.y_test)
    # the settings of `trainability dataset` that would make the same points, and how
    for out, made, standardize in ((scaled_out, scaled, False),
                                   (standardized_out, standardized, True)):
        save_dataset(out, made, {**source, "scale": source.get("scale", 1.0) * scale,
                                 "standardize": standardize, "made_by": "scaling-inputs"})
    return f"wrote {scaled_out} and {standardized_out} (features x {scale:g})"
