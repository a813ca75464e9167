"""The plugin's own pieces, without a pytest run: the keep-alive transport and the records."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from pytest_plugin.handle import (
    admin_path,
    camel,
    event_id_of,
    hostname_list,
    seed_kinds,
    trigger_list,
)
from pytest_plugin.markers import MarkerError, hostnames
from pytest_plugin.records import (
    Click,
    Delivery,
    DeliveryLog,
    JournalEntry,
    Lead,
    PublishableKey,
    Records,
    Sale,
    Token,
    Webhook,
    WebhookEvent,
    format_journal,
)
from pytest_plugin.transport import HttpTransport


class _OneShotHandler(http.server.BaseHTTPRequestHandler):
    """Answers over HTTP/1.1 without `Connection: close`, then drops the connection anyway,
    as a server does with a keep-alive connection it timed out."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        self.connections.append(id(self.connection))
        payload = json.dumps({"echo": body}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def dropping_server() -> Iterator[str]:
    _OneShotHandler.connections = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneShotHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_transport_reconnects_when_the_server_dropped_the_connection(dropping_server) -> None:
    transport = HttpTransport(dropping_server, admin_token="adm")
    try:
        assert transport.call("POST", "/__mock/customers", {"n": 1}) == (201, {"echo": {"n": 1}})
        assert transport.call("POST", "/__mock/customers", {"n": 2}) == (201, {"echo": {"n": 2}})
    finally:
        transport.close()
    assert len(_OneShotHandler.connections) == 2


def test_transport_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        HttpTransport("ftp://example.test")


def test_camel_case_names() -> None:
    assert [camel(n) for n in ("link_id", "rate_limit_per_minute", "linkId", "id")] == [
        "linkId",
        "rateLimitPerMinute",
        "linkId",
        "id",
    ]


def test_records_read_like_what_they_are() -> None:
    sale = Sale(id="evt_1", amount=4900, currency="usd", invoiceId=None, eventName="Purchase")
    assert repr(sale) == "Sale(amount=4900, currency='usd', eventName='Purchase', id='evt_1')"
    assert sale.amount == 4900 and sale == {**sale}
    with pytest.raises(AttributeError, match="Sale has no field 'amuont'"):
        _ = sale.amuont
    assert f"Bearer {Token(token='dub_x', role='owner')}" == "Bearer dub_x"


def test_one_names_what_was_there() -> None:
    sales = Records([Sale(amount=1), Sale(amount=2)])
    assert sales.one(amount=2) == {"amount": 2}
    assert sales.where(amount=3) == []
    with pytest.raises(AssertionError, match=r"exactly one record with \{\}, found 2 in \[Sale"):
        sales.one()


def test_journal_text() -> None:
    entry = JournalEntry(
        method="POST",
        path="/track/sale",
        status=404,
        durationMs=1.234,
        requestBody={"customerExternalId": "x"},
        responseBody={"error": {"code": "not_found"}},
    )
    assert repr(entry) == '<POST /track/sale → 404 (1.2 ms) request={"customerExternalId": "x"}>'
    assert format_journal([entry]).splitlines() == [
        "POST /track/sale → 404 (1.2 ms)",
        '    sent: {"customerExternalId": "x"}',
        '    got:  {"error": {"code": "not_found"}}',
    ]
    assert format_journal([]) == "(no API requests reached the mock during this test)"


def test_every_seed_kind_has_the_admin_call_that_creates_it() -> None:
    """``DubMock.seed`` posts each seed list's items to the admin call named after the list."""
    from mockserver.admin import ADMIN_MAP

    assert admin_path("publishableKeys") == "/__mock/publishable-keys"
    assert seed_kinds()[:3] == ("workspaces", "tokens", "publishableKeys")
    adapter = ADMIN_MAP.bind("localhost")
    for kind in seed_kinds():
        adapter.match(admin_path(kind), method="POST")  # raises when there is no such call


def test_funnel_records_read_like_what_they_are() -> None:
    click = Click(id="clk_1", linkId="lnk_1", workspaceId="ws_mock", url=None, referrer="r")
    assert repr(click) == "Click(id='clk_1', linkId='lnk_1', workspaceId='ws_mock', referrer='r')"
    lead = Lead(eventName="Sign up", id="evt_1", customerId="cus_1", linkId="l", clickId="c")
    assert repr(lead) == (
        "Lead(id='evt_1', customerId='cus_1', eventName='Sign up', linkId='l', clickId='c')"
    )
    key = PublishableKey(workspaceId="ws_mock", key="dub_pk_x")
    assert (str(key), repr(key)) == (
        "dub_pk_x",
        "PublishableKey(key='dub_pk_x', workspaceId='ws_mock')",
    )


def test_hostnames_are_a_list_of_strings() -> None:
    assert hostname_list("shop.example") == ["shop.example"]
    assert hostname_list(("a.example", "*.b.example")) == ["a.example", "*.b.example"]
    assert hostnames("shop.example") == ("shop.example",)
    assert hostnames(["a", "b"]) == ("a", "b")
    with pytest.raises(TypeError, match="non-empty strings"):
        hostname_list(["ok", ""])
    with pytest.raises(MarkerError, match="allowed_hostnames takes a hostname"):
        hostnames({"shop.example"})


def test_webhook_records_leave_their_bodies_out_of_the_repr() -> None:
    body = {"id": "evt_1", "event": "sale.created", "data": {"sale": {"amount": 5}}}
    event = WebhookEvent(
        {"id": "evt_1", "event": "sale.created", "createdAt": "T", "workspaceId": "ws_mock",
         "webhookIds": ["wh_1"], "deliveredTo": [], "delivered": False, "body": body}
    )  # fmt: skip
    assert repr(event) == (
        "WebhookEvent(id='evt_1', event='sale.created', delivered=False, webhookIds=['wh_1'], "
        "deliveredTo=[], createdAt='T', workspaceId='ws_mock')"
    )
    assert (event.payload, event.data) == (body, {"sale": {"amount": 5}})
    attempt = Delivery(
        {"id": "evt_1:wh_1:1", "eventId": "evt_1", "event": "sale.created", "webhookId": "wh_1",
         "url": "http://x/", "attempt": 1, "status": None, "ok": False,
         "error": "ConnectionRefusedError: nope", "durationMs": 0.5, "time": "T",
         "requestBody": json.dumps(body), "responseBody": ""}
    )  # fmt: skip
    assert repr(attempt) == (
        "Delivery(eventId='evt_1', event='sale.created', webhookId='wh_1', attempt=1, ok=False, "
        "error='ConnectionRefusedError: nope', durationMs=0.5, id='evt_1:wh_1:1', "
        "url='http://x/', time='T')"
    )
    assert attempt.payload == body
    webhook = Webhook({"id": "wh_1", "url": "http://x/", "secret": "whsec_1", "disabled": False})
    assert repr(webhook) == "Webhook(id='wh_1', url='http://x/', disabled=False, secret='whsec_1')"


def test_the_delivery_log_is_a_list_and_asks_the_mock_again_when_called() -> None:
    asked: list[str | None] = []

    def fetch(event_id: str | None) -> Records[Delivery]:
        asked.append(event_id)
        return Records([Delivery({"eventId": event_id})])

    log = DeliveryLog([Delivery({"eventId": "evt_1"})], fetch)
    assert log == [{"eventId": "evt_1"}] and log.one().eventId == "evt_1"
    assert log(event_id="evt_2") == [{"eventId": "evt_2"}] and asked == ["evt_2"]


def test_event_ids_and_triggers() -> None:
    assert event_id_of("evt_1") == "evt_1"
    assert event_id_of(WebhookEvent({"id": "evt_2"})) == "evt_2"
    assert event_id_of({"id": "evt_3", "event": "sale.created"}) == "evt_3"
    with pytest.raises(TypeError, match="not a webhook event or its id"):
        event_id_of({"event": "sale.created"})
    assert trigger_list("sale.created") == ["sale.created"]
    assert trigger_list(("lead.created", "sale.created")) == ["lead.created", "sale.created"]
