"""Figure helpers every study's ``figures.py`` uses: one style, one way to make and save.

Figures are built without pyplot (no global figure state, no display backend) and saved as
PNG atomically, without the software-version and time metadata matplotlib would embed, so
the bytes depend only on the inputs (and the fonts of the machine).

The house style is made for a markdown viewer at 100% zoom, which shows a PNG at its pixel
size (96 pixels per inch) unless it is wider than the page:

- saved at ``DPI`` = 96, so a figure's points are the screen's points;
- at most ``MAX_WIDTH_PX`` (1000 px, ``MAX_WIDTH`` inches) wide, so no viewer shrinks it
  (``figure`` cuts a wider request to it: a figure with many panels wraps them into rows);
- every text at least ``MIN_FONT_PT`` (10 pt, 13.3 px): the rcParams of ``style`` and no
  smaller size anywhere;
- legends outside the data (``legend_outside``), or in an axes of their own.
"""

from __future__ import annotations

import textwrap
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

DPI = 96  # a CSS pixel: the figure's points are the screen's at 100% zoom
MAX_WIDTH_PX = 1000  # a markdown page's column; a wider image is shrunk to fit
MAX_WIDTH = MAX_WIDTH_PX / DPI  # inches
MIN_FONT_PT = 10.0  # the smallest text of any figure
CLASS_COLORS = ("#2166ac", "#b2182b")  # class 0 blue, class 1 red (ends of RdBu)
SPLIT_COLORS = {"train": "#1b9e77", "test": "#d95f02"}
FEATURE = "x{} (input units)"
LOSS_LABEL = "loss (BCE, nats)"
ACC_LABEL = "accuracy (fraction)"
TEST_ACC_LABEL = "final test accuracy (fraction)"


FONTS = {  # points; nothing below MIN_FONT_PT (relative sizes such as "small" are not used)
    "font.size": MIN_FONT_PT, "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": 10.5, "axes.labelsize": 10.5,
    "axes.titlesize": 11.0, "figure.labelsize": 11.0, "figure.titlesize": 12.0,
}


def style():
    """The house style, as a context: ``with style(): ...``."""
    return mpl.rc_context(
        {
            **sns.axes_style("ticks"),
            **sns.plotting_context("paper"),  # line widths and tick sizes; fonts below
            **FONTS,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "trainability",
        }
    )


def figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of ``width`` x ``height`` inches (the width cut to ``MAX_WIDTH``). Big grids
    of panels pass ``layout=None`` and place their axes themselves: constrained layout
    costs time that grows with the panels."""
    return Figure(figsize=(min(width, MAX_WIDTH), height), layout=layout, dpi=DPI)


def legend_outside(fig: Figure, axes, where="right", ncol: int | None = None, **kwargs):
    """One legend for the figure outside its panels, each label once (the first handle
    drawn with it): ``where`` "right" (one column), "below" (as many columns as fit) or an
    axes of its own (an empty panel of a grid: switched off, the legend in its middle).
    "right" and "below" are for constrained layout, which makes room for them."""
    handles = {}
    for ax in np.ravel(axes):
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if not label.startswith("_"):
                handles.setdefault(label, h)
    if not handles:
        return None
    if not isinstance(where, str):
        where.set_visible(True)
        where.axis("off")
        return where.legend(list(handles.values()), list(handles), loc="center",
                            ncol=ncol or 1, **kwargs)
    if where == "below":
        fits = legend_columns(fig, list(handles))
        kwargs = {"loc": "outside lower center", "ncol": ncol or min(len(handles), fits),
                  **kwargs}
    else:
        kwargs = {"loc": "outside right center", "ncol": ncol or 1, **kwargs}
    return fig.legend(list(handles.values()), list(handles), **kwargs)


def legend_columns(fig: Figure, labels) -> int:
    """How many columns of ``labels`` a legend across the figure's width holds (a label's
    characters 0.6 em each, and its handle)."""
    column = 0.6 * FONTS["legend.fontsize"] / 72 * max(map(len, labels), default=1) + 0.8
    return max(1, int(fig.get_figwidth() / column))


def suptitle(fig: Figure, *lines: str, **kwargs):
    """The figure's title, each line wrapped to the figure's width (a narrow figure of a
    few panels would cut a long line off at its edges)."""
    size = mpl.font_manager.FontProperties(size=kwargs.get("fontsize", FONTS[
        "figure.titlesize"])).get_size_in_points()
    chars = max(20, int(fig.get_figwidth() * 72 / (0.6 * size)))  # 0.6 em a character
    wrapped = [textwrap.fill(line, chars) for text in lines for line in text.split("\n")]
    return fig.suptitle("\n".join(wrapped), **kwargs)


def panel_grid(n: int, max_columns: int = 4) -> tuple[int, int]:
    """``(rows, columns)`` of ``n`` panels wrapped into rows of at most ``max_columns``."""
    columns = max(1, min(n, max_columns))
    return -(-n // columns), columns


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
