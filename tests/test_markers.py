"""The fast loop stays fast: an unmarked test that starts Snakemake or DVC fails, naming the
marker to add (marker_guard, wired in by conftest.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import marker_guard
from marker_guard import program, refuse_workflow_runs


class FakeItem:
    nodeid = "tests/test_fake.py::test_fake"

    def __init__(self, *markers: str):
        self.markers = markers

    def get_closest_marker(self, name):
        return name if name in self.markers else None


def test_the_program_is_read_from_any_form_of_the_command():
    assert program(["snakemake", "--cores", "2"]) == "snakemake"
    assert program(["/venv/bin/dvc", "exp", "run"]) == "dvc"
    assert program("dvc repro") == "dvc"
    assert program([sys.executable, "-m", "snakemake", "-n"]) == "snakemake"
    assert program(["git", "init"]) == "git"


def test_this_unmarked_test_cannot_start_snakemake(request):
    # conftest's hooks are active here: the command is refused before it starts
    with pytest.raises(pytest.fail.Exception, match="not marked: add @pytest.mark.pipeline"):
        subprocess.run(["snakemake", "--version"], capture_output=True)
    assert request.node.get_closest_marker("pipeline") is None


@pytest.mark.parametrize("hook", ["pytest_runtest_setup", "pytest_runtest_call"])
def test_the_hooks_refuse_workflows_in_unmarked_tests_only(hook):
    before = subprocess.Popen
    for item, guarded in [(FakeItem(), True), (FakeItem("pipeline"), False),
                          (FakeItem("slurm"), False)]:
        run = getattr(marker_guard, hook)(item)
        next(run)  # the test would run now
        try:
            assert (subprocess.Popen is not before) == guarded
            if guarded:
                with pytest.raises(pytest.fail.Exception, match=r"test_fake runs `dvc`"):
                    subprocess.run(["dvc", "--version"], capture_output=True)
            # anything else runs
            done = subprocess.run([sys.executable, "-c", "print(6 * 7)"],
                                  capture_output=True, text=True)
            assert done.stdout.strip() == "42"
        finally:
            run.close()
        assert subprocess.Popen is before


def test_the_guard_is_undone_even_when_the_test_fails():
    before = subprocess.Popen
    with pytest.raises(RuntimeError), refuse_workflow_runs("x"):
        raise RuntimeError("the test failed")
    assert subprocess.Popen is before
