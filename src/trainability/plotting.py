"""Figure helpers every study's ``figures.py`` uses: one style, one way to make and save.

Figures are built without pyplot (no global figure state, no display backend) and saved as
PNG atomically, without the software-version and time metadata matplotlib would embed, so
the bytes depend only on the inputs (and the fonts of the machine).
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib as mpl
import numpy as np
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from trainability import study
from trainability.io import atomic_path
from trainability.tables import read_study_tables

DPI = 110
CLASS_COLORS = ("#2166ac", "#b2182b")  # class 0 blue, class 1 red (ends of RdBu)
SPLIT_COLORS = {"train": "#1b9e77", "test": "#d95f02"}
FEATURE = "x{} (input units)"
LOSS_LABEL = "loss (BCE, nats)"
ACC_LABEL = "accuracy (fraction)"
TEST_ACC_LABEL = "final test accuracy (fraction)"


def style():
    """The house style, as a context: ``with style(): ...``."""
    return mpl.rc_context(
        {
            **sns.axes_style("ticks"),
            **sns.plotting_context("paper", font_scale=1.1),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "trainability",
        }
    )


def figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained", dpi=DPI)


def ensure_span(ax, span: float) -> None:
    """Widen the y-range to at least ``span`` around its centre (and no offset notation),
    so a flat curve looks flat instead of filling the panel with noise."""
    lo, hi = ax.get_ylim()
    if hi - lo < span:
        mid = 0.5 * (lo + hi)
        ax.set_ylim(mid - span / 2, mid + span / 2)
    ax.ticklabel_format(axis="y", useOffset=False)


def save_figure(fig: Figure, path) -> None:
    """PNG, atomically, with no software-version or time metadata."""
    with atomic_path(path) as tmp, style():  # some rcParams are read at draw time
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})


def save_animation(frames: Iterable[Figure], path, ms_per_frame: int = 300) -> None:
    """An animated GIF of ``frames``, each drawn as it comes (one figure may be updated
    and yielded again), looping, the last frame held three times as long; written
    atomically. The frames share one palette so the colours do not flicker."""
    images = []
    with style():
        for fig in frames:
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]))
    palette = images[-1].quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    durations = [ms_per_frame] * (len(images) - 1) + [3 * ms_per_frame]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0, optimize=False)


def save(made, path) -> None:
    """A figure as PNG, or frames (figures) as an animated GIF."""
    if isinstance(made, Figure):
        save_figure(made, path)
    else:
        save_animation(made, path)


def write_study_figures(spec, root="results") -> list:
    """The figures stage: every figure the study's spec declares, from its tables."""
    where = study.paths(spec.study, root)
    tables = read_study_tables(spec, where["tables"])
    makers = study.module(spec.study, "figures").make(spec, tables)
    declared = [name for name, _ in spec.figures()]
    if list(makers) != declared:
        raise RuntimeError(f"{spec.study}: figures made {list(makers)}, declared {declared}")
    for name, make in makers.items():
        save(make(), where["figures"] / name)
    return [where["figures"] / name for name in declared]
