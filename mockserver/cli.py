"""`dub-mock serve | check | spec`: one thin function per verb over the same Settings."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from . import __version__
from .errors import DubMockError
from .models import IdFactory
from .settings import DEFAULT_MAX_BODY, DEFAULT_TOKEN, Settings, parse_latency

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dub-mock",
        description="A stateful mock of Dub's conversion-tracking API: clicks, leads and sales.",
    )
    parser.add_argument("--version", action="version", version=f"dub-mock {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True)

    serve = verbs.add_parser("serve", help="run the mock server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    serve.add_argument(
        "--state", default="memory://", help="memory:// | sqlite:///file.db | redis://host:port/db"
    )
    serve.add_argument("--seed", metavar="FILE", help="YAML or JSON file of start objects")
    serve.add_argument(
        "--token", action="append", default=[], metavar="TOKEN",
        help="extra API token for the default workspace (repeatable)",
    )  # fmt: skip
    serve.add_argument("--workers", type=int, default=1, help="worker processes (shared state)")
    serve.add_argument("--latency", metavar="MS|MIN-MAX", help="added delay per API request")
    serve.add_argument("--no-cors", action="store_true", help="turn CORS off")
    serve.add_argument("--no-rate-limit", action="store_true", help="turn rate limits off")
    serve.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES",
        help=f"largest accepted request body (default {DEFAULT_MAX_BODY})",
    )  # fmt: skip
    serve.add_argument("--admin-token", metavar="T", help="require Bearer T on /__mock/*")
    serve.add_argument("--quiet", action="store_true", help="no per-request log line")
    serve.add_argument(
        "--webhook", action="append", default=[], metavar="URL",
        help="send every webhook of the default workspace to URL (repeatable)",
    )  # fmt: skip
    serve.add_argument(
        "--webhook-secret", metavar="S", help="the --webhook endpoints' secret (default: random)"
    )

    # `check` has its own parser in contract_tests.runner; listed here for `dub-mock --help`.
    verbs.add_parser("check", help="check an implementation against the contract", add_help=False)

    spec = verbs.add_parser("spec", help="print the bundled OpenAPI spec (every operation)")
    spec.add_argument("--path", action="store_true", help="print its files' paths instead")
    return parser


def serve_settings(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        state=args.state,
        seed=args.seed,
        tokens=tuple(args.token),
        workers=args.workers,
        latency_ms=parse_latency(args.latency) if args.latency else None,
        cors=not args.no_cors,
        rate_limit=not args.no_rate_limit,
        max_body=args.max_body,
        admin_token=args.admin_token,
        quiet=args.quiet,
        webhooks=tuple(args.webhook),
        webhook_secret=args.webhook_secret,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """Settings as DUB_MOCK_* variables, the way they reach `rsgi.serve_target` in each worker."""
    env = {
        "DUB_MOCK_STATE": settings.state,
        "DUB_MOCK_TOKENS": ",".join(settings.tokens),
        "DUB_MOCK_CORS": str(settings.cors),
        "DUB_MOCK_RATE_LIMIT": str(settings.rate_limit),
        "DUB_MOCK_MAX_BODY": str(settings.max_body),
        "DUB_MOCK_QUIET": str(settings.quiet),
        "DUB_MOCK_WORKERS": str(settings.workers),
    }
    if settings.seed:
        env["DUB_MOCK_SEED"] = os.path.abspath(settings.seed)
    if settings.webhooks:
        env["DUB_MOCK_WEBHOOKS"] = ",".join(settings.webhooks)
    if settings.webhook_secret:
        env["DUB_MOCK_WEBHOOK_SECRET"] = settings.webhook_secret
    if settings.admin_token:
        env["DUB_MOCK_ADMIN_TOKEN"] = settings.admin_token
    if settings.latency_ms:
        env["DUB_MOCK_LATENCY_MS"] = "{}-{}".format(*settings.latency_ms)
    if settings.spec_path:
        env["DUB_MOCK_SPEC_PATH"] = settings.spec_path
    return env


def banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}"
    tokens = ", ".join((DEFAULT_TOKEN, *settings.tokens))
    lines = [
        f"dub-mock {__version__} serving Dub's /track/click, /track/lead and /track/sale",
        f"  URL:     {url}",
        f"  browser: {url}/ (the dashboard: requests, funnel and webhooks, live)",
        f"  state:   {settings.state}",
        f"  tokens:  {tokens}" + (" (and the seed file's)" if settings.seed else ""),
        f"  admin:   {url}/__mock/state"
        + (" (needs --admin-token)" if settings.admin_token else ""),
        f"  workers: {settings.workers}; rate limits {'on' if settings.rate_limit else 'off'}; "
        f"CORS {'on' if settings.cors else 'off'}",
        *(f"  webhook: {url} (secret {settings.webhook_secret})" for url in settings.webhooks),
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def serve(settings: Settings) -> int:
    """Check the settings in this process (fail fast), then hand the app to granian."""
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    from .app import create_app

    if settings.webhooks and not settings.webhook_secret:  # one secret for every worker
        settings = settings.with_overrides(webhook_secret=IdFactory().webhook_secret())
    create_app(settings).close()  # validates spec, seed and store before any worker starts
    if settings.host not in LOOPBACK:
        print(
            f"warning: binding {settings.host} exposes the mock beyond this machine",
            file=sys.stderr,
        )
    os.environ.update(settings_env(settings))
    print(banner(settings), file=sys.stderr, flush=True)
    server = Server(
        "mockserver.rsgi:serve_target",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop if importlib.util.find_spec("uvloop") else Loops.asyncio,
        workers=settings.workers,
        log_level="error",  # type: ignore[arg-type]
        log_access=False,
        websockets=False,
    )
    server.serve()
    return 0


def print_spec(paths_only: bool) -> int:
    """The bundled spec as one document (both files merged), or the files' paths."""
    from .spec import bundled_document, bundled_spec_paths

    if paths_only:
        print("\n".join(str(path) for path in bundled_spec_paths()))
        return 0
    import yaml

    print(yaml.safe_dump(bundled_document(), sort_keys=False, allow_unicode=True), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["check"]:
        runner = importlib.import_module("contract_tests.runner")
        return int(runner.main(arguments[1:]))
    parser = build_parser()
    args = parser.parse_args(arguments)
    try:
        if args.verb == "serve":
            return serve(serve_settings(args))
        if args.verb == "spec":
            return print_spec(args.path)
    except DubMockError as exc:
        print(f"dub-mock: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    parser.error(f"unknown verb {args.verb}")
    return 2
