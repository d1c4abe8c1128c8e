"""Figures of the size study, one pure function per figure (tables in, ``Figure`` out), and
``write_figures`` to save those of one sub-study as deterministic PNGs (the style and
writer of ``trainability.figures``). One panel per dataset throughout.

- width: ``width_success.png`` (success rate vs width, Wilson 95% intervals),
  ``width_accuracy.png`` (median, interquartile range and every seed's test accuracy),
  ``width_epochs.png`` (epochs to 95% training accuracy);
- dead: ``dead_units.png`` (activation-dead and norm-dead shares vs width per
  regularizer), ``dead_tau.png`` (norm-dead share vs the threshold tau),
  ``effective_width.png`` (live units per layer vs width, and the width needed from scratch);
- lottery: ``lottery_accuracy.png`` and ``lottery_early_stop.png`` (vs the share of weights
  left, log axis), ``lottery_weights.png`` (vs the number of weights, with dense networks
  of every width);
- structured: ``structured.png`` (success rate vs units kept, per arm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from trainability.figures import _figure, _style, save_figure
from trainability.io import InputError
from trainability.studies.size import FIGURES
from trainability.studies.size_tables import needed_width, wilson

TEST_ACC = "final test accuracy (fraction)"
WIDTH_LABEL = "width (units per hidden layer, log2 scale)"
REG_STYLE = {  # regularizer: (label, colour)
    "none": ("no regularization", "#1b9e77"),
    "l2": ("L2", "#7570b3"),
    "group_lasso": ("group lasso on units", "#d95f02"),
}
ARM_STYLE = {  # arm: (label, colour, line style, marker)
    "ticket": ("winning ticket (rewind to init)", "#d62728", "-", "o"),
    "late": ("ticket, rewound to an early epoch", "#ff7f0e", "-", "^"),
    "oneshot": ("one-shot ticket", "#8c564b", "--", "s"),
    "reinit": ("ticket mask, random re-init", "#1f77b4", "--", "v"),
    "random": ("random pruning, same layer densities", "#7f7f7f", ":", "x"),
    "dense": ("small dense net, same #weights", "#2ca02c", "-", "D"),
}
STRUCT_STYLE = {  # arm: (label, colour, marker)
    "pruned": ("cut, not retrained", "#7f7f7f", "x"),
    "finetune": ("cut, then fine-tuned", "#d62728", "o"),
    "rewind": ("cut, rewound to init, retrained", "#ff7f0e", "^"),
    "scratch": ("width k from scratch", "#1f77b4", "s"),
}


def _datasets(frame: pd.DataFrame) -> list[str]:
    return sorted(frame.dataset.unique())


def _panels(n: int, height: float = 3.4, width: float = 4.6, sharey=True):
    fig = _figure(width * n + 0.4, height + 1.1)
    axes = np.atleast_1d(fig.subplots(1, n, sharey=sharey, squeeze=False)[0])
    return fig, axes


def _log2_widths(ax, widths) -> None:
    widths = sorted({int(w) for w in widths})
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(axis="x", labelsize=7)


DENSITY_TICKS = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)


def _percent_axis(ax, densities) -> None:
    """Log x-axis of densities, ticks at 1-2-5 steps as percentages, dense on the left."""
    lo, hi = float(np.min(densities)), float(np.max(densities))
    ax.set_xscale("log")
    ticks = [t for t in DENSITY_TICKS if lo / 1.3 <= t <= hi * 1.3]
    if len(ticks) < 3:  # a narrow range (a tiny test run): label the levels themselves
        ticks = sorted({float(f"{t:.2g}") for t in np.geomspace(lo, hi, 4)})
    ax.set_xticks(ticks, [f"{100 * t:g}%" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(hi * 1.15, lo / 1.15)


def _bottom_legend(fig, ax, ncol: int = 3) -> None:
    """One legend for the figure, below the panels (it would hide data inside them)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize="small",
               frameon=False)


def _suptitle(fig, *lines: str) -> None:
    fig.suptitle("\n".join(lines), fontsize="medium")


# ---------------------------------------------------------------- width


def width_success_figure(width: pd.DataFrame) -> Figure:
    names = _datasets(width)
    with _style():
        fig, axes = _panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = width[width.dataset == name].sort_values("width")
            err = np.clip(np.vstack([d.success_rate - d.ci_low, d.ci_high - d.success_rate]),
                          0, None)
            ax.errorbar(d.width, d.success_rate, yerr=err, marker="o", ms=4, lw=1.4,
                        capsize=3, color="#1f77b4")
            for _, r in d[d.success_rate < 0.9].iterrows():  # the failures, by count
                ax.annotate(f"{int(r.successes)}/{int(r.n)}", (r.width, r.success_rate),
                            textcoords="offset points", xytext=(6, -4), ha="left",
                            va="top", fontsize=6.5, color="0.3")
            _log2_widths(ax, d.width)
            ax.set_ylim(-0.05, 1.08)
            ax.set_title(f"{name}: success = test accuracy ≥ {d.threshold.iloc[0]:g}")
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel("share of seeds that succeed")
        _suptitle(fig, "Does a wide network train where a narrow one cannot?",
                  "share of seeds that succeed; bars: Wilson 95% interval;",
                  "labels: successes/seeds where fewer than 90% succeed")
    return fig


def width_accuracy_figure(width: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    names = _datasets(width)
    rng = np.random.default_rng(0)  # jitter only; fixed so the PNG is deterministic
    with _style():
        fig, axes = _panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            d = width[width.dataset == name].sort_values("width")
            r = runs[runs.dataset == name]
            jitter = 2.0 ** rng.uniform(-0.18, 0.18, len(r))
            ax.scatter(r.width * jitter, r.test_acc, s=4, color="0.55", alpha=0.45,
                       linewidths=0, label="one seed")
            ax.fill_between(d.width, d.acc_q25, d.acc_q75, color="#1f77b4", alpha=0.3,
                            linewidth=0, label="interquartile range")
            ax.plot(d.width, d.acc_median, color="#1f77b4", marker="o", ms=3.5, lw=1.5,
                    label="median")
            ax.axhline(d.threshold.iloc[0], color="#d62728", lw=0.9, ls="--",
                       label="success threshold")
            _log2_widths(ax, d.width)
            ax.set_title(name)
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel(TEST_ACC)
        axes[0].legend(loc="lower right", fontsize="small")
        _suptitle(fig, "Final test accuracy vs width",
                  "every seed (grey), median and interquartile range (blue)")
    return fig


def width_epochs_figure(width: pd.DataFrame) -> Figure:
    """Top: epochs to 95% training accuracy (seeds that get there); bottom: the share of
    seeds that never get there."""
    names = _datasets(width)
    with _style():
        fig = _figure(4.6 * len(names) + 0.4, 5.0)
        axes = np.asarray(fig.subplots(2, len(names), sharex="col", sharey="row",
                                       squeeze=False, height_ratios=[3, 1]))
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
            _log2_widths(low, d.width)
            low.set_xlabel(WIDTH_LABEL)
        top = np.nanmax(width.epochs_to_95_q75.to_numpy(float))
        axes[0, 0].set_ylim(0, (top if np.isfinite(top) else 1.0) * 1.08)
        axes[0, 0].set_ylabel("epochs to 95%\ntraining accuracy")
        axes[1, 0].set_ylabel("share that\nnever got there")
        axes[0, 0].legend(loc="upper right", fontsize="small")
        _suptitle(fig, "How fast does each width learn?",
                  "epochs until 95% of the training points are right")
    return fig


# ---------------------------------------------------------------- dead units


def dead_units_figure(dead: pd.DataFrame) -> Figure:
    main = dead[dead.main_tau]
    names = _datasets(main)
    tau = float(main.tau.iloc[0])
    with _style():
        fig = _figure(8.6, 2.9 * len(names) + 1.0)
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
                ax.axhline(0.10, color="0.5", lw=0.8, ls=":")
                _log2_widths(ax, main.width)
                ax.set_ylim(-0.03, 1.03)
                if i == 0:
                    ax.set_title(title, fontsize="medium")
                if j == 0:
                    ax.set_ylabel(f"{name}\nshare of hidden units")
            axes[-1, 0].set_xlabel(WIDTH_LABEL)
            axes[-1, 1].set_xlabel(WIDTH_LABEL)
        axes[0, 0].legend(loc="upper left", fontsize="small")
        _suptitle(fig, "How many units of a trained network are dead?",
                  "mean over seeds and hidden layers; dotted: 10%")
    return fig


def dead_tau_figure(dead: pd.DataFrame) -> Figure:
    names = _datasets(dead)
    with _style():
        fig, axes = _panels(len(names))
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
        axes[0].legend(loc="upper left", fontsize="small")
        _suptitle(fig, "Norm-dead share vs the threshold tau",
                  "at the widest width of each regularizer;",
                  "score = ||incoming weights, bias|| x ||outgoing weights||")
    return fig


def effective_width_figure(dead: pd.DataFrame, width: pd.DataFrame | None,
                           reliable: float | None = None) -> Figure:
    main = dead[dead.main_tau]
    names = _datasets(main)
    tau = float(main.tau.iloc[0])
    layers = sorted(c for c in main.columns if c.startswith("live_median_"))
    styles = ["-", "--", "-.", ":"]
    with _style():
        fig, axes = _panels(len(names))
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
                               label=f"narrowest width training ≥{reliable:.0%} of seeds")
            _log2_widths(ax, ws)
            ax.set_yscale("log", base=2)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_title(name)
            ax.set_xlabel(WIDTH_LABEL)
        axes[0].set_ylabel("live units (median over seeds, log2)")
        _bottom_legend(fig, axes[-1])
        _suptitle(fig, "Live units per hidden layer vs width",
                  f"live: not activation-dead, score ≥ {tau:g} x layer max")
    return fig


# ---------------------------------------------------------------- lottery


def _arm_lines(ax, d: pd.DataFrame, x: str, y: str, lo: str, hi: str) -> None:
    for arm, (label, color, ls, marker) in ARM_STYLE.items():
        a = d[(d.arm == arm) & (d.level > 0)].sort_values(x)
        if a.empty:
            continue
        ax.fill_between(a[x], a[lo], a[hi], color=color, alpha=0.15, linewidth=0)
        ax.plot(a[x], a[y], color=color, ls=ls, marker=marker, ms=3, lw=1.3, label=label)


def lottery_accuracy_figure(lot: pd.DataFrame) -> Figure:
    """Top: the whole accuracy range; bottom: zoomed to within 0.06 of the dense network,
    where the arms that still work differ."""
    names = _datasets(lot)
    with _style():
        fig = _figure(5.0 * len(names) + 0.4, 7.2)
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
                _percent_axis(ax, d.density)
                if i == 0:
                    ax.set_ylim(max(0.45, float(d.acc_q25.min()) - 0.03), 1.0)
                    ax.set_title(name)
                else:
                    ax.set_ylim(ref - 0.06, min(1.0, ref + 0.02))
                    ax.set_title(f"{name}, zoomed in", fontsize="small")
                    ax.set_xlabel("weights remaining (share of the dense network, log scale)")
        axes[0, 0].set_ylabel(f"{TEST_ACC}, median")
        axes[1, 0].set_ylabel("zoom")
        _bottom_legend(fig, axes[1, -1])
        _suptitle(fig, "Lottery tickets and their controls",
                  "test accuracy as pruning proceeds (left to right);",
                  "median over seeds (and draws), band: interquartile range")
    return fig


def lottery_early_stop_figure(lot: pd.DataFrame) -> Figure:
    names = _datasets(lot)
    epochs = None
    with _style():
        fig, axes = _panels(len(names), height=3.8, width=5.0)
        for ax, name in zip(axes, names, strict=True):
            d = lot[lot.dataset == name]
            _arm_lines(ax, d, "density", "early_stop_median", "early_stop_q25",
                       "early_stop_q75")
            dense = d[(d.arm == "ticket") & (d.level == 0)]
            if len(dense):
                ax.axhline(dense.early_stop_median.iloc[0], color="k", lw=0.9, ls="--",
                           label="dense network, median")
            _percent_axis(ax, d.density)
            ax.set_title(name)
            ax.set_xlabel("weights remaining (share of the dense network, log scale)")
            epochs = d.early_stop_q75.max()
        axes[0].set_ylabel("early-stopping epoch (min validation loss)")
        axes[0].set_ylim(bottom=0, top=(epochs or 1) * 1.08)
        _bottom_legend(fig, axes[-1])
        _suptitle(fig, "How fast do pruned networks learn?",
                  "epoch of minimum validation loss;",
                  "median over seeds, band: interquartile range")
    return fig


def lottery_weights_figure(lot: pd.DataFrame, width: pd.DataFrame | None) -> Figure:
    names = _datasets(lot)
    with _style():
        fig, axes = _panels(len(names), height=3.8, width=5.0)
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
                                    textcoords="offset points", xytext=(0, -10), fontsize=6,
                                    ha="center")
            _arm_lines(ax, d[d.arm.isin(["ticket", "reinit", "random", "dense"])],
                       "weights", "acc_median", "acc_q25", "acc_q75")
            ax.set_xscale("log")
            ax.set_ylim(max(0.45, float(d.acc_q25.min()) - 0.03), 1.0)
            ax.set_title(name)
            ax.set_xlabel("number of weights (biases not counted, log scale)")
        axes[0].set_ylabel(f"{TEST_ACC}, median")
        _bottom_legend(fig, axes[-1])
        _suptitle(fig, "Same number of weights: sparse tickets vs dense nets",
                  "median over seeds, band: interquartile range")
    return fig


# ---------------------------------------------------------------- structured


def structured_figure(st: pd.DataFrame, live: pd.DataFrame) -> Figure:
    fixed = st[st.target == "fixed"]
    names = _datasets(st)
    with _style():
        fig, axes = _panels(len(names))
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
                _log2_widths(ax, ks)
            ax.set_ylim(-0.05, 1.08)
            big = int(st[st.dataset == name].big_width.iloc[0]) if len(st) else 0
            thr = d.threshold.iloc[0] if len(d) else float("nan")
            ax.set_title(f"{name}: from width {big}; success = test acc ≥ {thr:g}",
                         fontsize="medium")
            ax.set_xlabel("units kept per hidden layer (k, log2 scale)")
        axes[0].set_ylabel("share of seeds that succeed")
        _bottom_legend(fig, axes[-1], ncol=2)
        _suptitle(fig, "Cut a wide group-lasso network to k units per layer:",
                  "keep its weights, rewind them, or start afresh?",
                  "bars: Wilson 95% interval")
    return fig


# ---------------------------------------------------------------- writing


def write_figures(study: str, tables: Mapping[str, pd.DataFrame], out_dir,
                  reliable: float | None = None) -> list[Path]:
    """Write the figures of one sub-study (names: ``size.FIGURES[study]``)."""
    width = tables.get("width")
    makers: dict[str, Callable[[], Figure]]
    if study == "width":
        makers = {
            "width_success.png": lambda: width_success_figure(tables["size_width"]),
            "width_accuracy.png": lambda: width_accuracy_figure(tables["size_width"],
                                                                tables["size_width_runs"]),
            "width_epochs.png": lambda: width_epochs_figure(tables["size_width"]),
        }
    elif study == "dead":
        makers = {
            "dead_units.png": lambda: dead_units_figure(tables["size_dead"]),
            "dead_tau.png": lambda: dead_tau_figure(tables["size_dead"]),
            "effective_width.png": lambda: effective_width_figure(tables["size_dead"], width,
                                                                  reliable),
        }
    elif study == "lottery":
        makers = {
            "lottery_accuracy.png": lambda: lottery_accuracy_figure(tables["size_lottery"]),
            "lottery_early_stop.png": lambda: lottery_early_stop_figure(
                tables["size_lottery"]),
            "lottery_weights.png": lambda: lottery_weights_figure(tables["size_lottery"],
                                                                  width),
        }
    elif study == "structured":
        makers = {"structured.png": lambda: structured_figure(
            tables["size_structured"], tables["size_structured_live"])}
    else:
        raise InputError(f"unknown sub-study {study!r}")
    assert list(makers) == list(FIGURES[study])
    written = []
    for name, make in makers.items():
        path = Path(out_dir) / name
        save_figure(make(), path)
        written.append(path)
    return written
