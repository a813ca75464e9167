"""Reading a request body without trusting the client: bounded, before anything parses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BadRequest, PayloadTooLarge

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

READ_CHUNK = 64 * 1024

#: After a 413, both servers read and discard the rest of the body, up to this many bytes or
#: this many seconds, before closing. Closed at once with the body unread, the socket resets the
#: connection, and a client that writes its whole body before it reads (urllib, requests, most
#: SDKs) gets EPIPE/ECONNRESET instead of the 413. 64 MiB covers 20 MB uploads with room to
#: spare and drains in well under a second on loopback; 2 s stops a client that trickles bytes
#: from holding the connection. Past either bound the connection is closed.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 2.0


def announced_length(environ: WSGIEnvironment, limit: int) -> int | None:
    """Content-Length as a number (None when absent); 413 over `limit`, 400 when malformed."""
    raw = environ.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadRequest("Malformed Content-Length header.")
    length = int(raw)
    if length > limit:
        raise PayloadTooLarge(limit)
    return length


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; a body of exactly `limit` bytes passes."""
    stream = environ["wsgi.input"]
    length = announced_length(environ, limit)
    if length is not None:
        data = stream.read(length) if length else b""
        if len(data) < length:
            raise BadRequest("The request body ended before its Content-Length.")
        return bytes(data)
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked and not environ.get("wsgi.input_terminated"):
        return b""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(limit)
