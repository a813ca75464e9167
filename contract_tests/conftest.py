"""Fixtures of the contract suite: the target, its client, and the schemathesis schema.

Options come from the dub-mock pytest plugin (`--dub-base-url`, `--dub-token`, ...). Without
`--dub-base-url` the suite serves its own dub-mock on a free 127.0.0.1 port and checks that.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contract_tests.areas import AREAS, areas_of, register
from contract_tests.client import DubClient, PacedSession, Pacer
from contract_tests.properties import DEFAULT_MAX_EXAMPLES, build_schema
from contract_tests.target import HOSTNAMES_MESSAGE, Target, probe_admin

DEFAULT_MOCK_TOKEN = "dub_mock_key"
USAGE_ERROR = 4  # pytest's own exit code for a usage error
TARGET_KEY = pytest.StashKey[Target]()


def pytest_configure(config: pytest.Config) -> None:
    register(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every check belongs to exactly one area (contract_tests.areas), or --only would lose it."""
    for item in items:
        if len(areas_of(item)) != 1:
            raise pytest.UsageError(
                f"{item.nodeid} must carry exactly one area mark of {', '.join(AREAS)}"
            )


def _option(config: pytest.Config, name: str) -> Any:
    try:
        return config.getoption(name)
    except ValueError:  # the dub-mock plugin is not loaded
        return None


@pytest.fixture(scope="session")
def dub_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The implementation under test, probed once per session."""
    config = request.config
    base_url = _option(config, "dub_base_url")
    token = _option(config, "dub_token")
    pacer = Pacer(rate=_option(config, "dub_rate"))
    session = PacedSession(pacer)
    server = None
    if not base_url:
        from mockserver import MockServer

        server = MockServer(quiet=True).start()
        base_url = server.url
        token = token or DEFAULT_MOCK_TOKEN
    elif not token:
        pytest.exit("--dub-token is required with --dub-base-url", returncode=USAGE_ERROR)
    try:
        yield _probe_target(config, str(base_url).rstrip("/"), str(token), session)
    finally:
        session.close()
        if server is not None:
            server.stop()


def _probe_target(
    config: pytest.Config, base_url: str, token: str, session: PacedSession
) -> Target:
    """The target, its admin API if any, and a token it accepts; else a usage error."""
    try:
        admin, note = probe_admin(base_url, session)
    except ConnectionError as exc:
        pytest.exit(str(exc), returncode=USAGE_ERROR)
    target = Target(
        base_url=base_url,
        token=token,
        client=DubClient(base_url, token, session),
        admin=admin,
        admin_note=note,
        customer_external_id=_option(config, "dub_customer_external_id"),
        click_id=_option(config, "dub_click_id"),
        publishable_key=_option(config, "dub_publishable_key"),
    )
    if target.publishable_key:
        target.client.publishable_keys = (target.publishable_key,)
    refusal = _token_refusal(target) or _publishable_key_refusal(target)
    if refusal is not None:
        pytest.exit(refusal, returncode=USAGE_ERROR)
    config.stash[TARGET_KEY] = target
    return target


def _token_refusal(target: Target) -> str | None:
    """Why the target refuses the suite's token outright (then no check can say anything)."""
    answer = target.client.sale({"customerExternalId": target.unique("probe"), "amount": 1})
    if answer.status in (401, 403) or (
        answer.status == 404 and "Workspace ID" in answer.body.decode("utf-8", "replace")
    ):
        message = answer.error.get("message") or answer.body[:200].decode("utf-8", "replace")
        return (
            f"the target refuses the token: HTTP {answer.status} {message!r}. Use a workspace "
            "token (dub_...) with role owner or member, on a business plan or higher."
        )
    return None


def _publishable_key_refusal(target: Target) -> str | None:
    """Why the target refuses the publishable key given on the command line, if it does."""
    if not target.publishable_key:
        return None
    body = {"customerExternalId": target.unique("probe"), "amount": 1}
    answer = target.client.sale_client(body, key=target.publishable_key)
    if answer.status in (400, 401) or (
        answer.status == 403 and HOSTNAMES_MESSAGE not in answer.body.decode("utf-8", "replace")
    ):
        message = answer.error.get("message") or answer.body[:200].decode("utf-8", "replace")
        return (
            f"the target refuses the publishable key: HTTP {answer.status} {message!r}. Use a "
            "publishable key (dub_pk_...) of the token's workspace, on a business plan or higher."
        )
    return None


@pytest.fixture
def dub(dub_target: Target) -> Target:
    """The target, per test (a short alias the scenarios use)."""
    return dub_target


@pytest.fixture(scope="session")
def dub_schema(request: pytest.FixtureRequest, dub_target: Target) -> Any:
    """The bundled spec as a schemathesis schema aimed at the target."""
    max_examples = _option(request.config, "dub_max_examples") or DEFAULT_MAX_EXAMPLES
    return build_schema(
        dub_target.base_url, max_examples=max_examples, seed=_option(request.config, "dub_seed")
    )


@pytest.fixture
def schemathesis_node_compat(request: pytest.FixtureRequest) -> None:
    """schemathesis's lazy schemas read `node._nodeid`, which pytest 9 no longer has."""
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        node._nodeid = node.nodeid
