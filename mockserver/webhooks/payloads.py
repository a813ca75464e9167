"""The `data` of Dub's webhook events, shaped like Dub's sample events and filled from the
mock's own records; what the mock does not know is a plausible default or null."""

from __future__ import annotations

from typing import Any

from ..models import Record

#: Link fields of Dub's sample events, in their order, with the value the mock gives a link
#: it knows nothing more about.
LINK_DEFAULTS: dict[str, Any] = {
    "id": None, "domain": None, "key": None, "url": None, "trackConversion": True,
    "externalId": None, "tenantId": None, "partnerId": None, "programId": None,
    "archived": False, "expiresAt": None, "expiredUrl": None, "disabledAt": None,
    "password": None, "proxy": False, "title": None, "description": None, "image": None,
    "video": None, "rewrite": False, "doIndex": False, "ios": None, "android": None,
    "geo": None, "publicStats": False, "folderId": None, "tagId": None, "tags": [],
    "webhookIds": [], "comments": None, "shortLink": None, "qrCode": None,
    "utm_source": None, "utm_medium": None, "utm_campaign": None, "utm_term": None,
    "utm_content": None, "userId": None, "workspaceId": None, "clicks": 0,
    "lastClicked": None, "leads": 0, "sales": 0, "saleAmount": 0, "createdAt": None,
    "updatedAt": None, "projectId": None, "testVariants": None, "testCompletedAt": None,
    "testStartedAt": None,
}  # fmt: skip


def link_data(link: Record) -> dict[str, Any]:
    data = LINK_DEFAULTS.copy()  # Dub's order; then what the link has of those fields
    for name, value in link.items():
        if name in data:
            data[name] = value
    data["tags"], data["webhookIds"] = [], []
    if link.get("disabled"):
        data["disabledAt"] = link.get("createdAt")
    if data["shortLink"]:
        data["qrCode"] = f"https://api.dub.co/qr?url={data['shortLink']}?qr=1"
    workspace_id = str(link.get("workspaceId") or "")
    data["projectId"] = workspace_id.removeprefix("ws_") or None
    data["updatedAt"] = link.get("createdAt")
    return data


def click_data(click: Record | None, link: Record) -> dict[str, Any]:
    """Dub's click: what the mock recorded, the geography and device a plausible default."""
    click = click or {}
    referrer = click.get("referrer")
    return {
        "id": click.get("id"),
        "timestamp": click.get("timestamp"),
        "url": click.get("url") or link.get("url"),
        "country": "US",
        "city": "San Francisco",
        "region": "CA",
        "continent": "NA",
        "device": "Desktop",
        "browser": "Chrome",
        "os": "Mac OS",
        "ua": click.get("ua") or "",
        "referer": _referer_host(referrer),
        "refererUrl": referrer or "(direct)",
        "qr": False,
        "ip": click.get("ip") or "",
    }


def customer_data(customer: Record) -> dict[str, Any]:
    return {
        "id": customer["id"],
        "externalId": customer["externalId"],
        "name": customer["name"],
        "email": customer["email"],
        "avatar": customer["avatar"],
        "createdAt": customer.get("createdAt"),
    }


def event_data(trigger: str, records: dict[str, Any]) -> dict[str, Any]:
    """`data` for one of the three triggers, from the records the operation wrote."""
    link: Record = records["link"]
    click = click_data(records.get("click"), link)
    if trigger == "link.clicked":
        return {"click": click, "link": link_data(link)}
    lead: Record = records["lead"]
    customer = customer_data(records["customer"])
    if trigger == "lead.created":
        return {
            "eventName": lead["eventName"],
            "customer": customer,
            "click": click,
            "link": link_data(link),
            "metadata": lead.get("metadata"),
        }
    sale: Record = records["sale"]
    return {
        "eventName": sale["eventName"],
        "customer": customer,
        "click": click,
        "link": link_data(link),
        "sale": {
            "amount": sale["amount"],
            "currency": sale["currency"],
            "paymentProcessor": sale["paymentProcessor"],
            "invoiceId": sale["invoiceId"],
        },
        "metadata": sale.get("metadata"),
    }


def sample_records(trigger: str, workspace_id: str, now_iso: str) -> dict[str, Any]:
    """Made-up records for a test event (`POST /__mock/webhooks/test`): nothing is stored."""
    link = {
        "id": "link_sample", "workspaceId": workspace_id, "domain": "dub.sh",
        "key": "sample", "url": "https://example.com", "shortLink": "https://dub.sh/sample",
        "clicks": 1, "leads": 1, "sales": 1, "saleAmount": 4900, "createdAt": now_iso,
    }  # fmt: skip
    click = {"id": "sampleClickId001", "timestamp": now_iso, "url": "https://example.com",
             "ua": "Mozilla/5.0", "ip": "127.0.0.1", "referrer": None}  # fmt: skip
    customer = {"id": "cus_sample", "externalId": "sample_customer", "name": "Big Red Caribou",
                "email": None, "avatar": None, "createdAt": now_iso}  # fmt: skip
    lead = {"eventName": "Sign up", "metadata": None}
    sale = {"eventName": "Purchase", "amount": 4900, "currency": "usd",
            "paymentProcessor": "custom", "invoiceId": None, "metadata": None}  # fmt: skip
    return {"link": link, "click": click, "customer": customer, "lead": lead, "sale": sale}


def _referer_host(referrer: str | None) -> str:
    """Dub's `referer`: the referring page's host, or "(direct)"."""
    if not referrer:
        return "(direct)"
    from urllib.parse import urlsplit

    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        host = None
    return host or "(direct)"
