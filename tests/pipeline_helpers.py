"""Run the workflow on a tiny configuration in a temporary copy of the project."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = str(Path(sys.executable).parent)

TINY = {
    "data": {
        "name": "circles", "n_samples": 120, "noise": 0.1, "factor": 0.5,
        "test_fraction": 0.25, "scale": 1.0, "standardize": False, "seed": 0,
    },
    "model": {"depth": 2, "width": 3, "init_scale": 1.0, "classifier_init": "glorot_uniform",
              "batch_norm": []},
    "train": {
        "optimizer": "rmsprop", "lr": 0.01, "momentum": 0.9, "eps": 1e-7,
        "eps_convention": "keras", "l2": 0.0,
        "schedule": "constant", "warmup_epochs": 0, "batch_size": 16, "epochs": 4, "seeds": 2,
    },
    "learns": {"accuracy": 0.95, "chance_margin": 0.05},
    "lecture": {"enabled": True, "seeds": 3, "bins": 5, "after_layer": 1,
                "tolerance": {"accuracy": 0.02, "loss": 0.02, "gradient": 0.02, "output": 0.03,
                              "epoch": 10, "relative": 0.05}},
    "grid": {"activations": ["relu", "tanh"], "inits": ["zeros", "he_normal"], "widths": [3],
             "diagnostic_epochs": [0, 2, 4], "float32_from": None,
             "animate": {"activations": ["tanh"], "inits": ["zeros", "he_normal"], "every": 2}},
    "batchnorm": {
        "enabled": True, "activations": ["sigmoid", "tanh"], "init": "random_normal",
        "after_layers": [1], "every_layer": False, "seeds": 2, "diagnostic_epochs": [0, 2],
    },
    "tweaks": {
        "enabled": True, "activations": ["sigmoid"], "init": "random_normal",
        "optimizers": ["sgd"], "lrs": [0.01, 0.1], "variant_optimizer": "adam",
        "variants": {"warmup": {"schedule": "constant", "warmup_epochs": 1, "l2": 0.0}},
        "seeds": 2, "validation_fraction": 0.25,
    },
    "epsilon": {
        "enabled": True, "activations": ["sigmoid", "tanh"], "init": "random_normal",
        "cells": [{"activation": "sigmoid", "init": "he_normal", "width": 3}],
        "conventions": ["keras", "pytorch"], "eps": [1e-7, 1e-4], "optimizers": ["rmsprop"],
        "seeds": 2,
    },
    "gradients": {
        "enabled": True, "activations": ["relu", "sigmoid"], "inits": ["zeros", "random_normal"],
        "depths": [1], "seeds": 2,
    },
    "scaling": {
        "enabled": True, "activations": ["relu", "tanh"], "init_stds": [1.0, 0.01],
        "inits": ["he_normal"], "init_width": 12, "profile_depth": 3, "bins": 8,
        "input_scale": 100.0, "train_inits": ["random_normal"], "seeds": 2,
    },
    "robustness": {
        "enabled": True, "seeds": 2, "after_layer": 1,
        "variants": {"lr_x3": {"train.lr": {"times": 3}}, "adam": {"train.optimizer": "adam"},
                     "epochs_x2": {"train.epochs": {"times": 2}},
                     "noise_0.2": {"data.noise": 0.2}},
    },
    "size": {
        "enabled": True, "quick": False,
        "datasets": [{"name": "circles", "noise": 0.1}],
        "data": {"n_samples": 120, "factor": 0.5, "test_fraction": 0.25,
                 "validation_fraction": 0.25, "seed": 0},
        "train": {"depth": 2, "init": "he_normal", "optimizer": "adam", "lr": 0.01,
                  "batch_size": 16, "epochs": 3, "float32_from": 8},
        "width": {"enabled": True, "widths": [2, 8], "seeds_narrow": 3, "narrow_up_to": 2,
                  "seeds": 3, "seeds_wide": 3, "wide_from": 8, "reliable": 0.95},
        "dead": {"enabled": True, "widths": [8], "seeds": 3, "l2": 0.003, "group_lasso": 0.3,
                 "tau": 0.01, "taus": [0.01, 0.1]},
        "lottery": {"enabled": True, "width": 8, "seeds": 3,
                    "rates": {"first": 0.1, "hidden": 0.2, "output": 0.1},
                    "target_density": 0.7, "reinit_draws": 2, "rewind_epoch": 1},
        "structured": {"enabled": True, "width": 8, "seeds": 3, "group_lasso": 0.3,
                       "widths": [2, 4], "finetune_epochs": 2},
    },
}

# The grid alone: tests of the machinery (DVC, interruptions, --cores) need no studies.
GRID_ONLY = copy.deepcopy(TINY)
for _section in GRID_ONLY.values():
    if "enabled" in _section:
        _section["enabled"] = False

PROJECT_FILES = ["Snakefile", "dvc.yaml", ".dvcignore", ".gitignore", "src", "profiles"]


def env() -> dict:
    e = dict(os.environ)
    e["PATH"] = BIN + os.pathsep + e.get("PATH", "")
    e.setdefault("GIT_AUTHOR_NAME", "test")
    e.setdefault("GIT_AUTHOR_EMAIL", "test@example.org")
    e.setdefault("GIT_COMMITTER_NAME", "test")
    e.setdefault("GIT_COMMITTER_EMAIL", "test@example.org")
    e["DVC_NO_ANALYTICS"] = "1"
    return e


def make_project(dest: Path, params: dict = TINY) -> Path:
    """A copy of the workflow with ``params`` as params.yaml (no results)."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    (dest / "results").mkdir()
    shutil.copy2(ROOT / "results" / ".gitignore", dest / "results" / ".gitignore")
    write_params(dest, params)
    return dest


def write_params(project: Path, params: dict) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def read_params(project: Path) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text())


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 600):
    result = subprocess.run(
        cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-5000:]}"
        )
    return result


def snakemake(project: Path, *args: str, check: bool = True):
    return run(["snakemake", "--cores", "2", *args], project, check)


def planned_jobs(project: Path) -> dict[str, int]:
    """Rule -> number of jobs a dry run would execute ({} when nothing is to be done)."""
    out = snakemake(project, "-n").stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1]
    counts = {}
    for line in table.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("total", "all"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def dry_run_jobs(text: str) -> dict[str, dict]:
    """Every job of a dry run's listing, by its first output: its rule, its group (None
    if it is not in one), and the mem_mb and runtime it asks for."""
    jobs, group = {}, None
    for block in re.split(r"\n(?=\[[^\]]+\]\s*(?:Group job|\n\s*(?:local)?rule))", text):
        header = re.search(r"Group job (\w+) \(", block)
        if header:
            group = header.group(1)
        for rule in re.finditer(r"(?m)^( *)(?:local)?rule (\w+):\n((?:\1 +.*\n?)*)", block):
            indent, name, body = rule.groups()
            output = re.search(r"output: ([^,\s]+)", body)
            if name == "all" or not output:
                continue
            asked = dict(re.findall(r"\b(mem_mb|runtime)=(\d+)", body))
            jobs[output.group(1)] = {"rule": name, "group": group if indent else None,
                                     **{k: int(v) for k, v in asked.items()}}
    return jobs


def group_jobs(text: str) -> list[tuple[str, list[dict]]]:
    """Every group job a run's log lists before submitting it: its group and its jobs
    (rule, mem_mb, runtime)."""
    parts = re.split(r"Group job (\w+) \(jobs in lexicogr\. order\):", text)
    return [(group, [{"rule": m.group(2), **{k: int(v) for k, v in re.findall(
        r"\b(mem_mb|runtime)=(\d+)", m.group(3))}} for m in re.finditer(
        r"(?m)^( +)(?:local)?rule (\w+):\n((?:\1 +.*\n?)*)", body)])
        for group, body in zip(parts[1::2], parts[2::2], strict=True)]


def git_init(project: Path) -> None:
    run(["git", "init", "-q", "-b", "main"], project)
    run(["dvc", "init", "-q"], project)
    run(["dvc", "config", "core.analytics", "false"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "tiny project"], project)


class Page(HTMLParser):
    """What the tests read of the report's HTML page (``trainability html``): images,
    internal links, ids (and the <details> each is in), tables, details and the table of
    contents' links."""

    def __init__(self, text: str):
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self.enclosing: dict[str, str | None] = {}  # id -> the id of its <details>
        self.tables = 0
        self.details: list[str] = []
        self.contents: list[str] = []
        self._open: list[str] = []  # ids of the <details> we are in
        self._nav = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "details":
            self.details.append(a["id"])
            self._open.append(a["id"])
        if "id" in a:
            self.ids.append(a["id"])
            self.enclosing[a["id"]] = self._open[-1] if self._open else None
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
            if self._nav:
                self.contents.append(a["href"][1:])
        elif tag == "table":
            self.tables += 1
        elif tag == "nav":
            self._nav = True

    def handle_endtag(self, tag):
        if tag == "details":
            self._open.pop()
        elif tag == "nav":
            self._nav = False
