"""Registration: the ``pytest11`` entry point named ``dub_mock``, the fixtures, the header."""

from __future__ import annotations

import importlib.metadata
import threading

import pytest


def test_the_distribution_declares_the_entry_point() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert [(p.name, p.value) for p in points if p.name == "dub_mock"] == [
        ("dub_mock", "pytest_plugin.plugin")
    ]


def test_fixtures_come_from_the_entry_point_plugin(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(
        """
        def test_uses(dub_mock):
            pass
        """
    )
    run().assert_outcomes(passed=1)
    blocked = run("-p", "no:dub_mock")
    blocked.assert_outcomes(errors=1)
    blocked.stdout.fnmatch_lines(["*fixture 'dub_mock' not found*"])


def test_fixtures_are_documented(run) -> None:
    result = run("--fixtures")
    for lines in (
        ["dub_mock -- *plugin.py:*", "*A live Dub mock on 127.0.0.1, reset for this test*"],
        ["dub_mock_app -- *plugin.py:*", "*helpers around an in-process WSGI app*"],
        ["dub_client -- *plugin.py:*", "*official ``dub`` SDK client*"],
        ["dub_webhooks -- *plugin.py:*", "*A webhook receiver on a free 127.0.0.1 port*"],
        ["dub_mock_settings [[]session scope] -- *plugin.py:*", "*Settings for the session's*"],
    ):
        result.stdout.fnmatch_lines(lines)


def test_report_header_names_the_plugin_and_the_contract_target(run) -> None:
    run().stdout.fnmatch_lines(
        ["dub-mock: fixtures dub_mock, dub_mock_app, dub_client, dub_webhooks"]
    )
    run("--dub-base-url=http://staging.test").stdout.fnmatch_lines(
        ["dub-mock: *contract target http://staging.test"]
    )


def test_a_session_without_the_fixtures_starts_no_server(downstream: pytest.Pytester, run) -> None:
    # the run is in-process: servers this outer session started are there already
    before = sorted(t.ident or 0 for t in threading.enumerate() if t.name == "dub-mock-server")
    downstream.makepyfile(
        f"""
        import threading

        def test_plain():
            assert not [t for t in threading.enumerate()
                        if t.name == "dub-mock-server" and t.ident not in {before!r}]
        """
    )
    run().assert_outcomes(passed=1)


def test_loaded_by_name_when_autoloading_is_off(
    downstream: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    downstream.makepyfile(
        """
        def test_uses(dub_mock):
            assert dub_mock.sales == []
        """
    )
    run().assert_outcomes(errors=1)
    run("-p", "dub_mock").assert_outcomes(passed=1)
