"""How every network of the size study is trained: one protocol, batched calls, group lasso.

Every network here is ``input(2) -> depth x Dense(width, relu) -> Dense(1)`` trained by the
project's batched trainer with one protocol (``Protocol``). The training split of a dataset
file is cut into a *fit* part (trained on) and a *validation* part (``data.split_validation``:
its loss picks the early-stopping epoch, as in Frankle & Carbin, and its accuracy makes every
choice the study reports); the test split is touched only to score the final parameters.

Random streams of model ``seed`` (``model.model_rng(seed, stream)``): 0 initial weights,
1 shuffling (both the trainer's), ``REINIT_STREAM + d`` the d-th random re-initialization
of a lottery ticket, ``SCRATCH_STREAM`` the small networks trained from scratch in the
structured-pruning study; random pruning masks draw from ``(seed, RANDOM_MASK_STREAM,
level)``. A model's stream does not depend on the others in its batch, so models sharing an
architecture train in one call however they are grouped, bit for bit as alone.

Precision: networks of width ``Protocol.float32_from`` and wider train in float32 (2-3x
faster at these widths, where the matrix products dominate); narrower ones in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from trainability.data import Dataset, split_validation
from trainability.jobs import evaluate
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.train import train

ACTIVATION = "relu"  # dead units, unit scores and removing units are ReLU notions
TRAINED = 0.95  # "reaches 95% training accuracy"
REINIT_STREAM = 10
RANDOM_MASK_STREAM = 20
SCRATCH_STREAM = 30


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
    float32_from: int | None = None  # width from which to train in float32 (None: never)

    def arch(self, width: int) -> Architecture:
        return Architecture(self.depth, int(width), ACTIVATION)

    def optimizer_config(self) -> OptimizerConfig:
        return OptimizerConfig(self.optimizer, self.lr, l2=self.l2)

    def dtype(self, width: int):
        wide = self.float32_from is not None and width >= self.float32_from
        return np.float32 if wide else np.float64


@dataclass(frozen=True)
class Split:
    """``fit``: what the trainer sees (its "test" arrays are the validation points);
    ``X_test``/``y_test``: the held-out test points."""

    fit: Dataset
    X_test: np.ndarray
    y_test: np.ndarray


def split(data: Dataset, validation_fraction: float) -> Split:
    """The last ``validation_fraction`` of the (already shuffled) training points held out
    for validation; the test points kept apart."""
    return Split(split_validation(data, validation_fraction), data.X_test, data.y_test)


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


@dataclass
class Trained:
    """K trained models: parameters and what the study records of each."""

    theta0: np.ndarray
    theta: np.ndarray
    test_acc: np.ndarray  # (K,) on the held-out test points, NaN if diverged
    test_loss: np.ndarray
    val_acc: np.ndarray  # (K,) final, on the validation points
    val_loss: np.ndarray  # (K, E+1) per epoch (epoch 0 = at the start)
    train_acc: np.ndarray  # (K, E+1) on all fit points, at the first and last epoch only
    running_acc: np.ndarray  # (K, E+1) as Keras reports it: the epoch's mean over batches
    diverged: np.ndarray  # (K,) bool
    float32_fault: np.ndarray  # (K,) bool: diverged in float32 only (train.TrainResult)
    checkpoints: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return self.val_loss.shape[1] - 1

    @property
    def early_stop(self) -> np.ndarray:
        """Epoch of minimum validation loss (NaN if diverged)."""
        loss = np.where(np.isnan(self.val_loss), np.inf, self.val_loss)
        return np.where(self.diverged, np.nan, loss.argmin(axis=1).astype(float))

    @property
    def epochs_to_95(self) -> np.ndarray:
        """First epoch whose training accuracy, as Keras reports it, is >= 0.95 (NaN if
        never)."""
        reached = self.running_acc >= TRAINED
        return np.where(reached.any(axis=1), reached.argmax(axis=1).astype(float), np.nan)

    def rows(self, index) -> Trained:
        """The models ``index`` (a slice or indices) of this batch."""
        return Trained(**{f: getattr(self, f)[index] for f in (
            "theta0", "theta", "test_acc", "test_loss", "val_acc", "val_loss", "train_acc",
            "running_acc", "diverged", "float32_fault")},
            checkpoints={e: c[index] for e, c in self.checkpoints.items()})


def fit(protocol: Protocol, width: int, split: Split, seeds: Sequence[int], *,
        theta0: np.ndarray | None = None, mask: np.ndarray | None = None,
        epochs: int | None = None, checkpoints: Sequence[int] = (),
        regularized: bool = True) -> Trained:
    """Train one model per entry of ``seeds`` (repeats allowed: the seed picks the initial
    weights when ``theta0`` is None and always the shuffling order), in one ``train``
    call (which steps them in chunks that fit the cache).

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
    result = train(arch, cfg, split.fit, seeds, epochs=epochs,
                   batch_size=protocol.batch_size, theta0=theta0, mask=mask,
                   checkpoints=checkpoints, diagnostics=False, after_step=prox,
                   train_metrics=[0],  # the fit points' accuracy: at the ends only
                   dtype=protocol.dtype(width))
    if mask is not None:
        held = np.broadcast_to(mask, result.theta.shape) == 0
        if np.any(result.theta[held] != 0):
            raise RuntimeError("a pruned weight moved during training: the mask did not hold")
    test_acc, test_loss = evaluate(arch, result.theta, split.X_test, split.y_test)
    hist = result.history
    return Trained(
        theta0=result.theta0,
        theta=result.theta,
        test_acc=test_acc,
        test_loss=test_loss,
        val_acc=hist["test_acc"][:, -1],
        val_loss=hist["test_loss"],
        train_acc=hist["train_acc"],
        running_acc=hist["running_acc"],
        diverged=result.diverged_epoch >= 0,
        float32_fault=result.float32_faults,
        checkpoints=result.checkpoints,
    )


def model_rows(t: Trained, epoch_offset: int = 0) -> dict[str, np.ndarray]:
    """What the tables keep of each model. An early-stopping epoch is *censored* when it is
    the last epoch trained: the validation loss was still falling when training ended, so
    the network would have stopped at that epoch or later."""
    stop = t.early_stop
    return {
        "test_acc": t.test_acc,
        "test_loss": t.test_loss,
        "val_acc": t.val_acc,
        "early_stop": stop + epoch_offset,
        "censored": stop == t.epochs,
        "epochs_to_95": t.epochs_to_95 + epoch_offset,
        "diverged": t.diverged,
        "float32_fault": t.float32_fault,
    }


def concat(rows: list[dict]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([np.asarray(r[key]) for r in rows]) for key in rows[0]}
