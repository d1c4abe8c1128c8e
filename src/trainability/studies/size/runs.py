"""The size study's training jobs, NumPy only: what ``trainability size-train``,
``size-lottery`` and ``size-structured`` run (``commands.py`` parses their arguments).

One job per dataset and sub-study, each writing one ``.npz``:

- ``width_job``: every width of the width and dead-unit studies, without regularization and,
  at the dead-unit widths, with L2 and with group lasso; all seeds of a width and
  regularizer in one batch. Per model: accuracies, epochs, early stopping; per width and
  regularizer: every hidden unit's active fraction on the fit points and its score;
- ``lottery_job``: every arm of the lottery-ticket study (``lottery.py``);
- ``structured_job``: structured pruning of wide regularized networks (``structured.py``).

A run file holds its settings as JSON (``meta``), with the dataset's, and no timings: the
same inputs give the same bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, replace

import numpy as np

from trainability import prune
from trainability.data import dataset_meta, load_dataset
from trainability.io import save_npz
from trainability.model import Layout
from trainability.studies.size.lottery import Pruning, lottery
from trainability.studies.size.structured import structured_run
from trainability.studies.size.training import Protocol, Split, concat, fit, model_rows, split

REGULARIZERS = ("none", "l2", "group_lasso")


def unit_key(name: str, reg: str, width: int) -> str:
    """The run-file key of a per-unit array (``active`` or ``scores``) of one width."""
    return f"{name}_{reg}_w{width}"


def width_run(protocol: Protocol, data: Split, width: int, seeds: Sequence[int],
              reg: str = "none") -> dict:
    """Train ``width`` for every seed; record accuracies and per-unit statistics.

    ``active (K, depth, width)``: share of fit points on which a unit is active;
    ``scores``: the unit scores ``||(w_in, b)|| ||w_out||`` of the trained network.
    """
    t = fit(protocol, width, data, seeds)
    arch = protocol.arch(width)
    finite = np.isfinite(t.theta).all(axis=1)
    theta = np.where(finite[:, None], t.theta, 0.0)
    k = len(seeds)
    active = prune.active_fraction(theta, arch, data.fit.X_train)
    scores = prune.unit_scores(theta, Layout(arch))
    return {
        "rows": {"regularizer": np.full(k, reg), "width": np.full(k, width),
                 "seed": np.asarray(seeds), **model_rows(t), "train_acc": t.train_acc[:, -1]},
        unit_key("active", reg, width): np.where(finite[:, None, None], active, np.nan),
        unit_key("scores", reg, width): np.where(finite[:, None, None], scores, np.nan),
    }


def width_job(data_path, out, protocol: Protocol, validation_fraction: float, *,
              widths: Sequence[int], seeds: Sequence[int],
              regularized_widths: Sequence[int] = (), regularized_seeds: int = 0,
              l2: float = 0.0, group_lasso: float = 0.0) -> str:
    """``seeds[i]`` seeds (0, 1, ...) of ``widths[i]`` unregularized; ``regularized_seeds``
    seeds of each of ``regularized_widths`` with L2 ``l2`` and with group lasso."""
    data = split(load_dataset(data_path), validation_fraction)
    plan = [("none", protocol, w, n) for w, n in zip(widths, seeds, strict=True)]
    for reg, strength in (("l2", {"l2": l2}), ("group_lasso", {"group_lasso": group_lasso})):
        plan += [(reg, replace(protocol, **strength), w, regularized_seeds)
                 for w in regularized_widths]
    start = time.perf_counter()
    rows, units = [], {}
    for reg, p, width, n in plan:
        result = width_run(p, data, width, list(range(n)), reg)
        rows.append(result.pop("rows"))
        units |= result
    meta = _meta(data_path, protocol, validation_fraction, widths=list(widths),
                 seeds=list(seeds), regularized_widths=list(regularized_widths),
                 regularized_seeds=regularized_seeds, l2=l2, group_lasso=group_lasso)
    save_npz(out, meta=meta, **concat(rows), **units)
    return f"size-train: {len(plan)} batches in {time.perf_counter() - start:.1f} s"


def lottery_job(data_path, out, protocol: Protocol, validation_fraction: float, *,
                width: int, seeds: int, pruning: Pruning, draws: int,
                rewind_epoch: int) -> str:
    data = split(load_dataset(data_path), validation_fraction)
    start = time.perf_counter()
    result = lottery(protocol, data, width, range(seeds), pruning, draws=draws,
                     rewind_epoch=rewind_epoch)
    meta = _meta(data_path, protocol, validation_fraction, width=width, seeds=seeds,
                 rates=[pruning.first, pruning.hidden, pruning.output],
                 target_density=pruning.target_density, draws=draws,
                 rewind_epoch=rewind_epoch)
    save_npz(out, meta=meta, **result)
    levels = int(result["level"].max()) + 1
    return (f"size-lottery w{width}: {levels} levels x 6 arms in "
            f"{time.perf_counter() - start:.1f} s")


def structured_job(data_path, out, protocol: Protocol, validation_fraction: float, *,
                   width: int, seeds: int, widths: Sequence[int], tau: float,
                   finetune_epochs: int) -> str:
    data = split(load_dataset(data_path), validation_fraction)
    start = time.perf_counter()
    result = structured_run(protocol, data, width, range(seeds), widths, tau,
                            finetune_epochs)
    meta = _meta(data_path, protocol, validation_fraction, width=width, seeds=seeds,
                 widths=list(widths), tau=tau, finetune_epochs=finetune_epochs)
    save_npz(out, meta=meta, **result)
    live = result["source_live"].max(axis=1)
    return (f"size-structured w{width}: {seeds} seeds in {time.perf_counter() - start:.1f} s,"
            f" live units per layer (max over layers) median {np.median(live):.0f}")


def _meta(data_path, protocol: Protocol, validation_fraction: float, **settings) -> np.ndarray:
    """The job's settings and dataset as JSON (no timings: same inputs, same bytes)."""
    meta = {**asdict(protocol), "validation_fraction": validation_fraction, **settings,
            "dataset": dataset_meta(data_path)}
    return np.asarray(json.dumps(meta, sort_keys=True))
