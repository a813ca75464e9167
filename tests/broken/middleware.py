"""WSGI plumbing for the broken variants: see and rewrite one API exchange around the mock.

A variant subclasses `Rewriter` and overrides `request()` (to change what the mock sees, or to
answer in its place) and/or `response()` (to change what the client gets). Admin calls pass
through untouched, so the contract suite seeds a broken variant exactly as it seeds the mock.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from mockserver.app import MockApp

MAX_BODY = 2 * 1024 * 1024
NOT_JSON = object()


@dataclass
class Call:
    """One API request as a variant sees it; `body` is the parsed JSON (or NOT_JSON)."""

    environ: WSGIEnvironment
    raw: bytes
    body: Any
    original: Any = field(default=NOT_JSON, repr=False)

    def __post_init__(self) -> None:
        self.original = copy.deepcopy(self.body)

    @property
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET"))

    @property
    def path(self) -> str:
        return str(self.environ.get("PATH_INFO") or "/")

    @property
    def token(self) -> str | None:
        value = self.environ.get("HTTP_AUTHORIZATION")
        return value[7:] if isinstance(value, str) and value.startswith("Bearer ") else None

    @property
    def is_sale(self) -> bool:
        return self.method == "POST" and self.path == "/track/sale"


@dataclass
class Answer:
    """The answer the client will get; `json` is parsed when the body is JSON."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    json: Any = field(default=NOT_JSON)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def drop_headers(self, *names: str) -> None:
        lowered = {n.lower() for n in names}
        self.headers = [(k, v) for k, v in self.headers if k.lower() not in lowered]

    def set_header(self, name: str, value: str) -> None:
        self.drop_headers(name)
        self.headers.append((name, value))


def json_answer(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    return Answer(status, [("Content-Type", "application/json"), *(headers or [])], b"", payload)


def dub_error(status: int, code: str, message: str) -> Answer:
    """An error in the correct envelope (for variants whose fault is elsewhere)."""
    doc = "https://dub.co/docs/api-reference/errors#" + code.replace("_", "-", 1)
    return json_answer(status, {"error": {"code": code, "message": message, "doc_url": doc}})


class Rewriter:
    """Wraps the mock; subclasses change the API traffic that passes through."""

    def __init__(self, app: MockApp) -> None:
        self.app = app
        self.settings = app.settings  # what mockserver.server's waitress setup reads

    # Hooks -------------------------------------------------------------------------------

    def request(self, call: Call) -> Answer | None:
        """Change `call` in place before the mock sees it, or return an answer instead."""
        return None

    def response(self, call: Call, answer: Answer) -> None:
        """Change `answer` in place before the client gets it."""

    # WSGI --------------------------------------------------------------------------------

    def forward(self, call: Call) -> Answer:
        """Send `call` (with its possibly changed body) to the mock and collect the answer."""
        environ = dict(call.environ)
        unchanged = call.body is NOT_JSON or call.body == call.original
        raw = call.raw if unchanged else json.dumps(call.body).encode()
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured["status"], captured["headers"] = int(status.split()[0]), list(headers)
            return lambda data: None

        chunks = self.app(environ, start_response)  # type: ignore[arg-type]
        body = b"".join(chunks)
        answer = Answer(captured["status"], captured["headers"], body)
        if "json" in (answer.header("Content-Type") or ""):
            with contextlib.suppress(ValueError):
                answer.json = json.loads(body)
        return answer

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.startswith("/__mock/"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
        try:
            body: Any = json.loads(raw) if raw.strip() else NOT_JSON
        except ValueError:
            body = NOT_JSON
        call = Call(environ, raw, body)
        answer = self.request(call)
        if answer is None:
            answer = self.forward(call)
        self.response(call, answer)
        if answer.json is not NOT_JSON:
            answer.body = json.dumps(answer.json, ensure_ascii=False).encode()
        answer.set_header("Content-Length", str(len(answer.body)))
        reason = {200: "OK", 201: "Created", 404: "Not Found", 500: "Internal Server Error"}
        start_response(f"{answer.status} {reason.get(answer.status, 'Status')}", answer.headers)
        return [answer.body]


def request_body(call: Call) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


def sale_of(answer: Answer) -> dict[str, Any] | None:
    data = answer.json
    if answer.status == 200 and isinstance(data, dict) and isinstance(data.get("sale"), dict):
        return data["sale"]
    return None


def passthrough(app: MockApp) -> WSGIApplication:
    """The faithful mock behind the same plumbing: it must pass every check."""
    return Rewriter(app)
