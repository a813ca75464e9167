"""Fixtures for the behaviour suite: served mocks per store, in-process apps on a pinned clock.

Every rule of the behaviour contract is checked over real HTTP on a free port: against a
`MockServer` once per state store (`memory://`, a SQLite file, a key prefix on the session's
real Redis server), and against `dub-mock serve` with `memory://` state; one server per module,
store, server and set of settings (reset over HTTP before each test). The fine cases that need
a pinned clock or a seeded random source drive `create_app(...)` in process through
`werkzeug.test.Client`.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.support import RedisProcess
from reliability.support import Served as ServeProcess

from mockserver import MockServer, create_app

from .support import SERVINGS, HttpApi, PinnedClock, Served, WsgiApi, serve_flags, state_url

_dirs = itertools.count()


@pytest.fixture(scope="module", params=SERVINGS)
def serving(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(store, server): each store on `MockServer`, and memory on `dub-mock serve` too."""
    store, front = request.param.partition("-")[::2]
    return store, front or "waitress"


@pytest.fixture(scope="module")
def store(serving: tuple[str, str]) -> str:
    return serving[0]


def fresh_state(request: pytest.FixtureRequest, store: str, directory: Path) -> str:
    """A state URL nothing else uses: memory, a SQLite file, or a Redis key prefix."""
    if store == "redis":
        redis_server: RedisProcess = request.getfixturevalue("redis_server")
        return f"{redis_server.url}?prefix=b{os.getpid()}-{next(_dirs)}"
    return state_url(store, directory)


@pytest.fixture(scope="module")
def servers(
    serving: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Served]]:
    """Served mocks for this module and store, one per distinct set of settings."""
    store, front = serving
    started: dict[str, Served] = {}

    def get(**overrides: Any) -> Served:
        key = repr(sorted(overrides.items()))
        if key not in started:
            workdir = tmp_path_factory.mktemp(f"{store}-db")
            state = fresh_state(request, store, workdir)
            if front == "serve":
                flags = ["--state", state, "--quiet", *serve_flags(overrides, workdir)]
                started[key] = ServeProcess(flags, workdir).start()
            else:
                started[key] = MockServer(state=state, quiet=True, **overrides).start()
        return started[key]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture
def make_api(servers: Callable[..., Served]) -> Callable[..., HttpApi]:
    """`make_api(**settings)`: a client of a served mock with those settings, freshly reset."""

    def make(**overrides: Any) -> HttpApi:
        api = HttpApi(servers(**overrides))
        api.admin_token = overrides.get("admin_token")
        api.reset()
        return api

    return make


@pytest.fixture
def api(make_api: Callable[..., HttpApi]) -> HttpApi:
    """A client of this module's default served mock, freshly reset."""
    return make_api()


@pytest.fixture
def clock() -> PinnedClock:
    return PinnedClock()


@pytest.fixture
def make_wsgi(
    tmp_path: Path, clock: PinnedClock, request: pytest.FixtureRequest
) -> Iterator[Callable[..., WsgiApi]]:
    """`make_wsgi(store="memory", **settings)`: an in-process app on the pinned clock."""

    made: list[Any] = []

    def make(store: str = "memory", **overrides: Any) -> WsgiApi:
        overrides.setdefault("rng", random.Random(1))
        overrides.setdefault("quiet", True)
        overrides.setdefault("clock", clock)
        directory = tmp_path / f"{store}-{next(_dirs)}"
        directory.mkdir()
        app = create_app(state=fresh_state(request, store, directory), **overrides)
        made.append(app)
        return WsgiApi(app)

    yield make
    for app in made:
        app.store.close()


@pytest.fixture
def wsgi(make_wsgi: Callable[..., WsgiApi]) -> WsgiApi:
    return make_wsgi()
