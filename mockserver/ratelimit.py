"""Per-token fixed one-minute windows by plan, with Dub's four headers (BEHAVIOR rule 6)."""

from __future__ import annotations

import math

from .auth import Principal
from .errors import RateLimitExceeded
from .store import Store

WINDOW_MS = 60_000

LIMITS_BY_PLAN = {
    "free": 60,
    "pro": 600,
    "business": 1200,
    "business plus": 1200,
    "business max": 1200,
    "business extra": 1200,
    "advanced": 3000,
    "enterprise": 3000,
}

Headers = list[tuple[str, str]]


def limit_for(principal: Principal) -> int:
    own = principal.token.get("rateLimitPerMinute")
    if own:
        return int(own)
    return LIMITS_BY_PLAN.get(str(principal.workspace.get("plan")), 60)


PUBLISHABLE_LIMIT = 600
"""Requests a minute per publishable key, whatever the plan (BEHAVIOR §6)."""


def count_request(principal: Principal, store: Store, now_ms: int) -> Headers:
    """Count one request; the headers every later answer carries, or RateLimitExceeded."""
    return count_budget(str(principal.token["token"]), limit_for(principal), store, now_ms)


def count_publishable(key: str, store: Store, now_ms: int) -> Headers:
    """Count one request for a publishable key, known or not (the limit comes before the
    lookup); its own budget, apart from any secret token's."""
    return count_budget(f"pk:{key}", PUBLISHABLE_LIMIT, store, now_ms)


def count_budget(budget: str, limit: int, store: Store, now_ms: int) -> Headers:
    count, ends_ms = store.hit_rate_limit(budget, now_ms, WINDOW_MS)
    headers = [
        ("X-RateLimit-Limit", str(limit)),
        ("X-RateLimit-Remaining", str(max(0, limit - count))),
        ("X-RateLimit-Reset", str(ends_ms)),
        # Real Dub sends the reset time in ms here; seconds is what RFC 9110 and the SDKs read.
        ("Retry-After", str(max(0, math.ceil((ends_ms - now_ms) / 1000)))),
    ]
    if count > limit:
        raise RateLimitExceeded(headers)
    return headers
