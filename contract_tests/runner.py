"""`dub-mock check`: run the contract suite against a URL and say plainly what broke.

    dub-mock check --base-url https://staging.example.com --token "$DUB_TOKEN" \\
        --customer-external-id user_42 --click-id clk_abc --junit-xml dub-check.xml

It runs the same pytest suite as `pytest --pyargs contract_tests`, in this process, isolated from
any pytest configuration in the current directory, and prints one line per check, then each
failure with the broken rule, the request as a curl command and the answer.
Exit codes: 0 the target conforms, 1 a check failed, 2 a usage or connection error.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest

from contract_tests.areas import AREAS, marker_expression, parse_areas
from contract_tests.properties import DEFAULT_MAX_EXAMPLES
from contract_tests.rules import ContractViolation

OK, VIOLATION, USAGE = 0, 1, 2
PACKAGE_DIR = Path(__file__).resolve().parent
FAILURE_TAIL_LINES = 40


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dub-mock check",
        description="Check an implementation of Dub's conversion-tracking API (POST /track/sale, "
        "/track/lead, /track/click, /track/lead/client, /track/sale/client) against the bundled "
        "spec and Dub's behaviour rules. Exit 0: conforms; 1: a check failed; 2: usage or "
        "connection error.",
    )
    parser.add_argument("--base-url", required=True, help="the API's base URL")
    parser.add_argument("--token", required=True, help="a workspace API token (dub_...)")
    parser.add_argument(
        "--customer-external-id",
        help="an existing customer with a lead, for the stateful checks on a server without "
        "dub-mock's admin API",
    )
    parser.add_argument(
        "--click-id", help="an existing click, for the direct-sale, lead and click checks"
    )
    parser.add_argument(
        "--publishable-key",
        help="a publishable key (dub_pk_...) of the token's workspace, for the client-route "
        "checks on a server without dub-mock's admin API (environment: DUB_PUBLISHABLE_KEY)",
    )
    parser.add_argument(
        "--webhook-listen",
        metavar="HOST:PORT",
        help="receive the target's webhooks here: on a dub-mock target the check registers this "
        "receiver itself (default there: a free 127.0.0.1 port); on a real server, point one of "
        "the workspace's webhook endpoints at it and give its --webhook-secret",
    )
    parser.add_argument(
        "--webhook-secret",
        metavar="WHSEC",
        help="the secret of the real workspace's endpoint that --webhook-listen receives for",
    )
    parser.add_argument(
        "--max-examples",
        type=_positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"generated examples per property test (default {DEFAULT_MAX_EXAMPLES})",
    )
    parser.add_argument(
        "--rate", type=_positive_float, help="cap on requests per second (default: no cap)"
    )
    parser.add_argument(
        "--only",
        metavar="AREA[,AREA...]",
        type=_areas,
        help="check only these areas: "
        + "; ".join(f"{area}: {what}" for area, what in AREAS.items())
        + " (default: all). A server that implements POST /track/sale alone: --only sale",
    )
    parser.add_argument(
        "--select",
        metavar="EXPR",
        help="only the checks whose names match EXPR (pytest's -k syntax), e.g. to rerun the one "
        "check that failed: --select test_repeated_invoice_replays_the_first_answer",
    )
    parser.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report here")
    parser.add_argument(
        "--seed", type=int, help="seed for generated requests (default: random, printed)"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _areas(text: str) -> tuple[str, ...]:
    try:
        return parse_areas(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


@dataclass
class CheckResult:
    """One check (one pytest test) and how it ended."""

    nodeid: str
    title: str
    outcome: str = "passed"
    detail: str = ""
    duration: float = 0.0


@dataclass
class Collector:
    """A pytest plugin that keeps each check's outcome and a readable failure text."""

    results: dict[str, CheckResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    requests_sent: int = 0
    note: str = ""

    def _result(self, item_or_report: Any) -> CheckResult:
        nodeid = item_or_report.nodeid
        if nodeid not in self.results:
            self.results[nodeid] = CheckResult(nodeid=nodeid, title=nodeid)
        return self.results[nodeid]

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            function = getattr(item, "function", None)
            inner = getattr(getattr(function, "hypothesis", None), "inner_test", function)
            doc = getattr(inner, "__doc__", None) or ""
            self._result(item).title = doc.strip().splitlines()[0] if doc.strip() else item.name

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Checks of other areas (--only) are not run, so not reported."""
        for item in items:
            self.results.pop(item.nodeid, None)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """`pytest.exit(...)` from the suite (a refused token, an unreachable target)."""
        self.errors.append(str(excinfo.value))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and report.failed:
            report.dub_detail = failure_text(call.excinfo.value, report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self._result(report)
        result.duration += report.duration
        if report.failed:
            result.outcome = "failed"
            detail = getattr(report, "dub_detail", None) or _tail(report.longreprtext)
            if detail not in result.detail:
                result.detail = (result.detail + "\n" + detail).strip()
        elif report.skipped and result.outcome == "passed":
            result.outcome = "skipped"
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            result.detail = reason.removeprefix("Skipped: ")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from contract_tests.conftest import TARGET_KEY

        target = session.config.stash.get(TARGET_KEY, None)
        if target is not None:
            self.requests_sent = target.client.session.pacer.sent
            self.note = target.admin_note


def failure_text(exc: BaseException, report: Any) -> str:
    """The broken rule, the request and the answer; no traceback unless the check itself broke."""
    if isinstance(exc, ContractViolation):
        return exc.render()
    if type(exc).__name__ == "FailureGroup" or isinstance(exc, BaseExceptionGroup):
        return str(getattr(exc, "message", exc)).strip()
    return _tail(report.longreprtext)


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(lines[-FAILURE_TAIL_LINES:])


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line: the installed suite (by path) and only the plugins it needs.

    No configuration file, no plugin autoloading, no cache, no assertion rewriting: whatever
    pytest setup the current directory has cannot change what the check does (or slow it).
    """
    argv = [
        str(PACKAGE_DIR),
        "-c",
        os.devnull,
        "--rootdir",
        str(PACKAGE_DIR),
        "--confcutdir",
        str(PACKAGE_DIR),
        "--disable-plugin-autoload",
        "-p",
        "pytest_plugin.plugin",
        "-p",
        "_hypothesis_pytestplugin",
        "-p",
        "schemathesis.pytest.plugin",
        "--assert=plain",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "-o",
        "junit_suite_name=dub-mock-check",
        "-o",
        "junit_family=xunit2",
        "--dub-base-url",
        args.base_url,
        "--dub-token",
        args.token,
        "--dub-max-examples",
        str(args.max_examples),
        "--dub-seed",
        str(args.seed),
    ]
    if args.customer_external_id:
        argv += ["--dub-customer-external-id", args.customer_external_id]
    if args.click_id:
        argv += ["--dub-click-id", args.click_id]
    if args.publishable_key:
        argv += ["--dub-publishable-key", args.publishable_key]
    if args.rate:
        argv += ["--dub-rate", str(args.rate)]
    if args.webhook_listen:
        argv += ["--dub-webhook-listen", args.webhook_listen]
    if args.webhook_secret:
        argv += ["--dub-webhook-secret", args.webhook_secret]
    if args.only:
        argv += ["-m", marker_expression(args.only)]
    if args.select:
        argv += ["-k", args.select]
    if args.junit_xml:
        argv += ["--junitxml", str(Path(args.junit_xml).resolve())]
    return argv


def preflight(base_url: str) -> str | None:
    """Why the target cannot be checked at all, or None when it answers HTTP."""
    import requests

    if not base_url.startswith(("http://", "https://")):
        return f"--base-url must start with http:// or https://, not {base_url!r}"
    try:
        requests.get(base_url.rstrip("/") + "/__mock/health", timeout=10)
    except requests.RequestException as exc:
        return f"cannot reach {base_url}: {type(exc).__name__}: {exc}"
    return None


def display_name(nodeid: str) -> str:
    """`module::test[params]` from a node id: the file's directories and `.py` dropped (a
    parameter such as `/track/lead/client` keeps its slashes)."""
    path, _, test = nodeid.partition("::")
    return f"{path.rsplit('/', 1)[-1].removesuffix('.py')}::{test}"


def render(
    collector: Collector, args: argparse.Namespace, elapsed: float, out: TextIO
) -> tuple[int, int, int]:
    """Print the per-check lines and the failures; return (passed, failed, skipped)."""
    marks = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for result in collector.results.values():
        counts[result.outcome] += 1
        name = display_name(result.nodeid)
        line = f"{marks[result.outcome]}  {name}  {result.title}"
        if result.outcome == "skipped":
            line += f"\n      skipped: {result.detail}"
        print(line, file=out)
    failed = [r for r in collector.results.values() if r.outcome == "failed"]
    if failed:
        print("\nFailures\n========", file=out)
        for number, result in enumerate(failed, 1):
            name = display_name(result.nodeid)
            print(f"\n[{number}] {name}\n    {result.title}", file=out)
            print("\n".join("    " + line for line in result.detail.splitlines()), file=out)
    summary = (
        f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"in {elapsed:.1f}s; {collector.requests_sent} requests sent; seed {args.seed} "
        f"(rerun with --seed {args.seed})"
    )
    print(summary, file=out)
    return counts["passed"], counts["failed"], counts["skipped"]


def main(argv: list[str]) -> int:
    """Parse `argv` (without the program name), run the suite, return the exit code."""
    out = sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, bad usage is 2
        return int(exc.code) if isinstance(exc.code, int) else USAGE
    if args.seed is None:
        args.seed = random.randrange(2**31)
    problem = preflight(args.base_url)
    if problem is not None:
        print(f"dub-mock check: error: {problem}", file=sys.stderr)
        return USAGE
    areas = f"; only {', '.join(args.only)}" if args.only else ""
    print(f"dub-mock check: {args.base_url} (max examples {args.max_examples}{areas})", file=out)
    collector = Collector()
    started = time.monotonic()
    code = pytest.main(pytest_args(args), plugins=[collector])
    if collector.errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        for error in collector.errors or [f"the suite could not run (pytest exit {int(code)})"]:
            print(f"dub-mock check: error: {error}", file=sys.stderr)
        return USAGE
    if collector.note:
        print(collector.note, file=out)
    _, failed, _ = render(collector, args, time.monotonic() - started, out)
    if args.junit_xml:
        print(f"JUnit report: {args.junit_xml}", file=out)
    if failed:
        print(f"FAILED: {failed} check(s) found the target breaking the contract", file=out)
        return VIOLATION
    print("OK: the target keeps the contract", file=out)
    return OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
