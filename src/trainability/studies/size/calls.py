"""The trainer calls of the size study's jobs, for the cost model (``cost.calls_cost``).

Each job of ``runs.py`` trains its networks with ``training.fit``, one ``train`` call per
batch. Here every such call is written as the keyword arguments of the ``jobs.train_job``
that costs the same (``cost.train_cost`` reads them, and the chunks ``train`` steps),
from the same settings the job gets (``commands.py`` passes its parsed arguments), so the
estimate follows the job. After training, ``fit`` evaluates all its models at once (and
the width study takes its units' activity): a call of 0 epochs over every point, which is
what a wide batch's peak memory is. Left out, small beside the training: unit scores,
choosing masks, group lasso's proximal step and a mask's product after every step.

Structured pruning retrains, besides the fixed target widths, each seed at its own number
of live units, known only once the wide network has trained: counted as ``LIVE_WIDTHS``
widths of a third of the wide one, the seeds spread over them (measured at the default
params: 15-31 live units of 64 per seed, 11 and 16 distinct widths over 50 seeds on
circles and moons).
"""

from __future__ import annotations

from collections.abc import Sequence

from trainability.model import Layout
from trainability.prune import width_for_weights
from trainability.studies.size.lottery import Pruning
from trainability.studies.size.training import ACTIVATION, Protocol

LIVE_WIDTHS = 16


def fit(protocol: Protocol, validation_fraction: float, width: int, models: int, *,
        epochs: int | None = None, batch_seeds: int | None = None,
        regularized: bool = True) -> list[dict]:
    """The calls of ``training.fit`` training ``models`` networks of ``width``
    (``batch_seeds``: the seeds among them, when each trains several times)."""
    l2 = protocol.l2 if regularized else 0.0
    call = dict(
        activation=ACTIVATION, inits=[protocol.init], width=width, depth=protocol.depth,
        optimizer={"name": protocol.optimizer, "lr": protocol.lr, "l2": l2},
        epochs=protocol.epochs if epochs is None else epochs,
        batch_size=protocol.batch_size, diagnostics=False,
        validation_fraction=validation_fraction,
        float32=protocol.float32_from is not None and width >= protocol.float32_from,
        batch_seeds=batch_seeds or models)
    # then every model at once, in float64: its test accuracy (and, in the width study,
    # its units' activity on the fit points), as a forward pass over all the points
    return [call | {"seeds": range(models)},
            call | {"seeds": range(models), "epochs": 0, "float32": False,
                    "optimizer": {"name": "sgd"}}]


def width_calls(protocol: Protocol, validation_fraction: float, *, widths: Sequence[int],
                seeds: Sequence[int], regularized_widths: Sequence[int] = (),
                regularized_seeds: int = 0, **_regularization) -> list[dict]:
    """``runs.width_job``: every width unregularized, then with L2 and with group lasso."""
    plan = list(zip(widths, seeds, strict=True))
    plan += [(w, regularized_seeds) for w in regularized_widths] * 2
    return [c for w, n in plan for c in fit(protocol, validation_fraction, w, n)]


def lottery_calls(protocol: Protocol, validation_fraction: float, *, width: int,
                  seeds: int, pruning: Pruning, draws: int, rewind_epoch: int) -> list[dict]:
    """``runs.lottery_job``: the dense network; per pruning level the ticket, its
    re-initializations, random and one-shot masks in one batch, and late rewinding; the
    small dense networks, one per distinct width."""
    arch = protocol.arch(width)
    levels = pruning.levels(Layout(arch))
    calls = fit(protocol, validation_fraction, width, seeds)
    for _ in levels[1:]:
        calls += fit(protocol, validation_fraction, width, seeds * (3 + draws),
                     batch_seeds=seeds)
        calls += fit(protocol, validation_fraction, width, seeds,
                     epochs=protocol.epochs - rewind_epoch)
    dense = {width_for_weights(arch, sum(counts.values())) for counts in levels} - {width}
    return calls + [c for w in sorted(dense) for c in fit(protocol, validation_fraction, w,
                                                            seeds)]


def structured_calls(protocol: Protocol, validation_fraction: float, *, width: int,
                     seeds: int, widths: Sequence[int], finetune_epochs: int,
                     **_tau) -> list[dict]:
    """``runs.structured_job``: the wide regularized network; per target width its
    fine-tuning, and its rewound and fresh networks in one batch (module docstring)."""
    calls = fit(protocol, validation_fraction, width, seeds)
    targets = [(k, seeds) for k in sorted(set(widths)) if k < width]
    groups = min(LIVE_WIDTHS, seeds)
    targets += [(max(1, width // 3), seeds // groups + (g < seeds % groups))
                for g in range(groups)]
    for k, n in targets:
        calls += fit(protocol, validation_fraction, k, n, epochs=finetune_epochs,
                     regularized=False)
        calls += fit(protocol, validation_fraction, k, 2 * n, batch_seeds=n,
                     regularized=False)
    return calls
