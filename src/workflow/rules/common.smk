# Helpers shared by the rules: validation, code dependencies, specs, stamps, repairs, costs.
import functools
import json
import os
import sys
import types
from pathlib import Path

from snakemake.io import apply_wildcards

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # trainability, if not installed

from trainability import cost, jobusage
from trainability import study as studies
from trainability import workflow as wf
from trainability.budget import Budget, BudgetError, Job, machine_memory
from trainability.cli import job_calls
from trainability.jobusage import USAGE_VARIABLE
from trainability.config import ConfigError, code_hash, tag, validate

try:
    validate(config, Path(workflow.basedir) / "src/workflow/schemas/params.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None

# every job ends its log with its own count of CPU seconds and peak memory (trainability usage)
os.environ[USAGE_VARIABLE] = "1"


wildcard_constraints:
    activation="[a-z_]+",
    init="[a-z_]+",
    width="[0-9]+",
    tag="[0-9a-f]{10}",


def code(*modules):
    """The files a job runs, computed from the imports of ``modules`` (relative paths)."""
    return wf.code(*modules, start=workflow.basedir)


def stage_code(study, stage):
    return wf.stage_code(study, stage, start=workflow.basedir)


# The code of the shared jobs: their inputs, and part of their outputs' tags.
DATA_CODE = code("trainability.data")
TRAIN_CODE = code("trainability.jobs")
DATA_TAG = tag(config["data"], code_hash(DATA_CODE))
DATASET = f"results/data/{config['data']['name']}-{DATA_TAG}.npz"


def enabled(study):
    """Whether params.yaml switches ``study`` on (the grid always is)."""
    return study == "grid" or config[study]["enabled"]


def spec_of(study, **extra):
    """The study's spec from params.yaml (see trainability/studies/<study>/spec.py); a
    value the schema lets through but the spec refuses is the same one-line error."""
    try:
        return studies.module(study, "spec").Spec.from_params(config, **extra)
    except (ValueError, ConfigError) as e:
        raise WorkflowError(f"params.yaml is invalid:\n  - {e}") from None


PRODUCTS = {}  # study -> what its product rules need (products.smk makes them)


def products(spec, reads=None, history=None, also=()):
    """Register a study for products.smk: its tables, figures, section and alias rules.
    `reads`: per stage, inputs beside the spec's run files, tables and code (e.g.
    {"section": {"data": DATASET}}); `history`: per stage, False where it reads final values
    only, not the per-epoch history (what product_resources estimates it by); `also`: files
    beside those products that the alias rule (and so the default target) asks for."""
    PRODUCTS[spec.study] = types.SimpleNamespace(
        spec=spec, reads=reads or {}, also=list(also),
        history={stage: (history or {}).get(stage, True) for stage in studies.STAGES})


# ---- what each job costs (trainability/cost.py): its rule's `resources:` (what Snakemake
# schedules by, and what a cluster job asks for), and the checks before anything runs
# (trainability/budget.py). One line per rule that runs a job, e.g.
#     resources: **train_resources(GRID)
BUDGET = Budget(config)


TRAINING = {}  # study -> its rules that train: what its tables, figures and section read


def train_resources(spec, data=None):
    """`resources:` (mem_mb, runtime in minutes) of a study's training rule, named
    `<study>_train`, which runs `trainability train` with `spec.train_args`; `data`: its
    dataset's params (n_samples, test_fraction; default: params.yaml's `data`)."""
    return command_resources(f"{spec.study}_train", spec, spec.run_files(), "train",
                             spec.train_args, data)


def command_resources(name, spec, files, command, args, data=None):
    """`resources:` of rule `name`, whose jobs make `files` (those of them it produces) by
    running `trainability <command>` with `args` (a list, or a function of the wildcards:
    the rule's params but its paths). The cost model reads the trainer calls that command
    line makes (cli.job_calls; cost.calls_cost adds them up). Also registers the rule's
    jobs for check_budget."""
    data = data or config["data"]
    sizes = dict(zip(("n_train", "n_test"),
                     cost.split_sizes(data["n_samples"], data["test_fraction"])))

    @functools.cache
    def estimate(key):
        wildcards = types.SimpleNamespace(**dict(key))
        argv = args(wildcards) if callable(args) else args
        return cost.calls_cost([sizes | call for call in job_calls([command, *argv])])

    def of_job(wildcards):
        return estimate(tuple(sorted(dict(wildcards).items())))

    def jobs():
        r = workflow.get_rule(name)
        for path in filter(r.is_producer, files):  # not another rule's runs
            wildcards = r.get_wildcards(path)
            yield Job(name, of_job(wildcards), not os.path.exists(path),
                      _benchmark_of(r, wildcards), spec.study)

    BUDGET.add(name, jobs)
    TRAINING.setdefault(spec.study, []).append(name)
    return _resources(name, of_job)


def product_resources(spec, stage, history=True):
    """`resources:` of a study's `<study>_<stage>` rule, `stage` one of tables, figures,
    section; they grow with the rows they read: the history, models x (epochs + 1) of the
    study's training jobs, or one row per model (`history=False`: a stage that draws or
    tabulates final values only; measured at the default params, the history's rows
    overstate such a stage 4-15x)."""
    name = f"{spec.study}_{stage}"

    def trained():
        return [j for r in TRAINING.get(spec.study, []) for j in BUDGET.jobs(r)]

    @_once
    def estimate():
        jobs = [j for j in trained() if j.cost.models]
        rows = sum(j.cost.models + j.cost.model_epochs * history for j in jobs)
        dims = {d: max(j.cost.dims[d] for j in jobs) for d in ("seeds", "epochs") if jobs}
        return cost.product_cost(stage, rows, dims)

    def jobs():
        todo = any(j.todo for j in trained()) or not os.path.exists(wf.stamp(name))
        yield Job(name, estimate(), todo, _benchmark_of(workflow.get_rule(name), {}),
                  spec.study)

    BUDGET.add(name, jobs)
    return _resources(name, estimate)


def dataset_resources(name, outputs, n_samples, study="data"):
    """`resources:` of a rule that makes datasets, one job per file of `outputs`, each of
    `n_samples` points with `trainability dataset`."""
    return _fixed_resources(name, outputs, functools.partial(cost.dataset_cost, n_samples),
                            study)


def document_resources(name, outputs, study):
    """`resources:` of a rule that renders a document from a study's tables (one job per
    file of `outputs`): a section's cost."""
    return _fixed_resources(name, outputs, functools.partial(cost.product_cost, "section", 0),
                            study)


def shell_resources(name, outputs):
    """`resources:` of a rule whose job is a shell command without Python."""
    return _fixed_resources(name, outputs, cost.shell_cost, "")


REPORTS = []  # the rules report_resources sizes, each reading the ones before it


def report_resources(name="report"):
    """`resources:` of rule `name`, a job that assembles the report (the markdown, then
    its HTML page): out of date when anything else is, but the report jobs after it."""
    REPORTS.append(name)
    estimate = _once(functools.partial(cost.product_cost, name, 0))

    def jobs():
        after = REPORTS[REPORTS.index(name):]
        others = [j for r in BUDGET.rules() if r not in after for j in BUDGET.jobs(r)]
        todo = any(j.todo for j in others) or not os.path.exists(wf.stamp(name))
        yield Job(name, estimate(), todo, _benchmark_of(workflow.get_rule(name), {}))

    BUDGET.add(name, jobs)
    return _resources(name, estimate)


def _fixed_resources(name, outputs, make_cost, study):
    """Resources of rule `name`, every job of which costs `make_cost()`, one job per file
    of `outputs` (out of date when it is missing)."""
    estimate = _once(make_cost)

    def jobs():
        r = workflow.get_rule(name)
        for path in outputs:
            yield Job(name, estimate(), not os.path.exists(path),
                      _benchmark_of(r, r.get_wildcards(path)), study)

    BUDGET.add(name, jobs)
    return _resources(name, estimate)


def _once(make):
    """The cost of a rule's only job, made once: a function of (ignored) wildcards."""
    made = functools.cache(make)

    def of_job(wildcards=None):
        return made()

    return of_job


def _resources(name, estimate):
    def mem_mb(wildcards):
        return BUDGET.adjusted(name, estimate(wildcards)).mem_mb

    def runtime(wildcards):
        return BUDGET.adjusted(name, estimate(wildcards)).runtime

    return {"mem_mb": mem_mb, "runtime": runtime}


def _benchmark_of(job_rule, wildcards):
    """The benchmark file of a job of ``job_rule`` (a Rule), "" if it declares none."""
    return apply_wildcards(str(job_rule.benchmark), wildcards) if job_rule.benchmark else ""


def memory_limit():
    """(bytes, where from) a job may use: this machine's memory, or --resources mem_mb."""
    limit = (machine_memory(), "this machine's memory")
    given = workflow.resource_settings.resources.get("mem_mb")
    if given is not None and given.value is not None and given.value * 1e6 < limit[0]:
        limit = (given.value * 1e6, "--resources mem_mb")
    return limit


def check_budget():
    """Say what the out-of-date jobs cost; refuse a job that cannot fit, or more work than
    budget.CPU_BUDGET, unless --config limits=off. Once every rule is defined, and in the
    main process only (a cluster job parses the workflow again)."""
    enforce = config.get("limits", "on") not in ("off", False)
    try:
        BUDGET.check(memory_limit(), logger.info, enforce=enforce)
    except BudgetError as e:
        raise WorkflowError(str(e)) from None
