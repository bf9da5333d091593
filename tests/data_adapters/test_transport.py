"""The HTTP transport's settings (``data_adapters.transport``): read when used, not at import."""

from __future__ import annotations

import pytest

from data_adapters.cmems import CopernicusMarineAdapter
from data_adapters.opendap import OpendapAdapter
from data_adapters.transport import default_timeout, timeout_or_default
from data_adapters.zarr_store import ZarrAdapter


def test_the_default_timeout_follows_the_environment_when_asked(monkeypatch):
    monkeypatch.delenv("OCEAN_EXPLORER_TIMEOUT", raising=False)
    assert default_timeout() == 20.0
    monkeypatch.setenv("OCEAN_EXPLORER_TIMEOUT", "7.5")
    assert default_timeout() == 7.5  # set after import, and obeyed
    assert timeout_or_default(None) == 7.5
    assert timeout_or_default(3) == 3.0


@pytest.mark.parametrize("adapter", [ZarrAdapter, OpendapAdapter, CopernicusMarineAdapter])
def test_an_adapter_left_at_its_default_timeout_reads_it_when_opened(adapter):
    # None in the catalog's parameters: the environment decides when the source opens
    assert adapter.param["timeout"].default is None
