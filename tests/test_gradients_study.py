"""Study 1, vanishing and exploding gradients: the statistics on cases with a known answer,
the command's errors, and the study's rules end to end on the shared tiny run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainability import cli
from trainability.model import Architecture, Layout, init_params
from trainability.optim import OptimizerConfig
from trainability.studies import gradients as g
from trainability.train import train

# ---------------------------------------------------------------- the statistics


def test_log10_ratio_counts_orders_of_magnitude_and_marks_missing_gradients():
    first = np.array([1e-3, 2.0, 0.0, 0.0, 5.0])
    last = np.array([1e-1, 2.0, 4.0, 0.0, 0.0])
    out = g.log10_ratio(first, last)
    np.testing.assert_allclose(out[:2], [-2.0, 0.0])
    assert out[2] == -np.inf  # layer 1 gets nothing, the classifier does
    assert np.isnan(out[3])  # no gradient anywhere: undefined
    assert out[4] == np.inf


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-3.0, "vanishing"), (-1.0, "vanishing"), (-0.99, "stable"), (0.99, "stable"),
     (1.0, "exploding"), (-np.inf, "vanishing"), (np.nan, "no gradient")],
)
def test_regime_thresholds_are_one_order_of_magnitude(value, expected):
    assert g.regime(value) == expected


def test_depth_slope_is_the_orders_lost_per_layer():
    depths = [1, 2, 4, 8, 16]
    assert g.depth_slope(depths, [0.5 - 0.4 * d for d in depths]) == pytest.approx(-0.4)
    # non-finite values (no gradient) are left out of the fit
    assert g.depth_slope(depths, [-0.4, -0.8, -1.6, -np.inf, np.nan]) == pytest.approx(-0.4)
    assert np.isnan(g.depth_slope([4, 4], [1.0, 2.0]))


def test_unit_spread_is_zero_exactly_when_all_units_agree():
    same = np.tile(np.array([[0.3], [-1.2]]), (1, 4))[None]  # (1, 2 inputs, 4 units)
    assert g.unit_spread(same)[0] == 0.0
    assert g.unit_spread(np.zeros((1, 3, 5)))[0] == 0.0
    different = same.copy()
    different[0, 1, 2] = -0.6  # one unit's gradient differs by 0.6; largest |g| is 1.2
    assert g.unit_spread(different)[0] == pytest.approx(0.5)
    broken = same.copy()
    broken[0, 0, 0] = np.nan
    assert np.isnan(g.unit_spread(broken)[0])


def _tiny_data(circles_small):
    return circles_small.X_train, circles_small.y_train


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_zero_init_gives_layer_one_no_gradient(activation, circles_small):
    arch = Architecture(3, 4, activation)
    theta = init_params(Layout(arch), "zeros", [0, 1])
    grads = g.layer_gradients(arch, theta, *_tiny_data(circles_small))
    for hidden in grads[:-1]:
        assert not hidden.any()  # every hidden gradient is exactly zero
    # relu(0) = tanh(0) = 0: the classifier sees zeros too; sigmoid(0) = 1/2 does not
    assert grads[-1].any() == (activation == "sigmoid")


def test_zero_init_units_stay_identical_through_training(circles_small):
    """Sigmoid with zero weights: the classifier learns, the hidden layers then get a
    gradient, but every unit of a layer gets the same one, so the units never differ."""
    arch = Architecture(3, 4, "sigmoid")
    result = train(arch, OptimizerConfig("rmsprop", 0.01), circles_small, [0, 1], epochs=5,
                   batch_size=32, init="zeros")
    grads = g.layer_gradients(arch, result.theta, *_tiny_data(circles_small))
    assert np.abs(grads[-2]).max() > 0  # the last hidden layer now learns ...
    for hidden in grads[:-1]:
        assert (g.unit_spread(hidden) <= g.SYMMETRY_TOL).all()  # ... in lockstep


def test_layer_gradients_match_the_trainers_recorded_norms(circles_small):
    arch = Architecture(2, 5, "tanh")
    result = train(arch, OptimizerConfig(), circles_small, [3, 4], epochs=1, batch_size=32,
                   init="glorot_normal")
    grads = g.layer_gradients(arch, result.theta0, *_tiny_data(circles_small))
    norms = np.stack([np.sqrt((w**2).sum(axis=(1, 2))) for w in grads], axis=1)
    np.testing.assert_allclose(norms, result.history["grad_norm"][:, 0], rtol=1e-10)


def test_sigmoid_chain_loses_the_same_factor_per_layer(circles_small):
    """Known answer: each sigmoid layer multiplies the backpropagated gradient by its
    weights and by sigmoid' <= 1/4; with tiny weights (sigmoid' ~ 1/4 everywhere) layer 1's
    gradient falls geometrically with depth, so log10 ratio is linear in depth."""
    X, y = _tiny_data(circles_small)
    logs = []
    for depth in (2, 4, 6, 8):
        arch = Architecture(depth, 8, "sigmoid")
        theta = init_params(Layout(arch), "random_normal", list(range(20)), 0.05)
        grads = g.layer_gradients(arch, theta, X, y)
        norm = [np.sqrt((w**2).sum(axis=(1, 2))) for w in grads]
        logs.append(np.mean(g.log10_ratio(norm[0], norm[-1])))
    slope = g.depth_slope([2, 4, 6, 8], logs)
    # per layer: x 1/4 (sigmoid') x 0.05 sqrt(8) (weights) = 0.035, i.e. -1.45 orders
    assert slope == pytest.approx(np.log10(0.25 * 0.05 * np.sqrt(8)), abs=0.15)
    assert np.all(np.diff(logs) < 0)


def test_summary_counts_missing_ratios_and_averages_finite_ones():
    ratios = pd.DataFrame({
        "activation": "relu", "init": "he_normal", "depth": 4, "moment": "init",
        "seed": [0, 1, 2, 3],
        "log10_ratio": [-0.5, -1.5, np.nan, -np.inf],
        "test_acc": [0.9, 0.8, 0.5, 0.5],
    })
    s = g.summarize_ratios(ratios).iloc[0]
    assert s["mean"] == pytest.approx(-1.0)
    assert s.sd == pytest.approx(np.std([-0.5, -1.5], ddof=1))
    assert (s.n_finite, s.n_zero, s.n_none, s.n) == (2, 1, 1, 4)
    assert "1× −∞" in g._fmt(s) and "(n = 2 of 4)" in g._fmt(s)


def _ratios(rows):
    frame = pd.DataFrame(rows, columns=["activation", "init", "depth", "seed", "log10_ratio"])
    frame["grad_norm_first"] = 10.0 ** frame.log10_ratio
    frame["grad_norm_classifier"] = 1.0
    both = [frame.assign(moment=m) for m in g.MOMENTS]
    return pd.concat(both, ignore_index=True).assign(test_acc=0.5)


def test_claims_apply_their_rules():
    rows = []
    for seed in range(2):
        for d in (1, 2, 4):
            rows.append(("sigmoid", "random_normal", d, seed, -0.5 * d))  # -0.5 / layer
            rows.append(("relu", "random_normal", d, seed, 0.2))
            rows.append(("tanh", "random_normal", d, seed, -1.5 if d == 4 else 0.0))
    ratios = _ratios(rows)
    layers = pd.DataFrame({"activation": [], "init": [], "role": [], "unit_spread": []})
    claims = g.evaluate_claims(ratios, layers, running_depth=4)
    assert claims["sigmoid-vanishes"].verdict == "supported"  # -2 at depth 4, slope -0.5
    hold = claims["relu-tanh-hold"]
    assert hold.verdict == "partly"
    assert [c.what for c in hold.checks if not c.passed] == ["tanh/random_normal, depth 4"]
    assert claims["zeros-symmetric"].verdict == "not tested"


def test_workflow_always_trains_the_running_depth(tmp_path):
    config = {"model": {"depth": 3, "width": 5, "init_scale": 1.0},
              "gradients": {"activations": ["tanh"], "inits": ["zeros"], "depths": [8, 1],
                            "seeds": 2}}
    assert g.depths(config) == [1, 3, 8]
    assert g.run_files(config, "abc") == [
        f"results/runs/gradients/tanh/zeros/d{d}-abc.npz" for d in (1, 3, 8)]



# ---------------------------------------------------------------- the commands


def _outs(folder):
    return [arg for name in g.TABLES for arg in (f"--{name}-out", str(folder / f"{name}.csv"))]


def test_tables_command_names_a_missing_run_file(tmp_path, capsys):
    data = tmp_path / "d.npz"
    assert cli.main(["dataset", "--n-samples", "60", "--out", str(data)]) == 0
    missing = tmp_path / "nope.npz"
    code = cli.main(["gradients-tables", str(missing), "--data", str(data),
                     "--running-depth", "2", *_outs(tmp_path / "t")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.npz: file not found" in err[0]
    assert not (tmp_path / "t").exists()


def test_tables_command_refuses_runs_without_diagnostics(tmp_path, capsys):
    data, run = tmp_path / "d.npz", tmp_path / "r.npz"
    assert cli.main(["dataset", "--n-samples", "60", "--out", str(data)]) == 0
    assert cli.main(["train", "--data", str(data), "--out", str(run), "--epochs", "1",
                     "--seeds", "0", "--depth", "2", "--no-diagnostics"]) == 0
    code = cli.main(["gradients-tables", str(run), "--data", str(data),
                     "--running-depth", "2", *_outs(tmp_path / "t")])
    assert code == 2
    assert "r.npz: the run has no per-layer gradients" in capsys.readouterr().err


# ---------------------------------------------------------------- end to end (tiny run)


@pytest.mark.pipeline
def test_tiny_run_writes_tidy_tables_with_known_answers(finished_project):
    from pipeline_helpers import TINY

    cfg, epochs = TINY["gradients"], TINY["train"]["epochs"]
    depth = TINY["model"]["depth"]
    depths = sorted(set(cfg["depths"]) | {depth})
    tables = finished_project / "results/tables"
    ratios = pd.read_csv(tables / "gradients_ratios.csv")
    n_models = len(cfg["activations"]) * len(cfg["inits"]) * len(depths) * cfg["seeds"]
    assert len(ratios) == 2 * n_models
    assert set(ratios.moment) == {"init", "final"}
    epochs_t = pd.read_csv(tables / "gradients_epochs.csv")
    assert set(epochs_t.depth) == {depth}
    assert len(epochs_t) == (len(cfg["activations"]) * len(cfg["inits"]) * cfg["seeds"]
                             * (epochs + 1) * (depth + 1))
    # zero init: relu passes no gradient anywhere; sigmoid's layer 1 gets none at init
    zr = ratios[(ratios.init == "zeros") & (ratios.activation == "relu")]
    assert (zr.regime == "no gradient").all()
    zs = ratios[(ratios.init == "zeros") & (ratios.activation == "sigmoid")
                & (ratios.moment == "init")]
    assert (zs.log10_ratio == -np.inf).all() and (zs.grad_norm_classifier > 0).all()
    layers = pd.read_csv(tables / "gradients_layers.csv")
    zl = layers[(layers.init == "zeros") & (layers.role == "hidden")]
    assert (zl.unit_spread <= g.SYMMETRY_TOL).all()


@pytest.mark.pipeline
def test_tiny_run_section_and_figures_reach_the_report(finished_project):
    results = finished_project / "results"
    section = (results / "sections/gradients.md").read_text()
    assert section.startswith(f"## {g.TITLE}\n")
    report = (results / "report.md").read_text()
    assert section.strip() in report
    for name in g.FIGURES:
        assert (results / "figures/gradients" / name).stat().st_size > 0
        assert f"](figures/gradients/{name})" in report
    for key in ("G1", "G2", "G3"):
        assert f"**Claim {key}:" in section
    assert "orders of magnitude" in section


@pytest.mark.pipeline
def test_study_runs_alone_and_switches_off(tmp_path, project_copy):
    from pipeline_helpers import make_project, planned_jobs, read_params, snakemake, write_params

    fresh = make_project(tmp_path / "fresh")
    out = snakemake(fresh, "-n", "gradients").stdout
    jobs = {line.split()[0] for line in out.split("Job stats:")[1].splitlines()[3:]
            if line.strip() and not line.startswith("total")}
    assert {"gradients_train", "gradients_tables", "gradients_section"} <= jobs
    assert not jobs & {"train", "aggregate", "report", "scaling_train"}

    params = read_params(project_copy)
    params["gradients"]["enabled"] = False
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert not any(rule.startswith("gradients") for rule in jobs)
    assert jobs == {"report": 1}  # its list of sections changed
