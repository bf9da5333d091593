"""The dataset catalog: a YAML file of datasets and scenario groups, validated on load.

Format (see README "Catalog format")::

    datasets:
      - id: demo                     # unique, [a-z0-9_.-]
        title: Demo digital ocean
        adapter: demo                # adapter type name (or package.module.Class)
        description: ...             # optional
        attribution: ...             # optional, shown under every view
        license: CC0-1.0             # optional
        resolution: 0.25             # every other key is a parameter of the adapter
    scenario_groups:
      - id: shelf-windfarm
        title: Wind farm what-if
        baseline: shelf-baseline     # a dataset id ...
        scenarios:                   # ... and what-if runs: name -> dataset id (see align_runs)
          windfarm: shelf-windfarm-run
      - id: demo-warming
        dataset: demo                # or: labels of one dataset's 'scenario' dimension
        baseline: baseline
        scenarios: [warming_1p5, warming_3]
    catalogues:                      # what "Find data" searches (data_adapters.catalogues);
      stac: [https://api.dive.edito.eu/data/]   # default: EDITO's data lake ...
      cmems: true                    # ... and Copernicus Marine

Opening a group gives the same shape as a dataset with a ``scenario`` dimension.
"""

from __future__ import annotations

import functools
import logging
import os
import pathlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import xarray as xr
import yaml

from .base import Adapter
from .catalogues import DEFAULT as DEFAULT_CATALOGUES
from .catalogues import CatalogueSettings
from .errors import SourceError, check_known_keys, did_you_mean
from .opened import (
    OpenedSource,
    join_scenarios,
    joined_series,
    series_of_runs,
    with_scenario_dim,
)
from .pyramid import MapPyramid
from .registry import adapter_class, adapter_for_uri, make_adapter
from .transport import is_url

log = logging.getLogger(__name__)

#: The catalog used when none is given: the demo ocean, no network needed.
DEFAULT_CATALOG = pathlib.Path(__file__).resolve().parents[1] / "assets" / "catalog.yaml"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DATASET_KEYS = ("id", "title", "adapter", "description", "attribution", "license")
GROUP_KEYS = ("id", "title", "description", "dataset", "baseline", "scenarios")
TOP_KEYS = ("datasets", "scenario_groups", "catalogues")
#: Adapter parameters that name files, resolved relative to the catalog's directory.
PATH_PARAMS = ("path",)


@dataclass
class DatasetEntry:
    """One catalog dataset: descriptive fields and the adapter that opens it."""

    id: str
    title: str
    adapter: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    attribution: str = ""
    license: str = ""
    line: int | None = None
    #: Where the entry was read, for messages (``catalog PATH``); empty when added by hand.
    origin: str = ""

    def make_adapter(self) -> Adapter:
        """The configured adapter (an unknown type or key is refused by name)."""
        where = (f"{self.origin}: " if self.origin else "") + f"dataset '{self.id}'"
        where += (f" (line {self.line})" if self.line else "") + ": "
        try:
            adapter_class(self.adapter)
        except SourceError as exc:
            raise SourceError(f"{where}key 'adapter': {exc}") from exc
        return make_adapter(self.adapter, self.params, where=where)


@dataclass
class ScenarioGroup:
    """A baseline and what-if runs on one grid, from one dataset or from several."""

    id: str
    title: str
    baseline: str
    scenarios: dict[str, str] | list[str]
    dataset: str | None = None
    description: str = ""
    line: int | None = None

    @property
    def names(self) -> list[str]:
        """Scenario names, baseline first."""
        rest = list(self.scenarios) if isinstance(self.scenarios, dict) else self.scenarios
        return [self.baseline if self.dataset else "baseline", *rest]


def _node_lines(text: str) -> dict[tuple[str, int], int]:
    """Line numbers (1-based) of each item of the top-level sequences, for messages."""
    lines: dict[tuple[str, int], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[(key.value, i)] = item.start_mark.line + 1
    return lines


class Catalog:
    """Datasets and scenario groups from a YAML catalog file."""

    def __init__(
        self,
        datasets: dict[str, DatasetEntry],
        groups: dict[str, ScenarioGroup] | None = None,
        path: pathlib.Path | None = None,
        catalogues: CatalogueSettings = DEFAULT_CATALOGUES,
    ) -> None:
        self.datasets = datasets
        self.groups = groups or {}
        self.path = path
        #: The catalogues "Find data" searches, and the only ones links may open from.
        self.catalogues = catalogues
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Catalog:
        """Load and validate a catalog file (the built-in default when ``path`` is None).

        Raises
        ------
        SourceError
            Naming the file, the dataset (and its line) and the offending key.
        """
        path = pathlib.Path(path) if path else DEFAULT_CATALOG
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"catalog {path}: cannot be read ({exc.strerror})") from exc
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise SourceError(f"catalog {path}: not valid YAML{where}") from exc
        return cls.from_dict(doc, path=path, lines=_node_lines(text))

    @classmethod
    def from_dict(
        cls,
        doc: dict[str, Any],
        path: pathlib.Path | None = None,
        lines: dict[tuple[str, int], int] | None = None,
    ) -> Catalog:
        """Build a catalog from its parsed YAML document, validating every entry."""
        lines = lines or {}
        name = f"catalog {path}" if path else "catalog"
        if not isinstance(doc, dict):
            raise SourceError(f"{name}: expected a mapping with 'datasets'")
        for key in doc:
            if key not in TOP_KEYS:
                raise SourceError(
                    f"{name}: unknown top-level key '{key}'{did_you_mean(key, TOP_KEYS)}"
                )
        # absolute, so that a later change of working directory (a server) keeps paths valid
        base_dir = path.absolute().parent if path else pathlib.Path.cwd()
        catalogues = CatalogueSettings.parse(doc.get("catalogues"), name)
        for section in ("datasets", "scenario_groups"):
            if doc.get(section) is not None and not isinstance(doc[section], list):
                raise SourceError(
                    f"{name}: '{section}' must be a list, each item starting with '- id:'"
                )
        datasets: dict[str, DatasetEntry] = {}
        for i, item in enumerate(doc.get("datasets") or []):
            line = lines.get(("datasets", i))
            entry = _parse_dataset(item, i, line, name, base_dir)
            if entry.id in datasets:
                raise SourceError(
                    f"{name}: duplicate dataset id '{entry.id}'"
                    f"{_both_lines(line, datasets[entry.id].line)}; ids must be unique"
                )
            entry.make_adapter()  # validates the adapter type and its keys now, not at open
            datasets[entry.id] = entry
        groups: dict[str, ScenarioGroup] = {}
        for i, item in enumerate(doc.get("scenario_groups") or []):
            line = lines.get(("scenario_groups", i))
            group = _parse_group(item, i, line, name, datasets)
            first_use = groups.get(group.id) or datasets.get(group.id)
            if first_use is not None:
                raise SourceError(
                    f"{name}: scenario group id '{group.id}' is already used"
                    f"{_both_lines(line, first_use.line)}; ids must be unique"
                )
            groups[group.id] = group
        return cls(datasets, groups, path, catalogues)

    # -- lookups ----------------------------------------------------------------------------
    def __contains__(self, source_id: object) -> bool:
        return source_id in self.datasets or source_id in self.groups

    def add_source(self, uri: str) -> DatasetEntry:
        """Add a bare path or URL to this catalog (``serve SOURCE``); returns its entry."""
        adapter = adapter_for_uri(uri)
        entry_id = _id_from_uri(uri, taken=set(self.datasets) | set(self.groups))
        params = {k: v for k, v in adapter.param.values().items() if k != "name"}
        params = {k: v for k, v in params.items() if v != adapter.param[k].default}
        # no title yet: the data's own ``title`` attribute, or the id, once opened (never the
        # path, which would show the server's directories to visitors)
        entry = DatasetEntry(entry_id, title="", adapter=adapter.adapter_type or "", params=params)
        self.datasets[entry_id] = entry
        return entry

    def open(self, source_id: str) -> OpenedSource:
        """Open a dataset or scenario group by id (cached: opening twice costs nothing)."""
        with self._lock:
            return self._open_cached(source_id)

    @functools.lru_cache(maxsize=32)  # noqa: B019  (one catalog per process; bounded)
    def _open_cached(self, source_id: str) -> OpenedSource:
        if source_id in self.datasets:
            entry = self.datasets[source_id]
            opened = OpenedSource.from_adapter(
                entry.make_adapter(),
                entry.id,
                entry.title or None,  # a SOURCE added by path: the data's title, or its id
                description=entry.description,
                attribution=entry.attribution,
                license=entry.license,
            )
            entry.title = opened.title
            return opened
        if source_id in self.groups:
            return self._open_group(self.groups[source_id])
        known = [*self.datasets, *self.groups]
        raise SourceError(
            f"unknown dataset id '{source_id}'{did_you_mean(source_id, known)}; "
            f"known: {', '.join(known) or 'none'}"
        )

    def _open_group(self, group: ScenarioGroup) -> OpenedSource:
        if group.dataset:
            opened = self._open_cached(group.dataset)
            ds = opened.dataset
            names = group.names
            have = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else []
            for n in names:
                if n not in have:
                    raise SourceError(
                        f"scenario group '{group.id}': dataset '{group.dataset}' has no scenario "
                        f"'{n}'{did_you_mean(n, have)}; it has: {', '.join(have) or 'none'}"
                    )
            if names != have:
                ds = self._select_scenarios(group.dataset, ds, names)
            ds = with_scenario_dim(ds)
            return OpenedSource(
                group.id,
                group.title,
                ds,
                group.description,
                opened.attribution,
                series_opener=functools.partial(series_of_runs, opened, names, group.id),
                # the levels are of the dataset's maps: a selection of runs has none
                pyramid=opened.pyramid if ds is opened.dataset else MapPyramid(),
                missing_chunks=opened.missing_chunks,  # its runs are read from that store
            )
        assert isinstance(group.scenarios, dict)
        members = {"baseline": group.baseline, **group.scenarios}
        opened = {name: self._open_cached(ds_id) for name, ds_id in members.items()}
        ds = join_scenarios({n: o.dataset for n, o in opened.items()}, label=group.id)
        base = opened["baseline"]
        return OpenedSource(
            group.id,
            group.title,
            ds,
            group.description,
            base.attribution,
            series_opener=functools.partial(joined_series, opened, group.id),
            # the stacked runs keep the baseline's record, as they did its encoding
            missing_chunks=base.missing_chunks,
        )

    def _select_scenarios(self, dataset_id: str, ds: xr.Dataset, names: list[str]) -> xr.Dataset:
        """``ds`` with only the runs ``names``, in that order.

        An adapter with a ``scenarios`` parameter (the demo ocean) is asked to compute only
        those runs: picking them from its full dataset costs about a second per variable of
        dask graph work on a year of daily 1/4° tiles.
        """
        entry = self.datasets[dataset_id]
        adapter = entry.make_adapter()
        if "scenarios" in adapter.param and "scenarios" not in entry.params:
            try:
                adapter.scenarios = list(names)
            except (ValueError, TypeError):
                pass  # not a list of labels after all: select below
            else:
                subset = adapter.open()
                if [str(s) for s in subset["scenario"].values] == names:
                    return subset
        return ds.sel(scenario=names)


def _both_lines(line: int | None, first: int | None) -> str:
    """`` (line 9, first at line 3)`` for messages about a repeated id; as much as is known."""
    parts = [f"line {line}"] if line else []
    parts += [f"first at line {first}"] if first else []
    return f" ({', '.join(parts)})" if parts else ""


def _check_keys(item: Any, allowed: tuple[str, ...], where: str, extra_ok: bool) -> dict:
    if not isinstance(item, dict):
        raise SourceError(f"{where}: expected a mapping of keys, got {type(item).__name__}")
    if not extra_ok:
        check_known_keys(item, allowed, where)
    return item


def _where(name: str, kind: str, item: Any, i: int, line: int | None) -> str:
    ident = item.get("id") if isinstance(item, dict) else None
    label = f"{kind} '{ident}'" if ident else f"{kind} #{i + 1}"
    return f"{name}: {label}" + (f" (line {line})" if line else "")


def _parse_dataset(
    item: Any, i: int, line: int | None, name: str, base_dir: pathlib.Path
) -> DatasetEntry:
    where = _where(name, "dataset", item, i, line)
    item = dict(_check_keys(item, DATASET_KEYS, where, extra_ok=True))
    for key in ("id", "adapter"):
        if not item.get(key):
            raise SourceError(f"{where}: missing required key '{key}'")
    entry_id = str(item.pop("id"))
    if not _ID.match(entry_id):
        raise SourceError(f"{where}: id '{entry_id}' may use only letters, digits, '_', '.', '-'")
    adapter = str(item.pop("adapter"))
    described = {k: str(item.pop(k, "") or "") for k in ("title", "description", "attribution")}
    licence = str(item.pop("license", "") or "")
    params = item
    for key in PATH_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and not is_url(value) and not os.path.isabs(value):
            params[key] = str(base_dir / os.path.expanduser(value))
    return DatasetEntry(
        entry_id,
        described["title"] or entry_id,
        adapter,
        params,
        described["description"],
        described["attribution"],
        licence,
        line,
        origin=name,
    )


def _parse_group(
    item: Any, i: int, line: int | None, name: str, datasets: dict[str, DatasetEntry]
) -> ScenarioGroup:
    where = _where(name, "scenario group", item, i, line)
    item = _check_keys(item, GROUP_KEYS, where, extra_ok=False)
    for key in ("id", "baseline", "scenarios"):
        if not item.get(key):
            raise SourceError(f"{where}: missing required key '{key}'")
    scenarios = item["scenarios"]
    dataset = item.get("dataset")
    refs: list[tuple[str, Any]] = []  # (key, dataset id) pairs to check
    if dataset:
        if not isinstance(scenarios, list):
            raise SourceError(f"{where}: with 'dataset', 'scenarios' is a list of scenario names")
        refs = [("dataset", dataset)]
        names = [str(item["baseline"]), *map(str, scenarios)]
    else:
        if not isinstance(scenarios, dict):
            raise SourceError(f"{where}: 'scenarios' maps each scenario name to a dataset id")
        refs = [("baseline", item["baseline"])]
        refs += [(f"scenarios: {k}", v) for k, v in scenarios.items()]
        names = ["baseline", *map(str, scenarios)]
    for key, ref in refs:
        if str(ref) not in datasets:
            raise SourceError(
                f"{where}: key '{key}': unknown dataset id '{ref}'"
                f"{did_you_mean(str(ref), datasets)}; known: {', '.join(datasets) or 'none'}"
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(
            f"{where}: key 'scenarios': scenario name '{repeated[0]}' is given twice "
            "(the baseline is always named first); give each run its own name"
        )
    return ScenarioGroup(
        id=str(item["id"]),
        title=str(item.get("title") or item["id"]),
        baseline=str(item["baseline"]),
        scenarios={str(k): str(v) for k, v in scenarios.items()}
        if isinstance(scenarios, dict)
        else [str(s) for s in scenarios],
        dataset=str(dataset) if dataset else None,
        description=str(item.get("description") or ""),
        line=line,
    )


def _id_from_uri(uri: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", uri.rstrip("/").rsplit("/", 1)[-1]).strip("-.")
    stem = stem or "source"
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def open_source(source: str, catalog: Catalog | None = None) -> OpenedSource:
    """Open a catalog id, or any path/URL the adapters recognise.

    Parameters
    ----------
    source
        A dataset or scenario-group id of ``catalog``; else a file, glob, directory, Zarr
        store, http(s) OPeNDAP/Zarr URL or ``cmems:DATASET_ID``.
    catalog
        The catalog to look ids up in (default: the built-in catalog).
    """
    catalog = catalog if catalog is not None else Catalog.load()
    if source in catalog:
        return catalog.open(source)
    return OpenedSource.from_adapter(adapter_for_uri(source), source)
