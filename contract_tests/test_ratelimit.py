"""Rule 6: the rate-limit headers on every counted answer, and the 429 over the limit."""

from __future__ import annotations

from contract_tests.areas import mark
from contract_tests.client import Exchange
from contract_tests.properties import rate_limit_problem
from contract_tests.rules import check, expect_error
from contract_tests.target import Target

pytestmark = mark("sale")

TOO_MANY = "Too many requests."


def _headers_ok(answer: Exchange, what: str) -> None:
    problem = rate_limit_problem(answer.status, answer.headers)
    check(problem is None, "6", f"{what}: {problem}", answer)


def test_headers_on_success_and_on_errors(dub: Target) -> None:
    """Rule 6: 200s, 400s, 422s and 404s alike carry the four headers."""
    answers = {
        "a 200": dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}),
        "a rule-9 400": dub.client.sale(raw=b"{"),
        "a rule-10 422": dub.client.sale({"customerExternalId": "x", "amount": -1}),
        "a rule-11 400": dub.client.sale({"amount": 1}),
        "a rule-16 404": dub.client.sale(
            {
                "customerExternalId": dub.unique("direct"),
                "amount": 1,
                "clickId": dub.unique("no-click"),
            }
        ),
    }
    for what, answer in answers.items():
        _headers_ok(answer, what)


def test_remaining_goes_down(dub: Target) -> None:
    """Rule 6: within one window each request lowers X-RateLimit-Remaining."""
    body = {"customerExternalId": dub.unique("nobody"), "amount": 1}
    first, second = dub.client.sale(body), dub.client.sale(body)
    _headers_ok(first, "the first answer")
    _headers_ok(second, "the second answer")
    same_window = first.headers["X-RateLimit-Reset"] == second.headers["X-RateLimit-Reset"]
    before, after = (int(a.headers["X-RateLimit-Remaining"]) for a in (first, second))
    check(
        not same_window or after < before,
        "6",
        f"X-RateLimit-Remaining went {before} -> {after} within one window",
        first,
        second,
    )


def test_over_the_limit_is_429(dub: Target) -> None:
    """Rule 6: past the token's limit the answer is 429 with the headers; failures count too."""
    token = dub.token_with(rate_limit=3)
    good = {"customerExternalId": dub.unique("nobody"), "amount": 1}
    answers = [
        dub.client.sale(good, token=token),
        dub.client.sale(raw=b"{", token=token),
        dub.client.sale({"customerExternalId": "x", "amount": -1}, token=token),
    ]
    for answer in answers:
        _headers_ok(answer, "an answer within the limit")
        check(
            answer.headers.get("X-RateLimit-Limit") == "3",
            "6",
            "X-RateLimit-Limit must be the token's limit, 3",
            answer,
        )
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers]
    check(remaining == [2, 1, 0], "6", f"Remaining went {remaining}, expected [2, 1, 0]", *answers)
    over = dub.client.sale(good, token=token)
    expect_error(over, "6", 429, "rate_limit_exceeded", TOO_MANY)
    _headers_ok(over, "the 429")
    retry_after = int(over.headers.get("Retry-After", "-1"))
    check(retry_after > 0, "6", "Retry-After must say when to come back", over)


def test_limit_is_per_token(dub: Target) -> None:
    """Rule 6: one token over its limit does not stop another."""
    spent = dub.token_with(rate_limit=1)
    dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}, token=spent)
    over = dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}, token=spent)
    expect_error(over, "6", 429, "rate_limit_exceeded", TOO_MANY)
    other = dub.token_with(rate_limit=1)
    fresh = dub.client.sale({"customerExternalId": dub.unique("nobody"), "amount": 1}, token=other)
    check(fresh.status == 200, "6", "a second token must have its own window", over, fresh)


def test_refused_roles_count_towards_the_limit(dub: Target) -> None:
    """Rule 6: the 403s of rules 7-8 count: a viewer over its limit gets 429, not 403."""
    token = dub.token_with(role="viewer", rate_limit=1)
    body = {"customerExternalId": dub.unique("nobody"), "amount": 1}
    first = dub.client.sale(body, token=token)
    expect_error(first, "7", 403, "forbidden")
    second = dub.client.sale(body, token=token)
    expect_error(second, "6", 429, "rate_limit_exceeded", TOO_MANY)
