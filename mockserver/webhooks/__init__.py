"""Dub's webhooks: `link.clicked`, `lead.created` and `sale.created`, signed, queued and
delivered with retries (BEHAVIOR §7).

`sign` and `verify` are for users who unit-test their own receivers:

    from mockserver.webhooks import verify
    assert verify(raw_body, request.headers["Dub-Signature"], "whsec_...")
"""

from .signing import sign as sign
from .signing import verify as verify
