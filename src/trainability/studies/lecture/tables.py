"""The lecture study's tables.

- ``curves``: per figure (``random_normal``, ``zeros``, ``batch_norm``), activation, seed and
  epoch (1..epochs), the training loss and accuracy as Keras' history holds them (the mean
  over the epoch's mini-batches, in training mode: what the lecture drew);
- ``gradients``: per activation, seed, epoch (0 = initialization) and weight matrix (the
  classifier is layer depth + 1), the mean and std of the entries of its gradient on the
  whole training set, as the trainer recorded it (the running example, random_normal);
- ``outputs``: per init std (1, 0.01), activation, seed and hidden layer, the mean and std
  of the layer's outputs at initialization (all units and training points pooled) and
  the share exactly 0, at the running width;
- ``histograms``: per init std, activation, layer and bin, the count and share of those
  outputs (seeds pooled; outputs beyond the range in the end bins): the range is the
  activation's own where it has one (sigmoid [0, 1], tanh [-1, 1]), else from 0 to the
  99th percentile of the panel's outputs;
- ``values``: every value read off the lecture's figures (``values.py``) beside ours: the
  mean over seeds of the per-seed statistic, its 95% interval, the seeds' range, and
  where ours falls (``verdict_of``);
- ``claims``: the running-example claims judged on these runs (``claims.py``), one row
  per check.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trainability.claims import bootstrap_mean
from trainability.data import load_dataset
from trainability.learns import Guess
from trainability.model import Architecture, Layout, init_params
from trainability.studies.batchnorm.spec import NONE
from trainability.studies.batchnorm.tables import ratios as bn_ratios
from trainability.studies.gradients.tables import run_tables
from trainability.studies.lecture.claims import claims_table, running_claims
from trainability.studies.lecture.spec import CURVES, INIT, STDS, std_name
from trainability.studies.lecture.values import VALUES, Value
from trainability.studies.scaling.runs import forward_layers, layer_stats, output_range
from trainability.tables import load_tables, run_frames

INSIDE, WITHIN_SEEDS, OUTSIDE = "inside", "outside, within the seeds", "outside"
NOT_TRAINED, NO_VALUE = "not trained", "no seed has a value"
VERDICTS = (INSIDE, WITHIN_SEEDS, OUTSIDE, NOT_TRAINED, NO_VALUE)
CURVE_COLUMNS = ["source", "activation", "seed", "epoch", "loss", "acc"]
GRADIENT_COLUMNS = ["activation", "seed", "epoch", "layer", "grad_mean", "grad_std"]
OUTPUT_STATS = ("mean", "std", "zero")


def build(spec) -> dict[str, pd.DataFrame]:
    data = load_dataset(spec.dataset)
    grid = load_tables(list(spec.grid_files.values()), "grid") if spec.grid_files else None
    bn = _bn_frames(spec)
    curves = curves_table(spec, grid[1] if grid else None, bn[1])
    gradients = gradients_table(spec)
    outputs, histograms = init_outputs(spec, data.X_train)
    runs = grid[0] if grid else pd.DataFrame(columns=["activation", "init", "width", "seed"])
    claims = running_claims(spec, runs, _sigmoid_ratios(spec, data), bn[0], bn[2],
                            Guess.of(data.y_test), Guess.of(data.y_train))
    return {"curves": curves, "gradients": gradients, "outputs": outputs,
            "histograms": histograms, "values": values_table(spec, curves, gradients, outputs),
            "claims": claims_table(claims)}


# ---------------------------------------------------------------- from the run files


def _bn_frames(spec):
    """``(runs, history, ratios)`` of the batch-norm runs, with their ``placement``, as
    the batch-norm study's tables have them."""
    files = [(spec.bn_none, NONE)] if spec.bn_none else []
    files += [(path, spec.placement) for path in spec.bn_files.values()]
    frames = [[f.assign(placement=p) for f in run_frames(path, "batchnorm")]
              for path, p in files]
    if not frames:
        empty = pd.DataFrame(columns=["activation", "placement", "seed", "epoch", "status",
                                      "test_acc", "log10_ratio"])
        return empty, empty, empty
    runs, history, layers = (pd.concat(parts, ignore_index=True)
                             for parts in zip(*frames, strict=True))
    return runs, history, bn_ratios(layers, spec)


def _sigmoid_ratios(spec, data) -> pd.DataFrame:
    """The gradient study's ratios table of its sigmoid runs at every depth (claim G1)."""
    parts = [run_tables(path, data)[1] for path in spec.gradient_depths.values()]
    if not parts:
        return pd.DataFrame(columns=["activation", "init", "depth", "seed", "moment",
                                     "log10_ratio", "status"])
    return pd.concat(parts, ignore_index=True)


def curves_table(spec, grid_history, bn_history) -> pd.DataFrame:
    parts = []
    for source in CURVES:
        if not spec.curve_files(source):
            continue
        if source == "batch_norm":
            rows = bn_history[(bn_history.placement == spec.placement)
                              & bn_history.activation.isin(list(spec.curve_files(source)))]
        else:
            init = "zeros" if source == "zeros" else INIT
            rows = grid_history[(grid_history["init"] == init)
                                & (grid_history.width == spec.width)]
        rows = rows[rows.epoch >= 1]  # Keras' history starts after the first epoch
        parts.append(pd.DataFrame({"source": source, "activation": rows.activation,
                                   "seed": rows.seed, "epoch": rows.epoch,
                                   "loss": rows.running_loss, "acc": rows.running_acc}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=CURVE_COLUMNS)
    return frame[CURVE_COLUMNS]


def gradients_table(spec) -> pd.DataFrame:
    parts = []
    for path in spec.gradient_figure_files().values():
        layers = run_frames(path, "gradients")[2]
        parts.append(layers[layers["init"] == INIT][GRADIENT_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=GRADIENT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- at initialization


def init_outputs(spec, X: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(outputs, histograms)``: the running width's hidden layers at initialization,
    random_normal at each of ``STDS``, ``spec.seeds`` networks each (seeds 0.., the same
    hidden weights as a training job's models of those seeds), on the training points."""
    X = np.asarray(X, dtype=float)
    seeds = list(range(spec.seeds))
    outputs, histograms = [], []
    for std in STDS:
        for activation in ("relu", "sigmoid", "tanh"):
            arch = Architecture(spec.depth, spec.width, activation, n_inputs=X.shape[1])
            theta = init_params(Layout(arch), INIT, seeds, std)
            for layer, (z, a) in enumerate(forward_layers(arch, theta, X), 1):
                stats = layer_stats(z, a, activation)
                outputs.append(pd.DataFrame({
                    "init_std": std, "activation": activation, "seed": seeds, "layer": layer,
                    **{k: stats[k] for k in OUTPUT_STATS}}))
                histograms.append(_histogram(a, std, activation, layer, spec.bins))
    return pd.concat(outputs, ignore_index=True), pd.concat(histograms, ignore_index=True)


def _histogram(a: np.ndarray, std: float, activation: str, layer: int,
               bins: int) -> pd.DataFrame:
    v = np.ravel(a)
    v = v[np.isfinite(v)]
    lo, hi = output_range(activation, [v])
    counts, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    return pd.DataFrame({"init_std": std, "activation": activation, "layer": layer,
                         "bin": np.arange(bins), "lo": edges[:-1], "hi": edges[1:],
                         "count": counts, "share": counts / max(len(v), 1)})


# ---------------------------------------------------------------- the lecture's values


def per_seed(spec, value: Value, curves: pd.DataFrame, gradients: pd.DataFrame,
             outputs: pd.DataFrame) -> np.ndarray:
    """Our number for ``value``, one per seed (NaN where a seed has none: it diverged, or
    it never reaches the level of a ``reach``)."""
    if value.source in CURVES:
        rows = curves[(curves.source == value.source) & (curves.activation == value.activation)]
        curve = rows.pivot(index="epoch", columns="seed", values=value.metric).sort_index()
        if value.statistic == "first":
            return curve.loc[curve.index.min()].to_numpy(float)
        if value.statistic == "last":
            return curve.loc[spec.epochs].to_numpy(float) if spec.epochs in curve.index \
                else np.full(curve.shape[1], np.nan)
        if value.statistic in ("min", "max"):
            return getattr(curve, value.statistic)(skipna=False).to_numpy(float)
        if value.statistic == "reach":
            reached = curve.to_numpy(float) >= value.level - spec.tolerance["accuracy"]
            first = curve.index.to_numpy()[reached.argmax(axis=0)].astype(float)
            return np.where(reached.any(axis=0), first, np.nan)
    if value.source == "gradients":
        rows = gradients[gradients.activation == value.activation]
        classifier = int(rows.layer.max())
        if value.statistic == "hidden_max_abs":
            hidden = rows[rows.layer < classifier]
            return hidden.assign(v=hidden[value.metric].abs()).groupby("seed").v.max() \
                .to_numpy(float)
        last = rows[rows.layer == classifier].groupby("seed")[value.metric]
        return (last.min() if value.statistic == "classifier_min" else last.max()) \
            .to_numpy(float)
    if value.source in (std_name(s) for s in STDS):
        std = next(s for s in STDS if std_name(s) == value.source)
        rows = outputs[(outputs.init_std == std) & (outputs.activation == value.activation)
                       & (outputs.layer == value.layer)].sort_values("seed")
        return rows[value.metric].to_numpy(float)
    raise ValueError(f"lecture value {value.key}: no statistic {value.statistic!r} for "
                     f"{value.source!r}")


def band(spec, value: Value) -> tuple[float, float]:
    """The read-off value widened by its tolerance: ``[lo - t(lo), hi + t(hi)]``."""
    return (value.lo - spec.tolerance_of(value.kind, value.lo),
            value.hi + spec.tolerance_of(value.kind, value.hi))


def verdict_of(band_lo: float, band_hi: float, ci: tuple[float, float],
               seeds: tuple[float, float], mean: float) -> str:
    """Where ours falls: ``inside`` when the 95% interval of our mean reaches the lecture's
    value within its tolerance (without an interval: the mean itself); else ``outside,
    within the seeds`` when one of our seeds reaches it (a single run like the lecture's
    could show it), else ``outside``."""
    lo, hi = ci if all(map(math.isfinite, ci)) else (mean, mean)
    if lo <= band_hi and hi >= band_lo:
        return INSIDE
    if seeds[0] <= band_hi and seeds[1] >= band_lo:
        return WITHIN_SEEDS
    return OUTSIDE


def values_table(spec, curves, gradients, outputs) -> pd.DataFrame:
    rows = []
    for value in VALUES:
        b_lo, b_hi = band(spec, value)
        row = {"key": value.key, "figure": value.figure, "source": value.source,
               "activation": value.activation, "what": value.what, "kind": value.kind,
               "shown": value.shown, "lecture_lo": value.lo, "lecture_hi": value.hi,
               "band_lo": b_lo, "band_hi": b_hi}
        if not spec.trained(value.source, value.activation):
            rows.append(row | {"mean": math.nan, "ci_lo": math.nan, "ci_hi": math.nan,
                               "seed_min": math.nan, "seed_max": math.nan, "n": 0,
                               "n_seeds": 0, "verdict": NOT_TRAINED})
            continue
        v = per_seed(spec, value, curves, gradients, outputs)
        mean, lo, hi, n = bootstrap_mean(v)
        finite = v[np.isfinite(v)]
        seeds = (float(finite.min()), float(finite.max())) if n else (math.nan, math.nan)
        if n:
            verdict = verdict_of(b_lo, b_hi, (lo, hi), seeds, mean)
        else:  # no seed reaches the level within the epochs: later than the lecture's
            verdict = OUTSIDE if value.statistic == "reach" else NO_VALUE
        rows.append(row | {"mean": mean, "ci_lo": lo, "ci_hi": hi, "seed_min": seeds[0],
                           "seed_max": seeds[1], "n": n, "n_seeds": len(v),
                           "verdict": verdict})
    return pd.DataFrame(rows)
