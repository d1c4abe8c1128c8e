"""The shape every study has, and the generic commands that run its stages.

A study is a package ``trainability/studies/<name>/``, one concern per file:

``spec.py``
    ``Spec``, a frozen dataclass of plain values: everything the study needs from
    params.yaml (``Spec.from_params(params, code)``, where ``code`` maps a job kind to the
    hash of the code it runs), and what follows from it: its run files and the arguments
    of its training jobs (what Snakemake asks while it parses), its tables and its figures.
    Module constants: ``TITLE`` (the report section's heading), ``CATEGORY`` (Snakemake's
    HTML report), ``PREFIX`` (of its claim ids: ``B`` gives B1, B2, ...). Light: Snakemake
    imports it, so NumPy at most.
``runs.py``
    Only if the study trains something the plain ``trainability train`` cannot.
``tables.py``
    ``build(spec) -> {name: DataFrame}``: tidy tables from the spec's run files.
``figures.py``
    ``make(spec, tables) -> {file name: () -> Figure}``, one function per figure (a
    ``.gif`` maker returns the frames of an animation).
``claims.py``
    ``evaluate(spec, tables) -> [Claim]`` (one function per claim) and, if it has any,
    ``sanity(spec, tables) -> [Sanity]``.
``section.py`` and ``section.md.j2``
    ``context(spec, tables, claims, sanity, figures_rel) -> dict`` for the template, and
    ``metrics(spec, tables) -> dict`` of headline numbers for ``dvc exp show``.
``captions/<kind>.rst``
    One caption per kind of figure, read by the section and by Snakemake's HTML report.

The stages, run as ``trainability <study> tables|figures|section --spec JSON``:

- tables: the run files the spec names -> ``results/tables/<study>/<table>``;
- figures: the tables -> ``results/figures/<study>/<figure>.png``;
- section: the tables -> ``results/sections/<study>.md`` and ``.json`` (its claims with
  their checks, sanity checks and metrics: what the report's summary and ``metrics.json``
  read).

Every stage writes its outputs atomically; a stage imports only the libraries it needs
(tables: pandas; figures: matplotlib and seaborn; section: Jinja2 and SciPy).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from types import ModuleType

# Report order: the lecture's argument. A study not listed here is not in the report.
STUDIES = ("grid", "size")
STAGES = ("tables", "figures", "section")


def module(study: str, part: str) -> ModuleType:
    """``trainability.studies.<study>.<part>``; an unknown study is a ValueError naming the
    known ones."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; known: {', '.join(STUDIES)}")
    return importlib.import_module(f"trainability.studies.{study}.{part}")


def folder(study: str) -> Path:
    return Path(module(study, "spec").__file__).parent


def spec_json(spec) -> str:
    """A spec as the JSON its jobs receive (and Snakemake compares between runs)."""
    return json.dumps(dataclasses.asdict(spec), sort_keys=True, separators=(",", ":"))


def load_spec(study: str, text: str):
    """The ``Spec`` of ``study`` from its JSON; a bad one is a ValueError saying why."""
    cls = module(study, "spec").Spec
    try:
        values = json.loads(text)
        return cls(**values)
    except (json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"--spec: not a {study} spec ({e})") from None


def paths(study: str, root: str | Path = "results") -> dict[str, Path]:
    """Where a study's stages write, under ``root``."""
    root = Path(root)
    return {
        "tables": root / "tables" / study,
        "figures": root / "figures" / study,
        "section": root / "sections" / f"{study}.md",
        "results": root / "sections" / f"{study}.json",
    }


def read_tables(spec, tables_dir: Path) -> dict:
    """The tables the spec names, read back (``tables.read`` of the study if it has one,
    for columns that need a type)."""
    from trainability.tables import read_table  # pandas: only the stages that read tables

    tables_module = module(spec.study, "tables")
    if hasattr(tables_module, "read"):
        return tables_module.read(spec, tables_dir)
    return {name: read_table(Path(tables_dir) / file) for name, file in spec.tables().items()}


def run_tables(spec, root="results") -> list[Path]:
    from trainability.tables import write_csv

    out = paths(spec.study, root)["tables"]
    frames = module(spec.study, "tables").build(spec)
    files = spec.tables()
    unknown = set(frames) ^ set(files)
    if unknown:
        raise RuntimeError(f"{spec.study}: tables built and declared differ: {sorted(unknown)}")
    written = []
    for name, file in files.items():
        write_csv(out / file, frames[name])
        written.append(out / file)
    return written


def run_figures(spec, root="results") -> list[Path]:
    from trainability.plotting import save

    where = paths(spec.study, root)
    tables = read_tables(spec, where["tables"])
    makers = module(spec.study, "figures").make(spec, tables)
    declared = [name for name, _ in spec.figures()]
    if list(makers) != declared:
        raise RuntimeError(f"{spec.study}: figures made {list(makers)}, declared {declared}")
    written = []
    for name, make in makers.items():
        save(make(), where["figures"] / name)
        written.append(where["figures"] / name)
    return written


def run_section(spec, root="results") -> list[Path]:
    from trainability.claims import results
    from trainability.io import write_json, write_text
    from trainability.markdown import render

    where = paths(spec.study, root)
    tables = read_tables(spec, where["tables"])
    claims_module = module(spec.study, "claims")
    claims = claims_module.evaluate(spec, tables)
    sanity = claims_module.sanity(spec, tables) if hasattr(claims_module, "sanity") else []
    section = module(spec.study, "section")
    rel = f"figures/{spec.study}"
    context = section.context(spec, tables, claims, sanity, rel)
    text = render(folder(spec.study) / "section.md.j2", context)
    title = module(spec.study, "spec").TITLE
    write_text(where["section"], text)
    write_json(where["results"], results(title, claims, sanity, section.metrics(spec, tables)))
    return [where["section"], where["results"]]


RUNNERS = {"tables": run_tables, "figures": run_figures, "section": run_section}


def run(study: str, stage: str, spec_text: str, root="results") -> list[Path]:
    spec = load_spec(study, spec_text)
    return RUNNERS[stage](spec, root)
