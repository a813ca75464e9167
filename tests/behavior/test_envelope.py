"""The error envelope: every non-200 answer is Dub's JSON, with the code's status and doc_url."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .support import OPAQUE_INVALID, Api, HttpApi, PinnedClock, WsgiApi

INTERNAL_MESSAGE = (
    "An internal server error occurred. Please contact our support if the problem persists."
)


def _bad_header(api: Api) -> Any:
    return api.track({"customerExternalId": "c", "amount": 1}, token=None,
                     headers={"Authorization": "Token x"})  # fmt: skip


def _missing_header(api: Api) -> Any:
    return api.track({"customerExternalId": "c", "amount": 1}, token=None)


def _viewer(api: Api) -> Any:
    api.add_token("dub_viewer", role="viewer")
    return api.track({"customerExternalId": "c", "amount": 1}, token="dub_viewer")


def _unknown_click(api: Api) -> Any:
    return api.track({"customerExternalId": "c", "amount": 1, "clickId": "nope"})


def _forced(status: int) -> Callable[[Api], Any]:
    def send(api: Api) -> Any:
        return api.track({"customerExternalId": "c", "amount": 1},
                         headers={"Prefer": f"code={status}"})  # fmt: skip

    return send


def _invalid_amount(api: Api) -> Any:
    return api.track({"customerExternalId": "c", "amount": -1})


def _over_limit(api: Api) -> Any:
    api.add_token("dub_once", rateLimitPerMinute=1)
    api.track({"customerExternalId": "c", "amount": 1}, token="dub_once")
    return api.track({"customerExternalId": "c", "amount": 1}, token="dub_once")


# Each code the mock can produce for /track/sale, the doc_url Dub gives it (only the FIRST
# underscore becomes a hyphen), and a request that provokes it.
CODES = [
    ("bad_request", 400, "https://dub.co/docs/api-reference/errors#bad-request", _bad_header),
    ("unauthorized", 401, "https://dub.co/docs/api-reference/errors#unauthorized",
     _missing_header),
    ("forbidden", 403, "https://dub.co/docs/api-reference/errors#forbidden", _viewer),
    ("not_found", 404, "https://dub.co/docs/api-reference/errors#not-found", _unknown_click),
    ("conflict", 409, "https://dub.co/docs/api-reference/errors#conflict", _forced(409)),
    ("invite_expired", 410, "https://dub.co/docs/api-reference/errors#invite-expired",
     _forced(410)),
    ("unprocessable_entity", 422,
     "https://dub.co/docs/api-reference/errors#unprocessable-entity", _invalid_amount),
    ("rate_limit_exceeded", 429,
     "https://dub.co/docs/api-reference/errors#rate-limit_exceeded", _over_limit),
    ("internal_server_error", 500,
     "https://dub.co/docs/api-reference/errors#internal-server_error", _forced(500)),
]  # fmt: skip


@pytest.mark.parametrize(("code", "status", "doc_url", "provoke"), CODES, ids=[c[0] for c in CODES])
def test_every_error_code_answers_its_status_and_doc_url(
    api: HttpApi, code: str, status: int, doc_url: str, provoke: Callable[[Api], Any]
) -> None:
    reply = provoke(api)
    reply.expect_error(status, code)
    assert reply.error["doc_url"] == doc_url
    assert reply.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert isinstance(reply.error["message"], str) and reply.error["message"]


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/nowhere", "GET", None),
        ("/track/sale", "GET", None),
        ("/track/sale", "POST", b"{"),
        ("/track/sale", "POST", OPAQUE_INVALID),
    ],
    ids=["unknown-path", "wrong-method", "bad-json", "binary-body"],
)
def test_non_200_answers_are_json_never_html(
    api: HttpApi, path: str, method: str, body: bytes | None
) -> None:
    reply = api.request(method, path, data=body, token=api.token)
    assert reply.status != 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.json) == {"error"}
    assert b"<html" not in reply.body.lower()
    assert b"Traceback" not in reply.body


class CrashOnce:
    """A clock that fails the first time it is armed and read: an unexpected crash mid-request."""

    def __init__(self, clock: PinnedClock) -> None:
        self.clock = clock
        self.armed = False

    def __call__(self) -> float:
        if self.armed:
            self.armed = False
            raise RuntimeError("clock failure deep inside a request")
        return self.clock()


def test_an_unexpected_crash_answers_500_with_the_fixed_message(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    crashing = CrashOnce(clock)
    api = make_wsgi(clock=crashing)
    crashing.armed = True
    reply = api.track({"customerExternalId": "c", "amount": 1})
    reply.expect_error(500, "internal_server_error", INTERNAL_MESSAGE)
    assert b"Traceback" not in reply.body
    assert b"clock failure" not in reply.body
    # The mock keeps serving after the crash.
    assert api.track({"customerExternalId": "c", "amount": 1}).status == 200
    capsys.readouterr()
