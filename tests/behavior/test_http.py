"""HTTP around the operation: unknown paths (404), methods (405 with Allow), CORS and
--no-cors, the body limit (413 at exactly limit + 1, readable by a client that sends its whole
body first), malformed Content-Length, latency."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.datastructures import Headers

from mockserver import MockServer

from .support import HttpApi, Reply, WsgiApi

NOBODY = {"customerExternalId": "nobody", "amount": 100}
ORIGIN = "http://localhost:5173"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
LIMIT = 512


def _padded(size: int) -> bytes:
    """A valid track-sale body of exactly `size` bytes (JSON padded with trailing spaces)."""
    body = json.dumps(NOBODY).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


# --- 404 and 405 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("POST", "/track"), ("POST", "/track/sales"), ("POST", "/track/lead/x"),
     ("GET", "/links"), ("POST", "/TRACK/SALE")],
    ids=["root", "track", "plural", "deeper", "other-api", "upper-case"],
)  # fmt: skip
@pytest.mark.parametrize("authorized", [True, False], ids=["token", "no-token"])
def test_unknown_paths_are_404(api: HttpApi, method: str, path: str, authorized: bool) -> None:
    token = api.token if authorized else None
    reply = api.request(method, path, json_body=NOBODY, token=token)
    reply.expect_error(404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["/track//sale", "/track/sale//", "/track///sale", "/track/sale%2F%2F", "/track/%2Fsale",
     "/track/./sale", "/track/../track/sale", "/track/sale/..", "/__mock//state"],
    ids=["double-slash", "trailing-double-slash", "triple-slash", "encoded-slashes",
         "encoded-leading-slash", "dot", "dot-dot", "trailing-dot-dot", "admin-double-slash"],
)  # fmt: skip
def test_odd_paths_are_404_in_the_envelope_not_a_redirect_or_500(api: HttpApi, path: str) -> None:
    """A client joining a base URL that ends in `/` sends `/track//sale`: a 404, never a 5xx."""
    reply = api.request("POST", path, json_body=NOBODY, token=api.token)
    reply.expect_error(404, "not_found")
    assert "Location" not in reply.headers


def test_a_percent_encoded_path_is_decoded_once(api: HttpApi) -> None:
    assert api.request("POST", "/track/sal%65", json_body=NOBODY, token=api.token).status == 200
    reply = api.request("POST", "/track/sal%2565", json_body=NOBODY, token=api.token)
    reply.expect_error(404, "not_found")
    assert "/track/sal%65" in reply.error["message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("authorized", [True, False], ids=["token", "no-token"])
def test_an_undeclared_method_is_405_with_allow(
    api: HttpApi, method: str, authorized: bool
) -> None:
    token = api.token if authorized else None
    reply = api.request(method, "/track/sale", json_body=NOBODY, token=token)
    reply.expect_error(405, "method_not_allowed")
    assert reply.error["doc_url"] == "https://dub.co/docs/api-reference/errors#method-not_allowed"
    allowed = {m.strip() for m in reply.headers["Allow"].split(",")}
    assert "POST" in allowed and method not in allowed
    assert api.state()["sales"] == []


def test_options_that_is_not_a_preflight_is_405(api: HttpApi) -> None:
    for headers in ({}, {"Origin": ORIGIN}, {"Access-Control-Request-Method": "POST"}):
        reply = api.request("OPTIONS", "/track/sale", headers=headers)
        reply.expect_error(405, "method_not_allowed")
        assert "POST" in reply.headers["Allow"]


# --- CORS --------------------------------------------------------------------------------


def test_a_cors_preflight_is_answered(api: HttpApi) -> None:
    reply = api.request("OPTIONS", "/track/sale", headers=PREFLIGHT)
    assert 200 <= reply.status < 300, reply
    assert reply.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    assert "authorization" in reply.headers["Access-Control-Allow-Headers"].lower()
    assert "X-RateLimit-Limit" not in reply.headers
    # A preflight is not an API request: it is not rate-limited and not counted.
    assert api.track(NOBODY).headers["X-RateLimit-Remaining"] == "1199"


def test_answers_to_a_browser_carry_cors_headers(api: HttpApi) -> None:
    ok = api.track(NOBODY, headers={"Origin": ORIGIN})
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    refused = api.track(NOBODY, token=None, headers={"Origin": ORIGIN})
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")


def test_no_cors_answers_every_options_with_405(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(cors=False)
    reply = api.request("OPTIONS", "/track/sale", headers=PREFLIGHT)
    reply.expect_error(405, "method_not_allowed")
    assert "POST" in reply.headers["Allow"]
    assert "Access-Control-Allow-Origin" not in reply.headers
    ok = api.track(NOBODY, headers={"Origin": ORIGIN})
    assert ok.status == 200
    assert "Access-Control-Allow-Origin" not in ok.headers


# --- the body limit ----------------------------------------------------------------------


def test_a_body_of_exactly_the_limit_passes(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(max_body=LIMIT)
    reply = api.track(data=_padded(LIMIT))
    assert reply.status == 200, reply
    assert reply.json["customer"] is None


def test_a_body_just_under_the_limit_passes(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(max_body=LIMIT)
    reply = api.track(data=_padded(LIMIT - 1))
    assert reply.status == 200, reply


@pytest.mark.parametrize("authorized", [True, False], ids=["token", "no-token"])
def test_a_body_of_limit_plus_one_is_413_before_authentication(
    make_api: Callable[..., HttpApi], authorized: bool
) -> None:
    api = make_api(max_body=LIMIT)
    reply = api.track(data=_padded(LIMIT + 1), token=api.token if authorized else None)
    reply.expect_error(413, "payload_too_large")
    assert reply.error["doc_url"] == "https://dub.co/docs/api-reference/errors#payload-too_large"
    assert "X-RateLimit-Limit" not in reply.headers


def test_the_default_limit_is_one_mebibyte_and_exactly_that_passes(api: HttpApi) -> None:
    assert api.track(data=_padded(1024 * 1024)).status == 200


def test_over_the_default_limit_of_one_mebibyte_is_413(api: HttpApi) -> None:
    api.track(data=_padded(1024 * 1024 + 1)).expect_error(413, "payload_too_large")


def _chunked(body: bytes, port: int, chunk: int = 100) -> bytes:
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    head = (
        "POST /track/sale HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Authorization: Bearer dub_mock_key\r\n"
        "Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + encoded


def test_a_chunked_body_over_the_limit_is_413(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(max_body=LIMIT)
    assert api.raw(_chunked(_padded(LIMIT // 2), api.port)).status == 200
    api.raw(_chunked(_padded(LIMIT + 1), api.port)).expect_error(413, "payload_too_large")


def test_a_chunked_body_of_exactly_the_limit_passes(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(max_body=LIMIT)
    assert api.raw(_chunked(_padded(LIMIT), api.port)).status == 200


def test_a_chunked_body_under_the_limit_passes_whatever_its_framing(
    make_api: Callable[..., HttpApi],
) -> None:
    api = make_api(max_body=LIMIT)
    reply = api.raw(_chunked(_padded(LIMIT - 20), api.port, chunk=100))
    assert reply.status == 200, reply


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_in_process_the_limit_is_checked_from_content_length(
    make_wsgi: Callable[..., WsgiApi], store: str
) -> None:
    api = make_wsgi(store, max_body=LIMIT)
    assert api.track(data=_padded(LIMIT)).status == 200
    reply = api.send("POST", "/track/sale", {}, _padded(LIMIT + 1))
    reply.expect_error(413, "payload_too_large")


# --- a client that writes its whole body before it reads ------------------------------------

MIB = 1024 * 1024
SALE_OF_CUST_1 = {"customerExternalId": "cust_1", "amount": 4900, "invoiceId": "INV_BIG"}


def _send_whole_then_read(port: int, request: bytes) -> Reply:
    """Write the whole request, then read, as urllib, requests and most SDKs do: a reset while
    writing (the server closed with the body unread) fails the test, it is the bug."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = http.client.HTTPResponse(sock, method="POST")
        answer.begin()
        return Reply(answer.status, Headers(answer.getheaders()), answer.read())


def _with_length(body: bytes, port: int) -> bytes:
    head = (
        "POST /track/sale HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Authorization: Bearer dub_mock_key\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("size", [MIB + 1, 5_000_000, 20_000_000], ids=["1MiB+1", "5MB", "20MB"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_the_limit_sent_whole_still_reads_the_413(
    api: HttpApi, size: int, framing: str
) -> None:
    """The server answers, then discards the rest of the body, so the client reads the 413."""
    api.add_customer("cust_1")
    body = _padded_sale(size)
    if framing == "chunked":
        request = _chunked(body, api.port, chunk=65_536)
    else:
        request = _with_length(body, api.port)
    _send_whole_then_read(api.port, request).expect_error(413, "payload_too_large")
    assert api.state()["sales"] == []
    assert api.track(data=_padded_sale(1000)).status == 200  # the same sale, under the limit


def test_urllib_and_requests_sending_5_mb_read_the_413(api: HttpApi) -> None:
    body = b" " * 5_000_000
    headers = {"Authorization": "Bearer dub_mock_key", "Content-Type": "application/json"}
    sent = urllib.request.Request(api.url + "/track/sale", body, headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(sent, timeout=30)
    with refused.value as answer:
        assert answer.code == 413
        assert json.loads(answer.read())["error"]["code"] == "payload_too_large"
    with requests.post(api.url + "/track/sale", body, headers=headers, timeout=30) as answer:
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "payload_too_large"


def _padded_sale(size: int) -> bytes:
    body = json.dumps(SALE_OF_CUST_1).encode()
    return body + b" " * (size - len(body))


# --- malformed HTTP ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "length", ["abc", "-5", "1e3", "12, 12", "0x10"], ids=["word", "negative", "exponent",
                                                          "list", "hex"]
)  # fmt: skip
def test_a_malformed_content_length_is_400(api: HttpApi, length: str) -> None:
    request = (
        "POST /track/sale HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{api.port}\r\n"
        "Authorization: Bearer dub_mock_key\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + json.dumps(NOBODY).encode()
    _expect_malformed_refused(api, api.raw(request))
    assert api.state()["sales"] == []


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n",
     b"POST /track/sale HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
     b"POST /track/sale HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ids=["request-line", "header-without-colon", "bad-chunk-size"],
)  # fmt: skip
def test_malformed_http_is_400_in_the_envelope(api: HttpApi, request_bytes: bytes) -> None:
    _expect_malformed_refused(api, api.raw(request_bytes))


def _expect_malformed_refused(api: HttpApi, reply: Reply) -> None:
    """`MockServer` answers malformed HTTP in Dub's envelope. Under `dub-mock serve` the HTTP
    parser (hyper, inside granian) refuses it with a bare 400 before any Python runs."""
    if isinstance(api.server, MockServer):
        reply.expect_error(400, "bad_request")
    else:
        assert reply.status == 400, reply


@pytest.mark.parametrize("length", ["abc", "-1", " 12x"], ids=["word", "negative", "suffix"])
def test_in_process_a_malformed_content_length_is_400(wsgi: WsgiApi, length: str) -> None:
    reply = wsgi.send(
        "POST",
        "/track/sale",
        {"Authorization": "Bearer dub_mock_key"},
        json.dumps(NOBODY).encode(),
        environ={"CONTENT_LENGTH": length},
    )
    reply.expect_error(400, "bad_request")


def test_hostile_bodies_never_answer_5xx(api: HttpApi) -> None:
    bodies = [
        b"[" * 5000 + b"]" * 5000,
        b'{"metadata":' * 3000 + b"1" + b"}" * 3000,
        json.dumps({**NOBODY, "metadata": {"a": [[[[[[[[[[]]]]]]]]]]}}).encode(),
        b'{"customerExternalId": "c", "amount": 1e400}',
        b'{"customerExternalId": "c", "amount": 123456789012345678901234567890}',
        b"\x00" * 64,
    ]
    for body in bodies:
        reply = api.track(data=body)
        assert 200 <= reply.status < 500, (body[:40], reply)
        assert reply.headers["Content-Type"].startswith("application/json")


SURROGATE_CASES = {
    "unknown-customer": {"customerExternalId": "\ud800"},
    "direct-sale-external-id": {"customerExternalId": "\ud800", "clickId": "click_1"},
    "direct-sale-name": {"customerExternalId": "new_1", "clickId": "click_1",
                         "customerName": "\udfff"},
    "event-name": {"customerExternalId": "cust_1", "eventName": "\udfff"},
    "event-name-unknown-customer": {"customerExternalId": "nobody", "eventName": "\udfff"},
    "metadata-key": {"customerExternalId": "cust_1", "metadata": {"\udfff": 1}},
    "invoice-id": {"customerExternalId": "cust_1", "invoiceId": "\udfff"},
    "click-id": {"customerExternalId": "nobody", "clickId": "\udfff"},
    "currency": {"customerExternalId": "cust_1", "currency": "\udfff"},
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SURROGATE_CASES))
def test_lone_surrogates_never_answer_5xx_nor_break_the_state(api: HttpApi, case: str) -> None:
    api.add_click(id="click_1")
    api.add_customer("cust_1")
    body = {"amount": 100, **SURROGATE_CASES[case]}
    reply = api.track(data=json.dumps(body).encode())  # ensure_ascii keeps the \\ud800 escape
    assert reply.status < 500, reply
    assert api.admin("GET", "state").status == 200
    assert api.admin("GET", "requests").status == 200


# --- latency -----------------------------------------------------------------------------


def test_latency_delays_api_answers(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(latency_ms=(150, 150))
    started = time.monotonic()
    assert api.track(NOBODY).status == 200
    assert time.monotonic() - started >= 0.145


def test_a_latency_range_stays_within_its_bounds(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(latency_ms=(60, 120))
    for _ in range(3):
        started = time.monotonic()
        assert api.track(NOBODY).status == 200
        elapsed = time.monotonic() - started
        assert 0.058 <= elapsed < 0.6, elapsed


def test_delayed_requests_wait_side_by_side(make_api: Callable[..., HttpApi]) -> None:
    """Latency delays each answer, not the server: 6 requests wait at once, health stays quick."""
    api = make_api(latency_ms=(400, 400))
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        pending = [pool.submit(api.track, NOBODY) for _ in range(6)]
        time.sleep(0.1)
        health_started = time.monotonic()
        assert api.send("GET", "/__mock/health", {}, None).status == 200
        assert time.monotonic() - health_started < 0.3
        assert [reply.result().status for reply in pending] == [200] * 6
    assert time.monotonic() - started < 1.5  # one after another: 2.4 s


def test_without_latency_answers_are_quick(api: HttpApi) -> None:
    started = time.monotonic()
    assert api.track(NOBODY).status == 200
    assert time.monotonic() - started < 0.145  # below the 150 ms the latency test demands
