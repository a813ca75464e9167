"""CORS for browser clients of a local mock: on by default, preflights answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

EXPOSED = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"


def is_preflight(environ: WSGIEnvironment) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ORIGIN" in environ
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


def preflight_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "Authorization, Content-Type")
    return [
        ("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
        ("Access-Control-Allow-Methods", ALLOWED_METHODS),
        ("Access-Control-Allow-Headers", requested),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]


def response_headers(origin: str) -> list[tuple[str, str]]:
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Expose-Headers", EXPOSED),
        ("Vary", "Origin"),
    ]
