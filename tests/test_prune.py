"""Pruning masks, unit scores and removing units (trainability.prune): exact per-layer
fractions and masks that hold through training with every optimizer. What the size study
builds on them (rewinding, controls, group lasso) is tested in test_size_runs.py."""

from __future__ import annotations

import numpy as np
import pytest

from trainability import prune
from trainability.model import Architecture, Layout, Network, init_params
from trainability.optim import OPTIMIZERS, OptimizerConfig, make_optimizer
from trainability.train import train

ARCH = Architecture(depth=2, width=12, activation="relu")
LAYOUT = Layout(ARCH)
RATES = prune.layer_rates(LAYOUT, first=0.1, hidden=0.2, output=0.1)


def _theta(k=3, seed=0):
    return init_params(LAYOUT, "he_normal", range(seed, seed + k))


def _bias_entries():
    return LAYOUT.weight_mask() == 0


# ---------------------------------------------------------------- weight masks


def test_keep_counts_follow_the_schedule_of_each_layer():
    sizes = prune.layer_sizes(LAYOUT)
    assert sizes == {"W0": 24, "W1": 144, "W2": 12}
    assert prune.keep_counts(LAYOUT, RATES, 0) == sizes
    assert prune.keep_counts(LAYOUT, RATES, 3) == {
        "W0": round(24 * 0.9**3), "W1": round(144 * 0.8**3), "W2": round(12 * 0.9**3)}


def test_schedule_stops_at_the_first_level_below_the_target_density():
    levels = prune.schedule(LAYOUT, RATES, 0.05)
    total = sum(prune.layer_sizes(LAYOUT).values())
    densities = [sum(c.values()) / total for c in levels]
    assert densities[0] == 1.0
    assert densities[-1] < 0.05 <= densities[-2]
    assert all(a > b for a, b in zip(densities, densities[1:], strict=False))
    with pytest.raises(ValueError, match="never reach"):
        prune.schedule(LAYOUT, {"W0": 0.0, "W1": 0.0, "W2": 0.5}, 0.01)


def test_iterative_magnitude_pruning_keeps_exactly_the_requested_count_per_layer():
    theta = _theta()
    mask = prune.full_mask(LAYOUT, 3)
    rng = np.random.default_rng(1)
    for counts in prune.schedule(LAYOUT, RATES, 0.02)[1:]:
        trained = theta + rng.normal(size=theta.shape)  # "training" moves every weight
        new = prune.magnitude_mask(trained * mask, mask, LAYOUT, counts)
        kept = prune.counts_of(new, LAYOUT)
        np.testing.assert_array_equal(kept, np.tile(list(counts.values()), (3, 1)))
        assert np.all(new <= mask)  # nested: nothing pruned comes back
        assert np.all(new[:, _bias_entries()] == 1)  # biases are never pruned
        mask = new


def test_magnitude_pruning_keeps_the_largest_surviving_weights_of_each_layer():
    theta = _theta(k=2)
    mask = prune.full_mask(LAYOUT, 2)
    counts = prune.keep_counts(LAYOUT, RATES, 2)
    new = prune.magnitude_mask(theta, mask, LAYOUT, counts)
    views, kept = LAYOUT.views(theta), LAYOUT.views(new)
    for name in prune.weight_layers(LAYOUT):
        for m in range(2):
            w, keep = np.abs(views[name][m]).ravel(), kept[name][m].ravel() == 1
            assert w[keep].min() >= w[~keep].max()


def test_random_pruning_has_the_same_per_layer_counts_but_another_mask():
    theta = _theta()
    counts = prune.keep_counts(LAYOUT, RATES, 4)
    ticket = prune.magnitude_mask(theta, prune.full_mask(LAYOUT, 3), LAYOUT, counts)
    rngs = [np.random.default_rng(s) for s in range(3)]
    rand = prune.random_mask(LAYOUT, counts, rngs)
    np.testing.assert_array_equal(prune.counts_of(rand, LAYOUT), prune.counts_of(ticket, LAYOUT))
    assert np.all(rand[:, _bias_entries()] == 1)
    weights = ~_bias_entries()
    for m in range(3):
        assert (rand[m, weights] != ticket[m, weights]).sum() > 10
    again = prune.random_mask(LAYOUT, counts, [np.random.default_rng(s) for s in range(3)])
    np.testing.assert_array_equal(rand, again)  # seeded


# ---------------------------------------------------------------- masks hold in training


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_pruned_weights_stay_exactly_zero_through_training(name, circles_small):
    k = 3
    theta0 = _theta(k, seed=5)  # non-zero at the pruned entries: the mask must zero them
    counts = prune.keep_counts(LAYOUT, RATES, 6)
    mask = prune.magnitude_mask(theta0, prune.full_mask(LAYOUT, k), LAYOUT, counts)
    opt = OptimizerConfig(name, lr=0.05, l2=1e-3)
    result = train(ARCH, opt, circles_small, range(k), epochs=4, batch_size=16,
                   theta0=theta0, mask=mask, diagnostics=False)
    pruned = mask == 0
    assert np.all(result.theta[pruned] == 0.0)
    assert np.all(result.theta0[pruned] == 0.0)
    assert np.any(result.theta[~pruned] != theta0[~pruned])  # the rest trained


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_stays_zero_where_the_gradient_is_masked(name):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(2, 50))
    mask = (rng.random((2, 50)) > 0.5).astype(float)
    theta *= mask
    optimizer = make_optimizer(OptimizerConfig(name, lr=0.1), theta)
    for _ in range(5):
        optimizer.step(theta, rng.normal(size=theta.shape) * mask, 0.1)
    assert np.all(theta[mask == 0] == 0.0)
    for state in ("v", "s", "m"):
        if hasattr(optimizer, state):
            assert np.all(getattr(optimizer, state)[mask == 0] == 0.0), state


# ---------------------------------------------------------------- units


def test_unit_scores_are_the_product_of_incoming_and_outgoing_norms_and_rescale_invariant():
    theta = _theta(k=1)
    scores = prune.unit_scores(theta, LAYOUT)
    v = LAYOUT.views(theta)
    j = 4
    expected = np.sqrt((v["W1"][0, :, j] ** 2).sum() + v["b1"][0, 0, j] ** 2) * np.sqrt(
        (v["W2"][0, j] ** 2).sum())
    np.testing.assert_allclose(scores[0, 1, j], expected)
    scaled = theta.copy()
    s = LAYOUT.views(scaled)
    s["W0"][0, :, j] *= 7.0
    s["b0"][0, 0, j] *= 7.0
    s["W1"][0, j, :] /= 7.0
    np.testing.assert_allclose(prune.unit_scores(scaled, LAYOUT)[0, 0, j], scores[0, 0, j])


def test_removing_dead_units_gives_a_smaller_network_computing_the_same_function(
        circles_small):
    X = circles_small.X_train
    theta = _theta(k=2, seed=3)
    v = LAYOUT.views(theta)
    v["W0"][:, :, [1, 5, 7]] = 0.0  # layer-1 units never active: zero input, negative bias
    v["b0"][:, :, [1, 5, 7]] = -1.0
    v["W2"][:, [0, 9], :] = 0.0  # layer-2 units with no outgoing weight
    v["W1"][:, :, [3]] = -10.0  # and one layer-2 unit pushed to be inactive everywhere
    v["b1"][:, :, [3]] = -10.0
    active = prune.active_fraction(theta, ARCH, X)
    dead = (active == 0) | prune.norm_dead(prune.unit_scores(theta, LAYOUT), 1e-12)
    assert dead[:, 0, [1, 5, 7]].all() and dead[:, 1, [0, 3, 9]].all()
    k = int((~dead).sum(axis=2).max())
    assert k <= 9
    keep = prune.top_units(np.where(dead, -1.0, prune.unit_scores(theta, LAYOUT)), k)
    small, cut = prune.remove_units(theta, ARCH, keep)
    assert small.width == k and cut.shape == (2, Layout(small).size)
    big_net, small_net = Network(ARCH), Network(small)
    big, _ = big_net.forward(big_net.bind(theta), X)
    little, _ = small_net.forward(small_net.bind(cut), X)
    np.testing.assert_allclose(little, big, rtol=0, atol=1e-12)


def test_remove_units_keeps_the_chosen_weights():
    theta = _theta(k=1)
    keep = np.array([[[0, 2], [1, 3]]])
    small, cut = prune.remove_units(theta, ARCH, keep)
    v, c = LAYOUT.views(theta), Layout(small).views(cut)
    np.testing.assert_array_equal(c["W0"][0], v["W0"][0][:, [0, 2]])
    np.testing.assert_array_equal(c["W1"][0], v["W1"][0][np.ix_([0, 2], [1, 3])])
    np.testing.assert_array_equal(c["W2"][0], v["W2"][0][[1, 3]])
    np.testing.assert_array_equal(c["b1"][0], v["b1"][0][:, [1, 3]])


def test_structurally_dead_units_have_no_fan_in_or_no_fan_out():
    mask = prune.full_mask(LAYOUT, 1)
    v = LAYOUT.views(mask)
    v["W0"][0, :, 2] = 0.0  # layer-1 unit 2 gets no input
    v["W1"][0, 6, :] = 0.0  # layer-1 unit 6 feeds nothing
    v["W2"][0, 4, :] = 0.0  # layer-2 unit 4 feeds nothing
    dead = prune.structurally_dead(mask, LAYOUT)
    assert sorted(np.flatnonzero(dead[0, 0])) == [2, 6]
    assert sorted(np.flatnonzero(dead[0, 1])) == [4]


def test_width_for_weights_picks_the_closest_dense_width():
    assert prune.weights_of_width(ARCH, 64) == 2 * 64 + 64 * 64 + 64
    assert prune.width_for_weights(ARCH, 4288) == 64
    assert prune.width_for_weights(ARCH, 41) == 5  # 40 weights at width 5, 54 at 6
    assert prune.width_for_weights(ARCH, 1) == 1
