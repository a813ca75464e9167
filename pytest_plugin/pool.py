"""The session's mocks: started on first use, one per distinct set of server settings.

Almost every test shares one live server and one in-process app; a test whose marker needs a
server-level setting (``latency_ms``) gets a server started with it, shared with every other
test that asks for the same. Under pytest-xdist each worker is a session of its own, so each
worker has its own servers on its own free ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .handle import DubMock, DubMockApp
from .transport import HttpTransport, WsgiTransport

if TYPE_CHECKING:
    from mockserver import Settings

Key = tuple[tuple[str, Any], ...]


class MockPool:
    """Starts, caches and stops the session's ``MockServer``s and in-process apps."""

    def __init__(self, overrides: Mapping[str, Any] | Settings) -> None:
        from mockserver import Settings

        if isinstance(overrides, Settings):
            self.settings = overrides
        else:
            self.settings = Settings(quiet=True).with_overrides(**dict(overrides))
        self._servers: dict[Key, Any] = {}
        self._live: dict[Key, DubMock] = {}
        self._apps: dict[Key, DubMockApp] = {}

    @staticmethod
    def _key(overrides: Mapping[str, Any]) -> Key:
        return tuple(sorted(overrides.items()))

    def live(self, overrides: Mapping[str, Any]) -> DubMock:
        """The handle on the live server for these settings, started if need be."""
        key = self._key(overrides)
        handle = self._live.get(key)
        if handle is None:
            from mockserver import MockServer

            server = MockServer(self.settings.with_overrides(**dict(overrides))).start()
            self._servers[key] = server
            transport = HttpTransport(server.url, admin_token=server.settings.admin_token)
            handle = self._live[key] = DubMock(transport, server.url)
        return handle

    def app(self, overrides: Mapping[str, Any]) -> DubMockApp:
        """The handle on the in-process app for these settings, created if need be."""
        key = self._key(overrides)
        handle = self._apps.get(key)
        if handle is None:
            from mockserver import create_app

            app = create_app(self.settings.with_overrides(**dict(overrides)))
            transport = WsgiTransport(app, admin_token=app.settings.admin_token)
            handle = self._apps[key] = DubMockApp(transport, app)
        return handle

    def close(self) -> None:
        for handle in self._live.values():
            handle.transport.close()
        for server in self._servers.values():
            server.stop()
        for app_handle in self._apps.values():
            app_handle.app.close()  # stops its webhook deliverer, then releases the store
        self._servers.clear()
        self._live.clear()
        self._apps.clear()
