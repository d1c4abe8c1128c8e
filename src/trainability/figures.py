"""Figures of the grid study: one pure function per figure, and ``make_figures`` to write them.

Each ``*_figure`` function takes data frames or arrays and returns a matplotlib ``Figure``
(built without pyplot, so no global figure state and no display backend). ``make_figures``
writes every figure the workflow names (``figure_names``) as PNG, atomically, without the
software-version and time metadata matplotlib would otherwise embed, so the bytes depend
only on the inputs (and the fonts of the machine).

- ``data.png``: the train and test points, coloured by class;
- ``lecture_{init}.png``: the lecture's figure for one initializer at the running width:
  loss (top) and accuracy (bottom) per epoch, one column per activation, train and test
  curves as the mean over seeds with a min-max band, each column on its own vertical scale;
- ``heatmap_w{width}.png``: final test accuracy, activation x init, "mean / +-sd" per cell
  and the number of diverged models;
- ``accuracy_vs_width.png``: final test accuracy against width, one line per activation,
  one panel per initializer, error bars +-1 sd over seeds;
- ``boundaries_w{width}.png``: what the first seed of every cell learned: its predicted
  probability of class 1 over the plane, with the test points on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from trainability.activations import sigmoid
from trainability.data import Dataset
from trainability.io import InputError, load_run
from trainability.model import Architecture, BatchNormState, Network
from trainability.order import activation_order, init_order
from trainability.plotting import (
    ACC_LABEL,
    CLASS_COLORS,
    FEATURE,
    LOSS_LABEL,
    SPLIT_COLORS,
    TEST_ACC_LABEL,
    save_figure,
)
from trainability.plotting import ensure_span as _ensure_span
from trainability.plotting import figure as _figure
from trainability.plotting import style as _style
from trainability.tables import read_table

# what the studies not yet in the study shape import from here
__all__ = ["ACC_LABEL", "TEST_ACC_LABEL", "_ensure_span", "_figure", "_style",
           "activation_order", "init_order", "read_table", "save_figure"]
MIN_SPAN = {"loss": 0.1, "acc": 0.2}  # smallest y-range, so a flat curve looks flat


# ---------------------------------------------------------------- names and order


def figure_names(inits: Iterable[str], widths: Iterable[int]) -> list[str]:
    """Every file ``make_figures`` writes, for the inits and widths of the tables."""
    widths = sorted({int(w) for w in widths})
    return (
        ["data.png"]
        + [f"lecture_{init}.png" for init in init_order(inits)]
        + [f"heatmap_w{w}.png" for w in widths]
        + ["accuracy_vs_width.png"]
        + [f"boundaries_w{w}.png" for w in widths]
    )


def load_grid_tables(tables_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, history)`` from the folder ``trainability aggregate`` wrote."""
    tables = Path(tables_dir)
    return (
        read_table(tables / "runs.csv", RUNS_COLUMNS),
        read_table(tables / "history.csv", HISTORY_COLUMNS),
    )


RUNS_COLUMNS = ("activation", "init", "width", "seed", "train_loss", "train_acc", "test_loss",
                "test_acc", "status")
HISTORY_COLUMNS = ("activation", "init", "width", "seed", "epoch", "train_loss", "train_acc",
                   "test_loss", "test_acc")


def check_one_setting(runs: pd.DataFrame) -> None:
    """The grid figures group by activation x init x width: other settings must not vary."""
    for column in ("dataset", "depth", "batch_norm"):
        if column in runs and runs[column].nunique() > 1:
            values = ", ".join(map(str, sorted(runs[column].unique())))
            raise InputError(
                f"the runs table mixes {column} values ({values}); the grid figures need one "
                "setting per table"
            )


# ---------------------------------------------------------------- helpers


def _cell_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Final test accuracy per activation x init x width: mean, sd, counts (ok, diverged)."""
    ok = runs.status == "ok"
    frame = runs.assign(acc_ok=runs.test_acc.where(ok), is_ok=ok, is_div=runs.status == "diverged")
    g = frame.groupby(["activation", "init", "width"])
    return pd.DataFrame(
        {
            "mean": g.acc_ok.mean(),
            "sd": g.acc_ok.std(ddof=1),
            "n_ok": g.is_ok.sum(),
            "n_diverged": g.is_div.sum(),
            "n": g.size(),
        }
    )


# ---------------------------------------------------------------- the figures


def data_figure(data: Dataset, name: str = "") -> Figure:
    """The train and test points side by side, coloured by class, on the same axes."""
    with _style():
        fig = _figure(8.0, 4.0)
        axes = fig.subplots(1, 2, sharex=True, sharey=True)
        for ax, split, X, y in (
            (axes[0], "train", data.X_train, data.y_train),
            (axes[1], "test", data.X_test, data.y_test),
        ):
            for cls in (0, 1):
                pts = X[y == cls]
                ax.scatter(pts[:, 0], pts[:, 1], s=9, color=CLASS_COLORS[cls], alpha=0.8,
                           linewidths=0, label=f"class {cls} ({len(pts)})")
            ax.set_title(f"{split}: {len(y)} points")
            ax.set_xlabel(FEATURE.format(0))
            ax.set_aspect("equal", adjustable="box")
            ax.legend(loc="upper right", fontsize="small", frameon=True)
        axes[0].set_ylabel(FEATURE.format(1))
        fig.suptitle(f"The dataset{f' ({name})' if name else ''}, coloured by class")
    return fig


def lecture_figure(history: pd.DataFrame, init: str, width: int) -> Figure:
    """The lecture's loss/accuracy grid for one initializer at one width.

    Columns: activations; rows: loss, accuracy; lines: mean over seeds of train and test,
    band: min to max over seeds. Every panel keeps its own vertical scale, as in the
    lecture. Dotted grey lines mark ln 2 (the loss of predicting 0.5) and a coin flip.
    """
    cell = history[(history.init == init) & (history.width == width)]
    if cell.empty:
        raise InputError(f"no history rows for init {init!r} at width {width}")
    activations = activation_order(cell.activation)
    n_seeds = cell.groupby("activation").seed.nunique()
    with _style():
        fig = _figure(2.7 * len(activations) + 0.6, 5.4)
        axes = np.asarray(fig.subplots(2, len(activations), sharex=True, squeeze=False))
        for j, act in enumerate(activations):
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
                ax = axes[i, j]
                ax.axhline(ref, color="0.6", lw=0.8, ls=":",
                           label="ln 2" if metric == "loss" else "coin flip")
                for split in ("train", "test"):
                    col = f"{split}_{metric}"
                    stats = per_epoch[col].agg(["mean", "min", "max"])
                    color = SPLIT_COLORS[split]
                    ax.fill_between(stats.index, stats["min"], stats["max"], color=color,
                                    alpha=0.2, linewidth=0)
                    ax.plot(stats.index, stats["mean"], color=color, lw=1.4,
                            ls="-" if split == "train" else "--", label=split)
                _ensure_span(ax, MIN_SPAN[metric])
                if j == 0:
                    ax.set_ylabel(label)
            axes[0, j].set_title(title)
            axes[1, j].set_xlabel("epoch")
        axes[0, 0].legend(loc="upper right", fontsize="small")
        axes[1, 0].legend(loc="lower right", fontsize="small")
        fig.suptitle(
            f"Initialization {init}, width {width}: train and test curves per activation\n"
            "line = mean over seeds, band = min to max over seeds; each panel has its own "
            "vertical scale"
        )
    return fig


def heatmap_figure(runs: pd.DataFrame, width: int) -> Figure:
    """Final test accuracy, activation (rows) x init (columns), at one width.

    Cells show "mean / +-sd" over the seeds that did not diverge and, when some did, how
    many; a cell whose seeds all diverged is hatched grey and says so.
    """
    at = runs[runs.width == width]
    if at.empty:
        raise InputError(f"no runs at width {width}")
    summary = _cell_summary(at).droplevel("width")
    acts, inits = activation_order(at.activation), init_order(at.init)
    mean = summary["mean"].unstack("init").reindex(index=acts, columns=inits)
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
                lines.append(f"{s['mean']:.3f}")
                lines.append(f"±{s.sd:.3f}" if n_ok > 1 else "(1 seed)")
            if n_div:
                lines.append(f"all {n_div}\ndiverged" if not n_ok else f"{n_div} diverged")
            text[i, j] = "\n".join(lines)
    n_seeds = int(at.groupby(["activation", "init"]).size().max())
    with _style():
        fig = _figure(max(1.05 * len(inits) + 2.6, 6.5), 0.62 * len(acts) + 1.9)
        ax = fig.subplots()
        ax.set_facecolor("0.85")
        sns.heatmap(
            mean, ax=ax, vmin=0.5, vmax=1.0, cmap="viridis", annot=text, fmt="",
            annot_kws={"fontsize": 7.5}, linewidths=0.5, linecolor="white",
            cbar_kws={"label": TEST_ACC_LABEL},
        )
        for i, j in zip(*np.nonzero(mean.isna().to_numpy()), strict=True):
            ax.add_patch(Rectangle((j, i), 1, 1, fill=False, hatch="//", edgecolor="0.7", lw=0))
            ax.text(j + 0.5, i + 0.5, text[i, j], ha="center", va="center", fontsize=7.5,
                    color="0.1", bbox={"facecolor": "0.85", "edgecolor": "none", "pad": 1})
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


def accuracy_vs_width_figure(runs: pd.DataFrame) -> Figure:
    """Final test accuracy vs width (log2 axis): a panel per init, a line per activation."""
    summary = _cell_summary(runs).reset_index()
    acts, inits = activation_order(runs.activation), init_order(runs.init)
    widths = sorted(runs.width.unique())
    ncols = min(len(inits), 5)
    nrows = -(-len(inits) // ncols)
    colors = sns.color_palette("tab10" if len(acts) <= 10 else "husl", len(acts))
    palette = dict(zip(acts, colors, strict=True))
    spread = 0.12 if len(acts) > 1 else 0.0
    offsets = dict(zip(acts, np.linspace(-spread, spread, len(acts)), strict=True))
    lo = min(0.4, float(np.nanmin((summary["mean"] - summary.sd.fillna(0)).to_numpy()))
             if summary["mean"].notna().any() else 0.4)
    with _style():
        fig = _figure(3.0 * ncols + 1.6, 2.7 * nrows + 0.8)
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
                ax.errorbar(x, s["mean"], yerr=s.sd.fillna(0), color=palette[act], marker="o",
                            ms=3.5, lw=1.2, capsize=2, label=act)
                for _, r in s[s.n_diverged > 0].iterrows():
                    notes.append(f"{act} w{r.width}: {r.n_diverged}/{r.n}")
            ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
            ax.set_title(init)
            if notes:
                ax.text(0.02, 0.02, "diverged: " + ", ".join(notes), transform=ax.transAxes,
                        fontsize=6.5, va="bottom", color="0.3")
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
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="activation")
        fig.suptitle(
            "Final test accuracy vs width, one panel per initialization\n"
            "mean over non-diverged seeds, error bars ±1 sd over seeds; dotted line = coin flip"
        )
    return fig


# ---------------------------------------------------------------- decision boundaries


@dataclass
class BoundaryMap:
    """What one model (the first seed of a cell) predicts over a grid of the plane."""

    activation: str
    init: str
    width: int
    seed: int
    status: str  # "ok" or "diverged"
    prob: np.ndarray | None  # (ny, nx) predicted probability of class 1, None if diverged


def plane_grid(data: Dataset, n: int = 120, margin: float = 0.15):
    """``(xs, ys)`` spanning all data points plus ``margin`` of their range on each side."""
    X = np.concatenate([data.X_train, data.X_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    return np.linspace(lo[0] - pad[0], hi[0] + pad[0], n), np.linspace(lo[1] - pad[1],
                                                                        hi[1] + pad[1], n)


def _train_bn_stats(net: Network, params, X_train: np.ndarray) -> BatchNormState:
    """Batch-norm statistics over the whole training set (run files keep no running ones)."""
    _, cache = net.forward(params, X_train, training=True)
    mean, var = {}, {}
    for j in net.arch.batch_norm:
        a = cache[j - 1][2]
        mean[j], var[j] = a.mean(axis=1, keepdims=True), a.var(axis=1, keepdims=True)
    return BatchNormState(mean, var)


def boundary_map(path, data: Dataset, xs: np.ndarray, ys: np.ndarray) -> BoundaryMap:
    """The first seed's predicted probability over ``xs x ys`` for one run file."""
    meta, _, arrays = load_run(path)
    seeds = np.asarray(arrays["seeds"])
    k = int(np.argmin(seeds))
    arch = Architecture(int(meta["depth"]), int(meta["width"]), meta["activation"],
                        tuple(meta.get("batch_norm", ())), n_inputs=data.X_train.shape[1])
    status = str(np.asarray(arrays["status"])[k])
    base = dict(activation=meta["activation"], init=meta["init"], width=int(meta["width"]),
                seed=int(seeds[k]), status=status)
    theta = np.asarray(arrays["theta"][k : k + 1], dtype=np.float64)
    if status != "ok" or not np.isfinite(theta).all():
        return BoundaryMap(**base, prob=None)
    net = Network(arch)
    params = net.bind(theta)
    bn = _train_bn_stats(net, params, data.X_train) if arch.batch_norm else None
    gx, gy = np.meshgrid(xs, ys)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    with np.errstate(all="ignore"):
        logits, _ = net.forward(params, points, bn)
    return BoundaryMap(**base, prob=sigmoid(logits[0, :, 0]).reshape(gx.shape))


def boundaries_figure(
    maps: Sequence[BoundaryMap], data: Dataset, xs: np.ndarray, ys: np.ndarray, width: int
) -> Figure:
    """Rows: activations; columns: inits; filled contours of P(class 1), test points on top."""
    maps = [m for m in maps if m.width == width]
    if not maps:
        raise InputError(f"no run files at width {width}")
    acts = activation_order(m.activation for m in maps)
    inits = init_order(m.init for m in maps)
    by_cell = {(m.activation, m.init): m for m in maps}
    levels = np.linspace(0.0, 1.0, 11)
    cmap = ListedColormap(sns.color_palette("RdBu_r", len(levels) - 1))
    X, y = data.X_test, data.y_test
    seeds = sorted({m.seed for m in maps})
    with _style():
        fig = _figure(1.75 * len(inits) + 1.4, 1.75 * len(acts) + 1.0)
        axes = np.asarray(fig.subplots(len(acts), len(inits), sharex=True, sharey=True,
                                       squeeze=False))
        mappable = None
        for i, act in enumerate(acts):
            for j, init in enumerate(inits):
                ax = axes[i, j]
                m = by_cell.get((act, init))
                if m is not None and m.prob is not None:
                    mappable = ax.contourf(xs, ys, np.clip(m.prob, 0, 1), levels=levels,
                                           cmap=cmap, vmin=0, vmax=1, alpha=0.55)
                    ax.contour(xs, ys, m.prob, levels=[0.5], colors="k", linewidths=0.7)
                else:
                    ax.set_facecolor("0.85")
                    ax.text(0.5, 0.5, "diverged" if m is not None else "not run",
                            transform=ax.transAxes, ha="center", va="center", fontsize=8,
                            zorder=5, bbox={"facecolor": "white", "edgecolor": "0.5"})
                for cls in (0, 1):
                    pts = X[y == cls]
                    ax.scatter(pts[:, 0], pts[:, 1], s=5, color=CLASS_COLORS[cls],
                               marker="o" if cls == 0 else "^", edgecolors="black",
                               linewidths=0.25)
                ax.set_xlim(xs[0], xs[-1])
                ax.set_ylim(ys[0], ys[-1])
                ax.set_aspect("equal")
                ax.tick_params(labelsize=6)
                if i == 0:
                    ax.set_title(init, fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{act}\n{FEATURE.format(1)}", fontsize=7)
                if i == len(acts) - 1:
                    ax.set_xlabel(FEATURE.format(0), fontsize=7)
        if mappable is not None:
            cbar = fig.colorbar(mappable, ax=axes, shrink=0.6, pad=0.01)
            cbar.set_label("predicted P(class 1)")
        seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else "first seed"
        fig.suptitle(
            f"What each network learned (width {width}, {seed_text} of each cell)\n"
            "colour: predicted P(class 1), black line: P = 0.5\n"
            "test points: blue circles = class 0, red triangles = class 1",
            fontsize="medium",
        )
    return fig


# ---------------------------------------------------------------- writing


def make_figures(
    data: Dataset,
    runs: pd.DataFrame,
    history: pd.DataFrame,
    run_files: Sequence[str | Path],
    width: int,
    out_dir,
    dataset_name: str = "",
) -> list[Path]:
    """Write every figure of ``figure_names`` into ``out_dir``; return the paths written."""
    if runs.empty:
        raise InputError("the runs table is empty")
    check_one_setting(runs)
    if not (history.width == width).any():
        raise InputError(f"the history table has no runs at the running width {width}")
    out_dir = Path(out_dir)
    inits, widths = init_order(history.init), sorted(int(w) for w in runs.width.unique())
    xs, ys = plane_grid(data)
    maps = [boundary_map(path, data, xs, ys) for path in run_files]
    figures = {"data.png": lambda: data_figure(data, dataset_name)}
    for init in inits:
        figures[f"lecture_{init}.png"] = lambda init=init: lecture_figure(history, init, width)
    for w in widths:
        figures[f"heatmap_w{w}.png"] = lambda w=w: heatmap_figure(runs, w)
    figures["accuracy_vs_width.png"] = lambda: accuracy_vs_width_figure(runs)
    for w in widths:
        figures[f"boundaries_w{w}.png"] = lambda w=w: boundaries_figure(maps, data, xs, ys, w)
    assert list(figures) == figure_names(inits, widths)
    written = []
    for name, make in figures.items():
        save_figure(make(), out_dir / name)
        written.append(out_dir / name)
    return written
