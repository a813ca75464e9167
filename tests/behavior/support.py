"""Support for the behaviour suite: one client for served and in-process mocks.

`Api` wraps the calls the tests make (the funnel's endpoints and the admin API); `HttpApi`
speaks over a real socket, `WsgiApi` through werkzeug's test client. Every JSON answer of
`POST /track/sale` and of the funnel's routes (`/track/lead`, `/track/click`, the publishable-key
client routes) is checked against the response schemas of the bundled spec, read here from the
YAML itself rather than through the mock, so a mock that drifts from the spec is caught.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import re
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers
from werkzeug.test import Client

TOKEN = "dub_mock_key"
WORKSPACE = "ws_mock"
STORES = ("memory", "sqlite", "redis")
#: Where the served suite runs: every store on `MockServer` (waitress), and memory on
#: `dub-mock serve` (granian's RSGI interface, the app on its event loop).
SERVINGS = ("memory", "sqlite", "redis", "memory-serve")
SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
#: The funnel's operations, merged with openapi.yaml at load time (it may $ref its components).
FUNNEL_SPEC_PATH = SPEC_PATH.with_name("funnel.yaml")
FUNNEL_PATHS = ("/track/lead", "/track/click", "/track/lead/client", "/track/sale/client")
DOC_URL = "https://dub.co/docs/api-reference/errors#"
_ABSENT: Any = object()
#: Bytes that are not UTF-8, let alone JSON.
OPAQUE_INVALID = b"\xff\xfe\x00\x81garbage"


def _load_response_schemas() -> dict[int, dict[str, Any]]:
    """The documented answers of trackSale, straight from the bundled YAML (not the mock's copy)."""
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    responses = document["paths"]["/track/sale"]["post"]["responses"]
    schemas: dict[int, dict[str, Any]] = {}
    for status, answer in responses.items():
        ref = answer.get("$ref")
        if ref:
            answer = document["components"]["responses"][ref.rsplit("/", 1)[-1]]
        schemas[int(status)] = answer["content"]["application/json"]["schema"]
    return schemas


RESPONSE_SCHEMAS = _load_response_schemas()


def check_against_spec(status: int, payload: Any) -> None:
    """Raise if a documented answer does not fit the spec's schema for its status."""
    schema = RESPONSE_SCHEMAS.get(status)
    if schema is None:
        return
    errors = sorted(OAS30Validator(schema).iter_errors(payload), key=str)
    assert not errors, f"{status} answer breaks the spec: {errors[0].message} in {payload!r}"


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.strip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline_refs(documents: Mapping[str, Any], home: str, node: Any, depth: int = 0) -> Any:
    """`node` with every `$ref` replaced by its target, across the two spec files.

    A local `#/...` reference is looked up in its own file first, then in the other one (the
    two are merged at load time); `openapi.yaml#/...` names its file.
    """
    assert depth < 50, "a $ref cycle in the spec"
    if isinstance(node, list):
        return [_inline_refs(documents, home, item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        file, _, pointer = ref.partition("#")
        names = [Path(file).name] if file else [home, *(n for n in documents if n != home)]
        for name in names:
            try:
                target = _pointer(documents[name], pointer)
            except (KeyError, TypeError, IndexError):
                continue
            return _inline_refs(documents, name, target, depth + 1)
        raise AssertionError(f"unresolvable $ref {ref!r} in {home}")
    return {key: _inline_refs(documents, home, value, depth + 1) for key, value in node.items()}


@functools.cache
def funnel_response_schemas() -> dict[str, dict[int | str, dict[str, Any]]]:
    """Per funnel path, the documented JSON answers of its POST, from spec/funnel.yaml itself."""
    documents = {
        SPEC_PATH.name: yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")),
        FUNNEL_SPEC_PATH.name: yaml.safe_load(FUNNEL_SPEC_PATH.read_text(encoding="utf-8")),
    }
    paths = documents[FUNNEL_SPEC_PATH.name]["paths"]
    found: dict[str, dict[int | str, dict[str, Any]]] = {}
    for path in FUNNEL_PATHS:
        assert path in paths, f"spec/funnel.yaml declares no {path}"
        responses = _inline_refs(documents, FUNNEL_SPEC_PATH.name, paths[path]["post"]["responses"])
        schemas: dict[int | str, dict[str, Any]] = {}
        for status, answer in responses.items():
            content = (answer.get("content") or {}).get("application/json")
            if content and "schema" in content:
                key = int(status) if str(status).isdigit() else str(status)
                schemas[key] = content["schema"]
        assert 200 in schemas, f"spec/funnel.yaml documents no JSON 200 for {path}"
        found[path] = schemas
    return found


def check_funnel_against_spec(path: str, status: int, payload: Any) -> None:
    """Raise if a JSON answer of a funnel route does not fit its documented schema."""
    schemas = funnel_response_schemas()[path]
    schema = schemas.get(status, schemas.get("default"))
    if schema is None:
        # Outside the operation's own answers only the HTTP layer's 405 and 413 may appear.
        assert status in (405, 413), f"{path} answered {status}, which its spec does not document"
        return
    errors = sorted(OAS30Validator(schema).iter_errors(payload), key=str)
    assert not errors, f"{path} {status} breaks the spec: {errors[0].message} in {payload!r}"


#: The CORS headers of Dub's own browser routes (/track/click and the client routes), exactly.
DUB_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
INVALID_JSON = (
    "Invalid JSON format in request body. Please ensure the request body is a valid JSON object."
)
CUSTOMER_ID = re.compile(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$")
#: "Adjective Colour Animal", the placeholder name of a customer with neither name nor email.
PLACEHOLDER_NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ [A-Z][a-z]+$")
CLICK_ID = re.compile(r"^[0-9A-Za-z]{16}$")


def expect_dub_cors(reply: Reply) -> None:
    """Dub's three CORS headers with exactly Dub's values."""
    for name, value in DUB_CORS.items():
        assert reply.headers.get(name) == value, (name, reply.headers.get(name), reply)


def expect_no_rate_headers(reply: Reply) -> None:
    for name in RATE_HEADERS:
        assert name not in reply.headers, (name, reply)


def expect_rate_headers(reply: Reply, limit: int, remaining: int) -> None:
    for name in RATE_HEADERS:
        assert name in reply.headers, (name, reply)
    assert int(reply.headers["X-RateLimit-Limit"]) == limit, reply.headers
    assert int(reply.headers["X-RateLimit-Remaining"]) == remaining, reply.headers


def concurrently(count: int, send: Callable[[int], Reply]) -> list[Reply]:
    """`send(i)` for i in range(count) from `count` threads released together."""
    barrier = threading.Barrier(count)
    replies: list[Reply | None] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            replies[index] = send(index)
        except BaseException as exc:  # re-raised in the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


class Reply:
    """One HTTP answer: status, headers (case-insensitive) and body."""

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        return self.json["error"]  # type: ignore[no-any-return]

    def expect_error(self, status: int, code: str, message: str | None = None) -> Reply:
        """Dub's envelope exactly: JSON, the status, the code, its doc_url and the message."""
        assert self.status == status, (self.status, self.body)
        assert self.headers.get("Content-Type", "").startswith("application/json")
        payload = self.json
        assert set(payload) == {"error"}, payload
        assert set(payload["error"]) == {"code", "message", "doc_url"}, payload
        assert payload["error"]["code"] == code, payload
        assert payload["error"]["doc_url"] == DOC_URL + code.replace("_", "-", 1)
        if message is not None:
            assert payload["error"]["message"] == message
        return self

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


class Api:
    """Requests to a mock (over a socket or in process) and the admin calls the tests need."""

    token = TOKEN
    admin_token: str | None = None

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> Reply:
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _ABSENT,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> Reply:
        sent: dict[str, str] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not _ABSENT:
            data = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.send(method, path, sent, data)

    def track(
        self,
        body: Any = _ABSENT,
        *,
        data: bytes | None = None,
        token: str | None = TOKEN,
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> Reply:
        """POST /track/sale; a documented answer must fit the spec's schema."""
        path = "/track/sale" + (f"?{query}" if query else "")
        reply = self.request("POST", path, json_body=body, data=data, headers=headers, token=token)
        if reply.headers.get("Content-Type", "").startswith("application/json"):
            check_against_spec(reply.status, reply.json)
        return reply

    # --- the funnel's routes -------------------------------------------------------------
    def post(
        self,
        path: str,
        body: Any = _ABSENT,
        *,
        data: bytes | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> Reply:
        """POST to a funnel route; a JSON answer must fit the spec's schema for its status."""
        full = path + (f"?{query}" if query else "")
        reply = self.request("POST", full, json_body=body, data=data, headers=headers, token=token)
        if reply.headers.get("Content-Type", "").startswith("application/json"):
            check_funnel_against_spec(path, reply.status, reply.json)
        return reply

    def lead(self, body: Any = _ABSENT, *, token: str | None = TOKEN, **kwargs: Any) -> Reply:
        """POST /track/lead with a secret key."""
        return self.post("/track/lead", body, token=token, **kwargs)

    def click(self, body: Any = _ABSENT, **kwargs: Any) -> Reply:
        """POST /track/click (no key)."""
        return self.post("/track/click", body, **kwargs)

    def lead_client(self, body: Any = _ABSENT, *, key: str | None, **kwargs: Any) -> Reply:
        """POST /track/lead/client with a publishable key."""
        return self.post("/track/lead/client", body, token=key, **kwargs)

    def sale_client(self, body: Any = _ABSENT, *, key: str | None, **kwargs: Any) -> Reply:
        """POST /track/sale/client with a publishable key."""
        return self.post("/track/sale/client", body, token=key, **kwargs)

    # --- the admin API -------------------------------------------------------------------
    def admin(self, method: str, path: str, body: Any = _ABSENT, **kwargs: Any) -> Reply:
        """A `/__mock/*` call, with the admin token when the mock demands one."""
        if self.admin_token is not None:
            kwargs.setdefault("token", self.admin_token)
        return self.request(method, f"/__mock/{path}", json_body=body, **kwargs)

    def create(self, kind: str, body: Any) -> dict[str, Any]:
        reply = self.admin("POST", kind, body)
        assert reply.status == 201, reply
        return reply.json  # type: ignore[no-any-return]

    def reset(self) -> None:
        reply = self.admin("POST", "reset")
        assert reply.status == 200, reply

    def state(self) -> dict[str, list[dict[str, Any]]]:
        reply = self.admin("GET", "state")
        assert reply.status == 200, reply
        return reply.json  # type: ignore[no-any-return]

    def journal(self) -> list[dict[str, Any]]:
        reply = self.admin("GET", "requests")
        assert reply.status == 200, reply
        return reply.json  # type: ignore[no-any-return]

    def add_customer(self, external_id: str, **fields: Any) -> dict[str, Any]:
        return self.create("customers", {"externalId": external_id, **fields})

    def add_link(self, **fields: Any) -> dict[str, Any]:
        return self.create("links", fields)

    def add_click(self, **fields: Any) -> dict[str, Any]:
        return self.create("clicks", fields)

    def add_lead(self, external_id: str, event_name: str, **fields: Any) -> dict[str, Any]:
        return self.create(
            "leads", {"customerExternalId": external_id, "eventName": event_name, **fields}
        )

    def add_workspace(
        self, workspace_id: str, plan: str = "business", **fields: Any
    ) -> dict[str, Any]:
        return self.create("workspaces", {"id": workspace_id, "plan": plan, **fields})

    def patch_workspace(self, workspace_id: str, **fields: Any) -> dict[str, Any]:
        reply = self.admin("PATCH", f"workspaces/{workspace_id}", fields)
        assert reply.status == 200, reply
        return reply.json  # type: ignore[no-any-return]

    def allow_hostnames(self, *hostnames: str, workspace_id: str = WORKSPACE) -> None:
        self.patch_workspace(workspace_id, allowedHostnames=list(hostnames))

    def add_publishable_key(self, **fields: Any) -> str:
        """A publishable key (`dub_pk_...`) for the default workspace unless one is named."""
        created = self.create("publishable-keys", fields)
        assert created["key"].startswith("dub_pk_"), created
        return created["key"]  # type: ignore[no-any-return]

    def add_token(self, token: str, **fields: Any) -> dict[str, Any]:
        return self.create("tokens", {"token": token, **fields})

    def add_fault(self, **fields: Any) -> dict[str, Any]:
        return self.create("faults", fields)

    def set_fx_rates(self, rates: Mapping[str, float]) -> None:
        reply = self.admin("PUT", "fx-rates", dict(rates))
        assert reply.status == 200, reply

    def customer(self, external_id: str, workspace_id: str = WORKSPACE) -> dict[str, Any]:
        (found,) = [
            c
            for c in self.state()["customers"]
            if c["externalId"] == external_id and c["workspaceId"] == workspace_id
        ]
        return found

    def link(self, link_id: str) -> dict[str, Any]:
        (found,) = [link for link in self.state()["links"] if link["id"] == link_id]
        return found

    def leads_of(self, customer_id: str) -> list[dict[str, Any]]:
        return [lead for lead in self.state()["leads"] if lead["customerId"] == customer_id]

    def clicks_of(self, link_id: str) -> list[dict[str, Any]]:
        return [click for click in self.state()["clicks"] if click["linkId"] == link_id]


class Served(Protocol):
    """A mock on a real socket: `MockServer`, or `dub-mock serve` run as a process."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


def serve_flags(settings: Mapping[str, Any], workdir: Path) -> list[str]:
    """The `dub-mock serve` flags for the settings the suite gives `MockServer`."""
    flags: list[str] = []
    for name, value in settings.items():
        if name == "seed_data":
            seed = workdir / "seed.json"
            seed.write_text(json.dumps(value), encoding="utf-8")
            flags += ["--seed", str(seed)]
        elif name == "seed":
            flags += ["--seed", value]
        elif name == "admin_token":
            flags += ["--admin-token", value]
        elif name == "max_body":
            flags += ["--max-body", str(value)]
        elif name == "latency_ms":
            flags += ["--latency", "{}-{}".format(*value)]
        elif name == "tokens":
            flags += [flag for token in value for flag in ("--token", token)]
        elif name in {"cors", "rate_limit"} and value is False:
            flags.append("--no-" + name.replace("_", "-"))
        else:
            raise ValueError(f"no serve flag for {name}={value!r}")
    return flags


class HttpApi(Api):
    """A client of a served mock, over a fresh TCP connection per request."""

    def __init__(self, server: Served) -> None:
        self.server = server
        self.url = server.url
        parts = urlsplit(server.url)
        assert parts.hostname is not None and parts.port is not None
        self.host = parts.hostname
        self.port = parts.port

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            # The server may answer (a 413, say) before it has read the whole body.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=body, headers=dict(headers))
            answer = connection.getresponse()
            payload = answer.read()
            return Reply(answer.status, Headers(answer.getheaders()), payload)
        finally:
            connection.close()

    def raw(self, data: bytes) -> Reply:
        """Send bytes as they are (for malformed HTTP) and read one answer."""
        with socket.create_connection((self.host, self.port), timeout=30) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)  # if answered early, the answer is still there to read
            answer = http.client.HTTPResponse(sock, method="POST")
            answer.begin()
            payload = answer.read()
            return Reply(answer.status, Headers(answer.getheaders()), payload)


class WsgiApi(Api):
    """A client of an in-process app through werkzeug's test client: no socket."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = Client(app)

    def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        environ: Mapping[str, Any] | None = None,
    ) -> Reply:
        answer = self.client.open(
            path,
            method=method,
            headers=list(headers.items()),
            data=body,
            environ_overrides=dict(environ or {}),
        )
        return Reply(answer.status_code, Headers(answer.headers), answer.get_data())


class PinnedClock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def state_url(store: str, directory: Path) -> str:
    """memory:// or sqlite:/// + an absolute path (four slashes in all)."""
    return "memory://" if store == "memory" else f"sqlite:///{directory}/x.db"
