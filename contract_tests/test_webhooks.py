"""§7 The webhooks a target sends for the events the check itself causes: received on a real
socket, their signature checked, their envelope and data shaped like Dub's sample events.

On a dub-mock target the check registers its own receiver through the admin API (on a free
127.0.0.1 port, or `--webhook-listen HOST:PORT`), with a fast retry schedule. On a real server,
point one of the workspace's webhook endpoints at `--webhook-listen HOST:PORT` (an address the
server can reach) and give that endpoint's `--webhook-secret`; without them these checks skip.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.client import Exchange
from contract_tests.funnel import visitor
from contract_tests.rules import check, fail
from contract_tests.target import Target
from mockserver.webhooks.receiver import Delivery, WebhookReceiver

pytestmark = mark("webhooks")

NO_LISTENER = (
    "needs a webhook receiver the target can reach: --webhook-listen HOST:PORT and the "
    "--webhook-secret of the workspace's endpoint pointing there (a dub-mock target needs neither)"
)
EVENT_ID = re.compile(r"^evt_[0-9A-Za-z]{25}$")
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
QUIET_S = 2.0  # how long the check listens for an event that must not come

# Written out from Dub's sample events (BEHAVIOR §7), not imported from the mock: the suite is an
# independent oracle.
CLICK_KEYS = [
    "id", "timestamp", "url", "country", "city", "region", "continent", "device", "browser",
    "os", "ua", "referer", "refererUrl", "qr", "ip",
]  # fmt: skip
CUSTOMER_KEYS = ["id", "externalId", "name", "email", "avatar", "createdAt"]
LINK_KEYS = [
    "id", "domain", "key", "url", "trackConversion", "externalId", "tenantId", "partnerId",
    "programId", "archived", "expiresAt", "expiredUrl", "disabledAt", "password", "proxy",
    "title", "description", "image", "video", "rewrite", "doIndex", "ios", "android", "geo",
    "publicStats", "folderId", "tagId", "tags", "webhookIds", "comments", "shortLink", "qrCode",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "userId",
    "workspaceId", "clicks", "lastClicked", "leads", "sales", "saleAmount", "createdAt",
    "updatedAt", "projectId", "testVariants", "testCompletedAt", "testStartedAt",
]  # fmt: skip
DATA_KEYS: dict[str, list[str]] = {
    "link.clicked": ["click", "link"],
    "lead.created": ["eventName", "customer", "click", "link", "metadata"],
    "sale.created": ["eventName", "customer", "click", "link", "sale", "metadata"],
}
INNER_KEYS = {
    "click": CLICK_KEYS,
    "customer": CUSTOMER_KEYS,
    "link": LINK_KEYS,
    "sale": ["amount", "currency", "paymentProcessor", "invoiceId"],
}


@dataclass
class Listener:
    """The check's receiver, and whether the check registered it (a dub-mock target)."""

    receiver: WebhookReceiver
    registered: bool

    def wait(
        self, event: str, about: Callable[[Any], bool], timeout: float, count: int = 1
    ) -> list[Delivery]:
        """The deliveries of `event` that `about` picks, once there are `count` (or the
        timeout passes): verified or not, so a bad signature is seen as such."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                d
                for d in list(self.receiver.deliveries)
                if isinstance(d.payload, dict)
                and d.payload.get("event") == event
                and _safely(about, d.payload)
            ]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    @property
    def timeout(self) -> float:
        """A real server's queue may take a while; dub-mock sends at once."""
        return 10.0 if self.registered else 60.0


def _safely(about: Callable[[Any], bool], payload: Any) -> bool:
    try:
        return bool(about(payload))
    except (KeyError, TypeError, AttributeError):
        return False


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise pytest.UsageError(f"--webhook-listen takes HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


@pytest.fixture(scope="module")
def listener(request: pytest.FixtureRequest, dub_target: Target) -> Iterator[Listener]:
    listen = _option(request.config, "dub_webhook_listen")
    given_secret = _option(request.config, "dub_webhook_secret")
    admin = dub_target.admin
    if admin is None and not (listen and given_secret):
        pytest.skip(NO_LISTENER)
    host, port = _address(listen) if listen else ("127.0.0.1", 0)
    secret = given_secret if admin is None else "whsec_" + secrets.token_hex(16)
    receiver = WebhookReceiver(str(secret), host, port).start()
    webhook_id = None
    try:
        if admin is not None:
            endpoint = {
                "url": receiver.url,
                "secret": secret,
                "workspaceId": dub_target.workspace_id,
                "retryScheduleMs": [100, 300, 1000],
                "timeoutMs": 5000,
            }
            webhook_id = admin.call("POST", "webhooks", endpoint)["id"]
        yield Listener(receiver, registered=admin is not None)
    finally:
        if admin is not None and webhook_id is not None:
            admin.call("DELETE", f"webhooks/{webhook_id}")
        receiver.stop()


def _option(config: pytest.Config, name: str) -> Any:
    try:
        return config.getoption(name)
    except ValueError:
        return None


def expect_event(
    listener: Listener, event: str, about: Callable[[Any], bool], cause: Exchange
) -> Delivery:
    """The one delivery of `event` about the request `cause`, checked against W1 and W2."""
    found = listener.wait(event, about, listener.timeout)
    if not found:
        fail("W1", f"no {event} webhook arrived within {listener.timeout:.0f} s", cause)
    delivery = found[0]
    check(
        delivery.verified,
        "W2",
        f"Dub-Signature {delivery.signature!r} is not the HMAC-SHA256 of the body with the "
        "endpoint's secret",
        cause,
    )
    content_type = {k.lower(): v for k, v in delivery.headers.items()}.get("content-type", "")
    check(
        content_type.startswith("application/json"),
        "W1",
        f"Content-Type is {content_type!r}",
        cause,
    )
    payload = delivery.payload
    check(
        list(payload) == ["id", "event", "createdAt", "data"],
        "W1",
        f"the body's keys are {list(payload)}, not id, event, createdAt, data",
        cause,
    )
    check(EVENT_ID.match(str(payload["id"])), "W1", f"event id {payload['id']!r}", cause)
    check(
        CREATED_AT.match(str(payload["createdAt"])),
        "W1",
        f"createdAt {payload['createdAt']!r} is not ISO-8601 UTC with milliseconds",
        cause,
    )
    data = payload["data"]
    check(
        isinstance(data, dict) and list(data) == DATA_KEYS[event],
        "W1",
        f"data's keys are {list(data) if isinstance(data, dict) else data!r}, "
        f"not Dub's {DATA_KEYS[event]}",
        cause,
    )
    for name, keys in INNER_KEYS.items():
        if name in data:
            inner = data[name]
            check(
                isinstance(inner, dict) and sorted(inner) == sorted(keys),
                "W1",
                f"data.{name} has keys {sorted(inner) if isinstance(inner, dict) else inner!r}"
                f", not those of Dub's sample",
                cause,
            )
    return delivery


def expect_no_second(
    listener: Listener, event: str, about: Callable[[Any], bool], cause: Exchange
) -> None:
    time.sleep(QUIET_S)
    found = listener.wait(event, about, 0)
    ids = {(d.payload or {}).get("id") for d in found}
    check(len(ids) <= 1, "W3", f"{len(ids)} {event} events for one recorded {event}", cause)


def test_a_recorded_sale_sends_a_signed_sale_created_and_a_replay_sends_none(
    dub: Target, listener: Listener
) -> None:
    """W1, W2, W3: the sale's event, its signature and shape; the invoice replay sends none."""
    invoice = dub.invoice()
    body = {"customerExternalId": dub.customer(), "amount": 1234, "invoiceId": invoice}
    answer = dub.client.sale(body)
    check(
        answer.status == 200 and (answer.json or {}).get("sale"),
        "W1",
        "the sale that should send the event was not recorded",
        answer,
    )

    def about(payload: Any) -> bool:
        return bool(payload["data"]["sale"]["invoiceId"] == invoice)

    delivery = expect_event(listener, "sale.created", about, answer)
    data = delivery.payload["data"]
    check(
        data["sale"]["amount"] == answer.json["sale"]["amount"],
        "W1",
        f"data.sale.amount {data['sale']['amount']!r} is not the sale's "
        f"{answer.json['sale']['amount']!r}",
        answer,
    )
    check(
        data["customer"]["externalId"] == body["customerExternalId"],
        "W1",
        "data.customer is not the sale's customer",
        answer,
    )
    replay = dub.client.sale({**body, "amount": 1})
    check(replay.status == 200, "W3", "the replay was not answered 200", replay)
    expect_no_second(listener, "sale.created", about, replay)


def test_a_recorded_lead_sends_lead_created_and_a_duplicate_sends_none(
    dub: Target, listener: Listener
) -> None:
    """W1, W2, W3: the lead's event for the check's new customer; the duplicate sends none."""
    external_id = dub.unique("cus")
    body = {
        "clickId": dub.click(),
        "eventName": "dubmock-check Sign up",
        "customerExternalId": external_id,
        "mode": "wait",
    }
    answer = dub.client.lead(body)
    check(
        answer.status == 200 and (answer.json or {}).get("link"),
        "W1",
        "the lead that should send the event was not recorded",
        answer,
    )

    def about(payload: Any) -> bool:
        return bool(payload["data"]["customer"]["externalId"] == external_id)

    delivery = expect_event(listener, "lead.created", about, answer)
    check(
        delivery.payload["data"]["eventName"] == body["eventName"],
        "W1",
        "data.eventName is not the lead's",
        answer,
    )
    check(
        delivery.payload["data"]["click"]["id"] == body["clickId"],
        "W1",
        "data.click is not the lead's click",
        answer,
    )
    duplicate = dub.client.lead(body)
    check(duplicate.status == 200, "W3", "the duplicate lead was not answered 200", duplicate)
    expect_no_second(listener, "lead.created", about, duplicate)


def test_a_new_click_sends_link_clicked_and_a_repeat_sends_none(
    dub: Target, listener: Listener
) -> None:
    """W1, W2, W3: a new visitor's click sends link.clicked; the same visitor again does not."""
    domain, key, link_id = dub.click_link()
    headers = visitor(dub)
    answer = dub.client.click({"domain": domain, "key": key}, headers=headers)
    check(answer.status == 200, "W1", "the click was not recorded", answer)
    click_id = (answer.json or {}).get("clickId")

    def about(payload: Any) -> bool:
        return bool(payload["data"]["click"]["id"] == click_id)

    delivery = expect_event(listener, "link.clicked", about, answer)
    check(
        delivery.payload["data"]["link"]["id"] == link_id,
        "W1",
        "data.link is not the clicked link",
        answer,
    )
    again = dub.client.click({"domain": domain, "key": key}, headers=headers)
    check(
        (again.json or {}).get("clickId") == click_id,
        "W3",
        "the repeated click got another id",
        again,
    )
    expect_no_second(listener, "link.clicked", about, again)


def test_a_failed_delivery_is_retried_with_the_same_id_and_bytes(
    dub: Target, listener: Listener
) -> None:
    """W4: the receiver answers 500 once; the next attempt carries the same id and bytes."""
    if not listener.registered:
        pytest.skip("a real server retries on its own schedule (Dub's spans hours)")
    listener.receiver.answer_next(500)
    invoice = dub.invoice()
    answer = dub.client.sale(
        {"customerExternalId": dub.customer(), "amount": 777, "invoiceId": invoice}
    )
    check(answer.status == 200, "W4", "the sale was not recorded", answer)

    def about(payload: Any) -> bool:
        return bool(payload["data"]["sale"]["invoiceId"] == invoice)

    attempts = listener.wait("sale.created", about, listener.timeout, count=2)
    check(
        len(attempts) >= 2,
        "W4",
        f"{len(attempts)} attempt(s) after a 500 answer, not a retry",
        answer,
    )
    check(
        attempts[0].body == attempts[1].body,
        "W4",
        "the retry's body (id included) differs from the first attempt's",
        answer,
    )
