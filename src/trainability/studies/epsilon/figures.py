"""The epsilon study's figures, one function per figure.

- ``gradients.png``: each network's layer-1 gradient at initialization against the floors
  the two conventions put under RMSprop's denominator;
- ``accuracy.png``: final test accuracy per seed by eps and convention, per network and
  optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trainability.plotting import (
    TEST_ACC_LABEL,
    figure,
    legend_outside,
    panel_grid,
    style,
    suptitle,
)
from trainability.studies.epsilon.claims import layer1_gradients, rows
from trainability.studies.epsilon.spec import LECTURE_EPS
from trainability.studies.epsilon.tables import network_label

COLORS = {"keras": "#d95f02", "pytorch": "#1b9e77"}  # colour-blind safe (Dark2)
OFFSET = {"keras": -0.25, "pytorch": 0.25}  # in decades of eps: the two side by side


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    return {"gradients.png": lambda: gradients_figure(spec, tables["gradients"]),
            "accuracy.png": lambda: accuracy_figure(spec, tables["runs"])}


def gradients_figure(spec, gradients: pd.DataFrame) -> Figure:
    """Layer-1 RMS gradient entry per seed (log scale), one column per network; horizontal
    lines at the lecture's eps and its square root, the smallest denominator of RMSprop's
    step under PyTorch's and under Keras' convention."""
    nets = spec.networks()
    with style():
        fig = figure(1.2 * len(nets) + 4.2, 4.2)
        ax = fig.subplots()
        rng = np.random.default_rng(0)  # jitter only: the same figure every time
        for x, net in enumerate(nets):
            rms = layer1_gradients(gradients, net).to_numpy()
            ax.scatter(x + rng.uniform(-0.15, 0.15, len(rms)), rms, s=14, color="0.25",
                       alpha=0.8, linewidths=0, zorder=3)
        floors = (("keras", math.sqrt(LECTURE_EPS), "-", "sqrt(eps): Keras' floor"),
                  ("pytorch", LECTURE_EPS, "--", "eps: PyTorch's floor"))
        for conv, y, ls, text in floors:
            ax.axhline(y, color=COLORS[conv], lw=1.5, ls=ls,
                       label=f"{text} ({y:.1e}, eps = {LECTURE_EPS:g})")
        ax.set_yscale("log")
        ax.set_xticks(range(len(nets)), [network_label(*n).replace("/", "\n") for n in nets])
        ax.set_xlim(-0.6, len(nets) - 0.4)
        ax.set_ylabel("layer-1 RMS gradient entry at init")
        legend_outside(fig, ax, "below")
        suptitle(fig, "Layer-1 gradients at initialization and the floors of RMSprop's "
                     "denominator")
    return fig


def _finished(models: pd.DataFrame) -> pd.Series:
    """Test accuracy per seed, NaN where diverged (a figure needs no dataset to draw)."""
    m = models.set_index("seed")
    return m.test_acc.where(m.status == "ok")


def _panel(ax, spec, runs, net, optimizer) -> None:
    x = np.log10(np.asarray(spec.eps, dtype=float))
    accs = {c: [_finished(rows(runs, net, optimizer, c, e)) for e in spec.eps]
            for c in spec.conventions}
    if {"keras", "pytorch"} <= set(accs):  # join each seed's two runs
        for i, xi in enumerate(x):
            k, p = accs["keras"][i], accs["pytorch"][i]
            for seed in sorted(set(k.index) & set(p.index)):
                ax.plot([xi + OFFSET["keras"], xi + OFFSET["pytorch"]], [k[seed], p[seed]],
                        color="0.8", lw=0.6, zorder=1)
    for conv in spec.conventions:
        dx = OFFSET.get(conv, 0.0)
        for xi, values in zip(x, accs[conv], strict=True):
            ax.scatter(np.full(len(values), xi + dx), values, s=10, color=COLORS.get(conv),
                       alpha=0.6, linewidths=0, zorder=2)
        means = [v.mean() for v in accs[conv]]
        ax.plot(x + dx, means, marker="o", ms=6, color=COLORS.get(conv), label=conv, zorder=3)
    ax.axvline(math.log10(LECTURE_EPS), color="0.5", ls=":", lw=1)
    ax.set_xticks(x, [f"{e:g}" for e in spec.eps])
    ax.set_ylim(min(0.3, ax.get_ylim()[0]), 1.02)


def accuracy_figure(spec, runs: pd.DataFrame) -> Figure:
    """Per optimizer, a row (or rows of three) of panels, one per network; x: eps (log);
    colours: conventions."""
    nets, opts = spec.networks(), spec.optimizers
    groups, columns = panel_grid(len(nets), 3)
    with style():
        fig = figure(3.0 * columns + 1.2, 2.6 * groups * len(opts) + 1.3)
        axes = np.asarray(fig.subplots(groups * len(opts), columns, sharey=True,
                                       squeeze=False))
        for i, opt in enumerate(opts):
            for k, net in enumerate(nets):
                g, j = divmod(k, columns)
                ax = axes[i * groups + g, j]
                _panel(ax, spec, runs, net, opt)
                ax.set_title(f"{network_label(*net)}, {opt}")
                if j == 0:
                    ax.set_ylabel(f"{opt}\n{TEST_ACC_LABEL}")
                ax.set_xlabel("eps")
            for k in range(len(nets), groups * columns):
                g, j = divmod(k, columns)
                axes[i * groups + g, j].set_visible(False)
        legend_outside(fig, axes, "below", title="convention")
        suptitle(fig, f"Final test accuracy by eps and convention ({spec.seeds} seeds)")
    return fig
