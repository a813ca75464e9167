"""The official `dub` SDK, pointed at a served mock, tracks sales and raises its typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver import MockServer

dub = pytest.importorskip("dub", reason="the official SDK comes with the `sdk` extra")
from dub.models import errors  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    assert server.app is not None
    server.app.reset()
    return server


def client(mock: MockServer, token: str = "dub_mock_key") -> Any:
    return dub.Dub(token=token, server_url=mock.url)


def admin(mock: MockServer, kind: str, **fields: Any) -> None:
    assert mock.app is not None
    with mock.app.store.transaction() as view:
        getattr(mock.app.control, kind)(view, fields)


def test_sdk_tracks_a_sale_with_conversion(mock: MockServer) -> None:
    admin(mock, "customer", externalId="user_42", name="Ada")
    with client(mock) as sdk:
        result = sdk.track.sale(
            request={
                "customer_external_id": "user_42",
                "amount": 1580,
                "currency": "jpy",
                "event_name": "Invoice paid",
                "payment_processor": "stripe",
                "invoice_id": "INV_1",
            }
        )
    assert result.event_name == "Invoice paid"
    assert result.customer is not None and result.customer.name == "Ada"
    assert result.sale is not None
    assert (result.sale.currency, result.sale.invoice_id) == ("usd", "INV_1")
    assert result.sale.amount == round(158000 / mock.app.store.fx_rates()["JPY"])  # type: ignore[union-attr]


def test_sdk_gets_nulls_for_an_unknown_customer(mock: MockServer) -> None:
    with client(mock) as sdk:
        result = sdk.track.sale(request={"customer_external_id": "nobody", "amount": 100})
    assert result.customer is None and result.sale is None


@pytest.mark.parametrize(
    ("setup", "token", "request_body", "error"),
    [
        (None, "dub_unknown", {"customer_external_id": "c", "amount": 1}, "Unauthorized"),
        (
            None,
            "dub_mock_key",
            {"customer_external_id": "nobody-with-click", "amount": 1, "click_id": "no_such_click"},
            "NotFound",
        ),
        ("viewer", "dub_viewer", {"customer_external_id": "c", "amount": 1}, "Forbidden"),
        ("limited", "dub_limited", {"customer_external_id": "c", "amount": 1}, "RateLimitExceeded"),
        (
            "fault500",
            "dub_mock_key",
            {"customer_external_id": "c", "amount": 1},
            "InternalServerError",
        ),
        ("fault409", "dub_mock_key", {"customer_external_id": "c", "amount": 1}, "Conflict"),
    ],
    ids=["unauthorized", "not-found", "forbidden", "rate-limited", "internal", "conflict"],
)
def test_sdk_raises_its_typed_errors(
    mock: MockServer, setup: str | None, token: str, request_body: dict[str, Any], error: str
) -> None:
    if setup == "viewer":
        admin(mock, "token", token="dub_viewer", role="viewer")
    if setup == "limited":
        admin(mock, "token", token="dub_limited", rateLimitPerMinute=1)
    if setup and setup.startswith("fault"):
        assert mock.app is not None
        mock.app.store.push_fault(int(setup[5:]), 1, 0)
    with client(mock, token) as sdk:
        if setup == "limited":
            sdk.track.sale(request=request_body)
        with pytest.raises(getattr(errors, error)) as raised:
            sdk.track.sale(request=request_body)
    assert raised.value.data.error.code is not None


def test_sdk_raises_unprocessable_entity_for_a_body_the_spec_forbids(mock: MockServer) -> None:
    # The SDK does not check lengths; the spec caps customerExternalId at 100 (spec wins).
    with client(mock) as sdk, pytest.raises(errors.UnprocessableEntity) as raised:
        sdk.track.sale(request={"customer_external_id": "x" * 101, "amount": 1})
    assert "customerExternalId" in raised.value.data.error.message


def test_sdk_honours_prefer_for_documented_errors(mock: MockServer) -> None:
    with client(mock) as sdk, pytest.raises(errors.InviteExpired) as raised:
        sdk.track.sale(
            request={"customer_external_id": "c", "amount": 1},
            http_headers={"Prefer": "code=410"},
        )
    assert raised.value.data.error.message == "Response forced by the Prefer header"


def test_sdk_raises_bad_request_for_a_misconfigured_header(mock: MockServer) -> None:
    with client(mock) as sdk, pytest.raises(errors.BadRequest) as raised:
        sdk.track.sale(
            request={"customer_external_id": "c", "amount": 1},
            http_headers={"Authorization": "Token dub_mock_key"},
        )
    assert "Did you forget to add 'Bearer '?" in raised.value.data.error.message
