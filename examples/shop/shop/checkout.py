"""The checkout: price the cart, take the order, report the sale to Dub.

A paid order must never be lost because Dub is slow or down, so a tracking failure that may
pass (429, 5xx, a timeout) parks the sale in an outbox; ``flush()`` sends it again later with
the same invoice id, which Dub records at most once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .tracking import Sale, Tracked, Tracker, TrackingError

#: price in the smallest unit of the currency
CATALOGUE: dict[str, tuple[int, str]] = {
    "tshirt": (2500, "usd"),
    "mug": (1200, "usd"),
    "poster_eu": (1500, "eur"),
    "stickers_jp": (800, "jpy"),
}


@dataclass
class Order:
    id: str
    user: str
    amount: int
    currency: str
    sale: Sale | None = None
    tracked: Tracked | None = None
    tracking_error: TrackingError | None = None


@dataclass
class Checkout:
    """Takes orders for one shop; ``tracker`` is how sales reach Dub."""

    tracker: Tracker
    outbox: list[Sale] = field(default_factory=list)
    _numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1001), init=False, repr=False
    )

    def checkout(self, user: str, items: dict[str, int]) -> Order:
        """Place an order for ``items`` (product → quantity) and report the sale."""
        if not items:
            raise ValueError("the cart is empty")
        currencies = {CATALOGUE[product][1] for product in items}
        if len(currencies) != 1:
            raise ValueError("one currency per order")
        amount = sum(CATALOGUE[product][0] * quantity for product, quantity in items.items())
        order = Order(f"order_{next(self._numbers)}", user, amount, currencies.pop())
        sale = Sale(
            customer_external_id=user,
            amount=amount,
            currency=order.currency,
            invoice_id=order.id,
            metadata={"items": dict(sorted(items.items()))},
        )
        order.sale = sale
        self._send(order, sale)
        return order

    def _send(self, order: Order, sale: Sale) -> None:
        try:
            order.tracked = self.tracker.track_sale(sale)
        except TrackingError as error:
            order.tracking_error = error
            if error.retryable:
                self.outbox.append(sale)
        except OSError as error:  # timeouts and refused connections: Dub unreachable
            order.tracking_error = TrackingError(0, "unreachable", str(error))
            self.outbox.append(sale)

    def flush(self) -> int:
        """Send the parked sales again; returns how many got through."""
        pending, self.outbox = self.outbox, []
        sent = 0
        for sale in pending:
            try:
                self.tracker.track_sale(sale)
                sent += 1
            except (TrackingError, OSError):
                self.outbox.append(sale)
        return sent
