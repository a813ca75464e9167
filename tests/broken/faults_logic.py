"""Broken variants, part one: faults in what the endpoint answers and records (rules 12-20)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING

from .middleware import Answer, Call, Rewriter, dub_error
from .middleware import request_body as _body
from .middleware import sale_of as _sale

if TYPE_CHECKING:
    from mockserver.app import MockApp

ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                "VND", "VUV", "XAF", "XOF", "XPF"}  # fmt: skip


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
        customer = data.get("customer") if isinstance(data, dict) else None
        if answer.status == 200 and isinstance(customer, dict) and "id" in customer:
            original = customer["id"]
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
