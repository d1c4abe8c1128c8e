"""The house style of the figures (issue 22, item 5): legible at 100% zoom.

Every study's test file checks its own figures with ``legibility.assert_legible`` on the
tables of its tiny run. Here: that the check catches what it should, that the style meets
it, and the grid's figures at the default params' size (7 activations x 10 initializers x
3 widths), where a tiny run would hide a figure that grows with the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import legibility
from trainability import plotting
from trainability.data import make_dataset
from trainability.studies.grid import boundaries
from trainability.studies.grid import figures as gf
from trainability.studies.grid.spec import Spec

pytestmark = pytest.mark.legibility

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the check itself


def _panels(width=6.0, **legend):
    with plotting.style():
        fig = plotting.figure(width, 3.0)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label="a line")
        if legend:
            ax.legend(**legend)
    return fig


def test_a_legible_figure_has_no_problems():
    fig = _panels()
    plotting.legend_outside(fig, fig.axes)
    assert legibility.problems(fig) == []


def test_the_check_finds_small_text_a_legend_over_the_data_and_a_cut_off_title():
    fig = _panels(loc="upper left")
    fig.axes[0].text(0.5, 0.5, "tiny", fontsize=7)
    fig.text(0.9, 0.5, "a long note that runs beyond the right edge of the figure")
    found = "\n".join(legibility.problems(fig))
    assert "'tiny': 7.00 pt on screen" in found
    assert "legend 'a line' covers the data" in found
    assert "is cut off at the figure's edge" in found


def test_a_figure_wider_than_the_page_shrinks_its_text_below_the_limit():
    with plotting.style():
        fig = Figure(figsize=(15.0, 3.0), dpi=plotting.DPI, layout="constrained")
        fig.subplots().set_title("ten points")
    found = legibility.problems(fig)
    assert found[0].startswith("1440 px wide (limit 1000)")
    assert any("'ten points'" in p and "7.64 pt" in p for p in found)  # 11 pt x 1000/1440


def test_a_legend_in_an_empty_panel_of_its_own_covers_nothing():
    with plotting.style():
        fig = plotting.figure(6.0, 3.0)
        data, free = fig.subplots(1, 2)
        data.plot([0, 1], [0, 1], label="a line")
        plotting.legend_outside(fig, data, free)
    assert legibility.problems(fig) == []


def test_overlapping_titles_are_found():
    with plotting.style():
        fig = plotting.figure(4.0, 2.0)
        for ax in fig.subplots(1, 3):
            ax.set_title("a title far too long for its panel")
    assert any("overlap" in p for p in legibility.problems(fig))


def test_the_house_style_meets_the_requirement():
    assert plotting.MAX_WIDTH_PX <= legibility.MAX_WIDTH_PX
    assert plotting.DPI == legibility.SCREEN_DPI  # a figure's points are the screen's
    assert min(plotting.FONTS.values()) >= legibility.MIN_FONT_PT
    fig = plotting.figure(30.0, 2.0)  # a request beyond the page is cut to it
    assert fig.get_figwidth() * fig.dpi == pytest.approx(plotting.MAX_WIDTH_PX)


# ---------------------------------------------------------------- the grid at full size


@pytest.fixture(scope="module")
def spec() -> Spec:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    return Spec.from_params(params, dataset="unused.npz", train_code="test")


@pytest.fixture(scope="module")
def runs(spec) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"activation": a, "init": i, "width": w, "seed": s,
             "test_acc": 0.5 if i == "zeros" else 0.98 - 0.4 * (a == "sigmoid") / w
             + 0.005 * rng.standard_normal(), "train_acc": 0.98, "train_loss": 0.05,
             "test_loss": 0.05, "status": "diverged" if (a, w, s) == ("elu", 64, 0) else "ok"}
            for a in spec.activations for i in spec.inits for w in spec.widths
            for s in range(spec.seeds)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def history(spec) -> pd.DataFrame:
    epochs = np.arange(spec.train["epochs"] + 1)
    frames = []
    for a in spec.activations:
        for s in range(spec.seeds):
            loss = 0.69 * np.exp(-epochs / (20 + s))
            frames.append(pd.DataFrame({
                "activation": a, "init": "random_normal", "width": spec.width, "seed": s,
                "epoch": epochs, "running_loss": loss, "train_loss": loss, "test_loss": loss,
                "running_acc": 1 - loss / 1.4, "train_acc": 1 - loss / 1.4,
                "test_acc": 1 - loss / 1.4}))
    return pd.concat(frames, ignore_index=True)


def _maps(spec, data) -> list:
    xs, ys = boundaries.plane_grid(data)
    gx, gy = np.meshgrid(xs, ys)
    prob = 1 / (1 + np.exp(4 * (np.hypot(gx, gy) - 0.75)))
    return [boundaries.BoundaryMap(a, i, spec.width, 0, "ok" if i != "he_uniform" else
                                   "diverged", prob if i != "he_uniform" else None)
            for a in spec.activations for i in spec.inits]


def test_the_grids_figures_at_the_default_size_are_legible(spec, runs, history):
    data = make_dataset("circles", n_samples=200, noise=0.1, factor=0.5, seed=0)
    maps = _maps(spec, data)
    acts, init = spec.lecture_activations(), spec.lecture_init
    legibility.assert_legible({
        "heatmap": lambda: gf.heatmap_figure(runs, spec.width),
        "accuracy_vs_width": lambda: gf.lecture_width_figure(runs, acts, init),
        "accuracy_vs_width_all": lambda: gf.accuracy_vs_width_figure(runs),
        "lecture": lambda: gf.lecture_figure(history, "random_normal", spec.width),
        "boundaries": lambda: boundaries.boundaries_figure(maps, data, spec.width),
        "boundaries_lecture": lambda: boundaries.lecture_boundaries_figure(maps, data, spec),
        "data": lambda: gf.data_figure(data, "circles"),
    })


def _columns(fig) -> int:
    """How many panels side by side the figure's visible axes are in."""
    return len({round(ax.get_position().x0, 3) for ax in fig.axes if ax.get_visible()})


def test_the_lecture_strip_wraps_into_rows_of_four_with_one_legend(spec, history):
    fig = gf.lecture_figure(history, "random_normal", spec.width)
    assert len(spec.activations) == 7 and _columns(fig) == 4
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)


def test_the_main_width_figure_is_one_panel_of_the_lectures_activations(spec, runs):
    fig = gf.lecture_width_figure(runs, spec.lecture_activations(), spec.lecture_init)
    (ax,) = fig.axes
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [x for x in labels if x != "coin flip"] == ["relu", "sigmoid", "tanh"]
    assert "elu w64" not in ax.get_title()  # a diverged seed of another cell is not counted


def test_the_lectures_boundaries_are_two_by_three_and_the_whole_grid_carries_no_ticks(spec):
    data = make_dataset("circles", n_samples=200, noise=0.1, factor=0.5, seed=0)
    maps = _maps(spec, data)
    lecture = boundaries.lecture_boundaries_figure(maps, data, spec)
    panels = [ax for ax in lecture.axes if ax.get_label() != "<colorbar>"][:-1]
    assert len(panels) == 6 and _columns(lecture) == 3 + 1  # and the colour bar
    whole = boundaries.boundaries_figure(maps, data, spec.width)
    cells = whole.axes[:-1]
    assert len(cells) == 70 and whole.get_layout_engine() is None  # placed by hand: cheap
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in cells)
    assert sum(bool(ax.get_ylabel()) for ax in cells) == 7  # one label per row
    assert sum(bool(ax.get_title()) for ax in cells) == 10  # and per column
