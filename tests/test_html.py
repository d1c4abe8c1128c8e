"""The report's HTML page: one self-contained file (every image embedded), every link
within it resolving, every table rendered, appendices collapsible, GitHub's anchors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PIL import Image

from pipeline_helpers import Page
from trainability import cli
from trainability.anchors import Slugger, slug
from trainability.html import render_html, write_html
from trainability.io import InputError

REPORT = """\
# Trainability, measured

The central claim is [claim 2](#claim-2-sigmoid-lags-width-5); the cells are in
[the grid's appendix](appendix/grid.md), B3 in [its section](appendix/grid.md#b3---e4).

## Claim 2: sigmoid lags (width 5)

| activation | accuracy |
|---|--:|
| sigmoid | 0.61 |
| relu | 0.98 |

![The heatmap](figures/grid/heatmap.png)

### Details

The tables: [runs](tables/grid/runs.csv).

## Details

![The boundary forming](figures/grid/boundary_animation.gif)
"""

GRID = """\
# The grid, cell by cell

## B3 <-> E4

Back to [claim 2](../report.md#claim-2-sigmoid-lags-width-5); widths in
[the size appendix](size.md#every-width), its cells in [runs](../tables/grid/runs.csv).

| cell | seeds |
|---|---|
| relu/he_normal | 5 |

![The heatmap again](../figures/grid/heatmap.png)

## Details
"""

SIZE = """\
# How big should the network be?

## Every width

See [the grid](grid.md) and [its details](grid.md#details).
"""

MARKDOWN_TABLES = 2  # one in REPORT, one in GRID
IMAGES = 3


def image(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB" if kind == "PNG" else "P", (8, 8), 3).save(path, kind)


@pytest.fixture
def results(tmp_path) -> Path:
    """A tiny results folder: the main text, two appendices, a figure and an animation."""
    root = tmp_path / "results"
    (root / "appendix").mkdir(parents=True)
    (root / "report.md").write_text(REPORT)
    (root / "appendix/grid.md").write_text(GRID)
    (root / "appendix/size.md").write_text(SIZE)
    image(root / "figures/grid/heatmap.png", "PNG")
    image(root / "figures/grid/boundary_animation.gif", "GIF")
    return root


def appendices(results: Path) -> list[Path]:
    return [results / "appendix/grid.md", results / "appendix/size.md"]


def command(results: Path, out: Path) -> list[str]:
    """``trainability html`` on the tiny folder's main text and appendices."""
    args = ["html", "--report", str(results / "report.md"), "--out", str(out)]
    return args + [a for path in appendices(results) for a in ("--appendix", str(path))]


@pytest.fixture
def page(results) -> Page:
    return Page(render_html(results / "report.md", appendices(results)))


def test_slugs_are_githubs_for_tricky_headings():
    assert slug("Claim 2: sigmoid lags (width 5)") == "claim-2-sigmoid-lags-width-5"
    assert slug("B3 <-> E4") == "b3---e4"  # each space a hyphen, the arrow dropped
    assert slug("snake_case & dashes-kept") == "snake_case--dashes-kept"
    assert slug("Größe ² µ") == "größe--µ"  # letters of any script; superscripts dropped
    s = Slugger()
    assert [s.slug(t) for t in ("Details", "Details", "Details 1", "Details")] == [
        "details", "details-1", "details-1-1", "details-2"]


def test_headings_get_githubs_anchors_of_their_plain_text(results):
    (results / "report.md").write_text("# Use `relu` *now*\n\n## Setup\n\n## Setup\n")
    ids = Page(render_html(results / "report.md")).ids
    assert ids == ["use-relu-now", "setup", "setup-1"]


def test_every_image_is_embedded(page):
    assert len(page.images) == IMAGES
    assert all(src.startswith(("data:image/png;base64,", "data:image/gif;base64,"))
               for src in page.images)
    gif = next(src for src in page.images if src.startswith("data:image/gif"))
    assert base64.b64decode(gif.partition(",")[2]).startswith(b"GIF8")


def test_every_internal_link_resolves_to_an_id_on_the_page(page):
    assert set(page.links) <= set(page.ids), set(page.links) - set(page.ids)
    assert len(page.ids) == len(set(page.ids)), "an id is used twice"
    # links between the files became links within the page
    assert {"claim-2-sigmoid-lags-width-5", "appendix--grid", "grid--b3---e4",
            "size--every-width", "grid--details"} <= set(page.links)


def test_every_markdown_table_renders_as_a_table(page):
    assert page.tables == MARKDOWN_TABLES


def test_each_appendix_is_a_details_element_holding_its_headings(page):
    assert page.details == ["appendix--grid", "appendix--size"]
    assert page.enclosing["grid--b3---e4"] == "appendix--grid"
    assert page.enclosing["size--every-width"] == "appendix--size"
    assert page.enclosing["claim-2-sigmoid-lags-width-5"] is None


def test_a_heading_used_twice_gets_githubs_suffix_and_appendix_ids_do_not_collide(page):
    assert {"details", "details-1", "grid--details"} <= set(page.ids)


def test_contents_lists_the_main_headings_then_one_entry_per_appendix(page):
    assert page.contents == ["claim-2-sigmoid-lags-width-5", "details", "details-1",
                             "appendix--grid", "appendix--size"]


def test_title_is_the_first_h1_and_other_links_are_relative_to_the_page(results):
    text = render_html(results / "report.md", appendices(results))
    assert "<title>Trainability, measured</title>" in text
    assert text.count('href="tables/grid/runs.csv"') == 2  # from the main text and grid.md


def test_an_empty_list_of_appendices_makes_a_page(results):
    (results / "report.md").write_text(REPORT.replace("(appendix/grid.md)", "(#details)")
                                       .replace("(appendix/grid.md#b3---e4)", "(#details-1)"))
    page = Page(render_html(results / "report.md", []))
    assert page.details == [] and set(page.links) <= set(page.ids)


def test_a_missing_image_is_named_with_the_file_showing_it(results):
    (results / "figures/grid/boundary_animation.gif").unlink()
    with pytest.raises(InputError, match=r"report\.md: image figures/grid/boundary_animation"
                       r"\.gif not found"):
        render_html(results / "report.md", appendices(results))


def test_a_missing_anchor_is_named(results):
    (results / "appendix/size.md").write_text(SIZE.replace("grid.md#details", "grid.md#nope"))
    with pytest.raises(InputError, match=r"size\.md: link grid\.md#nope: .*grid\.md has no "
                       r"heading with anchor #nope"):
        render_html(results / "report.md", appendices(results))


def test_a_link_to_an_appendix_not_given_is_named(results):
    with pytest.raises(InputError, match=r"grid\.md: link size\.md#every-width: .*size\.md is "
                       r"not part of the page"):
        render_html(results / "report.md", appendices(results)[:1])


def test_a_missing_file_is_named(results):
    with pytest.raises(InputError, match=r"glossary\.md: file not found"):
        render_html(results / "report.md", [results / "appendix/glossary.md"])


def test_nothing_is_written_when_an_input_is_wrong(results, capsys):
    out = results / "report.html"
    out.write_text("the previous page")
    (results / "figures/grid/heatmap.png").unlink()
    with pytest.raises(InputError):
        write_html(results / "report.md", appendices(results), out)
    assert out.read_text() == "the previous page"
    assert cli.main(command(results, out)) == 2
    assert "heatmap.png not found" in capsys.readouterr().err
    assert sorted(p.name for p in results.iterdir()) == ["appendix", "figures", "report.html",
                                                         "report.md"]  # no temporary file


def test_the_command_writes_the_page(results):
    assert cli.main(command(results, results / "r.html")) == 0
    page = Page((results / "r.html").read_text())
    assert len(page.images) == IMAGES and page.details == ["appendix--grid", "appendix--size"]
