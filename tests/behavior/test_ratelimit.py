"""Rule 6: per-token fixed one-minute windows by plan, the four headers, 429, --no-rate-limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mockserver import MockServer

from .support import STORES, HttpApi, PinnedClock, Reply, WsgiApi

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
TOO_MANY = "Too many requests."
NOBODY = {"customerExternalId": "nobody", "amount": 100}
ROLE = "You don't have the required role to access this endpoint. Required role(s): owner, member."


def _limit(reply: Reply) -> tuple[int, int]:
    return int(reply.headers["X-RateLimit-Limit"]), int(reply.headers["X-RateLimit-Remaining"])


# --- over HTTP ---------------------------------------------------------------------------


def test_a_200_carries_the_four_headers_and_remaining_counts_down(api: HttpApi) -> None:
    first = api.track(NOBODY)
    second = api.track(NOBODY)
    assert first.status == second.status == 200
    for name in RATE_HEADERS:
        assert name in first.headers and name in second.headers, name
    assert _limit(first) == (1200, 1199)
    assert _limit(second) == (1200, 1198)
    assert first.headers["X-RateLimit-Reset"] == second.headers["X-RateLimit-Reset"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{nope", 400),
        (b'{"customerExternalId": "c", "amount": -1}', 422),
        (b'{"amount": 1}', 400),
        (b'{"customerExternalId": "c", "amount": 1, "clickId": "missing"}', 404),
    ],
    ids=["invalid-json", "schema", "no-customer-id", "unknown-click"],
)
def test_errors_after_authentication_carry_the_headers_and_count(
    api: HttpApi, body: bytes, status: int
) -> None:
    reply = api.track(data=body)
    assert reply.status == status, reply
    for name in RATE_HEADERS:
        assert name in reply.headers, name
    assert _limit(reply) == (1200, 1199)
    assert _limit(api.track(NOBODY)) == (1200, 1198)


PLAN_LIMITS = [
    ("free", 60),
    ("pro", 600),
    ("business", 1200),
    ("business plus", 1200),
    ("business max", 1200),
    ("business extra", 1200),
    ("advanced", 3000),
    ("enterprise", 3000),
]


@pytest.mark.parametrize(
    ("plan", "limit"), PLAN_LIMITS, ids=[p.replace(" ", "-") for p, _ in PLAN_LIMITS]
)
def test_the_limit_follows_the_workspace_plan(api: HttpApi, plan: str, limit: int) -> None:
    api.add_workspace("ws_plan", plan=plan)
    api.add_token("dub_plan", workspaceId="ws_plan")
    reply = api.track(NOBODY, token="dub_plan")
    assert reply.status in (200, 403)
    assert _limit(reply) == (limit, limit - 1)


def test_over_the_limit_is_429_with_the_headers(api: HttpApi) -> None:
    api.add_token("dub_three", rateLimitPerMinute=3)
    for remaining in (2, 1, 0):
        reply = api.track(NOBODY, token="dub_three")
        assert reply.status == 200, reply
        assert _limit(reply) == (3, remaining)
    over = api.track(NOBODY, token="dub_three")
    over.expect_error(429, "rate_limit_exceeded", TOO_MANY)
    assert _limit(over) == (3, 0)
    assert over.headers["Retry-After"].isdigit()
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert over.headers["X-RateLimit-Reset"] == reply.headers["X-RateLimit-Reset"]


def test_the_limit_is_counted_per_token(api: HttpApi) -> None:
    api.add_token("dub_a", rateLimitPerMinute=1)
    api.add_token("dub_b", rateLimitPerMinute=1)
    assert api.track(NOBODY, token="dub_a").status == 200
    assert api.track(NOBODY, token="dub_b").status == 200
    api.track(NOBODY, token="dub_a").expect_error(429, "rate_limit_exceeded", TOO_MANY)
    api.track(NOBODY, token="dub_b").expect_error(429, "rate_limit_exceeded", TOO_MANY)
    assert api.track(NOBODY).status == 200


def test_forbidden_answers_count_and_the_limit_comes_before_the_role(api: HttpApi) -> None:
    api.add_token("dub_viewer", role="viewer", rateLimitPerMinute=2)
    api.track(NOBODY, token="dub_viewer").expect_error(403, "forbidden", ROLE)
    api.track(NOBODY, token="dub_viewer").expect_error(403, "forbidden", ROLE)
    api.track(NOBODY, token="dub_viewer").expect_error(429, "rate_limit_exceeded", TOO_MANY)


def test_the_limit_comes_before_the_plan(api: HttpApi) -> None:
    api.add_workspace("ws_pro", plan="pro")
    api.add_token("dub_pro", workspaceId="ws_pro", rateLimitPerMinute=1)
    api.track(NOBODY, token="dub_pro").expect_error(
        403, "forbidden", "Unauthorized: Need higher plan."
    )
    api.track(NOBODY, token="dub_pro").expect_error(429, "rate_limit_exceeded", TOO_MANY)


def test_the_limit_comes_before_the_body(api: HttpApi) -> None:
    api.add_token("dub_one", rateLimitPerMinute=1)
    assert api.track(data=b"{bad", token="dub_one").status == 400
    api.track(data=b"{bad", token="dub_one").expect_error(429, "rate_limit_exceeded", TOO_MANY)


def test_requests_refused_before_step_6_do_not_count(api: HttpApi) -> None:
    api.add_token("dub_two", rateLimitPerMinute=2)
    # Wrong scheme, unknown tokens and missing headers are refused before the token is known.
    api.track(NOBODY, token=None, headers={"Authorization": "Basic x"})
    api.track(NOBODY, token=None)
    reply = api.track(NOBODY, token="dub_two")
    assert _limit(reply) == (2, 1)


def test_no_rate_limit_turns_every_limit_and_header_off(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(rate_limit=False)
    api.add_token("dub_one", rateLimitPerMinute=1)
    replies = [api.track(NOBODY, token="dub_one") for _ in range(4)]
    replies.append(api.track(data=b"{bad", token="dub_one"))
    api.add_token("dub_viewer", role="viewer", rateLimitPerMinute=1)
    replies.append(api.track(NOBODY, token="dub_viewer"))
    assert [r.status for r in replies] == [200, 200, 200, 200, 400, 403]
    for reply in replies:
        for name in RATE_HEADERS:
            assert name not in reply.headers, (name, reply)


# --- in process, on a pinned clock --------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_reset_is_the_window_end_in_ms_and_retry_after_is_whole_seconds(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    api.add_token("dub_two", rateLimitPerMinute=2)
    opened_ms = int(clock.now * 1000)
    first = api.track(NOBODY, token="dub_two")
    assert first.headers["X-RateLimit-Reset"] == str(opened_ms + 60_000)
    assert first.headers["Retry-After"] == "60"
    clock.advance(10.5)
    second = api.track(NOBODY, token="dub_two")
    assert second.headers["X-RateLimit-Reset"] == str(opened_ms + 60_000)
    assert second.headers["Retry-After"] == "50"  # 49.5 s left, in whole seconds
    clock.advance(40)
    over = api.track(NOBODY, token="dub_two")
    over.expect_error(429, "rate_limit_exceeded", TOO_MANY)
    assert over.headers["X-RateLimit-Reset"] == str(opened_ms + 60_000)
    assert over.headers["Retry-After"] == "10"  # 9.5 s left
    assert _limit(over) == (2, 0)


@pytest.mark.parametrize("store", STORES)
def test_the_window_is_fixed_and_a_new_one_opens_when_it_ends(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    api.add_token("dub_one", rateLimitPerMinute=1)
    opened_ms = int(clock.now * 1000)
    assert api.track(NOBODY, token="dub_one").status == 200
    start = clock.now
    clock.now = start + 59.99
    api.track(NOBODY, token="dub_one").expect_error(429, "rate_limit_exceeded", TOO_MANY)
    clock.now = start + 60  # exactly the end of the first window
    reply = api.track(NOBODY, token="dub_one")
    assert reply.status == 200, reply
    assert reply.headers["X-RateLimit-Reset"] == str(opened_ms + 120_000)
    assert _limit(reply) == (1, 0)


@pytest.mark.parametrize("store", STORES)
def test_the_window_opens_with_the_first_request_after_an_idle_spell(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    api.track(NOBODY)
    clock.advance(300.25)
    reply = api.track(NOBODY)
    assert reply.headers["X-RateLimit-Reset"] == str(int(clock.now * 1000) + 60_000)
    assert reply.headers["Retry-After"] == "60"
    assert _limit(reply) == (1200, 1199)


def test_the_free_plan_allows_60_a_minute_even_though_each_answer_is_403(
    make_wsgi: Callable[..., WsgiApi],
) -> None:
    api = make_wsgi()
    api.add_workspace("ws_free", plan="free")
    api.add_token("dub_free", workspaceId="ws_free")
    statuses = [api.track(NOBODY, token="dub_free").status for _ in range(61)]
    assert statuses == [403] * 60 + [429]


def test_x_ratelimit_reset_is_a_unix_time_in_ms_a_minute_ahead(api: HttpApi) -> None:
    before_ms = int(time.time() * 1000)
    reply = api.track(NOBODY)
    after_ms = int(time.time() * 1000)
    reset_ms = int(reply.headers["X-RateLimit-Reset"])
    assert before_ms + 60_000 <= reset_ms <= after_ms + 60_000
    assert reply.headers["Retry-After"] in ("59", "60")


def test_concurrent_requests_never_exceed_the_limit(api: HttpApi) -> None:
    api.add_token("dub_five", rateLimitPerMinute=5)
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait(timeout=10)
        statuses.append(api.track(NOBODY, token="dub_five").status)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] * 5 + [429] * 7


def test_two_instances_on_one_sqlite_file_share_the_counters(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/shared.db"
    with MockServer(state=state, quiet=True) as one, MockServer(state=state, quiet=True) as two:
        first, second = HttpApi(one), HttpApi(two)
        first.add_token("dub_three", rateLimitPerMinute=3)
        statuses = [
            client.track(NOBODY, token="dub_three").status
            for client in (first, second, first, second)
        ]
        assert statuses == [200, 200, 200, 429]
        assert second.track(NOBODY, token="dub_three").headers["X-RateLimit-Remaining"] == "0"
