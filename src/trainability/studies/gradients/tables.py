"""Study 1, vanishing and exploding gradients: *why* activation and initialization matter.

Backpropagation multiplies the gradient, layer by layer from the classifier down to the
input, by each layer's weights and by the derivative of its activation. If those factors
are mostly below one the gradient shrinks geometrically with depth (it *vanishes*); mostly
above one, it grows (it *explodes*). The study measures that directly:

- the lecture's gradient figure: for the running example (``model.depth`` hidden layers of
  ``model.width``, ``random_normal`` weights) and each activation, the mean and standard
  deviation of every weight matrix's gradient per epoch, hidden layers 1..D and the
  classifier as separate lines (``gradients_epochs.csv``, ``per_layer.png``);
- depth as a variable: the ratio ``||g_1|| / ||g_C||`` of the gradient norm of the first
  weight matrix to the classifier's, at initialization and after training, per activation,
  initializer and depth (``gradients_ratios.csv``, ``depth_ratio.png``), and the whole
  per-layer profile of the deepest networks (``gradients_layers.csv``,
  ``depth_profile.png``);
- symmetry: with all-zero weights every unit of a layer gets the same gradient; the table
  records the largest spread between the units of each layer (``unit_spread``).

The training runs are ordinary ``trainability train`` run files (epoch 0 = at
initialization); this module adds the statistics (pure NumPy functions), the tables, the
figures and the report section. pandas and matplotlib are imported inside the functions
that need them, so importing this module (every CLI start does) costs NumPy only.

Ratios are summarized on a log scale: ``log10(||g_1|| / ||g_C||)`` is the number of orders
of magnitude layer 1's gradient is above (positive) or below (negative) the classifier's.
A ratio is ``0`` when layer 1 gets no gradient but the classifier does (``log10 = -inf``),
and undefined (NaN) when neither gets any (e.g. zero weights with relu or tanh, or a ReLU
network with a layer whose units are all dead).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainability.argtypes import positive_int

STUDY = "gradients"
TITLE = "Vanishing and exploding gradients"
CATEGORY = "Gradients study"
RUNNING_INIT = "random_normal"

VANISH = -1.0  # log10 ratio <= -1: layer 1 gets at most a tenth of the classifier's gradient
EXPLODE = 1.0  # log10 ratio >= +1: at least ten times
SLOPE = -0.1  # "the gap widens with depth": at most -0.1 orders of magnitude per hidden layer
SYMMETRY_TOL = 1e-9  # units "identical": spread <= 1e-9 of the layer's largest entry

TABLES = {
    "epochs": "gradients_epochs.csv",
    "layers": "gradients_layers.csv",
    "ratios": "gradients_ratios.csv",
}
FIGURES = ("per_layer.png", "depth_ratio.png", "depth_profile.png")
MOMENTS = ("init", "final")
MOMENT_TEXT = {"init": "at initialization", "final": "after training"}


# ---------------------------------------------------------------- statistics


def log10_ratio(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``log10(first / last)`` elementwise for norms ``>= 0``: ``-inf`` where only ``first``
    is zero, ``+inf`` where only ``last`` is, NaN where both are (or either is NaN)."""
    first, last = np.asarray(first, dtype=float), np.asarray(last, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(first) - np.log10(last)
    return np.where((first == 0) & (last == 0), np.nan, out)


def regime(log_ratio: float) -> str:
    """``vanishing`` (<= -1 order of magnitude), ``exploding`` (>= +1), ``stable`` (between),
    or ``no gradient`` (undefined: neither layer gets a gradient)."""
    if np.isnan(log_ratio):
        return "no gradient"
    if log_ratio <= VANISH:
        return "vanishing"
    if log_ratio >= EXPLODE:
        return "exploding"
    return "stable"


def depth_slope(depths: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against ``depths`` over the finite values (orders of
    magnitude per hidden layer when ``values`` are log10 ratios); NaN with fewer than two
    distinct depths."""
    d, v = np.asarray(depths, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(d) & np.isfinite(v)
    d, v = d[keep], v[keep]
    if len(np.unique(d)) < 2:
        return float("nan")
    return float(np.polyfit(d, v, 1)[0])


def unit_spread(grad_w: np.ndarray) -> np.ndarray:
    """How different the units of a layer are, from its weight gradient ``(K, fan_in, units)``.

    For each model: the largest difference between two units' gradients of the same input
    weight, ``max_i (max_j g_ij - min_j g_ij)``, relative to the largest ``|g_ij|``; 0 when
    the gradient is all zero (and 0 exactly when every unit gets the same gradient). NaN
    where the gradient is not finite. Returns ``(K,)``.
    """
    g = np.asarray(grad_w, dtype=float)
    spread = (g.max(axis=2) - g.min(axis=2)).max(axis=1)
    scale = np.abs(g).max(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, spread / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(np.isfinite(g).all(axis=(1, 2)), rel, np.nan)


def layer_gradients(arch, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The data-loss gradient of every weight matrix (classifier last) for ``(K, P)``
    parameters on the full batch ``X (N, n)``, ``y (N,)``: as the trainer's diagnostics
    compute it, each ``(K, fan_in, fan_out)``."""
    from trainability.activations import sigmoid
    from trainability.model import Network

    net = Network(arch)
    theta = np.asarray(theta, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    grad = np.zeros_like(theta)
    with np.errstate(all="ignore"):
        params = net.bind(theta)
        logits, cache = net.forward(params, np.asarray(X, dtype=float), training=True)
        net.backward(params, cache, (sigmoid(logits) - y) / len(y), net.bind(grad))
    return [g.copy() for g in net.bind(grad).W]


# ---------------------------------------------------------------- tables


def _settings(meta: dict) -> dict:
    return {
        "study": STUDY,
        "dataset": meta["dataset"]["name"],
        "activation": meta["activation"],
        "init": meta["init"],
        "init_scale": meta["init_scale"],
        "width": meta["width"],
        "depth": meta["depth"],
        "optimizer": meta["optimizer"],
        "lr": meta["lr"],
        "epochs": meta["epochs"],
        "batch_size": meta["batch_size"],
    }


KEYS = ["activation", "init", "depth", "seed"]


def run_tables(path, data, running_depth: int):
    """``(epochs, layers, ratios)`` rows of one run file (``epochs`` only at the running
    depth, else empty); ``data`` is the dataset it was trained on."""
    import pandas as pd

    from trainability.io import InputError, load_run
    from trainability.model import Architecture
    from trainability.train import PER_DENSE

    meta, hist, arrays = load_run(path)
    missing = [k for k in (*PER_DENSE, "train_loss", "test_acc") if k not in hist]
    if missing:
        raise InputError(f"{path}: missing history arrays {missing}")
    if np.isnan(hist["grad_norm"][:, 0]).all():
        raise InputError(f"{path}: the run has no per-layer gradients (trained with "
                         "--no-diagnostics)")
    if meta.get("batch_norm"):
        raise InputError(f"{path}: trained with batch norm; the gradient study needs plain "
                         "networks")
    settings = _settings(meta)
    seeds = np.asarray(arrays["seeds"])
    depth = int(meta["depth"])
    k, n_epochs, n_layers = hist["grad_norm"].shape
    if n_layers != depth + 1:
        raise InputError(f"{path}: grad_norm has {n_layers} layers, expected depth + 1 = "
                         f"{depth + 1}")
    arch = Architecture(depth, int(meta["width"]), meta["activation"],
                        n_inputs=data.X_train.shape[1])
    last = n_epochs - 1
    layer_ids = np.arange(1, n_layers + 1)
    roles = np.where(layer_ids == n_layers, "classifier", "hidden")
    keys = {key: settings[key] for key in ("activation", "init", "depth")}

    epochs = pd.DataFrame()
    if depth == running_depth:
        epochs = pd.DataFrame({
            **keys,
            "seed": np.repeat(seeds, n_epochs * n_layers),
            "epoch": np.tile(np.repeat(np.arange(n_epochs), n_layers), k),
            "layer": np.tile(layer_ids, k * n_epochs),
            "role": np.tile(roles, k * n_epochs),
            **{name: hist[name].ravel() for name in PER_DENSE},
        })

    layers, ratios = [], []
    for moment, epoch, theta in (("init", 0, arrays["theta0"]), ("final", last, arrays["theta"])):
        grads = layer_gradients(arch, theta, data.X_train, data.y_train)
        spread = np.stack([unit_spread(g) for g in grads], axis=1)  # (K, layers)
        spread[:, -1] = np.nan  # one classifier unit: nothing to compare
        layers.append(pd.DataFrame({
            **keys,
            "seed": np.repeat(seeds, n_layers),
            "moment": moment,
            "epoch": epoch,
            "layer": np.tile(layer_ids, k),
            "role": np.tile(roles, k),
            **{name: hist[name][:, epoch].ravel() for name in PER_DENSE},
            "unit_spread": spread.ravel(),
        }))
        first, classifier = hist["grad_norm"][:, epoch, 0], hist["grad_norm"][:, epoch, -1]
        lr = log10_ratio(first, classifier)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = first / classifier
        ratios.append(pd.DataFrame({
            **settings,
            "seed": seeds,
            "moment": moment,
            "epoch": epoch,
            "grad_norm_first": first,
            "grad_norm_classifier": classifier,
            "ratio": np.where(np.isnan(lr), np.nan, ratio),
            "log10_ratio": lr,
            "regime": ["diverged" if np.isnan(v) and st == "diverged" else regime(v)
                       for v, st in zip(lr, arrays["status"], strict=True)],
            "train_loss": hist["train_loss"][:, epoch],
            "test_acc": hist["test_acc"][:, epoch],
            "status": arrays["status"],
        }))
    return epochs, pd.concat(layers, ignore_index=True), pd.concat(ratios, ignore_index=True)


def build_tables(paths: Sequence[str | Path], data, running_depth: int):
    """``(epochs, layers, ratios)`` data frames over all run files, sorted by their keys."""
    import pandas as pd

    from trainability.io import InputError

    if not paths:
        raise InputError("no run files given")
    parts = [run_tables(p, data, running_depth) for p in paths]
    frames = []
    for i, sort in enumerate((KEYS + ["epoch", "layer"], KEYS + ["epoch", "layer"],
                              KEYS + ["epoch"])):
        present = [p[i] for p in parts if len(p[i])]
        frame = pd.concat(present, ignore_index=True) if present else pd.DataFrame()
        frames.append(frame.sort_values(sort, kind="stable", ignore_index=True)
                      if len(frame) else frame)
    if frames[0].empty:
        raise InputError(f"no run file has the running depth {running_depth}")
    return tuple(frames)


def summarize_ratios(ratios):
    """Per activation x init x depth x moment: mean and sample sd (ddof 1) of the log10
    ratio over the seeds where it is finite, and the counts of the other seeds:
    ``n_zero`` (layer 1 gets no gradient: -inf), ``n_none`` (no gradient anywhere: NaN),
    ``n_inf`` (the classifier gets none: +inf), ``n_diverged`` (the model diverged)."""
    import pandas as pd

    lr = ratios.log10_ratio.astype(float)
    diverged = (ratios.regime == "diverged" if "regime" in ratios
                else pd.Series(False, index=ratios.index))
    frame = ratios.assign(
        finite=lr.where(np.isfinite(lr)),
        is_zero=(lr == -np.inf).astype(int),
        is_none=(lr.isna() & ~diverged).astype(int),
        is_inf=(lr == np.inf).astype(int),
        is_diverged=diverged.astype(int),
        acc=ratios.test_acc,
    )
    g = frame.groupby(["activation", "init", "depth", "moment"])
    return pd.DataFrame({
        "mean": g.finite.mean(),
        "sd": g.finite.std(ddof=1),
        "n_finite": g.finite.count(),
        "n_zero": g.is_zero.sum(),
        "n_none": g.is_none.sum(),
        "n_inf": g.is_inf.sum(),
        "n_diverged": g.is_diverged.sum(),
        "n": g.size(),
        "test_acc": g.acc.mean(),
    })


def write_tables(paths, data_path, running_depth: int, outs: dict) -> None:
    """Write the tables to ``outs`` (keys of ``TABLES``: epochs, layers, ratios)."""
    from trainability.data import load_dataset
    from trainability.tables import write_csv

    frames = build_tables(paths, load_dataset(data_path), running_depth)
    for name, frame in zip(TABLES, frames, strict=True):
        write_csv(outs[name], frame)


def read_tables(paths: dict):
    """``(epochs, layers, ratios)`` from the files ``paths`` names (keys of ``TABLES``)."""
    from trainability.figures import read_table

    return tuple(read_table(paths[name]) for name in TABLES)


# ---------------------------------------------------------------- figures


def running_init(inits) -> str:
    """The lecture's init if trained, else the first non-zero one."""
    from trainability.figures import init_order

    inits = init_order(inits)
    return RUNNING_INIT if RUNNING_INIT in inits else next((i for i in inits if i != "zeros"),
                                                            inits[0])


def _layer_colors(n_hidden: int):
    import seaborn as sns

    return list(sns.color_palette("viridis_r", n_hidden + 1))[1:] if n_hidden > 1 else ["#3b528b"]


def _geo_stats(values):
    """Per row of ``values`` (pivoted: index x seeds): geometric mean, min and max over the
    positive finite entries (NaN where none)."""
    v = values.to_numpy(float)
    pos = np.where(np.isfinite(v) & (v > 0), v, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        return (10 ** np.nanmean(np.log10(pos), axis=1), np.nanmin(pos, axis=1),
                np.nanmax(pos, axis=1))


def per_layer_figure(epochs, init: str):
    """The lecture's gradient figure: |grad mean| (top) and grad std (bottom) per epoch on
    log scales, a column per activation, a line per layer (classifier dashed)."""
    from trainability.figures import _figure, _style, activation_order
    from trainability.io import InputError

    rows = epochs[epochs.init == init]
    if rows.empty:
        raise InputError(f"no per-epoch gradient rows for init {init!r}")
    acts = activation_order(rows.activation)
    depth = int(rows.depth.iloc[0])
    n_seeds = int(rows.seed.nunique())
    colors = _layer_colors(depth) + ["black"]
    panels = (("grad_mean", "|gradient mean|"), ("grad_std", "gradient std"))
    with _style():
        fig = _figure(3.1 * len(acts) + 0.8, 6.0)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, sharey="row", squeeze=False))
        for j, act in enumerate(acts):
            cell = rows[rows.activation == act]
            for layer in sorted(cell.layer.unique()):
                lr = cell[cell.layer == layer]
                last = layer == depth + 1
                style = dict(color=colors[int(layer) - 1], lw=1.7 if last else 1.2,
                             ls="--" if last else "-",
                             label="classifier" if last else f"layer {layer}")
                for i, (column, _) in enumerate(panels):
                    values = lr.pivot(index="epoch", columns="seed", values=column).abs()
                    geo, lo, hi = _geo_stats(values)
                    if i == 1:
                        axes[i, j].fill_between(values.index, lo, hi, color=style["color"],
                                                alpha=0.12, linewidth=0)
                    axes[i, j].plot(values.index, geo, **style)
            for i in range(2):
                axes[i, j].set_yscale("log")
                if not (cell[panels[i][0]].abs() > 0).any():
                    axes[i, j].text(0.5, 0.5, "every gradient is exactly 0", ha="center",
                                    transform=axes[i, j].transAxes, fontsize=8)
            axes[0, j].set_title(f"{act} ({n_seeds} seeds)")
            axes[1, j].set_xlabel("epoch (0 = initialization)")
        for i, (_, label) in enumerate(panels):
            axes[i, 0].set_ylabel(f"{label}\n(nats per unit weight, log scale)")
        handles, labels = axes[1, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="weight matrix")
        fig.suptitle(
            f"Per-layer gradients of the running example ({depth} hidden layers, {init} init)\n"
            "over the entries of each weight matrix's full-batch gradient; line = geometric "
            "mean over seeds,\nband (std only) = min to max over seeds"
        )
    return fig


def _log_limits(values, floor: float = -14.0) -> tuple[float, float]:
    """Decade limits ``(lo, hi)`` (log10) around the positive finite ``values``: whole
    decades, at least [VANISH - 1, EXPLODE + 1], never below ``floor``."""
    v = np.asarray(values, dtype=float)
    v = np.log10(v[np.isfinite(v) & (v > 0)])
    lo = min(VANISH - 1, np.floor(v.min() - 0.3)) if len(v) else VANISH - 1
    hi = max(EXPLODE + 1, np.ceil(v.max() + 0.3)) if len(v) else EXPLODE + 1
    return max(float(lo), floor), float(hi)


def _shade_regimes(ax, lo: float, hi: float) -> None:
    """Red below a tenth (vanishing), blue above ten (exploding), dotted line at 1."""
    ax.axhspan(10 ** lo, 10 ** VANISH, color="#d6604d", alpha=0.08, linewidth=0)
    ax.axhspan(10 ** EXPLODE, 10 ** hi, color="#4393c3", alpha=0.08, linewidth=0)
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_ylim(10 ** lo, 10 ** hi)


def _zeros_note(summary_rows) -> str:
    """What a zero-initialized cell shows instead of a line (its units are all identical)."""
    zero, none = int(summary_rows.n_zero.sum()), int(summary_rows.n_none.sum())
    n = int(summary_rows.n.sum())
    if none == n:
        return "zeros: no gradient in any layer"
    if zero == n:
        return "zeros: layer 1 gets no gradient"
    return "zeros: identical units (see the table)"


def depth_ratio_figure(ratios):
    """log10 ratio vs depth: rows at init / after training, columns activations, a line per
    non-zero init (geometric mean, error bars x/÷ 1 sd of log10 over seeds with a finite
    ratio; hollow markers where some seeds have none); shaded: vanishing and exploding."""
    import seaborn as sns

    from trainability.figures import _figure, _style, activation_order, init_order

    summary = summarize_ratios(ratios).reset_index()
    acts, inits = activation_order(ratios.activation), init_order(ratios.init)
    drawn = [i for i in inits if i != "zeros"]
    depths = sorted(int(d) for d in ratios.depth.unique())
    palette = dict(zip(drawn, sns.color_palette("colorblind", len(drawn)), strict=True))
    spread = 0.06 if len(drawn) > 1 else 0.0
    offsets = dict(zip(drawn, np.linspace(-spread, spread, len(drawn)), strict=True))
    shown = summary[summary.init != "zeros"]
    sd = shown.sd.fillna(0)
    lo, hi = _log_limits(np.concatenate([10 ** (shown["mean"] - sd), 10 ** (shown["mean"] + sd)]))
    with _style():
        fig = _figure(3.2 * len(acts) + 1.8, 6.4)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, sharey=True, squeeze=False))
        for i, moment in enumerate(MOMENTS):
            for j, act in enumerate(acts):
                ax = axes[i, j]
                _shade_regimes(ax, lo, hi)
                at = summary[(summary.activation == act) & (summary.moment == moment)]
                for init in drawn:
                    s = at[at.init == init].sort_values("depth")
                    s = s[s.n_finite > 0]
                    if s.empty:
                        continue
                    x = s.depth.to_numpy(float) * 2.0 ** offsets[init]
                    m, e = s["mean"].to_numpy(float), s.sd.fillna(0).to_numpy(float)
                    color = palette[init]
                    ax.errorbar(x, 10 ** m, yerr=[10 ** m - 10 ** (m - e), 10 ** (m + e) - 10 ** m],
                                color=color, marker="none", lw=1.2, capsize=2, label=init)
                    full = (s.n_finite == s.n).to_numpy()
                    ax.scatter(x[full], 10 ** m[full], color=color, s=16, zorder=3)
                    ax.scatter(x[~full], 10 ** m[~full], facecolor="white", edgecolor=color,
                               s=20, zorder=3, linewidths=1.2)
                zeros = at[at.init == "zeros"]
                if len(zeros):
                    ax.text(0.03, 0.03, _zeros_note(zeros), transform=ax.transAxes,
                            fontsize=7, va="bottom", color="0.25")
                if i == 0:
                    ax.set_title(act)
                ax.set_yscale("log")
            axes[i, 0].set_ylabel(f"{MOMENT_TEXT[moment]}\n‖g layer 1‖ / ‖g classifier‖\n"
                                  "(ratio of norms, log scale)")
        ax0 = axes[0, 0]
        ax0.set_xscale("log", base=2)
        ax0.set_xticks(depths, [str(d) for d in depths])
        ax0.minorticks_off()
        for ax in axes[1]:
            ax.set_xlabel("hidden layers (depth, log2 scale)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="initialization")
        fig.suptitle(
            "Gradient reaching layer 1 relative to the classifier's, against depth\n"
            "geometric mean over seeds, error bars ×/÷ 1 sd; shaded red: vanishing (≤ 1/10), "
            "blue: exploding (≥ 10);\nhollow marker: some seeds have no gradient at all "
            "(a layer of dead ReLUs), left out"
        )
    return fig


def depth_profile_figure(layers):
    """Every hidden layer's gradient norm relative to the classifier's in the deepest
    networks: rows at init / after training, columns activations, a line per non-zero
    init (geometric mean over seeds with a finite ratio, band = min to max)."""
    import seaborn as sns

    from trainability.figures import _figure, _style, activation_order, init_order

    depth = int(layers.depth.max())
    rows = layers[layers.depth == depth]
    acts, inits = activation_order(rows.activation), init_order(rows.init)
    drawn = [i for i in inits if i != "zeros"]
    palette = dict(zip(drawn, sns.color_palette("colorblind", len(drawn)), strict=True))
    curves = {}
    for (act, init, moment), cell in rows[rows.init != "zeros"].groupby(
            ["activation", "init", "moment"]):
        norms = cell.pivot(index="layer", columns="seed", values="grad_norm")
        with np.errstate(all="ignore"):
            rel = norms.loc[:depth] / norms.loc[depth + 1]
        curves[act, init, moment] = (rel.index.to_numpy(), *_geo_stats(rel))
    lo, hi = _log_limits(np.concatenate([c[1] for c in curves.values()]) if curves else [])
    with _style():
        fig = _figure(3.2 * len(acts) + 1.8, 6.4)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, sharey=True, squeeze=False))
        for i, moment in enumerate(MOMENTS):
            for j, act in enumerate(acts):
                ax = axes[i, j]
                _shade_regimes(ax, lo, hi)
                for init in drawn:
                    if (act, init, moment) not in curves:
                        continue
                    x, geo, low, high = curves[act, init, moment]
                    ax.fill_between(x, low, high, color=palette[init], alpha=0.12, linewidth=0)
                    ax.plot(x, geo, color=palette[init], lw=1.3, marker=".", ms=4, label=init)
                ax.set_yscale("log")
                if i == 0:
                    ax.set_title(act)
                if i == 1:
                    ax.set_xlabel("hidden layer (1 = next to the input)")
            axes[i, 0].set_ylabel(f"{MOMENT_TEXT[moment]}\n‖g layer‖ / ‖g classifier‖\n"
                                  "(ratio of norms, log scale)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="initialization")
        fig.suptitle(
            f"Where the gradient shrinks or grows: each hidden layer's gradient norm relative "
            f"to the classifier's, {depth} hidden layers\ngeometric mean over the seeds with "
            "a finite ratio, band = min to max; shaded red: vanishing, blue: exploding; "
            "zeros init not drawn"
        )
    return fig


def write_figures(tables: dict, out_dir) -> list[Path]:
    from trainability.figures import save_figure

    epochs, layers, ratios = read_tables(tables)
    init = running_init(epochs.init)
    out_dir = Path(out_dir)
    made = {
        "per_layer.png": lambda: per_layer_figure(epochs, init),
        "depth_ratio.png": lambda: depth_ratio_figure(ratios),
        "depth_profile.png": lambda: depth_profile_figure(layers),
    }
    assert tuple(made) == FIGURES
    for name, make in made.items():
        save_figure(make(), out_dir / name)
    return [out_dir / name for name in made]


# ---------------------------------------------------------------- the report section


def _fmt(cell) -> str:
    """``-2.47 ± 0.31`` orders of magnitude over the finite seeds, plus the other seeds."""
    n_finite, n = int(cell.n_finite), int(cell.n)
    parts = []
    if n_finite:
        text = f"{cell['mean']:+.2f}"
        if n_finite > 1:
            text += f" ± {cell.sd:.2f}"
        parts.append(text)
    if int(cell.n_zero):
        parts.append(f"{int(cell.n_zero)}× −∞ (layer 1: no gradient)")
    if int(cell.n_none):
        parts.append(f"{int(cell.n_none)}× none (no gradient)")
    if int(cell.n_inf):
        parts.append(f"{int(cell.n_inf)}× +∞")
    if int(cell.get("n_diverged", 0)):
        parts.append(f"{int(cell.n_diverged)}× diverged")
    text = "; ".join(parts) or "no models"
    return text + (f" (n = {n_finite} of {n})" if 0 < n_finite < n else "")


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio_table(summary, moment: str) -> str:
    """Rows activation/init, columns depths: log10 ratio mean ± sd."""
    from trainability.figures import activation_order, init_order

    s = summary.xs(moment, level="moment")
    acts = activation_order(s.index.get_level_values("activation"))
    inits = init_order(s.index.get_level_values("init"))
    depths = sorted(int(d) for d in s.index.get_level_values("depth").unique())
    rows = []
    for act in acts:
        for init in inits:
            if (act, init) not in s.index.droplevel("depth"):
                continue
            row = [f"{act}/{init}"]
            for d in depths:
                key = (act, init, d)
                row.append(_fmt(s.loc[key]) if key in s.index else "not run")
            rows.append(row)
    return markdown_table(["activation/init", *[f"depth {d}" for d in depths]], rows)


def where_text(summary) -> list[str]:
    """Bullet lines: which settings vanish or explode, and by how many orders of magnitude
    (the mean log10 ratio over seeds), at init and after training."""
    from trainability.figures import activation_order, init_order

    lines = []
    for moment in MOMENTS:
        s = summary.xs(moment, level="moment")
        for name, test in (("vanish", lambda m: m <= VANISH), ("explode", lambda m: m >= EXPLODE)):
            found = []
            for act in activation_order(s.index.get_level_values("activation")):
                for init in init_order(s.index.get_level_values("init")):
                    if (act, init) not in s.index.droplevel("depth"):
                        continue
                    cell = s.loc[(act, init)]
                    means = cell["mean"].to_numpy(float)
                    hit = cell[np.isfinite(means) & test(np.nan_to_num(means))]
                    if hit.empty:
                        continue
                    depths = ", ".join(str(int(d)) for d in hit.index)
                    m = hit["mean"]
                    size = (f"{abs(m.iloc[0]):.1f}" if len(m) == 1
                            else f"{abs(m).min():.1f} to {abs(m).max():.1f}")
                    found.append(f"{act}/{init} at depth {depths} ({size} orders of magnitude)")
            verb = "vanish (layer 1 ≤ 1/10 of the classifier)" if name == "vanish" else \
                "explode (layer 1 ≥ 10× the classifier)"
            lines.append(f"- {MOMENT_TEXT[moment].capitalize()}, gradients {verb}: "
                         + ("; ".join(found) if found else "nowhere") + ".")
        items = []
        for act in activation_order(s.index.get_level_values("activation")):
            for init in init_order(s.index.get_level_values("init")):
                if (act, init) not in s.index.droplevel("depth"):
                    continue
                cell = s.loc[(act, init)]
                none = cell.n_zero + cell.n_none
                if not (none > 0).any():
                    continue
                if (none == cell.n).all():
                    items.append(f"{act}/{init} at every depth, every seed")
                else:
                    items.append(f"{act}/{init} at depth " + ", ".join(
                        f"{int(d)} ({int(none[d])} of {int(cell.n[d])} seeds)"
                        for d in cell.index if none[d] > 0))
        if items:
            lines.append(f"- {MOMENT_TEXT[moment].capitalize()}, no gradient reaches layer 1 "
                         "at all: " + "; ".join(items) + ".")
    return lines


def _check(claim_mod, what, measured, value, ok):
    passed = bool(np.isfinite(value) and ok(value))
    return claim_mod.Check(what, measured, float(value), passed)


def evaluate_claims(ratios, layers, running_depth: int) -> dict:
    """The study's claims (``report.Claim``), keyed by ``Claim.key``."""
    import trainability.legacy_claims as rep
    from trainability.figures import activation_order, init_order

    summary = summarize_ratios(ratios)
    acts = activation_order(ratios.activation)
    inits = init_order(ratios.init)
    nonzero = [i for i in inits if i != "zeros"]
    init_s = summary.xs("init", level="moment")
    D = running_depth

    vanish = rep.Claim(
        "sigmoid-vanishes",
        "Backpropagation through sigmoid layers shrinks the gradient layer by layer: the first "
        "layer of a sigmoid network gets orders of magnitude less gradient than the "
        "classifier, and the gap widens with depth.",
        "names gradients that become zero as a first reason training fails; its sigmoid "
        "network is the one that barely learns.",
        f"two checks per non-zero initializer of the sigmoid network, at initialization: (a) at "
        f"the running depth {D}, the mean over seeds of log10(‖g1‖/‖gC‖) is at most {VANISH:g} "
        f"(layer 1 gets at most a tenth of the classifier's gradient); (b) the least-squares "
        f"slope of that mean against depth is at most {SLOPE:g} orders of magnitude per "
        "hidden layer.",
        "log10 ratio or slope",
        signed=True,
    )
    if "sigmoid" in acts:
        for init in nonzero:
            if ("sigmoid", init) not in init_s.index.droplevel("depth"):
                continue
            cell = init_s.loc[("sigmoid", init)]
            if D in cell.index:
                vanish.checks.append(_check(rep, f"sigmoid/{init}, depth {D}",
                                            _fmt(cell.loc[D]) + " orders",
                                            cell.loc[D]["mean"], lambda v: v <= VANISH))
            slope = depth_slope(cell.index, cell["mean"])
            vanish.checks.append(_check(
                rep, f"sigmoid/{init}, slope",
                f"{slope:+.2f} orders per hidden layer over depths "
                f"{', '.join(str(int(d)) for d in cell.index)}" if np.isfinite(slope)
                else "fewer than two depths", slope, lambda v: v <= SLOPE))
    if not vanish.checks:
        vanish.note = "no sigmoid network with a non-zero initializer"

    hold = rep.Claim(
        "relu-tanh-hold",
        "With ReLU or tanh hidden layers, the gradient reaching layer 1 at initialization stays "
        "within one order of magnitude of the classifier's, at every depth.",
        "ReLU and tanh are the activations that learn in its running example.",
        "one check per activation (relu, tanh) x non-zero initializer x depth: passes if the "
        f"mean log10 ratio at initialization, over the seeds where it is finite, lies in "
        f"[{VANISH:g}, {EXPLODE:g}]. Seeds with no gradient at all (a layer whose ReLUs are "
        "all dead on the data blocks every path) are counted next to the number; a cell "
        "where no seed has a finite ratio fails.",
        "log10 ratio",
        signed=True,
    )
    for act in ("relu", "tanh"):
        for init in nonzero:
            if (act, init) not in init_s.index.droplevel("depth"):
                continue
            for d, cell in init_s.loc[(act, init)].iterrows():
                hold.checks.append(_check(rep, f"{act}/{init}, depth {int(d)}", _fmt(cell),
                                          cell["mean"], lambda v: VANISH <= v <= EXPLODE))
    if not hold.checks:
        hold.note = "no relu or tanh network with a non-zero initializer"

    symmetric = rep.Claim(
        "zeros-symmetric",
        "With all weights zero, every unit of a layer receives the same gradient, so the units "
        "can never become different; at initialization layer 1 gets no gradient at all.",
        "zero initialization leaves every network at a coin flip.",
        f"one check per activation with zeros init, over every depth, at initialization and "
        f"after training: passes if layer 1's gradient norm at initialization is exactly 0 and "
        f"in every hidden layer the largest difference between two units' gradients is at "
        f"most {SYMMETRY_TOL:g} of the layer's largest gradient entry (identical up to "
        "rounding).",
        "largest unit spread",
    )
    zl = layers[(layers.init == "zeros") & (layers.role == "hidden")]
    zr = ratios[(ratios.init == "zeros") & (ratios.moment == "init")]
    for act in acts:
        spread = zl[zl.activation == act].unit_spread
        first = zr[zr.activation == act].grad_norm_first
        if spread.empty:
            continue
        worst = float(spread.max())
        first_max = float(first.max())
        ok = first_max == 0 and worst <= SYMMETRY_TOL
        symmetric.checks.append(rep.Check(
            f"{act}/zeros", f"largest unit spread {worst:.1e}; largest layer-1 gradient norm "
            f"at initialization {first_max:.1e} ({len(first)} models)", worst, bool(ok)))
    if not symmetric.checks:
        symmetric.note = "no network with zeros init"
    return {c.key: c for c in (vanish, hold, symmetric)}


def running_table(summary, ratios, init: str, depth: int) -> str:
    from trainability.figures import activation_order

    rows = []
    for act in activation_order(ratios.activation):
        key0, key1 = (act, init, depth, "init"), (act, init, depth, "final")
        if key0 not in summary.index:
            continue
        acc = summary.loc[key1].test_acc if key1 in summary.index else float("nan")
        rows.append([act, _fmt(summary.loc[key0]), _fmt(summary.loc[key1]), f"{acc:.3f}"])
    return markdown_table(["activation", "log10 ratio at initialization",
                   "log10 ratio after training", "final test accuracy (mean)"], rows)


def change_table(ratios) -> str:
    """Rows activation, columns depths: how the layer-1 and the classifier gradient norms
    change from initialization to the end of training, in orders of magnitude (mean over
    the non-zero initializers' seeds where both are finite)."""
    import pandas as pd

    from trainability.figures import activation_order

    r = ratios[ratios.init != "zeros"]
    if r.empty:
        return "(no non-zero initializer)"
    keys = ["activation", "init", "depth", "seed"]
    wide = r.pivot_table(index=keys, columns="moment",
                         values=["grad_norm_first", "grad_norm_classifier"], aggfunc="first")
    with np.errstate(all="ignore"):
        d1 = np.log10(wide["grad_norm_first"]["final"]) - np.log10(wide["grad_norm_first"]["init"])
        dc = (np.log10(wide["grad_norm_classifier"]["final"])
              - np.log10(wide["grad_norm_classifier"]["init"]))
    frame = pd.DataFrame({"d1": d1, "dc": dc})
    depths = sorted(int(d) for d in ratios.depth.unique())
    rows = []
    for act in activation_order(r.activation):
        row = [act]
        for d in depths:
            sel = frame[(frame.index.get_level_values("activation") == act)
                        & (frame.index.get_level_values("depth") == d)]
            ok = sel[np.isfinite(sel.d1) & np.isfinite(sel.dc)]
            row.append(f"layer 1 {ok.d1.mean():+.1f}, classifier {ok.dc.mean():+.1f}"
                       if len(ok) else "n/a")
        rows.append(row)
    return markdown_table(["activation", *[f"depth {d}" for d in depths]], rows)


def running_text(summary, init: str, depth: int) -> str:
    """One sentence per activation of the running example: where the ratio starts and ends."""
    parts = []
    for act in ("sigmoid", "relu", "tanh"):
        k0, k1 = (act, init, depth, "init"), (act, init, depth, "final")
        if k0 not in summary.index or k1 not in summary.index:
            continue
        m0, m1 = summary.loc[k0]["mean"], summary.loc[k1]["mean"]
        if not (np.isfinite(m0) and np.isfinite(m1)):
            continue
        parts.append(f"{act}'s layer-1 gradient starts at 10^{m0:+.1f} of the classifier's "
                     f"({regime(m0)}) and ends at 10^{m1:+.1f} ({regime(m1)})")
    if not parts:
        return ""
    return "In the running example, " + "; ".join(parts) + " (means over seeds)."


def render_section(epochs, layers, ratios, figures_link: str = "figures/gradients") -> str:
    """The markdown section (starts with ``## <title>``); links relative to ``results/``."""
    import trainability.legacy_claims as rep
    from trainability.figures import activation_order, init_order

    depth = int(epochs.depth.iloc[0])
    init = running_init(epochs.init)
    summary = summarize_ratios(ratios)
    claims = evaluate_claims(ratios, layers, depth)
    depths = sorted(int(d) for d in ratios.depth.unique())
    n_seeds = int(ratios.groupby(["activation", "init", "depth"]).seed.nunique().max())
    first = ratios.iloc[0]
    acts, inits = activation_order(ratios.activation), init_order(ratios.init)

    def fig(name, alt, caption):
        return f"![{alt}]({figures_link}/{name})\n\n*Figure ({name}): {caption}*"

    out = [
        f"## {TITLE}",
        "",
        "The grid shows *that* the activation and the initialization decide whether a network "
        "learns. This section shows *why*: backpropagation multiplies the gradient, on its "
        "way from the classifier down to the first layer, by every layer's weights and "
        "activation derivative. Factors below one make it shrink geometrically with depth "
        "(vanish), factors above one make it grow (explode); either way the early layers "
        "cannot learn at the pace of the late ones.",
        "",
        f"*Setup*: the grid's data; {len(acts)} activations ({', '.join(acts)}) x "
        f"{len(inits)} initializers ({', '.join(inits)}) x {len(depths)} depths "
        f"({', '.join(map(str, depths))} hidden layers of width {int(first.width)}), "
        f"{n_seeds} seeds each, trained like the grid ({first.optimizer}, learning rate "
        f"{first.lr:g}, batch {int(first.batch_size)}, {int(first.epochs)} epochs; "
        f"random_normal std {first.init_scale:g}). Gradients are of the data loss on the "
        "whole training set, per weight matrix. The measure is log10(‖g1‖/‖gC‖), the orders "
        "of magnitude by which layer 1's gradient norm lies above (+) or below (−) the "
        "classifier's; numbers are mean ± sd over the seeds where it is finite.",
        "",
        "### The claims at a glance",
        "",
        markdown_table(["#", "claim (in our words)", "verdict", "evidence"],
               [[f"G{i}", c.statement, f"**{c.verdict}**",
                 f"{c.headline} ({c.tally})" if c.checks else c.tally]
                for i, c in enumerate(claims.values(), 1)]),
        "",
        f"### The running example ({depth} hidden layers, {init} init)",
        "",
        fig("per_layer.png", "per-layer gradient mean and std per epoch",
            "mean (top) and standard deviation (bottom) of each weight matrix's gradient per "
            "epoch, hidden layers light to dark and the classifier dashed, one column per "
            "activation. Look for: in the sigmoid column the layer-1 line far below the "
            "classifier's on the log axis (vanishing), in relu and tanh the lines close "
            "together."),
        "",
        running_table(summary, ratios, init, depth),
        "",
        running_text(summary, init, depth),
        "",
        "### Depth as a variable",
        "",
        fig("depth_ratio.png", "layer-1 to classifier gradient ratio vs depth",
            "the ratio of layer 1's gradient norm to the classifier's against the number of "
            "hidden layers, at initialization (top) and after training (bottom), one line per "
            "initializer. Look for: lines that fall steadily with depth into the red band "
            "(gradients vanish geometrically) and lines that stay near the dotted ratio 1."),
        "",
        fig("depth_profile.png", "per-layer gradient profile of the deepest networks",
            f"every hidden layer's gradient norm relative to the classifier's in the "
            f"{depths[-1]}-layer networks. Look for: a straight descending line on the log "
            "axis, which means a constant factor lost per layer, and where along the depth "
            "a line leaves the band around 1."),
        "",
        "log10(‖g1‖/‖gC‖) at initialization (mean ± sd over seeds):",
        "",
        ratio_table(summary, "init"),
        "",
        "After training:",
        "",
        ratio_table(summary, "final"),
        "",
        "Where the gradients vanish or explode (a cell counts when its mean over seeds is at "
        f"or beyond {abs(VANISH):g} order of magnitude):",
        "",
        *where_text(summary),
        "",
        "How the two gradient norms themselves change during training, in orders of magnitude "
        "(log10 of final / initial; mean over the seeds of the non-zero initializers): a ratio "
        "that rises during training can mean layer 1's gradient grows, the classifier's "
        "shrinks as the loss falls, or both.",
        "",
        change_table(ratios),
        "",
        "### The claims",
        "",
        rep.VERDICT_RULE.replace("Accuracies are final (last-epoch) test accuracies, averaged "
                                 "over the seeds that did not diverge.", "").strip(),
        "",
    ]
    for i, claim in enumerate(claims.values(), 1):
        out += [rep.render_claim(f"G{i}", claim), ""]
    return "\n".join(out).rstrip() + "\n"


def headline_metrics(epochs, layers, ratios) -> dict:
    """The numbers ``dvc exp show`` lists: the verdicts, the running example's log10 ratios
    and the sigmoid's orders of magnitude lost per hidden layer, per initializer."""
    depth = int(epochs.depth.iloc[0])
    init = running_init(epochs.init)
    summary = summarize_ratios(ratios)
    claims = evaluate_claims(ratios, layers, depth)

    def num(x):
        return None if not np.isfinite(x) else round(float(x), 4)

    out = {"verdicts": {key: c.verdict for key, c in claims.items()}}
    for moment in MOMENTS:
        out[f"log10_ratio_{moment}"] = {
            act: num(summary.loc[(act, init, depth, moment)]["mean"])
            for act in sorted(set(ratios.activation))
            if (act, init, depth, moment) in summary.index
        }
    s = summary.xs("init", level="moment")
    if "sigmoid" in set(ratios.activation):
        out["sigmoid_orders_per_layer"] = {
            i: num(depth_slope(s.loc[("sigmoid", i)].index, s.loc[("sigmoid", i)]["mean"]))
            for i in sorted(set(ratios.init) - {"zeros"})
            if ("sigmoid", i) in s.index.droplevel("depth")
        }
    return out


def write_section(tables: dict, out, figures_link: str, metrics_out=None) -> None:
    from trainability.io import write_json, write_text

    epochs, layers, ratios = read_tables(tables)
    write_text(out, render_section(epochs, layers, ratios, figures_link))
    if metrics_out:
        write_json(metrics_out, {"gradients": headline_metrics(epochs, layers, ratios)})


# ---------------------------------------------------------------- workflow helpers
# Called by src/workflow/rules/gradients.smk while Snakemake parses it: plain Python.


def depths(config) -> list[int]:
    """The study's depths and the running example's (``model.depth``), sorted."""
    return sorted(set(config["gradients"]["depths"]) | {config["model"]["depth"]})


def run_files(config, run_tag: str) -> list[str]:
    """Every run file of the study: activation x init x depth, named by ``run_tag``."""
    cfg = config["gradients"]
    return [f"results/runs/gradients/{a}/{i}/d{d}-{run_tag}.npz"
            for a in cfg["activations"] for i in cfg["inits"] for d in depths(config)]


def train_args(config, wildcards) -> list:
    """Arguments of ``trainability train`` besides data, activation, init and depth."""
    m, t = config["model"], config["train"]
    return [
        "--width", m["width"], "--init-scale", m["init_scale"],
        "--optimizer", t["optimizer"], "--lr", t["lr"], "--momentum", t["momentum"],
        "--l2", t["l2"], "--schedule", t["schedule"], "--warmup-epochs", t["warmup_epochs"],
        "--batch-size", t["batch_size"], "--epochs", t["epochs"],
        "--seeds", *range(config["gradients"]["seeds"]),
    ]


def caption(figure) -> str:
    """The report caption of a figure, relative to the rules folder."""
    stem = os.path.basename(str(figure)).removesuffix(".png")
    return f"../report/gradients_{stem}.rst"








# ---------------------------------------------------------------- commands



def _table_args(p, kind: str) -> None:
    """``--epochs``, ``--layers``, ``--ratios`` (input tables) or ``--*-out`` (outputs)."""
    for name, file in TABLES.items():
        if kind == "out":
            p.add_argument(f"--{name}-out", required=True, help=f"output: {file}")
        else:
            p.add_argument(f"--{name}", required=True, help=f"{file} of `gradients-tables`")


def add_commands(sub) -> None:
    p = sub.add_parser(
        "gradients-tables",
        help="gradient study: tidy tables of per-layer gradients from run files",
        description="Write (atomically) the per-epoch and per-layer table of the running "
        "depth (--epochs-out), the per-layer table at initialization and after training with "
        "the units' gradient spread (--layers-out), and the layer-1 / classifier gradient "
        "norm per model (--ratios-out).",
    )
    p.add_argument("runs", nargs="+", help="run .npz files written by `trainability train`")
    p.add_argument("--data", required=True, help="dataset .npz the runs were trained on")
    p.add_argument("--running-depth", type=positive_int, required=True,
                   help="the running example's depth (the per-epoch table)")
    _table_args(p, "out")
    p.add_argument("--manifest", help="output: the run files read, one per line")
    p.set_defaults(func=_run_tables)

    p = sub.add_parser("gradients-figures", help="gradient study: its figures (PNG)",
                       description=f"Write {', '.join(FIGURES)} into --out-dir (atomically).")
    _table_args(p, "in")
    p.add_argument("--out-dir", required=True, help="output folder of the figures")
    p.set_defaults(func=_run_figures)

    p = sub.add_parser("gradients-section",
                       help="gradient study: its markdown section of the report",
                       description="Write the section (claims, numbers, verdicts) atomically.")
    _table_args(p, "in")
    p.add_argument("--figures-link", default="figures/gradients",
                   help="the figures folder relative to the report")
    p.add_argument("--out", required=True, help="output .md")
    p.add_argument("--metrics-out", help="output .json: verdicts and headline numbers")
    p.set_defaults(func=_run_section)


def _run_tables(args) -> None:
    from trainability.io import write_text

    outs = {name: getattr(args, f"{name}_out") for name in TABLES}
    write_tables(args.runs, args.data, args.running_depth, outs)
    if args.manifest:
        write_text(args.manifest, "".join(f"{p}\n" for p in args.runs))
    print(f"wrote {', '.join(outs.values())} from {len(args.runs)} run files")


def _run_figures(args) -> None:
    written = write_figures({name: getattr(args, name) for name in TABLES}, args.out_dir)
    print(f"wrote {len(written)} figures into {args.out_dir}")


def _run_section(args) -> None:
    write_section({name: getattr(args, name) for name in TABLES}, args.out, args.figures_link,
                  args.metrics_out)
    print(f"wrote {args.out}")
