"""Property tests generated from the bundled spec: valid, invalid and boundary requests.

One test per operation of the merged spec (`POST /track/sale`, `/track/lead`, `/track/click`,
`/track/lead/client`, `/track/sale/client`). Each generated request is checked by schemathesis's
built-in checks (server errors, status codes, content types, response headers and schemas,
positive and negative data, methods, auth) and by the Dub checks of `contract_tests.properties`
(error envelope, rate-limit headers, the browser routes' CORS headers).

Random ids name no customer, click or link, so valid requests alone would only ever reach the
"unknown" answers. Some valid requests are therefore pointed at a real customer, click or link of
the target, so that recorded sales, direct sales, leads and clicks are fuzzed and schema-checked
too. Requests to the secret routes carry the suite's token, to the client routes a publishable
key, to /track/click no key at all (a browser sends none).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis

from contract_tests.areas import mark
from contract_tests.properties import LEAD_PATHS, PUBLISHABLE_PATHS, make_checks
from contract_tests.target import CHECK_PREFIX, HOSTNAMES_MESSAGE, NO_PUBLISHABLE_KEY, Target

schema = schemathesis.pytest.from_fixture("dub_schema")

SALE_PATHS = frozenset({"/track/sale", "/track/sale/client"})


@dataclass(frozen=True)
class Known:
    """What the target holds that valid requests can be aimed at (None where it has nothing)."""

    customer: str | None  # a customer with a lead
    lead_customer: str | None  # a customer with a click (for leads without clickId)
    click: str | None
    link: tuple[str, str] | None  # (domain, key) of a live link
    keys: dict[str, str]  # path -> publishable key for that client route
    no_key_reason: str | None = None


def _maybe(make: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return make(*args, **kwargs)
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def known(dub_target: Target) -> Known:
    """A customer (with a lead and a click), a click, a link and publishable keys, when the
    target has them."""
    dub = dub_target
    click = _maybe(dub.click)
    if dub.admin is not None:
        customer = str(dub.customer_record(clickId=click)["externalId"])
        lead_customer: str | None = customer
    else:
        customer = _maybe(dub.customer)
        lead_customer = customer if customer and _has_a_click(dub, customer) else None
    link = _maybe(dub.click_link)
    if link is not None and dub.admin is None:
        # A real workspace may restrict the origins of clicks: aim at its link only if it lets
        # the check's requests in (this records one click there).
        probe = dub.client.click(
            {"domain": link[0], "key": link[1]}, headers={"User-Agent": dub.unique("ua")}
        )
        link = link if probe.status == 200 else None
    keys: dict[str, str] = {}
    reason = None
    for path in sorted(PUBLISHABLE_PATHS):
        key = _maybe(dub.publishable, f"properties {path}")
        if key is None:
            reason = NO_PUBLISHABLE_KEY
            break
        keys[path] = key
    if keys and dub.admin is None:
        probe = dub.client.sale_client(
            {"customerExternalId": dub.unique("probe"), "amount": 1},
            key=keys["/track/sale/client"],
        )
        if probe.status == 403 and HOSTNAMES_MESSAGE in probe.body.decode("utf-8", "replace"):
            keys, reason = {}, "the publishable key's workspace restricts allowed hostnames"
    return Known(customer, lead_customer, click, None if link is None else link[:2], keys, reason)


def _has_a_click(dub: Target, customer: str) -> bool:
    """Whether a lead with clickId "" can use the customer's own click (L1), asked in deferred
    mode, which records nothing and takes no dedup key (L5)."""
    body = {
        "clickId": "",
        "eventName": dub.unique("click-probe"),
        "customerExternalId": customer,
        "mode": "deferred",
    }
    return dub.client.lead(body).status == 200


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return bool(meta is not None and meta.generation.mode.is_positive)


def _bucket(body: Any) -> int:
    return zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) % 4


def _aim(case: Any, target: Target, known: Known) -> None:
    """Point a valid body at a known customer, click or link, deterministically."""
    body = case.body
    if not isinstance(body, dict) or not _is_positive(case):
        return
    path = case.operation.path
    bucket = _bucket(body)
    if path in SALE_PATHS:
        _aim_sale(body, bucket, target, known)
    elif path in LEAD_PATHS:
        _aim_lead(body, bucket, target, known)
    elif known.link is not None and bucket < 2:  # /track/click
        body["domain"], body["key"] = known.link


def _aim_sale(body: dict[str, Any], bucket: int, target: Target, known: Known) -> None:
    """Half at a known customer, a quarter at a click (direct sale tracking)."""
    if known.customer is not None and bucket < 2:
        body["customerExternalId"] = known.customer
        body["leadEventName"] = None
        body["clickId"] = None
    elif known.click is not None and bucket == 2:
        body["clickId"] = known.click
        # The customer this creates gets a fresh name, so no later random id can meet it.
        body["customerExternalId"] = target.unique("prop-cus")
    else:
        return
    if not isinstance(body.get("invoiceId"), str):
        body["invoiceId"] = target.unique("prop")  # every recorded sale is recognisable


def _aim_lead(body: dict[str, Any], bucket: int, target: Target, known: Known) -> None:
    """Half at a known click (a new customer), a quarter at a known customer's own click.

    A valid lead without a clickId for an unknown customer is L1's 400, business logic the
    schema cannot see: the rest get an unknown click id, so they reach L3's 404 instead.
    """
    if known.click is not None and bucket < 2:
        body["clickId"] = known.click
        body["customerExternalId"] = target.unique("prop-lead")
    elif known.lead_customer is not None and bucket == 2:
        body["customerExternalId"] = known.lead_customer
        body["clickId"] = ""
    elif not (isinstance(body.get("clickId"), str) and body["clickId"].strip()):
        body["clickId"] = target.unique("no-click")


def _mark_invoice(case: Any) -> None:
    """Every invoice id the check sends starts with dubmock-check-, generated ones too."""
    body = case.body
    invoice = body.get("invoiceId") if isinstance(body, dict) else None
    if isinstance(invoice, str) and not invoice.startswith(CHECK_PREFIX):
        body["invoiceId"] = CHECK_PREFIX + invoice


def _headers(case: Any, target: Target, known: Known) -> dict[str, str]:
    path = case.operation.path
    if path in PUBLISHABLE_PATHS:
        return {"Authorization": f"Bearer {known.keys[path]}"}
    if path == "/track/click":  # no key; one visitor per body, so equal bodies meet C4's dedup
        return {"User-Agent": f"{CHECK_PREFIX}{target.run_id}-{_bucket(case.body)}"}
    return {"Authorization": f"Bearer {target.token}"}


def _check(case: Any, target: Target, known: Known) -> None:
    _aim(case, target, known)
    _mark_invoice(case)
    case.call_and_validate(
        session=target.client.session,
        headers=_headers(case, target, known),
        additional_checks=make_checks(target),
    )


def _need_keys(known: Known) -> None:
    if not known.keys:
        pytest.skip(known.no_key_reason or NO_PUBLISHABLE_KEY)


@pytest.mark.usefixtures("schemathesis_node_compat")
@mark("sale")
@schema.include(operation_id="trackSale").parametrize()
def test_spec_conformance(case: Any, dub_target: Target, known: Known) -> None:
    """POST /track/sale, generated requests: answers keep the spec, the envelope, the headers."""
    _check(case, dub_target, known)


@pytest.mark.usefixtures("schemathesis_node_compat")
@mark("lead")
@schema.include(operation_id="trackLead").parametrize()
def test_spec_conformance_lead(case: Any, dub_target: Target, known: Known) -> None:
    """POST /track/lead, generated requests: answers keep the spec, the envelope, the headers."""
    _check(case, dub_target, known)


@pytest.mark.usefixtures("schemathesis_node_compat")
@mark("click")
@schema.include(operation_id="trackClick").parametrize()
def test_spec_conformance_click(case: Any, dub_target: Target, known: Known) -> None:
    """POST /track/click, generated requests: the spec, the envelope, CORS and no rate limit."""
    _check(case, dub_target, known)


@pytest.fixture
def publishable_ready(known: Known) -> None:
    """Skip a client route's property test, before Hypothesis starts, without a usable key."""
    _need_keys(known)


@pytest.mark.usefixtures("schemathesis_node_compat", "publishable_ready")
@mark("client")
@schema.include(operation_id="trackLeadClient").parametrize()
def test_spec_conformance_lead_client(case: Any, dub_target: Target, known: Known) -> None:
    """POST /track/lead/client, generated requests: the spec, the envelope, headers and CORS."""
    _check(case, dub_target, known)


@pytest.mark.usefixtures("schemathesis_node_compat", "publishable_ready")
@mark("client")
@schema.include(operation_id="trackSaleClient").parametrize()
def test_spec_conformance_sale_client(case: Any, dub_target: Target, known: Known) -> None:
    """POST /track/sale/client, generated requests: the spec, the envelope, headers and CORS."""
    _check(case, dub_target, known)
