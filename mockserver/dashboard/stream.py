"""The live stream's subscribers: a bounded queue each, drained into Server-Sent Events frames.

`/__mock/events` sends what the app publishes on its `Feed` (`request`, `state`, `delivery`) as
SSE frames (`event: request` / `data: {...json...}`). Two promises hold whoever listens:

- Publishing never waits: `offer` appends to a bounded deque (the oldest event falls out when a
  subscriber is slow) and wakes the writer at most once per batch. The API pays a few hundred
  nanoseconds per subscriber and event, never a subscriber's speed.
- A subscriber sees every event while it keeps up. Its writer sends at most one batch every
  `FLUSH_INTERVAL_S`; when events were lost it says so first (`event: dropped`, `{"count": n}`),
  so a client knows to re-read `/__mock/requests`. Repeated `state` events of one kind in a
  batch are sent once (the page re-reads the state anyway).

`AsyncSubscriber` lives on an event loop (`dub-mock serve`); `ThreadSubscriber` in a thread (a
WSGI server such as waitress). Both are offered events from any thread.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import orjson

from .. import __version__
from ..errors import code_for_status, envelope

QUEUE_LIMIT = 128
"""Events a subscriber holds before its oldest fall out."""
FLUSH_INTERVAL_S = 0.2
"""At most five batches a second per subscriber: under load, a batch carries many events
(and a page could not show more anyway)."""
HEARTBEAT_S = 15.0
"""A comment line this often keeps proxies and idle-connection timers from closing the stream."""
RETRY_MS = 1000
"""How soon a browser's EventSource reconnects after the stream ends."""

EVENTS_PATH = "/__mock/events"
STREAM_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache, no-store"),
    ("X-Accel-Buffering", "no"),
    ("X-Content-Type-Options", "nosniff"),
]
HEARTBEAT_FRAME = ": keep-alive\n\n"

Event = tuple[str, Any]


def frame(kind: str, data: Any) -> str:
    """One SSE frame. orjson never writes a raw newline, so one `data:` line always holds it."""
    return f"event: {kind}\ndata: {orjson.dumps(data).decode()}\n\n"


def opening_frame() -> str:
    """The first bytes of every stream: the reconnect delay and a `hello` event."""
    return f"retry: {RETRY_MS}\n" + frame("hello", {"version": __version__})


class FrameCache:
    """Each event is encoded once, whichever subscriber sends it first (they share the data)."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._frames: dict[int, tuple[Any, str]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, data: Any) -> str:
        key = id(data)  # the entry keeps `data` alive, so its id is not reused meanwhile
        with self._lock:
            cached = self._frames.get(key)
        if cached is not None and cached[0] is data:
            return cached[1]
        text = frame(kind, data)
        with self._lock:
            self._frames[key] = (data, text)
            if len(self._frames) > self._size:
                del self._frames[next(iter(self._frames))]
        return text


FRAMES = FrameCache()


class Batcher:
    """What both kinds of subscriber are: a bounded queue, drained as one text."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.queue: deque[Event] = deque(maxlen=limit)
        self.dropped = 0  # counted without a lock: an approximate count is all it needs
        self.closed = False

    def add(self, kind: str, data: Any) -> None:
        queue = self.queue
        if len(queue) == queue.maxlen:
            self.dropped += 1
        queue.append((kind, data))  # deque: thread-safe, drops the oldest when full

    def drain(self) -> str:
        """Every queued event as SSE text, led by a `dropped` notice if some fell out."""
        events: list[Event] = []
        queue = self.queue
        while queue:
            events.append(queue.popleft())  # one writer per queue: never empty here
        dropped, self.dropped = self.dropped, 0
        last_state: dict[str, int] = {}
        for index, (kind, data) in enumerate(events):
            if kind == "state":
                last_state[_change(data)] = index
        parts = [frame("dropped", {"count": dropped})] if dropped else []
        for index, (kind, data) in enumerate(events):
            if kind == "state" and last_state[_change(data)] != index:
                continue  # the same change again later in this batch
            parts.append(FRAMES.get(kind, data))
        return "".join(parts)


def _change(data: Any) -> str:
    return str(data.get("change")) if isinstance(data, dict) else ""


class AsyncSubscriber(Batcher):
    """A subscriber whose writer is a task on `loop`; `offer` may come from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._loop_thread = threading.get_ident()  # created on the loop's thread
        self._wake = asyncio.Event()
        self._pending = False

    def offer(self, kind: str, data: dict[str, Any]) -> None:
        # `add`, inlined: this runs for every event and subscriber on the API's path
        queue = self.queue
        if len(queue) == queue.maxlen:
            self.dropped += 1
        queue.append((kind, data))
        if not self._pending:
            self._pending = True
            self._signal()

    def close(self) -> None:
        self.closed = True
        self._signal()

    def _signal(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:  # an API thread (Redis state) or the webhook deliverer
            self._loop.call_soon_threadsafe(self._wake.set)

    async def next_text(self, timeout: float = HEARTBEAT_S) -> str:
        """The next batch, or a heartbeat comment after `timeout` of silence; "" once closed."""
        if not self._wake.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return "" if self.closed else HEARTBEAT_FRAME
        self._wake.clear()
        self._pending = False  # before draining: an event offered from now on wakes us again
        if self.closed:
            return ""
        return self.drain() or HEARTBEAT_FRAME


class ThreadSubscriber(Batcher):
    """A subscriber whose writer is a WSGI server's thread."""

    def __init__(self) -> None:
        super().__init__()
        self._wake = threading.Event()

    def offer(self, kind: str, data: dict[str, Any]) -> None:
        self.add(kind, data)
        if not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def next_text(self, timeout: float = HEARTBEAT_S) -> str:
        if not self._wake.wait(timeout):
            return "" if self.closed else HEARTBEAT_FRAME
        self._wake.clear()
        if self.closed:
            return ""
        return self.drain() or HEARTBEAT_FRAME


def refusal(
    method: str, authorization: str | None, query: str, admin_token: str | None
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Why `/__mock/events` must not stream to this request (status, headers, body), or None.

    The admin token is taken from `Authorization: Bearer T` or, since a browser's EventSource
    cannot send headers, from `?token=T`.
    """
    json_headers = [("Content-Type", "application/json")]
    if method != "GET":
        body = envelope("method_not_allowed", f"Method {method} is not allowed on {EVENTS_PATH}.")
        return 405, [*json_headers, ("Allow", "GET")], orjson.dumps(body)
    if admin_token and not _token_matches(admin_token, authorization, query):
        body = envelope(
            "unauthorized",
            "The admin API needs Authorization: Bearer <admin token> (or ?token= on this stream).",
        )
        return 401, json_headers, orjson.dumps(body)
    return None


def _token_matches(admin_token: str, authorization: str | None, query: str) -> bool:
    expected = admin_token.encode()
    if authorization is not None and hmac.compare_digest(
        authorization.encode(), b"Bearer " + expected
    ):
        return True
    given = parse_qs(query).get("token", [""])[0] if "token=" in query else ""
    return hmac.compare_digest(given.encode(), expected)


def unavailable(message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = orjson.dumps(envelope(code_for_status(503), message))
    return 503, [("Content-Type", "application/json"), ("Retry-After", "10")], body
