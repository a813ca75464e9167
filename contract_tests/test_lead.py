"""§4 POST /track/lead: auth, body, L1-L6, and what the lead means to later sales.

Most checks need only the token and a click (--click-id on a real server): what a lead recorded
is observed through follow-up requests (a repeated lead answering `link: null`, a sale finding
the lead by name; see `contract_tests.funnel`). The admin API adds what no client can see: the
recorded lead events, their count and the link's `leads` counter.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.client import Exchange
from contract_tests.funnel import (
    CUSTOMER_ID,
    INVALID_JSON,
    NO_CLICK_ID,
    RANDOM_NAME,
    REQUIRED,
    customer_exists,
    has_lead,
    lead_body,
    lead_is_found,
)
from contract_tests.properties import rate_limit_problem
from contract_tests.rules import check, expect_error, expect_lead_ok, expect_ok
from contract_tests.target import Target
from contract_tests.test_auth import MISCONFIGURED, PERSONAL_KEY, ROLE

pytestmark = mark("lead")

PARALLEL = 8


def _recorded(answer: Exchange, rule: str = "L2") -> dict[str, Any]:
    """A lead answered as recorded: 200 with the click's link."""
    data = expect_lead_ok(answer, rule)
    check(data["link"] is not None, rule, "a recorded lead must answer its link", answer)
    return data


def _duplicate(answer: Exchange, *earlier: Exchange) -> dict[str, Any]:
    """A lead answered as a duplicate: 200 with link null."""
    data = expect_lead_ok(answer, "L2")
    check(
        data["link"] is None,
        "L2",
        "a duplicate lead (same customer and event name within 7 days) must answer link null",
        *earlier,
        answer,
    )
    return data


# Auth (rules 1-8, as for sales) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status", "code", "message"),
    [
        (None, 401, "unauthorized", "Missing Authorization header."),
        ("Token {token}", 400, "bad_request", MISCONFIGURED),
        ("Bearer sk_personal_key", 404, "not_found", PERSONAL_KEY),
        ("Bearer dub_unknown_key_for_lead", 401, "unauthorized", "Unauthorized: Invalid API key."),
    ],
    ids=["no-header", "no-bearer", "personal-key", "unknown-key"],
)
def test_lead_refuses_keys_as_sales_do(
    dub: Target, authorization: str | None, status: int, code: str, message: str
) -> None:
    """§4 auth: rules 1-4 answer /track/lead exactly as they answer /track/sale."""
    headers = (
        {} if authorization is None else {"Authorization": authorization.format(token=dub.token)}
    )
    answer = dub.client.lead(lead_body(dub, "x"), token=None, headers=headers)
    expect_error(answer, "L-auth", status, code, message)


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("expired", 401, "Unauthorized: Access token expired."),
        ("viewer", 403, ROLE),
        ("free", 403, "Unauthorized: Need higher plan."),
    ],
)
def test_lead_refuses_expired_tokens_roles_and_plans(
    dub: Target, kind: str, status: int, message: str
) -> None:
    """§4 auth: rules 5, 7 and 8 on /track/lead (expired token, viewer role, free plan)."""
    choices: dict[str, dict[str, Any]] = {
        "expired": {"expired": True},
        "viewer": {"role": "viewer"},
        "free": {"plan": "free"},
    }
    options = choices[kind]
    token = dub.token_with(**options)
    answer = dub.client.lead(lead_body(dub, "x"), token=token)
    expect_error(
        answer, "L-auth", status, "unauthorized" if status == 401 else "forbidden", message
    )


def test_lead_and_sale_share_one_rate_limit_window(dub: Target) -> None:
    """§4 auth: a lead and a sale count against one budget: a sale, a lead, a sale, then 429
    (a token limited to 3 a minute); on a real server, Remaining falls by one per request."""
    nobody = {"customerExternalId": dub.unique("nobody"), "amount": 1}
    if dub.admin is None:
        answers = [
            dub.client.sale(nobody),
            dub.client.lead(lead_body(dub, dub.unique("no-click"))),
            dub.client.sale(nobody),
        ]
        resets = {a.headers.get("X-RateLimit-Reset") for a in answers}
        remaining = [int(a.headers.get("X-RateLimit-Remaining", "-1")) for a in answers]
        check(
            len(resets) > 1 or remaining == [remaining[0], remaining[0] - 1, remaining[0] - 2],
            "L-auth",
            f"X-RateLimit-Remaining went {remaining} over a sale, a lead and a sale in one "
            "window; each must take one from the same budget",
            *answers,
        )
        return
    token = dub.token_with(rate_limit=3)
    answers = [
        dub.client.sale(nobody, token=token),
        dub.client.lead(lead_body(dub, dub.unique("no-click")), token=token),
        dub.client.sale(nobody, token=token),
    ]
    for answer in answers:
        problem = rate_limit_problem(answer.status, answer.headers)
        check(problem is None, "L-auth", f"rate-limit headers: {problem}", answer)
    shown = [a.headers.get("X-RateLimit-Remaining") for a in answers]
    check(
        shown == ["2", "1", "0"],
        "L-auth",
        f"X-RateLimit-Remaining went {shown} over a sale, a lead and a sale; expected "
        "2, 1, 0 (one window for both routes)",
        *answers,
    )
    over = dub.client.lead(lead_body(dub, dub.unique("no-click")), token=token)
    expect_error(over, "L-auth", 429, "rate_limit_exceeded", "Too many requests.")


# Body ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b""], ids=["garbage", "empty"])
def test_lead_invalid_json_is_400(dub: Target, raw: bytes) -> None:
    """§4 body: a body that is not JSON, an empty one included, answers 400 (rule 9)."""
    expect_error(dub.client.lead(raw=raw), "L-body", 400, "bad_request", INVALID_JSON)


LEAD_SCHEMA_VIOLATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("no-event-name", {"eventName": None}, "eventName"),
    ("blank-event-name", {"eventName": "   "}, "eventName"),
    ("long-event-name", {"eventName": "e" * 256}, "eventName"),
    ("long-external-id", {"customerExternalId": "c" * 101}, "customerExternalId"),
    ("quantity-zero", {"eventQuantity": 0}, "eventQuantity"),
    ("quantity-101", {"eventQuantity": 101}, "eventQuantity"),
    ("quantity-fraction", {"eventQuantity": 1.5}, "eventQuantity"),
    ("quantity-string", {"eventQuantity": "2"}, "eventQuantity"),
    ("unknown-mode", {"mode": "later"}, "mode"),
    ("click-not-string", {"clickId": 42}, "clickId"),
    ("long-customer-name", {"customerName": "n" * 101}, "customerName"),
    ("bad-email", {"customerEmail": "not-an-email"}, "customerEmail"),
    ("metadata-not-object", {"metadata": ["a"]}, "metadata"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    [(fields, field) for _, fields, field in LEAD_SCHEMA_VIOLATIONS],
    ids=[name for name, _, _ in LEAD_SCHEMA_VIOLATIONS],
)
def test_lead_schema_violation_is_422_naming_the_field(
    dub: Target, fields: dict[str, Any], field: str
) -> None:
    """§4 body: valid JSON that breaks the lead schema answers 422 naming the field."""
    body = {
        k: v for k, v in lead_body(dub, dub.unique("no-click"), **fields).items() if v is not None
    }
    answer = dub.client.lead(body)
    error = expect_error(answer, "L-body", 422, "unprocessable_entity")
    check(
        field.lower() in str(error.get("message", "")).lower(),
        "L-body",
        f"the 422 message must name {field!r}",
        answer,
    )


@pytest.mark.parametrize("external_id", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_lead_without_external_id_is_400(dub: Target, external_id: str | None) -> None:
    """§4 body: no customerExternalId (missing, "", or blank once trimmed) answers 400."""
    body = lead_body(dub, dub.unique("no-click"))
    if external_id is None:
        del body["customerExternalId"]
    else:
        body["customerExternalId"] = external_id
    expect_error(dub.client.lead(body), "L-body", 400, "bad_request", REQUIRED)


def test_lead_schema_is_checked_before_the_missing_id(dub: Target) -> None:
    """§4 body: a bad eventName and no customerExternalId answer 422, not 400."""
    answer = dub.client.lead({"clickId": "x", "eventName": "e" * 256})
    expect_error(answer, "L-body", 422, "unprocessable_entity")


@pytest.mark.parametrize("alias", ["externalId", "customerId"])
def test_lead_aliases_name_the_customer(dub: Target, alias: str) -> None:
    """§4 body: externalId and customerId stand in for customerExternalId (trimmed)."""
    external_id = dub.unique("lead")
    body = {"clickId": dub.click(), "eventName": "Sign up", alias: f"  {external_id} "}
    data = _recorded(answer := dub.client.lead(body), "L-body")
    check(
        data["customer"]["externalId"] == external_id,
        "L-body",
        f"{alias} must name the customer {external_id!r}, trimmed",
        answer,
    )


def test_lead_ignores_unknown_keys(dub: Target) -> None:
    """§4 body: unknown keys do not make a lead invalid."""
    body = lead_body(dub, dub.click(), couponCode="X", n=1)
    _recorded(dub.client.lead(body), "L-body")


# L1: no clickId --------------------------------------------------------------------------------


@pytest.mark.parametrize("click_id", [None, "", "absent"], ids=["null", "empty", "absent"])
def test_lead_without_click_for_unknown_customer_is_400(dub: Target, click_id: str | None) -> None:
    """L1: no clickId and no such customer answers 400 'The `clickId` property was not ...'."""
    body = lead_body(dub, None if click_id == "absent" else click_id)
    if click_id is None:
        body["clickId"] = None
    expect_error(dub.client.lead(body), "L1", 400, "bad_request", NO_CLICK_ID)


def test_lead_without_click_for_customer_without_click_is_400(dub: Target) -> None:
    """L1: a customer that has no click cannot take a lead without clickId: 400."""
    external_id = dub.customer(lead=False)
    body = {"clickId": "", "eventName": "Sign up", "customerExternalId": external_id}
    expect_error(dub.client.lead(body), "L1", 400, "bad_request", NO_CLICK_ID)


def test_lead_without_click_uses_the_customers_click(dub: Target) -> None:
    """L1: clickId "" for a customer with a click records the lead on that click."""
    click_id = dub.click()
    first = dub.client.lead(lead_body(dub, click_id))
    data = _recorded(first, "L1")
    external_id = data["customer"]["externalId"]
    event = dub.unique("event")
    body = {"clickId": "", "eventName": event, "customerExternalId": external_id}
    second = _recorded(answer := dub.client.lead(body), "L1")
    check(
        second["click"]["id"] == click_id and second["link"] == data["link"],
        "L1",
        f"the lead must use the customer's click {click_id} and its link",
        first,
        answer,
    )
    check(
        has_lead(dub, external_id, event, "L1", answer), "L1", "the lead was not recorded", answer
    )


# L2: deduplication -----------------------------------------------------------------------------


def test_repeated_lead_answers_link_null(dub: Target) -> None:
    """L2: the same lead again answers 200 with link null, the same click and customer."""
    body = lead_body(dub, dub.click(), customerName="Ada Lovelace")
    first = dub.client.lead(body)
    data = _recorded(first)
    again = dub.client.lead({**body, "customerName": "Someone Else", "metadata": {"retry": 1}})
    repeat = _duplicate(again, first)
    check(
        repeat["click"] == data["click"] and repeat["customer"] == data["customer"],
        "L2",
        "a duplicate answers the same click and the stored customer",
        first,
        again,
    )
    if dub.admin is not None:
        customer = dub.records("customers", externalId=body["customerExternalId"])[0]
        leads = dub.records("leads", customerId=customer["id"])
        check(len(leads) == 1, "L2", f"one lead must be recorded, found {len(leads)}", first, again)


@pytest.mark.parametrize("variant", ["SIGN UP NOW", "sign-up-now", "Sign-Up now"])
def test_dedup_key_ignores_case_and_spaces(dub: Target, variant: str) -> None:
    """L2: the key is the event name lower-cased with spaces as '-': 'Sign up now' repeats."""
    body = lead_body(dub, dub.click(), eventName="Sign up now")
    first = dub.client.lead(body)
    _recorded(first)
    _duplicate(dub.client.lead({**body, "eventName": variant}), first)


def test_dedup_is_per_customer_and_event_name(dub: Target) -> None:
    """L2: another event name, or another customer, is a new lead (link answered)."""
    click_id = dub.click()
    body = lead_body(dub, click_id)
    first = dub.client.lead(body)
    _recorded(first)
    other_event = dub.client.lead({**body, "eventName": "Sign up again"})
    _recorded(other_event)
    other_customer = dub.client.lead({**body, "customerExternalId": dub.unique("lead")})
    _recorded(other_customer)


def test_dedup_key_is_kept_after_a_404(dub: Target) -> None:
    """L2: a lead that failed with a 404 holds its key: the corrected retry is a duplicate,
    answers the customer built from the request, and stores no customer."""
    body = lead_body(
        dub,
        dub.unique("no-click"),
        customerName="Grace Hopper",
        customerEmail="grace@example.com",
        customerAvatar="https://example.com/grace.png",
    )
    failed = dub.client.lead(body)
    expect_error(
        failed, "L3", 404, "not_found", f"Click event not found for clickId: {body['clickId']}"
    )
    retry = dub.client.lead({**body, "clickId": dub.click()})
    data = _duplicate(retry, failed)
    expected = {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "avatar": "https://example.com/grace.png",
        "externalId": body["customerExternalId"],
    }
    check(
        data["customer"] == expected,
        "L6",
        f"a duplicate whose customer was never stored answers {expected}",
        failed,
        retry,
    )
    check(
        not customer_exists(dub, body["customerExternalId"], "L2", failed, retry),
        "L2",
        "the duplicate retry must record nothing, yet a customer was stored",
        failed,
        retry,
    )


@pytest.mark.parametrize(
    ("fields", "expected_name"),
    [({"customerEmail": "only@example.com"}, "only@example.com"), ({}, None)],
    ids=["email", "random"],
)
def test_unstored_duplicate_names_the_customer_like_a_new_one(
    dub: Target, fields: dict[str, Any], expected_name: str | None
) -> None:
    """L6: the customer built for a duplicate never stored is named like a new one (L4)."""
    body = lead_body(dub, dub.unique("no-click"), **fields)
    expect_error(failed := dub.client.lead(body), "L3", 404, "not_found")
    data = _duplicate(retry := dub.client.lead({**body, "clickId": dub.click()}), failed)
    name = data["customer"]["name"]
    if expected_name is not None:
        check(name == expected_name, "L6", f"name must be {expected_name!r}", failed, retry)
    else:
        check(
            isinstance(name, str) and RANDOM_NAME.match(name),
            "L6",
            "without name and email the name is a random three-word name",
            failed,
            retry,
        )


def test_concurrent_identical_leads_record_one(dub: Target) -> None:
    """L2: N simultaneous identical leads: exactly one answers the link, one lead recorded."""
    body = lead_body(dub, dub.click())
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(lambda _: dub.client.lead(body), range(PARALLEL)))
    for answer in answers:
        expect_lead_ok(answer, "L2")
    recorded = [a for a in answers if a.json["link"] is not None]
    check(
        len(recorded) == 1,
        "L2",
        f"{PARALLEL} simultaneous identical leads: {len(recorded)} answered a link, expected 1",
        *(recorded[:3] or answers[:1]),
    )
    if dub.admin is not None:
        dub.settle()
        customer = dub.records("customers", externalId=body["customerExternalId"])
        leads = dub.records("leads", customerId=customer[0]["id"]) if customer else []
        check(len(leads) == 1, "L2", f"expected one lead, found {len(leads)}", *answers[:2])


# L3: the click ---------------------------------------------------------------------------------


def test_lead_unknown_click_is_404(dub: Target) -> None:
    """L3: an unknown click answers 404 'Click event not found for clickId: ...'."""
    click_id = dub.unique("no-click")
    answer = dub.client.lead(lead_body(dub, click_id))
    expect_error(answer, "L3", 404, "not_found", f"Click event not found for clickId: {click_id}")


def test_lead_click_on_missing_link_is_404(dub: Target) -> None:
    """L3: a click whose link does not exist answers 404 'Link not found for clickId: ...'."""
    click_id = dub.click(linkId=dub.unique("gone-link"))
    answer = dub.client.lead(lead_body(dub, click_id))
    expect_error(answer, "L3", 404, "not_found", f"Link not found for clickId: {click_id}")


def test_lead_click_of_another_workspace_is_404(dub: Target) -> None:
    """L3: a click whose link belongs to another workspace answers 404, records nothing."""
    workspace = dub.workspace()
    link = dub.link_record(workspaceId=workspace)
    click_id = dub.click(linkId=link["id"], workspaceId=workspace)
    body = lead_body(dub, click_id)
    answer = dub.client.lead(body)
    message = f"Link {link['id']} for clickId {click_id} does not belong to the workspace"
    expect_error(answer, "L3", 404, "not_found", message)
    check(
        not dub.records("customers", externalId=body["customerExternalId"]),
        "L3",
        "a lead on another workspace's click must create no customer",
        answer,
    )


def test_lead_click_on_disabled_link_is_404(dub: Target) -> None:
    """L3: a click whose link is disabled answers 404 '... is disabled, lead not tracked'."""
    link_id = dub.link(disabled=True)
    click_id = dub.click(linkId=link_id)
    answer = dub.client.lead(lead_body(dub, click_id))
    message = f"Link {link_id} for clickId {click_id} is disabled, lead not tracked"
    expect_error(answer, "L3", 404, "not_found", message)


# L4: the customer ------------------------------------------------------------------------------


def test_lead_creates_the_customer(dub: Target) -> None:
    """L4: a new customer from the request's fields; a later sale finds it (cus_ + 26)."""
    body = lead_body(
        dub,
        dub.click(),
        customerName="Zoë Ωmega",
        customerEmail="zoe@example.com",
        customerAvatar="https://example.com/zoe.png",
    )
    data = _recorded(first := dub.client.lead(body), "L4")
    expected = {
        "name": "Zoë Ωmega",
        "email": "zoe@example.com",
        "avatar": "https://example.com/zoe.png",
        "externalId": body["customerExternalId"],
    }
    check(data["customer"] == expected, "L4", f"expected customer {expected}", first)
    lead_is_found(dub, body["customerExternalId"], "Sign up", "L4", first)  # async: wait for it
    sale = dub.client.sale(
        {
            "customerExternalId": body["customerExternalId"],
            "amount": 100,
            "invoiceId": dub.invoice(),
        }
    )
    customer = expect_ok(sale, "L-sale")["customer"] or {}
    check(
        CUSTOMER_ID.match(str(customer.get("id")))
        and {k: customer.get(k) for k in expected} == expected,
        "L4",
        "a sale after the lead must find the customer it created (id cus_ + 26 characters)",
        first,
        sale,
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"customerEmail": "mail@example.com"}, "mail@example.com"), ({"customerName": ""}, None)],
    ids=["email", "random"],
)
def test_lead_customer_name_falls_back(
    dub: Target, fields: dict[str, Any], expected: str | None
) -> None:
    """L4: no customerName: the name is the email, else a random three-word name."""
    data = _recorded(answer := dub.client.lead(lead_body(dub, dub.click(), **fields)), "L4")
    name = data["customer"]["name"]
    if expected is not None:
        check(name == expected, "L4", f"the name must be {expected!r}", answer)
    else:
        check(isinstance(name, str) and RANDOM_NAME.match(name), "L4", "a random name", answer)
        check(data["customer"]["email"] is None, "L4", "email stays null", answer)


def test_existing_customer_is_not_updated(dub: Target) -> None:
    """L4: a later lead with other customer fields answers (and keeps) the stored customer."""
    body = lead_body(dub, dub.click(), customerName="First Name", customerEmail="first@example.com")
    data = _recorded(first := dub.client.lead(body), "L4")
    later = dub.client.lead(
        {**body, "eventName": "Trial started", "customerName": "Second", "customerEmail": "2@x.io"}
    )
    second = _recorded(later, "L4")
    check(
        second["customer"] == data["customer"],
        "L4",
        "an existing customer is not updated by a later lead",
        first,
        later,
    )


def test_deferred_lead_creates_the_customer_without_a_lead(dub: Target) -> None:
    """L4 and L5: mode deferred creates the customer and answers the link, records no lead."""
    body = lead_body(dub, dub.click(), mode="deferred", eventName=dub.unique("event"))
    data = _recorded(answer := dub.client.lead(body), "L5")
    external_id = body["customerExternalId"]
    check(data["customer"]["externalId"] == external_id, "L4", "the customer is answered", answer)
    check(customer_exists(dub, external_id, "L4", answer), "L4", "deferred must create it", answer)
    check(
        not has_lead(dub, external_id, body["eventName"], "L5", answer),
        "L5",
        "a deferred lead must record no lead event",
        answer,
    )


# L5: recording ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["async", "wait", None])
def test_lead_is_found_by_a_later_sale(dub: Target, mode: str | None) -> None:
    """L5 and §4: an async or wait lead (async by default) is what the sale's rule 14 finds."""
    event = dub.unique("event")
    body = lead_body(dub, dub.click(), eventName=event, **({"mode": mode} if mode else {}))
    _recorded(answer := dub.client.lead(body), "L5")
    external_id = body["customerExternalId"]
    check(
        lead_is_found(dub, external_id, event, "L-sale", answer),
        "L-sale",
        f"a sale must find the lead {event!r} just recorded",
        answer,
    )
    check(
        not has_lead(dub, external_id, event.upper(), "L-sale", answer),
        "L-sale",
        "leadEventName is case-sensitive: the upper-cased name matches no lead",
        answer,
    )


def test_deferred_lead_is_recorded_by_a_later_request(dub: Target) -> None:
    """L2 and L5: deferred takes no key; a later request with clickId "" records the lead,
    and a third one is the duplicate."""
    event = dub.unique("event")
    body = lead_body(dub, dub.click(), eventName=event)
    deferred = dub.client.lead({**body, "mode": "deferred"})
    _recorded(deferred, "L5")
    later = dub.client.lead({**body, "clickId": ""})
    _recorded(later, "L2")
    external_id = body["customerExternalId"]
    check(
        lead_is_found(dub, external_id, event, "L5", deferred, later),
        "L5",
        "the request after a deferred one must record the lead",
        deferred,
        later,
    )
    _duplicate(dub.client.lead({**body, "clickId": ""}), deferred, later)


def test_lead_records_event_quantity_on_the_clicks_link(dub: Target) -> None:
    """L5: eventQuantity lead events named eventName with the metadata, on the click's link;
    the link's leads counter grows by that number."""
    link = dub.link_record()
    click_id = dub.click(linkId=link["id"])
    body = lead_body(dub, click_id, eventQuantity=3, metadata={"plan": "pro"})
    data = _recorded(answer := dub.client.lead(body), "L5")
    customer = dub.records("customers", externalId=body["customerExternalId"])
    check(len(customer) == 1, "L4", "the customer must be stored", answer)
    leads = dub.records("leads", customerId=customer[0]["id"])
    shown = [
        (x.get("eventName"), x.get("linkId"), x.get("clickId"), x.get("metadata")) for x in leads
    ]
    expected = [("Sign up", link["id"], click_id, {"plan": "pro"})] * 3
    check(shown == expected, "L5", f"expected 3 leads {expected[0]}, found {shown}", answer)
    stored = dub.records("links", id=link["id"])[0]
    check(stored.get("leads") == 3, "L5", f"link leads must be 3: {stored}", answer)
    check(data["link"]["id"] == link["id"], "L6", "the answer names the click's link", answer)
    check(
        customer[0].get("linkId") == link["id"],
        "L4",
        f"the new customer belongs to the click's link: {customer[0]}",
        answer,
    )


def test_lead_sale_uses_the_lead_and_its_link(dub: Target) -> None:
    """§4: a sale after the lead names that lead event and the click's link."""
    link = dub.link_record()
    click_id = dub.click(linkId=link["id"])
    body = lead_body(dub, click_id, eventName="Trial started")
    _recorded(first := dub.client.lead(body), "L5")
    invoice = dub.invoice()
    sale_body = {"customerExternalId": body["customerExternalId"], "amount": 700}
    expect_ok(sale := dub.client.sale({**sale_body, "invoiceId": invoice}), "L-sale")
    customer = dub.records("customers", externalId=body["customerExternalId"])[0]
    leads = dub.records("leads", customerId=customer["id"])
    sales = dub.records("sales", invoiceId=invoice)
    check(
        len(sales) == 1
        and sales[0].get("leadId") in {lead["id"] for lead in leads}
        and sales[0].get("linkId") == link["id"],
        "L-sale",
        f"the sale must use the lead and the click's link {link['id']}: {sales}",
        first,
        sale,
    )


# L6: the answer --------------------------------------------------------------------------------


def test_lead_answer_shape(dub: Target) -> None:
    """L6: exactly click, link (Dub's nine keys, the partner ones null) and customer."""
    click_id = dub.click()
    data = _recorded(answer := dub.client.lead(lead_body(dub, click_id)), "L6")
    link = data["link"]
    check(data["click"] == {"id": click_id}, "L6", "click must be {id: the clickId}", answer)
    check(
        link["shortLink"] == f"https://{link['domain']}/{link['key']}",
        "L6",
        "link.shortLink must be https://{domain}/{key}",
        answer,
    )
    nulls = {k: link[k] for k in ("partnerId", "programId", "tenantId", "externalId")}
    check(set(nulls.values()) == {None}, "L6", f"partner keys must be null: {nulls}", answer)
    if dub.admin is not None:
        click = dub.records("clicks", id=click_id)[0]
        stored = dub.records("links", id=click["linkId"])[0]
        shown = {k: link[k] for k in ("id", "domain", "key", "shortLink", "url")}
        expected = {k: stored.get(k) for k in shown}
        check(shown == expected, "L6", f"link must be the click's link {expected}", answer)
