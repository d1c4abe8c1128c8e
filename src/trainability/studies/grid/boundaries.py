"""What each network learned: its predicted probability over the input plane.

``boundaries_w{width}.png`` shows the first seed of every activation x init cell after
training, ``boundaries_lecture.png`` the lecture's cells (its activations x its two
initializers) at the running width; ``boundary_animation.gif`` shows the boundary of a few
cells of the running example forming during training, from the parameters the training
job kept every few epochs (``grid.animate`` in params.yaml).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from trainability.activations import sigmoid
from trainability.data import Dataset
from trainability.io import InputError, load_run
from trainability.model import Architecture, BatchNormState, Network
from trainability.order import activation_order, init_order
from trainability.plotting import CLASS_COLORS, FONTS, MAX_WIDTH, figure, style, suptitle

_LEVELS = np.linspace(0.0, 1.0, 11)  # P(class 1) in steps of 0.1
_CMAP = ListedColormap(sns.color_palette("RdBu_r", len(_LEVELS) - 1))


@dataclass
class BoundaryMap:
    """What one model predicts over a grid of the plane."""

    activation: str
    init: str
    width: int
    seed: int
    status: str  # "ok" or "diverged"
    prob: np.ndarray | None  # (ny, nx) predicted probability of class 1, None if diverged


def plane_grid(data: Dataset, n: int = 120, margin: float = 0.15):
    """``(xs, ys)`` spanning all data points plus ``margin`` of their range on each side."""
    X = np.concatenate([data.X_train, data.X_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    return (np.linspace(lo[0] - pad[0], hi[0] + pad[0], n),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], n))


def _network(meta: dict, n_inputs: int) -> Network:
    return Network(Architecture(int(meta["depth"]), int(meta["width"]), meta["activation"],
                                tuple(meta.get("batch_norm", ())), n_inputs=n_inputs))


def predict(net: Network, theta: np.ndarray, data: Dataset, xs, ys) -> np.ndarray | None:
    """P(class 1) of the model with parameters ``theta`` (P,) over ``xs x ys``; None when
    the parameters are not finite. Batch norm normalizes with the training set's
    statistics (run files keep no running averages)."""
    if not np.isfinite(theta).all():
        return None
    params = net.bind(np.asarray(theta, dtype=np.float64)[None])
    bn = None
    if net.arch.batch_norm:
        _, cache = net.forward(params, data.X_train, training=True)
        a = {j: cache[j - 1][2] for j in net.arch.batch_norm}
        bn = BatchNormState({j: v.mean(axis=1, keepdims=True) for j, v in a.items()},
                            {j: v.var(axis=1, keepdims=True) for j, v in a.items()})
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        logits, _ = net.forward(params, np.column_stack([gx.ravel(), gy.ravel()]), bn)
    return sigmoid(logits[0, :, 0]).reshape(gx.shape)


def final_maps(spec, data: Dataset) -> list[BoundaryMap]:
    """The first seed of every cell, after training."""
    xs, ys = plane_grid(data)
    maps = []
    for path in spec.run_files():
        meta, _, arrays = load_run(path)
        net = _network(meta, data.X_train.shape[1])
        seeds, inits = arrays["seeds"], arrays["inits"].astype(str)
        for init in dict.fromkeys(inits):
            k = int(np.flatnonzero(inits == init)[np.argmin(seeds[inits == init])])
            status = str(arrays["status"][k])
            prob = predict(net, arrays["theta"][k], data, xs, ys) if status == "ok" else None
            maps.append(BoundaryMap(meta["activation"], init, int(meta["width"]),
                                    int(seeds[k]), status, prob))
    return maps


def boundaries_figure(maps: Sequence[BoundaryMap], data: Dataset, width: int) -> Figure:
    """Every cell at one width: rows activations, columns inits; filled contours of
    P(class 1), test points on top; no ticks (the plane is the same in every panel)."""
    maps = [m for m in maps if m.width == width]
    if not maps:
        raise InputError(f"no run files at width {width}")
    acts = activation_order(m.activation for m in maps)
    inits = init_order(m.init for m in maps)
    return _cells_figure(maps, data, acts, inits, by_rows="activation", title=(
        f"What each network learned (width {width}, {_seed_text(maps)} of each cell)"))


def lecture_boundaries_figure(maps: Sequence[BoundaryMap], data: Dataset, spec) -> Figure:
    """The lecture's cells at the running width: rows its initializers, columns its
    activations, larger panels."""
    acts, inits = spec.lecture_cells()
    maps = [m for m in maps if m.width == spec.width]
    if not maps:
        raise InputError(f"no run files at width {spec.width}")
    return _cells_figure(maps, data, inits, acts, by_rows="init", panel=2.5, title=(
        f"What the lecture's networks learned (width {spec.width}, "
        f"{_seed_text(maps)} of each cell)"))


def _seed_text(maps: Sequence[BoundaryMap]) -> str:
    seeds = sorted({m.seed for m in maps})
    return f"seed {seeds[0]}" if len(seeds) == 1 else "first seed"


KEY_TEXT = ("colour: predicted P(class 1); black line: P = 0.5; test points: blue circles "
            "= class 0, red triangles = class 1")


def _cells_figure(maps, data, rows, columns, by_rows: str, title: str,
                  panel: float | None = None) -> Figure:
    """A panel per (row, column) cell, ``by_rows`` the field of a map the rows are of."""
    by_cell = {((m.activation, m.init) if by_rows == "activation" else (m.init, m.activation)): m
               for m in maps}
    xs, ys = plane_grid(data)
    with style():
        fig, axes, cax = panel_grid(rows, columns, [title, KEY_TEXT], panel=panel)
        mappable = None
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                m = by_cell.get((row, column))
                empty = "not run" if m is None else "diverged"
                mappable = _panel(axes[i, j], xs, ys, None if m is None else m.prob, data,
                                  empty) or mappable
        if mappable is not None:
            fig.colorbar(mappable, cax=cax, label="predicted P(class 1)")
        else:
            cax.set_visible(False)
    return fig


def panel_grid(rows: Sequence[str], columns: Sequence[str], title: Sequence[str],
               panel: float | None = None, colorbar: bool = True):
    """A figure of square panels without ticks, placed by hand (constrained layout of 70
    panels took most of the figure's time): ``rows`` and ``columns`` label them once each
    (an initializer's name broken at its underscore), ``title`` lines on top, a colour
    bar's axes on the right. Panels are ``panel`` inches, or as large as the width allows
    (at most 1.1). Returns the figure, the axes ``(rows, columns)`` and the colour bar's."""
    left = 0.25 + 0.085 * max(len(r) for r in rows)  # row labels, 10 pt
    right = 1.0 if colorbar else 0.2
    gap = 0.05
    if panel is None:
        panel = min(1.1, (MAX_WIDTH - left - right) / len(columns) - gap)
    col_lines = max(_wrapped(c).count("\n") + 1 for c in columns)
    top = 0.3 + 0.19 * col_lines  # and the title's lines, once the width is known
    bottom = 0.15
    width = left + len(columns) * (panel + gap) + right
    chars = int(width * 72 / (0.6 * FONTS["figure.titlesize"]))  # as plotting.suptitle wraps
    top += 0.24 * sum(len(textwrap.wrap(line, max(20, chars))) for line in title)
    height = top + len(rows) * (panel + gap) + bottom
    fig = figure(width, height, layout=None)
    axes = np.empty((len(rows), len(columns)), dtype=object)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            x0 = left + j * (panel + gap)
            y0 = height - top - (i + 1) * (panel + gap) + gap
            ax = fig.add_axes((x0 / width, y0 / height, panel / width, panel / height))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(_wrapped(column), pad=3)
            if j == 0:
                ax.set_ylabel(row, rotation=0, ha="right", va="center", labelpad=5)
            axes[i, j] = ax
    grid_top = height - top
    cax = fig.add_axes(((width - right + 0.2) / width, (grid_top - 0.75 * (grid_top - bottom))
                        / height, 0.15 / width, 0.75 * (grid_top - bottom) / height))
    _title(fig, title)
    return fig, axes, cax


def _title(fig: Figure, lines: Sequence[str]):
    """The figure's title, its first line 0.12 inches below the top edge."""
    return suptitle(fig, *lines, y=1 - 0.12 / fig.get_figheight(), va="top")


def _wrapped(name: str) -> str:
    """An initializer's name on two lines at its underscore (``glorot\nuniform``)."""
    return name.replace("_", "\n", 1) if len(name) > 9 else name


def _points(ax, data: Dataset) -> None:
    """The test points: blue circles class 0, red triangles class 1."""
    X, y = data.X_test, data.y_test
    for cls in (0, 1):
        pts = X[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=5, color=CLASS_COLORS[cls],
                   marker="o" if cls == 0 else "^", edgecolors="black", linewidths=0.25)


def _panel(ax, xs, ys, prob, data: Dataset, empty: str):
    """P(class 1) as filled contours with the 0.5 line, the test points on top; a grey
    panel saying ``empty`` when there is no prediction. Returns the contour set."""
    mappable = None
    if prob is not None:
        mappable = ax.contourf(xs, ys, np.clip(prob, 0, 1), levels=_LEVELS, cmap=_CMAP,
                               vmin=0, vmax=1, alpha=0.55)
        if prob.min() < 0.5 < prob.max():
            ax.contour(xs, ys, prob, levels=[0.5], colors="k", linewidths=0.7)
    else:
        ax.set_facecolor("0.85")
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "0.5"})
    _points(ax, data)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_aspect("equal")
    return mappable


def animation(spec, data: Dataset) -> Iterator[Figure]:
    """Frames of the boundary forming during training: one per kept epoch, a panel per
    animated initializer (rows) x activation (columns), the first seed of each cell.

    One figure, redrawn per frame: only the images, the 0.5 contours and the title change
    (drawing a new figure per frame cost 20x more)."""
    xs, ys = plane_grid(data, n=80)
    cells = spec.animation_cells()
    acts = list(dict.fromkeys(a for a, _ in cells))
    inits = list(dict.fromkeys(i for _, i in cells))
    probs, epochs = _checkpoint_predictions(spec, data, acts, inits, xs, ys)
    extent = (xs[0], xs[-1], ys[0], ys[-1])
    with style():
        legend = "colour: P(class 1); black: P = 0.5"
        fig, axes, cax = panel_grid(inits, acts, [f"width {spec.width}, first seed", legend],
                                    panel=1.5, colorbar=False)
        panels = {}
        for i, init in enumerate(inits):
            for j, act in enumerate(acts):
                ax = axes[i, j]
                image = ax.imshow(np.full((len(ys), len(xs)), 0.5), extent=extent,
                                  origin="lower", cmap=_CMAP, vmin=0, vmax=1, alpha=0.55,
                                  interpolation="nearest", aspect="equal")
                _points(ax, data)
                panels[act, init] = (ax, image, [])
        cax.set_visible(False)
    for n, epoch in enumerate(epochs):
        for key, (ax, image, lines) in panels.items():
            prob = probs[key][n]
            image.set_data(np.full((len(ys), len(xs)), np.nan) if prob is None else prob)
            for line in lines:
                line.remove()
            lines.clear()
            if prob is not None and prob.min() < 0.5 < prob.max():
                lines.append(ax.contour(xs, ys, prob, levels=[0.5], colors="k",
                                        linewidths=0.7))
        with style():
            _title(fig, [f"width {spec.width}, first seed: epoch {int(epoch)}", legend])
        yield fig


def _checkpoint_predictions(spec, data, acts, inits, xs, ys):
    """``{(activation, init): [P(class 1) per kept epoch]}`` and the kept epochs."""
    probs, epochs = {}, None
    for act in acts:
        path = spec.run_file(act, spec.width)
        meta, _, arrays = load_run(path)
        if "checkpoints" not in arrays:
            raise InputError(f"{path}: no checkpoints to animate")
        net = _network(meta, data.X_train.shape[1])
        file_inits = list(dict.fromkeys(arrays["inits"].astype(str)))
        epochs = arrays["checkpoint_epochs"]
        for init in inits:
            thetas = arrays["checkpoints"][:, file_inits.index(init)]
            probs[act, init] = [predict(net, t, data, xs, ys) for t in thetas]
    return probs, epochs
