"""§5 POST /track/click: no key, the link by domain and key, allowed hostnames, dedup, CORS.

A client observes most of §5 itself: the click id it gets back (the same one for the same visitor
within the hour), and whether a lead can use that id (only a recorded click can). On a real server
the link comes from --click-id (a lead for that click answers its domain and key). The allowed
hostnames need a workspace set up for them, so those checks need the admin API.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.client import Exchange
from contract_tests.funnel import (
    CLICK_ID,
    INVALID_JSON,
    hostnames_message,
    lead_body,
    visitor,
)
from contract_tests.rules import (
    RATE_LIMIT_HEADER_NAMES,
    check,
    expect_cors,
    expect_error,
    expect_lead_ok,
)
from contract_tests.target import Target

pytestmark = mark("click")

PARALLEL = 8


def _clicked(answer: Exchange, rule: str = "C5") -> str:
    """A click's 200: exactly {clickId} with a 16-character id; returns the id."""
    check(answer.status == 200, rule, f"expected HTTP 200, got {answer.status}", answer)
    data = answer.json
    check(
        isinstance(data, dict) and set(data) == {"clickId"},
        "C6",
        "the 200 body must be exactly {clickId}",
        answer,
    )
    click_id = data["clickId"]
    check(
        isinstance(click_id, str) and CLICK_ID.match(click_id),
        "C5",
        f"clickId must be 16 characters [0-9A-Za-z], got {click_id!r}",
        answer,
    )
    expect_cors(answer)
    return str(click_id)


def _link_of_lead(dub: Target, click_id: str, *shown: Exchange) -> dict[str, Any] | None:
    """The link a lead on `click_id` answers, or None when the click is unknown (404)."""
    answer = dub.client.lead(lead_body(dub, click_id))
    if answer.status == 404:
        message = f"Click event not found for clickId: {click_id}"
        expect_error(answer, "C5", 404, "not_found", message)
        return None
    data = expect_lead_ok(answer, "C5")
    check(
        data["link"] is not None, "C5", "a first lead on a click answers its link", *shown, answer
    )
    return dict(data["link"])


# C1: the request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-key", "Basic Zm9vOmJhcg=="],
    ids=["none", "bearer-junk", "basic"],
)
def test_click_needs_no_key(dub: Target, authorization: str | None) -> None:
    """C1: /track/click answers 200 without a key, and ignores any Authorization sent."""
    domain, key, _ = dub.click_link()
    headers = visitor(dub)
    if authorization is not None:
        headers["Authorization"] = authorization
    _clicked(dub.client.click({"domain": domain, "key": key}, headers=headers), "C1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "abc"}, "domain"),
        ({"domain": "dub.sh"}, "key"),
        ({"domain": 5, "key": "abc"}, "domain"),
        ({"domain": "dub.sh", "key": None}, "key"),
    ],
    ids=["no-domain", "no-key", "domain-number", "key-null"],
)
def test_click_schema_violation_is_422_naming_the_field(
    dub: Target, body: dict[str, Any], field: str
) -> None:
    """C1: a missing or wrongly typed domain or key answers 422 naming it, with CORS."""
    answer = dub.client.click(body, headers=visitor(dub))
    error = expect_error(answer, "C1", 422, "unprocessable_entity")
    check(field in str(error.get("message")), "C1", f"the 422 must name {field!r}", answer)
    expect_cors(answer)


@pytest.mark.parametrize("raw", [b"{not json", b""], ids=["garbage", "empty"])
def test_click_invalid_json_is_400(dub: Target, raw: bytes) -> None:
    """C1: a body that is not JSON answers 400 (rule 9), with CORS."""
    answer = dub.client.click(raw=raw, headers=visitor(dub))
    expect_error(answer, "C1", 400, "bad_request", INVALID_JSON)
    expect_cors(answer)


def test_click_domain_is_normalised(dub: Target) -> None:
    """C1: a full URL (its hostname) and a leading www. name the same link (and visitor)."""
    domain, key, _ = dub.click_link()
    headers = visitor(dub)
    first = dub.client.click({"domain": domain, "key": key}, headers=headers)
    click_id = _clicked(first, "C1")
    for form in (f"https://www.{domain.upper()}/{key}?ref=x", f"www.{domain}"):
        again = dub.client.click({"domain": form, "key": key}, headers=headers)
        check(
            _clicked(again, "C1") == click_id,
            "C1",
            f"domain {form!r} must name the link on {domain!r}: the same visitor's click",
            first,
            again,
        )


# C2: the link ----------------------------------------------------------------------------------


def test_click_unknown_link_is_404(dub: Target) -> None:
    """C2: no link with that domain and key answers 404 naming both, with CORS."""
    key = dub.unique("no-link")
    answer = dub.client.click({"domain": "dub.sh", "key": key}, headers=visitor(dub))
    message = f"Link not found for domain: dub.sh and key: {key}."
    expect_error(answer, "C2", 404, "not_found", message)
    expect_cors(answer)


# C3: allowed hostnames -------------------------------------------------------------------------

ALLOWED = ["shop.example", "*.brand.example"]


@pytest.fixture
def guarded_link(dub: Target) -> tuple[str, str]:
    """(domain, key) of a link in a workspace that allows only ALLOWED hostnames."""
    workspace = dub.workspace(allowed_hostnames=ALLOWED)
    link = dub.link_record(workspaceId=workspace)
    return str(link["domain"]), str(link["key"])


@pytest.mark.parametrize(
    "headers",
    [
        {"Referer": "https://shop.example/cart"},
        {"Referer": "https://www.shop.example/"},
        {"Origin": "https://shop.example"},
        {"Referer": "https://a.brand.example/x"},
        {"Referer": "https://a.b.brand.example/x"},
        {"Referer": "https://shop.example/", "Origin": "https://elsewhere.example"},
    ],
    ids=["exact", "www-dropped", "origin", "wildcard", "wildcard-deep", "referer-first"],
)
def test_allowed_hostname_may_click(
    dub: Target, guarded_link: tuple[str, str], headers: dict[str, str]
) -> None:
    """C3: an exact entry (www. dropped), a '*.' entry's subdomains, the Referer before Origin."""
    domain, key = guarded_link
    answer = dub.client.click({"domain": domain, "key": key}, headers={**visitor(dub), **headers})
    _clicked(answer, "C3")


@pytest.mark.parametrize(
    ("headers", "hostname"),
    [
        ({"Referer": "https://evil.example/"}, "evil.example"),
        ({"Referer": "https://brand.example/"}, "brand.example"),
        ({"Referer": "https://shop.example.evil.io/"}, "shop.example.evil.io"),
        ({"Referer": "https://notshop.example/"}, "notshop.example"),
        ({"Referer": "https://evil.example/", "Origin": "https://shop.example"}, "evil.example"),
        ({}, "null"),
    ],
    ids=["other", "wildcard-apex", "suffix-trick", "prefix-trick", "referer-first", "no-header"],
)
def test_other_hostname_is_403(
    dub: Target, guarded_link: tuple[str, str], headers: dict[str, str], hostname: str
) -> None:
    """C3: a hostname the list does not allow (the apex of a '*.' entry too), or none: 403."""
    domain, key = guarded_link
    answer = dub.client.click({"domain": domain, "key": key}, headers={**visitor(dub), **headers})
    expect_error(answer, "C3", 403, "forbidden", hostnames_message(hostname))
    expect_cors(answer)


def test_empty_allowed_hostnames_allow_every_origin(dub: Target) -> None:
    """C3: a workspace with an empty list lets clicks from any origin, or none, in."""
    workspace = dub.workspace(allowed_hostnames=[])
    link = dub.link_record(workspaceId=workspace)
    body = {"domain": link["domain"], "key": link["key"]}
    for headers in ({"Referer": "https://anything.example/"}, {}):
        _clicked(dub.client.click(body, headers={**visitor(dub), **headers}), "C3")


def test_repeated_click_skips_the_hostname_check(
    dub: Target, guarded_link: tuple[str, str]
) -> None:
    """C4: the same visitor within the hour gets its click back before the hostname check."""
    domain, key = guarded_link
    headers = visitor(dub)
    body = {"domain": domain, "key": key}
    first = dub.client.click(body, headers={**headers, "Referer": "https://shop.example/"})
    again = dub.client.click(body, headers={**headers, "Referer": "https://evil.example/"})
    check(
        _clicked(again, "C4") == _clicked(first, "C3"),
        "C4",
        "a repeated click answers the first clickId, whatever its origin",
        first,
        again,
    )


# C4: deduplication -----------------------------------------------------------------------------


def test_same_visitor_gets_the_same_click(dub: Target) -> None:
    """C4: the same link, IP and User-Agent within the hour answer the same clickId; another
    User-Agent is another click."""
    domain, key, link_id = dub.click_link()
    body = {"domain": domain, "key": key}
    headers = visitor(dub)
    first = dub.client.click(body, headers=headers)
    again = dub.client.click({**body, "url": "https://example.com/other"}, headers=headers)
    other = dub.client.click(body, headers=visitor(dub))
    click_id = _clicked(first, "C4")
    check(_clicked(again, "C4") == click_id, "C4", "the same visitor's click", first, again)
    check(_clicked(other, "C4") != click_id, "C4", "another visitor's click", first, other)
    if dub.admin is not None:
        clicks = dub.records("clicks", linkId=link_id)
        check(
            sorted(c["id"] for c in clicks) == sorted({click_id, other.json["clickId"]}),
            "C4",
            f"two clicks must be recorded, found {[c['id'] for c in clicks]}",
            first,
            again,
            other,
        )


def test_concurrent_clicks_of_one_visitor_record_one(dub: Target) -> None:
    """C4: N simultaneous identical clicks answer one clickId and record one click."""
    domain, key, link_id = dub.click_link()
    headers = visitor(dub)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(
            pool.map(
                lambda _: dub.client.click({"domain": domain, "key": key}, headers=headers),
                range(PARALLEL),
            )
        )
    ids = {_clicked(answer, "C4") for answer in answers}
    check(len(ids) == 1, "C4", f"{PARALLEL} simultaneous clicks got {len(ids)} ids", *answers[:3])
    if dub.admin is not None:
        dub.settle()
        clicks = dub.records("clicks", linkId=link_id)
        check(len(clicks) == 1, "C4", f"expected one click, found {len(clicks)}", *answers[:2])


# C5: recording ---------------------------------------------------------------------------------


def test_new_click_is_usable_by_a_lead(dub: Target) -> None:
    """C5: a new click is recorded with its link: a lead on its id answers that link."""
    domain, key, link_id = dub.click_link()
    answer = dub.client.click({"domain": domain, "key": key}, headers=visitor(dub))
    click_id = _clicked(answer)
    link = _link_of_lead(dub, click_id, answer)
    check(link is not None, "C5", "a lead could not find the click just recorded", answer)
    assert link is not None
    check(
        (link["id"], link["domain"], link["key"]) == (link_id, domain, key),
        "C5",
        f"the click must be on link {link_id} ({domain}/{key}): {link}",
        answer,
    )


def test_click_is_recorded_with_url_and_referrer(dub: Target) -> None:
    """C5: the click records its link, workspace, url and referrer; link clicks += 1."""
    link = dub.link_record(url="https://example.com/landing")
    body = {"domain": link["domain"], "key": link["key"]}
    headers = {**visitor(dub), "Referer": "https://blog.example/post"}
    first = _clicked(
        answer := dub.client.click({**body, "url": "https://example.com/p?a=1"}, headers=headers)
    )
    second = _clicked(
        other := dub.client.click(
            {**body, "url": "not a url", "referrer": "https://news.example/"}, headers=visitor(dub)
        )
    )
    records = {c["id"]: c for c in dub.records("clicks", linkId=link["id"])}
    shown = {
        click_id: (r.get("workspaceId"), r.get("url"), r.get("referrer"))
        for click_id, r in records.items()
    }
    expected = {
        first: (link["workspaceId"], "https://example.com/p?a=1", "https://blog.example/post"),
        second: (link["workspaceId"], "https://example.com/landing", "https://news.example/"),
    }
    check(shown == expected, "C5", f"expected clicks {expected}, found {shown}", answer, other)
    stored = dub.records("links", id=link["id"])[0]
    check(stored.get("clicks") == 2, "C5", f"link clicks must be 2: {stored}", answer, other)


@pytest.mark.parametrize("where", ["header", "query"])
def test_no_track_answers_an_id_and_records_nothing(dub: Target, where: str) -> None:
    """C5: dub-no-track answers a click id that no lead can use; nothing is recorded, and the
    same visitor's next click is a new one."""
    domain, key, link_id = dub.click_link()
    headers = visitor(dub)
    path = "/track/click"
    extra = {}
    if where == "header":
        extra = {"dub-no-track": "1"}
    else:
        path += "?dub-no-track=1"
    body = {"domain": domain, "key": key}
    untracked = dub.client.send(
        "POST", path, json_body=body, token=None, headers={**headers, **extra}
    )
    untracked_id = _clicked(untracked)
    check(
        _link_of_lead(dub, untracked_id, untracked) is None,
        "C5",
        "a dub-no-track click must not be recorded, yet a lead found it",
        untracked,
    )
    tracked = dub.client.click(body, headers=headers)
    check(
        _clicked(tracked) != untracked_id,
        "C5",
        "a dub-no-track click takes no dedup entry: the next click is a new one",
        untracked,
        tracked,
    )
    if dub.admin is not None:
        ids = [c["id"] for c in dub.records("clicks", linkId=link_id)]
        check(untracked_id not in ids, "C5", "the dub-no-track click was recorded", untracked)


# C7: CORS, OPTIONS, no rate limit --------------------------------------------------------------


def test_every_click_answer_has_cors_and_no_rate_limit(dub: Target) -> None:
    """C7: 200, 400, 404 and 422 answers carry Dub's CORS headers and no rate-limit headers."""
    domain, key, _ = dub.click_link()
    answers = [
        dub.client.click({"domain": domain, "key": key}, headers=visitor(dub)),
        dub.client.click(raw=b"{", headers=visitor(dub)),
        dub.client.click({"domain": "dub.sh", "key": dub.unique("no-link")}, headers=visitor(dub)),
        dub.client.click({"domain": "dub.sh"}, headers=visitor(dub)),
    ]
    check(
        [a.status for a in answers] == [200, 400, 404, 422],
        "C7",
        f"expected 200, 400, 404, 422, got {[a.status for a in answers]}",
        *answers,
    )
    for answer in answers:
        expect_cors(answer)
        sent = [name for name in RATE_LIMIT_HEADER_NAMES if name in answer.headers]
        check(not sent, "C7", f"/track/click has no rate limit, yet sends {sent}", answer)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}],
    ids=["bare", "preflight"],
)
def test_click_options_is_204_with_cors(dub: Target, headers: dict[str, str]) -> None:
    """C7: any OPTIONS on /track/click answers 204 with Dub's CORS headers."""
    answer = dub.client.send("OPTIONS", "/track/click", token=None, headers=headers)
    check(answer.status == 204, "C7", f"OPTIONS answered {answer.status}, expected 204", answer)
    expect_cors(answer)
