"""BEHAVIOR §7: the webhooks Dub sends, received by a real HTTP receiver on a free port.

When each event fires and when it does not, its envelope and `data` (shaped like Dub's own
sample events, kept in `webhook_samples/`), the signature, retries, timeouts, disabling, the
logs, redelivery and test events; for every store and on `dub-mock serve`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.support import free_port

from mockserver.webhooks import sign, verify
from mockserver.webhooks.receiver import WebhookReceiver

from .support import HttpApi

SAMPLES = Path(__file__).resolve().parent / "webhook_samples"
EVENT_ID = re.compile(r"^evt_[0-9A-Za-z]{25}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SECRET = "whsec_" + "ab" * 16
FAST = [50, 50, 50]  # retry quickly: the tests wait for real attempts
AUTH_SALE = {"customerExternalId": "buyer", "amount": 4900}


def sample_keys(name: str) -> dict[str, list[str]]:
    """The keys of Dub's sample `data`, and of each object inside it."""
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    keys = {"data": list(data)}
    keys.update({k: list(v) for k, v in data.items() if isinstance(v, dict)})
    return keys


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as running:
        yield running


def add_webhook(api: HttpApi, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "secret": SECRET, "retryScheduleMs": FAST, "timeoutMs": 2000, **fields}
    return api.create("webhooks", body)


def link_and_click(api: HttpApi, key: str = "wh") -> str:
    api.add_link(domain="dub.sh", key=key)
    reply = api.request("POST", "/track/click", json_body={"domain": "dub.sh", "key": key})
    assert reply.status == 200, reply
    return str(reply.json["clickId"])


def lead(api: HttpApi, click_id: str, external_id: str = "buyer", **fields: Any) -> Any:
    body = {"clickId": click_id, "eventName": "Sign up", "customerExternalId": external_id}
    reply = api.request("POST", "/track/lead", json_body={**body, **fields}, token=api.token)
    assert reply.status == 200, reply
    return reply.json


def settle(api: HttpApi, expected: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The delivery log once it holds `expected` attempts (and a moment to show no more)."""
    deadline = time.monotonic() + timeout
    while True:
        attempts = deliveries(api)
        if len(attempts) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # a wrong extra attempt would land in this window
    return deliveries(api)


def deliveries(api: HttpApi, event_id: str | None = None) -> list[dict[str, Any]]:
    query = f"?eventId={event_id}" if event_id else ""
    reply = api.admin("GET", f"webhooks/deliveries{query}")
    assert reply.status == 200, reply
    return list(reply.json)


def events(api: HttpApi) -> list[dict[str, Any]]:
    reply = api.admin("GET", "webhooks/events")
    assert reply.status == 200, reply
    return list(reply.json)


# --- the three events, their envelope and data -------------------------------------------


def test_a_sale_sends_one_signed_sale_created_shaped_like_dubs_sample(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    webhook = add_webhook(api, receiver.url)
    api.add_customer("buyer", name="Ada", email="ada@example.com")
    api.set_fx_rates({"EUR": 0.5})
    reply = api.track({**AUTH_SALE, "currency": "EUR", "invoiceId": "INV_1"})
    assert reply.status == 200, reply
    event = receiver.wait_for("sale.created")
    [delivery] = receiver.deliveries
    assert delivery.signature == sign(delivery.body, webhook["secret"])
    assert verify(delivery.body, delivery.signature, SECRET)
    assert delivery.headers["Content-Type"] == "application/json"
    assert list(event) == ["id", "event", "createdAt", "data"]
    assert EVENT_ID.match(event["id"]) and ISO_MS.match(event["createdAt"])
    keys = sample_keys("sale-created.json")
    data = event["data"]
    assert list(data) == keys["data"]
    for name in ("customer", "click", "link", "sale"):
        assert list(data[name]) == keys[name], name
    assert data["sale"] == {"amount": 9800, "currency": "usd", "paymentProcessor": "custom",
                            "invoiceId": "INV_1"}  # fmt: skip
    customer = api.customer("buyer")
    assert data["customer"]["id"] == customer["id"]
    assert (data["customer"]["name"], data["customer"]["email"]) == ("Ada", "ada@example.com")
    assert data["link"]["id"] == customer["linkId"] and data["link"]["sales"] == 1
    assert data["eventName"] == "Purchase"


def test_track_click_sends_link_clicked_and_a_repeat_within_the_hour_sends_none(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url)
    click_id = link_and_click(api)
    event = receiver.wait_for("link.clicked")
    keys = sample_keys("link-clicked.json")
    assert list(event["data"]) == keys["data"]
    assert list(event["data"]["click"]) == keys["click"]
    assert list(event["data"]["link"]) == keys["link"]
    assert event["data"]["click"]["id"] == click_id
    assert event["data"]["link"]["key"] == "wh" and event["data"]["link"]["clicks"] == 1
    again = api.request("POST", "/track/click", json_body={"domain": "dub.sh", "key": "wh"})
    assert again.json["clickId"] == click_id
    untracked = api.request(
        "POST", "/track/click", json_body={"domain": "dub.sh", "key": "wh"},
        headers={"dub-no-track": "1", "User-Agent": "another browser"},
    )  # fmt: skip
    assert untracked.status == 200
    assert len(settle(api, 1)) == 1
    assert [e["event"] for e in receiver.events] == ["link.clicked"]


def test_a_lead_sends_lead_created_once_and_duplicates_or_deferred_send_none(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url, triggers=["lead.created"])
    click_id = link_and_click(api)
    first = lead(api, click_id, metadata={"plan": "pro"}, eventQuantity=3)
    assert first["link"] is not None
    assert lead(api, click_id)["link"] is None  # a duplicate
    lead(api, click_id, external_id="later", mode="deferred")
    event = receiver.wait_for("lead.created")
    keys = sample_keys("lead-created.json")
    assert list(event["data"]) == keys["data"]
    assert list(event["data"]["customer"]) == keys["customer"]
    assert event["data"]["eventName"] == "Sign up"
    assert event["data"]["metadata"] == {"plan": "pro"}
    assert event["data"]["click"]["id"] == click_id
    assert event["data"]["customer"]["externalId"] == "buyer"
    assert len(settle(api, 1)) == 1
    assert len(receiver.events) == 1


def test_direct_sale_tracking_sends_lead_created_then_sale_created(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url, triggers=["lead.created", "sale.created"])
    click = api.add_click()
    reply = api.track({**AUTH_SALE, "clickId": click["id"]})
    assert reply.status == 200 and reply.json["sale"] is not None
    lead_event = receiver.wait_for("lead.created")
    sale_event = receiver.wait_for("sale.created")
    assert lead_event["data"]["eventName"] == "Direct sale tracking lead event"
    assert sale_event["data"]["click"]["id"] == click["id"]
    assert lead_event["data"]["customer"] == sale_event["data"]["customer"]


def test_replays_null_answers_and_admin_objects_send_nothing(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url)
    api.add_customer("buyer")  # admin-made: no lead.created
    api.add_click()  # admin-made: no link.clicked
    api.add_lead("buyer", "Trial")
    assert api.track({**AUTH_SALE, "invoiceId": "INV_R"}).status == 200
    replay = api.track({**AUTH_SALE, "amount": 1, "invoiceId": "INV_R"})
    assert replay.status == 200 and replay.json["sale"]["amount"] == 4900
    assert api.track({"customerExternalId": "nobody", "amount": 100}).json["sale"] is None
    assert api.track({**AUTH_SALE, "amount": 0}).json["sale"] is None
    receiver.wait_for("sale.created")
    assert len(settle(api, 1)) == 1
    assert [e["event"] for e in receiver.events] == ["sale.created"]
    [logged] = events(api)
    assert logged["event"] == "sale.created" and logged["delivered"] is True


def test_one_event_carries_the_same_id_and_bytes_to_every_endpoint_of_its_workspace(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver(SECRET) as other, WebhookReceiver(SECRET) as elsewhere:
        first = add_webhook(api, receiver.url)
        second = add_webhook(api, other.url, triggers=["sale.created"])
        api.add_workspace("ws_other")
        add_webhook(api, elsewhere.url, workspaceId="ws_other")
        api.add_customer("buyer")
        assert api.track(AUTH_SALE).status == 200
        receiver.wait_for("sale.created")
        other.wait_for("sale.created")
        assert receiver.deliveries[0].body == other.deliveries[0].body
        [logged] = events(api)
        assert sorted(logged["webhookIds"]) == sorted([first["id"], second["id"]])
        settle(api, 2)
        assert elsewhere.deliveries == []


def test_a_trigger_an_endpoint_did_not_ask_for_is_not_sent(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url, triggers=["sale.created"])
    click_id = link_and_click(api)
    lead(api, click_id)
    assert settle(api, 1, timeout=1) == []
    assert events(api) == []


# --- delivery: retries, timeouts, failures, the logs -------------------------------------


def test_500_three_times_then_200_arrives_on_attempt_4_with_the_same_id_and_bytes(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(500, 500, 500)
    add_webhook(api, receiver.url)
    api.add_customer("buyer")
    assert api.track(AUTH_SALE).status == 200
    attempts = settle(api, 4)
    assert [(a["attempt"], a["status"], a["ok"]) for a in attempts] == [
        (1, 500, False), (2, 500, False), (3, 500, False), (4, 200, True)
    ]  # fmt: skip
    assert len({d.body for d in receiver.deliveries}) == 1
    assert len(receiver.deliveries) == 4
    assert all(d.verified for d in receiver.deliveries)
    assert attempts[0]["error"] == "HTTP 500" and attempts[3]["error"] is None
    assert {a["eventId"] for a in attempts} == {receiver.events[0]["id"]}
    assert attempts[0]["requestBody"] == receiver.deliveries[0].body.decode()
    [logged] = events(api)
    assert logged["delivered"] is True


def test_a_timeout_and_a_refused_connection_are_logged_and_retried(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(200, delay_s=1.5)
    add_webhook(api, receiver.url, timeoutMs=300, retryScheduleMs=[100])
    api.add_customer("buyer")
    assert api.track(AUTH_SALE).status == 200
    first, second = settle(api, 2, timeout=15)
    assert first["status"] is None and first["ok"] is False
    assert "timed out" in first["error"].lower() or "timeout" in first["error"].lower()
    assert second["ok"] is True and second["attempt"] == 2

    dead = add_webhook(api, f"http://127.0.0.1:{free_port()}/closed", retryScheduleMs=[])
    api.add_customer("buyer2")
    assert api.track({**AUTH_SALE, "customerExternalId": "buyer2"}).status == 200
    refused = [a for a in settle(api, 3 + 1) if a["webhookId"] == dead["id"]]
    assert [(a["status"], a["ok"]) for a in refused] == [(None, False)]
    assert refused[0]["error"]


def test_twenty_failed_deliveries_in_a_row_disable_the_endpoint(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(*[500] * 20)
    webhook = add_webhook(api, receiver.url, retryScheduleMs=[])
    api.add_customer("buyer")
    for _ in range(19):
        assert api.track(AUTH_SALE).status == 200
    settle(api, 19)
    [listed] = api.admin("GET", "webhooks").json
    assert (listed["consecutiveFailures"], listed["disabled"]) == (19, False)
    assert api.track(AUTH_SALE).status == 200
    settle(api, 20)
    [listed] = api.admin("GET", "webhooks").json
    assert (listed["consecutiveFailures"], listed["disabled"]) == (20, True)
    assert api.track(AUTH_SALE).status == 200
    assert len(settle(api, 21, timeout=1)) == 20
    assert len(receiver.deliveries) == 20
    assert listed["id"] == webhook["id"]


def test_a_success_resets_the_failure_count(api: HttpApi, receiver: WebhookReceiver) -> None:
    receiver.answer_next(500, 500)
    add_webhook(api, receiver.url, retryScheduleMs=[])
    api.add_customer("buyer")
    counts = []
    for sent in range(1, 4):  # one at a time: "in a row" is the order they ended in
        assert api.track(AUTH_SALE).status == 200
        settle(api, sent)
        [listed] = api.admin("GET", "webhooks").json
        counts.append(listed["consecutiveFailures"])
    assert counts == [1, 2, 0]


def test_a_slow_receiver_does_not_hold_up_the_api(api: HttpApi) -> None:
    """The receiver holds every delivery until all the sales have been answered: were the
    delivery on the request's path, the first sale would never be answered."""
    release = threading.Event()

    class Held(WebhookReceiver):
        def _answer(self, body: bytes, handler: Any) -> tuple[int, float]:
            release.wait(20)
            return super()._answer(body, handler)

    with Held(SECRET) as held:
        add_webhook(api, held.url, timeoutMs=30_000)
        api.add_customer("buyer")
        answers = [api.track(AUTH_SALE).status for _ in range(5)]
        release.set()
        assert answers == [200] * 5
        held.wait_for("sale.created", count=5, timeout=15)


def test_an_attempt_in_flight_across_a_reset_is_not_logged_after_it(api: HttpApi) -> None:
    """The receiver holds the attempt until the mock has been reset: when it ends, the reset
    state (an empty log, no endpoints) must not gain a delivery from before it."""
    arrived, release = threading.Event(), threading.Event()

    class Held(WebhookReceiver):
        def _answer(self, body: bytes, handler: Any) -> tuple[int, float]:
            arrived.set()
            release.wait(20)
            return super()._answer(body, handler)

    with Held(SECRET) as held:
        add_webhook(api, held.url, timeoutMs=30_000)
        api.add_customer("buyer")
        assert api.track(AUTH_SALE).status == 200
        assert arrived.wait(10)
        api.reset()
        release.set()
        held.wait_for("sale.created", timeout=10)
        assert settle(api, 1, timeout=1) == []


def test_a_deleted_endpoint_gets_nothing_more(api: HttpApi, receiver: WebhookReceiver) -> None:
    webhook = add_webhook(api, receiver.url)
    assert api.admin("DELETE", f"webhooks/{webhook['id']}").status == 200
    api.add_customer("buyer")
    assert api.track(AUTH_SALE).status == 200
    assert settle(api, 1, timeout=1) == []
    api.admin("DELETE", f"webhooks/{webhook['id']}").expect_error(404, "not_found")


# --- redelivery and test events ----------------------------------------------------------


def test_redelivery_sends_the_same_id_and_bytes_again(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    add_webhook(api, receiver.url)
    api.add_customer("buyer")
    assert api.track(AUTH_SALE).status == 200
    first = receiver.wait_for("sale.created")
    reply = api.admin("POST", f"webhooks/events/{first['id']}/redeliver")
    assert reply.status == 202, reply
    again = receiver.wait_for("sale.created", count=2)
    assert again == first
    assert receiver.deliveries[0].body == receiver.deliveries[1].body
    settle(api, 2)
    assert len(deliveries(api, first["id"])) == 2
    api.admin("POST", "webhooks/events/evt_nope/redeliver").expect_error(404, "not_found")


@pytest.mark.parametrize("trigger", ["link.clicked", "lead.created", "sale.created"])
def test_a_test_event_is_a_signed_sample_of_its_type(
    api: HttpApi, receiver: WebhookReceiver, trigger: str
) -> None:
    webhook = add_webhook(api, receiver.url)
    reply = api.admin("POST", "webhooks/test", {"webhookId": webhook["id"], "event": trigger})
    assert reply.status == 202, reply
    event = receiver.wait_for(trigger)
    assert event["id"] == reply.json["eventId"]
    name = trigger.replace(".", "-") + ".json"
    assert list(event["data"]) == sample_keys(name)["data"]


def test_a_test_event_to_a_url_and_secret_needs_no_endpoint(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    body = {"url": receiver.url, "secret": SECRET, "event": "sale.created"}
    assert api.admin("POST", "webhooks/test", body).status == 202
    assert receiver.wait_for("sale.created")["event"] == "sale.created"
    assert api.admin("GET", "webhooks").json == []


# --- the admin calls -----------------------------------------------------------------------


def test_endpoints_list_with_their_secrets_redacted(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    created = api.create("webhooks", {"url": receiver.url})
    assert re.fullmatch(r"whsec_[0-9a-f]{32}", created["secret"])
    assert created["id"].startswith("wh_")
    assert created["triggers"] == ["link.clicked", "lead.created", "sale.created"]
    assert created["retryScheduleMs"] == [1000, 5000, 30000, 120000, 600000]
    assert (created["timeoutMs"], created["disabled"], created["consecutiveFailures"]) == (
        10000, False, 0
    )  # fmt: skip
    [listed] = api.admin("GET", "webhooks").json
    [in_state] = api.state()["webhooks"]
    for shown in (listed, in_state):
        assert created["secret"] not in json.dumps(shown)
        assert shown["secret"].startswith("whse") and "…" in shown["secret"]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"url": "ftp://example.com/x"}, 422), ({"url": "not a url"}, 422), ({}, 422),
     ({"url": "http://127.0.0.1:9/x", "triggers": ["sale.updated"]}, 422),
     ({"url": "http://127.0.0.1:9/x", "triggers": []}, 422),
     ({"url": "http://127.0.0.1:9/x", "retryScheduleMs": [-1]}, 422),
     ({"url": "http://127.0.0.1:9/x", "timeoutMs": 0}, 422),
     ({"url": "http://127.0.0.1:9/x", "workspaceId": "ws_nope"}, 404)],
    ids=["ftp", "no-url-shape", "no-url", "unknown-trigger", "no-triggers", "negative-delay",
         "zero-timeout", "unknown-workspace"],
)  # fmt: skip
def test_bad_endpoints_are_refused_and_change_nothing(
    api: HttpApi, body: dict[str, Any], status: int
) -> None:
    reply = api.admin("POST", "webhooks", body)
    reply.expect_error(status, "unprocessable_entity" if status == 422 else "not_found")
    assert api.admin("GET", "webhooks").json == []


def test_reset_drops_endpoints_events_deliveries_and_pending_ones(
    api: HttpApi, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(500)
    add_webhook(api, receiver.url, retryScheduleMs=[1500])
    api.add_customer("buyer")
    assert api.track(AUTH_SALE).status == 200
    settle(api, 1)
    api.reset()
    time.sleep(2)  # past the retry the reset dropped
    assert len(receiver.deliveries) == 1
    assert api.admin("GET", "webhooks").json == []
    assert events(api) == [] and deliveries(api) == []


def test_deliveries_filter_by_event(api: HttpApi, receiver: WebhookReceiver) -> None:
    add_webhook(api, receiver.url, triggers=["sale.created"])
    api.add_customer("buyer")
    for _ in range(2):
        assert api.track(AUTH_SALE).status == 200
    settle(api, 2)
    first, second = events(api)
    assert [a["eventId"] for a in deliveries(api, first["id"])] == [first["id"]]
    assert [a["eventId"] for a in deliveries(api, second["id"])] == [second["id"]]


def test_a_seeded_endpoint_receives_and_survives_reset(
    make_api: Callable[..., HttpApi], receiver: WebhookReceiver
) -> None:
    seed = {"webhooks": [{"id": "wh_seeded", "url": receiver.url, "secret": SECRET,
                          "triggers": ["sale.created"]}],
            "customers": [{"externalId": "buyer"}]}  # fmt: skip
    api = make_api(seed_data=seed)
    assert [w["id"] for w in api.admin("GET", "webhooks").json] == ["wh_seeded"]
    assert api.track(AUTH_SALE).status == 200
    assert receiver.wait_for("sale.created")["data"]["customer"]["externalId"] == "buyer"


def test_a_redelivery_asked_while_the_first_attempt_is_in_flight_is_not_lost(
    api: HttpApi,
) -> None:
    """Four endpoints hold their first attempt (every sender of the mock busy) until the
    redelivery has been queued: when those attempts finish, the redelivery must still go."""
    release = threading.Event()
    arrived = threading.Semaphore(0)

    class HoldFirst(WebhookReceiver):
        held = False

        def _answer(self, body: bytes, handler: Any) -> tuple[int, float]:
            if not self.held:
                self.held = True
                arrived.release()
                release.wait(20)
            return super()._answer(body, handler)

    receivers = [HoldFirst(SECRET).start() for _ in range(4)]
    try:
        for receiver in receivers:
            add_webhook(api, receiver.url, triggers=["sale.created"])
        api.add_customer("buyer")
        assert api.track(AUTH_SALE).status == 200
        for _ in receivers:
            assert arrived.acquire(timeout=10)
        [event] = events(api)
        reply = api.admin("POST", f"webhooks/events/{event['id']}/redeliver")
        assert reply.status == 202 and len(reply.json["webhookIds"]) == 4
        release.set()
        for receiver in receivers:
            receiver.wait_for("sale.created", count=2, timeout=10)
        assert len(settle(api, 8)) == 8
    finally:
        release.set()
        for receiver in receivers:
            receiver.stop()
