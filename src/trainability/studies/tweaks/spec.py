"""Improving trainability: which optimizer, learning rate, schedule or L2 penalty lets each
activation of the running example learn.

Two sweeps over the running example (``tweaks.init`` weights), per hidden activation:

- optimizer x learning rate: every optimizer of ``tweaks.optimizers`` at every rate of
  ``tweaks.lrs``, with the train section's schedule, warm-up and L2 (variant ``base``);
- variant x learning rate: ``tweaks.variant_optimizer`` with each named variant of
  ``tweaks.variants`` (a schedule, a linear warm-up, an L2 penalty) at the same rates.

Every model fits on the training points minus a validation share
(``tweaks.validation_fraction``); every choice (best rate, best variant, one setting for
all activations) is made on the validation points, and the test set, evaluated once after
training, reports the chosen setting.

One job per activation trains every configuration (optimizer x variant) x learning rate x
seed at once, each model exactly as alone (a seed starts from the same weights and sees the
same batches at every rate and in every configuration). A run file's name carries a hash of
everything that made it but the activation in its path, so adding an activation trains
only that; changing an optimizer, a variant or ``tweaks.lrs`` retrains every file, and
``train.lr`` and ``train.optimizer`` retrain nothing (the lecture's setting here is the
constant ``LECTURE``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import training_args

TITLE = "Improving trainability: optimizer, learning rate, schedule and L2"
CATEGORY = "Improving trainability"
PREFIX = "T"
BASE = "base"  # the variant with the train section's schedule, warm-up and L2
LECTURE = {"optimizer": "rmsprop", "lr": 0.001}  # the lecture's setting, whatever params say
VARIANT_KEYS = ("schedule", "warmup_epochs", "l2")
TRAIN_KEYS = ("momentum", "eps", "eps_convention", "batch_size", "epochs", *VARIANT_KEYS)


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "tweaks"

    activations: list[str]
    init: str
    width: int
    depth: int
    init_scale: float
    classifier_init: str | None
    batch_norm: list[int]
    train: dict  # TRAIN_KEYS of the train section (the base variant's schedule, warm-up, L2)
    optimizers: list[str]
    lrs: list[float]  # sorted
    variant_optimizer: str
    variants: dict  # name -> {schedule, warmup_epochs, l2}
    seeds: int
    validation_fraction: float
    dataset: str  # the dataset file
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)
    grid: dict  # how the grid trains the same network (seeds, optimizer, lr): for the report
    tag: str  # of every run file: a hash of what made it but the activation

    @classmethod
    def from_params(cls, params: dict, dataset: str, train_code: str) -> Spec:
        tw, m, t = params["tweaks"], params["model"], params["train"]
        fields = dict(
            activations=list(tw["activations"]), init=tw["init"], width=m["width"],
            depth=m["depth"], init_scale=m["init_scale"], classifier_init=m["classifier_init"],
            batch_norm=list(m["batch_norm"]), train={k: t[k] for k in TRAIN_KEYS},
            optimizers=list(tw["optimizers"]), lrs=sorted(float(r) for r in tw["lrs"]),
            variant_optimizer=tw["variant_optimizer"],
            # by name: the order a spec's JSON (sorted keys) gives its jobs, so that a model's
            # setting index names the same variant everywhere
            variants={k: dict(tw["variants"][k]) for k in sorted(tw["variants"])},
            seeds=tw["seeds"],
            validation_fraction=tw["validation_fraction"], dataset=dataset,
            learns=asdict(Learns.from_params(params)),
            grid={"seeds": t["seeds"], "optimizer": t["optimizer"], "lr": t["lr"]},
        )
        # what every run file shares (the activation is in its path): each configuration's
        # settings rather than the train section's schedule, warm-up and L2; nothing the
        # models do not depend on (how they are judged, what the grid does)
        shared = {k: v for k, v in fields.items()
                  if k not in ("activations", "optimizers", "variant_optimizer", "variants",
                               "learns", "grid")}
        shared["train"] = {k: v for k, v in t.items() if k in TRAIN_KEYS
                           and k not in VARIANT_KEYS}
        spec = cls(**fields, tag="")
        return cls(**fields, tag=tag("tweaks", shared, spec.settings(), train_code))

    # ------------------------------------------------------------ what it trains

    def variant_settings(self, variant: str) -> dict:
        """Schedule, warm-up and L2 of a variant; ``base`` is the train section's."""
        return _settings({"train": self.train, "variants": self.variants}, variant)

    def configurations(self) -> list[tuple[str, str]]:
        """``(optimizer, variant)``: every optimizer with the base variant, then the variant
        optimizer with its base (the variants' reference) and every variant."""
        vo = self.variant_optimizer
        pairs = [(o, BASE) for o in self.optimizers] + [(vo, BASE)]
        return list(dict.fromkeys(pairs + [(vo, v) for v in self.variants]))

    @property
    def target(self) -> str:
        """The activation the claims are about: sigmoid, the lecture's failing network."""
        return "sigmoid" if "sigmoid" in self.activations else self.activations[0]

    def settings(self) -> list[dict]:
        """The optimizer settings of every configuration, in ``configurations`` order."""
        return [{"name": o, **self.variant_settings(v)} for o, v in self.configurations()]

    def run_file(self, activation: str) -> str:
        return f"results/runs/tweaks/{activation}-{self.tag}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a) for a in self.activations]

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation``): every configuration x learning rate x seed, losses and accuracies
        only (no per-layer diagnostics: nothing here reads them)."""
        settings = self.settings()
        train = {**self.train, **settings[0], "optimizer": settings[0]["name"]}
        return [
            "--activation", wildcards.activation, "--init", self.init, "--width", self.width,
            "--depth", self.depth, "--init-scale", self.init_scale,
            "--seeds", *range(self.seeds), "--no-diagnostics",
            "--validation-fraction", self.validation_fraction,
            *training_args(train, lrs=self.lrs, classifier_init=self.classifier_init,
                           batch_norm=self.batch_norm),
            "--settings", *(json.dumps(s) for s in settings),
        ]

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"runs": "runs.csv", "history": "history.csv.gz", "summary": "summary.csv",
                "choices": "choices.csv", "starts": "starts.csv"}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return [("lr_sweep.png", "lr_sweep"), ("chosen.png", "chosen"),
                ("best_curves.png", "best_curves")]


def _settings(fields: dict, variant: str) -> dict:
    source = fields["train"] if variant == BASE else fields["variants"][variant]
    return {k: source[k] for k in VARIANT_KEYS}
