"""Study 2, scaling and initialization: what each layer passes on, and why input scale matters.

Two experiments:

- **Layer outputs at initialization** (forward pass only, no training): for each activation
  and each weight initialization (random_normal with a large and a small std; the
  variance-scaled Glorot, He and LeCun), the outputs of every hidden layer on the training
  points. Histograms of the first ``model.depth`` layers with their mean and std (the
  lecture's figure), and the *signal* of every layer of a deeper network: how much the
  layer's outputs vary from one data point to another (``scaling_init_layers.csv``,
  ``scaling_histograms.csv``, ``histograms_<activation>.png``, ``layer_scale.png``).
- **Input standardization**: the running example trained on the raw features, on the
  features multiplied by a large factor, and on those scaled features standardized to mean
  0 and std 1 (``scaling_training.csv``, ``scaling_runs.csv``, ``scaling_inputs.csv``,
  ``standardization.png``).

Statistics of one hidden layer's outputs ``a`` (``(K, N, units)``: K models, N points):

- ``preact_std``: std of the layer's pre-activations (points and units pooled);
- ``mean``, ``std``: over all outputs of the layer (points and units pooled), as the lecture
  prints them;
- ``signal``: ``sqrt(mean_j var_n a_nj)``, the root mean square over units of each unit's
  standard deviation across the data points. A unit that outputs the same value for every
  point carries no information about the input, whatever its value; ``signal`` measures
  what is left. For a linear layer with an orthogonal square weight matrix it is exactly
  preserved (the trace of the covariance is invariant under rotation);
- ``rms``: root mean square of all outputs;
- ``saturated``: share of outputs where the activation's derivative is below
  ``SATURATED`` (10%) of its peak (sigmoid and tanh; NaN for the others);
- ``zero``: share of outputs exactly 0 (relu's inactive units).

pandas and matplotlib are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainability.argtypes import positive_float, positive_int

STUDY = "scaling"
TITLE = "Scaling and initialization"
SATURATED = 0.10  # derivative below 10% of its peak: a saturated output
ROUNDING = 1e-13  # signal below 1e-13 of the outputs' size: float64 rounding, not signal
VARIANTS = ("raw", "scaled", "standardized")

# ---- the thresholds of the claims' rules
SATURATES = 0.10  # "a large share saturates": at least 10% of the outputs
COLLAPSE = -2.0  # "the signal dies out": last hidden layer >= 2 orders below layer 1
KEEPS = 0.5  # "keeps the scale": last/first within half an order of magnitude (x/÷ 3.2)
HURTS = 0.05  # "hampers training": scaled inputs at least 0.05 below raw in test accuracy
RESTORES = 0.02  # "restores": standardized no more than 0.02 below raw

# Which variance-scaled initializer each activation was designed for (He et al. 2015 for
# the relu family; Glorot & Bengio 2010 and LeCun et al. 1998 for tanh; Glorot for sigmoid).
MATCHED = {
    "relu": ("he_normal", "he_uniform"),
    "leaky_relu": ("he_normal", "he_uniform"),
    "elu": ("he_normal", "he_uniform"),
    "tanh": ("glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform"),
    "sigmoid": ("glorot_normal", "glorot_uniform"),
}
SCALED_INITS = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
                "lecun_uniform", "orthogonal")

TABLES = {
    "layers": "scaling_init_layers.csv",
    "histograms": "scaling_histograms.csv",
    "training": "scaling_training.csv",
    "runs": "scaling_runs.csv",
    "inputs": "scaling_inputs.csv",
}
STATS = ("preact_std", "mean", "std", "signal", "rms", "saturated", "zero")


# ---------------------------------------------------------------- statistics


def init_settings(stds: Sequence[float], inits: Sequence[str]) -> list[tuple[str, str, float]]:
    """``(label, init, scale)`` of every initialization: random_normal at each std, then the
    variance-scaled initializers (whose scale argument is unused)."""
    out = [(f"std {s:g}", "random_normal", float(s)) for s in stds]
    return out + [(init, init, 1.0) for init in inits]


def forward_layers(arch, theta: np.ndarray, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(z, a)`` of every hidden layer for ``(K, P)`` parameters on points ``X (N, n)``:
    pre-activations and outputs, each ``(K, N, width)``. Forward pass only."""
    from trainability.model import Network

    net = Network(arch)
    with np.errstate(all="ignore"):
        _, cache = net.forward(net.bind(np.asarray(theta, dtype=float)),
                               np.asarray(X, dtype=float))
    return [(z, a) for (_, z, a, _, _) in cache[:-1]]


def layer_stats(z: np.ndarray, a: np.ndarray, activation: str) -> dict[str, np.ndarray]:
    """The statistics of one hidden layer (module docstring), each ``(K,)``."""
    from trainability.activations import get_activation

    act = get_activation(activation)
    with np.errstate(all="ignore"):
        stats = {
            "preact_std": z.std(axis=(1, 2)),
            "mean": a.mean(axis=(1, 2)),
            "std": a.std(axis=(1, 2)),
            "signal": np.sqrt(a.var(axis=1).mean(axis=1)),
            "rms": np.sqrt((a * a).mean(axis=(1, 2))),
            "zero": (a == 0).mean(axis=(1, 2)),
        }
        if act.family == "saturating":
            flat = act.grad(z, a) < SATURATED * act.peak_grad
            stats["saturated"] = flat.mean(axis=(1, 2))
        else:
            stats["saturated"] = np.full(len(a), np.nan)
    return stats


def histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, counts)``: ``bins`` equal bins from the smallest to the largest finite value
    (widened around a constant); counts of the finite values."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.linspace(-1.0, 1.0, bins + 1), np.zeros(bins, dtype=int)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = max(abs(lo) * 1e-6, 1e-12)
        lo, hi = lo - pad, hi + pad
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return edges, counts


def log10_change(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``log10(last / first)`` elementwise; -inf where ``last`` is 0, NaN where ``first`` is."""
    first, last = np.asarray(first, dtype=float), np.asarray(last, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(last) - np.log10(first)
    return np.where(first > 0, out, np.nan)


# ---------------------------------------------------------------- tables


def init_tables(data, activations, stds, inits, depth: int, profile_depth: int, width: int,
                seeds: Sequence[int], bins: int):
    """``(layers, histograms)`` data frames of the forward pass at initialization.

    One network of ``max(depth, profile_depth)`` hidden layers per activation and setting:
    its first ``depth`` layers are exactly the running example's (weights are drawn layer
    by layer from each seed's stream), so the histograms (layers ``1..depth``) show the
    running example and the layer table covers the whole deeper network.
    """
    import pandas as pd

    from trainability.model import Architecture, Layout, init_params

    n_layers = max(depth, profile_depth)
    X = np.asarray(data.X_train, dtype=float)
    seeds = [int(s) for s in seeds]
    layers, hists = [], []
    for activation in activations:
        arch = Architecture(n_layers, width, activation, n_inputs=X.shape[1])
        for label, init, scale in init_settings(stds, inits):
            theta = init_params(Layout(arch), init, seeds, scale)
            keys = {"activation": activation, "setting": label, "init": init,
                    "init_scale": scale}
            for i, (z, a) in enumerate(forward_layers(arch, theta, X), start=1):
                stats = layer_stats(z, a, activation)
                layers.append(pd.DataFrame({**keys, "seed": seeds, "layer": i, **stats}))
                if i <= depth:
                    edges, counts = histogram(a, bins)
                    hists.append(pd.DataFrame({
                        **keys, "layer": i, "bin": np.arange(bins), "left": edges[:-1],
                        "right": edges[1:], "count": counts, "share": counts / counts.sum()
                        if counts.sum() else counts.astype(float),
                    }))
    return pd.concat(layers, ignore_index=True), pd.concat(hists, ignore_index=True)


def training_tables(run_paths: Sequence, data_paths: dict):
    """``(training, runs, inputs)`` of the standardization runs.

    - ``training``: per model and epoch, losses and accuracies;
    - ``runs``: per model, its final numbers and how its first hidden layer starts out on
      its own inputs (forward pass with its initial weights): the std of the
      pre-activations, and the shares of saturated and of zero outputs;
    - ``inputs``: per dataset variant and feature, the training split's mean and std.

    ``data_paths`` maps variant -> dataset file; a run's variant is the one whose dataset
    it was trained on (the dataset settings it recorded)."""
    import pandas as pd

    from trainability.data import dataset_meta, load_dataset
    from trainability.io import InputError, load_run
    from trainability.model import Architecture

    metas = {variant: dataset_meta(path) for variant, path in data_paths.items()}
    datasets = {variant: load_dataset(path) for variant, path in data_paths.items()}
    inputs = []
    for variant, data in datasets.items():
        X = data.X_train
        inputs.append(pd.DataFrame({
            "variant": variant, "scale": metas[variant].get("scale"),
            "standardize": bool(metas[variant].get("standardize")),
            "feature": [f"x{j}" for j in range(X.shape[1])],
            "mean": X.mean(axis=0), "std": X.std(axis=0),
        }))
    frames, runs = [], []
    for path in run_paths:
        meta, hist, arrays = load_run(path)
        variant = next((v for v, m in metas.items() if m == meta["dataset"]), None)
        if variant is None:
            raise InputError(f"{path}: trained on none of the given datasets "
                             f"({', '.join(map(str, data_paths.values()))})")
        k, n_epochs = hist["train_loss"].shape
        seeds = np.asarray(arrays["seeds"])
        keys = {"variant": variant, "activation": meta["activation"], "init": meta["init"],
                "init_scale": meta["init_scale"], "depth": meta["depth"],
                "width": meta["width"]}
        metrics = ("train_loss", "train_acc", "test_loss", "test_acc")
        frames.append(pd.DataFrame({
            **keys,
            "seed": np.repeat(seeds, n_epochs),
            "epoch": np.tile(np.arange(n_epochs), k),
            **{m: hist[m].ravel() for m in metrics},
        }))
        data = datasets[variant]
        arch = Architecture(int(meta["depth"]), int(meta["width"]), meta["activation"],
                            n_inputs=data.X_train.shape[1])
        z, a = forward_layers(arch, arrays["theta0"], data.X_train)[0]
        first = layer_stats(z, a, meta["activation"])
        runs.append(pd.DataFrame({
            **keys,
            "seed": seeds,
            "status": arrays["status"],
            "epochs": n_epochs - 1,
            **{f"{m}_init": hist[m][:, 0] for m in metrics},
            **{f"{m}_final": hist[m][:, -1] for m in metrics},
            "preact_std_1": z.std(axis=(1, 2)),
            "saturated_1": first["saturated"],
            "zero_1": first["zero"],
        }))
    if not frames:
        raise InputError("no run files given")
    order = {v: i for i, v in enumerate(VARIANTS)}

    def tidy(frame, keys):
        frame = frame.assign(_v=frame.variant.map(order))
        return frame.sort_values(["_v", *keys], kind="stable", ignore_index=True).drop(
            columns="_v")

    return (tidy(pd.concat(frames, ignore_index=True), ["activation", "init", "seed", "epoch"]),
            tidy(pd.concat(runs, ignore_index=True), ["activation", "init", "seed"]),
            pd.concat(inputs, ignore_index=True))


def read_tables(paths: dict):
    """``(layers, histograms, training, runs, inputs)`` from the files ``paths`` names (keys
    of ``TABLES``)."""
    from trainability.figures import read_table

    return tuple(read_table(paths[name]) for name in TABLES)


# ---------------------------------------------------------------- summaries


def setting_order(layers) -> list[str]:
    """The settings in table order (random_normal stds first, as given)."""
    return list(dict.fromkeys(layers.setting))


def stds_of(layers) -> list[float]:
    rn = layers[layers.setting.str.startswith("std ")]
    return list(dict.fromkeys(rn.init_scale.astype(float)))


def _change(layers, activation: str, setting: str, last: int):
    """Mean, sd and count over seeds of log10(signal_last / signal_1); seeds whose last
    layer has no signal at all (-inf) are counted in ``n_dead``."""
    rows = layers[(layers.activation == activation) & (layers.setting == setting)]
    first = rows[rows.layer == 1].set_index("seed").signal
    end = rows[rows.layer == last].set_index("seed").signal.reindex(first.index)
    change = log10_change(first.to_numpy(), end.to_numpy())
    finite = change[np.isfinite(change)]
    return {
        "mean": float(finite.mean()) if len(finite) else float("nan"),
        "sd": float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
        "n": len(change),
        "n_finite": len(finite),
        "n_dead": int((change == -np.inf).sum()),
    }


def _fmt_change(c: dict) -> str:
    if not c["n_finite"]:
        return f"no signal left in {c['n_dead']} of {c['n']} seeds" if c["n_dead"] else "n/a"
    text = f"{c['mean']:+.2f}" + (f" ± {c['sd']:.2f}" if c["n_finite"] > 1 else "")
    if c["n_dead"]:
        text += f" ({c['n_dead']} of {c['n']} seeds: no signal left)"
    return text


def _mean_sd(values) -> str:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "n/a"
    return f"{v.mean():.3f}" + (f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else "")


# ---------------------------------------------------------------- figures


def plain_log_ticks(ax) -> None:
    """Tick labels of a log y-axis as plain numbers (0.6, not 6x10^-1). Minor ticks are
    labelled when the axis spans less than two decades: all of them within one decade, the
    2s and 5s within two."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    lo, hi = ax.get_ylim()
    span = hi / lo if lo > 0 else np.inf
    shown = set(range(1, 10)) if span < 10 else {2, 5} if span < 100 else set()

    def minor(value, _pos):
        digit = round(value / 10 ** np.floor(np.log10(value)))
        return f"{value:g}" if digit in shown else ""

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor) if shown else NullFormatter())


def histograms_figure(hists, layers, activation: str):
    """The lecture's histograms for one activation: rows = initializations, columns = hidden
    layers; each panel's x-range is its own; title: layer mean and std (mean over seeds)."""
    from trainability.figures import _figure, _style
    from trainability.io import InputError

    h = hists[hists.activation == activation]
    if h.empty:
        raise InputError(f"no histogram rows for activation {activation!r}")
    settings = [s for s in setting_order(layers) if s in set(h.setting)]
    n_layers = int(h.layer.max())
    stats = layers[(layers.activation == activation) & (layers.layer <= n_layers)].groupby(
        ["setting", "layer"])[["mean", "std", "signal", "zero", "saturated"]].mean()
    n_seeds = int(layers[layers.activation == activation].seed.nunique())
    with _style():
        fig = _figure(2.45 * n_layers + 1.3, 1.55 * len(settings) + 1.3)
        axes = np.asarray(fig.subplots(len(settings), n_layers, squeeze=False))
        for i, setting in enumerate(settings):
            for j in range(n_layers):
                ax = axes[i, j]
                cell = h[(h.setting == setting) & (h.layer == j + 1)].sort_values("bin")
                ax.bar(cell.left, cell.share, width=cell.right - cell.left, align="edge",
                       color="#4c72b0", edgecolor="none")
                s = stats.loc[(setting, j + 1)]
                note = f"mean {s['mean']:.2g}, std {s['std']:.2g}\nsignal {s.signal:.2g}"
                if s.zero > 0.05:
                    note += f", {s.zero:.0%} exactly 0"
                elif np.isfinite(s.saturated) and s.saturated > 0.005:
                    note += f", {s.saturated:.0%} saturated"
                ax.set_title(note, fontsize=7.5)
                ax.tick_params(labelsize=6.5)
                ax.xaxis.get_offset_text().set_fontsize(6.5)
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3), useOffset=False)
                ax.set_ylim(0, max(0.05, float(cell.share.max()) * 1.1) if len(cell) else 1)
                if j == 0:
                    ax.set_ylabel(f"{setting}\nshare of outputs", fontsize=8)
                if i == len(settings) - 1:
                    ax.set_xlabel(f"layer {j + 1} output (dimensionless)", fontsize=8)
        fig.suptitle(
            f"{activation}: outputs of each hidden layer at initialization, before any update\n"
            f"all training points, {n_seeds} seeds pooled; every panel has its own x-range; "
            "title: mean and std of the layer's outputs and their signal\n(std across data "
            "points, RMS over units; means over seeds); spikes: units whose output is the same "
            "for every point",
            fontsize="medium",
        )
    return fig


def _setting_styles(settings):
    """Distinct colours (colorblind palette, the two oranges apart) and line styles that
    tell apart the settings whose curves overlap (Glorot and LeCun on square layers)."""
    import seaborn as sns

    base = sns.color_palette("colorblind", 10)
    order = [0, 1, 2, 4, 9, 5, 3, 7, 6, 8]
    colors = {s: base[order[i % 10]] for i, s in enumerate(settings)}
    dashes = ["-", "-", "-", "--", ":", "-.", "-", "--", ":", "-."]
    return colors, {s: dashes[i % 10] for i, s in enumerate(settings)}


def layer_scale_figure(layers):
    """``signal`` (log scale) against the hidden layer, a panel per activation, a line per
    initialization: geometric mean over seeds with signal > 0, band = min to max; a cross
    marks the first layer where some seed has no signal at all."""

    from trainability.figures import _figure, _style, activation_order

    acts = activation_order(layers.activation)
    settings = setting_order(layers)
    palette, styles = _setting_styles(settings)
    n_layers = int(layers.layer.max())
    positive = layers.signal[layers.signal > 0]
    floor = max(float(positive.min()) / 3, 1e-30) if len(positive) else 1e-30
    with _style():
        fig = _figure(3.3 * len(acts) + 1.9, 4.2)
        axes = np.asarray(fig.subplots(1, len(acts), sharey=True, squeeze=False))[0]
        for ax, act in zip(axes, acts, strict=True):
            for setting in settings:
                cell = layers[(layers.activation == act) & (layers.setting == setting)]
                if cell.empty:
                    continue
                values = cell.pivot(index="layer", columns="seed", values="signal")
                v = values.to_numpy(float)
                pos = np.where(v > 0, v, np.nan)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    geo = 10 ** np.nanmean(np.log10(pos), axis=1)
                    lo, hi = np.nanmin(pos, axis=1), np.nanmax(pos, axis=1)
                x = values.index.to_numpy()
                color = palette[setting]
                ax.fill_between(x, lo, hi, color=color, alpha=0.12, linewidth=0)
                ax.plot(x, geo, color=color, lw=1.4, ls=styles[setting], marker=".", ms=4,
                        label=setting)
                dead = np.flatnonzero((v <= 0).any(axis=1))
                if len(dead):
                    ax.scatter(x[dead[0]], floor * 1.5, marker="x", color=color, s=30, zorder=4)
                rms = cell.pivot(index="layer", columns="seed", values="rms").to_numpy(float)
                with np.errstate(all="ignore"):
                    at_floor = np.flatnonzero(np.nanmax(v / rms, axis=1) < ROUNDING)
                if len(at_floor):
                    ax.annotate("rounding floor\n(float64)", (x[at_floor[-1]], geo[at_floor[-1]]),
                                xytext=(0, 6), textcoords="offset points", ha="right",
                                fontsize=6.5, color=color)
            ax.set_yscale("log")
            ax.set_ylim(bottom=floor)
            ax.set_title(act)
            ax.set_xlabel(f"hidden layer (1..{n_layers})")
            ax.set_xticks(range(1, n_layers + 1, max(1, n_layers // 8)))
        axes[0].set_ylabel("signal: RMS over units of each unit's\nstd across data points "
                           "(output units, log scale)", fontsize=8.5)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", title="initialization")
        fig.suptitle(
            "How much of the input's variation each layer passes on, at initialization\n"
            "geometric mean over seeds, band = min to max; × at the bottom: from this layer on "
            "some seed's outputs are all identical (e.g. dead ReLUs)",
            fontsize="medium",
        )
    return fig


def standardization_figure(training, input_scale: float):
    """Training loss (log scale) and test accuracy per epoch: rows = init x metric, columns
    = activations, a line per input variant (mean over seeds, band = min to max)."""
    from trainability.figures import _figure, _style, activation_order, init_order

    acts, inits = activation_order(training.activation), init_order(training.init)
    colors = {"raw": "#1b9e77", "scaled": "#d95f02", "standardized": "#7570b3"}
    labels = {"raw": "raw features", "scaled": f"raw × {input_scale:g}",
              "standardized": f"raw × {input_scale:g}, standardized"}
    metrics = (("train_loss", "training loss\n(BCE, nats, log scale)"),
               ("test_acc", "test accuracy\n(fraction)"))
    with _style():
        fig = _figure(3.0 * len(acts) + 2.4, 2.3 * len(inits) * 2 + 1.2)
        axes = np.asarray(fig.subplots(2 * len(inits), len(acts), sharex=True, squeeze=False))
        for r, init in enumerate(inits):
            for m, (metric, ylabel) in enumerate(metrics):
                row = 2 * r + m
                for j, act in enumerate(acts):
                    ax = axes[row, j]
                    for variant in VARIANTS:
                        cell = training[(training.init == init) & (training.activation == act)
                                        & (training.variant == variant)]
                        if cell.empty:
                            continue
                        stats = cell.groupby("epoch")[metric].agg(["mean", "min", "max"])
                        ax.fill_between(stats.index, stats["min"], stats["max"],
                                        color=colors[variant], alpha=0.15, linewidth=0)
                        ax.plot(stats.index, stats["mean"], color=colors[variant], lw=1.4,
                                ls="--" if variant == "standardized" else "-",
                                label=labels[variant])
                    if metric == "train_loss":
                        ax.set_yscale("log")
                        ax.axhline(np.log(2), color="0.6", lw=0.8, ls=":")
                        plain_log_ticks(ax)
                    else:
                        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
                        ax.set_ylim(0.35, 1.02)
                    if row == 0:
                        ax.set_title(act)
                    if j == 0:
                        ax.set_ylabel(f"{init}\n{ylabel}", fontsize=8.5)
                    if row == 2 * len(inits) - 1:
                        ax.set_xlabel("epoch")
        handles, labs = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labs, loc="outside right center", title="inputs")
        fig.suptitle(
            "Training on badly scaled inputs, with and without standardization\n"
            "line = mean over seeds, band = min to max; dotted: ln 2 (loss of a coin flip) "
            "and accuracy 0.5",
            fontsize="medium",
        )
    return fig


def figure_names(activations: Sequence[str]) -> list[str]:
    return ([f"histograms_{a}.png" for a in activations]
            + ["layer_scale.png", "standardization.png"])


def write_figures(tables: dict, out_dir, input_scale: float) -> list[Path]:
    from trainability.figures import activation_order, save_figure

    layers, hists, training, _, _ = read_tables(tables)
    out_dir = Path(out_dir)
    made = {}
    acts = activation_order(hists.activation)
    for act in acts:
        made[f"histograms_{act}.png"] = lambda act=act: histograms_figure(hists, layers, act)
    made["layer_scale.png"] = lambda: layer_scale_figure(layers)
    made["standardization.png"] = lambda: standardization_figure(training, input_scale)
    assert list(made) == figure_names(acts)
    for name, make in made.items():
        save_figure(make(), out_dir / name)
    return [out_dir / name for name in made]


# ---------------------------------------------------------------- the report section


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _check(rep, what, measured, value, ok):
    return rep.Check(what, measured, float(value), bool(np.isfinite(value) and ok(value)))


def evaluate_claims(layers, runs, depth: int) -> dict:
    """The study's claims (``report.Claim``) keyed by ``Claim.key``: S1-S3 on the layer
    outputs at initialization (first ``depth`` hidden layers), S4-S5 on the training runs."""
    import trainability.legacy_claims as rep
    from trainability.figures import activation_order

    acts = activation_order(layers.activation)
    stds = stds_of(layers)
    big = f"std {max(stds):g}" if stds else None
    small = f"std {min(stds):g}" if stds else None
    early = layers[layers.layer <= depth]
    claims = []

    c = rep.Claim(
        "large-std-saturates",
        f"With large initial weights ({big or 'std 1'}), sigmoid and tanh units saturate: a "
        "large share of their outputs sits where the derivative is nearly zero.",
        "lists weight initialization among the broad causes of failed training and shows "
        "each layer's outputs at initialization for std 1 and std 0.01.",
        f"one check per saturating activation (sigmoid, tanh) at random_normal "
        f"{big or 'std 1'}: passes if, in hidden layers 1-{depth} at initialization, the share "
        f"of outputs whose activation derivative is below {SATURATED:.0%} of its peak "
        f"(mean over seeds and layers) is at least {SATURATES:.0%}.",
        "share saturated",
    )
    for act in acts:
        if act not in ("sigmoid", "tanh") or big is None:
            continue
        rows = early[(early.activation == act) & (early.setting == big)]
        if rows.empty:
            continue
        share = float(rows.saturated.mean())
        others = early[(early.activation == act) & early.init.isin(SCALED_INITS)]
        context = (f"; variance-scaled inits: {others.saturated.mean():.1%}" if len(others)
                   else "")
        c.checks.append(_check(rep, f"{act}/{big}",
                               f"{share:.1%} of outputs saturated (pre-activation std "
                               f"{rows.preact_std.mean():.2g}){context}", share,
                               lambda v: v >= SATURATES))
    if not c.checks:
        c.note = "no sigmoid or tanh network with a random_normal std"
    claims.append(c)

    c = rep.Claim(
        "small-std-vanishes",
        f"With tiny initial weights ({small or 'std 0.01'}), the signal dies out layer by "
        "layer: each layer's outputs vary less and less from one data point to the next, so "
        "the last layer sees almost nothing of the input.",
        "asks that a workable scale hold for the inputs of every layer, not only for the "
        "network's own input.",
        f"one check per activation at random_normal {small or 'std 0.01'}: passes if "
        f"log10(signal of layer {depth} / signal of layer 1), mean over seeds, is at most "
        f"{COLLAPSE:g} (at least {-COLLAPSE:g} orders of magnitude lost).",
        "log10 signal ratio",
        signed=True,
    )
    if small is not None:
        for act in acts:
            ch = _change(layers, act, small, depth)
            if ch["n"]:
                c.checks.append(_check(rep, f"{act}/{small}", _fmt_change(ch) + " orders",
                                       ch["mean"] if ch["n_finite"] else -np.inf,
                                       lambda v: v <= COLLAPSE))
    if not c.checks:
        c.note = "no random_normal std in the settings"
    claims.append(c)

    c = rep.Claim(
        "scaled-inits-keep",
        "An initializer scaled to the layer's fan-in (and fan-out) and matched to the "
        "activation keeps the signal roughly constant from layer to layer: He for ReLU, "
        "Glorot or LeCun for tanh, Glorot for sigmoid.",
        "points to initializing the weights so that every layer's inputs keep a workable "
        "scale.",
        f"one check per activation and matched initializer present (relu family: He; tanh: "
        f"Glorot, LeCun; sigmoid: Glorot): passes if |log10(signal of layer {depth} / signal "
        f"of layer 1)|, mean over seeds, is at most {KEEPS:g} (within a factor "
        f"{10 ** KEEPS:.1f}).",
        "log10 signal ratio",
        signed=True,
    )
    settings = setting_order(layers)
    for act in acts:
        for setting in settings:
            if setting not in MATCHED.get(act, ()):
                continue
            ch = _change(layers, act, setting, depth)
            if not ch["n"]:
                continue
            c.checks.append(_check(rep, f"{act}/{setting}", _fmt_change(ch) + " orders",
                                   ch["mean"] if ch["n_finite"] else -np.inf,
                                   lambda v: abs(v) <= KEEPS))
    if not c.checks:
        c.note = "no activation with its matched initializer"
    claims.append(c)

    final = runs.rename(columns={"test_acc_final": "test_acc"})
    final = final.assign(test_acc=final.test_acc.where(final.status == "ok"))
    means = final.groupby(["activation", "init", "variant"]).test_acc.mean()
    pairs = [(a, i) for a in activation_order(final.activation)
             for i in dict.fromkeys(final.init)]
    c = rep.Claim(
        "scaled-inputs-hurt",
        "The scale of the inputs matters: multiplying the raw features by a large factor "
        "makes the same network train worse.",
        "says networks react to the scale of their layer inputs and counts input scaling "
        "among the broad causes of failed training.",
        f"one check per activation x init: passes if the mean final test accuracy on the "
        f"scaled features is at least {HURTS} below that on the raw features.",
        "scaled minus raw",
        signed=True,
    )
    d = rep.Claim(
        "standardizing-restores",
        "Standardizing the inputs (each feature to mean 0 and std 1) removes the damage: the "
        "network trains at least as well as on the raw features.",
        "treats well-scaled inputs as a precondition for training.",
        f"one check per activation x init: passes if the mean final test accuracy on the "
        f"standardized scaled features is no more than {RESTORES} below that on the raw "
        "features.",
        "standardized minus raw",
        signed=True,
    )
    for act, init in pairs:
        got = {v: means.get((act, init, v), np.nan) for v in VARIANTS}
        text = {v: _mean_sd(final[(final.activation == act) & (final.init == init)
                                  & (final.variant == v)].test_acc) for v in VARIANTS}
        if np.isfinite(got["raw"]) and np.isfinite(got["scaled"]):
            diff = got["scaled"] - got["raw"]
            c.checks.append(_check(rep, f"{act}/{init}",
                                   f"scaled {text['scaled']} vs raw {text['raw']}: {diff:+.3f}",
                                   diff, lambda v: v <= -HURTS))
        if np.isfinite(got["raw"]) and np.isfinite(got["standardized"]):
            diff = got["standardized"] - got["raw"]
            d.checks.append(_check(rep, f"{act}/{init}",
                                   f"standardized {text['standardized']} vs raw "
                                   f"{text['raw']}: {diff:+.3f}", diff,
                                   lambda v: v >= -RESTORES))
    for claim in (c, d):
        if not claim.checks:
            claim.note = "no activation x init trained on both input variants"
    claims += [c, d]
    return {claim.key: claim for claim in claims}


def signal_table(layers, depth: int) -> str:
    """Rows activation, columns settings: log10(signal_depth / signal_1) and, for the
    deepest layer, per-layer orders of magnitude."""
    from trainability.figures import activation_order

    settings = setting_order(layers)
    n_layers = int(layers.layer.max())
    rows = []
    for act in activation_order(layers.activation):
        row = [act]
        for setting in settings:
            ch = _change(layers, act, setting, depth)
            text = _fmt_change(ch)
            if n_layers > depth:
                deep = _change(layers, act, setting, n_layers)
                text += f"; layer {n_layers}: {_fmt_change(deep)}"
            row.append(text)
        rows.append(row)
    return markdown_table(["activation", *settings], rows)


def histogram_stats_table(layers, depth: int) -> str:
    """The numbers printed over the histograms: layer mean and std, mean ± sd over seeds."""
    from trainability.figures import activation_order

    rows = []
    settings = setting_order(layers)
    for act in activation_order(layers.activation):
        for setting in settings:
            cell = layers[(layers.activation == act) & (layers.setting == setting)
                          & (layers.layer <= depth)]
            row = [act, setting]
            for j in range(1, depth + 1):
                lj = cell[cell.layer == j]
                row.append(f"{lj['mean'].mean():.3g} / {lj['std'].mean():.2g}")
            rows.append(row)
    return markdown_table(["activation", "initialization",
                   *[f"layer {j}: mean / std" for j in range(1, depth + 1)]], rows)


def standardization_table(runs) -> str:
    """Per network and input variant: losses, final test accuracy (mean ± sd over seeds)
    and how the first hidden layer starts out on those inputs."""
    from trainability.figures import activation_order, init_order

    rows = []
    for act in activation_order(runs.activation):
        for init in init_order(runs.init):
            for variant in VARIANTS:
                r = runs[(runs.activation == act) & (runs.init == init)
                         & (runs.variant == variant)]
                if r.empty:
                    continue
                sat = "n/a" if r.saturated_1.isna().all() else f"{r.saturated_1.mean():.0%}"
                ok = r[r.status == "ok"]
                acc = _mean_sd(ok.test_acc_final)
                if len(ok) < len(r):
                    acc += f" ({len(r) - len(ok)} diverged)"
                rows.append([f"{act}/{init}", variant, f"{r.preact_std_1.mean():.3g}", sat,
                             f"{r.zero_1.mean():.0%}", _mean_sd(r.train_loss_init),
                             _mean_sd(ok.train_loss_final), acc])
    return markdown_table(["network", "inputs", "layer-1 pre-activation std at init",
                   "layer-1 outputs saturated at init", "layer-1 outputs exactly 0 at init",
                   "training loss at init (nats)", "final training loss (nats)",
                   "final test accuracy"], rows)


def standardization_text(runs, input_scale: float) -> list[str]:
    """Bullet lines: how the first hidden layer starts out on each version of the inputs
    (means over seeds and initializers), per activation."""
    from trainability.activations import get_activation
    from trainability.figures import activation_order

    lines = []
    for act in activation_order(runs.activation):
        r = runs[runs.activation == act].groupby("variant")
        if not set(VARIANTS) <= set(r.groups):
            continue
        pre = r.preact_std_1.mean()
        loss = r.train_loss_init.mean()
        text = (f"- {act}: layer-1 pre-activations start with std {pre['raw']:.2g} (raw), "
                f"{pre['scaled']:.3g} (× {input_scale:g}) and {pre['standardized']:.2g} "
                "(standardized); ")
        if get_activation(act).family == "saturating":
            sat = r.saturated_1.mean()
            text += (f"{sat['scaled']:.0%} of its layer-1 outputs are saturated on the scaled "
                     f"inputs against {sat['raw']:.0%} on the raw ones and "
                     f"{sat['standardized']:.0%} standardized.")
        else:
            zero = r.zero_1.mean()
            text += (f"the share of inactive (zero) layer-1 outputs is {zero['scaled']:.0%} "
                     f"scaled against {zero['raw']:.0%} raw (a positive factor does not change "
                     f"which ReLUs are active), but the initial loss is {loss['scaled']:.3g} "
                     f"nats against {loss['raw']:.3g}: the logits grow with the inputs.")
        lines.append(text)
    return lines


def render_section(layers, runs, inputs, depth: int, input_scale: float,
                   figures_link: str = "figures/scaling") -> str:
    """The markdown section (starts with ``## <title>``); links relative to ``results/``."""
    import trainability.legacy_claims as rep
    from trainability.figures import activation_order

    claims = evaluate_claims(layers, runs, depth)
    acts = activation_order(layers.activation)
    settings = setting_order(layers)
    n_layers = int(layers.layer.max())
    n_seeds = int(layers.seed.nunique())
    width = int(runs.width.iloc[0])
    n_train_seeds = int(runs.seed.nunique())
    epochs = int(runs.epochs.max())
    inp = inputs.groupby("variant")["std"].agg(["min", "max"])

    def fig(name, alt, caption):
        return f"![{alt}]({figures_link}/{name})\n\n*Figure ({name}): {caption}*"

    def feat(variant):
        if variant not in inp.index:
            return "n/a"
        lo, hi = inp.loc[variant]
        return f"{lo:.3g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g} to {hi:.3g}"

    numbered = {key: f"S{i}" for i, key in enumerate(claims, 1)}
    out = [
        f"## {TITLE}",
        "",
        "A layer can only pass on what reaches it. If the weights are too large, saturating "
        "units are pinned to the flat ends of their range, where the derivative (and so the "
        "gradient through them) is nearly zero; too small, and each layer squeezes the "
        "variation between data points further, until the last layer sees the same thing "
        "for every input. The same holds for the inputs themselves: features on a scale far "
        "from 1 put the first layer in the wrong regime before training starts.",
        "",
        "### The claims at a glance",
        "",
        markdown_table(["#", "claim (in our words)", "verdict", "evidence"],
               [[numbered[k], cl.statement, f"**{cl.verdict}**",
                 f"{cl.headline} ({cl.tally})" if cl.checks else cl.tally]
                for k, cl in claims.items()]),
        "",
        "### Layer outputs at initialization",
        "",
        f"*Setup*: the grid's training points through networks of width {width} before any "
        f"update, {n_seeds} seeds per setting; {len(acts)} activations ({', '.join(acts)}) x "
        f"{len(settings)} initializations ({', '.join(settings)}; biases 0). The histograms "
        f"show the running example's {depth} hidden layers; the signal profile follows the "
        f"same networks to layer {n_layers} (their first {depth} layers are identical). The "
        "*signal* of a layer is how much its outputs vary across the data points (RMS over "
        "units of each unit's std across points); a layer whose outputs are the same for "
        "every point passes on nothing about the input, however large they are.",
        "",
    ]
    for act in acts:
        out += [fig(f"histograms_{act}.png", f"layer-output histograms, {act}",
                    f"{act}: histogram of each hidden layer's outputs at initialization, one row "
                    "per initialization, one column per layer, each panel on its own x-range; "
                    "titles give the layer's mean and std. Look for: outputs piling up at the "
                    "ends of the range (saturation), collapsing onto one value (no signal), or "
                    "keeping a similar spread from layer 1 to the last."), ""]
    out += [
        fig("layer_scale.png", "signal per layer at initialization",
            "the signal of every hidden layer at initialization (log scale), one panel per "
            "activation, one line per initialization. Look for: straight descending lines (a "
            "constant factor lost per layer: the signal vanishes geometrically) against flat "
            "lines (the scale is kept)."),
        "",
        f"Layer mean / std of the outputs (pooled over points and units, mean over {n_seeds} "
        "seeds), as printed over the histograms:",
        "",
        histogram_stats_table(layers, depth),
        "",
        f"Signal kept from layer 1 to layer {depth} (and to layer {n_layers}): log10 of the "
        "ratio, mean ± sd over seeds (−2 means a hundredth is left):",
        "",
        signal_table(layers, depth),
        "",
    ]
    for key in ("large-std-saturates", "small-std-vanishes", "scaled-inits-keep"):
        out += [rep.render_claim(numbered[key], claims[key]), ""]
    out += [
        "Context for reading these verdicts: the fan-in scalings are derived for activations "
        "that are centred on 0 with slope 1 there (tanh, and ReLU with the factor 2). The "
        "sigmoid is neither: its slope is at most 1/4 and its outputs centre on 1/2, so each "
        "layer shrinks the variation between points whatever the weights' variance, unless "
        "that variance is raised far beyond Glorot's. How often std-1 weights saturate a unit "
        "depends on the spread of its pre-activations (given with S1), which the inputs' scale "
        "and the layer width set.",
        "",
    ]
    out += [
        "### Input standardization",
        "",
        f"*Setup*: the running example ({int(runs.depth.iloc[0])} hidden layers of "
        f"{width}) trained like the grid for {epochs} epochs, {n_train_seeds} seeds, on "
        f"three versions of the same data: the raw features (std {feat('raw')}), the raw "
        f"features multiplied by {input_scale:g} (std {feat('scaled')}), and those scaled "
        f"features standardized with the training split's mean and std (std "
        f"{feat('standardized')}).",
        "",
        fig("standardization.png", "training with scaled and standardized inputs",
            "training loss (log scale) and test accuracy per epoch on raw, scaled and "
            "standardized inputs, one column per activation, two rows per initializer. Look "
            "for: the scaled curves starting at a huge loss and stalling near the coin flip, "
            "and the standardized curves matching or beating the raw ones."),
        "",
        standardization_table(runs),
        "",
        "How the first layer starts out (means over seeds and initializers):",
        "",
        *standardization_text(runs, input_scale),
        "",
    ]
    for key in ("scaled-inputs-hurt", "standardizing-restores"):
        out += [rep.render_claim(numbered[key], claims[key]), ""]
    out += [rep.VERDICT_RULE.split(" Accuracies are")[0], ""]
    return "\n".join(out).rstrip() + "\n"


def headline_metrics(layers, runs, depth: int) -> dict:
    """The numbers ``dvc exp show`` lists: the verdicts, the signal kept from layer 1 to
    ``depth`` per activation and initialization, and the mean final test accuracy per
    network and version of the inputs."""
    claims = evaluate_claims(layers, runs, depth)

    def num(x):
        return None if not np.isfinite(x) else round(float(x), 4)

    ok = runs[runs.status == "ok"]
    acc = ok.groupby(["variant", "activation", "init"]).test_acc_final.mean()
    return {
        "verdicts": {key: c.verdict for key, c in claims.items()},
        "signal_log10_change": {
            f"{act}/{setting}": num(_change(layers, act, setting, depth)["mean"])
            for act in sorted(set(layers.activation)) for setting in setting_order(layers)
        },
        "test_acc": {v: {f"{a}/{i}": num(x) for (a, i), x in acc[v].items()}
                     for v in VARIANTS if v in acc.index.get_level_values("variant")},
    }


def write_section(tables: dict, out, depth: int, input_scale: float,
                  figures_link: str, metrics_out=None) -> None:
    from trainability.io import write_json, write_text

    layers, _, _, runs, inputs = read_tables(tables)
    write_text(out, render_section(layers, runs, inputs, depth, input_scale, figures_link))
    if metrics_out:
        write_json(metrics_out, {"scaling": headline_metrics(layers, runs, depth)})


# ---------------------------------------------------------------- workflow helpers
# Called by src/workflow/rules/scaling.smk while Snakemake parses it: plain Python.


def dataset_file(variant: str, grid_dataset: str, data_tag: str) -> str:
    """The dataset of one version of the inputs: the grid's for ``raw``."""
    if variant == "raw":
        return grid_dataset
    return f"results/data/scaling/{variant}-{data_tag}.npz"


def run_files(config, run_tag: str) -> list[str]:
    """Every run file: input version x activation x init, named by ``run_tag``."""
    cfg = config["scaling"]
    return [f"results/runs/scaling/{v}/{a}/{i}-{run_tag}.npz"
            for v in VARIANTS for a in cfg["activations"] for i in cfg["train_inits"]]


def dataset_args(config, wildcards) -> list:
    """Arguments of ``trainability dataset`` for the scaled and standardized versions: the
    grid's data with the features multiplied by ``scaling.input_scale``."""
    d = config["data"]
    args = [
        "--name", d["name"], "--n-samples", d["n_samples"], "--noise", d["noise"],
        "--factor", d["factor"], "--test-fraction", d["test_fraction"],
        "--scale", d["scale"] * config["scaling"]["input_scale"], "--seed", d["seed"],
    ]
    return args + (["--standardize"] if wildcards.variant == "standardized" else [])


def train_data(grid_dataset: str, data_tag: str, wildcards) -> str:
    return dataset_file(wildcards.variant, grid_dataset, data_tag)


def train_args(config, wildcards) -> list:
    """Arguments of ``trainability train`` besides data, activation and init."""
    m, t = config["model"], config["train"]
    return [
        "--depth", m["depth"], "--width", m["width"], "--init-scale", m["init_scale"],
        "--optimizer", t["optimizer"], "--lr", t["lr"], "--momentum", t["momentum"],
        "--l2", t["l2"], "--schedule", t["schedule"], "--warmup-epochs", t["warmup_epochs"],
        "--batch-size", t["batch_size"], "--epochs", t["epochs"],
        "--seeds", *range(config["scaling"]["seeds"]),
    ]


def init_args(config, wildcards) -> list:
    """Arguments of ``scaling-init`` besides the data and the outputs."""
    m, cfg = config["model"], config["scaling"]
    return [
        "--activations", *cfg["activations"], "--stds", *cfg["init_stds"],
        "--inits", *cfg["inits"], "--depth", m["depth"], "--profile-depth",
        cfg["profile_depth"], "--width", m["width"], "--seeds", *range(cfg["seeds"]),
        "--bins", cfg["bins"],
    ]


def caption(figure) -> str:
    """The report caption of a figure, relative to the rules folder."""
    stem = os.path.basename(str(figure)).removesuffix(".png")
    return f"../report/scaling_{'histograms' if stem.startswith('histograms_') else stem}.rst"








# ---------------------------------------------------------------- commands




def _table_args(p, names, kind: str) -> None:
    """``--<table>`` (inputs) or ``--<table>-out`` (outputs) for the tables ``names``."""
    for name in names:
        if kind == "out":
            p.add_argument(f"--{name}-out", required=True, help=f"output: {TABLES[name]}")
        else:
            p.add_argument(f"--{name}", required=True, help=f"{TABLES[name]}")


INIT_TABLES = ("layers", "histograms")
RUN_TABLES = ("training", "runs", "inputs")


def add_commands(sub) -> None:
    p = sub.add_parser(
        "scaling-init",
        help="scaling study: layer outputs at initialization (forward pass only)",
        description="Write (atomically) the statistics of every hidden layer's outputs per "
        "activation, initialization and seed (--layers-out) and the histograms of the first "
        "--depth layers, seeds pooled (--histograms-out).",
    )
    p.add_argument("--data", required=True, help="dataset .npz (its training points are used)")
    p.add_argument("--activations", nargs="+", required=True)
    p.add_argument("--stds", type=positive_float, nargs="*", default=[],
                   help="stds of random_normal initializations")
    p.add_argument("--inits", nargs="*", default=[],
                   help="variance-scaled initializers (glorot_normal, he_normal, ...)")
    p.add_argument("--depth", type=positive_int, required=True,
                   help="hidden layers shown as histograms (the running example's depth)")
    p.add_argument("--profile-depth", type=positive_int, required=True,
                   help="hidden layers of the signal profile")
    p.add_argument("--width", type=positive_int, required=True)
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--bins", type=positive_int, default=40)
    _table_args(p, INIT_TABLES, "out")
    p.add_argument("--manifest", help="output: a record of the settings, one per line")
    p.set_defaults(func=_run_init)

    p = sub.add_parser(
        "scaling-tables",
        help="scaling study: tables of the input-standardization runs",
        description="Write (atomically) the runs per model and epoch (--training-out), per "
        "model with how its first layer starts out (--runs-out), and the features' mean and "
        "std per version of the inputs (--inputs-out).",
    )
    p.add_argument("runs", nargs="+", help="run .npz files written by `trainability train`")
    for variant in VARIANTS:
        p.add_argument(f"--{variant}", required=True, metavar="NPZ",
                       help=f"the {variant} dataset")
    _table_args(p, RUN_TABLES, "out")
    p.add_argument("--manifest", help="output: the run and dataset files read, one per line")
    p.set_defaults(func=_run_tables)

    p = sub.add_parser("scaling-figures", help="scaling study: its figures (PNG)")
    _table_args(p, TABLES, "in")
    p.add_argument("--input-scale", type=positive_float, required=True,
                   help="the factor the scaled inputs were multiplied by (labels)")
    p.add_argument("--out-dir", required=True, help="output folder of the figures")
    p.set_defaults(func=_run_figures)

    p = sub.add_parser("scaling-section", help="scaling study: its markdown section")
    _table_args(p, TABLES, "in")
    p.add_argument("--depth", type=positive_int, required=True,
                   help="the running example's depth (the claims' last layer)")
    p.add_argument("--input-scale", type=positive_float, required=True)
    p.add_argument("--figures-link", default="figures/scaling",
                   help="the figures folder relative to the report")
    p.add_argument("--out", required=True, help="output .md")
    p.add_argument("--metrics-out", help="output .json: verdicts and headline numbers")
    p.set_defaults(func=_run_section)


def _run_init(args) -> None:
    from trainability.data import load_dataset
    from trainability.io import write_text
    from trainability.tables import write_csv

    if not args.stds and not args.inits:
        raise ValueError("give at least one of --stds and --inits")
    data = load_dataset(args.data)
    layers, hists = init_tables(data, args.activations, args.stds, args.inits, args.depth,
                                args.profile_depth, args.width, args.seeds, args.bins)
    write_csv(args.layers_out, layers)
    write_csv(args.histograms_out, hists)
    if args.manifest:
        settings = {k: v for k, v in vars(args).items() if k not in ("func", "manifest")}
        write_text(args.manifest, "".join(f"{k}: {v}\n" for k, v in settings.items()))
    print(f"wrote {args.layers_out} and {args.histograms_out}")


def _run_tables(args) -> None:
    from trainability.io import write_text
    from trainability.tables import write_csv

    paths = {v: getattr(args, v) for v in VARIANTS}
    for name, frame in zip(RUN_TABLES, training_tables(args.runs, paths), strict=True):
        write_csv(getattr(args, f"{name}_out"), frame)
    if args.manifest:
        write_text(args.manifest, "".join(f"{p}\n" for p in [*paths.values(), *args.runs]))
    print(f"wrote the tables of {len(args.runs)} run files")


def _run_figures(args) -> None:
    tables = {name: getattr(args, name) for name in TABLES}
    written = write_figures(tables, args.out_dir, args.input_scale)
    print(f"wrote {len(written)} figures into {args.out_dir}")


def _run_section(args) -> None:
    tables = {name: getattr(args, name) for name in TABLES}
    write_section(tables, args.out, args.depth, args.input_scale, args.figures_link,
                  args.metrics_out)
    print(f"wrote {args.out}")
