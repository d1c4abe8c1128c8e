"""The size study's training (trainability.studies.size.training, lottery, structured,
runs): the guarantees its claims rest on. Masks and group lasso hold through training,
rewinding restores exact weights, the controls really differ from the ticket, and batching
every arm of a round (or every retraining of a width) gives each model exactly what it gets
trained alone."""

from __future__ import annotations

import numpy as np
import pytest

from trainability import prune
from trainability.model import Architecture, Layout, init_params, model_rng
from trainability.optim import OPTIMIZERS
from trainability.studies.size import born_dead, training
from trainability.studies.size import lottery as lottery_module
from trainability.studies.size.lottery import Pruning, lottery
from trainability.studies.size.runs import unit_key, width_job
from trainability.studies.size.structured import structured_run
from trainability.studies.size.training import Protocol, fit, prox_group_lasso, split

ARCH = Architecture(depth=2, width=12, activation="relu")
LAYOUT = Layout(ARCH)
RATES = prune.layer_rates(LAYOUT, first=0.1, hidden=0.2, output=0.1)
SMALL = Protocol(depth=2, epochs=3, batch_size=16)
PRUNING = Pruning(first=0.1, hidden=0.2, output=0.1, target_density=0.55)


def _theta(k=3, seed=0):
    return init_params(LAYOUT, "he_normal", range(seed, seed + k))


@pytest.fixture(scope="module")
def data(circles_small):
    return split(circles_small, 0.25)


# ---------------------------------------------------------------- group lasso


def test_group_lasso_keeps_masks_and_zeroes_whole_units(data):
    protocol = Protocol(depth=2, epochs=5, batch_size=16, group_lasso=2.0)
    mask = prune.magnitude_mask(_theta(2), prune.full_mask(LAYOUT, 2), LAYOUT,
                                prune.keep_counts(LAYOUT, RATES, 3))
    before = set(OPTIMIZERS)
    t = fit(protocol, 12, data, [0, 1], theta0=_theta(2), mask=mask)
    assert set(OPTIMIZERS) == before
    assert np.all(t.theta[mask == 0] == 0.0)
    assert (prune.unit_scores(t.theta, LAYOUT) == 0).sum() > 0  # whole units die exactly


def test_prox_group_lasso_is_block_soft_thresholding():
    theta = np.zeros((1, LAYOUT.size))
    v = LAYOUT.views(theta)
    v["W0"][0, :, 0] = [3.0, 4.0]  # unit 0 of layer 1: incoming norm 5
    v["W0"][0, :, 1] = [0.1, 0.0]  # unit 1: incoming norm 0.1 < threshold
    v["W1"][0, 0, :] = 1.0  # unit 0's outgoing row, norm sqrt(12)
    prox_group_lasso(theta, LAYOUT, 0.5)
    np.testing.assert_allclose(v["W0"][0, :, 0], [3.0 * 0.9, 4.0 * 0.9])
    assert np.all(v["W0"][0, :, 1] == 0.0)
    # the row shrinks by 0.5 in norm (layer-1 unit 0's outgoing group), then each entry,
    # alone in its column (a layer-2 unit's incoming group, bias 0), by 0.5
    np.testing.assert_allclose(v["W1"][0, 0], 1.0 - 0.5 / np.sqrt(12) - 0.5)
    assert np.all(v["W1"][0, 1:] == 0.0)


def test_wide_networks_train_in_float32_and_narrow_ones_in_float64(data):
    protocol = Protocol(depth=2, epochs=1, batch_size=16, float32_from=8)
    assert fit(protocol, 4, data, [0]).theta.dtype == np.float64
    assert fit(protocol, 8, data, [0]).theta.dtype == np.float32
    assert Protocol().dtype(10_000) == np.float64  # float32_from None: never


# ---------------------------------------------------------------- lottery tickets


def _recording_fit(monkeypatch):
    calls = []

    def recorded(protocol, width, data, seeds, **kwargs):
        result = training.fit(protocol, width, data, seeds, **kwargs)
        calls.append({"width": width, "seeds": list(seeds), **kwargs, "result": result})
        return result

    monkeypatch.setattr(lottery_module, "fit", recorded)
    return calls


def _at(out, arm, level, draw=0):
    sel = (out["arm"] == arm) & (out["level"] == level) & (out["draw"] == draw)
    return {k: v[sel] for k, v in out.items() if k != "ticket_masks"}


def test_rewinding_restores_the_exact_initial_and_early_weights(monkeypatch, data):
    calls = _recording_fit(monkeypatch)
    seeds = [0, 1, 2]
    out = lottery(SMALL, data, 12, seeds, PRUNING, draws=2, rewind_epoch=1)
    dense = calls[0]["result"]
    assert np.array_equal(dense.theta0, init_params(LAYOUT, "he_normal", seeds))
    one_epoch = fit(SMALL, 12, data, seeds, epochs=1).theta  # an independent one-epoch run
    np.testing.assert_array_equal(dense.checkpoints[1], one_epoch)
    masks = out["ticket_masks"].astype(float)
    rounds = [c for c in calls if c["width"] == 12 and "mask" in c]
    batched, late = rounds[0::2], rounds[1::2]  # per level: the batched arms, then late
    assert len(batched) == len(late) == len(masks) - 1 >= 2
    for level, (b, lt) in enumerate(zip(batched, late, strict=True), 1):
        np.testing.assert_array_equal(b["theta0"][:3], dense.theta0 * masks[level])
        np.testing.assert_array_equal(b["mask"][:3], masks[level])
        np.testing.assert_array_equal(lt["theta0"], one_epoch * lt["mask"])
        assert lt["epochs"] == SMALL.epochs - 1
    np.testing.assert_array_equal(_at(out, "late", 1)["early_stop"] - 1,
                                  late[0]["result"].early_stop)  # epochs counted from 0


def test_reinit_and_random_pruning_really_differ_from_the_ticket(monkeypatch, data):
    calls = _recording_fit(monkeypatch)
    seeds = [0, 1]
    out = lottery(SMALL, data, 12, seeds, PRUNING, draws=2)
    masks, theta0 = out["ticket_masks"].astype(float), calls[0]["result"].theta0
    weights = np.broadcast_to(LAYOUT.weight_mask() == 1, theta0.shape)
    first = next(c for c in calls if "mask" in c)  # level 1: ticket, reinit x2, random, oneshot
    start = first["theta0"].reshape(5, 2, -1)
    mask = first["mask"].reshape(5, 2, -1)
    for d in (1, 2):
        np.testing.assert_array_equal(mask[d], masks[1])  # same mask
        kept = (masks[1] == 1) & weights
        assert np.all(start[d][kept] != theta0[kept])  # fresh weights everywhere
    assert np.all(start[1][(masks[1] == 1) & weights] != start[2][(masks[1] == 1) & weights])
    np.testing.assert_array_equal(prune.counts_of(mask[3], LAYOUT),
                                  prune.counts_of(masks[1], LAYOUT))
    assert np.any(mask[3] != masks[1])  # random: same counts, another mask
    np.testing.assert_array_equal(start[3], theta0 * mask[3])  # original init
    np.testing.assert_array_equal(out["ticket_masks"][0], 1)


def test_every_arm_batched_by_round_equals_the_arm_trained_alone(data):
    """The ticket, its re-initializations, random and one-shot masks of a round share one
    batch; each must come out as the old one-arm-per-job code trained it."""
    protocol = Protocol(depth=2, epochs=3, batch_size=16, float32_from=12)
    seeds = [0, 1]
    out = lottery(protocol, data, 12, seeds, PRUNING, draws=1)
    levels = PRUNING.levels(LAYOUT)
    dense = fit(protocol, 12, data, seeds)
    theta0, full = dense.theta0, prune.full_mask(LAYOUT, 2)
    mask, trained = full, dense
    for level in range(1, len(levels)):
        mask = prune.magnitude_mask(trained.theta, mask, LAYOUT, levels[level])
        trained = fit(protocol, 12, data, seeds, theta0=theta0 * mask, mask=mask)
        reinit = fit(protocol, 12, data, seeds, mask=mask,
                     theta0=init_params(LAYOUT, "he_normal", seeds,
                                        stream=training.REINIT_STREAM) * mask)
        rngs = [np.random.default_rng(np.random.SeedSequence(
            [s, training.RANDOM_MASK_STREAM, level])) for s in seeds]
        rmask = prune.random_mask(LAYOUT, levels[level], rngs)
        random = fit(protocol, 12, data, seeds, theta0=theta0 * rmask, mask=rmask)
        for arm, alone in (("ticket", trained), ("reinit", reinit), ("random", random)):
            got = _at(out, arm, level)
            for column in ("test_acc", "val_acc", "early_stop", "epochs_to_95"):
                np.testing.assert_array_equal(got[column],
                                              training.model_rows(alone)[column], column)


def test_the_dense_control_matches_the_weight_count_of_each_level(data):
    out = lottery(SMALL, data, 12, [0], PRUNING, draws=1)
    counts = [sum(c.values()) for c in PRUNING.levels(LAYOUT)]
    for level, n in enumerate(counts):
        w = out["width"][(out["arm"] == "dense") & (out["level"] == level)][0]
        assert w == prune.width_for_weights(ARCH, n)
        gaps = [abs(prune.weights_of_width(ARCH, x) - n) for x in (w - 1, w, w + 1) if x > 0]
        assert abs(prune.weights_of_width(ARCH, w) - n) == min(gaps)
    level0 = {a: _at(out, a, 0) for a in ("ticket", "late", "dense")}
    for arm in ("late", "dense"):  # one dense network stands for every arm's level 0
        np.testing.assert_array_equal(level0[arm]["test_acc"], level0["ticket"]["test_acc"])


def test_model_streams_for_reinitialization_are_independent_of_the_original():
    a = model_rng(3, 0).normal(size=5)
    b = model_rng(3, training.REINIT_STREAM).normal(size=5)
    assert not np.allclose(a, b)


def test_censored_early_stopping_is_the_last_epoch_trained(data):
    t = fit(SMALL, 4, data, [0, 1, 2])
    rows = training.model_rows(t)
    np.testing.assert_array_equal(rows["censored"], t.early_stop == SMALL.epochs)
    late = training.model_rows(t, epoch_offset=1)  # late rewinding: epochs counted from 0
    np.testing.assert_array_equal(late["censored"], rows["censored"])


# ---------------------------------------------------------------- structured pruning


def test_structured_run_rows_cover_every_arm_and_width(data):
    protocol = Protocol(epochs=2, batch_size=16, group_lasso=0.3)
    out = structured_run(protocol, data, 6, [0, 1], [2, 3], tau=0.01, finetune_epochs=1)
    fixed = out["target"] == "fixed"
    for arm in ("pruned", "finetune", "rewind", "scratch"):
        for k in (2, 3):
            assert ((out["arm"] == arm) & (out["k"] == k) & fixed).sum() == 2
    live = out["target"] == "live"
    assert live.sum() == 4 * 2  # each seed once per arm at its own live width
    np.testing.assert_array_equal(np.sort(out["k"][live & (out["arm"] == "scratch")]),
                                  np.sort(np.maximum(out["source_live"].max(axis=1), 1)))
    fresh = init_params(Layout(protocol.arch(2)), "he_normal", [0, 1],
                        stream=training.SCRATCH_STREAM)
    alone = fit(protocol, 2, data, [0, 1], theta0=fresh, regularized=False)
    scratch = fixed & (out["arm"] == "scratch") & (out["k"] == 2)
    np.testing.assert_array_equal(out["test_acc"][scratch], alone.test_acc)  # batched = alone


# ---------------------------------------------------------------- the width job


def test_width_job_writes_every_model_and_its_units(tmp_path, circles_small):
    from trainability.data import save_dataset
    from trainability.io import load_npz

    save_dataset(tmp_path / "d.npz", circles_small, {"name": "circles"})
    width_job(tmp_path / "d.npz", tmp_path / "w.npz", SMALL, 0.25, widths=[2, 5],
              seeds=[3, 2], regularized_widths=[5], regularized_seeds=2, l2=0.01,
              group_lasso=0.3)
    a = load_npz(tmp_path / "w.npz")
    assert list(zip(a["regularizer"], a["width"], a["seed"], strict=True)) == [
        ("none", 2, 0), ("none", 2, 1), ("none", 2, 2), ("none", 5, 0), ("none", 5, 1),
        ("l2", 5, 0), ("l2", 5, 1), ("group_lasso", 5, 0), ("group_lasso", 5, 1)]
    assert a[unit_key("active", "none", 2)].shape == (3, 2, 2)
    assert a[unit_key("scores", "group_lasso", 5)].shape == (2, 2, 5)
    alone = fit(SMALL, 5, split(circles_small, 0.25), [0, 1])
    np.testing.assert_array_equal(a["test_acc"][3:5], alone.test_acc)


# ---------------------------------------------------------------- born dead


def test_initial_weights_recomputed_from_the_seed_are_the_trainers_bit_for_bit(data):
    protocol = Protocol(depth=2, epochs=1, batch_size=16, float32_from=8)
    for width in (4, 8):  # float64, then float32 (the trainer starts from the cast)
        t = fit(protocol, width, data, [3, 0, 7])
        again = born_dead.initial_params(protocol, width, [3, 0, 7])
        assert t.theta0.dtype == protocol.dtype(width) and again.dtype == np.float64
        assert np.array_equal(t.theta0.astype(np.float64), again)
    assert not np.array_equal(born_dead.initial_params(protocol, 4, [3]),
                              born_dead.initial_params(protocol, 4, [3], born_dead.MC_STREAM))


def _dead_at_init(width=3, layer=2):
    """Initial weights of width-``width`` networks whose hidden layer ``layer`` has only
    negative incoming weights: with zero biases and the layer below's outputs >= 0 (and,
    for layer 1, circles' points on every side of the origin), inactive on every point."""
    protocol = Protocol(depth=2, epochs=3, batch_size=16)
    theta = born_dead.initial_params(protocol, width, [0, 1])
    w = Layout(protocol.arch(width)).views(theta)[f"W{layer - 1}"]
    w[...] = -np.abs(w)
    return protocol, theta


def test_a_born_dead_network_passes_no_gradient_so_only_the_classifier_bias_moves(data):
    protocol, theta0 = _dead_at_init()
    X = data.fit.X_train
    assert list(born_dead.dead_layer(theta0, protocol, 3, X)) == [2, 2]
    t = fit(protocol, 3, data, [0, 1], theta0=theta0)
    bias = Layout(protocol.arch(3)).slices["b2"][0]
    moved = t.theta != t.theta0
    assert moved[:, bias].all() and not np.delete(moved, bias, axis=1).any()
    active = prune.active_fraction(t.theta, protocol.arch(3), X)
    assert list(born_dead.first_dead_layer(active)) == [2, 2]  # what the run files record


def test_the_dead_layer_at_init_is_the_one_the_unit_activity_shows(data):
    X = data.fit.X_train
    protocol = Protocol(depth=3)
    theta = born_dead.initial_params(protocol, 2, range(400))
    found = born_dead.dead_layer(theta, protocol, 2, X)
    np.testing.assert_array_equal(
        found, born_dead.first_dead_layer(prune.active_fraction(theta, protocol.arch(2), X)))
    assert {0, 2, 3} <= set(found)  # dead above layer 1 in some, alive in most
    protocol, dead1 = _dead_at_init(layer=1)  # negative weights miss the positive quadrant
    assert list(born_dead.dead_layer(dead1, protocol, 3, np.abs(X))) == [1, 1]
    assert list(born_dead.dead_layer(dead1, protocol, 3, X)) == [0, 0]  # circles surround 0
    assert list(born_dead.first_dead_layer(np.ones((1, 2, 3)))) == [0]
    assert list(born_dead.first_dead_layer(np.full((1, 2, 3), np.nan))) == [0]


@pytest.mark.parametrize("depth, init", [(2, "he_normal"), (3, "he_normal"), (2, "he_uniform")])
@pytest.mark.parametrize("width", [2, 3])
def test_the_one_point_probability_is_a_monte_carlo_of_the_initializer_at_one_point(
        width, depth, init):
    protocol = Protocol(depth=depth, init=init)
    point = np.array([[0.3, -0.8]])
    draws = 10_000
    dead = born_dead.predicted(protocol, width, point, draws)
    p = born_dead.one_point_probability(width, depth)
    assert abs(dead / draws - p) < 4 * np.sqrt(p * (1 - p) / draws)
    ray = point * np.array([[0.1], [1.0], [7.0]])  # zero biases: only the direction counts
    assert born_dead.predicted(protocol, width, ray, draws) == dead


def test_the_one_point_probability_holds_with_symmetric_biases_too():
    protocol, width, draws = Protocol(depth=2), 2, 10_000
    theta = born_dead.initial_params(protocol, width, range(draws))
    views = Layout(protocol.arch(width)).views(theta)
    rng = np.random.default_rng(0)
    for i in range(protocol.depth):
        views[f"b{i}"][...] = rng.normal(0.0, 0.5, views[f"b{i}"].shape)
    dead = (born_dead.dead_layer(theta, protocol, width, np.array([[0.3, -0.8]])) > 0).mean()
    p = born_dead.one_point_probability(width, 2)
    assert abs(dead - p) < 4 * np.sqrt(p * (1 - p) / draws)


def test_dead_on_every_fit_point_is_rarer_than_at_one_and_the_bound_is_resolved_or_used(data):
    protocol, X = Protocol(depth=2), data.fit.X_train
    everywhere = born_dead.predicted(protocol, 2, X, 5_000) / 5_000
    assert everywhere < born_dead.predicted(protocol, 2, X[:1], 5_000) / 5_000
    assert everywhere < born_dead.one_point_probability(2, 2)
    assert born_dead.one_point_probability(64, 2) > 0  # no rounding to 0 (log1p, expm1)
    assert born_dead.one_point_probability(1, 1) == 0.5
    assert born_dead.resolvable(8, 2) and not born_dead.resolvable(16, 2)
    assert not born_dead.resolvable(8, 2, draws=100)  # 100 draws: upper limit 0.037
