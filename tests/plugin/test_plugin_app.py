"""``dub_mock_app``: the same helpers around an in-process WSGI app, with no socket."""

from __future__ import annotations

import pytest


def test_in_process_app_records_a_sale_without_any_socket(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        import socket
        import pytest
        from sale_client import wsgi_sale

        @pytest.fixture
        def no_network(monkeypatch):
            def refuse(*args, **kwargs):
                raise AssertionError("a socket was opened")
            monkeypatch.setattr(socket.socket, "connect", refuse)
            monkeypatch.setattr(socket.socket, "bind", refuse)

        def test_sale(dub_mock_app, no_network):
            dub_mock_app.add_customer("user_42")
            status, body, _ = wsgi_sale(dub_mock_app, {"customerExternalId": "user_42",
                                                       "amount": 4900})
            assert status == 200, body
            assert [s.amount for s in dub_mock_app.sales] == [4900]
            assert dub_mock_app.url == "http://localhost"
            assert repr(dub_mock_app) == "<DubMockApp in-process token='dub_mock_key'>"

        def test_any_wsgi_client_can_drive_app(dub_mock_app, no_network):
            from werkzeug.test import Client
            response = Client(dub_mock_app.app).post(
                "/track/sale", json={"customerExternalId": "x"},
                headers={"Authorization": "Bearer nope_key"})
            assert response.status_code == 404
            assert dub_mock_app.requests.one().status == 404

        def test_clean_again(dub_mock_app):
            assert dub_mock_app.sales == [] and dub_mock_app.customers == []
            assert dub_mock_app.requests == []
        """
    )
    run().assert_outcomes(passed=3)


def test_both_fixtures_share_the_helpers_and_behave_alike(downstream: pytest.Pytester, run) -> None:
    """One parametrised downstream test, run against the live server and the in-process app."""
    downstream.makepyfile(
        """
        import pytest
        from sale_client import track_sale, wsgi_sale

        @pytest.fixture(params=["dub_mock", "dub_mock_app"])
        def mock(request):
            return request.getfixturevalue(request.param)

        def send(mock, body, token=None):
            if mock.url == "http://localhost":
                return wsgi_sale(mock, body, token)[:2]
            return track_sale(mock.url, token or mock.token, body)[:2]

        def test_helpers(mock):
            mock.add_customer("c", name="Ada", email="ada@example.com")
            mock.add_click(id="clk_1")
            mock.add_token("dub_pro", plan="pro")
            mock.set_fx_rate("GBP", 0.5)
            assert send(mock, {"customerExternalId": "c", "amount": 100, "currency": "gbp",
                               "invoiceId": "I1"})[0] == 200
            assert send(mock, {"customerExternalId": "d", "clickId": "clk_1",
                               "amount": 5})[0] == 200
            assert send(mock, {"customerExternalId": "c", "amount": 1}, "dub_pro")[0] == 403
            mock.fail_next(500)
            status, body = send(mock, {"customerExternalId": "c", "amount": 1})
            assert (status, body["error"]["message"]) == (500, "Fault injected by dub-mock")
            assert [(s.amount, s.originalCurrency) for s in mock.sales] == [(200, "gbp"),
                                                                            (5, "usd")]
            assert sorted(c.externalId for c in mock.customers) == ["c", "d"]
            assert [r.status for r in mock.requests] == [200, 200, 403, 500]
            mock.reset()
            assert mock.sales == [] and mock.requests == []

        def test_clean(mock):
            assert mock.state["sales"] == [] and mock.state["clicks"] == []
        """
    )
    run("-v").assert_outcomes(passed=4)
