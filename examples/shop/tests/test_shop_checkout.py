"""The checkout reports sales to Dub: the same tests through the SDK and through plain HTTP."""

from __future__ import annotations

import pytest
from shop import Checkout, HttpTracker, SdkTracker


@pytest.fixture(params=["sdk", "http"])
def checkout(request: pytest.FixtureRequest, dub_mock) -> Checkout:
    """A checkout wired to the mock, once per tracker."""
    if request.param == "sdk":
        return Checkout(SdkTracker(request.getfixturevalue("dub_client")))
    return Checkout(HttpTracker(dub_mock.token, base_url=dub_mock.url))


def test_checkout_records_the_sale(checkout: Checkout, dub_mock) -> None:
    dub_mock.add_customer("user_42")
    order = checkout.checkout("user_42", {"tshirt": 2, "mug": 1})
    assert order.tracked is not None and order.tracked.recorded
    sale = dub_mock.sales.one()
    assert (sale.amount, sale.currency, sale.invoiceId) == (6200, "usd", order.id)
    assert sale.metadata == {"items": {"mug": 1, "tshirt": 2}}
    assert sale.paymentProcessor == "stripe"
    assert dub_mock.customers.one(externalId="user_42").saleAmount == 6200


def test_a_visitor_dub_never_saw_records_nothing(checkout: Checkout, dub_mock) -> None:
    order = checkout.checkout("walk_in", {"mug": 1})
    assert order.tracked is not None and not order.tracked.recorded
    assert order.tracking_error is None
    assert dub_mock.sales == []


def test_foreign_currency_is_converted_by_dub(checkout: Checkout, dub_mock) -> None:
    dub_mock.add_customer("eu_user")
    dub_mock.set_fx_rate("EUR", 0.75)
    order = checkout.checkout("eu_user", {"poster_eu": 3})
    assert order.tracked is not None and order.tracked.amount_usd_cents == 6000
    assert (dub_mock.sales.one().originalAmount, dub_mock.sales.one().originalCurrency) == (
        4500,
        "eur",
    )


def test_dub_outage_parks_the_sale_and_a_retry_records_it_once(
    checkout: Checkout, dub_mock
) -> None:
    dub_mock.add_customer("user_42")
    dub_mock.fail_next(503)
    order = checkout.checkout("user_42", {"tshirt": 1})
    assert order.tracking_error is not None and order.tracking_error.status == 503
    assert dub_mock.sales == [] and len(checkout.outbox) == 1
    assert checkout.flush() == 1
    assert checkout.flush() == 0
    assert [s.invoiceId for s in dub_mock.sales] == [order.id]


def test_a_duplicate_report_is_recorded_once(checkout: Checkout, dub_mock) -> None:
    dub_mock.add_customer("user_42")
    order = checkout.checkout("user_42", {"mug": 2})
    assert order.sale is not None
    checkout.outbox.append(order.sale)  # as if Dub's answer had been lost on the way back
    assert checkout.flush() == 1
    assert [s.invoiceId for s in dub_mock.sales] == [order.id]
    assert [r.status for r in dub_mock.requests] == [200, 200]


@pytest.mark.dub_mock(plan="pro")
def test_a_plan_without_conversion_tracking_is_not_retried(checkout: Checkout, dub_mock) -> None:
    dub_mock.add_customer("user_42")
    order = checkout.checkout("user_42", {"mug": 1})
    assert order.tracking_error is not None
    assert (order.tracking_error.status, order.tracking_error.code) == (403, "forbidden")
    assert checkout.outbox == []


@pytest.mark.dub_mock(rate_limit_per_minute=2)
def test_rate_limited_sales_wait_in_the_outbox(checkout: Checkout, dub_mock) -> None:
    dub_mock.add_customer("user_42")
    orders = [checkout.checkout("user_42", {"mug": 1}) for _ in range(3)]
    assert [o.tracking_error.status if o.tracking_error else 200 for o in orders] == [
        200,
        200,
        429,
    ]
    assert len(checkout.outbox) == 1 and len(dub_mock.sales) == 2
