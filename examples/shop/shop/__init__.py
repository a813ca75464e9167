"""A tiny shop: sign-up, a catalogue, a cart, and a checkout that report conversions to Dub,
and the endpoint that receives Dub's webhooks."""

from .accounts import Accounts, User
from .checkout import Checkout, Order
from .tracking import DUB_COOKIE, HttpTracker, SdkTracker, TrackingError
from .webhooks import Rewards, WebhookEndpoint, is_from_dub

__all__ = [
    "DUB_COOKIE",
    "Accounts",
    "Checkout",
    "HttpTracker",
    "Order",
    "Rewards",
    "SdkTracker",
    "TrackingError",
    "User",
    "WebhookEndpoint",
    "is_from_dub",
]
