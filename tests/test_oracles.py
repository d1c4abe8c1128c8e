"""The trainer against implementations nobody here wrote, and against the published formulas.

(a) one step (and one epoch of steps) of scikit-learn's ``MLPClassifier`` from the same
    weights on the same batch; (b) our optimizers against reference implementations of the
    formulas in ``optim``'s docstring; (c) the learning-rate schedules; (d) L2 decay.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from trainability.activations import sigmoid
from trainability.data import Dataset
from trainability.model import Architecture, Network, init_params
from trainability.optim import (
    EPS_CONVENTIONS,
    OPTIMIZERS,
    SCHEDULES,
    OptimizerConfig,
    learning_rates,
    make_optimizer,
)
from trainability.train import bce_from_logits, train

SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}
DEPTH, WIDTH = 2, 4


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) < 1.1).astype(np.int64)  # two classes, both present
    assert 0 < y.sum() < n
    return X, y


def _theta0(arch, seed=4):
    """Our initial parameters, with non-zero biases so their updates are compared too."""
    net = Network(arch)
    theta = init_params(net.layout, "glorot_normal", [seed])
    rng = np.random.default_rng(seed + 100)
    theta += 0.1 * rng.normal(size=theta.shape) * (1.0 - net.layout.weight_mask())
    return net, theta


def _sklearn_with_weights(net, theta, X, y, **kwargs):
    """An MLPClassifier of the same architecture, initialized, then given our weights."""
    arch = net.arch
    mlp = MLPClassifier(
        hidden_layer_sizes=(arch.width,) * arch.depth,
        activation=SKLEARN_ACTIVATION[arch.activation],
        solver=kwargs.pop("solver", "sgd"),
        shuffle=False,
        random_state=0,
        **kwargs,
    )
    mlp.partial_fit(X, y, classes=[0, 1])  # creates coefs_ / intercepts_ (and steps once)
    p = net.bind(theta)
    assert len(mlp.coefs_) == arch.depth + 1
    for i in range(arch.depth + 1):
        assert mlp.coefs_[i].shape == p.W[i][0].shape
        mlp.coefs_[i][...] = p.W[i][0]  # in place: the optimizer holds these arrays
        mlp.intercepts_[i][...] = p.b[i][0, 0]
    return mlp


def _assert_same_weights(net, theta, mlp, atol=1e-10):
    p = net.bind(theta)
    for i in range(net.arch.depth + 1):
        np.testing.assert_allclose(p.W[i][0], mlp.coefs_[i], rtol=0, atol=atol, err_msg=f"W{i}")
        np.testing.assert_allclose(
            p.b[i][0, 0], mlp.intercepts_[i], rtol=0, atol=atol, err_msg=f"b{i}"
        )


@pytest.mark.parametrize("l2", [0.0, 0.05], ids=["no_l2", "l2"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_one_full_batch_sgd_step_matches_sklearn(activation, l2):
    B, lr = 64, 0.5
    X, y = _points(B)
    net, theta0 = _theta0(Architecture(DEPTH, WIDTH, activation))
    # sklearn's coefficient gradient is (h^T delta + alpha W) / B, ours h^T delta / B + l2 W
    mlp = _sklearn_with_weights(
        net, theta0, X, y, momentum=0.0, nesterovs_momentum=False, alpha=l2 * B,
        learning_rate_init=lr, batch_size=B,
    )
    mlp.partial_fit(X, y)  # exactly one step on the one batch

    data = Dataset(X, y, X, y)
    result = train(
        net.arch, OptimizerConfig("sgd", lr=lr, l2=l2), data, [0], epochs=1, batch_size=B,
        theta0=theta0,
    )
    assert not np.allclose(result.theta, theta0)  # the step did something
    _assert_same_weights(net, result.theta, mlp)


@pytest.mark.parametrize(
    "name,sk_kwargs",
    [
        ("sgd", dict(solver="sgd", momentum=0.0, nesterovs_momentum=False)),
        ("momentum", dict(solver="sgd", momentum=0.9, nesterovs_momentum=False)),
        ("nesterov", dict(solver="sgd", momentum=0.9, nesterovs_momentum=True)),
        ("adam", dict(solver="adam", beta_1=0.9, beta_2=0.999, epsilon=1e-300)),
    ],
)
def test_one_epoch_of_minibatch_steps_matches_sklearn(name, sk_kwargs):
    """Eight mini-batch steps in a fixed order (sklearn with shuffle=False; ours through
    Network and the optimizer class), with optimizer state carried between steps.

    Adam: sklearn adds eps to sqrt(v), we add it to sqrt(v_hat); with eps ~ 0 both agree.
    """
    n, B, lr = 128, 16, 0.05
    X, y = _points(n, seed=1)
    net, theta = _theta0(Architecture(DEPTH, WIDTH, "tanh"), seed=5)
    mlp = _sklearn_with_weights(
        net, theta, X, y, alpha=0.0, learning_rate_init=lr, batch_size=B, max_iter=1,
        warm_start=True, **sk_kwargs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 is intended
        mlp.fit(X, y)  # warm start: our weights, a fresh optimizer, one epoch in order

    opt = make_optimizer(OptimizerConfig(name, lr=lr, momentum=0.9, eps=1e-300), theta)
    p, grad = net.bind(theta), np.empty_like(theta)
    for start in range(0, n, B):
        xb, yb = X[start : start + B], y[start : start + B, None].astype(float)
        logits, cache = net.forward(p, xb, None, training=True)
        net.backward(p, cache, (sigmoid(logits) - yb) / B, net.bind(grad))
        opt.step(theta, grad, lr)
    _assert_same_weights(net, theta, mlp)


# --------------------------------------------------------------------------------------
# (b) optimizers against reference implementations of the documented formulas

CFG = dict(momentum=0.8, rho=0.85, beta1=0.85, beta2=0.99, eps=1e-6)


def _reference(name, theta, grads, lrs):
    """Straightforward transcription of the update rules in optim's docstring."""
    theta = theta.copy()
    mu, rho, b1, b2, eps = CFG["momentum"], CFG["rho"], CFG["beta1"], CFG["beta2"], CFG["eps"]
    v = np.zeros_like(theta)
    s = np.zeros_like(theta)
    m = np.zeros_like(theta)
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        if name == "sgd":
            theta = theta - lr * g
        elif name == "momentum":
            v = mu * v - lr * g
            theta = theta + v
        elif name == "nesterov":
            v = mu * v - lr * g
            theta = theta + mu * v - lr * g
        elif name == "rmsprop":
            s = rho * s + (1 - rho) * g**2
            theta = theta - lr * g / np.sqrt(s + eps)
        elif name == "adam":
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g**2
            lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            theta = theta - lr_t * m / (np.sqrt(s) + eps)
        else:
            raise AssertionError(name)
    return theta


def test_reference_covers_every_optimizer():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_match_reference_formulas(name):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 17))
    # gradients of very different sizes per entry, so eps and the running averages matter
    grads = [rng.normal(size=theta0.shape) * np.logspace(-4, 1, 17) for _ in range(7)]
    lrs = [0.1, 0.05, 0.2, 0.01, 0.1, 0.3, 0.07]
    theta = theta0.copy()
    opt = make_optimizer(OptimizerConfig(name, lr=0.1, **CFG), theta)
    for g, lr in zip(grads, lrs, strict=True):
        opt.step(theta, g.copy(), lr)
    np.testing.assert_allclose(theta, _reference(name, theta0, grads, lrs), rtol=1e-12,
                               atol=1e-14)


def _keras(name, theta, grads, lr, eps):
    """Keras 3's update_step (keras/src/optimizers/{rmsprop,adam}.py): RMSprop divides by
    sqrt(s + eps); Adam adds eps to sqrt(s) before bias correction ("epsilon hat").
    Operations in the order ``optim`` performs them, so the default must match bit for bit."""
    theta = theta.copy()
    rho, b1, b2 = 0.9, 0.9, 0.999
    s = np.zeros_like(theta)
    m = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if name == "rmsprop":
            s = s + (g * g - s) * (1 - rho)
            theta = theta - (g / np.sqrt(s + eps)) * lr
        else:
            m = m + (g - m) * (1 - b1)
            s = s + (g * g - s) * (1 - b2)
            alpha = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
            theta = theta - (m / (np.sqrt(s) + eps)) * alpha
    return theta


def _pytorch(name, theta, grads, lr, eps):
    """torch.optim.RMSprop (alpha = rho) and torch.optim.Adam as their documentation writes
    them: RMSprop divides by sqrt(s) + eps; Adam adds eps to sqrt(v_hat)."""
    theta = theta.copy()
    rho, b1, b2 = 0.9, 0.9, 0.999
    s = np.zeros_like(theta)
    m = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if name == "rmsprop":
            s = rho * s + (1 - rho) * g**2
            theta = theta - lr * g / (np.sqrt(s) + eps)
        else:
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), s / (1 - b2**t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def _run_optimizer(name, theta0, grads, convention=None):
    """Our optimizer with the Keras defaults (lr 1e-3, eps 1e-7) over ``grads``."""
    theta = theta0.copy()
    kw = {} if convention is None else {"eps_convention": convention}
    opt = make_optimizer(OptimizerConfig(name, lr=0.001, **kw), theta)
    for g in grads:
        opt.step(theta, g, 0.001)
    return theta


def _tiny_gradients(seed=3):
    """Gradients from 1e-8 to 1: where eps sits moves the small ones by orders of magnitude."""
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(size=(2, 12))
    grads = [rng.normal(size=theta0.shape) * np.logspace(-8, 0, 12) for _ in range(4)]
    return theta0, grads


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_default_eps_convention_is_keras_bit_for_bit(name):
    theta0, grads = _tiny_gradients()
    expected = _keras(name, theta0, grads, 0.001, 1e-7)
    np.testing.assert_array_equal(_run_optimizer(name, theta0, grads), expected)
    np.testing.assert_array_equal(_run_optimizer(name, theta0, grads, "keras"), expected)


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_pytorch_eps_convention_matches_pytorch_update_step(name):
    theta0, grads = _tiny_gradients()
    ours = _run_optimizer(name, theta0, grads, "pytorch")
    np.testing.assert_allclose(ours - theta0, _pytorch(name, theta0, grads, 0.001, 1e-7) - theta0,
                               rtol=1e-12, atol=0)
    # the conventions really differ on tiny gradients: a steps of ~lr against ~g / sqrt(eps)
    keras = _run_optimizer(name, theta0, grads, "keras")
    assert np.abs((ours - theta0) / (keras - theta0)).max() > 10


def test_eps_convention_registry_and_unknown_name():
    assert set(EPS_CONVENTIONS) == {"keras", "pytorch"}
    with pytest.raises(ValueError, match="unknown eps_convention 'tf2'.*keras, pytorch"):
        OptimizerConfig(eps_convention="tf2")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_never_moves_entries_with_zero_gradient(name):
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(2, 9))
    theta0 = theta.copy()
    frozen = rng.random(theta.shape) < 0.5
    opt = make_optimizer(OptimizerConfig(name, lr=0.1), theta)
    for _ in range(5):
        g = rng.normal(size=theta.shape)
        g[frozen] = 0.0
        opt.step(theta, g, 0.1)
    np.testing.assert_array_equal(theta[frozen], theta0[frozen])
    assert np.all(theta[~frozen] != theta0[~frozen])


def test_optimizer_does_not_modify_the_gradient():
    rng = np.random.default_rng(2)
    for name in OPTIMIZERS:
        theta = rng.normal(size=(2, 5))
        g = rng.normal(size=(2, 5))
        g0 = g.copy()
        make_optimizer(OptimizerConfig(name), theta).step(theta, g, 0.01)
        np.testing.assert_array_equal(g, g0, err_msg=name)


def test_optimizer_config_rejects_unknown_names_and_bad_lr():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'.*rmsprop"):
        OptimizerConfig("adagrad")
    with pytest.raises(ValueError, match="unknown schedule 'linear'.*cosine"):
        OptimizerConfig(schedule="linear")
    for lr in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lr"):
            OptimizerConfig(lr=lr)


def test_optimizer_config_defaults_are_keras_defaults():
    cfg = OptimizerConfig()
    assert (cfg.name, cfg.lr, cfg.rho, cfg.eps) == ("rmsprop", 0.001, 0.9, 1e-7)
    assert (cfg.momentum, cfg.beta1, cfg.beta2, cfg.l2) == (0.9, 0.9, 0.999, 0.0)


# --------------------------------------------------------------------------------------
# (c) learning-rate schedules


def test_schedules_are_the_documented_ones():
    assert set(SCHEDULES) == {"constant", "step", "cosine"}


def test_constant_schedule_gives_lr_at_every_step():
    lrs = learning_rates(OptimizerConfig(lr=0.01), epochs=4, steps_per_epoch=3)
    np.testing.assert_array_equal(lrs, np.full(12, 0.01))


def test_step_schedule_multiplies_by_gamma_every_step_epochs():
    cfg = OptimizerConfig(lr=0.2, schedule="step", step_epochs=3, step_gamma=0.5)
    lrs = learning_rates(cfg, epochs=8, steps_per_epoch=4)
    assert lrs.shape == (32,)
    expected = 0.2 * 0.5 ** (np.arange(8) // 3)  # per epoch: 0-2 lr, 3-5 lr/2, 6-7 lr/4
    np.testing.assert_allclose(lrs, np.repeat(expected, 4), rtol=1e-15)


def test_cosine_schedule_decays_from_lr_towards_zero():
    lrs = learning_rates(OptimizerConfig(lr=0.1, schedule="cosine"), epochs=10,
                         steps_per_epoch=10)
    assert lrs.shape == (100,)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[25] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi / 4)))
    assert lrs[50] == pytest.approx(0.05)
    assert lrs[75] == pytest.approx(0.1 * 0.5 * (1 + np.cos(3 * np.pi / 4)))
    assert np.all(np.diff(lrs) < 0)
    assert 0 < lrs[-1] < 1e-3 * 0.1


def test_warmup_ramps_linearly_then_follows_the_schedule():
    cfg = OptimizerConfig(lr=0.1, warmup_epochs=2)
    lrs = learning_rates(cfg, epochs=5, steps_per_epoch=5)
    np.testing.assert_allclose(lrs[:10], 0.1 * np.arange(1, 11) / 10, rtol=1e-15)
    np.testing.assert_array_equal(lrs[10:], 0.1)

    cfg = OptimizerConfig(lr=0.1, warmup_epochs=1, schedule="step", step_epochs=2,
                          step_gamma=0.1)
    lrs = learning_rates(cfg, epochs=4, steps_per_epoch=2)
    np.testing.assert_allclose(lrs, [0.05, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01])


def test_train_applies_the_schedule_step_by_step(circles_small):
    """With sgd, a step schedule whose second epoch has gamma = 0 freezes the weights after
    epoch 1: the final parameters equal a one-epoch run's."""
    arch = Architecture(2, 3, "tanh")
    kw = dict(epochs=2, batch_size=40, init="glorot_normal")
    frozen = OptimizerConfig("sgd", lr=0.1, schedule="step", step_epochs=1, step_gamma=0.0)
    two = train(arch, frozen, circles_small, [0], **kw)
    one = train(arch, OptimizerConfig("sgd", lr=0.1), circles_small, [0], **kw | {"epochs": 1})
    np.testing.assert_array_equal(two.theta, one.theta)
    assert not np.array_equal(one.theta, one.theta0)


# --------------------------------------------------------------------------------------
# (d) L2 decay


def _objective(net, theta, X, y, l2):
    logits, _ = net.forward(net.bind(theta), X, None, training=True)
    weights = theta * net.layout.weight_mask()
    return bce_from_logits(logits, y) + 0.5 * l2 * (weights**2).sum(axis=1)


@pytest.mark.parametrize("batch_norm", [(), (1,)])
def test_l2_step_follows_gradient_of_loss_plus_half_l2_weight_norm(batch_norm):
    n, lr, l2 = 48, 0.1, 0.3
    X, y = _points(n, seed=2)
    arch = Architecture(DEPTH, WIDTH, "tanh", batch_norm=batch_norm)
    net, theta0 = _theta0(arch)
    if batch_norm:  # gamma != 1, beta != 0: decay must leave them alone
        theta0[0, net.layout.slices["gamma1"][0]] = 1.5
    data = Dataset(X, y, X, y)
    kw = dict(epochs=1, batch_size=n, theta0=theta0)
    with_l2 = train(arch, OptimizerConfig("sgd", lr=lr, l2=l2), data, [0], **kw)
    without = train(arch, OptimizerConfig("sgd", lr=lr), data, [0], **kw)

    # the step is -lr * gradient of the objective (central differences, float64)
    yf = y[:, None].astype(float)
    h = 1e-6
    fd = np.empty_like(theta0)
    for j in range(theta0.shape[1]):
        e = np.zeros_like(theta0)
        e[0, j] = h
        fd[0, j] = (_objective(net, theta0 + e, X, yf, l2)[0]
                    - _objective(net, theta0 - e, X, yf, l2)[0]) / (2 * h)
    np.testing.assert_allclose((theta0 - with_l2.theta) / lr, fd, rtol=0, atol=1e-7)

    # and it differs from the plain step by exactly lr * l2 * W on weights, 0 elsewhere
    weights = net.layout.weight_mask() == 1.0
    diff = without.theta - with_l2.theta
    np.testing.assert_allclose(diff[0, weights], lr * l2 * theta0[0, weights], rtol=1e-9,
                               atol=1e-15)
    np.testing.assert_array_equal(diff[0, ~weights], 0.0)
