"""Every activation, the loss and every optimizer step stay finite at the edges of their
inputs, and float32 agrees with float64 there to float32's precision.

A NaN from our own arithmetic once reached the report as "divergence": gelu's derivative
was 0 / 0 at z = 0 in float32 (its guard, |z| < 1e-300, is never true in float32).
"""

import numpy as np
import pytest

from trainability.activations import ACTIVATIONS
from trainability.optim import EPS_CONVENTIONS, OPTIMIZERS, OptimizerConfig, make_optimizer
from trainability.train import _bce_grad, bce_from_logits

F32 = np.float32
SUBNORMAL = float(np.nextafter(F32(0), F32(1)))  # float32's smallest positive number
EDGES = [0.0, SUBNORMAL, -SUBNORMAL, 1e-30, -1e-30, 1.0, -1.0, 20.0, -20.0, 1e3, -1e3]
# float32's relative precision, with room for a few roundings; absolute near zero
RTOL, ATOL = 1e-5, 1e-6


def both(fn, z64):
    """``fn`` of the inputs in float64 and in float32 (cast back to float64)."""
    return fn(np.array(z64, np.float64)), fn(np.array(z64, F32)).astype(np.float64)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_is_finite_at_the_edges_and_float32_agrees(name):
    act = ACTIVATIONS[name]
    for fn in (act.fn, lambda z: act.grad(z, act.fn(z.copy()))):
        v64, v32 = both(fn, EDGES)
        assert np.isfinite(v64).all(), (name, dict(zip(EDGES, v64, strict=True)))
        assert np.isfinite(v32).all(), (name, dict(zip(EDGES, v32, strict=True)))
        np.testing.assert_allclose(v32, v64, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_keeps_its_dtype(name):
    act = ACTIVATIONS[name]
    z = np.array(EDGES, F32)
    a = act.fn(z.copy())
    assert a.dtype == F32 and np.asarray(act.grad(z, a)).astype(F32).dtype == F32


def test_gelus_derivative_at_zero_is_one_half_in_both_precisions():
    gelu = ACTIVATIONS["gelu"]
    for dtype in (np.float64, F32):
        z = np.zeros(3, dtype)
        assert (gelu.grad(z, gelu.fn(z.copy())) == 0.5).all(), dtype


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_the_loss_and_its_gradient_are_finite_for_any_logit(y):
    logits = np.array(EDGES + [-1e30, 1e30], np.float64).reshape(1, -1, 1)
    labels = np.full_like(logits, y)
    for dtype in (np.float64, F32):
        z, t = logits.astype(dtype), labels.astype(dtype)
        loss = bce_from_logits(z, t)
        with np.errstate(over="ignore"):  # exp(-z) of a very negative logit: 1 / inf = 0
            grad = _bce_grad(z, t, np.empty_like(z))
        assert np.isfinite(loss).all() and np.isfinite(grad).all(), dtype
    v64 = bce_from_logits(logits, labels)
    v32 = bce_from_logits(logits.astype(F32), labels.astype(F32)).astype(np.float64)
    np.testing.assert_allclose(v32, v64, rtol=RTOL)


@pytest.mark.parametrize("convention", sorted(EPS_CONVENTIONS))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("eps", [1e-10, 1e-7])
def test_every_optimizer_step_at_zero_gradient_leaves_the_weights_alone(name, convention, eps):
    cfg = OptimizerConfig(name=name, eps=eps, eps_convention=convention)
    for dtype in (np.float64, F32):
        theta = np.array([[0.0, 1.0, -1.0, SUBNORMAL, 1e3]], dtype)
        before = theta.copy()
        optimizer = make_optimizer(cfg, theta)
        for _ in range(3):
            optimizer.step(theta, np.zeros_like(theta), cfg.lr)
        assert np.isfinite(theta).all() and (theta == before).all(), (name, dtype)


@pytest.mark.parametrize("convention", sorted(EPS_CONVENTIONS))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_step_agrees_between_float32_and_float64(name, convention):
    cfg = OptimizerConfig(name=name, eps=1e-7, eps_convention=convention)
    g = np.array([[0.0, SUBNORMAL, 1e-30, 1.0, -1.0, 20.0, -1e3]])
    out = {}
    for dtype in (np.float64, F32):
        theta = np.ones_like(g, dtype=dtype)
        optimizer = make_optimizer(cfg, theta)
        for _ in range(3):
            optimizer.step(theta, g.astype(dtype), cfg.lr)
        assert np.isfinite(theta).all(), (name, dtype)
        out[dtype] = theta.astype(np.float64)
    np.testing.assert_allclose(out[F32], out[np.float64], rtol=RTOL, atol=ATOL)
