"""Rule 16 and its fine points: direct sale tracking with a clickId."""

from __future__ import annotations

import re

import pytest

from contract_tests.areas import mark
from contract_tests.funnel import has_lead
from contract_tests.rules import check, expect_error, expect_ok
from contract_tests.target import Target

pytestmark = mark("sale")

CUSTOMER_ID = re.compile(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$")
RANDOM_NAME = re.compile(r"^\S+ \S+ \S+$")
DIRECT_LEAD = "Direct sale tracking lead event"


def test_direct_sale_creates_the_customer(dub: Target) -> None:
    """Rule 16: an unknown customer with a click is created from the request's fields."""
    click_id = dub.click()
    external_id = dub.unique("direct")
    body = {
        "customerExternalId": external_id,
        "amount": 1500,
        "clickId": click_id,
        "customerName": "Zoë Ωmega",
        "customerEmail": "zoe@example.com",
        "customerAvatar": "https://example.com/zoe.png",
        "invoiceId": dub.invoice(),
    }
    data = expect_ok(answer := dub.client.sale(body), "16")
    customer = data["customer"] or {}
    check(
        CUSTOMER_ID.match(str(customer.get("id"))),
        "16",
        "customer.id must be cus_ + 26 Crockford base32 characters",
        answer,
    )
    expected = {
        "name": "Zoë Ωmega",
        "email": "zoe@example.com",
        "avatar": "https://example.com/zoe.png",
        "externalId": external_id,
    }
    shown = {key: customer.get(key) for key in expected}
    check(shown == expected, "16", f"expected customer fields {expected}", answer)
    check(data["sale"] and data["sale"]["amount"] == 1500, "16", "the sale is recorded", answer)
    again = dub.client.sale(
        {"customerExternalId": external_id, "amount": 100, "invoiceId": dub.invoice()}
    )
    data = expect_ok(again, "16")
    check(
        (data["customer"] or {}).get("id") == customer.get("id") and data["sale"] is not None,
        "16",
        "the created customer (with its lead) must take later sales",
        answer,
        again,
    )


def test_direct_sale_records_a_lead_on_the_clicks_link(dub: Target) -> None:
    """Rule 16: the new customer gets a lead event (default name) on the click's link."""
    click_id = dub.click()
    click = dub.records("clicks", id=click_id)[0]
    external_id = dub.unique("direct")
    body = {"customerExternalId": external_id, "amount": 900, "clickId": click_id}
    body["invoiceId"] = dub.invoice()
    customer = expect_ok(answer := dub.client.sale(body), "16")["customer"] or {}
    leads = dub.records("leads", customerId=customer.get("id"))
    check(
        [lead.get("eventName") for lead in leads] == [DIRECT_LEAD],
        "16",
        f"expected one lead named {DIRECT_LEAD!r}: {leads}",
        answer,
    )
    check(
        leads[0].get("linkId") == click["linkId"],
        "16",
        f"the lead must be on the click's link {click['linkId']}",
        answer,
    )


def test_direct_sale_lead_takes_lead_event_name(dub: Target) -> None:
    """Rule 16: leadEventName names the direct sale's new lead."""
    click_id = dub.click()
    body = {
        "customerExternalId": dub.unique("direct"),
        "amount": 900,
        "clickId": click_id,
        "leadEventName": "Signed up from ad",
        "invoiceId": dub.invoice(),
    }
    customer = expect_ok(answer := dub.client.sale(body), "16")["customer"] or {}
    leads = dub.records("leads", customerId=customer.get("id"))
    check(
        [lead.get("eventName") for lead in leads] == ["Signed up from ad"],
        "16",
        f"expected one lead 'Signed up from ad': {leads}",
        answer,
    )


def test_direct_sale_name_falls_back_to_email(dub: Target) -> None:
    """Rule 16: with no customerName the name is the email."""
    click_id = dub.click()
    body = {
        "customerExternalId": dub.unique("direct"),
        "amount": 900,
        "clickId": click_id,
        "customerEmail": "fallback@example.com",
        "invoiceId": dub.invoice(),
    }
    customer = expect_ok(answer := dub.client.sale(body), "16")["customer"] or {}
    check(customer.get("name") == "fallback@example.com", "16", "name must be the email", answer)


def test_direct_sale_random_name(dub: Target) -> None:
    """Rule 16: with neither name nor email the name is a random three-word name."""
    click_id = dub.click()
    body = {
        "customerExternalId": dub.unique("direct"),
        "amount": 900,
        "clickId": click_id,
        "customerName": "",
        "invoiceId": dub.invoice(),
    }
    customer = expect_ok(answer := dub.client.sale(body), "16")["customer"] or {}
    check(
        RANDOM_NAME.match(str(customer.get("name"))),
        "16",
        "expected a random 'Adjective Colour Animal' name",
        answer,
    )
    check(
        customer.get("email") is None and customer.get("avatar") is None,
        "16",
        "email and avatar stay null",
        answer,
    )


def test_unknown_click_is_404(dub: Target) -> None:
    """Rule 16: an unknown click answers 404 naming it."""
    click_id = dub.unique("no-click")
    body = {"customerExternalId": dub.unique("direct"), "amount": 900, "clickId": click_id}
    answer = dub.client.sale(body)
    expect_error(answer, "16", 404, "not_found", f"Click event not found for clickId: {click_id}")


def test_unknown_click_with_amount_zero_is_404(dub: Target) -> None:
    """Rule 17 after 16: amount 0 does not hide an unknown click."""
    click_id = dub.unique("no-click")
    body = {"customerExternalId": dub.unique("direct"), "amount": 0, "clickId": click_id}
    answer = dub.client.sale(body)
    expect_error(answer, "17", 404, "not_found", f"Click event not found for clickId: {click_id}")


def test_click_on_disabled_link_is_404(dub: Target) -> None:
    """Rule 16: a click whose link is disabled answers 404."""
    link_id = dub.link(disabled=True)
    click_id = dub.click(linkId=link_id)
    body = {"customerExternalId": dub.unique("direct"), "amount": 900, "clickId": click_id}
    answer = dub.client.sale(body)
    message = f"Link {link_id} for clickId {click_id} is disabled, sale not tracked"
    expect_error(answer, "16", 404, "not_found", message)


def test_click_on_missing_link_is_404(dub: Target) -> None:
    """Rule 16: a click whose link does not exist answers 404."""
    click_id = dub.click(linkId=dub.unique("gone-link"))
    body = {"customerExternalId": dub.unique("direct"), "amount": 900, "clickId": click_id}
    answer = dub.client.sale(body)
    expect_error(answer, "16", 404, "not_found", f"Link not found for clickId {click_id}")


def test_empty_click_id_counts_as_absent(dub: Target) -> None:
    """Fine point: clickId "" is no click: an unknown customer answers nulls."""
    body = {"customerExternalId": dub.unique("nobody"), "amount": 900, "clickId": ""}
    data = expect_ok(answer := dub.client.sale(body), "16")
    check(data["customer"] is None and data["sale"] is None, "16", "expected nulls", answer)


def test_direct_sale_with_amount_zero_still_creates_customer(dub: Target) -> None:
    """Fine point: a direct sale of 0 answers nulls but creates the customer and its lead."""
    click_id = dub.click()
    external_id = dub.unique("direct")
    body = {"customerExternalId": external_id, "amount": 0, "clickId": click_id}
    data = expect_ok(answer := dub.client.sale(body), "17")
    check(data["customer"] is None and data["sale"] is None, "17", "expected nulls", answer)
    customers = dub.records("customers", externalId=external_id)
    check(len(customers) == 1, "16", "the customer must be created", answer)
    leads = dub.records("leads", customerId=customers[0]["id"])
    check(len(leads) == 1, "16", f"the customer's lead must be created: {leads}", answer)


def test_direct_sale_keeps_empty_avatar_and_names_empty_lead(dub: Target) -> None:
    """Fine points: customerAvatar "" is kept as ""; leadEventName "" names the new lead ""."""
    click_id = dub.click()
    body = {
        "customerExternalId": dub.unique("direct"),
        "amount": 900,
        "clickId": click_id,
        "customerAvatar": "",
        "leadEventName": "",
        "invoiceId": dub.invoice(),
    }
    customer = expect_ok(answer := dub.client.sale(body), "16")["customer"] or {}
    check(customer.get("avatar") == "", "16", 'customerAvatar "" must be kept as ""', answer)
    leads = dub.records("leads", customerId=customer.get("id"))
    check(
        [lead.get("eventName") for lead in leads] == [""],
        "16",
        f'leadEventName "" must name the new lead "": {leads}',
        answer,
    )


def test_direct_sale_is_attributed_to_the_clicks_link(dub: Target) -> None:
    """Rules 16 and 19: the new customer and the sale belong to the click's link."""
    click_id = dub.click()
    link_id = dub.records("clicks", id=click_id)[0]["linkId"]
    external_id, invoice = dub.unique("direct"), dub.invoice()
    body = {"customerExternalId": external_id, "amount": 900, "clickId": click_id}
    expect_ok(answer := dub.client.sale({**body, "invoiceId": invoice}), "16")
    customer = dub.records("customers", externalId=external_id)[0]
    sales = dub.records("sales", invoiceId=invoice)
    check(
        customer.get("linkId") == link_id and [s.get("linkId") for s in sales] == [link_id],
        "16",
        f"customer and sale must be on link {link_id}: {customer}, {sales}",
        answer,
    )


@pytest.mark.parametrize(
    ("lead_event_name", "expected"),
    [(None, DIRECT_LEAD), ("Signed up from ad", "Signed up from ad"), ("", "")],
    ids=["default", "named", "empty"],
)
def test_direct_sale_lead_is_found_by_a_later_sale(
    dub: Target, lead_event_name: str | None, expected: str
) -> None:
    """Rule 16 and fine points: the direct sale's lead is named leadEventName ("" too), else
    'Direct sale tracking lead event': a later sale finds it by that name, and by no other."""
    external_id = dub.unique("direct")
    body = {"customerExternalId": external_id, "amount": 900, "clickId": dub.click()}
    if lead_event_name is not None:
        body["leadEventName"] = lead_event_name
    expect_ok(answer := dub.client.sale({**body, "invoiceId": dub.invoice()}), "16")
    check(
        has_lead(dub, external_id, expected, "16", answer),
        "16",
        f"a later sale must find the direct sale's lead {expected!r}",
        answer,
    )
    other = DIRECT_LEAD if expected != DIRECT_LEAD else "Sign up"
    check(
        not has_lead(dub, external_id, other, "16", answer),
        "16",
        f"the direct sale's lead must not be named {other!r}",
        answer,
    )


def test_direct_sale_of_zero_is_observed_by_a_later_sale(dub: Target) -> None:
    """Fine point: a direct sale of amount 0 answers nulls, yet a later sale finds the customer
    and its lead (rule 16 runs before rule 17)."""
    external_id = dub.unique("direct")
    body = {"customerExternalId": external_id, "amount": 0, "clickId": dub.click()}
    data = expect_ok(answer := dub.client.sale(body), "17")
    check(data["customer"] is None and data["sale"] is None, "17", "expected nulls", answer)
    check(
        has_lead(dub, external_id, DIRECT_LEAD, "16", answer),
        "16",
        "the customer and its lead must exist after a direct sale of 0",
        answer,
    )
