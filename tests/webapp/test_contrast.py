"""The web app's colours meet WCAG 2.1 AA contrast (4.5:1 for text) in every pairing it uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import skinguard_webapp

CSS = (Path(skinguard_webapp.__file__).parent / "static" / "app.css").read_text()
PALETTE = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))

# (text, background) as the stylesheet pairs them.
PAIRS = [
    ("ink", "paper"),
    ("ink", "wash"),
    ("muted", "paper"),
    ("muted", "wash"),
    ("accent", "paper"),  # links, secondary buttons
    ("accent-ink", "accent"),  # primary buttons, the current screen in the navigation
    ("paper", "ink"),  # the top bar
    ("paper", "benign"),
    ("paper", "malignant"),
    ("benign", "paper"),
    ("malignant", "paper"),
    ("benign", "wash"),
    ("malignant", "wash"),
]


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_contrast_is_at_least_4_5_to_1(text, background):
    assert contrast(PALETTE[text], PALETTE[background]) >= 4.5, (text, background)


def test_the_palette_is_the_stylesheets():
    assert {name for pair in PAIRS for name in pair} <= set(PALETTE)
