"""Serve a WSGI app (a broken variant) for real on a free 127.0.0.1 port, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mockserver.server import make_threaded_server


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Yield the base URL of `app` served by the mock's own waitress setup; stop on exit.

    `app` needs a `settings` attribute (the mock's), as `make_threaded_server` reads the body
    limit from it. The loop polls so that stopping happens on the server's own thread.
    """
    server = make_threaded_server(app, "127.0.0.1", 0)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            server.asyncore.loop(
                timeout=0.05, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1
            )
        server.task_dispatcher.shutdown()
        for channel in list(server._map.values()):
            channel.close()

    thread = threading.Thread(target=loop, name="broken-variant", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        thread.join(timeout=10)
