"""What the helpers return: plain dicts and lists that print readably in an assertion failure.

A record stays a ``dict`` (so ``sale["amount"]`` and ``==`` against a dict work as usual), but
its repr names its kind and leaves out null fields, and a journal entry prints as the HTTP
exchange it was. pytest shows these reprs in ``where ... = dub_mock.sales`` lines and diffs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")


class Record(dict[str, Any]):
    """A camelCase object as ``/__mock/state`` shows it; prints as ``Kind(field=value, ...)``."""

    kind: ClassVar[str] = "Record"
    #: fields printed first, in this order; the others follow in their stored order
    leading: ClassVar[tuple[str, ...]] = ("id",)
    #: fields left out of the repr (long bodies); still there as items
    hidden: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        keys = [k for k in self.leading if k in self]
        keys += [k for k in self if k not in self.leading and k not in self.hidden]
        shown = ", ".join(f"{k}={self[k]!r}" for k in keys if self[k] is not None)
        return f"{self.kind}({shown})"

    def __getattr__(self, name: str) -> Any:
        """``sale.amount`` as a shorthand for ``sale["amount"]`` (camelCase names)."""
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{self.kind} has no field {name!r}") from None


class Workspace(Record):
    kind = "Workspace"
    leading = ("id", "plan", "allowedHostnames")


class Token(Record):
    """A token record; ``str(token)`` is the token itself, ready for an Authorization header."""

    kind = "Token"
    leading = ("token", "workspaceId", "role")

    def __str__(self) -> str:
        return str(self["token"])


class PublishableKey(Record):
    """A publishable key (``dub_pk_...``) for the client routes; ``str(key)`` is the key.

    The one a helper creates holds the key in full; ``/__mock/state`` shows keys redacted.
    """

    kind = "PublishableKey"
    leading = ("key", "workspaceId")

    def __str__(self) -> str:
        return str(self["key"])


class Link(Record):
    kind = "Link"
    leading = ("id", "shortLink", "workspaceId", "disabled", "clicks", "leads", "sales")


class Click(Record):
    """A click; its ``id`` is what a browser's ``dub_id`` cookie holds, the lead's ``clickId``."""

    kind = "Click"
    leading = ("id", "linkId", "workspaceId", "url", "referrer")


class Customer(Record):
    kind = "Customer"
    leading = ("externalId", "id", "name", "linkId", "sales", "saleAmount")


class Lead(Record):
    kind = "Lead"
    leading = ("id", "customerId", "eventName", "linkId", "clickId")


class Sale(Record):
    kind = "Sale"
    leading = ("amount", "currency", "eventName", "invoiceId", "customerId", "linkId")


class Webhook(Record):
    """A webhook endpoint. The one ``add_webhook`` returns holds its secret in full (what the
    receiver verifies ``Dub-Signature`` with); ``dub_mock.webhooks`` shows secrets redacted."""

    kind = "Webhook"
    leading = ("id", "url", "triggers", "workspaceId", "disabled", "consecutiveFailures")


def _json_text(value: Any) -> Any:
    """A body the mock logged as text, parsed when it is JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class WebhookEvent(Record):
    """One event the mock emitted (``/__mock/webhooks/events``); ``payload`` is the JSON body
    every endpoint was sent, ``data`` its ``data``."""

    kind = "WebhookEvent"
    leading = ("id", "event", "delivered", "webhookIds", "deliveredTo", "createdAt")
    hidden = ("body",)

    @property
    def payload(self) -> Any:
        return self.get("body")

    @property
    def data(self) -> Any:
        body = self.get("body")
        return body.get("data") if isinstance(body, dict) else None


class Delivery(Record):
    """One delivery attempt (``/__mock/webhooks/deliveries``): ``status`` is the receiver's
    HTTP status (None when it did not answer, ``error`` then says why)."""

    kind = "Delivery"
    leading = ("eventId", "event", "webhookId", "attempt", "status", "ok", "error", "durationMs")
    hidden = ("requestBody", "responseBody")

    @property
    def payload(self) -> Any:
        """The body sent, parsed."""
        return _json_text(self.get("requestBody"))


class Fault(Record):
    kind = "Fault"
    leading = ("status", "count", "delayMs")


class Records(list[R]):
    """A list of records with two small queries; prints as a list of reprs."""

    def where(self, **fields: Any) -> Records[R]:
        """The records whose fields equal the given values: ``sales.where(invoiceId="INV_1")``."""
        return Records(r for r in self if all(r.get(k) == v for k, v in fields.items()))

    def one(self, **fields: Any) -> R:
        """The single record matching ``fields``; an AssertionError naming what was there if not."""
        found = self.where(**fields)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one record with {fields!r}, found {len(found)} in {self!r}"
            )
        return found[0]


def records(cls: Callable[[dict[str, Any]], R], items: Iterable[dict[str, Any]]) -> Records[R]:
    return Records(cls(item) for item in items)


class DeliveryLog(Records[Delivery]):
    """Every delivery attempt, oldest first; call it for one event's attempts only:
    ``dub_mock.webhook_deliveries(event_id="evt_...")`` (the mock's ``?eventId=`` filter)."""

    def __init__(
        self, items: Iterable[Delivery], fetch: Callable[[str | None], Records[Delivery]]
    ) -> None:
        super().__init__(items)
        self._fetch = fetch

    def __call__(self, event_id: str | None = None) -> Records[Delivery]:
        """The attempts now logged, those of ``event_id`` when given."""
        return self._fetch(event_id)


def _body(value: Any, missing: str = "(body not recorded)") -> str:
    if value is None or value == "":
        return missing
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def _first(entry: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in entry:
            return entry[name]
    return None


class JournalEntry(Record):
    """One request the mock answered: ``POST /track/sale → 200 (1.2 ms)`` when printed."""

    kind = "Request"

    @property
    def method(self) -> str:
        return str(_first(self, "method") or "?")

    @property
    def path(self) -> str:
        return str(_first(self, "path", "url") or "?")

    @property
    def status(self) -> int | None:
        value = _first(self, "status", "statusCode")
        return int(value) if value is not None else None

    @property
    def request_body(self) -> Any:
        return _first(self, "requestBody", "request", "body")

    @property
    def response_body(self) -> Any:
        return _first(self, "responseBody", "response")

    @property
    def json(self) -> Any:
        """The request body parsed as JSON when it is a JSON string, else as stored."""
        return _json_text(self.request_body)

    def summary(self) -> str:
        duration = _first(self, "durationMs", "duration_ms", "duration")
        took = f" ({float(duration):.1f} ms)" if isinstance(duration, (int, float)) else ""
        return f"{self.method} {self.path} → {self.status}{took}"

    def __repr__(self) -> str:
        return f"<{self.summary()} request={_body(self.request_body)}>"

    def describe(self) -> str:
        """Several lines: the exchange, what was sent and what came back."""
        return (
            f"{self.summary()}\n"
            f"    sent: {_body(self.request_body)}\n"
            f"    got:  {_body(self.response_body, '(no body)')}"
        )


def format_journal(entries: Iterable[JournalEntry]) -> str:
    """The text of the report section a failing test gains."""
    lines = [entry.describe() for entry in entries]
    if not lines:
        return "(no API requests reached the mock during this test)"
    return "\n".join(lines)
