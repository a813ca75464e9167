"""The threaded deliverer: background threads that send queued webhook deliveries, never on a
request's path. It serves the in-test `MockServer`, an app used in-process, and Redis state;
`dub-mock serve` with memory or SQLite state sends from its event loop (`loop_delivery.py`).

Each attempt is leased in the store first, so with several workers or instances sharing SQLite
or Redis state exactly one of them makes it; a worker killed mid-attempt leaves a lease that
expires, and the attempt is made again (at least once, never lost)."""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..feed import Feed
from ..models import Clock, Record
from ..store import Store
from .attempts import RESPONSE_KEPT, claim, finish
from .signing import sign

POLL_S = 0.25
"""How often an idle deliverer looks for work queued by another process (or due by the clock)."""
SENDERS = 4


class Deliverer:
    """Claims due deliveries and sends them on a few threads; started once per process."""

    def __init__(self, store: Store, clock: Clock, feed: Feed) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._slots = threading.Semaphore(SENDERS)
        self._pid = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._connections = threading.local()
        self._opened: set[http.client.HTTPConnection] = set()  # every thread's, for close()

    def start(self) -> None:
        """Start the threads in this process (idempotent; a forked worker starts its own)."""
        if self._pid == os.getpid() or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._pool = ThreadPoolExecutor(SENDERS, "dub-mock-webhook")
            self._thread = threading.Thread(
                target=self._run, name="dub-mock-deliverer", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """Work was queued: start if needed, and look now rather than at the next poll."""
        self.start()
        if not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    # -- the claiming loop -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self._claim_some()
            except Exception:  # a store that is down: keep the thread, try again shortly
                traceback.print_exc(file=sys.stderr)
                claimed = 0
            if not claimed:
                self._wake.wait(self._idle_wait())
                self._wake.clear()

    def _idle_wait(self) -> float:
        try:
            soonest = self._store.next_delivery_ms()
        except Exception:
            return POLL_S
        if soonest is None:
            return POLL_S
        return min(POLL_S, max(0.0, soonest / 1000 - self._clock()))

    def _claim_some(self) -> int:
        """Lease as many due deliveries as there are free senders, and hand them out."""
        if not self._slots.acquire(timeout=POLL_S):
            return 0  # every sender is busy
        free = 1
        while free < SENDERS and self._slots.acquire(blocking=False):
            free += 1
        claimed = claim(self._store, self._clock, free)
        for _ in range(free - len(claimed)):
            self._slots.release()
        assert self._pool is not None
        for item in claimed:
            self._pool.submit(self._send, item)
        return len(claimed)

    # -- one attempt -----------------------------------------------------------------------

    def _send(self, item: Record) -> None:
        try:
            body = item["body"].encode()
            started = time.perf_counter()
            status, answer, error = self._post(
                item["url"], body, sign(body, item["secret"]), item["timeoutMs"] / 1000
            )
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            finish(self._store, self._clock, self._feed, item, (status, answer, error), duration_ms)
        except Exception:  # never let a bad record stop the sender
            traceback.print_exc(file=sys.stderr)
        finally:
            self._slots.release()
            self._wake.set()

    def _post(
        self, url: str, body: bytes, signature: str, timeout: float
    ) -> tuple[int | None, bytes, str | None]:
        """POST over a kept-alive connection per thread and host; (status, body, error)."""
        headers = {
            "Content-Type": "application/json",
            "Dub-Signature": signature,
            "User-Agent": "dub-mock-webhooks",
        }
        try:
            parts = urlsplit(url)
            connection = self._connection(parts.scheme, parts.netloc, timeout)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(RESPONSE_KEPT + 1)
            if response.will_close or len(answer) > RESPONSE_KEPT:
                self._drop_connection(parts.scheme, parts.netloc)
            return response.status, answer, None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._drop_connection(*_origin(url))
            return None, b"", f"{type(exc).__name__}: {exc}"

    def _connection(self, scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
        cache: dict[tuple[str, str], http.client.HTTPConnection] = self._cache()
        connection = cache.get((scheme, netloc))
        if connection is None:
            kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = kind(netloc, timeout=timeout)
            cache[(scheme, netloc)] = connection
            with self._lock:
                self._opened.add(connection)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop_connection(self, scheme: str, netloc: str) -> None:
        connection = self._cache().pop((scheme, netloc), None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._opened.discard(connection)

    def _cache(self) -> dict[tuple[str, str], http.client.HTTPConnection]:
        cache = getattr(self._connections, "cache", None)
        if cache is None:
            cache = self._connections.cache = {}
        return cache


def _origin(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.scheme, parts.netloc
