"""The tweaks study's tables, from its run files:

- runs: one row per model (activation, optimizer, variant, learning rate, seed), with its
  final validation and test accuracy and their scores (``val_score``, ``test_score``: the
  accuracy, or for a diverged model a constant guess of the split's larger class, by
  ``scoring.per_seed``);
- history: one row per model and epoch (training loss and accuracy, validation loss and
  accuracy; the test set is evaluated after training only, so it is in runs alone);
- summary: one row per configuration (``selection.summarize``);
- choices: every choice made on validation (``selection.choices``) with the test score of
  the chosen setting: mean over seeds and its 95% bootstrap interval, computed here once
  (the section's tables, its checks and the figures all read these values);
- starts: per activation and seed, how far the initial weights of its models differ across
  configurations (0: every configuration starts from the same weights).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainability.claims import bootstrap_mean
from trainability.data import load_dataset, split_validation
from trainability.io import InputError, load_run
from trainability.scoring import Guess, Learns, per_seed
from trainability.studies.tweaks import selection
from trainability.tables import run_frames

KEYS = ["activation", "optimizer", "variant", "lr", "seed"]
HISTORY = ["train_loss", "train_acc", "val_loss", "val_acc"]
RUN_DROP = ["study", "best_test_epoch"]  # best_test_epoch: no test history to take it from
SPLITS = ("val", "test")


def guesses(spec) -> dict[str, Guess]:
    """A constant guess of the larger class on the validation and the test points (what a
    diverged model scores there)."""
    data = load_dataset(spec.dataset)
    val = split_validation(data, spec.validation_fraction).y_test
    return {"val": Guess.of(val), "test": Guess.of(data.y_test)}


def load_runs(spec):
    """``(runs, history, starts)`` of the spec's run files."""
    runs, history, starts = [], [], []
    configurations = spec.configurations()
    for activation, path in zip(spec.activations, spec.run_files(), strict=True):
        r, h, _ = run_frames(path, "tweaks")
        meta, _, arrays = load_run(path)
        if len(configurations) > 1 and meta.get("settings") != spec.settings():
            raise InputError(f"{path}: not trained under this spec's optimizer settings "
                             "(delete it and rerun its job)")
        # each model's configuration (a file of one configuration has no index)
        index = arrays.get("settings", np.zeros(len(r), dtype=int))
        optimizer, variant = (np.asarray(c)[index] for c in zip(*configurations, strict=True))
        warmup = [spec.variant_settings(v)["warmup_epochs"] for v in variant]
        if "lr" not in h:  # one learning rate: the file's own
            h = h.assign(lr=float(r.lr.iloc[0]))
        epochs = len(h) // len(r)
        runs.append(r.assign(optimizer=optimizer, variant=variant, warmup_epochs=warmup))
        history.append(h.assign(optimizer=np.repeat(optimizer, epochs),
                                variant=np.repeat(variant, epochs)))
        starts.append(pd.DataFrame({"activation": activation, "seed": r.seed.to_numpy(),
                                    "theta0": list(arrays["theta0"])}))
    runs = pd.concat(runs, ignore_index=True)
    history = pd.concat(history, ignore_index=True)
    return runs, history, _starts(pd.concat(starts, ignore_index=True))


def _starts(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (act, seed), g in frame.groupby(["activation", "seed"], sort=False):
        stack = np.stack(g.theta0.to_list())
        rows.append({"activation": act, "seed": int(seed), "models": len(stack),
                     "max_abs_diff": float(np.max(np.abs(stack - stack[0])))})
    return pd.DataFrame(rows)


def scored(runs: pd.DataFrame, guess: dict[str, Guess]) -> pd.DataFrame:
    """``val_score`` and ``test_score``: the final accuracies, a diverged model scored as
    the split's constant ``guess``."""
    return runs.assign(**{f"{split}_score": per_seed(runs, f"{split}_acc", guess[split])
                          .to_numpy() for split in SPLITS})


def seed_scores(runs: pd.DataFrame, activation, optimizer, variant, lr,
                column: str = "test_score") -> pd.Series:
    """``column`` per seed of one configuration."""
    sel = runs[(runs.activation == activation) & (runs.optimizer == optimizer)
               & (runs.variant == variant) & np.isclose(runs.lr, lr, rtol=1e-9)]
    return sel.set_index("seed")[column]


def with_test_intervals(chosen: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The chosen settings' test scores: mean over seeds, 95% bootstrap interval, n."""
    stats = [bootstrap_mean(seed_scores(runs, c.activation, c.optimizer, c.variant, c.lr))
             for c in chosen.itertuples()]
    mean, lo, hi, n = (list(x) for x in zip(*stats, strict=True)) if stats else ([],) * 4
    return chosen.assign(test_acc_mean=mean, test_acc_lo=lo, test_acc_hi=hi, n=n)


def _front(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rest = [c for c in frame.columns if c not in keys]
    return frame[keys + rest]


def build(spec) -> dict[str, pd.DataFrame]:
    runs, history, starts = load_runs(spec)
    runs = _front(scored(runs.drop(columns=RUN_DROP), guesses(spec)), KEYS)
    history = _front(history, [*KEYS, "epoch"])[[*KEYS, "epoch", *HISTORY]]
    summary = selection.summarize(runs, Learns.of(spec).accuracy)
    chosen = with_test_intervals(selection.choices(summary, spec), runs)
    return {"runs": runs, "history": history, "summary": summary, "choices": chosen,
            "starts": starts}
