"""Structured pruning: cut a wide regularized network down to k units per hidden layer, then
fine-tune it, rewind it, or train a width-k network from scratch.

The retrainings of one width k share the architecture, so they train together: every
seed's fine-tuning in one batch, every rewound and every fresh network (same epochs) in
another, whichever target (a fixed k, or a seed's own live width) asked for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainability import prune
from trainability.jobs import evaluate
from trainability.model import Architecture, Layout, init_params
from trainability.studies.size.training import (
    SCRATCH_STREAM,
    Protocol,
    Split,
    concat,
    fit,
    model_rows,
)

ARMS = ("pruned", "finetune", "rewind", "scratch")


def live_units(theta: np.ndarray, arch: Architecture, X: np.ndarray, tau: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(live (K, depth, width) bool, rank key)``: a unit is live unless activation-dead on
    ``X`` or norm-dead at ``tau``; the key orders live units by score before dead ones."""
    layout = Layout(arch)
    scores = prune.unit_scores(theta, layout)
    live = (prune.active_fraction(theta, arch, X) > 0) & ~prune.norm_dead(scores, tau)
    return live, np.where(live, scores, -1.0)


def _retrain(protocol, split, k, seeds, cut, start, finetune_epochs) -> dict[str, dict]:
    """The three retrained arms of width-``k`` networks (rows per seed), unregularized."""
    n = len(seeds)
    fresh = init_params(Layout(protocol.arch(k)), protocol.init, seeds, stream=SCRATCH_STREAM)
    finetune = fit(protocol, k, split, seeds, theta0=cut, epochs=finetune_epochs,
                   regularized=False)
    both = fit(protocol, k, split, seeds * 2, theta0=np.concatenate([start, fresh]),
               regularized=False)
    return {"finetune": model_rows(finetune), "rewind": model_rows(both.rows(slice(0, n))),
            "scratch": model_rows(both.rows(slice(n, 2 * n)))}


def structured_run(protocol: Protocol, split: Split, width: int, seeds: Sequence[int],
                   widths: Sequence[int], tau: float, finetune_epochs: int) -> dict:
    """Train ``width`` with the protocol's regularization; then, for every target width k
    (each of ``widths`` below ``width``, and each seed's own number of live units), keep the
    k best units of every hidden layer and compare, one row per arm x k x seed:

    - ``pruned``: the cut network as it is;
    - ``finetune``: the cut network trained ``finetune_epochs`` more epochs;
    - ``rewind``: the kept units reset to their initial weights, trained from there;
    - ``scratch``: a fresh network of width k (stream ``SCRATCH_STREAM``) trained.

    Retraining uses the protocol without regularization. The source networks' rows are
    arm ``source``; ``source_live (K, depth)`` gives each seed's live units per layer.
    """
    seeds = [int(s) for s in seeds]
    arch = protocol.arch(width)
    source = fit(protocol, width, split, seeds)
    finite = np.isfinite(source.theta).all(axis=1)
    theta = np.where(finite[:, None], source.theta, 0.0)
    live, key = live_units(theta, arch, split.fit.X_train, tau)
    n_live = live.sum(axis=2)  # (K, depth)
    k_eff = np.maximum(n_live.max(axis=1), 1)
    targets = [("fixed", k, np.arange(len(seeds))) for k in sorted(set(widths)) if k < width]
    targets += [("live", int(k), np.flatnonzero(k_eff == k)) for k in np.unique(k_eff)]
    rows = [_arm_rows("source", "source", width, seeds, model_rows(source))]
    for k in sorted({k for _, k, _ in targets}):
        # a seed asked for by two targets of one k is the same network: train it once
        idx = np.unique(np.concatenate([i for _, kk, i in targets if kk == k]))
        s = [seeds[i] for i in idx]
        keep = prune.top_units(key[idx], k)
        small, cut = prune.remove_units(theta[idx], arch, keep)
        _, start = prune.remove_units(source.theta0[idx], arch, keep)
        acc, loss = evaluate(small, cut, split.X_test, split.y_test)
        val_acc, _ = evaluate(small, cut, split.fit.X_test, split.fit.y_test)
        nan = np.full(len(s), np.nan)
        results = {"pruned": {"test_acc": acc, "test_loss": loss, "val_acc": val_acc,
                              "early_stop": nan, "censored": np.zeros(len(s), bool),
                              "epochs_to_95": nan, "diverged": np.zeros(len(s), bool),
                              "float32_fault": np.zeros(len(s), bool)}}
        results |= _retrain(protocol, split, k, s, cut, start, finetune_epochs)
        for target, _, want in (t for t in targets if t[1] == k):
            at = np.searchsorted(idx, want)
            for arm in ARMS:
                picked = {c: v[at] for c, v in results[arm].items()}
                rows.append(_arm_rows(arm, target, k, [seeds[i] for i in want], picked))
    out = concat(rows)
    out["source_live"] = n_live
    out["source_seed"] = np.asarray(seeds)
    return out


def _arm_rows(arm: str, target: str, k: int, seeds: Sequence[int], values: dict) -> dict:
    n = len(seeds)
    return {"arm": np.full(n, arm), "target": np.full(n, target), "k": np.full(n, k),
            "seed": np.asarray(seeds, dtype=int), **values}
