"""The order in which tables, figures and the report list activations and initializers:
the lecture's three activations first, then the registries' order (unknown names last)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from trainability.activations import ACTIVATIONS
from trainability.initializers import INITIALIZERS

LECTURE_ACTIVATIONS = ("relu", "sigmoid", "tanh")
ACTIVATION_ORDER = (*LECTURE_ACTIVATIONS, *ACTIVATIONS)
INIT_ORDER = tuple(INITIALIZERS)


def order(names: Iterable[str], preferred: Sequence[str]) -> list[str]:
    """Unique ``names`` in the order of ``preferred``; unknown names last, alphabetically."""
    rank = {name: i for i, name in enumerate(dict.fromkeys(preferred))}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def activation_order(names: Iterable[str]) -> list[str]:
    return order(names, ACTIVATION_ORDER)


def init_order(names: Iterable[str]) -> list[str]:
    return order(names, INIT_ORDER)
