"""The running example's claims (1-4, G1, B1, B3) on the networks the lecture drew, by the
studies' own claim functions, for ``results/lecture.md``.

The tables stage puts the runs this study reads in the shapes the grid's, the gradient
study's and the batch-norm study's claims read (by those studies' own table code) and calls
their claim functions: no rule is copied here. Where this study reads fewer networks than
the study that owns a claim, the claim has fewer checks, each the same check as there:
claim 4 here is judged on the lecture's activations (relu, sigmoid, tanh; the grid's claim
on all it trains), and B1 and B3 at the lecture's placement only (the batch-norm study's on
every placement it trains). Claims 1-3 and G1 read the same networks as their studies.

The study makes no claim of its own (``evaluate`` is empty): the report judges these
claims in their own sections.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from trainability.claims import Claim
from trainability.learns import Guess, Learns
from trainability.studies.batchnorm import claims as bn_claims
from trainability.studies.gradients import claims as gradient_claims
from trainability.studies.grid import claims as grid_claims
from trainability.studies.robustness.claims import CLAIMS

ROLES = ("check", "premise", "no harm")
COLUMNS = ["claim", "key", "study", "statement", "verdict", "tally", "role", "what",
           "measure", "effect", "lo", "hi", "threshold", "side", "digits", "signed",
           "result", "headline"]


def running_claims(spec, runs: pd.DataFrame, ratios: pd.DataFrame, bn_runs: pd.DataFrame,
                   bn_ratios: pd.DataFrame, test: Guess, train: Guess) -> list[Claim]:
    """Claims 1-4, G1, B1 and B3 (``robustness.claims.CLAIMS``' order and ids): ``runs``
    the grid's runs table of the lecture's activations, ``ratios`` the gradient study's
    ratios table of the sigmoid network at every depth, ``bn_runs`` and ``bn_ratios`` the
    batch-norm study's tables of the sigmoid network without and with batch norm."""
    learns = Learns.of(spec)
    base = grid_claims.Baseline(learns, test, train)
    width, init = spec.width, spec.claims_init
    out = [grid_claims.relu_tanh_learn(runs, width, init, base),
           grid_claims.sigmoid_lags(runs, width, init, base),
           grid_claims.zeros_stay_at_chance(runs, width, base),
           grid_claims.normal_beats_zeros(runs, width, init, base),
           gradient_claims.sigmoid_vanishes(SimpleNamespace(depth=spec.depth), ratios),
           bn_claims.rescues_sigmoid(bn_runs, [spec.placement], learns, test),
           bn_claims.strengthens_gradient(bn_ratios, [spec.placement])]
    for (display, key, _), claim in zip(CLAIMS, out, strict=True):
        if claim.key != key:
            raise AssertionError(f"claim {display}: expected {key!r}, got {claim.key!r}")
        claim.id = display
    return out


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    """One row per check of every claim (a claim without checks: one row, no check), its
    role (an informative check, a premise, a no-harm check) and whether it is the claim's
    headline (its weakest informative check: ``Claim.weakest``)."""
    studies = {key: study for _, key, study in CLAIMS}
    rows = []
    for claim in claims:
        head = claim.weakest
        front = {"claim": claim.id, "key": claim.key, "study": studies[claim.key],
                 "statement": claim.statement, "verdict": claim.verdict,
                 "tally": claim.tally}
        checks = [(r, c) for r, group in zip(ROLES, (claim.checks, claim.premises,
                                                    claim.guards), strict=True)
                  for c in group]
        for role, c in checks:
            rows.append({**front, "role": role, "what": c.what, "measure": c.measure,
                         "effect": c.effect, "lo": c.lo, "hi": c.hi, "threshold": c.threshold,
                         "side": c.side, "digits": c.digits, "signed": c.signed,
                         "result": c.verdict, "headline": c is head})
        if not checks:
            rows.append({**front, "role": "", "what": "", "measure": "", "effect": math.nan,
                         "lo": math.nan, "hi": math.nan, "threshold": math.nan, "side": "",
                         "digits": 3, "signed": False, "result": "", "headline": False})
    return pd.DataFrame(rows, columns=COLUMNS)


def evaluate(spec, tables) -> list[Claim]:
    return []
