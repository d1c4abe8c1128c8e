"""Heading anchors as GitHub makes them, so one link works on GitHub, in VS Code's preview
and in the HTML page (``trainability.html`` gives its headings these ids).

A link to a heading is ``file.md#<slug>``: the heading's plain text (no markup: ``**a**``
is ``a``) lowercased, every character dropped that is not a letter, a mark, a digit, ``_``,
``-`` or a space, and every space turned into ``-``. The same slug a second time in a file
gets ``-1``, the third ``-2``, ... (github-slugger 2, which GitHub's renderer follows).

>>> slug("Claim 2: sigmoid lags (width 5)")
'claim-2-sigmoid-lags-width-5'
>>> slug("B3 <-> E4")
'b3---e4'
"""

from __future__ import annotations

import unicodedata

# General categories github-slugger drops: other numbers (superscripts, fractions), all
# punctuation but connectors (``_``) and ``-``, symbols, controls, formats, private use,
# unassigned, separators but the space
DROPPED = {"No", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Cc", "Cf", "Co",
           "Cn", "Zs", "Zl", "Zp"}
KEPT = {" ", "-"}


def slug(text: str) -> str:
    """GitHub's anchor of a heading whose plain text is ``text`` (not made unique).
    Unlike github-slugger, the few symbols Unicode counts as alphabetic (circled letters)
    are dropped too."""
    kept = (c for c in text.lower()
            if c in KEPT or unicodedata.category(c) not in DROPPED)
    return "".join(kept).replace(" ", "-")


class Slugger:
    """The anchors of one file's headings, in order: a slug seen before gets ``-1``, ``-2``,
    ... (the smallest suffix not taken, as github-slugger counts)."""

    def __init__(self) -> None:
        self.occurrences: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = result = slug(text)
        while result in self.occurrences:
            self.occurrences[base] += 1
            result = f"{base}-{self.occurrences[base]}"
        self.occurrences[result] = 0
        return result
