"""Rules 1-8: how the target refuses requests before it reads the body."""

from __future__ import annotations

import pytest

from contract_tests.areas import mark
from contract_tests.properties import rate_limit_problem
from contract_tests.rules import check, expect_error
from contract_tests.target import Target

pytestmark = mark("sale")

MISCONFIGURED = (
    "Misconfigured authorization header. Did you forget to add 'Bearer '? "
    "Learn more: https://d.to/auth"
)
PERSONAL_KEY = (
    "Workspace ID not found. Did you forget to include a `workspaceId` query parameter? "
    "It looks like you might be using personal API keys, we also recommend refactoring to "
    "workspace API keys: https://d.to/keys"
)
ROLE = "You don't have the required role to access this endpoint. Required role(s): owner, member."
BODY = {"customerExternalId": "dubmock-check-auth", "amount": 100}


def test_authorization_without_bearer_is_400(dub: Target) -> None:
    """Rule 1: 'Authorization: Token ...' answers 400 bad_request."""
    answer = dub.client.sale(BODY, token=None, headers={"Authorization": f"Token {dub.token}"})
    expect_error(answer, "1", 400, "bad_request", MISCONFIGURED)


def test_missing_authorization_is_401(dub: Target) -> None:
    """Rule 2: no Authorization header answers 401 unauthorized."""
    answer = dub.client.sale(BODY, token=None)
    expect_error(answer, "2", 401, "unauthorized", "Missing Authorization header.")


def test_auth_comes_before_the_body(dub: Target) -> None:
    """Rules 2 and 9: without a token, even an unparseable body answers 401."""
    answer = dub.client.sale(raw=b"{not json", token=None)
    expect_error(answer, "2", 401, "unauthorized", "Missing Authorization header.")


def test_personal_api_key_is_404(dub: Target) -> None:
    """Rule 3: a token without the dub_ prefix answers 404 not_found."""
    answer = dub.client.sale(BODY, token="sk_personal_" + dub.run_id)
    expect_error(answer, "3", 404, "not_found", PERSONAL_KEY)


def test_token_is_exactly_what_follows_bearer(dub: Target) -> None:
    """Fine point: 'Bearer  dub_...' (two spaces) carries ' dub_...', no dub_ prefix: rule 3."""
    answer = dub.client.sale(BODY, token=None, headers={"Authorization": f"Bearer  {dub.token}"})
    expect_error(answer, "3", 404, "not_found", PERSONAL_KEY)


def test_personal_key_with_workspace_id_is_401(dub: Target) -> None:
    """Rules 3 and 4: with a workspaceId query parameter a non-dub_ token is looked up: 401."""
    path = f"/track/sale?workspaceId={dub.unique('ws')}"
    answer = dub.client.send("POST", path, json_body=BODY, token="sk_personal_" + dub.run_id)
    expect_error(answer, "4", 401, "unauthorized", "Unauthorized: Invalid API key.")


def test_unknown_token_is_401(dub: Target) -> None:
    """Rule 4: a dub_ token the target does not know answers 401."""
    answer = dub.client.sale(BODY, token=f"dub_unknown_{dub.run_id}")
    expect_error(answer, "4", 401, "unauthorized", "Unauthorized: Invalid API key.")


def test_expired_token_is_401(dub: Target) -> None:
    """Rule 5: an expired token answers 401."""
    token = dub.token_with(expired=True)
    answer = dub.client.sale(BODY, token=token)
    expect_error(answer, "5", 401, "unauthorized", "Unauthorized: Access token expired.")


@pytest.mark.parametrize("role", ["viewer", "billing"])
def test_role_without_write_access_is_403(dub: Target, role: str) -> None:
    """Rule 7: a viewer or billing token answers 403 forbidden, with rate-limit headers."""
    token = dub.token_with(role=role)
    answer = dub.client.sale(BODY, token=token)
    expect_error(answer, "7", 403, "forbidden", ROLE)
    problem = rate_limit_problem(answer.status, answer.headers)
    check(problem is None, "6", f"a rule-7 403 must carry rate-limit headers: {problem}", answer)


@pytest.mark.parametrize("role", ["owner", "member"])
def test_writing_roles_are_accepted(dub: Target, role: str) -> None:
    """Rule 7: owner and member tokens may track sales."""
    token = dub.token_with(role=role)
    answer = dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}, token=token)
    check(answer.status == 200, "7", f"a {role} token answered {answer.status}", answer)


@pytest.mark.parametrize(("plan", "limit"), [("free", 60), ("pro", 600)], ids=["free", "pro"])
def test_plan_below_business_is_403(dub: Target, plan: str, limit: int) -> None:
    """Rule 8: free and pro workspaces answer 403 'Need higher plan', at the plan's limit."""
    token = dub.token_with(plan=plan)
    answer = dub.client.sale(BODY, token=token)
    expect_error(answer, "8", 403, "forbidden", "Unauthorized: Need higher plan.")
    problem = rate_limit_problem(answer.status, answer.headers)
    check(problem is None, "6", f"a rule-8 403 must carry rate-limit headers: {problem}", answer)
    check(
        answer.headers.get("X-RateLimit-Limit") == str(limit),
        "6",
        f"a {plan} workspace's limit is {limit} per minute",
        answer,
    )


@pytest.mark.parametrize(
    ("plan", "limit"),
    [("business", 1200), ("business plus", 1200), ("advanced", 3000), ("enterprise", 3000)],
    ids=["business", "business-plus", "advanced", "enterprise"],
)
def test_business_plans_are_accepted(dub: Target, plan: str, limit: int) -> None:
    """Rules 6 and 8: business and higher plans may track sales, at their plan's limit."""
    token = dub.token_with(plan=plan)
    answer = dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}, token=token)
    check(answer.status == 200, "8", f"a {plan} workspace answered {answer.status}", answer)
    check(
        answer.headers.get("X-RateLimit-Limit") == str(limit),
        "6",
        f"a {plan} workspace's limit is {limit} per minute",
        answer,
    )
