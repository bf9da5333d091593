"""The "Add your data" control: a session's uploads become its datasets or observations.

Assembly over :class:`app.uploads.UploadReceiver`: the dropper (Panel's FileDropper, its
chunks handed over as they arrive), the notices, the session's catalog (a gridded upload is
added and shown) and the "Compare with model" view (observations are matched with the
dataset on show). A gridded upload can be compared with the dataset shown (its "Compare with
the dataset shown" button): the upload is the what-if run, that dataset the baseline.
"""

from __future__ import annotations

import panel as pn

from components.core.frames import FRAMES, FrameCache
from components.observations_view import ObservationsView
from components.state import ExplorerState
from components.text import escape
from data_adapters import SourceError
from data_adapters.catalogues import VS
from data_adapters.session_catalog import SessionCatalog

from .panel_fixes import streaming_file_dropper
from .uploads import DEFAULT_UPLOAD_MAX_MB, EXPIRY_CHECK_MS, Upload, UploadReceiver

#: What the control says it takes.
FORMATS = "NetCDF/HDF5, a zipped Zarr store, or CSV of points (time,lon,lat[,depth],values)"


class AddData:
    """The upload control of one session and what it does with each upload."""

    def __init__(
        self,
        state: ExplorerState,
        observations: ObservationsView,
        max_mb: float = DEFAULT_UPLOAD_MAX_MB,
        frames: FrameCache | None = None,
    ) -> None:
        if not isinstance(state.catalog, SessionCatalog):
            raise TypeError("uploads need the session's own catalog (SessionCatalog)")
        self.state, self.observations = state, observations
        self.receiver = UploadReceiver(max_mb, self._ready, self._refused)
        self.receiver.on_gone.append((frames if frames is not None else FRAMES).forget)
        self._notifications = pn.state.notifications
        self.status = pn.pane.HTML("", css_classes=["upload-status"], margin=(0, 10))
        self._slot = pn.Column(self._dropper(), sizing_mode="stretch_width", margin=0)
        #: The last gridded upload, and the dataset shown before it (what it is compared with
        #: while the upload itself is shown).
        self._gridded: Upload | None = None
        self._shown_before: str | None = None
        self.compare_button = pn.widgets.Button(
            name="Compare with the dataset shown",
            description="Your upload minus the dataset shown (regridded onto its grid when on "
            "another regular grid)",
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["upload-compare"],
        )
        self.compare_button.on_click(lambda _: self.compare())

    def _dropper(self) -> pn.widgets.FileDropper:
        # no browser-side size limit: the server's is the one that counts, and says so
        return streaming_file_dropper(
            self.receiver.receive, multiple=False, layout="compact", previews=[],
            sizing_mode="stretch_width", css_classes=["add-data"],
        )  # fmt: skip

    def _tell(self, kind: str, text: str) -> None:
        colour = "#a00" if kind == "error" else "#0b5d8c"
        self.status.object = f"<span style='font-size:12px;color:{colour}'>{escape(text)}</span>"
        if self._notifications is not None:
            getattr(self._notifications, kind)(escape(text), duration=10000)

    def _refused(self, reason: str) -> None:
        # a fresh dropper: the refused file leaves the list (its later chunks are dropped)
        self._slot[:] = [self._dropper()]
        self._tell("error", reason)

    def _ready(self, upload: Upload) -> None:
        self._slot[:] = [self._dropper()]
        if upload.observations is not None:
            self.observations.observations = upload.observations
            self._tell("info", f"{upload.summary}; compared with the model below")
            return
        self._gridded, self._shown_before = upload, self.state.dataset_id
        self.state.catalog.add(upload.opened, description=upload.summary)
        self.state.datasets_changed(upload.id)
        self.compare_button.visible = True
        self._tell("info", f"{upload.summary}; added for this session only")

    def compare_base(self) -> str | None:
        """The dataset the last gridded upload is compared with: the one shown, or while the
        upload (or a comparison) is shown, the one shown before the upload."""
        shown = self.state.dataset_id
        if shown is None or shown == self._gridded_id() or VS in shown:
            shown = self._shown_before
        return shown if shown in self.state.catalog and shown != self._gridded_id() else None

    def _gridded_id(self) -> str | None:
        return self._gridded.id if self._gridded is not None else None

    def compare(self) -> None:
        """Compare the last gridded upload (the what-if run) with :meth:`compare_base` (the
        baseline): the map shows the difference, and the status says what was compared."""
        upload, base = self._gridded, self.compare_base()
        if upload is None or upload.id not in self.state.catalog:
            return self._tell("error", "no gridded upload to compare; add a NetCDF or Zarr file")
        if base is None:
            return self._tell("error", "choose a dataset in the catalogue to compare with first")
        try:
            self.state.compare_with(upload.id, base)
        except SourceError as exc:
            return self._tell("error", str(exc))
        if self.state.dataset_id != f"{base}{VS}{upload.id}":
            return None  # refused: the state's message says why
        regridded = self.state.dataset.attrs.get("regridded_scenarios")
        how = f"regridded onto its grid: {regridded}" if regridded else "on the same grid"
        title = (
            self.state.catalog.datasets[base].title if base in self.state.catalog.datasets else base
        )
        self._tell("info", f"{upload.name} minus {title} ({how})")
        return None

    def expire(self) -> None:
        """Remove the uploads past their time to live (a periodic callback)."""
        for upload in self.receiver.expire():
            self._forget(upload)
            hours = self.receiver.ttl_s / 3600
            self._tell(
                "warning",
                f"{upload.name}: removed (uploads live at most {hours:g} h); upload it again",
            )

    def _forget(self, upload: Upload) -> None:
        if (
            upload.observations is not None
            and self.observations.observations is upload.observations
        ):
            self.observations.observations = None
        if self._gridded is upload:
            self._gridded, self.compare_button.visible = None, False
        if self.state.catalog.remove(upload.id) is not None:
            self.state.datasets_changed()

    def close(self) -> None:
        """The session ended: every upload's dataset closed and files removed."""
        self.receiver.close()

    def start(self) -> None:
        """In a served session: expire uploads on time and clean up when the session ends."""
        if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        pn.state.add_periodic_callback(self.expire, period=EXPIRY_CHECK_MS)
        pn.state.on_session_destroyed(lambda _context: self.close())

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.HTML(
                f"<div style='font-size:12px;color:#555'>{escape(FORMATS)}; up to "
                f"{self.receiver.max_mb:g} MB. Only this session sees it; it is removed when "
                "the page closes.</div>",
                margin=(0, 10),
            ),
            self._slot,
            self.compare_button,
            self.status,
            sizing_mode="stretch_width",
        )
