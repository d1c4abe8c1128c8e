"""The report as one self-contained HTML page: the main text with a table of contents, every
figure and animation embedded as a ``data:`` URI, each appendix a collapsible section.

The markdown is parsed by markdown-it-py (CommonMark and GitHub's tables); this module only
walks its token stream:

- headings get ids by GitHub's rule (``trainability.anchors``), so ``appendix/grid.md#x``
  works on GitHub and here alike; an appendix's ids are prefixed ``<name>--`` (its file's
  stem), so they cannot collide with the main text's, and its headings move one level
  down (its title becomes the ``<summary>`` of its ``<details id="appendix--<name>">``);
- links between the files become links within the page: ``appendix/<name>.md`` to the
  appendix's ``<details>``, ``appendix/<name>.md#<anchor>`` and ``../report.md#<anchor>``
  to the heading's id; a file that is not part of the page, or an anchor that no heading of
  the file has, is an error naming it. Links to other files are made relative to the main
  text's folder, where the page is written;
- an image's ``src`` becomes its file's bytes (a missing file is an error naming it and the
  file that shows it).

A link into a collapsed appendix opens it (a few lines of JavaScript); without JavaScript
the appendices open by their summaries.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from trainability.anchors import Slugger
from trainability.io import InputError, write_text


@dataclass(frozen=True)
class Heading:
    level: int  # in its file (an appendix's are shown one level lower)
    text: str  # plain text: what the anchor and the table of contents are made from
    anchor: str  # GitHub's, in its file
    id: str  # on the page


def plain_text(inline: Token) -> str:
    """A heading's text as GitHub's anchors read it: its text and code, no markup."""
    return "".join(t.content for t in inline.children or [] if t.type in ("text", "code_inline"))


def heading_ids(state: StateCore) -> None:
    """Core rule: every heading gets the id ``env["prefix"] + <GitHub's anchor>``; the
    headings are listed in ``env["headings"]``."""
    slugger, prefix = Slugger(), state.env.get("prefix", "")
    headings = state.env.setdefault("headings", [])
    for opening, inline in zip(state.tokens, state.tokens[1:], strict=False):
        if opening.type == "heading_open":
            text = plain_text(inline)
            anchor = slugger.slug(text)
            opening.attrSet("id", prefix + anchor)
            headings.append(Heading(int(opening.tag[1]), text, anchor, prefix + anchor))


MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
MARKDOWN.core.ruler.push("heading_ids", heading_ids)


def absolute(path) -> Path:
    """``path`` made absolute and normalized, symbolic links kept (DVC may link results
    into its cache: a file's neighbours are those of the link)."""
    return Path(os.path.normpath(os.path.abspath(path)))


@dataclass
class Document:
    """One markdown file of the page, parsed: the main text (``name`` "") or an appendix."""

    source: Path  # as given: what messages name
    name: str
    tokens: list[Token]
    headings: list[Heading]
    path: Path = field(init=False)  # absolute
    anchors: dict[str, str] = field(init=False)  # anchor in the file -> id on the page

    def __post_init__(self):
        self.path = absolute(self.source)
        self.anchors = {h.anchor: h.id for h in self.headings}

    @property
    def title(self) -> str:
        return next((h.text for h in self.headings if h.level == 1), self.path.stem)

    @property
    def top(self) -> str | None:
        """The id a link to the whole file goes to: an appendix's <details>, the main
        text's title."""
        if self.name:
            return f"appendix--{self.name}"
        return next((h.id for h in self.headings if h.level == 1), None)


def parse(path, name: str = "") -> Document:
    """A markdown file parsed; ``name``: an appendix's, which prefixes its ids."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    env = {"prefix": f"{name}--" if name else ""}
    tokens = MARKDOWN.parse(text, env)
    return Document(Path(path), name, tokens, env["headings"])


def inline_tokens(tokens: Sequence[Token]) -> Iterator[Token]:
    for token in tokens:
        yield from token.children or []


def data_uri(src: str, doc: Document) -> str:
    """The image file ``src`` (relative to ``doc``'s folder) as a ``data:`` URI."""
    parts = urlsplit(src)
    if parts.scheme == "data":
        return src
    if parts.scheme or parts.netloc:
        raise InputError(f"{doc.source}: image {src} is not a local file (the page embeds "
                         "every image)")
    file = doc.path.parent / unquote(parts.path)
    mime = mimetypes.guess_type(file.name)[0]
    if not mime or not mime.startswith("image/"):
        raise InputError(f"{doc.source}: image {src} is not an image file")
    try:
        data = file.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"{doc.source}: image {src} not found ({file})") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def page_link(href: str, doc: Document, pages: dict[Path, Document], main: Document) -> str:
    """Where ``href`` in ``doc`` goes on the page (see the module docstring)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href
    path, fragment = unquote(parts.path), unquote(parts.fragment)
    target = doc
    if path:
        file = absolute(doc.path.parent / path)
        if file.suffix != ".md":  # a table, a log: beside the page as beside the main text
            rebased = Path(os.path.relpath(file, main.path.parent)).as_posix()
            return parts._replace(path=rebased).geturl()
        if file not in pages:
            given = ", ".join(str(d.source) for d in pages.values() if d.name) or "none"
            raise InputError(f"{doc.source}: link {href}: {file} is not part of the page "
                             f"(the main text {main.source}; appendices given: {given})")
        target = pages[file]
    if not fragment:
        if target.top is None:
            raise InputError(f"{doc.source}: link {href}: {target.source} has no title (a # "
                             "heading) to link to; link to one of its headings")
        return f"#{target.top}"
    if fragment not in target.anchors:
        raise InputError(f"{doc.source}: link {href}: {target.source} has no heading with "
                         f"anchor #{fragment}")
    return f"#{target.anchors[fragment]}"


def resolve(doc: Document, pages: dict[Path, Document], main: Document) -> None:
    """Embed ``doc``'s images and point its links into the page (in place)."""
    for token in inline_tokens(doc.tokens):
        if token.type == "image":
            token.attrSet("src", data_uri(str(token.attrGet("src")), doc))
        elif token.type == "link_open":
            token.attrSet("href", page_link(str(token.attrGet("href")), doc, pages, main))


def render(tokens: Sequence[Token]) -> str:
    return MARKDOWN.renderer.render(list(tokens), MARKDOWN.options, {})


def contents(main: Document, appendices: Sequence[Document]) -> str:
    """The table of contents: the main text's h2 headings with their h3 ones, then one
    entry per appendix."""
    def link(target: str, text: str) -> str:
        return f'<a href="#{html.escape(target)}">{html.escape(text)}</a>'

    def sublist(items: Sequence[str]) -> str:
        return "<ul>\n" + "".join(f"<li>{i}</li>\n" for i in items) + "</ul>" if items else ""

    groups: list[tuple[str, list[str]]] = []  # an h2's link, its h3s' links
    for h in main.headings:
        if h.level == 2 or (h.level == 3 and not groups):  # an h3 before any h2: alone
            groups.append((link(h.id, h.text) if h.level == 2 else "", []))
        if h.level == 3:
            groups[-1][1].append(link(h.id, h.text))
    items = [top + sublist(subs) for top, subs in groups]
    if appendices:
        items.append("Appendices" + sublist([link(a.top, a.title) for a in appendices]))
    return (f'<nav class="contents" aria-label="Contents">\n<p>Contents</p>\n'
            f"{sublist(items)}\n</nav>")


def appendix_section(doc: Document) -> str:
    """An appendix as ``<details>``: its title (its first heading, if a # one) as summary,
    its headings one level lower than in its file (the page's title is its only h1)."""
    tokens = doc.tokens
    titled = len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1"
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    summary = render(tokens[:3]).strip() if titled else html.escape(doc.title)
    body = render(tokens[3:] if titled else tokens)
    return (f'<details id="{html.escape(doc.top)}">\n<summary>{summary}</summary>\n'
            f"{body}</details>")


def check_unique(docs: Sequence[Document]) -> None:
    """No id on the page twice (only a heading written with "--" could repeat another's)."""
    seen: dict[str, Path] = {}
    for doc in docs:
        for id_ in [h.id for h in doc.headings] + ([doc.top] if doc.name else []):
            if id_ in seen:
                raise InputError(f"id {id_} is made twice (by {seen[id_]} and {doc.source}): "
                                 "rename a heading")
            seen[id_] = doc.source


PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; display: block; overflow-x: auto; margin: 1rem 0; }
th, td { border: 1px solid #999; padding: 0.2rem 0.5rem; vertical-align: top; }
th { background: #f0f0f0; }
pre { overflow-x: auto; background: #f6f6f6; padding: 0.5rem; }
nav.contents { border: 1px solid #ccc; padding: 0 1rem; margin: 1rem 0; }
nav.contents > p { font-weight: bold; }
details { border-top: 1px solid #ccc; margin: 1rem 0; }
summary { cursor: pointer; padding: 0.5rem 0; }
summary > h2 { display: inline; }
</style>
</head>
<body>
$head
$contents
$body
$appendices
<script>
// a link into a collapsed appendix opens it (without JavaScript, open it by its summary)
function openTarget() {
  var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  for (var e = target; e; e = e.parentElement) if (e.tagName === "DETAILS") e.open = true;
  if (target) target.scrollIntoView();
}
addEventListener("hashchange", openTarget);
document.addEventListener("click", function (event) {  // the same hash again: no hashchange
  var link = event.target.closest && event.target.closest('a[href^="#"]');
  if (link && link.hash === location.hash) setTimeout(openTarget);
});
openTarget();
</script>
</body>
</html>
""")


def render_html(report, appendices: Sequence = ()) -> str:
    """The page: ``report`` (the main text's markdown file) with a table of contents after
    its title, then each of ``appendices`` (markdown files) as a collapsible section."""
    main = parse(report)
    docs = [main]
    for path in appendices:
        name = Path(path).stem
        if any(d.name == name for d in docs) or absolute(path) == main.path:
            raise InputError(f"{path}: given twice (an appendix is named by its file's stem)")
        docs.append(parse(path, name))
    check_unique(docs)
    pages = {d.path: d for d in docs}
    for doc in docs:
        resolve(doc, pages, main)
    tokens = main.tokens
    title_end = next((i + 1 for i, t in enumerate(tokens)
                      if t.type == "heading_close" and t.tag == "h1"), 0)
    return PAGE.substitute(
        title=html.escape(main.title),
        head=render(tokens[:title_end]).strip(),
        contents=contents(main, docs[1:]),
        body=render(tokens[title_end:]).strip(),
        appendices="\n".join(appendix_section(a) for a in docs[1:]),
    )


def write_html(report, appendices: Sequence, out) -> None:
    """Write the page to ``out`` (atomically: nothing is written when an input is wrong)."""
    write_text(out, render_html(report, appendices))
