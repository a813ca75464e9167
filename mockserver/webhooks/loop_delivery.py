"""The deliverer of `dub-mock serve` with memory or SQLite state: coroutines on the worker's
event loop, beside the API, that send queued deliveries (never on a request's path).

The API comes first: while the worker is saturated (`saturated()`, many requests in progress),
one delivery is in flight at a time, at most one every SATURATED_GAP_S, and the other senders
wait; they catch up once the load eases. Measured by `benchmarks/webhook_bench.py`, eight
senders at full speed beside a saturated API left it 55% of the sales a second it answers
with no endpoint; one at a time, 65-67%; one at a time and spaced, about 70%. Every event
still arrives, most of them within seconds of the load's end.

Why not threads here: the app already runs on this loop, and sender threads fight it for the
GIL; measured under load, a sale with one endpoint cost three times the CPU of a sale with none,
most of it in hand-offs. Here a delivery is a write and a parsed answer on the same thread, with
no waiting in between (`http1.py`). A slow or dead receiver holds only its sender's coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

from ..feed import Feed
from ..models import Clock, Record
from ..store import Store
from .attempts import RESPONSE_KEPT, claim, finish
from .http1 import Connection, Target, connect
from .signing import sign

SENDERS = 8
"""Deliveries in flight at once. Each sender leases one at a time: a slow endpoint holds up
only its own attempt, never others claimed with it."""
POLL_S = 0.25
"""How often an idle sender looks for work queued by another process (or due by the clock)."""
HELD_POLL_S = 0.05
"""How often a sender held back while the API is saturated looks again."""
SATURATED_GAP_S = 0.01
"""While the API is saturated, the least time between two deliveries: at 100 a second, webhooks
take about 1% of the worker, and events keep arriving through a long load."""

Outcome = tuple[int | None, bytes, str | None]


class LoopDeliverer:
    """Sends due deliveries from `loop`; `wake` and `start` may be called from any thread."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        feed: Feed,
        loop: asyncio.AbstractEventLoop,
        saturated: Callable[[], bool],
    ) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed
        self._loop = loop
        self._loop_thread: int | None = None  # known once the loop runs `_bind`
        loop.call_soon_threadsafe(self._bind)
        self._sleepers: deque[asyncio.Future[None]] = deque()  # idle senders, oldest first
        self._senders: list[asyncio.Task[None]] = []
        self._connections: set[Connection] = set()
        self._targets: dict[str, Target] = {}
        self._saturated = saturated
        self._sending = 0  # attempts in flight
        self._closed = False

    def _bind(self) -> None:
        self._loop_thread = threading.get_ident()

    def start(self) -> None:
        """Start the senders (idempotent)."""
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.start)
            return
        if self._senders or self._closed:
            return
        self._senders = [self._loop.create_task(self._sender()) for _ in range(SENDERS)]

    def wake(self) -> None:
        """Work was queued: one idle sender looks now rather than at its next poll (a sender
        that claims one wakes the next)."""
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.wake)
            return
        if not self._senders:
            self.start()  # they claim as they start
            return
        if self._sending >= self._allowed():
            return  # a woken sender could not send yet
        while self._sleepers:
            bell = self._sleepers.popleft()
            if not bell.done():
                bell.set_result(None)
                return

    def close(self) -> None:
        """Stop sending (an attempt cut short is leased, and made again after a restart when
        the state survives it); close the kept-alive connections."""
        self._closed = True
        for task in self._senders:
            task.cancel()
        for connection in self._connections:
            connection.close()
        self._connections.clear()

    def _allowed(self) -> int:
        """Attempts that may be in flight now: one while the API is saturated."""
        return 1 if self._saturated() else SENDERS

    async def _sender(self) -> None:
        connections: dict[tuple[str, str, int], Connection] = {}
        while not self._closed:
            if self._sending >= self._allowed():
                await asyncio.sleep(HELD_POLL_S)  # the API is saturated: it goes first
                continue
            try:
                claimed = claim(self._store, self._clock, 1)
            except Exception:  # a store that fails: keep the sender, try again shortly
                traceback.print_exc(file=sys.stderr)
                claimed = []
            if not claimed:
                await self._idle()
                continue
            self._sending += 1
            try:
                self.wake()  # there may be more: an idle peer claims the next meanwhile
                await self._attempt(claimed[0], connections)
                if self._saturated():  # still counted as sending: no peer starts meanwhile
                    await asyncio.sleep(SATURATED_GAP_S)
            finally:
                self._sending -= 1

    async def _idle(self) -> None:
        """Sleep until woken, until the next delivery is due, or for POLL_S at most."""
        try:
            soonest = self._store.next_delivery_ms()
        except Exception:
            soonest = None
        wait = POLL_S if soonest is None else min(POLL_S, max(0.0, soonest / 1000 - self._clock()))
        if wait <= 0:
            return
        bell: asyncio.Future[None] = self._loop.create_future()
        self._sleepers.append(bell)
        timer = self._loop.call_later(wait, _ring, bell)
        try:
            await bell
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._sleepers.remove(bell)  # woken by its timer: still listed

    async def _attempt(
        self, item: Record, connections: dict[tuple[str, str, int], Connection]
    ) -> None:
        try:
            body = item["body"].encode()
            started = time.perf_counter()
            outcome = await self._post(item["url"], body, item, connections)
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            finish(self._store, self._clock, self._feed, item, outcome, duration_ms)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let a bad record stop the sender
            traceback.print_exc(file=sys.stderr)

    async def _post(
        self,
        url: str,
        body: bytes,
        item: Record,
        connections: dict[tuple[str, str, int], Connection],
    ) -> Outcome:
        """POST over the sender's kept-alive connection to the URL's origin."""
        connection = None
        try:
            target = self._target(url)
            timeout = item["timeoutMs"] / 1000
            connection = connections.get(target.origin)
            if connection is None or not connection.usable:
                connection = await connect(target, RESPONSE_KEPT, timeout)
                connections[target.origin] = connection
                self._connections.add(connection)
            request = target.request(body, sign(body, item["secret"]))
            answer = await connection.post(request, timeout)
            if not answer.reusable:
                self._drop(connections, target.origin)
            return answer.status, answer.body, None
        except TimeoutError:
            self._drop(connections, None, connection)
            return None, b"", "TimeoutError: timed out"
        except Exception as exc:  # refused, reset, a bad URL or answer: a failed attempt
            self._drop(connections, None, connection)
            return None, b"", f"{type(exc).__name__}: {exc}"

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            target = Target(url)
            if len(self._targets) > 1024:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _drop(
        self,
        connections: dict[tuple[str, str, int], Connection],
        origin: tuple[str, str, int] | None,
        connection: Connection | None = None,
    ) -> None:
        if origin is not None:
            connection = connections.get(origin)
        if connection is None:
            return
        for key, held in list(connections.items()):
            if held is connection:
                del connections[key]
        self._connections.discard(connection)
        connection.close()


def _ring(bell: asyncio.Future[None]) -> None:
    if not bell.done():
        bell.set_result(None)
