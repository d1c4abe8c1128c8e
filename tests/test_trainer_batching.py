"""Models from different initializers in one call: the grid trains every initializer x seed
of one activation and width at once, so each group must come out exactly as if trained
alone, with every training feature switched on."""

from __future__ import annotations

import numpy as np
import pytest

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
