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
NO_PUBLISHABLE_KEY = (
    "needs a publishable key (dub_pk_...) of the token's workspace: a target with the admin API, "
    "or --publishable-key / --dub-publishable-key / DUB_PUBLISHABLE_KEY"
)
HOSTNAMES_MESSAGE = "is not included in the allowed hostnames"


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
    publishable_key: str | None = None
    personal_key_ok: bool | None = None
    publishable_prefix_ok: bool | None = None
    auth_enforced: set[str] = field(default_factory=set, repr=False)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    _counter: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _workspace: str | None = field(default=None, repr=False)
    token_workspaces: dict[str, str] = field(default_factory=dict, repr=False)
    _publishable: dict[str, str] = field(default_factory=dict, repr=False)
    _click_link: tuple[str, str, str] | None = field(default=None, repr=False)

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

    def link_record(self, **fields: Any) -> dict[str, Any]:
        """A fresh link (a unique key on dub.sh unless `fields` say otherwise) in the token's
        workspace unless `workspaceId` names another; as `/__mock/links` answers it."""
        admin = self.require_admin("create a link with a domain and key")
        payload = {
            "id": self.unique("link"),
            "workspaceId": self.workspace_id,
            "domain": "dub.sh",
            "key": self.unique("key"),
            "url": "https://example.com/landing",
            **fields,
        }
        record = admin.call("POST", "links", payload)
        assert isinstance(record, dict)
        return record

    def click_link(self) -> tuple[str, str, str]:
        """(domain, key, link id) of a live link that /track/click can find.

        With the admin API, a fresh link for each call. On a real server, the link of the click
        named by --click-id, which a client can learn: a lead for that click answers its link
        (the lead is recorded for a customer named dubmock-check-...; asked once per run).
        """
        if self.admin is not None:
            record = self.link_record()
            return str(record["domain"]), str(record["key"]), str(record["id"])
        if self._click_link is None:
            click_id = self.click()
            body = {
                "clickId": click_id,
                "eventName": "dubmock-check link lookup",
                "customerExternalId": self.unique("link-lookup"),
            }
            answer = self.client.lead(body)
            link = (answer.json or {}).get("link") if answer.status == 200 else None
            if not isinstance(link, dict) or not link.get("domain") or not link.get("key"):
                pytest.skip(
                    f"needs the link of --click-id {click_id}; a lead for it answered "
                    f"HTTP {answer.status}: {answer.body[:200]!r}"
                )
            self._click_link = (str(link["domain"]), str(link["key"]), str(link["id"]))
        return self._click_link

    def workspace(
        self, *, plan: str = "business", allowed_hostnames: list[str] | None = None
    ) -> str:
        """A fresh workspace (the admin API's), optionally restricted to some hostnames."""
        admin = self.require_admin("create workspaces")
        workspace = self.unique("ws")
        payload: dict[str, Any] = {"id": workspace, "plan": plan}
        if allowed_hostnames is not None:
            payload["allowedHostnames"] = allowed_hostnames
        admin.call("POST", "workspaces", payload)
        return workspace

    def publishable(self, purpose: str = "default") -> str:
        """A publishable key (dub_pk_...) of the token's workspace.

        With the admin API one key per `purpose` (each key has its own 600-a-minute budget, so
        the property tests of two routes do not wait on each other); on a real server the key
        given on the command line, else the check is skipped.
        """
        if self.publishable_key:
            return self.publishable_key
        if self.admin is None:
            pytest.skip(NO_PUBLISHABLE_KEY)
        if purpose not in self._publishable:
            self._publishable[purpose] = self.publishable_in(self.workspace_id)
        return self._publishable[purpose]

    def publishable_in(self, workspace_id: str) -> str:
        """A new publishable key of `workspace_id` (the admin API's)."""
        admin = self.require_admin("create publishable keys")
        record = admin.call("POST", "publishable-keys", {"workspaceId": workspace_id})
        key = str(record["key"])
        self.client.publishable_keys = (*self.client.publishable_keys, key)
        return key

    def token_with(
        self,
        *,
        plan: str = "business",
        role: str = "owner",
        expired: bool = False,
        rate_limit: int | None = None,
        workspace: str | None = None,
    ) -> str:
        """A fresh token in a fresh workspace (or in `workspace`); its requests skip the
        suite's pacing."""
        admin = self.require_admin("create tokens and workspaces")
        if workspace is None:
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
