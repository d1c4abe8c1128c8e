"""The robustness study: the running example's claims under one-factor variants.

A **variant** is a params override of the lecture's setting: ``{"train.lr": {"times": 3}}``
(a number times the setting's own value) or ``{"train.optimizer": "adam"}`` (a value). For
each variant the study trains what the running-example claims need, at the running width
and depth: relu, sigmoid and tanh with random_normal and zero weights (claims 1-4; G1 from
the same networks' gradients at initialization), and the sigmoid network with batch
normalization after one hidden layer (B1, B3). Every network of every variant has the same
seeds.

Training is shared where the results are the same by construction:

- variants that differ only in optimizer settings (optimizer, learning rate, momentum, eps
  and its placement) train in one job per activation and placement, one setting per model;
- a variant that differs from a longer one only in ``train.epochs`` (a constant schedule,
  no warm-up) is read off the longer run at its epoch: the models are the same up to there;
- a variant's dataset is the running example's file when its data section is the same.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import ClassVar

from trainability.config import tag
from trainability.learns import Learns
from trainability.study import single_precision, training_args

TITLE = "Robustness: where the running example's claims hold"
CATEGORY = "Robustness study"
PREFIX = "R"
BASELINE = "lecture"  # the variant that changes nothing
ACTIVATIONS = ("relu", "sigmoid", "tanh")
INITS = ("random_normal", "zeros")
NONE = "none"  # a placement: no batch norm
# what a variant may change; the optimizer keys train together in one job
OPTIMIZER_KEYS = ("train.optimizer", "train.lr", "train.momentum", "train.eps",
                  "train.eps_convention")
KEYS = OPTIMIZER_KEYS + ("train.epochs", "train.batch_size", "model.width",
                         "model.classifier_init", "data.noise", "data.seed",
                         "data.n_samples")
DATA_KEYS = ("name", "n_samples", "noise", "factor", "test_fraction", "scale",
             "standardize", "seed")


def resolve(params: dict, name: str, overrides: dict) -> dict:
    """``params`` with a variant's overrides applied; an unknown key or a bad value is a
    ValueError naming the variant and the key."""
    out = copy.deepcopy(params)
    for key, value in overrides.items():
        if key not in KEYS:
            raise ValueError(f"robustness.variants.{name}: {key!r} cannot be varied; "
                             f"allowed: {', '.join(KEYS)}")
        section, field = key.split(".")
        base = params[section][field]
        if isinstance(value, dict):
            if set(value) != {"times"} or isinstance(base, bool) or \
                    not isinstance(base, int | float):
                raise ValueError(f"robustness.variants.{name}.{key}: {{times: x}} needs a "
                                 f"number to multiply, got {value!r} for {base!r}")
            value = base * value["times"]
            # 0.001 x 0.3 is 0.00030000000000000003 in binary: 12 digits say what was meant
            value = int(round(value)) if isinstance(base, int) else float(f"{value:.12g}")
        out[section][field] = value
    if out["train"]["epochs"] < 1 or out["model"]["width"] < 1 or \
            out["train"]["batch_size"] < 1:
        raise ValueError(f"robustness.variants.{name}: epochs, width and batch size must be "
                         "at least 1")
    return out


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "robustness"

    names: list[str]  # the variants in report order, the lecture's setting first
    variants: dict  # name -> its overrides (a spec's JSON sorts a dict's keys: names orders)
    resolved: dict  # name -> {"data", "model", "train"} as the variant trains
    seeds: int
    after_layer: int  # batch norm's placement for B1 and B3
    float32_from: int | None
    data_code: str
    train_code: str
    dataset: str  # the running example's dataset file
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)

    @classmethod
    def from_params(cls, params: dict, dataset: str, data_code: str, train_code: str) -> Spec:
        r = params["robustness"]
        if not 1 <= r["after_layer"] <= params["model"]["depth"]:
            raise ValueError(f"robustness.after_layer: layer {r['after_layer']} does not "
                             f"exist; allowed: 1..{params['model']['depth']} (model.depth)")
        if BASELINE in r["variants"]:
            raise ValueError(f"robustness.variants: {BASELINE!r} is the lecture's setting "
                             "itself; give the variant another name")
        variants = {BASELINE: {}, **{k: dict(v) for k, v in r["variants"].items()}}
        resolved = {}
        for name, overrides in variants.items():
            p = resolve(params, name, overrides)
            resolved[name] = {"data": {k: p["data"][k] for k in DATA_KEYS},
                              "model": dict(p["model"]),
                              "train": {k: v for k, v in p["train"].items() if k != "seeds"}}
        return cls(names=list(variants), variants=variants, resolved=resolved, seeds=r["seeds"],
                   after_layer=r["after_layer"], float32_from=params["grid"]["float32_from"],
                   data_code=data_code, train_code=train_code, dataset=dataset,
                   learns=asdict(Learns.from_params(params)))

    # ------------------------------------------------------------ data

    def data_file(self, variant: str) -> str:
        data = self.resolved[variant]["data"]
        if data == self.resolved[BASELINE]["data"]:
            return self.dataset
        return f"results/data/robustness/{data['name']}-{tag(data, self.data_code)}.npz"

    def data_files(self) -> list[str]:
        """The datasets the study makes (not the running example's)."""
        return sorted({self.data_file(v) for v in self.names} - {self.dataset})

    def dataset_args(self, wildcards) -> list:
        data = next(self.resolved[v]["data"] for v in self.names
                    if self.data_file(v).endswith(f"-{wildcards.tag}.npz"))
        return ["--name", data["name"], "--n-samples", data["n_samples"], "--noise",
                data["noise"], "--factor", data["factor"], "--test-fraction",
                data["test_fraction"], "--scale", data["scale"], "--seed", data["seed"],
                *(["--standardize"] if data["standardize"] else [])]

    # ------------------------------------------------------------ what it trains

    def networks(self) -> list[tuple[str, str]]:
        """``(activation, placement)`` of every network kind a variant trains."""
        return [(a, NONE) for a in ACTIVATIONS] + [("sigmoid", self.placement)]

    @property
    def placement(self) -> str:
        return f"after{self.after_layer}"

    @staticmethod
    def setting(resolved: dict) -> dict:
        """A variant's optimizer setting, as one model of a job trains it."""
        t = resolved["train"]
        return {"name": t["optimizer"], "lr": t["lr"], "momentum": t["momentum"],
                "eps": t["eps"], "eps_convention": t["eps_convention"]}

    @staticmethod
    def shape(resolved: dict) -> dict:
        """What a job shares: the variant's settings but the optimizer's and the epochs."""
        train = {k: v for k, v in resolved["train"].items()
                 if f"train.{k}" not in OPTIMIZER_KEYS and k != "epochs"}
        return {"data": resolved["data"], "model": resolved["model"], "train": train}

    def readable_off(self, shape: dict) -> bool:
        """Whether a shorter run equals a longer one up to its last epoch."""
        return shape["train"]["schedule"] == "constant" and shape["train"]["warmup_epochs"] == 0

    def plan(self) -> dict[str, dict]:
        """variant -> {"job": its job's key, "epochs": the job's, "epoch": the epoch its
        results are read at, "setting": its index among the job's settings}."""
        return self._planned[0]

    def jobs(self) -> dict[str, dict]:
        """job key -> what it trains: one run file per network, named by the key (a hash of
        its shape, epochs, settings, the epochs read off it, seeds and code)."""
        return self._planned[1]

    @cached_property
    def _planned(self) -> tuple[dict, dict]:
        groups: dict[str, list[str]] = {}
        for v in self.names:
            groups.setdefault(json.dumps(self.shape(self.resolved[v]), sort_keys=True),
                              []).append(v)
        jobs: dict[str, dict] = {}
        plan = {}
        for members in groups.values():
            shape = self.shape(self.resolved[members[0]])
            epochs = {v: self.resolved[v]["train"]["epochs"] for v in members}
            trained = {}  # epochs -> settings trained for that long
            for v in sorted(members, key=lambda v: -epochs[v]):
                s = self.setting(self.resolved[v])
                longer = [e for e, ss in trained.items() if e >= epochs[v] and s in ss]
                if longer and self.readable_off(shape):
                    plan[v] = {"epochs": min(longer), "epoch": epochs[v]}
                else:
                    trained.setdefault(epochs[v], [])
                    if s not in trained[epochs[v]]:
                        trained[epochs[v]].append(s)
                    plan[v] = {"epochs": epochs[v], "epoch": epochs[v]}
            for e, settings in trained.items():
                read = sorted({p["epoch"] for v, p in plan.items() if v in members
                               and p["epochs"] == e})
                key = tag("robustness", shape, e, settings, read, self.seeds, self.after_layer,
                          self.float32(shape), self.train_code)
                jobs[key] = {"shape": shape, "epochs": e, "settings": settings, "read": read,
                             "variant": next(v for v in members if plan[v]["epochs"] == e)}
            for v in members:
                e = plan[v]["epochs"]
                plan[v]["job"] = next(k for k, j in jobs.items()
                                      if j["shape"] == shape and j["epochs"] == e)
                plan[v]["setting"] = jobs[plan[v]["job"]]["settings"].index(
                    self.setting(self.resolved[v]))
        return plan, jobs

    def float32(self, shape: dict) -> bool:
        return single_precision(shape["model"]["width"], self.float32_from)

    def run_file(self, activation: str, placement: str, job: str) -> str:
        return f"results/runs/robustness/{activation}/{placement}-{job}.npz"

    def run_files(self) -> list[str]:
        return [self.run_file(a, p, k) for k in self.jobs() for a, p in self.networks()]

    def job_data(self, wildcards) -> str:
        return self.data_file(self.jobs()[wildcards.tag]["variant"])

    def train_args(self, wildcards) -> list:
        """The arguments of ``trainability train`` for one run file (``wildcards``: its
        ``activation``, ``placement`` and ``tag``, the job's key)."""
        job = self.jobs().get(wildcards.tag)
        if job is None:
            raise ValueError(f"no robustness job {wildcards.tag}")
        shape, settings = job["shape"], job["settings"]
        model, bn = shape["model"], wildcards.placement != NONE
        inits = ["random_normal"] if bn else list(INITS)
        first = settings[0]
        train = {**shape["train"], "epochs": job["epochs"], "optimizer": first["name"],
                 "lr": first["lr"], "momentum": first["momentum"], "eps": first["eps"],
                 "eps_convention": first["eps_convention"]}
        args = [
            "--activation", wildcards.activation, "--init", *inits, "--width", model["width"],
            "--depth", model["depth"], "--init-scale", model["init_scale"],
            "--seeds", *range(self.seeds), "--diagnostic-epochs", 0,
            *training_args(train, classifier_init=model["classifier_init"],
                           batch_norm=[self.after_layer] if bn else [],
                           train_metrics=[0, *job["read"]], float32=self.float32(shape)),
        ]
        if len(settings) > 1:
            args += ["--settings", *(json.dumps(s, sort_keys=True) for s in settings)]
        return args

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        return {"models": "models.csv", "verdicts": "verdicts.csv"}

    def figures(self) -> list[tuple[str, str]]:
        return [("map.png", "map"), ("sigmoid.png", "sigmoid")]
