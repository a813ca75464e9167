"""The suite's HTTP client: paced, recording every exchange so a failure can show it as curl.

Every request the suite sends, the property tests' included, goes through one `Pacer`, which
keeps to `--rate` and to the target's own rate-limit headers: a check must never fail because
it ran into the limit it is checking, nor hammer a shared staging server.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

# Longest the pacer waits for a rate-limit window to reopen; Dub's windows last one minute.
MAX_WINDOW_WAIT_S = 65.0
TRACK_SALE = "/track/sale"
TRACK_LEAD = "/track/lead"
TRACK_CLICK = "/track/click"
TRACK_LEAD_CLIENT = "/track/lead/client"
TRACK_SALE_CLIENT = "/track/sale/client"
TOKEN_PLACEHOLDER = "$DUB_TOKEN"
PUBLISHABLE_PLACEHOLDER = "$DUB_PUBLISHABLE_KEY"


class Pacer:
    """Spaces requests to at most `rate` per second and waits out an exhausted rate-limit window.

    `observe()` reads `X-RateLimit-Remaining`/`-Reset` from each answer per token; `wait()` then
    sleeps until the window reopens when the budget is down to `reserve`. Thread-safe, since the
    concurrency scenarios send from many threads at once.
    """

    def __init__(self, rate: float | None = None, reserve: int = 2) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.reserve = reserve
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._windows: dict[str, tuple[int, float]] = {}
        self.exempt: set[str] = set()
        self.sent = 0

    def wait(self, token: str | None) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            self.sent += 1
            window = self._windows.get(token or "")
        delay = slot - now
        if window is not None:
            remaining, reset_at = window
            if remaining <= self.reserve:
                delay = max(delay, min(reset_at - time.time(), MAX_WINDOW_WAIT_S))
                with self._lock:
                    self._windows.pop(token or "", None)
        if delay > 0:
            time.sleep(delay)

    def observe(self, token: str | None, headers: Any) -> None:
        if token in self.exempt:
            return
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        reset = _int_header(headers, "X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        reset_at = reset / 1000.0 if reset > 10**11 else time.time() + 60.0
        with self._lock:
            self._windows[token or ""] = (remaining, reset_at)


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def bearer_token(headers: Any) -> str | None:
    value = headers.get("Authorization") if headers is not None else None
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer ") :]
    return None


class PacedSession(requests.Session):
    """A `requests.Session` that asks the pacer before sending; handed to schemathesis too."""

    def __init__(self, pacer: Pacer, timeout: float = 30.0) -> None:
        super().__init__()
        self.pacer = pacer
        self.timeout = timeout
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._environment_lock = threading.Lock()

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """The proxy and CA settings from the environment, read once per origin.

        requests reads every environment variable on every request to find proxies; the suite
        sends thousands of requests to one origin while the environment stays as it is.
        """
        parts = urlsplit(url if isinstance(url, str) else url.decode())
        key = (parts.scheme, parts.netloc, repr(proxies), stream, verify, cert)
        with self._environment_lock:
            settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            with self._environment_lock:
                self._environment[key] = settings
        return {
            name: dict(value) if isinstance(value, dict) else value
            for name, value in settings.items()
        }

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        token = bearer_token(kwargs.get("headers"))
        self.pacer.wait(token)
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(method, url, *args, **kwargs)
        self.pacer.observe(token, response.headers)
        return response


@dataclass
class Exchange:
    """One request and its answer, as the report shows them."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    body: bytes
    secrets: tuple[str, ...] = field(default=(), repr=False)
    publishable_keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def error(self) -> dict[str, Any]:
        """The Dub envelope's `error` object, or {} when the answer has none."""
        data = self.json
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return data["error"]
        return {}

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, TOKEN_PLACEHOLDER)
        for key in self.publishable_keys:
            if key:
                text = text.replace(key, PUBLISHABLE_PLACEHOLDER)
        return text

    def curl(self) -> str:
        parts = ["curl", "-sS", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            header = self.redact(f"{name}: {value}")
            parts += ["-H", f'"{header}"' if "$DUB_" in header else shlex.quote(header)]
        if self.request_body is not None:
            parts += ["--data-raw", shlex.quote(self.request_body.decode("utf-8", "replace"))]
        return " ".join(parts)

    def answer(self, limit: int = 1500) -> str:
        lines = [f"HTTP {self.status}"]
        for name in sorted(self.headers, key=str.lower):
            if name.lower() in {"date", "server", "content-length", "connection"}:
                continue
            lines.append(f"{name}: {self.headers[name]}")
        text = self.body.decode("utf-8", "replace")
        if len(text) > limit:
            text = text[:limit] + f"... ({len(self.body)} bytes)"
        lines += ["", text]
        return "\n".join(lines)


class DubClient:
    """Sends requests to the target and returns `Exchange`s; knows the default token."""

    def __init__(self, base_url: str, token: str, session: PacedSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session
        self.secrets: tuple[str, ...] = (token,)
        self.publishable_keys: tuple[str, ...] = ()

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = "default",
    ) -> Exchange:
        """`token="default"` sends the suite's token, `None` sends no Authorization header."""
        sent: dict[str, str] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        body = raw
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.base_url + path
        response = self.session.request(method, url, data=body, headers=sent)
        return Exchange(
            method=method,
            url=url,
            request_headers=sent,
            request_body=body,
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            secrets=self.secrets,
            publishable_keys=self.publishable_keys,
        )

    def sale(self, body: Any = None, **kwargs: Any) -> Exchange:
        """POST /track/sale with a JSON body (or `raw=` bytes)."""
        return self.send("POST", TRACK_SALE, json_body=body, **kwargs)

    def lead(self, body: Any = None, **kwargs: Any) -> Exchange:
        """POST /track/lead with the suite's token (unless `token=` says otherwise)."""
        return self.send("POST", TRACK_LEAD, json_body=body, **kwargs)

    def click(self, body: Any = None, *, token: str | None = None, **kwargs: Any) -> Exchange:
        """POST /track/click: no key (a browser calls it), unless a test sends one on purpose."""
        return self.send("POST", TRACK_CLICK, json_body=body, token=token, **kwargs)

    def lead_client(self, body: Any = None, *, key: str | None, **kwargs: Any) -> Exchange:
        """POST /track/lead/client with publishable key `key` (None: no Authorization)."""
        return self.send("POST", TRACK_LEAD_CLIENT, json_body=body, token=key, **kwargs)

    def sale_client(self, body: Any = None, *, key: str | None, **kwargs: Any) -> Exchange:
        """POST /track/sale/client with publishable key `key` (None: no Authorization)."""
        return self.send("POST", TRACK_SALE_CLIENT, json_body=body, token=key, **kwargs)
