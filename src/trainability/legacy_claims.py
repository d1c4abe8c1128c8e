"""The claims API the studies used before trainability.claims (checks with intervals); each
study moves off it as it adopts the new engine, and then this module goes.

A claim is a list of *checks* (one per cell or comparison), each a threshold rule on a
measured number; its verdict follows from them: **supported** if every check passes,
**partly** if some do, **not supported** if none does, **not tested** if there is nothing
to check. Light on purpose (NumPy at most): every study's section job imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_TESTED = "supported", "partly", "not supported", "not tested"


def _missing(value) -> bool:
    return value is None or math.isnan(value)


def passes(value, ok) -> bool:
    """Whether a measured ``value`` passes the rule ``ok``; a missing or NaN value (all
    seeds diverged) never does."""
    return bool(not _missing(value) and math.isfinite(value) and ok(value))


def mean_sd(values) -> tuple[float, float, int]:
    """``(mean, sample sd (ddof 1), n)`` of the finite ``values``; NaN where undefined."""
    import numpy as np

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    n = len(v)
    return (float(v.mean()) if n else math.nan, float(v.std(ddof=1)) if n > 1 else math.nan, n)


@dataclass
class Check:
    what: str  # the cell or comparison
    measured: str  # its numbers, as printed
    value: float  # the number the rule thresholds (NaN if all seeds diverged)
    passed: bool


@dataclass
class Claim:
    key: str
    statement: str  # the claim, in our words
    lecture: str  # what the lecture showed (context, one run each)
    rule: str  # how the checks are made
    value_name: str  # what Check.value is
    checks: list[Check] = field(default_factory=list)
    note: str = ""  # why it was not tested
    signed: bool = False  # values are differences: print with a sign

    @property
    def verdict(self) -> str:
        if not self.checks:
            return NOT_TESTED
        passed = sum(c.passed for c in self.checks)
        return SUPPORTED if passed == len(self.checks) else PARTLY if passed else NOT_SUPPORTED

    @property
    def tally(self) -> str:
        if not self.checks:
            return self.note or "no cells to test"
        return f"{sum(c.passed for c in self.checks)} of {len(self.checks)} checks pass"

    @property
    def headline(self) -> str:
        """The checked numbers in one line: all of them, or their range when many."""
        if not self.checks:
            return self.note or "no cells to test"
        fmt = "{:+.3f}" if self.signed else "{:.3f}"

        def show(c: Check) -> str:
            return "all diverged" if _missing(c.value) else fmt.format(c.value)

        if len(self.checks) <= 3:
            return f"{self.value_name}: " + "; ".join(f"{c.what} {show(c)}" for c in self.checks)
        finite = [c for c in self.checks if not _missing(c.value)]
        if not finite:
            return f"{self.value_name}: all diverged"
        lo = min(finite, key=lambda c: c.value)
        hi = max(finite, key=lambda c: c.value)
        failing = [c.what for c in self.checks if not c.passed]
        if show(lo) == show(hi):
            text = f"{self.value_name} {show(lo)} in all {len(finite)} finite checks"
        else:
            text = (f"{self.value_name} from {show(lo)} ({lo.what}) to {show(hi)} ({hi.what}) "
                    f"over {len(self.checks)} checks")
        if failing and len(failing) <= 3:
            text += f"; failing: {', '.join(failing)}"
        return text


VERDICT_RULE = (
    "A claim is **supported** if every one of its checks passes, **partly** supported if "
    "some pass, **not supported** if none passes, and **not tested** if the configuration "
    "lacks every cell it needs. Accuracies are final (last-epoch) test accuracies, averaged "
    "over the seeds that did not diverge."
)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_figure(rel_dir: str, name: str, alt: str, caption: str) -> str:
    link = f"{rel_dir}/{name}" if rel_dir not in ("", ".") else name
    return f"![{alt}]({link})\n\n*Figure ({name}): {caption}*"


def render_claim(number: int, claim: Claim) -> str:
    lines = [
        f"**Claim {number}: {claim.statement}**",
        "",
        f"- The lecture: {claim.lecture}",
        f"- Rule: {claim.rule}",
    ]
    if claim.checks:
        lines += ["", markdown_table(["check", "measured", "passes"],
                             [[c.what, c.measured, "yes" if c.passed else "no"]
                              for c in claim.checks])]
    lines += ["", f"Verdict: **{claim.verdict}** ({claim.tally})."]
    return "\n".join(lines)
