"""The dashboard in a real browser (Debian's headless Chromium): live updates without a reload,
the click → lead → sale journey, every control, the admin-token gate, the requests view, the
webhook views, the fallback to polling and the reconnection.

Every page is watched (see conftest): when a test ends, no request may have left the mock's
origin and the browser's console must hold no error.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from reliability.support import Served

from mockserver import MockServer
from mockserver.dashboard.web import THREAD_STREAMS
from mockserver.webhooks.receiver import WebhookReceiver

from .conftest import Watched
from .support import admin, api, call, post, wait_live

Opener = Callable[..., Watched]


@pytest.fixture(params=["serve", "MockServer"])
def any_server(request: pytest.FixtureRequest) -> str:
    """The URL of a reset mock: `dub-mock serve` (RSGI stream) or MockServer (waitress)."""
    name = "fresh_served" if request.param == "serve" else "fresh"
    server = request.getfixturevalue(name)
    return str(server.url)


def test_a_request_and_a_sale_arrive_live_without_a_reload(
    any_server: str, open_page: Opener
) -> None:
    watched = open_page(any_server)
    page = watched.page
    wait_live(watched)
    page.evaluate("window.notReloaded = true")
    rows = page.get_by_test_id("request-row")
    expect(rows).to_have_count(0)

    api(any_server, "/track/sale", {"customerExternalId": "user_42", "amount": 4900})

    expect(rows).to_have_count(1, timeout=3000)
    expect(rows.first).to_contain_text("POST")
    expect(rows.first).to_contain_text("/track/sale")
    expect(rows.first).to_contain_text("200")
    page.get_by_role("tab", name="State").click()
    sale = page.get_by_test_id("sale-row")
    expect(sale).to_have_count(1, timeout=3000)
    expect(sale).to_contain_text("$49.00")
    expect(sale).to_contain_text("user_42")
    assert page.evaluate("window.notReloaded") is True


def test_click_lead_and_sale_show_as_one_journey(fresh_served: Served, open_page: Opener) -> None:
    url = fresh_served.url
    watched = open_page(url, "/__mock/ui#funnel")
    page = watched.page
    wait_live(watched)

    admin(url, "POST", "/__mock/links", {"domain": "dub.sh", "key": "spring"})
    click_id = api(url, "/track/click", {"domain": "dub.sh", "key": "spring"})["clickId"]
    api(url, "/track/lead", {
        "clickId": click_id, "eventName": "Sign up", "customerExternalId": "grace",
        "customerName": "Grace Hopper",
    })  # fmt: skip
    api(url, "/track/sale", {
        "customerExternalId": "grace", "amount": 4900, "currency": "eur", "invoiceId": "INV_7",
    })  # fmt: skip

    journey = page.locator('[data-testid="journey"][data-customer="grace"]')
    expect(journey).to_have_count(1, timeout=3000)
    expect(journey).to_contain_text("Grace Hopper")
    expect(journey.get_by_test_id("journey-click")).to_contain_text(click_id)
    expect(journey.get_by_test_id("journey-click")).to_contain_text("https://dub.sh/spring")
    expect(journey.get_by_test_id("journey-lead")).to_contain_text("Sign up")
    sale = journey.get_by_test_id("journey-sale")
    expect(sale).to_contain_text("€49.00 EUR → $53.26")  # the seed's EUR rate, 0.92
    expect(sale).to_contain_text("INV_7")
    steps = journey.locator(".step")
    expect(steps).to_have_count(3)
    kinds = [steps.nth(i).get_attribute("data-testid") for i in range(3)]
    assert kinds == ["journey-click", "journey-lead", "journey-sale"]


def test_a_request_that_arrives_while_the_journal_is_read_shows_once(
    fresh: MockServer, open_page: Opener
) -> None:
    """The stream's event comes before the (older) journal the page asked for: kept, once."""
    url = fresh.url
    held: list[str] = []

    def hold_the_journal(page: Any) -> None:
        def answer(route: Any) -> None:
            if held:
                route.continue_()
                return
            journal = route.fetch()  # read before the sale: it does not hold it
            held.append(journal.text())
            api(url, "/track/sale", {"customerExternalId": "user_42", "amount": 4200})
            time.sleep(0.5)  # meanwhile the stream brings the sale
            route.fulfill(response=journal)

        page.route("**/__mock/requests", answer)

    watched = open_page(url, prepare=hold_the_journal)
    wait_live(watched)
    rows = watched.page.get_by_test_id("request-row")
    expect(rows).to_have_count(1)
    assert held == ["[]"]
    watched.page.wait_for_timeout(300)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("/track/sale")


def test_a_view_not_on_screen_is_not_re_read(fresh: MockServer, open_page: Opener) -> None:
    """Under load the state is big: only the view on screen re-reads it, once per change."""
    url = fresh.url
    watched = open_page(url)
    page = watched.page
    wait_live(watched)
    expect(page.locator("#count-funnel")).to_have_text("1")  # read on connecting: user_42
    page.wait_for_timeout(300)
    reads = [u for u in watched.requested if u.endswith("/__mock/state")]
    assert len(reads) == 1, watched.requested
    for n in range(3):
        api(url, "/track/sale", {"customerExternalId": "user_42", "amount": 100 + n})
    expect(page.get_by_test_id("request-row")).to_have_count(3)
    page.wait_for_timeout(700)
    assert [u for u in watched.requested if u.endswith("/__mock/state")] == reads, watched.requested
    page.get_by_role("tab", name="State").click()
    expect(page.get_by_test_id("sale-row")).to_have_count(3)  # read when shown


def submit(page: Any, form: str, **fields: str | bool) -> Any:
    """Fill a control form by its test id and submit it; returns its result line."""
    target = page.get_by_test_id(form)
    for name, value in fields.items():
        field = target.locator(f'[name="{name}"]').first
        if isinstance(value, bool):
            field.set_checked(value)
        elif field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    target.locator('button[type="submit"]').click()
    output = target.locator("output")
    expect(output).not_to_have_text("…")
    expect(output).not_to_have_text("")
    return output


def test_each_control_shapes_the_mock(fresh: MockServer, open_page: Opener) -> None:
    url = fresh.url
    watched = open_page(url, "/__mock/ui#state")
    page = watched.page
    wait_live(watched)

    output = submit(page, "new-customer-form", externalId="linus", name="Linus", email="l@x.io")
    expect(output).to_contain_text("Customer linus created")
    expect(page.get_by_test_id("customer-row").filter(has_text="linus")).to_have_count(1)

    clicks_before = page.get_by_test_id("click-row").count()
    expect(submit(page, "new-click-form", url="https://shop.example")).to_contain_text("Click")
    expect(page.get_by_test_id("click-row")).to_have_count(clicks_before + 1)

    expect(
        submit(page, "new-lead-form", customerExternalId="linus", eventName="Trial")
    ).to_contain_text("Trial")
    expect(page.get_by_test_id("lead-row").filter(has_text="Trial")).to_have_count(1)

    submit(page, "new-link-form", domain="go.example.com", key="launch")
    expect(
        page.get_by_test_id("link-row").filter(has_text="https://go.example.com/launch")
    ).to_have_count(1)

    token = "dub_created_in_the_page_0123456789"
    expect(submit(page, "new-token-form", token=token, role="viewer")).to_contain_text("dub_…89")
    expect(page.get_by_test_id("token-row").filter(has_text="dub_…89")).to_have_count(1)
    status, _ = post(url, "/track/sale", {"customerExternalId": "linus", "amount": 1}, token)
    assert status == 403  # a viewer: the token exists with its role

    expect(submit(page, "new-publishable-key-form", key="dub_pk_from_the_page_42")).to_contain_text(
        "dub_…42"
    )
    expect(page.get_by_test_id("publishable-key-row").filter(has_text="dub_…42")).to_have_count(1)

    webhook = submit(
        page, "new-webhook-form", url="http://127.0.0.1:9/hook", secret="whsec_" + "ab" * 16
    )
    expect(webhook).to_contain_text("whse…ab")
    page.get_by_role("tab", name="Webhooks").click()
    expect(
        page.get_by_test_id("webhook-row").filter(has_text="http://127.0.0.1:9/hook")
    ).to_have_count(1)

    expect(submit(page, "fx-rate-form", currency="gbp", rate="0.5")).to_contain_text("0.5 GBP")
    assert admin(url, "GET", "/__mock/fx-rates")["GBP"] == 0.5

    expect(submit(page, "fault-form", status="503", count="1")).to_contain_text("answer 503")
    status, answer = post(url, "/track/sale", {"customerExternalId": "linus", "amount": 1})
    assert status == 503 and answer["error"]["message"] == "Fault injected by dub-mock"

    text = page.locator("body").inner_text() + page.locator("body").text_content()
    for secret in (token, "dub_pk_from_the_page_42", "whsec_" + "ab" * 16):
        assert secret not in text  # shown redacted only, as /__mock/state shows them

    page.get_by_test_id("reset-button").click()
    page.get_by_role("tab", name="State").click()
    expect(page.get_by_test_id("customer-row").filter(has_text="linus")).to_have_count(0)
    expect(page.get_by_test_id("request-row")).to_have_count(0)
    assert [c["externalId"] for c in admin(url, "GET", "/__mock/state")["customers"]] == ["user_42"]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(["--admin-token", "let-me-in", "--quiet"], tmp_path_factory.mktemp("guarded"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_with_an_admin_token_the_page_shows_nothing_until_given_it(
    guarded: Served, open_page: Opener
) -> None:
    api(guarded.url, "/track/sale", {"customerExternalId": "nobody", "amount": 100})
    watched = open_page(guarded.url, allow_errors=True)  # the wrong token's 401 is logged
    page = watched.page
    token_input = page.get_by_test_id("admin-token-input")
    expect(token_input).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.get_by_test_id("reset-button")).to_be_hidden()
    expect(page.get_by_test_id("request-row")).to_have_count(0)
    assert "nobody" not in (page.locator("body").text_content() or "")  # the request sent
    asked = [u for u in watched.requested if "/__mock/" in u and "/__mock/ui" not in u]
    assert asked == []  # not even a refused data call before the token

    token_input.fill("wrong")
    page.get_by_role("button", name="Open the dashboard").click()
    expect(page.locator("#gate-error")).to_contain_text("refused")
    expect(page.locator("#app")).to_be_hidden()

    token_input.fill("let-me-in")
    page.get_by_role("button", name="Open the dashboard").click()
    wait_live(watched)
    expect(page.get_by_test_id("request-row")).to_have_count(1)
    expect(page.get_by_test_id("request-row")).to_contain_text("/track/sale")
    assert page.evaluate("localStorage.length") == 0  # kept for this tab only
    assert page.evaluate("sessionStorage.getItem('dub-mock-admin-token')") == "let-me-in"

    status, _ = call(guarded.url, "GET", "/__mock/events")
    assert status == 401  # the stream itself is guarded, the page sent ?token=


def test_requests_filter_expand_and_copy_as_curl(fresh: MockServer, open_page: Opener) -> None:
    url = fresh.url
    api(url, "/track/sale", {"customerExternalId": "user_42", "amount": 1200, "invoiceId": "INV_c"})
    post(url, "/track/sale", {"customerExternalId": "user_42", "amount": 1}, "dub_wrong")
    call(url, "POST", "/track/sale", {"amount": "lots"}, {"Authorization": "Bearer dub_mock_key"})
    watched = open_page(url)
    page = watched.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    wait_live(watched)
    rows = page.get_by_test_id("request-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("422")  # newest first
    expect(rows.last).to_contain_text("200")

    page.get_by_test_id("filter-status").select_option("4")
    expect(rows).to_have_count(2)
    page.get_by_test_id("filter-status").select_option("")
    page.get_by_test_id("filter-text").fill("INV_c")
    expect(rows).to_have_count(1)
    rows.first.click()
    detail = page.get_by_test_id("request-detail")
    expect(detail.get_by_test_id("request-body")).to_contain_text('"invoiceId": "INV_c"')
    expect(detail.get_by_test_id("response-body")).to_contain_text('"amount": 1200')
    command = detail.get_by_test_id("curl-command").text_content() or ""
    assert '"Authorization: Bearer $DUB_TOKEN"' in command
    assert "dub_mock_key" not in command

    detail.get_by_test_id("copy-curl").click()
    expect(detail.get_by_test_id("copy-curl")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command

    if shutil.which("curl") and shutil.which("bash"):  # the command replays the request
        env = {**os.environ, "DUB_TOKEN": "dub_mock_key"}
        script = command.replace("\\\n", " ")
        replay = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=20, check=False
        )
        assert replay.returncode == 0, replay.stderr
        assert '"invoiceId":"INV_c"' in replay.stdout  # a replayed invoice: the first answer
    page.get_by_test_id("filter-text").fill("")
    expect(rows).to_have_count(4 if shutil.which("curl") and shutil.which("bash") else 3)


def test_webhook_endpoints_deliveries_and_redelivery(fresh: MockServer, open_page: Opener) -> None:
    url = fresh.url
    secret = "whsec_" + "c0ffee" * 5 + "00"
    with WebhookReceiver(secret) as receiver:
        watched = open_page(url, "/__mock/ui#webhooks")
        page = watched.page
        wait_live(watched)
        submit(page, "new-webhook-form", url=receiver.url, secret=secret)
        expect(page.get_by_test_id("webhook-row")).to_have_count(1)
        assert secret not in (page.locator("body").text_content() or "")

        api(url, "/track/sale", {"customerExternalId": "user_42", "amount": 2500})
        delivery = page.get_by_test_id("delivery-row")
        expect(delivery).to_have_count(1, timeout=5000)
        expect(delivery).to_contain_text("sale.created")
        expect(delivery).to_contain_text("200")
        event = page.get_by_test_id("webhook-event-row").filter(has_text="sale.created")
        expect(event).to_have_count(1)

        event.get_by_test_id("redeliver-button").click()
        expect(delivery).to_have_count(2, timeout=5000)
        first = receiver.wait_for("sale.created")
        again = receiver.wait_for("sale.created", count=2)
        assert again["id"] == first["id"]  # the same event, sent again
        assert not receiver.unverified


def hold_streams(server: MockServer, count: int) -> list[socket.socket]:
    """Open `count` raw streams and keep them (a waitress server streams to only a few)."""
    assert server.app is not None
    deadline = time.monotonic() + 10
    while server.app.feed.subscribers and time.monotonic() < deadline:
        time.sleep(0.1)  # earlier tests' pages: their streams notice within a few heartbeats
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            held.append(sock)
            sock.sendall(b"GET /__mock/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return held


def test_the_page_polls_when_the_stream_is_refused(fresh: MockServer, open_page: Opener) -> None:
    held = hold_streams(fresh, THREAD_STREAMS)
    try:
        # the refused EventSource logs a console error: that is the case under test
        watched = open_page(fresh.url, allow_errors=True)
        page = watched.page
        status = page.get_by_test_id("live-status")
        expect(status).to_contain_text("polling", timeout=5000)
        expect(status).not_to_contain_text("live")
        api(fresh.url, "/track/sale", {"customerExternalId": "user_42", "amount": 700})
        expect(page.get_by_test_id("request-row")).to_have_count(1, timeout=5000)
    finally:
        for sock in held:
            sock.close()


def test_the_stream_reconnects_by_itself_after_a_restart(
    fresh_served: Served, open_page: Opener
) -> None:
    watched = open_page(fresh_served.url, allow_errors=True)  # refused while it is down
    page = watched.page
    wait_live(watched)
    status = page.get_by_test_id("live-status")
    fresh_served.stop()
    expect(status).not_to_contain_text("live", timeout=5000)
    assert (status.text_content() or "").strip() in {"reconnecting", "offline · polling"}
    fresh_served.start()  # same port, fresh memory state
    wait_live(watched, timeout_ms=20_000)
    api(fresh_served.url, "/track/sale", {"customerExternalId": "user_42", "amount": 300})
    expect(page.get_by_test_id("request-row")).to_have_count(1, timeout=3000)


def test_every_view_renders_from_this_origin_only(fresh: MockServer, open_page: Opener) -> None:
    url = fresh.url
    api(url, "/track/sale", {"customerExternalId": "user_42", "amount": 999, "currency": "jpy"})
    watched = open_page(url)
    page = watched.page
    wait_live(watched)
    for tab in ("Funnel", "State", "Webhooks", "Requests"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("sale-row")).to_contain_text("¥999 JPY → $6.45")
    paths = {u.split("/", 3)[3].split("?")[0] for u in watched.requested}
    assert {"__mock/ui/app.js", "__mock/ui/style.css", "__mock/events", "__mock/state"} <= paths
    assert watched.off_origin() == []
    status, _ = call(url, "GET", "/__mock/ui")
    assert status == 200


def test_screenshot_of_a_seeded_dashboard(
    fresh: MockServer, open_page: Opener, tmp_path: Path
) -> None:
    """The README's picture. `DUB_MOCK_SCREENSHOT=docs/dashboard.png pytest tests/dashboard -k
    screenshot` writes it; otherwise it goes to a temporary folder."""
    url = fresh.url
    admin(url, "POST", "/__mock/links", {"domain": "dub.sh", "key": "launch"})
    click_id = api(url, "/track/click", {"domain": "dub.sh", "key": "launch"})["clickId"]
    lead = {"clickId": click_id, "eventName": "Sign up", "customerExternalId": "grace"}
    api(url, "/track/lead", {**lead, "customerName": "Grace Hopper"})
    euros = {"customerExternalId": "grace", "amount": 4900, "currency": "eur"}
    api(url, "/track/sale", {**euros, "invoiceId": "INV_1001"})
    dollars = {"customerExternalId": "user_42", "amount": 1900}
    api(url, "/track/sale", {**dollars, "invoiceId": "INV_1002"})
    post(url, "/track/sale", {**dollars, "amount": -5})  # 422
    post(url, "/track/sale", dollars, "dub_nope")  # 401
    watched = open_page(url)
    page = watched.page
    page.set_viewport_size({"width": 1280, "height": 760})
    wait_live(watched)
    expect(page.get_by_test_id("request-row")).to_have_count(6)
    page.get_by_test_id("request-row").nth(2).click()
    expect(page.get_by_test_id("request-detail")).to_be_visible()
    target = Path(os.environ.get("DUB_MOCK_SCREENSHOT") or tmp_path / "dashboard.png")
    page.screenshot(path=str(target))
    assert 10_000 < target.stat().st_size < 200_000
