"""pytest-xdist: each worker is a session with its own server, port and state."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("xdist")


@pytest.mark.slow
def test_each_worker_has_its_own_server_and_state(downstream: pytest.Pytester) -> None:
    downstream.makepyfile(
        """
        import json, os, pathlib
        import pytest
        from sale_client import track_sale

        OUT = pathlib.Path(__file__).parent / "seen"

        @pytest.mark.parametrize("n", range(8))
        def test_isolated(dub_mock, n):
            dub_mock.add_customer(f"user_{n}")
            status, body, _, _ = track_sale(dub_mock.url, dub_mock.token,
                                            {"customerExternalId": f"user_{n}", "amount": n + 1,
                                             "invoiceId": "INV_SAME"})
            assert status == 200, body
            # the same invoice on every test, yet each test records its own sale: clean state
            assert [(s.amount, s.invoiceId) for s in dub_mock.sales] == [(n + 1, "INV_SAME")]
            assert [c.externalId for c in dub_mock.customers] == [f"user_{n}"]
            OUT.mkdir(exist_ok=True)
            (OUT / f"{n}.json").write_text(json.dumps(
                {"worker": os.environ["PYTEST_XDIST_WORKER"], "url": dub_mock.url}))

        def test_failure_report_crosses_the_worker_boundary(dub_mock):
            track_sale(dub_mock.url, dub_mock.token, {"customerExternalId": "zz"})
            assert dub_mock.sales
        """
    )
    result = downstream.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=120)
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- dub-mock journal (live server) -*",
            "POST /track/sale → 422 (* ms)",
            '    sent: {"customerExternalId": "zz"}',
        ]
    )
    seen = [json.loads(p.read_text()) for p in sorted(downstream.path.joinpath("seen").iterdir())]
    assert len(seen) == 8
    url_of = {}
    for item in seen:
        assert url_of.setdefault(item["worker"], item["url"]) == item["url"]
    assert sorted(url_of) == ["gw0", "gw1"]
    assert len(set(url_of.values())) == 2, url_of
