"""Every study implements the same protocol (trainability/study.py), on the default params."""

from __future__ import annotations

import inspect
import json

import pytest
import yaml

from pipeline_helpers import ROOT
from trainability import study
from trainability.deps import closure

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def default_spec(name: str):
    """The study's spec from params.yaml, with placeholder paths and code hashes."""
    cls = study.module(name, "spec").Spec
    wanted = inspect.signature(cls.from_params).parameters
    extra = {k: "results/data/x.npz" if k == "dataset" else "0" * 10
             for k in wanted if k not in ("cls", "params")}
    return cls.from_params(PARAMS, **extra)


@pytest.mark.parametrize("name", study.STUDIES)
def test_each_study_has_every_part_of_the_shape(name):
    spec_module = study.module(name, "spec")
    for constant in ("TITLE", "CATEGORY", "PREFIX"):
        assert isinstance(getattr(spec_module, constant), str), constant
    assert callable(study.module(name, "tables").build)
    assert callable(study.module(name, "figures").make)
    assert callable(study.module(name, "claims").evaluate)
    section = study.module(name, "section")
    assert callable(section.context) and callable(section.metrics)
    assert (study.folder(name) / "section.md.j2").is_file()


@pytest.mark.parametrize("name", study.STUDIES)
def test_each_declared_figure_has_a_caption_and_the_spec_survives_json(name):
    spec = default_spec(name)
    assert study.load_spec(name, study.spec_json(spec)) == spec
    for file, kind in spec.figures():
        caption = study.folder(name) / "captions" / f"{kind}.rst"
        assert caption.is_file(), f"{file}: no caption {caption.name}"
        assert caption.read_text().strip()
    assert spec.tables() and spec.run_files()
    json.dumps(spec.tables())


def test_claim_ids_are_unique_across_the_report():
    prefixes = [study.module(name, "spec").PREFIX for name in study.STUDIES]
    assert len(set(prefixes)) == len(prefixes), prefixes


@pytest.mark.parametrize("name", study.STUDIES)
def test_a_spec_is_light_enough_for_snakemake_to_import(name):
    heavy = {"pandas", "matplotlib", "seaborn", "scipy", "jinja2", "sklearn"}
    code = "\n".join(p.read_text() for p in closure(f"trainability.studies.{name}.spec")
                     if p.suffix == ".py")
    imported = {line.split()[1].split(".")[0] for line in code.splitlines()
                if line.startswith(("import ", "from "))}
    assert not imported & heavy, imported & heavy
