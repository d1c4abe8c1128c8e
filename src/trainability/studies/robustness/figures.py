"""The robustness study's figures.

- ``map.png``: claims x variants, coloured by verdict, the headline effect written in;
- ``sigmoid.png``: the sigmoid network under each variant: test accuracy, gradient ratio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from trainability.claims import VERDICTS, bootstrap_mean
from trainability.data import load_dataset
from trainability.learns import Guess, Learns
from trainability.plotting import TEST_ACC_LABEL, figure, style, suptitle
from trainability.studies.robustness.claims import CLAIMS
from trainability.studies.robustness.section import gradient_ratio, sigmoid_accuracy

# supported, partly, not supported, inconclusive, not tested (colour-blind safe)
VERDICT_COLORS = ("#1b9e77", "#e6ab02", "#d95f02", "#bdbdbd", "#f0f0f0")


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    return {"map.png": lambda: map_figure(spec, tables["verdicts"]),
            "sigmoid.png": lambda: sigmoid_figure(spec, tables["models"])}


def map_figure(spec, verdicts: pd.DataFrame) -> Figure:
    variants = list(spec.names)
    codes = np.full((len(variants), len(CLAIMS)), VERDICTS.index("not tested"))
    text = np.full(codes.shape, "", dtype=object)
    for i, v in enumerate(variants):
        at = verdicts[verdicts.variant == v].set_index("key")
        for j, (_, key, _) in enumerate(CLAIMS):
            row = at.loc[key]
            codes[i, j] = VERDICTS.index(row.verdict)
            if np.isfinite(row.effect):
                value = round(row.effect, 2) + 0.0  # float noise would print as -0.00
                text[i, j] = f"{value:+.2f}" if row.signed else f"{value:.2f}"
    with style():
        fig = figure(2.0 + 0.9 * len(CLAIMS) + 2.4, 1.0 + 0.34 * len(variants))
        ax = fig.subplots()
        ax.imshow(codes, cmap=ListedColormap(VERDICT_COLORS), vmin=-0.5,
                  vmax=len(VERDICTS) - 0.5, aspect="auto")
        for (i, j), t in np.ndenumerate(text):
            ax.text(j, i, t, ha="center", va="center")
        ax.set_xticks(range(len(CLAIMS)), [d for d, _, _ in CLAIMS])
        ax.set_yticks(range(len(variants)), variants)
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        handles = [ax.scatter([], [], marker="s", s=80, color=c, label=v)
                   for v, c in zip(VERDICTS, VERDICT_COLORS, strict=True)]
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  frameon=False, title="verdict")
        ax.set_xlabel("claim")
        suptitle(fig, "The running-example claims under one-factor variants")
    return fig


def sigmoid_figure(spec, models: pd.DataFrame) -> Figure:
    variants = list(spec.names)
    learned = Learns.of(spec).accuracy
    stats = []
    for v in variants:
        acc = sigmoid_accuracy(models, v, Guess.of(load_dataset(spec.data_file(v)).y_test))
        stats.append(bootstrap_mean(acc.to_numpy()))
    y = np.arange(len(variants))
    with style():
        fig = figure(9.0, 1.2 + 0.3 * len(variants))
        left, right = fig.subplots(1, 2, sharey=True)
        mean = np.array([s[0] for s in stats])
        lo, hi = np.array([s[1] for s in stats]), np.array([s[2] for s in stats])
        left.errorbar(mean, y, xerr=[mean - lo, hi - mean], fmt="o", color="0.2", capsize=2)
        left.axvline(learned, color="0.5", ls="--", lw=1)
        left.set_xlabel(TEST_ACC_LABEL)
        left.set_yticks(y, variants)
        left.invert_yaxis()
        right.scatter([gradient_ratio(models, v) for v in variants], y, color="0.2")
        right.set_xlabel("median log10(||g1|| / ||gC||) at init")
        suptitle(fig, "The sigmoid network under each variant")
    return fig
