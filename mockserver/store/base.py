"""The state-store interface: what the tracking logic and the admin API may ask of any backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..models import Record

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000
#: The record kinds `/__mock/state` lists, in this order.
SNAPSHOT_KINDS = (
    "workspaces", "tokens", "publishableKeys", "webhooks", "links", "clicks", "customers",
    "leads", "sales",
)  # fmt: skip
#: The webhook event and delivery logs keep this many of their newest entries.
WEBHOOK_LOG_LIMIT = 10_000


class StateView(Protocol):
    """Reads and writes of the domain records, valid only inside `Store.transaction()`.

    Records are camelCase dicts; a getter's result may be the stored object itself, so callers
    change a record and then `put_*` it (a no-op for the memory store, a write for others).
    """

    def workspace(self, workspace_id: str) -> Record | None: ...
    def token(self, token: str) -> Record | None: ...
    def link(self, link_id: str) -> Record | None: ...
    def click(self, click_id: str) -> Record | None: ...
    def link_by_key(self, domain: str, key: str) -> Record | None: ...
    def publishable_key(self, key: str) -> Record | None: ...
    def customer(self, workspace_id: str, external_id: str) -> Record | None: ...
    def latest_lead(self, customer_id: str, event_name: str | None) -> Record | None: ...
    def sale_response(
        self, workspace_id: str, invoice_id: str, since_ms: int
    ) -> dict[str, Any] | None: ...

    def put_workspace(self, record: Record) -> None: ...
    def put_token(self, record: Record) -> None: ...
    def add_link(self, record: Record) -> None:
        """Store a new link; its (domain, key) then finds it through `link_by_key`."""

    def put_link(self, record: Record) -> None:
        """Store a changed link (its counters); its domain and key stay as they were."""

    def put_publishable_key(self, record: Record) -> None: ...
    def put_click(self, record: Record) -> None: ...
    def put_customer(self, record: Record) -> None: ...
    def put_lead(self, record: Record) -> None: ...
    def put_sale(self, record: Record, response: dict[str, Any], now_ms: int) -> None:
        """Store the sale and, when it has an invoiceId, the answer replayed for that invoice."""

    def held_key(self, name: str, now_ms: int) -> str | None:
        """The value a dedup key holds until it expires (a click's id, say), else None."""

    def hold_key(self, name: str, value: str, expires_ms: int) -> None:
        """Take a dedup key. With `held_key` in one transaction: of N simultaneous requests
        one takes it, the others see it held."""

    # -- webhooks: endpoints, the event log and the outbox of pending deliveries ---------
    def webhooks(self, workspace_id: str) -> list[Record]: ...
    def webhook(self, webhook_id: str) -> Record | None: ...
    def put_webhook(self, record: Record) -> None: ...
    def delete_webhook(self, webhook_id: str) -> bool: ...
    def event(self, event_id: str) -> Record | None: ...
    def put_event(self, record: Record) -> None:
        """Add or update an event of the log (the body sent, its endpoints, who got it)."""

    def put_pending(self, record: Record) -> None:
        """Queue (or re-queue) one delivery, keyed by `record["key"]`, to be tried from
        `record["availableMs"]` on."""

    def due_pending(self, now_ms: int, limit: int) -> list[Record]:
        """Up to `limit` queued deliveries available at `now_ms`, soonest first."""

    def pending(self, key: str) -> Record | None:
        """The queued delivery under `key`, leased or not; None once done or reset away."""

    def drop_pending(self, key: str) -> None: ...
    def put_delivery(self, record: Record) -> None:
        """Log one delivery attempt."""


class Store(Protocol):
    """A backend (`memory://`, `sqlite:///...`, `redis://...`); every method is thread-safe."""

    url: str

    def transaction(self) -> AbstractContextManager[StateView]:
        """One atomic, isolated unit of work: all of it is stored, or none of it."""

    def request_scope(self) -> AbstractContextManager[None]:
        """Everything one request writes (its rate-limit count, sale and journal entry) in one
        commit, where that saves work; each unit of work inside stays atomic on its own."""

    def initialise(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> bool:
        """Run `build` on an empty store once, even with many processes; True if it ran."""

    def reset(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> None:
        """Drop every record, counter, fault and journal entry, then run `build`."""

    def principal(self, token: str) -> tuple[Record, Record] | None:
        """The token's record and its workspace's, read without a write lock (the hot path)."""

    def publishable_principal(self, key: str) -> tuple[Record, Record] | None:
        """A publishable key's record and its workspace's, read as `principal` reads."""

    def snapshot(self) -> dict[str, list[Record]]:
        """Every domain record by kind (workspaces, tokens, publishableKeys, links, ... sales)."""

    def hit_rate_limit(self, token: str, now_ms: int, window_ms: int) -> tuple[int, int]:
        """Count one request for `token`; (requests in the window, window end in ms).

        The window is fixed and opens with the token's first request after the last one ended.
        """

    def push_fault(self, status: int | None, count: int, delay_ms: int) -> None: ...

    def pop_fault(self) -> tuple[int | None, int] | None:
        """Use up one unit of the oldest fault: (status or None, delay ms), or None."""

    def fx_rates(self) -> dict[str, float]: ...
    def set_fx_rates(self, rates: dict[str, float]) -> None: ...

    def log_request(self, entry: dict[str, Any], limit: int) -> None:
        """Append to the journal, keeping the newest `limit` entries."""

    def requests(self) -> list[dict[str, Any]]: ...

    def next_delivery_ms(self) -> int | None:
        """When the soonest queued delivery becomes available (None: nothing queued); read
        without a lock, so an idle deliverer can poll it cheaply."""

    def events(self) -> list[Record]:
        """The webhook event log, oldest first."""

    def deliveries(self) -> list[Record]:
        """Every logged delivery attempt, oldest first."""

    def close(self) -> None: ...


def latest_lead(newest_first: Iterable[Record], event_name: str | None) -> Record | None:
    """The first of a customer's leads, newest first, or the first with that exact name."""
    for lead in newest_first:
        if event_name is None or lead["eventName"] == event_name:
            return lead
    return None
