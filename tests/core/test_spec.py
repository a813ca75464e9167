"""The bundled spec is valid OpenAPI, and a spec given by path is validated when it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from werkzeug.test import Client

from mockserver import create_app
from mockserver.errors import SpecError
from mockserver.spec import bundled_document, bundled_spec_path, load_spec, merge_documents

SEED_SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"


def test_the_bundled_spec_is_valid_openapi() -> None:
    validate(yaml.safe_load(bundled_spec_path().read_text(encoding="utf-8")))


def test_the_merged_spec_with_the_funnel_is_valid_openapi() -> None:
    document = bundled_document()
    validate(document)
    assert {"/track/sale", "/track/lead", "/track/click", "/track/lead/client",
            "/track/sale/client"} == set(document["paths"])  # fmt: skip


def test_the_seed_document_stays_first_and_verbatim_in_the_merge() -> None:
    seed = yaml.safe_load(SEED_SPEC.read_text(encoding="utf-8"))
    merged = bundled_document()
    assert merged["info"] == seed["info"]
    assert merged["paths"]["/track/sale"] == seed["paths"]["/track/sale"]
    for kind, items in seed["components"].items():
        assert {name: merged["components"][kind][name] for name in items} == items


def test_a_name_defined_twice_in_the_merge_is_refused() -> None:
    seed = yaml.safe_load(SEED_SPEC.read_text(encoding="utf-8"))
    with pytest.raises(SpecError, match="defined twice"):
        merge_documents(seed, {"paths": {"/track/sale": {}}})
    with pytest.raises(SpecError, match="defined twice"):
        merge_documents(seed, {"components": {"securitySchemes": {"token": {}}}})


def test_a_given_spec_is_validated_and_refused_with_the_reason(tmp_path: Path) -> None:
    document = yaml.safe_load(bundled_spec_path().read_text(encoding="utf-8"))
    document["paths"]["/track/sale"]["post"]["responses"] = "not a mapping"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecError, match="is not valid OpenAPI"):
        load_spec(str(broken))


def test_a_new_field_in_a_given_spec_is_enforced_without_code_changes(tmp_path: Path) -> None:
    document = yaml.safe_load(bundled_spec_path().read_text(encoding="utf-8"))
    schema = document["paths"]["/track/sale"]["post"]["requestBody"]["content"]
    schema["application/json"]["schema"]["properties"]["couponCode"] = {
        "type": "string",
        "maxLength": 5,
    }
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(document), encoding="utf-8")
    client = Client(create_app(spec_path=str(changed), quiet=True))
    answer = client.post(
        "/track/sale",
        json={"customerExternalId": "c", "amount": 1, "couponCode": "TOO-LONG"},
        headers={"Authorization": "Bearer dub_mock_key"},
    )
    assert answer.status_code == 422
    assert "couponCode" in answer.get_json()["error"]["message"]


def test_the_journal_keeps_the_body_of_a_request_refused_before_reading_it() -> None:
    client = Client(create_app(quiet=True))
    client.post(
        "/track/sale",
        json={"customerExternalId": "c", "amount": 1},
        headers={"Authorization": "Bearer dub_wrong"},
    )
    [entry] = client.get("/__mock/requests").get_json()
    assert entry["status"] == 401
    assert entry["requestBody"] == {"customerExternalId": "c", "amount": 1}
