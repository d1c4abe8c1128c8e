"""The epsilon study: where the adaptive optimizers' eps sits, and what that does to training.

RMSprop divides its step by ``sqrt(s + eps)`` in Keras 3 (and tf.keras since 2.11), by
``sqrt(s) + eps`` in PyTorch (and tf.keras up to 2.10); Adam adds eps outside the root in
both, before (Keras) or after (PyTorch) the bias correction (``trainability.optim``). The
study trains the running example (``activations`` with ``init`` at the model section's
width) and a few further ``cells`` under every convention x eps x optimizer, with the
model and train sections' other settings (learning rate, batch size, epochs, ...), the
same ``seeds`` everywhere: a seed has the same initial weights and batch order in every
setting, so settings are compared seed by seed.

One training job per network group (activation, width) trains every initializer x
setting (optimizer, convention, eps) x seed of the group at once: each model exactly as
alone (``train`` with one optimizer setting per model), at a fraction of the cost of a job
per setting (a tiny network's step is mostly Python overhead, paid once for all). A run file
is named by a hash of exactly what made it, so adding a cell trains only its file, and
changing the settings retrains every group. Every run records per-layer statistics at
initialization (epoch 0), where the layer-1 gradients that the explanation needs are read.

Precision follows the grid's (``grid.float32_from``): the cells are grid networks, so a
cell under the grid's optimizer setting is the grid's model, bit for bit.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import single_precision, training_args

TITLE = "The optimizer's epsilon: where it sits, and what that changes"
CATEGORY = "Epsilon study"
PREFIX = "E"

# The lecture's optimizer as we reconstruct it (Keras' RMSprop defaults): constants, never
# read from params. Where its eps sat is not known (it depends on the Keras version), so
# there is no lecture's convention: train.eps_convention is our choice.
LECTURE_OPTIMIZER = "rmsprop"
LECTURE_LR = 0.001
LECTURE_EPS = 1e-7
CONVENTIONS = ("keras", "pytorch")


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "epsilon"

    activations: list[str]  # the running example's activations
    init: str  # the running example's initializer
    width: int  # the running example's width (model.width)
    cells: list[dict]  # further networks: {"activation", "init", "width"}
    conventions: list[str]
    eps: list[float]  # sorted
    optimizers: list[str]
    seeds: int
    depth: int
    init_scale: float
    classifier_init: str | None
    batch_norm: list[int]
    float32_from: int | None  # the grid's: widths from which to train in single precision
    train: dict  # the train section of params.yaml but its optimizer, eps and seeds
    dataset: str  # the dataset file
    train_code: str  # hash of the training code: part of every run file's tag
    convention: str  # train.eps_convention: ours, which the rest of the report trains with
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)
    # the grid's seeds (train.seeds) when the grid trains the running example's sigmoid
    # network at RMSprop with the lecture's eps, as here under `convention` (same seed, same
    # run); None when it does not
    grid_seeds: int | None

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        e, m, t = params["epsilon"], params["model"], params["train"]
        own = ("optimizer", "eps", "eps_convention", "seeds")
        cells = [{"activation": c["activation"], "init": c["init"], "width": int(c["width"])}
                 for c in e["cells"]]
        g = params["grid"]
        as_grid = ("sigmoid" in e["activations"] and "sigmoid" in g["activations"]
                   and e["init"] in g["inits"] and t["optimizer"] == LECTURE_OPTIMIZER
                   and math.isclose(t["eps"], LECTURE_EPS, rel_tol=1e-9)
                   and t["eps_convention"] in e["conventions"])
        return cls(
            activations=list(e["activations"]), init=e["init"], width=m["width"],
            cells=cells, conventions=list(e["conventions"]), eps=sorted(e["eps"]),
            optimizers=list(e["optimizers"]), seeds=e["seeds"], depth=m["depth"],
            init_scale=m["init_scale"], classifier_init=m["classifier_init"],
            batch_norm=list(m["batch_norm"]), float32_from=params["grid"]["float32_from"],
            train={k: v for k, v in t.items() if k not in own},
            dataset=dataset, train_code=train_code, convention=t["eps_convention"],
            learns=asdict(Learns.from_params(params)), grid_seeds=t["seeds"] if as_grid else None,
        )

    # ------------------------------------------------------------ what it trains

    def networks(self) -> list[tuple[str, str, int]]:
        """``(activation, init, width)`` of every network: the running example's first,
        then the cells, without repeats."""
        running = [(a, self.init, self.width) for a in self.activations]
        cells = [(c["activation"], c["init"], c["width"]) for c in self.cells]
        return list(dict.fromkeys(running + cells))

    def running(self) -> list[tuple[str, str, int]]:
        return [(a, self.init, self.width) for a in self.activations]

    def groups(self) -> dict[tuple[str, int], list[str]]:
        """``(activation, width) -> initializers``: the networks one job trains together."""
        out: dict[tuple[str, int], list[str]] = {}
        for activation, init, width in self.networks():
            out.setdefault((activation, width), []).append(init)
        return out

    def float32(self, width: int) -> bool:
        return single_precision(width, self.float32_from)

    def settings(self) -> list[tuple[str, str, float]]:
        """``(optimizer, convention, eps)`` of every training setting."""
        return [(o, c, e) for o in self.optimizers for c in self.conventions for e in self.eps]

    def _tag(self, activation: str, width: int) -> str:
        """A hash of exactly what makes one run file (and the training code)."""
        what = dict(activation=activation, width=width, inits=self.groups()[(activation, width)],
                    settings=self.settings(), seeds=self.seeds, depth=self.depth,
                    init_scale=self.init_scale, classifier_init=self.classifier_init,
                    batch_norm=self.batch_norm, train=self.train, dataset=self.dataset)
        if self.float32(width):  # only then: double precision's files keep their names
            what["float32"] = True
        return tag("epsilon", what, self.train_code)

    def run_file(self, activation: str, width: int) -> str:
        return f"results/runs/epsilon/{activation}/w{width}-{self._tag(activation, width)}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a, w) for (a, w) in self.groups()]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation`` and ``width``, as Snakemake passes them): every setting of the
        study, the first one's as the base options."""
        activation, width = wildcards.activation, int(wildcards.width)
        inits = self.groups().get((activation, width))
        if inits is None:
            raise ValueError(f"no epsilon network group {activation}/w{width}; known: "
                             + ", ".join(f"{a}/w{w}" for a, w in self.groups()))
        settings = [{"name": o, "eps_convention": c, "eps": e} for o, c, e in self.settings()]
        first = settings[0]
        train = {**self.train, "optimizer": first["name"], "eps": first["eps"],
                 "eps_convention": first["eps_convention"]}
        return [
            "--activation", activation, "--init", *inits,
            "--width", width, "--depth", self.depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds), "--diagnostic-epochs", 0,
            # final accuracies only: the whole training set at the first and last epoch
            *training_args(train, classifier_init=self.classifier_init,
                           batch_norm=self.batch_norm, train_metrics=[0],
                           float32=self.float32(width)),
            "--settings", *(json.dumps(s) for s in settings),
        ]

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"runs": "runs.csv", "gradients": "gradients.csv"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return [("gradients.png", "gradients"), ("accuracy.png", "accuracy")]
