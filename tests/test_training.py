"""Training behaviour: symmetry of zero initialization, batched == one by one,
determinism, keep-masks, divergence, the lecture's claims and the history arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from trainability.activations import sigmoid
from trainability.model import Architecture, Network, init_params
from trainability.optim import OPTIMIZERS, OptimizerConfig, learning_rates
from trainability.train import PER_DENSE, PER_HIDDEN, RUNNING, SCALARS, train

RMSPROP = OptimizerConfig("rmsprop", lr=0.001)


def _class_rates(y):
    share = float(np.mean(y))
    return min(share, 1 - share), max(share, 1 - share)


# --------------------------------------------------------------------------------------
# (a) zero initialization never breaks symmetry


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_zero_init_keeps_hidden_units_identical_and_accuracy_at_chance(activation,
                                                                      circles_lecture):
    arch = Architecture(depth=3, width=5, activation=activation)
    result = train(arch, OptimizerConfig("rmsprop", lr=0.01), circles_lecture, [0, 1],
                   epochs=20, batch_size=32, init="zeros")
    p = Network(arch).bind(result.theta)

    def assert_same_along(a, axis):  # equal up to float rounding (BLAS summation order)
        first = np.take(a, [0], axis=axis)
        np.testing.assert_allclose(a, np.broadcast_to(first, a.shape), rtol=1e-12, atol=1e-14)

    for i in range(arch.depth):
        assert_same_along(p.W[i], axis=2)  # (K, fan_in, width): columns = units' inputs
        assert_same_along(p.b[i], axis=2)
    assert_same_along(p.W[-1], axis=1)  # the classifier sees identical inputs
    if activation == "sigmoid":  # sigmoid(0) = 0.5 != 0, so the (symmetric) weights move
        assert np.abs(p.W[-1]).max() > 0
    low, high = _class_rates(circles_lecture.y_test)
    acc = result.history["test_acc"][:, -1]
    assert np.all((acc >= low - 0.03) & (acc <= high + 0.03)), acc
    np.testing.assert_allclose(result.history["train_loss"][:, -1], np.log(2), atol=0.01)


def test_zero_hidden_init_with_glorot_classifier_starts_away_from_ln2(circles_lecture):
    """The lecture's zero-init sigmoid network starts near 0.72, not ln 2: its classifier
    kept Keras' glorot_uniform while the hidden weights were zero. Hidden units all output
    sigmoid(0) = 0.5, so the logit is a non-zero constant."""
    arch = Architecture(depth=4, width=5, activation="sigmoid")
    kw = dict(epochs=1, batch_size=32, init="zeros", diagnostics=False)
    keras = train(arch, RMSPROP, circles_lecture, [0, 1, 2], classifier_init="glorot_uniform",
                  **kw)
    views = Network(arch).layout.views(keras.theta0)
    for i in range(arch.depth):
        assert not views[f"W{i}"].any()
    assert np.all(views[f"W{arch.depth}"] != 0.0)
    for first in (keras.history["train_loss"][:, 0], keras.history["running_loss"][:, 1]):
        assert np.all(np.abs(first - np.log(2)) > 1e-3), first
    all_zero = train(arch, RMSPROP, circles_lecture, [0, 1, 2], **kw)
    np.testing.assert_allclose(all_zero.history["train_loss"][:, 0], np.log(2), rtol=1e-15)


# --------------------------------------------------------------------------------------
# (b) batched equals one by one; (c) determinism


@pytest.mark.parametrize(
    "activation,batch_norm,opt",
    [
        ("relu", (), RMSPROP),
        ("tanh", (1, 2), OptimizerConfig("adam", lr=0.01)),
        ("sigmoid", (2,), OptimizerConfig("nesterov", lr=0.1, l2=1e-3, schedule="cosine")),
    ],
)
def test_batched_models_equal_models_trained_one_by_one(activation, batch_norm, opt,
                                                        circles_small, histories_close):
    arch = Architecture(depth=2, width=6, activation=activation, batch_norm=batch_norm)
    kw = dict(epochs=5, batch_size=32, init="he_normal", checkpoints=(0, 3))
    seeds = [0, 1, 2]
    batched = train(arch, opt, circles_small, seeds, **kw)
    for k, s in enumerate(seeds):
        alone = train(arch, opt, circles_small, [s], **kw)
        np.testing.assert_array_equal(batched.theta0[k], alone.theta0[0])
        np.testing.assert_allclose(batched.theta[k], alone.theta[0], rtol=0, atol=1e-12)
        histories_close({n: v[k] for n, v in batched.history.items()},
                        {n: v[0] for n, v in alone.history.items()}, atol=1e-12)
        for j in batch_norm:
            np.testing.assert_allclose(batched.bn.mean[j][k], alone.bn.mean[j][0], atol=1e-12)
            np.testing.assert_allclose(batched.bn.var[j][k], alone.bn.var[j][0], atol=1e-12)
        for epoch in (0, 3):
            np.testing.assert_allclose(batched.checkpoints[epoch][k],
                                       alone.checkpoints[epoch][0], rtol=0, atol=1e-12)
    # the models really differ (own seeds for weights and shuffling)
    assert not np.allclose(batched.theta[0], batched.theta[1])


def test_models_with_the_same_weights_differ_by_their_shuffling_seed(circles_small):
    arch = Architecture(depth=2, width=4, activation="tanh")
    theta0 = np.repeat(init_params(Network(arch).layout, "glorot_normal", [0]), 2, axis=0)
    result = train(arch, RMSPROP, circles_small, [0, 1], epochs=1, batch_size=16,
                   theta0=theta0)
    assert not np.array_equal(result.theta[0], result.theta[1])


@pytest.mark.parametrize("batch_norm", [(), (1,)])
def test_identical_runs_are_bit_identical(batch_norm, circles_small):
    arch = Architecture(depth=3, width=5, activation="elu", batch_norm=batch_norm)
    opt = OptimizerConfig("adam", lr=0.01, l2=1e-4)
    kw = dict(epochs=4, batch_size=24, init="glorot_uniform")
    a = train(arch, opt, circles_small, [4, 9], **kw)
    b = train(arch, opt, circles_small, [4, 9], **kw)
    assert np.array_equal(a.theta0, b.theta0)
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.diverged_epoch, b.diverged_epoch)
    assert a.history.keys() == b.history.keys()
    for name in a.history:
        assert np.array_equal(a.history[name], b.history[name], equal_nan=True), name


def test_train_does_not_modify_its_inputs(circles_small):
    arch = Architecture(depth=2, width=4)
    theta0 = init_params(Network(arch).layout, "random_normal", [0, 1])
    mask = np.ones_like(theta0)
    mask[:, :3] = 0.0
    copies = theta0.copy(), mask.copy(), circles_small.X_train.copy()
    train(arch, RMSPROP, circles_small, [0, 1], epochs=1, batch_size=32, theta0=theta0,
          mask=mask)
    for before, after in zip(copies, (theta0, mask, circles_small.X_train), strict=True):
        np.testing.assert_array_equal(before, after)


def test_float32_training_stays_close_to_float64(circles_small):
    arch = Architecture(depth=2, width=8, activation="tanh")
    kw = dict(epochs=3, batch_size=32, init="glorot_normal")
    r64 = train(arch, RMSPROP, circles_small, [0, 1], **kw)
    r32 = train(arch, RMSPROP, circles_small, [0, 1], dtype=np.float32, **kw)
    assert r32.theta.dtype == np.float32
    np.testing.assert_allclose(r32.theta, r64.theta, atol=1e-4)
    np.testing.assert_allclose(r32.history["train_loss"], r64.history["train_loss"], atol=1e-4)


def test_batch_size_outside_training_set_raises(circles_small):
    arch = Architecture(depth=1, width=2)
    n = len(circles_small.y_train)
    for bad in (0, n + 1):
        with pytest.raises(ValueError, match="batch_size"):
            train(arch, RMSPROP, circles_small, [0], epochs=1, batch_size=bad)


# --------------------------------------------------------------------------------------
# (d) keep-masks


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_masked_weights_stay_exactly_zero_and_the_rest_move(name, circles_small):
    arch = Architecture(depth=2, width=6, activation="tanh", batch_norm=(1,))
    net = Network(arch)
    seeds = [0, 1]
    theta0 = init_params(net.layout, "random_normal", seeds)  # non-zero where masked
    rng = np.random.default_rng(0)
    weights = net.layout.weight_mask() == 1.0
    pruned = (rng.random(theta0.shape) < 0.5) & weights
    mask = np.where(pruned, 0.0, 1.0)
    lr = 0.001 if name in ("rmsprop", "adam") else 0.05
    opt = OptimizerConfig(name, lr=lr, l2=1e-3)
    result = train(arch, opt, circles_small, seeds, epochs=3, batch_size=32, theta0=theta0,
                   mask=mask)
    assert np.all(result.theta[pruned] == 0.0)
    assert np.all(result.theta0[pruned] == 0.0)
    np.testing.assert_array_equal(result.theta0[~pruned], theta0[~pruned])
    kept = ~pruned & weights
    assert np.all(result.theta[kept] != result.theta0[kept])
    assert np.isfinite(result.history["train_loss"]).all()


def test_a_shared_mask_of_shape_p_applies_to_every_model(circles_small):
    arch = Architecture(depth=2, width=4, activation="relu")
    net = Network(arch)
    mask = np.ones(net.layout.size)
    mask[net.layout.slices["W1"][0]] = 0.0  # prune a whole layer
    result = train(arch, RMSPROP, circles_small, [0, 1, 2], epochs=2, batch_size=32,
                   init="he_normal", mask=mask)
    assert np.all(result.theta[:, mask == 0.0] == 0.0)




def test_after_step_runs_once_per_step_with_its_learning_rate_and_keeps_masks(circles_small):
    arch = Architecture(depth=2, width=4, activation="relu")
    net = Network(arch)
    mask = np.ones(net.layout.size)
    mask[net.layout.slices["W1"][0]] = 0.0
    opt = OptimizerConfig("sgd", lr=0.1, schedule="cosine", warmup_epochs=1)
    seen = []

    def push_up(theta, lr):  # moves every parameter, masked ones included
        seen.append(lr)
        theta += 1.0

    result = train(arch, opt, circles_small, [0], epochs=3, batch_size=64, init="he_normal",
                   mask=mask, after_step=push_up)
    steps_per_epoch = -(-len(circles_small.y_train) // 64)
    np.testing.assert_array_equal(seen, learning_rates(opt, 3, steps_per_epoch))
    assert np.all(result.theta[:, mask == 0.0] == 0.0)
    plain = train(arch, opt, circles_small, [0], epochs=3, batch_size=64, init="he_normal",
                  mask=mask)
    assert np.all(result.theta[:, mask == 1.0] != plain.theta[:, mask == 1.0])
# --------------------------------------------------------------------------------------
# (e) divergence


def test_diverging_model_is_marked_and_the_others_train_as_alone(circles_small,
                                                                 histories_close):
    arch = Architecture(depth=3, width=5, activation="relu")
    net = Network(arch)
    seeds = [0, 1, 2]
    theta0 = init_params(net.layout, "he_normal", seeds)
    theta0[1] *= 1e200  # relu: the logits overflow to inf, the loss is not finite
    kw = dict(epochs=4, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from overflow
        result = train(arch, RMSPROP, circles_small, seeds, theta0=theta0, **kw)
    assert result.status == ["ok", "diverged", "ok"]
    assert result.diverged_epoch[1] >= 0
    assert list(result.diverged_epoch[[0, 2]]) == [-1, -1]
    e = result.diverged_epoch[1]
    for name, values in result.history.items():
        assert np.isnan(values[1, e:]).all(), name
    for k in (0, 2):
        for name in SCALARS + PER_DENSE + ("act_mean", "act_std", "dead_frac"):
            assert np.isfinite(result.history[name][k]).all(), name
        alone = train(arch, RMSPROP, circles_small, [seeds[k]], theta0=theta0[k : k + 1], **kw)
        assert alone.status == ["ok"]
        np.testing.assert_allclose(result.theta[k], alone.theta[0], rtol=0, atol=1e-12)
        histories_close({n: v[k] for n, v in result.history.items()},
                        {n: v[0] for n, v in alone.history.items()}, atol=1e-12)


def test_huge_learning_rate_diverges_some_seeds_without_warnings(circles_small):
    """A run that blows up during training (not at initialization) is caught at the epoch
    its loss stops being finite; earlier epochs keep their values."""
    arch = Architecture(depth=3, width=8, activation="elu")
    opt = OptimizerConfig("sgd", lr=10.0)
    kw = dict(epochs=6, batch_size=16, init="random_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train(arch, opt, circles_small, list(range(6)), **kw)
    d = result.diverged_epoch
    assert (d >= 1).any() and (d < 0).any(), d  # some blow up during training, some not
    for k in np.flatnonzero(d >= 0):
        assert result.status[k] == "diverged"
        assert np.isfinite(result.history["train_loss"][k, : d[k]]).all()
        for name, values in result.history.items():
            assert np.isnan(values[k, d[k] :]).all(), name
    for k in np.flatnonzero(d < 0):
        assert result.status[k] == "ok"
        assert np.isfinite(result.history["train_loss"][k]).all()
    k = int(np.flatnonzero(d < 0)[0])
    alone = train(arch, opt, circles_small, [k], **kw)
    np.testing.assert_allclose(result.history["train_loss"][k], alone.history["train_loss"][0],
                               rtol=0, atol=1e-12)


def test_a_float32_divergence_is_retrained_in_float64_and_told_apart_from_a_real_one(
        circles_small):
    """Weights of 1e30 overflow float32's range in the products but not float64's: a fault
    of single precision. Weights of 1e200 overflow both: a real divergence."""
    arch = Architecture(depth=3, width=5, activation="relu")
    theta0 = init_params(Network(arch).layout, "he_normal", [0, 1, 2])
    theta0[1] *= 1e30
    theta0[2] *= 1e200
    kw = dict(epochs=3, batch_size=32, theta0=theta0)
    with np.errstate(over="ignore"):  # 1e200 becomes inf when cast to float32
        single = train(arch, RMSPROP, circles_small, [0, 1, 2], dtype=np.float32, **kw)
    double = train(arch, RMSPROP, circles_small, [0, 1, 2], **kw)
    assert single.status == ["ok", "diverged", "diverged"]
    assert list(single.float64_diverged) == [False, False, True]
    assert list(single.float32_faults) == [False, True, False]
    assert double.status == ["ok", "ok", "diverged"]
    assert list(double.float64_diverged) == [False, False, True]
    assert not double.float32_faults.any()


def test_all_models_diverging_ends_the_run_quietly(circles_small):
    arch = Architecture(depth=2, width=4, activation="relu")
    theta0 = init_params(Network(arch).layout, "he_normal", [0, 1]) * 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train(arch, RMSPROP, circles_small, [0, 1], epochs=3, batch_size=32,
                       theta0=theta0)
    assert result.status == ["diverged", "diverged"]
    assert list(result.diverged_epoch) == [0, 0]
    assert np.isnan(result.history["train_loss"]).all()


# --------------------------------------------------------------------------------------
# (f) the lecture's running example


def test_lecture_example_relu_tanh_learn_circles_and_zero_init_does_not(circles_lecture):
    """depth 4, width 5, RandomNormal(std 1), RMSprop(lr 0.001), batch 32, 100 epochs on
    make_circles(1000, factor 0.5, noise 0.1). The lecture: ReLU and tanh reach ~0.99
    accuracy; with zeros, loss stays at ln 2 and accuracy at a coin flip."""
    seeds = [0, 1, 2, 3, 4]
    kw = dict(epochs=100, batch_size=32, diagnostics=False)
    acc = {}
    for activation in ("relu", "tanh"):
        for init in ("random_normal", "zeros"):
            r = train(Architecture(4, 5, activation), RMSPROP, circles_lecture, seeds,
                      init=init, init_scale=1.0, **kw)
            acc[activation, init] = r.history["test_acc"][:, -1]
            if init == "zeros":
                np.testing.assert_allclose(r.history["train_loss"][:, -1], np.log(2),
                                           atol=0.01)
    assert acc["relu", "random_normal"].mean() > 0.9
    assert acc["tanh", "random_normal"].mean() > 0.9
    assert acc["relu", "zeros"].max() < 0.6
    assert acc["tanh", "zeros"].max() < 0.6


# --------------------------------------------------------------------------------------
# (g) the history arrays


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_history_shapes_and_family_specific_nans(activation, circles_small):
    depth, epochs, k = 3, 4, 2
    arch = Architecture(depth=depth, width=5, activation=activation)
    result = train(arch, RMSPROP, circles_small, [0, 1], epochs=epochs, batch_size=32)
    h = result.history
    assert set(h) == set(SCALARS + RUNNING + PER_DENSE + PER_HIDDEN)
    for name in SCALARS + RUNNING:
        assert h[name].shape == (k, epochs + 1), name
    for name in RUNNING:  # Keras' history has no point before training
        assert np.isnan(h[name][:, 0]).all() and np.isfinite(h[name][:, 1:]).all(), name
    for name in PER_DENSE:
        assert h[name].shape == (k, epochs + 1, depth + 1), name
    for name in PER_HIDDEN:
        assert h[name].shape == (k, epochs + 1, depth), name
    nan_stat = "dead_frac" if activation == "sigmoid" else "saturated_frac"
    assert np.isnan(h[nan_stat]).all()
    for name in set(h) - {nan_stat} - set(RUNNING):
        assert np.isfinite(h[name]).all(), name
    frac = "saturated_frac" if activation == "sigmoid" else "dead_frac"
    assert np.all((h[frac] >= 0) & (h[frac] <= 1))
    assert np.all((h["train_acc"] >= 0) & (h["train_acc"] <= 1))
    assert np.all(h["grad_norm"] >= np.abs(h["grad_mean"]))


def test_history_entry_zero_is_the_state_at_initialization(circles_small):
    arch = Architecture(depth=2, width=4, activation="tanh")
    result = train(arch, RMSPROP, circles_small, [3], epochs=2, batch_size=32,
                   init="glorot_normal", checkpoints=(0, 2))
    np.testing.assert_array_equal(result.checkpoints[0], result.theta0)
    np.testing.assert_array_equal(result.checkpoints[2], result.theta)
    untrained = train(arch, RMSPROP, circles_small, [3], epochs=1, batch_size=32,
                      init="glorot_normal")
    for name, values in result.history.items():
        np.testing.assert_array_equal(values[:, 0], untrained.history[name][:, 0], name)


def test_gradient_and_activation_stats_match_a_direct_computation(circles_small):
    arch = Architecture(depth=2, width=4, activation="relu")
    net = Network(arch)
    result = train(arch, RMSPROP, circles_small, [0], epochs=1, batch_size=32)
    p = net.bind(result.theta)
    X = circles_small.X_train
    y = circles_small.y_train.astype(float)[:, None]
    logits, cache = net.forward(p, X, training=True)
    g = np.empty_like(result.theta)
    net.backward(p, cache, (sigmoid(logits) - y) / len(y), net.bind(g))
    h = result.history
    for i, gw in enumerate(net.bind(g).W):
        assert h["grad_norm"][0, 1, i] == pytest.approx(np.linalg.norm(gw))
        assert h["grad_mean"][0, 1, i] == pytest.approx(gw.mean())
        assert h["grad_std"][0, 1, i] == pytest.approx(gw.std())
    for i, (_, z, a, _, _) in enumerate(cache[:-1]):
        assert h["act_mean"][0, 1, i] == pytest.approx(a.mean())
        assert h["act_std"][0, 1, i] == pytest.approx(a.std())
        assert h["dead_frac"][0, 1, i] == pytest.approx(np.mean((z <= 0).all(axis=1)))
    acc = np.mean((logits[0, :, 0] > 0) == circles_small.y_train)
    assert h["train_acc"][0, 1] == pytest.approx(acc)


def test_zero_init_relu_is_all_dead_at_initialization(circles_small):
    arch = Architecture(depth=3, width=5, activation="relu")
    result = train(arch, RMSPROP, circles_small, [0, 1], epochs=2, batch_size=32,
                   init="zeros")
    np.testing.assert_array_equal(result.history["dead_frac"][:, 0], 1.0)
    np.testing.assert_array_equal(result.history["grad_norm"][:, 0, :-1], 0.0)
    np.testing.assert_allclose(result.history["train_loss"][:, 0], np.log(2), rtol=1e-15)


def test_saturated_sigmoid_units_are_counted(circles_small):
    """With huge weights every sigmoid unit is pinned at 0 or 1 on every point."""
    arch = Architecture(depth=2, width=4, activation="sigmoid")
    net = Network(arch)
    theta0 = init_params(net.layout, "random_normal", [0]) * 1e4
    result = train(arch, RMSPROP, circles_small, [0], epochs=1, batch_size=32, theta0=theta0)
    assert result.history["saturated_frac"][0, 0, 1] == 1.0


@pytest.mark.parametrize("batch_norm", [(), (1,)])
def test_diagnostics_off_records_same_losses_and_accuracies(batch_norm, circles_small):
    arch = Architecture(depth=2, width=5, activation="tanh", batch_norm=batch_norm)
    kw = dict(epochs=3, batch_size=32)
    on = train(arch, RMSPROP, circles_small, [0, 1], diagnostics=True, **kw)
    off = train(arch, RMSPROP, circles_small, [0, 1], diagnostics=False, **kw)
    np.testing.assert_array_equal(on.theta, off.theta)
    for name in SCALARS:
        np.testing.assert_allclose(off.history[name], on.history[name], rtol=0, atol=1e-12,
                                   err_msg=name)
        assert np.isfinite(off.history[name]).all()
    for name in PER_DENSE + PER_HIDDEN:
        assert np.isnan(off.history[name]).all(), name


def test_batch_norm_metrics_use_running_averages_at_inference(circles_small):
    """Test loss with batch norm comes from the running statistics, which training moved
    away from their initial (0, 1)."""
    arch = Architecture(depth=2, width=5, activation="sigmoid", batch_norm=(2,))
    result = train(arch, RMSPROP, circles_small, [0], epochs=3, batch_size=32)
    assert not np.allclose(result.bn.mean[2], 0.0)
    net = Network(arch)
    logits, _ = net.forward(net.bind(result.theta), circles_small.X_test, result.bn)
    y = circles_small.y_test
    acc = np.mean((logits[0, :, 0] > 0) == y)
    assert result.history["test_acc"][0, -1] == pytest.approx(acc)
