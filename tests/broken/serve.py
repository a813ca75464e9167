"""Serve a WSGI app (a broken variant) for real on a free 127.0.0.1 port, as MockServer does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mockserver import MockServer


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Yield the base URL of `app` (which carries the mock's `settings`); stop on exit."""
    with MockServer(app.settings, wsgi=lambda _fresh_mock: app) as server:
        yield server.url
