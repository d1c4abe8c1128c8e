"""The batch-norm study's figures, one function per figure; ``make`` lists what the spec
declares.

- ``curves.png``: training loss, training and test accuracy per epoch, per activation;
- ``final.png``: final test accuracy of every seed, per activation and placement;
- ``gradient_ratio.png``: the first layer's gradient norm over the classifier's at
  initialization, every seed, per activation and placement;
- ``layers_{activation}.png``: each layer's output statistics and gradient norm at the
  diagnostic epochs, one column per placement.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator

from trainability.plotting import TEST_ACC_LABEL, ensure_span, figure, style, suptitle
from trainability.studies.batchnorm.spec import LECTURE_SIGMOID, NONE, placement_label

PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")
NONE_COLOR = "0.35"


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    out = {
        "curves.png": lambda: curves_figure(tables["history"], spec),
        "final.png": lambda: final_figure(tables["runs"], spec),
        "gradient_ratio.png": lambda: gradient_ratio_figure(tables["ratios"], spec),
    }
    for act in spec.activations:
        out[f"layers_{act}.png"] = lambda a=act: layers_figure(tables["layers"], a, spec)
    return out


def colors(placements) -> dict[str, str]:
    others = [p for p in placements if p != NONE]
    return {NONE: NONE_COLOR} | {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(others)}


def _legend(fig: Figure, axes, ncol: int = 4) -> None:
    """One legend below the panels, each label once."""
    handles = {}
    for ax in np.ravel(axes):
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=min(len(handles), ncol))


CURVE_ROWS = (("train_loss", "training loss (BCE, nats,\nlog scale)"),
              ("running_acc", "training accuracy\n(epoch mean of batches)"),
              ("test_acc", "test accuracy\n(full pass)"))


def _plain_log_axis(ax) -> None:
    """A log y-axis labelled with plain numbers (minor ticks too when it spans less than a
    decade, where there may be no major tick)."""
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:.2g}")
    ax.yaxis.set_major_formatter(plain)
    lo, hi = ax.get_ylim()
    ax.yaxis.set_minor_formatter(plain if hi / lo < 10 else NullFormatter())


def curves_figure(history: pd.DataFrame, spec) -> Figure:
    """Rows: training loss (log scale, a full pass), training accuracy as Keras reports it
    (the epoch's mean over mini-batches, in training mode: the lecture's measure) and test
    accuracy (a full pass); columns: activations; one colour per placement: mean over
    seeds, band min to max. Markers: the lecture's final training accuracy of the sigmoid
    network (one run each) for the placements trained here."""
    color = colors(spec.placements)
    lecture = {p: v for p, v in LECTURE_SIGMOID.items() if p in spec.placements}
    with style():
        fig = figure(max(3.0 * len(spec.activations) + 1.0, 7.5), 7.8)
        axes = np.asarray(fig.subplots(3, len(spec.activations), sharex=True, squeeze=False))
        for j, act in enumerate(spec.activations):
            rows = history[history.activation == act]
            last = rows.epoch.max()
            n_div = int(rows[rows.epoch == last].train_loss.isna().sum())
            axes[0, j].set_title(f"{act} ({rows.seed.nunique()} seeds"
                                 + (f"; {n_div} models diverged)" if n_div else ")"))
            for i, (column, label) in enumerate(CURVE_ROWS):
                ax = axes[i, j]
                ax.axhline(math.log(2) if i == 0 else 0.5, color="0.6", lw=0.8, ls=":",
                           label="ln 2 / coin flip")
                for p in spec.placements:
                    stats = rows[rows.placement == p].groupby("epoch")[column].agg(
                        ["mean", "min", "max"])
                    ax.fill_between(stats.index, stats["min"], stats["max"], color=color[p],
                                    alpha=0.15, linewidth=0)
                    ax.plot(stats.index, stats["mean"], color=color[p], lw=1.5,
                            label=placement_label(p))
                if i == 1 and act == "sigmoid":
                    for p, value in lecture.items():
                        ax.plot([last], [value], marker="X" if p == NONE else "*", ms=9,
                                color="black", ls="none", zorder=5,
                                label=f"lecture (1 run): {placement_label(p)}")
                if i == 0:
                    _plain_log_axis(ax)
                else:
                    ensure_span(ax, 0.2)
                if j == 0:
                    ax.set_ylabel(label)
            axes[2, j].set_xlabel("epoch")
        _legend(fig, axes, ncol=3)
        suptitle(fig, "Training with and without batch normalization, per activation\n"
                     "line: mean over seeds; band: min to max over seeds")
    return fig


def _seed_dots(ax, frame: pd.DataFrame, spec, column: str, color) -> None:
    """Per activation (x) and placement (offset): one dot per seed, a thin line joining
    each seed across placements (they share initial weights and batch order), a black
    bar at the mean."""
    step = 0.8 / len(spec.placements)
    for j, act in enumerate(spec.activations):
        rows = frame[frame.activation == act]
        xs = {p: j + (k - (len(spec.placements) - 1) / 2) * step
              for k, p in enumerate(spec.placements)}
        wide = rows.pivot_table(index="seed", columns="placement", values=column,
                                dropna=False).reindex(columns=spec.placements)
        for _, seed_row in wide.iterrows():
            ax.plot([xs[p] for p in wide.columns], seed_row.to_numpy(), color="0.75",
                    lw=0.6, zorder=1)
        for p in spec.placements:
            values = wide[p].dropna() if p in wide else pd.Series(dtype=float)
            ax.scatter(np.full(len(values), xs[p]), values, s=14, color=color[p], alpha=0.8,
                       linewidths=0, zorder=2, label=placement_label(p) if j == 0 else None)
            if len(values):
                ax.plot([xs[p] - 0.3 * step, xs[p] + 0.3 * step], [values.mean()] * 2,
                        color="black", lw=1.6, zorder=3,
                        label="mean over seeds" if j == 0 and p == NONE else None)
    ax.set_xticks(range(len(spec.activations)), spec.activations)
    ax.set_xlim(-0.6, len(spec.activations) - 0.4)
    ax.set_xlabel("hidden activation")


def final_figure(runs: pd.DataFrame, spec) -> Figure:
    """Final test accuracy: one dot per seed that did not diverge (diverged ones counted
    at the bottom), per activation and placement, seeds joined across placements."""
    with style():
        fig = figure(0.7 * len(spec.activations) * len(spec.placements) + 3.4, 4.4)
        ax = fig.subplots()
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":", label="coin flip")
        ok = runs.assign(test_acc=runs.test_acc.where(runs.status == "ok"))
        _seed_dots(ax, ok, spec, "test_acc", colors(spec.placements))
        diverged = runs[runs.status != "ok"].groupby(["activation", "placement"]).size()
        for (act, p), n in diverged.items():
            j, k = spec.activations.index(act), spec.placements.index(p)
            x = j + (k - (len(spec.placements) - 1) / 2) * 0.8 / len(spec.placements)
            ax.text(x, 0.02, f"{n}\ndiv.", transform=ax.get_xaxis_transform(), ha="center")
        ax.set_ylim(min(0.45, float(np.nanmin(ok.test_acc, initial=1.0)) - 0.03), 1.01)
        ax.set_ylabel(TEST_ACC_LABEL)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
        ax.set_title("Final test accuracy with and without batch normalization\n"
                     "dots: seeds (grey lines join a seed across settings)")
    return fig


def gradient_ratio_figure(ratios: pd.DataFrame, spec) -> Figure:
    """log10 of ||dL/dW1|| / ||dL/dW_classifier|| at initialization: one dot per seed,
    per activation and placement, seeds joined across placements."""
    with style():
        fig = figure(0.7 * len(spec.activations) * len(spec.placements) + 3.4, 4.4)
        ax = fig.subplots()
        ax.axhline(0.0, color="0.6", lw=0.8, ls=":", label="equal norms (ratio 1)")
        _seed_dots(ax, ratios, spec, "log10_ratio", colors(spec.placements))
        ax.set_ylabel("log10 (||dL/dW1|| / ||dL/dW_classifier||)")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
        ax.set_title("Gradient reaching the first layer relative to the classifier's, at "
                     "initialization\ndots: seeds (grey lines join a seed across settings)")
    return fig


LAYER_ROWS = (("act_mean", "activation mean", False),
              ("act_std", "activation std", False),
              ("grad_norm", "gradient norm ||dL/dW||\n(log scale)", True))


def layers_figure(layers: pd.DataFrame, activation: str, spec) -> Figure:
    """For one activation: rows activation mean, activation std, gradient norm (log
    scale); columns: placements; one line per layer (mean over seeds) through the
    diagnostic epochs (symmetric-log epoch axis)."""
    rows = layers[layers.activation == activation]
    shades = colormaps["viridis"](np.linspace(0.0, 0.9, spec.depth))
    with style():
        fig = figure(3.1 * len(spec.placements) + 1.6, 7.6)
        axes = np.asarray(fig.subplots(3, len(spec.placements), sharex=True, sharey="row",
                                       squeeze=False))
        for j, p in enumerate(spec.placements):
            per = rows[rows.placement == p].groupby(["layer", "epoch"])[
                ["act_mean", "act_std", "grad_norm"]].mean()
            for i, (column, label, log) in enumerate(LAYER_ROWS):
                ax = axes[i, j]
                for layer in range(1, spec.depth + 2):
                    classifier = layer == spec.depth + 1
                    if (classifier and column != "grad_norm") or \
                            layer not in per.index.get_level_values("layer"):
                        continue
                    series = per.loc[layer][column]
                    ax.plot(series.index, series.to_numpy(), marker=".", lw=1.3,
                            color="black" if classifier else shades[layer - 1],
                            ls="--" if classifier else "-",
                            label="classifier" if classifier else f"layer {layer}")
                ax.set_xscale("symlog", linthresh=1.0)
                ax.set_xticks(spec.diagnostic_epochs, [str(e) for e in spec.diagnostic_epochs])
                ax.xaxis.set_minor_locator(NullLocator())
                if log:
                    ax.set_yscale("log")
                if j == 0:
                    ax.set_ylabel(label)
            axes[0, j].set_title(placement_label(p))
            axes[2, j].set_xlabel("epoch (0 = initialization)")
        _legend(fig, axes, ncol=spec.depth + 1)
        suptitle(fig, f"{activation}: each hidden layer's output and each weight matrix's "
                     "gradient\nmean over seeds; activation mean and std over points and units, "
                     "before any batch normalization\nthat follows the layer; gradients "
                     "from one full-batch pass")
    return fig
