"""The "Add your data" control: a session's uploads become its datasets or observations.

Assembly over :class:`app.uploads.UploadReceiver`: the dropper (Panel's FileDropper, its
chunks handed over as they arrive), the notices, the session's catalog (a gridded upload is
added and shown) and the "Compare with model" view (observations are matched with the
dataset on show).
"""

from __future__ import annotations

import panel as pn

from components.core.frames import FRAMES, FrameCache
from components.observations_view import ObservationsView
from components.state import ExplorerState
from components.text import escape
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
        self.state.catalog.add(upload.opened, description=upload.summary)
        self.state.datasets_changed(upload.id)
        self._tell("info", f"{upload.summary}; added for this session only")

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
            self.status,
            sizing_mode="stretch_width",
        )
