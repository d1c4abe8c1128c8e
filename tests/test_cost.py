"""Costly or impossible parameters are caught before anything runs, with the cost named:
the cost model (trainability/cost.py), the checks (trainability/budget.py), the rules'
resources (rulekit.py) and the command line's out-of-memory message. Nothing here times
anything; the CPU model's accuracy is measured by benchmarks/calibrate_cost.py."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline_helpers import GRID_ONLY, TINY, make_project, snakemake
from trainability import budget, cli, cost, jobusage
from trainability.budget import Budget, BudgetError, Job, human_bytes, human_cpu
from trainability.cli import job_calls, train_kwargs
from trainability.studies.grid.spec import Spec
from trainability.studies.scaling.spec import Spec as ScalingSpec
from trainability.studies.size import training
from trainability.studies.size.spec import Spec as SizeSpec

TRAIN = dict(n_train=800, n_test=200, width=64, depth=4, seeds=range(5),
             inits=["zeros"] * 10, epochs=100, batch_size=32, diagnostics=[0, 50, 100],
             optimizer={"name": "rmsprop", "lr": 0.001})


def grid_params(**grid) -> dict:
    params = copy.deepcopy(GRID_ONLY)
    params["grid"].update(grid)
    return params


def output(result) -> str:
    return result.stdout + result.stderr


# ---------------------------------------------------------------- the cost model


def test_memory_of_a_training_job_is_its_largest_pass_and_grows_with_width():
    small, wide = cost.train_cost(**TRAIN), cost.train_cost(**TRAIN | {"width": 640})
    # the evaluation pass of one trainer call (9 models at width 64, float64, batch 32):
    # 2 x depth arrays of (K, N_train + N_test, width) + 3 of (K, N_train, width), beside
    # every model's 12,737 parameters in 64 bytes of arrays
    assert cost._shape(**TRAIN)["k_call"] == 9
    expected = 10_400 * 9 * 64 * 8 + 64 * 50 * 12_737
    assert small.memory == pytest.approx(cost.BASELINE + expected, rel=0.05)
    assert 9 < (wide.memory - cost.BASELINE) / (small.memory - cost.BASELINE) < 100
    assert (small.models, small.model_epochs) == (50, 5000)


def test_float32_takes_twice_the_models_per_call_and_learning_rates_multiply_the_models():
    f64, f32 = (cost._shape(**TRAIN | {"float32": x}) for x in (False, True))
    assert f32["k_call"] == 2 * f64["k_call"] + 1  # 160,000 bytes // (32 x 64 x 4 or 8)
    assert (cost.train_cost(**TRAIN | {"float32": True}).memory
            < cost.train_cost(**TRAIN).memory)
    lrs = cost.train_cost(**TRAIN | {"optimizer": {"name": "adam", "lr": [0.1, 0.01]}})
    assert lrs.models == 100


def test_the_culprit_is_the_dimension_furthest_above_its_usual_size():
    assert cost.train_cost(**TRAIN | {"width": 100_000}).culprit == ("width", 100_000)
    assert cost.train_cost(**TRAIN | {"seeds": range(10**6)}).culprit == ("seeds", 10**6)
    assert cost.train_cost(**TRAIN | {"epochs": 10**9}).culprit == ("epochs", 10**9)
    assert cost.train_cost(**TRAIN | {"width": 16, "seeds": range(2)}).culprit is None


def test_the_cost_reads_the_same_arguments_the_rule_passes():
    spec = Spec.from_params(grid_params(), dataset="d.npz", train_code="x")
    args = spec.train_args(SimpleNamespace(activation="tanh", width="3"))
    kwargs = train_kwargs(args)
    assert kwargs["width"] == 3 and kwargs["seeds"] == [0, 1]
    assert cost.train_cost(**kwargs, n_train=90, n_test=30).models == 2 * 2
    with pytest.raises(ValueError, match="--width"):
        train_kwargs(["--width", "wide"])


def test_memory_estimate_is_within_a_factor_of_two_of_a_real_job(tmp_path):
    """Peak RSS of a real job against the estimate (memory only: no timing here)."""
    data = tmp_path / "d.npz"
    assert cli.main(["dataset", "--out", str(data)]) == 0
    args = ["--width", "64", "--seeds", *map(str, range(20)), "--epochs", "2",
            "--diagnostic-epochs", "0", "2"]
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    job = [sys.executable, "-m", "trainability.cli", "train", "--data", str(data), *args,
           "--out", str(tmp_path / "run.npz")]
    measured = int(subprocess.run([sys.executable, "-c", probe, *job], check=True,
                                  capture_output=True, text=True).stdout) * 1024
    estimated = cost.train_cost(**train_kwargs(args), n_train=800, n_test=200).memory
    assert 0.5 < estimated / measured < 2, (estimated, measured)


# ---------------------------------------------------------------- jobs of several calls


def test_a_job_of_several_calls_starts_once_adds_cpu_and_peaks_at_its_largest_call():
    narrow, wide = TRAIN | {"width": 16}, TRAIN | {"width": 256}
    a, b, both = cost.train_cost(**narrow), cost.train_cost(**wide), cost.calls_cost([narrow, wide])
    assert both.memory == b.memory
    assert both.cpu == pytest.approx(a.cpu + b.cpu - cost.CPU["start"])
    assert (both.models, both.model_epochs) == (a.models + b.models, 2 * 5000)
    nothing = cost.calls_cost([])  # a command that trains nothing: the process alone
    assert (nothing.memory, nothing.cpu, nothing.models) == (cost.BASELINE, cost.CPU["start"], 0)


def test_float32_halves_the_arithmetic_not_the_overhead_and_forward_passes_train_nothing():
    f64, f32 = (cost.cpu_terms(**TRAIN | {"float32": x}) for x in (False, True))
    assert f32["weight_points"] == cost.FLOAT32_WORK * f64["weight_points"]
    assert f32["start"] == f64["start"]
    # the per-step overhead is paid once per trainer call: 50 models in 3 calls, not 6
    assert f32["step_layers"] == f64["step_layers"] / 2
    forward = cost.train_cost(**TRAIN | {"epochs": 0})
    assert (forward.models, forward.model_epochs) == (0, 0) and forward.cpu > 0


def size_spec(**width) -> SizeSpec:
    params = copy.deepcopy(TINY)
    params["size"]["width"].update(width)
    return SizeSpec.from_params(params, data_code="d", train_code="t")


def test_a_chunk_of_a_batch_names_the_batch_seeds_so_the_culprit_is_the_params_key():
    spec = size_spec(seeds_narrow=10**6)
    calls = job_calls(["size-train", *spec.train_args(None)])
    # one trainer call of every seed, which steps them in chunks that fit the cache
    assert max(cost._shape(**c | {"n_train": 90, "n_test": 30})["k_call"]
               for c in calls if c["epochs"]) < 10**4
    job = cost.calls_cost([c | {"n_train": 90, "n_test": 30} for c in calls])
    assert job.culprit == ("seeds", 10**6)
    config = copy.deepcopy(TINY)
    config["size"]["width"]["seeds_narrow"] = 10**6
    assert budget.config_key(config, "seeds", 10**6, prefer="size") == "size.width.seeds_narrow"


@pytest.fixture
def trainer_calls(monkeypatch):
    """Every call the size study's jobs make to the trainer: (width, models, epochs,
    float32), in order."""
    made = []
    real = training.train

    def recording(arch, cfg, data, seeds, **kw):
        made.append((arch.width, len(seeds), kw["epochs"], kw["dtype"] == np.float32))
        return real(arch, cfg, data, seeds, **kw)

    monkeypatch.setattr(training, "train", recording)
    return made


def planned(calls: list[dict]) -> list[tuple]:
    """The training calls of a job's cost (not its forward passes), as ``trainer_calls``."""
    return [(c["width"], len(c["seeds"]), c["epochs"], c["float32"]) for c in calls
            if c["epochs"]]


def test_the_cost_of_a_size_job_counts_the_trainer_calls_the_job_makes(tmp_path, trainer_calls):
    spec = size_spec()
    data = tmp_path / "circles.npz"
    dataset = spec.dataset_args(SimpleNamespace(dataset="circles"))
    assert cli.main(["dataset", *map(str, dataset), "--out", str(data)]) == 0
    for command, args in (("size-train", spec.train_args(None)),
                          ("size-lottery", spec.lottery_args(None)),
                          ("size-structured", spec.structured_args(None))):
        trainer_calls.clear()
        out = tmp_path / f"{command}.npz"
        assert cli.main([command, "--data", str(data), *map(str, args), "--out", str(out)]) == 0
        plan = planned(job_calls([command, *args]))
        if command != "size-structured":
            assert plan == trainer_calls, command
            continue
        # retraining at each seed's own live width: how many widths is known only after
        # training; the models and model-epochs are not
        assert plan[0] == trainer_calls[0]
        for calls in (plan, trainer_calls):
            calls[:] = [sum(c[1] for c in calls), sum(c[1] * c[2] for c in calls)]
        assert plan == trainer_calls


def test_layer_outputs_at_initialization_cost_forward_passes_of_every_setting():
    params = copy.deepcopy(TINY)
    spec = ScalingSpec.from_params(params, dataset="d.npz", train_code="a", runs_code="b",
                                   inputs_code="c")
    calls = job_calls(["scaling-init", *spec.init_args()])
    s = params["scaling"]
    widths = {s["init_width"], params["model"]["width"]}  # the histograms', the claims'
    assert len(calls) == len(widths) * len(s["activations"]) * (len(s["init_stds"])
                                                                + len(s["inits"]))
    assert {(c["depth"], c["width"], c["epochs"]) for c in calls} == {(3, w, 0) for w in widths}
    assert cost.calls_cost([c | {"n_train": 90} for c in calls]).models == 0
    assert job_calls(["scaling-inputs", "--data", "d.npz", "--scale", "10"]) == []


# ---------------------------------------------------------------- the checks


def job(rule="grid_train", todo=True, **train) -> Job:
    return Job(rule, cost.train_cost(**TRAIN | train), todo, study="grid")


def budget_of(*jobs, config=None) -> Budget:
    b = Budget(config or grid_params(widths=[3, 100_000]))
    b.add("grid_train", lambda: jobs)
    return b


def test_a_job_above_the_limit_is_refused_naming_key_value_estimate_and_limit():
    b = budget_of(job(width=3), job(width=100_000))
    said = []
    with pytest.raises(BudgetError) as refused:
        b.check((24e9, "this machine's memory"), said.append)
    message = str(refused.value)
    assert re.fullmatch(r"grid\.widths: 100000 needs about [\d.]+ TB per grid_train job "
                        r"\(limit: 24 GB, this machine's memory\); lower it, or run anyway "
                        r"with --config limits=off", message), message
    assert said and said[0].startswith("to train: 100 models, 10,000 model-epochs, about")
    b.check((24e9, "this machine's memory"), said.append, enforce=False)  # limits=off


def test_work_above_the_cpu_budget_is_refused_in_cpu_days():
    config = copy.deepcopy(GRID_ONLY)
    config["train"]["seeds"] = 10**6
    b = budget_of(job(width=5, seeds=range(10**6), diagnostics=False, epochs=1000),
                  config=config)
    with pytest.raises(BudgetError, match=r"train\.seeds: 1000000 makes the out-of-date jobs "
                       r"need about [\d,.]+ CPU-days \(budget: 48 CPU-hours"):
        b.check((1e18, "a large machine"), print)


def test_the_summary_counts_only_what_is_out_of_date():
    said = []
    budget_of(job(todo=False), job(width=5, todo=True)).check((1e12, ""), said.append)
    assert re.fullmatch(r"to train: 50 models, 5,000 model-epochs, about [\d.]+ "
                        r"CPU-seconds \(the rest is up to date\)", said[0]), said
    said.clear()
    budget_of(job(todo=False), job(todo=False)).check((1e12, ""), said.append)
    assert said == ["nothing to train: 2 training jobs are up to date"]


def test_human_units_go_up_to_cpu_days():
    assert human_bytes(1.1e12) == "1.1 TB" and human_bytes(1.2 * 2**40, binary=True) == "1.2 TiB"
    assert human_bytes(23.4e9) == "23 GB" and human_bytes(350e6) == "350 MB"
    assert human_cpu(120) == "about 2 CPU-minutes" and human_cpu(5) == "about 5 CPU-seconds"
    assert human_cpu(40 * 86400) == "about 40 CPU-days"
    assert human_cpu(1_400 * 86400) == "about 1,400 CPU-days"


def test_benchmarks_rescale_cpu_both_ways_and_memory_only_up(tmp_path):
    estimate = cost.train_cost(**TRAIN)
    bench = tmp_path / "b.tsv"
    bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load"
                     f"\tcpu_time\n1\t0:00:01\t{estimate.memory / 2**20 / 2}\t0\t0\t0\t0\t0\t0"
                     f"\t{estimate.cpu * 3}\n")
    b = Budget({})
    b.add("grid_train", lambda: [Job("grid_train", estimate, False, str(bench))])
    mem, cpu = b.calibrate()["grid_train"]
    assert mem == pytest.approx(0.5) and cpu == pytest.approx(3)
    adjusted = b.adjusted("grid_train", estimate)
    assert adjusted.memory == estimate.memory and adjusted.cpu == pytest.approx(3 * estimate.cpu)
    assert jobusage.read_benchmark(tmp_path / "missing.tsv") is None


# ---------------------------------------------------------------- the command line


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.npz"
    assert cli.main(["dataset", "--n-samples", "100", "--out", str(path)]) == 0
    return path


def test_an_impossible_width_is_one_line_naming_the_setting(data_file, tmp_path, capsys):
    out = tmp_path / "runs" / "huge.npz"
    code = cli.main(["train", "--data", str(data_file), "--width", "1000000", "--seeds", "0",
                     "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert re.fullmatch(r"trainability train: error: out of memory: this job needs about "
                        r"[\d.]+ [TP]iB \(an array of [\d.]+ [TP]iB did not fit\); "
                        r"lower --width\n", err), err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_out_of_memory_while_writing_leaves_nothing(data_file, tmp_path, capsys, monkeypatch):
    def savez(f, **arrays):
        f.write(b"PK partial")
        raise MemoryError("Unable to allocate 1.09 TiB for an array with shape (5, 30000700001)")

    monkeypatch.setattr(np, "savez", savez)
    out = tmp_path / "runs" / "run.npz"
    code = cli.main(["train", "--data", str(data_file), "--width", "3", "--depth", "1",
                     "--epochs", "1", "--seeds", *map(str, range(200)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "out of memory" in err and "an array of 1.09 TiB did not fit" in err
    assert "lower --seeds" in err
    assert list(out.parent.iterdir()) == []  # no run file, no temporary file


# ---------------------------------------------------------------- the workflow


def _mem_mb(dry_run: str) -> dict[str, set[int]]:
    """Rule -> the mem_mb its jobs ask for, from a dry run's job list."""
    asked: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        mem = re.search(r"mem_mb=(\d+)", block)
        if rule and mem:
            asked.setdefault(rule.group(1), set()).add(int(mem.group(1)))
    return asked


@pytest.mark.pipeline
def test_a_width_that_cannot_fit_is_refused_before_anything_runs(tmp_path):
    project = make_project(tmp_path / "p", grid_params(widths=[100_000]))
    refused = snakemake(project, "-n", check=False)
    text = output(refused)
    assert refused.returncode != 0
    assert re.search(r"grid\.widths: 100000 needs about [\d.]+ TB per grid_train job "
                     r"\(limit: [\d.]+ GB, this machine's memory\); lower it, or run anyway "
                     r"with --config limits=off", text), text
    assert "Traceback" not in text and "to train: 16 models" in text  # and width 3
    assert sorted(p.name for p in (project / "results").iterdir()) == [".gitignore"]
    allowed = snakemake(project, "-n", "--config", "limits=off")
    assert "to train: 16 models, 64 model-epochs, about" in allowed.stdout


@pytest.mark.pipeline
def test_rules_ask_for_the_memory_the_model_gives_and_snakemake_honours_it(tmp_path):
    params = grid_params()
    project = make_project(tmp_path / "p", params)
    dry = snakemake(project, "-n").stdout
    assert re.search(r"^to train: 8 models, 32 model-epochs, about [\d.]+ CPU-seconds$", dry,
                     re.M), dry
    asked = _mem_mb(dry)
    spec = Spec.from_params(params, dataset="d.npz", train_code="x")
    train = {cost.train_cost(**train_kwargs(spec.train_args(SimpleNamespace(
        activation=a, width="3"))), n_train=90, n_test=30).mem_mb for a in ("relu", "tanh")}
    assert asked["grid_train"] == train
    assert asked["dataset"] == {cost.dataset_cost(120).mem_mb}
    assert set(asked) >= {"grid_tables", "grid_figures", "grid_section", "report"}

    # below the largest request: refused, naming the limit
    largest = max(m for ms in asked.values() for m in ms)
    refused = snakemake(project, "-n", "--resources", f"mem_mb={largest - 1}", check=False)
    assert refused.returncode != 0
    assert re.search(r"needs about [\d.]+ MB \(limit: [\d.]+ MB, --resources mem_mb\)",
                     output(refused)), output(refused)

    # room for one training job at a time (limits=off: the figures would not fit): they
    # run one after the other, then there is nothing left to train
    runs = sorted(set(re.findall(r"results/runs/grid/\w+/w3-[0-9a-f]{10}\.npz", dry)))
    assert len(runs) == 2
    ran = snakemake(project, "--resources", f"mem_mb={max(train)}", "--config", "limits=off",
                    "--", *runs)
    events = re.findall(r"^(?:local)?rule (grid_train):|^Finished jobid: \d+ \(Rule: "
                        r"(grid_train)\)", output(ran), re.M)
    assert [("start" if s else "end") for s, _ in events] == ["start", "end", "start", "end"]
    again = snakemake(project, "-n").stdout
    assert re.search(r"^nothing to train: 2 training jobs are up to date; tables, figures "
                     r"and report: about [\d.]+ CPU-seconds$", again, re.M), again



@pytest.mark.parametrize("width,batch_size,float32", [(5, 32, False), (64, 32, False),
                                                      (64, 32, True), (512, 8, True)])
def test_the_cost_model_splits_models_into_calls_as_the_trainer_does(width, batch_size,
                                                                     float32):
    from trainability.model import Architecture
    from trainability.train import models_per_call

    shape = cost._shape(n_train=800, n_test=200, width=width, depth=4, seeds=range(500),
                        epochs=1, batch_size=batch_size, float32=float32)
    dtype = np.float32 if float32 else np.float64
    assert shape["k_call"] == models_per_call(Architecture(4, width, "relu"), batch_size, dtype)
    assert shape["calls"] == -(-500 // shape["k_call"])


def test_calibration_takes_a_jobs_own_count_from_its_log_over_the_sampled_file(tmp_path):
    bench = tmp_path / "results/benchmarks/grid_train/relu-w5-abc.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load"
                     "\tcpu_time\n40\t0:00:40\t100\t0\t0\t0\t0\t0\t0\t15\n")
    assert jobusage.read_benchmark(bench) == (100 * 2**20, 15 * 40 / 15)  # extrapolated
    log = tmp_path / "results/logs/grid_train/relu-w5-abc.log"
    log.parent.mkdir(parents=True)
    log.write_text("relu: 50 models\nusage: cpu_s=38.5 max_rss_mb=120.0\n")
    assert jobusage.log_of(bench) == log
    assert jobusage.read_benchmark(bench) == (120 * 2**20, 38.5)
