"""Axes, panels and styles the size study's figures share (one panel per dataset)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator

from trainability.plotting import figure, legend_columns, legend_outside
from trainability.plotting import suptitle as wrapped_title

TEST_ACC = "final test accuracy (fraction)"
WIDTH_LABEL = "width (units per hidden layer, log2 scale)"
DENSITY_LABEL = "weights remaining (share of the dense network, log scale)"
DENSITY_TICKS = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
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


def datasets(frame: pd.DataFrame) -> list[str]:
    return sorted(frame.dataset.unique())


def panels(n: int, height: float = 3.4, width: float = 4.6, sharey=True):
    fig = figure(width * n + 0.4, height + 1.1)
    axes = np.atleast_1d(fig.subplots(1, n, sharey=sharey, squeeze=False)[0])
    return fig, axes


def log2_widths(ax, widths) -> None:
    widths = sorted({int(w) for w in widths})
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.xaxis.set_minor_locator(NullLocator())


def percent_axis(ax, densities) -> None:
    """Log x-axis of densities, ticks at 1-2-5 steps as percentages, dense on the left."""
    lo, hi = float(np.min(densities)), float(np.max(densities))
    ax.set_xscale("log")
    ticks = [t for t in DENSITY_TICKS if lo / 1.3 <= t <= hi * 1.3]
    if len(ticks) < 3:  # a narrow range (a tiny test run): label the levels themselves
        ticks = sorted({float(f"{t:.2g}") for t in np.geomspace(lo, hi, 4)})
    ax.set_xticks(ticks, [f"{100 * t:g}%" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(hi * 1.15, lo / 1.15)


def bottom_legend(fig, ax, ncol: int = 3) -> None:
    """One legend for the figure, below the panels (it would hide data inside them), in at
    most ``ncol`` columns, fewer if its width holds fewer."""
    labels = ax.get_legend_handles_labels()[1]
    legend_outside(fig, ax, "below", ncol=min(ncol, len(labels), legend_columns(fig, labels)))


def suptitle(fig, *lines: str) -> None:
    wrapped_title(fig, *lines)
