"""The epsilon study's report section: the numbers and tables its template words."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import AT_LEAST, Claim, Sanity, bootstrap_mean, mean_check, paired
from trainability.data import load_dataset
from trainability.markdown import caption, figure, table
from trainability.scoring import Guess, Learns
from trainability.studies.epsilon import claims as eps_claims
from trainability.studies.epsilon.spec import (
    CONVENTIONS,
    LECTURE_EPS,
    LECTURE_LR,
    LECTURE_OPTIMIZER,
)
from trainability.studies.epsilon.tables import network_label

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
LECTURE_SIGMOID_TRAIN_ACC = 0.7  # the lecture's figure: "sigmoid creeps to about 0.7"


def step_factor(g: float, eps: float, convention: str) -> float:
    """RMSprop's step over the learning rate for a gradient entry that stays at ``g``
    (then ``s -> g^2``): ``|g| / sqrt(g^2 + eps)`` (keras) or ``|g| / (|g| + eps)``."""
    g = abs(g)
    if convention == "keras":
        return g / math.sqrt(g * g + eps)
    return g / (g + eps)


def _mean_sd(models: pd.DataFrame, test: Guess) -> str:
    """``0.591 ± 0.071`` over every seed, a diverged one scored as a constant guess."""
    v = eps_claims.per_seed(models, test)
    if v.empty:
        return "n/a"
    text = f"{v.mean():.3f}" + (f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else "")
    n_div = int((models.status != "ok").sum())
    return text + (f" ({n_div} diverged)" if n_div else "")


def _interval(a: pd.Series, b: pd.Series) -> str:
    mean, lo, hi, n = bootstrap_mean(paired(a, b))
    if n == 0:
        return "n/a"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{mean:+.3f}"
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def gradient_rows(spec, gradients: pd.DataFrame) -> list[dict]:
    """Per network: the layer-1 RMS gradient entry at initialization over seeds, and the
    RMSprop step a gradient of that (geometric mean) size takes under each convention."""
    floor = math.sqrt(LECTURE_EPS)
    rows = []
    for net in spec.networks():
        rms = eps_claims.layer1_gradients(gradients, net)
        if rms.empty:
            continue
        geo = float(10 ** np.log10(np.maximum(rms, np.finfo(float).tiny)).mean())
        rows.append({
            "network": network_label(*net), "geo": geo, "min": float(rms.min()),
            "max": float(rms.max()), "below": int((rms < floor).sum()), "n": len(rms),
            "keras": step_factor(geo, LECTURE_EPS, "keras"),
            "pytorch": step_factor(geo, LECTURE_EPS, "pytorch"),
        })
    return rows


def gradient_table(rows: list[dict]) -> str:
    body = [[r["network"], f"{r['geo']:.1e} [{r['min']:.1e}, {r['max']:.1e}]",
             f"{r['below']} of {r['n']}", f"{r['keras']:.3f}", f"{r['pytorch']:.3f}"]
            for r in rows]
    return table(body, [
        "network", "layer-1 RMS gradient entry at init: geometric mean [min, max]",
        f"seeds below sqrt({LECTURE_EPS:g})", "step / lr, keras", "step / lr, pytorch"])


def accuracy_table(spec, runs: pd.DataFrame, test: Guess) -> str:
    """Per network, optimizer and eps: test accuracy under each convention (mean ± sd over
    seeds) and the paired difference PyTorch minus Keras with its 95% interval."""
    rows = []
    for net in spec.networks():
        for opt in spec.optimizers:
            for eps in spec.eps:
                models = {c: eps_claims.rows(runs, net, opt, c, eps) for c in spec.conventions}
                acc = {c: eps_claims.per_seed(m, test) for c, m in models.items()}
                both = "keras" in acc and "pytorch" in acc
                rows.append([network_label(*net), opt, f"{eps:g}",
                             *(_mean_sd(models[c], test) for c in spec.conventions),
                             _interval(acc["pytorch"], acc["keras"]) if both else "n/a"])
    return table(rows, ["network", "optimizer", "eps", *spec.conventions,
                        "pytorch - keras (paired, 95% interval)"])


def at_lecture(spec, runs: pd.DataFrame, test: Guess, train: Guess,
               learns: Learns) -> dict:
    """Per network, RMSprop at the lecture's eps, per convention: the mean test accuracy as
    a check of learning (its interval, and whether it reaches ``learns.accuracy``) and the
    mean training accuracy, every seed scored (a diverged one as a constant guess)."""
    out = {}
    for net in spec.networks():
        entry = {}
        for conv in spec.conventions:
            models = eps_claims.rows(runs, net, LECTURE_OPTIMIZER, conv, LECTURE_EPS)
            if len(models):
                acc = eps_claims.per_seed(models, test)
                entry[conv] = {
                    "test": mean_check(network_label(*net), acc.to_numpy(), learns.accuracy,
                                       AT_LEAST, "mean test accuracy"),
                    "train": float(eps_claims.per_seed(models, train, "train_acc").mean())}
        out[network_label(*net)] = entry
    return out


def grid_seeds(spec, runs: pd.DataFrame, test: Guess) -> dict | None:
    """The running example's sigmoid network at RMSprop, the lecture's eps and our
    convention, split by seed: those the grid trains too (``spec.grid_seeds``: the same
    runs) and those only this study trains; None when the grid does not train it so."""
    net = next((n for n in spec.running() if n[0] == eps_claims.SIGMOID), None)
    if spec.grid_seeds is None or net is None:
        return None
    models = eps_claims.rows(runs, net, LECTURE_OPTIMIZER, spec.convention, LECTURE_EPS)
    acc = eps_claims.per_seed(models, test)
    shared, own = acc[acc.index < spec.grid_seeds], acc[acc.index >= spec.grid_seeds]
    return {"seeds": spec.grid_seeds, "n_shared": len(shared), "n_own": len(own),
            "shared": float(shared.mean()) if len(shared) else math.nan,
            "own": float(own.mean()) if len(own) else math.nan}


def figures(spec, rel: str) -> dict[str, str]:
    return {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    runs = tables["runs"]
    data = load_dataset(spec.dataset)
    test, train = Guess.of(data.y_test), Guess.of(data.y_train)
    learns = Learns.of(spec)
    grads = gradient_rows(spec, tables["gradients"])
    lecture = at_lecture(spec, runs, test, train, learns)
    sigmoid = [network_label(*n) for n in spec.running() if n[0] == eps_claims.SIGMOID]
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "sanity": sanity,
        "figures": figures(spec, rel),
        "n_models": len(runs),
        "networks": [network_label(*n) for n in spec.networks()],
        "running": [network_label(*n) for n in spec.running()],
        "cells": [network_label(*n) for n in spec.networks() if n not in spec.running()],
        "settings": len(spec.settings()),
        "float32": [network_label(*n) for n in spec.networks() if spec.float32(n[2])],
        "lecture": {"eps": LECTURE_EPS, "lr": LECTURE_LR, "optimizer": LECTURE_OPTIMIZER,
                    "sqrt_eps": math.sqrt(LECTURE_EPS),
                    "sigmoid_train_acc": LECTURE_SIGMOID_TRAIN_ACC},
        "ours": spec.convention,
        "other": next((c for c in CONVENTIONS if c != spec.convention), None),
        "learns": learns,
        "n_train": len(data.y_train),
        "grid": grid_seeds(spec, runs, test),
        "lecture_lr": math.isclose(spec.train["lr"], LECTURE_LR),
        "gradients": {r["network"]: r for r in grads},
        "gradient_table": gradient_table(grads),
        "accuracy_table": accuracy_table(spec, runs, test),
        "at_lecture": lecture,
        "sigmoid": sigmoid[0] if sigmoid else None,
        "larger_eps": eps_claims.larger_eps(spec),
        "smaller_eps": eps_claims.smaller_eps(spec),
    }


def metrics(spec, tables) -> dict:
    """For ``dvc exp show``: per network, RMSprop at the lecture's eps under each
    convention, and the layer-1 gradient at initialization."""
    runs = tables["runs"]
    data = load_dataset(spec.dataset)
    lecture = {}
    for name, entry in at_lecture(spec, runs, Guess.of(data.y_test), Guess.of(data.y_train),
                                  Learns.of(spec)).items():
        lecture[name] = {conv: round(v["test"].effect, 6) for conv, v in entry.items()}
        if {"keras", "pytorch"} <= set(entry):
            lecture[name]["pytorch_minus_keras"] = round(
                entry["pytorch"]["test"].effect - entry["keras"]["test"].effect, 6)
    grads = {r["network"]: float(f"{r['geo']:.4g}")
             for r in gradient_rows(spec, tables["gradients"])}
    return {"rmsprop_lecture_eps_test_acc": lecture, "layer1_grad_rms_at_init": grads,
            "models": int(len(runs)), "diverged": int((runs.status == "diverged").sum())}
