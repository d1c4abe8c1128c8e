"""The command line: dataset -> train writes a readable run; expected failures exit 2 with
one line on stderr and leave no output; outputs are written atomically."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainability import cli
from trainability.data import load_dataset
from trainability.io import atomic_path, load_run
from trainability.model import Architecture
from trainability.optim import OptimizerConfig
from trainability.train import train

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("numpy", "pandas", "scipy", "sklearn", "matplotlib", "seaborn", "jsonschema")
TRAIN_ARGS = ["--width", "3", "--depth", "2", "--epochs", "2", "--batch-size", "16"]


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data" / "circles.npz"
    code = cli.main(["dataset", "--n-samples", "100", "--seed", "1", "--out", str(path)])
    assert code == 0
    return path


def _files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_dataset_then_train_writes_a_readable_run(data_file, tmp_path, capsys):
    data = load_dataset(data_file)
    assert data.X_train.shape == (80, 2) and data.X_test.shape == (20, 2)
    out = tmp_path / "runs" / "relu.npz"
    code = cli.main(["train", "--data", str(data_file), "--out", str(out), "--seeds", "3", "5",
                     "--activation", "tanh", "--init", "glorot_normal", *TRAIN_ARGS])
    assert code == 0
    meta, history, arrays = load_run(out)
    np.testing.assert_array_equal(arrays["seeds"], [3, 5])
    assert list(arrays["status"]) == ["ok", "ok"]
    np.testing.assert_array_equal(arrays["diverged_epoch"], [-1, -1])
    assert arrays["theta"].shape == arrays["theta0"].shape == (2, 2 * 3 + 3 + 3 * 3 + 3 + 3 + 1)
    assert meta["seeds"] == [3, 5]
    assert meta["activation"] == "tanh" and meta["init"] == "glorot_normal"
    assert (meta["width"], meta["depth"], meta["epochs"]) == (3, 2, 2)
    assert "out" not in meta and "data" not in meta and "func" not in meta
    assert history["train_loss"].shape == (2, 3)
    assert history["grad_norm"].shape == (2, 3, 3)
    assert np.isfinite(history["test_acc"]).all()
    assert _files(out.parent) == ["relu.npz"]  # no temp file left
    assert "tanh/glorot_normal/w3" in capsys.readouterr().out


def test_train_run_file_matches_the_library_result(data_file, tmp_path):
    out = tmp_path / "run.npz"
    assert cli.main(["train", "--data", str(data_file), "--out", str(out), "--seeds", "0",
                     "--optimizer", "adam", "--lr", "0.01", *TRAIN_ARGS]) == 0
    _, history, arrays = load_run(out)
    expected = train(Architecture(2, 3, "relu"), OptimizerConfig("adam", lr=0.01),
                     load_dataset(data_file), [0], epochs=2, batch_size=16)
    np.testing.assert_array_equal(arrays["theta"], expected.theta)
    for name, values in expected.history.items():
        np.testing.assert_array_equal(history[name], values, name)


def test_train_at_several_learning_rates_writes_each_models_rate(data_file, tmp_path):
    from trainability.tables import run_frames

    both = tmp_path / "both.npz"
    args = ["train", "--data", str(data_file), "--seeds", "0", "1", "--init", "zeros",
            "he_normal", "--optimizer", "sgd", *TRAIN_ARGS]
    assert cli.main([*args, "--lr", "0.5", "0.01", "--out", str(both)]) == 0
    runs, history, _ = run_frames(both)
    assert list(zip(runs["init"], runs.lr, runs.seed, strict=True)) == [
        (i, lr, s) for i in ("zeros", "he_normal") for lr in (0.5, 0.01) for s in (0, 1)]
    assert history.groupby(["init", "lr", "seed"]).size().eq(3).all()
    for lr in ("0.5", "0.01"):
        one = tmp_path / f"lr{lr}.npz"
        assert cli.main([*args, "--lr", lr, "--out", str(one)]) == 0
        alone = run_frames(one)[0]
        assert "lr" in alone and (alone.lr == float(lr)).all()
        mine = runs[runs.lr == float(lr)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)


def test_train_under_several_settings_writes_each_models_setting(data_file, tmp_path):
    from trainability.tables import run_frames

    both = tmp_path / "both.npz"
    args = ["train", "--data", str(data_file), "--seeds", "0", "1", "--optimizer", "rmsprop",
            "--lr", "0.01", *TRAIN_ARGS]
    settings = ['{"name": "adam", "eps": 1e-10}', '{"eps_convention": "pytorch", "l2": 0.01}']
    assert cli.main([*args, "--settings", *settings, "--out", str(both)]) == 0
    runs, history, layers = run_frames(both)
    assert list(zip(runs.optimizer, runs.eps, runs.eps_convention, runs.l2, strict=True)) == [
        ("adam", 1e-10, "keras", 0.0)] * 2 + [("rmsprop", 1e-7, "pytorch", 0.01)] * 2
    assert {"optimizer", "eps", "eps_convention", "l2"} <= set(history) & set(layers)
    alone = tmp_path / "alone.npz"
    assert cli.main([*args, "--eps-convention", "pytorch", "--l2", "0.01",
                     "--out", str(alone)]) == 0
    mine = runs[runs.optimizer == "rmsprop"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, run_frames(alone)[0])


@pytest.mark.parametrize("bad,named", [('{"nmae": "adam"}', "nmae"), ("adam", "JSON object"),
                                       ('{"name": "adma"}', "adma")])
def test_a_bad_setting_is_an_error_naming_it(bad, named, data_file, tmp_path, capsys):
    out = tmp_path / "run.npz"
    try:
        code = cli.main(["train", "--data", str(data_file), "--out", str(out), *TRAIN_ARGS,
                         "--settings", bad])
    except SystemExit as e:  # argparse's usage error
        code = e.code
    assert code == 2
    assert named in capsys.readouterr().err
    assert not out.exists()


def test_train_where_every_seed_diverges_prints_no_warnings(data_file, tmp_path, capsys):
    out = tmp_path / "run.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = cli.main(["train", "--data", str(data_file), "--out", str(out), "--seeds", "0",
                         "1", "--activation", "linear", "--optimizer", "sgd", "--lr", "1e300",
                         *TRAIN_ARGS])
    assert code == 0
    _, _, arrays = load_run(out)
    assert list(arrays["status"]) == ["diverged", "diverged"]
    captured = capsys.readouterr()
    assert "2 diverged" in captured.out
    assert captured.err == ""


def _assert_one_line_error(capsys, *needles):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in captured.err


def test_missing_data_file_exits_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "nowhere.npz"
    out = tmp_path / "out" / "run.npz"
    code = cli.main(["train", "--data", str(missing), "--out", str(out), *TRAIN_ARGS])
    assert code == 2
    _assert_one_line_error(capsys, str(missing))
    assert not out.parent.exists() or _files(out.parent) == []


def test_truncated_data_file_exits_2_naming_it(data_file, tmp_path, capsys):
    truncated = tmp_path / "truncated.npz"
    raw = data_file.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    out = tmp_path / "out" / "run.npz"
    code = cli.main(["train", "--data", str(truncated), "--out", str(out), *TRAIN_ARGS])
    assert code == 2
    _assert_one_line_error(capsys, str(truncated))
    assert not out.parent.exists() or _files(out.parent) == []


def test_data_file_without_dataset_arrays_exits_2(tmp_path, capsys):
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, X_train=np.zeros((3, 2)))
    code = cli.main(["train", "--data", str(wrong), "--out", str(tmp_path / "r.npz")])
    assert code == 2
    _assert_one_line_error(capsys, str(wrong), "y_train")
    assert not (tmp_path / "r.npz").exists()


@pytest.mark.parametrize(
    "option,value",
    [("--activation", "relu6"), ("--init", "xavier"), ("--optimizer", "adagrad"),
     ("--schedule", "linear")],
)
def test_unknown_name_exits_2_naming_the_value(option, value, data_file, tmp_path, capsys):
    out = tmp_path / "out" / "run.npz"
    code = cli.main(["train", "--data", str(data_file), "--out", str(out), option, value,
                     *TRAIN_ARGS])
    assert code == 2
    _assert_one_line_error(capsys, repr(value))
    assert not out.parent.exists() or _files(out.parent) == []


def test_unknown_dataset_name_exits_2(tmp_path, capsys):
    out = tmp_path / "d.npz"
    assert cli.main(["dataset", "--name", "blobs", "--out", str(out)]) == 2
    _assert_one_line_error(capsys, "'blobs'")
    assert not out.exists()


def test_batch_size_larger_than_training_set_exits_2(data_file, tmp_path, capsys):
    out = tmp_path / "run.npz"
    code = cli.main(["train", "--data", str(data_file), "--out", str(out),
                     "--batch-size", "1000"])
    assert code == 2
    _assert_one_line_error(capsys, "batch_size")
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "dataset"])
def test_help_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_bad_argument_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--data", "x.npz", "--out", "y.npz", "--width", "0"])
    assert exc.value.code == 2
    assert "--width" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# io.atomic_path


def test_atomic_path_leaves_nothing_when_the_block_raises(tmp_path):
    final = tmp_path / "sub" / "result.npz"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert not final.exists()
    assert _files(tmp_path) == []


def test_atomic_path_keeps_the_previous_file_when_the_block_raises(tmp_path):
    final = tmp_path / "result.txt"
    final.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(final) as tmp:
            tmp.write_text("new but incomplete")
            raise KeyboardInterrupt
    assert final.read_text() == "old"
    assert _files(tmp_path) == ["result.txt"]


def test_atomic_path_renames_into_place_on_success(tmp_path):
    final = tmp_path / "result.txt"
    final.write_text("old")
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp != final
        tmp.write_text("new")
        assert final.read_text() == "old"  # not visible before the block ends
    assert final.read_text() == "new"
    assert _files(tmp_path) == ["result.txt"]


def test_train_with_a_validation_split_fits_on_the_rest_and_tests_after_training(data_file,
                                                                                 tmp_path):
    from trainability.data import split_validation

    out = tmp_path / "run.npz"
    assert cli.main(["train", "--data", str(data_file), "--out", str(out), "--seeds", "0", "1",
                     "--validation-fraction", "0.25", *TRAIN_ARGS]) == 0
    _, history, arrays = load_run(out)
    data = load_dataset(data_file)
    fit = split_validation(data, 0.25)
    expected = train(Architecture(2, 3, "relu"), OptimizerConfig(), fit, [0, 1], epochs=2,
                     batch_size=16)
    np.testing.assert_array_equal(arrays["theta"], expected.theta)  # fitted on 60 of 80
    np.testing.assert_array_equal(history["val_acc"], expected.history["test_acc"])
    assert np.isnan(history["test_acc"][:, :-1]).all()  # the test set: once, at the end
    from trainability.jobs import evaluate

    acc, loss = evaluate(Architecture(2, 3, "relu"), expected.theta, data.X_test, data.y_test)
    np.testing.assert_array_equal(history["test_acc"][:, -1], acc)
    np.testing.assert_allclose(history["test_loss"][:, -1], loss)


def test_the_parser_and_the_cost_models_calls_load_no_heavy_library():
    """`trainability --help` and Snakemake's cost model (cli.job_calls, called for every
    rule while the workflow is parsed) build the whole parser, every study's commands
    included, without NumPy: a command imports its work when it runs."""
    code = ("import sys; from trainability import cli\n"
            "try: cli.main(['--help'])\n"
            "except SystemExit: pass\n"
            "cli.job_calls(['train', '--width', '3', '--seeds', '0'])\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout[-300:]
