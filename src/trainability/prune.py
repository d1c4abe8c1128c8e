"""Pruning: keep-masks over the flat parameter array, unit scores, and removing units.

Everything acts on K models at once: parameters ``theta`` and masks are ``(K, P)`` arrays in
the layout of ``model.Layout`` (dense layer ``i`` has weights ``Wi`` and bias ``bi``; the
classifier is the last one). A mask is 1 where a parameter is kept and 0 where it is
pruned; biases are never pruned.

Weight pruning (Frankle & Carbin, arXiv 1803.03635, "Strategy 1"):

- ``keep_counts``: how many weights of each layer survive after ``n`` rounds when round
  ``n`` removes the fraction ``rate`` of the layer's survivors: ``round(N (1 - rate)^n)``
  (at least 1), so every layer holds exactly its scheduled share whatever the rounding of
  earlier rounds;
- ``magnitude_mask``: per layer, keep the weights of largest ``|theta|`` among the
  survivors of the current mask (so masks are nested); ties go to the lower index;
- ``random_mask``: per layer, the same number of weights chosen uniformly at random (the
  "random pruning at the same per-layer density" control).

Units of hidden layers (ReLU networks are invariant to scaling a unit's incoming weights and
bias by ``a > 0`` and its outgoing weights by ``1/a``, so neither norm alone means anything):

- ``unit_scores``: ``s_j = ||(w_in_j, b_j)|| * ||w_out_j||`` per hidden unit;
- ``active_fraction``: the share of data points on which a unit's pre-activation is > 0;
  a unit active on no point is *activation-dead*;
- ``structurally_dead``: units whose unmasked fan-in or fan-out is empty;
- ``remove_units``: keep chosen units of every hidden layer and return the smaller
  ``Architecture`` and its parameters (the same function when the removed units are dead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from trainability.model import Architecture, Layout, Network

# ---------------------------------------------------------------- layers and counts


def weight_layers(layout: Layout) -> list[str]:
    """Names of the weight matrices, input layer first and classifier last: W0 .. Wd."""
    return [f"W{i}" for i in range(layout.arch.depth + 1)]


def layer_sizes(layout: Layout) -> dict[str, int]:
    return {name: int(np.prod(layout.slices[name][1])) for name in weight_layers(layout)}


def layer_rates(layout: Layout, first: float, hidden: float, output: float) -> dict[str, float]:
    """Per-round pruning rate of every weight matrix: ``first`` for W0, ``output`` for the
    classifier, ``hidden`` for the matrices between hidden layers."""
    names = weight_layers(layout)
    rates = {name: hidden for name in names}
    rates[names[0]] = first
    rates[names[-1]] = output
    return rates


def keep_counts(layout: Layout, rates: Mapping[str, float], rounds: int) -> dict[str, int]:
    """Weights of each layer that survive ``rounds`` rounds of pruning ``rates``."""
    counts = {}
    for name, size in layer_sizes(layout).items():
        rate = rates[name]
        if not 0 <= rate < 1:
            raise ValueError(f"pruning rate of {name} must be in [0, 1), got {rate}")
        counts[name] = max(1, int(round(size * (1.0 - rate) ** rounds)))
    return counts


def schedule(layout: Layout, rates: Mapping[str, float], target_density: float
             ) -> list[dict[str, int]]:
    """Per-layer keep counts of level 0 (dense), 1, 2, ... until the share of weights left
    is below ``target_density`` (the last level is the first one below it). Level n is
    round n of ``keep_counts``, except that a round whose rounded counts are those of the
    previous level is skipped."""
    if not 0 < target_density < 1:
        raise ValueError(f"target_density must be in (0, 1), got {target_density}")
    if max(rates.values()) <= 0:
        raise ValueError("at least one pruning rate must be > 0")
    total = sum(layer_sizes(layout).values())
    levels = [keep_counts(layout, rates, 0)]
    rounds = 0
    while sum(levels[-1].values()) / total >= target_density:
        if all(n == 1 or rates[name] == 0 for name, n in levels[-1].items()):
            raise ValueError(f"the pruning rates never reach density {target_density}")
        rounds += 1
        counts = keep_counts(layout, rates, rounds)
        if counts != levels[-1]:  # small layers: rounding can leave a round with no change
            levels.append(counts)
    return levels


def full_mask(layout: Layout, k: int) -> np.ndarray:
    """All ones: ``(K, P)``."""
    return np.ones((k, layout.size))


def counts_of(mask: np.ndarray, layout: Layout) -> np.ndarray:
    """Kept weights per model and layer: ``(K, depth + 1)`` integers."""
    views = layout.views(np.asarray(mask))
    k = mask.shape[0]
    return np.stack([(views[n].reshape(k, -1) != 0).sum(axis=1) for n in weight_layers(layout)],
                    axis=1)


def density(mask: np.ndarray, layout: Layout) -> np.ndarray:
    """Share of weights (biases excluded) kept, per model: ``(K,)``."""
    return counts_of(mask, layout).sum(axis=1) / sum(layer_sizes(layout).values())


# ---------------------------------------------------------------- weight masks


def _keep_top(score: np.ndarray, n_keep: int) -> np.ndarray:
    """0/1 rows ``(K, N)`` keeping the ``n_keep`` largest scores of each row (ties: lower
    index first)."""
    order = np.argsort(-score, axis=1, kind="stable")[:, :n_keep]
    keep = np.zeros(score.shape)
    np.put_along_axis(keep, order, 1.0, axis=1)
    return keep


def magnitude_mask(theta: np.ndarray, mask: np.ndarray, layout: Layout,
                   counts: Mapping[str, int]) -> np.ndarray:
    """The mask keeping, per layer, the ``counts[layer]`` surviving weights of largest
    magnitude in ``theta``; the new mask lies inside ``mask``."""
    theta = np.asarray(theta, dtype=np.float64)
    new = np.array(mask, dtype=np.float64, copy=True)
    k = theta.shape[0]
    t_views, m_views, n_views = layout.views(theta), layout.views(np.asarray(mask)), \
        layout.views(new)
    for name in weight_layers(layout):
        alive = m_views[name].reshape(k, -1) != 0
        n_keep = int(counts[name])
        short = alive.sum(axis=1) < n_keep
        if short.any():
            raise ValueError(f"{name}: cannot keep {n_keep} weights, only "
                             f"{int(alive.sum(axis=1).min())} survive")
        score = np.where(alive, np.abs(t_views[name].reshape(k, -1)), -np.inf)
        n_views[name][...] = _keep_top(score, n_keep).reshape(n_views[name].shape)
    return new


def random_mask(layout: Layout, counts: Mapping[str, int], rngs: Sequence[np.random.Generator]
                ) -> np.ndarray:
    """A mask keeping exactly ``counts[layer]`` weights of every layer, chosen uniformly at
    random, one generator per model: ``(K, P)``."""
    k = len(rngs)
    mask = full_mask(layout, k)
    views = layout.views(mask)
    sizes = layer_sizes(layout)
    for m, rng in enumerate(rngs):
        for name in weight_layers(layout):
            keep = np.zeros(sizes[name])
            keep[rng.choice(sizes[name], size=int(counts[name]), replace=False)] = 1.0
            views[name][m] = keep.reshape(views[name].shape[1:])
    return mask


# ---------------------------------------------------------------- units


def _in_out(theta: np.ndarray, layout: Layout):
    v = layout.views(np.asarray(theta))
    depth = layout.arch.depth
    for i in range(depth):
        yield v[f"W{i}"], v[f"b{i}"], v[f"W{i + 1}"]


def unit_scores(theta: np.ndarray, layout: Layout) -> np.ndarray:
    """``s_j = ||(w_in_j, b_j)|| * ||w_out_j||`` of every hidden unit: ``(K, depth, width)``."""
    scores = []
    for w_in, b, w_out in _in_out(theta, layout):
        norm_in = np.sqrt((w_in**2).sum(axis=1) + b[:, 0, :] ** 2)
        norm_out = np.sqrt((w_out**2).sum(axis=2))
        scores.append(norm_in * norm_out)
    return np.stack(scores, axis=1)


def norm_dead(scores: np.ndarray, tau: float) -> np.ndarray:
    """Units whose score is below ``tau`` times the largest score of their layer (per model);
    every unit of a layer whose scores are all 0 is dead. ``(K, depth, width)`` booleans."""
    top = scores.max(axis=2, keepdims=True)
    return (scores < tau * top) | (top == 0)


def active_fraction(theta: np.ndarray, arch: Architecture, X: np.ndarray) -> np.ndarray:
    """Share of the points ``X (N, n_inputs)`` on which each hidden unit's pre-activation is
    positive: ``(K, depth, width)``. (Batch norm, if any, is not applied: the study's
    networks have none.)"""
    net = Network(arch)
    _, cache = net.forward(net.bind(np.asarray(theta, dtype=np.float64)), X)
    return np.stack([(z > 0).mean(axis=1) for _, z, _, _, _ in cache[:-1]], axis=1)


def structurally_dead(mask: np.ndarray, layout: Layout) -> np.ndarray:
    """Hidden units with no unmasked incoming weight or no unmasked outgoing weight (their
    bias alone cannot carry information): ``(K, depth, width)`` booleans."""
    dead = []
    for w_in, _, w_out in _in_out(mask, layout):
        dead.append(((w_in != 0).sum(axis=1) == 0) | ((w_out != 0).sum(axis=2) == 0))
    return np.stack(dead, axis=1)


def top_units(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest-scoring units of every hidden layer, in their original
    order: ``(K, depth, k)`` (ties: lower index first)."""
    width = scores.shape[2]
    if not 1 <= k <= width:
        raise ValueError(f"can keep 1..{width} units per layer, not {k}")
    order = np.argsort(-scores, axis=2, kind="stable")[:, :, :k]
    return np.sort(order, axis=2)


def remove_units(theta: np.ndarray, arch: Architecture, keep: np.ndarray
                 ) -> tuple[Architecture, np.ndarray]:
    """Keep units ``keep (K, depth, k)`` of every hidden layer and drop the rest.

    Returns the architecture of width ``k`` and its ``(K, P')`` parameters: the incoming
    weights and bias of every kept unit and the outgoing weights between kept units. The
    network computes the same function wherever the dropped units output 0 (activation-
    dead on those inputs) or have zero outgoing weights.
    """
    if arch.batch_norm:
        raise ValueError("remove_units does not handle batch normalization")
    keep = np.asarray(keep)
    k_models, depth, k = keep.shape
    if depth != arch.depth:
        raise ValueError(f"keep has {depth} hidden layers, the network {arch.depth}")
    if keep.min() < 0 or keep.max() >= arch.width:
        raise ValueError(f"unit indices must be in 0..{arch.width - 1}")
    small = Architecture(arch.depth, k, arch.activation, (), arch.n_inputs)
    old, new = Layout(arch), Layout(small)
    out = np.zeros((k_models, new.size), dtype=np.asarray(theta).dtype)
    src, dst = old.views(np.asarray(theta)), new.views(out)
    for i in range(depth + 1):
        w = src[f"W{i}"]
        if i > 0:  # rows: the kept units of the previous hidden layer
            w = np.take_along_axis(w, keep[:, i - 1, :, None], axis=1)
        b = src[f"b{i}"]
        if i < depth:  # columns: the kept units of this hidden layer
            w = np.take_along_axis(w, keep[:, i, None, :], axis=2)
            b = np.take_along_axis(b, keep[:, i, None, :], axis=2)
        dst[f"W{i}"][...] = w
        dst[f"b{i}"][...] = b
    return small, out


def weights_of_width(arch: Architecture, width: int) -> int:
    """Number of weights (biases excluded) of ``arch`` at another width."""
    sizes = [arch.n_inputs] + [width] * arch.depth + [1]
    return int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)))


def width_for_weights(arch: Architecture, n_weights: float) -> int:
    """The width whose dense network has the number of weights closest to ``n_weights``
    (the lower one on a tie)."""
    best, best_gap = 1, abs(weights_of_width(arch, 1) - n_weights)
    w = 1
    while weights_of_width(arch, w) <= 2 * n_weights + 10:
        gap = abs(weights_of_width(arch, w) - n_weights)
        if gap < best_gap:
            best, best_gap = w, gap
        w += 1
    return best
