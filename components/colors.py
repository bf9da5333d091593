"""The colour settings view (colormap, range, log scale) over :mod:`components.core.colours`."""

from __future__ import annotations

import numpy as np
import panel as pn
import param
import xarray as xr

from .core.colours import (
    CMAP_NAMES,
    DEFAULT_CMAP,
    RANGE_MODES,
    default_cmap,
    default_log_scale,
    fixed_range,
    is_diverging,
    palette,
    robust_range,
    rounded_range,
)
from .number_box import number_box


class ColorSettings(pn.viewable.Viewer):
    """How values become colours: colormap, range mode and limits, log scale."""

    cmap = param.Selector(default=DEFAULT_CMAP, objects=CMAP_NAMES, doc="cmocean colormap.")
    mode = param.Selector(
        default="auto",
        objects=list(RANGE_MODES),
        doc="auto: robust percentiles of what is in view; fixed: vmin..vmax (kept while "
        "animating); symmetric: ±max about zero.",
    )
    vmin = param.Number(default=None, allow_None=True, doc="Lower limit in fixed mode.")
    vmax = param.Number(default=None, allow_None=True, doc="Upper limit in fixed mode.")
    log_scale = param.Boolean(default=False, doc="Logarithmic colour scale (positive values).")

    def follow(self, da: xr.DataArray | None) -> None:
        """Reset to the defaults for a newly chosen variable."""
        if da is None:
            return
        log = default_log_scale(da)
        self.param.update(cmap=default_cmap(da), mode="auto", vmin=None, vmax=None, log_scale=log)
        fixed = fixed_range(da)  # categories: one colour each, whatever is in view
        if fixed is not None:
            self.param.update(mode="fixed", vmin=fixed[0], vmax=fixed[1])

    def _below_max(self, value: float) -> None:
        if self.vmax is not None and value >= self.vmax:
            raise ValueError(
                f"is not below max ({self.vmax:g}): type a smaller min, or raise max first"
            )

    def _above_min(self, value: float) -> None:
        if self.vmin is not None and value <= self.vmin:
            raise ValueError(
                f"is not above min ({self.vmin:g}): type a larger max, or lower min first"
            )

    def palette(self) -> list[str]:
        """The colormap as hex colours."""
        return palette(self.cmap)

    def limits(self, values: np.ndarray) -> tuple[float, float]:
        """The colour range for these values under the current mode."""
        values = np.asarray(values)
        if self.log_scale:
            values = values[np.isfinite(values) & (values > 0)]
        if self.mode == "fixed" and self.vmin is not None and self.vmax is not None:
            lo, hi = float(self.vmin), float(self.vmax)
        else:
            symmetric = self.mode == "symmetric" or (
                self.mode == "auto" and is_diverging(self.cmap)
            )
            lo, hi = robust_range(values, symmetric=symmetric and not self.log_scale)
            if self.mode == "fixed":  # fixing starts from what is shown now, rounded to read
                lo, hi = rounded_range(lo, hi)
                self.param.update(vmin=lo, vmax=hi)
        if self.log_scale and lo <= 0:
            lo = hi / 1000 if hi > 0 else 1e-3
        return (lo, hi)

    def __panel__(self) -> pn.viewable.Viewable:
        fixed = pn.Row(
            number_box(self, "vmin", label="min", width=110, check=self._below_max),
            number_box(self, "vmax", label="max", width=110, check=self._above_min),
            visible=self.param.mode.rx() == "fixed",
        )
        return pn.Column(
            pn.widgets.Select.from_param(self.param.cmap, label="Colormap"),
            pn.widgets.RadioButtonGroup.from_param(
                self.param.mode, label="Range", color="primary", variant="outline"
            ),
            fixed,
            pn.widgets.Checkbox.from_param(self.param.log_scale, label="Log scale"),
        )
