"""The one mechanism that rebuilds lost or damaged intermediates: checked before the DAG."""

from __future__ import annotations

import numpy as np

from trainability.io import npz_intact
from trainability.workflow import Repairs


def archive(path, seed=0):
    np.savez(path, x=np.random.default_rng(seed).normal(size=1000))
    return path


def test_a_byte_flipped_in_the_middle_is_damage_the_size_does_not_show(tmp_path):
    path = archive(tmp_path / "run.npz")
    assert npz_intact(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not npz_intact(path)
    truncated = archive(tmp_path / "t.npz")
    truncated.write_bytes(truncated.read_bytes()[:100])
    assert not npz_intact(truncated)


def test_intact_inputs_leave_everything_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = archive(tmp_path / "a.npz"), archive(tmp_path / "b.npz", 1)
    stamp = tmp_path / "tables.done"
    stamp.write_text("")
    repairs, warnings = Repairs(), []
    repairs.watch([str(a), str(b)], str(stamp))
    assert repairs.run(warnings.append) == [] and warnings == []
    assert stamp.exists() and a.exists() and b.exists()


def test_a_damaged_input_is_moved_aside_and_its_reader_made_to_rerun(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good, bad = archive(tmp_path / "good.npz"), archive(tmp_path / "bad.npz", 1)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    stamps = [tmp_path / "tables.done", tmp_path / "figures.done", tmp_path / "other.done"]
    for stamp in stamps:
        stamp.write_text("")
    repairs, warnings = Repairs(), []
    repairs.watch([str(good), str(bad)], str(stamps[0]))
    repairs.watch([str(bad)], str(stamps[1]))
    repairs.watch([str(good)], str(stamps[2]))
    assert repairs.run(warnings.append) == [str(bad)]
    assert not bad.exists() and good.exists()
    moved = tmp_path / "results/damaged" / str(bad).lstrip("/")
    assert moved.read_bytes() == bytes(data)  # kept for inspection, nothing lost
    assert [s.exists() for s in stamps] == [False, False, True]
    assert len(warnings) == 1 and str(bad) in warnings[0] and "damaged" in warnings[0]


def test_a_lost_input_makes_its_reader_rerun_once_with_a_warning_naming_it(tmp_path):
    kept, lost = archive(tmp_path / "kept.npz"), tmp_path / "lost.npz"
    stamp = tmp_path / "tables.done"
    stamp.write_text("")
    repairs, warnings = Repairs(), []
    repairs.watch([str(kept), str(lost)], str(stamp))
    assert repairs.run(warnings.append) == [str(lost)]
    assert not stamp.exists() and warnings == [f"{lost} is missing: it will be rebuilt"]
    assert repairs.run(warnings.append) == [] and len(warnings) == 1  # its reader will rerun


def test_nothing_built_yet_is_not_a_loss(tmp_path):
    repairs, warnings = Repairs(), []
    repairs.watch([str(tmp_path / "never.npz")], str(tmp_path / "tables.done"))
    assert repairs.run(warnings.append) == [] and warnings == []
