"""Tidy tables from run files, and reading and writing them.

From a run file of ``trainability train`` (``run_frames``):

- runs: one row per trained model (its settings, final metrics and status);
- history: one row per model and epoch (losses and accuracies; epoch 0 = at init; the
  Keras-style running means when recorded);
- layers: one row per model, diagnostic epoch and layer (gradient and activation
  statistics; layer ``depth + 1`` is the classifier, whose activation columns are empty).

Diverged models keep their rows: status ``diverged``, the epoch, NaN final metrics, and
``float32_fault`` when the model diverged in float32 but not in float64 (a numerical fault
of ours, which the sections' sanity checks report).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trainability import study
from trainability.io import InputError, atomic_path, load_run, write_text
from trainability.train import PER_DENSE, PER_HIDDEN, SCALARS

# recorded by some runs only: Keras-style per-epoch means; a validation split's history
OPTIONAL = ("running_loss", "running_acc", "val_loss", "val_acc")

KEYS = ["study", "activation", "init", "width", "depth", "seed"]
TRAINED = 0.95  # "reaches 95% training accuracy"
# gzip level of .csv.gz tables: 6 compresses a 120,000-row history 4x faster than the
# default 9 (0.3 s against 1.3 s) into a file 3% larger
COMPRESSLEVEL = 6


def _settings(meta: dict, study: str) -> dict:
    """The settings every model of a run file shares (its initializer is per model)."""
    return {
        "study": study,
        "dataset": meta["dataset"]["name"],
        "activation": meta["activation"],
        "init_scale": meta["init_scale"],
        "width": meta["width"],
        "depth": meta["depth"],
        "batch_norm": " ".join(map(str, meta["batch_norm"])) or "none",
        "optimizer": meta["optimizer"],
        "lr": meta["lr"],
        "eps": meta["eps"],
        "eps_convention": meta["eps_convention"],
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


def _run_rows(settings, models, hist, arrays) -> pd.DataFrame:
    diverged = arrays["diverged_epoch"]
    test_loss = np.where(np.isnan(hist["test_loss"]), np.inf, hist["test_loss"])
    front = {k: settings[k] for k in ("study", "dataset", "activation")}
    # a setting that varies between the models of a file (the learning rate) is per model
    rest = {k: models.get(k, v) for k, v in settings.items() if k not in front}
    return pd.DataFrame(
        {
            **front,
            "init": models["init"],
            **rest,
            "seed": models["seed"],
            **{name: hist[name][:, -1] for name in SCALARS},
            **{name: hist[name][:, -1] for name in ("val_loss", "val_acc") if name in hist},
            "status": arrays["status"],
            "diverged_epoch": np.where(diverged >= 0, diverged, np.nan),
            # diverged in float32 but not when trained again in float64: a numerical fault
            "float32_fault": (diverged >= 0) & ~arrays["float64_diverged"],
            "best_test_epoch": test_loss.argmin(axis=1),
            # training accuracy as Keras reports it (every epoch; the whole training set's
            # may be evaluated at a few epochs only)
            "epochs_to_95": _first_epoch(hist.get("running_acc", hist["train_acc"]) >= TRAINED),
        }
    )


def _history_rows(keys, models, scalars) -> pd.DataFrame:
    """Rows per model x epoch of the ``(K, E+1)`` arrays ``scalars``."""
    k, n_epochs = next(iter(scalars.values())).shape
    return pd.DataFrame({
        **keys,
        **{name: np.repeat(values, n_epochs) for name, values in models.items()},
        "epoch": np.tile(np.arange(n_epochs), k),
        **{name: values.ravel() for name, values in scalars.items()},
    })


def _layer_rows(keys, models, epochs, columns) -> pd.DataFrame:
    """Rows per model x epoch x layer of the ``(K, len(epochs), layers)`` arrays."""
    k, n_epochs, n_layers = next(iter(columns.values())).shape
    n = n_epochs * n_layers
    return pd.DataFrame({
        **keys,
        **{name: np.repeat(values, n) for name, values in models.items()},
        "epoch": np.tile(np.repeat(epochs, n_layers), k),
        "layer": np.tile(np.arange(1, n_layers + 1), k * n_epochs),
        **{name: values.ravel() for name, values in columns.items()},
    })


def _layer_columns(hist, epochs) -> dict[str, np.ndarray]:
    """The per-layer statistics at ``epochs``; hidden-layer ones padded with NaN for the
    classifier (layer depth + 1)."""
    out = {name: hist[name][:, epochs] for name in PER_DENSE}
    for name in PER_HIDDEN:
        values = hist[name][:, epochs]
        out[name] = np.concatenate([values, np.full(values.shape[:2] + (1,), np.nan)], axis=2)
    return out


def _setting_columns(meta: dict, index: np.ndarray) -> dict[str, np.ndarray]:
    """Each model's value of every setting that varies between the file's models (the
    optimizer's ``name`` is the column ``optimizer``)."""
    settings = meta["settings"]
    out = {}
    for key in dict.fromkeys(k for setting in settings for k in setting):
        column = "optimizer" if key == "name" else key
        out[column] = np.asarray([settings[i].get(key, meta[column]) for i in index])
    return out


def run_frames(path, study: str = "grid"):
    """``(runs, history, layers)`` of one run file written by ``trainability train``: one
    row per model; per model and epoch (epoch 0 = at initialization); per model, recorded
    epoch and layer (the classifier is layer depth + 1)."""
    meta, hist, arrays = load_run(path)
    missing = [k for k in SCALARS + PER_DENSE + PER_HIDDEN if k not in hist]
    if missing:
        raise InputError(f"{path}: missing history arrays {missing}")
    settings = _settings(meta, study)
    k = len(arrays["seeds"])
    inits = arrays["inits"] if "inits" in arrays else np.repeat(meta["init"], k)
    models = {"init": np.asarray(inits).astype(str), "seed": arrays["seeds"]}
    if "lrs" in arrays:  # several learning rates in one file
        models["lr"] = arrays["lrs"].astype(float)
    if "settings" in arrays:  # several optimizer settings in one file
        models |= _setting_columns(meta, arrays["settings"])
    keys = {key: settings[key] for key in KEYS if key not in ("init", "seed")}
    history = _history_rows(keys, models, {n: hist[n] for n in SCALARS + OPTIONAL if n in hist})
    # epochs with diagnostics: every epoch, or a schedule (NaN elsewhere)
    recorded = np.flatnonzero(np.isfinite(hist["grad_norm"]).any(axis=(0, 2)))
    layers = _layer_rows(keys, models, recorded, _layer_columns(hist, recorded))
    return _run_rows(settings, models, hist, arrays), history, layers


def load_tables(paths: Sequence[str | Path], study: str = "grid"):
    """``(runs, history, layers)`` data frames of several run files, concatenated."""
    frames = [run_frames(path, study) for path in paths]
    if not frames:
        raise InputError("no run files given")
    return tuple(pd.concat(parts, ignore_index=True) for parts in zip(*frames, strict=True))


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
        # no name or time in the gzip header: same table, same bytes
        with atomic_path(path) as tmp, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0,
                               compresslevel=COMPRESSLEVEL) as f:
                f.write(text.encode())
    else:
        write_text(path, text)


def read_study_tables(spec, tables_dir) -> dict:
    """The tables a study's spec names, read back (its ``tables.read`` if it has one, for
    columns that need a type)."""
    tables_module = study.module(spec.study, "tables")
    if hasattr(tables_module, "read"):
        return tables_module.read(spec, tables_dir)
    return {name: read_table(Path(tables_dir) / file) for name, file in spec.tables().items()}


def write_study_tables(spec, root="results") -> list[Path]:
    """The tables stage: build the study's tables from its run files and write them."""
    out = study.paths(spec.study, root)["tables"]
    frames = study.module(spec.study, "tables").build(spec)
    files = spec.tables()
    if set(frames) != set(files):
        raise RuntimeError(f"{spec.study}: tables built {sorted(frames)}, declared {sorted(files)}")
    for name, file in files.items():
        write_csv(out / file, frames[name])
    return [out / file for file in files.values()]
