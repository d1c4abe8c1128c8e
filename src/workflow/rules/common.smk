# Helpers shared by the rules: validation, output names, and the arguments each job gets.
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # trainability, if not installed

from trainability.config import ConfigError, code_hash, tag, validate
from trainability.studies import rebuild

# relative, so a moved or copied project keeps its provenance (inputs are compared by path)
SRC = Path(os.path.relpath(Path(workflow.basedir) / "src" / "trainability"))

try:
    validate(config, Path(workflow.basedir) / "src/workflow/schemas/params.schema.yaml")
except ConfigError as e:
    raise WorkflowError(str(e)) from None


wildcard_constraints:
    activation="[a-z_]+",
    init="[a-z_]+",
    width="[0-9]+",
    tag="[0-9a-f]{10}",


# The source files each kind of job runs: inputs of the job, and part of its outputs' tags.
DATA_CODE = [str(SRC / f) for f in ("data.py", "io.py", "cli.py", "registry.py")]
TRAIN_CODE = [
    str(SRC / f)
    for f in (
        "activations.py", "initializers.py", "model.py", "optim.py", "train.py",
        "registry.py", "io.py", "cli.py", "_memory.py",
    )
]
TABLES_CODE = [str(SRC / f) for f in ("tables.py", "io.py", "cli.py")]
REPORT_CODE = [
    str(SRC / f)
    for f in (
        "figures.py", "report.py", "claims.py", "io.py", "cli.py", "model.py", "activations.py",
    )
]

DATA_TAG = tag(config["data"], code_hash(DATA_CODE))
DATASET = f"results/data/{config['data']['name']}-{DATA_TAG}.npz"
TRAIN_TAG = tag(DATA_TAG, config["model"], config["train"], code_hash(TRAIN_CODE))
WIDTHS = sorted(set(config["grid"]["widths"]) | {config["model"]["width"]})


# Markdown sections of the other studies, in report order, and their headline metrics
# (merged into results/metrics.json); each study's rules append theirs.
REPORT_SECTIONS = []
REPORT_METRICS = []


def enabled(study):
    """Whether params.yaml switches ``study`` on (its section's ``enabled`` key)."""
    return config[study]["enabled"]


def get_section_args(wildcards):
    sections = [arg for path in REPORT_SECTIONS for arg in ("--section", path)]
    return sections + [arg for path in REPORT_METRICS for arg in ("--study-metrics", path)]


def run_file(activation, init, width):
    return f"results/runs/{activation}/{init}/w{width}-{TRAIN_TAG}.npz"


def get_grid_runs(wildcards=None):
    """Every cell of the grid: activation x init x width (the running width included)."""
    return [
        run_file(a, i, w)
        for a in config["grid"]["activations"]
        for i in config["grid"]["inits"]
        for w in WIDTHS
    ]


def get_dataset_args(wildcards):
    d = config["data"]
    args = [
        "--name", d["name"], "--n-samples", d["n_samples"], "--noise", d["noise"],
        "--factor", d["factor"], "--test-fraction", d["test_fraction"],
        "--scale", d["scale"], "--seed", d["seed"],
    ]
    return args + (["--standardize"] if d["standardize"] else [])


def get_train_args(wildcards):
    m, t = config["model"], config["train"]
    args = [
        "--depth", m["depth"], "--init-scale", m["init_scale"],
        "--optimizer", t["optimizer"], "--lr", t["lr"], "--momentum", t["momentum"],
        "--l2", t["l2"], "--schedule", t["schedule"], "--warmup-epochs", t["warmup_epochs"],
        "--batch-size", t["batch_size"], "--epochs", t["epochs"],
        "--seeds", *range(t["seeds"]),
    ]
    return args + (["--batch-norm", *m["batch_norm"]] if m["batch_norm"] else [])


def get_figure_names():
    names = ["data.png", "accuracy_vs_width.png"]
    names += [f"lecture_{i}.png" for i in config["grid"]["inits"]]
    names += [f"heatmap_w{w}.png" for w in WIDTHS]
    names += [f"boundaries_w{w}.png" for w in WIDTHS]
    return names


def get_caption(figure):
    """The caption of a figure, one per kind: data, lecture, heatmap, boundaries, ..."""
    stem = Path(figure).stem
    kind = "lecture" if stem.startswith("lecture_") else re.sub(r"_w\d+$", "", stem)
    return f"../report/{kind}.rst"


def rebuild_missing(intermediates, consumer_output):
    """Make this run rebuild deleted or corrupt ``intermediates`` (see
    trainability.studies.rebuild.rebuild_if_broken), with a warning naming them."""
    broken = rebuild.rebuild_if_broken(intermediates, consumer_output)
    if broken:
        logger.warning(f"rebuilding missing or corrupt {', '.join(broken)}")
