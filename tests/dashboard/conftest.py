"""Fixtures for the dashboard's tests: one headless Chromium per module, a mock per module
(`MockServer` in this process, or `dub-mock serve` as a user runs it), and pages that check, as
they close, that nothing was requested outside the mock's origin and nothing was logged as an
error in the browser's console."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from reliability.support import Served, unavailable

from mockserver import MockServer

from .support import CHROMIUM_ARGS, admin, browser_problem, chromium_path

SEED: dict[str, Any] = {
    "customers": [{"externalId": "user_42", "name": "Ada Lovelace", "email": "ada@example.com"}],
    "fxRates": {"EUR": 0.92, "JPY": 155},
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = browser_problem()
    if problem is not None:
        unavailable(f"the dashboard's browser tests: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def mock_server() -> Iterator[MockServer]:
    with MockServer(seed_data=SEED, rate_limit=False) as server:
        yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`dub-mock serve`: the RSGI front whose stream runs on the event loop."""
    workdir = tmp_path_factory.mktemp("serve")
    seed = workdir / "seed.json"
    seed.write_text(json.dumps(SEED))
    server = Served(["--seed", str(seed), "--no-rate-limit", "--quiet"], workdir).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Watched:
    """A page and what it did: every URL it requested, every console error."""

    page: Any
    origin: str
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allow_errors: bool = False

    def off_origin(self) -> list[str]:
        return [url for url in self.requested if _origin(url) != self.origin]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _keep_error(watched: Watched, message: Any) -> None:
    if message.type == "error":
        watched.errors.append(message.text)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Watched]]:
    """open_page(url, path) → a fresh context (empty sessionStorage) on `url + path`, watched."""
    opened: list[tuple[Any, Watched]] = []

    def open_(
        url: str,
        path: str = "/",
        *,
        allow_errors: bool = False,
        prepare: Callable[[Any], None] | None = None,
    ) -> Watched:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        watched = Watched(page, _origin(url), allow_errors=allow_errors)
        context.on("request", lambda request: watched.requested.append(request.url))
        page.on("console", lambda message: _keep_error(watched, message))
        page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
        opened.append((context, watched))
        if prepare is not None:
            prepare(page)  # e.g. routes to hold a response, before anything loads
        page.goto(url + path)
        return watched

    yield open_
    for context, _ in opened:
        context.close()
    for _, watched in opened:
        assert not watched.off_origin(), f"requests left the mock's origin: {watched.off_origin()}"
        if not watched.allow_errors:
            assert not watched.errors, f"console errors: {watched.errors}"


@pytest.fixture
def fresh(mock_server: MockServer) -> MockServer:
    """The module's MockServer, reset to its seed."""
    admin(mock_server.url, "POST", "/__mock/reset")
    return mock_server


@pytest.fixture
def fresh_served(served: Served) -> Served:
    admin(served.url, "POST", "/__mock/reset")
    return served
