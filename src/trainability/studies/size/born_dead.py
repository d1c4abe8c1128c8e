"""Born dead: a ReLU network with a hidden layer inactive on every fit point at the start.

A hidden layer whose units all have a pre-activation <= 0 on every fit point outputs 0
there, and ReLU's gradient is 0 where z <= 0 (``activations._relu_grad``): no gradient
reaches the layers below it, and the layers above see a constant, so the network is a
constant function on the fit points, what Lu, Shin, Su & Karniadakis call *born dead*
("Dying ReLU and Initialization: Theory and Numerical Examples", arXiv 1903.06733; Commun.
Comput. Phys. 28, 1671-1706, 2020). The run files do not keep the initial weights: they are
recomputed from the seed exactly as ``training.fit`` draws them (``initial_params``).

**At one point** (``one_point_probability``), for the initializations Lu et al. study:
every weight independent, from a continuous distribution symmetric about 0, and every bias
0 or independent and symmetric. At an input x != 0, if the output h of layer l - 1 is not
0, unit j of layer l has pre-activation ``w_j . h + b_j``, symmetric and continuous, so it
is <= 0 with probability 1/2, independently of the other units (their weights are other
draws): layer l, of width N, is inactive at x with probability 2^-N. A network of L hidden
layers is then dead at x with probability 1 - (1 - 2^-N)^L, with zero biases or symmetric
ones alike.

Our networks meet those assumptions (He normal weights: independent N(0, 2 / fan_in);
biases 0), but *born dead* here is inactive on **every** fit point at once. Such a network
is dead at each of them, so the one-point probability is an upper bound. What zero biases
add: the network is positively homogeneous (h(c x) = c h(x) for c > 0), so only a point's
direction matters, and the bound is reached exactly when every fit point lies on one ray
from the origin (with symmetric biases, not even then). Fit points spread over many
directions (circles surround the origin) make born dead far rarer, and no closed form
covers them, so the probability for our setup is estimated by Monte Carlo (``predicted``):
initial networks drawn by the trainer's own initializer (``model.init_params``, on a stream
no model trains from), each checked on the fit points. It uses the fit points' positions
only (with zero biases, their directions): no labels, nothing trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainability.claims import wilson
from trainability.model import Layout, init_params
from trainability.studies.size.training import Protocol

DRAWS = 5_000  # Monte-Carlo networks per width: a standard error of at most 0.0071
MC_STREAM = 40  # the draws' random stream (training.py lists the streams models use)
CHUNK = 1_000_000  # pre-activations per forward pass (8 MB in float64)


def one_point_probability(width: int, depth: int) -> float:
    """Probability that some hidden layer is inactive at one input point x != 0, for
    independent symmetric continuous weights and zero or symmetric biases:
    ``1 - (1 - 2**-width)**depth`` (module docstring). An upper bound on being born dead
    on a set of points."""
    return float(-np.expm1(depth * np.log1p(-(2.0 ** -width))))  # not 0 where 2^-N < 1e-16


def initial_params(protocol: Protocol, width: int, seeds: Sequence[int],
                   stream: int = 0) -> np.ndarray:
    """The parameters ``training.fit`` starts the models of ``seeds`` from: the
    protocol's initializer on their weight stream, in the precision the width trains in
    (float32 from ``protocol.float32_from``), returned in float64."""
    theta = init_params(Layout(protocol.arch(width)), protocol.init, [int(s) for s in seeds],
                        stream=stream)
    return theta.astype(protocol.dtype(width)).astype(np.float64)


def _first(dead: np.ndarray) -> np.ndarray:
    """Per row of ``dead (K, depth)`` (a layer inactive on every point), the first such
    layer, 1-based; 0 if none."""
    return np.where(dead.any(axis=1), dead.argmax(axis=1) + 1, 0)


def first_dead_layer(active: np.ndarray) -> np.ndarray:
    """From the share of points on which each unit is active, ``(K, depth, width)``: per
    model, the first hidden layer (1-based) whose units are all inactive on every point,
    0 if none (a model with no finite shares: 0)."""
    return _first((active == 0).all(axis=2))


def dead_layer(theta: np.ndarray, protocol: Protocol, width: int, X: np.ndarray
               ) -> np.ndarray:
    """``first_dead_layer`` of the networks ``theta (K, P)`` on the points ``X``: their
    hidden layers' pre-activations (as ``prune.active_fraction`` computes them, signs
    only), in chunks of models."""
    layout = Layout(protocol.arch(width))
    step = max(1, CHUNK // (len(X) * width))
    out = []
    for start in range(0, len(theta), step):
        views = layout.views(np.asarray(theta[start:start + step], dtype=np.float64))
        h, dead = X, []
        for i in range(protocol.depth):
            z = h @ views[f"W{i}"] + views[f"b{i}"]  # (k, points, width)
            dead.append(~(z > 0).any(axis=(1, 2)))
            h = np.maximum(z, 0.0, out=z)
        out.append(_first(np.stack(dead, axis=1)))
    return np.concatenate(out)


def resolvable(width: int, depth: int, draws: int = DRAWS) -> bool:
    """Whether ``draws`` networks can tell the born-dead rate from its upper bound: the
    one-point probability is above the Wilson 95% upper limit of 0 born dead of ``draws``.
    Where it is not, the bound itself is the prediction."""
    return one_point_probability(width, depth) > wilson(0, draws)[1]


def predicted(protocol: Protocol, width: int, X: np.ndarray, draws: int = DRAWS) -> int:
    """How many of ``draws`` initial networks (seeds 0 .. draws - 1 of ``MC_STREAM``) are
    born dead on the points ``X``."""
    step = max(1, CHUNK // (len(X) * width))
    dead = 0
    for start in range(0, draws, step):
        theta = initial_params(protocol, width, range(start, min(start + step, draws)),
                               MC_STREAM)
        dead += int((dead_layer(theta, protocol, width, X) > 0).sum())
    return dead
