"""The grid: every activation x initializer x width of the running example, over seeds.

One training job per activation and width trains every initializer x seed of it in one
batch (a step of these small networks is mostly per-call overhead, so 50 models cost
little more than 5). Its run file is named by a hash of everything that made it; adding a
width trains only that width, adding an initializer retrains every file (it is in each).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import single_precision, training_args

TITLE = "The grid: activation, initialization and width"
CATEGORY = "Grid study"
PREFIX = ""  # the lecture's own claims: 1, 2, 3, ...
LECTURE_ACTIVATIONS = ("relu", "sigmoid", "tanh")
LECTURE_INITS = ("random_normal", "zeros")


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "grid"

    activations: list[str]
    inits: list[str]
    widths: list[int]  # sorted; the running width among them
    width: int  # the running example's (the lecture's network)
    depth: int
    init_scale: float
    classifier_init: str | None
    batch_norm: list[int]
    train: dict  # the train section of params.yaml but its seeds
    seeds: int
    data: dict  # the data section of params.yaml (for the Setup)
    dataset: str  # the dataset file
    diagnostic_epochs: list[int]
    float32_from: int | None  # widths from which to train in single precision
    animate: dict  # {"activations", "inits", "every"}: the boundary animation
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)
    tag: str  # what every run file shares; each file's name adds its own settings

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        g, m, t = params["grid"], params["model"], params["train"]
        train = {k: v for k, v in t.items() if k != "seeds"}
        widths = sorted(set(g["widths"]) | {m["width"]})
        epochs = sorted({e for e in g["diagnostic_epochs"] if e <= t["epochs"]})
        animate = dict(g["animate"])
        fields = dict(
            activations=list(g["activations"]), inits=list(g["inits"]), widths=widths,
            width=m["width"], depth=m["depth"], init_scale=m["init_scale"],
            classifier_init=m["classifier_init"], batch_norm=list(m["batch_norm"]),
            train=train, seeds=t["seeds"], data=dict(params["data"]), dataset=dataset,
            diagnostic_epochs=epochs, float32_from=g["float32_from"], animate=animate,
            learns=asdict(Learns.from_params(params)),
        )
        # not in the shared tag: what only names files (activations, widths), the data
        # section (the dataset file's name is in it), the animation and precision (per file),
        # and what only judges the models (learns)
        shared = {k: v for k, v in fields.items() if k not in (
            "activations", "widths", "width", "data", "animate", "float32_from", "learns")}
        fields["tag"] = tag("grid", shared, train_code)
        return cls(**fields)

    @property
    def lecture_init(self) -> str:
        """The initializer the running-example claims are judged at: the lecture's
        (random_normal), or the first non-zero one the grid has."""
        if "random_normal" in self.inits:
            return "random_normal"
        return next((i for i in self.inits if i != "zeros"), self.inits[0])

    # ------------------------------------------------------------ what it trains

    def run_file(self, activation: str, width: int) -> str:
        own = {}  # what only this file has: a change elsewhere leaves its name
        if self.animated(activation, width):
            own["every"] = self.animate["every"]
        if self.float32(width):
            own["float32"] = True
        name = tag(self.tag, own) if own else self.tag
        return f"results/runs/grid/{activation}/w{width}-{name}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a, w) for a in self.activations for w in self.widths]

    def float32(self, width: int) -> bool:
        return single_precision(width, self.float32_from)

    def animated(self, activation: str, width: int) -> bool:
        return width == self.width and activation in self.animate["activations"]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation`` and ``width``, as Snakemake passes them)."""
        activation, width = wildcards.activation, int(wildcards.width)
        args = [
            "--activation", activation, "--init", *self.inits, "--width", width,
            "--depth", self.depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds), "--diagnostic-epochs", *self.diagnostic_epochs,
            # the whole training set at the first and last epoch only: the lecture's
            # training curves are Keras' running values, recorded every epoch anyway
            *training_args(self.train, classifier_init=self.classifier_init,
                           batch_norm=self.batch_norm, train_metrics=[0],
                           float32=self.float32(width)),
        ]
        if self.animated(activation, width):
            args += ["--checkpoint-every", self.animate["every"]]
        return args

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"runs": "runs.csv", "history": "history.csv.gz", "layers": "layers.csv.gz",
                "cells": "cells.csv"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        out = [("data.png", "data")]
        out += [(f"lecture_{i}.png", "lecture") for i in self.inits]
        out += [(f"heatmap_w{w}.png", "heatmap") for w in self.widths]
        out += [("accuracy_vs_width.png", "accuracy_vs_width"),
                ("accuracy_vs_width_all.png", "accuracy_vs_width_all")]
        out += [("boundaries_lecture.png", "boundaries_lecture")]
        out += [(f"boundaries_w{w}.png", "boundaries") for w in self.widths]
        if self.animation_cells():
            out += [("boundary_animation.gif", "boundary_animation")]
        return out

    def lecture_activations(self) -> list[str]:
        """The lecture's activations the grid trains (all of the grid's if none)."""
        return [a for a in LECTURE_ACTIVATIONS if a in self.activations] or self.activations

    def lecture_cells(self) -> tuple[list[str], list[str]]:
        """``(activations, inits)`` of the lecture's cells the grid trains: its activations
        and its two initializers (the lecture's initializer alone if neither is trained)."""
        inits = [i for i in LECTURE_INITS if i in self.inits] or [self.lecture_init]
        return self.lecture_activations(), inits

    def animation_cells(self) -> list[tuple[str, str]]:
        """``(activation, init)`` of the animation's panels, those the grid trains."""
        return [(a, i) for a in self.animate["activations"] if a in self.activations
                for i in self.animate["inits"] if i in self.inits]
