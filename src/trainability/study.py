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
STUDIES = ("lecture", "grid", "gradients", "scaling", "batchnorm", "tweaks", "epsilon",
           "robustness", "size")
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


def single_precision(width: int, float32_from: int | None) -> bool:
    """Whether networks of ``width`` train in float32, those from ``float32_from`` on (None:
    none); the grid's and the epsilon study's take it from ``grid.float32_from``."""
    return float32_from is not None and width >= float32_from


def training_args(train: dict, *, lrs=None, classifier_init: str | None = None,
                  batch_norm=(), train_metrics=None, float32: bool = False) -> list:
    """The optimizer, schedule and batch arguments of ``trainability train`` from a train
    section (params.yaml's, or a study's copy with some values replaced); ``lrs`` several
    learning rates in one job; the classifier's initializer and batch-norm layers if set;
    ``train_metrics`` the epochs at which to evaluate the whole training set (None: every
    epoch); ``float32`` to train in single precision."""
    args = [
        "--optimizer", train["optimizer"], "--lr", *(lrs or [train["lr"]]),
        "--momentum", train["momentum"], "--eps", train["eps"],
        "--eps-convention", train["eps_convention"], "--l2", train["l2"],
        "--schedule", train["schedule"], "--warmup-epochs", train["warmup_epochs"],
        "--batch-size", train["batch_size"], "--epochs", train["epochs"],
    ]
    if classifier_init:
        args += ["--classifier-init", classifier_init]
    if batch_norm:
        args += ["--batch-norm", *batch_norm]
    if train_metrics is not None:
        args += ["--train-metrics-epochs", *train_metrics]
    if float32:
        args += ["--float32"]
    return args


def paths(study: str, root: str | Path = "results") -> dict[str, Path]:
    """Where a study's stages write, under ``root``."""
    root = Path(root)
    return {
        "tables": root / "tables" / study,
        "figures": root / "figures" / study,
        "section": root / "sections" / f"{study}.md",
        "results": root / "sections" / f"{study}.json",
        "appendix": root / "appendix" / f"{study}.md",
    }


# Each stage's writer lives beside the library it needs, so a stage's code is only what it
# runs (trainability.deps): tables.py (pandas), plotting.py (matplotlib), markdown.py (Jinja2).
WRITERS = {"tables": ("trainability.tables", "write_study_tables"),
           "figures": ("trainability.plotting", "write_study_figures"),
           "section": ("trainability.markdown", "write_study_section")}


def run(study: str, stage: str, spec_text: str, root="results") -> list[Path]:
    """Run one stage of a study: what ``trainability <study> <stage>`` does."""
    spec = load_spec(study, spec_text)
    name, function = WRITERS[stage]
    return getattr(importlib.import_module(name), function)(spec, root)
