"""Optimizers acting in place on the flat ``(K, P)`` parameter array, and learning-rate schedules.

Update rules (g: gradient, lr: learning rate of this step, t: step count from 1):

- sgd:       theta -= lr g
- momentum:  v = mu v - lr g;  theta += v
- nesterov:  v = mu v - lr g;  theta += mu v - lr g
- rmsprop:   s = rho s + (1 - rho) g^2;  theta -= lr g / D
- adam:      m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) g^2;  then by ``eps_convention``

``eps_convention`` says where eps sits, as the lecture's tool and PyTorch write it:

============ ======================= ===========================================================
convention   rmsprop D               adam
============ ======================= ===========================================================
keras        sqrt(s + eps)           theta -= lr_t m / (sqrt(s) + eps),
(default)                            lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)  (Keras 3)
pytorch      sqrt(s) + eps           theta -= lr m_hat / (sqrt(v_hat) + eps),
                                     m_hat = m / (1 - b1^t), v_hat = s / (1 - b2^t)
============ ======================= ===========================================================

tf.keras up to 2.10 divides RMSprop's step by sqrt(s) + eps too. Where eps sits matters for
tiny gradients (a sigmoid net's first layers): sqrt(s + eps) floors the denominator at
sqrt(1e-7) ~ 3e-4, so gradients far below it take small steps, where sqrt(s) + eps scales
them up to steps of size ~lr. Keras' Adam adds eps before the bias correction, PyTorch's
after it (Keras' eps is Kingma and Ba's "epsilon hat"); they differ in the first steps.

Optimizer state starts at zero, so an entry whose gradient is always zero (a pruned weight)
never moves. ``OptimizerConfig`` carries every hyperparameter with the Keras defaults
(rho 0.9, eps 1e-7, momentum 0.9, betas 0.9/0.999).

Models with different settings can train in one call (``make_optimizer`` with one config
per model): consecutive models of one optimizer, convention and momentum/rho/betas share an
optimizer over their rows, with each model's eps in a ``(K, 1)`` column; the learning rate
of a step may be such a column too. Every entry then sees the same floating-point
operations as in a model trained alone, so the results are the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainability.registry import lookup


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "rmsprop"
    lr: float = 0.001
    momentum: float = 0.9
    rho: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7
    eps_convention: str = "keras"  # or "pytorch": where eps sits (module docstring)
    l2: float = 0.0  # coefficient of 0.5 * l2 * ||W||^2 added to the loss (weights only)
    schedule: str = "constant"
    warmup_epochs: int = 0
    step_epochs: int = 30  # "step" schedule: multiply lr by step_gamma every step_epochs
    step_gamma: float = 0.1

    def __post_init__(self):
        lookup(OPTIMIZERS, self.name, "optimizer")
        lookup(EPS_CONVENTIONS, self.eps_convention, "eps_convention")
        lookup(SCHEDULES, self.schedule, "schedule")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


# Each optimizer: ``__init__(cfg, theta, eps)`` with ``eps`` a float or a ``(K, 1)`` column of
# each model's; ``step(theta, g, lr)`` in place, ``lr`` a float or a ``(K, 1)`` column.


class SGD:
    def __init__(self, cfg: OptimizerConfig, theta, eps):
        self.tmp = np.empty_like(theta)

    def step(self, theta, g, lr):
        np.multiply(g, lr, out=self.tmp)
        theta -= self.tmp


class Momentum:
    nesterov = False

    def __init__(self, cfg, theta, eps):
        self.mu = cfg.momentum
        self.v = np.zeros_like(theta)
        self.tmp = np.empty_like(theta)

    def step(self, theta, g, lr):
        v, tmp = self.v, self.tmp
        np.multiply(g, lr, out=tmp)
        v *= self.mu
        v -= tmp
        if self.nesterov:
            tmp *= -1.0
            tmp += self.mu * v
            theta += tmp
        else:
            theta += v


class Nesterov(Momentum):
    nesterov = True


class RMSprop:
    def __init__(self, cfg, theta, eps):
        self.rho, self.eps = cfg.rho, eps
        self.eps_inside_sqrt = EPS_CONVENTIONS[cfg.eps_convention].rmsprop_inside_sqrt
        self.s = np.zeros_like(theta)
        self.tmp = np.empty_like(theta)

    def step(self, theta, g, lr):
        s, tmp = self.s, self.tmp
        np.multiply(g, g, out=tmp)  # in place: these arrays are the whole model
        tmp -= s
        tmp *= 1.0 - self.rho
        s += tmp  # s = rho s + (1 - rho) g^2
        if self.eps_inside_sqrt:
            np.add(s, self.eps, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(s, out=tmp)
            tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        theta -= tmp


class Adam:
    def __init__(self, cfg, theta, eps):
        self.b1, self.b2, self.eps = cfg.beta1, cfg.beta2, eps
        self.bias_corrected_eps = EPS_CONVENTIONS[cfg.eps_convention].adam_bias_corrected
        self.m = np.zeros_like(theta)
        self.s = np.zeros_like(theta)
        self.tmp = np.empty_like(theta)
        self.t = 0

    def step(self, theta, g, lr):
        self.t += 1
        m, s, tmp = self.m, self.s, self.tmp
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.b1
        m += tmp  # m = b1 m + (1 - b1) g
        np.multiply(g, g, out=tmp)
        tmp -= s
        tmp *= 1.0 - self.b2
        s += tmp  # s = b2 s + (1 - b2) g^2
        np.sqrt(s, out=tmp)
        correction1, correction2 = 1.0 - self.b1**self.t, 1.0 - self.b2**self.t
        if self.bias_corrected_eps:  # PyTorch's order of operations
            tmp /= correction2**0.5
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / correction1
        else:
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr * correction2**0.5 / correction1
        theta -= tmp


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "rmsprop": RMSprop,
    "adam": Adam,
}


@dataclass(frozen=True)
class EpsConvention:
    """Where eps enters the adaptive optimizers' denominators (module docstring)."""

    rmsprop_inside_sqrt: bool  # sqrt(s + eps), else sqrt(s) + eps
    adam_bias_corrected: bool  # sqrt(v_hat) + eps, else sqrt(s) + eps with lr_t


EPS_CONVENTIONS = {
    "keras": EpsConvention(rmsprop_inside_sqrt=True, adam_bias_corrected=False),
    "pytorch": EpsConvention(rmsprop_inside_sqrt=False, adam_bias_corrected=True),
}


def make_optimizer(cfg: OptimizerConfig | Sequence[OptimizerConfig], theta: np.ndarray):
    """A fresh optimizer (zero state) for the ``(K, P)`` parameters ``theta``: one config
    for every model, or one per model (module docstring)."""
    if isinstance(cfg, OptimizerConfig):
        return lookup(OPTIMIZERS, cfg.name, "optimizer")(cfg, theta, cfg.eps)
    if len(cfg) != len(theta):
        raise ValueError(f"{len(cfg)} optimizer settings for {len(theta)} models")
    parts = []
    for rows, cfgs in blocks(cfg, _shared):
        eps = [c.eps for c in cfgs]
        # a column only where the models differ: a float keeps float32 updates in float32
        eps = eps[0] if len(set(eps)) == 1 else np.array(eps, theta.dtype)[:, None]
        optimizer = lookup(OPTIMIZERS, cfgs[0].name, "optimizer")(cfgs[0], theta[rows], eps)
        parts.append((rows, optimizer))
    return parts[0][1] if len(parts) == 1 else PerModel(parts)


class PerModel:
    """Row blocks of the models, each with its own optimizer."""

    def __init__(self, blocks: list[tuple[slice, object]]):
        self.blocks = blocks

    def step(self, theta, g, lr):
        for rows, optimizer in self.blocks:
            optimizer.step(theta[rows], g[rows], lr if np.ndim(lr) == 0 else lr[rows])


def _shared(cfg: OptimizerConfig) -> tuple:
    """What the models of one block share: all but eps and what ``train`` applies itself
    (learning rate, schedule, warm-up, L2)."""
    return (cfg.name, cfg.eps_convention, cfg.momentum, cfg.rho, cfg.beta1, cfg.beta2)


def blocks(items: Sequence, key) -> list[tuple[slice, list]]:
    """Runs of consecutive items with the same ``key``: ``(rows, items)``."""
    out = []
    for start, item in enumerate(items):
        if out and key(out[-1][1][-1]) == key(item):
            out[-1][1].append(item)
        else:
            out.append((start, [item]))
    return [(slice(start, start + len(run)), run) for start, run in out]


def _constant(cfg, epoch, progress):
    return np.ones_like(epoch)


def _step(cfg, epoch, progress):
    return cfg.step_gamma ** np.floor(epoch / cfg.step_epochs)


def _cosine(cfg, epoch, progress):
    return 0.5 * (1.0 + np.cos(np.pi * progress))


SCHEDULES = {"constant": _constant, "step": _step, "cosine": _cosine}


def learning_rates(cfg: OptimizerConfig, epochs: int, steps_per_epoch: int) -> np.ndarray:
    """Learning rate of every step, ``(epochs * steps_per_epoch,)``.

    ``cosine`` decays from lr to 0 over the run; ``step`` multiplies by ``step_gamma``
    every ``step_epochs``; a linear warm-up over ``warmup_epochs`` multiplies either.
    """
    t = np.arange(epochs * steps_per_epoch)
    factor = SCHEDULES[cfg.schedule](cfg, t / steps_per_epoch, t / max(len(t), 1))
    if cfg.warmup_epochs > 0:
        factor = factor * np.minimum(1.0, (t + 1) / (cfg.warmup_epochs * steps_per_epoch))
    return cfg.lr * factor
