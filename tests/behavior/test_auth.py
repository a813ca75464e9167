"""Rules 1-8: authentication, role and plan, in Dub's order, before the body is read."""

from __future__ import annotations

import pytest

from .support import HttpApi, Reply

MISCONFIGURED = (
    "Misconfigured authorization header. Did you forget to add 'Bearer '? "
    "Learn more: https://d.to/auth"
)
MISSING = "Missing Authorization header."
PERSONAL_KEY = (
    "Workspace ID not found. Did you forget to include a `workspaceId` query parameter? "
    "It looks like you might be using personal API keys, we also recommend refactoring "
    "to workspace API keys: https://d.to/keys"
)
INVALID_KEY = "Unauthorized: Invalid API key."
EXPIRED = "Unauthorized: Access token expired."
ROLE = "You don't have the required role to access this endpoint. Required role(s): owner, member."
PLAN = "Unauthorized: Need higher plan."
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")

NOBODY = {"customerExternalId": "nobody", "amount": 100}
NULLS = {"eventName": "Purchase", "customer": None, "sale": None}


def _no_rate_headers(reply: Reply) -> None:
    for name in RATE_HEADERS:
        assert name not in reply.headers, name


# --- rule 1 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "dub_mock_key",
        "Token dub_mock_key",
        "Basic ZHViOnh4",
        "bearer dub_mock_key",
        "Bearer",
        "BEARER dub_mock_key",
        "",
    ],
    ids=[
        "bare-token",
        "token-scheme",
        "basic",
        "lower-case-bearer",
        "bearer-without-space",
        "upper-case-bearer",
        "empty",
    ],
)
def test_rule1_authorization_without_bearer_prefix_is_400(api: HttpApi, header: str) -> None:
    reply = api.track(NOBODY, token=None, headers={"Authorization": header})
    reply.expect_error(400, "bad_request", MISCONFIGURED)
    _no_rate_headers(reply)


def test_rule1_comes_before_the_body(api: HttpApi) -> None:
    reply = api.track(data=b"{not json", token=None, headers={"Authorization": "Basic x"})
    reply.expect_error(400, "bad_request", MISCONFIGURED)


# --- rule 2 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"customerExternalId": "c", "amount": 1}', b"{not json", b""],
    ids=["valid-body", "invalid-json", "empty-body"],
)
def test_rule2_missing_authorization_is_401_whatever_the_body(api: HttpApi, body: bytes) -> None:
    reply = api.track(data=body, token=None)
    reply.expect_error(401, "unauthorized", MISSING)
    _no_rate_headers(reply)


# --- rule 3 ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["abc123", "personal_key", "DUB_mock_key"], ids=str)
def test_rule3_non_dub_token_without_workspace_id_is_404(api: HttpApi, token: str) -> None:
    reply = api.track(NOBODY, token=token)
    reply.expect_error(404, "not_found", PERSONAL_KEY)
    _no_rate_headers(reply)


@pytest.mark.parametrize(
    "header",
    ["Bearer  dub_mock_key", "Bearer \tdub_mock_key", "Bearer   dub_mock_key"],
    ids=["two-spaces", "space-tab", "three-spaces"],
)
def test_rule3_the_key_is_exactly_what_follows_bearer_untrimmed(api: HttpApi, header: str) -> None:
    """`Bearer  dub_x` carries the key ` dub_x`, which does not start with `dub_`."""
    reply = api.track(NOBODY, token=None, headers={"Authorization": header})
    reply.expect_error(404, "not_found", PERSONAL_KEY)
    assert api.state()["sales"] == []


def test_rule4_a_trailing_character_after_the_key_makes_it_unknown(api: HttpApi) -> None:
    reply = api.track(NOBODY, token=None, headers={"Authorization": "Bearer dub_mock_key."})
    reply.expect_error(401, "unauthorized", INVALID_KEY)


def test_rule3_comes_before_rule4_and_the_body(api: HttpApi) -> None:
    api.track(data=b"{oops", token="unknown_personal").expect_error(404, "not_found", PERSONAL_KEY)


def test_rule3_a_workspace_id_query_lets_a_non_dub_token_through(api: HttpApi) -> None:
    api.add_token("personal_key_1")
    api.track(NOBODY, token="personal_key_1").expect_error(404, "not_found", PERSONAL_KEY)
    reply = api.track(NOBODY, token="personal_key_1", query="workspaceId=ws_mock")
    assert reply.status == 200, reply
    assert reply.json == NULLS


def test_rule3_then_rule4_unknown_non_dub_token_with_workspace_id_is_401(api: HttpApi) -> None:
    reply = api.track(NOBODY, token="unknown_personal", query="workspaceId=ws_mock")
    reply.expect_error(401, "unauthorized", INVALID_KEY)


# --- rules 4 and 5 -----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["dub_unknown", "dub_", "dub_mock_key2"], ids=str)
def test_rule4_unknown_token_is_401(api: HttpApi, token: str) -> None:
    reply = api.track(NOBODY, token=token)
    reply.expect_error(401, "unauthorized", INVALID_KEY)
    _no_rate_headers(reply)


def test_rule4_comes_before_the_body(api: HttpApi) -> None:
    api.track(data=b"[", token="dub_unknown").expect_error(401, "unauthorized", INVALID_KEY)


def test_rule5_expired_token_is_401(api: HttpApi) -> None:
    api.add_token("dub_old", expired=True)
    reply = api.track(NOBODY, token="dub_old")
    reply.expect_error(401, "unauthorized", EXPIRED)
    _no_rate_headers(reply)
    api.track(data=b"[", token="dub_old").expect_error(401, "unauthorized", EXPIRED)


def test_rule5_expired_comes_before_role_and_plan(api: HttpApi) -> None:
    api.add_workspace("ws_free", plan="free")
    api.add_token("dub_old_viewer", workspaceId="ws_free", role="viewer", expired=True)
    api.track(NOBODY, token="dub_old_viewer").expect_error(401, "unauthorized", EXPIRED)


# --- rule 7 ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "billing"])
def test_rule7_roles_that_may_not_write_are_403(api: HttpApi, role: str) -> None:
    api.add_token(f"dub_{role}", role=role)
    reply = api.track(NOBODY, token=f"dub_{role}")
    reply.expect_error(403, "forbidden", ROLE)
    for name in RATE_HEADERS:
        assert name in reply.headers, name


@pytest.mark.parametrize("role", ["owner", "member"])
def test_rule7_owner_and_member_may_track(api: HttpApi, role: str) -> None:
    api.add_token(f"dub_{role}", role=role)
    reply = api.track(NOBODY, token=f"dub_{role}")
    assert reply.status == 200, reply
    assert reply.json == NULLS


def test_rule7_comes_before_the_body(api: HttpApi) -> None:
    api.add_token("dub_viewer", role="viewer")
    api.track(data=b"{bad", token="dub_viewer").expect_error(403, "forbidden", ROLE)


def test_rule7_comes_before_rule8(api: HttpApi) -> None:
    api.add_workspace("ws_free", plan="free")
    api.add_token("dub_free_viewer", workspaceId="ws_free", role="viewer")
    api.track(NOBODY, token="dub_free_viewer").expect_error(403, "forbidden", ROLE)


# --- rule 8 ------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", ["free", "pro"])
def test_rule8_plans_without_conversions_are_403(api: HttpApi, plan: str) -> None:
    api.add_workspace(f"ws_{plan}", plan=plan)
    api.add_token(f"dub_{plan}", workspaceId=f"ws_{plan}", role="member")
    reply = api.track(NOBODY, token=f"dub_{plan}")
    reply.expect_error(403, "forbidden", PLAN)
    for name in RATE_HEADERS:
        assert name in reply.headers, name
    api.track(data=b"{bad", token=f"dub_{plan}").expect_error(403, "forbidden", PLAN)


@pytest.mark.parametrize(
    "plan",
    ["business", "business plus", "business max", "business extra", "advanced", "enterprise"],
    ids=lambda p: p.replace(" ", "-"),
)
def test_rule8_business_and_above_may_track(api: HttpApi, plan: str) -> None:
    api.add_workspace("ws_paid", plan=plan)
    api.add_token("dub_paid", workspaceId="ws_paid")
    api.add_customer("cust_paid", workspaceId="ws_paid")
    reply = api.track({"customerExternalId": "cust_paid", "amount": 250}, token="dub_paid")
    assert reply.status == 200, reply
    assert reply.json["sale"]["amount"] == 250
    assert reply.json["customer"]["externalId"] == "cust_paid"


def test_the_default_token_is_an_owner_of_a_business_workspace(api: HttpApi) -> None:
    (token,) = [t for t in api.state()["tokens"] if t["workspaceId"] == "ws_mock"]
    assert token["role"] == "owner"
    (workspace,) = [w for w in api.state()["workspaces"] if w["id"] == "ws_mock"]
    assert workspace["plan"] == "business"
    reply = api.track(NOBODY)
    assert reply.status == 200, reply
    assert reply.headers["X-RateLimit-Limit"] == "1200"
