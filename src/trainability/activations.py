"""Hidden-layer activation functions and their derivatives.

Each activation is a pair ``fn(z)`` and ``grad(z, a)`` where ``a = fn(z)`` is passed in so
derivatives that are cheapest in terms of the output (sigmoid, tanh) reuse it. ``family``
says which inactivity diagnostic applies: units of the ``"relu"`` family can die (never
positive on the data), units of the ``"saturating"`` family can saturate (derivative
near zero everywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainability.registry import lookup

Array = np.ndarray

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope
# A Python float, not a NumPy float64 scalar, so float32 inputs stay float32 (NEP 50).
GELU_C = float(np.sqrt(2.0 / np.pi))


def sigmoid(z: Array) -> Array:
    """Logistic function; ``exp`` overflow for very negative ``z`` correctly gives 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_grad(z, a):
    return z > 0  # multiplying by a boolean array is cheaper than casting it


def _leaky(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_grad(z, a):
    # np.where of two Python floats is float64: cast so float32 training stays float32
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype, copy=False)


def _elu(z):
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def _elu_grad(z, a):
    return np.where(z > 0, 1.0, a + 1.0)


def _gelu(z):
    # tanh approximation (Hendrycks & Gimpel): NumPy has no erf. z * z * z, not z**3:
    # NumPy computes z**3 with libm pow, ~130x slower, and gelu trained 10x slower than
    # relu. (The last bit of the cube differs for ~1/4 of inputs, which moved trained
    # parameters by < 1e-14.)
    return 0.5 * z * (1.0 + np.tanh(GELU_C * (z + 0.044715 * (z * z * z))))


def _gelu_grad(z, a):
    t = np.tanh(GELU_C * (z + 0.044715 * (z * z * z)))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * GELU_C * (1.0 + 3 * 0.044715 * z * z)


def _swish(z):
    return z * sigmoid(z)


def _swish_grad(z, a):
    s = sigmoid(z)
    return s + a * (1.0 - s)


def _sigmoid_grad(z, a):
    return a * (1.0 - a)


def _tanh_grad(z, a):
    return 1.0 - a * a


def _linear(z):
    return z


def _linear_grad(z, a):
    return np.ones_like(z)


@dataclass(frozen=True)
class Activation:
    name: str
    fn: Callable[[Array], Array]
    grad: Callable[[Array, Array], Array]
    family: str  # "relu", "saturating" or "linear"
    peak_grad: float  # max of the derivative, the scale for "saturated"


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", _relu, _relu_grad, "relu", 1.0),
        Activation("leaky_relu", _leaky, _leaky_grad, "relu", 1.0),
        Activation("elu", _elu, _elu_grad, "relu", 1.0),
        Activation("gelu", _gelu, _gelu_grad, "relu", 1.13),
        Activation("swish", _swish, _swish_grad, "relu", 1.1),
        Activation("sigmoid", sigmoid, _sigmoid_grad, "saturating", 0.25),
        Activation("tanh", np.tanh, _tanh_grad, "saturating", 1.0),
        Activation("linear", _linear, _linear_grad, "linear", 1.0),
    )
}


def get_activation(name: str) -> Activation:
    return lookup(ACTIVATIONS, name, "activation")
