"""One log line per request, written by a background thread: a write to stderr per request is
a system call on the request's thread, which under load costs about as much as handling the
request. The writer wakes for every line, so a quiet server logs at once; under load the lines
that arrive while it writes go out together in the next write."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections import deque
from typing import TextIO

#: The longest a line waits for its batch; too short for a person watching the log to notice.
BATCH_S = 0.005


class AccessLog:
    """Collects lines from any thread; a background thread writes them."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: deque[str] = deque()
        self._wake = threading.Event()
        self._pid = 0  # the writer thread is started lazily, in the process that logs

    def write(self, line: str) -> None:
        self._lines.append(line)
        if self._pid != os.getpid():
            self._start()
        if not self._wake.is_set():  # a plain read; set() takes a lock
            self._wake.set()

    def _start(self) -> None:
        self._pid = os.getpid()
        threading.Thread(target=self._run, name="dub-mock-access-log", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()
            time.sleep(BATCH_S)  # under load, let lines gather: one write per batch

    def flush(self) -> None:
        lines = []
        while self._lines:
            try:
                lines.append(self._lines.popleft())
            except IndexError:
                break
        if lines:
            stream = self._stream or sys.stderr
            stream.write("".join(lines))
            stream.flush()
