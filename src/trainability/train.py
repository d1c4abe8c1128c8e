"""Mini-batch training of K models at once, with per-epoch diagnostics.

Model k has its own seed: its initial weights come from ``model_rng(seed, 0)`` and its
shuffling order from ``model_rng(seed, 1)``, so it trains exactly as it would alone.

Loss: binary cross-entropy from logits, ``softplus(z) - y z`` averaged over the batch,
plus ``0.5 * l2 * ||W||^2`` over the weight matrices when ``l2 > 0``.

History: entry 0 of every per-epoch array is the state at initialization, entry e the
state after epoch e.

- ``train_loss/acc``, ``test_loss/acc``  ``(K, E+1)``: on the whole training and test sets
  (batch norm in inference mode), without the L2 penalty; the training set's only at the
  epochs ``train_metrics`` names, always with 0 and the last (NaN at the others);
- ``running_loss/acc``  ``(K, E+1)``: what Keras' ``fit`` reports per epoch: the mean over
  the epoch's mini-batches of the training-mode batch loss (L2 penalty included) and
  accuracy, weighted by batch size, from the logits each step computed before its update;
  NaN at epoch 0. Weighted by batch size, the batch means are the mean over the epoch's
  points, which is how it is computed (one sum instead of Keras' running one: the last bits
  differ);

and at the epochs ``diagnostics`` names (NaN at the others), from one full-batch pass over
the training set (batch norm with batch statistics):

- ``grad_mean/std/norm``  ``(K, E+1, depth+1)``: of the data-loss gradient of each weight
  matrix, the classifier last;
- ``act_mean/std``  ``(K, E+1, depth)``: of each hidden layer's activation outputs;
- ``dead_frac``  ``(K, E+1, depth)``: share of units whose pre-activation is <= 0 on every
  training point (relu family; NaN otherwise);
- ``saturated_frac``  ``(K, E+1, depth)``: share of units whose derivative is below 1% of
  its peak on every training point (sigmoid, tanh; NaN otherwise).

A model whose training loss (the whole training set's, or the running one where that is
not evaluated) stops being finite is marked ``diverged`` at that epoch; its history is NaN
from there on and the other models carry on. A model that diverges in float32 is trained
again alone in float64 (``float64_diverged``): divergence in float64 too is a result, in
float32 only a numerical fault that the reports' sanity checks show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from trainability._memory import keep_freed_memory
from trainability.activations import sigmoid
from trainability.data import Dataset
from trainability.model import (
    Architecture,
    BatchNormState,
    Layout,
    Network,
    Workspace,
    init_params,
    model_rng,
)
from trainability.optim import OptimizerConfig, blocks, learning_rates, make_optimizer

SATURATION = 0.01
SHUFFLE_STREAM = 1
STEP_ARRAY_BYTES = 160_000  # models_per_call: within a core's L2 cache, with room to spare

SCALARS = ("train_loss", "train_acc", "test_loss", "test_acc")  # from epoch 0
RUNNING = ("running_loss", "running_acc")  # Keras' fit history, from epoch 1
PER_DENSE = ("grad_mean", "grad_std", "grad_norm")
PER_HIDDEN = ("act_mean", "act_std", "dead_frac", "saturated_frac")

keep_freed_memory()


@dataclass
class TrainResult:
    seeds: list[int]
    theta0: np.ndarray  # (K, P) parameters before training
    theta: np.ndarray  # (K, P) parameters after training
    history: dict[str, np.ndarray]
    diverged_epoch: np.ndarray  # (K,) first epoch with non-finite loss, -1 if none
    bn: BatchNormState
    checkpoints: dict[int, np.ndarray] = field(default_factory=dict)
    # (K,) whether the model diverges in float64 too (float64 runs: whether it diverged)
    float64_diverged: np.ndarray | None = None

    def __post_init__(self):
        if self.float64_diverged is None:
            self.float64_diverged = self.diverged_epoch >= 0

    @property
    def status(self) -> list[str]:
        return ["diverged" if e >= 0 else "ok" for e in self.diverged_epoch]

    @property
    def float32_faults(self) -> np.ndarray:
        """(K,) diverged in float32 only: a fault of single precision, not a result."""
        return (self.diverged_epoch >= 0) & ~self.float64_diverged


def bce_from_logits(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy per model, stable for any logit: ``(K, B, 1) -> (K,)``."""
    return (np.logaddexp(0.0, logits) - y * logits).mean(axis=(1, 2))


def _bce_grad(logits: np.ndarray, y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of the mean BCE over the batch w.r.t. the logits: ``(sigmoid(z) - y) / B``.

    The operations of ``activations.sigmoid``, in place in ``out`` and without its
    ``errstate`` block (the training loop already ignores floating-point errors): that
    context manager alone cost ~5% of a step of a small network.
    """
    d = np.negative(logits, out=out)
    np.exp(d, out=d)
    d += 1.0
    np.divide(1.0, d, out=d)
    d -= y
    d *= 1.0 / y.shape[1]
    return d


def train(
    arch: Architecture,
    opt: OptimizerConfig | Sequence[OptimizerConfig],
    data: Dataset,
    seeds: Sequence[int],
    *,
    epochs: int,
    batch_size: int,
    init: str = "random_normal",
    init_scale: float = 1.0,
    classifier_init: str | None = None,
    theta0: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    checkpoints: Sequence[int] = (),
    diagnostics: bool | Sequence[int] = True,
    train_metrics: bool | Sequence[int] = True,
    after_step: Callable[[np.ndarray, float], None] | None = None,
    dtype=np.float64,
) -> TrainResult:
    """Train one model per seed, all in the same array operations.

    Parameters
    ----------
    opt
        The optimizer and its settings, or one per model: models that differ only in them
        (optimizer, learning rate, schedule, warm-up, eps, L2, ...) train in one call, each
        exactly as it would alone. Different learning rates or schedules need float64 (each
        step's rates are then a ``(K, 1)`` column, and ``after_step`` receives it).
    init, init_scale, classifier_init
        Initializer of the weights (``init_params``): ``classifier_init`` gives the
        classifier its own (the lecture's Keras model: ``"glorot_uniform"``); None gives it
        ``init``. Unused when ``theta0`` is given.
    theta0
        Initial ``(K, P)`` parameters; drawn from ``init`` when None (rewinding a lottery
        ticket passes the original ones; models from several initializers can be stacked).
    mask
        ``(K, P)`` or ``(P,)`` keep-mask of 0/1: masked parameters start at zero, get zero
        gradient and zero optimizer state, so they stay exactly zero.
    checkpoints
        Epochs whose parameters to keep in ``result.checkpoints`` (0 = initialization).
    diagnostics
        Epochs at which to record the per-layer statistics, e.g. ``(0, 1, 2, 5, 10, 20,
        50, 100)`` (True: every epoch, False: none; epochs beyond ``epochs`` are ignored).
        Each costs a full-batch forward and backward pass; losses and accuracies are
        recorded at every epoch regardless.
    train_metrics
        Epochs at which to evaluate the whole training set (True: every epoch; epoch 0 and
        the last always are). Each costs a forward pass over it, about a third of an
        epoch's training; the running values (Keras' history) are recorded at every epoch
        regardless, so curves of the training loss need no more.
    after_step
        Called as ``after_step(theta, lr)`` after every optimizer step, to change the
        ``(K, P)`` parameters in place (a proximal step: group lasso in the size study).
        Masked parameters are zeroed again after it.
    dtype
        float64 (the default) or float32 (~1.7-2x faster from width 64 up, within ~1e-4); a
        model that diverges in float32 is trained again in float64 (module docstring).

    Many models train in chunks of ``models_per_call`` (a model's result does not depend
    on the others in its call).
    """
    seeds = [int(s) for s in seeds]
    n = len(data.y_train)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n} (the training set), got {batch_size}")
    if theta0 is None:
        theta0 = init_params(Layout(arch), init, seeds, init_scale,
                             classifier_init=classifier_init)
    if not isinstance(opt, OptimizerConfig):
        opt = _per_model(opt, len(seeds))
    step = models_per_call(arch, batch_size, dtype)
    if len(seeds) > step:
        kw = dict(epochs=epochs, batch_size=batch_size, checkpoints=checkpoints,
                  diagnostics=diagnostics, train_metrics=train_metrics,
                  after_step=after_step, dtype=dtype)
        return _joined([
            train(arch, _rows(opt, rows), data, seeds[rows], theta0=theta0[rows],
                  mask=_rows(mask, rows), **kw)
            for rows in (slice(i, i + step) for i in range(0, len(seeds), step))])
    run = _Run(arch, opt, data, seeds, theta0, mask, after_step, dtype)
    diagnosed = _epochs(diagnostics, epochs, "diagnostics")
    evaluated = _epochs(train_metrics, epochs, "train_metrics") | {0, epochs}
    steps_per_epoch = -(-n // batch_size)
    lrs = _step_rates(opt, len(seeds), epochs, steps_per_epoch, dtype)
    history = _empty_history(len(seeds), epochs, arch.depth)
    diverged = np.full(len(seeds), -1)
    kept = {}
    with np.errstate(all="ignore"):  # overflow in a diverging model is recorded, not raised
        for epoch in range(epochs + 1):
            if epoch > 0:
                epoch_lrs = lrs[(epoch - 1) * steps_per_epoch : epoch * steps_per_epoch]
                loss, acc = run.epoch(epoch_lrs, batch_size)
                history["running_loss"][:, epoch] = loss
                history["running_acc"][:, epoch] = acc
            full = epoch in evaluated
            run.record(history, epoch, epoch in diagnosed, full)
            loss = history["train_loss" if full else "running_loss"][:, epoch]
            newly = (diverged < 0) & ~np.isfinite(loss)
            diverged[newly] = epoch
            if epoch in checkpoints:
                kept[epoch] = run.theta.copy()
            if (diverged >= 0).all():
                break
    for values in history.values():
        for m in np.flatnonzero(diverged >= 0):
            values[m, diverged[m] :] = np.nan
    for epoch in set(checkpoints) - set(kept):  # after every model diverged
        if epoch <= epochs:
            kept[epoch] = np.full_like(run.theta, np.nan)
    result = TrainResult(seeds, run.theta0, run.theta, history, diverged, run.bn, kept)
    if np.dtype(dtype) != np.float64 and (diverged >= 0).any():
        _audit(result, arch, opt, data, epochs=epochs, batch_size=batch_size, mask=mask,
               train_metrics=train_metrics, after_step=after_step)
    return result


def _audit(result: TrainResult, arch, opt, data, *, mask, **kw) -> None:
    """Train the models that diverged in single precision again alone in float64 and
    record whether they diverge there too (``result.float64_diverged``)."""
    rows = np.flatnonzero(result.diverged_epoch >= 0)
    again = train(arch, _rows(opt, rows), data, [result.seeds[m] for m in rows],
                  theta0=result.theta0[rows].astype(np.float64), mask=_rows(mask, rows),
                  diagnostics=False, dtype=np.float64, **kw)
    result.float64_diverged[rows] = again.diverged_epoch >= 0


def models_per_call(arch: Architecture, batch_size: int, dtype) -> int:
    """How many models ``train`` steps at once: as many as keep a step's ``(K, batch,
    width)`` arrays within ``STEP_ARRAY_BYTES``. More models per call share its Python
    overhead (what a narrow network's step is made of); beyond that, each elementwise pass
    waits on memory: 160 models of width 64 in one call took 1.8x the time of 16 calls of
    10 (float64; 1.3x at width 16 against calls of 40)."""
    per_model = batch_size * arch.width * np.dtype(dtype).itemsize
    return max(1, STEP_ARRAY_BYTES // per_model)


def _rows(value, rows: slice | np.ndarray):
    """The part of a per-model argument (a list, or a 2-d array) for the models ``rows``;
    an argument that all models share, as it is."""
    if value is None or isinstance(value, OptimizerConfig):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value
    if isinstance(value, list):  # rows: a slice or an index array
        return [value[i] for i in np.arange(len(value))[rows]]
    return value[rows]


def _joined(parts: list[TrainResult]) -> TrainResult:
    """The results of consecutive chunks of models, as one."""
    def cat(arrays):
        return np.concatenate(list(arrays))

    first = parts[0]
    return TrainResult(
        seeds=[s for p in parts for s in p.seeds],
        theta0=cat(p.theta0 for p in parts),
        theta=cat(p.theta for p in parts),
        history={k: cat(p.history[k] for p in parts) for k in first.history},
        diverged_epoch=cat(p.diverged_epoch for p in parts),
        bn=BatchNormState({j: cat(p.bn.mean[j] for p in parts) for j in first.bn.mean},
                          {j: cat(p.bn.var[j] for p in parts) for j in first.bn.var}),
        checkpoints={e: cat(p.checkpoints[e] for p in parts) for e in first.checkpoints},
        float64_diverged=cat(p.float64_diverged for p in parts),
    )


def _per_model(opt, k) -> list[OptimizerConfig]:
    if isinstance(opt, OptimizerConfig):
        return [opt] * k
    if len(opt) != k:
        raise ValueError(f"{len(opt)} optimizer settings for {k} models")
    return list(opt)


def _step_rates(opt, k, epochs, steps_per_epoch, dtype) -> list:
    """The learning rate of every step: a Python float (all models alike), or a ``(K, 1)``
    float64 column of each model's (the same values a model alone gets)."""
    cfgs = _per_model(opt, k)
    if len({_schedule(c) for c in cfgs}) == 1:
        # Python floats: a NumPy float64 scalar would make every float32 update run in
        # float64 with casts (NEP 50), and Python arithmetic on them is faster.
        return learning_rates(cfgs[0], epochs, steps_per_epoch).tolist()
    if np.dtype(dtype) != np.float64:
        raise ValueError("models with different learning rates or schedules in one call "
                         "need float64")
    rates = np.stack([learning_rates(c, epochs, steps_per_epoch) for c in cfgs], axis=1)
    return list(rates[:, :, None])


def _schedule(cfg: OptimizerConfig) -> tuple:
    """What ``learning_rates`` reads."""
    return cfg.lr, cfg.schedule, cfg.warmup_epochs, cfg.step_epochs, cfg.step_gamma


def _epochs(chosen: bool | Sequence[int], epochs: int, name: str) -> frozenset[int]:
    """The epochs of a schedule: True every one, False none, or those listed."""
    if isinstance(chosen, bool | np.bool_):
        return frozenset(range(epochs + 1) if chosen else ())
    chosen = {int(e) for e in chosen}
    if any(e < 0 for e in chosen):
        raise ValueError(f"{name} epochs must be >= 0, got {sorted(chosen)}")
    return frozenset(e for e in chosen if e <= epochs)


class _Run:
    """The state of one ``train`` call: parameters, optimizer, batch-norm statistics, data."""

    def __init__(self, arch, opt, data, seeds, theta0, mask, after_step, dtype):
        self.net = Network(arch)
        theta = np.array(theta0, dtype=dtype)
        if mask is not None:
            mask = np.broadcast_to(np.asarray(mask, dtype=dtype), theta.shape)
            theta *= mask
        self.theta, self.theta0, self.mask = theta, theta.copy(), mask
        self.grad = np.empty_like(theta)
        self.tmp = np.empty_like(theta)
        self.params, self.grads = self.net.bind(theta), self.net.bind(self.grad)
        self.optimizer = make_optimizer(opt, theta)
        # the L2 penalty's gradient coefficients, by row blocks of models with one l2 > 0
        weights = self.net.layout.weight_mask().astype(dtype)
        self.decay = [(rows, cfgs[0].l2 * weights)
                      for rows, cfgs in blocks(_per_model(opt, len(theta)), lambda c: c.l2)
                      if cfgs[0].l2 > 0]
        self.after_step = after_step
        self.bn = BatchNormState.fresh(arch, len(seeds), dtype)
        self.workspaces = {}  # by batch size: the last batch of an epoch may be smaller
        self.shufflers = [model_rng(s, SHUFFLE_STREAM) for s in seeds]
        self.X = np.asarray(data.X_train, dtype=dtype)
        self.y = np.asarray(data.y_train, dtype=dtype).reshape(-1, 1)
        self.X_test = np.asarray(data.X_test, dtype=dtype)
        self.y_test = np.asarray(data.y_test, dtype=dtype).reshape(-1, 1)

    def epoch(self, lrs: list[float], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """One pass over the training set in each model's shuffled order, one optimizer step
        per mini-batch. Returns the running loss and accuracy ``(K,)`` (module docstring)."""
        n = len(self.y)
        order = np.stack([r.permutation(n) for r in self.shufflers])
        # take, not X[order]: the same copy, 6x faster for these (n, 2) rows
        X, y = self.X.take(order, axis=0), self.y.take(order, axis=0)
        seen = np.empty(y.shape, self.theta.dtype)  # each step's logits, in the epoch's order
        penalty = 0.0  # sum over steps of batch size x L2 penalty before the step
        for lr, start in zip(lrs, range(0, n, batch_size), strict=True):
            rows = slice(start, start + batch_size)
            if self.decay:
                penalty = penalty + self.l2_penalty() * min(batch_size, n - start)
            self.step(X[:, rows], y[:, rows], lr, seen[:, rows])
        loss = bce_from_logits(seen, y) + penalty / n
        return loss, ((seen > 0) == y).mean(axis=(1, 2))

    def step(self, xb: np.ndarray, yb: np.ndarray, lr: float, logits: np.ndarray) -> None:
        """One optimizer step on a mini-batch ``(K, B, ...)``, writing into ``logits`` those
        it computed before the update."""
        theta, grad, decay, mask, tmp = self.theta, self.grad, self.decay, self.mask, self.tmp
        b = yb.shape[1]
        ws = self.workspaces.get(b)
        if ws is None:
            ws = self.workspaces[b] = Workspace(self.net.arch, len(theta), b, theta.dtype)
        _, cache = self.net.forward(self.params, xb, self.bn, training=True, ws=ws, out=logits)
        d_logits = _bce_grad(logits, yb, ws.d_logits)
        self.net.backward(self.params, cache, d_logits, self.grads, ws)
        for rows, coefficients in decay:
            np.multiply(coefficients, theta[rows], out=tmp[rows])
            grad[rows] += tmp[rows]
        if mask is not None:
            grad *= mask
        self.optimizer.step(theta, grad, lr)
        if self.after_step is not None:
            self.after_step(theta, lr)
            if mask is not None:
                theta *= mask

    def l2_penalty(self) -> np.ndarray:
        """``0.5 l2 ||W||^2`` of each model ``(K,)``."""
        np.square(self.theta, out=self.tmp)
        penalty = np.zeros(len(self.theta))
        for rows, coefficients in self.decay:
            penalty[rows] = 0.5 * (self.tmp[rows] @ coefficients)
        return penalty

    def record(self, history, epoch, diagnose, full):
        """Fill entry ``epoch`` of the history arrays (see the module docstring); ``full``:
        evaluate the whole training set too."""
        net, params, y = self.net, self.params, self.y
        if diagnose:
            logits, cache = net.forward(params, self.X, training=True)
        if full:
            if net.arch.batch_norm or not diagnose:  # metrics use inference-mode batch norm
                train_logits, _ = net.forward(params, self.X, self.bn)
            else:
                train_logits = logits
            history["train_loss"][:, epoch] = bce_from_logits(train_logits, y)
            history["train_acc"][:, epoch] = ((train_logits > 0) == y).mean(axis=(1, 2))
        test_logits, _ = net.forward(params, self.X_test, self.bn)
        history["test_loss"][:, epoch] = bce_from_logits(test_logits, self.y_test)
        history["test_acc"][:, epoch] = ((test_logits > 0) == self.y_test).mean(axis=(1, 2))
        if diagnose:
            _record_layers(history, epoch, net, params, logits, cache, y)


def _empty_history(k, epochs, depth):
    shape = (k, epochs + 1)
    history = {name: np.full(shape, np.nan) for name in SCALARS + RUNNING}
    history |= {name: np.full(shape + (depth + 1,), np.nan) for name in PER_DENSE}
    history |= {name: np.full(shape + (depth,), np.nan) for name in PER_HIDDEN}
    return history


def _record_layers(history, epoch, net, params, logits, cache, y):
    """Per-layer statistics of a training-mode pass over the training set."""
    k = len(logits)
    grads = net.bind(np.empty((k, net.layout.size)))
    net.backward(params, cache, (sigmoid(logits) - y) / len(y), grads)
    for i, g in enumerate(grads.W):
        g = g.reshape(k, -1)
        history["grad_mean"][:, epoch, i] = g.mean(axis=1)
        history["grad_std"][:, epoch, i] = g.std(axis=1)
        history["grad_norm"][:, epoch, i] = np.sqrt((g * g).sum(axis=1))
    act = net.act
    for i, (_, z, a, _, _) in enumerate(cache[:-1]):
        history["act_mean"][:, epoch, i] = a.mean(axis=(1, 2))
        history["act_std"][:, epoch, i] = a.std(axis=(1, 2))
        if act.family == "relu":
            history["dead_frac"][:, epoch, i] = _all_points(z <= 0).mean(axis=1)
        elif act.family == "saturating":
            flat = act.grad(z, a) < SATURATION * act.peak_grad
            history["saturated_frac"][:, epoch, i] = _all_points(flat).mean(axis=1)


def _all_points(flags: np.ndarray) -> np.ndarray:
    """``flags.all(axis=1)`` of ``(K, N, units)`` booleans: units flagged on every point.

    Counted with a matrix product instead: NumPy reduces over a middle axis one short row
    at a time, which made this the slowest diagnostic of narrow layers (5x at width 5; no
    gain from width 256 up). Counts of 0s and 1s are exact in float32 below 2**24 points.
    """
    n = flags.shape[1]
    dtype = np.float32 if n < 2**24 else np.float64
    return np.matmul(np.ones((1, n), dtype), flags.astype(dtype))[:, 0] == n
