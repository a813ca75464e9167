"""What the funnel's operations share: link checks, new customers and leads, the answers'
shapes, and the seam through which recorded events leave for the webhooks."""

from __future__ import annotations

import contextlib
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import NotFound
from ..models import IdFactory, Record, new_customer
from ..store import StateView


class EventSink(Protocol):
    """Where a recorded click, lead or sale is announced, inside the same unit of work.

    `records` holds what the event is about (`click`, `link`, `customer`, `lead`, `sale`);
    the sink shapes Dub's webhook body from them and queues its deliveries.
    """

    def emit(
        self, view: StateView, workspace_id: str, trigger: str, records: dict[str, Any], now: float
    ) -> None: ...


class NoEvents:
    """The sink of an app without webhooks: events go nowhere."""

    def emit(
        self, view: StateView, workspace_id: str, trigger: str, records: dict[str, Any], now: float
    ) -> None:
        return None


def normalise_domain(domain: str) -> str:
    """A link's domain as Dub looks it up: the hostname of a full URL, lower-cased, no `www.`."""
    value = domain.strip()
    if "://" in value:
        with contextlib.suppress(ValueError):
            value = urlsplit(value).hostname or ""
    value = value.lower()
    return value[4:] if value.startswith("www.") else value


def live_link(view: StateView, link_id: str | None, owner: str, conversion: str) -> Record:
    """The link a conversion is credited to: missing → 404, disabled → 404."""
    link = view.link(link_id) if link_id else None
    if link is None:
        raise NotFound(f"Link not found for {owner}")
    if link.get("disabled"):
        raise NotFound(f"Link {link['id']} for {owner} is disabled, {conversion} not tracked")
    return link


def add_customer(
    view: StateView,
    ids: IdFactory,
    workspace_id: str,
    external_id: str,
    *,
    name: str | None,
    email: str | None,
    avatar: str | None,
    click: Record,
    link: Record,
    created_at: str,
) -> Record:
    """A customer created by a conversion: Dub's placeholder name when none is given."""
    customer = new_customer(
        ids.customer_id(),
        external_id,
        workspace_id,
        name=name or email or ids.random_name(),
        email=email,
        avatar=avatar,
        link_id=link["id"],
        click_id=click["id"],
        created_at=created_at,
    )
    view.put_customer(customer)
    return customer


def add_leads(
    view: StateView,
    ids: IdFactory,
    customer: Record,
    link: Record,
    click_id: str,
    *,
    event_name: str,
    metadata: dict[str, Any] | None,
    quantity: int,
    timestamp: str,
) -> list[Record]:
    """Record `quantity` lead events for a customer; the link counts them."""
    leads = []
    for _ in range(quantity):
        lead = {
            "id": ids.event_id(),
            "customerId": customer["id"],
            "workspaceId": customer["workspaceId"],
            "eventName": event_name,
            "linkId": link["id"],
            "clickId": click_id,
            "metadata": metadata,
            "timestamp": timestamp,
        }
        view.put_lead(lead)
        leads.append(lead)
    link["leads"] = link.get("leads", 0) + quantity
    view.put_link(link)
    return leads


def link_answer(link: Record) -> dict[str, Any]:
    """The link as the lead answer shows it: Dub's nine keys, the partner ones null."""
    return {
        "id": link["id"],
        "domain": link.get("domain"),
        "key": link.get("key"),
        "shortLink": link.get("shortLink"),
        "url": link.get("url"),
        "partnerId": None,
        "programId": None,
        "tenantId": None,
        "externalId": None,
    }
