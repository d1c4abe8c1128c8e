"""What the rule files call while Snakemake parses them: the studies' specs, code
dependencies, the studies' training and product rules (products.smk makes them), and
every rule's ``resources:`` from the cost model.

``common.smk`` makes one ``RuleKit(workflow, config)`` and binds its methods to the names
the rule files use (``spec_of``, ``train_resources``, ...). Nothing here runs in a job: no
job imports this module, so moving a helper here changes no job's code (nor its outputs'
names).

Resources: a rule's ``resources:`` (``mem_mb``, ``runtime``: what Snakemake schedules by,
and what a cluster job asks for) come from the cost model (``cost.py``), and the same call
registers the rule's jobs with the budget (``budget.py``), which ``check_budget`` checks
once every rule is defined. One line per rule that runs a job, e.g.
``resources: **command_resources("scaling_init", ...)``; a study's ``trainability train``
rule gets its resources, and its budget entry, from its ``trains(...)`` registration.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable, Mapping

from snakemake.exceptions import WorkflowError
from snakemake.io import apply_wildcards

from trainability import cost
from trainability import study as studies
from trainability import workflow as wf
from trainability.budget import Budget, BudgetError, Job, machine_memory
from trainability.cli import job_calls
from trainability.config import ConfigError


class RuleKit:
    """The helpers of one workflow: ``workflow`` is Snakemake's object (its rules, its
    folder, ``--resources``), ``config`` the validated params."""

    def __init__(self, workflow, config: Mapping):
        self.workflow, self.config = workflow, config
        self.products_of = {}  # study -> what its product rules need (products.smk makes them)
        self.trainings = []  # the studies' `trainability train` rules (products.smk makes them)
        self.budget = Budget(config)
        self.training = {}  # study -> its training rules: what its tables, figures, section read
        self.reports = []  # the rules report_resources sizes, each reading the ones before it

    # ---- lookups: code, studies, specs

    def code(self, *modules: str) -> list[str]:
        """The files a job runs, computed from the imports of ``modules`` (relative paths)."""
        return wf.code(*modules, start=self.workflow.basedir)

    def stage_code(self, study: str, stage: str) -> list[str]:
        return wf.stage_code(study, stage, start=self.workflow.basedir)

    def enabled(self, study: str) -> bool:
        """Whether params.yaml switches ``study`` on (the grid always is)."""
        return study == "grid" or self.config[study]["enabled"]

    def spec_of(self, study: str, **extra):
        """The study's spec from params.yaml (see trainability/studies/<study>/spec.py); a
        value the schema lets through but the spec refuses is the same one-line error."""
        try:
            return studies.module(study, "spec").Spec.from_params(self.config, **extra)
        except (ValueError, ConfigError) as e:
            raise WorkflowError(f"params.yaml is invalid:\n  - {e}") from None

    def products(self, spec, reads=None, history=None, also=()) -> None:
        """Register a study for products.smk: its tables, figures, section and alias rules.
        `reads`: per stage, inputs beside the spec's run files, tables and code (e.g.
        {"section": {"data": DATASET}}); `history`: per stage, False where it reads final
        values only, not the per-epoch history (what product_resources estimates it by);
        `also`: files beside those products that the alias rule (and so the default target)
        asks for."""
        self.products_of[spec.study] = types.SimpleNamespace(
            spec=spec, reads=reads or {}, also=list(also),
            history={stage: (history or {}).get(stage, True) for stage in studies.STAGES})

    def trains(self, spec, output: str, data, **constraints: str) -> None:
        """Register a study's training rule for products.smk: `<study>_train`, whose jobs
        run `trainability train --data <data> <spec.train_args> --out <run file>`.
        `output`: the run files' pattern; `data`: the dataset (a path, or a function of
        the wildcards); `constraints`: its wildcards' (beside common.smk's). Its logs and
        benchmarks are named by the run file's path from the first wildcard on
        ("{activation}/w{width}-{tag}.npz": "{activation}-w{width}-{tag}")."""
        job = output[output.index("{"):].removesuffix(".npz").replace("/", "-")
        self.trainings.append(types.SimpleNamespace(
            name=f"{spec.study}_train", spec=spec, output=output, data=data,
            constraints=constraints, job=job, resources=self.train_resources(spec)))

    # ---- what each job costs (trainability/cost.py): its rule's `resources:`, and the
    # checks before anything runs (trainability/budget.py)

    def train_resources(self, spec, data=None) -> dict:
        """`resources:` (mem_mb, runtime in minutes) of a study's training rule, named
        `<study>_train`, which runs `trainability train` with `spec.train_args`; `data`: its
        dataset's params (n_samples, test_fraction; default: params.yaml's `data`)."""
        return self.command_resources(f"{spec.study}_train", spec, spec.run_files(), "train",
                                      spec.train_args, data)

    def command_resources(self, name, spec, files, command, args, data=None) -> dict:
        """`resources:` of rule `name`, whose jobs make `files` (those of them it produces)
        by running `trainability <command>` with `args` (a list, or a function of the
        wildcards: the rule's params but its paths). The cost model reads the trainer calls
        that command line makes (cli.job_calls; cost.calls_cost adds them up). Also
        registers the rule's jobs for check_budget."""
        data = data or self.config["data"]
        sizes = dict(zip(("n_train", "n_test"),
                         cost.split_sizes(data["n_samples"], data["test_fraction"]), strict=True))

        @functools.cache
        def estimate(key):
            wildcards = types.SimpleNamespace(**dict(key))
            argv = args(wildcards) if callable(args) else args
            return cost.calls_cost([sizes | call for call in job_calls([command, *argv])])

        def of_job(wildcards):
            return estimate(tuple(sorted(dict(wildcards).items())))

        def jobs():
            r = self.workflow.get_rule(name)
            for path in filter(r.is_producer, files):  # not another rule's runs
                wildcards = r.get_wildcards(path)
                yield Job(name, of_job(wildcards), not os.path.exists(path),
                          _benchmark_of(r, wildcards), spec.study)

        self.budget.add(name, jobs)
        self.training.setdefault(spec.study, []).append(name)
        return self._resources(name, of_job)

    def product_resources(self, spec, stage, history=True) -> dict:
        """`resources:` of a study's `<study>_<stage>` rule, `stage` one of tables, figures,
        section; they grow with the rows they read: the history, models x (epochs + 1) of
        the study's training jobs, or one row per model (`history=False`: a stage that draws
        or tabulates final values only; measured at the default params, the history's rows
        overstate such a stage 4-15x)."""
        name = f"{spec.study}_{stage}"

        def trained():
            return [j for r in self.training.get(spec.study, []) for j in self.budget.jobs(r)]

        @_once
        def estimate():
            jobs = [j for j in trained() if j.cost.models]
            rows = sum(j.cost.models + j.cost.model_epochs * history for j in jobs)
            dims = {d: max(j.cost.dims[d] for j in jobs) for d in ("seeds", "epochs") if jobs}
            return cost.product_cost(stage, rows, dims)

        def jobs():
            todo = any(j.todo for j in trained()) or not os.path.exists(wf.stamp(name))
            yield Job(name, estimate(), todo,
                      _benchmark_of(self.workflow.get_rule(name), {}), spec.study)

        self.budget.add(name, jobs)
        return self._resources(name, estimate)

    def dataset_resources(self, name, outputs, n_samples, study="data") -> dict:
        """`resources:` of a rule that makes datasets, one job per file of `outputs`, each
        of `n_samples` points with `trainability dataset`."""
        return self._fixed_resources(name, outputs,
                                     functools.partial(cost.dataset_cost, n_samples), study)

    def document_resources(self, name, outputs, study) -> dict:
        """`resources:` of a rule that renders a document from a study's tables (one job
        per file of `outputs`): a section's cost."""
        return self._fixed_resources(name, outputs,
                                     functools.partial(cost.product_cost, "section", 0), study)

    def shell_resources(self, name, outputs) -> dict:
        """`resources:` of a rule whose job is a shell command without Python."""
        return self._fixed_resources(name, outputs, cost.shell_cost, "")

    def report_resources(self, name="report") -> dict:
        """`resources:` of rule `name`, a job that assembles the report (the markdown, then
        its HTML page): out of date when anything else is, but the report jobs after it."""
        self.reports.append(name)
        estimate = _once(functools.partial(cost.product_cost, name, 0))

        def jobs():
            after = self.reports[self.reports.index(name):]
            others = [j for r in self.budget.rules() if r not in after
                      for j in self.budget.jobs(r)]
            todo = any(j.todo for j in others) or not os.path.exists(wf.stamp(name))
            yield Job(name, estimate(), todo, _benchmark_of(self.workflow.get_rule(name), {}))

        self.budget.add(name, jobs)
        return self._resources(name, estimate)

    def _fixed_resources(self, name, outputs, make_cost, study) -> dict:
        """Resources of rule `name`, every job of which costs `make_cost()`, one job per
        file of `outputs` (out of date when it is missing)."""
        estimate = _once(make_cost)

        def jobs():
            r = self.workflow.get_rule(name)
            for path in outputs:
                yield Job(name, estimate(), not os.path.exists(path),
                          _benchmark_of(r, r.get_wildcards(path)), study)

        self.budget.add(name, jobs)
        return self._resources(name, estimate)

    def _resources(self, name, estimate) -> dict:
        def mem_mb(wildcards):
            return self.budget.adjusted(name, estimate(wildcards)).mem_mb

        def runtime(wildcards):
            return self.budget.adjusted(name, estimate(wildcards)).runtime

        return {"mem_mb": mem_mb, "runtime": runtime}

    def memory_limit(self) -> tuple[float, str]:
        """(bytes, where from) a job may use: this machine's memory, or --resources mem_mb."""
        limit = (machine_memory(), "this machine's memory")
        given = self.workflow.resource_settings.resources.get("mem_mb")
        if given is not None and given.value is not None and given.value * 1e6 < limit[0]:
            limit = (given.value * 1e6, "--resources mem_mb")
        return limit

    def check_budget(self, say: Callable[[str], None]) -> None:
        """Say what the out-of-date jobs cost; refuse a job that cannot fit, or more work
        than budget.CPU_BUDGET, unless --config limits=off. Once every rule is defined, and
        in the main process only (a cluster job parses the workflow again)."""
        enforce = self.config.get("limits", "on") not in ("off", False)
        try:
            self.budget.check(self.memory_limit(), say, enforce=enforce)
        except BudgetError as e:
            raise WorkflowError(str(e)) from None


def _once(make):
    """The cost of a rule's only job, made once: a function of (ignored) wildcards."""
    made = functools.cache(make)

    def of_job(wildcards=None):
        return made()

    return of_job


def _benchmark_of(job_rule, wildcards) -> str:
    """The benchmark file of a job of ``job_rule`` (a Rule), "" if it declares none."""
    return apply_wildcards(str(job_rule.benchmark), wildcards) if job_rule.benchmark else ""

