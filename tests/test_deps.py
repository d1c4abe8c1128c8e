"""Code dependencies computed from the imports: what a job runs, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainability import deps


def write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "trainability"
    write(root, "__init__.py")
    write(root, "a.py", "import numpy\nfrom trainability import b\n")
    write(root, "b.py", "def f():\n    from trainability.c import g\n")  # inside a function
    write(root, "c.py", "from .d import x\n")  # relative
    write(root, "d.py", "x = 1\n")
    write(root, "unrelated.py", "import trainability.a\n")
    write(root, "pkg/__init__.py")
    write(root, "pkg/mod.py", 'DATA = ("mod.md.j2", "captions/*.rst")\nfrom . import sib\n')
    write(root, "pkg/sib.py")
    write(root, "pkg/mod.md.j2", "{{ x }}")
    write(root, "pkg/captions/one.rst", "caption")
    write(root, "pkg/other.md.j2", "not read by mod")
    return root


def names(files, root):
    return sorted(str(Path(f).relative_to(root)) for f in files)


def test_closure_follows_imports_at_any_depth_and_relative_ones(package):
    found = names(deps.closure("trainability.a", root=package), package)
    assert found == ["__init__.py", "a.py", "b.py", "c.py", "d.py"]


def test_closure_leaves_out_modules_that_are_not_imported(package):
    found = names(deps.closure("trainability.d", root=package), package)
    assert found == ["__init__.py", "d.py"]


def test_closure_includes_the_data_files_a_module_declares_and_its_packages(package):
    found = names(deps.closure("trainability.pkg.mod", root=package), package)
    assert found == ["__init__.py", "pkg/__init__.py", "pkg/captions/one.rst", "pkg/mod.md.j2",
                     "pkg/mod.py", "pkg/sib.py"]


def test_an_unknown_module_is_an_error_naming_it(package):
    with pytest.raises(ModuleNotFoundError, match="trainability.nope"):
        deps.closure("trainability.nope", root=package)
    with pytest.raises(ValueError, match="numpy"):
        deps.closure("numpy", root=package)


def test_training_code_is_the_trainer_and_not_the_command_line():
    found = {f.name for f in deps.closure("trainability.jobs")}
    assert {"train.py", "model.py", "optim.py", "activations.py", "initializers.py",
            "io.py", "data.py"} <= found
    assert not found & {"cli.py", "report.py", "plotting.py", "markdown.py", "claims.py"}


def test_the_package_has_no_import_cycle():
    """No module imports, directly or through others, a module that imports it (imports
    inside functions count: they run too)."""
    root = Path(deps.ROOT)
    parts = [p.relative_to(root).with_suffix("").parts for p in root.rglob("*.py")]
    names = sorted(".".join(("trainability", *(q[:-1] if q[-1] == "__init__" else q)))
                   for q in parts)
    graph = {n: deps.imported(n) - {n} for n in names}
    assert len(graph) > 40 and graph["trainability.budget"]  # the walk sees the package
    state, path, cycles = {}, [], []

    def visit(node):  # depth first: meeting a module still open closes a cycle
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for name in names:
        if name not in state:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"
