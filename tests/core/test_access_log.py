"""Logging is the server's job: an app used in process writes nothing unless asked."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from mockserver import MockServer, create_app

SALE = {"customerExternalId": "nobody", "amount": 100}
AUTH = {"Authorization": "Bearer dub_mock_key"}


def test_create_app_is_silent_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    app = create_app()
    assert Client(app).post("/track/sale", json=SALE, headers=AUTH).status_code == 200
    app.access_log.flush()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_create_app_logs_a_line_per_request_when_asked(capfd: pytest.CaptureFixture[str]) -> None:
    app = create_app(quiet=False)
    assert Client(app).post("/track/sale", json=SALE, headers=AUTH).status_code == 200
    app.access_log.flush()
    assert '"POST /track/sale" 200' in capfd.readouterr().err


def test_mock_server_is_quiet_by_default() -> None:
    with MockServer() as server:
        assert server.settings.quiet
