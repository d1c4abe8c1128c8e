"""The gradient study: every activation x initializer x depth, over seeds, at the running
example's width and training settings.

One training job per activation and depth trains every initializer x seed of it in one
batch. Only the running example's depth (``model.depth``) records the per-layer gradients
of every epoch (the lecture's gradient figure reads them); the tables compute every other
gradient they need, at initialization and after training, from the stored parameters, so
the other depths train with ``--no-diagnostics``.

A run file's name carries the activation and depth and a hash of everything else that
makes it, so adding a depth or an activation trains only that; any other change retrains
the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.study import training_args

TITLE = "Vanishing and exploding gradients"
CATEGORY = "Gradients study"
PREFIX = "G"
RUNNING_INIT = "random_normal"  # the lecture's initializer


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "gradients"

    activations: list[str]
    inits: list[str]
    depths: list[int]  # sorted; the running depth among them
    depth: int  # the running example's (model.depth): its runs record every epoch
    width: int
    init_scale: float
    classifier_init: str | None
    train: dict  # the train section of params.yaml but its seeds
    seeds: int
    dataset: str  # the dataset file
    tag: str  # names the run files

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        g, m, t = params["gradients"], params["model"], params["train"]
        fields = dict(
            activations=list(g["activations"]), inits=list(g["inits"]),
            depths=sorted(set(g["depths"]) | {m["depth"]}), depth=m["depth"],
            width=m["width"], init_scale=m["init_scale"],
            classifier_init=m["classifier_init"],
            train={k: v for k, v in t.items() if k != "seeds"}, seeds=g["seeds"],
            dataset=dataset,
        )
        # activation and depth are in each file's name: not in the tag
        shared = {k: v for k, v in fields.items() if k not in ("activations", "depths")}
        return cls(**fields, tag=tag("gradients", shared, train_code))

    @property
    def running_init(self) -> str:
        """The running example's initializer: the lecture's if trained, else the first
        non-zero one."""
        if RUNNING_INIT in self.inits:
            return RUNNING_INIT
        return next((i for i in self.inits if i != "zeros"), self.inits[0])

    def eps_threshold(self) -> tuple[float, str] | None:
        """``(size, label)``: the gradient size below which eps dominates the denominator
        of an RMSprop or Adam step (``sqrt(eps)`` under Keras 3's convention, ``eps`` under
        PyTorch's); None for the other optimizers."""
        t = self.train
        if t["optimizer"] not in ("rmsprop", "adam"):
            return None
        if t["eps_convention"] == "pytorch":
            return float(t["eps"]), f"eps = {t['eps']:g} ({t['optimizer']}, PyTorch)"
        size = math.sqrt(t["eps"])
        return size, f"√eps = {size:.1e} ({t['optimizer']}, Keras 3)"

    # ------------------------------------------------------------ what it trains

    def run_file(self, activation: str, depth: int) -> str:
        return f"results/runs/gradients/{activation}/d{depth}-{self.tag}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a, d) for a in self.activations for d in self.depths]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation`` and ``depth``, as Snakemake passes them)."""
        depth = int(wildcards.depth)
        args = [
            "--activation", wildcards.activation, "--init", *self.inits,
            "--width", self.width, "--depth", depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds),
            *training_args(self.train, classifier_init=self.classifier_init),
        ]
        if depth != self.depth:  # per-layer statistics of every epoch: the running depth only
            args += ["--no-diagnostics"]
        return args

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"models": "models.csv", "ratios": "ratios.csv", "layers": "layers.csv.gz",
                "epochs": "epochs.csv.gz"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return [("per_layer.png", "per_layer"), ("depth_ratio.png", "depth_ratio"),
                ("depth_profile.png", "depth_profile")]
