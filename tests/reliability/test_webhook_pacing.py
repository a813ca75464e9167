"""Under `dub-mock serve`, the API comes first: while a worker has many requests in progress,
its webhooks go one at a time; once the load eases, they go several at once again.

The load is made of sales whose bodies arrive late, held in progress (as a saturated worker's
queued requests are) until the test sends the rest; the receiver holds each delivery a while,
so that how many were in flight at once shows in what it saw.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mockserver.rsgi import SATURATED_AT
from mockserver.webhooks.loop_delivery import SENDERS

from .rawhttp import http_request, read_answer
from .support import AUTH, Served, request

pytestmark = pytest.mark.slow

HOLD_S = 0.2
"""How long the receiver takes over each delivery."""
LOAD_S = 3.0
"""How long the held requests stay in progress."""
DURING = 6
"""Sales tracked while the worker is saturated."""


class PacedReceiver:
    """Answers every POST 200 after HOLD_S; notes when each arrived and the most in flight."""

    def __init__(self) -> None:
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
                time.sleep(HOLD_S)
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

    def most_in_flight(self, since: float, until: float) -> int:
        with self.lock:
            return max((n for t, n in self.arrivals if since <= t < until), default=0)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[PacedReceiver]:
    paced = PacedReceiver()
    yield paced
    paced.close()


def sale(url: str, invoice: str) -> None:
    body = {"customerExternalId": "buyer", "amount": 100, "invoiceId": invoice}
    status, answer = request(url, "POST", "/track/sale", body, headers=AUTH, timeout=30)
    assert status == 200, answer


def held_sales(port: int, count: int) -> tuple[list[socket.socket], list[bytes]]:
    """`count` sales sent but for their body's last byte: in progress until it comes."""
    sockets, rests = [], []
    for n in range(count):
        body = json.dumps({"customerExternalId": "buyer", "amount": 100, "invoiceId": f"held-{n}"})
        headers = [(k.encode(), v.encode()) for k, v in AUTH.items()]
        raw = http_request(b"POST", b"/track/sale", headers, body.encode())
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(raw[:-1])
        sockets.append(sock)
        rests.append(raw[-1:])
    return sockets, rests


def test_a_saturated_worker_sends_one_webhook_at_a_time_then_catches_up(
    receiver: PacedReceiver, workdir: Path
) -> None:
    served = Served(["--quiet", "--no-rate-limit"], workdir).start()
    try:
        url = served.url
        endpoint = {"url": receiver.url, "secret": "whsec_" + "7a" * 16}
        assert request(url, "POST", "/__mock/webhooks", endpoint)[0] == 201
        assert request(url, "POST", "/__mock/customers", {"externalId": "buyer"})[0] == 201
        sockets, rests = held_sales(served.port, SATURATED_AT)
        time.sleep(0.3)  # on loopback, ample for each to reach the worker
        saturated_from = time.monotonic()
        for n in range(DURING):
            sale(url, f"during-{n}")
        time.sleep(max(0.0, saturated_from + LOAD_S - time.monotonic()))
        eased_at = time.monotonic()
        for sock, rest in zip(sockets, rests, strict=True):
            sock.sendall(rest)
        for sock in sockets:
            answer = read_answer(sock, time.monotonic() + 10)
            assert answer is not None and answer.status == 200, answer
            sock.close()
        deadline = time.monotonic() + 15
        while receiver.count() < DURING + SATURATED_AT and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        served.stop()

    assert receiver.count() == DURING + SATURATED_AT  # every event arrived, once
    # while saturated: one at a time, and yet every event of the sales made meanwhile arrived
    # (DURING * HOLD_S is well inside LOAD_S)
    assert receiver.most_in_flight(saturated_from, eased_at) == 1
    arrived_meanwhile = sum(1 for t, _ in receiver.arrivals if saturated_from <= t < eased_at)
    assert arrived_meanwhile == DURING
    # the held sales are answered together: their events then go several at once
    assert 1 < receiver.most_in_flight(eased_at, deadline) <= SENDERS
