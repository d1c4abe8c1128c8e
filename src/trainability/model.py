"""A stack of K fully connected binary classifiers, computed in one set of array operations.

The network is ``input -> depth x Dense(width, activation) [-> BatchNorm] -> Dense(1)``;
the classifier's sigmoid lives in the loss (binary cross-entropy from logits), so
``forward`` returns logits.

All parameters of all K models live in one flat array ``theta`` of shape ``(K, P)``; the
weight matrices, biases and batch-norm scales are views into it (``Layout.views``). The
optimizer, the pruning masks and weight decay then act on one array with a few fused
operations instead of one operation per parameter tensor, which is where the time of small
networks goes. Gradients use the same layout. For the same reason a training step writes
every intermediate array into a ``Workspace`` allocated once per batch size.

Batch normalization (Ioffe & Szegedy 2015) follows the activation of the hidden layers
listed in ``Architecture.batch_norm`` (1-based), as the lecture's Keras model places it.
It normalizes with batch statistics in training and with running averages (momentum 0.99,
eps 1e-3, the Keras defaults) at inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from trainability.activations import get_activation
from trainability.initializers import get_initializer

BN_EPS = 1e-3
BN_MOMENTUM = 0.99


@dataclass(frozen=True)
class Architecture:
    depth: int = 4
    width: int = 5
    activation: str = "relu"
    batch_norm: tuple[int, ...] = ()
    n_inputs: int = 2

    def __post_init__(self):
        get_activation(self.activation)
        if self.depth < 1 or self.width < 1:
            raise ValueError(f"depth and width must be >= 1, got {self.depth}, {self.width}")
        bad = [j for j in self.batch_norm if not 1 <= j <= self.depth]
        if bad:
            raise ValueError(f"batch_norm layers {bad} outside hidden layers 1..{self.depth}")
        object.__setattr__(self, "batch_norm", tuple(sorted(set(self.batch_norm))))

    @property
    def dense_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every dense layer, the classifier last."""
        sizes = [self.n_inputs] + [self.width] * self.depth + [1]
        return list(zip(sizes[:-1], sizes[1:], strict=True))


@dataclass
class Layout:
    """Where each parameter tensor sits in the flat parameter vector."""

    arch: Architecture
    slices: dict[str, tuple[slice, tuple[int, ...]]] = field(default_factory=dict)
    size: int = 0

    def __post_init__(self):
        for i, (fan_in, fan_out) in enumerate(self.arch.dense_shapes):
            self._add(f"W{i}", (fan_in, fan_out))
            self._add(f"b{i}", (1, fan_out))
        for j in self.arch.batch_norm:
            self._add(f"gamma{j}", (1, self.arch.width))
            self._add(f"beta{j}", (1, self.arch.width))

    def _add(self, name, shape):
        n = int(np.prod(shape))
        self.slices[name] = (slice(self.size, self.size + n), shape)
        self.size += n

    def views(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Named ``(K, *shape)`` views into a ``(K, P)`` array (no copies)."""
        k = theta.shape[0]
        return {n: theta[:, s].reshape(k, *shape) for n, (s, shape) in self.slices.items()}

    def weight_mask(self) -> np.ndarray:
        """1 on entries of weight matrices, 0 on biases and batch-norm parameters: ``(P,)``."""
        mask = np.zeros(self.size)
        for name, (s, _) in self.slices.items():
            if name.startswith("W"):
                mask[s] = 1.0
        return mask


def model_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one model's random stream (0: initial weights, 1: shuffling, ...)."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def init_params(
    layout: Layout,
    init: str,
    seeds: Sequence[int],
    scale: float = 1.0,
    stream: int = 0,
    classifier_init: str | None = None,
) -> np.ndarray:
    """Initial ``(K, P)`` parameters: weights from ``init``, biases and beta 0, gamma 1.

    Model k draws from its own generator ``model_rng(seeds[k], stream)``, so its weights do
    not depend on which other models share the batch. The layers draw in order, the
    classifier last, so the hidden weights are the same whatever the classifier draws.

    ``classifier_init`` names another initializer for the classifier's weight matrix (None:
    ``init``, as for the hidden layers). The lecture's Keras model keeps the classifier
    ``Dense(1, sigmoid)`` at Keras' default ``glorot_uniform`` while the hidden layers get
    the initializer under study. ``scale`` applies to the hidden layers only (the
    classifier's initializer gets 1); the fan-scaled initializers ignore it anyway.
    """
    hidden = get_initializer(init)
    classifier = get_initializer(classifier_init) if classifier_init is not None else None
    theta = np.zeros((len(seeds), layout.size))
    views = layout.views(theta)
    last = len(layout.arch.dense_shapes) - 1
    for k, seed in enumerate(seeds):
        rng = model_rng(seed, stream)
        for i, (fan_in, fan_out) in enumerate(layout.arch.dense_shapes):
            if i == last and classifier is not None:
                views[f"W{i}"][k] = classifier(rng, fan_in, fan_out, 1.0)
            else:
                views[f"W{i}"][k] = hidden(rng, fan_in, fan_out, scale)
    for j in layout.arch.batch_norm:
        views[f"gamma{j}"][:] = 1.0
    return theta


@dataclass
class BatchNormState:
    """Running mean and variance of each batch-norm layer, ``(K, 1, width)`` each."""

    mean: dict[int, np.ndarray]
    var: dict[int, np.ndarray]

    @classmethod
    def fresh(cls, arch: Architecture, k: int, dtype=np.float64) -> BatchNormState:
        shape = (k, 1, arch.width)
        return cls(
            {j: np.zeros(shape, dtype) for j in arch.batch_norm},
            {j: np.ones(shape, dtype) for j in arch.batch_norm},
        )


@dataclass
class Params:
    """Per-layer views into a ``(K, P)`` array, as lists for cheap access in the hot loop."""

    W: list[np.ndarray]  # (K, fan_in, fan_out), the classifier last
    b: list[np.ndarray]  # (K, 1, fan_out)
    gamma: dict[int, np.ndarray]  # (K, 1, width), keyed by hidden layer (1-based)
    beta: dict[int, np.ndarray]


class Network:
    """Forward and backward passes for the K models of one architecture."""

    def __init__(self, arch: Architecture):
        self.arch = arch
        self.layout = Layout(arch)
        self.act = get_activation(arch.activation)

    def bind(self, theta: np.ndarray) -> Params:
        """Views into ``theta``; they stay valid while it is updated in place."""
        v = self.layout.views(theta)
        n = self.arch.depth + 1
        bn = self.arch.batch_norm
        return Params(
            [v[f"W{i}"] for i in range(n)],
            [v[f"b{i}"] for i in range(n)],
            {j: v[f"gamma{j}"] for j in bn},
            {j: v[f"beta{j}"] for j in bn},
        )

    def forward(self, p: Params, x, bn: BatchNormState | None = None, training=False,
                ws: Workspace | None = None, out: np.ndarray | None = None):
        """Logits ``(K, B, 1)`` for inputs ``x`` of shape ``(K, B, n)`` or ``(B, n)``.

        ``z_i = h_{i-1} W_i + b_i``, ``a_i = f(z_i)``, ``h_i = a_i`` (or its batch norm), and
        ``logits = h_depth W_out + b_out``. With ``training=True`` batch norm uses batch
        statistics and updates ``bn``'s running averages (if given). The cache holds, per
        hidden layer, its input, pre-activation, activation and (with batch norm) the
        normalized activation and 1/std. The cache lives in ``ws`` (a fresh one when None)
        until its next use, the logits there too unless ``out`` says where.
        """
        if ws is None:
            dtype = np.result_type(x, p.W[0])
            ws = Workspace(self.arch, len(p.W[0]), x.shape[-2], dtype, backward=False)
        fn, batch_norm = self.act.fn, self.arch.batch_norm  # locals: this runs every step
        h = x
        cache = []
        for i in range(self.arch.depth):
            z = np.matmul(h, p.W[i], out=ws.z[i])
            z += p.b[i]
            a = fn(z, ws.a[i])
            if i + 1 in batch_norm:
                normalized, a_hat, inv_std = self._normalize(p, i + 1, a, bn, training)
                cache.append((h, z, a, a_hat, inv_std))
                h = normalized
            else:
                cache.append((h, z, a, None, None))
                h = a
        logits = np.matmul(h, p.W[-1], out=ws.logits if out is None else out)
        logits += p.b[-1]
        cache.append((h, None, None, None, None))
        return logits, cache

    def _normalize(self, p: Params, j: int, a, bn: BatchNormState | None, training: bool):
        """Batch norm of hidden layer j: ``(gamma a_hat + beta, a_hat, 1 / std)``."""
        if training:
            mean = a.mean(axis=1, keepdims=True)
            centered = a - mean
            # a.var(axis=1) computes exactly this, but its own mean and a - mean too
            var = np.square(centered).mean(axis=1, keepdims=True)
            if bn is not None:
                bn.mean[j] = BN_MOMENTUM * bn.mean[j] + (1 - BN_MOMENTUM) * mean
                bn.var[j] = BN_MOMENTUM * bn.var[j] + (1 - BN_MOMENTUM) * var
        else:
            mean, var = bn.mean[j], bn.var[j]
            centered = a - mean
        inv_std = 1.0 / np.sqrt(var + BN_EPS)
        a_hat = centered * inv_std
        return p.gamma[j] * a_hat + p.beta[j], a_hat, inv_std

    def backward(self, p: Params, cache, d_logits, g: Params, ws: Workspace | None = None):
        """Write into ``g`` (views of the gradient array) the gradient of the loss.

        ``d_logits = dL/dlogits`` has shape ``(K, B, 1)``. Going down, ``dW_i = h_{i-1}^T
        delta_i``, ``db_i = 1^T delta_i`` and ``delta_{i-1} = (delta_i W_i^T) f'(z_{i-1})``
        (through batch norm where there is one). Batch norm is differentiated through its
        batch statistics, so with batch norm this follows a ``training=True`` forward pass.
        Intermediate arrays live in ``ws`` (a fresh one when None).
        """
        if ws is None:
            ws = Workspace(self.arch, len(d_logits), d_logits.shape[1], d_logits.dtype)
        grad_fn, batch_norm, depth = self.act.grad, self.arch.batch_norm, self.arch.depth
        delta = d_logits
        for i in range(depth, -1, -1):
            h = cache[i][0]
            np.matmul(h.mT, delta, out=g.W[i])
            # a sum over the batch as a matrix product: NumPy's sum over a middle axis goes
            # one short row at a time, 2-4x slower here (BLAS's order: other last bits)
            np.matmul(ws.ones, delta, out=g.b[i])
            if i == 0:
                break
            if i == depth:
                # The classifier has one output, so delta @ W.T is an outer product: a
                # broadcast multiply forms the same products (no sums, so the same bits)
                # without a BLAS call, twice as fast from width 16 up.
                d_a = np.multiply(delta, p.W[i].mT, out=ws.d_a[i - 1])
            else:
                d_a = np.matmul(delta, p.W[i].mT, out=ws.d_a[i - 1])
            _, z, a, a_hat, inv_std = cache[i - 1]
            if i in batch_norm:  # hidden layer i feeds dense layer i
                d_a = self._normalize_backward(p, i, d_a, a_hat, inv_std, g)
            d_a *= grad_fn(z, a, ws.scratch)
            delta = d_a

    @staticmethod
    def _normalize_backward(p: Params, j: int, d_out, a_hat, inv_std, g: Params):
        """Gradient w.r.t. the activation under batch norm of layer j, given that w.r.t.
        its output; writes those of gamma and beta into ``g``."""
        np.add.reduce(d_out * a_hat, axis=1, keepdims=True, out=g.gamma[j])
        np.add.reduce(d_out, axis=1, keepdims=True, out=g.beta[j])
        d_hat = d_out * p.gamma[j]
        n = d_hat.shape[1]
        return (inv_std / n) * (
            n * d_hat
            - d_hat.sum(axis=1, keepdims=True)
            - a_hat * (d_hat * a_hat).sum(axis=1, keepdims=True)
        )


class Workspace:
    """The arrays one forward and backward pass over ``(K, B, ...)`` inputs write into.

    The training step keeps one per batch size, so its hot loop allocates nothing: a fresh
    array costs ~0.5 us, a whole step of 5 models of width 16 ~40 us. One-off calls let
    ``forward`` and ``backward`` make a fresh one; a forward-only one (``backward=False``,
    what evaluation needs) leaves out the arrays only backward writes.
    """

    def __init__(self, arch: Architecture, k: int, b: int, dtype, backward: bool = True):
        shape = (k, b, arch.width)
        self.z = [np.empty(shape, dtype) for _ in range(arch.depth)]
        self.a = [np.empty(shape, dtype) for _ in range(arch.depth)]
        self.logits = np.empty((k, b, 1), dtype)
        if backward:
            self.d_a = [np.empty(shape, dtype) for _ in range(arch.depth)]
            self.scratch = np.empty(shape, dtype)
            self.d_logits = np.empty((k, b, 1), dtype)
            self.ones = np.ones((1, b), dtype)  # sums over the batch as matrix products
