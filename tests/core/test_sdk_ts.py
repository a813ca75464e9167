"""Dub's official TypeScript SDK (`dub` on npm, the one a Next.js app uses), pointed at a served
mock: lead then sale attributed to the visitor's click, and its typed errors for each 4xx.

The SDK parses every answer with its own zod schemas, so an envelope or a response that strays
from Dub's shape surfaces here as a `ResponseValidationError` instead of the typed result.
`make test` installs the SDK pinned in `tests/sdk_ts/package-lock.json` when npm is present;
without Node.js the tests skip and say why (and fail under `CI=true`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.support import unavailable
from sdk_support import arrange, link_and_click

from mockserver import MockServer

DRIVER = Path(__file__).resolve().parents[1] / "sdk_ts" / "calls.mjs"
SDK = DRIVER.parent / "node_modules" / "dub" / "package.json"


def node_problem() -> str | None:
    if shutil.which("node") is None:
        return "no node on PATH: apt-get install nodejs npm, then make test installs the SDK"
    if not SDK.exists():
        return f"the TypeScript SDK is not installed: npm ci --prefix {DRIVER.parent}"
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    problem = node_problem()
    if problem is not None:
        unavailable(problem)
    with MockServer() as running:
        yield running


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    assert server.app is not None
    server.app.reset()
    return server


def run(mock: MockServer, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    """Each call through the SDK, in one Node.js process: what it returned or threw."""
    done = subprocess.run(
        ["node", str(DRIVER), mock.url],
        input=json.dumps([{"token": "dub_mock_key", **call} for call in calls]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcomes: list[dict[str, Any]] = json.loads(done.stdout)
    return outcomes


def lead(click_id: str, external_id: str = "user_7", **fields: Any) -> dict[str, Any]:
    request = {"clickId": click_id, "eventName": "Sign up", "customerExternalId": external_id}
    return {"op": "lead", "request": {**request, **fields}}


def test_lead_then_sale_through_the_ts_sdk_lands_on_the_click_link(mock: MockServer) -> None:
    link, click = link_and_click(
        mock, domain="shop.link", key="spring", url="https://shop.example/spring"
    )
    sale = {"customerExternalId": "user_7", "amount": 4900, "invoiceId": "INV_7"}
    signed_up, paid, again = run(
        mock,
        lead(click["id"], customerName="Grace", metadata={"plan": "trial"}),
        {"op": "sale", "request": sale},
        lead(click["id"]),
    )
    assert signed_up["ok"] and paid["ok"] and again["ok"], (signed_up, paid, again)
    answer = signed_up["result"]
    assert answer["click"] == {"id": click["id"]}
    assert (answer["link"]["id"], answer["link"]["shortLink"]) == (
        link["id"],
        "https://shop.link/spring",
    )
    assert (answer["customer"]["name"], answer["customer"]["externalId"]) == ("Grace", "user_7")
    assert paid["result"]["customer"]["name"] == "Grace"
    paid_sale = paid["result"]["sale"]
    assert (paid_sale["amount"], paid_sale["invoiceId"]) == (4900, "INV_7")
    assert again["result"]["link"] is None  # the same sign-up again: a duplicate
    assert mock.app is not None
    state = mock.app.store.snapshot()
    (recorded,) = state["leads"]
    (recorded_sale,) = state["sales"]
    assert (recorded["clickId"], recorded["metadata"]) == (click["id"], {"plan": "trial"})
    assert (recorded_sale["linkId"], recorded_sale["leadId"]) == (link["id"], recorded["id"])


def test_a_deferred_lead_through_the_ts_sdk_waits_for_the_next_request(mock: MockServer) -> None:
    _, click = link_and_click(mock)
    deferred, later = run(
        mock, lead(click["id"], mode="deferred"), lead("", mode="wait", eventQuantity=2)
    )
    assert deferred["ok"] and later["ok"], (deferred, later)
    assert later["result"]["click"]["id"] == click["id"]
    assert mock.app is not None
    assert [row["clickId"] for row in mock.app.store.snapshot()["leads"]] == [click["id"]] * 2


def test_an_unknown_customer_sale_answers_the_ts_sdk_nulls(mock: MockServer) -> None:
    (outcome,) = run(mock, {"op": "sale", "request": {"customerExternalId": "nobody", "amount": 1}})
    assert outcome == {
        "ok": True,
        "result": {"eventName": "Purchase", "customer": None, "sale": None},
    }


ERRORS = [
    # (id, setup, call, class, status, code, message fragment)
    ("unauthorized", None, {"token": "dub_unknown"}, "Unauthorized", 401, "unauthorized",
     "Unauthorized: Invalid API key."),
    ("bad-request", None, {"headers": {"Authorization": "Token dub_mock_key"}}, "BadRequest",
     400, "bad_request", "Did you forget to add 'Bearer '?"),
    ("forbidden", "viewer", {"token": "dub_viewer"}, "Forbidden", 403, "forbidden",
     "Required role(s): owner, member"),
    ("not-found", None, {"click": "no_such_click"}, "NotFound", 404, "not_found",
     "Click event not found for clickId: no_such_click"),
    ("unprocessable", None, {"fields": {"eventQuantity": 101}}, "UnprocessableEntity", 422,
     "unprocessable_entity", "eventQuantity"),
    ("rate-limited", "limited", {"token": "dub_limited"}, "RateLimitExceeded", 429,
     "rate_limit_exceeded", "Too many requests."),
    ("conflict", "fault409", {}, "Conflict", 409, "conflict", "Fault injected by dub-mock"),
    ("internal", "fault500", {}, "InternalServerError", 500, "internal_server_error",
     "Fault injected by dub-mock"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "call", "error", "status", "code", "message"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_the_ts_sdk_raises_its_typed_error(
    mock: MockServer,
    setup: str | None,
    call: dict[str, Any],
    error: str,
    status: int,
    code: str,
    message: str,
) -> None:
    assert mock.app is not None
    click = arrange(mock, setup, call.get("token", "dub_mock_key"))
    attempt = lead(call.get("click", click["id"]), **call.get("fields", {}))
    attempt.update({key: call[key] for key in ("token", "headers") if key in call})
    first = [{**attempt, "op": "sale", "request": {"customerExternalId": "nobody", "amount": 1}}]
    outcomes = run(mock, *(first if setup == "limited" else []), attempt)
    assert outcomes[-1]["ok"] is False, outcomes[-1]
    outcome = outcomes[-1]
    assert (outcome["error"], outcome["status"], outcome["code"]) == (error, status, code)
    assert message in outcome["message"]
    assert mock.app.store.snapshot()["leads"] == []
