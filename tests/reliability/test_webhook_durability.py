"""Webhook deliveries under failure: none lost, each attempt made by one worker.

- A receiver that is down while 200 sales are tracked, then up: all 200 events arrive (memory,
  SQLite with a `kill -9` of the server in the middle, and Redis).
- With several workers (SQLite) or instances (Redis) and a receiver that is up, each event is
  sent exactly once: every attempt is leased to one of them.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import MockServer
from mockserver.webhooks.receiver import WebhookReceiver

from .support import AUTH, Served, free_port, request

pytestmark = pytest.mark.slow

SECRET = "whsec_" + "5e" * 16
SALES = 200
RETRY_EVERY_MS = [500] * 20  # keeps retrying for 10 s: the receiver comes back within that


def setup(url: str, receiver_url: str) -> None:
    # A short timeout keeps short the lease that an attempt cut by `kill -9` leaves behind.
    body = {"url": receiver_url, "secret": SECRET, "retryScheduleMs": RETRY_EVERY_MS,
            "triggers": ["sale.created"], "timeoutMs": 1000}  # fmt: skip
    status, answer = request(url, "POST", "/__mock/webhooks", body)
    assert status == 201, answer
    status, answer = request(url, "POST", "/__mock/customers", {"externalId": "buyer"})
    assert status == 201, answer


def sell(urls: list[str], count: int, prefix: str) -> None:
    for n in range(count):
        body = {"customerExternalId": "buyer", "amount": 100 + n, "invoiceId": f"{prefix}-{n}"}
        status, answer = request(urls[n % len(urls)], "POST", "/track/sale", body, headers=AUTH)
        assert status == 200, answer


def invoices_received(receiver: WebhookReceiver) -> collections.Counter[str]:
    return collections.Counter(e["data"]["sale"]["invoiceId"] for e in receiver.events)


def wait_for_invoices(receiver: WebhookReceiver, expected: set[str], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not expected <= set(invoices_received(receiver)):
        if time.monotonic() > deadline:
            missing = sorted(expected - set(invoices_received(receiver)))
            raise AssertionError(f"{len(missing)} events never arrived: {missing[:5]}")
        time.sleep(0.05)


@pytest.fixture
def down_port() -> int:
    """A port nothing listens on yet: the receiver's, once it comes up."""
    return free_port()


def test_memory_a_receiver_down_during_200_sales_then_up_gets_every_event(
    down_port: int,
) -> None:
    with MockServer(rate_limit=False) as server:
        setup(server.url, f"http://127.0.0.1:{down_port}/webhooks/dub")
        sell([server.url], SALES, "MEM")
        with WebhookReceiver(SECRET, port=down_port) as receiver:
            wait_for_invoices(receiver, {f"MEM-{n}" for n in range(SALES)})
            assert not receiver.unverified


def test_sqlite_kill_9_with_deliveries_pending_loses_none(down_port: int, workdir: Path) -> None:
    args = ["--state", f"sqlite:///{workdir}/state.db", "--quiet", "--no-rate-limit"]
    served = Served(args, workdir).start()
    try:
        setup(served.url, f"http://127.0.0.1:{down_port}/webhooks/dub")
        sell([served.url], SALES, "SQL")
    finally:
        served.kill()  # every delivery still pending, the receiver still down
    with WebhookReceiver(SECRET, port=down_port) as receiver:
        restarted = Served(args, workdir).start()
        try:
            wait_for_invoices(receiver, {f"SQL-{n}" for n in range(SALES)})
            assert not receiver.unverified
        finally:
            restarted.stop()


def test_redis_a_receiver_down_during_200_sales_then_up_gets_every_event(
    down_port: int, redis_url: str, workdir: Path
) -> None:
    args = ["--state", redis_url, "--quiet", "--no-rate-limit"]
    first = Served(args, workdir).start()
    second = Served(args, workdir).start()
    try:
        setup(first.url, f"http://127.0.0.1:{down_port}/webhooks/dub")
        sell([first.url, second.url], SALES, "RDS")
        with WebhookReceiver(SECRET, port=down_port) as receiver:
            wait_for_invoices(receiver, {f"RDS-{n}" for n in range(SALES)})
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as running:
        yield running


def assert_each_attempt_made_once(
    receiver: WebhookReceiver, admin_url: str, prefix: str, count: int
) -> None:
    wait_for_invoices(receiver, {f"{prefix}-{n}" for n in range(count)})
    time.sleep(1)  # a second sender of some attempt would show now
    received = invoices_received(receiver)
    assert [inv for inv, n in received.items() if n > 1] == []
    status, attempts = request(admin_url, "GET", "/__mock/webhooks/deliveries")
    assert status == 200
    odd = [a for a in attempts if not a["ok"] or a["attempt"] != 1]
    assert len(attempts) == count and not odd, [
        (a["attempt"], a["status"], a["error"]) for a in odd
    ]


def test_four_sqlite_workers_send_each_event_once(receiver: WebhookReceiver, workdir: Path) -> None:
    args = ["--workers", "4", "--state", f"sqlite:///{workdir}/state.db", "--quiet",
            "--no-rate-limit"]  # fmt: skip
    served = Served(args, workdir).start()
    try:
        setup(served.url, receiver.url)
        sell([served.url], SALES, "W4")
        assert_each_attempt_made_once(receiver, served.url, "W4", SALES)
    finally:
        served.stop()


def test_two_redis_instances_send_each_event_once(
    receiver: WebhookReceiver, redis_url: str, workdir: Path
) -> None:
    args = ["--state", redis_url, "--quiet", "--no-rate-limit"]
    first = Served(args, workdir).start()
    second = Served([*args, "--workers", "2"], workdir).start()
    try:
        setup(first.url, receiver.url)
        sell([first.url, second.url], SALES, "R2")
        assert_each_attempt_made_once(receiver, first.url, "R2", SALES)
    finally:
        first.stop()
        second.stop()


def test_serve_webhook_flag_registers_an_endpoint_and_prints_its_secret(
    receiver: WebhookReceiver, workdir: Path
) -> None:
    served = Served(
        ["--webhook", receiver.url, "--webhook-secret", SECRET, "--quiet"], workdir
    ).start()
    try:
        assert f"webhook: {receiver.url} (secret {SECRET})" in served.log()
        status, _ = request(served.url, "POST", "/__mock/customers", {"externalId": "buyer"})
        assert status == 201
        sell([served.url], 1, "FLAG")
        event = receiver.wait_for("sale.created")
        assert event["data"]["sale"]["invoiceId"] == "FLAG-0"
        assert request(served.url, "POST", "/__mock/reset")[0] == 200
        status, listed = request(served.url, "GET", "/__mock/webhooks")
        assert [w["url"] for w in listed] == [receiver.url]  # the flag's endpoint survives reset
    finally:
        served.stop()


def test_serve_webhook_without_a_secret_prints_the_generated_one(
    receiver: WebhookReceiver, workdir: Path
) -> None:
    served = Served(["--webhook", receiver.url, "--quiet"], workdir).start()
    try:
        line = next(x for x in served.log().splitlines() if "webhook:" in x)
        secret = line.rsplit("secret ", 1)[1].rstrip(")")
        assert secret.startswith("whsec_") and len(secret) == 38
        receiver.secret = secret
        request(served.url, "POST", "/__mock/customers", {"externalId": "buyer"})
        sell([served.url], 1, "GEN")
        receiver.wait_for("sale.created")
    finally:
        served.stop()
