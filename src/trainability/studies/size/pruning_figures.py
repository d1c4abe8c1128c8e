"""The size study's pruning figures, one function per figure (tables in, ``Figure`` out):

- ``lottery_accuracy.png`` and ``lottery_early_stop.png``: test accuracy and the
  early-stopping epoch of every arm vs the share of weights left (log axis);
- ``lottery_weights.png``: the same accuracies vs the number of weights, with dense networks
  of every width of the width study;
- ``structured.png``: success rate vs units kept, per arm of structured pruning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trainability.claims import wilson
from trainability.plotting import figure, style
from trainability.studies.size.axes import (
    ARM_STYLE,
    DENSITY_LABEL,
    STRUCT_STYLE,
    bottom_legend,
    datasets,
    log2_widths,
    panels,
    percent_axis,
    suptitle,
)

# ---------------------------------------------------------------- lottery


def _arm_lines(ax, d: pd.DataFrame, x: str, y: str, lo: str, hi: str) -> None:
    for arm, (label, color, ls, marker) in ARM_STYLE.items():
        a = d[(d.arm == arm) & (d.level > 0)].sort_values(x)
        if a.empty:
            continue
        ax.fill_between(a[x], a[lo], a[hi], color=color, alpha=0.15, linewidth=0)
        ax.plot(a[x], a[y], color=color, ls=ls, marker=marker, ms=3, lw=1.3, label=label)


def lottery_accuracy(lot: pd.DataFrame) -> Figure:
    """Top: the whole accuracy range; bottom: zoomed to within 0.06 of the dense network,
    where the arms that still work differ."""
    names = datasets(lot)
    with style():
        fig = figure(5.0 * len(names) + 0.4, 7.2)
        axes = np.asarray(fig.subplots(2, len(names), sharex="col", squeeze=False))
        for j, name in enumerate(names):
            d = lot[lot.dataset == name]
            dense = d[(d.arm == "ticket") & (d.level == 0)]
            ref = float(dense.acc_median.iloc[0]) if len(dense) else float(d.acc_median.max())
            for i, ax in enumerate(axes[:, j]):
                _arm_lines(ax, d, "density", "acc_median", "acc_q25", "acc_q75")
                if len(dense):
                    ax.axhline(ref, color="k", lw=0.9, ls="--",
                               label=f"dense width {int(dense.width.iloc[0])}, median")
                percent_axis(ax, d.density)
                if i == 0:
                    ax.set_ylim(max(0.45, float(d.acc_q25.min()) - 0.03), 1.0)
                    ax.set_title(name)
                else:
                    ax.set_ylim(ref - 0.06, min(1.0, ref + 0.02))
                    ax.set_title(f"{name}, zoomed in")
                    ax.set_xlabel(DENSITY_LABEL)
        axes[0, 0].set_ylabel("median final test\naccuracy (fraction)")
        axes[1, 0].set_ylabel("zoom")
        bottom_legend(fig, axes[1, -1])
        suptitle(fig, "Lottery tickets and their controls",
                  "test accuracy as pruning proceeds (left to right);",
                  "median over seeds (and draws), band: interquartile range")
    return fig


def lottery_early_stop(lot: pd.DataFrame) -> Figure:
    """The early-stopping epoch per arm; a dotted line at the last epoch trained, where an
    early-stopping epoch is censored (the validation loss was still falling)."""
    names = datasets(lot)
    last = int(lot.epochs.max())
    with style():
        fig, axes = panels(len(names), height=3.8, width=5.0)
        for ax, name in zip(axes, names, strict=True):
            d = lot[lot.dataset == name]
            _arm_lines(ax, d, "density", "early_stop_median", "early_stop_q25",
                       "early_stop_q75")
            dense = d[(d.arm == "ticket") & (d.level == 0)]
            if len(dense):
                ax.axhline(dense.early_stop_median.iloc[0], color="k", lw=0.9, ls="--",
                           label="dense network, median")
            ax.axhline(last, color="0.4", lw=0.8, ls=":",
                       label=f"last epoch ({last}): stopping here is censored")
            percent_axis(ax, d.density)
            ax.set_title(name)
            ax.set_xlabel(DENSITY_LABEL)
        axes[0].set_ylabel("early-stopping epoch (min validation loss)")
        axes[0].set_ylim(bottom=0, top=last * 1.08)
        bottom_legend(fig, axes[-1])
        suptitle(fig, "How fast do pruned networks learn?",
                 "epoch of minimum validation loss;",
                 "median over seeds, band: interquartile range")
    return fig


def lottery_weights(lot: pd.DataFrame, width: pd.DataFrame | None) -> Figure:
    names = datasets(lot)
    with style():
        fig, axes = panels(len(names), height=3.8, width=5.0)
        for ax, name in zip(axes, names, strict=True):
            d = lot[lot.dataset == name]
            if width is not None and (width.dataset == name).any():
                w = width[width.dataset == name].sort_values("weights")
                ax.fill_between(w.weights, w.acc_q25, w.acc_q75, color="k", alpha=0.12,
                                linewidth=0)
                ax.plot(w.weights, w.acc_median, color="k", lw=1.2, marker=".",
                        label="dense nets of every width (width study)")
                for _, r in w.iterrows():
                    if r.width in (2, 4, 8, 32, 128, 512):
                        ax.annotate(f"w{int(r.width)}", (r.weights, r.acc_median),
                                    textcoords="offset points", xytext=(0, -10),
                                    ha="center")
            _arm_lines(ax, d[d.arm.isin(["ticket", "reinit", "random", "dense"])],
                       "weights", "acc_median", "acc_q25", "acc_q75")
            ax.set_xscale("log")
            ax.set_ylim(max(0.45, float(d.acc_q25.min()) - 0.03), 1.0)
            ax.set_title(name)
            ax.set_xlabel("number of weights (biases not counted, log scale)")
        axes[0].set_ylabel("median final test\naccuracy (fraction)")
        bottom_legend(fig, axes[-1])
        suptitle(fig, "Same number of weights: sparse tickets vs dense nets",
                  "median over seeds, band: interquartile range")
    return fig


# ---------------------------------------------------------------- structured


def structured(st: pd.DataFrame, live: pd.DataFrame) -> Figure:
    fixed = st[st.target == "fixed"]
    names = datasets(st)
    with style():
        fig, axes = panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = fixed[fixed.dataset == name]
            ks = sorted(d.k.unique())
            offsets = dict(zip(STRUCT_STYLE, np.linspace(-0.12, 0.12, len(STRUCT_STYLE)),
                               strict=True))
            for arm, (label, color, marker) in STRUCT_STYLE.items():
                a = d[d.arm == arm].sort_values("k")
                if a.empty:
                    continue
                x = a.k * 2.0 ** offsets[arm]
                err = np.clip(np.vstack([a.success_rate - a.ci_low,
                                         a.ci_high - a.success_rate]), 0, None)
                ax.errorbar(x, a.success_rate, yerr=err, color=color, marker=marker, ms=4,
                            capsize=2, lw=1.2, label=label)
            lv = live[live.dataset == name]
            own = st[(st.dataset == name) & (st.target == "live")]
            if len(lv) and len(own):
                lo_k, hi_k = lv.k_eff.quantile(0.25), lv.k_eff.quantile(0.75)
                ax.axvspan(lo_k * 0.93, hi_k * 1.07, color="#d62728", alpha=0.08, lw=0,
                           label="each wide net cut to its own live units:\nIQR of k, and "
                           "success pooled over seeds")
                mid = float(lv.k_eff.median())
                for arm, (_, color, marker) in STRUCT_STYLE.items():
                    a = own[own.arm == arm]
                    if a.empty:
                        continue
                    k_, n = int(a.successes.sum()), int(a.n.sum())
                    lo, hi = wilson(k_, n)
                    rate = k_ / n
                    ax.errorbar([mid * 2.0 ** offsets[arm]], [rate], color=color,
                                marker=marker, ms=5, mfc="white", capsize=2, ls="none",
                                yerr=np.clip([[rate - float(lo)], [float(hi) - rate]], 0, None))
                ks = sorted(set(ks) | {int(round(mid))})
            if ks:
                log2_widths(ax, ks)
            ax.set_ylim(-0.05, 1.08)
            big = int(st[st.dataset == name].big_width.iloc[0]) if len(st) else 0
            thr = d.threshold.iloc[0] if len(d) else float("nan")
            ax.set_title(f"{name}: from width {big}; success = test acc ≥ {thr:g}")
            ax.set_xlabel("units kept per hidden layer (k, log2 scale)")
        axes[0].set_ylabel("share of seeds that succeed")
        bottom_legend(fig, axes[-1], ncol=2)
        suptitle(fig, "Cut a wide group-lasso network to k units per layer:",
                  "keep its weights, rewind them, or start afresh?",
                  "bars: Wilson 95% interval")
    return fig
