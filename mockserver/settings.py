"""The mock's configuration: one frozen object, built from flags, a dict or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import ConfigError

DEFAULT_TOKEN = "dub_mock_key"
DEFAULT_WORKSPACE = "ws_mock"
DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything `create_app` and `dub-mock serve` need; read once, never mutated."""

    state: str = "memory://"
    seed: str | None = None
    seed_data: Mapping[str, Any] | None = None
    tokens: tuple[str, ...] = ()
    #: Webhook endpoints for the default workspace, every trigger (`serve --webhook URL`).
    webhooks: tuple[str, ...] = ()
    webhook_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    latency_ms: tuple[int, int] | None = None
    cors: bool = True
    rate_limit: bool = True
    max_body: int = DEFAULT_MAX_BODY
    admin_token: str | None = None
    #: No access-log line per request. On for an app used in process (`create_app()`): logging
    #: is the server's job, so `dub-mock serve` turns it off unless `--quiet` is given.
    quiet: bool = True
    spec_path: str | None = None
    validate_responses: bool = False
    journal_limit: int = 1000

    def __post_init__(self) -> None:
        if self.max_body < 1:
            raise ConfigError("--max-body must be a positive number of bytes")
        if self.workers < 1:
            raise ConfigError("--workers must be 1 or more")
        if self.latency_ms is not None:
            low, high = self.latency_ms
            if low < 0 or high < low:
                raise ConfigError("--latency takes MS or MIN-MAX with 0 <= MIN <= MAX")
        if self.workers > 1 and self.state.startswith("memory:"):
            raise ConfigError(
                "--workers > 1 needs shared state: memory:// lives in one process. "
                "Use --state sqlite:///dub-mock.db or --state redis://127.0.0.1:6379/0"
            )

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some fields replaced (unknown names are refused)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        return replace(self, **overrides)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Build from a plain mapping; keys are the field names."""
        return cls().with_overrides(**dict(data))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build from DUB_MOCK_* variables (DUB_MOCK_STATE, DUB_MOCK_PORT, ...)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"DUB_MOCK_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse_env_value(f.name, raw)
        return cls.from_dict(values)


def parse_latency(text: str) -> tuple[int, int]:
    """'50' → (50, 50); '10-200' → (10, 200)."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
        else:
            low = high = int(text)
    except ValueError:
        raise ConfigError(f"--latency takes MS or MIN-MAX, not {text!r}") from None
    return low, high


def _parse_env_value(name: str, raw: str) -> Any:
    if name in {"port", "workers", "max_body", "journal_limit"}:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"DUB_MOCK_{name.upper()} must be a number, not {raw!r}") from None
    if name in {"cors", "rate_limit", "quiet", "validate_responses"}:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name in {"tokens", "webhooks"}:
        return tuple(t for t in raw.split(",") if t)
    if name == "latency_ms":
        return parse_latency(raw)
    return raw
