"""Initializers draw with the variance documented in ``initializers.py``; parameters are
laid out with biases 0, gamma 1 and per-model seeds."""

from __future__ import annotations

import numpy as np
import pytest

from trainability.initializers import INITIALIZERS, get_initializer
from trainability.model import Architecture, Layout, init_params

FAN_IN, FAN_OUT = 400, 300
SCALE = 0.7


def documented_variance(name: str, n_in: int, n_out: int, scale: float) -> float:
    """The variance column of the table in the ``initializers`` module docstring."""
    return {
        "zeros": 0.0,
        "random_normal": scale**2,
        "random_uniform": scale**2,
        "glorot_normal": 2.0 / (n_in + n_out),
        "glorot_uniform": 2.0 / (n_in + n_out),
        "he_normal": 2.0 / n_in,
        "he_uniform": 2.0 / n_in,
        "lecun_normal": 1.0 / n_in,
        "lecun_uniform": 1.0 / n_in,
        "orthogonal": 1.0 / max(n_in, n_out),
    }[name]


def test_every_registered_initializer_is_documented():
    for name in INITIALIZERS:
        assert documented_variance(name, 3, 4, 1.0) >= 0  # KeyError for an undocumented one


RANDOM = sorted(set(INITIALIZERS) - {"zeros", "orthogonal"})


@pytest.mark.parametrize("name", RANDOM)
def test_initializer_has_zero_mean_and_documented_variance(name):
    w = get_initializer(name)(np.random.default_rng(0), FAN_IN, FAN_OUT, SCALE)
    assert w.shape == (FAN_IN, FAN_OUT)
    n = w.size
    var = documented_variance(name, FAN_IN, FAN_OUT, SCALE)
    # mean: standard error sqrt(var / n); variance: standard error var * sqrt(2 / n) for a
    # normal, smaller for a uniform (kurtosis 1.8 < 3), so 5 normal standard errors is safe
    assert abs(w.mean()) < 5 * np.sqrt(var / n)
    assert abs(np.mean(w**2) - var) < 5 * var * np.sqrt(2.0 / n)


@pytest.mark.parametrize("name", [n for n in RANDOM if n.endswith("uniform")])
def test_uniform_initializer_respects_its_limit(name):
    w = get_initializer(name)(np.random.default_rng(1), FAN_IN, FAN_OUT, SCALE)
    limit = np.sqrt(3.0 * documented_variance(name, FAN_IN, FAN_OUT, SCALE))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # fills the whole interval


@pytest.mark.parametrize("name", [n for n in RANDOM if n.endswith("normal")])
def test_normal_initializer_is_not_truncated(name):
    """Unlike Keras's, the normals are not truncated at 2 std: tails beyond it appear at
    the Gaussian rate (4.55%)."""
    w = get_initializer(name)(np.random.default_rng(2), FAN_IN, FAN_OUT, SCALE)
    std = np.sqrt(documented_variance(name, FAN_IN, FAN_OUT, SCALE))
    share = np.mean(np.abs(w) > 2 * std)
    assert abs(share - 0.0455) < 5 * np.sqrt(0.0455 * 0.9545 / w.size)


@pytest.mark.parametrize("name", RANDOM)
def test_initializer_is_determined_by_its_generator(name):
    init = get_initializer(name)
    a = init(np.random.default_rng(7), 5, 3, SCALE)
    b = init(np.random.default_rng(7), 5, 3, SCALE)
    c = init(np.random.default_rng(8), 5, 3, SCALE)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_every_initializer_draws_finite_weights_of_its_shape_from_its_generator(name):
    init = get_initializer(name)
    a = init(np.random.default_rng(3), FAN_IN, 7, SCALE)
    assert a.shape == (FAN_IN, 7) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, init(np.random.default_rng(3), FAN_IN, 7, SCALE))


def test_zeros_initializer_gives_exact_zeros():
    w = get_initializer("zeros")(np.random.default_rng(0), FAN_IN, FAN_OUT, SCALE)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert not w.any()


@pytest.mark.parametrize("fan_in,fan_out", [(400, 300), (300, 400), (50, 50)])
def test_orthogonal_initializer_is_orthonormal(fan_in, fan_out):
    q = get_initializer("orthogonal")(np.random.default_rng(3), fan_in, fan_out, SCALE)
    assert q.shape == (fan_in, fan_out)
    if fan_in >= fan_out:
        gram = q.T @ q  # orthonormal columns
    else:
        gram = q @ q.T  # orthonormal rows
    np.testing.assert_allclose(gram, np.eye(min(fan_in, fan_out)), atol=1e-12)
    assert abs(q.mean()) < 5 * np.sqrt(1.0 / q.size / max(fan_in, fan_out))
    # entries have variance 1 / max(fan_in, fan_out): the orthonormal vectors are the
    # min(fan_in, fan_out) long ones, each of squared norm 1
    assert np.mean(q**2) == pytest.approx(1.0 / max(fan_in, fan_out), rel=1e-12)


@pytest.mark.parametrize(
    "fan_in,fan_out",
    [(400, 300), (300, 400)],
)
def test_orthogonal_initializer_has_documented_variance(fan_in, fan_out):
    q = get_initializer("orthogonal")(np.random.default_rng(3), fan_in, fan_out, SCALE)
    var = documented_variance("orthogonal", fan_in, fan_out, SCALE)
    assert np.mean(q**2) == pytest.approx(var, rel=1e-6)


def test_orthogonal_initializer_is_haar_distributed_in_sign():
    """The sign correction makes Q's columns as likely to point either way: the diagonal of
    Q over many draws averages to ~0 (without it, QR's convention biases it)."""
    diag = np.array(
        [np.diag(get_initializer("orthogonal")(np.random.default_rng(s), 6, 6, 1.0))
         for s in range(400)]
    )
    # each diagonal entry has variance 1/6; the mean of 400 draws has standard error 0.02
    assert np.abs(diag.mean(axis=0)).max() < 5 * np.sqrt(1 / 6 / 400)


def test_unknown_initializer_raises_value_error_listing_known_names():
    with pytest.raises(ValueError) as err:
        get_initializer("he_gaussian")
    message = str(err.value)
    assert "he_gaussian" in message
    for name in INITIALIZERS:
        assert name in message


def test_init_params_sets_biases_zero_and_gamma_one():
    layout = Layout(Architecture(depth=3, width=4, activation="tanh", batch_norm=(1, 3)))
    theta = init_params(layout, "random_normal", seeds=[0, 1])
    assert theta.shape == (2, layout.size)
    views = layout.views(theta)
    for name, v in views.items():
        if name.startswith(("b", "beta")):
            assert not v.any(), name
        elif name.startswith("gamma"):
            np.testing.assert_array_equal(v, 1.0)
        else:
            assert name.startswith("W")
            assert np.all(v != 0.0), name
    assert {n for n in views if n.startswith("gamma")} == {"gamma1", "gamma3"}


def test_init_params_weights_follow_the_initializer_scale():
    layout = Layout(Architecture(depth=4, width=50))
    theta = init_params(layout, "random_normal", seeds=[0], scale=0.01)
    w = theta[0, layout.weight_mask() == 1.0]
    assert np.std(w) == pytest.approx(0.01, rel=0.05)


def test_init_params_model_weights_depend_only_on_own_seed():
    layout = Layout(Architecture(depth=2, width=3))
    for init in ("random_normal", "glorot_uniform", "orthogonal"):
        both = init_params(layout, init, [3, 7])
        np.testing.assert_array_equal(both[1], init_params(layout, init, [7])[0])
        np.testing.assert_array_equal(both[0], init_params(layout, init, [3])[0])
        assert not np.array_equal(both[0], both[1])


def test_classifier_init_changes_only_the_classifier_weights():
    """The lecture's Keras model: hidden layers from the initializer under study, the
    classifier Dense(1) at Keras' default glorot_uniform. Drawn last from the same
    generator, so the hidden weights are those of a run without classifier_init."""
    layout = Layout(Architecture(depth=3, width=6, batch_norm=(2,)))
    last = f"W{layout.arch.depth}"
    for init in ("random_normal", "zeros", "he_uniform", "orthogonal"):
        plain = layout.views(init_params(layout, init, [0, 5], scale=0.3))
        mixed = layout.views(init_params(layout, init, [0, 5], scale=0.3,
                                         classifier_init="glorot_uniform"))
        for name in plain:
            if name != last:
                np.testing.assert_array_equal(mixed[name], plain[name], err_msg=name)
        limit = np.sqrt(6.0 / (6 + 1))
        assert np.all(np.abs(mixed[last]) <= limit) and np.all(mixed[last] != 0.0)
        assert not np.array_equal(mixed[last], plain[last])


def test_classifier_init_draws_where_the_classifier_always_drew():
    """Naming the hidden initializer for the classifier too gives today's parameters bit
    for bit, so None and the same name agree (scale-free initializers)."""
    layout = Layout(Architecture(depth=2, width=4))
    for init in ("glorot_normal", "he_uniform", "orthogonal"):
        np.testing.assert_array_equal(init_params(layout, init, [1, 2], classifier_init=init),
                                      init_params(layout, init, [1, 2]))


def test_classifier_init_ignores_the_hidden_layers_scale():
    layout = Layout(Architecture(depth=2, width=4))
    last = layout.slices["W2"][0]
    small = init_params(layout, "random_normal", [0], scale=0.01, classifier_init="random_normal")
    unit = init_params(layout, "random_normal", [0], scale=1.0, classifier_init="random_normal")
    np.testing.assert_array_equal(small[:, last], unit[:, last])
    np.testing.assert_allclose(small[:, : last.start], 0.01 * unit[:, : last.start], rtol=1e-15)


def test_unknown_classifier_init_raises_listing_known_names():
    layout = Layout(Architecture(depth=1, width=2))
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform"):
        init_params(layout, "zeros", [0], classifier_init="glorot")
