"""A small HTTP/1.1 client on asyncio for webhook deliveries from `dub-mock serve`'s event loop.

Why our own: a delivery is one POST of known bytes whose answer matters only for its status and
first kilobyte. On the loop that serves the API, a protocol that parses the answer as it arrives
costs a few microseconds a delivery, where a client library or threads with `http.client` cost
tens to hundreds (their header parsing, and the GIL handed to and fro between threads).

One `Connection` per (scheme, host, port) and sender, kept alive between deliveries; it is
dropped when the receiver says `Connection: close`, answers HTTP/1.0 without keep-alive, sends
a body longer than what is kept, or breaks the framing.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024
"""A status line and headers longer than this are refused as a protocol error."""


class ProtocolError(Exception):
    """The receiver's answer is not HTTP/1.x that this client can read."""


class Answer:
    """What a delivery keeps of the receiver's answer."""

    __slots__ = ("body", "reusable", "status")

    def __init__(self, status: int, body: bytes, reusable: bool) -> None:
        self.status = status
        self.body = body
        self.reusable = reusable


class _Reader(asyncio.Protocol):
    """Parses one answer at a time from the bytes as they arrive."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False
        # the answer being read
        self._status = 0
        self._reusable = True
        self._remaining = -1  # body bytes still due; -1: head not read; -2: until EOF
        self._chunked = False
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def expect(self, waiter: asyncio.Future[Answer]) -> None:
        self._waiter = waiter
        self._status, self._remaining, self._chunked = 0, -1, False
        self._reusable = True
        self._body = bytearray()
        if self._buffer:
            self._advance()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None:
            self._advance()

    def eof_received(self) -> bool:
        self.lost = True
        if self._remaining == -2:  # a body that ends with the connection
            self._done()
        else:
            self._fail(ConnectionResetError("the receiver closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._remaining == -2 and exc is None:
            self._done()
        else:
            self._fail(exc or ConnectionResetError("the receiver closed the connection"))

    def _fail(self, error: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _done(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            reusable = self._reusable and not self.lost and len(self._body) <= self._keep
            waiter.set_result(Answer(self._status, bytes(self._body[: self._keep]), reusable))

    def _advance(self) -> None:
        try:
            if self._remaining == -1 and not self._read_head():
                return
            if self._chunked:
                if self._read_chunks():
                    self._done()
            elif self._remaining >= 0:
                self._read_body()
            else:  # the body runs to the end of the connection (eof_received finishes it)
                if len(self._body) <= self._keep:
                    self._body += self._buffer
                self._buffer.clear()
        except ProtocolError as error:
            self._reusable = False
            self._fail(error)

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise ProtocolError("the answer's head is too long")
            return False
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(code)
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            return self._read_head() if self._buffer else False
        self._status = status
        length = None
        connection = "keep-alive" if version == "HTTP/1.1" else "close"
        for line in lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                value = value.strip()
                if not value.isdigit():
                    raise ProtocolError(f"bad Content-Length: {value[:40]!r}")
                length = int(value)
            elif name == "transfer-encoding":
                self._chunked = "chunked" in value.lower()
            elif name == "connection":
                connection = value.strip().lower()
        self._reusable = connection != "close"
        if status in (204, 304):  # never a body
            self._chunked = False
            self._remaining = 0
        elif self._chunked:
            self._remaining = 0
        elif length is not None:
            self._remaining = length
        else:
            self._remaining = -2
            self._reusable = False
        return True

    def _read_body(self) -> None:
        take = min(self._remaining, len(self._buffer))
        if take:
            if len(self._body) <= self._keep:
                self._body += self._buffer[:take]
            del self._buffer[:take]
            self._remaining -= take
        if self._remaining == 0:
            self._done()

    def _read_chunks(self) -> bool:
        """Whole chunks off the buffer; True once the last one (and its trailer) arrived."""
        while True:
            if self._remaining > 0:  # inside a chunk: its data, then its CRLF
                if len(self._buffer) < self._remaining + 2:
                    return False
                if len(self._body) <= self._keep:
                    self._body += self._buffer[: self._remaining]
                del self._buffer[: self._remaining + 2]
                self._remaining = 0
            end = self._buffer.find(b"\r\n")
            if end < 0:
                return False
            size_text = bytes(self._buffer[:end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size: {size_text[:20]!r}") from None
            if size == 0:  # the last chunk: then trailer lines, if any, and an empty line
                after = end + 2
                if self._buffer[after : after + 2] == b"\r\n":
                    del self._buffer[: after + 2]
                    return True
                if len(self._buffer) < after + 2:
                    return False
                trailer_end = self._buffer.find(b"\r\n\r\n", after)
                if trailer_end < 0:
                    return False
                del self._buffer[: trailer_end + 4]
                return True
            del self._buffer[: end + 2]
            self._remaining = size


class Connection:
    """One kept-alive connection to one origin; one request at a time."""

    def __init__(self, reader: _Reader, loop: asyncio.AbstractEventLoop) -> None:
        self._reader = reader
        self._loop = loop  # kept: asyncio.get_running_loop() costs a getpid() call on 3.11

    @property
    def usable(self) -> bool:
        return not self._reader.lost

    async def post(self, request: bytes, timeout: float) -> Answer:
        """Send `request`, read its answer; TimeoutError after `timeout` seconds (the
        connection is then unusable: drop it)."""
        loop = self._loop
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._reader.expect(waiter)
        transport = self._reader.transport
        assert transport is not None
        transport.write(request)
        timer = loop.call_later(timeout, _expire, waiter)  # cheaper than asyncio.timeout
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if self._reader.transport is not None:
            self._reader.transport.close()


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("timed out"))


class Target:
    """A webhook URL split once: where to connect and the request's first lines."""

    __slots__ = ("head", "host", "origin", "port", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.origin = (parts.scheme, self.host, self.port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
            "Content-Type: application/json\r\nUser-Agent: dub-mock-webhooks\r\n"
        ).encode("latin-1")

    def request(self, body: bytes, signature: str) -> bytes:
        return b"%bDub-Signature: %b\r\nContent-Length: %d\r\n\r\n%b" % (
            self.head,
            signature.encode("ascii"),
            len(body),
            body,
        )


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


async def connect(target: Target, keep: int, timeout: float) -> Connection:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, reader = await loop.create_connection(
            lambda: _Reader(keep),
            target.host,
            target.port,
            ssl=_tls() if target.tls else None,
        )
    return Connection(reader, loop)
