"""Markdown for the report: tables, figures with their captions, claim blocks, templates.

Section text lives in Jinja2 templates beside each study's code (``section.md.j2``),
rendered from a context dict: Python computes, the template words. A sentence that
interprets a result is chosen by the result (``{% if claims.B1.supported %}``), never
written as a constant. Undefined names in a template are errors, not empty strings.

Captions have one source: ``captions/<kind>.rst`` in the study's folder, read both by the
Snakemake HTML report (``report(..., caption=...)``) and by ``figure`` here. A caption says
what is plotted and what to compare, never what the reader will find.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

from trainability import study
from trainability.claims import NOT_TESTED, VERDICTS, Check, Claim, Sanity, results
from trainability.io import write_json, write_text
from trainability.scoring import divergence_sanity
from trainability.tables import read_study_tables


def table(rows: Sequence[Sequence], header: Sequence[str]) -> str:
    """A GitHub pipe table; cells are printed as given (format numbers before)."""

    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def frame_table(frame, columns: Mapping[str, str] | None = None) -> str:
    """A pandas DataFrame as a table: ``columns`` maps column -> header (and selects)."""
    columns = columns or {c: c for c in frame.columns}
    rows = frame[list(columns)].itertuples(index=False, name=None)
    return table(list(rows), list(columns.values()))


def caption(study_dir: Path, kind: str) -> str:
    """The caption text of a figure kind: ``captions/<kind>.rst``, as one paragraph."""
    path = Path(study_dir) / "captions" / f"{kind}.rst"
    return " ".join(path.read_text().split())


def figure(rel_dir: str, name: str, text: str, alt: str | None = None) -> str:
    link = f"{rel_dir}/{name}" if rel_dir not in ("", ".") else name
    return f"![{alt or name}]({link})\n\n*Figure ({name}): {text}*"


def num(value, digits: int = 3, signed: bool = False) -> str:
    """A number for prose: fixed digits, ``n/a`` when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def pct(value, digits: int = 0) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def checks_table(checks: Sequence[Check]) -> str:
    rows = [[c.what, c.measure, c.shown, c.criterion, c.n, c.detail, c.verdict] for c in checks]
    return table(rows, ["check", "effect", "value [95% interval]", "claimed", "n", "measured",
                        "result"])


def claim_block(claim: Claim) -> str:
    """A claim as the report shows it: statement, source, rule, checks, verdict."""
    lines = [
        f"**Claim {claim.id}: {claim.statement}**",
        "",
        f"- Source: {claim.source}",
        f"- Rule: {claim.rule}"
        + (f" Supported needs {claim.share:.0%} of the checks to pass." if claim.share != 0.75
           else ""),
    ]
    if claim.checks:
        lines += ["", checks_table(claim.checks)]
    if claim.apart:
        lines += ["", "Checks apart (premises and no-harm checks: never counted as support; a "
                  "failure counts against the claim):",
                  "", checks_table(claim.apart)]
    lines += ["", f"Verdict: **{claim.verdict}** ({claim.tally})."]
    return "\n".join(lines)


def claims_table(claims: Sequence[Claim]) -> str:
    """The claims at a glance: id, statement, verdict, check counts."""
    rows = []
    for c in claims:
        rows.append([c.id, c.statement, f"**{c.verdict}**",
                     c.tally if c.verdict != NOT_TESTED else c.note or "nothing to check"])
    return table(rows, ["#", "claim", "verdict", "checks"])


def sanity_table(sanity: Sequence[Sanity]) -> str:
    rows = [[s.what, s.detail, "holds" if s.ok else "**broken**"] for s in sanity]
    return table(rows, ["sanity check (of the trainer)", "measured", "result"])


def verdict_counts(claims: Sequence[Mapping]) -> dict[str, int]:
    """How many of ``claims`` (dicts as written to a study's JSON) got each verdict."""
    found = [c["verdict"] for c in claims]
    return {v: found.count(v) for v in VERDICTS}


def environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(num=num, pct=pct, claim=claim_block, table=table)
    env.globals.update(claims_table=claims_table, sanity_table=sanity_table,
                       claim=claim_block, figure=figure, num=num, pct=pct)
    return env


def render(template: Path, context: Mapping) -> str:
    """Render a template file with ``context``; runs of blank lines collapse to one."""
    template = Path(template)
    text = environment(template.parent).get_template(template.name).render(**context)
    lines, blank = [], False
    for line in text.splitlines():
        if line.strip() or not blank:
            lines.append(line.rstrip())
        blank = not line.strip()
    return "\n".join(lines).strip() + "\n"


def write_study_section(spec, root="results") -> list[Path]:
    """The section stage: the study's claims judged on its tables, its section rendered
    from its template, and its results (claims, sanity checks, metrics) as JSON."""
    where = study.paths(spec.study, root)
    tables = read_study_tables(spec, where["tables"])
    claims_module = study.module(spec.study, "claims")
    claims = claims_module.evaluate(spec, tables)
    sanity = claims_module.sanity(spec, tables) if hasattr(claims_module, "sanity") else []
    sanity = [*divergence_sanity(tables), *sanity]
    section = study.module(spec.study, "section")
    context = section.context(spec, tables, claims, sanity, f"figures/{spec.study}")
    write_text(where["section"], render(study.folder(spec.study) / "section.md.j2", context))
    title = study.module(spec.study, "spec").TITLE
    write_json(where["results"], results(title, claims, sanity, section.metrics(spec, tables)))
    return [where["section"], where["results"]]
