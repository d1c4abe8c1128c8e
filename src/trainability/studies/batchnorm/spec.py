"""Batch normalization: the running example per activation, without batch normalization
and with it after chosen hidden layers, over seeds.

A *placement* says where batch normalization sits, by a name that is also part of the run
file's name: ``none``, ``after3`` (after hidden layer 3: the lecture's, between hidden
layers 3 and 4), ``after1-2``, ``every`` (after every hidden layer). One training job per
activation and placement trains every seed at once (different placements are different
architectures, so they cannot share a batch). A seed draws the same initial weights and
the same batch order in every placement (batch norm's scale 1 and shift 0 take no random
draws), so the placements of one activation are compared seed by seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import single_precision, training_args

TITLE = "Batch normalization and the sigmoid network"
CATEGORY = "Batch normalization"
PREFIX = "B"
NONE = "none"  # the placement without batch normalization
EVERY = "every"
LECTURE_PLACEMENT = "after3"  # the lecture's model: batch norm between hidden layers 3 and 4
# The lecture's values, read off its figures: the sigmoid network's final training accuracy
# (Keras' history: the epoch's mean over mini-batches), one run each, without batch norm
# and with it after hidden layer 3; and the setup it was trained with, as far as it is
# known (where eps sits is not: it depends on the Keras version, which the lecture omits).
LECTURE_SIGMOID = {NONE: 0.70, LECTURE_PLACEMENT: 0.93}
LECTURE_SETUP = {"init": "random_normal", "init_scale": 1.0, "classifier_init": "glorot_uniform",
                 "width": 5, "depth": 4, "optimizer": "rmsprop", "lr": 0.001, "eps": 1e-7,
                 "batch_size": 32, "epochs": 100}


def placement_layers(name: str, depth: int) -> list[int]:
    """The hidden layers (1-based) a placement normalizes: ``after1-2`` -> ``[1, 2]``."""
    if name == NONE:
        return []
    if name == EVERY:
        return list(range(1, depth + 1))
    if name.startswith("after"):
        try:
            return [int(x) for x in name.removeprefix("after").split("-")]
        except ValueError:
            pass
    raise ValueError(f"placement {name!r}: expected none, every or after<layers>")


def placement_names(after_layers, every_layer: bool, depth: int) -> list[str]:
    """The placements to train, in report order: ``none``, ``after<layers>`` (unless that
    is every layer), ``every`` (if asked for, or if ``after_layers`` is every layer)."""
    after = tuple(sorted(set(after_layers)))
    every = tuple(range(1, depth + 1))
    names = [NONE]
    if after and after != every:
        names.append("after" + "-".join(map(str, after)))
    if every_layer or after == every:
        names.append(EVERY)
    return names


def placement_label(name: str) -> str:
    """Words for a placement: ``no batch norm``, ``BN after layer 3``, ``BN after every
    layer``, ``BN after layers 1, 2``."""
    if name == NONE:
        return "no batch norm"
    if name == EVERY:
        return "BN after every layer"
    layers = name.removeprefix("after").split("-")
    return f"BN after layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}"


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "batchnorm"

    activations: list[str]
    placements: list[str]  # none first, then the batch-norm placements
    init: str
    width: int
    depth: int
    init_scale: float
    classifier_init: str | None
    train: dict  # the train section of params.yaml but its seeds
    seeds: int
    dataset: str  # the dataset file
    diagnostic_epochs: list[int]  # always with 0 (the claims) and the last epoch (a table)
    tag: str  # names the run files
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)
    # the grid's seeds (train.seeds) when the grid trains this study's sigmoid network
    # without batch norm exactly as here (same seed, same run); None when it does not
    grid_seeds: int | None

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        b, m, t = params["batchnorm"], params["model"], params["train"]
        bad = [j for j in b["after_layers"] if j > m["depth"]]
        if bad:
            raise ValueError(f"batchnorm.after_layers: layers {bad} do not exist; allowed: "
                             f"1..{m['depth']} (model.depth)")
        epochs = sorted({0, t["epochs"]} | {e for e in b["diagnostic_epochs"]
                                           if e <= t["epochs"]})
        fields = dict(
            init=b["init"], width=m["width"], depth=m["depth"], init_scale=m["init_scale"],
            classifier_init=m["classifier_init"],
            train={k: v for k, v in t.items() if k != "seeds"}, seeds=b["seeds"],
            dataset=dataset, diagnostic_epochs=epochs,
        )
        # what makes a run file besides its activation and placement (in its name): adding
        # an activation or a placement trains only the new files
        run_tag = tag("batchnorm", fields, train_code)
        g = params["grid"]
        as_grid = ("sigmoid" in g["activations"] and b["init"] in g["inits"]
                   and not m["batch_norm"] and not single_precision(m["width"],
                                                                    g["float32_from"]))
        return cls(activations=list(b["activations"]),
                   placements=placement_names(b["after_layers"], b["every_layer"], m["depth"]),
                   tag=run_tag, learns=asdict(Learns.from_params(params)),
                   grid_seeds=t["seeds"] if as_grid else None, **fields)

    # ------------------------------------------------------------ what it trains

    def run_file(self, activation: str, placement: str) -> str:
        return f"results/runs/batchnorm/{activation}/{placement}-{self.tag}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a, p) for a in self.activations for p in self.placements]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation`` and ``placement``, as Snakemake passes them)."""
        return [
            "--activation", wildcards.activation, "--init", self.init, "--width", self.width,
            "--depth", self.depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds), "--diagnostic-epochs", *self.diagnostic_epochs,
            *training_args(self.train, classifier_init=self.classifier_init,
                           batch_norm=placement_layers(wildcards.placement, self.depth)),
        ]

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"runs": "runs.csv", "history": "history.csv.gz", "layers": "layers.csv.gz",
                "ratios": "ratios.csv"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return [("curves.png", "curves"), ("final.png", "final"),
                ("gradient_ratio.png", "gradient_ratio"),
                *((f"layers_{a}.png", "layers") for a in self.activations)]
