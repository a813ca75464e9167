"""A failing test's report shows the mock's journal: what the code sent and what it got."""

from __future__ import annotations

import pytest


def test_failing_test_shows_the_conversation(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        from sale_client import track_sale

        def test_checkout(dub_mock):
            dub_mock.add_customer("user_42")
            track_sale(dub_mock.url, dub_mock.token, {"customerExternalId": "user_42",
                                                      "amount": 4900, "invoiceId": "INV_9"})
            track_sale(dub_mock.url, "dub_wrong", {"customerExternalId": "user_42"})
            assert len(dub_mock.sales) == 2
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- dub-mock journal (live server) -*",
            "POST /track/sale → 200 (* ms)",
            '    sent: {"customerExternalId": "user_42", "amount": 4900, "invoiceId": "INV_9"}',
            '    got:  {"eventName": "Purchase", "customer": {"id": "cus_*',
            "POST /track/sale → 401 (* ms)",
            '    sent: {"customerExternalId": "user_42"}',
            '    got:  {"error": {"code": "unauthorized", '
            '"message": "Unauthorized: Invalid API key.", *',
        ]
    )


def test_passing_and_skipped_tests_get_no_section(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import pytest
        from sale_client import track_sale

        def test_ok(dub_mock):
            track_sale(dub_mock.url, dub_mock.token, {"customerExternalId": "x"})

        def test_skip(dub_mock):
            track_sale(dub_mock.url, dub_mock.token, {"customerExternalId": "x"})
            pytest.skip("not today")
        """
    )
    result = run("-rA")
    result.assert_outcomes(passed=1, skipped=1)
    assert "dub-mock journal" not in result.stdout.str()


def test_in_process_app_failures_get_the_section_too(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        def test_app(dub_mock_app):
            dub_mock_app.post_sale({"customerExternalId": "nobody", "amount": 5})
            assert dub_mock_app.sales
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- dub-mock journal (in-process app) -*",
            "POST /track/sale → 200 (* ms)",
            '    got:  {"eventName": "Purchase", "customer": null, "sale": null}',
        ]
    )


def test_a_failure_without_requests_says_so(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        def test_nothing_sent(dub_mock):
            assert dub_mock.sales
        """
    )
    result = run()
    result.stdout.fnmatch_lines(["(no API requests reached the mock during this test)"])


def test_long_journals_show_the_newest_entries(downstream: pytest.Pytester, run) -> None:
    downstream.makeini("[pytest]\ndub_mock_journal_max = 2\n")
    downstream.makepyfile(
        """
        def test_many(dub_mock_app):
            for amount in range(1, 6):
                dub_mock_app.post_sale({"customerExternalId": "c", "amount": amount})
            assert False
        """
    )
    result = run()
    out = result.stdout.str()
    assert "(3 earlier request(s) not shown; see dub_mock_journal_max)" in out
    assert '"amount": 4}' in out and '"amount": 5}' in out
    assert '"amount": 3}' not in out
