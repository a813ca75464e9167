"""`redis://host:port/db`: state on a Redis server, shared by mock instances on many machines.

Several `dub-mock serve` processes behind one load balancer must behave as one server, so each
unit of work (`transaction()`) is serialised across all of them:

1. take the store's lock: `SET NX PX` with a random token (a Lua script, so a retried
   acquisition that already succeeded is recognised);
2. read through Redis while buffering every write in the view (reads see the buffered writes);
3. commit with one Lua script that checks the token still owns the lock, applies every write and
   releases the lock, all atomically. A lock that expired under a stalled holder makes the commit
   refuse, so two units of work never both apply: an invoice is recorded once, whatever happens.

Counters that need no unit of work (rate-limit windows, faults) are single Lua scripts. Keys share
one prefix (`dub-mock:` unless the URL says `?prefix=name`), so one Redis database can hold the
state of several independent mocks.
"""

from __future__ import annotations

import contextlib
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import redis

from ..errors import StoreError
from ..models import Record
from .base import WEBHOOK_LOG_LIMIT, StateView, latest_lead

LOCK_TTL_MS = 15_000
"""A unit of work that holds the lock longer than this loses it and is refused at commit."""
LOCK_WAIT_S = 30.0
"""How long a unit of work waits for the lock before the request fails."""
COMMIT_MARK_TTL_MS = 30_000
"""How long a commit is remembered, so that a retried commit (after a lost reply) reports it."""

HASHED_KINDS = (
    "workspaces", "tokens", "publishableKeys", "webhooks", "links", "clicks", "customers",
)  # fmt: skip
#: Hashes that remember their insertion order: the snapshot's kinds and the event log.
ORDERED_KINDS = (*HASHED_KINDS, "events")
LISTED_KINDS = ("leads", "sales")
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.:{}-]{1,64}$")

# KEYS: lock, meta. → 0 busy, 1 held, 2 held but the state is gone (Redis flushed or restarted).
ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if redis.call('HEXISTS', KEYS[2], 'initialised') == 0 then return 2 end
return 1
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: lock, commit-mark prefix. ARGV: token, commit-mark ttl ms, then the ops:
# P hash order field value (an upsert that remembers insertion order), H hash field value,
# R list value, D key, E hash field (delete), L list value (remove), Z zset score member,
# Q zset member (remove), V hash order n (keep the newest n), T list n (keep the newest n).
COMMIT = """
local token = ARGV[1]
if redis.call('GET', KEYS[1]) ~= token then
  if redis.call('EXISTS', KEYS[2] .. token) == 1 then return 1 end
  return 0
end
local i, n = 3, #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'P' then
    if redis.call('HSET', ARGV[i + 1], ARGV[i + 3], ARGV[i + 4]) == 1 then
      redis.call('RPUSH', ARGV[i + 2], ARGV[i + 3])
    end
    i = i + 5
  elseif op == 'H' then
    redis.call('HSET', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'R' then
    redis.call('RPUSH', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'D' then
    redis.call('DEL', ARGV[i + 1])
    i = i + 2
  elseif op == 'E' then
    redis.call('HDEL', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'L' then
    redis.call('LREM', ARGV[i + 1], 0, ARGV[i + 2])
    i = i + 3
  elseif op == 'Z' then
    redis.call('ZADD', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'Q' then
    redis.call('ZREM', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'V' then
    local keep = tonumber(ARGV[i + 3])
    while redis.call('LLEN', ARGV[i + 2]) > keep do
      redis.call('HDEL', ARGV[i + 1], redis.call('LPOP', ARGV[i + 2]))
    end
    i = i + 4
  elseif op == 'T' then
    redis.call('LTRIM', ARGV[i + 1], -tonumber(ARGV[i + 2]), -1)
    i = i + 3
  else
    return redis.error_reply('dub-mock: unknown commit op ' .. tostring(op))
  end
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2] .. token, '1', 'PX', ARGV[2])
return 1
"""

# KEYS: index hash, record hash. ARGV: index field → the record its value names.
LOOKUP = """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[2], id)
"""

# KEYS: tokens, workspaces. ARGV: token.
PRINCIPAL = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local workspace_id = cjson.decode(raw)['workspaceId']
if type(workspace_id) ~= 'string' then return {raw} end
local workspace = redis.call('HGET', KEYS[2], workspace_id)
if not workspace then return {raw} end
return {raw, workspace}
"""

# KEYS: rate windows. ARGV: token, now ms, window ms → {count, window end ms}.
HIT_RATE_LIMIT = """
local now, span = tonumber(ARGV[2]), tonumber(ARGV[3])
local count, ends = 0, 0
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local c, e = string.match(raw, '^(%d+):(%d+)$')
  count, ends = tonumber(c), tonumber(e)
end
if not raw or now >= ends then
  count, ends = 1, now + span
else
  count = count + 1
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d', count, ends))
return {count, string.format('%d', ends)}
"""

# KEYS: faults (a list of "status:remaining:delay", status empty for a delay alone).
POP_FAULT = """
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then return false end
local status, remaining, delay = string.match(head, '^(%d*):(%d+):(%d+)$')
remaining = tonumber(remaining)
if remaining <= 1 then
  redis.call('LPOP', KEYS[1])
else
  local left = string.format('%d', remaining - 1)
  redis.call('LSET', KEYS[1], 0, status .. ':' .. left .. ':' .. delay)
end
return {status, delay}
"""


def _load(blob: bytes | str) -> Any:
    return orjson.loads(blob)


def _pair(first: str, second: str) -> str:
    """One hash field for two strings, length-prefixed so that no two pairs can collide."""
    return f"{len(first)}:{first}{second}"


class Keys:
    """Every Redis key of one mock's state, under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.order = {kind: f"{prefix}order:{kind}" for kind in ORDERED_KINDS}
        self.hashes = {kind: prefix + kind for kind in ORDERED_KINDS}
        self.customer_ids = prefix + "customer_ids"
        self.link_keys = prefix + "link_keys"
        self.held_keys = prefix + "held_keys"
        self.customer_leads = prefix + "customer_leads"
        self.leads = prefix + "leads"
        self.sales = prefix + "sales"
        self.invoices = prefix + "invoices"
        self.rate_windows = prefix + "rate_windows"
        self.faults = prefix + "faults"
        self.fx_rates = prefix + "fx_rates"
        self.journal = prefix + "journal"
        self.deliveries = prefix + "deliveries"
        self.pending = prefix + "pending"
        self.pending_due = prefix + "pending_due"
        self.meta = prefix + "meta"
        self.lock = prefix + "lock"
        self.commit_mark = prefix + "committed:"

    def state(self) -> list[str]:
        """The keys `reset` drops: everything but the lock and the commit marks."""
        return [
            *self.hashes.values(),
            *self.order.values(),
            self.customer_ids,
            self.link_keys,
            self.held_keys,
            self.customer_leads,
            self.leads,
            self.sales,
            self.invoices,
            self.rate_windows,
            self.faults,
            self.fx_rates,
            self.journal,
            self.deliveries,
            self.pending,
            self.pending_due,
            self.meta,
        ]


class RedisView:
    """StateView that reads from Redis and buffers writes until the store commits them."""

    def __init__(self, store: RedisStore, *, cleared: bool = False) -> None:
        self._store = store
        self._client = store.client
        self._keys = store.keys
        # A reset view starts from nothing: reads must not see the state being replaced.
        self._cleared = cleared
        self._pending: dict[tuple[str, str], bytes] = {}
        self.ops: list[str | bytes | int] = []
        if cleared:
            for key in self._keys.state():
                self.ops += ["D", key]

    # -- reads ---------------------------------------------------------------------------

    def _hget(self, key: str, field: str) -> bytes | None:
        pending = self._pending.get((key, field))
        if pending is not None or self._cleared:
            return pending
        return cast("bytes | None", self._client.hget(key, field))

    def _record(self, key: str, field: str) -> Record | None:
        raw = self._hget(key, field)
        return None if raw is None else cast(Record, _load(raw))

    def workspace(self, workspace_id: str) -> Record | None:
        return self._record(self._keys.hashes["workspaces"], workspace_id)

    def token(self, token: str) -> Record | None:
        return self._record(self._keys.hashes["tokens"], token)

    def link(self, link_id: str) -> Record | None:
        return self._record(self._keys.hashes["links"], link_id)

    def click(self, click_id: str) -> Record | None:
        return self._record(self._keys.hashes["clicks"], click_id)

    def link_by_key(self, domain: str, key: str) -> Record | None:
        link_id = self._hget(self._keys.link_keys, _pair(domain, key))
        return None if link_id is None else self.link(link_id.decode())

    def publishable_key(self, key: str) -> Record | None:
        return self._record(self._keys.hashes["publishableKeys"], key)

    def customer(self, workspace_id: str, external_id: str) -> Record | None:
        field = _pair(workspace_id, external_id)
        customer_id = self._pending.get((self._keys.customer_ids, field))
        if customer_id is not None:
            return self._record(self._keys.hashes["customers"], customer_id.decode())
        if self._cleared:
            return None
        raw = self._store.lookup(
            keys=[self._keys.customer_ids, self._keys.hashes["customers"]], args=[field]
        )
        return None if raw is None else cast(Record, _load(cast(bytes, raw)))

    def _leads_of(self, customer_id: str) -> list[Record]:
        raw = self._hget(self._keys.customer_leads, customer_id)
        return [] if raw is None else cast(list[Record], _load(raw))

    def latest_lead(self, customer_id: str, event_name: str | None) -> Record | None:
        return latest_lead(reversed(self._leads_of(customer_id)), event_name)

    def sale_response(
        self, workspace_id: str, invoice_id: str, since_ms: int
    ) -> dict[str, Any] | None:
        raw = self._hget(self._keys.invoices, _pair(workspace_id, invoice_id))
        if raw is None:
            return None
        recorded_ms, response = _load(raw)
        return None if recorded_ms < since_ms else cast(dict[str, Any], response)

    # -- buffered writes -----------------------------------------------------------------

    def _put(self, kind: str, field: str, record: Record) -> None:
        blob = orjson.dumps(record)
        key = self._keys.hashes[kind]
        self._pending[(key, field)] = blob
        self.ops += ["P", key, self._keys.order[kind], field, blob]

    def _hset(self, key: str, field: str, value: bytes) -> None:
        self._pending[(key, field)] = value
        self.ops += ["H", key, field, value]

    def put_workspace(self, record: Record) -> None:
        self._put("workspaces", record["id"], record)

    def put_token(self, record: Record) -> None:
        self._put("tokens", record["token"], record)

    def add_link(self, record: Record) -> None:
        self._put("links", record["id"], record)
        field = _pair(record["domain"], record["key"])
        self._hset(self._keys.link_keys, field, record["id"].encode())

    def put_link(self, record: Record) -> None:
        self._put("links", record["id"], record)

    def put_publishable_key(self, record: Record) -> None:
        self._put("publishableKeys", record["key"], record)

    def put_click(self, record: Record) -> None:
        self._put("clicks", record["id"], record)

    def put_customer(self, record: Record) -> None:
        self._put("customers", record["id"], record)
        field = _pair(record["workspaceId"], record["externalId"])
        self._hset(self._keys.customer_ids, field, record["id"].encode())

    def put_lead(self, record: Record) -> None:
        leads = [*self._leads_of(record["customerId"]), record]
        self._hset(self._keys.customer_leads, record["customerId"], orjson.dumps(leads))
        self.ops += ["R", self._keys.leads, orjson.dumps(record)]

    def put_sale(self, record: Record, response: dict[str, Any], now_ms: int) -> None:
        self.ops += ["R", self._keys.sales, orjson.dumps(record)]
        if record["invoiceId"] is not None:
            field = _pair(record["workspaceId"], record["invoiceId"])
            self._hset(self._keys.invoices, field, orjson.dumps([now_ms, response]))

    def held_key(self, name: str, now_ms: int) -> str | None:
        raw = self._hget(self._keys.held_keys, name)
        if raw is None:
            return None
        value, expires_ms = _load(raw)
        return cast(str, value) if expires_ms > now_ms else None

    def hold_key(self, name: str, value: str, expires_ms: int) -> None:
        self._hset(self._keys.held_keys, name, orjson.dumps([value, expires_ms]))

    def webhooks(self, workspace_id: str) -> list[Record]:
        key = self._keys.hashes["webhooks"]
        order = [] if self._cleared else self._client.lrange(self._keys.order["webhooks"], 0, -1)
        fields = [f.decode() for f in cast(list[bytes], order)]
        fields += [f for (k, f) in self._pending if k == key and f not in fields]
        found = (self._record(key, field) for field in fields)
        return [w for w in found if w is not None and w["workspaceId"] == workspace_id]

    def webhook(self, webhook_id: str) -> Record | None:
        return self._record(self._keys.hashes["webhooks"], webhook_id)

    def put_webhook(self, record: Record) -> None:
        self._put("webhooks", record["id"], record)

    def delete_webhook(self, webhook_id: str) -> bool:
        key = self._keys.hashes["webhooks"]
        if self.webhook(webhook_id) is None:
            return False
        self._pending.pop((key, webhook_id), None)
        self.ops += ["E", key, webhook_id, "L", self._keys.order["webhooks"], webhook_id]
        return True

    def event(self, event_id: str) -> Record | None:
        return self._record(self._keys.hashes["events"], event_id)

    def put_event(self, record: Record) -> None:
        self._put("events", record["id"], record)
        hashes, order = self._keys.hashes["events"], self._keys.order["events"]
        self.ops += ["V", hashes, order, WEBHOOK_LOG_LIMIT]

    def put_pending(self, record: Record) -> None:
        self._hset(self._keys.pending, record["key"], orjson.dumps(record))
        self.ops += ["Z", self._keys.pending_due, record["availableMs"], record["key"]]

    def due_pending(self, now_ms: int, limit: int) -> list[Record]:
        keys = self._client.zrangebyscore(self._keys.pending_due, "-inf", now_ms, 0, limit)
        found = (self._record(self._keys.pending, key.decode()) for key in cast(list[bytes], keys))
        return [record for record in found if record is not None]

    def pending(self, key: str) -> Record | None:
        return self._record(self._keys.pending, key)

    def drop_pending(self, key: str) -> None:
        self._pending.pop((self._keys.pending, key), None)
        self.ops += ["E", self._keys.pending, key, "Q", self._keys.pending_due, key]

    def put_delivery(self, record: Record) -> None:
        self.ops += ["R", self._keys.deliveries, orjson.dumps(record)]
        self.ops += ["T", self._keys.deliveries, WEBHOOK_LOG_LIMIT]

    def put_fx_rates(self, rates: dict[str, float]) -> None:
        for code, rate in rates.items():
            self._hset(self._keys.fx_rates, code, repr(float(rate)).encode())

    def mark_initialised(self) -> None:
        self._hset(self._keys.meta, "initialised", b"1")


class RedisStore:
    """State on a Redis server; every unit of work is serialised by one lock shared by all
    instances, and committed atomically by a Lua script."""

    def __init__(self, url: str, journal_limit: int = 1000) -> None:
        self.url = url
        self._journal_limit = journal_limit
        client_url, prefix = _parse_url(url)
        self.keys = Keys(prefix)
        # One thread per process queues for the shared lock; the rest wait here, not on Redis.
        self._local_lock = threading.Lock()
        self._start: tuple[Callable[[StateView], None], dict[str, float]] | None = None
        try:
            self.client = redis.Redis.from_url(
                client_url, socket_timeout=10, socket_connect_timeout=5, decode_responses=False
            )
            self.client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"cannot reach Redis state at {_public(url)}: {exc}") from exc
        script = self.client.register_script
        self._acquire = script(ACQUIRE)
        self._release = script(RELEASE)
        self._commit = script(COMMIT)
        self.lookup = script(LOOKUP)
        self._principal = script(PRINCIPAL)
        self._hit_rate_limit = script(HIT_RATE_LIMIT)
        self._pop_fault = script(POP_FAULT)

    # -- the unit of work ----------------------------------------------------------------

    def _wait_for_lock(self, token: str) -> int:
        """Take the shared lock: 1, or 2 when the state has vanished from Redis."""
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.0002
        while True:
            held = int(
                self._acquire(keys=[self.keys.lock, self.keys.meta], args=[token, LOCK_TTL_MS])
            )
            if held:
                return held
            if time.monotonic() > deadline:
                raise StoreError(
                    f"waited {LOCK_WAIT_S:.0f}s for the Redis state lock {self.keys.lock!r}"
                )
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.005)

    @contextmanager
    def _locked(self, *, heal: bool = False) -> Iterator[str]:
        """Hold the store's lock; yields the token the commit must present.

        With `heal`, a state that vanished (a Redis restarted without persistence, a FLUSHDB)
        is rebuilt first, as at start-up, so the mock keeps answering with its start state.
        """
        token = secrets.token_hex(16)
        with self._local_lock:
            held = self._wait_for_lock(token)
            try:
                if held == 2 and heal and self._start is not None:
                    self._apply(token, self._rebuilt(*self._start))  # commits and releases
                    token = secrets.token_hex(16)
                    self._wait_for_lock(token)
                yield token
            except BaseException:
                self._release(keys=[self.keys.lock], args=[token])
                raise

    def _apply(self, token: str, view: RedisView) -> None:
        if not view.ops:
            self._release(keys=[self.keys.lock], args=[token])
            return
        done = self._commit(
            keys=[self.keys.lock, self.keys.commit_mark],
            args=[token, COMMIT_MARK_TTL_MS, *view.ops],
        )
        if not done:
            raise StoreError(
                f"the Redis state lock expired before the commit (a unit of work took more than "
                f"{LOCK_TTL_MS} ms); nothing was written"
            )

    @contextmanager
    def transaction(self) -> Iterator[StateView]:
        with self._locked(heal=True) as token:
            view = RedisView(self)
            yield view
            self._apply(token, view)

    def request_scope(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()  # each unit of work holds the shared lock on its own

    def initialise(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> bool:
        self._start = (build, dict(fx_rates))
        with self._locked() as token:
            if self.client.hget(self.keys.meta, "initialised") is not None:
                self._release(keys=[self.keys.lock], args=[token])
                return False
            self._apply(token, self._rebuilt(build, fx_rates))
            return True

    def reset(self, build: Callable[[StateView], None], fx_rates: dict[str, float]) -> None:
        self._start = (build, dict(fx_rates))
        with self._locked() as token:
            self._apply(token, self._rebuilt(build, fx_rates))

    def _rebuilt(self, build: Callable[[StateView], None], fx: dict[str, float]) -> RedisView:
        view = RedisView(self, cleared=True)
        view.put_fx_rates(fx)
        build(view)
        view.mark_initialised()
        return view

    # -- reads and counters outside a unit of work ---------------------------------------

    def principal(self, token: str) -> tuple[Record, Record] | None:
        return self._with_workspace("tokens", token)

    def publishable_principal(self, key: str) -> tuple[Record, Record] | None:
        return self._with_workspace("publishableKeys", key)

    def _with_workspace(self, kind: str, token: str) -> tuple[Record, Record] | None:
        keys = [self.keys.hashes[kind], self.keys.hashes["workspaces"]]
        found = self._principal(keys=keys, args=[token])
        if not found and self._start is not None and not self.client.exists(self.keys.meta):
            with self._locked(heal=True) as held:  # the state vanished: rebuild, then look again
                self._release(keys=[self.keys.lock], args=[held])
            found = self._principal(keys=keys, args=[token])
        if not found or len(found) < 2 or found[1] is None:
            return None
        return cast(Record, _load(found[0])), cast(Record, _load(found[1]))

    def snapshot(self) -> dict[str, list[Record]]:
        pipe = self.client.pipeline(transaction=True)
        for kind in HASHED_KINDS:
            pipe.lrange(self.keys.order[kind], 0, -1)
            pipe.hgetall(self.keys.hashes[kind])
        pipe.lrange(self.keys.leads, 0, -1)
        pipe.lrange(self.keys.sales, 0, -1)
        results = pipe.execute()
        snapshot: dict[str, list[Record]] = {}
        for index, kind in enumerate(HASHED_KINDS):
            order = cast(list[bytes], results[2 * index])
            records = cast(dict[bytes, bytes], results[2 * index + 1])
            snapshot[kind] = [_load(records[field]) for field in order if field in records]
        snapshot["leads"] = [_load(raw) for raw in results[-2]]
        snapshot["sales"] = [_load(raw) for raw in results[-1]]
        return snapshot

    def hit_rate_limit(self, token: str, now_ms: int, window_ms: int) -> tuple[int, int]:
        count, ends = self._hit_rate_limit(
            keys=[self.keys.rate_windows], args=[token, now_ms, window_ms]
        )
        return int(count), int(ends)

    def push_fault(self, status: int | None, count: int, delay_ms: int) -> None:
        entry = f"{'' if status is None else status}:{count}:{delay_ms}"
        self.client.rpush(self.keys.faults, entry)

    def pop_fault(self) -> tuple[int | None, int] | None:
        found = self._pop_fault(keys=[self.keys.faults])
        if not found:
            return None
        status, delay = found
        return (int(status) if status else None), int(delay)

    def fx_rates(self) -> dict[str, float]:
        rates = cast(dict[bytes, bytes], self.client.hgetall(self.keys.fx_rates))
        return {code.decode(): float(rate) for code, rate in rates.items()}

    def set_fx_rates(self, rates: dict[str, float]) -> None:
        if rates:
            mapping = {code: repr(float(rate)) for code, rate in rates.items()}
            self.client.hset(self.keys.fx_rates, mapping=cast(Any, mapping))

    def log_request(self, entry: dict[str, Any], limit: int) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self.keys.journal, orjson.dumps(entry))
        pipe.ltrim(self.keys.journal, -limit, -1)
        pipe.execute()

    def requests(self) -> list[dict[str, Any]]:
        rows = cast(list[bytes], self.client.lrange(self.keys.journal, -self._journal_limit, -1))
        return [cast(dict[str, Any], _load(row)) for row in rows]

    def next_delivery_ms(self) -> int | None:
        soonest = self.client.zrange(self.keys.pending_due, 0, 0, withscores=True)
        return int(soonest[0][1]) if soonest else None

    def events(self) -> list[Record]:
        order = cast(list[bytes], self.client.lrange(self.keys.order["events"], 0, -1))
        if not order:
            return []
        rows = cast(list[bytes | None], self.client.hmget(self.keys.hashes["events"], order))
        return [cast(Record, _load(row)) for row in rows if row is not None]

    def deliveries(self) -> list[Record]:
        rows = cast(list[bytes], self.client.lrange(self.keys.deliveries, 0, -1))
        return [cast(Record, _load(row)) for row in rows]

    def close(self) -> None:
        self.client.close()


def _parse_url(url: str) -> tuple[str, str]:
    """redis://[user:pass@]host:port/db[?prefix=name] → (the URL for redis-py, key prefix)."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise StoreError(f"bad Redis URL {_public(url)}: use redis://host:port/db")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise StoreError(f"bad Redis URL {_public(url)}: the database is a number, as in /0")
    prefix = "dub-mock:"
    passed = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "prefix":
            if not PREFIX_PATTERN.match(value):
                raise StoreError(
                    f"bad Redis key prefix {value!r}: 1-64 of letters, digits and _.:{{}}-"
                )
            prefix = value if value.endswith(":") else value + ":"
        else:
            passed.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(passed))), prefix


def _public(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
