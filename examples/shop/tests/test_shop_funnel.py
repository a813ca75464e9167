"""The whole funnel: a visitor clicks a short link, signs up (a lead), pays (a sale), and Dub
credits the sale to the link that was clicked. The customer is made by the sign-up's lead, as in
production: the tests create links and nothing else through the mock's admin API."""

from __future__ import annotations

import json
import urllib.request

import pytest
from shop import DUB_COOKIE, Accounts, Checkout, HttpTracker, SdkTracker
from shop.tracking import Lead, Tracker

SHOP_PAGE = "https://shop.example/?via=spring"


def land_from_short_link(dub_url: str, domain: str, key: str) -> dict[str, str]:
    """What Dub's analytics script does in the browser when a visitor lands on the shop from a
    short link: ``POST /track/click`` (no key; the page in ``Referer``), then keep the click id
    in the ``dub_id`` cookie. Returns the browser's cookies."""
    request = urllib.request.Request(
        f"{dub_url}/track/click",
        data=json.dumps({"domain": domain, "key": key, "url": SHOP_PAGE}).encode(),
        headers={"Content-Type": "application/json", "Referer": SHOP_PAGE},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return {DUB_COOKIE: json.loads(answer.read())["clickId"]}


@pytest.fixture(params=["sdk", "http"])
def tracker(request: pytest.FixtureRequest, dub_mock) -> Tracker:
    """The shop's Dub tracker wired to the mock, once per implementation."""
    if request.param == "sdk":
        return SdkTracker(request.getfixturevalue("dub_client"))
    return HttpTracker(dub_mock.token, base_url=dub_mock.url)


@pytest.mark.dub_mock(allowed_hostnames=["shop.example"])
def test_the_sale_is_credited_to_the_link_the_visitor_clicked(tracker: Tracker, dub_mock) -> None:
    spring = dub_mock.add_link(domain="shop.link", key="spring", url="https://shop.example/")
    autumn = dub_mock.add_link(domain="shop.link", key="autumn", url="https://shop.example/")
    cookies = land_from_short_link(dub_mock.url, "shop.link", "spring")

    user = Accounts(tracker).sign_up("ada@example.com", cookies)
    assert user.tracking_error is None
    assert user.lead is not None and user.lead.short_link == "https://shop.link/spring"
    order = Checkout(tracker).checkout(user.id, {"tshirt": 2})
    assert order.tracked is not None and order.tracked.recorded

    customer = dub_mock.customers.one()  # made by the lead, from the click
    assert (customer.externalId, customer.email) == (user.id, "ada@example.com")
    assert (customer.clickId, customer.linkId) == (cookies[DUB_COOKIE], spring.id)
    assert dub_mock.leads.one().clickId == cookies[DUB_COOKIE]
    sale = dub_mock.sales.one()
    assert (sale.linkId, sale.customerId, sale.amount) == (spring.id, customer.id, 5000)
    links = {link.key: link for link in dub_mock.links}
    assert (links["spring"].clicks, links["spring"].leads, links["spring"].sales) == (1, 1, 1)
    assert links["spring"].saleAmount == 5000
    assert (links["autumn"].clicks, links["autumn"].sales) == (0, 0)
    assert autumn.id != spring.id
    assert [r.path for r in dub_mock.requests] == ["/track/click", "/track/lead", "/track/sale"]


def test_a_visitor_without_the_cookie_signs_up_and_buys_untracked(
    tracker: Tracker, dub_mock
) -> None:
    user = Accounts(tracker).sign_up("bob@example.com", cookies={})
    assert user.lead is None and user.tracking_error is None
    order = Checkout(tracker).checkout(user.id, {"mug": 1})
    assert order.tracked is not None and not order.tracked.recorded  # Dub knows no such customer
    assert dub_mock.customers == [] and dub_mock.sales == []
    assert [r.path for r in dub_mock.requests] == ["/track/sale"]


def test_a_stale_cookie_does_not_block_the_sign_up(tracker: Tracker, dub_mock) -> None:
    user = Accounts(tracker).sign_up("cy@example.com", {DUB_COOKIE: "expired_click"})
    assert user.id == "user_1" and user.lead is None
    assert user.tracking_error is not None
    assert (user.tracking_error.status, user.tracking_error.code) == (404, "not_found")
    assert dub_mock.customers == [] and dub_mock.leads == []


def test_a_retried_lead_report_is_recorded_once(tracker: Tracker, dub_mock) -> None:
    dub_mock.add_link(domain="shop.link", key="spring")
    cookies = land_from_short_link(dub_mock.url, "shop.link", "spring")
    user = Accounts(tracker).sign_up("dee@example.com", cookies)
    lead = Lead(click_id=cookies[DUB_COOKIE], customer_external_id=user.id)
    retried = tracker.track_lead(lead)  # as if the first answer had been lost on the way back
    assert user.lead is not None and user.lead.recorded
    assert not retried.recorded  # Dub de-duplicates a customer's sign-up for 7 days
    assert len(dub_mock.leads) == 1 and dub_mock.links.one().leads == 1
