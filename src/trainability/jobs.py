"""The training job every study shares: train one batch of models, write one run file.

``cli.py`` parses the arguments and calls these; the workflow names this module's import
closure as the jobs' code (``trainability.deps``), so editing a help text
in ``cli.py`` retrains nothing while editing the trainer retrains everything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from trainability.data import dataset_meta, load_dataset
from trainability.io import save_run
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.train import train


def train_job(data_path, out, *, activation: str, inits: Sequence[str], width: int,
              depth: int, seeds: Sequence[int], init_scale: float = 1.0,
              classifier_init: str | None = None, batch_norm: Sequence[int] = (),
              optimizer: dict, epochs: int, batch_size: int,
              diagnostics: bool | Sequence[int] = True, checkpoint_every: int = 0,
              float32: bool = False) -> str:
    """Train ``len(inits) x len(seeds)`` models of one architecture in one call (init-major:
    every seed of the first initializer, then of the second, ...) and write one run file.

    ``checkpoint_every``: keep the parameters of the first seed of every initializer every
    that many epochs (0: none), for animations of training.
    """
    data = load_dataset(data_path)
    arch = Architecture(depth, width, activation, tuple(batch_norm))
    seeds = [int(s) for s in seeds]
    layout = Layout(arch)
    theta0 = np.concatenate([init_params(layout, init, seeds, init_scale,
                                         classifier_init=classifier_init) for init in inits])
    model_seeds = seeds * len(inits)
    model_inits = [init for init in inits for _ in seeds]
    epochs_kept = list(range(0, epochs + 1, checkpoint_every)) if checkpoint_every else []
    if epochs_kept and epochs_kept[-1] != epochs:
        epochs_kept.append(epochs)
    start = time.perf_counter()
    result = train(arch, OptimizerConfig(**optimizer), data, model_seeds, epochs=epochs,
                   batch_size=batch_size, theta0=theta0, checkpoints=epochs_kept,
                   diagnostics=diagnostics, dtype=np.float32 if float32 else np.float64)
    seconds = time.perf_counter() - start
    meta = dict(activation=activation, inits=list(inits), width=width, depth=depth,
                seeds=seeds, init_scale=init_scale, classifier_init=classifier_init,
                batch_norm=list(batch_norm),
                epochs=epochs, batch_size=batch_size, float32=float32,
                optimizer=optimizer["name"], **{k: v for k, v in optimizer.items() if k != "name"})
    if len(inits) == 1:
        meta["init"] = inits[0]
    meta["dataset"] = dataset_meta(data_path)  # no timings: same inputs, same bytes
    firsts = [i * len(seeds) for i in range(len(inits))]
    extra = {"inits": np.asarray(model_inits)}
    if epochs_kept:
        extra["checkpoint_epochs"] = np.asarray(epochs_kept)
        extra["checkpoints"] = np.stack([result.checkpoints[e][firsts] for e in epochs_kept])
    save_run(out, result, meta, **extra)
    return _summary(activation, inits, width, result, seconds)


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
