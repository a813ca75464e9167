"""Group commit for SQLite state under `dub-mock serve`: the requests that are answered in one
turn of the event loop share one write transaction and one commit.

SQLite has one writer and a commit costs more than a sale's statements: under load, many
requests are ready in the same turn of the loop, and each paid for its own commit. Here the
first of them opens the transaction, every one runs its units inside it (each unit still
atomic on its own, as a savepoint), and a callback scheduled for the end of the turn commits
them all. No answer leaves before that commit: each request awaits it, and if the commit
fails every request of the batch answers Dub's 500 instead of a 200 that was never durable.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class BatchStore(Protocol):
    """What a store offers for group commit (the SQLite store does)."""

    def begin_batch(self) -> None: ...
    def commit_batch(self) -> None: ...
    def rollback_batch(self) -> None: ...


class CommitFailed(Exception):
    """The batch a request's work belonged to could not be committed; nothing of it stays."""


class GroupCommit:
    """Runs synchronous work inside the loop's open batch; resolves after its commit."""

    def __init__(self, store: BatchStore, after_commit: Callable[[], None]) -> None:
        self._store = store
        self._after_commit = after_commit
        self._waiting: list[asyncio.Future[None]] = []
        self._open = False

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` inside the batch; returns its result once the batch has committed.

        Raises CommitFailed when the commit failed (the caller answers 500).
        """
        loop = asyncio.get_running_loop()
        if not self._open:
            self._store.begin_batch()
            self._open = True
            loop.call_soon(self._commit)  # after the other requests ready in this turn
        result = work()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append(done)
        await done
        return result

    def _commit(self) -> None:
        waiting, self._waiting = self._waiting, []
        self._open = False
        try:
            self._store.commit_batch()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            try:
                self._store.rollback_batch()
            finally:
                for done in waiting:
                    done.set_exception(CommitFailed())
            return
        for done in waiting:
            done.set_result(None)
        self._after_commit()
