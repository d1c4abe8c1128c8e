"""Argument types of the command line: each rejects a bad value with a message naming it."""

from __future__ import annotations

import argparse


def _checked(convert, ok, allowed: str):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):  # comparisons with nan are False: nan fails too
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


positive_int = _checked(int, lambda v: v > 0, "a positive integer")
positive_float = _checked(float, lambda v: v > 0, "a positive number")
non_negative = _checked(float, lambda v: v >= 0, "a number >= 0")
fraction = _checked(float, lambda v: 0 < v < 1, "in (0, 1)")
probability = _checked(float, lambda v: 0 < v <= 1, "in (0, 1]")
