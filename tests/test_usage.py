"""What the jobs used: each job's own count at the end of its log (Snakemake's sampled
benchmark values where there is none), summed by study and by rule."""

from __future__ import annotations

import pytest

from trainability.cli import main
from trainability.jobusage import USAGE_VARIABLE
from trainability.usage import read, summarize

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, rel, wall, rss, cpu):
    path = root / "benchmarks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def log(root, rel, text):
    path = (root / "logs" / rel).with_suffix(".log")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def results(tmp_path):
    """Four jobs; three logs end with their count (tanh's with a higher CPU time than its
    benchmark file sampled), the dataset's log has none."""
    bench(tmp_path, "grid_train/relu-w5-abc.tsv", 2.0, 80.0, 1.5)
    log(tmp_path, "grid_train/relu-w5-abc", "relu: 5 models\nusage: cpu_s=1.5 max_rss_mb=80.0\n")
    bench(tmp_path, "grid_train/tanh-w5-abc.tsv", 3.0, 90.0, 0.5)
    log(tmp_path, "grid_train/tanh-w5-abc", "usage: cpu_s=2.5 max_rss_mb=95.0\n")
    bench(tmp_path, "grid_tables.tsv", 1.0, 200.0, 0.8)
    log(tmp_path, "grid_tables", "usage: cpu_s=0.8 max_rss_mb=200.0\n")
    bench(tmp_path, "dataset/abc.tsv", 1.0, 150.0, 1.2)
    log(tmp_path, "dataset/abc", "dataset: wrote it\n")
    return tmp_path


def test_jobs_are_summed_by_rule_and_by_study_from_their_own_counts(results):
    jobs = read(results / "benchmarks")
    assert sorted(jobs.rule) == ["dataset", "grid_tables", "grid_train", "grid_train"]
    assert jobs.sampled.tolist() == [True, False, False, False]  # dataset: no count
    by_study = summarize(jobs, "study").set_index("study")
    assert by_study.loc["grid", "jobs"] == 3
    assert by_study.loc["grid", "cpu_s"] == pytest.approx(4.8)
    assert by_study.loc["grid", "max_rss_mb"] == 200.0
    assert by_study.loc["shared", "cpu_s"] == pytest.approx(1.2)
    assert by_study.cpu_share.sum() == pytest.approx(1.0)


def test_the_usage_command_prints_both_tables(results, capsys):
    assert main(["usage", str(results / "benchmarks")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 jobs, 6 CPU seconds in all (each job's own count; Snakemake's "
                          "samples for 1 that had none).")
    assert "| grid | 3 | 4.8 | 6.0 | 200 | 80% |" in out
    assert "| grid_train | 2 | 4.0 | 5.0 | 95 | 67% |" in out


def test_a_job_ends_its_log_with_its_count_when_the_workflow_asks(tmp_path, capsys,
                                                                 monkeypatch):
    out = tmp_path / "d.npz"
    assert main(["dataset", "--n-samples", "50", "--out", str(out)]) == 0
    assert "usage:" not in capsys.readouterr().err  # not outside the workflow
    monkeypatch.setenv(USAGE_VARIABLE, "1")
    assert main(["dataset", "--n-samples", "50", "--out", str(out)]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    bench(tmp_path, "dataset/d.tsv", 1.0, 1.0, 0.0)
    log(tmp_path, "dataset/d", line + "\n")
    job = read(tmp_path / "benchmarks").iloc[0]
    assert not job.sampled
    assert job.cpu_s > 0 and job.max_rss_mb > 10  # this process: Python, NumPy, pytest


def test_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["usage", str(tmp_path)]) == 2
    assert "no benchmark files" in capsys.readouterr().err
