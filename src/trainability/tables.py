"""Tidy tables from the per-cell run files, and the headline metrics DVC shows.

- ``runs.csv``: one row per trained model (its settings, final metrics and status);
- ``history.csv``: one row per model and epoch (losses and accuracies; epoch 0 = at init);
- ``layers.csv.gz``: one row per model, epoch and layer (gradient and activation
  statistics; layer ``depth + 1`` is the classifier, whose activation columns are empty);
- ``metrics.json``: the lecture's claims in numbers, for ``dvc exp show``.

Diverged models keep their rows: status ``diverged``, the epoch, and NaN final metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.io import InputError, load_run, write_json, write_text
from trainability.train import PER_DENSE, PER_HIDDEN, SCALARS

KEYS = ["study", "activation", "init", "width", "depth", "seed"]
LECTURE_ACTIVATIONS = ("relu", "sigmoid", "tanh")
LECTURE_INITS = ("random_normal", "zeros")
TRAINED = 0.95  # "reaches 95% training accuracy"


def _settings(meta: dict, study: str) -> dict:
    return {
        "study": study,
        "dataset": meta["dataset"]["name"],
        "activation": meta["activation"],
        "init": meta["init"],
        "init_scale": meta["init_scale"],
        "width": meta["width"],
        "depth": meta["depth"],
        "batch_norm": " ".join(map(str, meta["batch_norm"])) or "none",
        "optimizer": meta["optimizer"],
        "lr": meta["lr"],
        "l2": meta["l2"],
        "schedule": meta["schedule"],
        "epochs": meta["epochs"],
        "batch_size": meta["batch_size"],
    }


def _first_epoch(reached: np.ndarray) -> np.ndarray:
    """First epoch index where ``reached`` (K, E+1) is True, NaN if never."""
    first = reached.argmax(axis=1).astype(float)
    first[~reached.any(axis=1)] = np.nan
    return first


def _run_rows(settings, seeds, hist, arrays) -> pd.DataFrame:
    diverged = arrays["diverged_epoch"]
    test_loss = np.where(np.isnan(hist["test_loss"]), np.inf, hist["test_loss"])
    return pd.DataFrame(
        {
            **settings,
            "seed": seeds,
            **{name: hist[name][:, -1] for name in SCALARS},
            "status": arrays["status"],
            "diverged_epoch": np.where(diverged >= 0, diverged, np.nan),
            "best_test_epoch": test_loss.argmin(axis=1),
            "epochs_to_95": _first_epoch(hist["train_acc"] >= TRAINED),
        }
    )


def _history_rows(keys, seeds, hist) -> pd.DataFrame:
    k, n_epochs = hist["train_loss"].shape
    return pd.DataFrame(
        {
            **keys,
            "seed": np.repeat(seeds, n_epochs),
            "epoch": np.tile(np.arange(n_epochs), k),
            **{name: hist[name].ravel() for name in SCALARS},
        }
    )


def _layer_rows(keys, seeds, hist) -> pd.DataFrame:
    k, n_epochs, n_layers = hist["grad_norm"].shape
    per_layer = {name: hist[name].ravel() for name in PER_DENSE}
    for name in PER_HIDDEN:  # hidden layers only: pad the classifier with NaN
        padded = np.concatenate([hist[name], np.full((k, n_epochs, 1), np.nan)], axis=2)
        per_layer[name] = padded.ravel()
    return pd.DataFrame(
        {
            **keys,
            "seed": np.repeat(seeds, n_epochs * n_layers),
            "epoch": np.tile(np.repeat(np.arange(n_epochs), n_layers), k),
            "layer": np.tile(np.arange(1, n_layers + 1), k * n_epochs),
            **per_layer,
        }
    )


def load_tables(paths: Sequence[str | Path], study: str = "grid"):
    """``(runs, history, layers)`` data frames from run files written by ``trainability train``."""
    runs, history, layers = [], [], []
    for path in paths:
        meta, hist, arrays = load_run(path)
        missing = [k for k in SCALARS + PER_DENSE + PER_HIDDEN if k not in hist]
        if missing:
            raise InputError(f"{path}: missing history arrays {missing}")
        settings = _settings(meta, study)
        keys = {key: settings[key] for key in KEYS if key != "seed"}
        seeds = arrays["seeds"]
        runs.append(_run_rows(settings, seeds, hist, arrays))
        history.append(_history_rows(keys, seeds, hist))
        layers.append(_layer_rows(keys, seeds, hist))
    if not runs:
        raise InputError("no run files given")
    return tuple(pd.concat(frames, ignore_index=True) for frames in (runs, history, layers))


def headline_metrics(runs: pd.DataFrame, width: int) -> dict:
    """The lecture's cells at the running example's width, and the grid at a glance."""
    ok = runs[runs.status == "ok"]
    lecture = {}
    at_width = runs[runs.width == width]
    for act in LECTURE_ACTIVATIONS:
        for init in LECTURE_INITS:
            cell = at_width[(at_width.activation == act) & (at_width.init == init)]
            if len(cell):
                lecture.setdefault(act, {})[init] = {
                    "test_acc": _round(cell.test_acc.mean()),
                    "test_acc_std": _round(cell.test_acc.std(ddof=1) if len(cell) > 1 else 0.0),
                }
    cells = runs.groupby(["activation", "init", "width"]).test_acc.mean()
    best = cells.idxmax() if cells.notna().any() else None
    return {
        "grid": {
            "running_example": lecture,
            "models": int(len(runs)),
            "diverged": int((runs.status == "diverged").sum()),
            "mean_test_acc": _round(ok.test_acc.mean()),
            "cells_above_0.9": int((cells > 0.9).sum()),
            "cells": int(len(cells)),
            "best_cell": f"{best[0]}/{best[1]}/w{best[2]}" if best else None,
            "best_test_acc": _round(cells.max()),
        },
    }


def _round(x) -> float | None:
    return None if pd.isna(x) else round(float(x), 6)


def read_table(path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV table; a missing or unreadable file, or a missing column, is an InputError."""
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found (run the job that writes it first)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable CSV table ({e})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing columns {', '.join(missing)}")
    return table


def write_csv(path, frame: pd.DataFrame) -> None:
    """Deterministic CSV (fixed float format), written atomically."""
    text = frame.to_csv(index=False, float_format="%.9g", lineterminator="\n")
    if str(path).endswith(".gz"):
        import gzip

        from trainability.io import atomic_path

        # no name or time in the gzip header: same table, same bytes
        with atomic_path(path) as tmp, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
                f.write(text.encode())
    else:
        write_text(path, text)


def aggregate(paths, tables_dir, metrics_path, plots_dir, width: int, study: str = "grid") -> None:
    runs, history, layers = load_tables(paths, study)
    tables_dir, plots_dir = Path(tables_dir), Path(plots_dir)
    write_csv(tables_dir / "runs.csv", runs)
    write_csv(tables_dir / "history.csv", history)
    write_csv(tables_dir / "layers.csv.gz", layers)
    write_json(metrics_path, headline_metrics(runs, width))
    by_cell = (
        runs.assign(cell=runs.activation + "/" + runs.init + "/w" + runs.width.astype(str))
        .groupby("cell", sort=True)
        .test_acc.mean()
        .reset_index()
    )
    write_csv(plots_dir / "test_acc_by_cell.csv", by_cell)
