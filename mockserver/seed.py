"""The start state: the default workspace and token, `--token`s, and a `--seed` file.

`baseline(settings, control)` returns the one function that builds it; the store runs it at
first start and on every reset, so "reset means rebuild" holds for every backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .control import Control
from .errors import ApiError, SeedError
from .fx import DEFAULT_FX_RATES, parse_rates
from .settings import DEFAULT_TOKEN, DEFAULT_WORKSPACE, Settings
from .store import StateView

#: Seed lists and the control-plane call that makes each item, in the order they are made.
SEED_KINDS = {
    "workspaces": "workspace",
    "tokens": "token",
    "publishableKeys": "publishable_key",
    "webhooks": "webhook",
    "links": "link",
    "clicks": "click",
    "customers": "customer",
    "leads": "lead",
}
SEED_KEYS = frozenset((*SEED_KINDS, "fxRates"))


def read_seed_file(path: str) -> dict[str, Any]:
    """Parse a YAML or JSON seed file (JSON is YAML, but its errors read better as JSON)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SeedError(
            f"seed file {path!r} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}"
        ) from None
    return check_seed(data or {}, path)


def check_seed(data: Any, source: str = "seed") -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise SeedError(
            f"{source}: the top level must be a mapping of {', '.join(sorted(SEED_KEYS))}"
        )
    unknown = sorted(set(data) - SEED_KEYS)
    if unknown:
        raise SeedError(
            f"{source}: unknown key(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(SEED_KEYS))}"
        )
    for kind in SEED_KINDS:
        if not isinstance(data.get(kind, []), list):
            raise SeedError(f"{source}: {kind} must be a list")
    return dict(data)


def seed_data(settings: Settings) -> dict[str, Any]:
    """Merge `seed_data` and the `--seed` file (file first)."""
    merged: dict[str, Any] = {}
    sources = []
    if settings.seed:
        sources.append(read_seed_file(settings.seed))
    if settings.seed_data:
        sources.append(check_seed(settings.seed_data, "seed_data"))
    for source in sources:
        for key, value in source.items():
            if key == "fxRates":
                merged.setdefault(key, {}).update(value or {})
            else:
                merged.setdefault(key, []).extend(value or [])
    return merged


def start_fx_rates(data: Mapping[str, Any]) -> dict[str, float]:
    if not data.get("fxRates"):
        return dict(DEFAULT_FX_RATES)
    try:
        return {**DEFAULT_FX_RATES, **parse_rates(data["fxRates"])}
    except ValueError as exc:
        raise SeedError(f"seed fxRates: {exc}") from None


def baseline(
    settings: Settings, control: Control, data: Mapping[str, Any]
) -> Callable[[StateView], None]:
    """The function that writes the start state into an empty store."""

    def build(view: StateView) -> None:
        control.workspace(view, {"id": DEFAULT_WORKSPACE, "plan": "business"})
        control.token(view, {"token": DEFAULT_TOKEN, "workspaceId": DEFAULT_WORKSPACE})
        for token in settings.tokens:
            control.token(view, {"token": token, "workspaceId": DEFAULT_WORKSPACE})
        for index, url in enumerate(settings.webhooks):
            endpoint = {"id": f"wh_serve_{index + 1}", "url": url}
            if settings.webhook_secret:
                endpoint["secret"] = settings.webhook_secret
            try:
                control.webhook(view, endpoint)
            except ApiError as exc:
                raise SeedError(f"--webhook {url}: {exc.message}") from None
        for kind, call in SEED_KINDS.items():
            create = getattr(control, call)
            for index, item in enumerate(data.get(kind, [])):
                try:
                    create(view, item)
                except ApiError as exc:
                    raise SeedError(f"seed {kind}[{index}]: {exc.message}") from None

    return build
