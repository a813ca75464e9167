"""CORS: Dub's own fixed headers on the browser routes, and the mock's convenience CORS for
browser clients of the secret-key routes (on by default, preflights answered; `--no-cors`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

EXPOSED = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"


#: What Dub answers on /track/click and the publishable-key routes, errors and OPTIONS included.
BROWSER_ROUTE_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
]


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
