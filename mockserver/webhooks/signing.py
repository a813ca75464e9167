"""`Dub-Signature`: lowercase hex HMAC-SHA256 of the exact body bytes, keyed by the whole
endpoint secret (its `whsec_` prefix included), as Dub signs its webhooks."""

from __future__ import annotations

import hmac


def sign(body: bytes, secret: str) -> str:
    """The `Dub-Signature` header for `body` sent to an endpoint with `secret`."""
    return hmac.digest(secret.encode("utf-8"), body, "sha256").hex()


def verify(body: bytes, signature: str, secret: str) -> bool:
    """Whether `signature` is the one Dub would send with `body`; constant-time."""
    return hmac.compare_digest(sign(body, secret), signature)
