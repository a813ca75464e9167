"""`pytest --pyargs contract_tests`: the same verdicts through plain pytest."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from broken.faults_logic import UnknownCustomer404
from broken.serve import serving

from mockserver import create_app

from .support import pytest_suite, run
from .targets import NoAdminApi

REPO = Path(__file__).resolve().parents[2]
TARGET = ("--dub-token", "dub_mock_key", "--dub-max-examples", "5", "--dub-seed", "3")


def test_suite_fails_a_broken_target_through_pytest() -> None:
    with serving(UnknownCustomer404(create_app(quiet=True))) as url:
        # From the repository, so its `filterwarnings = error` applies to the suite too.
        result = pytest_suite("--dub-base-url", url, *TARGET, cwd=REPO)
    assert result.returncode == 1, result.output
    assert "test_unknown_customer_answers_nulls" in result.stdout
    assert "broken rule: Rule 15" in result.stdout


def test_suite_passes_the_faithful_mock_through_pytest(faithful_url: str) -> None:
    """The target from the environment, as a CI job may set it (DUB_BASE_URL, DUB_TOKEN)."""
    env = {"DUB_BASE_URL": faithful_url, "DUB_TOKEN": "dub_mock_key"}
    argv = [sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "-q"]
    result = run([*argv, "--dub-max-examples", "5", "--dub-seed", "3"], cwd=REPO, env=env)
    assert result.returncode == 0, result.output
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_without_a_base_url_the_suite_serves_its_own_mock(tmp_path: Path) -> None:
    result = pytest_suite("--dub-max-examples", "5", "-rs", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "skipped" not in result.stdout  # its own mock has the admin API: nothing skipped


def test_publishable_key_from_the_environment(tmp_path: Path) -> None:
    """DUB_PUBLISHABLE_KEY gives a real server's key to the client-route checks."""
    target = NoAdminApi(create_app(quiet=True))
    key = target.seed("publishable-keys", {})["key"]
    with serving(target) as url:
        env = {"DUB_BASE_URL": url, "DUB_TOKEN": "dub_mock_key", "DUB_PUBLISHABLE_KEY": key}
        argv = [sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "-q", "-rs"]
        result = run([*argv, "-m", "contract_client", *TARGET[2:]], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.output
    assert "passed" in result.stdout
    assert "DUB_PUBLISHABLE_KEY" not in result.stdout  # no check skipped for want of the key


def test_a_base_url_without_a_token_is_a_usage_error(faithful_url: str, tmp_path: Path) -> None:
    result = pytest_suite("--dub-base-url", faithful_url, "-k", "test_routing", cwd=tmp_path)
    assert result.returncode == 4, result.output
    assert "--dub-token is required" in result.output


def test_rate_caps_requests_per_second(tmp_path: Path) -> None:
    app = create_app(quiet=True)
    with serving(app) as url:
        result = pytest_suite(
            "--dub-base-url", url, "--dub-token", "dub_mock_key", "--dub-rate", "8",
            "-k", "test_auth and not plan and not role", cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.output
    times = sorted(entry["time"] for entry in app.store.requests())
    assert len(times) >= 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.1, gaps  # 8 per second: 0.125 s apart, with slack for clocks
