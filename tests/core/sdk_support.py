"""What the two official SDKs' tests (Python's and TypeScript's) share: admin shortcuts on a
`MockServer`, and the state each typed-error case needs before its request."""

from __future__ import annotations

from typing import Any

from mockserver import MockServer


def admin(mock: MockServer, kind: str, **fields: Any) -> dict[str, Any]:
    """One object made through the control plane (`kind`: customer, link, click, token, ...)."""
    assert mock.app is not None
    with mock.app.store.transaction() as view:
        made: dict[str, Any] = getattr(mock.app.control, kind)(view, fields)
    return made


def link_and_click(mock: MockServer, **link: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A short link and a visitor's click on it."""
    made = admin(mock, "link", **link)
    return made, admin(mock, "click", linkId=made["id"])


def arrange(mock: MockServer, setup: str | None, token: str) -> dict[str, Any]:
    """The state an error case needs (`setup`: disabled, elsewhere, pk, expired, viewer, free,
    limited, fault<status>; None for none), then its click: the lead's click id."""
    assert mock.app is not None
    link_fields: dict[str, Any] = {"disabled": setup == "disabled"}
    if setup == "elsewhere":
        admin(mock, "workspace", id="ws_other")
        link_fields["workspaceId"] = "ws_other"
    _, click = link_and_click(mock, **link_fields)
    if setup == "pk":
        admin(mock, "publishable_key", key=token)
    if setup == "expired":
        admin(mock, "token", token=token, expired=True)
    if setup == "viewer":
        admin(mock, "token", token=token, role="viewer")
    if setup == "free":
        admin(mock, "workspace", id="ws_free", plan="free")
        admin(mock, "token", token=token, workspaceId="ws_free")
    if setup == "limited":
        admin(mock, "token", token=token, rateLimitPerMinute=1)
    if setup and setup.startswith("fault"):
        mock.app.store.push_fault(int(setup[5:]), 1, 0)
    return click
