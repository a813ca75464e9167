"""The Redis store keeps the Store promises on a real Redis server, across instances.

Two `create_app` objects on one Redis URL stand for two mock instances on two machines: each has
its own connection pool and its own in-process lock, so only Redis joins them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from werkzeug.test import Client

from mockserver import MockServer, create_app
from mockserver.app import MockApp
from mockserver.errors import StoreError
from mockserver.store import open_store
from mockserver.store.redis import RedisStore

from .support import AUTH, RedisProcess, request


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[MockApp, MockApp]]:
    first = create_app(state=redis_url, quiet=True, rate_limit=False)
    second = create_app(state=redis_url, quiet=True, rate_limit=False)
    yield first, second
    first.store.close()
    second.store.close()


def sale(client: Client, **body: Any) -> tuple[int, Any]:
    answer = client.post("/track/sale", json=body, headers=AUTH)
    return answer.status_code, answer.get_json()


def test_open_store_picks_redis_and_the_state_is_shared(pair: tuple[MockApp, MockApp]) -> None:
    first, second = pair
    assert isinstance(first.store, RedisStore)
    created = Client(first).post("/__mock/customers", json={"externalId": "shared"}).get_json()
    status, body = sale(Client(second), customerExternalId="shared", amount=1200, invoiceId="I1")
    assert status == 200 and body["customer"]["id"] == created["id"]
    for app in pair:
        snapshot = Client(app).get("/__mock/state").get_json()
        assert [s["invoiceId"] for s in snapshot["sales"]] == ["I1"]
        assert snapshot["customers"][0]["sales"] == 1
        assert snapshot["links"][0]["sales"] == 1 and snapshot["links"][0]["saleAmount"] == 1200


def test_threads_of_two_instances_record_one_sale_per_invoice(
    pair: tuple[MockApp, MockApp],
) -> None:
    Client(pair[0]).post("/__mock/customers", json={"externalId": "race"})
    for invoice in ("INV-a", "INV-b", "INV-c"):
        answers: list[tuple[int, Any]] = []
        barrier = threading.Barrier(24)

        def send(app: MockApp, barrier: threading.Barrier, answers: list[Any], inv: str) -> None:
            client = Client(app)
            barrier.wait()
            answers.append(sale(client, customerExternalId="race", amount=500, invoiceId=inv))

        threads = [
            threading.Thread(target=send, args=(pair[i % 2], barrier, answers, invoice))
            for i in range(24)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(answers) == 24
        assert {status for status, _ in answers} == {200}
        assert all(body == answers[0][1] for _, body in answers)
    sales = Client(pair[1]).get("/__mock/state").get_json()["sales"]
    assert sorted(s["invoiceId"] for s in sales) == ["INV-a", "INV-b", "INV-c"]


def test_insertion_order_survives_upserts(pair: tuple[MockApp, MockApp]) -> None:
    client = Client(pair[0])
    for name in ("c", "a", "b"):
        client.post("/__mock/customers", json={"externalId": name, "lead": False})
    client.post("/__mock/customers", json={"externalId": "c", "name": "Renamed", "lead": False})
    customers = client.get("/__mock/state").get_json()["customers"]
    assert [c["externalId"] for c in customers] == ["c", "a", "b"]
    assert customers[0]["name"] == "Renamed"


def test_reset_from_one_instance_is_seen_by_the_other(pair: tuple[MockApp, MockApp]) -> None:
    first, second = pair
    Client(first).post("/__mock/customers", json={"externalId": "gone"})
    Client(first).put("/__mock/fx-rates", json={"EUR": 2.0})
    Client(first).post("/__mock/faults", json={"status": 503})
    assert Client(second).post("/__mock/reset").status_code == 200
    snapshot = Client(first).get("/__mock/state").get_json()
    assert snapshot["customers"] == [] and snapshot["links"] == []
    assert [w["id"] for w in snapshot["workspaces"]] == ["ws_mock"]
    assert Client(first).get("/__mock/fx-rates").get_json()["EUR"] != 2.0
    status, _ = sale(Client(first), customerExternalId="nobody", amount=1)
    assert status == 200  # the fault was dropped by the reset


def test_a_failed_unit_of_work_writes_nothing(pair: tuple[MockApp, MockApp]) -> None:
    first, _ = pair
    before = first.store.snapshot()
    with pytest.raises(RuntimeError), first.store.transaction() as view:
        view.put_link({"id": "link_half", "workspaceId": "ws_mock", "disabled": False})
        assert view.link("link_half") is not None  # reads see the unit's own writes
        raise RuntimeError("boom")
    assert first.store.snapshot() == before
    with first.store.transaction() as view:  # and the lock was released
        assert view.link("link_half") is None


def test_a_commit_after_losing_the_lock_is_refused(
    pair: tuple[MockApp, MockApp], redis_server: RedisProcess
) -> None:
    """A holder that stalled past the lock's expiry must not write over its successor."""
    store = pair[0].store
    assert isinstance(store, RedisStore)
    raw = redis.Redis.from_url(redis_server.url)
    try:
        before = store.snapshot()
        with pytest.raises(StoreError, match="lock expired"), store.transaction() as view:
            view.put_link({"id": "link_late", "workspaceId": "ws_mock", "disabled": False})
            # The lock expires and another instance takes it, as after a long stall.
            raw.set(store.keys.lock, "someone-else", px=5000)
        assert store.snapshot() == before
        assert raw.get(store.keys.lock) == b"someone-else"  # the successor keeps its lock
        raw.delete(store.keys.lock)
    finally:
        raw.close()


def test_faults_and_rate_windows_are_counted_across_instances(redis_url: str) -> None:
    first = create_app(state=redis_url, quiet=True)
    second = create_app(state=redis_url, quiet=True)
    try:
        Client(first).post("/__mock/tokens", json={"token": "dub_few", "rateLimitPerMinute": 3})
        statuses = [
            Client(app).post("/track/sale", json={}, headers={"Authorization": "Bearer dub_few"})
            for app in (first, second, first, second)
        ]
        assert [s.status_code for s in statuses] == [422, 422, 422, 429]
        assert [s.headers["X-RateLimit-Remaining"] for s in statuses] == ["2", "1", "0", "0"]
        Client(second).post("/__mock/faults", json={"status": 502, "count": 3})
        faulted = [Client(app).post("/track/sale", json={}, headers=AUTH) for app in (first,) * 2]
        faulted += [Client(second).post("/track/sale", json={}, headers=AUTH) for _ in range(2)]
        assert [f.status_code for f in faulted] == [502, 502, 502, 422]
    finally:
        first.store.close()
        second.store.close()


def test_initialise_runs_once_for_many_instances(redis_url: str) -> None:
    apps: list[MockApp] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        apps.append(create_app(state=redis_url, quiet=True, tokens=("dub_extra",)))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert len(apps) == 6
        tokens = apps[0].store.snapshot()["tokens"]
        assert sorted(t["token"] for t in tokens) == ["dub_extra", "dub_mock_key"]
    finally:
        for app in apps:
            app.store.close()


def test_journal_is_shared_and_bounded(redis_url: str) -> None:
    first = create_app(state=redis_url, quiet=True, journal_limit=5)
    second = create_app(state=redis_url, quiet=True, journal_limit=5)
    try:
        for i in range(8):
            Client((first, second)[i % 2]).post(f"/track/sale?n={i}", json={}, headers=AUTH)
        journal = Client(first).get("/__mock/requests").get_json()
        assert [entry["query"] for entry in journal] == [f"n={i}" for i in range(3, 8)]
        assert all(entry["requestHeaders"]["Authorization"] == "[redacted]" for entry in journal)
    finally:
        first.store.close()
        second.store.close()


@pytest.mark.parametrize(
    "url, message",
    [
        ("redis://127.0.0.1:1/0", "cannot reach Redis"),
        ("redis://127.0.0.1:6379/zero", "database is a number"),
        ("redis://127.0.0.1:6379/0?prefix=bad*prefix", "bad Redis key prefix"),
        ("redis://:s3cret@127.0.0.1:1/0", "***"),
    ],
    ids=["unreachable", "bad-db", "bad-prefix", "password-hidden"],
)
def test_bad_urls_fail_fast_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert message in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_wiped_redis_is_rebuilt_to_the_start_state(
    pair: tuple[MockApp, MockApp], redis_server: RedisProcess
) -> None:
    first, second = pair
    Client(first).post("/__mock/customers", json={"externalId": "before-the-wipe"})
    assert isinstance(first.store, RedisStore)
    raw = redis.Redis.from_url(redis_server.url)
    try:
        doomed = list(raw.scan_iter(match=first.store.keys.prefix + "*"))
        assert doomed and raw.delete(*doomed) == len(doomed)  # as a FLUSHDB or a restart would
    finally:
        raw.close()
    status, body = sale(Client(second), customerExternalId="nobody", amount=100)
    assert status == 200, body  # the default token works again: the start state is back
    snapshot = Client(first).get("/__mock/state").get_json()
    assert snapshot["customers"] == [] and [w["id"] for w in snapshot["workspaces"]] == ["ws_mock"]


def test_a_redis_outage_answers_500_envelopes_and_service_resumes(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    own = RedisProcess(redis_server.binary, tmp_path).start()
    try:
        with MockServer(state=own.url, quiet=True) as server:
            body = {"customerExternalId": "nobody", "amount": 1}
            assert request(server.url, "POST", "/track/sale", body, headers=AUTH)[0] == 200
            port = own.port
            own.stop()
            started = time.monotonic()
            status, answer = request(server.url, "POST", "/track/sale", body, headers=AUTH)
            assert status == 500 and answer["error"]["code"] == "internal_server_error"
            assert time.monotonic() - started < 10
            assert own.start_on(port)
            status, answer = request(server.url, "POST", "/track/sale", body, headers=AUTH)
            assert status == 200, answer  # rebuilt on the empty server, as at start-up
    finally:
        own.stop()


def test_a_commit_retried_after_a_lost_reply_is_reported_done_and_not_applied_twice(
    pair: tuple[MockApp, MockApp],
) -> None:
    """redis-py retries a command whose reply was lost; the commit script must be idempotent."""
    store = pair[0].store
    assert isinstance(store, RedisStore)
    keys = store.keys
    assert store._acquire(keys=[keys.lock, keys.meta], args=["tok", 5000]) == 1
    args = ["tok", 30_000, "R", keys.sales, b'{"invoiceId": "retried"}']
    assert store._commit(keys=[keys.lock, keys.commit_mark], args=args) == 1
    assert store._commit(keys=[keys.lock, keys.commit_mark], args=args) == 1  # the retry
    assert [s["invoiceId"] for s in store.snapshot()["sales"]] == ["retried"]
    other = ["other", 30_000, "R", keys.sales, b'{"invoiceId": "never"}']
    assert store._commit(keys=[keys.lock, keys.commit_mark], args=other) == 0  # no lock held
    assert [s["invoiceId"] for s in store.snapshot()["sales"]] == ["retried"]
