"""The robustness section: where each running-example claim holds, where it breaks, and
what lifts the sigmoid network (the mechanism behind claim 2's verdict).

Every sentence that reads a result is chosen in ``section.md.j2`` by the verdicts table
or by the ablation checks built here (``ablation``): each the difference of the sigmoid
network's test accuracy under one variant and under the lecture's setting, paired by seed
where the variant trains the same network (its seeds share their initial weights and
batch order, so a seed's luck cancels), of two independent samples where it trains
another (a width).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from trainability.bayes import ceiling
from trainability.claims import (
    AT_LEAST,
    AT_MOST,
    NOT_SUPPORTED,
    SUPPORTED,
    Check,
    Claim,
    Sanity,
    difference_check,
    mean_check,
    paired_check,
)
from trainability.data import load_dataset
from trainability.learns import Guess, Learns
from trainability.markdown import caption, figure, num, table
from trainability.scoring import per_seed
from trainability.studies.robustness.claims import CLAIMS, INIT
from trainability.studies.robustness.spec import BASELINE, NONE
from trainability.study import folder

LIFT = 0.05  # "lifts the sigmoid network": test accuracy at least 0.05 higher
# the variants without Keras' sqrt(eps) floor under the step, or with a larger step
FLOORLESS = ("eps_outside_root", "lr_x10")
FEW_SATURATED = 0.10  # S1's threshold: "saturates" means at least a tenth of the units
# the pre-declared candidate explanations of the sigmoid network's deficit: the variants
# that test each (those params.yaml declares), in the order the section discusses them
CANDIDATES = (
    ("epochs", "too few epochs: slow, not stuck", ("epochs_x3", "epochs_x10")),
    ("eps", "the eps floor (Keras' sqrt(eps) under RMSprop's step)", ("eps_outside_root",)),
    ("lr", "the step size", ("lr_x0.3", "lr_x3", "lr_x10")),
    ("width", "the width", ("width_16", "width_64")),
)
SHORT = {"supported": "yes", "partly": "partly", "not supported": "no",
         "inconclusive": "?", "not tested": "-"}


def describe(spec, variant: str) -> str:
    """What a variant changes, in params.yaml's words: ``train.lr 0.001 -> 0.003``."""
    if variant == BASELINE:
        return "nothing: the lecture's setting"
    base = spec.resolved[BASELINE]
    out = []
    for key in spec.variants[variant]:
        section, field = key.split(".")
        old, new = base[section][field], spec.resolved[variant][section][field]
        if new != old:  # adam at the lecture's rate: the rate is named, not changed
            out.append(f"{key} {json.dumps(old)} -> {json.dumps(new)}")
    return "; ".join(out)


def sigmoid_accuracy(models: pd.DataFrame, variant: str, guess: Guess) -> pd.Series:
    rows = models[(models.variant == variant) & (models.activation == "sigmoid")
                  & (models.init == INIT) & (models.placement == NONE)].sort_values("seed")
    return per_seed(rows, "test_acc", guess)


def ablation(spec, models: pd.DataFrame) -> list[Check]:
    """One check per declared candidate variant: its sigmoid network's test accuracy minus
    the lecture's, paired by seed, at least ``LIFT``."""
    guess = Guess.of(load_dataset(spec.dataset).y_test)
    base = sigmoid_accuracy(models, BASELINE, guess)
    checks = []
    for _, _, variants in CANDIDATES:
        for v in variants:
            if v not in spec.variants:
                continue
            if spec.data_file(v) != spec.dataset:
                continue  # another test set: not paired
            acc = sigmoid_accuracy(models, v, guess)
            detail = f"{num(float(np.mean(acc)))} vs {num(float(np.mean(base)))}"
            what = "sigmoid's test accuracy, variant - lecture"
            if spec.resolved[v]["model"] == spec.resolved[BASELINE]["model"]:
                # the same initial weights and batch order: paired by seed
                checks.append(paired_check(v, acc, base, LIFT, AT_LEAST, what, detail=detail))
            else:  # another network: two independent samples
                checks.append(difference_check(v, acc.to_numpy(), base.to_numpy(), LIFT,
                                               AT_LEAST, what, detail=detail))
    return checks


def same_networks(spec, variant: str) -> bool:
    """Whether a variant starts from the lecture's networks on the lecture's data (it
    changes only the optimizer, the epochs or the batch size)."""
    base, mine = spec.resolved[BASELINE], spec.resolved[variant]
    return mine["model"] == base["model"] and mine["data"] == base["data"]


def gradient_ratio(models: pd.DataFrame, variant: str) -> float:
    """The median over seeds of the sigmoid network's log10(||g1|| / ||gC||) at init."""
    rows = models[(models.variant == variant) & (models.activation == "sigmoid")
                  & (models.init == INIT) & (models.placement == NONE)]
    with np.errstate(divide="ignore"):
        v = np.log10(rows.grad_first.to_numpy()) - np.log10(rows.grad_classifier.to_numpy())
    return float(np.median(v)) if len(v) else math.nan


def saturation(models: pd.DataFrame, variant: str) -> float:
    """The sigmoid network's share of saturated hidden units at initialization, the mean
    over its layers and seeds (the running width: what the failing network is)."""
    rows = models[(models.variant == variant) & (models.activation == "sigmoid")
                  & (models.init == INIT) & (models.placement == NONE)]
    cols = [c for c in rows.columns if c.startswith("saturated_l")]
    return float(np.nanmean(rows[cols].to_numpy())) if len(rows) else math.nan


def saturation_check(spec, models: pd.DataFrame) -> Check:
    """(f) of the mechanism: at the lecture's width, the sigmoid network's share of
    saturated units at initialization (per seed, the mean over its layers) is below
    ``FEW_SATURATED``: saturation cannot explain a deficit of the network that has it."""
    rows = models[(models.variant == BASELINE) & (models.activation == "sigmoid")
                  & (models.init == INIT) & (models.placement == NONE)]
    cols = [c for c in rows.columns if c.startswith("saturated_l")]
    return mean_check("sigmoid at the lecture's width", rows[cols].mean(axis=1).to_numpy(),
                      FEW_SATURATED, AT_MOST, "share of saturated units at init")


def signal(models: pd.DataFrame, variant: str, activation: str = "sigmoid") -> pd.Series:
    """log10 of a network's forward signal at initialization per seed (``signal_last``)."""
    rows = models[(models.variant == variant) & (models.activation == activation)
                  & (models.init == INIT) & (models.placement == NONE)].sort_values("seed")
    with np.errstate(divide="ignore"):
        return pd.Series(np.log10(rows.signal_last.to_numpy()), index=rows.seed.to_numpy())


def forward_signal(spec, models: pd.DataFrame) -> dict[str, list[Check]]:
    """(e) of the mechanism, the forward signal: at the lecture's width, the sigmoid
    network's last hidden layer varies between the training points by at most a tenth of
    what tanh's does (paired by seed: the same normal draws); and under each width variant
    it at least doubles (two independent samples)."""
    base = signal(models, BASELINE)
    weak = paired_check("sigmoid vs tanh, lecture's width", base, signal(models, BASELINE,
                                                                         "tanh"),
                        -1.0, AT_MOST, "log10 of the ratio of forward signals", digits=2)
    grows = []
    for v in spec.names[1:]:
        if spec.resolved[v]["model"]["width"] != spec.resolved[BASELINE]["model"]["width"] \
                and spec.data_file(v) == spec.dataset:
            grows.append(difference_check(v, signal(models, v).to_numpy(), base.to_numpy(),
                                          math.log10(2), AT_LEAST,
                                          "log10 of the signal's growth (variant / lecture)",
                                          digits=2))
    return {"weak": [weak], "grows": grows}


def median_signal(models: pd.DataFrame, variant: str) -> float:
    v = signal(models, variant).to_numpy()
    return float(10 ** np.median(v)) if len(v) else math.nan


def vanishing_yet_learns(verdicts: pd.DataFrame) -> list[str]:
    """Variants under which G1 is supported (layer 1 gets at most a tenth of the
    classifier's gradient) while claim 2 is not (the sigmoid network keeps up)."""
    at = verdicts.set_index(["variant", "key"]).verdict
    return [v for v in dict.fromkeys(verdicts.variant)
            if at[(v, "sigmoid-vanishes")] == SUPPORTED
            and at[(v, "sigmoid-lags")] == NOT_SUPPORTED]


def batch_norm_without_floor(verdicts: pd.DataFrame) -> list[dict]:
    """B1 and B3 under the variants that remove Keras' eps floor or take a larger step
    (``FLOORLESS``, those declared): whether batch norm's gain is about the gradient, the
    floor or the step size."""
    at = verdicts.set_index(["variant", "key"])
    return [{"variant": v, **{c: {"verdict": at.loc[(v, key)].verdict,
                                  "headline": _shown(at.loc[(v, key)])}
                              for c, key in (("B1", "bn-rescues-sigmoid"),
                                             ("B3", "bn-gradient"))}}
            for v in FLOORLESS if v in set(verdicts.variant)]


def where(verdicts: pd.DataFrame) -> dict[str, dict]:
    """Per claim: its verdict at the lecture's setting, and the variants under which the
    verdict is another (with the verdict and the headline)."""
    out = {}
    for display, key, study in CLAIMS:
        rows = verdicts[verdicts.key == key].set_index("variant")
        at = rows.loc[BASELINE]
        other = rows[(rows.index != BASELINE) & (rows.verdict != at.verdict)]
        same = rows[(rows.index != BASELINE) & (rows.verdict == at.verdict)]
        out[key] = {
            "id": display, "study": study, "verdict": at.verdict,
            "headline": _shown(at), "same": list(same.index),
            "breaks": [{"variant": v, "verdict": r.verdict, "headline": _shown(r)}
                       for v, r in other.iterrows()],
            "tested": int((rows.verdict != "not tested").sum()),
        }
    return out


def _shown(row) -> str:
    """The headline check as its claim's table prints it: ``what: effect [lo, hi]``."""
    if not isinstance(row.check, str) or not row.check:
        return "no check"
    head = Check(row.check, row.effect, row.lo, row.hi, 0, row.threshold, row.side, "",
                 digits=int(row.digits), signed=bool(row.signed))
    return f"{row.check}: {head.shown}"


def ceilings(spec) -> dict[str, float]:
    """Per variant, the best possible classifier's accuracy on its test points (the Bayes
    classifier of the generator: ``size.ceiling``); NaN for scaled or standardized data."""
    out = {}
    for v in spec.names:
        settings = spec.resolved[v]["data"]
        data = load_dataset(spec.data_file(v))
        out[v] = (math.nan if settings["standardize"] or settings["scale"] != 1
                  else ceiling(data.X_test, data.y_test, settings))
    return out


def out_of_reach(ceiling_of: dict[str, float], learns: Learns) -> list[str]:
    """Variants whose best possible classifier makes more than half the test errors that
    "learns" allows (the size study's rule for room below the ceiling)."""
    room = (1.0 - learns.accuracy) / 2
    return [v for v, c in ceiling_of.items() if math.isfinite(c) and 1.0 - c > room]


def map_table(spec, verdicts: pd.DataFrame, ceiling_of: dict[str, float]) -> str:
    header = ["variant", "what it changes", *[d for d, _, _ in CLAIMS], "ceiling (test)"]
    rows = []
    for v in spec.names:
        at = verdicts[verdicts.variant == v].set_index("key")
        rows.append([v, describe(spec, v),
                     *[SHORT.get(at.loc[k].verdict, at.loc[k].verdict) for _, k, _ in CLAIMS],
                     num(ceiling_of[v])])
    return table(rows, header)


def ablation_table(spec, checks: list[Check], models: pd.DataFrame) -> str:
    def measured(v):
        return [num(gradient_ratio(models, v), 2), num(saturation(models, v), 3),
                num(median_signal(models, v), 3)]

    rows = [[BASELINE, describe(spec, BASELINE), "-", *measured(BASELINE), "-"]]
    for c in checks:
        rows.append([c.what, describe(spec, c.what), c.shown, *measured(c.what), c.verdict])
    return table(rows, ["variant", "what it changes", "sigmoid: variant - lecture [95%]",
                        "median log10(‖g1‖/‖gC‖) at init", "saturated share at init",
                        "forward signal at init (median)", f"lifts >= {LIFT}"])


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    models, verdicts = tables["models"], tables["verdicts"]
    checks = ablation(spec, models)
    ceiling_of, learns = ceilings(spec), Learns.of(spec)
    lifted = [c.what for c in checks if c.passed]
    by_candidate = {name: [c for c in checks if c.what in variants]
                    for name, _, variants in CANDIDATES}
    return {
        "spec": spec,
        "claims": {c.key: c for c in claims},
        "sanity": sanity,
        "n_variants": len(spec.names) - 1,
        "n_jobs": len(spec.jobs()),
        "n_models": len(models),
        "read_off": [v for v, p in spec.plan().items() if p["epoch"] < p["epochs"]],
        "where": where(verdicts),
        "map_table": map_table(spec, verdicts, ceiling_of),
        "out_of_reach": {v: ceiling_of[v] for v in out_of_reach(ceiling_of, learns)},
        "ablation": {name: {"label": label, "checks": by_candidate[name],
                            "lifts": [c for c in by_candidate[name] if c.passed],
                            "fails": [c for c in by_candidate[name] if c.failed]}
                     for name, label, _ in CANDIDATES},
        "ablation_table": ablation_table(spec, checks, models),
        "lifted": lifted,
        "saturation": saturation_check(spec, models),
        "signal": forward_signal(spec, models),
        "vanishing_yet_learns": vanishing_yet_learns(verdicts),
        "floorless": batch_norm_without_floor(verdicts),
        # G1 and B3 read the networks at initialization, which only these variants change
        "same_init": [v for v in spec.names[1:] if same_networks(spec, v)],
        "lift": LIFT,
        "learns": learns,
        "supported": SUPPORTED,
        "figure": {kind: figure(rel, name, caption(folder("robustness"), kind))
                   for name, kind in spec.figures()},
    }


def facts(spec, tables, claims: list[Claim]) -> dict:
    """What the report's answers read: where each claim holds, what lifts the sigmoid
    network (the ablation checks), and the mechanism checks."""
    models, verdicts = tables["models"], tables["verdicts"]
    best = ceilings(spec)[BASELINE]
    return {
        "variants": len(spec.names) - 1,
        "ceiling": best if math.isfinite(best) else None,  # JSON has no NaN
        "changes": {v: describe(spec, v) for v in spec.names},
        "where": where(verdicts),
        "ablation": [c.to_dict() for c in ablation(spec, models)],
        "saturation": saturation_check(spec, models).to_dict(),
        "signal": {k: [c.to_dict() for c in v] for k, v in forward_signal(spec, models).items()},
        "vanishing_yet_learns": vanishing_yet_learns(verdicts),
        "floorless": batch_norm_without_floor(verdicts),
    }


def metrics(spec, tables) -> dict:
    """For ``dvc exp show`` and the report's claims at a glance: per claim (by its key),
    under how many of the variants its verdict is the lecture's setting's."""
    return {key: {"study": w["study"], "same_verdict": len(w["same"]),
                  "variants": len(spec.names) - 1}
            for key, w in where(tables["verdicts"]).items()}
