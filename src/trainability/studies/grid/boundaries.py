"""What each network learned: its predicted probability over the input plane.

``boundaries_w{width}.png`` shows the first seed of every activation x init cell after
training; ``boundary_animation.gif`` shows the boundary of a few cells of the running
example forming during training, from the parameters the training job kept every few
epochs (``grid.animate`` in params.yaml).
"""

from __future__ import annotations

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
from trainability.plotting import CLASS_COLORS, FEATURE, figure, style

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
    """Rows: activations; columns: inits; filled contours of P(class 1), test points on top."""
    maps = [m for m in maps if m.width == width]
    if not maps:
        raise InputError(f"no run files at width {width}")
    acts = activation_order(m.activation for m in maps)
    inits = init_order(m.init for m in maps)
    by_cell = {(m.activation, m.init): m for m in maps}
    xs, ys = plane_grid(data)
    seeds = sorted({m.seed for m in maps})
    with style():
        fig = figure(1.75 * len(inits) + 1.4, 1.75 * len(acts) + 1.0)
        # every panel gets the plane's limits and keeps its outer tick labels only, as shared
        # axes would: sharing 70 panels made matplotlib's limit updates quadratic (2/3 of
        # the figure's time)
        axes = np.asarray(fig.subplots(len(acts), len(inits), squeeze=False))
        mappable = None
        for i, act in enumerate(acts):
            for j, init in enumerate(inits):
                ax = axes[i, j]
                ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]))
                ax.label_outer()
                m = by_cell.get((act, init))
                empty = "not run" if m is None else "diverged"
                mappable = _panel(ax, xs, ys, None if m is None else m.prob, data, empty) \
                    or mappable
                if i == 0:
                    ax.set_title(init, fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{act}\n{FEATURE.format(1)}", fontsize=7)
                if i == len(acts) - 1:
                    ax.set_xlabel(FEATURE.format(0), fontsize=7)
        if mappable is not None:
            cbar = fig.colorbar(mappable, ax=axes, shrink=0.6, pad=0.01)
            cbar.set_label("predicted P(class 1)")
        seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else "first seed"
        fig.suptitle(
            f"What each network learned (width {width}, {seed_text} of each cell)\n"
            "colour: predicted P(class 1), black line: P = 0.5\n"
            "test points: blue circles = class 0, red triangles = class 1",
            fontsize="medium",
        )
    return fig


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
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center",
                fontsize=8, zorder=5, bbox={"facecolor": "white", "edgecolor": "0.5"})
    _points(ax, data)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    return mappable


def animation(spec, data: Dataset) -> Iterator[Figure]:
    """Frames of the boundary forming during training: one per kept epoch, a panel per
    animated activation (rows) x initializer (columns), the first seed of each cell.

    One figure, redrawn per frame: only the images, the 0.5 contours and the title change
    (drawing a new figure per frame cost 20x more)."""
    xs, ys = plane_grid(data, n=80)
    cells = spec.animation_cells()
    acts = list(dict.fromkeys(a for a, _ in cells))
    inits = list(dict.fromkeys(i for _, i in cells))
    probs, epochs = _checkpoint_predictions(spec, data, acts, inits, xs, ys)
    extent = (xs[0], xs[-1], ys[0], ys[-1])
    with style():
        fig = figure(1.9 * len(inits) + 0.4, 1.9 * len(acts) + 0.7)
        fig.set_dpi(80)
        axes = np.asarray(fig.subplots(len(acts), len(inits), sharex=True, sharey=True,
                                       squeeze=False))
        panels = {}
        for i, act in enumerate(acts):
            for j, init in enumerate(inits):
                ax = axes[i, j]
                image = ax.imshow(np.full((len(ys), len(xs)), 0.5), extent=extent,
                                  origin="lower", cmap=_CMAP, vmin=0, vmax=1, alpha=0.55,
                                  interpolation="nearest", aspect="equal")
                _points(ax, data)
                ax.set_title(f"{act}, {init}", fontsize=7)
                ax.tick_params(labelsize=6)
                panels[act, init] = (ax, image, [])
        title = fig.suptitle("", fontsize="small")
    for n, epoch in enumerate(epochs):
        if n == 1:  # laid out when the first frame was drawn: keep it, do not redo it
            fig.set_layout_engine("none")
        for key, (ax, image, lines) in panels.items():
            prob = probs[key][n]
            image.set_data(np.full((len(ys), len(xs)), np.nan) if prob is None else prob)
            for line in lines:
                line.remove()
            lines.clear()
            if prob is not None and prob.min() < 0.5 < prob.max():
                lines.append(ax.contour(xs, ys, prob, levels=[0.5], colors="k",
                                        linewidths=0.7))
        title.set_text(f"width {spec.width}, first seed: epoch {int(epoch)}")
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
