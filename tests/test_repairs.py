"""The one mechanism that rebuilds lost or damaged intermediates: the stamps of the jobs
that read them, checked before the DAG is built."""

from __future__ import annotations

import numpy as np
import pytest

from trainability.io import npz_intact
from trainability.workflow import STAMPS, repair


def archive(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=np.random.default_rng(seed).normal(size=1000))
    return path


def stamp(name, *files):
    path = STAMPS / f"{name}.done"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{f}\n" for f in files))
    return path


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_byte_flipped_in_the_middle_is_damage_the_size_does_not_show(tmp_path):
    path = archive(tmp_path / "run.npz")
    assert npz_intact(path)
    flip_a_byte(path)
    assert not npz_intact(path)
    truncated = archive(tmp_path / "t.npz")
    truncated.write_bytes(truncated.read_bytes()[:100])
    assert not npz_intact(truncated)


def test_a_byte_flipped_in_a_header_the_crcs_do_not_cover_is_damage(tmp_path):
    path = archive(tmp_path / "run.npz")
    data = bytearray(path.read_bytes())
    data[9] ^= 0xFF  # the first member's compression method, in its local header
    path.write_bytes(bytes(data))
    assert not npz_intact(path)


def test_intact_inputs_leave_everything_alone(here):
    a, b = archive(here / "runs/a.npz"), archive(here / "runs/b.npz", 1)
    tables = stamp("tables", "runs/a.npz", "runs/b.npz", "src/code.py")
    warnings = []
    assert repair(warnings.append) == [] and warnings == []
    assert tables.exists() and a.exists() and b.exists()


def test_a_damaged_input_is_moved_aside_and_its_readers_rerun(here):
    archive(here / "runs/good.npz")
    bad = archive(here / "runs/bad.npz", 1)
    damaged = flip_a_byte(bad)
    tables = stamp("tables", "runs/good.npz", "runs/bad.npz")
    figures = stamp("figures", "runs/bad.npz")
    other = stamp("other", "runs/good.npz")
    warnings = []
    assert repair(warnings.append) == ["runs/bad.npz"]
    assert not bad.exists()
    assert (here / "results/damaged/runs/bad.npz").read_bytes() == damaged  # kept
    assert [s.exists() for s in (tables, figures, other)] == [False, False, True]
    assert warnings == ["runs/bad.npz is damaged: moved to results/damaged/runs/bad.npz; "
                        "it will be rebuilt"]


def test_a_lost_input_makes_its_readers_rerun_with_a_warning_naming_it(here):
    archive(here / "runs/kept.npz")
    tables = stamp("tables", "runs/kept.npz", "runs/lost.npz")
    warnings = []
    assert repair(warnings.append) == ["runs/lost.npz"]
    assert not tables.exists() and warnings == ["runs/lost.npz is missing: it will be rebuilt"]
    assert repair(warnings.append) == []  # its reader reruns: nothing more to say


def test_new_parameters_are_not_a_loss(here):
    """Files the current parameters need but no job has read yet are not lost: their
    readers rerun anyway (their inputs changed), and nothing is said or removed."""
    archive(here / "runs/old.npz")
    tables = stamp("tables", "runs/old.npz")
    warnings = []
    assert repair(warnings.append) == [] and tables.exists() and warnings == []


def test_a_dry_run_says_what_a_real_run_will_repair_and_changes_nothing(here):
    bad = archive(here / "runs/bad.npz")
    damaged = flip_a_byte(bad)
    tables = stamp("tables", "runs/bad.npz", "runs/lost.npz")
    warnings = []
    assert repair(warnings.append, dry_run=True) == ["runs/lost.npz", "runs/bad.npz"]
    assert bad.read_bytes() == damaged and tables.exists()
    assert "a real run moves it to results/damaged/runs/bad.npz" in warnings[0]
