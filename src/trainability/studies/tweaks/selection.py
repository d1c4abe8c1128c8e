"""The summary of every configuration, and the choices made from it on validation data.

A configuration is an activation x optimizer x variant x learning rate. Its score on a split
is the mean final accuracy over its seeds (``val_score``, ``test_score``: a diverged seed
scored as a constant guess, ``scoring.per_seed``), so a rate where seeds diverge is not
favoured by leaving them out. Choices read validation scores only:

- ``best_lr``: per activation, optimizer and variant, the rate with the highest validation
  score (ties: the smaller rate);
- ``best_variant``: per activation, the variant of the variant optimizer (the base one
  excluded), each at its best rate, with the highest validation score (ties: params order);
- ``one_setting``: the optimizer, variant and rate whose lowest validation score over the
  activations is highest (ties: the configurations' order, then the smaller rate).

A rate chosen at an ``edge`` of the sweep (its smallest or largest rate) is not bracketed: a
rate beyond it might be better still.

Pure functions of pandas tables (tested on cases with known answers).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trainability.studies.tweaks.spec import BASE, LECTURE

CONFIG = ["optimizer", "variant", "lr"]
KEYS = ["activation", *CONFIG]


def summarize(runs: pd.DataFrame, learned: float) -> pd.DataFrame:
    """One row per configuration, in the runs' order: validation and test scores (mean and
    sd over seeds, diverged seeds scoring a constant guess), how many seeds diverged and how
    many reached test accuracy ``learned``, and the mean final training loss of the
    others."""
    ok = runs.status == "ok"
    frame = runs.assign(loss_ok=runs.train_loss.where(ok), div=(~ok).astype(int),
                        learned=((runs.test_score >= learned) & ok).astype(int))
    g = frame.groupby(KEYS, sort=False)
    out = pd.DataFrame({
        "schedule": g.schedule.first(), "warmup_epochs": g.warmup_epochs.first(),
        "l2": g.l2.first(), "n": g.size(), "n_diverged": g["div"].sum(),
        "val_acc_mean": g.val_score.mean(), "val_acc_sd": g.val_score.std(ddof=1),
        "test_acc_mean": g.test_score.mean(), "test_acc_sd": g.test_score.std(ddof=1),
        "n_learned": g.learned.sum(), "train_loss_mean": g.loss_ok.mean(),
    })
    return out.reset_index()


def label(optimizer: str, variant: str, lr) -> str:
    """``rmsprop + warmup, lr 0.1``."""
    text = optimizer if variant == BASE else f"{optimizer} + {variant}"
    return f"{text}, lr {float(lr):g}"


def edge(lrs, lr) -> str:
    """Where a chosen rate sits in the sweep ``lrs``: "" inside it, else which edge."""
    low, high = (math.isclose(lr, r, rel_tol=1e-9) for r in (min(lrs), max(lrs)))
    if low and high:
        return "the only rate tried"
    return "the smallest rate tried" if low else "the largest rate tried" if high else ""


def chosen(choices: pd.DataFrame, kind: str, activation: str, optimizer: str | None = None,
           variant: str | None = None):
    """The row of one choice, or None."""
    sel = choices[(choices.choice == kind) & (choices.activation == activation)]
    if optimizer is not None:
        sel = sel[(sel.optimizer == optimizer) & (sel.variant == variant)]
    return sel.iloc[0] if len(sel) else None


def _rows(summary, activation, optimizer, variant) -> pd.DataFrame:
    return summary[(summary.activation == activation) & (summary.optimizer == optimizer)
                   & (summary.variant == variant)]


def best_lr(summary: pd.DataFrame, activation: str, optimizer: str, variant: str):
    """The summary row of the rate with the highest validation score, or None."""
    sel = _rows(summary, activation, optimizer, variant).dropna(subset=["val_acc_mean"])
    if sel.empty:
        return None
    sel = sel.sort_values("lr", kind="stable")
    return sel.loc[sel.val_acc_mean.idxmax()]


def best_variant(summary: pd.DataFrame, activation: str, optimizer: str, variants):
    """Of ``variants`` of ``optimizer``, each at its best rate: the best row, or None."""
    best = None
    for variant in variants:
        row = best_lr(summary, activation, optimizer, variant)
        if row is not None and (best is None or row.val_acc_mean > best.val_acc_mean):
            best = row
    return best


def worst_case(summary: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer, variant and rate that every activation ran: the lowest validation
    score over the activations (``worst``), in the summary's order."""
    n_acts = summary.activation.nunique()
    g = summary.groupby(CONFIG, sort=False)
    out = pd.DataFrame({"worst": g.val_acc_mean.min(), "n_activations": g.activation.nunique()})
    out = out[out.n_activations == n_acts].reset_index()
    order = {key: i for i, key in enumerate(dict.fromkeys(zip(summary.optimizer,
                                                               summary.variant, strict=True)))}
    out["_config"] = [order[k] for k in zip(out.optimizer, out.variant, strict=True)]
    return out.sort_values(["_config", "lr"], kind="stable").drop(columns="_config")


def one_setting(summary: pd.DataFrame):
    """The optimizer, variant and rate with the best worst case (a row of ``worst_case``),
    or None when no configuration ran for every activation."""
    worst = worst_case(summary).dropna(subset=["worst"])
    if worst.empty:
        return None
    return worst.loc[worst.worst.idxmax()]


def choices(summary: pd.DataFrame, spec) -> pd.DataFrame:
    """Every choice, per activation: ``lecture`` (the lecture's setting ``LECTURE``: not a
    choice, the reference), ``best_lr`` (one per configuration), ``best_variant`` and
    ``one_setting``. Columns: choice, activation, optimizer, variant, lr, val_acc_mean."""
    rows = []

    def add(choice, row):
        if row is not None:
            rows.append({"choice": choice, "activation": row.activation,
                         **{k: row[k] for k in CONFIG}, "val_acc_mean": row.val_acc_mean})

    setting = one_setting(summary)
    for act in spec.activations:
        lec = _rows(summary, act, LECTURE["optimizer"], BASE)
        add("lecture", _first(lec[np.isclose(lec.lr, LECTURE["lr"], rtol=1e-9)]))
        for optimizer, variant in spec.configurations():
            add("best_lr", best_lr(summary, act, optimizer, variant))
        add("best_variant", best_variant(summary, act, spec.variant_optimizer, spec.variants))
        if setting is not None:
            rows_act = _rows(summary, act, setting.optimizer, setting.variant)
            add("one_setting", _first(rows_act[np.isclose(rows_act.lr, setting.lr,
                                                           rtol=1e-9)]))
    return pd.DataFrame(rows, columns=["choice", "activation", *CONFIG, "val_acc_mean"])


def _first(frame: pd.DataFrame):
    return frame.iloc[0] if len(frame) else None
