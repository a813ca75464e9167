"""A tiny shop: sign-up, a catalogue, a cart, and a checkout that report conversions to Dub."""

from .accounts import Accounts, User
from .checkout import Checkout, Order
from .tracking import DUB_COOKIE, HttpTracker, SdkTracker, TrackingError

__all__ = [
    "DUB_COOKIE",
    "Accounts",
    "Checkout",
    "HttpTracker",
    "Order",
    "SdkTracker",
    "TrackingError",
    "User",
]
