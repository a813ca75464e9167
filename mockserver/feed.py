"""What happens in the mock, as a stream of small events: the dashboard's live feed.

The app publishes `request` (a journal entry), `state` (what changed) and `delivery` (a webhook
attempt); `/__mock/events` streams them to subscribers. Publishing must cost nothing when no one
listens and must never wait for a listener: a subscriber that falls behind loses its oldest
events, not the API its speed.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Subscriber(Protocol):
    """One listener; `offer` is called from any thread and must not block."""

    def offer(self, kind: str, data: dict[str, Any]) -> None: ...

    def close(self) -> None:
        """The feed is closing (the server stops): end the stream soon, from any thread."""


class Feed:
    """Fans each published event out to the current subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()
        self.closed = False

    @property
    def listening(self) -> bool:
        """Whether anyone listens: callers skip building an event's data when no one does."""
        return bool(self._subscribers)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        for subscriber in self._subscribers:  # a tuple, replaced whole: safe without the lock
            subscriber.offer(kind, data)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Add a listener; after `close` it is closed at once instead."""
        with self._lock:
            if not self.closed:
                self._subscribers = (*self._subscribers, subscriber)
                return
        subscriber.close()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

    def close(self) -> None:
        """The server is stopping: every stream ends, and new ones end at once."""
        with self._lock:
            self.closed = True
            subscribers, self._subscribers = self._subscribers, ()
        for subscriber in subscribers:
            subscriber.close()
