"""Weight initializers: ``init(rng, fan_in, fan_out, scale) -> (fan_in, fan_out) array``.

Variance targets (n_in = fan_in, n_out = fan_out):

=============== ==================================== =====================================
name            distribution                         variance
=============== ==================================== =====================================
zeros           0                                    0
random_normal   N(0, scale^2)                        scale^2 (the lecture: scale = 1)
random_uniform  U(-sqrt(3) scale, sqrt(3) scale)     scale^2 (same variance as the normal)
glorot_normal   N(0, 2 / (n_in + n_out))             2 / (n_in + n_out)
glorot_uniform  U(-sqrt(6 / (n_in + n_out)), ...)    2 / (n_in + n_out)
he_normal       N(0, 2 / n_in)                       2 / n_in
he_uniform      U(-sqrt(6 / n_in), ...)              2 / n_in
lecun_normal    N(0, 1 / n_in)                       1 / n_in
lecun_uniform   U(-sqrt(3 / n_in), ...)              1 / n_in
orthogonal      Q from the QR of a Gaussian matrix   1 / max(n_in, n_out) (orthonormal rows or cols)
=============== ==================================== =====================================

Unlike Keras, the "normal" variants are not truncated, so the variance is exactly the one
above. ``scale`` only affects random_normal and random_uniform.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trainability.registry import lookup

Initializer = Callable[[np.random.Generator, int, int, float], np.ndarray]


def _normal(std_of: Callable[[int, int, float], float]) -> Initializer:
    def init(rng, fan_in, fan_out, scale):
        return rng.normal(0.0, std_of(fan_in, fan_out, scale), size=(fan_in, fan_out))

    return init


def _uniform(std_of: Callable[[int, int, float], float]) -> Initializer:
    def init(rng, fan_in, fan_out, scale):
        limit = np.sqrt(3.0) * std_of(fan_in, fan_out, scale)
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))

    return init


def _zeros(rng, fan_in, fan_out, scale):
    return np.zeros((fan_in, fan_out))


def _orthogonal(rng, fan_in, fan_out, scale):
    a = rng.normal(size=(max(fan_in, fan_out), min(fan_in, fan_out)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the distribution uniform (Haar)
    return q if fan_in >= fan_out else q.T


def _scale(fan_in, fan_out, scale):
    return scale


def _glorot(fan_in, fan_out, scale):
    return np.sqrt(2.0 / (fan_in + fan_out))


def _he(fan_in, fan_out, scale):
    return np.sqrt(2.0 / fan_in)


def _lecun(fan_in, fan_out, scale):
    return np.sqrt(1.0 / fan_in)


INITIALIZERS: dict[str, Initializer] = {
    "zeros": _zeros,
    "random_normal": _normal(_scale),
    "random_uniform": _uniform(_scale),
    "glorot_normal": _normal(_glorot),
    "glorot_uniform": _uniform(_glorot),
    "he_normal": _normal(_he),
    "he_uniform": _uniform(_he),
    "lecun_normal": _normal(_lecun),
    "lecun_uniform": _uniform(_lecun),
    "orthogonal": _orthogonal,
}


def get_initializer(name: str) -> Initializer:
    return lookup(INITIALIZERS, name, "initializer")
