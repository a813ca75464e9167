"""Group commit under `dub-mock serve` with SQLite: the requests of one turn of the event loop
share one commit, and none of them is answered before it (or, if it fails, answered 200)."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mockserver import create_app
from mockserver.groupcommit import CommitFailed, GroupCommit
from mockserver.rsgi import RsgiFront
from mockserver.store.sqlite import SqliteStore

SEED = {"customers": [{"externalId": "buyer"}]}


def sale_environ(invoice: str) -> dict[str, Any]:
    body = json.dumps({"customerExternalId": "buyer", "amount": 100, "invoiceId": invoice})
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/track/sale", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8787", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": "Bearer dub_mock_key", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body.encode()),
    }  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_ten_sales_ready_in_one_turn_share_one_commit(db: Path) -> None:
    front = RsgiFront(create_app(state=f"sqlite:///{db}", seed_data=SEED), threads=1)
    store = front.app.store
    assert isinstance(store, SqliteStore)
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)  # SQLite's own statement trace

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(front._answer_on_loop(sale_environ(f"INV-{n}")) for n in range(10))
        )

    answers = asyncio.run(burst())
    assert [status for status, _, _ in answers] == [200] * 10
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE", "COMMIT"
    ]  # one transaction, one commit, for the ten  # fmt: skip
    state = front.app.store.snapshot()
    assert sorted(s["invoiceId"] for s in state["sales"]) == sorted(f"INV-{n}" for n in range(10))
    front.app.close()


def test_no_answer_is_given_before_the_commit(db: Path) -> None:
    front = RsgiFront(create_app(state=f"sqlite:///{db}", seed_data=SEED), threads=1)
    watcher = sqlite3.connect(db)

    def sales_seen() -> int:
        return int(watcher.execute("SELECT count(*) FROM sales").fetchone()[0])

    async def run() -> None:
        task = asyncio.ensure_future(front._answer_on_loop(sale_environ("INV-early")))
        await asyncio.sleep(0)  # the request runs its work and waits for the commit
        assert not task.done() and sales_seen() == 0
        status, _, _ = await task
        assert status == 200 and sales_seen() == 1

    asyncio.run(run())
    watcher.close()
    front.app.close()


def test_a_failed_commit_fails_every_request_of_its_batch_and_keeps_nothing(db: Path) -> None:
    app = create_app(state=f"sqlite:///{db}", seed_data=SEED)
    store = app.store
    assert isinstance(store, SqliteStore)
    connection = store._connection()
    connection.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);"
        "PRAGMA foreign_keys = ON;"
    )
    batch = GroupCommit(store, lambda: None)

    def sale() -> bytes:
        return b"".join(app.finish(env := sale_environ("INV-lost"), app.begin(env), _ignore))

    def broken() -> None:  # checked only at COMMIT: the whole batch's commit fails
        connection.execute("INSERT INTO child (parent) VALUES (42)")

    async def run() -> list[Any]:
        return await asyncio.gather(batch.run(sale), batch.run(broken), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert all(isinstance(outcome, CommitFailed) for outcome in outcomes)
    assert store.snapshot()["sales"] == []
    app.close()


def _ignore(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None
