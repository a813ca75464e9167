"""The official `dub` SDK, pointed at a served mock, tracks sales and raises its typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sdk_support import admin, arrange, link_and_click

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
    arrange(mock, setup, token)
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


# -- track.lead: the funnel's sign-up step through the SDK ---------------------------------------


def lead_request(click_id: str, external_id: str = "user_7", **fields: Any) -> dict[str, Any]:
    return {
        "click_id": click_id,
        "event_name": "Sign up",
        "customer_external_id": external_id,
        **fields,
    }


def test_sdk_tracks_a_lead_then_a_sale_attributed_to_the_click(mock: MockServer) -> None:
    link, click = link_and_click(
        mock, domain="shop.link", key="spring", url="https://shop.example/spring"
    )
    with client(mock) as sdk:
        lead = sdk.track.lead(
            request=lead_request(click["id"], customer_name="Grace", metadata={"plan": "trial"})
        )
        sale = sdk.track.sale(
            request={"customer_external_id": "user_7", "amount": 4900, "invoice_id": "INV_7"}
        )
        again = sdk.track.lead(request=lead_request(click["id"]))
    assert isinstance(lead, dub.models.operations.TrackLeadResponseBody)
    assert lead.click.id == click["id"]
    assert lead.link is not None
    assert (lead.link.id, lead.link.domain, lead.link.key) == (link["id"], "shop.link", "spring")
    assert (lead.link.short_link, lead.link.url) == (
        "https://shop.link/spring",
        "https://shop.example/spring",
    )
    assert (lead.link.partner_id, lead.link.program_id, lead.link.tenant_id) == (None,) * 3
    assert (lead.customer.name, lead.customer.external_id) == ("Grace", "user_7")
    assert sale.customer is not None and sale.customer.name == "Grace"
    assert sale.sale is not None and sale.sale.invoice_id == "INV_7"
    # the same sign-up again within 7 days: a duplicate, answered with no link, nothing recorded
    assert again.link is None and again.customer.external_id == "user_7"
    state = mock.app.store.snapshot()  # type: ignore[union-attr]
    (recorded,) = state["leads"]
    assert (recorded["clickId"], recorded["linkId"], recorded["metadata"]) == (
        click["id"],
        link["id"],
        {"plan": "trial"},
    )
    (recorded_sale,) = state["sales"]
    assert (recorded_sale["linkId"], recorded_sale["leadId"]) == (link["id"], recorded["id"])


def test_sdk_deferred_lead_is_recorded_by_the_next_request_without_a_click(
    mock: MockServer,
) -> None:
    _, click = link_and_click(mock)
    with client(mock) as sdk:
        deferred = sdk.track.lead(request=lead_request(click["id"], mode="deferred"))
        assert mock.app is not None and mock.app.store.snapshot()["leads"] == []
        later = sdk.track.lead(request=lead_request("", mode="wait", event_quantity=2))
    assert deferred.link is not None and later.link is not None
    assert later.click.id == click["id"]
    assert [lead["clickId"] for lead in mock.app.store.snapshot()["leads"]] == [click["id"]] * 2


def model_keys(model: Any) -> set[str]:
    """The JSON keys of an SDK response model (its fields' aliases)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def test_the_mock_answers_exactly_the_keys_the_sdk_models(mock: MockServer) -> None:
    """The SDK's models ignore unknown keys, so parsing alone would miss an extra one."""
    from dub.models import operations

    _, click = link_and_click(mock)
    lead_body = {"clickId": click["id"], "eventName": "Sign up", "customerExternalId": "k"}
    status, lead = post_json(mock, "/track/lead", lead_body)
    assert status == 200
    assert set(lead) == model_keys(operations.TrackLeadResponseBody)
    assert set(lead["click"]) == model_keys(operations.Click)
    assert set(lead["link"]) == model_keys(operations.Link)
    assert set(lead["customer"]) == model_keys(operations.TrackLeadCustomer)
    operations.TrackLeadResponseBody.model_validate(lead)
    status, sale = post_json(mock, "/track/sale", {"customerExternalId": "k", "amount": 1})
    assert status == 200
    assert set(sale) == model_keys(operations.TrackSaleResponseBody)
    assert set(sale["customer"]) == model_keys(operations.TrackSaleCustomer)
    assert set(sale["sale"]) == model_keys(operations.TrackSaleSale)


def post_json(mock: MockServer, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    import json
    import urllib.request

    request = urllib.request.Request(
        mock.url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer dub_mock_key", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "InviteExpired": 410,
    "UnprocessableEntity": 422,
    "RateLimitExceeded": 429,
    "InternalServerError": 500,
}

LEAD_ERRORS: list[tuple[str, str | None, str, dict[str, Any], dict[str, str], str, str]] = [
    # (id, setup, token, request overrides, headers, SDK error class, message fragment)
    ("no-click-no-customer", None, "dub_mock_key", {"click_id": ""}, {}, "BadRequest",
     "The `clickId` property was not provided"),
    ("no-external-id", None, "dub_mock_key", {"customer_external_id": ""}, {}, "BadRequest",
     "customerExternalId is required"),
    ("no-bearer", None, "dub_mock_key", {}, {"Authorization": "Token dub_mock_key"},
     "BadRequest", "Did you forget to add 'Bearer '?"),
    ("unknown-token", None, "dub_unknown", {}, {}, "Unauthorized",
     "Unauthorized: Invalid API key."),
    ("publishable-key", "pk", "dub_pk_sdk_test_key", {}, {}, "Unauthorized",
     "Unauthorized: Invalid API key."),
    ("expired", "expired", "dub_old", {}, {}, "Unauthorized", "Access token expired."),
    ("viewer", "viewer", "dub_viewer", {}, {}, "Forbidden", "Required role(s): owner, member"),
    ("free-plan", "free", "dub_free", {}, {}, "Forbidden", "Unauthorized: Need higher plan."),
    ("personal-key", None, "personal_key", {}, {}, "NotFound", "Workspace ID not found"),
    ("unknown-click", None, "dub_mock_key", {"click_id": "no_such_click"}, {}, "NotFound",
     "Click event not found for clickId: no_such_click"),
    ("disabled-link", "disabled", "dub_mock_key", {}, {}, "NotFound",
     "is disabled, lead not tracked"),
    ("other-workspace", "elsewhere", "dub_mock_key", {}, {}, "NotFound",
     "does not belong to the workspace"),
    ("conflict", "fault409", "dub_mock_key", {}, {}, "Conflict", "Fault injected by dub-mock"),
    ("invite-expired", None, "dub_mock_key", {}, {"Prefer": "code=410"}, "InviteExpired",
     "Response forced by the Prefer header"),
    ("empty-event-name", None, "dub_mock_key", {"event_name": "  "}, {}, "UnprocessableEntity",
     "eventName"),
    ("long-external-id", None, "dub_mock_key", {"customer_external_id": "x" * 101}, {},
     "UnprocessableEntity", "customerExternalId"),
    ("event-quantity", None, "dub_mock_key", {"event_quantity": 101}, {}, "UnprocessableEntity",
     "eventQuantity"),
    ("rate-limited", "limited", "dub_limited", {}, {}, "RateLimitExceeded", "Too many requests."),
    ("internal", "fault500", "dub_mock_key", {}, {}, "InternalServerError",
     "Fault injected by dub-mock"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "token", "overrides", "headers", "error", "message"),
    [case[1:] for case in LEAD_ERRORS],
    ids=[case[0] for case in LEAD_ERRORS],
)
def test_sdk_lead_raises_its_typed_errors(
    mock: MockServer,
    setup: str | None,
    token: str,
    overrides: dict[str, Any],
    headers: dict[str, str],
    error: str,
    message: str,
) -> None:
    assert mock.app is not None
    click = arrange(mock, setup, token)
    with client(mock, token) as sdk:
        if setup == "limited":  # a sale and a lead share one budget
            sdk.track.sale(request={"customer_external_id": "nobody", "amount": 1})
        with pytest.raises(getattr(errors, error)) as raised:
            sdk.track.lead(request={**lead_request(click["id"]), **overrides}, http_headers=headers)
    assert message in raised.value.data.error.message
    assert raised.value.status_code == STATUS[error]
    assert mock.app.store.snapshot()["leads"] == []
