"""The install is reproducible: every package the code imports is declared in
pyproject.toml, every declared package is pinned in requirements.lock, and the environment
the tests run in has exactly the lock's versions (the README's numbers were measured with
them)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
INSTALL = 'pip install -c requirements.lock -e ".[test]"'
# our own modules: the package, and the helpers tests and benchmarks import by file name
FIRST_PARTY = {"trainability", "pipeline_helpers", "marker_guard", "legibility", "plain_loop"}
# imported only where present (a benchmark column that is skipped without it)
OPTIONAL = {"torch"}
# the lock pins the installer's own tools too; they do not change a result
TOOLS = {"pip", "setuptools", "wheel"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [
        spec for extra in project["optional-dependencies"].values() for spec in extra
    ]
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def pinned() -> dict[str, str]:
    """name -> version of every lock line that applies on this platform."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"requirements.lock: not an exact pin: {line!r}"
        if req.marker is None or req.marker.evaluate():
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def imported_modules() -> dict[str, str]:
    """Top-level module -> one file that imports it, over src/, tests/ and benchmarks/ (the
    Snakefile and rule files too)."""
    found = {}
    for path in sorted([*ROOT.glob("src/**/*.py"), *ROOT.glob("tests/**/*.py"),
                        *ROOT.glob("benchmarks/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    for path in [ROOT / "Snakefile", *sorted(ROOT.glob("src/workflow/**/*.smk"))]:
        for m in re.finditer(r"(?m)^\s*(?:from|import)\s+([A-Za-z_]\w*)", path.read_text()):
            found.setdefault(m.group(1), str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared_in_pyproject():
    distributions = metadata.packages_distributions()
    names = declared()
    missing = []
    for module, where in imported_modules().items():
        if module in sys.stdlib_module_names or module in FIRST_PARTY | OPTIONAL:
            continue
        dists = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert dists, f"{where} imports {module}, which no installed package provides"
        if not dists & names:
            missing.append(f"{module} ({'/'.join(sorted(dists))}, imported by {where})")
    assert not missing, f"declare in pyproject.toml: {', '.join(missing)}"


def test_every_declared_package_is_pinned_in_the_lock():
    pins = pinned()
    assert not declared() - set(pins), (
        "not in requirements.lock; refresh it (README, Tests): "
        f"{sorted(declared() - set(pins))}")


def test_the_installed_versions_are_the_locks():
    if not LOCK.exists():
        pytest.fail("requirements.lock is missing")
    wrong = []
    for name, version in sorted(pinned().items()):
        if name in TOOLS:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            wrong.append(f"{name} {installed} (lock: {version})")
    assert not wrong, (f"this environment differs from requirements.lock; reinstall with "
                       f"`{INSTALL}`: {'; '.join(wrong)}")
