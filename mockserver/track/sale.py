"""The track-sale rules (BEHAVIOR §2-§3): no HTTP here, only a checked body and the state."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..fx import to_usd_cents
from ..models import Clock, IdFactory, Record, iso_time, public_customer
from ..store import StateView, Store
from ..store.base import SEVEN_DAYS_MS
from .common import EventSink, add_customer, add_leads, live_link

DIRECT_SALE_LEAD = "Direct sale tracking lead event"


class SaleRequest:
    """The body after rules 10-12: aliases resolved, defaults applied, currency lower-cased."""

    __slots__ = (
        "amount", "click_id", "currency", "customer_avatar", "customer_email",
        "customer_name", "event_name", "external_id", "invoice_id", "lead_event_name",
        "metadata", "payment_processor",
    )  # fmt: skip

    def __init__(self, body: dict[str, Any], external_id: str, defaults: dict[str, Any]) -> None:
        def field(name: str) -> Any:
            value = body.get(name)
            return defaults.get(name) if value is None else value

        self.external_id = external_id
        self.amount: int = int(body["amount"])
        self.currency: str = str(field("currency") or "usd").lower()
        self.event_name: str = field("eventName") or "Purchase"
        self.payment_processor: str = field("paymentProcessor") or "custom"
        self.invoice_id: str | None = field("invoiceId")
        self.metadata: dict[str, Any] | None = field("metadata")
        self.lead_event_name: str | None = field("leadEventName")
        self.click_id: str | None = body.get("clickId") or None
        self.customer_name: str | None = field("customerName") or None
        self.customer_email: str | None = field("customerEmail")
        self.customer_avatar: str | None = field("customerAvatar")


class SaleTracker:
    """Records sales exactly once per invoice; the store's transaction makes it atomic."""

    def __init__(self, store: Store, ids: IdFactory, clock: Clock, events: EventSink) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock
        self._events = events

    def track(self, workspace_id: str, sale: SaleRequest) -> dict[str, Any]:
        now = self._clock()
        now_ms = int(now * 1000)
        with self._store.transaction() as view:
            if sale.invoice_id is not None:
                stored = view.sale_response(workspace_id, sale.invoice_id, now_ms - SEVEN_DAYS_MS)
                if stored is not None:
                    return stored
            customer = view.customer(workspace_id, sale.external_id)
            if customer is not None:
                link = live_link(view, customer.get("linkId"), f"customer {customer['id']}", "sale")
                lead = view.latest_lead(customer["id"], sale.lead_event_name)
                if lead is None:
                    name = "null" if sale.lead_event_name is None else sale.lead_event_name
                    raise NotFound(
                        f"Lead event not found for externalId: {sale.external_id} "
                        f"and leadEventName: {name}"
                    )
            elif sale.click_id is None:
                return _nothing_recorded(sale)
            else:
                customer, link, lead = self._direct_sale(view, workspace_id, sale, now)
            if sale.amount == 0:
                return _nothing_recorded(sale)
            return self._record(view, workspace_id, sale, customer, link, lead, now)

    def _direct_sale(
        self, view: StateView, workspace_id: str, sale: SaleRequest, now: float
    ) -> tuple[Record, Record, Record]:
        """Rule 16: a sale for a click, creating its customer and lead."""
        assert sale.click_id is not None
        click = view.click(sale.click_id)
        if click is None or click.get("workspaceId") != workspace_id:
            raise NotFound(f"Click event not found for clickId: {sale.click_id}")
        link = live_link(view, click.get("linkId"), f"clickId {sale.click_id}", "sale")
        customer = add_customer(
            view,
            self._ids,
            workspace_id,
            sale.external_id,
            name=sale.customer_name,
            email=sale.customer_email,
            avatar=sale.customer_avatar,
            click=click,
            link=link,
            created_at=iso_time(now),
        )
        (lead,) = add_leads(
            view,
            self._ids,
            customer,
            link,
            click["id"],
            event_name=DIRECT_SALE_LEAD if sale.lead_event_name is None else sale.lead_event_name,
            metadata=None,
            quantity=1,
            timestamp=iso_time(now),
        )
        records = {"click": click, "link": link, "customer": customer, "lead": lead}
        self._events.emit(view, workspace_id, "lead.created", records, now)
        return customer, link, lead

    def _record(
        self,
        view: StateView,
        workspace_id: str,
        sale: SaleRequest,
        customer: Record,
        link: Record,
        lead: Record,
        now: float,
    ) -> dict[str, Any]:
        """Rules 18-20: convert, store the sale and its side effects, build the answer."""
        amount, currency = to_usd_cents(sale.amount, sale.currency, self._store.fx_rates)
        timestamp = iso_time(now)
        record = {
            "id": self._ids.event_id(),
            "workspaceId": workspace_id,
            "customerId": customer["id"],
            "linkId": link["id"],
            "clickId": lead.get("clickId") or customer.get("clickId"),
            "leadId": lead["id"],
            "eventName": sale.event_name,
            "amount": amount,
            "currency": currency,
            "originalAmount": sale.amount,
            "originalCurrency": sale.currency,
            "paymentProcessor": sale.payment_processor,
            "invoiceId": sale.invoice_id,
            "metadata": sale.metadata,
            "timestamp": timestamp,
        }
        first_sale = customer.get("sales", 0) == 0
        link["sales"] = link.get("sales", 0) + 1
        link["saleAmount"] = link.get("saleAmount", 0) + amount
        if first_sale:
            link["conversions"] = link.get("conversions", 0) + 1
            customer["firstSaleAt"] = timestamp
        customer["sales"] = customer.get("sales", 0) + 1
        customer["saleAmount"] = customer.get("saleAmount", 0) + amount
        response = {
            "eventName": sale.event_name,
            "customer": public_customer(customer),
            "sale": {
                "amount": amount,
                "currency": currency,
                "paymentProcessor": sale.payment_processor,
                "invoiceId": sale.invoice_id,
                "metadata": sale.metadata,
            },
        }
        view.put_link(link)
        view.put_customer(customer)
        view.put_sale(record, response, int(now * 1000))
        records = {"customer": customer, "link": link, "lead": lead, "sale": record}
        self._events.emit(view, workspace_id, "sale.created", records, now)
        return response


def _nothing_recorded(sale: SaleRequest) -> dict[str, Any]:
    return {"eventName": sale.event_name, "customer": None, "sale": None}
