"""The grid's figures, one function per figure; ``make`` lists what the spec declares.

- ``data.png``: the train and test points, coloured by class;
- ``lecture_{init}.png``: the lecture's figure for one initializer at the running width;
- ``heatmap_w{width}.png``: final test accuracy, activation x init, at one width;
- ``accuracy_vs_width.png``: final test accuracy against width of the lecture's
  activations at its initializer, with 95% intervals;
- ``accuracy_vs_width_all.png``: the same for every cell, a panel per initializer;
- ``boundaries_lecture.png``, ``boundaries_w{width}.png`` and ``boundary_animation.gif``:
  see ``boundaries.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from trainability.claims import bootstrap_mean
from trainability.data import Dataset, load_dataset
from trainability.io import InputError
from trainability.order import activation_order, init_order
from trainability.plotting import (
    ACC_LABEL,
    CLASS_COLORS,
    FEATURE,
    LOSS_LABEL,
    MIN_FONT_PT,
    SPLIT_COLORS,
    TEST_ACC_LABEL,
    ensure_span,
    figure,
    legend_outside,
    panel_grid,
    style,
    suptitle,
)
from trainability.studies.grid import boundaries
from trainability.studies.grid.tables import cells

MIN_SPAN = {"loss": 0.1, "acc": 0.2}  # smallest y-range, so a flat curve looks flat
LECTURE_COLUMNS = 4  # activations per row of the lecture's figure
CURVE_LABELS = {
    "running_loss": "train (epoch mean of batches)", "running_acc": "train (epoch mean of batches)",
    "train_loss": "train (full pass)", "train_acc": "train (full pass)",
    "test_loss": "test (full pass)", "test_acc": "test (full pass)",
}


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    runs, history = tables["runs"], tables["history"]
    data = load_dataset(spec.dataset)
    name = spec.data["name"]
    out = {"data.png": lambda: data_figure(data, name)}
    for init in spec.inits:
        out[f"lecture_{init}.png"] = lambda i=init: lecture_figure(history, i, spec.width)
    for w in spec.widths:
        out[f"heatmap_w{w}.png"] = lambda w=w: heatmap_figure(runs, w)
    acts, init = spec.lecture_activations(), spec.lecture_init
    out["accuracy_vs_width.png"] = lambda: lecture_width_figure(runs, acts, init)
    out["accuracy_vs_width_all.png"] = lambda: accuracy_vs_width_figure(runs)
    maps = boundaries.final_maps(spec, data)
    out["boundaries_lecture.png"] = lambda: boundaries.lecture_boundaries_figure(maps, data,
                                                                                 spec)
    for w in spec.widths:
        out[f"boundaries_w{w}.png"] = lambda w=w: boundaries.boundaries_figure(maps, data, w)
    if spec.animation_cells():
        out["boundary_animation.gif"] = lambda: boundaries.animation(spec, data)
    return out


def data_figure(data: Dataset, name: str = "") -> Figure:
    """The train and test points side by side, coloured by class, on the same axes."""
    with style():
        fig = figure(8.0, 4.4)
        axes = fig.subplots(1, 2, sharex=True, sharey=True)
        for ax, split, X, y in (
            (axes[0], "train", data.X_train, data.y_train),
            (axes[1], "test", data.X_test, data.y_test),
        ):
            for cls in (0, 1):
                pts = X[y == cls]
                ax.scatter(pts[:, 0], pts[:, 1], s=9, color=CLASS_COLORS[cls], alpha=0.8,
                           linewidths=0, label=f"class {cls}")
            counts = ", ".join(f"{int((y == c).sum())} of class {c}" for c in (0, 1))
            ax.set_title(f"{split}: {len(y)} points ({counts})")
            ax.set_xlabel(FEATURE.format(0))
            ax.set_aspect("equal", adjustable="box")
        axes[0].set_ylabel(FEATURE.format(1))
        legend_outside(fig, axes, "below", markerscale=2)
        suptitle(fig, f"The dataset{f' ({name})' if name else ''}, coloured by class")
    return fig


def lecture_figure(history: pd.DataFrame, init: str, width: int) -> Figure:
    """The lecture's loss/accuracy grid for one initializer at one width.

    Columns: activations; rows: loss, accuracy; lines: mean over seeds, band: min to max
    over seeds. The training curve is what Keras' history holds (and the lecture drew): per
    epoch, the mean of the mini-batch values seen during the epoch, in training mode, from
    epoch 1 (``running_*``; a full pass over the training set when a run did not record
    them). The test curve is a full pass over the test set after each epoch, from epoch 0.
    Every panel keeps its own vertical scale, as in the lecture. Dotted grey lines mark
    ln 2 (the loss of predicting 0.5) and a coin flip.
    """
    cell = history[(history.init == init) & (history.width == width)]
    if cell.empty:
        raise InputError(f"no history rows for init {init!r} at width {width}")
    activations = activation_order(cell.activation)
    n_seeds = cell.groupby("activation").seed.nunique()
    groups, columns = panel_grid(len(activations), LECTURE_COLUMNS)
    with style():
        fig = figure(2.45 * columns + 0.9, 4.3 * groups + 1.3)
        axes = np.asarray(fig.subplots(2 * groups, columns, sharex=True, squeeze=False))
        for k, act in enumerate(activations):
            g, j = divmod(k, columns)
            rows = cell[cell.activation == act]
            per_epoch = rows.groupby("epoch")
            last = rows[rows.epoch == rows.epoch.max()]
            n_div = int(last.test_loss.isna().sum())
            title = f"{act} ({n_seeds[act]} seeds)"
            if n_div:
                title += f"\n{n_div} diverged"
            for i, (metric, label, ref) in enumerate(
                (("loss", LOSS_LABEL, np.log(2)), ("acc", ACC_LABEL, 0.5))
            ):
                ax = axes[2 * g + i, j]
                ax.axhline(ref, color="0.6", lw=0.8, ls=":",
                           label="ln 2" if metric == "loss" else "coin flip")
                for split, col in _curves(rows, metric):
                    stats = per_epoch[col].agg(["mean", "min", "max"]).dropna()
                    color = SPLIT_COLORS[split]
                    ax.fill_between(stats.index, stats["min"], stats["max"], color=color,
                                    alpha=0.2, linewidth=0)
                    ax.plot(stats.index, stats["mean"], color=color, lw=1.4,
                            ls="-" if split == "train" else "--", label=CURVE_LABELS[col])
                ensure_span(ax, MIN_SPAN[metric])
                if j == 0:
                    ax.set_ylabel(label)
            axes[2 * g, j].set_title(title)
            axes[2 * g + 1, j].set_xlabel("epoch")
            axes[2 * g + 1, j].xaxis.set_tick_params(labelbottom=True)
        for k in range(len(activations), groups * columns):  # the last row's empty places
            g, j = divmod(k, columns)
            axes[2 * g, j].set_visible(False)
            axes[2 * g + 1, j].set_visible(False)
        legend_outside(fig, axes, "below")
        suptitle(fig, f"Initialization {init}, width {width}: train and test curves per "
                 "activation", "line = mean over seeds, band = min to max over seeds; each "
                 "panel has its own vertical scale")
    return fig


def _curves(rows: pd.DataFrame, metric: str) -> list[tuple[str, str]]:
    """``(split, column)`` of the curves to draw: Keras' running training values when the
    runs recorded them, else the full pass."""
    running = f"running_{metric}"
    train = running if running in rows and rows[running].notna().any() else f"train_{metric}"
    return [("train", train), ("test", f"test_{metric}")]


def heatmap_figure(runs: pd.DataFrame, width: int) -> Figure:
    """Final test accuracy, activation (rows) x init (columns), at one width.

    Cells show "mean / +-sd" over the seeds that did not diverge and, when some did, how
    many; a cell whose seeds all diverged is hatched grey and says so.
    """
    at = runs[runs.width == width]
    if at.empty:
        raise InputError(f"no runs at width {width}")
    summary = cells(at).set_index(["activation", "init"])
    acts, inits = activation_order(at.activation), init_order(at.init)
    mean = summary.test_acc.unstack("init").reindex(index=acts, columns=inits)
    text = np.full(mean.shape, "", dtype=object)
    for i, act in enumerate(acts):
        for j, init in enumerate(inits):
            if (act, init) not in summary.index:
                text[i, j] = "not run"
                continue
            s = summary.loc[(act, init)]
            n_ok, n_div = int(s.n_ok), int(s.n_diverged)
            lines = []
            if n_ok:
                lines.append(f"{s.test_acc:.3f}")
                lines.append(f"±{s.test_acc_sd:.3f}" if n_ok > 1 else "(1 seed)")
            if n_div:
                lines.append(f"all {n_div}\ndiverged" if not n_ok else f"{n_div} diverged")
            text[i, j] = "\n".join(lines)
    n_seeds = int(at.groupby(["activation", "init"]).size().max())
    with style():
        fig = figure(max(0.9 * len(inits) + 2.8, 6.5), 0.62 * len(acts) + 2.3)
        ax = fig.subplots()
        ax.set_facecolor("0.85")
        sns.heatmap(
            mean, ax=ax, vmin=0.5, vmax=1.0, cmap="viridis", annot=text, fmt="",
            annot_kws={"fontsize": MIN_FONT_PT}, linewidths=0.5, linecolor="white",
            cbar_kws={"label": TEST_ACC_LABEL},
        )
        for i, j in zip(*np.nonzero(mean.isna().to_numpy()), strict=True):
            ax.add_patch(Rectangle((j, i), 1, 1, fill=False, hatch="//", edgecolor="0.7", lw=0))
            ax.text(j + 0.5, i + 0.5, text[i, j], ha="center", va="center",
                    fontsize=MIN_FONT_PT, color="0.1",
                    bbox={"facecolor": "0.85", "edgecolor": "none", "pad": 1})
        ax.set_xlabel("weight initialization")
        ax.set_ylabel("hidden activation")
        ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
        ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
        ax.set_title(
            f"Final test accuracy at width {width}: mean ±1 sd over up to {n_seeds} seeds\n"
            "diverged models: excluded from mean and sd, counted in the cell;\n"
            "colour scale clipped at 0.5 (the number is exact)"
        )
    return fig


def lecture_width_figure(runs: pd.DataFrame, activations, init: str) -> Figure:
    """Final test accuracy vs width (log2 axis) of ``activations`` at ``init``, one panel:
    per width the mean over the seeds that did not diverge with its 95% bootstrap
    interval (the checks' interval), the activations a little apart sideways."""
    at = runs[(runs["init"] == init) & runs.activation.isin(list(activations))]
    if at.empty:
        raise InputError(f"no runs of {', '.join(activations)} at init {init!r}")
    acts = activation_order(at.activation)
    widths = sorted(int(w) for w in at.width.unique())
    colors = dict(zip(acts, sns.color_palette("colorblind", len(acts)), strict=True))
    offsets = dict(zip(acts, np.linspace(-0.08, 0.08, len(acts)) if len(acts) > 1 else [0.0],
                       strict=True))
    notes, low = [], 0.45
    with style():
        fig = figure(7.0, 4.3)
        ax = fig.subplots()
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":", label="coin flip")
        for act in acts:
            rows = at[at.activation == act]
            points = []
            for w in widths:
                cell = rows[rows.width == w]
                ok = cell.test_acc[cell.status == "ok"].to_numpy(float)
                if len(cell) > len(ok):
                    notes.append(f"{act} w{w}: {len(cell) - len(ok)} of {len(cell)}")
                if len(ok):
                    mean, lo, hi, _ = bootstrap_mean(ok)
                    lo, hi = (mean, mean) if not np.isfinite(lo) else (lo, hi)
                    points.append((w * 2.0 ** offsets[act], mean, lo, hi))
            if not points:
                continue
            x, mean, lo, hi = (np.array(v) for v in zip(*points, strict=True))
            ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], color=colors[act], marker="o",
                        ms=5, lw=1.6, capsize=3, label=act)
            low = min(low, float(lo.min()))
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.set_ylim(low - 0.03, 1.01)
        ax.set_xlabel("width (units per hidden layer, log2 scale)")
        ax.set_ylabel(TEST_ACC_LABEL)
        legend_outside(fig, ax, title="activation")
        lines = [f"Final test accuracy vs width, {init} initialization",
                 "mean over seeds, bars: 95% bootstrap interval; dotted: a coin flip"]
        if notes:
            lines.append("diverged, left out: " + ", ".join(notes))
        ax.set_title("\n".join(lines))
    return fig


def accuracy_vs_width_figure(runs: pd.DataFrame) -> Figure:
    """Final test accuracy vs width (log2 axis): a panel per init, a line per activation."""
    summary = cells(runs)
    acts, inits = activation_order(runs.activation), init_order(runs.init)
    widths = sorted(runs.width.unique())
    nrows, ncols = panel_grid(len(inits), 4)
    colors = sns.color_palette("tab10" if len(acts) <= 10 else "husl", len(acts))
    palette = dict(zip(acts, colors, strict=True))
    spread = 0.12 if len(acts) > 1 else 0.0
    offsets = dict(zip(acts, np.linspace(-spread, spread, len(acts)), strict=True))
    lo = min(0.4, float(np.nanmin((summary.test_acc - summary.test_acc_sd.fillna(0))
                                  .to_numpy())) if summary.test_acc.notna().any() else 0.4)
    with style():
        fig = figure(2.4 * ncols + 1.0, 2.5 * nrows + 1.3)
        axes = np.asarray(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False))
        for k, init in enumerate(inits):
            ax = axes.flat[k]
            notes = []
            for act in acts:
                s = summary[(summary.init == init) & (summary.activation == act)]
                s = s.sort_values("width")
                if s.empty:
                    continue
                x = s.width.to_numpy(float) * 2.0 ** offsets[act]
                ax.errorbar(x, s.test_acc, yerr=s.test_acc_sd.fillna(0), color=palette[act],
                            marker="o", ms=3.5, lw=1.2, capsize=2, label=act)
                for _, r in s[s.n_diverged > 0].iterrows():
                    notes.append(f"{act} w{r.width}: {r.n_diverged}/{r.n}")
            ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
            ax.set_title(init if not notes else f"{init}\ndiverged: " + ", ".join(notes))
        for ax in axes.flat[len(inits):]:
            ax.set_visible(False)
        axes.flat[0].set_xscale("log", base=2)
        axes.flat[0].set_xticks(widths, [str(w) for w in widths])
        axes.flat[0].minorticks_off()
        for k in range(max(0, len(inits) - ncols), len(inits)):  # lowest panel of each column
            axes.flat[k].xaxis.set_tick_params(labelbottom=True)
        fig.supxlabel("width (units per hidden layer, log2 scale)")
        fig.supylabel(TEST_ACC_LABEL)
        axes.flat[0].set_ylim(lo - 0.02, 1.02)
        free = axes.flat[len(inits):]
        legend_outside(fig, axes, free[0] if len(free) else "right", title="activation")
        suptitle(fig, "Final test accuracy vs width, one panel per initialization",
                 "mean over non-diverged seeds, error bars ±1 sd over seeds; dotted line = "
                 "coin flip")
    return fig
