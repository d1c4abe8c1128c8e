"""Batch normalization: does one normalization layer let the sigmoid network learn, and why."""
