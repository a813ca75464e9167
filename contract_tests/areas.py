"""The suite's areas: which part of Dub's API each check is about, to run a part alone.

Every check carries exactly one area mark. `dub-mock check --only lead,click` (or, under pytest,
`-m "contract_lead or contract_click"`) runs the checks of those areas only: a server that
implements `/track/sale` alone is checked with `--only sale`. A check keeps its area whatever
other route it uses as an instrument (the lead checks observe leads through `/track/sale`).
"""

from __future__ import annotations

import pytest

AREAS: dict[str, str] = {
    "sale": "POST /track/sale (BEHAVIOR rules 1-20 and the fine points)",
    "lead": "POST /track/lead (§4)",
    "click": "POST /track/click (§5)",
    "client": "the publishable-key routes, POST /track/lead/client and /track/sale/client (§6)",
    "webhooks": "the signed link.clicked, lead.created and sale.created webhooks (§7)",
}
MARKER_PREFIX = "contract_"


def marker_name(area: str) -> str:
    return MARKER_PREFIX + area


def mark(area: str) -> pytest.MarkDecorator:
    """The mark of `area`'s checks (made on use: the conftest registers the markers first)."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")
    decorator: pytest.MarkDecorator = getattr(pytest.mark, marker_name(area))
    return decorator


def parse_areas(text: str) -> tuple[str, ...]:
    """`lead,click` -> ("lead", "click"); ValueError naming an unknown area."""
    areas = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [area for area in areas if area not in AREAS]
    if unknown or not areas:
        raise ValueError(
            f"unknown area {', '.join(unknown) or repr(text)}: choose from {', '.join(AREAS)}"
        )
    return areas


def marker_expression(areas: tuple[str, ...]) -> str:
    """The `-m` expression that selects the checks of `areas`."""
    return " or ".join(marker_name(area) for area in areas)


def register(config: pytest.Config) -> None:
    for area, what in AREAS.items():
        config.addinivalue_line("markers", f"{marker_name(area)}: a contract check about {what}")


def areas_of(item: pytest.Item) -> list[str]:
    return [area for area in AREAS if item.get_closest_marker(marker_name(area)) is not None]
