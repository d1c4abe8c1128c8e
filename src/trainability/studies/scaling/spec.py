"""The scaling study: what each layer passes on at initialization, and input scaling.

Two experiments (params.yaml ``scaling``):

- **at initialization** (one job, ``trainability scaling-init``, forward passes only):
  every activation x initialization (random_normal at each of ``init_stds``; the
  variance-scaled ``inits``), ``seeds`` networks each, with the running example's width
  (``model.width``: the network the lecture draws, which the claims judge) and with
  ``init_width`` units per hidden layer (wider, so that a histogram has a shape: the
  histograms are of these); statistics of every layer down to ``profile_depth``,
  histograms of the first ``model.depth``.
- **input scaling** (training): the running example (``model`` but its ``batch_norm``,
  ``train`` but its ``seeds``) on the grid's dataset (``raw``), on its features times
  ``input_scale`` (``scaled``) and on those standardized (``standardized``; both made by
  one ``trainability scaling-inputs`` job). One training job per input version x
  activation trains every initializer of ``train_inits`` x seed at once, without per-layer
  diagnostics (nothing reads them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import training_args

TITLE = "Scaling and initialization: what each layer passes on"
CATEGORY = "Scaling study"
PREFIX = "S"
VARIANTS = ("raw", "scaled", "standardized")
INPUTS = ("scaled", "standardized")  # the datasets this study makes (raw: the grid's)


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "scaling"

    activations: list[str]
    init_stds: list[float]
    inits: list[str]
    init_width: int
    depth: int  # the running example's: the histograms' layers and the claims' last layer
    profile_depth: int
    bins: int
    seeds: int
    input_scale: float
    train_inits: list[str]
    width: int  # the running example's, trained on each version of the inputs
    init_scale: float
    classifier_init: str | None
    train: dict  # the train section of params.yaml but its seeds
    data: dict  # the data section of params.yaml (for the Setup)
    learns: dict  # params.yaml's learns: Learns.of(spec) says which S4, S5 compare
    dataset: str  # the grid's dataset file: the raw inputs
    inputs_tag: str  # names the scaled and standardized datasets
    init_tag: str  # names the file of layer outputs at initialization
    tags: dict  # version of the inputs -> the tag that names its training run files

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str, runs_code: str,
                    inputs_code: str) -> Spec:
        """``train_code``, ``runs_code``, ``inputs_code``: hashes of the code of
        ``trainability train``, ``scaling-init`` (``runs.py``) and ``scaling-inputs``
        (``inputs.py``)."""
        s, m, t = params["scaling"], params["model"], params["train"]
        fields = dict(
            activations=list(s["activations"]), init_stds=[float(x) for x in s["init_stds"]],
            inits=list(s["inits"]), init_width=s["init_width"], depth=m["depth"],
            profile_depth=s["profile_depth"], bins=s["bins"], seeds=s["seeds"],
            input_scale=float(s["input_scale"]), train_inits=list(s["train_inits"]),
            width=m["width"], init_scale=m["init_scale"], classifier_init=m["classifier_init"],
            train={k: v for k, v in t.items() if k != "seeds"}, data=dict(params["data"]),
            # as given: Learns.of fills in its defaults (scoring imports pandas, and a spec
            # must stay light enough for Snakemake to import)
            learns=asdict(Learns.from_params(params)), dataset=dataset,
        )
        inputs_tag = tag("scaling-inputs", dataset, fields["input_scale"], inputs_code)
        init_keys = ("activations", "init_stds", "inits", "init_width", "width", "depth",
                     "profile_depth", "bins", "seeds")
        init_tag = tag("scaling-init", dataset, {k: fields[k] for k in init_keys}, runs_code)
        # not the activations (a run file is one activation's: adding one trains it only),
        # and the data by its file name (which carries its own tag): editing inputs.py
        # retrains on the scaled and standardized inputs, not on the raw ones
        train_keys = ("seeds", "train_inits", "width", "depth", "init_scale",
                      "classifier_init", "train")
        settings = {k: fields[k] for k in train_keys}
        data = {"raw": dataset} | {v: _input_file(v, inputs_tag) for v in INPUTS}
        tags = {v: tag("scaling", data[v], settings, train_code) for v in VARIANTS}
        return cls(**fields, inputs_tag=inputs_tag, init_tag=init_tag, tags=tags)

    # ------------------------------------------------------------ what it makes

    def input_file(self, variant: str) -> str:
        """The dataset of one version of the inputs (the grid's for ``raw``)."""
        return self.dataset if variant == "raw" else _input_file(variant, self.inputs_tag)

    def input_files(self) -> dict[str, str]:
        return {v: self.input_file(v) for v in VARIANTS}

    def data_of(self, wildcards) -> str:
        """The dataset a training job reads (Snakemake passes its ``variant``)."""
        return self.input_file(wildcards.variant)

    def init_file(self) -> str:
        return f"results/runs/scaling/init-{self.init_tag}.npz"

    def run_file(self, variant: str, activation: str) -> str:
        return f"results/runs/scaling/{variant}/{activation}-{self.tags[variant]}.npz"

    def train_files(self) -> list[str]:
        return [self.run_file(v, a) for v in VARIANTS for a in self.activations]

    def run_files(self) -> list[str]:
        """Every file the tables read besides the datasets: layer outputs, training runs."""
        return [self.init_file(), *self.train_files()]

    def inputs_args(self) -> list:
        return ["--data", self.dataset, "--scale", self.input_scale]

    def init_args(self) -> list:
        """The arguments of ``trainability scaling-init`` but ``--out``."""
        return [
            "--data", self.dataset, "--activations", *self.activations,
            "--stds", *self.init_stds, "--inits", *self.inits, "--depth", self.depth,
            "--profile-depth", self.profile_depth, "--widths", self.init_width, self.width,
            "--seeds", *range(self.seeds), "--bins", self.bins,
        ]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file but its data and output
        (``wildcards``: its ``variant`` and ``activation``)."""
        return [
            "--activation", wildcards.activation, "--init", *self.train_inits,
            "--width", self.width, "--depth", self.depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds), "--no-diagnostics",
            *training_args(self.train, classifier_init=self.classifier_init),
        ]

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"layers": "layers.csv", "histograms": "histograms.csv",
                "inputs": "inputs.csv", "runs": "runs.csv", "history": "history.csv.gz"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return ([(f"histograms_{a}.png", "histograms") for a in self.activations]
                + [("layer_scale.png", "layer_scale"), ("standardization.png",
                                                        "standardization")])


def _input_file(variant: str, inputs_tag: str) -> str:
    return f"results/data/scaling/{variant}-{inputs_tag}.npz"
