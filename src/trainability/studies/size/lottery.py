"""Lottery tickets and their controls: every arm of every pruning round, batched by round.

Iterative magnitude pruning (IMP) with rewinding (Frankle & Carbin, arXiv 1803.03635): train,
prune each layer's smallest surviving weights, reset the survivors, train again, level
after level (level 0 is the dense network). The arms, one row per level x draw x seed:

- ``ticket``: IMP, survivors reset to the original initialization;
- ``late``: IMP, survivors reset to their values after ``rewind_epoch`` epochs, then trained
  for the remaining epochs (the optimizer's state starts afresh, as in any new training);
- ``reinit``: the ticket's mask of each level with ``draws`` fresh initializations;
- ``random``: random masks with the ticket's per-layer counts, original initialization;
- ``oneshot``: the trained dense network pruned to each level's counts at once, rewound to
  the original initialization;
- ``dense``: a dense network from scratch whose width gives the number of weights closest
  to each level's.

Every arm's level 0 is the same dense network, trained once. A round's ticket, re-initialized
tickets, random masks and one-shot masks share the architecture and the epochs, so they train
in one batch; late rewinding trains fewer epochs, so it has its own. Grouping does not change
a model's result (its random streams are its own), so every arm comes out as if trained alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainability import prune
from trainability.model import Layout, init_params
from trainability.studies.size.training import (
    RANDOM_MASK_STREAM,
    REINIT_STREAM,
    Protocol,
    Split,
    Trained,
    concat,
    fit,
    model_rows,
)

ARMS = ("ticket", "late", "oneshot", "reinit", "random", "dense")


@dataclass(frozen=True)
class Pruning:
    """Per-round pruning rates of the weight matrices and where to stop."""

    first: float = 0.1
    hidden: float = 0.2
    output: float = 0.1
    target_density: float = 0.01

    def levels(self, layout: Layout) -> list[dict[str, int]]:
        rates = prune.layer_rates(layout, self.first, self.hidden, self.output)
        return prune.schedule(layout, rates, self.target_density)


def _rows(arm, layout, level, draw, seeds, mask, t: Trained, epoch_offset=0, total=None):
    """One row per seed of one arm, level and draw (``total``: the weights of the pruned
    network, when ``layout`` is a small dense one)."""
    k = len(seeds)
    weights = (prune.counts_of(mask, layout).sum(axis=1) if mask is not None
               else np.full(k, sum(prune.layer_sizes(layout).values())))
    struct = (prune.structurally_dead(mask, layout).mean(axis=(1, 2)) if mask is not None
              else np.zeros(k))
    total = total or sum(prune.layer_sizes(layout).values())
    return {
        "arm": np.full(k, arm), "level": np.full(k, level), "draw": np.full(k, draw),
        "seed": np.asarray(seeds), "width": np.full(k, layout.arch.width),
        "weights": weights, "density": weights / total, "struct_dead": struct,
        **model_rows(t, epoch_offset),
    }


def _fixed_masks(layout, levels, seeds, dense: Trained) -> tuple[list, list]:
    """Random and one-shot masks of every level (known before any pruned network trains)."""
    full = prune.full_mask(layout, len(seeds))
    random, oneshot = [None], [None]
    for level in range(1, len(levels)):
        rngs = [np.random.default_rng(np.random.SeedSequence([s, RANDOM_MASK_STREAM, level]))
                for s in seeds]
        random.append(prune.random_mask(layout, levels[level], rngs))
        oneshot.append(prune.magnitude_mask(dense.theta, full, layout, levels[level]))
    return random, oneshot


def lottery(protocol: Protocol, split: Split, width: int, seeds: Sequence[int],
            pruning: Pruning, *, draws: int = 3, rewind_epoch: int = 1) -> dict:
    """Every arm over every pruning level; also the ticket's masks ``(L, K, P)`` uint8."""
    seeds = [int(s) for s in seeds]
    arch = protocol.arch(width)
    layout = Layout(arch)
    levels = pruning.levels(layout)
    if not 0 < rewind_epoch < protocol.epochs:
        raise ValueError(f"rewind epoch must be in 1..{protocol.epochs - 1}, got {rewind_epoch}")
    k = len(seeds)
    dense = fit(protocol, width, split, seeds, checkpoints=[rewind_epoch])
    theta0, late_start = dense.theta0, dense.checkpoints[rewind_epoch]
    fresh = [init_params(layout, protocol.init, seeds, stream=REINIT_STREAM + d)
             for d in range(draws)]
    random, oneshot = _fixed_masks(layout, levels, seeds, dense)
    full = prune.full_mask(layout, k)
    rows = [_rows(arm, layout, 0, 0, seeds, full, dense) for arm in ("ticket", "late")]
    masks = [full.astype(np.uint8)]
    ticket_mask, late_mask, ticket, late = full, full, dense, dense
    for level in range(1, len(levels)):
        ticket_mask = prune.magnitude_mask(ticket.theta, ticket_mask, layout, levels[level])
        late_mask = prune.magnitude_mask(late.theta, late_mask, layout, levels[level])
        batch = [("ticket", 0, theta0, ticket_mask)]
        batch += [("reinit", d, fresh[d], ticket_mask) for d in range(draws)]
        batch += [("random", 0, theta0, random[level]), ("oneshot", 0, theta0, oneshot[level])]
        both = fit(protocol, width, split, seeds * len(batch),
                   theta0=np.concatenate([t0 * m for _, _, t0, m in batch]),
                   mask=np.concatenate([m for _, _, _, m in batch]))
        for b, (arm, draw, _, mask) in enumerate(batch):
            part = both.rows(slice(b * k, (b + 1) * k))
            rows.append(_rows(arm, layout, level, draw, seeds, mask, part))
        ticket = both.rows(slice(0, k))
        late = fit(protocol, width, split, seeds, theta0=late_start * late_mask,
                   mask=late_mask, epochs=protocol.epochs - rewind_epoch)
        rows.append(_rows("late", layout, level, 0, seeds, late_mask, late, rewind_epoch))
        masks.append(ticket_mask.astype(np.uint8))
    rows += _dense_arm(protocol, split, width, seeds, levels, dense)
    return {**concat(rows), "ticket_masks": np.stack(masks)}


def _dense_arm(protocol, split, width, seeds, levels, dense: Trained) -> list[dict]:
    """Small dense networks from scratch, one width per level (the one whose weight count
    is closest to the level's); the pruned network's own width is ``dense`` itself."""
    arch = protocol.arch(width)
    total = sum(prune.layer_sizes(Layout(arch)).values())
    widths = [prune.width_for_weights(arch, sum(c.values())) for c in levels]
    trained = {w: dense if w == width else fit(protocol, w, split, seeds)
               for w in sorted(set(widths))}
    return [_rows("dense", Layout(protocol.arch(w)), level, 0, seeds, None, trained[w],
                  total=total) for level, w in enumerate(widths)]
