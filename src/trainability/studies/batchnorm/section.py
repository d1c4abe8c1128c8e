"""The batch-norm study's report section: the numbers, tables and words-by-number its
template needs. Every sentence that reads a result is chosen here or in the template by a
computed value (a direction by the sign of an interval, a verdict), never fixed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trainability.claims import PASSES, Check, Claim, Sanity, bootstrap_mean
from trainability.data import load_dataset
from trainability.markdown import caption, figure, table
from trainability.model import BN_EPS
from trainability.scoring import Guess, Learns
from trainability.studies.batchnorm import claims as bn_claims
from trainability.studies.batchnorm.spec import (
    LECTURE_SETUP,
    LECTURE_SIGMOID,
    NONE,
    TITLE,
    placement_label,
    placement_layers,
)

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent


def _num(value, digits: int = 3, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def settings(spec, runs: pd.DataFrame, history: pd.DataFrame, test: Guess,
             train: Guess) -> pd.DataFrame:
    """Per activation and placement, over every seed (a diverged one scored as a constant
    guess: ``test`` on the test set, ``train`` on the training set): final test accuracy
    (mean, sample sd with ddof 1), final training loss, and final training accuracy as Keras
    reports it (the last epoch's mean over mini-batches: the lecture's measure; mean, min,
    max); and the counts. The same per-seed values as the claims' checks."""
    last = history[history.epoch == history.epoch.max()].drop(columns="status",
                                                              errors="ignore")
    last = last.merge(runs[["activation", "placement", "seed", "status"]])
    rows = []
    for act in spec.activations:
        for placement in spec.placements:
            group = bn_claims.rows(runs, act, placement)
            if group.empty:
                continue
            acc = bn_claims.per_seed(runs, act, placement, test)
            keras = bn_claims.per_seed(last, act, placement, train, "running_acc")
            rows.append({
                "activation": act, "placement": placement, "n": len(group),
                "n_diverged": int((group.status != "ok").sum()),
                "test_acc": acc.mean(), "test_acc_sd": acc.std(ddof=1),
                "train_loss": bn_claims.per_seed(runs, act, placement, train,
                                                 "train_loss").mean(),
                "running_acc": keras.mean(), "running_acc_min": keras.min(),
                "running_acc_max": keras.max(),
            })
    return pd.DataFrame(rows)


def _row(settings: pd.DataFrame, activation: str, placement: str):
    sel = settings[(settings.activation == activation) & (settings.placement == placement)]
    return sel.iloc[0] if len(sel) else None


def fmt_acc(row) -> str:
    """``0.984 ± 0.002 (n = 10)``: mean ± sd over the seeds, a diverged one scored as a
    constant guess."""
    text = f"{row.test_acc:.3f}" + (f" ± {row.test_acc_sd:.3f}" if row.n > 1 else "")
    return text + f" (n = {int(row.n)}" + (f"; {int(row.n_diverged)} diverged)"
                                            if row.n_diverged else ")")


def settings_table(spec, settings: pd.DataFrame, claims: dict[str, Claim]) -> str:
    """Per activation and placement: final test accuracy, training loss, and the paired
    gain over no batch norm with its interval (from the claims' checks and no-harm checks)."""
    gains = {c.what: c for key in ("bn-rescues-sigmoid", "bn-harmless")
             for c in [*claims[key].checks, *claims[key].apart]}
    rows = []
    for r in settings.itertuples():
        label = placement_label(r.placement)
        gain = gains.get(f"{r.activation}, {label}") or gains.get(f"{r.activation}, {label}: gain")
        rows.append([r.activation, label, fmt_acc(r), _num(r.train_loss),
                     "reference" if r.placement == NONE else gain.shown if gain else "n/a"])
    return table(rows, ["activation", "setting", "final test accuracy (mean ± sd)",
                        "final train loss (nats)", "gain over no BN, paired [95% interval]"])


def direction(lo: float, hi: float, below: str, above: str, neither: str) -> str:
    """A word chosen by where a 95% interval lies relative to 0."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return neither
    return below if hi < 0 else above if lo > 0 else neither


def ratio_rows(spec, ratios: pd.DataFrame) -> list[dict]:
    """Per activation and placement: mean log10 r with its interval, the geometric mean r,
    and how the first layer's gradient compares with the classifier's (by the interval)."""
    out = []
    for act in spec.activations:
        for p in spec.placements:
            values = bn_claims.log_ratios(ratios, act, p)
            mean, lo, hi, n = bootstrap_mean(values.to_numpy())
            factor = 10 ** abs(mean) if math.isfinite(mean) else math.nan
            out.append({
                "activation": act, "placement": p, "label": placement_label(p), "n": n,
                "mean": mean, "lo": lo, "hi": hi, "factor": factor,
                "compared": direction(lo, hi, "smaller", "larger", "not clearly different"),
            })
    return out


def ratio_table(rows: list[dict]) -> str:
    def words(r):
        if r["compared"] == "not clearly different":
            return "not clearly different from"
        return f"{r['factor']:.3g}x {r['compared']} than"

    return table([[r["activation"], r["label"],
                   f"{_num(r['mean'], 2, True)} [{_num(r['lo'], 2, True)}, "
                   f"{_num(r['hi'], 2, True)}]", r["n"], f"{words(r)} the classifier's"]
                  for r in rows],
                 ["activation", "setting", "mean log10 r [95% interval]", "seeds",
                  "first layer's gradient norm (geometric mean)"])


def lecture_comparison(spec, settings: pd.DataFrame) -> list[dict]:
    """The sigmoid network's final training accuracy as Keras reports it (the lecture's
    measure) next to the lecture's single runs: mean, range over seeds, inside or not."""
    out = []
    for p, value in LECTURE_SIGMOID.items():
        r = _row(settings, "sigmoid", p)
        if r is None:
            continue
        out.append({"label": placement_label(p), "lecture": value, "mean": r.running_acc,
                    "min": r.running_acc_min, "max": r.running_acc_max,
                    "inside": bool(r.running_acc_min <= value <= r.running_acc_max)})
    return out


def setup_differences(spec) -> list[str]:
    """Where this configuration's setup differs from the lecture's, as far as that is known
    (constants; where eps sits is not known, so it is not among them)."""
    ours = {"init": spec.init, "init_scale": spec.init_scale,
            "classifier_init": spec.classifier_init, "width": spec.width, "depth": spec.depth,
            **{k: spec.train[k] for k in ("optimizer", "lr", "eps", "batch_size", "epochs")}}
    return [f"{k} {ours[k]} (the lecture's: {v})" for k, v in LECTURE_SETUP.items()
            if ours[k] != v]


def backward_factors(spec, layers: pd.DataFrame) -> list[dict]:
    """Per batch-norm placement of the sigmoid network at initialization: each normalized
    layer's output std over points and units (mean over seeds), and a lower bound of the
    factor ``1 / sqrt(var + eps)`` batch norm multiplies the gradient by, averaged over
    units and seeds: per model ``1 / sqrt(std**2 + eps)`` (a unit's variance is on average
    at most the pooled one, and 1/sqrt is convex), then the mean over seeds."""
    at = layers[(layers.activation == "sigmoid") & (layers.epoch == 0)]
    out = []
    for p in spec.placements:
        rows = at[(at.placement == p) & at.layer.isin(placement_layers(p, spec.depth))]
        if p == NONE or rows.empty:
            continue
        rows = rows.assign(bound=1.0 / np.sqrt(rows.act_std ** 2 + BN_EPS))
        per = rows.groupby("layer")[["act_std", "bound"]].mean()
        out.append({"label": placement_label(p), "layers": ", ".join(map(str, per.index)),
                    "several": len(per) > 1,
                    "std": _span(per.act_std.min(), per.act_std.max(), ".3f"),
                    "factor": _span(per.bound.min(), per.bound.max(), ".3g"),
                    "factor_min": float(per.bound.min()), "factor_max": float(per.bound.max())})
    return out


def _span(lo: float, hi: float, fmt: str) -> str:
    """``0.109``, or ``0.050 to 0.200`` when the ends differ as printed."""
    a, b = format(float(lo), fmt), format(float(hi), fmt)
    return a if a == b else f"{a} to {b}"


def forward_signal(spec, layers: pd.DataFrame) -> dict | None:
    """The sigmoid network without batch norm at initialization: range over hidden layers
    of the output mean and std (means over seeds)."""
    at = layers[(layers.activation == "sigmoid") & (layers.placement == NONE)
                & (layers.epoch == 0) & (layers.layer <= spec.depth)]
    if at.empty:
        return None
    per = at.groupby("layer")[["act_mean", "act_std"]].mean()
    return {"mean_min": per.act_mean.min(), "mean_max": per.act_mean.max(),
            "std_min": per.act_std.min(), "std_max": per.act_std.max()}


def layer_table(spec, layers: pd.DataFrame) -> dict:
    """The sigmoid network (or the first activation) layer by layer at initialization and
    at the last epoch: activation mean / std and gradient norm, means over seeds."""
    act = "sigmoid" if "sigmoid" in spec.activations else spec.activations[0]
    last = spec.diagnostic_epochs[-1]
    at = layers[(layers.activation == act) & layers.epoch.isin([0, last])]
    means = at.groupby(["placement", "layer", "epoch"])[["act_mean", "act_std",
                                                         "grad_norm"]].mean()
    rows = []
    for p in spec.placements:
        for layer in range(1, spec.depth + 2):
            cells = [placement_label(p) if layer == 1 else "",
                     "classifier" if layer == spec.depth + 1 else str(layer)]
            for epoch in (0, last):
                if (p, layer, epoch) not in means.index:
                    cells += ["", ""]
                    continue
                s = means.loc[(p, layer, epoch)]
                cells += ["" if not np.isfinite(s.act_mean)
                          else f"{s.act_mean:.2f} / {s.act_std:.2f}", f"{s.grad_norm:.2g}"]
            rows.append(cells)
    header = ["setting", "layer", "epoch 0: act. mean / std", "epoch 0: grad norm",
              f"epoch {last}: act. mean / std", f"epoch {last}: grad norm"]
    return {"activation": act, "last": last, "table": table(rows, header)}


def grid_seeds(spec, runs: pd.DataFrame, test: Guess) -> dict | None:
    """The sigmoid network without batch norm split by seed: those the grid trains too
    (``spec.grid_seeds``: the same runs) and those only this study trains; None when the
    grid does not train it as here, or it was not trained."""
    if spec.grid_seeds is None or not bn_claims.rows(runs, "sigmoid", NONE).size:
        return None
    acc = bn_claims.per_seed(runs, "sigmoid", NONE, test)
    shared, own = acc[acc.index < spec.grid_seeds], acc[acc.index >= spec.grid_seeds]
    return {"seeds": spec.grid_seeds, "n_shared": len(shared), "n_own": len(own),
            "shared": float(shared.mean()) if len(shared) else math.nan,
            "own": float(own.mean()) if len(own) else math.nan}


def figures(spec, rel: str) -> dict[str, str]:
    """Every figure's markdown, keyed by file name, its caption from captions/<kind>.rst."""
    out = {}
    for name, kind in spec.figures():
        text = caption(HERE, kind)
        if kind == "layers":
            act = name.removeprefix("layers_").removesuffix(".png")
            text = f"The {act} network. {text}"
        out[name] = figure(rel, name, text)
    return out


def context(spec, tables, claims: list[Claim], sanity: list[Sanity], rel: str) -> dict:
    runs, ratios, layers = (tables[k] for k in ("runs", "ratios", "layers"))
    data = load_dataset(spec.dataset)
    test, train = Guess.of(data.y_test), Guess.of(data.y_train)
    learns = Learns.of(spec)
    by_key = {c.key: c for c in claims}
    base: Check | None = bn_claims.baseline(runs, learns, test)
    rows = ratio_rows(spec, ratios)
    scored = settings(spec, runs, tables["history"], test, train)
    return {
        "spec": spec,
        "title": TITLE,
        "claims": by_key,
        "figures": figures(spec, rel),
        "labels": {p: placement_label(p) for p in spec.placements},
        "sanity": sanity,
        "n_models": len(runs),
        "n_train": len(data.y_train),
        "chance": test.accuracy,
        "learns": learns,
        "gain": bn_claims.GAIN,
        "slack": bn_claims.SLACK,
        "base": base,
        "base_verdict": base.verdict if base else None,
        "passes": PASSES,
        "grid": grid_seeds(spec, runs, test),
        "settings_table": settings_table(spec, scored, by_key),
        "lecture": lecture_comparison(spec, scored),
        "differences": setup_differences(spec),
        "ratio_table": ratio_table(rows),
        "sigmoid_ratio": next((r for r in rows if r["activation"] == "sigmoid"
                               and r["placement"] == NONE), None),
        "forward": forward_signal(spec, layers),
        "backward": backward_factors(spec, layers),
        "layer_table": layer_table(spec, layers),
        "bn_eps": BN_EPS,
    }


def metrics(spec, tables) -> dict:
    """Headline numbers for ``dvc exp show``: per activation and placement, the mean final
    test accuracy; and the sigmoid network's mean log10 gradient ratio at initialization."""
    data = load_dataset(spec.dataset)
    scored = settings(spec, tables["runs"], tables["history"], Guess.of(data.y_test),
                      Guess.of(data.y_train))
    out = {}
    for r in scored.itertuples():
        out.setdefault(r.activation, {})[r.placement] = {"test_acc": _round(r.test_acc)}
    ratios = tables["ratios"]
    for p in spec.placements:
        values = bn_claims.log_ratios(ratios, "sigmoid", p)
        if len(values) and "sigmoid" in out:
            out["sigmoid"][p]["log10_grad_ratio"] = _round(values.mean())
    return out


def _round(x):
    return None if x is None or pd.isna(x) else round(float(x), 6)
