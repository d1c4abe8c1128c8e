"""The epsilon study's report section: the numbers and tables its template words."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import Claim, Sanity, bootstrap_mean, paired
from trainability.markdown import caption, figure, table
from trainability.studies.epsilon import claims as eps_claims
from trainability.studies.epsilon.spec import (
    LECTURE_CONVENTION,
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


def _mean_sd(values: pd.Series) -> str:
    v = values.dropna()
    if v.empty:
        return "n/a"
    text = f"{v.mean():.3f}" + (f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else "")
    return text + (f" ({int(values.isna().sum())} diverged)" if values.isna().any() else "")


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


def accuracy_table(spec, runs: pd.DataFrame) -> str:
    """Per network, optimizer and eps: test accuracy under each convention (mean ± sd over
    seeds) and the paired difference PyTorch minus Keras with its 95% interval."""
    rows = []
    for net in spec.networks():
        for opt in spec.optimizers:
            for eps in spec.eps:
                acc = {c: eps_claims.per_seed(runs, net, opt, c, eps) for c in spec.conventions}
                both = "keras" in acc and "pytorch" in acc
                rows.append([network_label(*net), opt, f"{eps:g}",
                             *(_mean_sd(acc[c]) for c in spec.conventions),
                             _interval(acc["pytorch"], acc["keras"]) if both else "n/a"])
    return table(rows, ["network", "optimizer", "eps", *spec.conventions,
                        "pytorch - keras (paired, 95% interval)"])


def at_lecture(spec, runs: pd.DataFrame) -> dict:
    """Per network, RMSprop at the lecture's eps: mean test and train accuracy per
    convention (the prose's numbers)."""
    out = {}
    for net in spec.networks():
        entry = {}
        for conv in spec.conventions:
            rows = runs[(runs.network == network_label(*net))
                        & (runs.optimizer == LECTURE_OPTIMIZER) & (runs.eps_convention == conv)
                        & np.isclose(runs.eps, LECTURE_EPS, rtol=1e-9, atol=0)
                        & (runs.status == "ok")]
            if len(rows):
                entry[conv] = {"test": float(rows.test_acc.mean()),
                               "train": float(rows.train_acc.mean())}
        out[network_label(*net)] = entry
    return out


def figures(spec, rel: str) -> dict[str, str]:
    return {name: figure(rel, name, caption(HERE, kind)) for name, kind in spec.figures()}


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    runs = tables["runs"]
    grads = gradient_rows(spec, tables["gradients"])
    lecture = at_lecture(spec, runs)
    sigmoid = [network_label(*n) for n in spec.running() if n[0] == eps_claims.SIGMOID]
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "claim_list": claims,
        "sanity": sanity,
        "figures": figures(spec, rel),
        "n_models": len(runs),
        "networks": [network_label(*n) for n in spec.networks()],
        "running": [network_label(*n) for n in spec.running()],
        "cells": [network_label(*n) for n in spec.networks() if n not in spec.running()],
        "settings": len(spec.settings()),
        "float32": [network_label(*n) for n in spec.networks() if spec.float32(n[2])],
        "lecture": {"eps": LECTURE_EPS, "lr": LECTURE_LR, "optimizer": LECTURE_OPTIMIZER,
                    "convention": LECTURE_CONVENTION, "sqrt_eps": math.sqrt(LECTURE_EPS),
                    "sigmoid_train_acc": LECTURE_SIGMOID_TRAIN_ACC},
        "lecture_lr": math.isclose(spec.train["lr"], LECTURE_LR),
        "gradients": {r["network"]: r for r in grads},
        "gradient_table": gradient_table(grads),
        "accuracy_table": accuracy_table(spec, runs),
        "at_lecture": lecture,
        "sigmoid": sigmoid[0] if sigmoid else None,
        "larger_eps": eps_claims.larger_eps(spec),
        "smaller_eps": eps_claims.smaller_eps(spec),
    }


def metrics(spec, tables) -> dict:
    """For ``dvc exp show``: per network, RMSprop at the lecture's eps under each
    convention, and the layer-1 gradient at initialization."""
    runs = tables["runs"]
    lecture = {}
    for name, entry in at_lecture(spec, runs).items():
        lecture[name] = {conv: round(v["test"], 6) for conv, v in entry.items()}
        if {"keras", "pytorch"} <= set(entry):
            lecture[name]["pytorch_minus_keras"] = round(
                entry["pytorch"]["test"] - entry["keras"]["test"], 6)
    grads = {r["network"]: float(f"{r['geo']:.4g}")
             for r in gradient_rows(spec, tables["gradients"])}
    return {"rmsprop_lecture_eps_test_acc": lecture, "layer1_grad_rms_at_init": grads,
            "models": int(len(runs)), "diverged": int((runs.status == "diverged").sum())}
