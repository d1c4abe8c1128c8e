"""Tidy tables of the size study from its run files (pandas; imported by the commands only).

Per sub-study, one table per model (``*_runs``) and one summary table:

- width: ``size_width_runs.csv`` (dataset, width, seed, accuracies, epochs, success) and
  ``size_width.csv`` (per dataset x width: success rate with its Wilson 95% interval,
  quartiles of the test accuracy, of the epochs to 95% training accuracy);
- dead: ``size_dead_runs.csv`` (per model x hidden layer x tau: activation-dead,
  norm-dead and dead shares, live units, APoZ) and ``size_dead.csv`` (per dataset x
  regularizer x width x tau: mean shares, and the effective width ``k_eff``, the largest
  number of live units of any hidden layer, with its quartiles);
- lottery: ``size_lottery_runs.csv`` (per arm x level x draw x seed) and
  ``size_lottery.csv`` (per dataset x arm x level: accuracy and early-stopping quartiles);
- structured: ``size_structured_runs.csv``, ``size_structured.csv`` (per dataset x target
  x arm x k: success rate with its Wilson interval) and ``size_structured_live.csv``
  (live units per layer of every source network).

``summarize`` writes them and returns ``{name: frame}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.io import InputError, load_npz
from trainability.prune import weights_of_width
from trainability.studies.size_runs import Protocol
from trainability.tables import write_csv

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion: ``(low, high)`` (NaN where n = 0)."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _load(path, required=()) -> tuple[dict, dict]:
    arrays = load_npz(path, ("meta", *required))
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: corrupt metadata ({e})") from None
    return meta, arrays


def _dataset(meta: dict) -> str:
    return meta["dataset"]["name"]


def _reg(meta: dict) -> tuple[str, float]:
    if meta.get("group_lasso", 0) > 0:
        return "group_lasso", meta["group_lasso"]
    if meta.get("l2", 0) > 0:
        return "l2", meta["l2"]
    return "none", 0.0


def _success(frame: pd.DataFrame, thresholds: Mapping[str, float]) -> pd.DataFrame:
    missing = sorted(set(frame.dataset) - set(thresholds))
    if missing:
        raise InputError(f"no success threshold for dataset(s) {', '.join(missing)} "
                         "(--thresholds DATASET=ACC)")
    threshold = frame.dataset.map(thresholds)
    return frame.assign(threshold=threshold, success=frame.test_acc >= threshold)


def _quartiles(g, column: str, prefix: str) -> pd.DataFrame:
    q = g[column].quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = [f"{prefix}_q25", f"{prefix}_median", f"{prefix}_q75"]
    return q


def _rates(g) -> pd.DataFrame:
    out = pd.DataFrame({"n": g.size(), "successes": g.success.sum().astype(int)})
    out["success_rate"] = out.successes / out.n
    out["ci_low"], out["ci_high"] = wilson(out.successes, out.n)
    return out


# ---------------------------------------------------------------- width


def width_runs(paths: Sequence, thresholds: Mapping[str, float]) -> pd.DataFrame:
    frames = []
    for path in paths:
        meta, a = _load(path, ("seed", "test_acc", "active", "scores"))
        reg, strength = _reg(meta)
        frames.append(pd.DataFrame({
            "dataset": _dataset(meta), "regularizer": reg, "strength": strength,
            "width": int(meta["width"]), "depth": int(meta["depth"]),
            "weights": weights_of_width(Protocol(depth=int(meta["depth"])).arch(1),
                                        int(meta["width"])),
            "seed": a["seed"], "test_acc": a["test_acc"], "val_acc": a["val_acc"],
            "train_acc": a["train_acc"], "early_stop": a["early_stop"],
            "epochs_to_95": a["epochs_to_95"], "diverged": a["diverged"].astype(bool),
            "epochs": int(meta["epochs"]),
        }))
    if not frames:
        raise InputError("no run files given")
    runs = pd.concat(frames, ignore_index=True)
    return _success(runs, thresholds).sort_values(
        ["dataset", "regularizer", "width", "seed"], ignore_index=True)


def width_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "width"])
    out = _rates(g)
    out["weights"] = g.weights.first()
    out["threshold"] = g.threshold.first()
    out = out.join(_quartiles(g, "test_acc", "acc"))
    out["acc_min"], out["acc_max"] = g.test_acc.min(), g.test_acc.max()
    out = out.join(_quartiles(g, "epochs_to_95", "epochs_to_95"))
    out["never_95"] = g.epochs_to_95.apply(lambda s: int(s.isna().sum()))
    out["diverged"] = g.diverged.sum().astype(int)
    return out.reset_index()


# ---------------------------------------------------------------- dead units


def dead_runs(paths: Sequence, taus: Sequence[float]) -> pd.DataFrame:
    """One row per model x hidden layer x tau."""
    frames = []
    for path in paths:
        meta, a = _load(path, ("seed", "test_acc", "active", "scores"))
        reg, strength = _reg(meta)
        active, scores = a["active"], a["scores"]  # (K, depth, width)
        k, depth, width = active.shape
        finite = np.isfinite(scores).all(axis=(1, 2))
        top = scores.max(axis=2, keepdims=True)
        act_dead = active == 0
        for tau in taus:
            norm_dead = (scores < tau * top) | (top == 0)
            dead = act_dead | norm_dead
            frames.append(pd.DataFrame({
                "dataset": _dataset(meta), "regularizer": reg, "strength": strength,
                "width": width,
                "seed": np.repeat(a["seed"], depth),
                "layer": np.tile(np.arange(1, depth + 1), k),
                "tau": tau,
                "act_dead": act_dead.mean(axis=2).ravel(),
                "norm_dead": norm_dead.mean(axis=2).ravel(),
                "dead": dead.mean(axis=2).ravel(),
                "live": (~dead).sum(axis=2).ravel(),
                "apoz": (1 - active).mean(axis=2).ravel(),
                "test_acc": np.repeat(a["test_acc"], depth),
                "finite": np.repeat(finite, depth),
            }))
    if not frames:
        raise InputError("no run files given")
    runs = pd.concat(frames, ignore_index=True)
    runs = runs[runs.finite].drop(columns="finite")
    return runs.sort_values(["dataset", "regularizer", "width", "tau", "seed", "layer"],
                            ignore_index=True)


def dead_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x regularizer x width x tau: mean shares over seeds and layers, the
    effective width (max live units over layers, per model) and per-layer median live."""
    keys = ["dataset", "regularizer", "strength", "width", "tau"]
    g = runs.groupby(keys)
    out = g[["act_dead", "norm_dead", "dead", "apoz"]].mean()
    per_model = runs.groupby(keys + ["seed"])
    k_eff = per_model.live.max().rename("k_eff").reset_index()
    acc = per_model.test_acc.first().reset_index()
    out = out.join(_quartiles(k_eff.groupby(keys), "k_eff", "k_eff"))
    out["test_acc_median"] = acc.groupby(keys).test_acc.median()
    out["n"] = k_eff.groupby(keys).size()
    live = runs.groupby(keys + ["layer"]).live.median().unstack("layer")
    live.columns = [f"live_median_{c}" for c in live.columns]
    layer_dead = runs.groupby(keys + ["layer"]).dead.mean().unstack("layer")
    layer_dead.columns = [f"dead_{c}" for c in layer_dead.columns]
    return out.join(live).join(layer_dead).reset_index()


# ---------------------------------------------------------------- lottery


LOTTERY_COLUMNS = ("level", "draw", "seed", "width", "weights", "density", "struct_dead",
                   "test_acc", "val_acc", "early_stop", "epochs_to_95", "diverged")


def lottery_runs(paths: Sequence) -> pd.DataFrame:
    frames = []
    for path in paths:
        meta, a = _load(path, LOTTERY_COLUMNS)
        frames.append(pd.DataFrame({
            "dataset": _dataset(meta), "arm": meta["arm"], "big_width": int(meta["width"]),
            **{c: a[c] for c in LOTTERY_COLUMNS},
            "epochs": int(meta["epochs"]),
        }))
    if not frames:
        raise InputError("no run files given")
    runs = pd.concat(frames, ignore_index=True)
    runs["diverged"] = runs.diverged.astype(bool)
    return runs.sort_values(["dataset", "arm", "level", "draw", "seed"], ignore_index=True)


def lottery_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "arm", "level"])
    out = pd.DataFrame({
        "density": g.density.mean(), "weights": g.weights.mean(), "width": g.width.first(),
        "n": g.size(), "acc_mean": g.test_acc.mean(), "acc_sd": g.test_acc.std(ddof=1),
        "acc_min": g.test_acc.min(), "acc_max": g.test_acc.max(),
        "struct_dead": g.struct_dead.mean(), "diverged": g.diverged.sum().astype(int),
    })
    out = out.join(_quartiles(g, "test_acc", "acc"))
    out = out.join(_quartiles(g, "early_stop", "early_stop"))
    out = out.join(_quartiles(g, "epochs_to_95", "epochs_to_95"))
    return out.reset_index()


# ---------------------------------------------------------------- structured


STRUCTURED_COLUMNS = ("arm", "target", "k", "seed", "test_acc", "val_acc", "early_stop",
                      "epochs_to_95", "diverged", "source_live", "source_seed")


def structured_runs(paths: Sequence, thresholds: Mapping[str, float]
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, live = [], []
    for path in paths:
        meta, a = _load(path, STRUCTURED_COLUMNS)
        name = _dataset(meta)
        frames.append(pd.DataFrame({
            "dataset": name, "big_width": int(meta["width"]),
            **{c: a[c] for c in STRUCTURED_COLUMNS[:-2]},
        }))
        src = a["source_live"]  # (K, depth)
        live.append(pd.DataFrame({
            "dataset": name, "big_width": int(meta["width"]), "seed": a["source_seed"],
            **{f"live_{i + 1}": src[:, i] for i in range(src.shape[1])},
            "k_eff": np.maximum(src.max(axis=1), 1),
        }))
    if not frames:
        raise InputError("no run files given")
    runs = _success(pd.concat(frames, ignore_index=True), thresholds)
    runs["diverged"] = runs.diverged.astype(bool)
    runs = runs.sort_values(["dataset", "target", "arm", "k", "seed"], ignore_index=True)
    return runs, pd.concat(live, ignore_index=True)


def structured_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "target", "arm", "k"])
    out = _rates(g).join(_quartiles(g, "test_acc", "acc"))
    out["threshold"] = g.threshold.first()
    out["big_width"] = g.big_width.first()
    return out.reset_index()


# ---------------------------------------------------------------- writing


def summarize(study: str, paths: Sequence, thresholds: Mapping[str, float],
              taus: Sequence[float], tau: float, width_table, tables_dir
              ) -> dict[str, pd.DataFrame]:
    """Write the tables of one sub-study into ``tables_dir``; return them by file stem
    (plus ``width`` read from ``width_table`` when given, for the figures)."""
    tables_dir = Path(tables_dir)
    if study == "width":
        runs = width_runs(paths, thresholds)
        tables = {"size_width_runs": runs, "size_width": width_summary(runs)}
    elif study == "dead":
        taus = sorted(set(taus) | {tau})
        runs = dead_runs(paths, taus)
        tables = {"size_dead_runs": runs, "size_dead": dead_summary(runs).assign(
            main_tau=lambda f: np.isclose(f.tau, tau))}
    elif study == "lottery":
        runs = lottery_runs(paths)
        tables = {"size_lottery_runs": runs, "size_lottery": lottery_summary(runs)}
    elif study == "structured":
        runs, live = structured_runs(paths, thresholds)
        tables = {"size_structured_runs": runs, "size_structured": structured_summary(runs),
                  "size_structured_live": live}
    else:
        raise ValueError(f"unknown sub-study {study!r}")
    for name, frame in tables.items():
        write_csv(tables_dir / f"{name}.csv", frame)
    if width_table:
        tables["width"] = read_csv(width_table)
    return tables


def read_csv(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable CSV table ({e})") from None


def needed_width(width: pd.DataFrame, reliable: float) -> int | None:
    """The narrowest width from which every wider width succeeds for at least ``reliable``
    of its seeds (None if even the widest does not). ``width``: one dataset's rows."""
    d = width.sort_values("width")
    ok = (d.success_rate >= reliable).to_numpy()
    if not ok.size or not ok[-1]:
        return None
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return int(d.width.iloc[i])


def fmt_rate(successes: int, n: int) -> str:
    """``"47/50 = 0.94 [0.84, 0.98]"``: count, rate and Wilson 95% interval."""
    if n == 0:
        return "no models"
    lo, hi = wilson(successes, n)
    return f"{successes}/{n} = {successes / n:.2f} [{float(lo):.2f}, {float(hi):.2f}]"
