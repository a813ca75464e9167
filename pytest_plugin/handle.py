"""The object a test gets from ``dub_mock`` / ``dub_mock_app``: seed the mock, break it, inspect it.

Every helper is one admin-API call (``/__mock/...``) made through a transport, so the live server
and the in-process app share this one implementation and behave alike. Helpers take snake_case
keywords (``link_id=``) or the admin API's camelCase (``linkId=``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .records import (
    Click,
    Customer,
    Delivery,
    DeliveryLog,
    Fault,
    JournalEntry,
    Lead,
    Link,
    PublishableKey,
    Record,
    Records,
    Sale,
    Token,
    Webhook,
    WebhookEvent,
    Workspace,
    records,
)
from .transport import Transport

if TYPE_CHECKING:
    from mockserver.app import MockApp

DEFAULT_TOKEN = "dub_mock_key"
DEFAULT_WORKSPACE = "ws_mock"
#: The record class of each ``/__mock/state`` list; a kind not named here reads as ``Record``.
STATE_KINDS: dict[str, type[Record]] = {
    "workspaces": Workspace,
    "tokens": Token,
    "publishableKeys": PublishableKey,
    "links": Link,
    "clicks": Click,
    "customers": Customer,
    "leads": Lead,
    "sales": Sale,
    "webhooks": Webhook,
}
#: Dub's webhook triggers, the ones ``add_webhook`` subscribes to by default.
TRIGGERS = ("link.clicked", "lead.created", "sale.created")


class DubMockAdminError(AssertionError):
    """An admin call the mock refused: the helper was given something the mock cannot hold.

    An ``AssertionError`` so that pytest shows it as a test failure with the mock's own message.
    """

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = f"{error.get('code')}: {error.get('message')}"
        else:
            detail = repr(body)
        super().__init__(f"dub-mock refused {method} {path} → {status} {detail}")
        self.status = status
        self.body = body


def camel(name: str) -> str:
    """``link_id`` → ``linkId``; camelCase names pass unchanged."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {camel(k): v for k, v in fields.items() if v is not None}


def admin_path(seed_kind: str) -> str:
    """The admin call that creates one item of a seed list: ``publishableKeys`` →
    ``/__mock/publishable-keys``."""
    return "/__mock/" + re.sub(r"(?<!^)(?=[A-Z])", "-", seed_kind).lower()


def seed_kinds() -> tuple[str, ...]:
    """The seed file's lists, in the order the mock creates them (``dub-mock serve --seed``'s
    own table, so the helpers and the server never disagree on the format)."""
    from mockserver.seed import SEED_KINDS

    return tuple(SEED_KINDS)


def trigger_list(triggers: Iterable[str] | str) -> list[str]:
    """``"sale.created"`` → one trigger; a list or tuple of them as it is."""
    return [triggers] if isinstance(triggers, str) else list(triggers)


def event_id_of(event: str | Mapping[str, Any]) -> str:
    """An event id, from itself, a ``WebhookEvent`` or a received payload (``{"id": ...}``)."""
    if isinstance(event, str):
        return event
    event_id = event.get("id") if isinstance(event, Mapping) else None
    if not isinstance(event_id, str):
        raise TypeError(f"not a webhook event or its id: {event!r}")
    return event_id


def hostname_list(hostnames: Iterable[str]) -> list[str]:
    """The allowed hostnames as a list of strings; a bare string would be split into letters."""
    listed = [hostnames] if isinstance(hostnames, str) else list(hostnames)
    if not all(isinstance(h, str) and h for h in listed):
        raise TypeError(f"allowed hostnames are non-empty strings, not {listed!r}")
    return listed


class DubMock:
    """Helpers around one running mock; ``url`` and ``token`` are what your code under test needs.

    ``reset()`` brings back the state the test started with: the mock's start state plus whatever
    ``@pytest.mark.dub_mock(...)`` asked for.
    """

    kind = "live server"

    def __init__(
        self,
        transport: Transport,
        url: str,
        *,
        token: str = DEFAULT_TOKEN,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> None:
        self.transport = transport
        self.url = url
        self.token = token
        self.workspace_id = workspace_id
        self._config: dict[str, Any] = {}
        self._kept_webhooks: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} token={self.token!r}>"

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, data = self.transport.call(method, path, body)
        if status != expect:
            raise DubMockAdminError(method, path, status, data)
        return data

    def _create(self, kind: str, body: dict[str, Any]) -> Any:
        return self._call("POST", f"/__mock/{kind}", body, expect=201)

    def _workspace_path(self, workspace_id: str | None) -> str:
        return "/__mock/workspaces/" + quote(workspace_id or self.workspace_id, safe="")

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for the default token."""
        return {"Authorization": f"Bearer {self.token}"}

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state this test started with (start state + the test's marker, and the
        ``dub_webhooks`` endpoint when the test uses that fixture)."""
        self._call("POST", "/__mock/reset")
        if self._config:
            self._apply(self._config)
        for body in self._kept_webhooks:
            self._create("webhooks", body)

    def begin_test(self, config: Mapping[str, Any]) -> None:
        """Reset, then apply one test's marker (what the fixtures call before each test)."""
        self._config = dict(config)
        self._kept_webhooks = []
        self.reset()

    def _keep_webhook(self, webhook: Webhook) -> None:
        """Register ``webhook`` again, same id, URL and secret, after each ``reset()`` of this
        test (what ``dub_webhooks`` asks for its endpoint); the next test starts without it."""
        fields = ("id", "url", "secret", "triggers", "workspaceId", "retryScheduleMs", "timeoutMs")
        self._kept_webhooks.append({k: webhook[k] for k in fields if k in webhook})

    def _forget_webhook(self, webhook_id: str) -> None:
        """Stop re-registering an endpoint ``_keep_webhook`` kept."""
        self._kept_webhooks = [w for w in self._kept_webhooks if w.get("id") != webhook_id]

    def _apply(self, config: Mapping[str, Any]) -> None:
        if config.get("seed") is not None:
            self.seed(config["seed"])
        if config.get("plan") is not None:
            self.set_plan(config["plan"])
        if config.get("allowed_hostnames") is not None:
            self.allow_hostnames(*config["allowed_hostnames"])
        if config.get("role") is not None or config.get("rate_limit_per_minute") is not None:
            self.add_token(
                self.token,
                workspace_id=self.workspace_id,
                role=config.get("role") or "owner",
                rate_limit_per_minute=config.get("rate_limit_per_minute"),
            )

    def seed(self, data: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        """Create the objects of a seed mapping, or of a YAML/JSON seed file, in dependency order.

        The format is ``dub-mock serve --seed``'s: ``workspaces``, ``tokens``,
        ``publishableKeys``, ``webhooks``, ``links``, ``clicks``, ``customers``, ``leads`` (lists
        of admin-API objects, each posted to the admin call of that name) and ``fxRates``.
        """
        from mockserver.seed import check_seed, read_seed_file

        loaded = (
            check_seed(data, "dub_mock seed")
            if isinstance(data, Mapping)
            else read_seed_file(os.fspath(data))
        )
        for kind in seed_kinds():
            for item in loaded.get(kind) or []:
                self._call("POST", admin_path(kind), item, expect=201)
        if loaded.get("fxRates"):
            self._call("PUT", "/__mock/fx-rates", dict(loaded["fxRates"]))

    @property
    def state(self) -> dict[str, Records[Any]]:
        """Everything the mock holds, by kind (keys and tokens redacted), as ``/__mock/state``
        shows it."""
        raw = self._call("GET", "/__mock/state")
        others = [k for k, v in raw.items() if isinstance(v, list) and k not in STATE_KINDS]
        kinds: dict[str, type[Record]] = {**STATE_KINDS, **dict.fromkeys(others, Record)}
        return {kind: records(cls, raw.get(kind, [])) for kind, cls in kinds.items()}

    def _kind(self, kind: str, cls: Any) -> Records[Any]:
        return records(cls, self._call("GET", "/__mock/state").get(kind, []))

    @property
    def sales(self) -> Records[Sale]:
        """The sales recorded, oldest first."""
        return self._kind("sales", Sale)

    @property
    def customers(self) -> Records[Customer]:
        return self._kind("customers", Customer)

    @property
    def links(self) -> Records[Link]:
        return self._kind("links", Link)

    @property
    def clicks(self) -> Records[Click]:
        """The clicks, oldest first: from ``/track/click`` and from ``add_click``."""
        return self._kind("clicks", Click)

    @property
    def leads(self) -> Records[Lead]:
        """The lead events, oldest first: one per event recorded (``eventQuantity`` 3 → 3)."""
        return self._kind("leads", Lead)

    @property
    def publishable_keys(self) -> Records[PublishableKey]:
        """The publishable keys, redacted as ``/__mock/state`` shows them (``dub_…xy``)."""
        return self._kind("publishableKeys", PublishableKey)

    @property
    def workspaces(self) -> Records[Workspace]:
        return self._kind("workspaces", Workspace)

    @property
    def webhooks(self) -> Records[Webhook]:
        """The webhook endpoints, secrets redacted (``whse…ef``), as ``/__mock/webhooks`` lists
        them; ``add_webhook``'s answer holds the secret in full."""
        return records(Webhook, self._call("GET", "/__mock/webhooks"))

    @property
    def webhook_events(self) -> Records[WebhookEvent]:
        """Every event the mock emitted to at least one endpoint, oldest first: ``id``,
        ``event``, ``webhookIds``, ``delivered``, ... and ``payload`` (the body sent)."""
        return records(WebhookEvent, self._call("GET", "/__mock/webhooks/events"))

    @property
    def webhook_deliveries(self) -> DeliveryLog:
        """Every delivery attempt, oldest first (``attempt``, ``status``, ``ok``, ``error``,
        ``durationMs``, ...); ``webhook_deliveries(event_id="evt_...")`` for one event's."""
        return DeliveryLog(self._deliveries(None), self._deliveries)

    def _deliveries(self, event_id: str | None) -> Records[Delivery]:
        query = "" if event_id is None else "?eventId=" + quote(event_id, safe="")
        return records(Delivery, self._call("GET", "/__mock/webhooks/deliveries" + query))

    @property
    def requests(self) -> Records[JournalEntry]:
        """The journal: every API request since the last reset, oldest first (admin calls aside)."""
        return records(JournalEntry, self._call("GET", "/__mock/requests"))

    @property
    def fx_rates(self) -> dict[str, float]:
        """Units of each currency per 1 USD, as the mock converts with them now."""
        rates: dict[str, float] = self._call("GET", "/__mock/fx-rates")
        return rates

    # -- seeding ----------------------------------------------------------------------------

    def add_workspace(
        self, id: str, plan: str = "business", *, allowed_hostnames: Iterable[str] | None = None
    ) -> Workspace:
        """Create a workspace, or redefine an existing one (the default one too): its plan, and
        its allowed hostnames (none: every origin may track from the browser)."""
        body: dict[str, Any] = {"id": id, "plan": plan}
        if allowed_hostnames is not None:
            body["allowedHostnames"] = hostname_list(allowed_hostnames)
        return Workspace(self._create("workspaces", body))

    def set_plan(self, plan: str, *, workspace_id: str | None = None) -> Workspace:
        """Move a workspace (the default one unless named) to another plan, keeping the rest."""
        return Workspace(self._call("PATCH", self._workspace_path(workspace_id), {"plan": plan}))

    def allow_hostnames(self, *hostnames: str, workspace_id: str | None = None) -> Workspace:
        """The pages allowed to track from the browser (``/track/click``, the client routes):
        ``allow_hostnames("shop.example", "*.shop.example")``; none allows every origin again."""
        body = {"allowedHostnames": hostname_list(hostnames)}
        return Workspace(self._call("PATCH", self._workspace_path(workspace_id), body))

    def add_publishable_key(
        self, key: str | None = None, *, workspace_id: str | None = None
    ) -> PublishableKey:
        """A publishable key for the client routes (``/track/lead/client``,
        ``/track/sale/client``); ``str()`` of the result is the key, ``dub_pk_...``, made up
        when not given."""
        body = camel_fields({"key": key, "workspace_id": workspace_id})
        return PublishableKey(self._create("publishable-keys", body))

    def add_token(
        self,
        token: str,
        *,
        plan: str | None = None,
        role: str = "owner",
        workspace_id: str | None = None,
        expired: bool = False,
        rate_limit_per_minute: int | None = None,
    ) -> Token:
        """Add (or redefine) an API token; ``str()`` of the result is the token.

        With ``plan`` and no ``workspace_id`` the token gets a workspace of its own, ``ws_<token>``,
        on that plan; with both, that workspace is created or moved to that plan.
        """
        if plan is not None:
            workspace_id = workspace_id or f"ws_{token}"
            self.add_workspace(workspace_id, plan=plan)
        body = camel_fields(
            {
                "token": token,
                "workspace_id": workspace_id or self.workspace_id,
                "role": role,
                "expired": expired,
                "rate_limit_per_minute": rate_limit_per_minute,
            }
        )
        return Token(self._create("tokens", body))

    def add_link(
        self,
        id: str | None = None,
        *,
        domain: str | None = None,
        key: str | None = None,
        url: str | None = None,
        disabled: bool | None = None,
        workspace_id: str | None = None,
        **fields: Any,
    ) -> Link:
        """A short link, ``https://{domain}/{key}`` (``shortLink``), to ``url``: the defaults
        are ``dub.sh``, a random 7-character key and ``https://example.com``. ``/track/click``
        finds it by domain and key; ``disabled=True`` makes conversions on it 404."""
        body = {
            "id": id,
            "domain": domain,
            "key": key,
            "url": url,
            "disabled": disabled,
            "workspace_id": workspace_id,
            **fields,
        }
        return Link(self._create("links", camel_fields(body)))

    def add_click(
        self,
        id: str | None = None,
        *,
        link_id: str | None = None,
        url: str | None = None,
        referrer: str | None = None,
        workspace_id: str | None = None,
        **fields: Any,
    ) -> Click:
        """A click, as if a visitor had followed a link: its ``id`` is what the browser's
        ``dub_id`` cookie holds, the ``clickId`` of a lead or a direct sale. Makes a link when
        ``link_id`` names none, and keeps a ``link_id`` that names no link dangling. Unlike
        ``POST /track/click`` it does not count in the link's ``clicks``."""
        body = {
            "id": id,
            "link_id": link_id,
            "url": url,
            "referrer": referrer,
            "workspace_id": workspace_id,
            **fields,
        }
        return Click(self._create("clicks", camel_fields(body)))

    def add_customer(self, external_id: str, **fields: Any) -> Customer:
        """A customer with a "Sign up" lead, ready to buy (``name=``, ``email=``, ``link_id=``,
        ``click_id=`` (the click and its link), ``lead_event_name=``, ``lead=False`` for none,
        ``workspace_id=``)."""
        return Customer(
            self._create("customers", camel_fields({"externalId": external_id, **fields}))
        )

    def add_lead(
        self, customer_external_id: str, event_name: str, *, workspace_id: str | None = None
    ) -> Lead:
        """Another lead event for an existing customer."""
        body = camel_fields(
            {
                "customerExternalId": customer_external_id,
                "eventName": event_name,
                "workspace_id": workspace_id,
            }
        )
        return Lead(self._create("leads", body))

    def set_fx_rate(self, code: str, rate: float) -> dict[str, float]:
        """Units of ``code`` per 1 USD from now on: ``set_fx_rate("EUR", 0.9)``; the new table."""
        return self.set_fx_rates({code: rate})

    def set_fx_rates(self, rates: Mapping[str, float]) -> dict[str, float]:
        table: dict[str, float] = self._call("PUT", "/__mock/fx-rates", dict(rates))
        return table

    def add_webhook(
        self,
        url: str,
        *,
        triggers: Iterable[str] | str | None = None,
        secret: str | None = None,
        retry_schedule_ms: Iterable[int] | None = None,
        timeout_ms: int | None = None,
        workspace_id: str | None = None,
        id: str | None = None,
        **fields: Any,
    ) -> Webhook:
        """A webhook endpoint: the mock sends Dub's ``link.clicked``, ``lead.created`` and
        ``sale.created`` (or ``triggers``) of the workspace to ``url``, signed with ``secret``
        (made up, ``whsec_`` + 32 hex, when not given). ``retry_schedule_ms`` is the wait
        before each retry after a failed attempt (the mock's default is 1 s, 5 s, 30 s, 2 min,
        10 min; ``[50, 200]`` suits a test), ``timeout_ms`` how long an attempt may take
        (default 10 s). The answer holds the secret in full."""
        body = {
            "url": url,
            "triggers": None if triggers is None else trigger_list(triggers),
            "secret": secret,
            "retry_schedule_ms": None if retry_schedule_ms is None else list(retry_schedule_ms),
            "timeout_ms": timeout_ms,
            "workspace_id": workspace_id,
            "id": id,
            **fields,
        }
        return Webhook(self._create("webhooks", camel_fields(body)))

    def delete_webhook(self, webhook_id: str) -> None:
        """Remove an endpoint: nothing more is sent to it, its pending retries included."""
        self._call("DELETE", "/__mock/webhooks/" + quote(webhook_id, safe=""))

    def redeliver(self, event: str | Mapping[str, Any]) -> list[str]:
        """Send a logged event again, the same id and bytes, to its endpoints that still exist
        (an event id, a ``WebhookEvent``, or a payload a receiver got); their ids."""
        path = "/__mock/webhooks/events/" + quote(event_id_of(event), safe="") + "/redeliver"
        answer = self._call("POST", path, expect=202)
        return list(answer.get("webhookIds") or [])

    def send_test_webhook(
        self,
        event: str = "sale.created",
        *,
        webhook_id: str | None = None,
        url: str | None = None,
        secret: str | None = None,
    ) -> str:
        """A sample event of type ``event``, signed and delivered like any other, to one
        endpoint (``webhook_id``) or to ``url`` with ``secret`` (no endpoint needed); its id."""
        fields = {"event": event, "webhook_id": webhook_id, "url": url, "secret": secret}
        body = camel_fields(fields)
        answer = self._call("POST", "/__mock/webhooks/test", body, expect=202)
        return str(answer["eventId"])

    def fail_next(self, status: int | None = 500, count: int = 1, delay_ms: int = 0) -> Fault:
        """The next ``count`` API requests answer ``status`` in Dub's envelope, after ``delay_ms``.

        ``fail_next(None, delay_ms=2000)`` only slows them down.
        """
        body = {"status": status, "count": count, "delayMs": delay_ms}
        return Fault(self._create("faults", body))


class DubMockApp(DubMock):
    """The same helpers around an in-process WSGI app: ``client`` is a ``werkzeug.test.Client``.

    Hand ``app`` to any WSGI test client, or use ``post_sale(...)`` for the common call.
    """

    kind = "in-process app"

    def __init__(self, transport: Transport, app: MockApp, **kwargs: Any) -> None:
        from werkzeug.test import Client

        super().__init__(transport, "http://localhost", **kwargs)
        self.app = app
        self.client = Client(app)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} in-process token={self.token!r}>"

    def post_sale(self, body: Any, *, token: str | None = None, **kwargs: Any) -> Any:
        """``POST /track/sale`` through ``client`` with the token; returns the werkzeug response."""
        return self._post("/track/sale", body, token or self.token, **kwargs)

    def post_lead(self, body: Any, *, token: str | None = None, **kwargs: Any) -> Any:
        """``POST /track/lead`` through ``client`` with the token; returns the werkzeug response."""
        return self._post("/track/lead", body, token or self.token, **kwargs)

    def post_click(self, body: Any, **kwargs: Any) -> Any:
        """``POST /track/click`` as a browser sends it (no key; pass ``headers={"Referer": ...}``
        for the allowed-hostnames check); returns the werkzeug response."""
        return self._post("/track/click", body, None, **kwargs)

    def _post(self, path: str, body: Any, token: str | None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers = {"Authorization": f"Bearer {token}", **headers}
        return self.client.post(path, json=body, headers=headers, **kwargs)
