"""The checks the rule files run when the workflow loads, so lost files are rebuilt."""

from __future__ import annotations

import numpy as np

from trainability.studies import rebuild


def test_a_missing_output_removes_the_files_that_read_it(tmp_path):
    present, gone, section, report = (tmp_path / n for n in ("a.csv", "b.png", "s.md", "r.md"))
    for path in (present, section, report):
        path.write_text("x")
    assert rebuild.rebuild_if_missing([present], [section, report]) == []
    assert section.exists() and report.exists()
    assert rebuild.rebuild_if_missing([present, gone], [section, report]) == [gone]
    assert not section.exists() and not report.exists()
    assert rebuild.rebuild_if_missing([gone], [section, report]) == []  # nothing left to remove


def test_a_lost_input_of_the_tables_removes_their_manifest(tmp_path):
    kept, gone, broken = (tmp_path / n for n in ("kept.npz", "gone.npz", "broken.npz"))
    np.savez(kept, x=np.zeros(3))
    broken.write_bytes(b"PK\x03\x04 truncated")
    manifest = tmp_path / "manifest.txt"
    assert rebuild.rebuild_if_lost(str(manifest)) == []  # no manifest: nothing was built yet
    manifest.write_text(f"{kept}\n")
    assert rebuild.rebuild_if_lost(str(manifest)) == [] and manifest.exists()
    manifest.write_text(f"{kept}\n{gone}\n{broken}\n")
    assert rebuild.rebuild_if_lost(str(manifest)) == [str(gone), f"{broken} (corrupt)"]
    assert not manifest.exists() and not broken.exists() and kept.exists()


def test_a_missing_or_truncated_intermediate_removes_its_consumer(tmp_path):
    kept, gone, broken = (tmp_path / n for n in ("kept.npz", "gone.npz", "broken.npz"))
    np.savez(kept, x=np.zeros(3))
    consumer = tmp_path / "runs.csv"
    consumer.write_text("x")
    assert rebuild.rebuild_if_broken([str(kept)], str(consumer)) == []
    assert consumer.exists()
    broken.write_bytes(kept.read_bytes()[:20])
    assert rebuild.rebuild_if_broken([str(kept), str(gone), str(broken)], str(consumer)) == [
        str(gone), f"{broken} (corrupt)"]
    assert not consumer.exists() and not broken.exists() and kept.exists()
