"""Rules 12, 14, 15, 17, 19 and 20: what a sale answers and what it records."""

from __future__ import annotations

import re

from contract_tests.areas import mark
from contract_tests.funnel import customer_without_lead
from contract_tests.rules import check, expect_error, expect_ok
from contract_tests.target import Target

pytestmark = mark("sale")

CUSTOMER_KEYS = {"id", "name", "email", "avatar", "externalId"}
SALE_KEYS = {"amount", "currency", "paymentProcessor", "invoiceId", "metadata"}


def test_unknown_customer_answers_nulls(dub: Target) -> None:
    """Rule 15: an unknown customer and no clickId answer 200 with customer and sale null."""
    answer = dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1999})
    data = expect_ok(answer, "15")
    expected = {"eventName": "Purchase", "customer": None, "sale": None}
    check(data == expected, "15", f"expected exactly {expected}", answer)


def test_unknown_customer_echoes_event_name(dub: Target) -> None:
    """Rules 12 and 15: the null answer still names the request's event."""
    body = {"customerExternalId": dub.unique("nobody"), "amount": 5, "eventName": "Invoice paid"}
    data = expect_ok(dub.client.sale(body), "15")
    check(data["eventName"] == "Invoice paid", "15", "eventName must be echoed")


def test_amount_zero_answers_nulls(dub: Target) -> None:
    """Rule 17: amount 0 for a known customer answers nulls and records nothing."""
    external_id = dub.customer()
    invoice = dub.invoice()
    body = {"customerExternalId": external_id, "amount": 0, "invoiceId": invoice}
    answer = dub.client.sale(body)
    data = expect_ok(answer, "17")
    check(data["customer"] is None and data["sale"] is None, "17", "expected nulls", answer)
    if dub.admin is not None:
        check(not dub.records("sales", invoiceId=invoice), "17", "a sale was recorded", answer)
    # Observed by any client: the invoice was not claimed, so it still records a sale.
    later = dub.client.sale({**body, "amount": 500})
    sale = expect_ok(later, "17")["sale"] or {}
    check(
        sale.get("amount") == 500 and sale.get("invoiceId") == invoice,
        "17",
        "amount 0 must record nothing: the same invoice must still record a sale of 500",
        answer,
        later,
    )


def test_sale_answer_shape_and_defaults(dub: Target) -> None:
    """Rules 12 and 20: a recorded sale answers exactly the documented keys with the defaults."""
    external_id = dub.customer()
    invoice = dub.invoice()
    answer = dub.client.sale(
        {"customerExternalId": external_id, "amount": 4900, "invoiceId": invoice}
    )
    data = expect_ok(answer, "20")
    customer, sale = data["customer"], data["sale"]
    check(
        isinstance(customer, dict) and set(customer) == CUSTOMER_KEYS,
        "20",
        f"customer must have exactly {sorted(CUSTOMER_KEYS)}",
        answer,
    )
    check(
        isinstance(sale, dict) and set(sale) == SALE_KEYS,
        "20",
        f"sale must have exactly {sorted(SALE_KEYS)}",
        answer,
    )
    check(data["eventName"] == "Purchase", "12", "eventName defaults to Purchase", answer)
    check(customer["externalId"] == external_id, "20", "customer.externalId is echoed", answer)
    check(str(customer["id"]).startswith("cus_"), "20", "customer.id starts with cus_", answer)
    expected = {
        "amount": 4900,
        "currency": "usd",
        "paymentProcessor": "custom",
        "invoiceId": invoice,
        "metadata": None,
    }
    check(sale == expected, "12", f"expected sale {expected}", answer)


def test_sale_echoes_given_fields(dub: Target) -> None:
    """Rules 12 and 20: eventName, paymentProcessor, metadata and currency (lower-cased) echo."""
    external_id = dub.customer()
    invoice = dub.invoice()
    metadata = {"plan": "pro", "seats": 3, "nested": {"ok": True}}
    body = {
        "customerExternalId": external_id,
        "amount": 1200,
        "currency": "USD",
        "eventName": "Subscription created",
        "paymentProcessor": "stripe",
        "invoiceId": invoice,
        "metadata": metadata,
    }
    data = expect_ok(answer := dub.client.sale(body), "20")
    check(data["eventName"] == "Subscription created", "20", "eventName is echoed", answer)
    expected = {
        "amount": 1200,
        "currency": "usd",
        "paymentProcessor": "stripe",
        "invoiceId": invoice,
        "metadata": metadata,
    }
    check(data["sale"] == expected, "20", f"expected sale {expected}", answer)


def test_sale_is_recorded_with_its_side_effects(dub: Target) -> None:
    """Rule 19: one sale with customer, link and lead; link and customer counters move."""
    record = dub.customer_record()
    external_id, link_id = record["externalId"], record["linkId"]
    invoice = dub.invoice()
    answer = dub.client.sale(
        {"customerExternalId": external_id, "amount": 2500, "invoiceId": invoice}
    )
    expect_ok(answer, "19")
    sales = dub.records("sales", invoiceId=invoice)
    check(len(sales) == 1, "19", f"expected one recorded sale, found {len(sales)}", answer)
    sale = sales[0]
    leads = dub.records("leads", customerId=record["id"])
    check(
        sale.get("customerId") == record["id"] and sale.get("linkId") == link_id,
        "19",
        f"the sale must name customer {record['id']} and link {link_id}: {sale}",
        answer,
    )
    check(
        sale.get("leadId") in {lead["id"] for lead in leads},
        "19",
        f"the sale must name the customer's lead event: {sale}",
        answer,
    )
    check(
        sale.get("amount") == 2500 and sale.get("currency") == "usd",
        "19",
        f"the recorded amount must be 2500 usd: {sale}",
        answer,
    )
    link = dub.records("links", id=link_id)[0]
    check(
        (link.get("sales"), link.get("saleAmount"), link.get("conversions")) == (1, 2500, 1),
        "19",
        f"link counters after the first sale: {link}",
        answer,
    )
    customer = dub.records("customers", id=record["id"])[0]
    check(
        (customer.get("sales"), customer.get("saleAmount")) == (1, 2500)
        and customer.get("firstSaleAt"),
        "19",
        f"customer counters after the first sale: {customer}",
        answer,
    )
    second = dub.client.sale(
        {"customerExternalId": external_id, "amount": 500, "invoiceId": dub.invoice()}
    )
    expect_ok(second, "19")
    link = dub.records("links", id=link_id)[0]
    check(
        (link.get("sales"), link.get("saleAmount"), link.get("conversions")) == (2, 3000, 1),
        "19",
        f"a second sale counts once more but is no new conversion: {link}",
        second,
    )


def test_lead_event_name_picks_that_lead(dub: Target) -> None:
    """Rule 14: leadEventName selects the latest lead of exactly that name."""
    record = dub.customer_record(leadEventName="Sign up")
    admin = dub.require_admin("add a lead")
    lead = admin.call(
        "POST",
        "leads",
        {
            "customerExternalId": record["externalId"],
            "eventName": "Trial started",
            "workspaceId": dub.workspace_id,
        },
    )
    admin.call(
        "POST",
        "leads",
        {
            "customerExternalId": record["externalId"],
            "eventName": "Sign up again",
            "workspaceId": dub.workspace_id,
        },
    )
    invoice = dub.invoice()
    body = {
        "customerExternalId": record["externalId"],
        "amount": 700,
        "leadEventName": "Trial started",
        "invoiceId": invoice,
    }
    expect_ok(answer := dub.client.sale(body), "14")
    sales = dub.records("sales", invoiceId=invoice)
    check(
        len(sales) == 1 and sales[0].get("leadId") == lead["id"],
        "14",
        f"the sale must use lead {lead['id']} 'Trial started': {sales}",
        answer,
    )


def test_lead_event_name_is_case_sensitive(dub: Target) -> None:
    """Rule 14: a leadEventName matching no lead exactly answers 404 naming both."""
    external_id = dub.customer()
    # The admin API names a customer's lead "Sign up"; a real customer gets a name no lead has.
    name = "sign up" if dub.admin is not None else dub.unique("no-such-lead")
    body = {"customerExternalId": external_id, "amount": 700, "leadEventName": name}
    answer = dub.client.sale(body)
    message = f"Lead event not found for externalId: {external_id} and leadEventName: {name}"
    expect_error(answer, "14", 404, "not_found", message)


def test_customer_without_lead_is_404(dub: Target) -> None:
    """Rule 14: a customer with no lead event answers 404; a missing name prints as null."""
    external_id = customer_without_lead(dub)
    answer = dub.client.sale({"customerExternalId": external_id, "amount": 700})
    message = f"Lead event not found for externalId: {external_id} and leadEventName: null"
    expect_error(answer, "14", 404, "not_found", message)


def test_empty_lead_event_name_matches_no_lead(dub: Target) -> None:
    """Fine point: leadEventName "" is a name, and no lead has it: 404."""
    external_id = dub.customer()
    answer = dub.client.sale(
        {"customerExternalId": external_id, "amount": 700, "leadEventName": ""}
    )
    expect_error(
        answer, "14", 404, "not_found", re.compile(r"^Lead event not found for externalId")
    )


def test_customer_with_missing_link_is_404(dub: Target) -> None:
    """Rule 14: a customer whose link does not exist answers 404 'Link not found'."""
    record = dub.customer_record(linkId=dub.unique("gone-link"))
    answer = dub.client.sale({"customerExternalId": record["externalId"], "amount": 700})
    expect_error(answer, "14", 404, "not_found", f"Link not found for customer {record['id']}")


def test_customer_with_disabled_link_is_404(dub: Target) -> None:
    """Rule 14: a customer whose link is disabled answers 404 and records nothing."""
    link_id = dub.link(disabled=True)
    record = dub.customer_record(linkId=link_id)
    invoice = dub.invoice()
    body = {"customerExternalId": record["externalId"], "amount": 700, "invoiceId": invoice}
    answer = dub.client.sale(body)
    message = f"Link {link_id} for customer {record['id']} is disabled, sale not tracked"
    expect_error(answer, "14", 404, "not_found", message)
    check(not dub.records("sales", invoiceId=invoice), "14", "a sale was recorded", answer)


def test_latest_lead_is_used_by_default(dub: Target) -> None:
    """Rule 14: without leadEventName the sale uses the customer's latest lead event."""
    record = dub.customer_record(leadEventName="Sign up")
    admin = dub.require_admin("add a lead")
    payload = {"customerExternalId": record["externalId"], "workspaceId": dub.workspace_id}
    latest = admin.call("POST", "leads", {**payload, "eventName": "Trial started"})
    invoice = dub.invoice()
    body = {"customerExternalId": record["externalId"], "amount": 650, "invoiceId": invoice}
    expect_ok(answer := dub.client.sale(body), "14")
    sales = dub.records("sales", invoiceId=invoice)
    check(
        len(sales) == 1 and sales[0].get("leadId") == latest["id"],
        "14",
        f"the sale must use the latest lead {latest['id']} 'Trial started': {sales}",
        answer,
    )
