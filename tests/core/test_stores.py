"""Every store keeps the same promises: exactly-once per invoice, atomic admin writes, reset."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from mockserver import create_app
from mockserver.app import MockApp
from mockserver.errors import StoreError
from mockserver.store import open_store

AUTH = {"Authorization": "Bearer dub_mock_key"}


@pytest.fixture(params=["memory", "sqlite"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/state.db"


@pytest.fixture
def app(state_url: str) -> Iterator[MockApp]:
    app = create_app(state=state_url, quiet=True, rate_limit=False)
    yield app
    app.store.close()


def sale(client: Client, **body: Any) -> Any:
    response = client.post("/track/sale", json=body, headers=AUTH)
    return response.status_code, response.get_json()


def test_concurrent_requests_on_one_invoice_record_one_sale(app: MockApp) -> None:
    client = Client(app)
    client.post("/__mock/customers", json={"externalId": "race"})
    answers: list[Any] = []
    barrier = threading.Barrier(16)

    def send() -> None:
        local = Client(app)
        barrier.wait()
        answers.append(sale(local, customerExternalId="race", amount=700, invoiceId="INV-race"))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 16
    assert {status for status, _ in answers} == {200}
    assert all(body == answers[0][1] for _, body in answers)
    sales = client.get("/__mock/state").get_json()["sales"]
    assert [s["invoiceId"] for s in sales] == ["INV-race"]


def test_replayed_invoice_answers_the_stored_response_whatever_the_body(app: MockApp) -> None:
    client = Client(app)
    client.post("/__mock/customers", json={"externalId": "c1"})
    first = sale(client, customerExternalId="c1", amount=100, invoiceId="INV-1")
    again = sale(client, customerExternalId="c1", amount=999, invoiceId="INV-1", eventName="x")
    assert first == again
    assert len(client.get("/__mock/state").get_json()["sales"]) == 1


def test_reset_returns_to_the_start_state(state_url: str, tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("customers:\n  - externalId: seeded\n", encoding="utf-8")
    app = create_app(state=state_url, seed=str(seed), tokens=("dub_extra",), quiet=True)
    client = Client(app)
    client.post("/__mock/customers", json={"externalId": "later"})
    client.post("/__mock/tokens", json={"token": "dub_later"})
    client.put("/__mock/fx-rates", json={"EUR": 2.0})
    sale(client, customerExternalId="seeded", amount=100)
    assert client.post("/__mock/reset").status_code == 200
    state = client.get("/__mock/state").get_json()
    assert [c["externalId"] for c in state["customers"]] == ["seeded"]
    assert len(state["tokens"]) == 2  # dub_mock_key and dub_extra; dub_later is gone
    assert state["sales"] == []
    assert client.get("/__mock/fx-rates").get_json()["EUR"] != 2.0
    assert client.get("/__mock/requests").get_json() == []
    app.store.close()


def test_sqlite_state_survives_a_restart_and_is_not_reseeded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/keep.db"
    first = create_app(state=url, quiet=True)
    client = Client(first)
    client.post("/__mock/customers", json={"externalId": "kept"})
    assert sale(client, customerExternalId="kept", amount=250, invoiceId="INV-k")[0] == 200
    first.store.close()

    second = create_app(state=url, quiet=True)
    client = Client(second)
    state = client.get("/__mock/state").get_json()
    assert [s["amount"] for s in state["sales"]] == [250]
    assert len(state["workspaces"]) == 1
    assert (
        sale(client, customerExternalId="kept", amount=1, invoiceId="INV-k")[1]["sale"]["amount"]
        == 250
    )
    assert len(client.get("/__mock/state").get_json()["sales"]) == 1
    second.store.close()


def test_failed_admin_write_changes_nothing(app: MockApp) -> None:
    client = Client(app)
    before = client.get("/__mock/state").get_json()
    response = client.post("/__mock/customers", json={"externalId": "x", "workspaceId": "ws_no"})
    assert response.status_code == 404
    assert client.get("/__mock/state").get_json() == before


def test_sqlite_request_scope_commits_once_and_a_failed_unit_undoes_only_itself(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/scope.db"
    store, observer = open_store(url), open_store(url)
    store.initialise(lambda view: None, {})
    with store.request_scope():
        store.hit_rate_limit("dub_t", 1_000, 60_000)
        with pytest.raises(RuntimeError), store.transaction() as view:
            view.put_workspace({"id": "ws_half", "plan": "free"})
            raise RuntimeError("half-way")
        store.log_request({"path": "/x"}, 10)
        assert observer.requests() == []  # nothing is visible before the request's one commit
    assert [w["id"] for w in store.snapshot()["workspaces"]] == []
    assert [entry["path"] for entry in observer.requests()] == ["/x"]
    assert store.hit_rate_limit("dub_t", 2_000, 60_000)[0] == 2  # the first count was kept
    store.close()
    observer.close()


@pytest.mark.parametrize(
    "url",
    ["postgres://x", "sqlite://relative.db", "sqlite:///x.db?bogus=1"],
    ids=["scheme", "two-slashes", "option"],
)
def test_bad_state_urls_are_refused_with_the_fix(url: str) -> None:
    with pytest.raises(StoreError, match=r"sqlite|memory"):
        open_store(url)
