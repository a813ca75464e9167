"""The track-click rules (BEHAVIOR §5): no HTTP here, only a checked body and who clicked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import NotFound
from ..models import Clock, IdFactory, Record, iso_time
from ..store import StateView, Store
from .common import EventSink, normalise_domain
from .hostnames import check_hostname

ONE_HOUR_MS = 3600 * 1000


@dataclass(frozen=True, slots=True)
class Visitor:
    """What the request says of the browser behind it."""

    ip: str
    user_agent: str
    referer: str | None
    origin: str | None
    no_track: bool


class ClickRequest:
    """The body after the schema: the domain normalised, empty values absent."""

    __slots__ = ("domain", "key", "referrer", "url")

    def __init__(self, body: dict[str, Any]) -> None:
        self.domain = normalise_domain(str(body["domain"]))
        self.key = str(body["key"])
        self.url: str | None = body.get("url") or None
        self.referrer: str | None = body.get("referrer") or None


class ClickTracker:
    """Records a click once per visitor and link within the hour."""

    def __init__(self, store: Store, ids: IdFactory, clock: Clock, events: EventSink) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock
        self._events = events

    def track(self, click: ClickRequest, visitor: Visitor) -> dict[str, Any]:
        now = self._clock()
        now_ms = int(now * 1000)
        name = f"click\x00{click.domain}\x00{click.key}\x00{visitor.ip}\x00{visitor.user_agent}"
        with self._store.transaction() as view:
            link = view.link_by_key(click.domain, click.key)
            if link is None:
                raise NotFound(f"Link not found for domain: {click.domain} and key: {click.key}.")
            seen = view.held_key(name, now_ms)
            if seen is not None:  # the same visitor within the hour: the same click
                return {"clickId": seen}
            workspace = view.workspace(link["workspaceId"]) or {}
            check_hostname(workspace.get("allowedHostnames") or (), visitor.referer, visitor.origin)
            click_id = self._ids.click_id()
            if not visitor.no_track:
                view.hold_key(name, click_id, now_ms + ONE_HOUR_MS)
                self._record(view, click_id, click, visitor, link, now)
            return {"clickId": click_id}

    def _record(
        self,
        view: StateView,
        click_id: str,
        click: ClickRequest,
        visitor: Visitor,
        link: Record,
        now: float,
    ) -> None:
        record = {
            "id": click_id,
            "linkId": link["id"],
            "workspaceId": link["workspaceId"],
            "url": click.url if click.url and _is_url(click.url) else link.get("url"),
            "referrer": click.referrer or visitor.referer,
            "ip": visitor.ip,
            "ua": visitor.user_agent,
            "timestamp": iso_time(now),
        }
        view.put_click(record)
        link["clicks"] = link.get("clicks", 0) + 1
        view.put_link(link)
        self._events.emit(
            view, link["workspaceId"], "link.clicked", {"click": record, "link": link}, now
        )


def _is_url(value: str) -> bool:
    """What JavaScript's `new URL(value)` accepts, near enough: a scheme and a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc)
