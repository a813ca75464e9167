"""The track-lead rules (BEHAVIOR §4, L1-L6): no HTTP here, only a checked body and the state."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, BadRequest, NotFound
from ..models import Clock, IdFactory, Record, iso_time
from ..store import StateView, Store
from ..store.base import SEVEN_DAYS_MS
from .common import EventSink, add_customer, add_leads, link_answer

NO_CLICK = (
    "The `clickId` property was not provided in the request, and no existing customer with the "
    "provided `customerExternalId` was found."
)


class LeadRequest:
    """The body after the schema and the id checks: trimmed, defaults applied."""

    __slots__ = (
        "click_id", "customer_avatar", "customer_email", "customer_name", "event_name",
        "external_id", "metadata", "mode", "quantity",
    )  # fmt: skip

    def __init__(self, body: dict[str, Any], external_id: str) -> None:
        self.external_id = external_id
        self.event_name: str = str(body["eventName"]).strip()
        self.click_id: str = body.get("clickId") or ""
        self.customer_name: str | None = body.get("customerName") or None
        self.customer_email: str | None = body.get("customerEmail")
        self.customer_avatar: str | None = body.get("customerAvatar")
        self.mode: str = body.get("mode") or "async"
        self.quantity: int = body.get("eventQuantity") or 1
        self.metadata: dict[str, Any] | None = body.get("metadata")

    @property
    def dedup_key(self) -> str:
        """Dub's key: the event name lower-cased, its spaces turned into dashes."""
        return self.event_name.lower().replace(" ", "-")


class LeadTracker:
    """Records leads once per (workspace, customer, event name) for 7 days."""

    def __init__(self, store: Store, ids: IdFactory, clock: Clock, events: EventSink) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock
        self._events = events

    def track(self, workspace_id: str, lead: LeadRequest) -> dict[str, Any]:
        now = self._clock()
        failure: ApiError | None = None
        with self._store.transaction() as view:
            customer = view.customer(workspace_id, lead.external_id)
            click_id = lead.click_id or (customer or {}).get("clickId")
            if not click_id:
                raise BadRequest(NO_CLICK)  # L1
            if lead.mode != "deferred":  # L2: the key is taken before the click is looked up
                name = f"lead\x00{workspace_id}\x00{lead.external_id}\x00{lead.dedup_key}"
                now_ms = int(now * 1000)
                if view.held_key(name, now_ms) is not None:
                    return _answer(click_id, None, customer or self._unstored_customer(lead))
                view.hold_key(name, "1", now_ms + SEVEN_DAYS_MS)
            try:
                click, link = _click_and_link(view, workspace_id, click_id)  # L3
            except NotFound as error:
                failure = error  # raised once the key is stored: a retry is a duplicate
            else:
                stamp = iso_time(now)
                if customer is None:  # L4, in every mode
                    customer = add_customer(
                        view,
                        self._ids,
                        workspace_id,
                        lead.external_id,
                        name=lead.customer_name,
                        email=lead.customer_email,
                        avatar=lead.customer_avatar,
                        click=click,
                        link=link,
                        created_at=stamp,
                    )
                if lead.mode != "deferred":  # L5
                    self._record(view, workspace_id, lead, customer, click, link, now, stamp)
                return _answer(click_id, link, customer)  # L6
        assert failure is not None
        raise failure

    def _record(
        self,
        view: StateView,
        workspace_id: str,
        lead: LeadRequest,
        customer: Record,
        click: Record,
        link: Record,
        now: float,
        stamp: str,
    ) -> None:
        leads = add_leads(
            view,
            self._ids,
            customer,
            link,
            click["id"],
            event_name=lead.event_name,
            metadata=lead.metadata,
            quantity=lead.quantity,
            timestamp=stamp,
        )
        records = {"click": click, "link": link, "customer": customer, "lead": leads[0]}
        self._events.emit(view, workspace_id, "lead.created", records, now)

    def _unstored_customer(self, lead: LeadRequest) -> Record:
        """A duplicate whose first request failed has no stored customer: Dub answers one
        built from the request."""
        return {
            "name": lead.customer_name or lead.customer_email or self._ids.random_name(),
            "email": lead.customer_email,
            "avatar": lead.customer_avatar,
            "externalId": lead.external_id,
        }


def _click_and_link(view: StateView, workspace_id: str, click_id: str) -> tuple[Record, Record]:
    """L3: the click and its link, each failure a 404 with Dub's wording."""
    click = view.click(click_id)
    if click is None:
        raise NotFound(f"Click event not found for clickId: {click_id}")
    link = view.link(click["linkId"]) if click.get("linkId") else None
    if link is None:
        raise NotFound(f"Link not found for clickId: {click_id}")
    if link.get("workspaceId") != workspace_id:
        raise NotFound(f"Link {link['id']} for clickId {click_id} does not belong to the workspace")
    if link.get("disabled"):
        raise NotFound(f"Link {link['id']} for clickId {click_id} is disabled, lead not tracked")
    return click, link


def _answer(click_id: str, link: Record | None, customer: Record) -> dict[str, Any]:
    return {
        "click": {"id": click_id},
        "link": None if link is None else link_answer(link),
        "customer": {
            "name": customer["name"],
            "email": customer["email"],
            "avatar": customer["avatar"],
            "externalId": customer["externalId"],
        },
    }
