"""``@pytest.mark.dub_mock(...)``: one test's plan, role, rate limit, latency and seed data."""

from __future__ import annotations

import json

import pytest


def test_marker_is_listed_by_pytest_markers(run) -> None:
    result = run("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.dub_mock(plan=None, role=None, rate_limit_per_minute=None, "
            "latency_ms=None, seed=None, allowed_hostnames=None): configure the Dub mock for "
            "this test*"
        ]
    )


def test_plan_role_and_rate_limit_apply_to_one_test_only(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import pytest
        from sale_client import track_sale

        BODY = {"customerExternalId": "u", "amount": 1}

        @pytest.mark.dub_mock(plan="pro")
        def test_pro_plan_is_refused(dub_mock):
            status, body, headers, _ = track_sale(dub_mock.url, dub_mock.token, BODY)
            assert (status, body["error"]["message"]) == (403, "Unauthorized: Need higher plan.")
            assert headers["X-RateLimit-Limit"] == "600"

        @pytest.mark.dub_mock(role="viewer")
        def test_viewer_role_is_refused(dub_mock):
            status, body, _, _ = track_sale(dub_mock.url, dub_mock.token, BODY)
            assert status == 403 and "Required role(s): owner, member" in body["error"]["message"]

        @pytest.mark.dub_mock(rate_limit_per_minute=3)
        def test_rate_limit(dub_mock):
            statuses = [track_sale(dub_mock.url, dub_mock.token, BODY)[0] for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            dub_mock.reset()  # back to this test's start: the limit still holds, counters clear
            statuses = [track_sale(dub_mock.url, dub_mock.token, BODY)[0] for _ in range(4)]
            assert statuses == [200, 200, 200, 429]

        def test_unmarked_test_gets_the_defaults(dub_mock):
            status, _, headers, _ = track_sale(dub_mock.url, dub_mock.token, BODY)
            assert status == 200 and headers["X-RateLimit-Limit"] == "1200"
        """
    )
    run().assert_outcomes(passed=4)


def test_latency_uses_a_server_started_with_it(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import time
        import pytest
        from sale_client import track_sale

        BODY = {"customerExternalId": "u", "amount": 1}
        URLS = {}

        def test_plain(dub_mock):
            URLS["plain"] = dub_mock.url

        @pytest.mark.dub_mock(latency_ms=300)
        def test_slow(dub_mock):
            URLS["slow"] = dub_mock.url
            assert track_sale(dub_mock.url, dub_mock.token, BODY)[3] >= 0.3

        @pytest.mark.dub_mock(latency_ms=(300, 300))
        def test_slow_again_same_server(dub_mock):
            assert dub_mock.url == URLS["slow"] != URLS["plain"]
            assert dub_mock.requests == []

        @pytest.mark.dub_mock(latency_ms="300")
        def test_in_process_app_too(dub_mock_app):
            started = time.perf_counter()
            dub_mock_app.post_sale(BODY)
            assert time.perf_counter() - started >= 0.3

        def test_unmarked_tests_keep_the_plain_server(dub_mock):
            assert dub_mock.url == URLS["plain"]
            assert track_sale(dub_mock.url, dub_mock.token, BODY)[3] < 0.3
        """
    )
    run().assert_outcomes(passed=5)


def test_seed_from_a_mapping_or_a_file(downstream: pytest.Pytester, run) -> None:
    seed = {
        "workspaces": [{"id": "ws_acme", "plan": "enterprise"}],
        "tokens": [{"token": "dub_acme", "workspaceId": "ws_acme"}],
        "links": [{"id": "lnk_acme", "workspaceId": "ws_acme"}],
        "clicks": [{"id": "clk_acme", "linkId": "lnk_acme"}],
        "customers": [{"externalId": "ada", "workspaceId": "ws_acme", "linkId": "lnk_acme"}],
        "fxRates": {"EUR": 0.5},
    }
    downstream.path.joinpath("seed.json").write_text(json.dumps(seed))
    downstream.makepyfile(
        f"""
        import pathlib
        import pytest
        from sale_client import track_sale

        SEED = {seed!r}
        SEED_FILE = pathlib.Path(__file__).parent / "seed.json"

        def check(dub_mock):
            status, body, _, _ = track_sale(dub_mock.url, "dub_acme",
                                            {{"customerExternalId": "ada", "amount": 100,
                                              "currency": "eur"}})
            assert status == 200, body
            sale = dub_mock.sales.one()
            assert (sale.workspaceId, sale.linkId, sale.amount) == ("ws_acme", "lnk_acme", 200)
            assert [c.id for c in dub_mock.clicks] == ["clk_acme"]

        @pytest.mark.dub_mock(seed=SEED)
        def test_mapping(dub_mock):
            check(dub_mock)

        @pytest.mark.dub_mock(seed=SEED_FILE)
        def test_file(dub_mock):
            check(dub_mock)

        @pytest.mark.dub_mock(seed=str(SEED_FILE))
        def test_file_in_process(dub_mock_app):
            assert dub_mock_app.customers.one().externalId == "ada"

        def test_unseeded(dub_mock):
            assert dub_mock.customers == [] and dub_mock.clicks == []
        """
    )
    run().assert_outcomes(passed=4)


def test_class_marker_merges_with_the_closest(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import pytest
        from sale_client import track_sale

        BODY = {"customerExternalId": "u", "amount": 1}

        @pytest.mark.dub_mock(plan="free", role="viewer")
        class TestFree:
            def test_class_marker(self, dub_mock):
                assert track_sale(dub_mock.url, dub_mock.token, BODY)[0] == 403
                assert dub_mock.workspaces.one(id="ws_mock").plan == "free"

            @pytest.mark.dub_mock(plan="enterprise")
            def test_method_marker_wins_per_argument(self, dub_mock):
                assert dub_mock.workspaces.one(id="ws_mock").plan == "enterprise"
                status, body, _, _ = track_sale(dub_mock.url, dub_mock.token, BODY)
                assert status == 403 and "role" in body["error"]["message"]
        """
    )
    run().assert_outcomes(passed=2)


def test_bad_marker_arguments_fail_with_a_clear_message(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import pytest

        @pytest.mark.dub_mock(plna="pro")
        def test_typo(dub_mock):
            pass

        @pytest.mark.dub_mock("pro")
        def test_positional(dub_mock):
            pass

        @pytest.mark.dub_mock(latency_ms="soon")
        def test_bad_latency(dub_mock):
            pass

        @pytest.mark.dub_mock(plan="platinum")
        def test_unknown_plan(dub_mock):
            pass

        @pytest.mark.dub_mock(allowed_hostnames=["shop.example", 7])
        def test_bad_hostnames(dub_mock):
            pass
        """
    )
    result = run()
    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.dub_mock got unknown argument(s) plna; it takes plan, role, "
            "rate_limit_per_minute, seed, allowed_hostnames, latency_ms*",
            "*@pytest.mark.dub_mock takes keyword arguments only*",
            "*latency_ms takes MS or (MIN, MAX) in milliseconds, not 'soon'*",
            "*dub-mock refused PATCH /__mock/workspaces/ws_mock → 422 unprocessable_entity: "
            "workspace: plan must be one of free, *",
            "*allowed_hostnames takes a hostname or a list of them*not [[]'shop.example', 7]*",
        ]
    )
