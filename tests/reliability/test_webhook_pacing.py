"""Under `dub-mock serve`, the API comes first: while a worker has many requests in progress,
its webhooks go one at a time, spaced; once the load eases, they go several at once again.

The load is made of sales whose bodies arrive late, held in progress (as a saturated worker's
queued requests are) until the test sends the rest; the receiver holds each delivery a while,
so that how many were in flight at once shows in what it saw.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mockserver.rsgi import SATURATED_AT
from mockserver.webhooks.loop_delivery import SATURATED_GAP_S, SENDERS

from .rawhttp import http_request, read_answer
from .support import AUTH, Served, burst, request

pytestmark = pytest.mark.slow

LOAD_S = 3.0
"""How long the held requests stay in progress."""


class PacedReceiver:
    """Answers every POST 200 after `hold_s`; notes when each arrived and the most in flight."""

    def __init__(self, hold_s: float) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.arrivals: list[tuple[float, int]] = []  # (time, deliveries in flight with it)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with owner.lock:
                    owner.in_flight += 1
                    owner.arrivals.append((time.monotonic(), owner.in_flight))
                time.sleep(hold_s)
                with owner.lock:
                    owner.in_flight -= 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/dub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def times(self, since: float, until: float) -> list[float]:
        with self.lock:
            return sorted(t for t, _ in self.arrivals if since <= t < until)

    def most_in_flight(self, since: float, until: float) -> int:
        with self.lock:
            return max((n for t, n in self.arrivals if since <= t < until), default=0)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def receiving(hold_s: float) -> Iterator[PacedReceiver]:
    paced = PacedReceiver(hold_s)
    try:
        yield paced
    finally:
        paced.close()


def sale_body(invoice: str) -> dict[str, object]:
    return {"customerExternalId": "buyer", "amount": 100, "invoiceId": invoice}


def held_sales(port: int, count: int) -> tuple[list[socket.socket], list[bytes]]:
    """`count` sales sent but for their body's last byte: in progress until it comes."""
    sockets, rests = [], []
    headers = [(k.encode(), v.encode()) for k, v in AUTH.items()]
    for n in range(count):
        body = json.dumps(sale_body(f"held-{n}")).encode()
        raw = http_request(b"POST", b"/track/sale", headers, body)
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(raw[:-1])
        sockets.append(sock)
        rests.append(raw[-1:])
    return sockets, rests


@dataclass
class Timeline:
    """When the worker was saturated, and until when the test waited for the events."""

    saturated_from: float = 0.0
    eased_at: float = 0.0
    deadline: float = 0.0


def run_under_load(
    workdir: Path, receiver: PacedReceiver, track: Callable[[str], None], expected: int
) -> Timeline:
    """`dub-mock serve` with the receiver's endpoint: SATURATED_AT sales held in progress for
    LOAD_S while `track(url)` tracks more, then released; waits for `expected` events."""
    timeline = Timeline()
    served = Served(["--quiet", "--no-rate-limit"], workdir).start()
    try:
        url = served.url
        endpoint = {"url": receiver.url, "secret": "whsec_" + "7a" * 16}
        assert request(url, "POST", "/__mock/webhooks", endpoint)[0] == 201
        assert request(url, "POST", "/__mock/customers", {"externalId": "buyer"})[0] == 201
        sockets, rests = held_sales(served.port, SATURATED_AT)
        time.sleep(0.3)  # on loopback, ample for each to reach the worker
        timeline.saturated_from = time.monotonic()
        track(url)
        time.sleep(max(0.0, timeline.saturated_from + LOAD_S - time.monotonic()))
        timeline.eased_at = time.monotonic()
        for sock, rest in zip(sockets, rests, strict=True):
            sock.sendall(rest)
        for sock in sockets:
            answer = read_answer(sock, time.monotonic() + 10)
            assert answer is not None and answer.status == 200, answer
            sock.close()
        timeline.deadline = time.monotonic() + 15
        while receiver.count() < expected and time.monotonic() < timeline.deadline:
            time.sleep(0.05)
    finally:
        served.stop()
    return timeline


def test_a_saturated_worker_sends_one_webhook_at_a_time_then_catches_up(workdir: Path) -> None:
    during = 6

    def track(url: str) -> None:
        for n in range(during):
            body = sale_body(f"during-{n}")
            status, answer = request(url, "POST", "/track/sale", body, headers=AUTH, timeout=30)
            assert status == 200, answer

    with receiving(hold_s=0.2) as receiver:
        timeline = run_under_load(workdir, receiver, track, during + SATURATED_AT)

    assert receiver.count() == during + SATURATED_AT  # every event arrived, once
    # while saturated: one at a time, and yet every event of the sales made meanwhile arrived
    # (6 deliveries of 0.2 s each are well inside LOAD_S)
    assert receiver.most_in_flight(timeline.saturated_from, timeline.eased_at) == 1
    assert len(receiver.times(timeline.saturated_from, timeline.eased_at)) == during
    # the held sales are answered together: their events then go several at once
    assert 1 < receiver.most_in_flight(timeline.eased_at, timeline.deadline) <= SENDERS


def test_a_saturated_worker_spaces_its_webhooks(workdir: Path) -> None:
    during = 20

    def track(url: str) -> None:  # all at once: their events are queued together
        answers = burst([url], during, lambda n: sale_body(f"burst-{n}"))
        assert all(status == 200 for status, _ in answers), answers

    with receiving(hold_s=0.0) as receiver:
        timeline = run_under_load(workdir, receiver, track, during + SATURATED_AT)

    assert receiver.count() == during + SATURATED_AT
    meanwhile = receiver.times(timeline.saturated_from, timeline.eased_at)
    assert len(meanwhile) == during  # 20 deliveries, spaced, still well inside LOAD_S
    gaps = [later - earlier for earlier, later in itertools.pairwise(meanwhile)]
    assert min(gaps) >= 0.8 * SATURATED_GAP_S, gaps  # (the receiver's clock, not the mock's)
