"""What the jobs used: benchmark files summed by study and by rule."""

from __future__ import annotations

import pytest

from trainability.cli import main
from trainability.usage import read, summarize

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, rel, wall, rss, cpu):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


@pytest.fixture
def benchmarks(tmp_path):
    bench(tmp_path, "grid_train/relu-w5-abc.tsv", 2.0, 80.0, 1.5)
    bench(tmp_path, "grid_train/tanh-w5-abc.tsv", 3.0, 90.0, 2.5)
    bench(tmp_path, "grid_tables.tsv", 1.0, 200.0, 0.8)
    bench(tmp_path, "dataset/abc.tsv", 1.0, 150.0, 1.2)
    return tmp_path


def test_jobs_are_summed_by_rule_and_by_study(benchmarks):
    jobs = read(benchmarks)
    assert sorted(jobs.rule) == ["dataset", "grid_tables", "grid_train", "grid_train"]
    by_study = summarize(jobs, "study").set_index("study")
    assert by_study.loc["grid", "jobs"] == 3
    assert by_study.loc["grid", "cpu_s"] == pytest.approx(4.8)
    assert by_study.loc["grid", "max_rss_mb"] == 200.0
    assert by_study.loc["shared", "cpu_s"] == pytest.approx(1.2)
    assert by_study.cpu_share.sum() == pytest.approx(1.0)


def test_the_usage_command_prints_both_tables(benchmarks, capsys):
    assert main(["usage", str(benchmarks)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 jobs, 6 CPU seconds in all.")
    assert "| grid | 3 | 4.8 | 6.0 | 200 | 80% |" in out
    assert "| grid_train | 2 | 4.0 | 5.0 | 90 | 67% |" in out


def test_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["usage", str(tmp_path)]) == 2
    assert "no benchmark files" in capsys.readouterr().err
