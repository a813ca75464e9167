"""BEHAVIOR §6, publishable keys on `POST /track/lead/client` and `POST /track/sale/client`: the
key checks in order, 600 a minute per key, the strict schema, allowed hostnames, CORS, and the
lead and sale logic of §4 and §3 behind them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from .support import (
    INVALID_JSON,
    OPAQUE_INVALID,
    RATE_HEADERS,
    HttpApi,
    PinnedClock,
    Reply,
    WsgiApi,
    expect_dub_cors,
    expect_no_rate_headers,
    expect_rate_headers,
)

MISSING_KEY = "Missing publishable key."
MALFORMED_KEY = "Invalid or missing publishable key."
UNKNOWN_KEY = "Invalid publishable key."
PLAN = "Unauthorized: Need higher plan."
TOO_MANY = "Too many requests."
INVALID_API_KEY = "Unauthorized: Invalid API key."
ROUTES = ("/track/lead/client", "/track/sale/client")
LIMIT = 600


def _forbidden(hostname: str) -> str:
    return (
        f"Request origin '{hostname}' is not included in the allowed hostnames for this "
        "workspace. Update your allowed hostnames here: https://app.dub.co/settings/tracking"
    )


def _lead(external_id: str = "new_1", click_id: str = "", **fields: Any) -> dict[str, Any]:
    return {"customerExternalId": external_id, "eventName": "Sign up", "clickId": click_id,
            **fields}  # fmt: skip


def _sale(external_id: str = "new_1", amount: int = 100, **fields: Any) -> dict[str, Any]:
    return {"customerExternalId": external_id, "amount": amount, **fields}


def _body_for(route: str) -> dict[str, Any]:
    return _lead("nobody") if route == ROUTES[0] else _sale("nobody")


NO_CLICK = (
    "The `clickId` property was not provided in the request, and no existing customer with "
    "the provided `customerExternalId` was found."
)
NULLS = {"eventName": "Purchase", "customer": None, "sale": None}


def _expect_logic(route: str, reply: Reply) -> None:
    """Past every check, `_body_for(route)` reaches the logic: L1's 400, or rule 15's nulls."""
    expect_dub_cors(reply)
    if route == ROUTES[0]:
        reply.expect_error(400, "bad_request", NO_CLICK)
    else:
        assert reply.status == 200, reply
        assert reply.json == NULLS


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    expect_dub_cors(reply)
    return reply.json  # type: ignore[no-any-return]


def _refused(reply: Reply, status: int, code: str, message: str | None = None) -> Reply:
    reply.expect_error(status, code, message)
    expect_dub_cors(reply)
    return reply


def _nothing_recorded(api: HttpApi) -> None:
    state = api.state()
    for kind in ("customers", "leads", "sales"):
        assert state[kind] == [], (kind, state[kind])


# --- the key, in order --------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_no_authorization_is_401_before_the_body(api: HttpApi, route: str) -> None:
    for data in (json.dumps(_body_for(route)).encode(), b"{not json"):
        reply = _refused(api.post(route, data=data), 401, "unauthorized", MISSING_KEY)
        expect_no_rate_headers(reply)


MALFORMED = [
    ("secret-key", "Bearer dub_mock_key"),
    ("lower-case-bearer", "bearer dub_pk_abc"),
    ("bare-key", "dub_pk_abc"),
    ("basic", "Basic ZHViOnh4"),
    ("other-prefix", "Bearer pk_live_abc"),
    ("upper-case-prefix", "Bearer DUB_PK_abc"),
    ("empty-key", "Bearer "),
    ("two-spaces", "Bearer  dub_pk_abc"),
]


@pytest.mark.parametrize("header", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_key_is_400_before_the_body(api: HttpApi, header: str) -> None:
    for route in ROUTES:
        for data in (json.dumps(_body_for(route)).encode(), b"{not json"):
            reply = api.post(route, data=data, headers={"Authorization": header})
            _refused(reply, 400, "bad_request", MALFORMED_KEY)
            expect_no_rate_headers(reply)
    _nothing_recorded(api)


@pytest.mark.parametrize("route", ROUTES)
def test_an_unknown_key_is_401_and_counted(api: HttpApi, route: str) -> None:
    for remaining, data in ((599, json.dumps(_body_for(route)).encode()), (598, b"{bad")):
        reply = api.post(route, data=data, token="dub_pk_unknown")
        _refused(reply, 401, "unauthorized", UNKNOWN_KEY)
        expect_rate_headers(reply, LIMIT, remaining)


@pytest.mark.parametrize("plan", ["free", "pro"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_plan_below_business_is_403_before_the_body(api: HttpApi, route: str, plan: str) -> None:
    api.add_workspace("ws_low", plan=plan)
    key = api.add_publishable_key(workspaceId="ws_low")
    for remaining, data in ((599, json.dumps(_body_for(route)).encode()), (598, b"{bad")):
        reply = api.post(route, data=data, token=key)
        _refused(reply, 403, "forbidden", PLAN)
        expect_rate_headers(reply, LIMIT, remaining)
    api.patch_workspace("ws_low", plan="business")
    _expect_logic(route, api.post(route, _body_for(route), token=key))


@pytest.mark.parametrize("route", ROUTES)
def test_a_valid_key_answers_with_the_rate_limit_headers(api: HttpApi, route: str) -> None:
    key = api.add_publishable_key()
    first = api.post(route, _body_for(route), token=key)
    second = api.post(route, _body_for(route), token=key)
    for remaining, reply in ((599, first), (598, second)):
        _expect_logic(route, reply)
        expect_rate_headers(reply, LIMIT, remaining)
    assert first.headers["X-RateLimit-Reset"] == second.headers["X-RateLimit-Reset"]


def test_a_publishable_key_on_the_secret_routes_is_an_unknown_api_key(api: HttpApi) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    api.track(_sale("nobody"), token=key).expect_error(401, "unauthorized", INVALID_API_KEY)
    api.lead(_lead(click_id=click["id"]), token=key).expect_error(
        401, "unauthorized", INVALID_API_KEY
    )
    _nothing_recorded(api)


@pytest.mark.parametrize("known", [True, False], ids=["known-key", "unknown-key"])
def test_600_a_minute_per_key(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, known: bool
) -> None:
    api = make_wsgi()
    key = api.add_publishable_key() if known else "dub_pk_unknown"
    other = api.add_publishable_key()
    expected = 400 if known else 401
    first = api.lead_client(data=b"{bad", key=key)
    assert first.status == expected, first
    reset = first.headers["X-RateLimit-Reset"]
    assert int(reset) == int((clock.now + 60) * 1000)
    for count in range(2, LIMIT + 1):
        route = ROUTES[count % 2]  # one budget for both routes
        reply = api.post(route, data=b"{bad", token=key)
        assert reply.status == expected, (count, reply)
    expect_rate_headers(reply, LIMIT, 0)
    clock.advance(30)
    for route in ROUTES:
        over = api.post(route, _body_for(route), token=key)
        _refused(over, 429, "rate_limit_exceeded", TOO_MANY)
        expect_rate_headers(over, LIMIT, 0)
        assert over.headers["X-RateLimit-Reset"] == reset
        assert 0 < int(over.headers["Retry-After"]) <= 30
    assert api.sale_client(_sale("nobody"), key=other).status == 200  # another key, its own budget
    clock.advance(31)
    again = api.sale_client(_sale("nobody"), key=key)
    assert again.status == (200 if known else 401), again
    expect_rate_headers(again, LIMIT, LIMIT - 1)


def test_a_preflight_is_not_counted(api: HttpApi) -> None:
    key = api.add_publishable_key()
    for route in ROUTES:
        reply = api.request("OPTIONS", route, headers={"Origin": "http://localhost:5173"})
        assert reply.status == 204, reply
        assert reply.body == b""
        expect_dub_cors(reply)
        expect_no_rate_headers(reply)
    expect_rate_headers(api.sale_client(_sale("nobody"), key=key), LIMIT, LIMIT - 1)


# --- the body: invalid JSON and the strict schema -----------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_invalid_json_is_400(api: HttpApi, route: str) -> None:
    key = api.add_publishable_key()
    cases = (b"{", b"", b"   ", OPAQUE_INVALID, b"NaN", b'{"a": 1,}', b"\x00" * 8)
    for count, data in enumerate(cases, start=1):
        reply = api.post(route, data=data, token=key)
        _refused(reply, 400, "bad_request", INVALID_JSON)
        expect_rate_headers(reply, LIMIT, LIMIT - count)
    _refused(api.post(route, token=key), 400, "bad_request", INVALID_JSON)  # no body at all
    _nothing_recorded(api)


LEAD_SCHEMA: list[tuple[str, Any, str]] = [
    ("alias-externalId", {"externalId": "cust_1", "eventName": "Sign up", "clickId": ""},
     "customerExternalId"),
    ("alias-customerId", {"customerId": "cust_1", "eventName": "Sign up", "clickId": ""},
     "customerExternalId"),
    ("id-missing", {"eventName": "Sign up", "clickId": ""}, "customerExternalId"),
    ("id-empty", _lead(""), "customerExternalId"),
    ("id-null", _lead(None), "customerExternalId"),  # type: ignore[arg-type]
    ("id-101", _lead("c" * 101), "customerExternalId"),
    ("event-name-missing", {"customerExternalId": "cust_1", "clickId": ""}, "eventName"),
    ("event-name-256", _lead("cust_1", eventName="e" * 256), "eventName"),
    ("click-id-number", _lead("cust_1", 5), "clickId"),  # type: ignore[arg-type]
    ("click-id-null", _lead("cust_1", None), "clickId"),  # type: ignore[arg-type]
    ("click-id-missing", {"customerExternalId": "cust_1", "eventName": "Sign up"}, "clickId"),
    ("mode-outside-enum", _lead("cust_1", mode="sync"), "mode"),
    ("event-quantity-0", _lead("cust_1", eventQuantity=0), "eventQuantity"),
    ("email-invalid", _lead("cust_1", customerEmail="nope"), "customerEmail"),
    ("array-body", [_lead("cust_1")], "body"),
]  # fmt: skip
SALE_SCHEMA: list[tuple[str, Any, str]] = [
    ("alias-externalId", {"externalId": "cust_1", "amount": 100}, "customerExternalId"),
    ("alias-customerId", {"customerId": "cust_1", "amount": 100}, "customerExternalId"),
    ("id-missing", {"amount": 100}, "customerExternalId"),
    ("id-empty", _sale(""), "customerExternalId"),
    ("id-101", _sale("c" * 101), "customerExternalId"),
    ("amount-missing", {"customerExternalId": "cust_1"}, "amount"),
    ("amount-negative", _sale("cust_1", -1), "amount"),
    ("processor-outside-enum", _sale("cust_1", paymentProcessor="paypal"), "paymentProcessor"),
    ("metadata-string", _sale("cust_1", metadata="x"), "metadata"),
    ("null-body", None, "body"),
]  # fmt: skip
SCHEMA_CASES = [(ROUTES[0], *case) for case in LEAD_SCHEMA] + [
    (ROUTES[1], *case) for case in SALE_SCHEMA
]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [(route, body, field) for route, _, body, field in SCHEMA_CASES],
    ids=[f"{route.split('/')[2]}-{name}" for route, name, _, _ in SCHEMA_CASES],
)
def test_the_strict_schema_is_422_naming_the_field(
    api: HttpApi, route: str, body: Any, field: str
) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    customer = api.add_customer("cust_1", clickId=click["id"])
    (admin_lead,) = api.leads_of(customer["id"])
    reply = _refused(api.post(route, body, token=key), 422, "unprocessable_entity")
    if field != "body":
        assert field in reply.error["message"], (field, reply.error["message"])
    state = api.state()
    assert state["sales"] == []
    assert state["leads"] == [admin_lead]


def test_an_empty_click_id_is_allowed_on_the_client_lead_route(api: HttpApi) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    customer = api.add_customer("cust_1", clickId=click["id"], lead=False)
    body = _ok(api.lead_client(_lead("cust_1", ""), key=key))
    assert body["click"] == {"id": click["id"]}
    assert len(api.leads_of(customer["id"])) == 1


# --- allowed hostnames --------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_allowed_hostnames_are_checked(api: HttpApi, route: str) -> None:
    key = api.add_publishable_key()
    api.allow_hostnames("shop.example.com", "*.example.org")
    for headers in ({"Origin": "https://shop.example.com"}, {"Referer": "https://a.example.org/x"},
                    {"Referer": "https://www.shop.example.com/"}):  # fmt: skip
        _expect_logic(route, api.post(route, _body_for(route), token=key, headers=headers))
    refused = [({"Origin": "https://evil.io"}, "evil.io"),
               ({"Referer": "https://example.org/"}, "example.org"),
               ({"Referer": "https://evil.io/", "Origin": "https://shop.example.com"}, "evil.io"),
               ({}, "null")]  # fmt: skip
    for count, (headers, hostname) in enumerate(refused, start=4):
        reply = api.post(route, _body_for(route), token=key, headers=headers)
        _refused(reply, 403, "forbidden", _forbidden(hostname))
        expect_rate_headers(reply, LIMIT, LIMIT - count)
    _nothing_recorded(api)


@pytest.mark.parametrize("route", ROUTES)
def test_the_key_and_the_body_come_before_the_hostnames(api: HttpApi, route: str) -> None:
    key = api.add_publishable_key()
    api.allow_hostnames("shop.example.com")
    evil = {"Origin": "https://evil.io"}
    _refused(api.post(route, _body_for(route), token="dub_pk_nope", headers=evil), 401,
             "unauthorized", UNKNOWN_KEY)  # fmt: skip
    _refused(api.post(route, data=b"{bad", token=key, headers=evil), 400, "bad_request",
             INVALID_JSON)  # fmt: skip
    _refused(api.post(route, {"customerExternalId": ""}, token=key, headers=evil), 422,
             "unprocessable_entity")  # fmt: skip


def test_the_hostnames_come_before_the_logic_and_take_no_dedup_key(api: HttpApi) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    api.allow_hostnames("shop.example.com")
    evil = {"Origin": "https://evil.io"}
    _refused(api.lead_client(_lead(click_id="nope"), key=key, headers=evil), 403, "forbidden",
             _forbidden("evil.io"))  # fmt: skip
    _refused(api.lead_client(_lead(click_id=click["id"]), key=key, headers=evil), 403,
             "forbidden", _forbidden("evil.io"))  # fmt: skip
    _refused(api.sale_client(_sale(clickId="nope"), key=key, headers=evil), 403, "forbidden",
             _forbidden("evil.io"))  # fmt: skip
    _nothing_recorded(api)
    good = {"Origin": "https://shop.example.com"}
    body = _ok(api.lead_client(_lead(click_id=click["id"]), key=key, headers=good))
    assert body["link"] is not None and body["link"]["id"] == click["linkId"]
    assert len(api.state()["leads"]) == 1


def test_the_list_is_the_keys_workspaces(api: HttpApi) -> None:
    api.add_workspace("ws_2", allowedHostnames=["shop.example.com"])
    key_2 = api.add_publishable_key(workspaceId="ws_2")
    key = api.add_publishable_key()
    evil = {"Origin": "https://evil.io"}
    assert _ok(api.sale_client(_sale("nobody"), key=key, headers=evil))["customer"] is None
    _refused(api.sale_client(_sale("nobody"), key=key_2, headers=evil), 403, "forbidden",
             _forbidden("evil.io"))  # fmt: skip


HOSTILE_HEADERS: list[tuple[str, dict[str, str]]] = [
    ("garbage-origin", {"Origin": "%%%garbage%%%"}),
    ("garbage-referer", {"Referer": "not a url at all"}),
    ("scheme-only-origin", {"Origin": "https://"}),
    ("null-origin", {"Origin": "null"}),
    ("latin-1-origin", {"Origin": "https://\u00e9.example"}),
    ("latin-1-referer", {"Referer": "https://x.example/\u00ff"}),
    ("long-referer", {"Referer": "https://" + "a" * 4000 + ".example.com/"}),
]


@pytest.mark.parametrize(
    "headers", [c[1] for c in HOSTILE_HEADERS], ids=[c[0] for c in HOSTILE_HEADERS]
)
def test_hostile_origins_and_referers(api: HttpApi, headers: dict[str, str]) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    api.allow_hostnames("shop.example.com")
    for route, body in ((ROUTES[0], _lead(click_id=click["id"])), (ROUTES[1], _sale())):
        reply = _refused(api.post(route, body, token=key, headers=headers), 403, "forbidden")
        assert reply.error["message"].startswith("Request origin '"), reply
    _nothing_recorded(api)
    api.allow_hostnames()
    body = _ok(api.lead_client(_lead(click_id=click["id"]), key=key, headers=headers))
    assert body["link"] is not None
    assert len(api.state()["leads"]) == 1


# --- the logic behind the key -------------------------------------------------------------


def test_click_then_client_lead_then_client_sale(api: HttpApi) -> None:
    key = api.add_publishable_key()
    link = api.add_link(domain="dub.sh", key="shoe", url="https://shop.example.com/shoe")
    browser = {"Origin": "https://shop.example.com", "User-Agent": "Mozilla/5.0 (e2e)"}
    click = api.click({"domain": "dub.sh", "key": "shoe"}, headers=browser)
    assert click.status == 200, click
    click_id = click.json["clickId"]
    lead = _ok(api.lead_client(_lead("user_42", click_id, customerName="Ann",
                                     customerEmail="ann@example.com"), key=key,
                               headers=browser))  # fmt: skip
    assert lead == {
        "click": {"id": click_id},
        "link": {"id": link["id"], "domain": "dub.sh", "key": "shoe",
                 "shortLink": "https://dub.sh/shoe", "url": "https://shop.example.com/shoe",
                 "partnerId": None, "programId": None, "tenantId": None, "externalId": None},
        "customer": {"name": "Ann", "email": "ann@example.com", "avatar": None,
                     "externalId": "user_42"},
    }  # fmt: skip
    sale = _ok(api.sale_client(_sale("user_42", 4900, eventName="Purchase",
                                     paymentProcessor="stripe", invoiceId="INV_1"), key=key,
                               headers=browser))  # fmt: skip
    customer = api.customer("user_42")
    assert sale == {
        "eventName": "Purchase",
        "customer": {"id": customer["id"], "name": "Ann", "email": "ann@example.com",
                     "avatar": None, "externalId": "user_42"},
        "sale": {"amount": 4900, "currency": "usd", "paymentProcessor": "stripe",
                 "invoiceId": "INV_1", "metadata": None},
    }  # fmt: skip
    state = api.state()
    (recorded_lead,) = state["leads"]
    (recorded_sale,) = state["sales"]
    assert (recorded_lead["clickId"], recorded_lead["linkId"]) == (click_id, link["id"])
    assert (recorded_sale["linkId"], recorded_sale["leadId"]) == (link["id"], recorded_lead["id"])
    assert recorded_sale["customerId"] == customer["id"] == recorded_lead["customerId"]
    stored = api.link(link["id"])
    assert (stored["clicks"], stored["leads"], stored["sales"], stored["saleAmount"],
            stored["conversions"]) == (1, 1, 1, 4900, 1)  # fmt: skip
    replay = _ok(api.sale_client(_sale("user_42", 1, invoiceId="INV_1"), key=key))
    assert replay == sale
    assert len(api.state()["sales"]) == 1


def test_client_leads_deduplicate_as_secret_ones(api: HttpApi) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    first = _ok(api.lead_client(_lead(click_id=click["id"]), key=key))
    assert first["link"] is not None
    assert _ok(api.lead_client(_lead(click_id=click["id"]), key=key)) == {**first, "link": None}
    # The secret route shares the key: one lead per (workspace, customer, event name).
    secret = api.lead(_lead(click_id=click["id"]))
    assert secret.status == 200, secret
    assert secret.json == {**first, "link": None}
    assert len(api.state()["leads"]) == 1


def test_client_lead_404s(api: HttpApi) -> None:
    key = api.add_publishable_key()
    disabled = api.add_link(disabled=True)
    click = api.add_click(linkId=disabled["id"])
    _refused(api.lead_client(_lead(click_id="nope"), key=key), 404, "not_found",
             "Click event not found for clickId: nope")  # fmt: skip
    disabled_message = (
        f"Link {disabled['id']} for clickId {click['id']} is disabled, lead not tracked"
    )
    _refused(api.lead_client(_lead("new_2", click["id"]), key=key), 404, "not_found",
             disabled_message)  # fmt: skip
    _refused(api.lead_client(_lead("new_3"), key=key), 400, "bad_request",
             "The `clickId` property was not provided in the request, and no existing customer "
             "with the provided `customerExternalId` was found.")  # fmt: skip
    _nothing_recorded(api)


def test_the_keys_workspace_is_the_one_tracked(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    key_2 = api.add_publishable_key(workspaceId="ws_2")
    mine = api.add_click()
    theirs = api.add_click(workspaceId="ws_2")
    foreign = f"Link {mine['linkId']} for clickId {mine['id']} does not belong to the workspace"
    _refused(api.lead_client(_lead(click_id=mine["id"]), key=key_2), 404, "not_found", foreign)
    _ok(api.lead_client(_lead("new_2", theirs["id"]), key=key_2))
    assert api.customer("new_2", workspace_id="ws_2")["linkId"] == theirs["linkId"]
    sale = _ok(api.sale_client(_sale("new_2", 300), key=key_2))
    assert sale["sale"]["amount"] == 300
    (recorded,) = api.state()["sales"]
    assert (recorded["workspaceId"], recorded["linkId"]) == ("ws_2", theirs["linkId"])


def test_client_direct_sale_tracking(api: HttpApi) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    sale = _ok(api.sale_client(_sale("new_1", 700, clickId=click["id"]), key=key))
    assert sale["customer"]["externalId"] == "new_1"
    customer = api.customer("new_1")
    assert [lead["eventName"] for lead in api.leads_of(customer["id"])] == [
        "Direct sale tracking lead event"
    ]
    (recorded,) = api.state()["sales"]
    assert (recorded["linkId"], recorded["amount"]) == (click["linkId"], 700)
    _refused(api.sale_client(_sale("new_2", clickId="nope"), key=key), 404, "not_found",
             "Click event not found for clickId: nope")  # fmt: skip


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_bodies_never_answer_5xx_nor_record(api: HttpApi, route: str) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    bodies = [
        b"[" * 5000 + b"]" * 5000,
        b'{"metadata":' * 3000 + b"1" + b"}" * 3000,
        b"\x00" * 64,
        b'{"customerExternalId": "c", "eventName": "e", "clickId": "x", "amount": 1e400,'
        b' "eventQuantity": 1e400}',
        json.dumps({**_lead("\ud800", click["id"]), "amount": -1, "eventQuantity": 0}).encode(),
    ]
    for body in bodies:
        reply = api.post(route, data=body, token=key)
        assert 400 <= reply.status < 500, (body[:40], reply)
        _refused(reply, reply.status, reply.json["error"]["code"])
    _nothing_recorded(api)


@pytest.mark.parametrize(
    "fields",
    [{"customerExternalId": "\ud800"}, {"customerName": "\udfff"}, {"clickId": "\ud800"},
     {"metadata": {"\udfff": 1}}],
    ids=["external-id", "customer-name", "click-id", "metadata-key"],
)  # fmt: skip
def test_lone_surrogates_never_answer_5xx(api: HttpApi, fields: dict[str, Any]) -> None:
    key = api.add_publishable_key()
    click = api.add_click()
    for route, body in ((ROUTES[0], _lead(click_id=click["id"])), (ROUTES[1], _sale())):
        reply = api.post(route, data=json.dumps({**body, **fields}).encode(), token=key)
        assert reply.status < 500, reply
    assert api.admin("GET", "state").status == 200
    assert api.admin("GET", "requests").status == 200


# --- the admin API: publishable keys and workspaces -----------------------------------------


def test_admin_publishable_keys(api: HttpApi) -> None:
    at_start = len(api.state()["publishableKeys"])
    reply = api.admin("POST", "publishable-keys", {})
    assert reply.status == 201, reply
    generated = reply.json
    assert re.fullmatch(r"dub_pk_[0-9A-Za-z]{24}", generated["key"]), generated
    assert generated["workspaceId"] == "ws_mock"
    api.add_workspace("ws_2")
    given = api.create("publishable-keys", {"key": "dub_pk_mine", "workspaceId": "ws_2"})
    assert given == {"key": "dub_pk_mine", "workspaceId": "ws_2"}
    state = api.state()
    assert len(state["publishableKeys"]) == at_start + 2
    text = json.dumps(state)
    assert generated["key"] not in text and "dub_pk_mine" not in text
    before = api.state()
    api.admin("POST", "publishable-keys", {"key": "pk_live_x"}).expect_error(
        422, "unprocessable_entity"
    )
    api.admin("POST", "publishable-keys", {"workspaceId": "ws_nope"}).expect_error(404, "not_found")
    assert api.state() == before
    api.reset()
    assert len(api.state()["publishableKeys"]) == at_start
    _refused(api.sale_client(_sale("nobody"), key=generated["key"]), 401, "unauthorized",
             UNKNOWN_KEY)  # fmt: skip


def test_admin_patch_workspaces(api: HttpApi) -> None:
    api.add_workspace("ws_2", plan="pro")
    patched = api.patch_workspace("ws_2", plan="enterprise", allowedHostnames=["a.example"])
    assert (patched["id"], patched["plan"], patched["allowedHostnames"]) == (
        "ws_2",
        "enterprise",
        ["a.example"],
    )
    (shown,) = [w for w in api.state()["workspaces"] if w["id"] == "ws_2"]
    assert shown == patched
    only_plan = api.patch_workspace("ws_2", plan="business")
    assert only_plan["allowedHostnames"] == ["a.example"]
    before = api.state()
    api.admin("PATCH", "workspaces/ws_nope", {"plan": "pro"}).expect_error(404, "not_found")
    assert api.state() == before


def test_reset_restores_the_allowed_hostnames(api: HttpApi) -> None:
    api.allow_hostnames("shop.example.com")
    api.reset()
    (workspace,) = [w for w in api.state()["workspaces"] if w["id"] == "ws_mock"]
    assert workspace["allowedHostnames"] == []


def test_the_rate_limit_headers_count_for_every_answer_after_the_key(api: HttpApi) -> None:
    key = api.add_publishable_key()
    replies = [
        api.lead_client(data=b"{bad", key=key),
        api.lead_client({"eventName": 1}, key=key),
        api.sale_client(_sale("nobody"), key=key),
    ]
    for remaining, reply in zip((599, 598, 597), replies, strict=True):
        for name in RATE_HEADERS:
            assert name in reply.headers, (name, reply)
        expect_rate_headers(reply, LIMIT, remaining)
