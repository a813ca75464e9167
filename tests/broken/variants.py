"""Deliberately broken implementations of POST /track/sale, each with one realistic fault.

Every variant wraps the faithful mock and changes what one rule needs changed, the way a real
implementation might get it wrong. `breaks` names the contract checks (test names) of which at
least one must fail against it: the proof that `dub-mock check` catches the fault and names it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .middleware import Answer, Call, Rewriter, dub_error

if TYPE_CHECKING:
    from mockserver.app import MockApp

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                "VND", "VUV", "XAF", "XOF", "XPF"}  # fmt: skip


def _body(call: Call) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


def _sale(answer: Answer) -> dict[str, Any] | None:
    data = answer.json
    if answer.status == 200 and isinstance(data, dict) and isinstance(data.get("sale"), dict):
        return data["sale"]
    return None


# Answers -------------------------------------------------------------------------------------


class LeakedField(Rewriter):
    """The 200 answer leaks the customer's workspaceId (the spec forbids extra keys)."""

    def response(self, call: Call, answer: Answer) -> None:
        if answer.status == 200 and isinstance(answer.json, dict) and answer.json.get("customer"):
            answer.json["customer"]["workspaceId"] = "ws_mock"


class Created201(Rewriter):
    """A recorded sale answers 201 Created, which the spec does not document."""

    def response(self, call: Call, answer: Answer) -> None:
        if _sale(answer) is not None:
            answer.status = 201


class UnknownCustomer404(Rewriter):
    """An unknown customer answers 404 'Customer not found' instead of 200 with nulls."""

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        body = _body(call)
        if (
            call.is_sale
            and answer.status == 200
            and isinstance(data, dict)
            and data.get("customer") is None
            and body.get("amount") != 0
        ):
            replacement = dub_error(404, "not_found", "Customer not found")
            answer.status, answer.json = 404, replacement.json


class AmountZeroRecorded(Rewriter):
    """amount 0 records a sale of 0 instead of answering nulls."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        if call.is_sale and body.get("amount") == 0:
            body["amount"] = 1
        return None

    def response(self, call: Call, answer: Answer) -> None:
        sale = _sale(answer)
        if (
            sale is not None
            and isinstance(call.original, dict)
            and call.original.get("amount") == 0
        ):
            sale["amount"] = 0


class DefaultProcessorStripe(Rewriter):
    """paymentProcessor defaults to 'stripe' instead of 'custom'."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        if call.is_sale and body and "paymentProcessor" not in body:
            body["paymentProcessor"] = "stripe"
        return None


class CustomerIdUuid(Rewriter):
    """Customer ids are 'cus_' + a hex UUID, not the 26-character ULID-style id."""

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        if answer.status == 200 and isinstance(data, dict) and data.get("customer"):
            original = data["customer"]["id"]
            data["customer"]["id"] = "cus_" + hashlib.md5(original.encode()).hexdigest()


class DirectNameIgnoresEmail(Rewriter):
    """A direct sale without customerName gets a random name even when an email is given."""

    def response(self, call: Call, answer: Answer) -> None:
        body, data = _body(call), answer.json
        direct = body.get("clickId") and body.get("customerEmail") and not body.get("customerName")
        if direct and answer.status == 200 and isinstance(data, dict) and data.get("customer"):
            data["customer"]["name"] = "Brave Teal Otter"


class FirstLeadByDefault(Rewriter):
    """Without leadEventName the customer's first lead is used, not the latest."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        external_id = body.get("customerExternalId")
        if not call.is_sale or "leadEventName" in body or not isinstance(external_id, str):
            return None
        snapshot = self.app.store.snapshot()
        ids = {c["id"] for c in snapshot["customers"] if c["externalId"] == external_id}
        leads = [lead for lead in snapshot["leads"] if lead["customerId"] in ids]
        if leads:
            body["leadEventName"] = min(leads, key=lambda lead: lead["timestamp"])["eventName"]
        return None


class EmptyAvatarNulled(Rewriter):
    """customerAvatar "" comes back as null instead of ""."""

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        customer = data.get("customer") if isinstance(data, dict) else None
        if answer.status == 200 and customer and customer.get("avatar") == "":
            customer["avatar"] = None


class UnknownClickNulls(Rewriter):
    """An unknown click answers 200 with nulls instead of 404."""

    def response(self, call: Call, answer: Answer) -> None:
        message = (
            str((answer.json or {}).get("error", {}).get("message", ""))
            if isinstance(answer.json, dict)
            else ""
        )
        if answer.status == 404 and message.startswith("Click event not found"):
            event = _body(call).get("eventName") or "Purchase"
            answer.status = 200
            answer.json = {"eventName": event, "customer": None, "sale": None}


# Idempotency ---------------------------------------------------------------------------------


class IdempotencyIgnored(Rewriter):
    """invoiceId is stored but never looked up: every retry records a new sale."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.counter = 0
        self.lock = threading.Lock()

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        if call.is_sale and isinstance(body.get("invoiceId"), str):
            with self.lock:
                self.counter += 1
                body["invoiceId"] = f"{body['invoiceId']}#{self.counter}"
        return None

    def response(self, call: Call, answer: Answer) -> None:
        sale = _sale(answer)
        if sale is not None and isinstance(sale.get("invoiceId"), str):
            sale["invoiceId"] = sale["invoiceId"].rsplit("#", 1)[0]


class IdempotencyRace(IdempotencyIgnored):
    """Check-then-set without a lock: retries replay, but simultaneous requests all record."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.seen: dict[str, Answer] = {}

    def request(self, call: Call) -> Answer | None:
        invoice = _body(call).get("invoiceId")
        if not call.is_sale or not isinstance(invoice, str):
            return None
        stored = self.seen.get(invoice)  # the check ...
        if stored is not None:
            return Answer(stored.status, list(stored.headers), stored.body, json.loads(stored.body))
        time.sleep(0.05)  # ... the work in between ...
        return super().request(call)

    def response(self, call: Call, answer: Answer) -> None:
        super().response(call, answer)
        invoice = call.original.get("invoiceId") if isinstance(call.original, dict) else None
        if isinstance(invoice, str) and _sale(answer) is not None and invoice not in self.seen:
            body = json.dumps(answer.json).encode()
            self.seen[invoice] = Answer(200, list(answer.headers), body)  # ... and the set


class ReplayEchoesNewAmount(Rewriter):
    """A replayed invoice answers with the new request's amount, not the stored answer."""

    def response(self, call: Call, answer: Answer) -> None:
        sale, body = _sale(answer), _body(call)
        if (
            sale is not None
            and isinstance(body.get("amount"), int)
            and body.get("currency") is None
        ):
            sale["amount"] = body["amount"]


class IdempotencyAcrossWorkspaces(Rewriter):
    """Invoices are remembered globally: another workspace's invoice is replayed to you."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.answers: dict[str, bytes] = {}

    def request(self, call: Call) -> Answer | None:
        invoice = _body(call).get("invoiceId")
        if call.is_sale and isinstance(invoice, str) and invoice in self.answers:
            stored = self.answers[invoice]
            return Answer(200, [("Content-Type", "application/json")], stored, json.loads(stored))
        return None

    def response(self, call: Call, answer: Answer) -> None:
        invoice = _body(call).get("invoiceId")
        if isinstance(invoice, str) and _sale(answer) is not None:
            self.answers.setdefault(invoice, json.dumps(answer.json).encode())


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


# Currency ------------------------------------------------------------------------------------


class ZeroDecimalNotScaled(Rewriter):
    """Zero-decimal currencies are treated as cents: 1580 JPY becomes about 11 cents."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        currency, amount = body.get("currency"), body.get("amount")
        if (
            isinstance(currency, str)
            and currency.upper() in ZERO_DECIMAL
            and isinstance(amount, int)
        ):
            body["amount"] = round(amount / 100)
        return None


class NotConverted(Rewriter):
    """Foreign currencies are recorded as sent, never converted to USD."""

    def response(self, call: Call, answer: Answer) -> None:
        sale, body = _sale(answer), _body(call)
        currency = body.get("currency")
        if sale is not None and isinstance(currency, str) and currency.lower() != "usd":
            sale["currency"], sale["amount"] = currency.lower(), body.get("amount")


class CurrencyCaseKept(Rewriter):
    """Currency codes are not lower-cased: 'USD' and 'EUR' are unknown and kept as sent."""

    def response(self, call: Call, answer: Answer) -> None:
        sale, body = _sale(answer), _body(call)
        currency = body.get("currency")
        if sale is not None and isinstance(currency, str) and currency != currency.lower():
            sale["currency"], sale["amount"] = currency, body.get("amount")


@dataclass(frozen=True)
class Variant:
    """A named broken implementation and the checks that must catch it."""

    name: str
    build: Callable[[MockApp], Rewriter]
    breaks: tuple[str, ...]

    @property
    def fault(self) -> str:
        doc = self.build.__doc__ or ""
        return doc.strip().splitlines()[0]


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "leaked-field",
        LeakedField,
        ("test_spec_conformance", "test_sale_answer_shape_and_defaults"),
    ),
    Variant("created-201", Created201, ("test_sale_answer_shape_and_defaults",)),
    Variant("unknown-customer-404", UnknownCustomer404, ("test_unknown_customer_answers_nulls",)),
    Variant("amount-zero-recorded", AmountZeroRecorded, ("test_amount_zero_answers_nulls",)),
    Variant(
        "default-processor-stripe", DefaultProcessorStripe, ("test_sale_answer_shape_and_defaults",)
    ),
    Variant("customer-id-uuid", CustomerIdUuid, ("test_direct_sale_creates_the_customer",)),
    Variant(
        "direct-name-ignores-email",
        DirectNameIgnoresEmail,
        ("test_direct_sale_name_falls_back_to_email",),
    ),
    Variant("first-lead-by-default", FirstLeadByDefault, ("test_latest_lead_is_used_by_default",)),
    Variant(
        "empty-avatar-nulled",
        EmptyAvatarNulled,
        ("test_direct_sale_keeps_empty_avatar_and_names_empty_lead",),
    ),
    Variant(
        "idempotency-across-workspaces",
        IdempotencyAcrossWorkspaces,
        ("test_invoice_ids_are_per_workspace",),
    ),
    Variant("unknown-click-nulls", UnknownClickNulls, ("test_unknown_click_is_404",)),
    Variant(
        "idempotency-ignored",
        IdempotencyIgnored,
        ("test_repeated_invoice_replays_the_first_answer",),
    ),
    Variant(
        "idempotency-race",
        IdempotencyRace,
        ("test_concurrent_requests_on_one_invoice_record_once",),
    ),
    Variant(
        "replay-echoes-new-amount",
        ReplayEchoesNewAmount,
        ("test_repeated_invoice_replays_the_first_answer",),
    ),
    Variant(
        "negative-amount-accepted",
        NegativeAmountAccepted,
        ("test_schema_violation_is_422_naming_the_field",),
    ),
    Variant(
        "email-unvalidated", EmailUnvalidated, ("test_schema_violation_is_422_naming_the_field",)
    ),
    Variant(
        "metadata-unbounded", MetadataUnbounded, ("test_schema_violation_is_422_naming_the_field",)
    ),
    Variant(
        "extra-properties-rejected",
        ExtraPropertiesRejected,
        ("test_unknown_properties_are_ignored",),
    ),
    Variant(
        "generic-validation-message",
        GenericValidationMessage,
        ("test_schema_violation_is_422_naming_the_field",),
    ),
    Variant("empty-body-422", EmptyBody422, ("test_invalid_json_is_400", "test_no_body_is_400")),
    Variant(
        "required-checked-first",
        RequiredCheckedFirst,
        ("test_schema_checked_before_missing_external_id",),
    ),
    Variant("aliases-ignored", AliasesIgnored, ("test_deprecated_aliases_name_the_customer",)),
    Variant(
        "html-crash-on-unicode", HtmlCrashOnUnicode, ("test_direct_sale_creates_the_customer",)
    ),
    Variant(
        "bearer-checked-late", BearerCheckedLate, ("test_authorization_without_bearer_is_400",)
    ),
    Variant("auth-optional", AuthOptional, ("test_missing_authorization_is_401",)),
    Variant("personal-key-401", PersonalKey401, ("test_personal_api_key_is_404",)),
    Variant("expired-token-accepted", ExpiredTokenAccepted, ("test_expired_token_is_401",)),
    Variant("any-role-writes", AnyRoleWrites, ("test_role_without_write_access_is_403",)),
    Variant("any-plan-writes", AnyPlanWrites, ("test_plan_below_business_is_403",)),
    Variant(
        "rate-headers-only-on-200", RateHeadersOnlyOn200, ("test_headers_on_success_and_on_errors",)
    ),
    Variant("retry-after-missing-on-429", RetryAfterMissingOn429, ("test_over_the_limit_is_429",)),
    Variant("reset-in-seconds", ResetInSeconds, ("test_headers_on_success_and_on_errors",)),
    Variant("remaining-frozen", RemainingFrozen, ("test_remaining_goes_down",)),
    Variant(
        "flat-error-envelope",
        FlatErrorEnvelope,
        ("test_spec_conformance", "test_missing_authorization_is_401"),
    ),
    Variant(
        "doc-url-all-hyphens",
        DocUrlAllHyphens,
        ("test_over_the_limit_is_429", "test_undeclared_method_is_405_with_allow"),
    ),
    Variant(
        "text-plain-errors",
        TextPlainErrors,
        ("test_spec_conformance", "test_missing_authorization_is_401"),
    ),
    Variant("wrong-method-404", WrongMethod404, ("test_undeclared_method_is_405_with_allow",)),
    Variant(
        "zero-decimal-not-scaled",
        ZeroDecimalNotScaled,
        ("test_zero_decimal_currency_is_converted",),
    ),
    Variant("not-converted", NotConverted, ("test_two_decimal_currency_is_converted",)),
    Variant("currency-case-kept", CurrencyCaseKept, ("test_usd_is_lower_cased_and_kept",)),
)
