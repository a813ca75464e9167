"""The behaviour rules the suite enforces, and the failure that names the one broken.

Rule texts follow the numbering of the behaviour reference (rules 1-20 plus the error envelope
and the fine points), so a report line such as "broken rule 13" points at one paragraph.
A failure carries the exchanges that show it; the runner prints them as curl commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from contract_tests.client import Exchange

RULES: dict[str, str] = {
    "envelope": "Error envelope: every non-200 answer is application/json "
    '{"error": {"code", "message", "doc_url"}}, code from the status table, doc_url = '
    "https://dub.co/docs/api-reference/errors# + code with its first underscore hyphenated",
    "1": "Rule 1: an Authorization header without 'Bearer ' answers 400 bad_request",
    "2": "Rule 2: no Authorization header answers 401 unauthorized",
    "3": "Rule 3: a token without the dub_ prefix (and no workspaceId) answers 404 not_found",
    "4": "Rule 4: an unknown token answers 401 unauthorized",
    "5": "Rule 5: an expired token answers 401 unauthorized",
    "6": "Rule 6: every answer from the rate-limit step on carries X-RateLimit-Limit, "
    "X-RateLimit-Remaining, X-RateLimit-Reset (Unix ms) and Retry-After; over the limit "
    "answers 429 rate_limit_exceeded",
    "7": "Rule 7: a token whose role is not owner or member answers 403 forbidden",
    "8": "Rule 8: a workspace below the business plan answers 403 forbidden",
    "9": "Rule 9: a body that is not valid JSON (an empty body included) answers 400 bad_request",
    "10": "Rule 10: valid JSON that breaks the request schema answers 422 unprocessable_entity "
    "naming the offending field; unknown extra properties are ignored",
    "11": "Rule 11: customerExternalId missing, null or empty answers 400 bad_request; the "
    "deprecated aliases externalId and customerId are accepted; over 100 characters is 422",
    "12": "Rule 12: defaults currency usd (lower-cased), eventName Purchase, paymentProcessor "
    "custom, invoiceId and metadata null",
    "13": "Rule 13: a repeated invoiceId answers the first sale's exact body and records no "
    "second sale, under concurrency too; answers with customer null store nothing",
    "14": "Rule 14: a known customer whose link is missing or disabled, or who has no matching "
    "lead event, answers 404 not_found",
    "15": "Rule 15: an unknown customer without clickId answers 200 with customer and sale null",
    "16": "Rule 16: an unknown customer with a clickId is created (cus_ + 26-character id, name "
    "from customerName, else customerEmail, else a random name) with a lead event; an unknown "
    "click answers 404",
    "17": "Rule 17: amount 0 answers 200 with customer and sale null",
    "18": "Rule 18: a non-usd currency is converted to USD cents (x100 first for zero-decimal "
    "currencies); a currency with no rate is kept as sent, lower-cased",
    "19": "Rule 19: the sale is recorded once with its customer, link and lead",
    "20": "Rule 20: the 200 answer has exactly eventName, customer and sale, echoing the sale",
    "routing": "Fine points: an unknown path answers 404 not_found; a method the spec does not "
    "declare answers 405 with an Allow header, both in the envelope",
    # §4 POST /track/lead ------------------------------------------------------------------
    "L-auth": "§4 auth: /track/lead authenticates with rules 1-8 as /track/sale does (same "
    "answers), and a lead and a sale count against one per-token rate-limit window",
    "L-body": "§4 body: invalid JSON answers 400; a schema break answers 422 naming the field "
    "(eventName 1-255 after trimming, customerExternalId up to 100, eventQuantity 1-100, mode "
    "async|wait|deferred, metadata up to 10,000 UTF-16 units as JSON.stringify counts them); no "
    "customerExternalId (nor alias externalId/customerId) answers 400 'customerExternalId is "
    "required'; unknown keys are ignored",
    "L1": "§4 L1: without clickId the customer's click is used; no such customer (or one without "
    "a click) answers 400 bad_request 'The `clickId` property was not provided ...'",
    "L2": "§4 L2: one lead per (workspace, externalId, eventName lower-cased with spaces as '-') "
    "for 7 days, the key taken before the click is looked up (a 404 keeps it); a duplicate "
    "records nothing and answers 200 with link null; deferred takes no key; N simultaneous "
    "identical requests record one lead",
    "L3": "§4 L3: an unknown click, a click whose link is missing, in another workspace or "
    "disabled answers 404 not_found with Dub's wording ('... lead not tracked')",
    "L4": "§4 L4: a new customer is created in every mode (cus_ + 26-character id, name = "
    "customerName, else customerEmail, else a random name) with the click and its link; an "
    "existing customer is not updated",
    "L5": "§4 L5: async and wait record eventQuantity (default 1) lead events on the click's "
    "link (link leads += that number); deferred records none, and a later non-deferred request "
    "with clickId '' records it",
    "L6": "§4 L6: the 200 answer is exactly {click: {id}, link: {id, domain, key, shortLink, url, "
    "partnerId, programId, tenantId, externalId} or null, customer: {name, email, avatar, "
    "externalId}}: the stored customer, or for a duplicate never stored one built from the "
    "request",
    "L-sale": "§4: a lead recorded by /track/lead is what /track/sale's rule 14 finds (the "
    "customer's leads, by leadEventName too), so later sales are attributed to its link",
    # §5 POST /track/click -----------------------------------------------------------------
    "C1": "§5 C1: /track/click needs no key (Authorization is ignored); domain and key are "
    "required strings (422 naming the field), invalid JSON answers 400; a full URL as domain is "
    "reduced to its hostname, and a leading www. is dropped",
    "C2": "§5 C2: the link is found by (domain, key), else 404 not_found 'Link not found for "
    "domain: {domain} and key: {key}.'",
    "C3": "§5 C3: with allowed hostnames, the Referer's (else the Origin's) hostname without "
    "www. must match an entry exactly or a '*.example.com' entry by suffix (not example.com "
    "itself), else 403 forbidden 'Request origin '{hostname}' is not included in the allowed "
    "hostnames ...' ('null' without a header); an empty list allows every origin",
    "C4": "§5 C4: the same (domain, key, client IP, User-Agent) within one hour answers the same "
    "clickId, records nothing and skips the hostname check, under concurrency too",
    "C5": "§5 C5: a new click gets a 16-character [0-9A-Za-z] id and is recorded with its link "
    "(link clicks += 1), usable by /track/lead; dub-no-track (header or query) answers an id and "
    "records nothing",
    "C6": "§5 C6: the 200 answer is exactly {clickId} (partner and discount only for partner "
    "links)",
    "C7": "§5 C7 and §6: /track/click and the client routes answer every request, errors included, "
    "with exactly Access-Control-Allow-Origin *, -Methods 'POST, OPTIONS', -Headers "
    "'Content-Type, Authorization'; any OPTIONS answers 204 with them; /track/click carries no "
    "rate-limit headers",
    # §6 publishable keys ------------------------------------------------------------------
    "P1": "§6 P1: the client routes check the key in order: no header 401 'Missing publishable "
    "key.'; no 'Bearer ' or not dub_pk_ 400 'Invalid or missing publishable key.'; over 600 a "
    "minute 429 (rate-limit headers on every answer from here on); unknown key 401 'Invalid "
    "publishable key.'; plan below business 403 'Unauthorized: Need higher plan.'",
    "P2": "§6 P2: the client routes read the schema as the spec writes it: no aliases, "
    "customerExternalId required 1-100 (422 naming it), clickId a required string on the lead "
    "route",
    "P3": "§6 P3: the client routes apply the workspace's allowed hostnames (403, §5's message) "
    "after the body and before the logic",
    "P4": "§6 P4: a secret dub_ token on a client route is not a publishable key (400), and a "
    "dub_pk_ key on /track/sale or /track/lead is an unknown API key (401, rule 4)",
    "P5": "§6 P5: the client routes run §4's and §3's logic: leads deduplicated with the secret "
    "route's key, sales replayed per invoice, unknown customers answered with nulls",
    # §7 webhooks -------------------------------------------------------------------------
    "W1": "§7 W1: a recorded sale, lead or new click sends sale.created, lead.created or "
    "link.clicked to the workspace's endpoints: POST, Content-Type application/json, body "
    '{"id": "evt_" + 25 [0-9A-Za-z], "event", "createdAt" (ISO-8601 UTC, milliseconds), "data"} '
    "in that order, data shaped like Dub's sample event and about the request that caused it",
    "W2": "§7 W2: Dub-Signature is the lowercase hex HMAC-SHA256 of the exact body bytes, keyed "
    "by the endpoint's whole secret (whsec_ included)",
    "W3": "§7 W3: no event for an invoice replay, an answer with customer null, a duplicate or "
    "deferred lead, or a click repeated within the hour",
    "W4": "§7 W4: a failed delivery is retried, every attempt with the same id and bytes",
    "spec": "The bundled OpenAPI spec: status codes, content types and schemas of every answer",
}

# Written out from BEHAVIOR's table, not imported from mockserver: the suite is an independent
# oracle, so a wrong entry in the mock's own table is caught rather than copied.
STATUS_CODES: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "exceeded_limit": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "invite_pending": 409,
    "invite_expired": 410,
    "payload_too_large": 413,
    "unprocessable_entity": 422,
    "rate_limit_exceeded": 429,
    "internal_server_error": 500,
}

DOC_URL_BASE = "https://dub.co/docs/api-reference/errors#"


def doc_url(code: str) -> str:
    """Dub's doc link: only the first underscore of the code becomes a hyphen."""
    return DOC_URL_BASE + code.replace("_", "-", 1)


class ContractViolation(AssertionError):
    """A target answered in a way the contract forbids; carries the rule and the evidence."""

    def __init__(self, rule: str, detail: str, exchanges: Iterable[Exchange] = ()) -> None:
        self.rule = rule
        self.detail = detail
        self.exchanges = list(exchanges)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"broken rule: {RULES.get(self.rule, self.rule)}", f"problem: {self.detail}"]
        for exchange in self.exchanges[-3:]:
            lines += ["request:", "  " + exchange.curl(), "answer:"]
            lines += ["  " + line for line in exchange.answer().splitlines()]
        return "\n".join(lines)


def fail(rule: str, detail: str, *exchanges: Exchange) -> None:
    raise ContractViolation(rule, detail, exchanges)


def check(condition: object, rule: str, detail: str, *exchanges: Exchange) -> None:
    if not condition:
        fail(rule, detail, *exchanges)


def header_value(headers: Any, name: str) -> str | None:
    """A header from requests' or schemathesis's headers (lower-case keys, list values)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in dict(headers).items() if k.lower() == lowered), None)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def envelope_problem(status: int, headers: Any, data: Any) -> str | None:
    """What is wrong with an error answer's envelope, or None when it is Dub's."""
    content_type = header_value(headers, "Content-Type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return f"Content-Type is {content_type!r}, not application/json"
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return 'the body is not {"error": {...}}'
    error = data["error"]
    code, message, url = error.get("code"), error.get("message"), error.get("doc_url")
    if not isinstance(code, str) or not isinstance(message, str) or not message:
        return "error.code and error.message must be non-empty strings"
    expected_status = STATUS_CODES.get(code)
    if expected_status is None:
        return f"error.code {code!r} is not one of Dub's codes"
    if expected_status != status:
        return f"error.code {code!r} belongs to HTTP {expected_status}, the answer is {status}"
    if url != doc_url(code):
        return f"error.doc_url is {url!r}, expected {doc_url(code)!r}"
    return None


def expect_error(
    exchange: Exchange,
    rule: str,
    status: int,
    code: str,
    message: str | re.Pattern[str] | None = None,
) -> dict[str, Any]:
    """Assert an error answer: its status, its envelope, its code and (when given) its message."""
    check(
        exchange.status == status,
        rule,
        f"expected HTTP {status} {code}, got HTTP {exchange.status}",
        exchange,
    )
    problem = envelope_problem(exchange.status, exchange.headers, exchange.json)
    check(problem is None, "envelope", str(problem), exchange)
    error = exchange.error
    check(error.get("code") == code, rule, f"expected code {code!r}", exchange)
    if isinstance(message, re.Pattern):
        check(
            message.search(str(error.get("message"))),
            rule,
            f"message should match /{message.pattern}/",
            exchange,
        )
    elif message is not None:
        check(error.get("message") == message, rule, f"expected message {message!r}", exchange)
    return error


def expect_ok(exchange: Exchange, rule: str) -> dict[str, Any]:
    """Assert a 200 with a JSON object body of exactly eventName, customer and sale."""
    check(exchange.status == 200, rule, f"expected HTTP 200, got {exchange.status}", exchange)
    data = exchange.json
    check(isinstance(data, dict), "20", "the 200 body is not a JSON object", exchange)
    check(
        set(data) == {"eventName", "customer", "sale"},
        "20",
        f"the 200 body has keys {sorted(data)}, expected eventName, customer, sale",
        exchange,
    )
    return dict(data)


LEAD_KEYS = {"click", "link", "customer"}
LEAD_LINK_KEYS = {
    "id",
    "domain",
    "key",
    "shortLink",
    "url",
    "partnerId",
    "programId",
    "tenantId",
    "externalId",
}
LEAD_CUSTOMER_KEYS = {"name", "email", "avatar", "externalId"}

# Dub's own CORS headers on /track/click and the publishable-key routes (BEHAVIOR §5, §6).
BROWSER_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}
RATE_LIMIT_HEADER_NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def expect_lead_ok(exchange: Exchange, rule: str) -> dict[str, Any]:
    """Assert a lead's 200: exactly click, link (or null) and customer, each with its keys."""
    check(exchange.status == 200, rule, f"expected HTTP 200, got {exchange.status}", exchange)
    data = exchange.json
    check(isinstance(data, dict), "L6", "the 200 body is not a JSON object", exchange)
    check(
        set(data) == LEAD_KEYS,
        "L6",
        f"the 200 body has keys {sorted(data)}, expected click, link, customer",
        exchange,
    )
    click, link, customer = data["click"], data["link"], data["customer"]
    check(
        isinstance(click, dict) and set(click) == {"id"} and isinstance(click["id"], str),
        "L6",
        "click must be exactly {id}",
        exchange,
    )
    check(
        link is None or (isinstance(link, dict) and set(link) == LEAD_LINK_KEYS),
        "L6",
        f"link must be null or exactly {sorted(LEAD_LINK_KEYS)}",
        exchange,
    )
    check(
        isinstance(customer, dict) and set(customer) == LEAD_CUSTOMER_KEYS,
        "L6",
        f"customer must be exactly {sorted(LEAD_CUSTOMER_KEYS)}",
        exchange,
    )
    return dict(data)


def cors_problem(headers: Any) -> str | None:
    """What is wrong with the browser routes' CORS headers of an answer, or None."""
    for name, value in BROWSER_CORS.items():
        sent = header_value(headers, name)
        if sent != value:
            return f"{name} is {sent!r}, expected {value!r}"
    return None


def expect_cors(exchange: Exchange, rule: str = "C7") -> None:
    """Assert Dub's fixed CORS headers on an answer of a browser route."""
    problem = cors_problem(exchange.headers)
    check(
        problem is None,
        rule,
        f"HTTP {exchange.status} on a browser route: {problem}",
        exchange,
    )
