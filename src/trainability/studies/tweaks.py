"""Study 4, improving trainability: which optimizer, learning rate, schedule or L2 penalty
rescues the sigmoid network.

Two sweeps over the running example (random-normal weights), per hidden activation:

- optimizer x learning rate: every optimizer of ``tweaks.optimizers`` at every rate of
  ``tweaks.lrs``, with the ``train`` section's schedule, warm-up and L2 (variant ``base``);
- variant x learning rate: ``tweaks.variant_optimizer`` with each named variant of
  ``tweaks.variants`` (a learning-rate schedule, a linear warm-up, an L2 penalty), compared
  at every rate with the same optimizer's ``base`` runs.

A seed draws the same initial weights and batch order in every configuration, so the
configurations differ only in how the weights are updated.

Commands (``trainability <command> --help``): ``tweaks-tables`` (tidy tables from the run
files; a run file's variant is the name of its folder), ``tweaks-figures``
(``lr_sweep.png``, ``best_curves.png``) and ``tweaks-section`` (the report's section).

Statistics (pure functions, tested on cases with known answers): a configuration's number
is the mean final test accuracy over its seeds that did not diverge ± the sample sd
(ddof 1); the *best* learning rate of an optimizer or variant is the one with the highest
mean (ties: the smaller rate); the configuration that *trains every activation best* is
the one whose lowest mean over the activations is highest.

The "workflow helpers" (file names, ``trainability train`` arguments) are what
``src/workflow/rules/tweaks.smk`` calls while Snakemake parses it. Only NumPy is imported
here; pandas and matplotlib are imported by the commands.
"""

from __future__ import annotations

import math
from pathlib import Path

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

STUDY = "tweaks"
BASE = "base"  # the variant with the train section's schedule, warm-up and L2
LEARNED = 0.95  # "learns the data": mean test accuracy >= 0.95 (as in the main report)
FIGURE_SWEEP, FIGURE_CURVES = "lr_sweep.png", "best_curves.png"
FIGURE_NAMES = (FIGURE_SWEEP, FIGURE_CURVES)
CATEGORY = "Improving trainability"
OPTIMIZER_ORDER = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
CONFIG = ["optimizer", "variant", "lr"]


# ---------------------------------------------------------------- names


def lr_text(lr) -> str:
    """The learning rate as it appears in file names: ``repr`` of the float (exact)."""
    return repr(float(lr))


def config_label(optimizer: str, variant: str, lr) -> str:
    text = optimizer if variant == BASE else f"{optimizer} + {variant}"
    return f"{text}, lr {float(lr):g}"


def optimizer_order(names) -> list[str]:
    rank = {n: i for i, n in enumerate(OPTIMIZER_ORDER)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def variant_order(names) -> list[str]:
    return sorted(set(names), key=lambda n: (n != BASE, n))


# ---------------------------------------------------------------- workflow helpers
# Called by src/workflow/rules/tweaks.smk while Snakemake parses it (pure functions of the
# params; the rules bind ``config`` with functools.partial).


def variant_settings(config, variant: str) -> dict:
    """Schedule, warm-up and L2 of a variant; ``base`` is the train section's."""
    if variant == BASE:
        t = config["train"]
        return {k: t[k] for k in ("schedule", "warmup_epochs", "l2")}
    return config["tweaks"]["variants"][variant]


def configurations(config) -> list[tuple[str, str]]:
    """``(optimizer, variant)`` pairs: every optimizer with the base variant, and the
    variant optimizer with its base (the variants' reference) and every variant."""
    cfg = config["tweaks"]
    vo = cfg["variant_optimizer"]
    pairs = [(o, BASE) for o in cfg["optimizers"]] + [(vo, BASE)]
    pairs += [(vo, v) for v in cfg["variants"]]
    return list(dict.fromkeys(pairs))


def run_files(config, run_tag) -> list[str]:
    """Every run file: activation x configuration x learning rate. ``run_tag(settings)``
    names a file by its variant's settings (and everything else the run depends on)."""
    cfg = config["tweaks"]
    tags = {v: run_tag(variant_settings(config, v)) for _, v in configurations(config)}
    return [
        f"results/runs/tweaks/{a}/{o}/{v}/lr{lr_text(lr)}-{tags[v]}.npz"
        for a in cfg["activations"] for o, v in configurations(config) for lr in cfg["lrs"]
    ]


def train_args(config, wildcards) -> list:
    """Arguments of ``trainability train`` for one run file (optimizer, variant and
    learning rate are wildcards); losses and accuracies only (no diagnostics)."""
    m, t, cfg = config["model"], config["train"], config["tweaks"]
    v = variant_settings(config, wildcards.variant)
    args = [
        "--init", cfg["init"], "--depth", m["depth"], "--width", m["width"],
        "--init-scale", m["init_scale"], "--optimizer", wildcards.optimizer,
        "--lr", float(wildcards.lr), "--momentum", t["momentum"], "--l2", v["l2"],
        "--schedule", v["schedule"], "--warmup-epochs", v["warmup_epochs"],
        "--batch-size", t["batch_size"], "--epochs", t["epochs"],
        "--seeds", *range(cfg["seeds"]), "--no-diagnostics",
    ]
    return args + (["--batch-norm", *m["batch_norm"]] if m["batch_norm"] else [])


def lecture_args(config, wildcards) -> list:
    """The lecture's setting (the train section's optimizer and rate) and the variant
    optimizer, for the figures and the section."""
    t = config["train"]
    return ["--lecture-optimizer", t["optimizer"], "--lecture-lr", t["lr"],
            "--variant-optimizer", config["tweaks"]["variant_optimizer"]]


def caption(figure) -> str:
    """The report caption of a figure, relative to the rules folder."""
    return f"../report/tweaks_{Path(str(figure)).stem}.rst"






# ---------------------------------------------------------------- statistics




def summarize(runs):
    """One row per activation x optimizer x variant x learning rate: final test accuracy
    (mean, sd over the seeds that did not diverge), model counts, the share of seeds that
    learned (test accuracy >= ``LEARNED``) and the mean final training loss."""
    import pandas as pd

    rows = []
    keys = ["activation", *CONFIG]
    for key, group in runs.groupby(keys, sort=True):
        ok = group[group.status == "ok"]
        acc, sd, n_ok = mean_sd(ok.test_acc)
        first = group.iloc[0]
        rows.append({
            **dict(zip(keys, key, strict=True)),
            "schedule": first.schedule,
            "warmup_epochs": int(first.warmup_epochs),
            "l2": float(first.l2),
            "n": len(group),
            "n_ok": n_ok,
            "n_diverged": int((group.status == "diverged").sum()),
            "test_acc_mean": acc,
            "test_acc_sd": sd,
            "learned_share": float((ok.test_acc >= LEARNED).sum() / len(group)),
            "train_loss_mean": mean_sd(ok.train_loss)[0],
        })
    return pd.DataFrame(rows)


def best_lr(summary, activation: str, optimizer: str, variant: str = BASE):
    """The row of the learning rate with the highest mean test accuracy (ties: the smaller
    rate), or None when no rate has a finite mean."""
    sel = summary[(summary.activation == activation) & (summary.optimizer == optimizer)
                  & (summary.variant == variant) & np.isfinite(summary.test_acc_mean)]
    if sel.empty:
        return None
    sel = sel.sort_values("lr", kind="stable")
    return sel.loc[sel.test_acc_mean.idxmax()]


def worst_activation(summary):
    """Per configuration (optimizer, variant, lr) that every activation of ``summary`` ran:
    the lowest mean test accuracy over the activations (a diverged activation counts as 0),
    best configuration first (ties: the order optimizer, variant, lr)."""
    n_acts = summary.activation.nunique()
    acc = summary.assign(acc=summary.test_acc_mean.fillna(0.0))
    grouped = acc.groupby(CONFIG)
    worst = grouped.acc.min().rename("worst").to_frame()
    worst["n_activations"] = grouped.activation.nunique()
    worst = worst[worst.n_activations == n_acts].reset_index()
    worst = worst.assign(_opt=worst.optimizer.map(
        {o: i for i, o in enumerate(optimizer_order(worst.optimizer))}),
        _var=worst.variant.map({v: i for i, v in enumerate(variant_order(worst.variant))}))
    worst = worst.sort_values(["_opt", "_var", "lr"], kind="stable")
    worst = worst.sort_values("worst", ascending=False, kind="stable")
    return worst.drop(columns=["_opt", "_var"]).reset_index(drop=True)


# ---------------------------------------------------------------- tables


def load_study_tables(paths):
    """``(runs, history)`` of the run files, labelled with their variant (folder name) and
    warm-up epochs, sorted by activation, optimizer, variant, learning rate and seed."""
    import pandas as pd

    from trainability.io import InputError, load_run
    from trainability.tables import load_tables

    runs, history = [], []
    for path in paths:
        meta, _, _ = load_run(path)
        r, h, _ = load_tables([path], STUDY)
        label = {"variant": Path(path).parent.name, "lr": float(meta["lr"])}
        r = r.assign(**label, warmup_epochs=int(meta.get("warmup_epochs", 0)),
                     momentum=float(meta.get("momentum", math.nan)))
        runs.append(r)
        history.append(h.assign(optimizer=meta["optimizer"], **label))
    if not runs:
        raise InputError("no run files given")
    runs, history = pd.concat(runs, ignore_index=True), pd.concat(history, ignore_index=True)
    for column in ("dataset", "init", "width", "depth", "epochs", "batch_norm"):
        if runs[column].nunique() > 1:
            values = ", ".join(map(str, sorted(runs[column].astype(str).unique())))
            raise InputError(f"the run files mix {column} values ({values}); the study "
                             "compares the training of one network")
    keys = ["activation", *CONFIG, "seed"]
    dup = runs.duplicated(keys)
    if dup.any():
        d = runs[dup].iloc[0]
        raise InputError(f"two run files hold {d.activation} / {d.optimizer} / {d.variant} / "
                         f"lr {d.lr} / seed {d.seed}")
    clash = runs.groupby(["variant", "optimizer"])[["schedule", "warmup_epochs", "l2"]].nunique()
    if (clash > 1).any(axis=None):
        variant = clash[(clash > 1).any(axis=1)].index[0]
        raise InputError(f"variant {variant[0]!r} ({variant[1]}) has run files with different "
                         "schedule, warm-up or L2 settings")
    return _front(runs, keys), _front(history, keys + ["epoch"])


def _front(frame, keys):
    rest = [c for c in frame.columns if c not in keys and c != "study"]
    frame = frame[["study", *keys, *rest]]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def read_tables(runs_path, history_path=None):
    from trainability.figures import read_table

    return read_table(runs_path), None if history_path is None else read_table(history_path)


def metrics(summary) -> dict:
    """Headline numbers for ``dvc exp show``: per activation, the best configuration and its
    mean test accuracy."""
    out = {}
    for act, rows in summary.groupby("activation"):
        rows = rows[np.isfinite(rows.test_acc_mean)]
        if rows.empty:
            continue
        best = rows.loc[rows.test_acc_mean.idxmax()]
        out[act] = {"best": config_label(best.optimizer, best.variant, best.lr),
                    "best_test_acc": round(float(best.test_acc_mean), 6)}
    return {STUDY: out}


# ---------------------------------------------------------------- figures


def _palette(names) -> dict:
    """Optimizers: the first colours of seaborn's colourblind palette."""
    import seaborn as sns

    colors = [c for i, c in enumerate(sns.color_palette("colorblind", 10)) if i != 7]
    return {n: colors[i % len(colors)] for i, n in enumerate(names)}


def _variant_palette(names) -> dict:
    """Variants: saturated colours unlike the optimizers' (red, purple, orange, ...)."""
    import seaborn as sns

    set1 = sns.color_palette("Set1", 9)
    colors = [set1[i] for i in (0, 3, 4, 6, 7, 1, 2)]
    return {n: colors[i % len(colors)] for i, n in enumerate(names)}


def _sweep(ax, summary, activation, optimizer, variant, color, label, offset):
    sel = summary[(summary.activation == activation) & (summary.optimizer == optimizer)
                  & (summary.variant == variant)].sort_values("lr")
    if sel.empty:
        return
    x = sel.lr.to_numpy(float) * offset
    ax.errorbar(x, sel.test_acc_mean, yerr=sel.test_acc_sd.fillna(0), color=color, marker="o",
                ms=3.5, lw=1.3, capsize=2, label=label)
    for xi, row in zip(x, sel.itertuples(), strict=True):
        if row.n_diverged:
            ax.annotate(f"{row.n_diverged}/{row.n}\ndiv.", (xi, 0.0),
                        xycoords=("data", "axes fraction"), ha="center", va="bottom",
                        fontsize=6, color=color)


def sweep_figure(summary, lecture_optimizer: str, lecture_lr: float, variant_optimizer: str):
    """Final test accuracy vs learning rate (log axis). Top row: one line per optimizer;
    bottom row: ``variant_optimizer`` with each variant; one column per activation."""
    from trainability.figures import TEST_ACC_LABEL, _figure, _style, activation_order

    acts = activation_order(summary.activation)
    base = summary[summary.variant == BASE]
    optimizers = optimizer_order(base.optimizer)
    variants = variant_order(summary[summary.optimizer == variant_optimizer].variant)
    rows = [("optimizer", optimizers), ("variant", variants)] if len(variants) > 1 else [
        ("optimizer", optimizers)]
    colors_o = _palette(optimizers)
    # the base variant keeps its optimizer's colour; the variants take the next colours
    colors_v = {BASE: colors_o.get(variant_optimizer, "0.3"),
                **_variant_palette([v for v in variants if v != BASE])}
    lrs = sorted(summary.lr.unique())
    with _style():
        fig = _figure(3.0 * len(acts) + 2.4, 3.0 * len(rows) + 1.0)
        axes = np.asarray(fig.subplots(len(rows), len(acts), sharex=True, sharey=True,
                                       squeeze=False))
        for j, act in enumerate(acts):
            for i, (kind, names) in enumerate(rows):
                ax = axes[i, j]
                ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
                ax.axhline(LEARNED, color="0.6", lw=0.8, ls="--")
                spread = np.geomspace(0.88, 1 / 0.88, len(names)) if len(names) > 1 else [1.0]
                for name, offset in zip(names, spread, strict=True):
                    if kind == "optimizer":
                        _sweep(ax, summary, act, name, BASE, colors_o[name], name, offset)
                    else:
                        label = (f"{variant_optimizer} (base)" if name == BASE
                                 else f"+ {name}")
                        _sweep(ax, summary, act, variant_optimizer, name, colors_v[name],
                               label, offset)
                lecture = summary[(summary.activation == act) & (summary.variant == BASE)
                                  & (summary.optimizer == lecture_optimizer)
                                  & np.isclose(summary.lr, lecture_lr)]
                if len(lecture) and (kind == "optimizer" or variant_optimizer
                                     == lecture_optimizer):
                    ax.plot(lecture.lr, lecture.test_acc_mean, "o", ms=11, mfc="none",
                            mec="black", mew=1.2, zorder=5, label="the lecture's setting")
                if i == 0:
                    ax.set_title(act)
                if i == len(rows) - 1:
                    ax.set_xlabel("learning rate (log scale)")
            axes[0, j].set_xscale("log")
        axes[0, 0].set_xticks(lrs, [f"{lr:g}" for lr in lrs])
        axes[0, 0].minorticks_off()
        axes[0, 0].set_ylim(0.3, 1.04)
        for i, (kind, _) in enumerate(rows):
            axes[i, 0].set_ylabel(TEST_ACC_LABEL)
            handles, labels = axes[i, 0].get_legend_handles_labels()
            title = "optimizer" if kind == "optimizer" else f"{variant_optimizer} with"
            axes[i, -1].legend(handles, labels, title=title, fontsize="x-small",
                               title_fontsize="small", loc="center left",
                               bbox_to_anchor=(1.02, 0.5))
        fig.suptitle(
            "Final test accuracy against the learning rate"
            + (" (top: optimizers; bottom: schedules and L2)" if len(rows) > 1 else "")
            + "\nmean ± 1 sd over seeds; dashed line = 'learned' (0.95), dotted = coin flip; "
            "points of one rate are spread sideways to stay readable")
    return fig


def best_configs(summary, activation, lecture_optimizer, lecture_lr, variant_optimizer):
    """``[(label, optimizer, variant, lr, style)]``: the lecture's setting, each optimizer's
    best learning rate and the best variant of ``variant_optimizer``."""
    out = []
    lecture = summary[(summary.activation == activation) & (summary.variant == BASE)
                      & (summary.optimizer == lecture_optimizer)
                      & np.isclose(summary.lr, lecture_lr)]
    if len(lecture):
        out.append((f"the lecture: {config_label(lecture_optimizer, BASE, lecture_lr)}",
                    lecture_optimizer, BASE, float(lecture_lr), "lecture"))
    for opt in optimizer_order(summary[summary.variant == BASE].optimizer):
        row = best_lr(summary, activation, opt)
        if row is not None:
            out.append((f"best {opt}: lr {row.lr:g}", opt, BASE, float(row.lr), "optimizer"))
    best_variant = None
    for variant in variant_order(summary.variant):
        if variant == BASE:
            continue
        row = best_lr(summary, activation, variant_optimizer, variant)
        if row is not None and (best_variant is None
                                or row.test_acc_mean > best_variant.test_acc_mean):
            best_variant = row
    if best_variant is not None:
        v = best_variant
        out.append((f"best variant: {config_label(variant_optimizer, v.variant, v.lr)}",
                    variant_optimizer, v.variant, float(v.lr), "variant"))
    return out


def curves_figure(summary, history, lecture_optimizer, lecture_lr, variant_optimizer):
    """Training loss (log scale) and test accuracy per epoch of the lecture's setting, each
    optimizer at its best learning rate and the best variant; one column per activation."""
    from trainability.figures import ACC_LABEL, _figure, _style, activation_order

    acts = activation_order(summary.activation)
    colors = _palette(optimizer_order(summary.optimizer))
    with _style():
        fig = _figure(3.3 * len(acts) + 0.6, 6.2)
        axes = np.asarray(fig.subplots(2, len(acts), sharex=True, squeeze=False))
        for j, act in enumerate(acts):
            for label, opt, variant, lr, style in best_configs(
                    summary, act, lecture_optimizer, lecture_lr, variant_optimizer):
                sel = history[(history.activation == act) & (history.optimizer == opt)
                              & (history.variant == variant) & np.isclose(history.lr, lr)]
                per = sel.groupby("epoch")[["train_loss", "test_acc"]].mean()
                color = "black" if style == "lecture" else colors.get(opt, "0.3")
                ls = {"lecture": "-", "optimizer": "-", "variant": "--"}[style]
                lw = 2.0 if style == "lecture" else 1.3
                for i, column in enumerate(("train_loss", "test_acc")):
                    axes[i, j].plot(per.index, per[column], color=color, ls=ls, lw=lw,
                                    label=label)
            axes[0, j].axhline(math.log(2), color="0.6", lw=0.8, ls=":")
            axes[1, j].axhline(0.5, color="0.6", lw=0.8, ls=":")
            axes[0, j].set_yscale("log")
            axes[0, j].set_title(act)
            axes[1, j].set_xlabel("epoch")
            axes[1, j].set_ylim(0.35, 1.02)
            axes[1, j].legend(fontsize="x-small", loc="upper center",
                              bbox_to_anchor=(0.5, -0.22), frameon=False)
        axes[0, 0].set_ylabel("training loss (BCE, nats, log scale)")
        axes[1, 0].set_ylabel(ACC_LABEL.replace("accuracy", "test accuracy"))
        fig.suptitle(
            "How the rescued networks train: the lecture's setting against each optimizer at "
            "its best learning rate\nand the best schedule/L2 variant; mean over seeds; "
            "dotted lines: ln 2 and coin flip")
    return fig


def make_figures(runs, history, out_dir, lecture_optimizer, lecture_lr, variant_optimizer):
    from trainability.figures import save_figure

    summary = summarize(runs)
    out_dir = Path(out_dir)
    figures = {
        FIGURE_SWEEP: lambda: sweep_figure(summary, lecture_optimizer, lecture_lr,
                                           variant_optimizer),
        FIGURE_CURVES: lambda: curves_figure(summary, history, lecture_optimizer, lecture_lr,
                                             variant_optimizer),
    }
    written = []
    for name, make in figures.items():
        save_figure(make(), out_dir / name)
        written.append(out_dir / name)
    return written


# ---------------------------------------------------------------- claims and section


def _acc(row) -> str:
    if row is None:
        return "not run"
    if row.n_ok == 0:
        return f"all {int(row.n_diverged)} diverged"
    text = f"{row.test_acc_mean:.3f}"
    if row.n_ok > 1:
        text += f" ± {row.test_acc_sd:.3f}"
    text += f" (n = {int(row.n_ok)}"
    return text + (f"; {int(row.n_diverged)} diverged)" if row.n_diverged else ")")


def _cell(summary, activation, optimizer, variant, lr):
    sel = summary[(summary.activation == activation) & (summary.optimizer == optimizer)
                  & (summary.variant == variant) & np.isclose(summary.lr, lr)]
    return sel.iloc[0] if len(sel) else None




def claims(summary, lecture_optimizer: str, lecture_lr: float, variant_optimizer: str,
           target: str = "sigmoid") -> list:
    """The study's claims (``report.Claim``)."""
    lrs = sorted(summary.lr.unique())
    lr_range = f"{min(lrs):g} to {max(lrs):g}" if lrs else "none"
    optimizer = Claim(
        "tweaks-optimizer",
        f"Every optimizer rescues the {target} network at a suitable learning rate.",
        "it defers the remedies to a follow-up on improving trainability and shows no "
        f"numbers for them; its own runs all use {lecture_optimizer} at learning rate "
        f"{float(lecture_lr):g}.",
        f"one check per optimizer: passes if the {target} network's mean test accuracy at the "
        f"optimizer's best learning rate (of {lr_range}) is at least {LEARNED}.",
        "mean test accuracy at the best rate",
    )
    for opt in optimizer_order(summary[(summary.variant == BASE)
                                       & (summary.activation == target)].optimizer):
        row = best_lr(summary, target, opt)
        if row is None:
            optimizer.checks.append(Check(opt, "every seed diverged at every rate", math.nan,
                                          False))
            continue
        learned = round(row.learned_share * row.n)
        optimizer.checks.append(Check(
            opt, f"best lr {row.lr:g}: {_acc(row)}; {learned} of {int(row.n)} seeds reach "
            f"{LEARNED}", row.test_acc_mean,
            passes(row.test_acc_mean, lambda v: v >= LEARNED)))
    if not optimizer.checks:
        optimizer.note = f"no {target} network in the sweep"

    variants = [v for v in variant_order(summary.variant) if v != BASE]
    lecture_lr_text = f"{float(lecture_lr):g}"
    tweak = Claim(
        "tweaks-variant",
        f"A learning-rate schedule, warm-up or L2 penalty rescues the {target} network at "
        f"the lecture's learning rate ({lecture_lr_text}).",
        "not measured: the lecture's runs use a constant learning rate and no penalty.",
        f"one check per variant of {variant_optimizer}: passes if the {target} network's mean "
        f"test accuracy with it at learning rate {lecture_lr_text} is at least {LEARNED}.",
        "mean test accuracy",
    )
    base = _cell(summary, target, variant_optimizer, BASE, lecture_lr)
    for variant in variants:
        row = _cell(summary, target, variant_optimizer, variant, lecture_lr)
        if row is None:
            continue
        tweak.checks.append(Check(
            variant, f"{_acc(row)}; without it {_acc(base)}", row.test_acc_mean,
            passes(row.test_acc_mean, lambda v: v >= LEARNED)))
    if not tweak.checks:
        tweak.note = (f"no variant of {variant_optimizer} at learning rate {lecture_lr_text} "
                      f"for the {target} network" if variants else "no variants configured")

    acts = sorted(summary.activation.unique())
    every = Claim(
        "tweaks-one-setting",
        f"One setting trains every activation ({', '.join(acts)}).",
        f"not shown: the lecture trains every activation with {lecture_optimizer} at "
        f"learning rate {float(lecture_lr):g}, where sigmoid fails.",
        f"one check: the configuration (optimizer, variant, learning rate) whose lowest mean "
        f"test accuracy over the activations is highest passes if that lowest mean is at "
        f"least {LEARNED}.",
        "lowest mean over the activations",
    )
    worst = worst_activation(summary)
    if len(worst):
        top = worst.iloc[0]
        parts = []
        for act in acts:
            row = _cell(summary, act, top.optimizer, top.variant, top.lr)
            parts.append(f"{act} {_acc(row)}")
        every.checks.append(Check(
            config_label(top.optimizer, top.variant, top.lr), "; ".join(parts), top.worst,
            passes(top.worst, lambda v: v >= LEARNED)))
    else:
        every.note = "no configuration was run for every activation"
    return [optimizer, tweak, every]


def sweep_table(summary, activation: str, variant_optimizer: str) -> str:
    """Rows: optimizers, then the variants; columns: learning rates; mean ± sd (bold when
    the mean is at least ``LEARNED``)."""
    lrs = sorted(summary.lr.unique())
    sel = summary[summary.activation == activation]
    rows = []
    configs = [(o, BASE) for o in optimizer_order(sel[sel.variant == BASE].optimizer)]
    configs += [(variant_optimizer, v) for v in variant_order(sel.variant) if v != BASE]
    for opt, variant in configs:
        cells = [opt if variant == BASE else f"{opt} + {variant}"]
        for lr in lrs:
            row = _cell(sel, activation, opt, variant, lr)
            if row is None:
                cells.append("")
                continue
            text = _acc(row).replace(f" (n = {int(row.n_ok)})", "")
            learned = np.isfinite(row.test_acc_mean) and row.test_acc_mean >= LEARNED
            cells.append(f"**{text}**" if learned else text)
        rows.append(cells)
    return markdown_table(["optimizer \\ learning rate", *[f"{lr:g}" for lr in lrs]], rows)


def best_table(summary, variant_optimizer: str) -> str:
    """Per activation and optimizer (or variant): the best learning rate and its accuracy."""
    from trainability.figures import activation_order

    acts = activation_order(summary.activation)
    configs = [(o, BASE) for o in optimizer_order(summary[summary.variant == BASE].optimizer)]
    configs += [(variant_optimizer, v) for v in variant_order(summary.variant) if v != BASE]
    rows = []
    for opt, variant in configs:
        cells = [opt if variant == BASE else f"{opt} + {variant}"]
        for act in acts:
            row = best_lr(summary, act, opt, variant)
            cells.append("all diverged" if row is None
                         else f"{row.test_acc_mean:.3f} at lr {row.lr:g}")
        rows.append(cells)
    return markdown_table(["optimizer", *[f"{a}: best mean (rate)" for a in acts]], rows)


def render_section(runs, lecture_optimizer: str, lecture_lr: float, variant_optimizer: str,
                   figures_rel: str = "figures/tweaks") -> str:
    """The report section as markdown (a pure function of the runs table)."""
    from trainability.figures import activation_order

    summary = summarize(runs)
    acts = activation_order(runs.activation)
    target = "sigmoid" if "sigmoid" in acts else acts[0]
    found = claims(summary, lecture_optimizer, lecture_lr, variant_optimizer, target)
    numbers = [f"T{i}" for i in range(1, len(found) + 1)]
    first = runs.iloc[0]
    n_seeds = runs.groupby(["activation", *CONFIG]).seed.nunique()
    seeds_text = (str(n_seeds.iloc[0]) if n_seeds.nunique() == 1
                  else f"{n_seeds.min()} to {n_seeds.max()}")
    optimizers = optimizer_order(runs[runs.variant == BASE].optimizer)
    lrs = sorted(runs.lr.unique())
    variants = summary[(summary.variant != BASE)].drop_duplicates("variant")
    variant_text = "; ".join(
        f"`{v.variant}`: schedule {v.schedule}, warm-up {v.warmup_epochs} epochs, L2 {v.l2:g}"
        for v in variants.itertuples())
    base_row = summary[summary.variant == BASE].iloc[0]
    rescued = summary[(summary.activation == target) & (summary.test_acc_mean >= LEARNED)]
    n_configs = summary[summary.activation == target].shape[0]

    def fig(name, alt, text):
        return f"![{alt}]({figures_rel}/{name})\n\n*Figure ({name}): {text}*"

    out = [
        f"## Improving trainability: what rescues the {target} network",
        "",
        "*Written by `trainability tweaks-section` from `tables/tweaks_runs.csv`; every "
        "number is computed from it.*",
        "",
        f"The lecture trains every network with {lecture_optimizer} at learning rate "
        f"{float(lecture_lr):g}, and the {target} network fails. Is that the activation's "
        "fault, or the training's? We keep the network and its initial weights and change "
        "only how the weights are updated.",
        "",
        f"- **Network**: the running example, {first.depth} hidden layers of {first.width} "
        f"units, `{first.init}` weights (std {first.init_scale}), batch size "
        f"{first.batch_size}, {first.epochs} epochs; activations {', '.join(acts)}.",
        f"- **Optimizer x learning rate**: {', '.join(optimizers)} at learning rates "
        f"{', '.join(f'{lr:g}' for lr in lrs)} (schedule {base_row.schedule}, warm-up "
        f"{base_row.warmup_epochs} epochs, L2 {base_row.l2:g}: the `train` section's)."
        + (f" Momentum coefficient {first.momentum:g} (momentum, nesterov)."
           if {"momentum", "nesterov"} & set(optimizers) else ""),
        f"- **Schedules and L2**: {variant_optimizer} at the same learning rates with "
        + (variant_text if variant_text else "no variants") + ". Cosine decays the rate to 0 "
        "over training; warm-up raises it linearly from 0 over its first epochs; L2 adds "
        "0.5 x L2 x ||W||^2 to the loss.",
        f"- **Seeds**: {seeds_text} per configuration ({len(runs)} models); a seed has the "
        "same initial weights and batch order in every configuration.",
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
        fig(FIGURE_SWEEP, "final test accuracy vs learning rate",
            "final test accuracy against the learning rate (log axis), one column per "
            "activation; top: each optimizer; bottom: the schedules and L2 on "
            f"{variant_optimizer}; mean ± 1 sd over seeds; the open circle marks the lecture's "
            f"setting. Look for: where the {target} curves cross the dashed 0.95 line, and "
            "whether relu and tanh still learn there."),
        "",
        f"Final test accuracy of the {target} network, mean ± sd over seeds (bold: at least "
        f"{LEARNED}); {len(rescued)} of {n_configs} configurations reach {LEARNED}:",
        "",
        sweep_table(summary, target, variant_optimizer),
        "",
        "Each optimizer's best learning rate, per activation (mean final test accuracy):",
        "",
        best_table(summary, variant_optimizer),
        "",
    ]
    for n, c in zip(numbers, found, strict=True):
        out += [render_claim(n, c), ""]
    out += [
        fig(FIGURE_CURVES, "training curves of the best configurations",
            "training loss (top, log scale) and test accuracy (bottom) per epoch of the "
            "lecture's setting (black), each optimizer at its best learning rate and the best "
            "schedule/L2 variant (dashed); mean over seeds. Look for: how many epochs the "
            f"{target} network spends on the ln 2 plateau in each setting."),
        "",
        "Why the optimizer matters: the sigmoid network's first layers receive much smaller "
        "gradients than its classifier (the batch-normalization study measures the ratio at "
        "initialization). RMSprop and Adam divide each step by a running root mean square of "
        "the gradient, so a small gradient still moves its weights by about the learning "
        "rate; SGD and momentum move them in proportion to the gradient, so the first layers "
        "barely move unless the rate is large.",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------- commands


def _lecture_args(p) -> None:
    p.add_argument("--lecture-optimizer", required=True,
                   help="the optimizer of the lecture's setting (params: train.optimizer)")
    p.add_argument("--lecture-lr", type=float, required=True,
                   help="its learning rate (params: train.lr)")
    p.add_argument("--variant-optimizer", required=True,
                   help="the optimizer the variants modify (params: tweaks.variant_optimizer)")


def add_commands(sub) -> None:
    p = sub.add_parser(
        "tweaks-tables",
        help="tweaks study: tidy tables from its run files",
        description="Read run files of `trainability train` (the variant of each is the name "
        "of its folder) and write the study's tables (CSV, atomically).",
    )
    p.add_argument("runs", nargs="+", help="run .npz files")
    p.add_argument("--runs-out", required=True, help="output: one row per model (.csv)")
    p.add_argument("--history-out", required=True, help="output: per model and epoch (.csv.gz)")
    p.add_argument("--summary-out", required=True,
                   help="output: per activation x optimizer x variant x learning rate (.csv)")
    p.add_argument("--metrics-out", help="output: headline numbers (.json)")
    p.add_argument("--manifest", help="output: the run files read, one per line")
    p.set_defaults(func=_run_tables)

    p = sub.add_parser(
        "tweaks-figures",
        help="tweaks study: figures (PNG) from its tables",
        description="Write lr_sweep.png and best_curves.png into --out-dir (atomically).",
    )
    p.add_argument("--runs", required=True, help="runs table of `tweaks-tables`")
    p.add_argument("--history", required=True, help="history table of `tweaks-tables`")
    _lecture_args(p)
    p.add_argument("--out-dir", required=True, help="output folder")
    p.set_defaults(func=_run_figures)

    p = sub.add_parser(
        "tweaks-section",
        help="tweaks study: its markdown section of the report",
        description="Write the section (atomically): claims, rules, verdicts and figures.",
    )
    p.add_argument("--runs", required=True, help="runs table of `tweaks-tables`")
    _lecture_args(p)
    p.add_argument("--figures-rel", default="figures/tweaks",
                   help="the figures folder relative to the report")
    p.add_argument("--out", required=True, help="output .md")
    p.set_defaults(func=_run_section)


def _run_tables(args) -> None:
    from trainability.io import write_json, write_text
    from trainability.tables import write_csv

    runs, history = load_study_tables(args.runs)
    summary = summarize(runs)
    write_csv(args.runs_out, runs)
    write_csv(args.history_out, history)
    write_csv(args.summary_out, summary)
    if args.metrics_out:
        write_json(args.metrics_out, metrics(summary))
    if args.manifest:
        write_text(args.manifest, "".join(f"{p}\n" for p in args.runs))
    print(f"tweaks: {len(runs)} models from {len(args.runs)} run files")


def _check_runs(runs, path) -> None:
    from trainability.io import InputError

    missing = [c for c in ("variant", "optimizer", "lr", "activation") if c not in runs]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (not a tweaks-tables table)")


def _run_figures(args) -> None:
    runs, history = read_tables(args.runs, args.history)
    _check_runs(runs, args.runs)
    written = make_figures(runs, history, args.out_dir, args.lecture_optimizer,
                           args.lecture_lr, args.variant_optimizer)
    print(f"wrote {len(written)} figures into {args.out_dir}")


def _run_section(args) -> None:
    from trainability.io import write_text

    runs, _ = read_tables(args.runs)
    _check_runs(runs, args.runs)
    text = render_section(runs, args.lecture_optimizer, args.lecture_lr,
                          args.variant_optimizer, args.figures_rel.rstrip("/"))
    write_text(args.out, text + "\n")
    print(f"wrote {args.out}")
