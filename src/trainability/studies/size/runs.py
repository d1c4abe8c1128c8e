"""The training jobs of the size study ("how big should the network be?"), NumPy only.

Every network here is ``input(2) -> depth x Dense(width, relu) -> Dense(1)`` trained by the
project's batched trainer with one protocol (``Protocol``). The training split of a
dataset file is cut into a *fit* part (trained on) and a *validation* part (its loss picks
the early-stopping epoch, as in Frankle & Carbin); the test split is touched only to score
the final parameters.

Random streams of model ``seed`` (``model.model_rng(seed, stream)``): 0 initial weights,
1 shuffling (both the trainer's), ``REINIT_STREAM + d`` the d-th random re-initialization
of a lottery ticket, ``SCRATCH_STREAM`` the small networks trained from scratch in the
structured-pruning study; random pruning masks draw from ``(seed, RANDOM_MASK_STREAM,
level)``.

Jobs (each returns a dict of arrays that ``io.save_npz`` writes):

- ``width_run``: one width, all its seeds: final accuracies, epochs to 95% training
  accuracy, and per hidden unit its active fraction on the fit points and its score;
- ``lottery_arm``: one arm of the lottery-ticket study over all pruning levels, one row per
  level x draw x seed;
- ``structured_run``: a wide regularized network cut down to fewer units, then fine-tuned,
  rewound or replaced by a small network trained from scratch, one row per arm x width x
  seed.

Group lasso is a proximal step the trainer takes after every optimizer step
(``train(..., after_step=...)``, see ``prox_group_lasso``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from trainability import prune
from trainability.data import Dataset
from trainability.model import Architecture, Layout, Network, init_params
from trainability.optim import OptimizerConfig
from trainability.studies.size import ARMS
from trainability.train import train

ACTIVATION = "relu"  # dead units, unit scores and removing units are ReLU notions
TRAINED = 0.95  # "reaches 95% training accuracy"
REINIT_STREAM = 10
RANDOM_MASK_STREAM = 20
SCRATCH_STREAM = 30
CHUNK_FLOATS = 100_000  # models per training call: about this many parameters in all
MAX_CHUNK = 400


# ---------------------------------------------------------------- protocol and data


@dataclass(frozen=True)
class Protocol:
    """How every network of the study is trained (``size.train`` in params.yaml)."""

    depth: int = 2
    init: str = "he_normal"
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 32
    epochs: int = 50
    l2: float = 0.0
    group_lasso: float = 0.0

    def arch(self, width: int) -> Architecture:
        return Architecture(self.depth, int(width), ACTIVATION)

    def optimizer_config(self) -> OptimizerConfig:
        return OptimizerConfig(self.optimizer, self.lr, l2=self.l2)


@dataclass(frozen=True)
class Split:
    """``fit``: what the trainer sees (its "test" arrays are the validation points);
    ``X_test``/``y_test``: the held-out test points."""

    fit: Dataset
    X_test: np.ndarray
    y_test: np.ndarray


def split_validation(data: Dataset, fraction: float) -> Split:
    """Cut the last ``fraction`` of the (already shuffled) training points off as the
    validation set."""
    n = len(data.y_train)
    n_val = int(round(n * fraction))
    if not 1 <= n_val < n:
        raise ValueError(f"validation fraction {fraction} of {n} training points leaves "
                         f"{n - n_val} to fit and {n_val} to validate; both need >= 1")
    fit = Dataset(data.X_train[: n - n_val], data.y_train[: n - n_val],
                  data.X_train[n - n_val :], data.y_train[n - n_val :])
    return Split(fit, data.X_test, data.y_test)


# ---------------------------------------------------------------- group lasso


def prox_group_lasso(theta: np.ndarray, layout: Layout, threshold: float) -> None:
    """In place: shrink, per hidden unit, the norm of its incoming group (weights and bias)
    and then of its outgoing group (weights) by ``threshold`` (block soft-thresholding;
    a group whose norm is below it becomes exactly 0).

    Taken after each optimizer step with ``threshold = lr * strength``, it is the proximal
    step of the penalty ``strength * sum_j (||(w_in_j, b_j)|| + ||w_out_j||)`` over hidden
    units j. Penalizing both sides makes a unit's penalty ``2 strength sqrt(s_j)`` at its
    best rescaling, so it cannot be dodged by moving weight from one side to the other; the
    two steps are taken one after the other because the groups overlap."""
    views = layout.views(theta)
    for i in range(layout.arch.depth):
        w_in, b, w_out = views[f"W{i}"], views[f"b{i}"], views[f"W{i + 1}"]
        norm = np.sqrt((w_in**2).sum(axis=1, keepdims=True) + b**2)
        factor = np.maximum(0.0, 1.0 - threshold / np.maximum(norm, 1e-300))
        w_in *= factor
        b *= factor
        norm = np.sqrt((w_out**2).sum(axis=2, keepdims=True))
        w_out *= np.maximum(0.0, 1.0 - threshold / np.maximum(norm, 1e-300))


# ---------------------------------------------------------------- training


@dataclass
class Trained:
    """K trained models: parameters and what the study records of each."""

    theta0: np.ndarray
    theta: np.ndarray
    test_acc: np.ndarray  # (K,) on the held-out test points, NaN if diverged
    test_loss: np.ndarray
    val_acc: np.ndarray  # (K,) final, on the validation points
    val_loss: np.ndarray  # (K, E+1) per epoch (epoch 0 = at the start)
    train_acc: np.ndarray  # (K, E+1) on the fit points
    diverged: np.ndarray  # (K,) bool
    checkpoints: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def early_stop(self) -> np.ndarray:
        """Epoch of minimum validation loss (NaN if diverged)."""
        loss = np.where(np.isnan(self.val_loss), np.inf, self.val_loss)
        return np.where(self.diverged, np.nan, loss.argmin(axis=1).astype(float))

    @property
    def epochs_to_95(self) -> np.ndarray:
        """First epoch with training accuracy >= 0.95 (NaN if never)."""
        reached = self.train_acc >= TRAINED
        return np.where(reached.any(axis=1), reached.argmax(axis=1).astype(float), np.nan)


def evaluate(arch: Architecture, theta: np.ndarray, X: np.ndarray, y: np.ndarray):
    """``(accuracy, loss)`` per model on ``X, y`` (NaN where the parameters are not finite)."""
    net = Network(arch)
    with np.errstate(all="ignore"):
        logits, _ = net.forward(net.bind(np.asarray(theta, dtype=np.float64)), X)
    y = np.asarray(y, dtype=np.float64).reshape(1, -1, 1)
    acc = ((logits > 0) == y).mean(axis=(1, 2))
    loss = (np.logaddexp(0.0, logits) - y * logits).mean(axis=(1, 2))
    bad = ~np.isfinite(theta).all(axis=1)
    return np.where(bad, np.nan, acc), np.where(bad, np.nan, loss)


def chunk_size(arch: Architecture) -> int:
    """Models per training call: wide models in small batches (memory traffic), narrow ones
    in large batches (per-step overhead)."""
    return int(np.clip(CHUNK_FLOATS // Layout(arch).size, 1, MAX_CHUNK))


def fit(protocol: Protocol, width: int, split: Split, seeds: Sequence[int], *,
        theta0: np.ndarray | None = None, mask: np.ndarray | None = None,
        epochs: int | None = None, checkpoints: Sequence[int] = (),
        regularized: bool = True) -> Trained:
    """Train one model per entry of ``seeds`` (repeats allowed: the seed picks the initial
    weights when ``theta0`` is None and always the shuffling order), in chunks.

    ``regularized=False`` drops the protocol's L2 and group lasso (fine-tuning, retraining).
    A mask is checked after training: pruned weights must be exactly zero.
    """
    arch = protocol.arch(width)
    layout = Layout(arch)
    seeds = [int(s) for s in seeds]
    if theta0 is None:
        theta0 = init_params(layout, protocol.init, seeds)
    epochs = protocol.epochs if epochs is None else epochs
    cfg = protocol.optimizer_config()
    strength = protocol.group_lasso if regularized else 0.0
    if not regularized:
        cfg = replace(cfg, l2=0.0)
    prox = None
    if strength > 0:
        def prox(theta, lr):
            prox_group_lasso(theta, layout, lr * strength)
    step = chunk_size(arch)
    parts = []
    for start in range(0, len(seeds), step):
        sl = slice(start, start + step)
        m = None if mask is None else (mask if mask.ndim == 1 else mask[sl])
        parts.append(train(arch, cfg, split.fit, seeds[sl], epochs=epochs,
                           batch_size=protocol.batch_size, theta0=theta0[sl], mask=m,
                           checkpoints=checkpoints, diagnostics=False, after_step=prox))
    theta = np.concatenate([r.theta for r in parts])
    if mask is not None:
        held = np.broadcast_to(mask, theta.shape) == 0
        if np.any(theta[held] != 0):
            raise RuntimeError("a pruned weight moved during training: the mask did not hold")
    test_acc, test_loss = evaluate(arch, theta, split.X_test, split.y_test)
    hist = {k: np.concatenate([r.history[k] for r in parts]) for k in ("test_loss",
                                                                       "test_acc", "train_acc")}
    return Trained(
        theta0=np.concatenate([r.theta0 for r in parts]),
        theta=theta,
        test_acc=test_acc,
        test_loss=test_loss,
        val_acc=hist["test_acc"][:, -1],
        val_loss=hist["test_loss"],
        train_acc=hist["train_acc"],
        diverged=np.concatenate([r.diverged_epoch >= 0 for r in parts]),
        checkpoints={e: np.concatenate([r.checkpoints[e] for r in parts]) for e in checkpoints},
    )


def _model_rows(t: Trained, epoch_offset: int = 0) -> dict[str, np.ndarray]:
    return {
        "test_acc": t.test_acc,
        "test_loss": t.test_loss,
        "val_acc": t.val_acc,
        "early_stop": t.early_stop + epoch_offset,
        "epochs_to_95": t.epochs_to_95 + epoch_offset,
        "diverged": t.diverged,
    }


# ---------------------------------------------------------------- width (and dead units)


def width_run(protocol: Protocol, split: Split, width: int, seeds: Sequence[int]) -> dict:
    """Train ``width`` for every seed; record accuracies and per-unit statistics.

    ``active (K, depth, width)``: share of fit points on which a unit is active;
    ``scores``: the unit scores ``||(w_in, b)|| ||w_out||`` of the trained network.
    """
    t = fit(protocol, width, split, seeds)
    arch = protocol.arch(width)
    layout = Layout(arch)
    finite = np.isfinite(t.theta).all(axis=1)
    theta = np.where(finite[:, None], t.theta, 0.0)
    return {
        "seed": np.asarray(seeds),
        **_model_rows(t),
        "train_acc": t.train_acc[:, -1],
        "active": np.where(finite[:, None, None], prune.active_fraction(theta, arch,
                                                                      split.fit.X_train), np.nan),
        "scores": np.where(finite[:, None, None], prune.unit_scores(theta, layout), np.nan),
    }


# ---------------------------------------------------------------- lottery tickets


@dataclass(frozen=True)
class Pruning:
    """Per-round pruning rates of the weight matrices and where to stop."""

    first: float = 0.1
    hidden: float = 0.2
    output: float = 0.1
    target_density: float = 0.01

    def levels(self, layout: Layout) -> list[dict[str, int]]:
        rates = prune.layer_rates(layout, self.first, self.hidden, self.output)
        return prune.schedule(layout, rates, self.target_density)


def _lottery_rows(layout, level, draw, seeds, mask, t: Trained, epoch_offset=0,
                  width=None) -> dict[str, np.ndarray]:
    k = len(seeds)
    counts = prune.counts_of(mask, layout) if mask is not None else None
    total = sum(prune.layer_sizes(layout).values())
    weights = counts.sum(axis=1) if counts is not None else np.full(k, total)
    struct = (prune.structurally_dead(mask, layout).mean(axis=(1, 2)) if mask is not None
              else np.zeros(k))
    return {
        "level": np.broadcast_to(level, k),
        "draw": np.broadcast_to(draw, k),
        "seed": np.asarray(seeds),
        "width": np.full(k, layout.arch.width if width is None else width),
        "weights": weights,
        "density": weights / total,
        "struct_dead": struct,
        **_model_rows(t, epoch_offset),
    }


def _concat(rows: list[dict]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([np.asarray(r[key]) for r in rows]) for key in rows[0]}


def imp(protocol: Protocol, split: Split, width: int, seeds: Sequence[int],
        pruning: Pruning, rewind_epoch: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Iterative magnitude pruning with rewinding: train, prune each layer's smallest
    surviving weights, reset the survivors to their values at ``rewind_epoch`` (0: the
    original initialization), train again for the remaining epochs; every level.

    Returns ``(rows, masks (L, K, P) uint8, theta0 (K, P))``.
    """
    layout = Layout(protocol.arch(width))
    levels = pruning.levels(layout)
    if not 0 <= rewind_epoch < protocol.epochs:
        raise ValueError(f"rewind epoch must be in 0..{protocol.epochs - 1}, got {rewind_epoch}")
    mask = prune.full_mask(layout, len(seeds))
    dense = fit(protocol, width, split, seeds, mask=mask,
                checkpoints=[rewind_epoch] if rewind_epoch else ())
    theta0 = dense.theta0
    rewind_to = dense.checkpoints[rewind_epoch] if rewind_epoch else theta0
    rows = [_lottery_rows(layout, 0, 0, seeds, mask, dense)]
    masks = [mask.astype(np.uint8)]
    trained = dense
    for level, counts in enumerate(levels[1:], 1):
        mask = prune.magnitude_mask(trained.theta, mask, layout, counts)
        trained = fit(protocol, width, split, seeds, theta0=rewind_to * mask, mask=mask,
                      epochs=protocol.epochs - rewind_epoch)
        rows.append(_lottery_rows(layout, level, 0, seeds, mask, trained, rewind_epoch))
        masks.append(mask.astype(np.uint8))
    return _concat(rows), np.stack(masks), theta0


def lottery_arm(arm: str, protocol: Protocol, split: Split, width: int, seeds: Sequence[int],
                pruning: Pruning, *, draws: int = 3, rewind_epoch: int = 1,
                ticket: dict | None = None) -> dict:
    """One arm over every pruning level (level 0 is the dense network):

    - ``ticket``: IMP, survivors rewound to the original initialization;
    - ``late``: IMP, survivors rewound to their values after ``rewind_epoch`` epochs;
    - ``reinit``: the ticket's masks with ``draws`` fresh initializations each
      (needs ``ticket``, the arrays the ticket arm wrote);
    - ``random``: random masks with the ticket's per-layer counts, original initialization;
    - ``oneshot``: train the dense network once, prune it to each level's counts at once,
      rewind to the original initialization;
    - ``dense``: a dense network from scratch whose width gives the number of weights
      closest to each level's.

    The ticket arm's result also carries ``masks`` and ``theta0`` (for ``reinit``).
    """
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")
    seeds = [int(s) for s in seeds]
    arch = protocol.arch(width)
    layout = Layout(arch)
    levels = pruning.levels(layout)
    k = len(seeds)
    if arm in ("ticket", "late"):
        rows, masks, theta0 = imp(protocol, split, width, seeds, pruning,
                                  rewind_epoch if arm == "late" else 0)
        return rows | ({"masks": masks, "theta0": theta0} if arm == "ticket" else {})

    if arm == "dense":
        total = sum(prune.layer_sizes(layout).values())
        widths = [prune.width_for_weights(arch, sum(c.values())) for c in levels]
        results = {w: fit(protocol, w, split, seeds) for w in sorted(set(widths))}
        rows = []
        for level, w in enumerate(widths):
            r = _lottery_rows(Layout(protocol.arch(w)), level, 0, seeds, None, results[w])
            r["density"] = r["weights"] / total  # relative to the big network
            rows.append(r)
        return _concat(rows)

    # the other arms know every level's mask before training: train them all in one go
    theta0 = init_params(layout, protocol.init, seeds)
    plan = []  # (level, draw, theta0, mask) per block of K models
    if arm == "reinit":
        if ticket is None:
            raise ValueError("the reinit arm needs the ticket arm's masks")
        masks = np.asarray(ticket["masks"], dtype=np.float64)
        if masks.shape[1:] != (k, layout.size) or len(masks) != len(levels):
            raise ValueError(f"the ticket's masks {masks.shape} do not fit {len(levels)} "
                             f"levels of {k} models with {layout.size} parameters")
        for level in range(1, len(levels)):
            for d in range(draws):
                fresh = init_params(layout, protocol.init, seeds, stream=REINIT_STREAM + d)
                plan.append((level, d, fresh, masks[level]))
    elif arm == "random":
        for level in range(1, len(levels)):
            rngs = [np.random.default_rng(np.random.SeedSequence([s, RANDOM_MASK_STREAM,
                                                                  level])) for s in seeds]
            plan.append((level, 0, theta0, prune.random_mask(layout, levels[level], rngs)))
    else:  # oneshot
        dense = fit(protocol, width, split, seeds)
        full = prune.full_mask(layout, k)
        for level in range(1, len(levels)):
            plan.append((level, 0, theta0,
                         prune.magnitude_mask(dense.theta, full, layout, levels[level])))
    all_theta0 = np.concatenate([t0 * m for _, _, t0, m in plan])
    all_masks = np.concatenate([m for _, _, _, m in plan])
    t = fit(protocol, width, split, seeds * len(plan), theta0=all_theta0, mask=all_masks)
    rows = []
    for b, (level, d, _, m) in enumerate(plan):
        part = Trained(**{f: getattr(t, f)[b * k : (b + 1) * k] for f in (
            "theta0", "theta", "test_acc", "test_loss", "val_acc", "val_loss", "train_acc",
            "diverged")})
        rows.append(_lottery_rows(layout, level, d, seeds, m, part))
    return _concat(rows)


# ---------------------------------------------------------------- structured pruning


def live_units(theta: np.ndarray, arch: Architecture, X: np.ndarray, tau: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(live (K, depth, width) bool, rank key)``: a unit is live unless activation-dead on
    ``X`` or norm-dead at ``tau``; the key orders live units by score before dead ones."""
    layout = Layout(arch)
    scores = prune.unit_scores(theta, layout)
    live = (prune.active_fraction(theta, arch, X) > 0) & ~prune.norm_dead(scores, tau)
    return live, np.where(live, scores, -1.0)


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
    arm ``source``; ``live_1 .. live_depth`` give each seed's live units per layer.
    """
    seeds = [int(s) for s in seeds]
    arch = protocol.arch(width)
    source = fit(protocol, width, split, seeds)
    finite = np.isfinite(source.theta).all(axis=1)
    theta = np.where(finite[:, None], source.theta, 0.0)
    live, key = live_units(theta, arch, split.fit.X_train, tau)
    n_live = live.sum(axis=2)  # (K, depth)
    k_eff = np.maximum(n_live.max(axis=1), 1)
    rows = [{"arm": np.full(len(seeds), "source"), "target": np.full(len(seeds), "source"),
             "k": np.full(len(seeds), width), "seed": np.asarray(seeds), **_model_rows(source)}]
    groups = [("fixed", k, np.arange(len(seeds))) for k in sorted(set(widths)) if k < width]
    groups += [("live", int(k), np.flatnonzero(k_eff == k)) for k in np.unique(k_eff)]
    for target, k, idx in groups:
        s = [seeds[i] for i in idx]
        keep = prune.top_units(key[idx], k)
        small, cut = prune.remove_units(theta[idx], arch, keep)
        _, start = prune.remove_units(source.theta0[idx], arch, keep)
        acc, loss = evaluate(small, cut, split.X_test, split.y_test)
        val_acc, _ = evaluate(small, cut, split.fit.X_test, split.fit.y_test)
        nan = np.full(len(s), np.nan)
        results = {"pruned": {"test_acc": acc, "test_loss": loss, "val_acc": val_acc,
                              "early_stop": nan, "epochs_to_95": nan,
                              "diverged": np.zeros(len(s), bool)}}
        results["finetune"] = _model_rows(fit(protocol, k, split, s, theta0=cut,
                                              epochs=finetune_epochs, regularized=False))
        results["rewind"] = _model_rows(fit(protocol, k, split, s, theta0=start,
                                            regularized=False))
        fresh = init_params(Layout(small), protocol.init, s, stream=SCRATCH_STREAM)
        results["scratch"] = _model_rows(fit(protocol, k, split, s, theta0=fresh,
                                             regularized=False))
        for arm, r in results.items():
            rows.append({"arm": np.full(len(s), arm), "target": np.full(len(s), target),
                         "k": np.full(len(s), k), "seed": np.asarray(s), **r})
    out = _concat(rows)
    out["source_live"] = n_live
    out["source_seed"] = np.asarray(seeds)
    return out
