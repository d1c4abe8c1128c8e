"""Shared small datasets and helpers for the trainer's tests."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

# an unmarked test may not start Snakemake or DVC (the fast loop excludes marked tests only)
from marker_guard import pytest_runtest_call, pytest_runtest_setup  # noqa: F401 (hooks)
from trainability import cli
from trainability.data import Dataset, make_dataset


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """These arrays are tiny: a second BLAS thread only costs time, and under load from
    other processes 2-threaded BLAS made a 400x300 QR 50x slower (DESIGN.md section 4)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def circles_small() -> Dataset:
    """200 points of the lecture's circles data (160 train, 40 test)."""
    return make_dataset("circles", n_samples=200, noise=0.1, factor=0.5, seed=0)


@pytest.fixture(scope="session")
def circles_lecture() -> Dataset:
    """The lecture's data: make_circles(1000, factor=0.5, noise=0.1), 800 train, 200 test."""
    return make_dataset("circles", n_samples=1000, noise=0.1, factor=0.5, seed=0)


@pytest.fixture(scope="session")
def tiny_batch() -> tuple[np.ndarray, np.ndarray]:
    """64 points and labels for gradient checks: ``X (64, 2)``, ``y (64, 1)`` as float64."""
    data = make_dataset("moons", n_samples=80, noise=0.2, test_fraction=0.2, seed=3)
    return data.X_train.astype(np.float64), data.y_train.astype(np.float64).reshape(-1, 1)


def _histories_close(h1: dict, h2: dict, atol: float) -> None:
    assert h1.keys() == h2.keys()
    for name in h1:
        np.testing.assert_allclose(
            h1[name], h2[name], rtol=0, atol=atol, equal_nan=True, err_msg=name
        )


@pytest.fixture
def histories_close():
    """``histories_close(h1, h2, atol)``: every history array equal within ``atol``, NaNs
    in the same places."""
    return _histories_close


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory):
    """The tiny configuration (pipeline_helpers.TINY) after one complete `snakemake` run.
    Shared by every pipeline test: copy it (``project_copy``) before changing anything."""
    from pipeline_helpers import make_project, snakemake

    project = make_project(tmp_path_factory.mktemp("finished") / "project")
    snakemake(project)
    return project


@pytest.fixture
def project_copy(finished_project, tmp_path):
    """A copy of ``finished_project``; copy2 keeps mtimes, so Snakemake's state stays valid."""
    import shutil

    dest = tmp_path / "project"
    shutil.copytree(finished_project, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> str:
    """A dataset file of the lecture's circles, 120 points (90 train, 30 test), as
    ``trainability dataset`` writes it; test files with another dataset define their own."""
    path = tmp_path_factory.mktemp("data") / "data.npz"
    assert cli.main(["dataset", "--n-samples", "120", "--test-fraction", "0.25",
                     "--out", str(path)]) == 0
    return str(path)
