"""The demo ocean's year-to-year and day-to-day variability of sea temperature.

Deterministic, like the rest of the demo: sums of sinusoids with fixed random wavenumbers,
phases and periods, evaluated per chunk from the day's number. Two parts:

- interannual: an El Niño-like warming and cooling of the tropical Pacific (periods of
  2.5 to 6 years, up to about ±1 °C there) and basin-scale patterns of a few tenths of a
  degree elsewhere;
- weather-like: synoptic patterns (1000-3000 km) whose amplitudes wax and wane over 4 to
  40 days, about 0.3 °C rms at the surface.

Both fade with depth below the mixed layer. Their sum has zero mean over the long run, so
the demo's climatology stays the analytic seasonal cycle.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(19930101)  # fixed seed: identical on every machine
#: Interannual modes: periods (days), phases, amplitudes (°C) of the tropical Pacific index.
_ENSO = [
    (float(p), float(f), float(a))
    for p, f, a in zip(
        _rng.uniform(2.5, 6.0, 3) * 365.25,
        _rng.uniform(0, 2 * np.pi, 3),
        (0.6, 0.4, 0.3),
        strict=True,
    )
]
#: Basin-scale modes: zonal and meridional wavenumbers, phase, period (days), amplitude (°C).
_BASIN = [
    (int(kx), int(ky), float(ph), float(p), 0.12)
    for kx, ky, ph, p in zip(
        _rng.integers(1, 4, 6),
        _rng.integers(1, 4, 6),
        _rng.uniform(0, 2 * np.pi, 6),
        _rng.uniform(1.5, 8.0, 6) * 365.25,
        strict=True,
    )
]
#: Weather modes: wavenumbers, spatial phase, temporal phase, period (days).
_WEATHER = [
    (int(kx), int(ky), float(ph), float(tp), float(p))
    for kx, ky, ph, tp, p in zip(
        _rng.integers(8, 24, 24),
        _rng.integers(6, 18, 24),
        _rng.uniform(0, 2 * np.pi, 24),
        _rng.uniform(0, 2 * np.pi, 24),
        _rng.uniform(4.0, 40.0, 24),
        strict=True,
    )
]
#: Surface rms of the weather-like part, °C.
WEATHER_RMS = 0.3


def _modes(lon_r: np.ndarray, lat_r: np.ndarray, amp: np.ndarray, kx, ky, phase) -> np.ndarray:
    """Sum over modes of amp * sin(ky lat + phase) * cos(kx lon) on the lat x lon grid."""
    sy = np.sin(np.outer(ky, lat_r) + np.asarray(phase)[:, None]) * amp[:, None]
    return sy.T @ np.cos(np.outer(kx, lon_r))


def variability(lon: np.ndarray, lat: np.ndarray, day_number: float) -> np.ndarray:
    """Surface temperature departure (°C) on the lat x lon grid on a day (days since 1970)."""
    lon_r, lat_r = np.deg2rad(lon), np.deg2rad(lat)
    t = float(day_number)
    enso = sum(a * np.sin(2 * np.pi * t / p + f) for p, f, a in _ENSO)
    # the tropical Pacific tongue: 150°E eastwards to 80°W, within about 15° of the equator
    east = np.mod(lon - 150.0, 360.0)
    tongue = np.exp(-((lat[:, None] / 12.0) ** 2)) * np.where(
        east < 130.0, np.sin(np.pi * east / 130.0), 0.0
    )
    out = enso * tongue
    kx = np.array([m[0] for m in _BASIN], dtype=float)
    ky = np.array([m[1] for m in _BASIN], dtype=float)
    basin_amp = np.array([m[4] * np.sin(2 * np.pi * t / m[3] + m[2]) for m in _BASIN])
    out = out + _modes(lon_r, lat_r, basin_amp, kx, ky, [m[2] for m in _BASIN])
    kx = np.array([m[0] for m in _WEATHER], dtype=float)
    ky = np.array([m[1] for m in _WEATHER], dtype=float)
    amp = np.array([np.sin(2 * np.pi * t / m[4] + m[3]) for m in _WEATHER])
    amp *= WEATHER_RMS * 2.0 / np.sqrt(len(_WEATHER))  # each mode's rms is amp/2 on average
    return out + _modes(lon_r, lat_r, amp, kx, ky, [m[2] for m in _WEATHER])
