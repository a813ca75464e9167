"""BEHAVIOR §5, `POST /track/click`: the body and its domain, the link (404), allowed hostnames
(403), one-hour deduplication, dub-no-track, the recorded click, and Dub's own CORS headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .support import (
    CLICK_ID,
    INVALID_JSON,
    OPAQUE_INVALID,
    STORES,
    HttpApi,
    PinnedClock,
    Reply,
    WsgiApi,
    concurrently,
    expect_dub_cors,
    expect_no_rate_headers,
)

LANDING = "https://example.com/landing"
HOUR = 3600


def _forbidden(hostname: str) -> str:
    return (
        f"Request origin '{hostname}' is not included in the allowed hostnames for this "
        "workspace. Update your allowed hostnames here: https://app.dub.co/settings/tracking"
    )


def _not_found(domain: str, key: str) -> str:
    return f"Link not found for domain: {domain} and key: {key}."


def _ua(name: str) -> dict[str, str]:
    return {"User-Agent": f"Mozilla/5.0 (test; {name})"}


def _body(domain: Any = "dub.sh", key: Any = "abc", **fields: Any) -> dict[str, Any]:
    return {"domain": domain, "key": key, **fields}


def _link(api: HttpApi, **fields: Any) -> dict[str, Any]:
    return api.add_link(**{"domain": "dub.sh", "key": "abc", "url": LANDING, **fields})


def _click_id(reply: Reply) -> str:
    """A 200 with exactly `{"clickId"}`, Dub's CORS headers and no rate-limit headers."""
    assert reply.status == 200, reply
    assert set(reply.json) == {"clickId"}, reply
    click_id: str = reply.json["clickId"]
    assert CLICK_ID.match(click_id), click_id
    expect_dub_cors(reply)
    expect_no_rate_headers(reply)
    return click_id


def _refused(reply: Reply, status: int, code: str, message: str | None = None) -> None:
    reply.expect_error(status, code, message)
    expect_dub_cors(reply)
    expect_no_rate_headers(reply)


def _no_clicks(api: HttpApi) -> None:
    state = api.state()
    assert state["clicks"] == [], state["clicks"]
    assert all(link["clicks"] == 0 for link in state["links"]), state["links"]


# --- a new click --------------------------------------------------------------------------


def test_a_click_is_recorded_with_its_link_and_counted(api: HttpApi) -> None:
    link = _link(api)
    click_id = _click_id(api.click(_body(), headers=_ua("a")))
    (click,) = api.state()["clicks"]
    assert (click["id"], click["linkId"], click["workspaceId"]) == (click_id, link["id"], "ws_mock")
    assert click["url"] == LANDING
    assert click["referrer"] is None
    assert isinstance(click["timestamp"], str) and click["timestamp"]
    stored = api.link(link["id"])
    assert (stored["clicks"], stored["leads"], stored["sales"]) == (1, 0, 0)


def test_the_clicks_workspace_is_its_links(api: HttpApi) -> None:
    api.add_workspace("ws_2")
    link = _link(api, workspaceId="ws_2")
    click_id = _click_id(api.click(_body()))
    (click,) = api.state()["clicks"]
    assert (click["id"], click["linkId"], click["workspaceId"]) == (click_id, link["id"], "ws_2")


def test_new_clicks_get_new_ids_and_add_up(api: HttpApi) -> None:
    link = _link(api)
    ids = [_click_id(api.click(_body(), headers=_ua(str(i)))) for i in range(5)]
    assert len(set(ids)) == 5
    assert sorted(c["id"] for c in api.clicks_of(link["id"])) == sorted(ids)
    assert api.link(link["id"])["clicks"] == 5


def test_a_recorded_click_starts_a_lead(api: HttpApi) -> None:
    link = _link(api)
    click_id = _click_id(api.click(_body()))
    reply = api.lead({"customerExternalId": "new_1", "eventName": "Sign up", "clickId": click_id})
    assert reply.status == 200, reply
    assert reply.json["link"]["id"] == link["id"]
    assert api.link(link["id"])["leads"] == 1


def test_the_click_time_is_the_clock(make_wsgi: Callable[..., WsgiApi], clock: PinnedClock) -> None:
    api = make_wsgi()
    api.add_link(domain="dub.sh", key="abc")
    clock.now = 1_750_000_000.25
    assert api.click(_body()).status == 200
    (click,) = api.state()["clicks"]
    assert click["timestamp"].startswith("2025-06-15T15:06:40.25"), click


# --- the domain and the link --------------------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    ["https://dub.sh/abc", "https://www.dub.sh", "www.dub.sh", "DUB.SH", "Www.Dub.Sh",
     "https://WWW.DUB.SH/abc?x=1#y", "http://dub.sh:8080/"],
    ids=["full-url", "www-url", "www", "upper-case", "mixed-case-www", "upper-url-with-query",
         "url-with-port"],
)  # fmt: skip
def test_the_domain_is_normalised(api: HttpApi, domain: str) -> None:
    link = _link(api)
    click_id = _click_id(api.click(_body(domain)))
    assert [c["id"] for c in api.clicks_of(link["id"])] == [click_id]


@pytest.mark.parametrize(
    ("domain", "key", "shown"),
    [("nope.io", "abc", "nope.io"), ("dub.sh", "other", "dub.sh"),
     ("https://www.Nope.io/x", "abc", "nope.io"), ("dub.sh", "Nope_Key", "dub.sh")],
    ids=["unknown-domain", "unknown-key", "normalised-in-the-message", "key-as-sent"],
)  # fmt: skip
def test_an_unknown_link_is_404(api: HttpApi, domain: str, key: str, shown: str) -> None:
    _link(api)
    _link(api, domain="other.link", key="other")
    _refused(api.click(_body(domain, key)), 404, "not_found", _not_found(shown, key))
    _no_clicks(api)


def test_the_link_is_found_by_domain_and_key_together(api: HttpApi) -> None:
    mine = _link(api, key="k1")
    _link(api, domain="other.link", key="k1")
    _click_id(api.click(_body(key="k1")))
    assert len(api.clicks_of(mine["id"])) == 1
    assert len(api.state()["clicks"]) == 1


# --- url and referrer ---------------------------------------------------------------------


def test_a_valid_url_is_stored(api: HttpApi) -> None:
    _link(api)
    url = "https://shop.example.org/p/1?utm_source=x&ref=y"
    _click_id(api.click(_body(url=url)))
    assert api.state()["clicks"][0]["url"] == url


@pytest.mark.parametrize(
    "url", [None, "", "not a url", "/relative/path", "example.org/no-scheme"], ids=repr
)
def test_an_invalid_url_falls_back_to_the_links(api: HttpApi, url: str | None) -> None:
    _link(api)
    _click_id(api.click(_body(url=url)))
    assert api.state()["clicks"][0]["url"] == LANDING


def test_the_referrer_is_the_bodys_else_the_referer_header(api: HttpApi) -> None:
    _link(api)
    header = "https://header.example.net/"
    _click_id(api.click(_body(referrer="https://news.example.net/a"),
                        headers={**_ua("1"), "Referer": header}))  # fmt: skip
    _click_id(api.click(_body(), headers={**_ua("2"), "Referer": "https://header.example.net/"}))
    _click_id(api.click(_body(referrer=None), headers=_ua("3")))
    referrers = [click["referrer"] for click in api.state()["clicks"]]
    assert sorted(referrers, key=str) == sorted(
        ["https://news.example.net/a", "https://header.example.net/", None], key=str
    )


# --- allowed hostnames --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [({"Referer": "https://shop.example.com/p/1"}, True),
     ({"Origin": "https://shop.example.com"}, True),
     ({"Referer": "https://www.shop.example.com/"}, True),
     ({"Origin": "http://shop.example.com:3000"}, True),
     ({"Referer": "https://other.example.com/"}, "other.example.com"),
     ({"Origin": "https://example.com"}, "example.com"),
     ({"Referer": "https://a.shop.example.com/"}, "a.shop.example.com"),
     ({"Referer": "https://evil.com/?shop.example.com"}, "evil.com"),
     ({}, "null")],
    ids=["referer", "origin", "www-dropped", "origin-with-port", "other-host", "parent-domain",
         "subdomain-of-an-exact-entry", "host-in-the-query", "no-header"],
)  # fmt: skip
def test_exact_entries(api: HttpApi, headers: dict[str, str], allowed: bool | str) -> None:
    link = _link(api)
    api.allow_hostnames("shop.example.com")
    reply = api.click(_body(), headers=headers)
    if allowed is True:
        _click_id(reply)
        assert api.link(link["id"])["clicks"] == 1
    else:
        _refused(reply, 403, "forbidden", _forbidden(str(allowed)))
        _no_clicks(api)


@pytest.mark.parametrize(
    ("hostname", "allowed"),
    [("a.example.com", True), ("a.b.example.com", True), ("example.com", False),
     ("www.example.com", False), ("notexample.com", False), ("example.com.evil.io", False)],
    ids=str,
)  # fmt: skip
def test_a_wildcard_entry_matches_subdomains_only(
    api: HttpApi, hostname: str, allowed: bool
) -> None:
    _link(api)
    api.allow_hostnames("*.example.com")
    reply = api.click(_body(), headers={"Origin": f"https://{hostname}"})
    if allowed:
        _click_id(reply)
    else:
        shown = hostname.removeprefix("www.")
        _refused(reply, 403, "forbidden", _forbidden(shown))
        _no_clicks(api)


def test_the_referer_comes_before_the_origin(api: HttpApi) -> None:
    _link(api)
    api.allow_hostnames("good.example")
    _click_id(api.click(_body(), headers={**_ua("1"), "Referer": "https://good.example/x",
                                          "Origin": "https://bad.example"}))  # fmt: skip
    reply = api.click(_body(), headers={**_ua("2"), "Referer": "https://bad.example/x",
                                        "Origin": "https://good.example"})  # fmt: skip
    _refused(reply, 403, "forbidden", _forbidden("bad.example"))
    assert len(api.state()["clicks"]) == 1


def test_an_empty_list_allows_every_origin_and_none(api: HttpApi) -> None:
    link = _link(api)
    api.allow_hostnames("shop.example.com")
    api.allow_hostnames()
    _click_id(api.click(_body(), headers=_ua("1")))
    _click_id(api.click(_body(), headers={**_ua("2"), "Origin": "https://anything.io"}))
    assert api.link(link["id"])["clicks"] == 2


def test_the_list_is_the_links_workspaces(api: HttpApi) -> None:
    api.add_workspace("ws_2", allowedHostnames=["shop.example.com"])
    _link(api, domain="ws2.link", workspaceId="ws_2")
    _link(api)
    _click_id(api.click(_body(), headers={"Origin": "https://elsewhere.io"}))
    _refused(
        api.click(_body("ws2.link"), headers={"Origin": "https://elsewhere.io"}),
        403,
        "forbidden",
        _forbidden("elsewhere.io"),
    )
    _click_id(api.click(_body("ws2.link"), headers={"Origin": "https://shop.example.com"}))


def test_the_link_is_found_before_the_hostnames_are_checked(api: HttpApi) -> None:
    api.allow_hostnames("shop.example.com")
    _refused(api.click(_body("nope.io")), 404, "not_found", _not_found("nope.io", "abc"))


# --- deduplication ------------------------------------------------------------------------


def test_the_same_visitor_within_the_hour_gets_the_same_click(api: HttpApi) -> None:
    link = _link(api)
    first = _click_id(api.click(_body(), headers=_ua("a")))
    assert _click_id(api.click(_body(url="https://example.com/other"), headers=_ua("a"))) == first
    assert _click_id(api.click(_body(), headers={**_ua("a"), "Referer": "https://x.io/"})) == first
    (click,) = api.state()["clicks"]
    assert click["url"] == LANDING
    assert api.link(link["id"])["clicks"] == 1


def test_another_user_agent_or_link_is_a_new_click(api: HttpApi) -> None:
    link = _link(api)
    other = _link(api, key="xyz")
    ids = {
        _click_id(api.click(_body(), headers=_ua("a"))),
        _click_id(api.click(_body(), headers=_ua("b"))),
        _click_id(api.click(_body(), headers={})),  # no User-Agent at all
        _click_id(api.click(_body(key="xyz"), headers=_ua("a"))),
    }
    assert len(ids) == 4
    assert api.link(link["id"])["clicks"] == 3
    assert api.link(other["id"])["clicks"] == 1


def test_the_client_ip_is_the_first_forwarded_for_entry(api: HttpApi) -> None:
    link = _link(api)
    first = _click_id(api.click(_body(), headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}))
    again = _click_id(api.click(_body(), headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.2"}))
    other = _click_id(api.click(_body(), headers={"X-Forwarded-For": "198.51.100.9, 10.0.0.1"}))
    assert again == first
    assert other != first
    assert api.link(link["id"])["clicks"] == 2


def test_a_repeat_skips_the_hostname_check(api: HttpApi) -> None:
    _link(api)
    first = _click_id(api.click(_body(), headers={**_ua("a"), "Origin": "https://shop.io"}))
    api.allow_hostnames("only.example.com")
    assert _click_id(api.click(_body(), headers=_ua("a"))) == first
    assert len(api.state()["clicks"]) == 1
    _refused(api.click(_body(), headers=_ua("b")), 403, "forbidden", _forbidden("null"))


def test_simultaneous_identical_clicks_record_one(api: HttpApi) -> None:
    link = _link(api)
    replies = concurrently(8, lambda _: api.click(_body(), headers=_ua("same")))
    ids = {_click_id(reply) for reply in replies}
    assert len(ids) == 1, ids
    assert [c["id"] for c in api.state()["clicks"]] == list(ids)
    assert api.link(link["id"])["clicks"] == 1


@pytest.mark.parametrize("store", STORES)
def test_the_dedup_window_is_one_hour(
    make_wsgi: Callable[..., WsgiApi], clock: PinnedClock, store: str
) -> None:
    api = make_wsgi(store)
    link = api.add_link(domain="dub.sh", key="abc")
    first_a = _click_id(api.click(_body(), headers=_ua("a")))
    first_b = _click_id(api.click(_body(), headers=_ua("b")))
    clock.advance(HOUR - 1)
    assert _click_id(api.click(_body(), headers=_ua("a"))) == first_a
    clock.advance(2)
    later_b = _click_id(api.click(_body(), headers=_ua("b")))
    assert later_b != first_b
    assert len(api.state()["clicks"]) == 3
    assert api.link(link["id"])["clicks"] == 3


# --- dub-no-track -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query"),
    [({"dub-no-track": "1"}, ""), ({"Dub-No-Track": "false"}, ""), ({}, "dub-no-track=1"),
     ({}, "dub-no-track")],
    ids=["header", "header-any-value", "query", "bare-query"],
)  # fmt: skip
def test_dub_no_track_answers_an_id_and_records_nothing(
    api: HttpApi, headers: dict[str, str], query: str
) -> None:
    link = _link(api)
    untracked = _click_id(api.click(_body(), headers={**_ua("a"), **headers}, query=query))
    _no_clicks(api)
    tracked = _click_id(api.click(_body(), headers=_ua("a")))  # no dedup entry was left
    assert tracked != untracked
    assert [c["id"] for c in api.state()["clicks"]] == [tracked]
    assert api.link(link["id"])["clicks"] == 1


def test_dub_no_track_still_needs_the_link_and_an_allowed_origin(api: HttpApi) -> None:
    _link(api)
    no_track = {"dub-no-track": "1"}
    _refused(api.click(_body(key="nope"), headers=no_track), 404, "not_found",
             _not_found("dub.sh", "nope"))  # fmt: skip
    api.allow_hostnames("shop.example.com")
    _refused(api.click(_body(), headers=no_track), 403, "forbidden", _forbidden("null"))


# --- CORS, no key, no rate limit ----------------------------------------------------------


def test_cors_headers_are_on_every_answer(api: HttpApi) -> None:
    _link(api)
    origin = {"Origin": "http://localhost:5173"}
    _click_id(api.click(_body(), headers=origin))
    _refused(api.click(_body(key="nope"), headers=origin), 404, "not_found")
    _refused(api.click({"domain": "dub.sh"}, headers=origin), 422, "unprocessable_entity")
    _refused(api.click(data=b"{bad", headers=origin), 400, "bad_request", INVALID_JSON)
    api.allow_hostnames("shop.example.com")
    _refused(api.click(_body(), headers={**origin, **_ua("x")}), 403, "forbidden")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "http://localhost:5173"},
     {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type"}],
    ids=["bare", "origin", "preflight"],
)  # fmt: skip
def test_any_options_is_204_with_the_cors_headers(api: HttpApi, headers: dict[str, str]) -> None:
    reply = api.request("OPTIONS", "/track/click", headers=headers)
    assert reply.status == 204, reply
    assert reply.body == b""
    expect_dub_cors(reply)
    expect_no_rate_headers(reply)


def test_no_cors_leaves_dubs_own_headers(make_api: Callable[..., HttpApi]) -> None:
    api = make_api(cors=False)
    _link(api)
    origin = {"Origin": "http://localhost:5173"}
    _click_id(api.click(_body(), headers=origin))
    _refused(api.click(_body(key="nope"), headers=origin), 404, "not_found")
    for path in ("/track/click", "/track/lead/client", "/track/sale/client"):
        reply = api.request("OPTIONS", path, headers=origin)
        assert reply.status == 204, (path, reply)
        expect_dub_cors(reply)
    key = api.add_publishable_key()
    reply = api.lead_client({"customerExternalId": "c", "eventName": "e", "clickId": "nope"},
                            key=key, headers=origin)  # fmt: skip
    reply.expect_error(404, "not_found", "Click event not found for clickId: nope")
    expect_dub_cors(reply)
    refused = api.sale_client({"customerExternalId": "c", "amount": 1}, key=None, headers=origin)
    refused.expect_error(401, "unauthorized", "Missing publishable key.")
    expect_dub_cors(refused)


@pytest.mark.parametrize(
    "authorization", ["Bearer dub_unknown", "Basic ZHViOnh4", "garbage"], ids=str
)
def test_authorization_is_ignored(api: HttpApi, authorization: str) -> None:
    link = _link(api)
    _click_id(api.click(_body(), headers={"Authorization": authorization}))
    assert api.link(link["id"])["clicks"] == 1


def test_clicks_are_not_rate_limited(
    make_wsgi: Callable[..., WsgiApi],
) -> None:
    api = make_wsgi()
    link = api.add_link(domain="dub.sh", key="abc")
    for i in range(700):  # over the 600 a minute of pro plans and publishable keys
        reply = api.click(_body(), headers=_ua(str(i % 350)))
        assert reply.status == 200, (i, reply)
        expect_no_rate_headers(reply)
    assert api.link(link["id"])["clicks"] == 350


# --- bad input ----------------------------------------------------------------------------


def test_invalid_json_is_400(api: HttpApi) -> None:
    _link(api)
    bodies = [b"{", b"not json", b'{"domain": "dub.sh", "key": "abc",}', b"NaN", OPAQUE_INVALID,
              b"", b"   ", b"\x00" * 64]  # fmt: skip
    for body in bodies:
        _refused(api.click(data=body), 400, "bad_request", INVALID_JSON)
    _refused(api.click(), 400, "bad_request", INVALID_JSON)  # no body at all
    _no_clicks(api)


SCHEMA_CASES: list[tuple[str, Any, str]] = [
    ("array-body", [_body()], "body"),
    ("string-body", "dub.sh", "body"),
    ("null-body", None, "body"),
    ("domain-missing", {"key": "abc"}, "domain"),
    ("domain-number", _body(5), "domain"),
    ("domain-null", _body(None), "domain"),
    ("key-missing", {"domain": "dub.sh"}, "key"),
    ("key-number", _body(key=5), "key"),
    ("key-list", _body(key=["abc"]), "key"),
    ("url-number", _body(url=5), "url"),
    ("referrer-object", _body(referrer={}), "referrer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_schema_violations_are_422_naming_the_field(api: HttpApi, body: Any, field: str) -> None:
    _link(api)
    reply = api.click(body)
    _refused(reply, 422, "unprocessable_entity")
    if field != "body":
        assert field in reply.error["message"], (field, reply.error["message"])
    _no_clicks(api)


HOSTILE_HEADERS: list[tuple[str, dict[str, str]]] = [
    ("garbage-origin", {"Origin": "%%%garbage%%%"}),
    ("garbage-referer", {"Referer": "not a url at all"}),
    ("javascript-referer", {"Referer": "javascript:alert(1)"}),
    ("scheme-only-origin", {"Origin": "https://"}),
    ("broken-ipv6-origin", {"Origin": "http://[::1"}),
    ("null-origin", {"Origin": "null"}),
    ("latin-1-origin", {"Origin": "https://\u00e9.example"}),
    ("latin-1-referer", {"Referer": "https://x.example/\u00ff"}),
    ("long-referer", {"Referer": "https://" + "a" * 4000 + ".example.com/"}),
    ("long-origin", {"Origin": "https://" + "b." * 2000 + "example.com"}),
]


@pytest.mark.parametrize(
    "headers", [c[1] for c in HOSTILE_HEADERS], ids=[c[0] for c in HOSTILE_HEADERS]
)
def test_hostile_origins_and_referers_are_refused_when_a_list_exists(
    api: HttpApi, headers: dict[str, str]
) -> None:
    _link(api)
    api.allow_hostnames("shop.example.com")
    reply = api.click(_body(), headers=headers)
    _refused(reply, 403, "forbidden")
    assert reply.error["message"].startswith("Request origin '"), reply
    assert reply.error["message"].endswith(
        "' is not included in the allowed hostnames for this workspace. "
        "Update your allowed hostnames here: https://app.dub.co/settings/tracking"
    )
    _no_clicks(api)


def test_hostile_origins_and_referers_pass_without_a_list(api: HttpApi) -> None:
    link = _link(api)
    for case, headers in HOSTILE_HEADERS:
        reply = api.click(_body(), headers={**headers, **_ua(case)})
        assert reply.status == 200, (case, reply)
        _click_id(reply)
    assert api.link(link["id"])["clicks"] == len(HOSTILE_HEADERS)


@pytest.mark.parametrize(
    "body",
    [_body("d" * 4000, "abc"), _body("dub.sh", "k" * 4000), _body("https://", "abc"),
     _body("://", "abc"), _body("", ""), _body("\ud800", "\udfff"), _body("dub.sh", "abc\x00"),
     _body("http://[::1", "abc")],
    ids=["long-domain", "long-key", "scheme-only", "colon-slashes", "empty", "surrogates",
         "nul-in-key", "broken-ipv6"],
)  # fmt: skip
def test_hostile_domains_and_keys_never_answer_5xx_nor_record(
    api: HttpApi, body: dict[str, Any]
) -> None:
    _link(api)
    reply = api.click(data=json.dumps(body).encode())
    assert 400 <= reply.status < 500, reply
    reply.expect_error(reply.status, reply.json["error"]["code"])
    expect_dub_cors(reply)
    _no_clicks(api)
    assert api.admin("GET", "requests").status == 200


# --- the admin API's links ----------------------------------------------------------------


def test_admin_links_have_a_domain_key_url_and_short_link(api: HttpApi) -> None:
    link = api.add_link(domain="https://www.Go.Example/", key="Sale1", url="https://shop.io/x")
    assert (link["domain"], link["key"], link["url"]) == (
        "go.example",
        "Sale1",
        "https://shop.io/x",
    )
    assert link["shortLink"] == "https://go.example/Sale1"
    assert (link["clicks"], link["leads"]) == (0, 0)
    assert api.link(link["id"]) == link
    default = api.add_link()
    assert (default["domain"], default["url"]) == ("dub.sh", "https://example.com")
    assert len(default["key"]) == 7 and default["key"].isalnum(), default
    assert default["shortLink"] == f"https://dub.sh/{default['key']}"


def test_admin_a_taken_domain_and_key_is_409(api: HttpApi) -> None:
    api.add_link(domain="dub.sh", key="taken")
    before = api.state()
    reply = api.admin("POST", "links", {"domain": "dub.sh", "key": "taken"})
    reply.expect_error(409, "conflict")
    assert api.state() == before
    assert api.admin("POST", "links", {"domain": "other.link", "key": "taken"}).status == 201
