"""The lecture's figures, redrawn as it drew them, one function per kind; ``make`` lists
what the spec declares.

- ``loss_acc_<source>.png``: loss (top) and accuracy (bottom) per epoch, one column per
  activation, each panel its own vertical scale (the lecture's ``tnn_loss_and_acc*.png``);
- ``gradients.png``: the mean and std of each weight matrix's gradient per epoch, linear
  axes (``tnn_gradient.png``);
- ``histograms_std<s>.png``: each hidden layer's outputs at initialization, rows layers,
  columns activations (``tnn_activations_shift_{large,small}_var.png``).

Every figure marks the lecture's read-off values where it has them. Sizes are for reading
at 100% in a markdown viewer: at most 10 inches (1,100 pixels) wide, no text below 10 pt,
legends outside the panels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from trainability.plotting import ACC_LABEL, LOSS_LABEL, figure, style
from trainability.studies.lecture.spec import ACTIVATIONS, STDS, std_name
from trainability.studies.lecture.values import VALUES

FONT = 10  # points: the smallest text in these figures
WIDTH = 10.0  # inches: 1,100 pixels at the house DPI
MEAN_COLOR, SEED_COLOR, LECTURE_COLOR = "#2166ac", "#92c5de", "black"
TITLES = {"random_normal": "RandomNormal(0, 1) hidden weights",
          "zeros": "all-zero hidden weights",
          "batch_norm": "RandomNormal(0, 1), batch norm after hidden layer {after}"}
LECTURE_FILES = {"random_normal": "tnn_loss_and_acc.png", "zeros":
                 "tnn_loss_and_acc_zero_init.png", "batch_norm": "tnn_loss_and_acc_bn.png"}


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    values = tables["values"]
    out = {}
    for name, _ in spec.figures():
        if name.startswith("loss_acc_"):
            source = name.removeprefix("loss_acc_").removesuffix(".png")
            out[name] = lambda s=source: curves_figure(tables["curves"], values, s, spec)
        elif name == "gradients.png":
            out[name] = lambda: gradients_figure(tables["gradients"], values)
        else:
            std = next(s for s in STDS if name == f"histograms_std{s:g}.png")
            out[name] = lambda s=std: histograms_figure(tables["histograms"],
                                                        tables["outputs"], values, s,
                                                        spec.width)
    return out


def _legible(ax) -> None:
    """Tick labels and the axes' offset text (``1e-6``) at ``FONT``: the house style's
    ticks are smaller."""
    ax.tick_params(labelsize=FONT)
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_offset_text().set_fontsize(FONT)


def _lecture_rows(values: pd.DataFrame, source: str, activation: str) -> pd.DataFrame:
    return values[(values.source == source) & (values.activation == activation)]


def _mark_lecture(ax, rows: pd.DataFrame, metric: str, epochs: int) -> bool:
    """The lecture's read-off values of one panel (``rows`` of the values table): a point
    with its tolerance at its epoch, a band for a value over all epochs, a point at the
    epoch it names for ``reach``. True if anything was drawn."""
    drawn = False
    by_key = {v.key: v for v in VALUES}
    for _, r in rows.iterrows():
        v = by_key[r.key]
        if v.statistic == "reach" and metric == "acc":
            ax.errorbar([v.lo], [v.level], xerr=[[v.lo - r.band_lo], [r.band_hi - v.lo]],
                        fmt="D", color=LECTURE_COLOR, ms=5, capsize=3, zorder=5)
        elif v.metric != metric or v.statistic == "reach":
            continue
        elif v.statistic in ("min", "max"):
            if v.statistic == "min":  # one band for the pair
                ax.axhspan(r.band_lo, r.band_hi, color="0.5", alpha=0.12, lw=0, zorder=0)
                ax.axhline(v.lo, color=LECTURE_COLOR, lw=0.8, ls="--")
                ax.axhline(v.hi, color=LECTURE_COLOR, lw=0.8, ls="--")
        else:
            epoch = 1 if v.statistic == "first" else epochs
            mid = 0.5 * (v.lo + v.hi)
            ax.errorbar([epoch], [mid], yerr=[[mid - r.band_lo], [r.band_hi - mid]], fmt="D",
                        color=LECTURE_COLOR, ms=5, capsize=3, zorder=5)
        drawn = True
    return drawn


def curves_figure(curves: pd.DataFrame, values: pd.DataFrame, source: str, spec) -> Figure:
    """Loss and accuracy per epoch for one of the lecture's figures (``CURVES``): each
    seed thin, the mean over seeds thick, the lecture's read-off values black with their
    tolerance."""
    rows = curves[curves.source == source]
    acts = [a for a in ACTIVATIONS if a in set(rows.activation)]
    with style():
        fig = figure(WIDTH, 6.4)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, squeeze=False))
        for j, act in enumerate(acts):
            cell = rows[rows.activation == act]
            for i, (metric, label) in enumerate((("loss", LOSS_LABEL), ("acc", ACC_LABEL))):
                ax = axes[i, j]
                wide = cell.pivot(index="epoch", columns="seed", values=metric).sort_index()
                for seed in wide.columns:
                    ax.plot(wide.index, wide[seed], color=SEED_COLOR, lw=0.7)
                ax.plot(wide.index, wide.mean(axis=1), color=MEAN_COLOR, lw=2.0)
                _mark_lecture(ax, _lecture_rows(values, source, act), metric, spec.epochs)
                if j == 0:
                    ax.set_ylabel(label, fontsize=FONT)
                _legible(ax)
            axes[0, j].set_title(f"{act} ({cell.seed.nunique()} seeds)", fontsize=FONT + 1)
            axes[1, j].set_xlabel("epoch", fontsize=FONT)
        _legend(fig, [("line", SEED_COLOR, 0.7, "one seed"),
                      ("line", MEAN_COLOR, 2.0, "mean over seeds"),
                      ("point", LECTURE_COLOR, 0, "lecture, read off (bar: tolerance)")])
        title = TITLES[source].format(after=spec.after_layer)
        fig.suptitle(f"Training loss and accuracy per epoch (Keras' history), {title}\n"
                     f"the lecture's {LECTURE_FILES[source]} redrawn; each panel has its own "
                     "vertical scale", fontsize=FONT + 1)
    return fig


def _legend(fig, entries) -> None:
    handles = [Line2D([], [], color=c, lw=w) if kind == "line" else
               Line2D([], [], color=c, marker="D", ls="none", ms=5)
               for kind, c, w, _ in entries]
    fig.legend(handles, [e[3] for e in entries], loc="outside lower center",
               ncol=len(entries), fontsize=FONT, frameon=False)


def gradients_figure(gradients: pd.DataFrame, values: pd.DataFrame) -> Figure:
    """The mean (top) and std (bottom) of each weight matrix's gradient entries per epoch,
    one column per activation, linear axes: per layer the mean over seeds, band min to max
    over seeds."""
    acts = [a for a in ACTIVATIONS if a in set(gradients.activation)]
    classifier = int(gradients.layer.max())
    colors = list(sns.color_palette("viridis_r", classifier))[:classifier - 1] + ["#d62728"]
    with style():
        fig = figure(WIDTH, 6.6)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, squeeze=False))
        for j, act in enumerate(acts):
            cell = gradients[gradients.activation == act]
            for i, column in enumerate(("grad_mean", "grad_std")):
                ax = axes[i, j]
                for layer in range(1, classifier + 1):
                    wide = cell[cell.layer == layer].pivot(index="epoch", columns="seed",
                                                           values=column).sort_index()
                    ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1),
                                    color=colors[layer - 1], alpha=0.15, lw=0)
                    ax.plot(wide.index, wide.mean(axis=1), color=colors[layer - 1], lw=1.4,
                            label="classifier" if layer == classifier else f"layer{layer}")
                band = values[(values.source == "gradients") & (values.activation == act)
                              & values.key.str.contains("classifier")]
                if column == "grad_mean" and len(band):
                    r = band.iloc[0]
                    ax.axhspan(r.lecture_lo, r.lecture_hi, color=LECTURE_COLOR, alpha=0.12,
                               lw=0, label="lecture: classifier's mean")
                _legible(ax)
            axes[0, j].set_title(f"{act} ({cell.seed.nunique()} seeds)", fontsize=FONT + 1)
            axes[1, j].set_xlabel("epoch (0 = initialization)", fontsize=FONT)
        axes[0, 0].set_ylabel("Mean gradient", fontsize=FONT)
        axes[1, 0].set_ylabel("StdDev gradient", fontsize=FONT)
        handles, labels = {}, {}
        for ax in axes.ravel():
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
        labels = list(handles)
        fig.legend([handles[k] for k in labels], labels, loc="outside lower center",
                   ncol=len(labels), fontsize=FONT, frameon=False)
        fig.suptitle("Per-layer gradient of the running example per epoch (the lecture's "
                     "tnn_gradient.png redrawn)\nmean and std of the entries of each weight "
                     "matrix's full-batch gradient; line: mean over seeds, band: their range",
                     fontsize=FONT + 1)
    return fig


def _number(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.2f}" if x == 0 or abs(x) >= 0.01 else f"{x:.0e}"


def _read(values: pd.DataFrame, source: str, act: str, layer: int, metric: str) -> str:
    r = values[(values.source == source) & (values.activation == act)
               & values.key.str.endswith(f"-l{layer}-{metric}")]
    return r.iloc[0].shown if len(r) else "-"


def histograms_figure(histograms: pd.DataFrame, outputs: pd.DataFrame, values: pd.DataFrame,
                      std: float, width: int) -> Figure:
    """Each hidden layer's outputs at initialization (rows: layers; columns: activations),
    seeds pooled, with our mean / std (means over seeds) and the lecture's above each."""
    rows = histograms[histograms.init_std == std]
    depth = int(rows.layer.max())
    source = std_name(std)
    with style():
        fig = figure(WIDTH, 2.35 * depth + 1.0)
        axes = np.asarray(fig.subplots(depth, len(ACTIVATIONS), squeeze=False))
        for j, act in enumerate(ACTIVATIONS):
            for i in range(depth):
                layer = i + 1
                ax = axes[i, j]
                panel = rows[(rows.activation == act) & (rows.layer == layer)]
                ax.bar(panel.lo, panel.share, width=panel.hi - panel.lo, align="edge",
                       color=MEAN_COLOR, lw=0)
                ax.set_xlim(float(panel.lo.min()), float(panel.hi.max()))
                ours = outputs[(outputs.init_std == std) & (outputs.activation == act)
                               & (outputs.layer == layer)]
                ax.set_title(
                    f"{act}, layer {layer}: ours {_number(ours['mean'].mean())} / "
                    f"{_number(ours['std'].mean())}\nlecture "
                    f"{_read(values, source, act, layer, 'mean')} / "
                    f"{_read(values, source, act, layer, 'std')}", fontsize=FONT)
                if j == 0:
                    ax.set_ylabel("share of outputs", fontsize=FONT)
                _legible(ax)
            axes[-1, j].set_xlabel(f"{act} output", fontsize=FONT)
        n = int(outputs.seed.nunique())
        fig.suptitle(f"Hidden-layer outputs at initialization, RandomNormal(0, {std:g}), "
                     f"{width} units per layer, {n} networks pooled\n(the lecture's "
                     f"{values[values.source == source].figure.iloc[0]} redrawn); above each "
                     "panel: mean / std of the outputs", fontsize=FONT + 1)
    return fig
