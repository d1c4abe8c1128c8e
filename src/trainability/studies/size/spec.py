"""Workflow helpers of the size study: what ``src/workflow/rules/size.smk`` asks for.

``SizePlan`` turns the effective ``size:`` settings into file names (tagged by everything
that determines them: the dataset, the training protocol, the job's own settings and the
source code the job runs, see ``trainability.config``) and into the command-line arguments
of each job. Its ``*_args`` and ``*_input`` methods take Snakemake's wildcards. Only
Snakemake runs this module; the jobs never import it.
"""

from __future__ import annotations

import json

from trainability.config import tag
from trainability.studies.size import ARMS, FIGURES, SUBSTUDIES, width_seeds

REGULARIZERS = ("none", "l2", "group_lasso")
TABLES = {
    "width": ("size_width_runs", "size_width"),
    "dead": ("size_dead_runs", "size_dead"),
    "lottery": ("size_lottery_runs", "size_lottery"),
    "structured": ("size_structured_runs", "size_structured", "size_structured_live"),
}
SECTION_TABLES = {
    "width": ("size_width",),
    "dead": ("size_dead",),
    "lottery": ("size_lottery",),
    "structured": ("size_structured", "size_structured_live"),
}


def stamp_text(wildcards, input) -> str:  # noqa: A002 (Snakemake's argument name)
    """What a summary's stamp file holds: the files it was made from."""
    return json.dumps(sorted(map(str, input)))


class SizePlan:
    """File names and job arguments of the size study.

    ``settings``: the ``size:`` section with ``quick`` applied (``size.settings``);
    ``data_code`` / ``run_code``: hashes of the source files the dataset jobs and the
    training jobs run.
    """

    def __init__(self, settings: dict, data_code: str, run_code: str):
        self.s = settings
        self.data_code = data_code
        self.run_code = run_code
        self.datasets = {d["name"]: d for d in settings["datasets"]}
        self.protocol = dict(settings["train"],
                             validation_fraction=settings["data"]["validation_fraction"])
        dead = settings["dead"]
        self.strength = {"none": 0.0, "l2": dead["l2"], "group_lasso": dead["group_lasso"]}
        self.substudies = [s for s in SUBSTUDIES if settings[s]["enabled"]]

    # ------------------------------------------------------------ file names

    def data_tag(self, name: str) -> str:
        """Everything the dataset file depends on (not the success threshold, not the
        validation split, which the training jobs make)."""
        spec = {k: self.datasets[name][k] for k in ("name", "noise")}
        data = {k: v for k, v in self.s["data"].items() if k != "validation_fraction"}
        return tag(spec, data, self.data_code)

    def dataset_file(self, name: str) -> str:
        return f"results/data/size/{name}-{self.data_tag(name)}.npz"

    def run_seeds(self, reg: str, width: int) -> list[int]:
        """The width study's seeds for unregularized networks, the dead-unit study's for
        regularized ones."""
        if reg == "none":
            return width_seeds(self.s["width"], width)
        return list(range(self.s["dead"]["seeds"]))

    def width_file(self, name: str, reg: str, width: int) -> str:
        t = tag(self.data_tag(name), self.protocol, reg, self.strength[reg],
                self.run_seeds(reg, width), self.run_code)
        return f"results/runs/size/width/{name}/{reg}/w{width}-{t}.npz"

    def _lottery_settings(self, arm: str) -> dict:
        lo = self.s["lottery"]
        out = {k: lo[k] for k in ("width", "seeds", "rates", "target_density")}
        if arm == "reinit":
            out["draws"] = lo["reinit_draws"]
        if arm == "late":
            out["rewind_epoch"] = lo["rewind_epoch"]
        return out

    def lottery_file(self, name: str, arm: str) -> str:
        ticket = self.lottery_file(name, "ticket") if arm == "reinit" else None
        t = tag(self.data_tag(name), self.protocol, arm, self._lottery_settings(arm), ticket,
                self.run_code)
        return f"results/runs/size/lottery/{name}/{arm}-{t}.npz"

    def structured_file(self, name: str) -> str:
        t = tag(self.data_tag(name), self.protocol, self.s["structured"],
                self.s["dead"]["tau"], self.run_code)
        return f"results/runs/size/structured/{name}-{t}.npz"

    # ------------------------------------------------------------ what each summary reads

    def width_runs(self) -> list[str]:
        return [self.width_file(name, "none", w) for name in self.datasets
                for w in self.s["width"]["widths"]]

    def dead_runs(self) -> list[str]:
        """Regularized runs at the dead-unit widths; unregularized ones at those widths and,
        when the width study runs (they exist anyway), at its wider widths too."""
        dead = self.s["dead"]
        widths = set(dead["widths"])
        if self.s["width"]["enabled"]:
            widths |= {w for w in self.s["width"]["widths"] if w >= min(dead["widths"])}
        runs = [self.width_file(name, "none", w) for name in self.datasets
                for w in sorted(widths)]
        runs += [self.width_file(name, reg, w) for name in self.datasets
                 for reg in REGULARIZERS[1:] for w in dead["widths"]]
        return runs

    def lottery_runs(self) -> list[str]:
        return [self.lottery_file(name, arm) for name in self.datasets for arm in ARMS]

    def structured_runs(self) -> list[str]:
        return [self.structured_file(name) for name in self.datasets]

    def runs(self, study: str) -> list[str]:
        return getattr(self, f"{study}_runs")()

    def width_table(self) -> list[str]:
        """The width study's summary table, for the reference curves of other figures."""
        return ["results/tables/size_width.csv"] if self.s["width"]["enabled"] else []

    def width_table_args(self, wildcards) -> list[str]:
        return [a for t in self.width_table() for a in ("--width-table", t)]

    def tables(self, study: str) -> list[str]:
        return [f"results/tables/{n}.csv" for n in TABLES[study]]

    def figures(self, study: str) -> list[tuple[str, str]]:
        """``(path, caption)`` of every figure of a sub-study (captions relative to the
        rules folder)."""
        return [(f"results/figures/size/{n}", f"../report/size_{n.removesuffix('.png')}.rst")
                for n in FIGURES[study]]

    def section_tables(self) -> list[str]:
        return [f"results/tables/{n}.csv" for s in self.substudies for n in SECTION_TABLES[s]]

    def section_figures(self) -> list[str]:
        return [path for s in self.substudies for path, _ in self.figures(s)]

    @staticmethod
    def stamp(study: str) -> str:
        """An output outside DVC's versioned folders (results/logs is .dvcignored): a
        workspace without it (a DVC --temp or queued experiment, a fresh clone) rebuilds
        the sub-study's tables and figures even when restored ones look up to date."""
        return f"results/logs/size/summary-{study}.json"

    def thresholds(self) -> list[str]:
        return [f"{d['name']}={d['success']}" for d in self.s["datasets"]]

    def settings_json(self) -> str:
        return json.dumps(self.s, sort_keys=True)

    # ------------------------------------------------------------ job arguments

    def _protocol_args(self, seeds) -> list:
        t = self.s["train"]
        return [
            "--depth", t["depth"], "--init", t["init"], "--optimizer", t["optimizer"],
            "--lr", t["lr"], "--batch-size", t["batch_size"], "--epochs", t["epochs"],
            "--validation-fraction", self.s["data"]["validation_fraction"],
            "--seeds", *seeds,
        ]

    def dataset_input(self, wildcards) -> str:
        return self.dataset_file(wildcards.dataset)

    def dataset_args(self, wildcards) -> list:
        d, spec = self.s["data"], self.datasets[wildcards.dataset]
        return [
            "--name", spec["name"], "--noise", spec["noise"], "--n-samples", d["n_samples"],
            "--factor", d["factor"], "--test-fraction", d["test_fraction"], "--seed", d["seed"],
        ]

    def train_args(self, wildcards) -> list:
        reg, width = wildcards.reg, int(wildcards.width)
        args = self._protocol_args(self.run_seeds(reg, width)) + ["--width", width]
        if reg == "l2":
            args += ["--l2", self.strength["l2"]]
        if reg == "group_lasso":
            args += ["--group-lasso", self.strength["group_lasso"]]
        return args

    def lottery_input(self, wildcards) -> dict:
        inputs = {"data": self.dataset_file(wildcards.dataset)}
        if wildcards.arm == "reinit":
            inputs["ticket"] = self.lottery_file(wildcards.dataset, "ticket")
        return inputs

    def lottery_args(self, wildcards) -> list:
        lo = self.s["lottery"]
        r = lo["rates"]
        args = self._protocol_args(range(lo["seeds"])) + [
            "--width", lo["width"], "--rates", r["first"], r["hidden"], r["output"],
            "--target-density", lo["target_density"],
        ]
        if wildcards.arm == "reinit":
            args += ["--draws", lo["reinit_draws"],
                     "--ticket", self.lottery_file(wildcards.dataset, "ticket")]
        if wildcards.arm == "late":
            args += ["--rewind-epoch", lo["rewind_epoch"]]
        return args

    def structured_args(self, wildcards) -> list:
        st = self.s["structured"]
        return self._protocol_args(range(st["seeds"])) + [
            "--width", st["width"], "--group-lasso", st["group_lasso"],
            "--widths", *st["widths"], "--tau", self.s["dead"]["tau"],
            "--finetune-epochs", st["finetune_epochs"],
        ]
