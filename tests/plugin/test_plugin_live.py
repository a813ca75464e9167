"""``dub_mock``: a live mock per session, a clean state per test, helpers that seed and inspect."""

from __future__ import annotations

import pytest


def test_readme_example_shape_records_a_sale_over_http(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def test_checkout_records_sale(dub_mock):
            dub_mock.add_customer("user_42")
            status, body, _, _ = track_sale(dub_mock.url, dub_mock.token,
                                           {"customerExternalId": "user_42", "amount": 4900})
            assert status == 200, body
            assert body["customer"]["externalId"] == "user_42"
            assert [s["amount"] for s in dub_mock.sales] == [4900]
            assert dub_mock.sales[0].currency == "usd"
        """
    )
    run().assert_outcomes(passed=1)


def test_one_server_per_session_on_a_free_loopback_port(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        from urllib.parse import urlsplit
        URLS = []

        def test_a(dub_mock):
            URLS.append(dub_mock.url)

        def test_b(dub_mock):
            URLS.append(dub_mock.url)

        def test_same_server(dub_mock):
            assert URLS == [dub_mock.url, dub_mock.url]
            parts = urlsplit(dub_mock.url)
            assert parts.hostname == "127.0.0.1"
            assert parts.port not in (None, 8787)
            assert dub_mock.token == "dub_mock_key"
        """
    )
    run().assert_outcomes(passed=3)


def test_state_is_reset_before_every_test(downstream: pytest.Pytester, run) -> None:
    """The first test leaves every kind of state behind; the second sees none of it."""
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def test_dirty(dub_mock):
            dub_mock.add_customer("c1")
            dub_mock.add_click(id="clk_1")
            dub_mock.add_link(id="lnk_1")
            dub_mock.add_token("dub_extra", plan="pro")
            dub_mock.set_fx_rate("EUR", 2.0)
            dub_mock.add_token("dub_limited", rate_limit_per_minute=1)
            assert track_sale(dub_mock.url, "dub_limited",
                              {"customerExternalId": "c1", "amount": 10})[0] == 200
            assert track_sale(dub_mock.url, "dub_limited",
                              {"customerExternalId": "c1", "amount": 10})[0] == 429
            assert track_sale(dub_mock.url, dub_mock.token,
                              {"customerExternalId": "c1", "amount": 100,
                               "invoiceId": "INV_1"})[0] == 200
            dub_mock.fail_next(503, count=5)
            assert dub_mock.sales and dub_mock.requests

        def test_clean(dub_mock):
            state = dub_mock.state
            assert state["customers"] == state["clicks"] == state["links"] == []
            assert state["leads"] == state["sales"] == []
            assert [t["workspaceId"] for t in state["tokens"]] == ["ws_mock"]
            assert [w["id"] for w in state["workspaces"]] == ["ws_mock"]
            assert dub_mock.requests == []
            assert dub_mock.fx_rates["EUR"] != 2.0
            # no fault left over, the invoice is free again, and the token limit is gone
            dub_mock.add_customer("c1")
            status, body, _, _ = track_sale(dub_mock.url, dub_mock.token,
                                            {"customerExternalId": "c1", "amount": 7,
                                             "invoiceId": "INV_1"})
            assert (status, body["sale"]["amount"]) == (200, 7)
            assert track_sale(dub_mock.url, "dub_limited", {"customerExternalId": "c1"})[0] == 401
        """
    )
    run().assert_outcomes(passed=2)


def test_helpers_seed_what_the_api_then_honours(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def sale(dub_mock, body, token=None):
            status, answer, _, _ = track_sale(dub_mock.url, token or dub_mock.token, body)
            return status, answer

        def test_click_makes_a_direct_sale(dub_mock):
            click = dub_mock.add_click(id="clk_42")
            assert click["id"] == "clk_42" and click.linkId
            status, body = sale(dub_mock, {"customerExternalId": "new", "clickId": "clk_42",
                                           "amount": 500})
            assert status == 200, body
            (customer,) = dub_mock.customers
            assert customer.externalId == "new" and customer.linkId == click.linkId
            assert dub_mock.leads.one(customerId=customer.id).eventName == (
                "Direct sale tracking lead event")

        def test_disabled_link_refuses(dub_mock):
            link = dub_mock.add_link(disabled=True)
            dub_mock.add_customer("u", link_id=link.id)
            status, body = sale(dub_mock, {"customerExternalId": "u", "amount": 1})
            assert status == 404 and "disabled" in body["error"]["message"]

        def test_tokens_plans_roles_expiry(dub_mock):
            assert str(dub_mock.add_token("dub_free", plan="free")) == "dub_free"
            dub_mock.add_token("dub_viewer", role="viewer")
            dub_mock.add_token("dub_old", expired=True)
            body = {"customerExternalId": "x", "amount": 1}
            assert sale(dub_mock, body, "dub_free")[1]["error"]["message"] == (
                "Unauthorized: Need higher plan.")
            assert sale(dub_mock, body, "dub_viewer")[0] == 403
            assert sale(dub_mock, body, "dub_old")[1]["error"]["message"] == (
                "Unauthorized: Access token expired.")
            assert [w.plan for w in dub_mock.workspaces.where(id="ws_dub_free")] == ["free"]

        def test_fx_rate_converts(dub_mock):
            dub_mock.add_customer("eu")
            assert dub_mock.set_fx_rate("EUR", 0.5)["EUR"] == 0.5
            status, body = sale(dub_mock, {"customerExternalId": "eu", "amount": 1000,
                                           "currency": "EUR"})
            assert body["sale"] == {**body["sale"], "amount": 2000, "currency": "usd"}
            assert dub_mock.sales.one().originalCurrency == "eur"

        def test_fail_next_then_recover(dub_mock):
            dub_mock.add_customer("u")
            fault = dub_mock.fail_next(503, count=2)
            assert (fault.status, fault.count) == (503, 2)
            body = {"customerExternalId": "u", "amount": 1}
            statuses = [sale(dub_mock, body)[0] for _ in range(3)]
            assert statuses == [503, 503, 200]
            assert [r.status for r in dub_mock.requests] == [503, 503, 200]

        def test_fail_next_delay_only(dub_mock):
            dub_mock.add_customer("u")
            dub_mock.fail_next(None, delay_ms=150)
            status, _, _, took = track_sale(dub_mock.url, dub_mock.token,
                                            {"customerExternalId": "u", "amount": 1})
            assert status == 200 and took >= 0.15

        def test_leads_and_reset_mid_test(dub_mock):
            dub_mock.add_customer("u", lead_event_name="Trial")
            dub_mock.add_lead("u", "Upgrade")
            assert [l.eventName for l in dub_mock.leads] == ["Trial", "Upgrade"]
            dub_mock.reset()
            assert dub_mock.customers == [] and dub_mock.leads == []

        def test_journal_records_the_conversation(dub_mock):
            sale(dub_mock, {"customerExternalId": "ghost", "amount": 3})
            (entry,) = dub_mock.requests
            assert (entry.method, entry.path, entry.status) == ("POST", "/track/sale", 200)
            assert entry.json == {"customerExternalId": "ghost", "amount": 3}
            assert entry.response_body == {"eventName": "Purchase", "customer": None,
                                           "sale": None}
        """
    )
    run().assert_outcomes(passed=8)


def test_what_helpers_return_prints_readably(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def test_wrong_amount(dub_mock):
            dub_mock.add_customer("user_42", name="Ada")
            track_sale(dub_mock.url, dub_mock.token,
                       {"customerExternalId": "user_42", "amount": 4900, "invoiceId": "INV_7"})
            assert dub_mock.sales == []

        def test_customer_repr(dub_mock):
            assert dub_mock.add_customer("user_9") is None
        """
    )
    result = run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*Left contains one more item: "
            "Sale(amount=4900, currency='usd', eventName='Purchase', invoiceId='INV_7'*",
            "*assert Customer(externalId='user_9', id='cus_*",
            "*where add_customer = <DubMock http://127.0.0.1:* token='dub_mock_key'>.add_customer",
        ]
    )


def test_a_refused_admin_call_fails_with_the_mocks_message(
    downstream: pytest.Pytester, run
) -> None:
    downstream.makepyfile(
        """
        def test_bad_workspace(dub_mock):
            dub_mock.add_customer("u", workspace_id="ws_nope")
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*dub-mock refused POST /__mock/customers → 404 not_found: Workspace ws_nope not found*"]
    )


def test_settings_fixture_configures_the_session_server(downstream: pytest.Pytester, run) -> None:
    downstream.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def dub_mock_settings():
            return {"tokens": ("dub_second",), "admin_token": "s3cret"}
        """
    )
    downstream.makepyfile(
        """
        import urllib.request, urllib.error
        from sale_client import track_sale

        def test_extra_token_and_admin_token(dub_mock):
            dub_mock.add_customer("u")  # the helpers send the admin token
            assert track_sale(dub_mock.url, "dub_second",
                              {"customerExternalId": "u", "amount": 1})[0] == 200
            try:
                urllib.request.urlopen(dub_mock.url + "/__mock/state")
            except urllib.error.HTTPError as error:
                error.close()
                assert error.code == 401
            else:
                raise AssertionError("the admin API answered without the admin token")
        """
    )
    run().assert_outcomes(passed=1)


def test_settings_fixture_may_return_a_settings_object(downstream: pytest.Pytester, run) -> None:
    downstream.makeconftest(
        """
        import pytest
        from mockserver import Settings

        @pytest.fixture(scope="session")
        def dub_mock_settings(tmp_path_factory):
            db = tmp_path_factory.mktemp("state") / "mock.db"
            return Settings(quiet=True, state=f"sqlite:///{db}", rate_limit=False)
        """
    )
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def test_sqlite_state(dub_mock, dub_mock_app):
            for mock in (dub_mock, dub_mock_app):
                assert mock.state  # both open the same SQLite file
            dub_mock.add_customer("u")
            status, _, headers, _ = track_sale(dub_mock.url, dub_mock.token,
                                               {"customerExternalId": "u", "amount": 9})
            assert status == 200 and "X-RateLimit-Limit" not in headers
            assert dub_mock.sales.one().amount == 9

        def test_reset_on_sqlite(dub_mock):
            assert dub_mock.sales == [] and dub_mock.customers == []
        """
    )
    run().assert_outcomes(passed=2)


def test_hypothesis_examples_reset_by_hand(downstream: pytest.Pytester, run) -> None:
    """The README's advice for @given: one fixture for all examples, a reset in each."""
    downstream.makepyfile(
        """
        from hypothesis import HealthCheck, given, settings, strategies as st
        from sale_client import track_sale

        @settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(amount=st.integers(min_value=1, max_value=10**6))
        def test_any_amount_is_recorded_once(dub_mock, amount):
            dub_mock.reset()
            dub_mock.add_customer("u")
            assert track_sale(dub_mock.url, dub_mock.token,
                              {"customerExternalId": "u", "amount": amount})[0] == 200
            assert [s.amount for s in dub_mock.sales] == [amount]
        """
    )
    run().assert_outcomes(passed=1)
