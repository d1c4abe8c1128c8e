"""Study 3, batch normalization: why one normalization layer rescues the sigmoid network.

The running example (``depth`` hidden layers of ``width`` units, random-normal weights,
the grid's optimizer) is trained per activation without batch normalization, with it after
the hidden layers of ``batchnorm.after_layers`` (the lecture: after hidden layer 3, i.e.
between hidden layers 3 and 4) and, optionally, after every hidden layer. A seed draws the
same initial weights and the same batch order in every setting (batch norm's scale 1 and
shift 0 take no random draws), so with and without batch norm are *paired* by seed.

Commands (``trainability <command> --help``):

- ``batchnorm-tables``: tidy tables from the run files: ``runs`` (one row per model),
  ``history`` (per model and epoch), ``layers`` (per model, epoch and layer: activation
  mean/std and gradient statistics), ``summary`` (per activation and setting);
- ``batchnorm-figures``: ``curves.png``, ``final.png`` and ``layers_{activation}.png``;
- ``batchnorm-section``: the report's markdown section, each claim with its rule.

Statistics (pure functions below, tested on cases with known answers): a setting's number
is the mean final test accuracy over its seeds that did not diverge ± the sample sd
(ddof 1); a gain is the mean over seeds of the paired difference (with minus without batch
norm, seeds that did not diverge in either); a gradient ratio is ``||dL/dW1|| /
||dL/dW_classifier||`` per model at initialization (epoch 0), summarized by its geometric
mean over seeds (ratios spread over decades).

The "workflow helpers" (file names, ``trainability train`` arguments) are what
``src/workflow/rules/batchnorm.smk`` calls while Snakemake parses it. Only NumPy is
imported here; pandas, matplotlib and the report helpers are imported by the commands that
need them, so a training job that loads the CLI starts fast.
"""

from __future__ import annotations

import math
import os

import numpy as np

from trainability.legacy_claims import (
    VERDICT_RULE,
    Check,
    Claim,
    markdown_table,
    mean_sd,
    passes,
    render_claim,
)

STUDY = "batchnorm"
NONE = "none"  # the batch_norm value of networks without batch normalization
LEARNS = 0.90  # "learns": the lecture's ~0.93 less a tolerance of 0.03
GAIN = 0.10  # "rescues": batch norm lifts the mean test accuracy by at least 0.10
SLACK = 0.02  # "does not hurt": no more than 0.02 lower
GRAD_FACTOR = 2.0  # "strengthens the gradient": ratio at least 2x the one without
LECTURE = {"sigmoid": {NONE: 0.70, "bn": 0.93}}  # read off its figures: training accuracy
FIGURE_CURVES, FIGURE_FINAL = "curves.png", "final.png"
CATEGORY = "Batch normalization"


# ---------------------------------------------------------------- settings


def parse_layers(batch_norm) -> tuple[int, ...]:
    """``"1 2 3"`` -> ``(1, 2, 3)``; ``"none"`` (or empty) -> ``()``."""
    text = str(batch_norm).strip()
    if text in ("", NONE, "nan"):
        return ()
    try:
        return tuple(int(x) for x in text.split())
    except ValueError:
        raise ValueError(f"batch_norm {batch_norm!r}: expected 'none' or layer numbers") from None


def placement_key(batch_norm) -> tuple:
    """Sort key: no batch norm first, then fewer normalized layers, then by layer."""
    layers = parse_layers(batch_norm)
    return (len(layers) > 0, len(layers), layers)


def placement_order(values) -> list[str]:
    return sorted({str(v) for v in values}, key=placement_key)


def placement_label(batch_norm, depth: int) -> str:
    """Words for a setting: ``no batch norm``, ``BN after layer 3``, ``BN after every layer``."""
    layers = parse_layers(batch_norm)
    if not layers:
        return "no batch norm"
    if depth > 1 and layers == tuple(range(1, depth + 1)):
        return "BN after every layer"
    if len(layers) == 1:
        return f"BN after layer {layers[0]}"
    return "BN after layers " + ", ".join(map(str, layers))


def placement_names(after_layers, every_layer: bool, depth: int) -> list[str]:
    """File-name labels of the settings to train: ``none``, ``after3`` (or ``after1-2``),
    ``every``; the lecture's placement is dropped when it already is every layer."""
    after = tuple(sorted(set(after_layers)))
    every = tuple(range(1, depth + 1))
    names = [NONE]
    if after and after != every:
        names.append("after" + "-".join(map(str, after)))
    if every_layer or after == every:
        names.append("every")
    return names


def placement_name(batch_norm, depth: int) -> str:
    """The file-name label of a setting (``none``, ``after3``, ``every``): the inverse of
    ``placement_layers``."""
    layers = parse_layers(batch_norm)
    if not layers:
        return NONE
    if layers == tuple(range(1, depth + 1)):
        return "every"
    return "after" + "-".join(map(str, layers))


def placement_layers(name: str, depth: int) -> list[int]:
    """The hidden layers a file-name label normalizes: inverse of ``placement_names``."""
    if name == NONE:
        return []
    if name == "every":
        return list(range(1, depth + 1))
    if name.startswith("after"):
        try:
            return [int(x) for x in name.removeprefix("after").split("-")]
        except ValueError:
            pass
    raise ValueError(f"placement {name!r}: expected none, every or after<layers>")


# ---------------------------------------------------------------- workflow helpers
# Called by src/workflow/rules/batchnorm.smk while Snakemake parses it (pure functions of
# the params; the rules bind ``config`` with functools.partial).


def check_params(config) -> str | None:
    """The problem with ``batchnorm.after_layers`` (layers beyond ``model.depth``), if any."""
    depth = config["model"]["depth"]
    bad = [j for j in config["batchnorm"]["after_layers"] if j > depth]
    if bad:
        return (f"batchnorm.after_layers: layers {bad} do not exist; allowed: 1..{depth} "
                "(model.depth)")
    return None


def run_files(config, run_tag: str) -> list[str]:
    """Every run file of the study: activation x setting, named by ``run_tag``."""
    cfg = config["batchnorm"]
    names = placement_names(cfg["after_layers"], cfg["every_layer"], config["model"]["depth"])
    return [f"results/runs/batchnorm/{a}/{p}-{run_tag}.npz"
            for a in cfg["activations"] for p in names]


def train_args(config, wildcards) -> list:
    """Arguments of ``trainability train`` for one run file (its setting a wildcard)."""
    m, t, cfg = config["model"], config["train"], config["batchnorm"]
    layers = placement_layers(wildcards.placement, m["depth"])
    args = [
        "--init", cfg["init"], "--depth", m["depth"], "--width", m["width"],
        "--init-scale", m["init_scale"], "--optimizer", t["optimizer"], "--lr", t["lr"],
        "--momentum", t["momentum"], "--l2", t["l2"], "--schedule", t["schedule"],
        "--warmup-epochs", t["warmup_epochs"], "--batch-size", t["batch_size"],
        "--epochs", t["epochs"], "--seeds", *range(cfg["seeds"]),
    ]
    return args + (["--batch-norm", *layers] if layers else [])


def caption(figure) -> str:
    """The report caption of a figure, relative to the rules folder."""
    stem = os.path.basename(str(figure)).removesuffix(".png")
    return f"../report/batchnorm_{'layers' if stem.startswith('layers_') else stem}.rst"






# ---------------------------------------------------------------- statistics




def geometric_mean(values) -> float:
    """``exp(mean(log x))`` of the finite positive ``values``; NaN if there are none."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if len(v) else math.nan


def paired_differences(runs, activation: str, batch_norm, reference=NONE,
                       metric: str = "test_acc") -> np.ndarray:
    """``metric`` with ``batch_norm`` minus with ``reference``, per seed, in seed order.

    Only seeds present and not diverged in both settings count (a seed has the same
    initial weights and batch order in both)."""
    ok = runs[(runs.activation == activation) & (runs.status == "ok")]
    bn = ok.batch_norm.astype(str)
    a = ok[bn == str(batch_norm)].set_index("seed")[metric]
    b = ok[bn == str(reference)].set_index("seed")[metric]
    common = a.index.intersection(b.index).sort_values()
    return (a.loc[common] - b.loc[common]).to_numpy(dtype=float)


def gradient_ratios(layers, epoch: int = 0):
    """Per model: ``grad_norm`` of hidden layer 1 over the classifier's at ``epoch``.

    Returns a frame with columns activation, batch_norm, seed, ratio. The classifier is
    layer ``depth + 1`` of the layers table."""
    at = layers[layers.epoch == epoch]
    keys = ["activation", "batch_norm", "seed"]
    first = at[at.layer == 1].set_index(keys).grad_norm
    last = at[at.layer == at.depth + 1].set_index(keys).grad_norm
    ratio = (first / last).rename("ratio")
    return ratio.reset_index()


def summarize(runs, layers):
    """One row per activation and setting: final accuracies (mean, sd, counts), the paired
    gain over no batch norm, and the gradient ratio at initialization (geometric mean)."""
    import pandas as pd

    ratios = gradient_ratios(layers)
    rows = []
    for (act, bn), group in runs.groupby(["activation", "batch_norm"], sort=False):
        ok = group[group.status == "ok"]
        acc, acc_sd, n_ok = mean_sd(ok.test_acc)
        gains = (paired_differences(runs, act, bn) if str(bn) != NONE
                 else np.array([]))
        gain, gain_sd, n_pairs = mean_sd(gains)
        r = ratios[(ratios.activation == act) & (ratios.batch_norm.astype(str) == str(bn))]
        rows.append({
            "activation": act,
            "batch_norm": str(bn),
            "n": len(group),
            "n_ok": n_ok,
            "n_diverged": int((group.status == "diverged").sum()),
            "test_acc_mean": acc,
            "test_acc_sd": acc_sd,
            "train_acc_mean": mean_sd(ok.train_acc)[0],
            "train_loss_mean": mean_sd(ok.train_loss)[0],
            "gain_mean": gain,
            "gain_sd": gain_sd,
            "n_pairs": n_pairs,
            "n_better": int((gains > 0).sum()),
            "grad_ratio_init": geometric_mean(r.ratio),
        })
    frame = pd.DataFrame(rows)
    return sort_frame(frame)


def sort_frame(frame, extra=()):
    """Rows in report order: the lecture's activations first (relu, sigmoid, tanh, then the
    registry's order, as the figures order them), no batch norm first."""
    from trainability.activations import ACTIVATIONS

    preferred = list(dict.fromkeys(("relu", "sigmoid", "tanh", *ACTIVATIONS)))
    names = sorted(set(frame.activation), key=lambda a: (
        preferred.index(a) if a in preferred else len(preferred), a))
    acts = {a: i for i, a in enumerate(names)}
    key = frame.activation.map(acts).astype(int).to_numpy()
    bn_rank = {b: i for i, b in enumerate(placement_order(frame.batch_norm))}
    key2 = frame.batch_norm.astype(str).map(bn_rank).to_numpy()
    columns = [frame[c].to_numpy() for c in reversed(extra)]
    order = np.lexsort((*columns, key2, key))
    return frame.iloc[order].reset_index(drop=True)


def layer_summary(layers, epochs):
    """Per activation, setting, epoch (of ``epochs``) and layer: mean and sd over seeds of
    the activation mean, activation std and gradient norm (hidden layers; the classifier
    has a gradient only)."""
    import pandas as pd

    at = layers[layers.epoch.isin(list(epochs))]
    stats = at.groupby(["activation", "batch_norm", "epoch", "layer"])[
        ["act_mean", "act_std", "grad_norm"]].agg(["mean", "std"])
    stats.columns = [f"{q}_{'sd' if s == 'std' else s}" for q, s in stats.columns]
    return pd.DataFrame(stats).reset_index()


# ---------------------------------------------------------------- tables


def load_study_tables(paths):
    """``(runs, history, layers)`` of the run files, each row labelled with its setting
    (``batch_norm``: ``none`` or the normalized hidden layers, e.g. ``3`` or ``1 2 3 4``)."""
    import pandas as pd

    from trainability.io import InputError
    from trainability.tables import load_tables

    runs, history, layers = [], [], []
    for path in paths:
        r, h, lay = load_tables([path], STUDY)
        bn = str(r.batch_norm.iloc[0])
        runs.append(r)
        history.append(h.assign(batch_norm=bn))
        layers.append(lay.assign(batch_norm=bn))
    if not runs:
        raise InputError("no run files given")
    runs, history, layers = (pd.concat(f, ignore_index=True) for f in (runs, history, layers))
    for column in ("dataset", "init", "width", "depth", "epochs", "optimizer", "lr"):
        if runs[column].nunique() > 1:
            values = ", ".join(map(str, sorted(runs[column].unique())))
            raise InputError(f"the run files mix {column} values ({values}); the study "
                             "compares settings of one network")
    dup = runs.duplicated(["activation", "batch_norm", "seed"])
    if dup.any():
        first = runs[dup].iloc[0]
        raise InputError(f"two run files hold {first.activation} / batch_norm "
                         f"{first.batch_norm} / seed {first.seed}")
    keys = ["activation", "batch_norm", "seed"]
    return (
        _front(runs, keys),
        _front(history, keys + ["epoch"]),
        _front(layers, keys + ["epoch", "layer"]),
    )


def _front(frame, keys):
    """``keys`` as the first columns, rows sorted by them (deterministic tables)."""
    rest = [c for c in frame.columns if c not in keys and c != "study"]
    frame = frame[["study", *keys, *rest]]
    frame = frame.assign(batch_norm=frame.batch_norm.astype(str))
    ranked = frame.assign(_bn=frame.batch_norm.map(placement_key))
    ranked = ranked.sort_values(["activation", "_bn", *keys[2:]], kind="stable")
    return ranked.drop(columns="_bn").reset_index(drop=True)


def read_tables(runs_path, history_path=None, layers_path=None):
    """The tables written by ``batchnorm-tables`` (``batch_norm`` read as text)."""
    from trainability.figures import read_table

    def read(path):
        if path is None:
            return None
        frame = read_table(path)
        if "batch_norm" not in frame:
            from trainability.io import InputError

            raise InputError(f"{path}: no batch_norm column (not a batchnorm-tables table)")
        return frame.assign(batch_norm=frame.batch_norm.astype(str))

    return read(runs_path), read(history_path), read(layers_path)


def metrics(summary, depth: int) -> dict:
    """Headline numbers for ``dvc exp show``: per activation and setting (``none``,
    ``after3``, ``every``), mean test accuracy and the paired gain over no batch norm."""
    out = {}
    for _, row in summary.iterrows():
        entry = {"test_acc": _round(row.test_acc_mean)}
        if row.batch_norm != NONE:
            entry["gain"] = _round(row.gain_mean)
        out.setdefault(row.activation, {})[placement_name(row.batch_norm, depth)] = entry
    return {STUDY: out}


def _round(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


# ---------------------------------------------------------------- figures


def _colors(placements: list[str]) -> dict[str, str]:
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    out, k = {}, 0
    for p in placements:
        if p == NONE:
            out[p] = "0.35"
        else:
            out[p] = palette[k % len(palette)]
            k += 1
    return out


def curves_figure(history, depth: int):
    """Rows: training loss (log scale), test accuracy; columns: activations; one line per
    setting (mean over seeds), band min to max over seeds."""
    from trainability.figures import ACC_LABEL, _ensure_span, _figure, _style, activation_order

    acts = activation_order(history.activation)
    placements = placement_order(history.batch_norm)
    colors = _colors(placements)
    n_seeds = history.groupby(["activation", "batch_norm"]).seed.nunique()
    with _style():
        fig = _figure(3.0 * len(acts) + 0.8, 5.8)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, squeeze=False))
        for j, act in enumerate(acts):
            rows = history[history.activation == act]
            for i, (column, label) in enumerate((
                ("train_loss", "training loss (BCE, nats, log scale)"),
                ("test_acc", ACC_LABEL.replace("accuracy", "test accuracy")),
            )):
                ax = axes[i, j]
                ref = math.log(2) if i == 0 else 0.5
                ax.axhline(ref, color="0.6", lw=0.8, ls=":",
                           label="ln 2" if i == 0 else "coin flip")
                for bn in placements:
                    sel = rows[rows.batch_norm == bn]
                    if sel.empty:
                        continue
                    stats = sel.groupby("epoch")[column].agg(["mean", "min", "max"])
                    ax.fill_between(stats.index, stats["min"], stats["max"], color=colors[bn],
                                    alpha=0.15, linewidth=0)
                    ax.plot(stats.index, stats["mean"], color=colors[bn], lw=1.5,
                            label=placement_label(bn, depth))
                if i == 0:
                    ax.set_yscale("log")
                else:
                    _ensure_span(ax, 0.2)
                    for key, marker in ((NONE, "X"), ("bn", "*")):
                        value = LECTURE.get(act, {}).get(key)
                        if value is not None:
                            ax.plot([rows.epoch.max()], [value], marker=marker, ms=9,
                                    color="black", ls="none", clip_on=False, zorder=5,
                                    label=f"lecture, {'no BN' if key == NONE else 'BN'} "
                                    "(train acc., 1 run)")
                if j == 0:
                    ax.set_ylabel(label)
            seeds = sorted(set(n_seeds[act].tolist()))
            axes[0, j].set_title(f"{act} ({'/'.join(map(str, seeds))} seeds)")
            axes[1, j].set_xlabel("epoch")
        handles, labels = {}, []
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in handles:
                    handles[lab] = h
                    labels.append(lab)
        fig.legend([handles[lab] for lab in labels], labels, loc="outside lower center",
                   ncol=min(len(labels), 4), fontsize="small")
        fig.suptitle("Training with and without batch normalization, per activation\n"
                     "line = mean over seeds, band = min to max over seeds")
    return fig


def final_figure(runs, depth: int):
    """Final test accuracy per activation and setting: one dot per seed, mean ± sd bar."""
    from trainability.figures import TEST_ACC_LABEL, _figure, _style, activation_order

    acts = activation_order(runs.activation)
    placements = placement_order(runs.batch_norm)
    colors = _colors(placements)
    width = 0.8 / len(placements)
    with _style():
        fig = _figure(1.5 * len(acts) * max(len(placements), 2) / 2 + 3.2, 4.4)
        ax = fig.subplots()
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        lo = 0.5
        for j, act in enumerate(acts):
            for k, bn in enumerate(placements):
                sel = runs[(runs.activation == act) & (runs.batch_norm == bn)]
                if sel.empty:
                    continue
                x0 = j + (k - (len(placements) - 1) / 2) * width
                ok = sel[sel.status == "ok"].sort_values("seed")
                spread = np.linspace(-0.25, 0.25, len(ok)) * width if len(ok) > 1 else [0]
                ax.scatter(x0 + np.asarray(spread), ok.test_acc, s=12, color=colors[bn],
                           alpha=0.7, linewidths=0,
                           label=placement_label(bn, depth) if j == 0 else None)
                mean, sd, n = mean_sd(ok.test_acc)
                if n:
                    ax.errorbar([x0], [mean], yerr=[0 if np.isnan(sd) else sd], fmt="_",
                                color="black", ms=14, capsize=3, lw=1.2, zorder=4)
                    lo = min(lo, float(ok.test_acc.min()))
                n_div = int((sel.status == "diverged").sum())
                if n_div:
                    ax.text(x0, 0.02, f"{n_div}\ndiv.", transform=ax.get_xaxis_transform(),
                            ha="center", fontsize=6.5)
            for key, marker in ((NONE, "X"), ("bn", "*")):
                value = LECTURE.get(act, {}).get(key)
                if value is not None:
                    k = 0 if key == NONE else min(1, len(placements) - 1)
                    x0 = j + (k - (len(placements) - 1) / 2) * width + 0.3 * width
                    ax.plot([x0], [value], marker=marker, ms=9, color="black", ls="none",
                            label=("lecture (training accuracy, one run): "
                                   + ("no BN" if key == NONE else "BN after layer 3")))
        ax.set_xticks(range(len(acts)), acts)
        ax.set_xlim(-0.6, len(acts) - 0.4)
        ax.set_ylim(max(0.0, lo - 0.05), 1.01)
        ax.set_xlabel("hidden activation")
        ax.set_ylabel(TEST_ACC_LABEL)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right center",
                   fontsize="small")
        ax.set_title("Final test accuracy with and without batch normalization\n"
                     "dots = seeds, black bar = mean ± 1 sd over seeds; dotted line = coin flip")
    return fig


def layers_figure(layers, activation: str, depth: int):
    """For one activation: rows activation mean, activation std, gradient norm (log scale);
    columns: settings; one line per layer (mean over seeds)."""
    import seaborn as sns

    from trainability.figures import _figure, _style

    rows = layers[layers.activation == activation]
    placements = placement_order(rows.batch_norm)
    n_hidden = int(rows.depth.max())
    colors = sns.color_palette("viridis", n_hidden)
    quantities = (
        ("act_mean", "activation mean\n(over points and units)", False),
        ("act_std", "activation std\n(over points and units)", False),
        ("grad_norm", "gradient norm ||dL/dW||\n(log scale)", True),
    )
    with _style():
        fig = _figure(3.1 * len(placements) + 1.6, 7.6)
        axes = np.asarray(fig.subplots(3, len(placements), sharex=True, sharey="row",
                                       squeeze=False))
        for j, bn in enumerate(placements):
            sel = rows[rows.batch_norm == bn]
            per = sel.groupby(["layer", "epoch"])[["act_mean", "act_std", "grad_norm"]].mean()
            normalized = parse_layers(bn)
            for i, (column, label, log) in enumerate(quantities):
                ax = axes[i, j]
                for layer in range(1, n_hidden + 2):
                    if layer > n_hidden and column != "grad_norm":
                        continue
                    if layer not in per.index.get_level_values("layer"):
                        continue
                    series = per.loc[layer][column]
                    is_classifier = layer == n_hidden + 1
                    name = "classifier" if is_classifier else f"layer {layer}"
                    if layer in normalized:
                        name += " (BN follows)"
                    ax.plot(series.index, series.to_numpy(), lw=1.4,
                            color="black" if is_classifier else colors[layer - 1],
                            ls="--" if is_classifier else "-", label=name)
                if log:
                    ax.set_yscale("log")
                if j == 0:
                    ax.set_ylabel(label)
                if i == 0:
                    ax.set_title(placement_label(bn, depth))
                if i == 2:
                    ax.set_xlabel("epoch (0 = initialization)")
            axes[2, j].legend(fontsize="x-small", loc="best")
        fig.suptitle(
            f"{activation}: each hidden layer's output and each weight matrix's gradient over "
            "training\nmean over seeds; statistics of the activation outputs before any batch "
            "normalization that follows them; gradients from one full-batch pass",
            fontsize="medium",
        )
    return fig


def figure_names(activations) -> list[str]:
    """The files ``make_figures`` writes (NumPy only: the workflow calls it while parsing)."""
    return [FIGURE_CURVES, FIGURE_FINAL] + [f"layers_{a}.png"
                                            for a in dict.fromkeys(activations)]


def make_figures(runs, history, layers, out_dir) -> list:
    """Write every figure of ``figure_names`` into ``out_dir``; return the paths."""
    from pathlib import Path

    from trainability.figures import activation_order, save_figure

    depth = int(runs.depth.iloc[0])
    out_dir = Path(out_dir)
    figures = {FIGURE_CURVES: lambda: curves_figure(history, depth),
               FIGURE_FINAL: lambda: final_figure(runs, depth)}
    for name in figure_names(activation_order(runs.activation))[2:]:
        act = name.removeprefix("layers_").removesuffix(".png")
        figures[name] = lambda act=act: layers_figure(layers, act, depth)
    written = []
    for name, make in figures.items():
        save_figure(make(), out_dir / name)
        written.append(out_dir / name)
    return written


# ---------------------------------------------------------------- claims and section


def _acc(row) -> str:
    """``0.988 ± 0.005 (n = 10)`` from a summary row; diverged models counted."""
    if row.n_ok == 0:
        return f"all {int(row.n_diverged)} diverged"
    text = f"{row.test_acc_mean:.3f}"
    if row.n_ok > 1:
        text += f" ± {row.test_acc_sd:.3f}"
    text += f" (n = {int(row.n_ok)}"
    return text + (f"; {int(row.n_diverged)} diverged)" if row.n_diverged else ")")


def _gain(row) -> str:
    if row.n_pairs == 0:
        return "no paired seeds"
    text = f"{row.gain_mean:+.3f}"
    if row.n_pairs > 1:
        text += f" ± {row.gain_sd:.3f}"
    return text + f", higher in {int(row.n_better)} of {int(row.n_pairs)} seeds"


def _row(summary, activation, bn):
    sel = summary[(summary.activation == activation) & (summary.batch_norm == str(bn))]
    return sel.iloc[0] if len(sel) else None




def claims(summary, depth: int) -> list:
    """The study's claims (``report.Claim``), each with its checks and rule."""
    settings = [b for b in placement_order(summary.batch_norm) if b != NONE]
    rescue = Claim(
        "bn-rescues-sigmoid",
        "Batch normalization lets the sigmoid network learn.",
        "with one batch-normalization layer between hidden layers 3 and 4, sigmoid rises "
        "from about 0.7 to about 0.93 training accuracy (one run).",
        f"one check per batch-norm setting: passes if the sigmoid network's mean test accuracy "
        f"with it is at least {LEARNS} (the lecture's 0.93 less 0.03) and at least {GAIN} "
        "above the same network without batch norm (mean paired gain over seeds).",
        "gain over no batch norm",
        signed=True,
    )
    base = _row(summary, "sigmoid", NONE)
    for bn in settings:
        row = _row(summary, "sigmoid", bn)
        if base is None or row is None:
            continue
        ok = passes(row.test_acc_mean, lambda v: v >= LEARNS) and passes(
            row.gain_mean, lambda v: v >= GAIN)
        rescue.checks.append(Check(
            placement_label(bn, depth),
            f"{_acc(row)} vs {_acc(base)} without; gain {_gain(row)}",
            row.gain_mean, ok))
    if not rescue.checks:
        rescue.note = "needs the sigmoid network with and without batch norm"

    harmless = Claim(
        "bn-harmless",
        "Batch normalization does not hurt the networks that already learn without it.",
        "not shown: the lecture adds batch norm to the sigmoid network only.",
        f"one check per other activation and batch-norm setting: passes if the mean test "
        f"accuracy with batch norm is at most {SLACK} below the same network's without it "
        "(mean paired gain over seeds >= "
        f"-{SLACK}).",
        "gain over no batch norm",
        signed=True,
    )
    others = [a for a in summary.activation.unique() if a != "sigmoid"]
    for act in others:
        base_a = _row(summary, act, NONE)
        for bn in settings:
            row = _row(summary, act, bn)
            if base_a is None or row is None:
                continue
            harmless.checks.append(Check(
                f"{act}, {placement_label(bn, depth)}",
                f"{_acc(row)} vs {_acc(base_a)} without; gain {_gain(row)}",
                row.gain_mean, passes(row.gain_mean, lambda v: v >= -SLACK)))
    if not harmless.checks:
        harmless.note = "needs an activation other than sigmoid with and without batch norm"

    gradient = Claim(
        "bn-gradient",
        "Batch normalization strengthens the gradient that reaches the first layer of the "
        "sigmoid network.",
        "the lecture names vanishing gradients as a cause and batch norm as a remedy, "
        "without measuring either.",
        f"one check per batch-norm setting: at initialization (epoch 0; the same initial "
        f"weights with and without batch norm), the ratio ||dL/dW1|| / ||dL/dW_classifier|| "
        f"of the sigmoid network (geometric mean over seeds) is at least {GRAD_FACTOR:g}x the "
        "ratio without batch norm.",
        "ratio with / ratio without",
    )
    for bn in settings:
        row = _row(summary, "sigmoid", bn)
        if base is None or row is None:
            continue
        factor = row.grad_ratio_init / base.grad_ratio_init
        gradient.checks.append(Check(
            placement_label(bn, depth),
            f"ratio {row.grad_ratio_init:.3g} with vs {base.grad_ratio_init:.3g} without: "
            f"{factor:.3g}x",
            factor, passes(factor, lambda v: v >= GRAD_FACTOR)))
    if not gradient.checks:
        gradient.note = "needs the sigmoid network with and without batch norm"
    return [rescue, harmless, gradient]


def render_section(runs, layers, figures_rel: str = "figures/batchnorm") -> str:
    """The report section as markdown (a pure function of the tables)."""
    from trainability.figures import activation_order

    summary = summarize(runs, layers)
    depth = int(runs.depth.iloc[0])
    width = int(runs.width.iloc[0])
    acts = activation_order(runs.activation)
    placements = placement_order(runs.batch_norm)
    n_seeds = runs.groupby(["activation", "batch_norm"]).seed.nunique()
    seeds_text = (str(n_seeds.iloc[0]) if n_seeds.nunique() == 1
                  else f"{n_seeds.min()} to {n_seeds.max()}")
    first = runs.iloc[0]
    found = claims(summary, depth)
    numbers = [f"B{i}" for i in range(1, len(found) + 1)]

    def fig(name, alt, text):
        return f"![{alt}]({figures_rel}/{name})\n\n*Figure ({name}): {text}*"

    out = [
        "## Batch normalization: why it rescues the sigmoid network",
        "",
        "*Written by `trainability batchnorm-section` from `tables/batchnorm_runs.csv` and "
        "`tables/batchnorm_layers.csv.gz`; every number is computed from them.*",
        "",
        "The grid shows that the sigmoid network of the running example barely learns. The "
        "lecture's remedy is to keep every layer's input well scaled, not just the network's "
        "input: a batch-normalization layer rescales a hidden layer's outputs to mean 0 and "
        "standard deviation 1 over each mini-batch (then applies a learned scale and shift). "
        "We insert it after the activation of hidden layer(s), as the lecture's model does, "
        "and measure what changes.",
        "",
        f"- **Networks**: the running example, 2 inputs -> {depth} hidden layers of {width} "
        f"units -> sigmoid classifier, `{first.init}` weights (std {first.init_scale}), "
        f"trained with {first.optimizer} (learning rate {first.lr}), batch size "
        f"{first.batch_size}, {first.epochs} epochs.",
        f"- **Settings**: {', '.join(placement_label(b, depth) for b in placements)}; "
        f"activations {', '.join(acts)}; {seeds_text} seeds per setting ({len(runs)} models).",
        "- **Pairing**: a seed draws the same initial weights and the same batch order in "
        "every setting, so each comparison is a paired difference per seed.",
        "- **Batch norm at test time**: the running averages of the batch statistics "
        "(momentum 0.99, eps 1e-3, the Keras defaults); in training, the batch statistics.",
        "- **Statistics**: mean final test accuracy over the seeds that did not diverge ± "
        "sample sd (ddof 1); gain = mean ± sd of the paired differences.",
        "",
        "### The claims at a glance",
        "",
        markdown_table(["#", "claim", "verdict", "evidence"],
               [[n, c.statement, f"**{c.verdict}**",
                 f"{c.headline} ({c.tally})" if c.checks else c.tally]
                for n, c in zip(numbers, found, strict=True)]),
        "",
        VERDICT_RULE,
        "",
        "### Accuracy with and without batch normalization",
        "",
        fig(FIGURE_CURVES, "training curves with and without batch norm",
            "training loss (top, log scale) and test accuracy (bottom) per epoch, one column "
            "per activation, one colour per setting; line = mean over seeds, band = min to max. "
            "Look for: the sigmoid column, where the grey curve (no batch norm) stays near the "
            "dotted ln 2 / coin-flip lines while the batch-norm curves fall and climb like "
            "relu's and tanh's; the black markers are the lecture's single-run values."),
        "",
        fig(FIGURE_FINAL, "final test accuracy per seed",
            "final test accuracy of every seed (dots) and mean ± 1 sd (black bar), per "
            "activation and setting. Look for: how far apart the sigmoid groups are compared "
            "with their spread, and whether batch norm moves relu and tanh at all."),
        "",
        markdown_table(["activation", "setting", "final test accuracy", "final train loss (nats)",
                "gain over no batch norm (paired)"],
               [[r.activation, placement_label(r.batch_norm, depth), _acc(r),
                 "n/a" if not np.isfinite(r.train_loss_mean) else f"{r.train_loss_mean:.3f}",
                 "reference" if r.batch_norm == NONE else _gain(r)]
                for r in summary.itertuples()]),
        "",
        lecture_comparison(runs, depth),
        "",
        render_claim(numbers[0], found[0]),
        "",
        render_claim(numbers[1], found[1]),
        "",
        "### Why: what each layer passes on",
        "",
        "Batch norm changes two things at once: the scale and centre of the values the next "
        "layer receives (forward), and the gradient flowing back through the normalized layer "
        "(backward, multiplied by scale / batch std). The recorded statistics separate them.",
        "",
    ]
    for act in acts:
        out += [
            fig(f"layers_{act}.png", f"per-layer statistics, {act}",
                f"{act} network: each hidden layer's activation mean and std (over training "
                "points and units, before a batch norm that follows the layer) and each weight "
                "matrix's gradient norm (log scale), per epoch, one column per setting; mean "
                "over seeds. Look for: the spread between the first layer's gradient and the "
                "classifier's (dashed) at epoch 0, and how it changes with batch norm."),
            "",
        ]
    out += [
        layer_table(layers, depth),
        "",
        render_claim(numbers[2], found[2]),
        "",
        interpretation(summary, layers, depth),
        "",
        "The main report's batch-norm claim reads the grid's runs, which are trained with one "
        "batch-norm setting only, so it cannot compare; this section is the measurement.",
    ]
    return "\n".join(out)


def layer_table(layers, depth: int) -> str:
    """Sigmoid (or the first activation) per layer at initialization and at the end."""
    act = "sigmoid" if "sigmoid" in set(layers.activation) else sorted(layers.activation)[0]
    last = int(layers.epoch.max())
    stats = layer_summary(layers[layers.activation == act], [0, last])
    rows = []
    for bn in placement_order(stats.batch_norm):
        for layer in sorted(stats.layer.unique()):
            cells = [placement_label(bn, depth) if layer == 1 else "",
                     "classifier" if layer == depth + 1 else str(layer)]
            for epoch in (0, last):
                s = stats[(stats.batch_norm == bn) & (stats.layer == layer)
                          & (stats.epoch == epoch)]
                if s.empty:
                    cells += ["", ""]
                    continue
                s = s.iloc[0]
                act_text = ("" if not np.isfinite(s.act_mean_mean)
                            else f"{s.act_mean_mean:.2f} / {s.act_std_mean:.2f}")
                cells += [act_text, f"{s.grad_norm_mean:.2g}"]
            rows.append(cells)
    return (f"The {act} network layer by layer (means over seeds; activation mean / std over "
            "points and units; gradient norm ||dL/dW|| of the layer's weights):\n\n"
            + markdown_table(["setting", "layer", "epoch 0: act. mean / std", "epoch 0: grad norm",
                      f"epoch {last}: act. mean / std", f"epoch {last}: grad norm"], rows))


def interpretation(summary, layers, depth: int) -> str:
    """A paragraph reading the numbers of the sigmoid network (computed, not hand-written)."""
    base = _row(summary, "sigmoid", NONE)
    if base is None:
        return ""
    stats = layer_summary(layers[layers.activation == "sigmoid"], [0])
    none0 = stats[stats.batch_norm == NONE]
    hidden = none0[none0.layer <= depth]
    if hidden.empty:
        return ""
    lines = [
        f"Reading the sigmoid numbers: without batch norm, the hidden outputs start centred "
        f"near {hidden.act_mean_mean.mean():.2f} (a sigmoid's output is positive) with a "
        f"std of {hidden.act_std_mean.min():.2f} to {hidden.act_std_mean.max():.2f}: the "
        "forward signal does not vanish with depth. The backward signal does: the first "
        f"layer's gradient is {1 / base.grad_ratio_init:.3g}x smaller than the classifier's "
        "at initialization (geometric mean over seeds), as expected when every sigmoid layer "
        "multiplies the gradient by its derivative (at most 0.25).",
    ]
    for bn in placement_order(summary.batch_norm):
        row = _row(summary, "sigmoid", bn)
        if bn == NONE or row is None:
            continue
        lines.append(
            f"With {placement_label(bn, depth)}, that factor is "
            f"{1 / row.grad_ratio_init:.3g}x."
        )
    lines.append(
        "Batch norm divides a layer's outputs by their batch std, so the gradient passed "
        "back through it is multiplied by scale / std, large for a sigmoid layer whose outputs "
        "vary little; and the next layer receives centred, unit-scale inputs instead of "
        "values bunched around 0.5."
    )
    return " ".join(lines)


def lecture_comparison(runs, depth: int) -> str:
    """Our sigmoid numbers next to the lecture's single runs, on its measure (training
    accuracy at the last epoch): mean and range over seeds."""
    ok = runs[(runs.activation == "sigmoid") & (runs.status == "ok")]
    if ok.empty:
        return ""
    lecture_bn = "3"
    parts, outside = [], []
    for bn, value in ((NONE, LECTURE["sigmoid"][NONE]), (lecture_bn, LECTURE["sigmoid"]["bn"])):
        sel = ok[ok.batch_norm == bn].train_acc
        if sel.empty:
            continue
        inside = sel.min() <= value <= sel.max()
        if not inside:
            outside.append(placement_label(bn, depth))
        parts.append(
            f"{placement_label(bn, depth)}: {sel.mean():.3f} (seeds from {sel.min():.3f} to "
            f"{sel.max():.3f}) against the lecture's ~{value:.2f}, "
            + ("inside" if inside else "outside") + " our range over seeds")
    if not parts:
        return ""
    text = ("Compared with the lecture on its own measure, the final *training* accuracy of "
            "the sigmoid network: " + "; ".join(parts) + ". The lecture shows one run per "
            "setting, and a single run can land anywhere in such a range")
    if outside:
        text += (f"; for {' and '.join(outside)} the lecture's value lies outside ours, so "
                 "seed luck alone does not explain the difference (the lecture publishes no "
                 "code; its batch-norm or training details may differ from ours)")
    return text + "."


# ---------------------------------------------------------------- commands


def add_commands(sub) -> None:
    p = sub.add_parser(
        "batchnorm-tables",
        help="batch-norm study: tidy tables from its run files",
        description="Read run files of `trainability train` (one per activation and "
        "batch-norm setting) and write the study's tables (CSV, atomically).",
    )
    p.add_argument("runs", nargs="+", help="run .npz files")
    p.add_argument("--runs-out", required=True, help="output: one row per model (.csv)")
    p.add_argument("--history-out", required=True, help="output: per model and epoch (.csv)")
    p.add_argument("--layers-out", required=True,
                   help="output: per model, epoch and layer (.csv or .csv.gz)")
    p.add_argument("--summary-out", required=True, help="output: per activation and setting")
    p.add_argument("--metrics-out", help="output: headline numbers (.json)")
    p.add_argument("--manifest", help="output: the run files read, one per line")
    p.set_defaults(func=_run_tables)

    p = sub.add_parser(
        "batchnorm-figures",
        help="batch-norm study: figures (PNG) from its tables",
        description="Write curves.png, final.png and layers_{activation}.png into --out-dir.",
    )
    p.add_argument("--runs", required=True, help="runs table of `batchnorm-tables`")
    p.add_argument("--history", required=True, help="history table of `batchnorm-tables`")
    p.add_argument("--layers", required=True, help="layers table of `batchnorm-tables`")
    p.add_argument("--out-dir", required=True, help="output folder")
    p.set_defaults(func=_run_figures)

    p = sub.add_parser(
        "batchnorm-section",
        help="batch-norm study: its markdown section of the report",
        description="Write the section (atomically): claims, rules, verdicts and figures.",
    )
    p.add_argument("--runs", required=True, help="runs table of `batchnorm-tables`")
    p.add_argument("--layers", required=True, help="layers table of `batchnorm-tables`")
    p.add_argument("--figures-rel", default="figures/batchnorm",
                   help="the figures folder relative to the report")
    p.add_argument("--out", required=True, help="output .md")
    p.set_defaults(func=_run_section)


def _run_tables(args) -> None:
    from trainability.io import write_json, write_text
    from trainability.tables import write_csv

    runs, history, layers = load_study_tables(args.runs)
    summary = summarize(runs, layers)
    write_csv(args.runs_out, runs)
    write_csv(args.history_out, history)
    write_csv(args.layers_out, layers)
    write_csv(args.summary_out, summary)
    if args.metrics_out:
        write_json(args.metrics_out, metrics(summary, int(runs.depth.iloc[0])))
    if args.manifest:
        write_text(args.manifest, "".join(f"{p}\n" for p in args.runs))
    print(f"batchnorm: {len(runs)} models from {len(args.runs)} run files")


def _run_figures(args) -> None:
    runs, history, layers = read_tables(args.runs, args.history, args.layers)
    written = make_figures(runs, history, layers, args.out_dir)
    print(f"wrote {len(written)} figures into {args.out_dir}")


def _run_section(args) -> None:
    from trainability.io import write_text

    runs, _, layers = read_tables(args.runs, None, args.layers)
    write_text(args.out, render_section(runs, layers, args.figures_rel.rstrip("/")) + "\n")
    print(f"wrote {args.out}")
