"""Hidden-layer activation functions and their derivatives.

Each activation is a pair ``fn(z, out=None)`` and ``grad(z, a, out=None)`` where
``a = fn(z)`` is passed in so derivatives that are cheapest in terms of the output
(sigmoid, tanh) reuse it. ``out`` is a scratch array of ``z``'s shape and dtype that the
function may write its result into (the training step passes preallocated ones, so the hot
loop allocates nothing); the result is what it returns, which need not be ``out``.
``family`` says which inactivity diagnostic applies: units of the ``"relu"`` family can
die (never positive on the data), units of the ``"saturating"`` family can saturate
(derivative near zero everywhere).

Conventions follow Keras 3 (the lecture's tool), where matching it costs nothing:

- leaky_relu: ``max(z, 0.2 z)``, the negative slope of ``keras.activations.leaky_relu``
  that ``Dense(activation="leaky_relu")`` uses (PyTorch's default is 0.01);
- gelu: exact, ``z Phi(z) = z (1 + erf(z / sqrt 2)) / 2`` (Keras 3's default
  ``approximate=False``), not the tanh approximation.

NumPy has no erf, so gelu takes SciPy's (``scipy.special.erf``), imported inside the two
gelu functions: importing ``scipy.special`` adds ~0.15 s to the ~0.11 s that
``import trainability.train`` costs (``python -X importtime``, best of 10, 2-core AMD
EPYC), and every per-cell job of the pipeline pays the import, gelu or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainability.registry import lookup

Array = np.ndarray

LEAKY_SLOPE = 0.2  # Keras 3's keras.activations.leaky_relu
# Python floats, not NumPy float64 scalars, so float32 inputs stay float32 (NEP 50).
SQRT_HALF = float(np.sqrt(0.5))
INV_SQRT_2PI = float(1.0 / np.sqrt(2.0 * np.pi))


def sigmoid(z: Array, out: Array | None = None) -> Array:
    """Logistic function ``1 / (1 + exp(-z))``; ``exp`` overflow for very negative ``z``
    correctly gives 0."""
    with np.errstate(over="ignore"):
        out = np.negative(z, out=out)
        np.exp(out, out=out)
        out += 1.0
        return np.divide(1.0, out, out=out)


def _relu(z, out=None):
    return np.maximum(z, 0.0, out=out)


def _relu_grad(z, a, out=None):
    return z > 0  # a boolean array: 1 byte per entry, and multiplying by it is cheap


def _leaky(z, out=None):
    # max(z, slope z) equals where(z > 0, z, slope z) for 0 < slope < 1, bit for bit
    out = np.multiply(z, LEAKY_SLOPE, out=out)
    return np.maximum(z, out, out=out)


def _leaky_grad(z, a, out=None):
    # slope + (1 - slope) [z > 0] is exactly 1 or the slope (0.8 + 0.2 rounds to 1.0)
    out = np.multiply(z > 0, 1.0 - LEAKY_SLOPE, out=out, dtype=z.dtype)
    out += LEAKY_SLOPE
    return out


def _elu(z, out=None):
    # max(z, expm1(min(z, 0))) is z for z > 0 and expm1(z) >= z otherwise
    out = np.minimum(z, 0.0, out=out)
    np.expm1(out, out=out)
    return np.maximum(z, out, out=out)


def _elu_grad(z, a, out=None):
    # exp(z) = a + 1 for z <= 0, 1 above
    out = np.add(a, 1.0, out=out)
    return np.minimum(out, 1.0, out=out)


def _phi_cdf(z, out=None):
    """Standard normal distribution function ``(1 + erf(z / sqrt 2)) / 2``."""
    from scipy.special import erf  # here, not at the top: see the module docstring

    out = np.multiply(z, SQRT_HALF, out=out)
    erf(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _gelu(z, out=None):
    out = _phi_cdf(z, out)
    out *= z
    return out


def _gelu_grad(z, a, out=None):
    # Phi(z) + z phi(z), phi(z) = exp(-z^2 / 2) / sqrt(2 pi). Phi(z) = a / z comes from the
    # forward output: a second erf would double gelu's cost (SciPy's erf takes ~6 ns per
    # entry, 7x NumPy's exp). Below the dtype's epsilon Phi(z) is 0.5 to working precision,
    # and a / z would be 0 / 0 at z = 0 or lose digits to subnormal numbers. The bound must
    # be the dtype's: a fixed 1e-300 is never reached in float32, whose 0 / 0 gave NaN.
    tiny = np.abs(z) < np.finfo(z.dtype).eps
    out = np.divide(a, z, out=out, where=~tiny)
    np.copyto(out, 0.5, where=tiny)
    density = z * z
    density *= -0.5
    np.exp(density, out=density)
    density *= z
    density *= INV_SQRT_2PI
    out += density
    return out


def _swish(z, out=None):
    out = sigmoid(z, out)
    out *= z
    return out


def _swish_grad(z, a, out=None):
    # s + a (1 - s) with s = sigmoid(z), a = z s
    s = sigmoid(z, out)
    tmp = np.subtract(1.0, s)
    tmp *= a
    s += tmp
    return s


def _sigmoid_grad(z, a, out=None):
    out = np.subtract(1.0, a, out=out)
    out *= a
    return out


def _tanh(z, out=None):
    return np.tanh(z, out=out)


def _tanh_grad(z, a, out=None):
    out = np.multiply(a, a, out=out)
    return np.subtract(1.0, out, out=out)


def _linear(z, out=None):
    return z


def _linear_grad(z, a, out=None):
    return np.ones_like(z)


@dataclass(frozen=True)
class Activation:
    name: str
    fn: Callable[..., Array]  # fn(z, out=None)
    grad: Callable[..., Array]  # grad(z, a, out=None)
    family: str  # "relu", "saturating" or "linear"
    peak_grad: float  # max of the derivative, the scale for "saturated"


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", _relu, _relu_grad, "relu", 1.0),
        Activation("leaky_relu", _leaky, _leaky_grad, "relu", 1.0),
        Activation("elu", _elu, _elu_grad, "relu", 1.0),
        Activation("gelu", _gelu, _gelu_grad, "relu", 1.129),
        Activation("swish", _swish, _swish_grad, "relu", 1.1),
        Activation("sigmoid", sigmoid, _sigmoid_grad, "saturating", 0.25),
        Activation("tanh", _tanh, _tanh_grad, "saturating", 1.0),
        Activation("linear", _linear, _linear_grad, "linear", 1.0),
    )
}


def get_activation(name: str) -> Activation:
    return lookup(ACTIVATIONS, name, "activation")
