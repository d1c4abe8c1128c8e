"""The training job every study shares: train one batch of models, write one run file.

``cli.py`` parses the arguments and calls these; the workflow names this module's import
closure as the jobs' code (``trainability.deps``), so editing a help text
in ``cli.py`` retrains nothing while editing the trainer retrains everything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from trainability.data import Dataset, dataset_meta, load_dataset, split_validation
from trainability.io import save_run
from trainability.model import Architecture, BatchNormState, Layout, Network, init_params
from trainability.optim import OptimizerConfig
from trainability.train import TrainResult, bce_from_logits, train


def train_job(data_path, out, *, activation: str, inits: Sequence[str], width: int,
              depth: int, seeds: Sequence[int], init_scale: float = 1.0,
              classifier_init: str | None = None, batch_norm: Sequence[int] = (),
              optimizer: dict, settings: Sequence[dict] = (), epochs: int, batch_size: int,
              diagnostics: bool | Sequence[int] = True,
              train_metrics: bool | Sequence[int] = True, checkpoint_every: int = 0,
              validation_fraction: float = 0.0, float32: bool = False) -> str:
    """Train ``len(inits) x len(seeds)`` models of one architecture in one call (init-major:
    every seed of the first initializer, then of the second, ...) and write one run file.

    ``optimizer["lr"]`` may be a list of learning rates: then every initializer trains at
    each of them (models: init-major, then learning rate, then seed; a seed starts from the
    same weights and sees the same batch order at every rate), and the run file holds each
    model's rate (``lrs``).

    ``settings``: optimizer settings that replace some of ``optimizer``'s (e.g.
    ``{"name": "adam", "eps": 1e-10}``, or ``{"name": "momentum", "lr": 0.01}``: an optimizer
    at its own rate, with one ``optimizer["lr"]``); every initializer then trains under each of them
    (models: init-major, then setting, then learning rate, then seed), and the run file
    holds each model's setting (``settings``, an index into ``meta["settings"]``).

    ``checkpoint_every``: keep the parameters of the first seed of every initializer every
    that many epochs (0: none), for animations of training.

    ``validation_fraction`` > 0: fit on the rest of the training points and record the
    per-epoch history of the held-out part as ``val_loss``/``val_acc``; the test set is
    then evaluated once, after training (its history holds the final values only), so a
    setting chosen on validation is reported on a test set it never touched.
    """
    data = load_dataset(data_path)
    fit = split_validation(data, validation_fraction) if validation_fraction > 0 else data
    arch = Architecture(depth, width, activation, tuple(batch_norm))
    seeds = [int(s) for s in seeds]
    lrs = [float(r) for r in np.atleast_1d(optimizer["lr"])]
    settings = [dict(s) for s in settings] or [{}]
    if len(settings) == 1:  # one setting: the optimizer's own
        optimizer, settings = {**optimizer, **settings[0]}, [{}]
    if len(lrs) > 1 and any("lr" in s for s in settings):
        raise ValueError("a setting with its own lr and several --lr values: give one or "
                         "the other")
    configs = [OptimizerConfig(**{**optimizer, "lr": lr, **setting})
               for setting in settings for lr in lrs]
    layout = Layout(arch)
    theta0 = np.concatenate([init_params(layout, init, seeds, init_scale,
                                         classifier_init=classifier_init)
                             for init in inits for _ in configs])
    per_init = len(configs) * len(seeds)
    model_seeds = seeds * (len(inits) * len(configs))
    model_inits = [init for init in inits for _ in range(per_init)]
    model_configs = [c for _ in inits for c in configs for _ in seeds]
    model_settings = [i for _ in inits for i in range(len(settings)) for _ in lrs for _ in seeds]
    epochs_kept = list(range(0, epochs + 1, checkpoint_every)) if checkpoint_every else []
    if epochs_kept and epochs_kept[-1] != epochs:
        epochs_kept.append(epochs)
    start = time.perf_counter()
    result = train(arch, model_configs, fit, model_seeds,
                   epochs=epochs, batch_size=batch_size, theta0=theta0,
                   checkpoints=epochs_kept, diagnostics=diagnostics,
                   train_metrics=train_metrics,
                   dtype=np.float32 if float32 else np.float64)
    if validation_fraction > 0:
        _test_after_training(result, arch, data)
    seconds = time.perf_counter() - start
    meta = dict(activation=activation, inits=list(inits), width=width, depth=depth,
                seeds=seeds, init_scale=init_scale, classifier_init=classifier_init,
                batch_norm=list(batch_norm), validation_fraction=validation_fraction,
                epochs=epochs, batch_size=batch_size, float32=float32,
                optimizer=optimizer["name"], **{k: v for k, v in optimizer.items() if k != "name"})
    if len(inits) == 1:
        meta["init"] = inits[0]
    if len(settings) > 1:
        meta["settings"] = settings
    meta["dataset"] = dataset_meta(data_path)  # no timings: same inputs, same bytes
    firsts = [i * per_init for i in range(len(inits))]
    extra = {"inits": np.asarray(model_inits)}
    if len(lrs) > 1:
        extra["lrs"] = np.asarray([c.lr for c in model_configs])
    if len(settings) > 1:
        extra["settings"] = np.asarray(model_settings)
    if epochs_kept:
        extra["checkpoint_epochs"] = np.asarray(epochs_kept)
        extra["checkpoints"] = np.stack([result.checkpoints[e][firsts] for e in epochs_kept])
    save_run(out, result, meta, **extra)
    return _summary(activation, inits, width, result, seconds)


def evaluate(arch: Architecture, theta: np.ndarray, X: np.ndarray, y: np.ndarray,
             bn: BatchNormState | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(accuracy, loss)`` per model of the ``(K, P)`` parameters on ``X, y`` (batch norm
    with the running statistics ``bn``); NaN where the parameters are not finite."""
    net = Network(arch)
    with np.errstate(all="ignore"):
        logits, _ = net.forward(net.bind(np.asarray(theta, dtype=np.float64)), X, bn)
    y = np.asarray(y, dtype=np.float64).reshape(1, -1, 1)
    acc = ((logits > 0) == y).mean(axis=(1, 2))
    loss = bce_from_logits(logits, y)
    bad = ~np.isfinite(theta).all(axis=1)
    return np.where(bad, np.nan, acc), np.where(bad, np.nan, loss)


def _test_after_training(result: TrainResult, arch: Architecture, data: Dataset) -> None:
    """Move the history of the held-out training points to ``val_*`` and put the test
    set's final values (only) in ``test_*``."""
    h = result.history
    h["val_loss"], h["val_acc"] = h.pop("test_loss"), h.pop("test_acc")
    acc, loss = evaluate(arch, result.theta, data.X_test, data.y_test, result.bn)
    for name, final in (("test_acc", acc), ("test_loss", loss)):
        h[name] = np.full_like(h["val_acc"], np.nan)
        h[name][:, -1] = np.where(result.diverged_epoch >= 0, np.nan, final)


def _summary(activation, inits, width, result, seconds) -> str:
    acc = result.history["test_acc"][:, -1]
    finished = acc[np.isfinite(acc)]
    diverged = result.status.count("diverged")
    which = inits[0] if len(inits) == 1 else f"{len(inits)} inits"
    return (
        f"{activation}/{which}/w{width}: {len(acc)} models in {seconds:.2f} s"
        + (f", final test accuracy mean {finished.mean():.3f}, min {finished.min():.3f}"
           if finished.size else "")
        + (f", {diverged} diverged" if diverged else "")
    )
