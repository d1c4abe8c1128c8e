"""The lecture side by side: the table of the lecture's read-off values beside ours, and
its figures redrawn. Every sentence that reads a result is chosen in ``section.md.j2`` by
the values table (``where`` counts and names them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainability.markdown import caption, figure, num, table
from trainability.studies.batchnorm.spec import LECTURE_SETUP
from trainability.studies.lecture.spec import TITLE
from trainability.studies.lecture.tables import (
    INSIDE,
    NO_VALUE,
    NOT_TRAINED,
    OUTSIDE,
    VERDICTS,
    WITHIN_SEEDS,
)
from trainability.studies.lecture.values import VALUES

DATA = ("section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent
DIGITS = {"accuracy": 3, "loss": 3, "gradient": 3, "output": 3, "epoch": 0}
SHORT = {  # the lecture's figure, as the table's first column names it
    "random_normal": "RandomNormal(1)", "zeros": "zeros", "gradients": "gradients",
    "std 1": "outputs std 1", "std 0.01": "outputs std 0.01",
    "batch_norm": "batch norm"}
MARK = {INSIDE: "inside", WITHIN_SEEDS: "outside, within seeds", OUTSIDE: "**outside**",
        NOT_TRAINED: "not trained", NO_VALUE: "no value"}


def ours(row) -> str:
    """``0.994 [0.993, 0.996]``: our mean and its 95% interval, in the value's digits."""
    d = DIGITS[row.kind]
    if not row.n:
        return "no seed reaches it" if row.verdict == OUTSIDE else "-"
    text = num(row["mean"], d)
    if pd.notna(row.ci_lo) and pd.notna(row.ci_hi):
        text += f" [{num(row.ci_lo, d)}, {num(row.ci_hi, d)}]"
    if row.n < row.n_seeds:
        text += f" ({row.n} of {row.n_seeds} seeds)"
    return text


def seed_range(row) -> str:
    d = DIGITS[row.kind]
    return f"{num(row.seed_min, d)} to {num(row.seed_max, d)}" if row.n else "-"


def values_markdown(values: pd.DataFrame) -> str:
    rows = [[SHORT[r.source], r.activation, r.what, r.shown, ours(r), seed_range(r),
             MARK[r.verdict]] for _, r in values.iterrows()]
    return table(rows, ["lecture's figure", "network", "value", "lecture", "ours [95%]",
                        "our seeds", "ours vs lecture"])


def where(values: pd.DataFrame) -> dict:
    """The values by where ours falls (``tables.VERDICTS``), each a list of
    ``activation value (figure)`` phrases, and the counts."""
    out = {}
    for verdict in VERDICTS:
        rows = values[values.verdict == verdict]
        out[verdict] = [f"{SHORT[r.source]} {r.activation} {r.what}" for _, r in rows.iterrows()]
    return out


def setup_differences(spec) -> list[str]:
    """Where our running example differs from the lecture's, as far as that is known."""
    return [f"{k} {spec.setup[k]} (the lecture's: {v})" for k, v in LECTURE_SETUP.items()
            if spec.setup[k] != v]


def seed_counts(values: pd.DataFrame) -> str:
    """``5 seeds for RandomNormal(1), zeros; 10 for ...``: how many seeds (networks) each
    of the lecture's figures has here."""
    trained = values[values.n_seeds > 0]
    counts = trained.groupby("source", sort=False).n_seeds.max()
    groups = {n: [SHORT[s] for s, m in counts.items() if m == n] for n in counts}
    parts = [f"{n} for {', '.join(names)}" for n, names in sorted(groups.items())]
    return ("seeds: " + "; ".join(parts)) if parts else "no seeds"


def tolerance_words(spec) -> str:
    t = spec.tolerance
    kinds = ", ".join(f"{k} {t[k]:g}" for k in ("accuracy", "loss", "gradient", "output",
                                                "epoch"))
    return f"{kinds} (absolute), or {t['relative']:.0%} of the value where that is larger"


def context(spec, tables, claims, sanity, rel: str) -> dict:
    values = tables["values"]
    groups = where(values)
    return {
        "title": TITLE,
        "spec": spec,
        "n_values": len(values),
        "n_read": len(VALUES),
        "where": groups,
        "counts": {k: len(v) for k, v in groups.items()},
        "inside": INSIDE, "within_seeds": WITHIN_SEEDS, "outside": OUTSIDE,
        "not_trained": NOT_TRAINED, "no_value": NO_VALUE,
        "values_table": values_markdown(values),
        "tolerance": tolerance_words(spec),
        "seeds": seed_counts(values),
        "differences": setup_differences(spec),
        "figure": {name: figure(rel, name, caption(HERE, kind)) for name, kind in
                   spec.figures()},
        "figures": [name for name, _ in spec.figures()],
    }


METRIC_KEYS = {INSIDE: "inside", WITHIN_SEEDS: "within_seeds", OUTSIDE: "outside",
               NOT_TRAINED: "not_trained", NO_VALUE: "no_value"}


def metrics(spec, tables) -> dict:
    """For ``dvc exp show``: how many of the lecture's values fall where (``VERDICTS``)."""
    values = tables["values"]
    return {"values": len(values),
            **{METRIC_KEYS[v]: int((values.verdict == v).sum()) for v in VERDICTS}}
