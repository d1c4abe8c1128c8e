"""The running-example claims judged under every variant, by the studies' own claim code.

For each variant, ``variant_tables`` puts its models in the shapes the grid's, the
gradient study's and the batch-norm study's claims read, and ``judge`` calls those
functions (``CLAIMS``): no rule is copied here. A claim's headline is its weakest check,
the one whose interval reaches furthest towards the wrong side of its threshold; a claim
whose checks all sit apart (or that has none) has no headline.

The study makes no claim of its own: its section says, for each claim, where it holds and
where it breaks.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from trainability.claims import Claim
from trainability.data import load_dataset
from trainability.learns import Guess, Learns
from trainability.studies.batchnorm import claims as bn_claims
from trainability.studies.batchnorm.tables import NO_GRADIENT
from trainability.studies.gradients import claims as gradient_claims
from trainability.studies.gradients import stats
from trainability.studies.grid import claims as grid_claims
from trainability.studies.robustness.spec import NONE

INIT = "random_normal"  # the lecture's initializer
# (display id, key, study) of every claim judged, in report order
CLAIMS = (("1", "relu-tanh-learn", "grid"), ("2", "sigmoid-lags", "grid"),
          ("3", "zeros-coin-flip", "grid"), ("4", "normal-beats-zeros", "grid"),
          ("G1", "sigmoid-vanishes", "gradients"), ("B1", "bn-rescues-sigmoid", "batchnorm"),
          ("B3", "bn-gradient", "batchnorm"))
COLUMNS = ["claim", "key", "variant", "verdict", "check", "effect", "lo", "hi",
           "threshold", "side", "signed", "digits", "passes", "fails", "inconclusive", "apart"]


def variant_tables(models: pd.DataFrame, variant: str) -> dict:
    """One variant's models as each study's claims read them."""
    rows = models[models.variant == variant]
    plain, bn = rows[rows.placement == NONE], rows[rows.init == INIT]
    log_ratio = stats.log10_ratio(plain.grad_first, plain.grad_classifier)
    return {
        "runs": plain,
        "ratios": plain.assign(moment="init", log10_ratio=log_ratio),
        "bn_runs": bn,
        "bn_ratios": bn.assign(log10_ratio=np.log10(np.maximum(bn.grad_first, NO_GRADIENT)
                                                    / bn.grad_classifier)),
    }


def claims_of(spec, models: pd.DataFrame, variant: str) -> list[Claim]:
    """Claims 1-4, G1, B1 and B3 at one variant (``CLAIMS``' order)."""
    t = variant_tables(models, variant)
    data = load_dataset(spec.data_file(variant))
    learns, test = Learns.of(spec), Guess.of(data.y_test)
    base = grid_claims.Baseline(learns, test, Guess.of(data.y_train))
    model = spec.resolved[variant]["model"]
    width = model["width"]
    runs = t["runs"]
    out = [grid_claims.relu_tanh_learn(runs, width, INIT, base),
           grid_claims.sigmoid_lags(runs, width, INIT, base),
           grid_claims.zeros_stay_at_chance(runs, width, base),
           grid_claims.normal_beats_zeros(runs, width, INIT, base),
           gradient_claims.sigmoid_vanishes(SimpleNamespace(depth=model["depth"]),
                                            t["ratios"]),
           bn_claims.rescues_sigmoid(t["bn_runs"], [spec.placement], learns, test),
           bn_claims.strengthens_gradient(t["bn_ratios"], [spec.placement])]
    for (display, key, _), claim in zip(CLAIMS, out, strict=True):
        if claim.key != key:
            raise AssertionError(f"claim {display}: expected {key!r}, got {claim.key!r}")
        claim.id = display
    return out


def judge(spec, models: pd.DataFrame) -> pd.DataFrame:
    """The verdicts table: claim x variant."""
    rows = []
    for variant in spec.names:
        for claim in claims_of(spec, models, variant):
            head = claim.weakest
            rows.append({
                "claim": claim.id, "key": claim.key, "variant": variant,
                "verdict": claim.verdict, "check": head.what if head else "",
                **{k: getattr(head, k) if head else math.nan
                   for k in ("effect", "lo", "hi", "threshold")},
                "side": head.side if head else "", "signed": bool(head and head.signed),
                "digits": head.digits if head else 3, **claim.counts,
                "apart": len(claim.guards),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def evaluate(spec, tables) -> list[Claim]:
    return []

