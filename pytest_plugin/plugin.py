"""The dub-mock pytest plugin, loaded through the ``pytest11`` entry point ``dub_mock``.

    def test_checkout_records_sale(dub_mock):
        dub_mock.add_customer("user_42")
        my_app.checkout(user="user_42", dub_url=dub_mock.url, dub_token=dub_mock.token)
        assert [s["amount"] for s in dub_mock.sales] == [4900]

One mock per test session (per xdist worker: each worker is its own session), started on first
use on a free 127.0.0.1 port and reset before every test. When a test fails, its report gains a
"dub-mock journal" section with every request the code under test sent and what it got back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from . import options
from .handle import DubMock, DubMockApp
from .markers import MARKER_HELP, MarkerError, read_marker
from .pool import MockPool
from .records import format_journal
from .webhooks import DubWebhooks

if TYPE_CHECKING:
    from mockserver import Settings

HANDLES = pytest.StashKey[list[DubMock]]()
RECEIVERS = pytest.StashKey[list[DubWebhooks]]()
JOURNAL_INI = "dub_mock_journal_max"


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)
    parser.addini(
        JOURNAL_INI,
        "newest journal entries shown in a failing test's dub-mock journal section (default 50)",
        default="50",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    options.apply_environment(config)
    config.addinivalue_line("markers", MARKER_HELP)


def pytest_report_header(config: pytest.Config) -> list[str]:
    base_url = config.getoption("dub_base_url")
    target = f", contract target {base_url}" if base_url else ""
    return [f"dub-mock: fixtures dub_mock, dub_mock_app, dub_client, dub_webhooks{target}"]


@pytest.fixture(scope="session")
def dub_mock_settings() -> Mapping[str, Any] | Settings:
    """Settings for the session's mocks: ``mockserver.Settings`` field overrides, or a Settings.

    Override it in a conftest.py, e.g. ``return {"tokens": ("dub_second",)}``; the default is
    the mock's own defaults, quiet. A file-backed state such as ``sqlite:///mock.db`` is shared
    by every process that opens it: under xdist, name one file per worker (``worker_id``).
    """
    return {}


@pytest.fixture(scope="session")
def _dub_mock_pool(dub_mock_settings: Mapping[str, Any] | Settings) -> Iterator[MockPool]:
    pool = MockPool(dub_mock_settings)
    yield pool
    pool.close()


def _marker_config(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return read_marker(request.node)
    except MarkerError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except: no "During handling..." echo


def _track(request: pytest.FixtureRequest, handle: DubMock) -> None:
    """Remember the handle so a failing report can show its journal."""
    request.node.stash.setdefault(HANDLES, []).append(handle)


@pytest.fixture
def dub_mock(request: pytest.FixtureRequest, _dub_mock_pool: MockPool) -> DubMock:
    """A live Dub mock on 127.0.0.1, reset for this test: ``.url``, ``.token``, ``.add_customer()``,
    ``.add_link(domain=, key=, url=)``, ``.add_click()``, ``.add_publishable_key()``,
    ``.allow_hostnames()``, ``.add_token()``, ``.set_fx_rate()``, ``.fail_next()``,
    ``.add_webhook()``, ``.redeliver()``, ``.send_test_webhook()``, ``.sales``, ``.leads``,
    ``.clicks``, ``.customers``, ``.webhooks``, ``.webhook_events``, ``.webhook_deliveries``,
    ``.requests``, ``.reset()``. Configure one test with
    ``@pytest.mark.dub_mock(plan=, role=, rate_limit_per_minute=, latency_ms=, seed=,
    allowed_hostnames=)``.
    """
    server, state = _marker_config(request)
    handle = _dub_mock_pool.live(server)
    handle.begin_test(state)
    _track(request, handle)
    return handle


@pytest.fixture
def dub_mock_app(request: pytest.FixtureRequest, _dub_mock_pool: MockPool) -> DubMockApp:
    """The ``dub_mock`` helpers around an in-process WSGI app, no socket: ``.app`` for any WSGI
    test client, ``.client`` (a ``werkzeug.test.Client``), ``.post_sale(body)``,
    ``.post_lead(body)``, ``.post_click(body)``."""
    server, state = _marker_config(request)
    handle = _dub_mock_pool.app(server)
    handle.begin_test(state)
    _track(request, handle)
    return handle


@pytest.fixture
def dub_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The official ``dub`` SDK client, ``Dub(token=..., server_url=...)``, bound to ``dub_mock``:
    ``track.lead(...)`` and ``track.sale(...)`` answer typed models, errors raise the SDK's
    typed error classes.

    Skipped when the SDK is not installed (``pip install 'dub-mock[sdk]'``).
    """
    try:
        from dub import Dub
    except ImportError as exc:
        pytest.skip(
            f"dub_client needs the official Dub SDK, which is not importable ({exc}); "
            "install it with: pip install 'dub-mock[sdk]'"
        )
    mock: DubMock = request.getfixturevalue("dub_mock")
    with Dub(token=mock.token, server_url=mock.url) as client:
        yield client


@pytest.fixture
def dub_webhooks(request: pytest.FixtureRequest) -> Iterator[DubWebhooks]:
    """A webhook receiver on a free 127.0.0.1 port, registered for this test with every
    trigger and a fast retry schedule (50 ms, 200 ms, 1 s): ``.url``, ``.secret``, ``.webhook``,
    ``.events`` (verified payloads, oldest first), ``.wait_for("sale.created", timeout=5)``,
    ``.answer_next(500, 500)``, ``.deliveries``.

    Registered with ``dub_mock_app`` when the test uses that fixture and not ``dub_mock``, else
    with ``dub_mock``. A delivery whose ``Dub-Signature`` does not verify fails the test, naming
    it. The endpoint survives the test's own ``reset()``; the next test starts without it.
    """
    handle = _webhook_mock(request)
    receiver = DubWebhooks(handle).start()
    try:
        receiver.register()
    except BaseException:
        receiver.close()
        raise
    request.node.stash.setdefault(RECEIVERS, []).append(receiver)
    yield receiver
    try:
        problem = receiver.signature_problem()  # what arrived after the test body, if any
    finally:
        receiver.close()
    if problem:
        pytest.fail(problem, pytrace=False)


def _webhook_mock(request: pytest.FixtureRequest) -> DubMock:
    names = request.fixturenames
    name = "dub_mock_app" if "dub_mock_app" in names and "dub_mock" not in names else "dub_mock"
    mock: DubMock = request.getfixturevalue(name)
    return mock


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A test that passed fails when ``dub_webhooks`` got a delivery that did not verify."""
    result = yield
    for receiver in item.stash.get(RECEIVERS, ()):
        problem = receiver.signature_problem()
        if problem:
            pytest.fail(problem, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    handles = item.stash.get(HANDLES, None)
    if handles and report.failed and report.when in {"setup", "call"}:
        limit = _journal_limit(item.config)
        for handle in handles:
            report.sections.append((f"dub-mock journal ({handle.kind})", _journal(handle, limit)))
    if report.when == "teardown":
        if handles:
            del item.stash[HANDLES]
        if RECEIVERS in item.stash:
            del item.stash[RECEIVERS]
    return report


def _journal_limit(config: pytest.Config) -> int:
    try:
        return max(1, int(config.getini(JOURNAL_INI)))
    except ValueError:
        return 50


def _journal(handle: DubMock, limit: int) -> str:
    try:
        entries = handle.requests
    except Exception as exc:  # the server may be what broke; say so instead of hiding the failure
        return f"(could not read the journal from {handle.url}: {exc!r})"
    hidden = len(entries) - limit
    text = format_journal(entries[-limit:])
    if hidden > 0:
        text = f"({hidden} earlier request(s) not shown; see {JOURNAL_INI})\n{text}"
    return text
