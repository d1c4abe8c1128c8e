"""What "learns" means and how a diverged seed scores: one definition and one policy for
every check of every study. NumPy only, so a study's spec (which Snakemake imports) can
read it; ``scoring`` applies it to tables.

- A network **has learned** the data when its test accuracy is at least
  ``learns.accuracy`` (params.yaml), and **has learned nothing** when it is at most
  ``learns.chance_margin`` above a **constant guess** of the larger class.
- A **diverged** seed (its loss left the finite numbers) has not learned: it scores what a
  constant guess scores (the larger class's share as accuracy, the entropy of the class
  shares as loss) and fails every success criterion. It is never dropped, so a setting that
  diverges more cannot look better for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

POLICY = (
    "A seed that diverged has learned nothing: every check scores it as a constant guess of "
    "the larger class (that class's share as its accuracy, the entropy of the class shares "
    "as its loss) and as a failure of every success criterion; no seed is left out."
)


@dataclass(frozen=True)
class Learns:
    """params.yaml's ``learns``: the one meaning of "learns" every study uses."""

    accuracy: float = 0.95  # learned: test accuracy at least this
    chance_margin: float = 0.05  # learned nothing: accuracy at most this above chance

    @classmethod
    def from_params(cls, params: dict) -> Learns:
        return cls(**params.get("learns", {}))

    @classmethod
    def of(cls, spec) -> Learns:
        """From a study spec's ``learns`` field: a dict, as specs hold plain values (a spec
        sets it with ``dataclasses.asdict(Learns.from_params(params))``)."""
        return cls(**spec.learns)

    def nothing(self, chance: float) -> float:
        """The accuracy at or below which a network has learned nothing."""
        return chance + self.chance_margin

    def sentence(self, chance: float | None = None) -> str:
        """The definition in words, for a section's rule or the report's method."""
        text = (f"a network *learns* the data when its test accuracy is at least "
                f"{self.accuracy:g}, and *learns nothing* when it is at most "
                f"{self.chance_margin:g} above a constant guess of the larger class")
        return text + (f" ({chance:.3f} here)" if chance is not None else "")


@dataclass(frozen=True)
class Guess:
    """What a constant guess of the larger class scores on a set of labels."""

    accuracy: float
    loss: float  # the best constant prediction's cross-entropy: the entropy of the shares

    @classmethod
    def of(cls, y) -> Guess:
        p = float(np.mean(np.asarray(y, dtype=float)))
        entropy = -sum(q * math.log(q) for q in (p, 1.0 - p) if q > 0)
        return cls(max(p, 1.0 - p), entropy)

    def score(self, column: str) -> float:
        """A diverged seed's value of a per-model ``column`` (an accuracy or a loss)."""
        if column.endswith("acc"):
            return self.accuracy
        if column.endswith("loss"):
            return self.loss
        raise ValueError(f"no constant-guess score for column {column!r}")
