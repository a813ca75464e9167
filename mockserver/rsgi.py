"""`dub-mock serve`'s front on granian's RSGI interface: every body is read on the event loop.

Why not granian's WSGI interface: there each request holds one of a few Python threads while
its body arrives, so a handful of clients stalling mid-upload freeze the server, and a chunked
body that the client cuts short reads as complete. Here a body is awaited without holding a
thread, a body cut short raises, and only whole requests reach the app.

The app then runs on the loop itself: no thread hand-offs, no GIL convoy. That holds for
`memory://` and for SQLite, whose work is a few short statements and one commit per request (a
wait for another worker's write lock lasts one request, as clients can no longer hold it open).
Redis answers over the network, under a lock shared by every instance, so there the app runs on
a small thread pool and the loop stays free.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import RSGIProtocolClosed as ProtocolClosed
from granian._granian import RSGIProtocolError as ProtocolError
from granian.rsgi import Scope

from .app import MockApp, create_app
from .body import DRAIN_BYTES, DRAIN_SECONDS
from .dashboard import EVENTS_PATH
from .dashboard.rsgi_events import RsgiEvents
from .errors import INTERNAL_ERROR_MESSAGE, envelope
from .groupcommit import CommitFailed, GroupCommit
from .settings import Settings
from .store.sqlite import SqliteStore

Answer = tuple[int, list[tuple[str, str]], bytes]

JSON_HEADERS = [("Content-Type", "application/json")]
COMMIT_FAILED = orjson.dumps(envelope("internal_server_error", INTERNAL_ERROR_MESSAGE))
BODY_CUT = orjson.dumps(
    envelope("bad_request", "The request body was cut short or its chunked framing is malformed.")
)

WSGI_BASE: dict[str, Any] = {
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "SCRIPT_NAME": "",
}


SATURATED_AT = 8
"""Requests in progress at once from which a worker counts as saturated, and sends webhooks
one at a time so that the API comes first. A few clients, or any load the worker keeps up
with, stay below it: answering 5,000 requests a second at 60 µs each, a worker has 0.3 in
progress on average."""


class RsgiFront:
    """Serves a `MockApp` over RSGI: async body, then the app on the loop or a thread."""

    def __init__(self, app: MockApp, threads: int) -> None:
        self.app = app
        self.in_progress = 0  # requests between their start and their answer (not streams)
        self.limit = app.settings.max_body
        on_loop = not app.settings.state.startswith("redis")
        self.pool = None if on_loop else ThreadPoolExecutor(threads, "dub-mock")
        self.events = RsgiEvents(app.feed, app.settings.admin_token)
        self.batch: GroupCommit | None = None
        if isinstance(app.store, SqliteStore):  # one commit per turn of the loop, not per request
            self.batch = GroupCommit(app.store, app.outbox.notify)
            app.batching = True

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker start (granian calls it): live streams end when the worker is told to stop."""
        self.events.install(loop)
        if self.pool is None:  # the app runs on this loop: so do its webhook senders
            self.app.deliver_from(loop, self.saturated)
        tune_gc()

    async def __call__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        if scope.proto != "http":
            return
        if scope.path == EVENTS_PATH:  # the dashboard's stream: a task on this loop, no thread
            await self.events.serve(scope, protocol)
            return
        self.in_progress += 1
        try:
            environ = wsgi_environ(scope)
            try:
                body, rest = await self._read_body(environ, protocol)
            except (ProtocolClosed, ProtocolError, BodyCut):
                # Cut short or malformed framing: refused whole, so nothing is recorded. The
                # client may be gone already; if it still listens, it gets Dub's envelope.
                protocol.response_bytes(400, JSON_HEADERS, BODY_CUT)
                return
            environ["wsgi.input"] = io.BytesIO(body)
            if self.pool is None:
                status, headers, payload = await self._answer_on_loop(environ)
            else:
                loop = asyncio.get_running_loop()
                status, headers, payload = await loop.run_in_executor(
                    self.pool, call_wsgi, self.app, environ
                )
            protocol.response_bytes(status, headers, payload)
            if rest is not None:
                await discard(rest)
        finally:
            self.in_progress -= 1

    def saturated(self) -> bool:
        """Whether the API has many requests in progress (webhooks then wait their turn)."""
        return self.in_progress >= SATURATED_AT

    def __rsgi_del__(self, loop: Any) -> None:
        """Worker shutdown (granian calls it): the last log lines out, then the store closed."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.app.access_log.flush()
        self.app.close()

    async def _read_body(
        self, environ: dict[str, Any], protocol: HTTPProtocol
    ) -> tuple[bytes, AsyncIterator[bytes] | None]:
        """The whole body, or enough of it for the app to refuse it (400 or 413); and the rest
        of a body over the limit, to `discard` once the 413 is sent.

        A Content-Length over the limit is left unread; a chunked body is read only until it
        passes the limit. Either way `body.read_body` then answers as on any other server.
        """
        length = environ.get("CONTENT_LENGTH")
        if length is not None:
            if not length.isdigit() or int(length) == 0:
                return b"", None
            if int(length) > self.limit:
                return b"", body_chunks(protocol)
            return await protocol(), None  # raises when the client leaves before the last byte
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return b"", None
        chunks = body_chunks(protocol)
        body = await read_chunked(chunks, self.limit)
        return body, chunks if len(body) > self.limit else None

    async def _answer_on_loop(self, environ: dict[str, Any]) -> Answer:
        exchange = self.app.begin(environ)
        if exchange.delay:
            await asyncio.sleep(exchange.delay)
        start = StartResponse()
        if self.batch is None:
            payload = b"".join(self.app.finish(environ, exchange, start))
            return start.status, start.headers, payload
        try:
            payload = await self.batch.run(
                lambda: b"".join(self.app.finish(environ, exchange, start))
            )
        except CommitFailed:
            return 500, JSON_HEADERS, COMMIT_FAILED
        return start.status, start.headers, payload


class BodyCut(Exception):
    """The client ended a chunked body without its last chunk."""


async def body_chunks(protocol: HTTPProtocol) -> AsyncIterator[bytes]:
    """The body's chunks. granian's iterator can be started only once; this one can be read
    again after a `break`, as `discard` does after `read_chunked`."""
    async for chunk in protocol:
        yield chunk


async def read_chunked(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """A chunked body, up to the first chunk that passes `limit`; `BodyCut` if it was cut.

    granian's body iterator yields `b""` for the end of the body and also for a stream error
    (a connection lost mid-chunk), which is then followed by the end's `b""`: two empty
    chunks mean the body did not end with its last chunk. (Request trailers, which no Dub
    client sends, read the same way.)
    """
    parts: list[bytes] = []
    total = 0
    seen_empty = False
    async for chunk in chunks:
        if not chunk:
            if seen_empty:
                raise BodyCut
            seen_empty = True
            continue
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            break
    return b"".join(parts)


async def discard(chunks: AsyncIterator[bytes]) -> None:
    """Read and drop the rest of a refused body, so that a client still writing it reads the
    413 already sent rather than a reset; at most `DRAIN_BYTES` or `DRAIN_SECONDS`, after
    which granian closes the connection with the rest unread."""
    left = DRAIN_BYTES
    with contextlib.suppress(ProtocolClosed, ProtocolError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in chunks:
                left -= len(chunk)
                if not chunk or left <= 0:  # b"": the end of the body, or the client gone
                    return


class StartResponse:
    """WSGI's start_response, keeping what the app answered for the RSGI response."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        self.status = int(status[:3])
        self.headers = headers
        return _no_write


def _no_write(data: bytes) -> object:
    raise NotImplementedError("the mock returns its bodies; it never calls write()")


def call_wsgi(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Answer:
    start = StartResponse()
    payload = b"".join(app(environ, start))
    return start.status, start.headers, payload


def wsgi_environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ for an RSGI scope, as granian's WSGI interface builds it."""
    environ = dict(WSGI_BASE)
    host, _, port = scope.server.rpartition(":")
    environ.update(
        {
            "REQUEST_METHOD": scope.method,
            "PATH_INFO": scope.path,  # already percent-decoded by granian
            "QUERY_STRING": scope.query_string,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "SERVER_NAME": host,
            "SERVER_PORT": port,
            "REMOTE_ADDR": scope.client.rpartition(":")[0].strip("[]"),
            "wsgi.url_scheme": scope.scheme,
        }
    )
    for name, value in scope.headers.items():
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        previous = environ.get(key)
        environ[key] = value if previous is None else f"{previous},{value}"
    return environ


#: Young-generation threshold and the two older multipliers for the serving worker. A request
#: allocates hundreds of short-lived objects, and leads, customers and clicks stay as dicts: at
#: CPython's default (700, 10, 10) collections ran so often that under load new leads cost a
#: third more CPU and p99 rose tenfold (benchmarks/RESULTS.md). The state holds no cycles.
GC_THRESHOLDS = (50_000, 50, 100)


def tune_gc() -> None:
    """Freeze what the worker built at start (the spec, validators, the app: never garbage, so
    never scanned again), then collect less often. Only the server's own worker process: the
    in-test `MockServer` lives in the user's process and leaves its collector alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_threads(settings: Settings) -> int:
    """Threads that run the app when its store waits on the network (Redis).

    Few: the GIL runs one at a time, and measured under load 64 threads serve a third of what
    3 do (they convoy on the GIL and the store's lock). Many when --latency makes requests
    sleep on purpose.
    """
    if settings.latency_ms is not None:
        return 64
    return (os.cpu_count() or 1) + 1


def serve_target() -> RsgiFront:
    """What each granian worker of `dub-mock serve` runs: the app built from DUB_MOCK_*."""
    settings = Settings.from_env()
    return RsgiFront(create_app(settings), threads=app_threads(settings))
