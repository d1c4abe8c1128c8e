"""``results/lecture.md``, the lecture in a minute: the running example's claims judged on
the networks the lecture drew (the ``claims`` table: the studies' own claim functions, see
``claims.py``), then this study's section (the side-by-side table, the figures redrawn).

Run as ``trainability lecture-report --spec JSON``, after the lecture study's tables and
figures: it reads the tables only, so it costs one template.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainability import study
from trainability.claims import SUPPORTED, Check
from trainability.io import write_text
from trainability.markdown import render, table
from trainability.studies.batchnorm.spec import placement_label
from trainability.studies.lecture import section
from trainability.studies.lecture.spec import ACTIVATIONS, REPORT
from trainability.tables import read_study_tables

DATA = ("lecture.md.j2", "section.md.j2", "captions/*.rst")
HERE = Path(__file__).parent


def headline(rows: pd.DataFrame) -> str:
    """The claim's headline check as its claim's table prints it: ``what: effect [lo,
    hi]`` (its weakest informative check), or why there is none."""
    head = rows[rows.headline.astype(bool)]
    if head.empty:
        return "no check"
    r = head.iloc[0]
    check = Check(r.what, r.effect, r.lo, r.hi, 0, r.threshold, r.side, r.measure,
                  digits=int(r.digits), signed=bool(r.signed))
    return f"{r.what}: {check.shown} ({check.criterion})"


def claim_rows(claims: pd.DataFrame) -> list[dict]:
    """Per claim, in report order: id, key, study, statement, verdict, tally, headline."""
    out = []
    for key in dict.fromkeys(claims.key):
        rows = claims[claims.key == key]
        r = rows.iloc[0]
        out.append({"id": str(r.claim), "key": key, "study": r.study,
                    "statement": r.statement, "verdict": r.verdict, "tally": r.tally,
                    "headline": headline(rows)})
    return out


def context(spec, tables, rel: str) -> dict:
    rows = claim_rows(tables["claims"])
    grid_others = [a for a in spec.grid_activations if a not in ACTIVATIONS]
    bn_others = [placement_label(p) for p in spec.bn_placements if p != spec.placement]
    return {
        **section.context(spec, tables, [], [], rel),
        "claims": rows,
        "claims_table": table([[c["id"], c["statement"], f"**{c['verdict']}**", c["headline"]]
                               for c in rows],
                              ["claim", "statement", "verdict", "weakest check [95%]"]),
        "not_supported": [c for c in rows if c["verdict"] != SUPPORTED],
        "grid_others": grid_others,
        "bn_others": bn_others,
        "report": "report.md",
    }


def write(spec, root="results") -> Path:
    tables = read_study_tables(spec, study.paths(spec.study, root)["tables"])
    out = Path(root) / Path(REPORT).name
    write_text(out, render(HERE / "lecture.md.j2", context(spec, tables, f"figures/{spec.study}")))
    return out
