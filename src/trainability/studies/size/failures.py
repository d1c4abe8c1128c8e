"""Why narrow networks fail: claim N8 (born dead at initialization, or not) and the sanity
check that a network born dead stays dead; the born-dead tables are ``born_dead.py``'s."""

from __future__ import annotations

import pandas as pd

from trainability.claims import AT_LEAST, Claim, Sanity, rate_check
from trainability.studies.size.select import capable_width, datasets

EXPLAINS = 0.5  # "born dead explains the failures": at least this share of the failed seeds


def capable_failures(born: pd.DataFrame, width: pd.DataFrame, name: str
                     ) -> tuple[int | None, pd.DataFrame]:
    """The narrowest capable width of dataset ``name`` (``select.capable_width``) and the
    ``born_dead_runs`` rows of its seeds that failed at that width or wider (None and no
    rows if no width is capable)."""
    cap = capable_width(width[width.dataset == name].sort_values("width"))
    rows = born[(born.dataset == name) & ~born.success.astype(bool)]
    return cap, rows[rows.width >= cap] if cap is not None else rows.iloc[:0]


def fates(rows: pd.DataFrame) -> dict[str, int]:
    """How many of ``rows`` (``born_dead_runs``) met each fate."""
    return {f: int((rows.fate == f).sum()) for f in ("born dead", "died in training",
                                                     "alive", "diverged")}


def born_dead(born: pd.DataFrame | None, width: pd.DataFrame | None) -> Claim:
    claim = Claim(
        "", "born-dead",
        "A ReLU network that fails at a width that can represent the boundary was born "
        "dead: at initialization one of its hidden layers is inactive on every fit point, "
        "so no gradient reaches the layers below it.",
        "not in the lecture; Lu, Shin, Su & Karniadakis (arXiv 1903.06733) prove that a "
        "ReLU network whose weights and biases are drawn from symmetric distributions is "
        "born dead (a constant function at initialization) with a probability that tends "
        "to 1 as its depth grows.",
        "per dataset, the seeds of the width study that failed (test accuracy below "
        "learns.accuracy; a diverged seed is a failure) at the narrowest capable width (see "
        "N1) and wider, where a failure is one of training: the share of them born dead is "
        f"at least {EXPLAINS} (Wilson interval). A seed is born dead when, under its own "
        "initial weights (recomputed from the seed as the trainer draws them), every unit "
        "of some hidden layer has a pre-activation <= 0 on every fit point.",
    )
    claim.note = "the width study did not run (size.width.enabled)"
    if born is None or width is None:
        return claim
    for name in datasets(born):
        cap, failed = capable_failures(born, width, name)
        if failed.empty:
            continue
        f = fates(failed)
        widest = int(born.width[born.dataset == name].max())
        claim.checks.append(rate_check(
            f"{name}: widths {cap} to {widest}", f["born dead"], len(failed), EXPLAINS,
            AT_LEAST, "share of failed seeds born dead",
            detail=f"of {len(failed)} failed seeds: {f['born dead']} born dead, "
                   f"{f['died in training']} died in training, {f['alive']} alive at both "
                   f"ends, {f['diverged']} diverged"))
    claim.note = "no seed failed at a capable width (or no width is capable)"
    return claim


def born_dead_sanity(born: pd.DataFrame | None) -> list[Sanity]:
    """Per dataset with a born-dead network: every one is still dead after training. Its
    dead layer passes no gradient down and, with zero initial biases, a constant 0 up, so
    nothing but the classifier's bias can move; one that came alive would mean the
    trainer lets a gradient through a ReLU at z <= 0."""
    if born is None:
        return []
    out = []
    for name in datasets(born):
        d = born[(born.dataset == name) & born.born_dead.astype(bool)]
        if d.empty:
            continue
        revived = int((d.dead_end == 0).sum())
        out.append(Sanity(
            f"{name}: every network born dead is still dead after training", revived,
            revived == 0, f"{len(d)} born dead; {revived} of them with no hidden layer "
                          "inactive on every fit point at the end"))
    return out
