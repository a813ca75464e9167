"""`/__mock/events` under `dub-mock serve`: streamed from granian's RSGI front, no thread held.

Each subscriber is one asyncio task on the worker's event loop, awaiting its own queue (see
`stream.py`): an idle dashboard costs a parked coroutine, a busy one at most five writes a
second. granian waits for open responses before a worker stops, so on SIGINT/SIGTERM the feed is
closed first and every stream ends at once (the browser's EventSource reconnects by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import RSGIProtocolClosed as ProtocolClosed
from granian._granian import RSGIProtocolError as ProtocolError
from granian.rsgi import Scope

from ..feed import Feed
from .stream import (
    FLUSH_INTERVAL_S,
    STREAM_HEADERS,
    AsyncSubscriber,
    opening_frame,
    refusal,
)


class RsgiEvents:
    """Serves the event stream of one app's feed on the worker's loop."""

    def __init__(self, feed: Feed, admin_token: str | None) -> None:
        self.feed = feed
        self.admin_token = admin_token

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the feed when the worker is told to stop (before granian's own handler runs).

        granian's worker handles SIGINT and SIGTERM on its loop and then waits for every open
        response; an endless stream would keep it waiting forever. The Python-level handler is
        chained, so the loop still dispatches granian's.
        """
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)

            def chained(number: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.feed.close)
                if callable(previous):
                    previous(number, frame)

            with contextlib.suppress(ValueError):  # not the main thread: nothing to chain
                signal.signal(signum, chained)

    async def serve(self, scope: Scope, protocol: HTTPProtocol) -> None:
        refused = refusal(
            scope.method,
            scope.headers.get("authorization"),
            scope.query_string,
            self.admin_token,
        )
        if refused is not None:
            protocol.response_bytes(*refused)
            return
        subscriber = AsyncSubscriber(asyncio.get_running_loop())
        transport = protocol.response_stream(200, STREAM_HEADERS)
        self.feed.subscribe(subscriber)
        gone = asyncio.ensure_future(protocol.client_disconnect())
        gone.add_done_callback(lambda _: subscriber.close())
        try:
            await transport.send_str(opening_frame())
            while text := await subscriber.next_text():
                await transport.send_str(text)
                await asyncio.sleep(FLUSH_INTERVAL_S)  # events gather meanwhile: one write
        except (ProtocolClosed, ProtocolError, OSError):
            pass  # the client left mid-write
        finally:
            self.feed.unsubscribe(subscriber)
            gone.cancel()
