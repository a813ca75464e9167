"""The live stream, `/__mock/events`: subscribers come and go, a slow one never slows the API,
events are framed as Server-Sent Events, and the stream ends when the server stops (on the RSGI
front of `dub-mock serve`, and on MockServer's waitress, where it is bounded)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.support import Served

from mockserver import MockServer, __version__
from mockserver.dashboard.rsgi_events import RsgiEvents
from mockserver.dashboard.stream import (
    HEARTBEAT_FRAME,
    AsyncSubscriber,
    Batcher,
    ThreadSubscriber,
    frame,
)
from mockserver.dashboard.web import THREAD_STREAMS
from mockserver.feed import Feed

from .support import AUTH, api

# -- the pieces, in process ---------------------------------------------------------------


def parse(text: str) -> list[tuple[str, Any]]:
    """SSE text → [(event, data)], comments and `retry:` skipped."""
    events = []
    for block in text.split("\n\n"):
        kind, data = "message", None
        for line in block.split("\n"):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            events.append((kind, data))
    return events


def test_a_frame_is_one_event_on_one_data_line() -> None:
    text = frame("request", {"path": "/track/sale", "body": "two\nlines"})
    assert text == 'event: request\ndata: {"path":"/track/sale","body":"two\\nlines"}\n\n'


def test_a_full_queue_drops_its_oldest_events_and_says_how_many() -> None:
    batch = Batcher(limit=3)
    for n in range(5):
        batch.add("request", {"n": n})
    events = parse(batch.drain())
    assert events == [
        ("dropped", {"count": 2}),
        ("request", {"n": 2}),
        ("request", {"n": 3}),
        ("request", {"n": 4}),
    ]
    batch.add("request", {"n": 5})
    assert parse(batch.drain()) == [("request", {"n": 5})]  # no notice: nothing was lost


def test_repeated_state_changes_in_one_batch_are_sent_once() -> None:
    batch = Batcher()
    for change in ("trackSale", "trackSale", "POST /__mock/customers", "trackSale"):
        batch.add("state", {"change": change})
    batch.add("request", {"n": 1})
    assert parse(batch.drain()) == [
        ("state", {"change": "POST /__mock/customers"}),
        ("state", {"change": "trackSale"}),
        ("request", {"n": 1}),
    ]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.closed = False

    def offer(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))

    def close(self) -> None:
        self.closed = True


def test_feed_subscribers_come_and_go() -> None:
    feed = Feed()
    first, second = Recorder(), Recorder()
    assert not feed.listening
    feed.subscribe(first)
    feed.subscribe(second)
    feed.publish("state", {"change": "a"})
    feed.unsubscribe(first)
    feed.publish("state", {"change": "b"})
    assert [d["change"] for _, d in first.events] == ["a"]
    assert [d["change"] for _, d in second.events] == ["a", "b"]
    assert feed.subscribers == 1
    feed.close()
    assert second.closed and not feed.listening
    late = Recorder()
    feed.subscribe(late)  # after close: closed at once, never listening
    assert late.closed and feed.subscribers == 0


def test_an_async_subscriber_takes_events_from_other_threads() -> None:
    async def scenario() -> tuple[str, str, str]:
        subscriber = AsyncSubscriber(asyncio.get_running_loop())
        quiet = await subscriber.next_text(timeout=0.05)
        thread = threading.Thread(target=subscriber.offer, args=("delivery", {"id": "d1"}))
        thread.start()  # as the webhook deliverer publishes: from its own thread
        text = await subscriber.next_text(timeout=5)
        thread.join()
        subscriber.close()
        return quiet, text, await subscriber.next_text(timeout=5)

    quiet, text, closed = asyncio.run(scenario())
    assert quiet == HEARTBEAT_FRAME
    assert parse(text) == [("delivery", {"id": "d1"})]
    assert closed == ""


def test_a_thread_subscriber_wakes_on_an_event_and_ends_on_close() -> None:
    subscriber = ThreadSubscriber()
    assert subscriber.next_text(timeout=0.01) == HEARTBEAT_FRAME
    subscriber.offer("request", {"n": 1})
    assert parse(subscriber.next_text(timeout=1)) == [("request", {"n": 1})]
    subscriber.close()
    assert subscriber.next_text(timeout=1) == ""


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)


class FakeProtocol:
    """granian's RSGI protocol, as much of it as the stream uses."""

    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.left = asyncio.Event()
        self.status = 0

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> FakeTransport:
        self.status = status
        return self.transport

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status

    async def client_disconnect(self) -> None:
        await self.left.wait()


class FakeScope:
    method = "GET"
    query_string = ""
    headers: dict[str, str] = {}


def test_the_rsgi_stream_unsubscribes_when_its_client_leaves() -> None:
    async def scenario() -> tuple[FakeProtocol, list[int]]:
        feed = Feed()
        protocol = FakeProtocol()
        counts = []
        task = asyncio.ensure_future(RsgiEvents(feed, None).serve(FakeScope(), protocol))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        counts.append(feed.subscribers)
        feed.publish("request", {"path": "/track/sale"})
        await asyncio.sleep(0.3)
        protocol.left.set()
        await asyncio.wait_for(task, 5)
        counts.append(feed.subscribers)
        return protocol, counts

    protocol, counts = asyncio.run(scenario())
    assert protocol.status == 200
    assert counts == [1, 0]
    events = parse("".join(protocol.transport.sent))
    assert events == [("hello", {"version": __version__}), ("request", {"path": "/track/sale"})]


def test_the_rsgi_stream_refuses_a_missing_admin_token() -> None:
    protocol = FakeProtocol()
    feed = Feed()
    asyncio.run(RsgiEvents(feed, "secret").serve(FakeScope(), protocol))  # type: ignore[arg-type]
    assert protocol.status == 401 and feed.subscribers == 0


# -- over real sockets -------------------------------------------------------------------


class Stream:
    """A raw `GET /__mock/events`: read as much as arrives, or nothing at all."""

    def __init__(self, port: int, path: str = "/__mock/events", rcvbuf: int | None = None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.data = b""

    def read_until(self, needle: bytes, timeout: float = 5) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            self.data += chunk
        assert needle in self.data, f"{needle!r} not in {self.data[-500:]!r}"
        return self.data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(["--no-rate-limit", "--quiet"], tmp_path_factory.mktemp("stream"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_serve_streams_requests_and_state_changes(serve: Served) -> None:
    stream = Stream(serve.port)
    try:
        head = stream.read_until(b"event: hello")
        assert b"HTTP/1.1 200" in head and b"text/event-stream" in head
        api(serve.url, "/track/sale", {"customerExternalId": "nobody_here", "amount": 100})
        stream.read_until(b"nobody_here")
        stream.read_until(b'"change":"trackSale"')
    finally:
        stream.close()
    assert f"browser: {serve.url}/ (the dashboard" in serve.log()  # the banner says where


def test_a_stalled_subscriber_does_not_slow_the_api(serve: Served) -> None:
    """A dashboard that stops reading: its queue drops the oldest events, the API goes on."""
    stalled = Stream(serve.port, rcvbuf=4096)
    stalled.read_until(b"event: hello")
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
    padding = {"customerExternalId": "nobody", "amount": 1, "metadata": {"pad": "x" * 3000}}
    body = json.dumps(padding).encode()
    started = time.monotonic()
    try:
        for _ in range(2000):  # about 10 MB of events, far more than the stalled socket holds
            connection.request("POST", "/track/sale", body, AUTH)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
        elapsed = time.monotonic() - started
        live = Stream(serve.port)  # a new subscriber is served at once meanwhile
        live.read_until(b"event: hello", timeout=2)
        live.close()
        # what the stalled one finally reads says that it lost events, not the API its speed
        stalled.read_until(b"event: dropped", timeout=15)
    finally:
        connection.close()
        stalled.close()
    assert elapsed < 60


def test_serve_stops_promptly_with_streams_open(tmp_path: Path) -> None:
    server = Served(["--quiet"], tmp_path).start()
    streams = [Stream(server.port) for _ in range(3)]
    try:
        for stream in streams:
            stream.read_until(b"event: hello")
        started = time.monotonic()
        server.stop()  # SIGTERM; a server still waiting for its streams is killed after 15 s
        assert time.monotonic() - started < 8
        assert server.proc is not None and server.proc.returncode == 0
    finally:
        for stream in streams:
            stream.close()
        server.kill()


def test_mockserver_bounds_its_streams_and_ends_them_when_it_stops() -> None:
    with MockServer() as server:
        assert server.app is not None
        streams = [Stream(server.port) for _ in range(THREAD_STREAMS)]
        for stream in streams:
            stream.read_until(b"event: hello")
        refused = Stream(server.port)
        refused.read_until(b"503 Service Unavailable")
        refused.close()
        api(server.url, "/track/sale", {"customerExternalId": "nobody_here", "amount": 5})
        streams[0].read_until(b"nobody_here")  # the API answers beside its streams
        streams[0].close()
        deadline = time.monotonic() + 10
        while server.app.feed.subscribers == THREAD_STREAMS and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.app.feed.subscribers == THREAD_STREAMS - 1  # a gone client frees its place
        again = Stream(server.port)
        again.read_until(b"event: hello")
        streams[0] = again
        started = time.monotonic()
    elapsed = time.monotonic() - started
    for stream in streams:
        stream.close()
    assert elapsed < 3  # waitress would wait 5 s per thread still streaming
