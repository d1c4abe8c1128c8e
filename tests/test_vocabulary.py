"""Every name a user writes in params.yaml is defined once: the registries' keys are the
schema's vocabularies (``$defs``, which every key refers to), the cost model prices each
activation and optimizer, and some test runs every entry of every registry."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate as snakemake_validate

from trainability import cost
from trainability.activations import ACTIVATIONS
from trainability.config import SCHEMA, ConfigError, validate
from trainability.data import DATASETS
from trainability.initializers import INITIALIZERS
from trainability.optim import EPS_CONVENTIONS, OPTIMIZERS, SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
SCHEMA_DOC = yaml.safe_load(SCHEMA.read_text())
VOCABULARIES = {  # $defs name: (registry, its name in the code)
    "activation": (ACTIVATIONS, "ACTIVATIONS"),
    "initializer": (INITIALIZERS, "INITIALIZERS"),
    "optimizer": (OPTIMIZERS, "OPTIMIZERS"),
    "schedule": (SCHEDULES, "SCHEDULES"),
    "eps_convention": (EPS_CONVENTIONS, "EPS_CONVENTIONS"),
    "dataset": (DATASETS, "DATASETS"),
}


def enums(node, path=()):
    """Every ``enum`` of the schema outside ``$defs``: (where, its values)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum":
                yield ".".join(map(str, path)), value
            elif key != "$defs":
                yield from enums(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from enums(value, path + (i,))


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
def test_every_registry_entry_is_in_its_schema_vocabulary_and_nothing_else(vocabulary):
    registry, _ = VOCABULARIES[vocabulary]
    values = SCHEMA_DOC["$defs"][vocabulary]["enum"]
    assert len(values) == len(set(values)) and set(values) == set(registry)


def test_the_vocabularies_are_written_once_and_every_reference_resolves():
    """An enum elsewhere may pick some names of a vocabulary (epsilon.optimizers: the
    adaptive ones), never repeat it whole or add a name the registry lacks."""
    for where, values in enums(SCHEMA_DOC["properties"]):
        for vocabulary, (registry, _) in VOCABULARIES.items():
            names = {v for v in values if isinstance(v, str)}
            if names & set(registry):
                assert names < set(registry), f"{where}: use $ref: '#/$defs/{vocabulary}'"
    used = set(refs(SCHEMA_DOC["properties"]))
    assert used == {f"#/$defs/{v}" for v in VOCABULARIES}
    assert validate(DEFAULTS) is None


def with_value(keys, value):
    params = copy.deepcopy(DEFAULTS)
    node = params
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return params


REFERENCED = [  # a value given through a $ref, and the one line that names its key
    (("grid", "activations"), ["relu", "relux"],
     "grid.activations[1]: 'relux' is not allowed; allowed: relu, sigmoid, tanh, leaky_relu"),
    (("epsilon", "cells", 0, "activation"), "selu",
     "epsilon.cells[0].activation: 'selu' is not allowed; allowed: relu"),
    (("batchnorm", "init"), "xavier",
     "batchnorm.init: 'xavier' is not allowed; allowed: zeros, random_normal"),
    (("model", "classifier_init"), "xavier",
     "model.classifier_init: 'xavier' is not allowed; allowed: None, zeros, random_normal"),
    (("size", "train", "init"), "zeros", "size.train.init: 'zeros' is not allowed here"),
    (("tweaks", "variant_optimizer"), "adamw",
     "tweaks.variant_optimizer: 'adamw' is not allowed; allowed: sgd, momentum"),
    (("train", "eps_convention"), "tf",
     "train.eps_convention: 'tf' is not allowed; allowed: keras, pytorch"),
    (("size", "datasets"), [{"name": "ring", "noise": 0.1}],
     "size.datasets[0].name: 'ring' is not allowed; allowed: circles"),
]


@pytest.mark.parametrize("keys, value, expected", REFERENCED,
                         ids=[".".join(map(str, k)) for k, _, _ in REFERENCED])
def test_a_name_outside_its_vocabulary_names_the_key_and_what_is_allowed(keys, value,
                                                                          expected):
    with pytest.raises(ConfigError) as err:
        validate(with_value(keys, value))
    assert expected in str(err.value)


def test_null_is_still_a_classifier_init():
    assert validate(with_value(("model", "classifier_init"), None)) is None


def test_snakemakes_own_validate_resolves_the_references_too():
    snakemake_validate(copy.deepcopy(DEFAULTS), str(SCHEMA))
    with pytest.raises(WorkflowError, match="relux"):
        snakemake_validate(with_value(("grid", "activations"), ["relux"]), str(SCHEMA))


def test_the_cost_model_prices_every_activation_and_optimizer_and_refuses_others():
    assert set(cost.ACTIVATION_COST) == set(ACTIVATIONS)
    assert set(cost.OPTIMIZER_ARRAYS) == set(cost.OPTIMIZER_PASSES) == set(OPTIMIZERS)
    job = dict(n_train=80, n_test=20, width=4, depth=2, seeds=[0], epochs=1, batch_size=8)
    for name in ACTIVATIONS:
        assert cost.train_cost(**job, activation=name).cpu > 0
    for name in OPTIMIZERS:
        assert cost.train_cost(**job, optimizer={"name": name}).cpu > 0
    with pytest.raises(ValueError, match="unknown activation 'selu'; known: elu"):
        cost.train_cost(**job, activation="selu")
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; known: adam"):
        cost.train_cost(**job, optimizer={"name": "adamw"})


def parametrized_registries() -> set[str]:
    """The registries some test parametrizes over whole (``sorted(ACTIVATIONS)``,
    ``ACTIVATIONS``, ``list(...)``): read from the tests' source, so a test that lists
    names by hand instead does not count."""
    found = set()
    for path in sorted(ROOT.glob("tests/test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "parametrize" and len(node.args) >= 2):
                values = node.args[1]
                if isinstance(values, ast.Call) and isinstance(values.func, ast.Name) \
                        and values.func.id in ("sorted", "list") and values.args:
                    values = values.args[0]
                if isinstance(values, ast.Name):
                    found.add(values.id)
    return found


@pytest.mark.parametrize("registry", ["ACTIVATIONS", "INITIALIZERS", "OPTIMIZERS",
                                      "EPS_CONVENTIONS"])
def test_some_test_runs_every_entry_of_the_registry(registry):
    """A new activation, initializer, optimizer or eps convention is run by the test
    suite the day it is registered: test_numerics (activations at the edges of their
    inputs, every optimizer step under both conventions), test_initializers (every
    initializer's draw)."""
    assert registry in parametrized_registries()
