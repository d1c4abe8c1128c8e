"""Whether a figure is legible at 100% zoom in a markdown viewer (the house style of
``trainability.plotting``): what the study tests check every figure of every study with.

A viewer shows a PNG at its pixel size, 96 pixels per inch, unless it is wider than the
page, which shrinks it. So, per figure, as it is saved:

- its width is at most ``MAX_WIDTH_PX``;
- every text drawn (titles, labels, tick labels, legends, annotations) is at least
  ``MIN_FONT_PT`` points on the screen: its size in pixels at the figure's dpi, times the
  share of the width the viewer shows (1 for a figure within the limit), over 96/72;
- no legend overlaps the data area of any axes (an axes holding nothing but a legend is
  no data area), nor any text drawn outside it;
- no two texts overlap (their boxes; slanted texts aside);
- no text, legend or axes reaches beyond the figure's edges (cut off).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick, XTick
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text

from trainability.plotting import style

# the requirement (issue 22), stated here rather than read from the code it checks
MAX_WIDTH_PX = 1000  # a markdown page's column: a wider image is shrunk to fit
MIN_FONT_PT = 10.0  # on the screen
SCREEN_DPI = 96  # CSS pixels per inch: what a viewer at 100% shows per image pixel
SLACK_PX = 1.0  # rounding of extents


def problems(fig: Figure) -> list[str]:
    """What makes ``fig`` illegible, one line each (empty: legible)."""
    with style():  # some rcParams are read at draw time, as in plotting.save_figure
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    renderer = canvas.get_renderer()
    width_px = fig.get_figwidth() * fig.dpi
    shown = min(1.0, MAX_WIDTH_PX / width_px)
    out = []
    if width_px > MAX_WIDTH_PX + 0.5:
        out.append(f"{width_px:.0f} px wide (limit {MAX_WIDTH_PX}): a viewer shrinks it "
                   f"to {shown:.0%}")
    page = fig.bbox
    texts = list(_drawn_texts(fig))
    for text, _ in texts:
        pt = text.get_fontsize() * fig.dpi / 72 * shown * 72 / SCREEN_DPI
        if pt < MIN_FONT_PT - 1e-6:
            out.append(f"text {text.get_text()[:40]!r}: {pt:.2f} pt on screen "
                       f"(at least {MIN_FONT_PT:g})")
        if not _inside(text.get_window_extent(renderer), page):
            out.append(f"text {text.get_text()[:40]!r} is cut off at the figure's edge")
    # a rotated text's box is not its ink: adjacent slanted tick labels do not collide
    boxes = [(t, t.get_window_extent(renderer)) for t, _ in texts if t.get_rotation() % 90 == 0]
    for k, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[k + 1:]:
            if _overlap(box_a, box_b):
                out.append(f"texts {a.get_text()[:30]!r} and {b.get_text()[:30]!r} overlap")
    data = [ax for ax in fig.axes if ax.get_visible() and _has_data(ax)]
    for legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        if not _inside(box, page):
            out.append(f"legend {_name(legend)} is cut off at the figure's edge")
        for ax in data:
            if _overlap(box, ax.get_window_extent(renderer)):
                out.append(f"legend {_name(legend)} covers the data of axes "
                           f"{ax.get_title()[:30]!r}")
        own = {id(t) for t, _ in _drawn_texts(legend)}
        for text, _ in texts:
            if id(text) not in own and _overlap(box, text.get_window_extent(renderer)):
                out.append(f"legend {_name(legend)} covers the text "
                           f"{text.get_text()[:30]!r}")
    for ax in fig.axes:
        if ax.get_visible() and not _inside(ax.get_tightbbox(renderer), page):
            out.append(f"axes {ax.get_title()[:30]!r} (its labels) cut off at the edge")
    return out


def first_frame(made) -> Figure:
    """A figure maker's result as a figure: itself, or an animation's first frame."""
    return made if isinstance(made, Figure) else next(iter(made))


def check_figures(makers: dict) -> dict[str, list[str]]:
    """``{figure name: problems}`` of every figure ``makers`` (a figures module's ``make``)
    draws that has any."""
    found = {name: problems(first_frame(make())) for name, make in makers.items()}
    return {name: p for name, p in found.items() if p}


def _drawn_texts(node, in_tick: bool = False):
    """``(text, is a tick label)`` of every non-empty text drawn under ``node``: the
    visible artists, without the axis of an axes switched off and the ticks an axis keeps
    beyond its view."""
    for child in node.get_children():
        if not child.get_visible() or (isinstance(child, Axis) and not child.axes.axison):
            continue
        if isinstance(child, Tick) and not _in_view(child):
            continue
        if isinstance(child, Text):
            if child.get_text().strip():
                yield child, in_tick
        else:
            yield from _drawn_texts(child, in_tick or isinstance(child, Tick))


def _in_view(tick: Tick) -> bool:
    axis = tick.axes.xaxis if isinstance(tick, XTick) else tick.axes.yaxis
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(lo), abs(hi), 1e-300)
    return lo - slack <= tick.get_loc() <= hi + slack


def _legends(fig: Figure) -> list[Legend]:
    found = list(fig.legends)
    found += [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [lg for lg in found if lg.get_visible()]


def _has_data(ax: Axes) -> bool:
    """Whether ``ax`` draws anything but a legend: lines, markers, patches, images, text."""
    return bool(ax.lines or ax.collections or ax.images or ax.patches or ax.texts
                or ax.axison)


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK_PX
            and min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK_PX)


def _inside(box, page) -> bool:
    return (box.x0 >= page.x0 - SLACK_PX and box.y0 >= page.y0 - SLACK_PX
            and box.x1 <= page.x1 + SLACK_PX and box.y1 <= page.y1 + SLACK_PX)


def _name(legend: Legend) -> str:
    title = legend.get_title().get_text()
    labels = [t.get_text() for t in legend.get_texts()][:2]
    return repr(title or ", ".join(labels))


def assert_legible(makers: dict) -> None:
    """Every figure ``makers`` draws is legible; else an AssertionError listing, per
    figure, its first problems."""
    found = check_figures(makers)
    lines = [f"{name}: " + "; ".join(list(dict.fromkeys(p))[:4]) for name, p in found.items()]
    assert not found, "illegible figures:\n" + "\n".join(lines)
