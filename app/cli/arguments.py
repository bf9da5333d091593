"""The command line's argument types: each parses and checks one value, or says why not.

Bad input found here exits with status 2 and one line on stderr, like every other bad input.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from components.core.geography import BBox

#: Largest image side (px) the renderer accepts.
MAX_PIXELS = 8192


def _numbers(text: str, count: int, what: str) -> list[float]:
    """``count`` finite numbers separated by commas, or an error that says ``what`` they are."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(map(_finite, values)):
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
    return values


def _finite(value: float) -> bool:
    return value - value == 0.0  # False for inf and nan


def bbox_arg(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees (:class:`components.core.geography.BBox`); W > E crosses the
    dateline."""
    try:
        return BBox.parse(text).as_tuple()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def lon_arg(text: str) -> float:
    """A longitude in [-180, 360] degrees, wrapped into [-180, 180)."""
    (lon,) = _numbers(text, 1, "a longitude in degrees, e.g. -30.5")
    if not -180.0 <= lon <= 360.0:
        raise argparse.ArgumentTypeError(f"{lon:g} is not a longitude in [-180, 360]")
    return (lon + 180.0) % 360.0 - 180.0


def lat_arg(text: str) -> float:
    """A latitude in [-90, 90] degrees."""
    (lat,) = _numbers(text, 1, "a latitude in degrees, e.g. 20.25")
    if not -90.0 <= lat <= 90.0:
        raise argparse.ArgumentTypeError(f"{lat:g} is not a latitude in [-90, 90]")
    return lat


def megabytes_arg(text: str) -> float:
    """A positive size in MB (10**6 bytes)."""
    (mb,) = _numbers(text, 1, "megabytes, e.g. 500")
    if mb <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size in MB, got '{text}'")
    return mb


def clim_arg(text: str) -> tuple[float, float]:
    """A colour range ``LO,HI`` with LO below HI."""
    low, high = _numbers(text, 2, "LO,HI, e.g. -2,2")
    if low >= high:
        raise argparse.ArgumentTypeError(f"LO must be below HI (got {low:g}, {high:g})")
    return low, high


def threshold_arg(text: str) -> float:
    """A magnitude of change: 0 or more."""
    (value,) = _numbers(text, 1, "a threshold, e.g. 0.5")
    if value < 0:
        raise argparse.ArgumentTypeError(f"the threshold is a magnitude: 0 or more, got '{text}'")
    return value


def pixels_arg(text: str) -> int:
    """An image side in pixels, 1 to MAX_PIXELS."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PIXELS:
        raise argparse.ArgumentTypeError(f"expected pixels from 1 to {MAX_PIXELS}, got '{text}'")
    return value


#: A word that is a value even though it starts with "-": a negative number or a list of
#: numbers (``-30``, ``-.5``, ``-70,25,-10,65``).
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def negative_values_attached(argv: Sequence[str]) -> list[str]:
    """``argv`` with each option's negative value attached (``--bbox -70,25,-10,65`` becomes
    ``--bbox=-70,25,-10,65``), so that argparse reads it as the value it is rather than an
    unknown option (Python 3.13 does so itself; 3.11 and 3.12 do only for plain numbers)."""
    words = list(argv)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else ""
        if word.startswith("--") and "=" not in word and _NEGATIVE_VALUE.match(following):
            out.append(f"{word}={following}")
            i += 2
        else:
            out.append(word)
            i += 1
    return out
