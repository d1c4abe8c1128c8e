"""Claims as data: checks that measure an effect with a 95% interval, and the verdicts.

A **check** measures one effect (a mean over seeds, a paired difference, a difference of
means, a success rate, a difference of rates) with a 95% interval, and compares the
interval with a threshold on the side the claim predicts:

- **passes**: the whole interval lies on the claimed side of the threshold;
- **fails**: the whole interval lies on the other side;
- **inconclusive**: the interval straddles the threshold, or there is too little data
  (one seed, or no finite value) for an interval.

A **claim** aggregates its checks by one rule, the same for every claim of every study
(``share`` may be set per claim, and is then stated with it):

- **supported**: no check fails and at least ``share`` of the checks pass;
- **not supported**: no check passes and at least ``share`` of the checks fail;
- **partly**: some checks pass and some fail;
- **inconclusive**: anything else (too many checks inconclusive);
- **not tested**: the configuration has nothing to check.

Intervals: the percentile bootstrap over seeds (9,999 resamples, a fixed generator, so the
same data give the same interval), paired when two settings share their seeds; Wilson's
score interval for a rate and Newcombe's hybrid score interval for a difference of two
rates. With few seeds (5 is common here) a bootstrap interval is narrower than a
t-interval would be: a borderline verdict deserves more seeds before it is believed.

Checks **apart** never count as support: a claim's **guards**, "no harm" checks asked where
the claim's effect cannot show (a network already at the ceiling cannot gain: a guard asks
only that nothing got worse), and its **premises**, what must hold for the claim to be
about anything (a network that learns alone cannot be rescued). Any of them that fails
counts against the claim, and a claim is supported only when every premise passes.

A **sanity check** is an identity the trainer must satisfy (zero-initialized units stay
identical, say). It is shown, but never counted as support for a claim.

This module imports NumPy and SciPy only; every study's claims and the report read it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 9_999
BOOTSTRAP_SEED = 20_241_201  # any fixed value: the interval must not depend on run order
DEFAULT_SHARE = 0.75

PASSES, FAILS, INCONCLUSIVE = "passes", "fails", "inconclusive"
SUPPORTED, PARTLY, NOT_SUPPORTED = "supported", "partly", "not supported"
UNDECIDED, NOT_TESTED = "inconclusive", "not tested"
VERDICTS = (SUPPORTED, PARTLY, NOT_SUPPORTED, UNDECIDED, NOT_TESTED)
AT_LEAST, AT_MOST = ">=", "<="

METHOD = (
    "Each check's 95% interval is a percentile bootstrap over seeds (9,999 resamples with a "
    "fixed generator), of the paired per-seed differences when two settings share their "
    "seeds; a success rate has Wilson's score interval and a difference of two rates "
    "Newcombe's hybrid score interval. With 5 to 10 seeds such an interval is on the narrow "
    "side: a borderline verdict needs more seeds (`seeds` in params.yaml) to be trusted."
)


def verdict_rule(share: float = DEFAULT_SHARE) -> str:
    """The claim rule in words, for the report's legend."""
    return (
        "A check **passes** when its whole 95% interval lies on the claimed side of the "
        "threshold, **fails** when it lies wholly on the other side, and is **inconclusive** "
        "when the interval straddles the threshold (or one seed gives no interval). A claim "
        f"is **supported** when none of its checks fails and at least {share:.0%} of them "
        f"pass (all of them for fewer than {math.ceil(1 / (1 - share))} checks), **not "
        f"supported** when none passes and at least {share:.0%} fail, **partly** supported "
        "when some pass and some fail, **inconclusive** otherwise, and **not tested** when "
        "the configuration has nothing to check. Only checks that can go either way count: "
        "a *no-harm* check (asked where the claimed effect cannot show, e.g. a network "
        "already at the ceiling) and a claim's premise are shown apart, never count as "
        "support, and count against the claim when they fail; a claim is supported only "
        "when its premises pass. Sanity checks test the "
        "trainer, not the lecture, and never count as support."
    )


def margin(side: str, lo, hi, threshold) -> float:
    """How far an interval's near edge lies on the claimed side of ``threshold``: positive
    inside, negative on the wrong side, -inf without an interval."""
    edge = lo if side == AT_LEAST else hi
    if edge is None or threshold is None or not math.isfinite(edge):
        return -math.inf
    return edge - threshold if side == AT_LEAST else threshold - edge


@dataclass(frozen=True)
class Check:
    """One measured effect, its 95% interval and the threshold it is judged against."""

    what: str  # the cell or comparison
    effect: float  # the measured value (NaN: nothing to measure)
    lo: float  # 95% interval (NaN: no interval)
    hi: float
    n: int  # seeds, pairs or trials behind the effect
    threshold: float
    side: str  # AT_LEAST: the claim predicts effect >= threshold; AT_MOST: <=
    measure: str  # what the effect is, e.g. "mean test accuracy"
    detail: str = ""  # the numbers behind the effect, as printed
    digits: int = 3
    signed: bool = False  # print the effect with a sign (a difference)

    @property
    def verdict(self) -> str:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return INCONCLUSIVE
        if self.side == AT_LEAST:
            return PASSES if self.lo >= self.threshold else FAILS if self.hi < self.threshold \
                else INCONCLUSIVE
        return PASSES if self.hi <= self.threshold else FAILS if self.lo > self.threshold \
            else INCONCLUSIVE

    @property
    def passed(self) -> bool:
        return self.verdict == PASSES

    @property
    def failed(self) -> bool:
        return self.verdict == FAILS

    def fmt(self, value: float) -> str:
        if not math.isfinite(value):
            return "n/a"
        value = round(value, self.digits) + 0.0  # float noise would print as -0.000
        return f"{value:+.{self.digits}f}" if self.signed else f"{value:.{self.digits}f}"

    @property
    def shown(self) -> str:
        """``0.985 [0.976, 0.989]``: the effect and its interval."""
        if not math.isfinite(self.effect):
            return "n/a"
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return f"{self.fmt(self.effect)} (no interval)"
        return f"{self.fmt(self.effect)} [{self.fmt(self.lo)}, {self.fmt(self.hi)}]"

    @property
    def margin(self) -> float:
        """How far the interval's near edge lies on the claimed side of the threshold
        (negative: on the wrong side; -inf: no interval)."""
        return margin(self.side, self.lo, self.hi, self.threshold)

    @property
    def criterion(self) -> str:
        return f"{self.side} {self.fmt(self.threshold)}"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict
        for key in ("effect", "lo", "hi", "threshold"):
            out[key] = _finite_or_none(out[key])
        return out


@dataclass(frozen=True)
class Sanity:
    """An identity the trainer must satisfy: exact, so no interval."""

    what: str
    value: float
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return {"what": self.what, "value": _finite_or_none(self.value), "ok": self.ok,
                "detail": self.detail}


@dataclass
class Claim:
    id: str  # as numbered in the report: "1", "B2", "S3"
    key: str  # a stable slug: "relu-tanh-learn"
    statement: str  # the claim, in our words
    source: str  # what the lecture (or the paper) says or shows
    rule: str  # how the checks are made, in words
    checks: list[Check] = field(default_factory=list)
    note: str = ""  # why there is nothing to check
    share: float = DEFAULT_SHARE
    guards: list[Check] = field(default_factory=list)  # "no harm" checks: never support
    # what must hold for the claim to be about anything (the sigmoid network fails without
    # batch norm, before batch norm can rescue it): never support, but supported needs them
    premises: list[Check] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Verdicts of the informative checks (the guards are counted apart)."""
        verdicts = [c.verdict for c in self.checks]
        return {v: verdicts.count(v) for v in (PASSES, FAILS, INCONCLUSIVE)}

    @property
    def apart(self) -> list[Check]:
        """The checks shown apart: premises, then no-harm checks."""
        return [*self.premises, *self.guards]

    @property
    def guards_failed(self) -> int:
        return sum(g.failed for g in self.apart)

    @property
    def verdict(self) -> str:
        n = len(self.checks)
        if n == 0:
            return NOT_TESTED
        c = self.counts
        fails = c[FAILS] + self.guards_failed
        needed = math.ceil(self.share * n - 1e-9)
        if fails == 0 and c[PASSES] >= needed:
            return SUPPORTED if all(p.passed for p in self.premises) else UNDECIDED
        if c[PASSES] == 0 and c[FAILS] >= needed:
            return NOT_SUPPORTED
        if c[PASSES] and fails:
            return PARTLY
        return UNDECIDED

    @property
    def supported(self) -> bool:
        return self.verdict == SUPPORTED

    @property
    def tally(self) -> str:
        if not self.checks:
            return self.note or "nothing to check in this configuration"
        c = self.counts
        text = (f"{c[PASSES]} of {len(self.checks)} checks pass, {c[FAILS]} fail, "
                f"{c[INCONCLUSIVE]} inconclusive")
        if self.apart:
            text += (f"; {len(self.apart)} checks apart (premises, no harm), "
                     f"{self.guards_failed} of them fail")
        return text

    @property
    def weakest(self) -> Check | None:
        """The headline: the check whose interval reaches furthest towards the wrong side
        of its threshold, the one that decides the verdict (None: no check)."""
        return min(self.checks, key=lambda c: c.margin) if self.checks else None

    def check(self, what: str) -> Check | None:
        return next((c for c in self.checks if c.what == what), None)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "key": self.key, "statement": self.statement,
            "source": self.source, "rule": self.rule, "note": self.note,
            "share": self.share, "verdict": self.verdict, "counts": self.counts,
            "checks": [c.to_dict() for c in self.checks],
            "guards": [c.to_dict() for c in self.guards],
            "premises": [c.to_dict() for c in self.premises],
        }


def number(claims: Sequence[Claim], prefix: str) -> list[Claim]:
    """Give the claims their report ids in order: ``B1``, ``B2``, ... (``1``, ``2`` for
    an empty prefix)."""
    for i, claim in enumerate(claims, 1):
        claim.id = f"{prefix}{i}"
    return list(claims)


# ---------------------------------------------------------------- intervals


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _finite_or_none(x):
    return float(x) if x is not None and math.isfinite(x) else None


def bootstrap_mean(values) -> tuple[float, float, float, int]:
    """``(mean, lo, hi, n)`` of the finite ``values``: percentile bootstrap 95% interval;
    NaN interval for fewer than two values."""
    from scipy import stats  # ~1.6 s: not for the tables and figures importing this module

    v = _finite(values)
    if len(v) == 0:
        return math.nan, math.nan, math.nan, 0
    if len(v) == 1 or np.all(v == v[0]):
        lo = hi = float(v[0]) if len(v) > 1 else math.nan
        return float(v.mean()), lo, hi, len(v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((v,), np.mean, confidence_level=CONFIDENCE,
                              n_resamples=RESAMPLES, method="percentile",
                              rng=np.random.default_rng(BOOTSTRAP_SEED))
    ci = res.confidence_interval
    return float(v.mean()), float(ci.low), float(ci.high), len(v)


def bootstrap_difference(a, b) -> tuple[float, float, float, int]:
    """``(mean(a) - mean(b), lo, hi, min(n_a, n_b))`` for independent samples: each
    resampled on its own."""
    from scipy import stats  # ~1.6 s: not for the tables and figures importing this module

    a, b = _finite(a), _finite(b)
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan, math.nan, 0
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan, min(len(a), len(b))
    if np.all(a == a[0]) and np.all(b == b[0]):
        return diff, diff, diff, min(len(a), len(b))

    def statistic(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((a, b), statistic, confidence_level=CONFIDENCE,
                              n_resamples=RESAMPLES, method="percentile",
                              rng=np.random.default_rng(BOOTSTRAP_SEED))
    ci = res.confidence_interval
    return diff, float(ci.low), float(ci.high), min(len(a), len(b))


def paired(a: Mapping, b: Mapping) -> np.ndarray:
    """Per-seed ``a[seed] - b[seed]`` over the seeds both have with finite values, in seed
    order (``a``, ``b``: seed -> value, e.g. a pandas Series indexed by seed)."""
    common = sorted(
        s for s in set(a.keys()) & set(b.keys())
        if math.isfinite(float(a[s])) and math.isfinite(float(b[s]))
    )
    return np.array([float(a[s]) - float(b[s]) for s in common])


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of a rate (SciPy's binomtest)."""
    from scipy import stats  # ~1.6 s: not for the tables and figures importing this module

    if n <= 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score 95% interval of ``s1/n1 - s2/n2`` (method 10 of Newcombe
    1998), from the two Wilson intervals."""
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1)
    l2, u2 = wilson(s2, n2)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


# ---------------------------------------------------------------- check constructors


def mean_check(what: str, values, threshold: float, side: str, measure: str, *,
               detail: str = "", digits: int = 3, signed: bool = False) -> Check:
    """The mean of per-seed ``values`` (non-finite ones left out) against ``threshold``."""
    effect, lo, hi, n = bootstrap_mean(values)
    return Check(what, effect, lo, hi, n, threshold, side, measure, detail, digits, signed)


def paired_check(what: str, a: Mapping, b: Mapping, threshold: float, side: str,
                 measure: str, *, detail: str = "", digits: int = 3) -> Check:
    """The mean per-seed difference ``a - b`` of two settings that share their seeds."""
    return mean_check(what, paired(a, b), threshold, side, measure, detail=detail,
                      digits=digits, signed=True)


def difference_check(what: str, a, b, threshold: float, side: str, measure: str, *,
                     detail: str = "", digits: int = 3) -> Check:
    """``mean(a) - mean(b)`` of two independent samples."""
    effect, lo, hi, n = bootstrap_difference(a, b)
    return Check(what, effect, lo, hi, n, threshold, side, measure, detail, digits, True)


def rate_check(what: str, successes: int, n: int, threshold: float, side: str,
               measure: str = "success rate", *, detail: str = "") -> Check:
    """A rate ``successes / n`` with its Wilson interval."""
    lo, hi = wilson(successes, n)
    rate = successes / n if n > 0 else math.nan
    return Check(what, rate, lo, hi, int(n), threshold, side, measure,
                 detail or f"{successes} of {n}")


def rate_difference_check(what: str, s1: int, n1: int, s2: int, n2: int, threshold: float,
                          side: str, measure: str = "difference of success rates", *,
                          detail: str = "") -> Check:
    """``s1/n1 - s2/n2`` with Newcombe's interval."""
    lo, hi = newcombe(s1, n1, s2, n2)
    diff = s1 / n1 - s2 / n2 if n1 > 0 and n2 > 0 else math.nan
    return Check(what, diff, lo, hi, min(int(n1), int(n2)), threshold, side, measure,
                 detail or f"{s1} of {n1} vs {s2} of {n2}", signed=True)


# ---------------------------------------------------------------- results as data


def results(title: str, claims: Iterable[Claim], sanity: Iterable[Sanity] = (),
            metrics: Mapping | None = None, facts: Mapping | None = None) -> dict:
    """What a study's section job writes as JSON: its claims, sanity checks, headline
    numbers (``metrics.json``) and the facts the report's answers read (``facts``)."""
    claims = list(claims)
    return {
        "title": title,
        "claims": [c.to_dict() for c in claims],
        "sanity": [s.to_dict() for s in sanity],
        "metrics": dict(metrics or {}),
        "facts": dict(facts or {}),
    }


def claim_metrics(claims: Iterable[Mapping]) -> dict:
    """Per claim (a dict of ``Claim.to_dict``), keyed by its stable name: its verdict and
    its headline, the weakest check's effect and 95% interval (for ``dvc exp show``: three
    columns a claim, whatever its number of checks)."""
    out = {}
    for claim in claims:
        head = min(claim["checks"], default=None,
                   key=lambda c: margin(c["side"], c["lo"], c["hi"], c["threshold"]))
        entry = {"verdict": claim["verdict"], "effect": None, "interval": None}
        if head is not None and head["effect"] is not None:
            entry["effect"] = _round(head["effect"])
            if head["lo"] is not None and head["hi"] is not None:
                entry["interval"] = f"[{head['lo']:.3g}, {head['hi']:.3g}]"
        out[claim["key"]] = entry
    return out


def _round(x):
    return None if x is None else round(float(x), 6)
