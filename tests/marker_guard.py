"""Keep the fast loop fast: a test that runs Snakemake or DVC must say so with a marker.

`pytest -m "not pipeline and not slurm"` (README, Tests) is the loop a developer runs
while editing; it stays under a minute only if every test that starts a workflow is
marked. The hooks below (conftest.py imports them) wrap each unmarked test's setup, its
fixtures' included, and its call in ``refuse_workflow_runs``: starting ``snakemake`` or
``dvc`` there fails the test, naming the marker to add."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

WORKFLOW_TOOLS = ("snakemake", "dvc")
MARKERS = ("pipeline", "slurm")


def program(args) -> str:
    """The tool a Popen argument list starts: ``snakemake`` for ``["snakemake", ...]``,
    ``/venv/bin/dvc ...`` and ``python -m snakemake ...`` alike."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = os.fsdecode(args).split()
    else:
        argv = [os.fsdecode(a) for a in args]
    if not argv:
        return ""
    name = Path(argv[0]).name
    if name.startswith("python") and "-m" in argv[1:-1]:
        name = argv[argv.index("-m") + 1]
    return name


def is_marked(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in MARKERS)


@contextlib.contextmanager
def refuse_workflow_runs(test_id: str):
    """While active, ``subprocess`` refuses to start Snakemake or DVC: ``pytest.fail``
    with what to mark (Failed is not an Exception, so no ``except Exception`` hides it)."""
    original = subprocess.Popen

    class Refusing(original):
        def __init__(self, args, *rest, **kwargs):
            tool = program(args)
            if tool in WORKFLOW_TOOLS:
                pytest.fail(
                    f"{test_id} runs `{tool}` but is not marked: add @pytest.mark.pipeline "
                    f"(or slurm), so that `pytest -m \"not pipeline and not slurm\"` stays "
                    f"fast", pytrace=False)
            super().__init__(args, *rest, **kwargs)

    subprocess.Popen = Refusing
    try:
        yield
    finally:
        subprocess.Popen = original


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if is_marked(item):
        return (yield)
    with refuse_workflow_runs(item.nodeid):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if is_marked(item):
        return (yield)
    with refuse_workflow_runs(item.nodeid):
        return (yield)
