"""What the mock promises about exposure and secrets, checked on a served process.

Loopback by default (a warning otherwise), `--admin-token` guarding the control plane, API and
admin tokens kept out of the request log and the journal, bodies over the limit refused before
they are read whole, and no file written anywhere but the state file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from mockserver import MockServer, Settings
from mockserver.cli import build_parser

from .rawhttp import assert_envelope, exchange, http_request
from .support import AUTH, Served, request

pytestmark = pytest.mark.slow

ADMIN = "adm_secret_4f9c2e"
EXTRA = "dub_secret_extra_81d3"
TYPO = "dub_secret_typo_77aa"
ADMIN_CALLS = [
    ("POST", "/__mock/reset", None), ("GET", "/__mock/state", None),
    ("POST", "/__mock/workspaces", {"id": "ws_x"}), ("POST", "/__mock/tokens", {"token": "dub_x"}),
    ("POST", "/__mock/links", {}), ("POST", "/__mock/clicks", {}),
    ("POST", "/__mock/customers", {"externalId": "x"}),
    ("POST", "/__mock/leads", {"customerExternalId": "x", "eventName": "e"}),
    ("PUT", "/__mock/fx-rates", {"EUR": 1.0}), ("GET", "/__mock/fx-rates", None),
    ("POST", "/__mock/faults", {"status": 500}), ("GET", "/__mock/requests", None),
]  # fmt: skip


def listening_addresses(pid: int) -> set[str]:
    """Every address a process tree listens on (the main process and its workers)."""
    root = psutil.Process(pid)
    found = set()
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                found.add(conn.laddr.ip)
    return found


def test_loopback_is_the_default_everywhere(workdir: Path) -> None:
    assert Settings().host == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    with MockServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
    served = Served(["--quiet"], workdir).start()
    try:
        assert served.proc is not None
        assert listening_addresses(served.proc.pid) == {"127.0.0.1"}
        assert "warning" not in served.log().lower()
    finally:
        served.stop()


def test_binding_beyond_localhost_prints_a_warning(workdir: Path) -> None:
    # 127.0.0.2 is still this machine, but it is not one of the names the mock treats as local.
    served = Served(["--host", "127.0.0.2", "--quiet"], workdir).start()
    try:
        assert served.proc is not None
        assert listening_addresses(served.proc.pid) == {"127.0.0.2"}
        assert "warning: binding 127.0.0.2 exposes the mock beyond this machine" in served.log()
    finally:
        served.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A served mock, not quiet, with an extra API token and an admin token."""
    workdir = tmp_path_factory.mktemp("guarded")
    served = Served(
        ["--state", f"sqlite:///{workdir}/state.db", "--token", EXTRA, "--admin-token", ADMIN,
         "--max-body", "1000"],
        workdir,
    ).start()  # fmt: skip
    yield served
    served.stop()


def admin_headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=[c[1] for c in ADMIN_CALLS])
@pytest.mark.parametrize("token", [None, "wrong", EXTRA, "dub_mock_key"], ids=str)
def test_the_admin_token_guards_every_admin_call(
    guarded: Served, method: str, path: str, body: object, token: str | None
) -> None:
    before = request(guarded.url, "GET", "/__mock/state", headers=admin_headers(ADMIN))
    status, answer = request(guarded.url, method, path, body, headers=admin_headers(token))
    assert status == 401, answer
    assert answer["error"]["code"] == "unauthorized"
    assert request(guarded.url, "GET", "/__mock/state", headers=admin_headers(ADMIN)) == before


def test_health_stays_open_and_the_right_token_opens_the_rest(guarded: Served) -> None:
    assert request(guarded.url, "GET", "/__mock/health")[0] == 200
    status, _ = request(guarded.url, "GET", "/__mock/state", headers=admin_headers(ADMIN))
    assert status == 200
    # The admin token is no API key.
    status, answer = request(
        guarded.url, "POST", "/track/sale", {"customerExternalId": "x", "amount": 1},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )  # fmt: skip
    assert status == 404 and answer["error"]["code"] == "not_found"  # not a dub_ key (rule 3)


def test_tokens_stay_out_of_the_request_log_and_the_journal(guarded: Served) -> None:
    banner_end = len(guarded.log())
    for token in (EXTRA, TYPO, "dub_mock_key"):
        request(
            guarded.url, "POST", f"/track/sale?note={token[:3]}",
            {"customerExternalId": "nobody", "amount": 5},
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
    request(guarded.url, "POST", "/track/sale", b"{", headers={"Authorization": TYPO})
    request(guarded.url, "GET", "/__mock/state", headers=admin_headers("wrong-" + ADMIN))
    status, journal = request(guarded.url, "GET", "/__mock/requests", headers=admin_headers(ADMIN))
    assert status == 200 and len(journal) >= 4
    _, snapshot = request(guarded.url, "GET", "/__mock/state", headers=admin_headers(ADMIN))
    # The log is on, and has every request above.
    guarded.log_after(banner_end, "/track/sale", 4)
    request_log = guarded.log_after(banner_end, "/__mock/requests", 1)
    for secret in (EXTRA, TYPO, ADMIN, "dub_mock_key"):
        assert secret not in json.dumps(journal), secret
        assert secret not in request_log, secret
        assert secret not in json.dumps(snapshot), secret
    assert ADMIN not in guarded.log()  # not even in the banner


@pytest.mark.parametrize(
    "size, status", [(1000, 200), (1001, 413)], ids=["at-the-limit", "one-over"]
)
def test_the_body_limit_is_exact(guarded: Served, size: int, status: int) -> None:
    base = json.dumps({"customerExternalId": "nobody", "amount": 5}).encode()
    body = base[:-1] + b" " * (size - len(base)) + b"}"  # JSON whitespace up to the size
    assert len(body) == size
    answer = exchange(
        guarded.port,
        http_request(b"POST", b"/track/sale", [(b"Authorization", b"Bearer dub_mock_key")], body),
    )
    assert answer is not None and answer.status == status, answer
    if status == 413:
        assert_envelope(answer, "payload_too_large")


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_nothing_is_written_outside_the_state_file(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    cwd, home, tmp, data, logs = (
        tmp_path / name for name in ("cwd", "home", "tmp", "data", "logs")
    )
    for folder in (cwd, home, tmp, data, logs):
        folder.mkdir()
    seed = logs / "seed.json"
    seed.write_text(json.dumps({"customers": [{"externalId": "buyer"}]}), encoding="utf-8")
    state = (
        f"sqlite:///{data}/state.db" if store == "sqlite" else request.getfixturevalue("redis_url")
    )
    served = Served(
        ["--state", state, "--seed", str(seed), "--workers", "2"],
        cwd,
        env={"HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache")},
        logdir=logs,
    ).start()
    try:
        sale = {"customerExternalId": "buyer", "amount": 100, "invoiceId": "I-1"}
        for _ in range(3):
            assert request_ok(served.url, "POST", "/track/sale", sale)
        request_ok(served.url, "POST", "/__mock/customers", {"externalId": "other"})
        request_ok(served.url, "PUT", "/__mock/fx-rates", {"EUR": 0.5})
        request_ok(served.url, "GET", "/__mock/requests")
        request_ok(served.url, "POST", "/__mock/reset")
        exchange(served.port, http_request(b"POST", b"/track/sale", [], b"x" * 2_000_000))
    finally:
        served.stop()
    assert files_under(cwd) == set()
    assert files_under(home) == set()
    assert files_under(tmp) == set()
    expected = {"state.db", "state.db-wal", "state.db-shm"} if store == "sqlite" else set()
    assert files_under(data) <= expected and ("state.db" in files_under(data)) == (
        store == "sqlite"
    )


def request_ok(url: str, method: str, path: str, body: object = None) -> bool:
    status, answer = request(url, method, path, body, headers=AUTH)
    assert status < 300, answer
    return True
