"""BEHAVIOR §4, `POST /track/lead`: auth shared with sales, the body, L1-L6 in order, and the
sale that follows a lead."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .support import (
    CUSTOMER_ID,
    INVALID_JSON,
    OPAQUE_INVALID,
    PLACEHOLDER_NAME,
    STORES,
    HttpApi,
    PinnedClock,
    Reply,
    WsgiApi,
    concurrently,
    expect_no_rate_headers,
    expect_rate_headers,
)

MISCONFIGURED = (
    "Misconfigured authorization header. Did you forget to add 'Bearer '? "
    "Learn more: https://d.to/auth"
)
MISSING = "Missing Authorization header."
PERSONAL_KEY = (
    "Workspace ID not found. Did you forget to include a `workspaceId` query parameter? "
    "It looks like you might be using personal API keys, we also recommend refactoring "
    "to workspace API keys: https://d.to/keys"
)
INVALID_KEY = "Unauthorized: Invalid API key."
EXPIRED = "Unauthorized: Access token expired."
ROLE = "You don't have the required role to access this endpoint. Required role(s): owner, member."
PLAN = "Unauthorized: Need higher plan."
TOO_MANY = "Too many requests."
REQUIRED = "customerExternalId is required"
NO_CLICK = (
    "The `clickId` property was not provided in the request, and no existing customer with "
    "the provided `customerExternalId` was found."
)
DAY = 24 * 3600
LINK_KEYS = {"id", "domain", "key", "shortLink", "url", "partnerId", "programId", "tenantId",
             "externalId"}  # fmt: skip


def _lead(external_id: str = "new_1", event: str = "Sign up", **fields: Any) -> dict[str, Any]:
    return {"customerExternalId": external_id, "eventName": event, **fields}


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    return reply.json  # type: ignore[no-any-return]


def _nothing_recorded(api: HttpApi) -> None:
    state = api.state()
    assert state["leads"] == [], state["leads"]
    assert state["customers"] == [], state["customers"]
    assert all(link["leads"] == 0 for link in state["links"]), state["links"]


def _link_answer(link: dict[str, Any]) -> dict[str, Any]:
    """The `link` of a lead's answer for a link as the admin API made it."""
    return {"id": link["id"], "domain": link["domain"], "key": link["key"],
            "shortLink": link["shortLink"], "url": link["url"], "partnerId": None,
            "programId": None, "tenantId": None, "externalId": None}  # fmt: skip


# --- auth: rules 1-8 as for sales ----------------------------------------------------------

AUTH_CASES: list[tuple[str, dict[str, str], int, str, str]] = [
    ("no-bearer-prefix", {"Authorization": "Basic ZHViOnh4"}, 400, "bad_request", MISCONFIGURED),
    ("lower-case-bearer", {"Authorization": "bearer dub_mock_key"}, 400, "bad_request",
     MISCONFIGURED),
    ("missing", {}, 401, "unauthorized", MISSING),
    ("personal-key", {"Authorization": "Bearer abc123"}, 404, "not_found", PERSONAL_KEY),
    ("unknown", {"Authorization": "Bearer dub_unknown"}, 401, "unauthorized", INVALID_KEY),
    ("expired", {"Authorization": "Bearer dub_old"}, 401, "unauthorized", EXPIRED),
    ("viewer", {"Authorization": "Bearer dub_viewer"}, 403, "forbidden", ROLE),
    ("pro-plan", {"Authorization": "Bearer dub_pro"}, 403, "forbidden", PLAN),
]  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "status", "code", "message"),
    [case[1:] for case in AUTH_CASES],
    ids=[case[0] for case in AUTH_CASES],
)
def test_auth_rules_1_to_8_come_before_the_body(
    api: HttpApi, headers: dict[str, str], status: int, code: str, message: str
) -> None:
    api.add_workspace("ws_pro", plan="pro")
    api.add_token("dub_old", expired=True)
    api.add_token("dub_viewer", role="viewer")
    api.add_token("dub_pro", workspaceId="ws_pro")
    click = api.add_click()
    bodies = (json.dumps(_lead(clickId=click["id"])).encode(), b"{not json")
    for count, data in enumerate(bodies, start=1):
        reply = api.lead(data=data, token=None, headers=headers)
        reply.expect_error(status, code, message)
        if status == 403:  # after step 6: counted, with the headers
            limit = 600 if "dub_pro" in headers["Authorization"] else 1200
            expect_rate_headers(reply, limit, limit - count)
        else:
            expect_no_rate_headers(reply)
    _nothing_recorded(api)


def test_the_default_token_may_track_leads_with_the_business_limit(api: HttpApi) -> None:
    click = api.add_click()
    reply = api.lead(_lead(clickId=click["id"]))
    _ok(reply)
    expect_rate_headers(reply, 1200, 1199)


def test_a_lead_and_a_sale_share_one_rate_limit_budget(api: HttpApi) -> None:
    api.add_token("dub_three", rateLimitPerMinute=3)
    click = api.add_click()
    first = api.lead(_lead(clickId=click["id"]), token="dub_three")
    _ok(first)
    expect_rate_headers(first, 3, 2)
    sale = api.track({"customerExternalId": "new_1", "amount": 100}, token="dub_three")
    assert sale.status == 200, sale
    expect_rate_headers(sale, 3, 1)
    second = api.lead(_lead("new_2", clickId=click["id"]), token="dub_three")
    _ok(second)
    expect_rate_headers(second, 3, 0)
    api.lead(_lead("new_3", clickId=click["id"]), token="dub_three").expect_error(
        429, "rate_limit_exceeded", TOO_MANY
    )
    api.track({"customerExternalId": "new_1", "amount": 100}, token="dub_three").expect_error(
        429, "rate_limit_exceeded", TOO_MANY
    )
    state = api.state()
    assert sorted(c["externalId"] for c in state["customers"]) == ["new_1", "new_2"]
    assert len(state["leads"]) == 2
    assert len(state["sales"]) == 1


def test_a_failed_lead_counts_against_the_budget(api: HttpApi) -> None:
    api.add_token("dub_two", rateLimitPerMinute=2)
    api.lead({"eventName": 5}, token="dub_two").expect_error(422, "unprocessable_entity")
    api.lead(data=b"{bad", token="dub_two").expect_error(400, "bad_request", INVALID_JSON)
    api.track({"customerExternalId": "x", "amount": 1}, token="dub_two").expect_error(
        429, "rate_limit_exceeded", TOO_MANY
    )


# --- the body: invalid JSON, the schema, the customer id -------------------------------------


def test_invalid_json_is_400(api: HttpApi) -> None:
    bodies = [b"{", b"not json", b'{"eventName": "x",}', b"NaN", OPAQUE_INVALID, b"", b"   "]
    for count, body in enumerate(bodies, start=1):
        reply = api.lead(data=body)
        reply.expect_error(400, "bad_request", INVALID_JSON)
        expect_rate_headers(reply, 1200, 1200 - count)
    api.lead().expect_error(400, "bad_request", INVALID_JSON)  # no body at all
    _nothing_recorded(api)


VALID = _lead("cust_1")
SCHEMA_CASES: list[tuple[str, Any, str]] = [
    ("array-body", [VALID], "body"),
    ("string-body", "cust_1", "body"),
    ("null-body", None, "body"),
    ("event-name-missing", {"customerExternalId": "cust_1"}, "eventName"),
    ("event-name-empty", {**VALID, "eventName": ""}, "eventName"),
    ("event-name-blank", {**VALID, "eventName": "   "}, "eventName"),
    ("event-name-256", {**VALID, "eventName": "e" * 256}, "eventName"),
    ("event-name-number", {**VALID, "eventName": 5}, "eventName"),
    ("event-name-null", {**VALID, "eventName": None}, "eventName"),
    ("external-id-101", {**VALID, "customerExternalId": "c" * 101}, "customerExternalId"),
    ("external-id-number", {**VALID, "customerExternalId": 5}, "customerExternalId"),
    ("click-id-number", {**VALID, "clickId": 5}, "clickId"),
    ("click-id-object", {**VALID, "clickId": {"id": "x"}}, "clickId"),
    ("customer-name-101", {**VALID, "customerName": "n" * 101}, "customerName"),
    ("customer-name-number", {**VALID, "customerName": 7}, "customerName"),
    ("customer-email-invalid", {**VALID, "customerEmail": "not-an-email"}, "customerEmail"),
    ("customer-email-101", {**VALID, "customerEmail": "e" * 89 + "@example.com"},
     "customerEmail"),
    ("customer-avatar-number", {**VALID, "customerAvatar": 1}, "customerAvatar"),
    ("mode-outside-enum", {**VALID, "mode": "sync"}, "mode"),
    ("mode-upper-case", {**VALID, "mode": "ASYNC"}, "mode"),
    ("mode-number", {**VALID, "mode": 1}, "mode"),
    ("event-quantity-0", {**VALID, "eventQuantity": 0}, "eventQuantity"),
    ("event-quantity-101", {**VALID, "eventQuantity": 101}, "eventQuantity"),
    ("event-quantity-fraction", {**VALID, "eventQuantity": 1.5}, "eventQuantity"),
    ("event-quantity-string", {**VALID, "eventQuantity": "3"}, "eventQuantity"),
    ("event-quantity-boolean", {**VALID, "eventQuantity": True}, "eventQuantity"),
    ("metadata-array", {**VALID, "metadata": [1]}, "metadata"),
    ("metadata-string", {**VALID, "metadata": "x"}, "metadata"),
    ("metadata-10001", {**VALID, "metadata": {"k": "x" * 9993}}, "metadata"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_schema_violations_are_422_naming_the_field(api: HttpApi, body: Any, field: str) -> None:
    click = api.add_click()
    api.add_customer("cust_1", clickId=click["id"], lead=False)
    reply = api.lead(body)
    reply.expect_error(422, "unprocessable_entity")
    if field != "body":
        assert field in reply.error["message"], (field, reply.error["message"])
    assert api.state()["leads"] == []
    assert api.link(click["linkId"])["leads"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "eventName"), ({"eventName": 5}, "eventName"),
     ({"eventName": "x", "customerExternalId": "", "eventQuantity": 0}, "eventQuantity"),
     ({"eventName": "x", "customerId": None, "mode": "now"}, "mode")],
    ids=["empty-object", "bad-event-name", "empty-id-bad-quantity", "null-alias-bad-mode"],
)  # fmt: skip
def test_the_schema_422_comes_before_the_missing_id_400(
    api: HttpApi, body: dict[str, Any], field: str
) -> None:
    reply = api.lead(body)
    reply.expect_error(422, "unprocessable_entity")
    assert field in reply.error["message"], reply


@pytest.mark.parametrize(
    "ids",
    [{}, {"customerExternalId": None}, {"customerExternalId": ""}, {"customerExternalId": "   "},
     {"customerExternalId": "", "externalId": "", "customerId": None}],
    ids=["missing", "null", "empty", "spaces", "all-aliases-empty"],
)  # fmt: skip
def test_a_missing_customer_id_is_400(api: HttpApi, ids: dict[str, Any]) -> None:
    click = api.add_click()
    api.lead({"eventName": "Sign up", "clickId": click["id"], **ids}).expect_error(
        400, "bad_request", REQUIRED
    )
    _nothing_recorded(api)


@pytest.mark.parametrize(
    ("ids", "chosen"),
    [({"externalId": "cust_1"}, "cust_1"),
     ({"customerId": "cust_1"}, "cust_1"),
     ({"customerExternalId": "", "externalId": "cust_1"}, "cust_1"),
     ({"customerExternalId": None, "externalId": "", "customerId": "cust_1"}, "cust_1"),
     ({"customerExternalId": "cust_1", "externalId": "other", "customerId": "x"}, "cust_1"),
     ({"externalId": "cust_1", "customerId": "other"}, "cust_1")],
    ids=["externalId", "customerId", "empty-then-externalId", "null-empty-then-customerId",
         "customerExternalId-wins", "externalId-before-customerId"],
)  # fmt: skip
def test_the_deprecated_aliases_stand_in(api: HttpApi, ids: dict[str, Any], chosen: str) -> None:
    click = api.add_click()
    one = api.add_customer("cust_1", clickId=click["id"], lead=False)
    other = api.add_customer("other", clickId=click["id"], lead=False)
    body = _ok(api.lead({"eventName": "Sign up", **ids}))
    assert body["customer"]["externalId"] == chosen
    assert len(api.leads_of(one["id"])) == 1
    assert api.leads_of(other["id"]) == []


BOUNDARY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("event-name-255", {"eventName": "e" * 255}),
    ("external-id-100", {"customerExternalId": "c" * 100}),
    ("customer-name-100", {"customerName": "n" * 100}),
    ("customer-email-100", {"customerEmail": "e" * 88 + "@example.com"}),
    ("event-quantity-1", {"eventQuantity": 1}),
    ("event-quantity-1.0", {"eventQuantity": 1.0}),
    ("event-quantity-null", {"eventQuantity": None}),
    ("metadata-10000", {"metadata": {"k": "x" * 9992}}),
    ("metadata-empty", {"metadata": {}}),
    ("nullable-fields-null", {"clickId": None, "customerName": None, "customerEmail": None,
                              "customerAvatar": None, "metadata": None}),
    ("modes-async", {"mode": "async"}),
    ("modes-wait", {"mode": "wait"}),
    ("unknown-extras", {"amount": "x", "tags": [1, 2], "leadEventName": 5}),
]  # fmt: skip


@pytest.mark.parametrize(
    "extra", [c[1] for c in BOUNDARY_CASES], ids=[c[0] for c in BOUNDARY_CASES]
)
def test_values_at_the_limits_record_one_lead(api: HttpApi, extra: dict[str, Any]) -> None:
    click = api.add_click()
    external_id = extra.get("customerExternalId", "new_1")
    body = {**_lead(external_id, clickId=click["id"]), **extra}
    if body.get("clickId") is None:  # null clickId: the customer's click is used (L1)
        api.add_customer(external_id, clickId=click["id"], lead=False)
    answer = _ok(api.lead(body))
    assert answer["link"] is not None and answer["link"]["id"] == click["linkId"]
    (lead,) = api.state()["leads"]
    assert lead["eventName"] == body["eventName"]
    assert api.link(click["linkId"])["leads"] == 1
    assert "tags" not in json.dumps(answer)


def test_event_name_and_customer_id_are_trimmed(api: HttpApi) -> None:
    click = api.add_click()
    body = _ok(api.lead(_lead("  new_1 ", "  Sign up  ", clickId=click["id"])))
    assert body["customer"]["externalId"] == "new_1"
    customer = api.customer("new_1")
    assert [lead["eventName"] for lead in api.leads_of(customer["id"])] == ["Sign up"]


# --- L1: the click from the customer ------------------------------------------------------


@pytest.mark.parametrize(
    "click_field", [{}, {"clickId": ""}, {"clickId": None}], ids=["absent", "empty", "null"]
)
def test_l1_without_a_click_id_the_customers_click_is_used(
    api: HttpApi, click_field: dict[str, Any]
) -> None:
    click = api.add_click()
    customer = api.add_customer("cust_1", clickId=click["id"], lead=False)
    body = _ok(api.lead(_lead("cust_1", **click_field)))
    assert body["click"] == {"id": click["id"]}
    assert body["link"]["id"] == click["linkId"]
    (lead,) = api.leads_of(customer["id"])
    assert (lead["clickId"], lead["linkId"]) == (click["id"], click["linkId"])
    assert api.link(click["linkId"])["leads"] == 1


@pytest.mark.parametrize("click_field", [{}, {"clickId": ""}], ids=["absent", "empty"])
def test_l1_no_customer_and_no_click_id_is_400(api: HttpApi, click_field: dict[str, Any]) -> None:
    api.lead(_lead(**click_field)).expect_error(400, "bad_request", NO_CLICK)
    _nothing_recorded(api)


def test_l1_a_customer_without_a_click_is_400(api: HttpApi) -> None:
    customer = api.add_customer("cust_1", lead=False)
    api.lead(_lead("cust_1", clickId="")).expect_error(400, "bad_request", NO_CLICK)
    assert api.leads_of(customer["id"]) == []


def test_l1_customers_of_another_workspace_are_not_found(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    click = api.add_click(workspaceId="ws_2")
    api.add_customer("cust_1", clickId=click["id"], workspaceId="ws_2", lead=False)
    api.lead(_lead("cust_1")).expect_error(400, "bad_request", NO_CLICK)
    assert api.state()["leads"] == []


def test_l1_a_400_takes_no_dedup_key(api: HttpApi) -> None:
    api.lead(_lead()).expect_error(400, "bad_request", NO_CLICK)
    click = api.add_click()
    body = _ok(api.lead(_lead(clickId=click["id"])))
    assert body["link"]["id"] == click["linkId"]
    assert len(api.state()["leads"]) == 1


# --- L2: deduplication --------------------------------------------------------------------


def test_l2_a_duplicate_answers_link_null_and_records_nothing(api: HttpApi) -> None:
    click = api.add_click()
    first = _ok(api.lead(_lead(clickId=click["id"], customerName="Ann")))
    again = _ok(api.lead(_lead(clickId=click["id"], customerName="Bob", eventQuantity=3)))
    assert first["link"]["id"] == click["linkId"]
    assert again == {**first, "link": None}
    assert again["customer"]["name"] == "Ann"
    assert len(api.state()["leads"]) == 1
    assert api.link(click["linkId"])["leads"] == 1


@pytest.mark.parametrize("event", ["SIGN UP", "sign-up", "Sign-Up", "sign up"], ids=repr)
def test_l2_the_key_lower_cases_the_name_and_turns_spaces_into_dashes(
    api: HttpApi, event: str
) -> None:
    click = api.add_click()
    _ok(api.lead(_lead(clickId=click["id"])))
    assert _ok(api.lead(_lead(event=event, clickId=click["id"])))["link"] is None
    assert len(api.state()["leads"]) == 1


def test_l2_every_space_turns_into_a_dash(api: HttpApi) -> None:
    click = api.add_click()
    _ok(api.lead(_lead(event="Started free trial", clickId=click["id"])))
    again = _ok(api.lead(_lead(event="started-free-trial", clickId=click["id"])))
    assert again["link"] is None
    assert len(api.state()["leads"]) == 1


def test_l2_other_names_customers_and_workspaces_are_other_keys(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    api.add_token("dub_ws2", workspaceId="ws_2")
    click = api.add_click()
    click_2 = api.add_click(workspaceId="ws_2")
    for reply in (
        api.lead(_lead(clickId=click["id"])),
        api.lead(_lead(event="Trial", clickId=click["id"])),
        api.lead(_lead("new_2", clickId=click["id"])),
        api.lead(_lead(clickId=click_2["id"]), token="dub_ws2"),
    ):
        assert _ok(reply)["link"] is not None, reply
    assert len(api.state()["leads"]) == 4
    assert api.link(click["linkId"])["leads"] == 3


def test_l2_a_404_keeps_the_key_so_a_corrected_retry_records_nothing(api: HttpApi) -> None:
    api.lead(_lead(clickId="nope")).expect_error(
        404, "not_found", "Click event not found for clickId: nope"
    )
    click = api.add_click()
    body = _ok(api.lead(_lead(clickId=click["id"], customerName="Ann",
                              customerEmail="ann@example.com",
                              customerAvatar="https://example.com/a.png")))  # fmt: skip
    assert body == {
        "click": {"id": click["id"]},
        "link": None,
        "customer": {"name": "Ann", "email": "ann@example.com",
                     "avatar": "https://example.com/a.png", "externalId": "new_1"},
    }  # fmt: skip
    _nothing_recorded(api)


def test_l2_a_disabled_link_404_keeps_the_key_too(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    bad = api.add_click(linkId=link["id"])
    assert api.lead(_lead(clickId=bad["id"])).status == 404
    good = api.add_click()
    assert _ok(api.lead(_lead(clickId=good["id"])))["link"] is None
    _nothing_recorded(api)


def test_l2_an_unstored_duplicate_names_its_customer_from_the_request(api: HttpApi) -> None:
    for external_id in ("new_1", "new_2"):
        assert api.lead(_lead(external_id, clickId="nope")).status == 404
    click = api.add_click()
    by_email = _ok(api.lead(_lead("new_1", clickId=click["id"], customerEmail="bo@example.io")))
    assert by_email["customer"] == {"name": "bo@example.io", "email": "bo@example.io",
                                    "avatar": None, "externalId": "new_1"}  # fmt: skip
    placeholder = _ok(api.lead(_lead("new_2", clickId=click["id"])))["customer"]
    assert PLACEHOLDER_NAME.match(placeholder["name"]), placeholder
    assert (placeholder["email"], placeholder["avatar"]) == (None, None)
    _nothing_recorded(api)


def test_l2_simultaneous_identical_leads_record_one(api: HttpApi) -> None:
    click = api.add_click()
    body = _lead(clickId=click["id"], customerName="Ann", customerEmail="ann@example.com")
    replies = concurrently(8, lambda _: api.lead(body))
    answers = [_ok(reply) for reply in replies]
    recorded = [answer for answer in answers if answer["link"] is not None]
    assert len(recorded) == 1, answers
    for answer in answers:
        assert answer["click"] == {"id": click["id"]}
        assert answer["customer"] == {"name": "Ann", "email": "ann@example.com", "avatar": None,
                                      "externalId": "new_1"}  # fmt: skip
    state = api.state()
    assert len(state["leads"]) == 1
    assert [c["externalId"] for c in state["customers"]] == ["new_1"]
    assert api.link(click["linkId"])["leads"] == 1


@pytest.mark.parametrize("store", STORES)
def test_l2_the_key_is_held_for_seven_days(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    click = api.add_click()
    assert _ok(api.lead(_lead(clickId=click["id"])))["link"] is not None
    clock.advance(7 * DAY - 60)
    assert _ok(api.lead(_lead(clickId=click["id"])))["link"] is None
    clock.advance(120)
    assert _ok(api.lead(_lead(clickId=click["id"])))["link"] is not None
    assert len(api.state()["leads"]) == 2


# --- deferred mode ------------------------------------------------------------------------


def test_deferred_creates_the_customer_but_no_lead_and_takes_no_key(api: HttpApi) -> None:
    link = api.add_link(domain="dub.sh", key="defer1", url="https://example.com/d")
    click = api.add_click(linkId=link["id"])
    deferred = _lead(clickId=click["id"], mode="deferred", customerName="Ann")
    first = _ok(api.lead(deferred))
    assert first == {"click": {"id": click["id"]}, "link": _link_answer(link),
                     "customer": {"name": "Ann", "email": None, "avatar": None,
                                  "externalId": "new_1"}}  # fmt: skip
    customer = api.customer("new_1")
    assert CUSTOMER_ID.match(customer["id"]), customer
    assert customer["linkId"] == link["id"]
    assert api.state()["leads"] == []
    assert api.link(link["id"])["leads"] == 0
    assert _ok(api.lead(deferred)) == first  # no key was taken: link again, nothing recorded
    assert api.state()["leads"] == []
    assert len(api.state()["customers"]) == 1
    # The later non-deferred request without a click id records the lead through the customer.
    later = _ok(api.lead(_lead(clickId="")))
    assert later == first
    (lead,) = api.leads_of(customer["id"])
    assert (lead["eventName"], lead["clickId"], lead["linkId"]) == (
        "Sign up",
        click["id"],
        link["id"],
    )
    assert api.link(link["id"])["leads"] == 1
    assert _ok(api.lead(_lead(clickId="")))["link"] is None
    assert len(api.state()["leads"]) == 1


def test_deferred_ignores_a_held_key(api: HttpApi) -> None:
    click = api.add_click()
    _ok(api.lead(_lead(clickId=click["id"])))
    again = _ok(api.lead(_lead(clickId=click["id"], mode="deferred")))
    assert again["link"] is not None and again["link"]["id"] == click["linkId"]
    assert len(api.state()["leads"]) == 1


# --- L3: the click ------------------------------------------------------------------------


def test_l3_an_unknown_click_is_404(api: HttpApi) -> None:
    api.lead(_lead(clickId="nope")).expect_error(
        404, "not_found", "Click event not found for clickId: nope"
    )
    _nothing_recorded(api)


def test_l3_the_clicks_link_missing_is_404(api: HttpApi) -> None:
    click = api.add_click(linkId="link_gone")
    api.lead(_lead(clickId=click["id"])).expect_error(
        404, "not_found", f"Link not found for clickId: {click['id']}"
    )
    _nothing_recorded(api)


def test_l3_the_clicks_link_in_another_workspace_is_404(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    link = api.add_link(workspaceId="ws_2")
    click = api.add_click(linkId=link["id"], workspaceId="ws_mock")
    api.lead(_lead(clickId=click["id"])).expect_error(
        404,
        "not_found",
        f"Link {link['id']} for clickId {click['id']} does not belong to the workspace",
    )
    _nothing_recorded(api)


def test_l3_the_clicks_link_disabled_is_404(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    click = api.add_click(linkId=link["id"])
    api.lead(_lead(clickId=click["id"])).expect_error(
        404,
        "not_found",
        f"Link {link['id']} for clickId {click['id']} is disabled, lead not tracked",
    )
    _nothing_recorded(api)


def test_l3_the_customers_click_is_checked_too(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    click = api.add_click(linkId=link["id"])
    customer = api.add_customer("cust_1", clickId=click["id"], lead=False)
    api.lead(_lead("cust_1")).expect_error(
        404,
        "not_found",
        f"Link {link['id']} for clickId {click['id']} is disabled, lead not tracked",
    )
    assert api.leads_of(customer["id"]) == []


# --- L4: the customer ---------------------------------------------------------------------


def test_l4_a_new_customer_from_the_click(api: HttpApi) -> None:
    click = api.add_click()
    body = _ok(api.lead(_lead(clickId=click["id"], customerName="Ann Lee",
                              customerEmail="ann@example.com",
                              customerAvatar="https://example.com/a.png")))  # fmt: skip
    assert body["customer"] == {"name": "Ann Lee", "email": "ann@example.com",
                                "avatar": "https://example.com/a.png",
                                "externalId": "new_1"}  # fmt: skip
    stored = api.customer("new_1")
    assert CUSTOMER_ID.match(stored["id"]), stored["id"]
    assert (stored["name"], stored["email"], stored["avatar"]) == (
        "Ann Lee",
        "ann@example.com",
        "https://example.com/a.png",
    )
    assert stored["linkId"] == click["linkId"]
    assert (stored["sales"], stored["saleAmount"], stored["firstSaleAt"]) == (0, 0, None)


def test_l4_the_name_falls_back_to_the_email_then_a_random_name(api: HttpApi) -> None:
    click = api.add_click()
    by_email = _ok(api.lead(_lead("new_1", clickId=click["id"], customerEmail="bo@example.io")))
    assert by_email["customer"]["name"] == "bo@example.io"
    empty_name = _ok(api.lead(_lead("new_2", clickId=click["id"], customerName="",
                                    customerEmail="cy@example.io")))  # fmt: skip
    assert empty_name["customer"]["name"] == "cy@example.io"
    names = {
        _ok(api.lead(_lead(f"new_{i}", clickId=click["id"])))["customer"]["name"]
        for i in range(3, 9)
    }
    for name in names:
        assert PLACEHOLDER_NAME.match(name), name
    assert len(names) > 1, "the placeholder names should vary"
    assert api.customer("new_3")["name"] in names


def test_l4_an_existing_customer_is_not_updated(api: HttpApi) -> None:
    own_click = api.add_click()
    customer = api.add_customer("cust_1", name="Ann", email="ann@example.com", avatar="a.png",
                                clickId=own_click["id"], lead=False)  # fmt: skip
    other = api.add_click()
    fields = {"customerName": "Bob", "customerEmail": "bob@example.com", "customerAvatar": "b.png"}
    body = _ok(api.lead(_lead("cust_1", clickId=other["id"], **fields)))
    assert body["customer"] == {"name": "Ann", "email": "ann@example.com", "avatar": "a.png",
                                "externalId": "cust_1"}  # fmt: skip
    assert body["click"] == {"id": other["id"]}
    assert body["link"]["id"] == other["linkId"]
    stored = api.customer("cust_1")
    assert (stored["id"], stored["name"], stored["email"], stored["avatar"], stored["linkId"]) == (
        customer["id"],
        "Ann",
        "ann@example.com",
        "a.png",
        own_click["linkId"],
    )
    (lead,) = api.leads_of(customer["id"])
    assert (lead["clickId"], lead["linkId"]) == (other["id"], other["linkId"])
    assert len(api.state()["customers"]) == 1


def test_l4_the_new_customers_id_is_a_ulid_on_the_clock(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock
) -> None:
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    api = make_wsgi()
    click = api.add_click()
    clock.now = 1_750_000_000.25
    _ok(api.lead(_lead(clickId=click["id"])))
    customer_id = api.customer("new_1")["id"]
    assert CUSTOMER_ID.match(customer_id)
    timestamp = 0
    for char in customer_id[4:14]:
        timestamp = timestamp * 32 + crockford.index(char)
    assert timestamp == int(clock.now * 1000)
    (lead,) = api.state()["leads"]
    assert lead["timestamp"].startswith("2025-06-15T15:06:40.25"), lead


# --- L5: the recorded leads ---------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "async", "wait"], ids=["default", "async", "wait"])
def test_l5_async_and_wait_record_the_lead_before_answering(api: HttpApi, mode: str | None) -> None:
    click = api.add_click()
    fields = {} if mode is None else {"mode": mode}
    _ok(api.lead(_lead(clickId=click["id"], metadata={"plan": "pro"}, **fields)))
    customer = api.customer("new_1")
    (lead,) = api.leads_of(customer["id"])
    expected = {"customerId": customer["id"], "workspaceId": "ws_mock", "eventName": "Sign up",
                "linkId": click["linkId"], "clickId": click["id"],
                "metadata": {"plan": "pro"}}  # fmt: skip
    assert {key: lead[key] for key in expected} == expected
    assert isinstance(lead["id"], str) and lead["id"]
    assert isinstance(lead["timestamp"], str) and lead["timestamp"]
    assert api.link(click["linkId"])["leads"] == 1


def test_l5_event_quantity_records_that_many_leads(api: HttpApi) -> None:
    click = api.add_click()
    _ok(api.lead(_lead(clickId=click["id"], eventQuantity=3, metadata={"n": 1})))
    customer = api.customer("new_1")
    leads = api.leads_of(customer["id"])
    assert len(leads) == 3
    assert len({lead["id"] for lead in leads}) == 3
    for lead in leads:
        assert (lead["eventName"], lead["clickId"], lead["linkId"], lead["metadata"]) == (
            "Sign up",
            click["id"],
            click["linkId"],
            {"n": 1},
        )
    assert api.link(click["linkId"])["leads"] == 3


def test_l5_link_leads_add_up(api: HttpApi) -> None:
    click = api.add_click()
    _ok(api.lead(_lead("new_1", clickId=click["id"], eventQuantity=2)))
    _ok(api.lead(_lead("new_2", clickId=click["id"], eventQuantity=100)))
    assert api.link(click["linkId"])["leads"] == 102
    assert len(api.state()["leads"]) == 102


# --- L6: the answer -----------------------------------------------------------------------


def test_l6_the_answer_has_exactly_these_keys(api: HttpApi) -> None:
    link = api.add_link(domain="dub.sh", key="abc1234", url="https://example.com/landing")
    click = api.add_click(linkId=link["id"])
    assert link["shortLink"] == "https://dub.sh/abc1234"
    body = _ok(api.lead(_lead(clickId=click["id"], customerEmail="ann@example.com")))
    assert body == {
        "click": {"id": click["id"]},
        "link": {"id": link["id"], "domain": "dub.sh", "key": "abc1234",
                 "shortLink": "https://dub.sh/abc1234", "url": "https://example.com/landing",
                 "partnerId": None, "programId": None, "tenantId": None, "externalId": None},
        "customer": {"name": "ann@example.com", "email": "ann@example.com", "avatar": None,
                     "externalId": "new_1"},
    }  # fmt: skip
    assert set(body["link"]) == LINK_KEYS


# --- a sale after a lead ------------------------------------------------------------------


def test_a_sale_after_a_lead_is_attributed_to_the_clicks_link(api: HttpApi) -> None:
    click = api.add_click()
    lead_answer = _ok(api.lead(_lead(clickId=click["id"], customerName="Ann", eventQuantity=2)))
    sale = api.track({"customerExternalId": "new_1", "amount": 4900, "invoiceId": "INV_1"})
    assert sale.status == 200, sale
    customer = api.customer("new_1")
    assert sale.json["customer"] == {"id": customer["id"], **lead_answer["customer"]}
    state = api.state()
    (recorded,) = state["sales"]
    lead_ids = {lead["id"] for lead in api.leads_of(customer["id"])}
    assert len(lead_ids) == 2
    assert recorded["linkId"] == click["linkId"]
    assert recorded["leadId"] in lead_ids
    assert recorded["customerId"] == customer["id"]
    link = api.link(click["linkId"])
    assert (link["leads"], link["sales"], link["saleAmount"], link["conversions"]) == (
        2,
        1,
        4900,
        1,
    )


def test_a_sale_finds_a_lead_by_its_name(api: HttpApi) -> None:
    click = api.add_click()
    _ok(api.lead(_lead(event="Sign up", clickId=click["id"])))
    _ok(api.lead(_lead(event="Trial started", clickId="")))
    _ok(api.lead(_lead(event="Newsletter", clickId="")))
    customer = api.customer("new_1")
    leads = api.leads_of(customer["id"])
    (trial,) = [lead for lead in leads if lead["eventName"] == "Trial started"]
    sale = api.track({"customerExternalId": "new_1", "amount": 100,
                      "leadEventName": "Trial started"})  # fmt: skip
    assert sale.status == 200, sale
    assert api.state()["sales"][0]["leadId"] == trial["id"]
    api.track({"customerExternalId": "new_1", "amount": 100, "leadEventName": "Demo"}).expect_error(
        404, "not_found", "Lead event not found for externalId: new_1 and leadEventName: Demo"
    )


# --- bad input ----------------------------------------------------------------------------

HOSTILE_HEADERS: list[tuple[str, dict[str, str]]] = [
    ("garbage-origin", {"Origin": "%%%garbage%%%"}),
    ("garbage-referer", {"Referer": "not a url at all"}),
    ("javascript-referer", {"Referer": "javascript:alert(1)"}),
    ("broken-ipv6-origin", {"Origin": "http://[::1"}),
    ("null-origin", {"Origin": "null"}),
    ("long-referer", {"Referer": "https://" + "a" * 4000 + ".example.com/"}),
]


def test_hostile_origin_and_referer_do_not_matter_on_the_secret_route(api: HttpApi) -> None:
    api.allow_hostnames("example.com")  # a client-route setting: the secret route ignores it
    click = api.add_click()
    for index, (case, headers) in enumerate(HOSTILE_HEADERS):
        reply = api.lead(_lead(f"new_{index}", clickId=click["id"]), headers=headers)
        assert _ok(reply)["link"] is not None, case
    assert len(api.state()["leads"]) == len(HOSTILE_HEADERS)


def test_hostile_bodies_never_answer_5xx_nor_record(api: HttpApi) -> None:
    click = api.add_click()
    bodies = [
        b"[" * 5000 + b"]" * 5000,
        b'{"metadata":' * 3000 + b"1" + b"}" * 3000,
        json.dumps(_lead(clickId=click["id"], eventQuantity=1e400)).encode(),
        b'{"eventName": "x", "customerExternalId": "c", "eventQuantity": 1e400}',
        b'{"eventName": "x", "customerExternalId": "c", "eventQuantity": 12345678901234567890}',
        b"\x00" * 64,
        json.dumps(_lead("\ud800", clickId=click["id"], eventQuantity=0)).encode(),
    ]
    for body in bodies:
        reply = api.lead(data=body)
        assert 400 <= reply.status < 500, (body[:40], reply)
        assert reply.headers["Content-Type"].startswith("application/json")
        assert set(reply.json["error"]) == {"code", "message", "doc_url"}
    _nothing_recorded(api)


@pytest.mark.parametrize(
    "fields",
    [{"customerExternalId": "\ud800"}, {"eventName": "\udfff"}, {"customerName": "\udfff"},
     {"metadata": {"\udfff": 1}}, {"clickId": "\ud800"}],
    ids=["external-id", "event-name", "customer-name", "metadata-key", "click-id"],
)  # fmt: skip
def test_lone_surrogates_never_answer_5xx_nor_break_the_state(
    api: HttpApi, fields: dict[str, Any]
) -> None:
    click = api.add_click()
    body = {**_lead(clickId=click["id"]), **fields}
    reply = api.lead(data=json.dumps(body).encode())  # ensure_ascii keeps the \\ud800 escape
    assert reply.status < 500, reply
    assert api.admin("GET", "state").status == 200
    assert api.admin("GET", "requests").status == 200
