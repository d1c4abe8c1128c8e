"""Argument types of the command line: each rejects a bad value with a message naming it."""

from __future__ import annotations

import argparse
import json


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


# what ``trainability train --settings`` may vary between models (OptimizerConfig's fields;
# a setting's own lr, for one --lr value only: several are --lr's product with the settings)
SETTING_KEYS = ("name", "lr", "momentum", "rho", "beta1", "beta2", "eps", "eps_convention",
                "l2", "schedule", "warmup_epochs", "step_epochs", "step_gamma")


def optimizer_setting(text: str) -> dict:
    """A JSON object of optimizer settings, e.g. ``{"name": "adam", "eps": 1e-10}``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not value:
        raise argparse.ArgumentTypeError(f"must be a JSON object of settings, got {text!r}")
    unknown = sorted(set(value) - set(SETTING_KEYS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown setting {unknown[0]!r} in {text!r}; known: {', '.join(SETTING_KEYS)}")
    return value
