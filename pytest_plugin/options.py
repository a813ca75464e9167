"""Command-line options shared by the plugin and the contract suite.

Each option can also come from an environment variable, so CI can point the suite at a
server without editing the command line: the flag wins, then the variable, then the default.
Read them anywhere with ``request.config.getoption("dub_base_url")`` and friends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

GROUP = "dub-mock"


@dataclass(frozen=True)
class Option:
    """One ``--dub-*`` flag, its ``dest``, its environment variable and its value type."""

    flag: str
    dest: str
    env: str
    type: Callable[[str], Any]
    help: str


OPTIONS: tuple[Option, ...] = (
    Option(
        "--dub-base-url",
        "dub_base_url",
        "DUB_BASE_URL",
        str,
        "base URL of the Dub API (real or mock) the contract suite targets; "
        "without it the suite runs against an in-process mock",
    ),
    Option("--dub-token", "dub_token", "DUB_TOKEN", str, "API token for --dub-base-url"),
    Option(
        "--dub-customer-external-id",
        "dub_customer_external_id",
        "DUB_CUSTOMER_EXTERNAL_ID",
        str,
        "external id of an existing customer with a lead, for stateful checks on a real server",
    ),
    Option(
        "--dub-click-id",
        "dub_click_id",
        "DUB_CLICK_ID",
        str,
        "id of an existing click, for direct-sale checks on a real server",
    ),
    Option(
        "--dub-publishable-key",
        "dub_publishable_key",
        "DUB_PUBLISHABLE_KEY",
        str,
        "a publishable key (dub_pk_...) of the token's workspace, for the client-route checks "
        "on a real server",
    ),
    Option(
        "--dub-webhook-listen",
        "dub_webhook_listen",
        "DUB_WEBHOOK_LISTEN",
        str,
        "HOST:PORT where the contract suite receives the target's webhooks (a dub-mock target: "
        "the suite registers it; a real one: an endpoint of the workspace must point there)",
    ),
    Option(
        "--dub-webhook-secret",
        "dub_webhook_secret",
        "DUB_WEBHOOK_SECRET",
        str,
        "the secret (whsec_...) of the real workspace's endpoint that --dub-webhook-listen "
        "receives for",
    ),
    Option(
        "--dub-max-examples",
        "dub_max_examples",
        "DUB_MAX_EXAMPLES",
        int,
        "examples per generated contract test",
    ),
    Option("--dub-seed", "dub_seed", "DUB_SEED", int, "seed for generated contract tests"),
    Option(
        "--dub-rate",
        "dub_rate",
        "DUB_RATE",
        float,
        "cap on requests per second sent to the target",
    ),
)


def addoptions(parser: pytest.Parser) -> None:
    """Register the ``dub-mock`` option group; defaults are filled from the environment later."""
    group = parser.getgroup(GROUP, "dub-mock: the Dub mock and contract suite")
    for opt in OPTIONS:
        group.addoption(
            opt.flag,
            dest=opt.dest,
            type=opt.type,
            default=None,
            metavar=opt.env,
            help=f"{opt.help} (environment: {opt.env})",
        )


def apply_environment(config: pytest.Config, environ: dict[str, str] | None = None) -> None:
    """Fill each option left unset on the command line from its environment variable.

    Done in ``pytest_configure`` rather than as an argparse default so that a malformed variable
    is reported as a usage error naming the variable, not as a crash at option parsing.
    """
    env = os.environ if environ is None else environ
    for opt in OPTIONS:
        if getattr(config.option, opt.dest, None) is not None:
            continue
        raw = env.get(opt.env, "").strip()
        if not raw:
            continue
        try:
            value = opt.type(raw)
        except ValueError:
            kind = "an integer" if opt.type is int else "a number"
            raise pytest.UsageError(
                f"environment variable {opt.env}={raw!r} is not {kind} (it sets {opt.flag})"
            ) from None
        setattr(config.option, opt.dest, value)
