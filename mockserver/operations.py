"""The spec's operations by operationId: how each reads its checked body and the request, and
which tracker in `track/` answers it. The one place where HTTP meets the funnel's logic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .auth import Principal
from .errors import NotFound
from .models import Clock, IdFactory
from .store import Store
from .track.click import ClickRequest, ClickTracker, Visitor
from .track.common import EventSink
from .track.hostnames import check_hostname
from .track.lead import LeadRequest, LeadTracker
from .track.sale import SaleRequest, SaleTracker
from .validation import check_body

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .spec import Operation

LEAD_TRIMMED = frozenset({"eventName", "customerExternalId"})


@dataclass(frozen=True, slots=True)
class Rules:
    """How Dub reads one operation's body, and whether browsers call it."""

    aliases: bool = True  # the deprecated customerExternalId aliases (400 when none is given)
    trimmed: frozenset[str] = frozenset()
    browser: bool = False  # Dub's fixed CORS headers; allowed hostnames with a publishable key


RULES: dict[str, Rules] = {
    "trackSale": Rules(),
    "trackLead": Rules(trimmed=LEAD_TRIMMED),
    "trackClick": Rules(aliases=False, browser=True),
    "trackLeadClient": Rules(aliases=False, trimmed=LEAD_TRIMMED, browser=True),
    "trackSaleClient": Rules(aliases=False, browser=True),
}

Handler = Callable[
    [Principal | None, dict[str, Any], "str | None", "Operation", "WSGIEnvironment"], Any
]


class Operations:
    """The trackers behind the spec's operations, over one store."""

    def __init__(self, store: Store, ids: IdFactory, clock: Clock, events: EventSink) -> None:
        self.sale = SaleTracker(store, ids, clock, events)
        self.lead = LeadTracker(store, ids, clock, events)
        self.click = ClickTracker(store, ids, clock, events)
        self._handlers: dict[str, Handler] = {
            "trackSale": self._sale,
            "trackSaleClient": self._sale,
            "trackLead": self._lead,
            "trackLeadClient": self._lead,
            "trackClick": self._click,
        }

    def browser_paths(self, operations: dict[str, Operation]) -> frozenset[str]:
        return frozenset(
            op.path for op in operations.values() if rules_for(op.operation_id).browser
        )

    def handle(
        self, operation: Operation, principal: Principal | None, body: Any, environ: WSGIEnvironment
    ) -> Any:
        """Rules 10-12 (or §4's, §5's), then the operation's logic; its 200 answer."""
        handler = self._handlers.get(operation.operation_id)
        if handler is None:
            raise NotFound(f"dub-mock has no behaviour for operation {operation.operation_id}.")
        rules = rules_for(operation.operation_id)
        assert operation.request_validator is not None
        external_id = check_body(
            body,
            operation.request_validator,
            operation.integer_fields,
            aliases=rules.aliases,
            trimmed=rules.trimmed,
        )
        if principal is not None and rules.browser:
            check_hostname(
                principal.workspace.get("allowedHostnames") or (),
                environ.get("HTTP_REFERER"),
                environ.get("HTTP_ORIGIN"),
            )
        return handler(principal, body, external_id, operation, environ)

    def _sale(
        self,
        principal: Principal | None,
        body: dict[str, Any],
        external_id: str | None,
        operation: Operation,
        environ: WSGIEnvironment,
    ) -> Any:
        assert principal is not None and external_id is not None
        sale = SaleRequest(body, external_id, operation.defaults)
        return self.sale.track(principal.workspace_id, sale)

    def _lead(
        self,
        principal: Principal | None,
        body: dict[str, Any],
        external_id: str | None,
        operation: Operation,
        environ: WSGIEnvironment,
    ) -> Any:
        assert principal is not None and external_id is not None
        return self.lead.track(principal.workspace_id, LeadRequest(body, external_id))

    def _click(
        self,
        principal: Principal | None,
        body: dict[str, Any],
        external_id: str | None,
        operation: Operation,
        environ: WSGIEnvironment,
    ) -> Any:
        return self.click.track(ClickRequest(body), visitor(environ))


def rules_for(operation_id: str) -> Rules:
    return RULES.get(operation_id, RULES["trackSale"])


def visitor(environ: WSGIEnvironment) -> Visitor:
    """The browser behind a request: its address (the first X-Forwarded-For hop, as behind a
    proxy, else the peer), User-Agent, the page it came from, and `dub-no-track`."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() or environ.get("REMOTE_ADDR", "")
    query = environ.get("QUERY_STRING", "")
    no_track = "HTTP_DUB_NO_TRACK" in environ or (
        "dub-no-track" in query and "dub-no-track" in parse_qs(query, keep_blank_values=True)
    )
    return Visitor(
        ip=ip,
        user_agent=environ.get("HTTP_USER_AGENT", ""),
        referer=environ.get("HTTP_REFERER"),
        origin=environ.get("HTTP_ORIGIN"),
        no_track=no_track,
    )
