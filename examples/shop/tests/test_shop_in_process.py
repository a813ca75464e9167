"""The SDK against the in-process mock: httpx's WSGI transport, no server, no socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from dub import Dub
from shop import DUB_COOKIE, Accounts, Checkout, SdkTracker


@pytest.fixture
def tracker(dub_mock_app) -> Iterator[SdkTracker]:
    http = httpx.Client(transport=httpx.WSGITransport(app=dub_mock_app.app))
    client = Dub(token=dub_mock_app.token, server_url=dub_mock_app.url, client=http)
    yield SdkTracker(client)
    http.close()


@pytest.fixture
def checkout(tracker: SdkTracker) -> Checkout:
    return Checkout(tracker)


def test_checkout_through_the_in_process_mock(checkout: Checkout, dub_mock_app) -> None:
    dub_mock_app.add_customer("user_7", name="Grace")
    dub_mock_app.set_fx_rate("JPY", 160)
    order = checkout.checkout("user_7", {"stickers_jp": 2})
    assert order.tracked is not None and order.tracked.amount_usd_cents == 1000
    sale = dub_mock_app.sales.one(invoiceId=order.id)
    assert (sale.originalAmount, sale.originalCurrency) == (1600, "jpy")
    assert (sale.amount, sale.currency) == (1000, "usd")
    assert [r.path for r in dub_mock_app.requests] == ["/track/sale"]


@pytest.mark.dub_mock(role="viewer")
def test_a_viewer_token_is_refused(checkout: Checkout) -> None:
    order = checkout.checkout("user_7", {"mug": 1})
    assert order.tracking_error is not None and order.tracking_error.status == 403
    assert "Required role(s): owner, member" in str(order.tracking_error)


def test_sign_up_then_checkout_credits_the_clicked_link(tracker: SdkTracker, dub_mock_app) -> None:
    # The click as the browser's dub_id cookie would hold it, made without a browser.
    click = dub_mock_app.add_click(url="https://shop.example/")
    user = Accounts(tracker).sign_up("grace@example.com", {DUB_COOKIE: click.id})
    order = Checkout(tracker).checkout(user.id, {"mug": 1})
    assert order.tracked is not None and order.tracked.recorded
    assert dub_mock_app.customers.one().externalId == user.id
    assert dub_mock_app.sales.one().linkId == click.linkId
    assert [r.path for r in dub_mock_app.requests] == ["/track/lead", "/track/sale"]
