"""The lecture's values, read off its figures (transcribed from
``references/lecture-figures.md``): one run each, training set, Keras' history.

Each value says where it was read (the lecture's figure and panel), what it is, and how
ours is measured for the same thing (``statistic``, one number per seed; ``tables.py``
computes it). A value read as a range ("~0.45-0.51") has ``lo`` and ``hi``; a single one
has ``lo == hi``. ``shown`` is the value as the reference writes it.

Conventions, the same for every value:

- the lecture's **epoch 0** is Keras' first history entry, the mean over the first
  epoch's mini-batches: ours at epoch 1 (``first``); its **epoch 100** is the last entry:
  ours at epoch 100 (``last``);
- **min** and **max** are a seed's lowest and highest value over epochs 1-100 (a curve
  that stays in a band);
- **reach**: the first epoch a seed's running accuracy is at least the value's level
  minus the accuracy tolerance;
- layer outputs (``outputs``) are of the network at initialization, all units and
  training points of one layer pooled, per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

CURVES = "tnn_loss_and_acc.png"
ZEROS = "tnn_loss_and_acc_zero_init.png"
GRADIENT = "tnn_gradient.png"
LARGE = "tnn_activations_shift_large_var.png"
SMALL = "tnn_activations_shift_small_var.png"
BN = "tnn_loss_and_acc_bn.png"
KINDS = ("accuracy", "loss", "gradient", "output", "epoch")  # what a tolerance is for


@dataclass(frozen=True)
class Value:
    key: str  # stable id: "rn-relu-loss-first"
    figure: str  # the lecture's figure it was read off
    source: str  # the setting ours comes from: random_normal, zeros, batch_norm,
    # gradients, std 1, std 0.01
    activation: str
    what: str  # in words, as the table prints it
    metric: str  # loss, acc; grad_mean, grad_std (hidden or classifier); mean, std
    statistic: str  # first, last, min, max, reach, hidden_max_abs, ...; layer for outputs
    kind: str  # one of KINDS: which tolerance applies
    lo: float
    hi: float
    shown: str  # as read off: "~3.7", "0.45-0.51"
    layer: int = 0  # for the layer outputs and gradients (0: not a layer's)
    level: float = 0.0  # for ``reach``: the accuracy level reached


def _v(key, figure, source, activation, what, metric, statistic, kind, value, shown,
       layer=0, level=0.0) -> Value:
    lo, hi = value if isinstance(value, tuple) else (value, value)
    return Value(key, figure, source, activation, what, metric, statistic, kind, float(lo),
                 float(hi), shown, layer, level)


VALUES: tuple[Value, ...] = (
    # ---- RandomNormal(0, 1) hidden weights: loss and accuracy per epoch
    _v("rn-relu-loss-first", CURVES, "random_normal", "relu", "loss, epoch 0", "loss",
       "first", "loss", 3.7, "~3.7"),
    _v("rn-relu-loss-last", CURVES, "random_normal", "relu", "loss, epoch 100", "loss",
       "last", "loss", 0.02, "~0.02"),
    _v("rn-relu-acc-last", CURVES, "random_normal", "relu", "accuracy, epoch 100", "acc",
       "last", "accuracy", 0.99, "~0.99"),
    _v("rn-relu-acc-reach", CURVES, "random_normal", "relu", "first epoch at ~0.99 accuracy",
       "acc", "reach", "epoch", 55, "~55", level=0.99),
    _v("rn-sigmoid-loss-first", CURVES, "random_normal", "sigmoid", "loss, epoch 0", "loss",
       "first", "loss", 0.72, "0.72"),
    _v("rn-sigmoid-loss-last", CURVES, "random_normal", "sigmoid", "loss, epoch 100", "loss",
       "last", "loss", 0.64, "0.64"),
    _v("rn-sigmoid-acc-first", CURVES, "random_normal", "sigmoid", "accuracy, epoch 0",
       "acc", "first", "accuracy", 0.45, "0.45"),
    _v("rn-sigmoid-acc-last", CURVES, "random_normal", "sigmoid", "accuracy, epoch 100",
       "acc", "last", "accuracy", 0.71, "~0.71"),
    _v("rn-tanh-loss-first", CURVES, "random_normal", "tanh", "loss, epoch 0", "loss",
       "first", "loss", 0.75, "0.75"),
    _v("rn-tanh-loss-last", CURVES, "random_normal", "tanh", "loss, epoch 100", "loss",
       "last", "loss", 0.02, "~0.02"),
    _v("rn-tanh-acc-last", CURVES, "random_normal", "tanh", "accuracy, epoch 100", "acc",
       "last", "accuracy", 0.99, "~0.99"),
    _v("rn-tanh-acc-reach", CURVES, "random_normal", "tanh", "first epoch at ~0.99 accuracy",
       "acc", "reach", "epoch", 40, "~40", level=0.99),
    # ---- zero initialization
    *(_v(f"zeros-{a}-loss-{s}", ZEROS, "zeros", a, f"loss, epoch {e}", "loss", s, "loss",
         0.6932, "~0.6932 (ln 2)")
      for a in ("relu", "tanh") for s, e in (("first", 0), ("last", 100))),
    _v("zeros-sigmoid-loss-first", ZEROS, "zeros", "sigmoid", "loss, epoch 0", "loss",
       "first", "loss", 0.72, "0.72"),
    _v("zeros-sigmoid-loss-last", ZEROS, "zeros", "sigmoid", "loss, epoch 100", "loss",
       "last", "loss", 0.6935, "~0.6935"),
    *(_v(f"zeros-{a}-acc-{s}", ZEROS, "zeros", a, f"accuracy, {word} over epochs", "acc", s,
         "accuracy", (0.45, 0.51), "~0.45-0.51")
      for a in ("relu", "sigmoid", "tanh") for s, word in (("min", "lowest"),
                                                          ("max", "highest"))),
    # ---- per-layer gradients per epoch (RandomNormal), the sigmoid column
    _v("grad-sigmoid-hidden-mean", GRADIENT, "gradients", "sigmoid",
       "hidden layers' mean gradient, largest |value| over layers and epochs", "grad_mean",
       "hidden_max_abs", "gradient", 0.0, "~0"),
    _v("grad-sigmoid-hidden-std", GRADIENT, "gradients", "sigmoid",
       "hidden layers' gradient std, largest over layers and epochs", "grad_std",
       "hidden_max_abs", "gradient", 0.0, "tiny (~0)"),
    _v("grad-sigmoid-classifier-min", GRADIENT, "gradients", "sigmoid",
       "classifier's mean gradient, lowest over epochs", "grad_mean", "classifier_min",
       "gradient", (0.12, 0.18), "~0.12-0.18"),
    _v("grad-sigmoid-classifier-max", GRADIENT, "gradients", "sigmoid",
       "classifier's mean gradient, highest over epochs", "grad_mean", "classifier_max",
       "gradient", (0.12, 0.18), "~0.12-0.18"),
    # ---- layer outputs at initialization, RandomNormal std 1 (layers 1 and 4)
    *(_v(f"std1-{a}-l{layer}-{m}", LARGE, "std 1", a, f"layer {layer} output {m}", m,
         "layer", "output", value, f"{value:.2f}", layer=layer)
      for a, by_layer in (("relu", ((1, 0.57, 0.98), (4, 1.77, 1.98))),
                          ("sigmoid", ((1, 0.50, 0.26), (4, 0.58, 0.20))),
                          ("tanh", ((1, -0.01, 0.69), (4, 0.03, 0.72))))
      for layer, mean, std in by_layer for m, value in (("mean", mean), ("std", std))),
    # ---- RandomNormal std 0.01 ("std ~0.00-0.01", "mean 0.50", "std ~0.00-0.02")
    *(_v(f"std0.01-{a}-l{layer}-{m}", SMALL, "std 0.01", a, f"layer {layer} output {m}", m,
         "layer", "output", value, shown, layer=layer)
      for a, m, value, shown in (("relu", "std", (0.0, 0.01), "~0.00-0.01"),
                                 ("sigmoid", "mean", 0.50, "0.50"),
                                 ("tanh", "std", (0.0, 0.02), "~0.00-0.02"))
      for layer in (1, 4)),
    # ---- one batch-normalization layer between hidden layers 3 and 4
    _v("bn-sigmoid-loss-last", BN, "batch_norm", "sigmoid", "loss, epoch 100", "loss", "last",
       "loss", 0.28, "~0.28"),
    _v("bn-sigmoid-acc-last", BN, "batch_norm", "sigmoid", "accuracy, epoch 100", "acc",
       "last", "accuracy", 0.93, "~0.93"),
    *(_v(f"bn-{a}-acc-last", BN, "batch_norm", a, "accuracy, epoch 100", "acc", "last",
         "accuracy", (0.98, 0.99), "~0.98-0.99") for a in ("relu", "tanh")),
)
