"""`MockServer`: the mock on a free 127.0.0.1 port in a background thread, for tests.

It uses waitress, whose HTTP parser buffers and bounds bodies itself; its own error answers
(malformed requests, bodies over the limit) are rendered in Dub's envelope too, and after a 413
the rest of the body is discarded (bounded) so that the client can read it.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

from .app import STATUS_LINES, MockApp, create_app
from .body import DRAIN_BYTES, DRAIN_SECONDS
from .errors import INTERNAL_ERROR_MESSAGE, PayloadTooLarge, envelope
from .settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class DubErrorTask(ErrorTask):
    """waitress's answer to a request it refuses before the app sees it, in Dub's envelope."""

    def execute(self) -> None:
        request: Any = self.request
        error: Any = request.error  # a waitress.utilities.Error subclass
        status = int(error.code)
        if status == 413:
            channel: Any = self.channel
            channel.refused_body = True  # DubChannel drains the body's rest before closing
            limit = channel.adj.max_request_body_size - 1  # see make_threaded_server
            code, message = "payload_too_large", PayloadTooLarge(limit).message
        elif status >= 500:
            status, code, message = 500, "internal_server_error", INTERNAL_ERROR_MESSAGE
        else:  # malformed HTTP, headers too large, ...: Dub's 400
            status, code, message = 400, "bad_request", f"{error.reason}: {error.body}"
        body = orjson.dumps(envelope(code, message))
        self.status = STATUS_LINES[status]
        self.response_headers = [
            *self.response_headers,
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        self.close_on_finish = True
        self.content_length = len(body)
        self.write(body)


class DubRequestParser(HTTPRequestParser):
    """waitress counts chunked framing (sizes, CRLFs) towards its body limit; give it room.

    A body with a Content-Length over the limit is still refused before it is read, and the app
    checks the real (dechunked) size of a chunked one, which waitress buffers first.
    """

    adj: Any
    chunked: bool

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked:
            roomy: Any = copy.copy(self.adj)
            roomy.max_request_body_size = 8 * roomy.max_request_body_size + 65_536
            self.adj = roomy


class DubChannel(HTTPChannel):
    """After a 413, reads and drops the rest of the body before it closes, within `DRAIN_BYTES`
    and `DRAIN_SECONDS`: closed with the body unread, the socket would reset the connection,
    and a client still writing its body would get ECONNRESET instead of the 413."""

    error_task_class = DubErrorTask
    parser_class = DubRequestParser
    refused_body = False  # set by DubErrorTask on a 413, read by handle_close
    drain_deadline = 0.0  # while draining: when to give up (time.monotonic)
    drain_left = DRAIN_BYTES

    def handle_close(self) -> None:
        """Where waitress would close after sending the 413, start draining instead."""
        if self.refused_body and self.connected:
            self.refused_body = False
            self.will_close = False
            self.drain_deadline = time.monotonic() + DRAIN_SECONDS
            return
        super().handle_close()

    def readable(self) -> bool:
        if not self.drain_deadline:
            return bool(super().readable())
        if time.monotonic() < self.drain_deadline:
            return True
        self.will_close = True  # out of time: handle_write closes it
        return False

    def handle_read(self) -> None:
        if not self.drain_deadline:
            return super().handle_read()
        try:
            data = self.recv(256 * 1024)  # b"" when the client is gone
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self.drain_left -= len(data)
        if not data or self.drain_left <= 0:
            self.handle_close()


class DubWaitressServer(TcpWSGIServer):
    channel_class = DubChannel


def make_threaded_server(
    app: WSGIApplication, host: str, port: int, max_body: int, threads: int = 8
) -> Any:
    """A waitress server for `app`; bodies over `max_body` are refused while reading.

    waitress refuses a body of exactly its limit, the app accepts one: hence the + 1.
    """
    return DubWaitressServer(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=max_body + 1,
        clear_untrusted_proxy_headers=False,  # X-Forwarded-For names the visitor of a click
        ident="dub-mock",
        channel_timeout=30,
    )


class MockServer:
    """Context manager: `with MockServer(state="memory://") as m: m.url`.

    `wsgi=` wraps the app before it is served (a middleware that records or rewrites traffic).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        wsgi: Callable[[MockApp], WSGIApplication] | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or Settings()
        self.settings = base.with_overrides(**overrides) if overrides else base
        self._wrap = wsgi
        self.app: MockApp | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("MockServer is not running: call start() or use `with`")
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def start(self) -> MockServer:
        self.app = create_app(self.settings)
        served = self._wrap(self.app) if self._wrap else self.app
        self._server = make_threaded_server(served, self.settings.host, 0, self.settings.max_body)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name="dub-mock-server", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, server: Any) -> None:
        """waitress's loop, a poll at a time, so that stopping happens on this thread."""
        while not self._stopping.is_set():
            server.asyncore.loop(
                timeout=0.05, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1
            )
        server.task_dispatcher.shutdown()
        for channel in list(server._map.values()):
            channel.close()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if self.app is not None:
            self.app.feed.close()  # live streams end now: each holds one of waitress's threads
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.app is not None:
            self.app.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
