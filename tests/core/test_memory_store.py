"""The memory store keeps a long run fast: what new leads leave behind is invisible to the
cycle collector (no tuple, list or container dict per record), so the collector does not run
more often, or slower, as hundreds of thousands of leads pile up under load."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from mockserver.models import IdFactory
from mockserver.store.memory import MemoryStore
from mockserver.track.common import NoEvents
from mockserver.track.lead import LeadRequest, LeadTracker

LEADS = 2000


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """Nothing is collected while objects are counted; the collector as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def tracked_objects() -> int:
    return len(gc.get_objects())


def test_new_leads_and_their_customers_add_nothing_the_collector_tracks(
    collector_paused: None,
) -> None:
    store = MemoryStore()
    with store.transaction() as view:
        view.add_link({"id": "link_1", "workspaceId": "ws_1", "domain": "dub.sh", "key": "a"})
        view.put_click({"id": "click_1", "linkId": "link_1", "workspaceId": "ws_1"})
    tracker = LeadTracker(store, IdFactory(), time.time, NoEvents())
    requests = [
        LeadRequest({"clickId": "click_1", "eventName": "Sign up"}, f"cust_{i}")
        for i in range(LEADS)
    ]
    before = tracked_objects()
    for request in requests:
        tracker.track("ws_1", request)
    grown = tracked_objects() - before
    snapshot = store.snapshot()
    assert len(snapshot["customers"]) == LEADS and len(snapshot["leads"]) == LEADS
    assert grown < LEADS // 100, f"{grown} tracked objects for {LEADS} new leads"
