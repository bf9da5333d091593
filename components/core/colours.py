"""Colours: a cmocean colormap per variable, palettes and robust colour ranges."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import xarray as xr

with warnings.catch_warnings():
    # cmocean 4.0.3 registers its colormaps with a call matplotlib has deprecated
    warnings.simplefilter("ignore")
    import cmocean

#: cmocean colormap by CF standard_name (the first matching key wins; substring match).
CMAP_BY_STANDARD_NAME = (
    ("chlorophyll", "algae"),
    ("direction_of", "phase"),
    ("mixed_layer", "deep"),
    ("sigma_theta", "dense"),
    ("temperature", "thermal"),
    ("salinity", "haline"),
    ("sea_surface_height", "balance"),
    ("sea_water_velocity", "balance"),
    ("speed", "speed"),
    ("oxygen", "oxy"),
    ("depth", "deep"),
    ("density", "dense"),
    ("turbidity", "turbid"),
    ("ice", "ice"),
)
#: Marine-heatwave categories (Hobday et al. 2018): none, then the standard colours of
#: Moderate, Strong, Severe and Extreme; shown on the fixed range CATEGORY_RANGE.
CATEGORY_COLOURS = ("#eef3f6", "#ffc866", "#ff6900", "#9e0000", "#2d0000")
CATEGORY_CMAP = "mhw_category"
CATEGORY_RANGE = (-0.5, 4.5)
#: Colormap of each processed quantity (``show``), whatever the variable.
CMAP_BY_SHOW = {
    "anomaly": "balance",
    "mhw-intensity": "amp",
    "mhw-category": CATEGORY_CMAP,
    "dhw": "amp",
}


def _register_categories() -> None:
    from matplotlib.colors import ListedColormap

    cmocean.cm.cmap_d.setdefault(
        CATEGORY_CMAP, ListedColormap(list(CATEGORY_COLOURS), name=CATEGORY_CMAP)
    )


_register_categories()

#: Fallback by units when there is no standard_name.
CMAP_BY_UNITS = {"degC": "thermal", "degree_Celsius": "thermal", "K": "thermal", "PSU": "haline"}
DEFAULT_CMAP = "thermal"
DIVERGING_CMAP = "balance"
#: Percentiles of the values in view used for the automatic colour range.
ROBUST_PERCENTILES = (2.0, 98.0)


def default_cmap(da: xr.DataArray) -> str:
    """The cmocean colormap name for a variable, chosen from standard_name, then units."""
    if da.attrs.get("show") in CMAP_BY_SHOW:
        return CMAP_BY_SHOW[da.attrs["show"]]
    std = str(da.attrs.get("standard_name", "")).lower()
    for key, name in CMAP_BY_STANDARD_NAME:
        if key in std:
            return name
    return CMAP_BY_UNITS.get(str(da.attrs.get("units", "")), DEFAULT_CMAP)


def is_diverging(name: str) -> bool:
    """True for colormaps meant to be centred on zero."""
    return name in ("balance", "diff", "curl", "delta", "tarn")


def fixed_range(da: xr.DataArray) -> tuple[float, float] | None:
    """The colour range a quantity always takes (marine-heatwave categories), or None."""
    return CATEGORY_RANGE if da.attrs.get("show") == "mhw-category" else None


def palette(name: str, n: int = 256) -> list[str]:
    """A cmocean colormap as a list of hex colours, the form Bokeh takes (a list of its
    own for each caller; the colours are computed once per name)."""
    return list(_hex_colours(name, n))


@functools.lru_cache(maxsize=64)
def _hex_colours(name: str, n: int) -> tuple[str, ...]:
    from matplotlib.colors import to_hex  # the map asks on every frame: computed once

    cmap = cmocean.cm.cmap_d[name]
    return tuple(to_hex(rgba) for rgba in cmap(np.linspace(0.0, 1.0, n)))


#: Significant digits of a colour range a user is shown to edit (fixed mode pre-fills it).
RANGE_DIGITS = 3


def _round_significant(value: float, digits: int, up: bool) -> float:
    if value == 0 or not np.isfinite(value):
        return float(value)
    scale = 10.0 ** (int(np.floor(np.log10(abs(value)))) - digits + 1)
    steps = round(value / scale, 6)  # 189.99999999 is 190: no step lost to float noise
    steps = np.ceil(steps) if up else np.floor(steps)
    return float(f"{steps * scale:.{digits + 1}g}")


def rounded_range(lo: float, hi: float, digits: int = RANGE_DIGITS) -> tuple[float, float]:
    """``(lo, hi)`` widened to ``digits`` significant digits, to be read and typed:
    ``(-1.89999997, 31.2345)`` -> ``(-1.9, 31.3)``; the range still holds the original."""
    return _round_significant(lo, digits, up=False), _round_significant(hi, digits, up=True)


def robust_range(values: np.ndarray, symmetric: bool = False) -> tuple[float, float]:
    """(low, high) from the 2nd and 98th percentiles of the finite values; (0, 1) if none."""
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(finite, ROBUST_PERCENTILES))
    if symmetric:
        m = max(abs(lo), abs(hi)) or 1.0
        return (-m, m)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return (lo, hi)


#: cmocean colormaps offered in the picker (reversed variants end in "_r").
CMAP_NAMES = sorted([*cmocean.cm.cmapnames, CATEGORY_CMAP])
RANGE_MODES = ("auto", "fixed", "symmetric")
#: Variables drawn on a log scale by default (skewed, positive): words of the standard name.
LOG_BY_STANDARD_NAME = ("chlorophyll",)


def default_log_scale(da: xr.DataArray) -> bool:
    """True when ``da`` is drawn on a log colour scale by default (chlorophyll: positive and
    spread over decades), the rule of the app, every embed and the URL."""
    std = str(da.attrs.get("standard_name", "")).lower()
    return any(key in std for key in LOG_BY_STANDARD_NAME)
