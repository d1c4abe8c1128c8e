"""Tidy tables of the size study from its run files, one per model and one summary per
sub-study:

- ``splits``: per dataset x split (fit, validation, test): its points, what a constant
  guess of the larger class scores and the ceiling, the best possible classifier's
  accuracy (``ceiling.py``);
- width: ``width_runs`` (every model of the width jobs, unregularized and regularized:
  dataset, regularizer, width, seed, accuracies, epochs, success on the test and on the
  validation split) and ``width`` (per dataset x width of the width study, unregularized:
  success rate with its Wilson 95% interval, the validation success rate, quartiles of the
  test accuracy and of the epochs to 95% training accuracy);
- born dead (with the width study): ``born_dead_runs`` (per model of the width study: the
  first hidden layer inactive on every fit point at initialization and at the end, and its
  fate: born dead, died in training, alive or diverged) and ``born_dead`` (per dataset x
  depth x width: the born-dead rate with its Wilson interval, the Monte-Carlo prediction
  with its own, the one-point probability, and the failed seeds by fate; ``born_dead.py``);
- dead: ``dead_runs`` (per model x hidden layer x tau: activation-dead, norm-dead and dead
  shares, live units, APoZ) and ``dead`` (per dataset x regularizer x width x tau: mean
  shares, the effective width ``k_eff``, the largest number of live units of any hidden
  layer, with its quartiles);
- lottery: ``lottery_runs`` (per arm x level x draw x seed) and ``lottery`` (per dataset x
  arm x level: test and validation accuracy, early-stopping epochs and their censoring);
- structured: ``structured_runs``, ``structured`` (per dataset x target x arm x k: success
  rates on test and validation) and ``structured_live`` (live units per layer of every
  source network).

Success: a final accuracy at least ``learns.accuracy`` (params.yaml: the one meaning of
"learns"), on the test split (``success``, what is reported) or on the validation split
(``val_success``, what choices are made on). A model whose loss left the finite numbers has
``status`` "diverged": it fails every success criterion and its accuracies are the constant
guess's on that split (``scoring.per_seed``), so every mean, quartile and choice below
counts it as a network that learned nothing, never leaves it out.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from trainability.claims import wilson
from trainability.data import dataset_meta, load_dataset
from trainability.io import InputError, load_npz
from trainability.prune import weights_of_width
from trainability.scoring import Learns, per_seed
from trainability.studies.size import born_dead
from trainability.studies.size.ceiling import guess, splits_table
from trainability.studies.size.runs import REGULARIZERS, unit_key
from trainability.studies.size.training import Protocol, split


def build(spec) -> dict[str, pd.DataFrame]:
    threshold = Learns.of(spec).accuracy
    files = spec.run_files()
    if not files:
        return {}
    splits = splits_table([_load(path)[0] for path in files])
    out = {"splits": splits}
    if spec.enabled("width") or spec.enabled("dead"):
        models, units = width_models(spec.width_files(), threshold, splits)
        out["width_runs"] = models
        if spec.enabled("width"):
            runs = models[(models.regularizer == "none")
                          & models.width.isin(spec.width["widths"])]
            out["width"] = width_summary(runs)
            born, drawn = born_dead_runs(spec.width_files(), runs, units, spec.dataset_file)
            out |= {"born_dead_runs": born, "born_dead": born_dead_summary(born, drawn)}
        if spec.enabled("dead"):
            taus = sorted(set(spec.dead["taus"]) | {spec.dead["tau"]})
            dead = dead_runs(models, units, taus, min(spec.dead["widths"]))
            out |= {"dead_runs": dead, "dead": dead_summary(dead, spec.dead["tau"])}
    if spec.enabled("lottery"):
        runs = lottery_runs(spec.lottery_files(), splits)
        out |= {"lottery_runs": runs, "lottery": lottery_summary(runs)}
    if spec.enabled("structured"):
        runs, live = structured_runs(spec.structured_files(), threshold, splits)
        out |= {"structured_runs": runs, "structured": structured_summary(runs),
                "structured_live": live}
    return out


def _load(path, required=()) -> tuple[dict, dict]:
    arrays = load_npz(path, ("meta", *required))
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: corrupt metadata ({e})") from None
    return meta, arrays


def scored(models: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """``models`` (with a boolean ``diverged`` column from the run files) with ``status``
    instead, and a diverged model's ``test_acc`` and ``val_acc`` the constant guess's on
    its dataset's test and validation split (the policy of ``scoring``)."""
    out = models.assign(status=np.where(models.diverged.astype(bool), "diverged", "ok"))
    out = out.drop(columns="diverged").reset_index(drop=True)
    for name, rows in out.groupby("dataset"):
        for column, part in (("test_acc", "test"), ("val_acc", "validation")):
            out.loc[rows.index, column] = per_seed(rows, column, guess(splits, name, part)
                                                   ).to_numpy()
    return out


def with_success(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    ok = frame.status == "ok"
    return frame.assign(threshold=threshold, success=ok & (frame.test_acc >= threshold),
                        val_success=ok & (frame.val_acc >= threshold))


def _quartiles(g, column: str, prefix: str) -> pd.DataFrame:
    q = g[column].quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = [f"{prefix}_q25", f"{prefix}_median", f"{prefix}_q75"]
    return q


def _rates(g) -> pd.DataFrame:
    """Test and validation success counts and rates; the test rate's Wilson interval."""
    out = pd.DataFrame({"n": g.size(), "successes": g.success.sum().astype(int),
                        "val_successes": g.val_success.sum().astype(int)})
    out["success_rate"] = out.successes / out.n
    out["val_success_rate"] = out.val_successes / out.n
    ci = [wilson(s, n) for s, n in zip(out.successes, out.n, strict=True)]
    out["ci_low"], out["ci_high"] = [c[0] for c in ci], [c[1] for c in ci]
    return out


# ---------------------------------------------------------------- width and dead units

MODEL_COLUMNS = ("regularizer", "width", "seed", "test_acc", "val_acc", "train_acc",
                 "early_stop", "censored", "epochs_to_95", "diverged", "float32_fault")


def width_models(paths, threshold: float, splits: pd.DataFrame
                 ) -> tuple[pd.DataFrame, dict]:
    """Every model of the width jobs (one row each) and their per-unit arrays, keyed by
    ``(dataset, regularizer, width)``."""
    frames, units = [], {}
    for path in paths:
        meta, a = _load(path, MODEL_COLUMNS)
        name, depth = meta["dataset"]["name"], int(meta["depth"])
        strength = {"none": 0.0, "l2": meta["l2"], "group_lasso": meta["group_lasso"]}
        frame = pd.DataFrame({"dataset": name, **{c: a[c] for c in MODEL_COLUMNS},
                              "depth": depth, "epochs": int(meta["epochs"])})
        frame["strength"] = frame.regularizer.map(strength)
        frame["weights"] = [weights_of_width(Protocol(depth=depth).arch(1), w)
                            for w in frame.width]
        frames.append(frame)
        for reg in REGULARIZERS:
            for w in sorted(set(frame.width[frame.regularizer == reg])):
                units[(name, reg, int(w))] = (a[unit_key("active", reg, w)],
                                              a[unit_key("scores", reg, w)],
                                              frame.seed[(frame.regularizer == reg)
                                                         & (frame.width == w)].to_numpy(),
                                              strength[reg])
    if not frames:
        raise InputError("no run files given")
    models = with_success(scored(pd.concat(frames, ignore_index=True), splits), threshold)
    for c in ("float32_fault", "censored"):
        models[c] = models[c].astype(bool)
    return models.sort_values(["dataset", "regularizer", "width", "seed"],
                              ignore_index=True), units


def width_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "width"])
    out = _rates(g)
    out["weights"] = g.weights.first()
    out["threshold"] = g.threshold.first()
    out = out.join(_quartiles(g, "test_acc", "acc"))
    out["val_acc_median"] = g.val_acc.median()
    out["acc_min"], out["acc_max"] = g.test_acc.min(), g.test_acc.max()
    out = out.join(_quartiles(g, "epochs_to_95", "epochs_to_95"))
    out["never_95"] = g.epochs_to_95.apply(lambda s: int(s.isna().sum()))
    out["diverged"] = g.status.apply(lambda s: int((s != "ok").sum()))
    return out.reset_index()


# ---------------------------------------------------------------- born dead

FATES = {"born dead": "born_dead", "died in training": "died", "alive": "alive",
         "diverged": "diverged"}  # a model's fate -> its column in ``born_dead``


def fit_points(path, meta: dict) -> np.ndarray:
    """The points the networks of a run file (``meta``) were fitted on, from its dataset
    file ``path``."""
    if dataset_meta(path) != meta["dataset"]:
        raise InputError(f"{path}: not the data the run files were trained on")
    return split(load_dataset(path), meta["validation_fraction"]).fit.X_train


def born_dead_runs(paths, runs: pd.DataFrame, units: dict, dataset_file
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per model of ``runs`` (the width study's, scored): the first hidden layer inactive
    on every fit point at initialization (``dead_init``, the initial weights recomputed
    from the seed) and after training (``dead_end``, from the run file's unit activity;
    NaN if diverged), 0 if none, and its fate. Also, per dataset and width where
    ``born_dead.DRAWS`` networks can see one, how many networks drawn by the initializer
    are born dead on the same fit points. ``dataset_file``: a dataset's name -> its file."""
    frames, drawn = [], []
    for path in paths:
        meta, _ = _load(path)
        name = meta["dataset"]["name"]
        X = fit_points(dataset_file(name), meta)
        protocol = Protocol(depth=int(meta["depth"]), init=meta["init"],
                            float32_from=meta["float32_from"])
        for width in sorted(set(runs.width[runs.dataset == name])):
            active, _, seeds, _ = units[(name, "none", int(width))]
            theta0 = born_dead.initial_params(protocol, width, seeds)
            frames.append(pd.DataFrame({
                "dataset": name, "width": width, "seed": seeds,
                "dead_init": born_dead.dead_layer(theta0, protocol, width, X),
                "dead_end": born_dead.first_dead_layer(active)}))
            if born_dead.resolvable(width, protocol.depth):
                drawn.append({"dataset": name, "depth": protocol.depth, "width": width,
                              "draws": born_dead.DRAWS,
                              "drawn_dead": born_dead.predicted(protocol, width, X)})
    columns = ["dataset", "depth", "width", "seed", "status", "test_acc", "success"]
    out = runs[columns].merge(pd.concat(frames), on=["dataset", "width", "seed"],
                              validate="one_to_one")
    drawn = pd.DataFrame(drawn, columns=["dataset", "depth", "width", "draws", "drawn_dead"])
    return with_fates(out).sort_values(["dataset", "width", "seed"], ignore_index=True), drawn


def with_fates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (per model: ``status``, the first dead layer at initialization
    ``dead_init`` and at the end ``dead_end``, 0 if none) with ``born_dead`` and ``fate``:
    born dead (whatever followed: nothing below a dead layer can move), else diverged
    (``dead_end`` becomes NaN: its unit activity is not finite), else died in training
    (dead at the end), else alive."""
    diverged = frame.status == "diverged"
    out = frame.assign(dead_end=frame.dead_end.where(~diverged), born_dead=frame.dead_init > 0)
    out["fate"] = np.select([out.born_dead, diverged, out.dead_end > 0],
                            ["born dead", "diverged", "died in training"], "alive")
    return out


def born_dead_summary(runs: pd.DataFrame, drawn: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x depth x width: the born-dead rate with its Wilson interval; the
    prediction for independent initial networks (``drawn``: Monte-Carlo counts, with their
    Wilson interval; NaN where none were drawn) and the one-point probability, an upper
    bound; the failed seeds (test accuracy below the threshold) by fate."""
    keys = ["dataset", "depth", "width"]
    g = runs.groupby(keys)
    out = pd.DataFrame({"n": g.size(), "born_dead": g.born_dead.sum().astype(int),
                        "died": g.fate.apply(lambda s: int((s == "died in training").sum()))})
    failed = runs[~runs.success.astype(bool)]
    counts = failed.groupby(keys).fate.value_counts().unstack().reindex(columns=list(FATES))
    counts = counts.reindex(out.index).fillna(0).astype(int)
    out["failed"] = counts.sum(axis=1)
    out[[f"failed_{c}" for c in FATES.values()]] = counts.to_numpy()
    out = out.reset_index().merge(drawn, on=keys, how="left")
    out["born_dead_rate"] = out.born_dead / out.n
    ci = [wilson(k, n) for k, n in zip(out.born_dead, out.n, strict=True)]
    out["born_dead_low"], out["born_dead_high"] = [c[0] for c in ci], [c[1] for c in ci]
    out["predicted"] = out.drawn_dead / out.draws
    ci = [wilson(int(k), int(n)) if pd.notna(n) else (np.nan, np.nan)
          for k, n in zip(out.drawn_dead, out.draws, strict=True)]
    out["predicted_low"], out["predicted_high"] = [c[0] for c in ci], [c[1] for c in ci]
    out["one_point"] = [born_dead.one_point_probability(int(w), int(d))
                        for w, d in zip(out.width, out.depth, strict=True)]
    return out


def dead_runs(models: pd.DataFrame, units: dict, taus, min_width: int) -> pd.DataFrame:
    """One row per model x hidden layer x tau: unregularized networks from ``min_width``
    up and every regularized one. Models with non-finite parameters are left out."""
    frames = []
    acc = models.set_index(["dataset", "regularizer", "width", "seed"]).test_acc
    for (name, reg, width), (active, scores, seeds, strength) in sorted(units.items()):
        if reg == "none" and width < min_width:
            continue
        k, depth, _ = active.shape
        finite = np.isfinite(scores).all(axis=(1, 2))
        test_acc = acc.loc[[(name, reg, width, s) for s in seeds]].to_numpy()
        top = scores.max(axis=2, keepdims=True)
        act_dead = active == 0
        for tau in taus:
            norm_dead = (scores < tau * top) | (top == 0)
            dead = act_dead | norm_dead
            frames.append(pd.DataFrame({
                "dataset": name, "regularizer": reg, "strength": strength, "width": width,
                "seed": np.repeat(seeds, depth), "layer": np.tile(np.arange(1, depth + 1), k),
                "tau": tau, "act_dead": act_dead.mean(axis=2).ravel(),
                "norm_dead": norm_dead.mean(axis=2).ravel(), "dead": dead.mean(axis=2).ravel(),
                "live": (~dead).sum(axis=2).ravel(), "apoz": (1 - active).mean(axis=2).ravel(),
                "test_acc": np.repeat(test_acc, depth), "finite": np.repeat(finite, depth),
            }))
    if not frames:
        raise InputError("no dead-unit runs: size.dead.widths has no trained width")
    runs = pd.concat(frames, ignore_index=True)
    runs = runs[runs.finite].drop(columns="finite")
    return runs.sort_values(["dataset", "regularizer", "width", "tau", "seed", "layer"],
                            ignore_index=True)


def dead_summary(runs: pd.DataFrame, main_tau: float) -> pd.DataFrame:
    """Per dataset x regularizer x width x tau: mean shares over seeds and layers, the
    effective width (max live units over layers, per model) and per-layer median live."""
    keys = ["dataset", "regularizer", "strength", "width", "tau"]
    g = runs.groupby(keys)
    out = g[["act_dead", "norm_dead", "dead", "apoz"]].mean()
    per_model = runs.groupby(keys + ["seed"])
    k_eff = per_model.live.max().rename("k_eff").reset_index()
    acc = per_model.test_acc.first().reset_index()
    out = out.join(_quartiles(k_eff.groupby(keys), "k_eff", "k_eff"))
    out["test_acc_median"] = acc.groupby(keys).test_acc.median()
    out["n"] = k_eff.groupby(keys).size()
    live = runs.groupby(keys + ["layer"]).live.median().unstack("layer")
    live.columns = [f"live_median_{c}" for c in live.columns]
    layer_dead = runs.groupby(keys + ["layer"]).dead.mean().unstack("layer")
    layer_dead.columns = [f"dead_{c}" for c in layer_dead.columns]
    out = out.join(live).join(layer_dead).reset_index()
    return out.assign(main_tau=np.isclose(out.tau, main_tau))


# ---------------------------------------------------------------- lottery

LOTTERY_COLUMNS = ("arm", "level", "draw", "seed", "width", "weights", "density",
                   "struct_dead", "test_acc", "val_acc", "early_stop", "censored",
                   "epochs_to_95", "diverged", "float32_fault")


def lottery_runs(paths, splits: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for path in paths:
        meta, a = _load(path, LOTTERY_COLUMNS)
        frames.append(pd.DataFrame({
            "dataset": meta["dataset"]["name"], "big_width": int(meta["width"]),
            **{c: a[c] for c in LOTTERY_COLUMNS}, "epochs": int(meta["epochs"]),
        }))
    if not frames:
        raise InputError("no run files given")
    runs = scored(pd.concat(frames, ignore_index=True), splits)
    for c in ("float32_fault", "censored"):
        runs[c] = runs[c].astype(bool)
    return runs.sort_values(["dataset", "arm", "level", "draw", "seed"], ignore_index=True)


def lottery_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "arm", "level"])
    out = pd.DataFrame({
        "density": g.density.mean(), "weights": g.weights.mean(), "width": g.width.first(),
        "n": g.size(), "acc_mean": g.test_acc.mean(), "acc_sd": g.test_acc.std(ddof=1),
        "val_acc_mean": g.val_acc.mean(), "acc_min": g.test_acc.min(),
        "acc_max": g.test_acc.max(), "struct_dead": g.struct_dead.mean(),
        "censored": g.censored.mean(),
        "diverged": g.status.apply(lambda s: int((s != "ok").sum())),
        "epochs": g.epochs.first(),
    })
    out = out.join(_quartiles(g, "test_acc", "acc"))
    out = out.join(_quartiles(g, "early_stop", "early_stop"))
    out = out.join(_quartiles(g, "epochs_to_95", "epochs_to_95"))
    return out.reset_index()


# ---------------------------------------------------------------- structured

STRUCTURED_COLUMNS = ("arm", "target", "k", "seed", "test_acc", "val_acc", "early_stop",
                      "censored", "epochs_to_95", "diverged", "float32_fault", "source_live",
                      "source_seed")


def structured_runs(paths, threshold: float, splits: pd.DataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, live = [], []
    for path in paths:
        meta, a = _load(path, STRUCTURED_COLUMNS)
        name, width = meta["dataset"]["name"], int(meta["width"])
        frames.append(pd.DataFrame({"dataset": name, "big_width": width,
                                    **{c: a[c] for c in STRUCTURED_COLUMNS[:-2]}}))
        src = a["source_live"]  # (K, depth)
        live.append(pd.DataFrame({
            "dataset": name, "big_width": width, "seed": a["source_seed"],
            **{f"live_{i + 1}": src[:, i] for i in range(src.shape[1])},
            "k_eff": np.maximum(src.max(axis=1), 1),
        }))
    if not frames:
        raise InputError("no run files given")
    runs = with_success(scored(pd.concat(frames, ignore_index=True), splits), threshold)
    for c in ("float32_fault", "censored"):
        runs[c] = runs[c].astype(bool)
    runs = runs.sort_values(["dataset", "target", "arm", "k", "seed"], ignore_index=True)
    return runs, pd.concat(live, ignore_index=True)


def structured_summary(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby(["dataset", "target", "arm", "k"])
    out = _rates(g).join(_quartiles(g, "test_acc", "acc"))
    out["threshold"] = g.threshold.first()
    out["big_width"] = g.big_width.first()
    return out.reset_index()
