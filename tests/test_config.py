"""params.yaml validation: every bad value gets one message naming the key and what is allowed;
output tags change exactly when what determines the output changes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from trainability.config import ConfigError, load, tag, validate

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_change(section, key, value):
    params = copy.deepcopy(DEFAULTS)
    if section is None:
        params[key] = value
    else:
        params[section][key] = value
    return params


def renamed(section, old, new):
    params = copy.deepcopy(DEFAULTS)
    params[section][new] = params[section].pop(old)
    return params


BAD = [
    (renamed("grid", "activations", "activaton"), "grid.activaton: unknown key; allowed keys: activations, animate, diagnostic_epochs, float32_from, inits, widths"),
    (with_change(None, "trian", {}), "trian: unknown key; allowed keys: "),
    (with_change("train", "lr", "fast"), "train.lr: 'fast' is not of type 'number'"),
    (with_change("train", "lr", 0), "train.lr: 0 is less than or equal to the minimum of 0"),
    (with_change("train", "lr", -0.1), "train.lr: -0.1 is less than or equal to the minimum of 0"),
    (with_change("train", "lr", float("nan")), "train.lr: nan is not a finite number"),
    (with_change("train", "epochs", 0), "train.epochs: 0 is less than the minimum of 1"),
    (with_change("train", "epochs", 2.5), "train.epochs: 2.5 is not of type 'integer'"),
    (with_change("train", "seeds", 0), "train.seeds: 0 is less than the minimum of 1"),
    (with_change("train", "batch_size", -32), "train.batch_size: -32 is less than the minimum of 1"),
    (with_change("train", "batch_size", 801), "train.batch_size: 801 is larger than the training set (800 points); allowed: 1..800"),
    (with_change("train", "optimizer", "adamw"), "train.optimizer: 'adamw' is not allowed; allowed: sgd, momentum, nesterov, rmsprop, adam"),
    (with_change("train", "schedule", "linear"), "train.schedule: 'linear' is not allowed; allowed: constant, step, cosine"),
    (with_change("model", "depth", 0), "model.depth: 0 is less than the minimum of 1"),
    (with_change("model", "width", -5), "model.width: -5 is less than the minimum of 1"),
    (with_change("model", "batch_norm", [5]), "model.batch_norm: layers [5] do not exist; allowed: 1..4 (model.depth)"),
    (with_change("data", "name", "circle"), "data.name: 'circle' is not allowed; allowed: circles, moons, xor, spirals"),
    (with_change("data", "name", "circles; touch pwned"), "data.name: 'circles; touch pwned' is not allowed"),
    (with_change("data", "test_fraction", 1.0), "data.test_fraction: 1.0 is greater than or equal to the maximum of 1"),
    (with_change("data", "test_fraction", 0), "data.test_fraction: 0 is less than or equal to the minimum of 0"),
    (with_change("data", "noise", -0.1), "data.noise: -0.1 is less than the minimum of 0"),
    (with_change("data", "standardize", "yes"), "data.standardize: 'yes' is not of type 'boolean'"),
    (with_change("grid", "activations", []), "grid.activations: [] should be non-empty"),
    (with_change("epsilon", "activations", []), "epsilon.activations: [] should be non-empty"),
    (with_change("scaling", "inits", []), "scaling.inits: [] should be non-empty"),
    (with_change("learns", "accuracy", 0.4), "learns.accuracy: 0.4 is less than or equal to the minimum of 0.5"),
    (with_change("size", "datasets", [{"name": "moons", "noise": 0.15, "success": 0.9}]), "size.datasets[0].success: unknown key; allowed keys: name, noise"),
    (with_change("grid", "activations", ["relu", "relux"]), "grid.activations[1]: 'relux' is not allowed; allowed: relu, sigmoid, tanh"),
    (with_change("grid", "inits", ["he_normal", "he_normal"]), "grid.inits: ['he_normal', 'he_normal'] has non-unique elements"),
    (with_change("grid", "inits", ["xavier"]), "grid.inits[0]: 'xavier' is not allowed; allowed: zeros, random_normal"),
    (with_change("grid", "widths", [0, 5]), "grid.widths[0]: 0 is less than the minimum of 1"),
    (with_change("grid", "widths", [5, "16; rm -rf /"]), "grid.widths[1]: '16; rm -rf /' is not of type 'integer'"),
]


@pytest.mark.parametrize("params, expected", BAD, ids=[e.split(":")[0] for _, e in BAD])
def test_invalid_params_name_the_key_the_value_and_what_is_allowed(params, expected):
    with pytest.raises(ConfigError) as err:
        validate(params)
    assert expected in str(err.value)


def test_default_params_are_valid():
    assert validate(DEFAULTS) is None  # raises ConfigError otherwise


def test_every_problem_is_reported_at_once():
    params = with_change("train", "lr", -1)
    params["grid"]["widths"] = []
    with pytest.raises(ConfigError) as err:
        validate(params)
    assert "train.lr" in str(err.value) and "grid.widths" in str(err.value)


def test_load_reports_a_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)


def test_tags_change_with_any_value_and_only_then():
    assert tag(DEFAULTS["train"], "code") == tag(copy.deepcopy(DEFAULTS["train"]), "code")
    assert tag(DEFAULTS["train"], "code") != tag(with_change("train", "lr", 0.01)["train"], "code")
    assert tag(DEFAULTS["train"], "code") != tag(DEFAULTS["train"], "code2")
