"""Rules 13-20: idempotency, customers and their leads, direct sale tracking, zero amounts,
currency conversion, the recorded sale with its side effects, and the exact 200 body."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockServer

from .support import STORES, HttpApi, PinnedClock, Reply, WsgiApi

NULLS = {"customer": None, "sale": None}
CUSTOMER_ID = re.compile(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$")
NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ [A-Z][a-z]+$")
COLOURS = frozenset(
    [
        "Red",
        "Blue",
        "Green",
        "Yellow",
        "Purple",
        "Orange",
        "Pink",
        "Teal",
        "Silver",
        "Golden",
        "Gold",
        "Amber",
        "Violet",
        "Indigo",
        "Coral",
        "Crimson",
        "Ivory",
        "Olive",
        "Azure",
        "Scarlet",
        "Jade",
        "Black",
        "White",
        "Grey",
        "Gray",
        "Brown",
        "Cyan",
        "Magenta",
        "Maroon",
        "Navy",
        "Lime",
        "Aqua",
        "Beige",
        "Bronze",
        "Copper",
        "Cream",
        "Emerald",
        "Fuchsia",
        "Lavender",
        "Lilac",
        "Mauve",
        "Mint",
        "Ochre",
        "Peach",
        "Plum",
        "Rose",
        "Ruby",
        "Rust",
        "Saffron",
        "Sapphire",
        "Tan",
        "Turquoise",
        "Umber",
        "Vermilion",
    ]
)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DAY = 24 * 3600


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    return reply.json  # type: ignore[no-any-return]


def _sale(external_id: str = "cust_1", amount: int = 100, **fields: Any) -> dict[str, Any]:
    return {"customerExternalId": external_id, "amount": amount, **fields}


# --- rule 13: idempotency ----------------------------------------------------------------


def test_rule13_a_repeated_invoice_replays_the_first_answer(api: HttpApi) -> None:
    api.add_customer("cust_1")
    api.add_customer("cust_2")
    first = api.track(_sale(invoiceId="INV_1", eventName="Invoice paid", metadata={"n": 1}))
    again = api.track(_sale("cust_2", 999, invoiceId="INV_1", eventName="Other",
                            currency="eur", paymentProcessor="stripe"))  # fmt: skip
    assert _ok(first)["sale"]["invoiceId"] == "INV_1"
    assert again.body == first.body
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in again.headers, name
    state = api.state()
    assert len(state["sales"]) == 1
    assert api.customer("cust_1")["sales"] == 1
    assert api.customer("cust_2")["sales"] == 0


def test_rule13_the_replay_still_passes_rules_9_to_11_first(api: HttpApi) -> None:
    api.add_customer("cust_1")
    _ok(api.track(_sale(invoiceId="INV_1")))
    api.track(_sale(amount=-1, invoiceId="INV_1")).expect_error(422, "unprocessable_entity")
    api.track({"amount": 1, "invoiceId": "INV_1"}).expect_error(
        400, "bad_request", "customerExternalId is required"
    )


def test_rule13_invoices_are_per_workspace(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    api.add_token("dub_ws2", workspaceId="ws_2")
    api.add_customer("cust_1")
    api.add_customer("cust_1", workspaceId="ws_2")
    one = _ok(api.track(_sale(invoiceId="INV_1")))
    two = _ok(api.track(_sale(amount=300, invoiceId="INV_1"), token="dub_ws2"))
    assert one["customer"]["id"] != two["customer"]["id"]
    assert two["sale"]["amount"] == 300
    assert sorted(s["workspaceId"] for s in api.state()["sales"]) == ["ws_2", "ws_mock"]


def test_rule13_answers_without_a_customer_store_nothing(api: HttpApi) -> None:
    assert _ok(api.track(_sale(invoiceId="INV_1")))["customer"] is None  # not a customer yet
    api.add_customer("cust_1")
    assert _ok(api.track(_sale(amount=0, invoiceId="INV_1")))["sale"] is None  # zero amount
    recorded = _ok(api.track(_sale(amount=500, invoiceId="INV_1")))
    assert recorded["sale"]["amount"] == 500
    assert _ok(api.track(_sale(amount=1, invoiceId="INV_1"))) == recorded
    assert len(api.state()["sales"]) == 1


def test_rule13_a_failed_answer_stores_nothing(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    api.add_customer("cust_1", linkId=link["id"])
    assert api.track(_sale(invoiceId="INV_1")).status == 404
    api.add_customer("cust_2")
    assert _ok(api.track(_sale("cust_2", invoiceId="INV_1")))["customer"]["externalId"] == "cust_2"


def test_rule13_comes_before_the_customer_and_click_steps(api: HttpApi) -> None:
    api.add_customer("cust_1")
    first = _ok(api.track(_sale(invoiceId="INV_1")))
    api.add_customer("cust_broken", linkId="link_gone")
    assert _ok(api.track(_sale("cust_broken", invoiceId="INV_1"))) == first
    assert _ok(api.track(_sale("new_1", invoiceId="INV_1", clickId="nope"))) == first
    assert _ok(api.track(_sale("nobody", 0, invoiceId="INV_1"))) == first


def test_rule13_without_invoice_every_request_records(api: HttpApi) -> None:
    api.add_customer("cust_1")
    for _ in range(3):
        _ok(api.track(_sale()))
    assert len(api.state()["sales"]) == 3


def _concurrently(count: int, send: Callable[[int], Reply]) -> list[Reply]:
    barrier = threading.Barrier(count)
    replies: list[Reply | None] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            replies[index] = send(index)
        except BaseException as exc:  # re-raised in the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


def test_rule13_concurrent_requests_for_one_invoice_record_one_sale(api: HttpApi) -> None:
    api.add_customer("cust_1")
    replies = _concurrently(
        16, lambda i: api.track(_sale(amount=100 + i, invoiceId="INV_RACE", eventName=f"e{i}"))
    )
    assert {r.status for r in replies} == {200}
    assert len({r.body for r in replies}) == 1
    state = api.state()
    assert len(state["sales"]) == 1
    assert api.customer("cust_1")["sales"] == 1
    (link,) = [link for link in state["links"] if link["id"] == api.customer("cust_1")["linkId"]]
    assert link["sales"] == 1 and link["conversions"] == 1


def test_rule13_concurrent_direct_sales_for_one_invoice_record_one_sale(api: HttpApi) -> None:
    click = api.add_click()
    replies = _concurrently(
        12, lambda i: api.track(_sale("new_1", invoiceId="INV_DIRECT", clickId=click["id"]))
    )
    assert len({r.body for r in replies}) == 1
    assert _ok(replies[0])["customer"]["externalId"] == "new_1"
    state = api.state()
    assert len(state["sales"]) == 1
    assert len([c for c in state["customers"] if c["externalId"] == "new_1"]) == 1


def test_rule13_two_instances_on_one_sqlite_file_record_one_sale(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/shared.db"
    with MockServer(state=state, quiet=True) as one, MockServer(state=state, quiet=True) as two:
        clients = (HttpApi(one), HttpApi(two))
        clients[0].add_customer("cust_1")
        replies = _concurrently(
            16, lambda i: clients[i % 2].track(_sale(amount=10 + i, invoiceId="INV_TWIN"))
        )
        assert {r.status for r in replies} == {200}
        assert len({r.body for r in replies}) == 1
        assert len(clients[1].state()["sales"]) == 1
        assert clients[1].customer("cust_1")["sales"] == 1


def test_rule13_sqlite_state_and_invoices_survive_a_restart(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/durable.db"
    with MockServer(state=state, quiet=True) as before:
        api = HttpApi(before)
        api.add_customer("cust_1")
        first = api.track(_sale(invoiceId="INV_1"))
        assert first.status == 200
    with MockServer(state=state, quiet=True) as after:
        api = HttpApi(after)
        assert len(api.state()["sales"]) == 1
        assert api.customer("cust_1")["sales"] == 1
        assert api.track(_sale(amount=1, invoiceId="INV_1")).body == first.body
        api.reset()  # a reset on one instance is seen by the file's every user
        assert api.state()["sales"] == []


@pytest.mark.parametrize("store", STORES)
def test_rule13_the_invoice_is_remembered_for_seven_days(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    api.add_customer("cust_1")
    first = _ok(api.track(_sale(invoiceId="INV_1")))
    clock.advance(7 * DAY - 60)
    assert _ok(api.track(_sale(amount=5, invoiceId="INV_1"))) == first
    clock.advance(120)
    later = _ok(api.track(_sale(amount=5, invoiceId="INV_1")))
    assert later["sale"]["amount"] == 5
    assert len(api.state()["sales"]) == 2


# --- rule 14: a known customer ------------------------------------------------------------


def test_rule14_the_customers_link_missing_is_404(api: HttpApi) -> None:
    customer = api.add_customer("cust_1", linkId="link_gone")
    reply = api.track(_sale())
    reply.expect_error(404, "not_found", f"Link not found for customer {customer['id']}")
    assert api.state()["sales"] == []


def test_rule14_the_customers_link_disabled_is_404(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    customer = api.add_customer("cust_1", linkId=link["id"])
    reply = api.track(_sale())
    reply.expect_error(
        404,
        "not_found",
        f"Link {link['id']} for customer {customer['id']} is disabled, sale not tracked",
    )
    assert api.link(link["id"])["sales"] == 0


def test_rule14_the_link_is_checked_before_the_lead(api: HttpApi) -> None:
    customer = api.add_customer("cust_1", linkId="link_gone", lead=False)
    api.track(_sale()).expect_error(
        404, "not_found", f"Link not found for customer {customer['id']}"
    )


def test_rule14_the_sale_goes_to_the_latest_lead(api: HttpApi) -> None:
    api.add_customer("cust_1")
    latest = api.add_lead("cust_1", "Trial started")
    _ok(api.track(_sale()))
    (sale,) = api.state()["sales"]
    assert sale["leadId"] == latest["id"]


def test_rule14_lead_event_name_picks_the_latest_lead_of_that_name(api: HttpApi) -> None:
    api.add_customer("cust_1", leadEventName="Sign up")
    api.add_lead("cust_1", "Trial started")
    wanted = api.add_lead("cust_1", "Sign up")
    api.add_lead("cust_1", "Newsletter")
    _ok(api.track(_sale(leadEventName="Sign up")))
    (sale,) = api.state()["sales"]
    assert sale["leadId"] == wanted["id"]


def test_rule14_each_customer_keeps_its_own_leads_when_they_interleave(api: HttpApi) -> None:
    api.add_customer("cust_1", leadEventName="Sign up")
    api.add_customer("cust_2", leadEventName="Sign up")
    first_trial = api.add_lead("cust_1", "Trial started")
    second_trial = api.add_lead("cust_2", "Trial started")
    api.add_lead("cust_2", "Newsletter")
    _ok(api.track(_sale(leadEventName="Trial started")))
    _ok(api.track(_sale("cust_2", leadEventName="Trial started", invoiceId="inv_2")))
    _ok(api.track(_sale(invoiceId="inv_3")))
    first, second, latest = api.state()["sales"]
    assert (first["leadId"], second["leadId"]) == (first_trial["id"], second_trial["id"])
    assert latest["leadId"] == first_trial["id"]


@pytest.mark.parametrize("name", ["sign up", "SIGN UP", "Sign up ", "Trial"], ids=repr)
def test_rule14_lead_event_name_is_case_sensitive_and_exact(api: HttpApi, name: str) -> None:
    api.add_customer("cust_1", leadEventName="Sign up")
    reply = api.track(_sale(leadEventName=name))
    reply.expect_error(
        404, "not_found", f"Lead event not found for externalId: cust_1 and leadEventName: {name}"
    )


def test_rule14_no_lead_at_all_prints_null(api: HttpApi) -> None:
    api.add_customer("cust_1", lead=False)
    api.track(_sale()).expect_error(
        404, "not_found", "Lead event not found for externalId: cust_1 and leadEventName: null"
    )


def test_rule14_a_known_customer_ignores_the_click(api: HttpApi) -> None:
    customer = api.add_customer("cust_1")
    body = _ok(api.track(_sale(clickId="not_a_click")))
    assert body["customer"]["id"] == customer["id"]


def test_rule14_customers_are_found_within_the_callers_workspace(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    api.add_customer("cust_other", workspaceId="ws_2")
    assert _ok(api.track(_sale("cust_other"))) == {"eventName": "Purchase", **NULLS}


# --- rule 15 -----------------------------------------------------------------------------


@pytest.mark.parametrize("event", [None, "Invoice paid"], ids=["default-name", "given-name"])
def test_rule15_unknown_customer_without_click_is_200_with_nulls(
    api: HttpApi, event: str | None
) -> None:
    fields = {} if event is None else {"eventName": event}
    body = _ok(api.track(_sale("nobody", invoiceId="INV_1", **fields)))
    assert body == {"eventName": event or "Purchase", **NULLS}
    state = api.state()
    assert state["sales"] == [] and state["customers"] == []


# --- rule 16: direct sale tracking --------------------------------------------------------


def test_rule16_unknown_click_is_404(api: HttpApi) -> None:
    api.track(_sale("new_1", clickId="nope")).expect_error(
        404, "not_found", "Click event not found for clickId: nope"
    )
    assert api.state()["customers"] == []


def test_rule16_the_clicks_link_missing_is_404(api: HttpApi) -> None:
    click = api.add_click(linkId="link_gone")
    api.track(_sale("new_1", clickId=click["id"])).expect_error(
        404, "not_found", f"Link not found for clickId {click['id']}"
    )
    assert api.state()["customers"] == []


def test_rule16_the_clicks_link_disabled_is_404(api: HttpApi) -> None:
    link = api.add_link(disabled=True)
    click = api.add_click(linkId=link["id"])
    api.track(_sale("new_1", clickId=click["id"])).expect_error(
        404,
        "not_found",
        f"Link {link['id']} for clickId {click['id']} is disabled, sale not tracked",
    )
    assert api.state()["customers"] == []


def test_rule16_a_direct_sale_creates_the_customer_and_its_lead(api: HttpApi) -> None:
    click = api.add_click()
    body = _ok(api.track(_sale("new_1", 4900, clickId=click["id"], customerName="Ann Lee",
                               customerEmail="ann@example.com",
                               customerAvatar="https://example.com/a.png",
                               eventName="Invoice paid")))  # fmt: skip
    customer = body["customer"]
    assert CUSTOMER_ID.match(customer["id"]), customer["id"]
    assert customer == {"id": customer["id"], "name": "Ann Lee", "email": "ann@example.com",
                        "avatar": "https://example.com/a.png", "externalId": "new_1"}  # fmt: skip
    stored = api.customer("new_1")
    assert stored["id"] == customer["id"]
    assert stored["linkId"] == click["linkId"]
    (lead,) = [lead for lead in api.state()["leads"] if lead["customerId"] == customer["id"]]
    assert lead["eventName"] == "Direct sale tracking lead event"
    assert lead["linkId"] == click["linkId"]
    (sale,) = api.state()["sales"]
    assert sale["leadId"] == lead["id"]
    assert sale["linkId"] == click["linkId"]
    assert sale["clickId"] == click["id"]
    assert sale["customerId"] == customer["id"]
    link = api.link(click["linkId"])
    assert (link["sales"], link["saleAmount"], link["conversions"]) == (1, 4900, 1)


def test_rule16_lead_event_name_names_the_new_lead(api: HttpApi) -> None:
    click = api.add_click()
    body = _ok(api.track(_sale("new_1", clickId=click["id"], leadEventName="Signed up")))
    (lead,) = [
        lead for lead in api.state()["leads"] if lead["customerId"] == body["customer"]["id"]
    ]
    assert lead["eventName"] == "Signed up"


def test_rule16_the_name_falls_back_to_the_email_then_a_random_name(api: HttpApi) -> None:
    click = api.add_click()
    by_email = _ok(api.track(_sale("new_1", clickId=click["id"], customerEmail="bo@example.io")))
    assert by_email["customer"]["name"] == "bo@example.io"
    names = {
        _ok(api.track(_sale(f"new_{i}", clickId=click["id"])))["customer"]["name"]
        for i in range(2, 8)
    }
    for name in names:
        assert NAME.match(name), name
        assert name.split()[1] in COLOURS, name
    assert len(names) > 1, "the placeholder names should vary"


def test_rule16_the_new_customer_is_found_by_the_next_sale(api: HttpApi) -> None:
    click = api.add_click()
    first = _ok(api.track(_sale("new_1", clickId=click["id"])))
    second = _ok(api.track(_sale("new_1", 200)))
    assert second["customer"] == first["customer"]
    state = api.state()
    assert len([c for c in state["customers"] if c["externalId"] == "new_1"]) == 1
    assert (
        len([lead for lead in state["leads"] if lead["customerId"] == first["customer"]["id"]]) == 1
    )
    link = api.link(click["linkId"])
    assert (link["sales"], link["saleAmount"], link["conversions"]) == (2, 300, 1)


def test_rule16_ids_are_ulids_on_the_clock_and_the_rng_is_reproducible(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock
) -> None:
    bodies = []
    for _ in range(2):
        api = make_wsgi()  # each on random.Random(1) and the same pinned clock
        click = api.add_click(id="click_1", linkId=api.add_link(id="link_1")["id"])
        bodies.append(_ok(api.track(_sale("new_1", clickId=click["id"]))))
    assert bodies[0] == bodies[1]
    customer = bodies[0]["customer"]
    assert CUSTOMER_ID.match(customer["id"])
    assert NAME.match(customer["name"])
    timestamp = 0
    for char in customer["id"][4:14]:
        timestamp = timestamp * 32 + CROCKFORD.index(char)
    assert timestamp == int(clock.now * 1000)


# --- rule 17: zero amounts ---------------------------------------------------------------


def test_rule17_zero_for_a_known_customer_records_nothing(api: HttpApi) -> None:
    customer = api.add_customer("cust_1")
    assert _ok(api.track(_sale(amount=0, eventName="Trial"))) == {"eventName": "Trial", **NULLS}
    assert api.state()["sales"] == []
    assert api.link(customer["linkId"])["sales"] == 0
    assert api.customer("cust_1")["sales"] == 0


def test_rule17_zero_is_checked_after_the_customer_steps(api: HttpApi) -> None:
    api.track(_sale("new_1", 0, clickId="nope")).expect_error(
        404, "not_found", "Click event not found for clickId: nope"
    )
    customer = api.add_customer("cust_1", linkId="link_gone")
    api.track(_sale(amount=0)).expect_error(
        404, "not_found", f"Link not found for customer {customer['id']}"
    )
    api.add_customer("cust_2", lead=False)
    api.track(_sale("cust_2", 0)).expect_error(
        404, "not_found", "Lead event not found for externalId: cust_2 and leadEventName: null"
    )


def test_rule17_a_zero_direct_sale_still_creates_the_customer_and_lead(api: HttpApi) -> None:
    click = api.add_click()
    body = _ok(api.track(_sale("new_1", 0, clickId=click["id"], customerName="Zed")))
    assert body == {"eventName": "Purchase", **NULLS}
    customer = api.customer("new_1")
    assert customer["name"] == "Zed" and customer["linkId"] == click["linkId"]
    assert customer["sales"] == 0
    leads = [lead for lead in api.state()["leads"] if lead["customerId"] == customer["id"]]
    assert [lead["eventName"] for lead in leads] == ["Direct sale tracking lead event"]
    assert api.state()["sales"] == []


# --- rule 18: currency -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "amount", "currency", "expected"),
    [({"JPY": 155}, 1580, "JPY", 1019),
     ({"JPY": 155}, 1580, "jpy", 1019),
     ({"EUR": 0.8}, 1000, "EUR", 1250),
     ({"GBP": 0.5}, 333, "gbp", 666),
     ({"KRW": 1000}, 5000, "KRW", 500),
     ({"VUV": 100}, 50, "VUV", 50),
     ({"CHF": 2}, 5, "CHF", 3),
     ({"CHF": 2}, 9, "CHF", 5),
     ({"CHF": 2}, 7, "CHF", 4),
     ({"CLP": 1000}, 5, "CLP", 1),
     ({"JPY": 150}, 1, "JPY", 1)],
    ids=["jpy-1580-at-155", "lower-case-code", "eur", "gbp", "krw-zero-decimal",
         "vuv-zero-decimal", "half-up-2.5", "half-up-4.5", "half-up-3.5", "clp-0.5-up",
         "jpy-0.67"],
)  # fmt: skip
def test_rule18_conversion_to_usd_cents(
    api: HttpApi, rates: dict[str, float], amount: int, currency: str, expected: int
) -> None:
    api.set_fx_rates(rates)
    api.add_customer("cust_1")
    body = _ok(api.track(_sale(amount=amount, currency=currency)))
    assert body["sale"]["amount"] == expected
    assert body["sale"]["currency"] == "usd"
    (sale,) = api.state()["sales"]
    assert (sale["amount"], sale["currency"]) == (expected, "usd")
    assert (sale["originalAmount"], sale["originalCurrency"]) == (amount, currency.lower())


@pytest.mark.parametrize("currency", ["XYZ", "Abc", "btc"])
def test_rule18_a_currency_without_a_rate_is_kept_lower_cased(api: HttpApi, currency: str) -> None:
    api.add_customer("cust_1")
    body = _ok(api.track(_sale(amount=1234, currency=currency)))
    assert body["sale"]["amount"] == 1234
    assert body["sale"]["currency"] == currency.lower()
    (sale,) = api.state()["sales"]
    assert (sale["amount"], sale["currency"]) == (1234, currency.lower())


def test_rule18_the_built_in_table_converts_major_currencies(api: HttpApi) -> None:
    api.add_customer("cust_1")
    for currency in ("EUR", "GBP", "JPY"):
        body = _ok(api.track(_sale(amount=10_000, currency=currency)))
        assert body["sale"]["currency"] == "usd", currency
        assert body["sale"]["amount"] != 10_000, currency


def test_rule18_the_fx_table_is_shared_by_all_workspaces(api: HttpApi) -> None:
    api.set_fx_rates({"JPY": 155})
    api.add_workspace("ws_2")
    api.add_token("dub_ws2", workspaceId="ws_2")
    api.add_customer("cust_1", workspaceId="ws_2")
    body = _ok(api.track(_sale(amount=1580, currency="JPY"), token="dub_ws2"))
    assert body["sale"]["amount"] == 1019


# --- rule 19: the record and its side effects ---------------------------------------------

SALE_KEYS = {"id", "workspaceId", "customerId", "linkId", "leadId", "eventName", "amount",
             "currency", "originalAmount", "originalCurrency", "paymentProcessor", "invoiceId",
             "metadata", "timestamp"}  # fmt: skip


def test_rule19_the_sale_record(api: HttpApi) -> None:
    api.set_fx_rates({"EUR": 0.8})
    customer = api.add_customer("cust_1")
    (lead,) = [lead for lead in api.state()["leads"] if lead["customerId"] == customer["id"]]
    _ok(api.track(_sale(amount=1000, currency="EUR", eventName="Invoice paid",
                        paymentProcessor="stripe", invoiceId="INV_1",
                        metadata={"plan": "pro"})))  # fmt: skip
    (sale,) = api.state()["sales"]
    assert set(sale) >= SALE_KEYS
    assert isinstance(sale["id"], str) and sale["id"]
    assert isinstance(sale["timestamp"], str) and sale["timestamp"]
    expected = {"workspaceId": "ws_mock", "customerId": customer["id"],
                "linkId": customer["linkId"], "leadId": lead["id"], "eventName": "Invoice paid",
                "amount": 1250, "currency": "usd", "originalAmount": 1000,
                "originalCurrency": "eur", "paymentProcessor": "stripe", "invoiceId": "INV_1",
                "metadata": {"plan": "pro"}}  # fmt: skip
    assert {key: sale[key] for key in expected} == expected


def test_rule19_side_effects_on_the_link_and_the_customer(api: HttpApi) -> None:
    customer = api.add_customer("cust_1")
    link_id = customer["linkId"]
    assert api.customer("cust_1")["firstSaleAt"] is None
    _ok(api.track(_sale(amount=1000)))
    after_one = api.customer("cust_1")
    link = api.link(link_id)
    assert (link["sales"], link["saleAmount"], link["conversions"]) == (1, 1000, 1)
    assert (after_one["sales"], after_one["saleAmount"]) == (1, 1000)
    assert after_one["firstSaleAt"]
    _ok(api.track(_sale(amount=250)))
    after_two = api.customer("cust_1")
    link = api.link(link_id)
    assert (link["sales"], link["saleAmount"], link["conversions"]) == (2, 1250, 1)
    assert (after_two["sales"], after_two["saleAmount"]) == (2, 1250)
    assert after_two["firstSaleAt"] == after_one["firstSaleAt"]


def test_rule19_conversions_count_customers_not_sales(api: HttpApi) -> None:
    link = api.add_link()
    api.add_customer("cust_1", linkId=link["id"])
    api.add_customer("cust_2", linkId=link["id"])
    for external_id in ("cust_1", "cust_1", "cust_2"):
        _ok(api.track(_sale(external_id, 100)))
    stored = api.link(link["id"])
    assert (stored["sales"], stored["saleAmount"], stored["conversions"]) == (3, 300, 2)


def test_rule19_converted_amounts_add_up_in_usd(api: HttpApi) -> None:
    api.set_fx_rates({"JPY": 155})
    customer = api.add_customer("cust_1")
    _ok(api.track(_sale(amount=1580, currency="JPY")))
    _ok(api.track(_sale(amount=81)))
    assert api.customer("cust_1")["saleAmount"] == 1100
    assert api.link(customer["linkId"])["saleAmount"] == 1100


@pytest.mark.parametrize("store", STORES)
def test_rule19_the_sale_time_is_the_clock(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    api.add_customer("cust_1")
    clock.now = 1_750_000_000.25
    _ok(api.track(_sale()))
    (sale,) = api.state()["sales"]
    assert sale["timestamp"].startswith("2025-06-15T15:06:40.25")
    assert api.customer("cust_1")["firstSaleAt"] == sale["timestamp"]


# --- rule 20: the exact answer -----------------------------------------------------------


def test_rule20_the_answer_has_exactly_the_spec_keys(api: HttpApi) -> None:
    api.set_fx_rates({"JPY": 155})
    customer = api.add_customer("cust_1", name="Ann", email="ann@example.com",
                                avatar="https://example.com/a.png")  # fmt: skip
    body = _ok(api.track(_sale(amount=1580, currency="JPY", eventName="Invoice paid",
                               paymentProcessor="stripe", invoiceId="INV_1")))  # fmt: skip
    assert body == {
        "eventName": "Invoice paid",
        "customer": {"id": customer["id"], "name": "Ann", "email": "ann@example.com",
                     "avatar": "https://example.com/a.png", "externalId": "cust_1"},
        "sale": {"amount": 1019, "currency": "usd", "paymentProcessor": "stripe",
                 "invoiceId": "INV_1", "metadata": None},
    }  # fmt: skip


def test_rule20_null_customer_fields_stay_null(api: HttpApi) -> None:
    customer = api.add_customer("cust_1", name="Bo")
    body = _ok(api.track(_sale()))
    assert body["customer"] == {"id": customer["id"], "name": "Bo", "email": None,
                                "avatar": None, "externalId": "cust_1"}  # fmt: skip
