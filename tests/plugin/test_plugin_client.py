"""``dub_client``: the official SDK bound to ``dub_mock``; a clear skip when it is missing."""

from __future__ import annotations

import sys

import pytest


def test_sdk_client_tracks_a_sale_on_the_mock(downstream: pytest.Pytester, run) -> None:
    pytest.importorskip("dub", reason="the official Dub SDK (the sdk extra) is not installed")
    downstream.makepyfile(
        """
        import pytest
        from dub.models import errors

        def test_sale(dub_client, dub_mock):
            dub_mock.add_customer("user_42")
            answer = dub_client.track.sale(request={
                "customer_external_id": "user_42", "amount": 4900, "invoice_id": "INV_1",
                "payment_processor": "stripe"})
            assert answer.customer.external_id == "user_42"
            assert answer.sale.amount == 4900
            assert dub_mock.sales.one(invoiceId="INV_1").paymentProcessor == "stripe"

        def test_sdk_sees_faults_as_errors(dub_client, dub_mock):
            dub_mock.fail_next(500)
            with pytest.raises(errors.InternalServerError):
                dub_client.track.sale(request={"customer_external_id": "u", "amount": 1})

        @pytest.mark.dub_mock(plan="free")
        def test_sdk_sees_plan_errors(dub_client):
            with pytest.raises(errors.Forbidden, match="Need higher plan"):
                dub_client.track.sale(request={"customer_external_id": "u", "amount": 1})

        def test_lead_then_sale(dub_client, dub_mock):
            click = dub_mock.add_click()
            lead = dub_client.track.lead(request={
                "click_id": click.id, "event_name": "Sign up", "customer_external_id": "u7"})
            assert (lead.click.id, lead.link.id) == (click.id, click.linkId)
            assert lead.customer.external_id == "u7"
            dub_client.track.sale(request={"customer_external_id": "u7", "amount": 900})
            assert dub_mock.leads.one().clickId == click.id
            assert dub_mock.sales.one().linkId == click.linkId
            with pytest.raises(errors.BadRequest, match="clickId"):
                dub_client.track.lead(request={
                    "click_id": "", "event_name": "Sign up", "customer_external_id": "u8"})
        """
    )
    run().assert_outcomes(passed=4)


def test_skipped_with_a_clear_reason_without_the_sdk(
    downstream: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes `import dub` raise ImportError, as when it is absent.
    monkeypatch.setitem(sys.modules, "dub", None)
    downstream.makepyfile(
        """
        def test_needs_sdk(dub_client):
            raise AssertionError("must not run")

        def test_plain_mock_still_works(dub_mock):
            assert dub_mock.sales == []
        """
    )
    result = run("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*dub_client needs the official Dub SDK*pip install 'dub-mock[[]sdk]'"]
    )
