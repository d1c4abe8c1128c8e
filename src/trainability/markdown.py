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
from trainability.anchors import slug
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


def claim_heading(claim: Claim) -> str:
    """A claim's heading in its study's appendix: ``Claim 2 (sigmoid-lags)``."""
    return f"Claim {claim.id} ({claim.key})"


# where the report puts a claim's robustness sentence (the robustness study is judged
# after the claim's own study: the report joins them)
ROBUSTNESS_MARK = "<!-- robustness: {} -->"


def claim_summary(claim: Claim, checks_href: str | None = None) -> str:
    """A claim as the main text shows it, in one paragraph: statement, verdict, check
    counts and the headline (its weakest check) with its interval; a link to its checks;
    the mark the report replaces by the claim's robustness sentence."""
    text = f"**Claim {claim.id}: {claim.statement}** Verdict: **{claim.verdict}**"
    head = claim.weakest
    if head is None:
        text += f" ({claim.tally})."
    else:
        text += (f" ({claim.tally}); weakest check, {head.what}: {head.shown}, claimed "
                 f"{head.criterion}.")
    if checks_href:
        text += f" [Its checks]({checks_href})."
    return f"{text} {ROBUSTNESS_MARK.format(claim.key)}"


def claim_block(claim: Claim) -> str:
    """A claim with everything behind its verdict: statement, source, rule, checks."""
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


def sanity_summary(sanity: Sequence[Sanity], table_href: str | None = None) -> str:
    """The sanity checks in one sentence: how many hold; every broken one named."""
    broken = [s for s in sanity if not s.ok]
    link = f" ([the table]({table_href}))" if table_href else ""
    if not broken:
        return f"The trainer passes all {len(sanity)} of this study's sanity checks{link}."
    named = "; ".join(f"{s.what} ({s.detail})" for s in broken)
    return (f"**{len(broken)} of {len(sanity)} sanity checks of the trainer are broken**: "
            f"{named}{link}. The results that rest on them are not evidence.")


def sanity_table(sanity: Sequence[Sanity]) -> str:
    rows = [[s.what, s.detail, "holds" if s.ok else "**broken**"] for s in sanity]
    return table(rows, ["sanity check (of the trainer)", "measured", "result"])


class Appendix:
    """What a study's section moves out of the main text, in the order the template moves
    it: the parts a template wraps in ``{% call appendix("heading") %}``, every claim's
    checks and the sanity checks. ``appendix/<study>.md`` is written from it."""

    def __init__(self, study_name: str, title: str):
        self.study, self.title = study_name, title
        self.parts: list[tuple[str, str]] = []
        self.claims: list[Claim] = []
        self.sanity: list[Sanity] = []

    def href(self, heading: str) -> str:
        """A link from the main text (``results/report.md``) to a heading of this file."""
        return f"appendix/{self.study}.md#{slug(heading)}"

    def part(self, heading: str, link: str = "", caller=None) -> str:
        """A template's ``{% call appendix(heading) %}...{% endcall %}``: the enclosed text
        goes to the appendix; in its place, ``link`` with the link (``"{}"`` marks where),
        or nothing. (The newline ends the paragraph: Jinja drops the one after the tag.)"""
        if any(h == heading for h, _ in self.parts):
            raise ValueError(f"appendix of {self.study}: two parts headed {heading!r}")
        self.parts.append((heading, caller().strip()))
        return link.format(f"[{heading}]({self.href(heading)})") + "\n" if link else ""

    def claim(self, claim: Claim) -> str:
        self.claims.append(claim)
        return claim_summary(claim, self.href(claim_heading(claim)))

    def sanity_checks(self, sanity: Sequence[Sanity]) -> str:
        self.sanity = list(sanity)
        return sanity_summary(sanity, self.href("Sanity checks"))

    def globals(self) -> dict:
        """The template names that write to this appendix."""
        return {"appendix": self.part, "claim": self.claim, "sanity_table": self.sanity_checks}

    def markdown(self, section_heading: str) -> str:
        """The appendix file (links relative to ``results/appendix/``)."""
        back = f"../report.md#{slug(section_heading)}"
        out = [f"# Appendix: {self.title}", "",
               f"The details behind [the report's section]({back}).", ""]
        for heading, text in self.parts:
            out += [f"## {heading}", "", relocate(text), ""]
        if self.sanity:
            out += ["## Sanity checks", "", "Identities the trainer must satisfy; they test "
                    "the trainer, not the lecture, and never count as support.", "",
                    sanity_table(self.sanity), ""]
        if self.claims:
            out += ["## The claims' checks", ""]
            for claim in self.claims:
                out += [f"### {claim_heading(claim)}", "", relocate(claim_block(claim)), ""]
        return dedupe_captions("\n".join(out).strip() + "\n")


def relocate(text: str) -> str:
    """Markdown written for ``results/report.md`` made to work from ``results/appendix/``:
    the figure links our ``figure`` writes, and links to other appendices."""
    return text.replace("](figures/", "](../figures/").replace("](appendix/", "](")


def dedupe_captions(text: str) -> str:
    """Each caption written once: a figure whose caption an earlier figure of the same
    text already gave refers to that figure instead."""
    seen, out = {}, []
    for line in text.split("\n"):
        if line.startswith("*Figure (") and "): " in line and line.endswith("*"):
            name, caption_text = line[len("*Figure ("):-1].split("): ", 1)
            if caption_text in seen:
                line = f"*Figure ({name}): as figure ({seen[caption_text]}).*"
            else:
                seen[caption_text] = name
        out.append(line)
    return "\n".join(out)


def verdict_counts(claims: Sequence[Mapping]) -> dict[str, int]:
    """How many of ``claims`` (dicts as written to a study's JSON) got each verdict."""
    found = [c["verdict"] for c in claims]
    return {v: found.count(v) for v in VERDICTS}


def oneline(text: str) -> str:
    """A paragraph on one line, ended (a template may wrap its source as it likes)."""
    return " ".join(text.split()) + "\n"


def environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(num=num, pct=pct, claim=claim_block, table=table, oneline=oneline)
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


def render_section(study_name: str, context: Mapping) -> tuple[str, str]:
    """A study's section from its template: the main text, and its appendix (what the
    template moved there, every claim's checks, the sanity checks)."""
    title = study.module(study_name, "spec").TITLE
    appendix = Appendix(study_name, title)
    text = render(study.folder(study_name) / "section.md.j2", {**context, **appendix.globals()})
    heading = next((line[3:] for line in text.splitlines() if line.startswith("## ")), title)
    return text, appendix.markdown(heading)


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
    title = study.module(spec.study, "spec").TITLE
    context = section.context(spec, tables, claims, sanity, f"figures/{spec.study}")
    text, appendix = render_section(spec.study, context)
    write_text(where["appendix"], appendix)
    write_text(where["section"], text)
    facts = section.facts(spec, tables, claims) if hasattr(section, "facts") else {}
    write_json(where["results"], results(title, claims, sanity, section.metrics(spec, tables),
                                         facts))
    return [where["section"], where["results"], where["appendix"]]
