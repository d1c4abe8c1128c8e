"""What a job will cost before it runs: its peak memory and CPU seconds, from its parameters.

The workflow asks this while it parses (``rulekit.py``): every rule declares ``mem_mb``
and ``runtime`` from it, a job that cannot fit is refused before anything runs, and the
CPU time of what is out of date is printed. Snakemake imports this module: no NumPy.

Memory of a ``trainability train`` job (K models, P parameters each, N training and
N' test points, width W, depth D, E epochs; f = 8 bytes, 4 in float32) counts the arrays
alive at its peak, read off ``jobs.py``, ``train.py`` and ``optim.py``:

- the process: Python, NumPy and trainability with the dataset loaded (``BASELINE``);
- parameter-shaped ``(K, P)`` arrays: the job's and the run's initial parameters, the
  parameters, their gradient, the diagnostics' gradient, the optimizer's state and scratch,
  and every checkpoint;
- the largest evaluation pass: a forward pass over the training set keeps the
  pre-activation and activation of every hidden layer, ``2 D`` arrays of ``(K, N, W)``
  (two more per batch-norm layer), still held while the test set's pass runs, plus about
  three temporaries of the diagnostics' backward pass;
- the history, ``(K, E + 1)`` float64 per scalar and per layer statistic;
- the learning rate of every step (a Python float each) and the epoch's shuffled copies.

CPU seconds = start-up + per-step overhead x steps x layers (Python and NumPy call
overhead: what dominates up to width 64; and per model, as NumPy's stacked matrix products
call BLAS once per model) + arithmetic: model-points x (weights + units x
the activation's cost) for matrix products and elementwise passes, + model-parameters x
steps for the optimizer. The constants were fitted with ``benchmarks/calibrate_cost.py``
on the machine in ``MACHINE``; ``budget.py`` rescales them from a run's own benchmarks.

A command that calls the trainer several times (the size study's jobs; the scaling study's
forward passes at initialization, a call of 0 epochs) lists its calls as ``train_job``
keyword arguments (``cli.job_calls``); its cost is their sum (``calls_cost``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trainability.registry import lookup

MACHINE = "2-core AMD EPYC (L2 1 MiB/core), 24 GB, NumPy 2.4.6 + OpenBLAS, 1 BLAS thread"
BASELINE = 40e6  # bytes: RSS of a 1-model, 1-epoch job (Python + NumPy + trainability)
IMPORTS = {"gelu": (20e6, 0.15)}  # (bytes, CPU seconds): gelu imports scipy.special
# CPU seconds per unit of each term (benchmarks/calibrate_cost.py, 2026-12-02, idle: load 0.8;
# fitted at load 4-17 they came out 1.5-1.8x higher, and the estimates 2-3x a quiet run's)
CPU = {"start": 0.116, "step_layers": 6.15e-06, "model_step_layers": 2.51e-07,
       "weight_points": 4.01e-11, "unit_points": 4.58e-10, "cached_unit_points": 9.16e-10,
       "param_steps": 3.98e-10}
CACHE = 1 << 20  # bytes of L2 per core: elementwise passes over larger arrays wait on memory
STEP_ARRAY_BYTES = 160_000  # train.STEP_ARRAY_BYTES (Snakemake imports this module, not NumPy)
# arithmetic in float32 takes this share of float64's time (width 128 and 512, 1-10 models,
# adam and sgd: 0.49-0.52 measured; the size study trains in float32 from width 64)
FLOAT32_WORK = 0.5
# Every activation and optimizer of the registries has its entry (tests/test_vocabulary.py);
# an unknown name is a ValueError, not a guess.
ACTIVATION_COST = {  # elementwise cost of the activation and its derivative, relu = 1
    "relu": 1.0, "leaky_relu": 0.93, "elu": 1.54, "gelu": 7.27, "swish": 1.8, "sigmoid": 1.36,
    "tanh": 1.07, "linear": 1.0}
# tables, figures, section: their libraries' fixed cost, and what grows with the rows of
# the history (models x epochs); CPU from the default run's stages (2026-12-02, their own
# counts: grid figures 19.9 s at 106,050 rows, the other studies' 2.1-5.2 s), memory
# measured on the grid at 40, 70,700 and 106,050 rows
PRODUCT = {  # stage: (CPU seconds, per row; bytes, per row)
    "tables": (0.3, 1.0e-5, 75e6, 700), "figures": (2.0, 1.7e-4, 200e6, 2100),
    "section": (0.8, 1e-5, 145e6, 200), "report": (0.3, 0.0, 75e6, 0),
    # the HTML page holds every figure (base64): measured at the default params, 0.53 CPU
    # seconds and 128 MB for a 13 MB page from 9.5 MB of figures
    "report_html": (0.5, 0.0, 130e6, 0)}
OPTIMIZER_ARRAYS = {"sgd": 1, "momentum": 2, "nesterov": 2, "rmsprop": 2, "adam": 3}
OPTIMIZER_PASSES = {"sgd": 2, "momentum": 4, "nesterov": 6, "rmsprop": 9, "adam": 13}  # optim.py
HISTORY_SCALARS = 6  # train/test loss/acc, running loss/acc (train.py)
HISTORY_PER_LAYER = 7  # grad mean/std/norm on D + 1 layers; act mean/std, dead, saturated
MARGIN, MARGIN_BYTES = 1.25, 100e6  # on requests: estimates miss by up to ~25%; a cluster
# job also runs its own Snakemake (~135 MB) beside the command
TYPICAL = {"width": 64, "seeds": 10, "inits": 10, "lrs": 5, "points": 1000, "epochs": 100,
           "depth": 4}  # what each dimension usually is: the largest ratio is the culprit


@dataclass(frozen=True)
class Cost:
    """A job's estimated peak memory (bytes) and CPU seconds, what it trains, and its
    dimensions (``dims``: width, seeds, points, epochs, ...) to say which one is large."""

    memory: float
    cpu: float
    models: int = 0
    model_epochs: int = 0
    dims: Mapping[str, int] = field(default_factory=dict)

    @property
    def mem_mb(self) -> int:
        """What to ask the scheduler for, in MB: the estimate with headroom."""
        return math.ceil((self.memory * MARGIN + MARGIN_BYTES) / 1e6)

    @property
    def runtime(self) -> int:
        """Minutes to ask Slurm for: the estimate with headroom for a loaded node."""
        return max(2, math.ceil(self.cpu * 2 / 60))

    @property
    def culprit(self) -> tuple[str, int] | None:
        """The dimension furthest above its typical size, and its value; None when none
        is above it (then the limit is what is small)."""
        ratios = {k: v / TYPICAL[k] for k, v in self.dims.items() if k in TYPICAL}
        name = max(ratios, key=ratios.get, default=None)
        return (name, self.dims[name]) if name and ratios[name] > 1 else None

    def scaled(self, memory: float = 1.0, cpu: float = 1.0) -> Cost:
        return Cost(self.memory * memory, self.cpu * cpu, self.models, self.model_epochs,
                    self.dims)


def split_sizes(n_samples: int, test_fraction: float) -> tuple[int, int]:
    """``(train, test)`` points of a dataset, as ``data.make_dataset`` splits them."""
    n_test = int(round(n_samples * test_fraction))
    return n_samples - n_test, n_test


def train_cost(**train_kwargs) -> Cost:
    """The cost of ``jobs.train_job`` called with ``train_kwargs`` (its keyword arguments)
    on a dataset of ``n_train`` and ``n_test`` points (two more keyword arguments)."""
    s = _shape(**train_kwargs)
    f = s["f"]
    k, w, d = s["k"], s["width"], s["depth"]
    param_arrays = 8 * 3 + f * (3 + s["optimizer_arrays"] + s["checkpoints"])
    # the largest pass over many points: a training step's forward and backward over a
    # batch, or the evaluation of both sets (and the diagnostics' backward over the first)
    per_layer = 2 * d + 2 * s["batch_norm"]
    step = (per_layer + 3) * min(s["batch_size"], s["n_fit"])
    evaluation = per_layer * (s["n_fit"] + s["n_other"]) + 3 * s["n_fit"] * bool(s["diagnosed"])
    history = k * (s["epochs"] + 1) * (HISTORY_SCALARS + HISTORY_PER_LAYER * d + 3) * 8
    imports, import_seconds = IMPORTS.get(s["activation"], (0, 0))
    kc = s["k_call"]  # the models of one trainer call (train.models_per_call)
    memory = (BASELINE + imports + param_arrays * k * s["params"]
              + max(step, evaluation) * kc * w * f + history + 64 * s["steps"]
              + kc * s["n_fit"] * (16 + f * (s["n_inputs"] + 2)))  # the epoch's shuffled data
    cpu = import_seconds + sum(CPU[t] * v for t, v in cpu_terms(**train_kwargs).items())
    trained = k if s["epochs"] else 0  # 0 epochs: forward passes only
    return Cost(memory, cpu, trained, trained * s["epochs"], s["dims"])


def calls_cost(calls: Sequence[Mapping]) -> Cost:
    """A job that makes several trainer calls in one process, each given by its
    ``train_cost`` keyword arguments: the process starts once, the calls' CPU times add up
    and its peak memory is the largest call's (a call's arrays are freed before the next).
    No calls (a command that only reads and writes a dataset): the process alone."""
    if not calls:
        return Cost(BASELINE, CPU["start"])
    costs = [train_cost(**call) for call in calls]
    dims = {k: max(c.dims[k] for c in costs) for k in costs[0].dims}
    return Cost(max(c.memory for c in costs),
                sum(c.cpu for c in costs) - CPU["start"] * (len(costs) - 1),
                sum(c.models for c in costs), sum(c.model_epochs for c in costs), dims)


def cpu_terms(**train_kwargs) -> dict[str, float]:
    """The terms of the CPU model (what ``CPU`` multiplies) of a train job."""
    s = _shape(**train_kwargs)
    k, steps, f = s["k"], s["steps"], s["f"]
    n_fit, n_other, epochs = s["n_fit"], s["n_other"], s["epochs"]
    # point passes, a forward pass = 1 and a backward = 2: training, evaluation of both
    # sets after every epoch, and the diagnostics' extra forward and backward passes
    training = 3 * epochs * n_fit
    evaluation = (epochs + 1) * (n_fit + n_other) + 2 * s["diagnosed"] * n_fit
    units = k * s["depth"] * s["width"] * lookup(ACTIVATION_COST, s["activation"], "activation")
    # elementwise passes over arrays that fit in a core's L2 cache cost less per entry
    in_cache = [s["k_call"] * min(s["batch_size"], n_fit) * s["width"] * f <= CACHE,
                s["k_call"] * n_fit * s["width"] * f <= CACHE]
    cached = training * in_cache[0] + evaluation * in_cache[1]
    work = FLOAT32_WORK if f == 4 else 1.0  # the arithmetic, not the per-call overhead
    layer_steps = steps * (s["depth"] + 1)
    return {"start": 1.0, "step_layers": s["calls"] * layer_steps,
            # NumPy's stacked matrix products call BLAS once per model
            "model_step_layers": k * layer_steps,
            "weight_points": work * k * s["weights"] * (training + evaluation),
            "unit_points": work * units * (training + evaluation - cached),
            "cached_unit_points": work * units * cached,
            "param_steps": work * k * s["params"] * steps * s["optimizer_passes"]}


def _shape(*, n_train: int, n_test: int, width: int, depth: int, seeds: Sequence[int],
           inits: Sequence[str] = ("random_normal",), activation: str = "relu",
           batch_norm: Sequence[int] = (), optimizer: Mapping | None = None,
           settings: Sequence[Mapping] = (), epochs: int,
           batch_size: int, diagnostics: bool | Sequence[int] = True,
           checkpoint_every: int = 0, validation_fraction: float = 0.0,
           float32: bool = False, n_inputs: int = 2, batch_seeds: int | None = None,
           **_same_cost) -> dict:
    """The sizes a train job's cost depends on (its other arguments change nothing).
    ``batch_seeds``: the seeds of the batch a call trains a chunk of, as params.yaml states
    them (what a culprit names); default ``len(seeds)``."""
    optimizer = dict(optimizer or {"name": "rmsprop"})
    # the costliest optimizer of the settings (their models are in the same arrays)
    names = [s.get("name", optimizer.get("name")) for s in settings] or [optimizer.get("name")]
    name = max(names, key=lambda n: lookup(OPTIMIZER_PASSES, n, "optimizer"))
    lrs = optimizer.get("lr", 0.001)
    n_lrs = len(lrs) if isinstance(lrs, list | tuple) else 1
    n_fit, n_other = n_train, n_test
    if validation_fraction > 0:  # fit on part of the training set, evaluate the rest
        n_other = int(round(n_train * validation_fraction))
        n_fit = n_train - n_other
    weights = n_inputs * width + (depth - 1) * width * width + width
    if isinstance(diagnostics, bool):
        diagnosed = epochs + 1 if diagnostics else 0
    else:
        diagnosed = len({e for e in diagnostics if 0 <= e <= epochs})
    k = len(inits) * max(len(settings), 1) * n_lrs * len(seeds)
    f = 4 if float32 else 8
    k_call = min(k, max(1, STEP_ARRAY_BYTES // (batch_size * width * f)))
    return dict(
        k=k, k_call=k_call, calls=-(-k // k_call), width=width, depth=depth, epochs=epochs,
        n_fit=n_fit, n_other=n_other, n_inputs=n_inputs, weights=weights,
        params=weights + depth * width + 1 + 2 * width * len(batch_norm),
        batch_norm=len(batch_norm), batch_size=batch_size, steps=epochs * -(-n_fit // batch_size),
        diagnosed=diagnosed, activation=activation, f=f,
        optimizer_arrays=OPTIMIZER_ARRAYS[name], optimizer_passes=OPTIMIZER_PASSES[name],
        checkpoints=len(range(0, epochs + 1, checkpoint_every)) + 1 if checkpoint_every else 0,
        dims={"width": width, "depth": depth, "seeds": batch_seeds or len(seeds),
              "inits": len(inits), "lrs": n_lrs, "points": n_train + n_test,
              "epochs": epochs},
    )


def dataset_cost(n_samples: int) -> Cost:
    """``trainability dataset``: importing scikit-learn is most of it at 1000 points
    (155 MB, 1-2.3 s); its generator and the split add ~80 bytes and ~0.7 us a point."""
    return Cost(155e6 + 80 * n_samples, 1.6 + 7e-7 * n_samples, dims={"points": n_samples})


def shell_cost() -> Cost:
    """A shell command without Python (``printf`` to a file): next to nothing."""
    return Cost(5e6, 0.01)


def product_cost(stage: str, rows: int, dims: Mapping[str, int] | None = None) -> Cost:
    """A study's ``tables``, ``figures`` or ``section``, or the ``report`` (``report_html``:
    its HTML page), from the rows
    of its history (models x (epochs + 1))."""
    seconds, per_row, memory, bytes_per_row = PRODUCT[stage]
    return Cost(memory + bytes_per_row * rows, seconds + per_row * rows, dims=dict(dims or {}))
