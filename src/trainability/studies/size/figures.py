"""The size study's figures, one function per figure (tables in, ``Figure`` out); ``make``
lists those of the enabled sub-studies. One panel per dataset throughout.

- width: ``width_success.png`` (success rate vs width, Wilson 95% intervals),
  ``width_accuracy.png`` (median, interquartile range and every seed's test accuracy),
  ``width_epochs.png`` (epochs to 95% training accuracy);
- dead: ``dead_units.png`` (activation-dead and norm-dead shares vs width per
  regularizer), ``dead_tau.png`` (norm-dead share vs the threshold tau),
  ``effective_width.png`` (live units per layer vs width, and the width needed from scratch);
- lottery and structured pruning: ``pruning_figures.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from trainability.plotting import figure, legend_outside, style
from trainability.studies.size import pruning_figures
from trainability.studies.size.axes import (
    REG_STYLE,
    TEST_ACC,
    WIDTH_LABEL,
    bottom_legend,
    datasets,
    log2_widths,
    panels,
    suptitle,
)
from trainability.studies.size.claims import MANY_DEAD
from trainability.studies.size.select import needed_width


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    t = tables.get
    reliable = float(spec.width["reliable"])
    makers = {
        "width_success.png": lambda: width_success_figure(t("width")),
        "width_accuracy.png": lambda: width_accuracy_figure(t("width"), t("width_runs")),
        "width_epochs.png": lambda: width_epochs_figure(t("width")),
        "dead_units.png": lambda: dead_units_figure(t("dead")),
        "dead_tau.png": lambda: dead_tau_figure(t("dead")),
        "effective_width.png": lambda: effective_width_figure(t("dead"), t("width"), reliable),
        "lottery_accuracy.png": lambda: pruning_figures.lottery_accuracy(t("lottery")),
        "lottery_early_stop.png": lambda: pruning_figures.lottery_early_stop(t("lottery")),
        "lottery_weights.png": lambda: pruning_figures.lottery_weights(t("lottery"),
                                                                        t("width")),
        "structured.png": lambda: pruning_figures.structured(t("structured"),
                                                             t("structured_live")),
    }
    return {name: makers[name] for name, _ in spec.figures()}


# ---------------------------------------------------------------- width


def width_success_figure(width: pd.DataFrame) -> Figure:
    names = datasets(width)
    with style():
        fig, axes = panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = width[width.dataset == name].sort_values("width")
            err = np.clip(np.vstack([d.success_rate - d.ci_low, d.ci_high - d.success_rate]),
                          0, None)
            ax.errorbar(d.width, d.success_rate, yerr=err, marker="o", ms=4, lw=1.4,
                        capsize=3, color="#1f77b4")
            for _, r in d[d.success_rate < 0.9].iterrows():  # the failures, by count
                ax.annotate(f"{int(r.successes)}/{int(r.n)}", (r.width, r.success_rate),
                            textcoords="offset points", xytext=(6, -4), ha="left",
                            va="top", color="0.3")
            log2_widths(ax, d.width)
            ax.set_ylim(-0.05, 1.08)
            ax.set_title(f"{name}: success = test accuracy ≥ {d.threshold.iloc[0]:g}")
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel("share of seeds that succeed")
        suptitle(fig, "Does a wide network train where a narrow one cannot?",
                  "share of seeds that succeed; bars: Wilson 95% interval;",
                  "labels: successes/seeds where fewer than 90% succeed")
    return fig


def width_accuracy_figure(width: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    names = datasets(width)
    rng = np.random.default_rng(0)  # jitter only; fixed so the PNG is deterministic
    with style():
        fig, axes = panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = width[width.dataset == name].sort_values("width")
            r = runs[(runs.dataset == name) & (runs.regularizer == "none")
                     & runs.width.isin(d.width)]
            jitter = 2.0 ** rng.uniform(-0.18, 0.18, len(r))
            ax.scatter(r.width * jitter, r.test_acc, s=4, color="0.55", alpha=0.45,
                       linewidths=0, label="one seed")
            ax.fill_between(d.width, d.acc_q25, d.acc_q75, color="#1f77b4", alpha=0.3,
                            linewidth=0, label="interquartile range")
            ax.plot(d.width, d.acc_median, color="#1f77b4", marker="o", ms=3.5, lw=1.5,
                    label="median")
            ax.axhline(d.threshold.iloc[0], color="#d62728", lw=0.9, ls="--",
                       label="success threshold")
            log2_widths(ax, d.width)
            ax.set_title(name)
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel(TEST_ACC)
        legend_outside(fig, axes, "below")
        suptitle(fig, "Final test accuracy vs width",
                  "every seed (grey), median and interquartile range (blue)")
    return fig


def width_epochs_figure(width: pd.DataFrame) -> Figure:
    """Top: epochs to 95% training accuracy (seeds that get there); bottom: the share of
    seeds that never get there."""
    names = datasets(width)
    with style():
        fig = figure(4.6 * len(names) + 0.4, 5.4)
        axes = np.asarray(fig.subplots(2, len(names), sharex="col", sharey="row",
                                       squeeze=False, height_ratios=[2.5, 1.2]))
        for j, name in enumerate(names):
            d = width[width.dataset == name].sort_values("width")
            ax, low = axes[0, j], axes[1, j]
            ax.fill_between(d.width, d.epochs_to_95_q25, d.epochs_to_95_q75, color="#2ca02c",
                            alpha=0.3, linewidth=0, label="interquartile range")
            ax.plot(d.width, d.epochs_to_95_median, color="#2ca02c", marker="o", ms=3.5,
                    label="median (seeds that got there)")
            ax.set_title(name)
            never = d.never_95 / d.n
            low.bar(d.width, never, width=d.width * 0.25, color="#d62728", alpha=0.8)
            low.set_ylim(0, 1.05)
            log2_widths(low, d.width)
            low.set_xlabel(WIDTH_LABEL)
        top = width.epochs_to_95_q75.max()  # NaN when no seed got there: pandas skips it
        axes[0, 0].set_ylim(0, (top if np.isfinite(top) else 1.0) * 1.08)
        axes[0, 0].set_ylabel("epochs to 95%\ntraining accuracy")
        axes[1, 0].set_ylabel("share never\ngot there")
        legend_outside(fig, axes[0, 0], "below")
        suptitle(fig, "How fast does each width learn?",
                  "epochs until 95% of the training points are right")
    return fig


# ---------------------------------------------------------------- dead units


def dead_units_figure(dead: pd.DataFrame) -> Figure:
    main = dead[dead.main_tau]
    names = datasets(main)
    tau = float(main.tau.iloc[0])
    with style():
        fig = figure(8.6, 2.9 * len(names) + 1.0)
        axes = np.asarray(fig.subplots(len(names), 2, sharex=True, sharey=True,
                                       squeeze=False))
        for i, name in enumerate(names):
            for j, (column, title) in enumerate((
                    ("act_dead", "activation-dead: inactive on every fit point"),
                    ("norm_dead", f"norm-dead: score < {tau:g} x layer max"))):
                ax = axes[i, j]
                for reg, (label, color) in REG_STYLE.items():
                    d = main[(main.dataset == name) & (main.regularizer == reg)]
                    if d.empty:
                        continue
                    d = d.sort_values("width")
                    ax.plot(d.width, d[column], marker="o", ms=3.5, color=color, label=label)
                ax.axhline(MANY_DEAD, color="0.5", lw=0.8, ls=":")
                log2_widths(ax, main.width)
                ax.set_ylim(-0.03, 1.03)
                if i == 0:
                    ax.set_title(title)
                if j == 0:
                    ax.set_ylabel(f"{name}\nshare of hidden units")
            axes[-1, 0].set_xlabel(WIDTH_LABEL)
            axes[-1, 1].set_xlabel(WIDTH_LABEL)
        legend_outside(fig, axes, "below")
        suptitle(fig, "How many units of a trained network are dead?",
                  f"mean over seeds and hidden layers; dotted: {MANY_DEAD:.0%}")
    return fig


def dead_tau_figure(dead: pd.DataFrame) -> Figure:
    names = datasets(dead)
    with style():
        fig, axes = panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = dead[dead.dataset == name]
            for reg, (label, color) in REG_STYLE.items():
                r = d[d.regularizer == reg]
                if r.empty:
                    continue
                w = int(r.width.max())
                r = r[r.width == w].sort_values("tau")
                ax.plot(r.tau, r.norm_dead, marker="o", ms=3.5, color=color,
                        label=f"{label} (width {w})")
            ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(name)
            ax.set_xlabel("tau (score threshold, fraction of the layer's largest score)")
        axes[0].set_ylabel("share of hidden units norm-dead")
        legend_outside(fig, axes, "below")
        suptitle(fig, "Norm-dead share vs the threshold tau",
                  "at the widest width of each regularizer;",
                  "score = ||incoming weights, bias|| x ||outgoing weights||")
    return fig


def effective_width_figure(dead: pd.DataFrame, width: pd.DataFrame | None,
                           reliable: float | None = None) -> Figure:
    main = dead[dead.main_tau]
    names = datasets(main)
    tau = float(main.tau.iloc[0])
    layers = sorted(c for c in main.columns if c.startswith("live_median_"))
    styles = ["-", "--", "-.", ":"]
    with style():
        fig, axes = panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = main[main.dataset == name]
            ws = sorted(d.width.unique())
            ax.plot(ws, ws, color="0.75", lw=0.8, label="all units live")
            for reg, (label, color) in REG_STYLE.items():
                r = d[d.regularizer == reg].sort_values("width")
                if r.empty:
                    continue
                for n, col in enumerate(layers):
                    ax.plot(r.width, r[col].clip(lower=0.8), color=color,
                            ls=styles[n % len(styles)], marker="o", ms=3,
                            label=f"{label}, layer {col.rsplit('_', 1)[1]}")
            if width is not None and reliable is not None:
                need = needed_width(width[width.dataset == name], reliable)
                if need is not None:
                    ax.axhline(need, color="#d62728", lw=1.0, ls=":",
                               label=f"narrowest width training ≥{reliable:.0%}\n"
                               "of seeds (on validation)")
            log2_widths(ax, ws)
            ax.set_yscale("log", base=2)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_title(name)
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel("live units (median over seeds, log2)")
        bottom_legend(fig, axes[-1])
        suptitle(fig, "Live units per hidden layer vs width",
                  f"live: not activation-dead, score ≥ {tau:g} x layer max")
    return fig
