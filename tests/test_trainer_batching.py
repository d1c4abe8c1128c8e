"""Models from different initializers, or under different optimizer settings, in one call:
the grid trains every initializer x seed of one activation and width at once, the tweaks and
epsilon studies every setting x seed of one network, so each group must come out exactly as
if trained alone, with every training feature switched on."""

from __future__ import annotations

from dataclasses import replace

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
    rates = [1e-3, 0.1, 1e6]
    batched, alone = _batched_and_alone(
        [replace(opt, lr=rate) for rate in rates], circles_small)
    if opt.name in ("sgd", "momentum"):
        assert batched.status == ["ok"] * 4 + ["diverged"] * 2
    _assert_each_as_alone(batched, alone)


def test_models_under_different_optimizer_settings_in_one_batch_equal_each_alone(
        circles_small):
    """The epsilon study trains every optimizer x convention x eps of a network in one
    call, the tweaks study every optimizer and variant (schedule, warm-up, L2): each setting
    must come out as alone, whatever its neighbours (the same setting twice, apart, too)."""
    settings = [
        OptimizerConfig("rmsprop", lr=0.01, eps=1e-10),
        OptimizerConfig("rmsprop", lr=0.01, eps=1e-3),
        OptimizerConfig("rmsprop", lr=0.01, eps=1e-3, eps_convention="pytorch"),
        OptimizerConfig("adam", lr=0.01, eps=1e-7),
        OptimizerConfig("adam", lr=0.01, eps=1e-5, eps_convention="pytorch"),
        OptimizerConfig("adam", lr=0.01, eps=1e-7, eps_convention="pytorch"),
        OptimizerConfig("rmsprop", lr=0.01, eps=1e-10),
        OptimizerConfig("rmsprop", lr=0.01, l2=1e-3, schedule="cosine"),
        OptimizerConfig("rmsprop", lr=0.01, warmup_epochs=1),
        OptimizerConfig("sgd", lr=0.1, l2=1e-2),
        OptimizerConfig("momentum", lr=0.1),
    ]
    batched, alone = _batched_and_alone(settings, circles_small)
    _assert_each_as_alone(batched, alone)


def test_different_eps_in_float32_equal_each_alone(circles_small):
    settings = [OptimizerConfig("adam", lr=0.01, eps=e) for e in (1e-10, 1e-7, 1e-3)]
    batched, alone = _batched_and_alone(settings, circles_small, dtype=np.float32)
    _assert_each_as_alone(batched, alone)


def _batched_and_alone(settings, data, **kw):
    """One call training every setting x SEEDS (setting-major), and each setting alone."""
    arch = Architecture(depth=2, width=4, activation="relu", batch_norm=(1,))
    kw = dict(epochs=3, batch_size=40, diagnostics=(0, 3), classifier_init="glorot_uniform",
              **kw)
    batched = train(arch, [s for s in settings for _ in SEEDS], data,
                    SEEDS * len(settings), **kw)
    return batched, [train(arch, s, data, SEEDS, **kw) for s in settings]


def _assert_each_as_alone(batched, alone):
    for i, one in enumerate(alone):
        rows = slice(i * len(SEEDS), (i + 1) * len(SEEDS))
        np.testing.assert_array_equal(batched.diverged_epoch[rows], one.diverged_epoch)
        for name, values in one.history.items():
            np.testing.assert_array_equal(batched.history[name][rows], values,
                                          err_msg=f"{name} of setting {i}")
        if "diverged" not in one.status:
            np.testing.assert_array_equal(batched.theta[rows], one.theta)


def test_one_optimizer_setting_per_model_is_checked():
    arch = Architecture(depth=1, width=2, activation="relu")
    data = make_dataset(n_samples=40)
    three = [OptimizerConfig(lr=r) for r in (0.1, 0.2, 0.3)]
    with pytest.raises(ValueError, match="3 optimizer settings for 2 models"):
        train(arch, three, data, [0, 1], epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="float64"):
        train(arch, three[:2], data, [0, 1], epochs=1, batch_size=8, dtype=np.float32)


def test_many_models_train_in_chunks_with_the_results_of_one_call(circles_small, monkeypatch):
    """``train`` splits many models into calls of ``models_per_call``: per-model settings,
    masks, batch-norm statistics, checkpoints and a chunk where every model diverges (it
    stops early) must come out as from one call."""
    from trainability import train as trainer

    arch = Architecture(depth=2, width=4, activation="tanh", batch_norm=(1,))
    theta0, mask = _group_inputs(Layout(arch), np.float64)
    opts = [OptimizerConfig("adam", lr=0.01, eps=e, l2=l2)
            for e, l2 in zip([1e-7, 1e-3] * 5, [0.0] * 6 + [1e-3] * 4, strict=True)]
    kw = dict(epochs=4, batch_size=40, checkpoints=(0, 3, 4), diagnostics=(0, 4),
              after_step=_shrink, theta0=theta0, mask=mask)
    monkeypatch.setattr(trainer, "STEP_ARRAY_BYTES", 10**9)
    whole = train(arch, opts, circles_small, SEEDS * len(GROUPS), **kw)
    monkeypatch.setattr(trainer, "STEP_ARRAY_BYTES", 2 * 40 * 4 * 8)  # 2 models per call
    assert trainer.models_per_call(arch, 40, np.float64) == 2
    chunked = train(arch, opts, circles_small, SEEDS * len(GROUPS), **kw)
    assert chunked.status == whole.status == ["ok"] * 8 + ["diverged"] * 2
    for name, values in whole.history.items():
        np.testing.assert_array_equal(chunked.history[name], values, err_msg=name)
    ok = slice(0, 8)  # a diverged model's parameters carry on in one call, stop in its own
    np.testing.assert_array_equal(chunked.theta[ok], whole.theta[ok])
    np.testing.assert_array_equal(chunked.bn.mean[1][ok], whole.bn.mean[1][ok])
    for epoch in (0, 3, 4):
        np.testing.assert_array_equal(chunked.checkpoints[epoch][ok], whole.checkpoints[epoch][ok])
    assert np.isnan(chunked.checkpoints[4][8:]).all()  # that chunk stopped at epoch 0
