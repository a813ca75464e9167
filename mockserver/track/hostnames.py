"""A workspace's allowed hostnames (BEHAVIOR §5): which pages may track from the browser."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from ..errors import Forbidden


def request_hostname(referer: str | None, origin: str | None) -> str | None:
    """The page's hostname: the Referer's, else the Origin's, without a leading `www.`."""
    for header in (referer, origin):
        if not header:
            continue
        try:
            hostname = urlsplit(header.strip()).hostname
        except ValueError:
            hostname = None
        if hostname:
            return hostname[4:] if hostname.startswith("www.") else hostname
        return None  # a header that names no host: judged as no hostname, not the next header
    return None


def is_allowed(hostname: str | None, allowed: Sequence[str]) -> bool:
    """Exact entries, and `*.example.com` for any hostname ending in `.example.com`."""
    if not allowed:
        return True
    if hostname is None:
        return False
    for entry in allowed:
        if entry.startswith("*."):
            if hostname.endswith(entry[1:]):
                return True
        elif hostname == entry:
            return True
    return False


def check_hostname(allowed: Sequence[str], referer: str | None, origin: str | None) -> None:
    """403 when the workspace lists hostnames and the page's is not among them."""
    if not allowed:
        return
    hostname = request_hostname(referer, origin)
    if not is_allowed(hostname, allowed):
        raise Forbidden(
            f"Request origin '{hostname or 'null'}' is not included in the allowed hostnames "
            "for this workspace. Update your allowed hostnames here: "
            "https://app.dub.co/settings/tracking"
        )
