"""`dub-mock serve --workers N` and several instances on one Redis behave as one server.

Exactly-once is checked the hard way: 200 requests with one invoiceId, every connection open
before a barrier lets them all go, spread over 4 worker processes (SQLite) or 2 instances (Redis);
one sale and 200 byte-identical answers, over several invoices in a row.
"""

from __future__ import annotations

import collections
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import DUB_MOCK, Served, burst, request, state

pytestmark = pytest.mark.slow

INVOICES = 4
CONCURRENCY = 200


def sale_body(invoice: str) -> dict[str, object]:
    return {"customerExternalId": "buyer", "amount": 4900, "invoiceId": invoice}


def assert_exactly_once(targets: list[str], admin: str) -> None:
    status, customer = request(admin, "POST", "/__mock/customers", {"externalId": "buyer"})
    assert status == 201, customer
    for round_ in range(INVOICES):
        invoice = f"INV-{round_}"
        answers = burst(targets, CONCURRENCY, lambda _i, inv=invoice: sale_body(inv))
        statuses = collections.Counter(status for status, _ in answers)
        assert statuses == {200: CONCURRENCY}, statuses
        bodies = {body for _, body in answers}
        assert len(bodies) == 1, bodies
        assert b'"invoiceId":"' + invoice.encode() + b'"' in bodies.pop()
    for target in targets:  # every worker or instance sees the same, whole state
        snapshot = state(target)
        invoices = [s["invoiceId"] for s in snapshot["sales"]]
        assert sorted(invoices) == [f"INV-{i}" for i in range(INVOICES)]
        (buyer,) = snapshot["customers"]
        assert buyer["sales"] == INVOICES and buyer["saleAmount"] == 4900 * INVOICES
        (link,) = [link for link in snapshot["links"] if link["id"] == customer["linkId"]]
        assert link["sales"] == INVOICES and link["conversions"] == 1


@pytest.fixture
def sqlite_workers(workdir: Path) -> Iterator[Served]:
    served = Served(
        ["--workers", "4", "--state", f"sqlite:///{workdir}/state.db", "--quiet",
         "--no-rate-limit"],
        workdir,
    ).start()  # fmt: skip
    try:
        yield served
    finally:
        served.stop()


def test_four_workers_on_sqlite_record_each_invoice_once(sqlite_workers: Served) -> None:
    assert sqlite_workers.workers() >= 4
    assert_exactly_once([sqlite_workers.url], sqlite_workers.url)


def test_two_instances_on_one_redis_record_each_invoice_once(redis_url: str, workdir: Path) -> None:
    args = ["--state", redis_url, "--quiet", "--no-rate-limit"]
    first = Served(args, workdir).start()
    try:
        second = Served([*args, "--workers", "2"], workdir).start()
        try:
            assert_exactly_once([first.url, second.url], first.url)
        finally:
            second.stop()
    finally:
        first.stop()


def assert_one_customer_per_external_id(targets: list[str], admin: str) -> None:
    """Direct sales racing to create one customer: one customer, one lead, every sale kept."""
    status, click = request(admin, "POST", "/__mock/clicks", {"id": "clk_race"})
    assert status == 201, click
    answers = burst(
        targets, 100,
        lambda i: {"clickId": "clk_race", "customerExternalId": "newcomer", "amount": 100 + i,
                   "invoiceId": f"D-{i}"},
    )  # fmt: skip
    assert collections.Counter(status for status, _ in answers) == {200: 100}
    snapshot = state(admin)
    (customer,) = [c for c in snapshot["customers"] if c["externalId"] == "newcomer"]
    assert customer["sales"] == 100 and len(snapshot["sales"]) == 100
    assert [lead["customerId"] for lead in snapshot["leads"]] == [customer["id"]]
    assert {json.loads(body)["customer"]["id"] for _, body in answers} == {customer["id"]}


def test_direct_sales_racing_over_workers_create_one_customer(sqlite_workers: Served) -> None:
    assert_one_customer_per_external_id([sqlite_workers.url], sqlite_workers.url)


def test_direct_sales_racing_over_instances_create_one_customer(
    redis_url: str, workdir: Path
) -> None:
    args = ["--state", redis_url, "--quiet", "--no-rate-limit"]
    first = Served(args, workdir).start()
    second = Served(args, workdir).start()
    try:
        assert_one_customer_per_external_id([first.url, second.url], second.url)
    finally:
        first.stop()
        second.stop()


def assert_one_rate_window(targets: list[str], admin: str) -> None:
    """120 requests at once for a token allowed 50 a minute: exactly 50 pass, 70 get 429."""
    token = {"token": "dub_limited", "rateLimitPerMinute": 50}
    assert request(admin, "POST", "/__mock/tokens", token)[0] == 201
    answers = burst(
        targets, 120,
        lambda _i: {"customerExternalId": "nobody", "amount": 1},
        headers={"Authorization": "Bearer dub_limited", "Content-Type": "application/json"},
    )  # fmt: skip
    assert collections.Counter(status for status, _ in answers) == {200: 50, 429: 70}


def test_a_rate_limit_is_one_window_across_workers(workdir: Path) -> None:
    db = f"sqlite:///{workdir}/state.db"
    served = Served(["--workers", "4", "--state", db, "--quiet"], workdir).start()
    try:
        assert_one_rate_window([served.url], served.url)
    finally:
        served.stop()


def test_a_rate_limit_is_one_window_across_instances(redis_url: str, workdir: Path) -> None:
    first = Served(["--state", redis_url, "--quiet"], workdir).start()
    second = Served(["--state", redis_url, "--quiet"], workdir).start()
    try:
        assert_one_rate_window([first.url, second.url], second.url)
    finally:
        first.stop()
        second.stop()


def test_admin_writes_on_one_instance_serve_sales_on_another(redis_url: str, workdir: Path) -> None:
    first = Served(["--state", redis_url, "--quiet"], workdir).start()
    second = Served(["--state", redis_url, "--quiet"], workdir).start()
    try:
        status, _ = request(first.url, "POST", "/__mock/tokens", {"token": "dub_remote"})
        assert status == 201
        status, click = request(first.url, "POST", "/__mock/clicks", {"id": "clk_1"})
        assert status == 201, click
        status, body = request(
            second.url, "POST", "/track/sale",
            {"clickId": "clk_1", "customerExternalId": "direct", "amount": 10},
            headers={"Authorization": "Bearer dub_remote", "Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 200 and body["sale"]["amount"] == 10, body
        assert [c["externalId"] for c in state(first.url)["customers"]] == ["direct"]
        status, _ = request(second.url, "POST", "/__mock/reset")
        assert status == 200 and state(first.url)["sales"] == []
    finally:
        first.stop()
        second.stop()


def test_memory_state_with_several_workers_is_refused_with_the_fix() -> None:
    done = subprocess.run(
        [*DUB_MOCK, "serve", "--workers", "2", "--port", "0"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--workers > 1 needs shared state" in done.stderr
    assert "sqlite:///" in done.stderr and "redis://" in done.stderr


def test_an_unreachable_redis_is_refused_at_start(workdir: Path) -> None:
    done = subprocess.run(
        [*DUB_MOCK, "serve", "--state", "redis://127.0.0.1:1/0", "--port", "0"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach Redis" in done.stderr
