"""The gradient study's statistics, pure NumPy: gradients per weight matrix, their ratio in
orders of magnitude, how identical a layer's units are, and slopes against depth.

Backpropagation multiplies the gradient, layer by layer from the classifier down to the
input, by each layer's weights and by the derivative of its activation. Factors mostly
below one shrink it geometrically with depth (it *vanishes*), mostly above one grow it (it
*explodes*). The measure is ``log10(||g_1|| / ||g_C||)``: the orders of magnitude by which
the gradient norm of the first weight matrix lies above (+) or below (-) the classifier's.

Where no gradient reaches layer 1 the ratio is 0 (``log10 = -inf``), or undefined (NaN)
when no layer gets any (zero weights with relu or tanh; a layer of ReLUs dead on every
training point). Such a network is not left out and gets no made-up number: the claims
judge each seed by whether its ratio lies past a threshold (``vanished``, ``held``), and a
seed without a gradient at layer 1 has vanished completely, past every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainability.activations import sigmoid
from trainability.model import Architecture, Network

VANISH = -1.0  # log10 ratio <= -1: layer 1 gets at most a tenth of the classifier's gradient
EXPLODE = 1.0  # log10 ratio >= +1: at least ten times
SYMMETRY_TOL = 1e-9  # units "identical": spread <= 1e-9 of the layer's largest entry


def log10_ratio(first, last) -> np.ndarray:
    """``log10(first / last)`` elementwise for norms ``>= 0``: ``-inf`` where only ``first``
    is zero, ``+inf`` where only ``last`` is, NaN where both are (or either is NaN)."""
    first, last = np.asarray(first, dtype=float), np.asarray(last, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(first) - np.log10(last)
    return np.where((first == 0) & (last == 0), np.nan, out)


def no_gradient(log_ratio) -> np.ndarray:
    """Where no gradient reaches layer 1: ``-inf``, or NaN (no layer gets any)."""
    v = np.asarray(log_ratio, dtype=float)
    return np.isnan(v) | (v == -np.inf)


def vanished(log_ratio) -> np.ndarray:
    """Layer 1 gets at most a tenth of the classifier's gradient (``<= VANISH``), or none."""
    v = np.asarray(log_ratio, dtype=float)
    return no_gradient(v) | (v <= VANISH)


def held(log_ratio, orders: float) -> np.ndarray:
    """Layer 1's gradient within ``orders`` orders of magnitude of the classifier's (both
    nonzero)."""
    v = np.asarray(log_ratio, dtype=float)
    return np.isfinite(v) & (np.abs(v) <= orders)


def depth_slope(depths: Sequence[float], log_ratio: Sequence[float]) -> float:
    """Theil-Sen slope of one seed's log10 ratios against depth, in orders of magnitude
    per hidden layer: the median of the slopes between every two depths. A depth where
    layer 1 gets no gradient counts as lower than any ratio (``-inf``), so a pair with it
    deeper has slope ``-inf`` and one with it shallower ``+inf``; a pair with no gradient
    at both says nothing and is left out. NaN with no pair left (or when the two middle
    slopes are ``-inf`` and ``+inf``)."""
    d = np.asarray(depths, dtype=float)
    v = np.where(no_gradient(log_ratio), -np.inf, np.asarray(log_ratio, dtype=float))
    i, j = np.triu_indices(len(d), k=1)
    with np.errstate(invalid="ignore"):
        pairs = (v[j] - v[i]) / (d[j] - d[i])
    pairs = pairs[~np.isnan(pairs) & (d[j] != d[i])]
    return float(np.median(pairs)) if len(pairs) else float("nan")


def regime(log_ratio: float) -> str:
    """``no gradient`` (none reaches layer 1), ``vanishing`` (<= -1 order of magnitude),
    ``exploding`` (>= +1) or ``stable`` (between)."""
    if np.isnan(log_ratio) or log_ratio == -np.inf:
        return "no gradient"
    if log_ratio <= VANISH:
        return "vanishing"
    if log_ratio >= EXPLODE:
        return "exploding"
    return "stable"


def unit_spread(grad_w: np.ndarray) -> np.ndarray:
    """How different the units of a layer are, from its weight gradient ``(K, fan_in, units)``.

    For each model: the largest difference between two units' gradients of the same input
    weight, ``max_i (max_j g_ij - min_j g_ij)``, relative to the largest ``|g_ij|``; 0 when
    the gradient is all zero (and 0 exactly when every unit gets the same gradient). NaN
    where the gradient is not finite. Returns ``(K,)``.
    """
    g = np.asarray(grad_w, dtype=float)
    spread = (g.max(axis=2) - g.min(axis=2)).max(axis=1)
    scale = np.abs(g).max(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, spread / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(np.isfinite(g).all(axis=(1, 2)), rel, np.nan)


def layer_gradients(arch: Architecture, theta: np.ndarray, X: np.ndarray,
                    y: np.ndarray) -> list[np.ndarray]:
    """The data-loss gradient of every weight matrix (classifier last) for ``(K, P)``
    parameters on the full batch ``X (N, n)``, ``y (N,)``, as the trainer's diagnostics
    compute it: each ``(K, fan_in, fan_out)``."""
    net = Network(arch)
    theta = np.asarray(theta, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    grad = np.zeros_like(theta)
    with np.errstate(all="ignore"):
        params = net.bind(theta)
        logits, cache = net.forward(params, np.asarray(X, dtype=float), training=True)
        net.backward(params, cache, (sigmoid(logits) - y) / len(y), net.bind(grad))
    return [g.copy() for g in net.bind(grad).W]


def norms(grads: Sequence[np.ndarray]) -> np.ndarray:
    """Frobenius norm of each weight gradient: ``(K, layers)``."""
    return np.stack([np.sqrt((g * g).sum(axis=(1, 2))) for g in grads], axis=1)
