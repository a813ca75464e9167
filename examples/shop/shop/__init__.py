"""A tiny shop: a catalogue, a cart, and a checkout that reports each sale to Dub."""

from .checkout import Checkout, Order
from .tracking import HttpSaleTracker, SdkSaleTracker, TrackingError

__all__ = ["Checkout", "HttpSaleTracker", "Order", "SdkSaleTracker", "TrackingError"]
