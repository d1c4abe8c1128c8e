"""The lecture side by side: its figures redrawn as it drew them, and every value read off
them (``values.py``) beside ours, from the runs the other studies train.

The study trains nothing. It reads the run files of the networks the lecture drew, by the
names the studies that train them give them (each study's own ``Spec`` makes the name), so
``snakemake lecture`` makes exactly files the full pipeline makes, and a full run after it
has none of that work left:

- loss and accuracy per epoch, RandomNormal(1) and zero weights: the grid's run files at
  the running width (each holds every initializer x seed of one activation);
- per-layer gradients per epoch: the gradient study's runs at the running depth (they record
  every epoch), and for claim G1 its sigmoid runs at every depth;
- batch norm between hidden layers ``after_layer`` and the next: the batch-norm study's
  runs with that placement, and its sigmoid run without batch norm (claims B1, B3);
- layer outputs at initialization at the running width: forward passes in the tables stage
  (no training: ``seeds`` networks per activation and std).

A part whose study is switched off, or does not train an activation, is left out (its
values show "not trained"). The running-example claims (1-4, G1, B1, B3) are judged on these
runs by the studies' own claim functions (``claims.py``) for ``results/lecture.md``; the
study has no claims of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.learns import Learns
from trainability.studies.batchnorm.spec import NONE
from trainability.studies.batchnorm.spec import Spec as BatchnormSpec
from trainability.studies.gradients.spec import Spec as GradientsSpec
from trainability.studies.grid.spec import Spec as GridSpec
from trainability.studies.lecture.values import KINDS

TITLE = "The lecture side by side"
CATEGORY = "The lecture side by side"
PREFIX = "L"  # no claims of its own: the running example's are the studies'
ACTIVATIONS = ("relu", "sigmoid", "tanh")  # the lecture's columns
INIT = "random_normal"  # the lecture's RandomNormal(0, 1)
STDS = (1.0, 0.01)  # the lecture's two histogram figures
CURVES = ("random_normal", "zeros", "batch_norm")  # its loss-and-accuracy figures
REPORT = "results/lecture.md"  # the lecture in a minute (report.py)


def std_name(std: float) -> str:
    """``std 1``, ``std 0.01``: a histogram figure's setting, as the values name it."""
    return f"std {std:g}"


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "lecture"

    width: int
    depth: int
    epochs: int
    seeds: int  # networks per activation and std for the layer outputs at initialization
    bins: int
    tolerance: dict  # kind -> absolute tolerance of a read-off value; "relative"
    after_layer: int
    setup: dict  # ours, in the keys of batchnorm.spec.LECTURE_SETUP and eps_convention
    grid_activations: list[str]  # what the grid trains (its claim 4 judges them all)
    grid_files: dict  # activation -> the grid's run file at the running width
    grid_inits: list[str]  # the initializers every grid file holds
    claims_init: str  # the grid's claims' initializer (its spec's lecture_init)
    gradient_files: dict  # activation -> the gradient study's run at the running depth
    gradients_init: str  # the initializer of the gradient figure (its running_init)
    gradient_depths: dict  # str(depth) -> the sigmoid network's gradient run (G1)
    bn_files: dict  # activation -> the batch-norm study's run with batch norm
    bn_none: str  # its sigmoid run without batch norm ("" if not trained)
    bn_init: str
    placement: str  # the batch-norm study's name of the lecture's placement
    bn_placements: list[str]  # every batch-norm placement the study trains (B1, B3 there)
    dataset: str
    learns: dict

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        """``train_code``: the hash of ``trainability train``'s code, as the grid, gradient
        and batch-norm rules pass it to their specs (it names their run files)."""
        lec, m, t = params["lecture"], params["model"], params["train"]
        missing = [k for k in KINDS + ("relative",) if k not in lec["tolerance"]]
        if missing:
            raise ValueError(f"lecture.tolerance: missing {', '.join(missing)}")
        grid = GridSpec.from_params(params, dataset, train_code)
        fields = dict(
            width=m["width"], depth=m["depth"], epochs=t["epochs"], seeds=lec["seeds"],
            bins=lec["bins"], tolerance=dict(lec["tolerance"]), after_layer=lec["after_layer"],
            setup={"init": grid.lecture_init,
                   **{k: m[k] for k in ("init_scale", "classifier_init", "width", "depth")},
                   **{k: t[k] for k in ("optimizer", "lr", "eps", "batch_size", "epochs",
                                        "eps_convention")}},
            grid_activations=list(grid.activations),
            grid_files={a: grid.run_file(a, grid.width) for a in ACTIVATIONS
                        if a in grid.activations},
            grid_inits=list(grid.inits), claims_init=grid.lecture_init,
            gradient_files={}, gradients_init="", gradient_depths={}, bn_files={},
            bn_none="", bn_init="", placement=f"after{lec['after_layer']}", bn_placements=[],
            dataset=dataset,
            learns=asdict(Learns.from_params(params)),
        )
        if params["gradients"]["enabled"]:
            g = GradientsSpec.from_params(params, dataset, train_code)
            fields.update(
                gradient_files={a: g.run_file(a, g.depth) for a in ACTIVATIONS
                                if a in g.activations},
                gradients_init=g.running_init,
                gradient_depths={str(d): g.run_file("sigmoid", d) for d in g.depths}
                if "sigmoid" in g.activations else {})
        if params["batchnorm"]["enabled"]:
            b = BatchnormSpec.from_params(params, dataset, train_code)
            if fields["placement"] not in b.placements:
                raise ValueError(
                    f"lecture.after_layer: {lec['after_layer']} is not a placement the "
                    f"batch-norm study trains ({', '.join(b.placements)}); add it to "
                    "batchnorm.after_layers, whose runs the lecture study reads")
            fields.update(bn_files={a: b.run_file(a, fields["placement"]) for a in ACTIVATIONS
                                    if a in b.activations},
                          bn_none=b.run_file("sigmoid", NONE) if "sigmoid" in b.activations
                          else "", bn_init=b.init,
                          bn_placements=[p for p in b.placements if p != NONE])
        return cls(**fields)

    # ------------------------------------------------------------ what it reads

    def curve_files(self, source: str) -> dict[str, str]:
        """activation -> the run file of one loss-and-accuracy figure (``CURVES``), those
        trained with the lecture's initializer (zeros for ``zeros``)."""
        if source == "batch_norm":
            return dict(self.bn_files) if self.bn_init == INIT else {}
        init = "zeros" if source == "zeros" else INIT
        return dict(self.grid_files) if init in self.grid_inits else {}

    def gradient_figure_files(self) -> dict[str, str]:
        return dict(self.gradient_files) if self.gradients_init == INIT else {}

    def trained(self, source: str, activation: str) -> bool:
        """Whether ours has the network a lecture value of ``source`` is about."""
        if source in CURVES:
            return activation in self.curve_files(source)
        if source == "gradients":
            return activation in self.gradient_figure_files()
        return True  # the layer outputs at initialization: computed in the tables stage

    def run_files(self) -> list[str]:
        files = [*self.grid_files.values(), *self.gradient_files.values(),
                 *self.gradient_depths.values(), *self.bn_files.values(),
                 *([self.bn_none] if self.bn_none else [])]
        return sorted(set(files))

    def tolerance_of(self, kind: str, value: float) -> float:
        """How far a read-off value may be from ours: ``max(absolute of its kind, relative
        x |value|)``."""
        return max(float(self.tolerance[kind]), float(self.tolerance["relative"]) * abs(value))

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"curves": "curves.csv.gz", "gradients": "gradients.csv.gz",
                "outputs": "outputs.csv", "histograms": "histograms.csv",
                "values": "values.csv", "claims": "claims.csv"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in the lecture's order."""
        out = [(f"loss_acc_{s}.png", "curves") for s in CURVES[:2] if self.curve_files(s)]
        if self.gradient_figure_files():
            out.append(("gradients.png", "gradients"))
        out += [(f"histograms_std{s:g}.png", "histograms") for s in STDS]
        if self.curve_files("batch_norm"):
            out.append(("loss_acc_batch_norm.png", "curves"))
        return out

