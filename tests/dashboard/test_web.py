"""The dashboard's files and routes, in process (werkzeug's test client, no browser): where a
browser lands, what API clients still get, the admin token, and that the page asks nothing of
any other origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.test import Client

from mockserver import create_app
from mockserver.fx import ZERO_DECIMAL_CURRENCIES

STATIC = Path(__file__).resolve().parents[2] / "mockserver" / "dashboard" / "static"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def client() -> Client:
    return Client(create_app())


@pytest.fixture
def guarded() -> Client:
    return Client(create_app(admin_token="let-me-in"))


def test_a_browser_at_the_root_lands_on_the_dashboard(client: Client) -> None:
    answer = client.get("/", headers=BROWSER)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/__mock/ui"
    page = client.get("/__mock/ui")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'data-testid="live-status"' in page.data
    assert client.get("/__mock/requests").json == []  # the page and its redirect: not API calls


def test_api_clients_still_get_dubs_404_at_the_root(client: Client) -> None:
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        answer = client.get("/", headers=headers)
        assert answer.status_code == 404
        assert answer.json["error"]["code"] == "not_found"
    assert client.post("/", headers=BROWSER).status_code == 404
    assert [entry["path"] for entry in client.get("/__mock/requests").json] == ["/"] * 4


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/__mock/ui/", "text/html; charset=utf-8"),
        ("/__mock/ui/index.html", "text/html; charset=utf-8"),
        ("/__mock/ui/app.js", "text/javascript; charset=utf-8"),
        ("/__mock/ui/style.css", "text/css; charset=utf-8"),
        ("/__mock/ui/favicon.svg", "image/svg+xml"),
    ],
)
def test_the_files_load_without_the_admin_token(
    guarded: Client, path: str, content_type: str
) -> None:
    answer = guarded.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    again = guarded.get(path, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_page_knows_whether_to_ask_for_the_token(client: Client, guarded: Client) -> None:
    assert b'name="dub-mock-admin-token" content="none"' in client.get("/__mock/ui").data
    assert b'name="dub-mock-admin-token" content="required"' in guarded.get("/__mock/ui").data
    assert b"let-me-in" not in guarded.get("/__mock/ui").data


def test_data_and_the_stream_need_the_admin_token(guarded: Client) -> None:
    assert guarded.get("/__mock/state").status_code == 401
    assert guarded.get("/__mock/events").status_code == 401
    assert guarded.get("/__mock/events?token=wrong").status_code == 401
    assert (
        guarded.get("/__mock/events", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    # the right token passes; werkzeug's client runs one thread, so the stream says to poll
    for answer in (
        guarded.get("/__mock/events?token=let-me-in"),
        guarded.get("/__mock/events", headers={"Authorization": "Bearer let-me-in"}),
    ):
        assert answer.status_code == 503
        assert "poll" in answer.json["error"]["message"]
    ok = guarded.get("/__mock/requests", headers={"Authorization": "Bearer let-me-in"})
    assert ok.status_code == 200  # what the page polls


def test_unknown_files_and_other_methods_answer_in_dubs_envelope(client: Client) -> None:
    missing = client.get("/__mock/ui/secrets.txt")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.post("/__mock/ui")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"
    stream = client.post("/__mock/events")
    assert stream.status_code == 405 and stream.headers["Allow"] == "GET"


def test_the_files_name_no_other_origin() -> None:
    html = (STATIC / "index.html").read_text()
    for reference in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert reference.startswith("/__mock/ui/"), reference
    css = (STATIC / "style.css").read_text()
    assert "url(" not in css and "@import" not in css
    script = (STATIC / "app.js").read_text()
    assert not re.search(r"https?://", script)
    assert "innerHTML" not in script  # every text goes in as text


def test_the_page_formats_the_same_zero_decimal_currencies_as_the_mock() -> None:
    script = (STATIC / "app.js").read_text()
    listed = re.search(r"const ZERO_DECIMAL = new Set\(\[(.*?)\]\);", script, re.S)
    assert listed is not None
    assert set(re.findall(r'"([A-Z]{3})"', listed.group(1))) == set(ZERO_DECIMAL_CURRENCIES)
