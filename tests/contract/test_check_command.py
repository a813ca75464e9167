"""`dub-mock check` as a CI job runs it: verdicts, reports, exit codes, real-server mode."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broken.faults_logic import IdempotencyIgnored, LeakedField
from broken.middleware import Answer, Call, passthrough
from broken.serve import serving

from contract_tests import runner
from mockserver import create_app

from .support import FAST, Run, check, run
from .targets import MillisecondRetryAfter, NoAdminApi

TOKEN = ("--token", "dub_mock_key")


class LeakAndForget(IdempotencyIgnored):
    """Two faults at once: a leaked field (spec) and retries recorded anew (rule 13)."""

    def response(self, call: Call, answer: Answer) -> None:
        super().response(call, answer)
        LeakedField.response(self, call, answer)  # type: ignore[arg-type]


def failed(result: Run) -> set[str]:
    return {line.split()[1].split("::")[-1].split("[")[0] for line in result.lines("FAIL")}


@pytest.fixture(scope="module")
def faithful_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Any, Path]]:
    """One full check of the faithful mock, with a JUnit report; the app keeps its journal."""
    app = create_app(quiet=True, journal_limit=5000)
    junit = tmp_path_factory.mktemp("junit") / "check.xml"
    with serving(passthrough(app)) as url:
        yield check(url, *TOKEN, *FAST, "--junit-xml", str(junit)), app, junit


def test_faithful_mock_passes_with_a_junit_report(faithful_run: tuple[Run, Any, Path]) -> None:
    result, _, junit = faithful_run
    assert result.returncode == 0, result.output
    assert not result.lines("FAIL") and not result.lines("SKIP")
    assert len(result.lines("PASS")) >= 80
    assert "OK: the target keeps the contract" in result.stdout
    assert "requests sent; seed 7 (rerun with --seed 7)" in result.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == "dub-mock-check"
    assert int(suite.get("tests", 0)) >= 80 and suite.get("failures") == "0"


def test_every_invoice_id_sent_starts_with_the_prefix(faithful_run: tuple[Run, Any, Path]) -> None:
    _, app, _ = faithful_run
    invoices = [
        entry["requestBody"]["invoiceId"]
        for entry in app.store.requests()
        if isinstance(entry.get("requestBody"), dict)
        and isinstance(entry["requestBody"].get("invoiceId"), str)
    ]
    assert len(invoices) > 10
    assert all(invoice.startswith("dubmock-check-") for invoice in invoices), invoices


def test_broken_target_fails_naming_rule_request_and_answer(tmp_path: Path) -> None:
    junit = tmp_path / "check.xml"
    with serving(LeakAndForget(create_app(quiet=True))) as url:
        result = check(url, *TOKEN, *FAST, "--junit-xml", str(junit))
    assert result.returncode == 1, result.output
    assert {"test_repeated_invoice_replays_the_first_answer", "test_spec_conformance"} <= failed(
        result
    )
    out = result.stdout
    assert "broken rule: Rule 13" in out  # the stateful scenario's rule
    assert "problem: the replay must equal the first answer" in out
    assert "curl -sS -i -X POST" in out and '"Authorization: Bearer $DUB_TOKEN"' in out
    assert "Reproduce with" in out and "workspaceId" in out  # schemathesis's finding
    assert "Bearer dub_mock_key" not in out  # the token never reaches a CI log
    assert "FAILED: " in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", 0)) >= 2


def test_without_admin_api_checks_are_skipped_with_reasons() -> None:
    with serving(NoAdminApi(create_app(quiet=True))) as url:
        result = check(url, *TOKEN, *FAST)
    assert result.returncode == 0, result.output
    assert "no admin API" in result.stdout
    skipped = "\n".join(result.lines("SKIP")) + result.stdout
    assert "--customer-external-id" in skipped and "--click-id" in skipped
    assert "needs the dub-mock admin API" in skipped
    assert any(
        "test_repeated_invoice_replays_the_first_answer" in line for line in result.lines("SKIP")
    )
    # Without a publishable key the client-route checks say what they need; the key checks that
    # need no key still run (a missing or malformed key is refused).
    assert "--publishable-key / --dub-publishable-key / DUB_PUBLISHABLE_KEY" in skipped
    assert any("test_spec_conformance_lead_client" in line for line in result.lines("SKIP"))
    passed = "\n".join(result.lines("PASS"))
    assert "test_missing_publishable_key_is_401" in passed
    assert "test_malformed_publishable_key_is_400" in passed


def _seeded_without_admin(build: type[NoAdminApi]) -> tuple[NoAdminApi, list[str]]:
    target = build(create_app(quiet=True))
    customer = target.seed("customers", {"externalId": "user_42"})
    click = target.seed("clicks", {})
    assert customer["externalId"] == "user_42"
    return target, ["--customer-external-id", "user_42", "--click-id", click["id"]]


def test_without_admin_api_the_given_ids_drive_the_stateful_checks() -> None:
    target, ids = _seeded_without_admin(NoAdminApi)
    key = target.seed("publishable-keys", {})["key"]
    with serving(target) as url:
        result = check(url, *TOKEN, *FAST, *ids, "--publishable-key", key)
    assert result.returncode == 0, result.output
    passed = "\n".join(result.lines("PASS"))
    for name in (
        "test_repeated_invoice_replays_the_first_answer",
        "test_sale_answer_shape_and_defaults",
        "test_direct_sale_creates_the_customer",
        "test_two_decimal_currency_is_converted",
        "test_direct_sale_lead_is_found_by_a_later_sale",  # observed through follow-up sales
        "test_customer_without_lead_is_404",  # the customer made by a deferred lead
        "test_repeated_lead_answers_link_null",  # a lead on --click-id, observed by its repeat
        "test_new_click_is_usable_by_a_lead",  # the click's link, learnt from a lead's answer
        "test_spec_conformance_lead_client",  # the publishable key drives the client routes
        "test_client_sale_records_and_replays",
        "test_client_and_secret_leads_share_the_dedup_key",
    ):
        assert name in passed, result.output
    skipped = "\n".join(result.lines("SKIP")) + result.stdout
    assert "needs the dub-mock admin API" in skipped  # workspaces, plans, hostnames
    assert key not in result.output


def test_without_admin_api_a_broken_server_is_still_caught() -> None:
    class ForgetfulRealServer(NoAdminApi, IdempotencyIgnored):
        """A 'real' server (no admin API) that records every retry."""

    target, ids = _seeded_without_admin(ForgetfulRealServer)
    with serving(target) as url:
        result = check(url, *TOKEN, *FAST, *ids)
    assert result.returncode == 1, result.output
    assert "test_repeated_invoice_replays_the_first_answer" in failed(result)


def test_a_refused_publishable_key_is_a_usage_error(faithful_url: str) -> None:
    result = check(faithful_url, *TOKEN, *FAST, "--publishable-key", "dub_pk_not_a_real_key")
    assert result.returncode == 2, result.output
    assert "the target refuses the publishable key: HTTP 401" in result.stderr


@pytest.mark.parametrize(
    ("only", "present", "absent"),
    [
        ("sale", "test_auth::", ("test_lead::", "test_click::", "test_publishable::")),
        ("lead,click", "test_click::", ("test_auth::", "test_publishable::", "[/track/sale]")),
    ],
    ids=["sale", "lead-and-click"],
)
def test_only_checks_the_named_areas(
    faithful_url: str, only: str, present: str, absent: tuple[str, ...]
) -> None:
    result = check(faithful_url, *TOKEN, *FAST, "--only", only)
    assert result.returncode == 0, result.output
    lines = "\n".join(result.lines("PASS"))
    assert present in lines
    assert not any(name in lines for name in absent), lines
    assert f"only {only.replace(',', ', ')}" in result.stdout


def test_retry_after_as_millisecond_timestamp_is_no_false_alarm() -> None:
    with serving(MillisecondRetryAfter(create_app(quiet=True))) as url:
        result = check(url, *TOKEN, *FAST)
    assert result.returncode == 0, result.output


def test_the_working_directory_pytest_setup_does_not_leak_in(
    faithful_url: str, tmp_path: Path
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -x --no-such-flag\n")
    (tmp_path / "conftest.py").write_text("raise RuntimeError('a user conftest')\n")
    (tmp_path / "schemathesis.toml").write_text("[checks]\nenabled = false\n")
    result = check(faithful_url, *TOKEN, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert len(result.lines("PASS")) >= 80


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--base-url", "http://127.0.0.1:9"],
        ["--base-url", "ftp://127.0.0.1:9", "--token", "t"],
        ["--base-url", "http://127.0.0.1:9", "--token", "t", "--max-examples", "0"],
        ["--base-url", "http://127.0.0.1:9", "--token", "t", "--rate", "0"],
        ["--base-url", "http://127.0.0.1:9", "--token", "t", "--seed", "x"],
        ["--base-url", "http://127.0.0.1:9", "--token", "t", "--only", "sale,refunds"],
    ],
    ids=["nothing", "no-token", "not-http", "zero-examples", "zero-rate", "bad-seed", "bad-area"],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(argv) == 2
    assert capsys.readouterr().err


def test_unreachable_target_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert runner.main(["--base-url", f"http://127.0.0.1:{port}", "--token", "dub_x"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_a_refused_token_is_a_usage_error_not_a_violation(faithful_url: str) -> None:
    result = check(faithful_url, "--token", "dub_not_a_real_key", *FAST)
    assert result.returncode == 2, result.output
    assert "the target refuses the token: HTTP 401" in result.stderr
    assert not result.lines("FAIL")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--help"]) == 0
    assert "--junit-xml" in capsys.readouterr().out


def test_dub_mock_check_command_dispatches_to_the_runner(faithful_url: str) -> None:
    argv = [sys.executable, "-m", "mockserver", "check", "--base-url", faithful_url]
    result = run([*argv, *TOKEN, *FAST])
    assert result.returncode == 0, result.output
    assert "OK: the target keeps the contract" in result.stdout
