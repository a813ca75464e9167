"""Helpers for the dashboard's tests: Debian's Chromium driven by Playwright, small HTTP calls.

The browser is `/usr/bin/chromium` (Debian's `chromium` package; `$DUB_MOCK_CHROMIUM` names
another), started by Playwright's Python package through `executable_path`: nothing downloads a
browser. Without it the browser tests are skipped with the reason, and fail under CI (`CI=true`),
whose `.ci/run` installs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import urllib.error
import urllib.request
from typing import Any

AUTH = {"Authorization": "Bearer dub_mock_key", "Content-Type": "application/json"}

# What Chromium needs on these machines (Playwright adds --headless): no sandbox as root, and
# no background traffic to hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    explicit = os.environ.get("DUB_MOCK_CHROMIUM")
    candidates = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[dev]'"
    if chromium_path() is None:
        return (
            "no Chromium at /usr/bin/chromium (or $DUB_MOCK_CHROMIUM): "
            "apt-get install chromium chromium-driver"
        )
    return None


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """One HTTP call; (status, JSON or text) for every status."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers=headers or {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def post(base: str, path: str, body: Any, token: str = "dub_mock_key") -> tuple[int, Any]:
    """An API request with a secret key: (status, answer)."""
    return call(base, "POST", path, body, {**AUTH, "Authorization": f"Bearer {token}"})


def api(base: str, path: str, body: Any, token: str = "dub_mock_key") -> Any:
    """An API request that must answer 200."""
    status, answer = post(base, path, body, token)
    assert status == 200, (path, status, answer)
    return answer


def admin(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, answer = call(base, method, path, body, headers)
    assert status < 300, (path, status, answer)
    return answer


def wait_live(watched: Any, timeout_ms: int = 10_000) -> None:
    """Until the page's stream is connected (`live-status` reads `live`)."""
    from playwright.sync_api import expect

    expect(watched.page.get_by_test_id("live-status")).to_contain_text("live", timeout=timeout_ms)
