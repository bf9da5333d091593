"""The datasets a session adds to its catalog's: catalogue hits, uploads and comparisons.

A mixin of :class:`components.state.ExplorerState` (its ``catalog``, ``dataset_id``,
``_found`` and ``_compared`` are the state's).
"""

from __future__ import annotations

import pathlib

from data_adapters import OpenedSource, SourceError
from data_adapters.catalogues import VS, compare_sources, open_found, run_label


class SessionSources:
    """Opening a catalogue hit, comparing two datasets, and following uploads."""

    def open_found(self, source: str) -> None:
        """Show a catalogue hit (its SOURCE string, ``stac:...`` or ``cmems:...``) as a
        dataset of this session; its id is the SOURCE string, so a link keeps it.

        Raises
        ------
        SourceError
            When ``source`` is not under a catalogue the server is configured to search:
            refused before any request is made (a link must not make the server fetch an
            address of its choosing).
        """
        if not self.catalog.catalogues.allows(source):
            raise SourceError(
                "it is not a dataset of a catalogue this server searches (only those listed "
                "under 'catalogues' in its catalog file open from a link)"
            )
        if source not in self.param.dataset_id.objects:
            self._found.add(source)
            self.param.dataset_id.objects = [*self.param.dataset_id.objects, source]
        self.dataset_id = source

    def compare_with(self, source: str, base_id: str | None = None) -> None:
        """Compare a dataset with another as a what-if run against it; the map then shows
        the difference (``source`` minus the base).

        ``source`` is a catalogue hit (its SOURCE string), a dataset of the catalog or one
        this session added (an upload); the base is ``base_id`` (a dataset of the catalog or
        of this session), else the one shown, in its shown run. ``source`` is regridded onto
        the base's grid when it lies on another regular grid. The comparison's id,
        ``<base id> vs <source>``, keeps it in a link (an upload's only while its session
        lives).

        Raises
        ------
        SourceError
            As :meth:`open_found` for a source of another catalogue; when ``source`` or
            ``base_id`` is not a dataset of the catalog.
        """
        if source not in self.catalog and not self.catalog.catalogues.allows(source):
            self.open_found(source)  # raises, saying why
        base_id = base_id or self.dataset_id
        if base_id not in self.catalog:
            raise SourceError(f"'{base_id}' is not a dataset of the catalog to compare with")
        run = self.scenario if base_id == self.dataset_id else None
        cid = f"{base_id}{VS}{source}"
        if cid not in self.param.dataset_id.objects:
            self._compared[cid] = (base_id, run, source)
            self.param.dataset_id.objects = [*self.param.dataset_id.objects, cid]
        self.dataset_id = cid
        if self.dataset_id == cid and self.source is not None:
            runs = self.param.baseline.objects  # the base's run first, then the other
            self.param.update(baseline=runs[0], scenarios=runs[1:], mode="difference")

    def _open(self, source_id: str) -> OpenedSource:
        if source_id in self._found:
            return open_found(source_id)
        if source_id in self._compared:
            base_id, run, source = self._compared[source_id]
            base = self.catalog.open(base_id)
            other = self.catalog.open(source) if source in self.catalog else open_found(source)
            names = (self._run_name(base), self._run_name(other))
            return compare_sources(base, other, run, names)
        return self.catalog.open(source_id)

    def _run_name(self, opened: OpenedSource) -> str:
        """A dataset's name as a run of a comparison: an upload's file name without its
        extension (``my-run.nc`` would read as a web address in tables), else its id (a
        catalogue hit's short id)."""
        if opened.id in getattr(self.catalog, "added", {}):
            return pathlib.PurePosixPath(opened.title).stem or opened.id
        return run_label(opened.id)

    def datasets_changed(self, chosen: str | None = None) -> None:
        """The catalog gained or lost a dataset (an upload): offer its ids and show
        ``chosen`` (else keep the current one while it is still there)."""
        for cid, (base_id, _, source) in list(self._compared.items()):
            if base_id not in self.catalog or not (
                source in self.catalog
                or source in self._found
                or self.catalog.catalogues.allows(source)
            ):
                del self._compared[cid]  # an upload it compared is gone
        ids = [*self.catalog.datasets, *self.catalog.groups, *self._found, *self._compared]
        if chosen is None and self.dataset_id not in ids:
            chosen = ids[0] if ids else None
        self.param.dataset_id.objects = list(dict.fromkeys([*ids, self.dataset_id]))
        if chosen is not None:
            self.dataset_id = chosen
        self.param.dataset_id.objects = ids
