"""The size study ("how big should the network be?"): what it trains and writes.

Sub-studies, each switched by ``size.<name>.enabled``:

1. **width**: success rate (final test accuracy at least ``learns.accuracy``, the one
   meaning of "learns") over many seeds vs the width of a ReLU network of
   ``size.train.depth`` hidden layers; and why a seed fails: born dead (a hidden layer
   inactive on every fit point at initialization) or died in training (``born_dead.py``);
2. **dead**: activation-dead and norm-dead units of trained networks, without
   regularization, with L2 and with group lasso on units; the effective (live) width;
3. **lottery**: iterative magnitude pruning with rewinding (lottery tickets) against random
   re-initialization, random pruning, one-shot pruning, late rewinding and small dense
   networks with the same number of weights;
4. **structured**: a wide group-lasso network cut down to k units per layer, then
   fine-tuned, rewound to its initial weights or replaced by a width-k network from scratch.

Jobs: one dataset file per dataset; per dataset one training job for the width and dead-unit
studies (every width and regularizer), one for the lottery (every arm and level) and one for
structured pruning. Each run file is named by a hash of everything that makes it: its
dataset, the protocol, its own settings and the code it runs. ``quick: true`` trains fewer
widths and seeds (``quick``).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import ClassVar

from trainability.config import ConfigError, tag
from trainability.learns import Learns

TITLE = "How big should the network be?"
CATEGORY = "Size study"
PREFIX = "N"  # network size (scaling has S)
SUBSTUDIES = ("width", "dead", "lottery", "structured")
QUICK_WIDTH_MAX = 128  # quick: widths above this are left out of the width study
QUICK_DEAD_MAX = 64
FIGURES = {  # file name -> caption kind, per sub-study, in report order
    "width": ("width_success", "width_accuracy", "width_epochs"),
    "dead": ("dead_units", "dead_tau", "effective_width"),
    "lottery": ("lottery_accuracy", "lottery_early_stop", "lottery_weights"),
    "structured": ("structured",),
}
TABLES = {
    "width": ("width_runs", "width", "born_dead_runs", "born_dead"),
    "dead": ("width_runs", "dead_runs", "dead"),  # width_runs: every model of the width jobs
    "lottery": ("lottery_runs", "lottery"),
    "structured": ("structured_runs", "structured", "structured_live"),
}


def quick(size: dict) -> dict:
    """The ``size:`` section with ``quick: true`` applied (a deep copy): widths above 128
    are dropped from the width study and above 64 from the dead-unit study; seeds become
    40 (narrow), 20 (medium), 10 (wide), 5 for the regularized and lottery runs and 20 for
    structured pruning; one re-initialization draw per ticket."""
    s = copy.deepcopy(size)
    if not s["quick"]:
        return s
    w, d, lot, st = s["width"], s["dead"], s["lottery"], s["structured"]
    w["widths"] = [x for x in w["widths"] if x <= QUICK_WIDTH_MAX] or w["widths"][:1]
    w["seeds_narrow"] = min(w["seeds_narrow"], 40)
    w["seeds"] = min(w["seeds"], 20)
    w["seeds_wide"] = min(w["seeds_wide"], 10)
    d["widths"] = [x for x in d["widths"] if x <= QUICK_DEAD_MAX] or d["widths"][:1]
    d["seeds"] = min(d["seeds"], 5)
    lot["seeds"] = min(lot["seeds"], 5)
    lot["reinit_draws"] = 1
    st["seeds"] = min(st["seeds"], 20)
    return s


def problems(size: dict) -> list[str]:
    """What the schema cannot see in the ``size:`` section, each naming its key."""
    out = []
    names = [d["name"] for d in size["datasets"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        out.append(f"size.datasets: {', '.join(twice)} listed more than once")
    data, train = size["data"], size["train"]
    n_test = int(round(data["n_samples"] * data["test_fraction"]))
    n_rest = data["n_samples"] - n_test
    n_val = int(round(n_rest * data["validation_fraction"]))
    n_fit = n_rest - n_val
    if min(n_test, n_val, n_fit) < 1:
        out.append(
            f"size.data: {data['n_samples']} points leave {n_fit} to fit, {n_val} to validate "
            f"and {n_test} to test; each needs >= 1 (n_samples, test_fraction, "
            "validation_fraction)")
    elif train["batch_size"] > n_fit:
        out.append(f"size.train.batch_size: {train['batch_size']} is larger than the "
                   f"{n_fit} points trained on; allowed: 1..{n_fit}")
    lot = size["lottery"]
    if lot["rewind_epoch"] >= train["epochs"]:
        out.append(f"size.lottery.rewind_epoch: {lot['rewind_epoch']} must be below "
                   f"size.train.epochs ({train['epochs']})")
    if max(lot["rates"].values()) <= 0:
        out.append("size.lottery.rates: at least one rate must be > 0")
    st = size["structured"]
    if not any(k < st["width"] for k in st["widths"]):
        out.append(f"size.structured.widths: none is below size.structured.width "
                   f"({st['width']})")
    return out


@dataclass(frozen=True)
class Spec:
    study: ClassVar[str] = "size"

    quick: bool
    datasets: list[dict]  # {name, noise}
    data: dict  # size.data: how each dataset file is made and split
    train: dict  # size.train: the protocol of every network
    width: dict
    dead: dict
    lottery: dict
    structured: dict
    data_code: str  # hash of the dataset job's code
    train_code: str  # hash of the training jobs' code
    learns: dict  # params.yaml's learns (learns.Learns.of reads it)

    @classmethod
    def from_params(cls, params: dict, data_code: str, train_code: str) -> Spec:
        size = params["size"]
        found = problems(size)
        if found:
            raise ConfigError("params.yaml is invalid:\n" + "\n".join(f"  - {p}" for p in found))
        s = quick(size)
        # learns as a plain dict: scoring.Learns would import pandas into Snakemake's parse
        return cls(quick=s["quick"],
                   datasets=[{"name": d["name"], "noise": d["noise"]} for d in s["datasets"]],
                   data=s["data"], train=s["train"], width=s["width"], dead=s["dead"],
                   lottery=s["lottery"], structured=s["structured"], data_code=data_code,
                   train_code=train_code, learns=asdict(Learns.from_params(params)))

    def enabled(self, sub: str) -> bool:
        return bool(getattr(self, sub)["enabled"])

    def substudies(self) -> list[str]:
        return [s for s in SUBSTUDIES if self.enabled(s)]

    def names(self) -> list[str]:
        return [d["name"] for d in self.datasets]

    # ------------------------------------------------------------ datasets

    def _dataset(self, name: str) -> dict:
        return next(d for d in self.datasets if d["name"] == name)

    def dataset_tag(self, name: str) -> str:
        """Everything a dataset file depends on (not the validation split, which the
        training jobs make)."""
        d = self._dataset(name)
        data = {k: v for k, v in self.data.items() if k != "validation_fraction"}
        return tag({"name": name, "noise": d["noise"]}, data, self.data_code)

    def dataset_file(self, name: str) -> str:
        return f"results/data/size/{name}-{self.dataset_tag(name)}.npz"

    def dataset_input(self, wildcards) -> str:
        return self.dataset_file(wildcards.dataset)

    def dataset_args(self, wildcards) -> list:
        d, spec = self.data, self._dataset(wildcards.dataset)
        return ["--name", spec["name"], "--noise", spec["noise"], "--n-samples",
                d["n_samples"], "--factor", d["factor"], "--test-fraction", d["test_fraction"],
                "--seed", d["seed"]]

    # ------------------------------------------------------------ what it trains

    def width_seeds(self, width: int) -> int:
        """Seeds of an unregularized width: more where the answer is noisy (narrow
        networks), fewer where training is expensive (wide ones)."""
        w = self.width
        if width <= w["narrow_up_to"]:
            return w["seeds_narrow"]
        return w["seeds_wide"] if width >= w["wide_from"] else w["seeds"]

    def unregularized_widths(self) -> list[int]:
        """The width study's widths, and the dead-unit study's (whose unregularized networks
        are the width study's seeds of those widths)."""
        widths = set(self.width["widths"]) if self.enabled("width") else set()
        if self.enabled("dead"):
            widths |= set(self.dead["widths"])
        return sorted(widths)

    def regularized_widths(self) -> list[int]:
        return sorted(self.dead["widths"]) if self.enabled("dead") else []

    def _protocol_args(self) -> list:
        t = self.train
        args = ["--depth", t["depth"], "--init", t["init"], "--optimizer", t["optimizer"],
                "--lr", t["lr"], "--batch-size", t["batch_size"], "--epochs", t["epochs"],
                "--validation-fraction", self.data["validation_fraction"]]
        if t["float32_from"] is not None:
            args += ["--float32-from", t["float32_from"]]
        return args

    def train_args(self, wildcards) -> list:
        """``trainability size-train``: every width of the width and dead-unit studies."""
        widths = self.unregularized_widths()
        args = self._protocol_args() + ["--widths", *widths,
                                        "--seeds", *map(self.width_seeds, widths)]
        if self.regularized_widths():
            args += ["--regularized-widths", *self.regularized_widths(),
                     "--regularized-seeds", self.dead["seeds"], "--l2", self.dead["l2"],
                     "--group-lasso", self.dead["group_lasso"]]
        return args

    def lottery_args(self, wildcards) -> list:
        lo = self.lottery
        r = lo["rates"]
        return self._protocol_args() + [
            "--width", lo["width"], "--seeds", lo["seeds"],
            "--rates", r["first"], r["hidden"], r["output"],
            "--target-density", lo["target_density"], "--draws", lo["reinit_draws"],
            "--rewind-epoch", lo["rewind_epoch"]]

    def structured_args(self, wildcards) -> list:
        st = self.structured
        return self._protocol_args() + [
            "--width", st["width"], "--seeds", st["seeds"], "--group-lasso", st["group_lasso"],
            "--widths", *st["widths"], "--tau", self.dead["tau"],
            "--finetune-epochs", st["finetune_epochs"]]

    def _run_file(self, kind: str, name: str) -> str:
        args = getattr(self, {"width": "train_args", "lottery": "lottery_args",
                              "structured": "structured_args"}[kind])(None)
        t = tag(self.dataset_tag(name), [str(a) for a in args], self.train_code)
        return f"results/runs/size/{kind}/{name}-{t}.npz"

    def width_files(self) -> list[str]:
        if not (self.enabled("width") or self.enabled("dead")):
            return []
        return [self._run_file("width", n) for n in self.names()]

    def lottery_files(self) -> list[str]:
        return [self._run_file("lottery", n) for n in self.names()] \
            if self.enabled("lottery") else []

    def structured_files(self) -> list[str]:
        return [self._run_file("structured", n) for n in self.names()] \
            if self.enabled("structured") else []

    def run_files(self) -> list[str]:
        return self.width_files() + self.lottery_files() + self.structured_files()

    # ------------------------------------------------------------ what it writes

    def tables(self) -> dict[str, str]:
        subs = self.substudies()
        names = [*(["splits"] if subs else []), *(n for sub in subs for n in TABLES[sub])]
        return {name: f"{name}.csv" for name in dict.fromkeys(names)}

    def figures(self) -> list[tuple[str, str]]:
        """``(file name, caption kind)`` of every figure, in report order."""
        return [(f"{kind}.png", kind) for sub in self.substudies() for kind in FIGURES[sub]]
