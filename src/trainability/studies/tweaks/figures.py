"""The tweaks study's figures, one function per figure; ``make`` lists what the spec declares.

- ``lr_sweep.png``: mean final validation accuracy against the learning rate (what every
  choice reads), one line per optimizer (top) and per variant (bottom), the chosen rates
  marked;
- ``chosen.png``: the test accuracy of every chosen setting, with 95% intervals;
- ``best_curves.png``: training loss and validation accuracy per epoch of the lecture's
  setting, each optimizer at its chosen rate and the chosen variant.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from trainability.order import activation_order
from trainability.plotting import LOSS_LABEL, ensure_span, figure, style, suptitle
from trainability.scoring import Learns
from trainability.studies.tweaks.selection import chosen, label
from trainability.studies.tweaks.spec import BASE, LECTURE
from trainability.studies.tweaks.tables import guesses

VAL_LABEL = "final validation accuracy"
TEST_LABEL = "final test accuracy"
MIN_SPAN = {"loss": 0.1, "acc": 0.2}  # smallest y-range, so a flat curve looks flat


def make(spec, tables) -> dict[str, Callable[[], Figure]]:
    summary, choices, history = tables["summary"], tables["choices"], tables["history"]
    guess, learned = guesses(spec), Learns.of(spec).accuracy
    return {
        "lr_sweep.png": lambda: sweep_figure(spec, summary, choices, guess["val"].accuracy,
                                             learned),
        "chosen.png": lambda: chosen_figure(spec, choices, guess["test"].accuracy, learned),
        "best_curves.png": lambda: curves_figure(spec, history, choices),
    }


def palette(names) -> dict:
    """A colour per name: seaborn's colourblind palette without its grey."""
    colors = [c for i, c in enumerate(sns.color_palette("colorblind", 10)) if i != 7]
    return {n: colors[i % len(colors)] for i, n in enumerate(names)}


def _rows(spec) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sweep figure's rows: (title, [(optimizer, variant)])."""
    rows = [("optimizer", [(o, BASE) for o in spec.optimizers])]
    if spec.variants:
        vo = spec.variant_optimizer
        rows.append((f"{vo} with", [(vo, BASE)] + [(vo, v) for v in spec.variants]))
    return rows


def _sweep_line(ax, summary, choices, act, optimizer, variant, color, offset):
    sel = summary[(summary.activation == act) & (summary.optimizer == optimizer)
                  & (summary.variant == variant)].sort_values("lr")
    if sel.empty:
        return
    x = sel.lr.to_numpy(float) * offset
    name = optimizer if variant == BASE else f"+ {variant}"
    ax.errorbar(x, sel.val_acc_mean, yerr=sel.val_acc_sd.fillna(0), color=color, marker="o",
                ms=3.5, lw=1.3, capsize=2, label=name)
    best = chosen(choices, "best_lr", act, optimizer, variant)
    if best is not None:
        ax.plot(best.lr * offset, best.val_acc_mean, "*", ms=11, color=color, mec="black",
                mew=0.6, zorder=6)
    for xi, row in zip(x, sel.itertuples(), strict=True):
        if row.n_diverged:
            ax.annotate(f"{row.n_diverged}/{row.n}\ndiv.", (xi, 0.0),
                        xycoords=("data", "axes fraction"), ha="center", va="bottom", color=color)


def sweep_figure(spec, summary, choices, chance: float, learned: float) -> Figure:
    """Mean final validation accuracy (±1 sd over seeds) against the learning rate, one
    column per activation; a star marks each line's chosen rate, an open circle the
    lecture's setting."""
    acts = activation_order(spec.activations)
    rows = _rows(spec)
    colors = palette(dict.fromkeys(o for _, pairs in rows for o, _ in pairs)
                     | dict.fromkeys(spec.variants))
    with style():
        fig = figure(3.0 * len(acts) + 2.4, 3.0 * len(rows) + 1.0)
        axes = np.asarray(fig.subplots(len(rows), len(acts), sharex=True, sharey=True,
                                       squeeze=False))
        for i, (title, pairs) in enumerate(rows):
            spread = np.geomspace(0.88, 1 / 0.88, len(pairs)) if len(pairs) > 1 else [1.0]
            for j, act in enumerate(acts):
                ax = axes[i, j]
                ax.axhline(chance, color="0.6", lw=0.8, ls=":")
                ax.axhline(learned, color="0.6", lw=0.8, ls="--")
                for (o, v), offset in zip(pairs, spread, strict=True):
                    color = colors[o if v == BASE else v]
                    _sweep_line(ax, summary, choices, act, o, v, color, offset)
                lecture = chosen(choices, "lecture", act)
                if lecture is not None and (LECTURE["optimizer"], BASE) in pairs:
                    offset = spread[pairs.index((LECTURE["optimizer"], BASE))]
                    ax.plot(lecture.lr * offset, lecture.val_acc_mean, "o", ms=12, mfc="none",
                            mec="black", mew=1.2, zorder=5, label="the lecture's setting")
                ax.set_title(act if i == 0 else "")
                ax.set_xscale("log")
            axes[i, 0].set_ylabel(VAL_LABEL)
            handles, labels = axes[i, 0].get_legend_handles_labels()
            axes[i, -1].legend(handles, labels, title=title, loc="center left",
                               bbox_to_anchor=(1.02, 0.5))
        for ax in axes[-1]:
            ax.set_xlabel("learning rate (log scale)")
        axes[0, 0].set_xticks(spec.lrs, [f"{r:g}" for r in spec.lrs])
        axes[0, 0].minorticks_off()
        axes[0, 0].set_ylim(min(0.3, chance - 0.1), 1.04)
        suptitle(fig, "Final validation accuracy against the learning rate\nmean ± 1 sd over "
                     "seeds; star: the rate chosen for each line\n"
                     f"dashed: {learned:g} (learned); dotted: a constant guess; points of one "
                     "rate are spread sideways")
    return fig


def _chosen_rows(spec) -> list[tuple[str, str, str | None, str | None]]:
    """(label, choice, optimizer, variant) of the chosen-settings figure, top to bottom."""
    rows = [(f"the lecture's: {LECTURE['optimizer']}", "lecture", None, None)]
    rows += [(o, "best_lr", o, BASE) for o in spec.optimizers]
    vo = spec.variant_optimizer
    if vo not in spec.optimizers and spec.variants:
        rows.append((vo, "best_lr", vo, BASE))
    rows += [(f"{vo} + {v}", "best_lr", vo, v) for v in spec.variants]
    return rows + [("one setting for all", "one_setting", None, None)]


def chosen_figure(spec, choices: pd.DataFrame, chance: float, learned: float) -> Figure:
    """Mean final test accuracy of each chosen setting with its 95% bootstrap interval over
    seeds, one panel per activation; each point is labelled with its learning rate."""
    acts = activation_order(spec.activations)
    rows = _chosen_rows(spec)
    with style():
        fig = figure(3.2 * len(acts) + 2.0, 0.36 * len(rows) + 1.6)
        axes = np.asarray(fig.subplots(1, len(acts), sharey=True, sharex=True, squeeze=False))[0]
        for ax, act in zip(axes, acts, strict=True):
            ax.axvline(chance, color="0.6", lw=0.8, ls=":")
            ax.axvline(learned, color="0.6", lw=0.8, ls="--")
            for y, (_, kind, o, v) in enumerate(rows):
                row = chosen(choices, kind, act, o, v)
                if row is None or not math.isfinite(row.test_acc_mean):
                    continue
                lo, hi = row.test_acc_lo, row.test_acc_hi
                if math.isfinite(lo) and math.isfinite(hi):
                    ax.plot([lo, hi], [y, y], color="0.25", lw=1.6)
                ax.plot(row.test_acc_mean, y, "o", color="black" if kind == "lecture"
                        else "C0", ms=5, zorder=5)
                text = f"lr {row.lr:g}" if kind != "one_setting" else label(
                    row.optimizer, row.variant, row.lr)
                ax.annotate(text, (min(lo, row.test_acc_mean) if math.isfinite(lo)
                                   else row.test_acc_mean, y), xytext=(-6, 0),
                            textcoords="offset points", ha="right", va="center")
            ax.set_title(act)
            ax.set_xlabel(TEST_LABEL)
        axes[0].set_yticks(range(len(rows)), [r[0] for r in rows])
        axes[0].set_ylim(len(rows) - 0.5, -0.7)
        axes[0].set_xlim(min(0.3, chance - 0.1), 1.02)
        suptitle(fig, "Test accuracy of the settings chosen on validation: mean over seeds "
                     f"and 95% interval\ndashed: {learned:g} (learned); dotted: a constant guess")
    return fig


def _curves(spec, choices, act) -> list[tuple[str, str, str, float, str]]:
    """(label, optimizer, variant, lr, kind) of the curves drawn for one activation."""
    out = []
    lecture = chosen(choices, "lecture", act)
    if lecture is not None:
        out.append((f"the lecture's: {label(lecture.optimizer, BASE, lecture.lr)}",
                    lecture.optimizer, BASE, lecture.lr, "lecture"))
    for o in spec.optimizers:
        row = chosen(choices, "best_lr", act, o, BASE)
        if row is not None:
            out.append((f"chosen {label(o, BASE, row.lr)}", o, BASE, row.lr, "optimizer"))
    row = chosen(choices, "best_variant", act)
    if row is not None:
        out.append((f"chosen variant: {label(row.optimizer, row.variant, row.lr)}",
                    row.optimizer, row.variant, row.lr, "variant"))
    return out


def curves_figure(spec, history: pd.DataFrame, choices: pd.DataFrame) -> Figure:
    """Training loss (full pass) and validation accuracy per epoch, mean over the seeds
    that have not diverged, one column per activation."""
    acts = activation_order(spec.activations)
    colors = palette(dict.fromkeys([*spec.optimizers, spec.variant_optimizer]))
    with style():
        fig = figure(9.6, 2.5 * len(acts) + 1.2)
        axes = np.asarray(fig.subplots(len(acts), 2, sharex=True, squeeze=False))
        for i, act in enumerate(acts):
            loss, acc = axes[i]
            for text, o, v, lr, kind in _curves(spec, choices, act):
                sel = history[(history.activation == act) & (history.optimizer == o)
                              & (history.variant == v) & np.isclose(history.lr, lr, rtol=1e-9)]
                per = sel.groupby("epoch")[["train_loss", "val_acc"]].mean()
                color = {"lecture": "black", "variant": "0.45"}.get(kind, colors[o])
                style_ = {"lw": 2.0 if kind == "lecture" else 1.3,
                          "ls": "--" if kind == "variant" else "-"}
                loss.plot(per.index, per.train_loss, color=color, label=text, **style_)
                acc.plot(per.index, per.val_acc, color=color, label=text, **style_)
            loss.axhline(math.log(2), color="0.6", lw=0.8, ls=":")
            ensure_span(loss, MIN_SPAN["loss"])
            ensure_span(acc, MIN_SPAN["acc"])
            loss.set_ylabel(f"{act}\ntraining loss")
            acc.set_ylabel("validation accuracy")
            # the chosen rates differ between activations: a legend per row, beside it
            acc.legend(loc="center left", bbox_to_anchor=(1.03, 0.5), title=act)
        axes[0, 0].set_title(LOSS_LABEL.replace("loss", "training loss"))
        axes[0, 1].set_title("validation accuracy")
        for ax in axes[-1]:
            ax.set_xlabel("epoch")
        suptitle(fig, "Training curves of the lecture's setting and the settings chosen on "
                     "validation\nmean over seeds (diverged seeds from their divergence on "
                     "left out); dotted: ln 2")
    return fig
