"""The scaling study's figures, one function per figure; ``make`` lists what the spec declares.

- ``histograms_<activation>.png``: every hidden layer's outputs at initialization;
- ``layer_scale.png``: the signal of every hidden layer at initialization;
- ``standardization.png``: training on raw, scaled and standardized inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from trainability.io import InputError
from trainability.order import activation_order, init_order
from trainability.plotting import MIN_FONT_PT, SPLIT_COLORS, figure, legend_outside, style, suptitle
from trainability.studies.scaling.spec import VARIANTS
from trainability.studies.scaling.tables import (
    at_width,
    pooled,
    settings_of,
    share_text,
    stat_text,
)

ROUNDING = 1e-13  # signal below 1e-13 of the outputs' size: float64 rounding, not signal
BAR_COLOR = "#4c72b0"
VARIANT_COLORS = {"raw": SPLIT_COLORS["train"], "scaled": SPLIT_COLORS["test"],
                  "standardized": "#7570b3"}


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    layers, hists = tables["layers"], tables["histograms"]
    out = {f"histograms_{a}.png": (lambda a=a: histograms_figure(hists, layers, a))
           for a in spec.activations}
    out["layer_scale.png"] = lambda: layer_scale_figure(at_width(layers, spec.width))
    out["standardization.png"] = lambda: standardization_figure(tables["history"],
                                                                spec.input_scale)
    return out


def _panel_note(s: pd.Series, zero: float, beyond: float) -> str:
    lines = [f"mean {stat_text(s['mean'])}, std {stat_text(s['std'])}",
             f"signal {stat_text(s.signal)}"]
    if zero > 0:
        lines[1] += f", {share_text(zero)} = 0"
    if np.isfinite(s.saturated) and s.saturated > 0:
        lines[1] += f", {share_text(s.saturated)} sat."
    if beyond > 0:
        lines.append(f"{share_text(beyond)} beyond")
    return "\n".join(lines)


def histograms_figure(hists: pd.DataFrame, layers: pd.DataFrame, activation: str) -> Figure:
    """Rows: initializations; columns: hidden layers; every panel on its own x-range (the
    central 99.5% of its outputs, ``runs.output_range``), outputs beyond it in the end
    bins, outputs exactly 0 not drawn. Titles: the layer's mean, std and signal (means over
    seeds), and the shares not drawn."""
    h = hists[hists.activation == activation]
    if h.empty:
        raise InputError(f"no histogram rows for activation {activation!r}")
    settings = [s for s in settings_of(layers) if s in set(h.setting)]
    n_layers = int(h.layer.max())
    n = pooled(h)
    shown = at_width(layers, n["units"])
    stats = shown[(shown.activation == activation) & (shown.layer <= n_layers)].groupby(
        ["setting", "layer"])[["mean", "std", "signal", "zero", "saturated"]].mean()
    with style():
        fig = figure(2.35 * n_layers + 1.2, 2.2 * len(settings) + 1.5)
        axes = np.asarray(fig.subplots(len(settings), n_layers, squeeze=False))
        for i, setting in enumerate(settings):
            for j in range(n_layers):
                ax = axes[i, j]
                cell = h[(h.setting == setting) & (h.layer == j + 1)].sort_values("bin")
                edges = np.append(cell.left.to_numpy(), cell.right.iloc[-1])
                ax.stairs(cell.share.to_numpy(), edges, fill=True, color=BAR_COLOR)
                first = cell.iloc[0]
                ax.set_title(_panel_note(stats.loc[(setting, j + 1)], first.zero / n["outputs"],
                                         (first.below + first.above) / n["outputs"]),
                             fontsize=MIN_FONT_PT)
                ax.set_xlim(edges[0], edges[-1])
                ax.xaxis.set_major_locator(MaxNLocator(3))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
                ax.yaxis.set_major_locator(MaxNLocator(3))
                ax.set_ylim(0, max(0.05, float(cell.share.max()) * 1.1))
                if j == 0:
                    ax.set_ylabel(f"{setting}\nshare of outputs")
                if i == len(settings) - 1:
                    ax.set_xlabel(f"layer {j + 1} output")
        suptitle(fig,
            f"{activation}: every hidden layer's outputs at initialization, each panel on "
            "its own x-range\n"
            f"a panel pools {n['units']} units x {n['points']} points x {n['seeds']} seeds "
            f"= {n['outputs']:,} outputs; title: their mean, std and signal,\n"
            "the share exactly 0 (not drawn), saturated (sat.: derivative below 10% of its peak) "
            "and beyond the x-range"
        )
    return fig


def _setting_styles(settings):
    """Distinct colours (colorblind palette, the two oranges apart) and line styles that
    tell apart the settings whose curves overlap (Glorot and LeCun on square layers)."""
    base = sns.color_palette("colorblind", 10)
    order = [0, 1, 2, 4, 9, 5, 3, 7, 6, 8]
    colors = {s: base[order[i % 10]] for i, s in enumerate(settings)}
    dashes = ["-", "-", "-", "--", ":", "-.", "-", "--", ":", "-."]
    return colors, {s: dashes[i % 10] for i, s in enumerate(settings)}


def _signal_line(ax, cell: pd.DataFrame, color, dash, label, floor) -> None:
    """Geometric mean over seeds with signal > 0, band min to max; a cross where some seed
    first has no signal; a note where the signal is at float64's rounding floor."""
    values = cell.pivot(index="layer", columns="seed", values="signal")
    v = values.to_numpy(float)
    pos = np.where(v > 0, v, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        geo = 10 ** np.nanmean(np.log10(pos), axis=1)
        lo, hi = np.nanmin(pos, axis=1), np.nanmax(pos, axis=1)
    x = values.index.to_numpy()
    ax.fill_between(x, lo, hi, color=color, alpha=0.12, linewidth=0)
    ax.plot(x, geo, color=color, lw=1.4, ls=dash, marker=".", ms=4, label=label)
    dead = np.flatnonzero((v <= 0).any(axis=1))
    if len(dead):
        ax.scatter(x[dead[0]], floor * 1.5, marker="x", color=color, s=30, zorder=4)
    rms = cell.pivot(index="layer", columns="seed", values="rms").to_numpy(float)
    with np.errstate(all="ignore"):
        at_floor = np.flatnonzero(np.nanmax(v / rms, axis=1) < ROUNDING)
    if len(at_floor):
        ax.annotate("rounding floor\n(float64)", (x[at_floor[-1]], geo[at_floor[-1]]),
                    xytext=(0, 6), textcoords="offset points", ha="right",
                    color=color)


def layer_scale_figure(layers: pd.DataFrame) -> Figure:
    """``signal`` (log scale) against the hidden layer, a panel per activation, a line per
    initialization."""
    acts = activation_order(layers.activation)
    settings = settings_of(layers)
    colors, dashes = _setting_styles(settings)
    n_layers = int(layers.layer.max())
    positive = layers.signal[layers.signal > 0]
    floor = max(float(positive.min()) / 3, 1e-30) if len(positive) else 1e-30
    with style():
        fig = figure(2.8 * len(acts) + 2.0, 4.4)
        axes = np.asarray(fig.subplots(1, len(acts), sharey=True, squeeze=False))[0]
        for ax, act in zip(axes, acts, strict=True):
            for setting in settings:
                cell = layers[(layers.activation == act) & (layers.setting == setting)]
                if not cell.empty:
                    _signal_line(ax, cell, colors[setting], dashes[setting], setting, floor)
            ax.set_yscale("log")
            ax.set_ylim(bottom=floor)
            ax.set_title(act)
            ax.set_xlabel(f"hidden layer (1..{n_layers})")
            ax.set_xticks(range(1, n_layers + 1, max(1, n_layers // 8)))
        axes[0].set_ylabel("signal: RMS over units of each\nunit's std across data points\n"
                           "(output units, log scale)")
        legend_outside(fig, axes, title="initialization")
        suptitle(fig,
            f"How much of the input's variation each layer passes on, at initialization "
            f"({int(layers.width.iloc[0])} units per layer)\ngeometric mean over seeds, band "
            "= min to max; x at the bottom: from this layer on some seed's outputs are all "
            "identical",
        )
    return fig


def plain_log_ticks(ax) -> None:
    """Tick labels of a log y-axis as plain numbers (0.6, not 6x10^-1). Minor ticks are
    labelled when the axis spans less than two decades: all of them within one decade, the
    2s and 5s within two."""
    lo, hi = ax.get_ylim()
    span = hi / lo if lo > 0 else np.inf
    shown = set(range(1, 10)) if span < 10 else {2, 5} if span < 100 else set()

    def minor(value, _pos):
        digit = round(value / 10 ** np.floor(np.log10(value)))
        return f"{value:g}" if digit in shown else ""

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor) if shown else NullFormatter())


def _variant_curves(ax, rows: pd.DataFrame, metric: str, labels: dict) -> None:
    for variant in VARIANTS:
        cell = rows[rows.variant == variant]
        if cell.empty:
            continue
        stats = cell.groupby("epoch")[metric].agg(["mean", "min", "max"])
        ax.fill_between(stats.index, stats["min"], stats["max"], color=VARIANT_COLORS[variant],
                        alpha=0.15, linewidth=0)
        ax.plot(stats.index, stats["mean"], color=VARIANT_COLORS[variant], lw=1.4,
                ls="--" if variant == "standardized" else "-", label=labels[variant])


def standardization_figure(history: pd.DataFrame, input_scale: float) -> Figure:
    """Training loss (log scale) and test accuracy per epoch (full passes, epoch 0 =
    initialization): rows = initializer x metric, columns = activations, a line per version
    of the inputs (mean over seeds, band = min to max)."""
    acts, inits = activation_order(history.activation), init_order(history["init"])
    labels = {"raw": "raw features", "scaled": f"raw x {input_scale:g}",
              "standardized": f"raw x {input_scale:g}, standardized"}
    metrics = (("train_loss", "training loss\n(BCE, nats, log)"),
               ("test_acc", "test accuracy\n(fraction)"))
    with style():
        fig = figure(2.7 * len(acts) + 2.6, 2.3 * len(inits) * 2 + 1.4)
        axes = np.asarray(fig.subplots(2 * len(inits), len(acts), sharex=True, squeeze=False))
        for r, init in enumerate(inits):
            for m, (metric, ylabel) in enumerate(metrics):
                row = 2 * r + m
                for j, act in enumerate(acts):
                    ax = axes[row, j]
                    rows = history[(history["init"] == init) & (history.activation == act)]
                    _variant_curves(ax, rows, metric, labels)
                    if metric == "train_loss":
                        ax.set_yscale("log")
                        ax.axhline(np.log(2), color="0.6", lw=0.8, ls=":")
                        plain_log_ticks(ax)
                    else:
                        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
                        ax.set_ylim(0.35, 1.02)
                    if row == 0:
                        ax.set_title(act)
                    if j == 0:
                        ax.set_ylabel(f"{init}\n{ylabel}")
                    if row == 2 * len(inits) - 1:
                        ax.set_xlabel("epoch")
        legend_outside(fig, axes, "below", title="inputs")
        suptitle(fig,
            "Training on raw, scaled and standardized inputs\nfull passes after each epoch "
            "(epoch 0: initialization); line = mean over seeds, band = min to max;\ndotted: "
            "ln 2 (the loss of predicting 0.5) and accuracy 0.5",
        )
    return fig
