"""Finite-difference checks of the backward pass and of the activation derivatives.

The analytic gradient of the full-data mean BCE (``Network.backward`` fed with
``d_logits = (sigmoid(logits) - y) / B``) must equal central differences of
``bce_from_logits(Network.forward(..., training=True))`` for every parameter, for every
activation, with and without batch normalization (batch statistics, as in training) and
with and without a keep-mask.
"""

from __future__ import annotations

import numpy as np
import pytest

from trainability.activations import ACTIVATIONS, sigmoid
from trainability.model import Architecture, Network, Workspace, init_params
from trainability.train import bce_from_logits

H = 1e-6  # central-difference step on parameters
REL_TOL = 1e-6
KINKED = {"relu", "leaky_relu"}  # first derivative jumps at 0


def _loss(net, theta, X, y):
    logits, _ = net.forward(net.bind(theta), X, None, training=True)
    return bce_from_logits(logits, y)  # (K,)


def _analytic(net, theta, X, y):
    p = net.bind(theta)
    logits, cache = net.forward(p, X, None, training=True)
    grad = np.full_like(theta, np.nan)  # backward must write every entry
    net.backward(p, cache, (sigmoid(logits) - y) / y.shape[-2], net.bind(grad))
    return grad


def _numeric(net, theta, X, y, mask=None):
    """Central differences of each model's loss; model k's loss depends on theta[k] only,
    so one perturbed column serves all K models at once."""
    eff = (lambda t: t * mask) if mask is not None else (lambda t: t)
    fd = np.empty_like(theta)
    for j in range(theta.shape[1]):
        plus, minus = theta.copy(), theta.copy()
        plus[:, j] += H
        minus[:, j] -= H
        fd[:, j] = (_loss(net, eff(plus), X, y) - _loss(net, eff(minus), X, y)) / (2 * H)
    return fd


def _away_from_kinks(net, theta, X, y, margin=1e-3):
    """Drop the points with a pre-activation within ``margin`` of 0 in any model and unit,
    so no finite-difference step crosses relu's kink (repeated: with batch norm, dropping
    points moves the batch statistics)."""
    for _ in range(10):
        _, cache = net.forward(net.bind(theta), X, None, training=True)
        near = np.zeros(len(X), dtype=bool)
        for _, z, _, _, _ in cache[:-1]:
            near |= (np.abs(z) < margin).any(axis=(0, 2))
        if not near.any():
            return X, y
        X, y = X[~near], y[~near]
    raise AssertionError("test setup: could not keep the points away from the kink")


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
@pytest.mark.parametrize(
    "depth,batch_norm", [(3, ()), (2, (1,)), (3, (1, 2)), (3, (3,))],
    ids=["nobn", "bn1", "bn12", "bn3"],
)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backward_matches_finite_differences(activation, depth, batch_norm, masked, tiny_batch):
    X, y = tiny_batch
    arch = Architecture(depth=depth, width=4, activation=activation, batch_norm=batch_norm)
    net = Network(arch)
    theta = init_params(net.layout, "random_normal", seeds=[11, 12], scale=0.8)
    rng = np.random.default_rng(5)
    # non-trivial biases and batch-norm scales, so their gradients are exercised too
    theta += 0.3 * rng.normal(size=theta.shape) * (1.0 - net.layout.weight_mask())
    mask = None
    if masked:
        # prune ~30% of the weights (biases and batch-norm parameters are never masked)
        drop = (rng.random(theta.shape) < 0.3) & (net.layout.weight_mask() == 1.0)
        mask = np.where(drop, 0.0, 1.0)
        theta_eff = theta * mask
    else:
        theta_eff = theta

    if activation in KINKED:
        X, y = _away_from_kinks(net, theta_eff, X, y)
        assert len(y) >= 48
    grad = _analytic(net, theta_eff, X, y)
    if mask is not None:
        grad = grad * mask
    fd = _numeric(net, theta, X, y, mask)

    assert np.isfinite(grad).all()
    scale = np.abs(fd).max()
    assert scale > 1e-4  # the check would be vacuous on a flat loss
    for name, (s, _) in net.layout.slices.items():
        err = np.abs(grad[:, s] - fd[:, s]).max() / scale
        assert err < REL_TOL, f"{name}: relative error {err:.2e}"


def test_backward_accepts_batched_inputs_per_model(tiny_batch):
    """Inputs ``(K, B, n)`` (each model its own batch, as in training) give each model the
    gradient it gets alone on its batch."""
    X, y = tiny_batch
    net = Network(Architecture(depth=2, width=3, activation="tanh", batch_norm=(1,)))
    theta = init_params(net.layout, "glorot_normal", seeds=[0, 1])
    order = np.stack([np.arange(len(y)), np.arange(len(y))[::-1]])
    Xk, yk = X[order[:, :32]], y[order[:, :32]]
    grad_batched = _analytic(net, theta, Xk, yk)
    for k in range(2):
        grad_alone = _analytic(net, theta[k : k + 1], Xk[k], yk[k])
        np.testing.assert_allclose(grad_batched[k], grad_alone[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_differences(name):
    act = ACTIVATIONS[name]
    z = np.linspace(-8.0, 8.0, 3201)
    z = z[np.abs(z) > 1e-3]  # away from the kink of relu and leaky_relu
    h = 1e-6
    fd = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
    analytic = act.grad(z, act.fn(z)) * np.ones_like(z)  # relu's is boolean
    np.testing.assert_allclose(analytic, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_peak_grad_is_the_derivative_maximum(name):
    """``peak_grad`` scales the saturation threshold, so it must be the derivative's max."""
    act = ACTIVATIONS[name]
    z = np.linspace(-10.0, 10.0, 200001)
    z = z[np.abs(z) > 1e-9]
    peak = (act.grad(z, act.fn(z)) * np.ones_like(z)).max()
    assert act.peak_grad == pytest.approx(peak, rel=0.01)


def test_sigmoid_is_stable_for_extreme_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = sigmoid(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.5, 1.0, 1.0])


def test_bce_from_logits_is_finite_for_extreme_logits():
    logits = np.array([[[-1e4], [1e4], [0.0]]])
    y = np.array([[1.0], [0.0], [1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = bce_from_logits(logits, y)
    np.testing.assert_allclose(loss, [(1e4 + 1e4 + np.log(2.0)) / 3])


# --------------------------------------------------------------------------------------
# Keras 3 conventions and the scratch-array contract


def test_leaky_relu_has_keras_negative_slope():
    """Keras 3's ``leaky_relu`` (what ``Dense(activation="leaky_relu")`` calls) uses 0.2;
    PyTorch's 0.01 was the old default here."""
    act = ACTIVATIONS["leaky_relu"]
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(act.fn(z), np.where(z > 0, z, 0.2 * z))
    np.testing.assert_array_equal(act.grad(z, act.fn(z)), [0.2, 0.2, 0.2, 1.0, 1.0])


def test_gelu_is_exact_not_the_tanh_approximation():
    """Keras 3's default ``gelu(approximate=False)``: z Phi(z) with the normal CDF from erf.
    The tanh approximation differs from it by up to ~5e-4 around |z| ~ 2."""
    from math import erf, sqrt

    act = ACTIVATIONS["gelu"]
    z = np.concatenate([np.linspace(-6.0, 6.0, 1201), [0.0, 1e-310, -1e-200, 1e-17]])
    exact = np.array([0.5 * v * (1.0 + erf(v / sqrt(2.0))) for v in z])
    np.testing.assert_allclose(act.fn(z), exact, rtol=1e-13, atol=1e-15)
    # its derivative Phi(z) + z phi(z), at z = 0 and subnormal z too
    slope = np.array([0.5 * (1.0 + erf(v / sqrt(2.0))) + v * np.exp(-v * v / 2) / sqrt(2 * np.pi)
                      for v in z])
    np.testing.assert_allclose(act.grad(z, act.fn(z)), slope, rtol=1e-13, atol=1e-15)
    tanh_approx = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))
    assert np.abs(tanh_approx - exact).max() > 1e-4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_scratch_array_gives_the_same_values_and_dtype(name, dtype):
    """The training step passes preallocated scratch arrays as ``out``; the result must be
    the one of a fresh call, in the input's precision."""
    act = ACTIVATIONS[name]
    z = np.random.default_rng(0).normal(scale=3.0, size=(2, 7, 5)).astype(dtype)
    a = act.fn(z)
    a_out = act.fn(z, np.full_like(z, np.nan))
    grad = act.grad(z, a) * np.ones_like(z)
    grad_out = act.grad(z, a, np.full_like(z, np.nan)) * np.ones_like(z)
    assert a.dtype == a_out.dtype == grad.dtype == grad_out.dtype == dtype
    np.testing.assert_array_equal(a_out, a)
    np.testing.assert_array_equal(grad_out, grad)


@pytest.mark.parametrize("batch_norm", [(), (1,)])
def test_a_reused_workspace_gives_the_gradient_of_a_fresh_one(batch_norm, tiny_batch):
    """The training step passes the same Workspace every step: nothing of an earlier batch
    may leak into the next one's logits or gradient."""
    X, y = tiny_batch
    net = Network(Architecture(depth=3, width=4, activation="gelu", batch_norm=batch_norm))
    theta = init_params(net.layout, "he_normal", seeds=[0, 1])
    p = net.bind(theta)
    ws = Workspace(net.arch, 2, 32, np.float64)
    for rows in (slice(0, 32), slice(32, 64)):  # the second batch reuses the first's arrays
        logits, cache = net.forward(p, X[rows], None, training=True, ws=ws)
        grad = np.full_like(theta, np.nan)
        net.backward(p, cache, (sigmoid(logits) - y[rows]) / 32, net.bind(grad), ws)
    fresh = _analytic(net, theta, X[32:64], y[32:64])
    np.testing.assert_array_equal(logits, net.forward(p, X[32:64], None, training=True)[0])
    np.testing.assert_array_equal(grad, fresh)
