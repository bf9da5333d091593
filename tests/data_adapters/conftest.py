"""Fixtures for the data adapter tests; the real servers live in ``tests/servers.py``."""

from tests.servers import opendap_server

__all__ = ["opendap_server"]
