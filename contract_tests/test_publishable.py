"""§6 the publishable-key routes, POST /track/lead/client and POST /track/sale/client.

The key checks come first and need no key at all (a missing, malformed or unknown key is refused
the same everywhere); the logic needs one (--publishable-key on a real server). Plans, the
600-a-minute limit and allowed hostnames need workspaces and keys made for them: admin API.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.client import TRACK_LEAD_CLIENT, TRACK_SALE_CLIENT, Exchange
from contract_tests.funnel import (
    INVALID_JSON,
    INVALID_PUBLISHABLE_KEY,
    MISSING_PUBLISHABLE_KEY,
    NEED_HIGHER_PLAN,
    TOO_MANY,
    UNKNOWN_API_KEY,
    UNKNOWN_PUBLISHABLE_KEY,
    hostnames_message,
    lead_body,
    lead_is_found,
)
from contract_tests.properties import rate_limit_problem
from contract_tests.rules import (
    check,
    expect_cors,
    expect_error,
    expect_lead_ok,
    expect_ok,
)
from contract_tests.target import Target

pytestmark = mark("client")

ROUTES = [TRACK_LEAD_CLIENT, TRACK_SALE_CLIENT]
PUBLISHABLE_LIMIT = 600
PARALLEL = 8


def _body(dub: Target, route: str, click_id: str = "") -> dict[str, Any]:
    """A valid body for `route`: a lead on `click_id`, or a sale for an unknown customer."""
    if route == TRACK_LEAD_CLIENT:
        return lead_body(dub, click_id or dub.unique("no-click"))
    return {"customerExternalId": dub.unique("nobody"), "amount": 100}


def _send(dub: Target, route: str, body: Any, key: str | None, **kwargs: Any) -> Exchange:
    if route == TRACK_LEAD_CLIENT:
        return dub.client.lead_client(body, key=key, **kwargs)
    return dub.client.sale_client(body, key=key, **kwargs)


def _rate_headers(answer: Exchange, what: str) -> None:
    problem = rate_limit_problem(answer.status, answer.headers)
    check(problem is None, "P1", f"{what} must carry the rate-limit headers: {problem}", answer)


# P1: the key, in order -------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_missing_publishable_key_is_401(dub: Target, route: str) -> None:
    """P1: no Authorization header answers 401 'Missing publishable key.', with CORS."""
    answer = _send(dub, route, _body(dub, route), key=None)
    expect_error(answer, "P1", 401, "unauthorized", MISSING_PUBLISHABLE_KEY)
    expect_cors(answer)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "authorization",
    ["bearer dub_pk_{suffix}", "Basic dub_pk_{suffix}", "Bearer pk_{suffix}", "Bearer {token}"],
    ids=["lower-bearer", "basic", "no-dub-pk-prefix", "secret-token"],
)
def test_malformed_publishable_key_is_400(dub: Target, route: str, authorization: str) -> None:
    """P1 and P4: no 'Bearer ', a key without dub_pk_, or a secret dub_ token: 400."""
    header = authorization.format(suffix=dub.run_id, token=dub.token)
    answer = _send(dub, route, _body(dub, route), key=None, headers={"Authorization": header})
    expect_error(answer, "P1", 400, "bad_request", INVALID_PUBLISHABLE_KEY)
    expect_cors(answer)


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_publishable_key_is_401_after_the_rate_limit(dub: Target, route: str) -> None:
    """P1: an unknown dub_pk_ key answers 401 'Invalid publishable key.', counted first (it
    carries the rate-limit headers of the 600-a-minute window)."""
    key = f"dub_pk_unknown{dub.run_id}"
    answer = _send(dub, route, _body(dub, route), key=key)
    expect_error(answer, "P1", 401, "unauthorized", UNKNOWN_PUBLISHABLE_KEY)
    _rate_headers(answer, "the unknown key's 401 (the limit comes before the lookup)")
    check(
        answer.headers.get("X-RateLimit-Limit") == str(PUBLISHABLE_LIMIT),
        "P1",
        f"a publishable key's limit is {PUBLISHABLE_LIMIT} a minute",
        answer,
    )
    expect_cors(answer)


@pytest.mark.parametrize("route", ROUTES)
def test_publishable_key_of_a_lower_plan_is_403(dub: Target, route: str) -> None:
    """P1: a key of a pro workspace answers 403 'Unauthorized: Need higher plan.'."""
    key = dub.publishable_in(dub.workspace(plan="pro"))
    answer = _send(dub, route, _body(dub, route), key=key)
    expect_error(answer, "P1", 403, "forbidden", NEED_HIGHER_PLAN)
    _rate_headers(answer, "the plan's 403")
    expect_cors(answer)


def test_publishable_key_limit_is_600_a_minute(dub: Target) -> None:
    """P1: a key's 600th request in the window passes (Remaining 0), the 601st is 429 with the
    headers; another key keeps its own budget."""
    key = dub.publishable_in(dub.workspace_id)
    dub.client.session.pacer.exempt.add(key)
    send = lambda _: dub.client.sale_client(raw=b"{", key=key)  # noqa: E731 - counted before the body
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(send, range(PUBLISHABLE_LIMIT)))
    statuses = {a.status for a in answers}
    check(statuses == {400}, "P1", f"600 requests in a window answered {statuses}", answers[-1])
    remaining = sorted(int(a.headers.get("X-RateLimit-Remaining", "-1")) for a in answers)
    check(
        remaining == list(range(PUBLISHABLE_LIMIT)),
        "P1",
        f"X-RateLimit-Remaining must count 599 down to 0, saw {remaining[:3]}..{remaining[-3:]}",
        answers[-1],
    )
    over = dub.client.sale_client(raw=b"{", key=key)
    expect_error(over, "P1", 429, "rate_limit_exceeded", TOO_MANY)
    _rate_headers(over, "the 429")
    retry_after = int(over.headers.get("Retry-After", "0"))
    check(retry_after > 0, "P1", "the 429's Retry-After must say when to come back", over)
    expect_cors(over)
    other = dub.publishable_in(dub.workspace_id)
    fresh = dub.client.sale_client(_body(dub, TRACK_SALE_CLIENT), key=other)
    check(fresh.status == 200, "P1", "another key must have its own budget", over, fresh)


@pytest.mark.parametrize("route", ROUTES)
def test_publishable_answers_carry_the_rate_limit_headers(dub: Target, route: str) -> None:
    """P1: a client route's 200 and its body errors carry the key's rate-limit headers."""
    key = dub.publishable()
    for answer in (
        _send(dub, route, _body(dub, route), key=key),
        _send(dub, route, None, key=key, raw=b"{"),
    ):
        _rate_headers(answer, f"an HTTP {answer.status} of {route}")
        check(
            answer.headers.get("X-RateLimit-Limit") == str(PUBLISHABLE_LIMIT),
            "P1",
            f"a publishable key's limit is {PUBLISHABLE_LIMIT} a minute",
            answer,
        )


@pytest.mark.parametrize("route", ["/track/sale", "/track/lead"])
def test_publishable_key_on_a_secret_route_is_401(dub: Target, route: str) -> None:
    """P4: a dub_pk_ key on /track/sale or /track/lead is an unknown API key (rule 4)."""
    key = dub.publishable()
    body = lead_body(dub, "x") if route == "/track/lead" else _body(dub, TRACK_SALE_CLIENT)
    answer = dub.client.send("POST", route, json_body=body, token=key)
    expect_error(answer, "P4", 401, "unauthorized", UNKNOWN_API_KEY)


# P2: the schema as written -----------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "change",
    ["alias-externalId", "alias-customerId", "empty", "missing", "too-long"],
)
def test_client_routes_read_customer_external_id_strictly(
    dub: Target, route: str, change: str
) -> None:
    """P2: no aliases; customerExternalId missing, "" or over 100 answers 422 naming it."""
    body = _body(dub, route)
    external_id = body.pop("customerExternalId")
    if change.startswith("alias-"):
        body[change.removeprefix("alias-")] = external_id
    elif change == "empty":
        body["customerExternalId"] = ""
    elif change == "too-long":
        body["customerExternalId"] = "c" * 101
    answer = _send(dub, route, body, key=dub.publishable())
    error = expect_error(answer, "P2", 422, "unprocessable_entity")
    check(
        "customerexternalid" in str(error.get("message", "")).lower(),
        "P2",
        "the 422 must name customerExternalId",
        answer,
    )
    expect_cors(answer)


def test_client_lead_requires_a_click_id(dub: Target) -> None:
    """P2: /track/lead/client without clickId answers 422 naming it."""
    body = lead_body(dub, None)
    answer = dub.client.lead_client(body, key=dub.publishable())
    error = expect_error(answer, "P2", 422, "unprocessable_entity")
    check("clickId" in str(error.get("message")), "P2", "the 422 must name clickId", answer)


@pytest.mark.parametrize("route", ROUTES)
def test_client_invalid_json_is_400(dub: Target, route: str) -> None:
    """P2: a body that is not JSON answers 400 (rule 9), with CORS."""
    answer = _send(dub, route, None, key=dub.publishable(), raw=b"{not json")
    expect_error(answer, "P2", 400, "bad_request", INVALID_JSON)
    expect_cors(answer)


# P3: allowed hostnames ---------------------------------------------------------------------------


@pytest.fixture
def guarded(dub: Target) -> tuple[str, str]:
    """(publishable key, click id) in a workspace that allows only shop.example."""
    workspace = dub.workspace(allowed_hostnames=["shop.example"])
    link = dub.link_record(workspaceId=workspace)
    click_id = dub.click(linkId=link["id"], workspaceId=workspace)
    return dub.publishable_in(workspace), click_id


@pytest.mark.parametrize("route", ROUTES)
def test_client_route_refuses_other_hostnames(
    dub: Target, route: str, guarded: tuple[str, str]
) -> None:
    """P3: another origin answers 403 with §5's message; an allowed one passes."""
    key, click_id = guarded
    body = _body(dub, route, click_id)
    refused = _send(dub, route, body, key=key, headers={"Referer": "https://evil.example/x"})
    expect_error(refused, "P3", 403, "forbidden", hostnames_message("evil.example"))
    expect_cors(refused)
    allowed = _send(dub, route, body, key=key, headers={"Origin": "https://shop.example"})
    check(allowed.status == 200, "P3", f"an allowed origin answered {allowed.status}", allowed)
    expect_cors(allowed)


@pytest.mark.parametrize("route", ROUTES)
def test_hostnames_are_checked_after_the_body(
    dub: Target, route: str, guarded: tuple[str, str]
) -> None:
    """P3: invalid JSON answers 400 and a schema break 422 before the hostname's 403."""
    key, _ = guarded
    evil = {"Referer": "https://evil.example/"}
    expect_error(_send(dub, route, None, key=key, raw=b"{", headers=evil), "P3", 400, "bad_request")
    body = {**_body(dub, route), "customerExternalId": ""}
    expect_error(_send(dub, route, body, key=key, headers=evil), "P3", 422, "unprocessable_entity")


def test_hostnames_are_checked_before_the_logic(dub: Target, guarded: tuple[str, str]) -> None:
    """P3: an unknown click from a refused origin answers the 403, not L3's 404."""
    key, _ = guarded
    body = lead_body(dub, dub.unique("no-click"))
    answer = dub.client.lead_client(body, key=key, headers={"Referer": "https://evil.example/"})
    expect_error(answer, "P3", 403, "forbidden", hostnames_message("evil.example"))


# C7 on the client routes: CORS and OPTIONS -------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_client_options_is_204_with_cors(dub: Target, route: str) -> None:
    """C7: any OPTIONS on a client route answers 204 with Dub's CORS headers, no key needed."""
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    for sent in ({}, headers):
        answer = dub.client.send("OPTIONS", route, token=None, headers=sent)
        check(answer.status == 204, "C7", f"OPTIONS answered {answer.status}", answer)
        expect_cors(answer)


# P5: the logic -----------------------------------------------------------------------------------


def test_client_lead_records_a_lead_a_sale_finds(dub: Target) -> None:
    """P5: a client lead creates the customer and its lead, as /track/lead does."""
    event = dub.unique("event")
    body = lead_body(dub, dub.click(), eventName=event, customerName="Client Lead")
    data = expect_lead_ok(answer := dub.client.lead_client(body, key=dub.publishable()), "P5")
    check(data["link"] is not None, "P5", "a new client lead answers its link", answer)
    check(data["customer"]["name"] == "Client Lead", "P5", "the customer is created", answer)
    check(
        lead_is_found(dub, body["customerExternalId"], event, "P5", answer),
        "P5",
        "a sale must find the lead recorded through /track/lead/client",
        answer,
    )


def test_client_and_secret_leads_share_the_dedup_key(dub: Target) -> None:
    """P5 and L2: the same lead through /track/lead/client then /track/lead is a duplicate."""
    body = lead_body(dub, dub.click())
    first = dub.client.lead_client(body, key=dub.publishable())
    check(expect_lead_ok(first, "P5")["link"] is not None, "P5", "recorded first", first)
    second = dub.client.lead(body)
    check(
        expect_lead_ok(second, "P5")["link"] is None,
        "P5",
        "the secret route must see the client route's lead as a duplicate (link null)",
        first,
        second,
    )


def test_client_sale_records_and_replays(dub: Target) -> None:
    """P5 and rule 13: a client sale records for a known customer, and its invoice replays."""
    external_id = dub.customer()
    invoice = dub.invoice()
    key = dub.publishable()
    first = dub.client.sale_client(
        {"customerExternalId": external_id, "amount": 1200, "invoiceId": invoice}, key=key
    )
    data = expect_ok(first, "P5")
    check(
        (data["customer"] or {}).get("externalId") == external_id
        and (data["sale"] or {}).get("amount") == 1200,
        "P5",
        "the client sale must be recorded for the customer",
        first,
    )
    expect_cors(first)
    again = dub.client.sale_client(
        {"customerExternalId": external_id, "amount": 9, "invoiceId": invoice}, key=key
    )
    check(
        again.json == first.json, "P5", "a repeated invoice replays the first answer", first, again
    )


def test_client_sale_for_unknown_customer_answers_nulls(dub: Target) -> None:
    """P5 and rule 15: an unknown customer answers 200 with customer and sale null."""
    answer = dub.client.sale_client(_body(dub, TRACK_SALE_CLIENT), key=dub.publishable())
    data = expect_ok(answer, "P5")
    check(data["customer"] is None and data["sale"] is None, "P5", "expected nulls", answer)
