"""The shop's own webhook endpoint, end to end: the checkout reports a sale, the mock sends
``sale.created`` to the endpoint (served on a real port by wsgiref), the endpoint checks the
signature with the shop's own HMAC code and grants loyalty points once per event, however many
times Dub delivers it."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from shop import Checkout, HttpTracker, WebhookEndpoint, is_from_dub

from mockserver.webhooks import sign
from pytest_plugin import DubMock, DubWebhooks


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log in the test output."""


@dataclass
class Shop:
    """The shop's webhook endpoint, served, and registered with the mock."""

    url: str
    endpoint: WebhookEndpoint
    webhook: Any  # the endpoint as the mock registered it; ``secret`` in full


def not_yet_configured(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return []


@pytest.fixture
def shop(dub_mock: DubMock) -> Iterator[Shop]:
    """The endpoint on a free port, registered with the mock like with Dub: create the endpoint
    with the shop's URL, then give the shop the secret Dub made for it."""
    server: WSGIServer = make_server("127.0.0.1", 0, not_yet_configured, handler_class=QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}/webhooks/dub"
    webhook = dub_mock.add_webhook(url, triggers=["sale.created"], retry_schedule_ms=[50, 200])
    endpoint = WebhookEndpoint(secret=webhook.secret)
    server.set_app(endpoint)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield Shop(url, endpoint, webhook)
    server.shutdown()
    server.server_close()
    thread.join()


def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def post(url: str, body: bytes, signature: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Dub-Signature"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())["message"]
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())["message"]


def test_a_sale_reaches_the_shop_and_is_rewarded_once(dub_mock: DubMock, shop: Shop) -> None:
    dub_mock.add_customer("user_42")
    checkout = Checkout(HttpTracker(dub_mock.token, base_url=dub_mock.url))
    order = checkout.checkout("user_42", {"tshirt": 2, "mug": 1})  # $62.00
    eventually(lambda: len(shop.endpoint.processed) == 1)
    event = dub_mock.webhook_events.one()
    # the attempt is logged once Dub (the mock) has the shop's answer
    eventually(lambda: len(dub_mock.webhook_deliveries(event_id=event.id)) == 1)
    assert event.data["sale"]["invoiceId"] == order.id
    assert shop.endpoint.processed == [event.id]
    assert shop.endpoint.rewards.points == {"user_42": 62}

    dub_mock.redeliver(event.id)  # Dub delivers at least once: the same event again
    eventually(lambda: len(dub_mock.webhook_deliveries(event_id=event.id)) == 2)
    assert shop.endpoint.duplicates == 1
    assert shop.endpoint.rewards.points == {"user_42": 62}
    assert list(shop.endpoint.rewards.granted) == [event.id]
    attempts = dub_mock.webhook_deliveries(event_id=event.id)
    assert [(a.status, a.responseBody) for a in attempts] == [
        (200, '{"message": "granted 62 points to user_42"}'),
        (200, f'{{"message": "already processed {event.id}"}}'),
    ]
    assert shop.endpoint.refused == []


def test_requests_not_signed_by_dub_are_refused(dub_mock: DubMock, shop: Shop) -> None:
    body = json.dumps(
        {
            "id": "evt_forged",
            "event": "sale.created",
            "data": {"customer": {"externalId": "mallory"}, "sale": {"amount": 10**6}},
        }
    ).encode()
    secret = shop.webhook.secret
    assert post(shop.url, body, None) == (401, "bad signature")
    assert post(shop.url, body, sign(body, "whsec_" + "0" * 32)) == (401, "bad signature")
    assert post(shop.url, body + b" ", sign(body, secret)) == (401, "bad signature")
    assert shop.endpoint.rewards.points == {}
    # the shop's HMAC code and dub-mock's agree on what Dub signs
    assert is_from_dub(body, sign(body, secret), secret)
    assert post(shop.url, body, sign(body, secret)) == (200, "granted 10000 points to mallory")


def test_a_test_event_from_dub_is_processed_like_a_sale(dub_mock: DubMock, shop: Shop) -> None:
    event_id = dub_mock.send_test_webhook("sale.created", webhook_id=shop.webhook.id)
    eventually(lambda: shop.endpoint.processed == [event_id])
    assert shop.endpoint.rewards.points == {"sample_customer": 49}


def test_the_checkout_sale_is_announced_to_any_receiver(
    dub_mock: DubMock, dub_webhooks: DubWebhooks
) -> None:
    """The plugin's own receiver: no endpoint to write, the signature checked for you."""
    dub_mock.add_customer("user_42")
    order = Checkout(HttpTracker(dub_mock.token, base_url=dub_mock.url)).checkout(
        "user_42", {"poster_eu": 1}
    )
    event = dub_webhooks.wait_for("sale.created", timeout=5)
    assert event["data"]["sale"]["invoiceId"] == order.id
    assert event["data"]["customer"]["externalId"] == "user_42"
