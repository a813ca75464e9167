"""``@pytest.mark.dub_mock(...)``: read and check one test's mock configuration.

``latency_ms`` is a property of a server (every request waits), so it selects a server started
with that latency; the other arguments describe state and are applied after each reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

MARKER = "dub_mock"
STATE_KEYS = ("plan", "role", "rate_limit_per_minute", "seed", "allowed_hostnames")
SERVER_KEYS = ("latency_ms",)
KEYS = (*STATE_KEYS, *SERVER_KEYS)

MARKER_HELP = (
    "dub_mock(plan=None, role=None, rate_limit_per_minute=None, latency_ms=None, seed=None, "
    "allowed_hostnames=None): configure the Dub mock for this test — the default workspace's "
    "plan, the default token's role and per-minute rate limit, a latency in ms (int, or "
    "(min, max)) on every API request, seed data (a mapping or a YAML/JSON seed file) created "
    "after the reset, and the hostnames the default workspace allows to track from the browser."
)


class MarkerError(Exception):
    """A ``dub_mock`` marker with arguments the plugin cannot apply; the message says why."""


def read_marker(node: pytest.Item) -> tuple[dict[str, Any], dict[str, Any]]:
    """(server settings overrides, state config) for one test.

    Markers on the class or module apply too; the closest one wins for each argument.
    """
    merged: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):
        if marker.args:
            raise MarkerError(
                f"@pytest.mark.dub_mock takes keyword arguments only ({', '.join(KEYS)}), "
                f"not {marker.args!r}"
            )
        merged.update(marker.kwargs)
    unknown = sorted(set(merged) - set(KEYS))
    if unknown:
        raise MarkerError(
            f"@pytest.mark.dub_mock got unknown argument(s) {', '.join(unknown)}; "
            f"it takes {', '.join(KEYS)}"
        )
    server: dict[str, Any] = {}
    if merged.get("latency_ms") is not None:
        server["latency_ms"] = latency(merged["latency_ms"])
    state = {k: merged[k] for k in STATE_KEYS if merged.get(k) is not None}
    seed = state.get("seed")
    if (
        seed is not None
        and not isinstance(seed, (Mapping, str))
        and not hasattr(seed, "__fspath__")
    ):
        raise MarkerError(
            "@pytest.mark.dub_mock(seed=...) takes seed data (a mapping of workspaces, tokens, "
            f"links, clicks, customers, leads, fxRates) or a seed file path, not {seed!r}"
        )
    if "allowed_hostnames" in state:
        state["allowed_hostnames"] = hostnames(state["allowed_hostnames"])
    return server, state


def hostnames(value: Any) -> tuple[str, ...]:
    """``"shop.example"`` → one hostname; a list or tuple of them as it is."""
    listed = (value,) if isinstance(value, str) else value
    if not isinstance(listed, (list, tuple)) or not all(isinstance(h, str) and h for h in listed):
        raise MarkerError(
            'allowed_hostnames takes a hostname or a list of them ("*.example.com" for '
            f"subdomains), not {value!r}"
        )
    return tuple(listed)


def latency(value: Any) -> tuple[int, int]:
    """``50`` → (50, 50); ``(10, 200)`` or ``"10-200"`` → (10, 200)."""
    if isinstance(value, bool):
        raise MarkerError(f"latency_ms must be milliseconds, not {value!r}")
    if isinstance(value, int):
        low = high = value
    elif isinstance(value, str) and value.replace("-", "", 1).isdigit():
        first, _, rest = value.partition("-")
        low, high = int(first), int(rest or first)
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        low, high = value
    else:
        raise MarkerError(f"latency_ms takes MS or (MIN, MAX) in milliseconds, not {value!r}")
    if low < 0 or high < low:
        raise MarkerError(f"latency_ms needs 0 <= MIN <= MAX, not {value!r}")
    return low, high
