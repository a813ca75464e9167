"""Hostile clients against the served mock: `dub-mock serve` (granian) and `MockServer` (waitress).

Raw sockets and hypothesis send what no SDK would: random bytes, truncated and 10,000-deep JSON,
multi-MB and invalid UTF-8 bodies, odd methods, paths and content types, thousands of headers,
slow clients, chunked bodies that announce a large chunk and stop, bodies over the limit written
whole before the answer is read, or endlessly. The promises: no 5xx, no hang, Dub's envelope
wherever the app answers, the server alive afterwards, and its state (a customer with a lead,
seeded first) untouched, since every one of these requests is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import MockServer
from mockserver.body import DRAIN_BYTES, DRAIN_SECONDS

from .rawhttp import (
    Answer,
    assert_acceptable,
    assert_envelope,
    exchange,
    http_request,
    probe,
    read_answer,
)
from .support import Served, request

pytestmark = pytest.mark.slow

ADMIN = "adm-secret-token"
TOKEN = b"Bearer dub_mock_key"
SALE = {"customerExternalId": "buyer", "amount": 4900, "invoiceId": "INV-hostile"}
STRANGER = {"customerExternalId": "stranger", "amount": 4900}  # valid, and records nothing
FUZZ = settings(
    max_examples=int(os.environ.get("DUB_MOCK_FUZZ_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass
class Target:
    kind: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict[str, Any]:
        status, body = request(
            self.url, "GET", "/__mock/state", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert status == 200, body
        return dict(body)


@contextlib.contextmanager
def serving(kind: str, workdir: Path) -> Iterator[Target]:
    """A mock of that kind, seeded with one customer with a lead.

    `serve-memory` and `serve-sqlite` are `dub-mock serve` with each store.
    """
    state = "memory://" if kind == "serve-memory" else f"sqlite:///{workdir}/state.db"
    seed = workdir / "seed.json"
    seed.write_text(json.dumps({"customers": [{"externalId": "buyer"}]}), encoding="utf-8")
    if kind.startswith("serve"):
        served = Served(
            ["--state", state, "--seed", str(seed), "--admin-token", ADMIN, "--quiet",
             "--no-rate-limit"],
            workdir,
        ).start()  # fmt: skip
        try:
            yield Target(kind, served.port)
        finally:
            served.stop()
    else:
        server = MockServer(
            state=state, seed=str(seed), admin_token=ADMIN, quiet=True, rate_limit=False
        ).start()
        try:
            yield Target("waitress", server.port)
        finally:
            server.stop()


@pytest.fixture(scope="module", params=["serve-memory", "serve-sqlite", "waitress"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with serving(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}")) as target:
        yield target


@pytest.fixture(autouse=True)
def untouched(target: Target) -> Iterator[None]:
    """Each test leaves the server alive and its state exactly as it found it."""
    before = target.state()
    assert [c["externalId"] for c in before["customers"]] == ["buyer"]
    yield
    answer = exchange(target.port, http_request(b"GET", b"/__mock/health"), timeout=10)
    assert answer is not None and answer.status == 200, "the server is not answering"
    assert target.state() == before


def api(body: bytes | None, *headers: tuple[bytes, bytes]) -> bytes:
    return http_request(b"POST", b"/track/sale", [(b"Authorization", TOKEN), *headers], body)


# -- hypothesis ---------------------------------------------------------------------------

TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) | st.text(
    TOKEN_CHARS, min_size=1, max_size=12
)
paths = st.sampled_from(
    ["/track/sale", "/track/sale/", "//track/sale", "/track/../track/sale", "/__mock/reset",
     "/__mock/customers", "/__mock/state", "/", "*", "/track/sale?workspaceId=x&workspaceId=y"]
) | st.text(string.ascii_letters + string.digits + "/%._~-?=&;:@!$'()*+,", max_size=60).map(
    lambda text: "/" + text
)  # fmt: skip
header_names = st.text(TOKEN_CHARS, min_size=1, max_size=20).filter(
    lambda name: name.lower() not in {"content-length", "transfer-encoding", "host", "connection"}
)
header_values = st.text(string.printable.strip() + " ", max_size=60)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=10), children, max_size=4
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    _containers,
    max_leaves=20,
)
sale_fields = st.fixed_dictionaries(
    {},
    optional={
        "customerExternalId": st.text(max_size=30).filter(lambda x: x != "buyer") | json_values,
        "amount": st.integers(-5, 10**18) | json_values,
        "currency": st.sampled_from(["usd", "EUR", "jpy", ""]) | json_values,
        "invoiceId": st.text(max_size=10) | json_values,
        "clickId": st.text(max_size=10) | json_values,
        "metadata": json_values,
        "paymentProcessor": st.sampled_from(["stripe", "shopify", "paddle", "x"]) | json_values,
        "eventName": st.text(max_size=300) | json_values,
        "customerEmail": st.emails() | json_values,
        "leadEventName": st.text(max_size=10) | json_values,
    },
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes | None:
    kind = draw(st.sampled_from(["none", "sale", "json", "truncated", "bytes", "latin1"]))
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    data = draw(sale_fields) if kind in {"sale", "truncated", "latin1"} else draw(json_values)
    raw = json.dumps(data).encode()
    if kind == "truncated" and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "latin1":
        return raw.replace(b'"', b'"\xe9', 1)
    return raw


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_get_an_answer_or_a_close(target: Target, data: bytes) -> None:
    assert_acceptable(probe(target.port, data))


@FUZZ
@given(
    method=methods,
    path=paths,
    headers=st.lists(st.tuples(header_names, header_values), max_size=8),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
            "*/*",
            "",
        ]
    ),
    auth=st.sampled_from([TOKEN, b"Bearer dub_nope", b"dub_mock_key", b"Bearer ", b""]),
    body=bodies(),
)
def test_fuzzed_requests_get_no_5xx_and_only_dub_envelopes(
    target: Target,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    content_type: str,
    auth: bytes,
    body: bytes | None,
) -> None:
    extra = [(name.encode(), value.encode()) for name, value in headers]
    if content_type:
        extra.append((b"Content-Type", content_type.encode()))
    if auth:
        extra.append((b"Authorization", auth))
    answer = exchange(target.port, http_request(method.encode(), path.encode(), extra, body))
    assert answer is not None, "a well-formed request got no answer"
    assert_acceptable(answer)


# -- hand-made hostile requests -------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 1, 2, 10, 25, 40, -2, -1])
def test_truncated_json_is_a_bad_request(target: Target, cut: int) -> None:
    raw = json.dumps(SALE).encode()
    answer = exchange(target.port, api(raw[:cut]))
    assert answer is not None and answer.status == 400
    assert_envelope(answer, "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"customerExternalId":"buyer","amount":1,"metadata":'
        + b'{"a":' * 10_000
        + b"1"
        + b"}" * 10_001,
        b"[" * 10_000,
    ],
    ids=["arrays", "objects", "deep-metadata", "unclosed"],
)
def test_ten_thousand_deep_nesting_is_refused(target: Target, body: bytes) -> None:
    answer = exchange(target.port, api(body))
    assert answer is not None and answer.status in {400, 422}
    assert_envelope(answer)


@pytest.mark.parametrize(
    "body",
    [
        b'{"customerExternalId":"\xff\xfe","amount":1}',
        b'{"customerExternalId":"buyer","amount":1,"invoiceId":"\xc3"}',
        b'{"customerExternalId":"buyer","amount":1,"metadata":{"k":"\xc0\xaf"}}',  # overlong
    ],
    ids=["ff-fe", "truncated-sequence", "overlong-encoding"],
)
def test_invalid_utf8_bodies_are_bad_requests(target: Target, body: bytes) -> None:
    answer = exchange(target.port, api(body))
    assert answer is not None and answer.status == 400
    assert_envelope(answer, "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        b'{"customerExternalId":"\xed\xa0\x80","amount":1}',  # a UTF-8-encoded lone surrogate
        b'{"customerExternalId":"\\ud800","amount":1}',
        b'{"customerExternalId":"buyer","amount":1,"metadata":{"k":"\\udfff"}}',
    ],
    ids=["surrogate-bytes", "surrogate-escape", "surrogate-in-metadata"],
)
def test_lone_surrogates_are_refused_not_a_crash(target: Target, body: bytes) -> None:
    answer = exchange(target.port, api(body))
    assert answer is not None and answer.status == 400
    assert_envelope(answer, "bad_request")


@pytest.mark.parametrize("depth", [300, 1000])
def test_deep_but_small_metadata_is_not_a_crash(target: Target, depth: int) -> None:
    metadata = b'{"a":' * depth + b"1" + b"}" * depth
    body = b'{"customerExternalId":"stranger","amount":1,"metadata":' + metadata + b"}"
    answer = exchange(target.port, api(body))
    assert answer is not None and answer.status in {200, 422}, answer
    assert_acceptable(answer)


@pytest.mark.parametrize(
    "raw",
    [
        http_request(b"POST", b"/track/sale\xff\xfe", [(b"Authorization", TOKEN)], b"{}"),
        http_request(b"POST", b"/track/sale", [(b"Authorization", b"Bearer \xff\xfe")], b"{}"),
        http_request(b"POST", b"/track/sale", [(b"X-Odd", b"\x80\x81\xff")], b"{}"),
        http_request(b"GET", b"/%ff%fe%00"),
        http_request(b"GET", b"/" + b"a" * 20_000),
        http_request(b"GET", b"/__mock/state?" + b"q=%ff&" * 2000),
    ],
    ids=["path", "token", "header", "escapes", "long-path", "long-query"],
)
def test_odd_bytes_outside_the_body_are_refused(target: Target, raw: bytes) -> None:
    assert_acceptable(exchange(target.port, raw))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=zz",
     "application/json; x=\x7f", "application/x-www-form-urlencoded", "image/png", ""],
)  # fmt: skip
def test_odd_content_types_do_not_break_the_api(target: Target, content_type: str) -> None:
    body = json.dumps({"customerExternalId": "stranger", "amount": 10}).encode()
    headers = [(b"Content-Type", content_type.encode())] if content_type else []
    answer = exchange(target.port, api(body, *headers))
    assert answer is not None
    assert_acceptable(answer)
    if answer.status == 200:  # an unknown customer without a click records nothing
        assert answer.json() == {"eventName": "Purchase", "customer": None, "sale": None}


@pytest.mark.parametrize(
    "method, path, status",
    [
        (b"GET", b"/track/sale", 405), (b"DELETE", b"/track/sale", 405),
        (b"PROPFIND", b"/track/sale", 405), (b"BREW", b"/track/sale", 405),
        (b"POST", b"/nowhere", 404), (b"GET", b"/track", 404),
        (b"POST", b"/__mock/nothing", 401), (b"DELETE", b"/__mock/state", 401),  # token first
        (b"TRACE", b"/", None), (b"CONNECT", b"127.0.0.1:1", None),
        (b"GET", b"http://elsewhere.example/track/sale", None), (b"OPTIONS", b"*", None),
        (b"X" * 300, b"/track/sale", None),
    ],
)  # fmt: skip
def test_odd_methods_and_paths(
    target: Target, method: bytes, path: bytes, status: int | None
) -> None:
    answer = exchange(target.port, http_request(method, path, [(b"Authorization", TOKEN)], b""))
    assert_acceptable(answer)
    if status is not None:
        assert answer is not None and answer.status == status
        assert_envelope(answer)


@pytest.mark.parametrize("count, size", [(5_000, 10), (200, 8_000), (1, 1_000_000)])
def test_thousands_of_headers_or_huge_ones(target: Target, count: int, size: int) -> None:
    headers = [(b"X-Filler-%d" % i, b"v" * size) for i in range(count)]
    answer = exchange(target.port, api(json.dumps(STRANGER).encode(), *headers))
    assert_acceptable(answer)


@pytest.mark.parametrize(
    "announce, sent",
    [(b"100000", b"abc"), (b"ffffffffffffffffffffffff", b"abc"), (b"zz", b"abc"),
     (b"5", b"abcdefghij"), (b"-1", b""), (b"100000;ext=1", b"x" * 1000)],
    ids=["large-then-close", "overflowing-size", "not-hex", "overlong-chunk", "negative",
         "extension"],
)  # fmt: skip
def test_chunked_bodies_that_lie_then_close(target: Target, announce: bytes, sent: bytes) -> None:
    head = (
        b"POST /track/sale HTTP/1.1\r\nHost: x\r\nAuthorization: " + TOKEN + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    for _ in range(5):
        assert_acceptable(probe(target.port, head + announce + b"\r\n" + sent))


@pytest.mark.parametrize("ending", ["half-close", "close"])
def test_a_chunked_body_cut_short_records_nothing(
    target: Target, ending: str, tmp_path: Path
) -> None:
    """A valid sale inside a chunk announced as 4096 bytes, then the client goes away.

    It runs on a server of its own, so that a failure cannot spill into the other tests.
    """
    body = json.dumps({**SALE, "invoiceId": "INV-cut-short"}).encode()
    head = (
        b"POST /track/sale HTTP/1.1\r\nHost: x\r\nAuthorization: " + TOKEN + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1000\r\n"
    )
    with serving(target.kind, tmp_path) as own:
        if ending == "half-close":
            assert_acceptable(probe(own.port, head + body))
        else:
            with socket.create_connection(("127.0.0.1", own.port), timeout=5) as sock:
                sock.sendall(head + body)
        time.sleep(0.5)  # let the server finish with it before the state is read
        sales = own.state()["sales"]
    assert sales == [], "a sale was recorded from a cut-short body"


def test_slow_clients_do_not_starve_the_server(target: Target) -> None:
    """40 clients stuck half-way through their headers; others are still served promptly."""
    socks = []
    try:
        for i in range(40):
            sock = socket.create_connection(("127.0.0.1", target.port), timeout=5)
            sock.sendall(b"POST /track/sale HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
            socks.append(sock)
        started = time.monotonic()
        answer = exchange(target.port, http_request(b"GET", b"/__mock/health"), timeout=5)
        assert answer is not None and answer.status == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in socks:
            sock.close()


STALLED = 80  # below waitress's connection_limit (100)


def test_slow_bodies_do_not_starve_the_server(target: Target) -> None:
    """80 clients that send their headers and a few bytes of a 1000-byte body, then stall."""
    socks = []
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", target.port), timeout=5)
            sock.sendall(api(None, (b"Content-Length", b"1000")) + b'{"amount":')
            socks.append(sock)
        time.sleep(0.3)
        answer = exchange(target.port, http_request(b"GET", b"/__mock/health"), timeout=5)
        assert answer is not None and answer.status == 200
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.5)  # let the stalled requests fail before the state is compared


def _upload(port: int, head: bytes, chunks: Iterator[bytes]) -> tuple[Answer | None, int]:
    """Send `head`, then `chunks` from a thread until the server answers; (answer, body sent)."""
    sent = [0]
    stop = threading.Event()
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head)

        def send() -> None:
            for chunk in chunks:
                if stop.is_set():
                    return
                try:
                    sock.sendall(chunk)
                except OSError:
                    return  # refused and closed: what the test wants
                sent[0] += len(chunk)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            answer = read_answer(sock, time.monotonic() + 15)
        finally:
            stop.set()
        sender.join(20)
    return answer, sent[0]


BIG = 64 * 1024 * 1024
BOUND = 16 * 1024 * 1024  # 16 times the 1 MiB limit: framing room and socket buffers included
PIECE = b"x" * 65536


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_bodies_over_the_limit_are_refused_before_they_are_read_whole(
    target: Target, framing: str
) -> None:
    head = b"POST /track/sale HTTP/1.1\r\nHost: x\r\nAuthorization: " + TOKEN + b"\r\n"
    if framing == "content-length":
        head += b"Content-Length: %d\r\n\r\n" % BIG
        chunks = (PIECE for _ in range(BIG // len(PIECE)))
    else:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        chunks = (b"%x\r\n%s\r\n" % (len(PIECE), PIECE) for _ in range(BIG // len(PIECE)))
    answer, sent = _upload(target.port, head, chunks)
    assert answer is not None and answer.status == 413
    assert_envelope(answer, "payload_too_large")
    assert sent < BOUND, f"the server read {sent} bytes before refusing"


MIB = 1024 * 1024


def _over_limit(framing: str, size: int | None) -> tuple[bytes, Iterator[bytes]]:
    """The head of a sale that would record, then its body in pieces: `size` bytes of it, or
    endless. If the server took it, the state check after the test would catch the sale."""
    sale = json.dumps({**SALE, "invoiceId": "INV-too-large"}).encode()
    head = b"POST /track/sale HTTP/1.1\r\nHost: x\r\nAuthorization: " + TOKEN + b"\r\n"
    if framing == "content-length":
        head += b"Content-Length: %d\r\n\r\n" % (size or 1 << 40)
    else:
        head += b"Transfer-Encoding: chunked\r\n\r\n"

    def pieces() -> Iterator[bytes]:
        left = size if size is not None else 1 << 40
        piece = sale.ljust(len(PIECE))  # JSON, then spaces
        while left > 0:
            piece = piece[:left]
            left -= len(piece)
            yield piece if framing == "content-length" else b"%x\r\n%s\r\n" % (len(piece), piece)
            piece = b" " * len(PIECE)
        if framing == "chunked":
            yield b"0\r\n\r\n"

    return head, pieces()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize(
    "size", [MIB + 1, 5_000_000, 20_000_000, 60_000_000], ids=["1MiB+1", "5MB", "20MB", "60MB"]
)
def test_bodies_over_the_limit_sent_whole_then_read_get_the_413(
    target: Target, framing: str, size: int
) -> None:
    """What urllib, requests and most SDKs do: write the whole body, then read. The server
    answers, then discards the rest (up to `DRAIN_BYTES`), so the 413 is there to read."""
    head, pieces = _over_limit(framing, size)
    with socket.create_connection(("127.0.0.1", target.port), timeout=15) as sock:
        sock.sendall(head)
        for piece in pieces:
            sock.sendall(piece)  # a reset here is the failure: the answer was lost with it
        answer = read_answer(sock, time.monotonic() + 15)
    assert answer is not None and answer.status == 413
    assert_envelope(answer, "payload_too_large")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_endless_body_is_discarded_only_up_to_a_bound(target: Target, framing: str) -> None:
    """Past `DRAIN_BYTES` the server closes: a client cannot make it read forever."""
    head, pieces = _over_limit(framing, None)
    sent = 0
    with socket.create_connection(("127.0.0.1", target.port), timeout=15) as sock:
        sock.sendall(head)
        with contextlib.suppress(OSError):
            for piece in pieces:
                sock.sendall(piece)
                sent += len(piece)
                if sent > 4 * DRAIN_BYTES:
                    break
    # Room for waitress's chunked framing (it reads 8 MiB before it refuses) and socket buffers.
    assert sent < DRAIN_BYTES + 32 * MIB, f"the server read {sent} bytes of a refused body"


def test_a_refused_body_that_trickles_is_discarded_only_for_a_while(target: Target) -> None:
    """Past `DRAIN_SECONDS` the server closes: a client cannot hold it by sending slowly."""
    if target.kind == "serve-sqlite":
        pytest.skip("the discarding is the HTTP front's: serve-memory covers it")
    head, pieces = _over_limit("content-length", 5_000_000)
    with socket.create_connection(("127.0.0.1", target.port), timeout=15) as sock:
        sock.sendall(head)
        answer = read_answer(sock, time.monotonic() + 5)
        answered = time.monotonic()
        assert answer is not None and answer.status == 413
        with pytest.raises(OSError):  # once closed, a send is reset
            for piece in pieces:
                sock.sendall(piece[:1000])
                time.sleep(0.05)
                assert time.monotonic() - answered < DRAIN_SECONDS + 3, "still reading"
        closed = time.monotonic() - answered
    assert closed > DRAIN_SECONDS - 0.5, f"closed after {closed:.2f}s, before the bound"
