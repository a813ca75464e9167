"""The suite's own judgement functions, on hand-made answers: what passes, what is flagged."""

from __future__ import annotations

import time

import pytest
import requests

from contract_tests.client import Exchange, Pacer
from contract_tests.properties import rate_limit_problem
from contract_tests.rules import ContractViolation, doc_url, envelope_problem

NOW = 1_795_000_000.0
RESET_MS = str(int(NOW * 1000) + 30_000)


def headers(**overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "X-RateLimit-Limit": "1200",
        "X-RateLimit-Remaining": "1199",
        "X-RateLimit-Reset": RESET_MS,
        "Retry-After": "30",
    }
    values.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    ("code", "url"),
    [
        ("bad_request", "bad-request"),
        ("not_found", "not-found"),
        ("unprocessable_entity", "unprocessable-entity"),
        ("rate_limit_exceeded", "rate-limit_exceeded"),
        ("internal_server_error", "internal-server_error"),
    ],
)
def test_doc_url_hyphenates_only_the_first_underscore(code: str, url: str) -> None:
    assert doc_url(code) == f"https://dub.co/docs/api-reference/errors#{url}"


def _envelope(code: str, url: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": "text"}
    error["doc_url"] = url if url is not None else doc_url(code)
    return {"error": error}


def test_envelope_accepts_dub_errors() -> None:
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    assert envelope_problem(404, json_type, _envelope("not_found")) is None
    assert envelope_problem(403, json_type, _envelope("exceeded_limit")) is None
    assert (
        envelope_problem(
            429, {"content-type": ["application/json"]}, _envelope("rate_limit_exceeded")
        )
        is None
    )


@pytest.mark.parametrize(
    ("status", "content_type", "body", "complaint"),
    [
        (404, "text/plain", _envelope("not_found"), "Content-Type"),
        (404, "application/json", {"code": "not_found", "message": "x"}, '{"error"'),
        (404, "application/json", _envelope("bad_request"), "belongs to HTTP 400"),
        (400, "application/json", _envelope("bad_request", "https://dub.co/x"), "doc_url"),
        (400, "application/json", _envelope("oops"), "not one of Dub's codes"),
        (400, "application/json", {"error": {"code": "bad_request", "message": ""}}, "non-empty"),
    ],
    ids=["text-plain", "flat", "wrong-code", "wrong-doc-url", "unknown-code", "empty-message"],
)
def test_envelope_flags_deviations(
    status: int, content_type: str, body: object, complaint: str
) -> None:
    problem = envelope_problem(status, {"Content-Type": content_type}, body)
    assert problem is not None and complaint in problem


def test_rate_limit_headers_accept_seconds_and_millisecond_retry_after() -> None:
    assert rate_limit_problem(200, headers(), now=NOW) is None
    assert rate_limit_problem(200, headers(Retry_After=RESET_MS), now=NOW) is None
    assert rate_limit_problem(429, headers(X_RateLimit_Remaining="0"), now=NOW) is None


@pytest.mark.parametrize(
    ("status", "changes", "complaint"),
    [
        (200, {"Retry_After": None}, "no Retry-After"),
        (422, {"X_RateLimit_Limit": None}, "no X-RateLimit-Limit"),
        (200, {"X_RateLimit_Reset": str(int(NOW) + 30)}, "milliseconds"),
        (200, {"X_RateLimit_Reset": str(int(NOW * 1000) + 3_600_000)}, "within a minute"),
        (200, {"X_RateLimit_Remaining": "1300"}, "not within"),
        (200, {"Retry_After": "soon"}, "not an integer"),
        (200, {"Retry_After": "3600"}, "neither seconds"),
        (429, {}, "expected 0"),
    ],
    ids=["no-retry-after", "no-limit", "reset-seconds", "reset-far", "remaining-over",
         "retry-text", "retry-hour", "429-remaining"],
)  # fmt: skip
def test_rate_limit_headers_flag_deviations(
    status: int, changes: dict[str, str | None], complaint: str
) -> None:
    problem = rate_limit_problem(status, headers(**changes), now=NOW)
    assert problem is not None and complaint in problem


@pytest.mark.parametrize(
    ("status", "changes", "ok"),
    [
        (200, {"Retry_After": "0"}, True),
        (200, {"Retry_After": "61"}, True),
        (200, {"Retry_After": "62"}, False),
        (200, {"Retry_After": "-1"}, False),
        (429, {"X_RateLimit_Remaining": "0", "Retry_After": "1"}, True),
        (429, {"X_RateLimit_Remaining": "0", "Retry_After": "0"}, False),
        (429, {"X_RateLimit_Remaining": "0", "Retry_After": "60"}, True),
        (200, {"Retry_After": str(10**11 - 1)}, False),  # too big for seconds, too small for ms
        (200, {"Retry_After": str(int(NOW * 1000) + 60_000)}, True),
        (200, {"Retry_After": str(int(NOW * 1000) + 3_600_000)}, False),
        (200, {"X_RateLimit_Remaining": "1200"}, True),
        (200, {"X_RateLimit_Remaining": "0"}, True),
        (200, {"X_RateLimit_Remaining": "-1"}, False),
        (200, {"X_RateLimit_Limit": "0", "X_RateLimit_Remaining": "0"}, False),
        (200, {"X_RateLimit_Reset": str(10**11 - 1)}, False),
    ],
    ids=["retry-0", "retry-61", "retry-62", "retry-negative", "429-retry-1", "429-retry-0",
         "429-retry-60", "retry-below-ms-floor", "retry-ms-in-window", "retry-ms-hour",
         "remaining-full", "remaining-0", "remaining-negative", "limit-0", "reset-below-ms-floor"],
)  # fmt: skip
def test_rate_limit_header_boundaries(status: int, changes: dict[str, str], ok: bool) -> None:
    """The decisive values of the Retry-After and window rules, on both sides of each bound."""
    problem = rate_limit_problem(status, headers(**changes), now=NOW)
    assert (problem is None) is ok, problem


def test_pacer_spaces_requests_to_the_rate() -> None:
    pacer = Pacer(rate=50)
    started = time.monotonic()
    for _ in range(11):
        pacer.wait("dub_x")
    assert time.monotonic() - started >= 0.19


def test_pacer_waits_out_an_exhausted_window() -> None:
    pacer = Pacer(reserve=2)
    reset = str(int((time.time() + 0.3) * 1000))
    pacer.observe("dub_x", {"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": reset})
    started = time.monotonic()
    pacer.wait("dub_x")
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    pacer.wait("dub_y")  # another token has its own window
    assert time.monotonic() - started < 0.1


def test_violation_report_shows_curl_without_the_token() -> None:
    exchange = Exchange(
        method="POST",
        url="http://127.0.0.1:9/track/sale",
        request_headers={
            "Authorization": "Bearer dub_secret_key",
            "Content-Type": "application/json",
        },
        request_body=b'{"amount":1}',
        status=200,
        headers=requests.structures.CaseInsensitiveDict({"Content-Type": "application/json"}),
        body=b'{"eventName":"Purchase","customer":null,"sale":null}',
        secrets=("dub_secret_key",),
    )
    text = str(ContractViolation("13", "the replay differs", [exchange]))
    assert "broken rule: Rule 13" in text
    assert "curl -sS -i -X POST http://127.0.0.1:9/track/sale" in text
    assert '"Authorization: Bearer $DUB_TOKEN"' in text
    assert "dub_secret_key" not in text
    assert "HTTP 200" in text and '"customer":null' in text


def test_violation_report_shows_publishable_keys_as_a_variable() -> None:
    exchange = Exchange(
        method="POST",
        url="http://127.0.0.1:9/track/sale/client",
        request_headers={"Authorization": "Bearer dub_pk_secretish"},
        request_body=b"{}",
        status=401,
        headers=requests.structures.CaseInsensitiveDict({"Content-Type": "application/json"}),
        body=b"{}",
        secrets=("dub_token",),
        publishable_keys=("dub_pk_secretish",),
    )
    text = exchange.curl()
    assert '"Authorization: Bearer $DUB_PUBLISHABLE_KEY"' in text
    assert "dub_pk_secretish" not in text


@pytest.mark.parametrize(
    ("nodeid", "shown"),
    [
        (
            "contract_tests/test_auth.py::test_unknown_token_is_401",
            "test_auth::test_unknown_token_is_401",
        ),
        (
            "/site/contract_tests/test_publishable.py::test_x[/track/lead/client]",
            "test_publishable::test_x[/track/lead/client]",
        ),
    ],
    ids=["plain", "slashes-in-the-parameter"],
)
def test_report_names_keep_parameters_whole(nodeid: str, shown: str) -> None:
    from contract_tests.runner import display_name

    assert display_name(nodeid) == shown


def test_areas_parse_and_select() -> None:
    from contract_tests.areas import marker_expression, parse_areas

    assert parse_areas("lead, click,lead") == ("lead", "click")
    assert marker_expression(("lead", "click")) == "contract_lead or contract_click"
    with pytest.raises(ValueError, match="refunds"):
        parse_areas("sale,refunds")
