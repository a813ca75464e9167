"""Fine points: answers for paths and methods the spec does not declare."""

from __future__ import annotations

from contract_tests.areas import mark
from contract_tests.rules import check, expect_error
from contract_tests.target import Target

pytestmark = mark("sale")


def test_unknown_path_is_404(dub: Target) -> None:
    """An unknown path answers 404 not_found in the envelope."""
    answer = dub.client.send("POST", "/track/sales", json_body={"amount": 1})
    expect_error(answer, "routing", 404, "not_found")


def test_undeclared_method_is_405_with_allow(dub: Target) -> None:
    """GET /track/sale answers 405 method_not_allowed with an Allow header naming POST."""
    answer = dub.client.send("GET", "/track/sale")
    expect_error(answer, "routing", 405, "method_not_allowed")
    allow = {m.strip().upper() for m in answer.headers.get("Allow", "").split(",")}
    check("POST" in allow, "routing", "the Allow header must name POST", answer)
