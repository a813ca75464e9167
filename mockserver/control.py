"""Creating workspaces, tokens, publishable keys, links, clicks, customers and leads: shared by
the admin API and seed files, so both check input the same way and change nothing when bad."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .auth import PUBLISHABLE_PREFIX
from .errors import Conflict, NotFound, UnprocessableEntity
from .models import (
    DEFAULT_DOMAIN,
    DEFAULT_LINK_URL,
    PLANS,
    ROLES,
    Clock,
    IdFactory,
    Record,
    iso_time,
    new_customer,
    new_link,
)
from .settings import DEFAULT_WORKSPACE
from .store import StateView
from .track.common import normalise_domain
from .webhooks.outbox import DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_TIMEOUT_MS, TRIGGERS


class Fields:
    """Typed reads from an admin payload; a wrong type is a 422 naming the field."""

    def __init__(self, data: Any, kind: str) -> None:
        if not isinstance(data, Mapping):
            raise UnprocessableEntity(f"a {kind} must be a JSON object")
        self._data = data
        self._kind = kind

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self._data.get(name)
        if value is None:
            if required:
                raise UnprocessableEntity(f"{self._kind}: {name} is required")
            return default
        if not isinstance(value, str) or (required and not value):
            raise UnprocessableEntity(f"{self._kind}: {name} must be a non-empty string")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self._data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise UnprocessableEntity(f"{self._kind}: {name} must be true or false")
        return value

    def count(self, name: str, *, low: int, high: int | None = None) -> int | None:
        value = self._data.get(name)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            upper = f" and {high}" if high is not None else ""
            raise UnprocessableEntity(f"{self._kind}: {name} must be an integer ≥ {low}{upper}")
        return value

    def texts(self, name: str) -> list[str] | None:
        """A list of non-empty strings (allowed hostnames), lower-cased; None when absent."""
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise UnprocessableEntity(f"{self._kind}: {name} must be a list of non-empty strings")
        return [v.strip().lower() for v in value]

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self._data.get(name, default)
        if value not in options:
            raise UnprocessableEntity(
                f"{self._kind}: {name} must be one of {', '.join(options)}, not {value!r}"
            )
        return str(value)


class Control:
    """The control plane's writes; every method runs inside the caller's transaction."""

    def __init__(self, ids: IdFactory, clock: Clock) -> None:
        self.ids = ids
        self.clock = clock

    def _workspace_id(self, view: StateView, fields: Fields) -> str:
        workspace_id = fields.text("workspaceId", default=DEFAULT_WORKSPACE)
        assert workspace_id is not None
        if view.workspace(workspace_id) is None:
            raise NotFound(f"Workspace {workspace_id} not found")
        return workspace_id

    def workspace(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "workspace")
        record = {
            "id": fields.text("id", required=True),
            "plan": fields.choice("plan", PLANS, "business"),
            "allowedHostnames": fields.texts("allowedHostnames") or [],
        }
        view.put_workspace(record)
        return record

    def update_workspace(self, view: StateView, workspace_id: str, data: Any) -> Record:
        """PATCH: a new plan and/or allowed hostnames for an existing workspace."""
        fields = Fields(data, "workspace")
        record = view.workspace(workspace_id)
        if record is None:
            raise NotFound(f"Workspace {workspace_id} not found")
        if "plan" in data:
            record["plan"] = fields.choice("plan", PLANS, record.get("plan", "business"))
        hostnames = fields.texts("allowedHostnames")
        if hostnames is not None:
            record["allowedHostnames"] = hostnames
        view.put_workspace(record)
        return record

    def publishable_key(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "publishable key")
        key = fields.text("key") or self.ids.publishable_key()
        if not key.startswith(PUBLISHABLE_PREFIX):
            raise UnprocessableEntity(f"publishable key: key must start with {PUBLISHABLE_PREFIX}")
        record = {"key": key, "workspaceId": self._workspace_id(view, fields)}
        view.put_publishable_key(record)
        return record

    def token(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "token")
        token = fields.text("token", required=True)
        record = {
            "token": token,
            "workspaceId": self._workspace_id(view, fields),
            "role": fields.choice("role", ROLES, "owner"),
            "expired": fields.flag("expired", False),
            "rateLimitPerMinute": fields.count("rateLimitPerMinute", low=1),
        }
        view.put_token(record)
        return record

    def webhook(self, view: StateView, data: Any) -> Record:
        """An endpoint Dub's webhooks are sent to: its URL, secret, triggers and schedule."""
        fields = Fields(data, "webhook")
        url = fields.text("url", required=True)
        assert url is not None
        if not _is_web_url(url):
            raise UnprocessableEntity("webhook: url must be an http:// or https:// URL")
        triggers = data.get("triggers", list(TRIGGERS))
        if (
            not isinstance(triggers, list)
            or not triggers
            or any(t not in TRIGGERS for t in triggers)
        ):
            raise UnprocessableEntity(
                f"webhook: triggers must be a non-empty list of {', '.join(TRIGGERS)}"
            )
        schedule = data.get("retryScheduleMs", list(DEFAULT_RETRY_SCHEDULE_MS))
        if (
            not isinstance(schedule, list)
            or len(schedule) > 20
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 86_400_000
                   for d in schedule)
        ):  # fmt: skip
            raise UnprocessableEntity(
                "webhook: retryScheduleMs must be a list of at most 20 delays in ms (0-86400000)"
            )
        record = {
            "id": fields.text("id") or self.ids.webhook_id(),
            "url": url,
            "secret": fields.text("secret") or self.ids.webhook_secret(),
            "triggers": [t for t in TRIGGERS if t in triggers],
            "workspaceId": self._workspace_id(view, fields),
            "disabled": fields.flag("disabled", False),
            "consecutiveFailures": 0,
            "retryScheduleMs": schedule,
            "timeoutMs": fields.count("timeoutMs", low=1, high=120_000) or DEFAULT_TIMEOUT_MS,
            "createdAt": iso_time(self.clock()),
        }
        view.put_webhook(record)
        return record

    def link(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "link")
        link_id = fields.text("id") or self.ids.link_id()
        workspace_id = self._workspace_id(view, fields)
        domain = normalise_domain(fields.text("domain") or DEFAULT_DOMAIN)
        if not domain:
            raise UnprocessableEntity("link: domain must name a host")
        key = fields.text("key")
        if key is not None and (not key or any(c.isspace() or c in "/?#" for c in key)):
            raise UnprocessableEntity("link: key must be non-empty, without spaces, /, ? or #")
        url = fields.text("url") or DEFAULT_LINK_URL
        if not _is_web_url(url):
            raise UnprocessableEntity("link: url must be an http:// or https:// URL")
        if key is None:
            key = self.ids.link_key()
            while view.link_by_key(domain, key) is not None:
                key = self.ids.link_key()
        taken = view.link_by_key(domain, key)
        if taken is not None and taken["id"] != link_id:
            raise Conflict(f"A link with domain {domain} and key {key} already exists.")
        record = new_link(
            link_id,
            workspace_id,
            domain=domain,
            key=key,
            url=url,
            disabled=fields.flag("disabled", False),
            created_at=iso_time(self.clock()),
        )
        view.add_link(record)
        return record

    def click(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "click")
        click_id = fields.text("id") or self.ids.click_id()
        link_id = fields.text("linkId")
        workspace_id: str | None = None
        if "workspaceId" in (data or {}):
            workspace_id = self._workspace_id(view, fields)
        if link_id is None:
            link_id = self.link(view, {"workspaceId": workspace_id or DEFAULT_WORKSPACE})["id"]
        link = view.link(link_id)
        if workspace_id is None:
            workspace_id = link["workspaceId"] if link else DEFAULT_WORKSPACE
        record = {
            "id": click_id,
            "linkId": link_id,
            "workspaceId": workspace_id,
            "url": fields.text("url") or (link or {}).get("url"),
            "referrer": fields.text("referrer"),
            "ip": None,
            "ua": None,
            "timestamp": iso_time(self.clock()),
        }
        view.put_click(record)
        return record

    def customer(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "customer")
        external_id = fields.text("externalId", required=True)
        assert external_id is not None
        workspace_id = self._workspace_id(view, fields)
        name = fields.text("name")
        email = fields.text("email")
        avatar = fields.text("avatar")
        link_id = fields.text("linkId")
        click_id = fields.text("clickId")
        if click_id is not None:
            click = view.click(click_id)
            if click is None:
                raise NotFound(f"Click {click_id} not found")
            link_id = link_id or click.get("linkId")
        with_lead = fields.flag("lead", True)
        event_name = fields.text("leadEventName", default="Sign up")
        customer_id = fields.text("id") or self.ids.customer_id()
        existing = view.customer(workspace_id, external_id)
        if existing is not None and existing["id"] != customer_id:
            customer_id = existing["id"]
        if link_id is None:
            link_id = self.link(view, {"workspaceId": workspace_id})["id"]
        record = new_customer(
            customer_id,
            external_id,
            workspace_id,
            name=name or self.ids.random_name(),
            email=email,
            avatar=avatar,
            link_id=link_id,
            click_id=click_id,
            created_at=iso_time(self.clock()),
        )
        view.put_customer(record)
        if with_lead:
            assert event_name is not None
            self._add_lead(view, record, event_name)
        return record

    def lead(self, view: StateView, data: Any) -> Record:
        fields = Fields(data, "lead")
        external_id = fields.text("customerExternalId", required=True)
        event_name = fields.text("eventName", required=True)
        assert external_id is not None and event_name is not None
        workspace_id = self._workspace_id(view, fields)
        customer = view.customer(workspace_id, external_id)
        if customer is None:
            raise NotFound(f"Customer {external_id} not found in workspace {workspace_id}")
        return self._add_lead(view, customer, event_name)

    def _add_lead(self, view: StateView, customer: Record, event_name: str) -> Record:
        record = {
            "id": self.ids.event_id(),
            "customerId": customer["id"],
            "workspaceId": customer["workspaceId"],
            "eventName": event_name,
            "linkId": customer.get("linkId"),
            "clickId": customer.get("clickId"),
            "metadata": None,
            "timestamp": iso_time(self.clock()),
        }
        view.put_lead(record)
        link = view.link(customer["linkId"]) if customer.get("linkId") else None
        if link is not None:
            link["leads"] = link.get("leads", 0) + 1
            view.put_link(link)
        return record


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
