"""Fixtures for the reliability suite: isolated key prefixes on the session's Redis server."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from .support import RedisProcess

_prefixes = itertools.count()


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> str:
    """A state URL of its own for each test: same server, a fresh key prefix."""
    return f"{redis_server.url}?prefix=t{os.getpid()}-{next(_prefixes)}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path
