"""params.yaml: validation against the JSON schema, and the tags that name outputs.

A tag is a short hash of everything that determines an output: the parameters its job
reads and the source code it runs. Outputs are named by it (``w16-3f9a2c81d0.npz``), so a
file restored by DVC or left over from other parameters can never stand for the current
ones; the workflow reads exactly the files the current parameters name.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "params.schema.yaml"


class ConfigError(ValueError):
    """params.yaml breaks the schema; the message names every bad key and value."""


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _message(error) -> str:
    where = _where(error.absolute_path)
    prefix = f"{where}." if error.absolute_path else ""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = ", ".join(sorted(set(error.instance) - set(allowed)))
        return f"{prefix}{unknown}: unknown key; allowed keys: {', '.join(allowed)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"{prefix}{missing}: required key is missing"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{where}: {error.instance!r} is not allowed; allowed: {allowed}"
    if error.validator == "anyOf" and all(e.validator == "enum" for e in error.context):
        # a vocabulary ($defs) or null: the values of every branch
        allowed = ", ".join(str(v) for e in error.context for v in e.validator_value)
        return f"{where}: {error.instance!r} is not allowed; allowed: {allowed}"
    if error.validator == "not" and "const" in error.validator_value:
        return f"{where}: {error.instance!r} is not allowed here"
    return f"{where}: {error.message}"


def _non_finite(obj, path=()):
    if isinstance(obj, float) and not math.isfinite(obj):
        yield f"{_where(path)}: {obj!r} is not a finite number"
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _non_finite(value, path + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _non_finite(value, path + (i,))


def validate(params: dict, schema_path: Path = SCHEMA, source: str = "params.yaml") -> None:
    """Raise ConfigError listing every problem in ``params``; return None if it is valid."""
    import jsonschema  # ~0.1 s: only here, not in every job whose spec imports ConfigError

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_message(e) for e in sorted(validator.iter_errors(params), key=str)]
    problems += list(_non_finite(params))
    if not problems:
        problems += _cross_checks(params)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{source} is invalid:\n{listed}")


def _cross_checks(params: dict) -> list[str]:
    data, model, train = params["data"], params["model"], params["train"]
    problems = []
    n_test = int(round(data["n_samples"] * data["test_fraction"]))
    n_train = data["n_samples"] - n_test
    if n_test < 1 or n_train < 1:
        problems.append(
            f"data.test_fraction: {data['test_fraction']} leaves {n_train} train and "
            f"{n_test} test points of data.n_samples={data['n_samples']}; both need >= 1"
        )
    elif train["batch_size"] > n_train:
        problems.append(
            f"train.batch_size: {train['batch_size']} is larger than the training set "
            f"({n_train} points); allowed: 1..{n_train}"
        )
    bad = [j for j in model["batch_norm"] if j > model["depth"]]
    if bad:
        problems.append(
            f"model.batch_norm: layers {bad} do not exist; "
            f"allowed: 1..{model['depth']} (model.depth)"
        )
    return problems


def load(path: str | Path = "params.yaml") -> dict:
    """Read and validate a params file."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    validate(params, source=str(path))
    return params


def code_hash(files: Iterable[str | Path]) -> str:
    """Hash of the contents of source files (order-independent)."""
    h = hashlib.sha256()
    for f in sorted(map(str, files)):
        h.update(Path(f).name.encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def tag(*parts) -> str:
    """A 10-hex-digit name for everything in ``parts`` (JSON-serializable values)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]
