"""The workflow on a real Slurm cluster: a single-node cluster started on this machine
(tests/slurm/cluster.sh), the tiny grid run through `snakemake --executor slurm` with the
project's profile (profiles/slurm), results equal to the local run's bit for bit, a failing
job reported as failed, and `dvc exp run` on top with the same metrics. The studies' rules
run the same commands through the same groups; the dry run with the shipped profile, which
needs no cluster, checks that every rule of every study is grouped as the profile says and
asks for what the cost model gives (running every study on the cluster as well made CI's
test run some 10 minutes longer).

Needs root and Debian's Slurm packages. apt-get installs them only when asked to: under CI
(CI set; .ci/run sets it and installs them first) or with TRAINABILITY_INSTALL_SLURM=1;
a plain `pytest` elsewhere installs nothing and skips, saying how to opt in. Where the
tests cannot run they skip with the reason; under CI they fail instead, so CI always runs
them. Every command runs under a timeout, all of them together under one deadline, and the
cluster's daemons are stopped whatever happens."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline_helpers import (
    GRID_ONLY,
    ROOT,
    dry_run_jobs,
    env,
    git_init,
    group_jobs,
    make_project,
    run,
    snakemake,
)
from trainability.study import STUDIES

pytestmark = pytest.mark.slurm

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
PROFILE = "profiles/slurm"
# This cluster's settings, written into the project's profile as a user writes theirs;
# everything else (grouping, group sizes, resources) is the shipped profile's. A real
# cluster has accounting, so the plugin asks sacct for job states; this one has none
# (sacct fails and the plugin would wait forever), so squeue: finished jobs stay listed
# for the cluster's MinJobAge, 600 s. It has no accounts either: the plugin's guess fails
# harmlessly ("Unable to guess SLURM account").
TEST_SITE_SETTINGS = {
    "slurm-status-command": "squeue",
    # only to keep the test short: the plugin checks first after this many seconds, then
    # 10 s later each time (the shipped 20 s works too)
    "slurm-init-seconds-before-status-checks": 3,
}
GROUPS = {"data", "cells", "summary"}  # the shipped profile's groups
# at most 2 cores a job (the cells in it 2 at a time): the node has as many as this machine
CORES = ["--cores", str(min(2, os.cpu_count() or 1))]
# Seconds. Every job starts a Snakemake of its own on the cluster (~2 s of CPU).
RUN_TIMEOUT = 900  # one Snakemake or DVC run on the cluster
DEADLINE = 1800  # everything from the cluster's start to the last run

_deadline = [float("inf")]  # time.monotonic() by which every bounded run must be over


def bounded(cmd: list, cwd: Path | None = None, timeout: float = 60, environ=None,
            deadline: bool = True):
    """Run ``cmd`` in its own process group, for at most ``timeout`` seconds (and not past
    the module's deadline); then SIGKILL the whole group, so that no child holding the
    pipes can keep us waiting, and return what it printed (returncode -9)."""
    if deadline:
        timeout = max(1.0, min(timeout, _deadline[0] - time.monotonic()))
    proc = subprocess.Popen(
        [str(c) for c in cmd], cwd=cwd, env=environ or env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        err += f"\n[killed after {timeout:.0f} s]"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


INSTALL_OPT_IN = "TRAINABILITY_INSTALL_SLURM"


def flag(name: str) -> bool:
    """An environment variable set to anything but empty, 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def why_no_slurm() -> str | None:
    """Why this machine cannot run the test cluster, or None when it can (after
    installing Debian's packages if they are missing and installing was asked for: CI
    or TRAINABILITY_INSTALL_SLURM=1; apt-get changes the machine, a test run must not
    do that unasked)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "starting slurmctld and slurmd needs root"
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")):
        return None
    if not (flag("CI") or flag(INSTALL_OPT_IN)):
        return (f"Slurm is not installed; set {INSTALL_OPT_IN}=1 to let the tests install "
                f"Debian's packages with apt-get, or run: bash {CLUSTER.relative_to(ROOT)} "
                f"install")
    if not shutil.which("apt-get"):
        return "Slurm is not installed and there is no apt-get to install it"
    result = bounded(["bash", CLUSTER, "install"], timeout=1200, deadline=False)
    if result.returncode != 0:
        return f"installing Slurm with apt-get failed:\n{result.stderr[-2000:]}"
    return None


def cluster_logs(scratch: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted((scratch / "log").glob("*.log"))
    )


@pytest.fixture(scope="module")
def slurm_env():
    """A running single-node Slurm cluster: the environment that points Snakemake at it.
    Its daemons are stopped (by their pid files) when the module's tests are done."""
    reason = why_no_slurm()
    if reason:
        if flag("CI"):
            pytest.fail(f"CI must run the Slurm tests, but {reason}")
        pytest.skip(f"no local Slurm cluster: {reason}")
    _deadline[0] = time.monotonic() + DEADLINE
    scratch = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))  # short: a socket path
    try:
        start = time.monotonic()
        up = bounded(["bash", CLUSTER, "up", scratch], timeout=120)
        assert up.returncode == 0, f"no cluster:\n{up.stderr}\n{cluster_logs(scratch)}"
        print(f"Slurm cluster up in {time.monotonic() - start:.1f} s ({scratch})")
        e = env()
        e["SLURM_CONF"] = str(scratch / "slurm.conf")
        e["PATH"] = str(scratch / "bin") + os.pathsep + e["PATH"]  # its srun: cluster.sh
        yield e
    finally:
        down = bounded(["bash", CLUSTER, "down", scratch], timeout=120, deadline=False)
        _deadline[0] = float("inf")
        assert down.returncode == 0, f"stopping the cluster failed:\n{down.stderr}"
        shutil.rmtree(scratch, ignore_errors=True)


def add_site_settings(project: Path) -> None:
    profile = project / PROFILE / "config.yaml"
    settings = yaml.safe_load(profile.read_text())
    settings.update(TEST_SITE_SETTINGS)
    profile.write_text(yaml.safe_dump(settings, sort_keys=False))


def cluster_snakemake(project: Path, slurm_env: dict, *args: str):
    """`snakemake --workflow-profile profiles/slurm`, as the README says."""
    cmd = ["snakemake", "--workflow-profile", PROFILE, *CORES, *args]
    return bounded(cmd, project, RUN_TIMEOUT, slurm_env)


def failure(result) -> str:
    return f"rc={result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"


def copy(project: Path, dest: Path) -> Path:
    shutil.copytree(project, dest, symlinks=True)  # copy2 keeps mtimes: Snakemake's state
    return dest


@pytest.fixture(scope="module")
def cluster_project(slurm_env, tmp_path_factory):
    """The tiny grid after one complete run on the cluster, and that run."""
    project = make_project(tmp_path_factory.mktemp("slurm") / "project", GRID_ONLY)
    add_site_settings(project)
    start = time.monotonic()
    result = cluster_snakemake(project, slurm_env)
    assert result.returncode == 0, failure(result)
    print(f"tiny grid on Slurm in {time.monotonic() - start:.1f} s")
    return project, result


@pytest.fixture(scope="module")
def local_project(cluster_project, tmp_path_factory):
    """The same configuration run here, once the cluster is known to work."""
    project = make_project(tmp_path_factory.mktemp("local") / "project", GRID_ONLY)
    snakemake(project)
    return project


def results(root: Path) -> dict[str, bytes]:
    """Every data file a run leaves in results/ (datasets, run files, tables, plot data,
    metrics; not logs, benchmarks (timings), images, or the report and its HTML page, which
    state the run's wall time), by path; gzip's contents, not its header."""
    files = {}
    for path in sorted((root / "results").rglob("*")):
        rel = str(path.relative_to(root))
        skip = rel.startswith(("results/logs/", "results/benchmarks/")) or \
            path.suffix in (".png", ".md", ".html")
        if path.is_file() and not skip:
            data = path.read_bytes()
            files[rel] = gzip.decompress(data) if path.suffix == ".gz" else data
    return files


def submissions(result) -> list[tuple[str, str]]:
    """``(Slurm job id, log folder)`` of every job a cluster run submitted; the folder is
    ``group_<group>_<its rules>`` (cut to ``...`` when long) or ``rule_<rule>...``."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", result.stderr)
    return [(jobid, Path(log).parent.name) for jobid, log in found]


def submitted_groups(result) -> list[str]:
    """The group of every job a cluster run submitted ("rule:<folder>" if not a group)."""
    return [next((g for g in GROUPS if folder.startswith(f"group_{g}_")), f"rule:{folder}")
            for _, folder in submissions(result)]


def test_cluster_run_equals_the_local_run_bit_for_bit(cluster_project, local_project):
    project, result = cluster_project
    local = local_project
    # every job went to Slurm in the profile's groups: one cluster job each, this small
    submitted = submitted_groups(result)
    assert sorted(submitted) == sorted(GROUPS), failure(result)
    steps = int(re.findall(r"(\d+) of \d+ steps \(100%\) done", result.stderr)[-1])
    assert steps > 2 * len(submitted)
    # the same files, byte for byte
    on_cluster, here = results(project), results(local)
    assert sorted(on_cluster) == sorted(here)
    grid = GRID_ONLY["grid"]
    runs = [name for name in here if name.startswith("results/runs/grid/")]
    assert len(runs) == len(grid["activations"]) * len(grid["widths"])
    assert "results/metrics.json" in here and "results/tables/grid/runs.csv" in here
    for name, data in here.items():
        assert on_cluster[name] == data, f"{name} differs from the local run's"
    figures = sorted(p.name for p in (project / "results/figures").rglob("*.png"))
    assert figures == sorted(p.name for p in (local / "results/figures").rglob("*.png"))
    assert (project / "results/report.md").stat().st_size > 0


def names(folder: str, name: str) -> bool:
    """Whether a Slurm log folder is ``name``, or ``name`` cut short with "..."."""
    return name.startswith(folder[:-3]) if folder.endswith("...") else name == folder


def test_a_group_job_asks_slurm_for_its_largest_round_and_all_rounds_runtime(
    cluster_project, slurm_env
):
    """What Snakemake asks Slurm for a group job (GroupResources.basic_layered): its jobs in
    rounds of at most `cores`, the memory of the largest round (a sum of the cost model's
    mem_mb), the runtime of every round added up, and the largest round's cores."""
    _, result = cluster_project
    cores = int(CORES[1])
    blocks = group_jobs(result.stderr)
    for jobid, folder in submissions(result):
        # the group job whose rules name its log folder (cut to "..." when long)
        ran = next(jobs for group, jobs in blocks if names(folder, f"group_{group}_" + "_".join(
            sorted({j["rule"] for j in jobs}))))
        blocks.remove(next(b for b in blocks if b[1] is ran))
        asked = bounded(["squeue", "-h", "-t", "all", "-j", jobid, "-o", "%m|%l|%C"],
                        timeout=30, environ=slurm_env)
        assert asked.returncode == 0, failure(asked)
        memory, limit, cpus = asked.stdout.strip().split("|")
        mem_mb = int(memory[:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[memory[-1]]
        minutes = sum(int(x) * 60**i for i, x in enumerate(reversed(limit.split(":")))) / 60
        largest, rounds = max(j["mem_mb"] for j in ran), -(-len(ran) // cores)
        assert largest <= mem_mb <= min(cores, len(ran)) * largest, (folder, mem_mb, ran)
        assert rounds * min(j["runtime"] for j in ran) <= minutes, (folder, minutes, ran)
        assert minutes <= sum(j["runtime"] for j in ran), (folder, minutes, ran)
        assert int(cpus) == min(cores, len(ran)), (folder, cpus, ran)
        print(f"{folder[:40]}: {len(ran)} jobs asked for --mem {mem_mb}M -t {minutes:.0f} "
              f"min, {cpus} cpus (members: largest {largest} MB)")
    assert blocks == []


def test_failing_job_is_reported_as_failed(cluster_project, slurm_env, tmp_path):
    project = copy(cluster_project[0], tmp_path / "project")
    # a grid cell to train again from a dataset that is a valid archive without the data
    # (an unknown activation no longer gets that far: the cost model refuses it while
    # Snakemake plans): the job starts on the cluster and its command fails there
    run = next((project / "results/runs/grid/relu").glob("*.npz"))
    run.unlink()
    target = str(run.relative_to(project))
    dataset = next((project / "results/data").glob("*.npz"))
    np.savez(dataset, nothing=np.zeros(1))
    result = cluster_snakemake(project, slurm_env, target)
    assert result.returncode != 0, failure(result)
    jobs = re.findall(r"submitted with SLURM jobid (\d+)", result.stderr)
    assert len(jobs) == 1, failure(result)
    assert "Error in rule grid_train" in result.stderr, failure(result)
    assert "At least one job did not complete successfully" in result.stderr, failure(result)
    assert not (project / target).exists()
    # and Slurm itself has the job as failed (finished jobs stay listed for MinJobAge)
    state = bounded(["squeue", "-h", "-t", "all", "-j", jobs[0], "-o", "%T"],
                    timeout=30, environ=slurm_env)
    assert state.stdout.strip() == "FAILED", failure(state)


def test_dvc_exp_run_with_the_cluster_profile_gives_the_local_metrics(
    cluster_project, local_project, slurm_env, tmp_path
):
    project = copy(cluster_project[0], tmp_path / "project")
    git_init(project)
    # the cluster's results as the committed baseline (dvc.lock), as after a `dvc repro`
    run(["dvc", "commit", "--force", "--quiet"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline from the cluster"], project)
    # as a DVC --temp or queued experiment starts: without Snakemake's stamps (dvc.yaml),
    # so the tables, figures, sections and report are redone from the run files
    shutil.rmtree(project / "results/logs/stamps")
    # DVC runs its stage's command (dvc.yaml) unchanged; Snakemake takes the profile from
    # the environment. --force: the params are unchanged, run the stage all the same.
    e = dict(slurm_env, SNAKEMAKE_PROFILE=str(project / PROFILE))
    cmd = ["dvc", "exp", "run", "--force", "-n", "on-slurm"]
    result = bounded(cmd, project, RUN_TIMEOUT, e)
    assert result.returncode == 0, failure(result)
    both = subprocess.CompletedProcess(cmd, 0, "", result.stdout + result.stderr)
    assert submitted_groups(both) == ["summary"], failure(result)
    metrics = json.loads((project / "results/metrics.json").read_text())
    local = json.loads((local_project / "results/metrics.json").read_text())
    assert metrics == local
    shown = run(["dvc", "exp", "show", "--csv", "--no-pager"], project).stdout
    assert "on-slurm" in shown


def rule_bodies() -> list[str]:
    """The body of every rule the Snakefile and rule files write (a rule made in a loop,
    as products.smk's, once)."""
    sources = [ROOT / "Snakefile", *sorted((ROOT / "src/workflow/rules").glob("*.smk"))]
    text = "\n".join(p.read_text() for p in sources)
    return re.split(r"(?m)^\s*rule(?: \w+)?:\s*$", text)[1:]


@pytest.fixture(scope="module")
def local_dry_run(tmp_path_factory) -> dict[str, dict]:
    """Every job of a local dry run of the tiny project (every study on), by its output."""
    project = make_project(tmp_path_factory.mktemp("dry") / "project")
    return dry_run_jobs(run(["snakemake", "-n", "--cores", "2"], project).stdout)


def test_profile_groups_every_rule_that_runs_a_job_and_the_rules_size_themselves(
        local_dry_run):
    """Every rule that runs a job (of the tiny project, where every study is on) is in one
    of the profile's groups (a new rule would otherwise go to Slurm on its own), and every
    rule that runs a command declares its resources from the cost model (one of
    rulekit.py's helpers), so the profile sets none; every rule the profile names exists
    (Snakemake ignores a name it does not know)."""
    jobs = {job["rule"] for job in local_dry_run.values()}
    profile = yaml.safe_load((ROOT / PROFILE / "config.yaml").read_text())
    assert {"grid_train", "size_lottery", "params_file", "report"} <= jobs
    assert {f"{study}_{stage}" for study in STUDIES for stage in ("tables", "figures",
                                                                   "section")} <= jobs
    assert not jobs - set(profile["groups"]), "add to groups in profiles/slurm"
    assert not set(profile["groups"]) - jobs, "profiles/slurm names rules that do not exist"
    assert set(profile["groups"].values()) == GROUPS
    assert "set-resources" not in profile and "set-threads" not in profile
    helper = re.compile(r"(?m)^\s*resources:\s*\n\s*\*\*(?:(train|product|command|dataset|"
                        r"document|shell|report)_resources\(|_training\.resources,)")
    commands = [body for body in rule_bodies()
                if re.search(r"(?m)^\s*(shell|script|run|notebook|wrapper):", body)]
    assert len(commands) >= 10
    unsized = [body.strip().splitlines()[:3] for body in commands if not helper.search(body)]
    assert not unsized, f"rules without resources from the cost model: {unsized}"


def test_the_shipped_profile_groups_every_job_and_asks_for_what_the_cost_model_gives(
        tmp_path, local_dry_run):
    """A dry run with profiles/slurm as shipped (no cluster needed): every job is in the
    group the profile names, and asks Slurm for the mem_mb and runtime a local run asks
    Snakemake for: the cost model's, not the profile's fallback."""
    project = make_project(tmp_path / "project")
    profile = yaml.safe_load((project / PROFILE / "config.yaml").read_text())
    dry = bounded(["snakemake", "--workflow-profile", PROFILE, "-n"], project, 300,
                  deadline=False)
    assert dry.returncode == 0, failure(dry)
    on_slurm = dry_run_jobs(dry.stdout + dry.stderr)
    local = local_dry_run
    assert on_slurm.keys() == local.keys() and len(local) > 40  # the tiny project: 49
    fallback = profile["default-resources"]
    for output, job in on_slurm.items():
        assert job["group"] == profile["groups"][job["rule"]], (output, job)
        assert (job["mem_mb"], job["runtime"]) == (local[output]["mem_mb"],
                                                   local[output]["runtime"]), (output, job)
        assert job["mem_mb"] != fallback["mem_mb"] and job["runtime"] != fallback["runtime"]


@pytest.fixture
def root_without_slurm(monkeypatch):
    """This machine as root with apt-get and no Slurm; every bounded command recorded."""
    commands = []
    monkeypatch.setattr(os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setattr(shutil, "which", lambda b: "/usr/bin/apt-get" if b == "apt-get" else None)
    monkeypatch.setattr(sys.modules[__name__], "bounded", lambda cmd, **kw: commands.append(
        [str(c) for c in cmd]) or subprocess.CompletedProcess(cmd, 0, "", ""))
    for name in ("CI", INSTALL_OPT_IN):
        monkeypatch.delenv(name, raising=False)
    return commands


def test_plain_pytest_as_root_installs_nothing_and_says_how_to_opt_in(root_without_slurm):
    reason = why_no_slurm()
    assert root_without_slurm == []
    assert f"{INSTALL_OPT_IN}=1" in reason and "tests/slurm/cluster.sh install" in reason


@pytest.mark.parametrize("variable", ["CI", INSTALL_OPT_IN])
def test_ci_or_the_opt_in_installs_slurm_with_apt_get(root_without_slurm, monkeypatch,
                                                     variable):
    monkeypatch.setenv(variable, "1")
    assert why_no_slurm() is None
    assert root_without_slurm == [["bash", str(CLUSTER), "install"]]


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_an_opt_in_set_to_no_is_no(root_without_slurm, monkeypatch, value):
    monkeypatch.setenv(INSTALL_OPT_IN, value)
    assert INSTALL_OPT_IN in why_no_slurm()
    assert root_without_slurm == []
