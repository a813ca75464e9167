"""The hello-world limit: the smallest RSGI app, served by granian exactly as the mock is."""

from __future__ import annotations

from typing import Any

BODY = b'{"eventName":"Purchase","customer":null,"sale":null}'
HEADERS = [("Content-Type", "application/json")]


async def app(scope: Any, protocol: Any) -> None:
    """Await the body (as the mock's front must) and answer a fixed 200."""
    await protocol()
    protocol.response_bytes(200, HEADERS, BODY)
