"""Schemathesis over the bundled spec, tuned so that Dub's documented choices raise no alarm.

The spec is the merged document the mock serves (`mockserver.spec.bundled_document()`: the
seed's `openapi.yaml` plus `funnel.yaml`), so every operation of the funnel is fuzzed:
`POST /track/sale`, `/track/lead`, `/track/click`, `/track/lead/client`, `/track/sale/client`.
Every built-in check that applies runs. A few are adjusted, each for a fine point of the behaviour
reference, never to hide a fault:

- the request body is treated as required: an empty or missing body is invalid JSON, 400 (rule 9);
- a string with both `format: email` and a `pattern` is governed by the pattern alone (Dub's fine
  point: anything the spec's pattern accepts passes as an email);
- the lead routes trim `eventName` and `customerExternalId` (§4; Dub trims with JavaScript's
  `trim`), so the suite's copy of the spec asks those strings for one character that `trim` keeps:
  a blank value is invalid data (rejected with 400 or 422), not valid data;
- positive data may answer 200 or 404 (an unknown click, link or customer without lead is
  business logic the schema cannot see) or 429; negative data must answer 400 or 422 (or 429);
- `ignored_auth` is wrapped: Dub answers a token without the `dub_` prefix with 404 (rule 3), so
  that probe passes when the 404 is exactly rule 3's answer, and a `dub_` token that exists
  nowhere must still answer 401. On the publishable-key routes the probe's key has no `dub_pk_`
  prefix, which §6 answers 400; that passes when the 400 is exactly §6's, and a `dub_pk_` key
  that exists nowhere must still answer 401.

Dub-specific checks run on every answer as well: the error envelope and `doc_url`, the rate-limit
headers (whose `Retry-After` may be seconds or a millisecond timestamp) on the keyed routes and
none on `/track/click`, and Dub's fixed CORS headers on the browser routes (§5, §6).
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import schemathesis
from schemathesis.core.failures import Failure, Severity
from schemathesis.openapi.checks import IgnoredAuth
from schemathesis.specs.openapi.checks import ignored_auth

from contract_tests.rules import (
    RATE_LIMIT_HEADER_NAMES,
    RULES,
    cors_problem,
    envelope_problem,
    header_value,
)

if TYPE_CHECKING:
    from schemathesis.checks import CheckContext
    from schemathesis.core.transport import Response
    from schemathesis.generation.case import Case

    from contract_tests.target import Target

CheckFunction = Callable[["CheckContext", "Response", "Case"], "bool | None"]

# schemathesis's own default; a full check stays well within a minute and Dub's business limit.
DEFAULT_MAX_EXAMPLES = 100
POSITIVE_STATUSES = ["200", "404", "429"]
NEGATIVE_STATUSES = ["400", "422", "429"]
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# A millisecond timestamp has 13 digits today; anything above this is not a count of seconds.
MS_TIMESTAMP_FLOOR = 10**11
CLOCK_SLACK_S = 300
PERSONAL_KEY_MESSAGE = "Workspace ID not found."
PUBLISHABLE_PREFIX_MESSAGE = "Invalid or missing publishable key."
UNKNOWN_PUBLISHABLE_MESSAGE = "Invalid publishable key."
# Operations by path, and how each is keyed (BEHAVIOR §1, §5, §6).
SECRET_PATHS = frozenset({"/track/sale", "/track/lead"})
PUBLISHABLE_PATHS = frozenset({"/track/lead/client", "/track/sale/client"})
BROWSER_PATHS = frozenset({"/track/click", *PUBLISHABLE_PATHS})
LEAD_PATHS = frozenset({"/track/lead", "/track/lead/client"})
TRIMMED_LEAD_FIELDS = ("eventName", "customerExternalId")
# JavaScript's String.prototype.trim removes exactly these (ECMAScript WhiteSpace and
# LineTerminator); Dub's schemas trim with it. Written out (as the characters themselves), since
# regex engines disagree on `\s`: Python's counts U+001C-U+001F, Rust's U+0085, neither U+FEFF.
JS_WHITESPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NON_BLANK = f"[^{JS_WHITESPACE}]"


class DubRuleFailure(Failure):
    """A Dub behaviour rule broken by an answer to a generated request."""

    kind_title = "Dub behaviour rule broken"

    def __init__(self, *, operation: str, rule: str, message: str) -> None:
        text = RULES.get(rule, rule)
        super().__init__(
            operation=operation,
            title=f"broken rule: {text.split(':')[0]}",
            message=f"{text}\n{message}",
            severity=Severity.MEDIUM,
        )

    @property
    def _unique_key(self) -> str:
        return self.title


def load_spec_document() -> dict[str, Any]:
    """The merged bundled spec with the fine points above applied (see the module docstring)."""
    from mockserver.spec import bundled_document

    # A copy: the mock caches the merged document, and it must not see the suite's tweaks.
    document: dict[str, Any] = copy.deepcopy(bundled_document())
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                body = operation["requestBody"]
                if "$ref" in body:  # /track/sale/client shares /track/sale's body
                    body = operation["requestBody"] = _follow(document, body["$ref"])
                body["required"] = True
    for path in LEAD_PATHS:
        content = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        if "$ref" in content["schema"]:
            content["schema"] = _follow(document, content["schema"]["$ref"])
        for name in TRIMMED_LEAD_FIELDS:
            content["schema"]["properties"][name]["pattern"] = NON_BLANK
    _pattern_over_email_format(document)
    return document


def _follow(document: dict[str, Any], ref: str) -> dict[str, Any]:
    """A copy of what a local `$ref` names, so a tweak to it changes one operation alone."""
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(copy.deepcopy(node))


def _pattern_over_email_format(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "email" and "pattern" in node:
            del node["format"]
        for value in node.values():
            _pattern_over_email_format(value)
    elif isinstance(node, list):
        for value in node:
            _pattern_over_email_format(value)


def build_schema(
    base_url: str, *, max_examples: int, seed: int | None
) -> schemathesis.schemas.BaseSchema:
    """The schemathesis schema for the target, with the suite's configuration."""
    config: dict[str, Any] = {
        # A slow or shared target must not turn Hypothesis's generation health checks red.
        "suppress-health-check": ["all"],
        "base-url": base_url,
        "generation": {
            "max-examples": max_examples,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "ignored_auth": {"enabled": False},
            "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
            "negative_data_rejection": {"expected-statuses": NEGATIVE_STATUSES},
        },
    }
    if seed is not None:
        config["seed"] = seed
    return schemathesis.openapi.from_dict(
        load_spec_document(), config=schemathesis.Config.from_dict(config)
    )


def _sent_token(response: Response) -> str | None:
    value = response.request.headers.get("Authorization")
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer ") :]
    return None


def make_checks(target: Target) -> list[CheckFunction]:
    """The Dub-specific checks, bound to the target's token and publishable keys."""

    def dub_error_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if response.status_code == 200:
            return None
        options = response.status_code == 204 and response.request.method == "OPTIONS"
        if options and case.operation.path in BROWSER_PATHS:
            return None  # Dub answers any OPTIONS on the browser routes 204 (C7)
        problem = envelope_problem(response.status_code, response.headers, _json(response))
        if problem is not None:
            raise DubRuleFailure(operation=case.operation.label, rule="envelope", message=problem)
        return None

    def dub_rate_limit_headers(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if case.method.upper() != "POST" or response.status_code == 413:
            return None  # a 413 is refused while reading, before any key is looked at
        path = case.operation.path
        if path == "/track/click":
            sent = [
                name for name in RATE_LIMIT_HEADER_NAMES if header_value(response.headers, name)
            ]
            if sent:
                raise DubRuleFailure(
                    operation=case.operation.label,
                    rule="C7",
                    message=f"/track/click has no rate limit, yet the answer carries {sent}",
                )
            return None
        keyed = (
            path in PUBLISHABLE_PATHS and _sent_token(response) in target.client.publishable_keys
        )
        if not keyed and not (path in SECRET_PATHS and _sent_token(response) == target.token):
            return None
        problem = rate_limit_problem(response.status_code, response.headers)
        if problem is not None:
            rule = "P1" if path in PUBLISHABLE_PATHS else "6"
            raise DubRuleFailure(operation=case.operation.label, rule=rule, message=problem)
        return None

    def dub_browser_cors(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if case.operation.path not in BROWSER_PATHS:
            return None
        problem = cors_problem(response.headers)
        if problem is not None:
            raise DubRuleFailure(
                operation=case.operation.label,
                rule="C7",
                message=f"HTTP {response.status_code}: {problem}",
            )
        return None

    def dub_ignored_auth(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        # Enforcement is a property of the operation: once its probes have been refused, as
        # schemathesis itself records when it runs the check, the operation is not probed again.
        label = case.operation.label
        if label in target.auth_enforced:
            return None
        try:
            result = ignored_auth(ctx, response, case)
        except IgnoredAuth as exc:
            if "invalid credentials" not in exc.message:
                raise
            if case.operation.path in PUBLISHABLE_PATHS:
                if not _publishable_prefix_answer(target):
                    raise
                _unknown_publishable_key_refused(target, label)
                target.auth_enforced.add(label)
                return None
            if not _personal_key_answer(target):
                raise
            # The generic probe's token has no dub_ prefix, so 404 was rule 3's answer. A dub_
            # token that exists nowhere must still be refused with 401 (rule 4).
            answer = target.client.sale(
                {"customerExternalId": "x", "amount": 1}, token="dub_" + "0" * 24
            )
            if answer.status != 401:
                raise DubRuleFailure(
                    operation=case.operation.label,
                    rule="4",
                    message=f"an unknown dub_ token answered {answer.status}: "
                    f"{answer.body[:200]!r}",
                ) from None
            result = None
        if 200 <= response.status_code < 300:
            target.auth_enforced.add(label)  # the probes ran and were refused
        return result

    return [
        dub_error_envelope,
        dub_rate_limit_headers,
        dub_browser_cors,
        functools.wraps(ignored_auth)(dub_ignored_auth),
    ]


def _personal_key_answer(target: Target) -> bool:
    """Whether the target answers a non-dub_ token with rule 3's 404 (asked once per run)."""
    cached = target.personal_key_ok
    if cached is None:
        answer = target.client.sale(
            {"customerExternalId": "x", "amount": 1}, token="SCHEMATHESIS-INVALID-VALUE"
        )
        cached = (
            answer.status == 404
            and answer.error.get("code") == "not_found"
            and str(answer.error.get("message", "")).startswith(PERSONAL_KEY_MESSAGE)
        )
        target.personal_key_ok = cached
    return cached


def _publishable_prefix_answer(target: Target) -> bool:
    """Whether the target answers a key without dub_pk_ on a client route with §6's 400."""
    cached = target.publishable_prefix_ok
    if cached is None:
        answer = target.client.sale_client(
            {"customerExternalId": "x", "amount": 1}, key="SCHEMATHESIS-INVALID-VALUE"
        )
        cached = (
            answer.status == 400
            and answer.error.get("code") == "bad_request"
            and answer.error.get("message") == PUBLISHABLE_PREFIX_MESSAGE
        )
        target.publishable_prefix_ok = cached
    return cached


def _unknown_publishable_key_refused(target: Target, operation: str) -> None:
    """A dub_pk_ key that exists nowhere must be refused with 401 (§6)."""
    answer = target.client.sale_client(
        {"customerExternalId": "x", "amount": 1}, key="dub_pk_" + "0" * 24
    )
    if answer.status != 401 or answer.error.get("message") != UNKNOWN_PUBLISHABLE_MESSAGE:
        raise DubRuleFailure(
            operation=operation,
            rule="P1",
            message=f"an unknown dub_pk_ key answered {answer.status}: {answer.body[:200]!r}",
        )


def _json(response: Response) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def rate_limit_problem(status: int, headers: Any, now: float | None = None) -> str | None:
    """What is wrong with the rate-limit headers of an authenticated answer, or None."""
    now = time.time() if now is None else now
    values: dict[str, int] = {}
    for name in (*RATE_LIMIT_HEADERS, "Retry-After"):
        raw = header_value(headers, name)
        if raw is None:
            return f"the answer (HTTP {status}) has no {name} header"
        try:
            values[name] = int(raw.strip())
        except ValueError:
            return f"{name} is {raw!r}, not an integer"
    limit, remaining = values["X-RateLimit-Limit"], values["X-RateLimit-Remaining"]
    reset, retry_after = values["X-RateLimit-Reset"], values["Retry-After"]
    if limit <= 0 or not 0 <= remaining <= limit:
        return f"X-RateLimit-Remaining {remaining} is not within 0..X-RateLimit-Limit {limit}"
    if status == 429 and remaining != 0:
        return f"a 429 answer says X-RateLimit-Remaining {remaining}, expected 0"
    if reset < MS_TIMESTAMP_FLOOR:
        return f"X-RateLimit-Reset {reset} is not a Unix time in milliseconds"
    if not now - CLOCK_SLACK_S <= reset / 1000 <= now + 60 + CLOCK_SLACK_S:
        return f"X-RateLimit-Reset {reset} is not within a minute of now ({int(now * 1000)})"
    if retry_after >= MS_TIMESTAMP_FLOOR:
        if not now - CLOCK_SLACK_S <= retry_after / 1000 <= now + 60 + CLOCK_SLACK_S:
            return f"Retry-After {retry_after} (a ms timestamp) is not within a minute of now"
    elif not 0 <= retry_after <= 61:
        return f"Retry-After {retry_after} is neither seconds within the window nor a timestamp"
    elif status == 429 and retry_after == 0:
        return "a 429 answer says Retry-After 0: it must say when to come back (1-60 seconds)"
    return None
