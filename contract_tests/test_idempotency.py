"""Rule 13: one sale per invoiceId, the first answer replayed, under concurrency too."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from contract_tests.areas import mark
from contract_tests.client import Exchange
from contract_tests.rules import check, expect_ok
from contract_tests.target import Target

pytestmark = mark("sale")

PARALLEL = 8


def test_repeated_invoice_replays_the_first_answer(dub: Target) -> None:
    """Rule 13: a second request with the invoice answers the first body, whatever it says."""
    external_id = dub.customer()
    invoice = dub.invoice()
    first = dub.client.sale(
        {"customerExternalId": external_id, "amount": 1000, "invoiceId": invoice}
    )
    expect_ok(first, "13")
    check(first.json["sale"] is not None, "13", "the first request must record a sale", first)
    body = {
        "customerExternalId": external_id,
        "amount": 2000,
        "invoiceId": invoice,
        "eventName": "Changed",
        "paymentProcessor": "paddle",
        "metadata": {"retry": 1},
    }
    second = dub.client.sale(body)
    expect_ok(second, "13")
    check(second.json == first.json, "13", "the replay must equal the first answer", first, second)
    if dub.admin is not None:
        sales = dub.records("sales", invoiceId=invoice)
        check(len(sales) == 1, "13", f"expected one sale, found {len(sales)}", first, second)


def test_null_answer_does_not_claim_the_invoice(dub: Target) -> None:
    """Rule 13: an answer with customer null stores nothing; the invoice can still record."""
    invoice = dub.invoice()
    unknown = dub.client.sale(
        {"customerExternalId": dub.unique("nobody"), "amount": 800, "invoiceId": invoice}
    )
    data = expect_ok(unknown, "15")
    check(data["sale"] is None, "15", "an unknown customer records nothing", unknown)
    external_id = dub.customer()
    known = dub.client.sale(
        {"customerExternalId": external_id, "amount": 800, "invoiceId": invoice}
    )
    data = expect_ok(known, "13")
    check(
        data["sale"] is not None and data["sale"]["invoiceId"] == invoice,
        "13",
        "the invoice must still record a sale after a null answer",
        unknown,
        known,
    )


def test_concurrent_requests_on_one_invoice_record_once(dub: Target) -> None:
    """Rule 13: N simultaneous requests on one invoice give N identical answers, one sale."""
    external_id = dub.customer()
    invoice = dub.invoice()

    def send(i: int) -> Exchange:
        body = {"customerExternalId": external_id, "amount": 100 + i, "invoiceId": invoice}
        return dub.client.sale(body)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(send, range(PARALLEL)))
    for answer in answers:
        expect_ok(answer, "13")
    bodies = {answer.body.decode("utf-8", "replace") for answer in answers}
    distinct = [a for a in answers if a.json != answers[0].json]
    check(
        not distinct,
        "13",
        f"{PARALLEL} simultaneous requests gave {len(bodies)} different answers",
        answers[0],
        *distinct[:2],
    )
    check(answers[0].json["sale"] is not None, "13", "a sale must be recorded", answers[0])
    if dub.admin is not None:
        dub.settle()
        sales = dub.records("sales", invoiceId=invoice)
        check(len(sales) == 1, "13", f"expected one sale, found {len(sales)}", *answers[:2])


def test_invoice_ids_are_per_workspace(dub: Target) -> None:
    """Rule 13: the same invoiceId in another workspace is another sale, not a replay."""
    invoice = dub.invoice()
    here = dub.client.sale(
        {"customerExternalId": dub.customer(), "amount": 600, "invoiceId": invoice}
    )
    expect_ok(here, "13")
    token = dub.token_with()
    there_customer = dub.customer(workspaceId=dub.token_workspaces[token])
    body = {"customerExternalId": there_customer, "amount": 700, "invoiceId": invoice}
    there = dub.client.sale(body, token=token)
    data = expect_ok(there, "13")
    check(
        (data["customer"] or {}).get("externalId") == there_customer
        and (data["sale"] or {}).get("amount") == 700,
        "13",
        "an invoiceId recorded in one workspace must not be replayed in another",
        here,
        there,
    )
