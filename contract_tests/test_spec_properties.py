"""Property tests generated from the bundled spec: valid, invalid and boundary requests.

Each generated request is checked by schemathesis's built-in checks (server errors, status codes,
content types, response headers and schemas, positive and negative data, methods, auth) and by
the Dub checks of `contract_tests.properties` (error envelope, rate-limit headers).

Random ids name no customer and no click, so valid requests alone would only ever reach the
"unknown customer" answer. Some valid requests are therefore pointed at a real customer (or
click) of the target, so that recorded sales and direct sales are fuzzed and schema-checked too.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
import schemathesis

from contract_tests.properties import make_checks
from contract_tests.target import CHECK_PREFIX, Target

schema = schemathesis.pytest.from_fixture("dub_schema")


@pytest.fixture(scope="session")
def known_ids(dub_target: Target) -> tuple[str | None, str | None]:
    """A customer with a lead and a click on the target, when it has them (else None)."""
    ids: list[str | None] = []
    for make in (dub_target.customer, dub_target.click):
        try:
            ids.append(make())
        except pytest.skip.Exception:
            ids.append(None)
    return ids[0], ids[1]


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return bool(meta is not None and meta.generation.mode.is_positive)


def _aim(case: Any, target: Target, customer: str | None, click: str | None) -> None:
    """Point a valid body at a known customer (half) or click (a quarter), deterministically."""
    body = case.body
    if not isinstance(body, dict) or not _is_positive(case):
        return
    bucket = zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) % 4
    if customer is not None and bucket < 2:
        body["customerExternalId"] = customer
        body["leadEventName"] = None
        body["clickId"] = None
    elif click is not None and bucket == 2:
        body["clickId"] = click
        # The customer this creates gets a fresh name, so no later random id can meet it.
        body["customerExternalId"] = target.unique("prop-cus")
    else:
        return
    if not isinstance(body.get("invoiceId"), str):
        body["invoiceId"] = target.unique("prop")  # every recorded sale is recognisable


def _mark_invoice(case: Any) -> None:
    """Every invoice id the check sends starts with dubmock-check-, generated ones too."""
    body = case.body
    invoice = body.get("invoiceId") if isinstance(body, dict) else None
    if isinstance(invoice, str) and not invoice.startswith(CHECK_PREFIX):
        body["invoiceId"] = CHECK_PREFIX + invoice


@pytest.mark.usefixtures("schemathesis_node_compat")
@schema.parametrize()
def test_spec_conformance(
    case: Any, dub_target: Target, known_ids: tuple[str | None, str | None]
) -> None:
    """Generated requests: every answer conforms to the spec and to Dub's envelope and headers."""
    _aim(case, dub_target, *known_ids)
    _mark_invoice(case)
    case.call_and_validate(
        session=dub_target.client.session,
        headers={"Authorization": f"Bearer {dub_target.token}"},
        additional_checks=make_checks(dub_target),
    )
