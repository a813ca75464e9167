"""The implementation under test: its URL and token, and how the suite gets test data on it.

A dub-mock target exposes the admin API, so the suite creates its own uniquely named customers,
clicks, links, workspaces and tokens there (it never resets a target: other users may share it).
A real server has no admin API; the suite then uses the customer and click the user names on
the command line and skips, with the reason, the checks that need more.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from contract_tests.client import DubClient, PacedSession

CHECK_PREFIX = "dubmock-check-"
NO_CUSTOMER = (
    "needs a customer with a lead: a target with the admin API (/__mock/*), "
    "or --customer-external-id / --dub-customer-external-id"
)
NO_CLICK = "needs a click: a target with the admin API, or --click-id / --dub-click-id"


class AdminError(RuntimeError):
    """An admin call the suite relies on failed; the target is not a usable dub-mock."""


def redact_like_mock(token: str) -> str:
    """How dub-mock's `/__mock/state` shows a token, to find ours among them."""
    return token[:4] + "…" + token[-2:] if len(token) > 8 else "…"


@dataclass
class AdminApi:
    """The dub-mock control plane of the target, `/__mock/...`."""

    base_url: str
    session: PacedSession

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.base_url}/__mock/{path}", json=body)
        if response.status_code >= 300:
            raise AdminError(
                f"{method} /__mock/{path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    def state(self) -> dict[str, Any]:
        data = self.call("GET", "state")
        assert isinstance(data, dict)
        return data


def probe_admin(base_url: str, session: PacedSession) -> tuple[AdminApi | None, str]:
    """The admin API when the target offers it and lets us in, and a line saying what we found."""
    try:
        health = session.request("GET", f"{base_url}/__mock/health")
    except requests.RequestException as exc:
        raise ConnectionError(f"cannot reach {base_url}: {exc}") from exc
    try:
        ok = health.status_code == 200 and health.json().get("status") == "ok"
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        return None, "no admin API (GET /__mock/health): stateful checks use the given ids"
    admin = AdminApi(base_url, session)
    try:
        admin.state()
    except AdminError:
        return None, "the admin API is locked (--admin-token): stateful checks use the given ids"
    return admin, "dub-mock admin API found: the suite seeds its own customers and clicks"


@dataclass
class Target:
    """Everything a scenario needs to know about the server it talks to."""

    base_url: str
    token: str
    client: DubClient
    admin: AdminApi | None
    admin_note: str
    customer_external_id: str | None = None
    click_id: str | None = None
    personal_key_ok: bool | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    _counter: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _workspace: str | None = field(default=None, repr=False)
    token_workspaces: dict[str, str] = field(default_factory=dict, repr=False)

    # Names -------------------------------------------------------------------------------

    def unique(self, kind: str) -> str:
        """A name no one else uses, recognisable as the check's: dubmock-check-<kind>-..."""
        return f"{CHECK_PREFIX}{kind}-{self.run_id}-{next(self._counter)}"

    def invoice(self) -> str:
        return self.unique("inv")

    # Data on the target ------------------------------------------------------------------

    def require_admin(self, what: str) -> AdminApi:
        if self.admin is None:
            pytest.skip(f"needs the dub-mock admin API to {what}")
        return self.admin

    @property
    def workspace_id(self) -> str:
        """The workspace of the suite's token, found through the admin API once."""
        admin = self.require_admin("find the token's workspace")
        if self._workspace is None:
            self._workspace = self._find_workspace(admin)
        return self._workspace

    def _find_workspace(self, admin: AdminApi) -> str:
        state = admin.state()
        shown = redact_like_mock(self.token)
        candidates = [t["workspaceId"] for t in state.get("tokens", []) if t.get("token") == shown]
        if len(set(candidates)) == 1:
            return str(candidates[0])
        # Ambiguous: a customer without a lead answers 404 only in the token's own workspace.
        for workspace in candidates or [w["id"] for w in state.get("workspaces", [])]:
            external_id = self.unique("probe")
            admin.call(
                "POST",
                "customers",
                {"externalId": external_id, "workspaceId": workspace, "lead": False},
            )
            answer = self.client.sale({"customerExternalId": external_id, "amount": 1})
            if answer.status == 404:
                return str(workspace)
        raise AdminError("the suite's token belongs to no workspace the admin API shows")

    def customer(self, **fields: Any) -> str:
        """A customer with a lead event (the admin API's default), by external id.

        Without the admin API, the customer named on the command line is used when no special
        fields are asked for; otherwise the check is skipped.
        """
        if self.admin is None:
            if fields or not self.customer_external_id:
                pytest.skip(NO_CUSTOMER if not fields else "needs the dub-mock admin API")
            return self.customer_external_id
        return str(self.customer_record(**fields)["externalId"])

    def customer_record(self, **fields: Any) -> dict[str, Any]:
        """A customer made through the admin API, as `/__mock/customers` answers it."""
        admin = self.require_admin("create a customer with particular fields")
        external_id = str(fields.pop("externalId", None) or self.unique("cus"))
        payload = {"externalId": external_id, "workspaceId": self.workspace_id, **fields}
        record = admin.call("POST", "customers", payload)
        assert isinstance(record, dict)
        return record

    def click(self, **fields: Any) -> str:
        """A click on an active link, by id."""
        if self.admin is None:
            if fields or not self.click_id:
                pytest.skip(NO_CLICK if not fields else "needs the dub-mock admin API")
            return self.click_id
        payload = {"id": self.unique("click"), "workspaceId": self.workspace_id, **fields}
        record = self.admin.call("POST", "clicks", payload)
        return str(record["id"])

    def link(self, disabled: bool = False) -> str:
        admin = self.require_admin("create a link")
        payload = {"id": self.unique("link"), "workspaceId": self.workspace_id}
        record = admin.call("POST", "links", {**payload, "disabled": disabled})
        return str(record["id"])

    def token_with(
        self,
        *,
        plan: str = "business",
        role: str = "owner",
        expired: bool = False,
        rate_limit: int | None = None,
    ) -> str:
        """A fresh token in a fresh workspace; its requests skip the suite's pacing."""
        admin = self.require_admin("create tokens and workspaces")
        workspace = self.unique("ws")
        admin.call("POST", "workspaces", {"id": workspace, "plan": plan})
        token = "dub_" + self.unique("key").replace("-", "_")
        payload: dict[str, Any] = {
            "token": token,
            "workspaceId": workspace,
            "role": role,
            "expired": expired,
        }
        if rate_limit is not None:
            payload["rateLimitPerMinute"] = rate_limit
        admin.call("POST", "tokens", payload)
        self.client.session.pacer.exempt.add(token)
        self.client.secrets = (*self.client.secrets, token)
        self.token_workspaces[token] = workspace
        return token

    def records(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        """Records of `kind` in `/__mock/state` whose fields equal `match`."""
        admin = self.require_admin(f"read the recorded {kind}")
        rows = admin.state().get(kind, [])
        return [r for r in rows if all(r.get(k) == v for k, v in match.items())]

    def settle(self, seconds: float = 0.05) -> None:
        """A short pause so the target finishes work on answered requests (stores, journal)."""
        time.sleep(seconds)
