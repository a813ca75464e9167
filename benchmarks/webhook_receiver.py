"""A fast local webhook receiver for webhook_bench.py: answers every POST 200 at once and counts
the distinct event ids it was sent.

One asyncio protocol on uvloop (when installed), HTTP/1.1 with keep-alive, no framework: the
mock's senders keep their connections open, so the receiver's cost per delivery is a header
scan and a set insert. Signatures are not checked on the hot path; the first delivery after
each reset is kept (body and `Dub-Signature`) for the benchmark to verify.

    .venv/bin/python benchmarks/webhook_receiver.py --port 9999

    GET  /stats   {"requests", "distinct", "byEvent", "firstAt", "lastNewAt", "sample"}
    POST /reset   forget everything counted so far
    any other     200, empty; a body starting {"id":"evt_ counts as a delivery
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, cast

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
ID_PREFIX = b'{"id":"evt_'
EVENT_FIELD = b'"event":"'


class Counts:
    """What the receiver has been sent since the last reset."""

    def __init__(self) -> None:
        self.requests = 0
        self.ids: set[bytes] = set()
        self.by_event: dict[str, int] = {}
        self.first_at: float | None = None
        self.last_new_at: float | None = None
        self.sample: dict[str, str] | None = None

    def add(self, body: bytes, signature: bytes) -> None:
        self.requests += 1
        if not body.startswith(ID_PREFIX):
            return
        end = body.index(b'"', len(ID_PREFIX))
        event_id = body[7:end]
        now = time.time()
        if self.first_at is None:
            self.first_at = now
        if event_id in self.ids:
            return
        self.ids.add(event_id)
        self.last_new_at = now
        start = body.find(EVENT_FIELD, end)
        if start >= 0:
            start += len(EVENT_FIELD)
            name = body[start : body.index(b'"', start)].decode()
            self.by_event[name] = self.by_event.get(name, 0) + 1
        if self.sample is None:
            self.sample = {"body": body.decode(), "signature": signature.decode()}

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "distinct": len(self.ids),
            "byEvent": self.by_event,
            "firstAt": self.first_at,
            "lastNewAt": self.last_new_at,
            "sample": self.sample,
        }


class Receiver(asyncio.Protocol):
    """One connection: parse requests out of the byte stream, answer each at once."""

    counts = Counts()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end]
            length = 0
            signature = b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"dub-signature":
                    signature = value.strip()
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4 : end]
            self.buffer = self.buffer[end:]
            self.transport.write(self.answer(head.split(b" ", 2), body, signature))

    def answer(self, request_line: list[bytes], body: bytes, signature: bytes) -> bytes:
        method, path = request_line[0], request_line[1] if len(request_line) > 1 else b"/"
        if method == b"GET" and path == b"/stats":
            payload = json.dumps(Receiver.counts.stats()).encode()
            return (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
        if method == b"POST" and path == b"/reset":
            Receiver.counts = Counts()
            return OK
        Receiver.counts.add(body, signature)
        return OK


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
