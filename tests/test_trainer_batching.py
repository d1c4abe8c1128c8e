"""Models from different initializers, or at different learning rates, in one call: the grid
trains every initializer x seed of one activation and width at once, the tweaks study every
learning rate x seed of one optimizer, so each group must come out exactly as if trained
alone, with every training feature switched on."""

from __future__ import annotations

import numpy as np
import pytest

from trainability.data import make_dataset
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.train import train

SEEDS = [0, 1]
# (initializer, classifier initializer, scale); the last group starts with a NaN weight, so
# its loss is not finite and it is marked diverged at epoch 0
GROUPS = [
    ("zeros", "glorot_uniform", 1.0),
    ("random_normal", None, 0.5),
    ("he_normal", None, 1.0),
    ("orthogonal", "glorot_uniform", 1.0),
    ("lecun_normal", None, 1.0),
]


def _shrink(theta, lr):
    """A proximal step that acts on each model's row alone."""
    theta *= 1.0 - 0.01 * lr


def _group_inputs(layout, dtype):
    """theta0 and a keep-mask per group, stacked in GROUPS order."""
    thetas, masks = [], []
    weights = layout.weight_mask() == 1.0
    for g, (init, classifier, scale) in enumerate(GROUPS):
        thetas.append(init_params(layout, init, SEEDS, scale, classifier_init=classifier))
        drop = (np.random.default_rng(g).random((len(SEEDS), layout.size)) < 0.2) & weights
        masks.append(np.where(drop, 0.0, 1.0))
    thetas[-1][:, 0] = np.nan
    return np.concatenate(thetas).astype(dtype), np.concatenate(masks)


@pytest.mark.parametrize(
    "activation,batch_norm,opt,dtype",
    [
        ("relu", (), OptimizerConfig("rmsprop", lr=0.01), np.float64),
        ("tanh", (2,), OptimizerConfig("adam", lr=0.01, l2=1e-3, eps_convention="pytorch"),
         np.float64),
        ("sigmoid", (1,), OptimizerConfig("nesterov", lr=0.1, schedule="cosine"), np.float32),
    ],
    ids=["relu", "tanh-bn-l2", "sigmoid-bn-float32"],
)
def test_mixed_initializers_in_one_batch_equal_each_group_alone_bit_for_bit(
        activation, batch_norm, opt, dtype, circles_small):
    arch = Architecture(depth=3, width=5, activation=activation, batch_norm=batch_norm)
    theta0, mask = _group_inputs(Layout(arch), dtype)
    kw = dict(epochs=4, batch_size=48, checkpoints=(0, 2), diagnostics=(0, 1, 4),
              after_step=_shrink, dtype=dtype)
    batched = train(arch, opt, circles_small, SEEDS * len(GROUPS), theta0=theta0, mask=mask,
                    **kw)
    assert batched.status == ["ok"] * (2 * len(GROUPS) - 2) + ["diverged"] * 2
    for g in range(len(GROUPS)):
        rows = slice(g * len(SEEDS), (g + 1) * len(SEEDS))
        alone = train(arch, opt, circles_small, SEEDS, theta0=theta0[rows], mask=mask[rows],
                      **kw)
        np.testing.assert_array_equal(batched.diverged_epoch[rows], alone.diverged_epoch)
        for name, values in alone.history.items():
            np.testing.assert_array_equal(batched.history[name][rows], values, err_msg=name)
        np.testing.assert_array_equal(batched.checkpoints[0][rows], alone.checkpoints[0])
        if alone.status[0] == "diverged":
            continue  # alone, the run stops; batched, its parameters carry on (ignored)
        np.testing.assert_array_equal(batched.theta[rows], alone.theta)
        np.testing.assert_array_equal(batched.checkpoints[2][rows], alone.checkpoints[2])
        for j in batch_norm:
            np.testing.assert_array_equal(batched.bn.mean[j][rows], alone.bn.mean[j])
            np.testing.assert_array_equal(batched.bn.var[j][rows], alone.bn.var[j])
    assert np.all(batched.theta[:-2][mask[:-2] == 0.0] == 0.0)  # masks held


@pytest.mark.parametrize(
    "opt",
    [OptimizerConfig("sgd", lr=1.0), OptimizerConfig("momentum", lr=1.0, l2=1e-3),
     OptimizerConfig("rmsprop", lr=1.0, schedule="cosine", warmup_epochs=1),
     OptimizerConfig("adam", lr=1.0, eps_convention="pytorch"),
     OptimizerConfig("adam", lr=1.0, schedule="step", step_epochs=1)],
    ids=["sgd", "momentum-l2", "rmsprop-cosine-warmup", "adam-pytorch", "adam-step"],
)
def test_models_at_several_learning_rates_in_one_batch_equal_each_rate_alone(
        opt, circles_small):
    """The tweaks study trains every learning rate of an optimizer in one call; the largest
    rate diverges with sgd and momentum, which must not touch the other rates."""
    arch = Architecture(depth=2, width=4, activation="relu", batch_norm=(1,))
    rates = [1e-3, 0.1, 1e6]
    kw = dict(epochs=3, batch_size=40, diagnostics=(0, 3), classifier_init="glorot_uniform")
    batched = train(arch, opt, circles_small, SEEDS * len(rates),
                    model_lrs=[r for r in rates for _ in SEEDS], **kw)
    if opt.name in ("sgd", "momentum"):
        assert batched.status == ["ok"] * 4 + ["diverged"] * 2
    for i, rate in enumerate(rates):
        rows = slice(i * len(SEEDS), (i + 1) * len(SEEDS))
        alone = train(arch, OptimizerConfig(**{**opt.__dict__, "lr": rate}), circles_small,
                      SEEDS, **kw)
        np.testing.assert_array_equal(batched.diverged_epoch[rows], alone.diverged_epoch)
        for name, values in alone.history.items():
            np.testing.assert_array_equal(batched.history[name][rows], values, err_msg=name)
        if "diverged" not in alone.status:
            np.testing.assert_array_equal(batched.theta[rows], alone.theta)


def test_one_learning_rate_per_model_is_checked():
    arch = Architecture(depth=1, width=2, activation="relu")
    data = make_dataset(n_samples=40)
    with pytest.raises(ValueError, match="3 rates for 2 models"):
        train(arch, OptimizerConfig(), data, [0, 1], epochs=1, batch_size=8,
              model_lrs=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="float64"):
        train(arch, OptimizerConfig(), data, [0, 1], epochs=1, batch_size=8,
              model_lrs=[0.1, 0.2], dtype=np.float32)
