"""Property tests generated from the bundled spec: valid, invalid and boundary requests.

Each generated request is checked by schemathesis's built-in checks (server errors, status codes,
content types, response headers and schemas, positive and negative data, methods, auth) and by
the Dub checks of `contract_tests.properties` (error envelope, rate-limit headers).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from contract_tests.properties import make_checks
from contract_tests.target import CHECK_PREFIX, Target

schema = schemathesis.pytest.from_fixture("dub_schema")


def _mark_invoice(case: Any) -> None:
    """Every invoice id the check sends starts with dubmock-check-, generated ones too."""
    body = case.body
    invoice = body.get("invoiceId") if isinstance(body, dict) else None
    if isinstance(invoice, str) and not invoice.startswith(CHECK_PREFIX):
        body["invoiceId"] = CHECK_PREFIX + invoice


@pytest.mark.usefixtures("schemathesis_node_compat")
@schema.parametrize()
def test_spec_conformance(case: Any, dub_target: Target) -> None:
    """Generated requests: every answer conforms to the spec and to Dub's envelope and headers."""
    _mark_invoice(case)
    case.call_and_validate(
        session=dub_target.client.session,
        headers={"Authorization": f"Bearer {dub_target.token}"},
        additional_checks=make_checks(dub_target),
    )
