"""Study 2, scaling and initialization: layer-output statistics on cases with a known
answer, the commands' errors, and the study's rules end to end on the shared tiny run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainability import cli
from trainability.model import Architecture, Layout, init_params
from trainability.studies import scaling as sc

RNG = np.random.default_rng(7)
X = RNG.normal(size=(300, 2))  # standardized-looking inputs


def _stats(activation, init, scale=1.0, depth=4, width=16, seeds=range(200), X=X):
    arch = Architecture(depth, width, activation)
    theta = init_params(Layout(arch), init, list(seeds), scale)
    return [sc.layer_stats(z, a, activation) for z, a in sc.forward_layers(arch, theta, X)]


# ---------------------------------------------------------------- the statistics


def test_linear_orthogonal_layers_keep_the_signal_exactly():
    """An orthogonal square matrix is a rotation: the trace of the outputs' covariance
    (so the signal) and their mean square are the same in every layer."""
    stats = _stats("linear", "orthogonal", depth=8, width=6, seeds=range(3))
    signal = np.array([s["signal"] for s in stats])  # (layers, models)
    rms = np.array([s["rms"] for s in stats])
    np.testing.assert_allclose(signal, np.broadcast_to(signal[0], signal.shape), rtol=1e-12)
    np.testing.assert_allclose(rms, np.broadcast_to(rms[0], rms.shape), rtol=1e-12)


def test_linear_layers_multiply_the_signal_variance_by_fan_in_times_weight_variance():
    std = 0.4
    stats = _stats("linear", "random_normal", scale=std, depth=3, width=16)
    signal = np.array([s["signal"] for s in stats])
    gain = np.mean(signal[1:] ** 2 / signal[:-1] ** 2, axis=1)  # mean over 200 models
    np.testing.assert_allclose(gain, 16 * std**2, rtol=0.05)
    # LeCun's variance 1 / fan_in: a gain of 1, the signal kept on average
    lecun = np.array([s["signal"] for s in _stats("linear", "lecun_normal", depth=3)])
    np.testing.assert_allclose(np.mean(lecun[1:] ** 2 / lecun[:-1] ** 2, axis=1), 1.0, rtol=0.05)


def test_he_init_keeps_the_mean_square_of_relu_layers():
    """He et al.: with variance 2 / fan_in, E[a^2] is the same in every relu layer; half
    the outputs are exactly 0."""
    stats = _stats("relu", "he_normal", depth=5, width=32)
    ms = np.array([np.mean(s["rms"] ** 2) for s in stats])
    np.testing.assert_allclose(ms[1:] / ms[:-1], 1.0, rtol=0.06)
    zero = np.array([np.mean(s["zero"]) for s in stats])
    np.testing.assert_allclose(zero, 0.5, atol=0.02)
    assert all(np.isnan(s["saturated"]).all() for s in stats)


def test_tiny_weights_shrink_the_sigmoid_signal_by_a_quarter_of_the_weights_per_layer():
    """Around 0, sigmoid(z) ~ 1/2 + z / 4: each layer multiplies the signal by about
    sigmoid'(0) x std x sqrt(fan_in); the outputs sit at 1/2."""
    std, width = 0.01, 16
    stats = _stats("sigmoid", "random_normal", scale=std, depth=4, width=width)
    signal = np.array([s["signal"] for s in stats])
    gain = np.exp(np.mean(np.log(signal[1:] / signal[:-1]), axis=1))
    np.testing.assert_allclose(gain, 0.25 * std * np.sqrt(width), rtol=0.1)
    np.testing.assert_allclose([s["mean"].mean() for s in stats], 0.5, atol=1e-3)
    assert all(s["saturated"].max() == 0 for s in stats)


def test_huge_weights_saturate_tanh():
    stats = _stats("tanh", "random_normal", scale=100.0, depth=3, width=8, seeds=range(10))
    assert all(s["saturated"].min() > 0.9 for s in stats[1:])
    assert all(s["saturated"].max() == 0 for s in _stats("tanh", "random_normal", scale=0.01,
                                                        depth=3, width=8, seeds=range(10)))


def test_a_deeper_network_starts_with_the_shallow_networks_layers():
    """The histograms show the first model.depth layers of the deeper profile network:
    weights are drawn layer by layer, so those layers are the running example's."""
    shallow = Architecture(2, 5, "tanh")
    deep = Architecture(6, 5, "tanh")
    outs = [sc.forward_layers(a, init_params(Layout(a), "glorot_normal", [0, 1]), X)
            for a in (shallow, deep)]
    for (_, a_shallow), (_, a_deep) in zip(outs[0], outs[1][:2], strict=True):
        np.testing.assert_array_equal(a_shallow, a_deep)


def test_histogram_counts_every_finite_value_between_its_extremes():
    values = np.array([[0.0, 0.5, 1.0, np.nan, 2.0]])
    edges, counts = sc.histogram(values, 4)
    assert counts.sum() == 4 and edges[0] == 0.0 and edges[-1] == 2.0
    edges, counts = sc.histogram(np.full(10, 0.5), 3)  # a constant: widened, all counted
    assert counts.sum() == 10 and edges[0] < 0.5 < edges[-1]


def test_log10_change_marks_a_dead_layer():
    out = sc.log10_change(np.array([2.0, 2.0, 0.0]), np.array([0.02, 0.0, 1.0]))
    assert out[0] == pytest.approx(-2.0) and out[1] == -np.inf and np.isnan(out[2])


def test_init_settings_list_the_stds_then_the_scaled_initializers():
    assert sc.init_settings([1.0, 0.01], ["he_normal"]) == [
        ("std 1", "random_normal", 1.0), ("std 0.01", "random_normal", 0.01),
        ("he_normal", "he_normal", 1.0)]


def _layers(rows):
    frame = pd.DataFrame(rows, columns=["activation", "setting", "init", "seed", "layer",
                                        "signal", "saturated"])
    scale = frame.setting.str.removeprefix("std ").where(frame.setting.str.startswith("std "),
                                                        "1")
    return frame.assign(init_scale=scale.astype(float), preact_std=1.0)


def test_claims_apply_their_rules():
    rows = []
    for seed in (0, 1):
        for layer in (1, 2, 3):
            rows += [
                ("tanh", "std 1", "random_normal", seed, layer, 0.5, 0.3),
                ("tanh", "std 0.01", "random_normal", seed, layer, 10.0 ** -layer, 0.0),
                ("tanh", "glorot_normal", "glorot_normal", seed, layer, 0.5, 0.0),
                ("sigmoid", "std 1", "random_normal", seed, layer, 0.1, 0.01),
                ("sigmoid", "std 0.01", "random_normal", seed, layer, 0.1, 0.0),
            ]
    layers = _layers(rows)
    runs = pd.DataFrame({
        "variant": ["raw", "scaled", "standardized"] * 2,
        "activation": ["tanh"] * 3 + ["relu"] * 3,
        "init": "random_normal", "seed": 0, "status": "ok",
        "test_acc_final": [0.98, 0.5, 0.97, 0.98, 0.97, 0.90],
    })
    claims = sc.evaluate_claims(layers, runs, depth=3)
    assert claims["large-std-saturates"].verdict == "partly"  # tanh 30%, sigmoid 1%
    # tanh loses 2 orders from layer 1 to 3; sigmoid keeps its signal
    assert claims["small-std-vanishes"].verdict == "partly"
    assert claims["scaled-inits-keep"].verdict == "supported"  # tanh/glorot only
    assert claims["scaled-inputs-hurt"].verdict == "partly"  # tanh -0.48, relu -0.01
    assert claims["standardizing-restores"].verdict == "partly"  # tanh -0.01, relu -0.08


def test_workflow_scales_the_grids_data_and_standardizes_one_version():
    from types import SimpleNamespace

    config = {"data": {"name": "circles", "n_samples": 100, "noise": 0.1, "factor": 0.5,
                       "test_fraction": 0.2, "scale": 2.0, "standardize": False, "seed": 3},
              "scaling": {"input_scale": 100.0}}
    scaled = sc.dataset_args(config, SimpleNamespace(variant="scaled"))
    assert scaled[scaled.index("--scale") + 1] == 200.0 and "--standardize" not in scaled
    assert "--standardize" in sc.dataset_args(config, SimpleNamespace(variant="standardized"))
    assert sc.dataset_file("raw", "grid.npz", "t") == "grid.npz"
    assert sc.dataset_file("scaled", "grid.npz", "t") == "results/data/scaling/scaled-t.npz"


# ---------------------------------------------------------------- the commands


def _outs(folder, names):
    return [arg for name in names for arg in (f"--{name}-out", str(folder / f"{name}.csv"))]


def test_init_command_needs_an_initialization(tmp_path, capsys):
    data = tmp_path / "d.npz"
    assert cli.main(["dataset", "--n-samples", "60", "--out", str(data)]) == 0
    code = cli.main(["scaling-init", "--data", str(data), "--activations", "relu",
                     "--depth", "2", "--profile-depth", "3", "--width", "4", "--seeds", "0",
                     *_outs(tmp_path / "t", sc.INIT_TABLES)])
    assert code == 2
    assert "give at least one of --stds and --inits" in capsys.readouterr().err
    code = cli.main(["scaling-init", "--data", str(tmp_path / "missing.npz"),
                     "--activations", "relu", "--stds", "1", "--depth", "2",
                     "--profile-depth", "3", "--width", "4", "--seeds", "0",
                     *_outs(tmp_path / "t", sc.INIT_TABLES)])
    assert code == 2
    assert "missing.npz: file not found" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def test_tables_command_names_a_run_trained_on_other_data(tmp_path, capsys):
    paths = {}
    for name, args in (("raw", []), ("scaled", ["--scale", "10"]),
                       ("standardized", ["--scale", "10", "--standardize"]),
                       ("other", ["--seed", "5"])):
        paths[name] = tmp_path / f"{name}.npz"
        assert cli.main(["dataset", "--n-samples", "60", *args, "--out",
                         str(paths[name])]) == 0
    run = tmp_path / "run.npz"
    assert cli.main(["train", "--data", str(paths["other"]), "--out", str(run), "--epochs", "1",
                     "--seeds", "0", "--depth", "2"]) == 0
    code = cli.main(["scaling-tables", str(run), "--raw", str(paths["raw"]),
                     "--scaled", str(paths["scaled"]), "--standardized",
                     str(paths["standardized"]), *_outs(tmp_path / "t", sc.RUN_TABLES)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run.npz: trained on none of the given datasets" in err[0]


# ---------------------------------------------------------------- end to end (tiny run)


@pytest.mark.pipeline
def test_tiny_run_writes_tidy_tables_with_known_answers(finished_project):
    from pipeline_helpers import TINY

    cfg, data, model = TINY["scaling"], TINY["data"], TINY["model"]
    n_train = data["n_samples"] - round(data["n_samples"] * data["test_fraction"])
    tables = finished_project / "results/tables"
    settings = len(cfg["init_stds"]) + len(cfg["inits"])
    layers = pd.read_csv(tables / "scaling_init_layers.csv")
    n_layers = max(model["depth"], cfg["profile_depth"])
    assert len(layers) == len(cfg["activations"]) * settings * cfg["seeds"] * n_layers
    hist = pd.read_csv(tables / "scaling_histograms.csv")
    counts = hist.groupby(["activation", "setting", "layer"])["count"].sum()
    assert len(counts) == len(cfg["activations"]) * settings * model["depth"]
    assert (counts == n_train * model["width"] * cfg["seeds"]).all()
    runs = pd.read_csv(tables / "scaling_runs.csv")
    assert len(runs) == 3 * len(cfg["activations"]) * len(cfg["train_inits"]) * cfg["seeds"]
    inputs = pd.read_csv(tables / "scaling_inputs.csv").set_index(["variant", "feature"])["std"]
    np.testing.assert_allclose(inputs["standardized"], 1.0)
    np.testing.assert_allclose(inputs["scaled"], cfg["input_scale"] * inputs["raw"])
    # the same weights on x100 inputs: the first layer's pre-activations are 100x larger
    pre = runs.groupby("variant").preact_std_1.mean()
    assert pre["scaled"] == pytest.approx(cfg["input_scale"] * pre["raw"])
    training = pd.read_csv(tables / "scaling_training.csv")
    assert len(training) == len(runs) * (TINY["train"]["epochs"] + 1)


@pytest.mark.pipeline
def test_tiny_run_section_and_figures_reach_the_report(finished_project):
    from pipeline_helpers import TINY

    results = finished_project / "results"
    section = (results / "sections/scaling.md").read_text()
    assert section.startswith(f"## {sc.TITLE}\n")
    report = (results / "report.md").read_text()
    assert section.strip() in report
    for name in sc.figure_names(TINY["scaling"]["activations"]):
        assert (results / "figures/scaling" / name).stat().st_size > 0
        assert f"](figures/scaling/{name})" in report
    for key in ("S1", "S2", "S3", "S4", "S5"):
        assert f"**Claim {key}:" in section


@pytest.mark.pipeline
def test_study_runs_alone_and_switches_off(tmp_path, project_copy):
    from pipeline_helpers import make_project, planned_jobs, read_params, snakemake, write_params

    fresh = make_project(tmp_path / "fresh")
    out = snakemake(fresh, "-n", "scaling").stdout
    jobs = {line.split()[0] for line in out.split("Job stats:")[1].splitlines()[3:]
            if line.strip() and not line.startswith("total")}
    assert {"scaling_dataset", "scaling_train", "scaling_init", "scaling_section"} <= jobs
    assert not jobs & {"train", "aggregate", "report", "gradients_train"}

    params = read_params(project_copy)
    params["scaling"]["enabled"] = False
    write_params(project_copy, params)
    jobs = planned_jobs(project_copy)
    assert not any(rule.startswith("scaling") for rule in jobs)
    assert jobs == {"report": 1}
