"""A webhook receiver on a real socket, for tests: it checks every delivery's `Dub-Signature`,
keeps what arrived, and answers as told (say, 500 three times, then 200).

    with WebhookReceiver(secret) as receiver:
        ...register receiver.url with the mock, cause a sale...
        event = receiver.wait_for("sale.created", timeout=5)

Used by the `dub_webhooks` fixture, `dub-mock check --webhook-listen`, and the test suite.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .signing import verify

POLL_S = 0.02
"""How often the server loop looks for `stop()`: stopping takes no longer than this."""


@dataclass
class Delivery:
    """One request the receiver got: the raw bytes, the signature, and whether it verified."""

    body: bytes
    signature: str | None
    verified: bool
    path: str
    headers: dict[str, str]
    received: float = field(default_factory=time.time)

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class _Server(ThreadingHTTPServer):
    #: Several workers' senders connect at once; the default backlog of 5 makes the rest wait
    #: a SYN retransmission (a second), long enough to time some deliveries out.
    request_queue_size = 128


class WebhookReceiver:
    """An HTTP server on `host:port` (a free port by default) in a background thread."""

    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._answers: deque[tuple[int, float]] = deque()
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, delay = receiver._answer(body, self)
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                # One request per connection: a receiver that lives for one test leaves no
                # kept-alive connection (nor a handler thread waiting on it) behind.
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the receiver keeps its own record."""

        self._server = _Server((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks/dub"

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_S},
            name="dub-mock-webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def answer_next(self, *statuses: int, delay_s: float = 0.0) -> None:
        """Answer the next requests with these statuses (after `delay_s`), then 200 again."""
        with self._changed:
            self._answers.extend((status, delay_s) for status in statuses)

    def _answer(self, body: bytes, handler: BaseHTTPRequestHandler) -> tuple[int, float]:
        signature = handler.headers.get("Dub-Signature")
        delivery = Delivery(
            body=body,
            signature=signature,
            verified=signature is not None and verify(body, signature, self.secret),
            path=handler.path,
            headers=dict(handler.headers.items()),
        )
        with self._changed:
            self.deliveries.append(delivery)
            answer = self._answers.popleft() if self._answers else (200, 0.0)
            self._changed.notify_all()
        return answer

    @property
    def events(self) -> list[Any]:
        """The verified payloads, oldest first (a redelivered event shows each time)."""
        with self._changed:
            return [d.payload for d in self.deliveries if d.verified]

    @property
    def unverified(self) -> list[Delivery]:
        """Deliveries whose signature did not verify with the receiver's secret."""
        with self._changed:
            return [d for d in self.deliveries if not d.verified]

    def wait_for(self, event: str, timeout: float = 5.0, count: int = 1) -> Any:
        """The `count`-th verified payload of type `event`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    d.payload
                    for d in self.deliveries
                    if d.verified and (d.payload or {}).get("event") == event
                ]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(d.payload or {}).get("event") for d in self.deliveries]
                    raise TimeoutError(
                        f"no {count} verified {event!r} webhook(s) in {timeout}s; got {seen}"
                    )
                self._changed.wait(left)
