"""`sqlite:///path.db`: state in one SQLite file, shared by the workers of one machine.

Every unit of work runs in `BEGIN IMMEDIATE`, so the invoice check and the sale insert are one
atomic step across threads and processes. WAL mode with `synchronous=NORMAL` makes a committed
sale survive `kill -9` of the server; add `?synchronous=full` to the URL to survive power loss too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from ..errors import StoreError
from ..models import Record
from .base import SNAPSHOT_KINDS, WEBHOOK_LOG_LIMIT, StateView

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS publishable_keys (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS link_keys (
    domain TEXT NOT NULL, key TEXT NOT NULL, link_id TEXT NOT NULL, PRIMARY KEY (domain, key));
CREATE TABLE IF NOT EXISTS held_keys (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clicks (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, external_id TEXT NOT NULL,
    data BLOB NOT NULL, UNIQUE (workspace_id, external_id));
CREATE TABLE IF NOT EXISTS leads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT NOT NULL, event_name TEXT NOT NULL,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS leads_by_customer ON leads (customer_id, seq);
CREATE TABLE IF NOT EXISTS sales (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (
    workspace_id TEXT NOT NULL, invoice_id TEXT NOT NULL, response BLOB NOT NULL,
    recorded_ms INTEGER NOT NULL, PRIMARY KEY (workspace_id, invoice_id));
CREATE TABLE IF NOT EXISTS rate_windows (
    token TEXT PRIMARY KEY, count INTEGER NOT NULL, ends_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, status INTEGER, remaining INTEGER NOT NULL,
    delay_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fx_rates (code TEXT PRIMARY KEY, rate REAL NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    key TEXT PRIMARY KEY, available_ms INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending (available_ms);
"""

TABLES = (
    "workspaces", "tokens", "publishable_keys", "links", "link_keys", "held_keys", "clicks",
    "customers", "leads", "sales", "invoices", "rate_windows", "faults", "fx_rates", "journal",
    "webhooks", "events", "deliveries", "pending",
)  # fmt: skip
#: `/__mock/state`'s kinds and the tables that hold them.
SNAPSHOT_TABLES = {kind: kind for kind in SNAPSHOT_KINDS} | {"publishableKeys": "publishable_keys"}


def _load(blob: bytes | str) -> Record:
    data: Record = orjson.loads(blob)
    return data


class SqliteView:
    """StateView as SQL on one connection inside an open transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def _one(self, sql: str, *args: Any) -> Record | None:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else _load(row[0])

    def workspace(self, workspace_id: str) -> Record | None:
        return self._one("SELECT data FROM workspaces WHERE id = ?", workspace_id)

    def token(self, token: str) -> Record | None:
        return self._one("SELECT data FROM tokens WHERE token = ?", token)

    def link(self, link_id: str) -> Record | None:
        return self._one("SELECT data FROM links WHERE id = ?", link_id)

    def click(self, click_id: str) -> Record | None:
        return self._one("SELECT data FROM clicks WHERE id = ?", click_id)

    def link_by_key(self, domain: str, key: str) -> Record | None:
        return self._one(
            "SELECT l.data FROM link_keys k JOIN links l ON l.id = k.link_id "
            "WHERE k.domain = ? AND k.key = ?",
            domain,
            key,
        )

    def publishable_key(self, key: str) -> Record | None:
        return self._one("SELECT data FROM publishable_keys WHERE key = ?", key)

    def customer(self, workspace_id: str, external_id: str) -> Record | None:
        return self._one(
            "SELECT data FROM customers WHERE workspace_id = ? AND external_id = ?",
            workspace_id,
            external_id,
        )

    def latest_lead(self, customer_id: str, event_name: str | None) -> Record | None:
        if event_name is None:
            return self._one(
                "SELECT data FROM leads WHERE customer_id = ? ORDER BY seq DESC LIMIT 1",
                customer_id,
            )
        return self._one(
            "SELECT data FROM leads WHERE customer_id = ? AND event_name = ? "
            "ORDER BY seq DESC LIMIT 1",
            customer_id,
            event_name,
        )

    def sale_response(
        self, workspace_id: str, invoice_id: str, since_ms: int
    ) -> dict[str, Any] | None:
        return self._one(
            "SELECT response FROM invoices WHERE workspace_id = ? AND invoice_id = ? "
            "AND recorded_ms >= ?",
            workspace_id,
            invoice_id,
            since_ms,
        )

    def _put(self, table: str, key: str, record: Record) -> None:
        self._db.execute(
            f"INSERT INTO {table} (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (record[key], orjson.dumps(record)),
        )

    def put_workspace(self, record: Record) -> None:
        self._put("workspaces", "id", record)

    def put_token(self, record: Record) -> None:
        self._db.execute(
            "INSERT INTO tokens (token, data) VALUES (?, ?) "
            "ON CONFLICT (token) DO UPDATE SET data = excluded.data",
            (record["token"], orjson.dumps(record)),
        )

    def add_link(self, record: Record) -> None:
        self._put("links", "id", record)
        self._db.execute(
            "INSERT OR REPLACE INTO link_keys (domain, key, link_id) VALUES (?, ?, ?)",
            (record["domain"], record["key"], record["id"]),
        )

    def put_link(self, record: Record) -> None:
        self._put("links", "id", record)

    def put_publishable_key(self, record: Record) -> None:
        self._db.execute(
            "INSERT INTO publishable_keys (key, data) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
            (record["key"], orjson.dumps(record)),
        )

    def put_click(self, record: Record) -> None:
        self._put("clicks", "id", record)

    def put_customer(self, record: Record) -> None:
        self._db.execute(
            "INSERT INTO customers (id, workspace_id, external_id, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (record["id"], record["workspaceId"], record["externalId"], orjson.dumps(record)),
        )

    def put_lead(self, record: Record) -> None:
        self._db.execute(
            "INSERT INTO leads (customer_id, event_name, data) VALUES (?, ?, ?)",
            (record["customerId"], record["eventName"], orjson.dumps(record)),
        )

    def put_sale(self, record: Record, response: dict[str, Any], now_ms: int) -> None:
        self._db.execute("INSERT INTO sales (data) VALUES (?)", (orjson.dumps(record),))
        if record["invoiceId"] is not None:
            self._db.execute(
                "INSERT INTO invoices (workspace_id, invoice_id, response, recorded_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET response = excluded.response, "
                "recorded_ms = excluded.recorded_ms",
                (record["workspaceId"], record["invoiceId"], orjson.dumps(response), now_ms),
            )

    def held_key(self, name: str, now_ms: int) -> str | None:
        row = self._db.execute(
            "SELECT value FROM held_keys WHERE name = ? AND expires_ms > ?", (name, now_ms)
        ).fetchone()
        return None if row is None else str(row[0])

    def hold_key(self, name: str, value: str, expires_ms: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO held_keys (name, value, expires_ms) VALUES (?, ?, ?)",
            (name, value, expires_ms),
        )

    def webhooks(self, workspace_id: str) -> list[Record]:
        rows = self._db.execute(
            "SELECT data FROM webhooks WHERE workspace_id = ? ORDER BY rowid", (workspace_id,)
        )
        return [_load(row[0]) for row in rows]

    def webhook(self, webhook_id: str) -> Record | None:
        return self._one("SELECT data FROM webhooks WHERE id = ?", webhook_id)

    def put_webhook(self, record: Record) -> None:
        self._db.execute(
            "INSERT INTO webhooks (id, workspace_id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (record["id"], record["workspaceId"], orjson.dumps(record)),
        )

    def delete_webhook(self, webhook_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
        return cursor.rowcount > 0

    def event(self, event_id: str) -> Record | None:
        return self._one("SELECT data FROM events WHERE id = ?", event_id)

    def put_event(self, record: Record) -> None:
        cursor = self._db.execute(
            "INSERT INTO events (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (record["id"], orjson.dumps(record)),
        )
        _trim(self._db, "events", cursor.lastrowid)

    def put_pending(self, record: Record) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pending (key, available_ms, data) VALUES (?, ?, ?)",
            (record["key"], record["availableMs"], orjson.dumps(record)),
        )

    def due_pending(self, now_ms: int, limit: int) -> list[Record]:
        rows = self._db.execute(
            "SELECT data FROM pending WHERE available_ms <= ? ORDER BY available_ms LIMIT ?",
            (now_ms, limit),
        )
        return [_load(row[0]) for row in rows]

    def pending(self, key: str) -> Record | None:
        return self._one("SELECT data FROM pending WHERE key = ?", key)

    def drop_pending(self, key: str) -> None:
        self._db.execute("DELETE FROM pending WHERE key = ?", (key,))

    def put_delivery(self, record: Record) -> None:
        cursor = self._db.execute(
            "INSERT INTO deliveries (data) VALUES (?)", (orjson.dumps(record),)
        )
        _trim(self._db, "deliveries", cursor.lastrowid)


def _trim(db: sqlite3.Connection, table: str, last_seq: int | None) -> None:
    """Keep a log's newest WEBHOOK_LOG_LIMIT rows, trimming now and then, not every time."""
    oldest_kept = (last_seq or 0) - WEBHOOK_LOG_LIMIT
    if oldest_kept > 0 and oldest_kept % 100 == 0:
        db.execute(f"DELETE FROM {table} WHERE seq <= ?", (oldest_kept,))


class SqliteStore:
    """Durable, multi-process state in one file; one connection per thread."""

    def __init__(self, url: str, journal_limit: int = 1000) -> None:
        self.url = url
        self._path, self._synchronous = _parse_url(url)
        self._local = threading.local()
        self._journal_limit = journal_limit
        try:
            self._connection().executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite state at {self._path!r}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._local.db = db
        return db

    @contextmanager
    def _write(self, *, atomic: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction. Inside `request_scope` it joins the request's transaction; an
        `atomic` unit (several statements) then gets a savepoint, so a failure undoes it alone.
        """
        db = self._connection()
        if db.in_transaction and not atomic:
            yield db  # one statement: atomic by itself
            return
        if db.in_transaction:
            db.execute("SAVEPOINT unit")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK TO unit")
                db.execute("RELEASE unit")
                raise
            db.execute("RELEASE unit")
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """One write transaction, and one commit, for everything a request writes.

        SQLite has one writer: three transactions per sale (counter, sale, journal) meant
        three waits for the write lock and three commits; one means one.
        """
        with self._write():
            yield

    def begin_batch(self) -> None:
        """Open a write transaction that several requests share (see `groupcommit`); the
        request scopes and units inside it only add savepoints."""
        self._connection().execute("BEGIN IMMEDIATE")

    def commit_batch(self) -> None:
        self._connection().execute("COMMIT")

    def rollback_batch(self) -> None:
        db = self._connection()
        if db.in_transaction:
            db.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[StateView]:
        with self._write(atomic=True) as db:
            yield SqliteView(db)

    def initialise(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> bool:
        with self._write(atomic=True) as db:
            if db.execute("SELECT 1 FROM meta WHERE key = 'initialised'").fetchone():
                return False
            self._rebuild(db, build, fx_rates)
            return True

    def reset(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> None:
        with self._write(atomic=True) as db:
            self._rebuild(db, build, fx_rates)

    def _rebuild(
        self, db: sqlite3.Connection, build: Callable[[StateView], None], fx: dict[str, float]
    ) -> None:
        for table in TABLES:
            db.execute(f"DELETE FROM {table}")
        db.executemany("INSERT INTO fx_rates (code, rate) VALUES (?, ?)", fx.items())
        build(SqliteView(db))
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('initialised', '1')")

    def principal(self, token: str) -> tuple[Record, Record] | None:
        return self._with_workspace("SELECT data FROM tokens WHERE token = ?", token)

    def publishable_principal(self, key: str) -> tuple[Record, Record] | None:
        return self._with_workspace("SELECT data FROM publishable_keys WHERE key = ?", key)

    def _with_workspace(self, select: str, key: str) -> tuple[Record, Record] | None:
        """The record `select` finds, joined with its workspace, in one statement."""
        row = (
            self._connection()
            .execute(
                f"SELECT t.data, w.data FROM ({select}) t JOIN workspaces w "
                "ON w.id = json_extract(t.data, '$.workspaceId')",
                (key,),
            )
            .fetchone()
        )
        return None if row is None else (_load(row[0]), _load(row[1]))

    def snapshot(self) -> dict[str, list[Record]]:
        with self._write() as db:
            return {
                kind: [
                    _load(row[0]) for row in db.execute(f"SELECT data FROM {table} ORDER BY rowid")
                ]
                for kind, table in SNAPSHOT_TABLES.items()
            }

    def hit_rate_limit(self, token: str, now_ms: int, window_ms: int) -> tuple[int, int]:
        with self._write() as db:
            row = db.execute(
                "INSERT INTO rate_windows (token, count, ends_ms) VALUES (?, 1, ?) "
                "ON CONFLICT (token) DO UPDATE SET "
                "count = CASE WHEN ? >= ends_ms THEN 1 ELSE count + 1 END, "
                "ends_ms = CASE WHEN ? >= ends_ms THEN excluded.ends_ms ELSE ends_ms END "
                "RETURNING count, ends_ms",
                (token, now_ms + window_ms, now_ms, now_ms),
            ).fetchone()
            return int(row[0]), int(row[1])

    def push_fault(self, status: int | None, count: int, delay_ms: int) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO faults (status, remaining, delay_ms) VALUES (?, ?, ?)",
                (status, count, delay_ms),
            )

    def pop_fault(self) -> tuple[int | None, int] | None:
        db = self._connection()
        if db.execute("SELECT 1 FROM faults LIMIT 1").fetchone() is None:
            return None
        with self._write(atomic=True) as db:
            row = db.execute(
                "SELECT seq, status, remaining, delay_ms FROM faults ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            seq, status, remaining, delay_ms = row
            if remaining <= 1:
                db.execute("DELETE FROM faults WHERE seq = ?", (seq,))
            else:
                db.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (seq,))
            return status, int(delay_ms)

    def fx_rates(self) -> dict[str, float]:
        rows = self._connection().execute("SELECT code, rate FROM fx_rates").fetchall()
        return {code: rate for code, rate in rows}

    def set_fx_rates(self, rates: dict[str, float]) -> None:
        with self._write(atomic=True) as db:
            db.executemany(
                "INSERT INTO fx_rates (code, rate) VALUES (?, ?) "
                "ON CONFLICT (code) DO UPDATE SET rate = excluded.rate",
                rates.items(),
            )

    def log_request(self, entry: dict[str, Any], limit: int) -> None:
        with self._write() as db:
            cursor = db.execute("INSERT INTO journal (data) VALUES (?)", (orjson.dumps(entry),))
            oldest_kept = (cursor.lastrowid or 0) - limit
            if oldest_kept > 0 and oldest_kept % 100 == 0:  # trim now and then, not every time
                db.execute("DELETE FROM journal WHERE seq <= ?", (oldest_kept,))

    def requests(self) -> list[dict[str, Any]]:
        rows = self._connection().execute(
            "SELECT data FROM journal ORDER BY seq DESC LIMIT ?", (self._journal_limit,)
        )
        return [_load(row[0]) for row in rows][::-1]

    def next_delivery_ms(self) -> int | None:
        row = self._connection().execute("SELECT MIN(available_ms) FROM pending").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def events(self) -> list[Record]:
        rows = self._connection().execute("SELECT data FROM events ORDER BY seq")
        return [_load(row[0]) for row in rows]

    def deliveries(self) -> list[Record]:
        rows = self._connection().execute("SELECT data FROM deliveries ORDER BY seq")
        return [_load(row[0]) for row in rows]

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _parse_url(url: str) -> tuple[str, str]:
    """sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy's convention), ?synchronous=."""
    rest = url[len("sqlite://") :]
    path, _, query = rest.partition("?")
    if not path.startswith("/") or len(path) < 2:
        raise StoreError(
            f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute/path.db"
        )
    path = path[1:]
    synchronous = "NORMAL"
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key == "synchronous" and value.upper() in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            synchronous = value.upper()
        else:
            raise StoreError(f"unknown SQLite URL option {part!r} in {url!r}")
    return path, synchronous
