"""Conformant targets that look unlike the mock: a server without the admin API (as a real
Dub deployment is), and one that sends Retry-After as a millisecond timestamp (as real Dub does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from broken.middleware import Answer, Call, Rewriter, dub_error
from werkzeug.test import Client

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class NoAdminApi(Rewriter):
    """The mock with `/__mock/*` answering 404, like any server that is not dub-mock."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/__mock/"):
            answer = dub_error(404, "not_found", "Not found")
            body = json.dumps(answer.json).encode()
            start_response("404 Not Found", [*answer.headers, ("Content-Length", str(len(body)))])
            return [body]
        return super().__call__(environ, start_response)

    def seed(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create objects behind the server's back, as a real workspace already has them."""
        answer = Client(self.app).post(f"/__mock/{path}", json=payload)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        data = answer.get_json()
        assert isinstance(data, dict)
        return data


class MillisecondRetryAfter(Rewriter):
    """Retry-After as the Unix time in ms of the window's reset, as real Dub sends it."""

    def response(self, call: Call, answer: Answer) -> None:
        reset = answer.header("X-RateLimit-Reset")
        if reset is not None and answer.header("Retry-After") is not None:
            answer.set_header("Retry-After", reset)
