"""The webhook senders' HTTP/1.1 client (`dub-mock serve` delivers with it from its event loop):
each way a receiver may frame its answer, read right, over a real socket on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mockserver.webhooks.http1 import ProtocolError, Target, connect

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def exchange(reply: Reply, posts: int = 1, timeout: float = 5.0) -> list[object]:
    """Serve `reply` on a free port, POST `posts` times over one connection; the answers (or
    the exception of the post that failed)."""
    seen: list[tuple[bytes, bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                seen.append(await read_request(reader))
                await reply(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = Target(f"http://127.0.0.1:{port}/hooks?x=1")
    results: list[object] = []
    try:
        connection = await connect(target, 16, timeout)
        for n in range(posts):
            try:
                answer = await connection.post(target.request(b'{"n":%d}' % n, "ab"), timeout)
            except Exception as error:  # the test looks at which
                results.append(error)
                break
            results.append((answer.status, answer.body, answer.reusable))
        connection.close()
    finally:
        server.close()
    for head, body in seen:
        assert head.startswith(b"POST /hooks?x=1 HTTP/1.1\r\n")
        assert b"\r\nDub-Signature: ab\r\n" in head and b"Content-Type: application/json" in head
        assert body.startswith(b'{"n":')
    return results


def run(reply: Reply, posts: int = 1, timeout: float = 5.0) -> list[object]:
    return asyncio.run(exchange(reply, posts, timeout))


def answer(raw: bytes) -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return reply


def test_content_length_answers_on_one_kept_alive_connection() -> None:
    results = run(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), posts=3)
    assert results == [(200, b"ok", True)] * 3


def test_an_answer_sent_in_pieces_is_put_together() -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for piece in (b"HTTP/1.1 201 Cre", b"ated\r\nContent-Le", b"ngth: 5\r\n\r\nab", b"cde"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)

    assert run(reply, posts=2) == [(201, b"abcde", True)] * 2


def test_chunked_answers_with_and_without_trailers() -> None:
    chunked = (
        b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    with_trailer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Sum: 1\r\n\r\n"
    )
    replies = iter([chunked, with_trailer, chunked])

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(next(replies))
        await writer.drain()

    assert run(reply, posts=3) == [(500, b"abcde", True), (200, b"x", True), (500, b"abcde", True)]


def test_an_interim_100_continue_is_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    assert run(answer(raw), posts=2) == [(202, b"", True)] * 2


def test_connection_close_and_http_1_0_are_not_reused() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    assert run(answer(closing)) == [(200, b"", False)]
    assert run(answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")) == [(200, b"", False)]


def test_a_body_that_runs_to_the_end_of_the_connection() -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    assert run(reply) == [(200, b"until the end", False)]


def test_a_long_body_is_cut_to_what_is_kept_and_the_connection_dropped() -> None:
    assert run(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"y" * 40)) == [
        (200, b"y" * 16, False)
    ]


def test_a_receiver_that_closes_without_answering_fails_the_attempt() -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    [error] = run(reply)
    assert isinstance(error, ConnectionError)


def test_garbage_is_a_protocol_error() -> None:
    [error] = run(answer(b"SMTP ready\r\n\r\n"))
    assert isinstance(error, ProtocolError)
    [error] = run(answer(b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n"))
    assert isinstance(error, ProtocolError)


def test_a_silent_receiver_times_out() -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    [error] = run(reply, timeout=0.2)
    assert isinstance(error, TimeoutError)


@pytest.mark.parametrize("url", ["ftp://example.com/", "http:///nohost", "not a url"])
def test_a_url_the_client_cannot_post_to_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        Target(url)
