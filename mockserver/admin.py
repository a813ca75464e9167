"""The control plane, `/__mock/...`: seeding, state, faults and the journal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed
from werkzeug.routing import Map, Rule

from . import __version__
from .errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UnprocessableEntity,
)
from .fx import FX_TABLE_DATE, parse_rates
from .models import redact_token
from .validation import parse_json
from .webhook_admin import WEBHOOK_ENDPOINTS, WebhookCalls

if TYPE_CHECKING:
    from .app import MockApp

ADMIN_PREFIX = "/__mock/"
Answer = tuple[int, Any]
Handler = Callable[["AdminApi", Any], Answer]

ADMIN_MAP = Map(
    [
        Rule("/__mock/health", endpoint="health", methods=["GET"]),
        Rule("/__mock/reset", endpoint="reset", methods=["POST"]),
        Rule("/__mock/state", endpoint="state", methods=["GET"]),
        Rule("/__mock/workspaces", endpoint="workspace", methods=["POST"]),
        Rule("/__mock/workspaces/<workspace_id>", endpoint="update_workspace", methods=["PATCH"]),
        Rule("/__mock/tokens", endpoint="token", methods=["POST"]),
        Rule("/__mock/publishable-keys", endpoint="publishable_key", methods=["POST"]),
        Rule("/__mock/links", endpoint="link", methods=["POST"]),
        Rule("/__mock/clicks", endpoint="click", methods=["POST"]),
        Rule("/__mock/customers", endpoint="customer", methods=["POST"]),
        Rule("/__mock/leads", endpoint="lead", methods=["POST"]),
        Rule("/__mock/fx-rates", endpoint="fx_rates", methods=["GET", "PUT"]),
        Rule("/__mock/faults", endpoint="faults", methods=["POST"]),
        Rule("/__mock/requests", endpoint="requests", methods=["GET"]),
        Rule("/__mock/webhooks", endpoint="webhooks", methods=["GET", "POST"]),
        Rule("/__mock/webhooks/<webhook_id>", endpoint="delete_webhook", methods=["DELETE"]),
        Rule("/__mock/webhooks/events", endpoint="webhook_events", methods=["GET"]),
        Rule("/__mock/webhooks/deliveries", endpoint="webhook_deliveries", methods=["GET"]),
        Rule(
            "/__mock/webhooks/events/<event_id>/redeliver", endpoint="redeliver", methods=["POST"]
        ),
        Rule("/__mock/webhooks/test", endpoint="test_webhook", methods=["POST"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

OBJECT_KINDS = ("workspace", "token", "publishable_key", "link", "click", "customer", "lead")


class AdminApi:
    """Answers `/__mock/*` calls against the app's store; errors use Dub's envelope."""

    def __init__(self, app: MockApp) -> None:
        self.app = app
        self.adapter = ADMIN_MAP.bind("localhost")
        self.webhook_calls = WebhookCalls(app)

    def handle(
        self, method: str, path: str, authorization: str | None, raw_body: bytes, query: str = ""
    ) -> Answer:
        admin_token = self.app.settings.admin_token
        # The token comes before routing, so that without it even the admin API's shape (which
        # paths and methods exist) stays hidden; only the health check is open.
        open_path = path.rstrip("/") == "/__mock/health"
        if admin_token and not open_path and authorization != f"Bearer {admin_token}":
            raise Unauthorized("The admin API needs Authorization: Bearer <admin token>.")
        try:
            endpoint, arguments = self.adapter.match(path, method=method)
        except RoutingMethodNotAllowed as exc:
            raise MethodNotAllowed(exc.valid_methods or ()) from None
        except HTTPException:  # not found, or a redirect: no admin endpoint answers there
            raise NotFound(f"Unknown admin endpoint {path}") from None
        if endpoint in OBJECT_KINDS:
            return 201, self.create(endpoint, self._json(raw_body))
        if endpoint == "update_workspace":
            data = self._json(raw_body)
            with self.app.store.transaction() as view:
                return 200, self.app.control.update_workspace(view, arguments["workspace_id"], data)
        if endpoint == "fx_rates":
            if method == "PUT":
                return self.put_fx_rates(self._json(raw_body))
            return 200, self.app.store.fx_rates()
        if endpoint == "faults":
            return self.add_fault(self._json(raw_body))
        if endpoint in WEBHOOK_ENDPOINTS:
            return self.webhook_calls.handle(endpoint, method, arguments, raw_body, query)
        answer: Answer = getattr(self, endpoint)()
        return answer

    @staticmethod
    def _json(raw_body: bytes) -> Any:
        if not raw_body.strip():
            raise BadRequest("The admin API expects a JSON object in the request body.")
        return parse_json(raw_body)

    def health(self) -> Answer:
        return 200, {
            "status": "ok",
            "version": __version__,
            "store": self.app.store.url.split("?")[0],
            "fxTableDate": FX_TABLE_DATE,
        }

    def reset(self) -> Answer:
        self.app.reset()
        return 200, {"status": "reset"}

    def state(self) -> Answer:
        snapshot = self.app.store.snapshot()
        for token in snapshot["tokens"]:
            token["token"] = redact_token(str(token["token"]))
        for key in snapshot["publishableKeys"]:
            key["key"] = redact_token(str(key["key"]))
        for webhook in snapshot["webhooks"]:
            webhook["secret"] = redact_token(str(webhook["secret"]))
        return 200, snapshot

    def requests(self) -> Answer:
        return 200, self.app.store.requests()

    def create(self, kind: str, data: Any) -> Any:
        with self.app.store.transaction() as view:
            return getattr(self.app.control, kind)(view, data)

    def put_fx_rates(self, data: Any) -> Answer:
        try:
            rates = parse_rates(data)
        except ValueError as exc:
            raise UnprocessableEntity(str(exc)) from None
        self.app.store.set_fx_rates(rates)
        return 200, self.app.store.fx_rates()

    def add_fault(self, data: Any) -> Answer:
        if not isinstance(data, dict):
            raise UnprocessableEntity("a fault must be a JSON object")
        status, count, delay_ms = data.get("status"), data.get("count", 1), data.get("delayMs", 0)
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        ):
            raise UnprocessableEntity("fault: status must be an integer from 400 to 599")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UnprocessableEntity("fault: count must be an integer ≥ 1")
        if (
            isinstance(delay_ms, bool)
            or not isinstance(delay_ms, int)
            or not 0 <= delay_ms <= 600_000
        ):
            raise UnprocessableEntity("fault: delayMs must be an integer from 0 to 600000")
        if status is None and delay_ms == 0:
            raise UnprocessableEntity("fault: give a status, a delayMs, or both")
        self.app.store.push_fault(status, count, delay_ms)
        return 201, {"status": status, "count": count, "delayMs": delay_ms}
