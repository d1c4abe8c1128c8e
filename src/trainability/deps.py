"""The source files a job runs, computed from the imports instead of listed by hand.

``closure("trainability.studies.grid.tables")`` follows every ``import trainability...`` and
``from trainability... import ...`` of that module (statically, with ``ast``: nothing is
imported), then of the modules found, and so on, and returns their files with the package
``__init__.py`` files on the way, and the data files a module reads (a section template,
figure captions), which it names in a module-level ``DATA`` tuple of glob patterns relative
to its folder (read here from the source, and by the module itself to find them).

The workflow uses the closure twice: as the job's ``input: code=``, so Snakemake reruns the
job when one of the files changes, and in the hash that names the job's outputs, so an
output made by other code is never mistaken for a current one.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = "trainability"
ROOT = Path(__file__).resolve().parent  # src/trainability


def module_file(name: str, root: Path = ROOT) -> Path:
    """The file of module ``trainability.x.y``: ``x/y.py`` or ``x/y/__init__.py``."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    raise ModuleNotFoundError(f"{name}: no such module under {root}")


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported(name: str, root: Path = ROOT) -> set[str]:
    """The ``trainability`` modules that module ``name`` imports (at any depth of its code:
    imports inside functions count too)."""
    path = module_file(name, root)
    package = name if _is_package(path) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _ours(a.name)}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if not _ours(base):
                continue
            found.add(base)
            for alias in node.names:  # `from trainability.studies import grid`
                candidate = f"{base}.{alias.name}"
                if _exists(candidate, root):
                    found.add(candidate)
    return found


@cache  # one parse per file: Snakemake asks for the closures of ~30 jobs' modules
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def data_files(path: Path) -> list[Path]:
    """The files matched by the module's ``DATA`` patterns (a literal tuple of strings)."""
    for node in _parse(path).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DATA" for t in node.targets
        ):
            patterns = ast.literal_eval(node.value)
            return sorted(f for p in patterns for f in path.parent.glob(p) if f.is_file())
    return []


def _ours(name: str | None) -> bool:
    return bool(name) and (name == PACKAGE or name.startswith(PACKAGE + "."))


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if node.level == 0:
        return node.module
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _exists(name: str, root: Path) -> bool:
    try:
        module_file(name, root)
    except ModuleNotFoundError:
        return False
    return True


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def _closure(names: tuple[str, ...], root: Path) -> tuple[str, ...]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _parents(name)  # importing a.b.c runs a/__init__ and a/b/__init__ first
        todo += sorted(imported(name, root) - seen)
    files = set()
    for name in seen:
        path = module_file(name, root)
        files.add(path)
        files.update(data_files(path))
    return tuple(sorted(str(f) for f in files))


def closure(*modules: str, root: Path = ROOT) -> list[Path]:
    """Every file the ``modules`` (dotted names) run or read, sorted."""
    for name in modules:
        if not _ours(name):
            raise ValueError(f"{name}: not a module of {PACKAGE}")
    return [Path(p) for p in _closure(tuple(sorted(set(modules))), root.resolve())]


def relative(files: Iterable[Path], start: Path) -> list[str]:
    """``files`` relative to ``start`` (a moved or copied project keeps its provenance:
    Snakemake compares inputs by path)."""
    return [os.path.relpath(f, start) for f in files]
