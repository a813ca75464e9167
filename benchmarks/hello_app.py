"""The hello-world limit: the smallest WSGI app, served by granian exactly as the mock is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"eventName":"Purchase","customer":null,"sale":null}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read the body (as the mock must) and answer a fixed 200."""
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        stream.read(length)
    start_response("200 OK", HEADERS)
    return [BODY]
