"""Raw-socket HTTP for hostile-input tests: send any bytes, read one answer, bounded in time.

`exchange` is for complete requests (the server must answer or close: silence is a hang);
`probe` is for garbage: it half-closes after sending, so a server waiting for more bytes sees
the end of the stream and must answer or close at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.errors import STATUS_BY_CODE, doc_url

HANG_S = 10.0


class Hang(AssertionError):
    """The server neither answered nor closed the connection in time."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def _parse(raw: bytes) -> Answer | None:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, rest)


def read_answer(sock: socket.socket, deadline: float) -> Answer | None:
    """One answer (head and Content-Length body), or None when the server closed first."""
    raw = b""
    while True:
        answer = _parse(raw)
        if answer is not None:
            if "content-length" not in answer.headers:
                answer.body += _drain(sock, deadline)
                return answer
            length = int(answer.headers["content-length"] or 0)
            if len(answer.body) >= length:
                answer.body = answer.body[:length]
                return answer
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Hang(f"no answer in {HANG_S}s; got {raw[:200]!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise Hang(f"no answer in {HANG_S}s; got {raw[:200]!r}") from None
        except ConnectionError:
            chunk = b""
        if not chunk:
            return _parse(raw)
        raw += chunk


def _drain(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    return data


def _send(sock: socket.socket, data: bytes) -> None:
    # The server may refuse early (413, 431) and close: its answer is still readable.
    with contextlib.suppress(ConnectionError):
        sock.sendall(data)


def exchange(port: int, data: bytes, timeout: float = HANG_S) -> Answer | None:
    """Send a complete request; its answer, or None if the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        _send(sock, data)
        return read_answer(sock, time.monotonic() + timeout)


def probe(port: int, data: bytes, timeout: float = HANG_S) -> Answer | None:
    """Send anything, then end the stream; the answer, or None if the server just closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        _send(sock, data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock, time.monotonic() + timeout)


def http_request(
    method: bytes,
    path: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes | None = None,
) -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def assert_acceptable(answer: Answer | None) -> None:
    """No 5xx; any error body is Dub's envelope (the HTTP layer's own answers have none)."""
    if answer is None:
        return
    assert answer.status < 500, (answer.status, answer.body[:500])
    if answer.status >= 400 and answer.body:
        assert_envelope(answer)


def assert_envelope(answer: Answer, code: str | None = None) -> None:
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "doc_url"}, error
    assert STATUS_BY_CODE.get(error["code"]) == answer.status, (answer.status, error)
    assert error["doc_url"] == doc_url(error["code"])
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
