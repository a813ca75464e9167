"""The admin API (`/__mock/*`): every call, its 201 bodies, bad input that changes nothing,
reset, --admin-token, faults, `Prefer: code=NNN`, and the request journal."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from .support import HttpApi, Reply, Served

NOBODY = {"customerExternalId": "nobody", "amount": 100}
FAULT = "Fault injected by dub-mock"
FORCED = "Response forced by the Prefer header"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
STATE_KINDS = {"workspaces", "tokens", "links", "clicks", "customers", "leads", "sales"}


def _ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    return reply.json  # type: ignore[no-any-return]


def _record(api: HttpApi, kind: str, key: str, value: Any) -> dict[str, Any]:
    (found,) = [record for record in api.state()[kind] if record[key] == value]
    return found


# --- health and state --------------------------------------------------------------------


def test_health(api: HttpApi) -> None:
    body = _ok(api.admin("GET", "health"))
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]


def test_state_lists_every_kind_with_the_documented_fields(api: HttpApi) -> None:
    click = api.add_click()
    api.add_customer("cust_1")
    _ok(api.track({"customerExternalId": "cust_1", "amount": 100, "invoiceId": "INV_1"}))
    state = api.state()
    assert set(state) >= STATE_KINDS
    fields = {
        "links": {"id", "workspaceId", "disabled", "sales", "saleAmount", "conversions"},
        "clicks": {"id", "linkId", "workspaceId"},
        "customers": {"id", "externalId", "workspaceId", "name", "email", "avatar", "linkId",
                      "sales", "saleAmount", "firstSaleAt"},
        "leads": {"id", "customerId", "eventName", "linkId"},
        "sales": {"id", "workspaceId", "customerId", "linkId", "leadId", "eventName", "amount",
                  "currency", "originalAmount", "originalCurrency", "paymentProcessor",
                  "invoiceId", "metadata", "timestamp"},
    }  # fmt: skip
    for kind, wanted in fields.items():
        assert state[kind], kind
        for record in state[kind]:
            assert set(record) >= wanted, (kind, wanted - set(record))
    assert _record(api, "clicks", "id", click["id"])["linkId"] == click["linkId"]
    assert {w["id"] for w in state["workspaces"]} == {"ws_mock"}


def test_state_redacts_tokens(api: HttpApi) -> None:
    api.add_token("dub_secret_token_value")
    state = api.state()
    text = json.dumps(state)
    assert "dub_mock_key" not in text
    assert "dub_secret_token_value" not in text
    assert len(state["tokens"]) == 2
    assert {t["workspaceId"] for t in state["tokens"]} == {"ws_mock"}


# --- create calls: 201 with the object as the state shows it ------------------------------


def test_create_workspace(api: HttpApi) -> None:
    reply = api.admin("POST", "workspaces", {"id": "ws_2", "plan": "pro"})
    assert reply.status == 201, reply
    assert reply.json == _record(api, "workspaces", "id", "ws_2")
    assert reply.json["plan"] == "pro"


def test_create_token(api: HttpApi) -> None:
    reply = api.admin(
        "POST",
        "tokens",
        {"token": "dub_new", "role": "member", "expired": False, "rateLimitPerMinute": 7},
    )
    assert reply.status == 201, reply
    (shown,) = [t for t in api.state()["tokens"] if t.get("rateLimitPerMinute") == 7]
    # The state redacts the token itself; every other field is as the 201 showed it.
    assert shown["token"] != "dub_new"
    assert {k: v for k, v in reply.json.items() if k != "token"} == {
        k: v for k, v in shown.items() if k != "token"
    }
    assert shown["workspaceId"] == "ws_mock" and shown["role"] == "member"
    assert shown["expired"] is False
    assert api.track(NOBODY, token="dub_new").headers["X-RateLimit-Limit"] == "7"


def test_create_link(api: HttpApi) -> None:
    reply = api.admin("POST", "links", {"id": "link_x", "disabled": True})
    assert reply.status == 201, reply
    assert reply.json == api.link("link_x")
    assert reply.json["disabled"] is True and reply.json["workspaceId"] == "ws_mock"
    assert (reply.json["sales"], reply.json["saleAmount"], reply.json["conversions"]) == (0, 0, 0)
    generated = api.admin("POST", "links", {})
    assert generated.status == 201 and generated.json["id"], generated
    assert generated.json["disabled"] is False


def test_create_click_makes_a_link_when_none_is_named(api: HttpApi) -> None:
    reply = api.admin("POST", "clicks", {"id": "click_x"})
    assert reply.status == 201, reply
    assert reply.json == _record(api, "clicks", "id", "click_x")
    link = api.link(reply.json["linkId"])
    assert link["workspaceId"] == "ws_mock" and link["disabled"] is False


def test_generated_click_ids_have_dubs_shape(api: HttpApi) -> None:
    """16 alphanumerics: never a leading `-` that a CLI would read as an option."""
    ids = [api.add_click()["id"] for _ in range(100)]
    assert all(re.fullmatch("[0-9A-Za-z]{16}", click_id) for click_id in ids), ids
    assert len(set(ids)) == len(ids)


def test_a_clicks_workspace_is_the_given_one_else_its_links_else_the_default(
    api: HttpApi,
) -> None:
    api.add_workspace("ws_2")
    api.add_workspace("ws_3")
    link = api.add_link(workspaceId="ws_2")
    assert api.add_click(linkId=link["id"])["workspaceId"] == "ws_2"
    assert api.add_click(linkId=link["id"], workspaceId="ws_3")["workspaceId"] == "ws_3"
    assert api.add_click(linkId="link_dangling")["workspaceId"] == "ws_mock"
    fresh = api.add_click(workspaceId="ws_3")
    assert fresh["workspaceId"] == "ws_3"
    assert api.link(fresh["linkId"])["workspaceId"] == "ws_3"


def test_create_customer_with_its_lead(api: HttpApi) -> None:
    fields = {"externalId": "cust_1", "name": "Ann", "email": "ann@example.com", "avatar": "a.png"}
    reply = api.admin("POST", "customers", fields)
    assert reply.status == 201, reply
    assert reply.json == api.customer("cust_1")
    customer = reply.json
    assert (customer["name"], customer["email"], customer["avatar"]) == ("Ann", "ann@example.com",
                                                                         "a.png")  # fmt: skip
    assert (customer["sales"], customer["saleAmount"], customer["firstSaleAt"]) == (0, 0, None)
    assert api.link(customer["linkId"])["workspaceId"] == "ws_mock"
    leads = [lead for lead in api.state()["leads"] if lead["customerId"] == customer["id"]]
    assert [(lead["eventName"], lead["linkId"]) for lead in leads] == [
        ("Sign up", customer["linkId"])
    ]


def test_create_customer_lead_options(api: HttpApi) -> None:
    named = api.add_customer("cust_1", leadEventName="Registered", id="cus_fixed")
    assert named["id"] == "cus_fixed"
    bare = api.add_customer("cust_2", lead=False)
    leads = api.state()["leads"]
    assert [lead["eventName"] for lead in leads if lead["customerId"] == "cus_fixed"] == [
        "Registered"
    ]
    assert [lead for lead in leads if lead["customerId"] == bare["id"]] == []


def test_a_dangling_link_id_is_kept(api: HttpApi) -> None:
    customer = api.add_customer("cust_1", linkId="link_nowhere")
    click = api.add_click(linkId="link_nowhere")
    assert customer["linkId"] == click["linkId"] == "link_nowhere"
    assert all(link["id"] != "link_nowhere" for link in api.state()["links"])
    api.track({"customerExternalId": "cust_1", "amount": 1}).expect_error(
        404, "not_found", f"Link not found for customer {customer['id']}"
    )


def test_create_lead(api: HttpApi) -> None:
    customer = api.add_customer("cust_1")
    reply = api.admin("POST", "leads", {"customerExternalId": "cust_1", "eventName": "Demo"})
    assert reply.status == 201, reply
    assert reply.json == _record(api, "leads", "id", reply.json["id"])
    assert reply.json["customerId"] == customer["id"]
    assert reply.json["eventName"] == "Demo"
    assert reply.json["linkId"] == customer["linkId"]


def test_create_in_another_workspace(api: HttpApi) -> None:
    api.add_workspace("ws_2", plan="enterprise")
    api.add_token("dub_ws2", workspaceId="ws_2")
    customer = api.add_customer("cust_1", workspaceId="ws_2")
    lead = api.add_lead("cust_1", "Demo", workspaceId="ws_2")
    assert customer["workspaceId"] == "ws_2"
    assert lead["customerId"] == customer["id"]
    assert api.link(customer["linkId"])["workspaceId"] == "ws_2"
    body = _ok(api.track({"customerExternalId": "cust_1", "amount": 5}, token="dub_ws2"))
    assert body["customer"]["id"] == customer["id"]
    assert _record(api, "sales", "customerId", customer["id"])["leadId"] == lead["id"]


def test_put_fx_rates(api: HttpApi) -> None:
    reply = api.admin("PUT", "fx-rates", {"JPY": 155, "EUR": 0.92})
    assert reply.status == 200, reply
    api.add_customer("cust_1")
    body = _ok(api.track({"customerExternalId": "cust_1", "amount": 1580, "currency": "JPY"}))
    assert body["sale"]["amount"] == 1019


# --- bad input changes nothing -----------------------------------------------------------

BAD_INPUT: list[tuple[str, str, str, Any]] = [
    ("workspace-no-body", "POST", "workspaces", None),
    ("workspace-invalid-json", "POST", "workspaces", b"{"),
    ("workspace-array", "POST", "workspaces", []),
    ("workspace-no-id", "POST", "workspaces", {"plan": "pro"}),
    ("workspace-bad-plan", "POST", "workspaces", {"id": "ws_2", "plan": "gold"}),
    ("token-no-token", "POST", "tokens", {"role": "owner"}),
    ("token-number", "POST", "tokens", {"token": 5}),
    ("token-bad-role", "POST", "tokens", {"token": "dub_x", "role": "admin"}),
    ("token-bad-expired", "POST", "tokens", {"token": "dub_x", "expired": "yes"}),
    ("token-bad-limit", "POST", "tokens", {"token": "dub_x", "rateLimitPerMinute": 0}),
    ("token-string-limit", "POST", "tokens", {"token": "dub_x", "rateLimitPerMinute": "5"}),
    ("link-bad-disabled", "POST", "links", {"id": "link_x", "disabled": "no"}),
    ("link-number-id", "POST", "links", {"id": 5}),
    ("link-empty-key", "POST", "links", {"key": ""}),
    ("link-key-with-space", "POST", "links", {"key": "a b"}),
    ("link-key-with-slash", "POST", "links", {"key": "a/b"}),
    ("link-url-not-a-url", "POST", "links", {"url": "not a url"}),
    ("link-url-ftp", "POST", "links", {"url": "ftp://example.com/file"}),
    ("click-number-link", "POST", "clicks", {"id": "click_x", "linkId": 5}),
    ("customer-no-external-id", "POST", "customers", {"name": "Ann"}),
    ("customer-empty-external-id", "POST", "customers", {"externalId": ""}),
    ("customer-number-name", "POST", "customers", {"externalId": "c", "name": 5}),
    ("customer-bad-lead", "POST", "customers", {"externalId": "c", "lead": "no"}),
    ("lead-no-event", "POST", "leads", {"customerExternalId": "cust_0"}),
    ("lead-no-customer-id", "POST", "leads", {"eventName": "Demo"}),
    ("fx-not-object", "PUT", "fx-rates", ["EUR", 0.9]),
    ("fx-empty", "PUT", "fx-rates", {}),
    ("fx-negative", "PUT", "fx-rates", {"JPY": -1}),
    ("fx-zero", "PUT", "fx-rates", {"JPY": 0}),
    ("fx-string", "PUT", "fx-rates", {"JPY": "155"}),
    ("fx-bad-code", "PUT", "fx-rates", {"JPYEN": 155}),
    ("fx-one-bad-of-two", "PUT", "fx-rates", {"EUR": 0.5, "JPY": None}),
    ("fault-no-status-no-delay", "POST", "faults", {"count": 2}),
    ("fault-status-200", "POST", "faults", {"status": 200}),
    ("fault-status-600", "POST", "faults", {"status": 600}),
    ("fault-status-string", "POST", "faults", {"status": "500"}),
    ("fault-count-zero", "POST", "faults", {"status": 500, "count": 0}),
    ("fault-negative-delay", "POST", "faults", {"status": 500, "delayMs": -1}),
    ("fault-invalid-json", "POST", "faults", b"{status"),
]


def _observe(api: HttpApi) -> tuple[Any, ...]:
    """What a change could show in: the state, the FX conversion, and whether a fault waits."""
    state = api.state()
    api.add_token("dub_probe")  # a fresh token: its answer shows pending faults and FX rates
    probes = [
        api.track({"customerExternalId": "cust_0", "amount": 1580, "currency": code},
                  token="dub_probe")
        for code in ("JPY", "EUR")
    ]  # fmt: skip
    return state, [p.status for p in probes], [p.json.get("sale") for p in probes]


@pytest.mark.parametrize(
    ("method", "path", "body"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_admin_input_is_400_or_422_and_changes_nothing(
    make_api: Callable[..., HttpApi], method: str, path: str, body: Any
) -> None:
    api = make_api()
    api.add_customer("cust_0")
    before = _observe(api)
    api.reset()
    api.add_customer("cust_0")
    if body is None:
        reply = api.admin(method, path)
    elif isinstance(body, bytes):
        reply = api.admin(method, path, data=body)
    else:
        reply = api.admin(method, path, body)
    assert reply.status in (400, 422), reply
    reply.expect_error(
        reply.status, "bad_request" if reply.status == 400 else "unprocessable_entity"
    )
    after = _observe(api)
    assert _without_ids(after) == _without_ids(before)


def _without_ids(observed: tuple[Any, ...]) -> Any:
    """Generated ids and times differ between two runs; the shape and counts must not."""
    state, status, sale = observed
    volatile = {"id", "linkId", "customerId", "leadId", "timestamp", "createdAt", "name",
                "token", "firstSaleAt", "clickId", "key", "shortLink"}  # fmt: skip
    cleaned = {
        kind: sorted(
            json.dumps({k: v for k, v in r.items() if k not in volatile}, sort_keys=True)
            for r in records
        )
        for kind, records in state.items()
    }  # fmt: skip
    return cleaned, status, sale


UNKNOWN_WORKSPACE: list[tuple[str, str, dict[str, Any]]] = [
    ("token", "tokens", {"token": "dub_x", "workspaceId": "ws_nowhere"}),
    ("link", "links", {"id": "link_x", "workspaceId": "ws_nowhere"}),
    ("click", "clicks", {"id": "click_x", "workspaceId": "ws_nowhere"}),
    ("customer", "customers", {"externalId": "cust_x", "workspaceId": "ws_nowhere"}),
    ("lead", "leads", {"customerExternalId": "cust_0", "eventName": "Demo",
                       "workspaceId": "ws_nowhere"}),
    ("lead-unknown-customer", "leads", {"customerExternalId": "cust_nobody",
                                        "eventName": "Demo"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body"), [c[1:] for c in UNKNOWN_WORKSPACE], ids=[c[0] for c in UNKNOWN_WORKSPACE]
)
def test_unknown_workspace_or_customer_is_404_and_changes_nothing(
    api: HttpApi, path: str, body: dict[str, Any]
) -> None:
    api.add_customer("cust_0")
    before = api.state()
    reply = api.admin("POST", path, body)
    reply.expect_error(404, "not_found")
    assert api.state() == before
    api.track(NOBODY, token="dub_x").expect_error(401, "unauthorized")


# --- reset -------------------------------------------------------------------------------


def test_reset_drops_everything_created_since_start(api: HttpApi) -> None:
    jpy = {"customerExternalId": "cust_1", "amount": 1580, "currency": "JPY"}
    api.add_customer("cust_1")
    built_in = _ok(api.track(jpy))["sale"]["amount"]
    api.reset()
    baseline = api.state()
    api.add_workspace("ws_2")
    api.add_token("dub_new", rateLimitPerMinute=1)
    api.add_link()
    api.add_click()
    api.add_customer("cust_1")
    api.add_lead("cust_1", "Demo")
    api.set_fx_rates({"JPY": 155})
    first = _ok(api.track({**jpy, "invoiceId": "INV_1"}))
    assert first["sale"]["amount"] == 1019 != built_in
    _ok(api.track(NOBODY, token="dub_new"))
    api.add_fault(status=503, count=5)
    assert api.journal()

    reply = api.admin("POST", "reset")
    assert reply.status == 200, reply
    assert api.state() == baseline
    assert api.journal() == []
    # The token, its rate-limit window and the workspace are gone; so are the faults.
    api.track(NOBODY, token="dub_new").expect_error(
        401, "unauthorized", "Unauthorized: Invalid API key."
    )
    api.admin("POST", "tokens", {"token": "dub_x", "workspaceId": "ws_2"}).expect_error(
        404, "not_found"
    )
    fresh = api.track(NOBODY)
    assert fresh.status == 200 and fresh.headers["X-RateLimit-Remaining"] == "1199"
    # FX rates are back to the built-in table; the invoice can be recorded anew.
    api.add_customer("cust_1")
    again = _ok(api.track({**jpy, "invoiceId": "INV_1"}))
    assert again["sale"]["amount"] == built_in
    assert again != first


SEED: dict[str, Any] = {
    "workspaces": [{"id": "ws_seed", "plan": "advanced"}],
    "tokens": [{"token": "dub_seeded", "workspaceId": "ws_seed", "role": "member"}],
    "links": [{"id": "link_seed", "workspaceId": "ws_seed"}],
    "clicks": [{"id": "click_seed", "linkId": "link_seed"}],
    "customers": [{"externalId": "cust_seed", "workspaceId": "ws_seed", "linkId": "link_seed"}],
    "leads": [{"customerExternalId": "cust_seed", "eventName": "Demo", "workspaceId": "ws_seed"}],
    "fxRates": {"JPY": 155},
}


@pytest.mark.parametrize("source", ["seed-data", "yaml-file", "json-file"])
def test_reset_brings_back_the_seed_and_token_objects(
    servers: Callable[..., Served], tmp_path: Path, source: str
) -> None:
    if source == "seed-data":
        settings: dict[str, Any] = {"seed_data": SEED}
    elif source == "yaml-file":
        (tmp_path / "seed.yaml").write_text(yaml.safe_dump(SEED), encoding="utf-8")
        settings = {"seed": str(tmp_path / "seed.yaml")}
    else:
        (tmp_path / "seed.json").write_text(json.dumps(SEED), encoding="utf-8")
        settings = {"seed": str(tmp_path / "seed.json")}
    api = HttpApi(servers(tokens=("dub_extra",), **settings))
    api.reset()
    start = api.state()
    sale = {"customerExternalId": "cust_seed", "amount": 1580, "currency": "JPY"}
    assert _ok(api.track(sale, token="dub_seeded"))["sale"]["amount"] == 1019
    _ok(api.track({**sale, "customerExternalId": "new_1", "clickId": "click_seed"},
                  token="dub_seeded"))  # fmt: skip
    api.set_fx_rates({"JPY": 100})
    api.add_customer("cust_late", workspaceId="ws_seed")
    assert api.state() != start
    api.reset()
    # Seeded objects are rebuilt: the same records, though ids the seed left out are new.
    assert _without_ids((api.state(), 0, None)) == _without_ids((start, 0, None))
    assert api.customer("cust_seed", "ws_seed")["sales"] == 0
    assert api.link("link_seed")["sales"] == 0
    assert _ok(api.track(sale, token="dub_seeded"))["sale"]["amount"] == 1019
    assert api.track(NOBODY, token="dub_extra").status == 200
    assert api.track(NOBODY).status == 200
    workspace_tokens = sorted(t["workspaceId"] for t in api.state()["tokens"])
    assert workspace_tokens == ["ws_mock", "ws_mock", "ws_seed"]


# --- --admin-token -----------------------------------------------------------------------

ADMIN_CALLS: list[tuple[str, str, Any]] = [
    ("POST", "reset", None),
    ("GET", "state", None),
    ("POST", "workspaces", {"id": "ws_2"}),
    ("POST", "tokens", {"token": "dub_x"}),
    ("POST", "links", {"id": "link_x"}),
    ("POST", "clicks", {"id": "click_x"}),
    ("POST", "customers", {"externalId": "cust_x"}),
    ("POST", "leads", {"customerExternalId": "cust_0", "eventName": "Demo"}),
    ("PUT", "fx-rates", {"JPY": 1}),
    ("POST", "faults", {"status": 500}),
    ("GET", "requests", None),
    ("GET", "no-such-endpoint", None),  # unknown paths and methods reveal nothing either
    ("DELETE", "state", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_CALLS, ids=[f"{m}-{p}" for m, p, _ in ADMIN_CALLS]
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Bearer dub_mock_key", "sekret"],
    ids=["missing", "wrong", "api-token", "no-bearer"],
)  # fmt: skip
def test_admin_token_guards_every_call_but_health(
    make_api: Callable[..., HttpApi],
    method: str,
    path: str,
    body: Any,
    authorization: str | None,
) -> None:
    api = make_api(admin_token="sekret")
    api.add_customer("cust_0")
    before = api.state()
    headers = {} if authorization is None else {"Authorization": authorization}
    kwargs: dict[str, Any] = {"token": None, "headers": headers}
    if body is not None:
        kwargs["json_body"] = body
    reply = api.request(method, f"/__mock/{path}", **kwargs)
    reply.expect_error(401, "unauthorized")
    assert api.state() == before
    assert api.track(NOBODY).status == 200  # no fault was queued, no FX rate changed


def test_admin_token_leaves_health_open_and_lets_the_right_token_in(
    make_api: Callable[..., HttpApi],
) -> None:
    api = make_api(admin_token="sekret")
    assert api.request("GET", "/__mock/health").status == 200
    assert api.request("GET", "/__mock/state", token="sekret").status == 200
    assert api.track(NOBODY).status == 200
    api.track(NOBODY, token="sekret").expect_error(404, "not_found")


# --- faults ------------------------------------------------------------------------------


def test_a_fault_answers_the_next_count_requests(api: HttpApi) -> None:
    reply = api.admin("POST", "faults", {"status": 503, "count": 2})
    assert reply.status == 201, reply
    assert reply.json == {"status": 503, "count": 2, "delayMs": 0}
    for _ in range(2):
        faulted = api.track(NOBODY)
        faulted.expect_error(503, "internal_server_error", FAULT)
        for name in RATE_HEADERS:
            assert name not in faulted.headers, name
    assert api.track(NOBODY).status == 200


def test_a_fault_defaults_to_one_request(api: HttpApi) -> None:
    api.add_fault(status=500)
    api.track(NOBODY).expect_error(500, "internal_server_error", FAULT)
    assert api.track(NOBODY).status == 200


FAULT_CODES = [(400, "bad_request"), (401, "unauthorized"), (403, "forbidden"),
               (404, "not_found"), (409, "conflict"), (410, "invite_expired"),
               (418, "bad_request"), (422, "unprocessable_entity"),
               (429, "rate_limit_exceeded"), (451, "bad_request"),
               (500, "internal_server_error"), (502, "internal_server_error"),
               (599, "internal_server_error")]  # fmt: skip


@pytest.mark.parametrize(("status", "code"), FAULT_CODES, ids=[str(s) for s, _ in FAULT_CODES])
def test_a_faulted_answer_uses_the_code_for_its_status(
    api: HttpApi, status: int, code: str
) -> None:
    api.add_fault(status=status)
    reply = api.track(NOBODY)
    reply.expect_error(status, code, FAULT)
    for name in RATE_HEADERS:
        assert name not in reply.headers, name


def test_faults_come_before_authentication_and_the_body(api: HttpApi) -> None:
    api.add_fault(status=502, count=3)
    api.track(NOBODY, token=None).expect_error(502, "internal_server_error", FAULT)
    api.track(data=b"{bad").expect_error(502, "internal_server_error", FAULT)
    api.track(NOBODY, token="dub_unknown").expect_error(502, "internal_server_error", FAULT)
    api.track(NOBODY, token=None).expect_error(401, "unauthorized")


def test_faulted_requests_do_not_count_towards_the_rate_limit(api: HttpApi) -> None:
    api.add_token("dub_two", rateLimitPerMinute=2)
    api.add_fault(status=500, count=3)
    for _ in range(3):
        api.track(NOBODY, token="dub_two").expect_error(500, "internal_server_error", FAULT)
    first = api.track(NOBODY, token="dub_two")
    assert first.status == 200 and first.headers["X-RateLimit-Remaining"] == "1"
    assert api.track(NOBODY, token="dub_two").status == 200
    assert api.track(NOBODY, token="dub_two").status == 429


def test_faults_skip_404_405_413_preflights_and_admin_calls(
    make_api: Callable[..., HttpApi],
) -> None:
    api = make_api(max_body=256)
    api.add_fault(status=503)
    assert api.request("GET", "/nowhere", token=api.token).status == 404
    assert api.request("GET", "/track/sale", token=api.token).status == 405
    assert api.track(data=b" " * 257).status == 413
    preflight = api.request("OPTIONS", "/track/sale", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status < 300
    assert api.admin("GET", "state").status == 200
    api.track(NOBODY).expect_error(503, "internal_server_error", FAULT)
    assert api.track(NOBODY).status == 200


def test_a_delay_fault_waits_then_answers_normally(api: HttpApi) -> None:
    reply = api.admin("POST", "faults", {"delayMs": 300})
    assert reply.status == 201, reply
    started = time.monotonic()
    assert api.track(NOBODY).status == 200
    assert time.monotonic() - started >= 0.29
    started = time.monotonic()
    assert api.track(NOBODY).status == 200
    assert time.monotonic() - started < 0.29  # the fault was used up: no second delay


def test_a_delay_fault_holds_only_its_own_request(api: HttpApi) -> None:
    api.add_fault(delayMs=600, count=1)
    with ThreadPoolExecutor(1) as pool:
        delayed = pool.submit(api.track, NOBODY)
        time.sleep(0.1)
        started = time.monotonic()
        assert api.track(NOBODY).status == 200
        assert time.monotonic() - started < 0.4
        assert not delayed.done()
        assert delayed.result().status == 200


def test_a_fault_with_status_and_delay_waits_first(api: HttpApi) -> None:
    api.add_fault(status=500, delayMs=250, count=1)
    started = time.monotonic()
    api.track(NOBODY).expect_error(500, "internal_server_error", FAULT)
    assert time.monotonic() - started >= 0.24


def test_faults_queue_in_order(api: HttpApi) -> None:
    api.add_fault(status=500)
    api.add_fault(status=404, count=2)
    assert [api.track(NOBODY).status for _ in range(4)] == [500, 404, 404, 200]


# --- Prefer: code=NNN --------------------------------------------------------------------

PREFERRED = [(400, "bad_request"), (401, "unauthorized"), (403, "forbidden"),
             (404, "not_found"), (409, "conflict"), (410, "invite_expired"),
             (422, "unprocessable_entity"), (429, "rate_limit_exceeded"),
             (500, "internal_server_error")]  # fmt: skip


@pytest.mark.parametrize(("status", "code"), PREFERRED, ids=[str(s) for s, _ in PREFERRED])
def test_prefer_forces_a_documented_error(api: HttpApi, status: int, code: str) -> None:
    api.add_customer("cust_1")
    reply = api.track({"customerExternalId": "cust_1", "amount": 1},
                      headers={"Prefer": f"code={status}"})  # fmt: skip
    reply.expect_error(status, code, FORCED)
    for name in RATE_HEADERS:
        assert name in reply.headers, name
    assert api.state()["sales"] == []


@pytest.mark.parametrize("prefer", ["code=200", "code=201", "code=405", "code=418",
                                    "code=503", "code=abc", "dynamic=true"])  # fmt: skip
def test_prefer_for_an_undocumented_code_is_ignored(api: HttpApi, prefer: str) -> None:
    api.add_customer("cust_1")
    reply = api.track({"customerExternalId": "cust_1", "amount": 1}, headers={"Prefer": prefer})
    assert reply.status == 200, reply
    assert len(api.state()["sales"]) == 1


def test_prefer_is_read_among_other_preferences(api: HttpApi) -> None:
    reply = api.track(NOBODY, headers={"Prefer": "dynamic=true, code=404"})
    reply.expect_error(404, "not_found", FORCED)


def test_prefer_comes_after_authentication(api: HttpApi) -> None:
    reply = api.track(NOBODY, token=None, headers={"Prefer": "code=404"})
    reply.expect_error(401, "unauthorized", "Missing Authorization header.")
    reply = api.track(NOBODY, token="dub_nope", headers={"Prefer": "code=404"})
    reply.expect_error(401, "unauthorized", "Unauthorized: Invalid API key.")


def test_prefer_counts_and_comes_after_the_rate_limit(api: HttpApi) -> None:
    api.add_token("dub_two", rateLimitPerMinute=2)
    forced = api.track(NOBODY, token="dub_two", headers={"Prefer": "code=409"})
    forced.expect_error(409, "conflict", FORCED)
    assert forced.headers["X-RateLimit-Remaining"] == "1"
    assert api.track(NOBODY, token="dub_two").status == 200
    api.track(NOBODY, token="dub_two", headers={"Prefer": "code=409"}).expect_error(
        429, "rate_limit_exceeded", "Too many requests."
    )


def test_prefer_comes_before_the_body(api: HttpApi) -> None:
    reply = api.track(data=b"{not json", headers={"Prefer": "code=422"})
    reply.expect_error(422, "unprocessable_entity", FORCED)


# --- the journal -------------------------------------------------------------------------


def test_the_journal_records_api_requests_with_authorization_redacted(api: HttpApi) -> None:
    api.add_customer("cust_1")
    body = {"customerExternalId": "cust_1", "amount": 4200, "invoiceId": "INV_J"}
    answer = _ok(api.track(body))
    api.track(NOBODY, token="dub_unknown_secret")
    entries = api.journal()
    text = json.dumps(entries)
    assert "dub_mock_key" not in text and "dub_unknown_secret" not in text
    (entry,) = [e for e in entries if e["status"] == 200]
    assert entry["method"] == "POST"
    assert entry["path"] == "/track/sale"
    assert entry["requestBody"] == body
    assert entry["responseBody"] == answer
    assert isinstance(entry["durationMs"], int | float) and entry["durationMs"] >= 0
    assert entry["time"]
    assert entry["requestHeaders"]["Authorization"] != "Bearer dub_mock_key"
    (refused,) = [e for e in entries if e["status"] == 401]
    assert refused["responseBody"]["error"]["code"] == "unauthorized"
