"""What the funnel's scenarios share: Dub's messages, request builders, and follow-up probes.

A follow-up probe observes, with nothing but the API a client has, what an earlier request
recorded. `/track/sale` with `amount: 0` is the instrument: rule 14 looks the customer and its
lead events up before rule 17 answers the nulls of an amount 0, so

- a `leadEventName` no lead has answers 404 "Lead event not found" exactly when the customer
  exists, and 200 with nulls when it does not (rule 15);
- a `leadEventName` answers 200 when the customer has a lead of that name, 404 when not;

and no sale is recorded by any of them (amount 0 records nothing, rule 17), so the probes are
safe on a real workspace too. See OBSERVABILITY.md.
"""

from __future__ import annotations

import re
import time
from typing import Any

from contract_tests.client import Exchange
from contract_tests.rules import check, expect_error, expect_ok
from contract_tests.target import Target

INVALID_JSON = (
    "Invalid JSON format in request body. Please ensure the request body is a valid JSON object."
)
REQUIRED = "customerExternalId is required"
NO_CLICK_ID = (
    "The `clickId` property was not provided in the request, and no existing customer with the "
    "provided `customerExternalId` was found."
)
MISSING_PUBLISHABLE_KEY = "Missing publishable key."
INVALID_PUBLISHABLE_KEY = "Invalid or missing publishable key."
UNKNOWN_PUBLISHABLE_KEY = "Invalid publishable key."
NEED_HIGHER_PLAN = "Unauthorized: Need higher plan."
UNKNOWN_API_KEY = "Unauthorized: Invalid API key."
TOO_MANY = "Too many requests."
CLICK_ID = re.compile(r"^[0-9A-Za-z]{16}$")
CUSTOMER_ID = re.compile(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$")
RANDOM_NAME = re.compile(r"^\S+ \S+ \S+$")
LEAD_NOT_FOUND = re.compile(r"^Lead event not found for externalId: ")
# Real Dub records an `async` lead shortly after answering (BEHAVIOR §4 L5); a follow-up that
# expects to find it asks again for this long before it concludes the lead was not recorded.
LEAD_VISIBLE_WITHIN_S = 5.0
POLL_S = 0.25


def hostnames_message(hostname: str) -> str:
    """§5's 403 for an origin the workspace's allowed hostnames do not include."""
    return (
        f"Request origin '{hostname}' is not included in the allowed hostnames for this "
        "workspace. Update your allowed hostnames here: https://app.dub.co/settings/tracking"
    )


def lead_body(dub: Target, click_id: str | None, **fields: Any) -> dict[str, Any]:
    """A lead for a fresh customer (dubmock-check-lead-...) on `click_id`, eventName 'Sign up'."""
    body: dict[str, Any] = {"eventName": "Sign up", "customerExternalId": dub.unique("lead")}
    if click_id is not None:
        body["clickId"] = click_id
    body.update(fields)
    return body


def visitor(dub: Target) -> dict[str, str]:
    """Headers of a browser no earlier click came from (C4 dedups by IP and User-Agent)."""
    return {"User-Agent": f"Mozilla/5.0 (dubmock-check) {dub.unique('ua')}"}


def customer_exists(dub: Target, external_id: str, rule: str, *shown: Exchange) -> bool:
    """Whether the target stores a customer with `external_id`, seen through /track/sale.

    A lead name no lead has: 404 "Lead event not found" when the customer exists (rule 14),
    200 with nulls when it does not (rule 15). Amount 0 records nothing either way.
    """
    name = dub.unique("no-such-lead")
    probe = dub.client.sale({"customerExternalId": external_id, "amount": 0, "leadEventName": name})
    if probe.status == 404:
        message = f"Lead event not found for externalId: {external_id} and leadEventName: {name}"
        expect_error(probe, rule, 404, "not_found", message)
        return True
    data = expect_ok(probe, rule)
    check(data["customer"] is None, rule, "an amount-0 probe answered a customer", *shown, probe)
    return False


def has_lead(dub: Target, external_id: str, event_name: str, rule: str, *shown: Exchange) -> bool:
    """Whether a customer `external_id` exists with a lead named `event_name`, through /track/sale.

    The customer must exist (probed first). Then 200 with nulls: rule 14 found the lead and rule
    17 answered amount 0; 404: no lead of that name.
    """
    if not customer_exists(dub, external_id, rule, *shown):
        return False
    body = {"customerExternalId": external_id, "amount": 0, "leadEventName": event_name}
    probe = dub.client.sale(body)
    if probe.status == 404:
        expect_error(probe, rule, 404, "not_found", LEAD_NOT_FOUND)
        return False
    data = expect_ok(probe, rule)
    check(
        data["customer"] is None and data["sale"] is None,
        rule,
        "a sale of amount 0 must answer nulls",
        *shown,
        probe,
    )
    return True


def lead_is_found(
    dub: Target, external_id: str, event_name: str, rule: str, *shown: Exchange
) -> bool:
    """`has_lead`, asked again for a few seconds while it says no: real Dub records an async
    lead just after it answers. Against the mock (which records before answering) one probe."""
    deadline = time.monotonic() + LEAD_VISIBLE_WITHIN_S
    while True:
        if has_lead(dub, external_id, event_name, rule, *shown):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)


def customer_without_lead(dub: Target) -> str:
    """A customer that has no lead event: the admin API's, or on a real server one made by a
    deferred lead on --click-id (L4 creates the customer, L5 records no lead)."""
    if dub.admin is not None:
        return dub.customer(lead=False)
    body = {
        "clickId": dub.click(),
        "eventName": "Sign up",
        "customerExternalId": dub.unique("no-lead"),
        "mode": "deferred",
    }
    answer = dub.client.lead(body)
    check(answer.status == 200, "L4", "a deferred lead must create the customer", answer)
    return str(body["customerExternalId"])
