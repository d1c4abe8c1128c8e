"""The gradient study's figures, one function per figure; ``make`` lists what the spec
declares.

- ``per_layer.png``: the lecture's gradient figure for the running example, per epoch;
- ``depth_ratio.png``: layer 1's gradient norm relative to the classifier's against depth;
- ``depth_profile.png``: every layer's gradient norm relative to the classifier's in the
  deepest networks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from trainability.io import InputError
from trainability.order import activation_order, init_order
from trainability.plotting import figure, style, suptitle
from trainability.studies.gradients import stats
from trainability.studies.gradients.tables import summarize

MOMENT_TEXT = {"init": "at initialization", "final": "after training"}
NORM_RATIO = "(ratio of norms, log scale)"


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    return {
        "per_layer.png": lambda: per_layer_figure(tables["epochs"], spec.running_init,
                                                  spec.eps_threshold()),
        "depth_ratio.png": lambda: depth_ratio_figure(tables["ratios"]),
        "depth_profile.png": lambda: depth_profile_figure(tables["layers"]),
    }


def _layer_colors(n_hidden: int) -> list:
    if n_hidden == 1:
        return ["#3b528b"]
    return list(sns.color_palette("viridis_r", n_hidden + 1))[1:]


def _geo_stats(values: pd.DataFrame):
    """Per row of ``values`` (index x seeds): geometric mean, min and max over the
    positive finite entries (NaN where none)."""
    v = values.to_numpy(float)
    pos = np.where(np.isfinite(v) & (v > 0), v, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        return (10 ** np.nanmean(np.log10(pos), axis=1), np.nanmin(pos, axis=1),
                np.nanmax(pos, axis=1))


def per_layer_figure(epochs: pd.DataFrame, init: str, eps: tuple[float, str] | None) -> Figure:
    """The lecture's gradient figure: |gradient mean| (top) and gradient sd (bottom) per
    epoch on log scales, a column per activation, a line per weight matrix (classifier
    dashed): geometric mean over seeds, band (sd only) min to max over seeds."""
    rows = epochs[epochs["init"] == init]
    if rows.empty:
        raise InputError(f"no per-epoch gradient rows for init {init!r}")
    acts = activation_order(rows.activation)
    depth = int(rows.depth.iloc[0])
    colors = _layer_colors(depth) + ["black"]
    panels = (("grad_mean", "|gradient mean|"), ("grad_std", "gradient sd"))
    with style():
        fig = figure(3.1 * len(acts) + 0.8, 6.0)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, sharey="row", squeeze=False))
        for j, act in enumerate(acts):
            cell = rows[rows.activation == act]
            for layer in sorted(cell.layer.unique()):
                last = layer == depth + 1
                line = dict(color=colors[int(layer) - 1], lw=1.7 if last else 1.2,
                            ls="--" if last else "-",
                            label="classifier" if last else f"layer {layer}")
                for i, (column, _) in enumerate(panels):
                    values = cell[cell.layer == layer].pivot(
                        index="epoch", columns="seed", values=column).abs()
                    geo, lo, hi = _geo_stats(values)
                    if i == 1:
                        axes[i, j].fill_between(values.index, lo, hi, color=line["color"],
                                                alpha=0.12, linewidth=0)
                    axes[i, j].plot(values.index, geo, **line)
            for i in range(2):
                axes[i, j].set_yscale("log")
                if eps is not None:
                    axes[i, j].axhline(eps[0], color="0.5", lw=0.8, ls=":", label=eps[1])
                if not (cell[panels[i][0]].abs() > 0).any():
                    axes[i, j].text(0.5, 0.5, "every gradient is exactly 0", ha="center",
                                    transform=axes[i, j].transAxes)
            axes[0, j].set_title(f"{act} ({cell.seed.nunique()} seeds)")
            axes[1, j].set_xlabel("epoch (0 = initialization)")
        for i, (_, label) in enumerate(panels):
            axes[i, 0].set_ylabel(f"{label} of the entries\n(log scale)")
        handles, labels = axes[1, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="weight matrix")
        suptitle(fig,
            f"Per-layer gradients of the running example ({depth} hidden layers, {init} "
            "init)\nover the entries of each weight matrix's full-batch gradient; line = "
            "geometric mean over seeds,\nband (sd only) = min to max over seeds"
        )
    return fig


def _log_limits(values, floor: float = -14.0) -> tuple[float, float]:
    """Decade limits ``(lo, hi)`` (log10) around the positive finite ``values``: whole
    decades, at least [VANISH - 1, EXPLODE + 1], never below ``floor``."""
    v = np.asarray(values, dtype=float)
    v = np.log10(v[np.isfinite(v) & (v > 0)])
    lo = min(stats.VANISH - 1, np.floor(v.min() - 0.3)) if len(v) else stats.VANISH - 1
    hi = max(stats.EXPLODE + 1, np.ceil(v.max() + 0.3)) if len(v) else stats.EXPLODE + 1
    return max(float(lo), floor), float(hi)


def _shade_regimes(ax, lo: float, hi: float) -> None:
    """Red below a tenth (vanishing), blue above ten (exploding), dotted line at 1."""
    ax.axhspan(10 ** lo, 10 ** stats.VANISH, color="#d6604d", alpha=0.08, linewidth=0)
    ax.axhspan(10 ** stats.EXPLODE, 10 ** hi, color="#4393c3", alpha=0.08, linewidth=0)
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_ylim(10 ** lo, 10 ** hi)
    ax.set_yscale("log")


def _moment_panels(acts: list[str], lo: float, hi: float):
    """A figure with a row per moment (MOMENT_TEXT) and a column per activation, every
    panel shaded by regime and the top row titled; returns it, its axes and
    ``(moment, activation, ax)`` per panel."""
    fig = figure(3.2 * len(acts) + 1.8, 6.6)
    fig.get_layout_engine().set(h_pad=0.12)  # a row's top decade label clears the row above
    axes = np.asarray(fig.subplots(2, len(acts), sharex=True, sharey=True, squeeze=False))
    panels = []
    for i, moment in enumerate(MOMENT_TEXT):
        for j, act in enumerate(acts):
            _shade_regimes(axes[i, j], lo, hi)
            if i == 0:
                axes[i, j].set_title(act)
            panels.append((moment, act, axes[i, j]))
    return fig, axes, panels


def _zeros_note(rows: pd.DataFrame) -> str:
    """What a zero-initialized cell shows instead of a line."""
    zero, none, n = int(rows.n_zero.sum()), int(rows.n_none.sum()), int(rows.n.sum())
    if none == n:
        return "zeros: no gradient in any layer"
    if zero + none == n:
        return "zeros: layer 1 gets no gradient"
    return "zeros: see the tables"


def _palette(inits: list[str]) -> dict:
    return dict(zip(inits, sns.color_palette("colorblind", len(inits)), strict=True))


def _finish(fig, axes, ylabel: str, title: str) -> None:
    for i, moment in enumerate(MOMENT_TEXT):
        axes[i, 0].set_ylabel(f"{MOMENT_TEXT[moment]}\n{ylabel}\n{NORM_RATIO}")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", title="initialization")
    suptitle(fig, title)


def depth_ratio_figure(ratios: pd.DataFrame) -> Figure:
    """Layer 1's gradient norm over the classifier's against depth: rows at initialization
    and after training, columns activations, a line per non-zero init (geometric mean over
    the seeds with a finite ratio, error bars x/÷ 1 sd; hollow marker: some seeds have
    none); shaded: vanishing and exploding."""
    summary = summarize(ratios).reset_index()
    acts = activation_order(ratios.activation)
    drawn = [i for i in init_order(ratios["init"]) if i != "zeros"]
    depths = sorted(int(d) for d in ratios.depth.unique())
    palette = _palette(drawn)
    offsets = dict(zip(drawn, np.linspace(-0.06, 0.06, len(drawn)) if len(drawn) > 1
                       else [0.0], strict=True))
    shown = summary[summary["init"] != "zeros"]
    sd = shown.sd.fillna(0)
    lo, hi = _log_limits(np.concatenate([10 ** (shown["mean"] - sd), 10 ** (shown["mean"] + sd)]))
    with style():
        fig, axes, panels = _moment_panels(acts, lo, hi)
        for moment, act, ax in panels:
            at = summary[(summary.activation == act) & (summary.moment == moment)]
            for init in drawn:
                s = at[(at["init"] == init) & (at.n_finite > 0)].sort_values("depth")
                if s.empty:
                    continue
                x = s.depth.to_numpy(float) * 2.0 ** offsets[init]
                m, e = s["mean"].to_numpy(float), s.sd.fillna(0).to_numpy(float)
                ax.errorbar(x, 10 ** m, yerr=[10 ** m - 10 ** (m - e), 10 ** (m + e) - 10 ** m],
                            color=palette[init], marker="none", lw=1.2, capsize=2, label=init)
                full = (s.n_finite == s.n).to_numpy()
                ax.scatter(x[full], 10 ** m[full], color=palette[init], s=16, zorder=3)
                ax.scatter(x[~full], 10 ** m[~full], facecolor="white",
                           edgecolor=palette[init], s=20, zorder=3, linewidths=1.2)
            zeros = at[at["init"] == "zeros"]
            if len(zeros):
                ax.text(0.03, 0.03, _zeros_note(zeros), transform=ax.transAxes, va="bottom",
                        color="0.25")
        axes[0, 0].set_xscale("log", base=2)
        axes[0, 0].set_xticks(depths, [str(d) for d in depths])
        axes[0, 0].minorticks_off()
        for ax in axes[1]:
            ax.set_xlabel("hidden layers (depth, log2 scale)")
        _finish(fig, axes, "‖g layer 1‖ / ‖g classifier‖",
                "Gradient reaching layer 1 relative to the classifier's, against depth\n"
                "geometric mean over seeds, error bars ×/÷ 1 sd; shaded red: at most 1/10, "
                "blue: at least 10;\nhollow marker: some seeds have no gradient at layer 1 "
                "and are left out of the mean")
    return fig


def depth_profile_figure(layers: pd.DataFrame) -> Figure:
    """Every hidden layer's gradient norm over the classifier's in the deepest networks:
    rows at initialization and after training, columns activations, a line per non-zero
    init (geometric mean over the seeds with a finite ratio, band = min to max)."""
    depth = int(layers.depth.max())
    rows = layers[(layers.depth == depth) & (layers["init"] != "zeros")]
    acts = activation_order(layers.activation)
    drawn = [i for i in init_order(rows["init"])]
    palette = _palette(drawn)
    curves = {}
    for (act, init, moment), cell in rows.groupby(["activation", "init", "moment"]):
        norms = cell.pivot(index="layer", columns="seed", values="grad_norm")
        with np.errstate(all="ignore"):
            rel = norms.loc[:depth] / norms.loc[depth + 1]
        curves[act, init, moment] = (rel.index.to_numpy(), *_geo_stats(rel))
    lo, hi = _log_limits(np.concatenate([c[1] for c in curves.values()]) if curves else [])
    with style():
        fig, axes, panels = _moment_panels(acts, lo, hi)
        for moment, act, ax in panels:
            for init in drawn:
                if (act, init, moment) not in curves:
                    continue
                x, geo, low, high = curves[act, init, moment]
                ax.fill_between(x, low, high, color=palette[init], alpha=0.12, linewidth=0)
                ax.plot(x, geo, color=palette[init], lw=1.3, marker=".", ms=4, label=init)
        for ax in axes[1]:
            ax.set_xlabel("hidden layer (1 = next to the input)")
        _finish(fig, axes, "‖g layer‖ / ‖g classifier‖",
                f"Each hidden layer's gradient norm relative to the classifier's, {depth} "
                "hidden layers\ngeometric mean over the seeds with a finite ratio, band = min "
                "to max;\nshaded red: at most 1/10, blue: at least 10; zeros init not drawn")
    return fig
