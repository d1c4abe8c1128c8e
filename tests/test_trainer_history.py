"""History arrays beyond the end-of-epoch evaluation: Keras-style running metrics, and
per-layer diagnostics recorded only at chosen epochs."""

from __future__ import annotations

import numpy as np
import pytest

from trainability.activations import sigmoid
from trainability.model import Architecture, BatchNormState, Network, init_params, model_rng
from trainability.optim import OptimizerConfig
from trainability.train import (
    PER_DENSE,
    PER_HIDDEN,
    RUNNING,
    SCALARS,
    SHUFFLE_STREAM,
    Dataset,
    train,
)

# --------------------------------------------------------------------------------------
# running metrics: what Keras' fit() history reports


def _keras_history_by_hand(arch, theta0, data, seed, epochs, batch_size, lr, l2):
    """One model, one mini-batch at a time, as Keras' fit() does it: per batch, the
    training-mode loss (mean BCE + 0.5 l2 ||W||^2, before the update) and accuracy; per
    epoch, their mean over batches weighted by batch size. SGD with L2."""
    net = Network(arch)
    theta = theta0.copy()
    weights = net.layout.weight_mask()
    bn = BatchNormState.fresh(arch, 1)
    X, y = data.X_train, data.y_train.astype(float)[:, None]
    shuffler = model_rng(seed, SHUFFLE_STREAM)
    losses, accs, unweighted = [], [], []
    for _ in range(epochs):
        order = shuffler.permutation(len(y))
        batch_loss, batch_acc, sizes = [], [], []
        for start in range(0, len(y), batch_size):
            xb, yb = X[order[start : start + batch_size]], y[order[start : start + batch_size]]
            p = net.bind(theta)
            logits, cache = net.forward(p, xb, bn, training=True)
            z = logits[0]
            bce = np.mean(np.logaddexp(0.0, z) - yb * z)
            batch_loss.append(bce + 0.5 * l2 * np.sum((theta * weights) ** 2))
            batch_acc.append(np.mean((z > 0) == yb))
            sizes.append(len(yb))
            grad = np.empty_like(theta)
            net.backward(p, cache, (sigmoid(logits) - yb) / len(yb), net.bind(grad))
            theta = theta - lr * (grad + l2 * weights * theta)
        losses.append(np.average(batch_loss, weights=sizes))
        accs.append(np.average(batch_acc, weights=sizes))
        unweighted.append(np.mean(batch_loss))
    return np.array(losses), np.array(accs), np.array(unweighted), theta


@pytest.mark.parametrize("batch_norm", [(), (1,)], ids=["plain", "batch_norm"])
def test_running_metrics_are_keras_batch_size_weighted_means_of_batch_values(batch_norm,
                                                                            circles_small):
    """160 points in batches of 48: three of 48 and one of 16, so weighting matters. With
    batch norm the batch values use batch statistics (training mode), not running ones."""
    arch = Architecture(depth=2, width=5, activation="tanh", batch_norm=batch_norm)
    seeds, epochs, batch_size, lr, l2 = [3, 8], 3, 48, 0.5, 0.02
    theta0 = init_params(Network(arch).layout, "glorot_normal", seeds)
    result = train(arch, OptimizerConfig("sgd", lr=lr, l2=l2), circles_small, seeds,
                   epochs=epochs, batch_size=batch_size, theta0=theta0, diagnostics=False)
    h = result.history
    assert np.isnan(h["running_loss"][:, 0]).all() and np.isnan(h["running_acc"][:, 0]).all()
    for k, seed in enumerate(seeds):
        loss, acc, unweighted, theta = _keras_history_by_hand(
            arch, theta0[k : k + 1], circles_small, seed, epochs, batch_size, lr, l2)
        np.testing.assert_allclose(theta[0], result.theta[k], rtol=0, atol=1e-12)
        np.testing.assert_allclose(h["running_loss"][k, 1:], loss, rtol=1e-12)
        np.testing.assert_allclose(h["running_acc"][k, 1:], acc, rtol=1e-12)
        assert np.abs(unweighted - loss).min() > 1e-6  # the weighting is tested
    # the running loss is not the end-of-epoch loss over the training set
    assert np.abs(h["running_loss"][:, 1:] - h["train_loss"][:, 1:]).min() > 1e-4


def test_running_metrics_of_frozen_weights_are_the_loss_over_all_points():
    """With a learning rate of 1e-300 every batch sees the initial weights, so the batch
    values weighted by batch size (48, 48, 48, 16) average to the initial loss and accuracy
    over all 160 points, whatever the shuffling."""
    n, b = 160, 48
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    data = Dataset(X, y, X, y)
    arch = Architecture(depth=1, width=3, activation="relu")
    result = train(arch, OptimizerConfig("sgd", lr=1e-300), data, [0], epochs=1, batch_size=b,
                   init="glorot_uniform", diagnostics=False)
    np.testing.assert_allclose(result.history["running_loss"][0, 1],
                               result.history["train_loss"][0, 0], rtol=1e-13)
    np.testing.assert_allclose(result.history["running_acc"][0, 1],
                               result.history["train_acc"][0, 0], rtol=1e-13)


# --------------------------------------------------------------------------------------
# diagnostics at chosen epochs


@pytest.mark.parametrize("batch_norm", [(), (2,)], ids=["plain", "batch_norm"])
def test_diagnostics_at_chosen_epochs_equal_every_epoch_values_and_nan_elsewhere(batch_norm,
                                                                                circles_small):
    arch = Architecture(depth=2, width=5, activation="relu", batch_norm=batch_norm)
    kw = dict(epochs=4, batch_size=32, init="he_normal")
    every = train(arch, OptimizerConfig(), circles_small, [0, 1], diagnostics=True, **kw)
    chosen = (0, 2, 4, 7)  # 7 is past the run: ignored
    some = train(arch, OptimizerConfig(), circles_small, [0, 1], diagnostics=chosen, **kw)
    np.testing.assert_array_equal(some.theta, every.theta)
    for name in SCALARS + RUNNING:
        np.testing.assert_array_equal(some.history[name], every.history[name], err_msg=name)
    recorded, skipped = [0, 2, 4], [1, 3]
    for name in PER_DENSE + ("act_mean", "act_std", "dead_frac"):
        np.testing.assert_array_equal(some.history[name][:, recorded],
                                      every.history[name][:, recorded], err_msg=name)
        assert np.isfinite(some.history[name][:, recorded]).all(), name
        assert np.isnan(some.history[name][:, skipped]).all(), name
    for name in PER_DENSE + PER_HIDDEN:
        assert some.history[name].shape == every.history[name].shape


def test_diagnostics_schedule_rejects_negative_epochs(circles_small):
    with pytest.raises(ValueError, match="diagnostics epochs"):
        train(Architecture(depth=1, width=2), OptimizerConfig(), circles_small, [0], epochs=1,
              batch_size=32, diagnostics=(-1, 0))
