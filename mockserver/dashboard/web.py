"""The dashboard's WSGI side: the page's static files, `/` for browsers, and the event stream
for WSGI servers (`MockServer`'s waitress, or any other).

The page is three static files shipped in the package (`static/`), read once and served from
memory with an ETag. Pages and assets load without the admin token (a browser cannot send a
header when it navigates); the page sends it on every data call.

Under a WSGI server a stream holds one of the server's threads for as long as it is open, so
there it is bounded: at most `THREAD_STREAMS` at once per app (a further one answers 503 and the
page polls instead), each ending after `THREAD_STREAM_LIFETIME_S` (the browser reconnects by
itself within a second and the page re-reads what it shows), with a heartbeat every
`THREAD_HEARTBEAT_S` that notices a vanished client. A server that runs the app on one thread
(`wsgi.multithread` false) gets no stream at all: the page polls. `dub-mock serve` streams from
its RSGI front instead (`rsgi_events.py`), where a subscriber holds no thread.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import orjson

from ..errors import code_for_status, envelope
from ..feed import Feed
from ..settings import Settings
from .stream import (
    EVENTS_PATH,
    FLUSH_INTERVAL_S,
    STREAM_HEADERS,
    ThreadSubscriber,
    opening_frame,
    refusal,
    unavailable,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

UI_PATH = "/__mock/ui"
THREAD_STREAMS = 3
THREAD_STREAM_LIFETIME_S = 60.0
THREAD_HEARTBEAT_S = 1.0

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page talks to its own origin only: no CDN, no font, no image or call elsewhere.
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
]
STATUS_LINES = {
    200: "200 OK",
    302: "302 Found",
    304: "304 Not Modified",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    503: "503 Service Unavailable",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets(admin_token_required: bool) -> dict[str, Asset]:
    """The files of `static/`, by URL path; index.html learns whether to ask for a token."""
    assets: dict[str, Asset] = {}
    folder = resources.files(__package__).joinpath("static")
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if not entry.is_file() or suffix not in CONTENT_TYPES:
            continue
        body = entry.read_bytes()
        if entry.name == "index.html":
            marker = b"required" if admin_token_required else b"none"
            body = body.replace(b"{{adminToken}}", marker)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        assets[f"{UI_PATH}/{entry.name}"] = Asset(body, CONTENT_TYPES[suffix], etag)
    index = assets[f"{UI_PATH}/index.html"]
    assets[UI_PATH] = assets[f"{UI_PATH}/"] = index
    return assets


class Dashboard:
    """Answers `/__mock/ui...`, `/__mock/events` and a browser's `GET /`; nothing else."""

    def __init__(self, settings: Settings, feed: Feed) -> None:
        self.admin_token = settings.admin_token
        self.feed = feed
        self._assets: dict[str, Asset] | None = None
        self._streams = threading.BoundedSemaphore(THREAD_STREAMS)

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/" or path == EVENTS_PATH or path.startswith(UI_PATH)

    @property
    def assets(self) -> dict[str, Asset]:
        if self._assets is None:
            self._assets = load_assets(bool(self.admin_token))
        return self._assets

    def respond(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """The answer for a dashboard path, or None to let the API answer (API clients at `/`)."""
        path = environ.get("PATH_INFO") or "/"
        method = environ["REQUEST_METHOD"]
        if path == "/":
            if method != "GET" or "text/html" not in environ.get("HTTP_ACCEPT", ""):
                return None  # an API client: Dub's 404, from the API
            start_response(STATUS_LINES[302], [("Location", UI_PATH), ("Content-Length", "0")])
            return [b""]
        if path == EVENTS_PATH:
            return self._events(environ, start_response)
        return self._asset(path, method, environ, start_response)

    def _asset(
        self, path: str, method: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        asset = self.assets.get(path)
        if asset is None:
            return _answer(start_response, *_json_error(404, f"No dashboard file at {path}"))
        if method != "GET":
            status, headers, body = _json_error(405, f"Method {method} is not allowed here.")
            return _answer(start_response, status, [*headers, ("Allow", "GET")], body)
        headers = [*SECURITY_HEADERS, ("ETag", asset.etag)]
        if environ.get("HTTP_IF_NONE_MATCH") == asset.etag:
            return _answer(start_response, 304, headers, b"")
        headers.append(("Content-Type", asset.content_type))
        return _answer(start_response, 200, headers, asset.body)

    def _events(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refused = refusal(
            environ["REQUEST_METHOD"],
            environ.get("HTTP_AUTHORIZATION"),
            environ.get("QUERY_STRING", ""),
            self.admin_token,
        )
        if refused is not None:
            return _answer(start_response, *refused)
        if not environ.get("wsgi.multithread"):
            return _answer(start_response, *unavailable("This server runs one thread: poll."))
        if not self._streams.acquire(blocking=False):
            message = f"At most {THREAD_STREAMS} live streams on a threaded server: poll."
            return _answer(start_response, *unavailable(message))
        stream = ThreadStream(self.feed, self._streams)
        start_response(STATUS_LINES[200], list(STREAM_HEADERS))
        return stream


class ThreadStream:
    """One subscriber's stream on a server thread; `close` (the server calls it whether or not
    the stream was read, also when the client left) frees its place."""

    def __init__(self, feed: Feed, places: threading.BoundedSemaphore) -> None:
        self._feed = feed
        self._places = places
        self._subscriber = ThreadSubscriber()
        self._open = True
        feed.subscribe(self._subscriber)

    def __iter__(self) -> Iterator[bytes]:
        yield opening_frame().encode()
        ends = time.monotonic() + THREAD_STREAM_LIFETIME_S
        while self._open and (left := ends - time.monotonic()) > 0:
            text = self._subscriber.next_text(min(THREAD_HEARTBEAT_S, left))
            if not text:
                break
            yield text.encode()
            time.sleep(FLUSH_INTERVAL_S)  # events gather meanwhile: one write

    def close(self) -> None:
        if self._open:
            self._open = False
            self._feed.unsubscribe(self._subscriber)
            self._places.release()


def _json_error(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = orjson.dumps(envelope(code_for_status(status), message))
    return status, [("Content-Type", "application/json")], body


def _answer(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    start_response(
        STATUS_LINES.get(status) or f"{status} Error",
        [*headers, ("Content-Length", str(len(body)))],
    )
    return [body]
