# Shared by the rules: validation, wildcards, the running example's dataset, and the helpers
# the rule files call (trainability/rulekit.py).
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # trainability, if not installed

from trainability import jobusage
from trainability import study as studies
from trainability import workflow as wf
from trainability.jobusage import USAGE_VARIABLE
from trainability.config import ConfigError, code_hash, tag, validate
from trainability.rulekit import RuleKit

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


# The helpers the rule files call (trainability/rulekit.py): specs, code, products, costs.
KIT = RuleKit(workflow, config)
code, stage_code, enabled, spec_of = KIT.code, KIT.stage_code, KIT.enabled, KIT.spec_of
products, PRODUCTS, trains = KIT.products, KIT.products_of, KIT.trains
train_resources, command_resources = KIT.train_resources, KIT.command_resources
product_resources, dataset_resources = KIT.product_resources, KIT.dataset_resources
shell_resources, report_resources = KIT.shell_resources, KIT.report_resources
document_resources = KIT.document_resources


# The code of the shared jobs: their inputs, and part of their outputs' tags.
DATA_CODE = code("trainability.data")
TRAIN_CODE = code("trainability.jobs")
DATA_TAG = tag(config["data"], code_hash(DATA_CODE))
DATASET = f"results/data/{config['data']['name']}-{DATA_TAG}.npz"
