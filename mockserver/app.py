"""The WSGI application: dispatch, Dub's error rendering, the journal and the access log.

One request: `MockApp.__call__` → admin (`/__mock/*`) or the spec's route → fault → `auth` →
`ratelimit` → Prefer → `body` → `operations` (`validation`, then `track/<operation>`) → store →
JSON → journal.
"""

from __future__ import annotations

import contextlib
import functools
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed

from . import cors
from .accesslog import AccessLog
from .admin import ADMIN_PREFIX, AdminApi
from .auth import (
    Principal,
    authenticate,
    authenticate_publishable,
    authorize,
    check_plan,
    publishable_key,
)
from .body import announced_length, read_body
from .control import Control
from .dashboard import Dashboard
from .errors import (
    ApiError,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    code_for_status,
)
from .feed import Feed
from .models import Clock, IdFactory
from .operations import Operations
from .ratelimit import count_publishable, count_request
from .routing import build_map
from .seed import baseline, seed_data, start_fx_rates
from .settings import Settings
from .spec import Operation, load_spec
from .store import Store, open_store
from .validation import parse_json
from .webhooks.delivery import Deliverer
from .webhooks.loop_delivery import LoopDeliverer
from .webhooks.outbox import Outbox

if TYPE_CHECKING:
    import asyncio

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Headers = list[tuple[str, str]]

STATUS_LINES = {
    200: "200 OK", 201: "201 Created", 204: "204 No Content", 400: "400 Bad Request",
    401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found",
    405: "405 Method Not Allowed", 409: "409 Conflict", 410: "410 Gone",
    413: "413 Content Too Large", 422: "422 Unprocessable Content",
    429: "429 Too Many Requests", 500: "500 Internal Server Error",
}  # fmt: skip

FAULT_MESSAGE = "Fault injected by dub-mock"
PREFER_MESSAGE = "Response forced by the Prefer header"


class Exchange:
    """One API request on its way: what it waits for, what it sent and what it got."""

    __slots__ = (
        "body",
        "browser",
        "deferred",
        "delay",
        "headers",
        "operation",
        "parsed",
        "path",
        "payload",
        "started",
        "status",
    )

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = time.perf_counter()
        self.operation: Operation | None = None  # the spec's route, once matched
        self.delay = 0.0  # seconds to wait before answering (faults, --latency)
        self.deferred: ApiError | None = None  # a fault's error, raised after the delay
        self.status = 0  # 0 until answered
        self.payload: Any = None
        self.headers: Headers = []
        self.body: bytes = b""
        self.parsed: Any = None  # the body as JSON, once it parsed
        self.browser = False  # a route browsers call: Dub's own CORS headers on every answer

    def fail(self, error: ApiError) -> None:
        self.status = error.code or 500
        self.payload = error.body()
        self.headers = error.extra_headers

    def crash(self) -> None:
        """An unexpected exception: logged, answered with Dub's fixed 500."""
        traceback.print_exc(file=sys.stderr)
        self.fail(InternalServerError())
        self.headers = []


class MockApp:
    """A Dub twin over one store; `reset()` brings back the start state."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.rng = rng or random.Random()
        self.spec = load_spec(settings.spec_path)
        self.adapter = build_map(self.spec).bind("localhost")
        self._routes: dict[tuple[str, str], Operation] = {}
        self.access_log = AccessLog()
        self.feed = Feed()
        #: Set by a front that commits several requests at once (`groupcommit`): it then
        #: calls `outbox.notify()` itself, after the commit.
        self.batching = False
        self.dashboard = Dashboard(settings, self.feed)
        self.ids = ids = IdFactory(clock, rng)
        self.control = Control(ids, clock)
        self.outbox = Outbox(ids, clock)
        self.deliverer: Deliverer | LoopDeliverer = Deliverer(store, clock, self.feed)
        self.outbox.on_queued(self.deliverer.wake)
        self.operations = Operations(store, ids, clock, self.outbox)
        self._browser_paths = self.operations.browser_paths(self.spec.operations)
        self.admin = AdminApi(self)
        data = seed_data(settings)
        self._fx_rates = start_fx_rates(data)
        self._build = baseline(settings, self.control, data)
        store.initialise(self._build, self._fx_rates)
        if store.next_delivery_ms() is not None:  # deliveries queued before a restart
            self.deliverer.start()

    def deliver_from(self, loop: asyncio.AbstractEventLoop, saturated: Callable[[], bool]) -> None:
        """`dub-mock serve`'s front, when the app runs on its event loop: send webhooks from
        coroutines on that loop rather than from threads that would fight it for the GIL, one
        at a time while the front says the worker is `saturated`."""
        self.deliverer.close()
        self.deliverer = LoopDeliverer(self.store, self.clock, self.feed, loop, saturated)
        self.outbox.on_queued(self.deliverer.wake)
        if self.store.next_delivery_ms() is not None:  # deliveries queued before a restart
            self.deliverer.start()

    def reset(self) -> None:
        """Back to the state the mock started with (seed, --token and defaults)."""
        self.store.reset(self._build, self._fx_rates)

    def close(self) -> None:
        """Stop sending webhooks, then release the store."""
        self.deliverer.close()
        self.store.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        exchange = self.begin(environ)
        if exchange.delay:
            time.sleep(exchange.delay)
        return self.finish(environ, exchange, start_response)

    def begin(self, environ: WSGIEnvironment) -> Exchange:
        """Everything decided before the wait: preflight, route, size, fault and latency.

        Split from `finish` so that each server sleeps its own way: a WSGI thread with
        `time.sleep`, the event loop of `dub-mock serve` with `asyncio.sleep`.
        """
        exchange = Exchange(environ.get("PATH_INFO") or "/")
        exchange.browser = exchange.path.rstrip("/") in self._browser_paths
        try:
            if exchange.browser and environ["REQUEST_METHOD"] == "OPTIONS":
                exchange.status = 204  # Dub answers any OPTIONS on these routes
            elif self.settings.cors and cors.is_preflight(environ):
                exchange.status = 204
                exchange.headers = cors.preflight_headers(environ)
            elif not exchange.path.startswith(ADMIN_PREFIX):
                self._plan_api(environ, exchange)
        except ApiError as error:
            exchange.fail(error)
        except Exception:
            exchange.crash()
        return exchange

    def finish(
        self, environ: WSGIEnvironment, exchange: Exchange, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer the request `begin` opened, once its delay is over."""
        if exchange.operation is None and self.dashboard.handles(exchange.path):
            page = self.dashboard.respond(environ, start_response)  # a browser's `/`, the UI
            if page is not None:
                return page
        with self.store.request_scope():
            answer = self._finish(environ, exchange, start_response)
        if not self.batching:
            self.outbox.notify()  # committed: what it queued can be sent
        return answer

    def _finish(
        self, environ: WSGIEnvironment, exchange: Exchange, start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            if exchange.status:
                pass  # answered in `begin`
            elif exchange.deferred is not None:
                raise exchange.deferred
            elif exchange.operation is not None:
                self._serve_operation(environ, exchange.operation, exchange)
            else:
                self._admin(environ, exchange)
        except ApiError as error:
            exchange.fail(error)
        except Exception:
            exchange.crash()
        return self._respond(environ, exchange, start_response)

    def _admin(self, environ: WSGIEnvironment, exchange: Exchange) -> None:
        method = environ["REQUEST_METHOD"]
        raw = (
            read_body(environ, self.settings.max_body)
            if method in {"POST", "PUT", "PATCH"}
            else b""
        )
        exchange.status, exchange.payload = self.admin.handle(
            method,
            exchange.path,
            environ.get("HTTP_AUTHORIZATION"),
            raw,
            environ.get("QUERY_STRING", ""),
        )
        if method != "GET" and self.feed.listening:
            self.feed.publish("state", {"change": f"{method} {exchange.path}"})

    def _plan_api(self, environ: WSGIEnvironment, exchange: Exchange) -> None:
        method = environ["REQUEST_METHOD"]
        operation = self._routes.get((method, exchange.path))
        if operation is None:
            operation = self._route(method, exchange.path)
        announced_length(environ, self.settings.max_body)
        exchange.operation = operation
        fault = self.store.pop_fault()
        if fault is not None:
            status, delay_ms = fault
            exchange.delay = delay_ms / 1000
            if status is not None:
                exchange.deferred = ApiError(
                    FAULT_MESSAGE, error_code=code_for_status(status), status=status
                )
                return
        if self.settings.latency_ms is not None:
            low, high = self.settings.latency_ms
            exchange.delay += self.rng.uniform(low, high) / 1000

    def _route(self, method: str, path: str) -> Operation:
        """Match the spec's Map; successful matches are remembered (a bounded few)."""
        try:
            operation_id, _ = self.adapter.match(path, method=method)
        except RoutingMethodNotAllowed as exc:
            raise MethodNotAllowed(exc.valid_methods or ()) from None
        except HTTPException:  # not found, and any redirect werkzeug could think of
            raise NotFound(f"The requested path {path} was not found.") from None
        operation = self.spec.operations[operation_id]
        if len(self._routes) < 256:
            self._routes[(method, path)] = operation
        return operation

    def _serve_operation(
        self, environ: WSGIEnvironment, operation: Operation, exchange: Exchange
    ) -> None:
        authorization = environ.get("HTTP_AUTHORIZATION")
        principal: Principal | None = None
        key = None
        if operation.auth == "publishableKey":
            key = publishable_key(authorization)  # §6: header and prefix
        elif operation.auth:
            principal = authenticate(authorization, _workspace_query(environ), self.store)
        rate_headers: Headers = []
        try:
            if self.settings.rate_limit and operation.auth:
                now_ms = int(self.clock() * 1000)
                if principal is not None:
                    rate_headers = count_request(principal, self.store, now_ms)
                else:
                    assert key is not None
                    rate_headers = count_publishable(key, self.store, now_ms)
            if principal is not None:
                authorize(principal)  # rules 7-8
            elif key is not None:
                principal = authenticate_publishable(key, self.store)
                check_plan(principal)
            forced = _preferred_status(environ.get("HTTP_PREFER"), operation)
            if forced is not None:
                raise ApiError(PREFER_MESSAGE, error_code=code_for_status(forced), status=forced)
            exchange.body = read_body(environ, self.settings.max_body)
            exchange.parsed = parse_json(exchange.body)
            exchange.payload = self.operations.handle(
                operation, principal, exchange.parsed, environ
            )
            exchange.status = 200
            exchange.headers = rate_headers
            if self.feed.listening:
                self.feed.publish("state", {"change": operation.operation_id})
        except ApiError as error:
            if not any(name == "Retry-After" for name, _ in error.extra_headers):
                error.extra_headers = [*rate_headers, *error.extra_headers]
            raise
        if self.settings.validate_responses:
            operation.response_validators[200](exchange.payload)

    def _respond(
        self, environ: WSGIEnvironment, exchange: Exchange, start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            body = b"" if exchange.payload is None else orjson.dumps(exchange.payload)
        except TypeError:  # nothing the checks let through should get here; never a traceback
            traceback.print_exc(file=sys.stderr)
            exchange.status, exchange.headers = 500, []
            exchange.payload = InternalServerError().body()
            body = orjson.dumps(exchange.payload)
        headers = list(exchange.headers)
        if exchange.payload is not None:
            headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(body))))
        origin = environ.get("HTTP_ORIGIN")
        if exchange.browser:
            headers.extend(cors.BROWSER_ROUTE_HEADERS)
        elif origin and self.settings.cors and exchange.status != 204:
            headers.extend(cors.response_headers(origin))
        status_line = STATUS_LINES.get(exchange.status) or f"{exchange.status} Error"
        start_response(status_line, headers)
        elapsed_ms = (time.perf_counter() - exchange.started) * 1000
        path = exchange.path
        if not path.startswith(ADMIN_PREFIX) and exchange.status != 204:
            self._journal(environ, exchange, elapsed_ms)
        if not self.settings.quiet:
            self.access_log.write(
                f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD")} {path}" '
                f"{exchange.status} {elapsed_ms:.1f}ms\n"
            )
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body]

    def _journal(self, environ: WSGIEnvironment, exchange: Exchange, elapsed_ms: float) -> None:
        if not exchange.body and exchange.status != 413:
            # Answered before the body was read (auth, rate limit, faults, Prefer): read it
            # now, so the journal shows what the client sent.
            with contextlib.suppress(ApiError, OSError, ValueError):
                exchange.body = read_body(environ, self.settings.max_body)
        entry = {
            "method": environ.get("REQUEST_METHOD"),
            "path": exchange.path,
            "query": environ.get("QUERY_STRING", ""),
            "status": exchange.status,
            "requestHeaders": _journal_headers(environ),
            "requestBody": _journal_body(exchange.body, exchange.parsed),
            "responseBody": exchange.payload,
            "durationMs": round(elapsed_ms, 3),
            "time": self.clock(),
        }
        self.store.log_request(entry, self.settings.journal_limit)
        if self.feed.listening:
            self.feed.publish("request", entry)


def _workspace_query(environ: WSGIEnvironment) -> str | None:
    query = environ.get("QUERY_STRING")
    if not query or "workspaceId=" not in query:
        return None
    from urllib.parse import parse_qs

    values = parse_qs(query).get("workspaceId")
    return values[0] if values else None


def _preferred_status(prefer: str | None, operation: Operation) -> int | None:
    """Prism's `Prefer: code=NNN`, honoured for the error statuses the spec documents."""
    if not prefer:
        return None
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "code" and value.strip().isdigit():
            status = int(value.strip())
            if status != 200 and status in operation.documented_statuses:
                return status
    return None


@functools.lru_cache(maxsize=512)
def _header_name(environ_key: str) -> str:
    """HTTP_X_REQUEST_ID → X-Request-Id (cached: the same few headers come every time)."""
    return environ_key[5:].replace("_", "-").title()


def _journal_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = _header_name(key)
            headers[name] = "[redacted]" if name == "Authorization" else str(value)
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _journal_body(raw: bytes, parsed: Any) -> Any:
    """The body as JSON when it can be stored and listed as JSON again, else as (cut) text."""
    if not raw:
        return None
    try:
        if parsed is None:
            parsed = orjson.loads(raw)
        orjson.dumps([[[[parsed]]]])  # the journal nests it; orjson writes at most 254 levels
    except (orjson.JSONDecodeError, TypeError):
        return raw[:4096].decode("utf-8", "replace")
    return parsed


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock = time.time,
    rng: random.Random | None = None,
    **overrides: Any,
) -> MockApp:
    """The WSGI app: `create_app()` for the defaults, or `create_app(state="sqlite:///x.db")`."""
    resolved = (settings or Settings()).with_overrides(**overrides) if overrides else settings
    resolved = resolved or Settings()
    return MockApp(
        resolved,
        store or open_store(resolved.state, resolved.journal_limit),
        clock=clock,
        rng=rng,
    )
