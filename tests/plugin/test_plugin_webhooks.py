"""The webhook helpers and the ``dub_webhooks`` fixture, in downstream pytest runs: real
deliveries from the mock's deliverer to a receiver on a real socket."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

WEBHOOK_TESTS = '''
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from sale_client import track_sale

SEEN = {}


def sale(mock, external_id="user_42", amount=4900, **fields):
    status, body, _, _ = track_sale(mock.url, mock.token, {"customerExternalId": external_id,
                                                           "amount": amount, **fields})
    assert status == 200, body
    return body


def settled(read, count, timeout=5):
    """`read()` once it holds `count` items."""
    deadline = time.monotonic() + timeout
    while len(found := read()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def handler_threads():
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_a_sale_reaches_the_receiver_signed(dub_mock, dub_webhooks):
    SEEN["url"], SEEN["threads"] = dub_webhooks.url, len(handler_threads())
    assert re.fullmatch(r"http://127\\.0\\.0\\.1:\\d+/webhooks/dub", dub_webhooks.url)
    assert re.fullmatch(r"whsec_[0-9a-f]{32}", dub_webhooks.secret)
    [endpoint] = dub_mock.webhooks
    assert endpoint.id == dub_webhooks.webhook.id and endpoint.url == dub_webhooks.url
    assert dub_webhooks.webhook.retryScheduleMs == [50, 200, 1000]
    assert dub_webhooks.secret not in repr(endpoint)  # listed redacted
    dub_mock.add_customer("user_42")
    sale(dub_mock, invoiceId="INV_1")
    event = dub_webhooks.wait_for("sale.created", timeout=5)
    assert event["data"]["sale"]["invoiceId"] == "INV_1"
    assert event["data"]["customer"]["externalId"] == "user_42"
    assert dub_webhooks.events == [event]
    logged = dub_mock.webhook_events.one()
    assert (logged.id, logged.event, logged.payload, logged.data) == (
        event["id"], "sale.created", event, event["data"])
    assert repr(logged).startswith(
        f"WebhookEvent(id={event['id']!r}, event='sale.created', delivered=")
    assert "'body'" not in repr(logged) and "INV_1" not in repr(logged)
    [attempt] = settled(lambda: dub_mock.webhook_deliveries(event_id=event["id"]), 1)
    assert (attempt.webhookId, attempt.attempt, attempt.status, attempt.ok) == (
        dub_webhooks.webhook.id, 1, 200, True)
    assert attempt.payload == event
    assert repr(attempt).startswith(
        f"Delivery(eventId={event['id']!r}, event='sale.created', "
        f"webhookId={dub_webhooks.webhook.id!r}, attempt=1, status=200, ok=True, durationMs=")
    assert "requestBody" not in repr(attempt)

    # (each redelivery once the last attempt is logged: the mock drops a redelivery queued
    # while an attempt of the same event to the same endpoint is still being finished)
    assert dub_mock.redeliver(event["id"]) == [dub_webhooks.webhook.id]
    assert dub_webhooks.wait_for("sale.created", count=2) == event  # same id and bytes
    settled(lambda: dub_mock.webhook_deliveries(event_id=event["id"]), 2)
    assert dub_mock.redeliver(logged) == [dub_webhooks.webhook.id]  # a record works too
    dub_webhooks.wait_for("sale.created", count=3)
    assert len(settled(lambda: dub_mock.webhook_deliveries(event_id=event["id"]), 3)) == 3
    assert dub_mock.webhook_deliveries(event_id="evt_none") == []


def test_the_receiver_is_gone_and_the_reset_dropped_everything(dub_mock):
    address = urlsplit(SEEN["url"])
    with pytest.raises(OSError):
        socket.create_connection((address.hostname, address.port), timeout=1).close()
    assert dub_mock.webhooks == [] and dub_mock.state["webhooks"] == []
    assert dub_mock.webhook_events == [] and dub_mock.webhook_deliveries == []
    # the receiver's handler threads ended with it (Connection: close, no idle keep-alive)
    deadline = time.monotonic() + 2
    while len(handler_threads()) > SEEN["threads"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(handler_threads()) <= SEEN["threads"], handler_threads()


def test_failed_attempts_are_retried_fast(dub_mock, dub_webhooks):
    dub_webhooks.answer_next(500)
    dub_mock.add_customer("user_42")
    sale(dub_mock)
    event = dub_webhooks.wait_for("sale.created", timeout=3)
    attempts = settled(lambda: dub_mock.webhook_deliveries, 2)
    assert [(a.attempt, a.status, a.ok, a.error) for a in attempts] == [
        (1, 500, False, "HTTP 500"), (2, 200, True, None)]
    assert {a.eventId for a in attempts} == {event["id"]}
    assert len(dub_webhooks.deliveries) == 2 and dub_webhooks.unverified == []


def test_helpers_round_trip(dub_mock, dub_webhooks):
    made = dub_mock.add_webhook(
        dub_webhooks.url, triggers="lead.created", secret=dub_webhooks.secret,
        retry_schedule_ms=[10], timeout_ms=1500, id="wh_extra")
    assert (made.id, made.triggers, made.secret, made.retryScheduleMs, made.timeoutMs) == (
        "wh_extra", ["lead.created"], dub_webhooks.secret, [10], 1500)
    assert repr(made).startswith(
        f"Webhook(id='wh_extra', url={dub_webhooks.url!r}, triggers=['lead.created'], "
        "workspaceId='ws_mock', disabled=False, consecutiveFailures=0, secret='whsec_")
    dub_mock.add_workspace("ws_other")
    other = dub_mock.add_webhook("http://127.0.0.1:9/x", workspace_id="ws_other",
                                 triggers=("sale.created", "link.clicked"))
    assert other.workspaceId == "ws_other" and other.secret.startswith("whsec_")
    assert other.triggers == ["link.clicked", "sale.created"]
    assert [w.id for w in dub_mock.webhooks] == [dub_webhooks.webhook.id, "wh_extra", other.id]
    assert all("…" in w.secret for w in dub_mock.state["webhooks"])
    dub_mock.delete_webhook(other.id)
    with pytest.raises(AssertionError, match=r"404 not_found: Webhook wh_nope not found"):
        dub_mock.delete_webhook("wh_nope")

    event_id = dub_mock.send_test_webhook("lead.created", webhook_id="wh_extra")
    assert dub_webhooks.wait_for("lead.created")["id"] == event_id
    sample = dub_mock.send_test_webhook(url=dub_webhooks.url, secret=dub_webhooks.secret)
    assert dub_webhooks.wait_for("sale.created")["id"] == sample
    assert [e.id for e in dub_mock.webhook_events] == [event_id, sample]
    with pytest.raises(AssertionError, match="event must be one of"):
        dub_mock.send_test_webhook("sale.updated", webhook_id="wh_extra")
    with pytest.raises(TypeError, match="not a webhook event"):
        dub_mock.redeliver({"event": "sale.created"})


def test_a_reset_in_the_test_keeps_the_fixtures_endpoint(dub_mock, dub_webhooks):
    dub_mock.add_webhook("http://127.0.0.1:9/x")
    dub_mock.reset()
    assert [w.id for w in dub_mock.webhooks] == [dub_webhooks.webhook.id]
    dub_mock.add_customer("user_42")
    sale(dub_mock)
    dub_webhooks.wait_for("sale.created")


def test_in_process_app(dub_mock_app, dub_webhooks):
    assert dub_mock_app.webhooks.one().id == dub_webhooks.webhook.id
    dub_mock_app.add_customer("user_42")
    assert dub_mock_app.post_sale({"customerExternalId": "user_42", "amount": 700}).status_code \\
        == 200
    assert dub_webhooks.wait_for("sale.created")["data"]["sale"]["amount"] == 700
    assert dub_mock_app.webhook_events.one().webhookIds == [dub_webhooks.webhook.id]


def test_wait_for_explains_a_timeout(dub_mock, dub_webhooks):
    dub_mock.add_customer("user_42")
    sale(dub_mock, amount=0)  # recorded as nothing: no sale.created
    with pytest.raises(TimeoutError) as caught:
        dub_webhooks.wait_for("sale.created", timeout=0.3)
    message = str(caught.value)
    assert "a verified 'sale.created' webhook did not arrive within 0.3 s" in message
    assert "Received: nothing." in message
    assert f"sent no event to this receiver (endpoint {dub_webhooks.webhook.id!r}" in message
    assert "not for an invoice replay, a customer: null answer, amount 0" in message
    dub_mock.send_test_webhook("lead.created", webhook_id=dub_webhooks.webhook.id)
    dub_webhooks.wait_for("lead.created")
    with pytest.raises(TimeoutError) as caught:
        dub_webhooks.wait_for("sale.create", timeout=0.1, count=2)
    message = str(caught.value)
    assert "2 verified 'sale.create' webhook did not arrive" in message
    assert "'sale.create' is none of them" in message
    assert "Received (1): lead.created evt_" in message and "(verified)" in message
    assert "The mock sent this receiver 1 event(s): lead.created evt_" in message


def test_clean_after_all(dub_mock_app, dub_mock):
    assert dub_mock.webhooks == [] and dub_mock_app.webhooks == []
    assert dub_mock_app.webhook_events == []
'''

BAD_SIGNATURE_TESTS = """
import json
import time
import urllib.request

from sale_client import track_sale

SEEN = []


def test_another_secret_on_the_same_url(dub_mock, dub_webhooks):
    dub_mock.add_webhook(dub_webhooks.url, secret="whsec_" + "0" * 32, id="wh_impostor",
                         triggers=["sale.created"])
    dub_mock.add_customer("user_42")
    track_sale(dub_mock.url, dub_mock.token, {"customerExternalId": "user_42", "amount": 5})
    dub_webhooks.wait_for("sale.created")  # the genuine one arrives and verifies
    deadline = time.monotonic() + 5
    while len(dub_webhooks.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    SEEN.append(dub_webhooks.unverified[0].payload["id"])


def test_a_forged_request_after_the_test_body(dub_webhooks, request):
    def forge():
        body = json.dumps({"id": "evt_forged", "event": "sale.created"}).encode()
        urllib.request.urlopen(urllib.request.Request(dub_webhooks.url, data=body)).close()

    request.addfinalizer(forge)  # runs before the fixture's own teardown


def test_the_event_id(dub_mock):
    assert SEEN and SEEN[0].startswith("evt_")
"""


def test_webhook_helpers_and_fixture(downstream: pytest.Pytester, run: Run) -> None:
    downstream.makepyfile(test_plugin_webhooks_downstream=WEBHOOK_TESTS)
    run().assert_outcomes(passed=8)


def test_a_delivery_that_does_not_verify_fails_the_test(
    downstream: pytest.Pytester, run: Run
) -> None:
    downstream.makepyfile(test_plugin_bad_signature_downstream=BAD_SIGNATURE_TESTS)
    result = run()
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at teardown of test_a_forged_request_after_the_test_body _*",
            "dub_webhooks: 1 webhook delivery(ies) to http://127.0.0.1:*/webhooks/dub did not "
            "verify with this receiver's secret (whsec_*…); a receiver checking Dub-Signature "
            "rejects them:",
            "  - sale.created evt_forged (no Dub-Signature header)",
            "*_ test_another_secret_on_the_same_url _*",
            "dub_webhooks: 1 webhook delivery(ies) to http://127.0.0.1:*/webhooks/dub did not "
            "verify*",
            "  - sale.created evt_* (Dub-Signature *…, sent by endpoint wh_impostor)",
            "This receiver's own endpoint is 'wh_*'. Another endpoint registered with this URL*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
