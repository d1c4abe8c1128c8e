"""The scaling study's forward-pass job: every hidden layer's outputs at initialization.

**Layer outputs at initialization** (``init_outputs``; forward passes only, no training):
for each width, each activation and each initialization (random_normal at every std of
``scaling.init_stds``, then the variance-scaled initializers of ``scaling.inits``), one
network of ``max(depth, profile_depth)`` hidden layers of that many units per seed, fed
the training points. Its first ``depth`` layers are exactly a ``depth``-layer network's
(weights are drawn layer by layer from each seed's stream). Written per width, layer and
seed:

- ``preact_std``: std of the layer's pre-activations (points and units pooled);
- ``mean``, ``std``: of all the layer's outputs (points and units pooled);
- ``signal``: ``sqrt(mean_j var_n a_nj)``, the root mean square over units of each unit's
  standard deviation across the data points. A unit that outputs the same value for every
  point carries no information about the input, whatever its value; ``signal`` measures
  what is left. A linear layer with an orthogonal square weight matrix keeps it exactly
  (the trace of the outputs' covariance is invariant under rotation);
- ``rms``: root mean square of all outputs;
- ``saturated``: share of outputs where the activation's derivative is below
  ``SATURATED`` (10%) of its peak (saturating activations; NaN for the others);
- ``zero``: share of outputs exactly 0 (relu's inactive units).

and, for layers ``1..depth`` of the first width, a histogram of every output of the layer
(all units, all points, all seeds pooled) on its own x-range (``output_range``: where the
outputs lie, which moves by orders of magnitude from layer to layer under a badly scaled
initialization, so one range for all would draw most panels as a single bar); outputs
exactly 0 are counted apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from trainability.activations import get_activation
from trainability.data import dataset_meta, load_dataset
from trainability.io import load_npz, save_npz
from trainability.model import Architecture, Layout, Network, init_params

SATURATED = 0.10  # derivative below 10% of its peak: a saturated output
STATS = ("preact_std", "mean", "std", "signal", "rms", "saturated", "zero")
# Histogram x-ranges, one per panel: the central RANGE_SHARE of the panel's non-zero
# outputs (from the 0.25th to the 99.75th percentile), stretched to 0 when it nearly
# reaches it (relu's outputs start there) and never beyond the activation's own range;
# outputs beyond it are counted in the end bins (and their share printed).
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
RANGE_SHARE = 0.995
TO_ZERO = 0.1  # a range whose near end is within 10% of its far end's size starts at 0


def init_settings(stds: Sequence[float], inits: Sequence[str]) -> list[tuple[str, str, float]]:
    """``(label, init, scale)`` of every initialization: random_normal at each std, then the
    variance-scaled initializers (whose scale argument is unused)."""
    out = [(f"std {s:g}", "random_normal", float(s)) for s in stds]
    return out + [(init, init, 1.0) for init in inits]


def forward_layers(arch, theta: np.ndarray, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(z, a)`` of every hidden layer for ``(K, P)`` parameters on points ``X (N, n)``:
    pre-activations and outputs, each ``(K, N, width)``. Forward pass only."""
    net = Network(arch)
    with np.errstate(all="ignore"):
        _, cache = net.forward(net.bind(np.asarray(theta, dtype=float)),
                               np.asarray(X, dtype=float))
    return [(z, a) for (_, z, a, _, _) in cache[:-1]]


def layer_stats(z: np.ndarray, a: np.ndarray, activation: str) -> dict[str, np.ndarray]:
    """The statistics of one hidden layer (module docstring), each ``(K,)``."""
    act = get_activation(activation)
    with np.errstate(all="ignore"):
        stats = {
            "preact_std": z.std(axis=(1, 2)),
            "mean": a.mean(axis=(1, 2)),
            "std": a.std(axis=(1, 2)),
            "signal": np.sqrt(a.var(axis=1).mean(axis=1)),
            "rms": np.sqrt((a * a).mean(axis=(1, 2))),
            "zero": (a == 0).mean(axis=(1, 2)),
        }
        if act.family == "saturating":
            flat = act.grad(z, a) < SATURATED * act.peak_grad
            stats["saturated"] = flat.mean(axis=(1, 2))
        else:
            stats["saturated"] = np.full(len(a), np.nan)
    return stats


def output_range(activation: str, outputs: np.ndarray) -> tuple[float, float]:
    """The x-range of one histogram panel (``RANGE_SHARE``, ``TO_ZERO``, ``RANGES``): the
    central share of the finite non-zero ``outputs``."""
    v = np.ravel(outputs)
    v = v[np.isfinite(v) & (v != 0)]
    bounds = RANGES.get(activation, (-np.inf, np.inf))
    if not len(v):
        return (0.0, 1.0) if activation not in RANGES else bounds
    tail = 100 * (1 - RANGE_SHARE) / 2
    lo, hi = (float(q) for q in np.percentile(v, [tail, 100 - tail]))
    if lo >= 0 and lo < TO_ZERO * hi:
        lo = 0.0
    elif hi <= 0 and -hi < TO_ZERO * -lo:
        hi = 0.0
    lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    if hi <= lo:  # every output the same value
        pad = max(abs(lo), 1.0) * 1e-3
        lo, hi = lo - pad, hi + pad
    return lo, hi


def binned(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """``[*counts, zeros, below, above]``: counts of the finite non-zero values in ``bins``
    equal bins of ``[lo, hi]`` (those below ``lo`` counted in the first bin, those above
    ``hi`` in the last), then how many are exactly 0 (not binned: relu's inactive units
    would fill the first bin and flatten the rest), below ``lo`` and above ``hi``."""
    v = np.ravel(values)
    v = v[np.isfinite(v)]
    zeros = int((v == 0).sum())
    v = v[v != 0]
    counts, _ = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    return np.array([*counts, zeros, int((v < lo).sum()), int((v > hi).sum())])


def _networks(activation, settings, n_inputs, n_layers, width, seeds):
    """Per setting, ``(arch, theta)`` of its networks (one per seed)."""
    arch = Architecture(n_layers, width, activation, n_inputs=n_inputs)
    return [(arch, init_params(Layout(arch), init, seeds, scale)) for _, init, scale in settings]


def init_outputs(data_path, out, *, activations: Sequence[str], stds: Sequence[float],
                 inits: Sequence[str], depth: int, profile_depth: int, widths: Sequence[int],
                 seeds: Sequence[int], bins: int) -> str:
    """Write the layer statistics and histograms at initialization (module docstring) as
    one ``.npz``: ``stat_<name>`` ``(widths, activations, settings, seeds, layers)``,
    ``counts`` ``(activations, settings, depth, bins + 3)`` (``binned``, of the first
    width), ``edges`` ``(activations, settings, depth, bins + 1)``, and ``meta``."""
    X = np.asarray(load_dataset(data_path).X_train, dtype=float)
    seeds, widths = [int(s) for s in seeds], list(dict.fromkeys(int(w) for w in widths))
    settings = init_settings(stds, inits)
    n_layers = max(depth, profile_depth)
    shape = (len(widths), len(activations), len(settings), len(seeds), n_layers)
    stats = {name: np.empty(shape) for name in STATS}
    counts = np.zeros((len(activations), len(settings), depth, bins + 3), dtype=np.int64)
    edges = np.empty((len(activations), len(settings), depth, bins + 1))
    for w, width in enumerate(widths):
        for i, activation in enumerate(activations):
            nets = _networks(activation, settings, X.shape[1], n_layers, width, seeds)
            for j, (arch, theta) in enumerate(nets):  # one setting at a time: they are large
                for layer, (z, a) in enumerate(forward_layers(arch, theta, X)):
                    for name, values in layer_stats(z, a, activation).items():
                        stats[name][w, i, j, :, layer] = values
                    if w == 0 and layer < depth:
                        lo, hi = output_range(activation, a)
                        edges[i, j, layer] = np.linspace(lo, hi, bins + 1)
                        counts[i, j, layer] = binned(a, lo, hi, bins)
    meta = dict(activations=list(activations), settings=[list(s) for s in settings],
                depth=depth, profile_depth=profile_depth, widths=widths, seeds=seeds,
                bins=bins, points=len(X), dataset=dataset_meta(data_path))
    save_npz(out, meta=np.asarray(json.dumps(meta, sort_keys=True)), counts=counts,
             edges=edges, **{f"stat_{k}": v for k, v in stats.items()})
    return (f"wrote {out}: {len(activations)} activations x {len(settings)} initializations "
            f"x {len(seeds)} seeds, {n_layers} layers of {' and '.join(map(str, widths))} "
            "units")


def load_init_outputs(path) -> tuple[dict, dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a file written by ``init_outputs``."""
    arrays = load_npz(path, ("meta", "counts", "edges",
                             *(f"stat_{k}" for k in STATS)))
    return json.loads(str(arrays.pop("meta"))), arrays
