"""Support for the behaviour suite: one client for served and in-process mocks.

`Api` wraps the calls the tests make (the track-sale endpoint and the admin API); `HttpApi`
speaks over a real socket, `WsgiApi` through werkzeug's test client. Every answer of
`POST /track/sale` is checked against the response schemas of the bundled spec, read here from
the YAML itself rather than through the mock, so a mock that drifts from the spec is caught.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Mapping
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

    def add_workspace(self, workspace_id: str, plan: str = "business") -> dict[str, Any]:
        return self.create("workspaces", {"id": workspace_id, "plan": plan})

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
