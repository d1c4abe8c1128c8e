# Helpers shared by the rules: validation, code dependencies, specs, stamps, repairs.
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # trainability, if not installed

from trainability import study as studies
from trainability import workflow as wf
from trainability.config import ConfigError, code_hash, tag, validate

try:
    validate(config, Path(workflow.basedir) / "src/workflow/schemas/params.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None


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
REPAIRS = wf.Repairs()


def enabled(study):
    """Whether params.yaml switches ``study`` on (the grid always is)."""
    return study == "grid" or config[study]["enabled"]


def spec_of(study, **extra):
    """The study's spec from params.yaml (see trainability/studies/<study>/spec.py)."""
    return studies.module(study, "spec").Spec.from_params(config, **extra)
