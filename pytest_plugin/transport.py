"""Two ways to reach a mock's admin API: over HTTP, or straight through its WSGI app.

Both answer ``call(method, path, body) -> (status, json)``, so the helpers in ``handle.py`` are
written once and behave the same for ``dub_mock`` (a live server) and ``dub_mock_app`` (no socket).
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

Answer = tuple[int, Any]


class Transport(Protocol):
    """Sends one admin call and returns its status and decoded JSON body."""

    def call(self, method: str, path: str, body: Any = None) -> Answer: ...

    def close(self) -> None: ...


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _headers(admin_token: str | None, has_body: bool) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if has_body:
        headers["Content-Type"] = "application/json"
    if admin_token:
        headers["Authorization"] = f"Bearer {admin_token}"
    return headers


class HttpTransport:
    """A keep-alive HTTP/1.1 connection to a live mock; reconnects once if the server closed it.

    One persistent connection keeps a reset plus a helper call well under a millisecond each on
    loopback; a lock makes it safe for tests that call helpers from several threads.
    """

    def __init__(self, base_url: str, admin_token: str | None = None, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._prefix = parts.path.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._timeout = timeout
        self._admin_token = admin_token
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self._timeout)

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        payload = None if body is None else json.dumps(body).encode()
        headers = _headers(self._admin_token, payload is not None)
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    self._conn.request(method, self._prefix + path, body=payload, headers=headers)
                    response = self._conn.getresponse()
                    raw = response.read()
                except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                    # The server dropped an idle keep-alive connection: retry once on a fresh one.
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
                    continue
                if response.will_close:
                    self._conn.close()
                    self._conn = None
                return response.status, _decode(raw)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class WsgiTransport:
    """Calls the WSGI app in this thread through ``werkzeug.test.Client``: no socket at all."""

    def __init__(self, app: WSGIApplication, admin_token: str | None = None) -> None:
        from werkzeug.test import Client

        self.client = Client(app)
        self._admin_token = admin_token

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        payload = None if body is None else json.dumps(body).encode()
        response = self.client.open(
            path,
            method=method,
            data=payload,
            headers=_headers(self._admin_token, payload is not None),
        )
        try:
            return response.status_code, _decode(response.get_data())
        finally:
            response.close()

    def close(self) -> None:
        """Nothing to release."""
