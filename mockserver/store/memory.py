"""`memory://`: the whole state in dicts behind one lock; the fastest store, one process only."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ..models import Record
from .base import WEBHOOK_LOG_LIMIT, StateView, latest_lead


class _State:
    """Every table of the memory store; rebuilt whole on reset."""

    def __init__(self, fx_rates: dict[str, float], journal_limit: int = 1000) -> None:
        self.workspaces: dict[str, Record] = {}
        self.tokens: dict[str, Record] = {}
        self.publishable_keys: dict[str, Record] = {}
        self.links: dict[str, Record] = {}
        self.link_keys: dict[tuple[str, str], str] = {}
        # What a new lead or click stores is never tracked by the cycle collector: str keys,
        # str values, dicts of atomic values and ints. A tuple or list per record made the
        # collector run every few thousand leads, and run slower as the state grew.
        self.held_keys: dict[str, str] = {}  # name → "<expires ms>\x00<value>"
        self.clicks: dict[str, Record] = {}
        self.customers: dict[str, Record] = {}  # "<workspace>\x00<external id>" → customer
        self.leads: list[Record] = []
        # a customer's leads as a chain through `leads`: its newest lead's place, and for each
        # lead the place of the same customer's lead before it (-1: none)
        self.newest_lead_at: dict[str, int] = {}
        self.lead_before: list[int] = []
        # Sales and replayed answers are kept as compact JSON: a third of the memory of dicts,
        # and they are only ever read back whole.
        self.sales: list[str] = []
        self.invoices: dict[str, tuple[str, int]] = {}
        self.rate_windows: dict[str, list[int]] = {}
        self.faults: deque[list[int | None]] = deque()
        self.fx_rates = dict(fx_rates)
        self.journal: deque[dict[str, Any]] = deque(maxlen=journal_limit)
        self.webhooks: dict[str, Record] = {}
        # the newest WEBHOOK_LOG_LIMIT events; an OrderedDict drops its oldest in O(1), where a
        # dict's first key is found past every slot deleted before it (quadratic under load)
        self.events: OrderedDict[str, Record] = OrderedDict()
        self.deliveries: deque[Record] = deque(maxlen=WEBHOOK_LOG_LIMIT)
        self.pending: dict[str, Record] = {}
        # (available ms, order, key): a queued delivery's place; stale entries (re-queued or
        # dropped since) are skipped when they come up.
        self.pending_heap: list[tuple[int, int, str]] = []
        self.pending_order = itertools.count()
        self.initialised = False


def _compact(value: Any) -> str:
    """Compact JSON as str: orjson's bytes keep a whole allocation page each (4 KiB resident)."""
    return orjson.dumps(value).decode()


def _in_workspace(workspace_id: str, name: str) -> str:
    """A key unique within a workspace (an invoice id, a customer's external id) as one str."""
    return f"{workspace_id}\x00{name}"


class MemoryView:
    """StateView over the in-memory tables; records are the stored objects themselves."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def workspace(self, workspace_id: str) -> Record | None:
        return self._s.workspaces.get(workspace_id)

    def token(self, token: str) -> Record | None:
        return self._s.tokens.get(token)

    def link(self, link_id: str) -> Record | None:
        return self._s.links.get(link_id)

    def click(self, click_id: str) -> Record | None:
        return self._s.clicks.get(click_id)

    def link_by_key(self, domain: str, key: str) -> Record | None:
        link_id = self._s.link_keys.get((domain, key))
        return None if link_id is None else self._s.links.get(link_id)

    def publishable_key(self, key: str) -> Record | None:
        return self._s.publishable_keys.get(key)

    def customer(self, workspace_id: str, external_id: str) -> Record | None:
        return self._s.customers.get(_in_workspace(workspace_id, external_id))

    def latest_lead(self, customer_id: str, event_name: str | None) -> Record | None:
        return latest_lead(self._leads_newest_first(customer_id), event_name)

    def _leads_newest_first(self, customer_id: str) -> Iterator[Record]:
        leads, before = self._s.leads, self._s.lead_before
        at = self._s.newest_lead_at.get(customer_id, -1)
        while at >= 0:
            yield leads[at]
            at = before[at]

    def sale_response(
        self, workspace_id: str, invoice_id: str, since_ms: int
    ) -> dict[str, Any] | None:
        stored = self._s.invoices.get(_in_workspace(workspace_id, invoice_id))
        if stored is None or stored[1] < since_ms:
            return None
        answer: dict[str, Any] = orjson.loads(stored[0])
        return answer

    def put_workspace(self, record: Record) -> None:
        self._s.workspaces[record["id"]] = record

    def put_token(self, record: Record) -> None:
        self._s.tokens[record["token"]] = record

    def add_link(self, record: Record) -> None:
        self._s.links[record["id"]] = record
        self._s.link_keys[(record["domain"], record["key"])] = record["id"]

    def put_link(self, record: Record) -> None:
        self._s.links[record["id"]] = record

    def put_publishable_key(self, record: Record) -> None:
        self._s.publishable_keys[record["key"]] = record

    def put_click(self, record: Record) -> None:
        self._s.clicks[record["id"]] = record

    def put_customer(self, record: Record) -> None:
        self._s.customers[_in_workspace(record["workspaceId"], record["externalId"])] = record

    def put_lead(self, record: Record) -> None:
        s = self._s
        s.lead_before.append(s.newest_lead_at.get(record["customerId"], -1))
        s.newest_lead_at[record["customerId"]] = len(s.leads)
        s.leads.append(record)

    def put_sale(self, record: Record, response: dict[str, Any], now_ms: int) -> None:
        self._s.sales.append(_compact(record))
        if record["invoiceId"] is not None:
            key = _in_workspace(record["workspaceId"], record["invoiceId"])
            self._s.invoices[key] = (_compact(response), now_ms)

    def held_key(self, name: str, now_ms: int) -> str | None:
        held = self._s.held_keys.get(name)
        if held is None:
            return None
        expires_ms, _, value = held.partition("\x00")
        return value if int(expires_ms) > now_ms else None

    def hold_key(self, name: str, value: str, expires_ms: int) -> None:
        self._s.held_keys[name] = f"{expires_ms}\x00{value}"

    def webhooks(self, workspace_id: str) -> list[Record]:
        return [w for w in self._s.webhooks.values() if w["workspaceId"] == workspace_id]

    def webhook(self, webhook_id: str) -> Record | None:
        return self._s.webhooks.get(webhook_id)

    def put_webhook(self, record: Record) -> None:
        self._s.webhooks[record["id"]] = record

    def delete_webhook(self, webhook_id: str) -> bool:
        return self._s.webhooks.pop(webhook_id, None) is not None

    def event(self, event_id: str) -> Record | None:
        return self._s.events.get(event_id)

    def put_event(self, record: Record) -> None:
        events = self._s.events
        events[record["id"]] = record
        if len(events) > WEBHOOK_LOG_LIMIT:
            events.popitem(last=False)

    def put_pending(self, record: Record) -> None:
        self._s.pending[record["key"]] = record
        entry = (record["availableMs"], next(self._s.pending_order), record["key"])
        heapq.heappush(self._s.pending_heap, entry)

    def due_pending(self, now_ms: int, limit: int) -> list[Record]:
        heap, pending = self._s.pending_heap, self._s.pending
        due: list[Record] = []
        while heap and heap[0][0] <= now_ms and len(due) < limit:
            available_ms, _, key = heapq.heappop(heap)
            record = pending.get(key)
            if record is not None and record["availableMs"] == available_ms:
                due.append(record)  # its caller re-queues it (leased) or drops it
        return due

    def pending(self, key: str) -> Record | None:
        return self._s.pending.get(key)

    def drop_pending(self, key: str) -> None:
        self._s.pending.pop(key, None)

    def put_delivery(self, record: Record) -> None:
        self._s.deliveries.append(record)


class _Transaction:
    """The store's lock around its view; a plain class, cheaper than a generator context."""

    __slots__ = ("_lock", "_view")

    def __init__(self, lock: threading.RLock, view: MemoryView) -> None:
        self._lock = lock
        self._view = view

    def __enter__(self) -> MemoryView:
        self._lock.acquire()
        return self._view

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class MemoryStore:
    """The default store: fast, lost when the process ends, refused with --workers > 1."""

    def __init__(self, url: str = "memory://", journal_limit: int = 1000) -> None:
        self.url = url
        self._journal_limit = journal_limit
        self._lock = threading.RLock()
        self._state = _State({}, journal_limit)
        self._view = MemoryView(self._state)

    def transaction(self) -> _Transaction:
        # Records are changed in place, so a failed unit of work must not leave half its writes:
        # the tracking logic raises only before its first write, which keeps this safe.
        return _Transaction(self._lock, self._view)

    def request_scope(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()  # nothing to commit: every write is in place

    def initialise(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> bool:
        with self._lock:
            if self._state.initialised:
                return False
            self.reset(build, fx_rates)
            return True

    def reset(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> None:
        with self._lock:
            self._state = _State(fx_rates, self._journal_limit)
            self._view = MemoryView(self._state)
            build(self._view)
            self._state.initialised = True

    def principal(self, token: str) -> tuple[Record, Record] | None:
        return self._with_workspace(self._state.tokens.get(token))

    def publishable_principal(self, key: str) -> tuple[Record, Record] | None:
        return self._with_workspace(self._state.publishable_keys.get(key))

    def _with_workspace(self, record: Record | None) -> tuple[Record, Record] | None:
        if record is None:
            return None
        workspace = self._state.workspaces.get(record["workspaceId"])
        return None if workspace is None else (record, workspace)

    def snapshot(self) -> dict[str, list[Record]]:
        with self._lock:
            s = self._state
            return {
                "workspaces": [dict(r) for r in s.workspaces.values()],
                "tokens": [dict(r) for r in s.tokens.values()],
                "publishableKeys": [dict(r) for r in s.publishable_keys.values()],
                "webhooks": [dict(r) for r in s.webhooks.values()],
                "links": [dict(r) for r in s.links.values()],
                "clicks": [dict(r) for r in s.clicks.values()],
                "customers": [dict(r) for r in s.customers.values()],
                "leads": [dict(r) for r in s.leads],
                "sales": [orjson.loads(r) for r in s.sales],
            }

    def hit_rate_limit(self, token: str, now_ms: int, window_ms: int) -> tuple[int, int]:
        with self._lock:
            window = self._state.rate_windows.get(token)
            if window is None or now_ms >= window[1]:
                window = [0, now_ms + window_ms]
                self._state.rate_windows[token] = window
            window[0] += 1
            return window[0], window[1]

    def push_fault(self, status: int | None, count: int, delay_ms: int) -> None:
        with self._lock:
            self._state.faults.append([status, count, delay_ms])

    def pop_fault(self) -> tuple[int | None, int] | None:
        if not self._state.faults:  # the common case, without taking the lock
            return None
        with self._lock:
            faults = self._state.faults
            if not faults:
                return None
            head = faults[0]
            status, remaining, delay_ms = head
            assert remaining is not None and delay_ms is not None
            if remaining <= 1:
                faults.popleft()
            else:
                head[1] = remaining - 1
            return status, delay_ms

    def fx_rates(self) -> dict[str, float]:
        return self._state.fx_rates

    def set_fx_rates(self, rates: dict[str, float]) -> None:
        with self._lock:
            self._state.fx_rates = {**self._state.fx_rates, **rates}

    def log_request(self, entry: dict[str, Any], limit: int) -> None:
        self._state.journal.append(entry)  # deque.append is atomic

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.journal)

    def next_delivery_ms(self) -> int | None:
        heap = self._state.pending_heap
        return heap[0][0] if heap else None  # a stale entry only makes the deliverer look early

    def events(self) -> list[Record]:
        with self._lock:
            return [dict(r) for r in self._state.events.values()]

    def deliveries(self) -> list[Record]:
        with self._lock:
            return [dict(r) for r in self._state.deliveries]

    def close(self) -> None:
        """Nothing to release."""
