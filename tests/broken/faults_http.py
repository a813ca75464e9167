"""Broken variants, part two: faults in auth, validation, rate limits, envelope (rules 1-11)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .middleware import Answer, Call, Rewriter, dub_error
from .middleware import request_body as _body

if TYPE_CHECKING:
    pass

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)

# Validation ----------------------------------------------------------------------------------


class NegativeAmountAccepted(Rewriter):
    """A negative amount is not rejected: its absolute value is tracked."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        amount = body.get("amount")
        if call.is_sale and isinstance(amount, int) and not isinstance(amount, bool) and amount < 0:
            body["amount"] = -amount
        return None


class EmailUnvalidated(Rewriter):
    """customerEmail is not validated: a malformed or overlong email is silently dropped."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        email = body.get("customerEmail")
        if call.is_sale and isinstance(email, str) and (len(email) > 100 or not EMAIL.match(email)):
            body["customerEmail"] = None
        return None


class MetadataUnbounded(Rewriter):
    """metadata over 10,000 characters is accepted (and truncated) instead of 422."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and len(json.dumps(metadata, separators=(",", ":"))) > 10_000:
            body["metadata"] = {"truncated": True}
        return None


class ExtraPropertiesRejected(Rewriter):
    """Unknown body properties answer 422 instead of being ignored."""

    KNOWN = {"customerExternalId", "externalId", "customerId", "amount", "currency", "eventName",
             "paymentProcessor", "invoiceId", "metadata", "leadEventName", "clickId",
             "customerName", "customerEmail", "customerAvatar"}  # fmt: skip

    def request(self, call: Call) -> Answer | None:
        extra = sorted(set(_body(call)) - self.KNOWN)
        if call.is_sale and extra:
            return dub_error(422, "unprocessable_entity", f"Unrecognized key: {extra[0]}")
        return None


class GenericValidationMessage(Rewriter):
    """422 answers say 'Invalid request body' without naming the offending field."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status == 422 and isinstance(answer.json, dict):
            answer.json["error"]["message"] = "Invalid request body."


class EmptyBody422(Rewriter):
    """An empty or missing body answers 422 instead of rule 9's 400."""

    def request(self, call: Call) -> Answer | None:
        if call.is_sale and call.token and not call.raw.strip():
            return dub_error(422, "unprocessable_entity", "Invalid body: expected an object")
        return None


class RequiredCheckedFirst(Rewriter):
    """customerExternalId is checked before the schema: {amount: -5} answers 400, not 422."""

    def request(self, call: Call) -> Answer | None:
        body = call.body
        if call.is_sale and call.token and isinstance(body, dict):
            names = ("customerExternalId", "externalId", "customerId")
            if not any(body.get(name) for name in names):
                return dub_error(400, "bad_request", "customerExternalId is required")
        return None


class AliasesIgnored(Rewriter):
    """The deprecated aliases externalId and customerId are not read."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        body.pop("externalId", None)
        body.pop("customerId", None)
        return None


class HtmlCrashOnUnicode(Rewriter):
    """A non-ASCII body crashes the handler: 500 with an HTML error page."""

    def request(self, call: Call) -> Answer | None:
        if call.is_sale and not call.raw.isascii():
            page = b"<html><body><h1>500 Internal Server Error</h1>UnicodeDecodeError</body></html>"
            return Answer(500, [("Content-Type", "text/html")], page)
        return None


# Auth ----------------------------------------------------------------------------------------


class BearerCheckedLate(Rewriter):
    """'Authorization: Token ...' answers 401 instead of rule 1's 400."""

    def request(self, call: Call) -> Answer | None:
        header = call.environ.get("HTTP_AUTHORIZATION")
        if isinstance(header, str) and not header.startswith("Bearer "):
            return dub_error(401, "unauthorized", "Unauthorized: Invalid API key.")
        return None


class AuthOptional(Rewriter):
    """A request without Authorization is served with the default token."""

    def request(self, call: Call) -> Answer | None:
        if "HTTP_AUTHORIZATION" not in call.environ:
            call.environ["HTTP_AUTHORIZATION"] = "Bearer dub_mock_key"
        return None


class PersonalKey401(Rewriter):
    """A token without the dub_ prefix answers 401 instead of rule 3's 404."""

    def request(self, call: Call) -> Answer | None:
        if call.token is not None and not call.token.startswith("dub_"):
            return dub_error(401, "unauthorized", "Unauthorized: Invalid API key.")
        return None


class _TokenLookup(Rewriter):
    """Shared: find the token record the request uses, through the mock's own state."""

    def token_record(self, call: Call) -> dict[str, Any] | None:
        if call.token is None:
            return None
        snapshot = self.app.store.snapshot()
        for record in snapshot["tokens"]:
            if record["token"] == call.token:
                workspace = next(
                    (w for w in snapshot["workspaces"] if w["id"] == record["workspaceId"]), {}
                )
                return {**record, "plan": workspace.get("plan")}
        return None


class ExpiredTokenAccepted(_TokenLookup):
    """Expiry is not checked: an expired token works."""

    def request(self, call: Call) -> Answer | None:
        record = self.token_record(call)
        if record is not None and record.get("expired"):
            call.environ["HTTP_AUTHORIZATION"] = "Bearer dub_mock_key"
        return None


class AnyRoleWrites(_TokenLookup):
    """Roles are not checked: viewer and billing tokens may track sales."""

    def request(self, call: Call) -> Answer | None:
        record = self.token_record(call)
        if record is not None and record.get("role") in {"viewer", "billing"}:
            call.environ["HTTP_AUTHORIZATION"] = "Bearer dub_mock_key"
        return None


class AnyPlanWrites(_TokenLookup):
    """Plans are not checked: free and pro workspaces may track sales."""

    def request(self, call: Call) -> Answer | None:
        record = self.token_record(call)
        if record is not None and record.get("plan") in {"free", "pro"}:
            call.environ["HTTP_AUTHORIZATION"] = "Bearer dub_mock_key"
        return None


# Rate limits ---------------------------------------------------------------------------------


class RateHeadersOnlyOn200(Rewriter):
    """Error answers lose the rate-limit headers."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status != 200:
            answer.drop_headers(*RATE_HEADERS)


class RetryAfterMissingOn429(Rewriter):
    """The 429 answer has no Retry-After header."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status == 429:
            answer.drop_headers("Retry-After")


class ResetInSeconds(Rewriter):
    """X-RateLimit-Reset is in Unix seconds instead of milliseconds."""

    def response(self, call: Call, answer: Answer) -> None:
        reset = answer.header("X-RateLimit-Reset")
        if reset is not None:
            answer.set_header("X-RateLimit-Reset", str(int(reset) // 1000))


class RemainingFrozen(Rewriter):
    """X-RateLimit-Remaining never goes down: it always shows the full limit."""

    def response(self, call: Call, answer: Answer) -> None:
        limit = answer.header("X-RateLimit-Limit")
        if limit is not None and answer.status != 429:
            answer.set_header("X-RateLimit-Remaining", limit)


# Envelope and routing ------------------------------------------------------------------------


class FlatErrorEnvelope(Rewriter):
    """Errors are {"code", "message"} at the top level, without the "error" wrapper."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status != 200 and isinstance(answer.json, dict) and "error" in answer.json:
            error = answer.json["error"]
            answer.json = {"code": error.get("code"), "message": error.get("message")}


class DocUrlAllHyphens(Rewriter):
    """doc_url turns every underscore into a hyphen: rate-limit-exceeded."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status != 200 and isinstance(answer.json, dict) and "error" in answer.json:
            error = answer.json["error"]
            error["doc_url"] = "https://dub.co/docs/api-reference/errors#" + str(
                error.get("code")
            ).replace("_", "-")


class TextPlainErrors(Rewriter):
    """Error answers are sent as text/plain."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status != 200:
            answer.set_header("Content-Type", "text/plain; charset=utf-8")


class WrongMethod404(Rewriter):
    """GET /track/sale answers 404 instead of 405 with Allow."""

    def request(self, call: Call) -> Answer | None:
        if call.path == "/track/sale" and call.method != "POST":
            return dub_error(404, "not_found", f"The requested path {call.path} was not found.")
        return None
